//! Dashboard figures: totals, recent, most used, pinned, top tags — one statement, each figure
//! an indexed subquery; the bookmark total and the tag counts are kept by triggers (migration 13).

use serde::Serialize;
use utoipa::ToSchema;

use crate::bookmarks::CountCache;
use crate::db::{Db, Ts};
use crate::error::Result;
use crate::sharing::readable_sql;
use crate::with_db;
use serde_json::Value;

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

/// Everything but the shared counts in one statement: the database assembles the lists as JSON
/// (a round trip per figure cost more than the figures themselves).
#[derive(sqlx::FromRow)]
struct Figures {
    total_bookmarks: i64,
    total_folders: i64,
    total_tags: i64,
    recent: String,
    top_tags: String,
    quick: String,
    pinned: String,
}

const SQLITE_FIGURES: &str = "SELECT \
  COALESCE((SELECT n FROM bookmark_counts WHERE user_id = $1), 0) AS total_bookmarks, \
  (SELECT COUNT(*) FROM folders WHERE user_id = $1) AS total_folders, \
  (SELECT COUNT(*) FROM tags WHERE user_id = $1) AS total_tags, \
  (SELECT json_group_array(json_object('id', r.id, 'title', r.title, 'url', r.url, \
      'created_at', CAST(r.created_at AS TEXT), 'last_accessed_at', CAST(r.last_accessed_at AS TEXT), \
      'folder_names', json((SELECT json_group_array(x.name) FROM (SELECT f.name FROM bookmark_folders bf \
          JOIN folders f ON f.id = bf.folder_id WHERE bf.bookmark_id = r.id ORDER BY f.name) x)), \
      'tag_names', json((SELECT json_group_array(x.name) FROM (SELECT t.name FROM bookmark_tags bt \
          JOIN tags t ON t.id = bt.tag_id WHERE bt.bookmark_id = r.id ORDER BY t.name LIMIT 3) x)))) \
    FROM (SELECT id, title, url, created_at, last_accessed_at FROM bookmarks WHERE user_id = $1 \
          ORDER BY created_at DESC, id DESC LIMIT 5) r) AS recent, \
  (SELECT json_group_array(json_object('id', x.id, 'name', x.name, 'bookmark_count', x.n)) \
    FROM (SELECT t.id, t.name, c.n FROM tag_counts c JOIN tags t ON t.id = c.tag_id \
          WHERE c.user_id = $1 AND c.n > 0 ORDER BY c.n DESC, t.name LIMIT 10) x) AS top_tags, \
  (SELECT json_group_array(json_object('id', x.id, 'title', x.title, 'url', x.url, 'slug', x.slug, 'access_count', x.n)) \
    FROM (SELECT id, title, url, slug, CAST(COALESCE(access_count, 0) AS BIGINT) AS n FROM bookmarks \
          WHERE user_id = $1 AND slug IS NOT NULL AND slug <> '' AND forwarding_enabled = TRUE \
          ORDER BY COALESCE(access_count, 0) DESC, (last_accessed_at IS NULL), last_accessed_at DESC, \
          created_at DESC LIMIT 16) x) AS quick, \
  (SELECT json_group_array(json_object('id', x.id, 'title', x.title, 'url', x.url, 'slug', x.slug)) \
    FROM (SELECT id, title, url, slug FROM bookmarks WHERE user_id = $1 AND pinned = TRUE \
          ORDER BY COALESCE(updated_at, created_at) DESC, id DESC LIMIT 16) x) AS pinned";

