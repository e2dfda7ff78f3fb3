//! The web pages over HTTP: first-run setup, sign-in with the MFA step, the bookmarks, folders
//! and tags pages and their forms, authorization, cross-site form refusal, language and the
//! bookmarks page's weight. (The same flows in a real browser: tests/browser.rs.)

use crate::common::{sign_in_admin, sign_in_user, TestApp, ADMIN_EMAIL, PASSWORD};
use reqwest::Response;
use serde_json::json;

fn location(res: &Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

async fn page(app: &TestApp, path: &str) -> (u16, String) {
    let res = app.get(path).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

async fn form(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> Response {
    app.post(path).form(fields).send().await.unwrap()
}

async fn bookmark_count(app: &TestApp) -> i64 {
    let (_, v) = app.get_json("/api/bookmarks?limit=1").await;
    v["total"].as_i64().unwrap()
}

async fn setup_and_sign_in(app: TestApp) {
    // A fresh instance sends every page to /setup.
    for path in ["/", "/bookmarks", "/login"] {
        let res = app.get(path).send().await.unwrap();
        assert_eq!(res.status(), 303, "{path}");
        assert_eq!(location(&res), "/setup", "{path}");
    }
    let (status, html) = page(&app, "/setup").await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"setup-form\""));

    // Mismatched confirmation: shown next to the field, nothing created.
    let res = form(
        &app,
        "/setup",
        &[
            ("name", "Ada"),
            ("email", ADMIN_EMAIL),
            ("password", PASSWORD),
            ("confirm_password", "other"),
        ],
    )
    .await;
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("class=\"field-error\" id=\"confirm-error\""),
        "{html}"
    );
    assert_eq!(slugbase::users::count(&app.state.db).await.unwrap(), 0);

    let res = form(
        &app,
        "/setup",
        &[
            ("name", "Ada"),
            ("email", ADMIN_EMAIL),
            ("password", PASSWORD),
            ("confirm_password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/");
    let (status, html) = page(&app, "/").await;
    assert_eq!(status, 200);
    assert!(html.contains("Ada"), "the dashboard greets the admin");

    // Setup happens once.
    let guest = app.other_client();
    let res = guest.get("/setup").send().await.unwrap();
    assert_eq!(location(&res), "/login");

    // Wrong password: the form again with the message, no session.
    let res = form(
        &guest,
        "/login",
        &[("email", ADMIN_EMAIL), ("password", "wrong-Passw0rd!")],
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Invalid email or password"));
    assert_eq!(guest.get("/").send().await.unwrap().status(), 303);

    // A saved deep link survives sign-in; another origin does not.
    let res = guest.get("/tags?sort=recently_added").send().await.unwrap();
    assert_eq!(
        location(&res),
        "/login?redirect=%2Ftags%3Fsort%3Drecently%5Fadded"
    );
    let res = form(
        &guest,
        "/login",
        &[
            ("email", ADMIN_EMAIL),
            ("password", PASSWORD),
            ("redirect", "//evil.example/x"),
        ],
    )
    .await;
    assert_eq!(location(&res), "/");
    let res = form(&guest, "/logout", &[]).await;
    assert_eq!(location(&res), "/login");
    assert_eq!(guest.get("/").send().await.unwrap().status(), 303, "signed out");
    let res = form(
        &guest,
        "/login",
        &[
            ("email", ADMIN_EMAIL),
            ("password", PASSWORD),
            ("redirect", "/tags?sort=recently_added"),
        ],
    )
    .await;
    assert_eq!(location(&res), "/tags?sort=recently_added");
}

async fn mfa_challenge(app: TestApp) {
    sign_in_admin(&app).await;
    let (_, v) = crate::common::create(&app, "/api/auth/mfa/enroll/begin", json!({})).await;
    let secret = v["secret"].as_str().expect("secret").to_string();
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let code = slugbase::mfa::code_at(&secret, now()).unwrap();
    let (status, v) =
        crate::common::create(&app, "/api/auth/mfa/enroll/confirm", json!({"code": code})).await;
    assert_eq!(status, 200, "{v}");
    let backup = v["backup_codes"][0].as_str().unwrap().to_string();

    let c = app.other_client();
    let res = form(&c, "/login", &[("email", ADMIN_EMAIL), ("password", PASSWORD)]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/mfa?redirect=%2F");
    assert_eq!(
        c.get("/").send().await.unwrap().status(),
        303,
        "no session before the code"
    );
    let res = form(&c, "/mfa", &[("code", "000000"), ("redirect", "/")]).await;
    let html = res.text().await.unwrap();
    assert!(html.contains("Invalid code"), "{html}");
    let res = form(&c, "/mfa", &[("code", &backup), ("redirect", "/")]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        c.get("/").send().await.unwrap().status(),
        200,
        "signed in with a backup code"
    );

    // The same backup code does not work twice.
    let c2 = app.other_client();
    form(&c2, "/login", &[("email", ADMIN_EMAIL), ("password", PASSWORD)]).await;
    let res = form(&c2, "/mfa", &[("code", &backup), ("redirect", "/")]).await;
    assert!(res.text().await.unwrap().contains("Invalid code"));
    assert_eq!(c2.get("/").send().await.unwrap().status(), 303);
}

async fn bookmark_forms(app: TestApp) {
    sign_in_admin(&app).await;
    let (status, html) = page(&app, "/bookmarks").await;
    assert_eq!(status, 200);
    assert!(html.contains("class=\"empty-state\""));

    // Forwarding without a slug: error next to the slug field, nothing created.
    let res = form(
        &app,
        "/bookmarks",
        &[
            ("url", "https://example.com"),
            ("title", "Ex"),
            ("forwarding_enabled", "true"),
            ("slug", ""),
        ],
    )
    .await;
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"bm-slug-error\""), "{html}");
    assert!(html.contains("<dialog open"), "the dialog stays open");
    assert!(
        html.contains("value=\"https://example.com\""),
        "the values are kept"
    );
    assert_eq!(bookmark_count(&app).await, 0);

    // A bad URL is refused by the API's validation.
    let res = form(
        &app,
        "/bookmarks",
        &[("url", "javascript:alert(1)"), ("title", "x")],
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("id=\"bm-url-error\""));
    assert_eq!(bookmark_count(&app).await, 0);

    let res = form(
        &app,
        "/bookmarks",
        &[
            ("url", "https://docs.example.com/handbook"),
            ("title", "Team handbook"),
            ("forwarding_enabled", "true"),
            ("slug", "handbook"),
            ("tags", "work, Reading"),
            ("return", "/bookmarks?view=table"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/bookmarks?view=table");
    let (_, v) = app.get_json("/api/bookmarks").await;
    let b = &v["items"][0];
    assert_eq!(b["slug"], "handbook");
    assert_eq!(b["forwarding_enabled"], true);
    let mut tags: Vec<&str> = b["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    tags.sort();
    assert_eq!(tags, ["Reading", "work"]);
    let id = b["id"].as_str().unwrap().to_string();

    // The flash message shows once.
    let (_, html) = page(&app, "/bookmarks?view=table").await;
    assert!(html.contains("Bookmark created."));
    assert!(html.contains("tr class=\"bookmark\" data-id=\"") && html.contains("Team handbook"));
    let (_, html) = page(&app, "/bookmarks").await;
    assert!(!html.contains("Bookmark created."));

    // The go link works.
    let res = app.get("/go/handbook").send().await.unwrap();
    assert_eq!(location(&res), "https://docs.example.com/handbook");

    // The list view shows the same bookmarks as rows.
    let (_, html) = page(&app, "/bookmarks?view=list").await;
    assert!(html.contains("class=\"bookmark list-item\""));

    // Fetch title: a private address is refused next to the URL field, values kept.
    let res = form(
        &app,
        "/bookmarks/fetch",
        &[
            ("url", "http://127.0.0.1:9/"),
            ("title", ""),
            ("slug", "kept-slug"),
        ],
    )
    .await;
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("id=\"bm-url-error\"") && html.contains("value=\"kept-slug\""),
        "{html}"
    );

    // Search as you type: the results fragment alone.
    form(
        &app,
        "/bookmarks",
        &[("url", "https://news.example.org"), ("title", "Morning news")],
    )
    .await;
    let (_, frag) = page(&app, "/bookmarks?q=handb&fragment=results").await;
    assert!(frag.starts_with("<div id=\"results\""), "{frag}");
    assert!(frag.contains("Team handbook") && !frag.contains("Morning news"));
    assert!(!frag.contains("<html"));

    // Edit keeps what the form does not show as changed, and the edit dialog is prefilled.
    let (_, html) = page(&app, &format!("/bookmarks?edit={id}")).await;
    assert!(html.contains("value=\"Team handbook\""));
    assert!(html.contains("value=\"work, Reading\"") || html.contains("value=\"Reading, work\""));
    let res = form(
        &app,
        &format!("/bookmarks/{id}"),
        &[
            ("url", "https://docs.example.com/handbook"),
            ("title", "Handbook"),
            ("forwarding_enabled", "true"),
            ("slug", "handbook"),
            ("tags", "work"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let (_, v) = app.get_json(&format!("/api/bookmarks/{id}")).await;
    assert_eq!(v["title"], "Handbook");
    assert_eq!(v["tags"].as_array().unwrap().len(), 1);

    // Bulk: pin both, then delete one.
    let (_, v) = app.get_json("/api/bookmarks").await;
    let ids: Vec<String> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap().into())
        .collect();
    let res = form(
        &app,
        "/bookmarks/bulk",
        &[
            ("ids", &ids[0]),
            ("ids", &ids[1]),
            ("action", "pin"),
            ("return", "/bookmarks"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let (_, v) = app.get_json("/api/bookmarks?pinned=true").await;
    assert_eq!(v["total"], 2);
    let res = form(
        &app,
        &format!("/bookmarks/{id}/delete"),
        &[("return", "/bookmarks")],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(bookmark_count(&app).await, 1);

    // Import a browser file: folders and bookmarks appear, the flash says how many.
    let html_file = std::fs::read("tests/fixtures/firefox-bookmarks.html").unwrap();
    let part = reqwest::multipart::Part::bytes(html_file).file_name("bookmarks.html");
    let res = app
        .post("/bookmarks/import")
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let (_, html) = page(&app, "/bookmarks").await;
    assert!(html.contains("Imported "), "{html}");
    let (_, html) = page(&app, "/folders").await;
    assert!(html.contains("class=\"folder-card\""));

    // Export downloads a file.
    let res = app.get("/bookmarks/export?format=html").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    assert!(res.text().await.unwrap().contains("NETSCAPE-Bookmark-file-1"));
}

async fn folders_and_tags(app: TestApp) {
    sign_in_admin(&app).await;
    let res = form(&app, "/folders", &[("name", ""), ("icon", "")]).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("id=\"folder-name-error\""));
    let res = form(
        &app,
        "/folders",
        &[("name", "Reading list"), ("icon", "BookOpen")],
    )
    .await;
    assert_eq!(res.status(), 303);
    let (_, v) = app.get_json("/api/folders").await;
    assert_eq!(v[0]["name"], "Reading list");
    assert_eq!(v[0]["icon"], "BookOpen");
    let fid = v[0]["id"].as_str().unwrap().to_string();

    // Share the folder with a second user, who then sees its bookmark.
    let bob = sign_in_user(&app, "bob@example.com", "Bob").await;
    let (_, bob_me) = bob.get_json("/api/auth/me").await;
    let bob_id = bob_me["id"].as_str().unwrap().to_string();
    form(
        &app,
        "/bookmarks",
        &[
            ("url", "https://example.com/shared"),
            ("title", "Shared thing"),
            ("folder_ids", &fid),
        ],
    )
    .await;
    let (_, html) = page(&app, &format!("/folders?share={fid}")).await;
    assert!(html.contains("id=\"share-form\"") && html.contains("bob@example.com"));
    let res = form(&app, &format!("/folders/{fid}/share"), &[("user_ids", &bob_id)]).await;
    assert_eq!(res.status(), 303);
    let (_, html) = page(&bob, "/bookmarks").await;
    assert!(html.contains("Shared thing"));
    // Bob sees the shared folder but may not edit, share or delete it.
    let (_, html) = page(&bob, "/folders").await;
    assert!(html.contains("Reading list"));
    assert!(!html.contains(&format!("share={fid}")));
    assert_eq!(page(&bob, &format!("/folders?edit={fid}")).await.0, 404);
    let res = form(&bob, &format!("/folders/{fid}/delete"), &[]).await;
    assert_eq!(res.status(), 404);
    let (_, v) = app.get_json("/api/folders").await;
    assert_eq!(v.as_array().unwrap().len(), 1, "still there");
    // … nor edit the bookmark in it.
    let (_, v) = app.get_json("/api/bookmarks").await;
    let bid = v["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(page(&bob, &format!("/bookmarks?edit={bid}")).await.0, 404);
    let res = form(
        &bob,
        &format!("/bookmarks/{bid}"),
        &[("url", "https://evil.example"), ("title", "x")],
    )
    .await;
    assert_eq!(res.status(), 404);
    let (_, v) = app.get_json(&format!("/api/bookmarks/{bid}")).await;
    assert_eq!(v["title"], "Shared thing");

    // Tags: create, rename (duplicate refused next to the field), delete.
    assert_eq!(form(&app, "/tags", &[("name", "alpha")]).await.status(), 303);
    assert_eq!(form(&app, "/tags", &[("name", "beta")]).await.status(), 303);
    let (_, v) = app.get_json("/api/tags").await;
    let alpha = v
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "alpha")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = form(&app, &format!("/tags/{alpha}"), &[("name", "beta")]).await;
    assert!(res.status().is_client_error());
    let html = res.text().await.unwrap();
    assert!(
        html.contains("<dialog open") && html.contains("id=\"tag-name-error\""),
        "{html}"
    );
    let (_, v) = app.get_json(&format!("/api/tags/{alpha}")).await;
    assert_eq!(v["name"], "alpha", "unchanged");
    assert_eq!(
        form(&app, &format!("/tags/{alpha}/delete"), &[]).await.status(),
        303
    );
    let (_, v) = app.get_json("/api/tags").await;
    assert_eq!(v.as_array().unwrap().len(), 1);
}

async fn cross_site_forms_are_refused(app: TestApp) {
    sign_in_admin(&app).await;
    let res = app
        .post("/bookmarks")
        .header("Origin", "https://evil.example")
        .form(&[("url", "https://example.com"), ("title", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let res = app
        .post("/tags")
        .header("Sec-Fetch-Site", "cross-site")
        .form(&[("name", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(bookmark_count(&app).await, 0);
    let (_, v) = app.get_json("/api/tags").await;
    assert_eq!(v.as_array().unwrap().len(), 0);
    // The same site is fine.
    let host = app.base.trim_start_matches("http://").to_string();
    let res = app
        .post("/tags")
        .header("Origin", format!("http://{host}"))
        .header("Sec-Fetch-Site", "same-origin")
        .form(&[("name", "ok")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
}

async fn language_and_errors(app: TestApp) {
    sign_in_admin(&app).await;
    let guest = app.other_client();
    let res = guest
        .get("/login")
        .header("Accept-Language", "de-DE,de;q=0.9")
        .send()
        .await
        .unwrap();
    let html = res.text().await.unwrap();
    assert!(html.contains("<html lang=\"de\""), "{html}");
    assert!(html.contains("Anmelden"));
    let (_, html) = page(&guest, "/login?lang=de").await;
    assert!(html.contains("<html lang=\"de\""));
    let (_, html) = page(&guest, "/login").await;
    assert!(html.contains("<html lang=\"de\""), "the choice is remembered");

    // Unknown pages and others' things are HTML pages, never JSON or a stack trace.
    let res = app.get("/no/such/page").send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let res = app
        .get("/bookmarks?edit=00000000-0000-0000-0000-000000000000")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(res.text().await.unwrap().contains("<html"));
    // Non-admins get 403 on admin pages.
    let bob = sign_in_user(&app, "bob@example.com", "Bob").await;
    let (status, html) = page(&bob, "/admin/members").await;
    assert_eq!(status, 403, "{html}");
    let (_, html) = page(&bob, "/").await;
    assert!(!html.contains("/admin/members"), "no admin links for members");
}

/// The bookmarks page with 50 bookmarks, with its stylesheet and script, compressed as
/// browsers receive it; and nothing it loads comes from another origin.
async fn page_weight(app: TestApp) {
    sign_in_admin(&app).await;
    let items: Vec<_> = (0..50)
        .map(|i| {
            json!({"url": format!("https://site{i}.example.com/some/longer/path/to/a/page?id={i}"),
                   "title": format!("Bookmark number {i} with a realistic title"),
                   "slug": format!("slug-{i}"), "forwarding_enabled": true,
                   "tags": ["work", "reading", format!("t{}", i % 7)], "folders": ["Projects"]})
        })
        .collect();
    let (status, v) = crate::common::create(&app, "/api/bookmarks/import", json!(items)).await;
    assert_eq!(status, 200, "{v}");
    let res = app
        .get("/bookmarks")
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-encoding"], "gzip");
    let html_bytes = res.bytes().await.unwrap();
    let html = {
        use std::io::Read;
        let mut s = String::new();
        flate2::read::GzDecoder::new(&html_bytes[..])
            .read_to_string(&mut s)
            .unwrap();
        s
    };
    assert_eq!(html.matches("class=\"bookmark card\"").count(), 50);
    let mut total = html_bytes.len();
    let mut assets = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for (i, _) in html.match_indices(attr) {
            let rest = &html[i + attr.len()..];
            let url = &rest[..rest.find('"').unwrap()];
            if url.starts_with("/static/") {
                assets.push(url.to_string());
            }
        }
    }
    assets.sort();
    assets.dedup();
    assert!(assets.len() >= 3, "{assets:?}");
    for a in &assets {
        let res = app.get(a).header("Accept-Encoding", "gzip").send().await.unwrap();
        assert_eq!(res.status(), 200);
        total += res.bytes().await.unwrap().len();
    }
    println!("bookmarks page with 50 bookmarks: {total} bytes compressed, page and assets");
    assert!(total < 150 * 1024, "{total} bytes");
    // Only the bookmarks' own links point elsewhere: nothing is loaded from another origin.
    for tag in ["<script", "<link", "<img", "<iframe"] {
        for (i, _) in html.match_indices(tag) {
            let end = html[i..].find('>').unwrap();
            let el = &html[i..i + end];
            assert!(
                !el.contains("http://") && !el.contains("https://") && !el.contains("src=\"//"),
                "{el}"
            );
        }
    }
}

/// "Fetch title" fills the empty title from the page (this server's own sign-in page, allowed
/// for the test).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_title_fills_the_form() {
    let app = TestApp::spawn_with(
        crate::common::Backend::Sqlite,
        &[("METADATA_ALLOW_HOSTS", "127.0.0.1")],
    )
    .await
    .expect("app");
    sign_in_admin(&app).await;
    let url = app.url("/login");
    let res = form(&app, "/bookmarks/fetch", &[("url", &url), ("title", "")]).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("<dialog open"));
    assert!(html.contains("id=\"bm-title\" name=\"title\" required maxlength=\"500\" placeholder=\"Title\" value=\"Sign in · SlugBase\""), "{html}");
    app.finish().await;
}

on_both_backends!(
    setup_and_sign_in,
    mfa_challenge,
    bookmark_forms,
    folders_and_tags,
    cross_site_forms_are_refused,
    language_and_errors,
    page_weight
);
