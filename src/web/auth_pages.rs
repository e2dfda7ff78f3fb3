//! Setup, sign-in (with the MFA step), sign-up and sign-out (the pages behind mailed links are
//! [`super::recovery_pages`]). Every form posts here and calls the same use case as the JSON
//! API, so the rules (validation, rate limits, audit) are one.

use askama::Template;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use crate::auth::{self, LoginRequest, NewSession, RegisterRequest, Registered, SetupRequest, SignIn};
use crate::error::{Error, Kind, Result};
use crate::http::cookies;
use crate::mfa::{self, CodeBody};
use crate::passkeys;
use crate::state::AppState;
use crate::web::ctx::{
    client_error, redirect, redirect_with, render, render_status, safe_return, set_cookie, Ctx, FormData,
    FormErrors, Web,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/setup", get(setup_page).post(setup_submit))
        .route("/login", get(login_page).post(login_submit))
        .route("/mfa", get(mfa_page).post(mfa_submit))
        .route("/signup", get(signup_page).post(signup_submit))
        .route("/logout", get(logout_page).post(logout_submit))
}

#[derive(Template)]
#[template(path = "auth/setup.html")]
struct SetupPage {
    ctx: Ctx,
    form: FormData,
    errors: FormErrors,
}

async fn initialized(state: &AppState) -> Result<bool> {
    auth::is_initialized(&state.db).await
}

/// A redirect that also signs the browser in to the new session.
fn signed_in(state: &AppState, to: &str, session: NewSession) -> Response {
    let mut out = redirect(to);
    set_cookie(&mut out, cookies::session(&state.config, session.token));
    out
}

async fn setup_page(web: Web) -> Result<Response> {
    if initialized(&web.state).await? {
        return Ok(redirect(if web.auth.is_some() { "/" } else { "/login" }));
    }
    render(&SetupPage {
        ctx: web.ctx,
        form: FormData::default(),
        errors: FormErrors::default(),
    })
}

fn status_of(e: &Error) -> StatusCode {
    if e.kind == Kind::Unauthorized {
        // A page answer: the form is shown again.
        StatusCode::OK
    } else {
        crate::http::error::status(e.kind)
    }
}

async fn setup_submit(web: Web, form: FormData) -> Result<Response> {
    if initialized(&web.state).await? {
        return Ok(redirect("/login"));
    }
    let mismatch = form.get("password") != form.get("confirm_password");
    let result = if mismatch {
        Err(Error::invalid(
            "confirm_password",
            web.ctx.t("field.passwords_differ").to_string(),
        ))
    } else {
        let body = SetupRequest {
            email: form.opt("email"),
            name: form.opt("name"),
            password: form.opt("password"),
        };
        auth::setup(&web.state.db, &web.state.config, &web.origin, body).await
    };
    match result {
        Ok(session) => Ok(signed_in(&web.state, "/", session)),
        Err(e) => {
            let e = client_error(e)?;
            let status = status_of(&e);
            let errors = FormErrors::from_error(web.ctx.tr, &e);
            render_status(
                status,
                &SetupPage {
                    ctx: web.ctx,
                    form,
                    errors,
                },
            )
        }
    }
}

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    ctx: Ctx,
    form: FormData,
    errors: FormErrors,
    redirect: String,
    providers: Vec<String>,
    signup: bool,
    /// Passkeys are on (`BASE_URL` names a host): offer "Sign in with a passkey".
    passkeys: bool,
}

#[derive(Deserialize)]
struct RedirectQuery {
    redirect: Option<String>,
}

#[derive(Deserialize)]
struct LoginQuery {
    redirect: Option<String>,
    /// Why a sign-in through an identity provider failed (`auth_failed`, …).
    error: Option<String>,
}

/// The sign-in page's message for an identity provider's failure code.
fn oidc_error(ctx: &crate::web::ctx::Ctx, code: &str) -> String {
    let code = if crate::oidc::Failure::CODES.contains(&code) {
        code
    } else {
        "auth_failed"
    };
    ctx.t(&format!("login.oidc_error.{code}")).to_string()
}

