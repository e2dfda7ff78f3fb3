//! `/api/bookmarks/*`: CRUD, listing, search, select-all, bulk actions, import, export,
//! metadata and access tracking.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::auth::{message, MessageBody};
use crate::bookmarks::transfer::{self, ExportFormat};
use crate::bookmarks::{self, write, Bookmark, BookmarkInput, BulkInput, ListFilter, ListQuery};
use crate::error::{Error, ErrorBody, Result};
use crate::http::auth::{AuthUser, ClientOrigin};
use crate::http::error::{Json, Path, Query};
use crate::http::files;
use crate::input::flag;
use crate::metadata::PageMetadata;
use crate::state::AppState;

/// A new bookmark: [`BookmarkInput`] with title and URL required.
#[derive(ToSchema)]
pub struct NewBookmark {
    /// 1–500 characters (control characters are dropped, spaces trimmed).
    #[schema(
        max_length = 500,
        pattern = "^[\\s\\S]*[^\\s\\x00-\\x1f\\x7f-\\x9f][\\s\\S]*$"
    )]
    pub title: String,
    /// An `http` or `https` URL of at most 2048 characters.
    #[schema(
        max_length = 2048,
        pattern = "^\\s*[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*(:[1-9][0-9]{0,3})?(/[A-Za-z0-9._~!$&\'()*+,;=:@/-]*)?(\\?[A-Za-z0-9._~!$&\'()*+,;=:@/?-]*)?\\s*$"
    )]
    pub url: String,
    /// Letters, digits, `-`, `_`; unique across the instance. `""` or `null` for none.
    #[schema(pattern = "^\\s*([A-Za-z0-9_-]{1,255})?\\s*$")]
    pub slug: Option<String>,
    /// Notes (up to 10,000 characters).
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    /// Forward `/go/<slug>` to the URL (needs a slug).
    pub forwarding_enabled: Option<bool>,
    pub pinned: Option<bool>,
    /// The folders (own folders only).
    pub folder_ids: Option<Vec<String>>,
    /// The tags (own tags only).
    pub tag_ids: Option<Vec<String>>,
    /// Teams to share with (teams the caller belongs to).
    pub team_ids: Option<Vec<String>>,
    /// Users to share with.
    pub user_ids: Option<Vec<String>>,
    /// Share with every team the caller belongs to now.
    pub share_all_teams: Option<bool>,
}

/// `keep` (every entry) or `skip` (URLs the user already has).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DuplicatesParam {
    Keep,
    Skip,
}

/// A JSON import: the original's `{"bookmarks": [...]}`, or our export's array.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum ImportJson {
    List(Vec<serde_json::Value>),
    Wrapped(ImportWrapped),
}

#[derive(Serialize, ToSchema)]
pub struct ImportWrapped {
    pub bookmarks: Vec<serde_json::Value>,
}

