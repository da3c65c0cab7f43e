//! The sign-in sections of the configuration: `[sso]` (allowed return origins, rate limit, flow
//! and replay windows) and `[providers.<id>]`, each provider read by its `kind` (`fujian`,
//! `elongyan`, `oidc`, `oauth2`) and validated into the adapters' settings. Adding a provider is
//! configuration.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::claims::ClaimMap;

use platform::accounts::LinkPolicy;
use platform::config::{HumanDuration, Layered, Secret, endpoint, positive, secret_or_file};
use serde::Deserialize;

/// A configured identity provider.
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    pub id: String,
    pub display_name: String,
    pub link_policy: LinkPolicy,
    /// Sign the user out at the provider too, where it supports it.
    pub logout: bool,
    pub settings: ProviderSettings,
}

#[derive(Clone, Debug)]
pub enum ProviderSettings {
    Fujian(crate::fujian::FujianSettings),
    Elongyan(Box<crate::elongyan::ElongyanSettings>),
    Oidc(crate::oidc::OidcSettings),
    OAuth2(crate::oauth2::OAuth2Settings),
}

impl ProviderConfig {
    /// Whether users can start a sign-in here (an e-Longyan entry only receives users from its
    /// own portal).
    pub fn starts_sign_in(&self) -> bool {
        !matches!(self.settings, ProviderSettings::Elongyan(_))
    }
}

impl ProviderSettings {
    pub fn kind(&self) -> &'static str {
        match self {
            ProviderSettings::Fujian(_) => "fujian",
            ProviderSettings::Elongyan(_) => "elongyan",
            ProviderSettings::Oidc(_) => "oidc",
            ProviderSettings::OAuth2(_) => "oauth2",
        }
    }
}

/// Sign-in flows.
#[derive(Clone, Debug)]
pub struct SsoConfig {
    /// Origins users may be sent to after sign-in, besides the hub's own paths.
    pub allowed_origins: Vec<String>,
    /// Per client address, on every `/sso/` endpoint.
    pub login_attempts_per_minute: u32,
    /// How long a sign-in may take between leaving for the provider and coming back.
    pub flow_ttl: Duration,
    /// How long used tickets, nonces and states are remembered.
    pub replay_ttl: Duration,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSso {
    pub allowed_origins: Vec<String>,
    pub login_attempts_per_minute: Option<u32>,
    pub flow_ttl: Option<HumanDuration>,
    pub replay_ttl: Option<HumanDuration>,
}

/// The validated sign-in sections.
#[derive(Clone, Debug)]
pub struct SsoSettings {
    pub sso: SsoConfig,
    pub providers: Vec<ProviderConfig>,
}

/// Validates `[sso]` and `[providers.*]`.
pub fn validate(
    raw: RawSso,
    providers: std::collections::BTreeMap<String, toml::Value>,
    l: &mut Layered,
) -> SsoSettings {
    let mut allowed_origins = Vec::new();
    for o in raw.allowed_origins {
        match url::Url::parse(&o) {
            Ok(u)
                if matches!(u.scheme(), "http" | "https")
                    && u.host().is_some()
                    && u.path() == "/"
                    && u.query().is_none() =>
            {
                allowed_origins.push(u.origin().ascii_serialization());
            }
            _ => l.problem(
                "sso.allowed_origins",
                format!("`{o}` must be an origin such as https://www.longyan.gov.cn"),
            ),
        }
    }
    let sso = SsoConfig {
        allowed_origins,
        login_attempts_per_minute: raw.login_attempts_per_minute.unwrap_or(120),
        flow_ttl: positive(l, "sso.flow_ttl", raw.flow_ttl, 10 * 60),
        replay_ttl: positive(l, "sso.replay_ttl", raw.replay_ttl, 10 * 60),
    };
    if sso.login_attempts_per_minute == 0 {
        l.problem("sso.login_attempts_per_minute", "must be at least 1");
    }
    let providers = validate_providers(providers, l);
    for p in &providers {
        if let ProviderSettings::Elongyan(e) = &p.settings
            && sso.replay_ttl < e.timestamp_window * 2
        {
            l.problem("sso.replay_ttl", format!("must be at least twice providers.{}.timestamp_window, or a nonce could be replayed", p.id));
        }
    }

    SsoSettings { sso, providers }
}

impl SsoSettings {
    /// The sign-in sections as operators may see them (no secrets).
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "sso": {
                "allowed_origins": self.sso.allowed_origins,
                "login_attempts_per_minute": self.sso.login_attempts_per_minute,
                "flow_ttl_s": self.sso.flow_ttl.as_secs(),
                "replay_ttl_s": self.sso.replay_ttl.as_secs(),
            },
            "providers": self.providers.iter().map(|p| serde_json::json!({
                "id": p.id,
                "kind": p.settings.kind(),
                "display_name": p.display_name,
                "link_policy": p.link_policy.as_str(),
                "logout": p.logout,
            })).collect::<Vec<_>>(),
        })
    }
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

