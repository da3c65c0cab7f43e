//! `/exchange` end to end: signed partner messages per second against a running `hub demo`
//! (its partner `demo-bank`), each authenticated, validated against its schema, translated,
//! recorded in the durable message log with its delivery (fully synced on SQLite) and
//! acknowledged; the deliveries to the sandbox consumer run in the same process meanwhile.
//!
//! ```sh
//! cargo build --release -p hub && target/release/hub demo --listen 127.0.0.1:18090 --data-dir /tmp/bench-demo &
//! cargo bench -p hub --bench exchange_load -- http://127.0.0.1:18090 64 20
//! ```
//! Arguments: the hub's URL, concurrent senders (default 64), seconds (default 20). Each message
//! is the financing-demand-notice sample with a unique message id, padded by an XML comment to
//! about 2.2 KB.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod load;

const SAMPLE: &str =
    include_str!("../../mappings/tests/fixtures/financing-demand-notice/input.xml");
const SAMPLE_ID: &str = "FDN20261122000001";
const TYPE: &str = "financing.demand_notice";

/// The sample with message id `id`, padded to about 2.2 KB.
fn message(id: &str) -> Vec<u8> {
    let padding = format!("\n<!-- {} -->", "龙岩普惠金融平台报文样例填充 ".repeat(12));
    SAMPLE
        .replacen(SAMPLE_ID, id, 1)
        .replacen("?>", &format!("?>{padding}"), 1)
        .into_bytes()
}

async fn send(client: &reqwest::Client, base: &str, body: Vec<u8>) -> bool {
    let path = format!("/exchange/demo-bank/{TYPE}");
    let date = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let sig = exchange::auth::sign_hmac_sha256(
        hub::demo::DEMO_PARTNER_SECRET,
        "POST",
        &path,
        None,
        hub::demo::DEMO_PARTNER_KEY,
        &date,
        &body,
    );
    let res = client
        .post(format!("{base}{path}"))
        .header("content-type", "application/xml")
        .header("x-access-key", hub::demo::DEMO_PARTNER_KEY)
        .header("x-date", date)
        .header("x-signature", sig)
        .body(body)
        .send()
        .await;
    match res {
        Ok(r) => r.status() == 200 && r.headers().get("x-duplicate").is_none(),
        Err(_) => false,
    }
}

/// How many messages the sandbox consumer has applied (its overview page says).
async fn applied(client: &reqwest::Client, base: &str) -> u64 {
    let page = client
        .get(format!("{base}/sandbox/consumer/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    page.split("已处理报文 ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the sandbox consumer's page")
}

fn main() {
    let (base, senders, seconds) = load::args();
    let run = uuid::Uuid::now_v7().simple().to_string();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(senders * 2)
            .build()
            .unwrap();
        assert!(
            send(&client, &base, message(&format!("W-{}", &run[..20]))).await,
            "the warm-up message failed: is `hub demo` running at {base}?"
        );
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let before = applied(&client, &base).await;
        let (c, b) = (client.clone(), base.clone());
        let summary = load::run(senders, seconds, move |i, n| {
            let (client, base, run) = (c.clone(), b.clone(), run.clone());
            async move {
                let id = format!("B-{}-{i}-{n}", &run[..12]);
                send(&client, &base, message(&id)).await
            }
        })
        .await;
        println!(
            "/exchange messages ({} bytes each): {:.0}/s over {:.1} s with {senders} senders ({} acknowledged, {} failed); latency p50 {:?} p99 {:?}",
            message("x").len(),
            summary.per_second(),
            summary.elapsed,
            summary.done,
            summary.failed,
            summary.p50,
            summary.p99
        );
        // The deliveries to the sandbox consumer: how many were made during the load, and how
        // fast the rest drained once it stopped.
        let during = applied(&client, &base).await - before;
        let end = std::time::Instant::now();
        let target = before + summary.done;
        let mut now_applied = before + during;
        while now_applied < target && end.elapsed() < std::time::Duration::from_secs(120) {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            now_applied = applied(&client, &base).await;
        }
        let left = summary.done - during;
        let drain = end.elapsed().as_secs_f64();
        println!(
            "deliveries: {during} during the load ({:.0}/s); the other {left} drained in {drain:.1} s ({:.0}/s){}",
            during as f64 / summary.elapsed,
            left as f64 / drain.max(0.001),
            if now_applied < target { " — NOT all delivered within 120 s" } else { "" }
        );
    });
}
