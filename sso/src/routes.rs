//! Sign-in endpoints: `/sso/{provider}/login`, `/callback`, `/entry` (e-Longyan),
//! `/backchannel-logout` (OpenID Connect), and `/sso/logout`. Browsers get redirects and, on
//! failure, a page in Chinese; `Accept: application/json` gets problem documents.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::ProviderSettings;
use crate::federation::{Federation, Flow, FlowError, Provider, audit_failure, complete_sign_in};
use crate::state::SsoState;
use platform::audit::{AuditEvent, Outcome};
use platform::context::RequestContext;
use platform::http::extract::PathParams;
use platform::http::problem::{ApiError, ErrorCode, ProblemDocument};
use platform::sessions::{SESSION_COOKIE, csrf_token};

pub fn routes() -> OpenApiRouter<SsoState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(callback))
        .routes(routes!(entry_get, entry_post))
        .routes(routes!(backchannel_logout))
        .routes(routes!(logout_page, logout))
        .routes(routes!(logged_out))
}

fn rate_limited(state: &SsoState, ctx: &RequestContext) -> Result<(), ApiError> {
    if let Some(ip) = ctx.client_ip
        && let Err(wait) = state.federation.limiter.check_client(ip)
    {
        let mut e = ApiError::new(
            ErrorCode::RateLimited,
            "too many sign-in requests from this address; wait and try again",
        );
        e.retry_after = Some(wait.as_secs() + 1);
        return Err(e);
    }
    Ok(())
}

