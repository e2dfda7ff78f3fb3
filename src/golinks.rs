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

// foldhash (randomly seeded) instead of SipHash: these maps are hashed several times per redirect.
use hashbrown::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};
use serde::Serialize;
use utoipa::ToSchema;

use crate::bookmarks::{is_valid_slug, readable_sql, validate_url};
use crate::db::{Db, Ts};
use crate::error::{Error, Result};
use crate::{with_db, with_tx};

/// What a `/go/...` request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoRequest {
    pub slug: String,
    /// Path segments or words after the slug, decoded.
    pub rest: Vec<String>,
    /// The rest came as words from a search box (joined by spaces for `%s`).
    pub words: bool,
    pub query: Option<String>,
}

impl GoRequest {
    /// Just the slug: nothing to substitute or append.
    pub fn is_bare(&self) -> bool {
        self.rest.is_empty() && self.query.is_none()
    }
}

/// Parses the raw (still percent-encoded) path after `/go/`. `Err` for an invalid slug.
pub fn parse(raw: &str, query: Option<&str>) -> Result<GoRequest, &'static str> {
    let query = query.filter(|q| !q.is_empty()).map(str::to_string);
    // The usual case: just a slug, nothing encoded.
    if !raw.bytes().any(|b| matches!(b, b'%' | b'/' | b'+')) && is_valid_slug(raw) {
        return Ok(GoRequest {
            slug: raw.to_string(),
            rest: Vec::new(),
            words: false,
            query,
        });
    }
    let mut segments = raw.split('/');
    let first = percent_decode_str(segments.next().unwrap_or(""))
        .decode_utf8_lossy()
        .into_owned();
    // A search box sends "slug word word" (as %20 or +): slugs cannot contain spaces or '+'.
    let mut words = first
        .split(|c: char| c.is_whitespace() || c == '+')
        .filter(|w| !w.is_empty());
    let slug = words.next().unwrap_or("").to_string();
    if !is_valid_slug(&slug) {
        return Err("Invalid slug");
    }
    let mut rest: Vec<String> = words.map(str::to_string).collect();
    let is_words = !rest.is_empty();
    for seg in segments {
        let s = percent_decode_str(seg).decode_utf8_lossy().into_owned();
        rest.push(s);
    }
    rest.retain(|s| !s.is_empty() && s != "." && s != "..");
    Ok(GoRequest {
        slug,
        rest,
        words: is_words,
        query,
    })
}

/// Characters escaped inside a path segment.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'?')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'%')
    .add(b'\\')
    .add(b'^')
    .add(b'|')
    .add(b'[')
    .add(b']');
/// Characters escaped in a `%s` value (query-safe: also `&`, `=`, `+`).
const VALUE: &AsciiSet = &SEGMENT
    .add(b'&')
    .add(b'=')
    .add(b'+')
    .add(b';')
    .add(b':')
    .add(b'@')
    .add(b',')
    .add(b'$')
    .add(b'!')
    .add(b'\'')
    .add(b'(')
    .add(b')')
    .add(b'*');

/// The URL to send the visitor to.
pub fn target(url: &str, req: &GoRequest) -> Option<String> {
    let seg = |s: &String| utf8_percent_encode(s, SEGMENT).to_string();
    let mut out = if url.contains("%s") {
        let joined = req.rest.join(if req.words { " " } else { "/" });
        url.replace("%s", &utf8_percent_encode(&joined, VALUE).to_string())
    } else if url.contains("{path}") {
        url.replace("{path}", &req.rest.iter().map(seg).collect::<Vec<_>>().join("/"))
    } else if req.rest.is_empty() {
        url.to_string()
    } else {
        let mut u = url::Url::parse(url).ok()?;
        let mut path = u.path().trim_end_matches('/').to_string();
        for s in &req.rest {
            path.push('/');
            path.push_str(&seg(s));
        }
        u.set_path(&path);
        u.to_string()
    };
    if let Some(q) = &req.query {
        let (before, fragment) = match out.split_once('#') {
            Some((b, f)) => (b.to_string(), Some(f.to_string())),
            None => (out.clone(), None),
        };
        let sep = if before.contains('?') {
            if before.ends_with('?') || before.ends_with('&') {
                ""
            } else {
                "&"
            }
        } else {
            "?"
        };
        out = format!("{before}{sep}{q}");
        if let Some(f) = fragment {
            out.push('#');
            out.push_str(&f);
        }
    }
    // Only ever redirect to http(s).
    validate_url("url", &out).ok()
}

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

/// Where a string sits in a link table's text.
#[derive(Debug, Clone, Copy)]
struct Span {
    at: u32,
    len: u32,
}

impl Span {
    /// Appends `s` to `text`, and says where it went.
    fn put(text: &mut String, s: &str) -> Span {
        let span = Span {
            at: text.len() as u32,
            len: s.len() as u32,
        };
        text.push_str(s);
        span
    }

    fn of(self, text: &str) -> &str {
        &text[self.at as usize..(self.at + self.len) as usize]
    }
}

/// What the in-memory link table keeps of a forwarding bookmark, just enough to forward: its
/// strings sit in the table's one text, the record only says where.
#[derive(Debug)]
struct Rec {
    id: Span,
    url: Span,
    slug: Span,
    /// The slug lower-cased (the slug's own span when that changes nothing).
    lower: Span,
    /// The next link with the same slug, and with the same lower-cased slug where that differs
    /// from the slug ([`NONE`] ends a chain).
    next_exact: u32,
    next_folded: u32,
    /// Valid, without placeholders and usable as a `Location` header as it is: a request without
    /// extras is sent straight there.
    plain: bool,
}

