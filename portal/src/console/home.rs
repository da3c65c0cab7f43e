//! The console's first page: the platform's figures, what waits for this administrator, and the
//! sections the role opens.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use orgs::{OrgFilter, OrgStatus, Page};
use platform::admin::Permission;
use platform::http::problem::ApiError;
use platform::web::page::flash;

use super::frame::{ConsoleAdmin, SECTIONS, base};
use crate::state::PortalState;
use crate::view::{self, ListQuery};

const NOTICES: &[(&str, &str, &str)] = &[("password_changed", "success", "密码已修改。")];

/// `GET /console`.
pub async fn home(
    State(state): State<PortalState>,
    admin: ConsoleAdmin,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let role = admin.principal.role;
    let figures = state.figures().await?;
    let pending = if role.can(Permission::OrganisationsManage) {
        let filter = OrgFilter {
            status: Some(OrgStatus::Pending),
            ..OrgFilter::default()
        };
        Some(state.orgs.list(filter, Page::new(1, 1)).await?.total)
    } else {
        None
    };
    let sections: Vec<serde_json::Value> = SECTIONS
        .iter()
        .skip(1)
        .filter(|s| s.open_to(role))
        .map(|s| serde_json::json!({ "label": s.label, "href": s.href }))
        .collect();
    let mut b = base(&state, "概览", "/console", &admin);
    b.flash = flash(ListQuery::parse(q.as_deref()).get("ok"), NOTICES);
    Ok(state.platform.web.page(
        "console/home.html",
        &b,
        serde_json::json!({
            "figures": {
                "enterprises": figures.enterprises,
                "institutions": figures.institutions,
                "products": figures.products,
                "open_demands": figures.open_demands,
                "financing_yuan": view::yuan(figures.financing_fen),
            },
            "pending": pending,
            "sections": sections,
            "permissions": role.permissions().iter().map(|p| p.as_str()).collect::<Vec<_>>(),
            "role_label": role.label_zh(),
            "developer": role.can(Permission::ConfigRead),
        }),
    ))
}
