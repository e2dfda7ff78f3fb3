//! Import and export: the original's JSON, Netscape bookmark HTML (what every browser exports)
//! and CSV. This module reads the formats; [`import`] checks everything first, then writes all
//! good entries in one transaction; [`export`] writes the formats back out, streamed.

mod export;
mod import;

pub use export::{csv_row, export, Export, ExportBody, ExportFormat, ExportItem};
pub use import::{import, import_file};

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::netscape;
use crate::db::Ts;
use crate::error::{Error, Result};

/// One entry to import, from any format.
#[derive(Debug, Clone, Default)]
pub struct ImportItem {
    pub title: Option<String>,
    pub url: Option<String>,
    pub slug: Option<String>,
    pub forwarding_enabled: Option<bool>,
    pub pinned: Option<bool>,
    pub description: Option<String>,
    pub folder_names: Vec<String>,
    pub tag_names: Vec<String>,
    pub created_at: Option<Ts>,
    /// Visit statistics, when the source has them (our JSON export).
    pub access_count: Option<i64>,
    pub last_accessed_at: Option<Ts>,
    /// Line in the source file, where the format has lines.
    pub line: Option<usize>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Duplicates {
    /// Import every entry (the original's behaviour).
    #[default]
    Keep,
    /// Skip entries whose URL the user already has (or that came earlier in the same file).
    Skip,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    pub dry_run: bool,
    pub duplicates: Duplicates,
    pub strict: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportProblem {
    /// 1-based position of the entry in the file or list.
    pub position: usize,
    /// Line in the file, for HTML and CSV.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub title: Option<String>,
    pub url: Option<String>,
    /// The original's short message: `Missing title or URL`, `Invalid URL`, `Invalid title`,
    /// `Duplicate URL`.
    pub error: String,
    /// What exactly is wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// What an import did (or, with `dry_run`, would do). `success`, `failed`, `errors` and
/// `message` are the original's fields.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportReport {
    pub message: String,
    /// Bookmarks created.
    pub success: usize,
    /// Entries that could not be imported.
    pub failed: usize,
    /// The failures' messages (the original's shape).
    pub errors: Vec<String>,
    /// Entries skipped as duplicates.
    pub skipped: usize,
    /// Each failure with its position.
    pub failures: Vec<ImportProblem>,
    /// Each skipped duplicate with its position.
    pub skipped_entries: Vec<ImportProblem>,
    pub folders_created: usize,
    pub tags_created: usize,
    pub dry_run: bool,
    /// What was wrong with the file but did not stop the import (e.g. missing closing tags).
    pub warnings: Vec<String>,
}

fn text(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

fn boolean(v: Option<&Value>) -> Option<bool> {
    match v {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::Number(n)) => Some(n.as_i64().unwrap_or(0) != 0),
        Some(Value::String(s)) => Some(s == "true" || s == "1"),
        _ => None,
    }
}

fn names(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(|x| text(Some(x))).collect(),
        Some(Value::String(s)) => s.split([',', ';', '|']).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// The original's JSON (`{"bookmarks": [...]}`) or our export (a plain array).
pub fn from_json(body: &Value) -> Result<Vec<ImportItem>> {
    let list = match body {
        Value::Array(a) => a,
        Value::Object(o) => match o.get("bookmarks") {
            Some(Value::Array(a)) => a,
            _ => {
                return Err(Error::bad_request(
                    "Invalid import data: expected array of bookmarks",
                ))
            }
        },
        _ => {
            return Err(Error::bad_request(
                "Invalid import data: expected array of bookmarks",
            ))
        }
    };
    Ok(list
        .iter()
        .map(|v| ImportItem {
            title: text(v.get("title")),
            url: text(v.get("url")),
            slug: text(v.get("slug")),
            forwarding_enabled: boolean(v.get("forwarding_enabled")),
            pinned: boolean(v.get("pinned")),
            description: text(v.get("description")),
            folder_names: names(v.get("folder_names")),
            tag_names: names(v.get("tag_names")),
            created_at: text(v.get("created_at")).and_then(|s| Ts::parse(&s)),
            access_count: v.get("access_count").and_then(Value::as_i64).filter(|n| *n >= 0),
            last_accessed_at: text(v.get("last_accessed_at")).and_then(|s| Ts::parse(&s)),
            line: None,
        })
        .collect())
}

/// A Netscape bookmark file. Nested folders become one folder named by the path
/// (`Bookmarks bar / Dev / Rust`; folders are flat); an entry that appears in several folders
/// (as our own export writes it) becomes one bookmark in all of them.
/// The second value says what was wrong but harmless (closing tags missing at the end).
pub fn from_netscape(html: &str) -> Result<(Vec<ImportItem>, Option<String>)> {
    let parsed = netscape::parse_file(html).map_err(|e| match e.kind {
        netscape::ParseErrorKind::WebPage => {
            Error::bad_request(format!("This is not a bookmark file: {}", e.message))
                .with_code("NOT_A_BOOKMARK_FILE")
        }
        netscape::ParseErrorKind::NotBookmarks | netscape::ParseErrorKind::CutOff => {
            Error::bad_request(format!("The bookmark file could not be read: {e}"))
                .with_code("INVALID_IMPORT_FILE")
        }
    })?;
    let note = (parsed.unclosed_lists > 0).then(|| {
        format!(
            "The file ended without closing {} folder list(s) (</DL> missing); every entry in it was complete and was read.",
            parsed.unclosed_lists
        )
    });
    let entries = parsed.entries;
    let mut items: Vec<ImportItem> = Vec::with_capacity(entries.len());
    let mut seen: HashMap<(String, String, Option<i64>, Option<String>), usize> = HashMap::new();
    for e in entries {
        let folder = (!e.folders.is_empty()).then(|| e.folders.join(" / "));
        let key = (e.url.clone(), e.title.clone(), e.add_date, e.shortcut.clone());
        if let Some(&i) = seen.get(&key) {
            if let Some(f) = folder {
                if !items[i].folder_names.contains(&f) {
                    items[i].folder_names.push(f);
                }
            }
            continue;
        }
        seen.insert(key, items.len());
        let title = if e.title.trim().is_empty() {
            e.url.clone()
        } else {
            e.title
        };
        items.push(ImportItem {
            title: Some(title),
            forwarding_enabled: Some(e.shortcut.is_some()),
            slug: e.shortcut,
            url: Some(e.url),
            pinned: None,
            description: e.description,
            folder_names: folder.into_iter().collect(),
            tag_names: e.tags,
            created_at: e.add_date.map(Ts::from_unix),
            access_count: None,
            last_accessed_at: None,
            line: Some(e.line),
        });
    }
    Ok((items, note))
}

/// What spreadsheets read as the start of a formula (`=`, `+`, `-`, `@`, and a tab or carriage
/// return before one). A cell starting with one is exported with a `'` before it, so opening the
/// file runs nothing; the import takes that `'` away again.
fn formula_start(s: &str) -> bool {
    s.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// A cell for the CSV export: neutralised if a spreadsheet would take it for a formula. A cell
/// that already starts with `'`s before a formula start gets one more, so the import can always
/// take exactly one away.
pub fn csv_cell(s: &str) -> String {
    if formula_start(s.trim_start_matches('\'')) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// The value of a cell written by [`csv_cell`].
pub fn csv_value(s: &str) -> &str {
    match s.strip_prefix('\'') {
        Some(rest) if formula_start(rest.trim_start_matches('\'')) => rest,
        _ => s,
    }
}

pub const CSV_HEADER: [&str; 9] = [
    "title",
    "url",
    "slug",
    "forwarding_enabled",
    "pinned",
    "folders",
    "tags",
    "description",
    "created_at",
];

/// CSV with a header row; `folders` and `tags` hold names separated by `|`.
pub fn from_csv(data: &str) -> Result<Vec<ImportItem>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(data.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| {
            Error::bad_request(format!("The CSV file could not be read: {e}"))
                .with_code("INVALID_IMPORT_FILE")
        })?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.trim().eq_ignore_ascii_case(name));
    let (Some(ti), Some(ui)) = (col("title"), col("url")) else {
        return Err(
            Error::bad_request("The CSV file needs title and url columns").with_code("INVALID_IMPORT_FILE")
        );
    };
    let (si, fi, pi, foi, tai, di, ci) = (
        col("slug"),
        col("forwarding_enabled"),
        col("pinned"),
        col("folders"),
        col("tags"),
        col("description"),
        col("created_at"),
    );
    let mut items = Vec::new();
    for (n, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| {
            Error::bad_request(format!("The CSV file could not be read at record {}: {e}", n + 1))
                .with_code("INVALID_IMPORT_FILE")
        })?;
        let get = |i: Option<usize>| {
            i.and_then(|i| rec.get(i))
                .map(|s| csv_value(s).to_string())
                .filter(|s| !s.is_empty())
        };
        let split = |s: Option<String>| -> Vec<String> {
            s.map(|s| s.split('|').map(str::to_string).collect())
                .unwrap_or_default()
        };
        items.push(ImportItem {
            title: get(Some(ti)),
            url: get(Some(ui)),
            slug: get(si),
            forwarding_enabled: get(fi).map(|v| v == "true" || v == "1"),
            pinned: get(pi).map(|v| v == "true" || v == "1"),
            description: get(di),
            folder_names: split(get(foi)),
            tag_names: split(get(tai)),
            created_at: get(ci).and_then(|s| Ts::parse(&s)),
            access_count: None,
            last_accessed_at: None,
            line: rec.position().map(|p| p.line() as usize),
        });
    }
    Ok(items)
}

/// The formats an import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Html,
    Csv,
}

impl Format {
    /// The format a request body declares (`application/json`, `text/html`, `text/csv`).
    pub fn of_content_type(ct: &str) -> Option<Format> {
        let ct = ct.to_ascii_lowercase();
        if ct.starts_with("application/json") || ct.contains("+json") {
            Some(Format::Json)
        } else if ct.starts_with("text/html") {
            Some(Format::Html)
        } else if ct.starts_with("text/csv") {
            Some(Format::Csv)
        } else {
            None
        }
    }

    /// The format of an uploaded file, by its name, its declared type and its first bytes.
    pub fn sniff(name: Option<&str>, content_type: Option<&str>, data: &str) -> Format {
        let name = name.unwrap_or("").to_ascii_lowercase();
        let ct = content_type.unwrap_or("").to_ascii_lowercase();
        let start = data.trim_start_matches('\u{feff}').trim_start();
        if name.ends_with(".json") || ct.contains("json") || start.starts_with('[') || start.starts_with('{')
        {
            Format::Json
        } else if name.ends_with(".csv") || ct.contains("csv") {
            Format::Csv
        } else {
            Format::Html
        }
    }

    /// The entries of `data` in this format, and what was wrong but harmless about it.
    pub fn parse(self, data: &str) -> Result<(Vec<ImportItem>, Vec<String>)> {
        match self {
            Format::Json => {
                let v: Value = crate::error::parse_json(data.as_bytes())?;
                Ok((from_json(&v)?, Vec::new()))
            }
            Format::Html => from_netscape(data).map(|(items, note)| (items, note.into_iter().collect())),
            Format::Csv => Ok((from_csv(data)?, Vec::new())),
        }
    }
}
