//! AI suggestions against a local stand-in for an OpenAI-compatible server
//! (`common::ai::FakeAi`, no network): the admin's settings (key stored encrypted, never shown),
//! the model list, suggestions checked whatever the model answers, the cache, the timeout, the
//! error envelope, the per-user switch, the rate limit — and that without AI configured nothing
//! calls out and the pages show no AI controls.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use slugbase::with_db;

use crate::common::ai::{suggestion, FakeAi, Reply};
use crate::common::{body, create, expect_error, sign_in_admin, sign_in_user, Backend, TestApp};

/// Runs `$name(app, fake)` on both databases with a fresh stand-in and a server that may read
/// pages on 127.0.0.1 (the stand-in's `/page`); `$env` adds variables.
macro_rules! with_ai {
    ($($name:ident $(($($k:literal = $v:literal),*))?),* $(,)?) => {
        $(
            mod $name {
                use crate::common::Backend;
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::run(Backend::Sqlite, &[$($(($k, $v)),*)?], |a, f| Box::pin(super::$name(a, f))).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::run(Backend::Postgres, &[$($(($k, $v)),*)?], |a, f| Box::pin(super::$name(a, f))).await;
                }
            }
        )*
    };
}

type Body = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

async fn run(backend: Backend, extra: &[(&str, &str)], test: impl FnOnce(TestApp, FakeAi) -> Body) {
    let fake = FakeAi::start().await;
    let mut env: Vec<(&str, &str)> = vec![("METADATA_ALLOW_HOSTS", "127.0.0.1")];
    let base = fake.base.clone();
    let env_base = extra.iter().any(|(k, _)| *k == "AI_MODEL");
    if env_base {
        env.push(("AI_BASE_URL", &base));
    }
    env.extend_from_slice(extra);
    let Some(app) = TestApp::try_spawn(backend, &env).await else {
        return;
    };
    sign_in_admin(&app).await;
    let guard = app.clone();
    test(app, fake).await;
    guard.finish().await;
}

/// The admin points the server at the stand-in and switches suggestions on.
async fn configure(app: &TestApp, fake: &FakeAi) {
    let res = app
        .post_json(
            "/api/admin/settings/ai",
            json!({"ai_enabled": true, "ai_provider": "openai-compatible", "ai_base_url": fake.base,
                   "ai_model": "llama3.2", "ai_api_key": "sk-local-secret-123"}),
        )
        .await;
    assert_eq!(body(res).await.0, 200);
}

async fn suggest(app: &TestApp, url: &str) -> (u16, Value) {
    body(
        app.post_json("/api/bookmarks/ai-suggest", json!({"url": url}))
            .await,
    )
    .await
}

async fn stored_setting(app: &TestApp, key: &str) -> Option<String> {
    with_db!(&app.state.db, pool => sqlx::query_scalar::<_, String>(
        "SELECT value FROM system_config WHERE key = $1").bind(key).fetch_optional(pool).await.unwrap())
}

// ---- settings and models -----------------------------------------------------------------

