//! The in-memory forwarding table of each user: one flat text with every id, URL and slug, a
//! record per link, and indexes of record numbers.

use hashbrown::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Resolution;
use crate::bookmarks::validate_url;
use crate::db::Db;
use crate::error::Result;
use crate::with_db;

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

/// Whether `s` can be a header value as it is (visible ASCII and tabs, as HTTP allows).
fn header_safe(s: &str) -> bool {
    s.bytes().all(|b| (32..127).contains(&b) || b == b'\t')
}

/// The end of a chain of links.
const NONE: u32 = u32::MAX;

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
        let readable = if crate::sharing::has_incoming_shares(db, user).await? {
            format!("b.id IN ({})", crate::sharing::readable_ids_sql("$1"))
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
                    && header_safe(&url)
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

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A table of links to example.com, each with its id as slug.
    pub(in crate::golinks) fn table(ids: &[&str]) -> Arc<UserLinks> {
        let rows = ids
            .iter()
            .map(|id| (id.to_string(), "https://example.com/".to_string(), id.to_string()))
            .collect();
        Arc::new(build_links(rows, Vec::new(), 0, None))
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
