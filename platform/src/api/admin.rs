//! Administration: console sign-in, administrators, API tokens and the effective configuration.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::admin::{
    AdminPatch, AdminView, IssuedCredentials, IssuedToken, Permission, Role, SESSION_COOKIE,
    TokenView, Who,
};
use crate::config::HumanDuration;
use crate::context::RequestContext;
use crate::http::auth::AdminAuth;
use crate::http::extract::{JsonBody, PathParams};
use crate::http::problem::{ApiError, ErrorCode, ProblemDocument};
use crate::state::Platform;

pub fn routes() -> OpenApiRouter<Platform> {
    OpenApiRouter::new()
        .routes(routes!(login, current, logout))
        .routes(routes!(change_password))
        .routes(routes!(list_admins, create_admin))
        .routes(routes!(get_admin, update_admin, delete_admin))
        .routes(routes!(unlock_admin))
        .routes(routes!(reset_admin_credentials))
        .routes(routes!(revoke_admin_sessions))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(effective_config))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// The 6-digit code from the authenticator app.
    pub totp: String,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct SessionInfo {
    /// `session` (console) or `token` (API token).
    pub kind: &'static str,
    pub role: Role,
    pub permissions: Vec<&'static str>,
    /// The signed-in administrator (console sessions).
    pub admin: Option<AdminView>,
    /// The token in use (API tokens).
    pub token_id: Option<String>,
}

/// The console session cookie (also set by the console's sign-in page).
pub fn session_cookie(value: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; Secure; HttpOnly; SameSite=Strict"
    ))
    .unwrap_or(HeaderValue::from_static(""))
}

/// Signs in to the console with password and TOTP code; sets the session cookie.
#[utoipa::path(post, path = "/api/admin/session", tag = "administration",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "signed in; the session cookie is set", body = SessionInfo),
        (status = 401, description = "admin.credentials_invalid or admin.account_disabled", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 423, description = "admin.account_locked", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 429, description = "request.rate_limited", body = ProblemDocument, content_type = "application/problem+json"),
    ))]
pub async fn login(
    State(state): State<Platform>,
    ctx: RequestContext,
    JsonBody(body): JsonBody<LoginRequest>,
) -> Result<Response, ApiError> {
    let session = sign_in(&state, &body.username, &body.password, &body.totp, &ctx).await?;
    let info = SessionInfo {
        kind: "session",
        role: session.admin.role,
        permissions: session
            .admin
            .role
            .permissions()
            .iter()
            .map(|p| p.as_str())
            .collect(),
        admin: Some(session.admin),
        token_id: None,
    };
    let mut res = axum::Json(info).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(session.cookie_value.expose()),
    );
    Ok(res)
}

/// An administrator's sign-in, limited per client address: what the JSON endpoint and the
/// console's sign-in page both do.
pub async fn sign_in(
    state: &Platform,
    username: &str,
    password: &str,
    totp: &str,
    ctx: &RequestContext,
) -> Result<crate::admin::NewSession, ApiError> {
    if let Some(ip) = ctx.client_ip
        && let Err(wait) = state.login_limiter.check_client(ip)
    {
        let mut e = ApiError::new(
            ErrorCode::RateLimited,
            "too many sign-in attempts from this address; wait and try again",
        );
        e.retry_after = Some(wait.as_secs() + 1);
        return Err(e);
    }
    Ok(state.admins.login(username, password, totp, ctx).await?)
}

/// The cookie that ends the console session.
pub const CLEAR_SESSION_COOKIE: &str =
    "__Host-hub_admin=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0";

/// Who is signed in (console session or API token), with the role's permissions.
#[utoipa::path(get, path = "/api/admin/session", tag = "administration",
    security(("admin_session" = []), ("bearer" = [])),
    responses((status = 200, body = SessionInfo), (status = 401, body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn current(
    State(state): State<Platform>,
    AdminAuth(p): AdminAuth,
) -> Result<axum::Json<SessionInfo>, ApiError> {
    let admin = match &p.who {
        Who::Session { admin_id, .. } => Some(state.admins.get(admin_id).await?),
        Who::Token { .. } => None,
    };
    Ok(axum::Json(SessionInfo {
        kind: if admin.is_some() { "session" } else { "token" },
        role: p.role,
        permissions: p.role.permissions().iter().map(|p| p.as_str()).collect(),
        admin,
        token_id: match &p.who {
            Who::Token { token_id, .. } => Some(token_id.clone()),
            Who::Session { .. } => None,
        },
    }))
}

/// Signs out: ends the console session and clears the cookie.
#[utoipa::path(delete, path = "/api/admin/session", tag = "administration",
    security(("admin_session" = [])),
    responses((status = 204, description = "signed out")))]
