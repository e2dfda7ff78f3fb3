//! `/profile/security`: password, signing out everywhere, MFA (enrolment, backup codes, turning
//! it off) and passkeys (listed, renamed and removed here; added by the page's script through the
//! JSON API, since only a script can talk to the authenticator).

use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;

use super::{field_error, form_errors, form_status, head, Head};
use crate::account::{self, PasswordChange};
use crate::auth;
use crate::db::Ts;
use crate::error::Result;
use crate::http::cookies;
use crate::mfa::{self, CodeBody, MfaStatus};
use crate::passkeys::{self, ConfirmBody, RenameBody};
use crate::state::AppState;
use crate::web::ctx::{
    client_error, redirect, redirect_with, render, render_status, set_cookie, Ctx, FormData, FormErrors,
    Signed,
};

#[derive(Template)]
#[template(path = "profile/security.html")]
struct SecurityPage {
    ctx: Ctx,
    head: Head,
    tab: &'static str,
    has_password: bool,
    mfa: MfaStatus,
    password_errors: FormErrors,
    disable_errors: FormErrors,
    regen_errors: FormErrors,
    passkeys: Vec<PasskeyRow>,
    passkeys_available: bool,
    /// Removing the only passkey of an account without TOTP asks for the password.
    last_factor: bool,
}

struct PasskeyRow {
    id: String,
    name: String,
    created: Option<Ts>,
    last_used: Option<Ts>,
}

#[derive(Default)]
struct SecurityErrors {
    password: FormErrors,
    disable: FormErrors,
    regen: FormErrors,
}

async fn security_view(s: Signed, errors: SecurityErrors, status: StatusCode) -> Result<Response> {
    let mfa = mfa::status(&s.state.db, s.user_id()).await?;
    let head = head(&s.state, &s.auth).await?;
    let passkeys: Vec<PasskeyRow> = passkeys::list(&s.state.db, s.user_id())
        .await?
        .into_iter()
        .map(|p| PasskeyRow {
            id: p.id,
            name: p.name,
            created: Some(p.created_at),
            last_used: p.last_used_at,
        })
        .collect();
    let last_factor = passkeys.len() == 1 && !mfa.enabled && s.auth.user.has_password();
    render_status(
        status,
        &SecurityPage {
            has_password: s.auth.user.has_password(),
            ctx: s.ctx,
            head,
            tab: "security",
            mfa,
            password_errors: errors.password,
            disable_errors: errors.disable,
            regen_errors: errors.regen,
            passkeys,
            last_factor,
            passkeys_available: s.state.passkeys.available(),
        },
    )
}

pub(super) async fn security_page(s: Signed) -> Result<Response> {
    security_view(s, SecurityErrors::default(), StatusCode::OK).await
}

pub(super) async fn password_submit(s: Signed, form: FormData) -> Result<Response> {
    let result = if form.get("new_password") != form.get("confirm_password") {
        Err(field_error("confirm_password", s.ctx.t("field.passwords_differ")))
    } else {
        let body = PasswordChange {
            current_password: form.opt("current_password"),
            new_password: form.opt("new_password"),
        };
        account::change_password(&s.state.db, &s.state.config, &s.origin, &s.auth, body).await
    };
    match result {
        Ok(session) => {
            // Every other session ended; this browser carries on with the fresh cookie.
            let mut out = redirect_with("/profile/security", "ok", s.ctx.t("security.password_changed"));
            if let Some(session) = session {
                set_cookie(&mut out, cookies::session(&s.state.config, session.token));
            }
            Ok(out)
        }
        Err(e) => {
            let e = client_error(e)?;
            let password = form_errors(&s.ctx, &e, &[]);
            let status = form_status(&e);
            security_view(
                s,
                SecurityErrors {
                    password,
                    ..Default::default()
                },
                status,
            )
            .await
        }
    }
}

pub(super) async fn logout_all_submit(s: Signed) -> Result<Response> {
    auth::sign_out_everywhere(&s.state.db, &s.origin, s.user_id()).await?;
    let mut out = redirect_with("/login", "ok", s.ctx.t("security.logged_out_all"));
    set_cookie(&mut out, cookies::removal(&s.state.config, cookies::SESSION));
    Ok(out)
}

