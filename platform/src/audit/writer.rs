//! The single writer: group commit of sealed records.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use guomi::Mac;
use sqlx::QueryBuilder;
use tokio::sync::{mpsc, oneshot};

use super::chain::{Sealed, head_mac};
use super::record::{AuditError, AuditEvent, AuditRecord};
use crate::clock::Clock;
use crate::store::{Backend, Db, StoreError, with_pool};

/// Records per commit at most. Larger batches amortise the fsync further but delay the first
/// caller of a batch; at 512 a batch still commits in a few milliseconds.
const MAX_BATCH: usize = 512;
/// Rows per INSERT statement, well below SQLite's bound-parameter limit.
const ROWS_PER_STATEMENT: usize = 64;
const QUEUE: usize = 8_192;

// Nearly every message is an append, so boxing the record would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum Msg {
    Append(AuditRecord, oneshot::Sender<Result<i64, ()>>),
    Shutdown(oneshot::Sender<()>),
}

/// Handle to the audit trail: appends, and the reads in `query` and `retention`.
#[derive(Clone)]
pub struct AuditLog {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    tx: mpsc::Sender<Msg>,
    pub(super) db: Db,
    pub(super) mac: Arc<dyn Mac>,
    pub(super) clock: Arc<dyn Clock>,
    /// The newest sealed position this process has seen, for `/metrics`.
    head_seq: Arc<AtomicI64>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("head_seq", &self.head_seq())
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Starts the writer task. It runs until [`AuditLog::shutdown`].
    pub async fn start(
        db: Db,
        mac: Arc<dyn Mac>,
        clock: Arc<dyn Clock>,
    ) -> Result<(AuditLog, tokio::task::JoinHandle<()>), AuditError> {
        let head: i64 = with_pool!(db.read(), |p| {
            sqlx::query_scalar("SELECT seq FROM audit_head WHERE id = 1")
                .fetch_one(p)
                .await
        })
        .map_err(StoreError::from)?;
        let head_seq = Arc::new(AtomicI64::new(head));
        let (tx, rx) = mpsc::channel(QUEUE);
        let task = tokio::spawn(run(db.clone(), mac.clone(), rx, head_seq.clone()));
        Ok((
            AuditLog {
                inner: Arc::new(Inner {
                    tx,
                    db,
                    mac,
                    clock,
                    head_seq,
                }),
            },
            task,
        ))
    }

    /// Records `event` and returns its position once it is durable. An error means the event
    /// was not recorded; the action it describes should fail.
    pub async fn append(&self, event: AuditEvent) -> Result<i64, AuditError> {
        let record = self.to_record(event);
        let (done, wait) = oneshot::channel();
        self.inner
            .tx
            .send(Msg::Append(record, done))
            .await
            .map_err(|_| AuditError::Unavailable)?;
        match wait.await {
            Ok(Ok(seq)) => Ok(seq),
            _ => Err(AuditError::Unavailable),
        }
    }

