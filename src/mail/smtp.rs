//! The SMTP server: which one (the environment's `SMTP_*`, else the admin settings in
//! `system_config`), and one message sent to it with lettre. Each send opens its own connection,
//! which is plenty for the mail a bookmark manager sends and behaves predictably when the server
//! goes away and comes back.

use std::collections::HashMap;
use std::time::Duration;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::content::Rendered;
use super::Mailer;
use crate::config::SmtpTls;
use crate::db::Db;
use crate::error::Result;
use crate::with_db;

/// The keys of the SMTP settings in `system_config` (the original's, plus `smtp_tls_mode`).
pub mod keys {
    pub const ENABLED: &str = "smtp_enabled";
    pub const HOST: &str = "smtp_host";
    pub const PORT: &str = "smtp_port";
    pub const SECURE: &str = "smtp_secure";
    pub const TLS_MODE: &str = "smtp_tls_mode";
    pub const USER: &str = "smtp_user";
    pub const PASSWORD: &str = "smtp_password";
    pub const FROM: &str = "smtp_from";
    pub const FROM_NAME: &str = "smtp_from_name";
}

/// A complete SMTP configuration, ready to send with.
#[derive(Clone, Debug)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub user: Option<String>,
    pub password: Option<String>,
    pub from: String,
    pub from_name: String,
}

/// Why no mail can be sent now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    Disabled,
    NoHost,
    NoFrom,
    /// The stored password does not decrypt under this `ENCRYPTION_KEY`.
    Password,
}

impl Unavailable {
    /// The original's wording where it has one.
    pub fn message(self) -> &'static str {
        match self {
            Unavailable::Disabled => "SMTP is not enabled",
            Unavailable::NoHost => "SMTP host is not configured",
            Unavailable::NoFrom => "SMTP from email is not configured",
            Unavailable::Password => {
                "The saved SMTP password cannot be decrypted with this server's ENCRYPTION_KEY; save it again"
            }
        }
    }
}

/// The SMTP keys as stored (all text; the password still encrypted).
pub async fn stored(db: &Db) -> Result<HashMap<String, String>> {
    let rows: Vec<(String, String)> = with_db!(db, pool => sqlx::query_as(
        "SELECT key, value FROM system_config WHERE tenant_id = 'default' AND key LIKE 'smtp\\_%' ESCAPE '\\'")
        .fetch_all(pool).await?);
    Ok(rows.into_iter().collect())
}

/// The TLS mode of stored settings: `smtp_tls_mode`, else the original's `smtp_secure` (true:
/// implicit TLS; false: STARTTLS when offered, as its mail library did).
pub fn stored_tls(values: &HashMap<String, String>) -> SmtpTls {
    values
        .get(keys::TLS_MODE)
        .and_then(|v| SmtpTls::parse(v))
        .unwrap_or(if values.get(keys::SECURE).is_some_and(|v| v == "true") {
            SmtpTls::Tls
        } else {
            SmtpTls::Opportunistic
        })
}

/// The settings mail goes out with now: the environment's when `SMTP_HOST` is set, else the
/// admin settings.
pub async fn current(db: &Db, mailer: &Mailer) -> Result<std::result::Result<SmtpSettings, Unavailable>> {
    if let Some(env) = mailer.env() {
        return Ok(Ok(SmtpSettings {
            host: env.host.clone(),
            port: env.port,
            tls: env.tls,
            user: env.user.clone(),
            password: env.password.clone(),
            from: env.from.clone(),
            from_name: env.from_name.clone(),
        }));
    }
    let values = stored(db).await?;
    Ok(resolve(&values, mailer.cipher(), true))
}

/// Settings from stored values (the password encrypted). `require_enabled` false ignores the
/// switch (testing settings before turning them on).
pub fn resolve(
    v: &HashMap<String, String>,
    cipher: &crate::crypto::Cipher,
    require_enabled: bool,
) -> std::result::Result<SmtpSettings, Unavailable> {
    let text = |k: &str| v.get(k).map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    if require_enabled && v.get(keys::ENABLED).map(String::as_str) != Some("true") {
        return Err(Unavailable::Disabled);
    }
    let host = text(keys::HOST).ok_or(Unavailable::NoHost)?;
    let from = text(keys::FROM).ok_or(Unavailable::NoFrom)?;
    let tls = stored_tls(v);
    let port = text(keys::PORT)
        .and_then(|p| p.parse::<u16>().ok())
        .filter(|p| *p > 0)
        .unwrap_or(tls.default_port());
    let password = match v.get(keys::PASSWORD).filter(|p| !p.is_empty()) {
        Some(enc) => Some(cipher.decrypt(enc).map_err(|_| Unavailable::Password)?),
        None => None,
    };
    Ok(SmtpSettings {
        host,
        port,
        tls,
        user: text(keys::USER),
        password,
        from,
        from_name: text(keys::FROM_NAME).unwrap_or_else(|| "SlugBase".into()),
    })
}

