//! The sandbox simulators as their own server (see the `sandbox` crate documentation):
//!
//! ```text
//! sandbox --listen 127.0.0.1:9000 --hub http://127.0.0.1:8080
//! ```
//!
//! serves the provincial platform under `/sandbox/fujian/dataset` and e-Longyan under
//! `/sandbox/elongyan/` with the demo settings (`SandboxConfig::demo`).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "sandbox",
    version,
    about = "Sandbox simulators of the Fujian provincial platform and e-Longyan"
)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9000")]
    listen: SocketAddr,
    /// Origin of the hub that e-Longyan jumps enter.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    hub: String,
    /// Delay of the back channels for sign-ins with the `slow` fault, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    slow_delay_ms: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let mut config = sandbox::SandboxConfig::demo(&args.hub);
    config.slow_delay = Duration::from_millis(args.slow_delay_ms);
    config.validate().context("invalid sandbox configuration")?;

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let local = listener.local_addr()?;
    println!("沙箱已启动 / sandbox listening on http://{local}");
    println!(
        "  福建省统一身份认证平台: http://{local}{}",
        sandbox::FUJIAN_BASE
    );
    println!(
        "  e龙岩 门户:             http://{local}{}/",
        sandbox::ELONGYAN_BASE
    );
    println!(
        "  e龙岩 跳转目标 hub:     {}",
        args.hub.trim_end_matches('/')
    );

    axum::serve(listener, sandbox::router(config))
        .with_graceful_shutdown(shutdown())
        .await
        .context("server failed")?;
    Ok(())
}

/// Ctrl-C, or SIGTERM (systemd, containers). If a handler cannot be installed, that signal keeps
/// its default action, which ends a sandbox just as well.
async fn shutdown() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
