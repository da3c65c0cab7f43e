//! Reads of the audit trail: filtered pages, statistics, export and chain verification.

use futures_util::TryStreamExt;
use sqlx::QueryBuilder;

use super::chain::VerifyReport;
use super::chain::{GENESIS_HASH, Verifier};
use super::record::{Actor, AuditError, AuditEvent, Outcome};
use super::record::{AuditRecord, COLUMNS};
use super::writer::AuditLog;
use crate::context::RequestContext;
use crate::store::{StoreError, StoreResult, with_pool};

/// Filters of `GET /api/admin/audit`. Every field narrows the result; absent fields do not.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Inclusive lower bound on the event time, ms.
    pub from: Option<i64>,
    /// Exclusive upper bound on the event time, ms.
    pub to: Option<i64>,
    pub actor_id: Option<String>,
    /// The actor's name as recorded (an administrator's user name).
    pub actor_name: Option<String>,
    pub actor_kind: Option<String>,
    /// Exact event type, or a prefix when it ends with `*` (`admin.*`).
    pub event: Option<String>,
    pub outcome: Option<String>,
    pub target: Option<String>,
    pub request_id: Option<String>,
}

#[derive(Clone, Debug)]
pub struct AuditPage {
    pub items: Vec<AuditRecord>,
    /// Pass as `before` to get the next (older) page; absent on the last page.
    pub next_before: Option<i64>,
}

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AuditStat {
    pub event: String,
    pub outcome: String,
    pub count: i64,
}

impl AuditFilter {
    fn push_where<DB: sqlx::Database>(&self, q: &mut QueryBuilder<DB>)
    where
        for<'a> &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
        i64: for<'a> sqlx::Encode<'a, DB> + sqlx::Type<DB>,
        String: for<'a> sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    {
        q.push(" WHERE 1 = 1");
        if let Some(v) = self.from {
            q.push(" AND ts >= ").push_bind(v);
        }
        if let Some(v) = self.to {
            q.push(" AND ts < ").push_bind(v);
        }
        let exact = [
            ("actor_id", &self.actor_id),
            ("actor_name", &self.actor_name),
            ("actor_kind", &self.actor_kind),
            ("outcome", &self.outcome),
            ("target", &self.target),
            ("request_id", &self.request_id),
        ];
        for (column, value) in exact {
            if let Some(v) = value {
                q.push(format_args!(" AND {column} = "))
                    .push_bind(v.clone());
            }
        }
        match self.event.as_deref() {
            Some(prefix) if prefix.ends_with('*') => {
                // A range instead of LIKE: no wildcard characters from the client reach SQL,
                // and the (event, seq) index serves it.
                let stem = prefix.trim_end_matches('*').to_owned();
                let mut upper = stem.clone();
                upper.push(char::MAX);
                q.push(" AND event >= ").push_bind(stem);
                q.push(" AND event < ").push_bind(upper);
            }
            Some(exact) => {
                q.push(" AND event = ").push_bind(exact.to_owned());
            }
            None => {}
        }
    }
}

