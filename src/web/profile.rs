//! `/profile` (account, appearance, password, MFA, API tokens, danger zone), `/go-preferences`
//! and `/search-engine-guide`.
//!
//! As everywhere in the page layer, the forms call the JSON API's handlers, so validation, rate
//! limits and audit entries are the API's; this module only turns their answers into pages.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;

use crate::api;
use crate::api::mfa::{CodeBody, MfaStatus};
use crate::api::users::Team;
use crate::auth::api_tokens::TokenInfo;
use crate::db::Ts;
use crate::error::{Error, Kind, Result};
use crate::http::auth::{AuthUser, ClientOrigin};
use crate::http::error::{Json, Path};
use crate::state::AppState;
use crate::web::ctx::{
    carry_cookies, client_error, error_message, initials, redirect, redirect_with, render, render_status,
    Ctx, FormData, FormErrors, Signed,
};
use crate::web::i18n;
use crate::with_db;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/profile", get(account_page).post(account_submit))
        .route("/profile/delete", post(delete_submit))
        .route("/profile/security", get(security_page))
        .route("/profile/security/password", post(password_submit))
        .route("/profile/security/logout-all", post(logout_all_submit))
        .route("/profile/security/mfa", get(mfa_pending_page))
        .route("/profile/security/mfa/start", post(mfa_start))
        .route("/profile/security/mfa/confirm", post(mfa_confirm))
        .route("/profile/security/mfa/cancel", post(mfa_cancel))
        .route("/profile/security/mfa/disable", post(mfa_disable))
        .route("/profile/security/mfa/regenerate", post(mfa_regenerate))
        .route("/profile/tokens", get(tokens_page).post(token_create))
        .route("/profile/tokens/{id}/revoke", post(token_revoke))
        .route("/go-preferences", get(goprefs_page))
        .route("/go-preferences/remove", post(goprefs_remove))
        .route("/search-engine-guide", get(guide_page))
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
fn form_errors(ctx: &Ctx, e: &Error, codes: &[(&str, &str)]) -> FormErrors {
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
fn form_status(e: &Error) -> StatusCode {
    if e.kind == Kind::Unauthorized {
        StatusCode::BAD_REQUEST
    } else {
        crate::http::error::status(e.kind)
    }
}

/// A field-less error of ours (page-only checks such as "the passwords differ").
fn field_error(field: &str, message: &str) -> Error {
    Error::invalid(field, message.to_string())
}

// ---- the header card shared by the three profile tabs --------------------------------------

struct Head {
    name: String,
    email: String,
    initials: String,
    bookmarks: i64,
    slugs: i64,
    teams: Vec<Team>,
}

async fn head(state: &AppState, auth: &AuthUser) -> Result<Head> {
    let (bookmarks, slugs): (i64, i64) = with_db!(&state.db, pool => sqlx::query_as(
        "SELECT COUNT(*), COUNT(slug) FROM bookmarks WHERE user_id = $1")
        .bind(auth.id()).fetch_one(pool).await?);
    let Json(teams) = api::users::my_teams(State(state.clone()), auth.clone()).await?;
    Ok(Head {
        name: auth.user.name.clone(),
        email: auth.user.email.clone(),
        initials: initials(&auth.user.name),
        bookmarks,
        slugs,
        teams,
    })
}

// ---- Account -------------------------------------------------------------------------------

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

async fn account_view(
    s: Signed,
    form: Option<FormData>,
    errors: FormErrors,
    delete_errors: FormErrors,
    status: StatusCode,
) -> Result<Response> {
    let u = s.auth.user.clone();
    let form = form.unwrap_or_else(|| {
        FormData(vec![
            ("name".into(), u.name.clone()),
            ("email".into(), u.email.clone()),
            ("language".into(), u.language()),
            ("theme".into(), u.theme()),
        ])
    });
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
        },
    )
}

