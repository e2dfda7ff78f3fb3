//! Bookmark shapes and the validation rules shared by create, update, bulk and import.

use serde::Serialize;
use utoipa::ToSchema;

use crate::db::Ts;
use crate::error::{Error, Result};
use crate::sharing::{TeamRef, UserRef};
use crate::users::sanitize_text;

pub const TITLE_MAX: usize = 500;
pub const URL_MAX: usize = 2048;
pub const SLUG_MAX: usize = 255;
pub const DESCRIPTION_MAX: usize = 10_000;

/// [`BOOKMARK_COLUMNS`]' names in [`BookmarkRow`]'s order, from a subquery `p` (for
/// [`crate::db::Db::json_rows`]).
pub const BOOKMARK_FIELDS: &str = "p.id, p.user_id, p.tenant_id, p.title, p.url, p.slug, p.description, \
     p.forwarding_enabled, p.pinned, p.access_count, p.last_accessed_at, p.created_at, p.updated_at, \
     p.owner_name, p.owner_email, p.link_status, p.link_status_code, p.link_checked_at";

/// A bookmark row with its owner's name and e-mail: from [`BOOKMARK_COLUMNS`] as a row, or from
/// [`BOOKMARK_FIELDS`] as a JSON array.
#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct BookmarkRow {
    pub id: String,
    pub user_id: String,
    pub tenant_id: String,
    pub title: String,
    pub url: String,
    pub slug: Option<String>,
    pub description: Option<String>,
    #[serde(deserialize_with = "crate::db::json_flag")]
    pub forwarding_enabled: Option<bool>,
    #[serde(deserialize_with = "crate::db::json_flag")]
    pub pinned: Option<bool>,
    pub access_count: i64,
    pub last_accessed_at: Option<Ts>,
    pub created_at: Option<Ts>,
    pub updated_at: Option<Ts>,
    pub owner_name: Option<String>,
    pub owner_email: Option<String>,
    pub link_status: Option<String>,
    pub link_status_code: Option<i64>,
    pub link_checked_at: Option<Ts>,
}

pub const BOOKMARK_COLUMNS: &str = "b.id, b.user_id, b.tenant_id, b.title, b.url, b.slug, b.description, \
     b.forwarding_enabled, b.pinned, CAST(COALESCE(b.access_count, 0) AS BIGINT) AS access_count, \
     b.last_accessed_at, b.created_at, b.updated_at, u.name AS owner_name, u.email AS owner_email, \
     b.link_status, CAST(b.link_status_code AS BIGINT) AS link_status_code, b.link_checked_at";

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TagRef {
    pub id: String,
    pub name: String,
    pub created_at: Option<Ts>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FolderRef {
    pub id: String,
    pub name: String,
    pub icon: Option<String>,
}

/// A bookmark as the API returns it (list, detail, create and update answers).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Bookmark {
    pub id: String,
    pub user_id: String,
    pub tenant_id: String,
    pub title: String,
    pub url: String,
    /// `""` when the bookmark has no slug.
    pub slug: String,
    /// Free-text notes.
    pub description: Option<String>,
    pub forwarding_enabled: bool,
    pub pinned: bool,
    pub access_count: i64,
    pub last_accessed_at: Option<Ts>,
    pub created_at: Option<Ts>,
    pub updated_at: Option<Ts>,
    /// `own` or `shared`.
    pub bookmark_type: &'static str,
    /// The owner's name, for bookmarks shared with the caller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_email: Option<String>,
    pub tags: Vec<TagRef>,
    pub folders: Vec<FolderRef>,
    pub shared_teams: Vec<TeamRef>,
    pub shared_users: Vec<UserRef>,
    /// What the last dead-link check found: `ok`, `broken`, or `unknown` (never checked, or no
    /// clear answer: a timeout, a refusal to robots, a private address).
    #[schema(example = "ok")]
    pub link_status: String,
    /// The HTTP status of the last check, when one came.
    pub link_status_code: Option<i64>,
    pub link_checked_at: Option<Ts>,
}

impl Bookmark {
    pub fn from_row(r: BookmarkRow, viewer: &str) -> Bookmark {
        let own = r.user_id == viewer;
        Bookmark {
            bookmark_type: if own { "own" } else { "shared" },
            user_name: if own { None } else { r.owner_name },
            user_email: if own { None } else { r.owner_email },
            slug: r
                .slug
                .filter(|s| !s.starts_with("_internal_"))
                .unwrap_or_default(),
            forwarding_enabled: r.forwarding_enabled.unwrap_or(false),
            pinned: r.pinned.unwrap_or(false),
            id: r.id,
            user_id: r.user_id,
            tenant_id: r.tenant_id,
            title: r.title,
            url: r.url,
            description: r.description,
            access_count: r.access_count,
            last_accessed_at: r.last_accessed_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
            tags: Vec::new(),
            folders: Vec::new(),
            shared_teams: Vec::new(),
            shared_users: Vec::new(),
            link_status: r.link_status.unwrap_or_else(|| "unknown".to_string()),
            link_status_code: r.link_status_code,
            link_checked_at: r.link_checked_at,
        }
    }
}

