//! Teams (admin-managed) and memberships. Removing a member takes away what the team was given
//! at once: access is always computed from current memberships.

use serde::Serialize;
use utoipa::ToSchema;

use crate::db::{self, Db, Ts};
use crate::error::{Error, Result};
use crate::users::sanitize_text;
use crate::with_db;

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Team {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: Option<Ts>,
    pub tenant_id: String,
    pub member_count: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Member {
    pub id: String,
    pub email: String,
    pub name: String,
    pub is_admin: Option<bool>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TeamDetail {
    #[serde(flatten)]
    pub team: Team,
    pub members: Vec<Member>,
}

const COLUMNS: &str = "t.id, t.name, t.description, t.created_at, t.tenant_id, \
     (SELECT COUNT(*) FROM team_members m WHERE m.team_id = t.id) AS member_count";

pub async fn list(db: &Db) -> Result<Vec<Team>> {
    let sql = format!("SELECT {COLUMNS} FROM teams t ORDER BY t.created_at DESC, t.id DESC");
    Ok(with_db!(db, pool => sqlx::query_as::<_, Team>(&sql).fetch_all(pool).await?))
}

pub async fn get(db: &Db, id: &str) -> Result<Option<TeamDetail>> {
    let sql = format!("SELECT {COLUMNS} FROM teams t WHERE t.id = $1");
    let Some(team) =
        with_db!(db, pool => sqlx::query_as::<_, Team>(&sql).bind(id).fetch_optional(pool).await?)
    else {
        return Ok(None);
    };
    let members: Vec<Member> = with_db!(db, pool => sqlx::query_as(
        "SELECT u.id, u.email, u.name, u.is_admin FROM team_members m JOIN users u ON u.id = m.user_id \
         WHERE m.team_id = $1 ORDER BY u.name, u.email")
        .bind(id).fetch_all(pool).await?);
    Ok(Some(TeamDetail { team, members }))
}

pub fn validate_name(name: Option<&str>) -> Result<String> {
    let raw = name.unwrap_or("");
    let n = sanitize_text(raw);
    if n.is_empty() {
        return Err(Error::invalid("name", "Name is required"));
    }
    // The limit holds for what was sent (as documented), not only for what is kept.
    if raw.chars().count() > 255 {
        return Err(Error::invalid("name", "Name must be no more than 255 characters"));
    }
    Ok(n)
}

pub fn validate_description(d: Option<&str>) -> Result<Option<String>> {
    match d.map(str::trim).filter(|d| !d.is_empty()) {
        None => Ok(None),
        Some(d) if d.chars().count() > 500 => Err(Error::invalid(
            "description",
            "Description must be no more than 500 characters",
        )),
        Some(d) => Ok(Some(d.to_string())),
    }
}

fn duplicate() -> Error {
    Error::invalid("name", "Team with this name already exists").with_code("DUPLICATE_NAME")
}

pub async fn create(db: &Db, name: &str, description: Option<&str>) -> Result<String> {
    let id = db::new_id();
    let res = with_db!(db, pool => sqlx::query(
        "INSERT INTO teams (id, name, description, created_at, tenant_id) VALUES ($1, $2, $3, $4, 'default')")
        .bind(&id).bind(name).bind(description).bind(Ts::now()).execute(pool).await.map(|r| r.rows_affected()));
    match res {
        Ok(_) => Ok(id),
        Err(e) if db::is_unique_violation(&e) => Err(duplicate()),
        Err(e) => Err(e.into()),
    }
}

/// `description`: `None` leaves it, `Some(None)` clears it.
pub async fn update(db: &Db, id: &str, name: Option<&str>, description: Option<Option<&str>>) -> Result<()> {
    let res = with_db!(db, pool => sqlx::query(
        "UPDATE teams SET name = COALESCE($1, name), description = CASE WHEN $2 THEN $3 ELSE description END WHERE id = $4")
        .bind(name).bind(description.is_some()).bind(description.flatten()).bind(id)
        .execute(pool).await.map(|r| r.rows_affected()));
    match res {
        Ok(0) => Err(not_found()),
        Ok(_) => Ok(()),
        Err(e) if db::is_unique_violation(&e) => Err(duplicate()),
        Err(e) => Err(e.into()),
    }
}

pub fn not_found() -> Error {
    Error::not_found("Team not found")
}

/// Deletes a team (memberships and team shares go with it); returns its name.
pub async fn delete(db: &Db, id: &str) -> Result<String> {
    let name: Option<String> = with_db!(db, pool => sqlx::query_scalar("SELECT name FROM teams WHERE id = $1")
        .bind(id).fetch_optional(pool).await?);
    let name = name.ok_or_else(not_found)?;
    with_db!(db, pool => sqlx::query("DELETE FROM teams WHERE id = $1").bind(id).execute(pool).await?.rows_affected());
    Ok(name)
}

pub async fn add_member(db: &Db, team_id: &str, user_id: &str) -> Result<String> {
    let name: Option<String> = with_db!(db, pool => sqlx::query_scalar("SELECT name FROM teams WHERE id = $1")
        .bind(team_id).fetch_optional(pool).await?);
    let name = name.ok_or_else(not_found)?;
    if crate::users::by_id(db, user_id).await?.is_none() {
        return Err(Error::not_found("User not found"));
    }
    let res = with_db!(db, pool => sqlx::query("INSERT INTO team_members (user_id, team_id, tenant_id) VALUES ($1, $2, 'default')")
        .bind(user_id).bind(team_id).execute(pool).await.map(|r| r.rows_affected()));
    match res {
        Ok(_) => Ok(name),
        Err(e) if db::is_unique_violation(&e) => {
            Err(Error::bad_request("User is already in this team").with_code("ALREADY_MEMBER"))
        }
        Err(e) => Err(e.into()),
    }
}

/// Removes a membership (idempotent, as the original); returns the team name if the team exists.
pub async fn remove_member(db: &Db, team_id: &str, user_id: &str) -> Result<Option<String>> {
    with_db!(db, pool => sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2")
        .bind(team_id).bind(user_id).execute(pool).await?.rows_affected());
    Ok(
        with_db!(db, pool => sqlx::query_scalar("SELECT name FROM teams WHERE id = $1")
        .bind(team_id).fetch_optional(pool).await?),
    )
}

/// Teams a user belongs to, by name.
pub async fn of_user(db: &Db, user_id: &str) -> Result<Vec<Team>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM teams t JOIN team_members tm ON tm.team_id = t.id WHERE tm.user_id = $1 ORDER BY t.name"
    );
    Ok(with_db!(db, pool => sqlx::query_as::<_, Team>(&sql).bind(user_id).fetch_all(pool).await?))
}

