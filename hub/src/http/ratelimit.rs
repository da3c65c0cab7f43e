//! A keyed rate limiter (GCRA) for sign-in endpoints: each key (client address) may make
//! `per_minute` attempts per minute, with bursts up to the same number. In memory, per node.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct RateLimiter<K> {
    interval: Duration,
    burst: Duration,
    state: Mutex<HashMap<K, Instant>>,
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
