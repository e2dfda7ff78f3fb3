//! Password reset by e-mail, and the tokens admin invites share with it (`password_reset_tokens`;
//! `purpose` tells a 1-hour reset from a 7-day invite). Asking for a reset answers the same, in
//! the same time, whether or not the address has an account: the lookup and the mail happen after
//! the answer. A reset uses its token once, ends every session of the account, tells the account
//! by mail, and is audited.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::audit::{self, Origin};
use crate::auth::{password, ratelimit, tokens};
use crate::db::{self, Db, Ts, Tx};
use crate::error::{Error, Kind, Result};
use crate::mail::{content, outbox, Kind as MailKind, Lang, Mailer, Outgoing};
use crate::users::{self, User, USER_COLUMNS};
use crate::with_tx;

/// What a reset token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Reset,
    Invite,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Reset => "reset",
            Purpose::Invite => "invite",
        }
    }

    fn ttl(self) -> Duration {
        match self {
            Purpose::Reset => Duration::from_secs(3600),
            Purpose::Invite => Duration::from_secs(7 * 86_400),
        }
    }
}

/// Requests for a reset per client address (every request counts).
pub const REQUEST_PER_IP: ratelimit::Limit = ratelimit::Limit {
    name: "reset-request-ip",
    max: 60,
    window_secs: 15 * 60,
    message: "Too many password reset requests, please try again later.",
};

/// At most this many reset mails per address and hour; more requests get the same answer.
const MAILS_PER_HOUR: i64 = 3;

/// The one answer to every well-formed reset request.
pub const REQUEST_ANSWER: &str = "If an account with this email exists, a password reset link has been sent.";

pub fn invalid_token() -> Error {
    Error::new(Kind::BadRequest, "INVALID_TOKEN", "Invalid or expired token")
}

/// Issues a token for `user_id` in the caller's transaction; the user's older unused tokens stop
/// working. Returns the token (for the link) and when it expires.
pub async fn issue(tx: &mut Tx, user_id: &str, purpose: Purpose) -> Result<(String, Ts)> {
    let t = tokens::fresh();
    let id = db::new_id();
    let now = Ts::now();
    let expires = now.plus(purpose.ttl());
    with_tx!(tx, c => sqlx::query(
        "UPDATE password_reset_tokens SET used = TRUE WHERE user_id = $1 AND COALESCE(used, FALSE) = FALSE")
        .bind(user_id).execute(c).await?.rows_affected());
    with_tx!(tx, c => sqlx::query(
        "INSERT INTO password_reset_tokens (id, user_id, token, expires_at, used, created_at, token_hash, purpose) \
         VALUES ($1, $2, $3, $4, FALSE, $5, $6, $7)")
        .bind(&id).bind(user_id).bind(tokens::placeholder(&id)).bind(expires).bind(now).bind(&t.hash)
        .bind(purpose.as_str()).execute(c).await?.rows_affected());
    Ok((t.plain, expires))
}

#[derive(Deserialize, ToSchema, Default)]
pub struct ResetRequest {
    #[schema(value_type = String, required = true, max_length = 255, pattern = "^[\\s\\u0085]*[^@\\s\\u0085]+@[^@\\s\\u0085.]+\\.[^@\\s\\u0085]*[^@\\s\\u0085.][\\s\\u0085]*$")]
    pub email: Option<String>,
}

/// Asks for a reset link. Checks the address's form and the rate limit; everything that depends
/// on whether the address has an account happens after the answer.
pub async fn request(db: &Db, mailer: &Mailer, origin: &Origin, body: ResetRequest) -> Result<()> {
    let Some(email) = body.email.filter(|e| !e.trim().is_empty()) else {
        return Err(Error::invalid("email", "Email is required"));
    };
    let email = users::validate_email("email", &email)?;
    ratelimit::hit(db, &REQUEST_PER_IP, &origin.ip).await?;
    let (db, mailer, origin) = (db.clone(), mailer.clone(), origin.clone());
    tokio::spawn(async move {
        if let Err(e) = send_link(&db, &mailer, &origin, &email).await {
            tracing::warn!(error = %e, "could not queue a password reset message");
        }
    });
    Ok(())
}

