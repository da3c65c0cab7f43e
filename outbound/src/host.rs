//! What the client keeps per host (`scheme://host:port`): the circuit breaker, the concurrency
//! permits, and the host's gauges.
//!
//! Hosts are never forgotten: they come from configuration and providers' metadata, so there are
//! few of them, and forgetting one would forget that its circuit is open.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

use crate::breaker::{Breaker, Circuit, Pass, Verdict};
use crate::metrics::{HostLabels, Metrics};

/// A host's state as reported by `Client::hosts`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct HostStatus {
    /// `scheme://host:port`
    pub host: String,
    /// The circuit as last decided. An open circuit whose cool-down is over still shows as
    /// open: it turns half-open when the next call arrives.
    pub circuit: Circuit,
    pub consecutive_failures: u32,
    pub in_flight: usize,
}

/// The key under which a URL's host is tracked (breaker, permits, metrics, errors, `hosts()`):
/// `scheme://host:port`, with the scheme's default port made explicit. `None` for URLs that do
/// not parse, are not http(s) or have no host.
pub fn host_of(url: &str) -> Option<String> {
    host_key(&Url::parse(url).ok()?)
}

pub(crate) fn host_key(url: &Url) -> Option<String> {
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let host = url.host_str()?;
    let port = url.port_or_known_default()?;
    Some(format!("{}://{host}:{port}", url.scheme()))
}

pub(crate) struct Host {
    pub(crate) key: String,
    breaker: Mutex<Breaker>,
    permits: Arc<Semaphore>,
    pub(crate) limit: usize,
    in_flight: AtomicUsize,
    circuit_gauge: Gauge,
    in_flight_gauge: Gauge,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section is a few assignments that leave the state consistent, even if a
    // holder panicked.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Host {
    /// Lets a call through the breaker, or says how long until the circuit may let one pass.
    pub(crate) fn admit(self: &Arc<Self>) -> Result<Admitted, Duration> {
        let pass = self.change(|b| b.admit(Instant::now()))?;
        Ok(Admitted {
            host: self.clone(),
            pass,
            done: false,
        })
    }

    /// Whether the circuit refuses calls now; it does not start a half-open trial.
    pub(crate) fn is_open(&self) -> bool {
        lock(&self.breaker).refuses(Instant::now())
    }

    /// Lets a health probe through whatever the circuit.
    pub(crate) fn admit_probe(self: &Arc<Self>) -> Admitted {
        Admitted {
            host: self.clone(),
            pass: Pass::Probe,
            done: false,
        }
    }

    /// Waits for a concurrency permit, at most `wait`.
    pub(crate) async fn acquire(self: &Arc<Self>, wait: Duration) -> Option<InFlight> {
        let permit = tokio::time::timeout(wait, self.permits.clone().acquire_owned())
            .await
            .ok()?
            .ok()?;
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.in_flight_gauge.inc();
        Some(InFlight {
            host: self.clone(),
            _permit: permit,
        })
    }

    pub(crate) fn status(&self) -> HostStatus {
        let b = lock(&self.breaker);
        HostStatus {
            host: self.key.clone(),
            circuit: b.circuit(),
            consecutive_failures: b.consecutive_failures(),
            in_flight: self.in_flight.load(Ordering::Relaxed),
        }
    }

    fn record(&self, pass: Pass, verdict: Verdict) {
        self.change(|b| b.record(pass, verdict, Instant::now()));
    }

    /// Applies `f` to the breaker, then publishes and logs a change of circuit.
    fn change<T>(&self, f: impl FnOnce(&mut Breaker) -> T) -> T {
        let (out, before, after, failures) = {
            let mut b = lock(&self.breaker);
            let before = b.circuit();
            let out = f(&mut b);
            (out, before, b.circuit(), b.consecutive_failures())
        };
        if before != after {
            self.circuit_gauge.set(after.gauge());
            match after {
                Circuit::Open => tracing::warn!(
                    host = %self.key,
                    consecutive_failures = failures,
                    "outbound circuit opened: calls to this host fail fast"
                ),
                Circuit::Closed => tracing::warn!(host = %self.key, "outbound circuit closed"),
                Circuit::HalfOpen => {
                    tracing::info!(host = %self.key, "outbound circuit half-open: one trial call")
                }
            }
        }
        out
    }
}

