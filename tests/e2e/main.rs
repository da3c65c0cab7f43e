//! End-to-end tests of the hub: see `tests/lib.rs` for the harness. Run with
//! `cargo test -p tests` (add `-- name` to filter, e.g. `-- audit::`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod audit;
mod browser;
mod cli;
mod config;
mod connectors;
mod console;
mod content;
mod exchange;
mod market;
mod market_applications;
mod market_exchange;
mod oidc;
mod ops;
mod outbound;
mod portal;
mod sso;

use std::process::ExitCode;

use libtest_mimic::{Arguments, Failed, Trial};
use tests::{Backend, Backends, Env, RUN_AS_HUB, Test};

fn main() -> ExitCode {
    // Command-line tests start this binary again as the `hub` program.
    if std::env::var_os(RUN_AS_HUB).is_some() {
        return hub::cli::main();
    }
    let args = Arguments::from_args();
    // HUB_TEST_LOG=debug (or any filter) shows the hubs' logs while the tests run.
    if let Ok(filter) = std::env::var("HUB_TEST_LOG") {
        telemetry::init(&filter, telemetry::LogFormat::Text);
    }
    let groups: [(&str, Vec<Test>); 17] = [
        ("ops", ops::tests()),
        ("config", config::tests()),
        ("cli", cli::tests()),
        ("audit", audit::tests()),
        ("admin", admin::tests()),
        ("sso", sso::tests()),
        ("oidc", oidc::tests()),
        ("connectors", connectors::tests()),
        ("console", console::tests()),
        ("exchange", exchange::tests()),
        ("outbound", outbound::tests()),
        ("portal", portal::tests()),
        ("content", content::tests()),
        ("market", market::tests()),
        ("market_applications", market_applications::tests()),
        ("market_exchange", market_exchange::tests()),
        ("browser", browser::tests()),
    ];
    let mut trials = Vec::new();
    for (group, tests) in groups {
        for t in tests {
            let backends: &[Backend] = match t.backends {
                Backends::Both => &[Backend::Sqlite, Backend::Postgres],
                Backends::SqliteOnly => &[Backend::Sqlite],
                Backends::PostgresOnly => &[Backend::Postgres],
            };
            for &b in backends {
                let run = t.run;
                trials.push(Trial::test(
                    format!("{group}::{}::{}", t.name, b.name()),
                    move || {
                        let rt = tokio::runtime::Builder::new_multi_thread()
                            .worker_threads(2)
                            .enable_all()
                            .build()
                            .map_err(|e| Failed::from(e.to_string()))?;
                        let env = Env::new(b);
                        let result = rt.block_on(async {
                            let r = tokio::time::timeout(
                                std::time::Duration::from_secs(120),
                                run(env.clone()),
                            )
                            .await;
                            env.cleanup().await;
                            r
                        });
                        match result {
                            Ok(Ok(())) => Ok(()),
                            Ok(Err(e)) => Err(format!("{e:#}").into()),
                            Err(_) => Err("timed out after 120 s".into()),
                        }
                    },
                ));
            }
        }
    }
    let conclusion = libtest_mimic::run(&args, trials);
    // The browser tests share one chromedriver, started on first use.
    tests::browser::shutdown();
    conclusion.exit_code()
}
