//! `/admin/settings`: instance settings, outgoing mail (with a test message) and what the server
//! runs with.

use askama::Template;
use axum::response::Response;

use super::flash_result;
use crate::admin::settings::{self, SettingInput};
use crate::admin::smtp::{self, SmtpInput, SmtpTestInput, SmtpView};
use crate::ai::{AiInput, AiView};
use crate::error::Result;
use crate::web::ctx::{client_error, redirect_with, render, Admin, Ctx, FormData};

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage {
    ctx: Ctx,
    registrations: bool,
    /// Users with MFA give a code after signing in through an identity provider.
    oidc_require_mfa: bool,
    /// `REGISTRATIONS_ENABLED` from the environment, which wins over the setting.
    env_registrations: Option<bool>,
    unverified_login: bool,
    smtp: SmtpView,
    ai: AiView,
    /// The endpoint's models, after "List models".
    ai_models: Option<Vec<String>>,
    /// The signed-in admin's address, proposed for the test message.
    my_email: String,
    database: &'static str,
    api_docs: bool,
    commit: Option<String>,
}

impl SettingsPage {
    fn tls_selected(&self, mode: &str) -> bool {
        self.smtp.smtp_tls_mode == mode
    }

    /// The name of a TLS mode in the page's language.
    fn tls_label(&self, mode: &str) -> &str {
        match mode {
            "tls" => self.ctx.t("admin.smtp.tls_tls"),
            "opportunistic" => self.ctx.t("admin.smtp.tls_opportunistic"),
            "none" => self.ctx.t("admin.smtp.tls_none"),
            _ => self.ctx.t("admin.smtp.tls_starttls"),
        }
    }
}

pub(super) async fn settings_page(Admin(s): Admin) -> Result<Response> {
    page(s, None).await
}

async fn page(s: crate::web::ctx::Signed, ai_models: Option<Vec<String>>) -> Result<Response> {
    let state = &s.state;
    let mail = state.mailer.available(&state.db).await?;
    let values = settings::all(&state.db, state.config.registrations_enabled, mail).await?;
    let registrations = values[crate::settings::REGISTRATIONS_ENABLED] == "true";
    let oidc_require_mfa = values[crate::settings::OIDC_REQUIRE_MFA] != "false";
    let unverified_login = values[crate::settings::SIGNUP_UNVERIFIED_LOGIN] == "true";
    let smtp = smtp::view(&state.db, &state.mailer).await?;
    let ai = crate::ai::settings::view(&state.db, &state.ai).await?;
    let database = match state.config.db.kind() {
        "sqlite" => "SQLite",
        _ => "PostgreSQL",
    };
    render(&SettingsPage {
        registrations,
        oidc_require_mfa,
        env_registrations: state.config.registrations_enabled,
        unverified_login,
        smtp,
        ai,
        ai_models,
        my_email: s.auth.user.email.clone(),
        database,
        api_docs: state.config.api_docs,
        commit: state.config.commit_sha.clone(),
        ctx: s.ctx,
    })
}

pub(super) async fn settings_submit(Admin(s): Admin, form: FormData) -> Result<Response> {
    for key in [
        crate::settings::REGISTRATIONS_ENABLED,
        crate::settings::OIDC_REQUIRE_MFA,
        crate::settings::SIGNUP_UNVERIFIED_LOGIN,
    ] {
        let input = SettingInput {
            key: Some(key.to_string()),
            value: Some(serde_json::Value::Bool(form.checked(key))),
        };
        if let Err(e) = settings::set(&s.state.db, &s.origin, s.user_id(), input).await {
            return flash_result::<()>(&s.ctx, "/admin/settings", Err(e), "");
        }
    }
    Ok(redirect_with(
        "/admin/settings",
        "ok",
        s.ctx.t("admin.settings.saved"),
    ))
}

