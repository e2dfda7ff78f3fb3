//! Provider administration (admins): list, read, create, change and delete the identity
//! providers users may sign in with, with the original's fields, rules, messages and projection
//! (`client_id` and `client_secret` are never returned). The client secret is stored encrypted
//! under `ENCRYPTION_KEY`; secrets the original wrote are read as they are. Every change is
//! recorded in the audit log (without values).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::validate;
use super::Oidc;
use crate::audit::{self, Origin};
use crate::config::Config;
use crate::crypto::Cipher;
use crate::db::{self, Db, Ts, Tx};
use crate::error::{Error, Result};
use crate::input::double_option;
use crate::{with_db, with_tx};

/// A provider as stored. Not `Debug`: it holds the (encrypted) client secret.
#[derive(Clone, sqlx::FromRow)]
pub struct ProviderRow {
    pub id: String,
    pub provider_key: String,
    pub client_id: String,
    pub client_secret: String,
    pub issuer_url: String,
    pub authorization_url: Option<String>,
    pub token_url: Option<String>,
    pub userinfo_url: Option<String>,
    pub scopes: String,
    pub auto_create_users: Option<bool>,
    pub default_role: Option<String>,
    pub created_at: Option<Ts>,
    pub groups_claim: Option<String>,
}

impl ProviderRow {
    pub fn auto_create_users(&self) -> bool {
        self.auto_create_users.unwrap_or(true)
    }
    pub fn default_admin(&self) -> bool {
        self.default_role.as_deref() == Some("admin")
    }
}

const COLUMNS: &str =
    "id, provider_key, client_id, client_secret, issuer_url, authorization_url, token_url, \
     userinfo_url, scopes, auto_create_users, default_role, created_at, groups_claim";

/// A group of the provider's `groups_claim` that makes its members members of a team.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct GroupMapping {
    pub group: String,
    pub team_id: String,
    pub team_name: String,
}

/// What the API shows of a provider: no client id, no secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct OidcProvider {
    pub id: String,
    pub provider_key: String,
    pub issuer_url: String,
    pub authorization_url: Option<String>,
    pub token_url: Option<String>,
    pub userinfo_url: Option<String>,
    pub scopes: String,
    pub auto_create_users: bool,
    pub default_role: String,
    pub created_at: Option<Ts>,
    /// `{BASE_URL}/api/auth/{provider_key}/callback`, to register at the provider.
    pub callback_url: String,
    /// The claim that lists the user's groups, for the team mapping (none: no mapping).
    pub groups_claim: Option<String>,
    /// Applied at each sign-in: members of `group` are made members of the team, others are
    /// removed from it.
    pub group_mappings: Vec<GroupMapping>,
}

pub fn callback_url(base_url: &str, key: &str) -> String {
    format!("{base_url}/api/auth/{key}/callback")
}

fn project(base_url: &str, p: ProviderRow, group_mappings: Vec<GroupMapping>) -> OidcProvider {
    OidcProvider {
        callback_url: callback_url(base_url, &p.provider_key),
        auto_create_users: p.auto_create_users(),
        default_role: p.default_role.clone().unwrap_or_else(|| "user".into()),
        id: p.id,
        provider_key: p.provider_key,
        issuer_url: p.issuer_url,
        authorization_url: p.authorization_url,
        token_url: p.token_url,
        userinfo_url: p.userinfo_url,
        scopes: p.scopes,
        created_at: p.created_at,
        groups_claim: p.groups_claim,
        group_mappings,
    }
}

pub fn not_found() -> Error {
    Error::not_found("Provider not found")
}

pub async fn row_by_key(db: &Db, key: &str) -> Result<Option<ProviderRow>> {
    let sql =
        format!("SELECT {COLUMNS} FROM oidc_providers WHERE provider_key = $1 AND tenant_id = 'default'");
    Ok(with_db!(db, pool => sqlx::query_as::<_, ProviderRow>(&sql).bind(key).fetch_optional(pool).await?))
}

async fn row_by_id(db: &Db, id: &str) -> Result<Option<ProviderRow>> {
    let sql = format!("SELECT {COLUMNS} FROM oidc_providers WHERE id = $1 AND tenant_id = 'default'");
    Ok(with_db!(db, pool => sqlx::query_as::<_, ProviderRow>(&sql).bind(id).fetch_optional(pool).await?))
}

/// The provider's group → team mappings, by group then team name.
pub async fn mappings(db: &Db, provider_id: &str) -> Result<Vec<GroupMapping>> {
    Ok(with_db!(db, pool => sqlx::query_as::<_, GroupMapping>(
        "SELECT g.group_name AS \"group\", g.team_id, t.name AS team_name FROM oidc_group_teams g \
         JOIN teams t ON t.id = g.team_id WHERE g.provider_id = $1 ORDER BY g.group_name, t.name")
        .bind(provider_id).fetch_all(pool).await?))
}

