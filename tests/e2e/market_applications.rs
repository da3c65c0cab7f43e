//! Applications for products and in-site messages (issue: marketplace, D3/D8): an enterprise
//! applies for a listed product, the institution asks for more, the enterprise supplements,
//! the institution accepts and records the loan; each step messages the other side, with
//! unread counts per person; another institution reads and changes nothing. Feedback deadlines:
//! overdue institutions are reminded once per step even with two hub nodes running the job at
//! the same moment, and the overdue count shows on the institution's page.

use std::time::Duration;

use platform::admin::Role;
use platform::clock::Clock;
use reqwest::Method;
use tests::anyhow::{Context, Result, ensure};
use tests::{Env, Test, TestHub, federated_hub, test};

use crate::market::{api, figures, listed_product, ok, open_demand, people};
use crate::portal::csrf;

pub fn tests() -> Vec<Test> {
    vec![
        test!(an_application_goes_back_and_forth_with_messages_to_each_side),
        test!(overdue_feedback_is_reminded_once_across_two_nodes),
        test!(institutions_set_their_kind_and_logo_and_are_listed_by_kind),
        test!(the_main_account_assigns_work_to_its_sub_account),
        test!(a_rating_comment_with_listed_words_waits_for_the_operators),
    ]
}

fn application_form() -> serde_json::Value {
    serde_json::json!({
        "amount": "120",
        "term": "12",
        "purpose": "购置生产设备",
        "contact_name": "林经理",
        "contact_phone": "13800000001",
        "note": "",
    })
}

fn today(hub: &TestHub) -> Result<String> {
    Ok(
        time::OffsetDateTime::from_unix_timestamp(hub.clock.now().0 / 1000)?
            .to_offset(time::macros::offset!(+8))
            .date()
            .to_string(),
    )
}

/// The subjects of a member's messages, newest first, and the unread count.
async fn inbox(hub: &TestHub, b: &tests::Browser) -> Result<(Vec<String>, u64)> {
    let v = ok(
        api(hub, b, Method::GET, "/api/me/messages?size=100", None).await?,
        200,
    )
    .await?;
    let subjects = v["messages"]["items"]
        .as_array()
        .context("items")?
        .iter()
        .filter_map(|m| m["subject"].as_str().map(str::to_owned))
        .collect();
    Ok((subjects, v["unread"].as_u64().context("unread")?))
}

