//! Reading bookmarks: list pages and their totals, the palette's best matches, single
//! bookmarks, and the tags, folders and shares that come with them. The filters' SQL is
//! [`super::filter`]'s.

use std::collections::HashMap;

use super::filter::Filter;
use super::model::*;
use super::{ListFilter, Sort};
use crate::db::params::Params;
use crate::db::{from_json, Db};
use crate::error::Result;
use crate::sharing::{has_incoming_shares, readable_sql, TeamShareRow, UserRef};
use crate::{bind_params, with_db};

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
