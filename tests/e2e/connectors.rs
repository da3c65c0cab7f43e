//! Connectors: the shipped catalog, administration (validation, versions, rollback, audit),
//! audited jumps with sign-in first and signed hand-off, health probes and the interstitial.

use std::time::Duration;

use platform::admin::Role;
use serde_json::{Value, json};
use tests::anyhow::{Context, Result, ensure};
use tests::{
    Browser, Env, Platform, Test, TestHub, assert_problem, federated_hub, json as body, test,
};

pub fn tests() -> Vec<Test> {
    vec![
        test!(the_catalog_is_seeded_once_and_listed_with_status),
        test!(unknown_disabled_and_unconfigured_connectors_are_404),
        test!(a_jump_is_audited_then_redirected),
        test!(changes_are_validated_versioned_audited_and_rolled_back),
        test!(only_system_administrators_manage_connectors),
        test!(sign_in_comes_first_when_required),
        test!(signed_handoff_verifies_and_carries_no_certificate_number),
        test!(sm2_handoff_keys_are_generated_and_verifiable),
        test!(a_failing_platform_gets_a_notice_and_its_health_is_recorded),
        test!(probes_carry_the_request_id_and_use_the_resilient_client),
        test!(postgres: one_node_probes_at_a_time),
    ]
}

