//! Outbound failures. Each says whose fault it was ([`Fault`]) and whether the same call may
//! safely be made again ([`Error::retry_safe`]). Messages name the host as
//! `scheme://host:port` and never a path, query, header or body: queries carry tickets and
//! tokens.

use std::fmt;
use std::time::Duration;

/// Whose fault a failure was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Our request or our own limit: a bad URL, an unserialisable body, a rejected request
    /// (4xx), too many calls already in flight.
    Ours,
    /// The remote answered badly (5xx, 429, an oversized body) or is known to be failing (its
    /// circuit is open).
    Theirs,
    /// The remote could not be reached or did not answer in time: the network or the remote.
    Network,
}

impl Fault {
    fn describe(self) -> &'static str {
        match self {
            Fault::Ours => "our fault",
            Fault::Theirs => "remote fault",
            Fault::Network => "network or remote fault",
        }
    }
}

/// A failed outbound call.
///
/// `idempotent` records whether the call was made as `Retry::Safe`: after a timeout or a broken
/// connection the remote may have acted on the request, so only an idempotent call may be made
/// again.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request cannot be sent as built (bad URL or scheme, unserialisable body, bad
    /// header). Nothing was sent.
    InvalidRequest { reason: String },
    /// The client cannot be built from its settings.
    Setup { reason: String },
    /// No connection could be opened: refused, name resolution, TLS handshake, connect
    /// timeout. Nothing was sent.
    Connect {
        host: String,
        #[source]
        source: reqwest::Error,
    },
    /// The attempt did not finish (response head and body) within its timeout.
    Timeout {
        host: String,
        after: Duration,
        idempotent: bool,
    },
    /// The connection failed after the request was (perhaps) sent, before the response head.
    Interrupted {
        host: String,
        #[source]
        source: reqwest::Error,
        idempotent: bool,
    },
    /// The response head arrived but its body could not be read to the end.
    Body {
        host: String,
        #[source]
        source: reqwest::Error,
        idempotent: bool,
    },
    /// The remote answered with an error status (from `Response::error_for_status`).
    Status {
        host: String,
        status: u16,
        idempotent: bool,
    },
    /// The host's circuit is open: the call was not sent.
    CircuitOpen { host: String, retry_in: Duration },
    /// `limit` calls to the host were already in flight and none finished in time: the call
    /// was not sent.
    Saturated { host: String, limit: usize },
    /// The response body exceeds `limit` bytes.
    ResponseTooLarge { host: String, limit: usize },
}

impl Error {
    /// Whose fault the failure was.
    pub fn fault(&self) -> Fault {
        match self {
            Error::InvalidRequest { .. } | Error::Setup { .. } | Error::Saturated { .. } => {
                Fault::Ours
            }
            Error::Connect { .. }
            | Error::Timeout { .. }
            | Error::Interrupted { .. }
            | Error::Body { .. } => Fault::Network,
            Error::Status { status, .. } if *status >= 500 || *status == 429 => Fault::Theirs,
            Error::Status { .. } => Fault::Ours,
            Error::CircuitOpen { .. } | Error::ResponseTooLarge { .. } => Fault::Theirs,
        }
    }

    /// Whether making this exact call again later is safe (it cannot cause a second effect)
    /// and may succeed:
    /// - yes when nothing was sent: `Connect`, `CircuitOpen`, `Saturated`;
    /// - yes for 429 and 503, whose senders say they did not act on the request;
    /// - only for idempotent calls after a timeout, a broken connection or body, or a 500, 502
    ///   or 504 (a gateway may have passed the request on before failing);
    /// - no for our own mistakes, an oversized body and other statuses: the same call would
    ///   get the same answer.
    pub fn retry_safe(&self) -> bool {
        match self {
            Error::InvalidRequest { .. } | Error::Setup { .. } | Error::ResponseTooLarge { .. } => {
                false
            }
            Error::Connect { .. } | Error::CircuitOpen { .. } | Error::Saturated { .. } => true,
            Error::Timeout { idempotent, .. }
            | Error::Interrupted { idempotent, .. }
            | Error::Body { idempotent, .. } => *idempotent,
            Error::Status {
                status, idempotent, ..
            } => match status {
                429 | 503 => true,
                500 | 502 | 504 => *idempotent,
                _ => false,
            },
        }
    }

    /// The host (`scheme://host:port`) the call was for, when the URL had one.
    pub fn host(&self) -> Option<&str> {
        match self {
            Error::InvalidRequest { .. } | Error::Setup { .. } => None,
            Error::Connect { host, .. }
            | Error::Timeout { host, .. }
            | Error::Interrupted { host, .. }
            | Error::Body { host, .. }
            | Error::Status { host, .. }
            | Error::CircuitOpen { host, .. }
            | Error::Saturated { host, .. }
            | Error::ResponseTooLarge { host, .. } => Some(host),
        }
    }

