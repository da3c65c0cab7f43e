//! Federated sign-in against the sandbox simulators of the provincial platform and e-Longyan:
//! every persona, both e-Longyan modes, account linking, sessions and logout, and each way a
//! sign-in can fail, asserting its exact error code.

use std::time::Duration;

use platform::admin::Role;
use tests::anyhow::{Result, ensure};
use tests::{Browser, Env, Test, federated_hub, json, test};

pub fn tests() -> Vec<Test> {
    vec![
        test!(provincial_sign_in_for_every_persona),
        test!(a_provincial_session_signs_in_silently),
        test!(elongyan_entries_in_both_modes_find_the_same_accounts),
        test!(a_link_only_provider_never_creates_accounts),
        test!(numbers_are_stored_encrypted_and_shown_masked),
        test!(provincial_failures_have_exact_codes),
        test!(elongyan_failures_have_exact_codes),
        test!(elongyan_signature_schemes_and_cbc_fields),
        test!(return_targets_are_local_or_allowlisted),
        test!(sessions_rotate_expire_and_end_at_logout),
        test!(administrators_see_and_revoke_sessions_and_links),
        test!(sign_in_endpoints_are_rate_limited),
        test!(sqlite: failures_show_a_chinese_page_to_browsers),
    ]
}

const ID_P1: &str = "350802199003070029";
const ID_P2: &str = "350801198511120044";
const USCC_L1: &str = "91350802MA2YLK3N0B";

async fn provincial_sign_in_for_every_persona(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    for (persona, kind, name, masked) in [
        ("personal-1", "personal", "张三", "3508**********0029"),
        ("personal-2", "personal", "李四", "3508**********0044"),
        (
            "legal-1",
            "legal_person",
            "龙岩示例科技有限公司（测试）",
            "9135**********3N0B",
        ),
    ] {
        let mut b = Browser::new();
        let (page, visited) = b.provincial_sign_in(&hub, persona, None, "/api/me").await?;
        ensure!(
            page.status == 302 && page.location.as_deref() == Some("/api/me"),
            "{persona}: {} {:?}",
            page.status,
            page.location
        );
        // The silent check first, then the login page, then back with a ticket.
        ensure!(
            visited.iter().any(|u| u.contains("checkLoginStatus.do")),
            "{visited:?}"
        );
        ensure!(
            visited.iter().any(|u| u.contains("goLogin.do")),
            "{visited:?}"
        );
        // The callback carries the hub's opaque state, never the return URL.
        ensure!(
            visited
                .iter()
                .filter(|u| u.contains("/sso/fujian/callback"))
                .all(|u| !u.contains("api%2Fme") && !u.contains("/api/me")),
            "{visited:?}"
        );
        let cookie = page
            .set_cookies
            .iter()
            .find(|c| c.starts_with("__Host-hub_session="))
            .cloned()
            .unwrap_or_default();
        for attr in ["Path=/", "Secure", "HttpOnly", "SameSite=Lax"] {
            ensure!(
                cookie.contains(attr),
                "session cookie lacks {attr}: {cookie}"
            );
        }
        let me = b.me(&hub).await?.json()?;
        ensure!(
            me["kind"] == kind && me["display_name"] == name && me["id_masked"] == masked,
            "{persona}: {me}"
        );
        ensure!(me["identities"][0]["provider"] == "fujian", "{me}");
        if persona == "legal-1" {
            ensure!(me["uscc"] == USCC_L1, "{me}");
            ensure!(
                me["agent"]["display_name"] == "张三"
                    && me["agent"]["id_masked"] == "3508**********0029",
                "{me}"
            );
            ensure!(me["roles"][0] == "enterprise");
        } else {
            ensure!(
                me.get("agent").is_none() && me.get("uscc").is_none(),
                "{me}"
            );
            ensure!(me["roles"][0] == "individual");
        }
        let text = me.to_string();
        ensure!(
            !text.contains(ID_P1) && !text.contains(ID_P2),
            "a certificate number in clear: {text}"
        );
    }
    // The audit trail records each sign-in with its provider, and for the company the agent.
    let auditor = hub.token(Role::AuditAdmin).await?;
    let page = json(
        hub.get_as(&auditor, "/api/admin/audit?event=sso.login&outcome=success")
            .await?,
        200,
    )
    .await?;
    let items = page["items"].as_array().cloned().unwrap_or_default();
    ensure!(items.len() == 3, "{page}");
    let legal = items
        .iter()
        .find(|e| e["actor_name"] == "龙岩示例科技有限公司（测试）")
        .cloned()
        .unwrap_or_default();
    ensure!(legal["agent"] == "张* 3508**********0029", "{legal}");
    ensure!(
        legal["acting_for"] == "龙岩示例科技有限公司（测试） (9135**********3N0B)",
        "{legal}"
    );
    ensure!(
        legal["details"]["provider"] == "fujian" && legal["actor_kind"] == "account",
        "{legal}"
    );
    let all = hub
        .get_as(&auditor, "/api/admin/audit/export")
        .await?
        .text()
        .await?;
    ensure!(
        !all.contains(ID_P1) && !all.contains(USCC_L1),
        "a number in clear in the audit trail"
    );
    ensure!(
        json(
            hub.get_as(&auditor, "/api/admin/audit?event=account.created")
                .await?,
            200
        )
        .await?["items"]
            .as_array()
            .map(Vec::len)
            == Some(3)
    );
    // The back channel went through the hub's one outbound client: its per-host series show
    // the sandbox's host (which is this hub's own address: the sandbox is mounted in it).
    let metrics = hub.get("/metrics").await?.text().await?;
    let series = format!("hub_outbound_requests_total{{host=\"{}\"", hub.base);
    ensure!(
        metrics.lines().any(|l| l.starts_with(&series)),
        "no {series} in /metrics"
    );
    hub.stop().await
}

