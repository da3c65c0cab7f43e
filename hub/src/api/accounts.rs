//! Accounts, their identity links and sessions, for security administrators; the configured
//! identity providers, for system administrators.

use axum::extract::State;
use http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AdminAuth;
use crate::accounts::AccountView;
use crate::admin::Permission;
use crate::app::AppState;
use crate::config::LinkPolicy;
use crate::context::RequestContext;
use crate::federation::FlowError;
use crate::http::extract::{JsonBody, PathParams, QueryParams};
use crate::http::problem::{ApiError, ErrorCode, ProblemDocument};
use crate::sessions::SessionView;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_accounts))
        .routes(routes!(get_account, update_account))
        .routes(routes!(unlink))
        .routes(routes!(list_sessions, revoke_sessions))
        .routes(routes!(revoke_session))
        .routes(routes!(list_providers))
        .routes(routes!(get_provider))
}

fn account_error(e: crate::accounts::AccountError) -> ApiError {
    ApiError::from(FlowError::Account(e))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccountQuery {
    /// Find the account of this certificate number (exact; looked up by its blind index, the
    /// number is not stored in clear).
    pub certificate: Option<String>,
    /// Certificate type code for `certificate` (default `111`, resident ID card).
    pub cert_type: Option<String>,
    /// Or of this unified social credit code.
    pub uscc: Option<String>,
    pub limit: Option<u32>,
}

/// Accounts, newest first, or the one of a certificate number or credit code.
#[utoipa::path(get, path = "/api/admin/accounts", tag = "accounts",
    security(("admin_session" = []), ("bearer" = [])), params(AccountQuery),
    responses((status = 200, body = Vec<AccountView>), (status = 403, body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn list_accounts(
    State(state): State<AppState>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    QueryParams(q): QueryParams<AccountQuery>,
) -> Result<axum::Json<Vec<AccountView>>, ApiError> {
    state
        .admins
        .authorize(&p, Permission::AccountsManage, &ctx)
        .await?;
    let index = match (&q.certificate, &q.uscc) {
        (Some(n), _) => {
            let kind = sso::CertType::from_code(q.cert_type.as_deref().unwrap_or("111"));
            let cert = sso::Certificate::new(kind, n).map_err(|e| {
                ApiError::new(ErrorCode::InvalidQuery, format!("certificate: {e}"))
                    .field("certificate", e.to_string())
            })?;
            Some(state.accounts.certificate_index(&cert))
        }
        (None, Some(u)) => {
            let uscc = sso::Uscc::parse(u).map_err(|e| {
                ApiError::new(ErrorCode::InvalidQuery, format!("uscc: {e}"))
                    .field("uscc", e.to_string())
            })?;
            Some(
                state
                    .keys
                    .index
                    .tag(&[format!("uscc:{}", uscc.as_str()).as_bytes()])
                    .to_vec(),
            )
        }
        (None, None) => None,
    };
    Ok(axum::Json(
        state
            .accounts
            .list(index, q.limit.unwrap_or(50))
            .await
            .map_err(account_error)?,
    ))
}

#[utoipa::path(get, path = "/api/admin/accounts/{id}", tag = "accounts",
    security(("admin_session" = []), ("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = AccountView), (status = 404, body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn get_account(
    State(state): State<AppState>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<AccountView>, ApiError> {
    state
        .admins
        .authorize(&p, Permission::AccountsManage, &ctx)
        .await?;
    Ok(axum::Json(
        state.accounts.view(&id).await.map_err(account_error)?,
    ))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountPatch {
    /// `active` or `disabled`. Disabling ends the account's sessions.
    pub status: String,
}

#[utoipa::path(patch, path = "/api/admin/accounts/{id}", tag = "accounts",
    security(("admin_session" = []), ("bearer" = [])), params(("id" = String, Path)), request_body = AccountPatch,
    responses((status = 200, body = AccountView), (status = 422, body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn update_account(
    State(state): State<AppState>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    PathParams(id): PathParams<String>,
    JsonBody(patch): JsonBody<AccountPatch>,
) -> Result<axum::Json<AccountView>, ApiError> {
    state
        .admins
        .authorize(&p, Permission::AccountsManage, &ctx)
        .await?;
    if !matches!(patch.status.as_str(), "active" | "disabled") {
        return Err(ApiError::new(
            ErrorCode::ValidationFailed,
            "status must be `active` or `disabled`",
        )
        .field("status", "must be `active` or `disabled`"));
    }
    let view = state
        .accounts
        .set_status(&id, &patch.status, p.actor(), &ctx)
        .await
        .map_err(account_error)?;
    if patch.status == "disabled" {
        state.sessions.end_for_account(&id).await?;
    }
    state.sessions.refresh_account(&id);
    Ok(axum::Json(view))
}

/// Removes an identity link of an account (audited).
#[utoipa::path(delete, path = "/api/admin/accounts/{id}/identities/{provider}/{subject}", tag = "accounts",
    security(("admin_session" = []), ("bearer" = [])),
    params(("id" = String, Path), ("provider" = String, Path), ("subject" = String, Path)),
    responses((status = 204), (status = 409, description = "account.last_identity", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn unlink(
    State(state): State<AppState>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    PathParams((id, provider, subject)): PathParams<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .admins
        .authorize(&p, Permission::AccountsManage, &ctx)
        .await?;
    state
        .accounts
        .unlink(&id, &provider, &subject, p.actor(), &ctx)
        .await
        .map_err(account_error)?;
    state.sessions.refresh_account(&id);
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/admin/accounts/{id}/sessions", tag = "accounts",
    security(("admin_session" = []), ("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Vec<SessionView>)))]
pub async fn list_sessions(
    State(state): State<AppState>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<Vec<SessionView>>, ApiError> {
    state
        .admins
        .authorize(&p, Permission::SessionsManage, &ctx)
        .await?;
    state.accounts.row(&id).await.map_err(account_error)?;
    Ok(axum::Json(state.sessions.list_for_account(&id).await?))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Ended {
    pub sessions: u64,
}

/// Ends every session of an account.
#[utoipa::path(delete, path = "/api/admin/accounts/{id}/sessions", tag = "accounts",
    security(("admin_session" = []), ("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Ended)))]
pub async fn revoke_sessions(
    State(state): State<AppState>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<Ended>, ApiError> {
    state
        .admins
        .authorize(&p, Permission::SessionsManage, &ctx)
        .await?;
    state.accounts.row(&id).await.map_err(account_error)?;
    let n = state.sessions.end_for_account(&id).await?;
    audit_revoke(&state, &p, &ctx, &id, None, n).await?;
    Ok(axum::Json(Ended { sessions: n }))
}

/// Ends one session by its handle.
#[utoipa::path(delete, path = "/api/admin/accounts/{id}/sessions/{handle}", tag = "accounts",
    security(("admin_session" = []), ("bearer" = [])), params(("id" = String, Path), ("handle" = String, Path)),
    responses((status = 204), (status = 404, description = "account.session_not_found", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn revoke_session(
    State(state): State<AppState>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    PathParams((id, handle)): PathParams<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .admins
        .authorize(&p, Permission::SessionsManage, &ctx)
        .await?;
    if !state.sessions.end_by_handle(&id, &handle).await? {
        return Err(ApiError::new(
            ErrorCode::SessionNotFound,
            format!("no session {handle} on account {id}"),
        ));
    }
    audit_revoke(&state, &p, &ctx, &id, Some(&handle), 1).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn audit_revoke(
    state: &AppState,
    p: &crate::admin::Principal,
    ctx: &RequestContext,
    account: &str,
    handle: Option<&str>,
    n: u64,
) -> Result<(), ApiError> {
    state
        .audit
        .append(
            crate::audit::AuditEvent::new("session.revoked", crate::audit::Outcome::Success)
                .actor(p.actor())
                .target(format!("account:{account}"))
                .details(serde_json::json!({ "handle": handle, "sessions": n }))
                .context(ctx),
        )
        .await?;
    Ok(())
}

fn provider_view(p: &crate::config::ProviderConfig) -> ProviderView {
    ProviderView {
        id: p.id.clone(),
        kind: p.settings.kind().to_owned(),
        display_name: p.display_name.clone(),
        link_policy: match p.link_policy {
            LinkPolicy::CreateOrLink => "create-or-link",
            LinkPolicy::LinkOnly => "link-only",
        }
        .to_owned(),
        logout: p.logout,
    }
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ProviderView {
    pub id: String,
    /// `fujian`, `elongyan`, `oidc` or `oauth2`.
    pub kind: String,
    pub display_name: String,
    /// `create-or-link` or `link-only`.
    pub link_policy: String,
    pub logout: bool,
}

/// The configured identity providers (no secrets).
#[utoipa::path(get, path = "/api/admin/providers", tag = "accounts",
    security(("admin_session" = []), ("bearer" = [])),
    responses((status = 200, body = Vec<ProviderView>)))]
pub async fn list_providers(
    State(state): State<AppState>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
) -> Result<axum::Json<Vec<ProviderView>>, ApiError> {
    state
        .admins
        .authorize(&p, Permission::ProvidersManage, &ctx)
        .await?;
    let mut out: Vec<ProviderView> = state.config.providers.iter().map(provider_view).collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(axum::Json(out))
}

/// One configured identity provider (no secrets).
#[utoipa::path(get, path = "/api/admin/providers/{id}", tag = "accounts",
    security(("admin_session" = []), ("bearer" = [])), params(("id" = String, Path)),
    responses(
        (status = 200, body = ProviderView),
        (status = 404, description = "sso.provider_unknown", body = ProblemDocument, content_type = "application/problem+json"),
    ))]
pub async fn get_provider(
    State(state): State<AppState>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<ProviderView>, ApiError> {
    state
        .admins
        .authorize(&p, Permission::ProvidersManage, &ctx)
        .await?;
    state
        .config
        .providers
        .iter()
        .find(|p| p.id == id)
        .map(|p| axum::Json(provider_view(p)))
        .ok_or_else(|| ApiError::from(FlowError::UnknownProvider(id)))
}
