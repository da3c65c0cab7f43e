//! The audit trail: the chain detects every kind of tampering and names the first broken
//! record; the store refuses changes; queries, export and retention.

use std::time::Duration;

use platform::admin::Role;
use platform::audit::{Actor, ActorKind, AuditEvent, Outcome};
use platform::clock::{Clock, ManualClock, Millis};
use tests::anyhow::{Result, ensure};
use tests::{Backend, Db, Env, Test, TestHub, hub_command, json, test};

pub fn tests() -> Vec<Test> {
    vec![
        test!(tampering_is_detected_and_the_first_broken_record_named),
        test!(the_application_cannot_change_or_remove_audit_records),
        test!(queries_filter_and_page_through_every_record),
        test!(export_streams_json_lines_and_is_itself_audited),
        test!(retention_archives_before_purging_and_the_chain_stays_verifiable),
        test!(retention_runs_on_schedule_with_the_configured_period),
        test!(concurrent_appends_form_one_unbroken_chain),
        test!(postgres: two_nodes_append_to_one_chain),
        test!(postgres: the_application_role_runs_the_hub_but_cannot_touch_the_trail),
    ]
}

fn event(i: usize) -> AuditEvent {
    AuditEvent::new("test.event", Outcome::Success)
        .actor(Actor::new(
            ActorKind::Admin,
            Some(format!("a{}", i % 3)),
            Some("tester".into()),
        ))
        .target(format!("thing:{i}"))
        .details(serde_json::json!({ "i": i, "text": "审计记录" }))
}

async fn append(hub: &TestHub, n: usize) -> Result<()> {
    for i in 0..n {
        hub.state.platform.audit.append(event(i)).await?;
    }
    Ok(())
}

/// Lifts the store's protections, as an attacker with database-owner rights could.
async fn lift_protection(db: &Db, backend: Backend) -> Result<()> {
    match backend {
        Backend::Sqlite => {
            for t in [
                "audit_log_no_update",
                "audit_log_guard_delete",
                "audit_head_forward_only",
            ] {
                db.exec(&format!("DROP TRIGGER {t}")).await?;
            }
        }
        Backend::Postgres => {
            db.exec("ALTER TABLE audit_log DISABLE TRIGGER USER")
                .await?;
            db.exec("ALTER TABLE audit_head DISABLE TRIGGER USER")
                .await?;
        }
    }
    Ok(())
}

struct Verdict {
    intact: bool,
    seq: Option<i64>,
    kind: Option<String>,
}

async fn verify_api(hub: &TestHub, token: &str) -> Result<Verdict> {
    let r = json(hub.get_as(token, "/api/admin/audit/verify").await?, 200).await?;
    Ok(Verdict {
        intact: r["intact"] == true,
        seq: r["first_break"]["seq"].as_i64(),
        kind: r["first_break"]["kind"].as_str().map(str::to_owned),
    })
}

