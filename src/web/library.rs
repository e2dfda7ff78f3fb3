//! `/folders` and `/tags`: grids and lists with create, edit, share and delete dialogs.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use axum_extra::extract::Query;
use serde::Deserialize;

use crate::bookmarks::model::Bookmark;
use crate::bookmarks::ListFilter;
use crate::error::{Error, Result};
use crate::folders::{self, Folder, FolderInput, ListOptions};
use crate::sharing::Scope;
use crate::state::AppState;
use crate::tags::{self, Tag};
use crate::teams::Team;
use crate::users::ShareableUser;
use crate::web::ctx::{
    client_error, enc, flash_outcome, redirect_with, render_status, Ctx, FormData, FormErrors, Signed,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/folders", get(folders_page).post(folder_create))
        .route("/folders/{id}", post(folder_update))
        .route("/folders/{id}/delete", post(folder_delete))
        .route("/folders/{id}/share", post(folder_share))
        .route("/tags", get(tags_page).post(tag_create))
        .route("/tags/{id}", post(tag_update))
        .route("/tags/{id}/delete", post(tag_delete))
}

/// Icon names the original's clients know (Lucide names), offered in the folder dialog.
pub const ICONS: &[&str] = &[
    "Folder",
    "Briefcase",
    "Code",
    "BookOpen",
    "Star",
    "Heart",
    "Home",
    "Globe",
    "Music",
    "Film",
    "Camera",
    "ShoppingCart",
    "Wrench",
    "Cloud",
    "Database",
    "Server",
    "Shield",
    "Users",
    "Zap",
    "Coffee",
];

#[derive(Debug, Default, Deserialize)]
struct FolderQuery {
    scope: Option<String>,
    sort: Option<String>,
    q: Option<String>,
    create: Option<String>,
    edit: Option<String>,
    share: Option<String>,
    delete: Option<String>,
}

pub enum FolderDialog {
    None,
    Form {
        edit: Option<String>,
        form: FormData,
        errors: FormErrors,
    },
    Share {
        folder: Box<Folder>,
        teams: Vec<Team>,
        users: Vec<ShareableUser>,
    },
    Delete {
        folder: Box<Folder>,
    },
}

#[derive(Template)]
#[template(path = "pages/folders.html")]
struct FoldersPage {
    ctx: Ctx,
    folders: Vec<Folder>,
    total: i64,
    scope: String,
    sort: String,
    q: String,
    back: String,
    dialog: FolderDialog,
}

impl FoldersPage {
    fn icons(&self) -> &'static [&'static str] {
        ICONS
    }
    fn with_scope(&self, scope: &str) -> String {
        folders_href(scope, &self.sort, &self.q)
    }
    fn dialog(&self, key: &str, value: &str) -> String {
        let sep = if self.back.contains('?') { '&' } else { '?' };
        format!("{}{sep}{key}={}", self.back, enc(value))
    }
}

fn folders_href(scope: &str, sort: &str, q: &str) -> String {
    let mut p = Vec::new();
    if !scope.is_empty() && scope != "all" {
        p.push(format!("scope={}", enc(scope)));
    }
    if !sort.is_empty() && sort != "alphabetical" {
        p.push(format!("sort={}", enc(sort)));
    }
    if !q.is_empty() {
        p.push(format!("q={}", enc(q)));
    }
    if p.is_empty() {
        "/folders".into()
    } else {
        format!("/folders?{}", p.join("&"))
    }
}

async fn own_folder(s: &Signed, id: &str) -> Result<Folder> {
    match crate::folders::get(&s.state.db, s.user_id(), id).await? {
        Some(f) if f.user_id == s.user_id() => Ok(f),
        _ => Err(Error::not_found("Folder not found")),
    }
}

async fn folders_view(
    s: Signed,
    q: FolderQuery,
    dialog: Option<FolderDialog>,
    status: StatusCode,
) -> Result<Response> {
    let scope = q.scope.clone().unwrap_or_else(|| "all".into());
    let sort = q.sort.clone().unwrap_or_else(|| "alphabetical".into());
    let name_filter = q.q.clone().unwrap_or_default();
    let (mut folders, total) = crate::folders::list(
        &s.state.db,
        s.user_id(),
        &ListOptions {
            scope: Scope::parse(Some(&scope)),
            alphabetical: sort != "recently_added",
            limit: None,
            offset: 0,
        },
    )
    .await?;
    if !name_filter.trim().is_empty() {
        let needle = name_filter.trim().to_lowercase();
        folders.retain(|f| f.name.to_lowercase().contains(&needle));
    }
    let dialog = match dialog {
        Some(d) => d,
        None => {
            if q.create.is_some() {
                FolderDialog::Form {
                    edit: None,
                    form: FormData::default(),
                    errors: FormErrors::default(),
                }
            } else if let Some(id) = q.edit.as_deref() {
                let f = own_folder(&s, id).await?;
                FolderDialog::Form {
                    edit: Some(f.id.clone()),
                    form: FormData(vec![
                        ("name".into(), f.name.clone()),
                        ("icon".into(), f.icon.clone().unwrap_or_default()),
                    ]),
                    errors: FormErrors::default(),
                }
            } else if let Some(id) = q.share.as_deref() {
                FolderDialog::Share {
                    folder: Box::new(own_folder(&s, id).await?),
                    teams: crate::teams::of_user(&s.state.db, s.user_id()).await?,
                    users: crate::users::for_sharing(&s.state.db, s.user_id()).await?,
                }
            } else if let Some(id) = q.delete.as_deref() {
                FolderDialog::Delete {
                    folder: Box::new(own_folder(&s, id).await?),
                }
            } else {
                FolderDialog::None
            }
        }
    };
    let back = folders_href(&scope, &sort, &name_filter);
    render_status(
        status,
        &FoldersPage {
            ctx: s.ctx,
            folders,
            total,
            scope,
            sort,
            q: name_filter,
            back,
            dialog,
        },
    )
}

