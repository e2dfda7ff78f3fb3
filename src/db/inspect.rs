//! Looking at a database without changing it: what schema it has (the original's, ours, or
//! newer), what it holds, and whether its secrets can be read. Used before upgrading a SQLite
//! file (to back it up and to refuse a newer schema untouched) and by `slugbase doctor`.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use super::{migrate::MIGRATIONS, Db};
use crate::config::DbConfig;
use crate::crypto::Cipher;
use crate::with_db;

#[derive(Debug, Default)]
pub struct Report {
    pub kind: &'static str,
    pub exists: bool,
    /// Migration ids in the original SlugBase's `schema_migrations`.
    pub upstream_migrations: Vec<String>,
    /// Versions recorded in our `slugbase_schema`.
    pub our_versions: Vec<i64>,
    pub counts: Vec<(&'static str, i64)>,
    /// (what, problem) for encrypted values that do not decrypt.
    pub unreadable_secrets: Vec<(String, String)>,
    pub secrets_checked: usize,
    /// Timestamps that are not dates (the original's `CURRENT_DATETIME` default).
    pub odd_timestamps: i64,
}

impl Report {
    pub fn known_version() -> i64 {
        MIGRATIONS.last().map(|m| m.version).unwrap_or(0)
    }
    pub fn newest(&self) -> Option<i64> {
        self.our_versions.iter().copied().max()
    }
    pub fn is_upstream(&self) -> bool {
        self.our_versions.is_empty() && self.counts.iter().any(|(t, _)| *t == "users")
    }
    pub fn too_new(&self) -> bool {
        self.newest().is_some_and(|v| v > Self::known_version())
    }
    pub fn pending(&self) -> Vec<&'static str> {
        MIGRATIONS
            .iter()
            .filter(|m| !self.our_versions.contains(&m.version))
            .map(|m| m.name)
            .collect()
    }
}

/// Opens the database read-only (SQLite) or with read-only queries (PostgreSQL).
async fn open_readonly(cfg: &DbConfig) -> Result<Option<Db>, String> {
    match cfg {
        DbConfig::Sqlite { path } => {
            if !path.exists() {
                return Ok(None);
            }
            let opts = SqliteConnectOptions::new()
                .filename(path)
                .read_only(true)
                .create_if_missing(false);
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(opts)
                .await
                .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
            Ok(Some(Db::Sqlite(pool)))
        }
        DbConfig::Postgres { url } => {
            let opts = PgConnectOptions::from_str(url).map_err(|e| e.to_string())?;
            let pool = PgPoolOptions::new()
                .max_connections(1)
                .connect_with(opts)
                .await
                .map_err(|e| format!("the PostgreSQL database is unreachable: {e}"))?;
            Ok(Some(Db::Postgres(pool)))
        }
    }
}

async fn has_table(db: &Db, name: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = match db {
        Db::Sqlite(p) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1")
                .bind(name)
                .fetch_one(p)
                .await?
        }
        Db::Postgres(p) => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1",
            )
            .bind(name)
            .fetch_one(p)
            .await?
        }
    };
    Ok(n > 0)
}

/// Inspects the database. With a cipher, also tries every encrypted value.
pub async fn inspect(cfg: &DbConfig, cipher: Option<&Cipher>) -> Result<Report, String> {
    let mut r = Report {
        kind: cfg.kind(),
        ..Default::default()
    };
    let Some(db) = open_readonly(cfg).await? else {
        return Ok(r);
    };
    let result = fill(&db, cipher, &mut r)
        .await
        .map_err(|e| format!("cannot read the database: {e}"));
    db.close().await;
    result?;
    r.exists = true;
    Ok(r)
}