async fn a_provincial_session_signs_in_silently(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let mut b = Browser::new();
    b.provincial_sign_in(&hub, "personal-1", None, "/api/me")
        .await?;
    let first = b.me(&hub).await?.json()?;
    // Signed out of the hub only: the provincial platform still knows the browser.
    b.jar.remove("__Host-hub_session");
    let (page, visited) = b
        .provincial_sign_in(&hub, "personal-1", None, "/api/me")
        .await?;
    ensure!(page.status == 302, "{}", page.body);
    ensure!(
        !visited.iter().any(|u| u.contains("goLogin.do")),
        "the login page was shown: {visited:?}"
    );
    let second = b.me(&hub).await?.json()?;
    ensure!(first["account_id"] == second["account_id"]);
    hub.stop().await
}

/// e-Longyan's URL for `persona`, from the sandbox's jump (not followed: returns the entry URL).
async fn elongyan_entry(
    b: &mut Browser,
    hub: &tests::TestHub,
    persona: &str,
    mode: &str,
    target: &str,
    fault: Option<&str>,
) -> Result<String> {
    let mut url = hub.url(&format!(
        "/sandbox/elongyan/jump?persona={persona}&mode={mode}&target={}",
        url::form_urlencoded::byte_serialize(target.as_bytes()).collect::<String>()
    ));
    if let Some(f) = fault {
        url.push_str(&format!("&fault={f}"));
    }
    let page = b.get(&url).await?;
    ensure!(page.status == 302, "jump: {} {}", page.status, page.body);
    let loc = page.location.unwrap_or_default();
    ensure!(loc.starts_with(&hub.url("/sso/elongyan/entry?")), "{loc}");
    Ok(loc)
}

async fn elongyan_entries_in_both_modes_find_the_same_accounts(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let mut provincial = Browser::new();
    provincial
        .provincial_sign_in(&hub, "personal-1", None, "/")
        .await?;
    let account = provincial.me(&hub).await?.json()?["account_id"].clone();
    for mode in ["ticket", "signed"] {
        let mut b = Browser::new();
        let entry = elongyan_entry(&mut b, &hub, "personal-1", mode, "/api/me", None).await?;
        let page = b.get(&entry).await?;
        ensure!(
            page.status == 302 && page.location.as_deref() == Some("/api/me"),
            "{mode}: {} {}",
            page.status,
            page.body
        );
        let me = b.me(&hub).await?.json()?;
        ensure!(me["account_id"] == account, "{mode}: another account {me}");
        ensure!(me["provider"] == "elongyan", "{me}");
        let providers: Vec<String> = me["identities"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|i| i["provider"].as_str().map(str::to_owned))
            .collect();
        ensure!(
            providers.contains(&"fujian".to_owned()) && providers.contains(&"elongyan".to_owned()),
            "{me}"
        );
    }
    // Legal person through the signed assertion: the company, with its agent.
    let mut b = Browser::new();
    let entry = elongyan_entry(&mut b, &hub, "legal-1", "signed", "/", None).await?;
    ensure!(b.get(&entry).await?.status == 302);
    let me = b.me(&hub).await?.json()?;
    ensure!(
        me["kind"] == "legal_person"
            && me["uscc"] == USCC_L1
            && me["agent"]["display_name"] == "张三",
        "{me}"
    );
    // A person seen only on e-Longyan gets an account of their own.
    let mut b = Browser::new();
    let entry = elongyan_entry(&mut b, &hub, "personal-2", "ticket", "/", None).await?;
    ensure!(b.get(&entry).await?.status == 302);
    let me = b.me(&hub).await?.json()?;
    ensure!(
        me["display_name"] == "李四" && me["account_id"] != account,
        "{me}"
    );
    hub.stop().await
}

