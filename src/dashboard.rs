//! Dashboard figures: totals, recent, most used, pinned, top tags — each one indexed query.

use serde::Serialize;
use utoipa::ToSchema;

use crate::bookmarks::{hydrate, BookmarkRow, BOOKMARK_COLUMNS};
use crate::db::{Db, Ts};
use crate::error::Result;
use crate::sharing::{has_incoming_shares, readable_sql};
use crate::with_db;

#[derive(Debug, Serialize, ToSchema)]
pub struct RecentBookmark {
    pub id: String,
    pub title: String,
    pub url: String,
    pub created_at: Option<Ts>,
    pub last_accessed_at: Option<Ts>,
    pub folder_names: Vec<String>,
    /// At most three.
    pub tag_names: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct TopTag {
    pub id: String,
    pub name: String,
    pub bookmark_count: i64,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct LinkItem {
    pub id: String,
    pub title: String,
    pub url: String,
    pub slug: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_count: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub total_bookmarks: i64,
    pub total_folders: i64,
    pub total_tags: i64,
    pub shared_bookmarks: i64,
    pub shared_folders: i64,
    pub recent_bookmarks: Vec<RecentBookmark>,
    pub top_tags: Vec<TopTag>,
    /// Own go links (forwarding on), most used first.
    pub quick_access_bookmarks: Vec<LinkItem>,
    pub pinned_bookmarks: Vec<LinkItem>,
}

async fn scalar(db: &Db, sql: &str, user: &str) -> Result<i64> {
    Ok(with_db!(db, pool => sqlx::query_scalar::<_, i64>(sql).bind(user).fetch_one(pool).await?))
}

pub async fn stats(db: &Db, user: &str) -> Result<Stats> {
    let total_bookmarks = scalar(db, "SELECT COUNT(*) FROM bookmarks WHERE user_id = $1", user).await?;
    let total_folders = scalar(db, "SELECT COUNT(*) FROM folders WHERE user_id = $1", user).await?;
    let total_tags = scalar(db, "SELECT COUNT(*) FROM tags WHERE user_id = $1", user).await?;
    let (shared_bookmarks, shared_folders) = if has_incoming_shares(db, user).await? {
        let b = format!(
            "SELECT COUNT(*) FROM bookmarks b WHERE b.user_id <> $1 AND {}",
            readable_sql("$1")
        );
        let f = "SELECT COUNT(*) FROM folders f WHERE f.user_id <> $1 AND \
                 (EXISTS (SELECT 1 FROM folder_user_shares s WHERE s.folder_id = f.id AND s.user_id = $1) \
                  OR EXISTS (SELECT 1 FROM folder_team_shares s JOIN team_members m ON m.team_id = s.team_id \
                             WHERE s.folder_id = f.id AND m.user_id = $1))";
        (scalar(db, &b, user).await?, scalar(db, f, user).await?)
    } else {
        (0, 0)
    };

    let recent_sql = format!(
        "SELECT {BOOKMARK_COLUMNS} FROM bookmarks b JOIN users u ON u.id = b.user_id WHERE b.user_id = $1 \
         ORDER BY b.created_at DESC, b.id DESC LIMIT 5"
    );
    let rows: Vec<BookmarkRow> =
        with_db!(db, pool => sqlx::query_as(&recent_sql).bind(user).fetch_all(pool).await?);
    let recent_bookmarks = hydrate(db, user, rows)
        .await?
        .into_iter()
        .map(|b| RecentBookmark {
            id: b.id,
            title: b.title,
            url: b.url,
            created_at: b.created_at,
            last_accessed_at: b.last_accessed_at,
            folder_names: b.folders.into_iter().map(|f| f.name).collect(),
            tag_names: b.tags.into_iter().take(3).map(|t| t.name).collect(),
        })
        .collect();

    let top_tags: Vec<TopTag> = with_db!(db, pool => sqlx::query_as(
        "SELECT t.id, t.name, COUNT(*) AS bookmark_count FROM tags t JOIN bookmark_tags bt ON bt.tag_id = t.id \
         WHERE t.user_id = $1 GROUP BY t.id, t.name ORDER BY bookmark_count DESC, t.name LIMIT 10")
        .bind(user).fetch_all(pool).await?);
    let quick_access_bookmarks: Vec<LinkItem> = with_db!(db, pool => sqlx::query_as(
        "SELECT id, title, url, slug, CAST(COALESCE(access_count, 0) AS BIGINT) AS access_count FROM bookmarks \
         WHERE user_id = $1 AND slug IS NOT NULL AND slug <> '' AND forwarding_enabled = TRUE \
         ORDER BY access_count DESC, CASE WHEN last_accessed_at IS NULL THEN 1 ELSE 0 END, last_accessed_at DESC, \
         created_at DESC LIMIT 16")
        .bind(user).fetch_all(pool).await?);
    let pinned_bookmarks: Vec<LinkItem> = with_db!(db, pool => sqlx::query_as(
        "SELECT id, title, url, slug, NULL AS access_count FROM bookmarks WHERE user_id = $1 AND pinned = TRUE \
         ORDER BY COALESCE(updated_at, created_at) DESC LIMIT 16")
        .bind(user).fetch_all(pool).await?);
    Ok(Stats {
        total_bookmarks,
        total_folders,
        total_tags,
        shared_bookmarks,
        shared_folders,
        recent_bookmarks,
        top_tags,
        quick_access_bookmarks,
        pinned_bookmarks,
    })
}
