//! The profile area of the web interface over HTTP: account form (language, theme, validation),
//! password change, sign-out everywhere, MFA enrolment/regeneration/disable, API tokens,
//! go preferences, the search-engine guide and account deletion. Forms are posted the way a
//! browser without JavaScript posts them (urlencoded, session cookie, no CSRF token).

use crate::common::{create, sign_in_admin, sign_in_user, TestApp, ADMIN_EMAIL, PASSWORD};
use serde_json::json;

async fn page(app: &TestApp, path: &str) -> (u16, String) {
    let res = app.get(path).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    app.post(path).form(form).send().await.unwrap()
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// The text between `start` (exclusive) and the next `end` after it.
fn between<'a>(html: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = html.find(start)? + start.len();
    let j = html[i..].find(end)? + i;
    Some(&html[i..j])
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A six-digit code that is wrong for the steps around now.
fn wrong_code(secret: &str) -> String {
    let now = unix_now();
    let good: Vec<String> = [now - 30, now, now + 30]
        .iter()
        .map(|t| slugbase::mfa::code_at(secret, *t).unwrap())
        .collect();
    (0..)
        .map(|n: u32| format!("{:06}", n * 7919 % 1_000_000))
        .find(|c| !good.contains(c))
        .unwrap()
}

async fn profile_page_saves_language_and_theme(app: TestApp) {
    sign_in_admin(&app).await;
    let (s, html) = page(&app, "/profile").await;
    assert_eq!(s, 200);
    assert!(html.contains(r#"<html lang="en" data-theme="auto">"#), "{html}");
    for needle in [
        r#"id="profile-form""#,
        r#"<nav class="tabs""#,
        r#"href="/profile/security""#,
        r#"href="/profile/tokens""#,
        r#"href="/go-preferences""#,
        r#"href="/search-engine-guide""#,
        r#"href="/bookmarks?import=true""#,
        r#"href="/bookmarks/export""#,
        r#"id="delete-account-form""#,
        r#"id="delete-password""#,
        r#"<option value="de" lang="de" >Deutsch</option>"#,
        r#"name="theme" value="auto" checked"#,
        ADMIN_EMAIL,
    ] {
        assert!(html.contains(needle), "{needle} in {html}");
    }

    let res = post_form(
        &app,
        "/profile",
        &[
            ("name", "Ada Admin"),
            ("email", ADMIN_EMAIL),
            ("language", "de"),
            ("theme", "dark"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/profile");
    let (s, html) = page(&app, "/profile").await;
    assert_eq!(s, 200);
    assert!(html.contains(r#"<html lang="de" data-theme="dark">"#), "{html}");
    assert!(
        html.contains("Ihr Profil wurde gespeichert."),
        "German flash: {html}"
    );
    assert!(
        html.contains(r#"<option value="de" lang="de" selected>"#),
        "{html}"
    );
    assert!(html.contains(r#"name="theme" value="dark" checked"#), "{html}");
    assert!(
        html.contains(r#"<span class="avatar avatar-lg" aria-hidden="true">AA</span>"#),
        "{html}"
    );
    let (_, me) = app.get_json("/api/users/me").await;
    assert_eq!(
        (me["language"].as_str(), me["theme"].as_str()),
        (Some("de"), Some("dark"))
    );

    // Refusals are shown next to the field, in the page's language, with the values kept.
    let res = post_form(
        &app,
        "/profile",
        &[
            ("name", "  "),
            ("email", ADMIN_EMAIL),
            ("language", "de"),
            ("theme", "light"),
        ],
    )
    .await;
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(
        html.contains(r#"aria-invalid="true" aria-describedby="name-error""#),
        "{html}"
    );
    assert!(
        html.contains(r#"<p class="field-error" id="name-error">Geben Sie Ihren Namen ein.</p>"#),
        "{html}"
    );
    assert!(html.contains(r#"name="theme" value="light" checked"#), "{html}");

    let res = post_form(
        &app,
        "/profile",
        &[
            ("name", "Ada"),
            ("email", "other@example.com"),
            ("language", "en"),
            ("theme", "auto"),
        ],
    )
    .await;
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(html.contains(r#"id="email-error""#), "{html}");
    assert!(html.contains(r#"value="other@example.com""#), "{html}");

    let res = post_form(
        &app,
        "/profile",
        &[
            ("name", "Ada"),
            ("email", ADMIN_EMAIL),
            ("language", "fr"),
            ("theme", "auto"),
        ],
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains(r#"id="language-error""#));
    let (_, me) = app.get_json("/api/users/me").await;
    assert_eq!(me["name"], "Ada Admin", "refused forms change nothing");
}

async fn guests_are_sent_to_login(app: TestApp) {
    sign_in_admin(&app).await;
    let guest = app.other_client();
    for path in [
        "/profile",
        "/profile/security",
        "/profile/tokens",
        "/go-preferences",
        "/search-engine-guide",
    ] {
        let res = guest.get(path).send().await.unwrap();
        assert_eq!(res.status(), 303, "{path}");
        assert!(location(&res).starts_with("/login?redirect="), "{path}");
    }
    let res = post_form(&guest, "/profile", &[("name", "x")]).await;
    assert!(location(&res).starts_with("/login"));
}

async fn password_change_form(app: TestApp) {
    sign_in_admin(&app).await;
    let elsewhere = app.other_client();
    let res = elsewhere
        .post("/api/auth/login")
        .json(&json!({"email": ADMIN_EMAIL, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let (s, html) = page(&app, "/profile/security").await;
    assert_eq!(s, 200);
    for needle in [
        r#"id="password-form""#,
        r#"name="current_password""#,
        r#"name="new_password""#,
        r#"name="confirm_password""#,
        r#"id="logout-all-form""#,
        r#"id="mfa-start-form""#,
        r#"aria-current="page">Security</a>"#,
    ] {
        assert!(html.contains(needle), "{needle} in {html}");
    }

    const NEW: &str = "Another-Passw0rd!";
    let res = post_form(
        &app,
        "/profile/security/password",
        &[
            ("current_password", "wrong-Passw0rd!"),
            ("new_password", NEW),
            ("confirm_password", NEW),
        ],
    )
    .await;
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(
        html.contains(
            r#"<p class="field-error" id="current_password-error">The password is not correct.</p>"#
        ),
        "{html}"
    );

    let res = post_form(
        &app,
        "/profile/security/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", NEW),
            ("confirm_password", "different"),
        ],
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains(r#"id="confirm_password-error""#));

    let res = post_form(
        &app,
        "/profile/security/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", "weak"),
            ("confirm_password", "weak"),
        ],
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("at least 8 characters"));

    let res = post_form(
        &app,
        "/profile/security/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", NEW),
            ("confirm_password", NEW),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/profile/security");
    assert!(
        res.headers()
            .get_all("set-cookie")
            .iter()
            .any(|v| v.to_str().unwrap().starts_with("token=")),
        "a fresh session cookie"
    );
    // This browser carries on; the other session has ended.
    let (s, html) = page(&app, "/profile/security").await;
    assert_eq!(s, 200);
    assert!(html.contains("Your password has been changed."), "{html}");
    let res = elsewhere.get("/profile").send().await.unwrap();
    assert_eq!(res.status(), 303);
    // The new password signs in, the old one does not.
    let fresh = app.other_client();
    let login = |pw: &'static str| {
        fresh
            .post("/api/auth/login")
            .json(&json!({"email": ADMIN_EMAIL, "password": pw}))
            .send()
    };
    assert_eq!(login(PASSWORD).await.unwrap().status(), 401);
    assert_eq!(login(NEW).await.unwrap().status(), 200);

    // Sign out everywhere.
    let res = post_form(&app, "/profile/security/logout-all", &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login");
    assert_eq!(app.get("/profile").send().await.unwrap().status(), 303);
    assert_eq!(fresh.get("/profile").send().await.unwrap().status(), 303);
}

async fn mfa_enrolment_codes_and_disable(app: TestApp) {
    sign_in_admin(&app).await;
    let res = post_form(&app, "/profile/security/mfa/start", &[]).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let secret = between(&html, r#"<code id="mfa-secret" class="mono">"#, "</code>")
        .expect("#mfa-secret")
        .to_string();
    assert!(
        secret.len() >= 16
            && secret
                .chars()
                .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c)),
        "base32: {secret}"
    );
    assert!(
        html.contains(r#"src="data:image/svg+xml;base64,"#),
        "QR code: {html}"
    );
    assert!(html.contains(r#"id="mfa-confirm-form""#));
    assert!(html.contains(&format!(r#"data-copy="{secret}""#)));

    // A reload shows the same pending secret.
    let (s, again) = page(&app, "/profile/security/mfa").await;
    assert_eq!(s, 200);
    assert!(again.contains(&secret));
    let (_, security) = page(&app, "/profile/security").await;
    assert!(
        security.contains(r#"href="/profile/security/mfa""#),
        "continue link"
    );

    // A wrong code: the same secret again, the error next to the field.
    let bad = wrong_code(&secret);
    let res = post_form(&app, "/profile/security/mfa/confirm", &[("code", &bad)]).await;
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(
        html.contains(r#"<p class="field-error" id="code-error">"#),
        "{html}"
    );
    assert!(html.contains(&format!(r#"<code id="mfa-secret" class="mono">{secret}</code>"#)));

    let code = slugbase::mfa::code_at(&secret, unix_now()).unwrap();
    let res = post_form(&app, "/profile/security/mfa/confirm", &[("code", &code)]).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let list = between(&html, r#"<ol id="backup-codes""#, "</ol>").expect("#backup-codes");
    let codes: Vec<String> = list
        .split("<li>")
        .skip(1)
        .map(|c| c.split("</li>").next().unwrap().trim().to_string())
        .collect();
    assert_eq!(codes.len(), 10, "{list}");
    assert!(
        html.contains(r##"data-download="slugbase-backup-codes.txt" data-download-source="#backup-codes""##)
    );
    assert!(html.contains(r#"href="/profile/security""#));

    let (_, html) = page(&app, "/profile/security").await;
    assert!(html.contains(r#"id="mfa-disable-form""#), "{html}");
    assert!(html.contains(r#"id="mfa-regenerate-form""#));
    assert!(
        html.contains(r#"<span class="mono" id="backup-remaining">10</span>"#),
        "{html}"
    );
    assert!(!html.contains(r#"id="mfa-start-form""#));

    // Regenerate: a wrong password is shown next to the password field.
    let res = post_form(
        &app,
        "/profile/security/mfa/regenerate",
        &[("code", &codes[0]), ("password", "nope")],
    )
    .await;
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(html.contains(r#"id="regen-password-error""#), "{html}");
    let res = post_form(
        &app,
        "/profile/security/mfa/regenerate",
        &[("code", &codes[0]), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let list = between(&html, r#"<ol id="backup-codes""#, "</ol>").unwrap();
    assert_eq!(list.matches("<li>").count(), 10);
    assert!(!list.contains(&codes[1]), "new codes");

    // Disable: an old backup code no longer works; a TOTP code of the next step does.
    let res = post_form(
        &app,
        "/profile/security/mfa/disable",
        &[("code", &codes[1]), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains(r#"id="disable-code-error""#));
    let next = slugbase::mfa::code_at(&secret, unix_now() + 30).unwrap();
    let res = post_form(
        &app,
        "/profile/security/mfa/disable",
        &[("code", &next), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(res.status(), 303);
    let (_, html) = page(&app, "/profile/security").await;
    assert!(html.contains(r#"id="mfa-start-form""#), "{html}");

    // Begin and cancel.
    assert_eq!(
        post_form(&app, "/profile/security/mfa/start", &[]).await.status(),
        200
    );
    let res = post_form(&app, "/profile/security/mfa/cancel", &[]).await;
    assert_eq!(res.status(), 303);
    let res = app.get("/profile/security/mfa").send().await.unwrap();
    assert_eq!(location(&res), "/profile/security", "nothing pending any more");
}

async fn api_tokens_page(app: TestApp) {
    sign_in_admin(&app).await;
    let (s, html) = page(&app, "/profile/tokens").await;
    assert_eq!(s, 200);
    assert!(html.contains(r#"id="token-form""#));
    assert!(html.contains(r#"href="/api-docs""#));

    let res = post_form(&app, "/profile/tokens", &[("name", "")]).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains(r#"id="token-name-error""#));
    let res = post_form(
        &app,
        "/profile/tokens",
        &[("name", "Old"), ("expires_at", "2001-01-01")],
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains(r#"id="token-expires-error""#));

    let res = post_form(
        &app,
        "/profile/tokens",
        &[("name", "CLI"), ("expires_at", "2099-12-31")],
    )
    .await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let token = between(&html, r#"<code id="new-token" class="mono">"#, "</code>")
        .expect("#new-token")
        .to_string();
    assert!(token.starts_with("sb_"), "{token}");
    assert!(html.contains(&format!(r#"data-copy="{token}""#)));

    // The token works, and the list shows it without the secret.
    let res = app
        .other_client()
        .get("/api/users/me")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (_, html) = page(&app, "/profile/tokens").await;
    assert!(html.contains("<td>CLI</td>"), "{html}");
    assert!(html.contains("2099-12-31"), "{html}");
    assert!(!html.contains(&token), "the secret is shown once");
    assert!(!html.contains(r#"id="new-token""#));

    let id = between(&html, r#"data-token-id=""#, "\"").unwrap().to_string();
    let res = post_form(&app, &format!("/profile/tokens/{id}/revoke"), &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/profile/tokens");
    let (_, html) = page(&app, "/profile/tokens").await;
    assert!(html.contains("The token has been revoked."), "{html}");
    assert!(!html.contains("<td>CLI</td>"));
    let res = app
        .other_client()
        .get("/api/users/me")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // At most ten: the eleventh is refused with the API's reason.
    for n in 0..10 {
        let res = post_form(&app, "/profile/tokens", &[("name", &format!("t{n}"))]).await;
        assert_eq!(res.status(), 200, "token {n}");
    }
    let res = post_form(&app, "/profile/tokens", &[("name", "eleventh")]).await;
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(html.contains("You already have 10 tokens."), "{html}");
    assert!(html.contains(r#"value="eleventh""#));
}

async fn go_preferences_page(app: TestApp) {
    sign_in_admin(&app).await;
    let (s, html) = page(&app, "/go-preferences").await;
    assert_eq!(s, 200);
    assert!(html.contains(r#"id="goprefs-empty""#), "{html}");

    let (s, b) = create(
        &app,
        "/api/bookmarks",
        json!({"title": "Team wiki", "url": "https://wiki.example.com/start", "slug": "wiki", "forwarding_enabled": true}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let (s, v) = create(
        &app,
        "/api/go/preferences",
        json!({"slug": "wiki", "bookmark_id": b["id"]}),
    )
    .await;
    assert_eq!(s, 201, "{v}");

    let (_, html) = page(&app, "/go-preferences").await;
    for needle in [
        "Team wiki",
        "wiki.example.com",
        "<td>Personal</td>",
        r#"href="/go/wiki""#,
        r#"action="/go-preferences/remove""#,
        r#"data-confirm="#,
    ] {
        assert!(html.contains(needle), "{needle} in {html}");
    }
    let res = post_form(&app, "/go-preferences/remove", &[("slug", "wiki")]).await;
    assert_eq!(res.status(), 303);
    let (_, html) = page(&app, "/go-preferences").await;
    assert!(html.contains(r#"id="goprefs-empty""#), "{html}");
    let (_, prefs) = app.get_json("/api/go/preferences").await;
    assert_eq!(prefs, json!([]));
    // Removing again says so.
    let res = post_form(&app, "/go-preferences/remove", &[("slug", "wiki")]).await;
    assert_eq!(res.status(), 303);
    let (_, html) = page(&app, "/go-preferences").await;
    assert!(html.contains("already removed"), "{html}");
}

async fn search_engine_guide(app: TestApp) {
    sign_in_admin(&app).await;
    let (s, html) = page(&app, "/search-engine-guide").await;
    assert_eq!(s, 200);
    let base = app.state.config.base_url.trim_end_matches('/').to_string();
    let url = format!("{base}/go/%s");
    assert!(
        html.contains(&format!(r#"<code id="search-url" class="mono">{url}</code>"#)),
        "{html}"
    );
    assert!(html.contains(&format!(r#"data-copy="{url}""#)));
    for needle in [
        "id=\"chromium\"",
        "id=\"firefox\"",
        "id=\"safari\"",
        "id=\"opensearch\"",
        "/opensearch.xml",
        "go test",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
}

async fn account_deletion(app: TestApp) {
    sign_in_admin(&app).await;
    let user = sign_in_user(&app, "bob@example.com", "Bob").await;
    let res = post_form(&user, "/profile/delete", &[("password", "wrong")]).await;
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(html.contains(r#"id="delete-password-error""#), "{html}");

    let res = post_form(&user, "/profile/delete", &[("password", PASSWORD)]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login");
    assert_eq!(user.get("/profile").send().await.unwrap().status(), 303);
    let gone = app
        .other_client()
        .post("/api/auth/login")
        .json(&json!({"email": "bob@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 401);

    // The last admin cannot delete themselves: the reason is on the page.
    let res = post_form(&app, "/profile/delete", &[("password", PASSWORD)]).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("last administrator"));
}

on_both_backends!(
    profile_page_saves_language_and_theme,
    guests_are_sent_to_login,
    password_change_form,
    mfa_enrolment_codes_and_disable,
    api_tokens_page,
    go_preferences_page,
    search_engine_guide,
    account_deletion,
);
