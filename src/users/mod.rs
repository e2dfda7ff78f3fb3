//! Users: the row, its public projections, and the queries on it.

use rand::Rng;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::{self, Db, Ts};
use crate::error::{Error, Result};
use crate::{with_db, with_tx};

/// Every column of `users` the server reads (the TOTP secret stays in the MFA module's queries).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    pub user_key: String,
    pub password_hash: Option<String>,
    pub is_admin: Option<bool>,
    pub oidc_sub: Option<String>,
    pub oidc_provider: Option<String>,
    pub language: Option<String>,
    pub theme: Option<String>,
    pub created_at: Option<Ts>,
    pub mfa_enabled: Option<bool>,
    pub email_pending: Option<String>,
    pub email_verified: Option<bool>,
    pub ai_suggestions_enabled: Option<bool>,
    pub disabled: bool,
}

pub const USER_COLUMNS: &str = "u.id, u.email, u.name, u.user_key, u.password_hash, u.is_admin, u.oidc_sub, \
     u.oidc_provider, u.language, u.theme, u.created_at, u.mfa_enabled, u.email_pending, u.email_verified, \
     u.ai_suggestions_enabled, u.disabled";

impl User {
    pub fn is_admin(&self) -> bool {
        self.is_admin.unwrap_or(false)
    }
    pub fn mfa_enabled(&self) -> bool {
        self.mfa_enabled.unwrap_or(false)
    }
    pub fn has_password(&self) -> bool {
        self.password_hash.as_deref().is_some_and(|h| !h.is_empty())
    }
    pub fn language(&self) -> String {
        self.language
            .clone()
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| "en".into())
    }
    pub fn theme(&self) -> String {
        self.theme
            .clone()
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "auto".into())
    }
    pub fn email_verified(&self) -> bool {
        self.email_verified.unwrap_or(true)
    }

    /// The body of a successful login, MFA verify or setup (the original's shape).
    pub fn session_body(&self) -> SessionUser {
        SessionUser {
            id: self.id.clone(),
            email: self.email.clone(),
            name: self.name.clone(),
            user_key: self.user_key.clone(),
            is_admin: self.is_admin(),
            email_verified: self.email_verified(),
            language: self.language(),
            theme: self.theme(),
        }
    }
}

/// The user as login, MFA verify and setup return it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionUser {
    pub id: String,
    pub email: String,
    pub name: String,
    pub user_key: String,
    pub is_admin: bool,
    pub email_verified: bool,
    pub language: String,
    pub theme: String,
}

/// Lower-cases and trims, as the original stores e-mail addresses.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The original's e-mail rules and messages.
pub fn validate_email(field: &str, email: &str) -> Result<String> {
    if email.trim().is_empty() {
        return Err(Error::invalid(field, "Email is required"));
    }
    if email.chars().count() > 255 {
        return Err(Error::invalid(field, "Email must be no more than 255 characters"));
    }
    let e = normalize_email(email);
    let ok = match e.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && !e.chars().any(char::is_whitespace)
                && domain
                    .split_once('.')
                    .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty() && !b.ends_with('.'))
        }
        None => false,
    };
    if !ok {
        return Err(Error::invalid(field, "Invalid email format"));
    }
    Ok(e)
}

/// Strips control characters and trims, then checks the length (the original checked first and
/// so accepted names of only spaces).
pub fn sanitize_text(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .to_string()
}

pub fn validate_name(field: &str, name: &str) -> Result<String> {
    let clean = sanitize_text(name);
    if clean.is_empty() {
        return Err(Error::invalid(field, "Name must be at least 1 characters"));
    }
    if name.chars().count() > 255 {
        return Err(Error::invalid(field, "Name must be no more than 255 characters"));
    }
    Ok(clean)
}

pub const LANGUAGES: &[&str] = &["en", "de"];
pub const THEMES: &[&str] = &["auto", "light", "dark"];

/// A colour theme: following the system, light or dark.
#[derive(serde::Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    Auto,
    Light,
    Dark,
}

