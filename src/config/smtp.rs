//! `SMTP_*`: the mail server from the environment, which wins over the admin's mail settings.

use super::{err, get, ConfigError, Env};

/// How the connection to the SMTP server is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
    /// STARTTLS, required: sending fails when the server does not offer it (usually port 587).
    StartTls,
    /// STARTTLS when the server offers it, else plain (the original's `smtp_secure=false`).
    Opportunistic,
    /// No encryption: a relay on this host or a trusted network (usually port 25).
    None,
}

impl SmtpTls {
    pub fn parse(v: &str) -> Option<SmtpTls> {
        match v.trim().to_ascii_lowercase().as_str() {
            "tls" | "implicit" | "ssl" | "smtps" => Some(SmtpTls::Tls),
            "starttls" => Some(SmtpTls::StartTls),
            "opportunistic" => Some(SmtpTls::Opportunistic),
            "none" | "plain" | "off" => Some(SmtpTls::None),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SmtpTls::Tls => "tls",
            SmtpTls::StartTls => "starttls",
            SmtpTls::Opportunistic => "opportunistic",
            SmtpTls::None => "none",
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            SmtpTls::Tls => 465,
            SmtpTls::StartTls | SmtpTls::Opportunistic => 587,
            SmtpTls::None => 25,
        }
    }
}

/// The SMTP server from the environment (`SMTP_HOST` and the rest).
#[derive(Clone)]
pub struct SmtpEnv {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// Without a user the server is used without authentication (a local relay).
    pub user: Option<String>,
    pub password: Option<String>,
    pub from: String,
    pub from_name: String,
}

/// Reads `SMTP_*`: nothing when `SMTP_HOST` is unset; `SMTP_FROM` is required with it.
pub(super) fn smtp_from_env(env: &Env) -> Result<Option<SmtpEnv>, ConfigError> {
    let Some(host) = get(env, "SMTP_HOST") else {
        for key in ["SMTP_FROM", "SMTP_USER", "SMTP_PASSWORD", "SMTP_PORT", "SMTP_TLS"] {
            if get(env, key).is_some() {
                return err(format!("{key} is set but SMTP_HOST is not; set SMTP_HOST too"));
            }
        }
        return Ok(None);
    };
    if host.chars().any(char::is_whitespace) {
        return err(format!("SMTP_HOST must be a host name or address, got {host:?}"));
    }
    let tls = match get(env, "SMTP_TLS") {
        Some(v) => SmtpTls::parse(v)
            .ok_or_else(|| ConfigError(format!("SMTP_TLS must be none, starttls or tls, got {v:?}")))?,
        None => SmtpTls::StartTls,
    };
    let port = match get(env, "SMTP_PORT") {
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| ConfigError(format!("SMTP_PORT must be a port number, got {p:?}")))?,
        None => tls.default_port(),
    };
    let Some(from) = get(env, "SMTP_FROM") else {
        return err("SMTP_FROM is not set; it is required with SMTP_HOST (the sender address)");
    };
    if !from.contains('@') || from.chars().any(|c| c.is_whitespace() || c == '<' || c == '>') {
        return err(format!("SMTP_FROM must be an e-mail address, got {from:?}"));
    }
    let from_name = get(env, "SMTP_FROM_NAME").unwrap_or("SlugBase");
    if from_name.chars().any(char::is_control) {
        return err("SMTP_FROM_NAME must not contain control characters");
    }
    Ok(Some(SmtpEnv {
        host: host.to_string(),
        port,
        tls,
        user: get(env, "SMTP_USER").map(str::to_string),
        // Not trimmed: a password may start or end with a space.
        password: env.get("SMTP_PASSWORD").filter(|p| !p.is_empty()).cloned(),
        from: from.to_string(),
        from_name: from_name.to_string(),
    }))
}

pub(super) fn smtp_ca_from_env(env: &Env) -> Result<Option<Vec<u8>>, ConfigError> {
    let Some(path) = get(env, "SMTP_CA_FILE") else {
        return Ok(None);
    };
    let pem =
        std::fs::read(path).map_err(|e| ConfigError(format!("SMTP_CA_FILE {path:?} cannot be read: {e}")))?;
    if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
        return err(format!("SMTP_CA_FILE {path:?} holds no PEM certificate"));
    }
    Ok(Some(pem))
}
