//! `slugbase backup` and `slugbase restore` on SQLite, through the binary: a copy taken while an
//! import is writing is whole and consistent; restore is refused while a server runs and puts
//! the copy back once it is stopped.

use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use super::faults::{bearer, payload, start_import};
use crate::common::process::{cli, Server};
use crate::common::Backend;

const N: usize = 20_000;

async fn total(base: &str, token: &str) -> u64 {
    let v: Value = reqwest::Client::new()
        .get(format!("{base}/api/bookmarks?limit=1"))
        .header("authorization", bearer(token))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["total"].as_u64().unwrap()
}

/// (integrity_check, bookmarks) of a database file, opened read-only.
async fn inspect(file: &std::path::Path) -> (String, i64) {
    let mut c = SqliteConnectOptions::new()
        .filename(file)
        .read_only(true)
        .connect()
        .await
        .unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut c)
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bookmarks")
        .fetch_one(&mut c)
        .await
        .unwrap();
    let _ = c.close().await;
    (check, n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_while_importing_then_restore_once_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("slugbase.db");
    let server = Server::start(Backend::Sqlite, &db.display().to_string(), &[]).await;
    let env = server.env();
    let token = server.admin_token().await;
    let before = total(&server.base, &token).await;
    let upload = start_import(&server.base, &token, payload(N, "backup"));
    let deadline = Instant::now() + Duration::from_secs(120);
    while !std::fs::metadata(format!("{}-wal", db.display())).is_ok_and(|m| m.len() > 1 << 20) {
        assert!(Instant::now() < deadline, "the import never started writing");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Taken while the import writes: a whole database holding all of it or none of it.
    let copy = dir.path().join("copy.db");
    let out = tokio::task::spawn_blocking({
        let (env, copy) = (env.clone(), copy.clone());
        move || cli(&env, &["backup", copy.to_str().unwrap()])
    })
    .await
    .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("backed up") && said.contains("bookmarks"), "{said}");
    let (check, in_copy) = inspect(&copy).await;
    assert_eq!(check, "ok");
    assert!(
        in_copy as u64 == before || in_copy as u64 == before + N as u64,
        "a consistent count: {in_copy}"
    );
    assert!(!dir.path().join("copy.db.partial").exists());
    upload.await.unwrap();
    assert_eq!(total(&server.base, &token).await, before + N as u64);

    // An existing file is never overwritten.
    let again = cli(&env, &["backup", copy.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));

    // Refused while the server runs; the live database is untouched.
    let refused = cli(&env, &["restore", copy.to_str().unwrap()]);
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr).to_string();
    assert!(why.contains("running") && why.contains("stop it"), "{why}");
    assert_eq!(total(&server.base, &token).await, before + N as u64);

    // Stopped, the copy goes back; what it replaced is kept.
    tokio::task::block_in_place(|| server.stop());
    let done = cli(&env, &["restore", copy.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&done.stdout).to_string();
    assert!(
        done.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(said.contains("kept as"), "{said}");
    let kept: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("slugbase.db.before-restore-")
        })
        .collect();
    assert!(!kept.is_empty(), "the replaced database is kept");
    let server = Server::start(Backend::Sqlite, &db.display().to_string(), &[]).await;
    assert_eq!(total(&server.base, &token).await, in_copy as u64);
    tokio::task::block_in_place(|| server.stop());

    // Not a database: refused, nothing replaced.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database").unwrap();
    let bad = cli(&env, &["restore", junk.to_str().unwrap()]);
    assert!(!bad.status.success());
    assert_eq!(inspect(&db).await.1, in_copy);
}

/// `BACKUP_DIR` + `BACKUP_INTERVAL` + `BACKUP_KEEP`: checked copies on a schedule, the newest kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_backups_keep_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("backups");
    let folder_s = folder.display().to_string();
    let app = crate::common::TestApp::spawn_with(
        Backend::Sqlite,
        &[
            ("BACKUP_DIR", folder_s.as_str()),
            ("BACKUP_INTERVAL", "1s"),
            ("BACKUP_KEEP", "2"),
        ],
    )
    .await
    .unwrap();
    crate::common::sign_in_admin(&app).await;
    let copies = || -> Vec<std::path::PathBuf> {
        let mut v: Vec<_> = std::fs::read_dir(&folder)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        v.sort();
        v
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = std::collections::HashSet::new();
    while seen.len() < 4 {
        seen.extend(copies());
        assert!(Instant::now() < deadline, "copies so far: {seen:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let kept = copies();
    assert!(kept.len() <= 2, "only the newest two are kept: {kept:?}");
    for copy in kept.iter().filter(|p| p.extension().is_some_and(|e| e == "db")) {
        let (check, _) = inspect(copy).await;
        assert_eq!(check, "ok", "{}", copy.display());
    }
    app.finish().await;
}
