//! Partner message exchange: signed intake, translation, the message log, idempotency (also
//! under concurrency), exact error codes with line, column and path, delivery with retries,
//! dead letters and replay, and exactly-once delivery across a killed hub.

use std::time::Duration;

use platform::admin::Role;
use tests::anyhow::{Context, Result, ensure};
use tests::{Consumer, Env, Test, TestHub, json, test};

pub fn tests() -> Vec<Test> {
    vec![
        test!(xml_messages_are_translated_recorded_delivered_and_acknowledged),
        test!(duplicates_even_concurrent_are_applied_once),
        test!(bad_messages_get_exact_codes_and_stay_in_the_log),
        test!(failed_deliveries_retry_then_dead_letter_and_replay),
        test!(a_hub_killed_mid_delivery_delivers_exactly_once_after_restart),
        test!(postgres: a_frozen_node_cannot_undo_a_takeover),
        test!(json_and_sm2_and_token_partners),
        test!(sm4_sealed_documents_are_opened_with_the_partners_key),
        test!(system_administrators_manage_partners),
        test!(failed_authentication_is_rate_limited),
        test!(mutual_tls_pins_partners_to_their_certificates),
        test!(raw_payloads_are_shown_masked_audited_and_forgotten),
        test!(sqlite: a_mapping_directory_and_ids_from_the_header),
    ]
}

const SECRET: &str = "bank-shared-secret-0123456789";
const AK: &str = "AK-BANK-001";
const TYPE: &str = "financing.demand_notice";

pub(crate) fn fixture(name: &str) -> Result<Vec<u8>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../mappings/tests/fixtures")
        .join(name);
    std::fs::read(&path).with_context(|| path.display().to_string())
}

fn expected_json() -> Result<serde_json::Value> {
    Ok(serde_json::from_slice(&fixture(
        "financing-demand-notice/expected.json",
    )?)?)
}

