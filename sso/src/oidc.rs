//! OpenID Connect relying party (PROTOCOLS.md §3): discovery, authorisation code with PKCE S256,
//! state and nonce, ID-token validation with an algorithm allowlist, JWKS cached and re-fetched
//! once on an unknown key id, user-info with subject check, RP-initiated logout and the
//! back-channel logout token.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use openidconnect::DiscoveryError;
use openidconnect::core::{
    CoreClient, CoreIdToken, CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreTokenResponse,
};
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    ProviderMetadataWithLogout, RedirectUrl, Scope, SignatureVerificationError,
};
use outbound::Retry;
use serde_json::Value;
use url::Url;

use crate::claims::ClaimMap;
use crate::http::bridge;
use crate::{Error, Secret};
use platform::subject::VerifiedIdentity;

/// Algorithms accepted by default: asymmetric only. `none` is never accepted, and HMAC only when
/// configured explicitly (then keyed with the client secret, as the specification says — never
/// with a public key).
pub const DEFAULT_ALGORITHMS: [&str; 9] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

/// Minimum time between two JWKS fetches provoked by unknown key ids, so that tokens with random
/// `kid`s cannot make the hub hammer the provider.
const JWKS_REFETCH_COOLDOWN: Duration = Duration::from_secs(10);

#[derive(Clone, Debug)]
pub struct OidcSettings {
    pub provider: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<Secret>,
    pub scopes: Vec<String>,
    pub algorithms: Vec<String>,
    pub claims: ClaimMap,
    /// Fetch the user-info endpoint and merge its claims (its `sub` must match).
    pub userinfo: bool,
    /// How long discovery metadata and keys are trusted before being fetched again.
    pub metadata_ttl: Duration,
    pub timeout: Duration,
}

struct Discovered {
    metadata: ProviderMetadataWithLogout,
    fetched: Instant,
    /// When keys were last fetched because a token named an unknown key (not at discovery).
    keys_refetched: Option<Instant>,
}

/// A configured OpenID Connect provider with its cached metadata and keys.
pub struct OidcProvider {
    pub settings: OidcSettings,
    cache: Mutex<Option<Arc<Discovered>>>,
    algorithms: Vec<CoreJwsSigningAlgorithm>,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider")
            .field("provider", &self.settings.provider)
            .finish_non_exhaustive()
    }
}

/// What the hub keeps between the redirect and the callback (in the browser-bound flow cookie).
#[derive(Debug)]
pub struct AuthRequest {
    pub url: Url,
    pub pkce_verifier: String,
}

/// Who a back-channel logout is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogoutClaims {
    pub subject: Option<String>,
    pub session: Option<String>,
    /// The token's id, to be accepted once.
    pub jti: String,
}

impl OidcProvider {
    pub fn new(settings: OidcSettings) -> Result<Self, Error> {
        let mut algorithms = Vec::new();
        for a in &settings.algorithms {
            if a.eq_ignore_ascii_case("none") {
                return Err(Error::Config(
                    "the `none` algorithm is never accepted".into(),
                ));
            }
            if a.starts_with("HS") && settings.client_secret.is_none() {
                return Err(Error::Config(format!("{a} needs a client secret")));
            }
            let alg: CoreJwsSigningAlgorithm = serde_json::from_value(Value::String(a.clone()))
                .map_err(|_| Error::Config(format!("unknown signature algorithm {a}")))?;
            algorithms.push(alg);
        }
        IssuerUrl::new(settings.issuer.clone())
            .map_err(|e| Error::Config(format!("issuer: {e}")))?;
        Ok(OidcProvider {
            settings,
            cache: Mutex::new(None),
            algorithms,
        })
    }

    fn unavailable(&self, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
        Error::ProviderUnavailable {
            provider: self.settings.provider.clone(),
            source: source.into(),
        }
    }

    /// The provider's metadata and keys, from the cache while fresh.
    async fn discovered(&self, http: &outbound::Client) -> Result<Arc<Discovered>, Error> {
        if let Some(d) = self.cache.lock().ok().and_then(|c| c.clone())
            && d.fetched.elapsed() < self.settings.metadata_ttl
        {
            return Ok(d);
        }
        let issuer = IssuerUrl::new(self.settings.issuer.clone())
            .map_err(|e| Error::Config(e.to_string()))?;
        // Discovery reads: safe to retry.
        let metadata = ProviderMetadataWithLogout::discover_async(
            issuer,
            &bridge(http, Retry::Safe, self.settings.timeout),
        )
        .await
        .map_err(|e| self.discovery_error(e))?;
        let d = Arc::new(Discovered {
            metadata,
            fetched: Instant::now(),
            keys_refetched: None,
        });
        if let Ok(mut c) = self.cache.lock() {
            *c = Some(d.clone());
        }
        Ok(d)
    }

