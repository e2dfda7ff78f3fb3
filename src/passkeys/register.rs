//! Adding a passkey: the owner confirms (a recent sign-in, or the password or a TOTP code now),
//! the browser's authenticator creates the credential, we verify and store it.

use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use webauthn_rs::prelude::{PasskeyRegistration, RegisterPublicKeyCredential};

use super::store::{self, Purpose};
use super::{
    b64, challenge_invalid, credential, event, parse_passkey, passkey_name, passkey_refused, state_of, take,
    to_json, user_handle, PasskeyInfo, Passkeys, CHALLENGE_TTL, CONFIRM_WINDOW, MAX_PER_USER,
};
use crate::audit::Origin;
use crate::auth::{password, ratelimit, AuthUser};
use crate::crypto::Cipher;
use crate::db::{Db, Ts};
use crate::error::{Error, Kind, Result};
use crate::mfa;

#[derive(Default, Deserialize, ToSchema)]
pub struct ConfirmBody {
    /// The account password: needed when the session's sign-in is more than 10 minutes old.
    pub password: Option<String>,
    /// Or, for accounts with TOTP, a current 6-digit code.
    pub code: Option<String>,
}

/// A passkey is added only by someone who proved, within [`CONFIRM_WINDOW`], that they are the
/// account's owner: the session's own sign-in, or a password or TOTP code given now (which then
/// counts for the session's next minutes too).
pub(super) async fn confirm_recent(
    db: &Db,
    cipher: &Cipher,
    auth: &AuthUser,
    sid: &str,
    body: &ConfirmBody,
) -> Result<()> {
    let pw = body.password.as_deref().filter(|p| !p.is_empty());
    let code = body.code.as_deref().map(str::trim).filter(|c| !c.is_empty());
    if pw.is_none() && code.is_none() {
        let at = store::session_confirmed_at(db, sid).await?;
        if at.is_some_and(|t| t.plus(CONFIRM_WINDOW) > Ts::now()) {
            return Ok(());
        }
        return Err(Error::new(
            Kind::Forbidden,
            "REAUTH_REQUIRED",
            "Confirm with your password (or an authenticator code) first",
        ));
    }
    ratelimit::check(db, &ratelimit::MFA_FAIL_PER_USER, auth.id()).await?;
    let refusal = if let Some(pw) = pw {
        let ok = pw.chars().count() <= password::MAX_LEN
            && password::verify(pw, auth.user.password_hash.as_deref()).await;
        (!ok).then(|| Error::new(Kind::Unauthorized, "INVALID_PASSWORD", "Invalid password"))
    } else {
        // A current TOTP code only: backup codes are for getting in, not for adding factors.
        let code = code.and_then(mfa::parse_totp).unwrap_or_default();
        let mut tx = db.begin().await?;
        match mfa::check_code(&mut tx, cipher, auth.id(), &code, false).await? {
            Some(mfa::Accepted::Totp) => {
                tx.commit().await?;
                None
            }
            _ => Some(mfa::invalid_code()),
        }
    };
    if let Some(e) = refusal {
        ratelimit::record_failure(db, &ratelimit::MFA_FAIL_PER_USER, auth.id()).await?;
        return Err(e);
    }
    store::mark_session_confirmed(db, sid).await
}

/// Begins adding a passkey: the options for `navigator.credentials.create()` and the ceremony's
/// key (for the browser's cookie).
pub async fn begin_registration(
    db: &Db,
    passkeys: &Passkeys,
    cipher: &Cipher,
    origin: &Origin,
    auth: &AuthUser,
    body: ConfirmBody,
) -> Result<(Value, String)> {
    let rp = passkeys.rp()?;
    ratelimit::hit(db, &ratelimit::PASSKEY_PER_IP, &origin.ip).await?;
    let Some(sid) = auth.session_id.as_deref() else {
        return Err(super::session_required());
    };
    confirm_recent(db, cipher, auth, sid, &body).await?;
    let existing = store::for_user(db, auth.id()).await?;
    if existing.len() as i64 >= MAX_PER_USER {
        return Err(limit_reached());
    }
    let exclude = existing
        .iter()
        .map(|p| parse_passkey(p).map(|k| k.cred_id().clone()))
        .collect::<Result<Vec<_>>>()?;
    let user = &auth.user;
    let (options, state) = rp
        .start_passkey_registration(user_handle(&user.id), &user.email, &user.name, Some(exclude))
        .map_err(|e| {
            tracing::error!(error = %e, "passkey registration options");
            Error::internal()
        })?;
    let mut options = serde_json::to_value(&options).map_err(|_| Error::internal())?;
    // Discoverable credentials, so that the passkey alone signs in (webauthn-rs leaves it to the
    // authenticator); a security key that cannot keep one still works as the second factor.
    if let Some(sel) = options
        .pointer_mut("/publicKey/authenticatorSelection")
        .and_then(Value::as_object_mut)
    {
        sel.insert("residentKey".into(), json!("preferred"));
    }
    let key = store::put_challenge(
        db,
        Purpose::Register,
        Some(&user.id),
        Some(sid),
        &to_json(&state)?,
        CHALLENGE_TTL,
    )
    .await?;
    Ok((options, key))
}

#[derive(Default, Deserialize, ToSchema)]
pub struct RegisterFinish {
    /// 1–100 characters (control characters are dropped, spaces trimmed).
    #[schema(value_type = String, required = true, max_length = 100, pattern = "^[\\s\\S]*[^\\s\\x00-\\x1f\\x7f-\\x9f][\\s\\S]*$")]
    pub name: Option<Value>,
    /// What `navigator.credentials.create()` returned, as JSON (binary fields base64url).
    #[schema(value_type = super::CredentialJson, required = true)]
    pub credential: Option<Value>,
}

/// Finishes adding a passkey begun with [`begin_registration`] in the same session.
pub async fn finish_registration(
    db: &Db,
    passkeys: &Passkeys,
    origin: &Origin,
    auth: &AuthUser,
    key: Option<&str>,
    body: RegisterFinish,
) -> Result<PasskeyInfo> {
    let rp = passkeys.rp()?;
    let name = passkey_name(body.name)?;
    let answer: RegisterPublicKeyCredential = credential(body.credential)?;
    let ch = take(db, key, Purpose::Register).await?;
    if ch.user_id.as_deref() != Some(auth.id()) || ch.binding.as_deref() != auth.session_id.as_deref() {
        return Err(challenge_invalid());
    }
    let state: PasskeyRegistration = state_of(&ch)?;
    let passkey = match rp.finish_passkey_registration(&answer, &state) {
        Ok(p) => p,
        Err(e) => {
            let meta = json!({"reason": e.to_string()});
            event(db, origin, Some(auth.id()), "passkey.register_failed", None, meta).await;
            return Err(passkey_refused(Kind::BadRequest));
        }
    };
    if store::count(db, auth.id()).await? >= MAX_PER_USER {
        return Err(limit_reached());
    }
    let info = store::insert(db, auth.id(), &name, &b64(passkey.cred_id()), &to_json(&passkey)?).await?;
    event(
        db,
        origin,
        Some(auth.id()),
        "passkey.registered",
        Some(&info.id),
        json!({"name": name}),
    )
    .await;
    Ok(info)
}

fn limit_reached() -> Error {
    Error::bad_request("Maximum of 20 passkeys per user. Remove one first.").with_code("PASSKEY_LIMIT")
}
