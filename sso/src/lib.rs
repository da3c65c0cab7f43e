//! Identity federation (REQUIREMENTS A1–A6): the provider adapters — the Fujian provincial
//! trust-ticket protocol, the e-Longyan entry, OpenID Connect, OAuth 2.0 — with their claim
//! mapping and redirect-target checks, and the sign-in service on top of them: the configured
//! providers, the browser-bound flow state, single-use checks, the end of every sign-in
//! (account, session, audit record) and the routes `/sso/...`, `/api/me` and
//! `/api/admin/providers`.
//!
//! Adapters turn what a provider sent into a `VerifiedIdentity` (the platform's type) and
//! nothing else: they keep no state between requests beyond cached provider metadata, read no
//! environment variables and know no HTTP status codes. Accounts, sessions and the replay
//! guard are the platform's; this crate uses them and never reaches into their tables.

mod claims;
pub mod config;
mod elongyan;
mod error;
pub mod federation;
mod fujian;
pub mod http;
mod oauth2;
mod oidc;
pub mod pages;
pub mod providers;
mod redirect;
pub mod routes;
pub mod state;
mod ticket;

pub use claims::{ClaimMap, text as claim_text};
pub use elongyan::{
    DEFAULT_ENCRYPTED_FIELDS, DEFAULT_SIGNED_FIELDS, DEFAULT_TICKET_FIELDS, ElongyanSettings,
    Entry, EntryMode, SignatureScheme,
};
pub use error::{Error, ErrorKind};
pub use fujian::FujianSettings;
pub use guomi::Secret;
pub use oauth2::{ClientAuth, OAuth2Settings, TokenPlacement};
pub use oidc::{AuthRequest, DEFAULT_ALGORITHMS, LogoutClaims, OidcProvider, OidcSettings};
pub use redirect::safe_target;
pub use state::SsoState;
pub use ticket::TicketExchange;
