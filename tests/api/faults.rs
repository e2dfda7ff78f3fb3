//! Faults: the server killed in the middle of an import, its PostgreSQL server restarted under
//! load, and a full disk. Nothing half-written, nothing acknowledged lost, no 5xx once the
//! database is back. The server runs as a process of its own here (the binary Cargo built).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::Connection;

use crate::common::cluster::Cluster;
use crate::common::process::Server;
use crate::common::{drop_pg_database, fresh_pg_database, pg_admin_url, Backend};

const N: usize = 100_000;

pub(crate) fn payload(n: usize, tag: &str) -> Vec<u8> {
    let items: Vec<Value> = (0..n)
        .map(|i| {
            json!({"title": format!("{tag} entry {i}"), "url": format!("https://{tag}.example.com/{i}"),
                   "tag_names": [format!("t{}", i % 50)], "folder_names": [format!("F{}", i % 20)]})
        })
        .collect();
    serde_json::to_vec(&json!({ "bookmarks": items })).expect("payload")
}

pub(crate) fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Posts an import in the background; its answer (if the server lives to give one) is ignored.
pub(crate) fn start_import(base: &str, token: &str, body: Vec<u8>) -> tokio::task::JoinHandle<()> {
    let (url, auth) = (format!("{base}/api/bookmarks/import"), bearer(token));
    tokio::spawn(async move {
        let _ = reqwest::Client::new()
            .post(url)
            .header("authorization", auth)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
    })
}

