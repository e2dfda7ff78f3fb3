//! Bookmarks, folders and tags over HTTP: CRUD, validation, listing filters, search, bulk.

use crate::common::{body, create, expect_error, sign_in_admin, sign_in_user, TestApp};
use serde_json::{json, Value};
use slugbase::with_db;

async fn new_bookmark(app: &TestApp, body: Value) -> Value {
    let (s, v) = create(app, "/api/bookmarks", body).await;
    assert_eq!(s, 201, "{v}");
    v
}

async fn count_bookmarks(app: &TestApp) -> i64 {
    with_db!(&app.state.db, pool => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM bookmarks")
        .fetch_one(pool).await.unwrap())
}

fn titles(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {v}"))
        .iter()
        .map(|b| b["title"].as_str().unwrap().to_string())
        .collect()
}

async fn crud_and_shapes(app: TestApp) {
    sign_in_admin(&app).await;
    let (_, folder) = create(&app, "/api/folders", json!({"name": "Work", "icon": "Briefcase"})).await;
    let (_, tag) = create(&app, "/api/tags", json!({"name": "dev"})).await;
    let b = new_bookmark(
        &app,
        json!({"title": "  GitHub ", "url": "https://github.com", "slug": "gh", "forwarding_enabled": true,
               "pinned": true, "description": "Where code lives", "folder_ids": [folder["id"]], "tag_ids": [tag["id"]]}),
    )
    .await;
    assert_eq!(b["title"], "GitHub");
    assert_eq!(b["slug"], "gh");
    assert_eq!(b["forwarding_enabled"], true);
    assert_eq!(b["pinned"], true);
    assert_eq!(b["description"], "Where code lives");
    assert_eq!(b["access_count"], 0);
    assert_eq!(b["bookmark_type"], "own");
    assert_eq!(b["tags"][0]["name"], "dev");
    assert_eq!(b["folders"][0]["name"], "Work");
    assert_eq!(b["folders"][0]["icon"], "Briefcase");
    assert!(b["created_at"].as_str().unwrap().ends_with('Z'));
    let id = b["id"].as_str().unwrap().to_string();

    let (s, got) = app.get_json(&format!("/api/bookmarks/{id}")).await;
    assert_eq!(s, 200);
    assert_eq!(got["url"], "https://github.com");

    // Partial update: only the title changes; clearing the slug turns forwarding off.
    let (s, v) = body(
        app.put_json(&format!("/api/bookmarks/{id}"), json!({"title": "GitHub home"}))
            .await,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        (v["title"].as_str(), v["slug"].as_str(), v["pinned"].as_bool()),
        (Some("GitHub home"), Some("gh"), Some(true))
    );
    assert_eq!(
        v["tags"].as_array().unwrap().len(),
        1,
        "tags untouched when not sent"
    );
    let (_, v) = body(
        app.put_json(&format!("/api/bookmarks/{id}"), json!({"slug": ""}))
            .await,
    )
    .await;
    assert_eq!(v["slug"], "");
    assert_eq!(v["forwarding_enabled"], false);
    let (_, v) = body(
        app.put_json(
            &format!("/api/bookmarks/{id}"),
            json!({"tag_ids": [], "folder_ids": []}),
        )
        .await,
    )
    .await;
    assert_eq!(v["tags"], json!([]));
    assert_eq!(v["folders"], json!([]));

    let res = app.delete(&format!("/api/bookmarks/{id}")).await;
    assert_eq!(body(res).await, (200, json!({"message": "Bookmark deleted"})));
    expect_error(
        app.get(&format!("/api/bookmarks/{id}")).send().await.unwrap(),
        404,
        "NOT_FOUND",
    )
    .await;
}

async fn validation_errors_name_the_field(app: TestApp) {
    sign_in_admin(&app).await;
    let cases = [
        (
            json!({"url": "https://a.example"}),
            "title",
            "Missing required fields",
        ),
        (json!({"title": "A"}), "url", "Missing required fields"),
        (
            json!({"title": "   ", "url": "https://a.example"}),
            "title",
            "Missing required fields",
        ),
        (
            json!({"title": "x".repeat(501), "url": "https://a.example"}),
            "title",
            "Title must be no more than 500 characters",
        ),
        (
            json!({"title": "A", "url": "javascript:alert(1)"}),
            "url",
            "Invalid URL protocol",
        ),
        (
            json!({"title": "A", "url": "data:text/html,hi"}),
            "url",
            "Invalid URL protocol",
        ),
        (
            json!({"title": "A", "url": "file:///etc/passwd"}),
            "url",
            "URL must use http or https protocol",
        ),
        (
            json!({"title": "A", "url": "not a url"}),
            "url",
            "Invalid URL format",
        ),
        (
            json!({"title": "A", "url": format!("https://a.example/{}", "p".repeat(2100))}),
            "url",
            "URL must be no more than 2048 characters",
        ),
        (
            json!({"title": "A", "url": "https://a.example", "slug": "a b"}),
            "slug",
            "Slug can only contain letters, numbers, hyphens, and underscores",
        ),
        (
            json!({"title": "A", "url": "https://a.example", "slug": "s".repeat(256)}),
            "slug",
            "Slug must be no more than 255 characters",
        ),
        (
            json!({"title": "A", "url": "https://a.example", "forwarding_enabled": true}),
            "slug",
            "Slug is required when forwarding is enabled",
        ),
        (
            json!({"title": "A", "url": "https://a.example", "description": "d".repeat(10_001)}),
            "description",
            "Description must be no more than 10000 characters",
        ),
    ];
    for (input, field, message) in cases {
        let v = expect_error(
            app.post_json("/api/bookmarks", input.clone()).await,
            400,
            "VALIDATION_ERROR",
        )
        .await;
        assert_eq!(v["error"], message, "{input}");
        assert!(
            v["details"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["field"] == field),
            "{input}: details name {field}: {v}"
        );
    }
    assert_eq!(count_bookmarks(&app).await, 0, "nothing written");
}

