//! Operations: health, readiness, metrics, request ids, errors as problem documents, security
//! headers, limits, TLS, OpenAPI.

use std::io::{Read, Write};
use std::time::Duration;

use tests::anyhow::{Context, Result, ensure};
use tests::{Env, Test, assert_problem, json, test};

pub fn tests() -> Vec<Test> {
    vec![
        test!(health_readiness_and_request_ids),
        test!(metrics_count_requests_by_route_and_show_the_audit_chain),
        test!(readiness_fails_when_a_migration_is_missing),
        test!(postgres: readiness_fails_when_the_database_is_gone),
        test!(errors_are_problem_documents_with_stable_codes),
        test!(security_headers_on_every_response),
        test!(slow_request_bodies_time_out_with_a_problem),
        test!(sqlite: tls_termination_serves_https_with_hsts),
        test!(openapi_describes_every_json_endpoint),
        test!(schema_matches_the_design_document),
        test!(sqlite: hostile_requests_never_cause_a_server_error),
        test!(forwarded_addresses_are_believed_only_from_trusted_proxies),
        test!(sqlite: no_file_of_a_crate_uses_a_file_that_uses_it_back),
    ]
}

async fn health_readiness_and_request_ids(env: Env) -> Result<()> {
    let hub = env.hub().await?;
    let res = hub.get("/healthz").await?;
    let id = res.headers()["x-request-id"].to_str()?.to_owned();
    ensure!(!id.is_empty());
    ensure!(json(res, 200).await?["status"] == "ok");
    // Each request gets its own id.
    let res = hub.get("/healthz").await?;
    ensure!(res.headers()["x-request-id"].to_str()? != id);
    ensure!(json(hub.get("/readyz").await?, 200).await?["status"] == "ready");

    // A caller's own plain id is kept (correlation across systems); a hostile one is replaced.
    let res = hub
        .http
        .get(hub.url("/healthz"))
        .header("x-request-id", "partner-123.abc")
        .send()
        .await?;
    ensure!(res.headers()["x-request-id"] == "partner-123.abc");
    let res = hub
        .http
        .get(hub.url("/healthz"))
        .header("x-request-id", "x\"><script>alert(1)</script>")
        .send()
        .await?;
    ensure!(!res.headers()["x-request-id"].to_str()?.contains('<'));
    // Errors carry the id too, in header and body (assert_problem checks both agree).
    assert_problem(hub.get("/no/such/path").await?, 404, "request.not_found").await?;
    hub.stop().await
}

