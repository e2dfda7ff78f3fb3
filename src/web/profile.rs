//! `/profile` (account, appearance, password, MFA, API tokens, danger zone), `/go-preferences`
//! and `/search-engine-guide`.

use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}
