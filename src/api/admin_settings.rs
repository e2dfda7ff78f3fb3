//! `/api/admin/settings/*`: instance settings (admins only).

use axum::extract::State;

use crate::admin::settings::{self, Setting, SettingInput, SettingKey};
use crate::admin::smtp::{self, SmtpInput, SmtpTestInput, SmtpView};
use crate::api::auth::{message, MessageBody};
use crate::error::{ErrorBody, Result};
use crate::http::auth::{AdminUser, ClientOrigin};
use crate::http::error::{Json, Path};
use crate::state::AppState;

/// All known settings as `{key: value}`, plus where registrations are decided.
#[utoipa::path(get, path = "/api/admin/settings", tag = "AdminSettings",
    responses((status = 200, body = Object), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, _a: AdminUser) -> Result<Json<serde_json::Value>> {
    let mail = state.mailer.available(&state.db).await?;
    Ok(Json(
        settings::all(&state.db, state.config.registrations_enabled, mail).await?,
    ))
}

/// Sets one known setting (`registrations_enabled`, `signup_unverified_login`: `true` or `false`).
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

/// The SMTP settings in effect (the password never shown), and whether they come from the
/// server's environment.
#[utoipa::path(get, path = "/api/admin/settings/smtp", tag = "AdminSettings",
    responses((status = 200, body = SmtpView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn smtp_get(State(state): State<AppState>, _a: AdminUser) -> Result<Json<SmtpView>> {
    Ok(Json(smtp::view(&state.db, &state.mailer).await?))
}

/// Saves SMTP settings (every field optional; a blank password keeps the stored one). Refused
/// with 409 while `SMTP_*` in the environment decide.
#[utoipa::path(post, path = "/api/admin/settings/smtp", tag = "AdminSettings", request_body = SmtpInput,
    responses((status = 200, body = MessageBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, description = "Configured in the environment", body = ErrorBody)))]
pub async fn smtp_set(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    AdminUser(admin): AdminUser,
    Json(input): Json<SmtpInput>,
) -> Result<Json<MessageBody>> {
    smtp::save(&state.db, &state.mailer, &origin, admin.id(), input).await?;
    Ok(message("SMTP settings updated successfully"))
}

/// Sends a test message now, with the saved settings (or, given `host`, with the submitted ones
/// over them); a failure answers 400 with the server's reason (`SMTP_TEST_FAILED`). Waits at most
/// 15 seconds.
#[utoipa::path(post, path = "/api/admin/settings/smtp/test", tag = "AdminSettings", request_body = SmtpTestInput,
    responses((status = 200, body = MessageBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn smtp_test(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    AdminUser(admin): AdminUser,
    Json(input): Json<SmtpTestInput>,
) -> Result<Json<MessageBody>> {
    let lang = admin.user.language();
    smtp::test(&state.db, &state.mailer, &origin, admin.id(), Some(&lang), input).await?;
    Ok(message("Test email sent successfully"))
}
