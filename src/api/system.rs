//! Health, version and the CSRF token route.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use rand::RngCore;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{Error, ErrorBody};
use crate::http::cookies;
use crate::http::error::Json;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` when the server and its database answer.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Health check: answers 200 when the database answers, 503 otherwise.
#[utoipa::path(get, path = "/api/health", tag = "CSRFHealth", security(()),
    responses(
        (status = 200, description = "Server and database are up", body = Health),
        (status = 503, description = "The database does not answer", body = ErrorBody),
    ))]
pub async fn health(State(state): State<AppState>) -> Result<Response, Error> {
    match tokio::time::timeout(std::time::Duration::from_secs(3), state.db.ping()).await {
        Ok(Ok(())) => Ok(crate::http::no_store(
            Json(Health { status: "ok" }).into_response(),
        )),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: database error");
            Err(Error::unavailable("Database unavailable"))
        }
        Err(_) => Err(Error::unavailable("Database unavailable")),
    }
}

#[derive(Serialize, ToSchema)]
pub struct Ready {
    /// `ready` when the database answers and every migration of this build is applied.
    #[schema(example = "ready")]
    pub status: &'static str,
    /// The newest migration applied to the database.
    pub schema_version: i64,
}

/// Readiness for load balancers: 200 when the database answers within 3 s and its schema has
/// every migration this build knows, 503 (`NOT_READY`) otherwise. `/api/health` stays the cheap
/// liveness answer.
#[utoipa::path(get, path = "/api/ready", tag = "CSRFHealth", security(()),
    responses(
        (status = 200, description = "The database answers and is migrated", body = Ready),
        (status = 503, description = "The database does not answer or is not migrated", body = ErrorBody),
    ))]
pub async fn ready(State(state): State<AppState>) -> Result<Response, Error> {
    let not_ready = |why: String| Error::unavailable(why).with_code("NOT_READY");
    match tokio::time::timeout(std::time::Duration::from_secs(3), state.db.schema_version()).await {
        Ok(Ok((found, known))) if found >= known => Ok(crate::http::no_store(
            Json(Ready {
                status: "ready",
                schema_version: found,
            })
            .into_response(),
        )),
        Ok(Ok((found, known))) => Err(not_ready(format!(
            "Database schema is at version {found}; this server needs {known}"
        ))),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check: database error");
            Err(not_ready("Database unavailable".into()))
        }
        Err(_) => Err(not_ready("Database unavailable".into())),
    }
}

#[derive(Serialize, ToSchema)]
pub struct Version {
    pub version: &'static str,
    pub commit: Option<String>,
    /// Always `selfhosted`.
    pub mode: &'static str,
}

/// Version, commit (when known) and mode.
#[utoipa::path(get, path = "/api/version", tag = "CSRFHealth", security(()),
    responses((status = 200, description = "Version metadata", body = Version)))]
pub async fn version(State(state): State<AppState>) -> Json<Version> {
    Json(Version {
        version: env!("CARGO_PKG_VERSION"),
        commit: state
            .config
            .commit_sha
            .clone()
            .or_else(|| option_env!("COMMIT_SHA").map(str::to_string)),
        mode: "selfhosted",
    })
}

#[derive(Serialize, ToSchema)]
pub struct CsrfToken {
    /// Send this as `X-CSRF-Token` on cookie-authenticated writes.
    #[serde(rename = "csrfToken")]
    pub csrf_token: String,
}

/// Issues a fresh CSRF token and sets it as the `_csrf` cookie.
#[utoipa::path(get, path = "/api/csrf-token", tag = "CSRFHealth", security(()),
    responses((status = 200, description = "Token for the X-CSRF-Token header", body = CsrfToken)))]
pub async fn csrf_token(State(state): State<AppState>) -> Response {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let cookie = cookies::csrf(&state.config, &token);
    let mut res = Json(CsrfToken { csrf_token: token }).into_response();
    cookies::append(&mut res, &cookie);
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    res
}
