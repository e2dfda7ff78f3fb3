//! The one error type of the HTTP layer. Under `/api` it renders as the JSON envelope
//! `{"error", "code", "details"?}`; web pages render it as an HTML page.

use std::borrow::Cow;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// The JSON body of every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A human-readable message.
    pub error: String,
    /// A stable machine code such as `INVALID_CODE` or `VALIDATION_ERROR`.
    pub code: String,
    /// Per-field problems, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<FieldError>>,
}

#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub message: Cow<'static, str>,
    pub code: Cow<'static, str>,
    pub details: Option<Vec<FieldError>>,
    pub retry_after: Option<u64>,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> AppError {
        AppError {
            status,
            message: message.into(),
            code: code.into(),
            details: None,
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> AppError {
        AppError::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
    }

    /// A 400 naming one field; `message` is also the envelope's `error` (the original's clients
    /// show that string).
    pub fn invalid(field: &str, message: impl Into<Cow<'static, str>>) -> AppError {
        let message = message.into();
        AppError {
            details: Some(vec![FieldError {
                field: field.to_string(),
                message: message.to_string(),
            }]),
            ..AppError::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
        }
    }

    /// A 400 for several fields; the first message becomes `error`.
    pub fn validation(details: Vec<FieldError>) -> AppError {
        let message = details
            .first()
            .map(|d| d.message.clone())
            .unwrap_or_else(|| "Validation failed".into());
        AppError {
            details: Some(details),
            ..AppError::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
        }
    }

    pub fn unauthorized() -> AppError {
        AppError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "Unauthorized")
    }

    pub fn forbidden() -> AppError {
        AppError::new(StatusCode::FORBIDDEN, "FORBIDDEN", "Forbidden")
    }

    pub fn not_found(message: impl Into<Cow<'static, str>>) -> AppError {
        AppError::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }

    pub fn conflict(code: &'static str, message: impl Into<Cow<'static, str>>) -> AppError {
        AppError::new(StatusCode::CONFLICT, code, message)
    }

    pub fn too_many(message: impl Into<Cow<'static, str>>, retry_after: u64) -> AppError {
        AppError {
            retry_after: Some(retry_after.max(1)),
            ..AppError::new(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED", message)
        }
    }

    pub fn internal() -> AppError {
        AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "Internal server error",
        )
    }

    pub fn unavailable(message: impl Into<Cow<'static, str>>) -> AppError {
        AppError::new(StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE", message)
    }

    pub fn with_code(mut self, code: &'static str) -> AppError {
        self.code = code.into();
        self
    }

    /// The envelope for a bare status code (used for answers produced outside our handlers).
    pub fn from_status(status: StatusCode) -> AppError {
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
        AppError::new(status, code, message)
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.message.to_string(),
            code: self.code.to_string(),
            details: self.details.clone(),
        }
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut res = (self.status, axum::Json(self.body())).into_response();
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        res.extensions_mut().insert(RenderedError);
        res
    }
}

/// Marks a response whose body is already our envelope.
#[derive(Clone, Copy, Debug)]
pub struct RenderedError;

/// Runs CPU-heavy work (hashing, parsing, building tables) on a blocking thread, off the request
/// threads; a panic there becomes a 500.
pub async fn off_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        tracing::error!(error = %e, "work on a blocking thread failed");
        AppError::internal()
    })
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> AppError {
        match &e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                tracing::error!(error = %e, "database unavailable");
                AppError::unavailable("Database unavailable")
            }
            _ => {
                tracing::error!(error = %e, "database error");
                AppError::internal()
            }
        }
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> AppError {
        tracing::error!(error = %e, "internal error");
        AppError::internal()
    }
}

impl From<axum::extract::rejection::JsonRejection> for AppError {
    fn from(r: axum::extract::rejection::JsonRejection) -> AppError {
        use axum::extract::rejection::JsonRejection as J;
        match r {
            J::MissingJsonContentType(_) => AppError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                "Expected a JSON body (Content-Type: application/json)",
            ),
            J::JsonSyntaxError(e) => AppError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_JSON",
                format!(
                    "Malformed JSON: {}",
                    e.body_text().rsplit(": ").next().unwrap_or("")
                ),
            ),
            J::JsonDataError(e) => AppError::new(
                StatusCode::BAD_REQUEST,
                "VALIDATION_ERROR",
                format!(
                    "Invalid request body: {}",
                    e.body_text().rsplit(": ").next().unwrap_or("")
                ),
            ),
            J::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                AppError::from_status(StatusCode::PAYLOAD_TOO_LARGE)
            }
            other => AppError::new(other.status(), "BAD_REQUEST", "Bad request"),
        }
    }
}

impl From<axum_extra::extract::QueryRejection> for AppError {
    fn from(r: axum_extra::extract::QueryRejection) -> AppError {
        AppError::new(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            format!(
                "Invalid query string: {}",
                r.body_text().rsplit(": ").next().unwrap_or("")
            ),
        )
    }
}

impl From<axum::extract::rejection::PathRejection> for AppError {
    fn from(_: axum::extract::rejection::PathRejection) -> AppError {
        AppError::not_found("Not found")
    }
}

/// JSON body extractor (at most [`JSON_LIMIT`] bytes) whose rejections are our envelope.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

/// The original's 10 MiB limit for JSON bodies (imports may be larger).
pub const JSON_LIMIT: usize = 10 * 1024 * 1024;

impl<T, S> axum::extract::FromRequest<S> for Json<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: axum::extract::Request, _state: &S) -> Result<Self, AppError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|m| {
                let m = m.trim().to_ascii_lowercase();
                m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(AppError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                "Expected a JSON body (Content-Type: application/json)",
            ));
        }
        let bytes = read_body(req, JSON_LIMIT).await?;
        parse_json(&bytes).map(Json)
    }
}

/// Reads a whole body, refusing more than `limit` bytes with 413. A declared `Content-Length`
/// over the limit is refused before any of the body is read, so the client gets its answer
/// while it is still sending instead of a connection closed under it.
pub async fn read_body(req: axum::extract::Request, limit: usize) -> Result<axum::body::Bytes, AppError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(AppError::from_status(StatusCode::PAYLOAD_TOO_LARGE));
    }
    axum::body::to_bytes(req.into_body(), limit).await.map_err(|e| {
        let too_large = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
            || e.to_string().contains("length limit");
        if too_large {
            AppError::from_status(StatusCode::PAYLOAD_TOO_LARGE)
        } else {
            AppError::bad_request("Could not read the request body")
        }
    })
}

/// Parses JSON with messages that say what is wrong and where.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    serde_json::from_slice(bytes).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => AppError::new(
                StatusCode::BAD_REQUEST,
                "VALIDATION_ERROR",
                format!("Invalid request body: {e}"),
            ),
            _ => AppError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_JSON",
                format!("Malformed JSON: {e}"),
            ),
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
#[from_request(via(axum_extra::extract::Query), rejection(AppError))]
pub struct Query<T>(pub T);

/// `Path<T>` whose rejections are our envelope.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct Path<T>(pub T);
