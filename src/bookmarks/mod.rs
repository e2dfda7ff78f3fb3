//! Bookmarks: listing and search ([`query`], its filters in `filter`), the writes ([`write`]: create, update, delete,
//! bulk), import and export ([`transfer`], [`netscape`]), and the rules a bookmark's fields
//! follow ([`model`]).

mod filter;
pub mod model;
pub mod netscape;
pub mod query;
pub mod transfer;
pub mod write;

use serde::Deserialize;
use utoipa::IntoParams;

pub use model::*;
pub use query::{best, get, hydrate, ids, list, track_access, CountCache, Page};
pub use write::{BookmarkInput, BulkInput};

use crate::sharing::Scope;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    RecentlyAdded,
    Alphabetical,
    MostUsed,
    RecentlyAccessed,
    Relevance,
}

impl Sort {
    /// A requested order (`sort_by`); anything unknown is "recently added".
    pub fn parse(s: &str) -> Sort {
        match s {
            "alphabetical" => Sort::Alphabetical,
            "most_used" => Sort::MostUsed,
            "recently_accessed" => Sort::RecentlyAccessed,
            "relevance" => Sort::Relevance,
            _ => Sort::RecentlyAdded,
        }
    }

    pub(crate) fn order_by(self) -> &'static str {
        match self {
            Sort::RecentlyAdded => "b.created_at DESC, b.id DESC",
            Sort::Alphabetical => "LOWER(b.title) ASC, b.id ASC",
            Sort::MostUsed => "b.access_count DESC, b.created_at DESC, b.id DESC",
            Sort::RecentlyAccessed => {
                "CASE WHEN b.last_accessed_at IS NULL THEN 1 ELSE 0 END, b.last_accessed_at DESC, b.created_at DESC, b.id DESC"
            }
            Sort::Relevance => "search_rank, b.created_at DESC, b.id DESC",
        }
    }
}

/// The list filters, as query parameters (the original's names).
#[derive(Debug, Clone, Default, Deserialize, IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only bookmarks in this folder (which must be readable).
    pub folder_id: Option<String>,
    /// Only bookmarks with these tags (own tags); repeat the parameter for several.
    #[serde(default)]
    #[param(value_type = Option<Vec<String>>)]
    #[schema(value_type = Option<Vec<String>>)]
    pub tag_id: Vec<String>,
    /// `all` (tags AND-ed, the default) or `any`.
    pub tag_mode: Option<String>,
    /// `all` (default), `mine`, `shared_with_me` (alias `shared`), `shared_by_me`.
    pub scope: Option<String>,
    /// `true`: only pinned bookmarks.
    pub pinned: Option<String>,
    /// `ok`, `broken` or `unknown`: only bookmarks whose last dead-link check found that
    /// (`unknown` includes those never checked); anything else: no filter.
    pub link_status: Option<String>,
    /// Full-text search over title, URL, slug, notes and tags (prefix-matching, ranked).
    pub q: Option<String>,
    /// `recently_added` (default), `alphabetical`, `most_used`, `recently_accessed`, `relevance`
    /// (the default when `q` is given).
    pub sort_by: Option<String>,
    /// 1–500, default 50.
    pub limit: Option<String>,
    pub offset: Option<String>,
}

/// What a list asks for, parsed from [`ListQuery`] once at the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListFilter {
    /// Only bookmarks in this folder (which must be readable).
    pub folder_id: Option<String>,
    /// Only bookmarks with these (own) tags: trimmed, without repeats.
    pub tag_ids: Vec<String>,
    /// Any of the tags instead of all of them.
    pub any_tag: bool,
    pub scope: Scope,
    pub pinned_only: bool,
    /// Only bookmarks with this dead-link status (`ok`, `broken`, `unknown`).
    pub link_status: Option<&'static str>,
    /// Full-text search (trimmed; empty: none).
    pub text: String,
    /// The order asked for; without one, by relevance when searching, else newest first.
    pub sort: Option<Sort>,
    pub limit: u32,
    pub offset: u32,
}

impl Default for ListFilter {
    fn default() -> Self {
        ListFilter {
            folder_id: None,
            tag_ids: Vec::new(),
            any_tag: false,
            scope: Scope::All,
            pinned_only: false,
            link_status: None,
            text: String::new(),
            sort: None,
            limit: 50,
            offset: 0,
        }
    }
}

impl ListFilter {
    /// The original's rules: an unknown scope is "all", a limit is clamped to 1–500 (default 50),
    /// a bad offset is 0.
    pub fn parse(q: &ListQuery) -> ListFilter {
        ListFilter {
            folder_id: q
                .folder_id
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            tag_ids: crate::sharing::dedup(&q.tag_id),
            any_tag: q.tag_mode.as_deref() == Some("any"),
            scope: Scope::parse(q.scope.as_deref()),
            pinned_only: q.pinned.as_deref() == Some("true"),
            link_status: match q.link_status.as_deref().map(str::trim) {
                Some("ok") => Some("ok"),
                Some("broken") => Some("broken"),
                Some("unknown") => Some("unknown"),
                _ => None,
            },
            text: q.q.as_deref().map(str::trim).unwrap_or("").to_string(),
            sort: q.sort_by.as_deref().map(Sort::parse),
            limit: crate::input::parse_limit(q.limit.as_deref(), 50, 500) as u32,
            offset: crate::input::parse_offset(q.offset.as_deref()).min(u32::MAX as i64) as u32,
        }
    }
}
