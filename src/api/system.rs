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