/// The end of a chain of links.
const NONE: u32 = u32::MAX;

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

const CANDIDATE_COLUMNS: &str =
    "b.id, b.title, b.url, b.slug, b.user_id, u.name AS owner_name, u.email AS owner_email";

/// Readable, forwarding bookmarks with this slug: exact matches, or if there are none,
/// case-insensitive ones.
pub async fn candidates(db: &Db, user_id: &str, slug: &str) -> Result<Vec<Candidate>> {
    let readable = readable_sql("$1");
    let exact = format!(
        "SELECT {CANDIDATE_COLUMNS} FROM bookmarks b JOIN users u ON u.id = b.user_id \
         WHERE b.slug = $2 AND b.forwarding_enabled = TRUE AND {readable} ORDER BY b.created_at, b.id"
    );
    let found: Vec<Candidate> =
        with_db!(db, pool => sqlx::query_as(&exact).bind(user_id).bind(slug).fetch_all(pool).await?);
    if !found.is_empty() {
        return Ok(checked(found));
    }
    let folded = format!(
        "SELECT {CANDIDATE_COLUMNS} FROM bookmarks b JOIN users u ON u.id = b.user_id \
         WHERE b.slug IS NOT NULL AND LOWER(b.slug) = LOWER($2) AND b.forwarding_enabled = TRUE AND {readable} \
         ORDER BY b.created_at, b.id"
    );
    let found: Vec<Candidate> =
        with_db!(db, pool => sqlx::query_as(&folded).bind(user_id).bind(slug).fetch_all(pool).await?);
    Ok(checked(found))
}

fn checked(mut list: Vec<Candidate>) -> Vec<Candidate> {
    for c in &mut list {
        c.url_ok = validate_url("url", &c.url).is_ok();
    }
    list
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

/// Remembers `bookmark_id` as the user's choice for `slug`. The bookmark must be readable
/// (`Forbidden` otherwise), forward, and carry the slug (`NotFound` otherwise).
pub async fn remember(db: &Db, user_id: &str, slug: &str, bookmark_id: &str) -> Result<Candidate> {
    if !crate::bookmarks::can_read(db, user_id, bookmark_id).await? {
        return Err(Error::forbidden());
    }
    let c = candidates(db, user_id, slug)
        .await?
        .into_iter()
        .find(|c| c.id == bookmark_id)
        .ok_or_else(|| Error::not_found("Bookmark not found or slug mismatch"))?;
    let now = Ts::now();
    let mut tx = db.begin().await?;
    with_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO slug_preferences (user_id, slug, bookmark_id, created_at, updated_at, tenant_id) \
         VALUES ($1, $2, $3, $4, $4, 'default') \
         ON CONFLICT (user_id, slug) DO UPDATE SET bookmark_id = excluded.bookmark_id, updated_at = excluded.updated_at")
        .bind(user_id).bind(slug).bind(bookmark_id).bind(now).execute(c).await?.rows_affected());
    tx.commit().await?;
    Ok(c)
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Preference {
    pub slug: String,
    pub bookmark_id: String,
    pub title: String,
    pub url: String,
    #[sqlx(skip)]
    pub workspace: String,
    #[serde(skip)]
    pub user_id: String,
    #[serde(skip)]
    pub owner_name: Option<String>,
    pub created_at: Option<Ts>,
    pub updated_at: Option<Ts>,
}

pub async fn preferences(db: &Db, user_id: &str) -> Result<Vec<Preference>> {
    let mut list: Vec<Preference> = with_db!(db, pool => sqlx::query_as(
        "SELECT p.slug, p.bookmark_id, b.title, b.url, b.user_id, u.name AS owner_name, p.created_at, p.updated_at \
         FROM slug_preferences p JOIN bookmarks b ON b.id = p.bookmark_id JOIN users u ON u.id = b.user_id \
         WHERE p.user_id = $1 ORDER BY p.slug")
        .bind(user_id).fetch_all(pool).await?);
    for p in &mut list {
        p.workspace = if p.user_id == user_id {
            "Personal".into()
        } else {
            p.owner_name.clone().unwrap_or_else(|| "Shared".into())
        };
    }
    Ok(list)
}

pub async fn forget(db: &Db, user_id: &str, slug: &str) -> Result<bool> {
    let n = with_db!(db, pool => sqlx::query("DELETE FROM slug_preferences WHERE user_id = $1 AND slug = $2")
        .bind(user_id).bind(slug).execute(pool).await?.rows_affected());
    Ok(n > 0)
}

/// Everything a user's go links can resolve to, loaded with two queries and kept for a moment:
/// resolving a slug is then a lookup in memory. Any state-changing request on this instance
/// makes it outdated at once; changes made through other instances show within about
/// [`LINKS_TTL`] (plus one reload): a table in use is checked that often, and reloaded if the
/// database tells of another writer (SQLite) or cannot tell (PostgreSQL).
///
/// Flat, for memory and for the cache: one text holds every id, URL and slug; a record per link
/// says where its strings are; the two indexes hold record numbers. 10,000 links take ~1.3 MiB
/// (a map of `Arc`ed links with boxed keys took ~4.5 MiB), and a lookup compares the slug where
/// the link's URL also lies.
pub struct UserLinks {
    /// When the table was last loaded or found current ([`now_ms`]).
    checked: AtomicU64,
    /// SQLite's `data_version` just before the table was read.
    data_version: Option<i64>,
    generation: u64,
    text: Box<str>,
    recs: Box<[Rec]>,
    hasher: hashbrown::DefaultHashBuilder,
    /// The first link of each slug.
    exact: hashbrown::HashTable<u32>,
    /// The first link of each lower-cased slug, among the links whose slug changes when
    /// lower-cased ("GH" under "gh"): with `exact`'s links of "gh" itself, what a
    /// case-insensitive match finds.
    folded: hashbrown::HashTable<u32>,
    prefs: HashMap<Box<str>, Box<str>>,
}

impl UserLinks {
    fn str(&self, span: Span) -> &str {
        span.of(&self.text)
    }

    fn rec(&self, link: u32) -> &Rec {
        &self.recs[link as usize]
    }

    /// The bookmark id of a link of this table.
    pub fn id(&self, link: u32) -> &str {
        self.str(self.rec(link).id)
    }

    pub fn url(&self, link: u32) -> &str {
        self.str(self.rec(link).url)
    }

    /// The URL can be sent as a `Location` header as it is (valid, no placeholders).
    pub fn is_plain(&self, link: u32) -> bool {
        self.rec(link).plain
    }

    /// The first link filed under `key` in `index`, where `key_of` says which string of a link
    /// the index files it under.
    fn first(&self, index: &hashbrown::HashTable<u32>, key: &str, key_of: fn(&Rec) -> Span) -> u32 {
        use std::hash::BuildHasher;
        index
            .find(self.hasher.hash_one(key), |&i| {
                self.str(key_of(self.rec(i))) == key
            })
            .copied()
            .unwrap_or(NONE)
    }

    fn chain(&self, first: u32, next: fn(&Rec) -> u32) -> impl Iterator<Item = u32> + Clone + '_ {
        std::iter::successors((first != NONE).then_some(first), move |&i| {
            let n = next(self.rec(i));
            (n != NONE).then_some(n)
        })
    }

    /// The same rules as [`resolve`]: a remembered choice still matching the slug, else exact
    /// matches, else case-insensitive ones.
    pub fn resolve(&self, slug: &str) -> Resolution {
        let exact = self.first(&self.exact, slug, |r| r.slug);
        // The usual case first: no remembered choice, one exact match.
        if exact != NONE && self.rec(exact).next_exact == NONE && !self.prefs.contains_key(slug) {
            return Resolution::Found(exact);
        }
        // Case-insensitive matches: the links whose slug is the lower-cased one itself, and those
        // filed under it because their slug changes when lower-cased.
        let lower = slug.to_lowercase();
        let same = if lower == slug {
            exact
        } else {
            self.first(&self.exact, &lower, |r| r.slug)
        };
        let other = self.first(&self.folded, &lower, |r| r.lower);
        let folded = self
            .chain(same, |r| r.next_exact)
            .chain(self.chain(other, |r| r.next_folded));
        if let Some(pref) = self.prefs.get(slug) {
            if let Some(i) = folded.clone().find(|&i| self.id(i) == &**pref) {
                return Resolution::Found(i);
            }
        }
        fn pick(mut links: impl Iterator<Item = u32>) -> Resolution {
            match (links.next(), links.next()) {
                (None, _) => Resolution::Missing,
                (Some(i), None) => Resolution::Found(i),
                _ => Resolution::Choose,
            }
        }
        if exact != NONE {
            pick(self.chain(exact, |r| r.next_exact))
        } else {
            pick(folded)
        }
    }

    /// Whether a link with this slug, id and URL was found plain in this table: a reload checks
    /// only the URLs it has not seen.
    fn known_plain(&self, slug: &str, id: &str, url: &str) -> Option<bool> {
        self.chain(self.first(&self.exact, slug, |r| r.slug), |r| r.next_exact)
            .find(|&i| self.id(i) == id && self.url(i) == url)
            .map(|i| self.is_plain(i))
    }
}

