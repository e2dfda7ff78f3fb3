//! Quick capture: `/bookmarks/new?url=&title=&description=` opens the create form filled in, the
//! web app manifest makes SlugBase a share target for it, and the profile offers a bookmarklet.

use serde_json::Value;

use crate::common::{sign_in_admin, Backend, TestApp};

async fn page(app: &TestApp, path: &str) -> (u16, String) {
    let res = app.get(path).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_opens_filled_in() {
    // The page fetched for a missing title is this server's own sign-in page, allowed here.
    let app = TestApp::spawn_with(Backend::Sqlite, &[("METADATA_ALLOW_HOSTS", "127.0.0.1")])
        .await
        .expect("app");
    sign_in_admin(&app).await;
    let signed_out = app.other_client();
    let path = "/bookmarks/new?url=https%3A%2F%2Fexample.com%2F";
    let res = signed_out.get(path).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap();
    assert!(
        to.starts_with("/login?redirect=%2Fbookmarks%2Fnew%3Furl%3Dhttps%253A"),
        "back to the form after signing in: {to}"
    );

    // Everything given: nothing fetched, every field filled.
    let (status, html) = page(
        &app,
        "/bookmarks/new?url=https%3A%2F%2Fexample.com%2Fa&title=Given+title&description=Why+it+matters&slug=given",
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains("<dialog open"), "{html}");
    assert!(html.contains(
        r#"id="bm-url" name="url" type="url" required placeholder="https://" value="https://example.com/a""#
    ));
    assert!(html.contains(r#"value="Given title""#));
    assert!(html.contains(">Why it matters</textarea>"));
    assert!(html.contains(r#"value="given""#));

    // No title: the page's own is fetched.
    let own = app.url("/login");
    let (_, html) = page(&app, &format!("/bookmarks/new?url={}", enc(&own))).await;
    assert!(html.contains(r#"value="Sign in · SlugBase""#), "{html}");

    // A phone shares a text with the link in it.
    let (_, html) = page(
        &app,
        &format!(
            "/bookmarks/new?title=Shared&text={}",
            enc("Look at this https://example.org/x")
        ),
    )
    .await;
    assert!(html.contains(r#"value="https://example.org/x""#), "{html}");
    assert!(html.contains(">Look at this https://example.org/x</textarea>"));

    // A page that cannot be fetched leaves the title empty, and is no error.
    let (status, html) = page(&app, "/bookmarks/new?url=http%3A%2F%2F10.255.255.1%2F").await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"value="http://10.255.255.1/""#));
    assert!(!html.contains("aria-invalid=\"true\""), "{html}");

    // The link from a missing go link's page opens the form with its slug.
    let (_, html) = page(&app, "/bookmarks?new=1&slug=nope").await;
    assert!(
        html.contains("<dialog open") && html.contains(r#"value="nope""#),
        "{html}"
    );

    // Saving the filled-in form creates the bookmark.
    let res = app
        .post("/bookmarks")
        .form(&[("url", "https://example.com/a"), ("title", "Given title")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let (_, v) = app.get_json("/api/bookmarks?limit=5").await;
    assert_eq!(v["total"], 1, "{v}");
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifest_and_bookmarklet() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let res = app.get("/manifest.webmanifest").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/manifest+json");
    let m: Value = res.json().await.unwrap();
    assert_eq!(m["display"], "standalone");
    assert_eq!(m["share_target"]["action"], "/bookmarks/new");
    assert_eq!(m["share_target"]["method"], "GET");
    assert_eq!(m["share_target"]["params"]["url"], "url");
    assert_eq!(m["share_target"]["params"]["text"], "text");
    let icon = m["icons"][0]["src"].as_str().unwrap();
    assert_eq!(app.get(icon).send().await.unwrap().status(), 200);

    sign_in_admin(&app).await;
    let (_, html) = page(&app, "/bookmarks").await;
    assert!(html.contains(r#"<link rel="manifest" href="/manifest.webmanifest">"#));
    let (status, html) = page(&app, "/profile").await;
    assert_eq!(status, 200);
    let start = html.find(r#"id="bookmarklet" href=""#).expect("the bookmarklet") + 23;
    let href = &html[start..start + html[start..].find('"').unwrap()];
    assert!(href.starts_with("javascript:"), "{href}");
    assert!(
        href.contains("/bookmarks/new?url=") && href.contains("location.href"),
        "{href}"
    );
    app.finish().await;
}