async fn folders_page(s: Signed, Query(q): Query<FolderQuery>) -> Result<Response> {
    folders_view(s, q, None, StatusCode::OK).await
}

fn folder_input(form: &FormData) -> FolderInput {
    FolderInput {
        name: Some(form.get("name").to_string()),
        icon: Some(Some(form.get("icon").to_string()).filter(|i| !i.is_empty())),
        ..Default::default()
    }
}

fn back_of(form: &FormData, prefix: &str) -> String {
    crate::web::ctx::back_under(form.get("return"), prefix)
}

async fn folder_create(s: Signed, form: FormData) -> Result<Response> {
    folder_save(s, None, form).await
}

async fn folder_update(
    s: Signed,
    axum::extract::Path(id): axum::extract::Path<String>,
    form: FormData,
) -> Result<Response> {
    folder_save(s, Some(id), form).await
}

async fn folder_save(s: Signed, id: Option<String>, form: FormData) -> Result<Response> {
    let back = back_of(&form, "/folders");
    let (db, origin, me) = (&s.state.db, &s.origin, s.user_id());
    let result = match &id {
        None => folders::create(db, origin, me, &folder_input(&form))
            .await
            .map(|_| ()),
        Some(id) => folders::update(db, origin, me, id, &folder_input(&form))
            .await
            .map(|_| ()),
    };
    match result {
        Ok(()) => Ok(redirect_with(&back, "ok", s.ctx.t("folders.saved"))),
        Err(e) => {
            let e = client_error(e)?;
            let errors = FormErrors::from_error(s.ctx.tr, &e);
            let status = crate::http::error::status(e.kind);
            folders_view(
                s,
                FolderQuery::default(),
                Some(FolderDialog::Form {
                    edit: id,
                    form,
                    errors,
                }),
                status,
            )
            .await
        }
    }
}

async fn folder_delete(
    s: Signed,
    axum::extract::Path(id): axum::extract::Path<String>,
    form: FormData,
) -> Result<Response> {
    let back = back_of(&form, "/folders");
    folders::delete(&s.state.db, &s.origin, s.user_id(), &id).await?;
    Ok(redirect_with(&back, "ok", s.ctx.t("folders.deleted")))
}

async fn folder_share(
    s: Signed,
    axum::extract::Path(id): axum::extract::Path<String>,
    form: FormData,
) -> Result<Response> {
    let back = back_of(&form, "/folders");
    let f = own_folder(&s, &id).await?;
    let input = FolderInput {
        name: Some(f.name),
        icon: Some(f.icon),
        user_ids: Some(form.all("user_ids")),
        team_ids: Some(form.all("team_ids")),
        share_all_teams: Some(form.checked("share_all_teams")),
    };
    let result = folders::update(&s.state.db, &s.origin, s.user_id(), &id, &input).await;
    flash_outcome(s.ctx.tr, result, &back, s.ctx.t("bookmarks.shared_done"))
}

#[derive(Debug, Default, Deserialize)]
struct TagQuery {
    sort: Option<String>,
    q: Option<String>,
    tag: Option<String>,
    create: Option<String>,
    edit: Option<String>,
    delete: Option<String>,
}

pub enum TagDialog {
    None,
    Form {
        edit: Option<String>,
        form: FormData,
        errors: FormErrors,
    },
    Delete {
        tag: Box<Tag>,
    },
}

#[derive(Template)]
#[template(path = "pages/tags.html")]
struct TagsPage {
    ctx: Ctx,
    tags: Vec<Tag>,
    top: Vec<Tag>,
    max: i64,
    sort: String,
    q: String,
    selected: Option<Tag>,
    recent: Vec<Bookmark>,
    dialog: TagDialog,
}

