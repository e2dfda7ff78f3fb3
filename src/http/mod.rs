//! What both HTTP surfaces share, below them: who is calling ([`auth`]), cookies, errors and
//! extractors ([`error`]), files in and out, the API documentation route, and the security
//! headers. It knows neither surface; [`crate::router`] puts them together.

pub mod auth;
pub mod cookies;
pub mod docs;
pub mod error;
pub mod files;
pub mod metrics;

use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// Paths whose errors are answered with the JSON envelope.
pub fn is_api_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/") || path.starts_with("/openapi.")
}

pub struct SecurityHeaders {
    list: Vec<(HeaderName, HeaderValue)>,
}

impl SecurityHeaders {
    /// Adds the headers a response does not set itself (one map lookup per header).
    pub fn apply(&self, headers: &mut axum::http::HeaderMap) {
        headers.reserve(self.list.len());
        for (k, v) in &self.list {
            if let axum::http::header::Entry::Vacant(e) = headers.entry(k) {
                e.insert(v.clone());
            }
        }
    }

    pub fn new(state: &AppState) -> SecurityHeaders {
        let https = state.config.base_url.starts_with("https://");
        let mut csp = String::from(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
             font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
             frame-ancestors 'none'",
        );
        if https {
            csp.push_str("; upgrade-insecure-requests");
        }
        let mut list = vec![
            (header::CONTENT_SECURITY_POLICY, csp),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".into()),
            (header::X_FRAME_OPTIONS, "DENY".into()),
            (header::REFERRER_POLICY, "no-referrer".into()),
            (
                HeaderName::from_static("cross-origin-opener-policy"),
                "same-origin".into(),
            ),
            (
                HeaderName::from_static("cross-origin-resource-policy"),
                "same-origin".into(),
            ),
            (
                HeaderName::from_static("x-permitted-cross-domain-policies"),
                "none".into(),
            ),
            (
                HeaderName::from_static("permissions-policy"),
                "camera=(), microphone=(), geolocation=()".into(),
            ),
        ];
        if https {
            list.push((
                header::STRICT_TRANSPORT_SECURITY,
                "max-age=31536000; includeSubDomains".into(),
            ));
        }
        SecurityHeaders {
            list: list
                .into_iter()
                .filter_map(|(k, v)| HeaderValue::from_str(&v).ok().map(|v| (k, v)))
                .collect(),
        }
    }
}

/// `Cache-Control: no-store`, for answers that must never be cached.
pub fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A plain status answer for places where a body adds nothing.
pub fn status(code: StatusCode) -> Response {
    code.into_response()
}
