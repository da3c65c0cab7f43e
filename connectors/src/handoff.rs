//! Signed hand-off: the identity parameters a partner has agreed to receive, appended to the
//! link with a timestamp, a nonce and a signature it can verify (docs/HANDOFF.md).
//!
//! The string signed is every `hub_*` parameter but `hub_sig`, sorted by name, each written
//! `name=value` with the value percent-encoded (UTF-8, everything but `A–Z a–z 0–9 - . _ ~`),
//! joined by `&`. `hub_sig` is the lower-case hex of the HMAC-SM3 tag or of the DER SM2
//! signature (distinguishing ID `1234567812345678`). Parameters the link already had are not
//! signed: they are the administrators' constants.

use std::collections::BTreeMap;

use guomi::{Mac, Secret};
use zeroize::Zeroizing;

use crate::definition::{Param, Scheme};

/// The SM2 distinguishing ID of hand-off signatures (the GB/T 35276 default).
pub const SM2_DISTID: &str = "1234567812345678";

/// How long a partner should accept a signed link, either side of `hub_ts`.
pub const DEFAULT_WINDOW_SECS: i64 = 300;

/// Shortest HMAC secret accepted (the strength of SM4).
pub const MIN_SECRET_LEN: usize = 16;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    #[error("the HMAC-SM3 secret must be at least {MIN_SECRET_LEN} bytes")]
    SecretTooShort,
    #[error("the SM2 private key must be PEM (PKCS#8 or SEC1) or 64 hex digits")]
    Sm2KeyInvalid,
    #[error("no random numbers available")]
    Random,
}

/// The signing key of one connector.
pub enum HandoffKey {
    HmacSm3(guomi::HmacSm3),
    Sm2(guomi::Sm2Signer),
}

impl std::fmt::Debug for HandoffKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HandoffKey::HmacSm3(_) => "HandoffKey::HmacSm3([redacted])",
            HandoffKey::Sm2(_) => "HandoffKey::Sm2([redacted])",
        })
    }
}

impl HandoffKey {
    /// The key from its stored text: the shared secret itself (its UTF-8 bytes are the HMAC
    /// key), or the SM2 private key as PEM or hex of the scalar.
    pub fn from_material(scheme: Scheme, material: &str) -> Result<HandoffKey, KeyError> {
        match scheme {
            Scheme::HmacSm3 => {
                if material.len() < MIN_SECRET_LEN {
                    return Err(KeyError::SecretTooShort);
                }
                guomi::HmacSm3::new(material.as_bytes())
                    .map(HandoffKey::HmacSm3)
                    .map_err(|_| KeyError::SecretTooShort)
            }
            Scheme::Sm2 => {
                let m = material.trim();
                let signer = if m.starts_with("-----BEGIN") {
                    guomi::Sm2Signer::from_pem(m, SM2_DISTID)
                } else {
                    guomi::Sm2Signer::from_hex(m, SM2_DISTID)
                };
                signer
                    .map(HandoffKey::Sm2)
                    .map_err(|_| KeyError::Sm2KeyInvalid)
            }
        }
    }

    /// A fresh key and its stored text. For HMAC-SM3 the text is the secret to give the
    /// partner (once); for SM2 the partner gets [`HandoffKey::public_key_pem`].
    pub fn generate(scheme: Scheme) -> Result<(HandoffKey, Secret), KeyError> {
        // A random 256-bit scalar is below the SM2 group order but for a ~2^-32 chance;
        // a second draw settles it.
        for _ in 0..4 {
            let bytes = Zeroizing::new(guomi::random_vec(32).map_err(|_| KeyError::Random)?);
            let text = Zeroizing::new(hex::encode(bytes.as_slice()));
            if let Ok(key) = HandoffKey::from_material(scheme, &text) {
                return Ok((key, Secret::new(text.to_string())));
            }
        }
        Err(KeyError::Random)
    }

