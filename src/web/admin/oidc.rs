//! `/admin/oidc`: the identity providers users may sign in with — list, add, change, delete —
//! through the same use cases as `/api/oidc-providers`. The client secret is write-only: the
//! form never shows it, and a blank one keeps the stored secret.

use askama::Template;
use axum::response::Response;
use serde::Deserialize;

use super::{flash_result, form_errors};
use crate::error::Result;
use crate::http::error::{Path, Query};
use crate::oidc::providers::{self, GroupMappingInput, OidcProvider, ProviderInput};
use crate::teams::{self, Team};
use crate::web::ctx::{
    client_error, redirect_with, render, render_status, Admin, Ctx, FormData, FormErrors, Signed,
};

#[derive(Template)]
#[template(path = "admin/oidc.html")]
struct OidcPage {
    ctx: Ctx,
    providers: Vec<OidcProvider>,
    teams: Vec<Team>,
    create: bool,
    edit: Option<OidcProvider>,
    form: FormData,
    errors: FormErrors,
    /// Where to register SlugBase at the provider, for a new one: `{BASE_URL}/api/auth/<key>/callback`.
    callback_pattern: String,
}

impl OidcPage {
    /// The group field of `team` in the form: the groups that grant membership, comma-separated.
    fn team_groups(&self, team: &Team) -> String {
        self.form.get(&format!("groups_{}", team.id)).to_string()
    }
}

#[derive(Deserialize)]
pub(super) struct OidcQuery {
    create: Option<String>,
    edit: Option<String>,
}

async fn view(s: Signed) -> Result<OidcPage> {
    let list = providers::list(&s.state.db, &s.state.config.base_url).await?;
    let teams = teams::list(&s.state.db).await?;
    Ok(OidcPage {
        callback_pattern: providers::callback_url(&s.state.config.base_url, "<key>"),
        ctx: s.ctx,
        providers: list,
        teams,
        create: false,
        edit: None,
        form: FormData(vec![
            ("scopes".into(), crate::oidc::validate::DEFAULT_SCOPES.into()),
            ("auto_create_users".into(), "true".into()),
            ("default_role".into(), "user".into()),
        ]),
        errors: FormErrors::default(),
    })
}

/// The form of an existing provider (without its client id and secret, which are never shown).
fn provider_form(p: &OidcProvider) -> FormData {
    let mut f = vec![
        ("provider_key".to_string(), p.provider_key.clone()),
        ("issuer_url".to_string(), p.issuer_url.clone()),
        (
            "authorization_url".to_string(),
            p.authorization_url.clone().unwrap_or_default(),
        ),
        ("token_url".to_string(), p.token_url.clone().unwrap_or_default()),
        (
            "userinfo_url".to_string(),
            p.userinfo_url.clone().unwrap_or_default(),
        ),
        ("scopes".to_string(), p.scopes.clone()),
        ("auto_create_users".to_string(), p.auto_create_users.to_string()),
        ("default_role".to_string(), p.default_role.clone()),
        (
            "groups_claim".to_string(),
            p.groups_claim.clone().unwrap_or_default(),
        ),
    ];
    let mut by_team: Vec<(String, Vec<String>)> = Vec::new();
    for m in &p.group_mappings {
        match by_team.iter_mut().find(|(t, _)| *t == m.team_id) {
            Some((_, groups)) => groups.push(m.group.clone()),
            None => by_team.push((m.team_id.clone(), vec![m.group.clone()])),
        }
    }
    for (team, groups) in by_team {
        f.push((format!("groups_{team}"), groups.join(", ")));
    }
    FormData(f)
}

pub(super) async fn oidc_page(Admin(s): Admin, Query(q): Query<OidcQuery>) -> Result<Response> {
    let edit = match q.edit.as_deref().filter(|v| !v.is_empty()) {
        Some(id) => Some(providers::get(&s.state.db, &s.state.config.base_url, id).await?),
        None => None,
    };
    let mut page = view(s).await?;
    page.create = q.create.as_deref() == Some("true");
    if let Some(p) = &edit {
        page.form = provider_form(p);
    }
    page.edit = edit;
    render(&page)
}

