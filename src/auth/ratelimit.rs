//! Rate limits as fixed-window counters in the database, so every instance sharing a database
//! shares the counts. Two kinds: limits that count every request ([`hit`]) and limits that count
//! only failures ([`check`] before the attempt, [`record_failure`] after a failed one).

use crate::db::Db;
use crate::error::{Error, Result};
use crate::with_db;

#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub name: &'static str,
    pub max: i64,
    pub window_secs: i64,
    pub message: &'static str,
}

const FIFTEEN_MIN: i64 = 15 * 60;

/// Failed logins (and other credential checks) per client address: the original's 300.
pub const AUTH_PER_IP: Limit = Limit {
    name: "auth-ip",
    max: 300,
    window_secs: FIFTEEN_MIN,
    message: "Too many authentication attempts, please try again later.",
};
/// Failed logins per account (the original has none).
pub const LOGIN_PER_ACCOUNT: Limit = Limit {
    name: "login-account",
    max: 10,
    window_secs: FIFTEEN_MIN,
    message: "Too many failed sign-in attempts for this account, please try again later.",
};
/// First-run setup per client address.
pub const SETUP_PER_IP: Limit = Limit {
    name: "setup-ip",
    max: 500,
    window_secs: FIFTEEN_MIN,
    message: "Too many requests, please try again later.",
};
/// Wrong current passwords per account (password change, account deletion).
pub const PASSWORD_PER_ACCOUNT: Limit = Limit {
    name: "password-account",
    max: 10,
    window_secs: FIFTEEN_MIN,
    message: "Too many failed password attempts, please try again later.",
};
/// API tokens created per account.
pub const TOKEN_CREATE: Limit = Limit {
    name: "token-create",
    max: 20,
    window_secs: FIFTEEN_MIN,
    message: "Too many token creation attempts. Please try again later.",
};

/// MFA setup requests per client address (the original's 25).
pub const MFA_ENROLL_PER_IP: Limit = Limit {
    name: "mfa-enroll-ip",
    max: 25,
    window_secs: FIFTEEN_MIN,
    message: "Too many MFA setup attempts. Please try again later.",
};
/// MFA code submissions per client address (the original's 40).
pub const MFA_VERIFY_PER_IP: Limit = Limit {
    name: "mfa-verify-ip",
    max: 40,
    window_secs: FIFTEEN_MIN,
    message: "Too many MFA attempts. Please try again later.",
};
/// Wrong MFA codes per account.
pub const MFA_FAIL_PER_USER: Limit = Limit {
    name: "mfa-fail-user",
    max: 10,
    window_secs: FIFTEEN_MIN,
    message: "Too many MFA attempts. Please try again later.",
};
/// Passkey ceremonies begun (each stores a challenge for five minutes).
pub const PASSKEY_PER_IP: Limit = Limit {
    name: "passkey-ip",
    max: 100,
    window_secs: FIFTEEN_MIN,
    message: "Too many passkey attempts. Please try again later.",
};
/// Wrong MFA codes per pending login: after five, that login must start again.
pub const MFA_FAIL_PER_PENDING: Limit = Limit {
    name: "mfa-fail-pending",
    max: 5,
    // Longer than a pending login lives (300 s), so one login rarely straddles two windows.
    window_secs: 3600,
    message: "Too many MFA attempts. Please sign in again.",
};

fn window(limit: &Limit) -> (i64, i64) {
    let now = chrono::Utc::now().timestamp();
    (now - now.rem_euclid(limit.window_secs), now)
}

fn bucket(limit: &Limit, key: &str) -> String {
    format!("{}:{}", limit.name, key.to_lowercase())
}

fn limited(limit: &Limit, start: i64, now: i64) -> Error {
    Error::too_many(limit.message, (start + limit.window_secs - now).max(1) as u64)
}

/// Counts this request; refuses it once the window holds more than `max`.
pub async fn hit(db: &Db, limit: &Limit, key: &str) -> Result<()> {
    let (start, now) = window(limit);
    let hits = increment(db, &bucket(limit, key), start).await?;
    if hits > limit.max {
        return Err(limited(limit, start, now));
    }
    Ok(())
}

/// Refuses when the failures counted in this window have reached `max`.
pub async fn check(db: &Db, limit: &Limit, key: &str) -> Result<()> {
    let (start, now) = window(limit);
    let b = bucket(limit, key);
    let hits: Option<i64> = with_db!(db, pool => sqlx::query_scalar(
        "SELECT hits FROM rate_limits WHERE bucket = $1 AND window_start = $2")
        .bind(&b).bind(start).fetch_optional(pool).await?);
    if hits.unwrap_or(0) >= limit.max {
        return Err(limited(limit, start, now));
    }
    Ok(())
}

pub async fn record_failure(db: &Db, limit: &Limit, key: &str) -> Result<()> {
    let (start, _) = window(limit);
    increment(db, &bucket(limit, key), start).await?;
    Ok(())
}

/// Uses up the whole allowance of `key` for this window (e.g. a pending login that succeeded).
pub async fn exhaust(db: &Db, limit: &Limit, key: &str) -> Result<()> {
    let (start, _) = window(limit);
    with_db!(db, pool => sqlx::query(
        "INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, $3) \
         ON CONFLICT (bucket) DO UPDATE SET hits = excluded.hits, window_start = excluded.window_start")
        .bind(bucket(limit, key)).bind(start).bind(limit.max).execute(pool).await?.rows_affected());
    Ok(())
}

async fn increment(db: &Db, bucket: &str, start: i64) -> Result<i64> {
    let sql = "INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, 1) \
               ON CONFLICT (bucket) DO UPDATE SET \
               hits = CASE WHEN rate_limits.window_start = excluded.window_start THEN rate_limits.hits + 1 ELSE 1 END, \
               window_start = excluded.window_start \
               RETURNING hits";
    Ok(
        with_db!(db, pool => sqlx::query_scalar::<_, i64>(sql).bind(bucket).bind(start).fetch_one(pool).await?),
    )
}

/// Drops counters of windows that ended over a day ago.
pub async fn purge(db: &Db) -> Result<u64> {
    let cutoff = chrono::Utc::now().timestamp() - 86_400;
    Ok(
        with_db!(db, pool => sqlx::query("DELETE FROM rate_limits WHERE window_start < $1")
        .bind(cutoff).execute(pool).await?.rows_affected()),
    )
}
