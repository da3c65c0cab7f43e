//! The exchange's metrics: messages received and delivery attempts by partner and outcome,
//! registered in the hub's registry at assembly.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ExchangeLabels {
    pub partner: String,
    pub outcome: &'static str,
}

#[derive(Clone, Default)]
pub struct ExchangeMetrics {
    pub messages: Family<ExchangeLabels, Counter>,
    pub deliveries: Family<ExchangeLabels, Counter>,
}

impl std::fmt::Debug for ExchangeMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExchangeMetrics")
    }
}

impl ExchangeMetrics {
    /// Creates the families and registers them.
    pub fn register(registry: &mut Registry) -> Self {
        let m = ExchangeMetrics::default();
        registry.register(
            "exchange_messages",
            "Messages received from partners by partner and outcome",
            m.messages.clone(),
        );
        registry.register(
            "exchange_deliveries",
            "Delivery attempts of translated messages by partner and outcome",
            m.deliveries.clone(),
        );
        m
    }

    pub fn exchange(&self, partner: &str, outcome: &'static str) {
        self.messages
            .get_or_create(&ExchangeLabels {
                partner: partner.to_owned(),
                outcome,
            })
            .inc();
    }

    pub fn delivery(&self, partner: &str, outcome: &'static str) {
        self.deliveries
            .get_or_create(&ExchangeLabels {
                partner: partner.to_owned(),
                outcome,
            })
            .inc();
    }
}
