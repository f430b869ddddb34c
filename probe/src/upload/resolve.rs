//! Name resolution that does not touch the host's NSS.
//!
//! The probe is a static glibc binary: `getaddrinfo` would `dlopen` the host's NSS modules,
//! which a static binary cannot do safely. This resolver does what is needed to reach one
//! server: IP literals, then `/etc/hosts`, then DNS over UDP (A and AAAA, falling back to TCP
//! when the answer is truncated) to the nameservers listed in `/etc/resolv.conf`, with its
//! `search` suffixes for a name without a dot.
//!
//! Hand-written on purpose: the resolver crates (hickory-resolver and the like) bring an async
//! runtime and far more than one lookup needs, and the usual way out, a musl target whose
//! `getaddrinfo` never loads NSS, cannot be installed where this is built.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// DNS record type A (IPv4 address).
pub const TYPE_A: u16 = 1;
/// DNS record type AAAA (IPv6 address).
pub const TYPE_AAAA: u16 = 28;
/// Longest wait for one nameserver's answer to one query.
const PER_QUERY_TIMEOUT: Duration = Duration::from_secs(3);
/// glibc's fallback when resolv.conf names no nameserver.
const DEFAULT_NAMESERVER: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Largest UDP answer accepted (EDNS is not used, so servers send at most 512 bytes).
const MAX_UDP: usize = 1500;

/// Why a DNS answer could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    #[error("host name {0:?} is not a valid DNS name")]
    BadName(String),
    #[error("DNS answer is cut short at byte {0}")]
    Truncated(usize),
    #[error("DNS answer has id {got}, the query had {want}")]
    IdMismatch { want: u16, got: u16 },
    #[error("DNS answer is for another question")]
    QuestionMismatch,
    #[error("DNS answer is not a response")]
    NotAResponse,
    #[error("DNS answer was truncated by the server (TC bit)")]
    TruncatedBit,
    #[error("name does not exist (NXDOMAIN)")]
    NxDomain,
    #[error("DNS server answered with error code {0}")]
    Rcode(u8),
    #[error("DNS answer uses a label type this resolver does not know")]
    BadLabel,
}

/// The resolver plugged into ureq. Cheap to clone.
#[derive(Debug, Clone)]
pub struct NssFreeResolver {
    /// Usually `/etc/hosts`.
    pub hosts_file: PathBuf,
    /// Usually `/etc/resolv.conf`.
    pub resolv_conf: PathBuf,
    /// Port the nameservers listen on (53; tests point it elsewhere).
    pub dns_port: u16,
}

impl Default for NssFreeResolver {
    fn default() -> Self {
        NssFreeResolver {
            hosts_file: PathBuf::from("/etc/hosts"),
            resolv_conf: PathBuf::from("/etc/resolv.conf"),
            dns_port: 53,
        }
    }
}

impl NssFreeResolver {
    /// Addresses of `host`: an IP literal as is, else `/etc/hosts`, else DNS (A then AAAA).
    /// Within `deadline`, if given.
    pub fn lookup(&self, host: &str, deadline: Option<Instant>) -> std::io::Result<Vec<IpAddr>> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        if let Ok(text) = std::fs::read_to_string(&self.hosts_file) {
            let found = hosts_lookup(&text, host);
            if !found.is_empty() {
                return Ok(found);
            }
        }
        let conf = std::fs::read_to_string(&self.resolv_conf).unwrap_or_default();
        let mut servers = nameservers(&conf);
        if servers.is_empty() {
            servers.push(DEFAULT_NAMESERVER);
        }
        let mut last_err = None;
        for name in candidates(host, &search_domains(&conf)) {
            match self.dns(&name, &servers, deadline) {
                Ok(ips) => return Ok(ips),
                Err(e) => last_err = Some(e),
            }
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            match last_err {
                Some(e) => format!("{host}: not in {}, {e}", self.hosts_file.display()),
                None => format!("{host}: no address"),
            },
        ))
    }

    /// One name asked of each nameserver in turn, until one answers.
    fn dns(
        &self,
        name: &str,
        servers: &[IpAddr],
        deadline: Option<Instant>,
    ) -> Result<Vec<IpAddr>, String> {
        let mut last_err = String::from("no nameserver answered");
        for &server in servers {
            let addr = SocketAddr::new(server, self.dns_port);
            let mut found = Vec::new();
            for qtype in [TYPE_A, TYPE_AAAA] {
                match query(addr, name, qtype, deadline) {
                    Ok(ips) => found.extend(ips),
                    // The name does not exist: other servers would say the same.
                    Err(QueryError::Dns(DnsError::NxDomain)) => {
                        return Err(format!("DNS server {addr}: {name} does not exist"));
                    }
                    Err(e) => last_err = format!("DNS server {addr}: {e}"),
                }
            }
            if !found.is_empty() {
                return Ok(found);
            }
        }
        Err(last_err)
    }
}

