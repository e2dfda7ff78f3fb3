//! `/api/admin/teams/*`: team management (admins only).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::admin::teams::{self as admin_teams, MemberInput, TeamInput};
use crate::api::auth::{message, MessageBody};
use crate::error::{ErrorBody, Result};
use crate::http::auth::{AdminUser, ClientOrigin};
use crate::http::error::{Json, Path};
use crate::state::AppState;
use crate::teams::{self, Team, TeamDetail};

/// A new team: [`TeamInput`] with the name required.
#[derive(utoipa::ToSchema)]
pub struct NewTeam {
    /// 1–255 characters (control characters are dropped, spaces trimmed).
    #[schema(
        max_length = 255,
        pattern = "^[\\s\\S]*[^\\s\\x00-\\x1f\\x7f-\\x9f][\\s\\S]*$"
    )]
    pub name: String,
    /// Up to 500 characters.
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

/// Teams with their member counts, newest first.
#[utoipa::path(get, path = "/api/admin/teams", tag = "AdminTeams",
    responses((status = 200, body = Vec<Team>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, _a: AdminUser) -> Result<Json<Vec<Team>>> {
    Ok(Json(teams::list(&state.db).await?))
}

/// One team with its members.
#[utoipa::path(get, path = "/api/admin/teams/{id}", tag = "AdminTeams", params(("id" = String, Path)),
    responses((status = 200, body = TeamDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    _a: AdminUser,
    Path(id): Path<String>,
) -> Result<Json<TeamDetail>> {
    teams::get(&state.db, &id)
        .await?
        .map(Json)
        .ok_or_else(teams::not_found)
}

/// Creates a team (name unique, 1–255 characters; description up to 500).
#[utoipa::path(post, path = "/api/admin/teams", tag = "AdminTeams", request_body = NewTeam,
    responses((status = 201, body = TeamDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    AdminUser(admin): AdminUser,
    Json(input): Json<TeamInput>,
) -> Result<Response> {
    let t = admin_teams::create(&state.db, &origin, admin.id(), input).await?;
    Ok((StatusCode::CREATED, Json(t)).into_response())
}

/// Renames a team or changes its description.
#[utoipa::path(put, path = "/api/admin/teams/{id}", tag = "AdminTeams", params(("id" = String, Path)), request_body = TeamInput,
    responses((status = 200, body = TeamDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
    Json(input): Json<TeamInput>,
) -> Result<Json<TeamDetail>> {
    Ok(Json(
        admin_teams::update(&state.db, &origin, admin.id(), &id, input).await?,
    ))
}

/// Deletes a team; its members lose what was shared with it.
#[utoipa::path(delete, path = "/api/admin/teams/{id}", tag = "AdminTeams", params(("id" = String, Path)),
    responses((status = 200, body = MessageBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
) -> Result<Json<MessageBody>> {
    admin_teams::delete(&state.db, &origin, admin.id(), &id).await?;
    Ok(message("Team deleted"))
}

/// Adds a member.
#[utoipa::path(post, path = "/api/admin/teams/{id}/members", tag = "AdminTeams", params(("id" = String, Path)),
    request_body = MemberInput,
    responses((status = 200, body = MessageBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn add_member(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
    Json(input): Json<MemberInput>,
) -> Result<Json<MessageBody>> {
    admin_teams::add_member(&state.db, &origin, admin.id(), &id, input).await?;
    Ok(message("User added to team"))
}

/// Removes a member (idempotent). What the team was given is no longer theirs, at once.
#[utoipa::path(delete, path = "/api/admin/teams/{id}/members/{userId}", tag = "AdminTeams",
    params(("id" = String, Path), ("userId" = String, Path)),
    responses((status = 200, body = MessageBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn remove_member(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    AdminUser(admin): AdminUser,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Json<MessageBody>> {
    admin_teams::remove_member(&state.db, &origin, admin.id(), &id, &user_id).await?;
    Ok(message("User removed from team"))
}