// ---- MFA -----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "profile/mfa_enroll.html")]
struct EnrollPage {
    ctx: Ctx,
    qr: String,
    secret: String,
    otpauth_url: String,
    errors: FormErrors,
}

fn qr_data_uri(svg: &str) -> String {
    if svg.is_empty() {
        return String::new();
    }
    format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    )
}

/// The pending (begun, not confirmed) secret of the user, if any.
async fn pending_secret(state: &AppState, user_id: &str) -> Result<Option<String>> {
    let Some(row) = mfa::load(&state.db, user_id).await? else {
        return Ok(None);
    };
    if !row.pending() {
        return Ok(None);
    }
    Ok(row
        .mfa_totp_secret_enc
        .as_deref()
        .and_then(|enc| state.cipher.decrypt(enc).ok()))
}

fn enroll_page(s: Signed, secret: String, errors: FormErrors, status: StatusCode) -> Result<Response> {
    let url = mfa::otpauth_url(&s.state.config.mfa_issuer, &s.auth.user.email, &secret);
    render_status(
        status,
        &EnrollPage {
            qr: qr_data_uri(&mfa::qr_svg(&url)),
            otpauth_url: url,
            secret,
            ctx: s.ctx,
            errors,
        },
    )
}

/// A reload of the enrolment page: the pending secret again (nothing new is begun).
pub(super) async fn mfa_pending_page(s: Signed) -> Result<Response> {
    match pending_secret(&s.state, s.user_id()).await? {
        Some(secret) => enroll_page(s, secret, FormErrors::default(), StatusCode::OK),
        None => Ok(redirect("/profile/security")),
    }
}

pub(super) async fn mfa_start(s: Signed) -> Result<Response> {
    let state = &s.state;
    let begun =
        match mfa::begin_enrollment(&state.db, &state.config, &state.cipher, &s.origin, &s.auth.user).await {
            Ok(begun) => begun,
            Err(e) => {
                let e = client_error(e)?;
                let msg = form_errors(&s.ctx, &e, &[]).general.unwrap_or_default();
                return Ok(redirect_with("/profile/security", "error", &msg));
            }
        };
    render(&EnrollPage {
        ctx: s.ctx,
        qr: qr_data_uri(&begun.qr_svg),
        secret: begun.secret,
        otpauth_url: begun.otpauth_url,
        errors: FormErrors::default(),
    })
}

#[derive(Template)]
#[template(path = "profile/backup_codes.html")]
struct CodesPage {
    ctx: Ctx,
    codes: Vec<String>,
    all: String,
    regenerated: bool,
}

fn codes_page(ctx: Ctx, codes: Vec<String>, regenerated: bool) -> Result<Response> {
    render(&CodesPage {
        ctx,
        all: codes.join("\n"),
        codes,
        regenerated,
    })
}

fn code_body(form: &FormData) -> CodeBody {
    CodeBody {
        code: form.opt("code").map(serde_json::Value::String),
        password: form.opt("password"),
    }
}

pub(super) async fn mfa_confirm(s: Signed, form: FormData) -> Result<Response> {
    let state = &s.state;
    match mfa::confirm_enrollment(&state.db, &state.cipher, &s.origin, &s.auth, code_body(&form)).await {
        Ok(codes) => codes_page(s.ctx, codes, false),
        Err(e) => {
            let e = client_error(e)?;
            let errors = form_errors(&s.ctx, &e, &[("INVALID_CODE", "code")]);
            if e.code == "INVALID_CODE" {
                // The pending secret is still stored: the same QR code, another try.
                if let Some(secret) = pending_secret(&s.state, s.user_id()).await? {
                    return enroll_page(s, secret, errors, form_status(&e));
                }
            }
            let msg = errors
                .general
                .or_else(|| errors.fields.into_values().next())
                .unwrap_or_default();
            Ok(redirect_with("/profile/security", "error", &msg))
        }
    }
}

