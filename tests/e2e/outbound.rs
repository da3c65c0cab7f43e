//! Messages the hub sends to partner systems: an internal system posts JSON, the hub translates
//! it to the partner's XML and delivers it through the outbox — signed (gateway HMAC) or with a
//! token from the partner's gateway (`get-token`, then `Authorization: Basic`) — retried, once
//! per message id, with exact error codes for what cannot be sent.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use platform::admin::Role;
use tests::anyhow::{Result, ensure};
use tests::{Env, Test, TestHub, assert_problem, json, test};

use super::exchange::{fixture, wait_for_status};

pub fn tests() -> Vec<Test> {
    vec![
        test!(messages_to_partners_are_translated_signed_and_delivered_once),
        test!(gateway_token_partners_get_a_token_and_a_new_one_when_refused),
        test!(signed_documents_are_verified_in_and_signed_out),
        test!(queued_messages_follow_the_partners_current_settings),
    ]
}

const HUB_AK: &str = "AK-HUB-LONGYAN";
const HUB_SECRET: &str = "hub-signing-secret-0123456789";
const APP_KEY: &str = "APP-LONGYAN-1";
const APP_CODE: &str = "app-code-secret-42";
const DEMAND: &str = "financing.demand_notice";
const CREDIT: &str = "gateway.credit_code_verification_reply";