async fn fill(db: &Db, cipher: Option<&Cipher>, r: &mut Report) -> Result<(), sqlx::Error> {
    if has_table(db, "schema_migrations").await? {
        r.upstream_migrations = with_db!(db, pool => sqlx::query_scalar::<_, String>(
            "SELECT migration_id FROM schema_migrations ORDER BY migration_id").fetch_all(pool).await?);
    }
    if has_table(db, "slugbase_schema").await? {
        r.our_versions = with_db!(db, pool => sqlx::query_scalar::<_, i64>(
            "SELECT version FROM slugbase_schema ORDER BY version").fetch_all(pool).await?);
    }
    for table in [
        "users",
        "bookmarks",
        "folders",
        "tags",
        "teams",
        "team_members",
        "bookmark_user_shares",
        "bookmark_team_shares",
        "folder_user_shares",
        "folder_team_shares",
        "slug_preferences",
        "api_tokens",
        "mfa_backup_codes",
        "oidc_providers",
        "audit_events",
    ] {
        if has_table(db, table).await? {
            let sql = format!("SELECT COUNT(*) FROM {table}");
            let n = with_db!(db, pool => sqlx::query_scalar::<_, i64>(&sql).fetch_one(pool).await?);
            r.counts.push((table, n));
        }
    }
    if matches!(db, Db::Sqlite(_)) && has_table(db, "users").await? {
        let mut odd = 0;
        for table in ["users", "folders", "tags", "teams"] {
            if has_table(db, table).await? {
                let sql = format!("SELECT COUNT(*) FROM {table} WHERE created_at = 'CURRENT_DATETIME'");
                odd += with_db!(db, pool => sqlx::query_scalar::<_, i64>(&sql).fetch_one(pool).await?);
            }
        }
        r.odd_timestamps = odd;
    }
    if let Some(cipher) = cipher {
        let mut values: Vec<(String, String)> = Vec::new();
        if has_table(db, "users").await? {
            let rows: Vec<(String, String)> = with_db!(db, pool => sqlx::query_as(
                "SELECT email, mfa_totp_secret_enc FROM users WHERE mfa_totp_secret_enc IS NOT NULL AND mfa_totp_secret_enc <> ''")
                .fetch_all(pool).await?);
            values.extend(rows.into_iter().map(|(e, v)| (format!("TOTP secret of {e}"), v)));
        }
        if has_table(db, "oidc_providers").await? {
            let rows: Vec<(String, String)> = with_db!(db, pool => sqlx::query_as(
                "SELECT provider_key, client_secret FROM oidc_providers").fetch_all(pool).await?);
            values.extend(
                rows.into_iter()
                    .map(|(k, v)| (format!("client secret of OIDC provider {k}"), v)),
            );
        }
        if has_table(db, "system_config").await? {
            let rows: Vec<(String, String)> = with_db!(db, pool => sqlx::query_as(
                "SELECT key, value FROM system_config WHERE key IN ('smtp_password', 'ai_api_key') AND value <> ''")
                .fetch_all(pool).await?);
            values.extend(rows.into_iter().map(|(k, v)| (format!("setting {k}"), v)));
        }
        r.secrets_checked = values.len();
        for (what, v) in values {
            if let Err(e) = cipher.decrypt(&v) {
                r.unreadable_secrets.push((what, e.to_string()));
            }
        }
    }
    Ok(())
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "database: {}", self.kind)?;
        if !self.exists {
            return writeln!(f, "state: no database yet (it is created at the first start)");
        }
        let state = if self.too_new() {
            format!(
                "NEWER than this SlugBase (schema {} > {}): upgrade SlugBase",
                self.newest().unwrap_or(0),
                Report::known_version()
            )
        } else if self.is_upstream() {
            format!(
                "written by the original SlugBase ({} of its migrations recorded); the next start adopts it and applies {}",
                self.upstream_migrations.len(),
                self.pending().join(", ")
            )
        } else if self.pending().is_empty() {
            format!("up to date (schema version {})", self.newest().unwrap_or(0))
        } else {
            format!(
                "schema version {}; the next start applies {}",
                self.newest().unwrap_or(0),
                self.pending().join(", ")
            )
        };
        writeln!(f, "state: {state}")?;
        for (t, n) in &self.counts {
            writeln!(f, "  {t}: {n}")?;
        }
        if self.odd_timestamps > 0 {
            writeln!(
                f,
                "note: {} creation times are the original's literal CURRENT_DATETIME; they read as 1970-01-01",
                self.odd_timestamps
            )?;
        }
        writeln!(
            f,
            "secrets: {} checked, {} unreadable with this ENCRYPTION_KEY",
            self.secrets_checked,
            self.unreadable_secrets.len()
        )?;
        for (what, why) in &self.unreadable_secrets {
            writeln!(f, "  cannot read {what}: {why}")?;
        }
        Ok(())
    }
}

/// Before the first upgrade of a SQLite file written by the original: a copy next to it. Refuses
/// a file whose schema is newer than this binary, before anything touches it.
pub async fn prepare_sqlite(path: &Path) -> Result<Option<PathBuf>, String> {
    let cfg = DbConfig::Sqlite {
        path: path.to_path_buf(),
    };
    let report = inspect(&cfg, None).await?;
    if !report.exists {
        return Ok(None);
    }
    if report.too_new() {
        return Err(format!(
            "the database schema (version {}) is newer than this SlugBase (knows up to {}); upgrade SlugBase or restore a backup",
            report.newest().unwrap_or(0),
            Report::known_version()
        ));
    }
    // Nothing to upgrade, or an empty file: no copy needed.
    let has_data = report.is_upstream() || !report.our_versions.is_empty();
    if report.pending().is_empty() || !has_data {
        return Ok(None);
    }
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    let backup = path.with_file_name(format!(
        "{}.backup-{stamp}",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "slugbase.db".into())
    ));
    std::fs::copy(path, &backup)
        .map_err(|e| format!("cannot back up {} before upgrading: {e}", path.display()))?;
    for ext in ["-wal", "-journal"] {
        let side = PathBuf::from(format!("{}{ext}", path.display()));
        if side.exists() {
            let _ = std::fs::copy(&side, PathBuf::from(format!("{}{ext}", backup.display())));
        }
    }
    Ok(Some(backup))
}

/// Puts the backup back after a failed upgrade.
pub fn restore_sqlite(path: &Path, backup: &Path) -> Result<(), String> {
    for ext in ["-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(PathBuf::from(format!("{}{ext}", path.display())));
    }
    std::fs::copy(backup, path)
        .map_err(|e| format!("cannot restore {} from {}: {e}", path.display(), backup.display()))?;
    Ok(())
}
