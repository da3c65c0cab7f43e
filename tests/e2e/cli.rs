//! The `hub` command line, run as a real process: exit codes, configuration problems, migration,
//! break-glass tokens, the demo, JSON logs and graceful shutdown on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tests::anyhow::{Context, Result, bail, ensure};
use tests::{Env, Store, Test, hub_command, json, test};

pub fn tests() -> Vec<Test> {
    vec![
        test!(sqlite: check_config_reports_every_problem_with_exit_codes),
        test!(sqlite: serve_refuses_a_bad_configuration),
        test!(migrate_is_idempotent),
        test!(create_token_prints_a_token_that_works),
        test!(sqlite: demo_serves_with_working_credentials),
        test!(sqlite: map_lists_and_translates_offline),
        test!(sqlite: logs_are_json_with_request_ids_and_without_secrets),
        test!(sqlite: sigterm_lets_requests_in_flight_finish),
    ]
}

async fn check_config_reports_every_problem_with_exit_codes(_env: Env) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let bad = tests::write(
        &dir.path().join("hub.toml"),
        "[server]\nlisten = \"nonsense\"\nurll = \"x\"\n\n[admin]\nlockout_threshold = \"five\"\n\n[audit]\nretention = \"30d\"\n",
    );
    let out = hub_command(None).arg("check-config").arg(&bad).output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(out.status.code() == Some(1), "{:?} {stderr}", out.status);
    ensure!(stderr.contains("4 problem(s)"), "{stderr}");
    ensure!(
        stderr.contains("hub.toml:3: server.urll: unknown key `urll`"),
        "{stderr}"
    );
    ensure!(stderr.contains("hub.toml:2: server.listen:"), "{stderr}");
    ensure!(
        stderr.contains("hub.toml:6: admin.lockout_threshold:"),
        "{stderr}"
    );
    ensure!(
        stderr.contains("hub.toml:9: audit.retention: must be at least 180d"),
        "{stderr}"
    );

    let good = tests::write(
        &dir.path().join("good.toml"),
        "[server]\nlisten = \"127.0.0.1:9999\"\n",
    );
    let out = hub_command(None).arg("check-config").arg(&good).output()?;
    ensure!(
        out.status.code() == Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(String::from_utf8_lossy(&out.stdout).contains("configuration is valid"));

    // Environment variables are checked with the file and named as the source.
    let out = hub_command(None)
        .arg("check-config")
        .arg(&good)
        .env("HUB_ADMIN__LOCKOUT_TRESHOLD", "3")
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(out.status.code() == Some(1));
    ensure!(
        stderr.contains(
            "environment variable HUB_ADMIN__LOCKOUT_TRESHOLD: admin.lockout_treshold: unknown key"
        ),
        "{stderr}"
    );

    let out = hub_command(None)
        .arg("check-config")
        .arg(dir.path().join("missing.toml"))
        .output()?;
    ensure!(out.status.code() == Some(1));
    // Usage errors exit 2.
    ensure!(
        hub_command(None)
            .arg("check-config")
            .output()?
            .status
            .code()
            == Some(2)
    );
    ensure!(
        hub_command(None)
            .arg("no-such-command")
            .output()?
            .status
            .code()
            == Some(2)
    );
    Ok(())
}

async fn serve_refuses_a_bad_configuration(_env: Env) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let out = hub_command(None)
        .args(["serve", "--listen", "not-an-address"])
        .env("HUB_DATA_DIR", dir.path())
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(out.status.code() == Some(1), "{stderr}");
    ensure!(
        stderr.contains("command-line flag --listen: server.listen"),
        "{stderr}"
    );
    Ok(())
}

async fn migrate_is_idempotent(env: Env) -> Result<()> {
    let store = env.store().await?;
    for _ in 0..2 {
        let out = hub_command(Some(&store)).arg("migrate").output()?;
        ensure!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let db = store.connect().await?;
    ensure!(db.scalar_i64("SELECT COUNT(*) FROM audit_head").await? == 1);
    db.close().await;
    Ok(())
}

async fn create_token_prints_a_token_that_works(env: Env) -> Result<()> {
    let store = env.store().await?;
    let out = hub_command(Some(&store))
        .args([
            "admin",
            "create-token",
            "--role",
            "audit-admin",
            "--ttl",
            "1h",
        ])
        .output()?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout)?.trim().to_owned();
    ensure!(token.starts_with("hubt_") && token.len() > 40, "{token}");
    let hub = tests::TestHub::start(&store, &[]).await?;
    let page = json(
        hub.get_as(&token, "/api/admin/audit?event=admin.token_created")
            .await?,
        200,
    )
    .await?;
    ensure!(page["items"][0]["actor_kind"] == "system", "{page}");
    // The token itself is stored only as a digest.
    let db = store.connect().await?;
    let stored = db.strings("SELECT name FROM admin_tokens").await?;
    ensure!(stored == vec!["break-glass".to_owned()]);
    ensure!(
        !store_contains(&store, &token).await?,
        "the token is stored in clear"
    );
    // Usage errors: unknown role.
    let out = hub_command(Some(&store))
        .args(["admin", "create-token", "--role", "root"])
        .output()?;
    ensure!(out.status.code() == Some(2));
    db.close().await;
    hub.stop().await
}