const LOCAL: (&str, &str) = ("HUB_CONNECTORS__ALLOWED_HOSTS", r#"["127.0.0.1"]"#);

async fn events(hub: &TestHub, query: &str) -> Result<Vec<Value>> {
    let token = hub.token(Role::AuditAdmin).await?;
    let page = body(
        hub.get_as(&token, &format!("/api/admin/audit?limit=500&{query}"))
            .await?,
        200,
    )
    .await?;
    Ok(page["items"].as_array().cloned().unwrap_or_default())
}

async fn public_list(hub: &TestHub) -> Result<Vec<Value>> {
    let v = body(hub.get("/api/connectors").await?, 200).await?;
    v.as_array().cloned().context("a list")
}

async fn create(hub: &TestHub, token: &str, doc: Value) -> Result<reqwest::Response> {
    Ok(hub
        .http
        .post(hub.url("/api/admin/connectors"))
        .bearer_auth(token)
        .json(&doc)
        .send()
        .await?)
}

async fn patch(hub: &TestHub, token: &str, code: &str, doc: Value) -> Result<reqwest::Response> {
    Ok(hub
        .http
        .patch(hub.url(&format!("/api/admin/connectors/{code}")))
        .bearer_auth(token)
        .json(&doc)
        .send()
        .await?)
}

async fn post(hub: &TestHub, token: &str, path: &str) -> Result<reqwest::Response> {
    Ok(hub
        .http
        .post(hub.url(path))
        .bearer_auth(token)
        .send()
        .await?)
}

fn local_connector(code: &str, url: &str) -> Value {
    json!({
        "code": code,
        "name": "测试平台",
        "category": "测试",
        "url": url,
        "allow_http": true,
    })
}

/// Waits (up to 10 s) until `check` holds for the public entry of `code`.
async fn wait_for_status(hub: &TestHub, code: &str, status: &str) -> Result<Value> {
    for _ in 0..200 {
        let list = public_list(hub).await?;
        if let Some(c) = list.iter().find(|c| c["code"] == code)
            && c["status"] == status
        {
            return Ok(c.clone());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("{code} never became {status}")
}

use tests::anyhow;

async fn the_catalog_is_seeded_once_and_listed_with_status(env: Env) -> Result<()> {
    let store = env.store().await?;
    let hub = TestHub::start(&store, &[]).await?;
    let list = public_list(&hub).await?;
    let codes: Vec<&str> = list.iter().map(|c| c["code"].as_str().unwrap()).collect();
    assert_eq!(
        codes,
        [
            "safe-forex",
            "pbc-credit",
            "movable-registry",
            "receivables",
            "carbon",
            "coin-reservation",
            "account-permit",
            "mediation",
            "emission-rights",
            "forest-rights"
        ]
    );
    let forex = &list[0];
    assert_eq!(forex["name"], "数字外管平台");
    assert_eq!(forex["status"], "unknown", "not probed yet");
    assert_eq!(forex["href"], "/go/safe-forex");
    assert_eq!(forex["open_mode"], "new-tab");
    for c in &list[5..] {
        assert_eq!(c["status"], "unconfigured", "{c}");
        assert_eq!(c["status_label"], "待配置");
        assert!(c["href"].is_null());
    }
    // The public list never shows links or hand-off settings.
    assert!(
        list.iter()
            .all(|c| c.get("url").is_none() && c.get("handoff").is_none())
    );
    let audit = events(&hub, "event=connector.seeded").await?;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["details"]["connectors"], 10);

    // Deleting one is not undone by a restart: the store owns the registry after the seed.
    let token = hub.token(Role::SystemAdmin).await?;
    let del = hub
        .http
        .delete(hub.url("/api/admin/connectors/carbon"))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(del.status(), 204);
    hub.stop().await?;
    let hub = TestHub::start(&store, &[]).await?;
    let list = public_list(&hub).await?;
    assert_eq!(list.len(), 9);
    assert!(list.iter().all(|c| c["code"] != "carbon"));
    assert_eq!(events(&hub, "event=connector.seeded").await?.len(), 1);
    hub.stop().await
}

async fn unknown_disabled_and_unconfigured_connectors_are_404(env: Env) -> Result<()> {
    let hub = env.hub().await?;
    for (path, text) in [
        ("/go/no-such-platform", "未找到该服务"),
        ("/go/coin-reservation", "纪念币预约暂未开通"),
        ("/go/..%2Fadmin", "未找到该服务"),
    ] {
        let res = hub.get(path).await?;
        assert_eq!(res.status(), 404, "{path}");
        assert!(
            res.headers()["content-type"]
                .to_str()?
                .starts_with("text/html"),
            "{path}"
        );
        let page = res.text().await?;
        assert!(page.contains(text), "{path}: {page}");
        assert!(page.contains("connectors.unavailable"));
    }
    // Programs get the problem document.
    let res = hub
        .http
        .get(hub.url("/go/coin-reservation"))
        .header("accept", "application/json")
        .send()
        .await?;
    assert_problem(res, 404, "connectors.unavailable").await?;

    // Disabled by an administrator: 404 too, and "disabled" in the list.
    let token = hub.token(Role::SystemAdmin).await?;
    let res = patch(&hub, &token, "carbon", json!({ "enabled": false })).await?;
    body(res, 200).await?;
    let res = hub.get("/go/carbon").await?;
    assert_eq!(res.status(), 404);
    assert!(res.text().await?.contains("已停用"));
    let list = public_list(&hub).await?;
    let carbon = list.iter().find(|c| c["code"] == "carbon").unwrap();
    assert_eq!(carbon["status"], "disabled");
    assert!(carbon["href"].is_null());
    // Nothing was audited as a jump.
    assert!(events(&hub, "event=connector.jump").await?.is_empty());
    hub.stop().await
}

async fn a_jump_is_audited_then_redirected(env: Env) -> Result<()> {
    let hub = env.hub().await?;
    let res = hub
        .http
        .get(hub.url("/go/receivables"))
        .header("user-agent", "e2e-browser/1.0")
        .header(
            "referer",
            "https://portal.longyan.example/services?token=SECRET-IN-REFERRER#frag",
        )
        .header("x-request-id", "jump-test-1")
        .send()
        .await?;
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "https://www.crcrfsp.com/");
    assert_eq!(res.headers()["cache-control"], "no-store");
    let audit = events(&hub, "event=connector.jump").await?;
    assert_eq!(audit.len(), 1);
    let e = &audit[0];
    assert_eq!(e["target"], "connector:receivables");
    assert_eq!(e["actor_kind"], "anonymous");
    assert_eq!(e["outcome"], "success");
    assert_eq!(e["source_ip"], "127.0.0.1");
    assert_eq!(e["user_agent"], "e2e-browser/1.0");
    assert_eq!(e["request_id"], "jump-test-1");
    assert_eq!(
        e["details"]["referrer"],
        "https://portal.longyan.example/services"
    );
    assert_eq!(e["details"]["host"], "www.crcrfsp.com");
    assert_eq!(e["details"]["handoff"], "none");
    assert!(!e.to_string().contains("SECRET-IN-REFERRER"));
    // No identity or anything else is appended to a link without a signed hand-off, even for a
    // signed-in user (shown in `sign_in_comes_first_when_required`).
    let metrics = hub.get("/metrics").await?.text().await?;
    assert!(
        metrics.contains(
            r#"hub_connector_jumps_total{connector="receivables",outcome="redirected"} 1"#
        ),
        "{metrics}"
    );
    hub.stop().await
}

async fn changes_are_validated_versioned_audited_and_rolled_back(env: Env) -> Result<()> {
    let hub = env.hub_with(&[LOCAL]).await?;
    let token = hub.token(Role::SystemAdmin).await?;
    // Each invalid definition is refused with 422 naming the field.
    let cases: [(Value, &str); 10] = [
        (local_connector("x-1", "javascript:alert(1)"), "url"),
        (local_connector("x-1", "data:text/html,<b>x</b>"), "url"),
        (
            json!({"code": "x-1", "name": "n", "category": "c", "url": "http://127.0.0.1:9/"}),
            "url",
        ),
        (local_connector("x-1", "https://evil.example.cn/"), "url"),
        (local_connector("x-1", "http://user:pw@127.0.0.1:9/"), "url"),
        (local_connector("X_1", "http://127.0.0.1:9/"), "code"),
        (json!({"code": "x-1", "name": "", "category": "c"}), "name"),
        (
            json!({"code": "x-1", "name": "n", "category": "c", "url": "http://127.0.0.1:9/", "allow_http": true,
                   "handoff": {"mode": "signed", "scheme": "hmac-sm3", "params": ["sub", "id_number"]}}),
            "handoff.params",
        ),
        (
            json!({"code": "x-1", "name": "n", "category": "c", "url": "http://127.0.0.1:9/", "allow_http": true,
                   "handoff": {"mode": "signed", "scheme": "hmac-sm3", "params": ["sub"]}}),
            "handoff",
        ),
        (
            json!({"code": "x-1", "name": "n", "category": "c", "open_mode": "popup"}),
            "open_mode",
        ),
    ];
    for (doc, field) in cases {
        let res = create(&hub, &token, doc.clone()).await?;
        let p = assert_problem(res, 422, "validation.failed").await?;
        assert_eq!(p["errors"][0]["field"], field, "{doc}: {p}");
    }
    let res = create(
        &hub,
        &token,
        json!({"code": "x-1", "name": "n", "category": "c", "color": "red"}),
    )
    .await?;
    assert_problem(res, 422, "validation.failed").await?;

    // Create, then a duplicate.
    let created = body(
        create(&hub, &token, local_connector("x-1", "http://127.0.0.1:9/a")).await?,
        201,
    )
    .await?;
    assert_eq!(created["version"], 1);
    assert_eq!(created["enabled"], true);
    assert_eq!(created["handoff"]["mode"], "none");
    let dup = create(&hub, &token, local_connector("x-1", "http://127.0.0.1:9/a")).await?;
    assert_problem(dup, 409, "connectors.exists").await?;

    // Edit at version 1; a stale edit is refused.
    let v2 = body(
        patch(
            &hub,
            &token,
            "x-1",
            json!({"version": 1, "name": "新名称", "position": -5}),
        )
        .await?,
        200,
    )
    .await?;
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["name"], "新名称");
    let stale = patch(
        &hub,
        &token,
        "x-1",
        json!({"version": 1, "name": "旧版本上的修改"}),
    )
    .await?;
    assert_problem(stale, 409, "connectors.version_conflict").await?;
    // An invalid edit leaves it as it was.
    let bad = patch(&hub, &token, "x-1", json!({"url": "javascript:alert(1)"})).await?;
    assert_problem(bad, 422, "validation.failed").await?;
    // Ordered by position: the new one is first now.
    assert_eq!(public_list(&hub).await?[0]["code"], "x-1");

    let versions = body(
        hub.get_as(&token, "/api/admin/connectors/x-1/versions")
            .await?,
        200,
    )
    .await?;
    let actions: Vec<&str> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["updated", "created"]);
    assert_eq!(versions[1]["definition"]["name"], "测试平台");

    let audit = events(&hub, "event=connector.updated").await?;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["details"]["before"]["name"], "测试平台");
    assert_eq!(audit[0]["details"]["after"]["name"], "新名称");
    assert_eq!(audit[0]["target"], "connector:x-1");
    assert_eq!(audit[0]["actor_kind"], "token");

    // One-step rollback restores the previous definition as a new version.
    let rolled = body(
        post(&hub, &token, "/api/admin/connectors/x-1/rollback").await?,
        200,
    )
    .await?;
    assert_eq!(rolled["name"], "测试平台");
    assert_eq!(rolled["version"], 3);
    let rb = events(&hub, "event=connector.rolled_back").await?;
    assert_eq!(rb[0]["details"]["restored_version"], 1);

    // Delete: gone (404 for the API and the jump), history kept; rollback brings it back.
    let del = hub
        .http
        .delete(hub.url("/api/admin/connectors/x-1?version=3"))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(del.status(), 204);
    assert_problem(
        hub.get_as(&token, "/api/admin/connectors/x-1").await?,
        404,
        "connectors.not_found",
    )
    .await?;
    assert_eq!(hub.get("/go/x-1").await?.status(), 404);
    let back = body(
        post(&hub, &token, "/api/admin/connectors/x-1/rollback").await?,
        200,
    )
    .await?;
    assert_eq!(back["version"], 5);
    assert_eq!(back["name"], "测试平台");
    assert_eq!(hub.get("/go/x-1").await?.status(), 302);

    // A connector with one version has nothing to roll back.
    let fresh = create(&hub, &token, local_connector("x-2", "http://127.0.0.1:9/")).await?;
    body(fresh, 201).await?;
    assert_problem(
        post(&hub, &token, "/api/admin/connectors/x-2/rollback").await?,
        409,
        "connectors.nothing_to_roll_back",
    )
    .await?;
    // The history cannot be rewritten, even by the application's own connection.
    let db = hub.store.connect().await?;
    assert!(
        db.exec("UPDATE connector_versions SET action = 'x'")
            .await
            .is_err()
    );
    assert!(db.exec("DELETE FROM connector_versions").await.is_err());
    db.close().await;
    hub.stop().await
}