/// `hub audit verify` as a process: exit status and what it printed.
fn verify_cli(hub: &TestHub) -> Result<(i32, String)> {
    let out = hub_command(Some(&hub.store))
        .args(["audit", "verify"])
        .output()?;
    Ok((
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

async fn expect_break(hub: &TestHub, token: &str, seq: i64, kind: &str) -> Result<()> {
    let v = verify_api(hub, token).await?;
    ensure!(
        !v.intact && v.seq == Some(seq) && v.kind.as_deref() == Some(kind),
        "expected {kind} at {seq}, got {:?} {:?}",
        v.kind,
        v.seq
    );
    expect_break_cli(hub, seq).await
}

async fn expect_break_cli(hub: &TestHub, seq: i64) -> Result<()> {
    let (code, out) = verify_cli(hub)?;
    ensure!(code == 1, "exit {code}: {out}");
    ensure!(out.contains(&format!("BROKEN at record {seq}")), "{out}");
    Ok(())
}

async fn expect_intact(hub: &TestHub, token: &str) -> Result<()> {
    ensure!(
        verify_api(hub, token).await?.intact,
        "chain reported broken"
    );
    let (code, out) = verify_cli(hub)?;
    ensure!(
        code == 0 && out.contains("audit chain intact"),
        "exit {code}: {out}"
    );
    Ok(())
}

async fn tampering_is_detected_and_the_first_broken_record_named(env: Env) -> Result<()> {
    let hub = env.hub().await?;
    append(&hub, 20).await?;
    let token = hub.token(Role::AuditAdmin).await?;
    expect_intact(&hub, &token).await?;
    let db = hub.store.connect().await?;
    lift_protection(&db, env.backend).await?;

    // Modified.
    db.exec("UPDATE audit_log SET outcome = 'failure' WHERE seq = 7")
        .await?;
    expect_break(&hub, &token, 7, "modified").await?;
    db.exec("UPDATE audit_log SET outcome = 'success' WHERE seq = 7")
        .await?;
    expect_intact(&hub, &token).await?;

    // Deleted from the middle.
    db.exec("CREATE TABLE saved AS SELECT * FROM audit_log WHERE seq = 9")
        .await?;
    db.exec("DELETE FROM audit_log WHERE seq = 9").await?;
    expect_break(&hub, &token, 9, "missing").await?;
    db.exec("INSERT INTO audit_log SELECT * FROM saved").await?;
    db.exec("DROP TABLE saved").await?;
    expect_intact(&hub, &token).await?;

    // Reordered: two records swap places.
    db.exec("UPDATE audit_log SET seq = -11 WHERE seq = 11")
        .await?;
    db.exec("UPDATE audit_log SET seq = 11 WHERE seq = 12")
        .await?;
    db.exec("UPDATE audit_log SET seq = 12 WHERE seq = -11")
        .await?;
    expect_break(&hub, &token, 11, "modified").await?;
    db.exec("UPDATE audit_log SET seq = -12 WHERE seq = 12")
        .await?;
    db.exec("UPDATE audit_log SET seq = 12 WHERE seq = 11")
        .await?;
    db.exec("UPDATE audit_log SET seq = 11 WHERE seq = -12")
        .await?;
    expect_intact(&hub, &token).await?;

    // Inserted: a copy of a genuine record placed after the head. The next append finds its
    // position taken and fails rather than record anything out of order (so the API, which
    // records each verification, refuses too); the command line names the record.
    let head = db.scalar_i64("SELECT seq FROM audit_head").await?;
    db.exec(&format!(
        "INSERT INTO audit_log SELECT {next}, ts, request_id, actor_kind, actor_id, actor_name, acting_for, agent, event, target, outcome, reason, source_ip, user_agent, details, prev_hash, hash FROM audit_log WHERE seq = 5",
        next = head + 1
    ))
    .await?;
    expect_break_cli(&hub, head + 1).await?;
    tests::assert_problem(
        hub.get_as(&token, "/api/admin/audit/verify").await?,
        503,
        "audit.unavailable",
    )
    .await?;
    db.exec(&format!("DELETE FROM audit_log WHERE seq = {}", head + 1))
        .await?;
    expect_intact(&hub, &token).await?;

    // Removed from the end (the head remembers how far the chain went).
    let last = db.scalar_i64("SELECT MAX(seq) FROM audit_log").await?;
    db.exec(&format!(
        "CREATE TABLE saved AS SELECT * FROM audit_log WHERE seq = {last}"
    ))
    .await?;
    db.exec(&format!("DELETE FROM audit_log WHERE seq = {last}"))
        .await?;
    expect_break(&hub, &token, last, "truncated").await?;
    db.exec("INSERT INTO audit_log SELECT * FROM saved").await?;

    expect_intact(&hub, &token).await?;

    // Rolling the head back (to hide removed records) does not help: its seal is keyed.
    let head = db.scalar_i64("SELECT seq FROM audit_head").await?;
    db.exec(&format!(
        "UPDATE audit_head SET seq = {} WHERE id = 1",
        head - 1
    ))
    .await?;
    expect_break_cli(&hub, head - 1).await?;
    let (_, out) = verify_cli(&hub)?;
    ensure!(out.contains("not sealed with this key"), "{out}");
    db.close().await;
    hub.stop().await
}

async fn the_application_cannot_change_or_remove_audit_records(env: Env) -> Result<()> {
    let hub = env.hub().await?;
    append(&hub, 5).await?;
    // The hub's own credentials (the test connects with the same URL).
    let db = hub.store.connect().await?;
    let before = db.scalar_i64("SELECT COUNT(*) FROM audit_log").await?;
    for sql in [
        "UPDATE audit_log SET outcome = 'failure' WHERE seq = 2",
        "UPDATE audit_log SET details = NULL",
        "DELETE FROM audit_log WHERE seq = 3",
        "DELETE FROM audit_log",
        "UPDATE audit_head SET seq = 1",
        "DELETE FROM audit_head",
    ] {
        let r = db.exec(sql).await;
        ensure!(r.is_err(), "{sql} was allowed");
        let msg = format!("{:#}", r.err().map(|e| e.to_string()).unwrap_or_default());
        ensure!(
            msg.contains("append-only") || msg.contains("kept until") || msg.contains("audit_head"),
            "{sql}: {msg}"
        );
    }
    if env.backend == Backend::Postgres {
        ensure!(
            db.exec("TRUNCATE audit_log").await.is_err(),
            "TRUNCATE was allowed"
        );
    }
    // Deleting requires an archive of the record and 180 days: a forged archive row of young
    // records does not open the way.
    let blob = match env.backend {
        Backend::Sqlite => "X'00'",
        Backend::Postgres => "'\\x00'::bytea",
    };
    db.exec(&format!(
        "INSERT INTO audit_archive (created_at, from_seq, up_to_seq, last_hash, record_count, file_name, file_sm3, mac) VALUES (0, 1, 1000, {blob}, 1, 'x', {blob}, {blob})"
    ))
    .await?;
    ensure!(
        db.exec("DELETE FROM audit_log WHERE seq = 3")
            .await
            .is_err()
    );
    ensure!(db.scalar_i64("SELECT COUNT(*) FROM audit_log").await? == before);
    db.close().await;
    hub.stop().await
}

async fn queries_filter_and_page_through_every_record(env: Env) -> Result<()> {
    let hub = env.hub().await?;
    let t0 = hub.clock.now();
    for i in 0..30 {
        let outcome = if i % 5 == 0 {
            Outcome::Failure
        } else {
            Outcome::Success
        };
        let name = if i % 2 == 0 {
            "demo.login"
        } else {
            "demo.updated"
        };
        hub.state
            .platform
            .audit
            .append(
                AuditEvent::new(name, outcome)
                    .actor(Actor::new(
                        ActorKind::Admin,
                        Some(format!("a{}", i % 3)),
                        None,
                    ))
                    .target(format!("thing:{i}")),
            )
            .await?;
        hub.clock.advance(Duration::from_secs(60));
    }
    let token = hub.token(Role::AuditAdmin).await?;
    // Paging: every record once, newest first.
    let mut seen = Vec::new();
    let mut path = "/api/admin/audit?limit=7&event=demo.*".to_owned();
    loop {
        let page = json(hub.get_as(&token, &path).await?, 200).await?;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        ensure!(items.len() <= 7);
        seen.extend(items.iter().filter_map(|r| r["seq"].as_i64()));
        match page["next_before"].as_i64() {
            Some(b) => path = format!("/api/admin/audit?limit=7&event=demo.*&before={b}"),
            None => break,
        }
    }
    ensure!(seen.len() == 30, "{seen:?}");
    ensure!(
        seen.windows(2).all(|w| w[0] > w[1]),
        "not newest first: {seen:?}"
    );

    let count = |q: &str| {
        let q = q.to_owned();
        let hub = &hub;
        let token = token.clone();
        async move {
            let page = json(
                hub.get_as(&token, &format!("/api/admin/audit?limit=500&{q}"))
                    .await?,
                200,
            )
            .await?;
            Ok::<usize, tests::anyhow::Error>(page["items"].as_array().map_or(0, Vec::len))
        }
    };
    ensure!(count("event=demo.login").await? == 15);
    ensure!(count("outcome=failure").await? == 6);
    ensure!(count("actor=a1&event=demo.*").await? == 10);
    ensure!(count("target=thing:7").await? == 1);
    let from = Millis(t0.0 + 10 * 60_000).to_rfc3339();
    let to = Millis(t0.0 + 20 * 60_000).to_rfc3339();
    ensure!(count(&format!("event=demo.*&from={from}&to={to}")).await? == 10);
    // Offsets are honoured: +08:00 is the same instant.
    let from_cst = time::OffsetDateTime::from_unix_timestamp((t0.0 + 10 * 60_000) / 1000)?
        .to_offset(time::macros::offset!(+8))
        .format(&time::format_description::well_known::Rfc3339)?;
    ensure!(
        count(&format!(
            "event=demo.*&from={}",
            from_cst.replace('+', "%2B")
        ))
        .await?
            == 20
    );
    // A wildcard is only a trailing prefix, not SQL.
    ensure!(count("event=%25").await? == 0);
    ensure!(count("event=demo.lo*").await? == 15);

    let stats = json(
        hub.get_as(&token, "/api/admin/audit/stats?event=demo.*")
            .await?,
        200,
    )
    .await?;
    let rows = stats.as_array().cloned().unwrap_or_default();
    let find = |e: &str, o: &str| {
        rows.iter()
            .find(|r| r["event"] == e && r["outcome"] == o)
            .and_then(|r| r["count"].as_i64())
    };
    ensure!(find("demo.login", "failure") == Some(3), "{stats}");
    ensure!(find("demo.login", "success") == Some(12), "{stats}");
    ensure!(find("demo.updated", "failure") == Some(3), "{stats}");
    ensure!(find("demo.updated", "success") == Some(12), "{stats}");
    tests::assert_problem(
        hub.get_as(&token, "/api/admin/audit?outcome=maybe").await?,
        400,
        "request.invalid_query",
    )
    .await?;
    hub.stop().await
}

async fn export_streams_json_lines_and_is_itself_audited(env: Env) -> Result<()> {
    let hub = env.hub().await?;
    append(&hub, 2_500).await?;
    let token = hub.token(Role::AuditAdmin).await?;
    let res = hub
        .get_as(&token, "/api/admin/audit/export?event=test.event")
        .await?;
    ensure!(res.status() == 200);
    ensure!(res.headers()["content-type"] == "application/x-ndjson");
    let body = res.text().await?;
    let lines: Vec<serde_json::Value> = body
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    ensure!(lines.len() == 2_500, "{}", lines.len());
    // Oldest first, and each record chains onto the one before it.
    for w in lines.windows(2) {
        ensure!(w[1]["seq"].as_i64() == w[0]["seq"].as_i64().map(|s| s + 1));
        ensure!(w[1]["prev_hash"] == w[0]["hash"]);
    }
    ensure!(lines[0]["details"]["text"] == "审计记录");
    let page = json(
        hub.get_as(&token, "/api/admin/audit?event=audit.exported")
            .await?,
        200,
    )
    .await?;
    ensure!(page["items"][0]["actor_kind"] == "token", "{page}");
    ensure!(
        page["items"][0]["details"]["event"] == "test.event",
        "{page}"
    );
    hub.stop().await
}

async fn retention_archives_before_purging_and_the_chain_stays_verifiable(env: Env) -> Result<()> {
    let store = env.store().await?;
    let now = platform::clock::SystemClock.now();
    let clock = ManualClock::new(now.minus(Duration::from_secs(400 * 86_400)));
    let hub = TestHub::start_with_clock(&store, store.config(&[])?, clock.clone()).await?;
    // What a fresh hub records when it starts (the connector catalog's seeding, the start).
    let s = hub.state.platform.audit.head_seq();
    append(&hub, 10).await?;
    clock.set(now.minus(Duration::from_secs(100 * 86_400)));
    append(&hub, 5).await?;
    clock.set(now);

    let dir = store.dir.path().join("archive");
    let done = hub
        .state
        .platform
        .audit
        .archive_expired(Duration::from_secs(180 * 86_400), &dir)
        .await?;
    // The start records and the ten old events; the five recent ones stay.
    ensure!(done.len() == 1, "{done:?}");
    ensure!(
        done[0].from_seq == 1 && done[0].up_to_seq == s + 10 && done[0].records == s + 10,
        "{done:?}"
    );
    let text = std::fs::read_to_string(&done[0].file)?;
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    ensure!(lines.len() as i64 == s + 10);
    ensure!(lines.iter().any(|l| l["event"] == "system.started"));
    ensure!(lines[0]["seq"] == 1);
    for w in lines.windows(2) {
        ensure!(w[1]["prev_hash"] == w[0]["hash"]);
    }
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&done[0].file)?.permissions().mode() & 0o777;
        ensure!(mode == 0o600, "archive file mode {mode:o}");
    }
    let db = store.connect().await?;
    ensure!(db.scalar_i64("SELECT MIN(seq) FROM audit_log").await? == s + 11);
    ensure!(db.scalar_i64("SELECT COUNT(*) FROM audit_log").await? == 5);
    // The remaining chain verifies from the archive's anchor.
    let token = hub.token(Role::AuditAdmin).await?;
    let report = json(hub.get_as(&token, "/api/admin/audit/verify").await?, 200).await?;
    ensure!(
        report["intact"] == true && report["from_seq"] == s + 11,
        "{report}"
    );
    // Nothing more to do, and young records stay even with the archive row in place.
    ensure!(
        hub.state
            .platform
            .audit
            .archive_expired(Duration::from_secs(180 * 86_400), &dir)
            .await?
            .is_empty()
    );
    ensure!(
        db.exec(&format!("DELETE FROM audit_log WHERE seq = {}", s + 11))
            .await
            .is_err()
    );
    db.close().await;
    hub.stop().await
}

async fn concurrent_appends_form_one_unbroken_chain(env: Env) -> Result<()> {
    let hub = env.hub().await?;
    let start = hub.state.platform.audit.head_seq();
    let audit = hub.state.platform.audit.clone();
    let tasks: Vec<_> = (0..400)
        .map(|i| {
            let a = audit.clone();
            tokio::spawn(async move { a.append(event(i)).await })
        })
        .collect();
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await??);
    }
    seqs.sort_unstable();
    ensure!(
        seqs == ((start + 1)..=(start + 400)).collect::<Vec<_>>(),
        "positions not contiguous"
    );
    let token = hub.token(Role::AuditAdmin).await?;
    ensure!(verify_api(&hub, &token).await?.intact);
    hub.stop().await
}

