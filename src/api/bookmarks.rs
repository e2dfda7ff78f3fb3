//! `/api/bookmarks/*`: CRUD, listing, search, select-all, bulk actions, access tracking.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::api::auth::{message, MessageBody};
use crate::audit::{self, Origin};
use crate::bookmarks::write::{self, BookmarkInput, BulkInput};
use crate::bookmarks::{self, transfer, Bookmark, ListQuery};
use crate::error::{Error, ErrorBody, Kind, Result};
use crate::http::auth::{AuthUser, ClientOrigin};
use crate::http::error::{Json, Path, Query};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct BookmarkPage {
    pub items: Vec<Bookmark>,
    /// Bookmarks matching the filters, over all pages.
    pub total: i64,
    #[serde(rename = "hasMore")]
    pub has_more: bool,
}

async fn record(
    state: &AppState,
    origin: &Origin,
    actor: &str,
    action: &str,
    id: Option<&str>,
    meta: serde_json::Value,
) {
    audit::log(&state.db, origin, Some(actor), action, "bookmark", id, meta).await;
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
    uri: axum::http::Uri,
    Query(q): Query<ListQuery>,
) -> Result<Response> {
    // The same user asking the same question gets the cached answer (see ResponseCache).
    let key = format!("list\u{1}{}\u{1}{}", auth.id(), uri.query().unwrap_or(""));
    let (db, counts, user, q) = (
        state.db.clone(),
        state.clone(),
        auth.id().to_string(),
        std::sync::Arc::new(q),
    );
    let body = state
        .responses
        .get_or_compute(key, move || {
            let (db, counts, user, q) = (db.clone(), counts.clone(), user.clone(), q.clone());
            async move {
                let page = bookmarks::list(&db, &counts.counts, &user, &q).await?;
                let json = serde_json::to_vec(&BookmarkPage {
                    items: page.items,
                    total: page.total,
                    has_more: page.has_more,
                })
                .map_err(|_| Error::internal())?;
                Ok(axum::body::Bytes::from(json))
            }
        })
        .await?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

/// Creates a bookmark (with its folders, tags and shares, all or nothing).
#[utoipa::path(post, path = "/api/bookmarks", tag = "Bookmarks", request_body = BookmarkInput,
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
    let id = write::create(&state.db, auth.id(), &input).await?;
    let b = bookmarks::get(&state.db, auth.id(), &id)
        .await?
        .ok_or_else(Error::internal)?;
    record(
        &state,
        &origin,
        auth.id(),
        "bookmark.created",
        Some(&id),
        json!({"title": b.title, "url": b.url}),
    )
    .await;
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
    write::update(&state.db, auth.id(), &id, &input).await?;
    let b = bookmarks::get(&state.db, auth.id(), &id)
        .await?
        .ok_or_else(Error::internal)?;
    record(
        &state,
        &origin,
        auth.id(),
        "bookmark.updated",
        Some(&id),
        json!({"title": b.title, "url": b.url}),
    )
    .await;
    Ok(Json(b))
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
    let (title, url) = write::delete(&state.db, auth.id(), &id).await?;
    record(
        &state,
        &origin,
        auth.id(),
        "bookmark.deleted",
        Some(&id),
        json!({"title": title, "url": url}),
    )
    .await;
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
        ids: bookmarks::ids(&state.db, auth.id(), &q).await?,
    }))
}

#[derive(Deserialize, IntoParams)]
pub struct SearchQuery {
    /// What to look for.
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
    Ok(Json(bookmarks::palette(&state.db, auth.id(), &q).await?))
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
    let affected = write::bulk(&state.db, auth.id(), &input).await?;
    record(
        &state,
        &origin,
        auth.id(),
        "bookmark.bulk",
        None,
        json!({"action": input.action, "affected": affected}),
    )
    .await;
    Ok(Json(BulkResult { affected }))
}

#[derive(Deserialize, IntoParams)]
pub struct ImportParams {
    /// `true`: report what would happen, write nothing.
    pub dry_run: Option<String>,
    /// `keep` (default: import every entry) or `skip` (skip URLs the user already has).
    pub duplicates: Option<String>,
    /// `true`: any bad entry fails the whole import (nothing is written).
    pub strict: Option<String>,
}

fn flag(v: &Option<String>) -> bool {
    matches!(v.as_deref(), Some("true") | Some("1") | Some("yes"))
}

enum Format {
    Json,
    Html,
    Csv,
}