    pub fn scheme(&self) -> Scheme {
        match self {
            HandoffKey::HmacSm3(_) => Scheme::HmacSm3,
            HandoffKey::Sm2(_) => Scheme::Sm2,
        }
    }

    /// The public key partners verify SM2 hand-offs with.
    pub fn public_key_pem(&self) -> Option<String> {
        match self {
            HandoffKey::HmacSm3(_) => None,
            HandoffKey::Sm2(s) => s.public_key_pem().ok(),
        }
    }

    fn sign(&self, message: &[u8]) -> Result<String, KeyError> {
        match self {
            HandoffKey::HmacSm3(mac) => Ok(hex::encode(mac.tag(&[message]))),
            HandoffKey::Sm2(s) => s
                .sign_der(message)
                .map(hex::encode)
                .map_err(|_| KeyError::Random),
        }
    }
}

/// The signed-in user, as far as a hand-off may describe them.
#[derive(Clone, Debug)]
pub struct Subject {
    /// Pseudonymous, per connector (the hub derives it; never the account id itself).
    pub sub: String,
    /// `personal` or `legal_person`.
    pub kind: String,
    /// The person's name, or the company's.
    pub name: String,
    pub uscc: Option<String>,
    pub agent: Option<String>,
}

impl Subject {
    fn value(&self, p: Param) -> Option<&str> {
        match p {
            Param::Sub => Some(&self.sub),
            Param::Kind => Some(&self.kind),
            Param::Name => Some(&self.name),
            Param::Uscc => self.uscc.as_deref(),
            Param::Agent => self.agent.as_deref(),
        }
    }
}

