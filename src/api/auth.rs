//! `/api/auth/*`: first-run setup, sign-up, login, logout, the current user, OIDC provider list.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::Cookie;
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::recovery::{shaped, TokenQuery};
use crate::auth::signup::{self, ResendInput, ResendRequest, SignupStatus, TokenInput};
use crate::auth::{
    self, LoginRequest, NewSession, ProviderInfo, RegisterRequest, Registered, SetupRequest, SignIn,
};
use crate::error::{Error, ErrorBody, Result};
use crate::http::auth::{authenticate, AuthUser, ClientOrigin};
use crate::http::cookies;
use crate::http::error::{Json, Query};
use crate::state::AppState;
use crate::users::SessionUser;

/// The `token` cookie of a new session.
pub fn session_cookie(state: &AppState, session: &NewSession) -> Cookie<'static> {
    cookies::session(&state.config, session.token.clone())
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
        initialized: auth::is_initialized(&state.db).await?,
    }))
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
    let session = auth::setup(&state.db, &state.config, &origin, body).await?;
    let mut body = serde_json::to_value(session.user.session_body()).unwrap_or_default();
    if let Some(o) = body.as_object_mut() {
        o.remove("email_verified");
    }
    Ok(with_cookies(Json(body), &[session_cookie(&state, &session)]))
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
/// off by default). Never creates an admin. With outgoing mail the account must verify its
/// address first ("Check your email to verify your account"), and an address that already has an
/// account gets the same answer; without mail the account is ready at once.
#[utoipa::path(post, path = "/api/auth/register", tag = "Auth", security(()), request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created (or, with mail, a verification link sent)", body = MessageBody),
        (status = 400, description = "Missing or invalid field, or e-mail taken", body = ErrorBody),
        (status = 403, description = "Registrations are disabled", body = ErrorBody),
        (status = 429, description = "Too many attempts", body = ErrorBody),
    ))]
pub async fn register(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    Json(body): Json<RegisterRequest>,
) -> Result<Response> {
    let done = auth::register(&state.db, &state.config, &state.mailer, &origin, body).await?;
    let text = match done {
        Registered::Ready => "Account created. You can now sign in.",
        Registered::VerifyEmail => "Check your email to verify your account",
    };
    Ok((StatusCode::CREATED, message(text)).into_response())
}

/// Verifies a new account's address with the token from its sign-up mail (once).
#[utoipa::path(post, path = "/api/auth/verify-signup", tag = "Auth", security(()), request_body = TokenInput,
    responses(
        (status = 200, body = MessageBody),
        (status = 400, description = "Token missing, unknown, used or expired", body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
pub async fn verify_signup(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    Json(body): Json<TokenInput>,
) -> Result<Json<MessageBody>> {
    signup::verify(&state.db, &origin, body).await?;
    Ok(message("Email verified. You can log in."))
}

/// What a sign-up link is worth: `{status: invalid|used|expired|valid, email?}`.
#[utoipa::path(get, path = "/api/auth/signup-verification/status", tag = "Auth", security(()), params(TokenQuery),
    responses(
        (status = 200, body = SignupStatus),
        (status = 400, description = "`{status: \"invalid\"}`: no token", body = SignupStatus),
        (status = 429, body = ErrorBody),
    ))]
pub async fn signup_status(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    Query(q): Query<TokenQuery>,
) -> Response {
    match signup::status(&state.db, &origin, q.token.as_deref()).await {
        Ok(s) => Json(s).into_response(),
        Err(e) if e.kind == crate::error::Kind::TooMany => e.into_response(),
        Err(e) => shaped(e, serde_json::json!({"status": "invalid"})),
    }
}

/// A new sign-up link for the account of a (possibly expired) link. A different `newEmail` moves
/// the unverified account there only with the account's `password`.
#[utoipa::path(post, path = "/api/auth/resend-signup-verification", tag = "Auth", security(()), request_body = ResendInput,
    responses(
        (status = 200, body = MessageBody),
        (status = 400, description = "Token missing, invalid or used; bad address; password missing or wrong", body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
pub async fn resend_signup(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    Json(body): Json<ResendInput>,
) -> Result<Json<MessageBody>> {
    signup::resend(&state.db, &state.mailer, &origin, body).await?;
    Ok(message("Verification email sent"))
}

#[derive(Serialize, ToSchema)]
pub struct ResendAnswer {
    pub message: String,
    /// Always false: an address is never changed by this route.
    #[serde(rename = "emailChanged")]
    pub email_changed: bool,
}

/// A new sign-up link by address. The same answer, in the same time, whether or not an unverified
/// account has that address.
#[utoipa::path(post, path = "/api/auth/request-signup-resend", tag = "Auth", security(()), request_body = ResendRequest,
    responses(
        (status = 200, body = ResendAnswer),
        (status = 400, description = "Email missing or invalid", body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
pub async fn request_signup_resend(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    Json(body): Json<ResendRequest>,
) -> Result<Json<ResendAnswer>> {
    signup::request_resend(&state.db, &state.mailer, &origin, body).await?;
    Ok(Json(ResendAnswer {
        message: signup::RESEND_ANSWER.into(),
        email_changed: false,
    }))
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
        (status = 403, description = "Account disabled, or its address not verified yet (`EMAIL_NOT_VERIFIED`)", body = ErrorBody),
        (status = 429, description = "Too many failed attempts (per address or per account)", body = ErrorBody),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    Json(body): Json<LoginRequest>,
) -> Result<Response> {
    Ok(
        match auth::sign_in(&state.db, &state.config, &state.mailer, &origin, body).await? {
            SignIn::MfaPending { token } => with_cookies(
                Json(MfaRequired { mfa_required: true }),
                &[
                    cookies::removal(&state.config, cookies::SESSION),
                    cookies::mfa_pending(&state.config, token),
                ],
            ),
            SignIn::Session(session) => with_cookies(
                Json(session.user.session_body()),
                &[session_cookie(&state, &session)],
            ),
        },
    )
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
    let caller = authenticate(&state, &headers).await?;
    auth::sign_out(&state.db, &origin, caller.as_ref()).await?;
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
    auth::sign_out_everywhere(&state.db, &origin, auth.id()).await?;
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

/// Configured OIDC providers, for the sign-in page.
#[utoipa::path(get, path = "/api/auth/providers", tag = "Auth", security(()),
    responses((status = 200, body = Vec<ProviderInfo>)))]
pub async fn providers(State(state): State<AppState>) -> Result<Json<Vec<ProviderInfo>>> {
    Ok(Json(auth::providers(&state.db, &state.config.base_url).await?))
}
