//! The state the routes are built from: the platform and each feature's service, and the state
//! each feature's routes take.

use std::sync::Arc;

use connectors::Connectors;
use exchange::Exchange;
use orgs::Orgs;
use platform::Platform;
use sso::federation::Federation;

use crate::config::Config;

/// Everything the routes need: the platform and each feature's service. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub platform: Platform,
    pub federation: Arc<Federation>,
    pub connectors: Arc<Connectors>,
    pub exchange: Arc<Exchange>,
    pub orgs: Arc<Orgs>,
    /// Content: articles, search, sensitive words, statistics.
    pub cms: Arc<cms::Cms>,
    pub market: Arc<market::Market>,
    /// The portal's state (one per hub: it keeps the home page's figures for a few seconds).
    pub portal: portal::PortalState,
}

impl AppState {
    pub fn sso(&self) -> sso::SsoState {
        sso::SsoState {
            platform: self.platform.clone(),
            federation: self.federation.clone(),
        }
    }

    pub fn connector_state(&self) -> connectors::ConnectorsState {
        connectors::ConnectorsState {
            platform: self.platform.clone(),
            connectors: self.connectors.clone(),
        }
    }

    pub fn exchange_state(&self) -> exchange::ExchangeState {
        exchange::ExchangeState {
            platform: self.platform.clone(),
            exchange: self.exchange.clone(),
        }
    }
}