pub const LINKS_TTL: Duration = Duration::from_secs(5);

/// Milliseconds since the first call: a clock a table's check time fits in as one atomic word.
fn now_ms() -> u64 {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64
}

impl UserLinks {
    /// How long ago the table was loaded or last found current.
    fn age(&self) -> Duration {
        self.age_at(now_ms())
    }

    fn age_at(&self, now_ms: u64) -> Duration {
        Duration::from_millis(now_ms.saturating_sub(self.checked.load(Ordering::Relaxed)))
    }
}

/// A table not used for this long is let go of (see [`LinkCache::take_idle`]).
pub const LINKS_IDLE: Duration = Duration::from_secs(30);

#[derive(Default)]
pub struct LinkCache {
    generation: AtomicU64,
    map: std::sync::RwLock<HashMap<String, Arc<UserLinks>>>,
    loading: tokio::sync::Mutex<()>,
    refreshing: Mutex<std::collections::HashSet<String>>,
}

impl LinkCache {
    /// The user's table as stored, whatever its age or generation.
    fn stored(&self, user: &str) -> Option<Arc<UserLinks>> {
        self.map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(user)
            .cloned()
    }

    fn fresh(&self, user: &str) -> Option<Arc<UserLinks>> {
        let g = self.generation.load(Ordering::Acquire);
        self.stored(user)
            .filter(|l| l.generation == g && l.age() < LINKS_TTL)
    }

