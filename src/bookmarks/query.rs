//! Reading bookmarks: the list with its filters and full-text search, single bookmarks, and the
//! tags, folders and shares that come with them.

use std::collections::HashMap;

use super::model::*;
use super::{ListFilter, Sort};
use crate::db::params::{escape_like, Params};
use crate::db::{from_json, Db};
use crate::error::{Error, Result};
use crate::sharing::{has_incoming_shares, readable_sql, shared_ids_sql, Scope, TeamShareRow, UserRef};
use crate::{bind_params, with_db};

/// Accented Latin letters and their base letters: the same table as the PostgreSQL search
/// column's `translate()` (migrations/postgres/0003_bookmarks.sql).
const FOLD_FROM: &str = "àáâãäåāăąçćčďđèéêëēėęěìíîïīįıñńňòóôõöøōőùúûüūůűųýÿžźżšśßłğřť";
const FOLD_TO: &str = "aaaaaaaaacccddeeeeeeeeiiiiiiinnnoooooooouuuuuuuuyyzzzssslgrt";

/// Lower-cases and folds common Latin accents (`Café` → `cafe`).
pub fn fold_accents(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .map(|c| match FOLD_FROM.chars().position(|f| f == c) {
            Some(i) => FOLD_TO.chars().nth(i).unwrap_or(c),
            None => c,
        })
        .collect()
}

/// Words of a search as the full-text indexes see them.
pub fn search_terms(q: &str) -> Vec<String> {
    fold_accents(q)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .take(16)
        .map(str::to_string)
        .collect()
}

/// A filter turned into SQL: `from` (joins), `where` and the parameters.
pub struct Filter {
    pub params: Params,
    pub conds: Vec<String>,
    pub sort: Sort,
    pub rank_select: String,
    /// SQLite: the full-text MATCH placeholder.
    pub fts: Option<String>,
    /// Scope "all" for a user with incoming shares: the user's placeholder. The readable rule is
    /// then not in `conds` (see [`Filter::page_source`]).
    shared_with: Option<String>,
}

impl Filter {
    /// Validates the referenced folder and tags and builds the condition.
    pub async fn build(db: &Db, counts: &CountCache, user_id: &str, q: &ListFilter) -> Result<Filter> {
        let mut p = Params::new();
        let u = p.push(user_id);
        let mut conds = Vec::new();
        let scope = q.scope;
        let readable = readable_sql(&u);
        let mut shared_with = None;
        match scope {
            Scope::Mine => conds.push(format!("b.user_id = {u}")),
            Scope::All => {
                if counts.incoming_shares(db, user_id).await? {
                    shared_with = Some(u.clone());
                } else {
                    conds.push(format!("b.user_id = {u}"));
                }
            }
            Scope::SharedWithMe => conds.push(format!("b.user_id <> {u} AND {readable}")),
            Scope::SharedByMe => conds.push(format!(
                "b.user_id = {u} AND (EXISTS (SELECT 1 FROM bookmark_user_shares s WHERE s.bookmark_id = b.id) \
                 OR EXISTS (SELECT 1 FROM bookmark_team_shares s WHERE s.bookmark_id = b.id))"
            )),
        }
        if let Some(folder) = q.folder_id.as_deref() {
            if !crate::sharing::can_read_folder(db, user_id, folder).await? {
                return Err(Error::not_found("Folder not found"));
            }
            let f = p.push(folder);
            conds.push(format!(
                "EXISTS (SELECT 1 FROM bookmark_folders bf WHERE bf.bookmark_id = b.id AND bf.folder_id = {f})"
            ));
        }
        let tags = &q.tag_ids;
        if !tags.is_empty() {
            if crate::sharing::count_own_tags(db, user_id, tags).await? != tags.len() as i64 {
                return Err(Error::not_found("Tag not found"));
            }
            let any = q.any_tag;
            let parts: Vec<String> = tags
                .iter()
                .map(|t| {
                    let ph = p.push(t.as_str());
                    format!("EXISTS (SELECT 1 FROM bookmark_tags bt WHERE bt.bookmark_id = b.id AND bt.tag_id = {ph})")
                })
                .collect();
            conds.push(format!("({})", parts.join(if any { " OR " } else { " AND " })));
        }
        if q.pinned_only {
            conds.push("b.pinned = TRUE".into());
        }
        match q.link_status {
            Some("unknown") => conds.push("(b.link_status IS NULL OR b.link_status = 'unknown')".into()),
            Some(s) => conds.push(format!("b.link_status = '{s}'")),
            None => {}
        }
        let text = q.text.as_str();
        let terms = search_terms(text);
        let mut rank_select = String::new();
        let mut fts: Option<String> = None;
        let mut sort = match q.sort {
            None if !terms.is_empty() => Sort::Relevance,
            Some(Sort::Relevance) if terms.is_empty() => Sort::RecentlyAdded,
            Some(s) => s,
            None => Sort::RecentlyAdded,
        };
        if !text.is_empty() && terms.is_empty() {
            // Only punctuation: match it literally.
            let like = p.push(format!("%{}%", escape_like(&text.to_lowercase())));
            conds.push(format!(
                "(LOWER(b.title) LIKE {like} ESCAPE '\\' OR LOWER(b.url) LIKE {like} ESCAPE '\\' \
                 OR LOWER(COALESCE(b.slug, '')) LIKE {like} ESCAPE '\\')"
            ));
            if sort == Sort::Relevance {
                sort = Sort::RecentlyAdded;
            }
        } else if !terms.is_empty() {
            match db {
                Db::Sqlite(_) => {
                    let m = p.push(
                        terms
                            .iter()
                            .map(|t| format!("\"{t}\"*"))
                            .collect::<Vec<_>>()
                            .join(" AND "),
                    );
                    fts = Some(m);
                }
                Db::Postgres(_) => {
                    let m = p.push(
                        terms
                            .iter()
                            .map(|t| format!("{t}:*"))
                            .collect::<Vec<_>>()
                            .join(" & "),
                    );
                    conds.push(format!("b.search_tsv @@ to_tsquery('simple', {m})"));
                    rank_select = format!(
                        ", CAST(-ts_rank(b.search_tsv, to_tsquery('simple', {m})) AS DOUBLE PRECISION) AS search_rank"
                    );
                }
            }
        }
        Ok(Filter {
            params: p,
            conds,
            sort,
            rank_select,
            fts,
            shared_with,
        })
    }

