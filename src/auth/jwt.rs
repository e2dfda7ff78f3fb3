//! Session JWTs (the `token` cookie / `Authorization: Bearer`) and pending-MFA JWTs
//! (`slugbase.mfa_pending`), HS256 under `JWT_SECRET`, with the original's claim names.
//!
//! A session JWT names a server-side session (`sid`), so it can be revoked. A pending-MFA JWT
//! carries `pur: "mfa_pending"` and is never accepted as a session.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::users::User;

pub const PENDING_PURPOSE: &str = "mfa_pending";
pub const PENDING_TTL_SECS: i64 = 300;

#[derive(Debug, Serialize, Deserialize)]
pub struct SessionClaims {
    pub id: String,
    pub sub: String,
    pub email: String,
    pub name: String,
    pub user_key: String,
    pub is_admin: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// The server-side session this token belongs to.
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pur: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct PendingClaims {
    pub sub: String,
    pub pur: String,
    /// Identifies this pending login (attempts are counted per pending login).
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub fn sign_session(secret: &str, user: &User, sid: &str, ttl_secs: i64, email_verified: bool) -> String {
    let iat = now();
    let claims = SessionClaims {
        id: user.id.clone(),
        sub: user.id.clone(),
        email: user.email.clone(),
        name: user.name.clone(),
        user_key: user.user_key.clone(),
        is_admin: user.is_admin(),
        email_verified: Some(email_verified),
        sid: sid.to_string(),
        iat,
        exp: iat + ttl_secs,
        pur: None,
    };
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap_or_default()
}

fn validation() -> Validation {
    let mut v = Validation::new(Algorithm::HS256);
    v.leeway = 5;
    v.required_spec_claims = ["exp"].into_iter().map(String::from).collect();
    v
}

/// A valid session token's claims; pending-MFA tokens and tokens without a session are refused.
pub fn verify_session(secret: &str, token: &str) -> Option<SessionClaims> {
    let data =
        decode::<SessionClaims>(token, &DecodingKey::from_secret(secret.as_bytes()), &validation()).ok()?;
    if data.claims.pur.is_some() || data.claims.sid.is_empty() {
        return None;
    }
    Some(data.claims)
}

pub fn sign_pending(secret: &str, user_id: &str) -> (String, String) {
    let iat = now();
    let jti = crate::db::new_id();
    let claims = PendingClaims {
        sub: user_id.to_string(),
        pur: PENDING_PURPOSE.to_string(),
        jti: jti.clone(),
        iat,
        exp: iat + PENDING_TTL_SECS,
    };
    let token = encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap_or_default();
    (token, jti)
}

pub fn verify_pending(secret: &str, token: &str) -> Option<PendingClaims> {
    let data =
        decode::<PendingClaims>(token, &DecodingKey::from_secret(secret.as_bytes()), &validation()).ok()?;
    (data.claims.pur == PENDING_PURPOSE && !data.claims.sub.is_empty()).then_some(data.claims)
}
