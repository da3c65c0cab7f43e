//! The external platforms users jump to (REQUIREMENTS B1–B10, D7): their definitions and the
//! rules a definition must pass, the catalog the hub ships with, signed hand-off of the user's
//! identity to partners that agreed to it, what users are told about a platform's status — and
//! the service on the platform: the registry in the store (validated, versioned, audited, with
//! an in-memory snapshot for jumps), health probes, and the routes `/go/{code}`,
//! `/api/connectors` and `/api/admin/connectors`.
//!
//! The definition rules (`definition`, `handoff`, `status`, `catalog`) are pure; the registry
//! and the routes use the platform's store, audit trail and sessions.

mod catalog;
pub mod change;
pub mod config;
mod definition;
mod handoff;
pub mod health;
pub mod metrics;
pub mod pages;
mod probe;
pub mod registry;
pub mod routes;
pub mod state;
mod status;

pub use catalog::{allowlist, hosts as catalog_hosts, seed};
pub use change::{ConnectorInput, ConnectorPatch, HandoffInput};
pub use definition::{
    Definition, FieldError, Handoff, HostAllowlist, MAX_URL_LEN, OpenMode, Param, Refusal, Scheme,
    check_url, valid_code, validate,
};
pub use handoff::{
    DEFAULT_WINDOW_SECS, HandoffKey, KeyError, MIN_SECRET_LEN, SM2_DISTID, Subject, Verified,
    VerifyError, canonical, sign, verify,
};
pub use health::RoundOutcome;
pub use probe::probe;
pub use registry::Connectors;
pub use state::ConnectorsState;
pub use status::{Health, Status};
