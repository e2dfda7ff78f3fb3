//! Drop-in upgrade: databases written by the original SlugBase 1.0.0 (shared/fixtures) open in
//! place, with the original's secrets, and behave as its users expect.

use std::path::PathBuf;

use crate::common::{body, expect_error, Backend, TestApp};
use serde_json::{json, Value};
use slugbase::with_db;

fn fixture_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/fixtures/upstream-1.0.0"
    ));
    if dir.join("fixture.json").exists() {
        return Some(dir);
    }
    if std::env::var("CI").map(|v| v == "true").unwrap_or(false) {
        panic!(
            "CI=true but the upgrade fixtures are missing at {}",
            dir.display()
        );
    }
    eprintln!("skipping: the upgrade fixtures are not at {}", dir.display());
    None
}

fn fixture() -> Option<(PathBuf, Value)> {
    let dir = fixture_dir()?;
    let v: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("fixture.json")).unwrap()).unwrap();
    Some((dir, v))
}

fn secrets(fx: &Value) -> Vec<(&'static str, String)> {
    vec![
        (
            "JWT_SECRET",
            fx["secrets"]["JWT_SECRET"].as_str().unwrap().to_string(),
        ),
        (
            "SESSION_SECRET",
            fx["secrets"]["SESSION_SECRET"].as_str().unwrap().to_string(),
        ),
        (
            "ENCRYPTION_KEY",
            fx["secrets"]["ENCRYPTION_KEY"].as_str().unwrap().to_string(),
        ),
    ]
}

