//! The pages of a jump that cannot go ahead at once (in Simplified Chinese, in the site's
//! layout): a connector that is unknown, disabled or not configured, and the notice before a
//! platform that failed its last health check. The templates are embedded here and installed
//! with every feature's by the binary; operators may replace them (docs/THEMES.md).

use axum::response::Response;
use http::StatusCode;
use platform::Platform;
use platform::clock::Millis;
use platform::pages::beijing_time;
use platform::web::site::portal_nav;

/// The connectors' templates.
pub const TEMPLATES: platform::web::templates::Sources = &[
    (
        "connectors/unavailable.html",
        include_str!("../templates/unavailable.html"),
    ),
    (
        "connectors/interstitial.html",
        include_str!("../templates/interstitial.html"),
    ),
];

/// `/go/{code}` for a connector that is unknown, disabled or not configured yet (404).
pub fn connector_unavailable(
    platform: &Platform,
    name: Option<&str>,
    unconfigured: bool,
    request_id: &str,
) -> Response {
    let (heading, text) = match (name, unconfigured) {
        (Some(n), true) => (
            format!("{n}暂未开通"),
            "该服务的访问地址尚待平台管理员配置，开通后即可从“网上办事”页面进入。",
        ),
        (Some(n), false) => (
            format!("{n}已停用"),
            "该服务已暂停提供，请稍后再试或联系平台运营方。",
        ),
        (None, _) => (
            "未找到该服务".to_owned(),
            "您访问的服务不存在，请从“网上办事”页面重新选择。",
        ),
    };
    let base = platform
        .web
        .base(&heading, "portal", portal_nav("/services"));
    platform.web.page_status(
        StatusCode::NOT_FOUND,
        "connectors/unavailable.html",
        &base,
        serde_json::json!({ "heading": heading, "text": text, "request_id": request_id }),
    )
}

/// Before a jump to a platform that failed its last health check: says so, and still offers
/// the link (some platforms time out from some networks only).
pub fn connector_interstitial(
    platform: &Platform,
    name: &str,
    code: &str,
    checked_at: Option<Millis>,
    notice: Option<&str>,
) -> Response {
    let base = platform.web.base(
        format!("{name}暂时无法访问"),
        "portal",
        portal_nav("/services"),
    );
    platform.web.page(
        "connectors/interstitial.html",
        &base,
        serde_json::json!({
            "name": name,
            "checked_at": checked_at.map(beijing_time),
            "notice": notice,
            "proceed_href": format!("/go/{code}?proceed=1"),
        }),
    )
}
