//! `/api/dashboard/stats`.

use axum::extract::State;

use crate::dashboard::{self, Stats};
use crate::error::{ErrorBody, Result};
use crate::http::auth::AuthUser;
use crate::http::error::Json;
use crate::state::AppState;

/// Dashboard figures for the caller.
#[utoipa::path(get, path = "/api/dashboard/stats", tag = "Dashboard",
    responses((status = 200, body = Stats), (status = 401, body = ErrorBody)))]
pub async fn stats(State(state): State<AppState>, auth: AuthUser) -> Result<Json<Stats>> {
    Ok(Json(dashboard::stats(&state.db, &state.counts, auth.id()).await?))
}
