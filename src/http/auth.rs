//! Who is calling: the client's address, the signed-in user (session cookie, Bearer JWT or
//! personal API token), admin checks, and the CSRF check for cookie-authenticated writes.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::audit::Origin;
use crate::auth::{api_tokens, jwt, sessions};
use crate::config::TrustProxy;
use crate::error::{Error, Kind};
use crate::http::cookies;
use crate::state::AppState;
use crate::users::User;

/// The client's address (honouring `TRUST_PROXY`) and user agent.
pub struct ClientOrigin(pub Origin);

pub fn client_ip(headers: &HeaderMap, peer: Option<IpAddr>, trust: &TrustProxy) -> String {
    if let TrustProxy::Hops(hops) = trust {
        let chain: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse::<IpAddr>().ok())
            .collect();
        // Each trusted proxy appended the address it saw; the client is `hops` from the right.
        if chain.len() >= *hops && *hops > 0 {
            return chain[chain.len() - hops].to_string();
        }
        if let Some(first) = chain.first() {
            return first.to_string();
        }
    }
    peer.map(|p| p.to_string()).unwrap_or_else(|| "unknown".into())
}

impl FromRequestParts<AppState> for ClientOrigin {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(ClientOrigin(Origin {
            ip: client_ip(&parts.headers, peer, &state.config.trust_proxy),
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        }))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Cookie,
    BearerJwt,
    ApiToken,
}

/// The signed-in user. Refuses with 401 `Unauthorized`.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user: std::sync::Arc<User>,
    pub method: AuthMethod,
    pub session_id: Option<String>,
    pub token_id: Option<String>,
    /// When the credential stops working (session or token expiry).
    pub expires_at: Option<crate::db::Ts>,
}

impl AuthUser {
    pub fn id(&self) -> &str {
        &self.user.id
    }
}

/// The credential of `Authorization: Bearer <credential>` (scheme in any case). Read as bytes:
/// every go-link request passes here, and no session JWT or API token has non-ASCII characters
/// (one that did would match nothing).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.as_bytes();
    let (scheme, token) = v.split_at_checked(6)?;
    let token = token.strip_prefix(b" ")?;
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return None;
    }
    Some(std::str::from_utf8(token).ok()?.trim()).filter(|t| !t.is_empty())
}

async fn by_session_jwt(
    state: &AppState,
    token: &str,
    method: AuthMethod,
) -> Result<Option<AuthUser>, Error> {
    let Some(claims) = jwt::verify_session(&state.config.jwt_secret, token) else {
        return Ok(None);
    };
    Ok(sessions::user_for(&state.db, &claims.sid)
        .await?
        .filter(|u| u.id == claims.id)
        .map(|user| AuthUser {
            user: std::sync::Arc::new(user),
            method,
            session_id: Some(claims.sid),
            token_id: None,
            expires_at: Some(crate::db::Ts::from_unix(claims.exp)),
        }))
}

/// Principals by credential, kept for a few seconds. Every state-changing request on this
/// instance (logout, revocation, password or MFA change, disabling a user …) clears it, so those
/// take effect at once here; other instances sharing the database see them within [`AUTH_TTL`].
///
/// Keyed by the credential as the client sent it, looked up without building a key: the
/// go-link path asks on every redirect. A credential in steady use is re-checked ahead of its
/// expiry by one background lookup (see [`AUTH_REFRESH_AFTER`]), and the requests that find a
/// credential missing share one lookup, so a burst never queues on the database.
#[derive(Default)]
pub struct AuthCache {
    generation: std::sync::atomic::AtomicU64,
    // Read-mostly: readers never wait for each other (a reader descheduled while holding it
    // stalls nobody).
    map: std::sync::RwLock<Credentials>,
    /// Lookups under way, by credential, with the generation they started in: later requests
    /// with the same credential wait for the first one's answer instead of asking the database
    /// too — unless a write has landed since it started (a revocation must not be answered by a
    /// lookup that began before it).
    lookups: std::sync::Mutex<Lookups>,
}

/// Lookups under way, by credential.
type Lookups = std::collections::HashMap<Box<str>, InFlight>;

struct InFlight {
    /// The cache generation it started in.
    generation: u64,
    lookup: Arc<Lookup>,
    /// Requests taking part.
    requests: usize,
}

/// One credential's lookup: its principal (`None`: not a good credential). A lookup that failed
/// leaves it empty, and the next waiter tries itself.
type Lookup = tokio::sync::OnceCell<Option<Arc<AuthUser>>>;

/// Bearer-only, cookie-only, and (rare) both: `cookie` NUL `bearer`.
#[derive(Default)]
struct Credentials {
    bearer: hashbrown::HashMap<Box<str>, CachedAuth>,
    cookie: hashbrown::HashMap<Box<str>, CachedAuth>,
}

