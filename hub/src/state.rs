//! The state the routes are built from: the platform and each feature's service, and the state
//! each feature's routes take.

use std::sync::Arc;

use connectors::Connectors;
use exchange::Exchange;
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

    pub fn portal(&self) -> portal::PortalState {
        portal::PortalState {
            platform: self.platform.clone(),
            federation: self.federation.clone(),
            connectors: self.connectors.clone(),
            config: Arc::new(self.config.portal.clone()),
        }
    }
}
