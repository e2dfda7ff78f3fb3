//! Signing in and out: first-run setup, password sign-in (which may stop at the
//! MFA step), sign-out and sign-out everywhere. Each use case checks its input, applies its rate
//! limits, writes in one transaction and records the audit entry.

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::audit::{self, Origin};
use crate::auth::{jwt, password, ratelimit, sessions, AuthUser};
use crate::config::Config;
use crate::db::Db;
use crate::error::{Error, Kind, Result};
use crate::mail::Mailer;
use crate::users::{self, NewUser, User};
use crate::{settings, with_db, with_tx};

/// A session that was just opened: its user and the signed token (the `token` cookie's value).
pub struct NewSession {
    pub user: User,
    pub token: String,
}

/// How a password sign-in ended.
pub enum SignIn {
    /// Signed in.
    Session(Box<NewSession>),
    /// The password was right and the account has MFA: the sign-in finishes at the MFA step
    /// with this pending token (the `slugbase.mfa_pending` cookie's value).
    MfaPending { token: String },
}

/// Opens a server-side session for `user` and signs its token.
pub async fn open_session(db: &Db, config: &Config, user: User, origin: &Origin) -> Result<NewSession> {
    let ttl = config.jwt_expires_in;
    let sid = sessions::create(db, &user.id, ttl, &origin.ip, origin.user_agent.as_deref()).await?;
    let token = session_token(config, &user, &sid);
    Ok(NewSession { user, token })
}

/// The signed token of session `sid`.
pub fn session_token(config: &Config, user: &User, sid: &str) -> String {
    jwt::sign_session(
        &config.jwt_secret,
        user,
        sid,
        config.jwt_expires_in.as_secs() as i64,
        user.email_verified(),
    )
}

/// Whether first-run setup has been done (any user exists).
pub async fn is_initialized(db: &Db) -> Result<bool> {
    Ok(users::count(db).await? > 0)
}

#[derive(Deserialize, ToSchema, Default)]
pub struct SetupRequest {
    #[schema(value_type = String, required = true, max_length = 255, pattern = "^[\\s\\u0085]*[^@\\s\\u0085]+@[^@\\s\\u0085.]+\\.[^@\\s\\u0085]*[^@\\s\\u0085.][\\s\\u0085]*$")]
    pub email: Option<String>,
    /// 1–255 characters (control characters are dropped, spaces trimmed).
    #[schema(value_type = String, required = true, max_length = 255, pattern = "^[\\s\\S]*[^\\s\\x00-\\x1f\\x7f-\\x9f][\\s\\S]*$")]
    pub name: Option<String>,
    /// 8–128 characters with an upper- and a lower-case letter, a digit and a special character.
    #[schema(value_type = String, required = true, min_length = 8, max_length = 128, pattern = "^(?=[\\s\\S]*[A-Z])(?=[\\s\\S]*[a-z])(?=[\\s\\S]*[0-9])(?=[\\s\\S]*[!@#$%^&*()_+=\\[\\]{};\':\"\\\\|,.<>/?-])[\\s\\S]{8,128}$")]
    pub password: Option<String>,
}

/// The three fields of setup and sign-up, present and valid, with the password hashed.
pub(super) async fn new_account(
    email: Option<String>,
    name: Option<String>,
    pw: Option<String>,
) -> Result<(String, String, String)> {
    let (Some(email), Some(name), Some(pw)) = (
        email.filter(|s| !s.trim().is_empty()),
        name.filter(|s| !s.trim().is_empty()),
        pw.filter(|s| !s.is_empty()),
    ) else {
        return Err(
            Error::bad_request("Email, name, and password are required").with_code("VALIDATION_ERROR")
        );
    };
    let email = users::validate_email("email", &email)?;
    let name = users::validate_name("name", &name)?;
    password::validate("password", &pw)?;
    Ok((email, name, pw))
}

/// First-run setup: creates the first user as admin and signs them in. Works exactly once.
pub async fn setup(db: &Db, config: &Config, origin: &Origin, body: SetupRequest) -> Result<NewSession> {
    ratelimit::hit(db, &ratelimit::SETUP_PER_IP, &origin.ip).await?;
    let (email, name, pw) = new_account(body.email, body.name, body.password).await?;
    let hash = password::hash(&pw).await?;

    let mut tx = db.begin().await?;
    // Taking the marker row's lock first serialises concurrent setups; the count after it sees
    // whatever an earlier setup committed.
    with_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO system_config (key, value, tenant_id) VALUES ('initialized', 'true', 'default') \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .execute(c).await?.rows_affected());
    let existing: i64 =
        with_tx!(&mut tx, c => sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(c).await?);
    if existing > 0 {
        return Err(Error::new(
            Kind::Forbidden,
            "ALREADY_INITIALIZED",
            "System already initialized",
        ));
    }
    let id = users::insert(
        &mut tx,
        &NewUser {
            email: &email,
            name: &name,
            password_hash: Some(&hash),
            is_admin: true,
            email_verified: true,
        },
    )
    .await?;
    tx.commit().await?;

    let user = users::by_id(db, &id).await?.ok_or_else(Error::internal)?;
    let session = open_session(db, config, user, origin).await?;
    audit::log(
        db,
        origin,
        Some(&id),
        "auth.setup_completed",
        "user",
        Some(&id),
        json!({"email": session.user.email}),
    )
    .await;
    Ok(session)
}

