//! The web interface: server-rendered pages (askama templates compiled into the binary) at the
//! original's paths, forms that work without JavaScript, and a small script for the rest.
//! Page handlers are thin: they parse the form, call the same functions as the JSON API and
//! render a template or redirect.

use askama::Template;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::error::{Error, Kind};
use crate::http::error::Rendered;
use crate::state::AppState;

pub mod admin;
pub mod assets;
pub mod auth_pages;
pub mod bookmarks;
pub mod ctx;
pub mod dashboard;
pub mod go;
pub mod i18n;
pub mod library;
pub mod pages;
pub mod profile;
pub mod recovery_pages;

use ctx::Ctx;

pub fn router() -> Router<AppState> {
    // Pages and assets are compressed (gzip) when the browser accepts it; go-link redirects
    // have no body worth compressing and stay on the fast path.
    let pages = Router::new()
        .route("/static/{name}", get(assets::serve))
        .route("/favicon.ico", get(assets::favicon))
        .route("/manifest.webmanifest", get(assets::manifest))
        .merge(auth_pages::router())
        .merge(recovery_pages::router())
        .merge(dashboard::router())
        .merge(bookmarks::router())
        .merge(library::router())
        .merge(profile::router())
        .merge(admin::router())
        .layer(tower_http::compression::CompressionLayer::new().compress_when({
            use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
            // Error envelopes stay plain: the page layer turns them into HTML pages.
            DefaultPredicate::new().and(NotForContentType::const_new("application/json"))
        }));
    Router::new()
        .route("/go/{*rest}", get(go::go))
        .route("/opensearch.xml", get(go::opensearch))
        .merge(pages)
}

/// What the page layer keeps of a request to finish its answer.
pub struct PageRequest {
    headers: HeaderMap,
    uri: axum::http::Uri,
}

/// Paths whose answers the page layer leaves alone.
fn outside(path: &str) -> bool {
    path.starts_with("/go/")
        || path.starts_with("/static/")
        || path.starts_with("/api-docs")
        || path == "/metrics"
}

/// Before a page request: keeps what the answer needs.
pub fn before(req: &Request) -> Option<PageRequest> {
    let path = req.uri().path();
    if outside(path) {
        return None;
    }
    let mut headers = HeaderMap::new();
    for name in [header::COOKIE, header::ACCEPT_LANGUAGE, header::AUTHORIZATION] {
        for v in req.headers().get_all(&name) {
            headers.append(name.clone(), v.clone());
        }
    }
    Some(PageRequest {
        headers,
        uri: req.uri().clone(),
    })
}

/// Refuses a form posted from another site (see [`cross_site`]).
pub fn cross_site_refusal(req: &Request) -> Option<Response> {
    cross_site(req.headers()).then(|| {
        Error::new(
            Kind::Forbidden,
            "CSRF_INVALID",
            "This form was sent from another site.",
        )
        .into_response()
    })
}

/// Cross-site request forgery protection for the pages' forms (the approach of Go's
/// `http.CrossOriginProtection`): browsers say where a request comes from in
/// `Sec-Fetch-Site` or `Origin`; a form posted from another site is refused. Requests with
/// neither header do not come from a browser and carry no ambient cookies to abuse.
fn cross_site(h: &HeaderMap) -> bool {
    if let Some(site) = h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return !(site == "same-origin" || site == "none");
    }
    let Some(origin) = h.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = h.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let origin_host = origin.split("://").nth(1).unwrap_or("");
    origin == "null" || !origin_host.eq_ignore_ascii_case(host)
}

/// After a page request: errors become HTML pages in the visitor's language, and a flash
/// message that a page showed is dropped.
pub async fn after(state: &AppState, req: PageRequest, mut res: Response) -> Response {
    if let Some(Rendered(e)) = res.extensions_mut().remove::<Rendered>() {
        let status = res.status();
        let user = crate::http::auth::authenticate(state, &req.headers)
            .await
            .ok()
            .flatten()
            .map(|a| a.user);
        let ctx = ctx::build_ctx(state, &req.headers, &req.uri, user);
        let mut out = error_response(ctx, status, &e.code, &e.message);
        for name in [header::RETRY_AFTER, header::SET_COOKIE, header::ALLOW] {
            for v in res.headers().get_all(&name) {
                out.headers_mut().append(name.clone(), v.clone());
            }
        }
        return out;
    }
    let has_flash = req
        .headers
        .get_all(header::COOKIE)
        .iter()
        .any(|v| v.to_str().unwrap_or("").contains(ctx::FLASH));
    let shown = res.status() == StatusCode::OK
        && res
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.to_str().unwrap_or("").starts_with("text/html"));
    if has_flash && shown {
        ctx::set_cookie(&mut res, ctx::clear_flash());
    }
    if let Some(lang) = ctx::query_lang(&req.uri) {
        ctx::set_cookie(
            &mut res,
            axum_extra::extract::cookie::Cookie::build(("slugbase.lang", lang))
                .path("/")
                .max_age(cookie::time::Duration::days(365))
                .same_site(axum_extra::extract::cookie::SameSite::Lax)
                .build(),
        );
    }
    res
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    ctx: Ctx,
    status: u16,
    heading: String,
    message: String,
}

