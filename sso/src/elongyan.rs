//! e-Longyan (e龙岩) entry: a user already signed in on the city portal arrives with either a
//! one-time ticket to exchange (ticket relay) or a signed assertion of their attributes. The
//! exact shapes are in docs/ELONGYAN.md; every name is configurable.
//!
//! Verification here is pure: signature, application id, timestamp window, decryption. The
//! caller then claims the nonce or ticket (single use), checks the target, and for a ticket
//! calls [`ElongyanSettings::redeem`].

use std::collections::BTreeMap;
use std::time::Duration;

use subtle::ConstantTimeEq;

use crate::claims::ClaimMap;
use crate::ticket::TicketExchange;
use crate::{Error, Secret};
use platform::subject::VerifiedIdentity;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryMode {
    Ticket,
    Signed,
}

/// How e-Longyan signs its entries.
#[derive(Clone)]
pub enum SignatureScheme {
    HmacSha256(Secret),
    HmacSm3(std::sync::Arc<guomi::HmacSm3>),
    Sm2(std::sync::Arc<guomi::Sm2Verifier>),
}

impl std::fmt::Debug for SignatureScheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SignatureScheme::HmacSha256(_) => "HmacSha256([redacted])",
            SignatureScheme::HmacSm3(_) => "HmacSm3([redacted])",
            SignatureScheme::Sm2(_) => "Sm2(public key)",
        })
    }
}

#[derive(Clone, Debug)]
pub struct ElongyanSettings {
    pub provider: String,
    pub app_id: String,
    pub modes: Vec<EntryMode>,
    pub signature: SignatureScheme,
    pub timestamp_window: Duration,
    pub ticket_fields: Vec<String>,
    pub signed_fields: Vec<String>,
    pub encrypted_fields: Vec<String>,
    pub sm4: Option<(std::sync::Arc<guomi::Sm4Cipher>, guomi::Sm4Mode)>,
    /// The ticket back channel (ticket relay mode).
    pub exchange: Option<TicketExchange>,
    /// Mapping of signed-assertion parameters.
    pub claims: ClaimMap,
    /// Mapping of the ticket exchange's profile.
    pub profile_claims: ClaimMap,
}

pub const DEFAULT_TICKET_FIELDS: [&str; 4] = ["appId", "ticket", "timestamp", "target"];
pub const DEFAULT_SIGNED_FIELDS: [&str; 13] = [
    "appId",
    "userId",
    "userName",
    "userType",
    "certType",
    "certNo",
    "companyName",
    "uscc",
    "agentName",
    "agentCertNo",
    "timestamp",
    "nonce",
    "target",
];
pub const DEFAULT_ENCRYPTED_FIELDS: [&str; 2] = ["certNo", "agentCertNo"];

/// A verified entry, before its single-use value is claimed.
#[derive(Debug)]
pub enum Entry {
    Ticket {
        ticket: String,
        target: String,
    },
    Signed {
        identity: Box<VerifiedIdentity>,
        nonce: String,
        target: String,
    },
}

impl Entry {
    /// The value that must be used once (ticket or nonce).
    pub fn single_use(&self) -> (&'static str, &str) {
        match self {
            Entry::Ticket { ticket, .. } => ("ticket", ticket),
            Entry::Signed { nonce, .. } => ("nonce", nonce),
        }
    }

    pub fn target(&self) -> &str {
        match self {
            Entry::Ticket { target, .. } | Entry::Signed { target, .. } => target,
        }
    }
}

