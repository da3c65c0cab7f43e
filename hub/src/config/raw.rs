//! The configuration file as written: the top-level keys, each section the struct of the crate
//! that owns it. Every section refuses keys it does not know, every key has a default so that
//! the hub runs with no file at all. `super::validate` turns this into [`super::Config`].

use std::path::PathBuf;

use platform::config::raw::{
    RawAdmin, RawAudit, RawCrypto, RawDatabase, RawLog, RawOutbound, RawServer, RawSessions,
};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    /// Directory for the embedded database, generated keys and audit archives.
    pub data_dir: Option<PathBuf>,
    pub server: RawServer,
    pub database: RawDatabase,
    pub log: RawLog,
    pub audit: RawAudit,
    pub admin: RawAdmin,
    pub crypto: RawCrypto,
    pub sessions: RawSessions,
    pub sso: sso::config::RawSso,
    pub connectors: connectors::config::RawConnectors,
    pub outbound: RawOutbound,
    pub exchange: exchange::config::RawExchange,
    /// `[partners.<id>]`: partner systems that exchange messages with the hub.
    pub partners: std::collections::BTreeMap<String, toml::Value>,
    /// `[providers.<id>]`: each is deserialised by its `kind` (see `sso::config`).
    pub providers: std::collections::BTreeMap<String, toml::Value>,
    pub portal: portal::config::RawPortal,
    /// `[content]`: sensitive words, uploads, the file store and the search index.
    pub content: cms::config::RawContent,
    /// `[market]`: which institution each partner answering by message acts for.
    pub market: market::RawMarket,
}
