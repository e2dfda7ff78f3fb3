//! Backups of a SQLite database: a consistent copy taken while the server keeps serving
//! (`VACUUM INTO` reads one snapshot), checked before it gets its name; and the way back, which
//! refuses while a server has the database open.
//!
//! A running server holds a shared `flock` on the database file ([`ServerMark`]); `restore` takes
//! an exclusive one without waiting, so it fails at once while any server holds the file. (SQLite
//! locks with POSIX record locks, which do not interact with `flock` on Linux.)

use std::fs::File;
use std::path::{Path, PathBuf};

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

/// What a checked copy holds.
#[derive(Debug, Clone)]
pub struct Summary {
    pub bytes: u64,
    pub schema_version: i64,
    /// (table, rows) for the tables a user cares about.
    pub counts: Vec<(&'static str, i64)>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} bytes, schema version {}", self.bytes, self.schema_version)?;
        for (table, n) in &self.counts {
            write!(f, ", {n} {table}")?;
        }
        Ok(())
    }
}

const COUNTED: [&str; 5] = ["users", "bookmarks", "folders", "tags", "teams"];

/// Held by a running server for as long as it has the database open.
pub struct ServerMark(#[allow(dead_code)] File);

fn flock(file: &File, op: libc::c_int) -> std::io::Result<()> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on a descriptor this `File` owns; no memory is passed.
    if unsafe { libc::flock(file.as_raw_fd(), op | libc::LOCK_NB) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Marks the database at `path` as in use by this process (a shared lock: several servers may
/// hold it at once). Fails while a restore is replacing the file.
pub fn mark_in_use(path: &Path) -> std::io::Result<ServerMark> {
    let f = File::open(path)?;
    flock(&f, libc::LOCK_SH)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{} is being restored: {e}", path.display())))?;
    Ok(ServerMark(f))
}

/// Writes a consistent copy of the live database at `db` to `dest` (which must not exist), then
/// checks the copy; only a copy that passes is left under `dest`.
pub async fn backup(db: &Path, dest: &Path) -> Result<Summary, String> {
    if !db.exists() {
        return Err(format!("there is no database at {}", db.display()));
    }
    if dest.exists() {
        return Err(format!("{} exists already; choose a new name", dest.display()));
    }
    let tmp = sibling(dest, ".partial");
    let _ = std::fs::remove_file(&tmp);
    let mut conn = SqliteConnectOptions::new()
        .filename(db)
        .create_if_missing(false)
        .busy_timeout(std::time::Duration::from_secs(30))
        .connect()
        .await
        .map_err(|e| format!("cannot open {}: {e}", db.display()))?;
    let target = tmp
        .to_str()
        .ok_or_else(|| format!("{} is not a UTF-8 path", tmp.display()))?;
    let copied = sqlx::query("VACUUM INTO $1")
        .bind(target)
        .execute(&mut conn)
        .await;
    let _ = conn.close().await;
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("the copy failed: {e}"));
    }
    let summary = match verify(&tmp).await {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    File::open(&tmp)
        .and_then(|f| f.sync_all())
        .and_then(|_| std::fs::rename(&tmp, dest))
        .map_err(|e| format!("cannot write {}: {e}", dest.display()))?;
    Ok(summary)
}

/// Opens `file` read-only and checks it: SQLite's `integrity_check`, a SlugBase schema, and
/// the row counts.
pub async fn verify(file: &Path) -> Result<Summary, String> {
    let bytes = std::fs::metadata(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?
        .len();
    let mut conn = SqliteConnectOptions::new()
        .filename(file)
        .read_only(true)
        .immutable(true)
        .connect()
        .await
        .map_err(|e| format!("{} is not a SQLite database: {e}", file.display()))?;
    let result = async {
        let check: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&mut conn)
            .await
            .map_err(|e| format!("{} is not a SQLite database: {e}", file.display()))?;
        if check != ["ok"] {
            return Err(format!("{} is damaged: {}", file.display(), check.join("; ")));
        }
        let schema_version: Option<i64> =
            sqlx::query_scalar("SELECT CAST(MAX(version) AS BIGINT) FROM slugbase_schema")
                .fetch_one(&mut conn)
                .await
                .map_err(|_| format!("{} is not a SlugBase database", file.display()))?;
        let mut counts = Vec::new();
        for table in COUNTED {
            let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&mut conn)
                .await
                .map_err(|e| format!("cannot count {table}: {e}"))?;
            counts.push((table, n));
        }
        Ok(Summary {
            bytes,
            schema_version: schema_version.unwrap_or(0),
            counts,
        })
    }
    .await;
    let _ = conn.close().await;
    result
}

/// What `restore` did.
pub struct Restored {
    pub summary: Summary,
    /// Where the database that was replaced went (kept, never deleted).
    pub previous: Option<PathBuf>,
}

/// Puts the backup `src` in place of the database at `db`. Refused while a server has `db`
/// open; the replaced database (with its `-wal` and `-shm` files) is kept beside it as
/// `<name>.before-restore-<time>`.
pub async fn restore(db: &Path, src: &Path) -> Result<Restored, String> {
    let summary = verify(src).await?;
    // Held until the new file is in place: a server starting meanwhile waits for nothing and
    // fails its own lock instead.
    let _held = match File::open(db) {
        Ok(f) => {
            flock(&f, libc::LOCK_EX).map_err(|_| {
                format!(
                    "a SlugBase server is running on {}; stop it before restoring",
                    db.display()
                )
            })?;
            Some(f)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("cannot open {}: {e}", db.display())),
    };
    let tmp = sibling(db, ".restoring");
    std::fs::copy(src, &tmp)
        .and_then(|_| File::open(&tmp)?.sync_all())
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("cannot copy {} to {}: {e}", src.display(), tmp.display())
        })?;
    let previous = if _held.is_some() {
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let aside = sibling(db, &format!(".before-restore-{stamp}"));
        std::fs::rename(db, &aside).map_err(|e| format!("cannot move {} aside: {e}", db.display()))?;
        for ext in ["-wal", "-shm"] {
            let from = sibling(db, ext);
            if from.exists() {
                let to = sibling(&aside, ext);
                std::fs::rename(&from, &to)
                    .map_err(|e| format!("cannot move {} aside: {e}", from.display()))?;
            }
        }
        Some(aside)
    } else {
        None
    };
    std::fs::rename(&tmp, db).map_err(|e| format!("cannot write {}: {e}", db.display()))?;
    Ok(Restored { summary, previous })
}

