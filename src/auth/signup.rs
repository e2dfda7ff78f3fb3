//! Self sign-up and the verification of the new account's address. While mail can be sent, a new
//! account starts unverified and gets a 24-hour link; a sign-up with an address that already has
//! an account gets the same answer (its owner is told by mail), so the form reveals no accounts.
//! Without mail, accounts are ready at once, as before. A link cannot move an account to another
//! address unless the account's password comes with it.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::audit::{self, Origin};
use crate::auth::{password, ratelimit, tokens};
use crate::config::Config;
use crate::db::{self, Db, Ts, Tx};
use crate::error::{Error, Kind, Result};
use crate::mail::{content, outbox, Kind as MailKind, Lang, Mailer, Outgoing};
use crate::users::{self, NewUser, User, USER_COLUMNS};
use crate::{settings, with_tx};

const TTL: Duration = Duration::from_secs(24 * 3600);
/// Sign-up mails per address and hour; more requests get the same answer and no mail.
const MAILS_PER_HOUR: i64 = 3;

/// Resend requests per client address (every request counts).
pub const RESEND_PER_IP: ratelimit::Limit = ratelimit::Limit {
    name: "signup-resend-ip",
    max: 60,
    window_secs: 15 * 60,
    message: "Too many requests, please try again later.",
};

#[derive(Deserialize, ToSchema, Default)]
pub struct RegisterRequest {
    #[schema(value_type = String, required = true, max_length = 255, pattern = "^[\\s\\u0085]*[^@\\s\\u0085]+@[^@\\s\\u0085.]+\\.[^@\\s\\u0085]*[^@\\s\\u0085.][\\s\\u0085]*$")]
    pub email: Option<String>,
    /// 1–255 characters (control characters are dropped, spaces trimmed).
    #[schema(value_type = String, required = true, max_length = 255, pattern = "^[\\s\\S]*[^\\s\\x00-\\x1f\\x7f-\\x9f][\\s\\S]*$")]
    pub name: Option<String>,
    /// 8–128 characters with an upper- and a lower-case letter, a digit and a special character.
    #[schema(value_type = String, required = true, min_length = 8, max_length = 128, pattern = "^(?=[\\s\\S]*[A-Z])(?=[\\s\\S]*[a-z])(?=[\\s\\S]*[0-9])(?=[\\s\\S]*[!@#$%^&*()_+=\\[\\]{};\':\"\\\\|,.<>/?-])[\\s\\S]{8,128}$")]
    pub password: Option<String>,
    /// `en` or `de`: the account's language (and its verification mail's).
    pub language: Option<String>,
}

/// How a sign-up ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    /// The account can sign in now (no mail on this server).
    Ready,
    /// A verification link is on its way (or the address already had an account).
    VerifyEmail,
}

/// Self sign-up, when registrations are enabled (`REGISTRATIONS_ENABLED` or the admin setting;
/// off by default). Never creates an admin.
pub async fn register(
    db: &Db,
    config: &Config,
    mailer: &Mailer,
    origin: &Origin,
    body: RegisterRequest,
) -> Result<Registered> {
    if !settings::registrations_enabled(db, config.registrations_enabled).await? {
        return Err(Error::new(
            Kind::Forbidden,
            "REGISTRATIONS_DISABLED",
            "Registrations are disabled",
        ));
    }
    ratelimit::check(db, &ratelimit::AUTH_PER_IP, &origin.ip).await?;
    let mail_on = mailer.available(db).await?;
    let language = body
        .language
        .clone()
        .filter(|l| users::LANGUAGES.contains(&l.as_str()));
    let result = async {
        let (email, name, pw) = super::signin::new_account(body.email, body.name, body.password).await?;
        if let Some(existing) = users::by_email(db, &email).await? {
            if !mail_on {
                return Err(Error::invalid("email", "Email already registered"));
            }
            // The same answer as a new account, after the same work; the owner hears of it.
            password::hash(&pw).await?;
            tell_existing(db, mailer, &existing).await?;
            return Ok(None);
        }
        let hash = password::hash(&pw).await?;
        let mut tx = db.begin().await?;
        let id = users::insert(
            &mut tx,
            &NewUser {
                email: &email,
                name: &name,
                password_hash: Some(&hash),
                is_admin: false,
                email_verified: !mail_on,
            },
        )
        .await
        .map_err(|e| {
            if e.message == "User with this email already exists" {
                Error::invalid("email", "Email already registered")
            } else {
                e
            }
        })?;
        if let Some(l) = &language {
            with_tx!(&mut tx, c => sqlx::query("UPDATE users SET language = $1 WHERE id = $2")
                .bind(l).bind(&id).execute(c).await?.rows_affected());
        }
        if mail_on {
            let lang = Lang::of(language.as_deref());
            issue(&mut tx, mailer, &id, &email, &name, lang).await?;
        }
        tx.commit().await?;
        mailer.wake();
        Ok(Some(id))
    }
    .await;
    match result {
        Ok(Some(id)) => {
            audit::log(
                db,
                origin,
                Some(&id),
                "auth.registered",
                "user",
                Some(&id),
                json!({"verification": mail_on}),
            )
            .await;
            Ok(if mail_on {
                Registered::VerifyEmail
            } else {
                Registered::Ready
            })
        }
        Ok(None) => Ok(Registered::VerifyEmail),
        Err(e) => {
            ratelimit::record_failure(db, &ratelimit::AUTH_PER_IP, &origin.ip).await?;
            Err(e)
        }
    }
}

