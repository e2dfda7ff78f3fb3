//! `/api/auth/mfa/*`: TOTP enrollment, login step-up, disable, backup codes.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ErrorBody, Result};
use crate::http::auth::{AuthUser, ClientOrigin};
use crate::http::cookies;
use crate::http::error::Json;
use crate::mfa::{self, CodeBody, EnrollBegin, MfaStatus};
use crate::state::AppState;
use crate::users::SessionUser;

/// Whether MFA is on for the caller.
#[utoipa::path(get, path = "/api/auth/mfa/status", tag = "MFA",
    responses((status = 200, body = MfaStatus), (status = 401, body = ErrorBody)))]
pub async fn status(State(state): State<AppState>, auth: AuthUser) -> Result<Json<MfaStatus>> {
    Ok(Json(mfa::status(&state.db, auth.id()).await?))
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
    let begun = mfa::begin_enrollment(&state.db, &state.config, &state.cipher, &origin, &auth.user).await?;
    Ok(crate::http::no_store(Json(begun).into_response()))
}

#[derive(Serialize, ToSchema)]
pub struct BackupCodes {
    /// Ten one-time codes, shown only in this answer.
    pub backup_codes: Vec<String>,
}

fn backup_codes(codes: Vec<String>) -> Response {
    crate::http::no_store(Json(BackupCodes { backup_codes: codes }).into_response())
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
    let codes = mfa::confirm_enrollment(&state.db, &state.cipher, &origin, &auth, body).await?;
    Ok(backup_codes(codes))
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
    mfa::cancel_enrollment(&state.db, &origin, auth.id()).await?;
    Ok(Json(Ok { ok: true }))
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
    mfa::disable(&state.db, &state.cipher, &origin, &auth, body).await?;
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
    let codes = mfa::regenerate_backup_codes(&state.db, &state.cipher, &origin, &auth, body).await?;
    Ok(backup_codes(codes))
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
    let pending = cookies::value(&headers, cookies::MFA_PENDING);
    let pending = pending.as_deref();
    let clear_pending = cookies::removal(&state.config, cookies::MFA_PENDING);
    match mfa::verify_sign_in(&state.db, &state.config, &state.cipher, &origin, pending, body).await {
        Ok(session) => {
            let mut res = Json(session.user.session_body()).into_response();
            cookies::append(&mut res, &clear_pending);
            cookies::append(&mut res, &cookies::session(&state.config, session.token));
            Ok(res)
        }
        Err(e) if e.code == "MFA_PENDING_INVALID" && pending.is_some() => {
            // Whatever the pending cookie holds is of no use any more.
            let mut res = e.into_response();
            cookies::append(&mut res, &clear_pending);
            Ok(res)
        }
        Err(e) => Err(e),
    }
}
