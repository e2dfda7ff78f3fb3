//! `POST /api/bookmarks/ai-suggest`: a title, go-link slug and tags for a URL, from the page's
//! title and description (read with the SSRF-safe fetcher), the user's language and their
//! existing tags. Whatever the model answers is checked before it is shown: a trimmed title of at
//! most 500 characters, a slug that fits the slug rules and is free, at most five tags. Answers
//! are cached per user, URL and language for seven days; calls that reach the model are rate
//! limited per user.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::{net, settings, url_filter, Ai, Endpoint};
use crate::auth::ratelimit::{self, Limit};
use crate::bookmarks::write::slug_in_use;
use crate::db::{Db, Ts};
use crate::error::{Error, Kind, Result};
use crate::metadata::Fetcher;
use crate::users::User;
use crate::with_db;

/// How long a cached suggestion is served.
pub const CACHE_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// The page is read for at most this long (the model's time comes on top).
const PAGE_TIMEOUT: Duration = Duration::from_secs(5);
pub const MAX_TAGS: usize = 5;
const TITLE_MAX: usize = 500;
const SLUG_MAX: usize = 60;
const TAG_MAX: usize = 50;

#[derive(Debug, Deserialize, ToSchema, Default)]
pub struct SuggestInput {
    /// The page to suggest for (http or https).
    #[schema(value_type = String, required = true, max_length = 2048, pattern = "^\\s*[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*(:[1-9][0-9]{0,3})?(/[A-Za-z0-9._~!$&'()*+,;=:@/-]*)?(\\?[A-Za-z0-9._~!$&'()*+,;=:@/?-]*)?\\s*$")]
    pub url: Option<String>,
    /// The title the client already knows (wins over the fetched one).
    #[schema(max_length = 500)]
    pub page_title: Option<String>,
}

/// A suggestion, checked: use it as it is.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Suggestion {
    /// 1–500 characters.
    pub title: String,
    /// A free slug (letters, digits, `-`), or `""` when none fits.
    pub slug: String,
    /// At most five; existing tags keep their spelling.
    pub tags: Vec<String>,
    /// The language of title and tags (ISO 639-1).
    pub language: String,
    /// 0–1.
    pub confidence: f64,
}

fn not_configured() -> Error {
    Error::unavailable("AI suggestions are not configured").with_code("AI_UNAVAILABLE")
}

fn no_usable_answer() -> Error {
    net::failed("The AI service gave no usable answer")
}

pub async fn suggest(
    db: &Db,
    ai: &Ai,
    fetcher: &Fetcher,
    user: &User,
    input: SuggestInput,
) -> Result<Suggestion> {
    let url = input
        .url
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| Error::invalid("url", "URL is required"))?;
    let url = crate::bookmarks::validate_url("url", &url)?;
    if input
        .page_title
        .as_deref()
        .is_some_and(|t| t.chars().count() > TITLE_MAX)
    {
        return Err(Error::invalid(
            "page_title",
            "page_title must be no more than 500 characters",
        ));
    }
    let page_title = input
        .page_title
        .as_deref()
        .map(clean_text)
        .filter(|t| !t.is_empty());
    let Some(ep) = settings::endpoint(db, ai).await? else {
        return Err(not_configured());
    };
    if !user.ai_suggestions_enabled.unwrap_or(true) {
        return Err(Error::new(
            Kind::Forbidden,
            "AI_DISABLED",
            "AI suggestions are switched off for your account",
        ));
    }
    let canonical = url_filter::sanitize(&url).ok_or_else(|| Error::invalid("url", "Invalid URL"))?;
    let lang: String = user.language().chars().take(10).collect();
    if let Some(cached) = cached(db, &user.id, &canonical, &lang).await? {
        return Ok(Suggestion {
            slug: free_slug(db, &cached.slug).await?,
            ..cached
        });
    }
    if ai.rate_limit() > 0 {
        let limit = Limit {
            name: "ai-suggest",
            max: i64::from(ai.rate_limit()),
            window_secs: 3600,
            message: "Too many AI suggestions, please try again later.",
        };
        ratelimit::hit(db, &limit, &user.id).await?;
    }
    // Without the page (private, unreachable, slow) the model still has the URL.
    let page = tokio::time::timeout(PAGE_TIMEOUT, fetcher.fetch(&url))
        .await
        .ok()
        .and_then(Result::ok);
    let title_hint = page_title.or_else(|| page.as_ref().and_then(|p| p.title.clone()));
    let (existing, _) = crate::tags::list(db, &user.id, true, Some(200), 0).await?;
    let existing: Vec<String> = existing.into_iter().map(|t| t.name).collect();
    let mut lines = vec![format!("URL: {canonical}")];
    if let Some(t) = &title_hint {
        lines.push(format!("Page title: {t}"));
    }
    if let Some(p) = &page {
        if let Some(d) = &p.description {
            lines.push(format!("Page description: {d}"));
        }
        if let Some(s) = &p.site_name {
            lines.push(format!("Site name (brand): {s}"));
        }
    }
    if !existing.is_empty() {
        let mut list = existing.join(", ");
        if list.len() > 3000 {
            list = list.chars().take(3000).collect();
        }
        lines.push(format!(
            "The user's existing tags (prefer these when they fit): {list}"
        ));
    }
    lines.push(format!("Answer in the language: {lang}"));
    let content = ask(ai, &ep, &lang, lines.join("\n")).await?;
    let s = check(
        db,
        &content,
        title_hint.as_deref(),
        &existing,
        &lang,
        page.is_some(),
    )
    .await?;
    store(db, &user.id, &canonical, &lang, &s).await?;
    Ok(s)
}