    /// The user's link table. Missing, or outdated by a write: loaded now (one loader at a time,
    /// so a burst of requests loads once). Merely checked longer than [`LINKS_TTL`] ago: the
    /// table answers while one background task checks it and reloads it if need be, so no
    /// request waits for that.
    pub async fn links(
        self: &Arc<Self>,
        db: &Db,
        bg: &Arc<crate::db::Background>,
        user: &str,
    ) -> Result<Arc<UserLinks>> {
        let g = self.generation.load(Ordering::Acquire);
        let current = self.stored(user).filter(|l| l.generation == g);
        if let Some(l) = current {
            if l.age() >= LINKS_TTL
                && self
                    .refreshing
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(user.to_string())
            {
                let (me, db, bg, user) = (self.clone(), db.clone(), bg.clone(), user.to_string());
                let table = l.clone();
                tokio::spawn(async move {
                    if let Err(e) = me.refresh(&db, &bg, &user, &table).await {
                        tracing::warn!(error = %e, "could not refresh go links");
                    }
                    me.refreshing
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&user);
                });
            }
            return Ok(l);
        }
        let _guard = self.loading.lock().await;
        if let Some(l) = self.fresh(user) {
            return Ok(l);
        }
        self.load(db, bg, user).await
    }

    /// A table in use, checked again: where SQLite says nothing else has written since it was
    /// read, it is marked current (a query of microseconds instead of reading every link again,
    /// which took the request threads' cores for milliseconds every 5 seconds); otherwise it is
    /// reloaded.
    async fn refresh(
        &self,
        db: &Db,
        bg: &crate::db::Background,
        user: &str,
        table: &UserLinks,
    ) -> Result<()> {
        if table.data_version.is_some() && bg.data_version(db).await? == table.data_version {
            table.checked.store(now_ms(), Ordering::Relaxed);
            return Ok(());
        }
        self.load(db, bg, user).await.map(drop)
    }

    async fn load(&self, db: &Db, bg: &crate::db::Background, user: &str) -> Result<Arc<UserLinks>> {
        let generation = self.generation.load(Ordering::Acquire);
        // Taken before the rows are read: a write landing in between makes the next check reload.
        let data_version = bg.data_version(db).await?;
        // Nothing shared with the user: their own links, straight from the (user, created)
        // index, at half the cost of the union over every way a link can be shared.
        let readable = if crate::bookmarks::has_incoming_shares(db, user).await? {
            format!("b.id IN ({})", crate::bookmarks::readable_ids_sql("$1"))
        } else {
            "b.user_id = $1".to_string()
        };
        let sql = format!(
            "SELECT b.id, b.url, b.slug FROM bookmarks b \
             WHERE b.slug IS NOT NULL AND b.forwarding_enabled = TRUE AND {readable} ORDER BY b.created_at, b.id"
        );
        let rows: Vec<(String, String, String)> =
            with_db!(db, pool => sqlx::query_as(&sql).bind(user).fetch_all(pool).await?);
        let prefs: Vec<(String, String)> = with_db!(db, pool => sqlx::query_as(
            "SELECT slug, bookmark_id FROM slug_preferences WHERE user_id = $1").bind(user).fetch_all(pool).await?);
        // The table this one replaces: its links are reused where unchanged, so a periodic reload
        // checks only URLs it has not seen.
        let previous = self.stored(user);
        // Checking 10,000 URLs and building the maps takes milliseconds: not on a request thread.
        let mut links =
            crate::error::off_thread(move || build_links(rows, prefs, generation, previous.as_deref()))
                .await?;
        links.data_version = data_version;
        let links = Arc::new(links);
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            map.clear();
        }
        map.insert(user.to_string(), links.clone());
        Ok(links)
    }

    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Takes out the tables not used for [`LINKS_IDLE`] (a table in use is checked every
    /// [`LINKS_TTL`], so its check time tells), for the caller to let go of off the request
    /// threads: an idle server holds no go-link tables (10,000 links are a few MiB), and a user
    /// coming back gets theirs loaded again on the first forward.
    pub fn take_idle(&self) -> Vec<Arc<UserLinks>> {
        self.take_idle_at(now_ms())
    }

    fn take_idle_at(&self, now_ms: u64) -> Vec<Arc<UserLinks>> {
        let mut idle = Vec::new();
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, links| {
            let keep = links.age_at(now_ms) < LINKS_IDLE;
            if !keep {
                idle.push(links.clone());
            }
            keep
        });
        if map.is_empty() {
            map.shrink_to_fit();
        }
        idle
    }
}

fn build_links(
    rows: Vec<(String, String, String)>,
    prefs: Vec<(String, String)>,
    generation: u64,
    previous: Option<&UserLinks>,
) -> UserLinks {
    use hashbrown::hash_table::Entry;
    use std::hash::BuildHasher;
    let hasher = hashbrown::DefaultHashBuilder::default();
    let mut text = String::with_capacity(rows.iter().map(|(i, u, s)| i.len() + u.len() + s.len()).sum());
    let mut recs: Vec<Rec> = Vec::with_capacity(rows.len());
    let mut exact: hashbrown::HashTable<u32> = hashbrown::HashTable::with_capacity(rows.len());
    let mut folded: hashbrown::HashTable<u32> = hashbrown::HashTable::new();
    for (id, url, slug) in rows {
        let plain = previous
            .and_then(|p| p.known_plain(&slug, &id, &url))
            .unwrap_or_else(|| {
                validate_url("url", &url).is_ok()
                    && !url.contains("%s")
                    && !url.contains("{path}")
                    && axum::http::HeaderValue::from_str(&url).is_ok()
            });
        let (slug_span, url_span, id_span) = (
            Span::put(&mut text, &slug),
            Span::put(&mut text, &url),
            Span::put(&mut text, &id),
        );
        let lower = slug.to_lowercase();
        let lower_span = if lower == slug {
            slug_span
        } else {
            Span::put(&mut text, &lower)
        };
        let idx = recs.len() as u32;
        // Each chain starts with the newest link and points to the one before.
        let file = |index: &mut hashbrown::HashTable<u32>, key: Span, key_of: fn(&Rec) -> Span| {
            let k = key.of(&text);
            match index.entry(
                hasher.hash_one(k),
                |&i| key_of(&recs[i as usize]).of(&text) == k,
                |&i| hasher.hash_one(key_of(&recs[i as usize]).of(&text)),
            ) {
                Entry::Occupied(mut e) => std::mem::replace(e.get_mut(), idx),
                Entry::Vacant(e) => {
                    e.insert(idx);
                    NONE
                }
            }
        };
        let next_exact = file(&mut exact, slug_span, |r| r.slug);
        let next_folded = if lower_span.at == slug_span.at {
            NONE
        } else {
            file(&mut folded, lower_span, |r| r.lower)
        };
        recs.push(Rec {
            id: id_span,
            url: url_span,
            slug: slug_span,
            lower: lower_span,
            next_exact,
            next_folded,
            plain,
        });
    }
    UserLinks {
        checked: AtomicU64::new(now_ms()),
        data_version: None,
        generation,
        text: text.into_boxed_str(),
        recs: recs.into_boxed_slice(),
        hasher,
        exact,
        folded,
        prefs: prefs
            .into_iter()
            .map(|(s, b)| (s.into_boxed_str(), b.into_boxed_str()))
            .collect(),
    }
}

