//! `/api/tokens`: personal API tokens (list, create — the secret is shown once —, revoke).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::auth::{message, MessageBody};
use crate::auth::api_tokens::{self, CreateToken, TokenInfo};
use crate::db::Ts;
use crate::error::{ErrorBody, Result};
use crate::http::auth::{AuthUser, ClientOrigin};
use crate::http::error::{Json, Path};
use crate::state::AppState;

/// The caller's active tokens, newest first. Never the secret.
#[utoipa::path(get, path = "/api/tokens", tag = "Tokens",
    responses((status = 200, body = Vec<TokenInfo>), (status = 401, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, auth: AuthUser) -> Result<Json<Vec<TokenInfo>>> {
    Ok(Json(api_tokens::list(&state.db, auth.id()).await?))
}

#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    /// The secret, `sb_…`. Shown only in this answer.
    pub token: String,
    pub id: String,
    pub name: String,
    pub created_at: Option<Ts>,
    pub expires_at: Option<Ts>,
}

/// Creates a token (at most 10 active per user).
#[utoipa::path(post, path = "/api/tokens", tag = "Tokens", request_body = CreateToken,
    responses(
        (status = 201, body = CreatedToken),
        (status = 400, description = "Invalid name or expiry, or 10 tokens already", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    auth: AuthUser,
    Json(body): Json<CreateToken>,
) -> Result<Response> {
    let (info, token) = api_tokens::create_token(&state.db, &origin, auth.id(), body).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token,
            id: info.id,
            name: info.name,
            created_at: info.created_at,
            expires_at: info.expires_at,
        }),
    )
        .into_response())
}

/// Revokes one of the caller's tokens; it stops working at once.
#[utoipa::path(delete, path = "/api/tokens/{id}", tag = "Tokens",
    params(("id" = String, Path, description = "Token id")),
    responses(
        (status = 200, body = MessageBody),
        (status = 400, description = "Token not found (the original's status)", body = ErrorBody),
        (status = 401, body = ErrorBody),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    auth: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<MessageBody>> {
    api_tokens::revoke_token(&state.db, &origin, auth.id(), &id).await?;
    Ok(message("Token revoked"))
}
