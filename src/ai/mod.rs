//! AI suggestions for a new bookmark's title, go-link slug and tags, from any endpoint that
//! speaks the OpenAI chat-completions protocol (OpenAI, Ollama, llama.cpp's server, vLLM,
//! LocalAI …). The admin configures the endpoint ([`settings`], or `AI_*` in the environment);
//! each user may switch suggestions off (`users.ai_suggestions_enabled`); [`suggest`] asks the
//! model, checks what comes back and caches it for a week.
//!
//! The endpoint is the admin's choice, so it may be on the LAN or on this machine (unlike the
//! pages whose metadata we fetch, which pass the SSRF rules). Every request to it is bounded: a
//! connect and answer timeout of at most 15 seconds, no redirects, no proxies from the
//! environment, and an answer of at most 1 MiB ([`net`]).

mod net;
pub mod settings;
pub mod suggest;
mod url_filter;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub use settings::{AiAvailability, AiInput, AiView, ModelList};
pub use suggest::{SuggestInput, Suggestion};

use crate::config::ai::{AiConfig, AiEnv};
use crate::crypto::Cipher;

/// The AI feature's in-memory part: where its settings come from, the key's cipher, the limits
/// and the HTTP client (built on first use: an instance without AI never builds it). Cheap to
/// clone.
#[derive(Clone)]
pub struct Ai(Arc<Inner>);

struct Inner {
    env: Option<AiEnv>,
    timeout: Duration,
    rate_limit: u32,
    cipher: Cipher,
    client: OnceLock<Result<reqwest::Client, String>>,
}

impl Ai {
    pub fn new(config: &AiConfig, cipher: Cipher) -> Ai {
        Ai(Arc::new(Inner {
            env: config.env.clone(),
            timeout: config.timeout,
            rate_limit: config.rate_limit,
            cipher,
            client: OnceLock::new(),
        }))
    }

    /// The endpoint from `AI_*`, if set (it wins over the settings).
    pub fn env(&self) -> Option<&AiEnv> {
        self.0.env.as_ref()
    }

    pub(crate) fn cipher(&self) -> &Cipher {
        &self.0.cipher
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.0.timeout
    }

    pub(crate) fn rate_limit(&self) -> u32 {
        self.0.rate_limit
    }

    pub(crate) fn client(&self) -> Result<&reqwest::Client, String> {
        self.0
            .client
            .get_or_init(|| net::client(self.0.timeout))
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// The endpoint in effect: where, with which key and model.
#[derive(Clone)]
pub struct Endpoint {
    /// Without a trailing `/`.
    pub base_url: String,
    pub api_key: Option<String>,
    pub model: String,
}