/// `link_policy = "link-only"`: the provider's users get in only once the person has an account
/// (made through another provider); a first arrival is refused and creates nothing.
async fn a_link_only_provider_never_creates_accounts(env: Env) -> Result<()> {
    let hub = federated_hub(
        &env,
        &[("HUB_PROVIDERS__ELONGYAN__LINK_POLICY", "link-only")],
    )
    .await?;
    let db = hub.store.connect().await?;
    let mut b = Browser::new();
    b.accept = Some("application/json".into());
    let entry = elongyan_entry(&mut b, &hub, "personal-2", "signed", "/api/me", None).await?;
    b.get(&entry)
        .await?
        .problem(403, "sso.account_not_linked")?;
    ensure!(db.scalar_i64("SELECT COUNT(*) FROM accounts").await? == 0);
    ensure!(db.scalar_i64("SELECT COUNT(*) FROM identities").await? == 0);
    b.me(&hub).await?.problem(401, "auth.unauthenticated")?;
    // The same person signs in through the provincial platform (create-or-link): an account.
    let mut provincial = Browser::new();
    provincial
        .provincial_sign_in(&hub, "personal-2", None, "/")
        .await?;
    let account = provincial.me(&hub).await?.json()?["account_id"].clone();
    // Now the e-Longyan arrival links to that account.
    let mut b = Browser::new();
    let entry = elongyan_entry(&mut b, &hub, "personal-2", "signed", "/api/me", None).await?;
    let page = b.get(&entry).await?;
    ensure!(page.status == 302, "{} {}", page.status, page.body);
    let me = b.me(&hub).await?.json()?;
    ensure!(
        me["account_id"] == account && me["provider"] == "elongyan",
        "{me}"
    );
    ensure!(db.scalar_i64("SELECT COUNT(*) FROM accounts").await? == 1);
    let auditor = hub.token(Role::AuditAdmin).await?;
    let failures = json(
        hub.get_as(&auditor, "/api/admin/audit?event=sso.login&outcome=failure")
            .await?,
        200,
    )
    .await?;
    ensure!(
        failures["items"]
            .as_array()
            .is_some_and(|a| a.iter().any(|e| e["reason"] == "sso.account_not_linked")),
        "{failures}"
    );
    db.close().await;
    hub.stop().await
}

async fn numbers_are_stored_encrypted_and_shown_masked(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let mut b = Browser::new();
    b.provincial_sign_in(&hub, "personal-1", None, "/").await?;
    let mut c = Browser::new();
    c.provincial_sign_in(&hub, "legal-1", None, "/").await?;
    let db = hub.store.connect().await?;
    let rows = db
        .strings("SELECT id || '|' || kind || '|' || display_name || '|' || COALESCE(key_masked, '') || '|' || COALESCE(cert_type, '') FROM accounts")
        .await?;
    ensure!(rows.len() == 2, "{rows:?}");
    for r in &rows {
        ensure!(!r.contains(ID_P1) && !r.contains(USCC_L1), "{r}");
    }
    let sessions = db.strings("SELECT COALESCE(agent_name, '') || '|' || COALESCE(agent_masked, '') FROM user_sessions").await?;
    ensure!(
        sessions.iter().any(|s| s == "张三|3508**********0029"),
        "{sessions:?}"
    );
    ensure!(sessions.iter().all(|s| !s.contains(ID_P1)), "{sessions:?}");
    if hub.store.pg_url.is_none() {
        for f in ["hub.db", "hub.db-wal"] {
            if let Ok(bytes) = std::fs::read(hub.store.dir.path().join(f)) {
                for needle in [ID_P1, USCC_L1] {
                    ensure!(
                        !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                        "{needle} in clear in {f}"
                    );
                }
            }
        }
    }
    // Found by number through the blind index (security administrators).
    let sec = hub.token(Role::SecurityAdmin).await?;
    let found = json(
        hub.get_as(&sec, &format!("/api/admin/accounts?certificate={ID_P1}"))
            .await?,
        200,
    )
    .await?;
    ensure!(
        found.as_array().map(Vec::len) == Some(1) && found[0]["id_masked"] == "3508**********0029",
        "{found}"
    );
    let none = json(
        hub.get_as(&sec, &format!("/api/admin/accounts?certificate={ID_P2}"))
            .await?,
        200,
    )
    .await?;
    ensure!(none.as_array().map(Vec::len) == Some(0));
    tests::assert_problem(
        hub.get_as(&sec, "/api/admin/accounts?certificate=350802199003070028")
            .await?,
        400,
        "request.invalid_query",
    )
    .await?;
    db.close().await;
    hub.stop().await
}

