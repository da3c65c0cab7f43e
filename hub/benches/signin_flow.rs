//! Complete provincial sign-ins per second against a running hub with the sandbox (`hub demo`).
//!
//! ```sh
//! cargo build --release -p hub && target/release/hub demo --listen 127.0.0.1:18090 --data-dir /tmp/bench-demo &
//! cargo bench -p hub --bench signin_flow -- http://127.0.0.1:18090 64 20
//! ```
//! Arguments: the hub's URL, concurrent browsers (default 64), seconds (default 20).
//!
//! Each iteration is a fresh browser (no cookies, so no silent sign-in) doing the whole flow:
//! `/sso/fujian/login` → sandbox `checkLoginStatus.do` → hub callback without ticket → sandbox
//! `goLogin.do?persona=…` → hub callback with the ticket (which runs the back-channel 103 and
//! 033 calls, finds the account, creates the session, records the audit event) → redirect.
//! A sign-in counts when the last step returns 302 to `return_to` with a session cookie.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod load;

use std::collections::BTreeMap;

const PERSONAS: [&str; 3] = ["personal-1", "personal-2", "legal-1"];

async fn step(
    client: &reqwest::Client,
    jar: &mut BTreeMap<String, String>,
    url: &str,
) -> Option<String> {
    let mut req = client.get(url);
    if !jar.is_empty() {
        let c: Vec<String> = jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        req = req.header("cookie", c.join("; "));
    }
    let res = req.send().await.ok()?;
    for v in res.headers().get_all("set-cookie") {
        let s = v.to_str().ok()?;
        let (k, val) = s.split(';').next()?.split_once('=')?;
        if s.contains("Max-Age=0") {
            jar.remove(k);
        } else {
            jar.insert(k.to_owned(), val.to_owned());
        }
    }
    if res.status() != 302 {
        return None;
    }
    res.headers()
        .get("location")?
        .to_str()
        .ok()
        .map(str::to_owned)
}

/// One complete sign-in; `true` when it ended with a session.
async fn sign_in(client: &reqwest::Client, base: &str, persona: &str) -> bool {
    let mut jar = BTreeMap::new();
    let abs = |u: String| {
        if u.starts_with('/') {
            format!("{base}{u}")
        } else {
            u
        }
    };
    let Some(check) = step(
        client,
        &mut jar,
        &format!("{base}/sso/fujian/login?return_to=/api/me"),
    )
    .await
    else {
        return false;
    };
    let Some(cb) = step(client, &mut jar, &abs(check)).await else {
        return false;
    };
    let Some(login) = step(client, &mut jar, &abs(cb)).await else {
        return false;
    };
    let Some(cb2) = step(
        client,
        &mut jar,
        &format!("{}&persona={persona}", abs(login)),
    )
    .await
    else {
        return false;
    };
    let Some(done) = step(client, &mut jar, &abs(cb2)).await else {
        return false;
    };
    done == "/api/me" && jar.contains_key("__Host-hub_session")
}

fn main() {
    let (base, browsers, seconds) = load::args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(browsers * 2)
            .build()
            .unwrap();
        // Warm-up: the accounts exist after the first sign-in of each persona.
        for p in PERSONAS {
            assert!(sign_in(&client, &base, p).await, "a sign-in failed: is `hub demo` running at {base}?");
        }
        let summary = load::run(browsers, seconds, move |i, n| {
            let (client, base) = (client.clone(), base.clone());
            async move { sign_in(&client, &base, PERSONAS[(i + n as usize) % 3]).await }
        })
        .await;
        println!(
            "complete provincial sign-ins: {:.0}/s over {:.1} s with {browsers} browsers ({} done, {} failed); flow latency p50 {:?} p99 {:?}",
            summary.per_second(),
            summary.elapsed,
            summary.done,
            summary.failed,
            summary.p50,
            summary.p99
        );
    });
}
