//! The admin area: `/admin` (redirects), members, teams, settings and the audit log.
//!
//! Every change goes through the JSON API's handler (`api::admin_users`, `api::admin_teams`), so
//! validation, the last-admin and self guards and the audit events live in one place; the pages
//! only turn a form into the handler's input and its answer into a flash message or a form
//! shown again with its errors.

use std::collections::HashSet;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use crate::admin_users::{self, AdminUser as Member};
use crate::api;
use crate::api::admin_teams::{MemberInput, SettingInput, TeamInput};
use crate::api::admin_users::{CreateUserInput, UpdateUserInput};
use crate::audit::AuditEntry;
use crate::error::{Error, Result};
use crate::http::auth::{AdminUser, ClientOrigin};
use crate::http::error::{Json, Path, Query};
use crate::state::AppState;
use crate::teams::{self, Team, TeamDetail};
use crate::web::ctx::{
    client_error, enc, error_message, initials, redirect, redirect_with, render, render_status, Admin, Ctx,
    FormData, FormErrors, Signed,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(admin_home))
        .route("/admin/members", get(members_page).post(member_create))
        .route("/admin/members/{id}", post(member_update))
        .route("/admin/members/{id}/disabled", post(member_toggle_disabled))
        .route("/admin/members/{id}/reset-mfa", post(member_reset_mfa))
        .route("/admin/members/{id}/teams", post(member_teams))
        .route("/admin/members/{id}/delete", post(member_delete))
        .route("/admin/teams", get(teams_page).post(team_create))
        .route("/admin/teams/{id}", get(team_page).post(team_update))
        .route("/admin/teams/{id}/delete", post(team_delete))
        .route("/admin/teams/{id}/members", post(team_add_member))
        .route(
            "/admin/teams/{id}/members/{user_id}/remove",
            post(team_remove_member),
        )
        .route("/admin/settings", get(settings_page).post(settings_submit))
        .route("/admin/audit-log", get(audit_page))
}

async fn admin_home(Admin(_): Admin) -> Response {
    redirect("/admin/members")
}

// ---- shared -------------------------------------------------------------------------------

/// The API handlers' first three arguments, for the signed-in admin.
fn api_args(s: &Signed) -> (State<AppState>, ClientOrigin, AdminUser) {
    (
        State(s.state.clone()),
        ClientOrigin(s.origin.clone()),
        AdminUser(s.auth.clone()),
    )
}

/// An error's message in the page's language: the admin area's own wording for the codes its
/// guards answer with (`LAST_ADMIN`, `SELF_DELETE`, …), else the shared one.
fn message(ctx: &Ctx, e: &Error) -> String {
    let key = format!("admin.error.{}", e.code);
    let t = ctx.t(&key);
    if t != key {
        t.to_string()
    } else {
        error_message(ctx.tr, e)
    }
}

/// Form errors, with the admin area's wording for a coded one-field error (duplicate names).
fn form_errors(ctx: &Ctx, e: &Error) -> FormErrors {
    let mut f = FormErrors::from_error(ctx.tr, e);
    let key = format!("admin.error.{}", e.code);
    let t = ctx.t(&key);
    if t != key {
        if let Some(g) = f.general.as_mut() {
            *g = t.to_string();
        }
        if f.fields.len() == 1 {
            for v in f.fields.values_mut() {
                *v = t.to_string();
            }
        }
    }
    f
}

/// After a one-click action: back with a flash (success, or the API's refusal).
fn flash_result<T>(ctx: &Ctx, back: &str, result: Result<T>, ok: &str) -> Result<Response> {
    match result {
        Ok(_) => Ok(redirect_with(back, "ok", ok)),
        Err(e) => {
            let e = client_error(e)?;
            Ok(redirect_with(back, "error", &message(ctx, &e)))
        }
    }
}