/// SQLite gets the visits keyed by bookmark id (`{"<id>": [n, "t"], …}`): `json_each` hands out
/// the id as the key and each value is a two-element array, cheaper to unpack than an object
/// (10,000 rows: 55–60 ms against 70–77 ms).
const FLUSH_SQLITE: &str =
    "UPDATE bookmarks SET access_count = COALESCE(access_count, 0) + j.n, last_accessed_at = j.t \
     FROM (SELECT key AS id, value ->> 0 AS n, value ->> 1 AS t FROM json_each($1)) AS j \
     WHERE bookmarks.id = j.id";
const FLUSH_POSTGRES: &str =
    "UPDATE bookmarks SET access_count = COALESCE(bookmarks.access_count, 0) + j.n, last_accessed_at = j.t \
     FROM jsonb_to_recordset($1::jsonb) AS j(id text, n integer, t timestamp) WHERE bookmarks.id = j.id";

/// Access counts gathered in memory and written in batches (at least every second, and on
/// graceful shutdown), so forwarding never waits for a database write. Each thread counts into
/// its own shard: request threads never wait for each other here.
pub struct AccessCounter {
    shards: Box<[Mutex<Visits>]>,
    /// Visits counted by bookmark id: a forward that did not come from a link table, and a
    /// failed flush's, put back for the next attempt.
    by_id: Mutex<ById>,
}

/// A link's visits not yet written, and the last one's time.
struct Visit {
    table: Arc<UserLinks>,
    link: u32,
    n: i64,
    at: std::time::SystemTime,
}

impl Visit {
    fn add(&mut self, n: i64, at: std::time::SystemTime) {
        self.n += n;
        self.at = self.at.max(at);
    }
}

/// Keyed by the link's table's address and its place there (the entry holds the table, so the
/// address cannot be reused while it is there): a visit hashes two words and compares nothing,
/// where a key of the bookmark id meant hashing 36 bytes and comparing them with a string
/// elsewhere in memory. The same bookmark can appear under two tables (a reload replaced one);
/// the flush merges them.
type Visits = HashMap<(usize, u32), Visit>;

/// Per bookmark id: visits not yet written, and the last one's time.
type ById = HashMap<String, (i64, std::time::SystemTime)>;

const COUNTER_SHARDS: usize = 16;

impl Default for AccessCounter {
    fn default() -> Self {
        AccessCounter {
            shards: (0..COUNTER_SHARDS).map(|_| Mutex::default()).collect(),
            by_id: Mutex::default(),
        }
    }
}

fn thread_shard() -> usize {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    thread_local! {
        static SHARD: usize = (NEXT.fetch_add(1, Ordering::Relaxed) as usize) % COUNTER_SHARDS;
    }
    SHARD.with(|s| *s)
}

impl AccessCounter {
    /// One forward to a link of a link table.
    pub fn hit(&self, table: &Arc<UserLinks>, link: u32) {
        let now = std::time::SystemTime::now();
        let mut map = self.shards[thread_shard()]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        map.entry((Arc::as_ptr(table) as usize, link))
            .or_insert_with(|| Visit {
                table: table.clone(),
                link,
                n: 0,
                at: now,
            })
            .add(1, now);
    }

    /// One forward to a bookmark known only by id.
    pub fn hit_id(&self, bookmark_id: &str) {
        let now = std::time::SystemTime::now();
        let mut map = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        let e = map.entry_ref(bookmark_id).or_insert((0, now));
        *e = (e.0 + 1, now);
    }

    /// Takes every shard's visits (cheap: the maps are moved, not copied).
    fn take(&self) -> (Vec<Visits>, ById) {
        let parts = self
            .shards
            .iter()
            .map(|shard| std::mem::take(&mut *shard.lock().unwrap_or_else(|e| e.into_inner())))
            .filter(|v| !v.is_empty())
            .collect();
        let by_id = std::mem::take(&mut *self.by_id.lock().unwrap_or_else(|e| e.into_inner()));
        (parts, by_id)
    }