pub async fn logout(
    State(state): State<Platform>,
    ctx: RequestContext,
    headers: http::HeaderMap,
    AdminAuth(p): AdminAuth,
) -> Result<Response, ApiError> {
    if let Some(v) = crate::http::cookie::cookie(&headers, SESSION_COOKIE) {
        state.admins.logout(&p, v, &ctx).await?;
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(CLEAR_SESSION_COOKIE),
    );
    Ok(res)
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    /// At least 12 characters mixing three of: lower case, upper case, digits, symbols.
    pub new_password: String,
}

/// Changes the signed-in administrator's password (required after an issued password).
#[utoipa::path(put, path = "/api/admin/session/password", tag = "administration",
    security(("admin_session" = [])),
    request_body = PasswordChange,
    responses((status = 204), (status = 422, body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn change_password(
    State(state): State<Platform>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    JsonBody(body): JsonBody<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    state
        .admins
        .change_password(&p, &body.current_password, &body.new_password, &ctx)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists administrators (security administrators).
#[utoipa::path(get, path = "/api/admin/admins", tag = "administration",
    security(("admin_session" = []), ("bearer" = [])),
    responses((status = 200, body = Vec<AdminView>), (status = 403, body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn list_admins(
    State(state): State<Platform>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
) -> Result<axum::Json<Vec<AdminView>>, ApiError> {
    state
        .admins
        .authorize(&p, Permission::AdminsManage, &ctx)
        .await?;
    Ok(axum::Json(state.admins.list().await?))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAdmin {
    /// 3–32 characters: a letter, then letters, digits, `.`, `_` or `-`.
    pub username: String,
    pub display_name: String,
    pub role: Role,
}

/// Creates an administrator. The response holds the initial password and TOTP secret, once.
#[utoipa::path(post, path = "/api/admin/admins", tag = "administration",
    security(("admin_session" = []), ("bearer" = [])),
    request_body = NewAdmin,
    responses((status = 201, body = IssuedCredentials), (status = 409, body = ProblemDocument, content_type = "application/problem+json"), (status = 422, body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn create_admin(
    State(state): State<Platform>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    JsonBody(body): JsonBody<NewAdmin>,
) -> Result<(StatusCode, axum::Json<IssuedCredentials>), ApiError> {
    state
        .admins
        .authorize(&p, Permission::AdminsManage, &ctx)
        .await?;
    let issued = state
        .admins
        .create(
            Some(&p),
            &body.username,
            &body.display_name,
            body.role,
            &ctx,
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(issued)))
}

/// One administrator.
#[utoipa::path(get, path = "/api/admin/admins/{id}", tag = "administration",
    security(("admin_session" = []), ("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = AdminView), (status = 404, body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn get_admin(
    State(state): State<Platform>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<AdminView>, ApiError> {
    state
        .admins
        .authorize(&p, Permission::AdminsManage, &ctx)
        .await?;
    Ok(axum::Json(state.admins.get(&id).await?))
}

/// Changes an administrator's display name, role or status (not one's own role or status).
#[utoipa::path(patch, path = "/api/admin/admins/{id}", tag = "administration",
    security(("admin_session" = []), ("bearer" = [])),
    params(("id" = String, Path)),
    request_body = AdminPatch,
    responses((status = 200, body = AdminView), (status = 409, body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn update_admin(
    State(state): State<Platform>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    PathParams(id): PathParams<String>,
    JsonBody(patch): JsonBody<AdminPatch>,
) -> Result<axum::Json<AdminView>, ApiError> {
    state
        .admins
        .authorize(&p, Permission::AdminsManage, &ctx)
        .await?;
    Ok(axum::Json(state.admins.update(&p, &id, patch, &ctx).await?))
}

/// Deletes an administrator (not oneself, not the last active security administrator).
#[utoipa::path(delete, path = "/api/admin/admins/{id}", tag = "administration",
    security(("admin_session" = []), ("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 409, body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn delete_admin(
    State(state): State<Platform>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    PathParams(id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    state
        .admins
        .authorize(&p, Permission::AdminsManage, &ctx)
        .await?;
    state.admins.delete(&p, &id, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lifts a lockout.
#[utoipa::path(post, path = "/api/admin/admins/{id}/unlock", tag = "administration",
    security(("admin_session" = []), ("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = AdminView)))]
pub async fn unlock_admin(
    State(state): State<Platform>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<AdminView>, ApiError> {
    state
        .admins
        .authorize(&p, Permission::AdminsManage, &ctx)
        .await?;
    Ok(axum::Json(state.admins.unlock(Some(&p), &id, &ctx).await?))
}

/// Issues a new password and TOTP secret (lost device or password) and ends the sessions.
#[utoipa::path(post, path = "/api/admin/admins/{id}/reset-credentials", tag = "administration",
    security(("admin_session" = []), ("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = IssuedCredentials)))]
pub async fn reset_admin_credentials(
    State(state): State<Platform>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<IssuedCredentials>, ApiError> {
    state
        .admins
        .authorize(&p, Permission::AdminsManage, &ctx)
        .await?;
    Ok(axum::Json(
        state.admins.reset_credentials(Some(&p), &id, &ctx).await?,
    ))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Revoked {
    pub sessions: u64,
}

/// Ends every console session of an administrator.
#[utoipa::path(delete, path = "/api/admin/admins/{id}/sessions", tag = "administration",
    security(("admin_session" = []), ("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Revoked)))]
pub async fn revoke_admin_sessions(
    State(state): State<Platform>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<Revoked>, ApiError> {
    state
        .admins
        .authorize(&p, Permission::SessionsManage, &ctx)
        .await?;
    Ok(axum::Json(Revoked {
        sessions: state.admins.revoke_sessions(&p, &id, &ctx).await?,
    }))
}

/// API tokens: one's own, or all for security administrators.
#[utoipa::path(get, path = "/api/admin/tokens", tag = "administration",
    security(("admin_session" = []), ("bearer" = [])),
    responses((status = 200, body = Vec<TokenView>)))]
pub async fn list_tokens(
    State(state): State<Platform>,
    AdminAuth(p): AdminAuth,
) -> Result<axum::Json<Vec<TokenView>>, ApiError> {
    Ok(axum::Json(state.admins.list_tokens(&p).await?))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub name: String,
    /// Lifetime such as `30d` (default) or `12h`; at most `admin.token_max_ttl`.
    pub ttl: Option<String>,
}

/// Issues an API token for the caller's own role. The token is in the response, once.
#[utoipa::path(post, path = "/api/admin/tokens", tag = "administration",
    security(("admin_session" = []), ("bearer" = [])),
    request_body = NewToken,
    responses((status = 201, body = IssuedToken), (status = 422, body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn create_token(
    State(state): State<Platform>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    JsonBody(body): JsonBody<NewToken>,
) -> Result<(StatusCode, axum::Json<IssuedToken>), ApiError> {
    let ttl = match body.ttl.as_deref() {
        None => None,
        Some(t) => Some(HumanDuration::parse(t).map_err(|m| {
            ApiError::new(ErrorCode::ValidationFailed, format!("ttl {m}")).field("ttl", m)
        })?),
    };
    let issued = state
        .admins
        .create_token(Some(&p), &body.name, p.role, ttl, &ctx)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(issued)))
}

/// Revokes an API token.
#[utoipa::path(delete, path = "/api/admin/tokens/{id}", tag = "administration",
    security(("admin_session" = []), ("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn revoke_token(
    State(state): State<Platform>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    PathParams(id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    state.admins.revoke_token(&p, &id, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The effective configuration with secrets withheld (system administrators).
#[utoipa::path(get, path = "/api/admin/config", tag = "administration",
    security(("admin_session" = []), ("bearer" = [])),
    responses((status = 200, body = Object), (status = 403, body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn effective_config(
    State(state): State<Platform>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    state
        .admins
        .authorize(&p, Permission::ConfigRead, &ctx)
        .await?;
    Ok(axum::Json(state.config_summary.as_ref().clone()))
}
