//! Per client token buckets: uploads, page builds, wrong admin tokens; and [`client_key`], the
//! one rule for what counts as one client (these limits and the connection cap use it).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::Instant;

/// Buckets kept before idle ones are swept, so a flood of addresses cannot grow memory unbounded.
const SWEEP_AT: usize = 100_000;

/// The client an address belongs to: an IPv4 address is one client; an IPv6 address counts as
/// its /64, since one host is given a whole /64 and can send from any address in it. An
/// IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, what a dual-stack listener sees) is its IPv4
/// address, not one /64 shared by every IPv4 client.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !(u128::MAX >> 64);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// A token bucket per client ([`client_key`]): `burst` at once, refilled at `per_sec`.
#[derive(Debug)]
pub struct RateLimiter {
    per_sec: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    /// `per_sec <= 0` disables the limit.
    pub fn new(per_sec: f64, burst: u32) -> Self {
        Self {
            per_sec,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Take one token for `ip`; on refusal, the whole seconds until one is available.
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        self.check_at(ip, Instant::now())
    }

    /// Whether `ip` has a token left, without taking it; on refusal, the whole seconds until
    /// one is available.
    pub fn peek(&self, ip: IpAddr) -> Result<(), u64> {
        self.take_at(ip, Instant::now(), false)
    }

    fn check_at(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        self.take_at(ip, now, true)
    }

    fn take_at(&self, ip: IpAddr, now: Instant, take: bool) -> Result<(), u64> {
        if self.per_sec <= 0.0 || !self.per_sec.is_finite() {
            return Ok(());
        }
        // A poisoned lock only means another request panicked mid-update; the map is still sound.
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= SWEEP_AT {
            let (per_sec, burst) = (self.per_sec, self.burst);
            map.retain(|_, b| {
                b.tokens + now.duration_since(b.last).as_secs_f64() * per_sec < burst
            });
        }
        let b = map.entry(client_key(ip)).or_insert(Bucket {
            tokens: self.burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.per_sec).min(self.burst);
        b.last = now;
        if b.tokens >= 1.0 {
            if take {
                b.tokens -= 1.0;
            }
            Ok(())
        } else {
            let wait = (1.0 - b.tokens) / self.per_sec;
            Err(wait.ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_refill() {
        let rl = RateLimiter::new(2.0, 3);
        let ip: IpAddr = [127, 0, 0, 1].into();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(rl.check_at(ip, t0).is_ok());
        }
        assert_eq!(rl.check_at(ip, t0), Err(1));
        // Another address has its own bucket.
        assert!(rl.check_at([10, 0, 0, 1].into(), t0).is_ok());
        // Half a second refills one token at 2/s.
        assert!(rl.check_at(ip, t0 + Duration::from_millis(500)).is_ok());
        assert!(rl.check_at(ip, t0 + Duration::from_millis(500)).is_err());
    }

    /// Regression (attack D6): buckets were per exact address, so an IPv6 host, which sends
    /// from anywhere in its /64, got a fresh bucket per address (5 wrong admin tokens each).
    #[test]
    fn ipv6_counts_per_64_and_ipv4_per_address() {
        let rl = RateLimiter::new(0.1, 2);
        let t0 = Instant::now();
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
        assert!(rl.check_at(a, t0).is_ok());
        assert!(rl.check_at(b, t0).is_ok());
        assert!(
            rl.check_at("2001:db8:1:2:abcd::7".parse().unwrap(), t0)
                .is_err(),
            "a third address of the same /64 shares its bucket"
        );
        // The next /64 is another client.
        assert!(rl.check_at("2001:db8:1:3::1".parse().unwrap(), t0).is_ok());
        // IPv4 stays per address, also when a dual-stack listener sees it mapped into IPv6.
        assert!(rl.check_at([192, 0, 2, 1].into(), t0).is_ok());
        assert!(rl.check_at("::ffff:192.0.2.1".parse().unwrap(), t0).is_ok());
        assert!(rl.check_at([192, 0, 2, 1].into(), t0).is_err());
        assert!(rl.check_at("::ffff:192.0.2.2".parse().unwrap(), t0).is_ok());
    }

    #[test]
    fn client_key_rule() {
        let key = |s: &str| client_key(s.parse().unwrap()).to_string();
        assert_eq!(key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::");
        assert_eq!(key("::ffff:10.1.2.3"), "10.1.2.3");
        assert_eq!(key("10.1.2.3"), "10.1.2.3");
        assert_eq!(key("::1"), "::");
    }

    #[test]
    fn zero_rate_disables() {
        let rl = RateLimiter::new(0.0, 1);
        for _ in 0..100 {
            assert!(rl.check([127, 0, 0, 1].into()).is_ok());
        }
    }
}
