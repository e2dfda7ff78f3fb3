//! Actions on the list: bulk changes, import, export and counting opens.

use axum::extract::{Path, Query as AxQuery};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::edit::tag_ids;
use super::{page_with, return_state, Dialog, ListState};
use crate::bookmarks::transfer::{self, ExportFormat};
use crate::bookmarks::write::{self, BulkInput};
use crate::error::Result;
use crate::http::files;
use crate::web::ctx::{client_error, redirect_with, FormData, FormErrors, Signed};

pub(super) async fn bulk(s: Signed, form: FormData) -> Result<Response> {
    let (back, _) = return_state(&form);
    let ids = form.all("ids");
    if ids.is_empty() {
        return Ok(redirect_with(&back, "error", s.ctx.t("bookmarks.bulk_none")));
    }
    let action = form.get("action").to_string();
    let (action, folder_ids, tag_ids_v) = match action.as_str() {
        "move" => ("move".to_string(), Some(form.all("bulk_folder_ids")), None),
        "add_tags" | "remove_tags" => (
            action.clone(),
            None,
            Some(tag_ids(&s, form.get("bulk_tags")).await?),
        ),
        "delete" | "pin" | "unpin" => (action.clone(), None, None),
        _ => return Ok(redirect_with(&back, "error", s.ctx.t("bookmarks.bulk_pick"))),
    };
    let input = BulkInput {
        ids: Some(ids),
        filter: None,
        action,
        folder_ids,
        tag_ids: tag_ids_v,
    };
    match write::bulk(&s.state.db, &s.origin, s.user_id(), &input).await {
        Ok(n) => Ok(redirect_with(&back, "ok", &s.ctx.tf("bookmarks.bulk_done", n))),
        Err(e) => {
            let e = client_error(e)?;
            Ok(redirect_with(
                &back,
                "error",
                &crate::web::ctx::error_message(s.ctx.tr, &e),
            ))
        }
    }
}

pub(super) async fn import(s: Signed, req: axum::extract::Request) -> Result<Response> {
    let result = async {
        let (format, data) = files::import_source(&s.state, req).await?;
        transfer::import_file(
            &s.state.db,
            &s.origin,
            s.user_id(),
            format,
            data,
            Default::default(),
        )
        .await
    }
    .await;
    match result {
        Ok(report) => {
            let msg = s.ctx.tf2("bookmarks.import_done", report.success, report.failed);
            let kind = if report.failed > 0 { "error" } else { "ok" };
            Ok(redirect_with("/bookmarks", kind, &msg))
        }
        Err(e) => {
            let e = client_error(e)?;
            let state = ListState {
                import: Some("true".into()),
                ..Default::default()
            };
            let errors = FormErrors::general(crate::web::ctx::error_message(s.ctx.tr, &e));
            let status = crate::http::error::status(e.kind);
            page_with(s, state, Dialog::Import { errors }, status).await
        }
    }
}

#[derive(Deserialize)]
pub(super) struct ExportQuery {
    format: Option<String>,
    scope: Option<String>,
}

pub(super) async fn export(s: Signed, AxQuery(q): AxQuery<ExportQuery>) -> Result<Response> {
    let all = q.scope.as_deref() == Some("all");
    let format = ExportFormat::parse(q.format.as_deref())?;
    Ok(files::download(
        transfer::export(&s.state.db, s.user_id(), all, format).await?,
    ))
}

/// A bookmark was opened from a page (sent with `navigator.sendBeacon`).
pub(super) async fn open(s: Signed, Path(id): Path<String>) -> Result<Response> {
    crate::bookmarks::track_access(&s.state.db, s.user_id(), &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// "Check links": the caller's bookmarks are checked in the background; the list of broken ones
/// shows the results as they come.
pub(super) async fn check_links(s: Signed) -> Result<Response> {
    let queued = crate::linkcheck::request_check(&s.state.db, s.user_id()).await?;
    s.state.link_check_wake.notify_one();
    Ok(redirect_with(
        "/bookmarks?link_status=broken",
        "ok",
        &s.ctx.tf("bookmarks.check_links_queued", queued),
    ))
}