async fn account_page(s: Signed) -> Result<Response> {
    account_view(
        s,
        None,
        FormErrors::default(),
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

async fn account_submit(s: Signed, form: FormData) -> Result<Response> {
    let u = s.auth.user.clone();
    let language = form.opt("language").filter(|l| !l.is_empty());
    let result = if language.as_deref().is_some_and(|l| !i18n::LANGUAGES.contains(&l)) {
        Err(field_error("language", s.ctx.t("profile.err_language")))
    } else {
        api::users::update_me(
            State(s.state.clone()),
            ClientOrigin(s.origin.clone()),
            s.auth.clone(),
            Json(api::users::ProfileUpdate {
                // Accounts from an identity provider keep its address (the field is read-only).
                email: if u.oidc_provider.is_some() {
                    None
                } else {
                    form.opt("email")
                },
                name: form.opt("name"),
                language,
                theme: form.opt("theme").filter(|t| !t.is_empty()),
                ai_suggestions_enabled: None,
            }),
        )
        .await
    };
    match result {
        Ok(Json(p)) => {
            // Said in the language just chosen.
            let msg = i18n::locale(&p.language).get("profile.saved");
            Ok(redirect_with("/profile", "ok", msg))
        }
        Err(e) => {
            let e = client_error(e)?;
            let errors = form_errors(&s.ctx, &e, &[]);
            let status = form_status(&e);
            account_view(s, Some(form), errors, FormErrors::default(), status).await
        }
    }
}

async fn delete_submit(s: Signed, form: FormData) -> Result<Response> {
    let body = if s.auth.user.has_password() {
        serde_json::to_vec(&serde_json::json!({ "password": form.get("password") })).unwrap_or_default()
    } else {
        Vec::new()
    };
    let result = api::users::delete_me(
        State(s.state.clone()),
        ClientOrigin(s.origin.clone()),
        s.auth.clone(),
        body.into(),
    )
    .await;
    match result {
        Ok(res) => {
            let mut out = redirect_with("/login", "ok", s.ctx.t("profile.deleted"));
            carry_cookies(&res, &mut out);
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

// ---- Security ------------------------------------------------------------------------------

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
}

#[derive(Default)]
struct SecurityErrors {
    password: FormErrors,
    disable: FormErrors,
    regen: FormErrors,
}

async fn security_view(s: Signed, errors: SecurityErrors, status: StatusCode) -> Result<Response> {
    let Json(mfa) = api::mfa::status(State(s.state.clone()), s.auth.clone()).await?;
    let head = head(&s.state, &s.auth).await?;
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
        },
    )
}

async fn security_page(s: Signed) -> Result<Response> {
    security_view(s, SecurityErrors::default(), StatusCode::OK).await
}

async fn password_submit(s: Signed, form: FormData) -> Result<Response> {
    let result = if form.get("new_password") != form.get("confirm_password") {
        Err(field_error("confirm_password", s.ctx.t("field.passwords_differ")))
    } else {
        api::users::change_password(
            State(s.state.clone()),
            ClientOrigin(s.origin.clone()),
            s.auth.clone(),
            Json(api::users::PasswordChange {
                current_password: form.opt("current_password"),
                new_password: form.opt("new_password"),
            }),
        )
        .await
    };
    match result {
        Ok(res) => {
            // Every other session ended; this browser carries on with the fresh cookie.
            let mut out = redirect_with("/profile/security", "ok", s.ctx.t("security.password_changed"));
            carry_cookies(&res, &mut out);
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

async fn logout_all_submit(s: Signed) -> Result<Response> {
    let res = api::auth::logout_all(
        State(s.state.clone()),
        ClientOrigin(s.origin.clone()),
        s.auth.clone(),
    )
    .await?;
    let mut out = redirect_with("/login", "ok", s.ctx.t("security.logged_out_all"));
    carry_cookies(&res, &mut out);
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
    let Some(row) = crate::mfa::load(&state.db, user_id).await? else {
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
    let url = crate::mfa::otpauth_url(&s.state.config.mfa_issuer, &s.auth.user.email, &secret);
    render_status(
        status,
        &EnrollPage {
            qr: qr_data_uri(&crate::mfa::qr_svg(&url)),
            otpauth_url: url,
            secret,
            ctx: s.ctx,
            errors,
        },
    )
}

/// A reload of the enrolment page: the pending secret again (nothing new is begun).
async fn mfa_pending_page(s: Signed) -> Result<Response> {
    match pending_secret(&s.state, s.user_id()).await? {
        Some(secret) => enroll_page(s, secret, FormErrors::default(), StatusCode::OK),
        None => Ok(redirect("/profile/security")),
    }
}

async fn mfa_start(s: Signed) -> Result<Response> {
    let result = api::mfa::enroll_begin(
        State(s.state.clone()),
        ClientOrigin(s.origin.clone()),
        s.auth.clone(),
    )
    .await;
    let res = match result {
        Ok(res) => res,
        Err(e) => {
            let e = client_error(e)?;
            let msg = form_errors(&s.ctx, &e, &[]).general.unwrap_or_default();
            return Ok(redirect_with("/profile/security", "error", &msg));
        }
    };
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .map_err(|_| Error::internal())?;
    let v: serde_json::Value = serde_json::from_slice(&body).map_err(|_| Error::internal())?;
    let secret = v["secret"].as_str().unwrap_or_default().to_string();
    let url = v["otpauth_url"].as_str().unwrap_or_default().to_string();
    let qr = qr_data_uri(v["qr_svg"].as_str().unwrap_or_default());
    render(&EnrollPage {
        ctx: s.ctx,
        qr,
        secret,
        otpauth_url: url,
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

async fn codes_page(ctx: Ctx, res: Response, regenerated: bool) -> Result<Response> {
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .map_err(|_| Error::internal())?;
    let v: serde_json::Value = serde_json::from_slice(&body).map_err(|_| Error::internal())?;
    let codes: Vec<String> = v["backup_codes"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
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

async fn mfa_confirm(s: Signed, form: FormData) -> Result<Response> {
    let result = api::mfa::enroll_confirm(
        State(s.state.clone()),
        ClientOrigin(s.origin.clone()),
        s.auth.clone(),
        Json(code_body(&form)),
    )
    .await;
    match result {
        Ok(res) => codes_page(s.ctx, res, false).await,
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

async fn mfa_cancel(s: Signed) -> Result<Response> {
    match api::mfa::enroll_cancel(
        State(s.state.clone()),
        ClientOrigin(s.origin.clone()),
        s.auth.clone(),
    )
    .await
    {
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

async fn mfa_disable(s: Signed, form: FormData) -> Result<Response> {
    let result = api::mfa::disable(
        State(s.state.clone()),
        ClientOrigin(s.origin.clone()),
        s.auth.clone(),
        Json(code_body(&form)),
    )
    .await;
    match result {
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

async fn mfa_regenerate(s: Signed, form: FormData) -> Result<Response> {
    let result = api::mfa::regenerate(
        State(s.state.clone()),
        ClientOrigin(s.origin.clone()),
        s.auth.clone(),
        Json(code_body(&form)),
    )
    .await;
    match result {
        Ok(res) => codes_page(s.ctx, res, true).await,
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

// ---- API tokens ----------------------------------------------------------------------------

struct TokenRow {
    info: TokenInfo,
    expired: bool,
}

#[derive(Template)]
#[template(path = "profile/tokens.html")]
struct TokensPage {
    ctx: Ctx,
    head: Head,
    tab: &'static str,
    tokens: Vec<TokenRow>,
    max: i64,
    form: FormData,
    errors: FormErrors,
    /// The plaintext of a token just created (shown once) and its name.
    new_token: Option<(String, String)>,
    /// The earliest expiry date the form accepts (tomorrow, `YYYY-MM-DD`).
    min_date: String,
}

async fn tokens_view(
    s: Signed,
    form: FormData,
    errors: FormErrors,
    new_token: Option<(String, String)>,
    status: StatusCode,
) -> Result<Response> {
    let Json(list) = api::tokens::list(State(s.state.clone()), s.auth.clone()).await?;
    let now = Ts::now();
    let tokens = list
        .into_iter()
        .map(|info| TokenRow {
            expired: info.expires_at.is_some_and(|t| t <= now),
            info,
        })
        .collect();
    let head = head(&s.state, &s.auth).await?;
    let min_date = (now.0 + chrono::Duration::days(1)).format("%Y-%m-%d").to_string();
    render_status(
        status,
        &TokensPage {
            ctx: s.ctx,
            head,
            tab: "tokens",
            tokens,
            max: crate::auth::api_tokens::MAX_ACTIVE,
            form,
            errors,
            new_token,
            min_date,
        },
    )
}

async fn tokens_page(s: Signed) -> Result<Response> {
    tokens_view(
        s,
        FormData::default(),
        FormErrors::default(),
        None,
        StatusCode::OK,
    )
    .await
}

/// The form's date (`YYYY-MM-DD`) as the end of that day, UTC; anything else as typed.
fn expiry(value: &str) -> Option<String> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    match chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        Ok(d) => Some(format!("{d}T23:59:59Z")),
        Err(_) => Some(v.to_string()),
    }
}

async fn token_create(s: Signed, form: FormData) -> Result<Response> {
    let result = api::tokens::create(
        State(s.state.clone()),
        ClientOrigin(s.origin.clone()),
        s.auth.clone(),
        Json(api::tokens::CreateToken {
            name: Some(serde_json::Value::String(form.get("name").to_string())),
            expires_at: expiry(form.get("expires_at")),
        }),
    )
    .await;
    match result {
        Ok(res) => {
            let body = axum::body::to_bytes(res.into_body(), 1 << 20)
                .await
                .map_err(|_| Error::internal())?;
            let v: serde_json::Value = serde_json::from_slice(&body).map_err(|_| Error::internal())?;
            let token = v["token"].as_str().unwrap_or_default().to_string();
            let name = v["name"].as_str().unwrap_or_default().to_string();
            tokens_view(
                s,
                FormData::default(),
                FormErrors::default(),
                Some((token, name)),
                StatusCode::OK,
            )
            .await
        }
        Err(e) => {
            let e = client_error(e)?;
            let errors = form_errors(&s.ctx, &e, &[]);
            let status = form_status(&e);
            tokens_view(s, form, errors, None, status).await
        }
    }
}

async fn token_revoke(s: Signed, Path(id): Path<String>) -> Result<Response> {
    let result = api::tokens::revoke(
        State(s.state.clone()),
        ClientOrigin(s.origin.clone()),
        s.auth.clone(),
        Path(id),
    )
    .await;
    match result {
        Ok(_) => Ok(redirect_with("/profile/tokens", "ok", s.ctx.t("tokens.revoked"))),
        Err(e) => {
            let e = client_error(e)?;
            let msg = form_errors(&s.ctx, &e, &[]).general.unwrap_or_default();
            Ok(redirect_with("/profile/tokens", "error", &msg))
        }
    }
}

// ---- Go preferences ------------------------------------------------------------------------

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

async fn goprefs_page(s: Signed) -> Result<Response> {
    let Json(list) = api::go::list(State(s.state.clone()), s.auth.clone()).await?;
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

async fn goprefs_remove(s: Signed, form: FormData) -> Result<Response> {
    let slug = form.get("slug").to_string();
    let result = api::go::delete(State(s.state.clone()), s.auth.clone(), Path(slug.clone())).await;
    match result {
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

// ---- Search-engine guide -------------------------------------------------------------------

#[derive(Template)]
#[template(path = "profile/guide.html")]
struct GuidePage {
    ctx: Ctx,
    /// `https://host/go/%s`
    search_url: String,
    /// `https://host/go/`
    prefix: String,
}

async fn guide_page(s: Signed) -> Result<Response> {
    let prefix = s.ctx.go_prefix();
    render(&GuidePage {
        search_url: format!("{prefix}%s"),
        prefix,
        ctx: s.ctx,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_dates_become_the_end_of_the_day() {
        assert_eq!(expiry(""), None);
        assert_eq!(expiry("2030-01-31").as_deref(), Some("2030-01-31T23:59:59Z"));
        assert_eq!(
            expiry("2030-01-31T10:00:00Z").as_deref(),
            Some("2030-01-31T10:00:00Z")
        );
        assert!(Ts::parse(&expiry("2030-01-31").unwrap()).is_some());
    }

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
