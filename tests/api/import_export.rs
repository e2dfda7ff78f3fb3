//! Import and export: the original's JSON, browser bookmark files (Netscape HTML), CSV, round trips.

use crate::common::{body, expect_error, sign_in_admin, Backend, TestApp};
use serde_json::{json, Value};
use slugbase::with_db;

const FIREFOX: &str = include_str!("../fixtures/firefox-bookmarks.html");

async fn count(app: &TestApp, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    with_db!(&app.state.db, pool => sqlx::query_scalar::<_, i64>(&sql).fetch_one(pool).await.unwrap())
}

async fn import_raw(
    app: &TestApp,
    query: &str,
    content_type: &str,
    data: impl Into<reqwest::Body>,
) -> (u16, Value) {
    let res = app
        .write(reqwest::Method::POST, &format!("/api/bookmarks/import{query}"))
        .await
        .header("content-type", content_type)
        .body(data)
        .send()
        .await
        .unwrap();
    body(res).await
}

async fn export(app: &TestApp, format: &str) -> String {
    let res = app
        .get(&format!("/api/bookmarks/export?format={format}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let cd = res
        .headers()
        .get("content-disposition")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cd.starts_with("attachment; filename=\"slugbase-bookmarks-"),
        "{cd}"
    );
    res.text().await.unwrap()
}

async fn original_json_import(app: TestApp) {
    sign_in_admin(&app).await;
    let (s, v) = crate::common::create(
        &app,
        "/api/bookmarks/import",
        json!({"bookmarks": [
            {"title": "Docs", "url": "https://docs.example", "slug": "docs", "forwarding_enabled": true,
             "pinned": true, "folder_names": ["Work", " Work "], "tag_names": ["ref", "docs"]},
            {"url": "https://no-title.example"},
            {"title": "Evil", "url": "javascript:alert(1)"},
            {"title": "Bad slug", "url": "https://bad-slug.example", "slug": "no spaces", "forwarding_enabled": true},
        ]}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["success"], 2);
    assert_eq!(v["failed"], 2);
    assert_eq!(v["errors"], json!(["Missing title or URL", "Invalid URL"]));
    assert_eq!(v["message"], "Imported 2 bookmark(s), 2 failed");
    assert_eq!(v["failures"][0]["position"], 2);
    assert_eq!(v["failures"][1]["position"], 3);
    let (_, list) = app.get_json("/api/bookmarks?sort_by=alphabetical").await;
    let bad = &list["items"][0];
    assert_eq!(bad["title"], "Bad slug");
    assert_eq!(
        (bad["slug"].as_str(), bad["forwarding_enabled"].as_bool()),
        (Some(""), Some(false)),
        "no forwarding without slug"
    );
    let docs = &list["items"][1];
    assert_eq!(docs["slug"], "docs");
    assert_eq!(docs["pinned"], true);
    assert_eq!(docs["folders"][0]["name"], "Work");
    assert_eq!(docs["tags"].as_array().unwrap().len(), 2);
    assert_eq!(count(&app, "folders").await, 1, "one folder for both spellings");

    let (s, v) = crate::common::create(&app, "/api/bookmarks/import", json!({"bookmarks": "nope"})).await;
    assert_eq!(s, 400);
    assert_eq!(v["error"], "Invalid import data: expected array of bookmarks");
}

async fn browser_file_with_nested_folders(app: TestApp) {
    sign_in_admin(&app).await;
    let (s, v) = import_raw(&app, "", "text/html", FIREFOX).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["success"], 8, "{v}");
    assert_eq!(v["failed"], 2);
    let positions: Vec<i64> = v["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["position"].as_i64().unwrap())
        .collect();
    assert_eq!(
        positions,
        vec![5, 6],
        "the bookmarklet and the place: link, by position"
    );
    assert!(v["failures"][0]["line"].as_i64().unwrap() > 10);
    assert_eq!(v["folders_created"], 3);
    assert_eq!(v["tags_created"], 6);

    let (_, folders) = app.get_json("/api/folders").await;
    let mut names: Vec<&str> = folders
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["Bookmarks Toolbar", "Development", "Development / Rust"]);
    let (_, rust) = app.get_json("/api/bookmarks?q=rust%20programming").await;
    let b = &rust["items"][0];
    assert_eq!(b["slug"], "rustlang", "Firefox keyword becomes the slug");
    assert_eq!(b["forwarding_enabled"], true);
    assert_eq!(
        b["created_at"], "2023-07-22T04:30:00.000Z",
        "ADD_DATE kept (1690000200)"
    );
    assert_eq!(b["folders"][0]["name"], "Development / Rust");
    let tags: Vec<&str> = b["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["lang", "rust"]);
    let (_, std) = app.get_json("/api/bookmarks?q=standard%20library").await;
    assert_eq!(
        std["items"][0]["description"],
        "The standard library documentation"
    );
    let (_, tom) = app.get_json("/api/bookmarks?q=jerry").await;
    assert_eq!(tom["items"][0]["title"], "Tom & Jerry's page");
    let (_, jp) = app.get_json("/api/bookmarks?q=日本語のページ").await;
    assert_eq!(jp["total"], 1, "{jp}");

    // The same file again, skipping duplicates: nothing new.
    let (_, v) = import_raw(&app, "?duplicates=skip", "text/html", FIREFOX).await;
    assert_eq!((v["success"].as_i64(), v["skipped"].as_i64()), (Some(0), Some(8)));
}

async fn multipart_upload_and_dry_run(app: TestApp) {
    sign_in_admin(&app).await;
    let part = reqwest::multipart::Part::bytes(FIREFOX.as_bytes().to_vec())
        .file_name("bookmarks.html")
        .mime_str("text/html")
        .unwrap();
    let form = reqwest::multipart::Form::new().part("file", part);
    let res = app
        .write(reqwest::Method::POST, "/api/bookmarks/import?dry_run=true")
        .await
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (s, v) = body(res).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["success"].as_i64(), v["dry_run"].as_bool()),
        (Some(8), Some(true))
    );
    assert_eq!(count(&app, "bookmarks").await, 0, "a dry run writes nothing");
    assert_eq!(count(&app, "folders").await, 0);

    let part = reqwest::multipart::Part::bytes(FIREFOX.as_bytes().to_vec()).file_name("bookmarks.html");
    let res = app
        .write(reqwest::Method::POST, "/api/bookmarks/import")
        .await
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(body(res).await.1["success"], 8);
    assert_eq!(count(&app, "bookmarks").await, 8);
}

