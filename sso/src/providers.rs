//! The configured identity providers, for system administrators: `/api/admin/providers`.

use axum::extract::State;
use platform::admin::Permission;
use platform::context::RequestContext;
use platform::http::auth::AdminAuth;
use platform::http::extract::PathParams;
use platform::http::problem::{ApiError, ProblemDocument};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::federation::FlowError;
use crate::state::SsoState;

pub fn routes() -> OpenApiRouter<SsoState> {
    OpenApiRouter::new()
        .routes(routes!(list_providers))
        .routes(routes!(get_provider))
}

fn provider_view(p: &crate::config::ProviderConfig) -> ProviderView {
    ProviderView {
        id: p.id.clone(),
        kind: p.settings.kind().to_owned(),
        display_name: p.display_name.clone(),
        link_policy: p.link_policy.as_str().to_owned(),
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
    State(state): State<SsoState>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
) -> Result<axum::Json<Vec<ProviderView>>, ApiError> {
    state
        .platform
        .admins
        .authorize(&p, Permission::ProvidersManage, &ctx)
        .await?;
    let mut out: Vec<ProviderView> = state
        .federation
        .settings
        .providers
        .iter()
        .map(provider_view)
        .collect();
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
    State(state): State<SsoState>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<ProviderView>, ApiError> {
    state
        .platform
        .admins
        .authorize(&p, Permission::ProvidersManage, &ctx)
        .await?;
    state
        .federation
        .settings
        .providers
        .iter()
        .find(|p| p.id == id)
        .map(|p| axum::Json(provider_view(p)))
        .ok_or_else(|| ApiError::from(FlowError::UnknownProvider(id)))
}