/// How a send went wrong.
#[derive(Debug)]
pub enum SendError {
    /// The server refused the message for good (unknown recipient, bad address …).
    Permanent(String),
    /// Worth trying again later (server away, busy, timed out, misconfigured for now).
    Temporary(String),
}

impl SendError {
    pub fn message(&self) -> &str {
        match self {
            SendError::Permanent(m) | SendError::Temporary(m) => m,
        }
    }
}

fn short(text: String) -> String {
    if text.chars().count() > 500 {
        text.chars().take(500).collect()
    } else {
        text
    }
}

/// A message as it goes out: From from the current settings, a stable Message-ID, the language
/// as `Content-Language`, HTML with a plain-text alternative.
pub fn build(
    s: &SmtpSettings,
    to: &str,
    lang: &str,
    content: &Rendered,
    message_id: &str,
) -> std::result::Result<Message, SendError> {
    let from: Address = s
        .from
        .parse()
        .map_err(|e| SendError::Temporary(format!("The sender address {:?} is invalid: {e}", s.from)))?;
    let to: Address = to
        .parse()
        .map_err(|e| SendError::Permanent(format!("The recipient address is invalid: {e}")))?;
    Message::builder()
        .from(Mailbox::new(Some(s.from_name.clone()), from))
        .to(Mailbox::new(None, to))
        .subject(content.subject.clone())
        .message_id(Some(message_id.to_string()))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Content-Language"),
            lang.to_string(),
        ))
        .multipart(MultiPart::alternative_plain_html(
            content.text.clone(),
            content.html.clone(),
        ))
        .map_err(|e| SendError::Permanent(format!("The message could not be built: {e}")))
}

fn transport(
    s: &SmtpSettings,
    ca_pem: Option<&[u8]>,
) -> std::result::Result<AsyncSmtpTransport<Tokio1Executor>, SendError> {
    let params = || {
        let mut b = TlsParameters::builder(s.host.clone());
        if let Some(pem) = ca_pem {
            b = b.add_root_certificate(Certificate::from_pem(pem)?);
        }
        b.build()
    };
    let bad_tls = |e: lettre::transport::smtp::Error| SendError::Temporary(format!("TLS setup failed: {e}"));
    let tls = match s.tls {
        SmtpTls::Tls => Tls::Wrapper(params().map_err(bad_tls)?),
        SmtpTls::StartTls => Tls::Required(params().map_err(bad_tls)?),
        SmtpTls::Opportunistic => Tls::Opportunistic(params().map_err(bad_tls)?),
        SmtpTls::None => Tls::None,
    };
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(s.host.as_str())
        .port(s.port)
        .tls(tls)
        .timeout(Some(Duration::from_secs(10)));
    if let Some(user) = s.user.as_ref().filter(|u| !u.is_empty()) {
        b = b
            .credentials(Credentials::new(
                user.clone(),
                s.password.clone().unwrap_or_default(),
            ))
            .authentication(vec![Mechanism::Plain, Mechanism::Login]);
    }
    Ok(b.build())
}

/// Sends one message, giving up after `within`. Refusals for authentication (530, 534, 535, 538)
/// count as temporary: an admin can fix the credentials.
pub async fn send(
    s: &SmtpSettings,
    ca_pem: Option<&[u8]>,
    message: Message,
    within: Duration,
) -> std::result::Result<(), SendError> {
    let transport = transport(s, ca_pem)?;
    match tokio::time::timeout(within, transport.send(message)).await {
        Err(_) => Err(SendError::Temporary(format!(
            "The SMTP server did not answer within {} seconds",
            within.as_secs()
        ))),
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => {
            let text = short(e.to_string());
            let auth = e
                .status()
                .is_some_and(|c| matches!(c.to_string().as_str(), "530" | "534" | "535" | "538"));
            if e.is_permanent() && !auth {
                Err(SendError::Permanent(text))
            } else {
                Err(SendError::Temporary(text))
            }
        }
    }
}
