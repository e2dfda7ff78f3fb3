//! One-time tokens sent by e-mail (password reset, invite, sign-up and e-mail-change
//! verification): 32 random bytes as 64 hex characters in the link, only their SHA-256 in the
//! database. The `token` column, which the original requires to be unique, holds the placeholder
//! `h:<row id>`; rows the original wrote with the token in plain text (and no hash) are still
//! found by that.

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::db::Tx;
use crate::error::Result;

/// A fresh token: what goes into the link and what goes into the database.
pub struct Fresh {
    pub plain: String,
    pub hash: String,
}

pub fn fresh() -> Fresh {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let plain = hex::encode(bytes);
    Fresh {
        hash: hash(&plain),
        plain,
    }
}

pub fn hash(plain: &str) -> String {
    hex::encode(Sha256::digest(plain.as_bytes()))
}

/// The placeholder for the unique `token` column of row `id`.
pub fn placeholder(id: &str) -> String {
    format!("h:{id}")
}

/// A token as given in a request: trimmed; `None` when missing or empty.
pub fn given(token: Option<&str>) -> Option<String> {
    token.map(str::trim).filter(|t| !t.is_empty()).map(str::to_string)
}

/// Serialises the transactions that issue tokens and mail for one account, so that limits counted
/// inside them hold under concurrent requests: PostgreSQL locks the user's row; SQLite transactions
/// hold the write lock from their start already.
pub async fn lock_user(tx: &mut Tx, user_id: &str) -> Result<()> {
    if let Tx::Postgres(t) = tx {
        sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
            .bind(user_id)
            .fetch_optional(&mut **t)
            .await?;
    }
    Ok(())
}
