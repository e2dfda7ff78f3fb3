//! `/api/admin/users/*`: user administration (admins only).

use axum::extract::State;
use serde_json::json;

use crate::api::auth::{message, MessageBody};
use crate::audit::{self, Event};
use crate::error::{AppError, AppResult, ErrorBody, Json, Path};
use crate::http::auth::{AdminUser, ClientOrigin};
use crate::state::AppState;
use crate::{mfa, users};

/// Turns MFA off for a user who lost their authenticator and backup codes, and ends their
/// sessions. Audited.
#[utoipa::path(post, path = "/api/admin/users/{id}/reset-mfa", tag = "AdminUsers",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, body = MessageBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "User not found", body = ErrorBody),
    ))]
pub async fn reset_mfa(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
) -> AppResult<Json<MessageBody>> {
    let user = users::by_id(&state.db, &id)
        .await?
        .ok_or_else(|| AppError::not_found("User not found"))?;
    mfa::reset(&state.db, &id).await?;
    audit::record(
        &state.db,
        &origin,
        Event {
            actor: Some(admin.id()),
            action: "user.mfa_reset",
            entity_type: "org_member",
            entity_id: Some(&id),
            metadata: json!({"email": user.email, "via": "api"}),
        },
    )
    .await;
    Ok(message("MFA reset"))
}
