//! Messages the hub sends to partner systems. An internal system posts the message as JSON; the
//! hub validates it against the message type's mapping, translates it to the partner's XML
//! (SOAP envelope, Base64 HEAD/BODY blocks sealed with the partner's SM4 key, GBK — whatever the
//! mapping says), records it, and the outbox delivers it (`outbox.rs`), signed the way the
//! partner requires (`OutboundAuth`), with the receipt id as `Idempotency-Key`: retried with
//! backoff, dead-lettered after `exchange.max_attempts`, replayable, and delivered exactly once
//! to a partner that honours the key. Idempotent by message id like intake: the same message
//! again gets the first receipt.

use http::HeaderMap;
use serde_json::Value;

use crate::config::{OutboundAuth, PartnerConfig};
use crate::error::ExchangeError;
use crate::gateway::{CredentialsUnavailable, GATEWAY_TOKEN_TTL_MS};
use crate::intake;
use crate::message::{
    Format, Receipt, aad, correlation_id, header_message_id, valid_message_id, with_partner_codec,
};
use crate::service::Exchange;
use platform::audit::{Actor, AuditEvent, Outcome};
use platform::context::RequestContext;

/// A message an internal system asks the hub to send.
pub struct Outgoing<'a> {
    pub partner: &'a str,
    pub message_type: &'a str,
    pub headers: &'a HeaderMap,
    pub body: axum::body::Bytes,
}

impl Exchange {
    /// Accepts a message for a partner: validated, translated to its XML, recorded with its
    /// delivery, acknowledged (`202`). The same message id again gets the first receipt.
    pub async fn send(
        &self,
        out: Outgoing<'_>,
        actor: Actor,
        ctx: &RequestContext,
    ) -> Result<Receipt, ExchangeError> {
        let now = self.clock.now();
        let partner = self
            .partner(out.partner)
            .ok_or_else(|| ExchangeError::PartnerNotFound(out.partner.to_owned()))?;
        if !partner.enabled {
            return Err(ExchangeError::PartnerDisabled(partner.id.clone()));
        }
        let Some(outbound) = &partner.outbound else {
            return Err(ExchangeError::PartnerNotReceiving(partner.id.clone()));
        };
        let Some(mapping) = self.config.catalog.for_message_type(out.message_type) else {
            return Err(ExchangeError::UnknownMessageType(
                out.message_type.to_owned(),
            ));
        };
        if !outbound.message_types.iter().any(|t| t == out.message_type) {
            return Err(ExchangeError::MessageTypeNotAllowed(
                out.message_type.to_owned(),
            ));
        }
        if Format::of(out.headers) != Some(Format::Json) {
            return Err(ExchangeError::UnsupportedMediaType);
        }
        let value = self
            .translate(mapping, Format::Json, out.body.clone())
            .await?;
        // The sender is authenticated (an administrator's token), so its header is believed.
        let message_id = match (header_message_id(out.headers), mapping.message_id(&value)) {
            (Some(h), Some(o)) if h != o => return Err(ExchangeError::MessageIdMismatch),
            (Some(h), _) => h,
            (None, Some(o)) => o,
            (None, None) => return Err(ExchangeError::MessageIdMissing),
        };
        if !valid_message_id(&message_id) {
            return Err(ExchangeError::MessageIdInvalid);
        }
        let xml = with_partner_codec(mapping, &partner)
            .json_to_xml(&value)
            .map_err(|e| match e {
                // Our key or the partner's settings, not the sender's message.
                mappings::Error::SignatureInvalid { detail } => ExchangeError::Sealing(detail),
                mappings::Error::PayloadInvalid { detail, .. } => ExchangeError::Sealing(detail),
                other => ExchangeError::Mapping(other),
            })?;
        let receipt_id = uuid::Uuid::now_v7().to_string();
        let ack = serde_json::json!({
            "message_id": message_id,
            "message_type": out.message_type,
            "partner": partner.id,
            "receipt_id": receipt_id,
            "status": "accepted",
            "accepted_at": now.to_rfc3339(),
        })
        .to_string();
        let encrypt = |bytes: &[u8], what: &str| {
            self.keys
                .data
                .encrypt(bytes, &aad(&receipt_id, what))
                .map_err(ExchangeError::Crypto)
        };
        let row = intake::NewMessage {
            id: receipt_id.clone(),
            partner: partner.id.clone(),
            direction: "outbound",
            message_id: message_id.clone(),
            message_type: out.message_type.to_owned(),
            mapping: format!("{}@{}", mapping.name(), mapping.version()),
            format: Format::Json.as_str(),
            now: now.0,
            request_id: ctx.request_id.clone(),
            correlation_id: correlation_id(out.headers, ctx),
            size: i64::try_from(out.body.len()).unwrap_or(i64::MAX),
            payload_digest: hex::encode(guomi::sm3(&out.body)),
            payload_enc: encrypt(&out.body, "payload")?,
            translated_enc: encrypt(&xml, "translated")?,
            ack,
            ack_type: "application/json",
            deliver_to: Some(outbound.url.as_str().to_owned()),
        };
        // Who asked to send what is recorded first: if the audit trail cannot take it, nothing is
        // stored and nothing goes out (503). Every request that gets this far is recorded, a
        // resend or a reused id included (the details say which receipt it was given).
        self.audit
            .append(
                AuditEvent::new("exchange.message_submitted", Outcome::Success)
                    .actor(actor)
                    .target(format!("partner:{}", partner.id))
                    .details(serde_json::json!({
                        "message_type": out.message_type,
                        "message_id": message_id,
                        "receipt_id": receipt_id,
                    }))
                    .context(ctx),
            )
            .await?;
        let receipt = self.intake.store(row).await?;
        if receipt.other_content {
            return Err(ExchangeError::MessageIdReused(receipt.receipt_id));
        }
        if receipt.duplicate {
            self.metrics.exchange(&partner.id, "duplicate");
            return Ok(receipt);
        }
        self.metrics.exchange(&partner.id, "sent");
        self.wake.notify_one();
        Ok(receipt)
    }

