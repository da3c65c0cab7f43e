//! Tokens the hub obtains from partners' gateways (`get-token`, then `Authorization: Basic`):
//! cached by partner and settings, asked for one at a time, and forgotten only when the partner
//! refuses the one it was given.

use std::collections::HashMap;

/// Gateway tokens obtained from partners' `get-token` endpoints, by partner and settings:
/// (partner, token, expiry ms); and the turn to ask a gateway for one.
#[derive(Default)]
pub(crate) struct GatewayTokens {
    tokens: std::sync::Mutex<HashMap<String, (String, String, i64)>>,
    pub(crate) turn: tokio::sync::Mutex<()>,
}

/// How long a gateway token is used when the gateway does not say.
pub(crate) const GATEWAY_TOKEN_TTL_MS: i64 = 20 * 60 * 1000;

/// Why the hub cannot authenticate to a partner now.
pub(crate) struct CredentialsUnavailable {
    pub reason: String,
    /// Nothing was asked of the gateway (its circuit is open or its calls are saturated): the
    /// attempt is not used up.
    pub deferrable: bool,
}

impl GatewayTokens {
    pub(crate) fn get(&self, key: &str) -> Option<(String, i64)> {
        self.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(key)
            .map(|(_, t, until)| (t.clone(), *until))
    }

    pub(crate) fn put(&self, key: &str, partner: &str, token: String, until: i64) {
        self.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key.to_owned(), (partner.to_owned(), token, until));
    }

    pub(crate) fn forget(&self, partner: &str, refused: &str) {
        self.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|_, (p, t, _)| !(p == partner && t == refused));
    }
}