/// The `search` (or `domain`) suffixes of resolv.conf; the last such line wins, as in glibc.
pub fn search_domains(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        if let Some("search" | "domain") = fields.next() {
            out = fields
                .map(|d| d.trim_end_matches('.').to_string())
                .filter(|d| !d.is_empty())
                .collect();
        }
    }
    out
}

/// Names to ask for: a name without a dot is tried with each search suffix first (glibc's
/// default `ndots:1`), then as it is.
pub fn candidates(host: &str, search: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    if !host.trim_end_matches('.').contains('.') {
        out.extend(search.iter().map(|d| format!("{host}.{d}")));
    }
    out.push(host.to_string());
    out
}

impl Resolver for NssFreeResolver {
    fn resolve(
        &self,
        uri: &Uri,
        _config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let (Some(host), Some(scheme)) = (uri.host(), uri.scheme()) else {
            return Err(ureq::Error::BadUri(format!("{uri} has no host")));
        };
        let port = uri
            .port_u16()
            .or_else(|| match scheme.as_str() {
                "https" => Some(443),
                "http" => Some(80),
                _ => None,
            })
            .ok_or_else(|| ureq::Error::BadUri(format!("{uri} has no port")))?;
        let deadline = timeout.not_zero().map(|d| Instant::now() + *d);
        // An I/O error keeps the reason (which file, which server); HostNotFound would not.
        let ips = self.lookup(host, deadline).map_err(ureq::Error::Io)?;
        let mut out = self.empty();
        // ureq keeps at most 16 addresses.
        for ip in ips.into_iter().take(16) {
            out.push(SocketAddr::new(ip, port));
        }
        if out.is_empty() {
            return Err(ureq::Error::HostNotFound);
        }
        Ok(out)
    }
}

/// Addresses `/etc/hosts` gives `host` (names compare without case).
pub fn hosts_lookup(text: &str, host: &str) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut fields = line.split_whitespace();
        let Some(ip) = fields.next().and_then(|f| f.parse::<IpAddr>().ok()) else {
            continue;
        };
        if fields.any(|name| name.eq_ignore_ascii_case(host)) && !out.contains(&ip) {
            out.push(ip);
        }
    }
    out
}

/// The `nameserver` lines of resolv.conf, in order.
pub fn nameservers(text: &str) -> Vec<IpAddr> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            if fields.next() != Some("nameserver") {
                return None;
            }
            // A scoped IPv6 address (fe80::1%eth0) is dropped: std cannot parse the scope.
            fields.next()?.parse::<IpAddr>().ok()
        })
        .collect()
}

/// A DNS query for `name`, recursion desired, one question of type `qtype`, class IN.
pub fn encode_query(id: u16, name: &str, qtype: u16) -> Result<Vec<u8>, DnsError> {
    let name = name.trim_end_matches('.');
    let bad = || DnsError::BadName(name.to_string());
    if name.is_empty() || name.len() > 253 {
        return Err(bad());
    }
    let mut out = Vec::with_capacity(18 + name.len());
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&[0x01, 0x00]); // RD
    out.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // QD=1 AN=0 NS=0 AR=0
    for label in name.split('.') {
        let len = u8::try_from(label.len()).map_err(|_| bad())?;
        if len == 0 || len > 63 || !label.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(bad());
        }
        out.push(len);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&[0, 1]); // IN
    Ok(out)
}