/// The callback URL with the ticket, as the provincial platform sends it back.
async fn callback_with_ticket(
    b: &mut Browser,
    hub: &tests::TestHub,
    persona: &str,
    fault: Option<&str>,
) -> Result<String> {
    let base = hub.base.clone();
    let (page, _) = b
        .follow(
            &hub.base,
            &hub.url("/sso/fujian/login?return_to=/"),
            |u| {
                if u.contains("/goLogin.do?") {
                    format!(
                        "{u}&persona={persona}{}",
                        fault.map(|f| format!("&fault={f}")).unwrap_or_default()
                    )
                } else {
                    u
                }
            },
            |u| {
                u.starts_with(&base)
                    && u.contains("/sso/fujian/callback")
                    && u.contains("trustticket=")
            },
        )
        .await?;
    let loc = page.location.unwrap_or_default();
    ensure!(loc.contains("trustticket="), "{loc}");
    Ok(if loc.starts_with('/') {
        hub.url(&loc)
    } else {
        loc
    })
}

async fn provincial_failures_have_exact_codes(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[("HUB_PROVIDERS__FUJIAN__TIMEOUT", "1s")]).await?;
    let json_browser = || Browser {
        accept: Some("application/json".into()),
        ..Browser::new()
    };

    // Replay: the same callback twice (the state is single-use), then the ticket in a new flow.
    let mut b = json_browser();
    let cb = callback_with_ticket(&mut b, &hub, "personal-1", None).await?;
    let flow_cookies = b.jar.clone();
    ensure!(b.get(&cb).await?.status == 302);
    b.jar = flow_cookies;
    b.get(&cb).await?.problem(400, "sso.state_invalid")?;
    let ticket = cb
        .split("trustticket=")
        .nth(1)
        .unwrap_or_default()
        .split('&')
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut c = json_browser();
    let cb2 = callback_with_ticket(&mut c, &hub, "personal-2", None).await?;
    let forged = cb2.replace(
        cb2.split("trustticket=")
            .nth(1)
            .unwrap_or_default()
            .split('&')
            .next()
            .unwrap_or_default(),
        &ticket,
    );
    c.get(&forged).await?.problem(401, "sso.ticket_replayed")?;

    // The platform refuses: an expired ticket, a failing 103, a failing 033.
    for (fault, status, code) in [
        ("expired-ticket", 401, "sso.ticket_invalid"),
        ("fail-103", 401, "sso.ticket_invalid"),
        ("fail-033", 502, "sso.provider_refused"),
        ("slow", 502, "sso.provider_unavailable"),
    ] {
        let mut b = json_browser();
        let cb = callback_with_ticket(&mut b, &hub, "personal-1", Some(fault)).await?;
        b.get(&cb).await?.problem(status, code)?;
    }

    // The state must be there, be ours, and come back with this browser.
    let mut b = json_browser();
    b.get(&hub.url("/sso/fujian/callback?trustticket=x"))
        .await?
        .problem(400, "sso.state_invalid")?;
    let mut b = json_browser();
    let cb = callback_with_ticket(&mut b, &hub, "personal-1", None).await?;
    let mut other = json_browser();
    other.get(&cb).await?.problem(400, "sso.state_invalid")?;
    // Came back from the login page without a ticket (the user gave up).
    let mut b = json_browser();
    let (page, _) = b
        .follow(
            &hub.base,
            &hub.url("/sso/fujian/login"),
            |u| u,
            |u| u.contains("goLogin.do"),
        )
        .await?;
    let login = page.location.unwrap_or_default();
    let returnurl = url::Url::parse(&login)?
        .query_pairs()
        .find(|(k, _)| k == "returnurl")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    b.get(&returnurl)
        .await?
        .problem(400, "sso.ticket_missing")?;
    // An unknown provider.
    let mut b = json_browser();
    b.get(&hub.url("/sso/nosuch/login"))
        .await?
        .problem(404, "sso.provider_unknown")?;
    b.get(&hub.url("/sso/elongyan/login"))
        .await?
        .problem(400, "sso.login_unsupported")?;

    // Every failure is audited with its code.
    let auditor = hub.token(Role::AuditAdmin).await?;
    let fails = json(
        hub.get_as(
            &auditor,
            "/api/admin/audit?event=sso.login&outcome=failure&limit=100",
        )
        .await?,
        200,
    )
    .await?;
    let reasons: Vec<String> = fails["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e["reason"].as_str().map(str::to_owned))
        .collect();
    for code in [
        "sso.ticket_replayed",
        "sso.ticket_invalid",
        "sso.provider_refused",
        "sso.provider_unavailable",
        "sso.state_invalid",
        "sso.ticket_missing",
    ] {
        ensure!(
            reasons.iter().any(|r| r == code),
            "{code} not audited: {reasons:?}"
        );
    }
    ensure!(
        !fails.to_string().contains(&ticket),
        "a ticket in the audit trail"
    );
    hub.stop().await
}

