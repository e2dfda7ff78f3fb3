//! `/api/admin/settings/*`: instance settings (admins only).

use axum::extract::State;

use crate::admin::settings::{self, Setting, SettingInput, SettingKey};
use crate::api::auth::{message, MessageBody};
use crate::error::{ErrorBody, Result};
use crate::http::auth::{AdminUser, ClientOrigin};
use crate::http::error::{Json, Path};
use crate::state::AppState;

/// All known settings as `{key: value}`, plus where registrations are decided.
#[utoipa::path(get, path = "/api/admin/settings", tag = "AdminSettings",
    responses((status = 200, body = Object), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, _a: AdminUser) -> Result<Json<serde_json::Value>> {
    Ok(Json(
        settings::all(&state.db, state.config.registrations_enabled).await?,
    ))
}

/// Sets one known setting (`registrations_enabled`: `true` or `false`).
#[utoipa::path(post, path = "/api/admin/settings", tag = "AdminSettings", request_body = SettingInput,
    responses((status = 200, body = Setting), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn set(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    AdminUser(admin): AdminUser,
    Json(input): Json<SettingInput>,
) -> Result<Json<Setting>> {
    Ok(Json(settings::set(&state.db, &origin, admin.id(), input).await?))
}

/// One known setting.
#[utoipa::path(get, path = "/api/admin/settings/{key}", tag = "AdminSettings", params(("key" = SettingKey, Path, description = "A setting this server knows")),
    responses((status = 200, body = Setting), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    _a: AdminUser,
    Path(key): Path<String>,
) -> Result<Json<Setting>> {
    Ok(Json(settings::get(&state.db, &key).await?))
}

/// Resets one known setting to its default.
#[utoipa::path(delete, path = "/api/admin/settings/{key}", tag = "AdminSettings", params(("key" = SettingKey, Path, description = "A setting this server knows")),
    responses((status = 200, body = MessageBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    AdminUser(admin): AdminUser,
    Path(key): Path<String>,
) -> Result<Json<MessageBody>> {
    settings::reset(&state.db, &origin, admin.id(), &key).await?;
    Ok(message("Setting deleted"))
}
