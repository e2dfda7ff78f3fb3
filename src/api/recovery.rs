//! `/api/password-reset/*` and `/api/email-verification/*`: setting a password with a mailed link
//! (reset or invite), and confirming a new e-mail address.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::account::email::{self, ConfirmInput};
use crate::api::auth::{message, MessageBody};
use crate::auth::reset::{self, ResetInput, ResetRequest};
use crate::error::{Error, ErrorBody, Kind, Result};
use crate::http::auth::ClientOrigin;
use crate::http::error::{Json, Query, Rendered};
use crate::state::AppState;

/// An answer whose body is not the envelope (the original's `{valid: false, error}` and
/// `{status}` shapes), marked as rendered so the edge keeps it.
pub fn shaped(e: Error, body: serde_json::Value) -> Response {
    let mut res = (crate::http::error::status(e.kind), axum::Json(body)).into_response();
    res.extensions_mut().insert(Rendered(e));
    res
}

/// The original's `{valid: false, error}` for a refused token (plus our `code`); other failures
/// (rate limits, outages) keep the envelope.
fn not_valid(e: Error) -> Response {
    if e.kind != Kind::BadRequest {
        return e.into_response();
    }
    let body = json!({"valid": false, "error": e.message, "code": e.code});
    shaped(e, body)
}

#[derive(Deserialize, IntoParams)]
pub struct TokenQuery {
    /// The token from the mailed link.
    #[param(required = true, pattern = "\\S")]
    pub token: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Validity {
    pub valid: bool,
}

/// Always the same answer for a well-formed address, whether or not it has an account (and in the
/// same time: the work happens after the answer). The link is valid for one hour, once.
#[utoipa::path(post, path = "/api/password-reset/request", tag = "Auth", security(()), request_body = ResetRequest,
    responses(
        (status = 200, body = MessageBody),
        (status = 400, description = "Email missing or invalid", body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
pub async fn request_reset(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    Json(body): Json<ResetRequest>,
) -> Result<Json<MessageBody>> {
    reset::request(&state.db, &state.mailer, &origin, body).await?;
    Ok(message(reset::REQUEST_ANSWER))
}

/// Whether a reset (or invite) link can still set a password; asking does not use it up.
#[utoipa::path(get, path = "/api/password-reset/verify", tag = "Auth", security(()), params(TokenQuery),
    responses(
        (status = 200, body = Validity),
        (status = 400, description = "`{valid: false, error: \"Invalid or expired token\", code}`", body = Object),
        (status = 429, body = ErrorBody),
    ))]
pub async fn verify_reset(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    Query(q): Query<TokenQuery>,
) -> Response {
    match reset::check(&state.db, &origin, q.token.as_deref()).await {
        Ok(()) => Json(Validity { valid: true }).into_response(),
        Err(e) => not_valid(e),
    }
}

/// Sets a new password with a reset or invite link. The link is used up, every session of the
/// account ends, and the account is told by mail.
#[utoipa::path(post, path = "/api/password-reset/reset", tag = "Auth", security(()), request_body = ResetInput,
    responses(
        (status = 200, body = MessageBody),
        (status = 400, description = "Missing field, weak password, or invalid or expired token", body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
pub async fn reset_password(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    Json(body): Json<ResetInput>,
) -> Result<Json<MessageBody>> {
    reset::reset(&state.db, &state.mailer, &origin, body).await?;
    Ok(message("Password reset successfully"))
}

#[derive(Serialize, ToSchema)]
pub struct EmailValidity {
    pub valid: bool,
    #[serde(rename = "newEmail")]
    pub new_email: String,
}

/// Whether an e-mail-change link is still good, and the address it confirms.
#[utoipa::path(get, path = "/api/email-verification/verify", tag = "Users", security(()), params(TokenQuery),
    responses(
        (status = 200, body = EmailValidity),
        (status = 400, description = "`{valid: false, error, code}`: token missing, invalid, used or expired", body = Object),
        (status = 429, body = ErrorBody),
    ))]
pub async fn verify_email_change(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    Query(q): Query<TokenQuery>,
) -> Response {
    match email::check(&state.db, &origin, q.token.as_deref()).await {
        Ok(new_email) => Json(EmailValidity {
            valid: true,
            new_email,
        })
        .into_response(),
        Err(e) => not_valid(e),
    }
}

#[derive(Serialize, ToSchema)]
pub struct EmailConfirmed {
    pub message: String,
    pub email: String,
}

/// Switches the account to the confirmed address (the link is the credential) and tells the old
/// address.
#[utoipa::path(post, path = "/api/email-verification/confirm", tag = "Users", security(()), request_body = ConfirmInput,
    responses(
        (status = 200, body = EmailConfirmed),
        (status = 400, description = "Token missing, invalid, used or expired, or the address was taken meanwhile", body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
pub async fn confirm_email_change(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    Json(body): Json<ConfirmInput>,
) -> Result<Json<EmailConfirmed>> {
    let email = email::confirm(&state.db, &state.mailer, &origin, body).await?;
    Ok(Json(EmailConfirmed {
        message: "Email verified and updated successfully".into(),
        email,
    }))
}
