//! `/profile`: name, e-mail, language, theme, and deleting the account.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;

use super::{form_errors, form_status, head, Head};
use crate::account::{self, DeleteAccount, ProfileUpdate};
use crate::error::Result;
use crate::http::cookies;
use crate::web::ctx::{
    client_error, redirect_with, render_status, set_cookie, Ctx, FormData, FormErrors, Signed,
};
use crate::web::i18n;

#[derive(Template)]
#[template(path = "profile/account.html")]
struct AccountPage {
    ctx: Ctx,
    head: Head,
    tab: &'static str,
    form: FormData,
    errors: FormErrors,
    delete_errors: FormErrors,
    has_password: bool,
    oidc: bool,
    /// The identity provider the account is linked to.
    oidc_provider: Option<String>,
    /// A new address waiting for its confirmation link.
    pending_email: Option<String>,
    /// A `javascript:` link that opens quick capture for the page it is clicked on.
    bookmarklet: String,
    /// The admin configured AI suggestions: the page offers the per-user switch.
    ai_available: bool,
}

impl AccountPage {
    fn lang_selected(&self, lang: &str) -> bool {
        self.form.get("language") == lang
    }
    fn theme_checked(&self, theme: &str) -> bool {
        let current = self.form.get("theme");
        current == theme || (theme == "auto" && !crate::users::THEMES.contains(&current))
    }
}

/// Opens `/bookmarks/new` of this server in a new window for the current tab's address, title
/// and selected text. (It runs on the other site's page, so this site's CSP does not apply.)
fn bookmarklet(base: &str) -> String {
    let base = base.trim_end_matches('/');
    format!(
        "javascript:(()=>{{const e=encodeURIComponent;window.open('{base}/bookmarks/new?url='+e(location.href)\
         +'&title='+e(document.title)+'&description='+e(String(getSelection()||'')),'slugbase',\
         'width=720,height=760')}})()"
    )
}

async fn account_view(
    s: Signed,
    form: Option<FormData>,
    errors: FormErrors,
    delete_errors: FormErrors,
    status: StatusCode,
) -> Result<Response> {
    let u = s.auth.user.clone();
    let form = form.unwrap_or_else(|| {
        let mut v = vec![
            ("name".into(), u.name.clone()),
            ("email".into(), u.email.clone()),
            ("language".into(), u.language()),
            ("theme".into(), u.theme()),
        ];
        if u.ai_suggestions_enabled.unwrap_or(true) {
            v.push(("ai_suggestions_enabled".into(), "true".into()));
        }
        FormData(v)
    });
    let ai_available = crate::ai::settings::view(&s.state.db, &s.state.ai)
        .await?
        .available;
    let head = head(&s.state, &s.auth).await?;
    render_status(
        status,
        &AccountPage {
            ctx: s.ctx,
            head,
            tab: "account",
            form,
            errors,
            delete_errors,
            has_password: u.has_password(),
            oidc: u.oidc_provider.is_some(),
            oidc_provider: u.oidc_provider.clone().filter(|p| !p.is_empty()),
            pending_email: u.email_pending.clone().filter(|e| !e.is_empty()),
            bookmarklet: bookmarklet(&s.state.config.frontend_url),
            ai_available,
        },
    )
}

pub(super) async fn account_page(s: Signed) -> Result<Response> {
    account_view(
        s,
        None,
        FormErrors::default(),
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub(super) async fn account_submit(s: Signed, form: FormData) -> Result<Response> {
    let u = s.auth.user.clone();
    let language = form.opt("language").filter(|l| !l.is_empty());
    let result = if language.as_deref().is_some_and(|l| !i18n::LANGUAGES.contains(&l)) {
        Err(super::field_error("language", s.ctx.t("profile.err_language")))
    } else {
        account::update_profile(
            &s.state.db,
            &s.state.mailer,
            &s.origin,
            &s.auth.user,
            ProfileUpdate {
                // Accounts from an identity provider keep its address (the field is read-only).
                email: if u.oidc_provider.is_some() {
                    None
                } else {
                    form.opt("email")
                },
                name: form.opt("name"),
                language,
                theme: form.opt("theme").filter(|t| !t.is_empty()),
                // Only when the page offered the switch (AI configured).
                ai_suggestions_enabled: form
                    .opt("ai_switch")
                    .map(|_| serde_json::Value::Bool(form.checked("ai_suggestions_enabled"))),
            },
        )
        .await
    };
    match result {
        Ok(done) => {
            // Said in the language just chosen.
            let tr = i18n::locale(&done.user.language());
            let msg = match &done.pending_email {
                Some(e) => tr.get("profile.email_sent").replace("{0}", e),
                None => tr.get("profile.saved").to_string(),
            };
            Ok(redirect_with("/profile", "ok", &msg))
        }
        Err(e) => {
            let e = client_error(e)?;
            let errors = form_errors(&s.ctx, &e, &[]);
            let status = form_status(&e);
            account_view(s, Some(form), errors, FormErrors::default(), status).await
        }
    }
}

pub(super) async fn delete_submit(s: Signed, form: FormData) -> Result<Response> {
    let body = DeleteAccount {
        password: s
            .auth
            .user
            .has_password()
            .then(|| form.get("password").to_string()),
    };
    match account::delete_account(&s.state.db, &s.origin, &s.auth, body).await {
        Ok(()) => {
            let mut out = redirect_with("/login", "ok", s.ctx.t("profile.deleted"));
            set_cookie(&mut out, cookies::removal(&s.state.config, cookies::SESSION));
            Ok(out)
        }
        Err(e) => {
            let e = client_error(e)?;
            let errors = form_errors(&s.ctx, &e, &[]);
            let status = form_status(&e);
            account_view(s, None, FormErrors::default(), errors, status).await
        }
    }
}
