//! Self-tests of the test providers the hub's end-to-end tests use: the certified provider
//! (`tests::node_op`, npm oidc-provider) and the scriptable one (`tests::test_op`). A tiny
//! relying party written here (reqwest + jsonwebtoken) proves that each works: discovery, the
//! code flow with PKCE, ID-token validation against the JWKS, key rotation, RP-initiated and
//! back-channel logout, and that every `Scenario` carries exactly its defect.
//!
//! Run with `cargo test -p tests --test harness` (needs `npm ci --prefix tests/oidc` first).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use tests::node_op::{
    self, Browser, KeyAlg, NodeOp, NodeOpClient, NodeOpOptions, end_session_at_provider,
    sign_in_at_provider,
};
use tests::test_op::{
    BACKCHANNEL_LOGOUT_EVENT, LogoutDefect, LogoutTokenSpec, Scenario, TestOp, TestOpConfig,
    guangdong_userinfo, pkce_s256, random_token,
};

// ---------------------------------------------------------------------------------------------
// The tiny relying party
// ---------------------------------------------------------------------------------------------

fn http() -> reqwest::Client {
    tests::client()
}

/// Fetches discovery and checks that it names `issuer`.
async fn discover(issuer: &str) -> Result<Value> {
    let res = http()
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await?;
    ensure!(res.status() == 200, "discovery: {}", res.status());
    let doc: Value = res.json().await?;
    ensure!(
        doc["issuer"] == issuer,
        "discovery issuer {}",
        doc["issuer"]
    );
    Ok(doc)
}

async fn get_json(url: &str) -> Result<Value> {
    let res = http().get(url).send().await?;
    ensure!(res.status() == 200, "GET {url}: {}", res.status());
    Ok(res.json().await?)
}

/// One authorization request's secrets.
struct AuthRequest {
    url: String,
    state: String,
    nonce: String,
    verifier: String,
}

fn auth_request(
    endpoint: &str,
    client_id: &str,
    redirect_uri: &str,
    scope: &str,
    pkce: bool,
) -> AuthRequest {
    let state = random_token();
    let nonce = random_token();
    let verifier = format!("{}{}", random_token(), random_token());
    let mut url = url::Url::parse(endpoint).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", scope)
        .append_pair("state", &state)
        .append_pair("nonce", &nonce);
    if pkce {
        url.query_pairs_mut()
            .append_pair("code_challenge", &pkce_s256(&verifier))
            .append_pair("code_challenge_method", "S256");
    }
    AuthRequest {
        url: url.to_string(),
        state,
        nonce,
        verifier,
    }
}

fn query(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// The callback's code, after checking `state`.
fn callback_code(callback: &str, req: &AuthRequest) -> Result<String> {
    let q = query(callback);
    if let Some(e) = q.get("error") {
        bail!("authorization error {e}: {:?}", q.get("error_description"));
    }
    ensure!(q.get("state") == Some(&req.state), "state mismatch");
    q.get("code").cloned().context("no code")
}

#[derive(Clone, Copy)]
enum ClientAuth {
    Basic,
    Post,
}

async fn exchange(
    token_endpoint: &str,
    client_id: &str,
    secret: &str,
    redirect_uri: &str,
    code: &str,
    verifier: Option<&str>,
    auth: ClientAuth,
) -> Result<reqwest::Response> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    let req = http().post(token_endpoint);
    let req = match auth {
        ClientAuth::Basic => req.basic_auth(client_id, Some(secret)).form(&form),
        ClientAuth::Post => {
            form.push(("client_id", client_id));
            form.push(("client_secret", secret));
            req.form(&form)
        }
    };
    Ok(req.send().await?)
}

/// Why the relying party refused a token.
#[derive(Debug)]
enum Reject {
    /// A `kid` not in the JWKS: re-fetch the JWKS once and try again.
    UnknownKid(String),
    Invalid(String),
}

impl std::fmt::Display for Reject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reject::UnknownKid(k) => write!(f, "unknown kid {k}"),
            Reject::Invalid(m) => write!(f, "{m}"),
        }
    }
}

fn invalid(m: impl std::fmt::Display) -> Reject {
    Reject::Invalid(m.to_string())
}

fn b64_json(segment: &str) -> Result<Value, Reject> {
    let bytes = URL_SAFE_NO_PAD.decode(segment).map_err(invalid)?;
    serde_json::from_slice(&bytes).map_err(invalid)
}

/// Header and claims, unverified (for looking at a token in a test).
fn peek(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let header = b64_json(parts.next().unwrap()).unwrap();
    let claims = b64_json(parts.next().unwrap()).unwrap();
    (header, claims)
}

