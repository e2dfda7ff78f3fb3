//! `/admin/settings`: instance settings and what the server runs with.

use askama::Template;
use axum::response::Response;

use super::flash_result;
use crate::admin::settings::{self, SettingInput};
use crate::error::Result;
use crate::web::ctx::{render, Admin, Ctx, FormData};

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage {
    ctx: Ctx,
    registrations: bool,
    /// Users with MFA give a code after signing in through an identity provider.
    oidc_require_mfa: bool,
    /// `REGISTRATIONS_ENABLED` from the environment, which wins over the setting.
    env_registrations: Option<bool>,
    database: &'static str,
    api_docs: bool,
    commit: Option<String>,
}

pub(super) async fn settings_page(Admin(s): Admin) -> Result<Response> {
    let values = settings::all(&s.state.db, s.state.config.registrations_enabled).await?;
    let registrations = values[crate::settings::REGISTRATIONS_ENABLED] == "true";
    let oidc_require_mfa = values[crate::settings::OIDC_REQUIRE_MFA] != "false";
    let database = match s.state.config.db.kind() {
        "sqlite" => "SQLite",
        _ => "PostgreSQL",
    };
    render(&SettingsPage {
        registrations,
        oidc_require_mfa,
        env_registrations: s.state.config.registrations_enabled,
        database,
        api_docs: s.state.config.api_docs,
        commit: s.state.config.commit_sha.clone(),
        ctx: s.ctx,
    })
}

pub(super) async fn settings_submit(Admin(s): Admin, form: FormData) -> Result<Response> {
    let mut result = Ok(());
    for key in [
        crate::settings::REGISTRATIONS_ENABLED,
        crate::settings::OIDC_REQUIRE_MFA,
    ] {
        let input = SettingInput {
            key: Some(key.to_string()),
            value: Some(serde_json::Value::Bool(form.checked(key))),
        };
        if let Err(e) = settings::set(&s.state.db, &s.origin, s.user_id(), input).await {
            result = Err(e);
            break;
        }
    }
    flash_result(&s.ctx, "/admin/settings", result, s.ctx.t("admin.settings.saved"))
}
