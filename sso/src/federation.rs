//! Sign-in flows (REQUIREMENTS A1–A6): the configured providers, the state that ties a
//! provider's answer to the browser that left for it, single-use checks, and the end of every
//! flow — account, session, audit record, redirect.
//!
//! The flow state travels in a cookie named after the state value, encrypted and authenticated
//! with the data key (SM4-GCM, bound to the state). A callback without the cookie that left
//! with this browser is refused; each state is accepted once (replay guard).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use serde::{Deserialize, Serialize};
use url::Url;

use platform::Platform;
use platform::accounts::AccountError;
use platform::audit::{Actor, ActorKind, AuditError, AuditEvent, AuditLog, Outcome};
use platform::clock::Clock;
use platform::context::RequestContext;
use platform::http::problem::{
    ApiError, ErrorCode, account_error_code, default_detail, session_error_code,
};
use platform::http::ratelimit::RateLimiter;
use platform::identity::mask_name;
use platform::keys::Keys;
use platform::replay::ReplayGuard;
use platform::sessions::SessionError;
use platform::store::StoreError;
use platform::subject::VerifiedIdentity;
use platform::web::site::USER_CENTRE;

use crate::config::{ProviderConfig, ProviderSettings, SsoSettings};

/// A provider ready to use: its configuration and, for OpenID Connect, its cached metadata.
pub struct Provider {
    pub config: ProviderConfig,
    pub oidc: Option<crate::oidc::OidcProvider>,
}

/// Everything that can end a sign-in early.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlowError {
    #[error("no identity provider {0}")]
    UnknownProvider(String),
    #[error("the provider {0} signs users in from its own portal only")]
    LoginUnsupported(String),
    #[error(transparent)]
    Sso(#[from] crate::error::Error),
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("cryptographic failure")]
    Crypto(#[from] guomi::Error),
}

impl FlowError {
    /// The stable code for audit records (the same as the public error code).
    pub fn code(&self) -> &'static str {
        flow_error_code(self).as_str()
    }
}

/// The state of one sign-in between leaving for the provider and coming back.
#[derive(Debug, Serialize, Deserialize)]
pub struct Flow {
    /// Provider id.
    pub p: String,
    /// State value (also in the provider's callback).
    pub s: String,
    /// Where to go afterwards (already checked).
    pub r: String,
    /// Nonce (OpenID Connect).
    pub n: String,
    /// PKCE verifier.
    pub v: String,
    /// Created, ms.
    pub t: i64,
    /// Fujian: 0 after the silent check was sent, 1 after the login page.
    pub stage: u8,
    /// Link the identity to this (signed-in) account instead of signing in.
    pub link: Option<String>,
}

pub struct Federation {
    pub providers: HashMap<String, Arc<Provider>>,
    /// The configured providers in the order of the configuration (sign-in pages list them so).
    pub order: Vec<String>,
    pub settings: SsoSettings,
    /// Per client address, on every `/sso/` endpoint.
    pub limiter: RateLimiter<std::net::IpAddr>,
    /// The providers' back channels: timeouts, retries of retry-safe calls, a circuit breaker
    /// and a concurrency cap per host.
    pub http: outbound::Client,
    pub replay: ReplayGuard,
    keys: Keys,
    clock: Arc<dyn Clock>,
    public_url: Url,
    pub allowed_origins: Vec<String>,
    pub flow_ttl: Duration,
    pub replay_ttl: Duration,
}

