//! OpenID Connect and OAuth 2.0 providers: the certified npm `oidc-provider` for complete flows,
//! logout and key rotation; the test provider for the OpenID Foundation relying-party negative
//! cases; the Guangdong-shape OAuth 2.0 provider; linking identities without a certificate.

use std::time::Duration;

use tests::anyhow::{Context, Result, ensure};
use tests::node_op::{
    NodeOp, NodeOpClient, NodeOpOptions, end_session_at_provider, sign_in_at_provider,
};
use tests::test_op::{LogoutDefect, LogoutTokenSpec, Scenario, TestOp, TestOpConfig};
use tests::{Browser, Env, Page, Test, TestHub, federated_hub_listening, test};

pub fn tests() -> Vec<Test> {
    vec![
        test!(oidc_sign_in_rotation_and_logout),
        test!(oidc_relying_party_negative_cases),
        test!(backchannel_logout_tokens_are_validated),
        test!(oauth2_guangdong_shape_finds_the_real_name_account),
        test!(identities_without_certificates_link_on_request),
    ]
}

const CLIENT_SECRET: &str = "hub-test-client-secret-0123456789";
const ID_P1: &str = "350802199003070029";

/// A hub with the sandbox providers plus `corp` (the certified provider), `neg` (the test
/// provider) and `gd` (OAuth 2.0, the test provider's Guangdong shape).
struct Providers {
    hub: TestHub,
    node: NodeOp,
    neg: TestOp,
    gd: TestOp,
}

async fn start(env: &Env) -> Result<Providers> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://{}", listener.local_addr()?);
    let mut corp = NodeOpClient::new("hub", CLIENT_SECRET, &format!("{base}/sso/corp/callback"));
    corp.post_logout_redirect_uris = vec![format!("{base}/sso/logged-out")];
    corp.backchannel_logout_uri = Some(format!("{base}/sso/corp/backchannel-logout"));
    let node = NodeOp::start(NodeOpOptions {
        clients: vec![corp],
        accounts: serde_json::json!({
            // Alice's provider asserts her resident ID: she is personal-1 of the sandbox.
            "alice": { "name": "张三", "email": "alice@example.invalid", "idcard": ID_P1 },
            // Bob's provider asserts no certificate.
            "bob": { "name": "Bob", "email": "bob@example.invalid" },
        }),
        ..NodeOpOptions::default()
    })
    .await?;
    let neg = TestOp::start(TestOpConfig {
        client_id: "hub".into(),
        client_secret: CLIENT_SECRET.into(),
        redirect_uri: format!("{base}/sso/neg/callback"),
        claims: serde_json::json!({ "sub": "neg-user-1", "name": "测试用户" }),
    })
    .await?;
    let gd = TestOp::start(TestOpConfig {
        client_id: "hub".into(),
        client_secret: CLIENT_SECRET.into(),
        redirect_uri: format!("{base}/sso/gd/callback"),
        claims: serde_json::json!({ "sub": "unused" }),
    })
    .await?;
    let store = env.store().await?;
    let (gd_authorize, gd_token, gd_userinfo) = (
        gd.url("/oauth2/authorize"),
        gd.url("/oauth2/token"),
        gd.url("/oauth2/userinfo"),
    );
    let settings: Vec<(&str, &str)> = vec![
        ("HUB_PROVIDERS__CORP__KIND", "oidc"),
        ("HUB_PROVIDERS__CORP__ISSUER", node.issuer()),
        ("HUB_PROVIDERS__CORP__CLIENT_ID", "hub"),
        ("HUB_PROVIDERS__CORP__CLIENT_SECRET", CLIENT_SECRET),
        ("HUB_PROVIDERS__CORP__CLAIMS__CERT_NUMBER", "idcard"),
        ("HUB_PROVIDERS__NEG__KIND", "oidc"),
        ("HUB_PROVIDERS__NEG__ISSUER", neg.issuer()),
        ("HUB_PROVIDERS__NEG__CLIENT_ID", "hub"),
        ("HUB_PROVIDERS__NEG__CLIENT_SECRET", CLIENT_SECRET),
        // Discovery (and keys) every time: scenarios change what /jwks serves.
        ("HUB_PROVIDERS__NEG__METADATA_TTL", "1ms"),
        ("HUB_PROVIDERS__GD__KIND", "oauth2"),
        ("HUB_PROVIDERS__GD__AUTHORIZE_URL", gd_authorize.as_str()),
        ("HUB_PROVIDERS__GD__TOKEN_URL", gd_token.as_str()),
        ("HUB_PROVIDERS__GD__USERINFO_URL", gd_userinfo.as_str()),
        ("HUB_PROVIDERS__GD__CLIENT_ID", "hub"),
        ("HUB_PROVIDERS__GD__CLIENT_SECRET", CLIENT_SECRET),
        ("HUB_PROVIDERS__GD__CLAIMS__SUBJECT", "data.user.id"),
        ("HUB_PROVIDERS__GD__CLAIMS__NAME", "data.user.name"),
        ("HUB_PROVIDERS__GD__CLAIMS__CERT_NUMBER", "data.user.idcard"),
        ("HUB_PROVIDERS__GD__CLAIMS__CERT_TYPE", "data.user.idType"),
    ];
    let hub = federated_hub_listening(&store, listener, &settings, |_| {}).await?;
    Ok(Providers { hub, node, neg, gd })
}

