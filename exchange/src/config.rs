//! `[exchange]` and `[partners.<id>]`: the message catalog, delivery and retention, and the
//! partner systems allowed to send messages, each with its credentials and message types.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use platform::config::{HumanDuration, Layered, Secret, check_endpoint};
use serde::Deserialize;

pub use crate::auth::PartnerAuth;

/// Message exchange with partner systems.
#[derive(Clone, Debug)]
pub struct ExchangeConfig {
    /// The installed mappings: the shipped ones, or those of `exchange.catalog_dir`.
    pub catalog: Arc<mappings::Catalog>,
    /// How long raw payloads (encrypted) are kept.
    pub payload_retention: Duration,
    /// How far a signed request's date may be from the hub's clock.
    pub clock_skew: Duration,
    /// Delivery attempts before a message is dead-lettered.
    pub max_attempts: u32,
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// How long a node holds a delivery it started; after that another node (or this one,
    /// restarted) takes it over.
    pub lease: Duration,
    /// How often the delivery worker looks for due deliveries when nothing woke it.
    pub poll_interval: Duration,
    /// JSON keys whose values are masked wherever a message is shown to administrators.
    pub masked_fields: Vec<String>,
}

/// A partner system.
#[derive(Clone, Debug)]
pub struct PartnerConfig {
    pub id: String,
    pub display_name: String,
    pub enabled: bool,
    pub auth: PartnerAuth,
    /// The message types it may send.
    pub message_types: Vec<String>,
    /// Where its translated messages are delivered: the internal consumer's URL, or
    /// `internal:<name>` for a consumer in this process (`consumer.rs`); none: kept in the
    /// message log only.
    pub deliver_to: Option<url::Url>,
    /// Opens the HEAD/BODY blocks of its Base64-wrapped documents (SM4), when they are sealed.
    pub payload_codec: Option<Arc<dyn mappings::PayloadCodec>>,
    /// Whether its documents' HEAD/BODY blocks are SM4-encrypted.
    pub payload_sm4: bool,
    /// `sm2` or `hmac-sha256` when its Base64-wrapped documents are signed.
    pub payload_signature: Option<String>,
    /// Where the hub sends it messages (translated to its XML), when it receives any.
    pub outbound: Option<PartnerOutbound>,
    /// SHA-256 of the TLS client certificates it may present; when any, it must present one
    /// of them (mutual TLS, `server.tls.client_ca`) besides its signature or token.
    pub client_certificates: Vec<[u8; 32]>,
}

/// A partner's endpoint for the messages the hub sends it.
#[derive(Clone, Debug)]
pub struct PartnerOutbound {
    /// Receives each message as XML (a POST).
    pub url: url::Url,
    /// The message types the hub may send it.
    pub message_types: Vec<String>,
    pub auth: OutboundAuth,
}

/// How the hub proves who it is to a partner's endpoint.
#[derive(Clone)]
pub enum OutboundAuth {
    /// Nothing (a partner reached over a private line or mutual TLS at a proxy).
    None,
    /// The gateway signature (PROTOCOLS.md §4, with the body's digest), as partners sign theirs.
    HmacSha256 { access_key: String, secret: Secret },
    /// `Authorization: Bearer <token>`.
    Token(Secret),
    /// The Fujian government API gateway: `GET <token_url>?app_key=…&timestamp=…&sign=MD5(appCode
    /// + timestamp)` for a token, then `Authorization: Basic <token>` (PROTOCOLS.md §4).
    GatewayToken {
        token_url: url::Url,
        app_key: String,
        app_code: Secret,
    },
}

impl OutboundAuth {
    pub fn kind(&self) -> &'static str {
        match self {
            OutboundAuth::None => "none",
            OutboundAuth::HmacSha256 { .. } => "hmac-sha256",
            OutboundAuth::Token(_) => "token",
            OutboundAuth::GatewayToken { .. } => "gateway-token",
        }
    }
}

impl std::fmt::Debug for OutboundAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OutboundAuth({}, [redacted])", self.kind())
    }
}

/// A partner's Base64-wrapped documents: HEAD/BODY blocks encrypted with SM4 (PKCS#7 padding;
/// CBC with the IV first) and/or the document signed (`SIGN`, see `mappings::document`).
pub struct PartnerPayload {
    sm4: Option<(guomi::Sm4Cipher, guomi::Sm4Mode)>,
    signature: Option<PayloadSignature>,
}

/// How a partner's documents are signed.
pub enum PayloadSignature {
    /// SM2 with SM3 (ID `1234567812345678`), DER signatures: theirs verified with the partner's
    /// public key; ours made with the hub's key for this partner (when one is configured).
    Sm2 {
        verifier: Arc<guomi::Sm2Verifier>,
        signer: Option<Arc<guomi::Sm2Signer>>,
    },
    /// HMAC-SHA256 with a key shared with the partner, both ways.
    HmacSha256(Secret),
}

