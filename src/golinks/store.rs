//! Go links in the database: the bookmarks a slug can forward to, and remembered choices.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Candidate;
use crate::bookmarks::{validate_slug, validate_url, Slug};
use crate::db::{Db, Ts};
use crate::error::{Error, Result};
use crate::sharing::readable_sql;
use crate::{with_db, with_tx};

const CANDIDATE_COLUMNS: &str =
    "b.id, b.title, b.url, b.slug, b.user_id, u.name AS owner_name, u.email AS owner_email";

/// Readable, forwarding bookmarks with this slug: exact matches, or if there are none,
/// case-insensitive ones.
pub async fn candidates(db: &Db, user_id: &str, slug: &str) -> Result<Vec<Candidate>> {
    let readable = readable_sql("$1");
    let exact = format!(
        "SELECT {CANDIDATE_COLUMNS} FROM bookmarks b JOIN users u ON u.id = b.user_id \
         WHERE b.slug = $2 AND b.forwarding_enabled = TRUE AND {readable} ORDER BY b.created_at, b.id"
    );
    let found: Vec<Candidate> =
        with_db!(db, pool => sqlx::query_as(&exact).bind(user_id).bind(slug).fetch_all(pool).await?);
    if !found.is_empty() {
        return Ok(checked(found));
    }
    let folded = format!(
        "SELECT {CANDIDATE_COLUMNS} FROM bookmarks b JOIN users u ON u.id = b.user_id \
         WHERE b.slug IS NOT NULL AND LOWER(b.slug) = LOWER($2) AND b.forwarding_enabled = TRUE AND {readable} \
         ORDER BY b.created_at, b.id"
    );
    let found: Vec<Candidate> =
        with_db!(db, pool => sqlx::query_as(&folded).bind(user_id).bind(slug).fetch_all(pool).await?);
    Ok(checked(found))
}

fn checked(mut list: Vec<Candidate>) -> Vec<Candidate> {
    for c in &mut list {
        c.url_ok = validate_url("url", &c.url).is_ok();
    }
    list
}

/// Remembers `bookmark_id` as the user's choice for `slug`. The bookmark must be readable
/// (`Forbidden` otherwise), forward, and carry the slug (`NotFound` otherwise).
pub async fn remember(db: &Db, user_id: &str, slug: &Slug, bookmark_id: &str) -> Result<Candidate> {
    if !crate::sharing::can_read_bookmark(db, user_id, bookmark_id).await? {
        return Err(Error::forbidden());
    }
    let c = candidates(db, user_id, slug)
        .await?
        .into_iter()
        .find(|c| c.id == bookmark_id)
        .ok_or_else(|| Error::not_found("Bookmark not found or slug mismatch"))?;
    let now = Ts::now();
    let mut tx = db.begin().await?;
    with_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO slug_preferences (user_id, slug, bookmark_id, created_at, updated_at, tenant_id) \
         VALUES ($1, $2, $3, $4, $4, 'default') \
         ON CONFLICT (user_id, slug) DO UPDATE SET bookmark_id = excluded.bookmark_id, updated_at = excluded.updated_at")
        .bind(user_id).bind(slug.as_str()).bind(bookmark_id).bind(now).execute(c).await?.rows_affected());
    tx.commit().await?;
    Ok(c)
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Preference {
    pub slug: String,
    pub bookmark_id: String,
    pub title: String,
    pub url: String,
    #[sqlx(skip)]
    pub workspace: String,
    #[serde(skip)]
    pub user_id: String,
    #[serde(skip)]
    pub owner_name: Option<String>,
    pub created_at: Option<Ts>,
    pub updated_at: Option<Ts>,
}

pub async fn preferences(db: &Db, user_id: &str) -> Result<Vec<Preference>> {
    let mut list: Vec<Preference> = with_db!(db, pool => sqlx::query_as(
        "SELECT p.slug, p.bookmark_id, b.title, b.url, b.user_id, u.name AS owner_name, p.created_at, p.updated_at \
         FROM slug_preferences p JOIN bookmarks b ON b.id = p.bookmark_id JOIN users u ON u.id = b.user_id \
         WHERE p.user_id = $1 ORDER BY p.slug")
        .bind(user_id).fetch_all(pool).await?);
    for p in &mut list {
        p.workspace = if p.user_id == user_id {
            "Personal".into()
        } else {
            p.owner_name.clone().unwrap_or_else(|| "Shared".into())
        };
    }
    Ok(list)
}

async fn forget(db: &Db, user_id: &str, slug: &Slug) -> Result<bool> {
    let n = with_db!(db, pool => sqlx::query("DELETE FROM slug_preferences WHERE user_id = $1 AND slug = $2")
        .bind(user_id).bind(slug.as_str()).execute(pool).await?.rows_affected());
    Ok(n > 0)
}

#[derive(Deserialize, ToSchema, Default)]
pub struct PreferenceInput {
    /// Letters, digits, `-` and `_` (1–255).
    #[schema(value_type = String, required = true, pattern = "^\\s*[A-Za-z0-9_-]{1,255}\\s*$")]
    pub slug: Option<String>,
    #[schema(value_type = String, required = true, pattern = "^[\\s\\S]*\\S[\\s\\S]*$")]
    pub bookmark_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PreferenceSet {
    pub slug: String,
    pub bookmark_id: String,
}

/// Remembers which bookmark a slug should open for the user (when several match).
pub async fn set_preference(db: &Db, user_id: &str, input: PreferenceInput) -> Result<PreferenceSet> {
    let (Some(slug), Some(bookmark_id)) = (
        input.slug.filter(|s| !s.trim().is_empty()),
        input.bookmark_id.filter(|s| !s.trim().is_empty()),
    ) else {
        return Err(Error::bad_request("slug and bookmark_id are required").with_code("VALIDATION_ERROR"));
    };
    let slug = validate_slug("slug", &slug)?.ok_or_else(|| Error::invalid("slug", "Slug is required"))?;
    remember(db, user_id, &slug, &bookmark_id).await?;
    Ok(PreferenceSet {
        slug: slug.into_string(),
        bookmark_id,
    })
}

/// Forgets a remembered choice.
pub async fn forget_preference(db: &Db, user_id: &str, slug: &str) -> Result<()> {
    let slug = validate_slug("slug", slug)?.ok_or_else(|| Error::invalid("slug", "Slug is required"))?;
    if !forget(db, user_id, &slug).await? {
        return Err(Error::not_found("Preference not found"));
    }
    Ok(())
}
