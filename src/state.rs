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
