//! Storage: one pool over SQLite or PostgreSQL, embedded migrations, and the few types that read
//! the same way from both.
//!
//! Queries are written once with `$1`-style parameters (both drivers accept them) and run on
//! whichever backend is configured through [`with_db!`]. Where the dialects differ, the SQL is kept
//! small and named after what it does.

pub mod backup;
pub mod changes;
pub mod inspect;
mod migrate;
pub mod params;
mod types;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::Connection;

use crate::config::DbConfig;

pub use migrate::{migrate, MigrationReport, MIGRATIONS};
pub mod migrate_error {
    pub use super::migrate::MigrateError;
}
pub use types::{json_flag, Ts};

/// The database, whichever kind it is.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool of the configured backend. The body is
/// compiled once per backend, so the same query text and row types serve both.
#[macro_export]
macro_rules! with_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot create the database folder {0}: {1}")]
    Folder(String, std::io::Error),
    #[error("cannot open the SQLite database at {0}: {1}")]
    Sqlite(String, sqlx::Error),
    #[error("the PostgreSQL database is unreachable ({0}): {1}")]
    Postgres(String, sqlx::Error),
    #[error("DATABASE_URL is not a valid PostgreSQL URL: {0}")]
    BadUrl(sqlx::Error),
}

/// A JSON value the database assembled ([`Db::json_rows`]), read; a value that does not read is
/// logged and answered as an internal error.
pub fn from_json<T: serde::de::DeserializeOwned>(json: &str) -> crate::error::Result<T> {
    serde_json::from_str(json).map_err(|e| {
        tracing::error!(error = %e, "unreadable rows from the database");
        crate::error::Error::internal()
    })
}

impl Db {
    /// An aggregate that turns each row into a JSON array of `cols` and gives all of them as one
    /// JSON text (`[]` for none), in `order` if given: a page of rows in one value, which costs
    /// one hand-off to the driver instead of one per row. Read it with serde (a struct reads an
    /// array field by field, in order; see [`Ts`]'s and [`json_flag`]'s readers).
    pub fn json_rows(&self, cols: &str, order: &str) -> String {
        let order = if order.is_empty() {
            String::new()
        } else {
            format!(" ORDER BY {order}")
        };
        match self {
            Db::Sqlite(_) => format!("json_group_array(json_array({cols}){order})"),
            Db::Postgres(_) => {
                format!("COALESCE(json_agg(json_build_array({cols}){order}), '[]')::text")
            }
        }
    }

    pub async fn connect(cfg: &DbConfig) -> Result<Db, ConnectError> {
        match cfg {
            DbConfig::Sqlite { path } => {
                let shown = path.display().to_string();
                if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| ConnectError::Folder(dir.display().to_string(), e))?;
                }
                let opts = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
                    .pragma("temp_store", "memory");
                // SQLite writes one at a time, and reads gain nothing from more connections than
                // cores; each connection keeps its own page and statement caches.
                let pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    .min_connections(1)
                    // Extra connections (and their caches) go once a burst is over.
                    .idle_timeout(Duration::from_secs(30))
                    // A COMMIT that fails (a full disk) leaves sqlx counting a transaction that
                    // SQLite already rolled back, and every later BEGIN on that connection
                    // would fail: such a connection is closed instead of handed out.
                    .before_acquire(|conn, _| {
                        Box::pin(async move { Ok(!sqlx::Connection::is_in_transaction(conn)) })
                    })
                    .acquire_timeout(Duration::from_secs(15))
                    .connect_with(opts)
                    .await
                    .map_err(|e| ConnectError::Sqlite(shown.clone(), e))?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
                }
                Ok(Db::Sqlite(pool))
            }
            DbConfig::Postgres { url } => {
                let opts = PgConnectOptions::from_str(url)
                    .map_err(ConnectError::BadUrl)?
                    .options([("timezone", "UTC")]);
                let shown = format!(
                    "{}:{}/{}",
                    opts.get_host(),
                    opts.get_port(),
                    opts.get_database().unwrap_or("")
                );
                // One direct connection first, so an unreachable server is reported with its cause
                // rather than as a pool time-out.
                let probe = tokio::time::timeout(Duration::from_secs(10), PgConnection::connect_with(&opts))
                    .await
                    .map_err(|_| ConnectError::Postgres(shown.clone(), sqlx::Error::PoolTimedOut))?
                    .map_err(|e| ConnectError::Postgres(shown.clone(), e))?;
                let _ = probe.close().await;
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .min_connections(1)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(opts)
                    .await
                    .map_err(|e| ConnectError::Postgres(shown, e))?;
                Ok(Db::Postgres(pool))
            }
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgresql",
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Db::Postgres(_))
    }

    /// A cheap round trip to the database.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        with_db!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))
    }

    /// The newest migration recorded as applied, and the newest this build knows.
    pub async fn schema_version(&self) -> Result<(i64, i64), sqlx::Error> {
        let found: Option<i64> = with_db!(self, pool => sqlx::query_scalar(
            "SELECT CAST(MAX(version) AS BIGINT) FROM slugbase_schema").fetch_one(pool).await?);
        let known = migrate::MIGRATIONS.last().map(|m| m.version).unwrap_or(0);
        Ok((found.unwrap_or(0), known))
    }

    pub async fn close(&self) {
        with_db!(self, pool => pool.close().await)
    }
}

