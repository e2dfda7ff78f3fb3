//! System settings (`system_config`, tenant `default`): a small key/value store.

use crate::db::Db;
use crate::error::Result;
use crate::with_db;

pub const REGISTRATIONS_ENABLED: &str = "registrations_enabled";
/// Whether a user with MFA is asked for a code after signing in through an identity provider
/// (on unless set to `false`).
pub const OIDC_REQUIRE_MFA: &str = "oidc_require_mfa";

pub async fn get(db: &Db, key: &str) -> Result<Option<String>> {
    Ok(with_db!(db, pool => sqlx::query_scalar::<_, String>(
        "SELECT value FROM system_config WHERE key = $1 AND tenant_id = 'default'")
        .bind(key).fetch_optional(pool).await?))
}

pub async fn set(db: &Db, key: &str, value: &str) -> Result<()> {
    with_db!(db, pool => sqlx::query(
        "INSERT INTO system_config (key, value, tenant_id) VALUES ($1, $2, 'default') \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind(key).bind(value).execute(pool).await?.rows_affected());
    Ok(())
}

/// Self sign-up: the environment decides when `REGISTRATIONS_ENABLED` is set, otherwise the admin
/// setting; off by default.
pub async fn registrations_enabled(db: &Db, env: Option<bool>) -> Result<bool> {
    if let Some(v) = env {
        return Ok(v);
    }
    Ok(get(db, REGISTRATIONS_ENABLED).await?.is_some_and(|v| v == "true"))
}

/// The MFA step after an identity provider: on unless the admin turned it off.
pub async fn oidc_require_mfa(db: &Db) -> Result<bool> {
    Ok(get(db, OIDC_REQUIRE_MFA).await?.is_none_or(|v| v != "false"))
}

/// A setting's value when it was never set.
pub fn default_value(key: &str) -> &'static str {
    match key {
        OIDC_REQUIRE_MFA => "true",
        _ => "false",
    }
}

pub async fn delete(db: &Db, key: &str) -> Result<()> {
    with_db!(db, pool => sqlx::query("DELETE FROM system_config WHERE key = $1 AND tenant_id = 'default'")
        .bind(key).execute(pool).await?.rows_affected());
    Ok(())
}

/// Whether accounts whose address is not verified yet may sign in.
pub const SIGNUP_UNVERIFIED_LOGIN: &str = "signup_unverified_login";

/// The admin setting; without one, unverified accounts may not sign in while mail can be sent
/// (they can verify), and may when it cannot.
pub async fn unverified_login_allowed(db: &Db, mail_available: bool) -> Result<bool> {
    Ok(match get(db, SIGNUP_UNVERIFIED_LOGIN).await? {
        Some(v) => v == "true",
        None => !mail_available,
    })
}