fn sniff(name: Option<&str>, content_type: Option<&str>, data: &str) -> Format {
    let name = name.unwrap_or("").to_ascii_lowercase();
    let ct = content_type.unwrap_or("").to_ascii_lowercase();
    let start = data.trim_start_matches('\u{feff}').trim_start();
    if name.ends_with(".json") || ct.contains("json") || start.starts_with('[') || start.starts_with('{') {
        Format::Json
    } else if name.ends_with(".csv") || ct.contains("csv") {
        Format::Csv
    } else {
        Format::Html
    }
}

/// Parsing a large file takes a while: it runs beside the request threads, not on one.
async fn parse_off_thread(
    parse: impl FnOnce() -> Result<Vec<transfer::ImportItem>> + Send + 'static,
) -> Result<Vec<transfer::ImportItem>> {
    crate::error::off_thread(parse).await?
}

fn parse_items(format: Format, data: &str) -> Result<Vec<transfer::ImportItem>> {
    match format {
        Format::Json => {
            let v: serde_json::Value = crate::error::parse_json(data.as_bytes())?;
            transfer::from_json(&v)
        }
        Format::Html => transfer::from_netscape(data),
        Format::Csv => transfer::from_csv(data),
    }
}

/// Imports bookmarks: the original's JSON (`{"bookmarks": [...]}`, or our export's array), a
/// Netscape bookmark file (every browser's export) as `text/html`, CSV as `text/csv`, or any of
/// them as a multipart upload in the field `file`. Good entries are written in one transaction;
/// bookmarklets and invalid entries are reported by position.
#[utoipa::path(post, path = "/api/bookmarks/import", tag = "Bookmarks", params(ImportParams),
    request_body(content = Object, description = "JSON, text/html (Netscape), text/csv, or multipart/form-data with `file`"),
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
    let opts = transfer::ImportOptions {
        dry_run: flag(&params.dry_run),
        strict: flag(&params.strict),
        duplicates: match params.duplicates.as_deref() {
            None | Some("keep") => transfer::Duplicates::Keep,
            Some("skip") => transfer::Duplicates::Skip,
            Some(_) => return Err(Error::invalid("duplicates", "duplicates must be keep or skip")),
        },
    };
    let ct = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let limit = state.config.max_import_bytes;
    let items = if ct.starts_with("multipart/form-data") {
        use axum::extract::FromRequest;
        let mut mp = axum::extract::Multipart::from_request(req, &state)
            .await
            .map_err(|e| Error::bad_request(format!("Invalid upload: {}", e.body_text())))?;
        let mut found = None;
        while let Some(field) = mp.next_field().await.map_err(crate::http::error::upload_error)? {
            if field.name() == Some("file") {
                let name = field.file_name().map(str::to_string);
                let fct = field.content_type().map(str::to_string);
                let bytes = field.bytes().await.map_err(crate::http::error::upload_error)?;
                found = Some((name, fct, String::from_utf8_lossy(&bytes).into_owned()));
                break;
            }
        }
        let (name, fct, data) =
            found.ok_or_else(|| Error::invalid("file", "Upload the file in the field `file`"))?;
        let format = sniff(name.as_deref(), fct.as_deref(), &data);
        parse_off_thread(move || parse_items(format, &data)).await?
    } else {
        let format = if ct.starts_with("application/json") || ct.contains("+json") {
            Format::Json
        } else if ct.starts_with("text/html") {
            Format::Html
        } else if ct.starts_with("text/csv") {
            Format::Csv
        } else {
            return Err(Error::new(
                Kind::UnsupportedMedia,
                "UNSUPPORTED_MEDIA_TYPE",
                "Send JSON, text/html (a browser bookmark file), text/csv, or a multipart upload",
            ));
        };
        let bytes = crate::http::error::read_body(req, limit).await?;
        parse_off_thread(move || parse_items(format, &String::from_utf8_lossy(&bytes))).await?
    };
    tracing::debug!(entries = items.len(), "import: parsed");
    let report = transfer::import(&state.db, auth.id(), items, opts).await;
    // A large import leaves freed memory behind; give it back now rather than at the next tick
    // (on a blocking thread: trimming the heap is no work for a request thread).
    drop(tokio::task::spawn_blocking(crate::telemetry::release_free_memory));
    let report = report?;
    if report.success > 0 && !report.dry_run {
        record(
            &state,
            &origin,
            auth.id(),
            "bookmark.import",
            None,
            json!({"success": report.success, "failed": report.failed, "skipped": report.skipped}),
        )
        .await;
    }
    Ok(Json(report))
}

