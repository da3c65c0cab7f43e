//! The finance marketplace (issue: marketplace): products through the operators' review into
//! the public list; a demand through review into the market, anonymous to institutions until
//! the enterprise confirms the one that took it; 抢单 with exactly one winner under 100
//! concurrent attempts; return, disbursement and the platform's figures; forms checked field
//! by field; organisations kept apart.

use platform::admin::Role;
use platform::clock::Clock;
use reqwest::Method;
use tests::anyhow::{Context, Result, ensure};
use tests::{Browser, Env, Test, TestHub, federated_hub, test};

use crate::content::add_words;
use crate::portal::{approved_org, console, html_browser, sign_in};

pub fn tests() -> Vec<Test> {
    vec![
        test!(a_demand_is_taken_by_one_institution_confirmed_and_disbursed),
        test!(exactly_one_of_a_hundred_concurrent_takes_wins),
        test!(forms_are_checked_field_by_field_and_organisations_kept_apart),
        test!(both_sides_rate_an_ended_demand_and_points_are_a_ledger),
    ]
}

pub(crate) const BANK: &str = "龙岩农村商业银行";
pub(crate) const GUARANTOR: &str = "闽西融资担保有限公司";

/// A JSON request with the browser's session (and the site's origin, as the cross-origin
/// guard wants for changes).
pub(crate) async fn api(
    hub: &TestHub,
    b: &Browser,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> Result<reqwest::Response> {
    let cookies: Vec<String> = b.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut req = hub
        .http
        .request(method, hub.url(path))
        .header("cookie", cookies.join("; "))
        .header("origin", &hub.base)
        .header("accept", "application/json");
    if let Some(b) = body {
        req = req.json(&b);
    }
    Ok(req.send().await?)
}

pub(crate) async fn ok(res: reqwest::Response, status: u16) -> Result<serde_json::Value> {
    tests::json(res, status).await
}

/// The people of a market: an operator, an enterprise (legal-1, bound at sign-in) and two
/// approved institutions.
pub(crate) struct People {
    pub(crate) op: Browser,
    pub(crate) ent: Browser,
    pub(crate) bank: Browser,
    pub(crate) guarantor: Browser,
}

pub(crate) async fn people(hub: &TestHub) -> Result<People> {
    let mut op = console(hub, "operator1", Role::SystemAdmin).await?;
    let mut ent = html_browser();
    sign_in(&mut ent, hub, "legal-1").await?;
    let mut bank = html_browser();
    approved_org(hub, &mut bank, &mut op, "personal-1", "institution", BANK).await?;
    let mut guarantor = html_browser();
    approved_org(
        hub,
        &mut guarantor,
        &mut op,
        "personal-2",
        "institution",
        GUARANTOR,
    )
    .await?;
    Ok(People {
        op,
        ent,
        bank,
        guarantor,
    })
}

fn product_form(name: &str) -> serde_json::Value {
    serde_json::json!({
        "name": name,
        "institution_kind": "bank",
        "kind": "debt",
        "guarantee": ["credit", "guarantee"],
        "loan_method": "online",
        "amount_min": "10",
        "amount_max": "500",
        "rate_min": "3.45",
        "rate_max": "6",
        "term_min": "3",
        "term_max": "36",
        "regions": [],
        "industries": [],
        "conditions": "在龙岩市注册经营满一年，纳税信用 B 级以上",
        "intro": "面向小微企业的纯信用贷款，线上申请，随借随还。",
    })
}

pub(crate) fn demand_form() -> serde_json::Value {
    serde_json::json!({
        "amount": "150",
        "term": "12",
        "max_rate": "5",
        "guarantee": "credit",
        "industry": "manufacturing",
        "region": "xinluo",
        "purpose": "采购原材料，扩大生产线",
        "tags": "纳税A级 高新技术企业",
        "contact_name": "林经理",
        "contact_phone": "13800000001",
    })
}

/// A product of `b`'s institution, approved by the operator; its id.
pub(crate) async fn listed_product(
    hub: &TestHub,
    p: &People,
    b: &Browser,
    name: &str,
) -> Result<String> {
    let created = ok(
        api(
            hub,
            b,
            Method::POST,
            "/api/me/products",
            Some(product_form(name)),
        )
        .await?,
        201,
    )
    .await?;
    ensure!(created["status"] == "draft", "{created}");
    let id = created["id"].as_str().context("id")?.to_owned();
    let sent = ok(
        api(
            hub,
            b,
            Method::POST,
            &format!("/api/me/products/{id}/submit"),
            None,
        )
        .await?,
        200,
    )
    .await?;
    ensure!(sent["status"] == "pending", "{sent}");
    // Not public before the review.
    tests::assert_problem(
        hub.get(&format!("/api/products/{id}")).await?,
        404,
        "market.not_found",
    )
    .await?;
    let listed = ok(
        api(
            hub,
            &p.op,
            Method::POST,
            &format!("/api/admin/market/products/{id}/review"),
            Some(serde_json::json!({ "decision": "approve" })),
        )
        .await?,
        200,
    )
    .await?;
    ensure!(listed["status"] == "listed", "{listed}");
    Ok(id)
}

/// A demand of the enterprise, approved into the market; its id.
pub(crate) async fn open_demand(hub: &TestHub, p: &People) -> Result<String> {
    let created = ok(
        api(
            hub,
            &p.ent,
            Method::POST,
            "/api/me/demands",
            Some(demand_form()),
        )
        .await?,
        201,
    )
    .await?;
    ensure!(created["status"] == "pending", "{created}");
    let id = created["id"].as_str().context("id")?.to_owned();
    let open = ok(
        api(
            hub,
            &p.op,
            Method::POST,
            &format!("/api/admin/market/demands/{id}/review"),
            Some(serde_json::json!({ "decision": "approve" })),
        )
        .await?,
        200,
    )
    .await?;
    ensure!(open["status"] == "open", "{open}");
    Ok(id)
}

pub(crate) async fn figures(hub: &TestHub) -> Result<serde_json::Value> {
    hub.clock.advance(std::time::Duration::from_secs(6));
    ok(hub.get("/api/portal/figures").await?, 200).await
}

/// What would identify the enterprise (legal-1's company and the demand's contacts).
fn identifying(text: &str) -> Option<&'static str> {
    ["林经理", "13800000001", "3N0B", "\"enterprise\":{"]
        .into_iter()
        .find(|n| text.contains(n))
}