fn smtp_input(form: &FormData) -> SmtpInput {
    SmtpInput {
        enabled: Some(serde_json::Value::Bool(form.checked("enabled"))),
        host: form.opt("host"),
        port: form.opt("port").map(serde_json::Value::String),
        secure: None,
        tls_mode: form.opt("tls_mode"),
        user: form.opt("user"),
        password: form.opt("password"),
        from: form.opt("from"),
        from_name: form.opt("from_name"),
    }
}

pub(super) async fn smtp_submit(Admin(s): Admin, form: FormData) -> Result<Response> {
    let result = smtp::save(
        &s.state.db,
        &s.state.mailer,
        &s.origin,
        s.user_id(),
        smtp_input(&form),
    )
    .await;
    flash_result(&s.ctx, "/admin/settings", result, s.ctx.t("admin.smtp.saved"))
}

pub(super) async fn smtp_test(Admin(s): Admin, form: FormData) -> Result<Response> {
    let input = SmtpTestInput {
        email: form.opt("email"),
        settings: SmtpInput::default(),
    };
    let lang = s.ctx.lang();
    let result = smtp::test(
        &s.state.db,
        &s.state.mailer,
        &s.origin,
        s.user_id(),
        Some(lang),
        input,
    )
    .await;
    match result {
        Ok(()) => {
            let msg = s.ctx.tf("admin.smtp.test_sent", form.get("email").trim());
            Ok(redirect_with("/admin/settings", "ok", &msg))
        }
        Err(e) => {
            let e = client_error(e)?;
            let msg = if e.code == "SMTP_TEST_FAILED" {
                s.ctx.tf("admin.smtp.test_failed", &e.message)
            } else {
                super::message(&s.ctx, &e)
            };
            Ok(redirect_with("/admin/settings", "error", &msg))
        }
    }
}

fn ai_input(form: &FormData) -> AiInput {
    AiInput {
        ai_enabled: Some(serde_json::Value::Bool(form.checked("ai_enabled"))),
        ai_provider: form.opt("ai_provider"),
        ai_api_key: form.opt("ai_api_key"),
        ai_api_key_clear: Some(form.checked("ai_api_key_clear")),
        ai_model: form.opt("ai_model").map(|m| m.trim().to_string()),
        ai_base_url: form.opt("ai_base_url").map(|u| u.trim().to_string()),
    }
}

pub(super) async fn ai_submit(Admin(s): Admin, form: FormData) -> Result<Response> {
    let result =
        crate::ai::settings::save(&s.state.db, &s.state.ai, &s.origin, s.user_id(), ai_input(&form)).await;
    flash_result(&s.ctx, "/admin/settings", result, s.ctx.t("admin.ai.saved"))
}

/// "List models": the settings page again, with the endpoint's models.
pub(super) async fn ai_models(Admin(s): Admin) -> Result<Response> {
    match crate::ai::settings::models(&s.state.db, &s.state.ai).await {
        Ok(list) => page(s, Some(list.models)).await,
        Err(e) => ai_failed(&s, e),
    }
}

pub(super) async fn ai_test(Admin(s): Admin) -> Result<Response> {
    match crate::ai::settings::test(&s.state.db, &s.state.ai, &s.origin, s.user_id()).await {
        Ok(model) => Ok(redirect_with(
            "/admin/settings",
            "ok",
            &s.ctx.tf("admin.ai.test_ok", &model),
        )),
        Err(e) => ai_failed(&s, e),
    }
}

/// The endpoint's failure (a 5xx of ours) or a refusal, as the page's flash.
fn ai_failed(s: &crate::web::ctx::Signed, e: crate::error::Error) -> Result<Response> {
    let msg = if e.code == "AI_UNAVAILABLE" {
        s.ctx.tf("admin.ai.failed", &e.message)
    } else {
        super::message(&s.ctx, &client_error(e)?)
    };
    Ok(redirect_with("/admin/settings", "error", &msg))
}
