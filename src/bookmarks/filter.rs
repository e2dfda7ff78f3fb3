//! A list filter turned into SQL: the scope, folder, tags, pin, link status and full-text
//! conditions, and the `FROM` each kind of page reads from. [`super::query`] runs them.

use super::query::CountCache;
use super::{ListFilter, Sort};
use crate::db::params::{escape_like, Params};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::sharing::{readable_sql, shared_ids_sql, Scope};
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

/// A filter turned into SQL: the conditions, the order and the parameters.
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
    pub(super) fn own_unfiltered(&self) -> bool {
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
    pub(super) fn late_source(
        &self,
        db: &Db,
        offset: i64,
        lim: &str,
        off: &str,
    ) -> Option<(String, String, String)> {
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
    pub(super) fn matches_first(&self, db: &Db) -> Option<String> {
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
    pub(super) fn count_sql(&self) -> String {
        match &self.fts {
            Some(m) => format!(
                "SELECT COUNT(*) FROM (SELECT rowid AS fts_rowid FROM bookmarks_fts WHERE bookmarks_fts MATCH {m}) fts \
                 CROSS JOIN bookmarks b ON b.rowid = fts.fts_rowid WHERE {}",
                joined(self.scoped())
            ),
            None => format!("SELECT COUNT(*) FROM bookmarks b WHERE {}", self.where_sql()),
        }
    }

    /// The conditions with the scope's sharing rule (when it is not a merged page), without
    /// the full-text match.
    fn scoped(&self) -> Vec<String> {
        let mut conds = self.conds.clone();
        if let Some(u) = &self.shared_with {
            conds.push(readable_sql(u));
        }
        conds
    }

    /// The conditions, including the scope and the full-text match.
    pub(super) fn where_sql(&self) -> String {
        self.with_match(self.scoped())
    }

    /// `conds` and the full-text match, joined.
    pub(super) fn with_match(&self, mut conds: Vec<String>) -> String {
        if let Some(m) = &self.fts {
            conds.push(format!(
                "b.rowid IN (SELECT rowid FROM bookmarks_fts WHERE bookmarks_fts MATCH {m})"
            ));
        }
        joined(conds)
    }

    /// `FROM …`, the rank column and the conditions for a page that needs at most `upto` rows.
    /// SQLite ranked by relevance: the best `top` full-text matches first (the index ranks
    /// them; `CROSS JOIN` keeps SQLite's planner from walking all of the user's bookmarks and
    /// probing each against the matches instead: 80 ms rather than 9 in 1,000,000), then the
    /// other conditions; `None` ranks every match. Scope "all" of a user with
    /// incoming shares, in any other order: the first `upto` of the user's own bookmarks (their
    /// index, in order) and the first `upto` of those shared with them (found through the share
    /// tables), merged — not every bookmark of the instance tested against the sharing rule.
    pub(super) fn page_source(&self, top: Option<&str>, upto: &str) -> (String, String, String) {
        match (&self.fts, self.sort, &self.shared_with) {
            (Some(m), Sort::Relevance, _) => {
                let limit = top.map(|k| format!(" LIMIT {k}")).unwrap_or_default();
                let from = format!(
                    "(SELECT rowid AS fts_rowid, rank AS search_rank FROM bookmarks_fts WHERE bookmarks_fts MATCH {m} \
                     ORDER BY rank{limit}) fts CROSS JOIN bookmarks b ON b.rowid = fts.fts_rowid"
                );
                (from, ", fts.search_rank".into(), joined(self.scoped()))
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

/// Conditions joined with AND; none is `TRUE`.
fn joined(conds: Vec<String>) -> String {
    if conds.is_empty() {
        "TRUE".into()
    } else {
        conds.join(" AND ")
    }
}
