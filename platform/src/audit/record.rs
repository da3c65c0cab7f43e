//! The records of the trail and what is said about them: the stored record, the event a caller
//! appends (who, what, outcome, context), the errors, and the views administrators read.

use std::borrow::Cow;

use crate::context::RequestContext;
use crate::store::StoreError;

/// Columns of `audit_log` in the order of [`AuditRecord`] (a macro, for `concat!`).
macro_rules! audit_columns {
    () => {
        "seq, ts, request_id, actor_kind, actor_id, actor_name, acting_for, agent, event, target, outcome, reason, source_ip, user_agent, details, prev_hash, hash"
    };
}
pub(crate) use audit_columns;
pub(crate) const COLUMNS: &str = audit_columns!();

/// One stored audit record.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRecord {
    pub seq: i64,
    pub ts: i64,
    pub request_id: Option<String>,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    pub acting_for: Option<String>,
    pub agent: Option<String>,
    pub event: String,
    pub target: Option<String>,
    pub outcome: String,
    pub reason: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub details: Option<String>,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

/// The outcome of an audited action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// The action was attempted and failed (wrong password, invalid ticket, upstream error).
    Failure,
    /// The actor lacked the permission.
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// Who acted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActorKind {
    Anonymous,
    Account,
    Admin,
    Token,
    System,
    Partner,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Anonymous => "anonymous",
            ActorKind::Account => "account",
            ActorKind::Admin => "admin",
            ActorKind::Token => "token",
            ActorKind::System => "system",
            ActorKind::Partner => "partner",
        }
    }
}

/// The actor of an audited action. For a legal person, `acting_for` is the company and `agent`
/// the (masked) natural person who acted for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: Option<String>,
    pub name: Option<String>,
    pub acting_for: Option<String>,
    pub agent: Option<String>,
}

impl Actor {
    pub fn anonymous() -> Self {
        Self::new(ActorKind::Anonymous, None, None)
    }

    pub fn system() -> Self {
        Self::new(ActorKind::System, None, None)
    }

    pub fn new(kind: ActorKind, id: Option<String>, name: Option<String>) -> Self {
        Actor {
            kind,
            id,
            name,
            acting_for: None,
            agent: None,
        }
    }
}

/// An event to record. Build it with the chained setters:
/// `AuditEvent::new("admin.login", Outcome::Failure).actor(a).reason("admin.credentials_invalid")`.
#[derive(Clone, Debug)]
pub struct AuditEvent {
    pub event: Cow<'static, str>,
    pub outcome: Outcome,
    pub actor: Actor,
    pub target: Option<String>,
    pub reason: Option<String>,
    pub details: Option<serde_json::Value>,
    pub context: RequestContext,
}

impl AuditEvent {
    pub fn new(event: impl Into<Cow<'static, str>>, outcome: Outcome) -> Self {
        AuditEvent {
            event: event.into(),
            outcome,
            actor: Actor::anonymous(),
            target: None,
            reason: None,
            details: None,
            context: RequestContext::default(),
        }
    }

    pub fn actor(mut self, actor: Actor) -> Self {
        self.actor = actor;
        self
    }

    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn context(mut self, context: &RequestContext) -> Self {
        self.context = context.clone();
        self
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The record could not be made durable; the action it describes must not proceed.
    #[error("the audit trail cannot record events right now")]
    Unavailable,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("audit records {from} to {up_to} are not contiguous; run `hub audit verify`")]
    NotContiguous { from: i64, up_to: i64 },
    #[error("another node archived the same audit records")]
    ConcurrentArchive,
    #[error("cannot write the audit archive {path}")]
    Archive {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AuditRecordView {
    pub seq: i64,
    /// RFC 3339, UTC.
    pub time: String,
    pub request_id: Option<String>,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    pub acting_for: Option<String>,
    pub agent: Option<String>,
    pub event: String,
    pub target: Option<String>,
    /// `success`, `failure` or `denied`.
    pub outcome: String,
    pub reason: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
    /// Hex of the previous record's seal.
    pub prev_hash: String,
    /// Hex of this record's HMAC-SM3 seal.
    pub hash: String,
}

impl From<&AuditRecord> for AuditRecordView {
    fn from(r: &AuditRecord) -> Self {
        AuditRecordView {
            seq: r.seq,
            time: crate::clock::Millis(r.ts).to_rfc3339(),
            request_id: r.request_id.clone(),
            actor_kind: r.actor_kind.clone(),
            actor_id: r.actor_id.clone(),
            actor_name: r.actor_name.clone(),
            acting_for: r.acting_for.clone(),
            agent: r.agent.clone(),
            event: r.event.clone(),
            target: r.target.clone(),
            outcome: r.outcome.clone(),
            reason: r.reason.clone(),
            source_ip: r.source_ip.clone(),
            user_agent: r.user_agent.clone(),
            // Stored details are always JSON written by the hub; anything else is shown as text.
            details: r.details.as_deref().map(|d| {
                serde_json::from_str(d).unwrap_or_else(|_| serde_json::Value::String(d.to_owned()))
            }),
            prev_hash: hex::encode(&r.prev_hash),
            hash: hex::encode(&r.hash),
        }
    }
}
