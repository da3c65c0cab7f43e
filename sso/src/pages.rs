//! The sign-in pages people see (in Simplified Chinese, in the site's layout): the logout
//! confirmation and the signed-out notice. The templates are embedded here and installed with
//! every feature's by the binary; operators may replace them (docs/THEMES.md).

use axum::response::Response;
use platform::Platform;
use platform::web::site::{HeaderUser, portal_nav};

/// The sign-in federation's templates.
pub const TEMPLATES: platform::web::templates::Sources = &[
    ("sso/logout.html", include_str!("../templates/logout.html")),
    (
        "sso/signed_out.html",
        include_str!("../templates/signed_out.html"),
    ),
];

/// Asks before signing out (a link must not sign anyone out: the form posts, with a token).
pub fn logout_confirm(platform: &Platform, who: &str, csrf: &str, return_to: &str) -> Response {
    let mut base = platform.web.base("退出登录", "portal", portal_nav(""));
    base.user = Some(HeaderUser {
        display_name: who.to_owned(),
        role_label: String::new(),
    });
    platform.web.page(
        "sso/logout.html",
        &base,
        serde_json::json!({ "csrf": csrf, "return_to": return_to }),
    )
}

pub fn signed_out(platform: &Platform) -> Response {
    let base = platform.web.base("已退出", "portal", portal_nav(""));
    platform
        .web
        .page("sso/signed_out.html", &base, serde_json::json!({}))
}
