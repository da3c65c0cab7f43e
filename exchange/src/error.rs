//! What can go wrong in the exchange: each failure with what the partner or administrator is
//! told (the problem mapping is in `routes.rs`).

use platform::audit::AuditError;
use platform::store::StoreError;

use crate::auth::AuthFailure;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExchangeError {
    #[error("partner authentication failed ({})", .0.as_str())]
    Unauthenticated(AuthFailure),
    #[error("too many failed authentications from this address")]
    TooManyFailures(std::time::Duration),
    #[error("partner {0} is disabled")]
    PartnerDisabled(String),
    #[error("no mapping is installed for message type {0}")]
    UnknownMessageType(String),
    #[error("the partner may not send message type {0}")]
    MessageTypeNotAllowed(String),
    #[error("the content type is not XML or JSON")]
    UnsupportedMediaType,
    #[error("the body is not JSON: {detail} (line {line}, column {column})")]
    JsonMalformed {
        detail: String,
        line: u64,
        column: u64,
    },
    #[error(transparent)]
    Mapping(#[from] mappings::Error),
    #[error("the message has no message id (X-Message-Id header or the mapping's message_id)")]
    MessageIdMissing,
    #[error(
        "a signed message must carry its id inside the message (the mapping's message_id): the signature does not cover X-Message-Id"
    )]
    MessageIdUnsigned,
    #[error("the message id must be 1–128 printable ASCII characters")]
    MessageIdInvalid,
    #[error("the X-Message-Id header and the message's own id differ")]
    MessageIdMismatch,
    #[error(
        "this message id was used for another message (receipt {0}); a resend must be byte for byte the same, a new message needs a new id"
    )]
    MessageIdReused(String),
    #[error("no message {0}")]
    NotFound(String),
    #[error("the payload of message {0} is no longer retained (exchange.payload_retention)")]
    PayloadNotRetained(String),
    #[error("message {0} has no delivery that can be replayed")]
    NothingToReplay(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("cryptographic failure")]
    Crypto(#[source] guomi::Error),
    #[error("translation failed to run")]
    Join(#[source] tokio::task::JoinError),
    #[error("the message could not be recorded; nothing was acknowledged, send it again")]
    NotRecorded,
    #[error("no partner {0}")]
    PartnerNotFound(String),
    #[error("the message could not be signed or sealed for the partner: {0}")]
    Sealing(String),
    #[error("partner {0} has no outbound_url: it receives no messages from the hub")]
    PartnerNotReceiving(String),
    #[error("a partner {0} exists already")]
    PartnerExists(String),
    #[error("partner {0} is defined in the configuration file; change it there")]
    PartnerReadOnly(String),
    #[error("the partner is invalid: {}", .0.iter().map(|(f, m)| format!("{f}: {m}")).collect::<Vec<_>>().join("; "))]
    PartnerInvalid(Vec<(String, String)>),
    #[error("a stored partner cannot be read: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for ExchangeError {
    fn from(e: sqlx::Error) -> Self {
        ExchangeError::Store(e.into())
    }
}

impl ExchangeError {
    /// The stable code recorded in the message log for a rejected message.
    pub fn code(&self) -> &'static str {
        match self {
            ExchangeError::Unauthenticated(_) => "exchange.unauthenticated",
            ExchangeError::PartnerDisabled(_) => "exchange.partner_disabled",
            ExchangeError::UnknownMessageType(_) => "exchange.message_type_unknown",
            ExchangeError::MessageTypeNotAllowed(_) => "exchange.message_type_not_allowed",
            ExchangeError::UnsupportedMediaType => "request.unsupported_media_type",
            ExchangeError::JsonMalformed { .. } => "exchange.json_malformed",
            ExchangeError::Mapping(e) => e.code(),
            ExchangeError::MessageIdMissing | ExchangeError::MessageIdUnsigned => {
                "exchange.message_id_missing"
            }
            ExchangeError::MessageIdInvalid => "exchange.message_id_invalid",
            ExchangeError::MessageIdMismatch => "exchange.message_id_mismatch",
            ExchangeError::MessageIdReused(_) => "exchange.message_id_reused",
            ExchangeError::NotFound(_) => "exchange.message_not_found",
            ExchangeError::PayloadNotRetained(_) => "exchange.payload_not_retained",
            ExchangeError::NothingToReplay(_) => "exchange.nothing_to_replay",
            _ => "internal",
        }
    }
}