/// What a partner's endpoint received.
#[derive(Clone)]
struct Received {
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

/// A partner system: `POST /inbox` takes the hub's messages (failing the first
/// `fail_next` with 503; with a token set, refusing any other `Authorization: Basic` with 401)
/// and `GET /get-token` hands out the current token to a caller that signs
/// `MD5(appCode + timestamp)`.
struct PartnerServer {
    addr: std::net::SocketAddr,
    fail_next: Arc<AtomicUsize>,
    token: Arc<Mutex<String>>,
    received: Arc<Mutex<Vec<Received>>>,
    token_requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl PartnerServer {
    async fn start() -> Result<PartnerServer> {
        use axum::http::StatusCode;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let fail_next = Arc::new(AtomicUsize::new(0));
        let token = Arc::new(Mutex::new(String::new()));
        let received = Arc::new(Mutex::new(Vec::new()));
        let token_requests = Arc::new(AtomicUsize::new(0));
        let (f, t, r) = (fail_next.clone(), token.clone(), received.clone());
        let inbox = move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let (f, t, r) = (f.clone(), t.clone(), r.clone());
            async move {
                r.lock().unwrap().push(Received {
                    headers: headers.clone(),
                    body: body.to_vec(),
                });
                if f.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
                {
                    return (StatusCode::SERVICE_UNAVAILABLE, String::new());
                }
                let expected = t.lock().unwrap().clone();
                let given = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                if !expected.is_empty() && given != format!("Basic {expected}") {
                    return (StatusCode::UNAUTHORIZED, String::new());
                }
                (StatusCode::OK, "<Ack><Status>0</Status></Ack>".to_owned())
            }
        };
        let (t, n) = (token.clone(), token_requests.clone());
        let get_token = move |axum::extract::Query(q): axum::extract::Query<
            std::collections::HashMap<String, String>,
        >| {
            let (t, n) = (t.clone(), n.clone());
            async move {
                n.fetch_add(1, Ordering::SeqCst);
                let timestamp = q.get("timestamp").cloned().unwrap_or_default();
                let sign = hex::encode(<md5::Md5 as md5::Digest>::digest(
                    format!("{APP_CODE}{timestamp}").as_bytes(),
                ));
                if q.get("app_key").map(String::as_str) != Some(APP_KEY)
                    || q.get("sign") != Some(&sign)
                    || timestamp.is_empty()
                {
                    return axum::Json(serde_json::json!({"success": false, "msg": "bad sign"}));
                }
                let token = t.lock().unwrap().clone();
                axum::Json(serde_json::json!({
                    "success": true,
                    "data": {"token": token, "expires_in": 7200},
                }))
            }
        };
        let app = axum::Router::new()
            .route("/inbox", axum::routing::post(inbox))
            .route("/get-token", axum::routing::get(get_token));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(PartnerServer {
            addr,
            fail_next,
            token,
            received,
            token_requests,
            task,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// What arrived with `Idempotency-Key: key`.
    fn received(&self, key: &str) -> Vec<Received> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.headers.get("idempotency-key").is_some_and(|v| v == key))
            .cloned()
            .collect()
    }
}

impl Drop for PartnerServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn mapping(message_type: &str) -> Result<mappings::Mapping> {
    let catalog = mappings::Catalog::builtin()?;
    catalog
        .for_message_type(message_type)
        .cloned()
        .ok_or_else(|| tests::anyhow::anyhow!("no mapping for {message_type}"))
}

fn expected(dir: &str) -> Result<serde_json::Value> {
    Ok(serde_json::from_slice(&fixture(&format!(
        "{dir}/expected.json"
    ))?)?)
}

async fn hub_with(env: &Env, settings: &[(&str, &str)]) -> Result<TestHub> {
    let mut all: Vec<(&str, &str)> = vec![
        ("HUB_EXCHANGE__POLL_INTERVAL", "100ms"),
        ("HUB_EXCHANGE__RETRY_BASE", "100ms"),
        ("HUB_EXCHANGE__RETRY_MAX", "300ms"),
        ("HUB_EXCHANGE__MAX_ATTEMPTS", "4"),
        ("HUB_OUTBOUND__TIMEOUT", "5s"),
        ("HUB_OUTBOUND__MAX_ATTEMPTS", "1"),
    ];
    all.extend_from_slice(settings);
    let hub = env.hub_with(&all).await?;
    // Retries and signature dates follow the hub's clock; let it follow real time.
    hub.follow_real_time();
    Ok(hub)
}

async fn post_message(
    hub: &TestHub,
    token: &str,
    partner: &str,
    message_type: &str,
    body: &serde_json::Value,
) -> Result<reqwest::Response> {
    Ok(hub
        .http
        .post(hub.url(&format!(
            "/api/admin/partners/{partner}/messages/{message_type}"
        )))
        .bearer_auth(token)
        .json(body)
        .send()
        .await?)
}

async fn messages_to_partners_are_translated_signed_and_delivered_once(env: Env) -> Result<()> {
    let partner = PartnerServer::start().await?;
    let inbox = partner.url("/inbox");
    let hub = hub_with(
        &env,
        &[
            ("HUB_PARTNERS__BANK__AUTH", "hmac-sha256"),
            ("HUB_PARTNERS__BANK__ACCESS_KEY", "AK-BANK-001"),
            (
                "HUB_PARTNERS__BANK__SECRET",
                "bank-shared-secret-0123456789",
            ),
            (
                "HUB_PARTNERS__BANK__MESSAGE_TYPES",
                "[\"financing.demand_notice\"]",
            ),
            ("HUB_PARTNERS__BANK__OUTBOUND_URL", &inbox),
            (
                "HUB_PARTNERS__BANK__OUTBOUND_MESSAGE_TYPES",
                "[\"financing.demand_notice\"]",
            ),
            ("HUB_PARTNERS__BANK__OUTBOUND_AUTH", "hmac-sha256"),
            ("HUB_PARTNERS__BANK__OUTBOUND_ACCESS_KEY", HUB_AK),
            ("HUB_PARTNERS__BANK__OUTBOUND_SECRET", HUB_SECRET),
            ("HUB_PARTNERS__QUIET__AUTH", "token"),
            (
                "HUB_PARTNERS__QUIET__TOKEN",
                "quiet-partner-token-0123456789",
            ),
            (
                "HUB_PARTNERS__QUIET__MESSAGE_TYPES",
                "[\"financing.demand_notice\"]",
            ),
        ],
    )
    .await?;
    let sys = hub.token(Role::SystemAdmin).await?;
    // An internal system holds a token that can send messages and do nothing else.
    let sender = hub.token(Role::MessageSender).await?;
    for path in [
        "/api/admin/messages",
        "/api/admin/partners",
        "/api/admin/connectors",
    ] {
        assert_problem(hub.get_as(&sender, path).await?, 403, "auth.forbidden").await?;
    }
    let message = expected("financing-demand-notice")?;
    partner.fail_next.store(1, Ordering::SeqCst);
    let res = post_message(&hub, &sender, "bank", DEMAND, &message).await?;
    ensure!(res.status() == 202, "{}", res.text().await?);
    let receipt = res.headers()["x-receipt-id"].to_str()?.to_owned();
    let ack = json(res, 202).await?;
    ensure!(
        ack["receipt_id"] == receipt.as_str()
            && ack["message_id"] == message["message_id"]
            && ack["partner"] == "bank"
            && ack["status"] == "accepted",
        "{ack}"
    );
    let view = wait_for_status(&hub, &sys, &receipt, "delivered").await?;
    ensure!(
        view["direction"] == "outbound"
            && view["deliveries"][0]["attempts"] == 2
            && view["deliveries"][0]["target"] == format!("http://{}", partner.addr),
        "{view}"
    );
    // The administrator sees the JSON that was sent, personal fields masked.
    ensure!(
        view["translated"]["demands"][0]["contacts"][0]["phone"] == "138****0000",
        "{view}"
    );
    // The first attempt met a 503; both carried the same key, the partner's XML and a valid
    // gateway signature over it.
    let got = partner.received(&receipt);
    ensure!(got.len() == 2, "{} requests", got.len());
    let demand = mapping(DEMAND)?;
    for r in &got {
        let h = |n: &str| {
            r.headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        ensure!(h("content-type") == "application/xml; charset=UTF-8");
        ensure!(h("x-access-key") == HUB_AK && h("x-message-type") == DEMAND);
        let date = h("x-date");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
        ensure!(
            (date.parse::<i64>()? - i64::try_from(now.as_secs())?).abs() < 60,
            "date {date}"
        );
        let signature = exchange::auth::sign_hmac_sha256(
            HUB_SECRET, "POST", "/inbox", None, HUB_AK, &date, &r.body,
        );
        ensure!(h("x-signature") == signature, "signature does not verify");
        ensure!(
            demand.xml_to_json(&r.body)? == message,
            "the partner's XML does not carry the message"
        );
    }
    // The same message again: the first receipt, nothing sent twice.
    let res = post_message(&hub, &sender, "bank", DEMAND, &message).await?;
    ensure!(res.status() == 202 && res.headers()["x-duplicate"] == "true");
    ensure!(res.headers()["x-receipt-id"] == receipt.as_str());
    // The same id with other content is not a resend.
    let mut other = message.clone();
    other["demands"][0]["purpose"] = serde_json::json!("另一用途");
    let res = post_message(&hub, &sys, "bank", DEMAND, &other).await?;
    assert_problem(res, 409, "exchange.message_id_reused").await?;
    // What cannot be sent, with its code.
    let res = post_message(&hub, &sys, "quiet", DEMAND, &message).await?;
    assert_problem(res, 409, "exchange.partner_not_receiving").await?;
    let res = post_message(&hub, &sys, "nobody", DEMAND, &message).await?;
    assert_problem(res, 404, "exchange.partner_not_found").await?;
    let res = post_message(&hub, &sys, "bank", CREDIT, &message).await?;
    assert_problem(res, 403, "exchange.message_type_not_allowed").await?;
    let mut incomplete = message.clone();
    incomplete["bank"].as_object_mut().map(|b| b.remove("code"));
    incomplete["message_id"] = serde_json::json!("FDN-OTHER-1");
    let res = post_message(&hub, &sys, "bank", DEMAND, &incomplete).await?;
    let problem = assert_problem(res, 422, "mapping.required_missing").await?;
    ensure!(problem["path"] == "$.bank.code", "{problem}");
    let res = hub
        .http
        .post(hub.url("/api/admin/partners/bank/messages/financing.demand_notice"))
        .bearer_auth(&sys)
        .header("content-type", "application/json")
        .body("{\"message_id\": ")
        .send()
        .await?;
    assert_problem(res, 400, "exchange.json_malformed").await?;
    let res = hub
        .http
        .post(hub.url("/api/admin/partners/bank/messages/financing.demand_notice"))
        .bearer_auth(&sys)
        .header("content-type", "application/xml")
        .body(fixture("financing-demand-notice/input.xml")?)
        .send()
        .await?;
    assert_problem(res, 415, "request.unsupported_media_type").await?;
    let auditor = hub.token(Role::AuditAdmin).await?;
    let res = post_message(&hub, &auditor, "bank", DEMAND, &message).await?;
    assert_problem(res, 403, "auth.forbidden").await?;
    // Nothing else reached the partner; the log tells directions apart; the sending is audited.
    tokio::time::sleep(Duration::from_millis(300)).await;
    ensure!(partner.received.lock().unwrap().len() == 2);
    let page = hub
        .get_json(&sys, "/api/admin/messages?direction=outbound")
        .await?;
    ensure!(
        page["items"].as_array().map(Vec::len) == Some(1)
            && page["items"][0]["id"] == receipt.as_str(),
        "{page}"
    );
    let page = hub
        .get_json(&sys, "/api/admin/messages?direction=inbound")
        .await?;
    ensure!(
        page["items"].as_array().is_some_and(Vec::is_empty),
        "{page}"
    );
    // Every request that got as far as being recorded: the first, the resend, the reused id
    // (newest first); the first names the receipt it was given.
    let sent = hub
        .get_json(
            &auditor,
            "/api/admin/audit?event=exchange.message_submitted",
        )
        .await?;
    let items = sent["items"].as_array().cloned().unwrap_or_default();
    ensure!(
        items.len() == 3
            && items.iter().all(|i| i["target"] == "partner:bank"
                && i["details"]["message_id"] == message["message_id"])
            && items[2]["details"]["receipt_id"] == receipt.as_str(),
        "{sent}"
    );
    hub.stop().await
}

async fn gateway_token_partners_get_a_token_and_a_new_one_when_refused(env: Env) -> Result<()> {
    let partner = PartnerServer::start().await?;
    *partner.token.lock().unwrap() = "tok-1".into();
    let (inbox, get_token) = (partner.url("/inbox"), partner.url("/get-token"));
    let hub = hub_with(
        &env,
        &[
            ("HUB_PARTNERS__GATEWAY__AUTH", "token"),
            (
                "HUB_PARTNERS__GATEWAY__TOKEN",
                "gateway-inbound-token-0123456789",
            ),
            (
                "HUB_PARTNERS__GATEWAY__MESSAGE_TYPES",
                "[\"gateway.credit_code_verification_reply\"]",
            ),
            ("HUB_PARTNERS__GATEWAY__OUTBOUND_URL", &inbox),
            (
                "HUB_PARTNERS__GATEWAY__OUTBOUND_MESSAGE_TYPES",
                "[\"gateway.credit_code_verification_reply\"]",
            ),
            ("HUB_PARTNERS__GATEWAY__OUTBOUND_AUTH", "gateway-token"),
            ("HUB_PARTNERS__GATEWAY__OUTBOUND_TOKEN_URL", &get_token),
            ("HUB_PARTNERS__GATEWAY__OUTBOUND_ACCESS_KEY", APP_KEY),
            ("HUB_PARTNERS__GATEWAY__OUTBOUND_SECRET", APP_CODE),
        ],
    )
    .await?;
    let sys = hub.token(Role::SystemAdmin).await?;
    let credit = mapping(CREDIT)?;
    let first = expected("credit-code-verification-reply")?;
    let mut second = first.clone();
    second["request_id"] = serde_json::json!("GW2026112200043");
    let mut third = first.clone();
    third["request_id"] = serde_json::json!("GW2026112200044");

    let mut receipts = Vec::new();
    for m in [&first, &second] {
        let res = post_message(&hub, &sys, "gateway", CREDIT, m).await?;
        ensure!(res.status() == 202, "{}", res.text().await?);
        let receipt = res.headers()["x-receipt-id"].to_str()?.to_owned();
        wait_for_status(&hub, &sys, &receipt, "delivered").await?;
        receipts.push(receipt);
    }
    // One token for both messages (it is kept until it expires).
    ensure!(partner.token_requests.load(Ordering::SeqCst) == 1);
    for (receipt, m) in receipts.iter().zip([&first, &second]) {
        let got = partner.received(receipt);
        ensure!(got.len() == 1, "{} requests", got.len());
        let h = |n: &str| {
            got[0]
                .headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        ensure!(h("authorization").as_deref() == Some("Basic tok-1"));
        ensure!(h("content-type").as_deref() == Some("text/xml; charset=UTF-8"));
        ensure!(h("soapaction").as_deref() == Some("\"\""));
        ensure!(credit.xml_to_json(&got[0].body)? == *m);
    }
    // The gateway revokes the token: the next message is refused once (401), the hub gets a
    // new token and delivers it.
    *partner.token.lock().unwrap() = "tok-2".into();
    let res = post_message(&hub, &sys, "gateway", CREDIT, &third).await?;
    ensure!(res.status() == 202);
    let receipt = res.headers()["x-receipt-id"].to_str()?.to_owned();
    wait_for_status(&hub, &sys, &receipt, "delivered").await?;
    let got = partner.received(&receipt);
    let auths: Vec<_> = got
        .iter()
        .map(|r| {
            r.headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    ensure!(auths == ["Basic tok-1", "Basic tok-2"], "{auths:?}");
    ensure!(partner.token_requests.load(Ordering::SeqCst) == 2);
    hub.stop().await
}

/// What a wrapped document's SIGN covers: HEAD's and BODY's Base64 text, whitespace removed,
/// and the TITLE element as carried, joined by line feeds (written here from the
/// documentation, not taken from the hub).
fn signed_text(doc: &str) -> Result<Vec<u8>> {
    let block = |tag: &str| -> Result<String> {
        let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
        let a = doc
            .find(&open)
            .ok_or_else(|| tests::anyhow::anyhow!("no {tag}"))?
            + open.len();
        let b = doc
            .find(&close)
            .ok_or_else(|| tests::anyhow::anyhow!("no /{tag}"))?;
        Ok(doc[a..b].split_whitespace().collect())
    };
    let title = match (doc.find("<TITLE"), doc.find("</TITLE>")) {
        (Some(a), Some(b)) => &doc[a..b + "</TITLE>".len()],
        _ => "",
    };
    Ok(format!("{}\n{}\n{title}", block("HEAD")?, block("BODY")?).into_bytes())
}

fn with_sign(doc: &str, signature: &[u8]) -> String {
    use base64::Engine as _;
    doc.replace(
        "</DOCUMENT>",
        &format!(
            "<SIGN>{}</SIGN></DOCUMENT>",
            base64::engine::general_purpose::STANDARD.encode(signature)
        ),
    )
}

async fn signed_documents_are_verified_in_and_signed_out(env: Env) -> Result<()> {
    use base64::Engine as _;
    const TYPE: &str = "receivables.registration_result";
    let theirs = guomi::Sm2Signer::generate()?;
    let other = guomi::Sm2Signer::generate()?;
    let ours_hex = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8";
    let ours = guomi::Sm2Signer::from_hex(ours_hex, guomi::SM2_DEFAULT_DISTID)?;
    let our_public = guomi::Sm2Verifier::parse(&ours.public_key_pem()?, guomi::SM2_DEFAULT_DISTID)?;
    let partner = PartnerServer::start().await?;
    let inbox = partner.url("/inbox");
    let their_public = theirs.public_key_pem()?;
    let token = "a-long-partner-token-for-the-registry";
    let hub = hub_with(
        &env,
        &[
            ("HUB_PARTNERS__RECEIVABLES__AUTH", "token"),
            ("HUB_PARTNERS__RECEIVABLES__TOKEN", token),
            (
                "HUB_PARTNERS__RECEIVABLES__MESSAGE_TYPES",
                "[\"receivables.registration_result\"]",
            ),
            ("HUB_PARTNERS__RECEIVABLES__PAYLOAD_SIGNATURE", "sm2"),
            ("HUB_PARTNERS__RECEIVABLES__PUBLIC_KEY", &their_public),
            ("HUB_PARTNERS__RECEIVABLES__PAYLOAD_SIGNING_KEY", ours_hex),
            ("HUB_PARTNERS__RECEIVABLES__OUTBOUND_URL", &inbox),
            (
                "HUB_PARTNERS__RECEIVABLES__OUTBOUND_MESSAGE_TYPES",
                "[\"receivables.registration_result\"]",
            ),
            ("HUB_PARTNERS__RECEIVABLES__OUTBOUND_AUTH", "none"),
        ],
    )
    .await?;
    let plain = String::from_utf8(fixture("receivables-registration-result/input.xml")?)?;
    let url = hub.url("/exchange/receivables/receivables.registration_result");
    let post = |body: String| {
        hub.http
            .post(&url)
            .bearer_auth(token)
            .header("content-type", "application/xml")
            .body(body)
            .send()
    };
    // Signed by the partner: accepted and translated.
    let signed = with_sign(&plain, &theirs.sign_der(&signed_text(&plain)?)?);
    let res = post(signed.clone()).await?;
    ensure!(res.status() == 200, "{}", res.text().await?);
    let sys = hub.token(Role::SystemAdmin).await?;
    let receipt = res.headers()["x-receipt-id"].to_str()?.to_owned();
    let view = hub
        .get_json(&sys, &format!("/api/admin/messages/{receipt}"))
        .await?;
    ensure!(
        view["translated"] == expected("receivables-registration-result")?,
        "{view}"
    );
    // Unsigned, signed by someone else, SIGN not Base64, or a block changed after signing.
    let body_b64 = {
        let a = plain.find("<BODY>").unwrap_or(0) + "<BODY>".len();
        let b = plain.find("</BODY>").unwrap_or(a);
        plain[a..b].split_whitespace().collect::<String>()
    };
    let changed_body = base64::engine::general_purpose::STANDARD.encode(
        base64::engine::general_purpose::STANDARD
            .decode(&body_b64)?
            .iter()
            .chain(b" ")
            .copied()
            .collect::<Vec<u8>>(),
    );
    let tampered = signed.replacen(
        &plain[plain.find("<BODY>").unwrap_or(0)..plain.find("</BODY>").unwrap_or(0)],
        &format!("<BODY>{changed_body}"),
        1,
    );
    ensure!(tampered != signed, "the body was not changed");
    // TITLE carries the message number: a signed document renumbered is not signed.
    let msg_no = {
        let a = signed.find("<MsgNo>").unwrap_or(0) + "<MsgNo>".len();
        let b = signed.find("</MsgNo>").unwrap_or(a);
        signed[a..b].to_owned()
    };
    ensure!(!msg_no.is_empty(), "no MsgNo in the sample");
    let renumbered = signed.replacen(&msg_no, &format!("{msg_no}9"), 1);
    for (case, body) in [
        ("renumbered", renumbered),
        ("unsigned", plain.clone()),
        (
            "another key",
            with_sign(&plain, &other.sign_der(&signed_text(&plain)?)?),
        ),
        (
            "not base64",
            plain.replace("</DOCUMENT>", "<SIGN>@@@</SIGN></DOCUMENT>"),
        ),
        ("changed body", tampered),
    ] {
        let res = post(body).await?;
        let problem = assert_problem(res, 422, "mapping.signature_invalid").await;
        ensure!(problem.is_ok(), "{case}: {problem:?}");
    }
    // Its JSON would bypass the signature: refused.
    let res = hub
        .http
        .post(&url)
        .bearer_auth(token)
        .json(&expected("receivables-registration-result")?)
        .send()
        .await?;
    assert_problem(res, 422, "mapping.signature_invalid").await?;
    // The hub signs what it sends the partner, with its own key for this partner.
    let message = expected("receivables-registration-result")?;
    let res = post_message(&hub, &sys, "receivables", TYPE, &message).await?;
    ensure!(res.status() == 202, "{}", res.text().await?);
    let receipt = res.headers()["x-receipt-id"].to_str()?.to_owned();
    wait_for_status(&hub, &sys, &receipt, "delivered").await?;
    let got = partner.received(&receipt);
    ensure!(got.len() == 1);
    let doc = String::from_utf8(got[0].body.clone())?;
    let sign = {
        let a = doc
            .find("<SIGN>")
            .ok_or_else(|| tests::anyhow::anyhow!("no SIGN: {doc}"))?
            + 6;
        let b = doc.find("</SIGN>").unwrap_or(a);
        base64::engine::general_purpose::STANDARD.decode(&doc[a..b])?
    };
    ensure!(
        our_public.verify(&signed_text(&doc)?, &sign),
        "the hub's SIGN does not verify"
    );
    ensure!(mapping(TYPE)?.xml_to_json(&got[0].body)? == message);
    hub.stop().await
}

/// A message waiting for a retry goes where the partner's settings say *now*: held (no attempt
/// used) while the partner is disabled, and sent to the new endpoint — never the current
/// credentials to an old endpoint.
async fn queued_messages_follow_the_partners_current_settings(env: Env) -> Result<()> {
    let (old, new) = (PartnerServer::start().await?, PartnerServer::start().await?);
    let hub = hub_with(&env, &[("HUB_EXCHANGE__MAX_ATTEMPTS", "50")]).await?;
    let sys = hub.token(Role::SystemAdmin).await?;
    let admin = |method: reqwest::Method, path: &str| {
        hub.http.request(method, hub.url(path)).bearer_auth(&sys)
    };
    let res = admin(reqwest::Method::POST, "/api/admin/partners")
        .json(&serde_json::json!({
            "id": "bank-api",
            "auth": "token",
            "message_types": [DEMAND],
            "outbound_url": old.url("/inbox"),
            "outbound_message_types": [DEMAND],
            "outbound_auth": "token",
            "outbound_token": "hub-to-bank-api-token-0123456789",
        }))
        .send()
        .await?;
    json(res, 201).await?;
    old.fail_next.store(usize::MAX, Ordering::SeqCst);
    let res = post_message(
        &hub,
        &sys,
        "bank-api",
        DEMAND,
        &expected("financing-demand-notice")?,
    )
    .await?;
    ensure!(res.status() == 202, "{}", res.text().await?);
    let receipt = res.headers()["x-receipt-id"].to_str()?.to_owned();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while old.received(&receipt).is_empty() {
        ensure!(std::time::Instant::now() < deadline, "never attempted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Disabled: held, nothing sent, no attempt used.
    let res = admin(reqwest::Method::PATCH, "/api/admin/partners/bank-api")
        .json(&serde_json::json!({ "enabled": false }))
        .send()
        .await?;
    json(res, 200).await?;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let held = old.received(&receipt).len();
    let view = hub
        .get_json(&sys, &format!("/api/admin/messages/{receipt}"))
        .await?;
    let attempts = view["deliveries"][0]["attempts"]
        .as_i64()
        .unwrap_or_default();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let view = hub
        .get_json(&sys, &format!("/api/admin/messages/{receipt}"))
        .await?;
    ensure!(
        old.received(&receipt).len() == held
            && view["deliveries"][0]["attempts"] == attempts
            && view["status"] == "accepted",
        "sent or counted while disabled: {view}"
    );
    // Moved to a new endpoint with a new token, and enabled: delivered there, with the new
    // token, and the old endpoint never sees it.
    let res = admin(reqwest::Method::PATCH, "/api/admin/partners/bank-api")
        .json(&serde_json::json!({
            "enabled": true,
            "outbound_url": new.url("/inbox"),
            "outbound_message_types": [DEMAND],
            "outbound_auth": "token",
            "outbound_token": "a-new-token-for-the-new-endpoint",
        }))
        .send()
        .await?;
    json(res, 200).await?;
    wait_for_status(&hub, &sys, &receipt, "delivered").await?;
    let got = new.received(&receipt);
    ensure!(
        got.len() == 1
            && got[0].headers["authorization"] == "Bearer a-new-token-for-the-new-endpoint",
        "{} requests at the new endpoint",
        got.len()
    );
    ensure!(
        old.received(&receipt)
            .iter()
            .all(|r| r.headers["authorization"] == "Bearer hub-to-bank-api-token-0123456789"),
        "the new token went to the old endpoint"
    );
    hub.stop().await
}
