//! Assembly of one hub: the platform (keys, store, audit writer, core services), the feature
//! services built on it (sign-in, connectors, exchange, portal), the background jobs, and the
//! server with graceful shutdown and optional TLS.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use connectors::Connectors;
use exchange::Exchange;
use orgs::Orgs;
use platform::Platform;
use platform::audit::{Actor, AuditEvent, Outcome};
use platform::clock::Clock;
use platform::context::RequestContext;
use platform::http::metrics::Metrics;
use platform::sign_in::SignInHook;
use platform::state::{OpenError, Readiness};
use platform::web::page::{Web, WebError};
use sso::federation::Federation;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::state::AppState;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    #[error(transparent)]
    Platform(#[from] OpenError),
    #[error("identity providers cannot be set up")]
    Federation(#[from] sso::Error),
    #[error("the connector registry cannot be loaded")]
    Connectors(#[from] connectors::registry::ConnectorError),
    #[error("the partners cannot be loaded")]
    Exchange(#[from] exchange::service::ExchangeError),
    #[error(transparent)]
    Audit(#[from] platform::audit::AuditError),
    #[error("content cannot be set up: {0}")]
    Content(#[from] cms::CmsError),
    #[error("the pages cannot be set up")]
    Web(#[from] WebError),
    #[error("cannot load the TLS certificate or key")]
    Tls(#[source] std::io::Error),
    #[error("the server failed")]
    Serve(#[source] std::io::Error),
}

/// `/readyz` asks the exchange whether its writer of partner messages still runs.
struct IntakeReadiness(Arc<Exchange>);

impl Readiness for IntakeReadiness {
    fn not_ready(&self) -> Option<&'static str> {
        (!self.0.intake_running())
            .then_some("the writer of partner messages has stopped: restart this node")
    }
}

/// The hub's services without a server or background jobs: what command-line tools use.
pub struct Services {
    pub state: AppState,
    audit_task: JoinHandle<()>,
    /// The queue of page views, until [`Hub::start`] gives it to the statistics writer.
    views: Option<tokio::sync::mpsc::Receiver<cms::stats::View>>,
}

impl Services {
    /// Opens the platform (migrating the store when `migrate`) and builds every feature's
    /// services on it.
    pub async fn open(
        config: Config,
        clock: Arc<dyn Clock>,
        migrate: bool,
    ) -> Result<Services, StartError> {
        let mut metrics = Metrics::new();
        let connector_metrics =
            connectors::metrics::ConnectorMetrics::register(metrics.registry_mut());
        let exchange_metrics = exchange::metrics::ExchangeMetrics::register(metrics.registry_mut());
        let (mut platform, audit_task) =
            Platform::open(config.platform.clone(), clock.clone(), migrate, metrics).await?;
        let connectors = Arc::new(Connectors::new(
            platform.db.clone(),
            platform.keys.clone(),
            clock.clone(),
            platform.audit.clone(),
            config.connectors.clone(),
            connector_metrics,
        ));
        let exchange = Arc::new(Exchange::new(
            platform.db.clone(),
            platform.keys.clone(),
            clock.clone(),
            platform.audit.clone(),
            config.exchange.exchange.clone(),
            &config.exchange.partners,
            exchange_metrics,
        ));
        let federation = Arc::new(Federation::new(
            config.sso.clone(),
            &config.platform.server.public_url,
            platform.outbound.clone(),
            platform.keys.clone(),
            clock.clone(),
            platform.replay.clone(),
        )?);
        platform.readiness = Arc::new(vec![
            Arc::new(IntakeReadiness(exchange.clone())) as Arc<dyn Readiness>
        ]);
        platform.config_summary = Arc::new(config.redacted_summary());
        platform.web = Arc::new(Web::new(
            &[
                portal::TEMPLATES,
                portal::console::TEMPLATES,
                portal::products::TEMPLATES,
                portal::demands::TEMPLATES,
                portal::applications::TEMPLATES,
                portal::institution_centre::TEMPLATES,
                sso::pages::TEMPLATES,
                connectors::pages::TEMPLATES,
            ],
            &[portal::ASSETS],
            config.portal.theme_dir.as_deref(),
            &config.portal.site_name,
        )?);
        let orgs = Arc::new(Orgs::new(&platform));
        let own_host = url::Url::parse(&config.platform.server.public_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        let (cms, views) = cms::Cms::new(&platform, config.content.clone(), &own_host)?;
        let cms = Arc::new(cms);
        let market = Arc::new(market::Market::new(&platform, cms.clone(), orgs.clone()));
        // Banks' answers about the marketplace's demands (`deliver_to = "internal:market"`).
        exchange.register_consumer(
            crate::consumers::MARKET,
            Arc::new(crate::consumers::MarketConsumer(market::Feed::new(
                (*market).clone(),
                orgs.clone(),
                &config.market,
            ))),
        );
        platform.sign_in_hooks = Arc::new(vec![
            Arc::new(orgs::BindEnterprise(orgs.clone())) as Arc<dyn SignInHook>,
            Arc::new(market::SignInPoints(market.clone())),
        ]);
        let portal = portal::PortalState::new(
            platform.clone(),
            federation.clone(),
            connectors.clone(),
            orgs.clone(),
            exchange.clone(),
            cms.clone(),
            market.clone(),
            config.portal.clone(),
        );
        let state = AppState {
            config: Arc::new(config),
            platform,
            federation,
            connectors,
            exchange,
            orgs,
            cms,
            market,
            portal,
        };
        Ok(Services {
            state,
            audit_task,
            views: Some(views),
        })
    }

    /// Drains the audit writer and closes the store.
    pub async fn close(self) {
        self.state.platform.close(self.audit_task).await;
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
            state,
            audit_task,
            views,
        } = Services::open(config, clock, true).await?;
        state.connectors.start().await?;
        state.exchange.reload_partners().await?;
        let mut jobs = vec![
            tokio::spawn(retention_job(state.clone())),
            tokio::spawn(cleanup_job(state.clone())),
            tokio::spawn(connector_refresh_job(state.clone())),
            tokio::spawn(exchange::outbox::run(
                state.exchange.clone(),
                state.platform.outbound.clone(),
            )),
            tokio::spawn(cms::Cms::follow_changes((*state.cms).clone())),
            tokio::spawn(market_reminder_job(state.clone())),
        ];
        if let Some(views) = views {
            jobs.push(tokio::spawn(cms::Cms::run_stats(
                (*state.cms).clone(),
                views,
            )));
        }
        if state.config.connectors.probes {
            jobs.push(tokio::spawn(probe_job(state.clone())));
        }
        state
            .platform
            .audit
            .append(
                AuditEvent::new("system.started", Outcome::Success)
                    .actor(Actor::system())
                    .details(serde_json::json!({
                        "version": env!("CARGO_PKG_VERSION"),
                        "backend": state.platform.db.backend().as_str(),
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
        crate::router::router(&self.state, self.extra.clone())
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
        let grace = self.state.config.platform.server.shutdown_grace;
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
        let served = match &self.state.config.platform.server.tls {
            None => {
                let mut server = axum_server::from_tcp(listener)
                    .map_err(StartError::Serve)?
                    .handle(handle);
                tune(server.http_builder());
                server.serve(app).await
            }
            Some(tls) => {
                let rustls =
                    crate::tls::server_config(&tls.cert, &tls.key, tls.client_ca.as_deref())
                        .map_err(StartError::Tls)?;
                let acceptor = crate::tls::ClientCertAcceptor(
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
            .platform
            .audit
            .append(AuditEvent::new("system.stopped", Outcome::Success).actor(Actor::system()))
            .await;
        self.state.platform.close(self.audit_task).await;
    }
}

/// Limits on slow clients: headers must arrive within 10 s.
fn tune(builder: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>) {
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10));
}

/// Archives and purges expired audit records every `audit.purge_interval`, the first time a few
/// minutes after start (not at once: a node that restarts in a loop should not purge in a loop).
async fn retention_job(state: AppState) {
    let every = state.config.platform.audit.purge_interval;
    let first = tokio::time::Instant::now() + every.min(Duration::from_secs(300));
    let mut tick = tokio::time::interval_at(first, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match state
            .platform
            .audit
            .archive_expired(
                state.config.platform.audit.retention,
                &state.config.platform.audit.archive_dir,
            )
            .await
        {
            Ok(done) if !done.is_empty() => {
                let records: i64 = done.iter().map(|d| d.records).sum();
                let _ = state
                    .platform
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
            Err(platform::audit::AuditError::ConcurrentArchive) => {
                tracing::info!("another node archived the expired audit records");
            }
            Err(e) => {
                tracing::error!(error = %telemetry::chain(&e), "audit retention failed; records are kept")
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
            tracing::warn!(error = %telemetry::chain(&e), "cannot reload the connectors; serving the last view");
        }
        if let Err(e) = state.exchange.reload_partners().await {
            tracing::warn!(error = %telemetry::chain(&e), "cannot reload the partners; serving the last view");
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
            state
                .connectors
                .probe_round(&state.platform.outbound, false),
        );
        if let Err(e) = round.await {
            tracing::warn!(error = %telemetry::chain(&e), "connector probe round failed");
        }
    }
}

/// Reminds institutions of overdue feedback every minute (the marketplace's 时限规则). Every
/// node runs it; each reminder is sent once (see `market::deadlines`).
async fn market_reminder_job(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match state.market.remind_overdue().await {
            Ok(0) => {}
            Ok(sent) => tracing::info!(sent, "overdue feedback reminders sent"),
            Err(e) => {
                tracing::warn!(error = %telemetry::chain(&e), "cannot send the overdue feedback reminders");
            }
        }
    }
}

/// Forgets expired sessions and single-use values every five minutes.
async fn cleanup_job(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(300));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = state.platform.sessions.purge_expired().await {
            tracing::warn!(error = %telemetry::chain(&e), "cannot purge expired sessions");
        }
        if let Err(e) = state.platform.replay.purge_expired().await {
            tracing::warn!(error = %telemetry::chain(&e), "cannot purge the replay guard");
        }
        if let Err(e) = state.exchange.purge_payloads().await {
            tracing::warn!(error = %telemetry::chain(&e), "cannot purge retained message payloads");
        }
    }
}
