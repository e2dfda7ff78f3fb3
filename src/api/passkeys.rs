//! `/api/auth/passkeys/*` and `/api/auth/mfa/passkey/*`: adding and managing passkeys, signing in
//! with one, and using one as the second factor. Each ceremony's key travels in the
//! `slugbase.webauthn` cookie from its `begin` to its `finish`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::api::auth::{message, session_cookie, MessageBody};
use crate::auth::NewSession;
use crate::error::{ErrorBody, Result};
use crate::http::auth::{AuthUser, ClientOrigin};
use crate::http::cookies;
use crate::http::error::Json;
use crate::passkeys::{self, AssertionBody, ConfirmBody, PasskeyInfo, RegisterFinish, RenameBody};
use crate::state::AppState;
use crate::users::SessionUser;

/// The options for `navigator.credentials.create()` / `.get()`, binary fields base64url.
#[derive(Serialize, ToSchema)]
pub struct CeremonyOptions {
    #[serde(rename = "publicKey")]
    #[schema(value_type = Object)]
    pub public_key: Value,
}

/// The options, with the ceremony's key in its cookie.
fn begun(state: &AppState, (mut options, key): (Value, String)) -> Response {
    let public_key = options
        .get_mut("publicKey")
        .map(Value::take)
        .unwrap_or(Value::Null);
    let mut res = crate::http::no_store(Json(CeremonyOptions { public_key }).into_response());
    cookies::append(&mut res, &cookies::webauthn(&state.config, key));
    res
}

/// The answer to a finished ceremony; its cookie is spent whatever the outcome.
fn finished(state: &AppState, outcome: Result<Response>) -> Response {
    let mut res = outcome.unwrap_or_else(IntoResponse::into_response);
    cookies::append(&mut res, &cookies::webauthn_removal(&state.config));
    res
}

fn signed_in(state: &AppState, session: NewSession) -> Response {
    let mut res = Json(session.user.session_body()).into_response();
    cookies::append(&mut res, &cookies::removal(&state.config, cookies::MFA_PENDING));
    cookies::append(&mut res, &session_cookie(state, &session));
    res
}

/// The caller's passkeys: name, created, last used (never key material).
#[utoipa::path(get, path = "/api/auth/passkeys", tag = "Passkeys",
    responses((status = 200, body = [PasskeyInfo]), (status = 401, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, auth: AuthUser) -> Result<Json<Vec<PasskeyInfo>>> {
    Ok(Json(passkeys::list(&state.db, auth.id()).await?))
}

/// Begins adding a passkey. Needs a browser session whose sign-in is at most 10 minutes old, or
/// the password (or a TOTP code) in the body. Sets the `slugbase.webauthn` cookie.
#[utoipa::path(post, path = "/api/auth/passkeys/register/begin", tag = "Passkeys", request_body = ConfirmBody,
    responses(
        (status = 200, description = "Options for `navigator.credentials.create()`", body = CeremonyOptions),
        (status = 400, description = "VALIDATION_ERROR, INVALID_CODE or PASSKEY_LIMIT", body = ErrorBody),
        (status = 401, description = "Not signed in, or INVALID_PASSWORD", body = ErrorBody),
        (status = 403, description = "REAUTH_REQUIRED (confirm with the password), SESSION_REQUIRED (API tokens cannot add passkeys)", body = ErrorBody),
        (status = 429, body = ErrorBody),
        (status = 503, description = "PASSKEYS_UNAVAILABLE: BASE_URL names no host", body = ErrorBody),
    ))]
pub async fn register_begin(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    auth: AuthUser,
    Json(body): Json<ConfirmBody>,
) -> Result<Response> {
    let begun_with =
        passkeys::begin_registration(&state.db, &state.passkeys, &state.cipher, &origin, &auth, body).await?;
    Ok(begun(&state, begun_with))
}

/// Finishes adding a passkey with what the browser's authenticator answered.
#[utoipa::path(post, path = "/api/auth/passkeys/register/finish", tag = "Passkeys", request_body = RegisterFinish,
    responses(
        (status = 201, description = "Added", body = PasskeyInfo),
        (status = 400, description = "VALIDATION_ERROR, PASSKEY_CHALLENGE_INVALID (none, used, or another session's), PASSKEY_CHALLENGE_EXPIRED, PASSKEY_INVALID (the answer does not verify: wrong origin, challenge or signature)", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 409, description = "PASSKEY_EXISTS", body = ErrorBody),
        (status = 503, body = ErrorBody),
    ))]
pub async fn register_finish(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    auth: AuthUser,
    headers: HeaderMap,
    Json(body): Json<RegisterFinish>,
) -> Response {
    let key = cookies::value(&headers, cookies::WEBAUTHN);
    let outcome =
        passkeys::finish_registration(&state.db, &state.passkeys, &origin, &auth, key.as_deref(), body).await;
    finished(
        &state,
        outcome.map(|info| (StatusCode::CREATED, Json(info)).into_response()),
    )
}

/// Renames one of the caller's passkeys.
#[utoipa::path(patch, path = "/api/auth/passkeys/{id}", tag = "Passkeys", request_body = RenameBody,
    params(("id" = String, Path, description = "Passkey id")),
    responses(
        (status = 200, body = PasskeyInfo),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such passkey of the caller's", body = ErrorBody),
    ))]
pub async fn rename(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    auth: AuthUser,
    Path(id): Path<String>,
    Json(body): Json<RenameBody>,
) -> Result<Json<PasskeyInfo>> {
    Ok(Json(
        passkeys::rename(&state.db, &origin, auth.id(), &id, body).await?,
    ))
}

