//! Dead-link checks against a local HTTP server that answers 200, 404, 500, a redirect loop, a
//! hang, and 405 to HEAD: every status right, nothing checked twice within the interval, the
//! `link_status` filter, and private addresses refused unless allowed — on both databases.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::common::{create, sign_in_admin, Backend, TestApp};

type Hits = Arc<Mutex<HashMap<String, usize>>>;

async fn answer(State(hits): State<Hits>, method: Method, Path(what): Path<String>) -> Response {
    *hits.lock().unwrap().entry(what.clone()).or_default() += 1;
    match what.as_str() {
        "ok" | "private" => "fine".into_response(),
        "gone" => StatusCode::NOT_FOUND.into_response(),
        "error" => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        "loop" => (StatusCode::FOUND, [("location", "/loop")]).into_response(),
        "hang" => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            "late".into_response()
        }
        "nohead" if method == Method::HEAD => StatusCode::METHOD_NOT_ALLOWED.into_response(),
        "nohead" => "fine".into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The local site: its base URL and the hits per path.
async fn site() -> (String, Hits) {
    let hits: Hits = Arc::default();
    let app = axum::Router::new()
        .route("/{what}", axum::routing::any(answer))
        .with_state(hits.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, hits)
}

async fn spawn(backend: Backend, extra: &[(&str, &str)]) -> Option<TestApp> {
    let mut env = vec![("LINK_CHECK_TIMEOUT", "3s"), ("LINK_CHECK_HOST_DELAY", "0s")];
    env.extend_from_slice(extra);
    TestApp::try_spawn(backend, &env).await
}

async fn by_title(app: &TestApp, query: &str) -> HashMap<String, Value> {
    let (s, v) = app.get_json(&format!("/api/bookmarks?limit=100{query}")).await;
    assert_eq!(s, 200, "{v}");
    let items = v["items"].as_array().cloned().unwrap_or_default();
    items
        .into_iter()
        .map(|b| (b["title"].as_str().unwrap().to_string(), b))
        .collect()
}

fn hits_of(hits: &Hits, what: &str) -> usize {
    hits.lock().unwrap().get(what).copied().unwrap_or(0)
}

async fn statuses_are_right(backend: Backend) {
    let Some(app) = spawn(
        backend,
        &[
            ("METADATA_ALLOW_HOSTS", "127.0.0.1"),
            ("LINK_CHECK_INTERVAL", "1h"),
        ],
    )
    .await
    else {
        return;
    };
    let (base, hits) = site().await;
    sign_in_admin(&app).await;
    for what in ["ok", "gone", "error", "loop", "hang", "nohead"] {
        let (s, v) = create(
            &app,
            "/api/bookmarks",
            json!({"title": what, "url": format!("{base}/{what}")}),
        )
        .await;
        assert_eq!(s, 201, "{v}");
        assert_eq!(v["link_status"], "unknown", "not checked yet: {v}");
        assert_eq!(v["link_checked_at"], Value::Null);
    }
    let res = app.post_json("/api/bookmarks/check-links", json!({})).await;
    assert_eq!(res.status(), 202);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["queued"], 6, "{v}");

    let want: HashMap<&str, (&str, Value)> = HashMap::from([
        ("ok", ("ok", json!(200))),
        ("gone", ("broken", json!(404))),
        ("error", ("broken", json!(500))),
        ("loop", ("broken", Value::Null)),
        ("nohead", ("ok", json!(200))),
    ]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = by_title(&app, "").await;
        let done = want.iter().all(|(t, (status, code))| {
            now[*t]["link_status"] == *status && now[*t]["link_status_code"] == *code
        });
        if done && hits_of(&hits, "hang") > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "checks not done: {now:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The hang ends in the timeout (3 s): no clear answer.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let now = by_title(&app, "").await;
    assert_eq!(now["hang"]["link_status"], "unknown");
    assert_eq!(now["hang"]["link_status_code"], Value::Null);
    for b in now.values() {
        assert!(b["link_checked_at"].is_string(), "checked: {b}");
    }
    assert_eq!(hits_of(&hits, "nohead"), 2, "HEAD, then GET");
    assert!(hits_of(&hits, "loop") > 3, "the loop was followed a few times");

    // The filter.
    let broken = by_title(&app, "&link_status=broken").await;
    let mut names: Vec<&String> = broken.keys().collect();
    names.sort();
    assert_eq!(names, ["error", "gone", "loop"]);
    assert_eq!(by_title(&app, "&link_status=ok").await.len(), 2);
    assert_eq!(by_title(&app, "&link_status=unknown").await.len(), 1);

    // Within the interval nothing is checked again, asked or not.
    let before: HashMap<String, usize> = hits.lock().unwrap().clone();
    let res = app.post_json("/api/bookmarks/check-links", json!({})).await;
    assert_eq!(res.status(), 202);
    assert_eq!(res.json::<Value>().await.unwrap()["queued"], 0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(*hits.lock().unwrap(), before, "nothing checked twice");
    app.finish().await;
}

async fn private_addresses_need_allowing(backend: Backend) {
    let Some(app) = spawn(backend, &[]).await else {
        return;
    };
    let (base, hits) = site().await;
    sign_in_admin(&app).await;
    let (s, v) = create(
        &app,
        "/api/bookmarks",
        json!({"title": "intranet", "url": format!("{base}/private")}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let res = app.post_json("/api/bookmarks/check-links", json!({})).await;
    assert_eq!(res.status(), 202);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let b = &by_title(&app, "").await["intranet"];
        if b["link_checked_at"].is_string() {
            break;
        }
        assert!(Instant::now() < deadline, "never checked: {b}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let b = &by_title(&app, "").await["intranet"];
    assert_eq!(b["link_status"], "unknown", "{b}");
    assert_eq!(hits_of(&hits, "private"), 0, "a private address is not visited");
    app.finish().await;
}

macro_rules! both {
    ($($name:ident),*) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() { super::$name(crate::common::Backend::Sqlite).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() { super::$name(crate::common::Backend::Postgres).await }
        }
    )*};
}

both!(statuses_are_right, private_addresses_need_allowing);
