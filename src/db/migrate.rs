//! Embedded migrations, one folder per database (`migrations/sqlite`, `migrations/postgres`).
//!
//! Each step runs in its own transaction and is recorded in `slugbase_schema`. On PostgreSQL a
//! session advisory lock serialises instances that start at the same time; on SQLite each step
//! takes the write lock with `BEGIN IMMEDIATE` and re-checks the ledger inside it.
//!
//! Version 1 is the original SlugBase's own schema. A database the original wrote already is that
//! schema, so it is adopted (recorded as applied) rather than created.

use sqlx::{Connection, Row};

use super::{Db, Ts};

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

macro_rules! migration {
    ($v:expr, $name:literal) => {
        Migration {
            version: $v,
            name: $name,
            sqlite: include_str!(concat!("../../migrations/sqlite/", $name, ".sql")),
            postgres: include_str!(concat!("../../migrations/postgres/", $name, ".sql")),
        }
    };
}

pub static MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_upstream_baseline"),
    migration!(2, "0002_slugbase_rs"),
    migration!(3, "0003_bookmarks"),
    migration!(4, "0004_lean_indexes"),
    migration!(5, "0005_mail"),
    migration!(6, "0006_oidc"),
    migration!(7, "0007_ai"),
    migration!(8, "0008_change_notify"),
    migration!(9, "0009_link_checks"),
    migration!(10, "0010_passkeys"),
    migration!(11, "0011_pinned_index"),
    migration!(12, "0012_go_link_usage_index"),
    migration!(13, "0013_counts"),
    migration!(14, "0014_pinned_order_index"),
    migration!(15, "0015_search_prefixes"),
];

/// Advisory-lock key for migrations ("SlugBase" in ASCII, as a number).
const PG_LOCK_KEY: i64 = 0x536c_7567_4261_7365;

#[derive(Debug, Default)]
pub struct MigrationReport {
    pub applied: Vec<&'static str>,
    pub adopted_upstream: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("the database schema (version {found}) is newer than this SlugBase (knows up to {known}); upgrade SlugBase or restore a backup")]
    TooNew { found: i64, known: i64 },
    #[error("migration {name} failed: {source}")]
    Step { name: &'static str, source: sqlx::Error },
    #[error("database error while migrating: {0}")]
    Db(#[from] sqlx::Error),
}

const LEDGER: &str = "CREATE TABLE IF NOT EXISTS slugbase_schema (
    version BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
)";

pub async fn migrate(db: &Db) -> Result<MigrationReport, MigrateError> {
    let known = MIGRATIONS.last().map(|m| m.version).unwrap_or(0);
    let mut report = MigrationReport::default();
    match db {
        Db::Postgres(pool) => {
            let mut conn = pool.acquire().await?;
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(PG_LOCK_KEY)
                .execute(&mut *conn)
                .await?;
            let result = async {
                for m in MIGRATIONS {
                    let mut tx = conn.begin().await?;
                    sqlx::raw_sql(LEDGER).execute(&mut *tx).await?;
                    let max: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM slugbase_schema")
                        .fetch_one(&mut *tx)
                        .await?;
                    if let Some(found) = max.filter(|v| *v > known) {
                        return Err(MigrateError::TooNew { found, known });
                    }
                    let done: Option<i64> = sqlx::query_scalar("SELECT version FROM slugbase_schema WHERE version = $1")
                        .bind(m.version)
                        .fetch_optional(&mut *tx)
                        .await?;
                    if done.is_some() {
                        continue;
                    }
                    let upstream = m.version == 1 && {
                        let n: i64 = sqlx::query_scalar(
                            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'users'",
                        )
                        .fetch_one(&mut *tx)
                        .await?;
                        n > 0
                    };
                    if upstream {
                        report.adopted_upstream = true;
                    } else {
                        sqlx::raw_sql(m.postgres)
                            .execute(&mut *tx)
                            .await
                            .map_err(|source| MigrateError::Step { name: m.name, source })?;
                    }
                    sqlx::query("INSERT INTO slugbase_schema (version, name, applied_at) VALUES ($1, $2, $3)")
                        .bind(m.version)
                        .bind(m.name)
                        .bind(Ts::now().to_rfc3339())
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    report.applied.push(m.name);
                }
                Ok(())
            }
            .await;
            let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(PG_LOCK_KEY)
                .execute(&mut *conn)
                .await;
            result?;
        }
        Db::Sqlite(pool) => {
            let mut conn = pool.acquire().await?;
            for m in MIGRATIONS {
                sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *conn).await?;
                let step = async {
                    sqlx::raw_sql(LEDGER).execute(&mut *conn).await?;
                    let max: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM slugbase_schema")
                        .fetch_one(&mut *conn)
                        .await?;
                    if let Some(found) = max.filter(|v| *v > known) {
                        return Err(MigrateError::TooNew { found, known });
                    }
                    let done = sqlx::query("SELECT version FROM slugbase_schema WHERE version = $1")
                        .bind(m.version)
                        .fetch_optional(&mut *conn)
                        .await?;
                    if done.is_some() {
                        return Ok(false);
                    }
                    let upstream = m.version == 1 && {
                        let row = sqlx::query(
                            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'users'",
                        )
                        .fetch_one(&mut *conn)
                        .await?;
                        row.get::<i64, _>("n") > 0
                    };
                    if upstream {
                        report.adopted_upstream = true;
                    } else {
                        sqlx::raw_sql(m.sqlite)
                            .execute(&mut *conn)
                            .await
                            .map_err(|source| MigrateError::Step { name: m.name, source })?;
                    }
                    sqlx::query(
                        "INSERT INTO slugbase_schema (version, name, applied_at) VALUES ($1, $2, $3)",
                    )
                    .bind(m.version)
                    .bind(m.name)
                    .bind(Ts::now().to_rfc3339())
                    .execute(&mut *conn)
                    .await?;
                    Ok(true)
                }
                .await;
                match step {
                    Ok(applied) => {
                        sqlx::raw_sql("COMMIT").execute(&mut *conn).await?;
                        if applied {
                            report.applied.push(m.name);
                        }
                    }
                    Err(e) => {
                        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
                        return Err(e);
                    }
                }
            }
        }
    }
    Ok(report)
}
