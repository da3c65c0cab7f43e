//! The end-to-end test harness: real hubs on ephemeral loopback ports, on SQLite and on a real
//! PostgreSQL server, driven over HTTP (and through the `hub` command line for the tests that
//! need a process).
//!
//! Every test is instantiated once per backend it supports (`name::sqlite`, `name::postgres`).
//! A PostgreSQL test gets a database of its own, dropped afterwards. The server to use is
//! `HUB_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`); when it is
//! unreachable the PostgreSQL tests fail and say how to start it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use hub::{Config, ManualClock};

pub use anyhow;

/// The environment variable that makes the test binary behave as the `hub` binary (so that
/// command-line tests run the real CLI code in a real process).
pub const RUN_AS_HUB: &str = "HUB_E2E_RUN_AS_HUB";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub enum Backends {
    Both,
    SqliteOnly,
    PostgresOnly,
}

pub type TestFn = fn(Env) -> Pin<Box<dyn Future<Output = Result<()>> + Send>>;

pub struct Test {
    pub name: &'static str,
    pub backends: Backends,
    pub run: TestFn,
}

/// `test!(name)` runs on both backends; `test!(sqlite: name)` / `test!(postgres: name)` on one.
#[macro_export]
macro_rules! test {
    ($f:ident) => {
        $crate::Test {
            name: stringify!($f),
            backends: $crate::Backends::Both,
            run: |env| Box::pin($f(env)),
        }
    };
    (sqlite: $f:ident) => {
        $crate::Test {
            name: stringify!($f),
            backends: $crate::Backends::SqliteOnly,
            run: |env| Box::pin($f(env)),
        }
    };
    (postgres: $f:ident) => {
        $crate::Test {
            name: stringify!($f),
            backends: $crate::Backends::PostgresOnly,
            run: |env| Box::pin($f(env)),
        }
    };
}

pub fn postgres_admin_url() -> String {
    std::env::var("HUB_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// What one test may create; everything is removed when the test ends.
#[derive(Clone)]
pub struct Env {
    pub backend: Backend,
    cleanup: Arc<Mutex<Vec<String>>>,
}

impl Env {
    pub fn new(backend: Backend) -> Self {
        Env {
            backend,
            cleanup: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// A fresh store: the settings (as environment variables) that point a hub at it.
    pub async fn store(&self) -> Result<Store> {
        let dir = Arc::new(tempfile::tempdir()?);
        let mut vars = vec![("HUB_DATA_DIR".to_owned(), dir.path().display().to_string())];
        let mut pg_url = None;
        if self.backend == Backend::Postgres {
            let admin = postgres_admin_url();
            let pool = sqlx::PgPool::connect(&admin).await.with_context(|| {
                format!(
                    "PostgreSQL is unreachable at {admin}: start it (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) or set HUB_TEST_POSTGRES_URL"
                )
            })?;
            let name = format!("hub_t_{}", uuid::Uuid::new_v4().simple());
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&pool)
                .await?;
            pool.close().await;
            self.cleanup.lock().unwrap().push(name.clone());
            let url = replace_database(&admin, &name);
            vars.push(("HUB_DATABASE_URL".to_owned(), url.clone()));
            // Several nodes share keys: PostgreSQL requires them configured.
            vars.push(("HUB_AUDIT__HMAC_KEY".to_owned(), random_hex(32)));
            vars.push(("HUB_CRYPTO__DATA_KEY".to_owned(), random_hex(16)));
            vars.push(("HUB_CRYPTO__INDEX_KEY".to_owned(), random_hex(32)));
            pg_url = Some(url);
        }
        Ok(Store {
            dir,
            vars,
            pg_url,
            backend: self.backend,
        })
    }

    /// A hub on a fresh store with the defaults.
    pub async fn hub(&self) -> Result<TestHub> {
        self.hub_with(&[]).await
    }

    /// A hub on a fresh store with extra settings (`HUB_*` variables).
    pub async fn hub_with(&self, settings: &[(&str, &str)]) -> Result<TestHub> {
        let store = self.store().await?;
        TestHub::start(&store, settings).await
    }

    /// Drops `name` with the test's other databases when the test ends.
    pub fn adopt_database(&self, name: &str) {
        self.cleanup.lock().unwrap().push(name.to_owned());
    }

    /// Drops the PostgreSQL databases this test created.
    pub async fn cleanup(&self) {
        let names: Vec<String> = std::mem::take(&mut *self.cleanup.lock().unwrap());
        if names.is_empty() {
            return;
        }
        if let Ok(pool) = sqlx::PgPool::connect(&postgres_admin_url()).await {
            for n in names {
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {n} WITH (FORCE)"
                )))
                .execute(&pool)
                .await;
            }
            pool.close().await;
        }
    }
}