fn validate_providers(
    raw: std::collections::BTreeMap<String, toml::Value>,
    l: &mut Layered,
) -> Vec<ProviderConfig> {
    let mut out = Vec::new();
    for (id, value) in raw {
        let prefix = format!("providers.{id}");
        let id_ok = id.len() >= 2
            && id.len() <= 32
            && id.starts_with(|c: char| c.is_ascii_lowercase())
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !id_ok {
            l.problem(&prefix, "a provider id has 2 to 32 characters: a lower-case letter, then letters, digits or '-'");
            continue;
        }
        let kind = value
            .get("kind")
            .and_then(toml::Value::as_str)
            .map(str::to_owned);
        let provider = match kind.as_deref() {
            Some("fujian") => l
                .deserialize_at::<RawFujian>(&prefix)
                .and_then(|r| fujian(&id, r, l)),
            Some("elongyan") => l
                .deserialize_at::<RawElongyan>(&prefix)
                .and_then(|r| elongyan(&id, r, l)),
            Some("oidc") => l
                .deserialize_at::<RawOidc>(&prefix)
                .and_then(|r| oidc(&id, r, l)),
            Some("oauth2") => l
                .deserialize_at::<RawOAuth2>(&prefix)
                .and_then(|r| oauth2(&id, r, l)),
            Some(other) => {
                l.problem(
                    &format!("{prefix}.kind"),
                    format!(
                        "`{other}` is not a provider kind: use fujian, elongyan, oidc or oauth2"
                    ),
                );
                None
            }
            None => {
                l.problem(
                    &prefix,
                    "`kind` is missing: fujian, elongyan, oidc or oauth2",
                );
                None
            }
        };
        out.extend(provider);
    }
    out
}

fn link_policy(l: &mut Layered, key: &str, v: Option<String>) -> LinkPolicy {
    match v.as_deref() {
        None | Some("create-or-link") => LinkPolicy::CreateOrLink,
        Some("link-only") => LinkPolicy::LinkOnly,
        Some(other) => {
            l.problem(
                key,
                format!("`{other}` is not `create-or-link` or `link-only`"),
            );
            LinkPolicy::CreateOrLink
        }
    }
}

fn timeout(v: Option<HumanDuration>) -> Duration {
    v.map_or(DEFAULT_TIMEOUT, |d| d.0)
}

