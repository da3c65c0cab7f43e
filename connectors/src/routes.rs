//! Connectors: the audited jump (`/go/{code}`), the public list for the portal's online-services
//! page, and their administration by system administrators.

use crate::change::{ConnectorInput, ConnectorPatch};
use crate::definition::Handoff;
use crate::status::Status;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::registry::{ConnectorError, Entry, VersionView};
use crate::state::ConnectorsState;
use platform::admin::Permission;
use platform::audit::{Actor, AuditEvent, Outcome};
use platform::clock::Millis;
use platform::context::RequestContext;
use platform::http::auth::AdminAuth;
use platform::http::extract::{JsonBody, PathParams, QueryParams};
use platform::http::problem::{ApiError, ErrorCode, ProblemDocument};
use platform::sessions::{ActiveSession, SESSION_COOKIE, SessionError};

/// Public routes: the jump and the list.
pub fn public_routes() -> OpenApiRouter<ConnectorsState> {
    OpenApiRouter::new()
        .routes(routes!(go))
        .routes(routes!(list_public))
}

/// Administration routes (behind the cross-origin protection).
pub fn admin_routes() -> OpenApiRouter<ConnectorsState> {
    OpenApiRouter::new()
        .routes(routes!(list_admin, create))
        .routes(routes!(get_one, update, delete))
        .routes(routes!(versions))
        .routes(routes!(rollback))
        .routes(routes!(health_history))
        .routes(routes!(probe))
}

impl From<ConnectorError> for ApiError {
    fn from(e: ConnectorError) -> Self {
        use ErrorCode as C;
        match e {
            ConnectorError::NotFound(code) => ApiError::new(
                C::ConnectorNotFound,
                format!("no connector {code}; GET /api/admin/connectors lists them"),
            ),
            ConnectorError::Exists(code) => ApiError::new(
                C::ConnectorExists,
                format!("a connector {code} exists already; choose another code or edit it"),
            ),
            ConnectorError::VersionConflict { current, expected } => ApiError::new(
                C::ConnectorVersionConflict,
                format!(
                    "the connector is at version {current}, not {expected}: someone changed it meanwhile; reload and apply your change again"
                ),
            ),
            ConnectorError::NothingToRollBack(code) => ApiError::new(
                C::NothingToRollBack,
                format!("connector {code} has only one version: there is nothing to roll back"),
            ),
            ConnectorError::Invalid(errors) => {
                let detail = errors
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; ");
                let mut err = ApiError::new(C::ValidationFailed, detail);
                for fe in errors {
                    err = err.field(fe.field, fe.message);
                }
                err
            }
            ConnectorError::Store(s) => s.into(),
            ConnectorError::Audit(a) => a.into(),
            e => ApiError::internal(e),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The jump

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GoQuery {
    /// `1`: go on although the platform failed its last health check.
    pub proceed: Option<String>,
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| {
            (a.starts_with("application/json") || a.starts_with("application/problem+json"))
                && !a.contains("text/html")
        })
}

fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => no_store((StatusCode::FOUND, [(header::LOCATION, v)]).into_response()),
        Err(_) => ApiError::new(ErrorCode::Internal, "the link cannot be sent").into_response(),
    }
}

