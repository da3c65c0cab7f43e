//! Message exchange with partner systems (REQUIREMENTS C1–C4): authenticated intake at
//! `POST /exchange/{partner}/{message_type}`, translation through the installed mappings, a
//! durable message log, idempotency by the partner's message id, and an outbox that delivers
//! each translated message to its consumer exactly once for consumers that honour the
//! `Idempotency-Key` (`outbox.rs`).
//!
//! A message is acknowledged only after its log row and its delivery are committed together
//! (on SQLite with a full fsync), so an acknowledged message cannot be lost, and a partner that
//! sends the same message id again — even concurrently — gets the first acknowledgement back
//! while the message is applied once (a unique index decides, not a read before the write).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use crate::config::{ExchangeConfig, PartnerConfig};
use crate::metrics::ExchangeMetrics;
use platform::audit::{Actor, AuditEvent, AuditLog, Outcome};
use platform::clock::{Clock, Millis};
use platform::context::RequestContext;
use platform::keys::Keys;
use platform::store::{Backend, Db, begin_write, with_pool};

pub use crate::auth::AuthFailure;
pub use crate::error::ExchangeError;
pub use crate::message::{DeliveryView, Inbound, MessageQuery, MessageView, PayloadView, Receipt};

use crate::masking::mask_fields;
use crate::message::{
    Format, MESSAGE_COLUMNS, MessageRow, aad, correlation_id, header_message_id, valid_message_id,
    with_partner_codec,
};

/// Largest body translated on the request's own task; larger ones go to a blocking thread.
const INLINE_TRANSLATION_BYTES: usize = 256 * 1024;

/// The exchange service: intake, the message log, partners, delivery.
pub struct Exchange {
    pub(crate) db: Db,
    pub(crate) keys: Keys,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) audit: AuditLog,
    pub(crate) config: ExchangeConfig,
    /// The configuration file's partners (read-only).
    pub(crate) file_partners: HashMap<String, Arc<PartnerConfig>>,
    /// The node's view: the file's partners and the stored ones (`partners.rs`).
    pub(crate) partners: std::sync::RwLock<Arc<crate::config::PartnerView>>,
    pub(crate) metrics: ExchangeMetrics,
    pub(crate) wake: tokio::sync::Notify,
    pub(crate) intake: crate::intake::Intake,
    /// When this node last swept never-settled deliveries (`outbox.rs`), ms.
    pub(crate) last_sweep: std::sync::atomic::AtomicI64,
    /// Partner reloads take turns (`partners.rs`).
    pub(crate) reload_turn: tokio::sync::Mutex<()>,
    /// Tokens from partners' gateways (`send.rs`).
    pub(crate) gateway_tokens: crate::gateway::GatewayTokens,
    /// Failed authentications per client address: past the limit a request is refused before
    /// any check, and no longer recorded one by one (the audit trail cannot be flooded).
    pub(crate) failures: platform::http::ratelimit::RateLimiter<std::net::IpAddr>,
    /// In-process consumers, the targets `internal:<name>` (`consumer.rs`).
    pub(crate) consumers: crate::consumer::Consumers,
}

/// Failed partner authentications allowed per client address and minute.
const AUTH_FAILURES_PER_MINUTE: u32 = 60;

impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange")
            .field(
                "file_partners",
                &self.file_partners.keys().collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Exchange {
    pub fn new(
        db: Db,
        keys: Keys,
        clock: Arc<dyn Clock>,
        audit: AuditLog,
        config: ExchangeConfig,
        partners: &[PartnerConfig],
        metrics: ExchangeMetrics,
    ) -> Self {
        Exchange {
            db: db.clone(),
            keys,
            clock,
            audit,
            config,
            file_partners: partners
                .iter()
                .map(|p| (p.id.clone(), Arc::new(p.clone())))
                .collect(),
            partners: std::sync::RwLock::new(Arc::new(
                partners
                    .iter()
                    .map(|p| {
                        (
                            p.id.clone(),
                            (Arc::new(p.clone()), crate::config::Source::File),
                        )
                    })
                    .collect(),
            )),
            metrics,
            wake: tokio::sync::Notify::new(),
            intake: crate::intake::Intake::new(db),
            failures: platform::http::ratelimit::RateLimiter::per_minute(AUTH_FAILURES_PER_MINUTE),
            reload_turn: tokio::sync::Mutex::new(()),
            last_sweep: std::sync::atomic::AtomicI64::new(0),
            gateway_tokens: crate::gateway::GatewayTokens::default(),
            consumers: crate::consumer::Consumers::default(),
        }
    }

    /// Registers the in-process consumer of the target `internal:<name>` (the binary does, at
    /// start, before deliveries run; a delivery to a name not registered is retried).
    pub fn register_consumer(&self, name: &str, consumer: Arc<dyn crate::consumer::Consumer>) {
        self.consumers.register(name, consumer);
    }

    /// The names of the registered in-process consumers, sorted.
    pub fn consumer_names(&self) -> Vec<String> {
        self.consumers.names()
    }

    pub fn config(&self) -> &ExchangeConfig {
        &self.config
    }

    /// Whether partner messages can be recorded (for readiness).
    pub fn intake_running(&self) -> bool {
        self.intake.running()
    }

    /// Receives one message: authenticates, translates, records and acknowledges it.
    pub async fn receive(
        &self,
        req: Inbound<'_>,
        ctx: &RequestContext,
    ) -> Result<Receipt, ExchangeError> {
        let now = self.clock.now();
        let signed = crate::auth::SignedRequest {
            method: req.method,
            path: req.path,
            query: req.query,
            headers: req.headers,
            body: &req.body,
        };
        // An address past its allowance of failures is refused before any check (and before
        // the cost of verifying a signature).
        if let Some(ip) = ctx.client_ip
            && let Err(wait) = self.failures.peek_client(ip)
        {
            return Err(ExchangeError::TooManyFailures(wait));
        }
        let known = self.partner(req.partner);
        let checked = match &known {
            None => Err(AuthFailure::UnknownPartner),
            // Mutual TLS first: a partner pinned to certificates is refused on any other
            // connection, however good its signature.
            Some(p)
                if !p.client_certificates.is_empty()
                    && !req
                        .client_cert
                        .is_some_and(|c| p.client_certificates.contains(&c.0)) =>
            {
                Err(AuthFailure::ClientCertificate)
            }
            Some(p) => crate::auth::verify(&p.auth, &signed, now, self.config.clock_skew),
        };
        let partner = match (checked, known) {
            (Ok(()), Some(p)) => p,
            (Err(why), known) => {
                // Metric labels only for configured partners: a path cannot create series.
                let label = known.as_ref().map_or("unknown", |p| p.id.as_str());
                self.metrics.exchange(label, "unauthenticated");
                if let Some(ip) = ctx.client_ip
                    && let Err(wait) = self.failures.check_client(ip)
                {
                    return Err(ExchangeError::TooManyFailures(wait));
                }
                self.audit
                    .append(
                        AuditEvent::new("exchange.auth_failed", Outcome::Failure)
                            .actor(Actor::anonymous())
                            .target(format!("partner:{}", req.partner))
                            .reason(why.as_str())
                            .details(serde_json::json!({
                                "claimed_partner": req.partner,
                                "message_type": req.message_type,
                            }))
                            .context(ctx),
                    )
                    .await?;
                return Err(ExchangeError::Unauthenticated(why));
            }
            (Ok(()), None) => {
                return Err(ExchangeError::Unauthenticated(AuthFailure::UnknownPartner));
            }
        };
        if !partner.enabled {
            self.metrics.exchange(&partner.id, "rejected");
            return Err(ExchangeError::PartnerDisabled(partner.id.clone()));
        }
        let Some(mapping) = self.config.catalog.for_message_type(req.message_type) else {
            self.metrics.exchange(&partner.id, "rejected");
            return Err(ExchangeError::UnknownMessageType(
                req.message_type.to_owned(),
            ));
        };
        if !partner.message_types.iter().any(|t| t == req.message_type) {
            self.metrics.exchange(&partner.id, "rejected");
            return Err(ExchangeError::MessageTypeNotAllowed(
                req.message_type.to_owned(),
            ));
        }
        let header_id = header_message_id(req.headers);
        let format = Format::of(req.headers);
        // A partner whose wrapped documents must be signed or sealed sends the document: its
        // JSON would bypass both.
        let guarded = mapping.envelope() == mappings::Envelope::Base64Document
            && (partner.payload_signature.is_some() || partner.payload_sm4);
        let translated = match format {
            None => Err(ExchangeError::UnsupportedMediaType),
            Some(Format::Json) if guarded => Err(ExchangeError::Mapping(
                mappings::Error::SignatureInvalid {
                    detail: "this partner's documents are signed or encrypted: send the DOCUMENT as XML, not JSON".into(),
                },
            )),
            Some(f) => {
                let m = with_partner_codec(mapping, &partner);
                self.translate(&m, f, req.body.clone()).await
            }
        };
        let translated = translated.and_then(|v| {
            let own = mapping.message_id(&v);
            let signed = !matches!(partner.auth, crate::auth::PartnerAuth::Token { .. });
            let id = match (&header_id, own) {
                (Some(h), Some(o)) if *h != o => return Err(ExchangeError::MessageIdMismatch),
                // The signature covers the body, not the header: an id only in the header could
                // be changed on a replayed request.
                (Some(_), None) if signed => return Err(ExchangeError::MessageIdUnsigned),
                (Some(h), _) => h.clone(),
                (None, Some(o)) => o,
                (None, None) => return Err(ExchangeError::MessageIdMissing),
            };
            if valid_message_id(&id) {
                Ok((v, id))
            } else {
                Err(ExchangeError::MessageIdInvalid)
            }
        });
        let mapping_ref = format!("{}@{}", mapping.name(), mapping.version());
        let correlation = correlation_id(req.headers, ctx);
        let receipt_id = uuid::Uuid::now_v7().to_string();
        let (value, message_id) = match translated {
            Ok(t) => t,
            Err(e) => {
                self.metrics.exchange(&partner.id, "rejected");
                let id = header_id
                    .filter(|h| valid_message_id(h))
                    .unwrap_or_default();
                if let Err(failure) = self
                    .record_rejected(
                        &receipt_id,
                        &partner.id,
                        &id,
                        req.message_type,
                        &mapping_ref,
                        format.map_or("unknown", Format::as_str),
                        &req.body,
                        &e,
                        correlation.as_deref(),
                        ctx,
                        now,
                    )
                    .await
                {
                    // The partner still learns what was wrong with its message.
                    tracing::error!(error = %telemetry::chain(&failure), "cannot record a rejected message");
                }
                return Err(e);
            }
        };
        let format = format.unwrap_or(Format::Json);
        let (ack, ack_type) = match format {
            Format::Xml => (
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Ack><MessageId>{}</MessageId><MessageType>{}</MessageType><ReceiptId>{receipt_id}</ReceiptId><Status>accepted</Status><ReceivedAt>{}</ReceivedAt></Ack>\n",
                    platform::pages::escape(&message_id),
                    platform::pages::escape(req.message_type),
                    now.to_rfc3339()
                ),
                "application/xml; charset=utf-8",
            ),
            Format::Json => (
                serde_json::json!({
                    "message_id": message_id,
                    "message_type": req.message_type,
                    "receipt_id": receipt_id,
                    "status": "accepted",
                    "received_at": now.to_rfc3339(),
                })
                .to_string(),
                "application/json",
            ),
        };
        let translated_text = value.to_string();
        let translated_enc = self
            .keys
            .data
            .encrypt(translated_text.as_bytes(), &aad(&receipt_id, "translated"))
            .map_err(ExchangeError::Crypto)?;
        let payload_enc = self
            .keys
            .data
            .encrypt(&req.body, &aad(&receipt_id, "payload"))
            .map_err(ExchangeError::Crypto)?;
        let row = crate::intake::NewMessage {
            id: receipt_id.clone(),
            partner: partner.id.clone(),
            direction: "inbound",
            message_id,
            message_type: req.message_type.to_owned(),
            mapping: mapping_ref,
            format: format.as_str(),
            now: now.0,
            request_id: ctx.request_id.clone(),
            correlation_id: correlation,
            size: i64::try_from(req.body.len()).unwrap_or(i64::MAX),
            payload_digest: hex::encode(guomi::sm3(&req.body)),
            payload_enc,
            translated_enc,
            ack,
            ack_type,
            deliver_to: partner.deliver_to.as_ref().map(|u| u.as_str().to_owned()),
        };
        let receipt = self.intake.store(row).await?;
        if receipt.other_content {
            self.metrics.exchange(&partner.id, "rejected");
            return Err(ExchangeError::MessageIdReused(receipt.receipt_id));
        }
        if receipt.duplicate {
            self.metrics.exchange(&partner.id, "duplicate");
        } else {
            self.metrics.exchange(&partner.id, "accepted");
            if partner.deliver_to.is_some() {
                self.wake.notify_one();
            }
        }
        Ok(receipt)
    }

    pub(crate) async fn translate(
        &self,
        mapping: &mappings::Mapping,
        format: Format,
        body: axum::body::Bytes,
    ) -> Result<Value, ExchangeError> {
        let inline = body.len() <= INLINE_TRANSLATION_BYTES;
        let m = mapping.clone();
        let run = move || -> Result<Value, ExchangeError> {
            match format {
                Format::Xml => Ok(m.xml_to_json(&body)?),
                Format::Json => {
                    let v: Value = serde_json::from_slice(&body).map_err(|e| {
                        ExchangeError::JsonMalformed {
                            detail: e.to_string(),
                            line: e.line() as u64,
                            column: e.column() as u64,
                        }
                    })?;
                    m.validate_json(&v)?;
                    Ok(v)
                }
            }
        };
        // Small documents translate in microseconds: not worth a thread hop.
        if inline {
            return run();
        }
        tokio::task::spawn_blocking(run)
            .await
            .map_err(ExchangeError::Join)?
    }

    /// Keeps a refused message in the log (its state, code and what was wrong; the payload
    /// encrypted) so that administrators can see what a partner sent and why it failed.
    #[allow(clippy::too_many_arguments)]
    async fn record_rejected(
        &self,
        id: &str,
        partner: &str,
        message_id: &str,
        message_type: &str,
        mapping: &str,
        format: &str,
        body: &[u8],
        e: &ExchangeError,
        correlation_id: Option<&str>,
        ctx: &RequestContext,
        now: Millis,
    ) -> Result<(), ExchangeError> {
        let payload_enc = self
            .keys
            .data
            .encrypt(body, &aad(id, "payload"))
            .map_err(ExchangeError::Crypto)?;
        // Only where it went wrong: the full message (which may quote a value, a certificate
        // number say) goes to the partner, never into the log.
        let detail = match e {
            ExchangeError::Mapping(m) => {
                let mut d = String::from(m.code());
                if let Some(path) = m.path().filter(|p| !p.is_empty()) {
                    d.push_str(&format!(" at {path}"));
                }
                if let (Some(line), Some(column)) = (m.line(), m.column()) {
                    d.push_str(&format!(" (line {line}, column {column})"));
                }
                d
            }
            ExchangeError::JsonMalformed { line, column, .. } => {
                format!("not JSON (line {line}, column {column})")
            }
            other => other.to_string().chars().take(300).collect(),
        };
        with_pool!(self.db.write(), |p| {
            sqlx::query(
                "INSERT INTO exchange_messages (id, partner, message_id, message_type, mapping, format, status, received_at, updated_at, request_id, correlation_id, size_bytes, payload_enc, error_code, error_detail) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'rejected', $7, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(id)
            .bind(partner)
            .bind(message_id)
            .bind(message_type)
            .bind(mapping)
            .bind(format)
            .bind(now.0)
            .bind(ctx.request_id.as_deref())
            .bind(correlation_id)
            .bind(i64::try_from(body.len()).unwrap_or(i64::MAX))
            .bind(&payload_enc)
            .bind(e.code())
            .bind(&detail)
            .execute(p)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }

    /// The message log, newest first.
    pub async fn list(&self, q: &MessageQuery) -> Result<Vec<MessageView>, ExchangeError> {
        let mut sql = format!("SELECT {MESSAGE_COLUMNS} FROM exchange_messages WHERE 1 = 1");
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        let mut binds: Vec<BindValue> = Vec::new();
        for (column, value) in [
            ("partner", &q.partner),
            ("direction", &q.direction),
            ("message_type", &q.message_type),
            ("status", &q.status),
            ("message_id", &q.message_id),
            ("correlation_id", &q.correlation_id),
            ("id <", &q.before),
        ] {
            if let Some(v) = value {
                let op = if column.ends_with('<') { "" } else { " =" };
                sql.push_str(&format!(" AND {column}{op} {}", next()));
                binds.push(BindValue::Text(v.clone()));
            }
        }
        if let Some(f) = q.from {
            sql.push_str(&format!(" AND received_at >= {}", next()));
            binds.push(BindValue::Int(f.0));
        }
        if let Some(t) = q.to {
            sql.push_str(&format!(" AND received_at < {}", next()));
            binds.push(BindValue::Int(t.0));
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", next()));
        binds.push(BindValue::Int(i64::from(q.limit.clamp(1, 500))));
        let rows: Vec<MessageRow> = with_pool!(self.db.read(), |p| {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
            for b in &binds {
                query = match b {
                    BindValue::Text(s) => query.bind(s.clone()),
                    BindValue::Int(i) => query.bind(*i),
                };
            }
            query.fetch_all(p).await
        })?;
        Ok(rows.into_iter().map(MessageRow::view).collect())
    }

    /// One message with its translation (masked) and deliveries.
    pub async fn get(&self, id: &str) -> Result<MessageView, ExchangeError> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS}, translated_enc, payload_enc FROM exchange_messages WHERE id = $1"
        );
        let found: Option<MessageRowWithTranslation> = with_pool!(self.db.read(), |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id)
                .fetch_optional(p)
                .await
        })?;
        let Some(found) = found else {
            return Err(ExchangeError::NotFound(id.to_owned()));
        };
        // The JSON side: what was delivered (inbound) or what was sent to be translated
        // (outbound; its translation is the partner's XML).
        let (json_enc, what) = if found.row.direction == "outbound" {
            (found.payload_enc.as_deref(), "payload")
        } else {
            (found.translated_enc.as_deref(), "translated")
        };
        let translated = json_enc
            .and_then(|enc| self.keys.data.decrypt(enc, &aad(id, what)).ok())
            .and_then(|plain| serde_json::from_slice::<Value>(&plain).ok())
            .map(|mut v| {
                mask_fields(&mut v, &self.config.masked_fields);
                v
            });
        let deliveries: Vec<DeliveryRow> = with_pool!(self.db.read(), |p| {
            sqlx::query_as(
                "SELECT id, target, status, attempts, next_at, last_error, delivered_at FROM exchange_outbox WHERE message = $1 ORDER BY created_at",
            )
            .bind(id)
            .fetch_all(p)
            .await
        })?;
        let mut view = found.row.view();
        view.translated = translated;
        view.deliveries = deliveries
            .into_iter()
            .map(|d| DeliveryView {
                id: d.id,
                target: crate::consumer::shown_target(&d.target),
                status: d.status,
                attempts: d.attempts,
                next_at: Millis(d.next_at).to_rfc3339(),
                last_error: d.last_error,
                delivered_at: d.delivered_at.map(|t| Millis(t).to_rfc3339()),
            })
            .collect();
        Ok(view)
    }

    /// The raw payload of a message as it arrived (or, outbound, the JSON that was sent), with
    /// personal fields masked (`masking.rs`). Each look is audited.
    pub async fn payload(
        &self,
        id: &str,
        actor: Actor,
        ctx: &RequestContext,
    ) -> Result<PayloadView, ExchangeError> {
        let found: Option<(String, Option<Vec<u8>>)> = with_pool!(self.db.read(), |p| {
            sqlx::query_as("SELECT format, payload_enc FROM exchange_messages WHERE id = $1")
                .bind(id)
                .fetch_optional(p)
                .await
        })?;
        let Some((format, enc)) = found else {
            return Err(ExchangeError::NotFound(id.to_owned()));
        };
        let Some(enc) = enc else {
            return Err(ExchangeError::PayloadNotRetained(id.to_owned()));
        };
        let raw = self
            .keys
            .data
            .decrypt(&enc, &aad(id, "payload"))
            .map_err(ExchangeError::Crypto)?;
        let fields = &self.config.masked_fields;
        let payload = crate::masking::mask_payload(&raw, fields);
        self.audit
            .append(
                AuditEvent::new("exchange.payload_viewed", Outcome::Success)
                    .actor(actor)
                    .target(format!("message:{id}"))
                    .context(ctx),
            )
            .await?;
        Ok(PayloadView {
            id: id.to_owned(),
            format,
            size_bytes: i64::try_from(raw.len()).unwrap_or(i64::MAX),
            masked_fields: fields.clone(),
            payload,
        })
    }

    /// Sends a message's dead (or delivered) deliveries again, with the same idempotency key:
    /// a consumer that already applied it answers without applying it twice.
    pub async fn replay(
        &self,
        id: &str,
        actor: Actor,
        ctx: &RequestContext,
    ) -> Result<MessageView, ExchangeError> {
        let now = self.clock.now().0;
        let changed = with_pool!(self.db.write(), |p, b| {
            let mut tx = begin_write!(p, b)?;
            let n = sqlx::query(
                "UPDATE exchange_outbox SET status = 'pending', attempts = 0, next_at = $2, lease_until = NULL, last_error = NULL WHERE message = $1 AND status <> 'pending'",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n > 0 {
                sqlx::query(
                    "UPDATE exchange_messages SET status = 'accepted', updated_at = $2, error_code = NULL, error_detail = NULL WHERE id = $1",
                )
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(n)
        })?;
        if changed == 0 {
            // Unknown id, or nothing to send again.
            self.get(id).await?;
            return Err(ExchangeError::NothingToReplay(id.to_owned()));
        }
        self.audit
            .append(
                AuditEvent::new("exchange.replayed", Outcome::Success)
                    .actor(actor)
                    .target(format!("message:{id}"))
                    .details(serde_json::json!({ "deliveries": changed }))
                    .context(ctx),
            )
            .await?;
        self.wake.notify_one();
        self.get(id).await
    }

    /// Forgets payloads and translations older than `exchange.payload_retention` (the log rows
    /// stay; a message still being delivered keeps its translation).
    pub async fn purge_payloads(&self) -> Result<u64, ExchangeError> {
        let before = self.clock.now().minus(self.config.payload_retention).0;
        let n = with_pool!(self.db.write(), |p| {
            // The translation holds the same personal data: it goes too, except while a
            // delivery is still pending.
            sqlx::query(
                "UPDATE exchange_messages SET payload_enc = NULL, translated_enc = NULL WHERE received_at < $1 AND (payload_enc IS NOT NULL OR translated_enc IS NOT NULL) AND status <> 'accepted'",
            )
            .bind(before)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(n)
    }

    pub fn backend(&self) -> Backend {
        self.db.backend()
    }
}

enum BindValue {
    Text(String),
    Int(i64),
}

#[derive(sqlx::FromRow)]
struct MessageRowWithTranslation {
    #[sqlx(flatten)]
    row: MessageRow,
    translated_enc: Option<Vec<u8>>,
    payload_enc: Option<Vec<u8>>,
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: String,
    target: String,
    status: String,
    attempts: i64,
    next_at: i64,
    last_error: Option<String>,
    delivered_at: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::masking::mask_text;

    #[test]
    fn masking_keeps_a_recognisable_shape() {
        assert_eq!(mask_text("13800001234"), "138****1234");
        assert_eq!(mask_text("张三"), "张*");
        assert_eq!(mask_text("王小明"), "王**");
        assert_eq!(mask_text("12345678"), "12****78");
        let mut v = serde_json::json!({
            "contacts": [{"name": "张三", "phone": "13800001234"}],
            "legal_representative": "李四",
            "amount": "100.00",
        });
        mask_fields(&mut v, &["phone".into(), "legal_representative".into()]);
        assert_eq!(v["contacts"][0]["phone"], "138****1234");
        assert_eq!(v["contacts"][0]["name"], "张三");
        assert_eq!(v["legal_representative"], "李*");
        assert_eq!(v["amount"], "100.00");
    }

    #[test]
    fn message_ids_are_printable_and_bounded() {
        assert!(valid_message_id("FDN-2026-000001"));
        assert!(!valid_message_id(""));
        assert!(!valid_message_id("with space"));
        assert!(!valid_message_id(&"x".repeat(129)));
        assert!(!valid_message_id("换行"));
    }
}
