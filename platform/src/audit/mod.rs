//! The audit trail (REQUIREMENTS G2, PROTOCOLS §5): append-only records of who did what, when,
//! from where and with what outcome, each sealed into an HMAC-SM3 chain.
//!
//! Appends go through one writer task that commits them in batches (group commit): a caller's
//! `append` returns only once its record is durable, and many concurrent callers share one
//! commit. On PostgreSQL the writer of each node locks the chain head row, so nodes append in
//! turn. The store's triggers refuse updates, and deletions other than retention's purge of
//! archived records older than 180 days; `verify` finds any other change and names the first
//! broken record.

mod chain;
mod query;
mod record;
mod retention;
mod writer;

pub use chain::{BreakKind, ChainBreak, VerifyReport, head_seal_matches};
pub use query::{AuditFilter, AuditPage, AuditStat};
pub use record::{Actor, ActorKind, AuditError, AuditEvent, AuditRecord, AuditRecordView, Outcome};
pub use retention::ArchiveSummary;
pub use writer::AuditLog;
