//! `/api/admin/users/*`: user administration (admins only).

use axum::extract::State;
use serde_json::json;

use crate::api::auth::{message, MessageBody};
use crate::audit;
use crate::error::{Error, ErrorBody, Result};
use crate::http::auth::{AdminUser as AdminUser_, ClientOrigin};
use crate::http::error::{Json, Path};
use crate::state::AppState;
use crate::{mfa, users};

/// Turns MFA off for a user who lost their authenticator and backup codes, and ends their
/// sessions. Audited.
#[utoipa::path(post, path = "/api/admin/users/{id}/reset-mfa", tag = "AdminUsers",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, body = MessageBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "User not found", body = ErrorBody),
    ))]
pub async fn reset_mfa(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    AdminUser_(admin): AdminUser_,
    Path(id): Path<String>,
) -> Result<Json<MessageBody>> {
    let user = users::by_id(&state.db, &id)
        .await?
        .ok_or_else(|| Error::not_found("User not found"))?;
    mfa::reset(&state.db, &id).await?;
    audit::log(
        &state.db,
        &origin,
        Some(admin.id()),
        "user.mfa_reset",
        "org_member",
        Some(&id),
        json!({"email": user.email, "via": "api"}),
    )
    .await;
    Ok(message("MFA reset"))
}

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::admin_users::{self as admin, AdminUser, CreateUser, UpdateUser};
use crate::audit::Origin;
use crate::http::error::Query;
use crate::teams::Team;

async fn record(
    state: &AppState,
    origin: &Origin,
    actor: &str,
    action: &str,
    id: &str,
    meta: serde_json::Value,
) {
    audit::log(
        &state.db,
        origin,
        Some(actor),
        action,
        "org_member",
        Some(id),
        meta,
    )
    .await;
}

#[derive(Deserialize, IntoParams)]
pub struct UserListQuery {
    /// Only users whose name or e-mail contains this.
    pub q: Option<String>,
    /// With a limit the answer is `{items, total}`; without, the original's plain array.
    pub limit: Option<String>,
    pub offset: Option<String>,
}

#[derive(serde::Serialize, ToSchema)]
pub struct UserPage {
    pub items: Vec<AdminUser>,
    pub total: i64,
}