async fn slugs_are_unique_across_users(app: TestApp) {
    sign_in_admin(&app).await;
    new_bookmark(
        &app,
        json!({"title": "A", "url": "https://a.example", "slug": "docs"}),
    )
    .await;
    let bob = sign_in_user(&app, "bob@example.com", "Bob").await;
    let v = expect_error(
        bob.post_json(
            "/api/bookmarks",
            json!({"title": "B", "url": "https://b.example", "slug": "docs"}),
        )
        .await,
        400,
        "SLUG_TAKEN",
    )
    .await;
    assert_eq!(
        v["error"],
        "Slug already exists. Slugs must be unique across all bookmarks."
    );
    // Case matters for uniqueness (as in the original).
    new_bookmark(
        &bob,
        json!({"title": "B", "url": "https://b.example", "slug": "Docs"}),
    )
    .await;

    // Two creates racing for one slug: one wins, the other gets the same 400, never a 500.
    let mut tasks = Vec::new();
    for i in 0..4 {
        let c = bob.clone();
        tasks.push(tokio::spawn(async move {
            c.post_json(
                "/api/bookmarks",
                json!({"title": format!("R{i}"), "url": "https://r.example", "slug": "race"}),
            )
            .await
            .status()
            .as_u16()
        }));
    }
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap());
    }
    codes.sort();
    assert_eq!(codes, vec![201, 400, 400, 400]);
}

async fn references_must_be_own_and_nothing_half_written(app: TestApp) {
    sign_in_admin(&app).await;
    let bob = sign_in_user(&app, "bob@example.com", "Bob").await;
    let (_, bobs_folder) = create(&bob, "/api/folders", json!({"name": "Bob's"})).await;
    let (_, bobs_tag) = create(&bob, "/api/tags", json!({"name": "bobtag"})).await;
    let v = expect_error(
        app.post_json(
            "/api/bookmarks",
            json!({"title": "A", "url": "https://a.example", "folder_ids": [bobs_folder["id"]]}),
        )
        .await,
        403,
        "FORBIDDEN",
    )
    .await;
    assert_eq!(
        v["error"],
        format!("You do not own folder {}", bobs_folder["id"].as_str().unwrap())
    );
    expect_error(
        app.post_json(
            "/api/bookmarks",
            json!({"title": "A", "url": "https://a.example", "tag_ids": [bobs_tag["id"]]}),
        )
        .await,
        403,
        "FORBIDDEN",
    )
    .await;
    expect_error(
        app.post_json(
            "/api/bookmarks",
            json!({"title": "A", "url": "https://a.example", "user_ids": ["no-such-user"]}),
        )
        .await,
        404,
        "USER_NOT_FOUND",
    )
    .await;
    expect_error(
        app.post_json(
            "/api/bookmarks",
            json!({"title": "A", "url": "https://a.example", "team_ids": ["no-team"]}),
        )
        .await,
        403,
        "FORBIDDEN",
    )
    .await;
    assert_eq!(count_bookmarks(&app).await, 0, "no half-created bookmark");

    // Others' bookmarks: invisible and untouchable (404, never 403).
    let mine = new_bookmark(&app, json!({"title": "Mine", "url": "https://mine.example"})).await;
    let id = mine["id"].as_str().unwrap();
    for res in [
        bob.get(&format!("/api/bookmarks/{id}")).send().await.unwrap(),
        bob.put_json(&format!("/api/bookmarks/{id}"), json!({"title": "x"}))
            .await,
        bob.delete(&format!("/api/bookmarks/{id}")).await,
        bob.post_json(&format!("/api/bookmarks/{id}/track-access"), json!({}))
            .await,
    ] {
        let v = expect_error(res, 404, "NOT_FOUND").await;
        assert_eq!(v["error"], "Bookmark not found");
    }
    let (_, list) = bob.get_json("/api/bookmarks").await;
    assert_eq!(list["total"], 0);
}

