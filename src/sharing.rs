//! Who may see what: the one definition of "readable" for bookmarks and folders (owner, shared
//! directly, shared with one of the user's teams, or in a folder shared either way), the checks
//! that what a write refers to is the caller's, and the share shapes bookmarks and folders carry.

use serde::Serialize;
use utoipa::ToSchema;

use crate::db::params::Params;
use crate::db::{Db, Ts};
use crate::error::{Error, Kind, Result};
use crate::{bind_params, with_db};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    Mine,
    SharedWithMe,
    SharedByMe,
}

impl Scope {
    pub fn parse(s: Option<&str>) -> Scope {
        match s.unwrap_or("all") {
            "mine" => Scope::Mine,
            "shared_with_me" | "shared" => Scope::SharedWithMe,
            "shared_by_me" => Scope::SharedByMe,
            _ => Scope::All,
        }
    }
}

/// SQL condition: bookmark `b` is readable by the user behind placeholder `u` — owner, shared
/// directly, shared with one of their teams, or in a folder shared with them or one of their
/// teams. The one definition every read path uses.
pub fn readable_sql(u: &str) -> String {
    format!(
        "(b.user_id = {u} \
         OR EXISTS (SELECT 1 FROM bookmark_user_shares s WHERE s.bookmark_id = b.id AND s.user_id = {u}) \
         OR EXISTS (SELECT 1 FROM bookmark_team_shares s JOIN team_members m ON m.team_id = s.team_id \
                    WHERE s.bookmark_id = b.id AND m.user_id = {u}) \
         OR EXISTS (SELECT 1 FROM bookmark_folders bf JOIN folder_user_shares fs ON fs.folder_id = bf.folder_id \
                    WHERE bf.bookmark_id = b.id AND fs.user_id = {u}) \
         OR EXISTS (SELECT 1 FROM bookmark_folders bf JOIN folder_team_shares fs ON fs.folder_id = bf.folder_id \
                    JOIN team_members m ON m.team_id = fs.team_id WHERE bf.bookmark_id = b.id AND m.user_id = {u}))"
    )
}

/// The ids readable by the user behind placeholder `u`, as a set (the same rule as
/// [`readable_sql`], written as a union so that each branch uses its index when a whole
/// collection is loaded at once).
pub fn readable_ids_sql(u: &str) -> String {
    format!(
        "SELECT id FROM bookmarks WHERE user_id = {u} UNION {}",
        shared_ids_sql(u)
    )
}

/// The ids of bookmarks shared with the user behind placeholder `u` (directly, through a team,
/// or through a shared folder), as a union with one indexed branch per way of sharing. It may
/// include the user's own bookmarks (in a folder someone shared back).
pub fn shared_ids_sql(u: &str) -> String {
    format!(
        "SELECT bookmark_id FROM bookmark_user_shares WHERE user_id = {u} \
         UNION SELECT s.bookmark_id FROM bookmark_team_shares s JOIN team_members m ON m.team_id = s.team_id \
               WHERE m.user_id = {u} \
         UNION SELECT bf.bookmark_id FROM bookmark_folders bf JOIN folder_user_shares fs ON fs.folder_id = bf.folder_id \
               WHERE fs.user_id = {u} \
         UNION SELECT bf.bookmark_id FROM bookmark_folders bf JOIN folder_team_shares fs ON fs.folder_id = bf.folder_id \
               JOIN team_members m ON m.team_id = fs.team_id WHERE m.user_id = {u}"
    )
}

/// Whether anything at all is shared with the user (if not, "all" is just "mine", which has a
/// much cheaper plan).
pub async fn has_incoming_shares(db: &Db, user_id: &str) -> Result<bool> {
    let sql = "SELECT 1 FROM bookmark_user_shares WHERE user_id = $1 \
               UNION ALL SELECT 1 FROM folder_user_shares WHERE user_id = $1 \
               UNION ALL SELECT 1 FROM team_members m JOIN bookmark_team_shares s ON s.team_id = m.team_id WHERE m.user_id = $1 \
               UNION ALL SELECT 1 FROM team_members m JOIN folder_team_shares s ON s.team_id = m.team_id WHERE m.user_id = $1 \
               LIMIT 1";
    let row: Option<i32> =
        with_db!(db, pool => sqlx::query_scalar(sql).bind(user_id).fetch_optional(pool).await?);
    Ok(row.is_some())
}

/// Whether the user may read the bookmark.
pub async fn can_read_bookmark(db: &Db, user_id: &str, id: &str) -> Result<bool> {
    let sql = format!(
        "SELECT 1 FROM bookmarks b WHERE b.id = $2 AND {}",
        readable_sql("$1")
    );
    let row: Option<i32> =
        with_db!(db, pool => sqlx::query_scalar(&sql).bind(user_id).bind(id).fetch_optional(pool).await?);
    Ok(row.is_some())
}

/// SQL condition: folder `f` is readable by the user behind placeholder `u`.
pub fn folder_readable_sql(u: &str) -> String {
    format!(
        "(f.user_id = {u} \
         OR EXISTS (SELECT 1 FROM folder_user_shares s WHERE s.folder_id = f.id AND s.user_id = {u}) \
         OR EXISTS (SELECT 1 FROM folder_team_shares s JOIN team_members m ON m.team_id = s.team_id \
                    WHERE s.folder_id = f.id AND m.user_id = {u}))"
    )
}

