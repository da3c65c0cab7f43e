//! Administrators: two-factor sign-in, lockout, sessions, API tokens, the three separated roles
//! and the rules of administrator management.

use std::time::Duration;

use platform::admin::Role;
use tests::anyhow::{Result, ensure};
use tests::{Env, Test, TestAdmin, TestHub, assert_problem, json, test};

pub fn tests() -> Vec<Test> {
    vec![
        test!(sign_in_needs_password_and_one_time_code),
        test!(repeated_failures_lock_the_account_until_it_expires_or_is_unlocked),
        test!(sessions_end_when_idle_at_their_lifetime_and_at_logout),
        test!(api_tokens_are_shown_once_expire_and_can_be_revoked),
        test!(the_three_roles_are_separated),
        test!(administrator_management_keeps_the_rules),
        test!(sign_in_is_rate_limited_per_address),
        test!(a_disabled_administrator_cannot_sign_in),
        test!(one_code_signs_in_once_even_when_sent_concurrently),
    ]
}

async fn sign_in(
    hub: &TestHub,
    username: &str,
    password: &str,
    code: &str,
) -> Result<reqwest::Response> {
    Ok(hub
        .http
        .post(hub.url("/api/admin/session"))
        .json(&serde_json::json!({ "username": username, "password": password, "totp": code }))
        .send()
        .await?)
}

async fn get_with_cookie(hub: &TestHub, cookie: &str, path: &str) -> Result<reqwest::Response> {
    Ok(hub
        .http
        .get(hub.url(path))
        .header("cookie", cookie)
        .send()
        .await?)
}

/// Creates an administrator through the store and returns it without signing in.
async fn issued(hub: &TestHub, username: &str, role: Role) -> Result<TestAdmin> {
    let c = hub
        .state
        .platform
        .admins
        .create(None, username, username, role, &Default::default())
        .await?;
    Ok(TestAdmin {
        id: c.admin.id,
        username: username.to_owned(),
        password: c.password,
        secret: data_encoding::BASE32_NOPAD.decode(c.totp_secret.as_bytes())?,
        cookie: String::new(),
    })
}

async fn events(hub: &TestHub, token: &str, query: &str) -> Result<Vec<serde_json::Value>> {
    let page = json(
        hub.get_as(token, &format!("/api/admin/audit?limit=500&{query}"))
            .await?,
        200,
    )
    .await?;
    Ok(page["items"].as_array().cloned().unwrap_or_default())
}

