//! Inviting a member by e-mail: the account is created without a password together with a 7-day
//! token and the invite message, in one transaction; the member chooses a password through the
//! reset page. Needs outgoing mail; the request never waits for it.

use serde_json::json;

use crate::audit::{self, Origin};
use crate::auth::reset::{self, Purpose};
use crate::db::{Db, Ts, Tx};
use crate::error::{Error, Result};
use crate::mail::{content, Kind as MailKind, Lang, Mailer, Outgoing};
use crate::users::{self, NewUser};
use crate::with_tx;

/// Why an invite cannot go out on this server (the original's wording).
pub fn unavailable(on_create: bool) -> Error {
    let message = if on_create {
        "Invite by email is not available. Configure SMTP in Settings or set a password for the user."
    } else {
        "Invite by email is not available. Configure SMTP in Settings or use a deployment with outbound email."
    };
    Error::bad_request(message).with_code("INVITE_UNAVAILABLE")
}

/// The inviting admin's name, and the invite's language: `asked` when it is one of ours, else
/// the admin's.
async fn inviter(db: &Db, actor: &str, asked: Option<&str>) -> Result<(String, Lang)> {
    let admin = users::by_id(db, actor).await?;
    let name = admin.as_ref().map(|a| a.name.clone()).unwrap_or_default();
    let asked = asked.filter(|l| users::LANGUAGES.contains(l));
    let lang = Lang::of(asked.or(admin.as_ref().and_then(|a| a.language.as_deref())));
    Ok((name, lang))
}

async fn queue_invite(
    tx: &mut Tx,
    mailer: &Mailer,
    user_id: &str,
    email: &str,
    name: &str,
    inviter: &str,
    lang: Lang,
) -> Result<Ts> {
    let (token, expires) = reset::issue(tx, user_id, Purpose::Invite).await?;
    let content = content::invite(
        lang,
        name,
        inviter,
        &mailer.page(""),
        mailer.link("/reset-password", &token),
    )?;
    let mail = Outgoing {
        kind: MailKind::Invite,
        user_id: Some(user_id),
        to: email,
        content,
    };
    mailer.queue(tx, mail).await?;
    Ok(expires)
}

pub struct Invitee<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub is_admin: bool,
    pub language: Option<&'a str>,
}

/// Creates the invited member and queues the invite; returns the new id.
pub async fn create(db: &Db, mailer: &Mailer, actor: &str, who: Invitee<'_>) -> Result<String> {
    if !mailer.available(db).await? {
        return Err(unavailable(true));
    }
    let email = users::validate_email("email", who.email)?;
    let name = users::validate_name("name", who.name)?;
    let (from, lang) = inviter(db, actor, who.language).await?;
    let mut tx = db.begin().await?;
    let id = users::insert(
        &mut tx,
        &NewUser {
            email: &email,
            name: &name,
            password_hash: None,
            is_admin: who.is_admin,
            email_verified: false,
        },
    )
    .await?;
    // The member's pages and later mail use the invite's language until they choose another.
    with_tx!(&mut tx, c => sqlx::query("UPDATE users SET language = $1 WHERE id = $2")
        .bind(lang.code()).bind(&id).execute(c).await?.rows_affected());
    queue_invite(&mut tx, mailer, &id, &email, &name, &from, lang).await?;
    tx.commit().await?;
    mailer.wake();
    Ok(id)
}

/// A new invite for a member who has not set a password yet; earlier links stop working.
/// Returns when the new link expires.
pub async fn resend(db: &Db, mailer: &Mailer, origin: &Origin, actor: &str, id: &str) -> Result<Ts> {
    let user = super::members::get(db, id)
        .await?
        .ok_or_else(super::members::not_found)?;
    if !user.invite_pending {
        return Err(Error::bad_request("User is not pending invite signup.").with_code("NOT_PENDING"));
    }
    if !mailer.available(db).await? {
        return Err(unavailable(false));
    }
    let (from, lang) = inviter(db, actor, user.language.as_deref()).await?;
    let mut tx = db.begin().await?;
    let expires = queue_invite(&mut tx, mailer, id, &user.email, &user.name, &from, lang).await?;
    tx.commit().await?;
    mailer.wake();
    audit::log(
        db,
        origin,
        Some(actor),
        "org_member.invite_resent",
        "org_member",
        Some(id),
        json!({"email": user.email}),
    )
    .await;
    Ok(expires)
}