/// A SQLite connection of the server's own, outside the pool, for its background writes (the
/// go-link visits) and for asking whether anything else has written since: SQLite's
/// `data_version` changes with the commits of every *other* connection, other processes
/// included. With the server's own background writes on this connection, a change it reports is
/// one worth reloading for. PostgreSQL has no such number: there it answers `None` and the
/// visits go through the pool.
#[derive(Default)]
pub struct Background(tokio::sync::Mutex<Option<sqlx::SqliteConnection>>);

impl Background {
    /// The connection, opened on first use with the pool's settings.
    pub async fn sqlite(
        &self,
        pool: &SqlitePool,
    ) -> Result<tokio::sync::MappedMutexGuard<'_, sqlx::SqliteConnection>, sqlx::Error> {
        let mut slot = self.0.lock().await;
        if slot.is_none() {
            *slot = Some(sqlx::SqliteConnection::connect_with(&pool.connect_options()).await?);
        }
        tokio::sync::MutexGuard::try_map(slot, Option::as_mut).map_err(|_| sqlx::Error::PoolClosed)
    }

    /// SQLite's `data_version` as this connection sees it; `None` for PostgreSQL.
    pub async fn data_version(&self, db: &Db) -> Result<Option<i64>, sqlx::Error> {
        let Db::Sqlite(pool) = db else {
            return Ok(None);
        };
        let result = async {
            let mut c = self.sqlite(pool).await?;
            sqlx::query_scalar::<_, i64>("PRAGMA data_version")
                .fetch_one(&mut *c)
                .await
        }
        .await;
        if result.is_err() {
            self.reset().await;
        }
        result.map(Some)
    }

    /// Lets go of the connection after an error: the next use opens a new one.
    pub async fn reset(&self) {
        if let Some(c) = self.0.lock().await.take() {
            let _ = c.close().await;
        }
    }
}

/// Whether the error is a unique-constraint violation (on either backend).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => d.is_unique_violation(),
        _ => false,
    }
}

/// Whether the error is a foreign-key violation (on either backend).
pub fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => d.is_foreign_key_violation(),
        _ => false,
    }
}

/// A new random id in the original's format (UUID v4 text).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A transaction on either backend. SQLite transactions take the write lock up front
/// (`BEGIN IMMEDIATE`), so two writers queue instead of failing on a lock upgrade.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Runs `$body` with `$conn` bound to the transaction's connection (`&mut Connection`).
#[macro_export]
macro_rules! with_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::db::Tx::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
            $crate::db::Tx::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

impl Db {
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
        }
    }
}
