//! Per-host metrics. The families live in the client and are registered into the caller's
//! registry on request (no global recorder), under the prefix `outbound`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct HostLabels {
    pub(crate) host: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct OutcomeLabels {
    pub(crate) host: String,
    /// `success`, `http_4xx`, `http_5xx`, `timeout`, `connect`, `circuit_open`, `saturated`,
    /// `too_large`, `invalid`.
    pub(crate) outcome: &'static str,
}

fn duration_histogram() -> Histogram {
    // 5 ms to ~41 s.
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

#[derive(Clone)]
pub(crate) struct Metrics {
    pub(crate) requests: Family<OutcomeLabels, Counter>,
    pub(crate) duration: Family<HostLabels, Histogram, fn() -> Histogram>,
    pub(crate) retries: Family<HostLabels, Counter>,
    pub(crate) circuit: Family<HostLabels, Gauge>,
    pub(crate) in_flight: Family<HostLabels, Gauge>,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        Metrics {
            requests: Family::default(),
            duration: Family::new_with_constructor(duration_histogram),
            retries: Family::default(),
            circuit: Family::default(),
            in_flight: Family::default(),
        }
    }

    pub(crate) fn register(&self, registry: &mut Registry) {
        let r = registry.sub_registry_with_prefix("outbound");
        r.register(
            "requests",
            "Outbound attempts and refused calls by host and outcome",
            self.requests.clone(),
        );
        r.register(
            "request_duration_seconds",
            "Duration of outbound attempts that reached the network, by host",
            self.duration.clone(),
        );
        r.register(
            "retries",
            "Outbound attempts that were retries, by host",
            self.retries.clone(),
        );
        r.register(
            "circuit_state",
            "Circuit of each host: 0 closed, 1 half-open, 2 open",
            self.circuit.clone(),
        );
        r.register(
            "in_flight",
            "Outbound calls in flight by host",
            self.in_flight.clone(),
        );
    }

    pub(crate) fn count(&self, host: &str, outcome: &'static str) {
        self.requests
            .get_or_create(&OutcomeLabels {
                host: host.to_owned(),
                outcome,
            })
            .inc();
    }
}
