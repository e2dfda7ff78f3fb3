//! The pages behind mailed links: asking for a password reset and choosing the new password
//! (`/reset-password`, also `/password-reset`; invites use them too), verifying a new account's
//! address or a changed one (`/verify-email`), and asking for a new sign-up link
//! (`/verify-email-required`). Opening a link never changes anything: the page asks for a click
//! (mail scanners follow links). The forms call the same use cases as the JSON API.

use askama::Template;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use crate::account::email::{self, ConfirmInput};
use crate::auth::reset::{self, ResetInput, ResetRequest};
use crate::auth::signup::{self, ResendInput, ResendRequest, TokenInput};
use crate::error::{Error, Kind, Result};
use crate::state::AppState;
use crate::web::ctx::{client_error, redirect_with, render_status, Ctx, FormData, FormErrors, Web};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/reset-password", get(reset_page).post(reset_submit))
        .route("/password-reset", get(reset_page).post(reset_submit))
        .route("/verify-email", get(verify_page).post(verify_submit))
        .route("/verify-email/resend", axum::routing::post(verify_resend))
        .route("/verify-email-required", get(required_page).post(required_submit))
}

/// What the page shows below its title.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// An e-mail field (`action` says where it goes).
    Email,
    /// New password and its confirmation, with the token.
    Password,
    /// One button that uses the token (`kind`: `signup` or `email`).
    Confirm,
    /// One button that asks for a new sign-up link with the (expired) token.
    Resend,
    /// Nothing to do here.
    Message,
}

#[derive(Template)]
#[template(path = "auth/recovery.html")]
struct RecoveryPage {
    ctx: Ctx,
    title: &'static str,
    intro: String,
    notice: Option<String>,
    mode: Mode,
    action: &'static str,
    submit: &'static str,
    token: String,
    kind: &'static str,
    form: FormData,
    errors: FormErrors,
}

impl RecoveryPage {
    fn new(ctx: Ctx, title: &'static str, mode: Mode) -> RecoveryPage {
        RecoveryPage {
            ctx,
            title,
            intro: String::new(),
            notice: None,
            mode,
            action: "",
            submit: "",
            token: String::new(),
            kind: "",
            form: FormData::default(),
            errors: FormErrors::default(),
        }
    }

    fn is(&self, mode: Mode) -> bool {
        self.mode == mode
    }

