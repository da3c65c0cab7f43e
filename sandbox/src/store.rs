//! In-memory stores of tickets, user tokens and browser sessions: random keys with an expiry.
//!
//! Time is a parameter (`now`), so expiry is tested without sleeping. Expired entries are pruned
//! whenever a new one is stored, and each store holds at most [`CAPACITY`] live entries, so a
//! flood of sign-ins cannot grow memory without bound.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::Error;

/// Live entries one store holds at most.
pub(crate) const CAPACITY: usize = 100_000;

/// Random bytes in a ticket (128 bits).
pub(crate) const TICKET_BYTES: usize = 16;
/// Random bytes in a user token or session id (256 bits).
pub(crate) const TOKEN_BYTES: usize = 32;

/// Values keyed by a random hex string, each until its expiry.
pub(crate) struct Expiring<T> {
    entries: HashMap<String, (T, Instant)>,
}

impl<T: Clone> Expiring<T> {
    pub(crate) fn new() -> Self {
        Self {
            entries: HashMap::new(),
        }
    }

    /// Stores `value` under a fresh random key of `bytes` random bytes (hex-encoded), valid
    /// while the time is before `now + ttl`. A zero `ttl` stores an already expired value.
    pub(crate) fn insert(
        &mut self,
        value: T,
        ttl: Duration,
        now: Instant,
        bytes: usize,
    ) -> Result<String, Error> {
        self.prune(now);
        if self.entries.len() >= CAPACITY {
            return Err(Error::StoreFull);
        }
        let key = hex::encode(guomi::random_vec(bytes).map_err(|_| Error::Random)?);
        let expires = now.checked_add(ttl).unwrap_or(now);
        self.entries.insert(key.clone(), (value, expires));
        Ok(key)
    }

    /// Removes the entry and returns its value if it had not expired: each key works once.
    pub(crate) fn take(&mut self, key: &str, now: Instant) -> Option<T> {
        match self.entries.remove(key) {
            Some((value, expires)) if now < expires => Some(value),
            _ => None,
        }
    }

    /// The value of a live entry, which stays.
    pub(crate) fn get(&self, key: &str, now: Instant) -> Option<T> {
        match self.entries.get(key) {
            Some((value, expires)) if now < *expires => Some(value.clone()),
            _ => None,
        }
    }

    pub(crate) fn remove(&mut self, key: &str) {
        self.entries.remove(key);
    }

    fn prune(&mut self, now: Instant) {
        self.entries.retain(|_, (_, expires)| now < *expires);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn a_ticket_works_once() {
        let mut s = Expiring::new();
        let now = Instant::now();
        let t = s.insert("p1", MINUTE, now, TICKET_BYTES).unwrap();
        assert_eq!(t.len(), 2 * TICKET_BYTES);
        assert!(t.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(s.take(&t, now), Some("p1"));
        assert_eq!(s.take(&t, now), None);
    }

    #[test]
    fn a_ticket_expires_after_its_ttl() {
        let mut s = Expiring::new();
        let now = Instant::now();
        let t = s.insert("p1", MINUTE, now, TICKET_BYTES).unwrap();
        assert_eq!(
            s.get(&t, now + MINUTE - Duration::from_millis(1)),
            Some("p1")
        );
        assert_eq!(s.get(&t, now + MINUTE), None);
        assert_eq!(s.take(&t, now + MINUTE), None);
        // Taking an expired ticket consumes it too.
        assert_eq!(s.take(&t, now), None);
    }

    #[test]
    fn zero_ttl_is_expired_at_once() {
        let mut s = Expiring::new();
        let now = Instant::now();
        let t = s.insert("p1", Duration::ZERO, now, TICKET_BYTES).unwrap();
        assert_eq!(s.take(&t, now), None);
    }

    #[test]
    fn keys_are_random_and_unknown_keys_fail() {
        let mut s = Expiring::new();
        let now = Instant::now();
        let a = s.insert(1, MINUTE, now, TOKEN_BYTES).unwrap();
        let b = s.insert(1, MINUTE, now, TOKEN_BYTES).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(s.get("nope", now), None);
        s.remove(&a);
        assert_eq!(s.get(&a, now), None);
        assert_eq!(s.get(&b, now), Some(1));
    }

    #[test]
    fn expired_entries_are_pruned_on_insert() {
        let mut s = Expiring::new();
        let now = Instant::now();
        for _ in 0..5 {
            s.insert((), MINUTE, now, TICKET_BYTES).unwrap();
        }
        s.insert((), MINUTE, now + MINUTE, TICKET_BYTES).unwrap();
        assert_eq!(s.len(), 1);
    }
}
