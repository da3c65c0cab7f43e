//! A keyed rate limiter (GCRA) for sign-in endpoints: each key (client address) may make
//! `per_minute` attempts per minute, with bursts up to the same number. In memory, per node.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct RateLimiter<K> {
    interval: Duration,
    burst: Duration,
    state: Mutex<HashMap<K, Instant>>,
}

/// The key of a client address: IPv4 as it is, an IPv4-mapped IPv6 address as its IPv4, and
/// other IPv6 addresses by their /64 — one subscriber usually holds a whole /64, and keying by
/// the full address would give it 2^64 allowances.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            // The well-known NAT64 prefix (RFC 6052) carries an IPv4 client in its last 32 bits.
            let nat64 = bits >> 32 == 0x0064_ff9b_0000_0000_0000_0000;
            match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None if nat64 => IpAddr::V4(std::net::Ipv4Addr::from(bits as u32)),
                None => IpAddr::V6(Ipv6Addr::from(bits & !((1u128 << 64) - 1))),
            }
        }
    }
}

impl RateLimiter<IpAddr> {
    /// [`RateLimiter::check`] for a client address ([`client_key`]).
    pub fn check_client(&self, ip: IpAddr) -> Result<(), Duration> {
        self.check(&client_key(ip))
    }

    /// [`RateLimiter::peek`] for a client address ([`client_key`]).
    pub fn peek_client(&self, ip: IpAddr) -> Result<(), Duration> {
        self.peek(&client_key(ip))
    }
}

/// Entries are pruned when the table grows past this, so that a flood of addresses cannot
/// exhaust memory.
const PRUNE_ABOVE: usize = 10_000;

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    pub fn per_minute(per_minute: u32) -> Self {
        let per_minute = per_minute.max(1);
        let interval = Duration::from_secs(60) / per_minute;
        RateLimiter {
            interval,
            burst: interval * (per_minute - 1),
            state: Mutex::new(HashMap::new()),
        }
    }

    /// `Ok` if allowed now; otherwise how long to wait.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    /// `Err(wait)` when `key` is out of allowance now, without using any of it: for refusing
    /// a request before doing work whose failures are what is counted.
    pub fn peek(&self, key: &K) -> Result<(), Duration> {
        let now = Instant::now();
        let Ok(state) = self.state.lock() else {
            return Ok(());
        };
        let tat = state.get(key).copied().unwrap_or(now).max(now);
        let allowed_at = tat.checked_sub(self.burst).unwrap_or(now);
        if now < allowed_at {
            Err(allowed_at - now)
        } else {
            Ok(())
        }
    }

    fn check_at(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let Ok(mut state) = self.state.lock() else {
            return Ok(());
        };
        if state.len() > PRUNE_ABOVE {
            state.retain(|_, tat| *tat > now);
        }
        // Theoretical arrival time: when the bucket would be empty again.
        let tat = state.get(key).copied().unwrap_or(now).max(now);
        let allowed_at = tat.checked_sub(self.burst).unwrap_or(now);
        if now < allowed_at {
            return Err(allowed_at - now);
        }
        state.insert(key.clone(), tat + self.interval);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_subscriber_shares_one_allowance_per_64() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(client_key(ip("203.0.113.9")), ip("203.0.113.9"));
        assert_eq!(client_key(ip("::ffff:203.0.113.9")), ip("203.0.113.9"));
        assert_eq!(client_key(ip("64:ff9b::203.0.113.9")), ip("203.0.113.9"));
        assert_eq!(
            client_key(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
            ip("2001:db8:1:2::")
        );
        let l = RateLimiter::per_minute(2);
        assert!(l.check_client(ip("2001:db8:1:2::1")).is_ok());
        assert!(l.check_client(ip("2001:db8:1:2::2")).is_ok());
        // A third address in the same /64 is the same client; the next /64 is another.
        assert!(l.check_client(ip("2001:db8:1:2:ffff::3")).is_err());
        assert!(l.peek_client(ip("2001:db8:1:2::4")).is_err());
        assert!(l.check_client(ip("2001:db8:1:3::1")).is_ok());
    }

    #[test]
    fn allows_a_burst_then_refills_at_the_rate() {
        let l = RateLimiter::per_minute(3);
        let t0 = Instant::now();
        assert!(l.check_at(&"a", t0).is_ok());
        assert!(l.check_at(&"a", t0).is_ok());
        assert!(l.check_at(&"a", t0).is_ok());
        let wait = l.check_at(&"a", t0).unwrap_err();
        assert!(wait <= Duration::from_secs(20) && wait > Duration::from_secs(19));
        // Another key is independent.
        assert!(l.check_at(&"b", t0).is_ok());
        // After one interval, one more attempt.
        assert!(l.check_at(&"a", t0 + Duration::from_secs(20)).is_ok());
        assert!(l.check_at(&"a", t0 + Duration::from_secs(20)).is_err());
    }
}