/// The referring page without its query or fragment (which may carry anything).
fn referrer(headers: &HeaderMap) -> Option<String> {
    let r = headers.get(header::REFERER)?.to_str().ok()?;
    let mut u = url::Url::parse(r).ok()?;
    u.set_query(None);
    u.set_fragment(None);
    let mut s = u.to_string();
    if s.len() > 256 {
        let mut end = 256;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    Some(s)
}

/// The provider users sign in with before a jump that requires it.
fn sign_in_provider(state: &ConnectorsState) -> Option<String> {
    state.connectors.config().sign_in_provider.clone()
}

fn unavailable(
    state: &ConnectorsState,
    json: bool,
    ctx: &RequestContext,
    entry: Option<&Entry>,
) -> Response {
    if json {
        return ApiError::new(
            ErrorCode::ConnectorUnavailable,
            "no such connector, or it is disabled or not configured; GET /api/connectors lists them",
        )
        .into_response();
    }
    let name = entry.map(|e| e.definition.name.as_str());
    let status = entry.map(|e| e.status(state.connectors.config()));
    crate::pages::connector_unavailable(
        &state.platform,
        name,
        status == Some(Status::Unconfigured),
        ctx.request_id.as_deref().unwrap_or(""),
    )
}

/// Jumps to an external platform: audited, then `302`. Sign-in first when the connector
/// requires it; a page that says so when the platform failed its last health check (with the
/// link still offered); `404` for unknown, disabled or unconfigured connectors.
#[utoipa::path(get, path = "/go/{code}", tag = "connectors",
    params(("code" = String, Path, description = "connector code, e.g. safe-forex"), GoQuery),
    responses(
        (status = 302, description = "to the platform (audited), or to /sso/{provider}/login first when sign-in is required"),
        (status = 200, description = "HTML notice: the platform failed its last health check; the link is offered with proceed=1"),
        (status = 404, description = "connectors.unavailable (HTML page, or problem+json for Accept: application/json)", body = ProblemDocument, content_type = "application/problem+json"),
    ))]
pub async fn go(
    State(state): State<ConnectorsState>,
    ctx: RequestContext,
    headers: HeaderMap,
    PathParams(code): PathParams<String>,
    QueryParams(q): QueryParams<GoQuery>,
) -> Result<Response, ApiError> {
    let json = wants_json(&headers);
    let snapshot = state.connectors.snapshot();
    let Some(entry) = snapshot.get(&code).cloned() else {
        return Ok(unavailable(&state, json, &ctx, None));
    };
    let status = entry.status(state.connectors.config());
    if !status.jumpable() {
        state.connectors.metrics.jump(&code, "unavailable");
        return Ok(unavailable(&state, json, &ctx, Some(&entry)));
    }
    let session = match platform::http::cookie::cookie(&headers, SESSION_COOKIE) {
        None => None,
        Some(c) => match state.platform.sessions.current(c).await {
            Ok(s) => Some(s),
            Err(SessionError::Missing | SessionError::Expired) => None,
            Err(e) => return Err(e.into()),
        },
    };
    let d = &entry.definition;
    if d.sign_in_required && session.is_none() {
        let Some(provider) = sign_in_provider(&state) else {
            return Err(ApiError::new(
                ErrorCode::SignInUnavailable,
                "this platform requires sign-in and no identity provider is configured",
            ));
        };
        state.connectors.metrics.jump(&code, "sign_in");
        let back: String =
            url::form_urlencoded::byte_serialize(format!("/go/{code}").as_bytes()).collect();
        return Ok(redirect(&format!("/sso/{provider}/login?return_to={back}")));
    }
    if status == Status::Unreachable && q.proceed.as_deref() != Some("1") {
        state.connectors.metrics.jump(&code, "interstitial");
        return Ok(crate::pages::connector_interstitial(
            &state.platform,
            &d.name,
            &d.code,
            entry.health.as_ref().map(|h| Millis(h.checked_at)),
            d.notice.as_deref(),
        ));
    }
    let target = target_url(&state, &entry, session.as_deref())?;
    let host = target.host_str().unwrap_or_default().to_owned();
    let actor = session
        .as_ref()
        .map_or_else(Actor::anonymous, |s| s.actor());
    state
        .platform
        .audit
        .append(
            AuditEvent::new("connector.jump", Outcome::Success)
                .actor(actor)
                .target(format!("connector:{code}"))
                .details(serde_json::json!({
                    "host": host,
                    "referrer": referrer(&headers),
                    "handoff": d.handoff.mode(),
                    "status": status.as_str(),
                }))
                .context(&ctx),
        )
        .await?;
    state.connectors.metrics.jump(&code, "redirected");
    Ok(redirect(target.as_str()))
}