async fn login_view(
    web: Web,
    form: FormData,
    errors: FormErrors,
    to: String,
    status: StatusCode,
) -> Result<Response> {
    let providers = auth::providers(&web.state.db, &web.state.config.base_url)
        .await
        .map(|list| list.into_iter().map(|p| p.provider_key).collect())
        .unwrap_or_default();
    let signup =
        crate::settings::registrations_enabled(&web.state.db, web.state.config.registrations_enabled).await?;
    render_status(
        status,
        &LoginPage {
            ctx: web.ctx,
            form,
            errors,
            redirect: to,
            providers,
            signup,
            passkeys: web.state.passkeys.available(),
        },
    )
}

async fn login_page(web: Web, Query(q): Query<LoginQuery>) -> Result<Response> {
    let to = safe_return(q.redirect.as_deref().unwrap_or("/"));
    if web.auth.is_some() {
        return Ok(redirect(&to));
    }
    if !initialized(&web.state).await? {
        return Ok(redirect("/setup"));
    }
    let errors = match q.error.as_deref().filter(|e| !e.is_empty()) {
        Some(code) => FormErrors::general(oidc_error(&web.ctx, code)),
        None => FormErrors::default(),
    };
    login_view(web, FormData::default(), errors, to, StatusCode::OK).await
}

async fn login_submit(web: Web, form: FormData) -> Result<Response> {
    let to = safe_return(form.get("redirect"));
    let body = LoginRequest {
        email: form.opt("email"),
        password: form.opt("password"),
    };
    let email = form.get("email").trim().to_string();
    let state = &web.state;
    match auth::sign_in(&state.db, &state.config, &state.mailer, &web.origin, body).await {
        Ok(SignIn::Session(session)) => Ok(signed_in(&web.state, &to, *session)),
        Ok(SignIn::MfaPending { token }) => {
            let mut out = redirect(&format!("/mfa?redirect={}", crate::web::ctx::enc(&to)));
            set_cookie(&mut out, cookies::removal(&web.state.config, cookies::SESSION));
            set_cookie(&mut out, cookies::mfa_pending(&web.state.config, token));
            Ok(out)
        }
        Err(e) if e.code == "EMAIL_NOT_VERIFIED" => Ok(redirect(&format!(
            "/verify-email-required?email={}",
            crate::web::ctx::enc(&email)
        ))),
        Err(e) => {
            let e = client_error(e)?;
            let errors = FormErrors::from_error(web.ctx.tr, &e);
            let status = status_of(&e);
            let form = FormData(form.0.into_iter().filter(|(k, _)| k != "password").collect());
            login_view(web, form, errors, to, status).await
        }
    }
}

#[derive(Template)]
#[template(path = "auth/mfa.html")]
struct MfaPage {
    ctx: Ctx,
    errors: FormErrors,
    redirect: String,
    /// The account has TOTP (the code form), a passkey (the passkey button), or both.
    totp: bool,
    passkey: bool,
}

async fn mfa_page(
    web: Web,
    headers: axum::http::HeaderMap,
    Query(q): Query<RedirectQuery>,
) -> Result<Response> {
    let to = safe_return(q.redirect.as_deref().unwrap_or("/"));
    if web.auth.is_some() {
        return Ok(redirect(&to));
    }
    let pending = cookies::value(&headers, cookies::MFA_PENDING);
    let factors = passkeys::second_factors(&web.state.db, &web.state.config, pending.as_deref()).await?;
    render(&MfaPage {
        ctx: web.ctx,
        errors: FormErrors::default(),
        redirect: to,
        totp: factors.totp,
        passkey: factors.passkey && web.state.passkeys.available(),
    })
}

