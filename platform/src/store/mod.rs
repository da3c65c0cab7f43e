//! The store: embedded SQLite (the default, one node) or PostgreSQL (several nodes).
//!
//! Both backends run the same SQL wherever the dialects agree (`$1` placeholders, `RETURNING`,
//! `ON CONFLICT`); times are integer milliseconds and identifiers text so that the types map
//! one-to-one. Each backend has its own migration directory because DDL (types, triggers)
//! differs; a test checks that both produce the same tables and columns. Queries are written
//! once and compiled for both pools with [`with_pool!`].
//!
//! On SQLite, writes go through a pool of one connection, so that writers queue in the process
//! instead of spinning on the file lock, and reads use a separate pool.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::config::{DatabaseConfig, DatabaseUrl};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$p` bound to the concrete pool of either backend (and optionally `$b`
/// to its [`Backend`]). The body is compiled once per backend, so it must be valid for both.
#[macro_export]
macro_rules! with_pool {
    ($pool:expr, |$p:ident| $body:expr) => {
        match $pool {
            $crate::store::Pool::Sqlite($p) => $body,
            $crate::store::Pool::Postgres($p) => $body,
        }
    };
    ($pool:expr, |$p:ident, $b:ident| $body:expr) => {
        match $pool {
            $crate::store::Pool::Sqlite($p) => {
                #[allow(unused_variables)]
                let $b = $crate::store::Backend::Sqlite;
                $body
            }
            $crate::store::Pool::Postgres($p) => {
                #[allow(unused_variables)]
                let $b = $crate::store::Backend::Postgres;
                $body
            }
        }
    };
}
pub use crate::with_pool;

/// Begins a write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`), so
/// that a transaction which reads before writing cannot fail to upgrade its lock when another
/// process (an operator's `hub` command) writes at the same time.
#[macro_export]
macro_rules! begin_write {
    ($p:ident, $b:ident) => {
        if $b == $crate::store::Backend::Sqlite {
            $p.begin_with("BEGIN IMMEDIATE").await
        } else {
            $p.begin().await
        }
    };
}
pub use crate::begin_write;

/// Store failures. The hub maps `Unavailable` to 503 and the rest to 500; neither message is
/// shown to clients.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("the database is unreachable")]
    Unavailable(#[source] sqlx::Error),
    #[error("a database statement failed")]
    Query(#[source] sqlx::Error),
    #[error("database migration failed")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    #[error("cannot prepare the data directory {path}")]
    DataDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e),
            other => StoreError::Query(other),
        }
    }
}

impl StoreError {
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Query(e) if e.as_database_error().is_some_and(|d| d.is_unique_violation()))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// A connection to the store: a read pool and a write pool (the same pool on PostgreSQL).
#[derive(Clone, Debug)]
pub struct Db {
    read: Pool,
    write: Pool,
    backend: Backend,
}

impl Db {
    pub async fn connect(cfg: &DatabaseConfig) -> StoreResult<Db> {
        match &cfg.url {
            DatabaseUrl::Sqlite(path) => Self::connect_sqlite(path, cfg).await,
            DatabaseUrl::Postgres(url) => {
                let opts = PgConnectOptions::from_str(url.expose())
                    .map_err(StoreError::Unavailable)?
                    .application_name("longyan-hub");
                let pool = PgPoolOptions::new()
                    .max_connections(cfg.max_connections)
                    .min_connections(0)
                    .acquire_timeout(cfg.connect_timeout)
                    .connect_with(opts)
                    .await
                    .map_err(StoreError::Unavailable)?;
                Ok(Db {
                    read: Pool::Postgres(pool.clone()),
                    write: Pool::Postgres(pool),
                    backend: Backend::Postgres,
                })
            }
        }
    }

