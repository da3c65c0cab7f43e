//! The command line (INTERFACES.md): `serve`, `demo`, `check-config`, `migrate`,
//! `admin …`, `audit verify`. Exit codes: 0 success, 1 invalid input or failed check, 2 usage.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::app::{Hub, Services};
use crate::config::{Config, HumanDuration, Sources};
use platform::admin::Role;
use platform::clock::SystemClock;
use platform::context::RequestContext;

#[derive(Debug, Parser)]
#[command(
    name = "hub",
    version,
    about = "龙岩普惠金融平台 identity federation and integration hub"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Args)]
struct ConfigArg {
    /// Configuration file (TOML). Without it the built-in defaults apply; HUB_* variables
    /// override either.
    #[arg(long, env = "HUB_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the hub.
    Serve {
        #[command(flatten)]
        config: ConfigArg,
        /// Address and port to listen on (overrides server.listen).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Runs the hub on the embedded store with demonstration settings and data, on loopback.
    Demo {
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Where the demo keeps its database and keys.
        #[arg(long, value_name = "DIR", default_value = "./demo-data")]
        data_dir: PathBuf,
    },
    /// Validates a configuration file and prints every problem with its location.
    CheckConfig {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Applies database migrations.
    Migrate {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Administrator accounts and tokens (break-glass, directly in the store).
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The content search index.
    Search {
        #[command(subcommand)]
        command: SearchCommand,
    },
    /// Translates one document offline through an installed mapping (XML → JSON, or JSON → XML
    /// with `--to xml`), or lists the mappings. Errors name the line, column and path.
    Map {
        /// Lists the installed mappings, one name per line.
        #[arg(long, conflicts_with_all = ["mapping", "file"])]
        list: bool,
        /// The mapping to translate with (see --list).
        #[arg(long, value_name = "NAME", required_unless_present = "list")]
        mapping: Option<String>,
        /// What to produce: `json` from an XML document (default), or `xml` from a JSON one.
        #[arg(long, value_enum, default_value_t = MapTarget::Json)]
        to: MapTarget,
        /// Prints the mapping's JSON side as a JSON Schema (draft 2020-12) document instead.
        #[arg(long, conflicts_with_all = ["file", "list"])]
        json_schema: bool,
        /// A directory of mapping definitions (`*.toml`, `codes.toml`, schemas) to use instead
        /// of the shipped catalog.
        #[arg(long, value_name = "DIR")]
        catalog: Option<PathBuf>,
        /// The document; standard input when absent.
        #[arg(value_name = "FILE")]
        file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum SearchCommand {
    /// Rebuilds the search index from the store: every running node rebuilds its own within a
    /// second (the request goes through the store's change log), and this node's directory is
    /// rebuilt now when no running hub holds it.
    Reindex {
        #[command(flatten)]
        config: ConfigArg,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum MapTarget {
    Json,
    Xml,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Creates an API token for a role and prints it once.
    CreateToken {
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Lifetime, e.g. 12h or 30d (default 30d, at most admin.token_max_ttl).
        #[arg(long, value_parser = parse_duration)]
        ttl: Option<std::time::Duration>,
        #[arg(long, default_value = "break-glass")]
        name: String,
    },
    /// Creates an administrator and prints the initial password and TOTP secret once.
    CreateUser {
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long)]
        username: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Issues a new password and TOTP secret to an administrator (lost device).
    ResetCredentials {
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long)]
        username: String,
    },
    /// Lifts an administrator's lockout.
    Unlock {
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long)]
        username: String,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Checks the integrity chain; exit 0 only when intact, otherwise names the first broken record.
    Verify {
        #[command(flatten)]
        config: ConfigArg,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    HumanDuration::parse(s)
}

/// Entry point of the `hub` binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // One TLS provider for the whole process (database and outbound clients).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(cli.command))
}

fn load(file: Option<&Path>, listen: Option<&str>) -> Result<Config, ExitCode> {
    Config::load(Sources {
        file,
        env: Sources::process_env(),
        listen,
    })
    .map_err(|problems| {
        eprintln!("configuration has {} problem(s):", problems.0.len());
        for p in &problems.0 {
            eprintln!("  {p}");
        }
        ExitCode::FAILURE
    })
}

fn fail(message: impl std::fmt::Display, e: &(dyn std::error::Error + 'static)) -> ExitCode {
    eprintln!("error: {message}: {}", telemetry::chain(e));
    if is_permission_error(e) {
        eprintln!(
            "hint: the database role lacks a privilege; run `hub migrate` as the owner role (deploy/postgres-roles.sql)"
        );
    }
    ExitCode::FAILURE
}

/// Whether the database refused for lack of a privilege (PostgreSQL SQLSTATE 42501).
fn is_permission_error(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(e) = cur {
        if let Some(sqlx::Error::Database(d)) = e.downcast_ref::<sqlx::Error>() {
            return d.code().as_deref() == Some("42501");
        }
        cur = e.source();
    }
    false
}

async fn run(command: Command) -> ExitCode {
    match command {
        Command::Serve { config, listen } => {
            let config = match load(config.config.as_deref(), listen.as_deref()) {
                Ok(c) => c,
                Err(code) => return code,
            };
            serve(config).await
        }
        Command::Demo { listen, data_dir } => demo(&listen, data_dir).await,
        Command::CheckConfig { file } => match load(Some(&file), None) {
            Ok(_) => {
                println!("{}: configuration is valid", file.display());
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Migrate { config } => {
            let config = match load(config.config.as_deref(), None) {
                Ok(c) => c,
                Err(code) => return code,
            };
            match platform::store::Db::connect(&config.platform.database).await {
                Ok(db) => match db.migrate().await {
                    Ok(()) => {
                        println!("migrations applied ({})", db.backend().as_str());
                        db.close().await;
                        ExitCode::SUCCESS
                    }
                    Err(e) => fail("migration failed", &e),
                },
                Err(e) => fail("cannot reach the database", &e),
            }
        }
        Command::Admin { command } => admin(command).await,
        Command::Map {
            list,
            mapping,
            to,
            json_schema,
            catalog,
            file,
        } => map(
            list,
            mapping.as_deref(),
            if json_schema { None } else { Some(to) },
            catalog.as_deref(),
            file.as_deref(),
        ),
        Command::Search {
            command: SearchCommand::Reindex { config },
        } => {
            let config = match load(config.config.as_deref(), None) {
                Ok(c) => c,
                Err(code) => return code,
            };
            let services = match Services::open(config, Arc::new(SystemClock), false).await {
                Ok(s) => s,
                Err(e) => return fail("cannot open the store", &e),
            };
            let cms = services.state.cms.clone();
            let result = async {
                cms.request_reindex().await?;
                if cms.index_location() == "memory" {
                    Ok(None)
                } else {
                    cms.reindex().await.map(Some)
                }
            }
            .await;
            services.close().await;
            match result {
                Ok(Some(n)) => {
                    println!(
                        "search index rebuilt: {n} published articles in {}; running hubs rebuild theirs within a second",
                        cms.index_location()
                    );
                    ExitCode::SUCCESS
                }
                Ok(None) => {
                    println!(
                        "a running hub holds this node's index: it and every other node rebuild theirs within a second"
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail("cannot rebuild the search index", &e),
            }
        }
        Command::Audit {
            command: AuditCommand::Verify { config },
        } => {
            let config = match load(config.config.as_deref(), None) {
                Ok(c) => c,
                Err(code) => return code,
            };
            let services = match Services::open(config, Arc::new(SystemClock), false).await {
                Ok(s) => s,
                Err(e) => return fail("cannot open the store", &e),
            };
            let result = services.state.platform.audit.verify().await;
            services.close().await;
            match result {
                Ok(report) if report.intact => {
                    println!("{report}");
                    ExitCode::SUCCESS
                }
                Ok(report) => {
                    println!("{report}");
                    ExitCode::FAILURE
                }
                Err(e) => fail("cannot read the audit trail", &e),
            }
        }
    }
}

/// `hub map`: offline translation for operators and partners' developers. The output goes to
/// standard output; an invalid document is reported on standard error with its code, line,
/// column and path, and exit code 1. `to` absent: the mapping's JSON Schema.
fn map(
    list: bool,
    name: Option<&str>,
    to: Option<MapTarget>,
    catalog_dir: Option<&Path>,
    file: Option<&Path>,
) -> ExitCode {
    use std::io::{BufRead, Read, Write};
    let catalog = match catalog_dir {
        Some(dir) => mappings::Catalog::load_dir(dir),
        None => mappings::Catalog::builtin(),
    };
    let catalog = match catalog {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error[{}]: {e}", e.code());
            return ExitCode::FAILURE;
        }
    };
    if list {
        for n in catalog.names() {
            println!("{n}");
        }
        return ExitCode::SUCCESS;
    }
    let Some(mapping) = name.and_then(|n| catalog.get(n)) else {
        eprintln!(
            "error: no mapping {}; installed: {}",
            name.unwrap_or_default(),
            catalog.names().join(", ")
        );
        return ExitCode::from(2);
    };
    let Some(to) = to else {
        let schema = serde_json::to_string_pretty(&mapping.json_schema()).unwrap_or_default();
        println!("{schema}");
        return ExitCode::SUCCESS;
    };
    let input: Box<dyn BufRead> = match file {
        Some(path) => match std::fs::File::open(path) {
            Ok(f) => Box::new(std::io::BufReader::with_capacity(256 * 1024, f)),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        },
        None => Box::new(std::io::BufReader::with_capacity(
            256 * 1024,
            std::io::stdin(),
        )),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(256 * 1024, stdout.lock());
    let result = match to {
        MapTarget::Json => mapping
            .xml_to_json_stream(input, &mut out)
            .and_then(|()| writeln!(out).map_err(mappings::Error::Io)),
        MapTarget::Xml => {
            let mut text = Vec::new();
            let mut input = input;
            match input.read_to_end(&mut text) {
                Err(e) => Err(mappings::Error::Io(e)),
                Ok(_) => match serde_json::from_slice::<serde_json::Value>(&text) {
                    Err(e) => {
                        eprintln!(
                            "error[mapping.json_malformed]: the input is not JSON: {e} (line {}, column {})",
                            e.line(),
                            e.column()
                        );
                        return ExitCode::FAILURE;
                    }
                    Ok(v) => mapping
                        .json_to_xml(&v)
                        .and_then(|xml| out.write_all(&xml).map_err(mappings::Error::Io)),
                },
            }
        }
    };
    let flushed = out.flush();
    match (result, flushed) {
        (Ok(()), Ok(())) => ExitCode::SUCCESS,
        (Err(e), _) => {
            eprintln!("error[{}]: {e}", e.code());
            ExitCode::FAILURE
        }
        (Ok(()), Err(e)) => {
            eprintln!("error: cannot write the output: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> ExitCode {
    telemetry::init(&config.platform.log.level, config.platform.log.format);
    let listener = match std::net::TcpListener::bind(config.platform.server.listen) {
        Ok(l) => l,
        Err(e) => {
            return fail(
                format!("cannot listen on {}", config.platform.server.listen),
                &e,
            );
        }
    };
    let hub = match Hub::start(config, Arc::new(SystemClock)).await {
        Ok(h) => h,
        Err(e) => return fail("cannot start", &e),
    };
    run_hub(hub, listener, None).await
}

/// The newcomer's hub: the embedded store in `data_dir`, the sandbox simulators of the
/// provincial platform and e-Longyan on the same port, providers wired to them, demonstration
/// administrators. The configuration is written to `data_dir/hub.demo.toml` for reading.
async fn demo(listen: &str, data_dir: PathBuf) -> ExitCode {
    let addr: std::net::SocketAddr = match listen.parse() {
        Ok(a) => a,
        Err(_) => {
            eprintln!("error: --listen `{listen}` is not an address:port such as 127.0.0.1:8080");
            return ExitCode::from(2);
        }
    };
    // Bound first: with port 0 the providers' URLs need the port the system chose.
    let listener = match std::net::TcpListener::bind(addr) {
        Ok(l) => l,
        Err(e) => return fail(format!("cannot listen on {addr}"), &e),
    };
    let bound = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => return fail("cannot read the bound address", &e),
    };
    let file = match crate::demo::write_config(&data_dir, bound) {
        Ok(f) => f,
        Err(e) => return fail("cannot write the demo configuration", &e),
    };
    // HUB_* variables override the demo's settings as they do any file (benchmarks raise the
    // sign-in rate limit this way).
    let sources = Sources {
        file: Some(&file),
        env: Sources::process_env(),
        listen: None,
    };
    let config = match Config::load(sources) {
        Ok(c) => c,
        Err(p) => {
            eprintln!("the demo configuration is invalid (a defect):\n{p}");
            return ExitCode::FAILURE;
        }
    };
    telemetry::init(&config.platform.log.level, config.platform.log.format);
    let public_url = config.platform.server.public_url.clone();
    let mut hub = match Hub::start(config, Arc::new(SystemClock)).await {
        Ok(h) => h,
        Err(e) => return fail("cannot start", &e),
    };
    hub.mount(sandbox::router(sandbox::SandboxConfig::demo(&public_url)));
    run_hub(hub, listener, Some(data_dir)).await
}

async fn run_hub(hub: Hub, listener: std::net::TcpListener, demo_dir: Option<PathBuf>) -> ExitCode {
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    if let Some(dir) = demo_dir {
        if let Err(e) = crate::demo::connect_sandbox_platforms(hub.state(), &addr).await {
            return fail("cannot prepare the demo connectors", &e);
        }
        let seeded = match crate::demo::seed(hub.state()).await {
            Ok(seeded) => seeded,
            Err(e) => return fail("cannot prepare the demo data", &e),
        };
        if let Some((_, token)) = seeded.tokens.iter().find(|(r, _)| *r == Role::SystemAdmin)
            && let Err(e) = crate::demo::seed_organisations(hub.state(), token).await
        {
            return fail("cannot prepare the demo organisations", &e);
        }
        if let Some((_, token)) = seeded.tokens.iter().find(|(r, _)| *r == Role::SystemAdmin)
            && let Err(e) = crate::demo::seed_market(hub.state(), token).await
        {
            return fail("cannot prepare the demo products", &e);
        }
        let token_of = |role: Role| {
            seeded
                .tokens
                .iter()
                .find(|(r, _)| *r == role)
                .map(|(_, t)| t.clone())
        };
        if let (Some(editor), Some(reviewer)) = (
            token_of(Role::ContentEditor),
            token_of(Role::ContentReviewer),
        ) && let Err(e) = crate::demo::seed_content(hub.state(), &editor, &reviewer).await
        {
            return fail("cannot prepare the demo content", &e);
        }
        println!("{}", crate::demo::banner(&addr, &dir, &seeded));
        crate::demo::start_demo_partner(hub.state(), &addr);
    }
    tracing::info!(%addr, backend = hub.state().platform.db.backend().as_str(), "listening");
    match hub.serve(listener, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail("server failed", &e),
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

async fn admin(command: AdminCommand) -> ExitCode {
    let config_path = match &command {
        AdminCommand::CreateToken { config, .. }
        | AdminCommand::CreateUser { config, .. }
        | AdminCommand::ResetCredentials { config, .. }
        | AdminCommand::Unlock { config, .. } => config.config.clone(),
    };
    let config = match load(config_path.as_deref(), None) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let services = match Services::open(config, Arc::new(SystemClock), true).await {
        Ok(s) => s,
        Err(e) => return fail("cannot open the store", &e),
    };
    let admins = services.state.platform.admins.clone();
    let ctx = RequestContext::system();
    let code = match command {
        AdminCommand::CreateToken {
            role, ttl, name, ..
        } => match admins.create_token(None, &name, role, ttl, &ctx).await {
            Ok(t) => {
                println!("{}", t.token);
                eprintln!(
                    "token {} for role {role} expires {}; it is shown only now",
                    t.info.id, t.info.expires_at
                );
                ExitCode::SUCCESS
            }
            Err(e) => fail("cannot create the token", &e),
        },
        AdminCommand::CreateUser {
            username,
            role,
            display_name,
            ..
        } => {
            let display = display_name.unwrap_or_else(|| username.clone());
            match admins.create(None, &username, &display, role, &ctx).await {
                Ok(c) => {
                    print_credentials(&c);
                    ExitCode::SUCCESS
                }
                Err(e) => fail("cannot create the administrator", &e),
            }
        }
        AdminCommand::ResetCredentials { username, .. } => {
            match admins.find_by_username(&username).await {
                Ok(Some(a)) => match admins.reset_credentials(None, &a.id, &ctx).await {
                    Ok(c) => {
                        print_credentials(&c);
                        ExitCode::SUCCESS
                    }
                    Err(e) => fail("cannot reset the credentials", &e),
                },
                Ok(None) => {
                    eprintln!("error: no administrator named {username}");
                    ExitCode::FAILURE
                }
                Err(e) => fail("cannot read administrators", &e),
            }
        }
        AdminCommand::Unlock { username, .. } => match admins.find_by_username(&username).await {
            Ok(Some(a)) => match admins.unlock(None, &a.id, &ctx).await {
                Ok(_) => {
                    println!("{username} unlocked");
                    ExitCode::SUCCESS
                }
                Err(e) => fail("cannot unlock", &e),
            },
            Ok(None) => {
                eprintln!("error: no administrator named {username}");
                ExitCode::FAILURE
            }
            Err(e) => fail("cannot read administrators", &e),
        },
    };
    services.close().await;
    code
}

fn print_credentials(c: &platform::admin::IssuedCredentials) {
    println!("administrator: {} ({})", c.admin.username, c.admin.role);
    println!(
        "password:      {}   (must be changed at first sign-in)",
        c.password
    );
    println!("TOTP secret:   {}", c.totp_secret);
    println!("TOTP URI:      {}", c.totp_uri);
    eprintln!("these credentials are shown only now");
}