const POSTGRES_FIGURES: &str = "SELECT \
  COALESCE((SELECT n FROM bookmark_counts WHERE user_id = $1), 0) AS total_bookmarks, \
  (SELECT COUNT(*) FROM folders WHERE user_id = $1) AS total_folders, \
  (SELECT COUNT(*) FROM tags WHERE user_id = $1) AS total_tags, \
  (SELECT COALESCE(json_agg(json_build_object('id', r.id, 'title', r.title, 'url', r.url, \
      'created_at', r.created_at, 'last_accessed_at', r.last_accessed_at, \
      'folder_names', (SELECT COALESCE(json_agg(f.name ORDER BY f.name), '[]'::json) FROM bookmark_folders bf \
          JOIN folders f ON f.id = bf.folder_id WHERE bf.bookmark_id = r.id), \
      'tag_names', (SELECT COALESCE(json_agg(x.name ORDER BY x.name), '[]'::json) FROM (SELECT t.name FROM bookmark_tags bt \
          JOIN tags t ON t.id = bt.tag_id WHERE bt.bookmark_id = r.id ORDER BY t.name LIMIT 3) x)) \
      ORDER BY r.created_at DESC, r.id DESC), '[]'::json)::text \
    FROM (SELECT id, title, url, created_at, last_accessed_at FROM bookmarks WHERE user_id = $1 \
          ORDER BY created_at DESC, id DESC LIMIT 5) r) AS recent, \
  (SELECT COALESCE(json_agg(json_build_object('id', x.id, 'name', x.name, 'bookmark_count', x.n) \
      ORDER BY x.n DESC, x.name), '[]'::json)::text \
    FROM (SELECT t.id, t.name, c.n FROM tag_counts c JOIN tags t ON t.id = c.tag_id \
          WHERE c.user_id = $1 AND c.n > 0 ORDER BY c.n DESC, t.name LIMIT 10) x) AS top_tags, \
  (SELECT COALESCE(json_agg(json_build_object('id', x.id, 'title', x.title, 'url', x.url, 'slug', x.slug, \
      'access_count', x.n) ORDER BY x.n DESC, x.unused, x.last_accessed_at DESC, x.created_at DESC), '[]'::json)::text \
    FROM (SELECT id, title, url, slug, CAST(COALESCE(access_count, 0) AS BIGINT) AS n, \
          (last_accessed_at IS NULL) AS unused, last_accessed_at, created_at FROM bookmarks \
          WHERE user_id = $1 AND slug IS NOT NULL AND slug <> '' AND forwarding_enabled = TRUE \
          ORDER BY COALESCE(access_count, 0) DESC, (last_accessed_at IS NULL), last_accessed_at DESC, \
          created_at DESC LIMIT 16) x) AS quick, \
  (SELECT COALESCE(json_agg(json_build_object('id', x.id, 'title', x.title, 'url', x.url, 'slug', x.slug) \
      ORDER BY x.k DESC, x.id DESC), '[]'::json)::text \
    FROM (SELECT id, title, url, slug, COALESCE(updated_at, created_at) AS k \
          FROM bookmarks WHERE user_id = $1 AND pinned = TRUE \
          ORDER BY COALESCE(updated_at, created_at) DESC, id DESC LIMIT 16) x) AS pinned";

pub async fn stats(db: &Db, counts: &CountCache, user: &str) -> Result<Stats> {
    let (shared_bookmarks, shared_folders) = if counts.incoming_shares(db, user).await? {
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

    let sql = match db {
        Db::Sqlite(_) => SQLITE_FIGURES,
        Db::Postgres(_) => POSTGRES_FIGURES,
    };
    let f: Figures = with_db!(db, pool => sqlx::query_as(sql).bind(user).fetch_one(pool).await?);
    let parse = |what: &str, json: &str| -> Result<Vec<Value>> {
        serde_json::from_str(json).map_err(|e| {
            tracing::error!(error = %e, what, "dashboard figures do not parse");
            crate::error::Error::internal()
        })
    };
    let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    let texts = |v: &Value, k: &str| -> Vec<String> {
        v[k].as_array()
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    let ts = |v: &Value, k: &str| v[k].as_str().map(Ts::parse_lenient);
    let recent_bookmarks = parse("recent", &f.recent)?
        .iter()
        .map(|v| RecentBookmark {
            id: text(v, "id"),
            title: text(v, "title"),
            url: text(v, "url"),
            created_at: ts(v, "created_at"),
            last_accessed_at: ts(v, "last_accessed_at"),
            folder_names: texts(v, "folder_names"),
            tag_names: texts(v, "tag_names"),
        })
        .collect();
    let top_tags = parse("top_tags", &f.top_tags)?
        .iter()
        .map(|v| TopTag {
            id: text(v, "id"),
            name: text(v, "name"),
            bookmark_count: v["bookmark_count"].as_i64().unwrap_or(0),
        })
        .collect();
    let link = |v: &Value| LinkItem {
        id: text(v, "id"),
        title: text(v, "title"),
        url: text(v, "url"),
        slug: v["slug"].as_str().map(str::to_string),
        access_count: v["access_count"].as_i64(),
    };
    let quick_access_bookmarks = parse("quick", &f.quick)?.iter().map(link).collect();
    let pinned_bookmarks = parse("pinned", &f.pinned)?.iter().map(link).collect();
    let Figures {
        total_bookmarks,
        total_folders,
        total_tags,
        ..
    } = f;
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