/// The form as the use case's input. Every field is given, so an edit replaces them all (blank
/// client id and secret keep the stored ones).
fn input(form: &FormData, teams: &[Team]) -> ProviderInput {
    let opt = |name: &str| Some(Some(form.get(name).to_string()));
    let mut mappings = Vec::new();
    for t in teams {
        for group in form.get(&format!("groups_{}", t.id)).split(',') {
            if !group.trim().is_empty() {
                mappings.push(GroupMappingInput {
                    group: Some(group.trim().to_string()),
                    team_id: Some(t.id.clone()),
                });
            }
        }
    }
    ProviderInput {
        provider_key: Some(form.get("provider_key").to_string()),
        client_id: Some(form.get("client_id").to_string()),
        client_secret: Some(form.get("client_secret").to_string()),
        issuer_url: Some(form.get("issuer_url").to_string()),
        authorization_url: opt("authorization_url"),
        token_url: opt("token_url"),
        userinfo_url: opt("userinfo_url"),
        scopes: Some(form.get("scopes").to_string()),
        auto_create_users: Some(serde_json::Value::Bool(form.checked("auto_create_users"))),
        default_role: Some(form.get("default_role").to_string()),
        groups_claim: opt("groups_claim"),
        group_mappings: Some(mappings),
    }
}

/// The form again, without the secret, with the refusal's messages.
async fn form_again(
    s: Signed,
    edit: Option<OidcProvider>,
    form: FormData,
    e: crate::error::Error,
) -> Result<Response> {
    let errors = form_errors(&s.ctx, &e);
    let mut page = view(s).await?;
    page.create = edit.is_none();
    page.edit = edit;
    page.form = FormData(form.0.into_iter().filter(|(k, _)| k != "client_secret").collect());
    page.errors = errors;
    render_status(crate::http::error::status(e.kind), &page)
}

pub(super) async fn oidc_create(Admin(s): Admin, form: FormData) -> Result<Response> {
    let teams = teams::list(&s.state.db).await?;
    let st = &s.state;
    match providers::create(
        &st.db,
        &st.config,
        &st.cipher,
        &st.oidc,
        &s.origin,
        s.user_id(),
        input(&form, &teams),
    )
    .await
    {
        Ok(p) => {
            let msg = s.ctx.tf("admin.oidc.created", &p.provider_key);
            Ok(redirect_with("/admin/oidc", "ok", &msg))
        }
        Err(e) => {
            let e = client_error(e)?;
            form_again(s, None, form, e).await
        }
    }
}

pub(super) async fn oidc_update(Admin(s): Admin, Path(id): Path<String>, form: FormData) -> Result<Response> {
    let current = providers::get(&s.state.db, &s.state.config.base_url, &id).await?;
    let teams = teams::list(&s.state.db).await?;
    let st = &s.state;
    match providers::update(
        &st.db,
        &st.config,
        &st.cipher,
        &st.oidc,
        &s.origin,
        s.user_id(),
        &id,
        input(&form, &teams),
    )
    .await
    {
        Ok(p) => {
            let msg = s.ctx.tf("admin.oidc.updated", &p.provider_key);
            Ok(redirect_with("/admin/oidc", "ok", &msg))
        }
        Err(e) => {
            let e = client_error(e)?;
            form_again(s, Some(current), form, e).await
        }
    }
}

pub(super) async fn oidc_delete(Admin(s): Admin, Path(id): Path<String>) -> Result<Response> {
    let key = providers::get(&s.state.db, &s.state.config.base_url, &id)
        .await
        .map(|p| p.provider_key)
        .unwrap_or_default();
    let result = providers::delete(&s.state.db, &s.state.oidc, &s.origin, s.user_id(), &id).await;
    let ok = s.ctx.tf("admin.oidc.deleted", &key);
    flash_result(&s.ctx, "/admin/oidc", result, &ok)
}
