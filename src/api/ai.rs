//! AI suggestions: whether they are on (`/api/config/ai-suggestions`), the admin's settings and
//! model list (`/api/admin/settings/ai*`) and the suggestion itself
//! (`POST /api/bookmarks/ai-suggest`).

use axum::extract::State;

use crate::ai::{self, AiAvailability, AiInput, AiView, ModelList, SuggestInput, Suggestion};
use crate::api::auth::{message, MessageBody};
use crate::error::{ErrorBody, Result};
use crate::http::auth::{AdminUser, AuthUser, ClientOrigin};
use crate::http::error::Json;
use crate::state::AppState;

/// Whether AI suggestions are configured by the admin (`available`) and, on top, switched on by
/// the caller (`enabled`).
#[utoipa::path(get, path = "/api/config/ai-suggestions", tag = "Config",
    responses((status = 200, body = AiAvailability), (status = 401, body = ErrorBody)))]
pub async fn availability(State(state): State<AppState>, auth: AuthUser) -> Result<Json<AiAvailability>> {
    Ok(Json(
        ai::settings::availability(&state.db, &state.ai, &auth.user).await?,
    ))
}

/// The AI settings in effect (the API key never shown), and whether they come from the
/// server's environment.
#[utoipa::path(get, path = "/api/admin/settings/ai", tag = "AdminSettings",
    responses((status = 200, body = AiView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn settings_get(State(state): State<AppState>, _a: AdminUser) -> Result<Json<AiView>> {
    Ok(Json(ai::settings::view(&state.db, &state.ai).await?))
}

/// Saves AI settings (every field optional; a blank key keeps the stored one). Any endpoint
/// that speaks the OpenAI chat-completions protocol works. Refused with 409 while `AI_*` in the
/// environment decide.
#[utoipa::path(post, path = "/api/admin/settings/ai", tag = "AdminSettings", request_body = AiInput,
    responses((status = 200, body = MessageBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, description = "AI_FROM_ENV: configured in the environment", body = ErrorBody)))]
pub async fn settings_set(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    AdminUser(admin): AdminUser,
    Json(input): Json<AiInput>,
) -> Result<Json<MessageBody>> {
    ai::settings::save(&state.db, &state.ai, &origin, admin.id(), input).await?;
    Ok(message("AI settings updated successfully"))
}

/// The configured endpoint's models (`GET {base}/models`), switched on or not.
#[utoipa::path(get, path = "/api/admin/settings/ai/models", tag = "AdminSettings",
    responses((status = 200, body = ModelList),
              (status = 400, description = "AI_KEY_REQUIRED: OpenAI needs a key; AI_KEY_UNREADABLE", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 502, description = "AI_UNAVAILABLE: the endpoint failed or answered with something else", body = ErrorBody),
              (status = 504, description = "AI_UNAVAILABLE: the endpoint did not answer in time", body = ErrorBody)))]
pub async fn models(State(state): State<AppState>, _a: AdminUser) -> Result<Json<ModelList>> {
    Ok(Json(ai::settings::models(&state.db, &state.ai).await?))
}

/// Suggests a title, a free go-link slug and up to five tags for a URL, from the page's title
/// and description, in the caller's language. Cached per user, URL and language for seven days;
/// secret-looking query parameters and the fragment never leave the server.
#[utoipa::path(post, path = "/api/bookmarks/ai-suggest", tag = "Bookmarks", request_body = SuggestInput,
    responses((status = 200, body = Suggestion),
              (status = 400, description = "VALIDATION_ERROR: no or a bad URL", body = ErrorBody),
              (status = 401, body = ErrorBody),
              (status = 403, description = "AI_DISABLED: switched off for this user", body = ErrorBody),
              (status = 429, description = "RATE_LIMITED: too many suggestions this hour", body = ErrorBody),
              (status = 502, description = "AI_UNAVAILABLE: the endpoint failed or gave no usable answer", body = ErrorBody),
              (status = 503, description = "AI_UNAVAILABLE: AI suggestions are not configured", body = ErrorBody),
              (status = 504, description = "AI_UNAVAILABLE: the endpoint did not answer in time", body = ErrorBody)))]
pub async fn suggest(
    State(state): State<AppState>,
    auth: AuthUser,
    Json(input): Json<SuggestInput>,
) -> Result<Json<Suggestion>> {
    Ok(Json(
        ai::suggest::suggest(&state.db, &state.ai, state.fetcher(), &auth.user, input).await?,
    ))
}