async fn metrics_count_requests_by_route_and_show_the_audit_chain(env: Env) -> Result<()> {
    let hub = env.hub().await?;
    for _ in 0..3 {
        hub.get("/healthz").await?;
    }
    hub.get("/definitely/not/here").await?;
    let res = hub.get("/metrics").await?;
    ensure!(res.status() == 200);
    ensure!(
        res.headers()["content-type"]
            .to_str()?
            .starts_with("text/plain")
    );
    let text = res.text().await?;
    ensure!(
        text.contains(r#"hub_http_requests_total{method="GET",route="/healthz",status="200"} 3"#),
        "{text}"
    );
    // Unknown paths share one series: clients cannot create unbounded label values.
    ensure!(
        text.contains(r#"route="unmatched",status="404"} 1"#),
        "{text}"
    );
    ensure!(!text.contains("/definitely/not/here"));
    ensure!(
        text.contains("hub_http_request_duration_seconds_bucket"),
        "{text}"
    );
    ensure!(text.contains("hub_db_connections{"), "{text}");
    // The start of the hub is the first audit record.
    let seq = hub.state.platform.audit.head_seq();
    ensure!(seq >= 1);
    ensure!(
        text.contains(&format!("hub_audit_chain_length {seq}")),
        "{text}"
    );
    hub.stop().await
}

async fn readiness_fails_when_a_migration_is_missing(env: Env) -> Result<()> {
    let hub = env.hub().await?;
    ensure!(hub.get("/readyz").await?.status() == 200);
    let db = hub.store.connect().await?;
    db.exec("DELETE FROM _sqlx_migrations").await?;
    assert_problem(hub.get("/readyz").await?, 503, "store.unavailable").await?;
    // Liveness is unaffected: the process runs.
    ensure!(hub.get("/healthz").await?.status() == 200);
    db.close().await;
    hub.stop().await
}

async fn readiness_fails_when_the_database_is_gone(env: Env) -> Result<()> {
    let hub = env
        .hub_with(&[("HUB_DATABASE__CONNECT_TIMEOUT", "1s")])
        .await?;
    ensure!(hub.get("/readyz").await?.status() == 200);
    let url = hub.store.pg_url.clone().unwrap_or_default();
    let name = url.rsplit('/').next().unwrap_or_default().to_owned();
    let admin = sqlx::PgPool::connect(&tests::postgres_admin_url()).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&admin)
    .await?;
    admin.close().await;
    assert_problem(hub.get("/readyz").await?, 503, "store.unavailable").await?;
    ensure!(hub.get("/healthz").await?.status() == 200);
    Ok(())
}

async fn errors_are_problem_documents_with_stable_codes(env: Env) -> Result<()> {
    let hub = env.hub_with(&[("HUB_SERVER__BODY_LIMIT", "64KiB")]).await?;
    let login = hub.url("/api/admin/session");
    assert_problem(hub.get("/nope").await?, 404, "request.not_found").await?;
    assert_problem(
        hub.http.put(hub.url("/healthz")).send().await?,
        405,
        "request.method_not_allowed",
    )
    .await?;
    assert_problem(
        hub.http
            .post(&login)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await?,
        400,
        "request.invalid_body",
    )
    .await?;
    assert_problem(
        hub.http.post(&login).body("username=a").send().await?,
        415,
        "request.unsupported_media_type",
    )
    .await?;
    let doc = assert_problem(
        hub.http
            .post(&login)
            .json(&serde_json::json!({ "username": "a", "password": "b" }))
            .send()
            .await?,
        422,
        "validation.failed",
    )
    .await?;
    ensure!(doc["errors"][0]["field"] == "totp", "{doc}");
    assert_problem(
        hub.http
            .post(&login)
            .json(&serde_json::json!({ "username": "a", "password": "b", "totp": "1", "extra": 1 }))
            .send()
            .await?,
        422,
        "validation.failed",
    )
    .await?;
    let big = "x".repeat(100 * 1024);
    assert_problem(
        hub.http
            .post(&login)
            .header("content-type", "application/json")
            .body(big)
            .send()
            .await?,
        413,
        "request.body_too_large",
    )
    .await?;
    let token = hub.token(platform::admin::Role::AuditAdmin).await?;
    assert_problem(
        hub.get_as(&token, "/api/admin/audit?bogus=1").await?,
        400,
        "request.invalid_query",
    )
    .await?;
    assert_problem(
        hub.get_as(&token, "/api/admin/audit?from=yesterday")
            .await?,
        400,
        "request.invalid_query",
    )
    .await?;
    assert_problem(
        hub.get_as(&token, "/api/admin/audit?limit=-1").await?,
        400,
        "request.invalid_query",
    )
    .await?;
    // A cross-site browser form post is refused before any handler runs.
    assert_problem(
        hub.http
            .post(&login)
            .header("sec-fetch-site", "cross-site")
            .header("origin", "https://evil.example")
            .json(&serde_json::json!({ "username": "a", "password": "b", "totp": "1" }))
            .send()
            .await?,
        403,
        "request.cross_origin",
    )
    .await?;
    // The same request from the hub's own origin is processed (and fails on credentials).
    assert_problem(
        hub.http
            .post(&login)
            .header("sec-fetch-site", "same-origin")
            .json(&serde_json::json!({ "username": "nobody", "password": "b", "totp": "123456" }))
            .send()
            .await?,
        401,
        "admin.credentials_invalid",
    )
    .await?;
    hub.stop().await
}

async fn security_headers_on_every_response(env: Env) -> Result<()> {
    let hub = env.hub().await?;
    for path in ["/healthz", "/nope", "/"] {
        let res = hub.get(path).await?;
        let h = res.headers();
        let csp = h["content-security-policy"].to_str()?;
        ensure!(
            csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'self'"),
            "{csp}"
        );
        ensure!(h["x-content-type-options"] == "nosniff");
        ensure!(h["referrer-policy"] == "no-referrer");
        ensure!(h["x-frame-options"] == "DENY");
        // Plain HTTP: no HSTS (it would be ignored, and wrong behind a misconfigured proxy).
        ensure!(!h.contains_key("strict-transport-security"));
    }
    let res = hub.get("/api/admin/session").await?;
    ensure!(res.headers()["cache-control"] == "no-store");
    let res = hub.get("/").await?;
    ensure!(
        res.headers()["content-type"]
            .to_str()?
            .starts_with("text/html")
    );
    ensure!(res.text().await?.contains("龙岩普惠金融平台"));
    hub.stop().await
}

/// The request-time limit covers reading the body: a client that stops sending gets a problem
/// document, and the connection is not held for ever.
async fn slow_request_bodies_time_out_with_a_problem(env: Env) -> Result<()> {
    let hub = env
        .hub_with(&[("HUB_SERVER__REQUEST_TIMEOUT", "300ms")])
        .await?;
    let addr = hub.base.trim_start_matches("http://").to_owned();
    let response = tokio::task::spawn_blocking(move || -> Result<String> {
        let mut s = std::net::TcpStream::connect(addr)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        s.write_all(b"POST /api/admin/session HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"username\":")?;
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        Ok(String::from_utf8_lossy(&buf).into_owned())
    })
    .await??;
    ensure!(response.starts_with("HTTP/1.1 503"), "{response}");
    ensure!(
        response.contains("\"code\":\"request.timeout\""),
        "{response}"
    );
    hub.stop().await
}

async fn tls_termination_serves_https_with_hsts(env: Env) -> Result<()> {
    let store = env.store().await?;
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
    let cert_path = store.dir.path().join("cert.pem");
    let key_path = store.dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem())?;
    std::fs::write(&key_path, cert.signing_key.serialize_pem())?;
    let config_file = tests::write(
        &store.dir.path().join("hub.toml"),
        &format!(
            "[server.tls]\ncert = \"{}\"\nkey = \"{}\"\nhsts_max_age = \"30d\"\n",
            cert_path.display(),
            key_path.display()
        ),
    );
    let config = hub::Config::load(hub::config::Sources {
        file: Some(&config_file),
        env: store.vars.clone(),
        listen: None,
    })
    .map_err(|p| tests::anyhow::anyhow!("{p}"))?;
    let hub = tests::TestHub::start_config(&store, config).await?;
    ensure!(hub.base.starts_with("https://"));
    let port = hub.base.rsplit(':').next().unwrap_or_default().to_owned();
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(cert.cert.pem().as_bytes())?])
        .resolve("localhost", format!("127.0.0.1:{port}").parse()?)
        .build()?;
    let res = client
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await?;
    ensure!(res.status() == 200);
    ensure!(res.headers()["strict-transport-security"] == "max-age=2592000; includeSubDomains");
    // Plain HTTP on the TLS port is not served.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await;
    ensure!(plain.map(|r| r.status() != 200).unwrap_or(true));
    hub.stop().await
}

