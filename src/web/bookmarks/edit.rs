//! The bookmark dialogs' forms: create and edit (with "fetch title"), share, pin and delete.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;

use super::{page_with, return_state, Dialog};
use crate::bookmarks::model::Bookmark;
use crate::bookmarks::write::{self, BookmarkInput};
use crate::error::{Error, Result};
use crate::web::ctx::{client_error, flash_outcome, redirect_with, FormData, FormErrors, Signed};

/// The bookmark's current values as a form (for the edit dialog).
pub(super) fn form_of(b: &Bookmark) -> FormData {
    let mut v = vec![
        ("url".to_string(), b.url.clone()),
        ("title".to_string(), b.title.clone()),
        ("slug".to_string(), b.slug.clone()),
        (
            "description".to_string(),
            b.description.clone().unwrap_or_default(),
        ),
        (
            "tags".to_string(),
            b.tags
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        ),
    ];
    if b.pinned {
        v.push(("pinned".into(), "true".into()));
    }
    if b.forwarding_enabled {
        v.push(("forwarding_enabled".into(), "true".into()));
    }
    for f in &b.folders {
        v.push(("folder_ids".into(), f.id.clone()));
    }
    FormData(v)
}

/// Tag names typed in the form → ids of the user's tags, creating the new ones.
pub(super) async fn tag_ids(s: &Signed, names: &str) -> Result<Vec<String>> {
    let (existing, _) = crate::tags::list(&s.state.db, s.user_id(), true, None, 0).await?;
    let mut ids: Vec<String> = Vec::new();
    for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let id = match existing.iter().find(|t| t.name.eq_ignore_ascii_case(name)) {
            Some(t) => t.id.clone(),
            None => {
                crate::tags::create(&s.state.db, &s.origin, s.user_id(), Some(name))
                    .await
                    .map_err(|e| Error::invalid("tags", e.message.to_string()))?
                    .id
            }
        };
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

async fn input_of(s: &Signed, form: &FormData) -> Result<BookmarkInput> {
    let forwarding = form.checked("forwarding_enabled");
    let slug = form.get("slug").trim().to_string();
    if forwarding && slug.is_empty() {
        return Err(Error::invalid(
            "slug",
            s.ctx.t("bookmarks.slug_required").to_string(),
        ));
    }
    Ok(BookmarkInput {
        title: Some(form.get("title").to_string()),
        url: Some(form.get("url").trim().to_string()),
        slug: Some(Some(slug).filter(|s| !s.is_empty())),
        description: Some(Some(form.get("description").to_string()).filter(|d| !d.trim().is_empty())),
        forwarding_enabled: Some(forwarding),
        pinned: Some(form.checked("pinned")),
        folder_ids: Some(form.all("folder_ids")),
        tag_ids: Some(tag_ids(s, form.get("tags")).await?),
        ..Default::default()
    })
}

pub(super) async fn create(s: Signed, form: FormData) -> Result<Response> {
    save(s, None, form).await
}

pub(super) async fn update(s: Signed, Path(id): Path<String>, form: FormData) -> Result<Response> {
    save(s, Some(id), form).await
}

async fn save(s: Signed, id: Option<String>, form: FormData) -> Result<Response> {
    let (back, state) = return_state(&form);
    let result = async {
        let input = input_of(&s, &form).await?;
        let (db, origin, me) = (&s.state.db, &s.origin, s.user_id());
        match &id {
            None => write::create(db, origin, me, &input).await.map(|_| ()),
            Some(id) => write::update(db, origin, me, id, &input).await.map(|_| ()),
        }
    }
    .await;
    match result {
        Ok(()) => {
            let key = if id.is_some() {
                "bookmarks.updated"
            } else {
                "bookmarks.created"
            };
            Ok(redirect_with(&back, "ok", s.ctx.t(key)))
        }
        Err(e) => {
            let e = client_error(e)?;
            let errors = FormErrors::from_error(s.ctx.tr, &e);
            let status = crate::http::error::status(e.kind);
            page_with(
                s,
                state,
                Dialog::Form {
                    edit: id,
                    form,
                    errors,
                },
                status,
            )
            .await
        }
    }
}

/// "Fetch title" in the bookmark dialog: reads the page's metadata (the API's SSRF-safe fetcher)
/// and shows the dialog again with the empty title and notes filled in.
pub(super) async fn fetch_metadata(s: Signed, form: FormData) -> Result<Response> {
    let (_, state) = return_state(&form);
    let edit = form.opt("edit_id").filter(|id| !id.is_empty());
    let result = crate::metadata::page_metadata(s.state.fetcher(), form.opt("url")).await;
    let mut form = form;
    let (errors, status) = match result {
        Ok(meta) => {
            let fill = |form: &mut FormData, name: &str, value: Option<String>| {
                if form.get(name).trim().is_empty() {
                    if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
                        form.0.retain(|(k, _)| k != name);
                        form.0.push((name.to_string(), v));
                    }
                }
            };
            fill(&mut form, "title", meta.title);
            fill(&mut form, "description", meta.description);
            (FormErrors::default(), StatusCode::OK)
        }
        Err(e) => {
            let status = if !e.kind.is_client() {
                StatusCode::OK
            } else {
                crate::http::error::status(e.kind)
            };
            let mut errors = FormErrors::from_error(s.ctx.tr, &e);
            if let Some(g) = errors.general.take() {
                errors.fields.insert("url".into(), g);
            }
            (errors, status)
        }
    };
    page_with(s, state, Dialog::Form { edit, form, errors }, status).await
}