async fn only_system_administrators_manage_connectors(env: Env) -> Result<()> {
    let hub = env.hub().await?;
    assert_problem(
        hub.get("/api/admin/connectors").await?,
        401,
        "auth.unauthenticated",
    )
    .await?;
    for role in [Role::SecurityAdmin, Role::AuditAdmin] {
        let t = hub.token(role).await?;
        assert_problem(
            hub.get_as(&t, "/api/admin/connectors").await?,
            403,
            "auth.forbidden",
        )
        .await?;
        let res = create(
            &hub,
            &t,
            local_connector("x-3", "https://www.crcrfsp.com/x"),
        )
        .await?;
        assert_problem(res, 403, "auth.forbidden").await?;
    }
    let t = hub.token(Role::SystemAdmin).await?;
    let list = body(hub.get_as(&t, "/api/admin/connectors").await?, 200).await?;
    let forex = &list[0];
    assert_eq!(forex["url"], "http://zwfw.safe.gov.cn/asone/");
    assert_eq!(forex["allow_http"], true);
    assert_eq!(forex["version"], 1);
    assert!(forex["notice"].as_str().unwrap().contains("超时"));
    // A cross-site browser request cannot change connectors.
    let res = hub
        .http
        .patch(hub.url("/api/admin/connectors/carbon"))
        .bearer_auth(&t)
        .header("sec-fetch-site", "cross-site")
        .json(&json!({"enabled": false}))
        .send()
        .await?;
    assert_problem(res, 403, "request.cross_origin").await?;
    hub.stop().await
}

