//! Import and export: the original's JSON, Netscape bookmark HTML (what every browser exports)
//! and CSV. Import checks everything first, then writes all good entries in one transaction.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::model::*;
use super::netscape;
use crate::db::params::Params;
use crate::db::{self, Db, Ts, Tx};
use crate::error::{Error, FieldError, Result};
use crate::users::sanitize_text;
use crate::{bind_params, with_db, with_tx};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duplicates {
    /// Import every entry (the original's behaviour).
    Keep,
    /// Skip entries whose URL the user already has (or that came earlier in the same file).
    Skip,
}

#[derive(Debug, Clone, Copy)]
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
pub fn from_netscape(html: &str) -> Result<Vec<ImportItem>> {
    let entries = netscape::parse(html).map_err(|e| {
        Error::bad_request(format!("The bookmark file could not be read: {e}"))
            .with_code("INVALID_IMPORT_FILE")
    })?;
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
    Ok(items)
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
                .map(str::to_string)
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

struct Ready {
    title: String,
    url: String,
    slug: Option<String>,
    forwarding: bool,
    pinned: bool,
    description: Option<String>,
    folders: Vec<String>,
    tags: Vec<String>,
    created_at: Ts,
    access_count: i64,
    last_accessed_at: Option<Ts>,
}

fn clean_names(v: &[String], max: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in v {
        let n = sanitize_text(n);
        if !n.is_empty() && n.chars().count() <= max && !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

/// Imports `items` for `user_id`.
pub async fn import(
    db: &Db,
    user_id: &str,
    items: Vec<ImportItem>,
    opts: ImportOptions,
) -> Result<ImportReport> {
    let started = std::time::Instant::now();
    // What exists already: slugs (instance-wide), the user's URLs, folders and tags.
    let taken_slugs: HashSet<String> = with_db!(db, pool => sqlx::query_scalar::<_, String>(
        "SELECT slug FROM bookmarks WHERE slug IS NOT NULL").fetch_all(pool).await?)
    .into_iter()
    .collect();
    let mut known_urls: HashSet<String> = if opts.duplicates == Duplicates::Skip {
        with_db!(db, pool => sqlx::query_scalar::<_, String>("SELECT url FROM bookmarks WHERE user_id = $1")
            .bind(user_id).fetch_all(pool).await?)
        .into_iter()
        .collect()
    } else {
        HashSet::new()
    };
    let folders: HashMap<String, String> = with_db!(db, pool => sqlx::query_as::<_, (String, String)>(
        "SELECT name, id FROM folders WHERE user_id = $1").bind(user_id).fetch_all(pool).await?)
    .into_iter()
    .collect();
    let tags: HashMap<String, String> = with_db!(db, pool => sqlx::query_as::<_, (String, String)>(
        "SELECT name, id FROM tags WHERE user_id = $1").bind(user_id).fetch_all(pool).await?)
    .into_iter()
    .collect();

    let mut ready: Vec<Ready> = Vec::new();
    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    let mut used_slugs: HashSet<String> = HashSet::new();
    let base_time = Ts::now();
    for (i, item) in items.into_iter().enumerate() {
        let problem = |error: &str, detail: Option<String>| ImportProblem {
            position: i + 1,
            line: item.line,
            title: item.title.clone(),
            url: item.url.clone(),
            error: error.to_string(),
            detail,
        };
        let (Some(title), Some(url)) = (
            item.title.as_deref().filter(|s| !s.trim().is_empty()),
            item.url.as_deref().filter(|s| !s.trim().is_empty()),
        ) else {
            failures.push(problem("Missing title or URL", None));
            continue;
        };
        let url = match validate_url("url", url) {
            Ok(u) => u,
            Err(e) => {
                let lower = url.trim().to_ascii_lowercase();
                let why = if lower.starts_with("javascript:") || lower.starts_with("place:") {
                    "bookmarklets and browser-internal links cannot be imported".to_string()
                } else {
                    e.message.to_string()
                };
                failures.push(problem("Invalid URL", Some(why)));
                continue;
            }
        };
        let Ok(title) = validate_title("title", title) else {
            failures.push(problem("Invalid title", None));
            continue;
        };
        if opts.duplicates == Duplicates::Skip && !known_urls.insert(url.clone()) {
            skipped.push(problem(
                "Duplicate URL",
                Some("the collection already has this URL".into()),
            ));
            continue;
        }
        // A slug that is invalid or taken is dropped (and forwarding with it); the bookmark stays.
        let slug = item
            .slug
            .as_deref()
            .and_then(|s| validate_slug("slug", s).ok().flatten())
            .filter(|s| !taken_slugs.contains(s) && used_slugs.insert(s.clone()));
        let description = item
            .description
            .as_deref()
            .and_then(|d| validate_description("description", d).ok().flatten());
        ready.push(Ready {
            forwarding: slug.is_some() && item.forwarding_enabled.unwrap_or(false),
            slug,
            pinned: item.pinned.unwrap_or(false),
            description,
            folders: clean_names(&item.folder_names, 255),
            tags: clean_names(&item.tag_names, 100),
            // Entries without a date keep the file's order (newest first, as exports list them).
            created_at: item
                .created_at
                .unwrap_or_else(|| base_time.minus(std::time::Duration::from_millis(i as u64))),
            access_count: item.access_count.unwrap_or(0),
            last_accessed_at: item.last_accessed_at,
            title,
            url,
        });
    }

    let new_folders: Vec<String> = {
        let mut s: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        for r in &ready {
            for f in &r.folders {
                if !folders.contains_key(f) && seen.insert(f.clone()) {
                    s.push(f.clone());
                }
            }
        }
        s
    };
    let new_tags: Vec<String> = {
        let mut s: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        for r in &ready {
            for t in &r.tags {
                if !tags.contains_key(t) && seen.insert(t.clone()) {
                    s.push(t.clone());
                }
            }
        }
        s
    };

    let report = |created: usize, failures: Vec<ImportProblem>, skipped: Vec<ImportProblem>| ImportReport {
        message: format!(
            "Imported {created} bookmark(s), {} failed{}",
            failures.len(),
            if skipped.is_empty() {
                String::new()
            } else {
                format!(", {} skipped", skipped.len())
            }
        ),
        success: created,
        failed: failures.len(),
        errors: failures.iter().map(|f| f.error.clone()).collect(),
        skipped: skipped.len(),
        failures,
        skipped_entries: skipped,
        folders_created: new_folders.len(),
        tags_created: new_tags.len(),
        dry_run: opts.dry_run,
    };

    if opts.strict && !failures.is_empty() {
        let details = failures
            .iter()
            .take(100)
            .map(|f| FieldError {
                field: format!("bookmarks[{}]", f.position - 1),
                message: {
                    let what = match &f.detail {
                        Some(d) => format!("{}: {d}", f.error),
                        None => f.error.clone(),
                    };
                    match f.line {
                        Some(l) => format!("entry {} (line {l}): {what}", f.position),
                        None => format!("entry {}: {what}", f.position),
                    }
                },
            })
            .collect();
        let mut e = Error::validation(details).with_code("IMPORT_REJECTED");
        e.message = format!(
            "Nothing was imported: {} entr{} could not be imported (strict mode)",
            failures.len(),
            if failures.len() == 1 { "y" } else { "ies" }
        )
        .into();
        return Err(e);
    }
    if opts.dry_run {
        return Ok(report(ready.len(), failures, skipped));
    }

    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        entries = ready.len(),
        "import: checked"
    );
    let mut tx = db.begin().await?;
    let mut folder_ids = folders;
    let mut tag_ids = tags;
    let now = Ts::now();
    for chunk in new_folders.chunks(500) {
        let mut p = Params::new();
        let mut values = Vec::new();
        for name in chunk {
            let id = db::new_id();
            values.push(format!(
                "({}, {}, {}, {}, 'default')",
                p.push(id.as_str()),
                p.push(user_id),
                p.push(name),
                p.push(now)
            ));
            folder_ids.insert(name.clone(), id);
        }
        let sql = format!(
            "INSERT INTO folders (id, user_id, name, created_at, tenant_id) VALUES {}",
            values.join(", ")
        );
        with_tx!(&mut tx, c => bind_params!(sqlx::query(&sql), p).execute(c).await?.rows_affected());
    }
    for chunk in new_tags.chunks(500) {
        let mut p = Params::new();
        let mut values = Vec::new();
        for name in chunk {
            let id = db::new_id();
            values.push(format!(
                "({}, {}, {}, {}, 'default')",
                p.push(id.as_str()),
                p.push(user_id),
                p.push(name),
                p.push(now)
            ));
            tag_ids.insert(name.clone(), id);
        }
        let sql = format!(
            "INSERT INTO tags (id, user_id, name, created_at, tenant_id) VALUES {}",
            values.join(", ")
        );
        with_tx!(&mut tx, c => bind_params!(sqlx::query(&sql), p).execute(c).await?.rows_affected());
    }
    // Oldest first: the (user, created_at) index then grows at its end too.
    ready.sort_by_key(|r| r.created_at);
    insert_bookmarks(&mut tx, user_id, &ready, &folder_ids, &tag_ids).await?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "import: written"
    );
    tx.commit().await?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "import: committed"
    );
    Ok(report(ready.len(), failures, skipped))
}

