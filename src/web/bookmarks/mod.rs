//! `/bookmarks`: the list (cards or table, filters in the URL, search as you type), the
//! create/edit, share, delete and import dialogs, bulk actions, export and open tracking.

mod actions;
mod edit;

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use axum_extra::extract::Query;
use serde::Deserialize;

use crate::bookmarks::model::Bookmark;
use crate::bookmarks::{ListFilter, Sort};
use crate::error::{Error, Result};
use crate::folders::{Folder, ListOptions};
use crate::sharing::Scope;
use crate::state::AppState;
use crate::tags::Tag;
use crate::teams::Team;
use crate::users::ShareableUser;
use crate::web::ctx::{enc, render, render_status, Ctx, FormData, FormErrors, Signed};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/bookmarks", get(list_page).post(edit::create))
        .route("/bookmarks/new", get(edit::capture))
        .route("/bookmarks/export", get(actions::export))
        .route("/bookmarks/import", post(actions::import))
        .route("/bookmarks/bulk", post(actions::bulk))
        .route("/bookmarks/check-links", post(actions::check_links))
        .route("/bookmarks/fetch", post(edit::fetch_metadata))
        .route("/bookmarks/suggest", post(edit::suggest))
        .route("/bookmarks/{id}", post(edit::update))
        .route("/bookmarks/{id}/delete", post(edit::delete))
        .route("/bookmarks/{id}/pin", post(edit::pin))
        .route("/bookmarks/{id}/share", post(edit::share))
        .route("/bookmarks/{id}/open", post(actions::open))
}

/// The list's state, all in the URL so a view can be shared and reloaded.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ListState {
    pub folder_id: Option<String>,
    #[serde(default)]
    pub tag_id: Vec<String>,
    pub scope: Option<String>,
    pub pinned: Option<String>,
    /// `broken`: only bookmarks whose last dead-link check failed.
    pub link_status: Option<String>,
    pub q: Option<String>,
    pub sort_by: Option<String>,
    pub view: Option<String>,
    pub limit: Option<String>,
    pub page: Option<String>,
    // One-shot dialogs.
    pub create: Option<String>,
    /// `new=1&slug=…`: the create dialog with the slug filled in (the original's link from a
    /// missing go link's page).
    pub new: Option<String>,
    pub slug: Option<String>,
    pub import: Option<String>,
    pub edit: Option<String>,
    pub share: Option<String>,
    pub delete: Option<String>,
    pub fragment: Option<String>,
}

fn some(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

impl ListState {
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut push = |k: &'static str, v: &Option<String>| {
            if let Some(v) = some(v) {
                out.push((k, v.to_string()));
            }
        };
        push("q", &self.q);
        push("folder_id", &self.folder_id);
        push("scope", &self.scope);
        push("pinned", &self.pinned);
        push("link_status", &self.link_status);
        push("sort_by", &self.sort_by);
        push("view", &self.view);
        push("limit", &self.limit);
        push("page", &self.page);
        for t in &self.tag_id {
            out.push(("tag_id", t.clone()));
        }
        out
    }

    fn build(pairs: Vec<(&'static str, String)>) -> String {
        if pairs.is_empty() {
            return "/bookmarks".into();
        }
        let q: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", enc(v))).collect();
        format!("/bookmarks?{}", q.join("&"))
    }

    /// This list's URL.
    pub fn href(&self) -> String {
        Self::build(self.pairs())
    }

    /// This list with one parameter set (and back to page 1).
    pub fn with(&self, key: &str, value: &str) -> String {
        let mut p: Vec<_> = self
            .pairs()
            .into_iter()
            .filter(|(k, _)| *k != key && *k != "page")
            .collect();
        if let Some(k) = [
            "q",
            "folder_id",
            "scope",
            "pinned",
            "link_status",
            "sort_by",
            "view",
            "limit",
            "tag_id",
        ]
        .into_iter()
        .find(|k| *k == key)
        {
            if !value.is_empty() {
                p.push((k, value.to_string()));
            }
        }
        Self::build(p)
    }

    pub fn without(&self, key: &str) -> String {
        Self::build(
            self.pairs()
                .into_iter()
                .filter(|(k, _)| *k != key && *k != "page")
                .collect(),
        )
    }

    pub fn toggle_tag(&self, id: &str) -> String {
        let mut p: Vec<_> = self.pairs().into_iter().filter(|(k, _)| *k != "page").collect();
        if self.tag_id.iter().any(|t| t == id) {
            p.retain(|(k, v)| !(*k == "tag_id" && v == id));
        } else {
            p.push(("tag_id", id.to_string()));
        }
        Self::build(p)
    }

    pub fn page_href(&self, page: i64) -> String {
        let mut p: Vec<_> = self.pairs().into_iter().filter(|(k, _)| *k != "page").collect();
        if page > 1 {
            p.push(("page", page.to_string()));
        }
        Self::build(p)
    }

    /// The URL with a dialog open (`create=true`, `edit=<id>` …).
    pub fn dialog(&self, key: &str, value: &str) -> String {
        let base = self.href();
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}{key}={}", enc(value))
    }

    pub fn scope(&self) -> &str {
        some(&self.scope).unwrap_or("all")
    }
    pub fn view(&self) -> &str {
        match some(&self.view) {
            Some("table") => "table",
            Some("list") => "list",
            _ => "cards",
        }
    }
    pub fn sort(&self) -> &str {
        some(&self.sort_by).unwrap_or("")
    }
    pub fn limit(&self) -> i64 {
        crate::input::parse_limit(self.limit.as_deref(), 50, 500)
    }
    pub fn page(&self) -> i64 {
        self.page
            .as_deref()
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(1)
            .max(1)
    }
    pub fn pinned(&self) -> bool {
        self.pinned.as_deref() == Some("true")
    }
    pub fn q(&self) -> &str {
        self.q.as_deref().unwrap_or("")
    }
    pub fn folder(&self) -> &str {
        self.folder_id.as_deref().unwrap_or("")
    }
    pub fn has_tag(&self, id: &str) -> bool {
        self.tag_id.iter().any(|t| t == id)
    }
    pub fn filtered(&self) -> bool {
        some(&self.q).is_some()
            || some(&self.folder_id).is_some()
            || !self.tag_id.is_empty()
            || self.pinned()
            || self.broken_only()
            || self.scope() != "all"
    }

    /// Only the bookmarks whose last dead-link check failed.
    pub fn broken_only(&self) -> bool {
        some(&self.link_status) == Some("broken")
    }

    fn to_filter(&self) -> ListFilter {
        ListFilter {
            folder_id: some(&self.folder_id).map(str::to_string),
            tag_ids: crate::sharing::dedup(&self.tag_id),
            any_tag: false,
            scope: Scope::parse(some(&self.scope)),
            pinned_only: self.pinned(),
            link_status: self.broken_only().then_some("broken"),
            text: self.q().trim().to_string(),
            sort: some(&self.sort_by).map(Sort::parse),
            limit: self.limit().clamp(1, 500) as u32,
            offset: ((self.page() - 1) * self.limit()).clamp(0, u32::MAX as i64) as u32,
        }
    }
}