async fn cut_off_file_writes_nothing_and_says_where(app: TestApp) {
    sign_in_admin(&app).await;
    let cut = &FIREFOX[..FIREFOX.find("crates.io: Rust").unwrap()];
    let (s, v) = import_raw(&app, "", "text/html", cut.to_string()).await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["code"], "INVALID_IMPORT_FILE");
    let msg = v["error"].as_str().unwrap();
    assert!(msg.contains("line") && msg.contains("cut off"), "{msg}");
    assert_eq!(count(&app, "bookmarks").await, 0);
    assert_eq!(count(&app, "folders").await, 0);
    let (s, v) = import_raw(&app, "", "text/html", "just some text").await;
    assert_eq!((s, v["code"].as_str()), (400, Some("INVALID_IMPORT_FILE")));
}

async fn missing_closing_tags_are_tolerated_and_reported(app: TestApp) {
    sign_in_admin(&app).await;
    // A hand-kept file whose last `</DL>`s are missing: every entry is complete.
    let end = FIREFOX.rfind("</DL>").unwrap();
    let (s, v) = import_raw(&app, "", "text/html", FIREFOX[..end].to_string()).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["success"], 8, "{v}");
    let warnings = v["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{v}");
    assert!(warnings[0].as_str().unwrap().contains("</DL>"), "{v}");
    assert_eq!(count(&app, "bookmarks").await, 8);
    // A complete file has nothing to report.
    let (s, v) = import_raw(&app, "?duplicates=skip", "text/html", FIREFOX).await;
    assert_eq!((s, v["warnings"].as_array().map(Vec::len)), (200, Some(0)), "{v}");
}