/// A call let through the breaker. Its verdict must be given with [`Admitted::finish`]; a call
/// dropped before that (cancelled) counts as neutral, so that an abandoned half-open trial
/// hands over to the next call.
pub(crate) struct Admitted {
    host: Arc<Host>,
    pass: Pass,
    done: bool,
}

impl Admitted {
    pub(crate) fn finish(mut self, verdict: Verdict) {
        self.done = true;
        self.host.record(self.pass, verdict);
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if !self.done {
            self.host.record(self.pass, Verdict::Neutral);
        }
    }
}

/// A concurrency permit; dropping it ends the call's time in flight.
pub(crate) struct InFlight {
    host: Arc<Host>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.host.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.host.in_flight_gauge.dec();
    }
}

/// All hosts the client has called.
pub(crate) struct Hosts {
    map: Mutex<HashMap<String, Arc<Host>>>,
    threshold: u32,
    cool_down: Duration,
    limit: usize,
    metrics: Metrics,
}

impl Hosts {
    pub(crate) fn new(threshold: u32, cool_down: Duration, limit: usize, metrics: Metrics) -> Self {
        Hosts {
            map: Mutex::new(HashMap::new()),
            threshold,
            cool_down,
            limit,
            metrics,
        }
    }

    pub(crate) fn get(&self, key: &str) -> Arc<Host> {
        let mut map = lock(&self.map);
        if let Some(h) = map.get(key) {
            return h.clone();
        }
        let labels = HostLabels {
            host: key.to_owned(),
        };
        let circuit_gauge = self.metrics.circuit.get_or_create(&labels).clone();
        circuit_gauge.set(Circuit::Closed.gauge());
        let host = Arc::new(Host {
            key: key.to_owned(),
            breaker: Mutex::new(Breaker::new(self.threshold, self.cool_down)),
            permits: Arc::new(Semaphore::new(self.limit)),
            limit: self.limit,
            in_flight: AtomicUsize::new(0),
            circuit_gauge,
            in_flight_gauge: self.metrics.in_flight.get_or_create(&labels).clone(),
        });
        map.insert(key.to_owned(), host.clone());
        host
    }

    pub(crate) fn statuses(&self) -> Vec<HostStatus> {
        let hosts: Vec<Arc<Host>> = lock(&self.map).values().cloned().collect();
        let mut out: Vec<HostStatus> = hosts.iter().map(|h| h.status()).collect();
        out.sort_by(|a, b| a.host.cmp(&b.host));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_keys_name_scheme_host_and_port_only() {
        let key = |u: &str| host_key(&Url::parse(u).unwrap());
        assert_eq!(
            key("https://a.example/p?ticket=SECRET").as_deref(),
            Some("https://a.example:443")
        );
        assert_eq!(
            key("http://a.example/").as_deref(),
            Some("http://a.example:80")
        );
        assert_eq!(
            key("http://user:pw@127.0.0.1:8080/x").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(key("http://[::1]:9/").as_deref(), Some("http://[::1]:9"));
        assert_eq!(key("ftp://a.example/"), None);
        assert_eq!(key("mailto:x@a.example"), None);
        assert_eq!(
            host_of("HTTPS://A.example:443/x").as_deref(),
            Some("https://a.example:443")
        );
        assert_eq!(host_of("not a url"), None);
    }

    #[tokio::test]
    async fn permits_bound_the_calls_in_flight() {
        let hosts = Hosts::new(5, Duration::from_secs(1), 1, Metrics::new());
        let h = hosts.get("http://a:80");
        let first = h.acquire(Duration::from_millis(10)).await;
        assert!(first.is_some());
        assert_eq!(hosts.statuses()[0].in_flight, 1);
        assert!(h.acquire(Duration::from_millis(10)).await.is_none());
        drop(first);
        assert_eq!(hosts.statuses()[0].in_flight, 0);
        assert!(h.acquire(Duration::from_millis(10)).await.is_some());
    }

    #[test]
    fn a_dropped_trial_hands_over() {
        let hosts = Hosts::new(1, Duration::ZERO, 1, Metrics::new());
        let h = hosts.get("http://a:80");
        h.admit().unwrap().finish(Verdict::Failure);
        assert_eq!(hosts.statuses()[0].circuit, Circuit::Open);
        let trial = h.admit().unwrap();
        assert!(h.admit().is_err());
        drop(trial);
        assert!(h.admit().is_ok());
    }
}
