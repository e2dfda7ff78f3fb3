//! Signing in with a passkey: alone (a discoverable credential names its account), or as the
//! second factor after a password. Either opens an ordinary server-side session.

use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use webauthn_rs::prelude::{
    AuthenticationResult, DiscoverableAuthentication, Passkey, PasskeyAuthentication, PublicKeyCredential,
    WebauthnError,
};

use super::store::{self, Purpose, StoredPasskey};
use super::{
    b64, challenge_invalid, credential, event, parse_passkey, passkey_refused, state_of, take, to_json,
    user_handle, Passkeys, CHALLENGE_TTL,
};
use crate::audit::{self, Origin};
use crate::auth::{ratelimit, sessions, NewSession};
use crate::config::Config;
use crate::db::Db;
use crate::error::{Error, Kind, Result};
use crate::mail::Mailer;
use crate::mfa;
use crate::users::{self, User};

/// Begins a sign-in with a passkey alone: options without a user (the authenticator offers its
/// discoverable credentials) and the ceremony's key.
pub async fn begin_login(db: &Db, passkeys: &Passkeys, origin: &Origin) -> Result<(Value, String)> {
    let rp = passkeys.rp()?;
    ratelimit::hit(db, &ratelimit::PASSKEY_PER_IP, &origin.ip).await?;
    ratelimit::check(db, &ratelimit::AUTH_PER_IP, &origin.ip).await?;
    let (mut options, state) = rp.start_discoverable_authentication().map_err(|e| {
        tracing::error!(error = %e, "passkey sign-in options");
        Error::internal()
    })?;
    // A button press, not the autofill (conditional) prompt webauthn-rs asks for.
    options.mediation = None;
    let options = serde_json::to_value(&options).map_err(|_| Error::internal())?;
    let key = store::put_challenge(db, Purpose::Login, None, None, &to_json(&state)?, CHALLENGE_TTL).await?;
    Ok((options, key))
}

#[derive(Default, Deserialize, ToSchema)]
pub struct AssertionBody {
    /// What `navigator.credentials.get()` returned, as JSON (binary fields base64url).
    #[schema(value_type = super::CredentialJson, required = true)]
    pub credential: Option<Value>,
}

/// The signature counter of a stored credential (webauthn-rs's `Passkey` JSON).
fn stored_counter(credential: &str) -> u64 {
    serde_json::from_str::<Value>(credential)
        .ok()
        .and_then(|v| v.pointer("/cred/counter").and_then(Value::as_u64))
        .unwrap_or(0)
}

/// A verified use of a stored passkey: the credential with its new counter, written with the
/// session the use opens. A counter that did not move forward is a cloned authenticator: refused
/// and recorded. (webauthn-rs checks the counter against the credential as it was when the
/// ceremony began; it is checked again here against the credential as stored now.)
async fn verified_use(
    db: &Db,
    origin: &Origin,
    stored: &StoredPasskey,
    verdict: std::result::Result<AuthenticationResult, WebauthnError>,
    mut passkey: Passkey,
) -> Result<std::result::Result<String, String>> {
    let now = stored_counter(&stored.credential);
    let verdict = verdict.and_then(|r| {
        let counter = u64::from(r.counter());
        if (counter > 0 || now > 0) && counter <= now {
            Err(WebauthnError::CredentialPossibleCompromise)
        } else {
            Ok(r)
        }
    });
    match verdict {
        Ok(result) => {
            passkey.update_credential(&result);
            Ok(Ok(to_json(&passkey)?))
        }
        Err(WebauthnError::CredentialPossibleCompromise) => {
            let meta = json!({"name": stored.name, "reason": "signature counter did not increase"});
            event(
                db,
                origin,
                Some(&stored.user_id),
                "passkey.clone_suspected",
                Some(&stored.id),
                meta,
            )
            .await;
            Ok(Err("counter".into()))
        }
        Err(e) => Ok(Err(e.to_string())),
    }
}

/// Opens the session a passkey use earned, recording the use in the same transaction; `None`
/// when the passkey changed since it was read (removed, or used concurrently).
async fn open_session(
    db: &Db,
    config: &Config,
    origin: &Origin,
    user: &User,
    stored: &StoredPasskey,
    credential: &str,
) -> Result<Option<String>> {
    let mut tx = db.begin().await?;
    if !store::record_use_in(&mut tx, &stored.id, &stored.credential, credential).await? {
        return Ok(None);
    }
    let sid = sessions::create_in(
        &mut tx,
        &user.id,
        config.jwt_expires_in,
        &origin.ip,
        origin.user_agent.as_deref(),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(crate::auth::session_token(config, user, &sid)))
}