    /// Fetches the keys again (key rotation), unless that happened moments ago.
    async fn refresh_keys(
        &self,
        http: &outbound::Client,
        current: &Discovered,
    ) -> Result<Option<Arc<Discovered>>, Error> {
        if current
            .keys_refetched
            .is_some_and(|t| t.elapsed() < JWKS_REFETCH_COOLDOWN)
        {
            return Ok(None);
        }
        let jwks = CoreJsonWebKeySet::fetch_async(
            current.metadata.jwks_uri(),
            &bridge(http, Retry::Safe, self.settings.timeout),
        )
        .await
        .map_err(|e| self.discovery_error(e))?;
        let d = Arc::new(Discovered {
            metadata: current.metadata.clone().set_jwks(jwks),
            fetched: current.fetched,
            keys_refetched: Some(Instant::now()),
        });
        if let Ok(mut c) = self.cache.lock() {
            *c = Some(d.clone());
        }
        Ok(Some(d))
    }

    fn client(&self, d: &Discovered, redirect: &Url) -> Result<OidcClient, Error> {
        let client = CoreClient::from_provider_metadata(
            d.metadata.clone(),
            ClientId::new(self.settings.client_id.clone()),
            self.settings
                .client_secret
                .as_ref()
                .map(|s| ClientSecret::new(s.expose().to_owned())),
        )
        .set_redirect_uri(
            RedirectUrl::new(redirect.to_string()).map_err(|e| Error::Config(e.to_string()))?,
        );
        Ok(client)
    }

