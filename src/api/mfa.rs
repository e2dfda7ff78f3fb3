//! `/api/auth/mfa/*`: TOTP enrollment, login step-up, disable, backup codes.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::audit::{self, Origin};
use crate::auth::{jwt, password, ratelimit, sessions};
use crate::db::Ts;
use crate::error::{Error, ErrorBody, Kind, Result};
use crate::http::auth::{AuthUser, ClientOrigin};
use crate::http::cookies;
use crate::http::error::Json;
use crate::mfa::{self, Accepted};
use crate::state::AppState;
use crate::users::{self, SessionUser};

#[derive(Serialize, ToSchema)]
pub struct MfaStatus {
    pub enabled: bool,
    pub enrolled_at: Option<Ts>,
    /// An enrollment was begun and not yet confirmed.
    pub pending: bool,
    /// Unused backup codes left.
    pub backup_codes_remaining: i64,
}

async fn event(state: &AppState, origin: &Origin, user_id: Option<&str>, action: &str, metadata: Value) {
    audit::log(&state.db, origin, user_id, action, "user", user_id, metadata).await;
}

/// Whether MFA is on for the caller.
#[utoipa::path(get, path = "/api/auth/mfa/status", tag = "MFA",
    responses((status = 200, body = MfaStatus), (status = 401, body = ErrorBody)))]
