//! Server-rendered pages. The full web interface is its own piece of work; until it lands the
//! root page says where the API and its documentation are.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::error::AppError;
use crate::state::AppState;

pub mod go;
pub mod pages;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/go/{*rest}", get(go::go))
        .route("/opensearch.xml", get(go::opensearch))
}

/// An error as an HTML page (for browser-facing routes).
pub fn error_page(e: &AppError) -> Response {
    pages::page(
        e.status,
        &e.message,
        &format!("<h1>{}</h1>", pages::escape(&e.message)),
    )
}

async fn home() -> Html<&'static str> {
    Html(concat!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        "<title>SlugBase</title></head><body>",
        "<h1>SlugBase</h1><p>This server speaks the SlugBase API. ",
        "Its documentation is at <a href=\"/api-docs\">/api-docs</a>.</p>",
        "</body></html>"
    ))
}

/// The 404 page for paths outside the API.
pub fn not_found_page() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(concat!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">",
            "<title>Not found · SlugBase</title></head><body>",
            "<h1>Page not found</h1><p><a href=\"/\">Back to SlugBase</a></p></body></html>"
        )),
    )
        .into_response()
}