/// One new bookmark row as the insert statements below unpack it.
#[derive(Serialize)]
struct NewRow<'a> {
    id: &'a str,
    title: &'a str,
    url: &'a str,
    slug: Option<&'a str>,
    description: Option<&'a str>,
    forwarding_enabled: bool,
    pinned: bool,
    access_count: i64,
    last_accessed_at: Option<Ts>,
    created_at: Ts,
    tag_names: String,
}

/// Rows travel as one JSON array per statement, unpacked by the database (`json_each` /
/// `jsonb_to_recordset`): one bound value instead of a dozen per row.
const INSERT_BOOKMARKS_SQLITE: &str = "INSERT INTO bookmarks (id, user_id, title, url, slug, description, \
     forwarding_enabled, pinned, access_count, last_accessed_at, created_at, updated_at, tenant_id, tag_names) \
     SELECT value ->> '$.id', $2, value ->> '$.title', value ->> '$.url', value ->> '$.slug', \
     value ->> '$.description', value ->> '$.forwarding_enabled', value ->> '$.pinned', value ->> '$.access_count', \
     value ->> '$.last_accessed_at', value ->> '$.created_at', $3, 'default', value ->> '$.tag_names' \
     FROM json_each($1)";
const INSERT_BOOKMARKS_POSTGRES: &str = "INSERT INTO bookmarks (id, user_id, title, url, slug, description, \
     forwarding_enabled, pinned, access_count, last_accessed_at, created_at, updated_at, tenant_id, tag_names) \
     SELECT r.id, $2, r.title, r.url, r.slug, r.description, r.forwarding_enabled, r.pinned, r.access_count, \
     r.last_accessed_at, r.created_at, $3, 'default', r.tag_names \
     FROM jsonb_to_recordset($1::jsonb) AS r(id text, title text, url text, slug text, \
     description text, forwarding_enabled boolean, pinned boolean, access_count integer, \
     last_accessed_at timestamp, created_at timestamp, tag_names text)";