impl AuditLog {
    /// Newest first, `limit` records with `seq < before`.
    pub async fn page(
        &self,
        filter: &AuditFilter,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<AuditPage> {
        let limit = i64::from(limit.clamp(1, 500));
        let mut items: Vec<AuditRecord> = with_pool!(self.inner.db.read(), |p| {
            let mut q = QueryBuilder::new(format!("SELECT {COLUMNS} FROM audit_log"));
            filter.push_where(&mut q);
            if let Some(b) = before {
                q.push(" AND seq < ").push_bind(b);
            }
            q.push(" ORDER BY seq DESC LIMIT ").push_bind(limit + 1);
            q.build_query_as::<AuditRecord>().fetch_all(p).await
        })?;
        let next_before = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|r| r.seq)
        } else {
            None
        };
        Ok(AuditPage { items, next_before })
    }

    /// The record at position `seq`.
    pub async fn record(&self, seq: i64) -> StoreResult<Option<AuditRecord>> {
        let row = with_pool!(self.inner.db.read(), |p| {
            sqlx::query_as::<_, AuditRecord>(concat!(
                "SELECT ",
                super::record::audit_columns!(),
                " FROM audit_log WHERE seq = $1"
            ))
            .bind(seq)
            .fetch_optional(p)
            .await
        })?;
        Ok(row)
    }

    /// Oldest first, `limit` records with `seq > after`: the export's pages.
    pub async fn export_page(
        &self,
        filter: &AuditFilter,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<AuditRecord>> {
        let rows = with_pool!(self.inner.db.read(), |p| {
            let mut q = QueryBuilder::new(format!("SELECT {COLUMNS} FROM audit_log"));
            filter.push_where(&mut q);
            q.push(" AND seq > ").push_bind(after);
            q.push(" ORDER BY seq ASC LIMIT ")
                .push_bind(i64::from(limit));
            q.build_query_as::<AuditRecord>().fetch_all(p).await
        })?;
        Ok(rows)
    }

    /// Counts by event type and outcome within the filter: the statistics view.
    pub async fn stats(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditStat>> {
        let rows: Vec<(String, String, i64)> = with_pool!(self.inner.db.read(), |p| {
            let mut q = QueryBuilder::new("SELECT event, outcome, COUNT(*) FROM audit_log");
            filter.push_where(&mut q);
            q.push(" GROUP BY event, outcome ORDER BY event, outcome");
            q.build_query_as::<(String, String, i64)>()
                .fetch_all(p)
                .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(event, outcome, count)| AuditStat {
                event,
                outcome,
                count,
            })
            .collect())
    }

    /// Checks the chain for an administrator (the JSON API and the console) and records that
    /// `actor` did, with the outcome: a failure when the chain is broken.
    pub async fn verify_by(
        &self,
        actor: Actor,
        ctx: &RequestContext,
    ) -> Result<VerifyReport, AuditError> {
        let report = self.verify().await?;
        self.append(
            AuditEvent::new(
                "audit.verified",
                if report.intact {
                    Outcome::Success
                } else {
                    Outcome::Failure
                },
            )
            .actor(actor)
            .details(
                serde_json::json!({ "records": report.records, "first_break": report.first_break }),
            )
            .context(ctx),
        )
        .await?;
        Ok(report)
    }

    /// Checks the whole chain from the newest archive anchor to the sealed head and reports
    /// the first broken link.
    pub async fn verify(&self) -> StoreResult<VerifyReport> {
        let mac = self.inner.mac.as_ref();
        let db = &self.inner.db;
        // Archive anchors must themselves be genuine and contiguous.
        let archives: Vec<ArchiveRow> = with_pool!(db.read(), |p| {
            sqlx::query_as("SELECT created_at, from_seq, up_to_seq, last_hash, record_count, file_name, file_sm3, mac FROM audit_archive ORDER BY up_to_seq")
                .fetch_all(p)
                .await
        })?;
        let (head_seq, head_hash, head_mac): (i64, Vec<u8>, Vec<u8>) =
            with_pool!(db.read(), |p| {
                sqlx::query_as("SELECT seq, hash, mac FROM audit_head WHERE id = 1")
                    .fetch_one(p)
                    .await
            })?;
        let mut anchor_seq = 0i64;
        let mut anchor_hash = GENESIS_HASH.to_vec();
        for a in &archives {
            let seal = super::chain::ArchiveSeal {
                created_at: a.created_at,
                from_seq: a.from_seq,
                up_to_seq: a.up_to_seq,
                last_hash: &a.last_hash,
                record_count: a.record_count,
                file_name: &a.file_name,
                file_sm3: &a.file_sm3,
            };
            if !bool::from(subtle::ConstantTimeEq::ct_eq(
                seal.mac(mac).as_slice(),
                a.mac.as_slice(),
            )) || a.from_seq != anchor_seq + 1
            {
                return Ok(VerifyReport {
                    records: 0,
                    from_seq: anchor_seq + 1,
                    head_seq,
                    intact: false,
                    first_break: Some(super::chain::ChainBreak {
                        seq: a.from_seq,
                        kind: super::chain::BreakKind::AnchorForged,
                        detail: format!(
                            "the archive anchor for records {} to {} is not genuine",
                            a.from_seq, a.up_to_seq
                        ),
                    }),
                });
            }
            anchor_seq = a.up_to_seq;
            anchor_hash.clone_from(&a.last_hash);
        }

        let mut v = Verifier::new(mac, anchor_seq, &anchor_hash);
        let outcome: Result<Result<(), super::chain::ChainBreak>, sqlx::Error> =
            with_pool!(db.read(), |p| {
                let mut rows = sqlx::query_as::<_, AuditRecord>(concat!(
                    "SELECT ",
                    super::record::audit_columns!(),
                    " FROM audit_log WHERE seq > $1 ORDER BY seq"
                ))
                .bind(anchor_seq)
                .fetch(p);
                let mut result = Ok(());
                while let Some(r) = rows.try_next().await? {
                    if let Err(b) = v.check(&r) {
                        result = Err(b);
                        break;
                    }
                }
                Ok(result)
            });
        let walk = outcome.map_err(StoreError::from)?;
        let first_break = match walk {
            Err(b) => Some(b),
            Ok(()) => v.finish(head_seq, &head_hash, &head_mac).err(),
        };
        Ok(VerifyReport {
            records: v.checked,
            from_seq: anchor_seq + 1,
            head_seq,
            intact: first_break.is_none(),
            first_break,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct ArchiveRow {
    pub created_at: i64,
    pub from_seq: i64,
    pub up_to_seq: i64,
    pub last_hash: Vec<u8>,
    pub record_count: i64,
    pub file_name: String,
    pub file_sm3: Vec<u8>,
    pub mac: Vec<u8>,
}