impl ElongyanSettings {
    /// Verifies the entry's parameters at time `now_ms` (milliseconds since the epoch).
    pub fn verify(&self, params: &[(String, String)], now_ms: i64) -> Result<Entry, Error> {
        let mut map: BTreeMap<&str, &str> = BTreeMap::new();
        for (k, v) in params {
            if map.insert(k.as_str(), v.as_str()).is_some() {
                return Err(Error::EntryInvalid {
                    reason: format!("parameter `{k}` is given twice"),
                });
            }
        }
        let mode = if map.contains_key("ticket") {
            EntryMode::Ticket
        } else {
            EntryMode::Signed
        };
        if !self.modes.contains(&mode) {
            return Err(Error::EntryInvalid {
                reason: format!(
                    "the {} mode is not enabled for this provider",
                    if mode == EntryMode::Ticket {
                        "ticket"
                    } else {
                        "signed"
                    }
                ),
            });
        }
        let get = |k: &str| map.get(k).copied().unwrap_or("");
        let sign = map
            .get("sign")
            .copied()
            .ok_or_else(|| Error::EntryInvalid {
                reason: "parameter `sign` is missing".into(),
            })?;
        let fields = match mode {
            EntryMode::Ticket => &self.ticket_fields,
            EntryMode::Signed => &self.signed_fields,
        };
        let signing_string = fields
            .iter()
            .map(|f| format!("{f}={}", get(f)))
            .collect::<Vec<_>>()
            .join("&");
        if !self.signature_ok(signing_string.as_bytes(), sign) {
            return Err(Error::SignatureInvalid);
        }
        // Checked after the signature: an unsigned claim of the application is no claim.
        if get("appId") != self.app_id {
            return Err(Error::EntryInvalid {
                reason: "`appId` is not this hub's application id".into(),
            });
        }
        let ts: i64 = get("timestamp").parse().map_err(|_| Error::EntryInvalid {
            reason: "`timestamp` must be milliseconds since the epoch".into(),
        })?;
        let window = i64::try_from(self.timestamp_window.as_millis()).unwrap_or(i64::MAX);
        if (now_ms - ts).abs() > window {
            return Err(Error::TimestampStale);
        }
        let target = get("target").to_owned();
        match mode {
            EntryMode::Ticket => {
                let ticket = get("ticket");
                if ticket.is_empty() || ticket.len() > 512 {
                    return Err(Error::EntryInvalid {
                        reason: "`ticket` is empty or too long".into(),
                    });
                }
                Ok(Entry::Ticket {
                    ticket: ticket.to_owned(),
                    target,
                })
            }
            EntryMode::Signed => {
                let nonce = get("nonce");
                if nonce.len() < 8 || nonce.len() > 128 {
                    return Err(Error::EntryInvalid {
                        reason: "`nonce` must have 8 to 128 characters".into(),
                    });
                }
                let mut doc = serde_json::Map::new();
                for (k, v) in &map {
                    let value = if self.encrypted_fields.iter().any(|f| f == k) && !v.is_empty() {
                        self.decrypt(k, v)?
                    } else {
                        (*v).to_owned()
                    };
                    doc.insert((*k).to_owned(), serde_json::Value::String(value));
                }
                let identity = self
                    .claims
                    .apply(&self.provider, &serde_json::Value::Object(doc))?;
                Ok(Entry::Signed {
                    identity: Box::new(identity),
                    nonce: nonce.to_owned(),
                    target,
                })
            }
        }
    }

