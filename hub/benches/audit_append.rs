//! Audit append throughput: sealed (HMAC-SM3 chain), durable (SQLite WAL, synchronous=FULL:
//! `append` returns after the commit's fsync) records per second.
//!
//! `cargo bench -p hub --bench audit_append [-- RECORDS]` — runs on the embedded store in a
//! temporary directory (on the same disk as the working directory), with 1, 16, 64 and 256
//! concurrent appenders (the server's request handlers are concurrent appenders). Results and
//! the machine they were measured on are in docs/BENCHMARKS.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use hub::config::Config;
use platform::audit::{Actor, ActorKind, AuditEvent, AuditLog, Outcome};
use platform::store::Db;

fn event(i: usize) -> AuditEvent {
    AuditEvent::new("connector.jump", Outcome::Success)
        .actor(Actor::new(
            ActorKind::Account,
            Some(format!("acct-{}", i % 1000)),
            Some("张*".into()),
        ))
        .target("connector:safe-forex")
        .details(serde_json::json!({ "referrer": "https://www.longyan.gov.cn/", "i": i }))
}

fn main() {
    let total: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(50_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        println!("audit append, SQLite (WAL, synchronous=FULL), {total} records per run");
        println!("{:>12} {:>14} {:>12}", "appenders", "records/s", "mean µs");
        for concurrency in [1usize, 16, 64, 256] {
            let dir = tempfile::tempdir_in(".").unwrap();
            let config = Config::defaults_in(dir.path()).unwrap();
            let db = Db::connect(&config.platform.database).await.unwrap();
            db.migrate().await.unwrap();
            let mac: Arc<dyn guomi::Mac> = Arc::new(guomi::HmacSm3::new(&[7u8; 32]).unwrap());
            let (log, task) =
                AuditLog::start(db.clone(), mac, Arc::new(platform::clock::SystemClock))
                    .await
                    .unwrap();
            let n = if concurrency == 1 {
                total.min(5_000)
            } else {
                total
            };
            let per_task = n / concurrency;
            let start = Instant::now();
            let tasks: Vec<_> = (0..concurrency)
                .map(|t| {
                    let log: AuditLog = log.clone();
                    tokio::spawn(async move {
                        for i in 0..per_task {
                            log.append(event(t * per_task + i)).await.unwrap();
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            let elapsed = start.elapsed();
            let done = per_task * concurrency;
            println!(
                "{concurrency:>12} {:>14.0} {:>12.1}",
                done as f64 / elapsed.as_secs_f64(),
                elapsed.as_micros() as f64 / done as f64 * concurrency as f64
            );
            let report = log.verify().await.unwrap();
            assert!(report.intact && report.records as usize == done, "{report}");
            log.shutdown().await;
            task.await.unwrap();
            db.close().await;
        }
    });
}
