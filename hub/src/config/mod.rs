//! Configuration: a TOML file (optional), then `HUB_*` environment variables, then command-line
//! flags, validated into [`Config`]. Every problem is reported at once with where it came from;
//! with no file and no variables the defaults run a complete hub on embedded SQLite.
//!
//! The binary owns only the top-level shape of the file; each section is its crate's: the
//! platform's (server, database, log, audit, admin, crypto, sessions, outbound), sign-in
//! (`[sso]`, `[providers.*]`), connectors (`[connectors]`), exchange (`[exchange]`,
//! `[partners.*]`) and the portal (`[portal]`).

mod raw;

use std::path::Path;

pub use platform::config::{
    AdminConfig, AuditConfig, ByteSize, CryptoConfig, DatabaseConfig, DatabaseUrl, HumanDuration,
    KeyBytes, KeySetting, LogConfig, LogFormat, MIN_AUDIT_RETENTION, PlatformConfig, Problem,
    Problems, Secret, ServerConfig, SessionConfig, TlsConfig,
};

use platform::config::Layered;
use raw::RawConfig;

/// The validated configuration of one hub process.
#[derive(Clone, Debug)]
pub struct Config {
    pub platform: PlatformConfig,
    pub sso: sso::config::SsoSettings,
    pub connectors: connectors::config::ConnectorsConfig,
    pub exchange: exchange::config::ExchangeSettings,
    pub portal: portal::config::PortalConfig,
    pub content: cms::config::ContentConfig,
    pub market: market::MarketConfig,
}

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
        let mut all = self.platform.summary();
        for part in [
            self.sso.summary(),
            serde_json::json!({ "connectors": self.connectors.summary() }),
            self.exchange.summary(),
            serde_json::json!({ "portal": self.portal.summary() }),
            serde_json::json!({ "content": self.content.summary() }),
            serde_json::json!({ "market": self.market.summary() }),
        ] {
            if let serde_json::Value::Object(m) = part {
                all.extend(m);
            }
        }
        serde_json::Value::Object(all)
    }
}

fn validate(raw: RawConfig, l: &mut Layered) -> Config {
    let platform = platform::config::validate(
        platform::config::raw::RawPlatform {
            data_dir: raw.data_dir,
            server: raw.server,
            database: raw.database,
            log: raw.log,
            audit: raw.audit,
            admin: raw.admin,
            crypto: raw.crypto,
            sessions: raw.sessions,
            outbound: raw.outbound,
        },
        l,
    );
    let sso = sso::config::validate(raw.sso, raw.providers, l);
    let providers: Vec<(String, bool)> = sso
        .providers
        .iter()
        .map(|p| (p.id.clone(), p.starts_sign_in()))
        .collect();
    let connectors = connectors::config::validate(raw.connectors, &providers, l);
    let client_ca = platform
        .server
        .tls
        .as_ref()
        .is_some_and(|t| t.client_ca.is_some());
    let exchange = exchange::config::validate(raw.exchange, raw.partners, client_ca, l);
    let portal = portal::config::validate(raw.portal, &platform.data_dir, l);
    let content = cms::config::validate(raw.content, &platform.data_dir, l);
    let market = market::feed::validate(raw.market, l);
    check_internal_targets(&exchange, &market, l);
    Config {
        platform,
        sso,
        connectors,
        exchange,
        portal,
        content,
        market,
    }
}

