//! The lean portal (REQUIREMENTS D1–D13, E1): the pages people use — the home page, the
//! columns, 网上办事, the site search, sign-in, the user centre and the administrators'
//! console — server-rendered in Simplified Chinese from templates embedded in the binary
//! (operators may replace them through `[portal] theme_dir`, docs/THEMES.md), and the JSON
//! endpoints of the same functions.
//!
//! Pages call the same core functions as the JSON endpoints (the `orgs` service, the platform's
//! accounts, sessions, administrators and audit, the connector registry); no business rule
//! lives in a handler or a template. The layout, the macros, the error page, the static assets
//! and the form tokens are the platform's (`platform::web`).

pub mod api;
pub mod applications;
pub mod applications_api;
mod chart;
pub mod config;
pub mod console;
pub mod content;
pub mod content_api;
pub mod demands;
mod department;
mod editing;
pub mod institution_centre;
pub mod market_api;
pub mod products;
pub mod public;
pub mod state;
pub mod user;
pub mod view;

use axum::routing::{get, post};

pub use state::{Figures, PortalState};

/// The portal's own static assets (the article editor's script), served at `/static/`.
pub const ASSETS: platform::web::assets::Sources =
    &[("editor.js", include_bytes!("../static/editor.js"))];

/// The portal's templates, embedded.
pub const TEMPLATES: platform::web::templates::Sources = &[
    (
        "portal/home.html",
        include_str!("../templates/portal/home.html"),
    ),
    (
        "portal/column.html",
        include_str!("../templates/portal/column.html"),
    ),
    (
        "content/editor.html",
        include_str!("../templates/content/editor.html"),
    ),
    (
        "portal/policies_mine.html",
        include_str!("../templates/portal/policies_mine.html"),
    ),
    (
        "portal/policy_editor.html",
        include_str!("../templates/portal/policy_editor.html"),
    ),
    (
        "portal/articles.html",
        include_str!("../templates/portal/articles.html"),
    ),
    (
        "portal/article.html",
        include_str!("../templates/portal/article.html"),
    ),
    (
        "portal/services.html",
        include_str!("../templates/portal/services.html"),
    ),
    (
        "portal/institutions.html",
        include_str!("../templates/portal/institutions.html"),
    ),
    (
        "portal/institution.html",
        include_str!("../templates/portal/institution.html"),
    ),
    (
        "portal/search.html",
        include_str!("../templates/portal/search.html"),
    ),
    (
        "portal/login.html",
        include_str!("../templates/portal/login.html"),
    ),
    (
        "portal/user.html",
        include_str!("../templates/portal/user.html"),
    ),
    (
        "portal/org_register.html",
        include_str!("../templates/portal/org_register.html"),
    ),
    (
        "portal/members.html",
        include_str!("../templates/portal/members.html"),
    ),
];

/// The portal's pages and the console's. Forms are posted same-origin only (the caller wraps
/// these routes in the cross-origin guard) and carry a token bound to the session.
pub fn pages(state: PortalState) -> axum::Router {
    axum::Router::new()
        .route("/", get(public::home))
        .route("/policies", get(content::policies))
        .route("/education", get(content::education))
        .route("/news", get(content::news))
        .route("/notices", get(content::notices))
        .route("/articles/{id}", get(content::article))
        .route("/tags/{tag}", get(content::tag))
        .route("/files/{id}", get(content::file))
        .route("/follow", post(content::follow))
        .route("/institutions", get(public::institutions))
        .route("/institutions/{id}", get(public::institution))
        .route("/services", get(public::services))
        .route("/search", get(public::search))
        .route("/login", get(user::login))
        .route("/user", get(user::centre))
        .route("/user/sessions/revoke", post(user::revoke_session))
        .route("/user/identities/unlink", post(user::unlink_identity))
        .route(
            "/user/organisation",
            get(user::org_form).post(user::org_submit),
        )
        .route("/user/members", get(user::members).post(user::add_member))
        .route("/user/members/status", post(user::member_status))
        .route("/user/policies", get(department::list))
        .route(
            "/user/policies/new",
            get(department::new_form).post(department::create),
        )
        .route("/user/policies/files", post(department::upload))
        .route(
            "/user/policies/{id}",
            get(department::show).post(department::save),
        )
        .route("/user/policies/{id}/{step}", post(department::step))
        .merge(console::routes())
        .merge(products::routes())
        .merge(demands::routes())
        .merge(applications::routes())
        .merge(institution_centre::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            content::track,
        ))
        .with_state(state)
}

/// The stylesheet, the logo and the operator's theme assets, at `/static/`.
pub fn assets(state: &PortalState) -> axum::Router {
    platform::web::assets::routes(state.platform.web.assets())
}
