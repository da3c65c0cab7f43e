//! Federation failures, named after what went wrong. No variant carries a ticket, token, code,
//! caller code or certificate number; `hub` maps each to a stable public code.

use crate::identity::InvalidId;

/// What kind of failure, for callers that do not care which one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request or assertion is malformed.
    Invalid,
    /// Proof of identity failed (signature, ticket, token).
    Unauthenticated,
    /// The identity is valid but may not sign in here.
    Forbidden,
    /// The provider could not be reached or failed; `retryable` when trying again may help.
    Upstream { retryable: bool },
    /// A defect or misconfiguration on our side.
    Internal,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("the sign-in state is missing, expired or belongs to another browser")]
    StateInvalid,
    #[error("the provider returned without a ticket or code")]
    TicketMissing,
    #[error("the provider refused the ticket: {message}")]
    TicketInvalid { message: String },
    #[error("the ticket was used before")]
    TicketReplayed,
    #[error("the identity provider {provider} is unreachable or failing")]
    ProviderUnavailable {
        provider: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the identity provider {provider} refused: {message}")]
    ProviderRefused { provider: String, message: String },
    #[error("the user cancelled or was refused at the identity provider ({description})")]
    AccessDenied { description: String },
    #[error("the provider's answer lacks {field}")]
    IdentityIncomplete { field: String },
    #[error("the provider's {field} is not valid: {source}")]
    IdentityInvalid {
        field: String,
        #[source]
        source: InvalidId,
    },
    #[error("the entry is malformed: {reason}")]
    EntryInvalid { reason: String },
    #[error("the signature does not verify")]
    SignatureInvalid,
    #[error("the timestamp is outside the accepted window")]
    TimestampStale,
    #[error("the nonce was used before")]
    NonceReplayed,
    #[error("the target is neither a local path nor an allowed origin")]
    TargetNotAllowed,
    #[error("the ID token is not valid: {reason}")]
    IdTokenInvalid { reason: String },
    #[error("the ID token's nonce does not match this sign-in")]
    NonceMismatch,
    #[error("the user-info subject differs from the ID token's")]
    UserInfoMismatch,
    #[error("the logout token is not valid: {reason}")]
    LogoutTokenInvalid { reason: String },
    #[error("the provider configuration is unusable: {0}")]
    Config(String),
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::StateInvalid
            | Error::TicketMissing
            | Error::EntryInvalid { .. }
            | Error::TargetNotAllowed
            | Error::IdentityIncomplete { .. }
            | Error::IdentityInvalid { .. } => ErrorKind::Invalid,
            Error::TicketInvalid { .. }
            | Error::TicketReplayed
            | Error::SignatureInvalid
            | Error::TimestampStale
            | Error::NonceReplayed
            | Error::IdTokenInvalid { .. }
            | Error::NonceMismatch
            | Error::UserInfoMismatch
            | Error::LogoutTokenInvalid { .. } => ErrorKind::Unauthenticated,
            Error::AccessDenied { .. } => ErrorKind::Forbidden,
            Error::ProviderUnavailable { .. } => ErrorKind::Upstream { retryable: true },
            Error::ProviderRefused { .. } => ErrorKind::Upstream { retryable: false },
            Error::Config(_) => ErrorKind::Internal,
        }
    }
}
