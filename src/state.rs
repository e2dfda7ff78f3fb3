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
    /// At-rest encryption under `ENCRYPTION_KEY`.
    pub cipher: crate::crypto::Cipher,
}

impl AppState {
    pub fn new(config: Config, db: Db) -> AppState {
        AppState(Arc::new(Inner {
            cipher: crate::crypto::Cipher::new(config.encryption_key),
            config,
            db,
            started: std::time::Instant::now(),
            token_usage: Default::default(),
        }))
    }
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
