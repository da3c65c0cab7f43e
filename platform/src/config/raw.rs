//! The platform's sections of the configuration file as written: every section refuses keys it
//! does not know, every key has a default so that the hub runs with no file at all.
//! [`super::validate`] turns them into [`super::PlatformConfig`].

use std::path::PathBuf;

use serde::Deserialize;

use super::value::{ByteSize, HumanDuration, Secret};

/// The platform's sections, taken from the whole file by the binary (which owns the top-level
/// struct, since `deny_unknown_fields` cannot be combined with flattening).
#[derive(Debug, Default)]
pub struct RawPlatform {
    /// Directory for the embedded database, generated keys and audit archives.
    pub data_dir: Option<PathBuf>,
    pub server: RawServer,
    pub database: RawDatabase,
    pub log: RawLog,
    pub audit: RawAudit,
    pub admin: RawAdmin,
    pub crypto: RawCrypto,
    pub sessions: RawSessions,
    pub outbound: RawOutbound,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawServer {
    pub listen: Option<String>,
    pub public_url: Option<String>,
    pub trusted_proxies: Vec<String>,
    pub request_timeout: Option<HumanDuration>,
    pub body_limit: Option<ByteSize>,
    pub shutdown_grace: Option<HumanDuration>,
    pub tls: Option<RawTls>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    pub cert: PathBuf,
    pub key: PathBuf,
    #[serde(default)]
    pub hsts_max_age: Option<HumanDuration>,
    /// CA certificates (PEM) that partners' client certificates are issued by.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawDatabase {
    pub url: Option<Secret>,
    pub url_file: Option<PathBuf>,
    pub max_connections: Option<u32>,
    pub connect_timeout: Option<HumanDuration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLog {
    pub level: Option<String>,
    pub format: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAudit {
    pub hmac_key: Option<Secret>,
    pub hmac_key_file: Option<PathBuf>,
    pub retention: Option<HumanDuration>,
    pub archive_dir: Option<PathBuf>,
    pub purge_interval: Option<HumanDuration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAdmin {
    pub lockout_threshold: Option<u32>,
    pub lockout_duration: Option<HumanDuration>,
    pub session_idle_timeout: Option<HumanDuration>,
    pub session_lifetime: Option<HumanDuration>,
    pub token_max_ttl: Option<HumanDuration>,
    pub login_attempts_per_minute: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawCrypto {
    pub data_key: Option<Secret>,
    pub data_key_file: Option<PathBuf>,
    pub index_key: Option<Secret>,
    pub index_key_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSessions {
    pub idle_timeout: Option<HumanDuration>,
    pub lifetime: Option<HumanDuration>,
    pub cache_ttl: Option<HumanDuration>,
}

/// The resilient client of every outbound call (`outbound::Settings`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawOutbound {
    pub connect_timeout: Option<HumanDuration>,
    pub timeout: Option<HumanDuration>,
    pub max_attempts: Option<u32>,
    pub backoff_base: Option<HumanDuration>,
    pub backoff_max: Option<HumanDuration>,
    pub breaker_threshold: Option<u32>,
    pub breaker_cool_down: Option<HumanDuration>,
    pub max_concurrency_per_host: Option<usize>,
    pub max_response_bytes: Option<ByteSize>,
}