fn redirect(status: StatusCode, location: &str, cookies: &[String]) -> Response {
    let mut res = status.into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(location) {
        h.insert(header::LOCATION, v);
    }
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn flow_cookie(fed: &Federation, flow: &Flow) -> Result<String, FlowError> {
    Ok(format!(
        "{}={}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={}",
        Federation::flow_cookie_name(&flow.s),
        fed.seal_flow(flow)?,
        fed.flow_ttl.as_secs()
    ))
}

fn clear_cookie(name: &str) -> String {
    format!("{name}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0")
}

fn session_cookie(value: &str) -> String {
    format!("{SESSION_COOKIE}={value}; Path=/; Secure; HttpOnly; SameSite=Lax")
}

/// A failure as a response, with the flow cookie cleared so that a stale flow cannot be retried.
fn failure(err: FlowError, clear: Option<String>) -> Response {
    let mut res = ApiError::from(err).into_response();
    if let Some(c) = clear.and_then(|c| HeaderValue::from_str(&c).ok()) {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LoginQuery {
    /// Where to go after signing in: a local path (`/policies`) or an allowlisted origin; anything else becomes `/`.
    pub return_to: Option<String>,
    /// `link`: add this provider's identity to the signed-in account instead of signing in.
    pub intent: Option<String>,
}

/// Starts signing in with a provider: 302 to the provider (the provincial platform's silent
/// check first), with a browser-bound state.
#[utoipa::path(get, path = "/sso/{provider}/login", tag = "sign-in",
    params(("provider" = String, Path, description = "configured provider id: fujian, elongyan, or an OpenID Connect / OAuth 2.0 id"), LoginQuery),
    responses((status = 302, description = "to the provider"), (status = 404, description = "sso.provider_unknown", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn login(
    State(state): State<SsoState>,
    ctx: RequestContext,
    headers: HeaderMap,
    PathParams(id): PathParams<String>,
    axum::extract::Query(q): axum::extract::Query<LoginQuery>,
) -> Result<Response, ApiError> {
    rate_limited(&state, &ctx)?;
    let fed = &state.federation;
    let provider = fed.provider(&id)?;
    let link = match q.intent.as_deref() {
        Some("link") => {
            let cookie =
                platform::http::cookie::cookie(&headers, SESSION_COOKIE).ok_or(ApiError::new(
                    ErrorCode::Unauthenticated,
                    "sign in first, then link another identity",
                ))?;
            let session = state
                .platform
                .sessions
                .current(cookie)
                .await
                .map_err(|e| ApiError::from(FlowError::Session(e)))?;
            Some(session.account.id.clone())
        }
        _ => None,
    };
    let mut flow = fed.new_flow(&id, fed.sign_in_target(q.return_to.as_deref()), link)?;
    let callback = fed.callback_url(&provider, &flow.s)?;
    let target = match &provider.config.settings {
        ProviderSettings::Fujian(s) => {
            flow.stage = if s.silent_check { 0 } else { 1 };
            s.start_url(&callback).map_err(FlowError::from)?
        }
        ProviderSettings::Oidc(_) => {
            let oidc = provider
                .oidc
                .as_ref()
                .ok_or_else(|| FlowError::LoginUnsupported(id.clone()))?;
            let req = oidc
                .authorization_url(&fed.http, &callback, &flow.s, &flow.n)
                .await
                .map_err(FlowError::from)?;
            flow.v = req.pkce_verifier;
            req.url
        }
        ProviderSettings::OAuth2(s) => {
            let req = s
                .authorization_url(&callback, &flow.s)
                .map_err(FlowError::from)?;
            flow.v = req.pkce_verifier;
            req.url
        }
        ProviderSettings::Elongyan(_) => return Err(FlowError::LoginUnsupported(id).into()),
    };
    Ok(redirect(
        StatusCode::FOUND,
        target.as_str(),
        &[flow_cookie(fed, &flow)?],
    ))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    pub state: Option<String>,
    /// Provincial platform: the one-time trust ticket.
    pub trustticket: Option<String>,
    /// OpenID Connect / OAuth 2.0: the authorisation code.
    pub code: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// The provider's return: verifies state, ticket or code, then signs in (or links) and 302s
/// to the requested page with the session cookie.
#[utoipa::path(get, path = "/sso/{provider}/callback", tag = "sign-in",
    params(("provider" = String, Path), CallbackQuery),
    responses(
        (status = 302, description = "signed in; to return_to"),
        (status = 400, description = "sso.state_invalid, sso.ticket_missing", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "sso.ticket_invalid, sso.ticket_replayed, sso.id_token_invalid, sso.nonce_mismatch, sso.userinfo_mismatch", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 502, description = "sso.provider_unavailable, sso.provider_refused", body = ProblemDocument, content_type = "application/problem+json"),
    ))]
pub async fn callback(
    State(state): State<SsoState>,
    ctx: RequestContext,
    headers: HeaderMap,
    PathParams(id): PathParams<String>,
    axum::extract::Query(q): axum::extract::Query<CallbackQuery>,
) -> Response {
    if let Err(e) = rate_limited(&state, &ctx) {
        return e.into_response();
    }
    let flow_name = q.state.as_deref().map(Federation::flow_cookie_name);
    match complete_callback(&state, &ctx, &headers, &id, q).await {
        Ok(res) => res,
        Err(e) => {
            audit_failure(&state.platform.audit, &id, "callback", &e, &ctx).await;
            failure(e, flow_name.map(|n| clear_cookie(&n)))
        }
    }
}

async fn complete_callback(
    state: &SsoState,
    ctx: &RequestContext,
    headers: &HeaderMap,
    id: &str,
    q: CallbackQuery,
) -> Result<Response, FlowError> {
    let fed = &state.federation;
    let provider = fed.provider(id)?;
    let st = q
        .state
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or(crate::error::Error::StateInvalid)?;
    let flow_name = Federation::flow_cookie_name(st);
    let mut flow = fed.open_flow(id, st, platform::http::cookie::cookie(headers, &flow_name))?;
    let callback = fed.callback_url(&provider, st)?;
    let identity = match &provider.config.settings {
        ProviderSettings::Fujian(s) => match q.trustticket.as_deref().filter(|t| !t.is_empty()) {
            // No provincial session yet: from the silent check on to the login page, once.
            None if flow.stage == 0 => {
                flow.stage = 1;
                return Ok(redirect(
                    StatusCode::FOUND,
                    s.login_url(&callback)?.as_str(),
                    &[flow_cookie(fed, &flow)?],
                ));
            }
            None => return Err(crate::error::Error::TicketMissing.into()),
            Some(ticket) => {
                fed.once_all(vec![
                    (format!("{id}:state"), st, crate::error::Error::StateInvalid),
                    (
                        format!("{id}:ticket"),
                        ticket,
                        crate::error::Error::TicketReplayed,
                    ),
                ])
                .await?;
                s.redeem(&fed.http, ticket).await?
            }
        },
        ProviderSettings::Oidc(_) | ProviderSettings::OAuth2(_) => {
            if let Some(err) = q.error {
                let description = q
                    .error_description
                    .unwrap_or(err)
                    .chars()
                    .take(200)
                    .collect();
                return Err(crate::error::Error::AccessDenied { description }.into());
            }
            let code = q
                .code
                .as_deref()
                .filter(|c| !c.is_empty())
                .ok_or(crate::error::Error::TicketMissing)?;
            fed.once(format!("{id}:state"), st, crate::error::Error::StateInvalid)
                .await?;
            match (&provider.config.settings, &provider.oidc) {
                (ProviderSettings::OAuth2(s), _) => {
                    s.complete(&fed.http, &callback, code, &flow.v).await?
                }
                (_, Some(oidc)) => {
                    oidc.complete(&fed.http, &callback, code, &flow.v, &flow.n)
                        .await?
                }
                _ => return Err(FlowError::LoginUnsupported(id.to_owned())),
            }
        }
        ProviderSettings::Elongyan(_) => return Err(FlowError::LoginUnsupported(id.to_owned())),
    };
    let clear_flow = clear_cookie(&flow_name);
    if let Some(account_id) = &flow.link {
        // Linking: the browser must still be signed in to the account it started from.
        let cookie = platform::http::cookie::cookie(headers, SESSION_COOKIE)
            .ok_or(crate::error::Error::StateInvalid)?;
        let session = state.platform.sessions.current(cookie).await?;
        if session.account.id != *account_id {
            return Err(crate::error::Error::StateInvalid.into());
        }
        let actor =
            crate::federation::actor_of(account_id, &session.account.display_name, &identity);
        state
            .platform
            .accounts
            .link(account_id, &identity, ctx, actor)
            .await?;
        state.platform.sessions.refresh_account(account_id);
        return Ok(redirect(StatusCode::FOUND, &flow.r, &[clear_flow]));
    }
    sign_in(
        state,
        ctx,
        headers,
        &provider,
        &identity,
        &flow.r,
        vec![clear_flow],
    )
    .await
}

/// Creates the session and redirects, ending any session the browser had (ids are rotated at
/// every sign-in).
async fn sign_in(
    state: &SsoState,
    ctx: &RequestContext,
    headers: &HeaderMap,
    provider: &Provider,
    identity: &platform::subject::VerifiedIdentity,
    to: &str,
    mut cookies: Vec<String>,
) -> Result<Response, FlowError> {
    if let Some(old) = platform::http::cookie::cookie(headers, SESSION_COOKIE) {
        state.platform.sessions.end(old).await?;
    }
    let cookie = complete_sign_in(&state.platform, provider, identity, ctx).await?;
    cookies.push(session_cookie(&cookie));
    Ok(redirect(StatusCode::FOUND, to, &cookies))
}

/// e-Longyan's entry (GET): a user signed in there arrives with a ticket or a signed assertion
/// (docs/ELONGYAN.md) and is sent on to the allowlisted `target`, signed in.
#[utoipa::path(get, path = "/sso/{provider}/entry", tag = "sign-in",
    params(("provider" = String, Path)),
    responses(
        (status = 302, description = "signed in; to the target"),
        (status = 400, description = "sso.entry_invalid, sso.target_not_allowed", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "sso.signature_invalid, sso.timestamp_stale, sso.nonce_replayed, sso.ticket_invalid, sso.ticket_replayed", body = ProblemDocument, content_type = "application/problem+json"),
    ))]
pub async fn entry_get(
    State(state): State<SsoState>,
    ctx: RequestContext,
    headers: HeaderMap,
    PathParams(id): PathParams<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    entry(state, ctx, headers, id, params).await
}

/// e-Longyan's entry (form POST), the same parameters as the GET.
#[utoipa::path(post, path = "/sso/{provider}/entry", tag = "sign-in",
    params(("provider" = String, Path)),
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 302, description = "signed in; to the target")))]
pub async fn entry_post(
    State(state): State<SsoState>,
    ctx: RequestContext,
    headers: HeaderMap,
    PathParams(id): PathParams<String>,
    body: Bytes,
) -> Response {
    let params = url::form_urlencoded::parse(&body).into_owned().collect();
    entry(state, ctx, headers, id, params).await
}