/// What quick capture takes: the link (or a text with a link in it, as phones share one), and
/// optionally its title and description.
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct Capture {
    url: Option<String>,
    text: Option<String>,
    title: Option<String>,
    description: Option<String>,
    slug: Option<String>,
}

/// The first `http(s)://` link in a shared text ("Look at this https://… ").
fn link_in(text: &str) -> Option<String> {
    text.split_whitespace()
        .find(|w| w.starts_with("https://") || w.starts_with("http://"))
        .map(str::to_string)
}

/// Quick capture, `/bookmarks/new?url=&title=&description=`: the create form, filled in. Without a
/// title, the page's title and description are fetched (a page that cannot be fetched leaves
/// them empty; it is not an error here).
pub(super) async fn capture(
    s: Signed,
    axum::extract::Query(q): axum::extract::Query<Capture>,
) -> Result<Response> {
    let nonempty = |v: Option<String>| v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let text = nonempty(q.text);
    let url = nonempty(q.url).or_else(|| text.as_deref().and_then(link_in));
    let mut title = nonempty(q.title);
    let mut description = nonempty(q.description)
        // A shared text that is more than its link says something about it.
        .or_else(|| text.filter(|t| url.as_deref() != Some(t.as_str())));
    if title.is_none() && url.is_some() {
        if let Ok(meta) = crate::metadata::page_metadata(s.state.fetcher(), url.clone()).await {
            title = nonempty(meta.title);
            description = description.or(nonempty(meta.description));
        }
    }
    let form = FormData(
        [
            ("url", url),
            ("title", title),
            ("description", description),
            ("slug", nonempty(q.slug)),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
        .collect(),
    );
    let dialog = Dialog::Form {
        edit: None,
        form,
        errors: FormErrors::default(),
    };
    page_with(s, super::ListState::default(), dialog, StatusCode::OK).await
}

pub(super) async fn delete(s: Signed, Path(id): Path<String>, form: FormData) -> Result<Response> {
    let (back, _) = return_state(&form);
    write::delete(&s.state.db, &s.origin, s.user_id(), &id).await?;
    Ok(redirect_with(&back, "ok", s.ctx.t("bookmarks.deleted")))
}

pub(super) async fn pin(s: Signed, Path(id): Path<String>, form: FormData) -> Result<Response> {
    let (back, _) = return_state(&form);
    let pinned = form.get("pinned") == "true";
    let input = BookmarkInput {
        pinned: Some(pinned),
        ..Default::default()
    };
    write::update(&s.state.db, &s.origin, s.user_id(), &id, &input).await?;
    let key = if pinned {
        "bookmarks.pinned_done"
    } else {
        "bookmarks.unpinned_done"
    };
    Ok(redirect_with(&back, "ok", s.ctx.t(key)))
}

pub(super) async fn share(s: Signed, Path(id): Path<String>, form: FormData) -> Result<Response> {
    let (back, _) = return_state(&form);
    let input = BookmarkInput {
        user_ids: Some(form.all("user_ids")),
        team_ids: Some(form.all("team_ids")),
        share_all_teams: Some(form.checked("share_all_teams")),
        ..Default::default()
    };
    let result = write::update(&s.state.db, &s.origin, s.user_id(), &id, &input).await;
    flash_outcome(s.ctx.tr, result, &back, s.ctx.t("bookmarks.shared_done"))
}

/// "Suggest" in the create dialog: asks the AI for a title, slug and tags (the same use case as
/// `POST /api/bookmarks/ai-suggest`) and shows the dialog again with them filled in; tags typed
/// already are kept.
pub(super) async fn suggest(s: Signed, form: FormData) -> Result<Response> {
    let (_, state) = return_state(&form);
    let input = crate::ai::SuggestInput {
        url: form.opt("url"),
        page_title: form.opt("title").filter(|t| !t.trim().is_empty()),
    };
    let result =
        crate::ai::suggest::suggest(&s.state.db, &s.state.ai, s.state.fetcher(), &s.auth.user, input).await;
    let mut form = form;
    let (errors, status) = match result {
        Ok(sug) => {
            let set = |form: &mut FormData, name: &str, value: String| {
                form.0.retain(|(k, _)| k != name);
                form.0.push((name.to_string(), value));
            };
            let mut tags: Vec<String> = form
                .get("tags")
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect();
            for t in sug.tags {
                if !tags.iter().any(|x| x.eq_ignore_ascii_case(&t)) {
                    tags.push(t);
                }
            }
            set(&mut form, "title", sug.title);
            if !sug.slug.is_empty() {
                set(&mut form, "slug", sug.slug);
            }
            set(&mut form, "tags", tags.join(", "));
            (FormErrors::default(), StatusCode::OK)
        }
        Err(e) => {
            // The AI service failing is the dialog's news, not a failed page.
            let status = if e.kind.is_client() {
                crate::http::error::status(e.kind)
            } else {
                StatusCode::OK
            };
            let mut errors = FormErrors::from_error(s.ctx.tr, &e);
            if e.details.is_some() {
                if let Some(g) = errors.general.take() {
                    errors.fields.insert("url".into(), g);
                }
            }
            (errors, status)
        }
    };
    page_with(
        s,
        state,
        Dialog::Form {
            edit: None,
            form,
            errors,
        },
        status,
    )
    .await
}
