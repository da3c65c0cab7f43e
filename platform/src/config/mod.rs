//! The platform's own settings — server, database, logging, audit, administrators, keys, user
//! sessions and the outbound client — and the machinery every section of the configuration is
//! read with: layering of the file, `HUB_*` variables and flags with the origin of every key
//! ([`Layered`]), the value types ([`Secret`], [`KeyBytes`], [`HumanDuration`], [`ByteSize`]) and
//! the shared rules ([`positive`], [`secret_or_file`]).
//!
//! Feature crates own their sections (raw structs and validation); the binary assembles the
//! whole file from them. Every problem is collected, none stops the reading, so that
//! `hub check-config` lists them all at once.

pub mod raw;
mod source;
mod value;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

pub use source::{Layered, Problem, Problems};
pub use telemetry::LogFormat;
pub use value::{ByteSize, HumanDuration, KeyBytes, Secret};

use raw::RawPlatform;

/// The validated settings of the platform core.
#[derive(Clone, Debug)]
pub struct PlatformConfig {
    pub data_dir: PathBuf,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub log: LogConfig,
    pub audit: AuditConfig,
    pub admin: AdminConfig,
    pub crypto: CryptoConfig,
    pub sessions: SessionConfig,
    /// The resilient client of every outbound call: sign-in back channels, probes, delivery.
    pub outbound: outbound::Settings,
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

pub fn validate(raw: RawPlatform, l: &mut Layered) -> PlatformConfig {
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
    let outbound = validate_outbound(raw.outbound, l);

    PlatformConfig {
        data_dir,
        sessions,
        outbound,
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

impl PlatformConfig {
    /// The settings as an operator may see them, secrets replaced: the core's part of
    /// `/api/admin/config`.
    pub fn summary(&self) -> serde_json::Map<String, serde_json::Value> {
        let key = |k: &KeySetting| match k {
            KeySetting::Given(_) => "configured".to_owned(),
            KeySetting::Generated { path, .. } => format!("generated in {}", path.display()),
        };
        let v = serde_json::json!({
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
        });
        match v {
            serde_json::Value::Object(m) => m,
            _ => serde_json::Map::new(),
        }
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

/// A duration setting that must be greater than zero, `default_secs` when absent.
pub fn positive(
    l: &mut Layered,
    key: &str,
    v: Option<HumanDuration>,
    default_secs: u64,
) -> Duration {
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
pub fn secret_or_file(
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

/// A URL the hub calls or sends users to: https, or http on the loopback interface only (the
/// sandbox). Certificates are always verified.
pub fn endpoint(l: &mut Layered, key: &str, text: &str) -> Option<Url> {
    check_endpoint(text).map_err(|m| l.problem(key, m)).ok()
}

/// An https URL, or http on the loopback interface.
pub fn check_endpoint(text: &str) -> Result<Url, String> {
    match Url::parse(text.trim()) {
        Ok(u) if u.scheme() == "https" && u.host().is_some() => Ok(u),
        Ok(u) if u.scheme() == "http" && is_loopback(&u) => Ok(u),
        Ok(_) => Err(format!(
            "`{text}` must be an https URL (http only on the loopback interface)"
        )),
        Err(e) => Err(format!("`{text}` is not a URL: {e}")),
    }
}

fn is_loopback(u: &Url) -> bool {
    match u.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}
