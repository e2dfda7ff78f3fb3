//! Member administration: list, create, update, disable, delete, MFA recovery — with the guard
//! rails the original lacks (the last admin stays an admin; disabling or deleting ends sessions at
//! once). Every change is recorded in the audit log.

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::invites;
use crate::audit::{self, Origin};
use crate::auth::password;
use crate::db::params::Params;
use crate::db::{Db, Ts};
use crate::error::{Error, Result};
use crate::mail::Mailer;
use crate::users::{self, NewUser};
use crate::{bind_params, with_db, with_tx};

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct AdminUser {
    pub id: String,
    pub email: String,
    pub name: String,
    pub user_key: String,
    #[serde(serialize_with = "opt_bool")]
    pub is_admin: Option<bool>,
    pub oidc_provider: Option<String>,
    pub language: Option<String>,
    pub theme: Option<String>,
    pub created_at: Option<Ts>,
    /// Disabled accounts cannot sign in; their sessions and tokens stop working.
    pub disabled: bool,
    #[serde(serialize_with = "opt_bool")]
    pub mfa_enabled: Option<bool>,
    /// The member has a passkey (a second factor too; an MFA reset removes them).
    pub has_passkeys: bool,
    /// No password and no OIDC link yet (invited, has not set a password).
    pub invite_pending: bool,
    /// When the latest unused invite link expires (pending members only).
    pub invite_expires_at: Option<Ts>,
    /// Pending, and the invite link has expired.
    #[sqlx(skip)]
    pub invite_expired: bool,
}

impl AdminUser {
    fn finish(mut self) -> AdminUser {
        if !self.invite_pending {
            self.invite_expires_at = None;
        }
        self.invite_expired = self.invite_expires_at.is_some_and(|t| t <= Ts::now());
        self
    }
}

fn opt_bool<S: serde::Serializer>(v: &Option<bool>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bool(v.unwrap_or(false))
}

const COLUMNS: &str = "u.id, u.email, u.name, u.user_key, u.is_admin, u.oidc_provider, u.language, u.theme, \
     u.created_at, u.disabled, u.mfa_enabled, \
     EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = u.id) AS has_passkeys, \
     CASE WHEN (u.password_hash IS NULL OR u.password_hash = '') AND u.oidc_provider IS NULL AND u.oidc_sub IS NULL \
          THEN TRUE ELSE FALSE END AS invite_pending, \
     (SELECT MAX(t.expires_at) FROM password_reset_tokens t WHERE t.user_id = u.id \
        AND COALESCE(t.used, FALSE) = FALSE AND COALESCE(t.purpose, 'invite') = 'invite') AS invite_expires_at";

/// Users, newest first; `q` matches name or e-mail.
pub async fn list(
    db: &Db,
    q: Option<&str>,
    limit: Option<i64>,
    offset: i64,
) -> Result<(Vec<AdminUser>, i64)> {
    let mut p = Params::new();
    let mut cond = "TRUE".to_string();
    if let Some(q) = q.map(str::trim).filter(|s| !s.is_empty()) {
        let like = p.push(format!("%{}%", crate::db::params::escape_like(&q.to_lowercase())));
        cond = format!("(LOWER(u.name) LIKE {like} ESCAPE '\\' OR LOWER(u.email) LIKE {like} ESCAPE '\\')");
    }
    let count_sql = format!("SELECT COUNT(*) FROM users u WHERE {cond}");
    let total: i64 = with_db!(db, pool => bind_params!(sqlx::query_scalar::<_, i64>(&count_sql), p).fetch_one(pool).await?);
    let mut sql = format!("SELECT {COLUMNS} FROM users u WHERE {cond} ORDER BY u.created_at DESC, u.id DESC");
    if let Some(l) = limit {
        let lp = p.push(l);
        let op = p.push(offset);
        sql.push_str(&format!(" LIMIT {lp} OFFSET {op}"));
    }
    let rows =
        with_db!(db, pool => bind_params!(sqlx::query_as::<_, AdminUser>(&sql), p).fetch_all(pool).await?);
    Ok((rows.into_iter().map(AdminUser::finish).collect(), total))
}

pub async fn get(db: &Db, id: &str) -> Result<Option<AdminUser>> {
    let sql = format!("SELECT {COLUMNS} FROM users u WHERE u.id = $1");
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, AdminUser>(&sql).bind(id).fetch_optional(pool).await?)
            .map(AdminUser::finish),
    )
}

pub fn not_found() -> Error {
    Error::not_found("User not found")
}

fn last_admin() -> Error {
    Error::bad_request("Cannot remove the last admin").with_code("LAST_ADMIN")
}

async fn record(db: &Db, origin: &Origin, actor: &str, action: &str, id: &str, meta: serde_json::Value) {
    audit::log(db, origin, Some(actor), action, "org_member", Some(id), meta).await;
}

