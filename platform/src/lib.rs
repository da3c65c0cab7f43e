//! The platform core of the Longyan inclusive-finance hub: what every feature — sign-in
//! federation, connectors, partner exchange, the portal — stands on.
//!
//! It holds the store and its migrations, the configuration machinery and the core sections,
//! the injected clock, the three keys, the tamper-evident audit chain, identity numbers and the
//! verified-identity model, accounts (one per person or company), user sessions, the replay
//! guard, administrators with their roles and permissions, the request context, the one table
//! of error codes and its rendering as problem documents, the middleware, CSRF protection,
//! rate limits and metrics — and the JSON routes of these (operations, administrators, audit,
//! accounts).
//!
//! It knows no identity provider's protocol, no connector and no partner message: feature
//! crates build on it and the binary assembles them. Nothing here reads environment variables
//! (the binary passes them in) or the system clock (only through [`clock::Clock`]).

pub mod account_admin;
pub mod accounts;
pub mod admin;
pub mod api;
pub mod audit;
pub mod clock;
pub mod code;
pub mod config;
pub mod context;
pub mod http;
pub mod identity;
pub mod keys;
pub mod pages;
pub mod paging;
pub mod replay;
pub mod sessions;
pub mod sign_in;
pub mod state;
pub mod store;
pub mod subject;
pub mod web;

pub use state::Platform;
