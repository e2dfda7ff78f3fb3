//! Server-side sessions behind session JWTs. One indexed lookup per request joins the session to
//! its user, so a revoked session or a disabled user is refused on the very next request.

use crate::db::{self, Db, Ts, Tx};
use crate::error::Result;
use crate::users::{User, USER_COLUMNS};
use crate::{with_db, with_tx};

pub async fn create(
    db: &Db,
    user_id: &str,
    ttl: std::time::Duration,
    ip: &str,
    ua: Option<&str>,
) -> Result<String> {
    let mut tx = db.begin().await?;
    let id = create_in(&mut tx, user_id, ttl, ip, ua).await?;
    tx.commit().await?;
    Ok(id)
}

/// Creates a session inside a transaction (e.g. together with consuming an MFA backup code).
pub async fn create_in(
    tx: &mut Tx,
    user_id: &str,
    ttl: std::time::Duration,
    ip: &str,
    ua: Option<&str>,
) -> Result<String> {
    let id = db::new_id();
    let now = Ts::now();
    let ua = ua.map(|u| u.chars().take(512).collect::<String>());
    with_tx!(tx, c => sqlx::query(
        "INSERT INTO auth_sessions (id, user_id, created_at, expires_at, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&id).bind(user_id).bind(now).bind(now.plus(ttl)).bind(ip).bind(ua)
        .execute(c).await?.rows_affected());
    Ok(id)
}

/// Ends every session of a user except `keep` (MFA turned on or off from that session).
pub async fn delete_others(db: &Db, user_id: &str, keep: Option<&str>) -> Result<u64> {
    let keep = keep.unwrap_or("");
    let n = with_db!(db, pool => sqlx::query("DELETE FROM auth_sessions WHERE user_id = $1 AND id <> $2")
        .bind(user_id).bind(keep).execute(pool).await?.rows_affected());
    Ok(n)
}

/// The user behind a live session, if the session exists, has not expired, and the user may sign in.
pub async fn user_for(db: &Db, sid: &str) -> Result<Option<User>> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM auth_sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.id = $1 AND s.expires_at > $2 AND u.disabled = FALSE"
    );
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, User>(&sql).bind(sid).bind(Ts::now()).fetch_optional(pool).await?),
    )
}

pub async fn delete(db: &Db, sid: &str) -> Result<()> {
    with_db!(db, pool => sqlx::query("DELETE FROM auth_sessions WHERE id = $1").bind(sid).execute(pool).await?.rows_affected());
    Ok(())
}

/// Ends every session of a user (password change, MFA change, admin action, "log out everywhere").
pub async fn delete_all_for_user(db: &Db, user_id: &str) -> Result<u64> {
    let n = with_db!(db, pool => sqlx::query("DELETE FROM auth_sessions WHERE user_id = $1")
        .bind(user_id).execute(pool).await?.rows_affected());
    Ok(n)
}

pub async fn purge_expired(db: &Db) -> Result<u64> {
    let n = with_db!(db, pool => sqlx::query("DELETE FROM auth_sessions WHERE expires_at < $1")
        .bind(Ts::now()).execute(pool).await?.rows_affected());
    Ok(n)
}
