//! `/api/folders/*` and `/api/tags/*`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::api::auth::{message, MessageBody};
use crate::audit::{self, Origin};
use crate::bookmarks::{parse_limit, parse_offset, Scope};
use crate::error::{Error, ErrorBody, Result};
use crate::folders::{self, Folder, FolderInput, ListOptions};
use crate::http::auth::{AuthUser, ClientOrigin};
use crate::http::error::{Json, Path, Query};
use crate::state::AppState;
use crate::tags::{self, Tag};

async fn record(
    state: &AppState,
    origin: &Origin,
    actor: &str,
    action: &str,
    kind: &str,
    id: &str,
    name: &str,
) {
    audit::log(
        &state.db,
        origin,
        Some(actor),
        action,
        kind,
        Some(id),
        json!({"name": name}),
    )
    .await;
}

#[derive(Deserialize, IntoParams)]
pub struct ListParams {
    /// `all` (default), `mine`, `shared_with_me`, `shared_by_me` (folders only).
    pub scope: Option<String>,
    /// `alphabetical` (default) or `recently_added`.
    pub sort_by: Option<String>,
    /// With a limit the answer is `{items, total}`; without, a plain array (the original's two shapes).
    pub limit: Option<String>,
    pub offset: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FolderPage {
    pub items: Vec<Folder>,
    pub total: i64,
}

/// Folders the caller can read.
#[utoipa::path(get, path = "/api/folders", tag = "Folders", params(ListParams),
    responses((status = 200, description = "An array, or `{items, total}` when `limit` is given", body = Vec<Folder>),
              (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(q): Query<ListParams>,
) -> Result<Response> {
    let scope = match q.scope.as_deref() {
        Some("shared") => Scope::All,
        s => Scope::parse(s),
    };
    let limit = q.limit.as_deref().map(|l| parse_limit(Some(l), 50, 500));
    let opts = ListOptions {
        scope,
        alphabetical: q.sort_by.as_deref() != Some("recently_added"),
        limit,
        offset: parse_offset(q.offset.as_deref()),
    };
    let (items, total) = folders::list(&state.db, auth.id(), &opts).await?;
    Ok(match limit {
        Some(_) => Json(FolderPage { items, total }).into_response(),
        None => Json(items).into_response(),
    })
}

/// One readable folder.
#[utoipa::path(get, path = "/api/folders/{id}", tag = "Folders", params(("id" = String, Path)),
    responses((status = 200, body = Folder), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Folder>> {
    folders::get(&state.db, auth.id(), &id)
        .await?
        .map(Json)
        .ok_or_else(|| Error::not_found("Folder not found"))
}

/// Creates a folder (name unique per user).
#[utoipa::path(post, path = "/api/folders", tag = "Folders", request_body = FolderInput,
    responses((status = 201, body = Folder), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    auth: AuthUser,
    Json(input): Json<FolderInput>,
) -> Result<Response> {
    let id = folders::create(&state.db, auth.id(), &input).await?;
    let f = folders::get(&state.db, auth.id(), &id)
        .await?
        .ok_or_else(Error::internal)?;
    record(
        &state,
        &origin,
        auth.id(),
        "folder.created",
        "folder",
        &id,
        &f.name,
    )
    .await;
    Ok((StatusCode::CREATED, Json(f)).into_response())
}

/// Updates the owner's folder: name, icon and shares, each optional.
#[utoipa::path(put, path = "/api/folders/{id}", tag = "Folders", request_body = FolderInput, params(("id" = String, Path)),
    responses((status = 200, body = Folder), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    auth: AuthUser,
    Path(id): Path<String>,
    Json(input): Json<FolderInput>,
) -> Result<Json<Folder>> {
    folders::update(&state.db, auth.id(), &id, &input).await?;
    let f = folders::get(&state.db, auth.id(), &id)
        .await?
        .ok_or_else(Error::internal)?;
    record(
        &state,
        &origin,
        auth.id(),
        "folder.updated",
        "folder",
        &id,
        &f.name,
    )
    .await;
    Ok(Json(f))
}

/// Deletes the owner's folder; its bookmarks stay.
#[utoipa::path(delete, path = "/api/folders/{id}", tag = "Folders", params(("id" = String, Path)),
    responses((status = 200, body = MessageBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    auth: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<MessageBody>> {
    let name = folders::delete(&state.db, auth.id(), &id).await?;
    record(&state, &origin, auth.id(), "folder.deleted", "folder", &id, &name).await;
    Ok(message("Folder deleted"))
}

#[derive(Serialize, ToSchema)]
pub struct TagPage {
    pub items: Vec<Tag>,
    pub total: i64,
}

/// The caller's tags, with bookmark counts.
#[utoipa::path(get, path = "/api/tags", tag = "Tags", params(ListParams),
    responses((status = 200, description = "An array, or `{items, total}` when `limit` is given", body = Vec<Tag>),
              (status = 401, body = ErrorBody)))]
pub async fn list_tags(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(q): Query<ListParams>,
) -> Result<Response> {
    let limit = q.limit.as_deref().map(|l| parse_limit(Some(l), 50, 500));
    let (items, total) = tags::list(
        &state.db,
        auth.id(),
        q.sort_by.as_deref() != Some("recently_added"),
        limit,
        parse_offset(q.offset.as_deref()),
    )
    .await?;
    Ok(match limit {
        Some(_) => Json(TagPage { items, total }).into_response(),
        None => Json(items).into_response(),
    })
}

/// One of the caller's tags.
#[utoipa::path(get, path = "/api/tags/{id}", tag = "Tags", params(("id" = String, Path)),
    responses((status = 200, body = Tag), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_tag(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Tag>> {
    tags::get(&state.db, auth.id(), &id)
        .await?
        .map(Json)
        .ok_or_else(|| Error::not_found("Tag not found"))
}

#[derive(Deserialize, ToSchema)]
pub struct TagInput {
    pub name: Option<String>,
}

/// Creates a tag (1–100 characters, unique per user).
#[utoipa::path(post, path = "/api/tags", tag = "Tags", request_body = TagInput,
    responses((status = 201, body = Tag), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn create_tag(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    auth: AuthUser,
    Json(input): Json<TagInput>,
) -> Result<Response> {
    let id = tags::create(&state.db, auth.id(), input.name.as_deref()).await?;
    let t = tags::get(&state.db, auth.id(), &id)
        .await?
        .ok_or_else(Error::internal)?;
    record(&state, &origin, auth.id(), "tag.created", "tag", &id, &t.name).await;
    Ok((StatusCode::CREATED, Json(t)).into_response())
}

/// Renames the caller's tag.
#[utoipa::path(put, path = "/api/tags/{id}", tag = "Tags", request_body = TagInput, params(("id" = String, Path)),
    responses((status = 200, body = Tag), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn update_tag(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    auth: AuthUser,
    Path(id): Path<String>,
    Json(input): Json<TagInput>,
) -> Result<Json<Tag>> {
    tags::rename(&state.db, auth.id(), &id, input.name.as_deref()).await?;
    let t = tags::get(&state.db, auth.id(), &id)
        .await?
        .ok_or_else(Error::internal)?;
    record(&state, &origin, auth.id(), "tag.updated", "tag", &id, &t.name).await;
    Ok(Json(t))
}

/// Deletes the caller's tag; bookmarks stay.
#[utoipa::path(delete, path = "/api/tags/{id}", tag = "Tags", params(("id" = String, Path)),
    responses((status = 200, body = MessageBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_tag(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    auth: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<MessageBody>> {
    let name = tags::delete(&state.db, auth.id(), &id).await?;
    record(&state, &origin, auth.id(), "tag.deleted", "tag", &id, &name).await;
    Ok(message("Tag deleted"))
}