    /// The user's own bookmarks with no other condition: their total is a kept count
    /// (`bookmark_counts`, migration 13), read in the page's statement, not counted.
    fn own_unfiltered(&self) -> bool {
        self.fts.is_none()
            && self.shared_with.is_none()
            && self.params.args.len() == 1
            && self.conds.len() == 1
            && self.conds[0] == "b.user_id = $1"
    }

    /// A deep page (`offset` ≥ [`LATE_FROM`]) in any order but relevance, of the user's own
    /// bookmarks: the keys of the page are found first, by walking the ordering index alone
    /// past the skipped rows, and only the page's rows are read and joined to their owner.
    /// Reading and joining every skipped row cost ~1 µs each (half a second at offset 500,000).
    /// `None` where that does not apply.
    fn late_source(&self, db: &Db, offset: i64, lim: &str, off: &str) -> Option<(String, String, String)> {
        if offset < LATE_FROM || self.sort == Sort::Relevance || self.shared_with.is_some() {
            return None;
        }
        let key = match db {
            Db::Sqlite(_) => "rowid",
            Db::Postgres(_) => "id",
        };
        let conds = format!(
            "b.{key} IN (SELECT b.{key} FROM bookmarks b WHERE {} ORDER BY {} LIMIT {lim} OFFSET {off})",
            self.where_sql(),
            self.sort.order_by()
        );
        Some(("bookmarks b".into(), self.rank_select.clone(), conds))
    }

    /// PostgreSQL's text search: the matches as a CTE `m` (id and rank), which both the page and
    /// its total read, so the GIN index is searched once, not once for the total and again for
    /// the page (a prefix search spends most of its time there: 15 of 17 ms for `alp 512` in
    /// 1,000,000 bookmarks). Ranked by relevance only: the page is cut from `m` by its own
    /// columns before any other row is read.
    fn matches_first(&self, db: &Db) -> Option<String> {
        if !matches!(db, Db::Postgres(_)) || self.rank_select.is_empty() || self.sort != Sort::Relevance {
            return None;
        }
        Some(format!(
            "m AS MATERIALIZED (SELECT b.id, b.created_at{} FROM bookmarks b WHERE {}), ",
            self.rank_select,
            self.where_sql()
        ))
    }

