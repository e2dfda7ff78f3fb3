//! Instance settings an admin may change (mail settings are [`super::smtp`]; OIDC and AI
//! settings belong to their own features). Every change is recorded in the audit log.

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::audit::{self, Origin};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::settings;

/// Settings this server knows.
pub const KNOWN_SETTINGS: &[&str] = &[
    settings::REGISTRATIONS_ENABLED,
    settings::OIDC_REQUIRE_MFA,
    settings::SIGNUP_UNVERIFIED_LOGIN,
];

#[derive(Serialize, ToSchema)]
pub struct Setting {
    pub key: String,
    pub value: String,
}

/// All known settings as `{key: value}` (the value in effect when none is stored), plus whether
/// the environment decides registrations.
pub async fn all(
    db: &Db,
    registrations_by_env: Option<bool>,
    mail_available: bool,
) -> Result<serde_json::Value> {
    let mut out = serde_json::Map::new();
    for k in KNOWN_SETTINGS {
        let v = match settings::get(db, k).await? {
            Some(v) => v,
            None if *k == settings::SIGNUP_UNVERIFIED_LOGIN => {
                settings::unverified_login_allowed(db, mail_available)
                    .await?
                    .to_string()
            }
            None => settings::default_value(k).into(),
        };
        out.insert((*k).to_string(), json!(v));
    }
    out.insert("registrations_enabled_by_env".into(), json!(registrations_by_env));
    Ok(serde_json::Value::Object(out))
}

#[derive(Deserialize, ToSchema)]
pub struct SettingInput {
    #[schema(value_type = SettingKey, required = true)]
    pub key: Option<String>,
    #[schema(value_type = SettingValue, required = true)]
    pub value: Option<serde_json::Value>,
}

/// The settings an admin may change.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SettingKey {
    RegistrationsEnabled,
    OidcRequireMfa,
    SignupUnverifiedLogin,
}

/// `true` or `false`, as a boolean or as text.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum SettingValue {
    Flag(bool),
    Text(FlagText),
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FlagText {
    True,
    False,
}

fn check_key(key: &str) -> Result<()> {
    if KNOWN_SETTINGS.contains(&key) {
        Ok(())
    } else {
        Err(Error::invalid("key", format!("Unknown setting {key:?}")).with_code("UNKNOWN_SETTING"))
    }
}

async fn record(db: &Db, origin: &Origin, actor: &str, action: &str, key: &str) {
    audit::log(
        db,
        origin,
        Some(actor),
        action,
        "settings",
        Some(key),
        json!({"key": key}),
    )
    .await;
}

/// Sets one known setting (`registrations_enabled`, `oidc_require_mfa`, `signup_unverified_login`:
/// `true` or `false`).
pub async fn set(db: &Db, origin: &Origin, actor: &str, input: SettingInput) -> Result<Setting> {
    let (Some(key), Some(value)) = (input.key, input.value) else {
        return Err(Error::bad_request("Key and value are required").with_code("VALIDATION_ERROR"));
    };
    check_key(&key)?;
    let value = match value {
        serde_json::Value::Bool(b) => b.to_string(),
        serde_json::Value::String(s) if s == "true" || s == "false" => s,
        _ => return Err(Error::invalid("value", "value must be true or false")),
    };
    settings::set(db, &key, &value).await?;
    record(db, origin, actor, "settings.updated", &key).await;
    Ok(Setting { key, value })
}

/// One known setting.
pub async fn get(db: &Db, key: &str) -> Result<Setting> {
    check_key(key)?;
    // A setting never set, or reset with DELETE, is not stored: 404, as in the original (the
    // list, `GET /api/admin/settings`, shows the defaults in effect).
    let Some(value) = settings::get(db, key).await? else {
        return Err(Error::not_found("Setting not found"));
    };
    Ok(Setting {
        key: key.to_string(),
        value,
    })
}

/// Resets one known setting to its default.
pub async fn reset(db: &Db, origin: &Origin, actor: &str, key: &str) -> Result<()> {
    check_key(key)?;
    settings::delete(db, key).await?;
    record(db, origin, actor, "settings.deleted", key).await;
    Ok(())
}