#[derive(Deserialize, ToSchema)]
pub struct CreateUserInput {
    #[schema(value_type = String, required = true, max_length = 255, pattern = "^[\\s\\u0085]*[^@\\s\\u0085]+@[^@\\s\\u0085.]+\\.[^@\\s\\u0085]*[^@\\s\\u0085.][\\s\\u0085]*$")]
    pub email: Option<String>,
    /// 1–255 characters (control characters are dropped, spaces trimmed).
    #[schema(value_type = String, required = true, max_length = 255, pattern = "^[\\s\\S]*[^\\s\\x00-\\x1f\\x7f-\\x9f][\\s\\S]*$")]
    pub name: Option<String>,
    /// Optional: without one the user signs in through OIDC or a later invite. The password
    /// policy: 8–128 characters with an upper- and a lower-case letter, a digit and a special
    /// character.
    #[schema(
        max_length = 128,
        pattern = "^$|^(?=[\\s\\S]*[A-Z])(?=[\\s\\S]*[a-z])(?=[\\s\\S]*[0-9])(?=[\\s\\S]*[!@#$%^&*()_+=\\[\\]{};\':\"\\\\|,.<>/?-])[\\s\\S]{8,128}$"
    )]
    pub password: Option<String>,
    pub is_admin: Option<bool>,
    /// Invite by e-mail instead of setting a password (needs outgoing mail): the member gets a
    /// 7-day link to choose one.
    pub send_invite: Option<bool>,
    /// The invite's language (`en`, `de`); by default the inviting admin's.
    pub language: Option<String>,
}

/// Creates a member: with a password, invited by e-mail, or without either (for OIDC or a later
/// invite).
pub async fn create(
    db: &Db,
    mailer: &Mailer,
    origin: &Origin,
    actor: &str,
    input: CreateUserInput,
) -> Result<AdminUser> {
    let (Some(email), Some(name)) = (
        input.email.filter(|s| !s.trim().is_empty()),
        input.name.filter(|s| !s.trim().is_empty()),
    ) else {
        return Err(Error::bad_request("Email and name are required").with_code("VALIDATION_ERROR"));
    };
    let invite = input.send_invite == Some(true);
    let id = if invite {
        if input.password.as_deref().is_some_and(|p| !p.is_empty()) {
            return Err(Error::bad_request(
                "Cannot set password and send invite. Either set a password or choose \"Send invite email\".",
            )
            .with_code("VALIDATION_ERROR"));
        }
        let who = invites::Invitee {
            email: &email,
            name: &name,
            is_admin: input.is_admin.unwrap_or(false),
            language: input.language.as_deref(),
        };
        invites::create(db, mailer, actor, who).await?
    } else {
        insert(
            db,
            &email,
            &name,
            input.password.as_deref(),
            input.is_admin.unwrap_or(false),
        )
        .await?
    };
    let user = get(db, &id).await?.ok_or_else(Error::internal)?;
    record(
        db,
        origin,
        actor,
        "org_member.created",
        &id,
        json!({"email": user.email, "name": user.name, "invite": invite}),
    )
    .await;
    Ok(user)
}

