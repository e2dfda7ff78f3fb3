//! Bookmark writes: create, update, delete and bulk actions. Everything a request refers to is
//! checked first; then one transaction does all of it, so a refused or failed request leaves
//! nothing behind; then the audit log records it.

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::model::*;
use super::{ListFilter, ListQuery};
use crate::audit::{self, Origin};
use crate::db::params::Params;
use crate::db::{self, Db, Ts, Tx};
use crate::error::{Error, Result};
use crate::input::double_option;
use crate::sharing::{check_folders, check_tags, check_teams, check_users, dedup, Scope};
use crate::{bind_params, with_db, with_tx};

async fn record(
    db: &Db,
    origin: &Origin,
    actor: &str,
    action: &str,
    id: Option<&str>,
    meta: serde_json::Value,
) {
    audit::log(db, origin, Some(actor), action, "bookmark", id, meta).await;
}

/// Create and update body (all fields optional on update).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct BookmarkInput {
    /// 1–500 characters (control characters are dropped, spaces trimmed); required on create.
    #[schema(
        max_length = 500,
        pattern = "^[\\s\\S]*[^\\s\\x00-\\x1f\\x7f-\\x9f][\\s\\S]*$"
    )]
    pub title: Option<String>,
    /// An `http` or `https` URL of at most 2048 characters; required on create.
    #[schema(
        max_length = 2048,
        pattern = "^\\s*[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*(:[1-9][0-9]{0,3})?(/[A-Za-z0-9._~!$&\'()*+,;=:@/-]*)?(\\?[A-Za-z0-9._~!$&\'()*+,;=:@/?-]*)?\\s*$"
    )]
    pub url: Option<String>,
    /// Letters, digits, `-`, `_`; unique across the instance. `""` or `null` removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, pattern = "^\\s*([A-Za-z0-9_-]{1,255})?\\s*$")]
    pub slug: Option<Option<String>>,
    /// Notes (up to 10,000 characters). `""` or `null` removes them.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 10000)]
    pub description: Option<Option<String>>,
    /// Forward `/go/<slug>` to the URL (needs a slug).
    pub forwarding_enabled: Option<bool>,
    pub pinned: Option<bool>,
    /// Replaces the folders (own folders only).
    pub folder_ids: Option<Vec<String>>,
    /// Replaces the tags (own tags only).
    pub tag_ids: Option<Vec<String>>,
    /// Replaces the team shares (teams the caller belongs to).
    pub team_ids: Option<Vec<String>>,
    /// Replaces the user shares.
    pub user_ids: Option<Vec<String>>,
    /// Share with every team the caller belongs to now.
    pub share_all_teams: Option<bool>,
}

/// Checked references: what the links and shares will be set to (`None`: leave as is).
#[derive(Default)]
pub struct Links {
    pub folders: Option<Vec<String>>,
    pub tags: Option<Vec<(String, String)>>,
    pub teams: Option<Vec<String>>,
    pub users: Option<Vec<String>>,
}

async fn check_links(db: &Db, user_id: &str, input: &BookmarkInput) -> Result<Links> {
    let mut links = Links::default();
    if let Some(f) = &input.folder_ids {
        links.folders = Some(check_folders(db, user_id, f).await?);
    }
    if let Some(t) = &input.tag_ids {
        links.tags = Some(check_tags(db, user_id, t).await?);
    }
    if input.share_all_teams == Some(true) {
        links.teams = Some(check_teams(db, user_id, &[], true).await?);
    } else if let Some(t) = &input.team_ids {
        links.teams = Some(check_teams(db, user_id, t, false).await?);
    }
    if let Some(u) = &input.user_ids {
        links.users = Some(check_users(db, user_id, u).await?);
    }
    Ok(links)
}