async fn provider_down_is_reported(env: &Env) -> Result<()> {
    // The back channel unreachable (a closed port): the callback says so.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?;
    let dead = format!(
        "http://{}/dataset/AppSerController/invokeservice.do",
        closed.local_addr()?
    );
    drop(closed);
    let hub = federated_hub(
        env,
        &[("HUB_PROVIDERS__FUJIAN__EXCHANGE_URL", dead.as_str())],
    )
    .await?;
    let mut b = Browser {
        accept: Some("application/json".into()),
        ..Browser::new()
    };
    let cb = callback_with_ticket(&mut b, &hub, "personal-1", None).await?;
    b.get(&cb).await?.problem(502, "sso.provider_unavailable")?;
    hub.stop().await
}

async fn elongyan_failures_have_exact_codes(env: Env) -> Result<()> {
    provider_down_is_reported(&env).await?;
    let hub = federated_hub(&env, &[]).await?;
    let mut b = Browser {
        accept: Some("application/json".into()),
        ..Browser::new()
    };
    for (mode, fault, status, code) in [
        ("signed", "bad-signature", 401, "sso.signature_invalid"),
        ("ticket", "bad-signature", 401, "sso.signature_invalid"),
        ("signed", "stale-timestamp", 401, "sso.timestamp_stale"),
        ("ticket", "expired-ticket", 401, "sso.ticket_invalid"),
        ("ticket", "fail-033", 502, "sso.provider_refused"),
    ] {
        let entry = elongyan_entry(&mut b, &hub, "personal-1", mode, "/", Some(fault)).await?;
        b.get(&entry).await?.problem(status, code)?;
    }
    // Replays: the same signed entry (nonce) and the same ticket entry twice.
    for (mode, code) in [
        ("signed", "sso.nonce_replayed"),
        ("ticket", "sso.ticket_replayed"),
    ] {
        let entry = elongyan_entry(&mut b, &hub, "personal-2", mode, "/", None).await?;
        ensure!(b.get(&entry).await?.status == 302);
        b.get(&entry).await?.problem(401, code)?;
    }
    // A validly signed entry to a foreign site.
    let entry = elongyan_entry(
        &mut b,
        &hub,
        "personal-1",
        "signed",
        "https://evil.example/",
        None,
    )
    .await?;
    b.get(&entry)
        .await?
        .problem(400, "sso.target_not_allowed")?;
    // Any parameter changed after signing.
    let entry = elongyan_entry(&mut b, &hub, "personal-1", "signed", "/", None).await?;
    b.get(&entry.replace("userType=1", "userType=2"))
        .await?
        .problem(401, "sso.signature_invalid")?;
    b.get(&hub.url("/sso/elongyan/entry?appId=x"))
        .await?
        .problem(400, "sso.entry_invalid")?;
    hub.stop().await
}

async fn return_targets_are_local_or_allowlisted(env: Env) -> Result<()> {
    let hub = federated_hub(
        &env,
        &[(
            "HUB_SSO__ALLOWED_ORIGINS",
            "[\"https://www.longyan.gov.cn\"]",
        )],
    )
    .await?;
    for (requested, landed) in [
        ("/policies?x=1", "/policies?x=1"),
        (
            "https://www.longyan.gov.cn/svc",
            "https://www.longyan.gov.cn/svc",
        ),
        // Anything else falls back to the user centre, where a sign-in without a target ends.
        ("https://evil.example/", "/user"),
        ("//evil.example/", "/user"),
        ("/\\evil.example", "/user"),
        ("https://www.longyan.gov.cn@evil.example/", "/user"),
        ("javascript:alert(1)", "/user"),
    ] {
        let mut b = Browser::new();
        let (page, _) = b
            .provincial_sign_in(&hub, "personal-1", None, requested)
            .await?;
        ensure!(
            page.location.as_deref() == Some(landed),
            "{requested}: {:?}",
            page.location
        );
    }
    hub.stop().await
}