/// What a request authenticates with, as the cache's key.
#[derive(Clone, Copy)]
enum Credential<'a> {
    Bearer(&'a str),
    Cookie(&'a str),
    Both(&'a str, &'a str),
}

impl Credential<'_> {
    /// An owned key for the map of lookups under way (built only on a cache miss).
    fn owned(self) -> Box<str> {
        match self {
            Credential::Bearer(b) => format!("b {b}"),
            Credential::Cookie(k) => format!("c {k}"),
            Credential::Both(k, b) => format!("c {k}\0{b}"),
        }
        .into()
    }
}

impl Credentials {
    fn get(&self, c: Credential<'_>) -> Option<&CachedAuth> {
        match c {
            Credential::Bearer(b) => self.bearer.get(b),
            Credential::Cookie(k) => self.cookie.get(k),
            Credential::Both(k, b) => self.cookie.get(format!("{k}\0{b}").as_str()),
        }
    }

    fn remove(&mut self, c: Credential<'_>) {
        match c {
            Credential::Bearer(b) => self.bearer.remove(b),
            Credential::Cookie(k) => self.cookie.remove(k),
            Credential::Both(k, b) => self.cookie.remove(format!("{k}\0{b}").as_str()),
        };
    }

    fn put(&mut self, c: Credential<'_>, entry: CachedAuth) {
        if self.bearer.len() + self.cookie.len() > 20_000 {
            self.bearer.clear();
            self.cookie.clear();
        }
        match c {
            Credential::Bearer(b) => self.bearer.insert(b.into(), entry),
            Credential::Cookie(k) => self.cookie.insert(k.into(), entry),
            Credential::Both(k, b) => self.cookie.insert(format!("{k}\0{b}").into(), entry),
        };
    }
}

/// When it was cached, under which generation, who, and whether a background re-check of it
/// has started.
struct CachedAuth {
    at: std::time::Instant,
    generation: u64,
    user: Arc<AuthUser>,
    refreshing: std::sync::atomic::AtomicBool,
}

pub const AUTH_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// The first request that finds a principal this old starts one background re-check (the
/// principal still answers meanwhile: it is within [`AUTH_TTL`]); the re-check replaces the
/// entry, or drops it if the credential is no longer good.
pub const AUTH_REFRESH_AFTER: std::time::Duration = std::time::Duration::from_secs(4);

impl AuthCache {
    /// The cached principal, and whether this caller should start its re-check.
    fn get(&self, key: Credential<'_>) -> Option<(Arc<AuthUser>, bool)> {
        use std::sync::atomic::Ordering;
        let g = self.generation.load(Ordering::Acquire);
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        let e = map.get(key)?;
        let age = e.at.elapsed();
        let good =
            e.generation == g && age < AUTH_TTL && e.user.expires_at.is_none_or(|t| t > crate::db::Ts::now());
        if !good {
            return None;
        }
        let refresh = age >= AUTH_REFRESH_AFTER && !e.refreshing.swap(true, Ordering::AcqRel);
        Some((e.user.clone(), refresh))
    }

    fn put(&self, key: Credential<'_>, gen: u64, a: &Arc<AuthUser>) {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        map.put(
            key,
            CachedAuth {
                at: std::time::Instant::now(),
                generation: gen,
                user: a.clone(),
                refreshing: false.into(),
            },
        );
    }

    fn remove(&self, key: Credential<'_>) {
        self.map.write().unwrap_or_else(|e| e.into_inner()).remove(key);
    }

    /// Joins the lookup under way for this credential in generation `gen`, or starts one.
    fn lookup(&self, key: Box<str>, gen: u64) -> Flight<'_> {
        let mut lookups = self.lookups.lock().unwrap_or_else(|e| e.into_inner());
        let lookup = match lookups.get_mut(&key) {
            Some(f) if f.generation == gen => {
                f.requests += 1;
                f.lookup.clone()
            }
            _ => {
                let lookup = Arc::new(Lookup::new());
                let f = InFlight {
                    generation: gen,
                    lookup: lookup.clone(),
                    requests: 1,
                };
                lookups.insert(key.clone(), f);
                lookup
            }
        };
        Flight {
            cache: self,
            key,
            lookup,
        }
    }

    fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    pub fn invalidate(&self) {
        self.generation.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// A request's part in a lookup. When the last request in it is done (or dropped, say by a
/// client that went away), the lookup is forgotten, unless a newer one has taken its place.
struct Flight<'a> {
    cache: &'a AuthCache,
    key: Box<str>,
    lookup: Arc<Lookup>,
}

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        let mut lookups = self.cache.lookups.lock().unwrap_or_else(|e| e.into_inner());
        let Some(f) = lookups
            .get_mut(&self.key)
            .filter(|f| Arc::ptr_eq(&f.lookup, &self.lookup))
        else {
            return;
        };
        f.requests = f.requests.saturating_sub(1);
        if f.requests == 0 {
            lookups.remove(&self.key);
        }
    }
}