impl std::fmt::Debug for Federation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Federation")
            .field("providers", &self.providers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

pub const FLOW_COOKIE_PREFIX: &str = "__Host-hub_flow_";

impl Federation {
    pub fn new(
        settings: SsoSettings,
        public_url: &str,
        http: outbound::Client,
        keys: Keys,
        clock: Arc<dyn Clock>,
        replay: ReplayGuard,
    ) -> Result<Self, crate::error::Error> {
        let mut providers = HashMap::new();
        for p in &settings.providers {
            let oidc = match &p.settings {
                ProviderSettings::Oidc(s) => Some(crate::oidc::OidcProvider::new(s.clone())?),
                _ => None,
            };
            providers.insert(
                p.id.clone(),
                Arc::new(Provider {
                    config: p.clone(),
                    oidc,
                }),
            );
        }
        let public_url = Url::parse(public_url)
            .map_err(|e| crate::error::Error::Config(format!("server.public_url: {e}")))?;
        Ok(Federation {
            providers,
            order: settings.providers.iter().map(|p| p.id.clone()).collect(),
            limiter: RateLimiter::per_minute(settings.sso.login_attempts_per_minute),
            http,
            replay,
            keys,
            clock,
            public_url,
            allowed_origins: settings.sso.allowed_origins.clone(),
            flow_ttl: settings.sso.flow_ttl,
            replay_ttl: settings.sso.replay_ttl,
            settings,
        })
    }

    pub fn provider(&self, id: &str) -> Result<Arc<Provider>, FlowError> {
        self.providers
            .get(id)
            .cloned()
            .ok_or_else(|| FlowError::UnknownProvider(id.to_owned()))
    }

    /// An absolute URL of the hub.
    pub fn url(&self, path: &str) -> Result<Url, FlowError> {
        self.public_url
            .join(path)
            .map_err(|e| FlowError::Sso(crate::error::Error::Config(e.to_string())))
    }

    /// Where the provider sends the browser back. For the provincial platform the state rides
    /// in the callback URL itself (`checkbackurl`), never the return URL.
    pub fn callback_url(&self, provider: &Provider, state: &str) -> Result<Url, FlowError> {
        let mut u = self.url(&format!("/sso/{}/callback", provider.config.id))?;
        if matches!(provider.config.settings, ProviderSettings::Fujian(_)) {
            u.query_pairs_mut().append_pair("state", state);
        }
        Ok(u)
    }

    pub fn random_token() -> Result<String, guomi::Error> {
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(guomi::random_bytes::<32>()?))
    }

    pub fn flow_cookie_name(state: &str) -> String {
        format!(
            "{FLOW_COOKIE_PREFIX}{}",
            &hex::encode(guomi::sm3(state.as_bytes()))[..16]
        )
    }

    pub fn seal_flow(&self, flow: &Flow) -> Result<String, FlowError> {
        let json = serde_json::to_vec(flow)
            .map_err(|e| FlowError::Sso(crate::error::Error::Config(e.to_string())))?;
        let sealed = self
            .keys
            .data
            .encrypt(&json, format!("sso-flow:{}", flow.s).as_bytes())?;
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sealed))
    }

    /// The flow of `state` from its cookie: present, genuine, for this provider and not expired.
    pub fn open_flow(
        &self,
        provider: &str,
        state: &str,
        cookie: Option<&str>,
    ) -> Result<Flow, FlowError> {
        let invalid = || FlowError::Sso(crate::error::Error::StateInvalid);
        let sealed = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(cookie.ok_or_else(invalid)?)
            .map_err(|_| invalid())?;
        let json = self
            .keys
            .data
            .decrypt(&sealed, format!("sso-flow:{state}").as_bytes())
            .map_err(|_| invalid())?;
        let flow: Flow = serde_json::from_slice(&json).map_err(|_| invalid())?;
        let ttl = i64::try_from(self.flow_ttl.as_millis()).unwrap_or(i64::MAX);
        if flow.s != state || flow.p != provider || self.clock.now().0 - flow.t > ttl {
            return Err(invalid());
        }
        Ok(flow)
    }

    pub fn new_flow(
        &self,
        provider: &str,
        return_to: String,
        link: Option<String>,
    ) -> Result<Flow, FlowError> {
        Ok(Flow {
            p: provider.to_owned(),
            s: Self::random_token()?,
            r: return_to,
            n: Self::random_token()?,
            v: String::new(),
            t: self.clock.now().0,
            stage: 0,
            link,
        })
    }

    /// Accepts each value once in its scope (one transaction), else the error of the first one
    /// used before.
    pub async fn once_all(
        &self,
        values: Vec<(String, &str, crate::error::Error)>,
    ) -> Result<(), FlowError> {
        let pairs: Vec<(&str, &str)> = values.iter().map(|(s, v, _)| (s.as_str(), *v)).collect();
        match self.replay.claim_all(&pairs, self.replay_ttl).await? {
            Ok(()) => Ok(()),
            Err(i) => Err(FlowError::Sso(
                values
                    .into_iter()
                    .nth(i)
                    .map_or(crate::error::Error::StateInvalid, |(_, _, e)| e),
            )),
        }
    }

    /// Accepts `value` once in `scope`, else `err`.
    pub async fn once(
        &self,
        scope: String,
        value: &str,
        err: crate::error::Error,
    ) -> Result<(), FlowError> {
        if self.replay.claim(&scope, value, self.replay_ttl).await? {
            Ok(())
        } else {
            Err(FlowError::Sso(err))
        }
    }

    /// The local path or allowed origin to go to, or `/`.
    pub fn return_to(&self, requested: Option<&str>) -> String {
        self.safe_or(requested, "/")
    }

    /// Where a sign-in ends: the requested local path or allowed origin, or the user centre
    /// (INTERFACES.md: without an explicit `return_to` the person lands on 用户中心).
    pub fn sign_in_target(&self, requested: Option<&str>) -> String {
        self.safe_or(requested, USER_CENTRE)
    }

    fn safe_or(&self, requested: Option<&str>, fallback: &str) -> String {
        requested
            .and_then(|r| crate::redirect::safe_target(r, &self.allowed_origins))
            .unwrap_or_else(|| fallback.to_owned())
    }
}

