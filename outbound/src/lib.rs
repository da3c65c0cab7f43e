//! The resilient outbound HTTP client shared by the sign-in back channels, the connectors'
//! health probes and partner message delivery: per-attempt timeouts that cover the whole body,
//! retries with exponential backoff and full jitter for retry-safe calls only, a circuit
//! breaker and a concurrency cap per host (`scheme://host:port`), the inbound request id
//! carried on as `x-request-id`, per-host metrics, and errors that say whose fault a failure
//! was and whether the call may safely be made again.
//!
//! It does not follow redirects (a back channel that redirects is misconfigured, and following
//! would carry credentials elsewhere), keeps no cookies, and never puts a URL's path or query,
//! a header or a body into an error or a log line at `info` or above: queries carry tickets.
//! It reads no configuration of its own and keeps no global state; time is the monotonic
//! clock, used only for timeouts, backoff and cool-downs.

mod breaker;
mod client;
mod error;
mod host;
mod metrics;
mod request_id;
mod response;
mod retry;
mod settings;

pub use breaker::Circuit;
pub use client::{Client, RequestBuilder};
pub use error::{Error, Fault};
pub use host::{HostStatus, host_of};
pub use request_id::{current_request_id, scope_request_id};
pub use response::{Probe, Response};
pub use retry::Retry;
pub use settings::Settings;