/// An import as an upload.
#[derive(ToSchema)]
pub struct ImportUpload {
    /// The file: JSON, a browser's bookmark file (HTML) or CSV.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

#[derive(Serialize, ToSchema)]
pub struct BookmarkPage {
    pub items: Vec<Bookmark>,
    /// Bookmarks matching the filters, over all pages.
    pub total: i64,
    #[serde(rename = "hasMore")]
    pub has_more: bool,
}

/// Bookmarks the caller can read, filtered, sorted and paginated.
#[utoipa::path(get, path = "/api/bookmarks", tag = "Bookmarks", params(ListQuery),
    responses(
        (status = 200, body = BookmarkPage),
        (status = 401, body = ErrorBody),
        (status = 404, description = "Folder not found / Tag not found", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(q): Query<ListQuery>,
) -> Result<Response> {
    let page = bookmarks::list(&state.db, &state.counts, auth.id(), &ListFilter::parse(&q)).await?;
    Ok(Json(BookmarkPage {
        items: page.items,
        total: page.total,
        has_more: page.has_more,
    })
    .into_response())
}

/// Creates a bookmark (with its folders, tags and shares, all or nothing).
#[utoipa::path(post, path = "/api/bookmarks", tag = "Bookmarks", request_body = NewBookmark,
    responses(
        (status = 201, body = Bookmark),
        (status = 400, description = "Validation error (details name the field), or slug taken", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "A folder, tag or team that is not the caller's", body = ErrorBody),
        (status = 404, description = "A user to share with does not exist", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    auth: AuthUser,
    Json(input): Json<BookmarkInput>,
) -> Result<Response> {
    let b = write::create(&state.db, &origin, auth.id(), &input).await?;
    Ok((StatusCode::CREATED, Json(b)).into_response())
}

/// One readable bookmark.
#[utoipa::path(get, path = "/api/bookmarks/{id}", tag = "Bookmarks",
    params(("id" = String, Path, description = "Bookmark id")),
    responses((status = 200, body = Bookmark), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Bookmark>> {
    bookmarks::get(&state.db, auth.id(), &id)
        .await?
        .map(Json)
        .ok_or_else(|| Error::not_found("Bookmark not found"))
}

/// Partial update by the owner (others get 404).
#[utoipa::path(put, path = "/api/bookmarks/{id}", tag = "Bookmarks", request_body = BookmarkInput,
    params(("id" = String, Path, description = "Bookmark id")),
    responses(
        (status = 200, body = Bookmark),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn update(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    auth: AuthUser,
    Path(id): Path<String>,
    Json(input): Json<BookmarkInput>,
) -> Result<Json<Bookmark>> {
    Ok(Json(
        write::update(&state.db, &origin, auth.id(), &id, &input).await?,
    ))
}

/// Deletes the owner's bookmark.
#[utoipa::path(delete, path = "/api/bookmarks/{id}", tag = "Bookmarks",
    params(("id" = String, Path, description = "Bookmark id")),
    responses((status = 200, body = MessageBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    auth: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<MessageBody>> {
    write::delete(&state.db, &origin, auth.id(), &id).await?;
    Ok(message("Bookmark deleted"))
}

#[derive(Serialize, ToSchema)]
pub struct Success {
    pub success: bool,
}

/// Counts a visit to a readable bookmark.
#[utoipa::path(post, path = "/api/bookmarks/{id}/track-access", tag = "Bookmarks",
    params(("id" = String, Path, description = "Bookmark id")),
    responses((status = 200, body = Success), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn track_access(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Success>> {
    if !bookmarks::track_access(&state.db, auth.id(), &id).await? {
        return Err(Error::not_found("Bookmark not found"));
    }
    Ok(Json(Success { success: true }))
}

#[derive(Serialize, ToSchema)]
pub struct LinkChecks {
    /// Bookmarks queued for a check (those not checked in the last 10 minutes).
    pub queued: u64,
}

/// Checks the caller's own bookmarks' URLs soon, in the background; the results show as
/// `link_status`, `link_status_code` and `link_checked_at` on the bookmarks (filter with
/// `link_status=broken`). A bookmark checked in the last 10 minutes is not checked again.
#[utoipa::path(post, path = "/api/bookmarks/check-links", tag = "Bookmarks",
    responses((status = 202, body = LinkChecks), (status = 401, body = ErrorBody)))]
pub async fn check_links(State(state): State<AppState>, auth: AuthUser) -> Result<Response> {
    let queued = crate::linkcheck::request_check(&state.db, auth.id()).await?;
    state.link_check_wake.notify_one();
    Ok((axum::http::StatusCode::ACCEPTED, Json(LinkChecks { queued })).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct Ids {
    pub ids: Vec<String>,
}

/// Ids of every bookmark matching the list filters (at most 10,000), for "select all".
#[utoipa::path(get, path = "/api/bookmarks/ids", tag = "Bookmarks", params(ListQuery),
    responses((status = 200, body = Ids), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn ids(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(q): Query<ListQuery>,
) -> Result<Json<Ids>> {
    Ok(Json(Ids {
        ids: bookmarks::ids(&state.db, &state.counts, auth.id(), &ListFilter::parse(&q)).await?,
    }))
}

#[derive(Deserialize, IntoParams)]
pub struct SearchQuery {
    /// What to look for.
    #[param(value_type = String, required = true, pattern = "^[\\s\\S]*\\S[\\s\\S]*$")]
    pub q: Option<String>,
}

/// Command-palette search: up to 10 bookmarks (ranked full-text), 5 folders, 5 tags, as one flat
/// list of `{id, type, title, …}`.
#[utoipa::path(get, path = "/api/bookmarks/search", tag = "Bookmarks", params(SearchQuery),
    responses(
        (status = 200, body = Vec<Object>),
        (status = 400, description = "Search query is required", body = ErrorBody),
        (status = 401, body = ErrorBody),
    ))]
pub async fn search(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(q): Query<SearchQuery>,
) -> Result<Json<Vec<serde_json::Value>>> {
    let q =
        q.q.filter(|s| !s.trim().is_empty())
            .ok_or_else(|| Error::invalid("q", "Search query is required"))?;
    Ok(Json(
        crate::palette::search(&state.db, &state.counts, auth.id(), &q).await?,
    ))
}

#[derive(Serialize, ToSchema)]
pub struct BulkResult {
    /// Bookmarks the action applied to.
    pub affected: usize,
}

/// One action on many own bookmarks (by ids or by the current filter), in one transaction:
/// delete, move or add to / remove from folders, add or remove tags, pin, unpin.
#[utoipa::path(post, path = "/api/bookmarks/bulk", tag = "Bookmarks", request_body = BulkInput,
    responses(
        (status = 200, body = BulkResult),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "A folder or tag that is not the caller's", body = ErrorBody),
        (status = 404, description = "A bookmark that is not the caller's (nothing changed)", body = ErrorBody),
    ))]
pub async fn bulk(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    auth: AuthUser,
    Json(input): Json<BulkInput>,
) -> Result<Json<BulkResult>> {
    let affected = write::bulk(&state.db, &origin, auth.id(), &input).await?;
    Ok(Json(BulkResult { affected }))
}

#[derive(Deserialize, IntoParams)]
pub struct ImportParams {
    /// `true`: report what would happen, write nothing.
    pub dry_run: Option<String>,
    /// `keep` (default: import every entry) or `skip` (skip URLs the user already has).
    #[param(value_type = Option<DuplicatesParam>)]
    pub duplicates: Option<String>,
    /// `true`: any bad entry fails the whole import (nothing is written).
    pub strict: Option<String>,
}

impl ImportParams {
    fn options(&self) -> Result<transfer::ImportOptions> {
        Ok(transfer::ImportOptions {
            dry_run: flag(self.dry_run.as_deref()),
            strict: flag(self.strict.as_deref()),
            duplicates: match self.duplicates.as_deref() {
                None | Some("keep") => transfer::Duplicates::Keep,
                Some("skip") => transfer::Duplicates::Skip,
                Some(_) => return Err(Error::invalid("duplicates", "duplicates must be keep or skip")),
            },
        })
    }
}

/// Imports bookmarks: the original's JSON (`{"bookmarks": [...]}`, or our export's array), a
/// Netscape bookmark file (every browser's export) as `text/html`, CSV as `text/csv`, or any of
/// them as a multipart upload in the field `file`. Good entries are written in one transaction;
/// bookmarklets and invalid entries are reported by position.
#[utoipa::path(post, path = "/api/bookmarks/import", tag = "Bookmarks", params(ImportParams),
    request_body(description = "JSON, text/html (Netscape), text/csv, or multipart/form-data with `file`",
        content((ImportJson = "application/json"), (String = "text/html"), (String = "text/csv"),
            (ImportUpload = "multipart/form-data"))),
    responses(
        (status = 200, body = transfer::ImportReport),
        (status = 400, description = "Unreadable or cut-off file (says where), or strict mode and a bad entry", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ))]
pub async fn import(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    auth: AuthUser,
    Query(params): Query<ImportParams>,
    req: axum::extract::Request,
) -> Result<Json<transfer::ImportReport>> {
    let opts = params.options()?;
    let (format, data) = files::import_source(&state, req).await?;
    Ok(Json(
        transfer::import_file(&state.db, &origin, auth.id(), format, data, opts).await?,
    ))
}

#[derive(Deserialize, IntoParams)]
pub struct ExportParams {
    /// `json` (default), `html` (Netscape, for browsers) or `csv`.
    #[param(pattern = "^([Jj][Ss][Oo][Nn]|[Hh][Tt][Mm][Ll]|[Cc][Ss][Vv])?$")]
    pub format: Option<String>,
    /// `mine` (default: own bookmarks) or `all` (also those shared with the caller).
    pub scope: Option<String>,
}

/// Exports bookmarks with their folders and tags, streamed. What is exported imports back to the
/// same collection.
#[utoipa::path(get, path = "/api/bookmarks/export", tag = "Bookmarks", params(ExportParams),
    responses(
        (status = 200, description = "A file download: JSON (the default), a Netscape bookmark file (`format=html`) or CSV (`format=csv`)", content(
            (Vec<transfer::ExportItem> = "application/json"),
            (String = "text/html"),
            (String = "text/csv"),
        )),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
    ))]
pub async fn export(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(params): Query<ExportParams>,
) -> Result<Response> {
    let all = params.scope.as_deref() == Some("all");
    let format = ExportFormat::parse(params.format.as_deref())?;
    Ok(files::download(
        transfer::export(&state.db, auth.id(), all, format).await?,
    ))
}

#[derive(Deserialize, IntoParams)]
pub struct MetadataQuery {
    /// The page to look at (http or https).
    #[param(value_type = String, required = true, max_length = 2048, pattern = "^\\s*[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*(:[1-9][0-9]{0,3})?(/[A-Za-z0-9._~!$&\'()*+,;=:@/-]*)?(\\?[A-Za-z0-9._~!$&\'()*+,;=:@/?-]*)?\\s*$")]
    pub url: Option<String>,
}

/// Fetches a page's title, description, site name and icon, to prefill a new bookmark. Refuses
/// private, loopback, link-local and metadata addresses (checked after DNS resolution and on every
/// redirect); 8-second time limit, 512 KiB read limit.
#[utoipa::path(get, path = "/api/bookmarks/metadata", tag = "Bookmarks", params(MetadataQuery),
    responses(
        (status = 200, body = PageMetadata),
        (status = 400, description = "VALIDATION_ERROR, or URL_NOT_ALLOWED for private addresses", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 502, description = "FETCH_FAILED: the page could not be read", body = ErrorBody),
    ))]
pub async fn metadata(
    State(state): State<AppState>,
    _auth: AuthUser,
    Query(q): Query<MetadataQuery>,
) -> Result<Json<PageMetadata>> {
    Ok(Json(
        crate::metadata::page_metadata(state.fetcher(), q.url).await?,
    ))
}