/// The link, signed for a signed hand-off. Never goes out unsigned when it should be signed.
fn target_url(
    state: &ConnectorsState,
    entry: &Entry,
    session: Option<&ActiveSession>,
) -> Result<url::Url, ApiError> {
    let d = &entry.definition;
    let unusable = || {
        ApiError::new(
            ErrorCode::HandoffUnavailable,
            "the hand-off to this platform cannot be signed; the operators have been told",
        )
    };
    let url = d
        .url
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
        .ok_or_else(|| {
            ApiError::new(ErrorCode::ConnectorUnavailable, "the connector has no link")
        })?;
    let Handoff::Signed { params, .. } = &d.handoff else {
        return Ok(url);
    };
    let (Some(key), Some(s)) = (&entry.key, session) else {
        tracing::error!(connector = %d.code, "signed hand-off without a usable key or session");
        return Err(unusable());
    };
    let subject = crate::handoff::Subject {
        sub: state.connectors.pseudonym(&d.code, &s.account.id),
        kind: s.account.kind.clone(),
        name: s.account.display_name.clone(),
        uscc: s.uscc.clone(),
        agent: s.agent_name.clone(),
    };
    let nonce = guomi::random_vec(16)
        .map(hex::encode)
        .map_err(|_| unusable())?;
    crate::handoff::sign(
        &url,
        &d.code,
        key,
        params,
        &subject,
        state.platform.clock.now().as_secs(),
        &nonce,
    )
    .map_err(|e| {
        tracing::error!(connector = %d.code, error = %e, "cannot sign a hand-off");
        unusable()
    })
}

// ---------------------------------------------------------------------------------------------
// The public list

/// A connector on the portal's online-services page.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PublicConnector {
    pub code: String,
    pub name: String,
    pub operator: String,
    pub category: String,
    pub description: String,
    /// `available`, `unknown` (not probed yet), `unreachable` (failed its last health check),
    /// `disabled` or `unconfigured` (待配置).
    pub status: &'static str,
    /// The status in Chinese, for display.
    pub status_label: &'static str,
    /// `same-tab` or `new-tab`.
    pub open_mode: &'static str,
    pub sign_in_required: bool,
    /// Where to send users (`/go/{code}`); absent when the connector leads nowhere.
    pub href: Option<String>,
    /// When the platform was last probed (RFC 3339).
    pub checked_at: Option<String>,
}

/// Every connector with its status, in display order.
#[utoipa::path(get, path = "/api/connectors", tag = "connectors",
    responses((status = 200, body = Vec<PublicConnector>)))]
pub async fn list_public(State(state): State<ConnectorsState>) -> Response {
    let cfg = &state.connectors.config();
    let list: Vec<PublicConnector> = state
        .connectors
        .snapshot()
        .entries
        .iter()
        .map(|e| {
            let d = &e.definition;
            // A host taken off the allowlist is, for users, a disabled connector.
            let status = match e.status(cfg) {
                Status::Blocked => Status::Disabled,
                s => s,
            };
            PublicConnector {
                code: d.code.clone(),
                name: d.name.clone(),
                operator: d.operator.clone(),
                category: d.category.clone(),
                description: d.description.clone(),
                status: status.as_str(),
                status_label: status.label_zh(),
                open_mode: d.open_mode.as_str(),
                sign_in_required: d.sign_in_required,
                href: status.jumpable().then(|| format!("/go/{}", d.code)),
                checked_at: e.health.as_ref().map(|h| Millis(h.checked_at).to_rfc3339()),
            }
        })
        .collect();
    let mut res = axum::Json(list).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=15"),
    );
    res
}

// ---------------------------------------------------------------------------------------------
// Administration