async fn settings_round_trip_hides_the_key(app: TestApp, fake: FakeAi) {
    let (s, v) = app.get_json("/api/admin/settings/ai").await;
    assert_eq!(s, 200);
    assert_eq!(v["ai_enabled"], json!(false));
    assert_eq!(v["ai_provider"], json!("openai"));
    assert_eq!(v["ai_model"], json!("gpt-4o-mini"));
    assert_eq!(v["ai_base_url"], json!("https://api.openai.com/v1"));
    assert_eq!(v["ai_api_key_set"], json!(false));
    assert_eq!(v["available"], json!(false));
    // OpenAI without a key: nothing to ask.
    expect_error(
        app.get("/api/admin/settings/ai/models").send().await.unwrap(),
        400,
        "AI_KEY_REQUIRED",
    )
    .await;

    configure(&app, &fake).await;
    let (_, v) = app.get_json("/api/admin/settings/ai").await;
    assert_eq!(v["ai_enabled"], json!(true));
    assert_eq!(v["ai_provider"], json!("openai-compatible"));
    assert_eq!(v["ai_model"], json!("llama3.2"));
    assert_eq!(v["ai_base_url"], json!(fake.base));
    assert_eq!(v["ai_api_key_set"], json!(true));
    assert_eq!(v["source"], json!("settings"));
    assert_eq!(v["available"], json!(true));
    assert!(
        !v.to_string().contains("sk-local-secret-123"),
        "the key is never shown: {v}"
    );
    let all = app.get_json("/api/admin/settings").await.1.to_string();
    assert!(!all.contains("sk-local"), "nor in the settings list: {all}");
    let stored = stored_setting(&app, "ai_api_key").await.unwrap();
    assert!(!stored.contains("sk-local-secret-123"), "stored encrypted");

    // A blank key keeps the stored one; the models are listed with it.
    let res = app
        .post_json("/api/admin/settings/ai", json!({"ai_api_key": "  "}))
        .await;
    assert_eq!(body(res).await.0, 200);
    assert_eq!(stored_setting(&app, "ai_api_key").await.unwrap(), stored);
    let (s, v) = app.get_json("/api/admin/settings/ai/models").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["models"], json!(["llama3.2", "qwen2.5:7b"]));
    assert_eq!(
        fake.auth_headers().last().unwrap().as_deref(),
        Some("Bearer sk-local-secret-123")
    );

    // Bad values are refused field by field, and nothing is saved.
    let res = app
        .post_json(
            "/api/admin/settings/ai",
            json!({"ai_base_url": "ftp://x", "ai_provider": "skynet", "ai_model": "a b"}),
        )
        .await;
    let v = expect_error(res, 400, "VALIDATION_ERROR").await;
    let fields: Vec<&str> = v["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["ai_provider", "ai_model", "ai_base_url"]);
    assert_eq!(
        app.get_json("/api/admin/settings/ai").await.1["ai_model"],
        json!("llama3.2")
    );

    // A local server needs no key: clearing it keeps suggestions available.
    let res = app
        .post_json("/api/admin/settings/ai", json!({"ai_api_key_clear": true}))
        .await;
    assert_eq!(body(res).await.0, 200);
    let (_, v) = app.get_json("/api/admin/settings/ai").await;
    assert_eq!(
        (v["ai_api_key_set"].clone(), v["available"].clone()),
        (json!(false), json!(true))
    );
    assert_eq!(app.get_json("/api/admin/settings/ai/models").await.0, 200);
    assert_eq!(
        fake.auth_headers().last().unwrap(),
        &None,
        "no key, no Authorization"
    );

    // Audited without the key; members may not touch any of it.
    let audit: Vec<String> = with_db!(&app.state.db, pool => sqlx::query_scalar(
        "SELECT CAST(metadata AS TEXT) FROM audit_events WHERE action = 'settings.ai_updated' ORDER BY created_at")
        .fetch_all(pool).await.unwrap());
    assert!(
        audit[0].contains("ai_api_key(set)") && !audit.iter().any(|a| a.contains("sk-local")),
        "{audit:?}"
    );
    let bob = sign_in_user(&app, "bob@example.com", "Bob").await;
    expect_error(
        bob.get("/api/admin/settings/ai").send().await.unwrap(),
        403,
        "FORBIDDEN",
    )
    .await;
    expect_error(
        bob.get("/api/admin/settings/ai/models").send().await.unwrap(),
        403,
        "FORBIDDEN",
    )
    .await;
    expect_error(
        bob.post_json("/api/admin/settings/ai", json!({"ai_enabled": false}))
            .await,
        403,
        "FORBIDDEN",
    )
    .await;
    assert_eq!(
        bob.get_json("/api/config/ai-suggestions").await.1,
        json!({"enabled": true, "available": true})
    );
}