/// `[[bookmark id, folder or tag id], …]` into a link table (`{table}` and `{col}` are ours).
const INSERT_LINKS_SQLITE: &str =
    "INSERT INTO {table} (bookmark_id, {col}) SELECT value ->> 0, value ->> 1 FROM json_each($1)";
const INSERT_LINKS_POSTGRES: &str =
    "INSERT INTO {table} (bookmark_id, {col}) SELECT x ->> 0, x ->> 1 FROM jsonb_array_elements($1::jsonb) AS x";

fn to_json<T: Serialize + ?Sized>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| {
        tracing::error!(error = %e, "import: could not serialize rows");
        Error::internal()
    })
}

/// Bookmarks per insert statement (the JSON of one chunk is a few MiB at most).
const IMPORT_CHUNK: usize = 5_000;

async fn insert_bookmarks(
    tx: &mut Tx,
    user_id: &str,
    ready: &[Ready],
    folder_ids: &HashMap<String, String>,
    tag_ids: &HashMap<String, String>,
) -> Result<()> {
    let now = Ts::now();
    let sqlite = matches!(tx, Tx::Sqlite(_));
    let mut folder_links: Vec<(&str, &str)> = Vec::new();
    let mut tag_links: Vec<(&str, &str)> = Vec::new();
    // The new ids, in ascending order: the primary-key index and the link tables' keys then grow
    // at their end instead of at random places all over the file (ids stay random UUIDs).
    let mut ids: Vec<String> = (0..ready.len()).map(|_| db::new_id()).collect();
    ids.sort_unstable();
    for (r, id) in ready.iter().zip(&ids) {
        for f in &r.folders {
            if let Some(fid) = folder_ids.get(f) {
                folder_links.push((id, fid));
            }
        }
        for t in &r.tags {
            if let Some(tid) = tag_ids.get(t) {
                tag_links.push((id, tid));
            }
        }
    }
    for (chunk, chunk_ids) in ready.chunks(IMPORT_CHUNK).zip(ids.chunks(IMPORT_CHUNK)) {
        let rows: Vec<NewRow> = chunk
            .iter()
            .zip(chunk_ids)
            .map(|(r, id)| {
                let mut tag_names: Vec<&str> = r.tags.iter().map(String::as_str).collect();
                tag_names.sort_unstable();
                NewRow {
                    id,
                    title: &r.title,
                    url: &r.url,
                    slug: r.slug.as_deref(),
                    description: r.description.as_deref(),
                    forwarding_enabled: r.forwarding,
                    pinned: r.pinned,
                    access_count: r.access_count,
                    last_accessed_at: r.last_accessed_at,
                    created_at: r.created_at,
                    tag_names: tag_names.join(" "),
                }
            })
            .collect();
        let json = to_json(&rows)?;
        let sql = if sqlite {
            INSERT_BOOKMARKS_SQLITE
        } else {
            INSERT_BOOKMARKS_POSTGRES
        };
        let res = with_tx!(tx, c => sqlx::query(sql).bind(json).bind(user_id).bind(now)
            .execute(c).await.map(|r| r.rows_affected()));
        if let Err(e) = res {
            if db::is_unique_violation(&e) {
                // Another request took one of the slugs meanwhile.
                return Err(Error::conflict(
                    "SLUG_TAKEN",
                    "A slug in the import was taken meanwhile; try again",
                ));
            }
            return Err(e.into());
        }
    }
    tracing::debug!(rows = ready.len(), "import: bookmark rows written");
    for (table, col, links) in [
        ("bookmark_folders", "folder_id", &folder_links),
        ("bookmark_tags", "tag_id", &tag_links),
    ] {
        let sql = if sqlite {
            INSERT_LINKS_SQLITE
        } else {
            INSERT_LINKS_POSTGRES
        }
        .replace("{table}", table)
        .replace("{col}", col);
        for chunk in links.chunks(IMPORT_CHUNK * 2) {
            let json = to_json(&chunk)?;
            with_tx!(tx, c => sqlx::query(&sql).bind(json).execute(c).await?.rows_affected());
        }
    }
    Ok(())
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
        super::readable_sql(&u)
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
    let full = super::hydrate(db, user_id, rows).await?;
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

pub fn csv_row(it: &ExportItem) -> Vec<String> {
    vec![
        it.title.clone(),
        it.url.clone(),
        it.slug.clone(),
        it.forwarding_enabled.to_string(),
        it.pinned.to_string(),
        it.folder_names.join("|"),
        it.tag_names.join("|"),
        it.description.clone().unwrap_or_default(),
        it.created_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
    ]
}