/// Partners whose messages go to an in-process consumer (`deliver_to = "internal:<name>"`):
/// the name must be one this binary registers (`crate::consumers`), and the marketplace's must
/// know which institution the partner acts for and receive only what it applies.
fn check_internal_targets(
    exchange: &exchange::config::ExchangeSettings,
    market: &market::MarketConfig,
    l: &mut Layered,
) {
    for p in &exchange.partners {
        let Some(name) = p
            .deliver_to
            .as_ref()
            .and_then(|u| exchange::consumer::internal_name(u.as_str()))
        else {
            continue;
        };
        let key = format!("partners.{}.deliver_to", p.id);
        if !crate::consumers::NAMES.contains(&name) {
            l.problem(
                &key,
                format!(
                    "no in-process consumer is named `{name}` (this hub has: {})",
                    crate::consumers::NAMES.join(", ")
                ),
            );
            continue;
        }
        if name == crate::consumers::MARKET {
            if !market.partners.contains_key(&p.id) {
                l.problem(
                    &key,
                    format!(
                        "`internal:market` needs the institution this partner answers for: market.partners.{} = \"<organisation id or credit code>\"",
                        p.id
                    ),
                );
            }
            if let Some(t) = p
                .message_types
                .iter()
                .find(|t| t.as_str() != market::feed::MESSAGE_TYPE)
            {
                l.problem(
                    &key,
                    format!(
                        "the marketplace applies {} only; `{t}` messages of this partner would be refused",
                        market::feed::MESSAGE_TYPE
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
        assert_eq!(c.platform.server.listen.to_string(), "127.0.0.1:8080");
        assert!(
            matches!(&c.platform.database.url, DatabaseUrl::Sqlite(p) if p.ends_with("data/hub.db"))
        );
        assert!(matches!(
            c.platform.audit.hmac_key,
            KeySetting::Generated { .. }
        ));
        assert_eq!(c.platform.audit.retention, MIN_AUDIT_RETENTION);
        assert_eq!(c.platform.admin.lockout_threshold, 5);
        assert_eq!(c.platform.server.public_url, "http://127.0.0.1:8080");
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
    fn in_process_consumers_are_known_and_the_market_knows_the_partners_institution() {
        let partner = |id: &str, target: &str| {
            format!(
                "[partners.{id}]\nauth = \"token\"\ntoken = \"a-long-partner-token-0123456789\"\nmessage_types = [\"financing.demand_notice\"]\ndeliver_to = \"{target}\"\n"
            )
        };
        let mapped = "[market.partners]\nbank = \"91350802MA2YLK3N0B\"\n";
        let c = load(&(partner("bank", "internal:market") + mapped), &[]).unwrap();
        assert_eq!(c.market.partners["bank"], "91350802MA2YLK3N0B");
        let keys = |text: &str| -> Vec<String> {
            load(text, &[])
                .unwrap_err()
                .0
                .into_iter()
                .map(|p| p.key)
                .collect()
        };
        // An unknown consumer; the market without the partner's institution.
        assert_eq!(
            keys(&(partner("bank", "internal:ledger") + mapped)),
            ["partners.bank.deliver_to"]
        );
        assert_eq!(
            keys(&partner("bank", "internal:market")),
            ["partners.bank.deliver_to"]
        );
        // A mapping that is neither an organisation id nor a valid credit code.
        assert_eq!(
            keys(&(partner("bank", "internal:market") + "[market.partners]\nbank = \"ICBC\"\n")),
            ["market.partners.bank", "partners.bank.deliver_to"]
        );
        // Message types the market does not apply.
        let both = partner("bank", "internal:market").replace(
            "[\"financing.demand_notice\"]",
            "[\"financing.demand_notice\", \"receivables.registration_result\"]",
        );
        assert_eq!(keys(&(both + mapped)), ["partners.bank.deliver_to"]);
    }

    #[test]
    fn partner_secrets_may_come_from_files_and_unknown_keys_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "a-long-partner-token-0123456789\n").unwrap();
        let text = format!(
            "[partners.bank]\nauth = \"token\"\ntoken_file = \"{}\"\nmessage_types = [\"financing.demand_notice\"]\n",
            token.display()
        );
        let c = load(&text, &[]).unwrap();
        let bank = c.exchange.partners.iter().find(|p| p.id == "bank").unwrap();
        assert_eq!(bank.auth.kind(), "token");

        // Both forms, an unreadable file and an unknown key: each named where it was written.
        let err = load(
            &format!("{text}token = \"inline-token-0123456789abcdef\"\n"),
            &[],
        )
        .unwrap_err();
        assert!(
            err.0
                .iter()
                .any(|p| p.key == "partners.bank.token" && p.message.contains("not both")),
            "{err}"
        );
        let err = load(
            "[partners.bank]\nauth = \"token\"\ntoken_file = \"/nonexistent/t\"\nmessage_types = [\"financing.demand_notice\"]\ncolour = \"red\"\n",
            &[],
        )
        .unwrap_err();
        let keys: Vec<&str> = err.0.iter().map(|p| p.key.as_str()).collect();
        assert!(keys.contains(&"partners.bank.token_file"), "{err}");
        assert!(keys.contains(&"partners.bank.colour"), "{err}");
        let colour = err
            .0
            .iter()
            .find(|p| p.key == "partners.bank.colour")
            .unwrap();
        assert!(colour.location.ends_with("hub.toml:5"), "{colour}");
    }

    #[test]
    fn outbound_settings_are_configurable_and_checked() {
        let c = load(
            "[outbound]\nconnect_timeout = \"2s\"\ntimeout = \"3s\"\nmax_attempts = 2\nbreaker_threshold = 7\nmax_concurrency_per_host = 4\n",
            &[("HUB_OUTBOUND__BREAKER_COOL_DOWN", "45s")],
        )
        .unwrap();
        assert_eq!(c.platform.outbound.timeout, Duration::from_secs(3));
        assert_eq!(c.platform.outbound.max_attempts, 2);
        assert_eq!(c.platform.outbound.breaker_threshold, 7);
        assert_eq!(
            c.platform.outbound.breaker_cool_down,
            Duration::from_secs(45)
        );
        assert_eq!(c.platform.outbound.max_concurrency_per_host, 4);
        assert_eq!(c.platform.outbound.connect_timeout, Duration::from_secs(2));
        assert_eq!(
            c.platform.outbound.backoff_max,
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
        assert_eq!(c.platform.server.listen.to_string(), "127.0.0.1:9100");
        assert_eq!(c.platform.admin.lockout_threshold, 3);
        assert_eq!(c.platform.server.request_timeout, Duration::from_secs(5));

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
        assert!(
            matches!(&c.platform.crypto.data_key, KeySetting::Given(k) if k.as_bytes().len() == 16)
        );
        assert!(
            matches!(&c.platform.audit.hmac_key, KeySetting::Given(k) if k.as_bytes().len() == 20)
        );

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
