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
use hub::Config;
use platform::clock::ManualClock;

pub use anyhow;

pub mod browser;
pub mod node_op;
pub mod test_op;

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
        let mut vars = vec![
            ("HUB_DATA_DIR".to_owned(), dir.path().display().to_string()),
            // The shipped connectors point at the real platforms, which tests must not call:
            // the tests of health probes switch them on against local servers.
            ("HUB_CONNECTORS__PROBES".to_owned(), "false".to_owned()),
        ];
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
        // Like a process environment: one value per name, the last setting of a name winning
        // over earlier ones and over the store's own variables.
        let mut env: std::collections::BTreeMap<String, String> =
            self.vars.iter().cloned().collect();
        for (k, v) in settings {
            env.insert((*k).to_owned(), (*v).to_owned());
        }
        let env: Vec<(String, String)> = env.into_iter().collect();
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
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        Self::start_on(store, config, clock, listener, None).await
    }

    /// Starts on a bound listener, serving `extra` routes too (the sandbox simulators).
    pub async fn start_on(
        store: &Store,
        config: Config,
        clock: Arc<ManualClock>,
        listener: std::net::TcpListener,
        extra: Option<axum::Router>,
    ) -> Result<TestHub> {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let addr = listener.local_addr()?;
        let scheme = if config.platform.server.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let mut hub = hub::Hub::start(config, clock.clone()).await?;
        if let Some(x) = extra {
            hub.mount(x);
        }
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

    /// Moves this hub's clock on with real time from now on (every 20 ms, while the hub lives):
    /// for the tests of periodic work, whose schedule runs on real timers while the hub judges
    /// "due" by its own clock.
    pub fn follow_real_time(&self) {
        let clock = Arc::downgrade(&self.clock);
        tokio::spawn(async move {
            let mut last = std::time::Instant::now();
            loop {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let Some(clock) = clock.upgrade() else { return };
                let now = std::time::Instant::now();
                clock.advance(now - last);
                last = now;
            }
        });
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

    /// GET with a bearer token, expecting `200` and JSON.
    pub async fn get_json(&self, token: &str, path: &str) -> Result<serde_json::Value> {
        json(self.get_as(token, path).await?, 200).await
    }

    /// An API token for `role`, issued directly in the store.
    pub async fn token(&self, role: platform::admin::Role) -> Result<String> {
        let t = self
            .state
            .platform
            .admins
            .create_token(None, "test", role, None, &Default::default())
            .await?;
        Ok(t.token)
    }

    /// An administrator of `role` as created: the issued password (which must be changed at
    /// the first sign-in) and the TOTP secret; not signed in.
    pub async fn issued_admin(
        &self,
        username: &str,
        role: platform::admin::Role,
    ) -> Result<TestAdmin> {
        let issued = self
            .state
            .platform
            .admins
            .create(None, username, username, role, &Default::default())
            .await?;
        Ok(TestAdmin {
            id: issued.admin.id.clone(),
            username: username.to_owned(),
            password: issued.password.clone(),
            secret: data_encoding::BASE32_NOPAD.decode(issued.totp_secret.as_bytes())?,
            cookie: String::new(),
        })
    }

    /// A signed-in administrator of `role` whose issued password has been changed.
    pub async fn admin(&self, username: &str, role: platform::admin::Role) -> Result<TestAdmin> {
        let mut admin = self.issued_admin(username, role).await?;
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
        platform::admin::totp::code_at(
            &admin.secret,
            platform::clock::Clock::now(&*self.clock).as_secs(),
        )
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

/// A hub with the sandbox simulators mounted on its own port (as `hub demo` does) and the
/// providers `fujian` and `elongyan` wired to them. `settings` are extra `HUB_*` variables.
pub async fn federated_hub(env: &Env, settings: &[(&str, &str)]) -> Result<TestHub> {
    let store = env.store().await?;
    federated_hub_on(&store, settings, |_| {}).await
}

/// As [`federated_hub`], on a given store, with a chance to change the sandbox's settings.
pub async fn federated_hub_on(
    store: &Store,
    settings: &[(&str, &str)],
    sandbox: impl FnOnce(&mut sandbox::SandboxConfig),
) -> Result<TestHub> {
    federated_hub_listening(
        store,
        std::net::TcpListener::bind("127.0.0.1:0")?,
        settings,
        sandbox,
    )
    .await
}

/// As [`federated_hub_on`], on a listener bound beforehand (so that other providers can be
/// told the hub's URL first).
pub async fn federated_hub_listening(
    store: &Store,
    listener: std::net::TcpListener,
    settings: &[(&str, &str)],
    sandbox: impl FnOnce(&mut sandbox::SandboxConfig),
) -> Result<TestHub> {
    let base = format!("http://{}", listener.local_addr()?);
    let sm4 = hex::encode(sandbox::DEMO_ELONGYAN_SM4_KEY);
    let fujian_base = format!("{base}/sandbox/fujian/dataset");
    let exchange = format!("{base}/sandbox/elongyan/AppSerController/invokeservice.do");
    let mut vars: Vec<(&str, &str)> = vec![
        ("HUB_SERVER__PUBLIC_URL", base.as_str()),
        ("HUB_PROVIDERS__FUJIAN__KIND", "fujian"),
        ("HUB_PROVIDERS__FUJIAN__BASE_URL", fujian_base.as_str()),
        (
            "HUB_PROVIDERS__FUJIAN__CALLER_CODE",
            sandbox::DEMO_FUJIAN_CALLER_CODE,
        ),
        ("HUB_PROVIDERS__ELONGYAN__KIND", "elongyan"),
        (
            "HUB_PROVIDERS__ELONGYAN__APP_ID",
            sandbox::DEMO_ELONGYAN_APP_ID,
        ),
        ("HUB_PROVIDERS__ELONGYAN__SIGNATURE", "hmac-sm3"),
        (
            "HUB_PROVIDERS__ELONGYAN__SECRET",
            sandbox::DEMO_ELONGYAN_SECRET,
        ),
        ("HUB_PROVIDERS__ELONGYAN__SM4_KEY", sm4.as_str()),
        ("HUB_PROVIDERS__ELONGYAN__EXCHANGE_URL", exchange.as_str()),
        (
            "HUB_PROVIDERS__ELONGYAN__EXCHANGE_CALLER_CODE",
            sandbox::DEMO_ELONGYAN_EXCHANGE_CALLER_CODE,
        ),
    ];
    vars.extend_from_slice(settings);
    let config = store.config(&vars)?;
    let mut sandbox_config = sandbox::SandboxConfig::demo(&base);
    sandbox(&mut sandbox_config);
    TestHub::start_on(
        store,
        config,
        ManualClock::at_system_now(),
        listener,
        Some(sandbox::router(sandbox_config)),
    )
    .await
}

/// A stand-in for an external platform on `127.0.0.1:<ephemeral>`: answers every request with
/// the status currently set (after `delay`), counts requests and keeps their `x-request-id`.
pub struct Platform {
    pub addr: std::net::SocketAddr,
    pub status: Arc<std::sync::atomic::AtomicU16>,
    pub delay_ms: Arc<std::sync::atomic::AtomicU64>,
    pub hits: Arc<std::sync::atomic::AtomicUsize>,
    pub request_ids: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Platform {
    pub async fn start() -> Result<Platform> {
        use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let status = Arc::new(AtomicU16::new(200));
        let delay_ms = Arc::new(AtomicU64::new(0));
        let hits = Arc::new(AtomicUsize::new(0));
        let request_ids = Arc::new(Mutex::new(Vec::new()));
        let (s, d, h, r) = (
            status.clone(),
            delay_ms.clone(),
            hits.clone(),
            request_ids.clone(),
        );
        let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap| {
            let (s, d, h, r) = (s.clone(), d.clone(), h.clone(), r.clone());
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                if let Some(id) = headers.get("x-request-id").and_then(|v| v.to_str().ok()) {
                    r.lock().unwrap().push(id.to_owned());
                }
                let wait = d.load(Ordering::SeqCst);
                if wait > 0 {
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                }
                let code = axum::http::StatusCode::from_u16(s.load(Ordering::SeqCst))
                    .unwrap_or(axum::http::StatusCode::OK);
                (code, "模拟外部平台")
            }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Platform {
            addr,
            status,
            delay_ms,
            hits,
            request_ids,
            task,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn set_status(&self, status: u16) {
        self.status
            .store(status, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A consumer of translated messages on `127.0.0.1:<ephemeral>` that honours `Idempotency-Key`:
/// it applies each key once, counts every request, and can be told to fail (answer `status`)
/// or to stall after applying (so that a test can kill the hub mid-delivery).
pub struct Consumer {
    pub addr: std::net::SocketAddr,
    /// Answer for every request (200 unless changed).
    pub status: Arc<std::sync::atomic::AtomicU16>,
    /// Milliseconds to wait, after applying, before the first answer to a key.
    pub stall_first_ms: Arc<std::sync::atomic::AtomicU64>,
    /// Milliseconds to wait before answering a key seen before.
    pub stall_repeat_ms: Arc<std::sync::atomic::AtomicU64>,
    /// Requests received, by key (including repeats).
    pub requests: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
    /// Messages applied, by key: each key at most once.
    pub applied: Arc<Mutex<std::collections::BTreeMap<String, serde_json::Value>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Consumer {
    pub async fn start() -> Result<Consumer> {
        use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let status = Arc::new(AtomicU16::new(200));
        let stall = Arc::new(AtomicU64::new(0));
        let stall_repeat = Arc::new(AtomicU64::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let applied = Arc::new(Mutex::new(std::collections::BTreeMap::new()));
        let (st, sl, sr, rq, ap) = (
            status.clone(),
            stall.clone(),
            stall_repeat.clone(),
            requests.clone(),
            applied.clone(),
        );
        let app = axum::Router::new().fallback(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let (st, sl, sr, rq, ap) =
                    (st.clone(), sl.clone(), sr.clone(), rq.clone(), ap.clone());
                async move {
                    let key = headers
                        .get("idempotency-key")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    let value: serde_json::Value =
                        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                    rq.lock().unwrap().push((key.clone(), value.clone()));
                    let code = st.load(Ordering::SeqCst);
                    if code != 200 {
                        return axum::http::StatusCode::from_u16(code)
                            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
                    }
                    let first = match ap.lock().unwrap().entry(key) {
                        std::collections::btree_map::Entry::Occupied(_) => false,
                        std::collections::btree_map::Entry::Vacant(v) => {
                            v.insert(value);
                            true
                        }
                    };
                    let wait = if first {
                        sl.load(Ordering::SeqCst)
                    } else {
                        sr.load(Ordering::SeqCst)
                    };
                    if wait > 0 {
                        tokio::time::sleep(Duration::from_millis(wait)).await;
                    }
                    axum::http::StatusCode::OK
                }
            },
        );
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Consumer {
            addr,
            status,
            stall_first_ms: stall,
            stall_repeat_ms: stall_repeat,
            requests,
            applied,
            task,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}/messages", self.addr)
    }

    pub fn request_count(&self, key: &str) -> usize {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k == key)
            .count()
    }

    pub fn applied(&self) -> std::collections::BTreeMap<String, serde_json::Value> {
        self.applied.lock().unwrap().clone()
    }

    /// Waits (up to 20 s) until `cond` holds.
    pub async fn wait_until(&self, what: &str, cond: impl Fn(&Consumer) -> bool) -> Result<()> {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !cond(self) {
            ensure!(
                std::time::Instant::now() < deadline,
                "timed out waiting: {what}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A browser: follows redirects itself and keeps cookies by name (the hub's `__Host-` cookies
/// are `Secure`, which HTTP clients' cookie stores do not send over loopback HTTP).
#[derive(Default)]
pub struct Browser {
    pub jar: std::collections::BTreeMap<String, String>,
    pub accept: Option<String>,
}

/// One response, as the browser saw it.
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub content_type: String,
    pub body: String,
}

impl Page {
    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_str(&self.body)
            .with_context(|| format!("not JSON ({}): {}", self.status, self.body))
    }

    /// The problem document's code, after checking the status.
    pub fn problem(&self, status: u16, code: &str) -> Result<serde_json::Value> {
        ensure!(
            self.status == status,
            "expected {status} {code}, got {}: {}",
            self.status,
            self.body
        );
        let doc = self.json()?;
        ensure!(doc["code"] == code, "expected {code}: {}", self.body);
        Ok(doc)
    }
}

impl Browser {
    pub fn new() -> Self {
        Browser::default()
    }

    pub fn cookie(&self, name: &str) -> Option<&String> {
        self.jar.get(name)
    }

    pub async fn request(
        &mut self,
        method: reqwest::Method,
        url: &str,
        form: Option<&[(&str, &str)]>,
    ) -> Result<Page> {
        let mut req = client().request(method, url);
        if !self.jar.is_empty() {
            let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            req = req.header("cookie", cookies.join("; "));
        }
        if let Some(a) = &self.accept {
            req = req.header("accept", a);
        }
        if let Some(f) = form {
            req = req.form(f);
        }
        let res = req.send().await?;
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let content_type = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let set_cookies: Vec<String> = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        for c in &set_cookies {
            let first = c.split(';').next().unwrap_or_default();
            if let Some((k, v)) = first.split_once('=') {
                if c.contains("Max-Age=0") || v.is_empty() {
                    self.jar.remove(k);
                } else {
                    self.jar.insert(k.to_owned(), v.to_owned());
                }
            }
        }
        let body = res.text().await?;
        Ok(Page {
            status,
            location,
            set_cookies,
            content_type,
            body,
        })
    }

    pub async fn get(&mut self, url: &str) -> Result<Page> {
        self.request(reqwest::Method::GET, url, None).await
    }

    /// Follows redirects from `url` (relative ones against `base`), letting `edit` change each
    /// next URL (e.g. add `persona=` at the provincial login page); stops at the first answer
    /// that is not a redirect, or at a redirect to a URL for which `stop` is true.
    pub async fn follow(
        &mut self,
        base: &str,
        url: &str,
        mut edit: impl FnMut(String) -> String,
        stop: impl Fn(&str) -> bool,
    ) -> Result<(Page, Vec<String>)> {
        let mut next = url.to_owned();
        let mut visited = Vec::new();
        for _ in 0..12 {
            visited.push(next.clone());
            let page = self.get(&next).await?;
            match (&page.location, page.status) {
                (Some(loc), 301..=303 | 307 | 308) => {
                    let abs = if loc.starts_with('/') {
                        format!("{base}{loc}")
                    } else {
                        loc.clone()
                    };
                    if stop(&abs) {
                        return Ok((page, visited));
                    }
                    next = edit(abs);
                }
                _ => return Ok((page, visited)),
            }
        }
        bail!("too many redirects: {visited:?}")
    }

    /// Signs in through the sandbox's provincial platform as `persona` (with an optional sandbox
    /// `fault`), starting at `/sso/fujian/login`; returns the final page (the redirect to
    /// `return_to`).
    pub async fn provincial_sign_in(
        &mut self,
        hub: &TestHub,
        persona: &str,
        fault: Option<&str>,
        return_to: &str,
    ) -> Result<(Page, Vec<String>)> {
        let start = hub.url(&format!(
            "/sso/fujian/login?return_to={}",
            url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect::<String>()
        ));
        let suffix = match fault {
            Some(f) => format!("&persona={persona}&fault={f}"),
            None => format!("&persona={persona}"),
        };
        let base = hub.base.clone();
        self.follow(
            &hub.base,
            &start,
            |u| {
                if u.contains("/goLogin.do?") {
                    format!("{u}{suffix}")
                } else {
                    u
                }
            },
            |u| !u.starts_with(&base) || !(u.contains("/sso/") || u.contains("/sandbox/")),
        )
        .await
    }

    /// The signed-in user (`/api/me`), or the problem.
    pub async fn me(&mut self, hub: &TestHub) -> Result<Page> {
        let accept = self.accept.replace("application/json".into());
        let page = self.get(&hub.url("/api/me")).await;
        self.accept = accept;
        page
    }
}
