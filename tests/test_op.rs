//! A scriptable OpenID provider for the relying party's negative cases, plus a plain OAuth 2.0
//! provider of the Guangdong shape, on one axum server at `127.0.0.1:<ephemeral>`.
//!
//! Unlike the certified provider (`node_op`), this one has no user interface: `/authorize`
//! answers at once with a redirect carrying a code, so a test drives a whole flow with plain
//! HTTP. [`TestOp::set_scenario`] then decides how the next tokens are made: valid, or with
//! exactly one of the defects the OpenID Foundation's relying-party certification names (issuer
//! mismatch, missing `sub`, wrong `aud`, missing `iat`, expired, absent `kid` with one and with
//! several keys, bad signature, `alg=none`, HMAC keyed with the public key, wrong nonce,
//! userinfo `sub` mismatch, key rotation).
//!
//! Keys: every key of this provider is RSA 2048 (RS256), made at start-up with the `openssl`
//! command-line tool (`openssl genpkey`), because the HMAC key-confusion case needs an RSA public
//! key in the JWKS and because the crates at hand (rcgen on ring) cannot make RSA keys. Three
//! keys are made per provider: the signing key, an extra key published only in the
//! `KidAbsentMultipleKeys` scenario, and the rotated key of `RotatedKey`. [`SigningKey`] can also
//! make P-256 (ES256) keys in-process; `node_op` uses it for the certified provider.
//!
//! Endpoints (all relative to [`TestOp::issuer`]):
//! - `/.well-known/openid-configuration`, `/jwks`
//! - `/authorize` (PKCE S256 required), `/token` (`client_secret_basic` or `client_secret_post`),
//!   `/userinfo` (GET or POST, `Authorization: Bearer`), `/end_session` (redirects to
//!   `post_logout_redirect_uri` with `state`; the last request is kept for assertions)
//! - `/oauth2/authorize` (PKCE optional), `/oauth2/token` (answers `{"access_token": …}` only),
//!   `/oauth2/userinfo` (token as `Authorization: Bearer` or `?access_token=`; answers the nested
//!   document of [`guangdong_userinfo`], replaceable with [`TestOp::set_oauth2_userinfo`])

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail, ensure};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value, json};

/// The back-channel logout event name (OpenID Connect Back-Channel Logout 1.0, §2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Lifetime of the ID tokens, access tokens and logout tokens this provider makes.
const TOKEN_SECONDS: i64 = 600;

/// What the relying party is configured with at this provider (one client).
#[derive(Clone, Debug)]
pub struct TestOpConfig {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
    /// The user's claims, released in the ID token and by `/userinfo`; must include `"sub"`.
    pub claims: Value,
}

/// How the next tokens are made (see each variant). Set it before the token request: the
/// scenario in force when `/token` answers shapes that ID token and that access token's
/// `/userinfo` answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// Everything right: the relying party must accept.
    Valid,
    /// `iss` is not the issuer (it is the issuer with `/other-issuer` appended).
    IssuerMismatch,
    /// No `sub` claim in the ID token.
    MissingSub,
    /// `aud` names another client.
    WrongAudience,
    /// No `iat` claim.
    MissingIat,
    /// `exp` ten minutes in the past.
    Expired,
    /// No `kid` in the header; the JWKS has exactly one key, the signing key: must ACCEPT.
    KidAbsentSingleKey,
    /// No `kid` in the header; the JWKS has two RSA keys (the signing key first): must REJECT.
    KidAbsentMultipleKeys,
    /// The last byte of the signature flipped.
    BadSignature,
    /// Header `{"alg":"none"}` and an empty signature.
    AlgNone,
    /// `alg` HS256 keyed with the signing key's public key PEM (SPKI, as `openssl pkey -pubout`
    /// prints it), `kid` naming that RSA key: the classic key-confusion attack.
    HmacWithPublicKey,
    /// `nonce` differs from the authorization request's.
    InvalidNonce,
    /// The ID token is valid, but `/userinfo` answers another `sub`: the flow must fail.
    UserinfoSubMismatch,
    /// From now on (sticky) tokens are signed with a new key, published in `/jwks` (first, the
    /// old key second) only from now on: the relying party must re-fetch the JWKS once on the
    /// unknown `kid` and accept.
    RotatedKey,
}

