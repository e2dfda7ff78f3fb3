//! TOTP multi-factor authentication with one-time backup codes: enrolling, the sign-in step,
//! turning it off and replacing the backup codes.
//!
//! Beyond the original: an accepted TOTP time step is recorded per user and never accepted again
//! (replay protection that holds across instances, as the claim is one conditional UPDATE), secrets
//! are encrypted at rest in our v2 format, and backup codes are consumed in the same transaction
//! as the session they open.

mod factor;

pub use factor::*;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::audit::{self, Origin};
use crate::auth::{jwt, password, ratelimit, sessions, AuthUser, NewSession};
use crate::config::Config;
use crate::crypto::Cipher;
use crate::db::{Db, Ts};
use crate::error::{Error, Kind, Result};
use crate::users::{self, User};

#[derive(Serialize, ToSchema)]
pub struct MfaStatus {
    pub enabled: bool,
    pub enrolled_at: Option<Ts>,
    /// An enrollment was begun and not yet confirmed.
    pub pending: bool,
    /// Unused backup codes left.
    pub backup_codes_remaining: i64,
}

async fn event(db: &Db, origin: &Origin, user_id: Option<&str>, action: &str, metadata: Value) {
    audit::log(db, origin, user_id, action, "user", user_id, metadata).await;
}

/// Whether MFA is on for the user.
pub async fn status(db: &Db, user_id: &str) -> Result<MfaStatus> {
    let row = load(db, user_id).await?;
    let remaining = remaining_backup_codes(db, user_id).await?;
    Ok(match row {
        Some(r) => MfaStatus {
            enabled: r.enabled(),
            enrolled_at: if r.enabled() { r.mfa_enrolled_at } else { None },
            pending: r.pending(),
            backup_codes_remaining: if r.enabled() { remaining } else { 0 },
        },
        None => MfaStatus {
            enabled: false,
            enrolled_at: None,
            pending: false,
            backup_codes_remaining: 0,
        },
    })
}

#[derive(Serialize, ToSchema)]
pub struct EnrollBegin {
    /// `otpauth://totp/…` for authenticator apps.
    pub otpauth_url: String,
    /// The Base32 secret, for typing in by hand.
    pub secret: String,
    /// The otpauth URL as an SVG QR code.
    pub qr_svg: String,
}

/// Starts enrollment with a new pending secret (replacing any earlier pending one).
pub async fn begin_enrollment(
    db: &Db,
    config: &Config,
    cipher: &Cipher,
    origin: &Origin,
    user: &User,
) -> Result<EnrollBegin> {
    ratelimit::hit(db, &ratelimit::MFA_ENROLL_PER_IP, &origin.ip).await?;
    let secret = match begin(db, cipher, &user.id).await {
        Ok(s) => s,
        Err(e) => {
            event(db, origin, Some(&user.id), "mfa.enroll_begin_conflict", json!({})).await;
            return Err(e);
        }
    };
    let url = otpauth_url(&config.mfa_issuer, &user.email, &secret);
    event(db, origin, Some(&user.id), "mfa.enroll_begin", json!({})).await;
    Ok(EnrollBegin {
        qr_svg: qr_svg(&url),
        otpauth_url: url,
        secret,
    })
}

#[derive(Default, Deserialize, ToSchema)]
pub struct CodeBody {
    /// A 6-digit TOTP code (or, where accepted, a 16-character backup code).
    #[schema(value_type = String, required = true, example = "123456", pattern = "^[\\s\\S]*\\S[\\s\\S]*$")]
    pub code: Option<Value>,
    /// The account password, for disable and regenerate (accounts that have one).
    pub password: Option<String>,
}

fn required_code(v: &Option<Value>) -> Result<String> {
    match v {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        _ => Err(Error::bad_request("Code is required").with_code("INVALID_CODE")),
    }
}

