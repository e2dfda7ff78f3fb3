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
    /// Short-lived cache of list totals.
    pub counts: crate::bookmarks::CountCache,
    /// Serialized list answers, cached for a moment (see [`ResponseCache`]).
    pub responses: Arc<ResponseCache>,
    /// Go-link resolutions, cached for a moment.
    pub go_cache: Arc<crate::golinks::LinkCache>,
    /// Go-link visits waiting to be written.
    pub access: crate::golinks::AccessCounter,
    /// The connection for background writes and for noticing other writers (SQLite).
    pub background: Arc<crate::db::Background>,
    /// Per-user `/go` rate limit windows.
    pub go_limiter: crate::golinks::GoLimiter,
    /// Who is calling: sessions and tokens, with their short-lived cache.
    pub auth: Arc<crate::auth::Authenticator>,
    /// Fetches page titles and icons without reaching private addresses (built on first use:
    /// its TLS roots cost memory an idle server need not pay).
    fetcher: std::sync::OnceLock<crate::metadata::Fetcher>,
    /// Sign-in with OpenID Connect: its HTTP client (SSRF rules, `OIDC_ALLOW_HOSTS`) and the
    /// providers' discovered metadata.
    pub oidc: crate::oidc::Oidc,
    /// The WebAuthn relying party (`BASE_URL`'s host), when there is one.
    pub passkeys: crate::passkeys::Passkeys,
    /// At-rest encryption under `ENCRYPTION_KEY`.
    pub cipher: crate::crypto::Cipher,
    /// Outgoing mail: the SMTP settings' source, the outbox and its sender's wake-up call.
    pub mailer: crate::mail::Mailer,
    /// AI suggestions: the endpoint's settings source (`AI_*`), limits and HTTP client.
    pub ai: crate::ai::Ai,
    /// The headers every go-link redirect carries ([`redirect_headers`]); only
    /// `web::go::redirect_to` copies it, always replacing the placeholder `Location`.
    pub redirect_headers: axum::http::HeaderMap,
    /// Wakes the dead-link checker when a user asks for checks.
    pub link_check_wake: Arc<tokio::sync::Notify>,
    /// Prometheus metrics, when `METRICS_ENABLED`.
    pub metrics: Option<Arc<crate::metrics::Metrics>>,
}

impl AppState {
    pub fn fetcher(&self) -> &crate::metadata::Fetcher {
        self.fetcher.get_or_init(|| {
            crate::metadata::Fetcher::new(crate::metadata::Policy {
                allow: self.config.metadata_allow.clone(),
                ..Default::default()
            })
        })
    }

    /// Called after every state-changing request: cached counts, resolutions and sessions are
    /// dropped so the next read sees the change.
    pub fn invalidate_caches(&self) {
        self.counts.invalidate();
        self.responses.invalidate();
        self.go_cache.invalidate();
        self.auth.invalidate();
    }

