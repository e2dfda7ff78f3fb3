//! The AI controls of the pages, against the local stand-in for an OpenAI-compatible server
//! (`common::ai::FakeAi`): the admin's form with "List models" and "Test", "Suggest" in the
//! create dialog, and the profile's switch.

use reqwest::Response;
use serde_json::json;

use crate::common::ai::{FakeAi, Reply};
use crate::common::{sign_in_admin, Backend, TestApp, ADMIN_EMAIL};

async fn fetch(res: Response) -> (u16, String, String) {
    let status = res.status().as_u16();
    let to = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, to, res.text().await.unwrap())
}

async fn submit(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, String, String) {
    fetch(app.post(path).form(form).send().await.unwrap()).await
}

/// The flash message the next page shows.
async fn flash(app: &TestApp, path: &str) -> String {
    let html = app.get(path).send().await.unwrap().text().await.unwrap();
    let start = html.find("class=\"flash").map(|i| &html[i..]).unwrap_or("");
    start.split("</div>").next().unwrap_or("").to_string()
}

async fn admin_form_lists_models_and_tests(backend: Backend) {
    let fake = FakeAi::start().await;
    let Some(app) = TestApp::try_spawn(backend, &[]).await else {
        return;
    };
    sign_in_admin(&app).await;
    // OpenAI without a key: nothing to list, and the page says why.
    let (s, to, _) = submit(&app, "/admin/settings/ai/models", &[]).await;
    assert_eq!((s, to.as_str()), (303, "/admin/settings"));
    assert!(
        flash(&app, "/admin/settings").await.contains("API key"),
        "explains the missing key"
    );
    let (s, _, _) = submit(
        &app,
        "/admin/settings/ai",
        &[("ai_enabled", "true"), ("ai_base_url", "gopher://x")],
    )
    .await;
    assert_eq!(s, 303);
    assert!(
        flash(&app, "/admin/settings").await.contains("http(s) URL"),
        "says what is wrong"
    );
    assert_eq!(
        app.get_json("/api/admin/settings/ai").await.1["ai_enabled"],
        json!(false),
        "nothing saved"
    );

    let form = [
        ("ai_enabled", "true"),
        ("ai_provider", "openai-compatible"),
        ("ai_base_url", fake.base.as_str()),
        ("ai_model", "llama3.2"),
        ("ai_api_key", "sk-form-key"),
    ];
    let (s, to, _) = submit(&app, "/admin/settings/ai", &form).await;
    assert_eq!((s, to.as_str()), (303, "/admin/settings"));
    assert!(flash(&app, "/admin/settings").await.contains("AI settings saved"));
    let html = app
        .get("/admin/settings")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("id=\"ai-status\"") && !html.contains("sk-form-key"),
        "the key is not shown"
    );

    let (s, _, html) = submit(&app, "/admin/settings/ai/models", &[]).await;
    assert_eq!(s, 200);
    let list = &html[html.find("id=\"ai-models\"").expect("model list")..];
    assert!(list.contains("llama3.2") && list.contains("qwen2.5:7b"), "{list}");
    let (s, _, _) = submit(&app, "/admin/settings/ai/test", &[]).await;
    assert_eq!(s, 303);
    assert!(flash(&app, "/admin/settings")
        .await
        .contains("answered with model llama3.2"));
    fake.reply(Reply::Status(503, json!({"error": "loading model"})));
    submit(&app, "/admin/settings/ai/test", &[]).await;
    let msg = flash(&app, "/admin/settings").await;
    assert!(
        msg.contains("The AI server failed") && msg.contains("503"),
        "{msg}"
    );
    app.finish().await;
}

async fn suggest_fills_the_dialog_and_the_profile_switches_it_off(backend: Backend) {
    let fake = FakeAi::start().await;
    let Some(app) =
        TestApp::try_spawn(backend, &[("AI_BASE_URL", &fake.base), ("AI_MODEL", "llama3.2")]).await
    else {
        return;
    };
    sign_in_admin(&app).await;
    fake.reply(Reply::Content(crate::common::ai::suggestion(
        "Rust Book",
        "rust-book",
        &["rust", "books"],
    )));
    let form = [
        ("return", "/bookmarks?create=true"),
        ("url", "http://10.7.7.7/book"),
        ("title", ""),
        ("tags", "reading"),
        ("slug", ""),
    ];
    let (s, _, html) = submit(&app, "/bookmarks/suggest", &form).await;
    assert_eq!(s, 200);
    assert!(html.contains("value=\"Rust Book\""), "title filled");
    assert!(html.contains("value=\"rust-book\""), "slug filled");
    assert!(
        html.contains("value=\"reading, rust, books\""),
        "typed tags kept, suggested ones added"
    );

    // The server failing is said in the dialog.
    fake.reply(Reply::Content("not json".into()));
    let (s, _, html) = submit(
        &app,
        "/bookmarks/suggest",
        &[("return", "/bookmarks"), ("url", "http://10.7.7.8/")],
    )
    .await;
    assert_eq!(s, 200);
    assert!(
        html.contains("The AI service is not available right now"),
        "error in the dialog"
    );
    assert!(html.contains("value=\"http://10.7.7.8/\""), "the form is kept");

    // The profile's switch: off, and the dialog loses its button.
    let profile = app.get("/profile").send().await.unwrap().text().await.unwrap();
    assert!(profile.contains("id=\"ai-suggestions\"") && profile.contains("checked"));
    let (s, _, _) = submit(
        &app,
        "/profile",
        &[
            ("name", "Admin"),
            ("email", ADMIN_EMAIL),
            ("language", "en"),
            ("theme", "auto"),
            ("ai_switch", "1"),
        ],
    )
    .await;
    assert_eq!(s, 303);
    assert_eq!(
        app.get_json("/api/users/me").await.1["ai_suggestions_enabled"],
        json!(false)
    );
    let dialog = app
        .get("/bookmarks?create=true")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!dialog.contains("bm-suggest"));
    let (s, _, html) = submit(
        &app,
        "/bookmarks/suggest",
        &[("return", "/bookmarks"), ("url", "http://10.7.7.9/")],
    )
    .await;
    assert_eq!(s, 403);
    assert!(html.contains("switched off in your profile"));
    // Saving the profile without the switch on the page leaves the choice alone.
    let (s, _, _) = submit(
        &app,
        "/profile",
        &[
            ("name", "Admin"),
            ("email", ADMIN_EMAIL),
            ("language", "en"),
            ("theme", "dark"),
        ],
    )
    .await;
    assert_eq!(s, 303);
    assert_eq!(
        app.get_json("/api/users/me").await.1["ai_suggestions_enabled"],
        json!(false)
    );
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

both!(
    admin_form_lists_models_and_tests,
    suggest_fills_the_dialog_and_the_profile_switches_it_off
);