impl Scenario {
    pub const ALL: [Scenario; 14] = [
        Scenario::Valid,
        Scenario::IssuerMismatch,
        Scenario::MissingSub,
        Scenario::WrongAudience,
        Scenario::MissingIat,
        Scenario::Expired,
        Scenario::KidAbsentSingleKey,
        Scenario::KidAbsentMultipleKeys,
        Scenario::BadSignature,
        Scenario::AlgNone,
        Scenario::HmacWithPublicKey,
        Scenario::InvalidNonce,
        Scenario::UserinfoSubMismatch,
        Scenario::RotatedKey,
    ];

    /// Whether a correct relying party completes a sign-in in this scenario.
    pub fn relying_party_must_accept(self) -> bool {
        matches!(
            self,
            Scenario::Valid | Scenario::KidAbsentSingleKey | Scenario::RotatedKey
        )
    }
}

/// A defect to put into a back-channel logout token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogoutDefect {
    WrongAudience,
    WrongIssuer,
    /// No `events` claim.
    NoEvents,
    /// A `nonce` claim, which logout tokens must not have.
    WithNonce,
    /// The last signature byte flipped.
    BadSignature,
    /// `exp` in the past.
    Expired,
    /// Header `alg` none, empty signature.
    AlgNone,
}

/// What [`TestOp::logout_token`] makes: `sub` and/or `sid` (a valid token has at least one),
/// and at most one defect (`None`: valid).
#[derive(Clone, Debug, Default)]
pub struct LogoutTokenSpec {
    pub sub: Option<String>,
    pub sid: Option<String>,
    pub defect: Option<LogoutDefect>,
}

/// The Guangdong-shape userinfo document `/oauth2/userinfo` answers by default.
pub fn guangdong_userinfo() -> Value {
    json!({
        "code": 0,
        "data": {
            "user": {
                "id": "gd-10001",
                "name": "张三",
                "idcard": "350802199003070029",
                "idType": "111"
            }
        }
    })
}

