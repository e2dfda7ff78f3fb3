//! The signed-in user's own pages: `/profile` (account, security, API tokens — one file each),
//! `/go-preferences` and `/search-engine-guide`. The forms call the same use cases as the JSON
//! API; this module turns their answers into pages in the visitor's language.

mod account;
mod links;
mod security;
mod tokens;

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;

use crate::error::{Error, Kind, Result};
use crate::http::auth::AuthUser;
use crate::state::AppState;
use crate::teams::{self, MyTeam};
use crate::web::ctx::{error_message, initials, Ctx, FormErrors};
#[cfg(test)]
use crate::web::i18n;
use crate::with_db;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/profile",
            get(account::account_page).post(account::account_submit),
        )
        .route("/profile/delete", post(account::delete_submit))
        .route("/profile/security", get(security::security_page))
        .route("/profile/security/password", post(security::password_submit))
        .route("/profile/security/logout-all", post(security::logout_all_submit))
        .route("/profile/security/mfa", get(security::mfa_pending_page))
        .route("/profile/security/mfa/start", post(security::mfa_start))
        .route("/profile/security/mfa/confirm", post(security::mfa_confirm))
        .route("/profile/security/mfa/cancel", post(security::mfa_cancel))
        .route("/profile/security/mfa/disable", post(security::mfa_disable))
        .route("/profile/security/mfa/regenerate", post(security::mfa_regenerate))
        .route(
            "/profile/security/passkeys/add",
            post(security::passkey_add_without_script),
        )
        .route("/profile/security/passkeys/added", get(security::passkey_added))
        .route(
            "/profile/security/passkeys/{id}/rename",
            post(security::passkey_rename),
        )
        .route(
            "/profile/security/passkeys/{id}/delete",
            post(security::passkey_delete),
        )
        .route(
            "/profile/tokens",
            get(tokens::tokens_page).post(tokens::token_create),
        )
        .route("/profile/tokens/{id}/revoke", post(tokens::token_revoke))
        .route("/go-preferences", get(links::goprefs_page))
        .route("/go-preferences/remove", post(links::goprefs_remove))
        .route("/search-engine-guide", get(links::guide_page))
}

// ---- errors in the page's language --------------------------------------------------------

/// API error codes with a string of ours.
const CODE_KEYS: &[(&str, &str)] = &[
    ("EMAIL_CHANGE_UNAVAILABLE", "profile.err_email_change"),
    ("INVALID_PASSWORD", "profile.err_password_wrong"),
    ("PASSWORD_REQUIRED", "profile.err_password_required"),
    ("LAST_ADMIN", "profile.err_last_admin"),
    ("TOKEN_LIMIT", "tokens.err_limit"),
    ("TOKEN_NOT_FOUND", "tokens.err_not_found"),
    ("INVALID_CODE", "security.err_code"),
    ("MFA_NO_PENDING", "security.err_no_pending"),
    ("MFA_ALREADY_ENABLED", "security.err_already_enabled"),
    ("MFA_NOT_ENABLED", "security.err_not_enabled"),
];

/// The API's validation messages (English) with a string of ours.
const MESSAGE_KEYS: &[(&str, &str)] = &[
    ("Name must be at least 1 characters", "profile.err_name_required"),
    (
        "Name must be no more than 255 characters",
        "profile.err_name_long",
    ),
    ("Email is required", "profile.err_email_required"),
    (
        "Email must be no more than 255 characters",
        "profile.err_email_long",
    ),
    ("Invalid email format", "profile.err_email_format"),
    ("Password is required", "profile.err_password_required"),
    (
        "Password must be at least 8 characters long",
        "profile.err_password_short",
    ),
    (
        "Password must be no more than 128 characters",
        "profile.err_password_long",
    ),
    (
        "Password must contain at least one uppercase letter",
        "profile.err_password_upper",
    ),
    (
        "Password must contain at least one lowercase letter",
        "profile.err_password_lower",
    ),
    (
        "Password must contain at least one number",
        "profile.err_password_digit",
    ),
    (
        "Password must contain at least one special character",
        "profile.err_password_special",
    ),
    ("Invalid password", "profile.err_password_wrong"),
    ("Token name is required", "tokens.err_name_required"),
    (
        "Token name must be at least 1 characters",
        "tokens.err_name_required",
    ),
    (
        "Token name must be no more than 100 characters",
        "tokens.err_name_long",
    ),
    ("Expiry must be in the future", "tokens.err_expiry_past"),
    (
        "Expiry must be an ISO 8601 date and time",
        "tokens.err_expiry_format",
    ),
];

fn translate(ctx: &Ctx, e: &Error, message: &str) -> Option<String> {
    let by_code = CODE_KEYS.iter().find(|(c, _)| *c == e.code).map(|(_, k)| *k);
    let by_message = MESSAGE_KEYS.iter().find(|(m, _)| *m == message).map(|(_, k)| *k);
    by_code.or(by_message).map(|k| ctx.t(k).to_string())
}

/// An API refusal as form errors in the page's language. Errors without a field whose code names
/// one (`codes`: code → field) are shown next to that field.
pub(super) fn form_errors(ctx: &Ctx, e: &Error, codes: &[(&str, &str)]) -> FormErrors {
    let mut out = FormErrors::default();
    for d in e.details.iter().flatten() {
        let msg = translate(ctx, e, &d.message).unwrap_or_else(|| d.message.clone());
        out.fields.insert(d.field.clone(), msg);
    }
    if out.fields.is_empty() {
        let msg = translate(ctx, e, &e.message).unwrap_or_else(|| error_message(ctx.tr, e));
        match codes.iter().find(|(c, _)| *c == e.code) {
            Some((_, field)) => {
                out.fields.insert(field.to_string(), msg);
            }
            None => out.general = Some(msg),
        }
    }
    out
}

/// The status of a page that shows a refused form again (a wrong password is not "signed out").
pub(super) fn form_status(e: &Error) -> StatusCode {
    if e.kind == Kind::Unauthorized {
        StatusCode::BAD_REQUEST
    } else {
        crate::http::error::status(e.kind)
    }
}

/// A field-less error of ours (page-only checks such as "the passwords differ").
pub(super) fn field_error(field: &str, message: &str) -> Error {
    Error::invalid(field, message.to_string())
}

// ---- the header card shared by the three profile tabs --------------------------------------

pub(super) struct Head {
    name: String,
    email: String,
    initials: String,
    bookmarks: i64,
    slugs: i64,
    teams: Vec<MyTeam>,
}

pub(super) async fn head(state: &AppState, auth: &AuthUser) -> Result<Head> {
    let (bookmarks, slugs): (i64, i64) = with_db!(&state.db, pool => sqlx::query_as(
        "SELECT COUNT(*), COUNT(slug) FROM bookmarks WHERE user_id = $1")
        .bind(auth.id()).fetch_one(pool).await?);
    let teams = teams::of_member(&state.db, auth.id()).await?;
    Ok(Head {
        name: auth.user.name.clone(),
        email: auth.user.email.clone(),
        initials: initials(&auth.user.name),
        bookmarks,
        slugs,
        teams,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_messages_have_both_languages() {
        for (_, key) in CODE_KEYS.iter().chain(MESSAGE_KEYS) {
            assert_ne!(i18n::en().get(key), *key, "{key} has no English string");
            assert_ne!(
                i18n::de().get(key),
                i18n::en().get(key),
                "{key} is not translated"
            );
        }
    }
}
