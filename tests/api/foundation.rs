//! The walking skeleton: health, conventions every route shares, OpenAPI, start-up failures.

use crate::common::{body, expect_error, Backend, TestApp};
use serde_json::json;

async fn health_reports_ok(app: TestApp) {
    let res = app.get("/api/health").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("x-request-id").is_some(), "request id header");
    let (_, v) = body(res).await;
    assert_eq!(v, json!({"status": "ok"}));
}

async fn ready_means_migrated(app: TestApp) {
    let res = app.get("/api/ready").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let (_, v) = body(res).await;
    assert_eq!(v["status"], "ready");
    let version = v["schema_version"].as_i64().unwrap();
    assert!(version >= 6, "{v}");
    // A database without this build's newest migration is alive but not ready.
    slugbase::with_db!(&app.state.db, pool => sqlx::query("DELETE FROM slugbase_schema WHERE version = $1")
        .bind(version).execute(pool).await.unwrap().rows_affected());
    let v = expect_error(app.get("/api/ready").send().await.unwrap(), 503, "NOT_READY").await;
    assert!(v["error"].as_str().unwrap().contains("schema"), "{v}");
    let res = app.get("/api/health").send().await.unwrap();
    assert_eq!(res.status(), 200, "liveness is not readiness");
    app.finish().await;
}

async fn unknown_api_route_is_404_envelope(app: TestApp) {
    let res = app.get("/api/nope").send().await.unwrap();
    let v = expect_error(res, 404, "NOT_FOUND").await;
    assert_eq!(v["error"], "Not found");
    let res = app.get("/api/bookmarks-and-more/deeper").send().await.unwrap();
    expect_error(res, 404, "NOT_FOUND").await;
}

async fn wrong_method_is_405_envelope(app: TestApp) {
    let res = app
        .request(reqwest::Method::DELETE, "/api/health")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("allow").is_some(), "Allow header kept");
    expect_error(res, 405, "METHOD_NOT_ALLOWED").await;
}

async fn security_headers_on_every_response(app: TestApp) {
    for path in ["/api/health", "/api/nope", "/", "/openapi.json"] {
        let res = app.get(path).send().await.unwrap();
        let h = res.headers();
        let csp = h
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: CSP {csp}");
        assert!(
            !csp.contains("script-src 'self' 'unsafe-inline'"),
            "{path}: no inline scripts"
        );
        assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff", "{path}");
        assert!(h.get("referrer-policy").is_some(), "{path}");
        assert!(h.get("x-request-id").is_some(), "{path}");
        assert!(
            h.get("access-control-allow-origin").is_none(),
            "{path}: CORS off by default"
        );
    }
}

async fn version_and_csrf_token(app: TestApp) {
    let (s, v) = app.get_json("/api/version").await;
    assert_eq!(s, 200);
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["mode"], "selfhosted");
    let res = app.get("/api/csrf-token").send().await.unwrap();
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("_csrf="))
        .expect("_csrf cookie")
        .to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    let (_, v) = body(res).await;
    let token = v["csrfToken"].as_str().unwrap();
    assert_eq!(token.len(), 64);
    assert!(cookie.starts_with(&format!("_csrf={token}")));
}

async fn openapi_is_served_in_both_forms(app: TestApp) {
    let (s, doc) = app.get_json("/openapi.json").await;
    assert_eq!(s, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "OpenAPI 3");
    let paths = doc["paths"].as_object().expect("paths");
    for p in ["/api/health", "/api/version", "/api/csrf-token"] {
        assert!(paths.contains_key(p), "{p} in the spec");
    }
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path} has responses"
            );
        }
    }
    let res = app.get("/openapi.yaml").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("/api/health"));
    let res = app.get("/api-docs").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("/api-docs/swagger-ui-bundle.js"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no third-party assets"
    );
    let res = app.get("/api-docs/swagger-ui-bundle.js").send().await.unwrap();
    assert_eq!(res.status(), 200);
}

on_both_backends!(
    health_reports_ok,
    ready_means_migrated,
    unknown_api_route_is_404_envelope,
    wrong_method_is_405_envelope,
    security_headers_on_every_response,
    version_and_csrf_token,
    openapi_is_served_in_both_forms,
);

