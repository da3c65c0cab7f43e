//! Sandbox simulators of the provincial real-name platform (PROTOCOLS.md §1: trust-ticket login
//! pages and the 103/033 back channel, under `/sandbox/fujian/dataset`) and of e-Longyan
//! (PROTOCOLS.md §2 and docs/ELONGYAN.md: a portal whose jumps enter the hub in ticket or
//! signed-assertion mode, and its ticket exchange, under `/sandbox/elongyan`), signing in the
//! fictional [`personas`] and misbehaving on request ([`Fault`]). It also plays the demo's partner
//! systems (a bank's consumer and inbox) and the external platforms behind connectors that have
//! no public address yet. [`router`] is served by the `sandbox` binary and mounted by
//! `hub demo` (never by `hub serve`); state lives in memory only.
//!
//! The simulators never log tickets, tokens, caller codes or certificate numbers. They do not
//! validate return URLs or targets: refusing bad ones is the hub's job, and tests need to send
//! them.

mod app;
mod config;
mod consumer;
mod elongyan;
mod exchange;
mod fault;
mod fujian;
mod page;
pub mod personas;
mod platforms;
mod query;
mod signature;
mod state;
mod store;

pub use app::router;
pub use config::{
    DEFAULT_ENCRYPTED_FIELDS, DEFAULT_SIGNED_FIELDS, DEFAULT_TICKET_FIELDS, DEMO_ELONGYAN_APP_ID,
    DEMO_ELONGYAN_EXCHANGE_CALLER_CODE, DEMO_ELONGYAN_PROVIDER, DEMO_ELONGYAN_SECRET,
    DEMO_ELONGYAN_SM4_KEY, DEMO_FUJIAN_CALLER_CODE, DEMO_HANDOFF_SECRET, DEMO_OUTBOUND_KEY,
    DEMO_OUTBOUND_SECRET, ElongyanConfig, FujianConfig, SandboxConfig, SignatureScheme, Sm4Mode,
};
pub use consumer::CONSUMER_BASE;
pub use fault::Fault;
pub use state::{
    ELONGYAN_BASE, ELONGYAN_EXCHANGE_PATH, FUJIAN_BASE, FUJIAN_EXCHANGE_PATH,
    FUJIAN_SESSION_COOKIE, PLATFORMS_BASE,
};

/// Why the simulators cannot do what their configuration asks. No variant carries key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("hub_url must be an http or https origin such as http://127.0.0.1:8080")]
    HubUrl,
    #[error("the HMAC-SM3 secret must have at least 16 bytes")]
    SecretTooShort,
    #[error("the SM2 private key is not an SM2 key in PKCS#8 or SEC1 PEM")]
    Sm2Key,
    #[error("SM2 signing failed")]
    Sm2Sign,
    #[error("the operating system's random number generator is unavailable")]
    Random,
    #[error("too many live tickets, tokens or sessions")]
    StoreFull,
}
