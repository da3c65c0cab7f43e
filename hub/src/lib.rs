//! The hub: the binary of the Longyan inclusive-finance platform's identity federation and
//! integration hub, and its wiring. It reads the configuration (every crate's section), opens
//! the platform, builds the feature services on it (sign-in, connectors, exchange, portal),
//! assembles their routes behind the platform's middleware, runs the background jobs and the
//! server, and offers the command line of INTERFACES.md.
//!
//! It holds no business rule of its own: those live in `platform` and the feature crates.

pub mod app;
pub mod cli;
pub mod config;
pub mod consumers;
pub mod demo;
pub mod router;
pub mod state;
pub mod tls;

pub use app::{Hub, StartError};
pub use config::Config;
pub use state::AppState;