/// "Someone tried to sign up with your address" (at most a few per hour).
async fn tell_existing(db: &Db, mailer: &Mailer, user: &User) -> Result<()> {
    let hour = Duration::from_secs(3600);
    let mut tx = db.begin().await?;
    tokens::lock_user(&mut tx, &user.id).await?;
    if outbox::recent(&mut tx, &user.email, &[MailKind::SignupExisting], hour).await? >= MAILS_PER_HOUR {
        return Ok(());
    }
    let lang = Lang::of(user.language.as_deref());
    let content = content::signup_existing(lang, mailer.page("/login"), &mailer.page("/reset-password"))?;
    let mail = Outgoing {
        kind: MailKind::SignupExisting,
        user_id: Some(&user.id),
        to: &user.email,
        content,
    };
    mailer.queue(&mut tx, mail).await?;
    tx.commit().await?;
    mailer.wake();
    Ok(())
}

/// A new verification token for the user (older ones are dropped) and its mail, in the caller's
/// transaction.
async fn issue(
    tx: &mut Tx,
    mailer: &Mailer,
    user_id: &str,
    email: &str,
    name: &str,
    lang: Lang,
) -> Result<()> {
    let t = tokens::fresh();
    let id = db::new_id();
    let now = Ts::now();
    with_tx!(tx, c => sqlx::query("DELETE FROM signup_verification_tokens WHERE user_id = $1")
        .bind(user_id).execute(c).await?.rows_affected());
    with_tx!(tx, c => sqlx::query(
        "INSERT INTO signup_verification_tokens (id, user_id, token, expires_at, used, created_at, token_hash) \
         VALUES ($1, $2, $3, $4, FALSE, $5, $6)")
        .bind(&id).bind(user_id).bind(tokens::placeholder(&id)).bind(now.plus(TTL)).bind(now).bind(&t.hash)
        .execute(c).await?.rows_affected());
    let content = content::signup_verify(lang, name, mailer.link("/verify-email", &t.plain))?;
    let mail = Outgoing {
        kind: MailKind::SignupVerify,
        user_id: Some(user_id),
        to: email,
        content,
    };
    mailer.queue(tx, mail).await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: String,
    user_id: String,
    expires_at: Ts,
    used: bool,
}

async fn find(tx: &mut Tx, token: &str) -> Result<Option<TokenRow>> {
    let lock = if matches!(tx, Tx::Postgres(_)) {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!(
        "SELECT id, user_id, expires_at, COALESCE(used, FALSE) AS used FROM signup_verification_tokens \
         WHERE token_hash = $1 OR (token_hash IS NULL AND token = $2) LIMIT 1{lock}"
    );
    Ok(with_tx!(tx, c => sqlx::query_as::<_, TokenRow>(&sql)
        .bind(tokens::hash(token)).bind(token).fetch_optional(c).await?))
}

async fn user_in(tx: &mut Tx, id: &str) -> Result<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1");
    Ok(with_tx!(tx, c => sqlx::query_as::<_, User>(&sql).bind(id).fetch_optional(c).await?))
}

fn token_required() -> Error {
    Error::invalid("token", "Token is required")
}

fn used_link() -> Error {
    Error::new(
        Kind::BadRequest,
        "TOKEN_USED",
        "This verification link has already been used",
    )
}