fn claims(mut base: ClaimMap, raw: Option<RawClaims>) -> ClaimMap {
    let Some(r) = raw else { return base };
    let set = |target: &mut String, v: Option<String>| {
        if let Some(v) = v {
            *target = v;
        }
    };
    let set_opt = |target: &mut Option<String>, v: Option<String>| {
        if let Some(v) = v {
            *target = (!v.is_empty()).then_some(v);
        }
    };
    set(&mut base.subject, r.subject);
    set_opt(&mut base.user_type, r.user_type);
    if let Some(v) = r.personal_values {
        base.personal_values = v;
    }
    set(&mut base.name, r.name);
    set_opt(&mut base.cert_type, r.cert_type);
    set_opt(&mut base.cert_number, r.cert_number);
    set_opt(&mut base.mobile, r.mobile);
    set_opt(&mut base.email, r.email);
    set_opt(&mut base.company_name, r.company_name);
    set_opt(&mut base.uscc, r.uscc);
    set_opt(&mut base.legal_representative, r.legal_representative);
    set_opt(&mut base.agent_name, r.agent_name);
    set_opt(&mut base.agent_cert_number, r.agent_cert_number);
    if let Some(v) = r.require_certificate {
        base.require_certificate = v;
    }
    base
}

pub(super) fn required_secret(
    l: &mut Layered,
    key: &str,
    inline: Option<super::Secret>,
    file: Option<std::path::PathBuf>,
) -> Option<super::Secret> {
    let s = secret_or_file(l, key, inline, file).map(|(s, _)| s);
    if s.is_none() && l.value_at(key).is_none() && l.value_at(&format!("{key}_file")).is_none() {
        l.problem(key, format!("is required (set `{key}` or `{key}_file`)"));
    }
    s
}

fn fujian(id: &str, r: RawFujian, l: &mut Layered) -> Option<ProviderConfig> {
    let p = format!("providers.{id}");
    let base = endpoint(l, &format!("{p}.base_url"), &r.base_url);
    let code = required_secret(
        l,
        &format!("{p}.caller_code"),
        r.caller_code,
        r.caller_code_file,
    );
    if let Some(c) = &code {
        let c = c.expose();
        if !(40..=48).contains(&c.len()) || !c.bytes().all(|b| b.is_ascii_hexdigit()) {
            l.problem(&format!("{p}.caller_code"), "the caller code issued by the provincial platform has 40 to 48 hexadecimal characters");
        }
    }
    let exchange = r
        .exchange_url
        .as_deref()
        .and_then(|u| endpoint(l, &format!("{p}.exchange_url"), u));
    let link_policy = link_policy(l, &format!("{p}.link_policy"), r.link_policy);
    let (base, code) = (base?, code?);
    let mut s = match crate::fujian::FujianSettings::new(id, base, code, timeout(r.timeout)) {
        Ok(s) => s,
        Err(e) => {
            l.problem(&format!("{p}.base_url"), e.to_string());
            return None;
        }
    };
    if let Some(u) = exchange {
        s.exchange.url = u;
    }
    s.silent_check = r.silent_check.unwrap_or(true);
    s.claims = claims(ClaimMap::provincial(), r.claims);
    Some(ProviderConfig {
        id: id.to_owned(),
        display_name: r
            .display_name
            .unwrap_or_else(|| "福建省统一身份认证".into()),
        link_policy,
        logout: r.logout.unwrap_or(true),
        settings: ProviderSettings::Fujian(s),
    })
}

fn field_list(
    l: &mut Layered,
    key: &str,
    v: Option<Vec<String>>,
    default: &[&str],
    must_have: &[&str],
) -> Vec<String> {
    let list: Vec<String> = v.unwrap_or_else(|| default.iter().map(|s| (*s).to_owned()).collect());
    for m in must_have {
        if !list.iter().any(|f| f == m) {
            l.problem(
                key,
                format!("must include `{m}`: an unsigned {m} could be replaced"),
            );
        }
    }
    list
}