    /// The headers that authenticate the hub to `partner` for a POST of `body` to `url`;
    /// `Err` says why none can be made now (a gateway token could not be obtained).
    pub(super) async fn outbound_credentials(
        &self,
        client: &outbound::Client,
        partner: &PartnerConfig,
        auth: &OutboundAuth,
        url: &url::Url,
        body: &[u8],
    ) -> Result<Vec<(&'static str, String)>, CredentialsUnavailable> {
        match auth {
            OutboundAuth::None => Ok(Vec::new()),
            OutboundAuth::HmacSha256 { access_key, secret } => {
                let date = (self.clock.now().0 / 1000).to_string();
                let signature = crate::auth::sign_hmac_sha256(
                    secret.expose(),
                    "POST",
                    url.path(),
                    url.query(),
                    access_key,
                    &date,
                    body,
                );
                Ok(vec![
                    ("x-access-key", access_key.clone()),
                    ("x-date", date),
                    ("x-signature", signature),
                ])
            }
            OutboundAuth::Token(token) => Ok(vec![(
                "authorization",
                format!("Bearer {}", token.expose().trim()),
            )]),
            OutboundAuth::GatewayToken {
                token_url,
                app_key,
                app_code,
            } => {
                let token = self
                    .gateway_token(client, &partner.id, token_url, app_key, app_code.expose())
                    .await?;
                Ok(vec![("authorization", format!("Basic {token}"))])
            }
        }
    }