async fn a_demand_is_taken_by_one_institution_confirmed_and_disbursed(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let p = people(&hub).await?;
    let product = listed_product(&hub, &p, &p.bank, "普惠信用贷").await?;
    let list = ok(
        hub.get("/api/products?guarantee=credit&amount=150&rate=5&term=12")
            .await?,
        200,
    )
    .await?;
    ensure!(
        list["total"] == 1 && list["items"][0]["id"] == product.as_str(),
        "{list}"
    );
    let none = ok(hub.get("/api/products?amount=600").await?, 200).await?;
    ensure!(
        none["total"] == 0,
        "an amount above every product's range: {none}"
    );
    let before = figures(&hub).await?;
    ensure!(
        before["products"] == 1 && before["open_demands"] == 0 && before["financing_fen"] == 0,
        "{before}"
    );

    // The demand is not in the market until the operators approve it.
    let created = ok(
        api(
            &hub,
            &p.ent,
            Method::POST,
            "/api/me/demands",
            Some(demand_form()),
        )
        .await?,
        201,
    )
    .await?;
    let id = created["id"].as_str().context("id")?.to_owned();
    let market = ok(
        api(&hub, &p.bank, Method::GET, "/api/market/demands", None).await?,
        200,
    )
    .await?;
    ensure!(
        market["total"] == 0,
        "a pending demand in the market: {market}"
    );
    tests::assert_problem(
        api(
            &hub,
            &p.bank,
            Method::POST,
            &format!("/api/market/demands/{id}/take"),
            None,
        )
        .await?,
        404,
        "market.not_found",
    )
    .await?;
    api(
        &hub,
        &p.op,
        Method::POST,
        &format!("/api/admin/market/demands/{id}/review"),
        Some(serde_json::json!({ "decision": "approve" })),
    )
    .await?;
    ensure!(figures(&hub).await?["open_demands"] == 1);

    // Both institutions see it, anonymous; the bank's product fits it.
    for b in [&p.bank, &p.guarantor] {
        let res = api(&hub, b, Method::GET, "/api/market/demands", None).await?;
        let text = res.text().await?;
        ensure!(
            identifying(&text).is_none(),
            "identified by {:?}: {text}",
            identifying(&text)
        );
        let v: serde_json::Value = serde_json::from_str(&text)?;
        ensure!(
            v["total"] == 1 && v["items"][0]["demand"]["enterprise"].is_null(),
            "{v}"
        );
    }
    let bank_view = ok(
        api(
            &hub,
            &p.bank,
            Method::GET,
            "/api/market/demands?matching=true",
            None,
        )
        .await?,
        200,
    )
    .await?;
    ensure!(
        bank_view["total"] == 1,
        "the bank's product does not match: {bank_view}"
    );
    let guarantor_view = ok(
        api(
            &hub,
            &p.guarantor,
            Method::GET,
            "/api/market/demands?matching=true",
            None,
        )
        .await?,
        200,
    )
    .await?;
    ensure!(
        guarantor_view["total"] == 0,
        "the guarantor has no product: {guarantor_view}"
    );
    // The enterprise sees the bank's product recommended, with the reasons.
    let mine = ok(
        api(
            &hub,
            &p.ent,
            Method::GET,
            &format!("/api/me/demands/{id}"),
            None,
        )
        .await?,
        200,
    )
    .await?;
    ensure!(
        mine["recommended"][0]["product"]["id"] == product.as_str()
            && mine["recommended"][0]["score"] == 100,
        "{mine}"
    );

    // The guarantor takes it; the bank is too late.
    let taken = ok(
        api(
            &hub,
            &p.guarantor,
            Method::POST,
            &format!("/api/market/demands/{id}/take"),
            None,
        )
        .await?,
        200,
    )
    .await?;
    ensure!(
        taken["status"] == "taken" && taken["enterprise"].is_null(),
        "{taken}"
    );
    tests::assert_problem(
        api(
            &hub,
            &p.bank,
            Method::POST,
            &format!("/api/market/demands/{id}/take"),
            None,
        )
        .await?,
        409,
        "market.already_taken",
    )
    .await?;
    // The bank no longer reads it; the winner still may not see the enterprise, nor disburse.
    tests::assert_problem(
        api(
            &hub,
            &p.bank,
            Method::GET,
            &format!("/api/market/demands/{id}"),
            None,
        )
        .await?,
        404,
        "market.not_found",
    )
    .await?;
    let text = api(
        &hub,
        &p.guarantor,
        Method::GET,
        &format!("/api/market/demands/{id}"),
        None,
    )
    .await?
    .text()
    .await?;
    ensure!(
        identifying(&text).is_none(),
        "identified before confirmation: {text}"
    );
    let today = time::OffsetDateTime::from_unix_timestamp(hub.clock.now().0 / 1000)?
        .to_offset(time::macros::offset!(+8))
        .date()
        .to_string();
    tests::assert_problem(
        api(
            &hub,
            &p.guarantor,
            Method::POST,
            &format!("/api/market/demands/{id}/disburse"),
            Some(serde_json::json!({ "amount": "150", "date": today })),
        )
        .await?,
        409,
        "market.state_conflict",
    )
    .await?;

    // The guarantor returns it; it is back in the market and the bank takes it.
    tests::assert_problem(
        api(
            &hub,
            &p.guarantor,
            Method::POST,
            &format!("/api/market/demands/{id}/return"),
            Some(serde_json::json!({ "reason": "  " })),
        )
        .await?,
        422,
        "validation.failed",
    )
    .await?;
    let back = ok(
        api(
            &hub,
            &p.guarantor,
            Method::POST,
            &format!("/api/market/demands/{id}/return"),
            Some(serde_json::json!({ "reason": "超出本公司担保范围" })),
        )
        .await?,
        200,
    )
    .await?;
    // Open again, anonymous again, and no longer the guarantor's.
    ensure!(
        back["status"] == "open"
            && back["taker_org_name"].is_null()
            && back["taken_by_viewer"] == false,
        "{back}"
    );
    let mine = ok(
        api(
            &hub,
            &p.ent,
            Method::GET,
            &format!("/api/me/demands/{id}"),
            None,
        )
        .await?,
        200,
    )
    .await?;
    ensure!(
        mine["demand"]["status"] == "open" && mine["demand"]["taker_org_name"].is_null(),
        "{mine}"
    );
    ensure!(
        mine["history"].as_array().is_some_and(|h| h
            .iter()
            .any(|e| e["action"] == "returned" && e["detail"] == "超出本公司担保范围")),
        "{mine}"
    );
    ok(
        api(
            &hub,
            &p.bank,
            Method::POST,
            &format!("/api/market/demands/{id}/take"),
            None,
        )
        .await?,
        200,
    )
    .await?;

    // The enterprise confirms the bank, which now sees who it is; then it disburses.
    let confirmed = ok(
        api(
            &hub,
            &p.ent,
            Method::POST,
            &format!("/api/me/demands/{id}/confirm"),
            None,
        )
        .await?,
        200,
    )
    .await?;
    ensure!(
        confirmed["status"] == "confirmed" && confirmed["taker_org_name"] == BANK,
        "{confirmed}"
    );
    let seen = ok(
        api(
            &hub,
            &p.bank,
            Method::GET,
            &format!("/api/market/demands/{id}"),
            None,
        )
        .await?,
        200,
    )
    .await?;
    ensure!(
        seen["enterprise"]["contact_phone"] == "13800000001"
            && seen["enterprise"]["uscc_masked"]
                .as_str()
                .is_some_and(|u| u.contains('*')),
        "{seen}"
    );
    tests::assert_problem(
        api(
            &hub,
            &p.bank,
            Method::POST,
            &format!("/api/market/demands/{id}/disburse"),
            Some(serde_json::json!({ "amount": "1.5.0", "date": "2026-13-01" })),
        )
        .await?,
        422,
        "validation.failed",
    )
    .await?;
    let paid = ok(
        api(
            &hub,
            &p.bank,
            Method::POST,
            &format!("/api/market/demands/{id}/disburse"),
            Some(serde_json::json!({ "amount": "120.5", "date": today })),
        )
        .await?,
        200,
    )
    .await?;
    ensure!(
        paid["status"] == "disbursed" && paid["disbursed_fen"] == 120_500_000_i64,
        "{paid}"
    );
    let after = figures(&hub).await?;
    ensure!(
        after["open_demands"] == 0 && after["financing_fen"] == 120_500_000_i64,
        "{after}"
    );

    // Every step is audited, once.
    let db = hub.store.connect().await?;
    for (event, n) in [
        ("market.product_approved", 1),
        ("market.demand_approved", 1),
        ("market.demand_taken", 2),
        ("market.demand_returned", 1),
        ("market.demand_confirmed", 1),
        ("market.demand_disbursed", 1),
    ] {
        let got = db
            .scalar_i64(&format!(
                "SELECT COUNT(*) FROM audit_log WHERE event = '{event}'"
            ))
            .await?;
        ensure!(got == n, "{event}: {got} records");
    }
    db.close().await;
    Ok(())
}