async fn an_ordinary_web_page_is_not_imported(app: TestApp) {
    sign_in_admin(&app).await;
    let page = "<!DOCTYPE html>\n<html><head><title>How we build things</title></head><body>\n\
        <nav><a href=\"https://blog.example/\">Home</a> <a href=\"https://blog.example/archive\">Archive</a></nav>\n\
        <article><h1>How we build things</h1>\n\
        <p>We use <a href=\"https://www.rust-lang.org/\">Rust</a> and \
        <a href=\"https://www.postgresql.org/\">PostgreSQL</a>.</p></article></body></html>\n";
    let (s, v) = import_raw(&app, "", "text/html", page).await;
    assert_eq!((s, v["code"].as_str()), (400, Some("NOT_A_BOOKMARK_FILE")), "{v}");
    assert_eq!(count(&app, "bookmarks").await, 0);
    assert_eq!(count(&app, "folders").await, 0);
    // The same through the upload form field.
    let part = reqwest::multipart::Part::bytes(page.as_bytes().to_vec()).file_name("article.html");
    let res = app
        .write(reqwest::Method::POST, "/api/bookmarks/import")
        .await
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    let (s, v) = body(res).await;
    assert_eq!((s, v["code"].as_str()), (400, Some("NOT_A_BOOKMARK_FILE")), "{v}");
    assert_eq!(count(&app, "bookmarks").await, 0);
    // An export without the doctype but with the structure is still a bookmark file.
    let bare =
        "<DL><p>\n<DT><A HREF=\"https://example.com/\" ADD_DATE=\"1700000000\">Example</A>\n</DL><p>\n";
    let (s, v) = import_raw(&app, "", "text/html", bare).await;
    assert_eq!((s, v["success"].as_i64()), (200, Some(1)), "{v}");
}

fn thousand_entries_with_a_bookmarklet() -> String {
    let mut html = String::from("<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<TITLE>Bookmarks</TITLE>\n<DL><p>\n");
    for i in 1..=1000 {
        if i == 500 {
            html.push_str("<DT><A HREF=\"javascript:void(0)\" ADD_DATE=\"1700000000\">Bookmarklet</A>\n");
        } else {
            html.push_str(&format!(
                "<DT><A HREF=\"https://site{i}.example/\" ADD_DATE=\"{}\">Site {i}</A>\n",
                1_700_000_000 + i
            ));
        }
    }
    html.push_str("</DL><p>\n");
    html
}

async fn one_bad_entry_in_a_thousand(app: TestApp) {
    sign_in_admin(&app).await;
    let html = thousand_entries_with_a_bookmarklet();
    let (s, v) = import_raw(&app, "?strict=true", "text/html", html.clone()).await;
    assert_eq!((s, v["code"].as_str()), (400, Some("IMPORT_REJECTED")), "{v}");
    assert!(
        v["details"][0]["message"].as_str().unwrap().contains("entry 500"),
        "{v}"
    );
    assert_eq!(count(&app, "bookmarks").await, 0, "strict: nothing written");
    let (s, v) = import_raw(&app, "", "text/html", html).await;
    assert_eq!(s, 200);
    assert_eq!(
        (v["success"].as_i64(), v["failed"].as_i64()),
        (Some(999), Some(1))
    );
    assert_eq!(v["failures"][0]["position"], 500);
    assert_eq!(count(&app, "bookmarks").await, 999);
}

/// A collection with every field, created through the JSON import with distinct dates.
fn collection() -> Value {
    json!([
        {"title": "Alpha", "url": "https://alpha.example/?q=1&r=2", "slug": "alpha", "forwarding_enabled": true,
         "pinned": true, "description": "First\nsecond line", "folder_names": ["Work", "Reading"],
         "tag_names": ["a", "b"], "created_at": "2026-01-03T10:00:00.000Z"},
        {"title": "Beta \"quoted\" & <b>", "url": "https://beta.example/ü", "slug": "", "forwarding_enabled": false,
         "pinned": false, "folder_names": ["Reading"], "tag_names": [], "created_at": "2026-01-02T10:00:00.000Z"},
        {"title": "Γάμμα 日本 🎌", "url": "https://gamma.example", "slug": "gamma", "forwarding_enabled": false,
         "pinned": false, "folder_names": [], "tag_names": ["ü-tag"], "created_at": "2026-01-01T10:00:00.000Z"}
    ])
}

