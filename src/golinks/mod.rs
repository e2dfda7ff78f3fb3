//! Go links: `/go/<slug>` resolution, parameterised targets, remembered choices, and access
//! counting without a database write on the request path.
//!
//! The rule for what follows the slug (documented in the README and the search-engine guide):
//! - `/go/gh/rust-lang/rust` and `go gh rust-lang rust` from a browser search box give the *rest*
//!   `rust-lang/rust` (path segments, or words).
//! - A target URL containing `%s` gets the rest there as one URL-encoded value (words joined by
//!   spaces, segments by `/`): `https://google.com/search?q=%s`.
//! - A target URL containing `{path}` gets the rest as path segments, each URL-encoded:
//!   `https://github.com/{path}`.
//! - Otherwise the rest is appended to the target's path.
//! - `.` and `..` segments and empty segments (double slashes) are dropped, so the rest can never
//!   climb out of the target's path. The request's query string is added to the target's.

mod limiter;
mod rules;
mod store;
mod table;
mod visits;

pub use limiter::GoLimiter;
pub use rules::{parse, target, GoRequest};
pub use store::*;
pub use table::{LinkCache, UserLinks, LINKS_IDLE, LINKS_TTL};
pub use visits::AccessCounter;

use serde::Serialize;

/// A bookmark a slug can forward to.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct Candidate {
    pub id: String,
    pub title: String,
    pub url: String,
    pub slug: Option<String>,
    pub user_id: String,
    pub owner_name: Option<String>,
    pub owner_email: Option<String>,
    /// The stored URL passed validation (checked once, when the link table is loaded).
    #[sqlx(skip)]
    #[serde(skip)]
    pub url_ok: bool,
}

impl Candidate {
    /// "Personal" for own bookmarks, else the owner's name.
    pub fn workspace(&self, viewer: &str) -> String {
        if self.user_id == viewer {
            "Personal".into()
        } else {
            self.owner_name
                .clone()
                .filter(|n| !n.is_empty())
                .or_else(|| self.owner_email.clone())
                .unwrap_or_else(|| "Shared".into())
        }
    }
}

/// How a slug resolves for a user: a link is named by its place in the user's table (see
/// [`UserLinks::url`] and friends), so resolving copies nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Found(u32),
    /// Several bookmarks match: [`candidates`] lists them for the chooser.
    Choose,
    Missing,
}