async fn mfa_submit(web: Web, headers: axum::http::HeaderMap, form: FormData) -> Result<Response> {
    let to = safe_return(form.get("redirect"));
    let pending = cookies::value(&headers, cookies::MFA_PENDING);
    let pending = pending.as_deref();
    let body = CodeBody {
        code: form.opt("code").map(serde_json::Value::String),
        ..Default::default()
    };
    let state = &web.state;
    match mfa::verify_sign_in(
        &state.db,
        &state.config,
        &state.cipher,
        &web.origin,
        pending,
        body,
    )
    .await
    {
        Ok(session) => {
            let mut out = signed_in(state, &to, session);
            set_cookie(&mut out, cookies::removal(&state.config, cookies::MFA_PENDING));
            Ok(out)
        }
        Err(e) if e.code == "MFA_PENDING_INVALID" => {
            // The pending sign-in is gone (expired or the account was disabled): start again.
            let mut out = redirect_with("/login", "error", web.ctx.t("mfa.expired"));
            if pending.is_some() {
                set_cookie(&mut out, cookies::removal(&state.config, cookies::MFA_PENDING));
            }
            Ok(out)
        }
        Err(e) => {
            let e = client_error(e)?;
            let errors = FormErrors::from_error(web.ctx.tr, &e);
            let status = status_of(&e);
            let factors = passkeys::second_factors(&state.db, &state.config, pending).await?;
            let passkey = factors.passkey && state.passkeys.available();
            render_status(
                status,
                &MfaPage {
                    ctx: web.ctx,
                    errors,
                    redirect: to,
                    totp: factors.totp,
                    passkey,
                },
            )
        }
    }
}

#[derive(Template)]
#[template(path = "auth/signup.html")]
struct SignupPage {
    ctx: Ctx,
    form: FormData,
    errors: FormErrors,
    enabled: bool,
}

async fn signup_page(web: Web) -> Result<Response> {
    if web.auth.is_some() {
        return Ok(redirect("/"));
    }
    let enabled =
        crate::settings::registrations_enabled(&web.state.db, web.state.config.registrations_enabled).await?;
    render(&SignupPage {
        ctx: web.ctx,
        form: FormData::default(),
        errors: FormErrors::default(),
        enabled,
    })
}

async fn signup_submit(web: Web, form: FormData) -> Result<Response> {
    let result = if form.get("password") != form.get("confirm_password") {
        Err(Error::invalid(
            "confirm_password",
            web.ctx.t("field.passwords_differ").to_string(),
        ))
    } else {
        let body = RegisterRequest {
            email: form.opt("email"),
            name: form.opt("name"),
            password: form.opt("password"),
            language: Some(web.ctx.lang().to_string()),
        };
        let state = &web.state;
        auth::register(&state.db, &state.config, &state.mailer, &web.origin, body).await
    };
    match result {
        Ok(Registered::Ready) => Ok(redirect_with("/login", "ok", web.ctx.t("signup.done"))),
        Ok(Registered::VerifyEmail) => Ok(redirect_with("/login", "ok", web.ctx.t("signup.check_email"))),
        Err(e) => {
            let e = client_error(e)?;
            let errors = FormErrors::from_error(web.ctx.tr, &e);
            let enabled = e.code != "REGISTRATIONS_DISABLED";
            render_status(
                crate::http::error::status(e.kind),
                &SignupPage {
                    ctx: web.ctx,
                    form,
                    errors,
                    enabled,
                },
            )
        }
    }
}

#[derive(Template)]
#[template(path = "auth/logout.html")]
struct LogoutPage {
    ctx: Ctx,
}

async fn logout_page(web: Web) -> Result<Response> {
    if web.auth.is_none() {
        return Ok(redirect("/login"));
    }
    render(&LogoutPage { ctx: web.ctx })
}

async fn logout_submit(web: Web) -> Result<Response> {
    auth::sign_out(&web.state.db, &web.origin, web.auth.as_ref()).await?;
    let mut out = redirect_with("/login", "ok", web.ctx.t("logout.done"));
    set_cookie(&mut out, cookies::removal(&web.state.config, cookies::SESSION));
    set_cookie(
        &mut out,
        cookies::removal(&web.state.config, cookies::MFA_PENDING),
    );
    Ok(out)
}
