//! Configuration as deployed: the example files in `deploy/`, and what administrators can see.

use tests::anyhow::{Context, Result, ensure};
use tests::{Env, Test, json, test};

pub fn tests() -> Vec<Test> {
    vec![
        test!(sqlite: deploy_example_configurations_are_valid),
        test!(the_configuration_view_withholds_secrets),
        test!(a_node_with_other_keys_refuses_to_start),
        test!(sqlite: the_store_files_are_readable_by_the_owner_only),
    ]
}

/// Every `deploy/*.toml` loads without a problem (keys supplied the way the examples say:
/// through `HUB_*` variables), so the examples cannot drift from the code.
async fn deploy_example_configurations_are_valid(_env: Env) -> Result<()> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).context("deploy/ directory")? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !(name.starts_with("hub") && name.ends_with(".toml")) {
            continue;
        }
        let keys = vec![
            ("HUB_AUDIT__HMAC_KEY".to_owned(), tests::random_hex(32)),
            ("HUB_CRYPTO__DATA_KEY".to_owned(), tests::random_hex(16)),
            ("HUB_CRYPTO__INDEX_KEY".to_owned(), tests::random_hex(32)),
        ];
        hub::Config::load(hub::config::Sources {
            file: Some(&path),
            env: keys,
            listen: None,
        })
        .map_err(|p| tests::anyhow::anyhow!("{}:\n{p}", path.display()))?;
        checked += 1;
    }
    ensure!(
        checked >= 2,
        "expected example configurations in deploy/, found {checked}"
    );
    Ok(())
}

async fn the_configuration_view_withholds_secrets(env: Env) -> Result<()> {
    let mut store = env.store().await?;
    // A database password in the URL (ignored by the test server's trust authentication).
    for (k, v) in store.vars.iter_mut() {
        if k == "HUB_DATABASE_URL" {
            *v = v.replacen("postgres@", "postgres:db-pass-visible-nowhere@", 1);
        }
    }
    let hub = tests::TestHub::start(&store, &[]).await?;
    let sys = hub.token(platform::admin::Role::SystemAdmin).await?;
    let res = hub.get_as(&sys, "/api/admin/config").await?;
    let text = res.text().await?;
    let doc: serde_json::Value = serde_json::from_str(&text)?;
    ensure!(doc["server"]["listen"].is_string(), "{text}");
    ensure!(!text.contains("db-pass-visible-nowhere"), "{text}");
    for (k, v) in &store.vars {
        if k.contains("KEY") {
            ensure!(!text.contains(v.as_str()), "{k} leaked: {text}");
        }
    }
    let expect = if store.pg_url.is_some() {
        "configured"
    } else {
        "generated in"
    };
    ensure!(
        doc["audit"]["hmac_key"]
            .as_str()
            .is_some_and(|s| s.starts_with(expect)),
        "{text}"
    );
    // Only system administrators may read it.
    let audit = hub.token(platform::admin::Role::AuditAdmin).await?;
    ensure!(hub.get_as(&audit, "/api/admin/config").await?.status() == 403);
    let _ = json(hub.get("/healthz").await?, 200).await?;
    hub.stop().await
}

/// Keys are checked against the store at start-up: a node (or command) given another key must
/// not start, rather than break the audit chain or fail to decrypt.
async fn a_node_with_other_keys_refuses_to_start(env: Env) -> Result<()> {
    let store = env.store().await?;
    let hub = tests::TestHub::start(&store, &[]).await?;
    hub.state
        .platform
        .audit
        .append(platform::audit::AuditEvent::new(
            "test.event",
            platform::audit::Outcome::Success,
        ))
        .await?;
    hub.stop().await?;
    for (var, len, setting) in [
        ("HUB_AUDIT__HMAC_KEY", 32, "audit.hmac_key"),
        ("HUB_CRYPTO__DATA_KEY", 16, "crypto.data_key"),
        ("HUB_CRYPTO__INDEX_KEY", 32, "crypto.index_key"),
    ] {
        let other = tests::random_hex(len);
        let config = store.config(&[(var, other.as_str())])?;
        let started = tests::TestHub::start_config(&store, config).await;
        let err = started.err().map(|e| format!("{e:#}")).unwrap_or_default();
        ensure!(
            err.contains(&format!("the configured {setting} is not the key")),
            "{var}: {err}"
        );
        // The command line says so too, with exit status 1.
        let out = tests::hub_command(Some(&store))
            .args(["audit", "verify"])
            .env(var, &other)
            .output()?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        ensure!(
            out.status.code() == Some(1) && stderr.contains(setting),
            "{stderr}"
        );
    }
    // The right keys still work.
    tests::TestHub::start(&store, &[]).await?.stop().await
}

async fn the_store_files_are_readable_by_the_owner_only(env: Env) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let hub = env.hub().await?;
    let dir = hub.store.dir.path().to_owned();
    let mode =
        |p: std::path::PathBuf| std::fs::metadata(&p).map(|m| m.permissions().mode() & 0o777);
    for f in [
        "hub.db",
        "hub.db-wal",
        "secrets/audit-hmac.key",
        "secrets/data.key",
        "secrets/index.key",
    ] {
        ensure!(mode(dir.join(f))? == 0o600, "{f}: {:o}", mode(dir.join(f))?);
    }
    ensure!(mode(dir.join("secrets"))? == 0o700);
    hub.stop().await
}
