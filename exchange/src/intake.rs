//! Recording accepted messages: the message row and its delivery in one transaction, or — for a
//! message id seen before — the first receipt.
//!
//! On SQLite one connection writes and every acknowledgement waits for a full fsync, so a
//! single writer task commits concurrent messages together (group commit): it takes every
//! message queued while the previous batch was syncing, writes them in one transaction and
//! syncs once. Duplicates inside a batch meet the unique index like any other. On PostgreSQL
//! each message has its own transaction; the server groups concurrent WAL flushes itself.

use tokio::sync::{mpsc, oneshot};

use crate::error::ExchangeError;
use crate::message::Receipt;
use platform::store::{Db, Pool};

/// Messages committed together at most.
const BATCH: usize = 256;

/// An accepted message, ready to be recorded.
pub(super) struct NewMessage {
    pub id: String,
    pub partner: String,
    /// `inbound` (from the partner) or `outbound` (to it).
    pub direction: &'static str,
    pub message_id: String,
    pub message_type: String,
    pub mapping: String,
    pub format: &'static str,
    pub now: i64,
    pub request_id: Option<String>,
    pub correlation_id: Option<String>,
    pub size: i64,
    pub payload_digest: String,
    pub payload_enc: Vec<u8>,
    pub translated_enc: Vec<u8>,
    pub ack: String,
    pub ack_type: &'static str,
    pub deliver_to: Option<String>,
}

type Reply = oneshot::Sender<Result<Receipt, ()>>;

pub(super) struct Intake {
    db: Db,
    /// The SQLite group-commit writer's queue.
    queue: Option<mpsc::Sender<(NewMessage, Reply)>>,
}

const INSERT: &str = "INSERT INTO exchange_messages (id, partner, message_id, message_type, mapping, format, status, received_at, updated_at, request_id, correlation_id, size_bytes, payload_enc, translated_enc, ack, ack_type, payload_digest, direction) \
     VALUES ($1, $2, $3, $4, $5, $6, 'accepted', $7, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
     ON CONFLICT (partner, direction, message_type, message_id) WHERE status <> 'rejected' DO NOTHING";
const OUTBOX: &str = "INSERT INTO exchange_outbox (id, message, target, status, attempts, next_at, created_at) VALUES ($1, $1, $2, 'pending', 0, $3, $3)";
const FIRST: &str = "SELECT id, ack, ack_type, payload_digest FROM exchange_messages WHERE partner = $1 AND message_type = $2 AND message_id = $3 AND direction = $4 AND status <> 'rejected'";

/// Records one message on `conn` inside the caller's transaction.
macro_rules! record {
    ($conn:expr, $m:expr) => {{
        let m = $m;
        let done = sqlx::query(INSERT)
            .bind(&m.id)
            .bind(&m.partner)
            .bind(&m.message_id)
            .bind(&m.message_type)
            .bind(&m.mapping)
            .bind(m.format)
            .bind(m.now)
            .bind(m.request_id.as_deref())
            .bind(m.correlation_id.as_deref())
            .bind(m.size)
            .bind(&m.payload_enc)
            .bind(&m.translated_enc)
            .bind(&m.ack)
            .bind(m.ack_type)
            .bind(&m.payload_digest)
            .bind(m.direction)
            .execute(&mut *$conn)
            .await?
            .rows_affected();
        if done == 1 {
            if let Some(target) = &m.deliver_to {
                sqlx::query(OUTBOX)
                    .bind(&m.id)
                    .bind(target)
                    .bind(m.now)
                    .execute(&mut *$conn)
                    .await?;
            }
            Receipt {
                receipt_id: m.id.clone(),
                body: m.ack.clone(),
                content_type: m.ack_type.to_owned(),
                duplicate: false,
                other_content: false,
            }
        } else {
            let (id, ack, ack_type, digest): (
                String,
                Option<String>,
                Option<String>,
                Option<String>,
            ) = sqlx::query_as(FIRST)
                .bind(&m.partner)
                .bind(&m.message_type)
                .bind(&m.message_id)
                .bind(m.direction)
                .fetch_one(&mut *$conn)
                .await?;
            Receipt {
                receipt_id: id,
                body: ack.unwrap_or_default(),
                content_type: ack_type.unwrap_or_else(|| "application/json".into()),
                duplicate: true,
                other_content: digest.as_deref() != Some(m.payload_digest.as_str()),
            }
        }
    }};
}