async fn listing_filters_sorts_and_pages(app: TestApp) {
    sign_in_admin(&app).await;
    let (_, work) = create(&app, "/api/folders", json!({"name": "Work"})).await;
    let (_, dev) = create(&app, "/api/tags", json!({"name": "dev"})).await;
    let (_, news) = create(&app, "/api/tags", json!({"name": "news"})).await;
    let w = work["id"].as_str().unwrap();
    let (d, n) = (dev["id"].as_str().unwrap(), news["id"].as_str().unwrap());
    new_bookmark(
        &app,
        json!({"title": "alpha", "url": "https://alpha.example", "tag_ids": [d], "folder_ids": [w]}),
    )
    .await;
    new_bookmark(
        &app,
        json!({"title": "Bravo", "url": "https://bravo.example", "tag_ids": [d, n], "pinned": true}),
    )
    .await;
    let c = new_bookmark(
        &app,
        json!({"title": "charlie", "url": "https://charlie.example", "tag_ids": [n]}),
    )
    .await;
    new_bookmark(&app, json!({"title": "Delta", "url": "https://delta.example"})).await;
    for _ in 0..3 {
        app.post_json(
            &format!("/api/bookmarks/{}/track-access", c["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    }

    let (_, v) = app.get_json("/api/bookmarks").await;
    assert_eq!(titles(&v), ["Delta", "charlie", "Bravo", "alpha"], "newest first");
    assert_eq!(
        (v["total"].as_i64(), v["hasMore"].as_bool()),
        (Some(4), Some(false))
    );
    let (_, v) = app.get_json("/api/bookmarks?sort_by=alphabetical").await;
    assert_eq!(
        titles(&v),
        ["alpha", "Bravo", "charlie", "Delta"],
        "case-insensitive"
    );
    let (_, v) = app.get_json("/api/bookmarks?sort_by=most_used").await;
    assert_eq!(titles(&v)[0], "charlie");
    assert_eq!(v["items"][0]["access_count"], 3);
    let (_, v) = app.get_json("/api/bookmarks?sort_by=recently_accessed").await;
    assert_eq!(titles(&v)[0], "charlie");
    let (_, v) = app.get_json(&format!("/api/bookmarks?folder_id={w}")).await;
    assert_eq!(titles(&v), ["alpha"]);
    let (_, v) = app
        .get_json(&format!("/api/bookmarks?tag_id={d}&tag_id={n}"))
        .await;
    assert_eq!(titles(&v), ["Bravo"], "tags AND-ed");
    let (_, v) = app
        .get_json(&format!("/api/bookmarks?tag_id={d}&tag_id={n}&tag_mode=any"))
        .await;
    assert_eq!(v["total"], 3);
    let (_, v) = app.get_json("/api/bookmarks?pinned=true").await;
    assert_eq!(titles(&v), ["Bravo"]);
    let (_, v) = app.get_json("/api/bookmarks?limit=2&offset=1").await;
    assert_eq!(titles(&v), ["charlie", "Bravo"]);
    assert_eq!(
        (v["total"].as_i64(), v["hasMore"].as_bool()),
        (Some(4), Some(true))
    );
    let (_, v) = app.get_json("/api/bookmarks?limit=2&offset=2").await;
    assert_eq!(v["hasMore"], false);
    let (_, v) = app.get_json("/api/bookmarks?limit=abc").await;
    assert_eq!(
        v["items"].as_array().unwrap().len(),
        4,
        "non-numeric limit falls back"
    );
    let (_, v) = app.get_json("/api/bookmarks?scope=shared_with_me").await;
    assert_eq!(v["total"], 0);
    let (_, v) = app.get_json("/api/bookmarks?scope=mine").await;
    assert_eq!(v["total"], 4);

    expect_error(
        app.get("/api/bookmarks?folder_id=nope").send().await.unwrap(),
        404,
        "NOT_FOUND",
    )
    .await;
    let v = expect_error(
        app.get("/api/bookmarks?tag_id=nope").send().await.unwrap(),
        404,
        "NOT_FOUND",
    )
    .await;
    assert_eq!(v["error"], "Tag not found");

    let (_, ids) = app.get_json(&format!("/api/bookmarks/ids?tag_id={n}")).await;
    assert_eq!(ids["ids"].as_array().unwrap().len(), 2);
}

async fn full_text_search(app: TestApp) {
    sign_in_admin(&app).await;
    let (_, t) = create(&app, "/api/tags", json!({"name": "kubernetes"})).await;
    new_bookmark(&app, json!({"title": "Rust Programming Language", "url": "https://www.rust-lang.org/", "slug": "rustlang"})).await;
    new_bookmark(
        &app,
        json!({"title": "Cluster docs", "url": "https://k8s.example/docs", "tag_ids": [t["id"]]}),
    )
    .await;
    new_bookmark(&app, json!({"title": "Café menu", "url": "https://food.example/menu", "description": "Great espresso downtown"})).await;
    new_bookmark(
        &app,
        json!({"title": "Another page", "url": "https://github.com/rust-lang/rust"}),
    )
    .await;

    let search = |q: &str| {
        let app = app.clone();
        let q = q.to_string();
        async move {
            let (s, v) = app.get_json(&format!("/api/bookmarks?q={q}")).await;
            assert_eq!(s, 200, "{v}");
            titles(&v)
        }
    };
    let r = search("rus").await;
    assert_eq!(r.len(), 2, "prefix matches title and URL: {r:?}");
    assert_eq!(r[0], "Rust Programming Language", "title match ranks first");
    assert_eq!(search("kube").await, ["Cluster docs"], "tags are searched");
    assert_eq!(search("espresso").await, ["Café menu"], "notes are searched");
    assert_eq!(search("cafe").await, ["Café menu"], "accents folded");
    assert_eq!(
        search("rustlang").await,
        ["Rust Programming Language"],
        "slug searched"
    );
    assert_eq!(
        search("rust%20programming").await,
        ["Rust Programming Language"],
        "all words"
    );
    assert!(search("zzzz").await.is_empty());
    assert!(
        search("%25").await.is_empty(),
        "punctuation only: literal match, no error"
    );

    // Renaming a tag keeps search in step.
    app.put_json(
        &format!("/api/tags/{}", t["id"].as_str().unwrap()),
        json!({"name": "k8s-cluster"}),
    )
    .await;
    assert!(search("kube").await.is_empty());
    assert_eq!(search("cluster").await, ["Cluster docs"]);

    // Palette search: flat list of bookmarks, folders, tags.
    create(&app, "/api/folders", json!({"name": "Rust things"})).await;
    let (s, v) = app.get_json("/api/bookmarks/search?q=rust").await;
    assert_eq!(s, 200);
    let types: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["type"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"bookmark") && types.contains(&"folder"),
        "{types:?}"
    );
    let v = expect_error(
        app.get("/api/bookmarks/search?q=").send().await.unwrap(),
        400,
        "VALIDATION_ERROR",
    )
    .await;
    assert_eq!(v["error"], "Search query is required");
}

async fn bulk_actions_all_or_nothing(app: TestApp) {
    sign_in_admin(&app).await;
    let (_, f) = create(&app, "/api/folders", json!({"name": "Inbox"})).await;
    let (_, t) = create(&app, "/api/tags", json!({"name": "later"})).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let b = new_bookmark(
            &app,
            json!({"title": format!("B{i}"), "url": format!("https://b{i}.example")}),
        )
        .await;
        ids.push(b["id"].as_str().unwrap().to_string());
    }
    let bulk = |body: Value| {
        let app = app.clone();
        async move { body_of(app.post_json("/api/bookmarks/bulk", body).await).await }
    };
    let (s, v) = bulk(json!({"ids": &ids[..3], "action": "add_tags", "tag_ids": [t["id"]]})).await;
    assert_eq!((s, v["affected"].as_i64()), (200, Some(3)));
    let (_, v) = app
        .get_json(&format!("/api/bookmarks?tag_id={}", t["id"].as_str().unwrap()))
        .await;
    assert_eq!(v["total"], 3);
    let (_, v) = app.get_json("/api/bookmarks?q=later").await;
    assert_eq!(v["total"], 3, "tag added in bulk is searchable");
    bulk(json!({"ids": &ids[..1], "action": "remove_tags", "tag_ids": [t["id"]]})).await;
    let (_, v) = app
        .get_json(&format!("/api/bookmarks?tag_id={}", t["id"].as_str().unwrap()))
        .await;
    assert_eq!(v["total"], 2);
    bulk(json!({"ids": &ids, "action": "move", "folder_ids": [f["id"]]})).await;
    let (_, v) = app
        .get_json(&format!("/api/bookmarks?folder_id={}", f["id"].as_str().unwrap()))
        .await;
    assert_eq!(v["total"], 5);
    bulk(json!({"ids": &ids[..2], "action": "pin"})).await;
    let (_, v) = app.get_json("/api/bookmarks?pinned=true").await;
    assert_eq!(v["total"], 2);
    // By filter: unpin everything pinned.
    bulk(json!({"filter": {"pinned": "true"}, "action": "unpin"})).await;
    assert_eq!(app.get_json("/api/bookmarks?pinned=true").await.1["total"], 0);

    // One foreign id: nothing happens.
    let bob = sign_in_user(&app, "bob@example.com", "Bob").await;
    let bobs = new_bookmark(&bob, json!({"title": "Bob's", "url": "https://bob.example"})).await;
    let mut mixed = ids.clone();
    mixed.push(bobs["id"].as_str().unwrap().to_string());
    let (s, _) = bulk(json!({"ids": mixed, "action": "delete"})).await;
    assert_eq!(s, 404);
    assert_eq!(count_bookmarks(&app).await, 6, "nothing deleted");
    let (s, _) = bulk(json!({"ids": &ids, "action": "explode"})).await;
    assert_eq!(s, 400);
    let (s, v) = bulk(json!({"ids": &ids, "action": "delete"})).await;
    assert_eq!((s, v["affected"].as_i64()), (200, Some(5)));
    assert_eq!(count_bookmarks(&app).await, 1);
}

async fn body_of(res: reqwest::Response) -> (u16, Value) {
    body(res).await
}

async fn folders_and_tags(app: TestApp) {
    sign_in_admin(&app).await;
    let (s, f) = create(&app, "/api/folders", json!({"name": "Reading", "icon": "Book"})).await;
    assert_eq!(s, 201);
    let fid = f["id"].as_str().unwrap().to_string();
    let v = expect_error(
        app.post_json("/api/folders", json!({"name": "Reading"})).await,
        400,
        "DUPLICATE_NAME",
    )
    .await;
    assert_eq!(v["error"], "Folder with this name already exists");
    expect_error(
        app.post_json("/api/folders", json!({"name": "  "})).await,
        400,
        "VALIDATION_ERROR",
    )
    .await;
    expect_error(
        app.post_json("/api/folders", json!({"name": "X", "icon": "i".repeat(51)}))
            .await,
        400,
        "VALIDATION_ERROR",
    )
    .await;
    new_bookmark(
        &app,
        json!({"title": "A", "url": "https://a.example", "folder_ids": [&fid]}),
    )
    .await;

    // Lists: a plain array without limit, {items,total} with it.
    let (_, list) = app.get_json("/api/folders").await;
    assert_eq!(list[0]["bookmark_count"], 1);
    assert_eq!(list[0]["folder_type"], "own");
    let (_, page) = app.get_json("/api/folders?limit=10").await;
    assert_eq!(page["total"], 1);

    // PUT is partial: renaming keeps the icon.
    let (s, v) = body(
        app.put_json(&format!("/api/folders/{fid}"), json!({"name": "To read"}))
            .await,
    )
    .await;
    assert_eq!(
        (s, v["name"].as_str(), v["icon"].as_str()),
        (200, Some("To read"), Some("Book"))
    );
    let res = app.delete(&format!("/api/folders/{fid}")).await;
    assert_eq!(body(res).await, (200, json!({"message": "Folder deleted"})));
    assert_eq!(count_bookmarks(&app).await, 1, "bookmarks survive their folder");

    let (_, t) = create(&app, "/api/tags", json!({"name": "alpha"})).await;
    let tid = t["id"].as_str().unwrap().to_string();
    expect_error(
        app.post_json("/api/tags", json!({"name": "alpha"})).await,
        400,
        "DUPLICATE_NAME",
    )
    .await;
    expect_error(
        app.post_json("/api/tags", json!({"name": "t".repeat(101)})).await,
        400,
        "VALIDATION_ERROR",
    )
    .await;
    new_bookmark(
        &app,
        json!({"title": "T", "url": "https://t.example", "tag_ids": [&tid]}),
    )
    .await;
    let (_, tags) = app.get_json("/api/tags").await;
    assert_eq!(tags[0]["bookmark_count"], 1);
    assert_eq!(body(app.delete(&format!("/api/tags/{tid}")).await).await.0, 200);
    assert_eq!(count_bookmarks(&app).await, 2, "bookmarks survive their tag");

    // Tags are private.
    let bob = sign_in_user(&app, "bob@example.com", "Bob").await;
    assert_eq!(bob.get_json("/api/tags").await.1, json!([]));
    let (_, t2) = create(&app, "/api/tags", json!({"name": "mine"})).await;
    expect_error(
        bob.get(&format!("/api/tags/{}", t2["id"].as_str().unwrap()))
            .send()
            .await
            .unwrap(),
        404,
        "NOT_FOUND",
    )
    .await;
}

async fn sharing_a_bookmark_with_a_user(app: TestApp) {
    sign_in_admin(&app).await;
    let bob = sign_in_user(&app, "bob@example.com", "Bob").await;
    let (_, users) = app.get_json("/api/users/for-sharing").await;
    let bob_id = users[0]["id"].as_str().unwrap().to_string();
    let b = new_bookmark(
        &app,
        json!({"title": "Shared", "url": "https://s.example", "user_ids": [&bob_id]}),
    )
    .await;
    assert_eq!(b["shared_users"][0]["email"], "bob@example.com");
    let (_, v) = bob.get_json("/api/bookmarks").await;
    assert_eq!(titles(&v), ["Shared"]);
    assert_eq!(v["items"][0]["bookmark_type"], "shared");
    assert_eq!(v["items"][0]["user_email"], crate::common::ADMIN_EMAIL);
    assert_eq!(bob.get_json("/api/bookmarks?scope=mine").await.1["total"], 0);
    assert_eq!(
        bob.get_json("/api/bookmarks?scope=shared_with_me").await.1["total"],
        1
    );
    assert_eq!(
        app.get_json("/api/bookmarks?scope=shared_by_me").await.1["total"],
        1
    );
    // A reader cannot change it.
    let id = b["id"].as_str().unwrap();
    expect_error(
        bob.put_json(&format!("/api/bookmarks/{id}"), json!({"title": "x"}))
            .await,
        404,
        "NOT_FOUND",
    )
    .await;
    // Unsharing hides it again.
    app.put_json(&format!("/api/bookmarks/{id}"), json!({"user_ids": []}))
        .await;
    assert_eq!(bob.get_json("/api/bookmarks").await.1["total"], 0);
}

/// Scope "all" of a user with incoming shares merges their own bookmarks with those shared with
/// them (directly and through a folder): every sort, every page, nothing twice or missing, and
/// a bookmark of someone else that is not shared never shows.
async fn scope_all_merges_own_and_shared_in_order(app: TestApp) {
    sign_in_admin(&app).await;
    let bob = sign_in_user(&app, "bob@example.com", "Bob").await;
    let (_, users) = app.get_json("/api/users/for-sharing").await;
    let bob_id = users[0]["id"].as_str().unwrap().to_string();
    let (_, folder) = create(&app, "/api/folders", json!({"name": "For Bob"})).await;
    let fid = folder["id"].as_str().unwrap().to_string();
    app.put_json(&format!("/api/folders/{fid}"), json!({"user_ids": [&bob_id]}))
        .await;
    for t in ["Bravo", "Echo", "Lima"] {
        new_bookmark(
            &app,
            json!({"title": t, "url": "https://d.example", "user_ids": [&bob_id]}),
        )
        .await;
    }
    for t in ["Alpha", "Golf"] {
        new_bookmark(
            &app,
            json!({"title": t, "url": "https://f.example", "folder_ids": [&fid]}),
        )
        .await;
    }
    new_bookmark(&app, json!({"title": "Hidden", "url": "https://h.example"})).await;
    for t in ["Charlie", "Delta", "Foxtrot", "India", "Juliet", "Kilo"] {
        new_bookmark(&bob, json!({"title": t, "url": "https://b.example"})).await;
    }
    let expected = [
        "Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "India", "Juliet", "Kilo", "Lima",
    ];
    for sort in ["alphabetical", "recently_added", "most_used", "recently_accessed"] {
        let (_, all) = bob
            .get_json(&format!("/api/bookmarks?sort_by={sort}&limit=100"))
            .await;
        assert_eq!(all["total"], 11, "{sort}: {all}");
        // Pages of 2: the deeper pages need more than a page's worth of each kind.
        let mut paged = Vec::new();
        for offset in (0..12).step_by(2) {
            let (_, v) = bob
                .get_json(&format!(
                    "/api/bookmarks?scope=all&sort_by={sort}&limit=2&offset={offset}"
                ))
                .await;
            assert_eq!(v["total"], 11);
            assert_eq!(v["hasMore"], offset + 2 < 11, "{sort} at {offset}");
            paged.extend(titles(&v));
        }
        assert_eq!(paged, titles(&all), "{sort}: pages agree with the whole list");
        let mut set = paged.clone();
        set.sort();
        assert_eq!(set, expected, "{sort}");
        if sort == "alphabetical" {
            assert_eq!(paged, expected);
        }
    }
    let (_, ids) = bob.get_json("/api/bookmarks/ids?scope=all").await;
    assert_eq!(ids["ids"].as_array().map(Vec::len), Some(11), "{ids}");
}

/// The kept counts (bookmarks per user, bookmarks per tag) equal a recount, for every user and
/// every tag in the database.
async fn assert_counts_true(app: &TestApp, after: &str) {
    let wrong_users: i64 = with_db!(&app.state.db, pool => sqlx::query_scalar(
        "SELECT COUNT(*) FROM users u LEFT JOIN bookmark_counts c ON c.user_id = u.id \
         WHERE COALESCE(c.n, 0) <> (SELECT COUNT(*) FROM bookmarks b WHERE b.user_id = u.id)")
        .fetch_one(pool).await.unwrap());
    let wrong_tags: i64 = with_db!(&app.state.db, pool => sqlx::query_scalar(
        "SELECT COUNT(*) FROM tags t LEFT JOIN tag_counts c ON c.tag_id = t.id \
         WHERE c.n IS NULL OR c.user_id <> t.user_id \
            OR c.n <> (SELECT COUNT(*) FROM bookmark_tags bt WHERE bt.tag_id = t.id)")
        .fetch_one(pool).await.unwrap());
    assert_eq!(
        (wrong_users, wrong_tags),
        (0, 0),
        "kept counts wrong after {after}"
    );
}

/// (total bookmarks, [(tag, count)]) as the dashboard shows them, and the list's total.
async fn dashboard_counts(app: &TestApp) -> (i64, Vec<(String, i64)>) {
    let (s, v) = app.get_json("/api/dashboard/stats").await;
    assert_eq!(s, 200, "{v}");
    let (_, page) = app.get_json("/api/bookmarks?limit=1").await;
    assert_eq!(
        page["total"], v["totalBookmarks"],
        "list total and dashboard agree"
    );
    let tags = v["topTags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                t["bookmark_count"].as_i64().unwrap(),
            )
        })
        .collect();
    (v["totalBookmarks"].as_i64().unwrap(), tags)
}