#[derive(Deserialize, ToSchema, Default)]
pub struct LoginRequest {
    #[schema(value_type = String, required = true, max_length = 255, pattern = "^[\\s\\u0085]*[^@\\s\\u0085]+@[^@\\s\\u0085.]+\\.[^@\\s\\u0085]*[^@\\s\\u0085.][\\s\\u0085]*$")]
    pub email: Option<String>,
    #[schema(value_type = String, required = true, min_length = 1)]
    pub password: Option<String>,
}

/// Password sign-in, rate limited per address and per account. With MFA enabled no session is
/// opened: the answer is a pending token for the MFA step.
pub async fn sign_in(
    db: &Db,
    config: &Config,
    mailer: &Mailer,
    origin: &Origin,
    body: LoginRequest,
) -> Result<SignIn> {
    let (Some(email), Some(pw)) = (
        body.email.filter(|s| !s.trim().is_empty()),
        body.password.filter(|s| !s.is_empty()),
    ) else {
        return Err(Error::bad_request("Email and password are required").with_code("VALIDATION_ERROR"));
    };
    let email = users::validate_email("email", &email)?;
    ratelimit::check(db, &ratelimit::AUTH_PER_IP, &origin.ip).await?;
    ratelimit::check(db, &ratelimit::LOGIN_PER_ACCOUNT, &email).await?;

    let user = users::by_email(db, &email).await?;
    let ok = pw.chars().count() <= password::MAX_LEN
        && password::verify(&pw, user.as_ref().and_then(|u| u.password_hash.as_deref())).await;
    let Some(user) = user.filter(|_| ok) else {
        ratelimit::record_failure(db, &ratelimit::AUTH_PER_IP, &origin.ip).await?;
        ratelimit::record_failure(db, &ratelimit::LOGIN_PER_ACCOUNT, &email).await?;
        audit::log(
            db,
            origin,
            None,
            "auth.login_failed",
            "user",
            None,
            json!({"email": email}),
        )
        .await;
        return Err(Error::new(
            Kind::Unauthorized,
            "INVALID_CREDENTIALS",
            "Invalid email or password",
        ));
    };
    may_sign_in(db, mailer, &user).await?;
    if user.password_hash.as_deref().is_some_and(password::needs_rehash) {
        // The original's bcrypt hashes become Argon2id at the first login.
        let new_hash = password::hash(&pw).await?;
        users::set_password_hash(db, &user.id, &new_hash).await?;
    }

    // A passkey is a second factor too: with one, the password alone does not sign in.
    if user.mfa_enabled() || users::has_passkeys(db, &user.id).await? {
        let (token, _) = jwt::sign_pending(&config.jwt_secret, &user.id);
        audit::log(
            db,
            origin,
            Some(&user.id),
            "mfa_login_stepup_required",
            "user",
            Some(&user.id),
            json!({}),
        )
        .await;
        return Ok(SignIn::MfaPending { token });
    }

    let session = open_session(db, config, user, origin).await?;
    audit::log(
        db,
        origin,
        Some(&session.user.id),
        "auth.login_succeeded",
        "user",
        Some(&session.user.id),
        json!({"method": "password"}),
    )
    .await;
    Ok(SignIn::Session(Box::new(session)))
}

/// Whether an account that proved who it is may have a session: not disabled, and its address
/// verified unless unverified sign-ins are allowed (password and passkey sign-in alike).
pub async fn may_sign_in(db: &Db, mailer: &Mailer, user: &User) -> Result<()> {
    if user.disabled {
        return Err(Error::new(
            Kind::Forbidden,
            "ACCOUNT_DISABLED",
            "This account has been disabled",
        ));
    }
    if !user.email_verified() && !settings::unverified_login_allowed(db, mailer.available(db).await?).await? {
        return Err(Error::new(
            Kind::Forbidden,
            "EMAIL_NOT_VERIFIED",
            "Please verify your email before logging in. Check your inbox for the verification link.",
        ));
    }
    Ok(())
}

/// Ends the caller's session, if they are signed in with one (it stops working at once, also
/// as a Bearer token).
pub async fn sign_out(db: &Db, origin: &Origin, caller: Option<&AuthUser>) -> Result<()> {
    let Some(a) = caller else {
        return Ok(());
    };
    if let Some(sid) = &a.session_id {
        sessions::delete(db, sid).await?;
        audit::log(
            db,
            origin,
            Some(a.id()),
            "auth.logout",
            "user",
            Some(a.id()),
            json!({}),
        )
        .await;
    }
    Ok(())
}

/// Ends every session of the user, on every device; returns how many.
pub async fn sign_out_everywhere(db: &Db, origin: &Origin, user_id: &str) -> Result<u64> {
    let n = sessions::delete_all_for_user(db, user_id).await?;
    audit::log(
        db,
        origin,
        Some(user_id),
        "auth.logout_all",
        "user",
        Some(user_id),
        json!({"sessions": n}),
    )
    .await;
    Ok(n)
}

#[derive(Serialize, ToSchema, sqlx::FromRow)]
pub struct ProviderInfo {
    pub id: String,
    pub provider_key: String,
    pub issuer_url: String,
    #[sqlx(skip)]
    pub callback_url: String,
}

/// Configured OIDC providers, for the sign-in page.
pub async fn providers(db: &Db, base_url: &str) -> Result<Vec<ProviderInfo>> {
    let mut list = with_db!(db, pool => sqlx::query_as::<_, ProviderInfo>(
        "SELECT id, provider_key, issuer_url FROM oidc_providers WHERE tenant_id = 'default' ORDER BY provider_key")
        .fetch_all(pool).await?);
    for p in &mut list {
        p.callback_url = format!("{base_url}/api/auth/{}/callback", p.provider_key);
    }
    Ok(list)
}