/// Where a form returns to: its `back` field when that is a page under `prefix`.
fn back_to(form: &FormData, prefix: &str) -> String {
    crate::web::ctx::back_under(form.get("back"), prefix)
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

// ---- members ------------------------------------------------------------------------------

const MEMBERS_PER_PAGE: i64 = 25;

pub struct MemberRow {
    pub user: Member,
    pub initials: String,
    pub is_admin: bool,
    pub mfa: bool,
    pub teams: Vec<String>,
}

pub struct TeamChoice {
    pub team: Team,
    pub member: bool,
}

#[derive(Template)]
#[template(path = "admin/members.html")]
struct MembersPage {
    ctx: Ctx,
    me: String,
    rows: Vec<MemberRow>,
    total: i64,
    q: String,
    page: i64,
    pages: i64,
    /// This list (search and page kept): where modals close to and forms return to.
    list_url: String,
    /// `list_url` ready for one more parameter (`…?` or `…&`).
    link_base: String,
    prev_url: Option<String>,
    next_url: Option<String>,
    create: bool,
    edit: Option<Member>,
    teams_for: Option<Member>,
    team_choices: Vec<TeamChoice>,
    form: FormData,
    errors: FormErrors,
}

#[derive(Deserialize, Default)]
struct MembersQuery {
    q: Option<String>,
    page: Option<String>,
    create: Option<String>,
    edit: Option<String>,
    teams: Option<String>,
}

fn members_url(q: &str, page: i64) -> String {
    let mut parts = Vec::new();
    if !q.is_empty() {
        parts.push(format!("q={}", enc(q)));
    }
    if page > 1 {
        parts.push(format!("page={page}"));
    }
    if parts.is_empty() {
        "/admin/members".to_string()
    } else {
        format!("/admin/members?{}", parts.join("&"))
    }
}

/// The search and page of a `/admin/members?…` address (a form's `back`).
fn members_query_of(url: &str) -> MembersQuery {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    let mut out = MembersQuery::default();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match &*k {
            "q" => out.q = Some(v.into_owned()),
            "page" => out.page = Some(v.into_owned()),
            _ => {}
        }
    }
    out
}

/// The members page for `q` with `create`/`edit`/`teams_for` filled in by the caller.
async fn members_view(s: Signed, q: &MembersQuery) -> Result<MembersPage> {
    let search = q.q.as_deref().unwrap_or("").trim().to_string();
    let mut page = q
        .page
        .as_deref()
        .and_then(|p| p.parse::<i64>().ok())
        .unwrap_or(1)
        .max(1);
    let (mut users, mut total) = admin_users::list(
        &s.state.db,
        Some(&search),
        Some(MEMBERS_PER_PAGE),
        (page - 1) * MEMBERS_PER_PAGE,
    )
    .await?;
    let pages = ((total + MEMBERS_PER_PAGE - 1) / MEMBERS_PER_PAGE).max(1);
    if page > pages {
        // Past the end (after deleting the last user of a page): show the last page.
        page = pages;
        (users, total) = admin_users::list(
            &s.state.db,
            Some(&search),
            Some(MEMBERS_PER_PAGE),
            (page - 1) * MEMBERS_PER_PAGE,
        )
        .await?;
    }
    let mut rows = Vec::with_capacity(users.len());
    for user in users {
        let teams = teams::of_user(&s.state.db, &user.id)
            .await?
            .into_iter()
            .map(|t| t.name)
            .collect();
        rows.push(MemberRow {
            initials: initials(&user.name),
            is_admin: user.is_admin.unwrap_or(false),
            mfa: user.mfa_enabled.unwrap_or(false),
            teams,
            user,
        });
    }
    let list_url = members_url(&search, page);
    let link_base = if list_url.contains('?') {
        format!("{list_url}&")
    } else {
        format!("{list_url}?")
    };
    Ok(MembersPage {
        me: s.user_id().to_string(),
        prev_url: (page > 1).then(|| members_url(&search, page - 1)),
        next_url: (page < pages).then(|| members_url(&search, page + 1)),
        ctx: s.ctx,
        rows,
        total,
        q: search,
        page,
        pages,
        list_url,
        link_base,
        create: false,
        edit: None,
        teams_for: None,
        team_choices: Vec::new(),
        form: FormData::default(),
        errors: FormErrors::default(),
    })
}