pub(super) async fn mfa_cancel(s: Signed) -> Result<Response> {
    match mfa::cancel_enrollment(&s.state.db, &s.origin, s.user_id()).await {
        Ok(_) => Ok(redirect_with(
            "/profile/security",
            "ok",
            s.ctx.t("security.mfa_cancelled"),
        )),
        Err(e) => {
            let e = client_error(e)?;
            let msg = form_errors(&s.ctx, &e, &[]).general.unwrap_or_default();
            Ok(redirect_with("/profile/security", "error", &msg))
        }
    }
}

const STEP_UP_FIELDS: &[(&str, &str)] = &[
    ("INVALID_CODE", "code"),
    ("PASSWORD_REQUIRED", "password"),
    ("INVALID_PASSWORD", "password"),
];

pub(super) async fn mfa_disable(s: Signed, form: FormData) -> Result<Response> {
    let state = &s.state;
    match mfa::disable(&state.db, &state.cipher, &s.origin, &s.auth, code_body(&form)).await {
        Ok(_) => Ok(redirect_with(
            "/profile/security",
            "ok",
            s.ctx.t("security.mfa_disabled"),
        )),
        Err(e) => {
            let e = client_error(e)?;
            let disable = form_errors(&s.ctx, &e, STEP_UP_FIELDS);
            let status = form_status(&e);
            security_view(
                s,
                SecurityErrors {
                    disable,
                    ..Default::default()
                },
                status,
            )
            .await
        }
    }
}

pub(super) async fn mfa_regenerate(s: Signed, form: FormData) -> Result<Response> {
    let state = &s.state;
    match mfa::regenerate_backup_codes(&state.db, &state.cipher, &s.origin, &s.auth, code_body(&form)).await {
        Ok(codes) => codes_page(s.ctx, codes, true),
        Err(e) => {
            let e = client_error(e)?;
            let regen = form_errors(&s.ctx, &e, STEP_UP_FIELDS);
            let status = form_status(&e);
            security_view(
                s,
                SecurityErrors {
                    regen,
                    ..Default::default()
                },
                status,
            )
            .await
        }
    }
}

/// Without the page's script a passkey cannot be made: say so.
pub(super) async fn passkey_add_without_script(s: Signed) -> Result<Response> {
    Ok(redirect_with(
        "/profile/security#passkeys",
        "error",
        s.ctx.t("passkeys.needs_js"),
    ))
}

/// Where the page's script goes once the API has added a passkey.
pub(super) async fn passkey_added(s: Signed) -> Result<Response> {
    Ok(redirect_with(
        "/profile/security#passkeys",
        "ok",
        s.ctx.t("passkeys.added"),
    ))
}

fn passkey_failure(s: &Signed, e: crate::error::Error) -> Result<Response> {
    let e = client_error(e)?;
    let key = match e.code.as_ref() {
        "PASSKEY_NOT_FOUND" => "passkeys.err_not_found",
        "REAUTH_REQUIRED" => "passkeys.err_reauth_remove",
        "INVALID_PASSWORD" => "passkeys.err_password",
        "INVALID_CODE" => "security.err_code",
        "VALIDATION_ERROR" => "passkeys.err_name",
        _ => "passkeys.err_generic",
    };
    let msg = s.ctx.t(key).to_string();
    Ok(redirect_with("/profile/security#passkeys", "error", &msg))
}

pub(super) async fn passkey_rename(s: Signed, Path(id): Path<String>, form: FormData) -> Result<Response> {
    let body = RenameBody {
        name: form.opt("name").map(serde_json::Value::String),
    };
    match passkeys::rename(&s.state.db, &s.origin, s.user_id(), &id, body).await {
        Ok(_) => Ok(redirect_with(
            "/profile/security#passkeys",
            "ok",
            s.ctx.t("passkeys.renamed"),
        )),
        Err(e) => passkey_failure(&s, e),
    }
}

pub(super) async fn passkey_delete(s: Signed, Path(id): Path<String>, form: FormData) -> Result<Response> {
    let confirm = ConfirmBody {
        password: form.opt("password"),
        code: form.opt("code"),
    };
    let state = &s.state;
    match passkeys::remove(&state.db, &state.cipher, &s.origin, &s.auth, &id, confirm).await {
        Ok(_) => Ok(redirect_with(
            "/profile/security#passkeys",
            "ok",
            s.ctx.t("passkeys.removed"),
        )),
        Err(e) => passkey_failure(&s, e),
    }
}
