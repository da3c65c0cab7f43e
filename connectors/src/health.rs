//! Health probes: every `connectors.probe_interval`, one request to each enabled connector
//! through the outbound client, the results kept for `connectors.health_history`.
//!
//! With several nodes on PostgreSQL, one probes at a time: a round runs inside a transaction
//! holding an advisory lock (released however the round ends), and a node skips the round when
//! another probed within the interval. On SQLite there is one node and no lock.

use std::sync::Arc;
use std::time::Duration;

use crate::status::Health;

use crate::registry::{ConnectorError, Connectors, Entry, Snapshot};
use platform::audit::{Actor, AuditEvent, Outcome};
use platform::clock::Millis;
use platform::store::{Backend, Pool, with_pool};

/// Stores one probe result (a macro: the executor differs by backend and transaction).
macro_rules! insert {
    ($exec:expr, $code:expr, $h:expr) => {
        sqlx::query(
            "INSERT INTO connector_health (code, checked_at, up, latency_ms, http_status, error) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind($code)
        .bind($h.checked_at)
        .bind($h.up)
        .bind($h.latency_ms)
        .bind($h.http_status.map(i32::from))
        .bind($h.error.as_deref())
        .execute($exec)
        .await
        .map(|_| ())
    };
}

/// The advisory lock of probe rounds (PostgreSQL): "hub.conn" in ASCII.
const PROBE_LOCK: i64 = 0x6875_622e_636f_6e6e;

/// What a call to [`Connectors::probe_round`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum RoundOutcome {
    /// Probed this many connectors.
    Probed(usize),
    /// Another node holds the lock, or probed less than an interval ago.
    Skipped,
}

#[derive(sqlx::FromRow)]
struct HealthRow {
    code: String,
    checked_at: i64,
    up: bool,
    latency_ms: Option<i64>,
    http_status: Option<i32>,
    error: Option<String>,
}

impl From<HealthRow> for Health {
    fn from(r: HealthRow) -> Health {
        Health {
            up: r.up,
            checked_at: r.checked_at,
            latency_ms: r.latency_ms,
            http_status: r.http_status.and_then(|s| u16::try_from(s).ok()),
            error: r.error,
        }
    }
}

