//! OIDC: provider administration under `/api/oidc-providers` (admins), and the sign-in routes
//! `GET /api/auth/{provider}` (to the provider) and `GET /api/auth/{provider}/callback` (back,
//! always a redirect into the app or to `/login?error=…`).

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;

use crate::api::auth::{message, session_cookie, MessageBody};
use crate::auth::SignIn;
use crate::error::{ErrorBody, Result};
use crate::http::auth::{AdminUser, ClientOrigin};
use crate::http::cookies;
use crate::http::error::{Json, Path};
use crate::oidc::{self, providers, CallbackParams, OidcProvider, ProviderInput};
use crate::state::AppState;

/// A new provider: [`ProviderInput`] with its key, client and issuer required.
#[derive(utoipa::ToSchema)]
pub struct NewProvider {
    /// Letters, digits, `-` and `_`, at most 50; used in the sign-in URLs.
    #[schema(pattern = "^\\s*[a-zA-Z0-9_-]{1,50}\\s*$")]
    pub provider_key: String,
    #[schema(min_length = 1)]
    pub client_id: String,
    /// Write-only: stored encrypted, never returned.
    #[schema(min_length = 1)]
    pub client_secret: String,
    /// The issuer; `/.well-known/openid-configuration` below it is read unless all three
    /// endpoints are given.
    #[schema(max_length = 2048)]
    pub issuer_url: String,
    pub authorization_url: Option<String>,
    pub token_url: Option<String>,
    pub userinfo_url: Option<String>,
    /// Space-separated; default `openid profile email`.
    pub scopes: Option<String>,
    /// Default true.
    pub auto_create_users: Option<bool>,
    /// `user` (default) or `admin`.
    pub default_role: Option<crate::oidc::providers::Role>,
    /// A claim listing the user's groups, for the group → team mapping.
    pub groups_claim: Option<String>,
    pub group_mappings: Option<Vec<crate::oidc::providers::GroupMappingInput>>,
}

/// Identity providers, newest first (no client ids or secrets).
#[utoipa::path(get, path = "/api/oidc-providers", tag = "OIDCProviders",
    responses((status = 200, description = "Providers", body = Vec<OidcProvider>),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, _a: AdminUser) -> Result<Json<Vec<OidcProvider>>> {
    Ok(Json(providers::list(&state.db, &state.config.base_url).await?))
}

/// Adds an identity provider; the client secret is stored encrypted and never returned.
#[utoipa::path(post, path = "/api/oidc-providers", tag = "OIDCProviders", request_body = NewProvider,
    responses((status = 201, description = "Created", body = OidcProvider),
              (status = 400, description = "Missing or invalid field, or the key is taken", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    AdminUser(admin): AdminUser,
    Json(input): Json<ProviderInput>,
) -> Result<Response> {
    let p = providers::create(
        &state.db,
        &state.config,
        &state.cipher,
        &state.oidc,
        &origin,
        admin.id(),
        input,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(p)).into_response())
}

/// One identity provider.
#[utoipa::path(get, path = "/api/oidc-providers/{id}", tag = "OIDCProviders", params(("id" = String, Path)),
    responses((status = 200, description = "Provider", body = OidcProvider), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, description = "Provider not found", body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    _a: AdminUser,
    Path(id): Path<String>,
) -> Result<Json<OidcProvider>> {
    Ok(Json(
        providers::get(&state.db, &state.config.base_url, &id).await?,
    ))
}

/// Changes the fields given (blank `client_id`/`client_secret` keep the stored ones; a blank
/// endpoint override removes it).
#[utoipa::path(put, path = "/api/oidc-providers/{id}", tag = "OIDCProviders", params(("id" = String, Path)),
    request_body = ProviderInput,
    responses((status = 200, description = "Updated", body = OidcProvider),
              (status = 400, description = "Invalid field, or no fields to update", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, description = "Provider not found", body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
    Json(input): Json<ProviderInput>,
) -> Result<Json<OidcProvider>> {
    Ok(Json(
        providers::update(
            &state.db,
            &state.config,
            &state.cipher,
            &state.oidc,
            &origin,
            admin.id(),
            &id,
            input,
        )
        .await?,
    ))
}

/// Deletes an identity provider; linked users keep their link.
#[utoipa::path(delete, path = "/api/oidc-providers/{id}", tag = "OIDCProviders", params(("id" = String, Path)),
    responses((status = 200, description = "Deleted", body = MessageBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, description = "Provider not found", body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
) -> Result<Json<MessageBody>> {
    providers::delete(&state.db, &state.oidc, &origin, admin.id(), &id).await?;
    Ok(message("Provider deleted"))
}

/// The first value of `name` in a query string (a malformed one reads as absent: these routes
/// always redirect).
fn query_value(query: &Option<String>, name: &str) -> Option<String> {
    let q = query.as_deref()?;
    url::form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn redirect(location: &str) -> Response {
    let mut res = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    crate::http::no_store(res)
}

/// Starts a sign-in: 302 to the provider's authorization endpoint, with the login-state cookie.
/// `redirect` is the local page to return to afterwards.
#[utoipa::path(get, path = "/api/auth/{provider}", tag = "Auth", security(()),
    params(("provider" = String, Path, description = "The provider key"),
           ("redirect" = Option<String>, Query, description = "Local path to return to")),
    responses((status = 302, description = "Redirect to IdP"),
              (status = 404, description = "Unknown provider", body = ErrorBody)))]
pub async fn start(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let to = query_value(&query, "redirect");
    let begun = oidc::start(
        &state.db,
        &state.config,
        &state.cipher,
        &state.oidc,
        &provider,
        to.as_deref(),
    )
    .await?;
    let mut res = redirect(&begun.location);
    cookies::append(&mut res, &cookies::oidc_state(&state.config, begun.state_cookie));
    Ok(res)
}

/// The provider's redirect back: always 302 — into the app (session cookie set), to the MFA
/// step when the account has MFA (unless the admin turned that off), or to
/// `/login?error=auth_failed|auto_create_disabled|email_not_verified|account_linked_elsewhere|account_disabled`.
#[utoipa::path(get, path = "/api/auth/{provider}/callback", tag = "Auth", security(()),
    params(("provider" = String, Path, description = "The provider key")),
    responses((status = 302, description = "Redirect to app (session cookie set), to /mfa, or to /login?error=…"),
              (status = 404, description = "Unknown provider", body = ErrorBody)))]
pub async fn callback(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    Path(provider): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response> {
    let jar = CookieJar::from_headers(&headers);
    let params = CallbackParams {
        code: query_value(&query, "code"),
        state: query_value(&query, "state"),
        error: query_value(&query, "error"),
    };
    let done = oidc::finish(
        &state.db,
        &state.config,
        &state.cipher,
        &state.oidc,
        &origin,
        &provider,
        jar.get(cookies::OIDC_STATE).map(|c| c.value()),
        params,
    )
    .await?;
    let mut res = redirect(&done.location(&state.config.frontend_url));
    cookies::append(&mut res, &cookies::oidc_state_removal(&state.config));
    match &done.result {
        Ok(SignIn::Session(session)) => {
            cookies::append(&mut res, &session_cookie(&state, session));
            cookies::append(&mut res, &cookies::removal(&state.config, cookies::MFA_PENDING));
        }
        Ok(SignIn::MfaPending { token }) => {
            cookies::append(&mut res, &cookies::removal(&state.config, cookies::SESSION));
            cookies::append(&mut res, &cookies::mfa_pending(&state.config, token.clone()));
        }
        Err(_) => {}
    }
    Ok(res)
}
