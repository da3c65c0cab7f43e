//! Federation failures, named after what went wrong. No variant carries a ticket, token, code,
//! caller code or certificate number; `hub` maps each to a stable public code.

use platform::identity::InvalidId;

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
    /// The back channel failed: the source is the [`outbound::Error`] (which says whose fault
    /// it was and whether the call may be repeated) when the call itself failed, or a
    /// description of an unusable answer.
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
    /// What kind of failure. An unavailable provider is always `retryable`: the user may start
    /// the sign-in again, with a new ticket or code, once the provider is back.
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

    /// The outbound failure behind a `ProviderUnavailable`, if the call itself failed.
    pub fn outbound(&self) -> Option<&outbound::Error> {
        match self {
            Error::ProviderUnavailable { source, .. } => source.downcast_ref::<outbound::Error>(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unavailable_provider_keeps_the_outbound_error() {
        let e = Error::ProviderUnavailable {
            provider: "fujian".into(),
            source: Box::new(outbound::Error::CircuitOpen {
                host: "https://mztapp.fujian.gov.cn:8304".into(),
                retry_in: std::time::Duration::from_secs(3),
            }),
        };
        let o = e.outbound().unwrap();
        assert_eq!(o.fault(), outbound::Fault::Theirs);
        assert!(o.retry_safe());
        assert_eq!(e.kind(), ErrorKind::Upstream { retryable: true });
        let text = telemetry::chain(&e);
        assert!(text.contains("circuit open"), "{text}");
        let described = Error::ProviderUnavailable {
            provider: "corp".into(),
            source: "Server returned invalid response".into(),
        };
        assert!(described.outbound().is_none());
        assert!(Error::TicketReplayed.outbound().is_none());
    }
}