/// Queues the reset mail when the address has an account with a password that may sign in.
async fn send_link(db: &Db, mailer: &Mailer, origin: &Origin, email: &str) -> Result<()> {
    let Some(user) = users::by_email(db, email).await? else {
        return Ok(());
    };
    if !user.has_password() || user.disabled || !mailer.available(db).await? {
        return Ok(());
    }
    let hour = Duration::from_secs(3600);
    let mut tx = db.begin().await?;
    tokens::lock_user(&mut tx, &user.id).await?;
    if outbox::recent(&mut tx, &user.email, &[MailKind::PasswordReset], hour).await? >= MAILS_PER_HOUR {
        return Ok(());
    }
    let (token, _) = issue(&mut tx, &user.id, Purpose::Reset).await?;
    let lang = Lang::of(user.language.as_deref());
    let content = content::password_reset(lang, mailer.link("/reset-password", &token))?;
    let mail = Outgoing {
        kind: MailKind::PasswordReset,
        user_id: Some(&user.id),
        to: &user.email,
        content,
    };
    mailer.queue(&mut tx, mail).await?;
    tx.commit().await?;
    mailer.wake();
    audit::log(
        db,
        origin,
        Some(&user.id),
        "user.password_reset_requested",
        "user",
        Some(&user.id),
        json!({}),
    )
    .await;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: String,
    user_id: String,
    expires_at: Ts,
    used: bool,
    purpose: Option<String>,
}