async fn an_application_goes_back_and_forth_with_messages_to_each_side(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let p = people(&hub).await?;
    let product = listed_product(&hub, &p, &p.bank, "普惠信用贷").await?;
    let (subjects, unread) = inbox(&hub, &p.bank).await?;
    ensure!(
        subjects == ["金融产品审核通过"] && unread == 1,
        "the product's approval is told to the institution: {subjects:?} {unread}"
    );

    // The form is pre-filled from the company, on a page.
    let mut ent = p.ent;
    let page = ent
        .get(&hub.url(&format!("/products/{product}/apply")))
        .await?;
    ensure!(
        page.status == 200 && page.body.contains("apply-form"),
        "{}",
        page.body
    );

    // Checked against the product: amount 10–500 万元, term 3–36 months.
    let res = api(
        &hub,
        &ent,
        Method::POST,
        &format!("/api/products/{product}/applications"),
        Some(serde_json::json!({ "amount": "600", "term": "48", "purpose": "", "contact_name": "林", "contact_phone": "x" })),
    )
    .await?;
    let problem = tests::assert_problem(res, 422, "validation.failed").await?;
    let text = problem.to_string();
    for f in ["amount", "term", "purpose", "contact_phone"] {
        ensure!(
            text.contains(&format!("\"{f}\"")),
            "{f} not refused: {text}"
        );
    }
    // Only enterprises apply.
    tests::assert_problem(
        api(
            &hub,
            &p.guarantor,
            Method::POST,
            &format!("/api/products/{product}/applications"),
            Some(application_form()),
        )
        .await?,
        403,
        "market.forbidden",
    )
    .await?;
    let a = ok(
        api(
            &hub,
            &ent,
            Method::POST,
            &format!("/api/products/{product}/applications"),
            Some(application_form()),
        )
        .await?,
        201,
    )
    .await?;
    ensure!(
        a["status"] == "submitted" && a["amount_fen"] == 120_000_000_i64,
        "{a}"
    );
    let id = a["id"].as_str().context("id")?.to_owned();
    // One in progress per product.
    tests::assert_problem(
        api(
            &hub,
            &ent,
            Method::POST,
            &format!("/api/products/{product}/applications"),
            Some(application_form()),
        )
        .await?,
        409,
        "market.state_conflict",
    )
    .await?;
    let (subjects, unread) = inbox(&hub, &p.bank).await?;
    ensure!(
        subjects.first().map(String::as_str) == Some("收到新的产品申请") && unread == 2,
        "{subjects:?} {unread}"
    );

    // The other institution neither reads nor answers it; the enterprise cannot answer it.
    tests::assert_problem(
        api(
            &hub,
            &p.guarantor,
            Method::GET,
            &format!("/api/me/applications/{id}"),
            None,
        )
        .await?,
        404,
        "market.not_found",
    )
    .await?;
    tests::assert_problem(
        api(
            &hub,
            &p.guarantor,
            Method::POST,
            &format!("/api/me/applications/{id}/accept"),
            Some(serde_json::json!({})),
        )
        .await?,
        404,
        "market.not_found",
    )
    .await?;
    let mut guarantor = p.guarantor;
    let page = guarantor
        .get(&hub.url(&format!("/user/applications/{id}")))
        .await?;
    ensure!(
        page.status == 404,
        "another institution's page: {}",
        page.status
    );
    tests::assert_problem(
        api(
            &hub,
            &ent,
            Method::POST,
            &format!("/api/me/applications/{id}/accept"),
            Some(serde_json::json!({})),
        )
        .await?,
        403,
        "market.forbidden",
    )
    .await?;

    // More is needed: a reason is required; the loan cannot be recorded yet.
    tests::assert_problem(
        api(
            &hub,
            &p.bank,
            Method::POST,
            &format!("/api/me/applications/{id}/more"),
            Some(serde_json::json!({ "text": " " })),
        )
        .await?,
        422,
        "validation.failed",
    )
    .await?;
    let more = ok(
        api(
            &hub,
            &p.bank,
            Method::POST,
            &format!("/api/me/applications/{id}/more"),
            Some(serde_json::json!({ "text": "请补充近一年的财务报表" })),
        )
        .await?,
        200,
    )
    .await?;
    ensure!(more["status"] == "more_needed", "{more}");
    tests::assert_problem(
        api(
            &hub,
            &p.bank,
            Method::POST,
            &format!("/api/me/applications/{id}/disburse"),
            Some(serde_json::json!({ "amount": "120", "date": today(&hub)? })),
        )
        .await?,
        409,
        "market.state_conflict",
    )
    .await?;
    let (subjects, ent_unread) = inbox(&hub, &ent).await?;
    ensure!(
        subjects.first().map(String::as_str) == Some("产品申请需补充材料"),
        "{subjects:?}"
    );

    // The enterprise supplements on the page; the institution accepts and disburses.
    let page = ent
        .get(&hub.url(&format!("/user/applications/{id}")))
        .await?;
    ensure!(
        page.status == 200
            && page.body.contains("请补充近一年的财务报表")
            && page.body.contains("step-supplement"),
        "{}",
        page.body
    );
    let sup = ok(
        api(
            &hub,
            &ent,
            Method::POST,
            &format!("/api/me/applications/{id}/supplement"),
            Some(serde_json::json!({ "text": "已上传 2025 年度财务报表" })),
        )
        .await?,
        200,
    )
    .await?;
    ensure!(sup["status"] == "submitted", "{sup}");
    ok(
        api(
            &hub,
            &p.bank,
            Method::POST,
            &format!("/api/me/applications/{id}/accept"),
            Some(serde_json::json!({ "text": "客户经理将于三个工作日内上门核实" })),
        )
        .await?,
        200,
    )
    .await?;
    let bad = tests::assert_problem(
        api(
            &hub,
            &p.bank,
            Method::POST,
            &format!("/api/me/applications/{id}/disburse"),
            Some(serde_json::json!({ "amount": "-3", "date": "2026/12/01" })),
        )
        .await?,
        422,
        "validation.failed",
    )
    .await?
    .to_string();
    ensure!(
        bad.contains("\"amount\"") && bad.contains("\"date\""),
        "{bad}"
    );
    let before = figures(&hub).await?["financing_fen"].as_i64().unwrap_or(-1);
    let done = ok(
        api(
            &hub,
            &p.bank,
            Method::POST,
            &format!("/api/me/applications/{id}/disburse"),
            Some(serde_json::json!({ "amount": "100", "date": today(&hub)? })),
        )
        .await?,
        200,
    )
    .await?;
    ensure!(
        done["status"] == "disbursed" && done["disbursed_fen"] == 100_000_000_i64,
        "{done}"
    );
    let after = figures(&hub).await?["financing_fen"].as_i64().unwrap_or(-1);
    ensure!(
        after - before == 100_000_000,
        "the loan counts into the platform's financing: {before} → {after}"
    );
    let detail = ok(
        api(
            &hub,
            &ent,
            Method::GET,
            &format!("/api/me/applications/{id}"),
            None,
        )
        .await?,
        200,
    )
    .await?;
    let actions: Vec<&str> = detail["history"]
        .as_array()
        .context("history")?
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    ensure!(
        actions
            == [
                "submitted",
                "more_needed",
                "supplemented",
                "accepted",
                "disbursed"
            ],
        "{actions:?}"
    );

    // Messages: each step told the other side; unread counts are per person.
    let (subjects, unread) = inbox(&hub, &ent).await?;
    ensure!(
        subjects
            .iter()
            .take(3)
            .map(String::as_str)
            .collect::<Vec<_>>()
            == ["产品申请已放款", "产品申请已受理", "产品申请需补充材料"],
        "{subjects:?}"
    );
    ensure!(unread == ent_unread + 2, "{unread} after {ent_unread}");
    let (subjects, _) = inbox(&hub, &p.bank).await?;
    ensure!(
        subjects.first().map(String::as_str) == Some("企业已补充材料"),
        "{subjects:?}"
    );
    let list = ok(
        api(
            &hub,
            &ent,
            Method::GET,
            "/api/me/messages?unread=true",
            None,
        )
        .await?,
        200,
    )
    .await?;
    let first = list["messages"]["items"][0]["id"]
        .as_str()
        .context("a message")?
        .to_owned();
    tests::assert_problem(
        api(
            &hub,
            &guarantor,
            Method::POST,
            &format!("/api/me/messages/{first}/read"),
            None,
        )
        .await?,
        404,
        "market.not_found",
    )
    .await?;
    let opened = ok(
        api(
            &hub,
            &ent,
            Method::POST,
            &format!("/api/me/messages/{first}/read"),
            None,
        )
        .await?,
        200,
    )
    .await?;
    ensure!(opened["read"] == true, "{opened}");
    ensure!(inbox(&hub, &ent).await?.1 == unread - 1);
    // The page shows the count, and opening a message there goes to what it is about.
    let page = ent.get(&hub.url("/user/messages")).await?;
    ensure!(
        page.body
            .contains(&format!("id=\"unread-count\">{}</strong>", unread - 1)),
        "{}",
        page.body
    );
    let centre = ent.get(&hub.url("/user")).await?;
    ensure!(
        centre.body.contains("unread-badge"),
        "the user centre shows the unread count"
    );
    let marked = ok(
        api(&hub, &ent, Method::POST, "/api/me/messages/read", None).await?,
        200,
    )
    .await?;
    ensure!(marked["marked"] == unread - 1, "{marked}");
    ensure!(inbox(&hub, &ent).await?.1 == 0);
    ensure!(
        inbox(&hub, &p.bank).await?.1 > 0,
        "another organisation's read marks are its own"
    );

    // The points of a loan, in both ledgers.
    for b in [&ent, &p.bank] {
        let points = ok(
            api(&hub, b, Method::GET, "/api/me/points", None).await?,
            200,
        )
        .await?;
        let text = points.to_string();
        ensure!(
            text.contains(&format!("application:{id}")),
            "the loan's points: {text}"
        );
    }

    // A new application for the same product may follow a finished one; the enterprise
    // withdraws it, the institution is told, and it cannot be withdrawn twice.
    let again = ok(
        api(
            &hub,
            &ent,
            Method::POST,
            &format!("/api/products/{product}/applications"),
            Some(application_form()),
        )
        .await?,
        201,
    )
    .await?;
    let again = again["id"].as_str().context("id")?.to_owned();
    let withdrawn = ok(
        api(
            &hub,
            &ent,
            Method::POST,
            &format!("/api/me/applications/{again}/withdraw"),
            Some(serde_json::json!({})),
        )
        .await?,
        200,
    )
    .await?;
    ensure!(
        withdrawn["status"] == "withdrawn" && withdrawn["revision"] == 2,
        "{withdrawn}"
    );
    tests::assert_problem(
        api(
            &hub,
            &ent,
            Method::POST,
            &format!("/api/me/applications/{again}/withdraw"),
            Some(serde_json::json!({})),
        )
        .await?,
        409,
        "market.state_conflict",
    )
    .await?;
    let (subjects, _) = inbox(&hub, &p.bank).await?;
    ensure!(
        subjects.first().map(String::as_str) == Some("企业撤回了产品申请"),
        "{subjects:?}"
    );

    // Sign-in points: once for joining, once a day per organisation, however often members
    // sign in.
    let reasons = |v: &serde_json::Value| -> Vec<String> {
        v["entries"]["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["reason"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut again = crate::portal::html_browser();
    crate::portal::sign_in(&mut again, &hub, "legal-1").await?;
    let mut bank_again = crate::portal::html_browser();
    crate::portal::sign_in(&mut bank_again, &hub, "personal-1").await?;
    crate::portal::sign_in(&mut bank_again, &hub, "personal-1").await?;
    for (who, b) in [("enterprise", &again), ("bank", &bank_again)] {
        let points = ok(
            api(&hub, b, Method::GET, "/api/me/points?size=100", None).await?,
            200,
        )
        .await?;
        let r = reasons(&points);
        ensure!(
            r.iter().filter(|x| *x == "registered").count() == 1
                && r.iter().filter(|x| *x == "daily_sign_in").count() == 1,
            "{who}: {r:?}"
        );
    }
    hub.clock.advance(Duration::from_secs(24 * 3600));
    let mut tomorrow = crate::portal::html_browser();
    crate::portal::sign_in(&mut tomorrow, &hub, "personal-1").await?;
    let points = ok(
        api(
            &hub,
            &tomorrow,
            Method::GET,
            "/api/me/points?size=100",
            None,
        )
        .await?,
        200,
    )
    .await?;
    let r = reasons(&points);
    ensure!(
        r.iter().filter(|x| *x == "daily_sign_in").count() == 2
            && r.iter().filter(|x| *x == "registered").count() == 1,
        "the next day: {r:?}"
    );
    Ok(())
}

async fn overdue_feedback_is_reminded_once_across_two_nodes(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    // A second node on the same store.
    let other = TestHub::start(&hub.store, &[]).await?;
    let p = people(&hub).await?;
    let product = listed_product(&hub, &p, &p.bank, "普惠信用贷").await?;
    let demand = open_demand(&hub, &p).await?;
    ok(
        api(
            &hub,
            &p.bank,
            Method::POST,
            &format!("/api/market/demands/{demand}/take"),
            None,
        )
        .await?,
        200,
    )
    .await?;
    let a = ok(
        api(
            &hub,
            &p.ent,
            Method::POST,
            &format!("/api/products/{product}/applications"),
            Some(application_form()),
        )
        .await?,
        201,
    )
    .await?;
    let application = a["id"].as_str().context("id")?.to_owned();
    let bank_org = a["inst_org_id"].as_str().context("institution")?.to_owned();

    // The operators set the deadlines (hours, 0 to 2160).
    let token = hub.token(Role::SystemAdmin).await?;
    let put = |code: &str, hours: serde_json::Value| {
        hub.http
            .put(hub.url(&format!("/api/admin/market/deadlines/{code}")))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "hours": hours }))
            .send()
    };
    let refused = tests::assert_problem(
        put("demand_feedback", serde_json::json!(-1)).await?,
        422,
        "validation.failed",
    )
    .await?;
    ensure!(refused.to_string().contains("\"hours\""), "{refused}");
    tests::assert_problem(
        put("nothing", serde_json::json!(5)).await?,
        404,
        "market.not_found",
    )
    .await?;
    ok(put("demand_feedback", serde_json::json!(2)).await?, 200).await?;
    ok(
        put("application_feedback", serde_json::json!("3")).await?,
        200,
    )
    .await?;
    let run = || async {
        ok(
            hub.http
                .post(hub.url("/api/admin/market/reminders"))
                .bearer_auth(&token)
                .send()
                .await?,
            200,
        )
        .await
    };
    ensure!(run().await?["sent"] == 0, "nothing is due yet");

    // Two and a half hours on: the demand is overdue, the application not yet.
    for h in [&hub, &other] {
        h.clock.advance(Duration::from_secs(150 * 60));
    }
    let market = hub.state.market.clone();
    let second = other.state.market.clone();
    // Eight runs at once, half on each node.
    let round = || async {
        let mut tasks = tokio::task::JoinSet::new();
        for k in 0..8 {
            let m = if k % 2 == 0 {
                market.clone()
            } else {
                second.clone()
            };
            tasks.spawn(async move { m.remind_overdue().await });
        }
        let mut sent = 0;
        while let Some(r) = tasks.join_next().await {
            sent += r??;
        }
        Ok::<u64, tests::anyhow::Error>(sent)
    };
    let sent = round().await?;
    ensure!(sent == 1, "one reminder for the demand, sent {sent}");
    // An hour more: the application too, once, however many nodes run the job.
    for h in [&hub, &other] {
        h.clock.advance(Duration::from_secs(60 * 60));
    }
    let sent = round().await?;
    ensure!(sent == 1, "one reminder for the application, sent {sent}");
    ensure!(run().await?["sent"] == 0, "nothing is reminded twice");

    // The institution reads them (by the store: its session has lapsed meanwhile), and the
    // overdue steps show on its rating and its public page.
    let summary = hub.state.market.rating_summary(&bank_org).await?;
    ensure!(summary.overdue == 2, "{summary:?}");
    let member = hub
        .state
        .market
        .member(&bank_account(&hub, &application).await?, "test")
        .await?;
    let inbox = hub
        .state
        .market
        .inbox(&member, true, platform::paging::Page::new(1, 50))
        .await?;
    let subjects: Vec<&str> = inbox
        .messages
        .items
        .iter()
        .map(|m| m.subject.as_str())
        .collect();
    ensure!(
        subjects
            .iter()
            .filter(|s| **s == "融资需求反馈超时提醒")
            .count()
            == 1
            && subjects
                .iter()
                .filter(|s| **s == "产品申请答复超时提醒")
                .count()
                == 1,
        "{subjects:?}"
    );
    let page = hub
        .get(&format!("/institutions/{bank_org}"))
        .await?
        .text()
        .await?;
    ensure!(page.contains("反馈超时 2 次"), "{page}");
    drop(other);
    Ok(())
}

