//! The AI settings an admin sees and changes, the model list and the test request. Stored in
//! `system_config` under the original's keys (`ai_enabled`, `ai_provider`, `ai_api_key` —
//! encrypted and never shown —, `ai_model`) plus `ai_base_url`; `AI_*` in the environment wins
//! over them, and then they are read-only.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::{net, Ai, Endpoint};
use crate::audit::{self, Origin};
use crate::config::ai::{check_base_url, check_model, DEFAULT_BASE_URL, DEFAULT_MODEL};
use crate::db::Db;
use crate::error::{Error, FieldError, Kind, Result};
use crate::users::User;
use crate::with_db;
use crate::with_tx;

pub mod keys {
    pub const ENABLED: &str = "ai_enabled";
    pub const PROVIDER: &str = "ai_provider";
    pub const API_KEY: &str = "ai_api_key";
    pub const MODEL: &str = "ai_model";
    pub const BASE_URL: &str = "ai_base_url";
    pub const ALL: [&str; 5] = [ENABLED, PROVIDER, API_KEY, MODEL, BASE_URL];
}

/// What kind of server the endpoint is (a label: every one is spoken to the same way).
pub const PROVIDERS: [&str; 2] = ["openai", "openai-compatible"];

/// The AI settings in effect, for the admin page and `GET /api/admin/settings/ai`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AiView {
    pub ai_enabled: bool,
    /// `openai` or `openai-compatible`.
    pub ai_provider: String,
    pub ai_model: String,
    /// The endpoint, e.g. `https://api.openai.com/v1` or `http://localhost:11434/v1` (Ollama).
    pub ai_base_url: String,
    /// Whether an API key is stored; the key itself is never shown.
    pub ai_api_key_set: bool,
    /// `env` when `AI_*` in the server's environment decide (the settings are then read-only),
    /// else `settings`.
    pub source: &'static str,
    /// Whether suggestions can be made with what is configured now.
    pub available: bool,
}