async fn exactly_one_of_a_hundred_concurrent_takes_wins(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let p = people(&hub).await?;
    for round in 0..3 {
        let id = open_demand(&hub, &p).await?;
        let path = format!("/api/market/demands/{id}/take");
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..100 {
            let b = if i % 2 == 0 { &p.bank } else { &p.guarantor };
            let cookies: Vec<String> = b.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let req = hub
                .http
                .post(hub.url(&path))
                .header("cookie", cookies.join("; "))
                .header("origin", &hub.base)
                .header("accept", "application/json");
            tasks.spawn(async move {
                let res = req.send().await?;
                let status = res.status().as_u16();
                let body: serde_json::Value = res.json().await.unwrap_or_default();
                Ok::<_, tests::anyhow::Error>((
                    i % 2,
                    status,
                    body["code"].as_str().unwrap_or("").to_owned(),
                    body["taker_org_name"].as_str().unwrap_or("").to_owned(),
                ))
            });
        }
        let mut wins = Vec::new();
        let mut refusals = std::collections::BTreeMap::new();
        while let Some(r) = tasks.join_next().await {
            let (side, status, code, taker) = r??;
            if status == 200 {
                wins.push((side, taker));
            } else {
                *refusals.entry((side, status, code)).or_insert(0) += 1;
            }
        }
        ensure!(
            wins.len() == 1,
            "round {round}: {} winners {wins:?}; refusals {refusals:?}",
            wins.len()
        );
        let (winner, taker) = &wins[0];
        ensure!(
            taker == if *winner == 0 { BANK } else { GUARANTOR },
            "{taker}"
        );
        // The loser's attempts all say it was taken; the winner's other attempts that it has it.
        for ((side, status, code), n) in &refusals {
            let expected = if side == winner {
                "market.state_conflict"
            } else {
                "market.already_taken"
            };
            ensure!(
                *status == 409 && code == expected,
                "round {round}: {n} × {status} {code} for side {side}"
            );
        }
        let db = hub.store.connect().await?;
        let events = db
            .scalar_i64(&format!("SELECT COUNT(*) FROM market_demand_events WHERE demand_id = '{id}' AND action = 'taken'"))
            .await?;
        ensure!(events == 1, "round {round}: {events} taken events");
        db.close().await;
    }
    Ok(())
}

