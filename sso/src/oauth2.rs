//! Plain OAuth 2.0 authorisation code (the Guangdong shape of PROTOCOLS.md §3): code → token →
//! a user-info or token-info endpoint whose JSON is mapped by configured claim paths.

use std::time::Duration;

use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, TokenUrl,
};
use serde_json::Value;
use url::Url;

use crate::claims::ClaimMap;
use crate::http::bridge;
use crate::oidc::AuthRequest;
use crate::subject::VerifiedIdentity;
use crate::{Error, Secret};

/// How the access token is presented to the user-info endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenPlacement {
    /// `Authorization: Bearer …`
    Header,
    /// `?access_token=…` (some government gateways)
    Query,
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
        http: &reqwest::Client,
        redirect: &Url,
        code: &str,
        pkce_verifier: &str,
    ) -> Result<VerifiedIdentity, Error> {
        let mut client = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_auth_uri(AuthUrl::from_url(self.authorize_url.clone()))
            .set_token_uri(TokenUrl::from_url(self.token_url.clone()))
            .set_redirect_uri(RedirectUrl::from_url(redirect.clone()));
        if let Some(s) = &self.client_secret {
            client = client.set_client_secret(ClientSecret::new(s.expose().to_owned()));
        }
        let mut req = client.exchange_code(AuthorizationCode::new(code.to_owned()));
        if self.pkce {
            req = req.set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()));
        }
        let token = req
            .request_async(&bridge(http, self.timeout))
            .await
            .map_err(|e| match e {
                oauth2::RequestTokenError::ServerResponse(r) => {
                    self.refused(format!("token endpoint: {r}"))
                }
                oauth2::RequestTokenError::Request(r) => self.unavailable(crate::chain(&r)),
                other => self.refused(format!("token endpoint: {other}")),
            })?;
        let access = token.access_token().secret();
        let mut request = http.get(self.userinfo_url.clone()).timeout(self.timeout);
        request = match self.token_placement {
            TokenPlacement::Header => request.bearer_auth(access),
            TokenPlacement::Query => request.query(&[("access_token", access)]),
        };
        let res = request
            .send()
            .await
            .map_err(|e| self.unavailable(e.without_url()))?;
        if res.status().is_server_error() {
            return Err(self.unavailable(format!("user-info answered HTTP {}", res.status())));
        }
        if !res.status().is_success() {
            return Err(self.refused(format!("user-info answered HTTP {}", res.status())));
        }
        let doc: Value = res
            .json()
            .await
            .map_err(|_| self.refused("user-info is not JSON"))?;
        self.claims.apply(&self.provider, &doc)
    }
}
