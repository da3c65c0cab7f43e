//! Configuration: a TOML file (optional), then `HUB_*` environment variables, then command-line
//! flags, validated into [`Config`]. Every problem is reported at once with where it came from;
//! with no file and no variables the defaults run a complete hub on embedded SQLite.

mod exchange;
mod providers;
mod raw;
mod source;
mod value;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use exchange::{
    DEFAULT_MASKED_FIELDS, ExchangeConfig, OutboundAuth, PartnerAuth, PartnerConfig,
    PartnerOutbound, PartnerSpec, build_partner,
};
pub use providers::{LinkPolicy, ProviderConfig, ProviderSettings};
pub use source::{Problem, Problems};
pub use value::{ByteSize, HumanDuration, KeyBytes, Secret};

use raw::RawConfig;
use source::Layered;

/// The validated configuration of one hub process.
#[derive(Clone, Debug)]
pub struct Config {
    pub data_dir: PathBuf,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub log: LogConfig,
    pub audit: AuditConfig,
    pub admin: AdminConfig,
    pub crypto: CryptoConfig,
    pub sessions: SessionConfig,
    pub sso: SsoConfig,
    pub providers: Vec<ProviderConfig>,
    pub connectors: ConnectorsConfig,
    /// The resilient client of every outbound call: sign-in back channels, probes, delivery.
    pub outbound: outbound::Settings,
    pub exchange: ExchangeConfig,
    pub partners: Vec<PartnerConfig>,
}

/// The external platforms users jump to: which hosts links may point to, where users sign in
/// first, and the health probes.
#[derive(Clone, Debug)]
pub struct ConnectorsConfig {
    /// The catalog's hosts plus `connectors.allowed_hosts`.
    pub allowlist: connectors::HostAllowlist,
    /// The provider users are sent to when a connector requires sign-in; the first configured
    /// provider that can start a sign-in when absent.
    pub sign_in_provider: Option<String>,
    pub probes: bool,
    pub probe_interval: Duration,
    pub probe_timeout: Duration,
    /// How long probe results are kept.
    pub health_history: Duration,
    /// How often a node reloads definitions and health from the store (changes made on another
    /// node, probes run by another node).
    pub refresh_interval: Duration,
}

/// Sessions of signed-in users.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    pub idle_timeout: Duration,
    pub lifetime: Duration,
    /// How long a node trusts its cached view of a session: the delay before a logout or
    /// revocation on another node takes effect here.
    pub cache_ttl: Duration,
}

/// Sign-in flows.
#[derive(Clone, Debug)]
pub struct SsoConfig {
    /// Origins users may be sent to after sign-in, besides the hub's own paths.
    pub allowed_origins: Vec<String>,
    /// Per client address, on every `/sso/` endpoint.
    pub login_attempts_per_minute: u32,
    /// How long a sign-in may take between leaving for the provider and coming back.
    pub flow_ttl: Duration,
    /// How long used tickets, nonces and states are remembered.
    pub replay_ttl: Duration,
}

#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// The origin users reach the hub at (`https://hub.example.cn`); used for absolute URLs.
    pub public_url: String,
    /// Proxies whose `X-Forwarded-For` is believed when finding the client address.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub request_timeout: Duration,
    pub body_limit: usize,
    pub shutdown_grace: Duration,
    pub tls: Option<TlsConfig>,
}

#[derive(Clone, Debug)]
pub struct TlsConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub hsts_max_age: Duration,
    /// Partners' client certificates are verified against these CAs (requested, not required:
    /// browsers present none; partners with `client_certificates` must).
    pub client_ca: Option<PathBuf>,
}

#[derive(Clone, Debug)]
pub struct DatabaseConfig {
    pub url: DatabaseUrl,
    pub max_connections: u32,
    pub connect_timeout: Duration,
}

/// The store: the embedded SQLite file, or a PostgreSQL server (the URL may hold a password).
#[derive(Clone, Debug)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(Secret),
}

impl DatabaseUrl {
    pub fn is_postgres(&self) -> bool {
        matches!(self, DatabaseUrl::Postgres(_))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

#[derive(Clone, Debug)]
pub struct LogConfig {
    pub level: String,
    pub format: LogFormat,
}

/// Key material either given by the operator or, on the single-node embedded store only,
/// generated at first start and kept in the data directory.
#[derive(Clone, Debug)]
pub enum KeySetting {
    Given(KeyBytes),
    Generated { path: PathBuf, len: usize },
}

#[derive(Clone, Debug)]
pub struct AuditConfig {
    pub hmac_key: KeySetting,
    pub retention: Duration,
    pub archive_dir: PathBuf,
    pub purge_interval: Duration,
}

#[derive(Clone, Debug)]
pub struct AdminConfig {
    pub lockout_threshold: u32,
    pub lockout_duration: Duration,
    pub session_idle_timeout: Duration,
    pub session_lifetime: Duration,
    pub token_max_ttl: Duration,
    pub login_attempts_per_minute: u32,
}

#[derive(Clone, Debug)]
pub struct CryptoConfig {
    /// SM4 key (16 bytes) for fields encrypted at rest.
    pub data_key: KeySetting,
    /// HMAC-SM3 key (≥16 bytes) for blind indexes of sensitive identifiers.
    pub index_key: KeySetting,
}

/// The legal floor for keeping network logs (Cybersecurity Law art. 21: six months).
pub const MIN_AUDIT_RETENTION: Duration = Duration::from_secs(180 * 86_400);

/// Inputs to [`Config::load`]: the optional file, the process environment and flags.
#[derive(Debug, Default)]
pub struct Sources<'a> {
    pub file: Option<&'a Path>,
    pub env: Vec<(String, String)>,
    pub listen: Option<&'a str>,
}

impl Sources<'_> {
    /// The process environment, for `main`.
    pub fn process_env() -> Vec<(String, String)> {
        std::env::vars().collect()
    }
}