fn error_response(ctx: Ctx, status: StatusCode, code: &str, message: &str) -> Response {
    let heading_key = match status.as_u16() {
        400 | 422 => "error.bad_request",
        401 => "error.unauthorized",
        403 => "error.forbidden",
        404 => "error.not_found",
        413 => "error.too_large",
        429 => "error.too_many",
        s if s >= 500 => "error.server",
        _ => "error.bad_request",
    };
    let coded = format!("error.{code}");
    let message = if ctx.t(&coded) != coded {
        ctx.t(&coded).to_string()
    } else if status.is_server_error() || message.is_empty() {
        ctx.t(&format!("{heading_key}_body")).to_string()
    } else {
        message.to_string()
    };
    let page = ErrorPage {
        heading: ctx.t(heading_key).to_string(),
        status: status.as_u16(),
        message,
        ctx,
    };
    match page.render() {
        Ok(html) => {
            let mut res = (status, axum::response::Html(html)).into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(_) => (status, "Error").into_response(),
    }
}

/// An error as an HTML page, for answers built outside the page layer (go links).
pub fn error_page(e: &Error) -> Response {
    pages::page(
        crate::http::error::status(e.kind),
        &e.message,
        &format!("<h1>{}</h1>", pages::escape(&e.message)),
    )
}

/// The 404 page for paths outside the API (rendered in the visitor's language by [`after`]).
pub fn not_found_page() -> Response {
    Error::not_found("Page not found").into_response()
}

/// The command palette's navigation entries and strings, for the page script.
pub fn palette_json(ctx: &Ctx) -> String {
    let mut nav = vec![
        (ctx.t("nav.dashboard"), "/"),
        (ctx.t("nav.bookmarks"), "/bookmarks"),
        (ctx.t("nav.folders"), "/folders"),
        (ctx.t("nav.tags"), "/tags"),
        (ctx.t("nav.profile"), "/profile"),
        (ctx.t("nav.go_preferences"), "/go-preferences"),
        (ctx.t("nav.search_guide"), "/search-engine-guide"),
    ];
    if ctx.is_admin() {
        nav.push((ctx.t("nav.members"), "/admin/members"));
        nav.push((ctx.t("nav.teams"), "/admin/teams"));
        nav.push((ctx.t("nav.settings"), "/admin/settings"));
        nav.push((ctx.t("nav.audit_log"), "/admin/audit-log"));
    }
    let actions = [
        (ctx.t("bookmarks.create"), "/bookmarks?create=true"),
        (ctx.t("folders.create"), "/folders?create=true"),
        (ctx.t("bookmarks.import"), "/bookmarks?import=true"),
        (ctx.t("bookmarks.export"), "/bookmarks/export"),
    ];
    let item = |(label, url): &(&str, &str)| serde_json::json!({"label": label, "url": url});
    let v = serde_json::json!({
        "nav": nav.iter().map(item).collect::<Vec<_>>(),
        "actions": actions.iter().map(item).collect::<Vec<_>>(),
        "go": ctx.go_prefix(),
        "strings": {
            "placeholder": ctx.t("palette.placeholder"),
            "navigation": ctx.t("palette.navigation"),
            "actions": ctx.t("palette.actions"),
            "bookmarks": ctx.t("nav.bookmarks"),
            "folders": ctx.t("nav.folders"),
            "tags": ctx.t("nav.tags"),
            "empty": ctx.t("palette.empty"),
            "open_go": ctx.t("palette.open_go"),
            "copied": ctx.t("common.copied"),
        }
    });
    v.to_string().replace("</", "<\\/")
}