    /// `SELECT COUNT(*)` of the matches. SQLite counts full-text matches from the index's list
    /// of matches (`CROSS JOIN` fixes that order): its planner prefers walking all of a user's
    /// bookmarks and probing each against the matches (55 ms instead of under 1 for a search
    /// in 1,000,000 bookmarks).
    fn count_sql(&self) -> String {
        match &self.fts {
            Some(m) => {
                let mut conds = self.conds.clone();
                if let Some(u) = &self.shared_with {
                    conds.push(readable_sql(u));
                }
                conds.push("TRUE".into());
                format!(
                    "SELECT COUNT(*) FROM (SELECT rowid AS fts_rowid FROM bookmarks_fts WHERE bookmarks_fts MATCH {m}) fts \
                     CROSS JOIN bookmarks b ON b.rowid = fts.fts_rowid WHERE {}",
                    conds.join(" AND ")
                )
            }
            None => format!("SELECT COUNT(*) FROM bookmarks b WHERE {}", self.where_sql()),
        }
    }

    /// The conditions, including the scope and the full-text match.
    fn where_sql(&self) -> String {
        let mut conds = self.conds.clone();
        if let Some(u) = &self.shared_with {
            conds.push(readable_sql(u));
        }
        self.with_match(conds)
    }

    /// `conds` and the full-text match, joined.
    fn with_match(&self, mut conds: Vec<String>) -> String {
        if let Some(m) = &self.fts {
            conds.push(format!(
                "b.rowid IN (SELECT rowid FROM bookmarks_fts WHERE bookmarks_fts MATCH {m})"
            ));
        }
        if conds.is_empty() {
            "TRUE".into()
        } else {
            conds.join(" AND ")
        }
    }

    /// `FROM …`, the rank column and the conditions for a page that needs at most `upto` rows.
    /// SQLite ranked by relevance: the best `top` full-text matches first (the index ranks
    /// them; `CROSS JOIN` keeps SQLite's planner from walking all of the user's bookmarks and
    /// probing each against the matches instead: 80 ms rather than 9 in 1,000,000), then the
    /// other conditions; `None` ranks every match. Scope "all" of a user with
    /// incoming shares, in any other order: the first `upto` of the user's own bookmarks (their
    /// index, in order) and the first `upto` of those shared with them (found through the share
    /// tables), merged — not every bookmark of the instance tested against the sharing rule.
    fn page_source(&self, top: Option<&str>, upto: &str) -> (String, String, String) {
        match (&self.fts, self.sort, &self.shared_with) {
            (Some(m), Sort::Relevance, _) => {
                let limit = top.map(|k| format!(" LIMIT {k}")).unwrap_or_default();
                let from = format!(
                    "(SELECT rowid AS fts_rowid, rank AS search_rank FROM bookmarks_fts WHERE bookmarks_fts MATCH {m} \
                     ORDER BY rank{limit}) fts CROSS JOIN bookmarks b ON b.rowid = fts.fts_rowid"
                );
                let mut conds = self.conds.clone();
                if let Some(u) = &self.shared_with {
                    conds.push(readable_sql(u));
                }
                let conds = if conds.is_empty() {
                    "TRUE".to_string()
                } else {
                    conds.join(" AND ")
                };
                (from, ", fts.search_rank".into(), conds)
            }
            (_, sort, Some(u)) if sort != Sort::Relevance => {
                let (w, o) = (self.with_match(self.conds.clone()), sort.order_by());
                let from = format!(
                    "(SELECT * FROM (SELECT b.* FROM bookmarks b WHERE b.user_id = {u} AND {w} \
                        ORDER BY {o} LIMIT {upto}) own \
                      UNION ALL SELECT * FROM (SELECT b.* FROM bookmarks b WHERE b.user_id <> {u} \
                        AND b.id IN ({}) AND {w} ORDER BY {o} LIMIT {upto}) shared) b",
                    shared_ids_sql(u)
                );
                (from, self.rank_select.clone(), "TRUE".into())
            }
            _ => ("bookmarks b".into(), self.rank_select.clone(), self.where_sql()),
        }
    }
}

/// From this offset on, a page's keys are found before its rows ([`Filter::late_source`]).
const LATE_FROM: i64 = 500;

pub struct Page {
    pub items: Vec<Bookmark>,
    pub total: i64,
    pub has_more: bool,
}