/// Starts a sign-in at the hub and returns the provider's authorisation URL.
async fn begin(b: &mut Browser, hub: &TestHub, provider: &str, query: &str) -> Result<String> {
    let page = b
        .get(&hub.url(&format!("/sso/{provider}/login?{query}")))
        .await?;
    ensure!(page.status == 302, "login: {} {}", page.status, page.body);
    page.location.context("no Location")
}

/// A complete sign-in through the certified provider as `login`.
async fn corp_sign_in(b: &mut Browser, p: &Providers, login: &str, query: &str) -> Result<Page> {
    let authorize = begin(b, &p.hub, "corp", query).await?;
    let callback = sign_in_at_provider(&authorize, &p.hub.url("/sso/corp/callback"), login).await?;
    b.get(&callback).await
}

async fn oidc_sign_in_rotation_and_logout(env: Env) -> Result<()> {
    let mut p = start(&env).await?;
    // Alice through the OpenID provider lands in the real-name account of her certificate.
    let mut fujian = Browser::new();
    fujian
        .provincial_sign_in(&p.hub, "personal-1", None, "/")
        .await?;
    let real_name = fujian.me(&p.hub).await?.json()?["account_id"].clone();
    let mut b = Browser::new();
    let authorize = begin(&mut b, &p.hub, "corp", "return_to=/api/me").await?;
    let params: Vec<(String, String)> = url::Url::parse(&authorize)?
        .query_pairs()
        .into_owned()
        .collect();
    let param = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    ensure!(
        param("code_challenge_method") == "S256" && !param("code_challenge").is_empty(),
        "{authorize}"
    );
    ensure!(
        param("state").len() >= 43
            && param("nonce").len() >= 43
            && param("response_type") == "code",
        "{authorize}"
    );
    let callback =
        sign_in_at_provider(&authorize, &p.hub.url("/sso/corp/callback"), "alice").await?;
    let done = b.get(&callback).await?;
    ensure!(
        done.status == 302 && done.location.as_deref() == Some("/api/me"),
        "{} {}",
        done.status,
        done.body
    );
    let me = b.me(&p.hub).await?.json()?;
    ensure!(
        me["account_id"] == real_name && me["provider"] == "corp" && me["display_name"] == "张三",
        "{me}"
    );
    // The code and state are single-use: the same callback again is refused.
    b.get(&callback).await?;
    let mut again = Browser {
        accept: Some("application/json".into()),
        ..Browser::new()
    };
    again.jar = b.jar.clone();
    again
        .get(&callback)
        .await?
        .problem(400, "sso.state_invalid")?;

    // Key rotation: the provider now signs with a key the hub has not seen; one fetch of the
    // keys and the sign-in succeeds.
    p.node.restart_with_rotated_keys().await?;
    let mut r = Browser::new();
    let page = corp_sign_in(&mut r, &p, "alice", "").await?;
    ensure!(
        page.status == 302,
        "after rotation: {} {}",
        page.status,
        page.body
    );

    // RP-initiated logout: the hub's session ends and the browser goes to the provider's
    // end-session endpoint with the ID token hint, then back to the hub.
    let me = r.me(&p.hub).await?.json()?;
    let csrf = me["csrf_token"].as_str().unwrap_or_default().to_owned();
    let out = r
        .request(
            reqwest::Method::POST,
            &p.hub.url("/sso/logout"),
            Some(&[("csrf", csrf.as_str())]),
        )
        .await?;
    let end = out.location.clone().unwrap_or_default();
    ensure!(
        out.status == 303 && end.starts_with(p.node.issuer()) && end.contains("id_token_hint="),
        "{end}"
    );
    r.me(&p.hub).await?.problem(401, "auth.unauthenticated")?;
    let landed = end_session_at_provider(&end, &p.hub.url("/sso/logged-out")).await?;
    ensure!(
        landed.starts_with(&p.hub.url("/sso/logged-out")),
        "{landed}"
    );

    // Back-channel logout: the provider's session of another browser ends at the provider (its
    // own end-session), and the provider tells the hub, which ends that browser's session.
    let mut c = Browser::new();
    let page = corp_sign_in(&mut c, &p, "bob", "").await?;
    ensure!(page.status == 302);
    ensure!(c.me(&p.hub).await?.status == 200);
    let end = format!("{}?client_id=hub", p.node.url("/session/end"));
    end_session_at_provider(&end, p.node.issuer()).await.ok();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if c.me(&p.hub).await?.status == 401 {
            break;
        }
        ensure!(
            std::time::Instant::now() < deadline,
            "the back-channel logout did not end the session"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let auditor = p.hub.token(platform::admin::Role::AuditAdmin).await?;
    let bcl = tests::json(
        p.hub
            .get_as(&auditor, "/api/admin/audit?event=sso.backchannel_logout")
            .await?,
        200,
    )
    .await?;
    ensure!(
        bcl["items"]
            .as_array()
            .is_some_and(|i| i.iter().any(|e| e["details"]["sessions"] == 1)),
        "{bcl}"
    );
    p.hub.stop().await
}

async fn oidc_relying_party_negative_cases(env: Env) -> Result<()> {
    let p = start(&env).await?;
    for (scenario, expected) in [
        (Scenario::Valid, None),
        (Scenario::KidAbsentSingleKey, None),
        (
            Scenario::IssuerMismatch,
            Some((401, "sso.id_token_invalid")),
        ),
        (Scenario::MissingSub, Some((401, "sso.id_token_invalid"))),
        (Scenario::WrongAudience, Some((401, "sso.id_token_invalid"))),
        (Scenario::MissingIat, Some((401, "sso.id_token_invalid"))),
        (Scenario::Expired, Some((401, "sso.id_token_invalid"))),
        (
            Scenario::KidAbsentMultipleKeys,
            Some((401, "sso.id_token_invalid")),
        ),
        (Scenario::BadSignature, Some((401, "sso.id_token_invalid"))),
        (Scenario::AlgNone, Some((401, "sso.id_token_invalid"))),
        (
            Scenario::HmacWithPublicKey,
            Some((401, "sso.id_token_invalid")),
        ),
        (Scenario::InvalidNonce, Some((401, "sso.nonce_mismatch"))),
        (
            Scenario::UserinfoSubMismatch,
            Some((401, "sso.userinfo_mismatch")),
        ),
        // Last: the provider keeps signing with the rotated key.
        (Scenario::RotatedKey, None),
    ] {
        p.neg.set_scenario(scenario);
        let mut b = Browser {
            accept: Some("application/json".into()),
            ..Browser::new()
        };
        let authorize = begin(&mut b, &p.hub, "neg", "").await?;
        // The test provider answers at once with a redirect to the callback.
        let to_callback = b.get(&authorize).await?;
        let callback = to_callback
            .location
            .clone()
            .context("the test provider did not redirect")?;
        let page = b.get(&callback).await?;
        match expected {
            None => ensure!(
                page.status == 302 && b.cookie("__Host-hub_session").is_some(),
                "{scenario:?}: {} {}",
                page.status,
                page.body
            ),
            Some((status, code)) => {
                page.problem(status, code)
                    .with_context(|| format!("{scenario:?}"))?;
                ensure!(
                    b.cookie("__Host-hub_session").is_none(),
                    "{scenario:?} signed in"
                );
            }
        }
    }
    // The user cancels at the provider.
    p.neg.set_scenario(Scenario::Valid);
    let mut b = Browser {
        accept: Some("application/json".into()),
        ..Browser::new()
    };
    let authorize = begin(&mut b, &p.hub, "neg", "").await?;
    let state = url::Url::parse(&authorize)?
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    b.get(&p.hub.url(&format!(
        "/sso/neg/callback?state={state}&error=access_denied&error_description=cancelled"
    )))
    .await?
    .problem(403, "sso.access_denied")?;
    // The provider is down: discovery fails.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")?;
    let dead_url = format!("http://{}", dead.local_addr()?);
    drop(dead);
    let store = env.store().await?;
    let hub = tests::TestHub::start(
        &store,
        &[
            ("HUB_PROVIDERS__DOWN__KIND", "oidc"),
            ("HUB_PROVIDERS__DOWN__ISSUER", dead_url.as_str()),
            ("HUB_PROVIDERS__DOWN__CLIENT_ID", "hub"),
        ],
    )
    .await?;
    let mut b = Browser {
        accept: Some("application/json".into()),
        ..Browser::new()
    };
    b.get(&hub.url("/sso/down/login"))
        .await?
        .problem(502, "sso.provider_unavailable")?;
    hub.stop().await?;
    p.hub.stop().await
}

async fn backchannel_logout_tokens_are_validated(env: Env) -> Result<()> {
    let p = start(&env).await?;
    p.neg.set_scenario(Scenario::Valid);
    let mut b = Browser::new();
    let authorize = begin(&mut b, &p.hub, "neg", "").await?;
    let callback = b.get(&authorize).await?.location.context("redirect")?;
    ensure!(b.get(&callback).await?.status == 302);
    ensure!(b.me(&p.hub).await?.status == 200);
    let sid = p.neg.last_sid();
    let post = |token: String| {
        let url = p.hub.url("/sso/neg/backchannel-logout");
        async move {
            Ok::<_, tests::anyhow::Error>(
                tests::client()
                    .post(url)
                    .form(&[("logout_token", token)])
                    .send()
                    .await?,
            )
        }
    };
    for defect in [
        LogoutDefect::WrongAudience,
        LogoutDefect::WrongIssuer,
        LogoutDefect::NoEvents,
        LogoutDefect::WithNonce,
        LogoutDefect::BadSignature,
        LogoutDefect::Expired,
        LogoutDefect::AlgNone,
    ] {
        let token = p.neg.logout_token(LogoutTokenSpec {
            sub: Some("neg-user-1".into()),
            sid: sid.clone(),
            defect: Some(defect),
        });
        tests::assert_problem(post(token).await?, 400, "sso.logout_token_invalid")
            .await
            .with_context(|| format!("{defect:?}"))?;
        ensure!(
            b.me(&p.hub).await?.status == 200,
            "{defect:?} ended the session"
        );
    }
    let valid = p.neg.logout_token(LogoutTokenSpec {
        sub: Some("neg-user-1".into()),
        sid: sid.clone(),
        defect: None,
    });
    let res = post(valid.clone()).await?;
    ensure!(res.status() == 200 && res.headers()["cache-control"] == "no-store");
    b.me(&p.hub).await?.problem(401, "auth.unauthenticated")?;
    // The same token again: refused (each jti once).
    tests::assert_problem(post(valid).await?, 400, "sso.logout_token_invalid").await?;
    p.hub.stop().await
}

async fn oauth2_guangdong_shape_finds_the_real_name_account(env: Env) -> Result<()> {
    let p = start(&env).await?;
    let mut fujian = Browser::new();
    fujian
        .provincial_sign_in(&p.hub, "personal-1", None, "/")
        .await?;
    let real_name = fujian.me(&p.hub).await?.json()?["account_id"].clone();
    let mut b = Browser::new();
    let authorize = begin(&mut b, &p.hub, "gd", "return_to=/api/me").await?;
    ensure!(
        authorize.starts_with(&p.gd.url("/oauth2/authorize")),
        "{authorize}"
    );
    let callback = b.get(&authorize).await?.location.context("redirect")?;
    let done = b.get(&callback).await?;
    ensure!(
        done.status == 302 && done.location.as_deref() == Some("/api/me"),
        "{} {}",
        done.status,
        done.body
    );
    let me = b.me(&p.hub).await?.json()?;
    ensure!(
        me["account_id"] == real_name && me["provider"] == "gd",
        "{me}"
    );
    ensure!(
        me["identities"].as_array().is_some_and(|i| i
            .iter()
            .any(|x| x["provider"] == "gd" && x["subject"] == "gd-10001")),
        "{me}"
    );
    // A user-info document with an invalid certificate number is refused with its field.
    p.gd.set_oauth2_userinfo(serde_json::json!({ "code": 0, "data": { "user": { "id": "gd-2", "name": "x", "idcard": "350802199003070028", "idType": "111" } } }));
    let mut c = Browser {
        accept: Some("application/json".into()),
        ..Browser::new()
    };
    let authorize = begin(&mut c, &p.hub, "gd", "").await?;
    let callback = c.get(&authorize).await?.location.context("redirect")?;
    let doc = c
        .get(&callback)
        .await?
        .problem(502, "sso.identity_invalid")?;
    ensure!(
        doc["detail"]
            .as_str()
            .is_some_and(|d| d.contains("data.user.idcard") && !d.contains("350802199003070028")),
        "{doc}"
    );
    p.hub.stop().await
}

async fn identities_without_certificates_link_on_request(env: Env) -> Result<()> {
    let p = start(&env).await?;
    // Bob first arrives through the provider without a certificate: an account of his own.
    let mut bob = Browser::new();
    ensure!(corp_sign_in(&mut bob, &p, "bob", "").await?.status == 302);
    let alone = bob.me(&p.hub).await?.json()?;
    ensure!(alone["id_masked"].is_null(), "{alone}");
    // Signed in as personal-2 (real name), Bob links the provider identity to this account.
    let mut b = Browser::new();
    b.provincial_sign_in(&p.hub, "personal-2", None, "/")
        .await?;
    let real = b.me(&p.hub).await?.json()?;
    let authorize = begin(&mut b, &p.hub, "corp", "intent=link&return_to=/api/me").await?;
    let callback = sign_in_at_provider(&authorize, &p.hub.url("/sso/corp/callback"), "bob").await?;
    let done = b.get(&callback).await?;
    ensure!(
        done.status == 302 && done.location.as_deref() == Some("/api/me"),
        "{} {}",
        done.status,
        done.body
    );
    let linked = b.me(&p.hub).await?.json()?;
    ensure!(linked["account_id"] == real["account_id"], "{linked}");
    let providers: Vec<String> = linked["identities"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|i| i["provider"].as_str().map(str::to_owned))
        .collect();
    ensure!(
        providers.contains(&"corp".to_owned()) && providers.contains(&"fujian".to_owned()),
        "{linked}"
    );
    // The empty account is gone; Bob's next sign-in lands in the real-name account.
    let sec = p.hub.token(platform::admin::Role::SecurityAdmin).await?;
    tests::assert_problem(
        p.hub
            .get_as(
                &sec,
                &format!(
                    "/api/admin/accounts/{}",
                    alone["account_id"].as_str().unwrap_or_default()
                ),
            )
            .await?,
        404,
        "account.not_found",
    )
    .await?;
    let mut again = Browser::new();
    ensure!(corp_sign_in(&mut again, &p, "bob", "").await?.status == 302);
    ensure!(again.me(&p.hub).await?.json()?["account_id"] == real["account_id"]);
    // Alice's identity carries personal-1's certificate: it cannot join personal-2's account.
    let mut j = Browser {
        accept: Some("application/json".into()),
        ..Browser::new()
    };
    j.jar = b.jar.clone();
    let authorize = begin(&mut j, &p.hub, "corp", "intent=link").await?;
    let callback =
        sign_in_at_provider(&authorize, &p.hub.url("/sso/corp/callback"), "alice").await?;
    j.get(&callback)
        .await?
        .problem(409, "sso.identity_linked_elsewhere")?;
    // Users remove their own links (not the last).
    let res = tests::client()
        .delete(p.hub.url("/api/me/identities/corp/bob"))
        .header(
            "cookie",
            format!(
                "__Host-hub_session={}",
                b.cookie("__Host-hub_session").cloned().unwrap_or_default()
            ),
        )
        .send()
        .await?;
    ensure!(res.status() == 204);
    let after = b.me(&p.hub).await?.json()?;
    ensure!(
        after["identities"].as_array().map(Vec::len) == Some(1),
        "{after}"
    );
    let auditor = p.hub.token(platform::admin::Role::AuditAdmin).await?;
    let links = tests::json(
        p.hub
            .get_as(&auditor, "/api/admin/audit?event=identity.*&limit=100")
            .await?,
        200,
    )
    .await?;
    let events: Vec<String> = links["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e["event"].as_str().map(str::to_owned))
        .collect();
    ensure!(
        events.contains(&"identity.unlinked".to_owned())
            && events.iter().filter(|e| *e == "identity.linked").count() >= 2,
        "{events:?}"
    );
    p.hub.stop().await
}