    /// A token from the gateway's `get-token`, kept until it expires. One request at a time
    /// asks the gateway (gateways that invalidate the previous token on each issue would
    /// otherwise refuse the deliveries that raced for one); the others then find it cached.
    async fn gateway_token(
        &self,
        client: &outbound::Client,
        partner: &str,
        token_url: &url::Url,
        app_key: &str,
        app_code: &str,
    ) -> Result<String, CredentialsUnavailable> {
        // Keyed by the settings too: new settings never use a token obtained with old ones.
        let key = format!(
            "{partner}\n{token_url}\n{app_key}\n{}",
            hex::encode(guomi::sm3(app_code.as_bytes()))
        );
        let cached = |now: i64| {
            self.gateway_tokens
                .get(&key)
                .filter(|(_, until)| *until > now)
                .map(|(t, _)| t)
        };
        if let Some(t) = cached(self.clock.now().0) {
            return Ok(t);
        }
        let _turn = self.gateway_tokens.turn.lock().await;
        let now = self.clock.now().0;
        if let Some(t) = cached(now) {
            return Ok(t);
        }
        let failed = |reason: String| CredentialsUnavailable {
            reason,
            deferrable: false,
        };
        let timestamp = now.to_string();
        let sign = hex::encode(<md5::Md5 as md5::Digest>::digest(
            format!("{app_code}{timestamp}").as_bytes(),
        ));
        let res = client
            .get(token_url.as_str())
            .query(&[
                ("app_key", app_key),
                ("timestamp", timestamp.as_str()),
                ("sign", sign.as_str()),
            ])
            .send()
            .await
            .map_err(|e| CredentialsUnavailable {
                deferrable: matches!(
                    e,
                    outbound::Error::CircuitOpen { .. } | outbound::Error::Saturated { .. }
                ),
                reason: format!("the gateway's get-token failed: {e}"),
            })?;
        if !res.status().is_success() {
            return Err(failed(format!(
                "the gateway's get-token answered HTTP {}",
                res.status().as_u16()
            )));
        }
        let v: Value = res
            .json()
            .map_err(|_| failed("the gateway's get-token did not answer JSON".to_owned()))?;
        let found = |pointers: &[&str]| pointers.iter().find_map(|p| v.pointer(p).cloned());
        let token = found(&[
            "/data/token",
            "/token",
            "/data/access_token",
            "/access_token",
        ])
        .and_then(|t| t.as_str().map(str::to_owned))
        .filter(|t| !t.is_empty() && t.bytes().all(|b| (0x21..0x7f).contains(&b)))
        .ok_or_else(|| failed("the gateway's get-token answer holds no token".to_owned()))?;
        let ttl_ms = found(&["/data/expires_in", "/expires_in"])
            .and_then(|e| e.as_i64().or_else(|| e.as_str()?.parse().ok()))
            .filter(|s| *s > 0)
            // A little early, so that a token never expires on its way.
            .map_or(GATEWAY_TOKEN_TTL_MS, |s| {
                s.saturating_mul(1000).saturating_sub(30_000).max(1_000)
            });
        self.gateway_tokens
            .put(&key, partner, token.clone(), now.saturating_add(ttl_ms));
        Ok(token)
    }

    /// Forgets the partner's gateway token `refused` (the partner refused it); a newer one
    /// that another delivery obtained meanwhile stays.
    pub(super) fn drop_gateway_token(&self, partner: &str, refused: &str) {
        self.gateway_tokens.forget(partner, refused);
    }
}

/// The content type of an XML message the hub sends: SOAP 1.1 as `text/xml`, others as
/// `application/xml`, with the charset of the document's declaration.
pub(super) fn xml_content_type(xml: &[u8], envelope: mappings::Envelope) -> String {
    // Only the declaration, which is ASCII whatever the document's encoding.
    let head = &xml[..xml.len().min(200)];
    let decl_end = head
        .windows(2)
        .position(|w| w == b"?>")
        .map_or(0, |i| i + 2);
    let charset = std::str::from_utf8(&head[..decl_end])
        .ok()
        .and_then(|h| {
            let decl = h.strip_prefix("<?xml")?;
            let decl = &decl[..decl.find("?>")?];
            let at = decl.find("encoding")?;
            let rest = decl[at + "encoding".len()..]
                .trim_start()
                .strip_prefix('=')?;
            let rest = rest.trim_start();
            let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
            let value = &rest[1..];
            Some(value[..value.find(quote)?].to_owned())
        })
        .unwrap_or_else(|| "UTF-8".to_owned());
    let kind = match envelope {
        mappings::Envelope::Soap11 => "text/xml",
        _ => "application/xml",
    };
    format!("{kind}; charset={charset}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_content_type_carries_the_declared_charset() {
        assert_eq!(
            xml_content_type(
                b"<?xml version=\"1.0\" encoding=\"GBK\"?><a/>",
                mappings::Envelope::Soap11
            ),
            "text/xml; charset=GBK"
        );
        assert_eq!(
            xml_content_type(
                b"<?xml version='1.0' encoding = 'GB18030' ?><a/>",
                mappings::Envelope::None
            ),
            "application/xml; charset=GB18030"
        );
        assert_eq!(
            xml_content_type(b"<a/>", mappings::Envelope::Base64Document),
            "application/xml; charset=UTF-8"
        );
        // Chinese text right after the declaration does not hide it.
        let (gbk, _, _) = encoding_rs::GBK
            .encode("<?xml version=\"1.0\" encoding=\"GBK\"?><a>龙岩普惠金融平台</a>");
        assert_eq!(
            xml_content_type(&gbk, mappings::Envelope::Soap11),
            "text/xml; charset=GBK"
        );
    }
}