async fn sign_in_needs_password_and_one_time_code(env: Env) -> Result<()> {
    let hub = env.hub().await?;
    let a = issued(&hub, "alice", Role::SecurityAdmin).await?;
    let wrong_pw = sign_in(&hub, "alice", "Wrong-password-1", &hub.next_code(&a)).await?;
    assert_problem(wrong_pw, 401, "admin.credentials_invalid").await?;
    let wrong_code = sign_in(&hub, "alice", &a.password, "000000").await?;
    assert_problem(wrong_code, 401, "admin.credentials_invalid").await?;
    // An unknown user gets the same answer.
    assert_problem(
        sign_in(&hub, "mallory", &a.password, "123456").await?,
        401,
        "admin.credentials_invalid",
    )
    .await?;

    let code = hub.next_code(&a);
    let res = sign_in(&hub, "ALICE ", &a.password, &code).await?;
    let cookie_header = res.headers()["set-cookie"].to_str()?.to_owned();
    let body = json(res, 200).await?;
    ensure!(body["admin"]["must_change_password"] == true, "{body}");
    ensure!(
        cookie_header.starts_with("__Host-hub_admin="),
        "{cookie_header}"
    );
    for attr in ["Path=/", "Secure", "HttpOnly", "SameSite=Strict"] {
        ensure!(
            cookie_header.contains(attr),
            "cookie lacks {attr}: {cookie_header}"
        );
    }
    let cookie = cookie_header
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned();
    // The session id is 256 bits, and the store keeps only its digest.
    ensure!(cookie.len() >= "__Host-hub_admin=".len() + 43);
    let db = hub.store.connect().await?;
    ensure!(db.scalar_i64("SELECT COUNT(*) FROM admin_sessions").await? == 1);
    db.close().await;

    // The same code cannot be used twice.
    assert_problem(
        sign_in(&hub, "alice", &a.password, &code).await?,
        401,
        "admin.credentials_invalid",
    )
    .await?;

    // Until the issued password is changed, nothing else is allowed.
    let session = json(
        get_with_cookie(&hub, &cookie, "/api/admin/session").await?,
        200,
    )
    .await?;
    ensure!(
        session["role"] == "security-admin" && session["kind"] == "session",
        "{session}"
    );
    assert_problem(
        get_with_cookie(&hub, &cookie, "/api/admin/admins").await?,
        403,
        "admin.password_change_required",
    )
    .await?;
    let weak = hub
        .http
        .put(hub.url("/api/admin/session/password"))
        .header("cookie", &cookie)
        .json(&serde_json::json!({ "current_password": a.password, "new_password": "short" }))
        .send()
        .await?;
    let doc = assert_problem(weak, 422, "validation.failed").await?;
    ensure!(doc["errors"][0]["field"] == "new_password", "{doc}");
    let ok = hub
        .http
        .put(hub.url("/api/admin/session/password"))
        .header("cookie", &cookie)
        .json(&serde_json::json!({ "current_password": a.password, "new_password": "Strong-enough-2026!" }))
        .send()
        .await?;
    ensure!(ok.status() == 204);
    ensure!(
        get_with_cookie(&hub, &cookie, "/api/admin/admins")
            .await?
            .status()
            == 200
    );

    // Every attempt is in the audit trail with its cause.
    let auditor = hub.token(Role::AuditAdmin).await?;
    let logins = events(&hub, &auditor, "event=admin.login").await?;
    let failures = logins.iter().filter(|e| e["outcome"] == "failure").count();
    ensure!(failures == 4, "{logins:?}");
    ensure!(
        logins
            .iter()
            .any(|e| e["outcome"] == "success" && e["actor_name"] == "alice")
    );
    ensure!(
        logins
            .iter()
            .any(|e| e["details"]["cause"] == "one-time code wrong or reused")
    );
    ensure!(
        !events(
            &hub,
            &auditor,
            "event=admin.password_changed&outcome=success"
        )
        .await?
        .is_empty()
    );
    hub.stop().await
}

async fn repeated_failures_lock_the_account_until_it_expires_or_is_unlocked(
    env: Env,
) -> Result<()> {
    let hub = env
        .hub_with(&[
            ("HUB_ADMIN__LOCKOUT_THRESHOLD", "3"),
            ("HUB_ADMIN__LOCKOUT_DURATION", "15m"),
            // Many attempts from one address in this test: keep the rate limit out of the way.
            ("HUB_ADMIN__LOGIN_ATTEMPTS_PER_MINUTE", "1000"),
        ])
        .await?;
    let a = issued(&hub, "bob", Role::SystemAdmin).await?;
    for _ in 0..2 {
        assert_problem(
            sign_in(&hub, "bob", "Wrong-password-1", "000000").await?,
            401,
            "admin.credentials_invalid",
        )
        .await?;
    }
    let third = sign_in(&hub, "bob", "Wrong-password-1", "000000").await?;
    ensure!(third.headers().contains_key("retry-after"));
    assert_problem(third, 423, "admin.account_locked").await?;
    // Locked: even the right credentials are refused, without checking them.
    assert_problem(
        sign_in(&hub, "bob", &a.password, &hub.next_code(&a)).await?,
        423,
        "admin.account_locked",
    )
    .await?;
    let auditor = hub.token(Role::AuditAdmin).await?;
    let locks = events(&hub, &auditor, "event=admin.locked").await?;
    ensure!(
        locks.len() == 1 && locks[0]["target"] == format!("admin:{}", a.id),
        "{locks:?}"
    );

    // The lock ends by itself.
    hub.clock.advance(Duration::from_secs(16 * 60));
    ensure!(
        sign_in(&hub, "bob", &a.password, &hub.next_code(&a))
            .await?
            .status()
            == 200
    );

    // Or a security administrator lifts it.
    for _ in 0..3 {
        sign_in(&hub, "bob", "Wrong-password-1", "000000").await?;
    }
    assert_problem(
        sign_in(&hub, "bob", &a.password, &hub.next_code(&a)).await?,
        423,
        "admin.account_locked",
    )
    .await?;
    let sec = hub.admin("sec", Role::SecurityAdmin).await?;
    let view = json(
        hub.http
            .post(hub.url(&format!("/api/admin/admins/{}/unlock", a.id)))
            .header("cookie", &sec.cookie)
            .send()
            .await?,
        200,
    )
    .await?;
    ensure!(view["locked_until"].is_null(), "{view}");
    ensure!(
        sign_in(&hub, "bob", &a.password, &hub.next_code(&a))
            .await?
            .status()
            == 200
    );
    ensure!(events(&hub, &auditor, "event=admin.unlocked").await?.len() == 1);
    hub.stop().await
}