async fn entry(
    state: SsoState,
    ctx: RequestContext,
    headers: HeaderMap,
    id: String,
    params: Vec<(String, String)>,
) -> Response {
    if let Err(e) = rate_limited(&state, &ctx) {
        return e.into_response();
    }
    match complete_entry(&state, &ctx, &headers, &id, &params).await {
        Ok(res) => res,
        Err(e) => {
            audit_failure(&state.platform.audit, &id, "entry", &e, &ctx).await;
            failure(e, None)
        }
    }
}

async fn complete_entry(
    state: &SsoState,
    ctx: &RequestContext,
    headers: &HeaderMap,
    id: &str,
    params: &[(String, String)],
) -> Result<Response, FlowError> {
    let fed = &state.federation;
    let provider = fed.provider(id)?;
    let ProviderSettings::Elongyan(s) = &provider.config.settings else {
        return Err(crate::error::Error::EntryInvalid {
            reason: "this provider has no entry endpoint".into(),
        }
        .into());
    };
    let entry = s.verify(params, state.platform.clock.now().0)?;
    let target = match entry.target() {
        "" => platform::web::site::USER_CENTRE.to_owned(),
        t => crate::redirect::safe_target(t, &fed.allowed_origins)
            .ok_or(crate::error::Error::TargetNotAllowed)?,
    };
    let (kind, value) = entry.single_use();
    let replayed = if kind == "ticket" {
        crate::error::Error::TicketReplayed
    } else {
        crate::error::Error::NonceReplayed
    };
    fed.once(format!("{id}:{kind}"), value, replayed).await?;
    let identity = match entry {
        crate::elongyan::Entry::Ticket { ticket, .. } => s.redeem(&fed.http, &ticket).await?,
        crate::elongyan::Entry::Signed { identity, .. } => *identity,
    };
    sign_in(
        state,
        ctx,
        headers,
        &provider,
        &identity,
        &target,
        Vec::new(),
    )
    .await
}