/// Writes the links of one bookmark inside `tx` (replacing what is given).
pub async fn write_links(tx: &mut Tx, bookmark_id: &str, links: &Links) -> Result<()> {
    if let Some(folders) = &links.folders {
        with_tx!(tx, c => sqlx::query("DELETE FROM bookmark_folders WHERE bookmark_id = $1")
            .bind(bookmark_id).execute(c).await?.rows_affected());
        for f in folders {
            with_tx!(tx, c => sqlx::query("INSERT INTO bookmark_folders (bookmark_id, folder_id) VALUES ($1, $2)")
                .bind(bookmark_id).bind(f).execute(c).await?.rows_affected());
        }
    }
    if let Some(tags) = &links.tags {
        with_tx!(tx, c => sqlx::query("DELETE FROM bookmark_tags WHERE bookmark_id = $1")
            .bind(bookmark_id).execute(c).await?.rows_affected());
        for (t, _) in tags {
            with_tx!(tx, c => sqlx::query("INSERT INTO bookmark_tags (bookmark_id, tag_id) VALUES ($1, $2)")
                .bind(bookmark_id).bind(t).execute(c).await?.rows_affected());
        }
        let names = tags.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>().join(" ");
        with_tx!(tx, c => sqlx::query("UPDATE bookmarks SET tag_names = $1 WHERE id = $2")
            .bind(names).bind(bookmark_id).execute(c).await?.rows_affected());
    }
    if let Some(teams) = &links.teams {
        with_tx!(tx, c => sqlx::query("DELETE FROM bookmark_team_shares WHERE bookmark_id = $1")
            .bind(bookmark_id).execute(c).await?.rows_affected());
        for t in teams {
            with_tx!(tx, c => sqlx::query("INSERT INTO bookmark_team_shares (bookmark_id, team_id) VALUES ($1, $2)")
                .bind(bookmark_id).bind(t).execute(c).await?.rows_affected());
        }
    }
    if let Some(users) = &links.users {
        with_tx!(tx, c => sqlx::query("DELETE FROM bookmark_user_shares WHERE bookmark_id = $1")
            .bind(bookmark_id).execute(c).await?.rows_affected());
        for u in users {
            with_tx!(tx, c => sqlx::query("INSERT INTO bookmark_user_shares (bookmark_id, user_id) VALUES ($1, $2)")
                .bind(bookmark_id).bind(u).execute(c).await?.rows_affected());
        }
    }
    Ok(())
}

/// Recomputes the denormalised `tag_names` of the given bookmarks (after tag links or names
/// changed in bulk). Dialect-specific: string aggregation differs.
pub async fn recompute_tag_names(tx: &mut Tx, ids: &[String]) -> Result<()> {
    for chunk in ids.chunks(5000) {
        let mut p = Params::new();
        let list = p.list(chunk);
        let sql = match tx {
            Tx::Sqlite(_) => format!(
                "UPDATE bookmarks SET tag_names = COALESCE((SELECT group_concat(name, ' ') FROM \
                 (SELECT t.name FROM bookmark_tags bt JOIN tags t ON t.id = bt.tag_id \
                  WHERE bt.bookmark_id = bookmarks.id ORDER BY t.name)), '') WHERE id IN ({list})"
            ),
            Tx::Postgres(_) => format!(
                "UPDATE bookmarks SET tag_names = COALESCE((SELECT string_agg(t.name, ' ' ORDER BY t.name) \
                 FROM bookmark_tags bt JOIN tags t ON t.id = bt.tag_id WHERE bt.bookmark_id = bookmarks.id), '') \
                 WHERE id IN ({list})"
            ),
        };
        with_tx!(tx, c => bind_params!(sqlx::query(&sql), p).execute(c).await?.rows_affected());
    }
    Ok(())
}

/// Whether another bookmark (than `except`) has `slug` (slugs are unique across the instance).
pub async fn slug_in_use(db: &Db, slug: &str, except: Option<&str>) -> Result<bool> {
    let row: Option<String> = with_db!(db, pool => sqlx::query_scalar(
        "SELECT id FROM bookmarks WHERE slug = $1 AND id <> $2 LIMIT 1")
        .bind(slug).bind(except.unwrap_or("")).fetch_optional(pool).await?);
    Ok(row.is_some())
}

fn map_unique(e: sqlx::Error) -> Error {
    if db::is_unique_violation(&e) {
        slug_taken()
    } else {
        e.into()
    }
}

/// Creates a bookmark (with its folders, tags and shares, all or nothing).
/// A URL typed into the API or a form: [`validate_url`], and no spaces or control characters
/// inside it (a URL parser would drop tabs and line breaks silently and encode spaces; the
/// stored address must be the one the user sees). Imports stay lenient with old files.
fn typed_url(url: &str) -> Result<String> {
    let u = validate_url("url", url)?;
    if u.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::invalid(
            "url",
            "URL must not contain spaces or control characters (encode a space as %20)",
        ));
    }
    Ok(u)
}

