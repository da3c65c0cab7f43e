//! Accounts, their identity links and sessions, for security administrators.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::account_admin;
use crate::accounts::{AccountFilter, AccountStatus, AccountView};
use crate::admin::Permission;
use crate::context::RequestContext;
use crate::http::auth::AdminAuth;
use crate::http::extract::{JsonBody, PathParams, QueryParams};
use crate::http::problem::{ApiError, ErrorCode, ProblemDocument};
use crate::paging::Page;
use crate::sessions::SessionView;
use crate::state::Platform;

pub fn routes() -> OpenApiRouter<Platform> {
    OpenApiRouter::new()
        .routes(routes!(list_accounts))
        .routes(routes!(get_account, update_account))
        .routes(routes!(unlink))
        .routes(routes!(list_sessions, revoke_sessions))
        .routes(routes!(revoke_session))
}

fn account_error(e: crate::accounts::AccountError) -> ApiError {
    ApiError::from(e)
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
    /// `personal` or `legal_person`.
    pub kind: Option<String>,
    /// `active` or `disabled`.
    pub status: Option<String>,
    /// The page, from 1 (default 1).
    pub page: Option<u32>,
    /// Accounts per page, 1–100 (default 50).
    pub size: Option<u32>,
    /// The former name of `size`.
    pub limit: Option<u32>,
}

/// The blind index of the certificate number or credit code a query names, if any.
fn key_index(state: &Platform, q: &AccountQuery) -> Result<Option<Vec<u8>>, ApiError> {
    Ok(match (&q.certificate, &q.uscc) {
        (Some(n), _) => {
            let kind =
                crate::identity::CertType::from_code(q.cert_type.as_deref().unwrap_or("111"));
            let cert = crate::identity::Certificate::new(kind, n).map_err(|e| {
                ApiError::new(ErrorCode::InvalidQuery, format!("certificate: {e}"))
                    .field("certificate", e.to_string())
            })?;
            Some(state.accounts.certificate_index(&cert))
        }
        (None, Some(u)) => {
            let uscc = crate::identity::Uscc::parse(u).map_err(|e| {
                ApiError::new(ErrorCode::InvalidQuery, format!("uscc: {e}"))
                    .field("uscc", e.to_string())
            })?;
            Some(state.accounts.uscc_index(&uscc))
        }
        (None, None) => None,
    })
}

/// Accounts, newest first, a page at a time (the whole count in `x-total-count`), or the one
/// of a certificate number or credit code.
#[utoipa::path(get, path = "/api/admin/accounts", tag = "accounts",
    security(("admin_session" = []), ("bearer" = [])), params(AccountQuery),
    responses(
        (status = 200, body = Vec<AccountView>, headers(("x-total-count" = u64, description = "accounts matching the query, on every page"))),
        (status = 400, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, body = ProblemDocument, content_type = "application/problem+json"),
    ))]
pub async fn list_accounts(
    State(state): State<Platform>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    QueryParams(q): QueryParams<AccountQuery>,
) -> Result<Response, ApiError> {
    state
        .admins
        .authorize(&p, Permission::AccountsManage, &ctx)
        .await?;
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(AccountStatus::parse(s).ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidQuery, "status must be active or disabled")
                .field("status", "must be `active` or `disabled`")
        })?),
    };
    let filter = AccountFilter {
        key_index: key_index(&state, &q)?,
        kind: q.kind.clone(),
        status,
    };
    let page = Page::new(q.page.unwrap_or(1), q.size.or(q.limit).unwrap_or(50));
    let paged = state
        .accounts
        .list(&filter, page)
        .await
        .map_err(account_error)?;
    let mut res = axum::Json(paged.items).into_response();
    res.headers_mut()
        .insert("x-total-count", http::HeaderValue::from(paged.total));
    Ok(res)
}

#[utoipa::path(get, path = "/api/admin/accounts/{id}", tag = "accounts",
    security(("admin_session" = []), ("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = AccountView), (status = 404, body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn get_account(
    State(state): State<Platform>,
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
    State(state): State<Platform>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    PathParams(id): PathParams<String>,
    JsonBody(patch): JsonBody<AccountPatch>,
) -> Result<axum::Json<AccountView>, ApiError> {
    state
        .admins
        .authorize(&p, Permission::AccountsManage, &ctx)
        .await?;
    let Some(status) = AccountStatus::parse(&patch.status) else {
        return Err(ApiError::new(
            ErrorCode::ValidationFailed,
            "status must be `active` or `disabled`",
        )
        .field("status", "must be `active` or `disabled`"));
    };
    let view = account_admin::set_status(&state, &p, &id, status, &ctx)
        .await
        .map_err(account_error)?;
    Ok(axum::Json(view))
}

/// Removes an identity link of an account (audited).
#[utoipa::path(delete, path = "/api/admin/accounts/{id}/identities/{provider}/{subject}", tag = "accounts",
    security(("admin_session" = []), ("bearer" = [])),
    params(("id" = String, Path), ("provider" = String, Path), ("subject" = String, Path)),
    responses((status = 204), (status = 409, description = "account.last_identity", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn unlink(
    State(state): State<Platform>,
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
    State(state): State<Platform>,
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
    State(state): State<Platform>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<Ended>, ApiError> {
    state
        .admins
        .authorize(&p, Permission::SessionsManage, &ctx)
        .await?;
    let n = account_admin::end_sessions(&state, &p, &id, &ctx)
        .await
        .map_err(account_error)?;
    Ok(axum::Json(Ended { sessions: n }))
}

/// Ends one session by its handle.
#[utoipa::path(delete, path = "/api/admin/accounts/{id}/sessions/{handle}", tag = "accounts",
    security(("admin_session" = []), ("bearer" = [])), params(("id" = String, Path), ("handle" = String, Path)),
    responses((status = 204), (status = 404, description = "account.session_not_found", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn revoke_session(
    State(state): State<Platform>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    PathParams((id, handle)): PathParams<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .admins
        .authorize(&p, Permission::SessionsManage, &ctx)
        .await?;
    account_admin::end_session(&state, p.actor(), &id, &handle, &ctx)
        .await
        .map_err(account_error)?;
    Ok(StatusCode::NO_CONTENT)
}
