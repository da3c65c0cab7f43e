//! The hub: the gateway process of the Longyan inclusive-finance platform's identity federation
//! and integration hub. It holds the configuration, the store, the audit trail, the
//! administrators, the HTTP server and its middleware, the command line — and assembles the
//! domain crates (`sso`, `connectors`, `mappings`, `portal`) into one service.
//!
//! This crate is the only one that knows about HTTP status codes, environment variables and
//! the process: libraries below it take settings structs and return domain errors.

pub mod accounts;
pub mod admin;
pub mod api;
pub mod app;
pub mod audit;
pub mod cli;
pub mod clock;
pub mod config;
pub mod connectors;
pub mod context;
pub mod demo;
pub mod exchange;
pub mod federation;
pub mod http;
pub mod keys;
pub mod pages;
pub mod replay;
pub mod sessions;
pub mod store;
pub mod telemetry;

pub use app::{AppState, Hub, StartError};
pub use clock::{Clock, ManualClock, Millis, SystemClock};
pub use config::Config;
