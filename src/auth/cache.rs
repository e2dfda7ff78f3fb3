//! Who is calling: a session (its JWT in the `token` cookie or as a Bearer token) or a personal
//! API token, checked against the database and kept for a few seconds per credential.

use std::sync::Arc;

use crate::auth::{api_tokens, jwt, sessions, AuthMethod, AuthUser};
use crate::db::Db;
use crate::error::Result;

/// What a request presents: the session cookie's value and the `Authorization: Bearer` value.
#[derive(Clone, Copy, Debug, Default)]
pub struct Credentials<'a> {
    pub cookie: Option<&'a str>,
    pub bearer: Option<&'a str>,
}

impl<'a> Credentials<'a> {
    fn key(self) -> Option<Credential<'a>> {
        Some(match (self.cookie, self.bearer) {
            (Some(c), Some(b)) => Credential::Both(c, b),
            (Some(c), None) => Credential::Cookie(c),
            (None, Some(b)) => Credential::Bearer(b),
            (None, None) => return None,
        })
    }
}

/// Authenticates credentials: the credential cache in front of the session and token lookups,
/// and the API-token use tracker.
#[derive(Default)]
pub struct Authenticator {
    cache: AuthCache,
    token_usage: api_tokens::UsageTracker,
}

impl Authenticator {
    /// The principal behind the credentials, if they are still good. A cached principal is not
    /// re-recorded as a token use: the entry lives at most [`AUTH_TTL`], and the lookup that
    /// replaces it records the use (at most a write a minute).
    pub async fn authenticate(
        self: &Arc<Self>,
        db: &Db,
        jwt_secret: &str,
        creds: Credentials<'_>,
    ) -> Result<Option<Arc<AuthUser>>> {
        let Some(key) = creds.key() else {
            return Ok(None);
        };
        if let Some((a, refresh)) = self.cache.get(key) {
            if refresh {
                self.refresh_in_background(db, jwt_secret, key);
            }
            return Ok(Some(a));
        }
        // Read the generation before the lookup: a write that lands meanwhile makes this entry
        // stale, and later requests start their own lookup.
        let gen = self.cache.generation();
        let flight = self.cache.lookup(key.owned(), gen);
        flight
            .lookup
            .get_or_try_init(|| async {
                let found = self.uncached(db, jwt_secret, creds).await?.map(Arc::new);
                if let Some(a) = &found {
                    self.cache.put(key, gen, a);
                }
                Ok::<_, crate::error::Error>(found)
            })
            .await
            .cloned()
    }

    /// Drops every cached principal: called after anything that may end a session or change a
    /// user (on this instance at once; other instances see it within [`AUTH_TTL`]).
    pub fn invalidate(&self) {
        self.cache.invalidate();
    }

    /// Re-checks a cached credential off the request: replaces its entry, or drops it when the
    /// credential is no longer good. On a database error the entry is left to expire, and the
    /// next request looks it up itself (and reports the error).
    fn refresh_in_background(self: &Arc<Self>, db: &Db, jwt_secret: &str, key: Credential<'_>) {
        let (me, db, secret) = (self.clone(), db.clone(), jwt_secret.to_string());
        let owned = OwnedCredential::from(key);
        tokio::spawn(async move {
            let key = owned.borrow();
            let gen = me.cache.generation();
            match me.uncached(&db, &secret, key.credentials()).await {
                Ok(Some(a)) => me.cache.put(key, gen, &Arc::new(a)),
                Ok(None) => me.cache.remove(key),
                Err(e) => tracing::warn!(error = %e, "could not re-check a cached credential"),
            }
        });
    }

    async fn uncached(&self, db: &Db, jwt_secret: &str, creds: Credentials<'_>) -> Result<Option<AuthUser>> {
        if let Some(c) = creds.cookie {
            if let Some(a) = by_session_jwt(db, jwt_secret, c, AuthMethod::Cookie).await? {
                return Ok(Some(a));
            }
        }
        if let Some(b) = creds.bearer {
            if b.starts_with(api_tokens::PREFIX) {
                if let Some((token_id, expires_at, user)) = api_tokens::authenticate(db, b).await? {
                    self.token_usage.touch(db, &token_id);
                    return Ok(Some(AuthUser {
                        user: Arc::new(user),
                        method: AuthMethod::ApiToken,
                        session_id: None,
                        token_id: Some(token_id),
                        expires_at,
                    }));
                }
            } else if let Some(a) = by_session_jwt(db, jwt_secret, b, AuthMethod::BearerJwt).await? {
                return Ok(Some(a));
            }
        }
        Ok(None)
    }
}

async fn by_session_jwt(db: &Db, secret: &str, token: &str, method: AuthMethod) -> Result<Option<AuthUser>> {
    let Some(claims) = jwt::verify_session(secret, token) else {
        return Ok(None);
    };
    Ok(sessions::user_for(db, &claims.sid)
        .await?
        .filter(|u| u.id == claims.id)
        .map(|user| AuthUser {
            user: Arc::new(user),
            method,
            session_id: Some(claims.sid),
            token_id: None,
            expires_at: Some(crate::db::Ts::from_unix(claims.exp)),
        }))
}

/// A credential kept for a background re-check.
enum OwnedCredential {
    Bearer(String),
    Cookie(String),
    Both(String, String),
}

impl From<Credential<'_>> for OwnedCredential {
    fn from(c: Credential<'_>) -> Self {
        match c {
            Credential::Bearer(b) => OwnedCredential::Bearer(b.into()),
            Credential::Cookie(k) => OwnedCredential::Cookie(k.into()),
            Credential::Both(k, b) => OwnedCredential::Both(k.into(), b.into()),
        }
    }
}

impl OwnedCredential {
    fn borrow(&self) -> Credential<'_> {
        match self {
            OwnedCredential::Bearer(b) => Credential::Bearer(b),
            OwnedCredential::Cookie(k) => Credential::Cookie(k),
            OwnedCredential::Both(k, b) => Credential::Both(k, b),
        }
    }
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
struct AuthCache {
    generation: std::sync::atomic::AtomicU64,
    // Read-mostly: readers never wait for each other (a reader descheduled while holding it
    // stalls nobody).
    map: std::sync::RwLock<Entries>,
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
struct Entries {
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

impl<'a> Credential<'a> {
    fn credentials(self) -> Credentials<'a> {
        match self {
            Credential::Bearer(b) => Credentials {
                cookie: None,
                bearer: Some(b),
            },
            Credential::Cookie(k) => Credentials {
                cookie: Some(k),
                bearer: None,
            },
            Credential::Both(k, b) => Credentials {
                cookie: Some(k),
                bearer: Some(b),
            },
        }
    }

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

impl Entries {
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

    fn invalidate(&self) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