async fn openapi_describes_every_json_endpoint(env: Env) -> Result<()> {
    let hub = env.hub().await?;
    let doc = json(hub.get("/openapi.json").await?, 200).await?;
    ensure!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();
    for (path, methods) in [
        ("/healthz", &["get"][..]),
        ("/readyz", &["get"]),
        ("/api/admin/session", &["get", "post", "delete"]),
        ("/api/admin/session/password", &["put"]),
        ("/api/admin/admins", &["get", "post"]),
        ("/api/admin/admins/{id}", &["get", "patch", "delete"]),
        ("/api/admin/admins/{id}/unlock", &["post"]),
        ("/api/admin/admins/{id}/reset-credentials", &["post"]),
        ("/api/admin/admins/{id}/sessions", &["delete"]),
        ("/api/admin/tokens", &["get", "post"]),
        ("/api/admin/tokens/{id}", &["delete"]),
        ("/api/admin/config", &["get"]),
        ("/api/admin/audit", &["get"]),
        ("/api/admin/audit/export", &["get"]),
        ("/api/admin/audit/stats", &["get"]),
        ("/api/admin/audit/verify", &["get"]),
        ("/api/me", &["get"]),
        ("/api/me/identities/{provider}/{subject}", &["delete"]),
        ("/api/admin/accounts", &["get"]),
        ("/api/admin/accounts/{id}", &["get", "patch"]),
        (
            "/api/admin/accounts/{id}/identities/{provider}/{subject}",
            &["delete"],
        ),
        ("/api/admin/accounts/{id}/sessions", &["get", "delete"]),
        ("/api/admin/accounts/{id}/sessions/{handle}", &["delete"]),
        ("/api/admin/providers", &["get"]),
        ("/api/admin/providers/{id}", &["get"]),
        ("/api/connectors", &["get"]),
        ("/go/{code}", &["get"]),
        ("/api/admin/connectors", &["get", "post"]),
        ("/api/admin/connectors/{code}", &["get", "patch", "delete"]),
        ("/api/admin/connectors/{code}/versions", &["get"]),
        ("/api/admin/connectors/{code}/rollback", &["post"]),
        ("/api/admin/connectors/{code}/health", &["get"]),
        ("/api/admin/connectors/{code}/probe", &["post"]),
        ("/sso/{provider}/login", &["get"]),
        ("/sso/{provider}/callback", &["get"]),
        ("/sso/{provider}/entry", &["get", "post"]),
        ("/sso/{provider}/backchannel-logout", &["post"]),
        ("/sso/logout", &["get", "post"]),
        ("/exchange/{partner}/{message_type}", &["post"]),
        ("/api/admin/partners", &["get", "post"]),
        ("/api/admin/partners/{id}", &["get", "patch", "delete"]),
        ("/api/admin/mappings", &["get"]),
        ("/api/admin/mappings/{name}", &["get"]),
        ("/api/admin/mappings/{name}/json-schema", &["get"]),
        ("/api/admin/messages", &["get"]),
        ("/api/admin/messages/{id}", &["get"]),
        ("/api/admin/messages/{id}/replay", &["post"]),
        ("/api/admin/messages/{id}/payload", &["get"]),
        (
            "/api/admin/partners/{id}/messages/{message_type}",
            &["post"],
        ),
        ("/api/products", &["get"]),
        ("/api/products/{id}", &["get"]),
        ("/api/me/products", &["get", "post"]),
        ("/api/me/products/{id}/{step}", &["post"]),
        ("/api/me/demands", &["get", "post"]),
        ("/api/me/demands/{id}", &["get"]),
        ("/api/me/demands/{id}/confirm", &["post"]),
        ("/api/market/demands", &["get"]),
        ("/api/market/demands/{id}", &["get"]),
        ("/api/market/demands/{id}/take", &["post"]),
        ("/api/market/demands/{id}/{step}", &["post"]),
        ("/api/admin/market/products/{id}/review", &["post"]),
        ("/api/admin/market/demands/{id}/review", &["post"]),
        ("/api/me/demands/{id}/rate", &["post"]),
        ("/api/market/demands/{id}/rate", &["post"]),
        ("/api/me/points", &["get"]),
    ] {
        for m in methods {
            ensure!(
                paths.get(path).and_then(|p| p.get(*m)).is_some(),
                "{m} {path} missing from /openapi.json"
            );
        }
    }
    // Every /api/ operation is described by the code: the document and the router are built
    // from the same declarations, so the router has no /api/ route the document lacks.
    ensure!(paths.keys().filter(|p| p.starts_with("/api/")).count() >= 14);
    ensure!(doc["components"]["schemas"]["ProblemDocument"].is_object());
    ensure!(doc["components"]["securitySchemes"]["bearer"].is_object());
    hub.stop().await
}