async fn member(s: &Signed, id: &str) -> Result<Member> {
    admin_users::get(&s.state.db, id)
        .await?
        .ok_or_else(admin_users::not_found)
}

async fn team_choices(s: &Signed, user_id: &str) -> Result<Vec<TeamChoice>> {
    let mine: HashSet<String> = teams::of_user(&s.state.db, user_id)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    let mut all = teams::list(&s.state.db).await?;
    all.sort_by_key(|t| t.name.to_lowercase());
    Ok(all
        .into_iter()
        .map(|t| TeamChoice {
            member: mine.contains(&t.id),
            team: t,
        })
        .collect())
}

fn edit_form(u: &Member) -> FormData {
    let mut f = vec![
        ("name".to_string(), u.name.clone()),
        ("email".to_string(), u.email.clone()),
    ];
    if u.is_admin.unwrap_or(false) {
        f.push(("is_admin".to_string(), "true".to_string()));
    }
    FormData(f)
}

async fn members_page(Admin(s): Admin, Query(q): Query<MembersQuery>) -> Result<Response> {
    let edit = match q.edit.as_deref().filter(|v| !v.is_empty()) {
        Some(id) => Some(member(&s, id).await?),
        None => None,
    };
    let (teams_for, choices) = match q.teams.as_deref().filter(|v| !v.is_empty()) {
        Some(id) => {
            let u = member(&s, id).await?;
            let c = team_choices(&s, id).await?;
            (Some(u), c)
        }
        None => (None, Vec::new()),
    };
    let mut page = members_view(s, &q).await?;
    page.create = q.create.as_deref() == Some("true");
    if let Some(u) = &edit {
        page.form = edit_form(u);
    }
    page.edit = edit;
    page.teams_for = teams_for;
    page.team_choices = choices;
    render(&page)
}

/// The submitted form without passwords (never sent back to the browser).
fn without_passwords(form: FormData) -> FormData {
    FormData(form.0.into_iter().filter(|(k, _)| k != "password").collect())
}

async fn member_create(Admin(s): Admin, form: FormData) -> Result<Response> {
    let back = back_to(&form, "/admin/members");
    let mut errors = FormErrors::default();
    for (field, key) in [
        ("name", "admin.members.name_required"),
        ("email", "admin.members.email_required"),
        ("password", "admin.members.password_required"),
    ] {
        if form.get(field).trim().is_empty() {
            errors.fields.insert(field.to_string(), s.ctx.t(key).to_string());
        }
    }
    let result = if errors.any() {
        Err(None)
    } else {
        let (st, o, a) = api_args(&s);
        api::admin_users::create(
            st,
            o,
            a,
            Json(CreateUserInput {
                email: form.opt("email").map(|e| e.trim().to_string()),
                name: form.opt("name"),
                password: non_empty(form.opt("password")),
                is_admin: Some(form.checked("is_admin")),
                send_invite: None,
            }),
        )
        .await
        .map_err(Some)
    };
    match result {
        Ok(_) => {
            let msg = s.ctx.tf("admin.members.created", form.get("name").trim());
            Ok(redirect_with(&back, "ok", &msg))
        }
        Err(e) => {
            let status = match e {
                Some(e) => {
                    let e = client_error(e)?;
                    errors = form_errors(&s.ctx, &e);
                    crate::http::error::status(e.kind)
                }
                None => StatusCode::BAD_REQUEST,
            };
            let mut page = members_view(s, &members_query_of(&back)).await?;
            page.create = true;
            page.form = without_passwords(form);
            page.errors = errors;
            render_status(status, &page)
        }
    }
}

