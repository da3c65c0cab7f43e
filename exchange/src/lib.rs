//! Message exchange with partner systems (REQUIREMENTS C1–C4): authenticated intake at
//! `POST /exchange/{partner}/{message_type}`, translation through the installed mappings, a
//! durable message log, idempotency by the partner's message id, an outbox that delivers each
//! translated message exactly once to consumers that honour the `Idempotency-Key`, messages
//! *to* partners (JSON from internal systems, translated to the partner's XML), partners
//! managed through the API, raw payloads shown with personal fields masked, and in-process
//! consumers (`internal:<name>`) that the binary registers.
//!
//! It stands on the platform (store, audit trail, keys, administrators) and on `mappings` (the
//! XML⇄JSON engine); the binary assembles it.

pub mod auth;
pub mod config;
pub mod consumer;
pub mod error;
mod gateway;
mod intake;
mod masking;
pub mod message;
pub mod metrics;
pub mod outbox;
pub mod partners;
pub mod routes;
pub mod send;
pub mod service;
pub mod state;

pub use consumer::{Consumer, ConsumerError, Delivered};
pub use send::Outgoing;
pub use service::Exchange;
pub use state::ExchangeState;
