//! The signed-in user: `/api/me` and the user's own identity links.

use axum::extract::State;
use http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::IdentityView;
use crate::context::RequestContext;
use crate::http::auth::UserSession;
use crate::http::extract::PathParams;
use crate::http::problem::{ApiError, ProblemDocument};
use crate::sessions::csrf_token;
use crate::state::Platform;

pub fn routes() -> OpenApiRouter<Platform> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(unlink_identity))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Agent {
    pub display_name: String,
    pub id_masked: Option<String>,
}

/// The signed-in account.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Me {
    pub account_id: String,
    /// `personal` or `legal_person`.
    pub kind: String,
    pub display_name: String,
    /// Certificate number (persons) or credit code (legal persons), masked.
    pub id_masked: Option<String>,
    /// Legal persons: the unified social credit code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uscc: Option<String>,
    /// Legal persons: the natural person acting for the company (经办人).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<Agent>,
    pub roles: Vec<String>,
    pub identities: Vec<IdentityView>,
    /// The provider of this session.
    pub provider: String,
    /// Send as `X-CSRF-Token` (or form field `csrf`) with `POST /sso/logout`.
    pub csrf_token: String,
}

/// The signed-in user, 401 otherwise. Certificate numbers are never returned in clear.
#[utoipa::path(get, path = "/api/me", tag = "account",
    responses((status = 200, body = Me), (status = 401, description = "auth.unauthenticated or auth.session_expired", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn me(State(state): State<Platform>, user: UserSession) -> axum::Json<Me> {
    let s = &user.session;
    let legal = s.account.kind == "legal_person";
    axum::Json(Me {
        account_id: s.account.id.clone(),
        kind: s.account.kind.clone(),
        display_name: s.account.display_name.clone(),
        id_masked: s.account.key_masked.clone(),
        uscc: s.uscc.clone(),
        agent: s.agent_name.as_ref().map(|n| Agent {
            display_name: n.clone(),
            id_masked: s.agent_masked.clone(),
        }),
        roles: vec![if legal { "enterprise" } else { "individual" }.to_owned()],
        identities: s.identities.clone(),
        provider: s.provider.clone(),
        csrf_token: csrf_token(&state.keys, &user.cookie),
    })
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
    let a = &user.session.account;
    // For a company, the record names the agent (经办人) who acted, as every record does.
    let actor = user.session.actor();
    state
        .accounts
        .unlink(&a.id, &provider, &subject, actor, &ctx)
        .await?;
    state.sessions.refresh_account(&a.id);
    Ok(StatusCode::NO_CONTENT)
}