    /// The metrics `outcome` label of a call that ended in this error.
    pub(crate) fn outcome(&self) -> &'static str {
        match self {
            Error::InvalidRequest { .. } | Error::Setup { .. } => "invalid",
            Error::Connect { .. } => "connect",
            Error::Timeout { .. } => "timeout",
            // A connection broken mid-exchange is a network failure like a refused one.
            Error::Interrupted { .. } | Error::Body { .. } => "connect",
            Error::Status { status, .. } if *status >= 500 => "http_5xx",
            Error::Status { .. } => "http_4xx",
            Error::CircuitOpen { .. } => "circuit_open",
            Error::Saturated { .. } => "saturated",
            Error::ResponseTooLarge { .. } => "too_large",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidRequest { reason } => write!(f, "invalid outbound request: {reason}"),
            Error::Setup { reason } => {
                write!(f, "the outbound HTTP client cannot be set up: {reason}")
            }
            Error::Connect { host, .. } => write!(f, "upstream {host} could not be reached"),
            Error::Timeout { host, after, .. } => {
                write!(f, "upstream {host} timed out after {}", Human(*after))
            }
            Error::Interrupted { host, .. } => {
                write!(f, "upstream {host} broke the connection before answering")
            }
            Error::Body { host, .. } => write!(f, "upstream {host} broke off its answer"),
            Error::Status { host, status, .. } => {
                write!(f, "upstream {host} answered HTTP {status}")
            }
            Error::CircuitOpen { host, retry_in } => write!(
                f,
                "upstream {host} is failing and not called (circuit open; next try in {})",
                Human(*retry_in)
            ),
            Error::Saturated { host, limit } => write!(
                f,
                "upstream {host} already has {limit} calls in flight and none finished in time"
            ),
            Error::ResponseTooLarge { host, limit } => {
                write!(f, "upstream {host} answered with more than {limit} bytes")
            }
        }?;
        let retry = if self.retry_safe() { "yes" } else { "no" };
        write!(f, " ({}; safe to retry: {retry})", self.fault().describe())
    }
}

/// A duration for people: `5s`, `1.5s`, `300ms`.
struct Human(Duration);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms >= 1000 && ms.is_multiple_of(1000) {
            write!(f, "{}s", ms / 1000)
        } else if ms >= 1000 {
            write!(f, "{:.1}s", self.0.as_secs_f64())
        } else {
            write!(f, "{ms}ms")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "https://a.example:443";

    fn status(status: u16, idempotent: bool) -> Error {
        Error::Status {
            host: HOST.into(),
            status,
            idempotent,
        }
    }

    #[test]
    fn fault_and_retry_safety_of_each_kind_without_a_source() {
        let cases = [
            (
                Error::InvalidRequest {
                    reason: "relative URL without a base".into(),
                },
                Fault::Ours,
                false,
            ),
            (
                Error::Setup {
                    reason: "bad user agent".into(),
                },
                Fault::Ours,
                false,
            ),
            (
                Error::Timeout {
                    host: HOST.into(),
                    after: Duration::from_secs(5),
                    idempotent: false,
                },
                Fault::Network,
                false,
            ),
            (
                Error::Timeout {
                    host: HOST.into(),
                    after: Duration::from_secs(5),
                    idempotent: true,
                },
                Fault::Network,
                true,
            ),
            (
                Error::CircuitOpen {
                    host: HOST.into(),
                    retry_in: Duration::from_secs(3),
                },
                Fault::Theirs,
                true,
            ),
            (
                Error::Saturated {
                    host: HOST.into(),
                    limit: 2,
                },
                Fault::Ours,
                true,
            ),
            (
                Error::ResponseTooLarge {
                    host: HOST.into(),
                    limit: 10,
                },
                Fault::Theirs,
                false,
            ),
            (status(503, false), Fault::Theirs, true),
            (status(429, false), Fault::Theirs, true),
            (status(502, false), Fault::Theirs, false),
            (status(502, true), Fault::Theirs, true),
            (status(504, true), Fault::Theirs, true),
            (status(500, false), Fault::Theirs, false),
            (status(501, true), Fault::Theirs, false),
            (status(404, true), Fault::Ours, false),
            (status(401, true), Fault::Ours, false),
        ];
        for (e, fault, retry) in cases {
            assert_eq!(e.fault(), fault, "{e}");
            assert_eq!(e.retry_safe(), retry, "{e}");
            let text = e.to_string();
            assert!(
                text.ends_with(&format!(
                    "; safe to retry: {})",
                    if retry { "yes" } else { "no" }
                )),
                "{text}"
            );
        }
    }

    #[test]
    fn messages_name_the_host_whose_fault_and_retry_safety() {
        let e = Error::Timeout {
            host: HOST.into(),
            after: Duration::from_secs(5),
            idempotent: false,
        };
        assert_eq!(
            e.to_string(),
            "upstream https://a.example:443 timed out after 5s (network or remote fault; safe to retry: no)"
        );
        assert_eq!(e.host(), Some(HOST));
        let e = Error::CircuitOpen {
            host: HOST.into(),
            retry_in: Duration::from_millis(1500),
        };
        assert_eq!(
            e.to_string(),
            "upstream https://a.example:443 is failing and not called (circuit open; next try in 1.5s) (remote fault; safe to retry: yes)"
        );
        assert_eq!(
            status(404, true).to_string(),
            "upstream https://a.example:443 answered HTTP 404 (our fault; safe to retry: no)"
        );
        assert_eq!(Human(Duration::from_millis(250)).to_string(), "250ms");
        assert!(
            Error::InvalidRequest { reason: "x".into() }
                .host()
                .is_none()
        );
    }

    #[test]
    fn outcome_labels() {
        assert_eq!(status(503, true).outcome(), "http_5xx");
        assert_eq!(status(404, true).outcome(), "http_4xx");
        assert_eq!(
            Error::Saturated {
                host: HOST.into(),
                limit: 1
            }
            .outcome(),
            "saturated"
        );
    }
}
