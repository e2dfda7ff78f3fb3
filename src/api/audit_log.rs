//! `GET /api/admin/audit-log`: the audit log for admins, newest first, with cursor pagination and
//! filters.

use axum::extract::State;

use crate::admin::audit_log::{self, AuditPage, AuditQuery};
use crate::error::{ErrorBody, Result};
use crate::http::auth::AdminUser;
use crate::http::error::{Json, Query};
use crate::state::AppState;

/// The audit log, newest first.
#[utoipa::path(get, path = "/api/admin/audit-log", tag = "AdminAuditLog", params(AuditQuery),
    responses(
        (status = 200, body = AuditPage),
        (status = 400, description = "Half a cursor or a bad date", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ))]
pub async fn audit_log(
    State(state): State<AppState>,
    _admin: AdminUser,
    Query(q): Query<AuditQuery>,
) -> Result<Json<AuditPage>> {
    Ok(Json(audit_log::page(&state.db, q).await?))
}