#[derive(Deserialize, ToSchema, Default)]
pub struct TokenInput {
    /// The token from the mailed link.
    #[schema(value_type = String, required = true, pattern = "\\S")]
    pub token: Option<String>,
}

/// Verifies a new account's address with the link's token (once).
pub async fn verify(db: &Db, origin: &Origin, body: TokenInput) -> Result<()> {
    let token = tokens::given(body.token.as_deref()).ok_or_else(token_required)?;
    ratelimit::check(db, &ratelimit::AUTH_PER_IP, &origin.ip).await?;
    let mut tx = db.begin().await?;
    let row = find(&mut tx, &token).await?;
    let refusal = match &row {
        None => Some(Error::new(
            Kind::BadRequest,
            "INVALID_TOKEN",
            "Invalid or expired verification link",
        )),
        Some(r) if r.used => Some(used_link()),
        Some(r) if r.expires_at <= Ts::now() => Some(Error::new(
            Kind::BadRequest,
            "TOKEN_EXPIRED",
            "This verification link has expired",
        )),
        Some(_) => None,
    };
    let (Some(row), None) = (row, refusal.clone()) else {
        drop(tx);
        ratelimit::record_failure(db, &ratelimit::AUTH_PER_IP, &origin.ip).await?;
        return Err(refusal.unwrap_or_else(Error::internal));
    };
    let n = with_tx!(&mut tx, c => sqlx::query(
        "UPDATE signup_verification_tokens SET used = TRUE WHERE id = $1 AND COALESCE(used, FALSE) = FALSE")
        .bind(&row.id).execute(c).await?.rows_affected());
    if n != 1 {
        return Err(used_link());
    }
    with_tx!(&mut tx, c => sqlx::query("UPDATE users SET email_verified = TRUE WHERE id = $1")
        .bind(&row.user_id).execute(c).await?.rows_affected());
    tx.commit().await?;
    audit::log(
        db,
        origin,
        Some(&row.user_id),
        "user.signup_verified",
        "user",
        Some(&row.user_id),
        json!({}),
    )
    .await;
    Ok(())
}