#[tokio::test]
async fn api_docs_can_be_turned_off() {
    let app = TestApp::spawn_with(Backend::Sqlite, &[("SLUGBASE_API_DOCS", "false")])
        .await
        .unwrap();
    let res = app.get("/api-docs").send().await.unwrap();
    assert_eq!(res.status(), 404);
    let res = app.get("/openapi.json").send().await.unwrap();
    assert_eq!(res.status(), 200, "the document itself stays available");
    app.finish().await;
}

#[tokio::test]
async fn sqlite_database_and_folder_are_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/deeper/slugbase.db");
    let app = TestApp::start(
        Backend::Sqlite,
        path.display().to_string(),
        None,
        tempfile::tempdir().unwrap(),
        &[],
    )
    .await;
    assert!(path.exists(), "database file created with its folders");
    let (s, _) = app.get_json("/api/health").await;
    assert_eq!(s, 200);
    app.finish().await;
    // A second start on the same file migrates nothing and still serves.
    let app = TestApp::start(
        Backend::Sqlite,
        path.display().to_string(),
        None,
        tempfile::tempdir().unwrap(),
        &[],
    )
    .await;
    assert_eq!(app.get_json("/api/health").await.0, 200);
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_migrate_one_empty_postgres_at_once() {
    let Some(admin) = crate::common::pg_admin_url() else {
        return;
    };
    let (name, url) = crate::common::fresh_pg_database(&admin).await;
    let a = TestApp::start(
        Backend::Postgres,
        url.clone(),
        None,
        tempfile::tempdir().unwrap(),
        &[],
    );
    let b = TestApp::start(
        Backend::Postgres,
        url.clone(),
        None,
        tempfile::tempdir().unwrap(),
        &[],
    );
    let (a, b) = tokio::join!(a, b);
    assert_eq!(a.get_json("/api/health").await.0, 200);
    assert_eq!(b.get_json("/api/health").await.0, 200);
    let slugbase::db::Db::Postgres(pool) = &a.state.db else {
        panic!("postgres")
    };
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM slugbase_schema")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(
        n as usize,
        slugbase::db::MIGRATIONS.len(),
        "each migration recorded once"
    );
    a.stop().await;
    b.stop().await;
    crate::common::drop_pg_database(&admin, &name).await;
}

/// Runs the real binary with `env` and returns (exit code, stderr).
fn run_binary(env: &[(&str, &str)]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_slugbase"))
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn unreachable_postgres_exits_1_with_one_line() {
    let (code, stderr) = run_binary(&[
        ("DB_TYPE", "postgresql"),
        ("DATABASE_URL", "postgres://127.0.0.1:1/x"),
    ]);
    assert_eq!(code, 1, "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(lines[0].contains("unreachable"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bad_settings_exit_1_naming_the_variable() {
    for (env, needle) in [
        (vec![("PORT", "notaport")], "PORT"),
        (vec![("DB_TYPE", "mysql")], "DB_TYPE"),
        (vec![("NODE_ENV", "production")], "JWT_SECRET"),
        (
            vec![
                ("NODE_ENV", "production"),
                ("JWT_SECRET", "0123456789abcdef0123456789abcdef-jwt"),
                ("SESSION_SECRET", "0123456789abcdef0123456789abcdef-session"),
                ("ENCRYPTION_KEY", "not-hex-but-long-enough-0123456789abcdef"),
            ],
            "ENCRYPTION_KEY",
        ),
        (vec![("JWT_EXPIRES_IN", "soon")], "JWT_EXPIRES_IN"),
    ] {
        let (code, stderr) = run_binary(&env);
        assert_eq!(code, 1, "{env:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{env:?}: {stderr}");
        assert!(stderr.contains(needle), "{env:?}: {stderr}");
    }
}

#[test]
fn port_in_use_exits_1() {
    let blocker = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = blocker.local_addr().unwrap().port().to_string();
    let (code, stderr) = run_binary(&[("HOST", "127.0.0.1"), ("PORT", &port)]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.lines().last().unwrap_or("").contains("cannot listen"),
        "{stderr}"
    );
}

#[test]
fn every_api_route_is_registered_with_its_openapi_entry() {
    // API routes are only added through utoipa-axum's `routes!`, which adds the OpenAPI path from
    // the handler's annotation; a plain `.route("/api…")` would be a route without a spec entry.
    let mut offenders = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src"
    ))];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                for (i, line) in text.lines().enumerate() {
                    if line.contains(".route(\"/api/") || line.contains(".route(\"/api\"") {
                        offenders.push(format!("{}:{}", p.display(), i + 1));
                    }
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "routes outside the OpenAPI router: {offenders:?}"
    );
}
