//! The connectors' metrics: health per connector and jumps by outcome, registered in the hub's
//! registry at assembly.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConnectorLabels {
    pub connector: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JumpLabels {
    pub connector: String,
    pub outcome: &'static str,
}

#[derive(Clone, Default)]
pub struct ConnectorMetrics {
    pub up: Family<ConnectorLabels, Gauge>,
    pub latency: Family<ConnectorLabels, Gauge<f64, AtomicU64>>,
    pub jumps: Family<JumpLabels, Counter>,
}

impl std::fmt::Debug for ConnectorMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnectorMetrics")
    }
}

impl ConnectorMetrics {
    /// Creates the families and registers them.
    pub fn register(registry: &mut Registry) -> Self {
        let m = ConnectorMetrics::default();
        registry.register(
            "connector_up",
            "Connector health: 1 reachable at the last probe, 0 unreachable, -1 not probed",
            m.up.clone(),
        );
        registry.register(
            "connector_probe_latency_seconds",
            "Duration of the last health probe of each connector",
            m.latency.clone(),
        );
        registry.register(
            "connector_jumps",
            "Requests to /go/{connector} by connector and outcome",
            m.jumps.clone(),
        );
        m
    }

    /// Publishes a connector's health (`up`: 1, 0 or -1 for not probed).
    pub fn connector_up(&self, code: &str, up: i64, health: Option<&crate::status::Health>) {
        let labels = ConnectorLabels {
            connector: code.to_owned(),
        };
        self.up.get_or_create(&labels).set(up);
        if let Some(ms) = health.and_then(|h| h.latency_ms) {
            self.latency.get_or_create(&labels).set(ms as f64 / 1000.0);
        }
    }

    pub fn jump(&self, code: &str, outcome: &'static str) {
        self.jumps
            .get_or_create(&JumpLabels {
                connector: code.to_owned(),
                outcome,
            })
            .inc();
    }
}
