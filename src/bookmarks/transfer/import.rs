//! Writing an import: every entry checked first, folders and tags created as needed, then all
//! good entries in one transaction.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::json;

use super::{Duplicates, Format, ImportItem, ImportOptions, ImportProblem, ImportReport};
use crate::audit::{self, Origin};
use crate::bookmarks::model::*;
use crate::db::params::Params;
use crate::db::{self, Db, Ts, Tx};
use crate::error::{Error, FieldError, Result};
use crate::users::sanitize_text;
use crate::{bind_params, with_db, with_tx};

/// Imports a file in `format` for the user: parsed beside the request threads, written, and
/// recorded in the audit log (when something was imported for real).
pub async fn import_file(
    db: &Db,
    origin: &Origin,
    user_id: &str,
    format: Format,
    data: String,
    opts: ImportOptions,
) -> Result<ImportReport> {
    let (items, warnings) = crate::error::off_thread(move || format.parse(&data)).await??;
    tracing::debug!(entries = items.len(), "import: parsed");
    let report = import(db, user_id, items, opts).await.map(|mut r| {
        r.warnings = warnings;
        r
    });
    // A large import leaves freed memory behind; give it back now rather than at the next tick
    // (on a blocking thread: trimming the heap is no work for a request thread).
    drop(tokio::task::spawn_blocking(crate::telemetry::release_free_memory));
    let report = report?;
    if report.success > 0 && !report.dry_run {
        audit::log(
            db,
            origin,
            Some(user_id),
            "bookmark.import",
            "bookmark",
            None,
            json!({"success": report.success, "failed": report.failed, "skipped": report.skipped}),
        )
        .await;
    }
    Ok(report)
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
            .map(Slug::into_string)
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
        warnings: Vec::new(),
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
    if ready.len() >= 1_000 {
        refresh_statistics(db);
    }
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

/// After a large import PostgreSQL's planner would go on planning with the old statistics (a
/// user with "nine bookmarks" now has 100,000, so it walks them all to filter a search) until
/// autovacuum next analyses the tables; measured: palette search 175 req/s before, 887 after.
/// Refreshed in the background, so the import's answer does not wait for it.
fn refresh_statistics(db: &Db) {
    if let Db::Postgres(pool) = db {
        let pool = pool.clone();
        tokio::spawn(async move {
            let sql = "ANALYZE bookmarks, bookmark_tags, bookmark_folders, tags, folders";
            if let Err(e) = sqlx::query(sql).execute(&pool).await {
                tracing::warn!(error = %e, "could not refresh the planner's statistics after an import");
            }
        });
    }
}
