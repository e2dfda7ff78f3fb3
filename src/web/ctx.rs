//! What every page needs: who is looking (if anyone), in which language and theme, the flash
//! message left by the previous redirect; plus form parsing and the page answers.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::Arc;

use askama::Template;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use percent_encoding::{percent_decode_str, utf8_percent_encode, NON_ALPHANUMERIC};

use crate::audit::Origin;
use crate::error::{Error, Result};
use crate::http::auth::{AuthUser, ClientOrigin};
use crate::state::AppState;
use crate::users::User;
use crate::web::i18n::{self, Locale};

pub const FLASH: &str = "slugbase.flash";

/// The page frame's view of the request.
pub struct Ctx {
    pub tr: &'static Locale,
    pub theme: String,
    pub user: Option<Arc<User>>,
    pub path: String,
    /// `(kind, message)`, kind `ok` or `error`.
    pub flash: Option<(String, String)>,
    pub base_url: String,
    pub version: &'static str,
}

impl Ctx {
    pub fn t<'a>(&'a self, key: &'a str) -> &'a str {
        self.tr.get(key)
    }

    /// A string with `{0}` replaced.
    pub fn tf(&self, key: &str, a: impl Display) -> String {
        self.tr.get(key).replace("{0}", &a.to_string())
    }

    /// A string with `{0}` and `{1}` replaced.
    pub fn tf2(&self, key: &str, a: impl Display, b: impl Display) -> String {
        self.tr
            .get(key)
            .replace("{0}", &a.to_string())
            .replace("{1}", &b.to_string())
    }

    pub fn lang(&self) -> &'static str {
        self.tr.lang
    }

    pub fn is_admin(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.is_admin())
    }

    pub fn user_name(&self) -> &str {
        self.user.as_ref().map(|u| u.name.as_str()).unwrap_or("")
    }

    pub fn initials(&self) -> String {
        initials(self.user_name())
    }

    /// Whether the sidebar entry for `prefix` is the current page.
    pub fn active(&self, prefix: &str) -> bool {
        if prefix == "/" {
            self.path == "/"
        } else {
            self.path == prefix || self.path.starts_with(&format!("{prefix}/"))
        }
    }

    pub fn css(&self) -> &'static str {
        crate::web::assets::css_url()
    }

    pub fn js(&self) -> &'static str {
        crate::web::assets::js_url()
    }

    /// The go-link prefix users type, e.g. `https://links.example.com/go/`.
    pub fn go_prefix(&self) -> String {
        format!("{}/go/", self.base_url.trim_end_matches('/'))
    }

    /// A date in the page's language (`2026-11-28` / `28.11.2026`).
    pub fn date(&self, ts: &Option<crate::db::Ts>) -> String {
        let Some(ts) = ts else {
            return self.t("common.never").to_string();
        };
        let d = ts.0;
        if self.lang() == "de" {
            d.format("%d.%m.%Y").to_string()
        } else {
            d.format("%Y-%m-%d").to_string()
        }
    }

    pub fn datetime(&self, ts: &Option<crate::db::Ts>) -> String {
        let Some(ts) = ts else {
            return self.t("common.never").to_string();
        };
        if self.lang() == "de" {
            ts.0.format("%d.%m.%Y %H:%M").to_string()
        } else {
            ts.0.format("%Y-%m-%d %H:%M").to_string()
        }
    }
}

pub fn initials(name: &str) -> String {
    let s: String = name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .collect();
    s.to_uppercase()
}

pub fn build_ctx(
    state: &AppState,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
    user: Option<Arc<User>>,
) -> Ctx {
    let lang = match user.as_ref().and_then(|u| u.language.clone()) {
        Some(l) if i18n::LANGUAGES.contains(&l.as_str()) => l,
        _ if query_lang(uri).is_some() => query_lang(uri).unwrap_or("en").to_string(),
        _ => {
            let jar = CookieJar::from_headers(headers);
            match jar.get("slugbase.lang").map(|c| c.value().to_string()) {
                Some(l) if i18n::LANGUAGES.contains(&l.as_str()) => l,
                _ => i18n::negotiate(headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()))
                    .to_string(),
            }
        }
    };
    let theme = user
        .as_ref()
        .map(|u| u.theme())
        .filter(|t| ["light", "dark", "auto"].contains(&t.as_str()))
        .unwrap_or_else(|| "auto".into());
    Ctx {
        tr: i18n::locale(&lang),
        theme,
        user,
        path: uri.path().to_string(),
        flash: read_flash(headers),
        base_url: state.config.base_url.clone(),
        version: env!("CARGO_PKG_VERSION"),
    }
}