async fn member_update(Admin(s): Admin, Path(id): Path<String>, form: FormData) -> Result<Response> {
    let back = back_to(&form, "/admin/members");
    let current = member(&s, &id).await?;
    let name = form.get("name").trim().to_string();
    let email = form.get("email").trim().to_string();
    let is_admin = form.checked("is_admin");
    // Only what changed: an unchanged e-mail sent again would end the user's sessions.
    let input = UpdateUserInput {
        name: (name != current.name).then(|| name.clone()),
        email: (!email.eq_ignore_ascii_case(&current.email)).then(|| email.clone()),
        password: non_empty(form.opt("password")),
        is_admin: (is_admin != current.is_admin.unwrap_or(false)).then_some(is_admin),
        disabled: None,
        language: None,
        theme: None,
    };
    if input.name.is_none() && input.email.is_none() && input.password.is_none() && input.is_admin.is_none() {
        return Ok(redirect_with(&back, "ok", s.ctx.t("admin.members.no_changes")));
    }
    let demoted_self = id == s.user_id() && input.is_admin == Some(false);
    let (st, o, a) = api_args(&s);
    match api::admin_users::update(st, o, a, Path(id.clone()), Json(input)).await {
        Ok(Json(u)) => {
            let msg = s.ctx.tf("admin.members.updated", &u.name);
            // An admin who gave up their own role has no admin pages left to return to.
            Ok(redirect_with(if demoted_self { "/" } else { &back }, "ok", &msg))
        }
        Err(e) => {
            let e = client_error(e)?;
            let errors = form_errors(&s.ctx, &e);
            let mut page = members_view(s, &members_query_of(&back)).await?;
            page.edit = Some(current);
            page.form = without_passwords(form);
            page.errors = errors;
            render_status(crate::http::error::status(e.kind), &page)
        }
    }
}

async fn member_toggle_disabled(Admin(s): Admin, Path(id): Path<String>, form: FormData) -> Result<Response> {
    let back = back_to(&form, "/admin/members");
    let current = match member(&s, &id).await {
        Ok(u) => u,
        Err(e) => return flash_result::<()>(&s.ctx, &back, Err(e), ""),
    };
    // The form says which way (a second click on a stale page does not undo the first).
    let disable = match form.get("disabled") {
        "true" => true,
        "false" => false,
        _ => !current.disabled,
    };
    let (st, o, a) = api_args(&s);
    let result = api::admin_users::update(
        st,
        o,
        a,
        Path(id),
        Json(UpdateUserInput {
            email: None,
            name: None,
            password: None,
            is_admin: None,
            disabled: Some(disable),
            language: None,
            theme: None,
        }),
    )
    .await;
    let ok = if disable {
        s.ctx.tf("admin.members.disabled_ok", &current.name)
    } else {
        s.ctx.tf("admin.members.enabled_ok", &current.name)
    };
    flash_result(&s.ctx, &back, result, &ok)
}

async fn member_reset_mfa(Admin(s): Admin, Path(id): Path<String>, form: FormData) -> Result<Response> {
    let back = back_to(&form, "/admin/members");
    let name = admin_users::get(&s.state.db, &id)
        .await?
        .map(|u| u.name)
        .unwrap_or_default();
    let (st, o, a) = api_args(&s);
    let result = api::admin_users::reset_mfa(st, o, a, Path(id)).await;
    let ok = s.ctx.tf("admin.members.mfa_reset_ok", &name);
    flash_result(&s.ctx, &back, result, &ok)
}

async fn member_delete(Admin(s): Admin, Path(id): Path<String>, form: FormData) -> Result<Response> {
    let back = back_to(&form, "/admin/members");
    let name = admin_users::get(&s.state.db, &id)
        .await?
        .map(|u| u.name)
        .unwrap_or_default();
    let (st, o, a) = api_args(&s);
    let result = api::admin_users::delete(st, o, a, Path(id)).await;
    let ok = s.ctx.tf("admin.members.deleted", &name);
    flash_result(&s.ctx, &back, result, &ok)
}