async fn sign_in_comes_first_when_required(env: Env) -> Result<()> {
    let platform = Platform::start().await?;
    let hub = federated_hub(&env, &[LOCAL]).await?;
    let token = hub.token(Role::SystemAdmin).await?;
    let mut doc = local_connector("x-4", &platform.url("/entry?from=longyan"));
    doc["sign_in_required"] = json!(true);
    body(create(&hub, &token, doc).await?, 201).await?;

    let mut b = Browser::new();
    let first = b.get(&hub.url("/go/x-4")).await?;
    assert_eq!(first.status, 302);
    assert_eq!(
        first.location.as_deref(),
        Some("/sso/fujian/login?return_to=%2Fgo%2Fx-4")
    );
    // Signing in brings the user back to the jump, which now leads out.
    let (page, _) = b
        .provincial_sign_in(&hub, "personal-1", None, "/go/x-4")
        .await?;
    assert_eq!(page.location.as_deref(), Some("/go/x-4"));
    let jump = b.get(&hub.url("/go/x-4")).await?;
    assert_eq!(jump.status, 302);
    // No hand-off configured: the link exactly as configured, nothing about the user.
    assert_eq!(jump.location, Some(platform.url("/entry?from=longyan")));
    let audit = events(&hub, "event=connector.jump").await?;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["actor_kind"], "account");
    assert!(audit[0]["actor_id"].as_str().is_some());
    // The person's name is masked in the audit record.
    assert_eq!(audit[0]["actor_name"], "张*");
    hub.stop().await
}

