//! Passkeys (WebAuthn): adding and managing them, signing in with one instead of a password, and
//! using one as the second factor after a password.
//!
//! The cryptography is webauthn-rs's: we keep its state between the two halves of a ceremony
//! ([`store`]), bind each ceremony to the browser that began it (a cookie holding the ceremony's
//! key, plus the session or pending sign-in it belongs to), refuse a ceremony older than five
//! minutes or taken before, and record every registration, use, rename and removal in the audit
//! log. The relying party is `BASE_URL`'s host; when that is an IP address (which browsers refuse
//! as a relying party) passkeys are off and the routes answer `PASSKEYS_UNAVAILABLE`.

mod register;
mod sign_in;
pub mod store;

use std::time::Duration;

use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use webauthn_rs::prelude::{Passkey, Url, Uuid, Webauthn, WebauthnBuilder};

pub use register::{begin_registration, finish_registration, ConfirmBody, RegisterFinish};
pub use sign_in::{
    begin_login, begin_mfa, finish_login, finish_mfa, second_factors, AssertionBody, SecondFactors,
};
pub use store::PasskeyInfo;
use store::{Challenge, Purpose, StoredPasskey};

use crate::audit::{self, Origin};
use crate::auth::AuthUser;
use crate::config::Config;
use crate::crypto::Cipher;
use crate::db::{Db, Ts};
use crate::error::{Error, Kind, Result};
use crate::users::sanitize_text;

/// How long a ceremony may take, from its options to the browser's answer.
pub const CHALLENGE_TTL: Duration = Duration::from_secs(300);
/// How recent the session's sign-in (or re-entered password or code) must be to add a passkey.
pub const CONFIRM_WINDOW: Duration = Duration::from_secs(600);
pub const MAX_PER_USER: i64 = 20;
const NAME_MAX: usize = 100;

/// The relying party, when `BASE_URL` allows one.
pub struct Passkeys {
    webauthn: Option<Webauthn>,
}

impl Passkeys {
    pub fn new(config: &Config) -> Passkeys {
        let webauthn = Url::parse(&config.base_url).ok().and_then(|origin| {
            let rp_id = origin.domain()?.to_string();
            WebauthnBuilder::new(&rp_id, &origin)
                .ok()?
                .rp_name("SlugBase")
                .timeout(CHALLENGE_TTL)
                .build()
                .ok()
        });
        if webauthn.is_none() {
            tracing::warn!(
                base_url = %config.base_url,
                "passkeys are off: BASE_URL needs a host name (browsers refuse an IP address as a relying party)"
            );
        }
        Passkeys { webauthn }
    }

    pub fn available(&self) -> bool {
        self.webauthn.is_some()
    }

    fn rp(&self) -> Result<&Webauthn> {
        self.webauthn.as_ref().ok_or_else(|| {
            Error::new(
                Kind::Unavailable,
                "PASSKEYS_UNAVAILABLE",
                "Passkeys need the server's BASE_URL to name a host, not an IP address",
            )
        })
    }
}