async fn insert(db: &Db, email: &str, name: &str, password: Option<&str>, is_admin: bool) -> Result<String> {
    let email = users::validate_email("email", email)?;
    let name = users::validate_name("name", name)?;
    let hash = match password.filter(|p| !p.is_empty()) {
        Some(p) => {
            password::validate("password", p)?;
            Some(password::hash(p).await?)
        }
        None => None,
    };
    let mut tx = db.begin().await?;
    let id = users::insert(
        &mut tx,
        &NewUser {
            email: &email,
            name: &name,
            password_hash: hash.as_deref(),
            is_admin,
            email_verified: true,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

#[derive(Deserialize, ToSchema, Default)]
pub struct UpdateUserInput {
    pub email: Option<String>,
    pub name: Option<String>,
    /// A new password (ends the user's sessions).
    pub password: Option<String>,
    pub is_admin: Option<bool>,
    /// Disable (or re-enable) the account; disabling ends sessions and stops API tokens.
    pub disabled: Option<bool>,
    pub language: Option<String>,
    pub theme: Option<String>,
}

/// Applies an admin's changes in one transaction. Demoting or disabling the last active admin is
/// refused; a new password, disabling and e-mail changes end the user's sessions.
pub async fn update(
    db: &Db,
    origin: &Origin,
    actor: &str,
    id: &str,
    u: &UpdateUserInput,
) -> Result<AdminUser> {
    let fields = change(db, actor, id, u).await?;
    let user = get(db, id).await?.ok_or_else(not_found)?;
    record(
        db,
        origin,
        actor,
        "user.updated",
        id,
        json!({"email": user.email, "fields": fields}),
    )
    .await;
    Ok(user)
}

async fn change(db: &Db, actor: &str, id: &str, u: &UpdateUserInput) -> Result<Vec<&'static str>> {
    let current = get(db, id).await?.ok_or_else(not_found)?;
    let email = match &u.email {
        Some(e) => Some(users::validate_email("email", e)?),
        None => None,
    };
    let name = match &u.name {
        Some(n) => Some(users::validate_name("name", n)?),
        None => None,
    };
    let hash = match u.password.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => {
            password::validate("password", p)?;
            Some(password::hash(p).await?)
        }
        None => None,
    };
    if let Some(t) = &u.theme {
        if !users::THEMES.contains(&t.as_str()) {
            return Err(Error::invalid("theme", "Theme must be auto, light or dark"));
        }
    }
    if let Some(l) = &u.language {
        if l.is_empty() || l.len() > 10 {
            return Err(Error::invalid(
                "language",
                "Language must be a language code such as en or de",
            ));
        }
    }
    if u.disabled == Some(true) && id == actor {
        return Err(Error::bad_request("You cannot disable your own account").with_code("SELF_DISABLE"));
    }
    let mut fields = Vec::new();
    for (set, name) in [
        (email.is_some(), "email"),
        (name.is_some(), "name"),
        (hash.is_some(), "password"),
        (u.is_admin.is_some(), "is_admin"),
        (u.disabled.is_some(), "disabled"),
        (u.language.is_some(), "language"),
        (u.theme.is_some(), "theme"),
    ] {
        if set {
            fields.push(name);
        }
    }
    if fields.is_empty() {
        return Err(Error::bad_request("No fields to update"));
    }
    let was_active_admin = current.is_admin.unwrap_or(false) && !current.disabled;
    let stays_active_admin =
        u.is_admin.unwrap_or(current.is_admin.unwrap_or(false)) && !u.disabled.unwrap_or(current.disabled);

    let mut tx = db.begin().await?;
    let res = with_tx!(&mut tx, c => sqlx::query(
        "UPDATE users SET email = COALESCE($1, email), name = COALESCE($2, name), password_hash = COALESCE($3, password_hash), \
         is_admin = COALESCE($4, is_admin), disabled = COALESCE($5, disabled), language = COALESCE($6, language), \
         theme = COALESCE($7, theme) WHERE id = $8")
        .bind(&email).bind(&name).bind(&hash).bind(u.is_admin).bind(u.disabled).bind(&u.language).bind(&u.theme).bind(id)
        .execute(c).await.map(|r| r.rows_affected()));
    if let Err(e) = res {
        if crate::db::is_unique_violation(&e) {
            return Err(Error::invalid("email", "User with this email already exists"));
        }
        return Err(e.into());
    }
    if was_active_admin && !stays_active_admin {
        // Checked inside the transaction, after the change: at least one active admin must remain.
        let left: i64 = with_tx!(&mut tx, c => sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE is_admin = TRUE AND disabled = FALSE").fetch_one(c).await?);
        if left == 0 {
            return Err(last_admin());
        }
    }
    if hash.is_some() || u.disabled == Some(true) || email.is_some() {
        with_tx!(&mut tx, c => sqlx::query("DELETE FROM auth_sessions WHERE user_id = $1")
            .bind(id).execute(c).await?.rows_affected());
    }
    tx.commit().await?;
    Ok(fields)
}

/// Deletes a member and everything they own. Not yourself, not the last admin.
pub async fn delete(db: &Db, origin: &Origin, actor: &str, id: &str) -> Result<()> {
    let email = remove(db, actor, id).await?;
    record(
        db,
        origin,
        actor,
        "org_member.deleted",
        id,
        json!({"email": email}),
    )
    .await;
    Ok(())
}

async fn remove(db: &Db, actor: &str, id: &str) -> Result<String> {
    if id == actor {
        return Err(Error::bad_request("Cannot delete your own account").with_code("SELF_DELETE"));
    }
    let user = get(db, id).await?.ok_or_else(not_found)?;
    let mut tx = db.begin().await?;
    with_tx!(&mut tx, c => sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(c).await?.rows_affected());
    if user.is_admin.unwrap_or(false) && !user.disabled {
        let left: i64 = with_tx!(&mut tx, c => sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE is_admin = TRUE AND disabled = FALSE").fetch_one(c).await?);
        if left == 0 {
            return Err(last_admin());
        }
    }
    tx.commit().await?;
    Ok(user.email)
}

/// Recovery of a member who lost their authenticator and backup codes: MFA off, passkeys
/// removed, sessions ended.
/// `via` says where the admin did it (`api`, `cli`).
pub async fn reset_mfa(db: &Db, origin: &Origin, actor: Option<&str>, id: &str, via: &str) -> Result<()> {
    let user = users::by_id(db, id).await?.ok_or_else(not_found)?;
    let passkeys = crate::passkeys::store::count(db, id).await?;
    crate::mfa::reset(db, id).await?;
    audit::log(
        db,
        origin,
        actor,
        "user.mfa_reset",
        "org_member",
        Some(id),
        json!({"email": user.email, "via": via, "passkeys_removed": passkeys}),
    )
    .await;
    Ok(())
}

/// A new invite link for a member who has not set a password yet; returns when it expires.
pub async fn resend_invite(db: &Db, mailer: &Mailer, origin: &Origin, actor: &str, id: &str) -> Result<Ts> {
    invites::resend(db, mailer, origin, actor, id).await
}