/// Validates a JWT as a relying party must (PROTOCOLS.md §3): algorithm allowlist (never
/// `none`, never HMAC), key by `kid` (or the single key of that type when there is no `kid`),
/// signature, `iss`, `aud`, `exp`, `iat`, then `nonce` and `typ` when asked.
fn validate_jwt(
    token: &str,
    jwks: &Value,
    issuer: &str,
    audience: &str,
    nonce: Option<&str>,
    typ: Option<&str>,
) -> Result<Value, Reject> {
    let header = b64_json(token.split('.').next().unwrap_or_default())?;
    let alg = match header["alg"].as_str() {
        Some("RS256") => Algorithm::RS256,
        Some("ES256") => Algorithm::ES256,
        other => return Err(invalid(format!("algorithm {other:?} not allowed"))),
    };
    if let Some(t) = typ
        && header["typ"] != t
    {
        return Err(invalid(format!("typ {} is not {t}", header["typ"])));
    }
    let kty = if alg == Algorithm::RS256 { "RSA" } else { "EC" };
    let candidates: Vec<&Value> = jwks["keys"]
        .as_array()
        .map(|keys| keys.iter().filter(|k| k["kty"] == kty).collect())
        .unwrap_or_default();
    let jwk = match header["kid"].as_str() {
        Some(kid) => *candidates
            .iter()
            .find(|k| k["kid"] == kid)
            .ok_or_else(|| Reject::UnknownKid(kid.to_owned()))?,
        None if candidates.len() == 1 => candidates[0],
        None => {
            return Err(invalid(format!(
                "no kid and {} {kty} keys in the JWKS",
                candidates.len()
            )));
        }
    };
    let jwk: Jwk = serde_json::from_value(jwk.clone()).map_err(invalid)?;
    let key = DecodingKey::from_jwk(&jwk).map_err(invalid)?;
    let mut v = Validation::new(alg);
    v.set_issuer(&[issuer]);
    v.set_audience(&[audience]);
    v.leeway = 30;
    v.set_required_spec_claims(&["exp", "iss", "aud"]);
    let data = jsonwebtoken::decode::<Value>(token, &key, &v).map_err(invalid)?;
    let claims = data.claims;
    if !claims["iat"].is_i64() && !claims["iat"].is_u64() {
        return Err(invalid("no iat"));
    }
    if let Some(n) = nonce
        && claims["nonce"] != n
    {
        return Err(invalid("nonce mismatch"));
    }
    Ok(claims)
}

/// An ID token: the above plus a `sub`.
fn validate_id_token(
    token: &str,
    jwks: &Value,
    issuer: &str,
    client_id: &str,
    nonce: &str,
) -> Result<Value, Reject> {
    let claims = validate_jwt(token, jwks, issuer, client_id, Some(nonce), None)?;
    if !claims["sub"].is_string() {
        return Err(invalid("no sub"));
    }
    Ok(claims)
}

/// `validate_id_token` with the JWKS cache: on an unknown `kid`, re-fetch once.
async fn validate_id_token_cached(
    token: &str,
    jwks_cache: &mut Value,
    jwks_uri: &str,
    issuer: &str,
    client_id: &str,
    nonce: &str,
) -> Result<(Value, bool), Reject> {
    match validate_id_token(token, jwks_cache, issuer, client_id, nonce) {
        Err(Reject::UnknownKid(_)) => {
            *jwks_cache = get_json(jwks_uri).await.map_err(invalid)?;
            validate_id_token(token, jwks_cache, issuer, client_id, nonce).map(|c| (c, true))
        }
        other => other.map(|c| (c, false)),
    }
}

/// A logout token (OpenID Connect Back-Channel Logout 1.0 §2.6).
fn validate_logout_token(
    token: &str,
    jwks: &Value,
    issuer: &str,
    client_id: &str,
) -> Result<Value, Reject> {
    let claims = validate_jwt(token, jwks, issuer, client_id, None, Some("logout+jwt"))?;
    if !claims["events"][BACKCHANNEL_LOGOUT_EVENT].is_object() {
        return Err(invalid("no back-channel logout event"));
    }
    if claims.get("nonce").is_some() {
        return Err(invalid("a nonce in a logout token"));
    }
    if !claims["jti"].is_string() {
        return Err(invalid("no jti"));
    }
    if !claims["sub"].is_string() && !claims["sid"].is_string() {
        return Err(invalid("neither sub nor sid"));
    }
    Ok(claims)
}

/// A back-channel logout receiver: `POST /backchannel` with `logout_token`.
struct Receiver {
    base: String,
    tokens: Arc<Mutex<Vec<String>>>,
}