impl std::fmt::Debug for PartnerPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartnerPayload")
            .field("sm4", &self.sm4.is_some())
            .field(
                "signature",
                &self.signature.as_ref().map(|s| match s {
                    PayloadSignature::Sm2 { .. } => "sm2",
                    PayloadSignature::HmacSha256(_) => "hmac-sha256",
                }),
            )
            .finish()
    }
}

fn part_name(part: mappings::Part) -> &'static str {
    match part {
        mappings::Part::Head => "HEAD",
        mappings::Part::Body => "BODY",
    }
}

impl mappings::PayloadCodec for PartnerPayload {
    fn open(&self, part: mappings::Part, sealed: Vec<u8>) -> Result<Vec<u8>, mappings::Error> {
        let Some((cipher, mode)) = &self.sm4 else {
            return Ok(sealed);
        };
        cipher
            .decrypt(*mode, &sealed)
            .map(|plain| plain.to_vec())
            .map_err(|_| mappings::Error::PayloadInvalid {
                part: part_name(part),
                detail: "cannot be decrypted with the partner's SM4 key".into(),
            })
    }

    fn seal(&self, part: mappings::Part, plain: Vec<u8>) -> Result<Vec<u8>, mappings::Error> {
        let Some((cipher, mode)) = &self.sm4 else {
            return Ok(plain);
        };
        cipher
            .encrypt(*mode, &plain)
            .map_err(|e| mappings::Error::PayloadInvalid {
                part: part_name(part),
                detail: format!("cannot be encrypted: {e}"),
            })
    }

    fn verify(&self, signed: &[u8], signature: Option<&[u8]>) -> Result<(), mappings::Error> {
        let Some(scheme) = &self.signature else {
            return Ok(());
        };
        let invalid = |detail: &str| mappings::Error::SignatureInvalid {
            detail: detail.to_owned(),
        };
        let Some(signature) = signature else {
            return Err(invalid(
                "the document has no SIGN element; this partner's documents must be signed",
            ));
        };
        let ok = match scheme {
            PayloadSignature::Sm2 { verifier, .. } => verifier.verify(signed, signature),
            PayloadSignature::HmacSha256(key) => {
                let expected = crate::auth::hmac_sha256_hex(key.expose().as_bytes(), signed);
                hex::decode(expected)
                    .is_ok_and(|e| subtle::ConstantTimeEq::ct_eq(e.as_slice(), signature).into())
            }
        };
        if ok {
            Ok(())
        } else {
            Err(invalid(
                "SIGN does not verify over the HEAD and BODY blocks",
            ))
        }
    }

    fn sign(&self, signed: &[u8]) -> Result<Option<Vec<u8>>, mappings::Error> {
        let failed = |e: &dyn std::fmt::Display| mappings::Error::SignatureInvalid {
            detail: format!("the document cannot be signed: {e}"),
        };
        match &self.signature {
            None | Some(PayloadSignature::Sm2 { signer: None, .. }) => Ok(None),
            Some(PayloadSignature::Sm2 {
                signer: Some(signer),
                ..
            }) => signer.sign_der(signed).map(Some).map_err(|e| failed(&e)),
            Some(PayloadSignature::HmacSha256(key)) => {
                let mac = crate::auth::hmac_sha256_hex(key.expose().as_bytes(), signed);
                hex::decode(mac).map(Some).map_err(|e| failed(&e))
            }
        }
    }
}

/// Delivery attempts before a dead letter: with the default backoff (2 s doubling to 10 min)
/// the last one is made about 37 minutes after the first.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 12;

/// The keys every message's JSON is masked by, unless configured otherwise.
pub const DEFAULT_MASKED_FIELDS: [&str; 12] = [
    "phone",
    "mobile",
    "id_number",
    "id_card",
    "cert_no",
    "certificate_number",
    "card_no",
    "legal_representative",
    // The pinyin abbreviations of Fujian government XML: 身份证号, 证件号码, 联系电话, 手机号码.
    "sfzh",
    "zjhm",
    "lxdh",
    "sjhm",
];