impl Config {
    /// Loads and validates; on failure returns every problem found.
    pub fn load(sources: Sources<'_>) -> Result<Config, Problems> {
        let mut layered = match sources.file {
            Some(path) => match std::fs::read_to_string(path) {
                Ok(text) => Layered::from_file(path, &text),
                Err(e) => {
                    return Err(Problems(vec![Problem {
                        location: path.display().to_string(),
                        key: "(file)".into(),
                        message: format!("cannot read the configuration file: {e}"),
                    }]));
                }
            },
            None => Layered::default(),
        };
        if !layered.problems.is_empty() {
            return Err(Problems(layered.problems));
        }
        layered.apply_env(sources.env);
        if let Some(listen) = sources.listen {
            layered.apply_flag("--listen", "server.listen", listen);
        }
        let raw: RawConfig = layered.deserialize();
        let config = validate(raw, &mut layered);
        if layered.problems.is_empty() {
            Ok(config)
        } else {
            Err(Problems(layered.problems))
        }
    }

    /// The defaults with `data_dir` replaced: what `hub serve` runs without a file.
    pub fn defaults_in(data_dir: &Path) -> Result<Config, Problems> {
        Config::load(Sources {
            env: vec![("HUB_DATA_DIR".into(), data_dir.display().to_string())],
            ..Sources::default()
        })
    }

    /// The settings as an operator may see them: secrets replaced, for `/api/admin/config`.
    pub fn redacted_summary(&self) -> serde_json::Value {
        let key = |k: &KeySetting| match k {
            KeySetting::Given(_) => "configured".to_owned(),
            KeySetting::Generated { path, .. } => format!("generated in {}", path.display()),
        };
        serde_json::json!({
            "data_dir": self.data_dir.display().to_string(),
            "server": {
                "listen": self.server.listen.to_string(),
                "public_url": self.server.public_url,
                "trusted_proxies": self.server.trusted_proxies.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
                "request_timeout_ms": self.server.request_timeout.as_millis() as u64,
                "body_limit": self.server.body_limit,
                "shutdown_grace_ms": self.server.shutdown_grace.as_millis() as u64,
                "tls": self.server.tls.as_ref().map(|t| serde_json::json!({
                    "cert": t.cert.display().to_string(),
                    "key": t.key.display().to_string(),
                    "hsts_max_age_s": t.hsts_max_age.as_secs(),
                    "client_ca": t.client_ca.as_ref().map(|p| p.display().to_string()),
                })),
            },
            "database": {
                "backend": if self.database.url.is_postgres() { "postgres" } else { "sqlite" },
                "max_connections": self.database.max_connections,
                "connect_timeout_ms": self.database.connect_timeout.as_millis() as u64,
            },
            "log": { "level": self.log.level, "format": match self.log.format { LogFormat::Json => "json", LogFormat::Text => "text" } },
            "audit": {
                "hmac_key": key(&self.audit.hmac_key),
                "retention_days": self.audit.retention.as_secs() / 86_400,
                "archive_dir": self.audit.archive_dir.display().to_string(),
                "purge_interval_s": self.audit.purge_interval.as_secs(),
            },
            "admin": {
                "lockout_threshold": self.admin.lockout_threshold,
                "lockout_duration_s": self.admin.lockout_duration.as_secs(),
                "session_idle_timeout_s": self.admin.session_idle_timeout.as_secs(),
                "session_lifetime_s": self.admin.session_lifetime.as_secs(),
                "token_max_ttl_s": self.admin.token_max_ttl.as_secs(),
                "login_attempts_per_minute": self.admin.login_attempts_per_minute,
            },
            "crypto": { "data_key": key(&self.crypto.data_key), "index_key": key(&self.crypto.index_key) },
            "sessions": {
                "idle_timeout_s": self.sessions.idle_timeout.as_secs(),
                "lifetime_s": self.sessions.lifetime.as_secs(),
                "cache_ttl_s": self.sessions.cache_ttl.as_secs(),
            },
            "sso": {
                "allowed_origins": self.sso.allowed_origins,
                "login_attempts_per_minute": self.sso.login_attempts_per_minute,
                "flow_ttl_s": self.sso.flow_ttl.as_secs(),
                "replay_ttl_s": self.sso.replay_ttl.as_secs(),
            },
            "connectors": {
                "allowed_hosts": self.connectors.allowlist.patterns(),
                "sign_in_provider": self.connectors.sign_in_provider,
                "probes": self.connectors.probes,
                "probe_interval_s": self.connectors.probe_interval.as_secs(),
                "probe_timeout_ms": self.connectors.probe_timeout.as_millis() as u64,
                "health_history_s": self.connectors.health_history.as_secs(),
                "refresh_interval_ms": self.connectors.refresh_interval.as_millis() as u64,
            },
            "outbound": {
                "connect_timeout_ms": self.outbound.connect_timeout.as_millis() as u64,
                "timeout_ms": self.outbound.timeout.as_millis() as u64,
                "max_attempts": self.outbound.max_attempts,
                "backoff_base_ms": self.outbound.backoff_base.as_millis() as u64,
                "backoff_max_ms": self.outbound.backoff_max.as_millis() as u64,
                "breaker_threshold": self.outbound.breaker_threshold,
                "breaker_cool_down_s": self.outbound.breaker_cool_down.as_secs(),
                "max_concurrency_per_host": self.outbound.max_concurrency_per_host,
                "max_response_bytes": self.outbound.max_response_bytes,
            },
            "exchange": {
                "mappings": self.exchange.catalog.names(),
                "payload_retention_s": self.exchange.payload_retention.as_secs(),
                "clock_skew_s": self.exchange.clock_skew.as_secs(),
                "max_attempts": self.exchange.max_attempts,
                "retry_base_ms": self.exchange.retry_base.as_millis() as u64,
                "retry_max_s": self.exchange.retry_max.as_secs(),
                "lease_s": self.exchange.lease.as_secs(),
                "masked_fields": self.exchange.masked_fields,
            },
            "partners": self.partners.iter().map(|p| serde_json::json!({
                "id": p.id,
                "display_name": p.display_name,
                "enabled": p.enabled,
                "auth": p.auth.kind(),
                "message_types": p.message_types,
                "deliver_to": p.deliver_to.as_ref().map(|u| u.origin().ascii_serialization()),
            })).collect::<Vec<_>>(),
            "providers": self.providers.iter().map(|p| serde_json::json!({
                "id": p.id,
                "kind": p.settings.kind(),
                "display_name": p.display_name,
                "link_policy": match p.link_policy { LinkPolicy::CreateOrLink => "create-or-link", LinkPolicy::LinkOnly => "link-only" },
                "logout": p.logout,
            })).collect::<Vec<_>>(),
        })
    }
}

