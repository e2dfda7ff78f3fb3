//! `/api/users/*` and `/api/teams`: the caller's profile, password, account, sharing list, teams.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::api::auth::{issue_session, message, MessageBody};
use crate::audit;
use crate::auth::{password, ratelimit, sessions};
use crate::db::Ts;
use crate::error::{Error, ErrorBody, FieldError, Result};
use crate::http::auth::{AuthUser, ClientOrigin};
use crate::http::cookies;
use crate::http::error::Json;
use crate::state::AppState;
use crate::users::{self, ShareableUser};
use crate::with_db;

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

#[derive(Deserialize, ToSchema)]
pub struct ProfileUpdate {
    pub email: Option<String>,
    pub name: Option<String>,
    /// `en` or `de` (other language codes are stored for clients that know them).
    pub language: Option<String>,
    /// `auto`, `light` or `dark`.
    pub theme: Option<String>,
    pub ai_suggestions_enabled: Option<serde_json::Value>,
}

fn valid_language(l: &str) -> bool {
    let b = l.as_bytes();
    (b.len() == 2 && b.iter().all(u8::is_ascii_lowercase))
        || (b.len() == 5
            && b[..2].iter().all(u8::is_ascii_lowercase)
            && b[2] == b'-'
            && b[3..].iter().all(u8::is_ascii_alphabetic))
}

/// Updates name, language, theme and the AI preference. All fields are optional; at least one is
/// needed.
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
) -> Result<Json<Profile>> {
    let u = &auth.user;
    let mut errors = Vec::new();
    let mut fields: Vec<&str> = Vec::new();
    if let Some(email) = &body.email {
        if u.oidc_provider.is_some() {
            return Err(Error::invalid(
                "email",
                "Email cannot be changed for OIDC-authenticated users. Email is managed by your identity provider.",
            ));
        }
        let e = users::validate_email("email", email)?;
        if e != u.email {
            return Err(Error::invalid(
                "email",
                "Changing your e-mail address needs e-mail verification, which this server cannot send yet. Ask an admin to change it.",
            )
            .with_code("EMAIL_CHANGE_UNAVAILABLE"));
        }
    }
    let name = match &body.name {
        Some(n) => match users::validate_name("name", n) {
            Ok(n) => Some(n),
            Err(e) => {
                errors.extend(e.details.unwrap_or_default());
                None
            }
        },
        None => None,
    };
    if let Some(l) = &body.language {
        if !valid_language(l) {
            errors.push(FieldError {
                field: "language".into(),
                message: "Language must be a language code such as en or de".into(),
            });
        }
    }
    if let Some(t) = &body.theme {
        if !users::THEMES.contains(&t.as_str()) {
            errors.push(FieldError {
                field: "theme".into(),
                message: "Theme must be auto, light or dark".into(),
            });
        }
    }
    let ai = match &body.ai_suggestions_enabled {
        None => None,
        Some(serde_json::Value::Bool(b)) => Some(*b),
        Some(serde_json::Value::String(s)) => Some(s == "true"),
        Some(_) => {
            errors.push(FieldError {
                field: "ai_suggestions_enabled".into(),
                message: "ai_suggestions_enabled must be true or false".into(),
            });
            None
        }
    };
    if !errors.is_empty() {
        return Err(Error::validation(errors));
    }
    if name.is_some() {
        fields.push("name");
    }
    if body.language.is_some() {
        fields.push("language");
    }
    if body.theme.is_some() {
        fields.push("theme");
    }
    if ai.is_some() {
        fields.push("ai_suggestions_enabled");
    }
    if fields.is_empty() {
        return Err(Error::bad_request("No fields to update"));
    }
    with_db!(&state.db, pool => sqlx::query(
        "UPDATE users SET name = COALESCE($1, name), language = COALESCE($2, language), \
         theme = COALESCE($3, theme), ai_suggestions_enabled = COALESCE($4, ai_suggestions_enabled) WHERE id = $5")
        .bind(&name).bind(&body.language).bind(&body.theme).bind(ai).bind(&u.id)
        .execute(pool).await?.rows_affected());
    audit::log(
        &state.db,
        &origin,
        Some(&u.id),
        "user.profile_updated",
        "user",
        Some(&u.id),
        json!({"fields": fields}),
    )
    .await;
    let fresh = users::by_id(&state.db, &u.id)
        .await?
        .ok_or_else(Error::unauthorized)?;
    Ok(Json(profile(&fresh)))
}

