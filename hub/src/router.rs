//! HTTP assembly: the router with every feature's routes and their OpenAPI description, and
//! the middleware stack in the order requests meet it.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use tower::ServiceBuilder;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use platform::http::{middleware, problem};

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Longyan inclusive-finance identity federation and integration hub",
        description = "The hub's JSON interface: operations, administration and audit. Errors are application/problem+json with a stable `code` (see docs/ERRORS.md).",
        license(name = "Apache-2.0")
    ),
    components(schemas(problem::ProblemDocument, problem::FieldError)),
    modifiers(&SecuritySchemes)
)]
struct ApiDoc;

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "admin_session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                platform::admin::SESSION_COOKIE,
            ))),
        );
    }
}

/// Every route, each group with its state. The administration and account APIs refuse
/// cross-site state changes (`csrf`); the sign-in endpoints cannot — providers' callbacks,
/// e-Longyan's form posts and back-channel logouts come from other sites by design — and rely
/// on state, signatures and tokens instead.
fn routes(state: &AppState, csrf: tower_http::csrf::CsrfLayer) -> OpenApiRouter {
    let platform = state.platform.clone();
    let protected = OpenApiRouter::new()
        .merge(platform::api::admin::routes().with_state(platform.clone()))
        .merge(platform::api::audit::routes().with_state(platform.clone()))
        .merge(platform::api::accounts::routes().with_state(platform.clone()))
        .merge(platform::api::me::routes().with_state(platform.clone()))
        .merge(sso::providers::routes().with_state(state.sso()))
        .merge(connectors::routes::admin_routes().with_state(state.connector_state()))
        .merge(exchange::routes::admin_routes().with_state(state.exchange_state()))
        .merge(portal::api::protected_routes().with_state(state.portal.clone()))
        .layer(csrf);
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(platform::api::ops::routes().with_state(platform))
        .merge(protected)
        .merge(sso::routes::routes().with_state(state.sso()))
        .merge(connectors::routes::public_routes().with_state(state.connector_state()))
        .merge(exchange::routes::public_routes().with_state(state.exchange_state()))
        .merge(portal::api::public_routes().with_state(state.portal.clone()))
}

/// The whole service: every route behind the middleware stack. `extra` (the demo's sandbox
/// simulators) is served behind the same middleware.
pub fn router(state: &AppState, extra: Option<Router>) -> Router {
    let server = &state.config.platform.server;
    let csrf = csrf_layer(&server.public_url);
    let (router, doc) = routes(state, csrf.clone()).split_for_parts();
    let doc_json = doc.to_json().unwrap_or_default();
    let body_limit = server.body_limit;
    let upload_limit = state.config.content.max_upload_bytes;
    let timeout = server.request_timeout;

    let router = match extra {
        Some(x) => router.merge(x),
        None => router,
    };
    let platform = state.platform.clone();
    router
        // The pages' forms are same-origin only, like the JSON API's changes; pages are read by
        // anyone.
        .merge(portal::pages(state.portal.clone()).layer(csrf))
        .merge(portal::assets(&state.portal))
        .route(
            "/openapi.json",
            axum::routing::get(move || async move {
                ([(http::header::CONTENT_TYPE, "application/json")], doc_json).into_response()
            }),
        )
        .fallback(|| async { http::StatusCode::NOT_FOUND })
        // Outermost first: observe (request id, span, problem rendering, metrics, access log),
        // security headers, compression, the time limit, the body limit, cross-origin
        // protection.
        .layer(
            ServiceBuilder::new()
                .layer(axum::middleware::from_fn_with_state(
                    platform.clone(),
                    middleware::observe,
                ))
                .layer(axum::middleware::from_fn_with_state(
                    platform,
                    middleware::security_headers,
                ))
                // gzip or brotli, as the client accepts (pages, stylesheets, JSON).
                .layer(tower_http::compression::CompressionLayer::new())
                .layer(tower_http::catch_panic::CatchPanicLayer::new())
                .layer(axum::middleware::from_fn_with_state(
                    timeout,
                    middleware::time_limit,
                ))
                .layer(DefaultBodyLimit::disable())
                .layer(axum::middleware::from_fn_with_state(
                    (body_limit, upload_limit),
                    limit_body,
                )),
        )
}

/// The forms that carry a file (an article's image or attachment, a word list): they may be
/// as large as `content.max_upload_bytes` (plus the form around the file).
const UPLOADS: &[&str] = &[
    "/console/content/files",
    "/console/library/words/import",
    "/user/policies/files",
];

/// Refuses a body over the limit of its path (`server.body_limit`, or the upload limit for
/// [`UPLOADS`]) before reading it when its length is declared, and while reading it otherwise.
async fn limit_body(
    axum::extract::State((normal, upload)): axum::extract::State<(usize, usize)>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let limit = if UPLOADS.contains(&req.uri().path()) {
        upload.saturating_add(64 * 1024).max(normal)
    } else {
        normal
    };
    let declared = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return http::StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let req = req.map(|b| axum::body::Body::new(http_body_util::Limited::new(b, limit)));
    next.run(req).await
}

fn csrf_layer(public_url: &str) -> tower_http::csrf::CsrfLayer {
    let layer = tower_http::csrf::CsrfLayer::new();
    match layer.clone().add_trusted_origin(public_url) {
        Ok(l) => l,
        Err(_) => layer,
    }
}