fn validate(raw: RawConfig, l: &mut Layered) -> Config {
    let data_dir = raw.data_dir.unwrap_or_else(|| PathBuf::from("./data"));

    // Database first: whether keys may be generated depends on it.
    let url = secret_or_file(l, "database.url", raw.database.url, raw.database.url_file);
    let url = match url {
        None => DatabaseUrl::Sqlite(data_dir.join("hub.db")),
        Some((u, from)) => parse_database_url(l, u, &from),
    };
    let multi_node = url.is_postgres();

    let listen_text = raw.server.listen.unwrap_or_else(|| "127.0.0.1:8080".into());
    let listen = listen_text.parse::<SocketAddr>().unwrap_or_else(|_| {
        l.problem(
            "server.listen",
            format!("`{listen_text}` is not an address:port such as 127.0.0.1:8080"),
        );
        SocketAddr::from(([127, 0, 0, 1], 8080))
    });
    let tls = raw.server.tls.map(|t| {
        for (k, p) in [
            ("server.tls.cert", Some(&t.cert)),
            ("server.tls.key", Some(&t.key)),
            ("server.tls.client_ca", t.client_ca.as_ref()),
        ] {
            if let Some(p) = p
                && !p.is_file()
            {
                l.problem(k, format!("`{}` is not a readable file", p.display()));
            }
        }
        TlsConfig {
            cert: t.cert,
            key: t.key,
            client_ca: t.client_ca,
            hsts_max_age: t
                .hsts_max_age
                .map(|d| d.0)
                .unwrap_or(Duration::from_secs(365 * 86_400)),
        }
    });
    let scheme = if tls.is_some() { "https" } else { "http" };
    let public_url = match raw.server.public_url {
        Some(u) => {
            let trimmed = u.trim_end_matches('/').to_owned();
            match trimmed.parse::<http::Uri>() {
                Ok(uri)
                    if matches!(uri.scheme_str(), Some("http" | "https"))
                        && uri.authority().is_some()
                        && uri.path_and_query().is_none_or(|p| p.as_str() == "/") =>
                {
                    trimmed
                }
                _ => {
                    l.problem(
                        "server.public_url",
                        format!("`{u}` must be an origin such as https://hub.example.cn (scheme and host, no path)"),
                    );
                    format!("{scheme}://{listen}")
                }
            }
        }
        None => format!("{scheme}://{listen}"),
    };
    let mut trusted_proxies = Vec::new();
    for p in &raw.server.trusted_proxies {
        let parsed = p
            .parse::<ipnet::IpNet>()
            .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from));
        match parsed {
            Ok(n) => trusted_proxies.push(n),
            Err(_) => l.problem(
                "server.trusted_proxies",
                format!("`{p}` is not an IP address or CIDR network"),
            ),
        }
    }
    let body_limit = raw.server.body_limit.map(|b| b.0).unwrap_or(1 << 20);
    let body_limit = usize::try_from(body_limit).unwrap_or(usize::MAX);
    if body_limit < 1024 {
        l.problem("server.body_limit", "must be at least 1KiB");
    }
    let request_timeout = positive(l, "server.request_timeout", raw.server.request_timeout, 30);
    let shutdown_grace = positive(l, "server.shutdown_grace", raw.server.shutdown_grace, 30);

    let max_connections = raw.database.max_connections.unwrap_or(16);
    if max_connections == 0 {
        l.problem("database.max_connections", "must be at least 1");
    }
    let connect_timeout = positive(
        l,
        "database.connect_timeout",
        raw.database.connect_timeout,
        5,
    );

    let level = raw.log.level.unwrap_or_else(|| "info".into());
    // A bare word is taken by EnvFilter as a target name that enables everything: almost
    // certainly a typo for a level, so bare words must be levels.
    let levels = ["off", "error", "warn", "info", "debug", "trace"];
    let bare_ok = level
        .split(',')
        .map(str::trim)
        .filter(|d| !d.contains('='))
        .all(|d| levels.contains(&d.to_ascii_lowercase().as_str()));
    if !bare_ok || tracing_subscriber::EnvFilter::try_new(&level).is_err() {
        l.problem(
            "log.level",
            format!(
                "`{level}` is not a level (error, warn, info, debug, trace) or filter directive"
            ),
        );
    }
    let format = match raw.log.format.as_deref() {
        None | Some("json") => LogFormat::Json,
        Some("text") => LogFormat::Text,
        Some(other) => {
            l.problem("log.format", format!("`{other}` is not `json` or `text`"));
            LogFormat::Json
        }
    };

    let keys_dir = data_dir.join("secrets");
    let hmac_key = key_setting(
        l,
        "audit.hmac_key",
        raw.audit.hmac_key,
        raw.audit.hmac_key_file,
        KeyRule::AtLeast(guomi::HmacSm3::MIN_KEY_LEN),
        multi_node,
        keys_dir.join("audit-hmac.key"),
        32,
    );
    let retention = raw
        .audit
        .retention
        .map(|d| d.0)
        .unwrap_or(MIN_AUDIT_RETENTION);
    if retention < MIN_AUDIT_RETENTION {
        l.problem(
            "audit.retention",
            "must be at least 180d: network logs are kept six months or more (Cybersecurity Law art. 21)",
        );
    }
    let archive_dir = raw
        .audit
        .archive_dir
        .unwrap_or_else(|| data_dir.join("audit-archive"));
    let purge_interval = positive(l, "audit.purge_interval", raw.audit.purge_interval, 3_600);

    let a = raw.admin;
    let lockout_threshold = a.lockout_threshold.unwrap_or(5);
    if !(1..=100).contains(&lockout_threshold) {
        l.problem("admin.lockout_threshold", "must be between 1 and 100");
    }
    let admin = AdminConfig {
        lockout_threshold,
        lockout_duration: positive(l, "admin.lockout_duration", a.lockout_duration, 15 * 60),
        session_idle_timeout: positive(
            l,
            "admin.session_idle_timeout",
            a.session_idle_timeout,
            15 * 60,
        ),
        session_lifetime: positive(l, "admin.session_lifetime", a.session_lifetime, 8 * 3_600),
        token_max_ttl: positive(l, "admin.token_max_ttl", a.token_max_ttl, 90 * 86_400),
        login_attempts_per_minute: a.login_attempts_per_minute.unwrap_or(10),
    };
    if admin.login_attempts_per_minute == 0 {
        l.problem("admin.login_attempts_per_minute", "must be at least 1");
    }
    if admin.session_idle_timeout > admin.session_lifetime {
        l.problem(
            "admin.session_idle_timeout",
            "must not exceed admin.session_lifetime",
        );
    }

    let data_key = key_setting(
        l,
        "crypto.data_key",
        raw.crypto.data_key,
        raw.crypto.data_key_file,
        KeyRule::Exactly(16),
        multi_node,
        keys_dir.join("data.key"),
        16,
    );
    let index_key = key_setting(
        l,
        "crypto.index_key",
        raw.crypto.index_key,
        raw.crypto.index_key_file,
        KeyRule::AtLeast(guomi::HmacSm3::MIN_KEY_LEN),
        multi_node,
        keys_dir.join("index.key"),
        32,
    );

    let sessions = SessionConfig {
        idle_timeout: positive(
            l,
            "sessions.idle_timeout",
            raw.sessions.idle_timeout,
            30 * 60,
        ),
        lifetime: positive(l, "sessions.lifetime", raw.sessions.lifetime, 12 * 3_600),
        cache_ttl: positive(l, "sessions.cache_ttl", raw.sessions.cache_ttl, 10),
    };
    if sessions.idle_timeout > sessions.lifetime {
        l.problem("sessions.idle_timeout", "must not exceed sessions.lifetime");
    }
    if sessions.cache_ttl > Duration::from_secs(300) {
        l.problem(
            "sessions.cache_ttl",
            "must be at most 5m: it delays logouts on other nodes",
        );
    }
    let mut allowed_origins = Vec::new();
    for o in raw.sso.allowed_origins {
        match url::Url::parse(&o) {
            Ok(u)
                if matches!(u.scheme(), "http" | "https")
                    && u.host().is_some()
                    && u.path() == "/"
                    && u.query().is_none() =>
            {
                allowed_origins.push(u.origin().ascii_serialization());
            }
            _ => l.problem(
                "sso.allowed_origins",
                format!("`{o}` must be an origin such as https://www.longyan.gov.cn"),
            ),
        }
    }
    let sso = SsoConfig {
        allowed_origins,
        login_attempts_per_minute: raw.sso.login_attempts_per_minute.unwrap_or(120),
        flow_ttl: positive(l, "sso.flow_ttl", raw.sso.flow_ttl, 10 * 60),
        replay_ttl: positive(l, "sso.replay_ttl", raw.sso.replay_ttl, 10 * 60),
    };
    if sso.login_attempts_per_minute == 0 {
        l.problem("sso.login_attempts_per_minute", "must be at least 1");
    }
    let providers = providers::validate(raw.providers, l);
    for p in &providers {
        if let ProviderSettings::Elongyan(e) = &p.settings
            && sso.replay_ttl < e.timestamp_window * 2
        {
            l.problem("sso.replay_ttl", format!("must be at least twice providers.{}.timestamp_window, or a nonce could be replayed", p.id));
        }
    }

    let connectors = validate_connectors(raw.connectors, &providers, l);
    let outbound = validate_outbound(raw.outbound, l);
    let exchange = exchange::validate_exchange(raw.exchange, l);
    let partners = exchange::validate_partners(raw.partners, &exchange, l);
    if tls.as_ref().is_none_or(|t| t.client_ca.is_none()) {
        // Pinned certificates can only be checked where the hub terminates TLS and asks for
        // them; such a partner could never be let in.
        for p in partners
            .iter()
            .filter(|p| !p.client_certificates.is_empty())
        {
            l.problem(
                &format!("partners.{}.client_certificates", p.id),
                "needs server.tls with client_ca: the hub checks client certificates only where it terminates TLS",
            );
        }
    }

    Config {
        data_dir,
        sessions,
        sso,
        providers,
        connectors,
        outbound,
        exchange,
        partners,
        server: ServerConfig {
            listen,
            public_url,
            trusted_proxies,
            request_timeout,
            body_limit,
            shutdown_grace,
            tls,
        },
        database: DatabaseConfig {
            url,
            max_connections,
            connect_timeout,
        },
        log: LogConfig { level, format },
        audit: AuditConfig {
            hmac_key,
            retention,
            archive_dir,
            purge_interval,
        },
        admin,
        crypto: CryptoConfig {
            data_key,
            index_key,
        },
    }
}

