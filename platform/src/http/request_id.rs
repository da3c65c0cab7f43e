//! The id every request carries (`x-request-id`): taken from the client when it is short and
//! plain, otherwise made here, and echoed in the response, the logs and problem documents.

use std::sync::atomic::{AtomicU64, Ordering};

use http::HeaderName;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Request ids: a random per-process prefix and a counter. Unique across processes and cheap;
/// they need not be unpredictable.
pub struct RequestIds {
    prefix: String,
    next: AtomicU64,
}

impl RequestIds {
    pub fn new() -> Self {
        let bytes: [u8; 6] = guomi::random_bytes().unwrap_or_default();
        RequestIds {
            prefix: hex::encode(bytes),
            next: AtomicU64::new(1),
        }
    }

    pub fn next(&self) -> String {
        format!(
            "{}-{:x}",
            self.prefix,
            self.next.fetch_add(1, Ordering::Relaxed)
        )
    }
}

impl Default for RequestIds {
    fn default() -> Self {
        Self::new()
    }
}
