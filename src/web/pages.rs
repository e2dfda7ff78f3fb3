//! Small self-contained HTML pages (go-link answers, errors).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem;\
color:#1f2937;background:#fff}@media(prefers-color-scheme:dark){body{color:#e5e7eb;background:#111827}a{color:#93c5fd}}\
h1{font-size:1.5rem}table{border-collapse:collapse;width:100%}td,th{padding:.5rem;border-bottom:1px solid #8884;\
text-align:left}.button{display:inline-block;padding:.4rem .8rem;border:1px solid currentColor;border-radius:.4rem;\
text-decoration:none}";

/// A page with `body_html` (already escaped) inside the common frame.
pub fn page(status: StatusCode, title: &str, body_html: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>{body_html}</main>\
         <footer><p><a href=\"/\">SlugBase</a></p></footer></body></html>",
        escape(title)
    );
    let mut res = (status, html).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    res
}
