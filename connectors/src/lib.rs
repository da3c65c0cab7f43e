//! The external platforms users jump to (REQUIREMENTS B1–B10): their definitions and the rules a
//! definition must pass, the catalog the hub ships with, signed hand-off of the user's identity
//! to partners that agreed to it, and what users are told about a platform's status.
//!
//! It holds no state and does no IO besides a health probe through the caller's outbound client:
//! the hub stores definitions, versions them, audits jumps and runs the probes.

mod catalog;
mod definition;
mod handoff;
mod probe;
mod status;

pub use catalog::{allowlist, hosts as catalog_hosts, seed};
pub use definition::{
    Definition, FieldError, Handoff, HostAllowlist, MAX_URL_LEN, OpenMode, Param, Scheme,
    check_url, valid_code, validate,
};
pub use handoff::{
    DEFAULT_WINDOW_SECS, HandoffKey, KeyError, MIN_SECRET_LEN, SM2_DISTID, Subject, Verified,
    VerifyError, canonical, sign, verify,
};
pub use probe::probe;
pub use status::{Health, Status};