fn validate_connectors(
    raw: raw::RawConnectors,
    providers: &[ProviderConfig],
    l: &mut Layered,
) -> ConnectorsConfig {
    let mut allowlist = connectors::allowlist::<&str>(&[]).unwrap_or_default();
    for h in &raw.allowed_hosts {
        if let Err(m) = allowlist.add(h) {
            l.problem("connectors.allowed_hosts", m);
        }
    }
    if let Some(id) = &raw.sign_in_provider {
        match providers.iter().find(|p| &p.id == id) {
            None => l.problem(
                "connectors.sign_in_provider",
                format!("`{id}` is not a configured provider (providers.{id})"),
            ),
            Some(p) if matches!(p.settings, ProviderSettings::Elongyan(_)) => l.problem(
                "connectors.sign_in_provider",
                format!("`{id}` is an e-Longyan entry: users cannot start a sign-in there"),
            ),
            Some(_) => {}
        }
    }
    let probe_interval = positive(l, "connectors.probe_interval", raw.probe_interval, 60);
    let probe_timeout = positive(l, "connectors.probe_timeout", raw.probe_timeout, 5);
    if probe_timeout >= probe_interval {
        l.problem(
            "connectors.probe_timeout",
            "must be shorter than connectors.probe_interval",
        );
    }
    let health_history = positive(
        l,
        "connectors.health_history",
        raw.health_history,
        7 * 86_400,
    );
    let refresh_interval = positive(l, "connectors.refresh_interval", raw.refresh_interval, 5);
    if refresh_interval > Duration::from_secs(300) {
        l.problem(
            "connectors.refresh_interval",
            "must be at most 5m: it delays a disabled connector on other nodes",
        );
    }
    ConnectorsConfig {
        allowlist,
        sign_in_provider: raw.sign_in_provider,
        probes: raw.probes.unwrap_or(true),
        probe_interval,
        probe_timeout,
        health_history,
        refresh_interval,
    }
}