/// `{enabled, available}` for the signed-in user.
#[derive(Debug, Serialize, ToSchema)]
pub struct AiAvailability {
    /// Available, and switched on by this user (`PUT /api/users/me {ai_suggestions_enabled}`).
    pub enabled: bool,
    /// Configured by the admin.
    pub available: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ModelList {
    pub models: Vec<String>,
}

async fn stored(db: &Db) -> Result<HashMap<String, String>> {
    let rows: Vec<(String, String)> = with_db!(db, pool => sqlx::query_as(
        "SELECT key, value FROM system_config WHERE tenant_id = 'default' AND key IN ($1, $2, $3, $4, $5)")
        .bind(keys::ENABLED).bind(keys::PROVIDER).bind(keys::API_KEY).bind(keys::MODEL).bind(keys::BASE_URL)
        .fetch_all(pool).await?);
    Ok(rows.into_iter().collect())
}

fn text(v: &HashMap<String, String>, key: &str, default: &str) -> String {
    v.get(key)
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .unwrap_or(default)
        .to_string()
}

/// Whether an endpoint can be used without a key: anything but OpenAI's own.
fn needs_key(base_url: &str) -> bool {
    base_url == DEFAULT_BASE_URL
}

pub async fn view(db: &Db, ai: &Ai) -> Result<AiView> {
    if let Some(e) = ai.env() {
        return Ok(AiView {
            ai_enabled: true,
            ai_provider: if needs_key(&e.base_url) {
                PROVIDERS[0]
            } else {
                PROVIDERS[1]
            }
            .into(),
            ai_model: e.model.clone(),
            ai_base_url: e.base_url.clone(),
            ai_api_key_set: e.api_key.is_some(),
            source: "env",
            available: e.api_key.is_some() || !needs_key(&e.base_url),
        });
    }
    let v = stored(db).await?;
    let enabled = v.get(keys::ENABLED).is_some_and(|e| e == "true");
    let base_url = text(&v, keys::BASE_URL, DEFAULT_BASE_URL);
    let key_set = v.get(keys::API_KEY).is_some_and(|k| !k.is_empty());
    Ok(AiView {
        ai_enabled: enabled,
        ai_provider: text(&v, keys::PROVIDER, PROVIDERS[0]),
        ai_model: text(&v, keys::MODEL, DEFAULT_MODEL),
        available: enabled && (key_set || !needs_key(&base_url)),
        ai_base_url: base_url,
        ai_api_key_set: key_set,
        source: "settings",
    })
}

/// The configured endpoint, switched on or not (the admin lists models and tests before turning
/// suggestions on).
pub(super) async fn configured(db: &Db, ai: &Ai) -> Result<Endpoint> {
    if let Some(e) = ai.env() {
        if e.api_key.is_none() && needs_key(&e.base_url) {
            return Err(no_key());
        }
        return Ok(Endpoint {
            base_url: e.base_url.clone(),
            api_key: e.api_key.clone(),
            model: e.model.clone(),
        });
    }
    let v = stored(db).await?;
    let base_url = text(&v, keys::BASE_URL, DEFAULT_BASE_URL);
    let api_key = match v.get(keys::API_KEY).filter(|k| !k.is_empty()) {
        Some(k) => Some(ai.cipher().decrypt(k).map_err(|_| {
            Error::bad_request("Could not read API key. Save it again and retry.")
                .with_code("AI_KEY_UNREADABLE")
        })?),
        None if needs_key(&base_url) => return Err(no_key()),
        None => None,
    };
    Ok(Endpoint {
        base_url,
        api_key,
        model: text(&v, keys::MODEL, DEFAULT_MODEL),
    })
}

fn no_key() -> Error {
    Error::invalid(
        "ai_api_key",
        "API key required to list models. Set and save your API key first.",
    )
    .with_code("AI_KEY_REQUIRED")
}

/// The endpoint for suggestions, when the admin configured and switched them on.
pub(super) async fn endpoint(db: &Db, ai: &Ai) -> Result<Option<Endpoint>> {
    if !view(db, ai).await?.available {
        return Ok(None);
    }
    match configured(db, ai).await {
        Ok(e) => Ok(Some(e)),
        Err(e) if e.kind == Kind::BadRequest => {
            tracing::warn!(error = %e, "the stored AI API key cannot be read");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// `{enabled, available}` for `user`.
pub async fn availability(db: &Db, ai: &Ai, user: &User) -> Result<AiAvailability> {
    let available = view(db, ai).await?.available;
    Ok(AiAvailability {
        available,
        enabled: available && user.ai_suggestions_enabled.unwrap_or(true),
    })
}

/// The original's body (`ai_enabled, ai_provider, ai_api_key, ai_model`) plus `ai_base_url`,
/// every field optional. A blank key keeps the stored one; `ai_api_key_clear` removes it.
#[derive(Debug, Deserialize, ToSchema, Default, Clone)]
pub struct AiInput {
    #[schema(value_type = Option<bool>)]
    pub ai_enabled: Option<Value>,
    #[schema(value_type = Option<AiProvider>)]
    pub ai_provider: Option<String>,
    /// Stored encrypted; blank keeps the stored key.
    #[schema(max_length = 500, pattern = "^[^\\x00-\\x1f\\x7f]*$")]
    pub ai_api_key: Option<String>,
    /// Removes the stored key (a local server that takes none).
    pub ai_api_key_clear: Option<bool>,
    /// Empty for the default (`gpt-4o-mini`).
    #[schema(max_length = 200, pattern = "^[^\\s\\x00-\\x1f\\x7f-\\x9f]*$")]
    pub ai_model: Option<String>,
    /// Empty for the default (`https://api.openai.com/v1`).
    #[schema(
        max_length = 2048,
        pattern = "^([Hh][Tt][Tt][Pp][Ss]?://(([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)*[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?|((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9]))(:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?(/[A-Za-z0-9._~!$&'()*+,;=:@/-]*)?)?$"
    )]
    pub ai_base_url: Option<String>,
}

/// `openai` or `openai-compatible` (Ollama, llama.cpp, vLLM, LocalAI …).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AiProvider {
    Openai,
    OpenaiCompatible,
}

fn problem(errors: &mut Vec<FieldError>, field: &str, message: &str) {
    errors.push(FieldError {
        field: field.into(),
        message: message.into(),
    });
}

/// The input as `system_config` values (key still plain; `None` deletes), each field checked.
fn values(input: &AiInput) -> Result<Vec<(&'static str, Option<String>)>> {
    let mut errors = Vec::new();
    let mut out: Vec<(&'static str, Option<String>)> = Vec::new();
    if let Some(v) = &input.ai_enabled {
        match v {
            Value::Bool(b) => out.push((keys::ENABLED, Some(b.to_string()))),
            Value::String(s) if s == "true" || s == "false" => out.push((keys::ENABLED, Some(s.clone()))),
            _ => problem(&mut errors, "ai_enabled", "ai_enabled must be true or false"),
        }
    }
    if let Some(p) = &input.ai_provider {
        if PROVIDERS.contains(&p.as_str()) {
            out.push((keys::PROVIDER, Some(p.clone())));
        } else {
            problem(
                &mut errors,
                "ai_provider",
                "ai_provider must be openai or openai-compatible",
            );
        }
    }
    if let Some(k) = &input.ai_api_key {
        if k.chars().count() > 500 || k.chars().any(|c| c.is_ascii_control()) {
            problem(
                &mut errors,
                "ai_api_key",
                "The API key must be at most 500 characters, without control characters",
            );
        } else if !k.trim().is_empty() {
            out.push((keys::API_KEY, Some(k.trim().to_string())));
        }
    }
    if input.ai_api_key_clear == Some(true) && !out.iter().any(|(k, _)| *k == keys::API_KEY) {
        out.push((keys::API_KEY, None));
    }
    if let Some(m) = &input.ai_model {
        if m.is_empty() {
            out.push((keys::MODEL, None));
        } else if check_model(m) {
            out.push((keys::MODEL, Some(m.clone())));
        } else {
            problem(
                &mut errors,
                "ai_model",
                "The model must be a name of at most 200 characters, without spaces",
            );
        }
    }
    if let Some(b) = &input.ai_base_url {
        if b.trim().is_empty() {
            out.push((keys::BASE_URL, None));
        } else {
            match check_base_url(b) {
                Ok(u) => out.push((keys::BASE_URL, Some(u))),
                Err(m) => problem(&mut errors, "ai_base_url", &m),
            }
        }
    }
    if !errors.is_empty() {
        return Err(Error::validation(errors));
    }
    Ok(out)
}

/// Saves the given fields (all or none); the key is stored encrypted.
pub async fn save(db: &Db, ai: &Ai, origin: &Origin, actor: &str, input: AiInput) -> Result<()> {
    if ai.env().is_some() {
        return Err(Error::conflict(
            "AI_FROM_ENV",
            "AI suggestions are configured through the server's environment (AI_BASE_URL, AI_API_KEY, AI_MODEL); change them there",
        ));
    }
    let changes = values(&input)?;
    let mut tx = db.begin().await?;
    let mut names = Vec::new();
    for (key, value) in &changes {
        match value {
            Some(v) => {
                let v = if *key == keys::API_KEY {
                    ai.cipher().encrypt(v)
                } else {
                    v.clone()
                };
                with_tx!(&mut tx, c => sqlx::query(
                    "INSERT INTO system_config (key, value, tenant_id) VALUES ($1, $2, 'default') \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                    .bind(key).bind(&v).execute(c).await?.rows_affected());
            }
            None => {
                with_tx!(&mut tx, c => sqlx::query(
                    "DELETE FROM system_config WHERE key = $1 AND tenant_id = 'default'")
                    .bind(key).execute(c).await?.rows_affected());
            }
        }
        names.push(match (*key, value) {
            (keys::API_KEY, Some(_)) => "ai_api_key(set)",
            (keys::API_KEY, None) => "ai_api_key(cleared)",
            _ => key,
        });
    }
    tx.commit().await?;
    audit::log(
        db,
        origin,
        Some(actor),
        "settings.ai_updated",
        "settings",
        Some("ai"),
        json!({"keys": names}),
    )
    .await;
    Ok(())
}

/// The endpoint's models (`GET {base}/models`).
pub async fn models(db: &Db, ai: &Ai) -> Result<ModelList> {
    let ep = configured(db, ai).await?;
    Ok(ModelList {
        models: net::models(ai, &ep).await?,
    })
}

/// Asks the configured model for a one-word answer, to show the admin that the endpoint, key
/// and model work. Returns the model's name.
pub async fn test(db: &Db, ai: &Ai, origin: &Origin, actor: &str) -> Result<String> {
    let ep = configured(db, ai).await?;
    let messages = json!([
        {"role": "system", "content": "You are a connectivity check. Answer with the single word OK."},
        {"role": "user", "content": "Say OK."},
    ]);
    let result = net::chat(ai, &ep, messages, None).await;
    audit::log(
        db,
        origin,
        Some(actor),
        "settings.ai_tested",
        "settings",
        Some("ai"),
        json!({"model": ep.model, "ok": result.is_ok()}),
    )
    .await;
    result.map(|_| ep.model)
}