/// Verifies a 6-digit TOTP code against the pending secret, enables MFA, and returns one-time
/// backup codes. Other sessions of the account end.
pub async fn confirm_enrollment(
    db: &Db,
    cipher: &Cipher,
    origin: &Origin,
    auth: &AuthUser,
    body: CodeBody,
) -> Result<Vec<String>> {
    ratelimit::hit(db, &ratelimit::MFA_ENROLL_PER_IP, &origin.ip).await?;
    let result = async {
        let code = required_code(&body.code)?;
        confirm(db, cipher, auth.id(), &code).await
    }
    .await;
    match result {
        Ok(codes) => {
            sessions::delete_others(db, auth.id(), auth.session_id.as_deref()).await?;
            event(db, origin, Some(auth.id()), "mfa.enabled", json!({})).await;
            Ok(codes)
        }
        Err(e) => {
            event(
                db,
                origin,
                Some(auth.id()),
                "mfa.enroll_confirm_failed",
                json!({"code": e.code}),
            )
            .await;
            Err(e)
        }
    }
}

/// Cancels a pending enrollment (idempotent).
pub async fn cancel_enrollment(db: &Db, origin: &Origin, user_id: &str) -> Result<()> {
    ratelimit::hit(db, &ratelimit::MFA_ENROLL_PER_IP, &origin.ip).await?;
    cancel(db, user_id).await?;
    event(db, origin, Some(user_id), "mfa.enroll_cancel", json!({})).await;
    Ok(())
}

/// The checks shared by disable and regenerate: code present, MFA on, password (when the account
/// has one), then the code itself. On success the caller's transaction holds the claimed code.
/// (Failures are recorded only while no transaction is open: SQLite has one writer.)
async fn step_up(db: &Db, cipher: &Cipher, auth: &AuthUser, body: &CodeBody) -> Result<crate::db::Tx> {
    let code = required_code(&body.code)?;
    let row = load(db, auth.id()).await?.ok_or_else(Error::unauthorized)?;
    if !row.enabled() {
        return Err(Error::bad_request("MFA is not enabled").with_code("MFA_NOT_ENABLED"));
    }
    ratelimit::check(db, &ratelimit::MFA_FAIL_PER_USER, auth.id()).await?;
    if auth.user.has_password() {
        let Some(pw) = body.password.as_deref().filter(|p| !p.is_empty()) else {
            return Err(Error::bad_request("Password is required").with_code("PASSWORD_REQUIRED"));
        };
        if !password::verify(pw, auth.user.password_hash.as_deref()).await {
            ratelimit::record_failure(db, &ratelimit::MFA_FAIL_PER_USER, auth.id()).await?;
            return Err(Error::new(
                Kind::Unauthorized,
                "INVALID_PASSWORD",
                "Invalid password",
            ));
        }
    }
    let mut tx = db.begin().await?;
    if check_code(&mut tx, cipher, auth.id(), &code, false)
        .await?
        .is_some()
    {
        return Ok(tx);
    }
    drop(tx);
    ratelimit::record_failure(db, &ratelimit::MFA_FAIL_PER_USER, auth.id()).await?;
    Err(invalid_code())
}

/// Turns MFA off. Needs a current TOTP or backup code, and the password where the account has
/// one. Other sessions of the account end.
pub async fn disable(
    db: &Db,
    cipher: &Cipher,
    origin: &Origin,
    auth: &AuthUser,
    body: CodeBody,
) -> Result<()> {
    ratelimit::hit(db, &ratelimit::MFA_VERIFY_PER_IP, &origin.ip).await?;
    let mut tx = match step_up(db, cipher, auth, &body).await {
        Ok(tx) => tx,
        Err(e) => {
            event(
                db,
                origin,
                Some(auth.id()),
                "mfa.disable_failed",
                json!({"code": e.code}),
            )
            .await;
            return Err(e);
        }
    };
    disable_in(&mut tx, auth.id()).await?;
    tx.commit().await?;
    sessions::delete_others(db, auth.id(), auth.session_id.as_deref()).await?;
    event(db, origin, Some(auth.id()), "mfa.disabled", json!({})).await;
    Ok(())
}

