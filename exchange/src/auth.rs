//! How a partner system proves who it is (docs/EXCHANGE.md):
//!
//! - `hmac-sha256`: the gateway signature of PROTOCOLS.md §4 — HMAC-SHA256 over
//!   `METHOD\nPATH\nsorted-query\nACCESS-KEY\nDATE\n` followed by the hex SHA-256 of the body,
//!   sent as `X-Signature` (lower-case hex) with `X-Access-Key` and `X-Date`; the date may be at
//!   most `exchange.clock_skew` (±90 s) from the hub's clock. The body digest is the hub's
//!   addition to the gateway shape: without it a signature would not cover the message.
//! - `sm2`: the same string, with the body's SM3 digest, signed with the partner's SM2 key
//!   (SM3, distinguishing ID `1234567812345678`), `X-Signature` the hex of the DER signature.
//! - `token`: `Authorization: Bearer <token>`, compared by SM3 digest in constant time.
//!
//! A captured request replayed within the skew window carries the same message id, so
//! idempotent intake answers it with the first acknowledgement and applies nothing twice.

use hmac::{KeyInit, Mac};
use http::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use platform::clock::Millis;
use platform::config::Secret;

/// Why a request is not the partner's. Said to the partner only as "authentication failed",
/// recorded in full in the audit trail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthFailure {
    UnknownPartner,
    MissingCredentials,
    WrongAccessKey,
    DateInvalid,
    DateOutOfWindow,
    SignatureInvalid,
    TokenInvalid,
    /// The partner must present one of its client certificates (mutual TLS) and did not.
    ClientCertificate,
}

impl AuthFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthFailure::UnknownPartner => "unknown_partner",
            AuthFailure::MissingCredentials => "missing_credentials",
            AuthFailure::WrongAccessKey => "wrong_access_key",
            AuthFailure::DateInvalid => "date_invalid",
            AuthFailure::DateOutOfWindow => "date_out_of_window",
            AuthFailure::SignatureInvalid => "signature_invalid",
            AuthFailure::TokenInvalid => "token_invalid",
            AuthFailure::ClientCertificate => "client_certificate",
        }
    }
}

/// What a signature covers.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

/// The query's `name=value` pairs as sent (still percent-encoded), sorted, joined with `&`.
pub fn sorted_query(query: Option<&str>) -> String {
    let mut pairs: Vec<&str> = query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .collect();
    pairs.sort_unstable();
    pairs.join("&")
}

/// The string both signature schemes sign; `body_digest` is the hex digest of the body.
pub fn string_to_sign(
    method: &str,
    path: &str,
    query: Option<&str>,
    access_key: &str,
    date: &str,
    body_digest: &str,
) -> String {
    format!(
        "{}\n{path}\n{}\n{access_key}\n{date}\n{body_digest}",
        method.to_ascii_uppercase(),
        sorted_query(query)
    )
}

/// A date as the gateway sends it: RFC 3339 or Unix seconds.
fn parse_date(text: &str) -> Option<Millis> {
    if let Ok(secs) = text.parse::<i64>() {
        return secs.checked_mul(1000).map(Millis);
    }
    Millis::parse_rfc3339(text)
}