/// A running test provider; stops when dropped.
pub struct TestOp {
    inner: Arc<Inner>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

struct Inner {
    issuer: String,
    config: TestOpConfig,
    primary: SigningKey,
    extra: SigningKey,
    rotated: SigningKey,
    state: Mutex<Mutable>,
}

struct Mutable {
    scenario: Scenario,
    rotated: bool,
    codes: HashMap<String, CodeGrant>,
    tokens: HashMap<String, TokenGrant>,
    oauth2_userinfo: Value,
    last_sid: Option<String>,
    last_end_session: Option<HashMap<String, String>>,
}

struct CodeGrant {
    oidc: bool,
    redirect_uri: String,
    code_challenge: Option<String>,
    nonce: Option<String>,
    sid: String,
}

struct TokenGrant {
    oidc: bool,
    scenario: Scenario,
}

impl TestOp {
    /// Makes the keys, binds `127.0.0.1:0` and serves on the current tokio runtime.
    pub async fn start(config: TestOpConfig) -> Result<TestOp> {
        ensure!(
            config.claims.get("sub").and_then(Value::as_str).is_some(),
            "TestOpConfig.claims must be an object with a string \"sub\""
        );
        let (primary, extra, rotated) = tokio::try_join!(
            SigningKey::generate_rs256(),
            SigningKey::generate_rs256(),
            SigningKey::generate_rs256()
        )?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let issuer = format!("http://{}", listener.local_addr()?);
        let inner = Arc::new(Inner {
            issuer,
            config,
            primary,
            extra,
            rotated,
            state: Mutex::new(Mutable {
                scenario: Scenario::Valid,
                rotated: false,
                codes: HashMap::new(),
                tokens: HashMap::new(),
                oauth2_userinfo: guangdong_userinfo(),
                last_sid: None,
                last_end_session: None,
            }),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", axum::routing::post(token))
            .route("/userinfo", get(userinfo).post(userinfo))
            .route("/end_session", get(end_session))
            .route("/oauth2/authorize", get(oauth2_authorize))
            .route("/oauth2/token", axum::routing::post(oauth2_token))
            .route(
                "/oauth2/userinfo",
                get(oauth2_userinfo).post(oauth2_userinfo),
            )
            .with_state(inner.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(TestOp {
            inner,
            stop: Some(tx),
        })
    }

    /// `http://127.0.0.1:<port>`, the `iss` of valid tokens and the discovery base.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// `issuer` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.inner.issuer)
    }

    pub fn config(&self) -> &TestOpConfig {
        &self.inner.config
    }

    pub fn set_scenario(&self, scenario: Scenario) {
        let mut st = self.inner.lock();
        if scenario == Scenario::RotatedKey {
            st.rotated = true;
        }
        st.scenario = scenario;
    }

    pub fn scenario(&self) -> Scenario {
        self.inner.lock().scenario
    }

    /// The JWKS `/jwks` serves now.
    pub fn jwks(&self) -> Value {
        self.inner.published_jwks(&self.inner.lock())
    }

    /// The key that signs now (the rotated key once `RotatedKey` was set).
    pub fn signing_key(&self) -> SigningKey {
        self.inner.current_key(&self.inner.lock()).clone()
    }

    /// The `sid` of the last authorization (carried by its ID token), for logout tokens.
    pub fn last_sid(&self) -> Option<String> {
        self.inner.lock().last_sid.clone()
    }

    /// The query of the last `/end_session` request.
    pub fn last_end_session(&self) -> Option<HashMap<String, String>> {
        self.inner.lock().last_end_session.clone()
    }

    /// Replaces the document `/oauth2/userinfo` answers.
    pub fn set_oauth2_userinfo(&self, document: Value) {
        self.inner.lock().oauth2_userinfo = document;
    }

    /// An ID token made now under the current scenario (as `/token` would make it), without a
    /// flow: for testing a validator directly.
    pub fn id_token(&self, nonce: Option<&str>) -> Result<String> {
        let st = self.inner.lock();
        self.inner
            .make_id_token(&st, st.scenario, nonce, "test-op-session")
    }

    /// A back-channel logout token (`typ` `logout+jwt`) signed with the current key.
    pub fn logout_token(&self, spec: LogoutTokenSpec) -> String {
        let st = self.inner.lock();
        self.inner
            .make_logout_token(&st, &spec)
            .expect("signing a logout token")
    }

    /// Stops serving (also done on drop).
    pub fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for TestOp {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Mutable> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn current_key(&self, st: &Mutable) -> &SigningKey {
        if st.rotated {
            &self.rotated
        } else {
            &self.primary
        }
    }

    fn published_jwks(&self, st: &Mutable) -> Value {
        let current = self.current_key(st);
        match st.scenario {
            Scenario::KidAbsentSingleKey => public_jwks(&[current]),
            Scenario::KidAbsentMultipleKeys => public_jwks(&[current, &self.extra]),
            _ if st.rotated => public_jwks(&[&self.rotated, &self.primary]),
            _ => public_jwks(&[&self.primary]),
        }
    }

    fn make_id_token(
        &self,
        st: &Mutable,
        scenario: Scenario,
        nonce: Option<&str>,
        sid: &str,
    ) -> Result<String> {
        let now = unix_now();
        let mut claims = match &self.config.claims {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        };
        claims.insert("iss".into(), json!(self.issuer));
        claims.insert("aud".into(), json!(self.config.client_id));
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(now + TOKEN_SECONDS));
        claims.insert("auth_time".into(), json!(now));
        claims.insert("sid".into(), json!(sid));
        if let Some(n) = nonce {
            claims.insert("nonce".into(), json!(n));
        }
        match scenario {
            Scenario::IssuerMismatch => {
                claims.insert("iss".into(), json!(format!("{}/other-issuer", self.issuer)));
            }
            Scenario::MissingSub => {
                claims.remove("sub");
            }
            Scenario::WrongAudience => {
                claims.insert("aud".into(), json!("some-other-client"));
            }
            Scenario::MissingIat => {
                claims.remove("iat");
            }
            Scenario::Expired => {
                claims.insert("iat".into(), json!(now - 2 * TOKEN_SECONDS));
                claims.insert("auth_time".into(), json!(now - 2 * TOKEN_SECONDS));
                claims.insert("exp".into(), json!(now - TOKEN_SECONDS));
            }
            Scenario::InvalidNonce => {
                claims.insert("nonce".into(), json!(format!("not-{}", random_token())));
            }
            _ => {}
        }
        let claims = Value::Object(claims);
        let key = self.current_key(st);
        match scenario {
            Scenario::KidAbsentSingleKey | Scenario::KidAbsentMultipleKeys => {
                key.sign(&key.header(None, "JWT"), &claims)
            }
            Scenario::BadSignature => Ok(flip_last_signature_byte(
                &key.sign(&key.header(Some(key.kid()), "JWT"), &claims)?,
            )?),
            Scenario::AlgNone => unsigned_token("JWT", &claims),
            Scenario::HmacWithPublicKey => {
                let mut header = Header::new(Algorithm::HS256);
                header.kid = Some(key.kid().to_owned());
                Ok(jsonwebtoken::encode(
                    &header,
                    &claims,
                    &EncodingKey::from_secret(key.public_key_pem().as_bytes()),
                )?)
            }
            _ => key.sign(&key.header(Some(key.kid()), "JWT"), &claims),
        }
    }

    fn make_logout_token(&self, st: &Mutable, spec: &LogoutTokenSpec) -> Result<String> {
        let now = unix_now();
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(self.issuer));
        claims.insert("aud".into(), json!(self.config.client_id));
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(now + TOKEN_SECONDS));
        claims.insert("jti".into(), json!(random_token()));
        claims.insert("events".into(), json!({ BACKCHANNEL_LOGOUT_EVENT: {} }));
        if let Some(sub) = &spec.sub {
            claims.insert("sub".into(), json!(sub));
        }
        if let Some(sid) = &spec.sid {
            claims.insert("sid".into(), json!(sid));
        }
        match spec.defect {
            Some(LogoutDefect::WrongAudience) => {
                claims.insert("aud".into(), json!("some-other-client"));
            }
            Some(LogoutDefect::WrongIssuer) => {
                claims.insert("iss".into(), json!(format!("{}/other-issuer", self.issuer)));
            }
            Some(LogoutDefect::NoEvents) => {
                claims.remove("events");
            }
            Some(LogoutDefect::WithNonce) => {
                claims.insert("nonce".into(), json!(random_token()));
            }
            Some(LogoutDefect::Expired) => {
                claims.insert("iat".into(), json!(now - 2 * TOKEN_SECONDS));
                claims.insert("exp".into(), json!(now - TOKEN_SECONDS));
            }
            Some(LogoutDefect::BadSignature | LogoutDefect::AlgNone) | None => {}
        }
        let claims = Value::Object(claims);
        let key = self.current_key(st);
        let header = key.header(Some(key.kid()), "logout+jwt");
        match spec.defect {
            Some(LogoutDefect::BadSignature) => {
                flip_last_signature_byte(&key.sign(&header, &claims)?)
            }
            Some(LogoutDefect::AlgNone) => unsigned_token("logout+jwt", &claims),
            _ => key.sign(&header, &claims),
        }
    }

