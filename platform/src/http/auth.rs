//! Who is asking: the authenticated administrator ([`AdminAuth`]: console session cookie or
//! `Authorization: Bearer` token) and the signed-in user ([`UserSession`]: the session cookie).
//! Extracting either answers 401 when there is no valid credential. Both work in any router
//! whose state provides the [`Platform`].

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use http::request::Parts;

use crate::admin::{AdminError, Principal, SESSION_COOKIE as ADMIN_COOKIE};
use crate::context::RequestContext;
use crate::http::cookie::cookie;
use crate::http::problem::{ApiError, ErrorCode};
use crate::sessions::{ActiveSession, SESSION_COOKIE};
use crate::state::Platform;

/// The authenticated administrator.
#[derive(Debug)]
pub struct AdminAuth(pub Principal);

impl<S> FromRequestParts<S> for AdminAuth
where
    Platform: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let platform = Platform::from_ref(state);
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
            let ctx = RequestContext::from_parts(parts, &platform.config.server.trusted_proxies);
            return Ok(AdminAuth(platform.admins.token(token.trim(), &ctx).await?));
        }
        match cookie(&parts.headers, ADMIN_COOKIE) {
            Some(v) => Ok(AdminAuth(platform.admins.session(v).await?)),
            None => Err(AdminError::Unauthenticated.into()),
        }
    }
}

/// The session of the request's `__Host-hub_session` cookie; 401 without a live one.
pub struct UserSession {
    pub session: Arc<ActiveSession>,
    pub cookie: String,
}

impl<S> FromRequestParts<S> for UserSession
where
    Platform: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let platform = Platform::from_ref(state);
        let cookie = cookie(&parts.headers, SESSION_COOKIE)
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Unauthenticated,
                    "sign in first: /sso/{provider}/login",
                )
            })?
            .to_owned();
        let session = platform.sessions.current(&cookie).await?;
        Ok(UserSession { session, cookie })
    }
}
