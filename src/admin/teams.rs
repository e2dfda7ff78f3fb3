//! Team administration: create, rename, delete, add and remove members. Every change is
//! recorded in the audit log; removing a member takes away what the team was given at once.

use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::audit::{self, Origin};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::input::double_option;
use crate::teams::{self, TeamDetail};

async fn record(
    db: &Db,
    origin: &Origin,
    actor: &str,
    action: &str,
    kind: &str,
    id: &str,
    meta: serde_json::Value,
) {
    audit::log(db, origin, Some(actor), action, kind, Some(id), meta).await;
}

#[derive(Deserialize, ToSchema)]
pub struct TeamInput {
    /// 1–255 characters (control characters are dropped, spaces trimmed); required on create.
    #[schema(value_type = Option<String>, max_length = 255, pattern = "^[\\s\\S]*[^\\s\\x00-\\x1f\\x7f-\\x9f][\\s\\S]*$")]
    pub name: Option<String>,
    /// Up to 500 characters; `null` removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub description: Option<Option<String>>,
}

/// Creates a team (name unique, 1–255 characters; description up to 500).
pub async fn create(db: &Db, origin: &Origin, actor: &str, input: TeamInput) -> Result<TeamDetail> {
    let name = teams::validate_name(input.name.as_deref())?;
    let description = teams::validate_description(input.description.flatten().as_deref())?;
    let id = teams::create(db, &name, description.as_deref()).await?;
    record(
        db,
        origin,
        actor,
        "team.created",
        "team",
        &id,
        json!({"name": name}),
    )
    .await;
    teams::get(db, &id).await?.ok_or_else(Error::internal)
}

/// Renames a team or changes its description.
pub async fn update(db: &Db, origin: &Origin, actor: &str, id: &str, input: TeamInput) -> Result<TeamDetail> {
    let name = match input.name.as_deref() {
        Some(n) => Some(teams::validate_name(Some(n))?),
        None => None,
    };
    let description = match &input.description {
        None => None,
        Some(d) => Some(teams::validate_description(d.as_deref())?),
    };
    if name.is_none() && description.is_none() {
        return Err(Error::bad_request("No fields to update"));
    }
    teams::update(
        db,
        id,
        name.as_deref(),
        description.as_ref().map(|d| d.as_deref()),
    )
    .await?;
    let t = teams::get(db, id).await?.ok_or_else(teams::not_found)?;
    record(
        db,
        origin,
        actor,
        "team.updated",
        "team",
        id,
        json!({"name": t.team.name}),
    )
    .await;
    Ok(t)
}

/// Deletes a team; its members lose what was shared with it.
pub async fn delete(db: &Db, origin: &Origin, actor: &str, id: &str) -> Result<()> {
    let name = teams::delete(db, id).await?;
    record(
        db,
        origin,
        actor,
        "team.deleted",
        "team",
        id,
        json!({"name": name}),
    )
    .await;
    Ok(())
}

#[derive(Deserialize, ToSchema)]
pub struct MemberInput {
    #[schema(value_type = String, required = true, pattern = "^[\\s\\S]*\\S[\\s\\S]*$")]
    pub user_id: Option<String>,
}

/// Adds a member.
pub async fn add_member(db: &Db, origin: &Origin, actor: &str, id: &str, input: MemberInput) -> Result<()> {
    let user_id = input
        .user_id
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| Error::invalid("user_id", "user_id is required"))?;
    let team_name = teams::add_member(db, id, &user_id).await?;
    record(
        db,
        origin,
        actor,
        "team_member.added",
        "team_member",
        id,
        json!({"team_id": id, "user_id": user_id, "team_name": team_name}),
    )
    .await;
    Ok(())
}

/// Removes a member (idempotent). What the team was given is no longer theirs, at once.
pub async fn remove_member(db: &Db, origin: &Origin, actor: &str, id: &str, user_id: &str) -> Result<()> {
    let team_name = teams::remove_member(db, id, user_id).await?;
    record(
        db,
        origin,
        actor,
        "team_member.removed",
        "team_member",
        id,
        json!({"team_id": id, "user_id": user_id, "team_name": team_name}),
    )
    .await;
    Ok(())
}