async fn killed_mid_import(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (db, pg) = match backend {
        Backend::Sqlite => (dir.path().join("slugbase.db").display().to_string(), None),
        Backend::Postgres => {
            let Some(admin) = pg_admin_url() else { return };
            let (name, url) = fresh_pg_database(&admin).await;
            (url, Some((admin, name)))
        }
    };
    let server = Server::start(backend, &db, &[]).await;
    let token = server.admin_token().await;
    let upload = start_import(&server.base, &token, payload(N, "kill"));

    // Kill it once it is writing: the WAL grows (SQLite), or an insert runs (PostgreSQL).
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let writing = match backend {
            Backend::Sqlite => std::fs::metadata(format!("{db}-wal")).is_ok_and(|m| m.len() > 4 << 20),
            Backend::Postgres => {
                let mut c = sqlx::PgConnection::connect(&db).await.unwrap();
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
                     AND state = 'active' AND query ILIKE 'INSERT INTO bookmarks%'",
                )
                .fetch_one(&mut c)
                .await
                .unwrap();
                let _ = c.close().await;
                n > 0
            }
        };
        if writing {
            break;
        }
        assert!(Instant::now() < deadline, "the import never started writing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill();
    let _ = upload.await;

    // Started again on the same database: all of the import or none of it.
    let server = Server::start(backend, &db, &[]).await;
    let listed: Value = reqwest::Client::new()
        .get(format!("{}/api/bookmarks?limit=1", server.base))
        .header("authorization", bearer(&token))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let total = listed["total"].as_u64().unwrap();
    assert!(
        total == 0 || total == N as u64,
        "half an import survived: {total}"
    );
    server.stop();

    match backend {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{db}"))
                .await
                .unwrap();
            let check: String = sqlx::query_scalar("PRAGMA integrity_check")
                .fetch_one(&mut c)
                .await
                .unwrap();
            assert_eq!(check, "ok");
            // The full-text index matches its table.
            sqlx::query("INSERT INTO bookmarks_fts (bookmarks_fts) VALUES ('integrity-check')")
                .execute(&mut c)
                .await
                .expect("the full-text index is consistent");
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bookmarks")
                .fetch_one(&mut c)
                .await
                .unwrap();
            assert_eq!(n as u64, total);
            let _ = c.close().await;
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&db).await.unwrap();
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bookmarks")
                .fetch_one(&mut c)
                .await
                .unwrap();
            assert_eq!(n as u64, total);
            // Every index still agrees with its table (amcheck, where the server has it).
            if sqlx::query("CREATE EXTENSION IF NOT EXISTS amcheck")
                .execute(&mut c)
                .await
                .is_ok()
            {
                sqlx::query(
                    "SELECT bt_index_check(c.oid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                     JOIN pg_am am ON am.oid = c.relam WHERE am.amname = 'btree' \
                     AND c.relnamespace = 'public'::regnamespace",
                )
                .fetch_all(&mut c)
                .await
                .expect("the indexes are consistent");
            }
            let _ = c.close().await;
            if let Some((admin, name)) = pg {
                drop_pg_database(&admin, &name).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_import_leaves_all_or_none_sqlite() {
    killed_mid_import(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_import_leaves_all_or_none_postgres() {
    killed_mid_import(Backend::Postgres).await;
}

#[derive(Default)]
struct Tally {
    forwards: AtomicUsize,
    slow: AtomicUsize,
    bad: std::sync::Mutex<Vec<String>>,
}

/// PostgreSQL goes away under load and comes back: requests meanwhile fail fast with the 503
/// envelope, the server recovers by itself, and every forward it acknowledged is counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_under_load() {
    let Some(cluster) = tokio::task::spawn_blocking(Cluster::start).await.unwrap() else {
        return;
    };
    cluster.sql("postgres", "CREATE DATABASE slugbase").await;
    let server = Server::start(Backend::Postgres, &cluster.url("slugbase"), &[]).await;
    let token = server.admin_token().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = client
        .post(format!("{}/api/bookmarks", server.base))
        .header("authorization", bearer(&token))
        .json(&json!({"title": "Load", "url": "https://example.com/", "slug": "load", "forwarding_enabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);

    let tally = Arc::new(Tally::default());
    let down = Arc::new(AtomicBool::new(false));
    let recovered = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..4 {
        let (client, base, auth) = (client.clone(), server.base.clone(), bearer(&token));
        let (tally, down, recovered, stop) = (tally.clone(), down.clone(), recovered.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let path = if (i + w) % 2 == 0 {
                    "/go/load".to_string()
                } else {
                    format!("/api/bookmarks?offset={}", i % 3)
                };
                let started = Instant::now();
                let res = client
                    .get(format!("{base}{path}"))
                    .header("authorization", &auth)
                    .timeout(Duration::from_secs(30))
                    .send()
                    .await;
                let took = started.elapsed();
                let Ok(res) = res else {
                    tally.bad.lock().unwrap().push(format!("{path}: no answer"));
                    continue;
                };
                let status = res.status().as_u16();
                let body = res.text().await.unwrap_or_default();
                if status == 302 {
                    tally.forwards.fetch_add(1, Ordering::Relaxed);
                }
                if status >= 500 {
                    // The API answers with the JSON envelope; a go link is a page for browsers
                    // and says it in HTML.
                    let envelope = serde_json::from_str::<Value>(&body)
                        .ok()
                        .is_some_and(|v| v["code"].is_string())
                        || (path.starts_with("/go/") && body.contains("<title>Database unavailable</title>"));
                    if recovered.load(Ordering::Relaxed) {
                        tally
                            .bad
                            .lock()
                            .unwrap()
                            .push(format!("{path}: {status} after the recovery: {body}"));
                    } else if status != 503 || !envelope {
                        tally
                            .bad
                            .lock()
                            .unwrap()
                            .push(format!("{path}: {status} while down: {body}"));
                    }
                }
                if down.load(Ordering::Relaxed) && took > Duration::from_secs(8) {
                    tally.slow.fetch_add(1, Ordering::Relaxed);
                }
                if status < 500 && !(status == 302 || (200..300).contains(&status)) {
                    tally
                        .bad
                        .lock()
                        .unwrap()
                        .push(format!("{path}: {status}: {body}"));
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    down.store(true, Ordering::Relaxed);
    tokio::task::block_in_place(|| cluster.stop_server());
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Alive, but not ready: a load balancer takes this instance out while its database is gone.
    let ready = |client: reqwest::Client, base: String| async move {
        let res = client.get(format!("{base}/api/ready")).send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json::<Value>().await.unwrap())
    };
    let (status, v) = ready(client.clone(), server.base.clone()).await;
    assert_eq!((status, &v["code"]), (503, &json!("NOT_READY")), "{v}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    tokio::task::block_in_place(|| cluster.start_server());
    down.store(false, Ordering::Relaxed);

    // The server recovers by itself: a list answers again within seconds.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let res = client
            .get(format!("{}/api/bookmarks", server.base))
            .header("authorization", bearer(&token))
            .send()
            .await;
        if res.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not recover within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, v) = ready(client.clone(), server.base.clone()).await;
    assert_eq!((status, &v["status"]), (200, &json!("ready")), "{v}");
    // Requests that started while it was down may still be finishing; from here on, no 5xx.
    tokio::time::sleep(Duration::from_secs(1)).await;
    recovered.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let bad = tally.bad.lock().unwrap().clone();
    assert!(
        bad.is_empty(),
        "{} bad answers, e.g. {:?}",
        bad.len(),
        &bad[..bad.len().min(5)]
    );
    assert_eq!(
        tally.slow.load(Ordering::Relaxed),
        0,
        "requests while down fail fast"
    );

    // A graceful stop writes the last visits: every acknowledged forward is counted.
    tokio::task::block_in_place(|| server.stop());
    let mut c = sqlx::PgConnection::connect(&cluster.url("slugbase"))
        .await
        .unwrap();
    let counted: i64 =
        sqlx::query_scalar("SELECT CAST(access_count AS BIGINT) FROM bookmarks WHERE slug = 'load'")
            .fetch_one(&mut c)
            .await
            .unwrap();
    let _ = c.close().await;
    let forwards = tally.forwards.load(Ordering::Relaxed);
    assert!(forwards > 0, "the load forwarded");
    assert_eq!(
        counted as usize, forwards,
        "acknowledged forwards are all counted"
    );
}

/// A small file system of the test's own (tmpfs), or `None` when this machine lets no one mount
/// one — under `CI=true` that fails the test.
fn small_fs(size: &str) -> Option<tempfile::TempDir> {
    let dir = tempfile::tempdir().unwrap();
    let ok = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0777"), "tmpfs"])
        .arg(dir.path())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        let why = "cannot mount a small file system here (needs root)";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true but {why}");
        }
        eprintln!("skipping: {why}");
        return None;
    }
    Some(dir)
}

fn unmount(dir: &tempfile::TempDir) {
    let _ = std::process::Command::new("umount")
        .arg("-l")
        .arg(dir.path())
        .status();
}

/// Fills the database with imports until a write is refused, then checks the refusal, that
/// reads work, and that another write is refused the same way.
async fn fill_until_full(server: &Server, token: &str) {
    let client = reqwest::Client::new();
    let mut full = None;
    for round in 0..200 {
        let res = client
            .post(format!("{}/api/bookmarks/import", server.base))
            .header("authorization", bearer(token))
            .header("content-type", "application/json")
            .body(payload(5_000, &format!("fill{round}")))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let v: Value = res.json().await.unwrap_or(Value::Null);
        if status != 200 {
            full = Some((status, v));
            break;
        }
    }
    let (status, v) = full.expect("the disk filled up");
    assert_eq!((status, v["code"].as_str()), (507, Some("STORAGE_FULL")), "{v}");
    // Reads keep working.
    let res = client
        .get(format!("{}/api/bookmarks?limit=5", server.base))
        .header("authorization", bearer(token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // A single write is refused with the envelope, not a 500.
    let res = client
        .post(format!("{}/api/bookmarks/import", server.base))
        .header("authorization", bearer(token))
        .header("content-type", "application/json")
        .body(payload(5_000, "more"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 507);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_and_keeps_reads_sqlite() {
    let Some(fs) = small_fs("6m") else { return };
    let db = fs.path().join("slugbase.db").display().to_string();
    let server = Server::start(Backend::Sqlite, &db, &[]).await;
    let token = server.admin_token().await;
    fill_until_full(&server, &token).await;
    server.stop();
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{db}"))
        .await
        .unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(check, "ok");
    let _ = c.close().await;
    unmount(&fs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_and_keeps_reads_postgres() {
    let Some(fs) = small_fs("24m") else { return };
    let Some(cluster) = tokio::task::spawn_blocking(Cluster::start).await.unwrap() else {
        unmount(&fs);
        return;
    };
    // The database's files live on the small file system; the server's log does not.
    let space = fs.path().join("space");
    std::fs::create_dir(&space).unwrap();
    let _ = std::process::Command::new("chown")
        .args(["postgres:postgres"])
        .arg(&space)
        .status();
    // Each statement on its own: neither may run inside a transaction block.
    let tablespace = format!("CREATE TABLESPACE small LOCATION '{}'", space.display());
    cluster.sql("postgres", &tablespace).await;
    cluster
        .sql("postgres", "CREATE DATABASE slugbase TABLESPACE small")
        .await;
    let server = Server::start(Backend::Postgres, &cluster.url("slugbase"), &[]).await;
    let token = server.admin_token().await;
    fill_until_full(&server, &token).await;
    server.stop();
    drop(cluster);
    unmount(&fs);
}