/// The end of every successful sign-in: the account (found, linked or created), what features
/// do at sign-in (binding a company to its enterprise), a new session, and the audit record.
/// Returns the cookie value of the new session.
pub async fn complete_sign_in(
    platform: &Platform,
    provider: &Provider,
    identity: &VerifiedIdentity,
    ctx: &RequestContext,
) -> Result<String, FlowError> {
    let resolved = platform
        .accounts
        .resolve(identity, provider.config.link_policy, ctx)
        .await?;
    platform::sign_in::run(&platform.sign_in_hooks, &resolved.account, identity, ctx).await;
    let (cookie, handle) = platform
        .sessions
        .create(&resolved.account, identity, ctx)
        .await?;
    platform
        .audit
        .append(
            AuditEvent::new("sso.login", Outcome::Success)
                .actor(actor_of(
                    &resolved.account.id,
                    &resolved.account.display_name,
                    identity,
                ))
                .target(format!("session:{handle}"))
                .details(serde_json::json!({
                    "provider": provider.config.id,
                    "subject": identity.subject(),
                    "kind": identity.kind().as_str(),
                    "account_created": resolved.created,
                    "identity_linked": resolved.linked,
                }))
                .context(ctx),
        )
        .await?;
    Ok(cookie)
}

/// The audit actor of a signed-in account: for a legal person, the company acting and the
/// (masked) natural person acting for it.
pub fn actor_of(account_id: &str, display_name: &str, identity: &VerifiedIdentity) -> Actor {
    let mut a = Actor::new(
        ActorKind::Account,
        Some(account_id.to_owned()),
        Some(display_name.to_owned()),
    );
    if let Some(c) = identity.company() {
        a.acting_for = Some(format!("{} ({})", c.name, c.uscc.masked()));
        let p = identity.person();
        a.agent = Some(match &p.certificate {
            Some(cert) => format!("{} {}", mask_name(&p.name), cert.masked()),
            None => mask_name(&p.name),
        });
    } else {
        a.name = Some(mask_name(display_name));
    }
    a
}

/// Records a failed sign-in step with its code (never the ticket, code or assertion).
pub async fn audit_failure(
    audit: &AuditLog,
    provider: &str,
    stage: &str,
    err: &FlowError,
    ctx: &RequestContext,
) {
    let _ = audit
        .append(
            AuditEvent::new("sso.login", Outcome::Failure)
                .actor(Actor::anonymous())
                .reason(err.code())
                .details(serde_json::json!({ "provider": provider, "stage": stage, "detail": err.to_string() }))
                .context(ctx),
        )
        .await;
}

/// The public code of a sign-in failure (also the audit record's `reason`).
pub fn flow_error_code(e: &FlowError) -> ErrorCode {
    use crate::error::Error as S;
    use ErrorCode as C;
    match e {
        FlowError::UnknownProvider(_) => C::ProviderUnknown,
        FlowError::LoginUnsupported(_) => C::LoginUnsupported,
        FlowError::Sso(s) => match s {
            S::StateInvalid => C::StateInvalid,
            S::TicketMissing => C::TicketMissing,
            S::TicketInvalid { .. } => C::TicketInvalid,
            S::TicketReplayed => C::TicketReplayed,
            S::ProviderUnavailable { .. } => C::ProviderUnavailable,
            S::ProviderRefused { .. } => C::ProviderRefused,
            S::AccessDenied { .. } => C::AccessDenied,
            S::IdentityIncomplete { .. } => C::IdentityIncomplete,
            S::IdentityInvalid { .. } => C::IdentityInvalid,
            S::EntryInvalid { .. } => C::EntryInvalid,
            S::SignatureInvalid => C::SignatureInvalid,
            S::TimestampStale => C::TimestampStale,
            S::NonceReplayed => C::NonceReplayed,
            S::TargetNotAllowed => C::TargetNotAllowed,
            S::IdTokenInvalid { .. } => C::IdTokenInvalid,
            S::NonceMismatch => C::NonceMismatch,
            S::UserInfoMismatch => C::UserInfoMismatch,
            S::LogoutTokenInvalid { .. } => C::LogoutTokenInvalid,
            _ => C::Internal,
        },
        FlowError::Account(a) => account_error_code(a),
        FlowError::Session(s) => session_error_code(s),
        FlowError::Store(StoreError::Unavailable(_)) => C::StoreUnavailable,
        FlowError::Audit(_) => C::AuditUnavailable,
        _ => C::Internal,
    }
}

impl From<FlowError> for ApiError {
    fn from(e: FlowError) -> Self {
        let code = flow_error_code(&e);
        if code.status().is_server_error() && code.status() != http::StatusCode::BAD_GATEWAY {
            return ApiError::new(code, default_detail(code)).with_source(e);
        }
        // The domain message names what went wrong without secrets (sso and account errors
        // never carry tickets, codes or numbers); upstream failures keep their cause in the log.
        let detail = e.to_string();
        if matches!(
            code,
            ErrorCode::ProviderUnavailable | ErrorCode::ProviderRefused
        ) {
            tracing::warn!(code = code.as_str(), error = %telemetry::chain(&e), "identity provider failed");
        }
        ApiError::new(code, detail)
    }
}
