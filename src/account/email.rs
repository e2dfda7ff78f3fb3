//! Changing one's own e-mail address: the new address gets a 24-hour link; following it switches
//! the account over (if nobody took the address meanwhile), tells the old address, and is
//! audited. Tokens are stored hashed (the original kept these in plain text; its rows are still
//! read).

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::audit::{self, Origin};
use crate::auth::{ratelimit, tokens};
use crate::db::{self, Db, Ts, Tx};
use crate::error::{Error, Kind, Result};
use crate::mail::{content, Kind as MailKind, Lang, Mailer, Outgoing};
use crate::users::{User, USER_COLUMNS};
use crate::with_tx;

const TTL: Duration = Duration::from_secs(24 * 3600);

/// In the caller's transaction: earlier unconfirmed changes stop working, a new token is stored,
/// the address becomes `email_pending`, and the link is queued to the new address.
pub async fn request_change(
    tx: &mut Tx,
    mailer: &Mailer,
    user_id: &str,
    name: &str,
    language: Option<&str>,
    new_email: &str,
) -> Result<()> {
    let t = tokens::fresh();
    let id = db::new_id();
    let now = Ts::now();
    with_tx!(tx, c => sqlx::query(
        "UPDATE email_verification_tokens SET used = TRUE WHERE user_id = $1 AND COALESCE(used, FALSE) = FALSE")
        .bind(user_id).execute(c).await?.rows_affected());
    with_tx!(tx, c => sqlx::query(
        "INSERT INTO email_verification_tokens (id, user_id, token, new_email, expires_at, used, created_at, token_hash) \
         VALUES ($1, $2, $3, $4, $5, FALSE, $6, $7)")
        .bind(&id).bind(user_id).bind(tokens::placeholder(&id)).bind(new_email).bind(now.plus(TTL)).bind(now)
        .bind(&t.hash).execute(c).await?.rows_affected());
    with_tx!(tx, c => sqlx::query("UPDATE users SET email_pending = $1 WHERE id = $2")
        .bind(new_email).bind(user_id).execute(c).await?.rows_affected());
    let content = content::email_change_verify(
        Lang::of(language),
        name,
        new_email,
        mailer.link("/verify-email", &t.plain),
    )?;
    let mail = Outgoing {
        kind: MailKind::EmailChangeVerify,
        user_id: Some(user_id),
        to: new_email,
        content,
    };
    mailer.queue(tx, mail).await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: String,
    user_id: String,
    new_email: String,
    expires_at: Ts,
    used: bool,
}

fn token_required() -> Error {
    Error::invalid("token", "Token is required")
}

fn invalid() -> Error {
    Error::new(Kind::BadRequest, "INVALID_TOKEN", "Invalid or expired token")
}

fn expired() -> Error {
    Error::new(Kind::BadRequest, "TOKEN_EXPIRED", "Token has expired")
}

/// The live token's row in a transaction that holds it. An expired token is marked used (and that
/// committed) before the refusal.
async fn live(db: &Db, token: &str) -> Result<(Tx, TokenRow)> {
    let mut tx = db.begin().await?;
    let lock = if matches!(tx, Tx::Postgres(_)) {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!(
        "SELECT id, user_id, new_email, expires_at, COALESCE(used, FALSE) AS used FROM email_verification_tokens \
         WHERE token_hash = $1 OR (token_hash IS NULL AND token = $2) LIMIT 1{lock}"
    );
    let row = with_tx!(&mut tx, c => sqlx::query_as::<_, TokenRow>(&sql)
        .bind(tokens::hash(token)).bind(token).fetch_optional(c).await?);
    let row = row.filter(|r| !r.used).ok_or_else(invalid)?;
    if row.expires_at <= Ts::now() {
        with_tx!(&mut tx, c => sqlx::query("UPDATE email_verification_tokens SET used = TRUE WHERE id = $1")
            .bind(&row.id).execute(c).await?.rows_affected());
        tx.commit().await?;
        return Err(expired());
    }
    Ok((tx, row))
}

async fn refused<T>(db: &Db, origin: &Origin, e: Error) -> Result<T> {
    if e.kind == Kind::BadRequest {
        ratelimit::record_failure(db, &ratelimit::AUTH_PER_IP, &origin.ip).await?;
    }
    Err(e)
}

/// The address a link would switch to, if the link is still good (it is not used up by asking).
pub async fn check(db: &Db, origin: &Origin, token: Option<&str>) -> Result<String> {
    let token = tokens::given(token).ok_or_else(token_required)?;
    ratelimit::check(db, &ratelimit::AUTH_PER_IP, &origin.ip).await?;
    match live(db, &token).await {
        Ok((_, row)) => Ok(row.new_email),
        Err(e) => refused(db, origin, e).await,
    }
}

#[derive(Deserialize, ToSchema, Default)]
pub struct ConfirmInput {
    /// The token from the mailed link.
    #[schema(value_type = String, required = true, pattern = "\\S")]
    pub token: Option<String>,
}

/// Switches the account to the confirmed address; returns it.
pub async fn confirm(db: &Db, mailer: &Mailer, origin: &Origin, body: ConfirmInput) -> Result<String> {
    let token = tokens::given(body.token.as_deref()).ok_or_else(token_required)?;
    ratelimit::check(db, &ratelimit::AUTH_PER_IP, &origin.ip).await?;
    let mail_on = mailer.available(db).await?;
    let (mut tx, row) = match live(db, &token).await {
        Ok(v) => v,
        Err(e) => return refused(db, origin, e).await,
    };
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1");
    let user =
        with_tx!(&mut tx, c => sqlx::query_as::<_, User>(&sql).bind(&row.user_id).fetch_optional(c).await?)
            .ok_or_else(invalid)?;
    let taken = || Error::invalid("email", "This email address is already in use").with_code("EMAIL_TAKEN");
    let others: i64 = with_tx!(&mut tx, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE email = $1 AND id <> $2")
        .bind(&row.new_email).bind(&user.id).fetch_one(c).await?);
    if others > 0 {
        return Err(taken());
    }
    let res = with_tx!(&mut tx, c => sqlx::query(
        "UPDATE users SET email = $1, email_pending = NULL, email_verified = TRUE WHERE id = $2")
        .bind(&row.new_email).bind(&user.id).execute(c).await.map(|r| r.rows_affected()));
    match res {
        Ok(_) => {}
        Err(e) if db::is_unique_violation(&e) => return Err(taken()),
        Err(e) => return Err(e.into()),
    }
    with_tx!(&mut tx, c => sqlx::query(
        "UPDATE email_verification_tokens SET used = TRUE WHERE user_id = $1 AND COALESCE(used, FALSE) = FALSE")
        .bind(&user.id).execute(c).await?.rows_affected());
    if mail_on && user.email != row.new_email {
        let lang = Lang::of(user.language.as_deref());
        let content = content::email_changed(lang, &user.name, &user.email, &row.new_email, Ts::now())?;
        let mail = Outgoing {
            kind: MailKind::EmailChanged,
            user_id: Some(&user.id),
            to: &user.email,
            content,
        };
        mailer.queue(&mut tx, mail).await?;
    }
    tx.commit().await?;
    mailer.wake();
    audit::log(
        db,
        origin,
        Some(&user.id),
        "user.email_changed",
        "user",
        Some(&user.id),
        json!({"old_email": user.email, "new_email": row.new_email}),
    )
    .await;
    Ok(row.new_email)
}
