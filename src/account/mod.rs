//! The signed-in user's own account: profile, e-mail address ([`email`]), password, deleting the
//! account.

pub mod email;

use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::audit::{self, Origin};
use crate::auth::{password, ratelimit, sessions, AuthUser, NewSession};
use crate::config::Config;
use crate::db::Db;
use crate::error::{Error, FieldError, Result};
use crate::mail::Mailer;
use crate::users::{self, User};
use crate::{with_db, with_tx};

#[derive(Deserialize, ToSchema)]
pub struct ProfileUpdate {
    #[schema(
        max_length = 255,
        pattern = "^[\\s\\u0085]*[^@\\s\\u0085]+@[^@\\s\\u0085.]+\\.[^@\\s\\u0085]*[^@\\s\\u0085.][\\s\\u0085]*$"
    )]
    pub email: Option<String>,
    /// 1–255 characters (control characters are dropped, spaces trimmed).
    #[schema(
        max_length = 255,
        pattern = "^[\\s\\S]*[^\\s\\x00-\\x1f\\x7f-\\x9f][\\s\\S]*$"
    )]
    pub name: Option<String>,
    /// `en` or `de` (other language codes are stored for clients that know them).
    #[schema(pattern = "^[a-z]{2}(-[A-Za-z]{2})?$")]
    pub language: Option<String>,
    /// `auto`, `light` or `dark`.
    #[schema(value_type = Option<crate::users::Theme>)]
    pub theme: Option<String>,
    /// `true` or `false` (any other text counts as `false`).
    #[schema(value_type = Option<AiFlag>)]
    pub ai_suggestions_enabled: Option<serde_json::Value>,
}

/// A switch as a boolean, or as text (`"true"` switches it on).
#[derive(serde::Serialize, ToSchema)]
#[serde(untagged)]
pub enum AiFlag {
    Flag(bool),
    Text(String),
}

fn valid_language(l: &str) -> bool {
    let b = l.as_bytes();
    (b.len() == 2 && b.iter().all(u8::is_ascii_lowercase))
        || (b.len() == 5
            && b[..2].iter().all(u8::is_ascii_lowercase)
            && b[2] == b'-'
            && b[3..].iter().all(u8::is_ascii_alphabetic))
}

/// A profile after an update, and the address waiting for confirmation if the update asked to
/// change it.
pub struct ProfileChange {
    pub user: User,
    pub pending_email: Option<String>,
}

/// Updates name, language, theme and the AI preference; a new e-mail address is not switched to
/// until it is confirmed through the link mailed to it (all in one transaction). All fields are
/// optional; at least one is needed.
pub async fn update_profile(
    db: &Db,
    mailer: &Mailer,
    origin: &Origin,
    u: &User,
    body: ProfileUpdate,
) -> Result<ProfileChange> {
    let mut errors = Vec::new();
    let mut fields: Vec<&str> = Vec::new();
    let mut new_email = None;
    if let Some(email) = &body.email {
        if u.oidc_provider.is_some() {
            return Err(Error::invalid(
                "email",
                "Email cannot be changed for OIDC-authenticated users. Email is managed by your identity provider.",
            ));
        }
        let e = users::validate_email("email", email)?;
        if e != u.email {
            if !mailer.available(db).await? {
                return Err(Error::invalid(
                    "email",
                    "Changing your e-mail address needs e-mail verification, and this server has no outgoing mail configured. Ask an admin to change it.",
                )
                .with_code("EMAIL_CHANGE_UNAVAILABLE"));
            }
            if users::by_email(db, &e).await?.is_some() {
                return Err(Error::invalid("email", "User with this email already exists"));
            }
            new_email = Some(e);
        }
    }
    let name = match &body.name {
        Some(n) => match users::validate_name("name", n) {
            Ok(n) => Some(n),
            Err(e) => {
                errors.extend(e.details.unwrap_or_default());
                None
            }
        },
        None => None,
    };
    if let Some(l) = &body.language {
        if !valid_language(l) {
            errors.push(FieldError {
                field: "language".into(),
                message: "Language must be a language code such as en or de".into(),
            });
        }
    }
    if let Some(t) = &body.theme {
        if !users::THEMES.contains(&t.as_str()) {
            errors.push(FieldError {
                field: "theme".into(),
                message: "Theme must be auto, light or dark".into(),
            });
        }
    }
    let ai = match &body.ai_suggestions_enabled {
        None => None,
        Some(serde_json::Value::Bool(b)) => Some(*b),
        Some(serde_json::Value::String(s)) => Some(s == "true"),
        Some(_) => {
            errors.push(FieldError {
                field: "ai_suggestions_enabled".into(),
                message: "ai_suggestions_enabled must be true or false".into(),
            });
            None
        }
    };
    if !errors.is_empty() {
        return Err(Error::validation(errors));
    }
    if name.is_some() {
        fields.push("name");
    }
    if body.language.is_some() {
        fields.push("language");
    }
    if body.theme.is_some() {
        fields.push("theme");
    }
    if ai.is_some() {
        fields.push("ai_suggestions_enabled");
    }
    if fields.is_empty() && new_email.is_none() {
        return Err(Error::bad_request("No fields to update"));
    }
    let mut tx = db.begin().await?;
    if !fields.is_empty() {
        with_tx!(&mut tx, c => sqlx::query(
            "UPDATE users SET name = COALESCE($1, name), language = COALESCE($2, language), \
             theme = COALESCE($3, theme), ai_suggestions_enabled = COALESCE($4, ai_suggestions_enabled) WHERE id = $5")
            .bind(&name).bind(&body.language).bind(&body.theme).bind(ai).bind(&u.id)
            .execute(c).await?.rows_affected());
    }
    if let Some(e) = &new_email {
        // The mail goes out in the language the same request may have just chosen.
        let lang = body.language.as_deref().or(u.language.as_deref());
        let name = name.as_deref().unwrap_or(&u.name);
        email::request_change(&mut tx, mailer, &u.id, name, lang, e).await?;
    }
    tx.commit().await?;
    mailer.wake();
    if !fields.is_empty() {
        audit::log(
            db,
            origin,
            Some(&u.id),
            "user.profile_updated",
            "user",
            Some(&u.id),
            json!({"fields": fields}),
        )
        .await;
    }
    if let Some(e) = &new_email {
        audit::log(
            db,
            origin,
            Some(&u.id),
            "user.email_change_requested",
            "user",
            Some(&u.id),
            json!({"pending_email": e}),
        )
        .await;
    }
    let user = users::by_id(db, &u.id).await?.ok_or_else(Error::unauthorized)?;
    Ok(ProfileChange {
        user,
        pending_email: new_email,
    })
}

