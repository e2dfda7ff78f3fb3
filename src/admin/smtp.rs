//! The SMTP settings an admin sees and changes, and the test message. Stored in `system_config`
//! under the original's keys (the password encrypted, and never shown); `SMTP_*` in the
//! environment wins over them, and then the settings are read-only. Authentication is optional
//! (a local relay), and the TLS mode is one of implicit TLS, STARTTLS (required or when offered)
//! and none.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::audit::{self, Origin};
use crate::config::SmtpTls;
use crate::db::{Db, Ts};
use crate::error::{Error, FieldError, Kind, Result};
use crate::mail::smtp::{self, keys, SmtpSettings};
use crate::mail::{content, Lang, Mailer};
use crate::users;
use crate::with_tx;

/// The settings as the original's clients read them (all text), plus where they come from.
#[derive(Debug, Serialize, ToSchema)]
pub struct SmtpView {
    pub smtp_enabled: String,
    pub smtp_host: String,
    pub smtp_port: String,
    /// `"true"` for implicit TLS.
    pub smtp_secure: String,
    pub smtp_user: String,
    /// `"***SET***"` when a password is stored, else `""`; the password itself is never shown.
    pub smtp_password: String,
    pub smtp_from: String,
    pub smtp_from_name: String,
    /// `tls`, `starttls`, `opportunistic` or `none`.
    pub smtp_tls_mode: String,
    pub smtp_password_set: bool,
    /// `env` when `SMTP_*` in the server's environment decide (the settings are then read-only),
    /// else `settings`.
    pub source: &'static str,
    /// Whether mail can be sent with what is configured now.
    pub available: bool,
}

/// The settings in effect, for the admin page and `GET /api/admin/settings/smtp`.
pub async fn view(db: &Db, mailer: &Mailer) -> Result<SmtpView> {
    let available = mailer.available(db).await?;
    if let Some(e) = mailer.env() {
        return Ok(SmtpView {
            smtp_enabled: "true".into(),
            smtp_host: e.host.clone(),
            smtp_port: e.port.to_string(),
            smtp_secure: (e.tls == SmtpTls::Tls).to_string(),
            smtp_user: e.user.clone().unwrap_or_default(),
            smtp_password: if e.password.is_some() { "***SET***" } else { "" }.into(),
            smtp_from: e.from.clone(),
            smtp_from_name: e.from_name.clone(),
            smtp_tls_mode: e.tls.as_str().into(),
            smtp_password_set: e.password.is_some(),
            source: "env",
            available,
        });
    }
    let v = smtp::stored(db).await?;
    let text = |k: &str| v.get(k).cloned().unwrap_or_default();
    let password_set = v.get(keys::PASSWORD).is_some_and(|p| !p.is_empty());
    Ok(SmtpView {
        smtp_enabled: text(keys::ENABLED),
        smtp_host: text(keys::HOST),
        smtp_port: text(keys::PORT),
        smtp_secure: text(keys::SECURE),
        smtp_user: text(keys::USER),
        smtp_password: if password_set { "***SET***" } else { "" }.into(),
        smtp_from: text(keys::FROM),
        smtp_from_name: text(keys::FROM_NAME),
        smtp_tls_mode: smtp::stored_tls(&v).as_str().into(),
        smtp_password_set: password_set,
        source: "settings",
        available,
    })
}