async fn forms_are_checked_field_by_field_and_organisations_kept_apart(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let p = people(&hub).await?;
    // Every field's problem at once, in Chinese; no float ever parsed.
    let mut bad = product_form("错的产品");
    bad["amount_min"] = "600".into();
    bad["rate_min"] = "abc".into();
    bad["term_min"] = "0".into();
    bad["guarantee"] = serde_json::json!(["not-a-code"]);
    bad["kind"] = "loan".into();
    let res = api(&hub, &p.bank, Method::POST, "/api/me/products", Some(bad)).await?;
    let body = ok(res, 422).await?;
    ensure!(body["code"] == "validation.failed", "{body}");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .or_else(|| body["fields"].as_array())
        .map(|a| a.iter().filter_map(|e| e["field"].as_str()).collect())
        .unwrap_or_default();
    for f in ["kind", "guarantee", "amount_max", "rate_min", "term_min"] {
        ensure!(fields.contains(&f), "{f} not reported: {body}");
    }
    let mut demand = demand_form();
    demand["contact_phone"] = "电话".into();
    demand["amount"] = "1e3".into();
    let body = ok(
        api(&hub, &p.ent, Method::POST, "/api/me/demands", Some(demand)).await?,
        422,
    )
    .await?;
    ensure!(
        body.to_string().contains("contact_phone") && body.to_string().contains("amount"),
        "{body}"
    );

    // Sensitive words in a demand are refused, the words named.
    let mut rv = console(&hub, "reviewer1", Role::ContentReviewer).await?;
    add_words(&hub, &mut rv, "套路贷", "违法金融").await?;
    let mut demand = demand_form();
    demand["purpose"] = "不是套路贷".into();
    let res = api(&hub, &p.ent, Method::POST, "/api/me/demands", Some(demand)).await?;
    let body = ok(res, 422).await?;
    ensure!(
        body["code"] == "content.sensitive_words" && body.to_string().contains("套路贷"),
        "{body}"
    );

    // Organisations are kept apart: the guarantor cannot touch the bank's product, an
    // enterprise cannot take demands, an institution cannot read an enterprise's demands.
    let bank_product = ok(
        api(
            &hub,
            &p.bank,
            Method::POST,
            "/api/me/products",
            Some(product_form("银行的产品")),
        )
        .await?,
        201,
    )
    .await?;
    let pid = bank_product["id"].as_str().context("id")?;
    for step in ["submit", "unlist", "delete"] {
        tests::assert_problem(
            api(
                &hub,
                &p.guarantor,
                Method::POST,
                &format!("/api/me/products/{pid}/{step}"),
                None,
            )
            .await?,
            404,
            "market.not_found",
        )
        .await?;
    }
    let theirs = ok(
        api(&hub, &p.guarantor, Method::GET, "/api/me/products", None).await?,
        200,
    )
    .await?;
    ensure!(theirs["total"] == 0, "{theirs}");
    let id = open_demand(&hub, &p).await?;
    tests::assert_problem(
        api(
            &hub,
            &p.ent,
            Method::POST,
            &format!("/api/market/demands/{id}/take"),
            None,
        )
        .await?,
        403,
        "market.forbidden",
    )
    .await?;
    tests::assert_problem(
        api(
            &hub,
            &p.bank,
            Method::GET,
            &format!("/api/me/demands/{id}"),
            None,
        )
        .await?,
        403,
        "market.forbidden",
    )
    .await?;
    tests::assert_problem(
        api(
            &hub,
            &p.bank,
            Method::POST,
            &format!("/api/me/demands/{id}/confirm"),
            None,
        )
        .await?,
        403,
        "market.forbidden",
    )
    .await?;
    // Someone not signed in gets 401; an institution's staff cannot hand someone else's demand.
    tests::assert_problem(
        hub.get("/api/market/demands").await?,
        401,
        "auth.unauthenticated",
    )
    .await?;
    tests::assert_problem(
        api(
            &hub,
            &p.bank,
            Method::POST,
            &format!("/api/market/demands/{id}/return"),
            Some(serde_json::json!({ "reason": "不是我的" })),
        )
        .await?,
        404,
        "market.not_found",
    )
    .await?;
    // A rejection needs a reason.
    let created = ok(
        api(
            &hub,
            &p.ent,
            Method::POST,
            "/api/me/demands",
            Some(demand_form()),
        )
        .await?,
        201,
    )
    .await?;
    let second = created["id"].as_str().context("id")?;
    tests::assert_problem(
        api(
            &hub,
            &p.op,
            Method::POST,
            &format!("/api/admin/market/demands/{second}/review"),
            Some(serde_json::json!({ "decision": "reject" })),
        )
        .await?,
        422,
        "validation.failed",
    )
    .await?;
    Ok(())
}