/// One page of the list, with the total count.
pub async fn list(db: &Db, cache: &CountCache, user_id: &str, q: &ListFilter) -> Result<Page> {
    let limit = i64::from(q.limit);
    let offset = i64::from(q.offset);
    let f = Filter::build(db, cache, user_id, q).await?;
    let counted = f.own_unfiltered();
    let matched = f.matches_first(db);
    let mut total = 0;
    if !counted && matched.is_none() {
        let count_sql = f.count_sql();
        let cache_key = format!("{user_id}\u{1}{count_sql}\u{1}{:?}", f.params.args);
        total = match cache.get(&cache_key) {
            Some(n) => n,
            None => {
                let n: i64 = with_db!(db, pool => bind_params!(sqlx::query_scalar::<_, i64>(&count_sql), f.params)
                    .fetch_one(pool).await?);
                cache.put(cache_key, n);
                n
            }
        };
    }
    let total_sql = if counted {
        "(SELECT n FROM bookmark_counts WHERE user_id = $1)"
    } else if matched.is_some() {
        "(SELECT COUNT(*) FROM m)"
    } else {
        "NULL"
    };

    // Ranked SQLite search first looks at the best few hundred matches only; when the other
    // conditions leave too few of them, it ranks them all. The page and its tags, folders and
    // shares come in one statement, as two JSON values.
    let wanted = offset + limit + 1;
    let mut rows = Vec::new();
    let mut related = Vec::new();
    for top in [Some((wanted * 4).max(200)), None] {
        let mut p = f.params.clone();
        let k = top.map(|k| p.push(k));
        let upto = p.push(wanted);
        let lim = p.push(limit + 1);
        let off = p.push(offset);
        let (from, rank, conds, off) = match (&matched, f.late_source(db, offset, &lim, &off)) {
            (Some(_), _) => (
                format!(
                    "(SELECT * FROM m ORDER BY search_rank, created_at DESC, id DESC LIMIT {lim} OFFSET {off}) m \
                     JOIN bookmarks b ON b.id = m.id"
                ),
                ", m.search_rank".to_string(),
                "TRUE".to_string(),
                "0".to_string(),
            ),
            (None, Some((from, rank, conds))) => (from, rank, conds, "0".to_string()),
            (None, None) => {
                let (from, rank, conds) = f.page_source(k.as_deref(), &upto);
                (from, rank, conds, off)
            }
        };
        let sql = format!(
            "WITH {}p AS MATERIALIZED (SELECT {BOOKMARK_COLUMNS}{rank} FROM {from} JOIN users u ON u.id = b.user_id \
             WHERE {conds} ORDER BY {} LIMIT {lim} OFFSET {off}) \
             SELECT (SELECT {} FROM p), ({}), {total_sql}",
            matched.as_deref().unwrap_or_default(),
            f.sort.order_by(),
            db.json_rows(BOOKMARK_FIELDS, ""),
            related_sql(db, in_page(db)),
        );
        let (page, rel, kept): (String, String, Option<i64>) =
            with_db!(db, pool => bind_params!(sqlx::query_as(&sql), p).fetch_one(pool).await?);
        if counted || matched.is_some() {
            total = kept.unwrap_or(0);
        }
        rows = from_json(&page)?;
        related = read_related(db, &rel)?;
        let complete = top.is_none() || rows.len() as i64 == limit + 1 || total <= offset + rows.len() as i64;
        if complete || f.fts.is_none() || f.sort != Sort::Relevance {
            break;
        }
    }
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    Ok(Page {
        items: attach(user_id, rows, related),
        total,
        has_more,
    })
}

/// The best `q.limit` matches, without a count and without tags, folders or shares: what the
/// command palette shows. Ranked SQLite search looks at the best few hundred full-text matches
/// first and ranks them all only when the other conditions leave too few.
pub async fn best(db: &Db, counts: &CountCache, user_id: &str, q: &ListFilter) -> Result<Vec<Bookmark>> {
    let limit = i64::from(q.limit);
    let f = Filter::build(db, counts, user_id, q).await?;
    let mut rows = Vec::new();
    for top in [Some((limit * 20).max(200)), None] {
        let mut p = f.params.clone();
        let k = top.map(|k| p.push(k));
        let lim = p.push(limit);
        let (from, rank, conds) = f.page_source(k.as_deref(), &lim);
        let sql = format!(
            "SELECT {} FROM (SELECT {BOOKMARK_COLUMNS}{rank} FROM {from} JOIN users u ON u.id = b.user_id \
             WHERE {conds} ORDER BY {} LIMIT {lim}) p",
            db.json_rows(BOOKMARK_FIELDS, ""),
            f.sort.order_by()
        );
        let page: String =
            with_db!(db, pool => bind_params!(sqlx::query_scalar(&sql), p).fetch_one(pool).await?);
        rows = from_json::<Vec<BookmarkRow>>(&page)?;
        if rows.len() as i64 == limit || f.fts.is_none() || f.sort != Sort::Relevance {
            break;
        }
    }
    Ok(rows.into_iter().map(|r| Bookmark::from_row(r, user_id)).collect())
}