#[derive(Deserialize, ToSchema, Default)]
pub struct DeleteAccount {
    /// Required when the account has a password.
    pub password: Option<String>,
}

/// Checks the caller's current password (rate limited per account); `field` names it in errors.
pub async fn confirm_password(db: &Db, auth: &AuthUser, given: Option<&str>, field: &str) -> Result<()> {
    if !auth.user.has_password() {
        return Ok(());
    }
    let Some(given) = given.filter(|p| !p.is_empty()) else {
        return Err(Error::invalid(field, "Password is required").with_code("PASSWORD_REQUIRED"));
    };
    ratelimit::check(db, &ratelimit::PASSWORD_PER_ACCOUNT, auth.id()).await?;
    if !password::verify(given, auth.user.password_hash.as_deref()).await {
        ratelimit::record_failure(db, &ratelimit::PASSWORD_PER_ACCOUNT, auth.id()).await?;
        return Err(Error::invalid(field, "Invalid password").with_code("INVALID_PASSWORD"));
    }
    Ok(())
}

/// Deletes the caller's account and everything it owns. Needs the password (for accounts that
/// have one); the last admin cannot delete themselves.
pub async fn delete_account(db: &Db, origin: &Origin, auth: &AuthUser, body: DeleteAccount) -> Result<()> {
    confirm_password(db, auth, body.password.as_deref(), "password").await?;
    if auth.user.is_admin() && users::active_admin_count(db).await? <= 1 {
        return Err(Error::bad_request("Cannot remove the last admin").with_code("LAST_ADMIN"));
    }
    audit::log(
        db,
        origin,
        Some(auth.id()),
        "user.self_deleted",
        "user",
        Some(auth.id()),
        json!({"email": auth.user.email}),
    )
    .await;
    with_db!(db, pool => sqlx::query("DELETE FROM users WHERE id = $1").bind(auth.id()).execute(pool).await?.rows_affected());
    Ok(())
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordChange {
    pub current_password: Option<String>,
    pub new_password: Option<String>,
}

/// Changes the caller's password. Every existing session of the account ends; a caller signed
/// in with a session gets a fresh one.
pub async fn change_password(
    db: &Db,
    config: &Config,
    origin: &Origin,
    auth: &AuthUser,
    body: PasswordChange,
) -> Result<Option<NewSession>> {
    confirm_password(db, auth, body.current_password.as_deref(), "current_password").await?;
    let new = body.new_password.unwrap_or_default();
    password::validate("new_password", &new)?;
    let hash = password::hash(&new).await?;
    users::set_password_hash(db, auth.id(), &hash).await?;
    sessions::delete_all_for_user(db, auth.id()).await?;
    audit::log(
        db,
        origin,
        Some(auth.id()),
        "user.password_changed",
        "user",
        Some(auth.id()),
        json!({}),
    )
    .await;
    if auth.session_id.is_none() {
        return Ok(None);
    }
    let user = (*auth.user).clone();
    Ok(Some(crate::auth::open_session(db, config, user, origin).await?))
}