/// The signed hand-off settings as administrators see them (never the key itself).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct HandoffView {
    /// `none` or `signed`.
    pub mode: &'static str,
    /// `hmac-sm3` or `sm2`.
    pub scheme: Option<&'static str>,
    pub params: Vec<&'static str>,
    pub key_set: bool,
    /// A key is stored but cannot be used (for instance written under another data key).
    pub key_unusable: bool,
    /// SM2: the public key partners verify with (PEM).
    pub public_key: Option<String>,
}

/// The latest health probe.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct HealthView {
    pub up: bool,
    pub checked_at: String,
    pub latency_ms: Option<i64>,
    pub http_status: Option<u16>,
    /// `timeout`, `connect`, `http_503`, …
    pub error: Option<String>,
}

impl From<&crate::status::Health> for HealthView {
    fn from(h: &crate::status::Health) -> Self {
        HealthView {
            up: h.up,
            checked_at: Millis(h.checked_at).to_rfc3339(),
            latency_ms: h.latency_ms,
            http_status: h.http_status,
            error: h.error.clone(),
        }
    }
}

/// A connector as system administrators see it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ConnectorView {
    pub code: String,
    pub name: String,
    pub operator: String,
    pub category: String,
    pub description: String,
    pub url: Option<String>,
    pub enabled: bool,
    pub position: i32,
    pub open_mode: &'static str,
    pub sign_in_required: bool,
    pub allow_http: bool,
    pub health_url: Option<String>,
    pub notice: Option<String>,
    pub handoff: HandoffView,
    /// As in the public list, plus `blocked` (host no longer on the allowlist).
    pub status: &'static str,
    pub health: Option<HealthView>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    pub updated_by: Option<String>,
    /// Only right after the hub generated an HMAC-SM3 hand-off secret: give it to the partner
    /// now, it is not shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_secret: Option<String>,
}

fn view(state: &ConnectorsState, e: &Entry) -> ConnectorView {
    let d = &e.definition;
    let (scheme, params) = match &d.handoff {
        Handoff::None => (None, Vec::new()),
        Handoff::Signed { scheme, params } => (
            Some(scheme.as_str()),
            params.iter().map(|p| p.as_str()).collect(),
        ),
    };
    ConnectorView {
        code: d.code.clone(),
        name: d.name.clone(),
        operator: d.operator.clone(),
        category: d.category.clone(),
        description: d.description.clone(),
        url: d.url.clone(),
        enabled: d.enabled,
        position: d.position,
        open_mode: d.open_mode.as_str(),
        sign_in_required: d.sign_in_required,
        allow_http: d.allow_http,
        health_url: d.health_url.clone(),
        notice: d.notice.clone(),
        handoff: HandoffView {
            mode: d.handoff.mode(),
            scheme,
            params,
            key_set: e.key.is_some() || e.key_unusable,
            key_unusable: e.key_unusable,
            public_key: e.key.as_ref().and_then(|k| k.public_key_pem()),
        },
        status: e.status(state.connectors.config()).as_str(),
        health: e.health.as_ref().map(HealthView::from),
        version: e.version,
        created_at: e.created_at.to_rfc3339(),
        updated_at: e.updated_at.to_rfc3339(),
        updated_by: e.updated_by.clone(),
        generated_secret: None,
    }
}

async fn admin_principal(
    state: &ConnectorsState,
    auth: &AdminAuth,
    ctx: &RequestContext,
) -> Result<Actor, ApiError> {
    state
        .platform
        .admins
        .authorize(&auth.0, Permission::ConnectorsManage, ctx)
        .await?;
    Ok(auth.0.actor())
}

