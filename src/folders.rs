//! Folders: flat, per-user unique names, an optional icon, shareable with users and teams.
//! Deleting a folder never deletes bookmarks.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{self, Origin};
use crate::db::params::Params;
use crate::db::{self, Db, Ts};
use crate::error::{Error, Result};
use crate::input::double_option;
use crate::sharing::{self, check_teams, check_users, Scope};
use crate::sharing::{TeamRef, UserRef};
use crate::users::sanitize_text;
use crate::{bind_params, with_db, with_tx};

#[derive(Debug, Clone, sqlx::FromRow)]
struct FolderRow {
    id: String,
    user_id: String,
    tenant_id: String,
    name: String,
    icon: Option<String>,
    created_at: Option<Ts>,
    owner_name: Option<String>,
    owner_email: Option<String>,
    bookmark_count: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Folder {
    pub id: String,
    pub user_id: String,
    pub tenant_id: String,
    pub name: String,
    /// A Lucide icon name such as `Briefcase`.
    pub icon: Option<String>,
    pub created_at: Option<Ts>,
    /// `own` or `shared`.
    pub folder_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_email: Option<String>,
    /// Bookmarks in the folder.
    pub bookmark_count: i64,
    pub shared_teams: Vec<TeamRef>,
    pub shared_users: Vec<UserRef>,
}

const COLUMNS: &str = "f.id, f.user_id, f.tenant_id, f.name, f.icon, f.created_at, u.name AS owner_name, \
     u.email AS owner_email, (SELECT COUNT(*) FROM bookmark_folders bf WHERE bf.folder_id = f.id) AS bookmark_count";

pub struct ListOptions {
    pub scope: Scope,
    pub alphabetical: bool,
    /// Without a limit, every folder.
    pub limit: Option<i64>,
    pub offset: i64,
}

impl ListOptions {
    /// The list parameters as the API takes them (`scope=shared` is the original's "all").
    pub fn parse(
        scope: Option<&str>,
        sort_by: Option<&str>,
        limit: Option<&str>,
        offset: Option<&str>,
    ) -> ListOptions {
        ListOptions {
            scope: match scope {
                Some("shared") => Scope::All,
                s => Scope::parse(s),
            },
            alphabetical: sort_by != Some("recently_added"),
            limit: limit.map(|l| crate::input::parse_limit(Some(l), 50, 500)),
            offset: crate::input::parse_offset(offset),
        }
    }
}

/// Readable folders; returns the page and the total.
pub async fn list(db: &Db, user_id: &str, o: &ListOptions) -> Result<(Vec<Folder>, i64)> {
    let mut p = Params::new();
    let u = p.push(user_id);
    let cond = match o.scope {
        Scope::All => sharing::folder_readable_sql(&u),
        Scope::Mine => format!("f.user_id = {u}"),
        Scope::SharedWithMe => format!("f.user_id <> {u} AND {}", sharing::folder_readable_sql(&u)),
        Scope::SharedByMe => format!(
            "f.user_id = {u} AND (EXISTS (SELECT 1 FROM folder_user_shares s WHERE s.folder_id = f.id) \
             OR EXISTS (SELECT 1 FROM folder_team_shares s WHERE s.folder_id = f.id))"
        ),
    };
    let order = if o.alphabetical {
        "LOWER(f.name), f.id"
    } else {
        "f.created_at DESC, f.id DESC"
    };
    let count_sql = format!("SELECT COUNT(*) FROM folders f WHERE {cond}");
    let total: i64 = with_db!(db, pool => bind_params!(sqlx::query_scalar::<_, i64>(&count_sql), p).fetch_one(pool).await?);
    let mut sql = format!(
        "SELECT {COLUMNS} FROM folders f JOIN users u ON u.id = f.user_id WHERE {cond} ORDER BY {order}"
    );
    if let Some(l) = o.limit {
        let lp = p.push(l);
        let op = p.push(o.offset);
        sql.push_str(&format!(" LIMIT {lp} OFFSET {op}"));
    }
    let rows =
        with_db!(db, pool => bind_params!(sqlx::query_as::<_, FolderRow>(&sql), p).fetch_all(pool).await?);
    Ok((hydrate(db, user_id, rows).await?, total))
}

async fn hydrate(db: &Db, viewer: &str, rows: Vec<FolderRow>) -> Result<Vec<Folder>> {
    let mut out: Vec<Folder> = rows
        .into_iter()
        .map(|r| {
            let own = r.user_id == viewer;
            Folder {
                folder_type: if own { "own" } else { "shared" },
                user_name: if own { None } else { r.owner_name },
                user_email: if own { None } else { r.owner_email },
                id: r.id,
                user_id: r.user_id,
                tenant_id: r.tenant_id,
                name: r.name,
                icon: r.icon,
                created_at: r.created_at,
                bookmark_count: r.bookmark_count,
                shared_teams: Vec::new(),
                shared_users: Vec::new(),
            }
        })
        .collect();
    if out.is_empty() {
        return Ok(out);
    }
    let ids: Vec<String> = out.iter().map(|f| f.id.clone()).collect();
    let mut p = Params::new();
    let list = p.list(&ids);
    let team_sql = format!(
        "SELECT s.folder_id AS item_id, t.id, t.name, t.description, t.created_at FROM folder_team_shares s \
         JOIN teams t ON t.id = s.team_id WHERE s.folder_id IN ({list}) ORDER BY t.name"
    );
    let teams: Vec<crate::sharing::TeamShareRow> =
        with_db!(db, pool => bind_params!(sqlx::query_as::<_, _>(&team_sql), p).fetch_all(pool).await?);
    let user_sql = format!(
        "SELECT s.folder_id, u.id, u.name, u.email FROM folder_user_shares s JOIN users u ON u.id = s.user_id \
         WHERE s.folder_id IN ({list}) ORDER BY u.name"
    );
    let users: Vec<(String, String, String, String)> =
        with_db!(db, pool => bind_params!(sqlx::query_as(&user_sql), p).fetch_all(pool).await?);
    for row in teams {
        let (fid, team) = row.team();
        if let Some(f) = out.iter_mut().find(|f| f.id == fid) {
            f.shared_teams.push(team);
        }
    }
    for (fid, id, name, email) in users {
        if let Some(f) = out.iter_mut().find(|f| f.id == fid) {
            f.shared_users.push(UserRef { id, name, email });
        }
    }
    Ok(out)
}

pub async fn get(db: &Db, user_id: &str, id: &str) -> Result<Option<Folder>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM folders f JOIN users u ON u.id = f.user_id WHERE f.id = $2 AND {}",
        sharing::folder_readable_sql("$1")
    );
    let row = with_db!(db, pool => sqlx::query_as::<_, FolderRow>(&sql).bind(user_id).bind(id).fetch_optional(pool).await?);
    Ok(match row {
        Some(r) => hydrate(db, user_id, vec![r]).await?.pop(),
        None => None,
    })
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct FolderInput {
    /// 1–255 characters (control characters are dropped, spaces trimmed); required on create.
    #[schema(value_type = Option<String>, max_length = 255, pattern = "^[\\s\\S]*[^\\s\\x00-\\x1f\\x7f-\\x9f][\\s\\S]*$")]
    pub name: Option<String>,
    /// A Lucide icon name (at most 50 characters); `""` or `null` removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 50)]
    pub icon: Option<Option<String>>,
    pub team_ids: Option<Vec<String>>,
    pub user_ids: Option<Vec<String>>,
    pub share_all_teams: Option<bool>,
}