fn replace_database(url: &str, db: &str) -> String {
    match url.rfind('/') {
        Some(i) if i > "postgres://".len() => format!("{}/{db}", &url[..i]),
        _ => format!("{url}/{db}"),
    }
}

pub fn random_hex(bytes: usize) -> String {
    hex::encode(
        (0..bytes)
            .map(|_| uuid::Uuid::new_v4().as_bytes()[0])
            .collect::<Vec<u8>>(),
    )
}

/// A store several hubs (or a hub and a command) can share.
#[derive(Clone)]
pub struct Store {
    pub dir: Arc<tempfile::TempDir>,
    /// `HUB_*` variables that point at this store.
    pub vars: Vec<(String, String)>,
    pub pg_url: Option<String>,
    pub backend: Backend,
}

impl Store {
    /// A direct connection to the store with the application's own credentials.
    pub async fn connect(&self) -> Result<Db> {
        Ok(match &self.pg_url {
            Some(url) => Db::Postgres(sqlx::PgPool::connect(url).await?),
            None => Db::Sqlite(
                sqlx::SqlitePool::connect_with(
                    sqlx::sqlite::SqliteConnectOptions::new()
                        .filename(self.dir.path().join("hub.db"))
                        .busy_timeout(Duration::from_secs(10)),
                )
                .await?,
            ),
        })
    }

    pub fn config(&self, settings: &[(&str, &str)]) -> Result<Config> {
        // Settings replace the store's own variables of the same name.
        let mut env: Vec<(String, String)> = self
            .vars
            .iter()
            .filter(|(k, _)| !settings.iter().any(|(s, _)| s == k))
            .cloned()
            .collect();
        env.extend(
            settings
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        hub::Config::load(hub::config::Sources {
            env,
            ..Default::default()
        })
        .map_err(|p| anyhow::anyhow!("test configuration invalid: {p}"))
    }
}

/// A direct database connection for checks and tampering.
pub enum Db {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Db {
    /// Runs one statement; `Err` carries the database's message.
    pub async fn exec(&self, sql: &str) -> Result<u64> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        Ok(match self {
            Db::Sqlite(p) => sqlx::query(sql).execute(p).await?.rows_affected(),
            Db::Postgres(p) => sqlx::query(sql).execute(p).await?.rows_affected(),
        })
    }

    pub async fn scalar_i64(&self, sql: &str) -> Result<i64> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        Ok(match self {
            Db::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await?,
            Db::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await?,
        })
    }

    pub async fn strings(&self, sql: &str) -> Result<Vec<String>> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        Ok(match self {
            Db::Sqlite(p) => sqlx::query_scalar(sql).fetch_all(p).await?,
            Db::Postgres(p) => sqlx::query_scalar(sql).fetch_all(p).await?,
        })
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(p) => p.close().await,
            Db::Postgres(p) => p.close().await,
        }
    }
}

/// A running hub on `127.0.0.1:<ephemeral>`, with a manual clock.
pub struct TestHub {
    pub base: String,
    pub http: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub state: hub::AppState,
    pub store: Store,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    join: Option<tokio::task::JoinHandle<Result<(), hub::StartError>>>,
}

impl TestHub {
    pub async fn start(store: &Store, settings: &[(&str, &str)]) -> Result<TestHub> {
        Self::start_config(store, store.config(settings)?).await
    }

    pub async fn start_config(store: &Store, config: Config) -> Result<TestHub> {
        Self::start_with_clock(store, config, ManualClock::at_system_now()).await
    }