#[derive(Deserialize, ToSchema, Default)]
pub struct DeleteAccount {
    /// Required when the account has a password.
    pub password: Option<String>,
}

/// Checks the caller's current password (rate limited per account); `field` names it in errors.
async fn confirm_password(state: &AppState, auth: &AuthUser, given: Option<&str>, field: &str) -> Result<()> {
    if !auth.user.has_password() {
        return Ok(());
    }
    let Some(given) = given.filter(|p| !p.is_empty()) else {
        return Err(Error::invalid(field, "Password is required").with_code("PASSWORD_REQUIRED"));
    };
    ratelimit::check(&state.db, &ratelimit::PASSWORD_PER_ACCOUNT, auth.id()).await?;
    if !password::verify(given, auth.user.password_hash.as_deref()).await {
        ratelimit::record_failure(&state.db, &ratelimit::PASSWORD_PER_ACCOUNT, auth.id()).await?;
        return Err(Error::invalid(field, "Invalid password").with_code("INVALID_PASSWORD"));
    }
    Ok(())
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
    confirm_password(&state, &auth, body.password.as_deref(), "password").await?;
    if auth.user.is_admin() && users::active_admin_count(&state.db).await? <= 1 {
        return Err(Error::bad_request("Cannot remove the last admin").with_code("LAST_ADMIN"));
    }
    audit::log(
        &state.db,
        &origin,
        Some(auth.id()),
        "user.self_deleted",
        "user",
        Some(auth.id()),
        json!({"email": auth.user.email}),
    )
    .await;
    with_db!(&state.db, pool => sqlx::query("DELETE FROM users WHERE id = $1").bind(auth.id()).execute(pool).await?.rows_affected());
    let mut res = message("Account deleted").into_response();
    cookies::append(&mut res, &cookies::removal(&state.config, cookies::SESSION));
    Ok(res)
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordChange {
    pub current_password: Option<String>,
    pub new_password: Option<String>,
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
    confirm_password(
        &state,
        &auth,
        body.current_password.as_deref(),
        "current_password",
    )
    .await?;
    let new = body.new_password.unwrap_or_default();
    password::validate("new_password", &new)?;
    let hash = password::hash(&new).await?;
    users::set_password_hash(&state.db, auth.id(), &hash).await?;
    sessions::delete_all_for_user(&state.db, auth.id()).await?;
    audit::log(
        &state.db,
        &origin,
        Some(auth.id()),
        "user.password_changed",
        "user",
        Some(auth.id()),
        json!({}),
    )
    .await;
    let mut res = message("Password changed").into_response();
    if auth.session_id.is_some() {
        let cookie = issue_session(&state, &auth.user, &origin).await?;
        cookies::append(&mut res, &cookie);
    }
    Ok(res)
}

/// Other users the caller can share with: `{id, name, email}`, by name.
#[utoipa::path(get, path = "/api/users/for-sharing", tag = "Users",
    responses((status = 200, body = Vec<ShareableUser>), (status = 401, body = ErrorBody)))]
pub async fn for_sharing(State(state): State<AppState>, auth: AuthUser) -> Result<Json<Vec<ShareableUser>>> {
    Ok(Json(users::for_sharing(&state.db, auth.id()).await?))
}

#[derive(Serialize, ToSchema, sqlx::FromRow)]
pub struct Team {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: Option<Ts>,
    pub tenant_id: String,
}

/// Teams the caller belongs to, by name.
#[utoipa::path(get, path = "/api/teams", tag = "Teams",
    responses((status = 200, body = Vec<Team>), (status = 401, body = ErrorBody)))]
pub async fn my_teams(State(state): State<AppState>, auth: AuthUser) -> Result<Json<Vec<Team>>> {
    let teams = with_db!(&state.db, pool => sqlx::query_as::<_, Team>(
        "SELECT t.id, t.name, t.description, t.created_at, t.tenant_id FROM teams t \
         JOIN team_members m ON m.team_id = t.id WHERE m.user_id = $1 ORDER BY t.name")
        .bind(auth.id()).fetch_all(pool).await?);
    Ok(Json(teams))
}
