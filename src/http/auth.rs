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
pub use crate::auth::AuthUser;
use crate::auth::Credentials;
use crate::config::TrustProxy;
use crate::error::{Error, Kind};
use crate::http::cookies;
use crate::state::AppState;

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
    let creds = Credentials {
        cookie: jar.get(cookies::SESSION).map(|c| c.value()),
        bearer: bearer(headers),
    };
    state
        .auth
        .authenticate(&state.db, &state.config.jwt_secret, creds)
        .await
}

fn session_jar(headers: &HeaderMap) -> CookieJar {
    if headers.contains_key(header::COOKIE) {
        CookieJar::from_headers(headers)
    } else {
        CookieJar::new()
    }
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
        "/api/auth/mfa/passkey/begin",
        "/api/auth/mfa/passkey/finish",
        "/api/auth/passkeys/login/begin",
        "/api/auth/passkeys/login/finish",
        "/api/health",
        "/api/csrf-token",
    ];
    path.starts_with("/api/password-reset") || EXACT.contains(&path.trim_end_matches('/'))
}

/// Double-submit CSRF check for state-changing API requests: the `X-CSRF-Token` header must equal
/// the `_csrf` cookie. Only the session cookie is an ambient credential a forged request could
/// ride on, so a request without one is not checked: it authenticates with `Authorization` (which
/// a browser never adds by itself) or not at all, and then the route answers 401.
/// `Some(answer)` refuses the request.
pub fn csrf_refusal(state: &AppState, req: &Request) -> Option<Response> {
    let path = req.uri().path();
    if !crate::http::is_api_path(path) || csrf_exempt(path) {
        return None;
    }
    let jar = CookieJar::from_headers(req.headers());
    // No session cookie: nothing to forge.
    jar.get(cookies::SESSION)?;
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
