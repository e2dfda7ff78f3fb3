//! Personal API tokens: `sb_` + base64url of 32 random bytes (256 bits), stored only as the
//! SHA-256 hex of the whole token, the original's format, so its tokens keep working.

use std::collections::HashMap;

use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::audit::{self, Origin};
use crate::auth::ratelimit;
use crate::db::{self, Db, Ts};
use crate::error::{Error, Result};
use crate::users::{sanitize_text, User, USER_COLUMNS};
use crate::with_db;

pub const PREFIX: &str = "sb_";
pub const MAX_ACTIVE: i64 = 10;

pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    pub created_at: Option<Ts>,
    pub last_used_at: Option<Ts>,
    pub expires_at: Option<Ts>,
}

pub async fn list(db: &Db, user_id: &str) -> Result<Vec<TokenInfo>> {
    let sql = "SELECT id, name, created_at, last_used_at, expires_at FROM api_tokens \
               WHERE user_id = $1 AND tenant_id = 'default' AND revoked_at IS NULL ORDER BY created_at DESC, id";
    Ok(with_db!(db, pool => sqlx::query_as::<_, TokenInfo>(sql).bind(user_id).fetch_all(pool).await?))
}

pub async fn count_active(db: &Db, user_id: &str) -> Result<i64> {
    let sql = "SELECT COUNT(*) FROM api_tokens WHERE user_id = $1 AND tenant_id = 'default' AND revoked_at IS NULL \
               AND (expires_at IS NULL OR expires_at > $2)";
    Ok(
        with_db!(db, pool => sqlx::query_scalar::<_, i64>(sql).bind(user_id).bind(Ts::now()).fetch_one(pool).await?),
    )
}

/// Inserts a token; returns its row and the plaintext (shown once).
async fn insert(db: &Db, user_id: &str, name: &str, expires_at: Option<Ts>) -> Result<(TokenInfo, String)> {
    let id = db::new_id();
    let token = generate();
    let now = Ts::now();
    with_db!(db, pool => sqlx::query(
        "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, expires_at, tenant_id) \
         VALUES ($1, $2, $3, $4, $5, $6, 'default')")
        .bind(&id).bind(user_id).bind(name).bind(hash(&token)).bind(now).bind(expires_at)
        .execute(pool).await?.rows_affected());
    Ok((
        TokenInfo {
            id,
            name: name.to_string(),
            created_at: Some(now),
            last_used_at: None,
            expires_at,
        },
        token,
    ))
}

/// Revokes the caller's token; `Ok(None)` when there is no such token of theirs.
async fn revoke_row(db: &Db, user_id: &str, id: &str) -> Result<Option<String>> {
    let name: Option<String> = with_db!(db, pool => sqlx::query_scalar(
        "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND tenant_id = 'default' RETURNING name")
        .bind(Ts::now()).bind(id).bind(user_id).fetch_optional(pool).await?);
    Ok(name)
}

#[derive(Deserialize, ToSchema, Default)]
pub struct CreateToken {
    /// 1–100 characters (control characters are dropped, spaces trimmed).
    #[schema(value_type = String, required = true, max_length = 100, pattern = "^[\\s\\S]*[^\\s\\x00-\\x1f\\x7f-\\x9f][\\s\\S]*$")]
    pub name: Option<serde_json::Value>,
    /// Optional expiry (ISO 8601, in the future); the token stops working then. Empty or
    /// absent: no expiry.
    #[schema(schema_with = crate::input::date_time_or_empty)]
    pub expires_at: Option<String>,
}