pub fn validate_name(name: &str) -> Result<String> {
    let n = sanitize_text(name);
    if n.is_empty() {
        return Err(Error::invalid("name", "Name is required"));
    }
    // The limit holds for what was sent (as documented), not only for what is kept.
    if name.chars().count() > 255 {
        return Err(Error::invalid("name", "Name must be no more than 255 characters"));
    }
    Ok(n)
}

fn validate_icon(icon: &Option<Option<String>>) -> Result<Option<Option<String>>> {
    match icon {
        None => Ok(None),
        Some(None) => Ok(Some(None)),
        Some(Some(i)) => {
            let i = i.trim();
            if i.chars().count() > 50 {
                return Err(Error::invalid("icon", "Icon must be no more than 50 characters"));
            }
            Ok(Some((!i.is_empty()).then(|| i.to_string())))
        }
    }
}

fn duplicate() -> Error {
    Error::invalid("name", "Folder with this name already exists").with_code("DUPLICATE_NAME")
}

async fn name_taken(db: &Db, user_id: &str, name: &str, except: &str) -> Result<bool> {
    let row: Option<String> = with_db!(db, pool => sqlx::query_scalar(
        "SELECT id FROM folders WHERE user_id = $1 AND name = $2 AND id <> $3")
        .bind(user_id).bind(name).bind(except).fetch_optional(pool).await?);
    Ok(row.is_some())
}

async fn shares(
    db: &Db,
    user_id: &str,
    input: &FolderInput,
) -> Result<(Option<Vec<String>>, Option<Vec<String>>)> {
    let teams = if input.share_all_teams == Some(true) {
        Some(check_teams(db, user_id, &[], true).await?)
    } else if let Some(t) = &input.team_ids {
        Some(check_teams(db, user_id, t, false).await?)
    } else {
        None
    };
    let users = match &input.user_ids {
        Some(u) => Some(check_users(db, user_id, u).await?),
        None => None,
    };
    Ok((teams, users))
}