async fn sessions_end_when_idle_at_their_lifetime_and_at_logout(env: Env) -> Result<()> {
    let hub = env
        .hub_with(&[
            ("HUB_ADMIN__SESSION_IDLE_TIMEOUT", "15m"),
            ("HUB_ADMIN__SESSION_LIFETIME", "1h"),
        ])
        .await?;
    let a = hub.admin("carol", Role::AuditAdmin).await?;
    // Idle: 10 minutes is fine, then 16 minutes of silence ends it.
    hub.clock.advance(Duration::from_secs(10 * 60));
    ensure!(
        get_with_cookie(&hub, &a.cookie, "/api/admin/session")
            .await?
            .status()
            == 200
    );
    hub.clock.advance(Duration::from_secs(16 * 60));
    assert_problem(
        get_with_cookie(&hub, &a.cookie, "/api/admin/session").await?,
        401,
        "auth.session_expired",
    )
    .await?;
    // And it stays ended.
    assert_problem(
        get_with_cookie(&hub, &a.cookie, "/api/admin/session").await?,
        401,
        "auth.unauthenticated",
    )
    .await?;

    // Lifetime: active every 10 minutes, still over after an hour.
    let cookie = hub.login(&a).await?;
    for _ in 0..5 {
        hub.clock.advance(Duration::from_secs(10 * 60));
        ensure!(
            get_with_cookie(&hub, &cookie, "/api/admin/session")
                .await?
                .status()
                == 200
        );
    }
    hub.clock.advance(Duration::from_secs(10 * 60));
    assert_problem(
        get_with_cookie(&hub, &cookie, "/api/admin/session").await?,
        401,
        "auth.session_expired",
    )
    .await?;

    // Logout ends the session in the store and clears the cookie.
    let cookie = hub.login(&a).await?;
    let res = hub
        .http
        .delete(hub.url("/api/admin/session"))
        .header("cookie", &cookie)
        .send()
        .await?;
    ensure!(res.status() == 204);
    ensure!(res.headers()["set-cookie"].to_str()?.contains("Max-Age=0"));
    assert_problem(
        get_with_cookie(&hub, &cookie, "/api/admin/session").await?,
        401,
        "auth.unauthenticated",
    )
    .await?;
    // A made-up cookie is just unauthenticated.
    assert_problem(
        get_with_cookie(&hub, "__Host-hub_admin=forged", "/api/admin/session").await?,
        401,
        "auth.unauthenticated",
    )
    .await?;
    assert_problem(
        hub.get("/api/admin/session").await?,
        401,
        "auth.unauthenticated",
    )
    .await?;
    hub.stop().await
}