/// `path` with `suffix` added to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Scheduled backups: every `interval`, a checked copy of the database at `db` into `dir` as
/// `slugbase-<UTC time>.db`; only the newest `keep` copies are kept. Runs until dropped.
pub async fn schedule(db: PathBuf, dir: PathBuf, interval: std::time::Duration, keep: usize) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = std::fs::create_dir_all(&dir) {
            tracing::error!(dir = %dir.display(), error = %e, "cannot create the backup folder");
            continue;
        }
        let name = format!("slugbase-{}.db", chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"));
        match backup(&db, &dir.join(&name)).await {
            Ok(summary) => tracing::info!(file = %name, %summary, "scheduled backup written"),
            Err(e) => {
                tracing::error!(error = %e, "scheduled backup failed");
                continue;
            }
        }
        prune(&dir, keep);
    }
}

/// Deletes all but the newest `keep` scheduled copies in `dir` (their names sort by time).
fn prune(dir: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut copies: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("slugbase-") && n.ends_with(".db"))
        })
        .collect();
    copies.sort();
    let excess = copies.len().saturating_sub(keep);
    for old in &copies[..excess] {
        if let Err(e) = std::fs::remove_file(old) {
            tracing::warn!(file = %old.display(), error = %e, "cannot delete an old backup");
        }
    }
}