/// Ids of every bookmark matching the filter (for "select all"), at most 10,000.
pub async fn ids(db: &Db, counts: &CountCache, user_id: &str, q: &ListFilter) -> Result<Vec<String>> {
    let f = Filter::build(db, counts, user_id, q).await?;
    let mut p = f.params.clone();
    let upto = p.push(10_000i64);
    let (from, rank, conds) = f.page_source(None, &upto);
    let sql = format!(
        "SELECT b.id{rank} FROM {from} WHERE {conds} ORDER BY {} LIMIT {upto}",
        f.sort.order_by()
    );
    let rows: Vec<(String,)> = if rank.is_empty() {
        with_db!(db, pool => bind_params!(sqlx::query_as::<_, (String,)>(&sql), p).fetch_all(pool).await?)
    } else {
        with_db!(db, pool => bind_params!(sqlx::query_as::<_, (String, f64)>(&sql), p)
            .fetch_all(pool).await?.into_iter().map(|(id, _)| (id,)).collect())
    };
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// A readable bookmark by id, with its tags, folders and shares.
pub async fn get(db: &Db, user_id: &str, id: &str) -> Result<Option<Bookmark>> {
    let mut p = Params::new();
    let u = p.push(user_id);
    let i = p.push(id);
    let sql = format!(
        "SELECT {BOOKMARK_COLUMNS} FROM bookmarks b JOIN users u ON u.id = b.user_id WHERE b.id = {i} AND {}",
        readable_sql(&u)
    );
    let row = with_db!(db, pool => bind_params!(sqlx::query_as::<_, BookmarkRow>(&sql), p).fetch_optional(pool).await?);
    match row {
        Some(r) => Ok(hydrate(db, user_id, vec![r]).await?.pop()),
        None => Ok(None),
    }
}

/// Adds tags, folders and shares to a page of rows, in one round trip (no N+1).
pub async fn hydrate(db: &Db, viewer: &str, rows: Vec<BookmarkRow>) -> Result<Vec<Bookmark>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut p = Params::new();
    let list = p.list(&ids);
    let sql = related_sql(db, &format!("IN ({list})"));
    let json: String = with_db!(db, pool => bind_params!(sqlx::query_scalar(&sql), p).fetch_one(pool).await?);
    Ok(attach(viewer, rows, read_related(db, &json)?))
}

/// A tag, folder, team share or user share of a bookmark: (kind, bookmark id, id, name, a, b).
type Related = (String, String, String, String, Option<String>, Option<String>);

/// The tags, folders and shares of the bookmarks whose ids `member` admits (`IN (…)`, or
/// [`in_page`]), as one JSON array of [`Related`] ([`read_related`] puts them in order of kind
/// and name). Timestamps come as text (the columns of a UNION share one type on PostgreSQL).
fn related_sql(db: &Db, member: &str) -> String {
    // SQLite sorted the aggregate's input in a temporary b-tree of whole JSON arrays: a third
    // of a list page's time in the database. Rust sorts them in the same (byte) order.
    let order = match db {
        Db::Sqlite(_) => "",
        Db::Postgres(_) => "r.kind, r.name",
    };
    format!(
        "SELECT {} FROM (\
         SELECT 't' AS kind, bt.bookmark_id AS item, t.id, t.name, CAST(t.created_at AS TEXT) AS a, \
                CAST(NULL AS TEXT) AS b \
           FROM bookmark_tags bt JOIN tags t ON t.id = bt.tag_id WHERE bt.bookmark_id {member} \
         UNION ALL SELECT 'f', bf.bookmark_id, f.id, f.name, f.icon, NULL \
           FROM bookmark_folders bf JOIN folders f ON f.id = bf.folder_id WHERE bf.bookmark_id {member} \
         UNION ALL SELECT 's', s.bookmark_id, t.id, t.name, t.description, CAST(t.created_at AS TEXT) \
           FROM bookmark_team_shares s JOIN teams t ON t.id = s.team_id WHERE s.bookmark_id {member} \
         UNION ALL SELECT 'u', s.bookmark_id, u.id, u.name, u.email, NULL \
           FROM bookmark_user_shares s JOIN users u ON u.id = s.user_id WHERE s.bookmark_id {member}) r",
        db.json_rows("r.kind, r.item, r.id, r.name, r.a, r.b", order)
    )
}