    /// `/authorize` and `/oauth2/authorize`.
    fn authorize(&self, q: &HashMap<String, String>, oidc: bool) -> Response {
        let cfg = &self.config;
        if q.get("client_id") != Some(&cfg.client_id) {
            return (StatusCode::BAD_REQUEST, "unknown client_id").into_response();
        }
        if q.get("redirect_uri") != Some(&cfg.redirect_uri) {
            return (StatusCode::BAD_REQUEST, "redirect_uri is not registered").into_response();
        }
        let state = q.get("state").map(String::as_str);
        let fail = |error: &str, description: &str| {
            redirect_to(
                &cfg.redirect_uri,
                &[
                    ("error", Some(error)),
                    ("error_description", Some(description)),
                    ("state", state),
                ],
            )
        };
        if q.get("response_type").map(String::as_str) != Some("code") {
            return fail("unsupported_response_type", "response_type must be code");
        }
        if oidc
            && !q
                .get("scope")
                .is_some_and(|s| s.split(' ').any(|v| v == "openid"))
        {
            return fail("invalid_scope", "scope must include openid");
        }
        let code_challenge = match (
            q.get("code_challenge"),
            q.get("code_challenge_method").map(String::as_str),
        ) {
            (Some(c), Some("S256")) => Some(c.clone()),
            (Some(_), _) => return fail("invalid_request", "code_challenge_method must be S256"),
            (None, _) if oidc => {
                return fail("invalid_request", "PKCE is required (code_challenge, S256)");
            }
            (None, _) => None,
        };
        let code = random_token();
        let sid = random_token();
        let mut st = self.lock();
        st.codes.insert(
            code.clone(),
            CodeGrant {
                oidc,
                redirect_uri: cfg.redirect_uri.clone(),
                code_challenge,
                nonce: q.get("nonce").cloned(),
                sid: sid.clone(),
            },
        );
        if oidc {
            st.last_sid = Some(sid);
        }
        redirect_to(
            &cfg.redirect_uri,
            &[("code", Some(&code)), ("state", state)],
        )
    }

