//! Assembly of one hub: keys, store, audit writer, services, background jobs, and the server
//! with graceful shutdown.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use http::HeaderValue;
use tokio::task::JoinHandle;

use crate::accounts::Accounts;
use crate::admin::Admins;
use crate::audit::{Actor, AuditEvent, AuditLog, Outcome};
use crate::clock::Clock;
use crate::config::{Config, KeyBytes, KeySetting};
use crate::connectors::{ConnectorError, Connectors};
use crate::context::RequestContext;
use crate::federation::Federation;
use crate::http::metrics::Metrics;
use crate::http::middleware::RequestIds;
use crate::http::ratelimit::RateLimiter;
use crate::keys::{KeyCheckError, Keys};
use crate::replay::ReplayGuard;
use crate::sessions::Sessions;
use crate::store::{Db, StoreError};

/// Everything a request handler may need. Cheap to clone: each part is shared.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub keys: Keys,
    pub accounts: Arc<Accounts>,
    pub sessions: Arc<Sessions>,
    pub federation: Arc<Federation>,
    pub connectors: Arc<Connectors>,
    pub exchange: Arc<crate::exchange::Exchange>,
    /// The resilient client of every outbound call (back channels, probes, delivery).
    pub outbound: outbound::Client,
    /// Per client address on `/sso/` endpoints.
    pub sso_limiter: Arc<RateLimiter<IpAddr>>,
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub audit: AuditLog,
    pub admins: Arc<Admins>,
    pub metrics: Arc<Metrics>,
    pub login_limiter: Arc<RateLimiter<IpAddr>>,
    pub request_ids: Arc<RequestIds>,
    /// `Strict-Transport-Security` value, present when the hub terminates TLS.
    pub hsts: Option<HeaderValue>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    #[error("cannot read or create the key file {path}")]
    Key {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the key file {path} is not valid: {message}")]
    KeyInvalid { path: String, message: String },
    #[error("key material rejected")]
    Crypto(#[from] guomi::Error),
    #[error(transparent)]
    KeyCheck(#[from] KeyCheckError),
    #[error("identity providers cannot be set up")]
    Federation(#[from] sso::Error),
    #[error("the outbound HTTP client cannot be set up")]
    Outbound(#[from] outbound::Error),
    #[error("the connector registry cannot be loaded")]
    Connectors(#[from] ConnectorError),
    #[error("the partners cannot be loaded")]
    Exchange(#[from] crate::exchange::ExchangeError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    #[error("cannot load the TLS certificate or key")]
    Tls(#[source] std::io::Error),
    #[error("the server failed")]
    Serve(#[source] std::io::Error),
}

/// The hub's services without a server or background jobs: what command-line tools use.
pub struct Services {
    pub state: AppState,
    audit_task: JoinHandle<()>,
}

impl Services {
    /// Resolves keys, connects to the store (migrating it when `migrate`), starts the audit
    /// writer and builds the services.
    pub async fn open(
        config: Config,
        clock: Arc<dyn Clock>,
        migrate: bool,
    ) -> Result<Services, StartError> {
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
        let mut metrics = Metrics::new();
        outbound.register_metrics(metrics.registry_mut());
        let metrics = Arc::new(metrics);
        let connectors = Arc::new(Connectors::new(
            db.clone(),
            keys.clone(),
            clock.clone(),
            audit.clone(),
            config.connectors.clone(),
            metrics.clone(),
        ));
        let exchange = Arc::new(crate::exchange::Exchange::new(
            db.clone(),
            keys.clone(),
            clock.clone(),
            audit.clone(),
            config.exchange.clone(),
            &config.partners,
            metrics.clone(),
        ));
        let federation = Arc::new(Federation::new(
            &config,
            outbound.clone(),
            keys.clone(),
            clock.clone(),
            ReplayGuard::new(db.clone(), clock.clone()),
        )?);
        let state = AppState {
            keys,
            accounts,
            sessions,
            federation,
            connectors,
            exchange,
            outbound,
            sso_limiter: Arc::new(RateLimiter::per_minute(
                config.sso.login_attempts_per_minute,
            )),
            login_limiter: Arc::new(RateLimiter::per_minute(
                config.admin.login_attempts_per_minute,
            )),
            config: Arc::new(config),
            db,
            clock,
            audit,
            admins,
            metrics,
            request_ids: Arc::new(RequestIds::new()),
            hsts,
        };
        Ok(Services { state, audit_task })
    }

    /// Drains the audit writer and closes the store.
    pub async fn close(self) {
        self.state.audit.shutdown().await;
        let _ = self.audit_task.await;
        self.state.db.close().await;
    }
}

/// A started hub: store connected and migrated, audit writer and background jobs running.
pub struct Hub {
    state: AppState,
    audit_task: JoinHandle<()>,
    jobs: Vec<JoinHandle<()>>,
    extra: Option<Router>,
}

impl Hub {
    /// Connects, migrates and starts the audit writer and background jobs.
    pub async fn start(config: Config, clock: Arc<dyn Clock>) -> Result<Hub, StartError> {
        let Services {
            state, audit_task, ..
        } = Services::open(config, clock, true).await?;
        state.connectors.start().await?;
        state.exchange.reload_partners().await?;
        let mut jobs = vec![
            tokio::spawn(retention_job(state.clone())),
            tokio::spawn(cleanup_job(state.clone())),
            tokio::spawn(connector_refresh_job(state.clone())),
            tokio::spawn(crate::exchange::outbox::run(
                state.exchange.clone(),
                state.outbound.clone(),
            )),
        ];
        if state.config.connectors.probes {
            jobs.push(tokio::spawn(probe_job(state.clone())));
        }
        state
            .audit
            .append(
                AuditEvent::new("system.started", Outcome::Success)
                    .actor(Actor::system())
                    .details(serde_json::json!({
                        "version": env!("CARGO_PKG_VERSION"),
                        "backend": state.db.backend().as_str(),
                    })),
            )
            .await?;
        Ok(Hub {
            state,
            audit_task,
            jobs,
            extra: None,
        })
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn router(&self) -> Router {
        crate::http::router(self.state.clone(), self.extra.clone())
    }

    /// Serves `routes` too, behind the same middleware (the demo's sandbox simulators).
    pub fn mount(&mut self, routes: Router) {
        self.extra = Some(routes);
    }

    /// Serves on `listener` until `shutdown` resolves, then lets in-flight requests finish
    /// (up to `server.shutdown_grace`), records the stop and closes the store.
    pub async fn serve(
        self,
        listener: std::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        listener.set_nonblocking(true).map_err(StartError::Serve)?;
        let grace = self.state.config.server.shutdown_grace;
        let handle = axum_server::Handle::new();
        let trigger = handle.clone();
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutting down: no new connections, finishing requests in flight");
            trigger.graceful_shutdown(Some(grace));
        });
        let app = self
            .router()
            .into_make_service_with_connect_info::<SocketAddr>();
        let served = match &self.state.config.server.tls {
            None => {
                let mut server = axum_server::from_tcp(listener)
                    .map_err(StartError::Serve)?
                    .handle(handle);
                tune(server.http_builder());
                server.serve(app).await
            }
            Some(tls) => {
                let rustls =
                    crate::http::tls::server_config(&tls.cert, &tls.key, tls.client_ca.as_deref())
                        .map_err(StartError::Tls)?;
                let acceptor = crate::http::tls::ClientCertAcceptor(
                    axum_server::tls_rustls::RustlsAcceptor::new(rustls),
                );
                let mut server = axum_server::from_tcp(listener)
                    .map_err(StartError::Serve)?
                    .acceptor(acceptor)
                    .handle(handle);
                tune(server.http_builder());
                server.serve(app).await
            }
        };
        self.stop().await;
        served.map_err(StartError::Serve)
    }

    /// Records the stop, drains the audit writer and closes the store.
    pub async fn stop(self) {
        for j in &self.jobs {
            j.abort();
        }
        let _ = self
            .state
            .audit
            .append(AuditEvent::new("system.stopped", Outcome::Success).actor(Actor::system()))
            .await;
        self.state.audit.shutdown().await;
        let _ = self.audit_task.await;
        self.state.db.close().await;
    }
}

/// Limits on slow clients: headers must arrive within 10 s.
fn tune(builder: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>) {
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10));
}

/// Key material from the configuration, or from the data directory, generated on first start
/// (embedded single-node store only; validation refuses this with PostgreSQL).
pub fn resolve_key(setting: &KeySetting) -> Result<KeyBytes, StartError> {
    match setting {
        KeySetting::Given(k) => Ok(k.clone()),
        KeySetting::Generated { path, len } => {
            let err = |source| StartError::Key {
                path: path.display().to_string(),
                source,
            };
            match std::fs::read_to_string(path) {
                Ok(text) => {
                    let k =
                        KeyBytes::from_hex(&text).map_err(|message| StartError::KeyInvalid {
                            path: path.display().to_string(),
                            message,
                        })?;
                    if k.as_bytes().len() != *len {
                        return Err(StartError::KeyInvalid {
                            path: path.display().to_string(),
                            message: format!("has {} bytes, expected {len}", k.as_bytes().len()),
                        });
                    }
                    Ok(k)
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let bytes = guomi::random_vec(*len)?;
                    write_private(path, hex::encode(&bytes).as_bytes()).map_err(err)?;
                    tracing::info!(path = %path.display(), "generated a key; back it up with the data directory");
                    Ok(KeyBytes::from_vec(bytes))
                }
                Err(e) => Err(err(e)),
            }
        }
    }
}

/// Writes a new file readable by the owner only.
fn write_private(path: &std::path::Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents)?;
    f.sync_all()
}

/// Archives and purges expired audit records every `audit.purge_interval`, the first time a few
/// minutes after start (not at once: a node that restarts in a loop should not purge in a loop).
async fn retention_job(state: AppState) {
    let every = state.config.audit.purge_interval;
    let first = tokio::time::Instant::now() + every.min(Duration::from_secs(300));
    let mut tick = tokio::time::interval_at(first, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match state
            .audit
            .archive_expired(
                state.config.audit.retention,
                &state.config.audit.archive_dir,
            )
            .await
        {
            Ok(done) if !done.is_empty() => {
                let records: i64 = done.iter().map(|d| d.records).sum();
                let _ = state
                    .audit
                    .append(
                        AuditEvent::new("audit.archived", Outcome::Success)
                            .actor(Actor::system())
                            .context(&RequestContext::system())
                            .details(serde_json::json!({
                                "records": records,
                                "files": done.iter().map(|d| d.file.display().to_string()).collect::<Vec<_>>(),
                                "up_to_seq": done.last().map(|d| d.up_to_seq),
                            })),
                    )
                    .await;
            }
            Ok(_) => {}
            Err(crate::audit::AuditError::ConcurrentArchive) => {
                tracing::info!("another node archived the expired audit records");
            }
            Err(e) => {
                tracing::error!(error = %crate::telemetry::chain(&e), "audit retention failed; records are kept")
            }
        }
    }
}

/// Reloads connector definitions and health from the store, so that a change or a probe made by
/// another node shows here within `connectors.refresh_interval`.
async fn connector_refresh_job(state: AppState) {
    let every = state.config.connectors.refresh_interval;
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = state.connectors.reload().await {
            tracing::warn!(error = %crate::telemetry::chain(&e), "cannot reload the connectors; serving the last view");
        }
        if let Err(e) = state.exchange.reload_partners().await {
            tracing::warn!(error = %crate::telemetry::chain(&e), "cannot reload the partners; serving the last view");
        }
    }
}

/// Probes the connectors when a round is due (see `connectors::health`).
async fn probe_job(state: AppState) {
    let mut tick = tokio::time::interval(state.connectors.probe_tick());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let round = outbound::scope_request_id(
            format!("probe-{}", uuid::Uuid::now_v7().simple()),
            state.connectors.probe_round(&state.outbound, false),
        );
        if let Err(e) = round.await {
            tracing::warn!(error = %crate::telemetry::chain(&e), "connector probe round failed");
        }
    }
}

/// Forgets expired sessions and single-use values every five minutes.
async fn cleanup_job(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(300));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = state.sessions.purge_expired().await {
            tracing::warn!(error = %crate::telemetry::chain(&e), "cannot purge expired sessions");
        }
        if let Err(e) = state.federation.replay.purge_expired().await {
            tracing::warn!(error = %crate::telemetry::chain(&e), "cannot purge the replay guard");
        }
        if let Err(e) = state.exchange.purge_payloads().await {
            tracing::warn!(error = %crate::telemetry::chain(&e), "cannot purge retained message payloads");
        }
    }
}
