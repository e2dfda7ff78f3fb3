//! The admin area: `/admin` (redirects), members, teams, identity providers, settings and the
//! audit log — one file each. The forms call the same use cases as the JSON API (`crate::admin`), so validation, the
//! last-admin and self guards and the audit events live in one place; the pages only turn a form
//! into the use case's input and its answer into a flash message or a form shown again with its
//! errors.

mod audit_log;
mod members;
mod oidc;
mod settings;
mod teams;

use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::error::{Error, Result};
use crate::state::AppState;
use crate::web::ctx::{
    client_error, error_message, redirect, redirect_with, Admin, Ctx, FormData, FormErrors,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(admin_home))
        .route(
            "/admin/members",
            get(members::members_page).post(members::member_create),
        )
        .route("/admin/members/{id}", post(members::member_update))
        .route(
            "/admin/members/{id}/disabled",
            post(members::member_toggle_disabled),
        )
        .route("/admin/members/{id}/reset-mfa", post(members::member_reset_mfa))
        .route("/admin/members/{id}/teams", post(members::member_teams))
        .route("/admin/members/{id}/delete", post(members::member_delete))
        .route("/admin/teams", get(teams::teams_page).post(teams::team_create))
        .route(
            "/admin/teams/{id}",
            get(teams::team_page).post(teams::team_update),
        )
        .route("/admin/teams/{id}/delete", post(teams::team_delete))
        .route("/admin/teams/{id}/members", post(teams::team_add_member))
        .route(
            "/admin/teams/{id}/members/{user_id}/remove",
            post(teams::team_remove_member),
        )
        .route(
            "/admin/settings",
            get(settings::settings_page).post(settings::settings_submit),
        )
        .route("/admin/settings/smtp", post(settings::smtp_submit))
        .route("/admin/settings/smtp/test", post(settings::smtp_test))
        .route("/admin/settings/ai", post(settings::ai_submit))
        .route("/admin/settings/ai/models", post(settings::ai_models))
        .route("/admin/settings/ai/test", post(settings::ai_test))
        .route(
            "/admin/members/{id}/resend-invite",
            post(members::member_resend_invite),
        )
        .route("/admin/audit-log", get(audit_log::audit_page))
        .route("/admin/oidc", get(oidc::oidc_page).post(oidc::oidc_create))
        .route("/admin/oidc/{id}", post(oidc::oidc_update))
        .route("/admin/oidc/{id}/delete", post(oidc::oidc_delete))
}

async fn admin_home(Admin(_): Admin) -> Response {
    redirect("/admin/members")
}

// ---- shared -------------------------------------------------------------------------------

/// An error's message in the page's language: the admin area's own wording for the codes its
/// guards answer with (`LAST_ADMIN`, `SELF_DELETE`, …), else the shared one.
pub(super) fn message(ctx: &Ctx, e: &Error) -> String {
    let key = format!("admin.error.{}", e.code);
    let t = ctx.t(&key);
    if t != key {
        t.to_string()
    } else {
        error_message(ctx.tr, e)
    }
}

/// Form errors, with the admin area's wording for a coded one-field error (duplicate names).
pub(super) fn form_errors(ctx: &Ctx, e: &Error) -> FormErrors {
    let mut f = FormErrors::from_error(ctx.tr, e);
    let key = format!("admin.error.{}", e.code);
    let t = ctx.t(&key);
    if t != key {
        if let Some(g) = f.general.as_mut() {
            *g = t.to_string();
        }
        if f.fields.len() == 1 {
            for v in f.fields.values_mut() {
                *v = t.to_string();
            }
        }
    }
    f
}

/// After a one-click action: back with a flash (success, or the API's refusal).
pub(super) fn flash_result<T>(ctx: &Ctx, back: &str, result: Result<T>, ok: &str) -> Result<Response> {
    match result {
        Ok(_) => Ok(redirect_with(back, "ok", ok)),
        Err(e) => {
            let e = client_error(e)?;
            Ok(redirect_with(back, "error", &message(ctx, &e)))
        }
    }
}

/// Where a form returns to: its `back` field when that is a page under `prefix`.
pub(super) fn back_to(form: &FormData, prefix: &str) -> String {
    crate::web::ctx::back_under(form.get("back"), prefix)
}

pub(super) fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}
