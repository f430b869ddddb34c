//! What one client may hold: connections per client ([`ClientConnections`]), and how long a
//! response the client does not read may stall its connection ([`WriteDeadline`]).

use std::collections::HashMap;
use std::future::Future as _;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;

use crate::api::ratelimit::client_key;

type Counts = Arc<Mutex<HashMap<IpAddr, usize>>>;

/// Open connections per client ([`client_key`]: an IPv4 address, an IPv6 /64), so that one
/// client cannot hold every slot of `--max-connections`. Entries go when their count does, so
/// the map never holds more than the open connections.
#[derive(Debug)]
pub struct ClientConnections {
    cap: usize,
    open: Counts,
}

/// One admitted connection; its count is given back when it is dropped.
#[derive(Debug)]
pub struct ClientSlot {
    key: IpAddr,
    open: Option<Counts>,
}

impl ClientConnections {
    /// At most `cap` connections per client; 0: no cap.
    pub fn new(cap: usize) -> Self {
        Self {
            cap,
            open: Arc::default(),
        }
    }

    /// A slot for a connection from `ip`, or `None` when its client already holds `cap`.
    pub fn admit(&self, ip: IpAddr) -> Option<ClientSlot> {
        let key = client_key(ip);
        if self.cap == 0 {
            return Some(ClientSlot { key, open: None });
        }
        // A poisoned lock only means a panic mid-update of a counter; the map is still sound.
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(key).or_insert(0);
        if *n >= self.cap {
            return None;
        }
        *n += 1;
        Some(ClientSlot {
            key,
            open: Some(self.open.clone()),
        })
    }

    /// Connections `ip`'s client holds now.
    pub fn held(&self, ip: IpAddr) -> usize {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.get(&client_key(ip)).copied().unwrap_or(0)
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let Some(open) = &self.open else { return };
        let mut open = open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// A TCP stream whose writes fail with `TimedOut` once they have made no progress for
/// `timeout`: a client that stops reading its responses (pipelined requests it never reads)
/// would otherwise hold its connection, and a `--max-connections` slot, for ever.
#[derive(Debug)]
pub struct WriteDeadline {
    inner: TcpStream,
    timeout: Option<Duration>,
    /// Armed while a write waits for the client to read.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl WriteDeadline {
    /// `timeout: None`: writes may wait for ever.
    pub fn new(inner: TcpStream, timeout: Option<Duration>) -> Self {
        Self {
            inner,
            timeout,
            stalled: None,
        }
    }

    /// Progress disarms the deadline; waiting arms it (once) and fails when it passes.
    fn watch<T>(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match r {
            Poll::Ready(r) => {
                self.stalled = None;
                Poll::Ready(r)
            }
            Poll::Pending => {
                let Some(timeout) = self.timeout else {
                    return Poll::Pending;
                };
                let sleep = self
                    .stalled
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client did not read its response",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl AsyncRead for WriteDeadline {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for WriteDeadline {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.watch(cx, r)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.watch(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_flush(cx);
        this.watch(cx, r)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.watch(cx, r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_per_client_and_slots_given_back() {
        let c = ClientConnections::new(2);
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let a2: IpAddr = "2001:db8::ffff".parse().unwrap();
        let s1 = c.admit(a).expect("first");
        let _s2 = c.admit(a2).expect("second, same /64");
        assert!(c.admit(a).is_none(), "third from the same /64");
        assert!(c.admit([127, 0, 0, 2].into()).is_some(), "another client");
        drop(s1);
        assert_eq!(c.held(a), 1);
        assert!(c.admit(a).is_some());
    }

    #[test]
    fn entries_go_with_their_connections() {
        let c = ClientConnections::new(3);
        let slots: Vec<_> = (0..200u8)
            .filter_map(|i| c.admit([10, 0, 0, i].into()))
            .collect();
        assert_eq!(c.open.lock().unwrap().len(), 200);
        drop(slots);
        assert!(c.open.lock().unwrap().is_empty());
    }

    #[test]
    fn zero_is_no_cap() {
        let c = ClientConnections::new(0);
        let slots: Vec<_> = (0..1000)
            .map(|_| c.admit([127, 0, 0, 1].into()).expect("no cap"))
            .collect();
        assert_eq!(slots.len(), 1000);
    }
}