    fn show(self, status: StatusCode) -> Result<Response> {
        render_status(status, &self)
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
    email: Option<String>,
}

fn request_form(ctx: Ctx) -> RecoveryPage {
    let mut p = RecoveryPage::new(ctx, "reset.title", Mode::Email);
    p.intro = p.ctx.t("reset.intro").to_string();
    p.action = "/reset-password";
    p.submit = "reset.submit";
    p
}

fn password_form(ctx: Ctx, token: String) -> RecoveryPage {
    let mut p = RecoveryPage::new(ctx, "reset.set_title", Mode::Password);
    p.intro = p.ctx.t("reset.set_intro").to_string();
    p.action = "/reset-password";
    p.submit = "reset.set_submit";
    p.token = token;
    p
}

async fn reset_page(web: Web, Query(q): Query<TokenQuery>) -> Result<Response> {
    let Some(token) = q.token.filter(|t| !t.trim().is_empty()) else {
        return request_form(web.ctx).show(StatusCode::OK);
    };
    match reset::check(&web.state.db, &web.origin, Some(&token)).await {
        Ok(()) => password_form(web.ctx, token).show(StatusCode::OK),
        Err(e) => {
            let e = client_error(e)?;
            let mut p = request_form(web.ctx);
            p.errors = FormErrors::general(if e.kind == Kind::BadRequest {
                p.ctx.t("reset.invalid").to_string()
            } else {
                crate::web::ctx::error_message(p.ctx.tr, &e)
            });
            p.show(crate::http::error::status(e.kind))
        }
    }
}

async fn reset_submit(web: Web, form: FormData) -> Result<Response> {
    let (db, mailer) = (&web.state.db, &web.state.mailer);
    if let Some(token) = form.opt("token") {
        let result = if form.get("password") != form.get("confirm_password") {
            Err(Error::invalid(
                "confirm_password",
                web.ctx.t("field.passwords_differ").to_string(),
            ))
        } else {
            let body = ResetInput {
                token: Some(token.clone()),
                password: form.opt("password"),
            };
            reset::reset(db, mailer, &web.origin, body).await
        };
        return match result {
            Ok(()) => Ok(redirect_with("/login", "ok", web.ctx.t("reset.done"))),
            Err(e) => {
                let e = client_error(e)?;
                let status = crate::http::error::status(e.kind);
                if e.code == "INVALID_TOKEN" {
                    let mut p = request_form(web.ctx);
                    p.errors = FormErrors::general(p.ctx.t("reset.invalid").to_string());
                    return p.show(status);
                }
                let mut p = password_form(web.ctx, token);
                p.errors = FormErrors::from_error(p.ctx.tr, &e);
                p.show(status)
            }
        };
    }
    let body = ResetRequest {
        email: form.opt("email"),
    };
    let result = reset::request(db, mailer, &web.origin, body).await;
    let mut p = request_form(web.ctx);
    match result {
        Ok(()) => {
            p.notice = Some(p.ctx.t("reset.sent").to_string());
            p.form = form;
            p.show(StatusCode::OK)
        }
        Err(e) => {
            let e = client_error(e)?;
            p.errors = FormErrors::from_error(p.ctx.tr, &e);
            p.form = form;
            p.show(crate::http::error::status(e.kind))
        }
    }
}

fn message_page(ctx: Ctx, title: &'static str, text_key: &str) -> RecoveryPage {
    let mut p = RecoveryPage::new(ctx, title, Mode::Message);
    p.intro = p.ctx.t(text_key).to_string();
    p
}

async fn verify_page(web: Web, Query(q): Query<TokenQuery>) -> Result<Response> {
    let Some(token) = q.token.filter(|t| !t.trim().is_empty()) else {
        return message_page(web.ctx, "verify.title", "verify.no_token").show(StatusCode::OK);
    };
    // A sign-up link or an e-mail-change link: both arrive at this page.
    let status = signup::status(&web.state.db, &web.origin, Some(&token)).await?;
    let mut p = match status.status {
        "valid" => {
            let mut p = RecoveryPage::new(web.ctx, "verify.title", Mode::Confirm);
            p.intro = p.ctx.tf("verify.signup_intro", status.email.unwrap_or_default());
            p.kind = "signup";
            p.submit = "verify.signup_submit";
            p
        }
        "used" => message_page(web.ctx, "verify.title", "verify.used"),
        "expired" => {
            let mut p = RecoveryPage::new(web.ctx, "verify.title", Mode::Resend);
            p.intro = p.ctx.t("verify.expired").to_string();
            p.submit = "verify.resend";
            p
        }
        _ => match email::check(&web.state.db, &web.origin, Some(&token)).await {
            Ok(new_email) => {
                let mut p = RecoveryPage::new(web.ctx, "verify.change_title", Mode::Confirm);
                p.intro = p.ctx.tf("verify.change_intro", new_email);
                p.kind = "email";
                p.submit = "verify.change_submit";
                p
            }
            Err(e) if e.code == "TOKEN_EXPIRED" => message_page(web.ctx, "verify.title", "verify.expired"),
            Err(e) if e.kind == Kind::BadRequest => message_page(web.ctx, "verify.title", "verify.invalid"),
            Err(e) => return Err(e),
        },
    };
    p.token = token;
    p.show(StatusCode::OK)
}

async fn verify_submit(web: Web, form: FormData) -> Result<Response> {
    let token = form.opt("token");
    if form.get("kind") == "email" {
        let body = ConfirmInput { token };
        return match email::confirm(&web.state.db, &web.state.mailer, &web.origin, body).await {
            Ok(new_email) => {
                let to = if web.auth.is_some() { "/profile" } else { "/login" };
                Ok(redirect_with(to, "ok", &web.ctx.tf("verify.changed", new_email)))
            }
            Err(e) => refused(web, e),
        };
    }
    match signup::verify(&web.state.db, &web.origin, TokenInput { token }).await {
        Ok(()) => Ok(redirect_with("/login", "ok", web.ctx.t("verify.done"))),
        Err(e) => refused(web, e),
    }
}

/// A refused link: what happened, in the page's words.
fn refused(web: Web, e: Error) -> Result<Response> {
    let e = client_error(e)?;
    let key = match e.code.as_ref() {
        "TOKEN_USED" => "verify.used",
        "TOKEN_EXPIRED" => "verify.expired",
        _ => "verify.invalid",
    };
    let mut p = message_page(web.ctx, "verify.title", key);
    if e.kind != Kind::BadRequest {
        p.intro = crate::web::ctx::error_message(p.ctx.tr, &e);
    }
    p.show(crate::http::error::status(e.kind))
}

async fn verify_resend(web: Web, form: FormData) -> Result<Response> {
    let body = ResendInput {
        token: form.opt("token"),
        new_email: None,
        password: None,
    };
    match signup::resend(&web.state.db, &web.state.mailer, &web.origin, body).await {
        Ok(()) => message_page(web.ctx, "verify.title", "verify.resent").show(StatusCode::OK),
        Err(e) => refused(web, e),
    }
}

fn required_form(ctx: Ctx, email: String) -> RecoveryPage {
    let mut p = RecoveryPage::new(ctx, "verify.required_title", Mode::Email);
    p.intro = p.ctx.t("verify.required_body").to_string();
    p.action = "/verify-email-required";
    p.submit = "verify.resend";
    p.form = FormData(vec![("email".into(), email)]);
    p
}

async fn required_page(web: Web, Query(q): Query<TokenQuery>) -> Result<Response> {
    required_form(web.ctx, q.email.unwrap_or_default()).show(StatusCode::OK)
}

async fn required_submit(web: Web, form: FormData) -> Result<Response> {
    let body = ResendRequest {
        email: form.opt("email"),
        new_email: None,
    };
    let result = signup::request_resend(&web.state.db, &web.state.mailer, &web.origin, body).await;
    let mut p = required_form(web.ctx, form.get("email").to_string());
    match result {
        Ok(()) => {
            p.notice = Some(p.ctx.t("verify.required_sent").to_string());
            p.show(StatusCode::OK)
        }
        Err(e) => {
            let e = client_error(e)?;
            p.errors = FormErrors::from_error(p.ctx.tr, &e);
            p.show(crate::http::error::status(e.kind))
        }
    }
}
