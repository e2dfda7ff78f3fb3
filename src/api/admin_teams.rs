//! `/api/admin/teams/*` (team management) and `/api/admin/settings/*`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::api::auth::{message, MessageBody};
use crate::audit::{self, Origin};
use crate::input::double_option;
use crate::error::{Error, ErrorBody, Result};
use crate::http::auth::{AdminUser, ClientOrigin};
use crate::http::error::{Json, Path};
use crate::state::AppState;
use crate::teams::{self, Team, TeamDetail};

async fn record(
    state: &AppState,
    origin: &Origin,
    actor: &str,
    action: &str,
    kind: &str,
    id: &str,
    meta: serde_json::Value,
) {
    audit::log(&state.db, origin, Some(actor), action, kind, Some(id), meta).await;
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

#[derive(Deserialize, ToSchema)]
pub struct TeamInput {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
}

/// Creates a team (name unique, 1–255 characters; description up to 500).
#[utoipa::path(post, path = "/api/admin/teams", tag = "AdminTeams", request_body = TeamInput,
    responses((status = 201, body = TeamDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    AdminUser(admin): AdminUser,
    Json(input): Json<TeamInput>,
) -> Result<Response> {
    let name = teams::validate_name(input.name.as_deref())?;
    let description = teams::validate_description(input.description.flatten().as_deref())?;
    let id = teams::create(&state.db, &name, description.as_deref()).await?;
    record(
        &state,
        &origin,
        admin.id(),
        "team.created",
        "team",
        &id,
        json!({"name": name}),
    )
    .await;
    let t = teams::get(&state.db, &id).await?.ok_or_else(Error::internal)?;
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
    let name = match input.name.as_deref() {
        Some(n) => Some(teams::validate_name(Some(n))?),
        None => None,
    };
    let description = match &input.description {
        None => None,
        Some(d) => Some(teams::validate_description(d.as_deref())?),
    };
    if name.is_none() && description.is_none() {
        return Err(Error::bad_request("No fields to update"));
    }
    teams::update(
        &state.db,
        &id,
        name.as_deref(),
        description.as_ref().map(|d| d.as_deref()),
    )
    .await?;
    let t = teams::get(&state.db, &id).await?.ok_or_else(teams::not_found)?;
    record(
        &state,
        &origin,
        admin.id(),
        "team.updated",
        "team",
        &id,
        json!({"name": t.team.name}),
    )
    .await;
    Ok(Json(t))
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
    let name = teams::delete(&state.db, &id).await?;
    record(
        &state,
        &origin,
        admin.id(),
        "team.deleted",
        "team",
        &id,
        json!({"name": name}),
    )
    .await;
    Ok(message("Team deleted"))
}

#[derive(Deserialize, ToSchema)]
pub struct MemberInput {
    pub user_id: Option<String>,
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
    let user_id = input
        .user_id
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| Error::invalid("user_id", "user_id is required"))?;
    let team_name = teams::add_member(&state.db, &id, &user_id).await?;
    record(
        &state,
        &origin,
        admin.id(),
        "team_member.added",
        "team_member",
        &id,
        json!({"team_id": id, "user_id": user_id, "team_name": team_name}),
    )
    .await;
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
    let team_name = teams::remove_member(&state.db, &id, &user_id).await?;
    record(
        &state,
        &origin,
        admin.id(),
        "team_member.removed",
        "team_member",
        &id,
        json!({"team_id": id, "user_id": user_id, "team_name": team_name}),
    )
    .await;
    Ok(message("User removed from team"))
}

/// Settings this server knows (mail, OIDC and AI settings belong to their own features).
const KNOWN_SETTINGS: &[&str] = &[crate::settings::REGISTRATIONS_ENABLED];

#[derive(Serialize, ToSchema)]
pub struct Setting {
    pub key: String,
    pub value: String,
}

/// All known settings as `{key: value}`, plus where registrations are decided.
#[utoipa::path(get, path = "/api/admin/settings", tag = "AdminSettings",
    responses((status = 200, body = Object), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn settings(State(state): State<AppState>, _a: AdminUser) -> Result<Json<serde_json::Value>> {
    let mut out = serde_json::Map::new();
    for k in KNOWN_SETTINGS {
        let v = crate::settings::get(&state.db, k)
            .await?
            .unwrap_or_else(|| "false".into());
        out.insert((*k).to_string(), json!(v));
    }
    out.insert(
        "registrations_enabled_by_env".into(),
        json!(state.config.registrations_enabled),
    );
    Ok(Json(serde_json::Value::Object(out)))
}

#[derive(Deserialize, ToSchema)]
pub struct SettingInput {
    pub key: Option<String>,
    #[schema(value_type = Object)]
    pub value: Option<serde_json::Value>,
}

fn check_key(key: &str) -> Result<()> {
    if KNOWN_SETTINGS.contains(&key) {
        Ok(())
    } else {
        Err(Error::invalid("key", format!("Unknown setting {key:?}")).with_code("UNKNOWN_SETTING"))
    }
}

/// Sets one known setting (`registrations_enabled`: `true` or `false`).
#[utoipa::path(post, path = "/api/admin/settings", tag = "AdminSettings", request_body = SettingInput,
    responses((status = 200, body = Setting), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn set_setting(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    AdminUser(admin): AdminUser,
    Json(input): Json<SettingInput>,
) -> Result<Json<Setting>> {
    let (Some(key), Some(value)) = (input.key, input.value) else {
        return Err(Error::bad_request("Key and value are required").with_code("VALIDATION_ERROR"));
    };
    check_key(&key)?;
    let value = match value {
        serde_json::Value::Bool(b) => b.to_string(),
        serde_json::Value::String(s) if s == "true" || s == "false" => s,
        _ => return Err(Error::invalid("value", "value must be true or false")),
    };
    crate::settings::set(&state.db, &key, &value).await?;
    record(
        &state,
        &origin,
        admin.id(),
        "settings.updated",
        "settings",
        &key,
        json!({"key": key}),
    )
    .await;
    Ok(Json(Setting { key, value }))
}

/// One known setting.
#[utoipa::path(get, path = "/api/admin/settings/{key}", tag = "AdminSettings", params(("key" = String, Path)),
    responses((status = 200, body = Setting), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_setting(
    State(state): State<AppState>,
    _a: AdminUser,
    Path(key): Path<String>,
) -> Result<Json<Setting>> {
    check_key(&key)?;
    let value = crate::settings::get(&state.db, &key)
        .await?
        .ok_or_else(|| Error::not_found("Setting not found"))?;
    Ok(Json(Setting { key, value }))
}

/// Resets one known setting to its default.
#[utoipa::path(delete, path = "/api/admin/settings/{key}", tag = "AdminSettings", params(("key" = String, Path)),
    responses((status = 200, body = MessageBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn delete_setting(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    AdminUser(admin): AdminUser,
    Path(key): Path<String>,
) -> Result<Json<MessageBody>> {
    check_key(&key)?;
    crate::settings::delete(&state.db, &key).await?;
    record(
        &state,
        &origin,
        admin.id(),
        "settings.deleted",
        "settings",
        &key,
        json!({"key": key}),
    )
    .await;
    Ok(message("Setting deleted"))
}