/// The checked teams become the user's teams: missing memberships are added, unchecked ones
/// removed, each through the team member API (one audit event per change).
async fn member_teams(Admin(s): Admin, Path(id): Path<String>, form: FormData) -> Result<Response> {
    let back = back_to(&form, "/admin/members");
    let user = match member(&s, &id).await {
        Ok(u) => u,
        Err(e) => return flash_result::<()>(&s.ctx, &back, Err(e), ""),
    };
    let wanted: HashSet<String> = form.all("team_ids").into_iter().collect();
    let current: HashSet<String> = teams::of_user(&s.state.db, &id)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    let mut add: Vec<&String> = wanted.difference(&current).collect();
    add.sort();
    let mut remove: Vec<&String> = current.difference(&wanted).collect();
    remove.sort();
    for team_id in add {
        let (st, o, a) = api_args(&s);
        let r = api::admin_teams::add_member(
            st,
            o,
            a,
            Path(team_id.clone()),
            Json(MemberInput {
                user_id: Some(id.clone()),
            }),
        )
        .await;
        if r.is_err() {
            return flash_result(&s.ctx, &back, r, "");
        }
    }
    for team_id in remove {
        let (st, o, a) = api_args(&s);
        let r = api::admin_teams::remove_member(st, o, a, Path((team_id.clone(), id.clone()))).await;
        if r.is_err() {
            return flash_result(&s.ctx, &back, r, "");
        }
    }
    let ok = s.ctx.tf("admin.members.teams_saved", &user.name);
    Ok(redirect_with(&back, "ok", &ok))
}

// ---- teams --------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin/teams.html")]
struct TeamsPage {
    ctx: Ctx,
    teams: Vec<Team>,
    create: bool,
    edit: Option<Team>,
    form: FormData,
    errors: FormErrors,
}

#[derive(Deserialize)]
struct TeamsQuery {
    create: Option<String>,
    edit: Option<String>,
    members: Option<String>,
}

async fn teams_view(s: Signed) -> Result<TeamsPage> {
    let teams = teams::list(&s.state.db).await?;
    Ok(TeamsPage {
        ctx: s.ctx,
        teams,
        create: false,
        edit: None,
        form: FormData::default(),
        errors: FormErrors::default(),
    })
}

async fn team(s: &Signed, id: &str) -> Result<TeamDetail> {
    teams::get(&s.state.db, id).await?.ok_or_else(teams::not_found)
}

fn team_form(t: &Team) -> FormData {
    FormData(vec![
        ("name".to_string(), t.name.clone()),
        (
            "description".to_string(),
            t.description.clone().unwrap_or_default(),
        ),
    ])
}

async fn teams_page(Admin(s): Admin, Query(q): Query<TeamsQuery>) -> Result<Response> {
    if let Some(id) = q.members.as_deref().filter(|v| !v.is_empty()) {
        return Ok(redirect(&format!("/admin/teams/{}", enc(id))));
    }
    let edit = match q.edit.as_deref().filter(|v| !v.is_empty()) {
        Some(id) => Some(team(&s, id).await?.team),
        None => None,
    };
    let mut page = teams_view(s).await?;
    page.create = q.create.as_deref() == Some("true");
    if let Some(t) = &edit {
        page.form = team_form(t);
    }
    page.edit = edit;
    render(&page)
}

fn team_input(form: &FormData) -> TeamInput {
    TeamInput {
        name: Some(form.get("name").to_string()),
        description: Some(non_empty(form.opt("description"))),
    }
}

async fn team_create(Admin(s): Admin, form: FormData) -> Result<Response> {
    let (st, o, a) = api_args(&s);
    match api::admin_teams::create(st, o, a, Json(team_input(&form))).await {
        Ok(res) => {
            let body = axum::body::to_bytes(res.into_body(), 1024 * 1024)
                .await
                .unwrap_or_default();
            let id = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["id"].as_str().map(str::to_string));
            let to = match id {
                Some(id) => format!("/admin/teams/{}", enc(&id)),
                None => "/admin/teams".to_string(),
            };
            let msg = s.ctx.tf("admin.teams.created", form.get("name").trim());
            Ok(redirect_with(&to, "ok", &msg))
        }
        Err(e) => {
            let e = client_error(e)?;
            let errors = form_errors(&s.ctx, &e);
            let mut page = teams_view(s).await?;
            page.create = true;
            page.form = form;
            page.errors = errors;
            render_status(crate::http::error::status(e.kind), &page)
        }
    }
}