pub async fn create(db: &Db, origin: &Origin, user_id: &str, input: &BookmarkInput) -> Result<Bookmark> {
    let id = insert(db, user_id, input).await?;
    let b = super::get(db, user_id, &id).await?.ok_or_else(Error::internal)?;
    record(
        db,
        origin,
        user_id,
        "bookmark.created",
        Some(&id),
        json!({"title": b.title, "url": b.url}),
    )
    .await;
    Ok(b)
}

async fn insert(db: &Db, user_id: &str, input: &BookmarkInput) -> Result<String> {
    let (Some(title), Some(url)) = (
        input.title.as_deref().filter(|s| !s.trim().is_empty()),
        input.url.as_deref().filter(|s| !s.trim().is_empty()),
    ) else {
        let mut details = Vec::new();
        if input.title.as_deref().is_none_or(|s| s.trim().is_empty()) {
            details.push(crate::error::FieldError {
                field: "title".into(),
                message: "Title is required".into(),
            });
        }
        if input.url.as_deref().is_none_or(|s| s.trim().is_empty()) {
            details.push(crate::error::FieldError {
                field: "url".into(),
                message: "URL is required".into(),
            });
        }
        let mut e = Error::validation(details);
        e.message = "Missing required fields".into();
        return Err(e);
    };
    let title = validate_title("title", title)?;
    let url = typed_url(url)?;
    let slug = match &input.slug {
        Some(Some(s)) => validate_slug("slug", s)?.map(Slug::into_string),
        _ => None,
    };
    let description = match &input.description {
        Some(Some(d)) => validate_description("description", d)?,
        _ => None,
    };
    let forwarding = input.forwarding_enabled.unwrap_or(false);
    if forwarding && slug.is_none() {
        return Err(Error::invalid(
            "slug",
            "Slug is required when forwarding is enabled",
        ));
    }
    if let Some(s) = &slug {
        if slug_in_use(db, s, None).await? {
            return Err(slug_taken());
        }
    }
    let links = check_links(db, user_id, input).await?;

    let id = db::new_id();
    let now = Ts::now();
    let mut tx = db.begin().await?;
    with_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO bookmarks (id, user_id, title, url, slug, description, forwarding_enabled, pinned, access_count, \
         created_at, updated_at, tenant_id, tag_names) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $9, 'default', '')")
        .bind(&id).bind(user_id).bind(&title).bind(&url).bind(&slug).bind(&description)
        .bind(forwarding).bind(input.pinned.unwrap_or(false)).bind(now)
        .execute(c).await.map_err(map_unique)?.rows_affected());
    write_links(&mut tx, &id, &links).await?;
    tx.commit().await?;
    Ok(id)
}

/// Owner's bookmark (id, slug, forwarding) or 404 — others never learn it exists.
pub async fn owned(db: &Db, user_id: &str, id: &str) -> Result<(Option<String>, bool, String, String)> {
    let row: Option<(Option<String>, Option<bool>, String, String)> = with_db!(db, pool => sqlx::query_as(
        "SELECT slug, forwarding_enabled, title, url FROM bookmarks WHERE id = $1 AND user_id = $2")
        .bind(id).bind(user_id).fetch_optional(pool).await?);
    row.map(|(s, f, t, u)| (s, f.unwrap_or(false), t, u))
        .ok_or_else(|| Error::not_found("Bookmark not found"))
}

/// Partial update by the owner (others get 404).
pub async fn update(
    db: &Db,
    origin: &Origin,
    user_id: &str,
    id: &str,
    input: &BookmarkInput,
) -> Result<Bookmark> {
    change(db, user_id, id, input).await?;
    let b = super::get(db, user_id, id).await?.ok_or_else(Error::internal)?;
    record(
        db,
        origin,
        user_id,
        "bookmark.updated",
        Some(id),
        json!({"title": b.title, "url": b.url}),
    )
    .await;
    Ok(b)
}

