//! What the portal's pages need: the platform, the sign-in federation (the providers to offer)
//! and the connector registry (网上办事).

use std::sync::Arc;

use axum::extract::FromRef;
use connectors::Connectors;
use platform::Platform;
use sso::federation::Federation;

use crate::config::PortalConfig;

/// The state of the portal's routes. Cheap to clone.
#[derive(Clone, FromRef)]
pub struct PortalState {
    pub platform: Platform,
    pub federation: Arc<Federation>,
    pub connectors: Arc<Connectors>,
    pub config: Arc<PortalConfig>,
}