async fn configured_by_environment(app: TestApp, fake: FakeAi) {
    let (_, v) = app.get_json("/api/admin/settings/ai").await;
    assert_eq!(v["source"], json!("env"));
    assert_eq!(v["available"], json!(true));
    assert_eq!(v["ai_base_url"], json!(fake.base));
    assert_eq!(v["ai_api_key_set"], json!(false));
    expect_error(
        app.post_json("/api/admin/settings/ai", json!({"ai_enabled": false}))
            .await,
        409,
        "AI_FROM_ENV",
    )
    .await;
    let (s, v) = suggest(&app, "http://192.168.10.10/wiki").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(fake.requests()[0]["model"], json!("llama3.2"));
    assert_eq!(fake.auth_headers(), vec![None], "no key configured, none sent");
}

// ---- suggestions -------------------------------------------------------------------------

async fn suggestion_is_parsed_and_checked(app: TestApp, fake: FakeAi) {
    configure(&app, &fake).await;
    assert_eq!(create(&app, "/api/tags", json!({"name": "Docs"})).await.0, 201);
    let long = "T".repeat(700);
    fake.reply(Reply::Content(format!(
        "Here you go:\n```json\n{}\n```",
        json!({"title": format!("  {long}  "), "slug": "Example Site!", "language": "en", "confidence": 7,
               "tags": ["docs", " Reference ", "reference", "", "rust", "web", "http", "extra"]})
    )));
    let url = fake.page_url("?q=rust&token=abc123&page=2#section");
    let (s, v) = suggest(&app, &url).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["title"].as_str().unwrap().chars().count(),
        500,
        "over-long title cut to 500"
    );
    assert_eq!(v["slug"], json!("example-site"));
    assert_eq!(
        v["tags"],
        json!(["Docs", "Reference", "rust", "web", "http"]),
        "five, existing spelling, no repeats"
    );
    assert_eq!(v["language"], json!("en"));
    assert_eq!(v["confidence"], json!(1.0));

    let sent = &fake.requests()[0];
    assert_eq!(sent["model"], json!("llama3.2"));
    assert_eq!(sent["response_format"]["type"], json!("json_schema"));
    let user_msg = sent["messages"][1]["content"].as_str().unwrap();
    assert!(
        user_msg.contains("q=rust") && user_msg.contains("page=2"),
        "{user_msg}"
    );
    assert!(
        !user_msg.contains("token") && !user_msg.contains("abc123") && !user_msg.contains("section"),
        "secrets stripped: {user_msg}"
    );
    assert!(
        user_msg.contains("Page title: Fake Page Title"),
        "the page was read: {user_msg}"
    );
    assert!(
        user_msg.contains("A page about testing AI suggestions."),
        "{user_msg}"
    );
    assert!(user_msg.contains("Docs"), "existing tags offered: {user_msg}");

    // Invalid JSON from the model: a clear 502, nothing cached.
    fake.reply(Reply::Content("Sorry, I cannot help with that.".into()));
    let res = app
        .post_json("/api/bookmarks/ai-suggest", json!({"url": "http://10.9.9.9/a"}))
        .await;
    expect_error(res, 502, "AI_UNAVAILABLE").await;
    fake.reply(Reply::Content("{\"title\": 42}".into()));
    expect_error(
        app.post_json("/api/bookmarks/ai-suggest", json!({"url": "http://10.9.9.9/a"}))
            .await,
        502,
        "AI_UNAVAILABLE",
    )
    .await;
    // The endpoint failing.
    fake.reply(Reply::Status(500, json!({"error": {"message": "model crashed"}})));
    let v = expect_error(
        app.post_json("/api/bookmarks/ai-suggest", json!({"url": "http://10.9.9.9/a"}))
            .await,
        502,
        "AI_UNAVAILABLE",
    )
    .await;
    assert!(v["error"].as_str().unwrap().contains("500"), "{v}");
    fake.reply(Reply::Content(suggestion("A", "a", &[])));
    assert_eq!(
        suggest(&app, "http://10.9.9.9/a").await.0,
        200,
        "the failures were not cached"
    );

    // An endpoint without response_format support is asked again without it.
    fake.reply(Reply::NoResponseFormat(suggestion("Plain", "plain", &["x"])));
    let before = fake.chat_calls();
    let (s, v) = suggest(&app, "http://10.9.9.9/plain").await;
    assert_eq!((s, v["title"].clone()), (200, json!("Plain")), "{v}");
    assert_eq!(fake.chat_calls() - before, 2);
}