/// The percent-encoding of signed values: everything but RFC 3986's unreserved characters.
const VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The string a hand-off signature covers (see the module documentation).
pub fn canonical(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .filter(|(k, _)| k.starts_with("hub_") && k.as_str() != "hub_sig")
        .map(|(k, v)| format!("{k}={}", percent_encoding::utf8_percent_encode(v, VALUE)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `url` with the hand-off parameters of `subject` appended and signed. Parameters the subject
/// lacks (a person has no credit code) are left out, not sent empty.
pub fn sign(
    url: &url::Url,
    connector: &str,
    key: &HandoffKey,
    params: &[Param],
    subject: &Subject,
    now_secs: i64,
    nonce: &str,
) -> Result<url::Url, KeyError> {
    let mut signed = BTreeMap::new();
    for p in params {
        if let Some(v) = subject.value(*p) {
            signed.insert(p.query_name().to_owned(), v.to_owned());
        }
    }
    signed.insert("hub_connector".into(), connector.to_owned());
    signed.insert("hub_ts".into(), now_secs.to_string());
    signed.insert("hub_nonce".into(), nonce.to_owned());
    signed.insert("hub_alg".into(), key.scheme().algorithm().to_owned());
    let sig = key.sign(canonical(&signed).as_bytes())?;
    let mut out = url.clone();
    {
        let mut q = out.query_pairs_mut();
        for (k, v) in &signed {
            q.append_pair(k, v);
        }
        q.append_pair("hub_sig", &sig);
    }
    Ok(out)
}

/// Why a partner should refuse a hand-off.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    #[error("the hand-off parameter {0} is missing")]
    Missing(&'static str),
    #[error("the hand-off parameter {0} appears twice")]
    Repeated(String),
    #[error("the hand-off is for connector {0}, not this one")]
    WrongConnector(String),
    #[error("the algorithm {0} is not the agreed one")]
    WrongAlgorithm(String),
    #[error("the hand-off is outside the accepted time window")]
    Stale,
    #[error("the signature does not verify")]
    SignatureInvalid,
}

/// What a verified hand-off says, by parameter name (`hub_sub`, `hub_name`, …).
pub type Verified = BTreeMap<String, String>;

/// Checks a hand-off as a partner must (the reference for partners' implementations, and what
/// the sandbox platform runs): the connector code, the algorithm, `|now − hub_ts| ≤ window`,
/// the signature. Remembering `hub_nonce` for the window is the partner's part.
pub fn verify(
    query: &[(String, String)],
    connector: &str,
    scheme: Scheme,
    check: &dyn Fn(&[u8], &[u8]) -> bool,
    now_secs: i64,
    window_secs: i64,
) -> Result<Verified, VerifyError> {
    let mut params = BTreeMap::new();
    for (k, v) in query.iter().filter(|(k, _)| k.starts_with("hub_")) {
        if params.insert(k.clone(), v.clone()).is_some() {
            return Err(VerifyError::Repeated(k.clone()));
        }
    }
    let get = |name: &'static str| params.get(name).ok_or(VerifyError::Missing(name));
    let sig = hex::decode(get("hub_sig")?).map_err(|_| VerifyError::SignatureInvalid)?;
    if get("hub_connector")? != connector {
        return Err(VerifyError::WrongConnector(get("hub_connector")?.clone()));
    }
    if get("hub_alg")? != scheme.algorithm() {
        return Err(VerifyError::WrongAlgorithm(get("hub_alg")?.clone()));
    }
    get("hub_nonce")?;
    let ts: i64 = get("hub_ts")?.parse().map_err(|_| VerifyError::Stale)?;
    if (now_secs - ts).abs() > window_secs {
        return Err(VerifyError::Stale);
    }
    if !check(canonical(&params).as_bytes(), &sig) {
        return Err(VerifyError::SignatureInvalid);
    }
    params.remove("hub_sig");
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject() -> Subject {
        Subject {
            sub: "p-7f3a".into(),
            kind: "legal_person".into(),
            name: "龙岩示例贸易有限公司".into(),
            uscc: Some("91350800MA0000000X".into()),
            agent: Some("张 三".into()),
        }
    }

    fn pairs(u: &url::Url) -> Vec<(String, String)> {
        u.query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    #[test]
    fn hmac_handoff_round_trips_and_any_change_breaks_it() {
        let key =
            HandoffKey::from_material(Scheme::HmacSm3, "a-secret-shared-with-the-partner").unwrap();
        let mac = guomi::HmacSm3::new(b"a-secret-shared-with-the-partner").unwrap();
        let check = |m: &[u8], s: &[u8]| mac.verify(&[m], s);
        let base = url::Url::parse("https://partner.example.cn/entry?from=longyan").unwrap();
        let params = [Param::Sub, Param::Name, Param::Uscc, Param::Agent];
        let u = sign(
            &base,
            "mediation",
            &key,
            &params,
            &subject(),
            1_800_000_000,
            "n1",
        )
        .unwrap();
        let q = pairs(&u);
        assert_eq!(q[0], ("from".into(), "longyan".into()));
        assert!(!q.iter().any(|(k, _)| k == "hub_kind"), "not configured");
        let ok = verify(&q, "mediation", Scheme::HmacSm3, &check, 1_800_000_100, 300).unwrap();
        assert_eq!(ok["hub_name"], "龙岩示例贸易有限公司");
        assert_eq!(ok["hub_agent"], "张 三");

        // Tampering with any signed value, the time window, the audience or the algorithm.
        let mut t = q.clone();
        t.iter_mut().find(|(k, _)| k == "hub_name").unwrap().1 = "别的公司".into();
        assert_eq!(
            verify(&t, "mediation", Scheme::HmacSm3, &check, 1_800_000_000, 300),
            Err(VerifyError::SignatureInvalid)
        );
        assert_eq!(
            verify(&q, "mediation", Scheme::HmacSm3, &check, 1_800_000_301, 300),
            Err(VerifyError::Stale)
        );
        assert!(matches!(
            verify(&q, "carbon", Scheme::HmacSm3, &check, 1_800_000_000, 300),
            Err(VerifyError::WrongConnector(_))
        ));
        assert!(matches!(
            verify(&q, "mediation", Scheme::Sm2, &check, 1_800_000_000, 300),
            Err(VerifyError::WrongAlgorithm(_))
        ));
        let mut dup = q.clone();
        dup.push(("hub_sub".into(), "other".into()));
        assert!(matches!(
            verify(
                &dup,
                "mediation",
                Scheme::HmacSm3,
                &check,
                1_800_000_000,
                300
            ),
            Err(VerifyError::Repeated(_))
        ));
        let other = guomi::HmacSm3::new(b"another-secret-of-enough-length").unwrap();
        assert_eq!(
            verify(
                &q,
                "mediation",
                Scheme::HmacSm3,
                &|m: &[u8], s: &[u8]| other.verify(&[m], s),
                1_800_000_000,
                300
            ),
            Err(VerifyError::SignatureInvalid)
        );
    }

    #[test]
    fn sm2_handoff_verifies_with_the_public_key_only() {
        let (key, material) = HandoffKey::generate(Scheme::Sm2).unwrap();
        assert_eq!(material.expose().len(), 64);
        let pem = key.public_key_pem().unwrap();
        let verifier = guomi::Sm2Verifier::from_pem(&pem, SM2_DISTID).unwrap();
        let check = |m: &[u8], s: &[u8]| verifier.verify(m, s);
        let base = url::Url::parse("https://partner.example.cn/").unwrap();
        let u = sign(
            &base,
            "carbon",
            &key,
            &[Param::Sub, Param::Kind],
            &subject(),
            100,
            "n",
        )
        .unwrap();
        assert!(verify(&pairs(&u), "carbon", Scheme::Sm2, &check, 100, 300).is_ok());
        // The stored text gives back the same key.
        let again = HandoffKey::from_material(Scheme::Sm2, material.expose()).unwrap();
        assert_eq!(again.public_key_pem().unwrap(), pem);
    }

    /// The worked example of docs/HANDOFF.md, so that the document cannot drift from the code.
    #[test]
    fn documented_example() {
        let mut p = BTreeMap::new();
        for (k, v) in [
            ("hub_sub", "c1d2e3f4a5b6c7d8"),
            ("hub_name", "张三"),
            ("hub_connector", "mediation"),
            ("hub_ts", "1795000000"),
            ("hub_nonce", "5f1d3a9e0b7c4e21a8d6f0b3c2e1d4a7"),
            ("hub_alg", "HMAC-SM3"),
        ] {
            p.insert(k.to_owned(), v.to_owned());
        }
        let c = canonical(&p);
        assert_eq!(
            c,
            "hub_alg=HMAC-SM3&hub_connector=mediation&hub_name=%E5%BC%A0%E4%B8%89&hub_nonce=5f1d3a9e0b7c4e21a8d6f0b3c2e1d4a7&hub_sub=c1d2e3f4a5b6c7d8&hub_ts=1795000000"
        );
        let mac = guomi::HmacSm3::new(b"demo-handoff-secret-0123456789").unwrap();
        let doc = include_str!("../../docs/HANDOFF.md");
        let sig = hex::encode(mac.tag(&[c.as_bytes()]));
        assert!(
            doc.contains(&c),
            "docs/HANDOFF.md shows another canonical string"
        );
        assert!(
            doc.contains(&sig),
            "docs/HANDOFF.md shows another signature: {sig}"
        );
    }

    #[test]
    fn short_secrets_and_bad_keys_are_refused() {
        assert!(matches!(
            HandoffKey::from_material(Scheme::HmacSm3, "short"),
            Err(KeyError::SecretTooShort)
        ));
        assert!(matches!(
            HandoffKey::from_material(Scheme::Sm2, "not a key"),
            Err(KeyError::Sm2KeyInvalid)
        ));
        let (k, s) = HandoffKey::generate(Scheme::HmacSm3).unwrap();
        assert_eq!(k.scheme(), Scheme::HmacSm3);
        assert!(s.expose().len() >= MIN_SECRET_LEN);
        assert!(!format!("{k:?}").contains(s.expose()));
    }
}