/// OpenID Connect back-channel logout: the provider ends its session and every hub session
/// that came from it ends too.
#[utoipa::path(post, path = "/sso/{provider}/backchannel-logout", tag = "sign-in",
    params(("provider" = String, Path)),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "logout_token=<JWT>"),
    responses((status = 200, description = "sessions ended"), (status = 400, description = "sso.logout_token_invalid", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn backchannel_logout(
    State(state): State<SsoState>,
    ctx: RequestContext,
    PathParams(id): PathParams<String>,
    body: Bytes,
) -> Response {
    let token: Option<String> = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.into_owned());
    let result: Result<u64, FlowError> = async {
        let fed = &state.federation;
        let provider = fed.provider(&id)?;
        let oidc = provider.oidc.as_ref().ok_or_else(|| FlowError::LoginUnsupported(id.clone()))?;
        let token = token.ok_or(crate::error::Error::LogoutTokenInvalid { reason: "no logout_token".into() })?;
        let claims = oidc.verify_logout_token(&fed.http, &token, state.platform.clock.now().as_secs()).await?;
        fed.once(format!("{id}:jti"), &claims.jti, crate::error::Error::LogoutTokenInvalid { reason: "replayed".into() }).await?;
        let n = state.platform.sessions.end_for_provider(&id, claims.session.as_deref(), claims.subject.as_deref()).await?;
        state
            .platform
            .audit
            .append(
                AuditEvent::new("sso.backchannel_logout", Outcome::Success)
                    .actor(platform::audit::Actor::new(platform::audit::ActorKind::System, Some(id.clone()), None))
                    .details(serde_json::json!({ "provider": id, "subject": claims.subject, "sid": claims.session, "sessions": n }))
                    .context(&ctx),
            )
            .await?;
        Ok(n)
    }
    .await;
    match result {
        Ok(_) => (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")]).into_response(),
        Err(e) => {
            audit_failure(&state.platform.audit, &id, "backchannel-logout", &e, &ctx).await;
            failure(e, None)
        }
    }
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogoutQuery {
    pub return_to: Option<String>,
}

/// The logout confirmation page (a link never signs anyone out: the page's form posts).
#[utoipa::path(get, path = "/sso/logout", tag = "sign-in", params(LogoutQuery),
    responses((status = 200, content_type = "text/html", body = String)))]
pub async fn logout_page(
    State(state): State<SsoState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<LogoutQuery>,
) -> Response {
    let to = state.federation.return_to(q.return_to.as_deref());
    let Some((cookie, session)) = (match platform::http::cookie::cookie(&headers, SESSION_COOKIE) {
        Some(c) => state
            .platform
            .sessions
            .current(c)
            .await
            .ok()
            .map(|s| (c, s)),
        None => None,
    }) else {
        return crate::pages::signed_out(&state.platform);
    };
    let mut res = crate::pages::logout_confirm(
        &state.platform,
        &session.account.display_name,
        &csrf_token(&state.platform.keys, cookie),
        &to,
    );
    // The form's POST ends in a redirect to the provider's logout, which browsers check against
    // the page's `form-action`: allow exactly that origin.
    if let Ok(provider) = state.federation.provider(&session.provider)
        && provider.config.logout
        && let Some(csp) = provider_logout(&state, &provider, None, &to)
            .await
            .and_then(|u| url::Url::parse(&u).ok())
            .and_then(|u| platform::http::middleware::csp_with_form_action(&u))
    {
        res.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    res
}

/// Signs out: ends the session here and sends the browser to the provider's logout where the
/// provider has one. Needs the session's CSRF token (form field `csrf` or `X-CSRF-Token`).
#[utoipa::path(post, path = "/sso/logout", tag = "sign-in",
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "csrf=<token>&return_to=/path"),
    responses((status = 303, description = "to the provider's logout or return_to"), (status = 403, description = "request.csrf_token_invalid", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn logout(
    State(state): State<SsoState>,
    ctx: RequestContext,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let to = state.federation.return_to(field("return_to").as_deref());
    let Some(cookie) = platform::http::cookie::cookie(&headers, SESSION_COOKIE) else {
        return Ok(redirect(StatusCode::SEE_OTHER, &to, &[]));
    };
    let given = field("csrf").or_else(|| {
        headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    });
    let expected = csrf_token(&state.platform.keys, cookie);
    if !given.is_some_and(|g| {
        bool::from(subtle::ConstantTimeEq::ct_eq(
            g.as_bytes(),
            expected.as_bytes(),
        ))
    }) {
        return Err(ApiError::new(
            ErrorCode::CsrfTokenInvalid,
            "the logout form is stale or forged; open /sso/logout and confirm again",
        ));
    }
    let session = state.platform.sessions.current(cookie).await.ok();
    let ended = state
        .platform
        .sessions
        .end(cookie)
        .await
        .map_err(|e| ApiError::from(FlowError::Session(e)))?;
    let mut location = to.clone();
    if let (Some(ended), Some(session)) = (ended, session) {
        state
            .platform
            .audit
            .append(
                AuditEvent::new("sso.logout", Outcome::Success)
                    .actor(session.actor())
                    .target(format!("session:{}", session.handle))
                    .details(serde_json::json!({ "provider": ended.provider }))
                    .context(&ctx),
            )
            .await?;
        if let Ok(provider) = state.federation.provider(&ended.provider)
            && provider.config.logout
        {
            location = provider_logout(&state, &provider, ended.id_token.as_deref(), &to)
                .await
                .unwrap_or(location);
        }
    }
    let clear = format!("{SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0");
    if headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
    {
        let mut res = axum::Json(serde_json::json!({ "redirect": location })).into_response();
        if let Ok(v) = HeaderValue::from_str(&clear) {
            res.headers_mut().insert(header::SET_COOKIE, v);
        }
        return Ok(res);
    }
    Ok(redirect(StatusCode::SEE_OTHER, &location, &[clear]))
}

/// The provider's logout URL, returning to `to` (or the signed-out page) afterwards.
async fn provider_logout(
    state: &SsoState,
    provider: &Arc<Provider>,
    id_token: Option<&str>,
    to: &str,
) -> Option<String> {
    let fed = &state.federation;
    let back = fed
        .url(if to.starts_with('/') {
            to
        } else {
            "/sso/logged-out"
        })
        .ok()?;
    match (&provider.config.settings, &provider.oidc) {
        (ProviderSettings::Fujian(s), _) => s.logout_url(&back).ok().map(|u| u.to_string()),
        (_, Some(oidc)) => {
            let back = fed.url("/sso/logged-out").ok()?;
            oidc.logout_url(&fed.http, id_token, &back)
                .await
                .ok()
                .flatten()
                .map(|u| u.to_string())
        }
        _ => None,
    }
}

/// Where providers send the browser after their logout.
#[utoipa::path(get, path = "/sso/logged-out", tag = "sign-in", responses((status = 200, content_type = "text/html", body = String)))]
pub async fn logged_out(State(state): State<SsoState>) -> Response {
    crate::pages::signed_out(&state.platform)
}
