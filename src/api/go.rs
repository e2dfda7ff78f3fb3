//! `/api/go/preferences`: remembered go-link choices.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::error::{ErrorBody, Result};
use crate::golinks::{self, Preference, PreferenceInput, PreferenceSet};
use crate::http::auth::AuthUser;
use crate::http::error::{Json, Path};
use crate::state::AppState;

/// The caller's remembered choices, by slug.
#[utoipa::path(get, path = "/api/go/preferences", tag = "GoPreferences",
    responses((status = 200, body = Vec<Preference>), (status = 401, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, auth: AuthUser) -> Result<Json<Vec<Preference>>> {
    Ok(Json(golinks::preferences(&state.db, auth.id()).await?))
}

/// Remembers which bookmark a slug should open (when several match).
#[utoipa::path(post, path = "/api/go/preferences", tag = "GoPreferences", request_body = PreferenceInput,
    responses(
        (status = 201, body = PreferenceSet),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "The bookmark is not readable", body = ErrorBody),
        (status = 404, description = "Bookmark not found or slug mismatch", body = ErrorBody),
    ))]
pub async fn set(
    State(state): State<AppState>,
    auth: AuthUser,
    Json(input): Json<PreferenceInput>,
) -> Result<Response> {
    let set = golinks::set_preference(&state.db, auth.id(), input).await?;
    Ok((StatusCode::CREATED, Json(set)).into_response())
}

/// Forgets a remembered choice. 204 (as the original answers).
#[utoipa::path(delete, path = "/api/go/preferences/{slug}", tag = "GoPreferences",
    params(("slug" = String, Path, pattern = "^[A-Za-z0-9_-]{1,255}$", description = "Letters, digits, `-` and `_`")),
    responses(
        (status = 204, description = "Forgotten"),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "Preference not found", body = ErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(slug): Path<String>,
) -> Result<Response> {
    golinks::forget_preference(&state.db, auth.id(), &slug).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