/// Every connector, in display order, with link, hand-off settings, health and version.
#[utoipa::path(get, path = "/api/admin/connectors", tag = "connectors",
    security(("admin_session" = []), ("bearer" = [])),
    responses((status = 200, body = Vec<ConnectorView>), (status = 403, body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn list_admin(
    State(state): State<ConnectorsState>,
    ctx: RequestContext,
    auth: AdminAuth,
) -> Result<axum::Json<Vec<ConnectorView>>, ApiError> {
    admin_principal(&state, &auth, &ctx).await?;
    Ok(axum::Json(
        state
            .connectors
            .snapshot()
            .entries
            .iter()
            .map(|e| view(&state, e))
            .collect(),
    ))
}

/// Creates a connector (validated, versioned, audited).
#[utoipa::path(post, path = "/api/admin/connectors", tag = "connectors",
    security(("admin_session" = []), ("bearer" = [])), request_body = ConnectorInput,
    responses(
        (status = 201, body = ConnectorView),
        (status = 409, description = "connectors.exists", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "validation.failed, naming the fields", body = ProblemDocument, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<ConnectorsState>,
    ctx: RequestContext,
    auth: AdminAuth,
    JsonBody(input): JsonBody<ConnectorInput>,
) -> Result<Response, ApiError> {
    let actor = admin_principal(&state, &auth, &ctx).await?;
    let changed = state.connectors.create_from(input, actor, &ctx).await?;
    let mut v = view(&state, &changed.entry);
    v.generated_secret = changed.generated_secret.map(|s| s.expose().to_owned());
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

/// One connector.
#[utoipa::path(get, path = "/api/admin/connectors/{code}", tag = "connectors",
    security(("admin_session" = []), ("bearer" = [])), params(("code" = String, Path)),
    responses((status = 200, body = ConnectorView), (status = 404, description = "connectors.not_found", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn get_one(
    State(state): State<ConnectorsState>,
    ctx: RequestContext,
    auth: AdminAuth,
    PathParams(code): PathParams<String>,
) -> Result<axum::Json<ConnectorView>, ApiError> {
    admin_principal(&state, &auth, &ctx).await?;
    let snapshot = state.connectors.snapshot();
    let e = snapshot
        .get(&code)
        .ok_or(ConnectorError::NotFound(code.clone()))?;
    Ok(axum::Json(view(&state, e)))
}

/// Changes a connector: edit, enable or disable, reorder, change the hand-off. Validated,
/// versioned and audited with the state before and after.
#[utoipa::path(patch, path = "/api/admin/connectors/{code}", tag = "connectors",
    security(("admin_session" = []), ("bearer" = [])), params(("code" = String, Path)),
    request_body = ConnectorPatch,
    responses(
        (status = 200, body = ConnectorView),
        (status = 404, description = "connectors.not_found", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "connectors.version_conflict", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "validation.failed, naming the fields", body = ProblemDocument, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(state): State<ConnectorsState>,
    ctx: RequestContext,
    auth: AdminAuth,
    PathParams(code): PathParams<String>,
    JsonBody(p): JsonBody<ConnectorPatch>,
) -> Result<axum::Json<ConnectorView>, ApiError> {
    let actor = admin_principal(&state, &auth, &ctx).await?;
    let changed = state.connectors.patch(&code, p, actor, &ctx).await?;
    let mut v = view(&state, &changed.entry);
    v.generated_secret = changed.generated_secret.map(|s| s.expose().to_owned());
    Ok(axum::Json(v))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VersionQuery {
    /// Refuse with `connectors.version_conflict` unless the connector is at this version.
    pub version: Option<i64>,
}

/// Deletes a connector. Its history stays; a rollback brings it back.
#[utoipa::path(delete, path = "/api/admin/connectors/{code}", tag = "connectors",
    security(("admin_session" = []), ("bearer" = [])), params(("code" = String, Path), VersionQuery),
    responses((status = 204), (status = 404, description = "connectors.not_found", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn delete(
    State(state): State<ConnectorsState>,
    ctx: RequestContext,
    auth: AdminAuth,
    PathParams(code): PathParams<String>,
    QueryParams(q): QueryParams<VersionQuery>,
) -> Result<StatusCode, ApiError> {
    let actor = admin_principal(&state, &auth, &ctx).await?;
    state
        .connectors
        .delete(&code, q.version, actor, &ctx)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LimitQuery {
    /// At most this many, newest first (default 50, at most 500).
    pub limit: Option<u32>,
}

/// The connector's history, newest first: every version with its definition, who changed it
/// and when.
#[utoipa::path(get, path = "/api/admin/connectors/{code}/versions", tag = "connectors",
    security(("admin_session" = []), ("bearer" = [])), params(("code" = String, Path), LimitQuery),
    responses((status = 200, body = Vec<VersionView>), (status = 404, description = "connectors.not_found", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn versions(
    State(state): State<ConnectorsState>,
    ctx: RequestContext,
    auth: AdminAuth,
    PathParams(code): PathParams<String>,
    QueryParams(q): QueryParams<LimitQuery>,
) -> Result<axum::Json<Vec<VersionView>>, ApiError> {
    admin_principal(&state, &auth, &ctx).await?;
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    Ok(axum::Json(state.connectors.versions(&code, limit).await?))
}

/// Undoes the last change: restores the connector as it was before it (bringing back a deleted
/// connector, too). The rollback is itself a new version, audited.
#[utoipa::path(post, path = "/api/admin/connectors/{code}/rollback", tag = "connectors",
    security(("admin_session" = []), ("bearer" = [])), params(("code" = String, Path)),
    responses(
        (status = 200, description = "the restored connector", body = ConnectorView),
        (status = 204, description = "the connector's last change was its creation after a deletion: it is deleted again"),
        (status = 409, description = "connectors.nothing_to_roll_back or connectors.version_conflict", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "validation.failed: the earlier version breaks today's rules (host allowlist)", body = ProblemDocument, content_type = "application/problem+json"),
    ))]
pub async fn rollback(
    State(state): State<ConnectorsState>,
    ctx: RequestContext,
    auth: AdminAuth,
    PathParams(code): PathParams<String>,
) -> Result<Response, ApiError> {
    let actor = admin_principal(&state, &auth, &ctx).await?;
    Ok(match state.connectors.rollback(&code, actor, &ctx).await? {
        Some(e) => axum::Json(view(&state, &e)).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// Health probe results, newest first.
#[utoipa::path(get, path = "/api/admin/connectors/{code}/health", tag = "connectors",
    security(("admin_session" = []), ("bearer" = [])), params(("code" = String, Path), LimitQuery),
    responses((status = 200, body = Vec<HealthView>), (status = 404, description = "connectors.not_found", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn health_history(
    State(state): State<ConnectorsState>,
    ctx: RequestContext,
    auth: AdminAuth,
    PathParams(code): PathParams<String>,
    QueryParams(q): QueryParams<LimitQuery>,
) -> Result<axum::Json<Vec<HealthView>>, ApiError> {
    admin_principal(&state, &auth, &ctx).await?;
    if state.connectors.snapshot().get(&code).is_none() {
        return Err(ConnectorError::NotFound(code).into());
    }
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let history = state.connectors.health_history(&code, limit).await?;
    Ok(axum::Json(history.iter().map(HealthView::from).collect()))
}

/// Probes the platform now and records the result.
#[utoipa::path(post, path = "/api/admin/connectors/{code}/probe", tag = "connectors",
    security(("admin_session" = []), ("bearer" = [])), params(("code" = String, Path)),
    responses((status = 200, body = HealthView), (status = 404, description = "connectors.not_found", body = ProblemDocument, content_type = "application/problem+json"), (status = 422, description = "validation.failed: no link to probe", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn probe(
    State(state): State<ConnectorsState>,
    ctx: RequestContext,
    auth: AdminAuth,
    PathParams(code): PathParams<String>,
) -> Result<axum::Json<HealthView>, ApiError> {
    admin_principal(&state, &auth, &ctx).await?;
    let h = state
        .connectors
        .probe_one(&state.platform.outbound, &code)
        .await?;
    Ok(axum::Json(HealthView::from(&h)))
}
