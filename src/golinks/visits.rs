//! Go-link visits: counted in memory per thread, written once a second in chunks.

use hashbrown::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::table::UserLinks;
use crate::db::{Db, Ts};
use crate::error::{Error, Result};
use crate::with_tx;

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
    use super::super::table::tests::table;
    use super::*;
    use std::time::Duration;

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
}
