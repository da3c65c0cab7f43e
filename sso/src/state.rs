//! What the sign-in routes need: the platform and the federation service.

use std::sync::Arc;

use axum::extract::FromRef;
use platform::Platform;

use crate::federation::Federation;

/// The state of the sign-in routes. Cheap to clone.
#[derive(Clone, FromRef)]
pub struct SsoState {
    pub platform: Platform,
    pub federation: Arc<Federation>,
}