async fn login(app: &TestApp, email: &str, password: &str) -> (u16, Value) {
    body(
        app.post("/api/auth/login")
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Everything the fixture README promises, over HTTP.
async fn behaves_like_the_original(app: &TestApp, fx: &Value, db: &str) {
    let per = &fx["per_db"][db];
    assert_eq!(
        app.get_json("/api/auth/setup/status").await.1,
        json!({"initialized": true})
    );

    // Admin: password (bcrypt, upgraded on login), admin rights.
    let admin = app.other_client();
    let (s, v) = login(&admin, "admin@example.com", "Admin-Passw0rd!").await;
    assert_eq!((s, &v["is_admin"]), (200, &json!(true)), "{v}");
    let hash: String = with_db!(&app.state.db, pool => sqlx::query_scalar(
        "SELECT password_hash FROM users WHERE email = 'admin@example.com'").fetch_one(pool).await.unwrap());
    assert!(hash.starts_with("$argon2id$"), "bcrypt rehashed at login");
    assert_eq!(admin.get_json("/api/admin/users").await.0, 200);

    // Bob: MFA from the recorded secret; the used backup code is refused, an unused one works once.
    let bob_mfa = &per["mfa"]["bob"];
    let secret = bob_mfa["totp_secret_base32"].as_str().unwrap();
    let used = bob_mfa["used_backup_code"].as_str().unwrap();
    let unused = bob_mfa["backup_codes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["used"] == false)
        .unwrap()["code"]
        .as_str()
        .unwrap()
        .to_string();
    let bob = app.other_client();
    let (s, v) = login(&bob, "bob@example.com", "Bob-Passw0rd!").await;
    assert_eq!((s, v), (200, json!({"mfa_required": true})));
    expect_error(
        bob.post("/api/auth/mfa/verify")
            .json(&json!({"code": used}))
            .send()
            .await
            .unwrap(),
        401,
        "INVALID_CODE",
    )
    .await;
    let now = chrono::Utc::now().timestamp() as u64;
    let code = slugbase::mfa::code_at(secret, now).unwrap();
    let (s, v) = body(
        bob.post("/api/auth/mfa/verify")
            .json(&json!({"code": code}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, v["email"].as_str()), (200, Some("bob@example.com")), "{v}");
    for round in 0..2 {
        let c = app.other_client();
        login(&c, "bob@example.com", "Bob-Passw0rd!").await;
        let status = c
            .post("/api/auth/mfa/verify")
            .json(&json!({"code": unused}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        assert_eq!(
            status,
            if round == 0 { 200 } else { 401 },
            "unused backup code works exactly once"
        );
    }

    // Carol: pending enrolment is not enforced.
    let carol = app.other_client();
    let (s, v) = login(&carol, "carol@example.com", "Carol-Passw0rd!").await;
    assert_eq!((s, v["email"].as_str()), (200, Some("carol@example.com")));
    assert_eq!(carol.get_json("/api/auth/mfa/status").await.1["enabled"], false);

    // Both API tokens.
    for (who, email) in [("admin", "admin@example.com"), ("bob", "bob@example.com")] {
        let token = per["api_tokens"][who]["token"].as_str().unwrap();
        let res = crate::common::new_client()
            .get(app.url("/api/auth/me"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let (s, me) = body(res).await;
        assert_eq!((s, me["email"].as_str()), (200, Some(email)), "{who}'s token");
    }

    // Every recorded slug forwards to its URL, verbatim.
    for (slug, url) in fx["go_links"]["admin_forwarding_examples"].as_object().unwrap() {
        let res = admin.get(&format!("/go/{slug}")).send().await.unwrap();
        assert_eq!(res.status(), 302, "{slug}");
        assert_eq!(
            res.headers().get("location").unwrap().to_str().unwrap(),
            url.as_str().unwrap(),
            "{slug}"
        );
    }
    for (slug, _) in fx["go_links"]["admin_slug_without_forwarding_example"]
        .as_object()
        .unwrap()
    {
        if slug.starts_with("expected") {
            continue;
        }
        assert_eq!(
            admin.get(&format!("/go/{slug}")).send().await.unwrap().status(),
            404,
            "{slug} has forwarding off"
        );
    }
    assert_eq!(
        app.other_client()
            .get("/go/fx-001")
            .send()
            .await
            .unwrap()
            .status(),
        302,
        "anonymous: to the login page"
    );

    // Shares: bob sees Reading and fx-003 (team share, which the original got wrong); carol fx-006.
    let (_, list) = bob.get_json("/api/bookmarks?limit=1").await;
    assert_eq!(
        list["total"],
        fx["counts_per_user"]["bob"]["bookmarks_visible_list_scope_all"]
    );
    let (_, folders) = bob.get_json("/api/folders").await;
    assert_eq!(folders[0]["name"], "Reading");
    assert_eq!(folders[0]["folder_type"], "shared");
    assert_eq!(
        bob.get("/go/fx-003").send().await.unwrap().status(),
        302,
        "team share forwards"
    );
    let (_, teams) = bob.get_json("/api/teams").await;
    assert_eq!(teams[0]["name"], "Platform");
    assert_eq!(
        bob.get_json("/api/go/preferences")
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let (_, carols) = carol.get_json("/api/bookmarks").await;
    assert_eq!(carols["total"], 1);
    let res = carol.get("/go/fx-006").send().await.unwrap();
    assert_eq!(
        res.headers().get("location").unwrap(),
        fx["go_links"]["admin_forwarding_examples"]["fx-006"]
            .as_str()
            .unwrap()
    );

    // Counts per user.
    for (who, client) in [("admin", &admin), ("bob", &bob), ("carol", &carol)] {
        let c = &fx["counts_per_user"][who];
        let (_, mine) = client.get_json("/api/bookmarks?scope=mine&limit=1").await;
        assert_eq!(mine["total"], c["bookmarks_owned"], "{who} bookmarks");
        let (_, f) = client.get_json("/api/folders?scope=mine").await;
        assert_eq!(
            json!(f.as_array().unwrap().len()),
            c["folders_owned"],
            "{who} folders"
        );
        let (_, t) = client.get_json("/api/tags").await;
        assert_eq!(json!(t.as_array().unwrap().len()), c["tags_owned"], "{who} tags");
    }
    let (_, pinned) = admin.get_json("/api/bookmarks?pinned=true&limit=1").await;
    assert_eq!(pinned["total"], 12);

    // The OIDC provider is listed and its secret decrypts with the fixture's key.
    let (_, providers) = app.get_json("/api/auth/providers").await;
    assert_eq!(providers[0]["provider_key"], fx["oidc_provider"]["provider_key"]);
    let stored: String = with_db!(&app.state.db, pool => sqlx::query_scalar(
        "SELECT client_secret FROM oidc_providers").fetch_one(pool).await.unwrap());
    assert_eq!(
        app.state.cipher.decrypt(&stored).unwrap(),
        fx["oidc_provider"]["client_secret"].as_str().unwrap()
    );
    assert!(
        slugbase::crypto::Cipher::new([9u8; 32]).decrypt(&stored).is_err(),
        "and with nothing else"
    );

    // Admins manage it; the projection has neither client id nor secret.
    let fxp = &fx["oidc_provider"];
    let (s, list) = admin.get_json("/api/oidc-providers").await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(
        json!(list.as_array().unwrap().len()),
        fx["expected_queries"]["admin GET /api/oidc-providers count"]
    );
    let p = &list[0];
    assert_eq!(p["id"], per["oidc_provider_id"]);
    assert_eq!(
        (
            &p["provider_key"],
            &p["issuer_url"],
            &p["scopes"],
            &p["default_role"]
        ),
        (
            &fxp["provider_key"],
            &fxp["issuer_url"],
            &fxp["scopes"],
            &fxp["default_role"]
        )
    );
    assert_eq!(p["auto_create_users"], fxp["auto_create_users"]);
    for hidden in fxp["expected_public_projection_omits"].as_array().unwrap() {
        assert!(p.get(hidden.as_str().unwrap()).is_none(), "{hidden} is not shown");
    }
    let text = admin
        .get("/api/oidc-providers")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains(fxp["client_secret"].as_str().unwrap()));

    // Starting its sign-in redirects to the original's derived endpoint with the stored client
    // id. The provider's address (TEST-NET-3) is never contacted: discovery is refused by the
    // address rules before any connection, so the derived endpoint is used.
    let res = app
        .other_client()
        .get("/api/auth/fixture-idp")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let to = res
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let expected = fxp["expected_authorization_url_derived"].as_str().unwrap();
    assert!(to.starts_with(&format!("{expected}?")), "{to}");
    let q: std::collections::HashMap<String, String> =
        url::Url::parse(&to).unwrap().query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], fxp["client_id"].as_str().unwrap());
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(
        q["redirect_uri"],
        format!("{}/api/auth/fixture-idp/callback", app.state.config.base_url)
    );
    // A callback that does not match the sign-in goes back to the sign-in page, without
    // contacting the provider either.
    let res = app
        .other_client()
        .get("/api/auth/fixture-idp/callback?code=x&state=y")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .ends_with("/login?error=auth_failed"));
}

async fn count_rows(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for t in [
        "users",
        "bookmarks",
        "folders",
        "tags",
        "bookmark_tags",
        "bookmark_folders",
        "api_tokens",
        "mfa_backup_codes",
    ] {
        let sql = format!("SELECT COUNT(*) FROM {t}");
        out.push(with_db!(&app.state.db, pool => sqlx::query_scalar::<_, i64>(&sql).fetch_one(pool).await.unwrap()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_fixture_opens_in_place() {
    let Some((dir, fx)) = fixture() else { return };
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("slugbase.sqlite");
    std::fs::copy(dir.join("slugbase.sqlite"), &path).unwrap();
    let env = secrets(&fx);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::start(
        Backend::Sqlite,
        path.display().to_string(),
        None,
        tempfile::tempdir().unwrap(),
        &env,
    )
    .await;
    let backups: Vec<_> = std::fs::read_dir(work.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".backup-"))
        .collect();
    assert_eq!(
        backups.len(),
        1,
        "a backup copy is taken before the first upgrade"
    );
    let before = count_rows(&app).await;
    behaves_like_the_original(&app, &fx, "sqlite").await;
    app.finish().await;

    // A second start applies nothing and loses nothing.
    let app = TestApp::start(
        Backend::Sqlite,
        path.display().to_string(),
        None,
        tempfile::tempdir().unwrap(),
        &env,
    )
    .await;
    let n: i64 = with_db!(&app.state.db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM slugbase_schema").fetch_one(pool).await.unwrap());
    assert_eq!(n as usize, slugbase::db::MIGRATIONS.len());
    assert_eq!(
        count_rows(&app).await[..4],
        before[..4],
        "users, bookmarks, folders, tags unchanged"
    );
    app.finish().await;
    let backups = std::fs::read_dir(work.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".backup-"))
        .count();
    assert_eq!(backups, 1, "no second backup when nothing is upgraded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_fixture_opens_in_place() {
    let Some((dir, fx)) = fixture() else { return };
    let Some(admin) = crate::common::pg_admin_url() else {
        return;
    };
    let (name, url) = crate::common::fresh_pg_database(&admin).await;
    let out = std::process::Command::new("psql")
        .args([url.as_str(), "-q", "-v", "ON_ERROR_STOP=1", "-f"])
        .arg(dir.join("postgres.sql"))
        .output()
        .expect("psql is installed");
    assert!(
        out.status.success(),
        "restoring the dump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let env = secrets(&fx);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::start(
        Backend::Postgres,
        url.clone(),
        None,
        tempfile::tempdir().unwrap(),
        &env,
    )
    .await;
    let before = count_rows(&app).await;
    behaves_like_the_original(&app, &fx, "postgresql").await;
    app.stop().await;
    let app = TestApp::start(
        Backend::Postgres,
        url.clone(),
        None,
        tempfile::tempdir().unwrap(),
        &env,
    )
    .await;
    assert_eq!(count_rows(&app).await[..4], before[..4]);
    app.stop().await;
    crate::common::drop_pg_database(&admin, &name).await;
}

#[test]
fn doctor_reports_without_changing_the_file() {
    let Some((dir, fx)) = fixture() else { return };
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("slugbase.sqlite");
    std::fs::copy(dir.join("slugbase.sqlite"), &path).unwrap();
    let sum = |p: &std::path::Path| {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(std::fs::read(p).unwrap()))
    };
    let before = sum(&path);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_slugbase"))
        .arg("doctor")
        .env_clear()
        .env("DB_PATH", &path)
        .env("JWT_SECRET", fx["secrets"]["JWT_SECRET"].as_str().unwrap())
        .env(
            "ENCRYPTION_KEY",
            fx["secrets"]["ENCRYPTION_KEY"].as_str().unwrap(),
        )
        .current_dir(work.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("written by the original SlugBase"), "{text}");
    assert!(text.contains("bookmarks: 130"), "{text}");
    assert!(text.contains("0 unreadable"), "{text}");
    assert_eq!(sum(&path), before, "doctor changed the file");
    let siblings = std::fs::read_dir(work.path()).unwrap().count();
    assert_eq!(
        siblings,
        1 + usize::from(work.path().join(".slugbase-secrets").exists()),
        "no -wal, -shm or backup left behind"
    );
}

#[tokio::test]
async fn newer_schema_is_refused_untouched() {
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("slugbase.db");
    let app = TestApp::start(
        Backend::Sqlite,
        path.display().to_string(),
        None,
        tempfile::tempdir().unwrap(),
        &[],
    )
    .await;
    with_db!(&app.state.db, pool => sqlx::query("INSERT INTO slugbase_schema (version, name, applied_at) VALUES (999, 'from_the_future', 'x')")
        .execute(pool).await.unwrap().rows_affected());
    app.finish().await;
    let config = slugbase::Config::from_env(&crate::common::test_env(
        Backend::Sqlite,
        &path.display().to_string(),
        &[],
    ))
    .unwrap();
    let err = match slugbase::Application::build(config).await {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a newer schema must be refused"),
    };
    assert!(err.contains("newer than this SlugBase"), "{err}");
}
