//! The lean portal (REQUIREMENTS D1–D13, E1): the pages people use — the home page, the
//! columns, sign-in, the user centre and the administrators' console — server-rendered in
//! Simplified Chinese from templates embedded in the binary (operators may replace them), on
//! the platform core and the feature services.

pub mod config;
pub mod home;
pub mod state;

pub use state::PortalState;

/// The portal's pages, with their state.
pub fn routes(state: PortalState) -> axum::Router {
    axum::Router::new()
        .route("/", axum::routing::get(home::index))
        .with_state(state)
}
