//! `/api/tags/*`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::auth::{message, MessageBody};
use crate::api::folders::ListParams;
use crate::error::{Error, ErrorBody, Result};
use crate::http::auth::{AuthUser, ClientOrigin};
use crate::http::error::{Json, Path, Query};
use crate::state::AppState;
use crate::tags::{self, Tag};

#[derive(Serialize, ToSchema)]
pub struct TagPage {
    pub items: Vec<Tag>,
    pub total: i64,
}

/// The whole list (without `limit`, the original's shape), or one page of it (with `limit`).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum TagList {
    All(Vec<Tag>),
    Page(TagPage),
}

/// The caller's tags, with bookmark counts.
#[utoipa::path(get, path = "/api/tags", tag = "Tags", params(ListParams),
    responses((status = 200, description = "An array, or `{items, total}` when `limit` is given", body = TagList),
              (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(q): Query<ListParams>,
) -> Result<Response> {
    let opts = q.options();
    let (items, total) = tags::list(&state.db, auth.id(), opts.alphabetical, opts.limit, opts.offset).await?;
    Ok(match opts.limit {
        Some(_) => Json(TagList::Page(TagPage { items, total })).into_response(),
        None => Json(TagList::All(items)).into_response(),
    })
}

/// One of the caller's tags.
#[utoipa::path(get, path = "/api/tags/{id}", tag = "Tags", params(("id" = String, Path)),
    responses((status = 200, body = Tag), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(State(state): State<AppState>, auth: AuthUser, Path(id): Path<String>) -> Result<Json<Tag>> {
    tags::get(&state.db, auth.id(), &id)
        .await?
        .map(Json)
        .ok_or_else(|| Error::not_found("Tag not found"))
}

#[derive(Deserialize, ToSchema)]
pub struct TagInput {
    /// 1–100 characters (control characters are dropped, spaces trimmed).
    #[schema(value_type = String, required = true, max_length = 100, pattern = "^[\\s\\S]*[^\\s\\x00-\\x1f\\x7f-\\x9f][\\s\\S]*$")]
    pub name: Option<String>,
}

/// Creates a tag (1–100 characters, unique per user).
#[utoipa::path(post, path = "/api/tags", tag = "Tags", request_body = TagInput,
    responses((status = 201, body = Tag), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    auth: AuthUser,
    Json(input): Json<TagInput>,
) -> Result<Response> {
    let t = tags::create(&state.db, &origin, auth.id(), input.name.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(t)).into_response())
}

/// Renames the caller's tag.
#[utoipa::path(put, path = "/api/tags/{id}", tag = "Tags", request_body = TagInput, params(("id" = String, Path)),
    responses((status = 200, body = Tag), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    auth: AuthUser,
    Path(id): Path<String>,
    Json(input): Json<TagInput>,
) -> Result<Json<Tag>> {
    Ok(Json(
        tags::rename(&state.db, &origin, auth.id(), &id, input.name.as_deref()).await?,
    ))
}

/// Deletes the caller's tag; bookmarks stay.
#[utoipa::path(delete, path = "/api/tags/{id}", tag = "Tags", params(("id" = String, Path)),
    responses((status = 200, body = MessageBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    auth: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<MessageBody>> {
    tags::delete(&state.db, &origin, auth.id(), &id).await?;
    Ok(message("Tag deleted"))
}