fn validate_exchange(raw: RawExchange, l: &mut Layered) -> ExchangeConfig {
    let catalog = match &raw.catalog_dir {
        Some(dir) => mappings::Catalog::load_dir(dir),
        None => mappings::Catalog::builtin(),
    };
    let catalog = match catalog {
        Ok(c) => c,
        Err(e) => {
            l.problem(
                "exchange.catalog_dir",
                format!("the mappings cannot be loaded: {e}"),
            );
            mappings::Catalog::default()
        }
    };
    let d = |l: &mut Layered, key: &str, v: Option<HumanDuration>, default: Duration| match v {
        Some(v) if v.0.is_zero() => {
            l.problem(key, "must be greater than zero");
            default
        }
        Some(v) => v.0,
        None => default,
    };
    let c = ExchangeConfig {
        catalog: Arc::new(catalog),
        payload_retention: d(
            l,
            "exchange.payload_retention",
            raw.payload_retention,
            Duration::from_secs(30 * 86_400),
        ),
        clock_skew: d(
            l,
            "exchange.clock_skew",
            raw.clock_skew,
            Duration::from_secs(90),
        ),
        max_attempts: match raw.max_attempts {
            Some(0) => {
                l.problem("exchange.max_attempts", "must be at least 1");
                DEFAULT_MAX_ATTEMPTS
            }
            Some(n) => n,
            None => DEFAULT_MAX_ATTEMPTS,
        },
        retry_base: d(
            l,
            "exchange.retry_base",
            raw.retry_base,
            Duration::from_secs(2),
        ),
        retry_max: d(
            l,
            "exchange.retry_max",
            raw.retry_max,
            Duration::from_secs(600),
        ),
        lease: d(l, "exchange.lease", raw.lease, Duration::from_secs(60)),
        poll_interval: d(
            l,
            "exchange.poll_interval",
            raw.poll_interval,
            Duration::from_secs(1),
        ),
        masked_fields: raw.masked_fields.unwrap_or_else(|| {
            DEFAULT_MASKED_FIELDS
                .iter()
                .map(|s| (*s).to_owned())
                .collect()
        }),
    };
    if c.retry_base > c.retry_max {
        l.problem(
            "exchange.retry_base",
            "must not be longer than exchange.retry_max",
        );
    }
    c
}

/// A partner's settings, secrets included: the one shape of them everywhere.
///
/// - The configuration file's `[partners.<id>]` table is one (secrets may instead be given as
///   `<name>_file`, read in before this is deserialised).
/// - The administration API's create and change body is one: given fields replace, absent ones
///   are kept; `""` removes an optional setting, `[]` empties a list (see `partners::apply`).
///   `id` is given on creation only.
/// - The store keeps it split in two: the settings without secrets as JSON (secrets are never
///   serialised), and [`PartnerSettings::secrets_json`] encrypted.
///
/// [`build_partner`] turns it into a [`PartnerConfig`], reporting every problem by field.
#[derive(Clone, Default, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PartnerSettings {
    /// Creation through the API: lower-case letters, digits and single hyphens, the
    /// `{partner}` of `/exchange/{partner}/…`. Otherwise absent (the file's table name, the
    /// path's id).
    #[serde(skip_serializing)]
    pub id: Option<String>,
    pub display_name: Option<String>,
    pub enabled: Option<bool>,
    /// `hmac-sha256`, `token` or `sm2`.
    pub auth: Option<String>,
    pub access_key: Option<String>,
    /// HMAC-SHA256 shared secret (≥ 16 bytes); generated and shown once on creation when absent.
    #[serde(skip_serializing)]
    #[schema(value_type = Option<String>, write_only)]
    pub secret: Option<Secret>,
    /// Bearer token (≥ 24 characters); generated and shown once on creation when absent.
    #[serde(skip_serializing)]
    #[schema(value_type = Option<String>, write_only)]
    pub token: Option<Secret>,
    /// SM2 public key, PEM or hex (not a secret).
    pub public_key: Option<String>,
    pub message_types: Option<Vec<String>>,
    /// The consumer's URL, or `internal:<name>` for a consumer in the hub itself (e.g.
    /// `internal:market`: the marketplace applies the messages).
    pub deliver_to: Option<String>,
    /// SM4 key (32 hex digits) of the HEAD/BODY blocks of Base64-wrapped documents.
    #[serde(skip_serializing)]
    #[schema(value_type = Option<String>, write_only)]
    pub payload_sm4_key: Option<Secret>,
    /// `ecb` (default) or `cbc` (IV first).
    pub payload_sm4_mode: Option<String>,
    /// Its Base64-wrapped documents are signed (`SIGN`): `sm2` or `hmac-sha256`.
    pub payload_signature: Option<String>,
    /// `sm2`: the hub's SM2 private key for the documents it sends; `hmac-sha256`: the shared key.
    #[serde(skip_serializing)]
    #[schema(value_type = Option<String>, write_only)]
    pub payload_signing_key: Option<Secret>,
    /// SHA-256 fingerprints (hex, colons allowed) of the TLS client certificates it must present.
    pub client_certificates: Option<Vec<String>>,
    /// The partner's endpoint for messages the hub sends it (XML, POST).
    pub outbound_url: Option<String>,
    /// The message types the hub may send it.
    pub outbound_message_types: Option<Vec<String>>,
    /// `hmac-sha256`, `token`, `gateway-token` or `none`.
    pub outbound_auth: Option<String>,
    /// `hmac-sha256`: the hub's access key; `gateway-token`: the app key.
    pub outbound_access_key: Option<String>,
    /// `hmac-sha256`: the shared secret; `gateway-token`: the app code.
    #[serde(skip_serializing)]
    #[schema(value_type = Option<String>, write_only)]
    pub outbound_secret: Option<Secret>,
    /// `token`: the bearer token.
    #[serde(skip_serializing)]
    #[schema(value_type = Option<String>, write_only)]
    pub outbound_token: Option<Secret>,
    /// `gateway-token`: the gateway's `get-token` URL.
    pub outbound_token_url: Option<String>,
}