/// The settings of a hub with the partner `bank` (HMAC-SHA256) delivering to `consumer`.
fn partner_settings(consumer: &str) -> Vec<(String, String)> {
    [
        ("HUB_PARTNERS__BANK__AUTH", "hmac-sha256"),
        ("HUB_PARTNERS__BANK__ACCESS_KEY", AK),
        ("HUB_PARTNERS__BANK__SECRET", SECRET),
        (
            "HUB_PARTNERS__BANK__MESSAGE_TYPES",
            "[\"financing.demand_notice\"]",
        ),
        ("HUB_PARTNERS__BANK__DELIVER_TO", consumer),
        ("HUB_EXCHANGE__POLL_INTERVAL", "100ms"),
        ("HUB_EXCHANGE__RETRY_BASE", "100ms"),
        ("HUB_EXCHANGE__RETRY_MAX", "400ms"),
        ("HUB_EXCHANGE__MAX_ATTEMPTS", "3"),
        ("HUB_EXCHANGE__LEASE", "2s"),
        ("HUB_OUTBOUND__TIMEOUT", "5s"),
        ("HUB_OUTBOUND__MAX_ATTEMPTS", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

async fn hub_with_partner(env: &Env, consumer: &Consumer) -> Result<TestHub> {
    let vars = partner_settings(&consumer.url());
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let hub = env.hub_with(&refs).await?;
    // Retries and leases are judged by the hub's clock; let it follow real time.
    hub.follow_real_time();
    Ok(hub)
}

/// Sends `body` as the partner `bank`, signed at the hub's current time.
/// Unix seconds now, `offset` seconds away, as `X-Date` carries them.
fn date(offset: i64) -> Result<String> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    Ok((i64::try_from(now.as_secs())? + offset).to_string())
}

/// A POST of `body` to `/exchange/{partner}/{message_type}`, signed (gateway HMAC-SHA256) with
/// `secret` under `access_key` at `date`; the caller sets the content type.
#[allow(clippy::too_many_arguments)]
fn signed(
    http: &reqwest::Client,
    base: &str,
    partner: &str,
    access_key: &str,
    secret: &str,
    date: &str,
    message_type: &str,
    body: &[u8],
) -> reqwest::RequestBuilder {
    let path = format!("/exchange/{partner}/{message_type}");
    let sig = exchange::auth::sign_hmac_sha256(secret, "POST", &path, None, access_key, date, body);
    http.post(format!("{base}{path}"))
        .header("x-access-key", access_key)
        .header("x-date", date)
        .header("x-signature", sig)
        .body(body.to_vec())
}

/// Sends `body` as the partner `bank`, signed at the current time.
async fn send(
    http: &reqwest::Client,
    base: &str,
    message_type: &str,
    content_type: &str,
    body: &[u8],
    extra: &[(&str, &str)],
) -> Result<reqwest::Response> {
    let mut req = signed(
        http,
        base,
        "bank",
        AK,
        SECRET,
        &date(0)?,
        message_type,
        body,
    )
    .header("content-type", content_type);
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    Ok(req.send().await?)
}

async fn xml_messages_are_translated_recorded_delivered_and_acknowledged(env: Env) -> Result<()> {
    let consumer = Consumer::start().await?;
    let hub = hub_with_partner(&env, &consumer).await?;
    let body = fixture("financing-demand-notice/input.xml")?;
    let res = send(
        &hub.http,
        &hub.base,
        TYPE,
        "application/xml",
        &body,
        &[("x-correlation-id", "corr-42")],
    )
    .await?;
    ensure!(res.status() == 200, "{}", res.text().await?);
    ensure!(
        res.headers()["content-type"]
            .to_str()?
            .starts_with("application/xml")
    );
    ensure!(res.headers().get("x-duplicate").is_none());
    let receipt = res.headers()["x-receipt-id"].to_str()?.to_owned();
    let ack = res.text().await?;
    ensure!(
        ack.contains("<MessageId>FDN20261122000001</MessageId>")
            && ack.contains(&format!("<ReceiptId>{receipt}</ReceiptId>"))
            && ack.contains("<Status>accepted</Status>"),
        "{ack}"
    );
    // The consumer gets the translation once, keyed by the receipt.
    consumer
        .wait_until("the delivery", |c| c.applied().contains_key(&receipt))
        .await?;
    ensure!(consumer.applied()[&receipt] == expected_json()?);
    let sys = hub.token(Role::SystemAdmin).await?;
    let view = wait_for_status(&hub, &sys, &receipt, "delivered").await?;
    ensure!(
        view["partner"] == "bank"
            && view["message_id"] == "FDN20261122000001"
            && view["message_type"] == TYPE
            && view["mapping"] == "financing-demand-notice@1"
            && view["format"] == "xml"
            && view["correlation_id"] == "corr-42"
            && view["payload_retained"] == true,
        "{view}"
    );
    ensure!(
        view["deliveries"][0]["status"] == "delivered" && view["deliveries"][0]["attempts"] == 1,
        "{view}"
    );
    // Personal fields are masked where administrators see them; amounts are exact.
    let translated = &view["translated"];
    ensure!(
        translated["demands"][0]["amount"] == "5000000.00",
        "{translated}"
    );
    let phone = translated["demands"][0]["contacts"][0]["phone"]
        .as_str()
        .unwrap_or_default();
    ensure!(phone.contains("****"), "{translated}");
    // The log is searchable.
    let page = hub
        .get_json(
            &sys,
            "/api/admin/messages?partner=bank&status=delivered&message_id=FDN20261122000001",
        )
        .await?;
    ensure!(page["items"].as_array().map(Vec::len) == Some(1), "{page}");
    ensure!(
        page["items"][0].get("translated").is_none(),
        "the list carries no content"
    );
    // Audit administrators cannot read messages; the payload never appears in the clear.
    let auditor = hub.token(Role::AuditAdmin).await?;
    tests::assert_problem(
        hub.get_as(&auditor, "/api/admin/messages").await?,
        403,
        "auth.forbidden",
    )
    .await?;
    let db = hub.store.connect().await?;
    ensure!(
        db.scalar_i64("SELECT COUNT(*) FROM exchange_messages")
            .await?
            == 1
    );
    db.close().await;
    let metrics = hub.get("/metrics").await?.text().await?;
    ensure!(
        metrics.contains(r#"hub_exchange_messages_total{partner="bank",outcome="accepted"} 1"#),
        "{metrics}"
    );
    ensure!(
        metrics.contains(r#"hub_exchange_deliveries_total{partner="bank",outcome="delivered"} 1"#)
    );
    hub.stop().await
}

/// The string values of `field` in the `items` of the page at `path`.
async fn item_values(hub: &TestHub, token: &str, path: &str, field: &str) -> Result<Vec<String>> {
    let page = hub.get_json(token, path).await?;
    Ok(page["items"]
        .as_array()
        .context("items")?
        .iter()
        .filter_map(|e| e[field].as_str().map(str::to_owned))
        .collect())
}

pub(crate) async fn wait_for_status(
    hub: &TestHub,
    token: &str,
    receipt: &str,
    status: &str,
) -> Result<serde_json::Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let view = hub
            .get_json(token, &format!("/api/admin/messages/{receipt}"))
            .await?;
        if view["status"] == status {
            return Ok(view);
        }
        ensure!(
            std::time::Instant::now() < deadline,
            "never {status}: {view}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn duplicates_even_concurrent_are_applied_once(env: Env) -> Result<()> {
    let consumer = Consumer::start().await?;
    let hub = hub_with_partner(&env, &consumer).await?;
    let body = fixture("financing-demand-notice/input.xml")?;
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let (http, base, body) = (hub.http.clone(), hub.base.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let res = send(&http, &base, TYPE, "application/xml", &body, &[]).await?;
            let dup = res.headers().get("x-duplicate").is_some();
            let status = res.status().as_u16();
            let text = res.text().await?;
            Ok::<_, tests::anyhow::Error>((status, dup, text))
        }));
    }
    let mut acks = Vec::new();
    for t in tasks {
        acks.push(t.await??);
    }
    ensure!(acks.iter().all(|(s, _, _)| *s == 200), "{acks:?}");
    ensure!(
        acks.iter().filter(|(_, d, _)| !*d).count() == 1,
        "one first receipt: {acks:?}"
    );
    ensure!(
        acks.iter().all(|(_, _, a)| *a == acks[0].2),
        "every answer is the first acknowledgement"
    );
    let db = hub.store.connect().await?;
    ensure!(
        db.scalar_i64("SELECT COUNT(*) FROM exchange_messages")
            .await?
            == 1
    );
    ensure!(
        db.scalar_i64("SELECT COUNT(*) FROM exchange_outbox")
            .await?
            == 1
    );
    consumer
        .wait_until("the delivery", |c| c.applied().len() == 1)
        .await?;
    // Later, in JSON: still the first (XML) acknowledgement, and nothing new.
    let again = send(&hub.http, &hub.base, TYPE, "application/xml", &body, &[]).await?;
    ensure!(again.headers()["x-duplicate"] == "true");
    ensure!(again.text().await? == acks[0].2);
    tokio::time::sleep(Duration::from_millis(300)).await;
    ensure!(
        consumer.requests.lock().map(|r| r.len()).unwrap_or(0) == 1,
        "delivered once"
    );
    db.close().await;
    hub.stop().await
}

async fn bad_messages_get_exact_codes_and_stay_in_the_log(env: Env) -> Result<()> {
    let consumer = Consumer::start().await?;
    let hub = hub_with_partner(&env, &consumer).await?;
    let good = fixture("financing-demand-notice/input.xml")?;
    let url = hub.url(&format!("/exchange/bank/{TYPE}"));

    // Credentials.
    let res = hub
        .http
        .post(&url)
        .header("content-type", "application/xml")
        .body(good.clone())
        .send()
        .await?;
    tests::assert_problem(res, 401, "exchange.unauthenticated").await?;
    // Another secret, and the right secret ten minutes ago.
    for (secret, at) in [
        ("not-the-secret-at-all-000", date(0)?),
        (SECRET, date(-600)?),
    ] {
        let res = signed(&hub.http, &hub.base, "bank", AK, secret, &at, TYPE, &good)
            .header("content-type", "application/xml")
            .send()
            .await?;
        tests::assert_problem(res, 401, "exchange.unauthenticated").await?;
    }
    let res = hub
        .http
        .post(hub.url(&format!("/exchange/nobody/{TYPE}")))
        .body(good.clone())
        .send()
        .await?;
    tests::assert_problem(res, 401, "exchange.unauthenticated").await?;

    let auditor = hub.token(Role::AuditAdmin).await?;
    let reasons = item_values(
        &hub,
        &auditor,
        "/api/admin/audit?event=exchange.auth_failed&limit=500",
        "reason",
    )
    .await?;
    for r in [
        "missing_credentials",
        "signature_invalid",
        "date_out_of_window",
        "unknown_partner",
    ] {
        ensure!(
            reasons.iter().any(|x| x == r),
            "{r} not audited: {reasons:?}"
        );
    }

    // Types and content.
    tests::assert_problem(
        send(
            &hub.http,
            &hub.base,
            "receivables.registration_result",
            "application/xml",
            &good,
            &[],
        )
        .await?,
        403,
        "exchange.message_type_not_allowed",
    )
    .await?;
    tests::assert_problem(
        send(
            &hub.http,
            &hub.base,
            "no.such_type",
            "application/xml",
            &good,
            &[],
        )
        .await?,
        404,
        "exchange.message_type_unknown",
    )
    .await?;
    tests::assert_problem(
        send(&hub.http, &hub.base, TYPE, "text/plain", &good, &[]).await?,
        415,
        "request.unsupported_media_type",
    )
    .await?;
    let dtd = b"<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY a \"aaaa\">]>\n<FinancingDemandNotice>&a;</FinancingDemandNotice>";
    tests::assert_problem(
        send(&hub.http, &hub.base, TYPE, "application/xml", dtd, &[]).await?,
        400,
        "mapping.dtd_forbidden",
    )
    .await?;
    let broken = b"<?xml version=\"1.0\"?>\n<FinancingDemandNotice version=\"1.0\">\n  <Header>\n";
    let p = tests::assert_problem(
        send(&hub.http, &hub.base, TYPE, "application/xml", broken, &[]).await?,
        400,
        "mapping.xml_malformed",
    )
    .await?;
    ensure!(p["line"].is_u64(), "{p}");
    let bad_value = String::from_utf8(good.clone())?.replacen(
        "<TermMonths>36</TermMonths>",
        "<TermMonths>three years</TermMonths>",
        1,
    );
    ensure!(bad_value.contains("three years"), "the fixture changed");
    let p = tests::assert_problem(
        send(
            &hub.http,
            &hub.base,
            TYPE,
            "application/xml",
            bad_value.as_bytes(),
            &[],
        )
        .await?,
        422,
        "mapping.type_invalid",
    )
    .await?;
    ensure!(
        p["path"]
            .as_str()
            .is_some_and(|s| s.ends_with("/Demand[1]/TermMonths"))
            && p["line"].is_u64()
            && p["column"].is_u64(),
        "{p}"
    );
    let p = tests::assert_problem(
        send(
            &hub.http,
            &hub.base,
            TYPE,
            "application/json",
            b"{\"message_id\": ",
            &[],
        )
        .await?,
        400,
        "exchange.json_malformed",
    )
    .await?;
    ensure!(p["line"] == 1, "{p}");
    // Without its id the message breaks its own schema (the id is required there), which is
    // named precisely.
    let mut no_id = expected_json()?;
    no_id
        .as_object_mut()
        .context("object")?
        .remove("message_id");
    let p = tests::assert_problem(
        send(
            &hub.http,
            &hub.base,
            TYPE,
            "application/json",
            no_id.to_string().as_bytes(),
            &[],
        )
        .await?,
        422,
        "mapping.required_missing",
    )
    .await?;
    ensure!(p["path"] == "$.message_id", "{p}");
    tests::assert_problem(
        send(
            &hub.http,
            &hub.base,
            TYPE,
            "application/xml",
            &good,
            &[("x-message-id", "OTHER-ID")],
        )
        .await?,
        422,
        "exchange.message_id_mismatch",
    )
    .await?;

    // Rejections are in the log with their code, and do not hold the message id: the corrected
    // message is accepted.
    let sys = hub.token(Role::SystemAdmin).await?;
    let codes = item_values(
        &hub,
        &sys,
        "/api/admin/messages?status=rejected",
        "error_code",
    )
    .await?;
    for c in [
        "mapping.dtd_forbidden",
        "mapping.type_invalid",
        "exchange.json_malformed",
        "mapping.required_missing",
    ] {
        ensure!(
            codes.iter().any(|x| x == c),
            "{c} not in the log: {codes:?}"
        );
    }
    let res = send(&hub.http, &hub.base, TYPE, "application/xml", &good, &[]).await?;
    ensure!(res.status() == 200 && res.headers().get("x-duplicate").is_none());
    // The same id for other content is not a resend: refused, and the first stays.
    let other = String::from_utf8(good.clone())?.replacen(
        "<TermMonths>36</TermMonths>",
        "<TermMonths>24</TermMonths>",
        1,
    );
    tests::assert_problem(
        send(
            &hub.http,
            &hub.base,
            TYPE,
            "application/xml",
            other.as_bytes(),
            &[],
        )
        .await?,
        409,
        "exchange.message_id_reused",
    )
    .await?;
    hub.stop().await
}

async fn failed_deliveries_retry_then_dead_letter_and_replay(env: Env) -> Result<()> {
    let consumer = Consumer::start().await?;
    consumer
        .status
        .store(503, std::sync::atomic::Ordering::SeqCst);
    let hub = hub_with_partner(&env, &consumer).await?;
    let res = send(
        &hub.http,
        &hub.base,
        TYPE,
        "application/xml",
        &fixture("financing-demand-notice/input.xml")?,
        &[],
    )
    .await?;
    ensure!(res.status() == 200);
    let receipt = res.headers()["x-receipt-id"].to_str()?.to_owned();
    let sys = hub.token(Role::SystemAdmin).await?;
    // Three attempts (exchange.max_attempts), then a dead letter.
    let view = wait_for_status(&hub, &sys, &receipt, "failed").await?;
    ensure!(
        consumer.request_count(&receipt) == 3,
        "{} attempts",
        consumer.request_count(&receipt)
    );
    ensure!(
        view["deliveries"][0]["status"] == "dead"
            && view["deliveries"][0]["attempts"] == 3
            && view["error_code"] == "exchange.delivery_failed"
            && view["deliveries"][0]["last_error"]
                .as_str()
                .is_some_and(|e| e.contains("503")),
        "{view}"
    );
    // Nothing to replay for an unknown message; then the consumer recovers and it is replayed.
    let res = hub
        .http
        .post(hub.url("/api/admin/messages/nope/replay"))
        .bearer_auth(&sys)
        .send()
        .await?;
    tests::assert_problem(res, 404, "exchange.message_not_found").await?;
    consumer
        .status
        .store(200, std::sync::atomic::Ordering::SeqCst);
    let res = hub
        .http
        .post(hub.url(&format!("/api/admin/messages/{receipt}/replay")))
        .bearer_auth(&sys)
        .send()
        .await?;
    ensure!(res.status() == 200, "{}", res.text().await?);
    wait_for_status(&hub, &sys, &receipt, "delivered").await?;
    ensure!(consumer.applied().len() == 1);
    let auditor = hub.token(Role::AuditAdmin).await?;
    let replays = hub
        .get_json(&auditor, "/api/admin/audit?event=exchange.replayed")
        .await?;
    ensure!(
        replays["items"][0]["target"] == format!("message:{receipt}"),
        "{replays}"
    );
    // Delivered and nothing pending: a second replay sends it again with the same key, and the
    // consumer does not apply it twice.
    let res = hub
        .http
        .post(hub.url(&format!("/api/admin/messages/{receipt}/replay")))
        .bearer_auth(&sys)
        .send()
        .await?;
    ensure!(res.status() == 200);
    wait_for_status(&hub, &sys, &receipt, "delivered").await?;
    consumer
        .wait_until("the repeated delivery", |c| c.request_count(&receipt) == 5)
        .await?;
    ensure!(consumer.applied().len() == 1);
    hub.stop().await
}

/// The hub is killed (SIGKILL) while the consumer is applying a message and before the hub
/// learns the outcome; after a restart the lease runs out, the delivery is made again with the
/// same key, and the consumer has applied the message exactly once.
async fn a_hub_killed_mid_delivery_delivers_exactly_once_after_restart(env: Env) -> Result<()> {
    let consumer = Consumer::start().await?;
    consumer
        .stall_first_ms
        .store(60_000, std::sync::atomic::Ordering::SeqCst);
    let store = env.store().await?;
    let start = || node(&store, &consumer);
    let (mut first, base, _) = start()?;
    let receipt = send_sample(&base).await?;
    consumer
        .wait_until("the first delivery", |c| c.request_count(&receipt) == 1)
        .await?;
    ensure!(
        consumer.applied().contains_key(&receipt),
        "applied, answer pending"
    );
    first.kill()?;
    first.wait()?;

    let (mut second, _, _) = start()?;
    consumer
        .wait_until("the delivery after the restart", |c| {
            c.request_count(&receipt) >= 2
        })
        .await?;
    let db = store.connect().await?;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let delivered = db
            .scalar_i64(&format!("SELECT COUNT(*) FROM exchange_messages WHERE id = '{receipt}' AND status = 'delivered'"))
            .await?;
        if delivered == 1 {
            break;
        }
        ensure!(
            std::time::Instant::now() < deadline,
            "not recorded as delivered after the restart"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    ensure!(consumer.applied().len() == 1, "applied once");
    ensure!(consumer.applied()[&receipt] == expected_json()?);
    db.close().await;
    second.kill()?;
    second.wait()?;
    Ok(())
}

/// Sends the sample notice as `bank` to the hub at `base`; its receipt id.
async fn send_sample(base: &str) -> Result<String> {
    let res = send(
        &tests::client(),
        base,
        TYPE,
        "application/xml",
        &fixture("financing-demand-notice/input.xml")?,
        &[],
    )
    .await?;
    ensure!(res.status() == 200);
    Ok(res.headers()["x-receipt-id"].to_str()?.to_owned())
}

/// A hub process (`hub serve`) on `store` with the partner `bank` delivering to `consumer`:
/// the process, its URL and its log lines as they come.
fn node(
    store: &tests::Store,
    consumer: &Consumer,
) -> Result<(
    std::process::Child,
    String,
    std::sync::mpsc::Receiver<String>,
)> {
    let mut cmd = tests::hub_command(Some(store));
    cmd.args(["serve", "--listen", "127.0.0.1:0"]);
    for (k, v) in partner_settings(&consumer.url()) {
        cmd.env(k, v);
    }
    cmd.env("HUB_LOG__LEVEL", "info");
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn()?;
    let stdout = child.stdout.take().context("stdout")?;
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    let addr = loop {
        let line = lines.next().context("the hub exited before listening")??;
        if line.contains("\"listening\"") {
            let v: serde_json::Value = serde_json::from_str(&line)?;
            break v["addr"].as_str().context("addr")?.to_owned();
        }
    };
    // Keep draining its output so that it never blocks on a full pipe.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    Ok((child, format!("http://{addr}"), rx))
}

/// `outbox status/attempts/message status` of a delivery.
async fn delivery_state(db: &tests::Db, receipt: &str) -> Result<String> {
    let rows = db
        .strings(&format!("SELECT o.status || '/' || CAST(o.attempts AS TEXT) || '/' || m.status FROM exchange_outbox o JOIN exchange_messages m ON m.id = o.message WHERE o.id = '{receipt}'"))
        .await?;
    Ok(rows.join(","))
}

/// Two nodes on one PostgreSQL database. Node A starts a delivery and freezes (SIGSTOP) before
/// the answer; its lease runs out and node B takes the delivery over. A thaws while B's attempt
/// is still waiting for its answer: A's late result ("no answer") must change nothing — the
/// settle is fenced by the claim's attempt count. Without the fence it would put the delivery
/// back to pending with its lease cleared, and a node would send the message a third time while
/// B's attempt was still running.
async fn a_frozen_node_cannot_undo_a_takeover(env: Env) -> Result<()> {
    let consumer = Consumer::start().await?;
    consumer
        .stall_first_ms
        .store(4_000, std::sync::atomic::Ordering::SeqCst);
    // B's attempt is held for most of its bound (half the 2 s lease).
    consumer
        .stall_repeat_ms
        .store(800, std::sync::atomic::Ordering::SeqCst);
    let store = env.store().await?;
    let (mut a, base, a_log) = node(&store, &consumer)?;
    let receipt = send_sample(&base).await?;
    consumer
        .wait_until("node A's attempt", |c| c.request_count(&receipt) == 1)
        .await?;
    let signal = |sig: &str, child: &std::process::Child| -> Result<()> {
        let ok = std::process::Command::new("kill")
            .args([sig, &child.id().to_string()])
            .status()?
            .success();
        ensure!(ok, "kill {sig} failed");
        Ok(())
    };
    signal("-STOP", &a)?;
    let (mut b, _, _) = node(&store, &consumer)?;
    consumer
        .wait_until("node B's attempt", |c| c.request_count(&receipt) == 2)
        .await?;
    let db = store.connect().await?;
    ensure!(
        delivery_state(&db, &receipt).await? == "pending/2/accepted",
        "{}",
        delivery_state(&db, &receipt).await?
    );
    // Thaw A while B waits for its answer: A's attempt ends (timed out) and it tries to
    // record that.
    signal("-CONT", &a)?;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let line = a_log.recv_timeout(Duration::from_millis(200));
        if line
            .as_deref()
            .is_ok_and(|l| l.contains("a late delivery result was ignored"))
        {
            break;
        }
        ensure!(
            std::time::Instant::now() < deadline,
            "node A never reported its late result"
        );
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while delivery_state(&db, &receipt).await? != "delivered/2/delivered" {
        ensure!(
            std::time::Instant::now() < deadline,
            "node B's delivery was never recorded: {}",
            delivery_state(&db, &receipt).await?
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Past a few delivery rounds: nothing was sent a third time.
    tokio::time::sleep(Duration::from_millis(600)).await;
    ensure!(
        delivery_state(&db, &receipt).await? == "delivered/2/delivered",
        "{}",
        delivery_state(&db, &receipt).await?
    );
    ensure!(consumer.request_count(&receipt) == 2, "sent again");
    ensure!(consumer.applied().len() == 1, "applied once");
    db.close().await;
    for child in [&mut a, &mut b] {
        child.kill()?;
        child.wait()?;
    }
    Ok(())
}

async fn json_and_sm2_and_token_partners(env: Env) -> Result<()> {
    let consumer = Consumer::start().await?;
    let signer = guomi::Sm2Signer::generate()?;
    let public = signer.public_key_pem()?;
    let token = "a-long-partner-token-for-the-gov-gateway";
    let hub = env
        .hub_with(&[
            ("HUB_PARTNERS__GATEWAY__AUTH", "token"),
            ("HUB_PARTNERS__GATEWAY__TOKEN", token),
            (
                "HUB_PARTNERS__GATEWAY__MESSAGE_TYPES",
                "[\"financing.demand_notice\"]",
            ),
            ("HUB_PARTNERS__REGISTRY__AUTH", "sm2"),
            ("HUB_PARTNERS__REGISTRY__ACCESS_KEY", "AK-SM2"),
            ("HUB_PARTNERS__REGISTRY__PUBLIC_KEY", public.as_str()),
            (
                "HUB_PARTNERS__REGISTRY__MESSAGE_TYPES",
                "[\"financing.demand_notice\"]",
            ),
            (
                "HUB_PARTNERS__REGISTRY__DELIVER_TO",
                consumer.url().as_str(),
            ),
        ])
        .await?;
    // A JSON message with a bearer token: a JSON acknowledgement.
    let body = expected_json()?.to_string();
    let res = hub
        .http
        .post(hub.url(&format!("/exchange/gateway/{TYPE}")))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await?;
    ensure!(res.status() == 200, "{}", res.text().await?);
    let ack = res.json::<serde_json::Value>().await?;
    ensure!(
        ack["message_id"] == "FDN20261122000001" && ack["status"] == "accepted",
        "{ack}"
    );
    let res = hub
        .http
        .post(hub.url(&format!("/exchange/gateway/{TYPE}")))
        .bearer_auth("a-long-partner-token-that-is-not-right")
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await?;
    tests::assert_problem(res, 401, "exchange.unauthenticated").await?;
    // SM2: the same gateway string, with the body's SM3 digest, signed with the partner's key.
    let path = format!("/exchange/registry/{TYPE}");
    let date = "2026-01-01T00:00:00Z".to_owned();
    let now = platform::clock::Clock::now(&*hub.clock).to_rfc3339();
    for (date, expect) in [(now.as_str(), 200u16), (date.as_str(), 401)] {
        let digest = hex::encode(guomi::sm3(body.as_bytes()));
        let s = exchange::auth::string_to_sign("POST", &path, None, "AK-SM2", date, &digest);
        let sig = hex::encode(signer.sign_der(s.as_bytes())?);
        let res = hub
            .http
            .post(hub.url(&path))
            .header("content-type", "application/json")
            .header("x-access-key", "AK-SM2")
            .header("x-date", date)
            .header("x-signature", sig)
            .body(body.clone())
            .send()
            .await?;
        ensure!(
            res.status() == expect,
            "{date}: {} {}",
            res.status(),
            res.text().await?
        );
    }
    // The same message id from two partners is two messages.
    let db = hub.store.connect().await?;
    ensure!(db.scalar_i64("SELECT COUNT(*) FROM exchange_messages WHERE status = 'accepted' OR status = 'delivered'").await? == 2);
    db.close().await;
    hub.follow_real_time();
    consumer
        .wait_until("the SM2 partner's delivery", |c| c.applied().len() == 1)
        .await?;
    hub.stop().await
}

/// The receivables platform seals HEAD and BODY with SM4: the partner's key opens them; with
/// another key the block cannot be read and the message is refused with its code.
async fn sm4_sealed_documents_are_opened_with_the_partners_key(env: Env) -> Result<()> {
    use base64::Engine as _;
    let key = "00112233445566778899aabbccddeeff";
    let token = "a-long-partner-token-for-the-registry";
    let hub = env
        .hub_with(&[
            ("HUB_PARTNERS__RECEIVABLES__AUTH", "token"),
            ("HUB_PARTNERS__RECEIVABLES__TOKEN", token),
            ("HUB_PARTNERS__RECEIVABLES__PAYLOAD_SM4_KEY", key),
            ("HUB_PARTNERS__RECEIVABLES__PAYLOAD_SM4_MODE", "cbc"),
            (
                "HUB_PARTNERS__RECEIVABLES__MESSAGE_TYPES",
                "[\"receivables.registration_result\"]",
            ),
        ])
        .await?;
    let plain = String::from_utf8(fixture("receivables-registration-result/input.xml")?)?;
    let seal = |text: &str, with: &str| -> Result<String> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut out = text.to_owned();
        for tag in ["HEAD", "BODY"] {
            let open = format!("<{tag}>");
            let close = format!("</{tag}>");
            let start = out.find(&open).context("open tag")? + open.len();
            let end = out.find(&close).context("close tag")?;
            let inner: String = out[start..end].split_whitespace().collect();
            let bytes = b64.decode(inner)?;
            let cipher = guomi::Sm4Cipher::new(&hex::decode(with)?)?;
            let sealed = cipher.encrypt(guomi::Sm4Mode::Cbc, &bytes)?;
            out.replace_range(start..end, &b64.encode(sealed));
        }
        Ok(out)
    };
    let url = hub.url("/exchange/receivables/receivables.registration_result");
    let res = hub
        .http
        .post(&url)
        .bearer_auth(token)
        .header("content-type", "application/xml")
        .body(seal(&plain, key)?)
        .send()
        .await?;
    ensure!(res.status() == 200, "{}", res.text().await?);
    let sys = hub.token(Role::SystemAdmin).await?;
    let receipt = res.headers()["x-receipt-id"].to_str()?.to_owned();
    let view = hub
        .get_json(&sys, &format!("/api/admin/messages/{receipt}"))
        .await?;
    let expected: serde_json::Value =
        serde_json::from_slice(&fixture("receivables-registration-result/expected.json")?)?;
    // Leading zeros survive, the GBK body is read, and the whole translation is the sample's.
    ensure!(
        view["translated"]["registration_no"] == "00000000123456789",
        "{view}"
    );
    ensure!(view["translated"] == expected, "{view}");
    // Sealed with another key, or not sealed at all: the blocks cannot be opened.
    for body in [
        seal(&plain, "ffeeddccbbaa99887766554433221100")?,
        plain.clone(),
    ] {
        let res = hub
            .http
            .post(&url)
            .bearer_auth(token)
            .header("content-type", "application/xml")
            .body(body)
            .send()
            .await?;
        tests::assert_problem(res, 400, "mapping.payload_invalid").await?;
    }
    hub.stop().await
}

/// Partners added through the administration API: validated like the file's, secrets generated
/// and shown once, every change audited without secrets; the file's partners are read-only.
async fn system_administrators_manage_partners(env: Env) -> Result<()> {
    let consumer = Consumer::start().await?;
    let hub = hub_with_partner(&env, &consumer).await?;
    let sys = hub.token(Role::SystemAdmin).await?;
    let admin = |method: reqwest::Method, path: &str| {
        hub.http.request(method, hub.url(path)).bearer_auth(&sys)
    };
    let res = admin(reqwest::Method::POST, "/api/admin/partners")
        .json(&serde_json::json!({
            "id": "bank-2",
            "display_name": "第二家银行",
            "auth": "hmac-sha256",
            "access_key": "AK-2",
            "message_types": [TYPE],
            "deliver_to": consumer.url(),
        }))
        .send()
        .await?;
    let created = json(res, 201).await?;
    let secret = created["generated_secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    ensure!(
        secret.len() == 64 && created["source"] == "store",
        "{created}"
    );

    // It can send at once, with the generated secret.
    let body = fixture("financing-demand-notice/input.xml")?;
    let signed = |secret: &str| -> Result<reqwest::RequestBuilder> {
        Ok(signed(
            &hub.http,
            &hub.base,
            "bank-2",
            "AK-2",
            secret,
            &date(0)?,
            TYPE,
            &body,
        )
        .header("content-type", "application/xml"))
    };
    ensure!(signed(&secret)?.send().await?.status() == 200);

    // Listed beside the file's partner; secrets are never shown again.
    let list = json(
        admin(reqwest::Method::GET, "/api/admin/partners")
            .send()
            .await?,
        200,
    )
    .await?;
    let text = list.to_string();
    ensure!(!text.contains(&secret) && !text.contains(SECRET), "{text}");
    ensure!(
        list[0]["id"] == "bank" && list[0]["source"] == "file" && list[1]["id"] == "bank-2",
        "{list}"
    );

    // Messages to it, signed documents and pinned certificates are managed the same way:
    // inconsistent outbound settings are refused by field, secrets never shown.
    let res = admin(reqwest::Method::PATCH, "/api/admin/partners/bank-2")
        .json(&serde_json::json!({ "outbound_auth": "hmac-sha256" }))
        .send()
        .await?;
    let p = tests::assert_problem(res, 422, "validation.failed").await?;
    ensure!(p["errors"][0]["field"] == "outbound_url", "{p}");
    let outbound_secret = "hub-to-bank-2-secret-0123456789";
    let fingerprint = "ab".repeat(32);
    let res = admin(reqwest::Method::PATCH, "/api/admin/partners/bank-2")
        .json(&serde_json::json!({
            "outbound_url": consumer.url(),
            "outbound_message_types": [TYPE],
            "outbound_auth": "hmac-sha256",
            "outbound_access_key": "AK-HUB-2",
            "outbound_secret": outbound_secret,
            "payload_signature": "hmac-sha256",
            "payload_signing_key": "payload-signing-key-0123456789",
            "client_certificates": [fingerprint],
        }))
        .send()
        .await?;
    let view = json(res, 200).await?;
    ensure!(
        view["outbound"]["auth"] == "hmac-sha256"
            && view["outbound"]["message_types"][0] == TYPE
            && view["payload_signature"] == "hmac-sha256"
            && view["client_certificates"][0] == fingerprint.as_str()
            && !view.to_string().contains(outbound_secret)
            && !view.to_string().contains("payload-signing-key"),
        "{view}"
    );
    // Over plain HTTP no certificate can be presented: pinned, the partner is refused.
    tests::assert_problem(
        signed(&secret)?.send().await?,
        401,
        "exchange.unauthenticated",
    )
    .await?;
    let res = admin(reqwest::Method::PATCH, "/api/admin/partners/bank-2")
        .json(&serde_json::json!({ "client_certificates": [], "outbound_url": "" }))
        .send()
        .await?;
    let view = json(res, 200).await?;
    ensure!(
        view.get("outbound").is_none() && view.get("client_certificates").is_none(),
        "{view}"
    );
    ensure!(signed(&secret)?.send().await?.status() == 200);

    // Changes are validated and take effect at once.
    let res = admin(reqwest::Method::PATCH, "/api/admin/partners/bank-2")
        .json(&serde_json::json!({ "message_types": ["no.such_type"] }))
        .send()
        .await?;
    let p = tests::assert_problem(res, 422, "validation.failed").await?;
    ensure!(p["errors"][0]["field"] == "message_types", "{p}");
    let res = admin(reqwest::Method::PATCH, "/api/admin/partners/bank-2")
        .json(&serde_json::json!({ "enabled": false }))
        .send()
        .await?;
    ensure!(json(res, 200).await?["enabled"] == false);
    tests::assert_problem(
        signed(&secret)?.send().await?,
        403,
        "exchange.partner_disabled",
    )
    .await?;
    let res = admin(reqwest::Method::PATCH, "/api/admin/partners/bank-2")
        .json(&serde_json::json!({ "enabled": true, "secret": "a-new-shared-secret-for-bank-2" }))
        .send()
        .await?;
    ensure!(res.status() == 200);
    tests::assert_problem(
        signed(&secret)?.send().await?,
        401,
        "exchange.unauthenticated",
    )
    .await?;
    ensure!(
        signed("a-new-shared-secret-for-bank-2")?
            .send()
            .await?
            .status()
            == 200
    );

    // Refusals.
    let res = admin(reqwest::Method::PATCH, "/api/admin/partners/bank")
        .json(&serde_json::json!({ "enabled": false }))
        .send()
        .await?;
    tests::assert_problem(res, 409, "exchange.partner_read_only").await?;
    for (doc, status, code) in [
        (
            serde_json::json!({ "id": "bank-2", "auth": "token", "message_types": [TYPE] }),
            409,
            "exchange.partner_exists",
        ),
        (
            serde_json::json!({ "id": "bank-3", "auth": "rsa", "message_types": [TYPE] }),
            422,
            "validation.failed",
        ),
        (
            serde_json::json!({ "auth": "token", "message_types": [TYPE] }),
            422,
            "validation.failed",
        ),
        (
            serde_json::json!({ "id": "Bank 3", "auth": "token", "message_types": [TYPE] }),
            422,
            "validation.failed",
        ),
        (
            serde_json::json!({ "id": "bank-3", "auth": "token", "message_types": [TYPE], "colour": "red" }),
            422,
            "validation.failed",
        ),
    ] {
        let res = admin(reqwest::Method::POST, "/api/admin/partners")
            .json(&doc)
            .send()
            .await?;
        tests::assert_problem(res, status, code).await?;
    }
    let security = hub.token(Role::SecurityAdmin).await?;
    let res = hub
        .http
        .get(hub.url("/api/admin/partners"))
        .bearer_auth(&security)
        .send()
        .await?;
    tests::assert_problem(res, 403, "auth.forbidden").await?;

    // Removed: it can no longer send; its messages stay.
    ensure!(
        admin(reqwest::Method::DELETE, "/api/admin/partners/bank-2")
            .send()
            .await?
            .status()
            == 204
    );
    tests::assert_problem(
        signed("a-new-shared-secret-for-bank-2")?.send().await?,
        401,
        "exchange.unauthenticated",
    )
    .await?;
    let kept = json(
        admin(reqwest::Method::GET, "/api/admin/messages?partner=bank-2")
            .send()
            .await?,
        200,
    )
    .await?;
    // One message: the later sends carried the same message id (their first receipt again).
    ensure!(kept["items"].as_array().map(Vec::len) == Some(1), "{kept}");
    tests::assert_problem(
        admin(reqwest::Method::DELETE, "/api/admin/partners/bank-2")
            .send()
            .await?,
        404,
        "exchange.partner_not_found",
    )
    .await?;

    // Audited, without secrets.
    let auditor = hub.token(Role::AuditAdmin).await?;
    let trail = hub
        .get_as(&auditor, "/api/admin/audit/export")
        .await?
        .text()
        .await?;
    for e in [
        "exchange.partner_created",
        "exchange.partner_updated",
        "exchange.partner_deleted",
    ] {
        ensure!(trail.contains(e), "{e} not audited");
    }
    ensure!(!trail.contains(&secret) && !trail.contains("a-new-shared-secret-for-bank-2"));
    ensure!(
        trail.contains("\"secrets_changed\":[\"secret\"]"),
        "the changed secret is named"
    );
    hub.stop().await
}

/// Guessing is slowed down and cannot flood the audit trail: after 60 failures a minute from one
/// address, requests are refused before any check and no longer recorded.
async fn failed_authentication_is_rate_limited(env: Env) -> Result<()> {
    let consumer = Consumer::start().await?;
    let hub = hub_with_partner(&env, &consumer).await?;
    let good = fixture("financing-demand-notice/input.xml")?;
    let mut limited = None;
    for _ in 0..70 {
        let res = hub
            .http
            .post(hub.url(&format!("/exchange/nobody/{TYPE}")))
            .body(good.clone())
            .send()
            .await?;
        if res.status() == 429 {
            limited = Some(res);
            break;
        }
    }
    let limited = limited.context("never rate limited")?;
    ensure!(limited.headers().contains_key("retry-after"));
    tests::assert_problem(limited, 429, "request.rate_limited").await?;
    // Refused before any check: even a correct signature from that address waits.
    tests::assert_problem(
        send(&hub.http, &hub.base, TYPE, "application/xml", &good, &[]).await?,
        429,
        "request.rate_limited",
    )
    .await?;
    let auditor = hub.token(Role::AuditAdmin).await?;
    let recorded = item_values(
        &hub,
        &auditor,
        "/api/admin/audit?event=exchange.auth_failed&limit=500",
        "reason",
    )
    .await?;
    ensure!(
        (55..=60).contains(&recorded.len()),
        "{} failures recorded",
        recorded.len()
    );
    // Unknown partners share one metric label: a path cannot create series.
    let metrics = hub.get("/metrics").await?.text().await?;
    ensure!(!metrics.contains("partner=\"nobody\""), "{metrics}");
    ensure!(
        metrics.contains(
            r#"hub_exchange_messages_total{partner="unknown",outcome="unauthenticated"}"#
        )
    );
    hub.stop().await
}

/// Mappings from `exchange.catalog_dir`: one without a `message_id` path takes the id from
/// `X-Message-Id` — accepted from a token partner, refused from a signed one (the signature does
/// not cover the header, so a replay could change the id).
async fn a_mapping_directory_and_ids_from_the_header(env: Env) -> Result<()> {
    let catalog = tempfile::tempdir()?;
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../mappings/catalog");
    let definition = std::fs::read_to_string(shipped.join("financing-demand-notice.toml"))?;
    ensure!(definition.contains("message_id = \"$.message_id\"\n"));
    std::fs::write(
        catalog.path().join("financing-demand-notice.toml"),
        definition.replacen("message_id = \"$.message_id\"\n", "", 1),
    )?;
    std::fs::copy(
        shipped.join("codes.toml"),
        catalog.path().join("codes.toml"),
    )?;
    let dir = catalog.path().display().to_string();
    let token = "a-long-partner-token-for-header-ids";
    let hub = env
        .hub_with(&[
            ("HUB_EXCHANGE__CATALOG_DIR", dir.as_str()),
            ("HUB_PARTNERS__BANK__AUTH", "hmac-sha256"),
            ("HUB_PARTNERS__BANK__ACCESS_KEY", AK),
            ("HUB_PARTNERS__BANK__SECRET", SECRET),
            (
                "HUB_PARTNERS__BANK__MESSAGE_TYPES",
                "[\"financing.demand_notice\"]",
            ),
            ("HUB_PARTNERS__GW__AUTH", "token"),
            ("HUB_PARTNERS__GW__TOKEN", token),
            (
                "HUB_PARTNERS__GW__MESSAGE_TYPES",
                "[\"financing.demand_notice\"]",
            ),
        ])
        .await?;
    let sys = hub.token(Role::SystemAdmin).await?;
    let mappings = hub.get_json(&sys, "/api/admin/mappings").await?;
    ensure!(
        mappings.as_array().map(Vec::len) == Some(1)
            && mappings[0]["name"] == "financing-demand-notice",
        "only the directory's mappings: {mappings}"
    );
    let res = hub
        .get_as(
            &sys,
            "/api/admin/mappings/financing-demand-notice/json-schema",
        )
        .await?;
    ensure!(res.headers()["content-type"] == "application/schema+json");
    let schema = json(res, 200).await?;
    ensure!(
        schema["properties"]["demands"]["type"] == "array",
        "{schema}"
    );
    let res = hub
        .get_as(&sys, "/api/admin/mappings/nope/json-schema")
        .await?;
    tests::assert_problem(res, 404, "exchange.mapping_not_found").await?;
    let body = fixture("financing-demand-notice/input.xml")?;
    let p = tests::assert_problem(
        send(
            &hub.http,
            &hub.base,
            TYPE,
            "application/xml",
            &body,
            &[("x-message-id", "HDR-1")],
        )
        .await?,
        422,
        "exchange.message_id_missing",
    )
    .await?;
    ensure!(
        p["detail"].as_str().is_some_and(|d| d.contains("signed")),
        "{p}"
    );
    let url = hub.url(&format!("/exchange/gw/{TYPE}"));
    let res = hub
        .http
        .post(&url)
        .bearer_auth(token)
        .header("content-type", "application/xml")
        .header("x-message-id", "HDR-1")
        .body(body.clone())
        .send()
        .await?;
    ensure!(res.status() == 200, "{}", res.text().await?);
    ensure!(res.text().await?.contains("<MessageId>HDR-1</MessageId>"));
    let res = hub
        .http
        .post(&url)
        .bearer_auth(token)
        .header("content-type", "application/xml")
        .body(body.clone())
        .send()
        .await?;
    tests::assert_problem(res, 422, "exchange.message_id_missing").await?;
    hub.stop().await
}

/// A hub terminating TLS that asks for client certificates issued by a partner CA: the partner
/// `bank` is pinned to one certificate. Its signature alone is not enough; another certificate
/// of the same CA is refused; a certificate of an unknown CA does not get a connection; browsers
/// (no certificate) are still served.
async fn mutual_tls_pins_partners_to_their_certificates(env: Env) -> Result<()> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    };
    let store = env.store().await?;
    let dir = store.dir.path();
    let server = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Partner CA");
    let ca = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, &ca_key);
    let client = |name: &str, issuer: &Issuer<'_, &KeyPair>| -> Result<(String, String)> {
        let key = KeyPair::generate()?;
        let mut p = CertificateParams::new(Vec::<String>::new())?;
        p.distinguished_name.push(DnType::CommonName, name);
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = p.signed_by(&key, issuer)?;
        let fingerprint = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(cert.der().as_ref()));
        Ok((
            format!("{}{}", cert.pem(), key.serialize_pem()),
            fingerprint,
        ))
    };
    let (bank_identity, bank_fingerprint) = client("bank", &issuer)?;
    let (other_identity, _) = client("someone-else", &issuer)?;
    let rogue_key = KeyPair::generate()?;
    let mut rogue_params = CertificateParams::new(Vec::<String>::new())?;
    rogue_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let rogue_issuer = Issuer::new(rogue_params, &rogue_key);
    let (rogue_identity, _) = client("bank", &rogue_issuer)?;
    for (name, text) in [
        ("cert.pem", server.cert.pem()),
        ("key.pem", server.signing_key.serialize_pem()),
        ("ca.pem", ca.pem()),
    ] {
        std::fs::write(dir.join(name), text)?;
    }
    let config_file = tests::write(
        &dir.join("hub.toml"),
        &format!(
            "[server.tls]\ncert = \"{0}/cert.pem\"\nkey = \"{0}/key.pem\"\nclient_ca = \"{0}/ca.pem\"\n\n[partners.bank]\nclient_certificates = [\"{1}\"]\n",
            dir.display(),
            // Colons are allowed, as tools print fingerprints.
            bank_fingerprint
                .as_bytes()
                .chunks(2)
                .map(|c| String::from_utf8_lossy(c).to_uppercase())
                .collect::<Vec<_>>()
                .join(":"),
        ),
    );
    let mut env_vars = store.vars.clone();
    for (k, v) in partner_settings("https://consumer.invalid/messages") {
        if k.starts_with("HUB_PARTNERS__BANK__") {
            env_vars.push((k, v));
        }
    }
    let config = hub::Config::load(hub::config::Sources {
        file: Some(&config_file),
        env: env_vars,
        listen: None,
    })
    .map_err(|p| tests::anyhow::anyhow!("{p}"))?;
    let hub = TestHub::start_config(&store, config).await?;
    hub.follow_real_time();
    let port = hub.base.rsplit(':').next().unwrap_or_default().to_owned();
    let base = format!("https://localhost:{port}");
    let client_with = |identity: Option<&str>| -> Result<reqwest::Client> {
        let mut b = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(
                server.cert.pem().as_bytes(),
            )?])
            .resolve("localhost", format!("127.0.0.1:{port}").parse()?);
        if let Some(id) = identity {
            b = b.identity(reqwest::Identity::from_pem(id.as_bytes())?);
        }
        Ok(b.build()?)
    };
    let body = fixture("financing-demand-notice/input.xml")?;
    let post = |http: reqwest::Client| {
        let body = body.clone();
        let base = base.clone();
        async move {
            signed(&http, &base, "bank", AK, SECRET, &date(0)?, TYPE, &body)
                .header("content-type", "application/xml")
                .send()
                .await
                .map_err(tests::anyhow::Error::from)
        }
    };
    // Browsers present no certificate and are served.
    let res = client_with(None)?
        .get(format!("{base}/healthz"))
        .send()
        .await?;
    ensure!(res.status() == 200);
    // The right signature without the certificate, or with another certificate of the same CA.
    for identity in [None, Some(other_identity.as_str())] {
        let res = post(client_with(identity)?).await?;
        tests::assert_problem(res, 401, "exchange.unauthenticated").await?;
    }
    // A certificate the CA did not issue does not get a connection.
    ensure!(
        post(client_with(Some(&rogue_identity))?).await.is_err(),
        "a rogue certificate was accepted"
    );
    // The pinned certificate and the signature.
    let res = post(client_with(Some(&bank_identity))?).await?;
    ensure!(res.status() == 200, "{}", res.text().await?);
    // The audit trail says why the others failed.
    let auditor = hub.token(Role::AuditAdmin).await?;
    let failed = json(
        client_with(None)?
            .get(format!("{base}/api/admin/audit?event=exchange.auth_failed"))
            .bearer_auth(&auditor)
            .send()
            .await?,
        200,
    )
    .await?;
    ensure!(
        failed["items"]
            .as_array()
            .is_some_and(|i| i.len() == 2 && i.iter().all(|e| e["reason"] == "client_certificate")),
        "{failed}"
    );
    hub.stop().await
}

