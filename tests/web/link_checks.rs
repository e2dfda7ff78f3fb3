//! The dead-link results on the bookmarks page: a badge with a link to the Internet Archive's
//! copy, the "Broken links" filter, and "Check links".

use slugbase::with_db;

use crate::common::{create, sign_in_admin, Backend, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_links_are_marked_and_filtered() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    sign_in_admin(&app).await;
    let (_, dead) = create(
        &app,
        "/api/bookmarks",
        serde_json::json!({"title": "Dead page", "url": "https://dead.example/x"}),
    )
    .await;
    create(
        &app,
        "/api/bookmarks",
        serde_json::json!({"title": "Live page", "url": "https://live.example/"}),
    )
    .await;
    // What a check found (the checker itself is tested in tests/api/link_checks.rs).
    with_db!(&app.state.db, pool => sqlx::query(
        "UPDATE bookmarks SET link_status = 'broken', link_status_code = 404 WHERE id = $1")
        .bind(dead["id"].as_str().unwrap()).execute(pool).await.unwrap().rows_affected());

    let html = app.get("/bookmarks").send().await.unwrap().text().await.unwrap();
    assert!(
        html.contains(r#"<span class="badge badge-danger" title="HTTP 404">Broken link</span>"#),
        "{html}"
    );
    assert!(html.contains(r#"href="https://web.archive.org/web/https://dead.example/x""#));
    assert_eq!(html.matches("badge-danger").count(), 1, "only the dead one");
    assert!(
        html.contains("link_status=broken\" >Broken links</a>"),
        "the filter"
    );

    let html = app
        .get("/bookmarks?link_status=broken")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Dead page") && !html.contains("Live page"));
    assert!(html.contains(r#"aria-current="true">Broken links</a>"#));

    let res = app
        .post("/bookmarks/check-links")
        .form(&[("x", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/bookmarks?link_status=broken");
    app.finish().await;
}