fn validate_outbound(raw: raw::RawOutbound, l: &mut Layered) -> outbound::Settings {
    let d = outbound::Settings::default();
    let duration = |l: &mut Layered, key: &str, v: Option<HumanDuration>, default: Duration| match v
    {
        Some(v) if v.0.is_zero() => {
            l.problem(key, "must be greater than zero");
            default
        }
        Some(v) => v.0,
        None => default,
    };
    let at_least_one = |l: &mut Layered, key: &str, v: Option<u32>, default: u32| match v {
        Some(0) => {
            l.problem(key, "must be at least 1");
            default
        }
        Some(v) => v,
        None => default,
    };
    let s = outbound::Settings {
        connect_timeout: duration(
            l,
            "outbound.connect_timeout",
            raw.connect_timeout,
            d.connect_timeout,
        ),
        timeout: duration(l, "outbound.timeout", raw.timeout, d.timeout),
        max_attempts: at_least_one(l, "outbound.max_attempts", raw.max_attempts, d.max_attempts),
        backoff_base: duration(l, "outbound.backoff_base", raw.backoff_base, d.backoff_base),
        backoff_max: duration(l, "outbound.backoff_max", raw.backoff_max, d.backoff_max),
        breaker_threshold: at_least_one(
            l,
            "outbound.breaker_threshold",
            raw.breaker_threshold,
            d.breaker_threshold,
        ),
        breaker_cool_down: duration(
            l,
            "outbound.breaker_cool_down",
            raw.breaker_cool_down,
            d.breaker_cool_down,
        ),
        max_concurrency_per_host: match raw.max_concurrency_per_host {
            Some(0) => {
                l.problem("outbound.max_concurrency_per_host", "must be at least 1");
                d.max_concurrency_per_host
            }
            Some(n) => n,
            None => d.max_concurrency_per_host,
        },
        max_response_bytes: raw.max_response_bytes.map_or(d.max_response_bytes, |b| {
            usize::try_from(b.0).unwrap_or(usize::MAX)
        }),
        user_agent: d.user_agent,
    };
    if s.max_attempts > 10 {
        l.problem(
            "outbound.max_attempts",
            "must be at most 10: retries multiply a failing host's load",
        );
    }
    if s.backoff_base > s.backoff_max {
        l.problem(
            "outbound.backoff_base",
            "must not be longer than outbound.backoff_max",
        );
    }
    if s.connect_timeout > s.timeout {
        l.problem(
            "outbound.connect_timeout",
            "must not be longer than outbound.timeout",
        );
    }
    s
}

