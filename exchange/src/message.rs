//! Messages as the log keeps and shows them: what a partner sent, the receipt it gets back,
//! the format, the views administrators read, the log's filters — and the rules every message
//! follows: its id, its correlation id, the key its stored payload is sealed under, the mapping
//! with the partner's codec.

use http::HeaderMap;
use platform::clock::Millis;
use platform::context::RequestContext;
use serde_json::Value;

use crate::config::PartnerConfig;

/// What the partner sent, as the intake sees it.
pub struct Inbound<'a> {
    pub partner: &'a str,
    pub message_type: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: axum::body::Bytes,
    /// The TLS client certificate of the connection, when the hub terminates TLS.
    pub client_cert: Option<platform::context::ClientCert>,
}

/// The acknowledgement to send back.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub receipt_id: String,
    pub body: String,
    pub content_type: String,
    /// The message was received before: this is the first acknowledgement again.
    pub duplicate: bool,
    /// The id was used before for a message with other content (not a resend).
    pub other_content: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Xml,
    Json,
}

impl Format {
    pub(crate) fn of(headers: &HeaderMap) -> Option<Format> {
        let ct = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())?
            .split(';')
            .next()?
            .trim()
            .to_ascii_lowercase();
        match ct.as_str() {
            "application/xml" | "text/xml" | "application/soap+xml" => Some(Format::Xml),
            "application/json" => Some(Format::Json),
            t if t.ends_with("+xml") => Some(Format::Xml),
            t if t.ends_with("+json") => Some(Format::Json),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Format::Xml => "xml",
            Format::Json => "json",
        }
    }
}

/// One message in the log, as administrators see it (personal fields masked).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MessageView {
    /// The hub's receipt id.
    pub id: String,
    pub partner: String,
    /// `inbound` (the partner sent it) or `outbound` (the hub sends it to the partner).
    pub direction: String,
    /// The sender's message id.
    pub message_id: String,
    pub message_type: String,
    /// `name@version` of the mapping that translated it.
    pub mapping: String,
    /// `xml` or `json`: what the sender sent.
    pub format: String,
    /// `accepted`, `delivered`, `failed` or `rejected`.
    pub status: String,
    pub received_at: String,
    pub updated_at: String,
    pub request_id: Option<String>,
    pub correlation_id: Option<String>,
    pub size_bytes: i64,
    pub error_code: Option<String>,
    pub error_detail: Option<String>,
    /// Whether the raw payload is still retained (encrypted; never shown).
    pub payload_retained: bool,
    /// The translated message with personal fields masked (detail view only; inbound: the
    /// JSON delivered; outbound: the JSON sent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub translated: Option<Value>,
    /// Deliveries to consumers (detail view only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deliveries: Vec<DeliveryView>,
}

/// A message's raw payload with personal fields masked.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PayloadView {
    pub id: String,
    /// `xml` or `json` (`unknown` when the content type was not supported).
    pub format: String,
    pub size_bytes: i64,
    /// The field names masked (`exchange.masked_fields`), matched against XML element and
    /// attribute names ignoring case, `_` and `-`.
    pub masked_fields: Vec<String>,
    /// The payload as UTF-8 text, masked; Base64 HEAD/BODY blocks and DOCTYPEs are withheld.
    pub payload: String,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    /// The `Idempotency-Key` the consumer sees.
    pub id: String,
    /// The consumer's origin (no path or query), or `internal:<name>` for a consumer in the hub.
    pub target: String,
    /// `pending`, `delivered` or `dead`.
    pub status: String,
    pub attempts: i64,
    pub next_at: String,
    pub last_error: Option<String>,
    pub delivered_at: Option<String>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct MessageRow {
    pub(crate) id: String,
    pub(crate) partner: String,
    pub(crate) direction: String,
    pub(crate) message_id: String,
    pub(crate) message_type: String,
    pub(crate) mapping: String,
    pub(crate) format: String,
    pub(crate) status: String,
    pub(crate) received_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) request_id: Option<String>,
    pub(crate) correlation_id: Option<String>,
    pub(crate) size_bytes: i64,
    pub(crate) payload_retained: bool,
    pub(crate) error_code: Option<String>,
    pub(crate) error_detail: Option<String>,
}

impl MessageRow {
    pub(crate) fn view(self) -> MessageView {
        MessageView {
            id: self.id,
            partner: self.partner,
            direction: self.direction,
            message_id: self.message_id,
            message_type: self.message_type,
            mapping: self.mapping,
            format: self.format,
            status: self.status,
            received_at: Millis(self.received_at).to_rfc3339(),
            updated_at: Millis(self.updated_at).to_rfc3339(),
            request_id: self.request_id,
            correlation_id: self.correlation_id,
            size_bytes: self.size_bytes,
            error_code: self.error_code,
            error_detail: self.error_detail,
            payload_retained: self.payload_retained,
            translated: None,
            deliveries: Vec::new(),
        }
    }
}

pub(crate) const MESSAGE_COLUMNS: &str = "id, partner, direction, message_id, message_type, mapping, format, status, received_at, updated_at, request_id, correlation_id, size_bytes, (payload_enc IS NOT NULL) AS payload_retained, error_code, error_detail";

/// Filters of the message log.
#[derive(Debug, Default, Clone)]
pub struct MessageQuery {
    pub partner: Option<String>,
    pub direction: Option<String>,
    pub message_type: Option<String>,
    pub status: Option<String>,
    pub message_id: Option<String>,
    pub correlation_id: Option<String>,
    pub from: Option<Millis>,
    pub to: Option<Millis>,
    /// Receipt ids are time-ordered (UUIDv7): page backwards from this one.
    pub before: Option<String>,
    pub limit: u32,
}

pub(crate) fn aad(id: &str, what: &str) -> Vec<u8> {
    format!("exchange.{what}:{id}").into_bytes()
}

/// The sender's `X-Message-Id`, if any.
pub(crate) fn header_message_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-message-id")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_owned())
}

/// The sender's `X-Correlation-Id` (at most 128 bytes), else the request id.
pub(crate) fn correlation_id(headers: &HeaderMap, ctx: &RequestContext) -> Option<String> {
    headers
        .get("x-correlation-id")
        .and_then(|v| v.to_str().ok())
        .filter(|c| c.len() <= 128)
        .map(str::to_owned)
        .or_else(|| ctx.request_id.clone())
}

/// `mapping` with the partner's codec when the partner seals or signs its wrapped documents
/// (its HEAD/BODY blocks are opened, verified, sealed and signed with its keys).
pub(crate) fn with_partner_codec<'m>(
    mapping: &'m mappings::Mapping,
    partner: &PartnerConfig,
) -> std::borrow::Cow<'m, mappings::Mapping> {
    match (&partner.payload_codec, mapping.envelope()) {
        (Some(codec), mappings::Envelope::Base64Document) => {
            std::borrow::Cow::Owned(mapping.clone().with_codec(codec.clone()))
        }
        _ => std::borrow::Cow::Borrowed(mapping),
    }
}

pub(crate) fn valid_message_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| (0x21..0x7f).contains(&b))
}