/// The original's body (`enabled, host, port, secure, user, password, from, fromName`), every
/// field optional, plus `tls_mode`. A blank password keeps the stored one.
#[derive(Debug, Deserialize, ToSchema, Default, Clone)]
pub struct SmtpInput {
    #[schema(value_type = Option<bool>)]
    pub enabled: Option<Value>,
    /// A host name or an IP address.
    #[schema(max_length = 255, pattern = "^\\s*[^\\s\\x00-\\x1f\\x7f-\\x9f]*\\s*$")]
    pub host: Option<String>,
    #[schema(value_type = Option<u16>)]
    pub port: Option<Value>,
    /// Implicit TLS (the original's switch); `tls_mode` says more and wins.
    #[schema(value_type = Option<bool>)]
    pub secure: Option<Value>,
    /// `tls`, `starttls`, `opportunistic` or `none` (also `implicit`, `ssl`, `smtps`, `plain`,
    /// `off`; any case).
    #[schema(
        pattern = "^\\s*([Tt][Ll][Ss]|[Ii][Mm][Pp][Ll][Ii][Cc][Ii][Tt]|[Ss][Ss][Ll]|[Ss][Mm][Tt][Pp][Ss]|[Ss][Tt][Aa][Rr][Tt][Tt][Ll][Ss]|[Oo][Pp][Pp][Oo][Rr][Tt][Uu][Nn][Ii][Ss][Tt][Ii][Cc]|[Nn][Oo][Nn][Ee]|[Pp][Ll][Aa][Ii][Nn]|[Oo][Ff][Ff])\\s*$"
    )]
    pub tls_mode: Option<String>,
    /// Leave empty for a server without authentication.
    pub user: Option<String>,
    pub password: Option<String>,
    /// The sender address (empty: none).
    #[schema(
        pattern = "^[\\s\\u0085]*$|^[\\s\\u0085]*[^@\\s\\u0085]+@[^@\\s\\u0085.]+\\.[^@\\s\\u0085]*[^@\\s\\u0085.][\\s\\u0085]*$"
    )]
    pub from: Option<String>,
    /// At most 255 characters, without control characters.
    #[serde(rename = "fromName")]
    #[schema(max_length = 255, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$")]
    pub from_name: Option<String>,
}

fn flag(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" || s == "false" => Some(s == "true"),
        _ => None,
    }
}

fn problem(errors: &mut Vec<FieldError>, field: &str, message: &str) {
    errors.push(FieldError {
        field: field.into(),
        message: message.into(),
    });
}

