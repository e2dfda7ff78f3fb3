//! `/go-preferences` (remembered go-link choices) and `/search-engine-guide`.

use askama::Template;
use axum::response::Response;

use super::form_errors;
use crate::error::{Kind, Result};
use crate::golinks;
use crate::web::ctx::{client_error, redirect_with, render, Ctx, FormData, Signed};

struct PrefRow {
    slug: String,
    title: String,
    url: String,
    host: String,
    workspace: String,
}

#[derive(Template)]
#[template(path = "profile/go_preferences.html")]
struct GoPrefsPage {
    ctx: Ctx,
    prefs: Vec<PrefRow>,
}

pub(super) async fn goprefs_page(s: Signed) -> Result<Response> {
    let list = golinks::preferences(&s.state.db, s.user_id()).await?;
    let me = s.user_id().to_string();
    let prefs = list
        .into_iter()
        .map(|p| PrefRow {
            workspace: if p.user_id == me {
                s.ctx.t("goprefs.personal").to_string()
            } else {
                p.owner_name
                    .clone()
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| s.ctx.t("goprefs.shared").to_string())
            },
            host: crate::web::dashboard::host(&p.url),
            slug: p.slug,
            title: p.title,
            url: p.url,
        })
        .collect();
    render(&GoPrefsPage { ctx: s.ctx, prefs })
}

pub(super) async fn goprefs_remove(s: Signed, form: FormData) -> Result<Response> {
    let slug = form.get("slug").to_string();
    match golinks::forget_preference(&s.state.db, s.user_id(), &slug).await {
        Ok(_) => Ok(redirect_with(
            "/go-preferences",
            "ok",
            &s.ctx.tf("goprefs.removed", &slug),
        )),
        Err(e) => {
            let e = client_error(e)?;
            let msg = if e.kind == Kind::NotFound {
                s.ctx.t("goprefs.not_found").to_string()
            } else {
                form_errors(&s.ctx, &e, &[]).general.unwrap_or_default()
            };
            Ok(redirect_with("/go-preferences", "error", &msg))
        }
    }
}

#[derive(Template)]
#[template(path = "profile/guide.html")]
struct GuidePage {
    ctx: Ctx,
    /// `https://host/go/%s`
    search_url: String,
    /// `https://host/go/`
    prefix: String,
}

pub(super) async fn guide_page(s: Signed) -> Result<Response> {
    let prefix = s.ctx.go_prefix();
    render(&GuidePage {
        search_url: format!("{prefix}%s"),
        prefix,
        ctx: s.ctx,
    })
}