impl Connectors {
    /// The latest probe of every connector that has one.
    pub(super) async fn latest_health(
        &self,
    ) -> Result<std::collections::HashMap<String, Health>, ConnectorError> {
        let rows: Vec<HealthRow> = with_pool!(self.db.read(), |p| {
            sqlx::query_as(
                "SELECT h.code, h.checked_at, h.up, h.latency_ms, h.http_status, h.error FROM connector_health h \
                 JOIN (SELECT code, MAX(checked_at) AS at FROM connector_health GROUP BY code) l \
                 ON h.code = l.code AND h.checked_at = l.at",
            )
            .fetch_all(p)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(|r| (r.code.clone(), Health::from(r)))
            .collect())
    }

    /// Probe results of `code`, newest first.
    pub async fn health_history(
        &self,
        code: &str,
        limit: u32,
    ) -> Result<Vec<Health>, ConnectorError> {
        let rows: Vec<HealthRow> = with_pool!(self.db.read(), |p| {
            sqlx::query_as(
                "SELECT code, checked_at, up, latency_ms, http_status, error FROM connector_health WHERE code = $1 ORDER BY checked_at DESC LIMIT $2",
            )
            .bind(code)
            .bind(i64::from(limit))
            .fetch_all(p)
            .await
        })?;
        Ok(rows.into_iter().map(Health::from).collect())
    }

    /// One probe round, when due (or always with `force`): probes every enabled connector
    /// concurrently, stores the results, publishes them and records status changes.
    pub async fn probe_round(
        &self,
        client: &outbound::Client,
        force: bool,
    ) -> Result<RoundOutcome, ConnectorError> {
        let targets: Vec<Arc<Entry>> = self
            .snapshot()
            .entries
            .iter()
            .filter(|e| e.definition.enabled && e.definition.probe_url().is_some())
            .cloned()
            .collect();
        let now = self.clock.now();
        // Due when no node probed during the last 90 % of an interval (nodes tick every half
        // interval, so rounds stay about one interval apart whichever node runs them).
        let due_after = now.minus(self.config().probe_interval.mul_f64(0.9)).0;
        let results = match self.db.write() {
            Pool::Postgres(p) => {
                let mut tx = p.begin().await?;
                let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
                    .bind(PROBE_LOCK)
                    .fetch_one(&mut *tx)
                    .await?;
                if !locked {
                    return Ok(RoundOutcome::Skipped);
                }
                let last: Option<i64> =
                    sqlx::query_scalar("SELECT MAX(checked_at) FROM connector_health")
                        .fetch_one(&mut *tx)
                        .await?;
                if !force && last.is_some_and(|l| l > due_after) {
                    return Ok(RoundOutcome::Skipped);
                }
                let results = self.probe_all(client, &targets).await;
                for (code, h) in &results {
                    insert!(&mut *tx, code, h)?;
                }
                tx.commit().await?;
                results
            }
            Pool::Sqlite(p) => {
                let last: Option<i64> =
                    sqlx::query_scalar("SELECT MAX(checked_at) FROM connector_health")
                        .fetch_one(p)
                        .await?;
                if !force && last.is_some_and(|l| l > due_after) {
                    return Ok(RoundOutcome::Skipped);
                }
                // No transaction across the probes: it would hold SQLite's only writer.
                let results = self.probe_all(client, &targets).await;
                let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
                for (code, h) in &results {
                    insert!(&mut *tx, code, h)?;
                }
                tx.commit().await?;
                results
            }
        };
        self.purge_health(now).await?;
        let n = results.len();
        self.apply(results).await;
        Ok(RoundOutcome::Probed(n))
    }

    /// Probes one connector now (an administrator's request), whether due or not.
    pub async fn probe_one(
        &self,
        client: &outbound::Client,
        code: &str,
    ) -> Result<Health, ConnectorError> {
        let entry = self
            .snapshot()
            .get(code)
            .cloned()
            .ok_or_else(|| ConnectorError::NotFound(code.to_owned()))?;
        let Some(url) = entry.definition.probe_url() else {
            return Err(crate::registry::invalid(
                "url",
                "the connector has no link to probe yet",
                "尚未填写平台链接，无法检测",
            ));
        };
        let h =
            crate::probe::probe(client, url, self.config().probe_timeout, self.clock.now().0).await;
        with_pool!(self.db.write(), |p| insert!(p, code, &h))?;
        self.apply(vec![(code.to_owned(), h.clone())]).await;
        Ok(h)
    }

    async fn probe_all(
        &self,
        client: &outbound::Client,
        targets: &[Arc<Entry>],
    ) -> Vec<(String, Health)> {
        let timeout = self.config().probe_timeout;
        let probes = targets.iter().filter_map(|e| {
            let url = e.definition.probe_url()?.to_owned();
            let code = e.definition.code.clone();
            let clock = self.clock.clone();
            Some(async move {
                let h = crate::probe::probe(client, &url, timeout, clock.now().0).await;
                (code, h)
            })
        });
        futures_util::future::join_all(probes).await
    }

    /// Publishes fresh results in the snapshot; records each status change in the audit trail
    /// (a platform going down or coming back is an operational event worth keeping).
    async fn apply(&self, results: Vec<(String, Health)>) {
        let old = self.snapshot();
        let mut changes = Vec::new();
        let entries = old
            .entries
            .iter()
            .map(
                |e| match results.iter().find(|(c, _)| *c == e.definition.code) {
                    Some((_, h)) => {
                        let was = e.health.as_ref().map(|p| p.up);
                        if was != Some(h.up) {
                            changes.push((e.definition.code.clone(), was, h.clone()));
                        }
                        Arc::new(Entry {
                            definition: e.definition.clone(),
                            version: e.version,
                            created_at: e.created_at,
                            updated_at: e.updated_at,
                            updated_by: e.updated_by.clone(),
                            key: e.key.clone(),
                            key_unusable: e.key_unusable,
                            health: Some(h.clone()),
                        })
                    }
                    None => e.clone(),
                },
            )
            .collect();
        self.publish(Snapshot::new(entries));
        for (code, was, h) in changes {
            let label = |up: Option<bool>| match up {
                None => "unknown",
                Some(true) => "up",
                Some(false) => "down",
            };
            if h.up {
                tracing::info!(connector = %code, "connector reachable again");
            } else {
                tracing::warn!(connector = %code, error = h.error.as_deref().unwrap_or(""), "connector unreachable");
            }
            let _ = self
                .audit
                .append(
                    AuditEvent::new("connector.health_changed", Outcome::Success)
                        .actor(Actor::system())
                        .target(format!("connector:{code}"))
                        .details(serde_json::json!({
                            "from": label(was),
                            "to": label(Some(h.up)),
                            "http_status": h.http_status,
                            "error": h.error,
                            "latency_ms": h.latency_ms,
                        })),
                )
                .await;
        }
    }

    async fn purge_health(&self, now: Millis) -> Result<(), ConnectorError> {
        let before = now.minus(self.config().health_history).0;
        with_pool!(self.db.write(), |p| {
            sqlx::query("DELETE FROM connector_health WHERE checked_at < $1")
                .bind(before)
                .execute(p)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    /// How often a node looks whether a probe round is due.
    pub fn probe_tick(&self) -> Duration {
        (self.config().probe_interval / 2).max(Duration::from_millis(50))
    }

    pub fn backend(&self) -> Backend {
        self.db.backend()
    }
}