    /// `/token` and `/oauth2/token`.
    fn token(&self, headers: &HeaderMap, form: &HashMap<String, String>, oidc: bool) -> Response {
        let cfg = &self.config;
        let basic = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_basic);
        let used_basic = basic.is_some();
        let (client_id, client_secret) = match (basic, form.get("client_secret")) {
            (Some(_), Some(_)) => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "more than one client authentication method",
                );
            }
            (Some(pair), None) => pair,
            (None, Some(secret)) => (
                form.get("client_id").cloned().unwrap_or_default(),
                secret.clone(),
            ),
            (None, None) => {
                return oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "no client authentication",
                );
            }
        };
        if client_id != cfg.client_id
            || client_secret != cfg.client_secret
            || form.get("client_id").is_some_and(|c| *c != client_id)
        {
            let mut res = oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication failed",
            );
            if used_basic {
                res.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"test-op\""),
                );
            }
            return res;
        }
        if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only authorization_code",
            );
        }
        let mut st = self.lock();
        let Some(grant) = form.get("code").and_then(|c| st.codes.remove(c)) else {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "unknown or used code",
            );
        };
        if grant.oidc != oidc {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "code issued by the other endpoint",
            );
        }
        if form.get("redirect_uri") != Some(&grant.redirect_uri) {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "redirect_uri differs from the authorization request's",
            );
        }
        match (&grant.code_challenge, form.get("code_verifier")) {
            (Some(challenge), Some(verifier)) if pkce_s256(verifier) == *challenge => {}
            (Some(_), _) => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "PKCE verification failed",
                );
            }
            (None, Some(_)) => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "code_verifier without a code_challenge",
                );
            }
            (None, None) => {}
        }
        let access_token = random_token();
        let scenario = st.scenario;
        st.tokens
            .insert(access_token.clone(), TokenGrant { oidc, scenario });
        let body = if oidc {
            let id_token =
                match self.make_id_token(&st, scenario, grant.nonce.as_deref(), &grant.sid) {
                    Ok(t) => t,
                    Err(e) => {
                        return oauth_error(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "server_error",
                            &e.to_string(),
                        );
                    }
                };
            json!({
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": TOKEN_SECONDS,
                "id_token": id_token,
            })
        } else {
            json!({ "access_token": access_token })
        };
        no_store(Json(body).into_response())
    }

    fn userinfo(&self, token: Option<String>, oidc: bool) -> Response {
        let st = self.lock();
        let grant = token
            .as_ref()
            .and_then(|t| st.tokens.get(t))
            .filter(|g| g.oidc == oidc);
        match (grant, oidc) {
            (Some(g), true) => {
                let mut claims = self.config.claims.clone();
                if g.scenario == Scenario::UserinfoSubMismatch {
                    let sub = claims["sub"].as_str().unwrap_or_default().to_owned();
                    claims["sub"] = json!(format!("someone-else-than-{sub}"));
                }
                no_store(Json(claims).into_response())
            }
            (Some(_), false) => no_store(Json(st.oauth2_userinfo.clone()).into_response()),
            (None, true) => {
                let mut res = StatusCode::UNAUTHORIZED.into_response();
                res.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                );
                res
            }
            (None, false) => (
                StatusCode::UNAUTHORIZED,
                Json(json!({ "code": 401, "msg": "invalid access_token" })),
            )
                .into_response(),
        }
    }
}

async fn discovery(State(op): State<Arc<Inner>>) -> Json<Value> {
    let i = &op.issuer;
    Json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "userinfo_endpoint": format!("{i}/userinfo"),
        "jwks_uri": format!("{i}/jwks"),
        "end_session_endpoint": format!("{i}/end_session"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": ["openid", "profile", "email", "phone"],
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
    }))
}

async fn jwks(State(op): State<Arc<Inner>>) -> Json<Value> {
    let st = op.lock();
    Json(op.published_jwks(&st))
}

async fn authorize(
    State(op): State<Arc<Inner>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    op.authorize(&q, true)
}

async fn oauth2_authorize(
    State(op): State<Arc<Inner>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    op.authorize(&q, false)
}

async fn token(
    State(op): State<Arc<Inner>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    op.token(&headers, &form, true)
}