async fn taken_slug_is_replaced_by_a_free_one(app: TestApp, fake: FakeAi) {
    configure(&app, &fake).await;
    let (s, _) = create(
        &app,
        "/api/bookmarks",
        json!({"title": "Mine", "url": "https://a.example/", "slug": "example"}),
    )
    .await;
    assert_eq!(s, 201);
    let bob = sign_in_user(&app, "bob@example.com", "Bob").await;
    let (s, _) = create(
        &bob,
        "/api/bookmarks",
        json!({"title": "Bob's", "url": "https://b.example/", "slug": "example-2"}),
    )
    .await;
    assert_eq!(s, 201);
    fake.reply(Reply::Content(suggestion("Example", "example", &["a"])));
    let (s, v) = suggest(&app, "http://10.0.0.5/ex").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["slug"],
        json!("example-3"),
        "slugs are unique across the instance"
    );
    // The suggestion saves as it is.
    let (s, b) = create(
        &app,
        "/api/bookmarks",
        json!({"title": v["title"], "url": "http://10.0.0.5/ex", "slug": v["slug"]}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
}

async fn answers_are_cached_per_user_url_and_language(app: TestApp, fake: FakeAi) {
    configure(&app, &fake).await;
    let (_, first) = suggest(&app, "http://10.1.1.1/doc?id=5#top").await;
    let (s, again) = suggest(&app, "http://10.1.1.1/doc?id=5#bottom").await;
    assert_eq!(s, 200);
    assert_eq!(first, again);
    assert_eq!(fake.chat_calls(), 1, "the second answer came from the cache");
    let rows: i64 = with_db!(&app.state.db, pool => sqlx::query_scalar(
        "SELECT COUNT(*) FROM ai_suggestions_cache WHERE canonical_url = 'http://10.1.1.1/doc?id=5' AND output_language = 'en'")
        .fetch_one(pool).await.unwrap());
    assert_eq!(rows, 1);
    // Another language, another user: asked again.
    assert_eq!(
        body(app.put_json("/api/users/me", json!({"language": "de"})).await)
            .await
            .0,
        200
    );
    suggest(&app, "http://10.1.1.1/doc?id=5").await;
    assert_eq!(fake.chat_calls(), 2);
    let bob = sign_in_user(&app, "bob@example.com", "Bob").await;
    suggest(&bob, "http://10.1.1.1/doc?id=5").await;
    assert_eq!(fake.chat_calls(), 3);
    // A week later the entry is stale.
    with_db!(&app.state.db, pool => sqlx::query("UPDATE ai_suggestions_cache SET created_at = $1")
        .bind(slugbase::db::Ts::now().minus(Duration::from_secs(8 * 86400))).execute(pool).await.unwrap().rows_affected());
    suggest(&bob, "http://10.1.1.1/doc?id=5").await;
    assert_eq!(fake.chat_calls(), 4);
}

async fn a_silent_endpoint_times_out(app: TestApp, fake: FakeAi) {
    configure(&app, &fake).await;
    fake.reply(Reply::Hang(Duration::from_secs(10)));
    let started = Instant::now();
    let res = app
        .post_json("/api/bookmarks/ai-suggest", json!({"url": "http://10.2.2.2/"}))
        .await;
    expect_error(res, 504, "AI_UNAVAILABLE").await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "gave up after the 1 s limit: {:?}",
        started.elapsed()
    );
}