    /// Writes what has gathered; on failure the counts are put back for the next attempt.
    pub async fn flush(&self, db: &Db, bg: &crate::db::Background) -> Result<usize> {
        let (parts, by_id) = self.take();
        if parts.is_empty() && by_id.is_empty() {
            return Ok(0);
        }
        // Merging and encoding 10,000 visits takes milliseconds: not on a request thread.
        let keyed = matches!(db, Db::Sqlite(_));
        let (parts, by_id, rows, chunks) = crate::error::off_thread(move || {
            let (rows, chunks) = encode_visits(&parts, &by_id, keyed);
            (parts, by_id, rows, chunks)
        })
        .await?;
        // One transaction, so a failure writes nothing and every visit is put back; but a
        // statement per chunk, so the database's thread works in short stretches and the
        // request threads get the cores in between (one statement for 10,000 links held a core
        // for tens of milliseconds, and made up most of the forwards' p99). On SQLite, on the
        // background connection: these writes are then not taken for another writer's.
        let result = match db {
            Db::Sqlite(pool) => {
                let written = async {
                    let mut c = bg.sqlite(pool).await?;
                    let mut tx = sqlx::Connection::begin_with(&mut *c, "BEGIN IMMEDIATE").await?;
                    for chunk in &chunks {
                        sqlx::query(FLUSH_SQLITE).bind(chunk).execute(&mut *tx).await?;
                        tokio::task::yield_now().await;
                    }
                    tx.commit().await
                }
                .await;
                if written.is_err() {
                    bg.reset().await;
                }
                written.map_err(Error::from)
            }
            Db::Postgres(_) => {
                async {
                    let mut tx = db.begin().await?;
                    for chunk in &chunks {
                        with_tx!(&mut tx, c => sqlx::query(FLUSH_POSTGRES).bind(chunk).execute(c).await?.rows_affected());
                        tokio::task::yield_now().await;
                    }
                    tx.commit().await?;
                    Ok::<_, Error>(())
                }
                .await
            }
        };
        if let Err(e) = result {
            self.put_back(parts, by_id);
            return Err(e);
        }
        // Letting go of the maps (and perhaps replaced tables): not on a request thread either.
        tokio::task::spawn_blocking(move || drop((parts, by_id)));
        Ok(rows)
    }

    /// A failed flush's visits, counted again for the next attempt.
    fn put_back(&self, parts: Vec<Visits>, by_id: ById) {
        let mut shard = self.shards[0].lock().unwrap_or_else(|e| e.into_inner());
        for (key, v) in parts.into_iter().flatten() {
            match shard.entry(key) {
                hashbrown::hash_map::Entry::Occupied(mut e) => e.get_mut().add(v.n, v.at),
                hashbrown::hash_map::Entry::Vacant(e) => {
                    e.insert(v);
                }
            }
        }
        drop(shard);
        let mut map = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        for (id, (n, at)) in by_id {
            let e = map.entry(id).or_insert((0, at));
            e.0 += n;
            e.1 = e.1.max(at);
        }
    }
}

/// One bookmark's visits in a flush: id, count, last visit.
type Row<'a> = (&'a str, i64, std::time::SystemTime);

/// Links per flush statement: a statement for 128 links keeps SQLite busy for about half a
/// millisecond.
const FLUSH_CHUNK: usize = 128;

/// The visits merged per bookmark (sorted by id, so equal ids are neighbours: nothing is hashed
/// or copied), as the flush statements' JSON parameters, one per [`FLUSH_CHUNK`] links in id
/// order, which the database unpacks and joins on the primary key: `{"<id>": [n, "t"], …}` when
/// `keyed` (SQLite), else `[{"id", "n", "t"}, …]` (PostgreSQL's `jsonb_to_recordset`). Returns
/// the number of bookmarks and the parameters.
fn encode_visits(parts: &[Visits], by_id: &ById, keyed: bool) -> (usize, Vec<String>) {
    let mut rows: Vec<Row> = Vec::with_capacity(parts.iter().map(|p| p.len()).sum::<usize>() + by_id.len());
    rows.extend(
        parts
            .iter()
            .flat_map(|p| p.values())
            .map(|v| (v.table.id(v.link), v.n, v.at)),
    );
    rows.extend(by_id.iter().map(|(id, (n, at))| (id.as_str(), *n, *at)));
    // In key order: SQLite then walks its primary-key index front to back instead of jumping
    // about (10,000 rows: ~32 ms against ~43 ms; the database's thread uses a fifth less CPU
    // under the go-link benchmark).
    rows.sort_unstable_by(|a, b| a.0.cmp(b.0));
    rows.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            kept.1 += later.1;
            kept.2 = kept.2.max(later.2);
        }
        same
    });
    let chunks = rows.chunks(FLUSH_CHUNK).map(|c| encode_chunk(c, keyed)).collect();
    (rows.len(), chunks)
}

fn encode_chunk(rows: &[Row], keyed: bool) -> String {
    let json = if keyed {
        serde_json::to_string(&Keyed(rows))
    } else {
        #[derive(Serialize)]
        struct Record<'a> {
            id: &'a str,
            n: i64,
            t: Ts,
        }
        let records: Vec<Record> = rows
            .iter()
            .map(|&(id, n, t)| Record {
                id,
                n,
                t: Ts::from_system(t),
            })
            .collect();
        serde_json::to_string(&records)
    };
    json.unwrap_or_else(|_| "[]".into())
}