fn query(location: &str) -> Vec<(String, String)> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

async fn signed_handoff_verifies_and_carries_no_certificate_number(env: Env) -> Result<()> {
    let platform = Platform::start().await?;
    let hub = federated_hub(&env, &[LOCAL]).await?;
    let token = hub.token(Role::SystemAdmin).await?;
    let secret = "partner-agreed-secret-0123";
    let mut doc = local_connector("x-5", &platform.url("/sso?src=hub"));
    doc["sign_in_required"] = json!(true);
    doc["handoff"] = json!({"mode": "signed", "scheme": "hmac-sm3", "params": ["sub", "kind", "name", "uscc", "agent"], "key": secret});
    let created = body(create(&hub, &token, doc).await?, 201).await?;
    assert_eq!(created["handoff"]["key_set"], true);
    assert!(
        created.get("generated_secret").is_none(),
        "a given key is not echoed"
    );
    assert!(!created.to_string().contains(secret));

    let mac = guomi_mac(secret);
    for persona in ["personal-1", "legal-1"] {
        let mut b = Browser::new();
        b.provincial_sign_in(&hub, persona, None, "/").await?;
        let jump = b.get(&hub.url("/go/x-5")).await?;
        assert_eq!(jump.status, 302, "{}", jump.body);
        let loc = jump.location.clone().unwrap();
        let q = query(&loc);
        assert_eq!(q[0], ("src".to_owned(), "hub".to_owned()));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs() as i64;
        let verified = connectors::verify(
            &q,
            "x-5",
            connectors::Scheme::HmacSm3,
            &|m: &[u8], s: &[u8]| mac(m) == s,
            now,
            300,
        )
        .map_err(|e| anyhow::anyhow!("{e}: {loc}"))?;
        // Certificate numbers never leave, whatever is configured.
        for number in [
            "350802199003070029",
            "350801198511120044",
            "350821197805210011",
        ] {
            assert!(!loc.contains(number), "{loc}");
        }
        let me = b.me(&hub).await?.json()?;
        assert_ne!(verified["hub_sub"], me["account_id"].as_str().unwrap());
        assert_eq!(verified["hub_sub"].len(), 32);
        assert_eq!(verified["hub_kind"], me["kind"].as_str().unwrap());
        if persona == "legal-1" {
            assert_eq!(verified["hub_uscc"], me["uscc"].as_str().unwrap());
            assert!(verified.contains_key("hub_agent"));
        } else {
            assert!(!verified.contains_key("hub_uscc"));
        }
        // The same user gets the same pseudonym and a fresh nonce next time; a tampered
        // parameter no longer verifies.
        let again = query(&b.get(&hub.url("/go/x-5")).await?.location.unwrap());
        let get =
            |q: &[(String, String)], k: &str| q.iter().find(|(n, _)| n == k).unwrap().1.clone();
        assert_eq!(get(&again, "hub_sub"), verified["hub_sub"]);
        assert_ne!(get(&again, "hub_nonce"), verified["hub_nonce"]);
        let mut tampered = again.clone();
        tampered
            .iter_mut()
            .find(|(k, _)| k == "hub_kind")
            .unwrap()
            .1 = "personal_x".into();
        assert!(
            connectors::verify(
                &tampered,
                "x-5",
                connectors::Scheme::HmacSm3,
                &|m: &[u8], s: &[u8]| mac(m) == s,
                now,
                300
            )
            .is_err()
        );
    }
    // Switching to a generated secret shows it once.
    let changed = body(
        patch(
            &hub,
            &token,
            "x-5",
            json!({"handoff": {"mode": "signed", "scheme": "hmac-sm3", "params": ["sub"]}}),
        )
        .await?,
        200,
    )
    .await?;
    // Same scheme, no key given: the agreed key is kept.
    assert!(changed.get("generated_secret").is_none());
    let audit = events(&hub, "event=connector.updated").await?;
    assert_eq!(audit[0]["details"]["handoff_key"], "unchanged");
    assert!(!audit.iter().any(|e| e.to_string().contains(secret)));
    hub.stop().await
}