fn positive(l: &mut Layered, key: &str, v: Option<HumanDuration>, default_secs: u64) -> Duration {
    match v {
        Some(d) if d.0.is_zero() => {
            l.problem(key, "must be greater than zero");
            Duration::from_secs(default_secs)
        }
        Some(d) => d.0,
        None => Duration::from_secs(default_secs),
    }
}

/// A secret given inline or through `<key>_file`; giving both is a problem. Also returns the
/// key the value came from, so that problems with the value point there.
pub(super) fn secret_or_file(
    l: &mut Layered,
    key: &str,
    inline: Option<Secret>,
    file: Option<PathBuf>,
) -> Option<(Secret, String)> {
    match (inline, file) {
        (Some(_), Some(_)) => {
            l.problem(key, format!("set either `{key}` or `{key}_file`, not both"));
            None
        }
        (Some(s), None) => Some((s, key.to_owned())),
        (None, Some(path)) => match std::fs::read_to_string(&path) {
            Ok(text) => Some((Secret::new(text.trim().to_owned()), format!("{key}_file"))),
            Err(e) => {
                l.problem(
                    &format!("{key}_file"),
                    format!("cannot read `{}`: {e}", path.display()),
                );
                None
            }
        },
        (None, None) => None,
    }
}

enum KeyRule {
    Exactly(usize),
    AtLeast(usize),
}

#[allow(clippy::too_many_arguments)]
fn key_setting(
    l: &mut Layered,
    key: &str,
    inline: Option<Secret>,
    file: Option<PathBuf>,
    rule: KeyRule,
    multi_node: bool,
    generated_path: PathBuf,
    generated_len: usize,
) -> KeySetting {
    match secret_or_file(l, key, inline, file) {
        Some((secret, from)) => match KeyBytes::from_hex(secret.expose()) {
            Ok(k) => {
                let n = k.as_bytes().len();
                let ok = match rule {
                    KeyRule::Exactly(want) => n == want,
                    KeyRule::AtLeast(min) => n >= min,
                };
                if !ok {
                    let want = match rule {
                        KeyRule::Exactly(w) => format!("exactly {w} bytes ({} hex digits)", w * 2),
                        KeyRule::AtLeast(m) => format!("at least {m} bytes ({} hex digits)", m * 2),
                    };
                    l.problem(&from, format!("has {n} bytes; must be {want}"));
                }
                KeySetting::Given(k)
            }
            Err(msg) => {
                l.problem(&from, msg);
                KeySetting::Given(KeyBytes::from_vec(Vec::new()))
            }
        },
        None if multi_node => {
            let hex_len = generated_len * 2;
            l.problem(
                key,
                format!(
                    "is required with PostgreSQL (every node must share it); generate one with `openssl rand -hex {generated_len}` ({hex_len} hex digits) and set `{key}` or `{key}_file`"
                ),
            );
            KeySetting::Given(KeyBytes::from_vec(Vec::new()))
        }
        None => KeySetting::Generated {
            path: generated_path,
            len: generated_len,
        },
    }
}