pub async fn status(State(state): State<AppState>, auth: AuthUser) -> Result<Json<MfaStatus>> {
    let row = mfa::load(&state.db, auth.id()).await?;
    let remaining = mfa::remaining_backup_codes(&state.db, auth.id()).await?;
    Ok(Json(match row {
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
    }))
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
#[utoipa::path(post, path = "/api/auth/mfa/enroll/begin", tag = "MFA",
    responses(
        (status = 200, body = EnrollBegin),
        (status = 401, body = ErrorBody),
        (status = 409, description = "MFA_ALREADY_ENABLED", body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
pub async fn enroll_begin(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    auth: AuthUser,
) -> Result<Response> {
    ratelimit::hit(&state.db, &ratelimit::MFA_ENROLL_PER_IP, &origin.ip).await?;
    let secret = match mfa::begin(&state.db, &state.cipher, auth.id()).await {
        Ok(s) => s,
        Err(e) => {
            event(
                &state,
                &origin,
                Some(auth.id()),
                "mfa.enroll_begin_conflict",
                json!({}),
            )
            .await;
            return Err(e);
        }
    };
    let url = mfa::otpauth_url(&state.config.mfa_issuer, &auth.user.email, &secret);
    event(&state, &origin, Some(auth.id()), "mfa.enroll_begin", json!({})).await;
    let res = Json(EnrollBegin {
        qr_svg: mfa::qr_svg(&url),
        otpauth_url: url,
        secret,
    });
    Ok(crate::http::no_store(res.into_response()))
}

#[derive(Default, Deserialize, ToSchema)]
pub struct CodeBody {
    /// A 6-digit TOTP code (or, where accepted, a 16-character backup code).
    #[schema(value_type = String, example = "123456")]
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

#[derive(Serialize, ToSchema)]
pub struct BackupCodes {
    /// Ten one-time codes, shown only in this answer.
    pub backup_codes: Vec<String>,
}

/// Verifies a 6-digit TOTP code against the pending secret, enables MFA, and returns one-time
/// backup codes. Other sessions of the account end.
#[utoipa::path(post, path = "/api/auth/mfa/enroll/confirm", tag = "MFA", request_body = CodeBody,
    responses(
        (status = 200, description = "MFA enabled; the backup codes are shown once", body = BackupCodes),
        (status = 400, description = "INVALID_CODE (missing, malformed or wrong) or MFA_NO_PENDING", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 409, description = "MFA_ALREADY_ENABLED", body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
pub async fn enroll_confirm(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    auth: AuthUser,
    Json(body): Json<CodeBody>,
) -> Result<Response> {
    ratelimit::hit(&state.db, &ratelimit::MFA_ENROLL_PER_IP, &origin.ip).await?;
    let result = async {
        let code = required_code(&body.code)?;
        mfa::confirm(&state.db, &state.cipher, auth.id(), &code).await
    }
    .await;
    match result {
        Ok(codes) => {
            sessions::delete_others(&state.db, auth.id(), auth.session_id.as_deref()).await?;
            event(&state, &origin, Some(auth.id()), "mfa.enabled", json!({})).await;
            Ok(crate::http::no_store(
                Json(BackupCodes { backup_codes: codes }).into_response(),
            ))
        }
        Err(e) => {
            event(
                &state,
                &origin,
                Some(auth.id()),
                "mfa.enroll_confirm_failed",
                json!({"code": e.code}),
            )
            .await;
            Err(e)
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Ok {
    pub ok: bool,
}

/// Cancels a pending enrollment (idempotent).
#[utoipa::path(post, path = "/api/auth/mfa/enroll/cancel", tag = "MFA",
    responses(
        (status = 200, body = Ok),
        (status = 401, body = ErrorBody),
        (status = 409, description = "MFA_ALREADY_ENABLED", body = ErrorBody),
    ))]
pub async fn enroll_cancel(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    auth: AuthUser,
) -> Result<Json<Ok>> {
    ratelimit::hit(&state.db, &ratelimit::MFA_ENROLL_PER_IP, &origin.ip).await?;
    mfa::cancel(&state.db, auth.id()).await?;
    event(&state, &origin, Some(auth.id()), "mfa.enroll_cancel", json!({})).await;
    Ok(Json(Ok { ok: true }))
}

/// The checks shared by disable and regenerate: code present, MFA on, password (when the account
/// has one), then the code itself. On success the caller's transaction holds the claimed code.
/// (Failures are recorded only while no transaction is open: SQLite has one writer.)
async fn step_up(state: &AppState, auth: &AuthUser, body: &CodeBody) -> Result<crate::db::Tx> {
    let code = required_code(&body.code)?;
    let row = mfa::load(&state.db, auth.id())
        .await?
        .ok_or_else(Error::unauthorized)?;
    if !row.enabled() {
        return Err(Error::bad_request("MFA is not enabled").with_code("MFA_NOT_ENABLED"));
    }
    ratelimit::check(&state.db, &ratelimit::MFA_FAIL_PER_USER, auth.id()).await?;
    if auth.user.has_password() {
        let Some(pw) = body.password.as_deref().filter(|p| !p.is_empty()) else {
            return Err(Error::bad_request("Password is required").with_code("PASSWORD_REQUIRED"));
        };
        if !password::verify(pw, auth.user.password_hash.as_deref()).await {
            ratelimit::record_failure(&state.db, &ratelimit::MFA_FAIL_PER_USER, auth.id()).await?;
            return Err(Error::new(
                Kind::Unauthorized,
                "INVALID_PASSWORD",
                "Invalid password",
            ));
        }
    }
    let mut tx = state.db.begin().await?;
    if mfa::check_code(&mut tx, &state.cipher, auth.id(), &code, false)
        .await?
        .is_some()
    {
        return Ok(tx);
    }
    drop(tx);
    ratelimit::record_failure(&state.db, &ratelimit::MFA_FAIL_PER_USER, auth.id()).await?;
    Err(mfa::invalid_code())
}

/// Turns MFA off. Needs a current TOTP or backup code, and the password where the account has one.
#[utoipa::path(post, path = "/api/auth/mfa/disable", tag = "MFA", request_body = CodeBody,
    responses(
        (status = 200, body = Ok),
        (status = 400, description = "INVALID_CODE, MFA_NOT_ENABLED or PASSWORD_REQUIRED", body = ErrorBody),
        (status = 401, description = "Not signed in, or INVALID_PASSWORD", body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
pub async fn disable(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    auth: AuthUser,
    Json(body): Json<CodeBody>,
) -> Result<Json<Ok>> {
    ratelimit::hit(&state.db, &ratelimit::MFA_VERIFY_PER_IP, &origin.ip).await?;
    let mut tx = match step_up(&state, &auth, &body).await {
        Ok(tx) => tx,
        Err(e) => {
            event(
                &state,
                &origin,
                Some(auth.id()),
                "mfa.disable_failed",
                json!({"code": e.code}),
            )
            .await;
            return Err(e);
        }
    };
    mfa::disable_in(&mut tx, auth.id()).await?;
    tx.commit().await?;
    sessions::delete_others(&state.db, auth.id(), auth.session_id.as_deref()).await?;
    event(&state, &origin, Some(auth.id()), "mfa.disabled", json!({})).await;
    Ok(Json(Ok { ok: true }))
}

/// Replaces the backup codes (all earlier ones stop working). Same checks as disable.
#[utoipa::path(post, path = "/api/auth/mfa/backup/regenerate", tag = "MFA", request_body = CodeBody,
    responses(
        (status = 200, body = BackupCodes),
        (status = 400, description = "INVALID_CODE, MFA_NOT_ENABLED or PASSWORD_REQUIRED", body = ErrorBody),
        (status = 401, description = "Not signed in, or INVALID_PASSWORD", body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
pub async fn regenerate(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    auth: AuthUser,
    Json(body): Json<CodeBody>,
) -> Result<Response> {
    ratelimit::hit(&state.db, &ratelimit::MFA_VERIFY_PER_IP, &origin.ip).await?;
    let mut tx = match step_up(&state, &auth, &body).await {
        Ok(tx) => tx,
        Err(e) => {
            event(
                &state,
                &origin,
                Some(auth.id()),
                "mfa.backup_regenerate_failed",
                json!({"code": e.code}),
            )
            .await;
            return Err(e);
        }
    };
    let codes = mfa::regenerate_in(&mut tx, auth.id()).await?;
    tx.commit().await?;
    event(
        &state,
        &origin,
        Some(auth.id()),
        "mfa.backup_codes_regenerated",
        json!({}),
    )
    .await;
    Ok(crate::http::no_store(
        Json(BackupCodes { backup_codes: codes }).into_response(),
    ))
}

fn pending_invalid() -> Error {
    Error::new(
        Kind::Unauthorized,
        "MFA_PENDING_INVALID",
        "MFA session expired. Please sign in again.",
    )
}

/// Completes a login that answered `mfa_required`: with the `slugbase.mfa_pending` cookie and a
/// TOTP or backup code, issues the session. A backup code is used up by the login it completes.
#[utoipa::path(post, path = "/api/auth/mfa/verify", tag = "MFA", security(()), request_body = CodeBody,
    responses(
        (status = 200, description = "Signed in (sets the `token` cookie)", body = SessionUser),
        (status = 400, description = "Code missing", body = ErrorBody),
        (status = 401, description = "MFA_PENDING_INVALID or INVALID_CODE", body = ErrorBody),
        (status = 429, description = "Too many attempts", body = ErrorBody),
    ))]
pub async fn verify(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    headers: HeaderMap,
    Json(body): Json<CodeBody>,
) -> Result<Response> {
    let jar = CookieJar::from_headers(&headers);
    let claims = jar
        .get(cookies::MFA_PENDING)
        .and_then(|c| jwt::verify_pending(&state.config.jwt_secret, c.value()))
        .ok_or_else(pending_invalid)?;
    ratelimit::hit(&state.db, &ratelimit::MFA_VERIFY_PER_IP, &origin.ip).await?;
    let code = required_code(&body.code)?;
    let user = match users::by_id(&state.db, &claims.sub).await? {
        Some(u) if !u.disabled => u,
        _ => {
            let mut res = pending_invalid().into_response();
            cookies::append(&mut res, &cookies::removal(&state.config, cookies::MFA_PENDING));
            return Ok(res);
        }
    };
    ratelimit::check(&state.db, &ratelimit::MFA_FAIL_PER_PENDING, &claims.jti).await?;
    ratelimit::check(&state.db, &ratelimit::MFA_FAIL_PER_USER, &user.id).await?;

    let mut tx = state.db.begin().await?;
    let Some(accepted) = mfa::check_code(&mut tx, &state.cipher, &user.id, &code, true).await? else {
        drop(tx);
        ratelimit::record_failure(&state.db, &ratelimit::MFA_FAIL_PER_PENDING, &claims.jti).await?;
        ratelimit::record_failure(&state.db, &ratelimit::MFA_FAIL_PER_USER, &user.id).await?;
        event(&state, &origin, Some(&user.id), "mfa.verify_failed", json!({})).await;
        return Err(Error::new(Kind::Unauthorized, "INVALID_CODE", "Invalid code"));
    };
    let ttl = state.config.jwt_expires_in;
    let sid = sessions::create_in(&mut tx, &user.id, ttl, &origin.ip, origin.user_agent.as_deref()).await?;
    tx.commit().await?;
    // This pending login is done: it cannot open a second session.
    ratelimit::exhaust(&state.db, &ratelimit::MFA_FAIL_PER_PENDING, &claims.jti).await?;

    let token = jwt::sign_session(
        &state.config.jwt_secret,
        &user,
        &sid,
        ttl.as_secs() as i64,
        user.email_verified(),
    );
    let method = if accepted == Accepted::Backup {
        "backup_code"
    } else {
        "totp"
    };
    event(
        &state,
        &origin,
        Some(&user.id),
        "mfa.verify_succeeded",
        json!({"method": method}),
    )
    .await;
    if accepted == Accepted::Backup {
        event(&state, &origin, Some(&user.id), "mfa.backup_code_used", json!({})).await;
    }
    event(
        &state,
        &origin,
        Some(&user.id),
        "auth.login_succeeded",
        json!({"method": "password+mfa"}),
    )
    .await;
    let mut res = Json(user.session_body()).into_response();
    cookies::append(&mut res, &cookies::removal(&state.config, cookies::MFA_PENDING));
    cookies::append(&mut res, &cookies::session(&state.config, token));
    Ok(res)
}