fn elongyan(id: &str, r: RawElongyan, l: &mut Layered) -> Option<ProviderConfig> {
    let p = format!("providers.{id}");
    let mut modes = Vec::new();
    for m in r
        .modes
        .unwrap_or_else(|| vec!["ticket".into(), "signed".into()])
    {
        match m.as_str() {
            "ticket" => modes.push(crate::elongyan::EntryMode::Ticket),
            "signed" => modes.push(crate::elongyan::EntryMode::Signed),
            other => l.problem(
                &format!("{p}.modes"),
                format!("`{other}` is not `ticket` or `signed`"),
            ),
        }
    }
    if modes.is_empty() {
        l.problem(
            &format!("{p}.modes"),
            "enable at least one of `ticket` and `signed`",
        );
    }
    let distid = r.sm2_distid.unwrap_or_else(|| "1234567812345678".into());
    let signature = match r.signature.as_deref().unwrap_or("hmac-sm3") {
        scheme @ ("hmac-sha256" | "hmac-sm3") => {
            let secret = required_secret(l, &format!("{p}.secret"), r.secret, r.secret_file)?;
            if secret.expose().len() < 16 {
                l.problem(
                    &format!("{p}.secret"),
                    "the shared secret must have at least 16 bytes",
                );
                return None;
            }
            if scheme == "hmac-sha256" {
                crate::elongyan::SignatureScheme::HmacSha256(secret)
            } else {
                match guomi::HmacSm3::new(secret.expose().as_bytes()) {
                    Ok(k) => crate::elongyan::SignatureScheme::HmacSm3(Arc::new(k)),
                    Err(e) => {
                        l.problem(&format!("{p}.secret"), e.to_string());
                        return None;
                    }
                }
            }
        }
        "sm2-sm3" => {
            let pem = match (r.public_key, r.public_key_file) {
                (Some(k), None) => k,
                (None, Some(f)) => match std::fs::read_to_string(&f) {
                    Ok(k) => k,
                    Err(e) => {
                        l.problem(
                            &format!("{p}.public_key_file"),
                            format!("cannot read `{}`: {e}", f.display()),
                        );
                        return None;
                    }
                },
                _ => {
                    l.problem(
                        &format!("{p}.public_key"),
                        "set exactly one of `public_key` (PEM or hex) and `public_key_file`",
                    );
                    return None;
                }
            };
            match guomi::Sm2Verifier::parse(&pem, &distid) {
                Ok(v) => crate::elongyan::SignatureScheme::Sm2(Arc::new(v)),
                Err(e) => {
                    l.problem(
                        &format!("{p}.public_key"),
                        format!("not an SM2 public key: {e}"),
                    );
                    return None;
                }
            }
        }
        other => {
            l.problem(
                &format!("{p}.signature"),
                format!("`{other}` is not hmac-sha256, hmac-sm3 or sm2-sm3"),
            );
            return None;
        }
    };
    let window = r.timestamp_window.map_or(Duration::from_secs(300), |d| d.0);
    if window.is_zero() || window > Duration::from_secs(3600) {
        l.problem(
            &format!("{p}.timestamp_window"),
            "must be between 1s and 1h",
        );
    }
    let ticket_fields = field_list(
        l,
        &format!("{p}.ticket_fields"),
        r.ticket_fields,
        &crate::elongyan::DEFAULT_TICKET_FIELDS,
        &["ticket", "timestamp", "target", "appId"],
    );
    let signed_fields = field_list(
        l,
        &format!("{p}.signed_fields"),
        r.signed_fields,
        &crate::elongyan::DEFAULT_SIGNED_FIELDS,
        &["nonce", "timestamp", "target", "appId"],
    );
    let sm4_key =
        secret_or_file(l, &format!("{p}.sm4_key"), r.sm4_key, r.sm4_key_file).map(|(s, _)| s);
    let sm4_mode = match r.sm4_mode.as_deref() {
        None | Some("ecb") => guomi::Sm4Mode::Ecb,
        Some("cbc") => guomi::Sm4Mode::Cbc,
        Some(other) => {
            l.problem(
                &format!("{p}.sm4_mode"),
                format!("`{other}` is not `ecb` or `cbc`"),
            );
            guomi::Sm4Mode::Ecb
        }
    };
    let sm4 = match sm4_key {
        None => None,
        Some(k) => match hex::decode(k.expose().trim())
            .ok()
            .and_then(|b| guomi::Sm4Cipher::new(&b).ok())
        {
            Some(c) => Some((Arc::new(c), sm4_mode)),
            None => {
                l.problem(
                    &format!("{p}.sm4_key"),
                    "must be 32 hexadecimal digits (16 bytes)",
                );
                None
            }
        },
    };
    let encrypted_fields: Vec<String> = match r.encrypted_fields {
        Some(f) => f,
        None if sm4.is_some() => crate::elongyan::DEFAULT_ENCRYPTED_FIELDS
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        None => Vec::new(),
    };
    if !encrypted_fields.is_empty() && sm4.is_none() {
        l.problem(
            &format!("{p}.encrypted_fields"),
            "encrypted fields need `sm4_key`",
        );
    }
    let t = timeout(r.timeout);
    let exchange = if modes.contains(&crate::elongyan::EntryMode::Ticket) {
        let url = match r.exchange_url.as_deref() {
            Some(u) => endpoint(l, &format!("{p}.exchange_url"), u),
            None => {
                l.problem(
                    &format!("{p}.exchange_url"),
                    "the ticket mode needs the exchange endpoint",
                );
                None
            }
        };
        let code = required_secret(
            l,
            &format!("{p}.exchange_caller_code"),
            r.exchange_caller_code,
            r.exchange_caller_code_file,
        );
        match (url, code) {
            (Some(u), Some(c)) => Some(crate::ticket::TicketExchange::new(id, u, c, t)),
            _ => None,
        }
    } else {
        None
    };
    let link_policy = link_policy(l, &format!("{p}.link_policy"), r.link_policy);
    let assertion_claims = claims(ClaimMap::elongyan_assertion(), r.claims);
    // A signed assertion may arrive as a GET: a certificate number among its fields would be in
    // the URL (and in every proxy's and browser's history) unless it is SM4-encrypted.
    if modes.contains(&crate::elongyan::EntryMode::Signed) {
        for field in [
            &assertion_claims.cert_number,
            &assertion_claims.agent_cert_number,
        ]
        .into_iter()
        .flatten()
        {
            if !encrypted_fields.contains(field) {
                l.problem(
                    &format!("{p}.encrypted_fields"),
                    format!(
                        "the signed mode carries the certificate number `{field}` in the entry URL: set `sm4_key` and list `{field}` in `encrypted_fields`"
                    ),
                );
            }
        }
    }
    Some(ProviderConfig {
        id: id.to_owned(),
        display_name: r.display_name.unwrap_or_else(|| "e龙岩".into()),
        link_policy,
        logout: false,
        settings: ProviderSettings::Elongyan(Box::new(crate::elongyan::ElongyanSettings {
            provider: id.to_owned(),
            app_id: r.app_id,
            modes,
            signature,
            timestamp_window: window,
            ticket_fields,
            signed_fields,
            encrypted_fields,
            sm4,
            exchange,
            claims: assertion_claims,
            profile_claims: claims(ClaimMap::provincial(), r.profile_claims),
        })),
    })
}