/// Every provider, newest first.
pub async fn list(db: &Db, base_url: &str) -> Result<Vec<OidcProvider>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM oidc_providers WHERE tenant_id = 'default' ORDER BY created_at DESC, id DESC"
    );
    let rows = with_db!(db, pool => sqlx::query_as::<_, ProviderRow>(&sql).fetch_all(pool).await?);
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let m = mappings(db, &r.id).await?;
        out.push(project(base_url, r, m));
    }
    Ok(out)
}

/// One provider.
pub async fn get(db: &Db, base_url: &str, id: &str) -> Result<OidcProvider> {
    let row = row_by_id(db, id).await?.ok_or_else(not_found)?;
    let m = mappings(db, &row.id).await?;
    Ok(project(base_url, row, m))
}

#[derive(Deserialize, ToSchema)]
pub struct GroupMappingInput {
    pub group: Option<String>,
    pub team_id: Option<String>,
}

/// A provider's fields; on update, the ones given are changed (blank `client_id` and
/// `client_secret` keep the stored ones, a blank or `null` endpoint override removes it).
#[derive(Deserialize, ToSchema, Default)]
pub struct ProviderInput {
    /// Letters, digits, `-` and `_`, at most 50; used in the sign-in URLs.
    #[schema(pattern = "^\\s*[a-zA-Z0-9_-]{1,50}\\s*$")]
    pub provider_key: Option<String>,
    pub client_id: Option<String>,
    /// Write-only: stored encrypted, never returned.
    pub client_secret: Option<String>,
    pub issuer_url: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub authorization_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub token_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub userinfo_url: Option<Option<String>>,
    /// Space-separated; default `openid profile email`.
    pub scopes: Option<String>,
    /// Default true.
    #[schema(value_type = Option<bool>)]
    pub auto_create_users: Option<Value>,
    /// `user` (default) or `admin`.
    #[schema(value_type = Option<crate::oidc::providers::Role>)]
    pub default_role: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub groups_claim: Option<Option<String>>,
    pub group_mappings: Option<Vec<GroupMappingInput>>,
}

/// The role a new account from a provider gets.
#[derive(serde::Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Admin,
}

/// The original's loose booleans (`true`, `1`, `"true"`).
fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty() && s != "false" && s != "0",
        Value::Null => false,
        _ => true,
    }
}

fn filled(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

async fn override_url(
    field: &str,
    v: &Option<Option<String>>,
    config: &Config,
    oidc: &Oidc,
) -> Result<Option<Option<String>>> {
    Ok(match v {
        None => None,
        Some(u) => match filled(u) {
            None => Some(None),
            Some(u) => Some(Some(
                validate::oidc_url(field, u, config.production, oidc.policy()).await?,
            )),
        },
    })
}

/// Checked mappings: groups trimmed, teams existing, duplicates dropped.
async fn checked_mappings(db: &Db, input: &[GroupMappingInput]) -> Result<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    for m in input {
        let group = validate::group_name(m.group.as_deref().unwrap_or(""))?;
        let team_id = m.team_id.as_deref().map(str::trim).unwrap_or("").to_string();
        let exists: Option<String> = with_db!(db, pool => sqlx::query_scalar("SELECT id FROM teams WHERE id = $1")
            .bind(&team_id).fetch_optional(pool).await?);
        if exists.is_none() {
            return Err(Error::invalid("group_mappings", "Team not found").with_code("TEAM_NOT_FOUND"));
        }
        if !out.iter().any(|(g, t)| *g == group && *t == team_id) {
            out.push((group, team_id));
        }
    }
    Ok(out)
}

async fn replace_mappings(tx: &mut Tx, provider_id: &str, list: &[(String, String)]) -> Result<()> {
    with_tx!(tx, c => sqlx::query("DELETE FROM oidc_group_teams WHERE provider_id = $1")
        .bind(provider_id).execute(c).await?.rows_affected());
    for (group, team) in list {
        with_tx!(tx, c => sqlx::query(
            "INSERT INTO oidc_group_teams (provider_id, group_name, team_id) VALUES ($1, $2, $3)")
            .bind(provider_id).bind(group).bind(team).execute(c).await?.rows_affected());
    }
    Ok(())
}

fn duplicate_key() -> Error {
    Error::invalid("provider_key", "Provider with this key already exists").with_code("DUPLICATE_KEY")
}