pub fn hmac_sha256_hex(secret: &[u8], message: &[u8]) -> String {
    // HMAC takes keys of any length: this never fails, and an empty string never matches.
    let Ok(mut mac) = hmac::Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// The `X-Signature` a partner sends with `auth = "hmac-sha256"` (for partners' developers, the
/// demo partner and tests).
pub fn sign_hmac_sha256(
    secret: &str,
    method: &str,
    path: &str,
    query: Option<&str>,
    access_key: &str,
    date: &str,
    body: &[u8],
) -> String {
    let digest = hex::encode(Sha256::digest(body));
    let s = string_to_sign(method, path, query, access_key, date, &digest);
    hmac_sha256_hex(secret.as_bytes(), s.as_bytes())
}

/// Checks the request's credentials against the partner's.
pub fn verify(
    auth: &PartnerAuth,
    req: &SignedRequest<'_>,
    now: Millis,
    skew: std::time::Duration,
) -> Result<(), AuthFailure> {
    match auth {
        PartnerAuth::Token { digest } => {
            let given = header(req.headers, "authorization")
                .and_then(|v| v.strip_prefix("Bearer "))
                .ok_or(AuthFailure::MissingCredentials)?;
            let d = guomi::sm3(given.trim().as_bytes());
            if bool::from(d.ct_eq(digest)) {
                Ok(())
            } else {
                Err(AuthFailure::TokenInvalid)
            }
        }
        PartnerAuth::HmacSha256 { access_key, secret } => {
            let (date, signature) = signed_headers(req, access_key, now, skew)?;
            let expected = sign_hmac_sha256(
                secret.expose(),
                req.method,
                req.path,
                req.query,
                access_key,
                date,
                req.body,
            );
            if bool::from(
                expected
                    .as_bytes()
                    .ct_eq(signature.to_ascii_lowercase().as_bytes()),
            ) {
                Ok(())
            } else {
                Err(AuthFailure::SignatureInvalid)
            }
        }
        PartnerAuth::Sm2 {
            access_key,
            verifier,
        } => {
            let (date, signature) = signed_headers(req, access_key, now, skew)?;
            let body = hex::encode(guomi::sm3(req.body));
            let s = string_to_sign(req.method, req.path, req.query, access_key, date, &body);
            if verifier.verify_hex(s.as_bytes(), signature) {
                Ok(())
            } else {
                Err(AuthFailure::SignatureInvalid)
            }
        }
    }
}

/// The date and signature headers, after checking the access key and the date's window.
fn signed_headers<'a>(
    req: &SignedRequest<'a>,
    access_key: &str,
    now: Millis,
    skew: std::time::Duration,
) -> Result<(&'a str, &'a str), AuthFailure> {
    let (Some(key), Some(date), Some(signature)) = (
        header(req.headers, "x-access-key"),
        header(req.headers, "x-date"),
        header(req.headers, "x-signature"),
    ) else {
        return Err(AuthFailure::MissingCredentials);
    };
    if !bool::from(key.as_bytes().ct_eq(access_key.as_bytes())) {
        return Err(AuthFailure::WrongAccessKey);
    }
    let at = parse_date(date).ok_or(AuthFailure::DateInvalid)?;
    let skew_ms = u64::try_from(skew.as_millis()).unwrap_or(u64::MAX);
    if at.0.abs_diff(now.0) > skew_ms {
        return Err(AuthFailure::DateOutOfWindow);
    }
    Ok((date, signature))
}

/// How a partner proves who it is.
#[derive(Clone)]
pub enum PartnerAuth {
    /// The gateway signature (PROTOCOLS.md §4) with a shared secret.
    HmacSha256 { access_key: String, secret: Secret },
    /// `Authorization: Bearer <token>`; only the token's SM3 digest is kept.
    Token { digest: [u8; 32] },
    /// The gateway string signed with the partner's SM2 key.
    Sm2 {
        access_key: String,
        verifier: std::sync::Arc<guomi::Sm2Verifier>,
    },
}

impl PartnerAuth {
    pub fn kind(&self) -> &'static str {
        match self {
            PartnerAuth::HmacSha256 { .. } => "hmac-sha256",
            PartnerAuth::Token { .. } => "token",
            PartnerAuth::Sm2 { .. } => "sm2",
        }
    }
}