/// A team as its members see it.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct MyTeam {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: Option<Ts>,
    pub tenant_id: String,
}

/// Teams a user belongs to, by name, without member counts (what members may see).
pub async fn of_member(db: &Db, user_id: &str) -> Result<Vec<MyTeam>> {
    Ok(with_db!(db, pool => sqlx::query_as::<_, MyTeam>(
        "SELECT t.id, t.name, t.description, t.created_at, t.tenant_id FROM teams t \
         JOIN team_members m ON m.team_id = t.id WHERE m.user_id = $1 ORDER BY t.name")
        .bind(user_id).fetch_all(pool).await?))
}

/// Makes `user_id` a member of exactly the `wanted` ones among the `managed` teams (teams an
/// identity provider's group mapping governs; others are left alone), in one transaction.
/// Returns the teams joined and left, as (id, name).
pub async fn sync_memberships(
    db: &Db,
    user_id: &str,
    managed: &[String],
    wanted: &[String],
) -> Result<(Vec<(String, String)>, Vec<(String, String)>)> {
    let mut joined = Vec::new();
    let mut left = Vec::new();
    if managed.is_empty() {
        return Ok((joined, left));
    }
    let mut tx = db.begin().await?;
    let current: Vec<String> = crate::with_tx!(&mut tx, c => sqlx::query_scalar(
        "SELECT team_id FROM team_members WHERE user_id = $1")
        .bind(user_id).fetch_all(c).await?);
    for team in managed {
        let name: Option<String> = crate::with_tx!(&mut tx, c => sqlx::query_scalar(
            "SELECT name FROM teams WHERE id = $1").bind(team).fetch_optional(c).await?);
        let Some(name) = name else { continue };
        let member = current.contains(team);
        if wanted.contains(team) && !member {
            crate::with_tx!(&mut tx, c => sqlx::query(
                "INSERT INTO team_members (user_id, team_id, tenant_id) VALUES ($1, $2, 'default') \
                 ON CONFLICT DO NOTHING")
                .bind(user_id).bind(team).execute(c).await?.rows_affected());
            joined.push((team.clone(), name));
        } else if !wanted.contains(team) && member {
            crate::with_tx!(&mut tx, c => sqlx::query(
                "DELETE FROM team_members WHERE user_id = $1 AND team_id = $2")
                .bind(user_id).bind(team).execute(c).await?.rows_affected());
            left.push((team.clone(), name));
        }
    }
    tx.commit().await?;
    Ok((joined, left))
}
