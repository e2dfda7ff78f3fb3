//! The cookies SlugBase sets, with the original's names and attributes.

use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum_extra::extract::cookie::{Cookie, SameSite};

use crate::config::Config;

pub const SESSION: &str = "token";
pub const MFA_PENDING: &str = "slugbase.mfa_pending";
pub const CSRF: &str = "_csrf";
/// The state of an OIDC sign-in between the redirect to the provider and its callback.
pub const OIDC_STATE: &str = "slugbase.oidc_state";
/// Sent only to the sign-in routes under it (start and callback).
const OIDC_STATE_PATH: &str = "/api/auth/";
/// The key of the passkey ceremony this browser began (five minutes; the passkey routes only).
pub const WEBAUTHN: &str = "slugbase.webauthn";

fn base(
    config: &Config,
    name: &'static str,
    value: String,
    same_site: SameSite,
    max_age_secs: i64,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .secure(config.secure_cookies())
        .same_site(same_site)
        .path("/")
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .build()
}

pub fn csrf(config: &Config, token: &str) -> Cookie<'static> {
    base(config, CSRF, token.to_string(), SameSite::Strict, 86_400)
}

pub fn session(config: &Config, jwt: String) -> Cookie<'static> {
    base(
        config,
        SESSION,
        jwt,
        SameSite::Lax,
        config.jwt_expires_in.as_secs() as i64,
    )
}

pub fn mfa_pending(config: &Config, jwt: String) -> Cookie<'static> {
    base(config, MFA_PENDING, jwt, SameSite::Lax, 300)
}

/// The login-state cookie: `Lax`, so the browser sends it on the provider's redirect back to
/// the callback (a cross-site top-level navigation), for ten minutes.
pub fn oidc_state(config: &Config, sealed: String) -> Cookie<'static> {
    let mut c = base(config, OIDC_STATE, sealed, SameSite::Lax, 600);
    c.set_path(OIDC_STATE_PATH);
    c
}

/// The login-state cookie, expired.
pub fn oidc_state_removal(config: &Config) -> Cookie<'static> {
    let mut c = base(config, OIDC_STATE, String::new(), SameSite::Lax, 0);
    c.set_path(OIDC_STATE_PATH);
    c
}

/// The passkey-ceremony cookie: `Strict`, only the routes under `/api/auth/`.
pub fn webauthn(config: &Config, key: String) -> Cookie<'static> {
    let mut c = base(config, WEBAUTHN, key, SameSite::Strict, 300);
    c.set_path(OIDC_STATE_PATH);
    c
}

/// The passkey-ceremony cookie, expired.
pub fn webauthn_removal(config: &Config) -> Cookie<'static> {
    let mut c = base(config, WEBAUTHN, String::new(), SameSite::Strict, 0);
    c.set_path(OIDC_STATE_PATH);
    c
}

/// The same cookie, expired, so browsers drop it.
pub fn removal(config: &Config, name: &'static str) -> Cookie<'static> {
    base(config, name, String::new(), SameSite::Lax, 0)
}

/// The value of the request's cookie `name`.
pub fn value(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    axum_extra::extract::cookie::CookieJar::from_headers(headers)
        .get(name)
        .map(|c| c.value().to_string())
}

pub fn append(res: &mut Response, cookie: &Cookie<'_>) {
    if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}