async fn errors_use_the_envelope(app: TestApp, fake: FakeAi) {
    // Not configured: 503, and nothing called.
    expect_error(
        app.post_json(
            "/api/bookmarks/ai-suggest",
            json!({"url": "https://example.com/"}),
        )
        .await,
        503,
        "AI_UNAVAILABLE",
    )
    .await;
    configure(&app, &fake).await;
    let v = expect_error(
        app.post_json("/api/bookmarks/ai-suggest", json!({"url": "javascript:alert(1)"}))
            .await,
        400,
        "VALIDATION_ERROR",
    )
    .await;
    assert_eq!(v["details"][0]["field"], json!("url"));
    expect_error(
        app.post_json("/api/bookmarks/ai-suggest", json!({})).await,
        400,
        "VALIDATION_ERROR",
    )
    .await;
    expect_error(
        app.post_json(
            "/api/bookmarks/ai-suggest",
            json!({"url": "http://10.0.0.1/", "page_title": "x".repeat(501)}),
        )
        .await,
        400,
        "VALIDATION_ERROR",
    )
    .await;
    expect_error(
        app.other_client()
            .post("/api/bookmarks/ai-suggest")
            .json(&json!({"url": "http://10.0.0.1/"}))
            .send()
            .await
            .unwrap(),
        401,
        "UNAUTHORIZED",
    )
    .await;
    // The admin's server disappears.
    let res = app
        .post_json(
            "/api/admin/settings/ai",
            json!({"ai_base_url": "http://127.0.0.1:9/v1"}),
        )
        .await;
    assert_eq!(body(res).await.0, 200);
    expect_error(
        app.post_json("/api/bookmarks/ai-suggest", json!({"url": "http://10.0.0.1/"}))
            .await,
        502,
        "AI_UNAVAILABLE",
    )
    .await;
    expect_error(
        app.get("/api/admin/settings/ai/models").send().await.unwrap(),
        502,
        "AI_UNAVAILABLE",
    )
    .await;
    assert_eq!(fake.chat_calls(), 0);
}

async fn each_user_can_switch_suggestions_off(app: TestApp, fake: FakeAi) {
    configure(&app, &fake).await;
    assert_eq!(
        app.get_json("/api/config/ai-suggestions").await.1,
        json!({"enabled": true, "available": true})
    );
    let (s, v) = body(
        app.put_json("/api/users/me", json!({"ai_suggestions_enabled": false}))
            .await,
    )
    .await;
    assert_eq!((s, v["ai_suggestions_enabled"].clone()), (200, json!(false)));
    assert_eq!(
        app.get_json("/api/config/ai-suggestions").await.1,
        json!({"enabled": false, "available": true})
    );
    expect_error(
        app.post_json("/api/bookmarks/ai-suggest", json!({"url": "http://10.3.3.3/"}))
            .await,
        403,
        "AI_DISABLED",
    )
    .await;
    let page = app
        .get("/bookmarks?create=true")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !page.contains("bm-suggest"),
        "no Suggest button for a user who switched it off"
    );
    assert_eq!(fake.chat_calls(), 0);
    // Others are not affected; switching back on works.
    let bob = sign_in_user(&app, "bob@example.com", "Bob").await;
    assert_eq!(suggest(&bob, "http://10.3.3.3/").await.0, 200);
    assert_eq!(
        body(
            app.put_json("/api/users/me", json!({"ai_suggestions_enabled": true}))
                .await
        )
        .await
        .0,
        200
    );
    assert_eq!(suggest(&app, "http://10.3.3.3/").await.0, 200);
    // The admin switching AI off turns it off for everyone.
    assert_eq!(
        body(
            app.post_json("/api/admin/settings/ai", json!({"ai_enabled": false}))
                .await
        )
        .await
        .0,
        200
    );
    assert_eq!(
        bob.get_json("/api/config/ai-suggestions").await.1,
        json!({"enabled": false, "available": false})
    );
    expect_error(
        bob.post_json("/api/bookmarks/ai-suggest", json!({"url": "http://10.3.3.4/"}))
            .await,
        503,
        "AI_UNAVAILABLE",
    )
    .await;
}

