//! `AI_*`: the OpenAI-compatible endpoint for title, slug and tag suggestions. With any of
//! `AI_BASE_URL`, `AI_API_KEY`, `AI_MODEL` set the environment decides (the admin settings are
//! then read-only); `AI_TIMEOUT_SECONDS` and `AI_RATE_LIMIT` bound every request either way.

use std::time::Duration;

use super::{err, get, ConfigError, Env};

/// The endpoint when none is configured.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// The model when none is configured.
pub const DEFAULT_MODEL: &str = "gpt-4o-mini";
/// The longest an AI request may take (connect and answer).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(15);

/// The endpoint from the environment.
/// No `Debug`: it holds the key.
#[derive(Clone, PartialEq, Eq)]
pub struct AiEnv {
    /// Without a trailing `/`.
    pub base_url: String,
    /// Empty for local servers that take no key.
    pub api_key: Option<String>,
    pub model: String,
}

#[derive(Clone)]
pub struct AiConfig {
    /// Set when `AI_*` configure the endpoint.
    pub env: Option<AiEnv>,
    /// Connect plus answer, at most [`MAX_TIMEOUT`] (`AI_TIMEOUT_SECONDS`, default 15).
    pub timeout: Duration,
    /// Suggestions that reach the model per user per hour (`AI_RATE_LIMIT`, default 30; 0 = no
    /// limit). Answers from the cache are not counted.
    pub rate_limit: u32,
}

impl Default for AiConfig {
    fn default() -> Self {
        AiConfig {
            env: None,
            timeout: MAX_TIMEOUT,
            rate_limit: 30,
        }
    }
}

/// Checks an endpoint URL: absolute http(s) with a host, no credentials, query or fragment.
/// Returns it without a trailing `/`.
pub fn check_base_url(v: &str) -> Result<String, String> {
    if v.len() > 2048 {
        return Err("The URL must be at most 2048 characters".into());
    }
    match url::Url::parse(v) {
        Ok(u)
            if v.trim() == v
                && (u.scheme() == "http" || u.scheme() == "https")
                && u.host_str().is_some_and(|h| !h.is_empty())
                && u.username().is_empty()
                && u.password().is_none()
                && u.query().is_none()
                && u.fragment().is_none() =>
        {
            Ok(v.trim_end_matches('/').to_string())
        }
        _ => Err("The URL must be an http(s) URL such as https://api.openai.com/v1, without credentials or a query".into()),
    }
}

/// Whether `model` is a model name we pass on: 1–200 visible characters, no spaces.
pub fn check_model(v: &str) -> bool {
    !v.is_empty() && v.chars().count() <= 200 && v.chars().all(|c| !c.is_whitespace() && !c.is_control())
}

pub(super) fn from_env(env: &Env) -> Result<AiConfig, ConfigError> {
    let timeout = match get(env, "AI_TIMEOUT_SECONDS") {
        Some(v) => match v.parse::<u64>() {
            Ok(n) if (1..=MAX_TIMEOUT.as_secs()).contains(&n) => Duration::from_secs(n),
            _ => {
                return err(format!(
                    "AI_TIMEOUT_SECONDS must be a number from 1 to 15, got {v:?}"
                ))
            }
        },
        None => MAX_TIMEOUT,
    };
    let rate_limit = match get(env, "AI_RATE_LIMIT") {
        Some(v) => v.parse::<u32>().map_err(|_| {
            ConfigError(format!(
                "AI_RATE_LIMIT must be a number of suggestions per hour, got {v:?}"
            ))
        })?,
        None => 30,
    };
    let base = get(env, "AI_BASE_URL");
    // Not trimmed away when empty on purpose: an empty key means none.
    let key = env
        .get("AI_API_KEY")
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty());
    let model = get(env, "AI_MODEL");
    let env_set = base.is_some() || key.is_some() || model.is_some();
    let ai_env = if env_set {
        let base_url = match base {
            Some(b) => check_base_url(b).map_err(|m| ConfigError(format!("AI_BASE_URL: {m}, got {b:?}")))?,
            None => DEFAULT_BASE_URL.to_string(),
        };
        let model = model.unwrap_or(DEFAULT_MODEL);
        if !check_model(model) {
            return err(format!(
                "AI_MODEL must be a model name without spaces, got {model:?}"
            ));
        }
        Some(AiEnv {
            base_url,
            api_key: key,
            model: model.to_string(),
        })
    } else {
        None
    };
    Ok(AiConfig {
        env: ai_env,
        timeout,
        rate_limit,
    })
}