#[derive(Deserialize, IntoParams)]
pub struct ExportParams {
    /// `json` (default), `html` (Netscape, for browsers) or `csv`.
    pub format: Option<String>,
    /// `mine` (default: own bookmarks) or `all` (also those shared with the caller).
    pub scope: Option<String>,
}

const EXPORT_CHUNK: i64 = 1000;

/// Exports bookmarks with their folders and tags, streamed. What is exported imports back to the
/// same collection.
#[utoipa::path(get, path = "/api/bookmarks/export", tag = "Bookmarks", params(ExportParams),
    responses(
        (status = 200, description = "A file download", body = Vec<transfer::ExportItem>),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
    ))]
pub async fn export(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(params): Query<ExportParams>,
) -> Result<Response> {
    use axum::http::{header, HeaderValue};
    let all = params.scope.as_deref() == Some("all");
    let format = params.format.as_deref().unwrap_or("json").to_ascii_lowercase();
    let date = chrono::Utc::now().format("%Y-%m-%d");
    let (ct, ext) = match format.as_str() {
        "json" => ("application/json", "json"),
        "html" => ("text/html; charset=utf-8", "html"),
        "csv" => ("text/csv; charset=utf-8", "csv"),
        _ => return Err(Error::invalid("format", "format must be json, html or csv")),
    };
    let user = auth.id().to_string();
    let db = state.db.clone();
    let body = if format == "html" {
        let mut items = Vec::new();
        let mut cursor = None;
        loop {
            let (chunk, next) =
                transfer::export_chunk(&db, &user, all, cursor.as_ref(), EXPORT_CHUNK).await?;
            let n = chunk.len();
            items.extend(chunk);
            if (n as i64) < EXPORT_CHUNK {
                break;
            }
            cursor = next;
        }
        axum::body::Body::from(transfer::to_netscape(&items))
    } else {
        let csv = format == "csv";
        // (cursor, first chunk?, finished?)
        let stream = futures_util::stream::unfold((None, true, false), move |(cursor, first, done)| {
            let db = db.clone();
            let user = user.clone();
            async move {
                if done {
                    return None;
                }
                let res = transfer::export_chunk(&db, &user, all, cursor.as_ref(), EXPORT_CHUNK).await;
                let (chunk, next) = match res {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::error!(error = %e, "export failed mid-stream");
                        return Some((Err(std::io::Error::other("export failed")), (None, false, true)));
                    }
                };
                let last = (chunk.len() as i64) < EXPORT_CHUNK;
                let mut out = String::new();
                if csv {
                    let mut w = csv::WriterBuilder::new()
                        .has_headers(false)
                        .from_writer(Vec::new());
                    if first {
                        let _ = w.write_record(transfer::CSV_HEADER);
                    }
                    for it in &chunk {
                        let _ = w.write_record(transfer::csv_row(it));
                    }
                    out = String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default();
                } else {
                    if first {
                        out.push('[');
                    }
                    for (i, it) in chunk.iter().enumerate() {
                        if !(first && i == 0) {
                            out.push(',');
                        }
                        out.push_str(&serde_json::to_string(it).unwrap_or_default());
                    }
                    if last {
                        out.push(']');
                    }
                }
                Some((
                    Ok::<_, std::io::Error>(axum::body::Bytes::from(out)),
                    (next, false, last),
                ))
            }
        });
        axum::body::Body::from_stream(stream)
    };
    let mut res = Response::new(body);
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"slugbase-bookmarks-{date}.{ext}\""
    )) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

#[derive(Deserialize, IntoParams)]
pub struct MetadataQuery {
    /// The page to look at (http or https).
    pub url: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PageMetadata {
    pub title: Option<String>,
    pub description: Option<String>,
    pub site_name: Option<String>,
    pub favicon_url: Option<String>,
    /// The URL after redirects.
    pub final_url: String,
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
    use crate::metadata::FetchError;
    let url = q
        .url
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| Error::invalid("url", "URL is required"))?;
    let url = crate::bookmarks::validate_url("url", &url)?;
    match state.fetcher().fetch(&url).await {
        Ok(m) => Ok(Json(PageMetadata {
            title: m.title,
            description: m.description,
            site_name: m.site_name,
            favicon_url: m.favicon_url,
            final_url: m.final_url,
        })),
        Err(FetchError::Invalid(msg)) => Err(Error::invalid("url", msg)),
        Err(FetchError::Blocked(msg)) => Err(Error::invalid("url", msg).with_code("URL_NOT_ALLOWED")),
        Err(FetchError::Failed(msg)) => Err(Error::new(
            Kind::BadGateway,
            "FETCH_FAILED",
            format!("The page could not be read: {msg}"),
        )),
    }
}