impl std::fmt::Debug for PartnerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PartnerAuth({}, [redacted])", self.kind())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn post<'a>(path: &'a str, headers: &'a HeaderMap, body: &'a [u8]) -> SignedRequest<'a> {
        SignedRequest {
            method: "POST",
            path,
            query: None,
            headers,
            body,
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn the_string_to_sign_sorts_the_query_and_ends_with_the_body_digest() {
        let s = string_to_sign(
            "post",
            "/exchange/bank/t",
            Some("b=2&a=1&a=0"),
            "AK1",
            "1795000000",
            "abc",
        );
        assert_eq!(
            s,
            "POST\n/exchange/bank/t\na=0&a=1&b=2\nAK1\n1795000000\nabc"
        );
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        // RFC 4231 test case 2.
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn hmac_requests_verify_and_every_tampering_fails() {
        let auth = PartnerAuth::HmacSha256 {
            access_key: "AK1".into(),
            secret: guomi::Secret::new("0123456789abcdef0123"),
        };
        let now = Millis(1_795_000_000_000);
        let body = b"<Notice/>";
        let date = "1795000030";
        let digest = hex::encode(Sha256::digest(body));
        let sig = hmac_sha256_hex(
            b"0123456789abcdef0123",
            string_to_sign("POST", "/exchange/b/t", None, "AK1", date, &digest).as_bytes(),
        );
        let h = headers(&[
            ("x-access-key", "AK1"),
            ("x-date", date),
            ("x-signature", &sig),
        ]);
        let req = |h, body| post("/exchange/b/t", h, body);
        let skew = Duration::from_secs(90);
        assert_eq!(verify(&auth, &req(&h, body), now, skew), Ok(()));
        assert_eq!(
            verify(&auth, &req(&h, b"<Notice>x</Notice>"), now, skew),
            Err(AuthFailure::SignatureInvalid)
        );
        assert_eq!(
            verify(&auth, &req(&h, body), Millis(now.0 + 200_000), skew),
            Err(AuthFailure::DateOutOfWindow)
        );
        let other = headers(&[
            ("x-access-key", "AK2"),
            ("x-date", date),
            ("x-signature", &sig),
        ]);
        assert_eq!(
            verify(&auth, &req(&other, body), now, skew),
            Err(AuthFailure::WrongAccessKey)
        );
        // Absurd dates are refused, never an overflow.
        let far = headers(&[
            ("x-access-key", "AK1"),
            ("x-date", "-9223372036854775"),
            ("x-signature", &sig),
        ]);
        assert_eq!(
            verify(&auth, &req(&far, body), now, skew),
            Err(AuthFailure::DateOutOfWindow)
        );
        let none = headers(&[]);
        assert_eq!(
            verify(&auth, &req(&none, body), now, skew),
            Err(AuthFailure::MissingCredentials)
        );
    }

    #[test]
    fn sm2_requests_verify_with_the_partners_public_key() {
        let signer = guomi::Sm2Signer::generate().unwrap();
        let auth = PartnerAuth::Sm2 {
            access_key: "AK9".into(),
            verifier: std::sync::Arc::new(signer.verifier()),
        };
        let body = br#"{"message_id":"1"}"#;
        let date = "2026-11-29T08:00:00Z";
        let digest = hex::encode(guomi::sm3(body));
        let s = string_to_sign("POST", "/exchange/p/t", Some("x=1"), "AK9", date, &digest);
        let sig = hex::encode(signer.sign_der(s.as_bytes()).unwrap());
        let h = headers(&[
            ("x-access-key", "AK9"),
            ("x-date", date),
            ("x-signature", &sig),
        ]);
        let req = SignedRequest {
            method: "POST",
            path: "/exchange/p/t",
            query: Some("x=1"),
            headers: &h,
            body,
        };
        let now = Millis::parse_rfc3339("2026-11-29T08:01:00Z").unwrap();
        assert_eq!(verify(&auth, &req, now, Duration::from_secs(90)), Ok(()));
        let tampered = SignedRequest {
            query: Some("x=2"),
            ..req
        };
        assert_eq!(
            verify(&auth, &tampered, now, Duration::from_secs(90)),
            Err(AuthFailure::SignatureInvalid)
        );
    }

    #[test]
    fn tokens_compare_by_digest() {
        let auth = PartnerAuth::Token {
            digest: guomi::sm3(b"a-partner-token-of-enough-length"),
        };
        let ok = headers(&[("authorization", "Bearer a-partner-token-of-enough-length")]);
        let bad = headers(&[("authorization", "Bearer another-token-of-enough-length")]);
        let req = |h| post("/", h, b"");
        let now = Millis(0);
        assert_eq!(
            verify(&auth, &req(&ok), now, Duration::from_secs(90)),
            Ok(())
        );
        assert_eq!(
            verify(&auth, &req(&bad), now, Duration::from_secs(90)),
            Err(AuthFailure::TokenInvalid)
        );
    }
}
