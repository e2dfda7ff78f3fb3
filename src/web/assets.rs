//! The stylesheet, script and icon of the web interface, compiled into the binary and served
//! under content-hashed names so browsers may keep them for a year.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

const CSS: &str = include_str!("../../assets/web/app.css");
const JS: &str = include_str!("../../assets/web/app.js");
const ICON: &str = include_str!("../../assets/web/icon.svg");

struct Asset {
    url: String,
    body: &'static str,
    content_type: &'static str,
}

fn build(stem: &str, ext: &str, body: &'static str, content_type: &'static str) -> Asset {
    let hash = hex::encode(&Sha256::digest(body.as_bytes())[..5]);
    Asset {
        url: format!("/static/{stem}.{hash}.{ext}"),
        body,
        content_type,
    }
}

fn all() -> &'static [Asset; 3] {
    static ASSETS: OnceLock<[Asset; 3]> = OnceLock::new();
    ASSETS.get_or_init(|| {
        [
            build("app", "css", CSS, "text/css; charset=utf-8"),
            build("app", "js", JS, "text/javascript; charset=utf-8"),
            build("icon", "svg", ICON, "image/svg+xml"),
        ]
    })
}

pub fn css_url() -> &'static str {
    &all()[0].url
}

pub fn js_url() -> &'static str {
    &all()[1].url
}

pub fn icon_url() -> &'static str {
    &all()[2].url
}

/// `SLUGBASE_ASSETS_DIR`: serve the stylesheet and script from this folder instead of the
/// binary, read at each request (for working on them without rebuilding).
fn dev_dir() -> Option<&'static std::path::PathBuf> {
    static DIR: OnceLock<Option<std::path::PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| std::env::var_os("SLUGBASE_ASSETS_DIR").map(Into::into))
        .as_ref()
}

pub async fn serve(Path(name): Path<String>) -> Response {
    let path = format!("/static/{name}");
    match all().iter().find(|a| a.url == path) {
        Some(a) => {
            let mut res = match dev_dir() {
                Some(dir) => {
                    let file = format!(
                        "{}.{}",
                        name.split('.').next().unwrap_or(""),
                        name.rsplit('.').next().unwrap_or("")
                    );
                    std::fs::read_to_string(dir.join(file))
                        .unwrap_or_default()
                        .into_response()
                }
                None => a.body.into_response(),
            };
            let h = res.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(a.content_type));
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static(if dev_dir().is_some() {
                    "no-store"
                } else {
                    "public, max-age=31536000, immutable"
                }),
            );
            res
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Browsers ask for `/favicon.ico` when they show something that is not a page (an API answer
/// after a go link): the same icon.
pub async fn favicon() -> Response {
    let mut res = ICON.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    res
}

/// The web app manifest: installable as an app, and a share target, so a phone that installed
/// SlugBase can share a link into the quick-capture form (`/bookmarks/new`).
pub async fn manifest() -> Response {
    let body = serde_json::json!({
        "name": "SlugBase",
        "short_name": "SlugBase",
        "description": "Bookmarks and go links",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#5764f1",
        "icons": [
            {"src": icon_url(), "sizes": "any", "type": "image/svg+xml", "purpose": "any"}
        ],
        "share_target": {
            "action": "/bookmarks/new",
            "method": "GET",
            "params": {"title": "title", "text": "text", "url": "url"}
        }
    });
    let mut res = body.to_string().into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/manifest+json"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    res
}