/// A guest's language choice (`?lang=de` on the sign-in pages).
pub fn query_lang(uri: &axum::http::Uri) -> Option<&'static str> {
    let q = uri.query()?;
    url::form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == "lang")
        .and_then(|(_, v)| i18n::LANGUAGES.iter().find(|l| **l == v).copied())
}

fn read_flash(headers: &HeaderMap) -> Option<(String, String)> {
    let jar = CookieJar::from_headers(headers);
    let raw = jar.get(FLASH)?.value().to_string();
    let decoded = percent_decode_str(&raw).decode_utf8().ok()?.to_string();
    let (kind, msg) = decoded.split_once('|')?;
    Some((kind.to_string(), msg.chars().take(300).collect()))
}

/// A visitor, signed in or not.
pub struct Web {
    pub ctx: Ctx,
    pub auth: Option<AuthUser>,
    pub origin: Origin,
    pub state: AppState,
}

impl FromRequestParts<AppState> for Web {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let auth = <AuthUser as OptionalFromRequestParts<AppState>>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let ClientOrigin(origin) = ClientOrigin::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let ctx = build_ctx(
            state,
            &parts.headers,
            &parts.uri,
            auth.as_ref().map(|a| a.user.clone()),
        );
        Ok(Web {
            ctx,
            auth,
            origin,
            state: state.clone(),
        })
    }
}

/// A signed-in visitor; others are sent to `/login` (or `/setup` on a fresh instance).
pub struct Signed {
    pub ctx: Ctx,
    pub auth: AuthUser,
    pub origin: Origin,
    pub state: AppState,
}

impl Signed {
    pub fn user_id(&self) -> &str {
        self.auth.id()
    }
}

async fn to_login(state: &AppState, parts: &Parts) -> Response {
    if crate::users::count(&state.db).await.unwrap_or(1) == 0 {
        return Redirect::to("/setup").into_response();
    }
    let target = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    if target == "/" {
        return Redirect::to("/login").into_response();
    }
    Redirect::to(&format!(
        "/login?redirect={}",
        utf8_percent_encode(target, NON_ALPHANUMERIC)
    ))
    .into_response()
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let web = Web::from_request_parts(parts, state).await?;
        match web.auth {
            Some(auth) => Ok(Signed {
                ctx: web.ctx,
                auth,
                origin: web.origin,
                state: web.state,
            }),
            None => Err(to_login(state, parts).await),
        }
    }
}

/// A signed-in admin; other users get the 403 page, as the API would refuse them.
pub struct Admin(pub Signed);

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let s = Signed::from_request_parts(parts, state).await?;
        if !s.auth.user.is_admin() {
            return Err(Error::forbidden().into_response());
        }
        Ok(Admin(s))
    }
}

/// A submitted form (repeated names allowed).
#[derive(Debug, Default, Clone)]
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    pub fn parse(body: &[u8]) -> FormData {
        FormData(
            url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    pub fn opt(&self, name: &str) -> Option<String> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn has(&self, name: &str, value: &str) -> bool {
        self.0.iter().any(|(k, v)| k == name && v == value)
    }

    /// A checkbox: present and not "false"/"0".
    pub fn checked(&self, name: &str) -> bool {
        self.0
            .iter()
            .any(|(k, v)| k == name && v != "false" && v != "0" && v != "off")
    }
}

impl<S: Send + Sync> axum::extract::FromRequest<S> for FormData {
    type Rejection = Response;
    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Response> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(FormData::parse(&bytes))
    }
}