async fn api_tokens_are_shown_once_expire_and_can_be_revoked(env: Env) -> Result<()> {
    let hub = env.hub().await?;
    let a = hub.admin("dave", Role::AuditAdmin).await?;
    let res = hub
        .http
        .post(hub.url("/api/admin/tokens"))
        .header("cookie", &a.cookie)
        .json(&serde_json::json!({ "name": "nightly export", "ttl": "1h" }))
        .send()
        .await?;
    let issued = json(res, 201).await?;
    let token = issued["token"].as_str().unwrap_or_default().to_owned();
    ensure!(
        token.starts_with("hubt_") && issued["role"] == "audit-admin",
        "{issued}"
    );
    ensure!(hub.get_as(&token, "/api/admin/audit").await?.status() == 200);
    // Listed without the secret.
    let list = json(
        get_with_cookie(&hub, &a.cookie, "/api/admin/tokens").await?,
        200,
    )
    .await?;
    ensure!(
        list.as_array().is_some_and(|l| l.len() == 1) && !list.to_string().contains(&token),
        "{list}"
    );
    // A token cannot be issued above the creator's role, nor beyond the maximum lifetime.
    let res = hub
        .http
        .post(hub.url("/api/admin/tokens"))
        .header("cookie", &a.cookie)
        .json(&serde_json::json!({ "name": "x", "ttl": "400d" }))
        .send()
        .await?;
    let doc = assert_problem(res, 422, "validation.failed").await?;
    ensure!(doc["errors"][0]["field"] == "ttl");

    // Expiry.
    hub.clock.advance(Duration::from_secs(2 * 3600));
    assert_problem(
        hub.get_as(&token, "/api/admin/audit").await?,
        401,
        "auth.token_invalid",
    )
    .await?;

    // Revocation.
    let second = hub
        .state
        .platform
        .admins
        .create_token(None, "second", Role::AuditAdmin, None, &Default::default())
        .await?;
    ensure!(
        hub.get_as(&second.token, "/api/admin/audit")
            .await?
            .status()
            == 200
    );
    let sec = hub.admin("sec", Role::SecurityAdmin).await?;
    let res = hub
        .http
        .delete(hub.url(&format!("/api/admin/tokens/{}", second.info.id)))
        .header("cookie", &sec.cookie)
        .send()
        .await?;
    ensure!(res.status() == 204);
    assert_problem(
        hub.get_as(&second.token, "/api/admin/audit").await?,
        401,
        "auth.token_invalid",
    )
    .await?;

    // Tokens of a disabled administrator stop working. (Two hours passed: sign in again.)
    let a_cookie = hub.login(&a).await?;
    let sec_cookie = hub.login(&sec).await?;
    let res = hub
        .http
        .post(hub.url("/api/admin/tokens"))
        .header("cookie", &a_cookie)
        .json(&serde_json::json!({ "name": "third" }))
        .send()
        .await?;
    let third = json(res, 201).await?["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    ensure!(hub.get_as(&third, "/api/admin/audit").await?.status() == 200);
    let res = hub
        .http
        .patch(hub.url(&format!("/api/admin/admins/{}", a.id)))
        .header("cookie", &sec_cookie)
        .json(&serde_json::json!({ "status": "disabled" }))
        .send()
        .await?;
    ensure!(res.status() == 200);
    assert_problem(
        hub.get_as(&third, "/api/admin/audit").await?,
        401,
        "auth.token_invalid",
    )
    .await?;
    // ...and so do its console sessions.
    assert_problem(
        get_with_cookie(&hub, &a_cookie, "/api/admin/session").await?,
        401,
        "auth.unauthenticated",
    )
    .await?;
    assert_problem(
        hub.get_as("hubt_unknown", "/api/admin/audit").await?,
        401,
        "auth.token_invalid",
    )
    .await?;
    assert_problem(
        hub.http
            .get(hub.url("/api/admin/audit"))
            .header("authorization", "Basic YTpi")
            .send()
            .await?,
        401,
        "auth.token_invalid",
    )
    .await?;
    hub.stop().await
}

async fn the_three_roles_are_separated(env: Env) -> Result<()> {
    let hub = env.hub().await?;
    let system = hub.token(Role::SystemAdmin).await?;
    let security = hub.token(Role::SecurityAdmin).await?;
    let audit = hub.token(Role::AuditAdmin).await?;
    let cases = [
        ("/api/admin/config", [200, 403, 403]),
        ("/api/admin/admins", [403, 200, 403]),
        ("/api/admin/audit", [403, 403, 200]),
        ("/api/admin/audit/export", [403, 403, 200]),
        ("/api/admin/audit/stats", [403, 403, 200]),
        ("/api/admin/audit/verify", [403, 403, 200]),
    ];
    for (path, expected) in cases {
        for (token, want) in [&system, &security, &audit].into_iter().zip(expected) {
            let res = hub.get_as(token, path).await?;
            if want == 403 {
                assert_problem(res, 403, "auth.forbidden").await?;
            } else {
                ensure!(res.status() == want, "{path}: {}", res.status());
            }
        }
        assert_problem(hub.get(path).await?, 401, "auth.unauthenticated").await?;
    }
    // Refusals are audited, with the permission that was missing.
    let denied = json(
        hub.get_as(&audit, "/api/admin/audit?event=access.denied&limit=500")
            .await?,
        200,
    )
    .await?;
    let items = denied["items"].as_array().cloned().unwrap_or_default();
    ensure!(items.len() == 12, "{denied}");
    ensure!(
        items
            .iter()
            .any(|e| e["details"]["permission"] == "audit.read"
                && e["details"]["role"] == "system-admin")
    );
    // Nobody can erase audit records: there is no such operation.
    for method in [
        reqwest::Method::DELETE,
        reqwest::Method::PUT,
        reqwest::Method::PATCH,
    ] {
        let res = hub
            .http
            .request(method, hub.url("/api/admin/audit"))
            .bearer_auth(&audit)
            .send()
            .await?;
        assert_problem(res, 405, "request.method_not_allowed").await?;
    }
    hub.stop().await
}

async fn administrator_management_keeps_the_rules(env: Env) -> Result<()> {
    let hub = env.hub().await?;
    let sec = hub.admin("sec", Role::SecurityAdmin).await?;
    let post = |body: serde_json::Value| {
        hub.http
            .post(hub.url("/api/admin/admins"))
            .header("cookie", &sec.cookie)
            .json(&body)
            .send()
    };
    let created = json(
        post(serde_json::json!({ "username": "Erin", "display_name": "审计员 Erin", "role": "audit-admin" })).await?,
        201,
    )
    .await?;
    ensure!(
        created["admin"]["username"] == "erin"
            && created["totp_uri"]
                .as_str()
                .is_some_and(|u| u.starts_with("otpauth://totp/")),
        "{created}"
    );
    let erin_id = created["admin"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_problem(
        post(serde_json::json!({ "username": "erin", "display_name": "x", "role": "audit-admin" }))
            .await?,
        409,
        "admin.username_taken",
    )
    .await?;
    let doc = assert_problem(
        post(serde_json::json!({ "username": "1x", "display_name": "x", "role": "audit-admin" }))
            .await?,
        422,
        "validation.failed",
    )
    .await?;
    ensure!(doc["errors"][0]["field"] == "username");
    assert_problem(
        post(serde_json::json!({ "username": "frank", "display_name": "x", "role": "root" }))
            .await?,
        422,
        "validation.failed",
    )
    .await?;
    // The systems' role is for API tokens, not people.
    let doc = assert_problem(
        post(serde_json::json!({ "username": "frank", "display_name": "x", "role": "message-sender" }))
            .await?,
        422,
        "validation.failed",
    )
    .await?;
    ensure!(doc["errors"][0]["field"] == "role", "{doc}");

    let patch = |id: String, body: serde_json::Value| {
        hub.http
            .patch(hub.url(&format!("/api/admin/admins/{id}")))
            .header("cookie", &sec.cookie)
            .json(&body)
            .send()
    };
    // One's own role or status: no. The last active security administrator: kept.
    assert_problem(
        patch(sec.id.clone(), serde_json::json!({ "role": "audit-admin" })).await?,
        409,
        "admin.self_modification",
    )
    .await?;
    let res = hub
        .http
        .delete(hub.url(&format!("/api/admin/admins/{}", sec.id)))
        .header("cookie", &sec.cookie)
        .send()
        .await?;
    assert_problem(res, 409, "admin.self_modification").await?;
    let token = hub.token(Role::SecurityAdmin).await?;
    let res = hub
        .http
        .patch(hub.url(&format!("/api/admin/admins/{}", sec.id)))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "status": "disabled" }))
        .send()
        .await?;
    assert_problem(res, 409, "admin.last_security_admin").await?;

    // Changes are audited with before and after.
    let view = json(
        patch(
            erin_id.clone(),
            serde_json::json!({ "role": "system-admin", "display_name": "Erin" }),
        )
        .await?,
        200,
    )
    .await?;
    ensure!(view["role"] == "system-admin");
    let auditor = hub.token(Role::AuditAdmin).await?;
    let updates = json(
        hub.get_as(&auditor, "/api/admin/audit?event=admin.updated")
            .await?,
        200,
    )
    .await?;
    let u = &updates["items"][0];
    ensure!(
        u["details"]["before"]["role"] == "audit-admin"
            && u["details"]["after"]["role"] == "system-admin",
        "{u}"
    );
    ensure!(
        u["actor_name"] == "sec" && u["target"] == format!("admin:{erin_id}"),
        "{u}"
    );
    assert_problem(
        patch(erin_id.clone(), serde_json::json!({ "status": "gone" })).await?,
        422,
        "validation.failed",
    )
    .await?;
    assert_problem(
        patch("no-such-id".into(), serde_json::json!({})).await?,
        404,
        "admin.not_found",
    )
    .await?;

    // Reset issues new credentials; delete removes.
    let reset = json(
        hub.http
            .post(hub.url(&format!("/api/admin/admins/{erin_id}/reset-credentials")))
            .header("cookie", &sec.cookie)
            .send()
            .await?,
        200,
    )
    .await?;
    ensure!(
        reset["password"] != created["password"] && reset["totp_secret"] != created["totp_secret"]
    );
    let res = hub
        .http
        .delete(hub.url(&format!("/api/admin/admins/{erin_id}")))
        .header("cookie", &sec.cookie)
        .send()
        .await?;
    ensure!(res.status() == 204);
    assert_problem(
        get_with_cookie(&hub, &sec.cookie, &format!("/api/admin/admins/{erin_id}")).await?,
        404,
        "admin.not_found",
    )
    .await?;
    let list = json(
        get_with_cookie(&hub, &sec.cookie, "/api/admin/admins").await?,
        200,
    )
    .await?;
    ensure!(list.as_array().is_some_and(|l| l.len() == 1));
    // Passwords and TOTP secrets are never in the list or the audit trail.
    let trail = hub
        .get_as(&auditor, "/api/admin/audit/export")
        .await?
        .text()
        .await?;
    for secret in [
        &created["password"],
        &created["totp_secret"],
        &reset["password"],
    ] {
        let s = secret.as_str().unwrap_or("-");
        ensure!(!trail.contains(s) && !list.to_string().contains(s));
    }
    hub.stop().await
}