async fn change(db: &Db, user_id: &str, id: &str, input: &BookmarkInput) -> Result<()> {
    let (stored_slug, stored_fwd, _, _) = owned(db, user_id, id).await?;
    let title = match &input.title {
        Some(t) => Some(validate_title("title", t)?),
        None => None,
    };
    let url = match &input.url {
        Some(u) => Some(typed_url(u)?),
        None => None,
    };
    let slug: Option<Option<String>> = match &input.slug {
        None => None,
        Some(None) => Some(None),
        Some(Some(s)) => Some(validate_slug("slug", s)?.map(Slug::into_string)),
    };
    let description: Option<Option<String>> = match &input.description {
        None => None,
        Some(None) => Some(None),
        Some(Some(d)) => Some(validate_description("description", d)?),
    };
    let new_slug = match &slug {
        Some(s) => s.clone(),
        None => stored_slug.clone(),
    };
    let mut forwarding = input.forwarding_enabled.unwrap_or(stored_fwd);
    if input.forwarding_enabled == Some(true) && new_slug.is_none() {
        return Err(Error::invalid(
            "slug",
            "Slug is required when forwarding is enabled",
        ));
    }
    if new_slug.is_none() {
        // Forwarding needs a slug: clearing the slug turns it off.
        forwarding = false;
    }
    if let Some(Some(s)) = &slug {
        if stored_slug.as_deref() != Some(s.as_str()) && slug_in_use(db, s, Some(id)).await? {
            return Err(slug_taken());
        }
    }
    let links = check_links(db, user_id, input).await?;

    let mut tx = db.begin().await?;
    with_tx!(&mut tx, c => sqlx::query(
        "UPDATE bookmarks SET title = COALESCE($1, title), url = COALESCE($2, url), slug = $3, \
         description = CASE WHEN $4 THEN $5 ELSE description END, forwarding_enabled = $6, \
         pinned = COALESCE($7, pinned), updated_at = $8 WHERE id = $9 AND user_id = $10")
        .bind(&title).bind(&url).bind(&new_slug).bind(description.is_some()).bind(description.clone().flatten())
        .bind(forwarding).bind(input.pinned).bind(Ts::now()).bind(id).bind(user_id)
        .execute(c).await.map_err(map_unique)?.rows_affected());
    write_links(&mut tx, id, &links).await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes the owner's bookmark.
pub async fn delete(db: &Db, origin: &Origin, user_id: &str, id: &str) -> Result<()> {
    let (_, _, title, url) = owned(db, user_id, id).await?;
    with_db!(db, pool => sqlx::query("DELETE FROM bookmarks WHERE id = $1 AND user_id = $2")
        .bind(id).bind(user_id).execute(pool).await?.rows_affected());
    record(
        db,
        origin,
        user_id,
        "bookmark.deleted",
        Some(id),
        json!({"title": title, "url": url}),
    )
    .await;
    Ok(())
}

/// Bulk action on many of the caller's bookmarks, all or nothing.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BulkInput {
    /// The bookmarks (own ones). Either this or `filter`.
    pub ids: Option<Vec<String>>,
    /// Every own bookmark matching these list filters.
    pub filter: Option<ListQuery>,
    /// `delete`, `move` (replace folders), `add_to_folders`, `remove_from_folders`, `add_tags`,
    /// `remove_tags`, `pin`, `unpin`.
    #[schema(value_type = BulkAction)]
    pub action: String,
    pub folder_ids: Option<Vec<String>>,
    pub tag_ids: Option<Vec<String>>,
}

/// What a bulk action does.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BulkAction {
    Delete,
    Move,
    AddToFolders,
    RemoveFromFolders,
    AddTags,
    RemoveTags,
    Pin,
    Unpin,
}

pub const BULK_MAX: usize = 10_000;

/// Runs a bulk action; returns how many bookmarks it touched.
pub async fn bulk(db: &Db, origin: &Origin, user_id: &str, input: &BulkInput) -> Result<usize> {
    let affected = bulk_in_tx(db, user_id, input).await?;
    record(
        db,
        origin,
        user_id,
        "bookmark.bulk",
        None,
        json!({"action": input.action, "affected": affected}),
    )
    .await;
    Ok(affected)
}