async fn receiver() -> Result<Receiver> {
    use axum::extract::{Form, State};
    let tokens: Arc<Mutex<Vec<String>>> = Arc::default();
    let app = axum::Router::new()
        .route(
            "/backchannel",
            axum::routing::post(
                |State(t): State<Arc<Mutex<Vec<String>>>>,
                 Form(f): Form<HashMap<String, String>>| async move {
                    if let Some(token) = f.get("logout_token") {
                        t.lock().unwrap().push(token.clone());
                    }
                    axum::http::StatusCode::OK
                },
            ),
        )
        .with_state(tokens.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(Receiver { base, tokens })
}

// ---------------------------------------------------------------------------------------------
// The certified provider
// ---------------------------------------------------------------------------------------------

const RP: &str = "http://127.0.0.1:9";

fn accounts() -> Value {
    json!({
        "user-1": {
            "name": "张三",
            "email": "zhangsan@example.com",
            "email_verified": true,
            "phone_number": "+8613800000000",
            "idcard": "350802199003070029"
        },
        "user-2": { "name": "李四" }
    })
}

async fn node_op(key_alg: KeyAlg, backchannel: Option<String>) -> Result<NodeOp> {
    let mut client = NodeOpClient::new("hub", "hub-secret", &format!("{RP}/callback"));
    client.post_logout_redirect_uris = vec![format!("{RP}/signed-out")];
    client.backchannel_logout_uri = backchannel;
    NodeOp::start(NodeOpOptions {
        clients: vec![client],
        accounts: accounts(),
        key_alg,
        ..Default::default()
    })
    .await
}

/// A whole sign-in at the node provider; returns the token response.
async fn node_sign_in(
    op: &NodeOp,
    doc: &Value,
    login: &str,
    browser: Option<&Browser>,
) -> Result<(Value, AuthRequest)> {
    let redirect = format!("{RP}/callback");
    let req = auth_request(
        doc["authorization_endpoint"].as_str().unwrap(),
        "hub",
        &redirect,
        "openid profile email phone",
        true,
    );
    let callback = match browser {
        Some(b) => b.sign_in(&req.url, &redirect, login).await?,
        None => sign_in_at_provider(&req.url, &redirect, login).await?,
    };
    let q = query(&callback);
    ensure!(
        q.get("iss").map(String::as_str) == Some(op.issuer()),
        "the authorization response carries iss (RFC 9207): {callback}"
    );
    let code = callback_code(&callback, &req)?;
    let res = exchange(
        doc["token_endpoint"].as_str().unwrap(),
        "hub",
        "hub-secret",
        &redirect,
        &code,
        Some(&req.verifier),
        ClientAuth::Basic,
    )
    .await?;
    ensure!(res.status() == 200, "token: {}", res.text().await?);
    Ok((res.json().await?, req))
}

#[tokio::test]
async fn node_op_code_flow_with_pkce() {
    let started = Instant::now();
    let op = node_op(KeyAlg::Es256, None).await.unwrap();
    eprintln!("node provider started in {:?}", started.elapsed());
    let doc = discover(op.issuer()).await.unwrap();
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(doc["authorization_endpoint"], op.url("/auth"));
    assert!(doc["end_session_endpoint"].is_string());
    assert_eq!(doc["backchannel_logout_supported"], true);
    let jwks = get_json(doc["jwks_uri"].as_str().unwrap()).await.unwrap();
    assert_eq!(jwks, op.jwks());

    let (tokens, req) = node_sign_in(&op, &doc, "user-1", None).await.unwrap();
    assert_eq!(tokens["token_type"], "Bearer");
    let id_token = tokens["id_token"].as_str().unwrap();
    let (header, _) = peek(id_token);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["kid"], op.signing_kid());
    let claims = validate_id_token(id_token, &jwks, op.issuer(), "hub", &req.nonce).unwrap();
    assert_eq!(claims["sub"], "user-1");
    // No back-channel logout URI, no sid.
    assert!(claims.get("sid").is_none());
    // conformIdTokenClaims: with response_type=code the profile, email and phone claims come
    // from userinfo only; the claims released for scope openid (custom ones) are in the ID token.
    assert!(claims.get("name").is_none() && claims.get("email").is_none());
    assert_eq!(claims["idcard"], "350802199003070029");
    // A wrong nonce would be refused.
    assert!(validate_id_token(id_token, &jwks, op.issuer(), "hub", "other").is_err());

    let info: Value = http()
        .get(doc["userinfo_endpoint"].as_str().unwrap())
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], "user-1");
    assert_eq!(info["name"], "张三");
    assert_eq!(info["email"], "zhangsan@example.com");
    assert_eq!(info["phone_number"], "+8613800000000");
    assert_eq!(
        info["idcard"], "350802199003070029",
        "custom claims go with openid"
    );

    // A second user in a second browser.
    let browser = Browser::new().unwrap();
    let (tokens2, req2) = node_sign_in(&op, &doc, "user-2", Some(&browser))
        .await
        .unwrap();
    let claims2 = validate_id_token(
        tokens2["id_token"].as_str().unwrap(),
        &jwks,
        op.issuer(),
        "hub",
        &req2.nonce,
    )
    .unwrap();
    assert_eq!(claims2["sub"], "user-2");

    // PKCE is required: without it the provider redirects back with an error.
    let plain = auth_request(
        doc["authorization_endpoint"].as_str().unwrap(),
        "hub",
        &format!("{RP}/callback"),
        "openid",
        false,
    );
    let callback = sign_in_at_provider(&plain.url, &format!("{RP}/callback"), "user-1")
        .await
        .unwrap();
    assert_eq!(query(&callback).get("error").unwrap(), "invalid_request");

    // A code is good once, and only with its verifier.
    let req3 = auth_request(
        doc["authorization_endpoint"].as_str().unwrap(),
        "hub",
        &format!("{RP}/callback"),
        "openid",
        true,
    );
    let callback = browser
        .sign_in(&req3.url, &format!("{RP}/callback"), "user-2")
        .await
        .unwrap();
    let code = callback_code(&callback, &req3).unwrap();
    let token_endpoint = doc["token_endpoint"].as_str().unwrap();
    let res = exchange(
        token_endpoint,
        "hub",
        "hub-secret",
        &format!("{RP}/callback"),
        &code,
        Some("a-wrong-verifier-a-wrong-verifier-a-wrong-verifier"),
        ClientAuth::Basic,
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    eprintln!("node code flow test took {:?}", started.elapsed());
}

