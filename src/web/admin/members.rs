//! `/admin/members`: the member list with search and pages, and the create, edit, teams,
//! disable, MFA-reset and delete actions.

use std::collections::HashSet;

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{back_to, flash_result, form_errors, non_empty};
use crate::admin::members::{self, AdminUser as Member, CreateUserInput, UpdateUserInput};
use crate::admin::teams::{self as admin_teams, MemberInput};
use crate::error::Result;
use crate::http::error::{Path, Query};
use crate::teams::{self, Team};
use crate::web::ctx::{
    client_error, enc, initials, redirect_with, render, render_status, Admin, Ctx, FormData, FormErrors,
    Signed,
};

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
pub(super) struct MembersQuery {
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
    let (mut users, mut total) = members::list(
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
        (users, total) = members::list(
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
            mfa: user.mfa_enabled.unwrap_or(false) || user.has_passkeys,
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
    members::get(&s.state.db, id)
        .await?
        .ok_or_else(members::not_found)
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

pub(super) async fn members_page(Admin(s): Admin, Query(q): Query<MembersQuery>) -> Result<Response> {
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

pub(super) async fn member_create(Admin(s): Admin, form: FormData) -> Result<Response> {
    let back = back_to(&form, "/admin/members");
    let mut errors = FormErrors::default();
    let invite = form.checked("send_invite");
    for (field, key) in [
        ("name", "admin.members.name_required"),
        ("email", "admin.members.email_required"),
        ("password", "admin.members.password_required"),
    ] {
        if form.get(field).trim().is_empty() && !(invite && field == "password") {
            errors.fields.insert(field.to_string(), s.ctx.t(key).to_string());
        }
    }
    let result = if errors.any() {
        Err(None)
    } else {
        let input = CreateUserInput {
            email: form.opt("email").map(|e| e.trim().to_string()),
            name: form.opt("name"),
            password: non_empty(form.opt("password")),
            is_admin: Some(form.checked("is_admin")),
            send_invite: Some(invite),
            language: None,
        };
        members::create(&s.state.db, &s.state.mailer, &s.origin, s.user_id(), input)
            .await
            .map_err(Some)
    };
    match result {
        Ok(_) => {
            let key = if invite {
                "admin.members.invited"
            } else {
                "admin.members.created"
            };
            let msg = s.ctx.tf(key, form.get("name").trim());
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

pub(super) async fn member_update(
    Admin(s): Admin,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response> {
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
    match members::update(&s.state.db, &s.origin, s.user_id(), &id, &input).await {
        Ok(u) => {
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

pub(super) async fn member_toggle_disabled(
    Admin(s): Admin,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response> {
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
    let input = UpdateUserInput {
        disabled: Some(disable),
        ..Default::default()
    };
    let result = members::update(&s.state.db, &s.origin, s.user_id(), &id, &input).await;
    let ok = if disable {
        s.ctx.tf("admin.members.disabled_ok", &current.name)
    } else {
        s.ctx.tf("admin.members.enabled_ok", &current.name)
    };
    flash_result(&s.ctx, &back, result, &ok)
}

pub(super) async fn member_reset_mfa(
    Admin(s): Admin,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response> {
    let back = back_to(&form, "/admin/members");
    let name = members::get(&s.state.db, &id)
        .await?
        .map(|u| u.name)
        .unwrap_or_default();
    let result = members::reset_mfa(&s.state.db, &s.origin, Some(s.user_id()), &id, "api").await;
    let ok = s.ctx.tf("admin.members.mfa_reset_ok", &name);
    flash_result(&s.ctx, &back, result, &ok)
}

pub(super) async fn member_resend_invite(
    Admin(s): Admin,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response> {
    let back = back_to(&form, "/admin/members");
    let email = members::get(&s.state.db, &id)
        .await?
        .map(|u| u.email)
        .unwrap_or_default();
    let state = &s.state;
    let result = members::resend_invite(&state.db, &state.mailer, &s.origin, s.user_id(), &id).await;
    let ok = s.ctx.tf("admin.members.invite_resent", &email);
    flash_result(&s.ctx, &back, result, &ok)
}

pub(super) async fn member_delete(
    Admin(s): Admin,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response> {
    let back = back_to(&form, "/admin/members");
    let name = members::get(&s.state.db, &id)
        .await?
        .map(|u| u.name)
        .unwrap_or_default();
    let result = members::delete(&s.state.db, &s.origin, s.user_id(), &id).await;
    let ok = s.ctx.tf("admin.members.deleted", &name);
    flash_result(&s.ctx, &back, result, &ok)
}

/// The checked teams become the user's teams: missing memberships are added, unchecked ones
/// removed, each through the team member API (one audit event per change).
pub(super) async fn member_teams(
    Admin(s): Admin,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response> {
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
    let (db, origin, me) = (&s.state.db, &s.origin, s.user_id());
    for team_id in add {
        let input = MemberInput {
            user_id: Some(id.clone()),
        };
        let r = admin_teams::add_member(db, origin, me, team_id, input).await;
        if r.is_err() {
            return flash_result(&s.ctx, &back, r, "");
        }
    }
    for team_id in remove {
        let r = admin_teams::remove_member(db, origin, me, team_id, &id).await;
        if r.is_err() {
            return flash_result(&s.ctx, &back, r, "");
        }
    }
    let ok = s.ctx.tf("admin.members.teams_saved", &user.name);
    Ok(redirect_with(&back, "ok", &ok))
}