async fn bulk_in_tx(db: &Db, user_id: &str, input: &BulkInput) -> Result<usize> {
    let ids: Vec<String> = match (&input.ids, &input.filter) {
        (Some(ids), None) => {
            let ids = dedup(ids);
            if ids.len() > BULK_MAX {
                return Err(Error::invalid("ids", "At most 10000 bookmarks per bulk action"));
            }
            // All must be the caller's own; otherwise nothing happens.
            let mut owned_ids = Vec::new();
            for chunk in ids.chunks(5000) {
                let mut p = Params::new();
                let u = p.push(user_id);
                let list = p.list(chunk);
                let sql = format!("SELECT id FROM bookmarks WHERE user_id = {u} AND id IN ({list})");
                let found: Vec<String> =
                    with_db!(db, pool => bind_params!(sqlx::query_scalar(&sql), p).fetch_all(pool).await?);
                owned_ids.extend(found);
            }
            if owned_ids.len() != ids.len() {
                return Err(Error::not_found("Bookmark not found"));
            }
            ids
        }
        (None, Some(f)) => {
            let f = ListFilter {
                scope: Scope::Mine,
                ..ListFilter::parse(f)
            };
            // Own bookmarks only: nothing to remember about incoming shares.
            super::ids(db, &super::CountCache::default(), user_id, &f).await?
        }
        _ => return Err(Error::invalid("ids", "Give either ids or filter")),
    };
    let action = input.action.as_str();
    let folders = match action {
        "move" | "add_to_folders" | "remove_from_folders" => {
            let f = input
                .folder_ids
                .as_ref()
                .ok_or_else(|| Error::invalid("folder_ids", "folder_ids is required for this action"))?;
            check_folders(db, user_id, f).await?
        }
        _ => Vec::new(),
    };
    let tags = match action {
        "add_tags" | "remove_tags" => {
            let t = input
                .tag_ids
                .as_ref()
                .ok_or_else(|| Error::invalid("tag_ids", "tag_ids is required for this action"))?;
            check_tags(db, user_id, t).await?
        }
        _ => Vec::new(),
    };
    if !matches!(
        action,
        "delete"
            | "move"
            | "add_to_folders"
            | "remove_from_folders"
            | "add_tags"
            | "remove_tags"
            | "pin"
            | "unpin"
    ) {
        return Err(Error::invalid("action", format!("Unknown action {action:?}")));
    }
    if ids.is_empty() {
        return Ok(0);
    }
    let on_conflict = "ON CONFLICT DO NOTHING";
    let mut tx = db.begin().await?;
    for chunk in ids.chunks(2000) {
        let mut p = Params::new();
        let list = p.list(chunk);
        match action {
            "delete" => {
                let sql = format!("DELETE FROM bookmarks WHERE id IN ({list})");
                with_tx!(&mut tx, c => bind_params!(sqlx::query(&sql), p).execute(c).await?.rows_affected());
            }
            "pin" | "unpin" => {
                let v = p.push(action == "pin");
                let now = p.push(Ts::now());
                let sql =
                    format!("UPDATE bookmarks SET pinned = {v}, updated_at = {now} WHERE id IN ({list})");
                with_tx!(&mut tx, c => bind_params!(sqlx::query(&sql), p).execute(c).await?.rows_affected());
            }
            "move" | "remove_from_folders" => {
                let sql = if action == "move" {
                    format!("DELETE FROM bookmark_folders WHERE bookmark_id IN ({list})")
                } else {
                    let fl = p.list(&folders);
                    format!(
                        "DELETE FROM bookmark_folders WHERE bookmark_id IN ({list}) AND folder_id IN ({fl})"
                    )
                };
                with_tx!(&mut tx, c => bind_params!(sqlx::query(&sql), p).execute(c).await?.rows_affected());
            }
            "remove_tags" => {
                let tl = p.list(&tags.iter().map(|t| t.0.clone()).collect::<Vec<_>>());
                let sql =
                    format!("DELETE FROM bookmark_tags WHERE bookmark_id IN ({list}) AND tag_id IN ({tl})");
                with_tx!(&mut tx, c => bind_params!(sqlx::query(&sql), p).execute(c).await?.rows_affected());
            }
            _ => {}
        }
        if matches!(action, "move" | "add_to_folders") {
            for f in &folders {
                let mut p = Params::new();
                let fp = p.push(f.as_str());
                let list = p.list(chunk);
                let sql = format!(
                    "INSERT INTO bookmark_folders (bookmark_id, folder_id) SELECT id, {fp} FROM bookmarks \
                     WHERE id IN ({list}) {on_conflict}"
                );
                with_tx!(&mut tx, c => bind_params!(sqlx::query(&sql), p).execute(c).await?.rows_affected());
            }
        }
        if action == "add_tags" {
            for (t, _) in &tags {
                let mut p = Params::new();
                let tp = p.push(t.as_str());
                let list = p.list(chunk);
                let sql = format!(
                    "INSERT INTO bookmark_tags (bookmark_id, tag_id) SELECT id, {tp} FROM bookmarks \
                     WHERE id IN ({list}) {on_conflict}"
                );
                with_tx!(&mut tx, c => bind_params!(sqlx::query(&sql), p).execute(c).await?.rows_affected());
            }
        }
    }
    if matches!(action, "add_tags" | "remove_tags") {
        recompute_tag_names(&mut tx, &ids).await?;
    }
    tx.commit().await?;
    Ok(ids.len())
}
