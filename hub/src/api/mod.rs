//! Route handlers of the JSON interface, grouped by concern. Each group returns an
//! `OpenApiRouter` so that its routes and their OpenAPI description are declared together.

pub mod accounts;
pub mod admin;
pub mod audit;
pub mod connectors;
pub mod exchange;
pub mod me;
pub mod ops;
pub mod sso;

use axum::extract::FromRequestParts;
use http::request::Parts;

use crate::admin::{AdminError, Principal, SESSION_COOKIE};
use crate::app::AppState;
use crate::context::RequestContext;
use crate::http::problem::ApiError;

/// The authenticated administrator (console session cookie or `Authorization: Bearer` token).
/// Extracting it answers 401 when neither is present or valid.
#[derive(Debug)]
pub struct AdminAuth(pub Principal);

/// The raw value of a cookie in the request, if present.
pub fn cookie<'a>(parts: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    parts
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let auth = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if let Some(auth) = auth {
            let Some(token) = auth
                .strip_prefix("Bearer ")
                .or_else(|| auth.strip_prefix("bearer "))
            else {
                return Err(AdminError::TokenInvalid.into());
            };
            let ctx = RequestContext::from_request_parts(parts, state)
                .await
                .unwrap_or_default();
            return Ok(AdminAuth(state.admins.token(token.trim(), &ctx).await?));
        }
        match cookie(&parts.headers, SESSION_COOKIE) {
            Some(v) => Ok(AdminAuth(state.admins.session(v).await?)),
            None => Err(AdminError::Unauthenticated.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_a_cookie_among_several() {
        let mut h = http::HeaderMap::new();
        h.append(
            http::header::COOKIE,
            "a=1; __Host-hub_admin=xyz; b=2".parse().unwrap(),
        );
        assert_eq!(super::cookie(&h, "__Host-hub_admin"), Some("xyz"));
        assert_eq!(super::cookie(&h, "c"), None);
    }
}