async fn write_shares(
    tx: &mut db::Tx,
    folder_id: &str,
    teams: &Option<Vec<String>>,
    users: &Option<Vec<String>>,
) -> Result<()> {
    if let Some(teams) = teams {
        with_tx!(tx, c => sqlx::query("DELETE FROM folder_team_shares WHERE folder_id = $1")
            .bind(folder_id).execute(c).await?.rows_affected());
        for t in teams {
            with_tx!(tx, c => sqlx::query("INSERT INTO folder_team_shares (folder_id, team_id) VALUES ($1, $2)")
                .bind(folder_id).bind(t).execute(c).await?.rows_affected());
        }
    }
    if let Some(users) = users {
        with_tx!(tx, c => sqlx::query("DELETE FROM folder_user_shares WHERE folder_id = $1")
            .bind(folder_id).execute(c).await?.rows_affected());
        for u in users {
            with_tx!(tx, c => sqlx::query("INSERT INTO folder_user_shares (folder_id, user_id) VALUES ($1, $2)")
                .bind(folder_id).bind(u).execute(c).await?.rows_affected());
        }
    }
    Ok(())
}

async fn record(db: &Db, origin: &Origin, actor: &str, action: &str, id: &str, name: &str) {
    audit::log(
        db,
        origin,
        Some(actor),
        action,
        "folder",
        Some(id),
        serde_json::json!({"name": name}),
    )
    .await;
}

/// Creates a folder (name unique per user) with its shares.
pub async fn create(db: &Db, origin: &Origin, user_id: &str, input: &FolderInput) -> Result<Folder> {
    let id = insert(db, user_id, input).await?;
    let f = get(db, user_id, &id).await?.ok_or_else(Error::internal)?;
    record(db, origin, user_id, "folder.created", &id, &f.name).await;
    Ok(f)
}

async fn insert(db: &Db, user_id: &str, input: &FolderInput) -> Result<String> {
    let name = validate_name(input.name.as_deref().unwrap_or(""))?;
    let icon = validate_icon(&input.icon)?.flatten();
    if name_taken(db, user_id, &name, "").await? {
        return Err(duplicate());
    }
    let (teams, users) = shares(db, user_id, input).await?;
    let id = db::new_id();
    let mut tx = db.begin().await?;
    let res = with_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO folders (id, user_id, name, icon, created_at, tenant_id) VALUES ($1, $2, $3, $4, $5, 'default')")
        .bind(&id).bind(user_id).bind(&name).bind(&icon).bind(Ts::now()).execute(c).await.map(|r| r.rows_affected()));
    match res {
        Err(e) if db::is_unique_violation(&e) => return Err(duplicate()),
        Err(e) => return Err(e.into()),
        Ok(_) => {}
    }
    write_shares(&mut tx, &id, &teams, &users).await?;
    tx.commit().await?;
    Ok(id)
}

async fn owned_name(db: &Db, user_id: &str, id: &str) -> Result<String> {
    let row: Option<String> = with_db!(db, pool => sqlx::query_scalar(
        "SELECT name FROM folders WHERE id = $1 AND user_id = $2").bind(id).bind(user_id).fetch_optional(pool).await?);
    row.ok_or_else(|| Error::not_found("Folder not found"))
}

/// Updates the owner's folder: name, icon and shares, each optional (unlike the original).
pub async fn update(
    db: &Db,
    origin: &Origin,
    user_id: &str,
    id: &str,
    input: &FolderInput,
) -> Result<Folder> {
    change(db, user_id, id, input).await?;
    let f = get(db, user_id, id).await?.ok_or_else(Error::internal)?;
    record(db, origin, user_id, "folder.updated", id, &f.name).await;
    Ok(f)
}

async fn change(db: &Db, user_id: &str, id: &str, input: &FolderInput) -> Result<()> {
    owned_name(db, user_id, id).await?;
    let name = match &input.name {
        Some(n) => Some(validate_name(n)?),
        None => None,
    };
    let icon = validate_icon(&input.icon)?;
    if let Some(n) = &name {
        if name_taken(db, user_id, n, id).await? {
            return Err(duplicate());
        }
    }
    let (teams, users) = shares(db, user_id, input).await?;
    let mut tx = db.begin().await?;
    let res = with_tx!(&mut tx, c => sqlx::query(
        "UPDATE folders SET name = COALESCE($1, name), icon = CASE WHEN $2 THEN $3 ELSE icon END WHERE id = $4")
        .bind(&name).bind(icon.is_some()).bind(icon.clone().flatten()).bind(id).execute(c).await.map(|r| r.rows_affected()));
    match res {
        Err(e) if db::is_unique_violation(&e) => return Err(duplicate()),
        Err(e) => return Err(e.into()),
        Ok(_) => {}
    }
    write_shares(&mut tx, id, &teams, &users).await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes the owner's folder (its bookmarks stay).
pub async fn delete(db: &Db, origin: &Origin, user_id: &str, id: &str) -> Result<()> {
    let name = owned_name(db, user_id, id).await?;
    with_db!(db, pool => sqlx::query("DELETE FROM folders WHERE id = $1 AND user_id = $2")
        .bind(id).bind(user_id).execute(pool).await?.rows_affected());
    record(db, origin, user_id, "folder.deleted", id, &name).await;
    Ok(())
}
