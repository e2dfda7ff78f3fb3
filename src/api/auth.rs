//! `/api/auth/*`: first-run setup, sign-up, login, logout, the current user, OIDC provider list.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::Cookie;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::audit::{self, Origin};
use crate::auth::{jwt, password, ratelimit, sessions};
use crate::error::{Error, ErrorBody, Kind, Result};
use crate::http::auth::{authenticate, AuthUser, ClientOrigin};
use crate::http::cookies;
use crate::http::error::Json;
use crate::state::AppState;
use crate::users::{self, NewUser, SessionUser, User};
use crate::{settings, with_db, with_tx};

/// Creates a server-side session for `user` and returns the `token` cookie carrying its JWT.
pub async fn issue_session(state: &AppState, user: &User, origin: &Origin) -> Result<Cookie<'static>> {
    let ttl = state.config.jwt_expires_in;
    let sid = sessions::create(&state.db, &user.id, ttl, &origin.ip, origin.user_agent.as_deref()).await?;
    let token = jwt::sign_session(
        &state.config.jwt_secret,
        user,
        &sid,
        ttl.as_secs() as i64,
        user.email_verified(),
    );
    Ok(cookies::session(&state.config, token))
}

fn with_cookies(body: impl IntoResponse, set: &[Cookie<'static>]) -> Response {
    let mut res = body.into_response();
    for c in set {
        cookies::append(&mut res, c);
    }
    res
}

#[derive(Serialize, ToSchema)]
pub struct SetupStatus {
    pub initialized: bool,
}

/// Whether first-run setup has been done (any user exists).
#[utoipa::path(get, path = "/api/auth/setup/status", tag = "Auth", security(()),
    responses((status = 200, body = SetupStatus)))]
