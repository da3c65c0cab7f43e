//! The site: its name and navigation, and the context every page shares (the layout's keys in
//! docs/THEMES.md).

use serde::Serialize;

/// One entry of the navigation.
#[derive(Clone, Debug, Serialize)]
pub struct NavItem {
    pub label: &'static str,
    pub href: &'static str,
    pub current: bool,
}

/// A one-time notice after a redirect.
#[derive(Clone, Debug, Serialize)]
pub struct Flash {
    /// `success`, `info` or `error`.
    pub kind: &'static str,
    pub text: String,
}

/// The signed-in person as the header shows them.
#[derive(Clone, Debug, Serialize)]
pub struct HeaderUser {
    pub display_name: String,
    pub role_label: String,
}

/// The context every page shares.
#[derive(Clone, Debug, Serialize)]
pub struct Base {
    pub site_name: String,
    pub title: String,
    /// `portal` or `console`.
    pub area: &'static str,
    pub nav: Vec<NavItem>,
    pub user: Option<HeaderUser>,
    pub admin: Option<HeaderUser>,
    pub csrf: Option<String>,
    pub flash: Option<Flash>,
    pub search_q: String,
    /// The stylesheet's versioned URL.
    pub css: String,
    pub logo: String,
}

/// The user centre (用户中心): where a sign-in without a requested target ends.
pub const USER_CENTRE: &str = "/user";

/// The portal's columns, in the order of the seed documents (INTERFACES.md: exact names).
pub const COLUMNS: [(&str, &str); 8] = [
    ("首页", "/"),
    ("政策专题", "/policies"),
    ("金融产品", "/products"),
    ("融资需求", "/demands"),
    ("金融教育", "/education"),
    ("入驻机构", "/institutions"),
    ("网上办事", "/services"),
    ("用户中心", USER_CENTRE),
];

/// The navigation with `current` marking the column at `href`.
pub fn portal_nav(current: &str) -> Vec<NavItem> {
    COLUMNS
        .iter()
        .map(|(label, href)| NavItem {
            label,
            href,
            current: *href == current,
        })
        .collect()
}
