//! `/api/go/preferences` (remembered go-link choices) and `/api/dashboard/stats`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::bookmarks::validate_slug;
use crate::error::{Error, ErrorBody, Result};
use crate::golinks::{self, Preference};
use crate::http::auth::AuthUser;
use crate::http::error::{Json, Path};
use crate::state::AppState;

/// The caller's remembered choices, by slug.
#[utoipa::path(get, path = "/api/go/preferences", tag = "GoPreferences",
    responses((status = 200, body = Vec<Preference>), (status = 401, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, auth: AuthUser) -> Result<Json<Vec<Preference>>> {
    Ok(Json(golinks::preferences(&state.db, auth.id()).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct PreferenceInput {
    pub slug: Option<String>,
    pub bookmark_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PreferenceSet {
    pub slug: String,
    pub bookmark_id: String,
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
    let (Some(slug), Some(bookmark_id)) = (
        input.slug.filter(|s| !s.trim().is_empty()),
        input.bookmark_id.filter(|s| !s.trim().is_empty()),
    ) else {
        return Err(Error::bad_request("slug and bookmark_id are required").with_code("VALIDATION_ERROR"));
    };
    let slug = validate_slug("slug", &slug)?.unwrap_or_default();
    golinks::remember(&state.db, auth.id(), &slug, &bookmark_id).await?;
    Ok((StatusCode::CREATED, Json(PreferenceSet { slug, bookmark_id })).into_response())
}

/// Forgets a remembered choice. 204 (as the original answers).
#[utoipa::path(delete, path = "/api/go/preferences/{slug}", tag = "GoPreferences",
    params(("slug" = String, Path)),
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
    let slug = validate_slug("slug", &slug)?.ok_or_else(|| Error::invalid("slug", "Slug is required"))?;
    if !golinks::forget(&state.db, auth.id(), &slug).await? {
        return Err(Error::not_found("Preference not found"));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Dashboard figures for the caller.
#[utoipa::path(get, path = "/api/dashboard/stats", tag = "Dashboard",
    responses((status = 200, body = crate::dashboard::Stats), (status = 401, body = ErrorBody)))]
pub async fn dashboard(
    State(state): State<AppState>,
    auth: AuthUser,
) -> Result<Json<crate::dashboard::Stats>> {
    Ok(Json(crate::dashboard::stats(&state.db, auth.id()).await?))
}