    pub async fn start_with_clock(
        store: &Store,
        config: Config,
        clock: Arc<ManualClock>,
    ) -> Result<TestHub> {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let scheme = if config.server.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let hub = hub::Hub::start(config, clock.clone()).await?;
        let state = hub.state().clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let join = tokio::spawn(hub.serve(listener, async move {
            let _ = rx.await;
        }));
        Ok(TestHub {
            base: format!("{scheme}://{addr}"),
            http: client(),
            clock,
            state,
            store: store.clone(),
            stop: Some(tx),
            join: Some(join),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Result<reqwest::Response> {
        Ok(self.http.get(self.url(path)).send().await?)
    }

    /// GET with a bearer token.
    pub async fn get_as(&self, token: &str, path: &str) -> Result<reqwest::Response> {
        Ok(self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await?)
    }

    /// An API token for `role`, issued directly in the store.
    pub async fn token(&self, role: hub::admin::Role) -> Result<String> {
        let t = self
            .state
            .admins
            .create_token(None, "test", role, None, &Default::default())
            .await?;
        Ok(t.token)
    }

    /// A signed-in administrator of `role` whose issued password has been changed.
    pub async fn admin(&self, username: &str, role: hub::admin::Role) -> Result<TestAdmin> {
        let issued = self
            .state
            .admins
            .create(None, username, username, role, &Default::default())
            .await?;
        let secret = data_encoding::BASE32_NOPAD.decode(issued.totp_secret.as_bytes())?;
        let mut admin = TestAdmin {
            id: issued.admin.id.clone(),
            username: username.to_owned(),
            password: issued.password.clone(),
            secret,
            cookie: String::new(),
        };
        admin.cookie = self.login(&admin).await?;
        let new_password = format!("New-{}-pw-9x", &admin.password[..6]);
        let res = self
            .http
            .put(self.url("/api/admin/session/password"))
            .header("cookie", &admin.cookie)
            .json(&serde_json::json!({ "current_password": admin.password, "new_password": new_password }))
            .send()
            .await?;
        ensure!(
            res.status() == 204,
            "password change failed: {}",
            res.text().await?
        );
        admin.password = new_password;
        Ok(admin)
    }

    /// The current TOTP code for `admin`, by this hub's clock. Each step is usable once, so
    /// this moves the clock on by one step first.
    pub fn next_code(&self, admin: &TestAdmin) -> String {
        self.clock.advance(Duration::from_secs(30));
        hub::admin::totp::code_at(&admin.secret, hub::Clock::now(&*self.clock).as_secs())
    }

    /// Signs in and returns the `Cookie` header value to send.
    pub async fn login(&self, admin: &TestAdmin) -> Result<String> {
        let code = self.next_code(admin);
        let res = self
            .http
            .post(self.url("/api/admin/session"))
            .json(&serde_json::json!({ "username": admin.username, "password": admin.password, "totp": code }))
            .send()
            .await?;
        ensure!(
            res.status() == 200,
            "login failed: {} {}",
            res.status(),
            res.text().await?
        );
        let set_cookie = res
            .headers()
            .get("set-cookie")
            .context("no session cookie")?
            .to_str()?
            .to_owned();
        Ok(set_cookie.split(';').next().unwrap_or_default().to_owned())
    }

    /// Stops the hub gracefully and waits for it.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(j) = self.join.take() {
            j.await??;
        }
        Ok(())
    }
}

impl Drop for TestHub {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

pub struct TestAdmin {
    pub id: String,
    pub username: String,
    pub password: String,
    pub secret: Vec<u8>,
    pub cookie: String,
}

/// An HTTP client that follows no redirects and trusts nothing but what it is told.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}

/// Asserts an error response: status, `application/problem+json`, the exact code, and the
/// request id matching the header. Returns the document.
pub async fn assert_problem(
    res: reqwest::Response,
    status: u16,
    code: &str,
) -> Result<serde_json::Value> {
    let got = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let rid = res
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = res.text().await?;
    ensure!(got == status, "expected {status} {code}, got {got}: {text}");
    ensure!(
        ct == "application/problem+json",
        "content type {ct}: {text}"
    );
    let doc: serde_json::Value = serde_json::from_str(&text)?;
    ensure!(doc["code"] == code, "expected code {code}: {text}");
    ensure!(doc["status"] == status, "status field: {text}");
    ensure!(
        !rid.is_empty() && doc["request_id"] == rid.as_str(),
        "request id {rid}: {text}"
    );
    ensure!(
        doc["title"].as_str().is_some_and(|t| !t.is_empty()),
        "title: {text}"
    );
    ensure!(
        doc["detail"].as_str().is_some_and(|t| !t.is_empty()),
        "detail: {text}"
    );
    Ok(doc)
}

pub async fn json(res: reqwest::Response, status: u16) -> Result<serde_json::Value> {
    let got = res.status().as_u16();
    let text = res.text().await?;
    if got != status {
        bail!("expected {status}, got {got}: {text}");
    }
    serde_json::from_str(&text).with_context(|| format!("not JSON: {text}"))
}

/// The `hub` command line, as a real process of this test binary, pointed at `store`.
pub fn hub_command(store: Option<&Store>) -> Command {
    let exe = std::env::current_exe().expect("test binary path");
    let mut cmd = Command::new(exe);
    cmd.env(RUN_AS_HUB, "1");
    // Nothing from the developer's environment leaks into the command.
    for (k, _) in std::env::vars() {
        if k.starts_with("HUB_") && k != RUN_AS_HUB {
            cmd.env_remove(k);
        }
    }
    if let Some(s) = store {
        cmd.envs(s.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    }
    cmd
}

pub fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::write(path, text).expect("write test file");
    path.to_owned()
}