fn guomi_mac(secret: &str) -> impl Fn(&[u8]) -> Vec<u8> {
    let mac = guomi::HmacSm3::new(secret.as_bytes()).unwrap();
    move |m: &[u8]| guomi::Mac::tag(&mac, &[m]).to_vec()
}

async fn sm2_handoff_keys_are_generated_and_verifiable(env: Env) -> Result<()> {
    let platform = Platform::start().await?;
    let hub = federated_hub(&env, &[LOCAL]).await?;
    let token = hub.token(Role::SystemAdmin).await?;
    let mut doc = local_connector("x-6", &platform.url("/"));
    doc["sign_in_required"] = json!(true);
    doc["handoff"] = json!({"mode": "signed", "scheme": "sm2", "params": ["sub", "name"]});
    let created = body(create(&hub, &token, doc).await?, 201).await?;
    let pem = created["handoff"]["public_key"]
        .as_str()
        .context("SM2: the public key is shown")?
        .to_owned();
    assert!(
        created.get("generated_secret").is_none(),
        "the private key is never shown"
    );
    let verifier = guomi::Sm2Verifier::from_pem(&pem, connectors::SM2_DISTID)?;
    let mut b = Browser::new();
    b.provincial_sign_in(&hub, "personal-2", None, "/").await?;
    let loc = b.get(&hub.url("/go/x-6")).await?.location.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let v = connectors::verify(
        &query(&loc),
        "x-6",
        connectors::Scheme::Sm2,
        &|m: &[u8], s: &[u8]| verifier.verify(m, s),
        now,
        300,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    assert_eq!(v["hub_alg"], "SM2-SM3");
    // Switching to HMAC-SM3 without a key generates a secret, shown this once.
    let changed = body(
        patch(
            &hub,
            &token,
            "x-6",
            json!({"handoff": {"mode": "signed", "scheme": "hmac-sm3", "params": ["sub"]}}),
        )
        .await?,
        200,
    )
    .await?;
    let secret = changed["generated_secret"]
        .as_str()
        .context("shown once")?
        .to_owned();
    assert!(secret.len() >= 32);
    let again = body(hub.get_as(&token, "/api/admin/connectors/x-6").await?, 200).await?;
    assert!(again.get("generated_secret").is_none());
    assert!(!again.to_string().contains(&secret));
    let audit = events(&hub, "event=connector.updated").await?;
    assert_eq!(audit[0]["details"]["handoff_key"], "generated");
    assert!(!audit[0].to_string().contains(&secret));
    // The key is stored encrypted, not as the secret.
    let db = hub.store.connect().await?;
    let rows = db
        .strings("SELECT definition FROM connectors WHERE code = 'x-6'")
        .await?;
    assert!(!rows[0].contains(&secret));
    db.close().await;
    hub.stop().await
}

async fn a_failing_platform_gets_a_notice_and_its_health_is_recorded(env: Env) -> Result<()> {
    let platform = Platform::start().await?;
    platform.set_status(503);
    let hub = env
        .hub_with(&[
            LOCAL,
            ("HUB_CONNECTORS__PROBES", "true"),
            ("HUB_CONNECTORS__PROBE_INTERVAL", "300ms"),
            ("HUB_CONNECTORS__PROBE_TIMEOUT", "200ms"),
        ])
        .await?;
    hub.follow_real_time();
    let token = hub.token(Role::SystemAdmin).await?;
    let mut doc = local_connector("x-7", &platform.url("/asone/"));
    doc["notice"] = json!("部分网络访问该平台可能超时。");
    body(create(&hub, &token, doc).await?, 201).await?;

    let listed = wait_for_status(&hub, "x-7", "unreachable").await?;
    assert_eq!(listed["status_label"], "暂时无法访问");
    assert_eq!(listed["href"], "/go/x-7", "the link is still offered");
    let res = hub.get("/go/x-7").await?;
    assert_eq!(res.status(), 200);
    let page = res.text().await?;
    assert!(page.contains("可能暂时无法访问"), "{page}");
    assert!(page.contains("部分网络访问该平台可能超时。"));
    assert!(page.contains("/go/x-7?proceed=1"));
    assert!(
        events(&hub, "event=connector.jump").await?.is_empty(),
        "no jump yet"
    );
    let go = hub.get("/go/x-7?proceed=1").await?;
    assert_eq!(go.status(), 302);
    assert_eq!(go.headers()["location"].to_str()?, platform.url("/asone/"));
    let jump = events(&hub, "event=connector.jump").await?;
    assert_eq!(jump[0]["details"]["status"], "unreachable");

    // It recovers: straight through again.
    platform.set_status(200);
    wait_for_status(&hub, "x-7", "available").await?;
    assert_eq!(hub.get("/go/x-7").await?.status(), 302);

    let history = body(
        hub.get_as(&token, "/api/admin/connectors/x-7/health?limit=500")
            .await?,
        200,
    )
    .await?;
    let history = history.as_array().unwrap();
    assert!(history[0]["up"] == true && history[0]["http_status"] == 200);
    assert!(
        history
            .iter()
            .any(|h| h["up"] == false && h["error"] == "http_503")
    );
    let changes = events(&hub, "event=connector.health_changed&target=connector:x-7").await?;
    let tos: Vec<&str> = changes
        .iter()
        .map(|e| e["details"]["to"].as_str().unwrap())
        .collect();
    assert_eq!(tos.first(), Some(&"up"), "newest first: {tos:?}");
    assert!(tos.contains(&"down"));
    let admin_view = body(hub.get_as(&token, "/api/admin/connectors/x-7").await?, 200).await?;
    assert_eq!(admin_view["health"]["up"], true);
    let metrics = hub.get("/metrics").await?.text().await?;
    assert!(
        metrics.contains(r#"hub_connector_up{connector="x-7"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"hub_connector_jumps_total{connector="x-7",outcome="interstitial"} 1"#)
    );

    // A platform that hangs is down after the probe timeout, not after the hub's patience.
    platform
        .delay_ms
        .store(2_000, std::sync::atomic::Ordering::SeqCst);
    let down = wait_for_status(&hub, "x-7", "unreachable").await?;
    assert!(down["checked_at"].is_string());
    let latest = body(
        hub.get_as(&token, "/api/admin/connectors/x-7/health?limit=1")
            .await?,
        200,
    )
    .await?;
    assert_eq!(latest[0]["error"], "timeout");
    hub.stop().await
}

async fn probes_carry_the_request_id_and_use_the_resilient_client(env: Env) -> Result<()> {
    let platform = Platform::start().await?;
    let hub = env.hub_with(&[LOCAL]).await?;
    let token = hub.token(Role::SystemAdmin).await?;
    body(
        create(
            &hub,
            &token,
            local_connector("x-8", &platform.url("/health")),
        )
        .await?,
        201,
    )
    .await?;
    let res = hub
        .http
        .post(hub.url("/api/admin/connectors/x-8/probe"))
        .bearer_auth(&token)
        .header("x-request-id", "probe-now-42")
        .send()
        .await?;
    let h = body(res, 200).await?;
    assert_eq!(h["up"], true);
    assert_eq!(h["http_status"], 200);
    assert_eq!(
        platform
            .request_ids
            .lock()
            .unwrap()
            .last()
            .map(String::as_str),
        Some("probe-now-42"),
        "the outbound call carries the request's id"
    );
    let metrics = hub.get("/metrics").await?.text().await?;
    assert!(
        metrics.contains("hub_outbound_requests_total")
            && metrics.contains(&platform.addr.port().to_string()),
        "per-host outbound metrics: {metrics}"
    );
    // A connector without a link cannot be probed.
    assert_problem(
        post(&hub, &token, "/api/admin/connectors/coin-reservation/probe").await?,
        422,
        "validation.failed",
    )
    .await?;
    hub.stop().await
}

/// Two nodes on one PostgreSQL database: rounds are about one interval apart in total, not one
/// per node; and while another session holds the probe lock, nobody probes.
async fn one_node_probes_at_a_time(env: Env) -> Result<()> {
    let platform = Platform::start().await?;
    let store = env.store().await?;
    let settings = [
        LOCAL,
        ("HUB_CONNECTORS__PROBES", "true"),
        ("HUB_CONNECTORS__PROBE_INTERVAL", "1s"),
        ("HUB_CONNECTORS__PROBE_TIMEOUT", "500ms"),
        ("HUB_CONNECTORS__REFRESH_INTERVAL", "200ms"),
    ];
    let a = TestHub::start(&store, &settings).await?;
    a.follow_real_time();
    let token = a.token(Role::SystemAdmin).await?;
    body(
        create(&a, &token, local_connector("x-9", &platform.url("/"))).await?,
        201,
    )
    .await?;
    // The lock held elsewhere: no node probes.
    let pg = sqlx::PgPool::connect(store.pg_url.as_ref().unwrap()).await?;
    let mut holder = pg.acquire().await?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(0x6875_622e_636f_6e6e_i64)
        .execute(&mut *holder)
        .await?;
    let b = TestHub::start(&store, &settings).await?;
    b.follow_real_time();
    let before = platform.hits();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(
        platform.hits(),
        before,
        "probed while another held the lock"
    );
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(0x6875_622e_636f_6e6e_i64)
        .execute(&mut *holder)
        .await?;
    drop(holder);
    // Released: the two nodes together probe about once per interval.
    let start = platform.hits();
    let t0 = std::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(5_000)).await;
    let rounds = platform.hits() - start;
    let secs = t0.elapsed().as_secs_f64();
    ensure!(
        rounds >= 2 && (rounds as f64) <= secs + 2.0,
        "{rounds} probes in {secs:.1} s by two nodes with a 1 s interval"
    );
    // Both nodes show the result, whichever probed.
    wait_for_status(&a, "x-9", "available").await?;
    wait_for_status(&b, "x-9", "available").await?;
    pg.close().await;
    b.stop().await?;
    a.stop().await
}