/// Authenticates the request, if it carries credentials that are still good.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Option<AuthUser>, Error> {
    Ok(authenticate_shared(state, headers).await?.map(|a| (*a).clone()))
}

/// [`authenticate`], sharing the cached principal instead of copying it (the go-link path).
pub async fn authenticate_shared(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Arc<AuthUser>>, Error> {
    let jar = session_jar(headers);
    let Some(key) = credential(&jar, headers) else {
        return Ok(None);
    };
    // A cached principal is not re-recorded as a token use: the entry lives at most
    // [`AUTH_TTL`], and the lookup that replaces it records the use (at most a write a minute).
    if let Some((a, refresh)) = state.auth_cache.get(key) {
        if refresh {
            refresh_in_background(state, headers);
        }
        return Ok(Some(a));
    }
    // Read the generation before the lookup: a write that lands meanwhile makes this entry
    // stale, and later requests start their own lookup.
    let gen = state.auth_cache.generation();
    let flight = state.auth_cache.lookup(key.owned(), gen);
    flight
        .lookup
        .get_or_try_init(|| async {
            let found = authenticate_uncached(state, headers, &jar).await?.map(Arc::new);
            if let Some(a) = &found {
                state.auth_cache.put(key, gen, a);
            }
            Ok::<_, Error>(found)
        })
        .await
        .cloned()
}

fn session_jar(headers: &HeaderMap) -> CookieJar {
    if headers.contains_key(header::COOKIE) {
        CookieJar::from_headers(headers)
    } else {
        CookieJar::new()
    }
}

fn credential<'a>(jar: &'a CookieJar, headers: &'a HeaderMap) -> Option<Credential<'a>> {
    Some(match (jar.get(cookies::SESSION), bearer(headers)) {
        (Some(c), Some(b)) => Credential::Both(c.value(), b),
        (Some(c), None) => Credential::Cookie(c.value()),
        (None, Some(b)) => Credential::Bearer(b),
        (None, None) => return None,
    })
}

/// Re-checks a cached credential off the request: replaces its entry, or drops it when the
/// credential is no longer good. On a database error the entry is left to expire, and the next
/// request looks it up itself (and reports the error).
fn refresh_in_background(state: &AppState, headers: &HeaderMap) {
    let mut sent = HeaderMap::new();
    for v in headers.get_all(header::COOKIE) {
        sent.append(header::COOKIE, v.clone());
    }
    if let Some(v) = headers.get(header::AUTHORIZATION) {
        sent.insert(header::AUTHORIZATION, v.clone());
    }
    let state = state.clone();
    tokio::spawn(async move {
        let jar = session_jar(&sent);
        let Some(key) = credential(&jar, &sent) else {
            return;
        };
        let gen = state.auth_cache.generation();
        match authenticate_uncached(&state, &sent, &jar).await {
            Ok(Some(a)) => state.auth_cache.put(key, gen, &Arc::new(a)),
            Ok(None) => state.auth_cache.remove(key),
            Err(e) => tracing::warn!(error = %e, "could not re-check a cached credential"),
        }
    });
}

async fn authenticate_uncached(
    state: &AppState,
    headers: &HeaderMap,
    jar: &CookieJar,
) -> Result<Option<AuthUser>, Error> {
    if let Some(c) = jar.get(cookies::SESSION) {
        if let Some(a) = by_session_jwt(state, c.value(), AuthMethod::Cookie).await? {
            return Ok(Some(a));
        }
    }
    if let Some(b) = bearer(headers) {
        if b.starts_with(api_tokens::PREFIX) {
            if let Some((token_id, expires_at, user)) = api_tokens::authenticate(&state.db, b).await? {
                state.token_usage.touch(&state.db, &token_id);
                return Ok(Some(AuthUser {
                    user: std::sync::Arc::new(user),
                    method: AuthMethod::ApiToken,
                    session_id: None,
                    token_id: Some(token_id),
                    expires_at,
                }));
            }
        } else if let Some(a) = by_session_jwt(state, b, AuthMethod::BearerJwt).await? {
            return Ok(Some(a));
        }
    }
    Ok(None)
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        if let Some(a) = parts.extensions.get::<AuthUser>() {
            return Ok(a.clone());
        }
        let a = authenticate(state, &parts.headers)
            .await?
            .ok_or_else(Error::unauthorized)?;
        parts.extensions.insert(a.clone());
        Ok(a)
    }
}

