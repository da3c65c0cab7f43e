//! The exchange tie-in of the marketplace (issue 13): a bank answering by its financing-demand
//! notices (`HubDemandId`, `Status`, the loan, the reason) changes the same demand as its staff
//! on the pages, through the exchange's outbox and the in-process consumer `internal:market`:
//! the same state and JSON, the same conflicts for other institutions, the same figures; a
//! message sent again or delivered again applies nothing twice; an answer the demand's state
//! does not allow is dead-lettered with a readable reason.

use std::time::Duration;

use platform::admin::Role;
use platform::clock::Clock;
use reqwest::Method;
use tests::anyhow::{Context, Result, ensure};
use tests::{Browser, Env, Test, TestHub, federated_hub, test};

use crate::exchange::wait_for_status;
use crate::market::api;
use crate::portal::{approved_org, approved_org_with, console, html_browser, sign_in};

pub fn tests() -> Vec<Test> {
    vec![test!(a_bank_answering_by_xml_ends_where_the_page_would)]
}

const PARTNER: &str = "bank";
const AK: &str = "AK-BANK-MARKET";
const SECRET: &str = "bank-market-shared-secret-0123";
const TYPE: &str = "financing.demand_notice";
const BANK: &str = "龙岩信贷示例银行";
const OTHER: &str = "闽西示例担保有限公司";

/// The bank's unified social credit code (GB 32100-2015, check digit included): the
/// configuration names the institution by it.
const BANK_USCC: &str = "91350802MA2YLK3N1E";

async fn ok(
    hub: &TestHub,
    b: &Browser,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> Result<serde_json::Value> {
    tests::json(api(hub, b, method, path, body).await?, 200).await
}

/// Registers an institution with its credit code as `persona`, approved by the operator.
async fn approved_institution_with_code(
    hub: &TestHub,
    b: &mut Browser,
    op: &mut Browser,
    persona: &str,
    name: &str,
    code: &str,
) -> Result<String> {
    approved_org_with(hub, b, op, persona, "institution", name, &[("uscc", code)]).await
}

/// A demand of the enterprise, approved into the market; its id.
async fn open_demand(hub: &TestHub, ent: &Browser, op: &Browser) -> Result<String> {
    let created = tests::json(
        api(
            hub,
            ent,
            Method::POST,
            "/api/me/demands",
            Some(crate::market::demand_form()),
        )
        .await?,
        201,
    )
    .await?;
    let id = created["id"].as_str().context("id")?.to_owned();
    let open = ok(
        hub,
        op,
        Method::POST,
        &format!("/api/admin/market/demands/{id}/review"),
        Some(serde_json::json!({ "decision": "approve" })),
    )
    .await?;
    ensure!(open["status"] == "open", "{open}");
    Ok(id)
}

/// The bank's answer about hub demand `demand`: one `<Demand>` (with `extra` elements after the
/// status) and one that names no hub demand (ignored by the marketplace).
fn answer(message_id: &str, demand: &str, status: &str, extra: &str) -> Vec<u8> {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<FinancingDemandNotice version="1.0">
  <Header>
    <MessageId>{message_id}</MessageId>
    <SendTime>2026-12-07T10:00:00+08:00</SendTime>
    <BankCode>0402</BankCode>
  </Header>
  <Demand>
    <DemandNo>B-{message_id}</DemandNo>
    <Amount currency="CNY">1500000.00</Amount>
    <TermMonths>12</TermMonths>
    <GuaranteeMethod>01</GuaranteeMethod>
    <HubDemandId>{demand}</HubDemandId>
    <Status>{status}</Status>{extra}
  </Demand>
  <Demand>
    <DemandNo>000123</DemandNo>
    <Enterprise><USCC>91350802MA00000001</USCC><Name>龙岩示例机械有限公司</Name></Enterprise>
    <Amount>5000000.00</Amount>
    <TermMonths>36</TermMonths>
    <GuaranteeMethod>02</GuaranteeMethod>
  </Demand>
</FinancingDemandNotice>
"#
    )
    .into_bytes()
}