#[tokio::test]
async fn node_op_key_rotation() {
    let started = Instant::now();
    let mut op = node_op(KeyAlg::Rs256, None).await.unwrap();
    let doc = discover(op.issuer()).await.unwrap();
    let jwks_uri = doc["jwks_uri"].as_str().unwrap().to_owned();
    let mut cache = get_json(&jwks_uri).await.unwrap();
    let old_kid = op.signing_kid().to_owned();

    let (tokens, req) = node_sign_in(&op, &doc, "user-1", None).await.unwrap();
    let t1 = tokens["id_token"].as_str().unwrap().to_owned();
    assert_eq!(peek(&t1).0["alg"], "RS256");
    assert_eq!(peek(&t1).0["kid"], old_kid.as_str());
    let (_, refetched) =
        validate_id_token_cached(&t1, &mut cache, &jwks_uri, op.issuer(), "hub", &req.nonce)
            .await
            .unwrap();
    assert!(!refetched);

    let restart = Instant::now();
    op.restart_with_rotated_keys().await.unwrap();
    eprintln!("restart with rotated keys took {:?}", restart.elapsed());
    let new_kid = op.signing_kid().to_owned();
    assert_ne!(new_kid, old_kid);
    let served = get_json(&jwks_uri).await.unwrap();
    let kids: Vec<&str> = served["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, vec![new_kid.as_str(), old_kid.as_str()]);
    assert_eq!(discover(op.issuer()).await.unwrap()["issuer"], op.issuer());

    let (tokens, req) = node_sign_in(&op, &doc, "user-1", None).await.unwrap();
    let t2 = tokens["id_token"].as_str().unwrap().to_owned();
    assert_eq!(peek(&t2).0["kid"], new_kid.as_str());
    // The old JWKS cannot verify it; the RP re-fetches once and accepts.
    assert!(matches!(
        validate_id_token(&t2, &cache, op.issuer(), "hub", &req.nonce),
        Err(Reject::UnknownKid(_))
    ));
    let (claims, refetched) =
        validate_id_token_cached(&t2, &mut cache, &jwks_uri, op.issuer(), "hub", &req.nonce)
            .await
            .unwrap();
    assert!(refetched);
    assert_eq!(claims["sub"], "user-1");
    // Tokens signed before the rotation still verify (the old key is published second).
    validate_id_token(
        &t1,
        &cache,
        op.issuer(),
        "hub",
        peek(&t1).1["nonce"].as_str().unwrap(),
    )
    .unwrap();
    eprintln!("node key rotation test took {:?}", started.elapsed());
}

#[tokio::test]
async fn node_op_rp_initiated_and_backchannel_logout() {
    let started = Instant::now();
    let rx = receiver().await.unwrap();
    let op = node_op(KeyAlg::Es256, Some(format!("{}/backchannel", rx.base)))
        .await
        .unwrap();
    let doc = discover(op.issuer()).await.unwrap();
    assert_eq!(doc["backchannel_logout_session_supported"], true);
    let jwks = op.jwks();
    let (tokens, req) = node_sign_in(&op, &doc, "user-1", None).await.unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();
    let claims = validate_id_token(id_token, &jwks, op.issuer(), "hub", &req.nonce).unwrap();
    let sid = claims["sid"].as_str().unwrap().to_owned();

    let state = random_token();
    let signed_out = format!("{RP}/signed-out");
    let mut url = url::Url::parse(doc["end_session_endpoint"].as_str().unwrap()).unwrap();
    url.query_pairs_mut()
        .append_pair("id_token_hint", id_token)
        .append_pair("post_logout_redirect_uri", &signed_out)
        .append_pair("state", &state);
    let logout_started = Instant::now();
    let back = end_session_at_provider(url.as_str(), &signed_out)
        .await
        .unwrap();
    let logout_took = logout_started.elapsed();
    assert_eq!(query(&back).get("state"), Some(&state));
    // The provider delivers the logout token before it redirects.
    let delivered = rx.tokens.lock().unwrap().clone();
    eprintln!(
        "logout confirmation + back-channel delivery took {logout_took:?}; {} token(s) already received",
        delivered.len()
    );
    assert_eq!(delivered.len(), 1, "one logout token, before the redirect");
    let lt = &delivered[0];
    let (header, _) = peek(lt);
    assert_eq!(header["typ"], "logout+jwt");
    assert_eq!(header["kid"], op.signing_kid());
    let lt_claims = validate_logout_token(lt, &jwks, op.issuer(), "hub").unwrap();
    assert_eq!(lt_claims["sub"], "user-1");
    assert_eq!(lt_claims["sid"], sid.as_str());

    // The same with an explicit browser; afterwards its session is gone: signing in again in
    // that browser shows the login form (a remembered session would sign in user-1 silently).
    let browser = Browser::new().unwrap();
    let (tokens, _) = node_sign_in(&op, &doc, "user-1", Some(&browser))
        .await
        .unwrap();
    let mut url = url::Url::parse(doc["end_session_endpoint"].as_str().unwrap()).unwrap();
    url.query_pairs_mut()
        .append_pair("id_token_hint", tokens["id_token"].as_str().unwrap())
        .append_pair("post_logout_redirect_uri", &signed_out);
    let back = browser
        .end_session(url.as_str(), &signed_out)
        .await
        .unwrap();
    assert_eq!(back, signed_out);
    assert_eq!(rx.tokens.lock().unwrap().len(), 2);
    let (tokens, _) = node_sign_in(&op, &doc, "user-2", Some(&browser))
        .await
        .unwrap();
    let (_, c) = peek(tokens["id_token"].as_str().unwrap());
    assert_eq!(c["sub"], "user-2");
    assert!(
        op.log().iter().all(|l| !l.contains("backchannel.error")),
        "{:?}",
        op.log()
    );
    eprintln!("node logout test took {:?}", started.elapsed());
}

#[test]
fn node_op_says_how_to_install_itself() {
    node_op::check_installed_in(&node_op::oidc_dir()).unwrap();
    assert!(node_op::oidc_dir().join("provider.mjs").is_file());
    let empty = tempfile::tempdir().unwrap();
    let err = node_op::check_installed_in(empty.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("npm ci --prefix tests/oidc"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// The scriptable provider
// ---------------------------------------------------------------------------------------------

const REDIRECT: &str = "http://127.0.0.1:9/test-op/callback";

async fn test_op() -> TestOp {
    TestOp::start(TestOpConfig {
        client_id: "hub".into(),
        client_secret: "s3cret".into(),
        redirect_uri: REDIRECT.into(),
        claims: json!({ "sub": "u-42", "name": "王五", "email": "ww@example.com" }),
    })
    .await
    .unwrap()
}

/// `/authorize` without a browser: the provider redirects at once.
async fn authorize(url: &str) -> reqwest::Response {
    http().get(url).send().await.unwrap()
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}

/// A code flow at the test provider; returns (token response, request).
async fn test_op_flow(op: &TestOp, auth: ClientAuth) -> (Value, AuthRequest) {
    let req = auth_request(
        &op.url("/authorize"),
        "hub",
        REDIRECT,
        "openid profile",
        true,
    );
    let res = authorize(&req.url).await;
    assert_eq!(res.status(), 302);
    let code = callback_code(&location(&res), &req).unwrap();
    let res = exchange(
        &op.url("/token"),
        "hub",
        "s3cret",
        REDIRECT,
        &code,
        Some(&req.verifier),
        auth,
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    (res.json().await.unwrap(), req)
}

#[tokio::test]
async fn test_op_discovery_and_valid_flow() {
    let started = Instant::now();
    let op = test_op().await;
    eprintln!(
        "test provider started (3 RSA keys) in {:?}",
        started.elapsed()
    );
    let doc = discover(op.issuer()).await.unwrap();
    for (k, path) in [
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("userinfo_endpoint", "/userinfo"),
        ("jwks_uri", "/jwks"),
        ("end_session_endpoint", "/end_session"),
    ] {
        assert_eq!(doc[k], op.url(path));
    }
    assert_eq!(doc["response_types_supported"], json!(["code"]));
    assert_eq!(doc["subject_types_supported"], json!(["public"]));
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["RS256", "ES256"])
    );
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));

    for auth in [ClientAuth::Basic, ClientAuth::Post] {
        let (tokens, req) = test_op_flow(&op, auth).await;
        assert_eq!(tokens["token_type"], "Bearer");
        assert!(tokens["expires_in"].as_i64().unwrap() > 0);
        let jwks = get_json(&op.url("/jwks")).await.unwrap();
        let claims = validate_id_token(
            tokens["id_token"].as_str().unwrap(),
            &jwks,
            op.issuer(),
            "hub",
            &req.nonce,
        )
        .unwrap();
        assert_eq!(claims["sub"], "u-42");
        assert_eq!(claims["name"], "王五");
        assert_eq!(claims["sid"].as_str(), op.last_sid().as_deref());
        let info: Value = http()
            .get(op.url("/userinfo"))
            .bearer_auth(tokens["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(info["sub"], "u-42");
        assert_eq!(info["email"], "ww@example.com");
    }
}

#[tokio::test]
async fn test_op_rejects_bad_requests() {
    let op = test_op().await;
    // Unknown client or redirect URI: an error page, no redirect.
    let req = auth_request(&op.url("/authorize"), "nobody", REDIRECT, "openid", true);
    assert_eq!(authorize(&req.url).await.status(), 400);
    let req = auth_request(
        &op.url("/authorize"),
        "hub",
        "http://127.0.0.1:9/elsewhere",
        "openid",
        true,
    );
    assert_eq!(authorize(&req.url).await.status(), 400);
    // No PKCE: redirected back with invalid_request and the state.
    let req = auth_request(&op.url("/authorize"), "hub", REDIRECT, "openid", false);
    let res = authorize(&req.url).await;
    assert_eq!(res.status(), 302);
    let q = query(&location(&res));
    assert_eq!(q["error"], "invalid_request");
    assert_eq!(q["state"], req.state);
    // plain PKCE is refused too.
    let res = authorize(&format!(
        "{}&code_challenge=abc&code_challenge_method=plain",
        auth_request(&op.url("/authorize"), "hub", REDIRECT, "openid", false).url
    ))
    .await;
    assert_eq!(query(&location(&res))["error"], "invalid_request");

    // Token endpoint: wrong secret, wrong verifier, reuse, wrong redirect_uri.
    let req = auth_request(&op.url("/authorize"), "hub", REDIRECT, "openid", true);
    let code = callback_code(&location(&authorize(&req.url).await), &req).unwrap();
    let t = op.url("/token");
    let res = exchange(
        &t,
        "hub",
        "wrong",
        REDIRECT,
        &code,
        Some(&req.verifier),
        ClientAuth::Basic,
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );
    let res = exchange(
        &t,
        "hub",
        "s3cret",
        REDIRECT,
        &code,
        Some("x"),
        ClientAuth::Post,
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_grant");
    // The failed attempt used the code up.
    let res = exchange(
        &t,
        "hub",
        "s3cret",
        REDIRECT,
        &code,
        Some(&req.verifier),
        ClientAuth::Post,
    )
    .await
    .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_grant");
    let req = auth_request(&op.url("/authorize"), "hub", REDIRECT, "openid", true);
    let code = callback_code(&location(&authorize(&req.url).await), &req).unwrap();
    let res = exchange(
        &t,
        "hub",
        "s3cret",
        "http://127.0.0.1:9/elsewhere",
        &code,
        Some(&req.verifier),
        ClientAuth::Basic,
    )
    .await
    .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_grant");
    // Userinfo without a valid token.
    let res = http()
        .get(op.url("/userinfo"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // End session redirects back with the state and is recorded.
    let res = http()
        .get(format!(
            "{}?post_logout_redirect_uri={}&state=st1&id_token_hint=x",
            op.url("/end_session"),
            "http%3A%2F%2F127.0.0.1%3A9%2Fout"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "http://127.0.0.1:9/out?state=st1");
    assert_eq!(op.last_end_session().unwrap()["id_token_hint"], "x");
}

#[tokio::test]
async fn test_op_scenarios_carry_exactly_their_defect() {
    let started = Instant::now();
    let op = test_op().await;
    let jwks_uri = op.url("/jwks");
    let primary_kid = op.signing_key().kid().to_owned();
    // The relying party's JWKS cache, filled once at the start.
    let mut cache = get_json(&jwks_uri).await.unwrap();
    assert_eq!(cache["keys"].as_array().unwrap().len(), 1);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;

    // RotatedKey is sticky and last in ALL.
    assert_eq!(Scenario::ALL.last(), Some(&Scenario::RotatedKey));
    for scenario in Scenario::ALL {
        op.set_scenario(scenario);
        let served = get_json(&jwks_uri).await.unwrap();
        assert_eq!(served, op.jwks());
        let (tokens, req) = test_op_flow(&op, ClientAuth::Basic).await;
        let token = tokens["id_token"].as_str().unwrap();
        let (header, claims) = peek(token);
        let signature = token.rsplit('.').next().unwrap();
        // What a correct RP does, with a JWKS cache it re-fetches on an unknown kid (the
        // scenarios that change the key set are first fetched fresh, as a new RP would).
        if matches!(
            scenario,
            Scenario::KidAbsentSingleKey | Scenario::KidAbsentMultipleKeys
        ) {
            cache = served.clone();
        }
        let verdict =
            validate_id_token_cached(token, &mut cache, &jwks_uri, op.issuer(), "hub", &req.nonce)
                .await;
        // The same token checked against the served JWKS with only the defect's own check left
        // out proves that nothing else is wrong with it.
        let verify_with = |jwk: &Value| {
            let jwk: Jwk = serde_json::from_value(jwk.clone()).unwrap();
            let mut v = Validation::new(Algorithm::RS256);
            v.validate_aud = false;
            v.validate_exp = false;
            v.required_spec_claims.clear();
            jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(&jwk).unwrap(), &v)
        };
        let first_key = served["keys"][0].clone();
        let common_ok = |claims: &Value, skip: &str| {
            if skip != "iss" {
                assert_eq!(claims["iss"], op.issuer(), "{scenario:?}");
            }
            if skip != "aud" {
                assert_eq!(claims["aud"], "hub", "{scenario:?}");
            }
            if skip != "sub" {
                assert_eq!(claims["sub"], "u-42", "{scenario:?}");
            }
            if skip != "iat" {
                assert!(claims["iat"].is_i64(), "{scenario:?}");
            }
            if skip != "exp" {
                assert!(claims["exp"].as_i64().unwrap() > now, "{scenario:?}");
            }
            if skip != "nonce" {
                assert_eq!(claims["nonce"], req.nonce.as_str(), "{scenario:?}");
            }
        };
        let mut accepted = verdict.is_ok();
        match scenario {
            Scenario::Valid => {
                assert_eq!(header["alg"], "RS256");
                assert_eq!(header["kid"], primary_kid.as_str());
                common_ok(&claims, "");
                assert_eq!(verdict.unwrap().0["sub"], "u-42");
            }
            Scenario::IssuerMismatch => {
                assert_ne!(claims["iss"], op.issuer());
                assert!(claims["iss"].is_string());
                common_ok(&claims, "iss");
                verify_with(&first_key).unwrap();
                assert!(verdict.is_err());
            }
            Scenario::MissingSub => {
                assert!(claims.get("sub").is_none());
                common_ok(&claims, "sub");
                verify_with(&first_key).unwrap();
                assert!(verdict.is_err());
            }
            Scenario::WrongAudience => {
                assert_eq!(claims["aud"], "some-other-client");
                common_ok(&claims, "aud");
                verify_with(&first_key).unwrap();
                assert!(verdict.is_err());
            }
            Scenario::MissingIat => {
                assert!(claims.get("iat").is_none());
                common_ok(&claims, "iat");
                verify_with(&first_key).unwrap();
                assert!(verdict.is_err());
            }
            Scenario::Expired => {
                assert!(claims["exp"].as_i64().unwrap() < now - 300);
                common_ok(&claims, "exp");
                verify_with(&first_key).unwrap();
                assert!(verdict.is_err());
            }
            Scenario::KidAbsentSingleKey => {
                assert!(header.get("kid").is_none());
                assert_eq!(served["keys"].as_array().unwrap().len(), 1);
                common_ok(&claims, "");
                assert_eq!(verdict.unwrap().0["sub"], "u-42", "must accept");
            }
            Scenario::KidAbsentMultipleKeys => {
                assert!(header.get("kid").is_none());
                let keys = served["keys"].as_array().unwrap();
                assert_eq!(keys.len(), 2);
                assert!(keys.iter().all(|k| k["kty"] == "RSA"));
                common_ok(&claims, "");
                verify_with(&first_key).unwrap();
                assert!(verify_with(&keys[1]).is_err());
                assert!(verdict.is_err(), "must reject");
            }
            Scenario::BadSignature => {
                assert_eq!(header["kid"], primary_kid.as_str());
                common_ok(&claims, "");
                assert!(verify_with(&first_key).is_err());
                // Flipping the last byte back makes it verify: that byte was the only defect.
                let repaired = tests::test_op::flip_last_signature_byte(token).unwrap();
                let jwk: Jwk = serde_json::from_value(first_key.clone()).unwrap();
                let mut v = Validation::new(Algorithm::RS256);
                v.validate_aud = false;
                jsonwebtoken::decode::<Value>(&repaired, &DecodingKey::from_jwk(&jwk).unwrap(), &v)
                    .unwrap();
                assert!(verdict.is_err());
            }
            Scenario::AlgNone => {
                assert_eq!(header["alg"], "none");
                assert_eq!(signature, "");
                common_ok(&claims, "");
                assert!(verdict.is_err());
            }
            Scenario::HmacWithPublicKey => {
                assert_eq!(header["alg"], "HS256");
                assert_eq!(header["kid"], primary_kid.as_str());
                assert_eq!(first_key["kty"], "RSA");
                common_ok(&claims, "");
                // It is an HMAC keyed with the RSA public key's PEM.
                let pem = op.signing_key().public_key_pem().to_owned();
                assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
                let mut v = Validation::new(Algorithm::HS256);
                v.validate_aud = false;
                jsonwebtoken::decode::<Value>(token, &DecodingKey::from_secret(pem.as_bytes()), &v)
                    .unwrap();
                assert!(verdict.is_err());
            }
            Scenario::InvalidNonce => {
                assert!(claims["nonce"].is_string());
                assert_ne!(claims["nonce"], req.nonce.as_str());
                common_ok(&claims, "nonce");
                verify_with(&first_key).unwrap();
                assert!(verdict.is_err());
            }
            Scenario::UserinfoSubMismatch => {
                common_ok(&claims, "");
                let id_claims = verdict.unwrap().0;
                let info: Value = http()
                    .get(op.url("/userinfo"))
                    .bearer_auth(tokens["access_token"].as_str().unwrap())
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                assert!(info["sub"].is_string());
                assert_ne!(
                    info["sub"], id_claims["sub"],
                    "the RP must refuse this userinfo"
                );
                assert_eq!(info["name"], "王五");
                accepted = info["sub"] == id_claims["sub"];
            }
            Scenario::RotatedKey => {
                let kid = header["kid"].as_str().unwrap();
                assert_ne!(kid, primary_kid);
                assert_eq!(kid, op.signing_key().kid());
                let kids: Vec<&str> = served["keys"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|k| k["kid"].as_str().unwrap())
                    .collect();
                assert_eq!(kids, vec![kid, primary_kid.as_str()]);
                common_ok(&claims, "");
                let (c, refetched) = verdict.unwrap();
                assert!(refetched, "accepted after one re-fetch");
                assert_eq!(c["sub"], "u-42");
            }
        }
        assert_eq!(
            accepted,
            scenario.relying_party_must_accept(),
            "{scenario:?}"
        );
    }
    // Rotation is sticky: Valid now signs with the rotated key.
    op.set_scenario(Scenario::Valid);
    let (tokens, _) = test_op_flow(&op, ClientAuth::Post).await;
    assert_eq!(
        peek(tokens["id_token"].as_str().unwrap()).0["kid"],
        op.signing_key().kid()
    );
    // id_token() makes the same tokens without a flow.
    op.set_scenario(Scenario::AlgNone);
    assert_eq!(peek(&op.id_token(Some("n")).unwrap()).0["alg"], "none");
    eprintln!("scenario test took {:?}", started.elapsed());
}

#[tokio::test]
async fn test_op_logout_tokens() {
    let op = test_op().await;
    let jwks = op.jwks();
    let valid = op.logout_token(LogoutTokenSpec {
        sub: Some("u-42".into()),
        sid: Some("sid-1".into()),
        defect: None,
    });
    let (header, claims) = peek(&valid);
    assert_eq!(header["typ"], "logout+jwt");
    assert_eq!(header["kid"], op.signing_key().kid());
    let c = validate_logout_token(&valid, &jwks, op.issuer(), "hub").unwrap();
    assert_eq!(c["sid"], "sid-1");
    assert_eq!(c["sub"], "u-42");
    assert_eq!(claims["events"], json!({ BACKCHANNEL_LOGOUT_EVENT: {} }));
    let other = op.logout_token(LogoutTokenSpec {
        sid: Some("sid-1".into()),
        ..Default::default()
    });
    assert_ne!(peek(&other).1["jti"], claims["jti"], "jti is random");
    assert!(peek(&other).1.get("sub").is_none());
    validate_logout_token(&other, &jwks, op.issuer(), "hub").unwrap();

    for defect in [
        LogoutDefect::WrongAudience,
        LogoutDefect::WrongIssuer,
        LogoutDefect::NoEvents,
        LogoutDefect::WithNonce,
        LogoutDefect::BadSignature,
        LogoutDefect::Expired,
        LogoutDefect::AlgNone,
    ] {
        let t = op.logout_token(LogoutTokenSpec {
            sub: Some("u-42".into()),
            sid: None,
            defect: Some(defect),
        });
        let (h, c) = peek(&t);
        match defect {
            LogoutDefect::WrongAudience => assert_eq!(c["aud"], "some-other-client"),
            LogoutDefect::WrongIssuer => assert_ne!(c["iss"], op.issuer()),
            LogoutDefect::NoEvents => assert!(c.get("events").is_none()),
            LogoutDefect::WithNonce => assert!(c["nonce"].is_string()),
            LogoutDefect::BadSignature => assert_eq!(h["alg"], "RS256"),
            LogoutDefect::Expired => {
                assert!(c["exp"].as_i64().unwrap() < c["iat"].as_i64().unwrap() + 700)
            }
            LogoutDefect::AlgNone => assert_eq!(h["alg"], "none"),
        }
        let verdict = validate_logout_token(&t, &jwks, op.issuer(), "hub");
        assert!(verdict.is_err(), "{defect:?} must be refused");
    }
    // Neither sub nor sid: refused.
    let neither = op.logout_token(LogoutTokenSpec::default());
    assert!(validate_logout_token(&neither, &jwks, op.issuer(), "hub").is_err());
}

#[tokio::test]
async fn test_op_guangdong_oauth2() {
    let op = test_op().await;
    // No PKCE needed; no nonce; no openid scope.
    let req = auth_request(
        &op.url("/oauth2/authorize"),
        "hub",
        REDIRECT,
        "user_info",
        false,
    );
    let res = authorize(&req.url).await;
    assert_eq!(res.status(), 302);
    let code = callback_code(&location(&res), &req).unwrap();
    // An OAuth 2.0 code is not good at the OIDC token endpoint.
    let res = exchange(
        &op.url("/token"),
        "hub",
        "s3cret",
        REDIRECT,
        &code,
        None,
        ClientAuth::Post,
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 400);
    let req = auth_request(
        &op.url("/oauth2/authorize"),
        "hub",
        REDIRECT,
        "user_info",
        false,
    );
    let code = callback_code(&location(&authorize(&req.url).await), &req).unwrap();
    let res = exchange(
        &op.url("/oauth2/token"),
        "hub",
        "s3cret",
        REDIRECT,
        &code,
        None,
        ClientAuth::Post,
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, vec!["access_token"]);
    let at = body["access_token"].as_str().unwrap();
    let by_header: Value = http()
        .get(op.url("/oauth2/userinfo"))
        .bearer_auth(at)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(by_header, guangdong_userinfo());
    assert_eq!(by_header["data"]["user"]["idcard"], "350802199003070029");
    op.set_oauth2_userinfo(json!({ "code": 0, "data": { "user": { "id": "gd-2" } } }));
    let by_query: Value = http()
        .get(format!("{}?access_token={at}", op.url("/oauth2/userinfo")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(by_query["data"]["user"]["id"], "gd-2");
    // The OAuth 2.0 token is not an OIDC token, and a bad token is refused.
    let res = http()
        .get(op.url("/userinfo"))
        .bearer_auth(at)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = http()
        .get(format!("{}?access_token=nope", op.url("/oauth2/userinfo")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // With PKCE it is checked.
    let req = auth_request(
        &op.url("/oauth2/authorize"),
        "hub",
        REDIRECT,
        "user_info",
        true,
    );
    let code = callback_code(&location(&authorize(&req.url).await), &req).unwrap();
    let res = exchange(
        &op.url("/oauth2/token"),
        "hub",
        "s3cret",
        REDIRECT,
        &code,
        Some("wrong"),
        ClientAuth::Basic,
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 400);
}

/// Trap T4 (jsonwebtoken needs exactly one crypto backend), checked in this binary too.
#[tokio::test]
async fn jsonwebtoken_backend_signs_and_verifies() {
    let key = tests::test_op::SigningKey::generate_es256().unwrap();
    let token = key
        .sign(
            &key.header(Some(key.kid()), "JWT"),
            &json!({ "sub": "x", "exp": 4_000_000_000u64 }),
        )
        .unwrap();
    let jwk: Jwk = serde_json::from_value(key.public_jwk()).unwrap();
    let mut v = Validation::new(Algorithm::ES256);
    v.validate_aud = false;
    let data =
        jsonwebtoken::decode::<Value>(&token, &DecodingKey::from_jwk(&jwk).unwrap(), &v).unwrap();
    assert_eq!(data.claims["sub"], "x");
}
