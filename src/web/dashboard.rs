//! `/`: the dashboard (figures, quick access, pinned, shared with you, top tags, recent).

use askama::Template;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::dashboard::Stats;
use crate::error::Result;
use crate::state::AppState;
use crate::web::ctx::{render, Ctx, Signed};

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(dashboard))
}

#[derive(Template)]
#[template(path = "pages/dashboard.html")]
struct DashboardPage {
    ctx: Ctx,
    stats: Stats,
    max_tag: i64,
}

/// The host of a URL, for compact display.
pub fn host(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(|h| h.trim_start_matches("www.").to_string()))
        .unwrap_or_else(|| url.to_string())
}

async fn dashboard(s: Signed) -> Result<Response> {
    let stats = crate::dashboard::stats(&s.state.db, &s.state.counts, s.user_id()).await?;
    let max_tag = stats
        .top_tags
        .iter()
        .map(|t| t.bookmark_count)
        .max()
        .unwrap_or(1)
        .max(1);
    render(&DashboardPage {
        ctx: s.ctx,
        stats,
        max_tag,
    })
}
