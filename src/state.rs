//! Shared application state handed to every handler.

use std::ops::Deref;
use std::sync::Arc;

use crate::config::Config;
use crate::db::Db;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    pub db: Db,
    pub started: std::time::Instant,
    /// Throttles `last_used_at` writes for API tokens.
    pub token_usage: crate::auth::api_tokens::UsageTracker,
    /// Short-lived cache of list totals (see [`CountCache`]).
    pub counts: CountCache,
    /// Go-link resolutions, cached for a moment.
    pub go_cache: crate::golinks::LinkCache,
    /// Go-link visits waiting to be written.
    pub access: crate::golinks::AccessCounter,
    /// Per-user `/go` rate limit windows.
    pub go_limiter: GoLimiter,
    /// Authenticated principals, cached for a moment.
    pub auth_cache: crate::http::auth::AuthCache,
    /// Fetches page titles and icons without reaching private addresses.
    pub fetcher: crate::metadata::Fetcher,
    /// At-rest encryption under `ENCRYPTION_KEY`.
    pub cipher: crate::crypto::Cipher,
}

impl AppState {
    /// Called after every state-changing request: cached counts, resolutions and sessions are
    /// dropped so the next read sees the change.
    pub fn invalidate_caches(&self) {
        self.counts.invalidate();
        self.go_cache.invalidate();
        self.auth_cache.invalidate();
    }

    pub fn new(config: Config, db: Db) -> AppState {
        AppState(Arc::new(Inner {
            fetcher: crate::metadata::Fetcher::new(crate::metadata::Policy {
                allow: config.metadata_allow.clone(),
            }),
            cipher: crate::crypto::Cipher::new(config.encryption_key),
            config,
            db,
            started: std::time::Instant::now(),
            token_usage: Default::default(),
            counts: Default::default(),
            go_cache: Default::default(),
            access: Default::default(),
            go_limiter: Default::default(),
            auth_cache: Default::default(),
        }))
    }
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Caches `COUNT(*)` answers of list queries for a moment. Any state-changing request handled by
/// this instance clears it at once; writes through other instances show up within [`COUNT_TTL`].
#[derive(Default)]
pub struct CountCache {
    generation: std::sync::atomic::AtomicU64,
    map: std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, u64, i64)>>,
}

pub const COUNT_TTL: std::time::Duration = std::time::Duration::from_secs(2);

impl CountCache {
    pub fn get(&self, key: &str) -> Option<i64> {
        let g = self.generation.load(std::sync::atomic::Ordering::Acquire);
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key)
            .filter(|(at, gen, _)| *gen == g && at.elapsed() < COUNT_TTL)
            .map(|e| e.2)
    }

    pub fn put(&self, key: String, n: i64) {
        let g = self.generation.load(std::sync::atomic::Ordering::Acquire);
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            map.clear();
        }
        map.insert(key, (std::time::Instant::now(), g, n));
    }

    pub fn invalidate(&self) {
        self.generation.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// A fixed one-minute window per user for `/go` (in memory: it protects this instance).
#[derive(Default)]
pub struct GoLimiter {
    map: std::sync::Mutex<std::collections::HashMap<String, (i64, u32)>>,
}

impl GoLimiter {
    /// `Err(seconds to wait)` when the user is over `limit` this minute (0 = no limit).
    pub fn check(&self, user: &str, limit: u32) -> Result<(), u64> {
        if limit == 0 {
            return Ok(());
        }
        let now = chrono::Utc::now().timestamp();
        let minute = now / 60;
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, (m, _)| *m == minute);
        }
        let e = map.entry(user.to_string()).or_insert((minute, 0));
        if e.0 != minute {
            *e = (minute, 0);
        }
        e.1 += 1;
        if e.1 > limit {
            return Err((60 - now % 60).max(1) as u64);
        }
        Ok(())
    }
}