async fn find(tx: &mut Tx, token: &str) -> Result<Option<TokenRow>> {
    let lock = if matches!(tx, Tx::Postgres(_)) {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!(
        "SELECT id, user_id, expires_at, COALESCE(used, FALSE) AS used, purpose FROM password_reset_tokens \
         WHERE token_hash = $1 OR (token_hash IS NULL AND token = $2) LIMIT 1{lock}"
    );
    Ok(with_tx!(tx, c => sqlx::query_as::<_, TokenRow>(&sql)
        .bind(tokens::hash(token)).bind(token).fetch_optional(c).await?))
}

async fn mark_used(tx: &mut Tx, id: &str) -> Result<bool> {
    let n = with_tx!(tx, c => sqlx::query(
        "UPDATE password_reset_tokens SET used = TRUE WHERE id = $1 AND COALESCE(used, FALSE) = FALSE")
        .bind(id).execute(c).await?.rows_affected());
    Ok(n == 1)
}

/// A live token's row, in a transaction that holds it. An expired token is marked used on the
/// way (and that committed), so it is refused for good.
async fn live(db: &Db, token: &str) -> Result<Option<(Tx, TokenRow)>> {
    let mut tx = db.begin().await?;
    let Some(row) = find(&mut tx, token).await?.filter(|r| !r.used) else {
        return Ok(None);
    };
    if row.expires_at <= Ts::now() {
        mark_used(&mut tx, &row.id).await?;
        tx.commit().await?;
        return Ok(None);
    }
    Ok(Some((tx, row)))
}

/// Whether `token` may still set a password (it is not used up by asking).
pub async fn check(db: &Db, origin: &Origin, token: Option<&str>) -> Result<()> {
    ratelimit::check(db, &ratelimit::AUTH_PER_IP, &origin.ip).await?;
    let Some(token) = tokens::given(token) else {
        return Err(invalid_token());
    };
    if live(db, &token).await?.is_none() {
        ratelimit::record_failure(db, &ratelimit::AUTH_PER_IP, &origin.ip).await?;
        return Err(invalid_token());
    }
    Ok(())
}

#[derive(Deserialize, ToSchema, Default)]
pub struct ResetInput {
    /// The token from the mailed link.
    #[schema(value_type = String, required = true, pattern = "\\S")]
    pub token: Option<String>,
    /// 8–128 characters with an upper- and a lower-case letter, a digit and a special character.
    #[schema(value_type = String, required = true, min_length = 8, max_length = 128, pattern = "^(?=[\\s\\S]*[A-Z])(?=[\\s\\S]*[a-z])(?=[\\s\\S]*[0-9])(?=[\\s\\S]*[!@#$%^&*()_+=\\[\\]{};\':\"\\\\|,.<>/?-])[\\s\\S]{8,128}$")]
    pub password: Option<String>,
}

/// Sets a new password with a reset or invite token. The token is used up; every session of the
/// account ends; a completed reset also proves the address, so it counts as verified.
pub async fn reset(db: &Db, mailer: &Mailer, origin: &Origin, body: ResetInput) -> Result<()> {
    let (Some(token), Some(pw)) = (
        tokens::given(body.token.as_deref()),
        body.password.filter(|p| !p.is_empty()),
    ) else {
        return Err(Error::bad_request("Token and password are required").with_code("VALIDATION_ERROR"));
    };
    password::validate("password", &pw)?;
    ratelimit::check(db, &ratelimit::AUTH_PER_IP, &origin.ip).await?;
    let hash = password::hash(&pw).await?;
    let done = set_password(db, mailer, &token, &hash).await;
    let (user, purpose) = match done {
        Ok(v) => v,
        Err(e) => {
            if e.code == "INVALID_TOKEN" {
                ratelimit::record_failure(db, &ratelimit::AUTH_PER_IP, &origin.ip).await?;
            }
            return Err(e);
        }
    };
    mailer.wake();
    audit::log(
        db,
        origin,
        Some(&user.id),
        "user.password_reset",
        "user",
        Some(&user.id),
        json!({"via": purpose.as_str(), "sessions_ended": true}),
    )
    .await;
    Ok(())
}

async fn set_password(db: &Db, mailer: &Mailer, token: &str, hash: &str) -> Result<(User, Purpose)> {
    let mail_on = mailer.available(db).await?;
    let (mut tx, row) = live(db, token).await?.ok_or_else(invalid_token)?;
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1");
    let user =
        with_tx!(&mut tx, c => sqlx::query_as::<_, User>(&sql).bind(&row.user_id).fetch_optional(c).await?)
            .ok_or_else(|| Error::bad_request("User not found").with_code("USER_NOT_FOUND"))?;
    if !mark_used(&mut tx, &row.id).await? {
        return Err(invalid_token());
    }
    let purpose = match row.purpose.as_deref() {
        Some("invite") => Purpose::Invite,
        _ => Purpose::Reset,
    };
    with_tx!(&mut tx, c => sqlx::query(
        "UPDATE users SET password_hash = $1, email_verified = TRUE WHERE id = $2")
        .bind(hash).bind(&user.id).execute(c).await?.rows_affected());
    with_tx!(&mut tx, c => sqlx::query(
        "UPDATE password_reset_tokens SET used = TRUE WHERE user_id = $1 AND COALESCE(used, FALSE) = FALSE")
        .bind(&user.id).execute(c).await?.rows_affected());
    with_tx!(&mut tx, c => sqlx::query("DELETE FROM auth_sessions WHERE user_id = $1")
        .bind(&user.id).execute(c).await?.rows_affected());
    if purpose == Purpose::Reset && mail_on {
        let lang = Lang::of(user.language.as_deref());
        let content = content::password_changed(lang, Ts::now(), &mailer.page("/reset-password"))?;
        let mail = Outgoing {
            kind: MailKind::PasswordChanged,
            user_id: Some(&user.id),
            to: &user.email,
            content,
        };
        mailer.queue(&mut tx, mail).await?;
    }
    tx.commit().await?;
    Ok((user, purpose))
}