/// What a sign-up link is worth now: `invalid`, `used`, `expired` or `valid` (the last two with
/// the account's address).
#[derive(Debug, Serialize, ToSchema)]
pub struct SignupStatus {
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

pub async fn status(db: &Db, origin: &Origin, token: Option<&str>) -> Result<SignupStatus> {
    let token = tokens::given(token).ok_or_else(token_required)?;
    ratelimit::check(db, &ratelimit::AUTH_PER_IP, &origin.ip).await?;
    let mut tx = db.begin().await?;
    let Some(row) = find(&mut tx, &token).await? else {
        return Ok(SignupStatus {
            status: "invalid",
            email: None,
        });
    };
    if row.used {
        return Ok(SignupStatus {
            status: "used",
            email: None,
        });
    }
    let email = user_in(&mut tx, &row.user_id).await?.map(|u| u.email);
    let status = if row.expires_at <= Ts::now() {
        "expired"
    } else {
        "valid"
    };
    Ok(SignupStatus { status, email })
}

#[derive(Deserialize, ToSchema, Default)]
pub struct ResendInput {
    /// The token from the mailed link (an expired one will do).
    #[schema(value_type = String, required = true, pattern = "\\S")]
    pub token: Option<String>,
    /// Move the unverified account to this address (needs `password`).
    #[serde(rename = "newEmail")]
    pub new_email: Option<String>,
    /// The account's password, required with a different `newEmail`.
    pub password: Option<String>,
}

/// A fresh link for the account of a sign-up link (an expired one will do). Moving the account to
/// another address needs its password too: the link alone does not prove whose account it is.
pub async fn resend(db: &Db, mailer: &Mailer, origin: &Origin, body: ResendInput) -> Result<()> {
    let token = tokens::given(body.token.as_deref()).ok_or_else(token_required)?;
    ratelimit::check(db, &ratelimit::AUTH_PER_IP, &origin.ip).await?;
    let new_email = match body.new_email.as_deref().filter(|e| !e.trim().is_empty()) {
        Some(e) => Some(users::validate_email("newEmail", e)?),
        None => None,
    };
    let mut tx = db.begin().await?;
    let row = find(&mut tx, &token).await?;
    let Some(row) = row else {
        drop(tx);
        ratelimit::record_failure(db, &ratelimit::AUTH_PER_IP, &origin.ip).await?;
        return Err(Error::new(
            Kind::BadRequest,
            "INVALID_TOKEN",
            "Invalid verification token",
        ));
    };
    let user = user_in(&mut tx, &row.user_id)
        .await?
        .ok_or_else(|| Error::new(Kind::BadRequest, "INVALID_TOKEN", "Invalid verification token"))?;
    if row.used || user.email_verified() {
        return Err(used_link());
    }
    tokens::lock_user(&mut tx, &user.id).await?;
    let mut email = user.email.clone();
    if let Some(new) = new_email.filter(|n| *n != user.email) {
        let ok = password::verify(
            body.password.as_deref().unwrap_or(""),
            user.password_hash.as_deref(),
        )
        .await;
        if !ok {
            drop(tx);
            ratelimit::record_failure(db, &ratelimit::AUTH_PER_IP, &origin.ip).await?;
            return Err(
                Error::invalid("password", "Changing the address needs the account's password")
                    .with_code("PASSWORD_REQUIRED"),
            );
        }
        let res = with_tx!(&mut tx, c => sqlx::query("UPDATE users SET email = $1 WHERE id = $2")
            .bind(&new).bind(&user.id).execute(c).await.map(|r| r.rows_affected()));
        match res {
            Ok(_) => email = new,
            Err(e) if db::is_unique_violation(&e) => {
                return Err(Error::invalid("newEmail", "Email already registered"))
            }
            Err(e) => return Err(e.into()),
        }
    }
    let hour = Duration::from_secs(3600);
    if outbox::recent(&mut tx, &email, &[MailKind::SignupVerify], hour).await? < MAILS_PER_HOUR
        && mailer.available(db).await?
    {
        let lang = Lang::of(user.language.as_deref());
        issue(&mut tx, mailer, &user.id, &email, &user.name, lang).await?;
    }
    tx.commit().await?;
    mailer.wake();
    if email != user.email {
        audit::log(
            db,
            origin,
            Some(&user.id),
            "user.signup_email_changed",
            "user",
            Some(&user.id),
            json!({"old_email": user.email, "new_email": email}),
        )
        .await;
    }
    Ok(())
}

#[derive(Deserialize, ToSchema, Default)]
pub struct ResendRequest {
    #[schema(value_type = String, required = true, max_length = 255, pattern = "^[\\s\\u0085]*[^@\\s\\u0085]+@[^@\\s\\u0085.]+\\.[^@\\s\\u0085]*[^@\\s\\u0085.][\\s\\u0085]*$")]
    pub email: Option<String>,
    /// Ignored: an address cannot be changed knowing only the old one (use
    /// `resend-signup-verification` with the link and the password).
    #[serde(rename = "newEmail")]
    pub new_email: Option<String>,
}

/// The one answer to every well-formed request for a new sign-up link.
pub const RESEND_ANSWER: &str =
    "If an unverified account exists with that email, a new verification link has been sent.";

/// A new sign-up link for an unverified account, by address. The answer is the same whether or
/// not there is such an account: the work happens after it.
pub async fn request_resend(db: &Db, mailer: &Mailer, origin: &Origin, body: ResendRequest) -> Result<()> {
    let Some(email) = body.email.filter(|e| !e.trim().is_empty()) else {
        return Err(Error::invalid("email", "Email is required"));
    };
    let email = users::validate_email("email", &email)?;
    ratelimit::hit(db, &RESEND_PER_IP, &origin.ip).await?;
    let (db, mailer) = (db.clone(), mailer.clone());
    tokio::spawn(async move {
        let work = async {
            let Some(user) = users::by_email(&db, &email).await? else {
                return Ok(());
            };
            let hour = Duration::from_secs(3600);
            if user.email_verified() || user.disabled || !mailer.available(&db).await? {
                return Ok(());
            }
            let mut tx = db.begin().await?;
            tokens::lock_user(&mut tx, &user.id).await?;
            if outbox::recent(&mut tx, &user.email, &[MailKind::SignupVerify], hour).await? >= MAILS_PER_HOUR
            {
                return Ok(());
            }
            let lang = Lang::of(user.language.as_deref());
            issue(&mut tx, &mailer, &user.id, &user.email, &user.name, lang).await?;
            tx.commit().await?;
            mailer.wake();
            Ok::<(), Error>(())
        };
        if let Err(e) = work.await {
            tracing::warn!(error = %e, "could not queue a sign-up verification message");
        }
    });
    Ok(())
}
