//! The platform's services, opened once per process and shared by every feature: keys, store,
//! audit writer, administrators, accounts, sessions, the outbound client, metrics and the
//! limiters. Feature crates take a [`Platform`] (cheap to clone: each part is shared) and build
//! their own services on it; the binary assembles them.

use std::net::IpAddr;
use std::sync::Arc;

use http::HeaderValue;
use tokio::task::JoinHandle;

use crate::accounts::Accounts;
use crate::admin::Admins;
use crate::audit::{AuditError, AuditLog};
use crate::clock::Clock;
use crate::config::PlatformConfig;
use crate::http::metrics::Metrics;
use crate::http::ratelimit::RateLimiter;
use crate::http::request_id::RequestIds;
use crate::keys::{KeyCheckError, Keys, resolve_key};
use crate::replay::ReplayGuard;
use crate::sessions::Sessions;
use crate::sign_in::SignInHook;
use crate::store::{Db, StoreError};
use crate::web::page::{Web, WebError};

/// Something besides the store that must work for this node to take traffic (the exchange's
/// writer of partner messages, say). `/readyz` asks each.
pub trait Readiness: Send + Sync {
    /// Why the node is not ready, in words for an operator; `None` when it is.
    fn not_ready(&self) -> Option<&'static str>;
}

/// Everything the platform provides to request handlers and feature services.
#[derive(Clone)]
pub struct Platform {
    pub config: Arc<PlatformConfig>,
    pub keys: Keys,
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub audit: AuditLog,
    pub admins: Arc<Admins>,
    pub accounts: Arc<Accounts>,
    pub sessions: Arc<Sessions>,
    /// The single-use guard of tickets, states and nonces.
    pub replay: ReplayGuard,
    /// The resilient client of every outbound call (back channels, probes, delivery).
    pub outbound: outbound::Client,
    pub metrics: Arc<Metrics>,
    /// Per client address, on the administrators' sign-in.
    pub login_limiter: Arc<RateLimiter<IpAddr>>,
    pub request_ids: Arc<RequestIds>,
    /// `Strict-Transport-Security` value, present when the hub terminates TLS.
    pub hsts: Option<HeaderValue>,
    /// What `/readyz` checks besides the store; set by the binary once features are built.
    pub readiness: Arc<Vec<Arc<dyn Readiness>>>,
    /// The whole configuration as operators may see it (secrets replaced), for
    /// `/api/admin/config`; set by the binary, which alone knows every section.
    pub config_summary: Arc<serde_json::Value>,
    /// What runs after every sign-in (binding a company to its enterprise); set by the binary
    /// once features are built.
    pub sign_in_hooks: Arc<Vec<Arc<dyn SignInHook>>>,
    /// The pages' templates and assets: the platform's own until the binary installs every
    /// feature's (and the operator's theme). Browsers' error pages are rendered with it.
    pub web: Arc<Web>,
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Platform")
            .field("backend", &self.db.backend().as_str())
            .finish_non_exhaustive()
    }
}

/// Why the platform could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    #[error(transparent)]
    Key(#[from] crate::keys::KeyFileError),
    #[error("key material rejected")]
    Crypto(#[from] guomi::Error),
    #[error(transparent)]
    KeyCheck(#[from] KeyCheckError),
    #[error("the outbound HTTP client cannot be set up")]
    Outbound(#[from] outbound::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("the pages cannot be set up")]
    Web(#[from] WebError),
}

impl Platform {
    /// Resolves keys, connects to the store (migrating it when `migrate`), proves the keys
    /// against it, starts the audit writer and builds the services. `metrics` holds the
    /// features' metric families already (each feature registers its own before this); the
    /// outbound client's are added here. Returns the task of the audit writer, to be drained by
    /// [`Platform::close`].
    pub async fn open(
        config: PlatformConfig,
        clock: Arc<dyn Clock>,
        migrate: bool,
        mut metrics: Metrics,
    ) -> Result<(Platform, JoinHandle<()>), OpenError> {
        let audit_key = resolve_key(&config.audit.hmac_key)?;
        let data_key = resolve_key(&config.crypto.data_key)?;
        let index_key = resolve_key(&config.crypto.index_key)?;

        let db = Db::connect(&config.database).await?;
        if migrate {
            db.migrate_pending().await?;
        }

        let keys = Keys {
            audit: Arc::new(guomi::HmacSm3::new(audit_key.as_bytes())?),
            data: Arc::new(guomi::Sm4GcmCipher::new(data_key.as_bytes())?),
            index: Arc::new(guomi::HmacSm3::new(index_key.as_bytes())?),
        };
        keys.check(&db, clock.as_ref()).await?;
        let (audit, audit_task) =
            AuditLog::start(db.clone(), keys.audit.clone(), clock.clone()).await?;
        let admins = Arc::new(Admins::new(
            db.clone(),
            keys.data.clone(),
            clock.clone(),
            config.admin.clone(),
            audit.clone(),
        ));
        let hsts = config.server.tls.as_ref().and_then(|t| {
            HeaderValue::from_str(&format!(
                "max-age={}; includeSubDomains",
                t.hsts_max_age.as_secs()
            ))
            .ok()
        });
        let accounts = Arc::new(Accounts::new(
            db.clone(),
            keys.clone(),
            clock.clone(),
            audit.clone(),
        ));
        let sessions = Arc::new(Sessions::new(
            db.clone(),
            keys.clone(),
            clock.clone(),
            config.sessions.clone(),
            accounts.clone(),
        ));
        let outbound = outbound::Client::new(config.outbound.clone())?;
        outbound.register_metrics(metrics.registry_mut());
        let platform = Platform {
            keys,
            accounts,
            sessions,
            replay: ReplayGuard::new(db.clone(), clock.clone()),
            outbound,
            login_limiter: Arc::new(RateLimiter::per_minute(
                config.admin.login_attempts_per_minute,
            )),
            config: Arc::new(config),
            db,
            clock,
            audit,
            admins,
            metrics: Arc::new(metrics),
            request_ids: Arc::new(RequestIds::new()),
            hsts,
            readiness: Arc::new(Vec::new()),
            config_summary: Arc::new(serde_json::Value::Null),
            sign_in_hooks: Arc::new(Vec::new()),
            web: Arc::new(Web::new(&[], &[], None, "龙岩普惠金融平台")?),
        };
        Ok((platform, audit_task))
    }

    /// Drains the audit writer and closes the store.
    pub async fn close(self, audit_task: JoinHandle<()>) {
        self.audit.shutdown().await;
        let _ = audit_task.await;
        self.db.close().await;
    }
}
