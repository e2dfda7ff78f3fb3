//! Export: every bookmark of the user (or every one they can read) with its folders and tags,
//! as JSON or CSV streamed in chunks, or as a Netscape bookmark file for browsers.

use futures_util::stream::BoxStream;
use serde::Serialize;
use utoipa::ToSchema;

use super::{csv_cell, netscape, CSV_HEADER};
use crate::bookmarks::model::*;
use crate::db::params::Params;
use crate::db::{Db, Ts};
use crate::error::{Error, Result};
use crate::{bind_params, with_db};

/// The formats an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Json,
    Html,
    Csv,
}

impl ExportFormat {
    /// `json` (the default), `html` or `csv`, in any case.
    pub fn parse(v: Option<&str>) -> Result<ExportFormat> {
        match v.unwrap_or("json").to_ascii_lowercase().as_str() {
            "json" => Ok(ExportFormat::Json),
            "html" => Ok(ExportFormat::Html),
            "csv" => Ok(ExportFormat::Csv),
            _ => Err(Error::invalid("format", "format must be json, html or csv")),
        }
    }
}

/// An export file.
pub struct Export {
    pub content_type: &'static str,
    /// `slugbase-bookmarks-<date>.<ext>`
    pub file_name: String,
    pub body: ExportBody,
}

pub enum ExportBody {
    Whole(String),
    /// Chunks as they are read; a failure half-way ends the stream with an error.
    Stream(BoxStream<'static, std::result::Result<bytes::Bytes, std::io::Error>>),
}

const EXPORT_CHUNK: i64 = 1000;

/// The user's bookmarks (`all`: also those shared with them) as an export file. What is
/// exported imports back to the same collection.
pub async fn export(db: &Db, user_id: &str, all: bool, format: ExportFormat) -> Result<Export> {
    let date = chrono::Utc::now().format("%Y-%m-%d");
    let (content_type, ext) = match format {
        ExportFormat::Json => ("application/json", "json"),
        ExportFormat::Html => ("text/html; charset=utf-8", "html"),
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
    };
    let file_name = format!("slugbase-bookmarks-{date}.{ext}");
    let user = user_id.to_string();
    let db = db.clone();
    let body = if format == ExportFormat::Html {
        let mut items = Vec::new();
        let mut cursor = None;
        loop {
            let (chunk, next) = export_chunk(&db, &user, all, cursor.as_ref(), EXPORT_CHUNK).await?;
            let n = chunk.len();
            items.extend(chunk);
            if (n as i64) < EXPORT_CHUNK {
                break;
            }
            cursor = next;
        }
        ExportBody::Whole(to_netscape(&items))
    } else {
        let csv = format == ExportFormat::Csv;
        // (cursor, first chunk?, finished?)
        let stream = futures_util::stream::unfold((None, true, false), move |(cursor, first, done)| {
            let db = db.clone();
            let user = user.clone();
            async move {
                if done {
                    return None;
                }
                let res = export_chunk(&db, &user, all, cursor.as_ref(), EXPORT_CHUNK).await;
                let (chunk, next) = match res {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::error!(error = %e, "export failed mid-stream");
                        return Some((Err(std::io::Error::other("export failed")), (None, false, true)));
                    }
                };
                let last = (chunk.len() as i64) < EXPORT_CHUNK;
                let out = if csv {
                    csv_chunk(&chunk, first)
                } else {
                    json_chunk(&chunk, first, last)
                };
                Some((Ok(bytes::Bytes::from(out)), (next, false, last)))
            }
        });
        ExportBody::Stream(Box::pin(stream))
    };
    Ok(Export {
        content_type,
        file_name,
        body,
    })
}