async fn sessions_rotate_expire_and_end_at_logout(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let mut b = Browser::new();
    b.provincial_sign_in(&hub, "personal-1", None, "/").await?;
    let first = b.cookie("__Host-hub_session").cloned().unwrap_or_default();
    ensure!(first.len() >= 43, "session id too short");
    // Signing in again gives a new id and ends the old session.
    let old = b.jar.clone();
    b.provincial_sign_in(&hub, "personal-1", None, "/").await?;
    let second = b.cookie("__Host-hub_session").cloned().unwrap_or_default();
    ensure!(second != first);
    let mut stale = Browser {
        jar: old,
        accept: Some("application/json".into()),
    };
    stale.me(&hub).await?.problem(401, "auth.unauthenticated")?;

    // Idle for 31 minutes: over.
    ensure!(b.me(&hub).await?.status == 200);
    hub.clock.advance(Duration::from_secs(31 * 60));
    b.me(&hub).await?.problem(401, "auth.session_expired")?;

    // Active but past the 12-hour lifetime: over.
    b.provincial_sign_in(&hub, "personal-1", None, "/").await?;
    let mut minutes = 0;
    let ended = loop {
        hub.clock.advance(Duration::from_secs(29 * 60));
        minutes += 29;
        let page = b.me(&hub).await?;
        if page.status != 200 || minutes > 13 * 60 {
            break page;
        }
    };
    ended.problem(401, "auth.session_expired")?;
    ensure!(
        (12 * 60..12 * 60 + 29).contains(&minutes),
        "ended after {minutes} minutes"
    );

    // Logout: a page with a form; the post needs the session's token; then the platform's
    // logout, and the session is gone here.
    b.provincial_sign_in(&hub, "personal-1", None, "/").await?;
    let page = b.get(&hub.url("/sso/logout")).await?;
    ensure!(
        page.status == 200 && page.body.contains("退出登录") && page.body.contains("name=\"csrf\""),
        "{}",
        page.body
    );
    let token = csrf_field(&page.body);
    b.request(
        reqwest::Method::POST,
        &hub.url("/sso/logout"),
        Some(&[("csrf", "0000")]),
    )
    .await?
    .problem(403, "request.csrf_token_invalid")?;
    ensure!(
        b.me(&hub).await?.status == 200,
        "a forged logout ended the session"
    );
    let out = b
        .request(
            reqwest::Method::POST,
            &hub.url("/sso/logout"),
            Some(&[("csrf", token.as_str())]),
        )
        .await?;
    ensure!(out.status == 303, "{} {}", out.status, out.body);
    let to = out.location.clone().unwrap_or_default();
    ensure!(
        to.contains(
            "/sandbox/fujian/dataset/UnifiedController/goUserCenter.do?uitype=5&callerCode="
        ),
        "{to}"
    );
    ensure!(
        out.set_cookies
            .iter()
            .any(|c| c.starts_with("__Host-hub_session=;") && c.contains("Max-Age=0"))
    );
    b.me(&hub).await?.problem(401, "auth.unauthenticated")?;
    // The platform's logout ends its session too: the next sign-in shows the login page.
    ensure!(b.get(&to).await?.status == 302);
    let (_, visited) = b.provincial_sign_in(&hub, "personal-1", None, "/").await?;
    ensure!(
        visited.iter().any(|u| u.contains("goLogin.do")),
        "{visited:?}"
    );
    let auditor = hub.token(Role::AuditAdmin).await?;
    ensure!(
        json(
            hub.get_as(&auditor, "/api/admin/audit?event=sso.logout")
                .await?,
            200
        )
        .await?["items"]
            .as_array()
            .map(Vec::len)
            == Some(1)
    );
    // A company's logout names the agent who acted, as its sign-in did.
    let mut c = Browser::new();
    c.provincial_sign_in(&hub, "legal-1", None, "/").await?;
    // The confirmation page lets its form end at the platform's logout (browsers check the
    // redirect after a form's submission against `form-action`), and nowhere else.
    let sid = c.cookie("__Host-hub_session").cloned().unwrap_or_default();
    let res = hub
        .http
        .get(hub.url("/sso/logout"))
        .header("cookie", format!("__Host-hub_session={sid}"))
        .send()
        .await?;
    let csp = res.headers()["content-security-policy"]
        .to_str()?
        .to_owned();
    ensure!(
        csp.contains(&format!("form-action 'self' {};", hub.base)),
        "{csp}"
    );
    let page = c.get(&hub.url("/sso/logout")).await?;
    let token = csrf_field(&page.body);
    let out = c
        .request(
            reqwest::Method::POST,
            &hub.url("/sso/logout"),
            Some(&[("csrf", token.as_str())]),
        )
        .await?;
    ensure!(out.status == 303, "{} {}", out.status, out.body);
    let logouts = json(
        hub.get_as(&auditor, "/api/admin/audit?event=sso.logout")
            .await?,
        200,
    )
    .await?;
    let newest = &logouts["items"][0];
    ensure!(
        newest["agent"] == "张* 3508**********0029"
            && newest["acting_for"] == "龙岩示例科技有限公司（测试） (9135**********3N0B)",
        "{newest}"
    );
    hub.stop().await
}