/// The account of the bank's member who signed in (the one the test's browser uses): found
/// by the organisation offering the application's product.
async fn bank_account(hub: &TestHub, application: &str) -> Result<String> {
    let db = hub.store.connect().await?;
    let ids = db
        .strings(&format!("SELECT m.account_id FROM org_members m JOIN market_applications a ON a.inst_org_id = m.org_id WHERE a.id = '{application}'"))
        .await?;
    db.close().await;
    ids.into_iter().next().context("the bank's member")
}

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0, 0,
    1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89,
];

async fn upload_logo(
    hub: &TestHub,
    b: &mut tests::Browser,
    name: &str,
    bytes: &[u8],
) -> Result<reqwest::Response> {
    let page = b.get(&hub.url("/user/institution")).await?;
    ensure!(page.status == 200, "机构中心: {}", page.status);
    let token = csrf(&page)?;
    let form = reqwest::multipart::Form::new().text("csrf", token).part(
        "file",
        reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_owned()),
    );
    let cookies: Vec<String> = b.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
    Ok(hub
        .http
        .post(hub.url("/user/institution/logo"))
        .header("cookie", cookies.join("; "))
        .header("origin", &hub.base)
        .header("accept", "text/html")
        .multipart(form)
        .send()
        .await?)
}

async fn set_kind(hub: &TestHub, b: &tests::Browser, kind: &str) -> Result<reqwest::Response> {
    api(
        hub,
        b,
        Method::PUT,
        "/api/me/institution",
        Some(serde_json::json!({ "kind": kind })),
    )
    .await
}