fn oidc(id: &str, r: RawOidc, l: &mut Layered) -> Option<ProviderConfig> {
    let p = format!("providers.{id}");
    endpoint(l, &format!("{p}.issuer"), &r.issuer)?;
    let secret = secret_or_file(
        l,
        &format!("{p}.client_secret"),
        r.client_secret,
        r.client_secret_file,
    )
    .map(|(s, _)| s);
    let scopes = r
        .scopes
        .unwrap_or_else(|| vec!["openid".into(), "profile".into(), "email".into()]);
    if !scopes.iter().any(|s| s == "openid") {
        l.problem(&format!("{p}.scopes"), "must include `openid`");
    }
    let settings = crate::oidc::OidcSettings {
        provider: id.to_owned(),
        // Issuer identifiers are compared exactly: keep the operator's spelling.
        issuer: r.issuer.trim().to_owned(),
        client_id: r.client_id,
        client_secret: secret,
        scopes,
        algorithms: r.algorithms.unwrap_or_else(|| {
            crate::oidc::DEFAULT_ALGORITHMS
                .iter()
                .map(|s| (*s).to_owned())
                .collect()
        }),
        claims: claims(ClaimMap::default(), r.claims),
        userinfo: r.userinfo.unwrap_or(true),
        metadata_ttl: r.metadata_ttl.map_or(Duration::from_secs(3600), |d| d.0),
        timeout: timeout(r.timeout),
    };
    // The same checks the provider makes when it is built (algorithm allowlist, issuer).
    if let Err(e) = crate::oidc::OidcProvider::new(settings.clone()) {
        l.problem(&format!("{p}.algorithms"), e.to_string());
        return None;
    }
    let link_policy = link_policy(l, &format!("{p}.link_policy"), r.link_policy);
    Some(ProviderConfig {
        id: id.to_owned(),
        display_name: r.display_name.unwrap_or_else(|| id.to_owned()),
        link_policy,
        logout: r.logout.unwrap_or(true),
        settings: ProviderSettings::Oidc(settings),
    })
}