async fn ask(ai: &Ai, ep: &Endpoint, lang: &str, user_message: String) -> Result<String> {
    let system = format!(
        "You suggest metadata for a bookmark. Answer with one JSON object only, no other text: \
         {{\"title\": string, \"slug\": string, \"tags\": [string], \"language\": string, \"confidence\": number}}. \
         title: what a person would name the page, the brand first when it is known, at most 120 characters. \
         slug: a short memorable go-link, lowercase letters, digits and hyphens only, at most 30 characters. \
         tags: 1 to {MAX_TAGS} short topic tags; reuse the user's existing tags when they fit. \
         language: the ISO 639-1 code of the language of title and tags, which must be \"{lang}\". \
         confidence: from 0 to 1, lower when you only had the URL."
    );
    let schema = json!({
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "slug": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "language": {"type": "string"},
            "confidence": {"type": "number"},
        },
        "required": ["title", "slug", "tags", "language", "confidence"],
        "additionalProperties": false,
    });
    let messages = json!([
        {"role": "system", "content": system},
        {"role": "user", "content": user_message},
    ]);
    net::chat(ai, ep, messages, Some(schema)).await
}

/// The JSON object in a model's answer (also inside a Markdown code block or after some words).
fn json_object(content: &str) -> Option<serde_json::Map<String, Value>> {
    let start = content.find('{')?;
    let end = content.rfind('}')?;
    if end < start {
        return None;
    }
    match serde_json::from_str::<Value>(&content[start..=end]).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

fn clean_text(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn cut(s: &str, max: usize) -> String {
    s.chars().take(max).collect::<String>().trim_end().to_string()
}

/// A slug made of `s`: lower-case ASCII letters and digits, everything else a single `-`.
pub fn slugify(s: &str) -> String {
    let mut out = String::new();
    for c in s.to_lowercase().chars() {
        let piece = match c {
            'a'..='z' | '0'..='9' => c.to_string(),
            'ä' => "ae".into(),
            'ö' => "oe".into(),
            'ü' => "ue".into(),
            'ß' => "ss".into(),
            'à' | 'á' | 'â' | 'å' => "a".into(),
            'è' | 'é' | 'ê' | 'ë' => "e".into(),
            'ì' | 'í' | 'î' | 'ï' => "i".into(),
            'ò' | 'ó' | 'ô' => "o".into(),
            'ù' | 'ú' | 'û' => "u".into(),
            'ç' => "c".into(),
            'ñ' => "n".into(),
            _ => "-".into(),
        };
        for p in piece.chars() {
            if p == '-' && (out.is_empty() || out.ends_with('-')) {
                continue;
            }
            out.push(p);
        }
    }
    let cut: String = out.chars().take(SLUG_MAX).collect();
    cut.trim_matches('-').to_string()
}

/// `slug`, or `slug-2`, `slug-3` … when it is taken; `""` when none of the first few is free.
async fn free_slug(db: &Db, slug: &str) -> Result<String> {
    if slug.is_empty() {
        return Ok(String::new());
    }
    if !slug_in_use(db, slug, None).await? {
        return Ok(slug.to_string());
    }
    for n in 2..=20 {
        let candidate = format!("{}-{n}", slug.chars().take(SLUG_MAX - 3).collect::<String>());
        if !slug_in_use(db, &candidate, None).await? {
            return Ok(candidate);
        }
    }
    Ok(String::new())
}

/// The model's answer made safe to show: see the module's rules.
async fn check(
    db: &Db,
    content: &str,
    title_hint: Option<&str>,
    existing: &[String],
    lang: &str,
    had_page: bool,
) -> Result<Suggestion> {
    let obj = json_object(content).ok_or_else(|| {
        tracing::warn!("the AI answer is not a JSON object");
        no_usable_answer()
    })?;
    let title = obj
        .get("title")
        .and_then(Value::as_str)
        .map(clean_text)
        .filter(|t| !t.is_empty())
        .or_else(|| title_hint.map(clean_text).filter(|t| !t.is_empty()))
        .ok_or_else(no_usable_answer)?;
    let title = cut(&title, TITLE_MAX);
    let mut slug = obj
        .get("slug")
        .and_then(Value::as_str)
        .map(slugify)
        .unwrap_or_default();
    if slug.is_empty() {
        slug = slugify(&title);
    }
    let slug = free_slug(db, &slug).await?;
    let raw_tags: Vec<String> = match obj.get("tags") {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        Some(Value::String(s)) => s.split(',').map(str::to_string).collect(),
        _ => Vec::new(),
    };
    let mut tags: Vec<String> = Vec::new();
    for t in raw_tags {
        let t = clean_text(t.trim().trim_start_matches('#'));
        if t.is_empty() || t.chars().count() > TAG_MAX || t.chars().any(|c| c.is_control() || c == ',') {
            continue;
        }
        let t = existing
            .iter()
            .find(|e| e.eq_ignore_ascii_case(&t))
            .cloned()
            .unwrap_or(t);
        if !tags.iter().any(|x| x.eq_ignore_ascii_case(&t)) {
            tags.push(t);
        }
        if tags.len() == MAX_TAGS {
            break;
        }
    }
    let language = obj
        .get("language")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|l| (2..=10).contains(&l.len()) && l.chars().all(|c| c.is_ascii_alphabetic() || c == '-'))
        .map(str::to_ascii_lowercase)
        .unwrap_or_else(|| lang.to_string());
    let confidence = match obj.get("confidence") {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|c| c.is_finite())
    .unwrap_or(if had_page { 0.5 } else { 0.3 })
    .clamp(0.0, 1.0);
    Ok(Suggestion {
        title,
        slug,
        tags,
        language,
        confidence: (confidence * 100.0).round() / 100.0,
    })
}

type CachedRow = (
    String,
    Option<String>,
    String,
    Option<String>,
    Option<f64>,
    Option<Ts>,
);

async fn cached(db: &Db, user_id: &str, url: &str, lang: &str) -> Result<Option<Suggestion>> {
    let row: Option<CachedRow> = with_db!(db, pool => sqlx::query_as(
        "SELECT title, slug, tags, language, CAST(confidence AS DOUBLE PRECISION), created_at \
         FROM ai_suggestions_cache WHERE tenant_id = 'default' AND user_id = $1 AND canonical_url = $2 \
         AND output_language = $3")
        .bind(user_id).bind(url).bind(lang).fetch_optional(pool).await?);
    let Some((title, slug, tags, language, confidence, created)) = row else {
        return Ok(None);
    };
    let fresh = created.is_some_and(|c| c.unix() > Ts::now().minus(CACHE_TTL).unix());
    if !fresh {
        return Ok(None);
    }
    Ok(Some(Suggestion {
        title,
        slug: slug.unwrap_or_default(),
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        language: language.unwrap_or_else(|| lang.to_string()),
        confidence: confidence.unwrap_or(0.5),
    }))
}

async fn store(db: &Db, user_id: &str, url: &str, lang: &str, s: &Suggestion) -> Result<()> {
    let tags = serde_json::to_string(&s.tags).unwrap_or_else(|_| "[]".into());
    let slug = Some(s.slug.clone()).filter(|x| !x.is_empty());
    let language: String = s.language.chars().take(10).collect();
    with_db!(db, pool => sqlx::query(
        "INSERT INTO ai_suggestions_cache (tenant_id, user_id, canonical_url, output_language, title, slug, tags, \
         language, confidence, created_at) VALUES ('default', $1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (tenant_id, user_id, canonical_url, output_language) DO UPDATE SET title = excluded.title, \
         slug = excluded.slug, tags = excluded.tags, language = excluded.language, \
         confidence = excluded.confidence, created_at = excluded.created_at")
        .bind(user_id).bind(url).bind(lang).bind(&s.title).bind(&slug).bind(&tags).bind(&language)
        .bind(s.confidence).bind(Ts::now()).execute(pool).await?.rows_affected());
    Ok(())
}

/// Drops cached suggestions older than [`CACHE_TTL`].
pub async fn purge(db: &Db) -> Result<u64> {
    let cutoff = Ts::now().minus(CACHE_TTL);
    Ok(
        with_db!(db, pool => sqlx::query("DELETE FROM ai_suggestions_cache WHERE created_at < $1")
        .bind(cutoff).execute(pool).await?.rows_affected()),
    )
}

#[cfg(test)]
mod tests {
    use super::{json_object, slugify};

    #[test]
    fn slugs_follow_the_rules() {
        assert_eq!(slugify("Rust Book!"), "rust-book");
        assert_eq!(slugify("--Über_uns--"), "ueber-uns");
        assert_eq!(slugify("日本"), "");
        assert!(slugify(&"a".repeat(300)).len() <= 60);
    }

    #[test]
    fn finds_the_object_in_chatter() {
        assert!(json_object("Sure! ```json\n{\"title\": \"x\"}\n```").is_some());
        assert!(json_object("no json here").is_none());
        assert!(json_object("[1, 2]").is_none());
    }
}