/// The organisation's balance and its ledger as (reason, delta), sorted.
async fn ledger(hub: &TestHub, b: &Browser) -> Result<(i64, Vec<(String, i64)>)> {
    let points = ok(
        api(hub, b, Method::GET, "/api/me/points?size=50", None).await?,
        200,
    )
    .await?;
    let balance = points["balance"].as_i64().context("balance")?;
    let mut entries: Vec<(String, i64)> = points["entries"]["items"]
        .as_array()
        .context("entries")?
        .iter()
        .map(|e| {
            (
                e["reason"].as_str().unwrap_or_default().to_owned(),
                e["delta"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    // The test's clock stands still: entries of the same instant come in any order.
    entries.sort();
    ensure!(
        entries.iter().map(|(_, d)| d).sum::<i64>() == balance,
        "the balance is the ledger's sum: {points}"
    );
    Ok((balance, entries))
}

async fn both_sides_rate_an_ended_demand_and_points_are_a_ledger(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let mut p = people(&hub).await?;
    listed_product(&hub, &p, &p.bank, "普惠信用贷").await?;
    let id = open_demand(&hub, &p).await?;
    let rate = |who: &'static str, score: serde_json::Value, comment: &str| {
        let path = if who == "ent" {
            format!("/api/me/demands/{id}/rate")
        } else {
            format!("/api/market/demands/{id}/rate")
        };
        (
            path,
            serde_json::json!({ "score": score, "comment": comment }),
        )
    };
    ok(
        api(
            &hub,
            &p.bank,
            Method::POST,
            &format!("/api/market/demands/{id}/take"),
            None,
        )
        .await?,
        200,
    )
    .await?;
    ok(
        api(
            &hub,
            &p.ent,
            Method::POST,
            &format!("/api/me/demands/{id}/confirm"),
            None,
        )
        .await?,
        200,
    )
    .await?;
    // Not before the demand has ended.
    let (path, body) = rate("ent", 5.into(), "很好");
    tests::assert_problem(
        api(&hub, &p.ent, Method::POST, &path, Some(body)).await?,
        409,
        "market.state_conflict",
    )
    .await?;
    let today = time::OffsetDateTime::from_unix_timestamp(hub.clock.now().0 / 1000)?
        .to_offset(time::macros::offset!(+8))
        .date()
        .to_string();
    ok(
        api(
            &hub,
            &p.bank,
            Method::POST,
            &format!("/api/market/demands/{id}/disburse"),
            Some(serde_json::json!({ "amount": "100", "date": today })),
        )
        .await?,
        200,
    )
    .await?;

    // The enterprise's page offers the form; a bad score is refused there with the input kept.
    let page = p.ent.get(&hub.url(&format!("/user/demands/{id}"))).await?;
    ensure!(
        page.status == 200 && page.body.contains(&format!("/user/demands/{id}/rate")),
        "no rating form: {}",
        page.body
    );
    let token = crate::portal::csrf(&page)?;
    let refused = p
        .ent
        .request(
            Method::POST,
            &hub.url(&format!("/user/demands/{id}/rate")),
            Some(&[("csrf", &token), ("score", "9"), ("comment", "留着的评价")]),
        )
        .await?;
    ensure!(
        refused.status == 422 && refused.body.contains("留着的评价"),
        "{} {}",
        refused.status,
        refused.body
    );
    // The same through JSON; a sensitive word in the comment; someone of neither side.
    let (path, body) = rate("ent", 9.into(), "");
    tests::assert_problem(
        api(&hub, &p.ent, Method::POST, &path, Some(body)).await?,
        422,
        "validation.failed",
    )
    .await?;
    let mut rv = console(&hub, "reviewer1", Role::ContentReviewer).await?;
    add_words(&hub, &mut rv, "套路贷", "违法金融").await?;
    let (path, body) = rate("ent", 1.into(), "这家机构搞套路贷");
    let res = api(&hub, &p.ent, Method::POST, &path, Some(body)).await?;
    let body = ok(res, 422).await?;
    ensure!(
        body["code"] == "content.sensitive_words" && body.to_string().contains("套路贷"),
        "{body}"
    );
    let (path, body) = rate("bank", 3.into(), "");
    tests::assert_problem(
        api(&hub, &p.guarantor, Method::POST, &path, Some(body)).await?,
        404,
        "market.not_found",
    )
    .await?;

    // The enterprise rates the bank, once.
    let (path, body) = rate("ent", 5.into(), "放款快，服务好");
    let given = ok(
        api(&hub, &p.ent, Method::POST, &path, Some(body)).await?,
        201,
    )
    .await?;
    ensure!(
        given["score"] == 5 && given["from_side"] == "enterprise",
        "{given}"
    );
    let (path, body) = rate("ent", "4".into(), "再评一次");
    tests::assert_problem(
        api(&hub, &p.ent, Method::POST, &path, Some(body)).await?,
        409,
        "market.state_conflict",
    )
    .await?;

    // The operator changes the rule of a poor rating; the bank's rating of the enterprise
    // (2 points) deducts the new amount.
    let console_page = crate::console::get(&mut p.op, &hub, "/console/market", 200).await?;
    ensure!(
        console_page.body.contains("rating_negative"),
        "{}",
        console_page.body
    );
    let token = crate::console::csrf(&console_page)?;
    let refused = crate::console::post(
        &mut p.op,
        &hub,
        "/console/market/rules",
        &[
            ("csrf", &token),
            ("code", "rating_negative"),
            ("points", "abc"),
        ],
        422,
    )
    .await?;
    ensure!(refused.body.contains("整数"), "{}", refused.body);
    crate::console::post(
        &mut p.op,
        &hub,
        "/console/market/rules",
        &[
            ("csrf", &token),
            ("code", "rating_negative"),
            ("points", "-8"),
        ],
        303,
    )
    .await?;
    let (path, body) = rate("bank", 2.into(), "资料提供不及时");
    ok(
        api(&hub, &p.bank, Method::POST, &path, Some(body)).await?,
        201,
    )
    .await?;
    let (path, body) = rate("bank", 5.into(), "");
    tests::assert_problem(
        api(&hub, &p.bank, Method::POST, &path, Some(body)).await?,
        409,
        "market.state_conflict",
    )
    .await?;
    // Both pages show both ratings.
    for (b, page) in [
        (&mut p.ent, format!("/user/demands/{id}")),
        (&mut p.bank, format!("/user/market/{id}")),
    ] {
        let shown = b.get(&hub.url(&page)).await?;
        ensure!(
            shown.status == 200
                && shown.body.contains("放款快，服务好")
                && shown.body.contains("资料提供不及时")
                && !shown.body.contains(&format!("{page}/rate")),
            "{page}: {}",
            shown.body
        );
    }

    // A second demand deleted by the institution holding it costs the enterprise points.
    let second = open_demand(&hub, &p).await?;
    ok(
        api(
            &hub,
            &p.guarantor,
            Method::POST,
            &format!("/api/market/demands/{second}/take"),
            None,
        )
        .await?,
        200,
    )
    .await?;
    ok(
        api(
            &hub,
            &p.guarantor,
            Method::POST,
            &format!("/api/market/demands/{second}/delete"),
            Some(serde_json::json!({ "reason": "企业提供的资料不实" })),
        )
        .await?,
        200,
    )
    .await?;

    let s = |v: &[(&str, i64)]| -> Vec<(String, i64)> {
        let mut v: Vec<(String, i64)> = v.iter().map(|(r, d)| ((*r).to_owned(), *d)).collect();
        v.sort();
        v
    };
    let (balance, entries) = ledger(&hub, &p.ent).await?;
    ensure!(
        entries
            == s(&[
                ("demand_approved", 10),
                ("disbursed", 20),
                ("rating_negative", -8),
                ("demand_approved", 10),
                ("credit_refused", -5),
                // legal-1's sign-in as a member of its (bound, approved) enterprise.
                ("registered", 20),
                ("daily_sign_in", 1),
            ])
            && balance == 48,
        "enterprise: {balance} {entries:?}"
    );
    let (balance, entries) = ledger(&hub, &p.bank).await?;
    ensure!(
        entries
            == s(&[
                ("product_approved", 10),
                ("disbursed", 20),
                ("rating_positive", 5),
            ])
            && balance == 35,
        "bank: {balance} {entries:?}"
    );
    let (balance, entries) = ledger(&hub, &p.guarantor).await?;
    ensure!(balance == 0 && entries.is_empty(), "{entries:?}");
    // The user centre shows the balance; the ledger page lists the entries.
    let centre = p.ent.get(&hub.url("/user")).await?;
    ensure!(
        centre.body.contains("/user/points") && centre.body.contains("<strong>48</strong>"),
        "{}",
        centre.body
    );
    let ledger_page = p.ent.get(&hub.url("/user/points")).await?;
    ensure!(
        ledger_page.status == 200
            && ledger_page.body.contains("需求被金融机构删除")
            && ledger_page.body.contains("-8"),
        "{}",
        ledger_page.body
    );
    // The institution's public page shows its rating.
    let bank_org = db_scalar_text(
        &hub,
        &format!("SELECT to_org_id FROM market_ratings WHERE demand_id = '{id}' AND from_side = 'enterprise'"),
    )
    .await?;
    let public = hub
        .get(&format!("/institutions/{bank_org}"))
        .await?
        .text()
        .await?;
    ensure!(
        public.contains("5.0") && public.contains("1 条评价"),
        "{public}"
    );

    let db = hub.store.connect().await?;
    for (event, n) in [("market.rated", 2), ("market.points_rule_changed", 1)] {
        let got = db
            .scalar_i64(&format!(
                "SELECT COUNT(*) FROM audit_log WHERE event = '{event}'"
            ))
            .await?;
        ensure!(got == n, "{event}: {got} records");
    }
    db.close().await;
    Ok(())
}

async fn db_scalar_text(hub: &TestHub, sql: &str) -> Result<String> {
    let db = hub.store.connect().await?;
    let v = db.strings(sql).await?;
    db.close().await;
    v.into_iter().next().context("no row")
}