    pub fn new(config: Config, db: Db) -> AppState {
        let cipher = crate::crypto::Cipher::new(config.encryption_key);
        AppState(Arc::new(Inner {
            fetcher: std::sync::OnceLock::new(),
            oidc: crate::oidc::Oidc::new(&config.oidc_allow),
            passkeys: crate::passkeys::Passkeys::new(&config),
            mailer: crate::mail::Mailer::new(&config, cipher.clone()),
            ai: crate::ai::Ai::new(&config.ai, cipher.clone()),
            cipher,
            redirect_headers: redirect_headers(&config),
            link_check_wake: Default::default(),
            metrics: config
                .metrics_enabled
                .then(|| Arc::new(crate::metrics::Metrics::new(config.commit_sha.as_deref()))),
            config,
            db,
            started: std::time::Instant::now(),
            counts: Default::default(),
            responses: Default::default(),
            go_cache: Default::default(),
            access: Default::default(),
            background: Default::default(),
            go_limiter: Default::default(),
            auth: Default::default(),
        }))
    }
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Serialized answers of read-heavy list queries, per user and query string. After a write on
/// this instance an answer is recomputed before it is served again; otherwise an answer older
/// than [`RESPONSE_TTL`] is still served while one background task recomputes it, so readers
/// never wait for a refresh. Writes through other instances on PostgreSQL clear it through the
/// change notifications ([`crate::db::changes`]); the TTL bounds what anything else could miss.
pub struct ResponseCache {
    generation: std::sync::atomic::AtomicU64,
    map: std::sync::Mutex<std::collections::HashMap<String, CachedResponse>>,
    /// The bytes of the bodies in `map` (changed under its lock).
    bytes: std::sync::atomic::AtomicUsize,
    refreshing: std::sync::Mutex<std::collections::HashSet<String>>,
    /// One computation per key at a time: concurrent misses wait for it instead of repeating it.
    inflight: std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Background refreshes run one at a time, so they never crowd out requests.
    refresh_slot: tokio::sync::Semaphore,
}

impl Default for ResponseCache {
    fn default() -> Self {
        ResponseCache {
            generation: Default::default(),
            map: Default::default(),
            bytes: Default::default(),
            refreshing: Default::default(),
            inflight: Default::default(),
            refresh_slot: tokio::sync::Semaphore::new(1),
        }
    }
}

#[derive(Clone)]
struct CachedResponse {
    at: std::time::Instant,
    generation: u64,
    body: axum::body::Bytes,
}

pub const RESPONSE_TTL: std::time::Duration = std::time::Duration::from_secs(2);
/// Answers kept at most, and their bytes at most (a page of 50 bookmarks is ~25 KB).
const RESPONSE_CACHE_ENTRIES: usize = 2_000;
const RESPONSE_CACHE_BYTES: usize = 8 << 20;

impl ResponseCache {
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// The cached body for `key`, or `compute()`'s. `compute` must be cheap to clone (it is
    /// called again in the background to refresh).
    pub async fn get_or_compute<F, Fut>(
        self: &Arc<Self>,
        key: String,
        compute: F,
    ) -> crate::error::Result<axum::body::Bytes>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = crate::error::Result<axum::body::Bytes>> + Send + 'static,
    {
        use std::sync::atomic::Ordering;
        let g = self.generation.load(Ordering::Acquire);
        let cached = {
            let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
            map.get(&key).filter(|c| c.generation == g).cloned()
        };
        if let Some(c) = cached {
            if c.at.elapsed() >= RESPONSE_TTL
                && self
                    .refreshing
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key.clone())
            {
                let me = self.clone();
                tokio::spawn(async move {
                    if let Ok(_permit) = me.refresh_slot.acquire().await {
                        let g = me.generation.load(Ordering::Acquire);
                        if let Ok(body) = compute().await {
                            me.put(key.clone(), g, body);
                        }
                    }
                    me.refreshing
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&key);
                });
            }
            return Ok(c.body);
        }
        // A miss: one computation per key; concurrent requests for it wait and share the result.
        let lock = {
            let mut inflight = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
            inflight.entry(key.clone()).or_default().clone()
        };
        let _turn = lock.lock().await;
        let g = self.generation.load(Ordering::Acquire);
        let done = {
            let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
            map.get(&key)
                .filter(|c| c.generation == g)
                .map(|c| c.body.clone())
        };
        let result = match done {
            Some(body) => Ok(body),
            None => match compute().await {
                Ok(body) => {
                    self.put(key.clone(), g, body.clone());
                    Ok(body)
                }
                Err(e) => Err(e),
            },
        };
        self.inflight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
        result
    }

    fn put(&self, key: String, generation: u64, body: axum::body::Bytes) {
        use std::sync::atomic::Ordering;
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        // Bounded in entries and in bytes, whatever queries arrive: when full, start over.
        if map.len() >= RESPONSE_CACHE_ENTRIES
            || self.bytes.load(Ordering::Relaxed) + body.len() > RESPONSE_CACHE_BYTES
        {
            map.clear();
            self.bytes.store(0, Ordering::Relaxed);
        }
        self.bytes.fetch_add(body.len(), Ordering::Relaxed);
        let old = map.insert(
            key,
            CachedResponse {
                at: std::time::Instant::now(),
                generation,
                body,
            },
        );
        if let Some(old) = old {
            self.bytes.fetch_sub(old.body.len(), Ordering::Relaxed);
        }
    }
}

/// The headers of a go-link redirect (a body-less 302): no caching, no referrer passed on to the
/// target, no sniffing, HSTS on HTTPS. The headers that only govern documents (CSP, framing,
/// COOP/CORP, permissions) are left off: a browser renders nothing of a redirect. Built once and
/// copied into each redirect, which costs no header-map lookups; it holds a placeholder
/// `Location` that each redirect replaces (so the copy never grows).
pub fn redirect_headers(config: &crate::config::Config) -> axum::http::HeaderMap {
    let mut h = axum::http::HeaderMap::with_capacity(6);
    h.insert(
        axum::http::header::LOCATION,
        axum::http::HeaderValue::from_static("/"),
    );
    h.insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    h.insert(
        axum::http::header::REFERRER_POLICY,
        axum::http::HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        axum::http::header::X_CONTENT_TYPE_OPTIONS,
        axum::http::HeaderValue::from_static("nosniff"),
    );
    if config.base_url.starts_with("https://") {
        h.insert(
            axum::http::header::STRICT_TRANSPORT_SECURITY,
            axum::http::HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    h
}