/// The live schema (tables and columns) equals docs/DATABASE.md, on each backend — so the two
/// backends equal each other and the design document stays true.
async fn schema_matches_the_design_document(env: Env) -> Result<()> {
    let hub = env.hub().await?;
    let db = hub.store.connect().await?;
    let sql = match env.backend {
        tests::Backend::Sqlite => {
            "SELECT m.name || '.' || p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'"
        }
        tests::Backend::Postgres => {
            "SELECT table_name || '.' || column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'"
        }
    };
    let mut live = db.strings(sql).await?;
    live.sort();
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/DATABASE.md"),
    )?;
    let mut documented = Vec::new();
    let mut table = None;
    for line in doc.lines() {
        if let Some(t) = line.strip_prefix("### ") {
            table = Some(t.trim().to_owned());
        } else if let (Some(t), Some(rest)) = (&table, line.strip_prefix("| ")) {
            let col = rest.split(" |").next().unwrap_or_default().trim();
            if col != "column" && !col.starts_with("---") && !col.is_empty() {
                documented.push(format!("{t}.{col}"));
            }
        }
    }
    documented.sort();
    let missing: Vec<_> = live.iter().filter(|c| !documented.contains(c)).collect();
    let stale: Vec<_> = documented.iter().filter(|c| !live.contains(c)).collect();
    ensure!(
        missing.is_empty() && stale.is_empty(),
        "undocumented columns {missing:?}; documented but absent {stale:?}"
    );
    db.close().await;
    hub.stop().await
}

