//! The load loop the flow benchmarks share: `workers` tasks repeat one operation until the time
//! is up; the summary counts successes and failures and gives latency percentiles.
#![allow(dead_code)]

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The benchmarks' arguments: the hub's URL, concurrent workers (default 64), seconds (default
/// 20); flags that cargo passes (`--bench`) are skipped.
pub fn args() -> (String, usize, u64) {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let base = args
        .first()
        .cloned()
        .unwrap_or_else(|| "http://127.0.0.1:18090".into());
    let workers = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(64);
    let seconds = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20);
    (base, workers, seconds)
}

pub struct Summary {
    pub done: u64,
    pub failed: u64,
    pub elapsed: f64,
    pub p50: Duration,
    pub p99: Duration,
}

impl Summary {
    pub fn per_second(&self) -> f64 {
        self.done as f64 / self.elapsed
    }
}

/// Runs `op(worker, iteration)` in `workers` concurrent tasks for `seconds`; `op` answers
/// whether the operation succeeded.
pub async fn run<F, Fut>(workers: usize, seconds: u64, op: F) -> Summary
where
    F: Fn(usize, u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = bool> + Send,
{
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let (op, done, failed, latencies) =
                (op.clone(), done.clone(), failed.clone(), latencies.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    if op(w, n).await {
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
    Summary {
        done: done.load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
        elapsed,
        p50: pct(0.50),
        p99: pct(0.99),
    }
}