async fn oauth2_token(
    State(op): State<Arc<Inner>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    op.token(&headers, &form, false)
}

async fn userinfo(State(op): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    op.userinfo(bearer(&headers), true)
}

async fn oauth2_userinfo(
    State(op): State<Arc<Inner>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    op.userinfo(
        bearer(&headers).or_else(|| q.get("access_token").cloned()),
        false,
    )
}

async fn end_session(
    State(op): State<Arc<Inner>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    op.lock().last_end_session = Some(q.clone());
    match q.get("post_logout_redirect_uri") {
        Some(uri) => redirect_to(uri, &[("state", q.get("state").map(String::as_str))]),
        None => (StatusCode::OK, "signed out").into_response(),
    }
}

fn redirect_to(base: &str, params: &[(&str, Option<&str>)]) -> Response {
    let Ok(mut url) = url::Url::parse(base) else {
        return (StatusCode::BAD_REQUEST, "bad redirect URI").into_response();
    };
    {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in params {
            if let Some(v) = v {
                pairs.append_pair(k, v);
            }
        }
    }
    (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response()
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    no_store(
        (
            status,
            Json(json!({ "error": error, "error_description": description })),
        )
            .into_response(),
    )
}

fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
fn parse_basic(v: &str) -> Option<(String, String)> {
    let (scheme, b64) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(b64.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| -> String {
        url::form_urlencoded::parse(s.as_bytes())
            .next()
            .map(|(k, _)| k.into_owned())
            .unwrap_or_default()
    };
    Some((unescape(id), unescape(secret)))
}

/// `BASE64URL(SHA256(verifier))` (RFC 7636 §4.2).
pub fn pkce_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha256(verifier.as_bytes()))
}

/// SHA-256 by aws-lc, reached through rustls (no hash crate is a dependency of this crate).
pub fn sha256(data: &[u8]) -> Vec<u8> {
    let suite = rustls::crypto::aws_lc_rs::cipher_suite::TLS13_AES_128_GCM_SHA256
        .tls13()
        .expect("a TLS 1.3 suite");
    suite.common.hash_provider.hash(data).as_ref().to_vec()
}

/// 128 random bits, hex.
pub fn random_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// Flips the last byte of a compact JWS's signature.
pub fn flip_last_signature_byte(token: &str) -> Result<String> {
    let (signing_input, sig) = token.rsplit_once('.').context("not a compact JWS")?;
    let mut bytes = URL_SAFE_NO_PAD.decode(sig)?;
    let last = bytes.last_mut().context("empty signature")?;
    *last ^= 0x01;
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// `{"alg":"none","typ":typ}` + claims + an empty signature.
fn unsigned_token(typ: &str, claims: &Value) -> Result<String> {
    let header = json!({ "alg": "none", "typ": typ });
    Ok(format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims)?)
    ))
}

/// `{"keys": [public JWKs]}`.
pub fn public_jwks(keys: &[&SigningKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.public_jwk()).collect::<Vec<_>>() })
}

/// A signing key: RS256 (RSA 2048, made by `openssl genpkey`) or ES256 (P-256, made by rcgen).
#[derive(Clone, Debug)]
pub struct SigningKey {
    kid: String,
    alg: Algorithm,
    /// PKCS#8 PEM of the private key.
    private_pem: String,
    /// SPKI PEM of the public key.
    public_pem: String,
    public_jwk: Value,
    private_jwk: Value,
}

impl SigningKey {
    /// A P-256 key (ES256), made in-process.
    pub fn generate_es256() -> Result<SigningKey> {
        let kp = rcgen::KeyPair::generate()?;
        let raw = kp.public_key_raw();
        ensure!(
            raw.len() == 65 && raw[0] == 4,
            "unexpected P-256 public key form"
        );
        let d = ec_private_scalar(kp.serialized_der())?;
        let kid = format!("es-{}", &random_token()[..16]);
        let public_jwk = json!({
            "kty": "EC",
            "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&raw[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&raw[33..65]),
            "kid": kid,
            "alg": "ES256",
            "use": "sig",
        });
        let mut private_jwk = public_jwk.clone();
        private_jwk["d"] = json!(URL_SAFE_NO_PAD.encode(d));
        Ok(SigningKey {
            kid,
            alg: Algorithm::ES256,
            private_pem: kp.serialize_pem(),
            public_pem: kp.public_key_pem(),
            public_jwk,
            private_jwk,
        })
    }