/// Finishes a sign-in with a passkey alone: a session, as after a password and second factor.
pub async fn finish_login(
    db: &Db,
    config: &Config,
    mailer: &Mailer,
    passkeys: &Passkeys,
    origin: &Origin,
    key: Option<&str>,
    body: AssertionBody,
) -> Result<NewSession> {
    let rp = passkeys.rp()?;
    ratelimit::check(db, &ratelimit::AUTH_PER_IP, &origin.ip).await?;
    let answer: PublicKeyCredential = credential(body.credential)?;
    let ch = take(db, key, Purpose::Login).await?;
    let state: DiscoverableAuthentication = state_of(&ch)?;

    let refuse = |user_id: Option<String>, reason: String, code: &'static str| async move {
        ratelimit::record_failure(db, &ratelimit::AUTH_PER_IP, &origin.ip).await?;
        event(
            db,
            origin,
            user_id.as_deref(),
            "passkey.login_failed",
            None,
            json!({"reason": reason}),
        )
        .await;
        let e = passkey_refused(Kind::Unauthorized);
        Err::<NewSession, Error>(if code == "PASSKEY_UNKNOWN" {
            Error::new(Kind::Unauthorized, code, "This passkey is not registered here")
        } else {
            e
        })
    };
    let Ok((handle, cred_id)) = rp.identify_discoverable_authentication(&answer) else {
        return refuse(None, "no user handle".into(), "PASSKEY_INVALID").await;
    };
    let Some(stored) = store::by_credential_id(db, &b64(cred_id)).await? else {
        return refuse(None, "unknown credential".into(), "PASSKEY_UNKNOWN").await;
    };
    if user_handle(&stored.user_id) != handle {
        return refuse(
            Some(stored.user_id.clone()),
            "user handle does not match".into(),
            "PASSKEY_INVALID",
        )
        .await;
    }
    let passkey = parse_passkey(&stored)?;
    let verdict = rp.finish_discoverable_authentication_v2(&answer, state, &passkey);
    let updated = match verified_use(db, origin, &stored, verdict, passkey).await? {
        Ok(c) => c,
        Err(reason) => return refuse(Some(stored.user_id.clone()), reason, "PASSKEY_INVALID").await,
    };
    let user = users::by_id(db, &stored.user_id)
        .await?
        .ok_or_else(|| passkey_refused(Kind::Unauthorized))?;
    crate::auth::may_sign_in(db, mailer, &user).await?;
    let Some(token) = open_session(db, config, origin, &user, &stored, &updated).await? else {
        return refuse(
            Some(stored.user_id.clone()),
            "changed meanwhile".into(),
            "PASSKEY_INVALID",
        )
        .await;
    };
    event(
        db,
        origin,
        Some(&user.id),
        "passkey.used",
        Some(&stored.id),
        json!({"name": stored.name, "step": "sign_in"}),
    )
    .await;
    audit::log(
        db,
        origin,
        Some(&user.id),
        "auth.login_succeeded",
        "user",
        Some(&user.id),
        json!({"method": "passkey"}),
    )
    .await;
    Ok(NewSession { user, token })
}

/// The second factors a pending sign-in may finish with (what the MFA page offers).
#[derive(Clone, Copy, Debug, Default)]
pub struct SecondFactors {
    pub totp: bool,
    pub passkey: bool,
}

/// Which second factors the pending sign-in's account has; TOTP alone when the pending sign-in
/// is gone (the code form then says so).
pub async fn second_factors(db: &Db, config: &Config, pending: Option<&str>) -> Result<SecondFactors> {
    let Ok((_, user)) = mfa::pending_user(db, config, pending).await else {
        return Ok(SecondFactors {
            totp: true,
            passkey: false,
        });
    };
    let passkey = users::has_passkeys(db, &user.id).await?;
    Ok(SecondFactors {
        totp: user.mfa_enabled() || !passkey,
        passkey,
    })
}