/// Sends `body` as the partner, signed (gateway HMAC-SHA256) at the hub's time; the receipt id
/// and whether the hub answered it as a duplicate.
async fn send(hub: &TestHub, body: &[u8]) -> Result<(String, bool)> {
    let path = format!("/exchange/{PARTNER}/{TYPE}");
    let date = (hub.clock.now().0 / 1000).to_string();
    let sig = exchange::auth::sign_hmac_sha256(SECRET, "POST", &path, None, AK, &date, body);
    let res = hub
        .http
        .post(hub.url(&path))
        .header("content-type", "application/xml")
        .header("x-access-key", AK)
        .header("x-date", &date)
        .header("x-signature", sig)
        .body(body.to_vec())
        .send()
        .await?;
    let duplicate = res.headers().get("x-duplicate").is_some();
    let receipt = res
        .headers()
        .get("x-receipt-id")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let status = res.status();
    let text = res.text().await?;
    ensure!(status == 200, "{status}: {text}");
    Ok((receipt.context("no receipt id")?, duplicate))
}

/// The view of a demand as an institution reads it, without what differs between two demands
/// (their ids and times) and who acted (a member on the page, the partner by message).
fn comparable(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(o) = v.as_object_mut() {
        o.retain(|k, _| k != "id" && !k.ends_with("_at") && k != "handler_name");
    }
    v
}

