//! When a failed attempt is tried again, and after how long. Pure functions, tested here.

use std::time::Duration;

use http::{HeaderMap, Method, StatusCode};

/// Whether a call may be repeated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// Idempotent: a GET, or a POST carrying an idempotency key. Retried after connection
    /// failures, timeouts, broken answers and 500, 502, 503, 504 and 429.
    Safe,
    /// May have an effect each time it arrives (a token or ticket exchange). Retried only when
    /// nothing was sent (no connection could be opened); never after a timeout or a response.
    Unsafe,
}

impl Retry {
    /// The default for a method: `Safe` for GET, HEAD and OPTIONS, `Unsafe` otherwise.
    pub fn for_method(method: &Method) -> Retry {
        if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            Retry::Safe
        } else {
            Retry::Unsafe
        }
    }

    pub(crate) fn idempotent(self) -> bool {
        self == Retry::Safe
    }
}

/// How an attempt failed, as far as retrying is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// No connection: nothing was sent.
    Connect,
    /// Timed out, or the connection broke after sending: the remote may have acted.
    AfterSending,
    /// Any other failure (our request, an oversized body): the same call fails the same way.
    Final,
}

/// Whether an attempt that failed this way is tried again.
pub(crate) fn retry_failure(failure: Failure, retry: Retry) -> bool {
    match failure {
        Failure::Connect => true,
        Failure::AfterSending => retry == Retry::Safe,
        Failure::Final => false,
    }
}

/// Whether an attempt answered with `status` is tried again (the last answer is returned).
pub(crate) fn retry_status(status: StatusCode, retry: Retry) -> bool {
    retry == Retry::Safe && matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504)
}

/// The longest delay before retry `n` (0 for the first): `min(max, base · 2ⁿ)`.
pub(crate) fn backoff_cap(base: Duration, max: Duration, n: u32) -> Duration {
    base.saturating_mul(2u32.saturating_pow(n.min(31))).min(max)
}

/// The delay before retry `n`: uniformly random in `[0, cap]` ("full jitter"), so that clients
/// that failed together do not come back together.
pub(crate) fn backoff(base: Duration, max: Duration, n: u32) -> Duration {
    let cap = backoff_cap(base, max, n);
    let nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rand::random_range(0..=nanos))
}

/// The delay before retrying an answer, or `None` to stop: at least the answer's
/// `Retry-After` (in seconds), which must not exceed `max`.
pub(crate) fn delay_for_answer(
    headers: &HeaderMap,
    jitter: Duration,
    max: Duration,
) -> Option<Duration> {
    match retry_after(headers) {
        Some(asked) if asked > max => None,
        Some(asked) => Some(asked.max(jitter)),
        None => Some(jitter),
    }
}

/// `Retry-After` as a number of seconds (the HTTP-date form is ignored).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_by_method() {
        assert_eq!(Retry::for_method(&Method::GET), Retry::Safe);
        assert_eq!(Retry::for_method(&Method::HEAD), Retry::Safe);
        assert_eq!(Retry::for_method(&Method::POST), Retry::Unsafe);
        assert_eq!(Retry::for_method(&Method::PUT), Retry::Unsafe);
    }

    #[test]
    fn unsafe_calls_are_retried_only_when_nothing_was_sent() {
        assert!(retry_failure(Failure::Connect, Retry::Unsafe));
        assert!(retry_failure(Failure::Connect, Retry::Safe));
        assert!(!retry_failure(Failure::AfterSending, Retry::Unsafe));
        assert!(retry_failure(Failure::AfterSending, Retry::Safe));
        assert!(!retry_failure(Failure::Final, Retry::Safe));
        for s in [429, 500, 502, 503, 504] {
            let s = StatusCode::from_u16(s).unwrap();
            assert!(retry_status(s, Retry::Safe));
            assert!(!retry_status(s, Retry::Unsafe));
        }
        for s in [200, 302, 400, 401, 404, 501] {
            assert!(!retry_status(StatusCode::from_u16(s).unwrap(), Retry::Safe));
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum_with_full_jitter() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(2);
        assert_eq!(backoff_cap(base, max, 0), Duration::from_millis(100));
        assert_eq!(backoff_cap(base, max, 1), Duration::from_millis(200));
        assert_eq!(backoff_cap(base, max, 4), Duration::from_millis(1600));
        assert_eq!(backoff_cap(base, max, 5), max);
        assert_eq!(backoff_cap(base, max, 1000), max);
        let delays: Vec<Duration> = (0..200).map(|_| backoff(base, max, 3)).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_millis(800)));
        // Jittered: not all the same, and some in the lower half.
        assert!(delays.iter().any(|d| *d != delays[0]));
        assert!(delays.iter().any(|d| *d < Duration::from_millis(400)));
        assert_eq!(backoff(Duration::ZERO, max, 3), Duration::ZERO);
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_maximum() {
        let jitter = Duration::from_millis(50);
        let max = Duration::from_secs(2);
        let mut h = HeaderMap::new();
        assert_eq!(delay_for_answer(&h, jitter, max), Some(jitter));
        h.insert(http::header::RETRY_AFTER, "1".parse().unwrap());
        assert_eq!(
            delay_for_answer(&h, jitter, max),
            Some(Duration::from_secs(1))
        );
        h.insert(http::header::RETRY_AFTER, "120".parse().unwrap());
        assert_eq!(delay_for_answer(&h, jitter, max), None);
        h.insert(
            http::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(delay_for_answer(&h, jitter, max), Some(jitter));
    }
}
