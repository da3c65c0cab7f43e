//! Middleware every request passes: request id and tracing span, problem rendering, metrics and
//! the access log; security headers; the time limit.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};
use tracing::Instrument;

use super::metrics::{RequestLabels, RouteLabels};
use super::problem::{self, ApiError, ErrorCode, Problem};
use super::request_id::REQUEST_ID;
use crate::state::Platform;

/// A client may supply its own id (to correlate across systems) if it is short and plain.
fn acceptable_request_id(v: &HeaderValue) -> Option<&str> {
    let s = v.to_str().ok()?;
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then_some(s)
}

/// Paths of programs, not people: they answer problem documents even to a browser.
fn is_machine_path(path: &str) -> bool {
    ["/api/", "/exchange/", "/static/", "/sandbox/"]
        .iter()
        .any(|p| path.starts_with(p))
        || matches!(
            path,
            "/api" | "/openapi.json" | "/metrics" | "/healthz" | "/readyz"
        )
}

/// Operations endpoints are polled constantly; their access lines are debug-level.
fn is_probe(route: &str) -> bool {
    matches!(route, "/healthz" | "/readyz" | "/metrics")
}

pub async fn observe(State(state): State<Platform>, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let request_id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(acceptable_request_id)
        .map(str::to_owned)
        .unwrap_or_else(|| state.request_ids.next());
    let id_header =
        HeaderValue::from_str(&request_id).unwrap_or(HeaderValue::from_static("invalid"));
    req.headers_mut().insert(REQUEST_ID, id_header.clone());
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let span =
        tracing::info_span!("request", request_id = %request_id, method = %method, route = %route);
    // People in browsers get a page in Chinese; programs get problem+json. The JSON interfaces
    // answer problem documents whatever the client accepts.
    let path = req.uri().path();
    let area = if path.starts_with("/console") {
        "console"
    } else {
        "portal"
    };
    let html = !is_machine_path(path)
        && req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html") && !a.starts_with("application/json"));

    // Outbound calls made while handling the request carry its id (`x-request-id`).
    let mut res =
        outbound::scope_request_id(request_id.clone(), next.run(req).instrument(span.clone()))
            .await;

    render_problem(&mut res, &request_id, html.then_some((&state, area)));
    res.headers_mut().insert(REQUEST_ID, id_header);

    let status = res.status().as_u16();
    let elapsed = start.elapsed();
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            method: method.clone(),
            route: route.clone(),
            status,
        })
        .inc();
    state
        .metrics
        .latency
        .get_or_create(&RouteLabels {
            method,
            route: route.clone(),
        })
        .observe(elapsed.as_secs_f64());
    let _enter = span.enter();
    let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    if is_probe(&route) {
        tracing::debug!(target: "hub::access", status, micros, "request");
    } else {
        tracing::info!(target: "hub::access", status, micros, "request");
    }
    res
}

/// Gives an error response its problem document: from the [`Problem`] a handler attached, or, for
/// a bare framework response, from its status.
fn render_problem(res: &mut Response, request_id: &str, html: Option<(&Platform, &'static str)>) {
    let problem = match res.extensions_mut().remove::<Problem>() {
        Some(p) => p,
        None => {
            let status = res.status();
            if !(status.is_client_error() || status.is_server_error())
                || res
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .is_some_and(|ct| ct.to_str().is_ok_and(|ct| !ct.starts_with("text/plain")))
            {
                return;
            }
            let csrf = res
                .extensions()
                .get::<tower_http::csrf::ProtectionError>()
                .is_some();
            let code = problem::code_for_status(status, csrf);
            Problem {
                code,
                detail: problem::default_detail(code).into(),
                errors: Vec::new(),
                location: None,
            }
        }
    };
    *res.status_mut() = problem.code.status();
    let (body, content_type) = if let Some((state, area)) = html {
        let code = problem.code.as_str();
        (
            state
                .web
                .error_document(
                    area,
                    problem.code.title(),
                    crate::pages::advice(code),
                    code,
                    Some(request_id),
                )
                .into_bytes(),
            "text/html; charset=utf-8",
        )
    } else {
        (
            problem::render(&problem, request_id),
            "application/problem+json",
        )
    };
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res.headers_mut().remove(header::CONTENT_LENGTH);
    *res.body_mut() = Body::from(body);
}

/// The default content security policy of every response.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The default policy, but letting forms (and the redirects that follow their submission, which
/// browsers check against `form-action` too) reach `url`'s origin as well: for the logout page,
/// whose form ends at the provider's logout. `None` for a URL without a proper origin.
pub fn csp_with_form_action(url: &url::Url) -> Option<HeaderValue> {
    let origin = url.origin();
    if !origin.is_tuple() {
        return None;
    }
    let policy = CSP.replacen(
        "form-action 'self'",
        &format!("form-action 'self' {}", origin.ascii_serialization()),
        1,
    );
    HeaderValue::from_str(&policy).ok()
}

/// Headers that make browsers safer by default. A handler that needs another policy (a page
/// with a form posting elsewhere, say) sets its own and this leaves it alone.
pub async fn security_headers(State(state): State<Platform>, req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let defaults: [(header::HeaderName, &'static str); 6] = [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            header::HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=(), payment=()",
        ),
    ];
    for (name, value) in defaults {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    }
    if api && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Some(v) = &state.hsts {
        h.insert(header::STRICT_TRANSPORT_SECURITY, v.clone());
    }
    res
}

/// Ends requests that take longer than `server.request_timeout` with a problem document.
pub async fn time_limit(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => ApiError::new(
            ErrorCode::Timeout,
            problem::default_detail(ErrorCode::Timeout),
        )
        .into_response(),
    }
}
