//! Plain OAuth 2.0 authorisation code (the Guangdong shape of PROTOCOLS.md §3): code → token →
//! a user-info or token-info endpoint whose JSON is mapped by configured claim paths.
//!
//! The authorisation request is built by the `oauth2` crate (state, PKCE S256). The token
//! exchange is done here: government gateways often answer without `token_type`, or wrap the
//! token (`{"code":0,"data":{"access_token":…}}`), which standard token-response types refuse.

use std::time::Duration;

use oauth2::basic::BasicClient;
use oauth2::{AuthUrl, ClientId, CsrfToken, PkceCodeChallenge, RedirectUrl, Scope};
use outbound::Retry;
use serde_json::Value;
use url::Url;

use crate::claims::ClaimMap;
use crate::oidc::AuthRequest;
use crate::{Error, Secret};
use platform::subject::VerifiedIdentity;

/// How the access token is presented to the user-info endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenPlacement {
    /// `Authorization: Bearer …`
    Header,
    /// `?access_token=…` (some government gateways)
    Query,
}

/// How the client authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP Basic with client id and secret (RFC 6749 §2.3.1).
    Basic,
    /// `client_id` and `client_secret` in the form.
    Post,
}

#[derive(Clone, Debug)]
pub struct OAuth2Settings {
    pub provider: String,
    pub authorize_url: Url,
    pub token_url: Url,
    pub userinfo_url: Url,
    pub client_id: String,
    pub client_secret: Option<Secret>,
    pub scopes: Vec<String>,
    pub pkce: bool,
    pub token_placement: TokenPlacement,
    pub client_auth: ClientAuth,
    /// Where the access token is in the token response (a claim path).
    pub access_token_path: String,
    pub claims: ClaimMap,
    pub timeout: Duration,
}

impl OAuth2Settings {
    fn unavailable(&self, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
        Error::ProviderUnavailable {
            provider: self.provider.clone(),
            source: source.into(),
        }
    }

    fn refused(&self, message: impl Into<String>) -> Error {
        Error::ProviderRefused {
            provider: self.provider.clone(),
            message: message.into(),
        }
    }

    pub fn authorization_url(&self, redirect: &Url, state: &str) -> Result<AuthRequest, Error> {
        let client = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_auth_uri(AuthUrl::from_url(self.authorize_url.clone()))
            .set_redirect_uri(RedirectUrl::from_url(redirect.clone()));
        let state = state.to_owned();
        let mut req = client.authorize_url(move || CsrfToken::new(state));
        for s in &self.scopes {
            req = req.add_scope(Scope::new(s.clone()));
        }
        let mut verifier = String::new();
        if self.pkce {
            let (challenge, v) = PkceCodeChallenge::new_random_sha256();
            req = req.set_pkce_challenge(challenge);
            verifier = v.secret().clone();
        }
        let (url, _) = req.url();
        Ok(AuthRequest {
            url,
            pkce_verifier: verifier,
        })
    }

    pub async fn complete(
        &self,
        http: &outbound::Client,
        redirect: &Url,
        code: &str,
        pkce_verifier: &str,
    ) -> Result<VerifiedIdentity, Error> {
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect.as_str()),
        ];
        if self.pkce {
            form.push(("code_verifier", pkce_verifier));
        }
        // A code is single-use: once the provider may have seen it, it is never sent again.
        let mut request = http
            .post(self.token_url.as_str())
            .timeout(self.timeout)
            .retry(Retry::Unsafe)
            .header("accept", "application/json");
        match (self.client_auth, &self.client_secret) {
            (ClientAuth::Basic, Some(secret)) => {
                request = request.basic_auth(&self.client_id, Some(secret.expose()))
            }
            (ClientAuth::Post, Some(secret)) => {
                form.push(("client_id", &self.client_id));
                form.push(("client_secret", secret.expose()));
            }
            (_, None) => form.push(("client_id", &self.client_id)),
        }
        let res = request
            .form(&form)
            .send()
            .await
            .and_then(crate::http::server_error)
            .map_err(|e| self.unavailable(e))?;
        let status = res.status();
        let body: Value = res
            .json()
            .map_err(|_| self.refused("the token response is not JSON"))?;
        let Some(access) = crate::claims::text(&body, &self.access_token_path) else {
            let error = crate::claims::text(&body, "error")
                .unwrap_or_else(|| format!("HTTP {status}, no access token"));
            let description = crate::claims::text(&body, "error_description").unwrap_or_default();
            return Err(self.refused(
                format!("token endpoint: {error} {description}")
                    .trim_end()
                    .to_owned(),
            ));
        };
        let access = access.as_str();
        // Reading the user's document with the token has no effect: safe to retry.
        let mut request = http
            .get(self.userinfo_url.as_str())
            .timeout(self.timeout)
            .retry(Retry::Safe);
        request = match self.token_placement {
            TokenPlacement::Header => request.bearer_auth(access),
            TokenPlacement::Query => request.query(&[("access_token", access)]),
        };
        let res = request
            .send()
            .await
            .and_then(crate::http::server_error)
            .map_err(|e| self.unavailable(e))?;
        if !res.status().is_success() {
            return Err(self.refused(format!("user-info answered HTTP {}", res.status())));
        }
        let doc: Value = res
            .json()
            .map_err(|_| self.refused("user-info is not JSON"))?;
        self.claims.apply(&self.provider, &doc)
    }
}