impl TagsPage {
    fn back(&self) -> String {
        let mut p = Vec::new();
        if self.sort == "recently_added" {
            p.push("sort=recently_added".to_string());
        }
        if !self.q.is_empty() {
            p.push(format!("q={}", enc(&self.q)));
        }
        if p.is_empty() {
            "/tags".into()
        } else {
            format!("/tags?{}", p.join("&"))
        }
    }
    fn dialog(&self, key: &str, value: &str) -> String {
        let b = self.back();
        let sep = if b.contains('?') { '&' } else { '?' };
        format!("{b}{sep}{key}={}", enc(value))
    }
    fn is_selected(&self, id: &str) -> bool {
        self.selected.as_ref().is_some_and(|t| t.id == id)
    }
}

async fn own_tag(s: &Signed, id: &str) -> Result<Tag> {
    crate::tags::get(&s.state.db, s.user_id(), id)
        .await?
        .ok_or_else(|| Error::not_found("Tag not found"))
}

async fn tags_view(
    s: Signed,
    q: TagQuery,
    dialog: Option<TagDialog>,
    status: StatusCode,
) -> Result<Response> {
    let sort = q.sort.clone().unwrap_or_else(|| "alphabetical".into());
    let filter = q.q.clone().unwrap_or_default();
    let (mut tags, _) =
        crate::tags::list(&s.state.db, s.user_id(), sort != "recently_added", None, 0).await?;
    let mut top: Vec<Tag> = tags.iter().filter(|t| t.bookmark_count > 0).cloned().collect();
    top.sort_by_key(|t| std::cmp::Reverse(t.bookmark_count));
    top.truncate(10);
    let max = top.first().map(|t| t.bookmark_count).unwrap_or(1).max(1);
    if !filter.trim().is_empty() {
        let needle = filter.trim().to_lowercase();
        tags.retain(|t| t.name.to_lowercase().contains(&needle));
    }
    let selected = match q.tag.as_deref() {
        Some(id) => Some(own_tag(&s, id).await?),
        None => None,
    };
    let recent = match &selected {
        Some(t) => {
            crate::bookmarks::list(
                &s.state.db,
                &s.state.counts,
                s.user_id(),
                &ListFilter {
                    tag_ids: vec![t.id.clone()],
                    limit: 12,
                    ..Default::default()
                },
            )
            .await?
            .items
        }
        None => Vec::new(),
    };
    let dialog = match dialog {
        Some(d) => d,
        None => {
            if q.create.is_some() {
                TagDialog::Form {
                    edit: None,
                    form: FormData::default(),
                    errors: FormErrors::default(),
                }
            } else if let Some(id) = q.edit.as_deref() {
                let t = own_tag(&s, id).await?;
                TagDialog::Form {
                    edit: Some(t.id.clone()),
                    form: FormData(vec![("name".into(), t.name.clone())]),
                    errors: FormErrors::default(),
                }
            } else if let Some(id) = q.delete.as_deref() {
                TagDialog::Delete {
                    tag: Box::new(own_tag(&s, id).await?),
                }
            } else {
                TagDialog::None
            }
        }
    };
    render_status(
        status,
        &TagsPage {
            ctx: s.ctx,
            tags,
            top,
            max,
            sort,
            q: filter,
            selected,
            recent,
            dialog,
        },
    )
}

async fn tags_page(s: Signed, Query(q): Query<TagQuery>) -> Result<Response> {
    tags_view(s, q, None, StatusCode::OK).await
}

async fn tag_create(s: Signed, form: FormData) -> Result<Response> {
    tag_save(s, None, form).await
}

async fn tag_update(
    s: Signed,
    axum::extract::Path(id): axum::extract::Path<String>,
    form: FormData,
) -> Result<Response> {
    tag_save(s, Some(id), form).await
}

async fn tag_save(s: Signed, id: Option<String>, form: FormData) -> Result<Response> {
    let back = back_of(&form, "/tags");
    let name = Some(form.get("name"));
    let (db, origin, me) = (&s.state.db, &s.origin, s.user_id());
    let result = match &id {
        None => tags::create(db, origin, me, name).await.map(|_| ()),
        Some(id) => tags::rename(db, origin, me, id, name).await.map(|_| ()),
    };
    match result {
        Ok(()) => Ok(redirect_with(&back, "ok", s.ctx.t("tags.saved"))),
        Err(e) => {
            let e = client_error(e)?;
            let errors = FormErrors::from_error(s.ctx.tr, &e);
            let status = crate::http::error::status(e.kind);
            tags_view(
                s,
                TagQuery::default(),
                Some(TagDialog::Form {
                    edit: id,
                    form,
                    errors,
                }),
                status,
            )
            .await
        }
    }
}

async fn tag_delete(
    s: Signed,
    axum::extract::Path(id): axum::extract::Path<String>,
    form: FormData,
) -> Result<Response> {
    let back = back_of(&form, "/tags");
    tags::delete(&s.state.db, &s.origin, s.user_id(), &id).await?;
    Ok(redirect_with(&back, "ok", s.ctx.t("tags.deleted")))
}