async fn suggestions_are_rate_limited_per_user(app: TestApp, fake: FakeAi) {
    configure(&app, &fake).await;
    assert_eq!(suggest(&app, "http://10.4.4.1/").await.0, 200);
    assert_eq!(suggest(&app, "http://10.4.4.2/").await.0, 200);
    let res = app
        .post_json("/api/bookmarks/ai-suggest", json!({"url": "http://10.4.4.3/"}))
        .await;
    assert!(res.headers().contains_key("retry-after"));
    expect_error(res, 429, "RATE_LIMITED").await;
    assert_eq!(fake.chat_calls(), 2);
    // Cached answers are not counted; other users have their own allowance.
    assert_eq!(suggest(&app, "http://10.4.4.1/").await.0, 200);
    let bob = sign_in_user(&app, "bob@example.com", "Bob").await;
    assert_eq!(suggest(&bob, "http://10.4.4.3/").await.0, 200);
}

async fn without_ai_nothing_calls_out_and_no_controls_show(app: TestApp, fake: FakeAi) {
    assert_eq!(
        app.get_json("/api/config/ai-suggestions").await.1,
        json!({"enabled": false, "available": false})
    );
    expect_error(
        app.post_json("/api/bookmarks/ai-suggest", json!({"url": fake.page_url("")}))
            .await,
        503,
        "AI_UNAVAILABLE",
    )
    .await;
    let dialog = app
        .get("/bookmarks?create=true")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        dialog.contains("bookmark-form") && !dialog.contains("bm-suggest"),
        "no Suggest button"
    );
    let profile = app.get("/profile").send().await.unwrap().text().await.unwrap();
    assert!(
        profile.contains("profile-form") && !profile.contains("ai_suggestions_enabled"),
        "no AI switch"
    );
    // Saving the settings without switching them on calls nothing either.
    let res = app
        .post_json(
            "/api/admin/settings/ai",
            json!({"ai_base_url": fake.base, "ai_model": "llama3.2"}),
        )
        .await;
    assert_eq!(body(res).await.0, 200);
    expect_error(
        app.post_json("/api/bookmarks/ai-suggest", json!({"url": "http://10.5.5.5/"}))
            .await,
        503,
        "AI_UNAVAILABLE",
    )
    .await;
    assert_eq!(
        (fake.chat_calls(), fake.model_calls()),
        (0, 0),
        "nothing called out"
    );

    // Switched on, the controls appear.
    configure(&app, &fake).await;
    let dialog = app
        .get("/bookmarks?create=true")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(dialog.contains("id=\"bm-suggest\""), "Suggest button");
    let edit_free = app.get("/bookmarks").send().await.unwrap().text().await.unwrap();
    assert!(!edit_free.contains("bm-suggest"), "only in the create dialog");
    let profile = app.get("/profile").send().await.unwrap().text().await.unwrap();
    assert!(
        profile.contains("name=\"ai_suggestions_enabled\""),
        "the per-user switch"
    );
    let admin = app
        .get("/admin/settings")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        admin.contains("id=\"ai-form\"") && admin.contains("ai-list-models") && admin.contains("ai-test")
    );
    assert!(!admin.contains("sk-local-secret-123"));
}

with_ai!(
    settings_round_trip_hides_the_key,
    configured_by_environment("AI_MODEL" = "llama3.2"),
    suggestion_is_parsed_and_checked,
    taken_slug_is_replaced_by_a_free_one,
    answers_are_cached_per_user_url_and_language,
    a_silent_endpoint_times_out("AI_TIMEOUT_SECONDS" = "1"),
    errors_use_the_envelope,
    each_user_can_switch_suggestions_off,
    suggestions_are_rate_limited_per_user("AI_RATE_LIMIT" = "2"),
    without_ai_nothing_calls_out_and_no_controls_show,
);