async fn institutions_set_their_kind_and_logo_and_are_listed_by_kind(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let mut p = people(&hub).await?;
    let refused = tests::assert_problem(
        set_kind(&hub, &p.bank, "pawnshop").await?,
        422,
        "validation.failed",
    )
    .await?;
    ensure!(refused.to_string().contains("\"kind\""), "{refused}");
    tests::assert_problem(
        set_kind(&hub, &p.ent, "bank").await?,
        403,
        "market.forbidden",
    )
    .await?;
    let bank = ok(set_kind(&hub, &p.bank, "bank").await?, 200).await?;
    ensure!(bank["kind"] == "bank", "{bank}");
    ok(set_kind(&hub, &p.guarantor, "guarantee").await?, 200).await?;
    let mine = ok(
        api(&hub, &p.bank, Method::GET, "/api/me/institution", None).await?,
        200,
    )
    .await?;
    ensure!(
        mine["kind"] == "bank" && mine["logo_file_id"].is_null(),
        "{mine}"
    );

    // The list filters by kind.
    let banks = hub.get("/institutions?kind=bank").await?.text().await?;
    ensure!(
        banks.contains(crate::market::BANK) && !banks.contains(crate::market::GUARANTOR),
        "{banks}"
    );
    let all = hub.get("/institutions").await?.text().await?;
    ensure!(
        all.contains(crate::market::BANK) && all.contains(crate::market::GUARANTOR),
        "{all}"
    );

    // The logo: an image only, shown on the public pages.
    let text = upload_logo(&hub, &mut p.bank, "logo.txt", b"not an image at all").await?;
    ensure!(text.status() == 422, "{}", text.status());
    let body = text.text().await?;
    ensure!(
        body.contains("id=\"e-file\""),
        "the refusal beside the field: {body}"
    );
    let done = upload_logo(&hub, &mut p.bank, "logo.png", PNG).await?;
    ensure!(done.status() == 303, "{}", done.status());
    let mine = ok(
        api(&hub, &p.bank, Method::GET, "/api/me/institution", None).await?,
        200,
    )
    .await?;
    let logo = mine["logo_file_id"]
        .as_str()
        .context("the logo")?
        .to_owned();
    let org = mine["org_id"].as_str().context("org")?.to_owned();
    let page = hub
        .get(&format!("/institutions/{org}"))
        .await?
        .text()
        .await?;
    ensure!(
        page.contains(&format!("src=\"/files/{logo}\"")) && page.contains("银行"),
        "{page}"
    );
    let image = hub.get(&format!("/files/{logo}")).await?;
    ensure!(
        image
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            == Some("image/png"),
        "{:?}",
        image.headers()
    );
    // Only the main account changes the profile: the guarantor cannot touch the bank's, and
    // the enterprise has no 机构中心.
    let centre = p.ent.get(&hub.url("/user/institution")).await?;
    ensure!(
        centre.status == 403,
        "an enterprise's 机构中心: {}",
        centre.status
    );
    Ok(())
}

