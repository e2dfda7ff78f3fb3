//! Prometheus metrics at `/metrics`: off unless `METRICS_ENABLED`, behind `METRICS_TOKEN` when
//! set, and counters that move with requests and go-link forwards.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{create, sign_in_admin, Backend, TestApp};

const TOKEN: &str = "metrics-token-0123456789";

/// The value of the sample line that starts with `series` (name and labels), if any.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn scrape(app: &TestApp) -> String {
    let res = app
        .get("/metrics")
        .header("authorization", format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    res.text().await.unwrap()
}

async fn counters_move(backend: Backend) {
    let off = match backend {
        Backend::Sqlite => Some(TestApp::spawn(backend).await),
        Backend::Postgres => TestApp::try_spawn(backend, &[]).await,
    };
    let Some(off) = off else { return };
    let res = off.get("/metrics").send().await.unwrap();
    assert_eq!(res.status(), 404, "off by default");
    off.finish().await;

    let Some(app) =
        TestApp::try_spawn(backend, &[("METRICS_ENABLED", "true"), ("METRICS_TOKEN", TOKEN)]).await
    else {
        return;
    };
    for auth in [None, Some("Bearer wrong-token")] {
        let mut req = app.get("/metrics");
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401, "{auth:?}");
        assert!(res.headers().contains_key("www-authenticate"));
    }
    let first = scrape(&app).await;
    assert!(first.contains("slugbase_build_info{version=\""), "{first}");
    assert!(first.contains("# TYPE slugbase_http_request_duration_seconds histogram"));
    assert!(
        sample(&first, "slugbase_db_pool_connections").is_some_and(|n| n >= 1.0),
        "{first}"
    );
    assert_eq!(sample(&first, "slugbase_mail_outbox_queued"), Some(0.0));

    sign_in_admin(&app).await;
    let (s, v) = create(
        &app,
        "/api/bookmarks",
        json!({"title": "GitHub", "url": "https://github.com", "slug": "gh", "forwarding_enabled": true}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    for _ in 0..3 {
        let res = app.get("/go/gh").send().await.unwrap();
        assert_eq!(res.status(), 302);
    }
    let res = app
        .get("/api/bookmarks/00000000-0000-4000-8000-000000000000")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    // Visits are written within a second or two: the flush counters follow.
    let deadline = Instant::now() + Duration::from_secs(15);
    let text = loop {
        let text = scrape(&app).await;
        if sample(&text, "slugbase_visit_flushes_total").is_some_and(|n| n >= 1.0) {
            break text;
        }
        assert!(Instant::now() < deadline, "no visit flush counted:\n{text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(sample(&text, "slugbase_go_forwards_total"), Some(3.0), "{text}");
    assert_eq!(
        sample(&text, "slugbase_visit_rows_flushed_total"),
        Some(1.0),
        "three visits of one bookmark, one row: {text}"
    );
    // By route template, never by raw path.
    assert_eq!(
        sample(
            &text,
            "slugbase_http_requests_total{method=\"GET\",route=\"/go/{*rest}\",status=\"302\"}"
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "slugbase_http_request_duration_seconds_count{method=\"GET\",route=\"/go/{*rest}\"}"
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "slugbase_http_requests_total{method=\"GET\",route=\"/api/bookmarks/{id}\",status=\"404\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert!(!text.contains("00000000-0000"), "no raw paths");
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_move_sqlite() {
    counters_move(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_move_postgres() {
    counters_move(Backend::Postgres).await;
}
