//! Go links: forwarding, login redirect, collisions and remembered choices, search-box and
//! parameterised links, access counting, preferences API, dashboard, OpenSearch.

use crate::common::{create, expect_error, sign_in_admin, sign_in_user, Backend, TestApp};
use serde_json::{json, Value};

async fn bookmark(app: &TestApp, title: &str, url: &str, slug: &str, forwarding: bool) -> Value {
    let (s, v) = create(
        app,
        "/api/bookmarks",
        json!({"title": title, "url": url, "slug": slug, "forwarding_enabled": forwarding}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    v
}

async fn go(app: &TestApp, path: &str) -> reqwest::Response {
    app.get(path).send().await.unwrap()
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

async fn forwarding_basics(app: TestApp) {
    sign_in_admin(&app).await;
    bookmark(&app, "GitHub", "https://github.com", "gh", true).await;
    bookmark(&app, "Off", "https://off.example", "off", false).await;

    let res = go(&app, "/go/gh").await;
    assert_eq!(res.status(), 302);
    assert_eq!(location(&res), "https://github.com");
    assert_eq!(res.headers().get("cache-control").unwrap(), "no-store");

    let res = go(&app, "/go/off").await;
    assert_eq!(res.status(), 404, "forwarding disabled");
    let res = go(&app, "/go/nope").await;
    assert_eq!(res.status(), 404);
    assert!(res
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = res.text().await.unwrap();
    assert!(
        html.contains("/bookmarks?new=1&amp;slug=nope"),
        "offers to create the link: {html}"
    );
    let res = go(&app, "/go/bad.slug").await;
    assert_eq!(res.status(), 400);
    // HTML in a slug is escaped in the page, never executed.
    let res = go(&app, "/go/%3Cscript%3E").await;
    assert_eq!(res.status(), 400);
    assert!(!res.text().await.unwrap().contains("<script>"));

    // Case-insensitive when there is no exact match.
    let res = go(&app, "/go/GH").await;
    assert_eq!(location(&res), "https://github.com");

    // Anonymous visitors go to the login page, with the way back kept.
    let anon = app.other_client();
    let res = go(&anon, "/go/gh/issues?q=is%3Aopen").await;
    assert_eq!(res.status(), 302);
    assert_eq!(
        location(&res),
        "/login?redirect=%2Fgo%2Fgh%2Fissues%3Fq%3Dis%253Aopen",
        "a local path only"
    );

    // Scripts and CLIs use personal API tokens.
    let (_, t) = create(&app, "/api/tokens", json!({"name": "cli"})).await;
    let res = crate::common::new_client()
        .get(app.url("/go/gh"))
        .bearer_auth(t["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        (res.status().as_u16(), location(&res)),
        (302, "https://github.com".to_string())
    );
}

async fn search_box_and_parameterised_links(app: TestApp) {
    sign_in_admin(&app).await;
    bookmark(&app, "GitHub", "https://github.com", "gh", true).await;
    bookmark(
        &app,
        "Search",
        "https://search.example/find?q=%s&lang=en",
        "s",
        true,
    )
    .await;
    bookmark(&app, "Repo", "https://code.example/{path}/issues", "repo", true).await;
    bookmark(&app, "Docs", "https://docs.example/base/", "docs", true).await;

    for (path, expected) in [
        // Extra path appended.
        ("/go/gh/rust-lang/rust", "https://github.com/rust-lang/rust"),
        // The request's query string is passed on.
        (
            "/go/gh/rust-lang/rust?tab=readme",
            "https://github.com/rust-lang/rust?tab=readme",
        ),
        // Browser search box: first word is the slug, the rest follows.
        ("/go/gh%20rust-lang%20rust", "https://github.com/rust-lang/rust"),
        ("/go/gh+rust-lang", "https://github.com/rust-lang"),
        // %s takes the rest as one encoded value.
        (
            "/go/s%20hello%20world",
            "https://search.example/find?q=hello%20world&lang=en",
        ),
        ("/go/s/a&b=c", "https://search.example/find?q=a%26b%3Dc&lang=en"),
        ("/go/s", "https://search.example/find?q=&lang=en"),
        // {path} takes segments, each encoded.
        (
            "/go/repo/team/project",
            "https://code.example/team/project/issues",
        ),
        ("/go/repo/a%3Fb", "https://code.example/a%3Fb/issues"),
        // Encoding, empty rest, dot segments, double slashes.
        ("/go/docs/a%20b", "https://docs.example/base/a%20b"),
        ("/go/docs/", "https://docs.example/base/"),
        ("/go/docs//x//y", "https://docs.example/base/x/y"),
    ] {
        let res = go(&app, path).await;
        assert_eq!(res.status(), 302, "{path}");
        assert_eq!(location(&res), expected, "{path}");
    }
}

async fn dot_segments_cannot_climb(app: TestApp) {
    sign_in_admin(&app).await;
    bookmark(&app, "Docs", "https://docs.example/base/", "docs", true).await;
    let res = app
        .post("/api/auth/login")
        .json(&json!({"email": crate::common::ADMIN_EMAIL, "password": crate::common::PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .find(|c| c.starts_with("token="))
        .unwrap();
    for path in [
        "/go/docs/../../secret",
        "/go/docs/%2e%2e/%2E%2E/secret",
        "/go/docs/./secret",
    ] {
        // Sent as written (HTTP clients and browsers would normalise `..` away).
        let answer = app
            .raw_request(&format!(
                "GET {path} HTTP/1.1\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
            ))
            .await;
        assert!(answer.starts_with("HTTP/1.1 302"), "{path}: {answer}");
        assert!(
            answer
                .to_lowercase()
                .contains("location: https://docs.example/base/secret\r\n"),
            "{path}: {answer}"
        );
    }
}

async fn collisions_and_remembered_choice(app: TestApp) {
    sign_in_admin(&app).await;
    let bob = sign_in_user(&app, "bob@example.com", "Bob").await;
    let (_, users) = app.get_json("/api/users/for-sharing").await;
    let bob_id = users[0]["id"].as_str().unwrap().to_string();
    // The admin's "Wiki", shared with bob, and bob's own "wiki": both answer /go/WIKI.
    let (_, shared) = create(
        &app,
        "/api/bookmarks",
        json!({"title": "Team wiki", "url": "https://team.example/wiki", "slug": "Wiki", "forwarding_enabled": true, "user_ids": [bob_id]}),
    )
    .await;
    let own = bookmark(&bob, "My wiki", "https://me.example/wiki", "wiki", true).await;

    // Exact matches win.
    assert_eq!(location(&go(&bob, "/go/wiki").await), "https://me.example/wiki");
    assert_eq!(
        location(&go(&bob, "/go/Wiki").await),
        "https://team.example/wiki",
        "shared slugs resolve too"
    );
    // No exact match, two case-insensitive ones: a choice page.
    let res = go(&bob, "/go/WIKI").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Team wiki") && html.contains("My wiki") && html.contains("Admin"),
        "{html}"
    );
    let remember = format!("/go/WIKI/remember/{}", shared["id"].as_str().unwrap());
    assert!(html.contains(&remember), "{html}");
    let res = go(&bob, &remember).await;
    assert_eq!(location(&res), "https://team.example/wiki");
    // The choice is remembered.
    assert_eq!(location(&go(&bob, "/go/WIKI").await), "https://team.example/wiki");
    let (_, prefs) = bob.get_json("/api/go/preferences").await;
    assert_eq!(prefs[0]["slug"], "WIKI");
    assert_eq!(prefs[0]["workspace"], "Admin");

    // Preferences API.
    let (s, v) = create(
        &bob,
        "/api/go/preferences",
        json!({"slug": "WIKI", "bookmark_id": own["id"]}),
    )
    .await;
    assert_eq!((s, &v["bookmark_id"]), (201, &own["id"]));
    assert_eq!(location(&go(&bob, "/go/WIKI").await), "https://me.example/wiki");
    let v = expect_error(
        bob.post_json("/api/go/preferences", json!({"slug": "WIKI"}))
            .await,
        400,
        "VALIDATION_ERROR",
    )
    .await;
    assert_eq!(v["error"], "slug and bookmark_id are required");
    expect_error(
        bob.post_json(
            "/api/go/preferences",
            json!({"slug": "other", "bookmark_id": own["id"]}),
        )
        .await,
        404,
        "NOT_FOUND",
    )
    .await;
    let res = bob.delete("/api/go/preferences/WIKI").await;
    assert_eq!(res.status(), 204);
    expect_error(bob.delete("/api/go/preferences/WIKI").await, 404, "NOT_FOUND").await;

    // A bookmark that is not readable cannot be chosen.
    let (_, private) = create(
        &app,
        "/api/bookmarks",
        json!({"title": "P", "url": "https://p.example", "slug": "wIKI", "forwarding_enabled": true}),
    )
    .await;
    expect_error(
        bob.post_json(
            "/api/go/preferences",
            json!({"slug": "WIKI", "bookmark_id": private["id"]}),
        )
        .await,
        403,
        "FORBIDDEN",
    )
    .await;
    // Unsharing removes the shared candidate.
    app.put_json(
        &format!("/api/bookmarks/{}", shared["id"].as_str().unwrap()),
        json!({"user_ids": []}),
    )
    .await;
    assert_eq!(
        go(&bob, "/go/Wiki").await.status(),
        302,
        "only bob's own case-insensitive match is left"
    );
    assert_eq!(location(&go(&bob, "/go/Wiki").await), "https://me.example/wiki");
}

async fn thousand_forwards_counted_after_graceful_stop(app: TestApp) {
    sign_in_admin(&app).await;
    let b = bookmark(&app, "Counted", "https://count.example", "cnt", true).await;
    for _ in 0..1000 {
        let res = go(&app, "/go/cnt").await;
        assert_eq!(res.status(), 302);
    }
    app.stop().await;
    let id = b["id"].as_str().unwrap().to_string();
    // The server's pool closed with it: read the row through a fresh one.
    let db = slugbase::db::Db::connect(&app.state.config.db).await.unwrap();
    let count: i64 = slugbase::with_db!(&db, pool => sqlx::query_scalar::<_, i64>(
        "SELECT CAST(access_count AS BIGINT) FROM bookmarks WHERE id = $1").bind(&id).fetch_one(pool).await.unwrap());
    assert_eq!(count, 1000, "every forward counted, none lost at shutdown");
    let last: Option<slugbase::db::Ts> = slugbase::with_db!(&db, pool => sqlx::query_scalar(
        "SELECT last_accessed_at FROM bookmarks WHERE id = $1").bind(&id).fetch_one(pool).await.unwrap());
    let age = slugbase::db::Ts::now().unix() - last.expect("last access recorded").unix();
    assert!(
        (0..300).contains(&age),
        "last access is the latest forward's time (age {age} s)"
    );
    db.close().await;
}

/// A change written behind this instance's back (another instance, or another process on the
/// same database file) reaches the forwards within the table's check interval while the table
/// is in steady use; the instance's own visit writes in between do not hide it.
async fn change_from_another_writer_shows_up(app: TestApp) {
    sign_in_admin(&app).await;
    bookmark(&app, "Docs", "https://docs.example/one", "docs", true).await;
    assert_eq!(location(&go(&app, "/go/docs").await), "https://docs.example/one");
    // Visits written once the table is loaded: on SQLite they must not count as another writer,
    // and the change below must still count as one.
    app.state
        .access
        .flush(&app.state.db, &app.state.background)
        .await
        .unwrap();
    // The other writer: a connection of its own, outside the server.
    slugbase::with_db!(&app.state.db, pool => {
        use sqlx::{ConnectOptions, Connection};
        let mut c = pool.connect_options().connect().await.unwrap();
        sqlx::query("UPDATE bookmarks SET url = 'https://docs.example/two' WHERE slug = 'docs'")
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
    });
    let mut forwards = 0;
    let changed = std::time::Instant::now();
    let limit = slugbase::golinks::LINKS_TTL + std::time::Duration::from_secs(3);
    loop {
        let now = location(&go(&app, "/go/docs").await);
        if now == "https://docs.example/two" {
            break;
        }
        assert_eq!(now, "https://docs.example/one");
        forwards += 1;
        assert!(
            changed.elapsed() < limit,
            "the old URL was still used {:?} ({forwards} forwards) after another writer changed it",
            changed.elapsed()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn dashboard_stats(app: TestApp) {
    sign_in_admin(&app).await;
    let (_, t) = create(&app, "/api/tags", json!({"name": "dev"})).await;
    let (_, f) = create(&app, "/api/folders", json!({"name": "F"})).await;
    let b = bookmark(&app, "Used", "https://used.example", "used", true).await;
    let (_, pinned) = create(
        &app,
        "/api/bookmarks",
        json!({"title": "Pinned", "url": "https://pin.example", "pinned": true, "tag_ids": [t["id"]],
               "folder_ids": [f["id"]]}),
    )
    .await;
    for _ in 0..3 {
        go(&app, "/go/used").await;
    }
    app.state
        .access
        .flush(&app.state.db, &app.state.background)
        .await
        .unwrap();
    let (s, v) = app.get_json("/api/dashboard/stats").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (
            v["totalBookmarks"].as_i64(),
            v["totalFolders"].as_i64(),
            v["totalTags"].as_i64()
        ),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!(v["sharedBookmarks"], 0);
    assert_eq!(v["recentBookmarks"][0]["title"], "Pinned");
    assert_eq!(v["recentBookmarks"][0]["tag_names"], json!(["dev"]));
    assert_eq!(v["recentBookmarks"][0]["folder_names"], json!(["F"]));
    assert_eq!(v["recentBookmarks"][0]["created_at"], pinned["created_at"], "{v}");
    assert_eq!(v["recentBookmarks"][1]["folder_names"], json!([]));
    assert!(v["pinnedBookmarks"][0].get("access_count").is_none(), "{v}");
    assert_eq!(
        v["topTags"][0],
        json!({"id": t["id"], "name": "dev", "bookmark_count": 1})
    );
    assert_eq!(v["quickAccessBookmarks"][0]["id"], b["id"]);
    assert_eq!(v["quickAccessBookmarks"][0]["access_count"], 3);
    assert_eq!(v["pinnedBookmarks"][0]["title"], "Pinned");
}

on_both_backends!(
    change_from_another_writer_shows_up,
    forwarding_basics,
    search_box_and_parameterised_links,
    dot_segments_cannot_climb,
    collisions_and_remembered_choice,
    thousand_forwards_counted_after_graceful_stop,
    dashboard_stats,
);

#[tokio::test]
async fn per_user_rate_limit_and_opensearch() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &[("GO_RATE_LIMIT", "5"), ("BASE_URL", "https://links.example")],
    )
    .await
    .unwrap();
    sign_in_admin(&app).await;
    bookmark(&app, "X", "https://x.example", "x", true).await;
    for _ in 0..5 {
        assert_eq!(go(&app, "/go/x").await.status(), 302);
    }
    let res = go(&app, "/go/x").await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().get("retry-after").is_some());
    let bob = sign_in_user(&app, "bob@example.com", "Bob").await;
    assert_eq!(
        go(&bob, "/go/x").await.status(),
        404,
        "another user is not limited by it"
    );

    let res = app.get("/opensearch.xml").send().await.unwrap();
    assert_eq!(
        res.headers().get("content-type").unwrap(),
        "application/opensearchdescription+xml"
    );
    let xml = res.text().await.unwrap();
    assert!(
        xml.contains("template=\"https://links.example/go/{searchTerms}\""),
        "{xml}"
    );
    app.finish().await;
}