async fn assign(
    hub: &TestHub,
    b: &tests::Browser,
    path: &str,
    account: &str,
) -> Result<reqwest::Response> {
    api(
        hub,
        b,
        Method::POST,
        path,
        Some(serde_json::json!({ "account": account })),
    )
    .await
}

async fn the_main_account_assigns_work_to_its_sub_account(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let mut p = people(&hub).await?;
    // 王五 signs in once; the bank's main account adds him as a sub-account.
    let mut wang = crate::portal::html_browser();
    crate::portal::sign_in(&mut wang, &hub, "personal-3").await?;
    let added = ok(
        api(
            &hub,
            &p.bank,
            Method::POST,
            "/api/me/organisation/members",
            Some(serde_json::json!({ "name": "王五", "id_number": "350821197805210011" })),
        )
        .await?,
        201,
    )
    .await?;
    let wang_id = added["account_id"].as_str().context("account")?.to_owned();
    let product = listed_product(&hub, &p, &p.bank, "普惠信用贷").await?;
    let demand = open_demand(&hub, &p).await?;
    let taken = ok(
        api(
            &hub,
            &p.bank,
            Method::POST,
            &format!("/api/market/demands/{demand}/take"),
            None,
        )
        .await?,
        200,
    )
    .await?;
    ensure!(
        taken["handler_name"] == "张三",
        "the member who takes it handles it: {taken}"
    );
    let a = ok(
        api(
            &hub,
            &p.ent,
            Method::POST,
            &format!("/api/products/{product}/applications"),
            Some(application_form()),
        )
        .await?,
        201,
    )
    .await?;
    let application = a["id"].as_str().context("id")?.to_owned();
    let demand_path = format!("/api/market/demands/{demand}/assign");
    let app_path = format!("/api/me/applications/{application}/assign");

    // Only the main account assigns, only to its own active members, only what it holds.
    let guarantor_member = {
        let db = hub.store.connect().await?;
        let ids = db
            .strings(&format!(
                "SELECT m.account_id FROM org_members m JOIN organisations o ON o.id = m.org_id WHERE o.name = '{}'",
                crate::market::GUARANTOR
            ))
            .await?;
        db.close().await;
        ids.into_iter().next().context("the guarantor's member")?
    };
    let refused = tests::assert_problem(
        assign(&hub, &p.bank, &app_path, &guarantor_member).await?,
        422,
        "validation.failed",
    )
    .await?;
    ensure!(refused.to_string().contains("\"account\""), "{refused}");
    tests::assert_problem(
        assign(&hub, &p.guarantor, &demand_path, &guarantor_member).await?,
        404,
        "market.not_found",
    )
    .await?;
    tests::assert_problem(
        assign(&hub, &wang, &app_path, &wang_id).await?,
        403,
        "market.forbidden",
    )
    .await?;
    let d = ok(assign(&hub, &p.bank, &demand_path, &wang_id).await?, 200).await?;
    ensure!(d["handler_name"] == "王五", "{d}");
    let x = ok(assign(&hub, &p.bank, &app_path, &wang_id).await?, 200).await?;
    ensure!(
        x["handler_name"] == "王五" && x["handler_account_id"] == wang_id.as_str(),
        "{x}"
    );

    // 王五 finds his work under 分配给我的; the main account's own list is empty.
    let his = ok(
        api(
            &hub,
            &wang,
            Method::GET,
            "/api/me/applications?mine=true",
            None,
        )
        .await?,
        200,
    )
    .await?;
    ensure!(his["total"] == 1, "{his}");
    let main_own = ok(
        api(
            &hub,
            &p.bank,
            Method::GET,
            "/api/me/applications?mine=true",
            None,
        )
        .await?,
        200,
    )
    .await?;
    ensure!(main_own["total"] == 0, "{main_own}");
    let page = wang.get(&hub.url("/user/market/mine?mine=1")).await?;
    ensure!(
        page.status == 200 && page.body.contains("王五"),
        "{}",
        page.body
    );
    let page = p
        .bank
        .get(&hub.url(&format!("/user/applications/{application}")))
        .await?;
    ensure!(
        page.body.contains("id=\"handler\">王五") && page.body.contains("/assign"),
        "{}",
        page.body
    );
    // The sub-account answers the application it was given.
    ok(
        api(
            &hub,
            &wang,
            Method::POST,
            &format!("/api/me/applications/{application}/accept"),
            Some(serde_json::json!({})),
        )
        .await?,
        200,
    )
    .await?;
    // A demand given back to the market has no handler any more.
    let back = ok(
        api(
            &hub,
            &p.bank,
            Method::POST,
            &format!("/api/market/demands/{demand}/return"),
            Some(serde_json::json!({ "reason": "额度不足" })),
        )
        .await?,
        200,
    )
    .await?;
    ensure!(back["handler_name"].is_null(), "{back}");
    tests::assert_problem(
        assign(&hub, &p.bank, &demand_path, &wang_id).await?,
        404,
        "market.not_found",
    )
    .await?;
    Ok(())
}