/// Rows as `{"<id>": [n, "t"], …}`.
struct Keyed<'a>(&'a [Row<'a>]);

impl Serialize for Keyed<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|&(id, n, t)| (id, (n, Ts::from_system(t)))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go(raw: &str, q: Option<&str>) -> GoRequest {
        parse(raw, q).unwrap()
    }

    /// A table of links to example.com, each with its id as slug.
    fn table(ids: &[&str]) -> Arc<UserLinks> {
        let rows = ids
            .iter()
            .map(|id| (id.to_string(), "https://example.com/".to_string(), id.to_string()))
            .collect();
        Arc::new(build_links(rows, Vec::new(), 0, None))
    }

    fn visits(list: &[(&Arc<UserLinks>, u32, i64, std::time::SystemTime)]) -> Visits {
        list.iter()
            .map(|(t, link, n, at)| {
                let visit = Visit {
                    table: (*t).clone(),
                    link: *link,
                    n: *n,
                    at: *at,
                };
                ((Arc::as_ptr(t) as usize, *link), visit)
            })
            .collect()
    }

    #[test]
    fn visit_batches() {
        let at = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let later = at + Duration::from_millis(1500);
        // "b1" twice: in two shards, and under two tables (a reload replaced one).
        let (old, new) = (table(&["b1", "b2"]), table(&["b1"]));
        let a = visits(&[(&old, 0, 2, at)]);
        let b = visits(&[(&old, 0, 3, later), (&new, 0, 4, at), (&old, 1, 1, at)]);
        let by_id = ById::from_iter([("b0".to_string(), (1, at)), ("b2".to_string(), (2, later))]);
        let (rows, chunks) = encode_visits(&[a, b], &by_id, true);
        assert_eq!((rows, chunks.len()), (3, 1));
        let json = &chunks[0];
        let at_key = |k: &str| json.find(&format!("\"{k}\"")).unwrap();
        assert!(
            at_key("b0") < at_key("b1") && at_key("b1") < at_key("b2"),
            "{json}"
        );
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(v["b1"][0], 9, "shards and links merged: {json}");
        let ts = |t| serde_json::to_value(Ts::from_system(t)).unwrap();
        assert_eq!(v["b1"][1], ts(later), "latest visit kept");
        assert_eq!(
            (v["b2"][0].clone(), v["b2"][1].clone()),
            (3.into(), ts(later)),
            "by id merged"
        );
        assert_eq!(v["b0"][0], 1);

        let b = visits(&[(&old, 0, 3, later)]);
        let (_, chunks) = encode_visits(&[b], &ById::default(), false);
        let v: serde_json::Value = serde_json::from_str(&chunks[0]).unwrap();
        assert_eq!(v[0]["id"], "b1");
        assert_eq!(v[0]["n"], 3);
    }

    #[test]
    fn counter_counts_per_link_and_by_id() {
        let counter = AccessCounter::default();
        let t = table(&["b1", "b2"]);
        for _ in 0..3 {
            counter.hit(&t, 0);
        }
        counter.hit(&t, 1);
        counter.hit_id("b1");
        let counts = |json: &str| {
            let v: serde_json::Value = serde_json::from_str(json).unwrap();
            (
                v["b1"][0].as_i64(),
                v["b2"][0].as_i64(),
                v.as_object().unwrap().len(),
            )
        };
        let (parts, by_id) = counter.take();
        let (rows, chunks) = encode_visits(&parts, &by_id, true);
        assert_eq!((rows, counts(&chunks[0])), (2, (Some(4), Some(1), 2)));
        let (again, again_by_id) = counter.take();
        assert!(again.is_empty() && again_by_id.is_empty(), "taken once");

        // A failed flush puts its visits back, merged with those counted meanwhile.
        counter.hit(&t, 0);
        counter.put_back(parts, by_id);
        let (parts, by_id) = counter.take();
        let (rows, chunks) = encode_visits(&parts, &by_id, true);
        assert_eq!((rows, counts(&chunks[0])), (2, (Some(5), Some(1), 2)));
    }

    #[test]
    fn visits_are_written_in_chunks_in_id_order() {
        let at = std::time::SystemTime::UNIX_EPOCH;
        let ids: Vec<String> = (0..300).map(|i| format!("b{i:03}")).collect();
        // Counted in an order unlike the ids'.
        let by_id = ById::from_iter(ids.iter().rev().map(|id| (id.clone(), (1, at))));
        let (rows, chunks) = encode_visits(&[], &by_id, true);
        assert_eq!(rows, 300);
        let keys: Vec<Vec<String>> = chunks
            .iter()
            .map(|c| {
                let v: serde_json::Map<String, serde_json::Value> = serde_json::from_str(c).unwrap();
                v.keys().cloned().collect()
            })
            .collect();
        let sizes: Vec<usize> = keys.iter().map(Vec::len).collect();
        assert_eq!(sizes, [FLUSH_CHUNK, FLUSH_CHUNK, 300 - 2 * FLUSH_CHUNK]);
        assert_eq!(
            keys.concat(),
            ids,
            "every link once, in id order across the chunks"
        );
    }

    #[test]
    fn parsing() {
        assert_eq!(go("gh", None).rest, Vec::<String>::new());
        assert_eq!(go("gh/rust-lang/rust", None).rest, vec!["rust-lang", "rust"]);
        let w = go("gh%20rust-lang%20rust", None);
        assert_eq!((w.slug.as_str(), w.words), ("gh", true));
        assert_eq!(w.rest, vec!["rust-lang", "rust"]);
        assert_eq!(go("g+hello+world", None).rest, vec!["hello", "world"]);
        assert_eq!(
            go("gh//a/./../b/", None).rest,
            vec!["a", "b"],
            "empty, . and .. dropped"
        );
        assert_eq!(
            go("wiki/a%2Fb", None).rest,
            vec!["a/b"],
            "an encoded slash stays inside its segment"
        );
        assert!(parse("bad.slug", None).is_err());
        assert!(parse("", None).is_err());
        assert!(parse("%20", None).is_err());
    }

    #[test]
    fn targets() {
        let t = |url: &str, raw: &str, q: Option<&str>| target(url, &go(raw, q)).unwrap();
        assert_eq!(t("https://github.com", "gh", None), "https://github.com");
        assert_eq!(
            t("https://github.com", "gh/rust-lang/rust", None),
            "https://github.com/rust-lang/rust"
        );
        assert_eq!(
            t("https://github.com/", "gh/rust-lang", None),
            "https://github.com/rust-lang"
        );
        assert_eq!(
            t("https://x.example/base/", "x/a%20b", None),
            "https://x.example/base/a%20b"
        );
        assert_eq!(
            t("https://x.example/a?k=1", "x/b", None),
            "https://x.example/a/b?k=1"
        );
        assert_eq!(
            t("https://x.example/p", "x", Some("q=1&r=2")),
            "https://x.example/p?q=1&r=2"
        );
        assert_eq!(
            t("https://x.example/p?k=1#frag", "x", Some("q=1")),
            "https://x.example/p?k=1&q=1#frag"
        );
        assert_eq!(
            t("https://google.com/search?q=%s", "g%20rust%20lang", None),
            "https://google.com/search?q=rust%20lang"
        );
        assert_eq!(
            t("https://google.com/search?q=%s", "g/a&b=c", None),
            "https://google.com/search?q=a%26b%3Dc"
        );
        assert_eq!(
            t("https://google.com/search?q=%s", "g", None),
            "https://google.com/search?q="
        );
        assert_eq!(
            t("https://github.com/{path}", "gh/rust-lang/rust", None),
            "https://github.com/rust-lang/rust"
        );
        assert_eq!(
            t("https://github.com/{path}/issues", "gh/a%3Fb", None),
            "https://github.com/a%3Fb/issues"
        );
        assert_eq!(
            t("https://x.example/docs", "x/../../etc/passwd", None),
            "https://x.example/docs/etc/passwd"
        );
        // The result must stay an http(s) URL.
        assert!(target("%s", &go("x/javascript:alert(1)", None)).is_none());
    }

    #[test]
    fn idle_tables_are_taken_out() {
        let cache = LinkCache::default();
        // Checked `age` seconds before the moment the test looks from.
        let then = now_ms() + 3_600_000;
        let table = |age: u64| {
            let row = (
                "b1".to_string(),
                "https://example.com/".to_string(),
                "s1".to_string(),
            );
            let mut links = build_links(vec![row], Vec::new(), 0, None);
            links.checked = AtomicU64::new(then - age * 1000);
            Arc::new(links)
        };
        {
            let mut map = cache.map.write().unwrap();
            map.insert("used".into(), table(4));
            map.insert("idle".into(), table(LINKS_IDLE.as_secs() + 1));
        }
        let idle = cache.take_idle_at(then);
        assert_eq!(idle.len(), 1);
        assert!(matches!(idle[0].resolve("s1"), Resolution::Found(l) if idle[0].id(l) == "b1"));
        assert!(cache.stored("idle").is_none());
        assert!(cache.stored("used").is_some());
        assert!(cache.take_idle_at(then).is_empty());
    }

    #[test]
    fn resolving_in_the_table() {
        let url = "https://example.com/";
        let rows = |list: &[(&str, &str, &str)]| {
            list.iter()
                .map(|(id, url, slug)| (id.to_string(), url.to_string(), slug.to_string()))
                .collect::<Vec<_>>()
        };
        let list = [
            ("a1", url, "gh"),
            ("a2", url, "GH"),
            ("a3", url, "Docs"),
            ("a4", url, "dup"),
            ("a5", url, "dup"),
            ("a6", "https://example.com/?q=%s", "q"),
        ];
        let prefs = vec![
            ("Gh".to_string(), "a2".to_string()),
            ("x".to_string(), "a1".to_string()),
        ];
        let t = build_links(rows(&list), prefs, 0, None);
        let found = |slug: &str| match t.resolve(slug) {
            Resolution::Found(i) => Some(t.id(i).to_string()),
            _ => None,
        };
        assert_eq!(found("gh").as_deref(), Some("a1"), "exact first");
        assert_eq!(found("GH").as_deref(), Some("a2"), "exact first");
        assert_eq!(
            found("Gh").as_deref(),
            Some("a2"),
            "remembered among the case-insensitive"
        );
        assert_eq!(found("docs").as_deref(), Some("a3"), "case-insensitive");
        assert_eq!(found("DOCS").as_deref(), Some("a3"), "case-insensitive");
        assert_eq!(t.resolve("dup"), Resolution::Choose);
        assert_eq!(
            t.resolve("gH"),
            Resolution::Choose,
            "two case-insensitive matches"
        );
        assert_eq!(
            t.resolve("x"),
            Resolution::Missing,
            "a choice alone resolves nothing"
        );
        assert_eq!(t.resolve("nope"), Resolution::Missing);
        let q = match t.resolve("q") {
            Resolution::Found(i) => i,
            other => panic!("{other:?}"),
        };
        assert_eq!(t.url(q), "https://example.com/?q=%s");
        assert!(!t.is_plain(q));
        let a1 = match t.resolve("gh") {
            Resolution::Found(i) => i,
            other => panic!("{other:?}"),
        };
        assert!(t.is_plain(a1));

        // A reload reuses what it knows, and sees what changed.
        let mut changed = rows(&list);
        changed[0].1 = "javascript:alert(1)".into();
        changed[4].2 = "other".into();
        let prefs = vec![("dup".to_string(), "a5".to_string())];
        let r = build_links(changed, prefs, 1, Some(&t));
        let found = |slug: &str| match r.resolve(slug) {
            Resolution::Found(i) => Some((r.id(i).to_string(), r.is_plain(i))),
            _ => None,
        };
        assert_eq!(found("gh"), Some(("a1".into(), false)), "new URL checked again");
        assert_eq!(found("GH"), Some(("a2".into(), true)));
        assert_eq!(found("dup"), Some(("a4".into(), true)), "one left");
        assert_eq!(found("other"), Some(("a5".into(), true)));
    }
}
