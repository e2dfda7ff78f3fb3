//! The OpenAPI document (`/openapi.json`, `/openapi.yaml`) and the API docs page (`/api-docs`),
//! whose Swagger UI assets are embedded in the binary.

use std::sync::Arc;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use utoipa::openapi::OpenApi;

use crate::error::Error;
use crate::state::AppState;

const BUNDLE: &str = include_str!("../../assets/vendor/swagger-ui/swagger-ui-bundle.js");
const CSS: &str = include_str!("../../assets/vendor/swagger-ui/swagger-ui.css");

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SlugBase API</title>
<link rel="stylesheet" href="/api-docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/api-docs/swagger-ui-bundle.js"></script>
<script src="/api-docs/init.js"></script>
</body>
</html>
"#;

const INIT: &str = r#"window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true });
});
"#;

pub fn router(doc: Arc<OpenApi>, with_ui: bool) -> Router<AppState> {
    let json = Arc::new(doc.to_pretty_json().unwrap_or_else(|_| "{}".into()));
    let yaml = Arc::new(doc.to_yaml().unwrap_or_default());
    let mut r = Router::new()
        .route(
            "/openapi.json",
            get(move || {
                let json = json.clone();
                async move { typed("application/json", json.as_str().to_owned()) }
            }),
        )
        .route(
            "/openapi.yaml",
            get(move || {
                let yaml = yaml.clone();
                async move { typed("application/yaml", yaml.as_str().to_owned()) }
            }),
        );
    if with_ui {
        r = r
            .route(
                "/api-docs",
                get(|| async { typed("text/html; charset=utf-8", PAGE.to_owned()) }),
            )
            .route(
                "/api-docs/",
                get(|| async { typed("text/html; charset=utf-8", PAGE.to_owned()) }),
            )
            .route(
                "/api-docs/init.js",
                get(|| async { asset("text/javascript", INIT) }),
            )
            .route(
                "/api-docs/swagger-ui-bundle.js",
                get(|| async { asset("text/javascript", BUNDLE) }),
            )
            .route(
                "/api-docs/swagger-ui.css",
                get(|| async { asset("text/css", CSS) }),
            );
    } else {
        r = r.route("/api-docs", get(|| async { Error::not_found("Not found") }));
    }
    r
}

fn typed(content_type: &'static str, body: String) -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response()
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        body,
    )
        .into_response()
}
