//! Retention: records older than the configured period are first exported to JSON Lines files
//! (fsynced), then an archive row anchors the chain, then the records are deleted — all of one
//! range in one transaction, so that nothing is purged that was not archived.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::chain::ArchiveSeal;
use super::query::AuditFilter;
use super::record::{AuditError, AuditRecordView};
use super::writer::AuditLog;
use crate::store::{Backend, StoreError, begin_write, with_pool};

/// Records per archive file.
const CHUNK: i64 = 50_000;
const PAGE: u32 = 2_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveSummary {
    pub file: PathBuf,
    pub from_seq: i64,
    pub up_to_seq: i64,
    pub records: i64,
}

impl AuditLog {
    /// Archives and purges every record older than `retention`. Returns what was archived.
    pub async fn archive_expired(
        &self,
        retention: Duration,
        archive_dir: &Path,
    ) -> Result<Vec<ArchiveSummary>, AuditError> {
        let cutoff = self.inner.clock.now().minus(retention).0;
        let mut done = Vec::new();
        loop {
            let (first, boundary, last): (Option<i64>, Option<i64>, Option<i64>) =
                with_pool!(self.inner.db.read(), |p| {
                    sqlx::query_as(
                        "SELECT (SELECT MIN(seq) FROM audit_log), (SELECT MIN(seq) FROM audit_log WHERE ts >= $1), (SELECT MAX(seq) FROM audit_log)",
                    )
                    .bind(cutoff)
                    .fetch_one(p)
                    .await
                })
                .map_err(StoreError::from)?;
            let (Some(first), Some(last)) = (first, last) else {
                break;
            };
            let expired_until = boundary.map_or(last, |b| b - 1);
            if expired_until < first {
                break;
            }
            let up_to = expired_until.min(first + CHUNK - 1);
            done.push(self.archive_range(first, up_to, archive_dir).await?);
        }
        Ok(done)
    }

    async fn archive_range(
        &self,
        from: i64,
        up_to: i64,
        dir: &Path,
    ) -> Result<ArchiveSummary, AuditError> {
        let file_name = format!("audit-{from:012}-{up_to:012}.jsonl");
        let path = dir.join(&file_name);
        let archive_err = |source: std::io::Error| AuditError::Archive {
            path: path.display().to_string(),
            source,
        };
        // Export first, durably, readable by the hub's user only.
        let tmp = dir.join(format!("{file_name}.tmp"));
        let _ = std::fs::remove_file(&tmp);
        crate::store::prepare_private_file(&tmp).map_err(archive_err)?;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&tmp)
            .map_err(archive_err)?;
        let mut out = std::io::BufWriter::new(file);
        let mut digest = guomi::Sm3Hasher::new();
        let mut after = from - 1;
        let mut count = 0i64;
        let mut last_hash = Vec::new();
        let all = AuditFilter::default();
        while after < up_to {
            let rows = self.export_page(&all, after, PAGE).await?;
            let rows: Vec<_> = rows.into_iter().filter(|r| r.seq <= up_to).collect();
            let Some(last) = rows.last() else { break };
            after = last.seq;
            for r in &rows {
                let mut line = serde_json::to_vec(&AuditRecordView::from(r)).unwrap_or_default();
                line.push(b'\n');
                out.write_all(&line).map_err(archive_err)?;
                digest.update(&line);
                count += 1;
                last_hash.clone_from(&r.hash);
            }
        }
        let file = out.into_inner().map_err(|e| archive_err(e.into_error()))?;
        file.sync_all().map_err(archive_err)?;
        drop(file);
        std::fs::rename(&tmp, &path).map_err(archive_err)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        if count != up_to - from + 1 {
            // Records missing in the range: the chain is already broken there. Archiving it
            // would anchor over the gap and hide it, so leave it for `hub audit verify`.
            return Err(AuditError::NotContiguous { from, up_to });
        }
        let file_sm3 = digest.finalize();
        let created_at = self.inner.clock.now().0;
        let mac = ArchiveSeal {
            created_at,
            from_seq: from,
            up_to_seq: up_to,
            last_hash: &last_hash,
            record_count: count,
            file_name: &file_name,
            file_sm3: &file_sm3,
        }
        .mac(self.inner.mac.as_ref());

        // Then anchor and purge in one transaction.
        let archived: Result<bool, sqlx::Error> = with_pool!(
            self.inner.db.write(),
            |p, backend| {
                async {
            let mut tx = begin_write!(p, backend)?;
            if backend == Backend::Postgres {
                // Another node archiving at the same time waits here, then finds the range gone.
                sqlx::query("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE")
                    .execute(&mut *tx)
                    .await?;
            }
            let still_first: Option<i64> = sqlx::query_scalar("SELECT MIN(seq) FROM audit_log")
                .fetch_one(&mut *tx)
                .await?;
            if still_first != Some(from) {
                return Ok(false);
            }
            sqlx::query("INSERT INTO audit_archive (created_at, from_seq, up_to_seq, last_hash, record_count, file_name, file_sm3, mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                .bind(created_at)
                .bind(from)
                .bind(up_to)
                .bind(last_hash.as_slice())
                .bind(count)
                .bind(file_name.as_str())
                .bind(file_sm3.as_slice())
                .bind(mac.as_slice())
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM audit_log WHERE seq >= $1 AND seq <= $2")
                .bind(from)
                .bind(up_to)
                .execute(&mut *tx)
                .await?;
            tx.commit().await.map(|()| true)
        }
        .await
            }
        );
        if !archived.map_err(StoreError::from)? {
            return Err(AuditError::ConcurrentArchive);
        }
        tracing::info!(from_seq = from, up_to_seq = up_to, records = count, file = %path.display(), "audit records archived and purged");
        Ok(ArchiveSummary {
            file: path,
            from_seq: from,
            up_to_seq: up_to,
            records: count,
        })
    }
}
