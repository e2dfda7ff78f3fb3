//! `/api/folders/*`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::auth::{message, MessageBody};
use crate::error::{Error, ErrorBody, Result};
use crate::folders::{self, Folder, FolderInput, ListOptions};
use crate::http::auth::{AuthUser, ClientOrigin};
use crate::http::error::{Json, Path, Query};
use crate::state::AppState;

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

/// A new folder: [`FolderInput`] with the name required.
#[derive(ToSchema)]
pub struct NewFolder {
    /// 1–255 characters (control characters are dropped, spaces trimmed).
    #[schema(
        max_length = 255,
        pattern = "^[\\s\\S]*[^\\s\\x00-\\x1f\\x7f-\\x9f][\\s\\S]*$"
    )]
    pub name: String,
    /// A Lucide icon name (at most 50 characters); `""` or `null` for none.
    #[schema(max_length = 50)]
    pub icon: Option<String>,
    pub team_ids: Option<Vec<String>>,
    pub user_ids: Option<Vec<String>>,
    pub share_all_teams: Option<bool>,
}

impl ListParams {
    pub fn options(&self) -> ListOptions {
        ListOptions::parse(
            self.scope.as_deref(),
            self.sort_by.as_deref(),
            self.limit.as_deref(),
            self.offset.as_deref(),
        )
    }
}

#[derive(Serialize, ToSchema)]
pub struct FolderPage {
    pub items: Vec<Folder>,
    pub total: i64,
}

/// The whole list (without `limit`, the original's shape), or one page of it (with `limit`).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum FolderList {
    All(Vec<Folder>),
    Page(FolderPage),
}

/// Folders the caller can read.
#[utoipa::path(get, path = "/api/folders", tag = "Folders", params(ListParams),
    responses((status = 200, description = "An array, or `{items, total}` when `limit` is given", body = FolderList),
              (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(q): Query<ListParams>,
) -> Result<Response> {
    let opts = q.options();
    let (items, total) = folders::list(&state.db, auth.id(), &opts).await?;
    Ok(match opts.limit {
        Some(_) => Json(FolderList::Page(FolderPage { items, total })).into_response(),
        None => Json(FolderList::All(items)).into_response(),
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
#[utoipa::path(post, path = "/api/folders", tag = "Folders", request_body = NewFolder,
    responses((status = 201, body = Folder), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    auth: AuthUser,
    Json(input): Json<FolderInput>,
) -> Result<Response> {
    let f = folders::create(&state.db, &origin, auth.id(), &input).await?;
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
    Ok(Json(
        folders::update(&state.db, &origin, auth.id(), &id, &input).await?,
    ))
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
    folders::delete(&state.db, &origin, auth.id(), &id).await?;
    Ok(message("Folder deleted"))
}