async fn team_update(Admin(s): Admin, Path(id): Path<String>, form: FormData) -> Result<Response> {
    let back = back_to(&form, "/admin/teams");
    let current = team(&s, &id).await?.team;
    let (st, o, a) = api_args(&s);
    match api::admin_teams::update(st, o, a, Path(id), Json(team_input(&form))).await {
        Ok(Json(t)) => {
            let msg = s.ctx.tf("admin.teams.updated", &t.team.name);
            Ok(redirect_with(&back, "ok", &msg))
        }
        Err(e) => {
            let e = client_error(e)?;
            let errors = form_errors(&s.ctx, &e);
            let mut page = teams_view(s).await?;
            page.edit = Some(current);
            page.form = form;
            page.errors = errors;
            render_status(crate::http::error::status(e.kind), &page)
        }
    }
}

async fn team_delete(Admin(s): Admin, Path(id): Path<String>) -> Result<Response> {
    let (st, o, a) = api_args(&s);
    let name = teams::get(&s.state.db, &id)
        .await?
        .map(|t| t.team.name)
        .unwrap_or_default();
    let result = api::admin_teams::delete(st, o, a, Path(id)).await;
    let ok = s.ctx.tf("admin.teams.deleted", &name);
    flash_result(&s.ctx, "/admin/teams", result, &ok)
}

#[derive(Template)]
#[template(path = "admin/team.html")]
struct TeamPage {
    ctx: Ctx,
    detail: TeamDetail,
    /// Users who are not in the team yet, for the add-member select.
    candidates: Vec<Member>,
}

async fn team_page(Admin(s): Admin, Path(id): Path<String>) -> Result<Response> {
    let detail = team(&s, &id).await?;
    let members: HashSet<&str> = detail.members.iter().map(|m| m.id.as_str()).collect();
    let (mut users, _) = admin_users::list(&s.state.db, None, None, 0).await?;
    users.retain(|u| !members.contains(u.id.as_str()));
    users.sort_by_key(|u| u.name.to_lowercase());
    render(&TeamPage {
        ctx: s.ctx,
        detail,
        candidates: users,
    })
}

async fn team_add_member(Admin(s): Admin, Path(id): Path<String>, form: FormData) -> Result<Response> {
    let back = format!("/admin/teams/{}", enc(&id));
    let user_id = form.get("user_id").to_string();
    let name = admin_users::get(&s.state.db, &user_id)
        .await?
        .map(|u| u.name)
        .unwrap_or_default();
    let (st, o, a) = api_args(&s);
    let result = api::admin_teams::add_member(
        st,
        o,
        a,
        Path(id),
        Json(MemberInput {
            user_id: non_empty(Some(user_id)),
        }),
    )
    .await;
    let ok = s.ctx.tf("admin.teams.member_added", &name);
    flash_result(&s.ctx, &back, result, &ok)
}

async fn team_remove_member(
    Admin(s): Admin,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Response> {
    let back = format!("/admin/teams/{}", enc(&id));
    let name = admin_users::get(&s.state.db, &user_id)
        .await?
        .map(|u| u.name)
        .unwrap_or_default();
    let (st, o, a) = api_args(&s);
    let result = api::admin_teams::remove_member(st, o, a, Path((id, user_id))).await;
    let ok = s.ctx.tf("admin.teams.member_removed", &name);
    flash_result(&s.ctx, &back, result, &ok)
}

// ---- settings -----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage {
    ctx: Ctx,
    registrations: bool,
    /// `REGISTRATIONS_ENABLED` from the environment, which wins over the setting.
    env_registrations: Option<bool>,
    database: &'static str,
    api_docs: bool,
    commit: Option<String>,
}

