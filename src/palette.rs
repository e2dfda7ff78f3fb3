//! The command palette's search: the best bookmarks, folders and tags for a few typed letters.

use crate::bookmarks::{self, CountCache, ListFilter};
use crate::db::params::escape_like;
use crate::db::{from_json, Db};
use crate::error::Result;
use crate::with_db;

/// Command-palette search: up to 10 bookmarks, 5 folders and 5 tags.
pub async fn search(db: &Db, counts: &CountCache, user_id: &str, q: &str) -> Result<Vec<serde_json::Value>> {
    let filter = ListFilter {
        text: q.trim().to_string(),
        limit: 10,
        ..Default::default()
    };
    // The ten best, neither counted nor hydrated: the palette shows none of that.
    let mut out: Vec<serde_json::Value> = bookmarks::best(db, counts, user_id, &filter)
        .await?
        .into_iter()
        .map(|b| {
            serde_json::json!({"id": b.id, "type": "bookmark", "title": b.title, "url": b.url,
                "slug": b.slug, "forwarding_enabled": b.forwarding_enabled})
        })
        .collect();
    let like = format!("%{}%", escape_like(&q.to_lowercase()));
    // The folders and tags in one statement.
    let sql = format!(
        "SELECT (SELECT {} FROM (SELECT f.id, f.name, f.icon FROM folders f \
                 WHERE LOWER(f.name) LIKE $2 ESCAPE '\\' AND {} ORDER BY LOWER(f.name) LIMIT 5) p), \
                (SELECT {} FROM (SELECT t.id, t.name FROM tags t \
                 WHERE t.user_id = $1 AND LOWER(t.name) LIKE $2 ESCAPE '\\' ORDER BY LOWER(t.name) LIMIT 5) p)",
        db.json_rows("p.id, p.name, p.icon", "LOWER(p.name)"),
        crate::sharing::folder_readable_sql("$1"),
        db.json_rows("p.id, p.name", "LOWER(p.name)"),
    );
    let (folders, tags): (String, String) =
        with_db!(db, pool => sqlx::query_as(&sql).bind(user_id).bind(&like).fetch_one(pool).await?);
    let folders: Vec<(String, String, Option<String>)> = from_json(&folders)?;
    for (id, title, icon) in folders {
        out.push(serde_json::json!({"id": id, "type": "folder", "title": title, "icon": icon}));
    }
    let tags: Vec<(String, String)> = from_json(&tags)?;
    for (id, title) in tags {
        out.push(serde_json::json!({"id": id, "type": "tag", "title": title}));
    }
    Ok(out)
}