/// The value of the logout form's `csrf` field.
fn csrf_field(body: &str) -> String {
    body.split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap_or_default()
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

async fn administrators_see_and_revoke_sessions_and_links(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let mut b = Browser::new();
    b.provincial_sign_in(&hub, "personal-1", None, "/").await?;
    let mut e = Browser::new();
    let entry = elongyan_entry(&mut e, &hub, "personal-1", "signed", "/", None).await?;
    e.get(&entry).await?;
    let me = b.me(&hub).await?.json()?;
    let id = me["account_id"].as_str().unwrap_or_default().to_owned();
    let sec = hub.token(Role::SecurityAdmin).await?;
    let sessions = json(
        hub.get_as(&sec, &format!("/api/admin/accounts/{id}/sessions"))
            .await?,
        200,
    )
    .await?;
    ensure!(sessions.as_array().map(Vec::len) == Some(2), "{sessions}");
    ensure!(
        !sessions.to_string().contains(
            b.cookie("__Host-hub_session")
                .map(String::as_str)
                .unwrap_or("-")
        ),
        "session ids are secret"
    );
    // One session ended by its handle, then all.
    let handle = sessions[0]["handle"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let res = hub
        .http
        .delete(hub.url(&format!("/api/admin/accounts/{id}/sessions/{handle}")))
        .bearer_auth(&sec)
        .send()
        .await?;
    ensure!(res.status() == 204);
    let res = hub
        .http
        .delete(hub.url(&format!("/api/admin/accounts/{id}/sessions")))
        .bearer_auth(&sec)
        .send()
        .await?;
    ensure!(json(res, 200).await?["sessions"] == 1);
    b.me(&hub).await?.problem(401, "auth.unauthenticated")?;
    e.me(&hub).await?.problem(401, "auth.unauthenticated")?;
    // Unlink the e-Longyan identity; the last one stays.
    let res = hub
        .http
        .delete(hub.url(&format!(
            "/api/admin/accounts/{id}/identities/elongyan/ely-p1"
        )))
        .bearer_auth(&sec)
        .send()
        .await?;
    ensure!(res.status() == 204);
    let res = hub
        .http
        .delete(hub.url(&format!(
            "/api/admin/accounts/{id}/identities/fujian/sandbox-p1"
        )))
        .bearer_auth(&sec)
        .send()
        .await?;
    tests::assert_problem(res, 409, "account.last_identity").await?;
    let view = json(
        hub.get_as(&sec, &format!("/api/admin/accounts/{id}"))
            .await?,
        200,
    )
    .await?;
    ensure!(
        view["identities"].as_array().map(Vec::len) == Some(1),
        "{view}"
    );
    // Disabling an account ends its sessions and refuses sign-in.
    b.provincial_sign_in(&hub, "personal-1", None, "/").await?;
    let res = hub
        .http
        .patch(hub.url(&format!("/api/admin/accounts/{id}")))
        .bearer_auth(&sec)
        .json(&serde_json::json!({ "status": "disabled" }))
        .send()
        .await?;
    ensure!(res.status() == 200);
    b.me(&hub).await?.problem(401, "auth.unauthenticated")?;
    let mut j = Browser {
        accept: Some("application/json".into()),
        ..Browser::new()
    };
    let cb = callback_with_ticket(&mut j, &hub, "personal-1", None).await?;
    j.get(&cb).await?.problem(403, "account.disabled")?;
    // Audited, and only for security administrators.
    let auditor = hub.token(Role::AuditAdmin).await?;
    for event in ["identity.unlinked", "session.revoked", "account.updated"] {
        let n = json(
            hub.get_as(&auditor, &format!("/api/admin/audit?event={event}"))
                .await?,
            200,
        )
        .await?["items"]
            .as_array()
            .map_or(0, Vec::len);
        ensure!(n >= 1, "{event} not audited");
    }
    tests::assert_problem(
        hub.get_as(&auditor, &format!("/api/admin/accounts/{id}"))
            .await?,
        403,
        "auth.forbidden",
    )
    .await?;
    let sys = hub.token(Role::SystemAdmin).await?;
    let providers = json(hub.get_as(&sys, "/api/admin/providers").await?, 200).await?;
    ensure!(
        providers[0]["id"] == "elongyan"
            && providers[1]["id"] == "fujian"
            && !providers
                .to_string()
                .contains(sandbox::DEMO_FUJIAN_CALLER_CODE),
        "{providers}"
    );
    let one = json(hub.get_as(&sys, "/api/admin/providers/fujian").await?, 200).await?;
    ensure!(
        one["kind"] == "fujian" && one["link_policy"] == "create-or-link" && one["logout"] == true,
        "{one}"
    );
    tests::assert_problem(
        hub.get_as(&sys, "/api/admin/providers/nowhere").await?,
        404,
        "sso.provider_unknown",
    )
    .await?;
    tests::assert_problem(
        hub.get_as(&auditor, "/api/admin/providers/fujian").await?,
        403,
        "auth.forbidden",
    )
    .await?;
    hub.stop().await
}

async fn sign_in_endpoints_are_rate_limited(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[("HUB_SSO__LOGIN_ATTEMPTS_PER_MINUTE", "3")]).await?;
    let mut b = Browser {
        accept: Some("application/json".into()),
        ..Browser::new()
    };
    for _ in 0..3 {
        ensure!(b.get(&hub.url("/sso/fujian/login")).await?.status == 302);
    }
    b.get(&hub.url("/sso/fujian/login"))
        .await?
        .problem(429, "request.rate_limited")?;
    hub.stop().await
}

async fn failures_show_a_chinese_page_to_browsers(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let mut b = Browser {
        accept: Some("text/html,application/xhtml+xml".into()),
        ..Browser::new()
    };
    let page = b.get(&hub.url("/sso/fujian/callback?state=nope")).await?;
    ensure!(
        page.status == 400 && page.content_type.starts_with("text/html"),
        "{} {}",
        page.status,
        page.content_type
    );
    ensure!(
        page.body.contains("登录请求已失效")
            && page.body.contains("sso.state_invalid")
            && page.body.contains("请求编号"),
        "{}",
        page.body
    );
    hub.stop().await
}

/// Hub settings (as environment), the simulator's signature scheme and its field cipher mode.
type ElongyanCase = (
    Vec<(&'static str, String)>,
    sandbox::SignatureScheme,
    sandbox::Sm4Mode,
);

/// e-Longyan signing with HMAC-SHA256, and with SM2 (its private key at e-Longyan, the public
/// key at the hub) with CBC-encrypted fields: both modes sign in; another key is refused.
async fn elongyan_signature_schemes_and_cbc_fields(env: Env) -> Result<()> {
    let (private, public) = sm2_key_pair()?;
    let (_, other) = sm2_key_pair()?;
    let sha_secret = "another-shared-secret-for-sha256";
    let cases: Vec<ElongyanCase> = vec![
        (
            vec![
                ("HUB_PROVIDERS__ELONGYAN__SIGNATURE", "hmac-sha256".into()),
                ("HUB_PROVIDERS__ELONGYAN__SECRET", sha_secret.into()),
            ],
            sandbox::SignatureScheme::HmacSha256 {
                secret: sha_secret.into(),
            },
            sandbox::Sm4Mode::Ecb,
        ),
        (
            vec![
                ("HUB_PROVIDERS__ELONGYAN__SIGNATURE", "sm2-sm3".into()),
                ("HUB_PROVIDERS__ELONGYAN__PUBLIC_KEY", public.clone()),
                ("HUB_PROVIDERS__ELONGYAN__SM4_MODE", "cbc".into()),
            ],
            sandbox::SignatureScheme::Sm2 {
                private_key_pem: private.clone(),
            },
            sandbox::Sm4Mode::Cbc,
        ),
    ];
    for (settings, scheme, mode) in cases {
        let store = env.store().await?;
        let pairs: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let hub = tests::federated_hub_on(&store, &pairs, |c| {
            c.elongyan.signature = scheme.clone();
            c.elongyan.sm4_mode = mode;
        })
        .await?;
        for m in ["ticket", "signed"] {
            let mut b = Browser::new();
            let entry = elongyan_entry(&mut b, &hub, "legal-1", m, "/", None).await?;
            let page = b.get(&entry).await?;
            ensure!(
                page.status == 302,
                "{scheme:?} {m}: {} {}",
                page.status,
                page.body
            );
            ensure!(b.me(&hub).await?.json()?["uscc"] == USCC_L1);
        }
        hub.stop().await?;
    }
    // The hub holds another public key: refused.
    let store = env.store().await?;
    let hub = tests::federated_hub_on(
        &store,
        &[
            ("HUB_PROVIDERS__ELONGYAN__SIGNATURE", "sm2-sm3"),
            ("HUB_PROVIDERS__ELONGYAN__PUBLIC_KEY", other.as_str()),
        ],
        |c| {
            c.elongyan.signature = sandbox::SignatureScheme::Sm2 {
                private_key_pem: private.clone(),
            }
        },
    )
    .await?;
    let mut b = Browser {
        accept: Some("application/json".into()),
        ..Browser::new()
    };
    let entry = elongyan_entry(&mut b, &hub, "personal-1", "signed", "/", None).await?;
    b.get(&entry).await?.problem(401, "sso.signature_invalid")?;
    hub.stop().await
}

/// An SM2 key pair as e-Longyan would make it: `openssl genpkey -algorithm SM2`.
fn sm2_key_pair() -> Result<(String, String)> {
    let dir = tempfile::tempdir()?;
    let key = dir.path().join("key.pem");
    let ok = std::process::Command::new("openssl")
        .args(["genpkey", "-algorithm", "SM2", "-out"])
        .arg(&key)
        .status()?
        .success();
    ensure!(ok, "openssl genpkey failed");
    let out = std::process::Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&key)
        .output()?;
    ensure!(out.status.success(), "openssl pkey failed");
    Ok((
        std::fs::read_to_string(&key)?,
        String::from_utf8(out.stdout)?,
    ))
}
