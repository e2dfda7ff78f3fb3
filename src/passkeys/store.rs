//! Storage of passkeys and of the WebAuthn ceremonies in flight.
//!
//! A ceremony's state (webauthn-rs's registration or authentication state: the challenge and what
//! it allows) lives in `webauthn_challenges` so that any instance can finish what another began.
//! Taking it is one `DELETE … RETURNING`: a challenge is used at most once, whether the
//! ceremony then succeeds or not.

use serde::Serialize;
use utoipa::ToSchema;

use crate::db::{self, Db, Ts, Tx};
use crate::error::{Error, Result};
use crate::{with_db, with_tx};

/// A passkey as its owner sees it: never key material.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct PasskeyInfo {
    pub id: String,
    pub name: String,
    pub created_at: Ts,
    pub last_used_at: Option<Ts>,
}

/// A stored credential: webauthn-rs's `Passkey` as JSON (public key, counter, flags).
#[derive(sqlx::FromRow)]
pub struct StoredPasskey {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub credential: String,
}

pub async fn list(db: &Db, user_id: &str) -> Result<Vec<PasskeyInfo>> {
    let sql = "SELECT id, name, created_at, last_used_at FROM passkeys WHERE user_id = $1 \
               ORDER BY created_at, id";
    Ok(with_db!(db, pool => sqlx::query_as::<_, PasskeyInfo>(sql).bind(user_id).fetch_all(pool).await?))
}

pub async fn count(db: &Db, user_id: &str) -> Result<i64> {
    let sql = "SELECT COUNT(*) FROM passkeys WHERE user_id = $1";
    Ok(with_db!(db, pool => sqlx::query_scalar::<_, i64>(sql).bind(user_id).fetch_one(pool).await?))
}

pub async fn for_user(db: &Db, user_id: &str) -> Result<Vec<StoredPasskey>> {
    let sql = "SELECT id, user_id, name, credential FROM passkeys WHERE user_id = $1 ORDER BY created_at, id";
    Ok(with_db!(db, pool => sqlx::query_as::<_, StoredPasskey>(sql).bind(user_id).fetch_all(pool).await?))
}

pub async fn by_credential_id(db: &Db, credential_id: &str) -> Result<Option<StoredPasskey>> {
    let sql = "SELECT id, user_id, name, credential FROM passkeys WHERE credential_id = $1";
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, StoredPasskey>(sql).bind(credential_id).fetch_optional(pool).await?),
    )
}

/// Stores a new passkey; `PASSKEY_EXISTS` when this credential is registered already.
pub async fn insert(
    db: &Db,
    user_id: &str,
    name: &str,
    credential_id: &str,
    credential: &str,
) -> Result<PasskeyInfo> {
    let id = db::new_id();
    let now = Ts::now();
    let res = with_db!(db, pool => sqlx::query(
        "INSERT INTO passkeys (id, user_id, credential_id, name, credential, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&id).bind(user_id).bind(credential_id).bind(name).bind(credential).bind(now)
        .execute(pool).await.map(|r| r.rows_affected()));
    match res {
        Ok(_) => Ok(PasskeyInfo {
            id,
            name: name.to_string(),
            created_at: now,
            last_used_at: None,
        }),
        Err(e) if db::is_unique_violation(&e) => Err(Error::conflict(
            "PASSKEY_EXISTS",
            "This passkey is registered already",
        )),
        Err(e) => Err(e.into()),
    }
}

/// Renames one of the user's passkeys; `None` when they have no such passkey.
pub async fn rename(db: &Db, user_id: &str, id: &str, name: &str) -> Result<Option<PasskeyInfo>> {
    let sql = "UPDATE passkeys SET name = $1 WHERE id = $2 AND user_id = $3 \
               RETURNING id, name, created_at, last_used_at";
    Ok(with_db!(db, pool => sqlx::query_as::<_, PasskeyInfo>(sql)
        .bind(name).bind(id).bind(user_id).fetch_optional(pool).await?))
}

/// Deletes one of the user's passkeys; its name, or `None` when they have no such passkey.
pub async fn delete(db: &Db, user_id: &str, id: &str) -> Result<Option<String>> {
    let sql = "DELETE FROM passkeys WHERE id = $1 AND user_id = $2 RETURNING name";
    Ok(with_db!(db, pool => sqlx::query_scalar::<_, String>(sql)
        .bind(id).bind(user_id).fetch_optional(pool).await?))
}

/// Records a use: the updated credential (its counter) and the time, provided the stored
/// credential is still the one the use was verified against (`false` when the passkey was removed
/// or used by someone else meanwhile: a counter is never written backwards).
pub async fn record_use_in(tx: &mut Tx, id: &str, verified_against: &str, credential: &str) -> Result<bool> {
    let n = with_tx!(tx, c => sqlx::query(
        "UPDATE passkeys SET credential = $1, last_used_at = $2 WHERE id = $3 AND credential = $4")
        .bind(credential).bind(Ts::now()).bind(id).bind(verified_against).execute(c).await?.rows_affected());
    Ok(n == 1)
}

/// What a ceremony is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Register,
    Login,
    Mfa,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::Login => "login",
            Purpose::Mfa => "mfa",
        }
    }
}

