//! Configuration as deployed: the example files in `deploy/`, and what administrators can see.

use tests::anyhow::{Context, Result, ensure};
use tests::{Env, Test, json, test};

pub fn tests() -> Vec<Test> {
    vec![
        test!(sqlite: deploy_example_configurations_are_valid),
        test!(the_configuration_view_withholds_secrets),
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
    let sys = hub.token(hub::admin::Role::SystemAdmin).await?;
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
    let audit = hub.token(hub::admin::Role::AuditAdmin).await?;
    ensure!(hub.get_as(&audit, "/api/admin/config").await?.status() == 403);
    let _ = json(hub.get("/healthz").await?, 200).await?;
    hub.stop().await
}
