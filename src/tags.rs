//! Tags: private to their owner, per-user unique names. Deleting a tag never deletes bookmarks.

use serde::Serialize;
use utoipa::ToSchema;

use crate::audit::{self, Origin};
use crate::bookmarks::write::recompute_tag_names;
use crate::db::params::Params;
use crate::db::{self, Db, Ts};
use crate::error::{Error, Result};
use crate::users::sanitize_text;
use crate::{bind_params, with_db, with_tx};

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Tag {
    pub id: String,
    pub user_id: String,
    pub tenant_id: String,
    pub name: String,
    pub created_at: Option<Ts>,
    /// Bookmarks carrying the tag.
    pub bookmark_count: i64,
}

const COLUMNS: &str = "t.id, t.user_id, t.tenant_id, t.name, t.created_at, \
     COALESCE((SELECT c.n FROM tag_counts c WHERE c.tag_id = t.id), 0) AS bookmark_count";

pub async fn list(
    db: &Db,
    user_id: &str,
    alphabetical: bool,
    limit: Option<i64>,
    offset: i64,
) -> Result<(Vec<Tag>, i64)> {
    let order = if alphabetical {
        "LOWER(t.name), t.id"
    } else {
        "t.created_at DESC, t.id DESC"
    };
    let total: i64 = with_db!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM tags WHERE user_id = $1")
        .bind(user_id).fetch_one(pool).await?);
    let mut p = Params::new();
    let u = p.push(user_id);
    let mut sql = format!("SELECT {COLUMNS} FROM tags t WHERE t.user_id = {u} ORDER BY {order}");
    if let Some(l) = limit {
        let lp = p.push(l);
        let op = p.push(offset);
        sql.push_str(&format!(" LIMIT {lp} OFFSET {op}"));
    }
    let rows = with_db!(db, pool => bind_params!(sqlx::query_as::<_, Tag>(&sql), p).fetch_all(pool).await?);
    Ok((rows, total))
}

pub async fn get(db: &Db, user_id: &str, id: &str) -> Result<Option<Tag>> {
    let sql = format!("SELECT {COLUMNS} FROM tags t WHERE t.id = $1 AND t.user_id = $2");
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, Tag>(&sql).bind(id).bind(user_id).fetch_optional(pool).await?),
    )
}

pub fn validate_name(name: Option<&str>) -> Result<String> {
    let raw = name.unwrap_or("");
    let n = sanitize_text(raw);
    if n.is_empty() {
        return Err(Error::invalid("name", "Name is required"));
    }
    // The limit holds for what was sent (as documented), not only for what is kept.
    if raw.chars().count() > 100 {
        return Err(Error::invalid("name", "Name must be no more than 100 characters"));
    }
    Ok(n)
}

fn duplicate() -> Error {
    Error::invalid("name", "Tag with this name already exists").with_code("DUPLICATE_NAME")
}

async fn record(db: &Db, origin: &Origin, actor: &str, action: &str, id: &str, name: &str) {
    audit::log(
        db,
        origin,
        Some(actor),
        action,
        "tag",
        Some(id),
        serde_json::json!({"name": name}),
    )
    .await;
}

/// Creates a tag (1–100 characters, unique per user).
pub async fn create(db: &Db, origin: &Origin, user_id: &str, name: Option<&str>) -> Result<Tag> {
    let id = insert(db, user_id, name).await?;
    let t = get(db, user_id, &id).await?.ok_or_else(Error::internal)?;
    record(db, origin, user_id, "tag.created", &id, &t.name).await;
    Ok(t)
}

async fn insert(db: &Db, user_id: &str, name: Option<&str>) -> Result<String> {
    let name = validate_name(name)?;
    let id = db::new_id();
    let res = with_db!(db, pool => sqlx::query(
        "INSERT INTO tags (id, user_id, name, created_at, tenant_id) VALUES ($1, $2, $3, $4, 'default')")
        .bind(&id).bind(user_id).bind(&name).bind(Ts::now()).execute(pool).await.map(|r| r.rows_affected()));
    match res {
        Ok(_) => Ok(id),
        Err(e) if db::is_unique_violation(&e) => Err(duplicate()),
        Err(e) => Err(e.into()),
    }
}

async fn owned_name(db: &Db, user_id: &str, id: &str) -> Result<String> {
    let row: Option<String> = with_db!(db, pool => sqlx::query_scalar(
        "SELECT name FROM tags WHERE id = $1 AND user_id = $2").bind(id).bind(user_id).fetch_optional(pool).await?);
    row.ok_or_else(|| Error::not_found("Tag not found"))
}

async fn tagged(db: &Db, id: &str) -> Result<Vec<String>> {
    Ok(with_db!(db, pool => sqlx::query_scalar::<_, String>(
        "SELECT bookmark_id FROM bookmark_tags WHERE tag_id = $1").bind(id).fetch_all(pool).await?))
}

/// Renames the owner's tag; the tagged bookmarks' search text follows in the same transaction.
pub async fn rename(db: &Db, origin: &Origin, user_id: &str, id: &str, name: Option<&str>) -> Result<Tag> {
    rename_in_tx(db, user_id, id, name).await?;
    let t = get(db, user_id, id).await?.ok_or_else(Error::internal)?;
    record(db, origin, user_id, "tag.updated", id, &t.name).await;
    Ok(t)
}

async fn rename_in_tx(db: &Db, user_id: &str, id: &str, name: Option<&str>) -> Result<()> {
    owned_name(db, user_id, id).await?;
    let name = validate_name(name)?;
    let affected = tagged(db, id).await?;
    let mut tx = db.begin().await?;
    let res = with_tx!(&mut tx, c => sqlx::query("UPDATE tags SET name = $1 WHERE id = $2")
        .bind(&name).bind(id).execute(c).await.map(|r| r.rows_affected()));
    match res {
        Err(e) if db::is_unique_violation(&e) => return Err(duplicate()),
        Err(e) => return Err(e.into()),
        Ok(_) => {}
    }
    recompute_tag_names(&mut tx, &affected).await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes the owner's tag (bookmarks stay).
pub async fn delete(db: &Db, origin: &Origin, user_id: &str, id: &str) -> Result<()> {
    let name = owned_name(db, user_id, id).await?;
    let affected = tagged(db, id).await?;
    let mut tx = db.begin().await?;
    with_tx!(&mut tx, c => sqlx::query("DELETE FROM tags WHERE id = $1").bind(id).execute(c).await?.rows_affected());
    recompute_tag_names(&mut tx, &affected).await?;
    tx.commit().await?;
    record(db, origin, user_id, "tag.deleted", id, &name).await;
    Ok(())
}