/// Replaces the backup codes (all earlier ones stop working). Same checks as [`disable`].
pub async fn regenerate_backup_codes(
    db: &Db,
    cipher: &Cipher,
    origin: &Origin,
    auth: &AuthUser,
    body: CodeBody,
) -> Result<Vec<String>> {
    ratelimit::hit(db, &ratelimit::MFA_VERIFY_PER_IP, &origin.ip).await?;
    let mut tx = match step_up(db, cipher, auth, &body).await {
        Ok(tx) => tx,
        Err(e) => {
            event(
                db,
                origin,
                Some(auth.id()),
                "mfa.backup_regenerate_failed",
                json!({"code": e.code}),
            )
            .await;
            return Err(e);
        }
    };
    let codes = regenerate_in(&mut tx, auth.id()).await?;
    tx.commit().await?;
    event(
        db,
        origin,
        Some(auth.id()),
        "mfa.backup_codes_regenerated",
        json!({}),
    )
    .await;
    Ok(codes)
}

/// The pending sign-in is gone (expired, tampered with, or the account was disabled).
pub fn pending_invalid() -> Error {
    Error::new(
        Kind::Unauthorized,
        "MFA_PENDING_INVALID",
        "MFA session expired. Please sign in again.",
    )
}

/// The account behind a pending sign-in (password right, second factor due), with its claims.
pub async fn pending_user(
    db: &Db,
    config: &Config,
    pending: Option<&str>,
) -> Result<(jwt::PendingClaims, User)> {
    let claims = pending
        .and_then(|p| jwt::verify_pending(&config.jwt_secret, p))
        .ok_or_else(pending_invalid)?;
    match users::by_id(db, &claims.sub).await? {
        Some(u) if !u.disabled => Ok((claims, u)),
        _ => Err(pending_invalid()),
    }
}

/// Completes a sign-in that stopped at the MFA step: with the pending token and a TOTP or backup
/// code, opens the session. A backup code is used up by the sign-in it completes, and a pending
/// token opens at most one session.
pub async fn verify_sign_in(
    db: &Db,
    config: &Config,
    cipher: &Cipher,
    origin: &Origin,
    pending: Option<&str>,
    body: CodeBody,
) -> Result<NewSession> {
    let (claims, user) = pending_user(db, config, pending).await?;
    ratelimit::hit(db, &ratelimit::MFA_VERIFY_PER_IP, &origin.ip).await?;
    let code = required_code(&body.code)?;
    ratelimit::check(db, &ratelimit::MFA_FAIL_PER_PENDING, &claims.jti).await?;
    ratelimit::check(db, &ratelimit::MFA_FAIL_PER_USER, &user.id).await?;

    let mut tx = db.begin().await?;
    let Some(accepted) = check_code(&mut tx, cipher, &user.id, &code, true).await? else {
        drop(tx);
        ratelimit::record_failure(db, &ratelimit::MFA_FAIL_PER_PENDING, &claims.jti).await?;
        ratelimit::record_failure(db, &ratelimit::MFA_FAIL_PER_USER, &user.id).await?;
        event(db, origin, Some(&user.id), "mfa.verify_failed", json!({})).await;
        return Err(Error::new(Kind::Unauthorized, "INVALID_CODE", "Invalid code"));
    };
    let ttl = config.jwt_expires_in;
    let sid = sessions::create_in(&mut tx, &user.id, ttl, &origin.ip, origin.user_agent.as_deref()).await?;
    tx.commit().await?;
    // This pending sign-in is done: it cannot open a second session.
    ratelimit::exhaust(db, &ratelimit::MFA_FAIL_PER_PENDING, &claims.jti).await?;

    let token = crate::auth::session_token(config, &user, &sid);
    if accepted == Accepted::Backup {
        event(db, origin, Some(&user.id), "mfa.backup_code_used", json!({})).await;
        record_second_step(db, origin, &user.id, "backup_code", "password+mfa").await;
    } else {
        record_second_step(db, origin, &user.id, "totp", "password+mfa").await;
    }
    Ok(NewSession { user, token })
}

/// Records a sign-in completed at the second step: `method` is the factor (`totp`,
/// `backup_code`, `passkey`), `login` how the sign-in went as a whole.
pub async fn record_second_step(db: &Db, origin: &Origin, user_id: &str, method: &str, login: &str) {
    let id = Some(user_id);
    event(db, origin, id, "mfa.verify_succeeded", json!({"method": method})).await;
    event(db, origin, id, "auth.login_succeeded", json!({"method": login})).await;
}