fn oauth2(id: &str, r: RawOAuth2, l: &mut Layered) -> Option<ProviderConfig> {
    let p = format!("providers.{id}");
    let authorize = endpoint(l, &format!("{p}.authorize_url"), &r.authorize_url);
    let token = endpoint(l, &format!("{p}.token_url"), &r.token_url);
    let userinfo = endpoint(l, &format!("{p}.userinfo_url"), &r.userinfo_url);
    let secret = secret_or_file(
        l,
        &format!("{p}.client_secret"),
        r.client_secret,
        r.client_secret_file,
    )
    .map(|(s, _)| s);
    let placement = match r.token_placement.as_deref() {
        None | Some("header") => crate::oauth2::TokenPlacement::Header,
        Some("query") => crate::oauth2::TokenPlacement::Query,
        Some(other) => {
            l.problem(
                &format!("{p}.token_placement"),
                format!("`{other}` is not `header` or `query`"),
            );
            crate::oauth2::TokenPlacement::Header
        }
    };
    let client_auth = match r.client_auth.as_deref() {
        None | Some("basic") => crate::oauth2::ClientAuth::Basic,
        Some("post") => crate::oauth2::ClientAuth::Post,
        Some(other) => {
            l.problem(
                &format!("{p}.client_auth"),
                format!("`{other}` is not `basic` or `post`"),
            );
            crate::oauth2::ClientAuth::Basic
        }
    };
    let link_policy = link_policy(l, &format!("{p}.link_policy"), r.link_policy);
    Some(ProviderConfig {
        id: id.to_owned(),
        display_name: r.display_name.unwrap_or_else(|| id.to_owned()),
        link_policy,
        logout: false,
        settings: ProviderSettings::OAuth2(crate::oauth2::OAuth2Settings {
            provider: id.to_owned(),
            authorize_url: authorize?,
            token_url: token?,
            userinfo_url: userinfo?,
            client_id: r.client_id,
            client_secret: secret,
            scopes: r.scopes.unwrap_or_default(),
            pkce: r.pkce.unwrap_or(true),
            token_placement: placement,
            client_auth,
            access_token_path: r.access_token_path.unwrap_or_else(|| "access_token".into()),
            claims: claims(ClaimMap::default(), r.claims),
            timeout: timeout(r.timeout),
        }),
    })
}