/// The WebAuthn user handle of an account: its id when that is a UUID (ours always are), else a
/// UUID derived from it. Never the e-mail address.
fn user_handle(user_id: &str) -> Uuid {
    Uuid::parse_str(user_id).unwrap_or_else(|_| {
        let digest = Sha256::digest(user_id.as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Uuid::from_bytes(bytes)
    })
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn challenge_invalid() -> Error {
    Error::bad_request("This passkey request is no longer valid. Please try again.")
        .with_code("PASSKEY_CHALLENGE_INVALID")
}

fn passkey_refused(kind: Kind) -> Error {
    Error::new(kind, "PASSKEY_INVALID", "The passkey could not be verified")
}

async fn event(
    db: &Db,
    origin: &Origin,
    user_id: Option<&str>,
    action: &str,
    entity: Option<&str>,
    meta: Value,
) {
    audit::log(db, origin, user_id, action, "passkey", entity, meta).await;
}

/// Takes the browser's ceremony out of storage: missing, used or another purpose's is
/// `PASSKEY_CHALLENGE_INVALID`, one older than [`CHALLENGE_TTL`] `PASSKEY_CHALLENGE_EXPIRED`.
async fn take(db: &Db, key: Option<&str>, purpose: Purpose) -> Result<Challenge> {
    let key = key
        .filter(|k| !k.is_empty() && k.len() <= 128)
        .ok_or_else(challenge_invalid)?;
    let ch = store::take_challenge(db, key, purpose)
        .await?
        .ok_or_else(challenge_invalid)?;
    if ch.expires_at <= Ts::now() {
        return Err(
            Error::bad_request("This passkey request has expired. Please try again.")
                .with_code("PASSKEY_CHALLENGE_EXPIRED"),
        );
    }
    Ok(ch)
}

fn state_of<T: serde::de::DeserializeOwned>(ch: &Challenge) -> Result<T> {
    serde_json::from_str(&ch.state).map_err(|e| {
        tracing::error!(error = %e, "stored passkey ceremony does not parse");
        Error::internal()
    })
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|_| Error::internal())
}

/// A `PublicKeyCredential` as JSON, what `navigator.credentials.create()` or `.get()` returned
/// with its binary fields in base64url (the shape of WebAuthn's `toJSON()`).
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct CredentialJson {
    /// The credential id, base64url.
    #[schema(pattern = "^[A-Za-z0-9_-]+$")]
    id: String,
    #[serde(rename = "rawId")]
    #[schema(pattern = "^[A-Za-z0-9_-]+$")]
    raw_id: String,
    /// `public-key`.
    #[serde(rename = "type")]
    type_: String,
    response: CredentialResponseJson,
}

/// The authenticator's response: `clientDataJSON` and, when registering, `attestationObject`;
/// when signing in, `authenticatorData`, `signature` and `userHandle` (all base64url).
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct CredentialResponseJson {
    #[serde(rename = "clientDataJSON")]
    #[schema(pattern = "^[A-Za-z0-9_-]+$")]
    client_data_json: String,
    #[serde(rename = "attestationObject")]
    #[schema(pattern = "^[A-Za-z0-9_-]+$")]
    attestation_object: Option<String>,
    #[serde(rename = "authenticatorData")]
    #[schema(pattern = "^[A-Za-z0-9_-]+$")]
    authenticator_data: Option<String>,
    #[schema(pattern = "^[A-Za-z0-9_-]+$")]
    signature: Option<String>,
    #[serde(rename = "userHandle")]
    #[schema(pattern = "^[A-Za-z0-9_-]+$")]
    user_handle: Option<String>,
}

/// The browser's answer (`navigator.credentials.create()` / `.get()` as JSON). Client extension
/// results are not used (webauthn-rs reads what it needs from the signed data).
fn credential<T: serde::de::DeserializeOwned>(v: Option<Value>) -> Result<T> {
    let mut v = v
        .filter(|v| v.is_object())
        .ok_or_else(|| Error::invalid("credential", "Credential is required"))?;
    if let Some(o) = v.as_object_mut() {
        o.insert("extensions".into(), json!({}));
    }
    serde_json::from_value(v)
        .map_err(|_| Error::invalid("credential", "Credential is not a WebAuthn credential"))
}

fn parse_passkey(stored: &StoredPasskey) -> Result<Passkey> {
    serde_json::from_str(&stored.credential).map_err(|e| {
        tracing::error!(error = %e, passkey = %stored.id, "stored passkey does not parse");
        Error::internal()
    })
}

fn passkey_name(v: Option<Value>) -> Result<String> {
    let Some(Value::String(raw)) = v else {
        return Err(Error::invalid("name", "Passkey name is required"));
    };
    let name = sanitize_text(&raw);
    if name.is_empty() {
        return Err(Error::invalid("name", "Passkey name is required"));
    }
    if raw.chars().count() > NAME_MAX {
        return Err(Error::invalid(
            "name",
            "Passkey name must be no more than 100 characters",
        ));
    }
    Ok(name)
}

/// The caller's passkeys.
pub async fn list(db: &Db, user_id: &str) -> Result<Vec<PasskeyInfo>> {
    store::list(db, user_id).await
}

#[derive(Default, Deserialize, ToSchema)]
pub struct RenameBody {
    /// 1–100 characters (control characters are dropped, spaces trimmed).
    #[schema(value_type = String, required = true, max_length = 100, pattern = "^[\\s\\S]*[^\\s\\x00-\\x1f\\x7f-\\x9f][\\s\\S]*$")]
    pub name: Option<Value>,
}

fn not_found() -> Error {
    Error::not_found("Passkey not found").with_code("PASSKEY_NOT_FOUND")
}

/// Renames one of the caller's passkeys (another user's is "not found").
pub async fn rename(
    db: &Db,
    origin: &Origin,
    user_id: &str,
    id: &str,
    body: RenameBody,
) -> Result<PasskeyInfo> {
    let name = passkey_name(body.name)?;
    let info = store::rename(db, user_id, id, &name)
        .await?
        .ok_or_else(not_found)?;
    event(
        db,
        origin,
        Some(user_id),
        "passkey.renamed",
        Some(id),
        json!({"name": name}),
    )
    .await;
    Ok(info)
}

fn session_required() -> Error {
    Error::new(
        Kind::Forbidden,
        "SESSION_REQUIRED",
        "Passkeys are managed from a signed-in browser session, not with an API token",
    )
}

/// Removes one of the caller's passkeys; it no longer signs in. Only from a browser session,
/// and when it is the account's last second factor (no TOTP, no other passkey) only with a
/// recent confirmation, as for adding one.
pub async fn remove(
    db: &Db,
    cipher: &Cipher,
    origin: &Origin,
    auth: &AuthUser,
    id: &str,
    confirm: ConfirmBody,
) -> Result<()> {
    let user_id = auth.id();
    let Some(sid) = auth.session_id.as_deref() else {
        return Err(session_required());
    };
    let mine = store::list(db, user_id).await?;
    if !mine.iter().any(|p| p.id == id) {
        return Err(not_found());
    }
    if !auth.user.mfa_enabled() && mine.len() == 1 {
        register::confirm_recent(db, cipher, auth, sid, &confirm).await?;
    }
    let name = store::delete(db, user_id, id).await?.ok_or_else(not_found)?;
    event(
        db,
        origin,
        Some(user_id),
        "passkey.deleted",
        Some(id),
        json!({"name": name}),
    )
    .await;
    Ok(())
}
