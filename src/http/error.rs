//! Errors at the HTTP edge: a use case's [`Error`] becomes a status and the JSON envelope
//! `{"error", "code", "details"?}`; request bodies, query strings and paths that cannot be read
//! become the same envelope (the extractors [`Json`], [`Query`], [`Path`]).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::{Error, ErrorBody, Kind};

/// The status a kind of failure is answered with.
pub fn status(kind: Kind) -> StatusCode {
    match kind {
        Kind::BadRequest => StatusCode::BAD_REQUEST,
        Kind::Unauthorized => StatusCode::UNAUTHORIZED,
        Kind::Forbidden => StatusCode::FORBIDDEN,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::Conflict => StatusCode::CONFLICT,
        Kind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Kind::UnsupportedMedia => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Kind::TooMany => StatusCode::TOO_MANY_REQUESTS,
        Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Kind::BadGateway => StatusCode::BAD_GATEWAY,
        Kind::Timeout => StatusCode::REQUEST_TIMEOUT,
        Kind::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
        Kind::GatewayTimeout => StatusCode::GATEWAY_TIMEOUT,
    }
}

/// A request body that did not arrive within `HTTP_BODY_TIMEOUT` (set by the server loop).
#[derive(Debug)]
pub struct BodyTimedOut;

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body took too long to arrive")
    }
}

impl std::error::Error for BodyTimedOut {}

/// Whether an error from reading a body is [`BodyTimedOut`], anywhere in its chain.
fn timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.is::<BodyTimedOut>() {
            return true;
        }
        cur = err.source();
    }
    false
}

fn body_timeout() -> Error {
    Error::new(
        Kind::Timeout,
        "REQUEST_TIMEOUT",
        "The request body took too long to arrive",
    )
}

/// Marks a response whose body is already the envelope, and keeps the error it came from, so
/// that the page layer can show it as an HTML page without reading the body back.
#[derive(Clone, Debug)]
pub struct Rendered(pub Error);

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let mut res = (status(self.kind), axum::Json(self.body())).into_response();
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        res.extensions_mut().insert(Rendered(self));
        res
    }
}

/// The envelope for a bare status code (answers produced outside our handlers: unknown methods,
/// bodies over the limit, timeouts).
pub fn envelope(status: StatusCode) -> Response {
    let (code, message) = match status {
        StatusCode::BAD_REQUEST => ("BAD_REQUEST", "Bad request"),
        StatusCode::UNAUTHORIZED => ("UNAUTHORIZED", "Unauthorized"),
        StatusCode::FORBIDDEN => ("FORBIDDEN", "Forbidden"),
        StatusCode::NOT_FOUND => ("NOT_FOUND", "Not found"),
        StatusCode::METHOD_NOT_ALLOWED => ("METHOD_NOT_ALLOWED", "Method not allowed"),
        StatusCode::PAYLOAD_TOO_LARGE => ("PAYLOAD_TOO_LARGE", "Request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("UNSUPPORTED_MEDIA_TYPE", "Unsupported content type"),
        StatusCode::REQUEST_TIMEOUT => ("REQUEST_TIMEOUT", "Request timed out"),
        StatusCode::TOO_MANY_REQUESTS => ("RATE_LIMITED", "Too many requests, please try again later."),
        StatusCode::SERVICE_UNAVAILABLE => ("SERVICE_UNAVAILABLE", "Service unavailable"),
        s if s.is_client_error() => ("BAD_REQUEST", "Bad request"),
        _ => ("INTERNAL_ERROR", "Internal server error"),
    };
    let body = ErrorBody {
        error: message.into(),
        code: code.into(),
        details: None,
    };
    (status, axum::Json(body)).into_response()
}

/// A rejection's message without axum's prefix.
fn tail(text: &str) -> &str {
    text.rsplit(": ").next().unwrap_or("")
}

impl From<axum::extract::rejection::JsonRejection> for Error {
    fn from(r: axum::extract::rejection::JsonRejection) -> Error {
        use axum::extract::rejection::JsonRejection as J;
        match r {
            J::MissingJsonContentType(_) => {
                Error::unsupported_media("Expected a JSON body (Content-Type: application/json)")
            }
            J::JsonSyntaxError(e) => Error::new(
                Kind::BadRequest,
                "INVALID_JSON",
                format!("Malformed JSON: {}", tail(&e.body_text())),
            ),
            J::JsonDataError(e) => Error::new(
                Kind::BadRequest,
                "VALIDATION_ERROR",
                format!("Invalid request body: {}", tail(&e.body_text())),
            ),
            J::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Error::too_large(),
            _ => Error::bad_request("Bad request"),
        }
    }
}

impl From<axum_extra::extract::QueryRejection> for Error {
    fn from(r: axum_extra::extract::QueryRejection) -> Error {
        Error::new(
            Kind::BadRequest,
            "VALIDATION_ERROR",
            format!("Invalid query string: {}", tail(&r.body_text())),
        )
    }
}

impl From<axum::extract::rejection::PathRejection> for Error {
    fn from(_: axum::extract::rejection::PathRejection) -> Error {
        Error::not_found("Not found")
    }
}

/// An upload that could not be read (multipart).
pub fn upload_error(e: axum::extract::multipart::MultipartError) -> Error {
    if timed_out(&e) {
        return body_timeout();
    }
    let kind = match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => Kind::TooLarge,
        s if s.is_server_error() => Kind::Internal,
        _ => Kind::BadRequest,
    };
    Error::new(kind, "BAD_REQUEST", format!("Invalid upload: {}", e.body_text()))
}

/// JSON body extractor (at most [`JSON_LIMIT`] bytes) whose rejections are our envelope.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

/// The original's 10 MiB limit for JSON bodies (imports may be larger).
pub const JSON_LIMIT: usize = 10 * 1024 * 1024;

/// Whether the request says its body is JSON.
pub fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
        .unwrap_or(false)
}

impl<T, S> axum::extract::FromRequest<S> for Json<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: axum::extract::Request, _state: &S) -> Result<Self, Error> {
        if !is_json(req.headers()) {
            return Err(Error::unsupported_media(
                "Expected a JSON body (Content-Type: application/json)",
            ));
        }
        let bytes = read_body(req, JSON_LIMIT).await?;
        crate::error::parse_json(&bytes).map(Json)
    }
}

/// Reads a whole body, refusing more than `limit` bytes with 413. A declared `Content-Length`
/// over the limit is refused before any of the body is read, so the client gets its answer
/// while it is still sending instead of a connection closed under it.
pub async fn read_body(req: axum::extract::Request, limit: usize) -> Result<axum::body::Bytes, Error> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(Error::too_large());
    }
    axum::body::to_bytes(req.into_body(), limit).await.map_err(|e| {
        if timed_out(&e) {
            return body_timeout();
        }
        let too_large = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
            || e.to_string().contains("length limit");
        if too_large {
            Error::too_large()
        } else {
            Error::bad_request("Could not read the request body")
        }
    })
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `Query<T>` (repeated keys become lists) whose rejections are our envelope.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum_extra::extract::Query), rejection(Error))]
pub struct Query<T>(pub T);

/// `Path<T>` whose rejections are our envelope.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Error))]
pub struct Path<T>(pub T);