/// The A and AAAA addresses in the answer section of `msg`, which must answer query `id`.
/// Records of other types (CNAME chains) are skipped.
/// [`decode_response`] for the answer to `query` (from [`encode_query`]): the answer must
/// repeat the query's question (names compare without case), so a datagram that guessed
/// the id still cannot answer for another name.
pub fn decode_answer_to(query: &[u8], msg: &[u8]) -> Result<Vec<IpAddr>, DnsError> {
    let id = match query {
        [a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => return Err(DnsError::Truncated(0)),
    };
    let ips = decode_response(msg, id)?;
    let question = query.get(12..).ok_or(DnsError::Truncated(12))?;
    let echoed = msg
        .get(12..12 + question.len())
        .ok_or(DnsError::Truncated(msg.len()))?;
    if msg.get(4..6) != Some(&[0, 1]) || !echoed.eq_ignore_ascii_case(question) {
        return Err(DnsError::QuestionMismatch);
    }
    Ok(ips)
}

pub fn decode_response(msg: &[u8], id: u16) -> Result<Vec<IpAddr>, DnsError> {
    let mut r = Reader { msg, pos: 0 };
    let got = r.u16()?;
    if got != id {
        return Err(DnsError::IdMismatch { want: id, got });
    }
    let flags = r.u16()?;
    if flags & 0x8000 == 0 {
        return Err(DnsError::NotAResponse);
    }
    if flags & 0x0200 != 0 {
        return Err(DnsError::TruncatedBit);
    }
    match (flags & 0x000f) as u8 {
        0 => {}
        3 => return Err(DnsError::NxDomain),
        rcode => return Err(DnsError::Rcode(rcode)),
    }
    let qdcount = r.u16()?;
    let ancount = r.u16()?;
    r.u16()?; // NS
    r.u16()?; // AR
    for _ in 0..qdcount {
        r.skip_name()?;
        r.take(4)?;
    }
    let mut out = Vec::new();
    for _ in 0..ancount {
        r.skip_name()?;
        let rtype = r.u16()?;
        let class = r.u16()?;
        r.take(4)?; // TTL
        let len = usize::from(r.u16()?);
        let data = r.take(len)?;
        if class != 1 {
            continue;
        }
        match (rtype, data) {
            (TYPE_A, &[a, b, c, d]) => out.push(IpAddr::V4(Ipv4Addr::new(a, b, c, d))),
            (TYPE_AAAA, d) if d.len() == 16 => {
                let mut octets = [0u8; 16];
                octets.copy_from_slice(d);
                out.push(IpAddr::V6(Ipv6Addr::from(octets)));
            }
            _ => {}
        }
    }
    Ok(out)
}

struct Reader<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DnsError> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(DnsError::Truncated(self.pos))?;
        let s = self
            .msg
            .get(self.pos..end)
            .ok_or(DnsError::Truncated(self.pos))?;
        self.pos = end;
        Ok(s)
    }

    fn u16(&mut self) -> Result<u16, DnsError> {
        match self.take(2)? {
            &[a, b] => Ok(u16::from_be_bytes([a, b])),
            _ => Err(DnsError::Truncated(self.pos)),
        }
    }

    fn u8(&mut self) -> Result<u8, DnsError> {
        match self.take(1)? {
            &[a] => Ok(a),
            _ => Err(DnsError::Truncated(self.pos)),
        }
    }

    /// Skips a name; a compression pointer ends it, so there is nothing to follow (no loops).
    fn skip_name(&mut self) -> Result<(), DnsError> {
        loop {
            let len = self.u8()?;
            match len & 0xc0 {
                0x00 if len == 0 => return Ok(()),
                0x00 => {
                    self.take(usize::from(len))?;
                }
                0xc0 => {
                    self.u8()?;
                    return Ok(());
                }
                _ => return Err(DnsError::BadLabel),
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum QueryError {
    #[error("{0}")]
    Dns(#[from] DnsError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("no answer in time")]
    Timeout,
}

/// A random query id: the std hasher is seeded randomly per process and per RandomState.
fn random_id() -> u16 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (h.finish() & 0xffff) as u16
}

fn time_left(deadline: Option<Instant>) -> Result<Duration, QueryError> {
    let per_query = match deadline {
        Some(d) => d
            .checked_duration_since(Instant::now())
            .ok_or(QueryError::Timeout)?
            .min(PER_QUERY_TIMEOUT),
        None => PER_QUERY_TIMEOUT,
    };
    if per_query.is_zero() {
        return Err(QueryError::Timeout);
    }
    Ok(per_query)
}

/// One question to one server over UDP, over TCP when the UDP answer is truncated.
fn query(
    server: SocketAddr,
    name: &str,
    qtype: u16,
    deadline: Option<Instant>,
) -> Result<Vec<IpAddr>, QueryError> {
    let id = random_id();
    let msg = encode_query(id, name, qtype)?;
    match query_udp(server, &msg, deadline) {
        Err(QueryError::Dns(DnsError::TruncatedBit)) => query_tcp(server, &msg, deadline),
        other => other,
    }
}

fn query_udp(
    server: SocketAddr,
    msg: &[u8],
    deadline: Option<Instant>,
) -> Result<Vec<IpAddr>, QueryError> {
    let local: SocketAddr = match server {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let sock = UdpSocket::bind(local)?;
    // connect() makes the kernel drop datagrams from any other source.
    sock.connect(server)?;
    sock.send(msg)?;
    let give_up = Instant::now() + time_left(deadline)?;
    let mut buf = [0u8; MAX_UDP];
    loop {
        let left = give_up
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or(QueryError::Timeout)?;
        sock.set_read_timeout(Some(left))?;
        let n = match sock.recv(&mut buf) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(QueryError::Timeout);
            }
            Err(e) => return Err(e.into()),
        };
        match decode_answer_to(msg, buf.get(..n).unwrap_or(&[])) {
            // A stray or spoofed datagram: keep waiting for the real answer.
            Err(DnsError::IdMismatch { .. } | DnsError::QuestionMismatch) => continue,
            other => return Ok(other?),
        }
    }
}

fn query_tcp(
    server: SocketAddr,
    msg: &[u8],
    deadline: Option<Instant>,
) -> Result<Vec<IpAddr>, QueryError> {
    let left = time_left(deadline)?;
    let mut stream = TcpStream::connect_timeout(&server, left)?;
    stream.set_read_timeout(Some(left))?;
    stream.set_write_timeout(Some(left))?;
    let len = u16::try_from(msg.len()).map_err(|_| DnsError::BadName(String::new()))?;
    let mut framed = len.to_be_bytes().to_vec();
    framed.extend_from_slice(msg);
    stream.write_all(&framed)?;
    let mut len = [0u8; 2];
    stream.read_exact(&mut len)?;
    let mut answer = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut answer)?;
    Ok(decode_answer_to(msg, &answer)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answer for example.org A: a CNAME then two A records, names compressed.
    fn hand_built_answer(id: u16) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&id.to_be_bytes());
        m.extend_from_slice(&[0x81, 0x80]); // response, RD, RA, rcode 0
        m.extend_from_slice(&[0, 1, 0, 3, 0, 0, 0, 0]);
        // question at offset 12: example.org A IN
        m.extend_from_slice(b"\x07example\x03org\x00\x00\x01\x00\x01");
        // CNAME example.org -> www.example.org (www + pointer to 12)
        m.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6]);
        m.extend_from_slice(b"\x03www\xc0\x0c");
        // two A records for the CNAME target (pointer to the rdata above at offset 41)
        for ip in [[93, 184, 215, 14], [10, 0, 0, 7]] {
            m.extend_from_slice(&[0xc0, 41, 0, 1, 0, 1, 0, 0, 1, 0, 0, 4]);
            m.extend_from_slice(&ip);
        }
        m
    }

    #[test]
    fn encodes_a_query_like_dig() {
        let q = encode_query(0xbeef, "example.org.", TYPE_AAAA).unwrap();
        assert_eq!(
            q,
            b"\xbe\xef\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03org\x00\x00\x1c\x00\x01"
        );
    }

    #[test]
    fn refuses_bad_names() {
        assert!(encode_query(1, "", TYPE_A).is_err());
        assert!(encode_query(1, "a..b", TYPE_A).is_err());
        assert!(encode_query(1, &"x".repeat(64), TYPE_A).is_err());
        assert!(encode_query(1, "sp ace.org", TYPE_A).is_err());
    }

    #[test]
    fn decodes_answers_through_cname_and_compression() {
        let ips = decode_response(&hand_built_answer(7), 7).unwrap();
        assert_eq!(
            ips,
            vec![
                IpAddr::V4(Ipv4Addr::new(93, 184, 215, 14)),
                IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7))
            ]
        );
    }

    #[test]
    fn decodes_aaaa() {
        let mut m = vec![0, 9, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0];
        m.extend_from_slice(b"\x01a\x00\x00\x1c\x00\x01\x00\x00\x00\x01\x00\x10");
        m.extend_from_slice(&Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1).octets());
        assert_eq!(
            decode_response(&m, 9).unwrap(),
            vec!["2001:db8::1".parse::<IpAddr>().unwrap()]
        );
    }

    #[test]
    fn errors_are_precise() {
        let good = hand_built_answer(7);
        assert_eq!(
            decode_response(&good, 8),
            Err(DnsError::IdMismatch { want: 8, got: 7 })
        );
        for cut in 0..good.len() {
            assert!(
                matches!(
                    decode_response(&good[..cut], 7),
                    Err(DnsError::Truncated(_))
                ),
                "cut at {cut}"
            );
        }
        let mut nx = good.clone();
        nx[3] = 0x83;
        assert_eq!(decode_response(&nx, 7), Err(DnsError::NxDomain));
        let mut servfail = good.clone();
        servfail[3] = 0x82;
        assert_eq!(decode_response(&servfail, 7), Err(DnsError::Rcode(2)));
        let mut tc = good.clone();
        tc[2] |= 0x02;
        assert_eq!(decode_response(&tc, 7), Err(DnsError::TruncatedBit));
        let mut query = good;
        query[2] &= 0x7f;
        assert_eq!(decode_response(&query, 7), Err(DnsError::NotAResponse));
    }

    #[test]
    fn answer_must_repeat_the_question() {
        let query = encode_query(7, "EXAMPLE.org", TYPE_A).unwrap();
        let answer = hand_built_answer(7);
        assert_eq!(decode_answer_to(&query, &answer).unwrap().len(), 2);
        let other = encode_query(7, "example.com", TYPE_A).unwrap();
        assert_eq!(
            decode_answer_to(&other, &answer),
            Err(DnsError::QuestionMismatch)
        );
        let aaaa = encode_query(7, "example.org", TYPE_AAAA).unwrap();
        assert_eq!(
            decode_answer_to(&aaaa, &answer),
            Err(DnsError::QuestionMismatch)
        );
        assert!(decode_answer_to(&[], &answer).is_err());
    }

    #[test]
    fn hosts_file_lookup() {
        let hosts = "127.0.0.1\tlocalhost\n\
                     # 10.0.0.1 commented.example\n\
                     ::1 localhost ip6-localhost\n\
                     192.0.2.5  hcl.example.org hcl # trailing comment\n\
                     not-an-ip broken.example\n";
        assert_eq!(
            hosts_lookup(hosts, "HCL.example.org"),
            vec!["192.0.2.5".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(hosts_lookup(hosts, "hcl").len(), 1);
        assert_eq!(
            hosts_lookup(hosts, "localhost"),
            vec![
                "127.0.0.1".parse::<IpAddr>().unwrap(),
                "::1".parse::<IpAddr>().unwrap()
            ]
        );
        assert!(hosts_lookup(hosts, "commented.example").is_empty());
        assert!(hosts_lookup(hosts, "broken.example").is_empty());
    }

    #[test]
    fn resolv_conf_nameservers() {
        let conf = "# generated\nsearch lan\nnameserver 10.0.0.1\nnameserver  2001:db8::53\n\
                    nameserver fe80::1%eth0\noptions ndots:1\nnameserver\n";
        assert_eq!(
            nameservers(conf),
            vec![
                "10.0.0.1".parse::<IpAddr>().unwrap(),
                "2001:db8::53".parse::<IpAddr>().unwrap()
            ]
        );
    }

    #[test]
    fn search_domains_apply_to_short_names_only() {
        let conf = "domain old.lan\nsearch corp.example lan.\nnameserver 10.0.0.1\n";
        let search = search_domains(conf);
        assert_eq!(search, vec!["corp.example", "lan"]);
        assert_eq!(
            candidates("hcl", &search),
            vec!["hcl.corp.example", "hcl.lan", "hcl"]
        );
        assert_eq!(
            candidates("hcl.example.org", &search),
            vec!["hcl.example.org"]
        );
    }

    #[test]
    fn ip_literals_and_hosts_need_no_dns() {
        let dir = tempfile::tempdir().unwrap();
        let hosts = dir.path().join("hosts");
        std::fs::write(&hosts, "198.51.100.9 upload.test\n").unwrap();
        let r = NssFreeResolver {
            hosts_file: hosts,
            resolv_conf: dir.path().join("missing"),
            dns_port: 1,
        };
        assert_eq!(
            r.lookup("[::1]", None).unwrap(),
            vec!["::1".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(
            r.lookup("upload.test", None).unwrap(),
            vec!["198.51.100.9".parse::<IpAddr>().unwrap()]
        );
    }

    #[test]
    fn dns_over_udp_against_a_local_server() {
        // A one-shot DNS server on loopback that answers A queries with 192.0.2.77 and AAAA
        // queries with no records.
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = server.local_addr().unwrap().port();
        let t = std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            for _ in 0..2 {
                let (n, from) = server.recv_from(&mut buf).unwrap();
                let q = &buf[..n];
                let qtype = u16::from_be_bytes([q[n - 4], q[n - 3]]);
                let mut a = q.to_vec();
                a[2] = 0x81;
                a[3] = 0x80;
                if qtype == TYPE_A {
                    a[7] = 1;
                    a.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 192, 0, 2, 77]);
                }
                server.send_to(&a, from).unwrap();
            }
        });
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("resolv.conf"), "nameserver 127.0.0.1\n").unwrap();
        let r = NssFreeResolver {
            hosts_file: dir.path().join("no-hosts"),
            resolv_conf: dir.path().join("resolv.conf"),
            dns_port: port,
        };
        let ips = r
            .lookup(
                "hcl.example.org",
                Some(Instant::now() + Duration::from_secs(10)),
            )
            .unwrap();
        assert_eq!(ips, vec!["192.0.2.77".parse::<IpAddr>().unwrap()]);
        t.join().unwrap();
    }

    /// Binds a TCP listener and a UDP socket on the same loopback port.
    fn tcp_and_udp_pair() -> (std::net::TcpListener, UdpSocket) {
        for _ in 0..50 {
            let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = tcp.local_addr().unwrap().port();
            if let Ok(udp) = UdpSocket::bind(("127.0.0.1", port)) {
                return (tcp, udp);
            }
        }
        panic!("no free port for both TCP and UDP");
    }

    #[test]
    fn truncated_udp_answer_is_asked_again_over_tcp() {
        let (tcp, udp) = tcp_and_udp_pair();
        let port = udp.local_addr().unwrap().port();
        let t = std::thread::spawn(move || {
            // UDP: the A query gets an empty answer with the TC bit set.
            let mut buf = [0u8; 512];
            let (n, from) = udp.recv_from(&mut buf).unwrap();
            let mut a = buf[..n].to_vec();
            a[2] = 0x83; // response, TC, RD
            a[3] = 0x80;
            udp.send_to(&a, from).unwrap();
            // TCP: the same question, answered in full.
            let (mut s, _) = tcp.accept().unwrap();
            let mut len = [0u8; 2];
            s.read_exact(&mut len).unwrap();
            let mut q = vec![0u8; usize::from(u16::from_be_bytes(len))];
            s.read_exact(&mut q).unwrap();
            let mut a = q.clone();
            a[2] = 0x81;
            a[3] = 0x80;
            a[7] = 1;
            a.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 203, 0, 113, 8]);
            let mut framed = u16::try_from(a.len()).unwrap().to_be_bytes().to_vec();
            framed.extend_from_slice(&a);
            s.write_all(&framed).unwrap();
        });
        let server = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Some(Instant::now() + Duration::from_secs(10));
        let ips = query(server, "big.example.org", TYPE_A, deadline).unwrap();
        assert_eq!(ips, vec!["203.0.113.8".parse::<IpAddr>().unwrap()]);
        t.join().unwrap();
    }

    mod fuzz {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600), id in any::<u16>()) {
                let _ = decode_response(&bytes, id);
                let query = encode_query(id, "hcl.example.org", TYPE_A).unwrap_or_default();
                let _ = decode_answer_to(&query, &bytes);
                let _ = decode_answer_to(&bytes, &bytes);
            }

            #[test]
            fn decoder_never_panics_on_mangled_answers(flips in proptest::collection::vec((0usize..80, any::<u8>()), 1..8)) {
                let mut m = super::hand_built_answer(7);
                for (i, b) in flips {
                    if let Some(x) = m.get_mut(i) { *x = b; }
                }
                let _ = decode_response(&m, 7);
            }

            #[test]
            fn encoder_never_panics(name in ".{0,300}", qtype in any::<u16>()) {
                let _ = encode_query(1, &name, qtype);
            }
        }
    }
}
