//! The admin area: `/admin` (redirects), members, teams, settings and the audit log.

use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}
