//! `/api/tokens`: personal API tokens (list, create — the secret is shown once —, revoke).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::api::auth::{message, MessageBody};
use crate::audit;
use crate::auth::api_tokens::{self, TokenInfo};
use crate::auth::ratelimit;
use crate::db::Ts;
use crate::error::{Error, ErrorBody, Result};
use crate::http::auth::{AuthUser, ClientOrigin};
use crate::http::error::{Json, Path};
use crate::state::AppState;
use crate::users::sanitize_text;

/// The caller's active tokens, newest first. Never the secret.
#[utoipa::path(get, path = "/api/tokens", tag = "Tokens",
    responses((status = 200, body = Vec<TokenInfo>), (status = 401, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, auth: AuthUser) -> Result<Json<Vec<TokenInfo>>> {
    Ok(Json(api_tokens::list(&state.db, auth.id()).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateToken {
    pub name: Option<serde_json::Value>,
    /// Optional expiry (ISO 8601); the token stops working then.
    pub expires_at: Option<String>,
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
    let Some(serde_json::Value::String(raw)) = body.name else {
        return Err(Error::invalid("name", "Token name is required"));
    };
    let name = sanitize_text(&raw);
    if name.is_empty() {
        return Err(Error::invalid("name", "Token name must be at least 1 characters"));
    }
    if name.chars().count() > 100 {
        return Err(Error::invalid(
            "name",
            "Token name must be no more than 100 characters",
        ));
    }
    let expires_at = match body.expires_at.as_deref().filter(|s| !s.trim().is_empty()) {
        None => None,
        Some(s) => match Ts::parse(s) {
            Some(t) if t > Ts::now() => Some(t),
            Some(_) => return Err(Error::invalid("expires_at", "Expiry must be in the future")),
            None => {
                return Err(Error::invalid(
                    "expires_at",
                    "Expiry must be an ISO 8601 date and time",
                ))
            }
        },
    };
    if api_tokens::count_active(&state.db, auth.id()).await? >= api_tokens::MAX_ACTIVE {
        return Err(
            Error::bad_request("Maximum of 10 tokens per user. Revoke an existing token first.")
                .with_code("TOKEN_LIMIT"),
        );
    }
    ratelimit::hit(&state.db, &ratelimit::TOKEN_CREATE, auth.id()).await?;
    let (info, token) = api_tokens::create(&state.db, auth.id(), &name, expires_at).await?;
    audit::log(
        &state.db,
        &origin,
        Some(auth.id()),
        "api_token.created",
        "api_token",
        Some(&info.id),
        json!({"name": name}),
    )
    .await;
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
    let Some(name) = api_tokens::revoke(&state.db, auth.id(), &id).await? else {
        return Err(Error::bad_request("Token not found").with_code("TOKEN_NOT_FOUND"));
    };
    audit::log(
        &state.db,
        &origin,
        Some(auth.id()),
        "api_token.revoked",
        "api_token",
        Some(&id),
        json!({"name": name}),
    )
    .await;
    Ok(message("Token revoked"))
}
