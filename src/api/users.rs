//! `/api/users/*` and `/api/teams`: the caller's profile, password, account, sharing list, teams.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::account::{self, DeleteAccount, PasswordChange, ProfileUpdate};
use crate::api::auth::{message, session_cookie, MessageBody};
use crate::error::{Error, ErrorBody, Result};
use crate::http::auth::{AuthUser, ClientOrigin};
use crate::http::cookies;
use crate::http::error::Json;
use crate::state::AppState;
use crate::teams::{self, MyTeam};
use crate::users::{self, ShareableUser};

#[derive(Serialize, ToSchema)]
pub struct Profile {
    pub id: String,
    pub email: String,
    pub name: String,
    pub user_key: String,
    pub is_admin: bool,
    pub language: String,
    pub theme: String,
    pub ai_suggestions_enabled: bool,
    pub email_pending: Option<String>,
    pub oidc_provider: Option<String>,
    pub oidc_sub: Option<String>,
    pub has_password: bool,
    pub mfa_enabled: bool,
}

fn profile(u: &users::User) -> Profile {
    Profile {
        id: u.id.clone(),
        email: u.email.clone(),
        name: u.name.clone(),
        user_key: u.user_key.clone(),
        is_admin: u.is_admin(),
        language: u.language(),
        theme: u.theme(),
        ai_suggestions_enabled: u.ai_suggestions_enabled.unwrap_or(true),
        email_pending: u.email_pending.clone(),
        oidc_provider: u.oidc_provider.clone(),
        oidc_sub: u.oidc_sub.clone(),
        has_password: u.has_password(),
        mfa_enabled: u.mfa_enabled(),
    }
}

/// The caller's profile.
#[utoipa::path(get, path = "/api/users/me", tag = "Users",
    responses((status = 200, body = Profile), (status = 401, body = ErrorBody)))]
pub async fn get_me(auth: AuthUser) -> Json<Profile> {
    Json(profile(&auth.user))
}

/// Updates name, language, theme and the AI preference. All fields are optional; at least one is
/// needed. A new `email` is not switched to at once: a link goes to the new address (needs
/// outgoing mail), and the answer is the original's `{message, emailVerificationRequired: true,
/// currentEmail, pendingEmail}` with the profile's fields besides (the other changes of the same
/// request are applied).
#[utoipa::path(put, path = "/api/users/me", tag = "Users", request_body = ProfileUpdate,
    responses(
        (status = 200, body = Profile),
        (status = 400, description = "Invalid field or nothing to update", body = ErrorBody),
        (status = 401, body = ErrorBody),
    ))]
pub async fn update_me(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    auth: AuthUser,
    Json(body): Json<ProfileUpdate>,
) -> Result<Response> {
    let done = account::update_profile(&state.db, &state.mailer, &origin, &auth.user, body).await?;
    let p = profile(&done.user);
    let Some(pending) = done.pending_email else {
        return Ok(Json(p).into_response());
    };
    let mut body = serde_json::to_value(&p).unwrap_or_default();
    if let Some(o) = body.as_object_mut() {
        o.insert(
            "message".into(),
            "Email change requested. Please check your new email address for a verification link.".into(),
        );
        o.insert("emailVerificationRequired".into(), true.into());
        o.insert("currentEmail".into(), p.email.clone().into());
        o.insert("pendingEmail".into(), pending.into());
    }
    Ok(Json(body).into_response())
}

/// Deletes the caller's account and everything it owns. Needs the password (for accounts that
/// have one); the last admin cannot delete themselves.
#[utoipa::path(delete, path = "/api/users/me", tag = "Users", request_body(content = DeleteAccount, content_type = "application/json"),
    responses(
        (status = 200, body = MessageBody),
        (status = 400, description = "Password missing or wrong, or last admin", body = ErrorBody),
        (status = 401, body = ErrorBody),
    ))]
pub async fn delete_me(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    auth: AuthUser,
    body: axum::body::Bytes,
) -> Result<Response> {
    // The original's clients send no body; ours send the password.
    let body: DeleteAccount = if body.iter().all(u8::is_ascii_whitespace) {
        DeleteAccount::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|_| Error::bad_request("Malformed JSON").with_code("INVALID_JSON"))?
    };
    account::delete_account(&state.db, &origin, &auth, body).await?;
    let mut res = message("Account deleted").into_response();
    cookies::append(&mut res, &cookies::removal(&state.config, cookies::SESSION));
    Ok(res)
}

/// Changes the caller's password. Every existing session of the account ends; the caller gets a
/// fresh session cookie.
#[utoipa::path(post, path = "/api/users/me/password", tag = "Users", request_body = PasswordChange,
    responses(
        (status = 200, body = MessageBody),
        (status = 400, description = "Current password missing or wrong, or new password too weak", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
pub async fn change_password(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    auth: AuthUser,
    Json(body): Json<PasswordChange>,
) -> Result<Response> {
    let session = account::change_password(&state.db, &state.config, &origin, &auth, body).await?;
    let mut res = message("Password changed").into_response();
    if let Some(session) = session {
        cookies::append(&mut res, &session_cookie(&state, &session));
    }
    Ok(res)
}

/// Other users the caller can share with: `{id, name, email}`, by name.
#[utoipa::path(get, path = "/api/users/for-sharing", tag = "Users",
    responses((status = 200, body = Vec<ShareableUser>), (status = 401, body = ErrorBody)))]
pub async fn for_sharing(State(state): State<AppState>, auth: AuthUser) -> Result<Json<Vec<ShareableUser>>> {
    Ok(Json(users::for_sharing(&state.db, auth.id()).await?))
}

/// Teams the caller belongs to, by name.
#[utoipa::path(get, path = "/api/teams", tag = "Teams",
    responses((status = 200, body = Vec<MyTeam>), (status = 401, body = ErrorBody)))]
pub async fn my_teams(State(state): State<AppState>, auth: AuthUser) -> Result<Json<Vec<MyTeam>>> {
    Ok(Json(teams::of_member(&state.db, auth.id()).await?))
}
