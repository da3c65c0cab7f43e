//! The configuration file as written: every section refuses keys it does not know, every key has
//! a default so that the hub runs with no file at all. `super::validate` turns this into
//! [`super::Config`].

use std::path::PathBuf;

use serde::Deserialize;

use super::value::{ByteSize, HumanDuration, Secret};

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
    pub sso: RawSso,
    pub connectors: RawConnectors,
    pub outbound: RawOutbound,
    pub exchange: RawExchange,
    /// `[partners.<id>]`: partner systems that exchange messages with the hub.
    pub partners: std::collections::BTreeMap<String, RawPartner>,
    /// `[providers.<id>]`: each is deserialised by its `kind` (see `providers.rs`).
    pub providers: std::collections::BTreeMap<String, toml::Value>,
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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSso {
    pub allowed_origins: Vec<String>,
    pub login_attempts_per_minute: Option<u32>,
    pub flow_ttl: Option<HumanDuration>,
    pub replay_ttl: Option<HumanDuration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConnectors {
    pub allowed_hosts: Vec<String>,
    pub sign_in_provider: Option<String>,
    pub probes: Option<bool>,
    pub probe_interval: Option<HumanDuration>,
    pub probe_timeout: Option<HumanDuration>,
    pub health_history: Option<HumanDuration>,
    pub refresh_interval: Option<HumanDuration>,
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

/// Message exchange with partner systems.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawExchange {
    pub catalog_dir: Option<PathBuf>,
    pub payload_retention: Option<HumanDuration>,
    pub clock_skew: Option<HumanDuration>,
    pub max_attempts: Option<u32>,
    pub retry_base: Option<HumanDuration>,
    pub retry_max: Option<HumanDuration>,
    pub lease: Option<HumanDuration>,
    pub poll_interval: Option<HumanDuration>,
    pub masked_fields: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawPartner {
    pub display_name: Option<String>,
    pub enabled: Option<bool>,
    /// `hmac-sha256`, `token` or `sm2`.
    pub auth: Option<String>,
    pub access_key: Option<String>,
    pub secret: Option<Secret>,
    pub secret_file: Option<PathBuf>,
    pub token: Option<Secret>,
    pub token_file: Option<PathBuf>,
    pub public_key: Option<String>,
    pub public_key_file: Option<PathBuf>,
    pub message_types: Vec<String>,
    pub deliver_to: Option<String>,
    /// SM4 key (32 hex digits) of the HEAD/BODY blocks of Base64-wrapped documents.
    pub payload_sm4_key: Option<Secret>,
    pub payload_sm4_key_file: Option<PathBuf>,
    /// `ecb` (default) or `cbc` (IV first).
    pub payload_sm4_mode: Option<String>,
    /// `sm2` or `hmac-sha256`: its Base64-wrapped documents carry a signature (SIGN).
    pub payload_signature: Option<String>,
    pub payload_signing_key: Option<Secret>,
    pub payload_signing_key_file: Option<PathBuf>,
    /// SHA-256 fingerprints of the TLS client certificates it must present.
    pub client_certificates: Vec<String>,
    /// The partner's endpoint for messages the hub sends it.
    pub outbound_url: Option<String>,
    pub outbound_message_types: Vec<String>,
    /// `hmac-sha256`, `token`, `gateway-token` or `none`.
    pub outbound_auth: Option<String>,
    pub outbound_access_key: Option<String>,
    pub outbound_secret: Option<Secret>,
    pub outbound_secret_file: Option<PathBuf>,
    pub outbound_token: Option<Secret>,
    pub outbound_token_file: Option<PathBuf>,
    pub outbound_token_url: Option<String>,
}

/// Overrides of a provider's claim mapping; unset fields keep the kind's defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawClaims {
    pub subject: Option<String>,
    pub user_type: Option<String>,
    pub personal_values: Option<Vec<String>>,
    pub name: Option<String>,
    pub cert_type: Option<String>,
    pub cert_number: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub company_name: Option<String>,
    pub uscc: Option<String>,
    pub legal_representative: Option<String>,
    pub agent_name: Option<String>,
    pub agent_cert_number: Option<String>,
    pub require_certificate: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFujian {
    /// Read before deserialisation to choose this type; accepted here by `deny_unknown_fields`.
    #[serde(rename = "kind")]
    pub _kind: String,
    #[serde(default)]
    pub display_name: Option<String>,
    pub base_url: String,
    #[serde(default)]
    pub caller_code: Option<Secret>,
    #[serde(default)]
    pub caller_code_file: Option<PathBuf>,
    #[serde(default)]
    pub silent_check: Option<bool>,
    #[serde(default)]
    pub exchange_url: Option<String>,
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    #[serde(default)]
    pub link_policy: Option<String>,
    #[serde(default)]
    pub logout: Option<bool>,
    #[serde(default)]
    pub claims: Option<RawClaims>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawElongyan {
    /// Read before deserialisation to choose this type; accepted here by `deny_unknown_fields`.
    #[serde(rename = "kind")]
    pub _kind: String,
    #[serde(default)]
    pub display_name: Option<String>,
    pub app_id: String,
    #[serde(default)]
    pub modes: Option<Vec<String>>,
    #[serde(default)]
    pub signature: Option<String>,
    #[serde(default)]
    pub secret: Option<Secret>,
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    #[serde(default)]
    pub public_key: Option<String>,
    #[serde(default)]
    pub public_key_file: Option<PathBuf>,
    #[serde(default)]
    pub sm2_distid: Option<String>,
    #[serde(default)]
    pub timestamp_window: Option<HumanDuration>,
    #[serde(default)]
    pub ticket_fields: Option<Vec<String>>,
    #[serde(default)]
    pub signed_fields: Option<Vec<String>>,
    #[serde(default)]
    pub encrypted_fields: Option<Vec<String>>,
    #[serde(default)]
    pub sm4_key: Option<Secret>,
    #[serde(default)]
    pub sm4_key_file: Option<PathBuf>,
    #[serde(default)]
    pub sm4_mode: Option<String>,
    #[serde(default)]
    pub exchange_url: Option<String>,
    #[serde(default)]
    pub exchange_caller_code: Option<Secret>,
    #[serde(default)]
    pub exchange_caller_code_file: Option<PathBuf>,
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    #[serde(default)]
    pub link_policy: Option<String>,
    #[serde(default)]
    pub claims: Option<RawClaims>,
    #[serde(default)]
    pub profile_claims: Option<RawClaims>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOidc {
    /// Read before deserialisation to choose this type; accepted here by `deny_unknown_fields`.
    #[serde(rename = "kind")]
    pub _kind: String,
    #[serde(default)]
    pub display_name: Option<String>,
    pub issuer: String,
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<Secret>,
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub algorithms: Option<Vec<String>>,
    #[serde(default)]
    pub userinfo: Option<bool>,
    #[serde(default)]
    pub metadata_ttl: Option<HumanDuration>,
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    #[serde(default)]
    pub link_policy: Option<String>,
    #[serde(default)]
    pub logout: Option<bool>,
    #[serde(default)]
    pub claims: Option<RawClaims>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOAuth2 {
    /// Read before deserialisation to choose this type; accepted here by `deny_unknown_fields`.
    #[serde(rename = "kind")]
    pub _kind: String,
    #[serde(default)]
    pub display_name: Option<String>,
    pub authorize_url: String,
    pub token_url: String,
    pub userinfo_url: String,
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<Secret>,
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub pkce: Option<bool>,
    #[serde(default)]
    pub token_placement: Option<String>,
    #[serde(default)]
    pub client_auth: Option<String>,
    #[serde(default)]
    pub access_token_path: Option<String>,
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    #[serde(default)]
    pub link_policy: Option<String>,
    #[serde(default)]
    pub claims: Option<RawClaims>,
}