impl Intake {
    /// Starts the SQLite writer task (on PostgreSQL there is none).
    pub(super) fn new(db: Db) -> Intake {
        let queue = match db.write() {
            Pool::Sqlite(pool) => {
                let (tx, rx) = mpsc::channel(4 * BATCH);
                tokio::spawn(writer(pool.clone(), rx));
                Some(tx)
            }
            Pool::Postgres(_) => None,
        };
        Intake { db, queue }
    }

    /// Whether messages can be recorded: on SQLite, whether the writer task still runs.
    pub(super) fn running(&self) -> bool {
        self.queue.as_ref().is_none_or(|q| !q.is_closed())
    }

    /// Records `m`; returns its receipt, or the first receipt of the same message id.
    pub(super) async fn store(&self, m: NewMessage) -> Result<Receipt, ExchangeError> {
        if let Some(queue) = &self.queue {
            let (reply, answer) = oneshot::channel();
            queue
                .send((m, reply))
                .await
                .map_err(|_| ExchangeError::NotRecorded)?;
            return answer
                .await
                .map_err(|_| ExchangeError::NotRecorded)?
                .map_err(|()| ExchangeError::NotRecorded);
        }
        match self.db.write() {
            Pool::Postgres(p) => {
                let mut tx = p.begin().await?;
                // The duplicate handling relies on READ COMMITTED (a concurrent duplicate waits
                // for the first and then sees it), whatever the server's default.
                sqlx::query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
                    .execute(&mut *tx)
                    .await?;
                let receipt = record!(tx, &m);
                tx.commit().await?;
                Ok(receipt)
            }
            // Not reached: SQLite always has the writer.
            Pool::Sqlite(_) => Err(ExchangeError::NotRecorded),
        }
    }
}

/// The SQLite writer: one transaction and one full sync per batch.
async fn writer(pool: sqlx::SqlitePool, mut rx: mpsc::Receiver<(NewMessage, Reply)>) {
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        match write_batch(&pool, &batch).await {
            Ok(results) => {
                for ((_, reply), result) in batch.drain(..).zip(results) {
                    let _ = reply.send(result);
                }
            }
            Err(e) => {
                tracing::error!(error = %telemetry::chain(&e), messages = batch.len(), "cannot record partner messages; none was acknowledged");
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Err(()));
                }
            }
        }
    }
}

/// Writes a batch in one transaction with one sync. Each message has its own savepoint, so a
/// message that cannot be written fails alone and the rest of the batch is still committed.
async fn write_batch(
    pool: &sqlx::SqlitePool,
    batch: &[(NewMessage, Reply)],
) -> Result<Vec<Result<Receipt, ()>>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    sqlx::raw_sql("PRAGMA synchronous = FULL; BEGIN IMMEDIATE")
        .execute(&mut *conn)
        .await?;
    let result: Result<Vec<Result<Receipt, ()>>, sqlx::Error> = async {
        let mut results = Vec::with_capacity(batch.len());
        for (m, _) in batch {
            sqlx::raw_sql("SAVEPOINT message")
                .execute(&mut *conn)
                .await?;
            let one: Result<Receipt, sqlx::Error> = async { Ok(record!(conn, m)) }.await;
            match one {
                Ok(receipt) => {
                    sqlx::raw_sql("RELEASE message").execute(&mut *conn).await?;
                    results.push(Ok(receipt));
                }
                Err(e) => {
                    tracing::error!(error = %telemetry::chain(&e), partner = %m.partner, "cannot record a partner message; it was not acknowledged");
                    sqlx::raw_sql("ROLLBACK TO message; RELEASE message")
                        .execute(&mut *conn)
                        .await?;
                    results.push(Err(()));
                }
            }
        }
        Ok(results)
    }
    .await;
    let end = match &result {
        Ok(_) => "COMMIT; PRAGMA synchronous = NORMAL",
        Err(_) => "ROLLBACK; PRAGMA synchronous = NORMAL",
    };
    let ended = sqlx::raw_sql(end).execute(&mut *conn).await;
    if ended.is_err() {
        // Never hand a connection with an open transaction back to the pool.
        conn.detach();
    }
    let results = result?;
    ended?;
    Ok(results)
}