/// Overrides of a provider's claim mapping; unset fields keep the kind's defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawClaims {
    pub subject: Option<String>,
    pub user_type: Option<String>,
    pub personal_values: Option<Vec<String>>,
    pub name: Option<String>,
    pub cert_type: Option<String>,
    pub cert_number: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub company_name: Option<String>,
    pub uscc: Option<String>,
    pub legal_representative: Option<String>,
    pub agent_name: Option<String>,
    pub agent_cert_number: Option<String>,
    pub require_certificate: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFujian {
    /// Read before deserialisation to choose this type; accepted here by `deny_unknown_fields`.
    #[serde(rename = "kind")]
    pub _kind: String,
    #[serde(default)]
    pub display_name: Option<String>,
    pub base_url: String,
    #[serde(default)]
    pub caller_code: Option<Secret>,
    #[serde(default)]
    pub caller_code_file: Option<PathBuf>,
    #[serde(default)]
    pub silent_check: Option<bool>,
    #[serde(default)]
    pub exchange_url: Option<String>,
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    #[serde(default)]
    pub link_policy: Option<String>,
    #[serde(default)]
    pub logout: Option<bool>,
    #[serde(default)]
    pub claims: Option<RawClaims>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawElongyan {
    /// Read before deserialisation to choose this type; accepted here by `deny_unknown_fields`.
    #[serde(rename = "kind")]
    pub _kind: String,
    #[serde(default)]
    pub display_name: Option<String>,
    pub app_id: String,
    #[serde(default)]
    pub modes: Option<Vec<String>>,
    #[serde(default)]
    pub signature: Option<String>,
    #[serde(default)]
    pub secret: Option<Secret>,
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    #[serde(default)]
    pub public_key: Option<String>,
    #[serde(default)]
    pub public_key_file: Option<PathBuf>,
    #[serde(default)]
    pub sm2_distid: Option<String>,
    #[serde(default)]
    pub timestamp_window: Option<HumanDuration>,
    #[serde(default)]
    pub ticket_fields: Option<Vec<String>>,
    #[serde(default)]
    pub signed_fields: Option<Vec<String>>,
    #[serde(default)]
    pub encrypted_fields: Option<Vec<String>>,
    #[serde(default)]
    pub sm4_key: Option<Secret>,
    #[serde(default)]
    pub sm4_key_file: Option<PathBuf>,
    #[serde(default)]
    pub sm4_mode: Option<String>,
    #[serde(default)]
    pub exchange_url: Option<String>,
    #[serde(default)]
    pub exchange_caller_code: Option<Secret>,
    #[serde(default)]
    pub exchange_caller_code_file: Option<PathBuf>,
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    #[serde(default)]
    pub link_policy: Option<String>,
    #[serde(default)]
    pub claims: Option<RawClaims>,
    #[serde(default)]
    pub profile_claims: Option<RawClaims>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOidc {
    /// Read before deserialisation to choose this type; accepted here by `deny_unknown_fields`.
    #[serde(rename = "kind")]
    pub _kind: String,
    #[serde(default)]
    pub display_name: Option<String>,
    pub issuer: String,
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<Secret>,
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub algorithms: Option<Vec<String>>,
    #[serde(default)]
    pub userinfo: Option<bool>,
    #[serde(default)]
    pub metadata_ttl: Option<HumanDuration>,
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    #[serde(default)]
    pub link_policy: Option<String>,
    #[serde(default)]
    pub logout: Option<bool>,
    #[serde(default)]
    pub claims: Option<RawClaims>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOAuth2 {
    /// Read before deserialisation to choose this type; accepted here by `deny_unknown_fields`.
    #[serde(rename = "kind")]
    pub _kind: String,
    #[serde(default)]
    pub display_name: Option<String>,
    pub authorize_url: String,
    pub token_url: String,
    pub userinfo_url: String,
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<Secret>,
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub pkce: Option<bool>,
    #[serde(default)]
    pub token_placement: Option<String>,
    #[serde(default)]
    pub client_auth: Option<String>,
    #[serde(default)]
    pub access_token_path: Option<String>,
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    #[serde(default)]
    pub link_policy: Option<String>,
    #[serde(default)]
    pub claims: Option<RawClaims>,
}
