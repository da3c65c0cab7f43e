//! The knobs of a [`Client`](crate::Client): one small struct, validated by `Client::new`.

use std::time::Duration;

/// How the client behaves towards every host. `Default` gives the values in brackets.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Time allowed to open a connection (TCP and TLS) [5 s]. Keep it below `timeout`: a
    /// connection that could not be opened is known to have sent nothing, so even a
    /// non-idempotent call may be retried, whereas an attempt timeout during the connect phase
    /// is treated like any other timeout.
    pub connect_timeout: Duration,
    /// Time allowed for one attempt, from sending to the last byte of the body [10 s]. A call
    /// may override it with `RequestBuilder::timeout`.
    pub timeout: Duration,
    /// Attempts in all for retry-safe calls; 1 means no retry [3].
    pub max_attempts: u32,
    /// The delay before retry `n` (the first retry is `n = 0`) is a random duration in
    /// `[0, min(backoff_max, backoff_base · 2ⁿ)]` ("full jitter") [100 ms].
    pub backoff_base: Duration,
    /// [2 s]. A `Retry-After` longer than this ends the retries.
    pub backoff_max: Duration,
    /// Consecutive failures that open a host's circuit [5]; 0 is taken as 1.
    pub breaker_threshold: u32,
    /// How long an open circuit refuses calls before one trial call may go through [30 s].
    pub breaker_cool_down: Duration,
    /// Calls in flight to one host at most [32]. A call waits for a permit at most as long as
    /// its attempt timeout, then fails with `Error::Saturated`.
    pub max_concurrency_per_host: usize,
    /// Largest response body accepted [4 MiB]; larger bodies fail with
    /// `Error::ResponseTooLarge`.
    pub max_response_bytes: usize,
    /// [`longyan-hub/<version>`]
    pub user_agent: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            max_attempts: 3,
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_secs(2),
            breaker_threshold: 5,
            breaker_cool_down: Duration::from_secs(30),
            max_concurrency_per_host: 32,
            max_response_bytes: 4 * 1024 * 1024,
            user_agent: concat!("longyan-hub/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}