/// What the results region shows (also answered alone for search as you type).
pub struct Results {
    pub items: Vec<Bookmark>,
    pub total: i64,
    pub state: ListState,
    pub pages: i64,
    pub first: i64,
    pub last: i64,
    pub has_any: bool,
}

impl Results {
    pub fn range(&self) -> String {
        format!("{}–{}", self.first, self.last)
    }
}

pub enum Dialog {
    None,
    Form {
        edit: Option<String>,
        form: FormData,
        errors: FormErrors,
    },
    Import {
        errors: FormErrors,
    },
    Share {
        bookmark: Box<Bookmark>,
        teams: Vec<Team>,
        users: Vec<ShareableUser>,
    },
    Delete {
        bookmark: Box<Bookmark>,
    },
}

#[derive(Template)]
#[template(path = "pages/bookmarks.html")]
struct BookmarksPage {
    ctx: Ctx,
    r: Results,
    folders: Vec<Folder>,
    tags: Vec<Tag>,
    dialog: Dialog,
    /// The create dialog offers "Suggest" (AI suggestions are on for this user).
    ai_suggest: bool,
}

impl BookmarksPage {
    fn own_folders(&self) -> Vec<&Folder> {
        self.folders.iter().filter(|f| f.folder_type == "own").collect()
    }
    fn folder_name(&self, id: &str) -> String {
        self.folders
            .iter()
            .find(|f| f.id == id)
            .map(|f| f.name.clone())
            .unwrap_or_default()
    }
    fn tag_name(&self, id: &str) -> String {
        self.tags
            .iter()
            .find(|t| t.id == id)
            .map(|t| t.name.clone())
            .unwrap_or_default()
    }
    fn top_tags(&self) -> Vec<&Tag> {
        let mut v: Vec<&Tag> = self.tags.iter().filter(|t| t.bookmark_count > 0).collect();
        v.sort_by(|a, b| {
            (!self.r.state.has_tag(&a.id), -a.bookmark_count)
                .cmp(&(!self.r.state.has_tag(&b.id), -b.bookmark_count))
        });
        v.truncate(12);
        v
    }
    fn form_has_folder(&self, form: &FormData, id: &str) -> bool {
        form.has("folder_ids", id)
    }
}

#[derive(Template)]
#[template(path = "partials/bookmark_results.html")]
struct ResultsFragment {
    ctx: Ctx,
    r: Results,
}

