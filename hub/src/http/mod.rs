//! HTTP assembly: the router with every route and its OpenAPI description, and the middleware
//! stack in the order requests meet it.

pub mod extract;
pub mod metrics;
pub mod middleware;
pub mod problem;
pub mod ratelimit;
pub mod tls;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use http::HeaderName;
use tower::ServiceBuilder;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::api;
use crate::app::AppState;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

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
                crate::admin::SESSION_COOKIE,
            ))),
        );
    }
}

/// The OpenAPI document of every JSON endpoint, generated from the handlers' annotations.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes(None).split_for_parts().1
}

/// Every route. The administration and account APIs refuse cross-site state changes (`csrf`);
/// the sign-in endpoints cannot — providers' callbacks, e-Longyan's form posts and back-channel
/// logouts come from other sites by design — and rely on state, signatures and tokens instead.
fn routes(csrf: Option<tower_http::csrf::CsrfLayer>) -> OpenApiRouter<AppState> {
    let mut protected = OpenApiRouter::new()
        .merge(api::admin::routes())
        .merge(api::audit::routes())
        .merge(api::accounts::routes())
        .merge(api::me::routes())
        .merge(api::connectors::admin_routes())
        .merge(api::exchange::admin_routes());
    if let Some(layer) = csrf {
        protected = protected.layer(layer);
    }
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(api::ops::routes())
        .merge(protected)
        .merge(api::sso::routes())
        .merge(api::connectors::public_routes())
        .merge(api::exchange::public_routes())
}

pub fn router(state: AppState, extra: Option<Router>) -> Router {
    let csrf = csrf_layer(&state.config.server.public_url);
    let (router, doc) = routes(Some(csrf)).split_for_parts();
    let doc_json = doc.to_json().unwrap_or_default();
    let body_limit = state.config.server.body_limit;
    let timeout = state.config.server.request_timeout;

    let router = match extra {
        Some(x) => router.merge(x.with_state::<AppState>(())),
        None => router,
    };
    router
        .route("/", axum::routing::get(index))
        .route(
            "/openapi.json",
            axum::routing::get(move || async move {
                ([(http::header::CONTENT_TYPE, "application/json")], doc_json).into_response()
            }),
        )
        .fallback(|| async { http::StatusCode::NOT_FOUND })
        // Outermost first: observe (request id, span, problem rendering, metrics, access log),
        // security headers, the time limit, the body limit, cross-origin protection.
        .layer(
            ServiceBuilder::new()
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    middleware::observe,
                ))
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    middleware::security_headers,
                ))
                .layer(tower_http::catch_panic::CatchPanicLayer::new())
                .layer(axum::middleware::from_fn_with_state(
                    timeout,
                    middleware::time_limit,
                ))
                .layer(DefaultBodyLimit::disable())
                .layer(tower_http::limit::RequestBodyLimitLayer::new(body_limit)),
        )
        .with_state(state)
}

/// The landing page: what this service is, how to sign in, where its interfaces are.
async fn index(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::response::Html<String> {
    use crate::config::ProviderSettings;
    use crate::pages::escape;
    let mut links = String::new();
    for p in &state.config.providers {
        if !matches!(p.settings, ProviderSettings::Elongyan(_)) {
            links.push_str(&format!(
                "<li><a href=\"/sso/{}/login?return_to=/api/me\">使用{}登录</a></li>\n",
                escape(&p.id),
                escape(&p.display_name)
            ));
        }
    }
    let signin = if links.is_empty() {
        String::new()
    } else {
        format!("<h2>登录</h2>\n<ul>\n{links}</ul>\n")
    };
    let mut services = String::new();
    for e in &state.connectors.snapshot().entries {
        let d = &e.definition;
        let status = e.status(&state.config.connectors);
        let name = if status.jumpable() {
            let target = match d.open_mode {
                connectors::OpenMode::NewTab => " target=\"_blank\" rel=\"noopener noreferrer\"",
                connectors::OpenMode::SameTab => "",
            };
            format!(
                "<a href=\"/go/{}\"{target}>{}</a>",
                escape(&d.code),
                escape(&d.name)
            )
        } else {
            escape(&d.name)
        };
        services.push_str(&format!(
            "<li>{name}（{}，{}）</li>\n",
            escape(&d.category),
            status.label_zh()
        ));
    }
    let services = if services.is_empty() {
        String::new()
    } else {
        format!("<h2>网上办事</h2>\n<ul>\n{services}</ul>\n")
    };
    axum::response::Html(format!(
        r#"<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>龙岩普惠金融平台 · 身份联邦与集成枢纽</title></head>
<body>
<h1>龙岩普惠金融平台 · 身份联邦与集成枢纽</h1>
<p>本服务为平台提供统一身份认证、外部平台对接与数据交换能力。</p>
{signin}{services}<h2>接口</h2>
<ul>
<li><a href="/api/me">当前登录用户</a> · <a href="/sso/logout">退出登录</a></li>
<li><a href="/api/connectors">外部平台列表（网上办事）</a></li>
<li><a href="/openapi.json">接口说明（OpenAPI 3.1）</a></li>
<li><a href="/readyz">就绪状态</a> · <a href="/healthz">存活状态</a> · <a href="/metrics">运行指标</a></li>
</ul>
<p>管理接口位于 <code>/api/admin/</code>，需管理员登录（密码 + 动态口令）或访问令牌。</p>
</body>
</html>
"#
    ))
}

fn csrf_layer(public_url: &str) -> tower_http::csrf::CsrfLayer {
    let layer = tower_http::csrf::CsrfLayer::new();
    match layer.clone().add_trusted_origin(public_url) {
        Ok(l) => l,
        Err(_) => layer,
    }
}