async fn a_rating_comment_with_listed_words_waits_for_the_operators(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[("HUB_CONTENT__SENSITIVE_ACTION", "review")]).await?;
    let mut p = people(&hub).await?;
    let demand = open_demand(&hub, &p).await?;
    for (b, path, body) in [
        (&p.bank, format!("/api/market/demands/{demand}/take"), None),
        (&p.ent, format!("/api/me/demands/{demand}/confirm"), None),
        (
            &p.bank,
            format!("/api/market/demands/{demand}/disburse"),
            Some(serde_json::json!({ "amount": "100", "date": today(&hub)? })),
        ),
    ] {
        ok(api(&hub, b, Method::POST, &path, body).await?, 200).await?;
    }
    let mut rv = crate::portal::console(&hub, "reviewer1", Role::ContentReviewer).await?;
    crate::content::add_words(&hub, &mut rv, "套路贷", "违法金融").await?;
    // An application goes straight to the institution, with no reviewer between: held words
    // are refused there even under `review`.
    let product = listed_product(&hub, &p, &p.bank, "普惠信用贷").await?;
    let mut form = application_form();
    form["purpose"] = serde_json::json!("借款用于偿还套路贷");
    let refused = tests::assert_problem(
        api(
            &hub,
            &p.ent,
            Method::POST,
            &format!("/api/products/{product}/applications"),
            Some(form),
        )
        .await?,
        422,
        "content.sensitive_words",
    )
    .await?;
    ensure!(refused.to_string().contains("\"purpose\""), "{refused}");
    let given = ok(
        api(
            &hub,
            &p.ent,
            Method::POST,
            &format!("/api/me/demands/{demand}/rate"),
            Some(serde_json::json!({ "score": 2, "comment": "这家机构像套路贷" })),
        )
        .await?,
        201,
    )
    .await?;
    ensure!(
        given["comment_held"] == true && given["comment"] == "",
        "held, not shown: {given}"
    );
    let rating = given["id"].as_str().context("id")?.to_owned();
    // Neither side reads it; the score counts.
    let page = p
        .bank
        .get(&hub.url(&format!("/user/market/{demand}")))
        .await?;
    ensure!(
        page.body.contains("评价内容待平台审核") && !page.body.contains("套路贷"),
        "{}",
        page.body
    );
    // The operators see it with the words that held it, and publish it.
    let token = hub.token(Role::SystemAdmin).await?;
    let held = hub.get_json(&token, "/api/admin/market/ratings").await?;
    ensure!(
        held["total"] == 1 && held["items"][0]["held_words"][0] == "套路贷",
        "{held}"
    );
    let console_page = crate::console::get(&mut p.op, &hub, "/console/market", 200).await?;
    ensure!(
        console_page.body.contains("这家机构像套路贷"),
        "the console lists it"
    );
    let review = |decision: &str| {
        hub.http
            .post(hub.url(&format!("/api/admin/market/ratings/{rating}/review")))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "decision": decision }))
            .send()
    };
    tests::assert_problem(review("maybe").await?, 422, "validation.failed").await?;
    let res = review("publish").await?;
    ensure!(res.status() == 204, "{}", res.status());
    tests::assert_problem(review("publish").await?, 404, "market.not_found").await?;
    let page = p
        .bank
        .get(&hub.url(&format!("/user/market/{demand}")))
        .await?;
    ensure!(
        page.body.contains("这家机构像套路贷"),
        "published: {}",
        page.body
    );
    Ok(())
}
