//! What the connector routes need: the platform and the registry.

use std::sync::Arc;

use axum::extract::FromRef;
use platform::Platform;

use crate::registry::Connectors;

/// The state of the connector routes. Cheap to clone.
#[derive(Clone, FromRef)]
pub struct ConnectorsState {
    pub platform: Platform,
    pub connectors: Arc<Connectors>,
}