impl axum::extract::OptionalFromRequestParts<AppState> for AuthUser {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Self>, Error> {
        if let Some(a) = parts.extensions.get::<AuthUser>() {
            return Ok(Some(a.clone()));
        }
        let a = authenticate(state, &parts.headers).await?;
        if let Some(a) = &a {
            parts.extensions.insert(a.clone());
        }
        Ok(a)
    }
}

/// A signed-in admin. 401 without a session, 403 `Forbidden` for other users.
#[derive(Debug, Clone)]
pub struct AdminUser(pub AuthUser);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let a = <AuthUser as FromRequestParts<AppState>>::from_request_parts(parts, state).await?;
        if !a.user.is_admin() {
            return Err(Error::forbidden());
        }
        Ok(AdminUser(a))
    }
}

/// Paths a write may reach without a CSRF token (the original's list).
fn csrf_exempt(path: &str) -> bool {
    const EXACT: &[&str] = &[
        "/api/auth/setup",
        "/api/auth/refresh",
        "/api/auth/register",
        "/api/auth/verify-signup",
        "/api/auth/resend-signup-verification",
        "/api/auth/request-signup-resend",
        "/api/auth/login",
        "/api/auth/logout",
        "/api/auth/mfa/verify",
        "/api/health",
        "/api/csrf-token",
    ];
    path.starts_with("/api/password-reset") || EXACT.contains(&path.trim_end_matches('/'))
}

/// Double-submit CSRF check for state-changing API requests: the `X-CSRF-Token` header must equal
/// the `_csrf` cookie. Requests that authenticate with `Authorization` and carry no session cookie
/// cannot be forged by a browser and are exempt. `Some(answer)` refuses the request.
pub fn csrf_refusal(state: &AppState, req: &Request) -> Option<Response> {
    let path = req.uri().path();
    if !crate::http::is_api_path(path) || csrf_exempt(path) {
        return None;
    }
    let jar = CookieJar::from_headers(req.headers());
    if req.headers().contains_key(header::AUTHORIZATION) && jar.get(cookies::SESSION).is_none() {
        return None;
    }
    let err = || Error::new(Kind::Forbidden, "CSRF_INVALID", "Invalid CSRF token");
    let Some(cookie) = jar.get(cookies::CSRF) else {
        // Like the original: hand out a fresh cookie with the refusal so the client can retry.
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        let mut res = err().into_response();
        cookies::append(&mut res, &cookies::csrf(&state.config, &hex::encode(bytes)));
        return Some(res);
    };
    let sent = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if sent.is_empty() || !bool::from(sent.as_bytes().ct_eq(cookie.value().as_bytes())) {
        return Some(err().into_response());
    }
    None
}

/// Whether the method can change state.
pub fn is_write(m: &Method) -> bool {
    !(m == Method::GET || m == Method::HEAD || m == Method::OPTIONS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer_of(value: &str) -> Option<String> {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, value.parse().unwrap());
        bearer(&h).map(str::to_string)
    }

    #[test]
    fn lookups_are_shared_per_generation_and_forgotten_with_their_last_request() {
        let cache = AuthCache::default();
        let count = |c: &AuthCache| c.lookups.lock().unwrap().len();
        let a = cache.lookup("b sb_x".into(), 1);
        let b = cache.lookup("b sb_x".into(), 1);
        assert!(
            Arc::ptr_eq(&a.lookup, &b.lookup),
            "same credential, same generation: shared"
        );
        let other = cache.lookup("b sb_y".into(), 1);
        assert!(!Arc::ptr_eq(&a.lookup, &other.lookup));
        drop(other);
        assert_eq!(count(&cache), 1);
        drop(a);
        assert_eq!(count(&cache), 1, "b still waits");
        // A write since: a new lookup takes the old one's place.
        let c = cache.lookup("b sb_x".into(), 2);
        assert!(!Arc::ptr_eq(&b.lookup, &c.lookup));
        drop(b);
        assert_eq!(
            count(&cache),
            1,
            "the old lookup's last request leaves the new one alone"
        );
        drop(c);
        assert_eq!(count(&cache), 0);
    }

    #[test]
    fn bearer_credentials() {
        assert_eq!(bearer_of("Bearer sb_abc").as_deref(), Some("sb_abc"));
        assert_eq!(bearer_of("bEaReR  sb_abc ").as_deref(), Some("sb_abc"));
        assert_eq!(bearer_of("Bearer "), None);
        assert_eq!(bearer_of("Bearer"), None);
        assert_eq!(bearer_of("Bearerx sb_abc"), None);
        assert_eq!(bearer_of("Basic dXNlcjpwYXNz"), None);
        assert_eq!(bearer_of("Bearer\tsb_abc"), None);
        assert_eq!(bearer_of(""), None);
    }
}