/// Removes one of the caller's passkeys; it no longer signs in. Needs a browser session; the
/// account's last second factor (no TOTP, no other passkey) also needs a sign-in at most 10
/// minutes old, or the password (or a TOTP code) in the optional body.
#[utoipa::path(delete, path = "/api/auth/passkeys/{id}", tag = "Passkeys",
    params(("id" = String, Path, description = "Passkey id")),
    request_body(content = Option<ConfirmBody>, description = "Optional confirmation"),
    responses(
        (status = 200, body = MessageBody),
        (status = 400, description = "Malformed body, or INVALID_CODE", body = ErrorBody),
        (status = 401, description = "Not signed in, or INVALID_PASSWORD", body = ErrorBody),
        (status = 403, description = "SESSION_REQUIRED, or REAUTH_REQUIRED for the last second factor", body = ErrorBody),
        (status = 404, description = "No such passkey of the caller's", body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    auth: AuthUser,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<MessageBody>> {
    // No body, or `null`: no confirmation given.
    let confirm = if body.iter().all(u8::is_ascii_whitespace) {
        ConfirmBody::default()
    } else {
        crate::error::parse_json::<Option<ConfirmBody>>(&body)?.unwrap_or_default()
    };
    passkeys::remove(&state.db, &state.cipher, &origin, &auth, &id, confirm).await?;
    Ok(message("Passkey removed"))
}

/// Begins a sign-in with a passkey alone (no e-mail address: the authenticator offers its
/// passkeys for this site). Sets the `slugbase.webauthn` cookie.
#[utoipa::path(post, path = "/api/auth/passkeys/login/begin", tag = "Passkeys", security(()),
    responses(
        (status = 200, description = "Options for `navigator.credentials.get()`", body = CeremonyOptions),
        (status = 429, body = ErrorBody),
        (status = 503, body = ErrorBody),
    ))]
pub async fn login_begin(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
) -> Result<Response> {
    let begun_with = passkeys::begin_login(&state.db, &state.passkeys, &origin).await?;
    Ok(begun(&state, begun_with))
}

/// Finishes a passkey sign-in: a session (the `token` cookie), as after password and second factor.
#[utoipa::path(post, path = "/api/auth/passkeys/login/finish", tag = "Passkeys", security(()), request_body = AssertionBody,
    responses(
        (status = 200, description = "Signed in (sets the `token` cookie)", body = SessionUser),
        (status = 400, description = "VALIDATION_ERROR, PASSKEY_CHALLENGE_INVALID or PASSKEY_CHALLENGE_EXPIRED", body = ErrorBody),
        (status = 401, description = "PASSKEY_INVALID (does not verify, or a cloned authenticator), PASSKEY_UNKNOWN", body = ErrorBody),
        (status = 403, description = "Account disabled, or its address not verified yet", body = ErrorBody),
        (status = 429, body = ErrorBody),
        (status = 503, body = ErrorBody),
    ))]
pub async fn login_finish(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    headers: HeaderMap,
    Json(body): Json<AssertionBody>,
) -> Response {
    let key = cookies::value(&headers, cookies::WEBAUTHN);
    let outcome = passkeys::finish_login(
        &state.db,
        &state.config,
        &state.mailer,
        &state.passkeys,
        &origin,
        key.as_deref(),
        body,
    )
    .await;
    finished(&state, outcome.map(|s| signed_in(&state, s)))
}

/// Begins the second step of a password sign-in with a passkey (needs the
/// `slugbase.mfa_pending` cookie). Sets the `slugbase.webauthn` cookie.
#[utoipa::path(post, path = "/api/auth/mfa/passkey/begin", tag = "MFA", security(()),
    responses(
        (status = 200, description = "Options for `navigator.credentials.get()`", body = CeremonyOptions),
        (status = 400, description = "NO_PASSKEYS", body = ErrorBody),
        (status = 401, description = "MFA_PENDING_INVALID", body = ErrorBody),
        (status = 429, body = ErrorBody),
        (status = 503, body = ErrorBody),
    ))]
pub async fn mfa_begin(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    headers: HeaderMap,
) -> Result<Response> {
    let pending = cookies::value(&headers, cookies::MFA_PENDING);
    let begun_with = passkeys::begin_mfa(
        &state.db,
        &state.config,
        &state.passkeys,
        &origin,
        pending.as_deref(),
    )
    .await?;
    Ok(begun(&state, begun_with))
}

/// Completes a sign-in that answered `mfa_required` with one of the account's passkeys.
#[utoipa::path(post, path = "/api/auth/mfa/passkey/finish", tag = "MFA", security(()), request_body = AssertionBody,
    responses(
        (status = 200, description = "Signed in (sets the `token` cookie)", body = SessionUser),
        (status = 400, description = "VALIDATION_ERROR, PASSKEY_CHALLENGE_INVALID or PASSKEY_CHALLENGE_EXPIRED", body = ErrorBody),
        (status = 401, description = "MFA_PENDING_INVALID or PASSKEY_INVALID", body = ErrorBody),
        (status = 429, body = ErrorBody),
        (status = 503, body = ErrorBody),
    ))]
pub async fn mfa_finish(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    headers: HeaderMap,
    Json(body): Json<AssertionBody>,
) -> Response {
    let key = cookies::value(&headers, cookies::WEBAUTHN);
    let pending = cookies::value(&headers, cookies::MFA_PENDING);
    let outcome = passkeys::finish_mfa(
        &state.db,
        &state.config,
        &state.passkeys,
        &origin,
        pending.as_deref(),
        key.as_deref(),
        body,
    )
    .await;
    finished(&state, outcome.map(|s| signed_in(&state, s)))
}
