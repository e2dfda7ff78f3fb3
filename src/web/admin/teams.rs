//! `/admin/teams` and `/admin/teams/{id}`: teams, their members, create, rename and delete.

use std::collections::HashSet;

use askama::Template;
use axum::response::Response;
use serde::Deserialize;

use super::{back_to, flash_result, form_errors, non_empty};
use crate::admin::members::{self, AdminUser as Member};
use crate::admin::teams::{self as admin_teams, MemberInput, TeamInput};
use crate::error::Result;
use crate::http::error::{Path, Query};
use crate::teams::{self, Team, TeamDetail};
use crate::web::ctx::{
    client_error, enc, redirect, redirect_with, render, render_status, Admin, Ctx, FormData, FormErrors,
    Signed,
};

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
pub(super) struct TeamsQuery {
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

pub(super) async fn teams_page(Admin(s): Admin, Query(q): Query<TeamsQuery>) -> Result<Response> {
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

pub(super) async fn team_create(Admin(s): Admin, form: FormData) -> Result<Response> {
    match admin_teams::create(&s.state.db, &s.origin, s.user_id(), team_input(&form)).await {
        Ok(t) => {
            let to = format!("/admin/teams/{}", enc(&t.team.id));
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

pub(super) async fn team_update(Admin(s): Admin, Path(id): Path<String>, form: FormData) -> Result<Response> {
    let back = back_to(&form, "/admin/teams");
    let current = team(&s, &id).await?.team;
    match admin_teams::update(&s.state.db, &s.origin, s.user_id(), &id, team_input(&form)).await {
        Ok(t) => {
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

pub(super) async fn team_delete(Admin(s): Admin, Path(id): Path<String>) -> Result<Response> {
    let name = teams::get(&s.state.db, &id)
        .await?
        .map(|t| t.team.name)
        .unwrap_or_default();
    let result = admin_teams::delete(&s.state.db, &s.origin, s.user_id(), &id).await;
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

pub(super) async fn team_page(Admin(s): Admin, Path(id): Path<String>) -> Result<Response> {
    let detail = team(&s, &id).await?;
    let members: HashSet<&str> = detail.members.iter().map(|m| m.id.as_str()).collect();
    let (mut users, _) = members::list(&s.state.db, None, None, 0).await?;
    users.retain(|u| !members.contains(u.id.as_str()));
    users.sort_by_key(|u| u.name.to_lowercase());
    render(&TeamPage {
        ctx: s.ctx,
        detail,
        candidates: users,
    })
}

pub(super) async fn team_add_member(
    Admin(s): Admin,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response> {
    let back = format!("/admin/teams/{}", enc(&id));
    let user_id = form.get("user_id").to_string();
    let name = members::get(&s.state.db, &user_id)
        .await?
        .map(|u| u.name)
        .unwrap_or_default();
    let input = MemberInput {
        user_id: non_empty(Some(user_id)),
    };
    let result = admin_teams::add_member(&s.state.db, &s.origin, s.user_id(), &id, input).await;
    let ok = s.ctx.tf("admin.teams.member_added", &name);
    flash_result(&s.ctx, &back, result, &ok)
}

pub(super) async fn team_remove_member(
    Admin(s): Admin,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Response> {
    let back = format!("/admin/teams/{}", enc(&id));
    let name = members::get(&s.state.db, &user_id)
        .await?
        .map(|u| u.name)
        .unwrap_or_default();
    let result = admin_teams::remove_member(&s.state.db, &s.origin, s.user_id(), &id, &user_id).await;
    let ok = s.ctx.tf("admin.teams.member_removed", &name);
    flash_result(&s.ctx, &back, result, &ok)
}