/// The settings that are secrets, by name: write-only, kept encrypted, and in the file also
/// readable from `<name>_file` (with `public_key`, which is not secret but often a file).
pub const SECRET_SETTINGS: [&str; 6] = [
    "secret",
    "token",
    "payload_sm4_key",
    "payload_signing_key",
    "outbound_secret",
    "outbound_token",
];

impl PartnerSettings {
    /// The secrets alone, as the JSON object the store keeps encrypted (absent ones left out).
    pub fn secrets_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        for (name, v) in [
            ("secret", &self.secret),
            ("token", &self.token),
            ("payload_sm4_key", &self.payload_sm4_key),
            ("payload_signing_key", &self.payload_signing_key),
            ("outbound_secret", &self.outbound_secret),
            ("outbound_token", &self.outbound_token),
        ] {
            if let Some(s) = v {
                m.insert(name.to_owned(), serde_json::Value::from(s.expose()));
            }
        }
        serde_json::Value::Object(m)
    }

    /// Takes the secrets of `other` (read back from [`PartnerSettings::secrets_json`]).
    pub fn with_secrets_of(mut self, other: PartnerSettings) -> Self {
        self.secret = other.secret;
        self.token = other.token;
        self.payload_sm4_key = other.payload_sm4_key;
        self.payload_signing_key = other.payload_signing_key;
        self.outbound_secret = other.outbound_secret;
        self.outbound_token = other.outbound_token;
        self
    }

    /// The names of the secrets this change sets (for the audit record: which, never what).
    pub fn secrets_given(&self) -> Vec<&'static str> {
        [
            ("secret", self.secret.is_some()),
            ("token", self.token.is_some()),
            ("payload_sm4_key", self.payload_sm4_key.is_some()),
            ("payload_signing_key", self.payload_signing_key.is_some()),
            ("outbound_secret", self.outbound_secret.is_some()),
            ("outbound_token", self.outbound_token.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, given)| given.then_some(k))
        .collect()
    }
}

impl std::fmt::Debug for PartnerSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartnerSettings")
            .field("auth", &self.auth)
            .field("message_types", &self.message_types)
            .finish_non_exhaustive()
    }
}

