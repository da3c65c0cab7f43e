//! The signed-in user's own identity links and sessions (`/api/me` itself is the portal's).

use axum::extract::State;
use http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::context::RequestContext;
use crate::http::auth::UserSession;
use crate::http::extract::PathParams;
use crate::http::problem::{ApiError, ProblemDocument};
use crate::sessions::{ActiveSession, SessionView};
use crate::state::Platform;

/// The user's own identity links and sessions. `/api/me` itself is the portal's: it knows the
/// organisation the account belongs to.
pub fn routes() -> OpenApiRouter<Platform> {
    OpenApiRouter::new()
        .routes(routes!(unlink_identity))
        .routes(routes!(list_sessions))
        .routes(routes!(revoke_session))
}

/// Removes one of the user's identity links (not the last one).
#[utoipa::path(delete, path = "/api/me/identities/{provider}/{subject}", tag = "account",
    params(("provider" = String, Path), ("subject" = String, Path)),
    responses((status = 204), (status = 409, description = "account.last_identity", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn unlink_identity(
    State(state): State<Platform>,
    ctx: RequestContext,
    user: UserSession,
    PathParams((provider, subject)): PathParams<(String, String)>,
) -> Result<StatusCode, ApiError> {
    unlink_own_identity(&state, &user.session, &provider, &subject, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The user's own sessions, newest first (the current one among them).
#[utoipa::path(get, path = "/api/me/sessions", tag = "account",
    responses((status = 200, body = [SessionView]), (status = 401, description = "auth.unauthenticated or auth.session_expired", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn list_sessions(
    State(state): State<Platform>,
    user: UserSession,
) -> Result<axum::Json<Vec<SessionView>>, ApiError> {
    Ok(axum::Json(
        state
            .sessions
            .list_for_account(&user.session.account.id)
            .await?,
    ))
}

/// Ends one of the user's own sessions (signing out another device).
#[utoipa::path(delete, path = "/api/me/sessions/{handle}", tag = "account",
    params(("handle" = String, Path)),
    responses((status = 204), (status = 404, description = "account.session_not_found", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn revoke_session(
    State(state): State<Platform>,
    ctx: RequestContext,
    user: UserSession,
    PathParams(handle): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    revoke_own_session(&state, &user.session, &handle, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes one of the signed-in account's identity links (never the last), recorded with the
/// account as the actor (for a company, the agent who acted): what the JSON endpoint and the
/// user centre's button both do.
pub async fn unlink_own_identity(
    state: &Platform,
    session: &ActiveSession,
    provider: &str,
    subject: &str,
    ctx: &RequestContext,
) -> Result<(), ApiError> {
    let account = &session.account.id;
    state
        .accounts
        .unlink(account, provider, subject, session.actor(), ctx)
        .await?;
    state.sessions.refresh_account(account);
    Ok(())
}

/// Ends one session of the signed-in account, by its handle, and records it: what the JSON
/// endpoint and the user centre's button both do. Another account's session is "not found".
pub async fn revoke_own_session(
    state: &Platform,
    session: &ActiveSession,
    handle: &str,
    ctx: &RequestContext,
) -> Result<(), ApiError> {
    crate::account_admin::end_session(state, session.actor(), &session.account.id, handle, ctx)
        .await
        .map_err(ApiError::from)
}
