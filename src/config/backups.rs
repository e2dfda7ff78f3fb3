//! Scheduled backups inside the server (`BACKUP_DIR`, `BACKUP_INTERVAL`, `BACKUP_KEEP`).

use std::path::PathBuf;
use std::time::Duration;

use super::{get, parse_duration, ConfigError, Env};

#[derive(Debug, Clone)]
pub struct BackupConfig {
    /// Where the copies go.
    pub dir: PathBuf,
    /// How often (default a day).
    pub interval: Duration,
    /// How many copies are kept (default 7); older ones are deleted.
    pub keep: usize,
}

/// `None` unless `BACKUP_DIR` is set.
pub(super) fn backups_from(env: &Env) -> Result<Option<BackupConfig>, ConfigError> {
    let Some(dir) = get(env, "BACKUP_DIR") else {
        for key in ["BACKUP_INTERVAL", "BACKUP_KEEP"] {
            if get(env, key).is_some() {
                return Err(ConfigError(format!("{key} needs BACKUP_DIR")));
            }
        }
        return Ok(None);
    };
    let interval = match get(env, "BACKUP_INTERVAL") {
        None => Duration::from_secs(86_400),
        Some(v) => parse_duration(v)
            .filter(|d| !d.is_zero())
            .ok_or_else(|| ConfigError(format!("BACKUP_INTERVAL is not a duration like 6h or 1d: {v:?}")))?,
    };
    let keep = match get(env, "BACKUP_KEEP") {
        None => 7,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| ConfigError(format!("BACKUP_KEEP must be a positive number, got {v:?}")))?,
    };
    Ok(Some(BackupConfig {
        dir: PathBuf::from(dir),
        interval,
        keep,
    }))
}