fn csv_chunk(chunk: &[ExportItem], first: bool) -> String {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    if first {
        let _ = w.write_record(CSV_HEADER);
    }
    for it in chunk {
        let _ = w.write_record(csv_row(it));
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

fn json_chunk(chunk: &[ExportItem], first: bool, last: bool) -> String {
    let mut out = String::new();
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
    out
}

/// One bookmark as exported (JSON and CSV): the original's fields plus what it lost.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExportItem {
    pub title: String,
    pub url: String,
    pub slug: String,
    pub forwarding_enabled: bool,
    pub pinned: bool,
    pub created_at: Option<Ts>,
    pub description: Option<String>,
    pub folder_names: Vec<String>,
    pub tag_names: Vec<String>,
    pub access_count: i64,
    pub last_accessed_at: Option<Ts>,
}

/// A chunk of the export after `after` (keyset on created_at, id; newest first).
pub async fn export_chunk(
    db: &Db,
    user_id: &str,
    all: bool,
    after: Option<&(Ts, String)>,
    limit: i64,
) -> Result<(Vec<ExportItem>, Option<(Ts, String)>)> {
    let mut p = Params::new();
    let u = p.push(user_id);
    let scope = if all {
        crate::sharing::readable_sql(&u)
    } else {
        format!("b.user_id = {u}")
    };
    let mut sql =
        format!("SELECT {BOOKMARK_COLUMNS} FROM bookmarks b JOIN users u ON u.id = b.user_id WHERE {scope}");
    if let Some((ts, id)) = after {
        let a = p.push(*ts);
        let i = p.push(id.as_str());
        sql.push_str(&format!(
            " AND (b.created_at < {a} OR (b.created_at = {a} AND b.id < {i}))"
        ));
    }
    let l = p.push(limit);
    sql.push_str(&format!(" ORDER BY b.created_at DESC, b.id DESC LIMIT {l}"));
    let rows =
        with_db!(db, pool => bind_params!(sqlx::query_as::<_, BookmarkRow>(&sql), p).fetch_all(pool).await?);
    let cursor = rows
        .last()
        .map(|r| (r.created_at.unwrap_or(Ts::from_unix(0)), r.id.clone()));
    let full = crate::bookmarks::hydrate(db, user_id, rows).await?;
    let items = full
        .into_iter()
        .map(|b| ExportItem {
            title: b.title,
            url: b.url,
            slug: b.slug,
            forwarding_enabled: b.forwarding_enabled,
            pinned: b.pinned,
            created_at: b.created_at,
            description: b.description,
            folder_names: b.folders.into_iter().map(|f| f.name).collect(),
            tag_names: b.tags.into_iter().map(|t| t.name).collect(),
            access_count: b.access_count,
            last_accessed_at: b.last_accessed_at,
        })
        .collect();
    Ok((items, cursor))
}

/// Netscape entries for an export: a bookmark in several folders appears in each.
pub fn to_netscape(items: &[ExportItem]) -> String {
    let mut entries = Vec::with_capacity(items.len());
    for it in items {
        let folders: Vec<Vec<String>> = if it.folder_names.is_empty() {
            vec![Vec::new()]
        } else {
            it.folder_names.iter().map(|f| vec![f.clone()]).collect()
        };
        for path in folders {
            entries.push(netscape::Entry {
                title: it.title.clone(),
                url: it.url.clone(),
                folders: path,
                tags: it.tag_names.clone(),
                add_date: it.created_at.map(|t| t.unix()),
                shortcut: (!it.slug.is_empty()).then(|| it.slug.clone()),
                description: it.description.clone(),
                line: 0,
            });
        }
    }
    netscape::write(&entries)
}

/// One bookmark as a CSV record; text cells that a spreadsheet would take for a formula are
/// neutralised ([`super::csv_cell`]).
pub fn csv_row(it: &ExportItem) -> Vec<String> {
    vec![
        csv_cell(&it.title),
        csv_cell(&it.url),
        csv_cell(&it.slug),
        it.forwarding_enabled.to_string(),
        it.pinned.to_string(),
        csv_cell(&it.folder_names.join("|")),
        csv_cell(&it.tag_names.join("|")),
        csv_cell(it.description.as_deref().unwrap_or_default()),
        it.created_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
    ]
}