/// The input as `system_config` values (password still plain), after checking each given field.
fn values(input: &SmtpInput) -> Result<Vec<(&'static str, Option<String>)>> {
    let mut errors = Vec::new();
    let mut out: Vec<(&'static str, Option<String>)> = Vec::new();
    if let Some(v) = &input.enabled {
        match flag(v) {
            Some(b) => out.push((keys::ENABLED, Some(b.to_string()))),
            None => problem(&mut errors, "enabled", "enabled must be true or false"),
        }
    }
    if let Some(h) = &input.host {
        let long = h.chars().count() > 255;
        let h = h.trim();
        if h.chars().any(|c| c.is_whitespace() || c.is_control()) || long {
            problem(
                &mut errors,
                "host",
                "SMTP host must be a host name or an IP address",
            );
        } else {
            out.push((keys::HOST, Some(h.to_string())));
        }
    }
    if let Some(p) = &input.port {
        let port = match p {
            Value::Number(n) => n.as_u64(),
            Value::String(s) if s.trim().is_empty() => Some(0),
            Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        match port {
            Some(0) => out.push((keys::PORT, None)),
            Some(n) if n <= 65_535 => out.push((keys::PORT, Some(n.to_string()))),
            _ => problem(&mut errors, "port", "SMTP port must be a number from 1 to 65535"),
        }
    }
    match (&input.tls_mode, &input.secure) {
        (Some(m), _) => match SmtpTls::parse(m) {
            Some(mode) => {
                out.push((keys::TLS_MODE, Some(mode.as_str().into())));
                out.push((keys::SECURE, Some((mode == SmtpTls::Tls).to_string())));
            }
            None => problem(
                &mut errors,
                "tls_mode",
                "tls_mode must be tls, starttls, opportunistic or none",
            ),
        },
        (None, Some(v)) => match flag(v) {
            // The original's switch alone: its meaning (implicit TLS, or STARTTLS when offered).
            Some(b) => {
                out.push((keys::SECURE, Some(b.to_string())));
                out.push((keys::TLS_MODE, None));
            }
            None => problem(&mut errors, "secure", "secure must be true or false"),
        },
        (None, None) => {}
    }
    if let Some(u) = &input.user {
        out.push((keys::USER, Some(u.trim().to_string()).filter(|u| !u.is_empty())));
    }
    if let Some(p) = input.password.as_deref().filter(|p| !p.trim().is_empty()) {
        out.push((keys::PASSWORD, Some(p.to_string())));
    }
    if let Some(f) = &input.from {
        let f = f.trim();
        if f.is_empty() {
            out.push((keys::FROM, None));
        } else {
            match users::validate_email("from", f) {
                Ok(_) => out.push((keys::FROM, Some(f.to_string()))),
                Err(_) => problem(
                    &mut errors,
                    "from",
                    "The sender address is not a valid email address",
                ),
            }
        }
    }
    if let Some(n) = &input.from_name {
        if n.chars().any(char::is_control) || n.chars().count() > 255 {
            problem(
                &mut errors,
                "fromName",
                "The sender name must be at most 255 characters, without control characters",
            );
        } else {
            out.push((
                keys::FROM_NAME,
                Some(n.trim().to_string()).filter(|n| !n.is_empty()),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(Error::validation(errors));
    }
    Ok(out)
}

fn from_env() -> Error {
    Error::conflict(
        "SMTP_FROM_ENV",
        "SMTP is configured through the server's environment (SMTP_HOST and the other SMTP_* variables); change it there",
    )
}

/// Saves the given fields (all or none); the password is stored encrypted.
pub async fn save(db: &Db, mailer: &Mailer, origin: &Origin, actor: &str, input: SmtpInput) -> Result<()> {
    if mailer.env().is_some() {
        return Err(from_env());
    }
    let changes = values(&input)?;
    let mut tx = db.begin().await?;
    let mut names = Vec::new();
    for (key, value) in &changes {
        match value {
            Some(v) => {
                let v = if *key == keys::PASSWORD {
                    mailer.cipher().encrypt(v)
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
        names.push(if *key == keys::PASSWORD {
            "smtp_password(set)"
        } else {
            key
        });
    }
    tx.commit().await?;
    audit::log(
        db,
        origin,
        Some(actor),
        "settings.smtp_updated",
        "settings",
        Some("smtp"),
        json!({"keys": names}),
    )
    .await;
    // Mail that waited for a server may go now.
    mailer.wake();
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema, Default)]
pub struct SmtpTestInput {
    /// Where the test message goes.
    #[schema(value_type = String, required = true, max_length = 255, pattern = "^[\\s\\u0085]*[^@\\s\\u0085]+@[^@\\s\\u0085.]+\\.[^@\\s\\u0085]*[^@\\s\\u0085.][\\s\\u0085]*$")]
    pub email: Option<String>,
    /// Settings to try instead of the saved ones (merged over them; with `host` only).
    #[serde(flatten)]
    pub settings: SmtpInput,
}

fn test_failed(reason: impl Into<String>) -> Error {
    Error::new(Kind::BadRequest, "SMTP_TEST_FAILED", reason.into())
}

/// Sends a test message at once (not through the outbox: the point is to show the admin what the
/// server answers), waiting at most 15 seconds.
pub async fn test(
    db: &Db,
    mailer: &Mailer,
    origin: &Origin,
    actor: &str,
    lang: Option<&str>,
    input: SmtpTestInput,
) -> Result<()> {
    let Some(email) = input.email.filter(|e| !e.trim().is_empty()) else {
        return Err(Error::invalid("email", "Email is required"));
    };
    let email = users::validate_email("email", &email)?;
    let settings: SmtpSettings = if mailer.env().is_none() && input.settings.host.is_some() {
        let mut merged: HashMap<String, String> = smtp::stored(db).await?;
        for (key, value) in values(&input.settings)? {
            match value {
                Some(v) if key == keys::PASSWORD => {
                    merged.insert(key.into(), mailer.cipher().encrypt(&v));
                }
                Some(v) => {
                    merged.insert(key.into(), v);
                }
                None => {
                    merged.remove(key);
                }
            }
        }
        smtp::resolve(&merged, mailer.cipher(), false).map_err(|u| test_failed(u.message()))?
    } else {
        mailer.settings(db).await?.map_err(|u| test_failed(u.message()))?
    };
    let content = content::smtp_test(Lang::of(lang), &email, Ts::now())?;
    let message_id = format!("<test-{}@{}>", crate::db::new_id(), mailer.msgid_domain());
    let result = match smtp::build(
        &settings,
        &email,
        content.lang.code(),
        &content.rendered,
        &message_id,
    ) {
        Ok(msg) => smtp::send(&settings, mailer.ca_pem(), msg, Duration::from_secs(15)).await,
        Err(e) => Err(e),
    };
    audit::log(
        db,
        origin,
        Some(actor),
        "settings.smtp_tested",
        "settings",
        Some("smtp"),
        json!({"recipient": email, "ok": result.is_ok()}),
    )
    .await;
    result.map_err(|e| test_failed(e.message()))
}