/// Title: control characters stripped and trimmed first, then 1–500 characters.
pub fn validate_title(field: &str, title: &str) -> Result<String> {
    let t = sanitize_text(title);
    if t.is_empty() {
        return Err(Error::invalid(field, "Title must be at least 1 characters"));
    }
    if title.chars().count() > TITLE_MAX {
        return Err(Error::invalid(field, "Title must be no more than 500 characters"));
    }
    Ok(t)
}

/// URL: at most 2048 characters, absolute, `http` or `https` only (no `javascript:`, `data:`,
/// `file:` …). Stored trimmed, otherwise as given.
pub fn validate_url(field: &str, url: &str) -> Result<String> {
    let u = url.trim();
    if u.is_empty() {
        return Err(Error::invalid(field, "URL is required"));
    }
    if u.chars().count() > URL_MAX {
        return Err(Error::invalid(field, "URL must be no more than 2048 characters"));
    }
    let lower = u.to_ascii_lowercase();
    if ["javascript:", "data:", "vbscript:"]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        return Err(Error::invalid(field, "Invalid URL protocol"));
    }
    match url::Url::parse(u) {
        Ok(parsed) if parsed.scheme() == "http" || parsed.scheme() == "https" => {
            if parsed.host_str().is_none_or(str::is_empty) {
                return Err(Error::invalid(field, "Invalid URL format"));
            }
            Ok(u.to_string())
        }
        Ok(_) => Err(Error::invalid(field, "URL must use http or https protocol")),
        Err(_) => Err(Error::invalid(field, "Invalid URL format")),
    }
}

/// A go-link slug: letters, digits, `-` and `_`, 1–255 characters. Only [`validate_slug`]
/// makes one, so a `Slug` is always valid.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slug(String);

impl Slug {
    /// `s` as a slug, if it is one exactly as given (no trimming).
    pub fn checked(s: &str) -> Option<Slug> {
        is_valid_slug(s).then(|| Slug(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::ops::Deref for Slug {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Slug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Slug: trimmed; empty means none. Otherwise letters, digits, `-` and `_`, at most 255.
pub fn validate_slug(field: &str, slug: &str) -> Result<Option<Slug>> {
    let s = slug.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if s.chars().count() > SLUG_MAX {
        return Err(Error::invalid(field, "Slug must be no more than 255 characters"));
    }
    if !is_valid_slug(s) {
        return Err(Error::invalid(
            field,
            "Slug can only contain letters, numbers, hyphens, and underscores",
        ));
    }
    Ok(Some(Slug(s.to_string())))
}

pub fn is_valid_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= SLUG_MAX
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub fn validate_description(field: &str, d: &str) -> Result<Option<String>> {
    let d = d.trim();
    if d.is_empty() {
        return Ok(None);
    }
    if d.chars().count() > DESCRIPTION_MAX {
        return Err(Error::invalid(
            field,
            "Description must be no more than 10000 characters",
        ));
    }
    Ok(Some(d.to_string()))
}

pub fn slug_taken() -> Error {
    Error::invalid(
        "slug",
        "Slug already exists. Slugs must be unique across all bookmarks.",
    )
    .with_code("SLUG_TAKEN")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(validate_url("url", " https://example.com/a?b=c ").is_ok());
        assert_eq!(
            validate_url("url", "javascript:alert(1)").unwrap_err().message,
            "Invalid URL protocol"
        );
        assert_eq!(
            validate_url("url", "data:text/html,x").unwrap_err().message,
            "Invalid URL protocol"
        );
        assert_eq!(
            validate_url("url", "file:///etc/passwd").unwrap_err().message,
            "URL must use http or https protocol"
        );
        assert_eq!(
            validate_url("url", "not a url").unwrap_err().message,
            "Invalid URL format"
        );
        assert_eq!(
            validate_url("url", &format!("https://e.com/{}", "a".repeat(2100)))
                .unwrap_err()
                .message,
            "URL must be no more than 2048 characters"
        );
    }

    #[test]
    fn slugs_and_titles() {
        assert_eq!(validate_slug("slug", " gh ").unwrap().as_deref(), Some("gh"));
        assert_eq!(validate_slug("slug", "").unwrap(), None);
        assert!(validate_slug("slug", "a.b").is_err());
        assert!(validate_slug("slug", "a/b").is_err());
        assert!(validate_slug("slug", "ünï").is_err());
        assert_eq!(validate_title("title", "  \u{1} Hi ").unwrap(), "Hi");
        assert!(validate_title("title", "   ").is_err());
    }
}