/// Users, newest first (search and pagination optional).
#[utoipa::path(get, path = "/api/admin/users", tag = "AdminUsers", params(UserListQuery),
    responses((status = 200, body = Vec<AdminUser>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    _admin: AdminUser_,
    Query(q): Query<UserListQuery>,
) -> Result<Response> {
    let limit = q
        .limit
        .as_deref()
        .map(|l| crate::input::parse_limit(Some(l), 50, 500));
    let (items, total) = admin::list(
        &state.db,
        q.q.as_deref(),
        limit,
        crate::input::parse_offset(q.offset.as_deref()),
    )
    .await?;
    Ok(match limit {
        Some(_) => Json(UserPage { items, total }).into_response(),
        None => Json(items).into_response(),
    })
}

#[derive(Deserialize, ToSchema)]
pub struct CreateUserInput {
    pub email: Option<String>,
    pub name: Option<String>,
    /// Optional: without one the user signs in through OIDC or a later invite.
    pub password: Option<String>,
    pub is_admin: Option<bool>,
    /// Invite by e-mail (needs outgoing mail, which this server does not send yet).
    pub send_invite: Option<bool>,
}

/// Creates a user.
#[utoipa::path(post, path = "/api/admin/users", tag = "AdminUsers", request_body = CreateUserInput,
    responses((status = 201, body = AdminUser), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    AdminUser_(admin_user): AdminUser_,
    Json(input): Json<CreateUserInput>,
) -> Result<Response> {
    let (Some(email), Some(name)) = (
        input.email.filter(|s| !s.trim().is_empty()),
        input.name.filter(|s| !s.trim().is_empty()),
    ) else {
        return Err(Error::bad_request("Email and name are required").with_code("VALIDATION_ERROR"));
    };
    if input.send_invite == Some(true) {
        if input.password.as_deref().is_some_and(|p| !p.is_empty()) {
            return Err(Error::bad_request(
                "Cannot set password and send invite. Either set a password or choose \"Send invite email\".",
            ));
        }
        return Err(Error::bad_request(
            "Invite by email is not available. Configure SMTP in Settings or set a password for the user.",
        )
        .with_code("INVITE_UNAVAILABLE"));
    }
    let id = admin::create(
        &state.db,
        &CreateUser {
            email: &email,
            name: &name,
            password: input.password.as_deref(),
            is_admin: input.is_admin.unwrap_or(false),
        },
    )
    .await?;
    let user = admin::get(&state.db, &id).await?.ok_or_else(Error::internal)?;
    record(
        &state,
        &origin,
        admin_user.id(),
        "org_member.created",
        &id,
        json!({"email": user.email, "name": user.name, "invite": false}),
    )
    .await;
    Ok((StatusCode::CREATED, Json(user)).into_response())
}

/// One user.
#[utoipa::path(get, path = "/api/admin/users/{id}", tag = "AdminUsers", params(("id" = String, Path)),
    responses((status = 200, body = AdminUser), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    _a: AdminUser_,
    Path(id): Path<String>,
) -> Result<Json<AdminUser>> {
    admin::get(&state.db, &id)
        .await?
        .map(Json)
        .ok_or_else(admin::not_found)
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateUserInput {
    pub email: Option<String>,
    pub name: Option<String>,
    /// A new password (ends the user's sessions).
    pub password: Option<String>,
    pub is_admin: Option<bool>,
    /// Disable (or re-enable) the account; disabling ends sessions and stops API tokens.
    pub disabled: Option<bool>,
    pub language: Option<String>,
    pub theme: Option<String>,
}

/// Updates a user. The last active admin cannot be demoted or disabled.
#[utoipa::path(put, path = "/api/admin/users/{id}", tag = "AdminUsers", params(("id" = String, Path)),
    request_body = UpdateUserInput,
    responses((status = 200, body = AdminUser), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    AdminUser_(admin_user): AdminUser_,
    Path(id): Path<String>,
    Json(input): Json<UpdateUserInput>,
) -> Result<Json<AdminUser>> {
    let fields = admin::update(
        &state.db,
        admin_user.id(),
        &id,
        &UpdateUser {
            email: input.email,
            name: input.name,
            password: input.password,
            is_admin: input.is_admin,
            disabled: input.disabled,
            language: input.language,
            theme: input.theme,
        },
    )
    .await?;
    let user = admin::get(&state.db, &id).await?.ok_or_else(admin::not_found)?;
    record(
        &state,
        &origin,
        admin_user.id(),
        "user.updated",
        &id,
        json!({"email": user.email, "fields": fields}),
    )
    .await;
    Ok(Json(user))
}

/// Deletes a user and everything they own. Not yourself, not the last admin.
#[utoipa::path(delete, path = "/api/admin/users/{id}", tag = "AdminUsers", params(("id" = String, Path)),
    responses((status = 200, body = MessageBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    AdminUser_(admin_user): AdminUser_,
    Path(id): Path<String>,
) -> Result<Json<MessageBody>> {
    let email = admin::delete(&state.db, admin_user.id(), &id).await?;
    record(
        &state,
        &origin,
        admin_user.id(),
        "org_member.deleted",
        &id,
        json!({"email": email}),
    )
    .await;
    Ok(message("User deleted"))
}

/// Resends an invite e-mail. Invites need outgoing mail, which this server does not send yet, so
/// a pending user gets the original's "not available" answer.
#[utoipa::path(post, path = "/api/admin/users/{id}/resend-invite", tag = "AdminUsers", params(("id" = String, Path)),
    responses((status = 400, description = "Not pending, or invites unavailable", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn resend_invite(
    State(state): State<AppState>,
    _a: AdminUser_,
    Path(id): Path<String>,
) -> Result<Response> {
    let user = admin::get(&state.db, &id).await?.ok_or_else(admin::not_found)?;
    if !user.invite_pending {
        return Err(Error::bad_request("User is not pending invite signup.").with_code("NOT_PENDING"));
    }
    Err(Error::bad_request(
        "Invite by email is not available. Configure SMTP in Settings or use a deployment with outbound email.",
    )
    .with_code("INVITE_UNAVAILABLE"))
}

/// Teams a user belongs to.
#[utoipa::path(get, path = "/api/admin/users/{id}/teams", tag = "AdminUsers", params(("id" = String, Path)),
    responses((status = 200, body = Vec<Team>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn teams(
    State(state): State<AppState>,
    _a: AdminUser_,
    Path(id): Path<String>,
) -> Result<Json<Vec<Team>>> {
    if admin::get(&state.db, &id).await?.is_none() {
        return Err(admin::not_found());
    }
    Ok(Json(crate::teams::of_user(&state.db, &id).await?))
}