    fn signature_ok(&self, message: &[u8], sign: &str) -> bool {
        match &self.signature {
            SignatureScheme::HmacSha256(secret) => {
                use hmac::{KeyInit, Mac};
                let Ok(mut mac) =
                    hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.expose().as_bytes())
                else {
                    return false;
                };
                mac.update(message);
                let expected = mac.finalize().into_bytes();
                hex::decode(sign.trim())
                    .is_ok_and(|given| bool::from(expected.as_slice().ct_eq(&given)))
            }
            SignatureScheme::HmacSm3(key) => hex::decode(sign.trim())
                .is_ok_and(|given| guomi::Mac::verify(key.as_ref(), &[message], &given)),
            SignatureScheme::Sm2(verifier) => {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD
                    .decode(sign.trim())
                    .is_ok_and(|sig| guomi::Verifier::verify(verifier.as_ref(), message, &sig))
            }
        }
    }

    fn decrypt(&self, field: &str, value: &str) -> Result<String, Error> {
        use base64::Engine;
        let invalid = || Error::EntryInvalid {
            reason: format!("`{field}` cannot be decrypted with the configured SM4 key"),
        };
        let Some((cipher, mode)) = &self.sm4 else {
            return Err(Error::Config(format!(
                "`{field}` is an encrypted field but no SM4 key is configured"
            )));
        };
        let data = base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .map_err(|_| invalid())?;
        let clear = cipher.decrypt(*mode, &data).map_err(|_| invalid())?;
        String::from_utf8(clear.to_vec()).map_err(|_| invalid())
    }

    /// Exchanges a ticket (ticket relay mode) for the verified identity.
    pub async fn redeem(
        &self,
        http: &outbound::Client,
        ticket: &str,
    ) -> Result<VerifiedIdentity, Error> {
        let exchange = self
            .exchange
            .as_ref()
            .ok_or_else(|| Error::Config("ticket mode without an exchange URL".into()))?;
        let profile = exchange.profile(http, ticket).await?;
        self.profile_claims.apply(&self.provider, &profile)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const SECRET: &str = "elongyan-demo-shared-secret";

    fn settings(signature: SignatureScheme) -> ElongyanSettings {
        ElongyanSettings {
            provider: "elongyan".into(),
            app_id: "longyan-hub-demo".into(),
            modes: vec![EntryMode::Ticket, EntryMode::Signed],
            signature,
            timestamp_window: Duration::from_secs(300),
            ticket_fields: DEFAULT_TICKET_FIELDS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            signed_fields: DEFAULT_SIGNED_FIELDS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            encrypted_fields: vec![],
            sm4: None,
            exchange: None,
            claims: ClaimMap::elongyan_assertion(),
            profile_claims: ClaimMap::provincial(),
        }
    }

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    // Reference: printf 'appId=longyan-hub-demo&ticket=T-1&timestamp=1795334400000&target=/policies' \
    //   | openssl dgst -sha256 -hmac elongyan-demo-shared-secret
    const HMAC_SHA256_TICKET: &str =
        "cc227ef6257579fe10b8562f75ae98b19f77050909749a4869635bea1cee9d10";
    // Reference: the same string through
    //   openssl mac -digest SM3 -macopt key:elongyan-demo-shared-secret HMAC
    const HMAC_SM3_TICKET: &str =
        "0d0ac7315378cde54b10d62b4a78be2338231e666db36e51dd9eb26d58a5bbbc";

    fn ticket_entry(sign: &str, ts: &str) -> Vec<(String, String)> {
        params(&[
            ("appId", "longyan-hub-demo"),
            ("ticket", "T-1"),
            ("timestamp", ts),
            ("target", "/policies"),
            ("sign", sign),
        ])
    }

    #[test]
    fn ticket_entries_verify_with_each_hmac_scheme() {
        let now = 1_795_334_400_000;
        let s = settings(SignatureScheme::HmacSha256(Secret::new(SECRET)));
        match s
            .verify(&ticket_entry(HMAC_SHA256_TICKET, "1795334400000"), now)
            .unwrap()
        {
            Entry::Ticket { ticket, target } => {
                assert_eq!((ticket.as_str(), target.as_str()), ("T-1", "/policies"))
            }
            other => panic!("{other:?}"),
        }
        let sm3 = settings(SignatureScheme::HmacSm3(Arc::new(
            guomi::HmacSm3::new(SECRET.as_bytes()).unwrap(),
        )));
        assert!(
            sm3.verify(&ticket_entry(HMAC_SM3_TICKET, "1795334400000"), now)
                .is_ok()
        );
        // Each scheme refuses the other's signature, and a tampered parameter.
        assert!(matches!(
            sm3.verify(&ticket_entry(HMAC_SHA256_TICKET, "1795334400000"), now),
            Err(Error::SignatureInvalid)
        ));
        let mut tampered = ticket_entry(HMAC_SHA256_TICKET, "1795334400000");
        tampered[3].1 = "https://evil.example/".into();
        assert!(matches!(
            s.verify(&tampered, now),
            Err(Error::SignatureInvalid)
        ));
        // Stale (6 minutes), duplicated parameters, missing signature.
        assert!(matches!(
            s.verify(
                &ticket_entry(HMAC_SHA256_TICKET, "1795334400000"),
                now + 360_000
            ),
            Err(Error::TimestampStale)
        ));
        let mut dup = ticket_entry(HMAC_SHA256_TICKET, "1795334400000");
        dup.push(("ticket".into(), "T-2".into()));
        assert!(matches!(
            s.verify(&dup, now),
            Err(Error::EntryInvalid { .. })
        ));
        let unsigned: Vec<_> = ticket_entry("x", "1")
            .into_iter()
            .filter(|(k, _)| k != "sign")
            .collect();
        assert!(matches!(
            s.verify(&unsigned, now),
            Err(Error::EntryInvalid { .. })
        ));
    }
}
