//! In-process consumers: a partner whose `deliver_to` is `internal:<name>` has its translated
//! messages applied by the consumer registered under `<name>` in this process (the binary
//! registers them, e.g. the marketplace as `internal:market`) instead of POSTed to a URL.
//!
//! The outbox treats such a delivery like any other (`outbox.rs`): leased, retried with backoff,
//! dead-lettered, replayed with the same receipt id. A consumer therefore honours the receipt id
//! as an HTTP consumer honours `Idempotency-Key`: it applies a receipt once, and answers `Ok`
//! without applying it again when the same receipt comes back.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use futures_util::future::BoxFuture;

/// The scheme of in-process targets: `internal:<name>`.
pub const INTERNAL_SCHEME: &str = "internal";

/// One translated message handed to an in-process consumer.
#[derive(Clone, Copy, Debug)]
pub struct Delivered<'a> {
    /// The hub's id of the message: the same for every attempt (the idempotency key).
    pub receipt_id: &'a str,
    pub partner: &'a str,
    pub message_type: &'a str,
    /// The partner's message id.
    pub message_id: &'a str,
    /// The translation (the mapping's JSON side).
    pub json: &'a serde_json::Value,
}

/// Why a consumer did not apply a message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConsumerError {
    /// It could not be applied now (its store is unavailable, say): tried again with backoff.
    #[error("{0}")]
    Retry(String),
    /// The message itself cannot be applied (its content, or a conflict with the consumer's
    /// state): dead-lettered at once with this reason, which administrators read in the
    /// message log.
    #[error("{0}")]
    Refused(String),
}

/// A consumer that applies translated messages in this process.
pub trait Consumer: Send + Sync {
    /// Applies `d` once per receipt id; a receipt applied before is answered `Ok` unchanged.
    fn apply<'a>(&'a self, d: Delivered<'a>) -> BoxFuture<'a, Result<(), ConsumerError>>;
}

/// The consumers registered in this process, by name.
#[derive(Default)]
pub struct Consumers(RwLock<HashMap<String, Arc<dyn Consumer>>>);

impl std::fmt::Debug for Consumers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Consumers").field(&self.names()).finish()
    }
}

impl Consumers {
    /// Registers (or replaces) the consumer `name`.
    pub fn register(&self, name: &str, consumer: Arc<dyn Consumer>) {
        match self.0.write() {
            Ok(mut m) => m.insert(name.to_owned(), consumer),
            Err(poisoned) => poisoned.into_inner().insert(name.to_owned(), consumer),
        };
    }

    pub fn get(&self, name: &str) -> Option<Arc<dyn Consumer>> {
        match self.0.read() {
            Ok(m) => m.get(name).cloned(),
            Err(poisoned) => poisoned.into_inner().get(name).cloned(),
        }
    }

    /// The registered names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = match self.0.read() {
            Ok(m) => m.keys().cloned().collect(),
            Err(poisoned) => poisoned.into_inner().keys().cloned().collect(),
        };
        v.sort();
        v
    }
}

/// The consumer's name of an `internal:<name>` target; `None` for any other target.
pub fn internal_name(target: &str) -> Option<&str> {
    target
        .strip_prefix(INTERNAL_SCHEME)
        .and_then(|rest| rest.strip_prefix(':'))
}

/// Whether `name` can name a consumer: lower-case letters, digits and single hyphens, 2 to 40.
pub fn valid_name(name: &str) -> bool {
    platform::code::valid_code(name)
}

/// A delivery target as administrators are shown it: an in-process consumer by its name, a URL
/// by its origin only (its path and query may carry what a log should not).
pub fn shown_target(target: &str) -> String {
    if internal_name(target).is_some() {
        return target.to_owned();
    }
    url::Url::parse(target)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_targets_are_named_and_shown_whole() {
        assert_eq!(internal_name("internal:market"), Some("market"));
        assert_eq!(internal_name("https://a.example.cn/x"), None);
        assert_eq!(internal_name("internalmarket"), None);
        assert_eq!(shown_target("internal:market"), "internal:market");
        assert_eq!(
            shown_target("https://a.example.cn/hub/messages?key=1"),
            "https://a.example.cn"
        );
        assert!(valid_name("market") && !valid_name("Market") && !valid_name("m"));
        // A URL parser reads the target back unchanged (the outbox stores it as text).
        let u = url::Url::parse("internal:market").unwrap();
        assert_eq!(u.as_str(), "internal:market");
    }
}