async fn key_taken(db: &Db, key: &str, except: Option<&str>) -> Result<bool> {
    let other: Option<String> = with_db!(db, pool => sqlx::query_scalar(
        "SELECT id FROM oidc_providers WHERE provider_key = $1 AND tenant_id = 'default'")
        .bind(key).fetch_optional(pool).await?);
    Ok(other.is_some_and(|id| Some(id.as_str()) != except))
}

async fn record(db: &Db, origin: &Origin, actor: &str, action: &str, id: &str, meta: Value) {
    audit::log(db, origin, Some(actor), action, "oidc_provider", Some(id), meta).await;
}

/// Creates a provider.
pub async fn create(
    db: &Db,
    config: &Config,
    cipher: &Cipher,
    oidc: &Oidc,
    origin: &Origin,
    actor: &str,
    input: ProviderInput,
) -> Result<OidcProvider> {
    let (Some(key), Some(client_id), Some(secret), Some(issuer)) = (
        filled(&input.provider_key),
        filled(&input.client_id),
        filled(&input.client_secret),
        filled(&input.issuer_url),
    ) else {
        return Err(Error::bad_request("Missing required fields").with_code("VALIDATION_ERROR"));
    };
    let key = validate::provider_key(key)?;
    let issuer = validate::oidc_url("issuer_url", issuer, config.production, oidc.policy()).await?;
    let auth = override_url("authorization_url", &input.authorization_url, config, oidc).await?;
    let token = override_url("token_url", &input.token_url, config, oidc).await?;
    let userinfo = override_url("userinfo_url", &input.userinfo_url, config, oidc).await?;
    let role = validate::default_role(input.default_role.as_deref().unwrap_or("user"))?;
    let claim = validate::groups_claim(input.groups_claim.clone().flatten().as_deref().unwrap_or(""))?;
    let groups = checked_mappings(db, input.group_mappings.as_deref().unwrap_or_default()).await?;
    if key_taken(db, &key, None).await? {
        return Err(duplicate_key());
    }
    let scopes = validate::scopes(input.scopes.as_deref().unwrap_or(""));
    let auto_create = input.auto_create_users.as_ref().is_none_or(truthy);

    let id = db::new_id();
    let mut tx = db.begin().await?;
    let res = with_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO oidc_providers (id, provider_key, client_id, client_secret, issuer_url, authorization_url, \
         token_url, userinfo_url, scopes, auto_create_users, default_role, created_at, tenant_id, groups_claim) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'default', $13)")
        .bind(&id).bind(&key).bind(client_id).bind(cipher.encrypt(secret)).bind(&issuer)
        .bind(auth.flatten()).bind(token.flatten()).bind(userinfo.flatten()).bind(&scopes)
        .bind(auto_create).bind(&role).bind(Ts::now()).bind(&claim)
        .execute(c).await.map(|r| r.rows_affected()));
    match res {
        Ok(_) => {}
        Err(e) if db::is_unique_violation(&e) => return Err(duplicate_key()),
        Err(e) => return Err(e.into()),
    }
    replace_mappings(&mut tx, &id, &groups).await?;
    tx.commit().await?;
    record(
        db,
        origin,
        actor,
        "oidc_provider.created",
        &id,
        json!({"provider_key": key}),
    )
    .await;
    get(db, &config.base_url, &id).await
}

