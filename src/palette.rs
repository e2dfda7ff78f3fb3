//! The command palette's search: the best bookmarks, folders and tags for a few typed letters.

use crate::bookmarks::{self, ListFilter};
use crate::db::params::escape_like;
use crate::db::Db;
use crate::error::Result;

/// Command-palette search: up to 10 bookmarks, 5 folders and 5 tags.
pub async fn search(db: &Db, user_id: &str, q: &str) -> Result<Vec<serde_json::Value>> {
    let filter = ListFilter {
        text: q.trim().to_string(),
        limit: 10,
        ..Default::default()
    };
    // The ten best, neither counted nor hydrated: the palette shows none of that.
    let mut out: Vec<serde_json::Value> = bookmarks::best(db, user_id, &filter)
        .await?
        .into_iter()
        .map(|b| {
            serde_json::json!({"id": b.id, "type": "bookmark", "title": b.title, "url": b.url,
                "slug": b.slug, "forwarding_enabled": b.forwarding_enabled})
        })
        .collect();
    let like = format!("%{}%", escape_like(&q.to_lowercase()));
    for f in crate::folders::search(db, user_id, &like, 5).await? {
        out.push(serde_json::json!({"id": f.0, "type": "folder", "title": f.1, "icon": f.2}));
    }
    for t in crate::tags::search(db, user_id, &like, 5).await? {
        out.push(serde_json::json!({"id": t.0, "type": "tag", "title": t.1}));
    }
    Ok(out)
}
