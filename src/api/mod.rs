//! The JSON API under `/api`. Every route is registered through `routes!`, which adds its
//! OpenAPI entry from the handler's `#[utoipa::path]`, so no route can exist without one.

pub mod admin_settings;
pub mod admin_teams;
pub mod admin_users;
pub mod audit_log;
pub mod auth;
pub mod bookmarks;
pub mod dashboard;
pub mod folders;
pub mod go;
pub mod mfa;
pub mod recovery;
pub mod system;
pub mod tags;
pub mod tokens;
pub mod users;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
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
        (name = "Users", description = "The caller's profile, password and account"),
        (name = "Teams", description = "Teams the caller belongs to"),
        (name = "Tokens", description = "Personal API tokens"),
        (name = "AdminUsers", description = "User administration (admins)"),
        (name = "AdminTeams", description = "Teams and members (admins)"),
        (name = "AdminSettings", description = "Instance settings (admins)"),
        (name = "AdminAuditLog", description = "The audit log (admins)"),
    ),
    components(schemas(crate::error::ErrorBody, crate::error::FieldError))
)]
struct ApiDoc;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(system::health))
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
        .routes(routes!(mfa::status))
        .routes(routes!(mfa::enroll_begin))
        .routes(routes!(mfa::enroll_confirm))
        .routes(routes!(mfa::enroll_cancel))
        .routes(routes!(mfa::disable))
        .routes(routes!(mfa::regenerate))
        .routes(routes!(mfa::verify))
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
        .routes(routes!(bookmarks::bulk))
        .routes(routes!(bookmarks::import))
        .routes(routes!(bookmarks::export))
        .routes(routes!(bookmarks::metadata))
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
        .routes(routes!(admin_settings::get, admin_settings::delete))
}

/// Adds what the route annotations cannot: the security schemes, and operation ids that are
/// unique across modules (`get_api_admin_users` rather than several `list`).
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
    doc
}
