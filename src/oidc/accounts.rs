//! Which account a provider's user signs in to: the one linked to (provider, `sub`); else an
//! existing account with the same e-mail address (compared case-insensitively), linked now, but
//! only when the provider says the address is verified and the account is not linked elsewhere;
//! else a new account, when the provider may create them. The first account of an empty
//! instance, and every account of an `admin` provider, is an admin (as the original).

use serde_json::json;

use super::providers::ProviderRow;
use super::Failure;
use crate::audit::{self, Origin};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::users::{self, NewUser, User, USER_COLUMNS};
use crate::{with_db, with_tx};

/// What the provider says about the user.
pub struct Identity {
    pub sub: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
}

pub enum Resolved {
    Existing(User),
    Linked(User),
    Created(User),
}

impl Resolved {
    pub fn user(&self) -> &User {
        match self {
            Resolved::Existing(u) | Resolved::Linked(u) | Resolved::Created(u) => u,
        }
    }
    pub fn into_user(self) -> User {
        match self {
            Resolved::Existing(u) | Resolved::Linked(u) | Resolved::Created(u) => u,
        }
    }
}

async fn by_link(db: &Db, provider: &str, sub: &str) -> Result<Option<User>> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.oidc_provider = $1 AND u.oidc_sub = $2 \
         ORDER BY u.created_at, u.id LIMIT 1"
    );
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, User>(&sql).bind(provider).bind(sub).fetch_optional(pool).await?),
    )
}

async fn by_email_ci(db: &Db, email: &str) -> Result<Option<User>> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE LOWER(u.email) = $1 ORDER BY u.created_at, u.id LIMIT 1"
    );
    let email = users::normalize_email(email);
    Ok(with_db!(db, pool => sqlx::query_as::<_, User>(&sql).bind(&email).fetch_optional(pool).await?))
}

fn linked_to(u: &User) -> Option<(&str, &str)> {
    match (u.oidc_provider.as_deref(), u.oidc_sub.as_deref()) {
        (Some(p), Some(s)) if !p.is_empty() && !s.is_empty() => Some((p, s)),
        _ => None,
    }
}

/// A display name from the claims: `name`, else the e-mail address.
fn display_name(id: &Identity, email: &str) -> String {
    let name = id
        .name
        .as_deref()
        .map(users::sanitize_text)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| email.to_string());
    name.chars().take(255).collect()
}

/// The account `id` signs in to, or why there is none.
pub async fn resolve(
    db: &Db,
    origin: &Origin,
    provider: &ProviderRow,
    id: &Identity,
) -> Result<std::result::Result<Resolved, Failure>> {
    let key = provider.provider_key.as_str();
    if let Some(u) = by_link(db, key, &id.sub).await? {
        return Ok(Ok(Resolved::Existing(u)));
    }
    let Some(email) = id
        .email
        .as_deref()
        .and_then(|e| users::validate_email("email", e).ok())
    else {
        tracing::warn!(provider = key, "OIDC sign-in without a usable e-mail address");
        return Ok(Err(Failure::AuthFailed));
    };
    for _ in 0..2 {
        if let Some(u) = by_email_ci(db, &email).await? {
            return link(db, origin, key, id, u).await;
        }
        if !provider.auto_create_users() {
            return Ok(Err(Failure::AutoCreateDisabled));
        }
        match create(db, origin, provider, id, &email).await {
            Ok(u) => return Ok(Ok(Resolved::Created(u))),
            // Created by a concurrent sign-in a moment ago: link that one.
            Err(e) if e.code == "VALIDATION_ERROR" => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(Err(Failure::AuthFailed))
}

async fn link(
    db: &Db,
    origin: &Origin,
    key: &str,
    id: &Identity,
    u: User,
) -> Result<std::result::Result<Resolved, Failure>> {
    if let Some((p, s)) = linked_to(&u) {
        if p == key && s == id.sub {
            return Ok(Ok(Resolved::Existing(u)));
        }
        return Ok(Err(Failure::LinkedElsewhere));
    }
    if !id.email_verified {
        return Ok(Err(Failure::EmailNotVerified));
    }
    let n = with_db!(db, pool => sqlx::query(
        "UPDATE users SET oidc_provider = $1, oidc_sub = $2 WHERE id = $3 \
         AND (oidc_sub IS NULL OR oidc_sub = '' OR oidc_provider IS NULL OR oidc_provider = '')")
        .bind(key).bind(&id.sub).bind(&u.id).execute(pool).await?.rows_affected());
    let user = users::by_id(db, &u.id).await?.ok_or_else(Error::internal)?;
    if n == 0 {
        // Linked by a concurrent sign-in: fine if to this identity.
        return Ok(match linked_to(&user) {
            Some((p, s)) if p == key && s == id.sub => Ok(Resolved::Existing(user)),
            _ => Err(Failure::LinkedElsewhere),
        });
    }
    audit::log(
        db,
        origin,
        Some(&user.id),
        "oidc.account_linked",
        "user",
        Some(&user.id),
        json!({"provider_key": key}),
    )
    .await;
    Ok(Ok(Resolved::Linked(user)))
}

async fn create(
    db: &Db,
    origin: &Origin,
    provider: &ProviderRow,
    id: &Identity,
    email: &str,
) -> Result<User> {
    let key = provider.provider_key.as_str();
    let name = display_name(id, email);
    let mut tx = db.begin().await?;
    // As first-run setup: the marker row's lock serialises concurrent first accounts, so exactly
    // one of them becomes the admin of an empty instance.
    with_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO system_config (key, value, tenant_id) VALUES ('initialized', 'true', 'default') \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .execute(c).await?.rows_affected());
    let existing: i64 =
        with_tx!(&mut tx, c => sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(c).await?);
    let is_admin = provider.default_admin() || existing == 0;
    let user_id = users::insert(
        &mut tx,
        &NewUser {
            email,
            name: &name,
            password_hash: None,
            is_admin,
            email_verified: true,
        },
    )
    .await?;
    with_tx!(&mut tx, c => sqlx::query("UPDATE users SET oidc_provider = $1, oidc_sub = $2 WHERE id = $3")
        .bind(key).bind(&id.sub).bind(&user_id).execute(c).await?.rows_affected());
    tx.commit().await?;
    let user = users::by_id(db, &user_id).await?.ok_or_else(Error::internal)?;
    audit::log(
        db,
        origin,
        Some(&user.id),
        "oidc.account_created",
        "user",
        Some(&user.id),
        json!({"provider_key": key, "is_admin": is_admin}),
    )
    .await;
    Ok(user)
}
