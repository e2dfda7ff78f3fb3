//! The JSON API under `/api`. Every route is registered through `routes!`, which adds its
//! OpenAPI entry from the handler's `#[utoipa::path]`, so no route can exist without one.

pub mod admin_settings;
pub mod admin_teams;
pub mod admin_users;
pub mod ai;
pub mod audit_log;
pub mod auth;
pub mod bookmarks;
pub mod dashboard;
pub mod folders;
pub mod go;
pub mod mfa;
pub mod oidc;
pub mod passkeys;
pub mod recovery;
pub mod system;
pub mod tags;
pub mod tokens;
pub mod users;

use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "SlugBase API (self-hosted)",
        description = "HTTP API of a self-hosted SlugBase instance: bookmarks, go links, folders, tags, \
sharing, accounts and administration.\n\n**Authentication:** the HttpOnly `token` cookie after login \
(the same JWT is accepted as `Authorization: Bearer <jwt>`), or a personal API token as \
`Authorization: Bearer sb_…`.\n\n**CSRF:** cookie-authenticated writes send `X-CSRF-Token` from \
`GET /api/csrf-token`; Bearer requests are exempt.\n\n**Errors:** every 4xx/5xx answer is \
`{\"error\", \"code\", \"details\"?}`.",
        license(name = "MIT")
    ),
    tags(
        (name = "CSRFHealth", description = "Health, version and CSRF token"),
        (name = "Auth", description = "Setup, sign-up, login, logout, current user"),
        (name = "Bookmarks", description = "Bookmarks: CRUD, listing, search, bulk actions, import and export"),
        (name = "Folders", description = "Folders"),
        (name = "Tags", description = "Tags"),
        (name = "GoPreferences", description = "Remembered go-link choices"),
        (name = "Dashboard", description = "Dashboard figures"),
        (name = "MFA", description = "TOTP multi-factor authentication and backup codes"),
        (name = "Passkeys", description = "WebAuthn passkeys: adding and managing them, signing in with one"),
        (name = "Users", description = "The caller's profile, password and account"),
        (name = "Teams", description = "Teams the caller belongs to"),
        (name = "Tokens", description = "Personal API tokens"),
        (name = "OIDCProviders", description = "Identity providers for sign-in with OpenID Connect (admins)"),
        (name = "AdminUsers", description = "User administration (admins)"),
        (name = "AdminTeams", description = "Teams and members (admins)"),
        (name = "AdminSettings", description = "Instance settings (admins)"),
        (name = "Config", description = "Features available to the caller"),
        (name = "AdminAuditLog", description = "The audit log (admins)"),
    ),
    components(schemas(crate::error::ErrorBody, crate::error::FieldError, bookmarks::DuplicatesParam))
)]
struct ApiDoc;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(system::health))
        .routes(routes!(system::ready))
        .routes(routes!(system::version))
        .routes(routes!(system::csrf_token))
        .routes(routes!(auth::setup_status))
        .routes(routes!(auth::setup))
        .routes(routes!(auth::register))
        .routes(routes!(auth::verify_signup))
        .routes(routes!(auth::signup_status))
        .routes(routes!(auth::resend_signup))
        .routes(routes!(auth::request_signup_resend))
        .routes(routes!(recovery::request_reset))
        .routes(routes!(recovery::verify_reset))
        .routes(routes!(recovery::reset_password))
        .routes(routes!(recovery::verify_email_change))
        .routes(routes!(recovery::confirm_email_change))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::logout_all))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::me))
        .routes(routes!(auth::providers))
        .routes(routes!(oidc::start))
        .routes(routes!(oidc::callback))
        .routes(routes!(oidc::list, oidc::create))
        .routes(routes!(oidc::get, oidc::update, oidc::delete))
        .routes(routes!(mfa::status))
        .routes(routes!(mfa::enroll_begin))
        .routes(routes!(mfa::enroll_confirm))
        .routes(routes!(mfa::enroll_cancel))
        .routes(routes!(mfa::disable))
        .routes(routes!(mfa::regenerate))
        .routes(routes!(mfa::verify))
        .routes(routes!(passkeys::mfa_begin))
        .routes(routes!(passkeys::mfa_finish))
        .routes(routes!(passkeys::list))
        .routes(routes!(passkeys::register_begin))
        .routes(routes!(passkeys::register_finish))
        .routes(routes!(passkeys::rename, passkeys::delete))
        .routes(routes!(passkeys::login_begin))
        .routes(routes!(passkeys::login_finish))
        .routes(routes!(users::get_me, users::update_me, users::delete_me))
        .routes(routes!(users::change_password))
        .routes(routes!(users::for_sharing))
        .routes(routes!(users::my_teams))
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::revoke))
        .routes(routes!(audit_log::audit_log))
        .routes(routes!(bookmarks::list, bookmarks::create))
        .routes(routes!(bookmarks::search))
        .routes(routes!(bookmarks::ids))
        .routes(routes!(bookmarks::check_links))
        .routes(routes!(bookmarks::bulk))
        .routes(routes!(bookmarks::import))
        .routes(routes!(bookmarks::export))
        .routes(routes!(bookmarks::metadata))
        .routes(routes!(ai::suggest))
        .routes(routes!(ai::availability))
        .routes(routes!(go::list, go::set))
        .routes(routes!(go::delete))
        .routes(routes!(dashboard::stats))
        .routes(routes!(bookmarks::get, bookmarks::update, bookmarks::delete))
        .routes(routes!(bookmarks::track_access))
        .routes(routes!(folders::list, folders::create))
        .routes(routes!(folders::get, folders::update, folders::delete))
        .routes(routes!(tags::list, tags::create))
        .routes(routes!(tags::get, tags::update, tags::delete))
        .routes(routes!(admin_users::reset_mfa))
        .routes(routes!(admin_users::list, admin_users::create))
        .routes(routes!(
            admin_users::get,
            admin_users::update,
            admin_users::delete
        ))
        .routes(routes!(admin_users::resend_invite))
        .routes(routes!(admin_users::teams))
        .routes(routes!(admin_teams::list, admin_teams::create))
        .routes(routes!(
            admin_teams::get,
            admin_teams::update,
            admin_teams::delete
        ))
        .routes(routes!(admin_teams::add_member))
        .routes(routes!(admin_teams::remove_member))
        .routes(routes!(admin_settings::list, admin_settings::set))
        .routes(routes!(admin_settings::smtp_get, admin_settings::smtp_set))
        .routes(routes!(admin_settings::smtp_test))
        .routes(routes!(ai::settings_get, ai::settings_set))
        .routes(routes!(ai::models))
        .routes(routes!(admin_settings::get, admin_settings::delete))
}

