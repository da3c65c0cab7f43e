//! What the exchange routes need: the platform and the exchange service.

use std::sync::Arc;

use axum::extract::FromRef;
use platform::Platform;

use crate::service::Exchange;

/// The state of the exchange routes. Cheap to clone.
#[derive(Clone, FromRef)]
pub struct ExchangeState {
    pub platform: Platform,
    pub exchange: Arc<Exchange>,
}