    /// An RSA 2048 key (RS256), made by the `openssl` command-line tool.
    pub async fn generate_rs256() -> Result<SigningKey> {
        let out = tokio::process::Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
            ])
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .context("running `openssl genpkey` (the openssl command-line tool makes the test RSA keys; apt-get install openssl)")?;
        ensure!(
            out.status.success(),
            "openssl genpkey failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let private_pem = String::from_utf8(out.stdout)?;
        let pkcs8 = pem_decode(&private_pem, "PRIVATE KEY")?;
        let ints = rsa_private_integers(&pkcs8)?;
        // RSAPrivateKey: version, n, e, d, p, q, dp, dq, qi.
        ensure!(ints.len() >= 9, "RSAPrivateKey has {} integers", ints.len());
        let b64 = |i: usize| URL_SAFE_NO_PAD.encode(unsigned(ints[i]));
        let kid = format!("rsa-{}", &random_token()[..16]);
        let public_jwk = json!({
            "kty": "RSA",
            "n": b64(1),
            "e": b64(2),
            "kid": kid,
            "alg": "RS256",
            "use": "sig",
        });
        let mut private_jwk = public_jwk.clone();
        for (name, i) in [
            ("d", 3),
            ("p", 4),
            ("q", 5),
            ("dp", 6),
            ("dq", 7),
            ("qi", 8),
        ] {
            private_jwk[name] = json!(b64(i));
        }
        // SubjectPublicKeyInfo { AlgorithmIdentifier { rsaEncryption, NULL },
        //                        BIT STRING { RSAPublicKey { n, e } } }
        let rsa_public = der(0x30, &[der(0x02, ints[1]), der(0x02, ints[2])].concat());
        let algorithm = der(
            0x30,
            &[
                der(
                    0x06,
                    &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
                ),
                der(0x05, &[]),
            ]
            .concat(),
        );
        let spki = der(
            0x30,
            &[algorithm, der(0x03, &[&[0u8][..], &rsa_public].concat())].concat(),
        );
        Ok(SigningKey {
            kid,
            alg: Algorithm::RS256,
            private_pem,
            public_pem: pem_encode("PUBLIC KEY", &spki),
            public_jwk,
            private_jwk,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The public JWK (`kid`, `alg`, `use` "sig").
    pub fn public_jwk(&self) -> Value {
        self.public_jwk.clone()
    }

    /// The private JWK (public members plus `d`, and for RSA the CRT members).
    pub fn private_jwk(&self) -> Value {
        self.private_jwk.clone()
    }

    /// The public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`, 64-column lines, final newline).
    pub fn public_key_pem(&self) -> &str {
        &self.public_pem
    }

    /// The private key as PKCS#8 PEM.
    pub fn private_key_pem(&self) -> &str {
        &self.private_pem
    }

    pub fn encoding_key(&self) -> Result<EncodingKey> {
        Ok(match self.alg {
            Algorithm::ES256 => EncodingKey::from_ec_pem(self.private_pem.as_bytes())?,
            _ => EncodingKey::from_rsa_pem(self.private_pem.as_bytes())?,
        })
    }

    /// A header for this key's algorithm with `typ` and, if given, `kid`.
    pub fn header(&self, kid: Option<&str>, typ: &str) -> Header {
        let mut h = Header::new(self.alg);
        h.typ = Some(typ.to_owned());
        h.kid = kid.map(str::to_owned);
        h
    }

    pub fn sign(&self, header: &Header, claims: &Value) -> Result<String> {
        Ok(jsonwebtoken::encode(header, claims, &self.encoding_key()?)?)
    }
}

/// One DER element: (tag, content, rest).
fn der_element(input: &[u8]) -> Result<(u8, &[u8], &[u8])> {
    ensure!(input.len() >= 2, "DER: truncated");
    let (tag, first) = (input[0], input[1]);
    let (len, head) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = (first & 0x7f) as usize;
        ensure!(
            (1..=4).contains(&n) && input.len() >= 2 + n,
            "DER: bad length"
        );
        let len = input[2..2 + n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, 2 + n)
    };
    ensure!(input.len() >= head + len, "DER: truncated");
    Ok((tag, &input[head..head + len], &input[head + len..]))
}

fn der_expect(input: &[u8], want: u8) -> Result<(&[u8], &[u8])> {
    let (tag, content, rest) = der_element(input)?;
    if tag != want {
        bail!("DER: expected tag {want:#04x}, found {tag:#04x}");
    }
    Ok((content, rest))
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// The private key inside a PKCS#8 `PrivateKeyInfo`.
fn pkcs8_private_key(pkcs8: &[u8]) -> Result<&[u8]> {
    let (info, _) = der_expect(pkcs8, 0x30)?;
    let (_version, rest) = der_expect(info, 0x02)?;
    let (_algorithm, rest) = der_expect(rest, 0x30)?;
    let (key, _) = der_expect(rest, 0x04)?;
    Ok(key)
}

/// The INTEGER contents of the `RSAPrivateKey` inside a PKCS#8 document.
fn rsa_private_integers(pkcs8: &[u8]) -> Result<Vec<&[u8]>> {
    let (mut seq, _) = der_expect(pkcs8_private_key(pkcs8)?, 0x30)?;
    let mut ints = Vec::new();
    while !seq.is_empty() {
        let (int, rest) = der_expect(seq, 0x02)?;
        ints.push(int);
        seq = rest;
    }
    Ok(ints)
}

/// The private scalar `d` of the `ECPrivateKey` inside a PKCS#8 document.
fn ec_private_scalar(pkcs8: &[u8]) -> Result<Vec<u8>> {
    let (seq, _) = der_expect(pkcs8_private_key(pkcs8)?, 0x30)?;
    let (_version, rest) = der_expect(seq, 0x02)?;
    let (d, _) = der_expect(rest, 0x04)?;
    ensure!(d.len() == 32, "P-256 private key of {} bytes", d.len());
    Ok(d.to_vec())
}

/// A DER INTEGER's content as an unsigned big-endian number (no leading zero bytes).
fn unsigned(int: &[u8]) -> &[u8] {
    let zeros = int.iter().take_while(|b| **b == 0).count();
    &int[zeros.min(int.len().saturating_sub(1))..]
}

fn pem_decode(pem: &str, label: &str) -> Result<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin).context("no PEM begin line")? + begin.len();
    let stop = pem.find(&end).context("no PEM end line")?;
    let body: String = pem[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    Ok(STANDARD.decode(body)?)
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation, jwk::Jwk};

    /// Trap T4: jsonwebtoken panics at the first sign/verify unless exactly one crypto backend
    /// is enabled. This signs and verifies once with each key type.
    #[tokio::test]
    async fn jsonwebtoken_signs_and_verifies_with_its_backend() {
        let claims = json!({ "sub": "s", "exp": unix_now() + 60 });
        for key in [
            SigningKey::generate_es256().unwrap(),
            SigningKey::generate_rs256().await.unwrap(),
        ] {
            let token = key
                .sign(&key.header(Some(key.kid()), "JWT"), &claims)
                .unwrap();
            let jwk: Jwk = serde_json::from_value(key.public_jwk()).unwrap();
            let mut v = Validation::new(key.alg());
            v.required_spec_claims.clear();
            let data =
                jsonwebtoken::decode::<Value>(&token, &DecodingKey::from_jwk(&jwk).unwrap(), &v)
                    .unwrap();
            assert_eq!(data.claims["sub"], "s");
            // The SPKI PEM is the same key.
            let pem_key = match key.alg() {
                Algorithm::ES256 => DecodingKey::from_ec_pem(key.public_key_pem().as_bytes()),
                _ => DecodingKey::from_rsa_pem(key.public_key_pem().as_bytes()),
            }
            .unwrap();
            jsonwebtoken::decode::<Value>(&token, &pem_key, &v).unwrap();
            let bad = flip_last_signature_byte(&token).unwrap();
            assert!(jsonwebtoken::decode::<Value>(&bad, &pem_key, &v).is_err());
        }
    }

    /// The public PEM (the HMAC secret of `HmacWithPublicKey`) is byte for byte what
    /// `openssl pkey -pubout` prints for the key.
    #[tokio::test]
    async fn rsa_public_pem_matches_openssl() {
        use tokio::io::AsyncWriteExt;
        let key = SigningKey::generate_rs256().await.unwrap();
        let mut child = tokio::process::Command::new("openssl")
            .args(["pkey", "-pubout"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(key.private_key_pem().as_bytes())
            .await
            .unwrap();
        drop(stdin);
        let out = child.wait_with_output().await.unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), key.public_key_pem());
    }

    #[test]
    fn pkce_matches_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
