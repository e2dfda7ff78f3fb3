//! Outgoing mail. A use case that causes a message renders it ([`content`]) and writes it to the
//! outbox ([`outbox`]) in the same transaction as its change; after the commit it wakes the
//! background sender, which delivers it over SMTP ([`smtp`]) with retries. No request waits on
//! an SMTP server, except the admin's test message, whose point is to show the server's answer.
//!
//! The SMTP server comes from the environment (`SMTP_*`, which wins) or from the admin settings.

pub mod content;
pub mod outbox;
pub mod smtp;

use std::sync::Arc;

use crate::config::{Config, SmtpEnv};
use crate::crypto::Cipher;
use crate::db::{Db, Tx};
use crate::error::Result;

pub use content::{Content, Lang};
pub use smtp::{SmtpSettings, Unavailable};

/// What kind of message a row of the outbox holds (stored as text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    PasswordReset,
    PasswordChanged,
    Invite,
    SignupVerify,
    SignupExisting,
    EmailChangeVerify,
    EmailChanged,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::PasswordReset => "password_reset",
            Kind::PasswordChanged => "password_changed",
            Kind::Invite => "invite",
            Kind::SignupVerify => "signup_verify",
            Kind::SignupExisting => "signup_existing",
            Kind::EmailChangeVerify => "email_change_verify",
            Kind::EmailChanged => "email_changed",
        }
    }
}

/// A message to queue: who gets it, and what it says (rendered in the recipient's language).
pub struct Outgoing<'a> {
    pub kind: Kind,
    pub user_id: Option<&'a str>,
    pub to: &'a str,
    pub content: Content,
}

/// The mail service one server instance holds: where the SMTP server is configured, the links'
/// base address, the key the outbox bodies are encrypted under, and the sender's wake-up call.
#[derive(Clone)]
pub struct Mailer(Arc<Inner>);

struct Inner {
    env: Option<SmtpEnv>,
    ca_pem: Option<Vec<u8>>,
    frontend_url: String,
    /// The right part of every Message-ID: the public host name.
    msgid_domain: String,
    cipher: Cipher,
    wake: tokio::sync::Notify,
    /// This process, as the outbox's `claimed_by`.
    instance: String,
}

impl Mailer {
    pub fn new(config: &Config, cipher: Cipher) -> Mailer {
        let msgid_domain = url::Url::parse(&config.frontend_url)
            .ok()
            .and_then(|u| u.host_str().map(|h| h.trim_matches(['[', ']']).to_string()))
            .filter(|h| !h.is_empty() && !h.contains(':'))
            .unwrap_or_else(|| "slugbase.local".into());
        Mailer(Arc::new(Inner {
            env: config.smtp.clone(),
            ca_pem: config.smtp_ca_pem.clone(),
            frontend_url: config.frontend_url.trim_end_matches('/').to_string(),
            msgid_domain,
            cipher,
            wake: tokio::sync::Notify::new(),
            instance: crate::db::new_id(),
        }))
    }

    /// The SMTP server from the environment, if `SMTP_HOST` is set (it wins over the settings).
    pub fn env(&self) -> Option<&SmtpEnv> {
        self.0.env.as_ref()
    }

    pub fn cipher(&self) -> &Cipher {
        &self.0.cipher
    }

    /// The server mail goes through now, or why there is none.
    pub async fn settings(&self, db: &Db) -> Result<std::result::Result<SmtpSettings, Unavailable>> {
        smtp::current(db, self).await
    }

    /// Whether mail can be sent (an SMTP server is configured and switched on).
    pub async fn available(&self, db: &Db) -> Result<bool> {
        Ok(self.settings(db).await?.is_ok())
    }

    /// `{FRONTEND_URL}{path}?token=…` (the token is hex, so it needs no escaping).
    pub fn link(&self, path: &str, token: &str) -> String {
        format!("{}{path}?token={token}", self.0.frontend_url)
    }

    /// The public address of a page, for links without a token.
    pub fn page(&self, path: &str) -> String {
        format!("{}{path}", self.0.frontend_url)
    }

    /// Writes `mail` to the outbox inside the caller's transaction. Call [`Mailer::wake`] after
    /// the commit.
    pub async fn queue(&self, tx: &mut Tx, mail: Outgoing<'_>) -> Result<String> {
        outbox::insert(tx, &self.0.cipher, mail).await
    }

    /// Tells this instance's sender that there is mail (other instances poll every second).
    pub fn wake(&self) {
        self.0.wake.notify_one();
    }

    pub(crate) fn instance(&self) -> &str {
        &self.0.instance
    }

    pub(crate) fn msgid_domain(&self) -> &str {
        &self.0.msgid_domain
    }

    pub(crate) fn ca_pem(&self) -> Option<&[u8]> {
        self.0.ca_pem.as_deref()
    }

    pub(crate) async fn woken(&self) {
        self.0.wake.notified().await
    }
}