fn parse_database_url(l: &mut Layered, url: Secret, from: &str) -> DatabaseUrl {
    let text = url.expose();
    if let Some(path) = text
        .strip_prefix("sqlite://")
        .or_else(|| text.strip_prefix("sqlite:"))
    {
        let path = path.split('?').next().unwrap_or(path);
        if path.is_empty() || path == ":memory:" {
            l.problem(
                from,
                "an in-memory SQLite database loses the audit trail on restart; give a file path such as sqlite://./data/hub.db",
            );
        }
        DatabaseUrl::Sqlite(PathBuf::from(path))
    } else if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        DatabaseUrl::Postgres(url)
    } else {
        // The URL may carry a password: name only the scheme.
        let scheme = text.split(':').next().unwrap_or("");
        l.problem(
            from,
            format!(
                "scheme `{scheme}` is not supported; use sqlite://PATH or postgres://USER@HOST/DB"
            ),
        );
        DatabaseUrl::Sqlite(PathBuf::from("hub.db"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, Problems> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(Sources {
            file: Some(&path),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            listen: None,
        })
    }

    #[test]
    fn no_file_no_env_gives_a_runnable_default() {
        let c = Config::load(Sources::default()).unwrap();
        assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
        assert!(matches!(&c.database.url, DatabaseUrl::Sqlite(p) if p.ends_with("data/hub.db")));
        assert!(matches!(c.audit.hmac_key, KeySetting::Generated { .. }));
        assert_eq!(c.audit.retention, MIN_AUDIT_RETENTION);
        assert_eq!(c.admin.lockout_threshold, 5);
        assert_eq!(c.server.public_url, "http://127.0.0.1:8080");
    }

    #[test]
    fn pinned_client_certificates_need_the_hub_to_ask_for_them() {
        let partner = "[partners.bank]\nauth = \"token\"\ntoken = \"a-long-partner-token-0123456789\"\nmessage_types = [\"financing.demand_notice\"]\nclient_certificates = [\"".to_owned()
            + &"ab".repeat(32)
            + "\"]\n";
        let err = load(&partner, &[]).unwrap_err();
        assert!(
            err.0
                .iter()
                .any(|p| p.key == "partners.bank.client_certificates"),
            "{err}"
        );
    }

    #[test]
    fn outbound_settings_are_configurable_and_checked() {
        let c = load(
            "[outbound]\nconnect_timeout = \"2s\"\ntimeout = \"3s\"\nmax_attempts = 2\nbreaker_threshold = 7\nmax_concurrency_per_host = 4\n",
            &[("HUB_OUTBOUND__BREAKER_COOL_DOWN", "45s")],
        )
        .unwrap();
        assert_eq!(c.outbound.timeout, Duration::from_secs(3));
        assert_eq!(c.outbound.max_attempts, 2);
        assert_eq!(c.outbound.breaker_threshold, 7);
        assert_eq!(c.outbound.breaker_cool_down, Duration::from_secs(45));
        assert_eq!(c.outbound.max_concurrency_per_host, 4);
        assert_eq!(c.outbound.connect_timeout, Duration::from_secs(2));
        assert_eq!(
            c.outbound.backoff_max,
            Duration::from_secs(2),
            "default kept"
        );

        let err = load(
            "[outbound]\nmax_attempts = 0\nbackoff_base = \"5s\"\nmax_concurrency_per_host = 0\nretries = 3\n",
            &[],
        )
        .unwrap_err();
        let keys: Vec<&str> = err.0.iter().map(|p| p.key.as_str()).collect();
        for k in [
            "outbound.max_attempts",
            "outbound.backoff_base",
            "outbound.max_concurrency_per_host",
            "outbound.retries",
        ] {
            assert!(keys.contains(&k), "{k} missing: {err}");
        }
    }

    #[test]
    fn signed_elongyan_entries_must_encrypt_certificate_numbers() {
        let base = "[providers.elongyan]\nkind = \"elongyan\"\napp_id = \"app\"\nmodes = [\"signed\"]\nsignature = \"hmac-sm3\"\nsecret = \"0123456789abcdef0123\"\n";
        let err = load(base, &[]).unwrap_err();
        let problems: Vec<&Problem> = err
            .0
            .iter()
            .filter(|p| p.key == "providers.elongyan.encrypted_fields")
            .collect();
        assert_eq!(problems.len(), 2, "{err}");
        assert!(problems[0].message.contains("certNo"), "{err}");
        // With an SM4 key the certificate numbers are encrypted by default: valid.
        let ok = format!("{base}sm4_key = \"00112233445566778899aabbccddeeff\"\n");
        load(&ok, &[]).unwrap();
        // Encrypting only one of them is still a problem, named for the other.
        let partial = format!("{ok}encrypted_fields = [\"certNo\"]\n");
        let err = load(&partial, &[]).unwrap_err();
        assert!(
            err.0
                .iter()
                .any(|p| p.key == "providers.elongyan.encrypted_fields"
                    && p.message.contains("agentCertNo")),
            "{err}"
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_key_and_line() {
        let err = load(
            "[server]\nlisten = \"nonsense\"\nurll = 1\n\n[database]\nmax_connections = \"many\"\n\n[audit]\nretention = \"30d\"\n\n[bogus]\nx = 1\n",
            &[],
        )
        .unwrap_err();
        let text = err.to_string();
        let keys: Vec<&str> = err.0.iter().map(|p| p.key.as_str()).collect();
        assert!(keys.contains(&"server.urll"), "{text}");
        assert!(keys.contains(&"bogus"), "{text}");
        assert!(keys.contains(&"database.max_connections"), "{text}");
        assert!(keys.contains(&"server.listen"), "{text}");
        assert!(keys.contains(&"audit.retention"), "{text}");
        let urll = err.0.iter().find(|p| p.key == "server.urll").unwrap();
        assert!(urll.location.ends_with("hub.toml:3"), "{urll}");
        assert!(urll.message.starts_with("unknown key `urll`"), "{urll}");
        let bogus = err.0.iter().find(|p| p.key == "bogus").unwrap();
        assert!(bogus.location.ends_with("hub.toml:11"), "{bogus}");
    }

    #[test]
    fn environment_overrides_the_file_and_is_named_in_problems() {
        let c = load(
            "[server]\nlisten = \"127.0.0.1:9000\"\n",
            &[
                ("HUB_LISTEN", "127.0.0.1:9100"),
                ("HUB_ADMIN__LOCKOUT_THRESHOLD", "3"),
                ("HUB_SERVER__REQUEST_TIMEOUT", "5s"),
                ("HUB_TEST_SOMETHING", "ignored: not configuration"),
            ],
        )
        .unwrap();
        assert_eq!(c.server.listen.to_string(), "127.0.0.1:9100");
        assert_eq!(c.admin.lockout_threshold, 3);
        assert_eq!(c.server.request_timeout, Duration::from_secs(5));

        let err = load("", &[("HUB_SERVER__LISTN", "x")]).unwrap_err();
        assert_eq!(err.0.len(), 1);
        assert_eq!(err.0[0].key, "server.listn");
        assert_eq!(err.0[0].location, "environment variable HUB_SERVER__LISTN");
    }

    #[test]
    fn numeric_looking_environment_values_still_fill_string_settings() {
        let c = load("", &[("HUB_LOG__LEVEL", "123")]);
        // `123` is not a valid level, but the problem must be about the level, not its type.
        let err = c.unwrap_err();
        assert_eq!(err.0.len(), 1);
        assert!(err.0[0].message.contains("`123` is not a level"), "{err}");
    }

    #[test]
    fn secrets_come_inline_or_from_files_and_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("k");
        std::fs::write(&key_file, "00112233445566778899aabbccddeeff\n").unwrap();
        let c = load(
            "",
            &[
                ("HUB_CRYPTO__DATA_KEY_FILE", key_file.to_str().unwrap()),
                (
                    "HUB_AUDIT__HMAC_KEY",
                    "00112233445566778899aabbccddeeff00112233",
                ),
            ],
        )
        .unwrap();
        assert!(matches!(&c.crypto.data_key, KeySetting::Given(k) if k.as_bytes().len() == 16));
        assert!(matches!(&c.audit.hmac_key, KeySetting::Given(k) if k.as_bytes().len() == 20));

        let err = load(
            "[crypto]\ndata_key = \"0011\"\nindex_key = \"00112233445566778899aabbccddeeff\"\nindex_key_file = \"/nonexistent\"\n",
            &[],
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("crypto.data_key: has 2 bytes; must be exactly 16 bytes"),
            "{text}"
        );
        assert!(text.contains("crypto.index_key: set either"), "{text}");

        // A bad key from a file is reported where the file was named.
        let short = dir.path().join("short");
        std::fs::write(&short, "0011").unwrap();
        let err = load(
            "",
            &[("HUB_CRYPTO__DATA_KEY_FILE", short.to_str().unwrap())],
        )
        .unwrap_err();
        assert_eq!(err.0.len(), 1);
        assert_eq!(err.0[0].key, "crypto.data_key_file");
        assert_eq!(
            err.0[0].location,
            "environment variable HUB_CRYPTO__DATA_KEY_FILE"
        );
    }

    #[test]
    fn postgres_requires_shared_keys_and_never_echoes_the_url() {
        let err = load("[database]\nurl = \"postgres://hub:s3cret@db/hub\"\n", &[]).unwrap_err();
        let text = err.to_string();
        assert_eq!(err.0.len(), 3, "{text}");
        assert!(text.contains("audit.hmac_key: is required with PostgreSQL"));
        assert!(!text.contains("s3cret"));

        let err = load("[database]\nurl = \"mysql://root:s3cret@db/x\"\n", &[]).unwrap_err();
        assert!(err.to_string().contains("scheme `mysql` is not supported"));
        assert!(!err.to_string().contains("s3cret"));
        let c = Config::defaults_in(Path::new("/tmp/x")).unwrap();
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn a_broken_file_is_one_problem_with_its_line() {
        let err = load("[server\nlisten = 1\n", &[]).unwrap_err();
        assert_eq!(err.0.len(), 1);
        assert!(err.0[0].location.ends_with("hub.toml:1"), "{err}");
    }
}
