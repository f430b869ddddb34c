//! Per client address token buckets: uploads, page builds, wrong admin tokens.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// Buckets kept before idle ones are swept, so a flood of addresses cannot grow memory unbounded.
const SWEEP_AT: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// A token bucket per client address: `burst` uploads at once, refilled at `per_sec`.
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
        let b = map.entry(ip).or_insert(Bucket {
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

    #[test]
    fn zero_rate_disables() {
        let rl = RateLimiter::new(0.0, 1);
        for _ in 0..100 {
            assert!(rl.check([127, 0, 0, 1].into()).is_ok());
        }
    }
}