fn tally(pairs: &[(&str, i64)]) -> Vec<(String, i64)> {
    pairs.iter().map(|(n, c)| (n.to_string(), *c)).collect()
}

async fn kept_counts_follow_every_write(app: TestApp) {
    sign_in_admin(&app).await;
    let bob = sign_in_user(&app, "bob@example.com", "Bob").await;
    let (_, a) = create(&app, "/api/tags", json!({"name": "alpha"})).await;
    let (_, b) = create(&app, "/api/tags", json!({"name": "beta"})).await;
    assert_eq!(dashboard_counts(&app).await, (0, vec![]));
    let x = new_bookmark(
        &app,
        json!({"title": "X", "url": "https://x.example", "tag_ids": [a["id"], b["id"]]}),
    )
    .await;
    let y = new_bookmark(
        &app,
        json!({"title": "Y", "url": "https://y.example", "tag_ids": [a["id"]]}),
    )
    .await;
    let z = new_bookmark(&app, json!({"title": "Z", "url": "https://z.example"})).await;
    new_bookmark(&bob, json!({"title": "Bob's", "url": "https://bob.example"})).await;
    assert_eq!(
        dashboard_counts(&app).await,
        (3, tally(&[("alpha", 2), ("beta", 1)]))
    );
    assert_counts_true(&app, "creating").await;

    let (s, _) = body(
        app.put_json(
            &format!("/api/bookmarks/{}", x["id"].as_str().unwrap()),
            json!({"tag_ids": [b["id"]]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        dashboard_counts(&app).await,
        (3, tally(&[("alpha", 1), ("beta", 1)]))
    );
    let (_, tags) = app.get_json("/api/tags").await;
    assert!(tags.to_string().contains("\"bookmark_count\":1"), "{tags}");

    let bulk = |body: Value| {
        let app = app.clone();
        async move { body_of(app.post_json("/api/bookmarks/bulk", body).await).await }
    };
    let ids = json!([x["id"], y["id"], z["id"]]);
    assert_eq!(
        bulk(json!({"ids": ids, "action": "add_tags", "tag_ids": [b["id"]]}))
            .await
            .0,
        200
    );
    assert_eq!(
        dashboard_counts(&app).await,
        (3, tally(&[("beta", 3), ("alpha", 1)]))
    );
    assert_eq!(
        bulk(json!({"ids": [z["id"]], "action": "remove_tags", "tag_ids": [b["id"]]}))
            .await
            .0,
        200
    );
    assert_counts_true(&app, "bulk tags").await;

    assert_eq!(
        body(
            app.delete(&format!("/api/bookmarks/{}", y["id"].as_str().unwrap()))
                .await
        )
        .await
        .0,
        200
    );
    assert_eq!(
        dashboard_counts(&app).await,
        (2, tally(&[("beta", 1)])),
        "a tag on nothing is not a top tag"
    );

    let (s, v) = create(
        &app,
        "/api/bookmarks/import",
        json!({"bookmarks": [
            {"title": "I1", "url": "https://i1.example", "tag_names": ["beta", "gamma"]},
            {"title": "I2", "url": "https://i2.example", "tag_names": ["gamma"]},
        ]}),
    )
    .await;
    assert!(s == 200 || s == 201, "{s} {v}");
    assert_eq!(
        dashboard_counts(&app).await,
        (4, tally(&[("beta", 2), ("gamma", 2)]))
    );
    assert_counts_true(&app, "import").await;

    // A failed write changes no count.
    let (s, _) = bulk(json!({"ids": [x["id"], "no-such-id"], "action": "delete"})).await;
    assert_eq!(s, 404);
    assert_eq!(dashboard_counts(&app).await.0, 4);

    assert_eq!(
        body(
            app.delete(&format!("/api/tags/{}", b["id"].as_str().unwrap()))
                .await
        )
        .await
        .0,
        200
    );
    assert_eq!(dashboard_counts(&app).await, (4, tally(&[("gamma", 2)])));
    assert_eq!(
        bulk(json!({"ids": [x["id"], z["id"]], "action": "delete"}))
            .await
            .0,
        200
    );
    assert_eq!(dashboard_counts(&app).await, (2, tally(&[("gamma", 2)])));
    assert_eq!(dashboard_counts(&bob).await, (1, vec![]));
    assert_counts_true(&app, "deleting").await;

    let (_, me) = bob.get_json("/api/auth/me").await;
    let bob_id = me["id"].as_str().unwrap_or_else(|| panic!("{me}")).to_string();
    assert_eq!(
        app.delete(&format!("/api/admin/users/{bob_id}")).await.status(),
        200
    );
    let left: i64 = with_db!(&app.state.db, pool => sqlx::query_scalar(
        "SELECT COUNT(*) FROM bookmark_counts WHERE user_id = $1").bind(&bob_id).fetch_one(pool).await.unwrap());
    assert_eq!(left, 0, "a deleted user's count goes with them");
    assert_counts_true(&app, "deleting a user").await;
}

/// Pages past the first few hundred rows (found key-first) hold the same rows in the same order
/// as the shallow ones, in every sort and with a filter.
async fn deep_pages_keep_order_and_filters(app: TestApp) {
    sign_in_admin(&app).await;
    let items: Vec<Value> = (0..700)
        .map(|i| {
            json!({"title": format!("T{i:04}"), "url": format!("https://t{i}.example"),
                   "tag_names": if i % 2 == 0 { vec!["even"] } else { vec![] },
                   "access_count": i % 7,
                   "created_at": format!("2025-01-01T{:02}:{:02}:00.000Z", i / 60, i % 60)})
        })
        .collect();
    let (s, v) = create(&app, "/api/bookmarks/import", json!({ "bookmarks": items })).await;
    assert_eq!(s, 200, "{v}");
    let (_, tags) = app.get_json("/api/tags").await;
    let even = tags.to_string().contains("even");
    assert!(even, "{tags}");
    let tag = tags
        .as_array()
        .map(|a| a[0]["id"].clone())
        .unwrap_or_else(|| tags["items"][0]["id"].clone());
    let tag = tag.as_str().unwrap_or_else(|| panic!("{tags}")).to_string();
    let (_, v) = app
        .get_json("/api/bookmarks?sort_by=alphabetical&offset=600&limit=50")
        .await;
    let want: Vec<String> = (600..650).map(|i| format!("T{i:04}")).collect();
    assert_eq!(titles(&v), want);
    assert_eq!(
        (v["total"].as_i64(), v["hasMore"].as_bool()),
        (Some(700), Some(true))
    );
    let (_, v) = app
        .get_json("/api/bookmarks?sort_by=recently_added&offset=690&limit=50")
        .await;
    let want: Vec<String> = (0..10).rev().map(|i| format!("T{i:04}")).collect();
    assert_eq!(titles(&v), want);
    let (_, v) = app
        .get_json(&format!(
            "/api/bookmarks?sort_by=alphabetical&tag_id={tag}&offset=500&limit=5"
        ))
        .await;
    assert_eq!(v["total"], 350);
    assert!(titles(&v).is_empty(), "only 350 carry the tag: {v}");
    let (_, v) = app
        .get_json(&format!(
            "/api/bookmarks?sort_by=recently_added&tag_id={tag}&offset=340&limit=5"
        ))
        .await;
    assert_eq!(titles(&v), ["T0018", "T0016", "T0014", "T0012", "T0010"]);
    // A ranked search, paged: each page is its slice of the whole ranking.
    let (_, all) = app.get_json("/api/bookmarks?q=t06&limit=100").await;
    assert_eq!(all["total"], 100, "{all}");
    let ranked = titles(&all);
    let mut seen = ranked.clone();
    seen.sort();
    let want: Vec<String> = (600..700).map(|i| format!("T{i:04}")).collect();
    assert_eq!(seen, want);
    for offset in [0, 30, 50] {
        let (_, v) = app
            .get_json(&format!("/api/bookmarks?q=t06&offset={offset}&limit=50"))
            .await;
        assert_eq!(v["total"], 100, "{v}");
        assert_eq!(
            titles(&v),
            ranked[offset..offset + 50].to_vec(),
            "ranked page at {offset}"
        );
    }
    // Most used, compared page by page with a walk through the same order from the start.
    let mut walked = Vec::new();
    for offset in (0..700).step_by(100) {
        let (_, v) = app
            .get_json(&format!(
                "/api/bookmarks?sort_by=most_used&offset={offset}&limit=100"
            ))
            .await;
        walked.extend(titles(&v));
    }
    let (_, deep) = app
        .get_json("/api/bookmarks?sort_by=most_used&offset=550&limit=100")
        .await;
    assert_eq!(walked.len(), 700);
    assert_eq!(titles(&deep), walked[550..650].to_vec());
}

/// A bookmark's tags and folders come by name, in the list, a single bookmark and search.
async fn tags_and_folders_come_in_name_order(app: TestApp) {
    sign_in_admin(&app).await;
    let mut tags = Vec::new();
    let mut folders = Vec::new();
    for n in ["zeta", "alpha", "mu"] {
        tags.push(create(&app, "/api/tags", json!({ "name": n })).await.1["id"].clone());
        folders.push(create(&app, "/api/folders", json!({ "name": n })).await.1["id"].clone());
    }
    let b = new_bookmark(
        &app,
        json!({"title": "Ordered", "url": "https://ordered.example", "tag_ids": tags, "folder_ids": folders}),
    )
    .await;
    let names = |v: &Value, k: &str| -> Vec<String> {
        v[k].as_array()
            .unwrap_or_else(|| panic!("{v}"))
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    };
    let want = ["alpha", "mu", "zeta"];
    let (_, page) = app.get_json("/api/bookmarks").await;
    let (_, one) = app
        .get_json(&format!("/api/bookmarks/{}", b["id"].as_str().unwrap()))
        .await;
    let (_, found) = app.get_json("/api/bookmarks?q=ordered").await;
    for v in [&page["items"][0], &one, &found["items"][0]] {
        assert_eq!(names(v, "tags"), want, "{v}");
        assert_eq!(names(v, "folders"), want, "{v}");
    }
}

on_both_backends!(
    crud_and_shapes,
    validation_errors_name_the_field,
    slugs_are_unique_across_users,
    references_must_be_own_and_nothing_half_written,
    listing_filters_sorts_and_pages,
    full_text_search,
    bulk_actions_all_or_nothing,
    folders_and_tags,
    sharing_a_bookmark_with_a_user,
    scope_all_merges_own_and_shared_in_order,
    kept_counts_follow_every_write,
    deep_pages_keep_order_and_filters,
    tags_and_folders_come_in_name_order,
);