    async fn connect_sqlite(path: &Path, cfg: &DatabaseConfig) -> StoreResult<Db> {
        prepare_private_file(path).map_err(|source| StoreError::DataDir {
            path: path.display().to_string(),
            source,
        })?;
        // WAL keeps readers off the writer's back. Commits are NORMAL (not fsynced) except the
        // audit writer's, which are FULL: an fsync of the WAL makes every earlier transaction in
        // it durable too, and every state-changing action is acknowledged only after its audit
        // record commits. So nothing acknowledged is lost on power failure, and a sign-in pays
        // for one shared fsync (the audit batch's) instead of one per transaction.
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("temp_store", "memory");
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .acquire_timeout(cfg.connect_timeout.max(Duration::from_secs(30)))
            .connect_with(opts.clone())
            .await
            .map_err(StoreError::Unavailable)?;
        let read = SqlitePoolOptions::new()
            .max_connections(cfg.max_connections.clamp(1, 8))
            .min_connections(0)
            .acquire_timeout(cfg.connect_timeout)
            .connect_with(opts)
            .await
            .map_err(StoreError::Unavailable)?;
        Ok(Db {
            read: Pool::Sqlite(read),
            write: Pool::Sqlite(write),
            backend: Backend::Sqlite,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn read(&self) -> &Pool {
        &self.read
    }

    pub fn write(&self) -> &Pool {
        &self.write
    }

    /// Applies migrations this build knows and the store lacks, unless there are none: then it
    /// does nothing at all, so a node may run as a database role that cannot create tables
    /// (`deploy/postgres-roles.sql`), and a node of the previous release keeps running while a
    /// newer one has added migrations (rolling upgrades; migrations only add).
    pub async fn migrate_pending(&self) -> StoreResult<()> {
        if self.is_ready().await {
            return Ok(());
        }
        self.migrate().await
    }

    /// Applies pending migrations and checks the applied ones against this build (`hub migrate`).
    /// On PostgreSQL sqlx holds an advisory lock meanwhile, so nodes starting together migrate
    /// once.
    pub async fn migrate(&self) -> StoreResult<()> {
        with_pool!(&self.write, |p, b| {
            let m = match b {
                Backend::Sqlite => &SQLITE_MIGRATIONS,
                Backend::Postgres => &POSTGRES_MIGRATIONS,
            };
            m.run(p).await.map_err(StoreError::Migrate)
        })
    }

    /// Ready means reachable and every migration this build knows is applied.
    pub async fn is_ready(&self) -> bool {
        let expected: Vec<i64> = match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.iter().map(|m| m.version).collect(),
            Backend::Postgres => POSTGRES_MIGRATIONS.iter().map(|m| m.version).collect(),
        };
        let applied: Result<Vec<i64>, sqlx::Error> = with_pool!(&self.read, |p| {
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(p)
                .await
        });
        match applied {
            Ok(applied) => expected.iter().all(|v| applied.contains(v)),
            Err(_) => false,
        }
    }

    /// `(size, idle)` of the pools, for `/metrics`.
    pub fn pool_stats(&self) -> Vec<(&'static str, u32, usize)> {
        let stat = |name: &'static str, p: &Pool| match p {
            Pool::Sqlite(p) => (name, p.size(), p.num_idle()),
            Pool::Postgres(p) => (name, p.size(), p.num_idle()),
        };
        match self.backend {
            Backend::Sqlite => vec![stat("read", &self.read), stat("write", &self.write)],
            Backend::Postgres => vec![stat("main", &self.write)],
        }
    }

    pub async fn close(&self) {
        with_pool!(&self.read, |p| p.close().await);
        with_pool!(&self.write, |p| p.close().await);
    }
}

/// Creates `path`'s directory (0700) and the empty file (0600) if they are missing, so that the
/// database holding identities and the audit trail is readable by the hub's user only, whatever
/// the umask. SQLite gives its `-wal` and `-shm` files the database file's mode.
pub(crate) fn prepare_private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)?;
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn private_files_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a/b/hub.db");
        super::prepare_private_file(&file).unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(file.parent().unwrap()), 0o700);
        // Idempotent, and an existing file keeps its contents.
        std::fs::write(&file, b"x").unwrap();
        super::prepare_private_file(&file).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"x");
    }

    #[test]
    fn both_backends_have_the_same_migration_versions() {
        let names = |m: &sqlx::migrate::Migrator| {
            m.iter()
                .map(|x| (x.version, x.description.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(&super::SQLITE_MIGRATIONS),
            names(&super::POSTGRES_MIGRATIONS)
        );
        assert!(super::SQLITE_MIGRATIONS.iter().count() > 0);
    }
}