async fn settings_page(Admin(s): Admin) -> Result<Response> {
    let (st, _, a) = api_args(&s);
    let Json(values) = api::admin_teams::settings(st, a).await?;
    let registrations = values[crate::settings::REGISTRATIONS_ENABLED] == "true";
    let database = match s.state.config.db.kind() {
        "sqlite" => "SQLite",
        _ => "PostgreSQL",
    };
    render(&SettingsPage {
        registrations,
        env_registrations: s.state.config.registrations_enabled,
        database,
        api_docs: s.state.config.api_docs,
        commit: s.state.config.commit_sha.clone(),
        ctx: s.ctx,
    })
}

async fn settings_submit(Admin(s): Admin, form: FormData) -> Result<Response> {
    let (st, o, a) = api_args(&s);
    let result = api::admin_teams::set_setting(
        st,
        o,
        a,
        Json(SettingInput {
            key: Some(crate::settings::REGISTRATIONS_ENABLED.to_string()),
            value: Some(serde_json::Value::Bool(form.checked("registrations_enabled"))),
        }),
    )
    .await;
    flash_result(&s.ctx, "/admin/settings", result, s.ctx.t("admin.settings.saved"))
}

// ---- audit log ----------------------------------------------------------------------------

const AUDIT_PAGE_SIZE: i64 = 50;

/// Actions and entity types this server records, offered as suggestions in the filters.
const KNOWN_ACTIONS: &[&str] = &[
    "auth.login_succeeded",
    "auth.login_failed",
    "auth.logout",
    "auth.logout_all",
    "auth.registered",
    "auth.setup_completed",
    "api_token.created",
    "api_token.revoked",
    "bookmark.created",
    "bookmark.updated",
    "bookmark.deleted",
    "bookmark.import",
    "bookmark.bulk",
    "folder.created",
    "folder.updated",
    "folder.deleted",
    "mfa.enabled",
    "mfa.disabled",
    "mfa.verify_failed",
    "mfa.backup_code_used",
    "org_member.created",
    "org_member.deleted",
    "settings.updated",
    "settings.deleted",
    "team.created",
    "team.updated",
    "team.deleted",
    "team_member.added",
    "team_member.removed",
    "user.updated",
    "user.mfa_reset",
    "user.password_changed",
    "user.profile_updated",
    "user.self_deleted",
];
const KNOWN_ENTITY_TYPES: &[&str] = &[
    "api_token",
    "bookmark",
    "folder",
    "org_member",
    "settings",
    "tag",
    "team",
    "team_member",
    "user",
];

pub struct AuditRow {
    pub entry: AuditEntry,
    pub time_iso: String,
    pub actor: String,
    /// Compact JSON (empty for `{}`).
    pub metadata: String,
    /// `metadata` cut to a table cell's worth; the whole is the cell's title.
    pub metadata_short: String,
}

/// Characters of an event's metadata shown in the table.
const METADATA_SHOWN: usize = 120;

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

#[derive(Template)]
#[template(path = "admin/audit_log.html")]
struct AuditPage {
    ctx: Ctx,
    rows: Vec<AuditRow>,
    filter: AuditFilter,
    actors: Vec<Member>,
    actions: &'static [&'static str],
    entity_types: &'static [&'static str],
    older_url: Option<String>,
    /// Set when a cursor is in the address: the way back to the newest events.
    newest_url: Option<String>,
    errors: FormErrors,
}

#[derive(Deserialize, Default)]
pub struct AuditFilter {
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub entity_type: String,
    /// A date (`YYYY-MM-DD`), inclusive.
    #[serde(default)]
    pub from: String,
    /// A date (`YYYY-MM-DD`), inclusive.
    #[serde(default)]
    pub to: String,
    before_created_at: Option<String>,
    before_id: Option<String>,
}

