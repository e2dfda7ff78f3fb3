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
    /// Fetches page titles and icons without reaching private addresses.
    pub fetcher: crate::metadata::Fetcher,
    /// At-rest encryption under `ENCRYPTION_KEY`.
    pub cipher: crate::crypto::Cipher,
}

impl AppState {
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