async fn round_trips(app: TestApp) {
    sign_in_admin(&app).await;
    let (s, v) = crate::common::create(&app, "/api/bookmarks/import", collection()).await;
    assert_eq!((s, v["success"].as_i64()), (200, Some(3)), "{v}");
    app.post_json(
        &format!(
            "/api/bookmarks/{}/track-access",
            app.get_json("/api/bookmarks").await.1["items"][0]["id"]
                .as_str()
                .unwrap()
        ),
        json!({}),
    )
    .await;
    let json1 = export(&app, "json").await;
    let html1 = export(&app, "html").await;
    let csv1 = export(&app, "csv").await;
    let parsed: Value = serde_json::from_str(&json1).unwrap();
    assert_eq!(parsed.as_array().unwrap().len(), 3);
    assert_eq!(parsed[0]["folder_names"], json!(["Reading", "Work"]));
    assert!(html1.contains("<!DOCTYPE NETSCAPE-Bookmark-file-1>"));
    assert!(csv1.starts_with("title,url,slug"));

    // Each format into a fresh instance, then exported again: the same collection.
    for (format, content_type, data) in [
        ("json", "application/json", json1.clone()),
        ("html", "text/html", html1.clone()),
        ("csv", "text/csv", csv1.clone()),
    ] {
        let fresh = TestApp::spawn_with(app.backend, &[]).await.unwrap();
        sign_in_admin(&fresh).await;
        let (s, v) = import_raw(&fresh, "", content_type, data.clone()).await;
        assert_eq!(
            (s, v["success"].as_i64(), v["failed"].as_i64()),
            (200, Some(3), Some(0)),
            "{format}: {v}"
        );
        let again = export(&fresh, format).await;
        assert_eq!(again, data, "{format} round trip");
        fresh.finish().await;
    }
}

async fn unsupported_bodies(app: TestApp) {
    sign_in_admin(&app).await;
    let (s, v) = import_raw(&app, "", "application/xml", "<x/>").await;
    assert_eq!((s, v["code"].as_str()), (415, Some("UNSUPPORTED_MEDIA_TYPE")));
    let (s, _) = import_raw(&app, "?duplicates=maybe", "application/json", "[]").await;
    assert_eq!(s, 400);
    let res = app.get("/api/bookmarks/export?format=pdf").send().await.unwrap();
    expect_error(res, 400, "VALIDATION_ERROR").await;
}

/// After a large import PostgreSQL plans with fresh statistics: the import has the tables
/// analysed (in the background) rather than leaving it to autovacuum.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_import_refreshes_the_planners_statistics() {
    let Some(app) = TestApp::try_spawn(Backend::Postgres, &[]).await else {
        return;
    };
    sign_in_admin(&app).await;
    let analysed = || async {
        with_db!(&app.state.db, pool => sqlx::query_scalar::<_, i64>(
            "SELECT COALESCE(analyze_count + autoanalyze_count, 0) FROM pg_stat_user_tables WHERE relname = 'bookmarks'")
            .fetch_one(pool).await.unwrap())
    };
    let before = analysed().await;
    let rows: Vec<Value> = (0..1_000)
        .map(|i| json!({"title": format!("b{i}"), "url": format!("https://b{i}.example/")}))
        .collect();
    let (s, v) = body(
        app.post_json("/api/bookmarks/import", json!({"bookmarks": rows}))
            .await,
    )
    .await;
    assert_eq!((s, v["success"].as_i64()), (200, Some(1_000)), "{v}");
    let started = std::time::Instant::now();
    while analysed().await == before {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "bookmarks not analysed after the import"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app.finish().await;
}

on_both_backends!(
    original_json_import,
    browser_file_with_nested_folders,
    multipart_upload_and_dry_run,
    cut_off_file_writes_nothing_and_says_where,
    missing_closing_tags_are_tolerated_and_reported,
    an_ordinary_web_page_is_not_imported,
    one_bad_entry_in_a_thousand,
    round_trips,
    unsupported_bodies,
);

#[tokio::test]
async fn import_size_limit_is_configurable() {
    let app = TestApp::spawn_with(Backend::Sqlite, &[("IMPORT_MAX_BYTES", "1000")])
        .await
        .unwrap();
    sign_in_admin(&app).await;
    let (s, v) = import_raw(&app, "", "text/html", FIREFOX).await;
    assert_eq!((s, v["code"].as_str()), (413, Some("PAYLOAD_TOO_LARGE")), "{v}");
    app.finish().await;
}