pub async fn setup_status(State(state): State<AppState>) -> Result<Json<SetupStatus>> {
    Ok(Json(SetupStatus {
        initialized: users::count(&state.db).await? > 0,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct SetupRequest {
    pub email: Option<String>,
    pub name: Option<String>,
    pub password: Option<String>,
}

/// First-run setup: creates the first user as admin and signs them in. Works exactly once.
#[utoipa::path(post, path = "/api/auth/setup", tag = "Auth", security(()), request_body = SetupRequest,
    responses(
        (status = 200, description = "Admin created and signed in", body = SessionUser),
        (status = 400, description = "Missing or invalid field", body = ErrorBody),
        (status = 403, description = "Already initialized", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn setup(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    Json(body): Json<SetupRequest>,
) -> Result<Response> {
    ratelimit::hit(&state.db, &ratelimit::SETUP_PER_IP, &origin.ip).await?;
    let (Some(email), Some(name), Some(pw)) = (
        body.email.filter(|s| !s.trim().is_empty()),
        body.name.filter(|s| !s.trim().is_empty()),
        body.password.filter(|s| !s.is_empty()),
    ) else {
        return Err(
            Error::bad_request("Email, name, and password are required").with_code("VALIDATION_ERROR")
        );
    };
    let email = users::validate_email("email", &email)?;
    let name = users::validate_name("name", &name)?;
    password::validate("password", &pw)?;
    let hash = password::hash(&pw).await?;

    let already = || {
        Error::new(
            Kind::Forbidden,
            "ALREADY_INITIALIZED",
            "System already initialized",
        )
    };
    let mut tx = state.db.begin().await?;
    // Taking the marker row's lock first serialises concurrent setups; the count after it sees
    // whatever an earlier setup committed.
    with_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO system_config (key, value, tenant_id) VALUES ('initialized', 'true', 'default') \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .execute(c).await?.rows_affected());
    let existing: i64 =
        with_tx!(&mut tx, c => sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(c).await?);
    if existing > 0 {
        return Err(already());
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

    let user = users::by_id(&state.db, &id).await?.ok_or_else(Error::internal)?;
    let cookie = issue_session(&state, &user, &origin).await?;
    audit::log(
        &state.db,
        &origin,
        Some(&user.id),
        "auth.setup_completed",
        "user",
        Some(&user.id),
        json!({"email": user.email}),
    )
    .await;
    let mut body = serde_json::to_value(user.session_body()).unwrap_or_default();
    if let Some(o) = body.as_object_mut() {
        o.remove("email_verified");
    }
    Ok(with_cookies(Json(body), &[cookie]))
}

#[derive(Deserialize, ToSchema)]
pub struct RegisterRequest {
    pub email: Option<String>,
    pub name: Option<String>,
    pub password: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MessageBody {
    pub message: String,
}

pub fn message(m: &str) -> Json<MessageBody> {
    Json(MessageBody {
        message: m.to_string(),
    })
}

/// Self sign-up, when registrations are enabled (`REGISTRATIONS_ENABLED` or the admin setting;
/// off by default). Never creates an admin.
#[utoipa::path(post, path = "/api/auth/register", tag = "Auth", security(()), request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created", body = MessageBody),
        (status = 400, description = "Missing or invalid field, or e-mail taken", body = ErrorBody),
        (status = 403, description = "Registrations are disabled", body = ErrorBody),
        (status = 429, description = "Too many attempts", body = ErrorBody),
    ))]
pub async fn register(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    Json(body): Json<RegisterRequest>,
) -> Result<Response> {
    if !settings::registrations_enabled(&state.db, state.config.registrations_enabled).await? {
        return Err(Error::new(
            Kind::Forbidden,
            "REGISTRATIONS_DISABLED",
            "Registrations are disabled",
        ));
    }
    ratelimit::check(&state.db, &ratelimit::AUTH_PER_IP, &origin.ip).await?;
    let result = async {
        let (Some(email), Some(name), Some(pw)) = (
            body.email.filter(|s| !s.trim().is_empty()),
            body.name.filter(|s| !s.trim().is_empty()),
            body.password.filter(|s| !s.is_empty()),
        ) else {
            return Err(
                Error::bad_request("Email, name, and password are required").with_code("VALIDATION_ERROR")
            );
        };
        let email = users::validate_email("email", &email)?;
        let name = users::validate_name("name", &name)?;
        password::validate("password", &pw)?;
        if users::by_email(&state.db, &email).await?.is_some() {
            return Err(Error::invalid("email", "Email already registered"));
        }
        let hash = password::hash(&pw).await?;
        let mut tx = state.db.begin().await?;
        // E-mail verification needs outgoing mail, which this server does not send yet: accounts
        // are created verified. This is where a verification step belongs.
        let id = users::insert(
            &mut tx,
            &NewUser {
                email: &email,
                name: &name,
                password_hash: Some(&hash),
                is_admin: false,
                email_verified: true,
            },
        )
        .await
        .map_err(|e| {
            if e.message == "User with this email already exists" {
                Error::invalid("email", "Email already registered")
            } else {
                e
            }
        })?;
        tx.commit().await?;
        Ok(id)
    }
    .await;
    match result {
        Ok(id) => {
            audit::log(
                &state.db,
                &origin,
                Some(&id),
                "auth.registered",
                "user",
                Some(&id),
                json!({}),
            )
            .await;
            Ok((
                StatusCode::CREATED,
                message("Account created. You can now sign in."),
            )
                .into_response())
        }
        Err(e) => {
            ratelimit::record_failure(&state.db, &ratelimit::AUTH_PER_IP, &origin.ip).await?;
            Err(e)
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub email: Option<String>,
    pub password: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MfaRequired {
    pub mfa_required: bool,
}

/// Password login. With MFA enabled no session is issued: the answer is `{"mfa_required": true}`
/// plus the short-lived `slugbase.mfa_pending` cookie for `POST /api/auth/mfa/verify`.
#[utoipa::path(post, path = "/api/auth/login", tag = "Auth", security(()), request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in (sets the `token` cookie), or `{mfa_required: true}`", body = SessionUser),
        (status = 400, description = "Missing or invalid e-mail or password", body = ErrorBody),
        (status = 401, description = "Invalid email or password", body = ErrorBody),
        (status = 403, description = "Account disabled", body = ErrorBody),
        (status = 429, description = "Too many failed attempts (per address or per account)", body = ErrorBody),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    Json(body): Json<LoginRequest>,
) -> Result<Response> {
    let (Some(email), Some(pw)) = (
        body.email.filter(|s| !s.trim().is_empty()),
        body.password.filter(|s| !s.is_empty()),
    ) else {
        return Err(Error::bad_request("Email and password are required").with_code("VALIDATION_ERROR"));
    };
    let email = users::validate_email("email", &email)?;
    ratelimit::check(&state.db, &ratelimit::AUTH_PER_IP, &origin.ip).await?;
    ratelimit::check(&state.db, &ratelimit::LOGIN_PER_ACCOUNT, &email).await?;

    let user = users::by_email(&state.db, &email).await?;
    let ok = pw.chars().count() <= password::MAX_LEN
        && password::verify(&pw, user.as_ref().and_then(|u| u.password_hash.as_deref())).await;
    let Some(user) = user.filter(|_| ok) else {
        ratelimit::record_failure(&state.db, &ratelimit::AUTH_PER_IP, &origin.ip).await?;
        ratelimit::record_failure(&state.db, &ratelimit::LOGIN_PER_ACCOUNT, &email).await?;
        audit::log(
            &state.db,
            &origin,
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
    if user.disabled {
        return Err(Error::new(
            Kind::Forbidden,
            "ACCOUNT_DISABLED",
            "This account has been disabled",
        ));
    }
    if user.password_hash.as_deref().is_some_and(password::needs_rehash) {
        // The original's bcrypt hashes become Argon2id at the first login.
        let new_hash = password::hash(&pw).await?;
        users::set_password_hash(&state.db, &user.id, &new_hash).await?;
    }

    if user.mfa_enabled() {
        let (pending, _) = jwt::sign_pending(&state.config.jwt_secret, &user.id);
        audit::log(
            &state.db,
            &origin,
            Some(&user.id),
            "mfa_login_stepup_required",
            "user",
            Some(&user.id),
            json!({}),
        )
        .await;
        return Ok(with_cookies(
            Json(MfaRequired { mfa_required: true }),
            &[
                cookies::removal(&state.config, cookies::SESSION),
                cookies::mfa_pending(&state.config, pending),
            ],
        ));
    }

    let cookie = issue_session(&state, &user, &origin).await?;
    audit::log(
        &state.db,
        &origin,
        Some(&user.id),
        "auth.login_succeeded",
        "user",
        Some(&user.id),
        json!({"method": "password"}),
    )
    .await;
    Ok(with_cookies(Json(user.session_body()), &[cookie]))
}

/// Ends the current session (it stops working at once, also as a Bearer token) and clears the
/// session and pending-MFA cookies. Always 200.
#[utoipa::path(post, path = "/api/auth/logout", tag = "Auth", security(()),
    responses((status = 200, description = "Logged out", body = MessageBody)))]
pub async fn logout(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    headers: axum::http::HeaderMap,
) -> Result<Response> {
    if let Some(a) = authenticate(&state, &headers).await? {
        if let Some(sid) = &a.session_id {
            sessions::delete(&state.db, sid).await?;
            audit::log(
                &state.db,
                &origin,
                Some(a.id()),
                "auth.logout",
                "user",
                Some(a.id()),
                json!({}),
            )
            .await;
        }
    }
    Ok(with_cookies(
        message("Logged out"),
        &[
            cookies::removal(&state.config, cookies::SESSION),
            cookies::removal(&state.config, cookies::MFA_PENDING),
        ],
    ))
}

/// Ends every session of the caller, on every device.
#[utoipa::path(post, path = "/api/auth/logout-all", tag = "Auth",
    responses(
        (status = 200, description = "All sessions ended", body = MessageBody),
        (status = 401, body = ErrorBody),
    ))]
pub async fn logout_all(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    auth: AuthUser,
) -> Result<Response> {
    let n = sessions::delete_all_for_user(&state.db, auth.id()).await?;
    audit::log(
        &state.db,
        &origin,
        Some(auth.id()),
        "auth.logout_all",
        "user",
        Some(auth.id()),
        json!({"sessions": n}),
    )
    .await;
    Ok(with_cookies(
        message("Logged out everywhere"),
        &[cookies::removal(&state.config, cookies::SESSION)],
    ))
}

/// The original's refresh route; self-hosted SlugBase has no refresh tokens.
#[utoipa::path(post, path = "/api/auth/refresh", tag = "Auth", security(()),
    responses((status = 404, description = "Not available on self-hosted", body = ErrorBody)))]
pub async fn refresh() -> Error {
    Error::not_found("Not found")
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub id: String,
    pub email: String,
    pub name: String,
    pub user_key: String,
    pub is_admin: bool,
    pub language: String,
    pub theme: String,
    pub ai_suggestions_enabled: bool,
    pub mfa_enabled: bool,
    pub has_password: bool,
    pub oidc_provider: Option<String>,
    pub oidc_sub: Option<String>,
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/auth/me", tag = "Auth",
    responses((status = 200, body = Me), (status = 401, description = "Not signed in", body = ErrorBody)))]
pub async fn me(auth: AuthUser) -> Json<Me> {
    let u = auth.user;
    Json(Me {
        is_admin: u.is_admin(),
        language: u.language(),
        theme: u.theme(),
        ai_suggestions_enabled: u.ai_suggestions_enabled.unwrap_or(true),
        mfa_enabled: u.mfa_enabled(),
        has_password: u.has_password(),
        id: u.id.clone(),
        email: u.email.clone(),
        name: u.name.clone(),
        user_key: u.user_key.clone(),
        oidc_provider: u.oidc_provider.clone(),
        oidc_sub: u.oidc_sub.clone(),
    })
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
#[utoipa::path(get, path = "/api/auth/providers", tag = "Auth", security(()),
    responses((status = 200, body = Vec<ProviderInfo>)))]
pub async fn providers(State(state): State<AppState>) -> Result<Json<Vec<ProviderInfo>>> {
    let mut list = with_db!(&state.db, pool => sqlx::query_as::<_, ProviderInfo>(
        "SELECT id, provider_key, issuer_url FROM oidc_providers WHERE tenant_id = 'default' ORDER BY provider_key")
        .fetch_all(pool).await?);
    for p in &mut list {
        p.callback_url = format!("{}/api/auth/{}/callback", state.config.base_url, p.provider_key);
    }
    Ok(Json(list))
}
