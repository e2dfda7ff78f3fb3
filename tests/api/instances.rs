//! Two servers on one PostgreSQL database: a new bookmark, a changed go link, a logout and a
//! revoked token on one are seen by the other at once, through the database's change
//! notifications (the caches' own lifetimes are 2–5 s; the test allows 2 s and prints the time).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{pg_admin_url, sign_in_admin, Backend, TestApp, ADMIN_EMAIL, PASSWORD};

const LIMIT: Duration = Duration::from_secs(2);

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A session JWT of the admin, from a sign-in on `app` (the `token` cookie; it works as Bearer).
async fn session_jwt(app: &TestApp) -> String {
    let res = client()
        .post(app.url("/api/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("token="))
        .and_then(|c| c.split(';').next())
        .expect("a token cookie")
        .to_string()
}

async fn call(
    method: reqwest::Method,
    app: &TestApp,
    path: &str,
    bearer: &str,
    body: Option<Value>,
) -> (u16, Value, String) {
    let mut req = client().request(method, app.url(path)).bearer_auth(bearer);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let v = res.json::<Value>().await.unwrap_or(Value::Null);
    (status, v, location)
}

/// Polls `check` until it holds; returns how long that took, or fails after [`LIMIT`].
async fn seen_within(what: &str, mut check: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    loop {
        if check().await {
            let took = started.elapsed();
            println!("{what}: seen by the other instance after {} ms", took.as_millis());
            return took;
        }
        assert!(
            started.elapsed() < LIMIT,
            "{what}: not seen by the other instance within {LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_one_instance_changes_the_other_sees_at_once() {
    if pg_admin_url().is_none() {
        return;
    }
    let Some(a) = TestApp::try_spawn(Backend::Postgres, &[]).await else {
        return;
    };
    let b = TestApp::start(
        Backend::Postgres,
        a.db_url.clone(),
        None,
        tempfile::tempdir().unwrap(),
        &[],
    )
    .await;
    sign_in_admin(&a).await;
    let jwt = session_jwt(&a).await;
    use reqwest::Method;

    // A bookmark with a go link, read through A so that A holds the list and the link table.
    let (s, made, _) = call(Method::POST, &a, "/api/bookmarks", &jwt,
        Some(json!({"title": "Docs", "url": "https://one.example/", "slug": "docs", "forwarding_enabled": true}))).await;
    assert_eq!(s, 201, "{made}");
    let (s, v, _) = call(Method::GET, &a, "/api/bookmarks?limit=10", &jwt, None).await;
    assert_eq!((s, &v["total"]), (200, &json!(1)));
    let (s, _, to) = call(Method::GET, &a, "/go/docs", &jwt, None).await;
    assert_eq!((s, to.as_str()), (302, "https://one.example/"));

    // Through B: a new bookmark, and the go link pointed elsewhere.
    let (s, _, _) = call(
        Method::POST,
        &b,
        "/api/bookmarks",
        &jwt,
        Some(json!({"title": "Wiki", "url": "https://wiki.example/"})),
    )
    .await;
    assert_eq!(s, 201);
    let id = made["id"].as_str().unwrap();
    let (s, v, _) = call(
        Method::PUT,
        &b,
        &format!("/api/bookmarks/{id}"),
        &jwt,
        Some(json!({"url": "https://two.example/"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    seen_within("a bookmark created", async || {
        call(Method::GET, &a, "/api/bookmarks?limit=10", &jwt, None)
            .await
            .1["total"]
            == 2
    })
    .await;
    seen_within("a go link changed", async || {
        call(Method::GET, &a, "/go/docs", &jwt, None).await.2 == "https://two.example/"
    })
    .await;

    // A token used through A, revoked through B.
    let (s, t, _) = call(
        Method::POST,
        &a,
        "/api/tokens",
        &jwt,
        Some(json!({"name": "cli"})),
    )
    .await;
    assert_eq!(s, 201, "{t}");
    let token = t["token"].as_str().unwrap().to_string();
    assert_eq!(call(Method::GET, &a, "/api/auth/me", &token, None).await.0, 200);
    let (s, _, _) = call(
        Method::DELETE,
        &b,
        &format!("/api/tokens/{}", t["id"].as_str().unwrap()),
        &jwt,
        None,
    )
    .await;
    assert_eq!(s, 200);
    seen_within("a token revoked", async || {
        call(Method::GET, &a, "/api/auth/me", &token, None).await.0 == 401
    })
    .await;

    // A session used through A, ended through B.
    let other = session_jwt(&a).await;
    assert_eq!(call(Method::GET, &a, "/api/auth/me", &other, None).await.0, 200);
    let (s, _, _) = call(Method::POST, &b, "/api/auth/logout", &other, None).await;
    assert_eq!(s, 200);
    seen_within("a session ended", async || {
        call(Method::GET, &a, "/api/auth/me", &other, None).await.0 == 401
    })
    .await;

    b.stop().await;
    a.finish().await;
}