/// Checks `spec` and builds the partner; every problem is returned, by field name.
pub fn build_partner(
    id: &str,
    spec: &PartnerSettings,
    catalog: &mappings::Catalog,
) -> Result<PartnerConfig, Vec<(&'static str, String)>> {
    let mut errors: Vec<(&'static str, String)> = Vec::new();
    let message_types = spec.message_types.as_deref().unwrap_or_default();
    let pins = spec.client_certificates.as_deref().unwrap_or_default();
    if !platform::code::valid_code(id) {
        errors.push((
            "id",
            "a partner id is lower-case letters, digits and single hyphens (2–40 characters)"
                .into(),
        ));
    }
    let access_key = |errors: &mut Vec<(&'static str, String)>| match spec
        .access_key
        .as_deref()
        .map(str::trim)
    {
        Some(k) if !k.is_empty() && k.len() <= 128 => Some(k.to_owned()),
        _ => {
            errors.push((
                "access_key",
                "is required: the key id the partner sends in X-Access-Key".into(),
            ));
            None
        }
    };
    let auth = match spec.auth.as_deref() {
        Some("hmac-sha256") => {
            let key = access_key(&mut errors);
            let secret = match &spec.secret {
                Some(s) if s.expose().len() >= 16 => Some(s.clone()),
                Some(_) => {
                    errors.push((
                        "secret",
                        "the shared secret must have at least 16 bytes".into(),
                    ));
                    None
                }
                None => {
                    errors.push(("secret", "is required for `auth = \"hmac-sha256\"`".into()));
                    None
                }
            };
            key.zip(secret)
                .map(|(access_key, secret)| PartnerAuth::HmacSha256 { access_key, secret })
        }
        Some("token") => match &spec.token {
            Some(t) if t.expose().len() >= 24 => Some(PartnerAuth::Token {
                digest: guomi::sm3(t.expose().as_bytes()),
            }),
            Some(_) => {
                errors.push(("token", "the token must have at least 24 characters".into()));
                None
            }
            None => {
                errors.push(("token", "is required for `auth = \"token\"`".into()));
                None
            }
        },
        Some("sm2") => {
            let key = access_key(&mut errors);
            let verifier = match spec.public_key.as_deref() {
                Some(pem) => match guomi::Sm2Verifier::parse(pem, guomi::SM2_DEFAULT_DISTID) {
                    Ok(v) => Some(Arc::new(v)),
                    Err(e) => {
                        errors.push((
                            "public_key",
                            format!("is not an SM2 public key (PEM or hex): {e}"),
                        ));
                        None
                    }
                },
                None => {
                    errors.push(("public_key", "is required for `auth = \"sm2\"`".into()));
                    None
                }
            };
            key.zip(verifier)
                .map(|(access_key, verifier)| PartnerAuth::Sm2 {
                    access_key,
                    verifier,
                })
        }
        Some(other) => {
            errors.push((
                "auth",
                format!("`{other}` is not `hmac-sha256`, `token` or `sm2`"),
            ));
            None
        }
        None => {
            errors.push((
                "auth",
                "is required: `hmac-sha256`, `token` or `sm2`".into(),
            ));
            None
        }
    };
    if message_types.is_empty() {
        errors.push((
            "message_types",
            "list the message types the partner may send".into(),
        ));
    }
    for t in message_types {
        if catalog.for_message_type(t).is_none() {
            let known: Vec<&str> = catalog
                .iter()
                .map(mappings::Mapping::message_type)
                .collect();
            errors.push((
                "message_types",
                format!(
                    "`{t}` has no installed mapping (installed: {})",
                    known.join(", ")
                ),
            ));
        }
    }
    // Credentials in the URL would be copied into logs and the audit trail. `internal:<name>`
    // is an in-process consumer (`consumer.rs`); whether one of that name is registered is
    // checked where the registry is known (the partners API, the binary's configuration).
    let deliver_to = spec
        .deliver_to
        .as_deref()
        .and_then(|u| deliver_target(u, &mut errors));
    let mode = match spec.payload_sm4_mode.as_deref() {
        None | Some("ecb") => guomi::Sm4Mode::Ecb,
        Some("cbc") => guomi::Sm4Mode::Cbc,
        Some(other) => {
            errors.push((
                "payload_sm4_mode",
                format!("`{other}` is not `ecb` or `cbc`"),
            ));
            guomi::Sm4Mode::Ecb
        }
    };
    let sm4 = match &spec.payload_sm4_key {
        None => None,
        Some(k) => match hex::decode(k.expose().trim())
            .ok()
            .and_then(|b| guomi::Sm4Cipher::new(&b).ok())
        {
            Some(c) => Some((c, mode)),
            None => {
                errors.push((
                    "payload_sm4_key",
                    "must be 32 hexadecimal digits (16 bytes)".into(),
                ));
                None
            }
        },
    };
    let signature = match spec.payload_signature.as_deref() {
        None => {
            if spec.payload_signing_key.is_some() {
                errors.push((
                    "payload_signing_key",
                    "is used only with payload_signature (`sm2` or `hmac-sha256`)".into(),
                ));
            }
            None
        }
        Some("sm2") => {
            let verifier = spec
                .public_key
                .as_deref()
                .and_then(|pem| guomi::Sm2Verifier::parse(pem, guomi::SM2_DEFAULT_DISTID).ok());
            if verifier.is_none() {
                errors.push((
                    "public_key",
                    "the partner's SM2 public key is required to verify its signed documents (payload_signature = \"sm2\")".into(),
                ));
            }
            let signer = match &spec.payload_signing_key {
                None => None,
                Some(k) => {
                    let k = k.expose().trim();
                    let parsed = if k.starts_with("-----BEGIN") {
                        guomi::Sm2Signer::from_pem(k, guomi::SM2_DEFAULT_DISTID)
                    } else {
                        guomi::Sm2Signer::from_hex(k, guomi::SM2_DEFAULT_DISTID)
                    };
                    match parsed {
                        Ok(s) => Some(Arc::new(s)),
                        Err(e) => {
                            errors.push((
                                "payload_signing_key",
                                format!("is not an SM2 private key (PEM or hex): {e}"),
                            ));
                            None
                        }
                    }
                }
            };
            if signer.is_none() && spec.outbound_url.is_some() && spec.payload_signing_key.is_none()
            {
                errors.push((
                    "payload_signing_key",
                    "the hub's SM2 private key is required to sign the documents it sends this partner".into(),
                ));
            }
            verifier.map(|verifier| PayloadSignature::Sm2 {
                verifier: Arc::new(verifier),
                signer,
            })
        }
        Some("hmac-sha256") => match &spec.payload_signing_key {
            Some(k) if k.expose().len() >= 16 => Some(PayloadSignature::HmacSha256(k.clone())),
            _ => {
                errors.push((
                    "payload_signing_key",
                    "the shared key (at least 16 bytes) is required for payload_signature = \"hmac-sha256\"".into(),
                ));
                None
            }
        },
        Some(other) => {
            errors.push((
                "payload_signature",
                format!("`{other}` is not `sm2` or `hmac-sha256`"),
            ));
            None
        }
    };
    let payload_sm4 = sm4.is_some();
    let payload_signature = signature.as_ref().and(spec.payload_signature.clone());
    let payload_codec = (sm4.is_some() || signature.is_some())
        .then(|| Arc::new(PartnerPayload { sm4, signature }) as Arc<dyn mappings::PayloadCodec>);
    let outbound = build_outbound(spec, catalog, &mut errors);
    let mut client_certificates = Vec::new();
    for f in pins {
        let hexed: String = f.chars().filter(|c| *c != ':').collect();
        match hex::decode(hexed.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
        {
            Some(fp) => client_certificates.push(fp),
            None => errors.push((
                "client_certificates",
                format!("`{f}` is not a SHA-256 fingerprint (64 hex digits, colons allowed)"),
            )),
        }
    }
    match auth {
        Some(auth) if errors.is_empty() => Ok(PartnerConfig {
            id: id.to_owned(),
            display_name: spec.display_name.clone().unwrap_or_else(|| id.to_owned()),
            enabled: spec.enabled.unwrap_or(true),
            auth,
            message_types: spec.message_types.clone().unwrap_or_default(),
            deliver_to,
            payload_codec,
            payload_sm4,
            payload_signature,
            outbound,
            client_certificates,
        }),
        _ => Err(errors),
    }
}

/// Where a partner's translated messages go: an https endpoint (http on loopback) or
/// `internal:<name>`, an in-process consumer.
fn deliver_target(text: &str, errors: &mut Vec<(&'static str, String)>) -> Option<url::Url> {
    let t = text.trim();
    let Some(name) = crate::consumer::internal_name(t) else {
        return endpoint("deliver_to", t, errors);
    };
    match url::Url::parse(t) {
        Ok(u) if crate::consumer::valid_name(name) && u.as_str() == t => Some(u),
        _ => {
            errors.push((
                "deliver_to",
                format!(
                    "`{t}`: an in-process consumer is `internal:<name>` (lower-case letters, digits and single hyphens)"
                ),
            ));
            None
        }
    }
}

/// An endpoint URL without credentials in it (they would be copied into logs).
fn endpoint(
    field: &'static str,
    text: &str,
    errors: &mut Vec<(&'static str, String)>,
) -> Option<url::Url> {
    match check_endpoint(text) {
        Ok(u) if !u.username().is_empty() || u.password().is_some() => {
            errors.push((field, "must not carry a user name or password".into()));
            None
        }
        Ok(u) => Some(u),
        Err(m) => {
            errors.push((field, m));
            None
        }
    }
}

/// Whether `v` can go into an HTTP header as it is: printable ASCII without spaces.
fn header_safe(v: &str) -> bool {
    v.bytes().all(|b| (0x21..0x7f).contains(&b))
}

/// The partner's outbound endpoint, when `outbound_url` is set (and nothing else outbound is
/// set without it).
fn build_outbound(
    spec: &PartnerSettings,
    catalog: &mappings::Catalog,
    errors: &mut Vec<(&'static str, String)>,
) -> Option<PartnerOutbound> {
    let outbound_types = spec.outbound_message_types.as_deref().unwrap_or_default();
    let Some(url) = spec.outbound_url.as_deref() else {
        if !outbound_types.is_empty()
            || spec.outbound_auth.is_some()
            || spec.outbound_access_key.is_some()
            || spec.outbound_secret.is_some()
            || spec.outbound_token.is_some()
            || spec.outbound_token_url.is_some()
        {
            errors.push((
                "outbound_url",
                "is required when any other outbound_* setting is given".into(),
            ));
        }
        return None;
    };
    let url = endpoint("outbound_url", url, errors);
    if outbound_types.is_empty() {
        errors.push((
            "outbound_message_types",
            "list the message types the hub may send the partner".into(),
        ));
    }
    for t in outbound_types {
        if catalog.for_message_type(t).is_none() {
            errors.push((
                "outbound_message_types",
                format!("`{t}` has no installed mapping"),
            ));
        }
    }
    let access_key = |errors: &mut Vec<(&'static str, String)>, what: &str| match spec
        .outbound_access_key
        .as_deref()
        .map(str::trim)
    {
        Some(k) if !k.is_empty() && k.len() <= 128 && header_safe(k) => Some(k.to_owned()),
        _ => {
            errors.push((
                "outbound_access_key",
                format!("is required (printable ASCII, no spaces, at most 128): {what}"),
            ));
            None
        }
    };
    let secret = |errors: &mut Vec<(&'static str, String)>, what: &str, min: usize| match &spec
        .outbound_secret
    {
        Some(s) if s.expose().len() >= min => Some(s.clone()),
        Some(_) => {
            errors.push(("outbound_secret", format!("must have at least {min} bytes")));
            None
        }
        None => {
            errors.push(("outbound_secret", format!("is required: {what}")));
            None
        }
    };
    let auth = match spec.outbound_auth.as_deref() {
        Some("none") => Some(OutboundAuth::None),
        Some("hmac-sha256") => {
            let k = access_key(errors, "the access key the hub sends in X-Access-Key");
            let s = secret(errors, "the shared secret the hub signs with", 16);
            k.zip(s)
                .map(|(access_key, secret)| OutboundAuth::HmacSha256 { access_key, secret })
        }
        Some("token") => match &spec.outbound_token {
            Some(t) if !t.expose().trim().is_empty() && header_safe(t.expose().trim()) => {
                Some(OutboundAuth::Token(t.clone()))
            }
            _ => {
                errors.push((
                    "outbound_token",
                    "is required for `outbound_auth = \"token\"` (printable ASCII, no spaces)"
                        .into(),
                ));
                None
            }
        },
        Some("gateway-token") => {
            let token_url = match spec.outbound_token_url.as_deref() {
                Some(u) => endpoint("outbound_token_url", u, errors),
                None => {
                    errors.push((
                        "outbound_token_url",
                        "is required for `outbound_auth = \"gateway-token\"`: the gateway's get-token URL".into(),
                    ));
                    None
                }
            };
            let k = access_key(errors, "the gateway's app key");
            let s = secret(errors, "the gateway's app code", 1);
            match (token_url, k, s) {
                (Some(token_url), Some(app_key), Some(app_code)) => {
                    Some(OutboundAuth::GatewayToken {
                        token_url,
                        app_key,
                        app_code,
                    })
                }
                _ => None,
            }
        }
        Some(other) => {
            errors.push((
                "outbound_auth",
                format!("`{other}` is not `hmac-sha256`, `token`, `gateway-token` or `none`"),
            ));
            None
        }
        None => {
            errors.push((
                "outbound_auth",
                "is required with outbound_url: `hmac-sha256`, `token`, `gateway-token` or `none`"
                    .into(),
            ));
            None
        }
    };
    Some(PartnerOutbound {
        url: url?,
        message_types: outbound_types.to_vec(),
        auth: auth?,
    })
}

fn validate_partners(
    ids: Vec<String>,
    exchange: &ExchangeConfig,
    l: &mut Layered,
) -> Vec<PartnerConfig> {
    let mut out = Vec::new();
    for id in ids {
        let p = format!("partners.{id}");
        for name in SECRET_SETTINGS.iter().chain(&["public_key"]) {
            l.inline_file(&format!("{p}.{name}"));
        }
        let Some(spec) = l.deserialize_at::<PartnerSettings>(&p) else {
            continue;
        };
        if spec.id.is_some() {
            l.problem(
                &format!("{p}.id"),
                "a partner's id is its table name ([partners.<id>])",
            );
        }
        match build_partner(&id, &spec, &exchange.catalog) {
            Ok(partner) => out.push(partner),
            Err(errors) => {
                for (field, message) in errors {
                    let key = if field == "id" {
                        p.clone()
                    } else {
                        format!("{p}.{field}")
                    };
                    l.problem(&key, message);
                }
            }
        }
    }
    out
}

/// Where a partner is defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    File,
    Store,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::File => "file",
            Source::Store => "store",
        }
    }
}

/// A node's partners by id, with where each is defined.
pub type PartnerView = HashMap<String, (Arc<PartnerConfig>, Source)>;

/// The validated exchange sections.
#[derive(Clone, Debug)]
pub struct ExchangeSettings {
    pub exchange: ExchangeConfig,
    pub partners: Vec<PartnerConfig>,
}

/// Validates `[exchange]` and `[partners.*]` (the tables of `partners` are read from the
/// layered settings by their ids). `client_ca` tells whether the hub terminates TLS
/// and asks for client certificates (`server.tls.client_ca`): pinned certificates can only be
/// checked then.
pub fn validate(
    raw: RawExchange,
    partners: BTreeMap<String, toml::Value>,
    client_ca: bool,
    l: &mut Layered,
) -> ExchangeSettings {
    let exchange = validate_exchange(raw, l);
    let partners = validate_partners(partners.into_keys().collect(), &exchange, l);
    if !client_ca {
        // Pinned certificates can only be checked where the hub terminates TLS and asks for
        // them; such a partner could never be let in.
        for p in partners
            .iter()
            .filter(|p| !p.client_certificates.is_empty())
        {
            l.problem(
                &format!("partners.{}.client_certificates", p.id),
                "needs server.tls with client_ca: the hub checks client certificates only where it terminates TLS",
            );
        }
    }
    ExchangeSettings { exchange, partners }
}

impl ExchangeSettings {
    /// The sections as operators may see them (no secrets).
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "exchange": {
                "mappings": self.exchange.catalog.names(),
                "payload_retention_s": self.exchange.payload_retention.as_secs(),
                "clock_skew_s": self.exchange.clock_skew.as_secs(),
                "max_attempts": self.exchange.max_attempts,
                "retry_base_ms": self.exchange.retry_base.as_millis() as u64,
                "retry_max_s": self.exchange.retry_max.as_secs(),
                "lease_s": self.exchange.lease.as_secs(),
                "masked_fields": self.exchange.masked_fields,
            },
            "partners": self.partners.iter().map(|p| serde_json::json!({
                "id": p.id,
                "display_name": p.display_name,
                "enabled": p.enabled,
                "auth": p.auth.kind(),
                "message_types": p.message_types,
                "deliver_to": p.deliver_to.as_ref().map(|u| crate::consumer::shown_target(u.as_str())),
            })).collect::<Vec<_>>(),
        })
    }
}

/// Message exchange with partner systems.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawExchange {
    pub catalog_dir: Option<PathBuf>,
    pub payload_retention: Option<HumanDuration>,
    pub clock_skew: Option<HumanDuration>,
    pub max_attempts: Option<u32>,
    pub retry_base: Option<HumanDuration>,
    pub retry_max: Option<HumanDuration>,
    pub lease: Option<HumanDuration>,
    pub poll_interval: Option<HumanDuration>,
    pub masked_fields: Option<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields_in_error(spec: &PartnerSettings) -> Vec<&'static str> {
        let catalog = mappings::Catalog::builtin().unwrap();
        match build_partner("bank", spec, &catalog) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.into_iter().map(|(f, _)| f).collect(),
        }
    }

    fn base() -> PartnerSettings {
        PartnerSettings {
            auth: Some("token".into()),
            token: Some(Secret::new("a-long-partner-token-0123456789".to_owned())),
            message_types: Some(vec!["financing.demand_notice".into()]),
            ..PartnerSettings::default()
        }
    }

    #[test]
    fn outbound_settings_are_checked_together() {
        assert!(fields_in_error(&base()).is_empty());
        let outbound = |f: &dyn Fn(&mut PartnerSettings)| {
            let mut s = base();
            s.outbound_url = Some("https://bank.example.cn/hub".into());
            s.outbound_message_types = Some(vec!["financing.demand_notice".into()]);
            s.outbound_auth = Some("token".into());
            s.outbound_token = Some(Secret::new("hub-token-0123456789".to_owned()));
            f(&mut s);
            fields_in_error(&s)
        };
        assert!(outbound(&|_| {}).is_empty());
        // Credentials without an endpoint, or an endpoint without credentials.
        let mut s = base();
        s.outbound_secret = Some(Secret::new("a-secret-without-an-endpoint".to_owned()));
        assert_eq!(fields_in_error(&s), ["outbound_url"]);
        assert_eq!(outbound(&|s| s.outbound_auth = None), ["outbound_auth"]);
        // Only https (http on loopback), no credentials in the URL.
        assert_eq!(
            outbound(&|s| s.outbound_url = Some("http://bank.example.cn/hub".into())),
            ["outbound_url"]
        );
        assert_eq!(
            outbound(&|s| s.outbound_url = Some("https://u:p@bank.example.cn/hub".into())),
            ["outbound_url"]
        );
        // What goes into a header must be able to.
        assert_eq!(
            outbound(&|s| s.outbound_token = Some(Secret::new("two words".to_owned()))),
            ["outbound_token"]
        );
        assert_eq!(
            outbound(&|s| {
                s.outbound_auth = Some("hmac-sha256".into());
                s.outbound_access_key = Some("AK\nX".into());
                s.outbound_secret = Some(Secret::new("a-long-shared-secret-0123".to_owned()));
            }),
            ["outbound_access_key"]
        );
        assert_eq!(
            outbound(&|s| s.outbound_message_types = Some(vec!["no.such_type".into()])),
            ["outbound_message_types"]
        );
        // A signing key without a signature scheme is a mistake, not a no-op.
        let mut s = base();
        s.payload_signing_key = Some(Secret::new("payload-signing-key-0123456789".to_owned()));
        assert_eq!(fields_in_error(&s), ["payload_signing_key"]);
        // A signing partner that receives messages needs the hub's key.
        assert_eq!(
            outbound(&|s| {
                s.payload_signature = Some("sm2".into());
                s.public_key = Some(
                    guomi::Sm2Signer::generate()
                        .unwrap()
                        .public_key_pem()
                        .unwrap(),
                );
            }),
            ["payload_signing_key"]
        );
        let mut s = base();
        s.client_certificates = Some(vec!["not-a-fingerprint".into()]);
        assert_eq!(fields_in_error(&s), ["client_certificates"]);
    }

    #[test]
    fn deliveries_go_to_https_endpoints_or_in_process_consumers() {
        let with = |target: &str| {
            let mut s = base();
            s.deliver_to = Some(target.into());
            fields_in_error(&s)
        };
        assert!(with("https://credit.example.cn/hub/messages").is_empty());
        assert!(with("internal:market").is_empty());
        for bad in [
            "http://credit.example.cn/hub",
            "internal:",
            "internal:Market",
            "internal:market/x",
            "internal://market",
        ] {
            assert_eq!(with(bad), ["deliver_to"], "{bad}");
        }
        let catalog = mappings::Catalog::builtin().unwrap();
        let mut s = base();
        s.deliver_to = Some("internal:market".into());
        let p = build_partner("bank", &s, &catalog).unwrap();
        assert_eq!(
            p.deliver_to.as_ref().map(url::Url::as_str),
            Some("internal:market")
        );
    }
}