/// Creates a personal API token (at most [`MAX_ACTIVE`] live per user). Returns its row and its
/// secret, which is shown only this once.
pub async fn create_token(
    db: &Db,
    origin: &Origin,
    user_id: &str,
    body: CreateToken,
) -> Result<(TokenInfo, String)> {
    let Some(serde_json::Value::String(raw)) = body.name else {
        return Err(Error::invalid("name", "Token name is required"));
    };
    let name = sanitize_text(&raw);
    if name.is_empty() {
        return Err(Error::invalid("name", "Token name must be at least 1 characters"));
    }
    if raw.chars().count() > 100 {
        return Err(Error::invalid(
            "name",
            "Token name must be no more than 100 characters",
        ));
    }
    let expires_at = match body.expires_at.as_deref().filter(|s| !s.trim().is_empty()) {
        None => None,
        Some(s) => match Ts::parse(s) {
            Some(t) if t > Ts::now() => Some(t),
            Some(_) => return Err(Error::invalid("expires_at", "Expiry must be in the future")),
            None => {
                return Err(Error::invalid(
                    "expires_at",
                    "Expiry must be an ISO 8601 date and time",
                ))
            }
        },
    };
    if count_active(db, user_id).await? >= MAX_ACTIVE {
        return Err(
            Error::bad_request("Maximum of 10 tokens per user. Revoke an existing token first.")
                .with_code("TOKEN_LIMIT"),
        );
    }
    ratelimit::hit(db, &ratelimit::TOKEN_CREATE, user_id).await?;
    let (info, token) = insert(db, user_id, &name, expires_at).await?;
    audit::log(
        db,
        origin,
        Some(user_id),
        "api_token.created",
        "api_token",
        Some(&info.id),
        json!({"name": name}),
    )
    .await;
    Ok((info, token))
}

/// Revokes one of the user's tokens; it stops working at once.
pub async fn revoke_token(db: &Db, origin: &Origin, user_id: &str, id: &str) -> Result<()> {
    let Some(name) = revoke_row(db, user_id, id).await? else {
        return Err(Error::bad_request("Token not found").with_code("TOKEN_NOT_FOUND"));
    };
    audit::log(
        db,
        origin,
        Some(user_id),
        "api_token.revoked",
        "api_token",
        Some(id),
        json!({"name": name}),
    )
    .await;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct TokenUser {
    token_id: String,
    token_expires_at: Option<Ts>,
    #[sqlx(flatten)]
    user: User,
}

/// The token's id, expiry and owner, when the token is live and the owner may sign in.
pub async fn authenticate(db: &Db, token: &str) -> Result<Option<(String, Option<Ts>, User)>> {
    if !token.starts_with(PREFIX) || token.len() > 200 {
        return Ok(None);
    }
    let sql = format!(
        "SELECT t.id AS token_id, t.expires_at AS token_expires_at, {USER_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2) \
         AND u.disabled = FALSE"
    );
    let row = with_db!(db, pool => sqlx::query_as::<_, TokenUser>(&sql)
        .bind(hash(token)).bind(Ts::now()).fetch_optional(pool).await?);
    Ok(row.map(|r| (r.token_id, r.token_expires_at, r.user)))
}

/// Keeps `last_used_at` current without a write per request: at most one write per token a minute.
#[derive(Default)]
pub struct UsageTracker {
    last_written: std::sync::RwLock<HashMap<String, i64>>,
}

impl UsageTracker {
    pub fn touch(&self, db: &Db, token_id: &str) {
        let now = chrono::Utc::now().timestamp();
        // The usual case: written within the minute (a shared read, no waiting).
        if let Some(t) = self
            .last_written
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(token_id)
        {
            if now - t < 60 {
                return;
            }
        }
        {
            let mut map = self.last_written.write().unwrap_or_else(|e| e.into_inner());
            match map.get(token_id) {
                Some(t) if now - t < 60 => return,
                _ => {
                    if map.len() > 10_000 {
                        map.clear();
                    }
                    map.insert(token_id.to_string(), now);
                }
            }
        }
        let db = db.clone();
        let id = token_id.to_string();
        tokio::spawn(async move {
            let res = with_db!(&db, pool => sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(Ts::now()).bind(&id).execute(pool).await.map(|r| r.rows_affected()));
            if let Err(e) = res {
                tracing::warn!(error = %e, "could not record API token use");
            }
        });
    }
}
