//! The client: one `reqwest` connection pool (redirects not followed, no cookies) and the
//! per-host state, and the attempt loop every call goes through — breaker, permit, timeout,
//! bounded body, verdict, metrics, then perhaps a retry after a jittered backoff.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::header::{HeaderName, HeaderValue};
use http::{Method, StatusCode};
use prometheus_client::registry::Registry;
use serde::Serialize;

use crate::breaker::Verdict;
use crate::host::{Host, HostStatus, Hosts, host_key};
use crate::metrics::{HostLabels, Metrics};
use crate::response::{Probe, Response};
use crate::retry::{self, Failure, Retry};
use telemetry::chain;

use crate::{Error, Settings, current_request_id};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The resilient outbound client. Cloning is cheap and shares the pool and the hosts' state.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    settings: Settings,
    hosts: Hosts,
    metrics: Metrics,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

/// A failed attempt: the error, whether it may be retried, and what it says about the host.
struct Failed {
    error: Error,
    failure: Failure,
    verdict: Verdict,
}

impl Client {
    pub fn new(settings: Settings) -> Result<Client, Error> {
        let setup = |reason: String| Error::Setup { reason };
        if settings.max_concurrency_per_host == 0
            || settings.max_concurrency_per_host > tokio::sync::Semaphore::MAX_PERMITS
        {
            return Err(setup(format!(
                "max_concurrency_per_host must be between 1 and {}",
                tokio::sync::Semaphore::MAX_PERMITS
            )));
        }
        if settings.timeout.is_zero() {
            return Err(setup("the timeout must not be zero".into()));
        }
        let http = reqwest::Client::builder()
            // A back channel that redirects is misconfigured, and following would carry
            // credentials to another host.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(settings.connect_timeout)
            .user_agent(settings.user_agent.as_str())
            .build()
            .map_err(|e| setup(chain(&e.without_url())))?;
        let metrics = Metrics::new();
        let hosts = Hosts::new(
            settings.breaker_threshold,
            settings.breaker_cool_down,
            settings.max_concurrency_per_host,
            metrics.clone(),
        );
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                settings,
                hosts,
                metrics,
            }),
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// A request to `url`; an invalid URL is reported by `send`.
    pub fn request(&self, method: Method, url: &str) -> RequestBuilder {
        let host = crate::host_of(url);
        RequestBuilder {
            client: self.clone(),
            inner: self.inner.http.request(method, url),
            host,
            timeout: None,
            retry: None,
        }
    }

    pub fn get(&self, url: &str) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    pub fn post(&self, url: &str) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    /// Executes an `http::Request` (the `oauth2`/`openidconnect` client bridge). The response
    /// is returned whatever its status; `timeout` overrides the settings' per-attempt timeout.
    pub async fn execute(
        &self,
        req: http::Request<Vec<u8>>,
        retry: Retry,
        timeout: Option<Duration>,
    ) -> Result<http::Response<Vec<u8>>, Error> {
        let request = reqwest::Request::try_from(req).map_err(invalid)?;
        let res = self.run(request, retry, timeout).await?;
        let mut out = http::Response::new(res.body);
        *out.status_mut() = res.status;
        *out.headers_mut() = res.headers;
        Ok(out)
    }

    /// A health probe: one GET, no retry, the body not read. It is let through an open
    /// circuit — probes are how a host is seen to recover — and its outcome is recorded like
    /// any call's, so a successful probe closes the circuit. Any status counts as an answer
    /// ([`Probe::up`] says whether it is below 500); only failing to get one is an error.
    pub async fn probe(&self, url: &str, timeout: Duration) -> Result<Probe, Error> {
        let mut request = self.inner.http.get(url).build().map_err(invalid)?;
        let key = host_key(request.url()).ok_or_else(not_http)?;
        carry_request_id(&mut request);
        let host = self.inner.hosts.get(&key);
        let admitted = host.admit_probe();
        let Some(in_flight) = host.acquire(timeout).await else {
            return Err(self.saturated(&host));
        };
        let started = Instant::now();
        let result = tokio::time::timeout(timeout, self.inner.http.execute(request)).await;
        let latency = started.elapsed();
        let result = match result {
            Ok(Ok(res)) => Ok(res.status()),
            Ok(Err(e)) => Err(classify(e, &key, true)),
            Err(_) => Err(timed_out(&key, timeout, true)),
        };
        drop(in_flight);
        self.observe(&key, latency);
        match result {
            Ok(status) => {
                let up = status.as_u16() < 500;
                admitted.finish(if up {
                    Verdict::Success
                } else {
                    Verdict::Failure
                });
                self.inner.metrics.count(&key, status_outcome(status));
                tracing::debug!(host = %key, status = status.as_u16(), ms = ms(latency), "outbound probe");
                Ok(Probe {
                    status: status.as_u16(),
                    latency,
                })
            }
            Err(f) => {
                admitted.finish(f.verdict);
                self.inner.metrics.count(&key, f.error.outcome());
                tracing::debug!(host = %key, ms = ms(latency), error = %f.error, "outbound probe");
                Err(f.error)
            }
        }
    }

    /// Every host called so far, by host.
    pub fn hosts(&self) -> Vec<HostStatus> {
        self.inner.hosts.statuses()
    }

    /// Registers the client's metric families under the prefix `outbound`.
    pub fn register_metrics(&self, registry: &mut Registry) {
        self.inner.metrics.register(registry);
    }

    /// The attempt loop.
    async fn run(
        &self,
        mut request: reqwest::Request,
        retry: Retry,
        timeout: Option<Duration>,
    ) -> Result<Response, Error> {
        let settings = &self.inner.settings;
        let timeout = timeout
            .or_else(|| request.timeout().copied())
            .unwrap_or(settings.timeout);
        // Our own timeout covers the whole exchange, body included.
        *request.timeout_mut() = None;
        let key = host_key(request.url()).ok_or_else(not_http)?;
        carry_request_id(&mut request);
        let path = request.url().path().to_owned();
        let host = self.inner.hosts.get(&key);
        let max_attempts = settings.max_attempts.max(1);
        let mut attempt: u32 = 1;
        loop {
            let Some(req) = request.try_clone() else {
                return Err(Error::InvalidRequest {
                    reason: "a streamed body cannot be sent again".into(),
                });
            };
            let admitted = match host.admit() {
                Ok(a) => a,
                Err(retry_in) => {
                    self.inner.metrics.count(&key, "circuit_open");
                    tracing::debug!(host = %key, path = %path, attempt, "outbound call refused: circuit open");
                    return Err(Error::CircuitOpen {
                        host: key,
                        retry_in,
                    });
                }
            };
            let Some(in_flight) = host.acquire(timeout).await else {
                drop(admitted);
                return Err(self.saturated(&host));
            };
            if attempt > 1 {
                self.inner
                    .metrics
                    .retries
                    .get_or_create(&HostLabels { host: key.clone() })
                    .inc();
            }
            let started = Instant::now();
            let result = match tokio::time::timeout(timeout, self.exchange(req, &key, retry)).await
            {
                Ok(r) => r,
                Err(_) => Err(timed_out(&key, timeout, retry.idempotent())),
            };
            drop(in_flight);
            let elapsed = started.elapsed();
            self.observe(&key, elapsed);
            let (verdict, outcome, status) = match &result {
                Ok(res) => (
                    status_verdict(res.status),
                    status_outcome(res.status),
                    Some(res.status.as_u16()),
                ),
                Err(f) => (f.verdict, f.error.outcome(), None),
            };
            admitted.finish(verdict);
            self.inner.metrics.count(&key, outcome);
            tracing::debug!(host = %key, path = %path, status, ms = ms(elapsed), attempt, outcome, "outbound attempt");

            let jitter = retry::backoff(
                settings.backoff_base,
                settings.backoff_max,
                attempt.saturating_sub(1),
            );
            let delay = match &result {
                Ok(res) if retry::retry_status(res.status, retry) => {
                    retry::delay_for_answer(&res.headers, jitter, settings.backoff_max)
                }
                Err(f) if retry::retry_failure(f.failure, retry) => Some(jitter),
                _ => None,
            };
            match delay {
                Some(delay) if attempt < max_attempts => {
                    // Once the circuit is open, retrying stops: the next admission refuses.
                    if !host.is_open() {
                        tokio::time::sleep(delay).await;
                    }
                    attempt += 1;
                }
                _ => return result.map_err(|f| f.error),
            }
        }
    }

    /// One attempt: send, then read the body within the size limit.
    async fn exchange(
        &self,
        req: reqwest::Request,
        key: &str,
        retry: Retry,
    ) -> Result<Response, Failed> {
        let idempotent = retry.idempotent();
        let mut res = self
            .inner
            .http
            .execute(req)
            .await
            .map_err(|e| classify(e, key, idempotent))?;
        let status = res.status();
        let limit = self.inner.settings.max_response_bytes;
        let too_large = || Failed {
            error: Error::ResponseTooLarge {
                host: key.to_owned(),
                limit,
            },
            failure: Failure::Final,
            // The host answered; its status says how it is doing.
            verdict: status_verdict(status),
        };
        let announced = res.content_length().unwrap_or(0);
        if announced > u64::try_from(limit).unwrap_or(u64::MAX) {
            return Err(too_large());
        }
        let headers = std::mem::take(res.headers_mut());
        let mut body = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
        while let Some(chunk) = res.chunk().await.map_err(|e| Failed {
            error: Error::Body {
                host: key.to_owned(),
                source: e.without_url(),
                idempotent,
            },
            failure: Failure::AfterSending,
            verdict: Verdict::Failure,
        })? {
            if body.len().saturating_add(chunk.len()) > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            headers,
            body,
            host: key.to_owned(),
            idempotent,
        })
    }

    fn saturated(&self, host: &Host) -> Error {
        self.inner.metrics.count(&host.key, "saturated");
        tracing::debug!(host = %host.key, limit = host.limit, "outbound call refused: saturated");
        Error::Saturated {
            host: host.key.clone(),
            limit: host.limit,
        }
    }

    fn observe(&self, key: &str, elapsed: Duration) {
        self.inner
            .metrics
            .duration
            .get_or_create(&HostLabels {
                host: key.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }
}

/// A request being built; nothing is checked or sent before [`RequestBuilder::send`].
pub struct RequestBuilder {
    client: Client,
    inner: reqwest::RequestBuilder,
    /// The host, when the URL parsed, to count an invalid request against.
    host: Option<String>,
    timeout: Option<Duration>,
    retry: Option<Retry>,
}

impl fmt::Debug for RequestBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBuilder")
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

impl RequestBuilder {
    pub fn header<K, V>(mut self, key: K, value: V) -> Self
    where
        HeaderName: TryFrom<K>,
        <HeaderName as TryFrom<K>>::Error: Into<http::Error>,
        HeaderValue: TryFrom<V>,
        <HeaderValue as TryFrom<V>>::Error: Into<http::Error>,
    {
        self.inner = self.inner.header(key, value);
        self
    }

    pub fn bearer_auth(mut self, token: impl fmt::Display) -> Self {
        self.inner = self.inner.bearer_auth(token);
        self
    }

    pub fn basic_auth(mut self, user: impl fmt::Display, pass: Option<impl fmt::Display>) -> Self {
        self.inner = self.inner.basic_auth(user, pass);
        self
    }

    /// An `application/x-www-form-urlencoded` body.
    pub fn form<T: Serialize + ?Sized>(mut self, form: &T) -> Self {
        self.inner = self.inner.form(form);
        self
    }

    /// An `application/json` body.
    pub fn json<T: Serialize + ?Sized>(mut self, json: &T) -> Self {
        self.inner = self.inner.json(json);
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.inner = self.inner.body(body.into());
        self
    }

    /// Appends `query` to the URL's query string.
    pub fn query<T: Serialize + ?Sized>(mut self, query: &T) -> Self {
        self.inner = self.inner.query(query);
        self
    }

    /// The timeout of each attempt, instead of the settings'.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Whether the call may be repeated; by default `Safe` for GET, HEAD and OPTIONS and
    /// `Unsafe` otherwise.
    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Sends the request, retrying as its `Retry` allows. Any HTTP status is an `Ok` response
    /// (after the last attempt for retried statuses): use [`Response::error_for_status`] to
    /// turn 4xx and 5xx into errors.
    pub async fn send(self) -> Result<Response, Error> {
        let request = match self.inner.build() {
            Ok(r) => r,
            Err(e) => {
                if let Some(host) = &self.host {
                    self.client.inner.metrics.count(host, "invalid");
                }
                return Err(invalid(e));
            }
        };
        let retry = self
            .retry
            .unwrap_or_else(|| Retry::for_method(request.method()));
        self.client.run(request, retry, self.timeout).await
    }
}

/// Adds `x-request-id` from the current scope, unless the caller set one.
fn carry_request_id(request: &mut reqwest::Request) {
    if request.headers().contains_key(&REQUEST_ID) {
        return;
    }
    if let Some(value) = current_request_id().and_then(|id| HeaderValue::from_str(&id).ok()) {
        request.headers_mut().insert(REQUEST_ID, value);
    }
}

/// What a failed `reqwest` exchange means. The URL is dropped from the error: queries carry
/// tickets and tokens.
fn classify(e: reqwest::Error, key: &str, idempotent: bool) -> Failed {
    let host = key.to_owned();
    let e = e.without_url();
    if e.is_builder() {
        Failed {
            error: invalid(e),
            failure: Failure::Final,
            verdict: Verdict::Neutral,
        }
    } else if e.is_connect() {
        Failed {
            error: Error::Connect { host, source: e },
            failure: Failure::Connect,
            verdict: Verdict::Failure,
        }
    } else if e.is_body() || e.is_decode() {
        Failed {
            error: Error::Body {
                host,
                source: e,
                idempotent,
            },
            failure: Failure::AfterSending,
            verdict: Verdict::Failure,
        }
    } else {
        Failed {
            error: Error::Interrupted {
                host,
                source: e,
                idempotent,
            },
            failure: Failure::AfterSending,
            verdict: Verdict::Failure,
        }
    }
}

fn timed_out(key: &str, after: Duration, idempotent: bool) -> Failed {
    Failed {
        error: Error::Timeout {
            host: key.to_owned(),
            after,
            idempotent,
        },
        failure: Failure::AfterSending,
        verdict: Verdict::Failure,
    }
}

fn invalid(e: reqwest::Error) -> Error {
    Error::InvalidRequest {
        reason: chain(&e.without_url()),
    }
}

fn not_http() -> Error {
    Error::InvalidRequest {
        reason: "the URL is not http(s) or has no host".into(),
    }
}

/// Failures for the breaker: 5xx and 429 ("too many requests" is the host asking for less).
fn status_verdict(status: StatusCode) -> Verdict {
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        Verdict::Failure
    } else {
        Verdict::Success
    }
}

fn status_outcome(status: StatusCode) -> &'static str {
    if status.is_server_error() {
        "http_5xx"
    } else if status.is_client_error() {
        "http_4xx"
    } else {
        "success"
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