/// Changes the fields given.
#[allow(clippy::too_many_arguments)]
pub async fn update(
    db: &Db,
    config: &Config,
    cipher: &Cipher,
    oidc: &Oidc,
    origin: &Origin,
    actor: &str,
    id: &str,
    input: ProviderInput,
) -> Result<OidcProvider> {
    let current = row_by_id(db, id).await?.ok_or_else(not_found)?;
    let key = match &input.provider_key {
        Some(k) => Some(validate::provider_key(k)?),
        None => None,
    };
    let issuer = match &input.issuer_url {
        Some(u) => Some(validate::oidc_url("issuer_url", u, config.production, oidc.policy()).await?),
        None => None,
    };
    let auth = override_url("authorization_url", &input.authorization_url, config, oidc).await?;
    let token = override_url("token_url", &input.token_url, config, oidc).await?;
    let userinfo = override_url("userinfo_url", &input.userinfo_url, config, oidc).await?;
    let role = match &input.default_role {
        Some(r) => Some(validate::default_role(r)?),
        None => None,
    };
    let claim = match &input.groups_claim {
        Some(c) => Some(validate::groups_claim(c.as_deref().unwrap_or(""))?),
        None => None,
    };
    let groups = match &input.group_mappings {
        Some(list) => Some(checked_mappings(db, list).await?),
        None => None,
    };
    if let Some(k) = &key {
        if key_taken(db, k, Some(id)).await? {
            return Err(duplicate_key());
        }
    }
    let client_id = filled(&input.client_id).map(str::to_string);
    let secret = filled(&input.client_secret).map(|s| cipher.encrypt(s));
    let scopes = input.scopes.as_deref().map(validate::scopes);
    let auto_create = input.auto_create_users.as_ref().map(truthy);

    let mut changed: Vec<&str> = Vec::new();
    for (name, given) in [
        ("provider_key", key.is_some()),
        ("client_id", client_id.is_some()),
        ("client_secret", secret.is_some()),
        ("issuer_url", issuer.is_some()),
        ("authorization_url", auth.is_some()),
        ("token_url", token.is_some()),
        ("userinfo_url", userinfo.is_some()),
        ("scopes", scopes.is_some()),
        ("auto_create_users", auto_create.is_some()),
        ("default_role", role.is_some()),
        ("groups_claim", claim.is_some()),
        ("group_mappings", groups.is_some()),
    ] {
        if given {
            changed.push(name);
        }
    }
    if changed.is_empty() {
        return Err(Error::bad_request("No fields to update").with_code("VALIDATION_ERROR"));
    }

    let mut tx = db.begin().await?;
    let res = with_tx!(&mut tx, c => sqlx::query(
        "UPDATE oidc_providers SET provider_key = COALESCE($1, provider_key), client_id = COALESCE($2, client_id), \
         client_secret = COALESCE($3, client_secret), issuer_url = COALESCE($4, issuer_url), \
         authorization_url = CASE WHEN $5 THEN $6 ELSE authorization_url END, \
         token_url = CASE WHEN $7 THEN $8 ELSE token_url END, \
         userinfo_url = CASE WHEN $9 THEN $10 ELSE userinfo_url END, scopes = COALESCE($11, scopes), \
         auto_create_users = COALESCE($12, auto_create_users), default_role = COALESCE($13, default_role), \
         groups_claim = CASE WHEN $14 THEN $15 ELSE groups_claim END WHERE id = $16")
        .bind(&key).bind(&client_id).bind(&secret).bind(&issuer)
        .bind(auth.is_some()).bind(auth.clone().flatten())
        .bind(token.is_some()).bind(token.clone().flatten())
        .bind(userinfo.is_some()).bind(userinfo.clone().flatten())
        .bind(&scopes).bind(auto_create).bind(&role)
        .bind(claim.is_some()).bind(claim.clone().flatten()).bind(id)
        .execute(c).await.map(|r| r.rows_affected()));
    match res {
        Ok(0) => return Err(not_found()),
        Ok(_) => {}
        Err(e) if db::is_unique_violation(&e) => return Err(duplicate_key()),
        Err(e) => return Err(e.into()),
    }
    if let Some(g) = &groups {
        replace_mappings(&mut tx, id, g).await?;
    }
    if let Some(k) = key.as_deref().filter(|k| *k != current.provider_key) {
        // Accounts are linked by key: a renamed provider keeps its users.
        with_tx!(&mut tx, c => sqlx::query("UPDATE users SET oidc_provider = $1 WHERE oidc_provider = $2")
            .bind(k).bind(&current.provider_key).execute(c).await?.rows_affected());
    }
    tx.commit().await?;
    oidc.forget(&current.issuer_url);
    let key = key.unwrap_or(current.provider_key);
    record(
        db,
        origin,
        actor,
        "oidc_provider.updated",
        id,
        json!({"provider_key": key, "fields": changed}),
    )
    .await;
    get(db, &config.base_url, id).await
}

/// Deletes a provider. Users keep their link (`oidc_provider`, `oidc_sub`): a provider created
/// again with the same key finds them.
pub async fn delete(db: &Db, oidc: &Oidc, origin: &Origin, actor: &str, id: &str) -> Result<()> {
    let row = row_by_id(db, id).await?.ok_or_else(not_found)?;
    let mut tx = db.begin().await?;
    with_tx!(&mut tx, c => sqlx::query("DELETE FROM oidc_group_teams WHERE provider_id = $1")
        .bind(id).execute(c).await?.rows_affected());
    let n = with_tx!(&mut tx, c => sqlx::query("DELETE FROM oidc_providers WHERE id = $1")
        .bind(id).execute(c).await?.rows_affected());
    if n == 0 {
        return Err(not_found());
    }
    tx.commit().await?;
    oidc.forget(&row.issuer_url);
    record(
        db,
        origin,
        actor,
        "oidc_provider.deleted",
        id,
        json!({"provider_key": row.provider_key}),
    )
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loose_booleans() {
        assert!(truthy(&json!(true)) && truthy(&json!(1)) && truthy(&json!("true")));
        assert!(!truthy(&json!(false)) && !truthy(&json!(0)) && !truthy(&json!("false")));
    }
}