    /// The authorisation request to send the browser to.
    pub async fn authorization_url(
        &self,
        http: &outbound::Client,
        redirect: &Url,
        state: &str,
        nonce: &str,
    ) -> Result<AuthRequest, Error> {
        let d = self.discovered(http).await?;
        let client = self.client(&d, redirect)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = state.to_owned();
        let nonce = nonce.to_owned();
        let mut req = client
            .authorize_url(
                AuthenticationFlow::<openidconnect::core::CoreResponseType>::AuthorizationCode,
                move || CsrfToken::new(state),
                move || Nonce::new(nonce),
            )
            .set_pkce_challenge(challenge);
        for s in &self.settings.scopes {
            if s != "openid" {
                req = req.add_scope(Scope::new(s.clone()));
            }
        }
        let (url, _, _) = req.url();
        Ok(AuthRequest {
            url,
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Completes the code flow: exchanges the code, validates the ID token (and user-info), and
    /// maps the claims.
    pub async fn complete(
        &self,
        http: &outbound::Client,
        redirect: &Url,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<VerifiedIdentity, Error> {
        let mut d = self.discovered(http).await?;
        let client = self.client(&d, redirect)?;
        let response: CoreTokenResponse = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| Error::Config(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            // A code is single-use: once the provider may have seen it, never send it again.
            .request_async(&bridge(http, Retry::Unsafe, self.settings.timeout))
            .await
            .map_err(|e| self.token_error(e))?;
        let id_token: &CoreIdToken =
            openidconnect::TokenResponse::id_token(&response).ok_or_else(|| {
                Error::IdTokenInvalid {
                    reason: "the token response has no ID token".into(),
                }
            })?;
        let nonce = Nonce::new(nonce.to_owned());
        // One retry after fetching the keys again when the token names a key we do not know.
        let subject = loop {
            let client = self.client(&d, redirect)?;
            let verifier = client
                .id_token_verifier()
                .set_allowed_algs(self.algorithms.clone());
            match id_token.claims(&verifier, &nonce) {
                Ok(claims) => break claims.subject().to_string(),
                Err(ClaimsVerificationError::SignatureVerification(
                    SignatureVerificationError::NoMatchingKey,
                )) => match self.refresh_keys(http, &d).await? {
                    Some(fresh) => d = fresh,
                    None => {
                        return Err(Error::IdTokenInvalid {
                            reason: "signed with a key the provider does not publish".into(),
                        });
                    }
                },
                Err(e) => return Err(id_token_error(e)),
            }
        };
        // The token verified: its payload is now trustworthy, including claims the typed
        // struct does not carry (`sid`, certificate numbers).
        let raw = id_token.to_string();
        let mut doc = jwt_payload(&raw).ok_or_else(|| Error::IdTokenInvalid {
            reason: "unreadable payload".into(),
        })?;
        if self.settings.userinfo
            && let Some(endpoint) = d.metadata.userinfo_endpoint()
        {
            let info = self
                .userinfo(http, endpoint.url(), response.access_token().secret())
                .await?;
            if crate::claims::text(&info, "sub").as_deref() != Some(subject.as_str()) {
                return Err(Error::UserInfoMismatch);
            }
            if let (Value::Object(base), Value::Object(extra)) = (&mut doc, info) {
                for (k, v) in extra {
                    base.entry(k).or_insert(v);
                }
            }
        }
        let sid = crate::claims::text(&doc, "sid");
        Ok(self
            .settings
            .claims
            .apply(&self.settings.provider, &doc)?
            .with_provider_session(sid)
            .with_id_token(raw))
    }

    async fn userinfo(
        &self,
        http: &outbound::Client,
        url: &Url,
        access_token: &str,
    ) -> Result<Value, Error> {
        let res = http
            .get(url.as_str())
            .bearer_auth(access_token)
            .timeout(self.settings.timeout)
            .retry(Retry::Safe)
            .send()
            .await
            .and_then(crate::http::server_error)
            .map_err(|e| self.unavailable(e))?;
        if !res.status().is_success() {
            return Err(Error::ProviderRefused {
                provider: self.settings.provider.clone(),
                message: format!("user-info answered HTTP {}", res.status()),
            });
        }
        res.json().map_err(|_| Error::ProviderRefused {
            provider: self.settings.provider.clone(),
            message: "user-info is not JSON (signed user-info is not supported)".into(),
        })
    }

    /// A failed discovery or key fetch; a transport failure keeps the outbound error as the
    /// source, so that callers can tell whose fault it was.
    fn discovery_error(&self, e: DiscoveryError<outbound::Error>) -> Error {
        match e {
            DiscoveryError::Request(e) => self.unavailable(e),
            other => self.unavailable(telemetry::chain(&other)),
        }
    }

    fn token_error<T: openidconnect::ErrorResponse + 'static>(
        &self,
        e: openidconnect::RequestTokenError<outbound::Error, T>,
    ) -> Error {
        match e {
            openidconnect::RequestTokenError::ServerResponse(r) => Error::ProviderRefused {
                provider: self.settings.provider.clone(),
                message: format!("token endpoint: {r}"),
            },
            openidconnect::RequestTokenError::Request(r) => self.unavailable(r),
            // The token response did not parse: typically an ID token lacking a required claim
            // (`sub`, `iat`, `iss`, `aud`, `exp`).
            openidconnect::RequestTokenError::Parse(p, _) => Error::IdTokenInvalid {
                reason: format!("the token response is malformed: {p}"),
            },
            other => Error::ProviderRefused {
                provider: self.settings.provider.clone(),
                message: other.to_string(),
            },
        }
    }

    /// RP-initiated logout: the provider's end-session URL, if it has one.
    pub async fn logout_url(
        &self,
        http: &outbound::Client,
        id_token_hint: Option<&str>,
        post_logout_redirect: &Url,
    ) -> Result<Option<Url>, Error> {
        let d = self.discovered(http).await?;
        let Some(endpoint) = d
            .metadata
            .additional_metadata()
            .end_session_endpoint
            .as_ref()
        else {
            return Ok(None);
        };
        let mut url = endpoint.url().clone();
        {
            let mut q = url.query_pairs_mut();
            if let Some(hint) = id_token_hint {
                q.append_pair("id_token_hint", hint);
            }
            q.append_pair("client_id", &self.settings.client_id);
            q.append_pair("post_logout_redirect_uri", post_logout_redirect.as_str());
        }
        Ok(Some(url))
    }

    /// Validates a back-channel logout token (OpenID Connect Back-Channel Logout 1.0 §2.6).
    pub async fn verify_logout_token(
        &self,
        http: &outbound::Client,
        token: &str,
        now_secs: i64,
    ) -> Result<LogoutClaims, Error> {
        let invalid = |reason: &str| Error::LogoutTokenInvalid {
            reason: reason.to_owned(),
        };
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("not a JWT"))?;
        let alg_name = serde_json::to_value(header.alg)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        if !self.settings.algorithms.contains(&alg_name) {
            return Err(invalid("signature algorithm not allowed"));
        }
        if header.typ.as_deref().is_some_and(|t| {
            !t.eq_ignore_ascii_case("logout+jwt") && !t.eq_ignore_ascii_case("JWT")
        }) {
            return Err(invalid("not a logout token"));
        }
        let mut d = self.discovered(http).await?;
        let claims = loop {
            let keys: jsonwebtoken::jwk::JwkSet = serde_json::to_value(d.metadata.jwks())
                .and_then(serde_json::from_value)
                .map_err(|_| invalid("the provider's keys are unreadable"))?;
            let key = match &header.kid {
                Some(kid) => keys.find(kid),
                None if keys.keys.len() == 1 => keys.keys.first(),
                None => return Err(invalid("no key id, and the provider has several keys")),
            };
            let Some(key) = key else {
                match self.refresh_keys(http, &d).await? {
                    Some(fresh) => {
                        d = fresh;
                        continue;
                    }
                    None => return Err(invalid("signed with a key the provider does not publish")),
                }
            };
            let decoding =
                jsonwebtoken::DecodingKey::from_jwk(key).map_err(|_| invalid("unusable key"))?;
            let mut validation = jsonwebtoken::Validation::new(header.alg);
            validation.set_issuer(&[self.settings.issuer.as_str()]);
            validation.set_audience(&[self.settings.client_id.as_str()]);
            validation.set_required_spec_claims(&["iss", "aud", "exp"]);
            validation.leeway = 60;
            break jsonwebtoken::decode::<Value>(token, &decoding, &validation)
                .map_err(|e| Error::LogoutTokenInvalid {
                    reason: e.to_string(),
                })?
                .claims;
        };
        let iat = claims
            .get("iat")
            .and_then(Value::as_i64)
            .ok_or_else(|| invalid("no iat"))?;
        if (now_secs - iat).abs() > 600 {
            return Err(invalid("issued too long ago or in the future"));
        }
        let event = claims
            .get("events")
            .and_then(|e| e.get("http://schemas.openid.net/event/backchannel-logout"));
        if !event.is_some_and(Value::is_object) {
            return Err(invalid("no back-channel logout event"));
        }
        if claims.get("nonce").is_some() {
            return Err(invalid("a logout token must not have a nonce"));
        }
        let subject = crate::claims::text(&claims, "sub");
        let session = crate::claims::text(&claims, "sid");
        if subject.is_none() && session.is_none() {
            return Err(invalid("neither sub nor sid"));
        }
        let jti = crate::claims::text(&claims, "jti").ok_or_else(|| invalid("no jti"))?;
        Ok(LogoutClaims {
            subject,
            session,
            jti,
        })
    }
}

type OidcClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

fn id_token_error(e: ClaimsVerificationError) -> Error {
    match e {
        ClaimsVerificationError::InvalidNonce(_) => Error::NonceMismatch,
        other => Error::IdTokenInvalid {
            reason: telemetry::chain(&other),
        },
    }
}

/// The payload of a compact JWT as JSON (no verification: call only on a verified token).
fn jwt_payload(jwt: &str) -> Option<Value> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(algs: &[&str], secret: bool) -> OidcSettings {
        OidcSettings {
            provider: "corp".into(),
            issuer: "https://idp.example.invalid".into(),
            client_id: "hub".into(),
            client_secret: secret.then(|| Secret::new("s")),
            scopes: vec!["openid".into(), "profile".into()],
            algorithms: algs.iter().map(|s| (*s).to_owned()).collect(),
            claims: ClaimMap::default(),
            userinfo: true,
            metadata_ttl: Duration::from_secs(3600),
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn algorithm_allowlist_is_checked_at_construction() {
        assert!(OidcProvider::new(settings(&DEFAULT_ALGORITHMS, false)).is_ok());
        assert!(matches!(
            OidcProvider::new(settings(&["none"], false)),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            OidcProvider::new(settings(&["HS256"], false)),
            Err(Error::Config(_))
        ));
        assert!(OidcProvider::new(settings(&["HS256"], true)).is_ok());
        assert!(matches!(
            OidcProvider::new(settings(&["XX999"], false)),
            Err(Error::Config(_))
        ));
    }

    #[test]
    fn payload_of_a_compact_jwt() {
        let p =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"u","sid":"s"}"#);
        assert_eq!(jwt_payload(&format!("e30.{p}.sig")).unwrap()["sid"], "s");
        assert!(jwt_payload("garbage").is_none());
    }
}