async fn raw_payloads_are_shown_masked_audited_and_forgotten(env: Env) -> Result<()> {
    let consumer = Consumer::start().await?;
    let vars = partner_settings(&consumer.url());
    let mut refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    refs.push(("HUB_EXCHANGE__PAYLOAD_RETENTION", "1d"));
    let hub = env.hub_with(&refs).await?;
    let input = fixture("financing-demand-notice/input.xml")?;
    ensure!(String::from_utf8_lossy(&input).contains("<Phone>13800000000</Phone>"));
    let mut receipts = Vec::new();
    let invalid = String::from_utf8_lossy(&input)
        .replacen("FDN20261122000001", "FDN-INVALID-1", 1)
        .replacen(
            "<TermMonths>36</TermMonths>",
            "<TermMonths>三年</TermMonths>",
            1,
        );
    for (body, status) in [(input.clone(), 200), (invalid.into_bytes(), 422)] {
        let res = send(&hub.http, &hub.base, TYPE, "application/xml", &body, &[]).await?;
        ensure!(res.status() == status, "{}", res.status());
        let page = hub
            .get_json(
                &hub.token(Role::SystemAdmin).await?,
                "/api/admin/messages?limit=1",
            )
            .await?;
        receipts.push(
            page["items"][0]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    let sys = hub.token(Role::SystemAdmin).await?;
    for receipt in &receipts {
        let view = hub
            .get_json(&sys, &format!("/api/admin/messages/{receipt}/payload"))
            .await?;
        let payload = view["payload"].as_str().unwrap_or_default();
        ensure!(
            payload.contains("<Phone>138****0000</Phone>") && !payload.contains("13800000000"),
            "{payload}"
        );
        ensure!(
            payload.contains("龙岩示例机械有限公司") && view["format"] == "xml",
            "{view}"
        );
    }
    // Each look is audited; auditors cannot look.
    let auditor = hub.token(Role::AuditAdmin).await?;
    let res = hub
        .get_as(
            &auditor,
            &format!("/api/admin/messages/{}/payload", receipts[0]),
        )
        .await?;
    tests::assert_problem(res, 403, "auth.forbidden").await?;
    let viewed = hub
        .get_json(&auditor, "/api/admin/audit?event=exchange.payload_viewed")
        .await?;
    ensure!(
        viewed["items"].as_array().map(Vec::len) == Some(2),
        "{viewed}"
    );
    // After the retention the payload is gone; the log row stays.
    hub.clock.advance(Duration::from_secs(2 * 86_400));
    hub.state.exchange.purge_payloads().await?;
    let res = hub
        .get_as(
            &sys,
            &format!("/api/admin/messages/{}/payload", receipts[1]),
        )
        .await?;
    tests::assert_problem(res, 410, "exchange.payload_not_retained").await?;
    let res = hub.get_as(&sys, "/api/admin/messages/nope/payload").await?;
    tests::assert_problem(res, 404, "exchange.message_not_found").await?;
    hub.stop().await
}
