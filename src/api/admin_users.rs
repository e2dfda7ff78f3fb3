//! `/api/admin/users/*`: member administration (admins only).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::admin::members::{self, AdminUser, CreateUserInput, UpdateUserInput};
use crate::api::auth::{message, MessageBody};
use crate::error::{ErrorBody, Result};
use crate::http::auth::{AdminUser as Admin, ClientOrigin};
use crate::http::error::{Json, Path, Query};
use crate::state::AppState;
use crate::teams::Team;

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
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<Json<MessageBody>> {
    members::reset_mfa(&state.db, &origin, Some(admin.id()), &id, "api").await?;
    Ok(message("MFA reset"))
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

/// The whole list (without `limit`, the original's shape), or one page of it (with `limit`).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum UserList {
    All(Vec<AdminUser>),
    Page(UserPage),
}

/// Users, newest first (search and pagination optional).
#[utoipa::path(get, path = "/api/admin/users", tag = "AdminUsers", params(UserListQuery),
    responses((status = 200, body = UserList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    Query(q): Query<UserListQuery>,
) -> Result<Response> {
    let limit = q
        .limit
        .as_deref()
        .map(|l| crate::input::parse_limit(Some(l), 50, 500));
    let offset = crate::input::parse_offset(q.offset.as_deref());
    let (items, total) = members::list(&state.db, q.q.as_deref(), limit, offset).await?;
    Ok(match limit {
        Some(_) => Json(UserList::Page(UserPage { items, total })).into_response(),
        None => Json(UserList::All(items)).into_response(),
    })
}

/// Creates a user: with a password, or (`send_invite`) with a 7-day invite link by mail.
#[utoipa::path(post, path = "/api/admin/users", tag = "AdminUsers", request_body = CreateUserInput,
    responses((status = 201, body = AdminUser), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    Admin(admin): Admin,
    Json(input): Json<CreateUserInput>,
) -> Result<Response> {
    let user = members::create(&state.db, &state.mailer, &origin, admin.id(), input).await?;
    Ok((StatusCode::CREATED, Json(user)).into_response())
}

/// One user.
#[utoipa::path(get, path = "/api/admin/users/{id}", tag = "AdminUsers", params(("id" = String, Path)),
    responses((status = 200, body = AdminUser), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<AdminUser>> {
    members::get(&state.db, &id)
        .await?
        .map(Json)
        .ok_or_else(members::not_found)
}

/// Updates a user. The last active admin cannot be demoted or disabled.
#[utoipa::path(put, path = "/api/admin/users/{id}", tag = "AdminUsers", params(("id" = String, Path)),
    request_body = UpdateUserInput,
    responses((status = 200, body = AdminUser), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    Admin(admin): Admin,
    Path(id): Path<String>,
    Json(input): Json<UpdateUserInput>,
) -> Result<Json<AdminUser>> {
    Ok(Json(
        members::update(&state.db, &origin, admin.id(), &id, &input).await?,
    ))
}

/// Deletes a user and everything they own. Not yourself, not the last admin.
#[utoipa::path(delete, path = "/api/admin/users/{id}", tag = "AdminUsers", params(("id" = String, Path)),
    responses((status = 200, body = MessageBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<Json<MessageBody>> {
    members::delete(&state.db, &origin, admin.id(), &id).await?;
    Ok(message("User deleted"))
}

#[derive(serde::Serialize, ToSchema)]
pub struct InviteSent {
    pub invite_expires_at: crate::db::Ts,
}

/// Sends a member who has not set a password yet a new 7-day invite link (earlier ones stop
/// working). Needs outgoing mail.
#[utoipa::path(post, path = "/api/admin/users/{id}/resend-invite", tag = "AdminUsers", params(("id" = String, Path)),
    responses((status = 200, body = InviteSent),
              (status = 400, description = "Not pending, or invites unavailable", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn resend_invite(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<Json<InviteSent>> {
    let invite_expires_at =
        members::resend_invite(&state.db, &state.mailer, &origin, admin.id(), &id).await?;
    Ok(Json(InviteSent { invite_expires_at }))
}

/// Teams a user belongs to.
#[utoipa::path(get, path = "/api/admin/users/{id}/teams", tag = "AdminUsers", params(("id" = String, Path)),
    responses((status = 200, body = Vec<Team>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn teams(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<Vec<Team>>> {
    if members::get(&state.db, &id).await?.is_none() {
        return Err(members::not_found());
    }
    Ok(Json(crate::teams::of_user(&state.db, &id).await?))
}
