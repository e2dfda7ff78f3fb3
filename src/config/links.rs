//! The dead-link checker's settings (`LINK_CHECK_*`).

use std::time::Duration;

use super::{get, parse_duration, ConfigError, Env};

#[derive(Debug, Clone, Copy)]
pub struct LinkCheckConfig {
    /// `LINK_CHECK_INTERVAL`: check every bookmark at most this often in the background; `None`
    /// (the default) checks only what users ask for.
    pub interval: Option<Duration>,
    /// `LINK_CHECK_TIMEOUT`: the time one URL may take, redirects included (default 10 s).
    pub timeout: Duration,
    /// `LINK_CHECK_CONCURRENCY`: URLs checked at once at most (default 4).
    pub concurrency: usize,
    /// `LINK_CHECK_HOST_DELAY`: the pause between two checks on one host (default 1 s).
    pub host_delay: Duration,
}

impl Default for LinkCheckConfig {
    fn default() -> Self {
        LinkCheckConfig {
            interval: None,
            timeout: Duration::from_secs(10),
            concurrency: 4,
            host_delay: Duration::from_secs(1),
        }
    }
}

pub(super) fn link_check_from(env: &Env) -> Result<LinkCheckConfig, ConfigError> {
    let d = LinkCheckConfig::default();
    let duration = |key: &str| -> Result<Option<Duration>, ConfigError> {
        get(env, key)
            .map(|v| {
                parse_duration(v)
                    .ok_or_else(|| ConfigError(format!("{key} is not a duration like 10s, 2m or 24h: {v:?}")))
            })
            .transpose()
    };
    let interval = duration("LINK_CHECK_INTERVAL")?.filter(|d| !d.is_zero());
    if interval.is_some_and(|i| i < Duration::from_secs(60)) {
        return Err(ConfigError(
            "LINK_CHECK_INTERVAL must be at least a minute (e.g. 24h)".into(),
        ));
    }
    let timeout = duration("LINK_CHECK_TIMEOUT")?.unwrap_or(d.timeout);
    if timeout.is_zero() || timeout > Duration::from_secs(60) {
        return Err(ConfigError("LINK_CHECK_TIMEOUT must be from 1s to 60s".into()));
    }
    let concurrency = match get(env, "LINK_CHECK_CONCURRENCY") {
        None => d.concurrency,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=64).contains(n))
            .ok_or_else(|| {
                ConfigError(format!(
                    "LINK_CHECK_CONCURRENCY must be a number from 1 to 64, got {v:?}"
                ))
            })?,
    };
    Ok(LinkCheckConfig {
        interval,
        timeout,
        concurrency,
        host_delay: duration("LINK_CHECK_HOST_DELAY")?.unwrap_or(d.host_delay),
    })
}