    /// Drains what is queued, then stops the writer. Later appends fail.
    pub async fn shutdown(&self) {
        let (done, wait) = oneshot::channel();
        if self.inner.tx.send(Msg::Shutdown(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    /// The newest sealed position known to this process.
    pub fn head_seq(&self) -> i64 {
        self.inner.head_seq.load(Ordering::Relaxed)
    }

    fn to_record(&self, e: AuditEvent) -> AuditRecord {
        AuditRecord {
            seq: 0,
            ts: self.inner.clock.now().0,
            request_id: e.context.request_id,
            actor_kind: e.actor.kind.as_str().to_owned(),
            actor_id: e.actor.id,
            actor_name: e.actor.name,
            acting_for: e.actor.acting_for,
            agent: e.actor.agent,
            event: e.event.into_owned(),
            target: e.target,
            outcome: e.outcome.as_str().to_owned(),
            reason: e.reason,
            source_ip: e.context.client_ip.map(|ip| ip.to_string()),
            user_agent: e.context.user_agent,
            details: e.details.map(|d| d.to_string()),
            prev_hash: Vec::new(),
            hash: Vec::new(),
        }
    }
}

async fn run(db: Db, mac: Arc<dyn Mac>, mut rx: mpsc::Receiver<Msg>, head_seq: Arc<AtomicI64>) {
    let mut batch: Vec<AuditRecord> = Vec::with_capacity(MAX_BATCH);
    let mut waiters: Vec<oneshot::Sender<Result<i64, ()>>> = Vec::with_capacity(MAX_BATCH);
    let mut stop: Option<oneshot::Sender<()>> = None;
    while stop.is_none() {
        let Some(first) = rx.recv().await else { break };
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Append(r, w) => {
                    batch.push(r);
                    waiters.push(w);
                }
                Msg::Shutdown(s) => {
                    stop = Some(s);
                    break;
                }
            }
            if batch.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if batch.is_empty() {
            continue;
        }
        match write_batch(&db, mac.as_ref(), &mut batch).await {
            Ok(last) => {
                head_seq.store(last, Ordering::Relaxed);
                for (r, w) in batch.iter().zip(waiters.drain(..)) {
                    let _ = w.send(Ok(r.seq));
                }
            }
            Err(e) if e.is_unique_violation() => {
                tracing::error!(
                    records = batch.len(),
                    "audit batch not recorded: the next chain position is already taken, so records were added outside the audit writer; run `hub audit verify`"
                );
                for w in waiters.drain(..) {
                    let _ = w.send(Err(()));
                }
            }
            Err(e) => {
                tracing::error!(error = %telemetry::chain(&e), records = batch.len(), "audit batch not recorded");
                for w in waiters.drain(..) {
                    let _ = w.send(Err(()));
                }
            }
        }
        batch.clear();
    }
    rx.close();
    if let Some(s) = stop {
        let _ = s.send(());
    }
}

/// Seals `batch` after the current head and commits it with the new head in one transaction.
/// Returns the new head position.
async fn write_batch(db: &Db, mac: &dyn Mac, batch: &mut [AuditRecord]) -> Result<i64, StoreError> {
    with_pool!(db.write(), |p, backend| {
        let mut conn = p.acquire().await?;
        // On SQLite this commit is the durability point of everything written before it (see
        // `store::Db::connect_sqlite`); the pragma rides in the same round trips as BEGIN and
        // COMMIT. On PostgreSQL the head row's lock makes appenders on several nodes take turns.
        let (begin, head_sql, commit) = match backend {
            Backend::Sqlite => (
                "PRAGMA synchronous = FULL; BEGIN IMMEDIATE",
                "SELECT seq, hash FROM audit_head WHERE id = 1",
                "COMMIT; PRAGMA synchronous = NORMAL",
            ),
            Backend::Postgres => (
                "BEGIN",
                "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
                "COMMIT",
            ),
        };
        sqlx::raw_sql(begin).execute(&mut *conn).await?;
        let written: Result<i64, sqlx::Error> = async {
            let (mut seq, mut prev): (i64, Vec<u8>) =
                sqlx::query_as(head_sql).fetch_one(&mut *conn).await?;
            let mut buf = Vec::with_capacity(512);
            for r in batch.iter_mut() {
                seq += 1;
                r.seq = seq;
                r.hash = Sealed::of(r).seal(mac, &prev, &mut buf).to_vec();
                r.prev_hash = std::mem::replace(&mut prev, r.hash.clone());
            }
            for chunk in batch.chunks(ROWS_PER_STATEMENT) {
                let mut q = QueryBuilder::new(format!(
                    "INSERT INTO audit_log ({}) ",
                    super::record::COLUMNS
                ));
                q.push_values(chunk, |mut b, r| {
                    b.push_bind(r.seq)
                        .push_bind(r.ts)
                        .push_bind(r.request_id.as_deref())
                        .push_bind(r.actor_kind.as_str())
                        .push_bind(r.actor_id.as_deref())
                        .push_bind(r.actor_name.as_deref())
                        .push_bind(r.acting_for.as_deref())
                        .push_bind(r.agent.as_deref())
                        .push_bind(r.event.as_str())
                        .push_bind(r.target.as_deref())
                        .push_bind(r.outcome.as_str())
                        .push_bind(r.reason.as_deref())
                        .push_bind(r.source_ip.as_deref())
                        .push_bind(r.user_agent.as_deref())
                        .push_bind(r.details.as_deref())
                        .push_bind(r.prev_hash.as_slice())
                        .push_bind(r.hash.as_slice());
                });
                q.build().execute(&mut *conn).await?;
            }
            let head_tag = head_mac(mac, seq, &prev);
            sqlx::query("UPDATE audit_head SET seq = $1, hash = $2, mac = $3 WHERE id = 1")
                .bind(seq)
                .bind(prev.as_slice())
                .bind(head_tag.as_slice())
                .execute(&mut *conn)
                .await?;
            sqlx::raw_sql(commit).execute(&mut *conn).await?;
            Ok(seq)
        }
        .await;
        if written.is_err() {
            // Leave no transaction open on a pooled connection; if even that fails, the
            // connection is discarded rather than reused.
            let rollback = if backend == Backend::Sqlite {
                "ROLLBACK; PRAGMA synchronous = NORMAL"
            } else {
                "ROLLBACK"
            };
            if sqlx::raw_sql(rollback).execute(&mut *conn).await.is_err() {
                conn.close_on_drop();
            }
        }
        Ok(written?)
    })
}