/// Begins the second step of a password sign-in with one of the account's passkeys.
pub async fn begin_mfa(
    db: &Db,
    config: &Config,
    passkeys: &Passkeys,
    origin: &Origin,
    pending: Option<&str>,
) -> Result<(Value, String)> {
    let rp = passkeys.rp()?;
    let (claims, user) = mfa::pending_user(db, config, pending).await?;
    ratelimit::hit(db, &ratelimit::PASSKEY_PER_IP, &origin.ip).await?;
    ratelimit::check(db, &ratelimit::MFA_FAIL_PER_PENDING, &claims.jti).await?;
    let stored = store::for_user(db, &user.id).await?;
    if stored.is_empty() {
        return Err(Error::bad_request("This account has no passkey").with_code("NO_PASSKEYS"));
    }
    let keys = stored.iter().map(parse_passkey).collect::<Result<Vec<_>>>()?;
    let (options, state) = rp.start_passkey_authentication(&keys).map_err(|e| {
        tracing::error!(error = %e, "passkey MFA options");
        Error::internal()
    })?;
    let options = serde_json::to_value(&options).map_err(|_| Error::internal())?;
    let key = store::put_challenge(
        db,
        Purpose::Mfa,
        Some(&user.id),
        Some(&claims.jti),
        &to_json(&state)?,
        CHALLENGE_TTL,
    )
    .await?;
    Ok((options, key))
}

/// Finishes a password sign-in with a passkey as its second factor. A pending sign-in opens at
/// most one session.
pub async fn finish_mfa(
    db: &Db,
    config: &Config,
    passkeys: &Passkeys,
    origin: &Origin,
    pending: Option<&str>,
    key: Option<&str>,
    body: AssertionBody,
) -> Result<NewSession> {
    let rp = passkeys.rp()?;
    let (claims, user) = mfa::pending_user(db, config, pending).await?;
    ratelimit::hit(db, &ratelimit::MFA_VERIFY_PER_IP, &origin.ip).await?;
    ratelimit::check(db, &ratelimit::MFA_FAIL_PER_PENDING, &claims.jti).await?;
    ratelimit::check(db, &ratelimit::MFA_FAIL_PER_USER, &user.id).await?;
    let answer: PublicKeyCredential = credential(body.credential)?;
    let ch = take(db, key, Purpose::Mfa).await?;
    if ch.user_id.as_deref() != Some(user.id.as_str()) || ch.binding.as_deref() != Some(claims.jti.as_str()) {
        return Err(challenge_invalid());
    }
    let state: PasskeyAuthentication = state_of(&ch)?;

    let (jti, uid) = (claims.jti.as_str(), user.id.as_str());
    let refuse = |reason: String| async move {
        ratelimit::record_failure(db, &ratelimit::MFA_FAIL_PER_PENDING, jti).await?;
        ratelimit::record_failure(db, &ratelimit::MFA_FAIL_PER_USER, uid).await?;
        let meta = json!({"method": "passkey", "reason": reason});
        audit::log(
            db,
            origin,
            Some(uid),
            "mfa.verify_failed",
            "user",
            Some(uid),
            meta,
        )
        .await;
        Err::<NewSession, Error>(passkey_refused(Kind::Unauthorized))
    };
    let cred_id = b64(answer.get_credential_id());
    let stored = match store::by_credential_id(db, &cred_id).await? {
        Some(s) if s.user_id == user.id => s,
        _ => return refuse("unknown credential".into()).await,
    };
    let passkey = parse_passkey(&stored)?;
    let verdict = rp.finish_passkey_authentication(&answer, &state);
    let updated = match verified_use(db, origin, &stored, verdict, passkey).await? {
        Ok(c) => c,
        Err(reason) => return refuse(reason).await,
    };
    let Some(token) = open_session(db, config, origin, &user, &stored, &updated).await? else {
        return refuse("changed meanwhile".into()).await;
    };
    ratelimit::exhaust(db, &ratelimit::MFA_FAIL_PER_PENDING, &claims.jti).await?;
    event(
        db,
        origin,
        Some(&user.id),
        "passkey.used",
        Some(&stored.id),
        json!({"name": stored.name, "step": "mfa"}),
    )
    .await;
    mfa::record_second_step(db, origin, &user.id, "passkey", "password+passkey").await;
    Ok(NewSession { user, token })
}
