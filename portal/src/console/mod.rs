//! The administrators' console (管理控制台): web pages over the administration functions the
//! JSON API offers, for the three separated roles. Each section needs a permission; a section
//! the administrator's role lacks is neither in the navigation nor reachable (a 403 page), and
//! every change goes through the same core function (and audit record) as its JSON endpoint.

mod accounts;
mod admins;
mod audit;
mod auth;
mod connectors;
mod content;
mod frame;
mod home;
mod library;
mod market;
mod organisations;
mod partners;
mod stats;

use axum::Router;
use axum::routing::{get, post};

pub use content::{read_upload, status_kind};
pub use frame::ConsoleAdmin;

use crate::state::PortalState;

/// The console's templates, embedded.
pub const TEMPLATES: platform::web::templates::Sources = &[
    (
        "console/login.html",
        include_str!("../../templates/console/login.html"),
    ),
    (
        "console/password.html",
        include_str!("../../templates/console/password.html"),
    ),
    (
        "console/home.html",
        include_str!("../../templates/console/home.html"),
    ),
    (
        "console/organisations.html",
        include_str!("../../templates/console/organisations.html"),
    ),
    (
        "console/organisation.html",
        include_str!("../../templates/console/organisation.html"),
    ),
    (
        "console/connectors.html",
        include_str!("../../templates/console/connectors.html"),
    ),
    (
        "console/connector.html",
        include_str!("../../templates/console/connector.html"),
    ),
    (
        "console/partners.html",
        include_str!("../../templates/console/partners.html"),
    ),
    (
        "console/partner.html",
        include_str!("../../templates/console/partner.html"),
    ),
    (
        "console/accounts.html",
        include_str!("../../templates/console/accounts.html"),
    ),
    (
        "console/account.html",
        include_str!("../../templates/console/account.html"),
    ),
    (
        "console/admins.html",
        include_str!("../../templates/console/admins.html"),
    ),
    (
        "console/admin.html",
        include_str!("../../templates/console/admin.html"),
    ),
    (
        "console/admin_new.html",
        include_str!("../../templates/console/admin_new.html"),
    ),
    (
        "console/admin_issued.html",
        include_str!("../../templates/console/admin_issued.html"),
    ),
    (
        "console/roles.html",
        include_str!("../../templates/console/roles.html"),
    ),
    (
        "console/audit.html",
        include_str!("../../templates/console/audit.html"),
    ),
    (
        "console/audit_record.html",
        include_str!("../../templates/console/audit_record.html"),
    ),
    (
        "console/audit_verify.html",
        include_str!("../../templates/console/audit_verify.html"),
    ),
    (
        "console/content.html",
        include_str!("../../templates/console/content.html"),
    ),
    (
        "console/article.html",
        include_str!("../../templates/console/article.html"),
    ),
    (
        "console/revision.html",
        include_str!("../../templates/console/revision.html"),
    ),
    (
        "console/library.html",
        include_str!("../../templates/console/library.html"),
    ),
    (
        "console/stats.html",
        include_str!("../../templates/console/stats.html"),
    ),
    (
        "console/market.html",
        include_str!("../../templates/console/market.html"),
    ),
    (
        "console/market_product.html",
        include_str!("../../templates/console/market_product.html"),
    ),
    (
        "console/market_demand.html",
        include_str!("../../templates/console/market_demand.html"),
    ),
];

/// The console's pages.
pub fn routes() -> Router<PortalState> {
    Router::new()
        .route("/console", get(home::home))
        .route("/console/login", get(auth::login_form).post(auth::login))
        .route("/console/logout", post(auth::logout))
        .route(
            "/console/password",
            get(auth::password_form).post(auth::password),
        )
        .route("/console/organisations", get(organisations::list))
        .route("/console/organisations/{id}", get(organisations::detail))
        .route(
            "/console/organisations/{id}/review",
            post(organisations::review),
        )
        .route(
            "/console/organisations/{id}/status",
            post(organisations::set_status),
        )
        .route("/console/connectors", get(connectors::list))
        .route(
            "/console/connectors/{code}",
            get(connectors::detail).post(connectors::save),
        )
        .route(
            "/console/connectors/{code}/rollback",
            post(connectors::rollback),
        )
        .route("/console/connectors/{code}/probe", post(connectors::probe))
        .route("/console/partners", get(partners::list))
        .route("/console/partners/{id}", get(partners::detail))
        .route("/console/partners/{id}/status", post(partners::set_status))
        .route("/console/accounts", get(accounts::list))
        .route("/console/accounts/search", post(accounts::search))
        .route("/console/accounts/{id}", get(accounts::detail))
        .route("/console/accounts/{id}/status", post(accounts::set_status))
        .route(
            "/console/accounts/{id}/sessions/end",
            post(accounts::end_sessions),
        )
        .route("/console/admins", get(admins::list).post(admins::create))
        .route("/console/admins/new", get(admins::new_form))
        .route("/console/admins/roles", get(admins::roles))
        .route(
            "/console/admins/{id}",
            get(admins::detail).post(admins::update),
        )
        .route("/console/admins/{id}/unlock", post(admins::unlock))
        .route("/console/admins/{id}/reset", post(admins::reset))
        .route(
            "/console/admins/{id}/sessions/end",
            post(admins::end_sessions),
        )
        .route("/console/audit", get(audit::list))
        .route("/console/audit/verify", post(audit::verify))
        .route("/console/audit/{seq}", get(audit::detail))
        .route("/console/content", get(content::list))
        .route(
            "/console/content/new",
            get(content::new_form).post(content::create),
        )
        .route("/console/content/files", post(content::upload))
        .route(
            "/console/content/{id}",
            get(content::show).post(content::save),
        )
        .route("/console/content/{id}/{step}", post(content::step))
        .route(
            "/console/content/{id}/revisions/{n}",
            get(content::revision),
        )
        .route("/console/market", get(market::list))
        .route("/console/market/rules", post(market::set_rule))
        .route("/console/market/deadlines", post(market::set_deadline))
        .route("/console/market/ratings/{id}", post(market::review_rating))
        .route("/console/market/products/{id}", get(market::product))
        .route(
            "/console/market/products/{id}/review",
            post(market::review_product),
        )
        .route("/console/market/demands/{id}", get(market::demand))
        .route(
            "/console/market/demands/{id}/review",
            post(market::review_demand),
        )
        .route("/console/library", get(library::show).post(library::change))
        .route("/console/library/words/import", post(library::import))
        .route("/console/stats", get(stats::show))
}