async fn results(s: &Signed, state: ListState) -> Result<Results> {
    let filter = state.to_filter();
    let page = crate::bookmarks::list(&s.state.db, &s.state.counts, s.user_id(), &filter).await?;
    let limit = state.limit();
    let pages = ((page.total + limit - 1) / limit).max(1);
    let first = if page.items.is_empty() {
        0
    } else {
        (state.page() - 1) * limit + 1
    };
    let last = first + page.items.len() as i64 - if page.items.is_empty() { 0 } else { 1 };
    let has_any = if state.filtered() || page.total > 0 {
        // Whether the user has anything at all decides between "no matches" and "get started".
        page.total > 0
            || crate::bookmarks::list(
                &s.state.db,
                &s.state.counts,
                s.user_id(),
                &ListFilter {
                    limit: 1,
                    ..Default::default()
                },
            )
            .await?
            .total
                > 0
    } else {
        false
    };
    Ok(Results {
        items: page.items,
        total: page.total,
        state,
        pages,
        first,
        last,
        has_any,
    })
}

async fn sidebar_data(s: &Signed) -> Result<(Vec<Folder>, Vec<Tag>)> {
    let (folders, _) = crate::folders::list(
        &s.state.db,
        s.user_id(),
        &ListOptions {
            scope: crate::sharing::Scope::All,
            alphabetical: true,
            limit: None,
            offset: 0,
        },
    )
    .await?;
    let (tags, _) = crate::tags::list(&s.state.db, s.user_id(), true, None, 0).await?;
    Ok((folders, tags))
}

pub(super) async fn own_bookmark(s: &Signed, id: &str) -> Result<Bookmark> {
    match crate::bookmarks::get(&s.state.db, s.user_id(), id).await? {
        Some(b) if b.user_id == s.user_id() => Ok(b),
        _ => Err(Error::not_found("Bookmark not found")),
    }
}

async fn list_page(s: Signed, Query(state): Query<ListState>) -> Result<Response> {
    if state.fragment.as_deref() == Some("results") {
        let r = results(&s, state).await?;
        return render(&ResultsFragment { ctx: s.ctx, r });
    }
    let dialog = if state.create.is_some() || state.new.is_some() {
        let slug = some(&state.slug).map(|s| ("slug".to_string(), s.to_string()));
        Dialog::Form {
            edit: None,
            form: FormData(slug.into_iter().collect()),
            errors: FormErrors::default(),
        }
    } else if let Some(id) = some(&state.edit) {
        let b = own_bookmark(&s, id).await?;
        Dialog::Form {
            edit: Some(b.id.clone()),
            form: edit::form_of(&b),
            errors: FormErrors::default(),
        }
    } else if state.import.is_some() {
        Dialog::Import {
            errors: FormErrors::default(),
        }
    } else if let Some(id) = some(&state.share) {
        let b = own_bookmark(&s, id).await?;
        Dialog::Share {
            bookmark: Box::new(b),
            teams: crate::teams::of_user(&s.state.db, s.user_id()).await?,
            users: crate::users::for_sharing(&s.state.db, s.user_id()).await?,
        }
    } else if let Some(id) = some(&state.delete) {
        Dialog::Delete {
            bookmark: Box::new(own_bookmark(&s, id).await?),
        }
    } else {
        Dialog::None
    };
    page_with(s, state, dialog, StatusCode::OK).await
}

pub(super) async fn page_with(
    s: Signed,
    state: ListState,
    dialog: Dialog,
    status: StatusCode,
) -> Result<Response> {
    let r = results(&s, state).await?;
    let (folders, tags) = sidebar_data(&s).await?;
    let ai_suggest = matches!(dialog, Dialog::Form { edit: None, .. })
        && crate::ai::settings::availability(&s.state.db, &s.state.ai, &s.auth.user)
            .await?
            .enabled;
    render_status(
        status,
        &BookmarksPage {
            ctx: s.ctx,
            r,
            folders,
            tags,
            dialog,
            ai_suggest,
        },
    )
}

/// The list state a form came from (its hidden `return` field).
pub(super) fn return_state(form: &FormData) -> (String, ListState) {
    let back = crate::web::ctx::back_under(form.get("return"), "/bookmarks");
    let state = back
        .parse::<axum::http::Uri>()
        .ok()
        .and_then(|uri| Query::<ListState>::try_from_uri(&uri).ok())
        .map(|q| q.0)
        .unwrap_or_default();
    (back, state)
}

/// The first letter of a title, for the card's icon.
pub fn letter(title: &str) -> String {
    title
        .chars()
        .find(|c| c.is_alphanumeric())
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_else(|| "#".into())
}

pub fn shared_with_user(users: &[crate::sharing::UserRef], id: &str) -> bool {
    users.iter().any(|u| u.id == id)
}

pub fn shared_with_team(teams: &[crate::sharing::TeamRef], id: &str) -> bool {
    teams.iter().any(|t| t.id == id)
}