/// Malformed and hostile requests are answered (4xx, or 200 where harmless) or the connection is
/// closed — never a 5xx, and the hub stays healthy.
async fn hostile_requests_never_cause_a_server_error(env: Env) -> Result<()> {
    let hub = tests::federated_hub(&env, &[]).await?;
    let addr = hub.base.trim_start_matches("http://").to_owned();
    let raw: Vec<Vec<u8>> = vec![
        b"GET /%ff%fe/../../etc/passwd HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(),
        b"GET /api/admin/admins/%00 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer \xff\xfe\r\n\r\n".to_vec(),
        b"GET /api/admin/audit?limit=99999999999999999999&before=abc HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(),
        b"GET /api/admin/session HTTP/1.1\r\nhost: x\r\ncookie: __Host-hub_admin=\xc3\x28; a=b=c;;;\r\n\r\n".to_vec(),
        b"BREW /healthz HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(),
        b"POST /api/admin/session HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 12\r\n\r\n[1,2,3,null]".to_vec(),
        b"POST /api/admin/session HTTP/1.1\r\nhost: x\r\ncontent-type: application/json; charset=gbk\r\ncontent-length: 4\r\n\r\n\xd6\xd0\xce\xc4".to_vec(),
        b"POST /api/admin/session HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\ncontent-type: application/json\r\n\r\nzz\r\n".to_vec(),
        format!("GET /{} HTTP/1.1\r\nhost: x\r\n\r\n", "a/".repeat(4000)).into_bytes(),
        format!("GET /healthz HTTP/1.1\r\nhost: x\r\nx-request-id: {}\r\n\r\n", "r".repeat(5000)).into_bytes(),
        // Jumps.
        b"GET /go/%ff%fe%00 HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(),
        b"GET /go/receivables?proceed=%ff&proceed=1 HTTP/1.1\r\nhost: x\r\nreferer: \xff\xfe:////\r\ncookie: __Host-hub_session=\xc3\x28\r\n\r\n".to_vec(),
        format!("GET /go/{} HTTP/1.1\r\nhost: x\r\naccept: application/json\r\n\r\n", "x".repeat(5000)).into_bytes(),
        b"GET /api/connectors?%%%=1 HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(),
        // Sign-in endpoints.
        b"GET /sso/fujian/callback?state=%ff%fe%00&trustticket=%00 HTTP/1.1\r\nhost: x\r\ncookie: __Host-hub_flow_0000000000000000=!!!\r\n\r\n".to_vec(),
        format!("GET /sso/fujian/callback?state={}&trustticket={} HTTP/1.1\r\nhost: x\r\n\r\n", "s".repeat(3000), "t".repeat(3000)).into_bytes(),
        b"GET /sso/fujian/login?return_to=%00%0d%0aLocation:%20https://evil.example HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(),
        b"GET /sso/elongyan/entry?ticket=&appId=&timestamp=-1&sign=%ff&ticket=2 HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(),
        b"POST /sso/elongyan/entry HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 8\r\n\r\n\xff\xfe=%%%&&".to_vec(),
        b"GET /sso/elongyan/entry?appId=longyan-hub-demo&userId=x&timestamp=99999999999999999999&nonce=12345678&sign=00 HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(),
        b"POST /sso/fujian/backchannel-logout HTTP/1.1\r\nhost: x\r\ncontent-length: 18\r\n\r\nlogout_token=a.b.c".to_vec(),
        b"POST /sso/logout HTTP/1.1\r\nhost: x\r\ncookie: __Host-hub_session=%ff\r\ncontent-length: 0\r\n\r\n".to_vec(),
        b"GET /api/me HTTP/1.1\r\nhost: x\r\ncookie: __Host-hub_session=\r\n\r\n".to_vec(),
    ];
    for (i, req) in raw.into_iter().enumerate() {
        let addr = addr.clone();
        let status = tokio::task::spawn_blocking(move || -> Result<Option<u16>> {
            let mut s = std::net::TcpStream::connect(addr)?;
            s.set_read_timeout(Some(Duration::from_secs(10)))?;
            s.write_all(&req)?;
            let mut buf = [0u8; 64];
            let n = s.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).into_owned();
            Ok(head.split_whitespace().nth(1).and_then(|c| c.parse().ok()))
        })
        .await??;
        if let Some(code) = status {
            ensure!(code < 500, "request {i}: status {code}");
        }
    }
    // Still healthy afterwards.
    ensure!(hub.get("/healthz").await?.status() == 200);
    hub.stop().await
}

