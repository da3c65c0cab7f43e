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

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

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
    let sig = hub::exchange::auth::sign_hmac_sha256(
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

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let base = args
        .first()
        .cloned()
        .unwrap_or_else(|| "http://127.0.0.1:18090".into());
    let senders: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(64);
    let seconds: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20);
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
        let body = |id: &str| message(id);
        assert!(
            send(&client, &base, body(&format!("W-{}", &run[..20]))).await,
            "the warm-up message failed: is `hub demo` running at {base}?"
        );
        let done = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let latencies = Arc::new(std::sync::Mutex::new(Vec::<Duration>::new()));
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let start = Instant::now();
        let tasks: Vec<_> = (0..senders)
            .map(|i| {
                let (client, base, done, failed, latencies, run) = (
                    client.clone(),
                    base.clone(),
                    done.clone(),
                    failed.clone(),
                    latencies.clone(),
                    run.clone(),
                );
                tokio::spawn(async move {
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        let id = format!("B-{}-{i}-{n}", &run[..12]);
                        let b = message(&id);
                        let t = Instant::now();
                        if send(&client, &base, b).await {
                            done.fetch_add(1, Ordering::Relaxed);
                            latencies.lock().unwrap().push(t.elapsed());
                        } else {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                        n += 1;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let elapsed = start.elapsed().as_secs_f64();
        let mut l = latencies.lock().unwrap().clone();
        l.sort();
        let pct = |p: f64| {
            l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        println!(
            "/exchange messages ({} bytes each): {:.0}/s over {elapsed:.1} s with {senders} senders ({} acknowledged, {} failed); latency p50 {:?} p99 {:?}",
            body("x").len(),
            done.load(Ordering::Relaxed) as f64 / elapsed,
            done.load(Ordering::Relaxed),
            failed.load(Ordering::Relaxed),
            pct(0.50),
            pct(0.99)
        );
    });
}
