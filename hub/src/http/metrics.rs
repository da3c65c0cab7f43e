//! Prometheus metrics of one hub instance. The registry is part of the application state (no
//! global recorder), so that several hubs in one test process keep separate counts.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The route pattern (`/api/admin/admins/{id}`), or `unmatched`: never the raw path, which
    /// would let clients create unbounded series.
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabels {
    pub pool: String,
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConnectorLabels {
    pub connector: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JumpLabels {
    pub connector: String,
    /// `redirected`, `sign_in`, `interstitial` or `unavailable`.
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ExchangeLabels {
    pub partner: String,
    /// `accepted`, `duplicate`, `rejected` or `unauthenticated` (intake); `delivered`,
    /// `retry` or `dead` (delivery).
    pub outcome: &'static str,
}

fn latency_histogram() -> Histogram {
    // 100 µs to ~1.6 s.
    Histogram::new(exponential_buckets(0.000_1, 2.0, 15))
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    pub db_connections: Family<PoolLabels, Gauge>,
    pub audit_chain_length: Gauge,
    pub connector_up: Family<ConnectorLabels, Gauge>,
    pub connector_latency: Family<ConnectorLabels, Gauge<f64, AtomicU64>>,
    pub connector_jumps: Family<JumpLabels, Counter>,
    pub exchange_messages: Family<ExchangeLabels, Counter>,
    pub exchange_deliveries: Family<ExchangeLabels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("hub");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by method, route and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from request to response headers",
            latency.clone(),
        );
        let db_connections = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_connections",
            "Database pool connections by pool and state (idle, busy)",
            db_connections.clone(),
        );
        let audit_chain_length = Gauge::default();
        registry.register(
            "audit_chain_length",
            "Position of the newest sealed audit record",
            audit_chain_length.clone(),
        );
        let connector_up = Family::<ConnectorLabels, Gauge>::default();
        registry.register(
            "connector_up",
            "Connector health: 1 reachable at the last probe, 0 unreachable, -1 not probed",
            connector_up.clone(),
        );
        let connector_latency = Family::<ConnectorLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "connector_probe_latency_seconds",
            "Duration of the last health probe of each connector",
            connector_latency.clone(),
        );
        let connector_jumps = Family::<JumpLabels, Counter>::default();
        registry.register(
            "connector_jumps",
            "Requests to /go/{connector} by connector and outcome",
            connector_jumps.clone(),
        );
        let exchange_messages = Family::<ExchangeLabels, Counter>::default();
        registry.register(
            "exchange_messages",
            "Messages received from partners by partner and outcome",
            exchange_messages.clone(),
        );
        let exchange_deliveries = Family::<ExchangeLabels, Counter>::default();
        registry.register(
            "exchange_deliveries",
            "Delivery attempts of translated messages by partner and outcome",
            exchange_deliveries.clone(),
        );
        let build = Family::<Vec<(String, String)>, Gauge>::default();
        build
            .get_or_create(&vec![(
                "version".to_owned(),
                env!("CARGO_PKG_VERSION").to_owned(),
            )])
            .set(1);
        registry.register("build_info", "Version of the running hub", build);
        Metrics {
            registry,
            requests,
            latency,
            db_connections,
            audit_chain_length,
            connector_up,
            connector_latency,
            connector_jumps,
            exchange_messages,
            exchange_deliveries,
        }
    }

    pub fn exchange(&self, partner: &str, outcome: &'static str) {
        self.exchange_messages
            .get_or_create(&ExchangeLabels {
                partner: partner.to_owned(),
                outcome,
            })
            .inc();
    }

    pub fn delivery(&self, partner: &str, outcome: &'static str) {
        self.exchange_deliveries
            .get_or_create(&ExchangeLabels {
                partner: partner.to_owned(),
                outcome,
            })
            .inc();
    }

    /// Publishes a connector's health (`up`: 1, 0 or -1 for not probed).
    pub fn connector_up(&self, code: &str, up: i64, health: Option<&connectors::Health>) {
        let labels = ConnectorLabels {
            connector: code.to_owned(),
        };
        self.connector_up.get_or_create(&labels).set(up);
        if let Some(ms) = health.and_then(|h| h.latency_ms) {
            self.connector_latency
                .get_or_create(&labels)
                .set(ms as f64 / 1000.0);
        }
    }

    pub fn jump(&self, code: &str, outcome: &'static str) {
        self.connector_jumps
            .get_or_create(&JumpLabels {
                connector: code.to_owned(),
                outcome,
            })
            .inc();
    }

    /// Adds a collector family (connectors, exchange) to this registry.
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