/// The audit trail's source address: the peer, unless the peer is a trusted proxy, and then the
/// rightmost hop it did not add itself — never the spoofable leftmost entry.
async fn forwarded_addresses_are_believed_only_from_trusted_proxies(env: Env) -> Result<()> {
    for (trusted, expected) in [("[]", "127.0.0.1"), ("[\"127.0.0.1\"]", "203.0.113.9")] {
        let hub = env
            .hub_with(&[("HUB_SERVER__TRUSTED_PROXIES", trusted)])
            .await?;
        let res = hub
            .http
            .post(hub.url("/api/admin/session"))
            .header("x-forwarded-for", "6.6.6.6, 203.0.113.9")
            .json(&serde_json::json!({ "username": "nobody", "password": "x", "totp": "123456" }))
            .send()
            .await?;
        ensure!(res.status() == 401);
        let token = hub.token(platform::admin::Role::AuditAdmin).await?;
        let page = json(
            hub.get_as(&token, "/api/admin/audit?event=admin.login")
                .await?,
            200,
        )
        .await?;
        ensure!(
            page["items"][0]["source_ip"] == expected,
            "trusted {trusted}: {page}"
        );
        hub.stop().await?;
    }
    Ok(())
}

/// ARCHITECTURE.md: inside a crate the files depend one way. `tools/modcycles.py` reads every
/// crate's `use` lines and names each cycle it finds.
async fn no_file_of_a_crate_uses_a_file_that_uses_it_back(_env: Env) -> Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("workspace root")?;
    let out = std::process::Command::new("python3")
        .arg(root.join("tools/modcycles.py"))
        .current_dir(root)
        .output()
        .context("python3 runs tools/modcycles.py")?;
    let text = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success() && text.contains("no import cycle"),
        "{}: {text}",
        out.status
    );
    Ok(())
}
