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

/// Checks an endpoint URL: `http(s)://host[:port][/path]` where the host is a DNS name (its
/// last label starting with a letter) or an IPv4 address, without credentials, query or
/// fragment (the shape the API document's pattern describes). Returns it without a trailing `/`.
pub fn check_base_url(v: &str) -> Result<String, String> {
    if v.len() > 2048 {
        return Err("The URL must be at most 2048 characters".into());
    }
    if !has_endpoint_shape(v) || url::Url::parse(v).is_err() {
        return Err(
            "The URL must be an http(s) URL such as https://api.openai.com/v1 or \
                    http://localhost:11434/v1, without credentials or a query"
                .into(),
        );
    }
    Ok(v.trim_end_matches('/').to_string())
}

fn has_endpoint_shape(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    let Some(rest) = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"))
    else {
        return false;
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    let port_ok = port.is_none_or(|p| {
        !p.starts_with('0')
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|n| (1..=65_535).contains(&n))
    });
    let path_ok = path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._~!$&'()*+,;=:@/-".contains(c));
    port_ok && path_ok && (is_ipv4(host) || is_dns_name(host))
}

fn is_ipv4(h: &str) -> bool {
    let parts: Vec<&str> = h.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            (1..=3).contains(&p.len())
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
                && p.parse::<u16>().is_ok_and(|n| n <= 255)
        })
}

fn is_dns_name(h: &str) -> bool {
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    h.split('.').all(label_ok)
        && h.rsplit('.')
            .next()
            .is_some_and(|l| l.bytes().next().is_some_and(|b| b.is_ascii_alphabetic()))
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

#[cfg(test)]
mod tests {
    use super::check_base_url;

    #[test]
    fn endpoint_urls() {
        for ok in [
            "https://api.openai.com/v1",
            "http://localhost:11434/v1/",
            "http://192.168.1.20:8080/v1",
            "HTTP://Ollama.home.lan/v1",
        ] {
            assert!(check_base_url(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            check_base_url("http://localhost:11434/v1/").unwrap(),
            "http://localhost:11434/v1"
        );
        for bad in [
            "ftp://x",
            "HTTPS://A*",
            "http://user:pw@host/v1",
            "http://host/v1?key=1",
            "http://host/v1#x",
            "http://1.2.3/v1",
            "http://256.1.1.1/",
            "http://host:0/",
            "http://host:65536/",
            " http://host/",
            "http://-a.b/",
        ] {
            assert!(check_base_url(bad).is_err(), "{bad}");
        }
    }
}