impl AuditFilter {
    /// The filters as a query string (no cursor), each `k=v&`.
    fn query(&self) -> String {
        let mut s = String::new();
        for (k, v) in [
            ("action", &self.action),
            ("actor", &self.actor),
            ("entity_type", &self.entity_type),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if !v.trim().is_empty() {
                s.push_str(&format!("{k}={}&", enc(v.trim())));
            }
        }
        s
    }

    pub fn any(&self) -> bool {
        !self.query().is_empty()
    }
}

/// A date from the filter form as the API's time: its start (`to` is inclusive, so the end is
/// the next day's start). Anything else goes to the API as typed, which explains what is wrong.
fn day_start(v: &str, next: bool) -> Option<String> {
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    match chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        Ok(d) => {
            let d = if next { d.succ_opt().unwrap_or(d) } else { d };
            Some(format!("{} 00:00", d.format("%Y-%m-%d")))
        }
        Err(_) => Some(v.to_string()),
    }
}

async fn audit_page(Admin(s): Admin, Query(filter): Query<AuditFilter>) -> Result<Response> {
    let q = api::audit_log::AuditQuery {
        limit: Some(AUDIT_PAGE_SIZE.to_string()),
        before_created_at: filter.before_created_at.clone().filter(|v| !v.is_empty()),
        before_id: filter.before_id.clone().filter(|v| !v.is_empty()),
        action: Some(filter.action.trim().to_string()),
        actor_user_id: Some(filter.actor.trim().to_string()),
        entity_type: Some(filter.entity_type.trim().to_string()),
        since: day_start(&filter.from, false),
        until: day_start(&filter.to, true),
    };
    let (st, _, a) = api_args(&s);
    let (page, errors, status) = match api::audit_log::audit_log(st, a, Query(q)).await {
        Ok(Json(p)) => (Some(p), FormErrors::default(), StatusCode::OK),
        Err(e) => {
            let e = client_error(e)?;
            let mut errors = form_errors(&s.ctx, &e);
            // One message above the filters; the API names its own fields (since/until).
            if errors.general.is_none() {
                errors.general = Some(message(&s.ctx, &e));
            }
            (None, errors, crate::http::error::status(e.kind))
        }
    };
    let base = filter.query();
    let (rows, older_url) = match page {
        Some(p) => {
            let older = p.next_cursor.map(|c| {
                format!(
                    "/admin/audit-log?{base}before_created_at={}&before_id={}",
                    enc(&c.before_created_at.to_rfc3339()),
                    enc(&c.before_id)
                )
            });
            let rows = p
                .events
                .into_iter()
                .map(|e| AuditRow {
                    time_iso: e.created_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    actor: match (&e.actor_name, &e.actor_email, &e.actor_user_id) {
                        (Some(n), Some(m), _) => format!("{n} <{m}>"),
                        (_, Some(m), _) => m.clone(),
                        (_, _, Some(id)) => id.clone(),
                        _ => String::new(),
                    },
                    metadata: match &e.metadata {
                        serde_json::Value::Object(m) if m.is_empty() => String::new(),
                        v => v.to_string(),
                    },
                    metadata_short: String::new(),
                    entry: e,
                })
                .map(|mut r: AuditRow| {
                    r.metadata_short = shorten(&r.metadata, METADATA_SHOWN);
                    r
                })
                .collect();
            (rows, older)
        }
        None => (Vec::new(), None),
    };
    let newest_url = filter.before_id.as_ref().map(|_| {
        format!("/admin/audit-log?{base}")
            .trim_end_matches(['&', '?'])
            .to_string()
    });
    let (mut actors, _) = admin_users::list(&s.state.db, None, None, 0).await?;
    actors.sort_by_key(|u| u.name.to_lowercase());
    render_status(
        status,
        &AuditPage {
            ctx: s.ctx,
            rows,
            filter,
            actors,
            actions: KNOWN_ACTIONS,
            entity_types: KNOWN_ENTITY_TYPES,
            older_url,
            newest_url,
            errors,
        },
    )
}