async fn a_bank_answering_by_xml_ends_where_the_page_would(env: Env) -> Result<()> {
    let code = BANK_USCC;
    let hub = federated_hub(
        &env,
        &[
            ("HUB_PARTNERS__BANK__AUTH", "hmac-sha256"),
            ("HUB_PARTNERS__BANK__ACCESS_KEY", AK),
            ("HUB_PARTNERS__BANK__SECRET", SECRET),
            (
                "HUB_PARTNERS__BANK__MESSAGE_TYPES",
                "[\"financing.demand_notice\"]",
            ),
            ("HUB_PARTNERS__BANK__DELIVER_TO", "internal:market"),
            ("HUB_MARKET__PARTNERS__BANK", code),
            ("HUB_EXCHANGE__POLL_INTERVAL", "100ms"),
            ("HUB_EXCHANGE__RETRY_BASE", "100ms"),
            ("HUB_EXCHANGE__RETRY_MAX", "400ms"),
            ("HUB_EXCHANGE__MAX_ATTEMPTS", "3"),
            ("HUB_EXCHANGE__LEASE", "4s"),
        ],
    )
    .await?;
    // Deliveries are due by the hub's clock.
    hub.follow_real_time();
    let sys = hub.token(Role::SystemAdmin).await?;
    let mut op = console(&hub, "operator1", Role::SystemAdmin).await?;
    let mut ent = html_browser();
    sign_in(&mut ent, &hub, "legal-1").await?;
    let mut a = html_browser();
    approved_institution_with_code(&hub, &mut a, &mut op, "personal-1", BANK, code).await?;
    let mut b = html_browser();
    approved_org(&hub, &mut b, &mut op, "personal-2", "institution", OTHER).await?;
    // The partner's consumer is shown by its name.
    let partner = hub
        .get_json(&sys, &format!("/api/admin/partners/{PARTNER}"))
        .await?;
    ensure!(partner["deliver_to"] == "internal:market", "{partner}");
    // Through the partners API, only a consumer the hub has.
    let create = |target: &str| {
        hub.http
            .post(hub.url("/api/admin/partners"))
            .bearer_auth(&sys)
            .json(&serde_json::json!({
                "id": "bank-api",
                "auth": "hmac-sha256",
                "access_key": "AK-BANK-API",
                "message_types": [TYPE],
                "deliver_to": target,
            }))
            .send()
    };
    let p =
        tests::assert_problem(create("internal:ledger").await?, 422, "validation.failed").await?;
    ensure!(p["errors"][0]["field"] == "deliver_to", "{p}");
    let created = tests::json(create("internal:market").await?, 201).await?;
    ensure!(created["deliver_to"] == "internal:market", "{created}");

    // 抢单 by XML: the demand is taken by the bank's institution, as on the page.
    let by_xml = open_demand(&hub, &ent, &op).await?;
    let (take, dup) = send(&hub, &answer("ANS-TAKE-1", &by_xml, "01", "")).await?;
    ensure!(!dup);
    let delivered = wait_for_status(&hub, &sys, &take, "delivered").await?;
    ensure!(
        delivered["deliveries"][0]["target"] == "internal:market",
        "{delivered}"
    );
    let seen = ok(
        &hub,
        &a,
        Method::GET,
        &format!("/api/market/demands/{by_xml}"),
        None,
    )
    .await?;
    ensure!(
        seen["status"] == "taken"
            && seen["taken_by_viewer"] == true
            && seen["taker_org_name"] == BANK
            && seen["enterprise"].is_null(),
        "{seen}"
    );
    let by_page = open_demand(&hub, &ent, &op).await?;
    ok(
        &hub,
        &a,
        Method::POST,
        &format!("/api/market/demands/{by_page}/take"),
        None,
    )
    .await?;
    let on_page = ok(
        &hub,
        &a,
        Method::GET,
        &format!("/api/market/demands/{by_page}"),
        None,
    )
    .await?;
    ensure!(
        comparable(seen.clone()) == comparable(on_page.clone()),
        "by XML: {seen}\non the page: {on_page}"
    );
    ensure!(
        seen.get("handler_name")
            .is_none_or(|n| n.as_str().is_some_and(|n| n.contains(PARTNER))),
        "the partner acted: {seen}"
    );
    // The other institution is too late, as it would be after a take on the page.
    tests::assert_problem(
        api(
            &hub,
            &b,
            Method::POST,
            &format!("/api/market/demands/{by_xml}/take"),
            None,
        )
        .await?,
        409,
        "market.already_taken",
    )
    .await?;
    // The step is the institution's, audited with the partner as its actor; so is the answer.
    let db = hub.store.connect().await?;
    ensure!(
        db.scalar_i64(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE event = 'market.demand_taken' AND actor_kind = 'partner' AND actor_id = '{PARTNER}' AND target = 'demand:{by_xml}'"
        ))
        .await?
            == 1
    );
    ensure!(
        db.scalar_i64(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE event = 'market.partner_answered' AND actor_kind = 'partner' AND actor_id = '{PARTNER}' AND outcome = 'success'"
        ))
        .await?
            == 1
    );
    ensure!(
        db.strings(&format!(
            "SELECT outcome FROM market_exchange_receipts WHERE receipt_id = '{take}' ORDER BY item"
        ))
        .await?
            == ["applied", "ignored"]
    );

    // The enterprise confirms the bank; the bank's system records the loan by XML.
    let confirmed = ok(
        &hub,
        &ent,
        Method::POST,
        &format!("/api/me/demands/{by_xml}/confirm"),
        None,
    )
    .await?;
    ensure!(
        confirmed["status"] == "confirmed" && confirmed["taker_org_name"] == BANK,
        "{confirmed}"
    );
    let before = figures(&hub).await?;
    let today = time::OffsetDateTime::from_unix_timestamp(hub.clock.now().0 / 1000)?
        .to_offset(time::macros::offset!(+8))
        .date();
    let loan_date = format!(
        "{:04}{:02}{:02}",
        today.year(),
        u8::from(today.month()),
        today.day()
    );
    let disburse = answer(
        "ANS-LOAN-1",
        &by_xml,
        "03",
        &format!(
            "\n    <LoanAmount currency=\"CNY\">500000.00</LoanAmount>\n    <LoanDate>{loan_date}</LoanDate>"
        ),
    );
    let (loan, _) = send(&hub, &disburse).await?;
    wait_for_status(&hub, &sys, &loan, "delivered").await?;
    let paid = ok(
        &hub,
        &a,
        Method::GET,
        &format!("/api/market/demands/{by_xml}"),
        None,
    )
    .await?;
    ensure!(
        paid["status"] == "disbursed"
            && paid["disbursed_fen"] == 50_000_000_i64
            && paid["disbursed_on"] == today.to_string(),
        "{paid}"
    );
    let after = figures(&hub).await?;
    ensure!(
        after["financing_fen"].as_i64().unwrap_or(0)
            - before["financing_fen"].as_i64().unwrap_or(0)
            == 50_000_000,
        "before {before}, after {after}"
    );

    // The same message again is a duplicate: the first acknowledgement, nothing applied again.
    let (again, dup) = send(&hub, &disburse).await?;
    ensure!(dup && again == loan, "{again} {loan}");
    // Delivered again under the same receipt (an administrator's replay): answered, not applied.
    let replayed = tests::json(
        hub.http
            .post(hub.url(&format!("/api/admin/messages/{loan}/replay")))
            .bearer_auth(&sys)
            .send()
            .await?,
        200,
    )
    .await?;
    ensure!(replayed["status"] == "accepted", "{replayed}");
    let view = wait_for_status(&hub, &sys, &loan, "delivered").await?;
    ensure!(view["deliveries"][0]["attempts"] == 1, "{view}");
    let mine = ok(
        &hub,
        &ent,
        Method::GET,
        &format!("/api/me/demands/{by_xml}"),
        None,
    )
    .await?;
    let events = mine["history"].as_array().context("history")?;
    ensure!(
        events.iter().filter(|e| e["action"] == "disbursed").count() == 1,
        "{mine}"
    );
    ensure!(figures(&hub).await?["financing_fen"] == after["financing_fen"]);
    ensure!(
        db.scalar_i64("SELECT COUNT(*) FROM audit_log WHERE event = 'market.demand_disbursed'")
            .await?
            == 1
    );
    // The replayed delivery found the answer recorded: it was not even tried again.
    ensure!(
        db.scalar_i64(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE event = 'market.partner_answered' AND details LIKE '%{loan}%'"
        ))
        .await?
            == 1
    );

    // 退回 by XML, with the reason, as on the page; the demand is open again.
    let (back, _) = send(
        &hub,
        &answer(
            "ANS-RETURN-1",
            &by_page,
            "02",
            "\n    <Reason>超出本行授信范围</Reason>",
        ),
    )
    .await?;
    wait_for_status(&hub, &sys, &back, "delivered").await?;
    let open = ok(
        &hub,
        &b,
        Method::GET,
        &format!("/api/market/demands/{by_page}"),
        None,
    )
    .await?;
    ensure!(
        open["status"] == "open" && open["taker_org_name"].is_null(),
        "{open}"
    );
    let history = ok(
        &hub,
        &ent,
        Method::GET,
        &format!("/api/me/demands/{by_page}"),
        None,
    )
    .await?;
    ensure!(
        history["history"].as_array().is_some_and(|h| h
            .iter()
            .any(|e| e["action"] == "returned" && e["detail"] == "超出本行授信范围")),
        "{history}"
    );

    // A demand another institution holds: the answer is refused, dead-lettered with a reason
    // people can read, and the demand stays the other institution's.
    ok(
        &hub,
        &b,
        Method::POST,
        &format!("/api/market/demands/{by_page}/take"),
        None,
    )
    .await?;
    let (conflict, _) = send(&hub, &answer("ANS-TAKE-2", &by_page, "01", "")).await?;
    let failed = wait_for_status(&hub, &sys, &conflict, "failed").await?;
    let error = failed["error_detail"].as_str().unwrap_or_default();
    ensure!(
        error.contains("已被其他机构抢单") && error.contains("taken by another institution"),
        "{failed}"
    );
    ensure!(
        failed["deliveries"][0]["status"] == "dead" && failed["deliveries"][0]["attempts"] == 1,
        "refused at once, not retried: {failed}"
    );
    let still = ok(
        &hub,
        &b,
        Method::GET,
        &format!("/api/market/demands/{by_page}"),
        None,
    )
    .await?;
    ensure!(
        still["status"] == "taken" && still["taker_org_name"] == OTHER,
        "{still}"
    );
    ensure!(
        db.strings(&format!(
            "SELECT outcome FROM market_exchange_receipts WHERE receipt_id = '{conflict}' AND item = 0"
        ))
        .await?
            == ["refused"]
    );
    db.close().await;
    Ok(())
}

/// The platform's figures, after the home page's few seconds of reuse have passed.
async fn figures(hub: &TestHub) -> Result<serde_json::Value> {
    hub.clock.advance(Duration::from_secs(6));
    tests::json(hub.get("/api/portal/figures").await?, 200).await
}