/// Whether the user may read the folder.
pub async fn can_read_folder(db: &Db, user_id: &str, folder_id: &str) -> Result<bool> {
    let sql = format!(
        "SELECT 1 FROM folders f WHERE f.id = $2 AND {}",
        folder_readable_sql("$1")
    );
    let row: Option<i32> = with_db!(db, pool => sqlx::query_scalar(&sql).bind(user_id).bind(folder_id).fetch_optional(pool).await?);
    Ok(row.is_some())
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct TeamRef {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: Option<Ts>,
}

/// A team share of a bookmark or folder (`item_id`), as read for a page of items.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TeamShareRow {
    pub item_id: String,
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: Option<Ts>,
}

impl TeamShareRow {
    pub fn team(self) -> (String, TeamRef) {
        (
            self.item_id,
            TeamRef {
                id: self.id,
                name: self.name,
                description: self.description,
                created_at: self.created_at,
            },
        )
    }
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct UserRef {
    pub id: String,
    pub name: String,
    pub email: String,
}

/// Trimmed, without empties and repeats, in the order given.
pub fn dedup(v: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in v.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        if !out.iter().any(|x| x == s) {
            out.push(s.to_string());
        }
    }
    out
}

/// Folders must be the caller's own.
pub async fn check_folders(db: &Db, user_id: &str, ids: &[String]) -> Result<Vec<String>> {
    let ids = dedup(ids);
    if ids.is_empty() {
        return Ok(ids);
    }
    let mut p = Params::new();
    let u = p.push(user_id);
    let list = p.list(&ids);
    let sql = format!("SELECT id FROM folders WHERE user_id = {u} AND id IN ({list})");
    let owned: Vec<String> =
        with_db!(db, pool => bind_params!(sqlx::query_scalar(&sql), p).fetch_all(pool).await?);
    if let Some(missing) = ids.iter().find(|i| !owned.contains(i)) {
        return Err(Error::new(
            Kind::Forbidden,
            "FORBIDDEN",
            format!("You do not own folder {missing}"),
        ));
    }
    Ok(ids)
}

/// Tags must be the caller's own; returns (id, name) sorted by name.
pub async fn check_tags(db: &Db, user_id: &str, ids: &[String]) -> Result<Vec<(String, String)>> {
    let ids = dedup(ids);
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut p = Params::new();
    let u = p.push(user_id);
    let list = p.list(&ids);
    let sql = format!("SELECT id, name FROM tags WHERE user_id = {u} AND id IN ({list}) ORDER BY name");
    let owned: Vec<(String, String)> =
        with_db!(db, pool => bind_params!(sqlx::query_as(&sql), p).fetch_all(pool).await?);
    if owned.len() != ids.len() {
        return Err(Error::new(
            Kind::Forbidden,
            "FORBIDDEN",
            "You do not have access to one or more of the selected tags",
        ));
    }
    Ok(owned)
}

/// Teams must be ones the caller belongs to; `all` takes every such team.
pub async fn check_teams(db: &Db, user_id: &str, ids: &[String], all: bool) -> Result<Vec<String>> {
    if all {
        return Ok(with_db!(db, pool => sqlx::query_scalar::<_, String>(
            "SELECT team_id FROM team_members WHERE user_id = $1 ORDER BY team_id")
            .bind(user_id).fetch_all(pool).await?));
    }
    let ids = dedup(ids);
    if ids.is_empty() {
        return Ok(ids);
    }
    let mut p = Params::new();
    let u = p.push(user_id);
    let list = p.list(&ids);
    let sql = format!("SELECT team_id FROM team_members WHERE user_id = {u} AND team_id IN ({list})");
    let mine: Vec<String> =
        with_db!(db, pool => bind_params!(sqlx::query_scalar(&sql), p).fetch_all(pool).await?);
    if let Some(missing) = ids.iter().find(|i| !mine.contains(i)) {
        return Err(Error::new(
            Kind::Forbidden,
            "FORBIDDEN",
            format!("You are not a member of team {missing}"),
        ));
    }
    Ok(ids)
}

/// Users must exist; the caller is dropped from the list.
pub async fn check_users(db: &Db, user_id: &str, ids: &[String]) -> Result<Vec<String>> {
    let ids: Vec<String> = dedup(ids).into_iter().filter(|i| i != user_id).collect();
    if ids.is_empty() {
        return Ok(ids);
    }
    let mut p = Params::new();
    let list = p.list(&ids);
    let sql = format!("SELECT id FROM users WHERE id IN ({list})");
    let found: Vec<String> =
        with_db!(db, pool => bind_params!(sqlx::query_scalar(&sql), p).fetch_all(pool).await?);
    if let Some(missing) = ids.iter().find(|i| !found.contains(i)) {
        return Err(Error::not_found(format!("User {missing} not found")).with_code("USER_NOT_FOUND"));
    }
    Ok(ids)
}

/// How many of `ids` are tags of the user's.
pub async fn count_own_tags(db: &Db, user_id: &str, ids: &[String]) -> Result<i64> {
    let mut p = Params::new();
    let u = p.push(user_id);
    let list = p.list(ids);
    let sql = format!("SELECT COUNT(*) FROM tags WHERE user_id = {u} AND id IN ({list})");
    Ok(with_db!(db, pool => bind_params!(sqlx::query_scalar::<_, i64>(&sql), p).fetch_one(pool).await?))
}