/// Whether `needle` appears anywhere in the store's text columns or (SQLite) the database file.
async fn store_contains(store: &Store, needle: &str) -> Result<bool> {
    if store.pg_url.is_none() {
        let mut found = false;
        for f in ["hub.db", "hub.db-wal"] {
            if let Ok(bytes) = std::fs::read(store.dir.path().join(f)) {
                found |= bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
            }
        }
        return Ok(found);
    }
    let db = store.connect().await?;
    let mut found = false;
    for (table, cols) in [
        ("admin_tokens", "id || name || role"),
        ("audit_log", "COALESCE(details, '') || COALESCE(target, '')"),
    ] {
        let rows = db.strings(&format!("SELECT {cols} FROM {table}")).await?;
        found |= rows.iter().any(|r| r.contains(needle));
    }
    db.close().await;
    Ok(found)
}

/// A `hub` process with its output collected line by line.
struct Process {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Process {
    fn spawn(mut cmd: std::process::Command) -> Result<Process> {
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            });
        }
        Ok(Process { child, lines })
    }

    /// Waits for a line containing `needle` and returns it.
    fn wait_for(&mut self, needle: &str) -> Result<String> {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if let Some(l) = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.contains(needle))
            {
                return Ok(l.clone());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("hub exited with {status}: {}", self.output());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!("no line with {needle:?}: {}", self.output())
    }

    fn output(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    fn terminate(&mut self) -> Result<std::process::ExitStatus> {
        let pid = self.child.id().to_string();
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()?;
        let start = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait()? {
                return Ok(s);
            }
            if start.elapsed() > Duration::from_secs(30) {
                let _ = self.child.kill();
                bail!("hub did not stop after SIGTERM: {}", self.output());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address in the JSON `listening` log line.
fn listening_addr(line: &str) -> Result<String> {
    let v: serde_json::Value =
        serde_json::from_str(line).with_context(|| format!("not JSON: {line}"))?;
    Ok(v["addr"].as_str().context("no addr")?.to_owned())
}

async fn demo_serves_with_working_credentials(_env: Env) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut cmd = hub_command(None);
    cmd.args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        // The catalog's public platforms are on the internet, which tests must not call.
        .env("HUB_CONNECTORS__PROBES", "false");
    let mut p = Process::spawn(cmd)?;
    let open = p.wait_for("Open:")?;
    let base = open
        .split_whitespace()
        .nth(1)
        .context("URL")?
        .trim_end_matches('/')
        .to_owned();
    let token_line = p.wait_for("audit-admin     hubt_")?;
    let token = token_line
        .split_whitespace()
        .nth(1)
        .context("token")?
        .to_owned();
    let client = tests::client();
    ensure!(client.get(format!("{base}/readyz")).send().await?.status() == 200);
    // A living portal: the demo's institutions are listed and counted.
    let institutions = client
        .get(format!("{base}/institutions"))
        .send()
        .await?
        .text()
        .await?;
    ensure!(
        institutions.contains("龙岩农村商业银行（演示）")
            && institutions.contains("龙岩市融资担保有限责任公司（演示）"),
        "{institutions}"
    );
    let figures = json(
        client
            .get(format!("{base}/api/portal/figures"))
            .send()
            .await?,
        200,
    )
    .await?;
    ensure!(figures["institutions"] == 5, "{figures}");
    let page = json(
        client
            .get(format!("{base}/api/admin/audit"))
            .bearer_auth(&token)
            .send()
            .await?,
        200,
    )
    .await?;
    ensure!(page["items"].as_array().is_some_and(|a| !a.is_empty()));
    // The demo's content is published, listed and found.
    let policies = client
        .get(format!("{base}/policies"))
        .send()
        .await?
        .text()
        .await?;
    ensure!(
        policies.contains("龙岩市中小微企业贷款贴息实施办法（演示）"),
        "{policies}"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let found = json(
            client
                .get(format!("{base}/api/search"))
                .query(&[("q", "贴息")])
                .send()
                .await?,
            200,
        )
        .await?;
        if found["total"].as_u64().unwrap_or(0) >= 2 {
            break;
        }
        ensure!(
            std::time::Instant::now() < deadline,
            "the demo content is not searchable: {found}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The banner names five administrators with passwords and TOTP secrets.
    ensure!(
        p.output().matches("TOTP secret").count() == 5,
        "{}",
        p.output()
    );

    // The ten platforms are listed; one without a public entry leads to its sandbox platform.
    let list = json(
        client.get(format!("{base}/api/connectors")).send().await?,
        200,
    )
    .await?;
    let mut codes: Vec<&str> = list
        .as_array()
        .context("a list")?
        .iter()
        .filter_map(|c| c["code"].as_str())
        .collect();
    codes.sort_unstable();
    ensure!(
        codes
            == [
                "account-permit",
                "carbon",
                "coin-reservation",
                "emission-rights",
                "forest-rights",
                "mediation",
                "movable-registry",
                "pbc-credit",
                "receivables",
                "safe-forex"
            ],
        "{codes:?}"
    );
    let mut b = tests::Browser::new();
    let go = b.get(&format!("{base}/go/coin-reservation")).await?;
    ensure!(
        go.status == 302
            && go.location.as_deref()
                == Some(format!("{base}/sandbox/platforms/coin-reservation").as_str()),
        "{} {:?}",
        go.status,
        go.location
    );
    // `mediation` needs sign-in first: the provincial sandbox, then back to the jump, which
    // carries a signed hand-off that the sandbox platform verifies.
    let go = b.get(&format!("{base}/go/mediation")).await?;
    let login = go.location.clone().unwrap_or_default();
    ensure!(
        go.status == 302 && login.starts_with("/sso/fujian/login?return_to=%2Fgo%2Fmediation"),
        "{} {login}",
        go.status
    );
    let (jump, visited) = b
        .follow(
            &base,
            &format!("{base}{login}"),
            |u| {
                if u.contains("/goLogin.do?") {
                    format!("{u}&persona=personal-1")
                } else {
                    u
                }
            },
            |u| u.contains("/sandbox/platforms/"),
        )
        .await?;
    let target = jump.location.clone().unwrap_or_default();
    ensure!(
        target.starts_with(&format!("{base}/sandbox/platforms/mediation"))
            && target.contains("hub_sig="),
        "{target} after {visited:?}"
    );
    let platform = b.get(&target).await?;
    ensure!(
        platform.status == 200 && platform.body.contains("签名验证通过"),
        "{}",
        platform.body
    );
    let me = b.get(&format!("{base}/api/me")).await?;
    ensure!(me.json()?["display_name"] == "张三", "{}", me.body);
    // Arriving from the e-Longyan sandbox portal, in both modes, signs in too.
    for mode in ["ticket", "signed"] {
        let mut e = tests::Browser::new();
        let (landed, visited) = e
            .follow(
                &base,
                &format!("{base}/sandbox/elongyan/jump?persona=legal-1&target=/api/me&mode={mode}"),
                |u| u,
                |u| !(u.contains("/sso/") || u.contains("/sandbox/")),
            )
            .await?;
        ensure!(
            landed.status == 302 && landed.location.as_deref() == Some("/api/me"),
            "{mode}: {} {:?} after {visited:?}",
            landed.status,
            landed.location
        );
        let me = e.get(&format!("{base}/api/me")).await?;
        ensure!(me.json()?["kind"] == "legal_person", "{mode}: {}", me.body);
    }
    // The demo partner's messages fill the message log: three translated and delivered to the
    // sandbox consumer (one of them sent twice, applied once), one rejected with its position;
    // and one the other way, translated to the bank's XML, signed, and accepted by its inbox.
    let sys = p
        .wait_for("system-admin    hubt_")?
        .split_whitespace()
        .nth(1)
        .context("token")?
        .to_owned();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let log = loop {
        let page = json(
            client
                .get(format!("{base}/api/admin/messages"))
                .bearer_auth(&sys)
                .send()
                .await?,
            200,
        )
        .await?;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        let delivered = |direction: &str| {
            items
                .iter()
                .filter(|m| m["status"] == "delivered" && m["direction"] == direction)
                .count()
        };
        if delivered("inbound") == 3 && delivered("outbound") == 1 && items.len() == 5 {
            break items;
        }
        ensure!(std::time::Instant::now() < deadline, "{page}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let rejected = log
        .iter()
        .find(|m| m["status"] == "rejected")
        .context("a rejected message")?;
    ensure!(
        rejected["error_code"] == "mapping.type_invalid",
        "{rejected}"
    );
    let consumer = client
        .get(format!("{base}/sandbox/consumer/"))
        .send()
        .await?
        .text()
        .await?;
    ensure!(consumer.contains("已处理报文 3 条"), "{consumer}");
    ensure!(consumer.contains("共 1 条；验签未通过 0 次"), "{consumer}");
    ensure!(p.terminate()?.success());
    // Not a production mode: nothing is left listening, and the data went where it was told.
    ensure!(dir.path().join("hub.db").is_file());
    Ok(())
}

async fn logs_are_json_with_request_ids_and_without_secrets(env: Env) -> Result<()> {
    let store = env.store().await?;
    let key = tests::random_hex(32);
    let mut cmd = hub_command(Some(&store));
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .env("HUB_AUDIT__HMAC_KEY", &key);
    let mut p = Process::spawn(cmd)?;
    let addr = listening_addr(&p.wait_for("\"listening\"")?)?;
    let client = tests::client();
    let password = "Very-Secret-Passw0rd!";
    let res = client
        .post(format!("http://{addr}/api/admin/session"))
        .json(&serde_json::json!({ "username": "nobody", "password": password, "totp": "123456" }))
        .send()
        .await?;
    let rid = res.headers()["x-request-id"].to_str()?.to_owned();
    ensure!(res.status() == 401);
    let token = "hubt_this-token-is-unknown-and-must-not-be-logged";
    let res = client
        .get(format!("http://{addr}/api/admin/audit"))
        .bearer_auth(token)
        .send()
        .await?;
    let rid2 = res.headers()["x-request-id"].to_str()?.to_owned();
    ensure!(res.status() == 401);
    let line = p.wait_for(&format!("\"request_id\":\"{rid2}\""))?;
    ensure!(p.terminate()?.success());
    let out = p.output();
    let mut access = 0;
    for l in out.lines().filter(|l| l.starts_with('{')) {
        let v: serde_json::Value =
            serde_json::from_str(l).with_context(|| format!("not JSON: {l}"))?;
        ensure!(v["level"].is_string() && v["timestamp"].is_string(), "{l}");
        if v["target"] == "hub::access" {
            access += 1;
            ensure!(
                v["span"]["request_id"].is_string(),
                "access line without request id: {l}"
            );
        }
    }
    ensure!(access >= 2, "{out}");
    ensure!(out.contains(&format!("\"request_id\":\"{rid}\"")), "{out}");
    ensure!(line.contains("\"status\":401"), "{line}");
    for secret in [password, token, key.as_str()] {
        ensure!(
            !out.contains(secret),
            "a secret reached the log: {secret}\n{out}"
        );
    }
    Ok(())
}

/// SIGTERM stops new connections but lets a request that is being received finish.
async fn sigterm_lets_requests_in_flight_finish(env: Env) -> Result<()> {
    let store = env.store().await?;
    let mut cmd = hub_command(Some(&store));
    cmd.args(["serve", "--listen", "127.0.0.1:0"]);
    let mut p = Process::spawn(cmd)?;
    let addr = listening_addr(&p.wait_for("\"listening\"")?)?;
    let body = br#"{"username":"nobody","password":"x","totp":"123456"}"#;
    let mut s = std::net::TcpStream::connect(&addr)?;
    s.set_read_timeout(Some(Duration::from_secs(20)))?;
    // Headers and half the body, then SIGTERM, then the rest.
    write!(
        s,
        "POST /api/admin/session HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )?;
    s.write_all(&body[..20])?;
    s.flush()?;
    std::thread::sleep(Duration::from_millis(200));
    let pid = p.child.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()?;
    p.wait_for("shutting down")?;
    // New connections are refused once shutdown has begun.
    std::thread::sleep(Duration::from_millis(200));
    ensure!(
        std::net::TcpStream::connect(&addr).is_err(),
        "still accepting after SIGTERM"
    );
    s.write_all(&body[20..])?;
    let mut response = String::new();
    s.read_to_string(&mut response)?;
    ensure!(
        response.starts_with("HTTP/1.1 401"),
        "in-flight request cut off: {response:?}"
    );
    ensure!(response.contains("admin.credentials_invalid"), "{response}");
    let status = p.terminate()?;
    ensure!(status.success(), "exit {status}: {}", p.output());
    // The stop is in the audit trail, after the sign-in attempt.
    let db = store.connect().await?;
    let events = db
        .strings("SELECT event FROM audit_log ORDER BY seq")
        .await?;
    ensure!(
        events.last().map(String::as_str) == Some("system.stopped"),
        "{events:?}"
    );
    ensure!(events.iter().any(|e| e == "admin.login"), "{events:?}");
    db.close().await;
    Ok(())
}

/// `hub map`: the installed mappings, both directions through the shipped fixtures, and errors
/// with their code, line, column and path on standard error.
async fn map_lists_and_translates_offline(_env: Env) -> Result<()> {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../mappings/tests/fixtures/financing-demand-notice");
    let out = hub_command(None).args(["map", "--list"]).output()?;
    ensure!(out.status.code() == Some(0));
    let names = String::from_utf8(out.stdout)?;
    ensure!(
        names.lines().collect::<Vec<_>>()
            == [
                "credit-code-verification-reply",
                "financing-demand-notice",
                "receivables-registration-result"
            ],
        "{names}"
    );

    let out = hub_command(None)
        .args(["map", "--mapping", "financing-demand-notice"])
        .arg(fixtures.join("input.xml"))
        .output()?;
    ensure!(
        out.status.code() == Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures.join("expected.json"))?)?;
    ensure!(json == expected, "{json}");
    // Amounts stay exact and identifiers keep their leading zeros.
    ensure!(
        json["demands"][0]["amount"] == "5000000.00" && json["demands"][0]["demand_no"] == "000123"
    );

    // Back to XML (from standard input), and that XML maps to the same JSON again.
    let out = with_stdin(
        hub_command(None).args(["map", "--mapping", "financing-demand-notice", "--to", "xml"]),
        expected.to_string().as_bytes(),
    )?;
    ensure!(out.status.code() == Some(0));
    let xml_path = tempfile::NamedTempFile::new()?;
    std::fs::write(xml_path.path(), &out.stdout)?;
    let again = hub_command(None)
        .args(["map", "--mapping", "financing-demand-notice"])
        .arg(xml_path.path())
        .output()?;
    ensure!(serde_json::from_slice::<serde_json::Value>(&again.stdout)? == expected);

    // Invalid input: exit 1, the code, the line and column, and the path.
    let bad = tempfile::NamedTempFile::new()?;
    std::fs::write(
        bad.path(),
        "<?xml version=\"1.0\"?>\n<FinancingDemandNotice version=\"1.0\">\n  <Header>\n    <MessageId>M1</MessageId>\n    <SendTime>yesterday</SendTime>\n",
    )?;
    let out = hub_command(None)
        .args(["map", "--mapping", "financing-demand-notice"])
        .arg(bad.path())
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(out.status.code() == Some(1), "{stderr}");
    ensure!(
        stderr.contains("error[mapping.type_invalid]")
            && stderr.contains("/FinancingDemandNotice/Header/SendTime")
            && stderr.contains("line 5"),
        "{stderr}"
    );
    // A DTD with an entity-expansion bomb is refused before anything is expanded.
    let out = with_stdin(
        hub_command(None).args(["map", "--mapping", "financing-demand-notice"]),
        b"<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;\">]>\n<FinancingDemandNotice>&lol2;</FinancingDemandNotice>\n",
    )?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.code() == Some(1) && stderr.contains("error[mapping.dtd_forbidden]"),
        "{stderr}"
    );
    // Unknown mapping or missing arguments: usage errors.
    let out = hub_command(None)
        .args(["map", "--mapping", "no-such-mapping"])
        .output()?;
    ensure!(out.status.code() == Some(2));
    let out = hub_command(None).arg("map").output()?;
    ensure!(out.status.code() == Some(2));
    // The JSON side as a JSON Schema document, for partners' developers.
    let out = hub_command(None)
        .args([
            "map",
            "--mapping",
            "financing-demand-notice",
            "--json-schema",
        ])
        .output()?;
    ensure!(out.status.code() == Some(0));
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    ensure!(
        schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
            && schema["required"]
                .as_array()
                .is_some_and(|r| r.contains(&serde_json::json!("message_id")))
            && schema["additionalProperties"] == false,
        "{schema}"
    );
    Ok(())
}

/// Runs `cmd` with `input` on its standard input.
fn with_stdin(cmd: &mut std::process::Command, input: &[u8]) -> Result<std::process::Output> {
    use std::io::Write;
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    child.stdin.take().context("stdin")?.write_all(input)?;
    Ok(child.wait_with_output()?)
}