/// An error answer in the document: the envelope, with what it means.
fn error_response(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
        .into()
}

/// The answers every operation of a kind can give, whatever its handler does: a body that is
/// not JSON (415), too large (413) or too slow (408); no credentials (401) where the operation
/// needs them; the database not answering (503).
fn add_common_responses(op: &mut utoipa::openapi::path::Operation, write: bool) {
    let public = op
        .security
        .as_ref()
        .is_some_and(|s| s.iter().all(|r| r == &SecurityRequirement::default()));
    let mut add = |code: &str, description: &str| {
        op.responses
            .responses
            .entry(code.to_string())
            .or_insert_with(|| error_response(description));
    };
    if !public {
        add("401", "Not signed in (no or a bad session or API token)");
        if write {
            add(
                "403",
                "CSRF_INVALID: a write with the session cookie but without a matching X-CSRF-Token",
            );
        }
    }
    add("503", "The database is not answering");
    if write {
        add(
            "507",
            "STORAGE_FULL: the server's storage is full; nothing was saved",
        );
    }
    if op.request_body.is_some() {
        add("400", "The body is not valid");
        add("408", "The body took too long to arrive");
        add("413", "The body is too large");
        add("415", "The body is not JSON (Content-Type: application/json)");
    }
}

/// Adds what the route annotations cannot: the security schemes (required unless an operation
/// says otherwise), the answers every operation can give, and operation ids that are unique
/// across modules (`get_api_admin_users` rather than several `list`).
pub fn finish_openapi(mut doc: OpenApiDoc) -> OpenApiDoc {
    for (path, item) in doc.paths.paths.iter_mut() {
        let slug: String = path
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect::<String>()
            .split('_')
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("_");
        for (method, op) in [
            ("get", &mut item.get),
            ("post", &mut item.post),
            ("put", &mut item.put),
            ("patch", &mut item.patch),
            ("delete", &mut item.delete),
        ] {
            if let Some(op) = op {
                op.operation_id = Some(format!("{method}_{slug}"));
                add_common_responses(op, method != "get");
            }
        }
    }
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearerAuth",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("A session JWT or a personal API token (sb_…)"))
                .build(),
        ),
    );
    components.add_security_scheme(
        "cookieAuth",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("token"))),
    );
    doc.security = Some(vec![
        SecurityRequirement::new("bearerAuth", Vec::<String>::new()),
        SecurityRequirement::new("cookieAuth", Vec::<String>::new()),
    ]);
    doc
}