async fn two_nodes_append_to_one_chain(env: Env) -> Result<()> {
    let store = env.store().await?;
    let a = TestHub::start(&store, &[]).await?;
    let b = TestHub::start(&store, &[]).await?;
    let mut tasks = Vec::new();
    for i in 0..300 {
        let log = if i % 2 == 0 {
            a.state.platform.audit.clone()
        } else {
            b.state.platform.audit.clone()
        };
        tasks.push(tokio::spawn(async move { log.append(event(i)).await }));
    }
    for t in tasks {
        t.await??;
    }
    let token = a.token(Role::AuditAdmin).await?;
    let report = json(b.get_as(&token, "/api/admin/audit/verify").await?, 200).await?;
    ensure!(report["intact"] == true, "{report}");
    // The connector catalog's seeding (once: the store is shared), two starts, 300 events and
    // the token issue.
    ensure!(report["records"] == 304, "{report}");
    a.stop().await?;
    b.stop().await
}

/// `deploy/postgres-roles.sql` as documented: the owner migrates, the application role runs the
/// hub (and its commands) but cannot alter, delete or unprotect audit records.
async fn the_application_role_runs_the_hub_but_cannot_touch_the_trail(env: Env) -> Result<()> {
    let admin_url = tests::postgres_admin_url();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/postgres-roles.sql");
    let db_name = format!("hub_roles_{}", tests::random_hex(4));
    env.adopt_database(&db_name);
    let psql = |phase: &str| -> Result<()> {
        let out = std::process::Command::new("psql")
            .args([
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-v",
                &format!("db={db_name}"),
                "-d",
                &admin_url,
                "-f",
            ])
            .arg(&script)
            .output()?;
        ensure!(
            out.status.success(),
            "psql ({phase}): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    };
    psql("before migrate")?;
    let with_user = |user: &str| {
        admin_url
            .replacen("postgres@", &format!("{user}@"), 1)
            .rsplit_once('/')
            .map(|(base, _)| format!("{base}/{db_name}"))
            .unwrap_or_default()
    };
    let owner_url = with_user("hub_owner");
    let app_url = with_user("hub_app");
    let mut store = env.store().await?;
    for (k, v) in store.vars.iter_mut() {
        if k == "HUB_DATABASE_URL" {
            *v = owner_url.clone();
        }
    }
    let out = hub_command(Some(&store)).arg("migrate").output()?;
    ensure!(
        out.status.success(),
        "migrate as owner: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    psql("after migrate")?;
    for (k, v) in store.vars.iter_mut() {
        if k == "HUB_DATABASE_URL" {
            *v = app_url.clone();
        }
    }
    store.pg_url = Some(app_url.clone());
    let hub = TestHub::start(&store, &[]).await?;
    append(&hub, 3).await?;
    let token = hub.token(Role::AuditAdmin).await?;
    expect_intact(&hub, &token).await?;
    let db = store.connect().await?;
    for sql in [
        "UPDATE audit_log SET outcome = 'failure'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        "ALTER TABLE audit_log DISABLE TRIGGER USER",
        "DROP TRIGGER audit_log_no_update ON audit_log",
        "UPDATE audit_head SET seq = 0",
        "DELETE FROM audit_archive",
        "CREATE TABLE planted (x int)",
    ] {
        ensure!(db.exec(sql).await.is_err(), "hub_app could: {sql}");
    }
    db.close().await;
    hub.stop().await
}

/// The background job applies `audit.retention` every `audit.purge_interval` by the hub's clock,
/// and records what it archived.
async fn retention_runs_on_schedule_with_the_configured_period(env: Env) -> Result<()> {
    let store = env.store().await?;
    let now = platform::clock::SystemClock.now();
    let clock = ManualClock::new(now.minus(Duration::from_secs(400 * 86_400)));
    let config = store.config(&[
        ("HUB_AUDIT__RETENTION", "200d"),
        ("HUB_AUDIT__PURGE_INTERVAL", "1s"),
    ])?;
    let hub = TestHub::start_with_clock(&store, config, clock.clone()).await?;
    let s = hub.state.platform.audit.head_seq();
    append(&hub, 4).await?;
    // 190 days old: inside a 200-day retention, so kept.
    clock.set(now.minus(Duration::from_secs(190 * 86_400)));
    append(&hub, 3).await?;
    clock.set(now);
    let db = store.connect().await?;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while db.scalar_i64("SELECT COUNT(*) FROM audit_archive").await? == 0 {
        ensure!(
            std::time::Instant::now() < deadline,
            "the retention job did not run"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The start records and four old events archived; the three 190-day-old ones kept.
    ensure!(db.scalar_i64("SELECT up_to_seq FROM audit_archive").await? == s + 4);
    ensure!(
        db.scalar_i64(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE seq <= {}",
            s + 4
        ))
        .await?
            == 0
    );
    ensure!(
        db.scalar_i64(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE seq BETWEEN {} AND {}",
            s + 5,
            s + 7
        ))
        .await?
            == 3
    );
    let token = hub.token(Role::AuditAdmin).await?;
    let archived = json(
        hub.get_as(&token, "/api/admin/audit?event=audit.archived")
            .await?,
        200,
    )
    .await?;
    ensure!(
        archived["items"][0]["details"]["records"] == s + 4,
        "{archived}"
    );
    ensure!(
        std::path::Path::new(hub.state.config.platform.audit.archive_dir.as_path())
            .join(format!("audit-000000000001-{:012}.jsonl", s + 4))
            .is_file()
    );
    ensure!(verify_api(&hub, &token).await?.intact);
    db.close().await;
    hub.stop().await
}