/// Problems with a submitted form: one general message and messages per field.
#[derive(Debug, Default)]
pub struct FormErrors {
    pub general: Option<String>,
    pub fields: HashMap<String, String>,
}

impl FormErrors {
    pub fn from_error(tr: &Locale, e: &Error) -> FormErrors {
        let mut fields = HashMap::new();
        for d in e.details.iter().flatten() {
            fields.insert(d.field.clone(), d.message.clone());
        }
        let general = if fields.is_empty() {
            Some(error_message(tr, e))
        } else {
            None
        };
        FormErrors { general, fields }
    }

    pub fn general(message: String) -> FormErrors {
        FormErrors {
            general: Some(message),
            fields: HashMap::new(),
        }
    }

    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map(String::as_str).unwrap_or("")
    }

    pub fn any(&self) -> bool {
        self.general.is_some() || !self.fields.is_empty()
    }
}

/// The message of an error in the page's language: a translation of its code when there is one.
pub fn error_message(tr: &Locale, e: &Error) -> String {
    let key = format!("error.{}", e.code);
    let t = tr.get(&key);
    if t == key {
        e.message.to_string()
    } else {
        t.to_string()
    }
}

/// Renders a page (never cached: pages show the visitor's data).
pub fn render(t: &impl Template) -> Result<Response> {
    render_status(StatusCode::OK, t)
}

pub fn render_status(status: StatusCode, t: &impl Template) -> Result<Response> {
    let html = t.render().map_err(|e| {
        tracing::error!(error = %e, "template failed");
        Error::internal()
    })?;
    let mut res = (status, Html(html)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// A form problem (4xx) to show on the form again; anything else stays an error.
pub fn client_error(e: Error) -> Result<Error> {
    if e.kind.is_client() {
        Ok(e)
    } else {
        Err(e)
    }
}

/// The expired flash cookie (sent after a page showed the message).
pub fn clear_flash() -> Cookie<'static> {
    Cookie::build((FLASH, ""))
        .path("/")
        .max_age(cookie::time::Duration::seconds(0))
        .http_only(true)
        .same_site(SameSite::Lax)
        .build()
}

pub fn set_cookie(res: &mut Response, c: Cookie<'_>) {
    if let Ok(v) = HeaderValue::from_str(&c.to_string()) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// 303 to `to`, with a message for the next page.
pub fn redirect_with(to: &str, kind: &str, message: &str) -> Response {
    let mut res = Redirect::to(to).into_response();
    let value = utf8_percent_encode(&format!("{kind}|{message}"), NON_ALPHANUMERIC).to_string();
    set_cookie(
        &mut res,
        Cookie::build((FLASH, value))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .max_age(cookie::time::Duration::seconds(60))
            .build(),
    );
    res
}

pub fn redirect(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A local path to return to after sign-in (never another origin).
pub fn safe_return(target: &str) -> String {
    if target.starts_with('/') && !target.starts_with("//") && !target.starts_with("/\\") {
        target.to_string()
    } else {
        "/".to_string()
    }
}

/// Percent-encoding for a path segment or query value; unreserved characters (`-._~`, as in ids
/// and action names) stay readable.
pub fn enc(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    utf8_percent_encode(s, SET).to_string()
}

/// Where a form returns to: `target` (its hidden `return`/`back` field) when that is a local page
/// under `prefix`, else `prefix` itself.
pub fn back_under(target: &str, prefix: &str) -> String {
    let b = safe_return(target);
    let under = b == prefix || b.starts_with(&format!("{prefix}?")) || b.starts_with(&format!("{prefix}/"));
    if under && !b.contains("//") && !b.contains('\\') {
        b
    } else {
        prefix.to_string()
    }
}

/// After a form that stays on its list: back to `to` with `ok`, or with the refusal's message
/// (a 4xx); other errors remain error pages.
pub fn flash_outcome<T>(tr: &Locale, result: Result<T>, to: &str, ok: &str) -> Result<Response> {
    match result {
        Ok(_) => Ok(redirect_with(to, "ok", ok)),
        Err(e) => {
            let e = client_error(e)?;
            Ok(redirect_with(to, "error", &error_message(tr, &e)))
        }
    }
}
