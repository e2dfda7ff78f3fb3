//! Limits on connections and slow clients.

use std::time::Duration;

use super::{get, parse_duration, ConfigError, Env};

/// Limits on connections and slow clients (`MAX_CONNECTIONS`, `HTTP_HEADER_TIMEOUT`,
/// `HTTP_IDLE_TIMEOUT`, `HTTP_BODY_TIMEOUT`).
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Open connections at most; more are answered 503 and closed.
    pub max_connections: usize,
    /// Time to send a request's head, from its first byte.
    pub header_timeout: Duration,
    /// Time a kept-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// Time to send a request's body, once a handler reads it.
    pub body_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_connections: 10_000,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(60),
        }
    }
}

pub(super) fn limits_from(env: &Env) -> Result<HttpLimits, ConfigError> {
    let d = HttpLimits::default();
    let secs = |key: &str, default: Duration| -> Result<Duration, ConfigError> {
        match get(env, key) {
            None => Ok(default),
            Some(v) => parse_duration(v)
                .filter(|d| d.as_secs() > 0)
                .ok_or_else(|| ConfigError(format!("{key} is not a duration like 10s or 2m: {v:?}"))),
        }
    };
    Ok(HttpLimits {
        max_connections: match get(env, "MAX_CONNECTIONS") {
            None => d.max_connections,
            Some(v) => v.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                ConfigError(format!("MAX_CONNECTIONS must be a positive number, got {v:?}"))
            })?,
        },
        header_timeout: secs("HTTP_HEADER_TIMEOUT", d.header_timeout)?,
        idle_timeout: secs("HTTP_IDLE_TIMEOUT", d.idle_timeout)?,
        body_timeout: secs("HTTP_BODY_TIMEOUT", d.body_timeout)?,
    })
}