/// [`related_sql`]'s answer, by kind and name: PostgreSQL sorted it (in the database's
/// collation); SQLite's BINARY collation is byte order, which is how Rust compares strings.
fn read_related(db: &Db, json: &str) -> Result<Vec<Related>> {
    let mut related: Vec<Related> = from_json(json)?;
    if let Db::Sqlite(_) = db {
        related.sort_by(|x, y| (&x.0, &x.3).cmp(&(&y.0, &y.3)));
    }
    Ok(related)
}

/// Membership in the page `p` of the statement (a CTE). PostgreSQL cannot tell how many rows a
/// CTE holds and hash-joins whole link tables against it; an array of the ids lets it look each
/// one up in the link table's key instead.
fn in_page(db: &Db) -> &'static str {
    match db {
        Db::Sqlite(_) => "IN (SELECT id FROM p)",
        Db::Postgres(_) => "= ANY(ARRAY(SELECT id FROM p))",
    }
}

/// `rows` as bookmarks seen by `viewer`, with their `related` tags, folders and shares.
fn attach(viewer: &str, rows: Vec<BookmarkRow>, related: Vec<Related>) -> Vec<Bookmark> {
    let mut out: Vec<Bookmark> = rows.into_iter().map(|r| Bookmark::from_row(r, viewer)).collect();
    let index: HashMap<String, usize> = out.iter().enumerate().map(|(i, b)| (b.id.clone(), i)).collect();
    let ts = |t: Option<String>| t.as_deref().map(crate::db::Ts::parse_lenient);
    for (kind, bid, id, name, a, b) in related {
        let Some(&i) = index.get(&bid) else { continue };
        let b_ = &mut out[i];
        match kind.as_str() {
            "t" => b_.tags.push(TagRef {
                id,
                name,
                created_at: ts(a),
            }),
            "f" => b_.folders.push(FolderRef { id, name, icon: a }),
            "s" => b_.shared_teams.push(
                TeamShareRow {
                    item_id: bid,
                    id,
                    name,
                    description: a,
                    created_at: ts(b),
                }
                .team()
                .1,
            ),
            _ => b_.shared_users.push(UserRef {
                id,
                name,
                email: a.unwrap_or_default(),
            }),
        }
    }
    out
}

/// Counts one visit: access count and last-accessed time. Readers may call it (the counter is
/// shared by everyone who sees the bookmark).
pub async fn track_access(db: &Db, user_id: &str, id: &str) -> Result<bool> {
    if !crate::sharing::can_read_bookmark(db, user_id, id).await? {
        return Ok(false);
    }
    with_db!(db, pool => sqlx::query(
        "UPDATE bookmarks SET access_count = COALESCE(access_count, 0) + 1, last_accessed_at = $1 WHERE id = $2")
        .bind(crate::db::Ts::now()).bind(id).execute(pool).await?.rows_affected());
    Ok(true)
}

/// Caches `COUNT(*)` answers of list queries (and whether a user has incoming shares) for a
/// moment, bounded in entries. Any state-changing request handled by this instance clears it at
/// once, as does every change notification from another instance on PostgreSQL
/// ([`crate::db::changes`]); [`COUNT_TTL`] bounds what another process on a SQLite file changes.
#[derive(Default)]
pub struct CountCache {
    generation: std::sync::atomic::AtomicU64,
    map: std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, u64, i64)>>,
}

pub const COUNT_TTL: std::time::Duration = std::time::Duration::from_secs(2);

impl CountCache {
    pub fn get(&self, key: &str) -> Option<i64> {
        let g = self.generation.load(std::sync::atomic::Ordering::Acquire);
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key)
            .filter(|(at, gen, _)| *gen == g && at.elapsed() < COUNT_TTL)
            .map(|e| e.2)
    }

    pub fn put(&self, key: String, n: i64) {
        let g = self.generation.load(std::sync::atomic::Ordering::Acquire);
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            map.clear();
        }
        map.insert(key, (std::time::Instant::now(), g, n));
    }

    pub fn invalidate(&self) {
        self.generation.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// Whether anything is shared with `user` ([`has_incoming_shares`]), remembered like a
    /// count: a list or search of someone with no incoming shares reads their own rows only.
    pub async fn incoming_shares(&self, db: &Db, user: &str) -> Result<bool> {
        let key = format!("\u{2}incoming\u{1}{user}");
        if let Some(n) = self.get(&key) {
            return Ok(n != 0);
        }
        let yes = has_incoming_shares(db, user).await?;
        self.put(key, i64::from(yes));
        Ok(yes)
    }
}
