//! Why an organisation operation failed, and its stable public code.

use platform::admin::AdminError;
use platform::audit::AuditError;
use platform::http::problem::{ApiError, ErrorCode};
use platform::store::StoreError;

use crate::model::OrgStatus;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OrgError {
    /// Fields refused, each with a message for people (Simplified Chinese), in the order found.
    #[error("{}", describe(.0))]
    Invalid(Vec<(String, String)>),
    #[error("no organisation {0}")]
    NotFound(String),
    /// No such member in the caller's organisation (whether or not the account is in another).
    #[error("no member {0} in this organisation")]
    MemberNotFound(String),
    #[error("no account {0}")]
    AccountNotFound(String),
    #[error("the organisation is {0}, not pending review")]
    NotPending(OrgStatus),
    #[error(
        "the organisation is {0}: its accounts cannot act for it until the operators approve it"
    )]
    NotApproved(OrgStatus),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("an organisation with this unified social credit code is registered already")]
    DuplicateUscc,
    #[error("the account belongs to an organisation already")]
    AlreadyMember,
    /// The organisation's status (or its members) do not allow the change.
    #[error("{0}")]
    Conflict(&'static str),
    /// The administrator lacks the permission (or must change the issued password first).
    #[error(transparent)]
    Admin(AdminError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("cryptographic failure")]
    Crypto(#[from] guomi::Error),
}

fn describe(fields: &[(String, String)]) -> String {
    fields
        .iter()
        .map(|(f, m)| format!("{f}: {m}"))
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<sqlx::Error> for OrgError {
    fn from(e: sqlx::Error) -> Self {
        OrgError::Store(StoreError::from(e))
    }
}

impl OrgError {
    /// A single refused field.
    pub fn field(field: &str, message: impl Into<String>) -> OrgError {
        OrgError::Invalid(vec![(field.to_owned(), message.into())])
    }

    /// The public code (also an audit record's `reason`).
    pub fn code(&self) -> ErrorCode {
        use ErrorCode as C;
        match self {
            OrgError::Invalid(_) => C::ValidationFailed,
            OrgError::NotFound(_) | OrgError::MemberNotFound(_) => C::OrgNotFound,
            OrgError::AccountNotFound(_) => C::AccountNotFound,
            OrgError::NotPending(_) => C::OrgNotPending,
            OrgError::NotApproved(_) => C::OrgNotApproved,
            OrgError::Forbidden(_) => C::OrgForbidden,
            OrgError::DuplicateUscc | OrgError::AlreadyMember => C::OrgDuplicate,
            OrgError::Conflict(_) => C::OrgStateConflict,
            OrgError::Admin(AdminError::Forbidden { .. }) => C::Forbidden,
            OrgError::Admin(AdminError::PasswordChangeRequired) => C::PasswordChangeRequired,
            OrgError::Admin(_) => C::Internal,
            OrgError::Store(StoreError::Unavailable(_)) => C::StoreUnavailable,
            OrgError::Store(_) | OrgError::Crypto(_) => C::Internal,
            OrgError::Audit(AuditError::Store(StoreError::Unavailable(_))) => C::StoreUnavailable,
            OrgError::Audit(AuditError::Store(_)) => C::Internal,
            OrgError::Audit(_) => C::AuditUnavailable,
        }
    }

    /// Whether the store refused a row as a duplicate (a race the retry resolves).
    pub(crate) fn is_unique_violation(&self) -> bool {
        matches!(self, OrgError::Store(e) if e.is_unique_violation())
    }
}

impl From<OrgError> for ApiError {
    fn from(e: OrgError) -> Self {
        match e {
            OrgError::Invalid(fields) => {
                let mut err = ApiError::new(ErrorCode::ValidationFailed, describe(&fields));
                for (f, m) in fields {
                    err = err.field(f, m);
                }
                err
            }
            OrgError::Admin(a) => a.into(),
            OrgError::Store(s) => s.into(),
            OrgError::Audit(a) => a.into(),
            other => ApiError::domain(other.code(), other),
        }
    }
}
