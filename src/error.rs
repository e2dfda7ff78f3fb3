//! The one error of the use cases: what kind of failure it is, a stable machine code
//! (`INVALID_CODE`, `VALIDATION_ERROR` …), a human message and, for validation errors, the
//! fields at fault. It knows nothing of HTTP: the JSON API (`http::error`) turns the kind into a
//! status and the rest into the envelope `{"error", "code", "details"?}`; the pages turn it into
//! an HTML page or a form's error messages.

use std::borrow::Cow;

use serde::Serialize;

/// What kind of failure: decides the HTTP status at the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The input is wrong (400).
    BadRequest,
    /// No (good) credentials (401).
    Unauthorized,
    /// Signed in, but not allowed (403).
    Forbidden,
    /// No such thing, or not visible to the caller (404).
    NotFound,
    /// The change conflicts with the current state (409).
    Conflict,
    /// The input is larger than allowed (413).
    TooLarge,
    /// The input is in a format we do not take (415).
    UnsupportedMedia,
    /// Rate limited; see [`Error::retry_after`] (429).
    TooMany,
    /// Our fault (500): logged, never explained to the client.
    Internal,
    /// Something we depend on (the database) is not answering (503).
    Unavailable,
    /// A server we asked on the user's behalf failed (502).
    BadGateway,
    /// The client took too long to send its request (408).
    Timeout,
    /// The server's storage is full: nothing was written (507).
    StorageFull,
    /// A server we asked on the user's behalf did not answer in time (504).
    GatewayTimeout,
}

impl Kind {
    /// Whether the caller can fix it (the 4xx family).
    pub fn is_client(self) -> bool {
        !matches!(
            self,
            Kind::Internal | Kind::Unavailable | Kind::BadGateway | Kind::StorageFull | Kind::GatewayTimeout
        )
    }
}

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

#[derive(Debug, Clone)]
pub struct Error {
    pub kind: Kind,
    pub message: Cow<'static, str>,
    pub code: Cow<'static, str>,
    pub details: Option<Vec<FieldError>>,
    /// For [`Kind::TooMany`]: seconds until a retry may succeed.
    pub retry_after: Option<u64>,
}

/// `Result` with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(
        kind: Kind,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Error {
        Error {
            kind,
            message: message.into(),
            code: code.into(),
            details: None,
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Error {
        Error::new(Kind::BadRequest, "BAD_REQUEST", message)
    }

    /// A 400 naming one field; `message` is also the envelope's `error` (the original's clients
    /// show that string).
    pub fn invalid(field: &str, message: impl Into<Cow<'static, str>>) -> Error {
        let message = message.into();
        Error {
            details: Some(vec![FieldError {
                field: field.to_string(),
                message: message.to_string(),
            }]),
            ..Error::new(Kind::BadRequest, "VALIDATION_ERROR", message)
        }
    }

    /// A 400 for several fields; the first message becomes `error`.
    pub fn validation(details: Vec<FieldError>) -> Error {
        let message = details
            .first()
            .map(|d| d.message.clone())
            .unwrap_or_else(|| "Validation failed".into());
        Error {
            details: Some(details),
            ..Error::new(Kind::BadRequest, "VALIDATION_ERROR", message)
        }
    }

    pub fn unauthorized() -> Error {
        Error::new(Kind::Unauthorized, "UNAUTHORIZED", "Unauthorized")
    }

    pub fn forbidden() -> Error {
        Error::new(Kind::Forbidden, "FORBIDDEN", "Forbidden")
    }

    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Error {
        Error::new(Kind::NotFound, "NOT_FOUND", message)
    }

    pub fn conflict(code: &'static str, message: impl Into<Cow<'static, str>>) -> Error {
        Error::new(Kind::Conflict, code, message)
    }

    pub fn too_many(message: impl Into<Cow<'static, str>>, retry_after: u64) -> Error {
        Error {
            retry_after: Some(retry_after.max(1)),
            ..Error::new(Kind::TooMany, "RATE_LIMITED", message)
        }
    }

    pub fn too_large() -> Error {
        Error::new(Kind::TooLarge, "PAYLOAD_TOO_LARGE", "Request body is too large")
    }

    pub fn unsupported_media(message: impl Into<Cow<'static, str>>) -> Error {
        Error::new(Kind::UnsupportedMedia, "UNSUPPORTED_MEDIA_TYPE", message)
    }

    pub fn internal() -> Error {
        Error::new(Kind::Internal, "INTERNAL_ERROR", "Internal server error")
    }

    pub fn unavailable(message: impl Into<Cow<'static, str>>) -> Error {
        Error::new(Kind::Unavailable, "SERVICE_UNAVAILABLE", message)
    }

    pub fn with_code(mut self, code: &'static str) -> Error {
        self.code = code.into();
        self
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.message.to_string(),
            code: self.code.to_string(),
            details: self.details.clone(),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} {}: {}", self.kind, self.code, self.message)
    }
}

impl std::error::Error for Error {}

/// Runs CPU-heavy work (hashing, parsing, building tables) on a blocking thread, off the request
/// threads; a panic there becomes an internal error.
pub async fn off_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        tracing::error!(error = %e, "work on a blocking thread failed");
        Error::internal()
    })
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Error {
        match db_failure(&e) {
            Failure::Unavailable => {
                tracing::error!(error = %e, "database unavailable");
                Error::unavailable("Database unavailable")
            }
            Failure::Full => {
                tracing::error!(error = %e, "database storage full");
                Error::new(
                    Kind::StorageFull,
                    "STORAGE_FULL",
                    "The server's storage is full; nothing was saved",
                )
            }
            Failure::Other => {
                tracing::error!(error = %e, "database error");
                Error::internal()
            }
        }
    }
}

enum Failure {
    /// The database is not reachable, restarting, or out of connections: try again later.
    Unavailable,
    /// No space left to write.
    Full,
    Other,
}

fn db_failure(e: &sqlx::Error) -> Failure {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => Failure::Unavailable,
        sqlx::Error::Database(d) => {
            let code = d.code().unwrap_or_default();
            // SQLite: SQLITE_FULL (13). PostgreSQL: disk_full (53100), connection exceptions
            // (08…), operator intervention such as a shutdown (57…), too many connections.
            if code == "13" || code == "53100" {
                Failure::Full
            } else if code.starts_with("08") || code.starts_with("57") || code == "53300" {
                Failure::Unavailable
            } else {
                Failure::Other
            }
        }
        _ => Failure::Other,
    }
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Error {
        tracing::error!(error = %e, "internal error");
        Error::internal()
    }
}

/// Parses JSON with messages that say what is wrong and where.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => Error::new(
                Kind::BadRequest,
                "VALIDATION_ERROR",
                format!("Invalid request body: {e}"),
            ),
            _ => Error::new(Kind::BadRequest, "INVALID_JSON", format!("Malformed JSON: {e}")),
        }
    })
}
