//! Setup, sign-in (with the MFA step), sign-up, sign-out and the password-reset and
//! e-mail-verification pages. Every form posts here and reuses the JSON API's handler, so the
//! rules (validation, rate limits, audit) are the API's.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use crate::api;
use crate::error::{Error, Kind, Result};
use crate::http::auth::ClientOrigin;
use crate::http::cookies;
use crate::http::error::Json;
use crate::state::AppState;
use crate::web::ctx::{
    carry_cookies, client_error, redirect, redirect_with, render, render_status, safe_return, Ctx, FormData,
    FormErrors, Web,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/setup", get(setup_page).post(setup_submit))
        .route("/login", get(login_page).post(login_submit))
        .route("/mfa", get(mfa_page).post(mfa_submit))
        .route("/signup", get(signup_page).post(signup_submit))
        .route("/logout", get(logout_page).post(logout_submit))
        .route("/reset-password", get(reset_page).post(reset_submit))
        .route("/password-reset", get(reset_page).post(reset_submit))
        .route("/verify-email", get(verify_page))
        .route("/verify-email-required", get(verify_required_page))
}

#[derive(Template)]
#[template(path = "auth/setup.html")]
struct SetupPage {
    ctx: Ctx,
    form: FormData,
    errors: FormErrors,
}

async fn initialized(state: &AppState) -> Result<bool> {
    Ok(crate::users::count(&state.db).await? > 0)
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
        api::auth::setup(
            State(web.state.clone()),
            ClientOrigin(web.origin.clone()),
            Json(api::auth::SetupRequest {
                email: form.opt("email"),
                name: form.opt("name"),
                password: form.opt("password"),
            }),
        )
        .await
    };
    match result {
        Ok(res) => {
            let mut out = redirect("/");
            carry_cookies(&res, &mut out);
            Ok(out)
        }
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
}

#[derive(Deserialize)]
struct RedirectQuery {
    redirect: Option<String>,
}

async fn login_view(
    web: Web,
    form: FormData,
    errors: FormErrors,
    to: String,
    status: StatusCode,
) -> Result<Response> {
    let providers = api::auth::providers(State(web.state.clone()))
        .await
        .map(|Json(list)| list.into_iter().map(|p| p.provider_key).collect())
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
        },
    )
}

async fn login_page(web: Web, Query(q): Query<RedirectQuery>) -> Result<Response> {
    let to = safe_return(q.redirect.as_deref().unwrap_or("/"));
    if web.auth.is_some() {
        return Ok(redirect(&to));
    }
    if !initialized(&web.state).await? {
        return Ok(redirect("/setup"));
    }
    login_view(
        web,
        FormData::default(),
        FormErrors::default(),
        to,
        StatusCode::OK,
    )
    .await
}

async fn login_submit(web: Web, form: FormData) -> Result<Response> {
    let to = safe_return(form.get("redirect"));
    let result = api::auth::login(
        State(web.state.clone()),
        ClientOrigin(web.origin.clone()),
        Json(api::auth::LoginRequest {
            email: form.opt("email"),
            password: form.opt("password"),
        }),
    )
    .await;
    match result {
        Ok(res) => {
            let pending = res
                .headers()
                .get_all(axum::http::header::SET_COOKIE)
                .iter()
                .any(|v| v.to_str().unwrap_or("").starts_with(cookies::MFA_PENDING));
            let mut out = if pending {
                redirect(&format!("/mfa?redirect={}", crate::web::ctx::enc(&to)))
            } else {
                redirect(&to)
            };
            carry_cookies(&res, &mut out);
            Ok(out)
        }
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
}

async fn mfa_page(web: Web, Query(q): Query<RedirectQuery>) -> Result<Response> {
    let to = safe_return(q.redirect.as_deref().unwrap_or("/"));
    if web.auth.is_some() {
        return Ok(redirect(&to));
    }
    render(&MfaPage {
        ctx: web.ctx,
        errors: FormErrors::default(),
        redirect: to,
    })
}

async fn mfa_submit(web: Web, headers: axum::http::HeaderMap, form: FormData) -> Result<Response> {
    let to = safe_return(form.get("redirect"));
    let result = api::mfa::verify(
        State(web.state.clone()),
        ClientOrigin(web.origin.clone()),
        headers,
        Json(api::mfa::CodeBody {
            code: form.opt("code").map(serde_json::Value::String),
            ..Default::default()
        }),
    )
    .await;
    match result {
        Ok(res) if res.status().is_success() => {
            let mut out = redirect(&to);
            carry_cookies(&res, &mut out);
            Ok(out)
        }
        Ok(res) => {
            // The pending login is gone (expired or the account was disabled): start again.
            let mut out = redirect_with("/login", "error", web.ctx.t("mfa.expired"));
            carry_cookies(&res, &mut out);
            Ok(out)
        }
        Err(e) if e.code == "MFA_PENDING_INVALID" => {
            Ok(redirect_with("/login", "error", web.ctx.t("mfa.expired")))
        }
        Err(e) => {
            let e = client_error(e)?;
            let errors = FormErrors::from_error(web.ctx.tr, &e);
            let status = status_of(&e);
            render_status(
                status,
                &MfaPage {
                    ctx: web.ctx,
                    errors,
                    redirect: to,
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
        api::auth::register(
            State(web.state.clone()),
            ClientOrigin(web.origin.clone()),
            Json(api::auth::RegisterRequest {
                email: form.opt("email"),
                name: form.opt("name"),
                password: form.opt("password"),
            }),
        )
        .await
    };
    match result {
        Ok(_) => Ok(redirect_with("/login", "ok", web.ctx.t("signup.done"))),
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

async fn logout_submit(web: Web, headers: axum::http::HeaderMap) -> Result<Response> {
    let res = api::auth::logout(
        State(web.state.clone()),
        ClientOrigin(web.origin.clone()),
        headers,
    )
    .await?;
    let mut out = redirect_with("/login", "ok", web.ctx.t("logout.done"));
    carry_cookies(&res, &mut out);
    Ok(out)
}

#[derive(Template)]
#[template(path = "auth/notice.html")]
struct NoticePage {
    ctx: Ctx,
    title: &'static str,
    body: &'static str,
    show_email_form: bool,
    action: &'static str,
    submit: &'static str,
    form: FormData,
    errors: FormErrors,
}

fn notice(ctx: Ctx, title: &'static str, body: &'static str, show_email_form: bool) -> NoticePage {
    NoticePage {
        ctx,
        title,
        body,
        show_email_form,
        action: "/reset-password",
        submit: "reset.submit",
        form: FormData::default(),
        errors: FormErrors::default(),
    }
}

async fn reset_page(web: Web) -> Result<Response> {
    render(&notice(web.ctx, "reset.title", "reset.intro", true))
}

/// Password reset needs outgoing mail, which this server does not send yet: the page says so
/// instead of pretending a message is on its way.
async fn reset_submit(web: Web, form: FormData) -> Result<Response> {
    let mut p = notice(web.ctx, "reset.title", "reset.intro", true);
    p.errors = FormErrors::general(p.ctx.t("reset.unavailable").to_string());
    p.form = form;
    render_status(StatusCode::SERVICE_UNAVAILABLE, &p)
}

async fn verify_page(web: Web) -> Result<Response> {
    render(&notice(web.ctx, "verify.title", "verify.unavailable", false))
}

async fn verify_required_page(web: Web) -> Result<Response> {
    render(&notice(
        web.ctx,
        "verify.required_title",
        "verify.required_body",
        false,
    ))
}