async fn sign_in_is_rate_limited_per_address(env: Env) -> Result<()> {
    let hub = env
        .hub_with(&[("HUB_ADMIN__LOGIN_ATTEMPTS_PER_MINUTE", "3")])
        .await?;
    for _ in 0..3 {
        assert_problem(
            sign_in(&hub, "x", "y", "123456").await?,
            401,
            "admin.credentials_invalid",
        )
        .await?;
    }
    let res = sign_in(&hub, "x", "y", "123456").await?;
    ensure!(res.headers().contains_key("retry-after"));
    assert_problem(res, 429, "request.rate_limited").await?;
    hub.stop().await
}

async fn a_disabled_administrator_cannot_sign_in(env: Env) -> Result<()> {
    let hub = env.hub().await?;
    let a = hub.admin("gina", Role::AuditAdmin).await?;
    let sec = hub.admin("sec", Role::SecurityAdmin).await?;
    let res = hub
        .http
        .patch(hub.url(&format!("/api/admin/admins/{}", a.id)))
        .header("cookie", &sec.cookie)
        .json(&serde_json::json!({ "status": "disabled" }))
        .send()
        .await?;
    ensure!(res.status() == 200);
    // The right password and code: refused, and said so (only to someone who has both).
    assert_problem(
        sign_in(&hub, "gina", &a.password, &hub.next_code(&a)).await?,
        401,
        "admin.account_disabled",
    )
    .await?;
    hub.stop().await
}

/// The TOTP step is claimed atomically: of several sign-ins racing with one code, one wins.
async fn one_code_signs_in_once_even_when_sent_concurrently(env: Env) -> Result<()> {
    let hub = env.hub().await?;
    let a = hub.admin("hana", Role::AuditAdmin).await?;
    let code = hub.next_code(&a);
    let (r1, r2, r3, r4) = tokio::join!(
        sign_in(&hub, "hana", &a.password, &code),
        sign_in(&hub, "hana", &a.password, &code),
        sign_in(&hub, "hana", &a.password, &code),
        sign_in(&hub, "hana", &a.password, &code),
    );
    let ok = [r1?, r2?, r3?, r4?]
        .iter()
        .filter(|r| r.status() == 200)
        .count();
    ensure!(ok == 1, "{ok} sign-ins succeeded with one code");
    hub.stop().await
}