const KEY_ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ123456789";

/// A random user key in the original's alphabet.
pub fn random_user_key(len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| KEY_ALPHABET[rng.gen_range(0..KEY_ALPHABET.len())] as char)
        .collect()
}

pub async fn by_id(db: &Db, id: &str) -> Result<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1");
    Ok(with_db!(db, pool => sqlx::query_as::<_, User>(&sql).bind(id).fetch_optional(pool).await?))
}

pub async fn by_email(db: &Db, email: &str) -> Result<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.email = $1");
    let email = normalize_email(email);
    Ok(with_db!(db, pool => sqlx::query_as::<_, User>(&sql).bind(&email).fetch_optional(pool).await?))
}

/// Whether the user has registered a passkey (then a password sign-in asks for a second factor).
pub async fn has_passkeys(db: &Db, id: &str) -> Result<bool> {
    let sql = "SELECT EXISTS (SELECT 1 FROM passkeys WHERE user_id = $1)";
    Ok(with_db!(db, pool => sqlx::query_scalar::<_, bool>(sql).bind(id).fetch_one(pool).await?))
}

pub async fn count(db: &Db) -> Result<i64> {
    Ok(
        with_db!(db, pool => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users").fetch_one(pool).await?),
    )
}

pub async fn set_password_hash(db: &Db, user_id: &str, hash: &str) -> Result<()> {
    with_db!(db, pool => sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash).bind(user_id).execute(pool).await?.rows_affected());
    Ok(())
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: Option<&'a str>,
    pub is_admin: bool,
    pub email_verified: bool,
}

/// Inserts a user with a fresh id and user key inside the caller's transaction. A taken e-mail
/// is a 400 with the original's message.
pub async fn insert(tx: &mut db::Tx, new: &NewUser<'_>) -> Result<String> {
    let id = db::new_id();
    let existing: i64 =
        with_tx!(tx, c => sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(c).await?);
    // The original's key length by user count, plus a few characters so collisions are negligible.
    let key_len = match existing {
        n if n < 10 => 4,
        n if n < 100 => 5,
        n if n < 1000 => 6,
        n if n < 10_000 => 7,
        n if n < 100_000 => 8,
        _ => 9,
    } + 4;
    let sql = "INSERT INTO users (id, email, name, user_key, password_hash, is_admin, language, theme, \
               created_at, mfa_enabled, email_verified, ai_suggestions_enabled, disabled) \
               VALUES ($1, $2, $3, $4, $5, $6, 'en', 'auto', $7, FALSE, $8, TRUE, FALSE)";
    let res = with_tx!(tx, c => sqlx::query(sql)
        .bind(&id)
        .bind(new.email)
        .bind(new.name)
        .bind(random_user_key(key_len))
        .bind(new.password_hash)
        .bind(new.is_admin)
        .bind(Ts::now())
        .bind(new.email_verified)
        .execute(c)
        .await
        .map(|r| r.rows_affected()));
    match res {
        Ok(_) => Ok(id),
        Err(e) if db::is_unique_violation(&e) => {
            Err(Error::invalid("email", "User with this email already exists"))
        }
        Err(e) => Err(e.into()),
    }
}

/// `{id, name, email}` of other active users, for the share dialog.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct ShareableUser {
    pub id: String,
    pub name: String,
    pub email: String,
}

pub async fn for_sharing(db: &Db, except: &str) -> Result<Vec<ShareableUser>> {
    let sql = "SELECT id, name, email FROM users WHERE id <> $1 AND disabled = FALSE ORDER BY name, email";
    Ok(with_db!(db, pool => sqlx::query_as::<_, ShareableUser>(sql).bind(except).fetch_all(pool).await?))
}

/// Number of admins that can still sign in.
pub async fn active_admin_count(db: &Db) -> Result<i64> {
    let sql = "SELECT COUNT(*) FROM users WHERE is_admin = TRUE AND disabled = FALSE";
    Ok(with_db!(db, pool => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await?))
}