/// A ceremony taken out of storage (it is gone from there now).
#[derive(sqlx::FromRow)]
pub struct Challenge {
    pub user_id: Option<String>,
    pub binding: Option<String>,
    pub state: String,
    pub expires_at: Ts,
}

/// Stores a ceremony's state for `ttl`; returns its key, which the browser keeps in a cookie
/// (the table holds only the key's hash).
pub async fn put_challenge(
    db: &Db,
    purpose: Purpose,
    user_id: Option<&str>,
    binding: Option<&str>,
    state: &str,
    ttl: std::time::Duration,
) -> Result<String> {
    let key = crate::auth::tokens::fresh();
    let expires = Ts::now().plus(ttl);
    with_db!(db, pool => sqlx::query(
        "INSERT INTO webauthn_challenges (id, purpose, user_id, binding, state, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&key.hash).bind(purpose.as_str()).bind(user_id).bind(binding).bind(state).bind(expires)
        .execute(pool).await?.rows_affected());
    Ok(key.plain)
}

/// Takes a ceremony out of storage: at most one caller ever gets it.
pub async fn take_challenge(db: &Db, key: &str, purpose: Purpose) -> Result<Option<Challenge>> {
    let sql = "DELETE FROM webauthn_challenges WHERE id = $1 AND purpose = $2 \
               RETURNING user_id, binding, state, expires_at";
    Ok(with_db!(db, pool => sqlx::query_as::<_, Challenge>(sql)
        .bind(crate::auth::tokens::hash(key)).bind(purpose.as_str()).fetch_optional(pool).await?))
}

/// Drops ceremonies nobody finished.
pub async fn purge_expired(db: &Db) -> Result<u64> {
    Ok(
        with_db!(db, pool => sqlx::query("DELETE FROM webauthn_challenges WHERE expires_at < $1")
        .bind(Ts::now()).execute(pool).await?.rows_affected()),
    )
}

/// When the session last confirmed its owner: its sign-in, or a later re-entered password or code.
pub async fn session_confirmed_at(db: &Db, session_id: &str) -> Result<Option<Ts>> {
    let sql = "SELECT COALESCE(confirmed_at, created_at) FROM auth_sessions WHERE id = $1";
    Ok(with_db!(db, pool => sqlx::query_scalar::<_, Ts>(sql).bind(session_id).fetch_optional(pool).await?))
}

pub async fn mark_session_confirmed(db: &Db, session_id: &str) -> Result<()> {
    with_db!(db, pool => sqlx::query("UPDATE auth_sessions SET confirmed_at = $1 WHERE id = $2")
        .bind(Ts::now()).bind(session_id).execute(pool).await?.rows_affected());
    Ok(())
}
