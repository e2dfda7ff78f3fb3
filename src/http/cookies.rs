//! The cookies SlugBase sets, with the original's names and attributes.

use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum_extra::extract::cookie::{Cookie, SameSite};

use crate::config::Config;

pub const SESSION: &str = "token";
pub const MFA_PENDING: &str = "slugbase.mfa_pending";
pub const CSRF: &str = "_csrf";

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

/// The same cookie, expired, so browsers drop it.
pub fn removal(config: &Config, name: &'static str) -> Cookie<'static> {
    base(config, name, String::new(), SameSite::Lax, 0)
}

pub fn append(res: &mut Response, cookie: &Cookie<'_>) {
    if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}
