//! The OIDC pages over HTTP: the admin's provider page (add, change, map groups to teams,
//! delete; the secret never shown), the sign-in page's provider buttons and its messages for a
//! failed provider sign-in in both languages, the profile's link, and the MFA-after-provider
//! setting.

use crate::common::{sign_in_admin, sign_in_user, TestApp};
use serde_json::{json, Value};
use slugbase::with_db;

async fn fetch(res: reqwest::Response) -> (u16, String, String) {
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, location, res.text().await.unwrap_or_default())
}

async fn page(app: &TestApp, path: &str) -> (u16, String, String) {
    fetch(app.get(path).send().await.unwrap()).await
}

async fn submit(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, String, String) {
    fetch(app.post(path).form(form).send().await.unwrap()).await
}

const SECRET: &str = "page-client-secret-0042";
const ISSUER: &str = "https://93.184.215.14/realms/corp";

async fn providers(app: &TestApp) -> Value {
    let (s, v) = app.get_json("/api/oidc-providers").await;
    assert_eq!(s, 200, "{v}");
    v
}

async fn admin_manages_providers_on_the_page(app: TestApp) {
    sign_in_admin(&app).await;
    let (s, _, html) = page(&app, "/admin/oidc").await;
    assert_eq!(s, 200);
    assert!(html.contains("No sign-in providers yet"), "empty state");
    let (s, _, html) = page(&app, "/admin/oidc?create=true").await;
    assert_eq!(s, 200);
    assert!(html.contains("id=\"oidc-form\""));
    assert!(
        html.contains("/api/auth/&#60;key&#62;/callback</span>"),
        "the callback URL to register"
    );

    // A refusal shows the form again with the message, and without the secret.
    let (s, _, html) = submit(
        &app,
        "/admin/oidc",
        &[
            ("provider_key", "a b"),
            ("issuer_url", ISSUER),
            ("client_id", "corp-client"),
            ("client_secret", SECRET),
            ("scopes", "openid profile email"),
            ("auto_create_users", "true"),
            ("default_role", "user"),
        ],
    )
    .await;
    assert_eq!(s, 400);
    assert!(html.contains("Provider key can only contain letters"), "{html}");
    assert!(!html.contains(SECRET), "the secret is not sent back");
    assert_eq!(providers(&app).await, json!([]));

    let (s, to, _) = submit(
        &app,
        "/admin/oidc",
        &[
            ("provider_key", "corp"),
            ("issuer_url", ISSUER),
            ("client_id", "corp-client"),
            ("client_secret", SECRET),
            ("scopes", "openid profile email"),
            ("default_role", "user"),
        ],
    )
    .await;
    assert_eq!((s, to.as_str()), (303, "/admin/oidc"));
    let p = providers(&app).await[0].clone();
    assert_eq!(
        (p["provider_key"].as_str(), p["auto_create_users"].as_bool()),
        (Some("corp"), Some(false))
    );
    let id = p["id"].as_str().unwrap().to_string();
    let (_, _, html) = page(&app, "/admin/oidc").await;
    assert!(html.contains("data-key=\"corp\""), "listed");
    assert!(
        !html.contains(SECRET) && !html.contains("corp-client"),
        "no secret or client id"
    );

    // Edit: map groups to a team; the blank secret and client id keep the stored ones.
    let (s, team) = crate::common::create(&app, "/api/admin/teams", json!({"name": "Engineering"})).await;
    assert_eq!(s, 201, "{team}");
    let team_id = team["id"].as_str().unwrap();
    let (s, _, html) = page(&app, &format!("/admin/oidc?edit={id}")).await;
    assert_eq!(s, 200);
    assert!(
        !html.contains(SECRET) && !html.contains("corp-client"),
        "the edit form shows neither"
    );
    assert!(html.contains(&format!("name=\"groups_{team_id}\"")));
    let stored = |app: TestApp, id: String| async move {
        let v: (String, String) = with_db!(&app.state.db, pool => sqlx::query_as(
            "SELECT client_id, client_secret FROM oidc_providers WHERE id = $1").bind(&id).fetch_one(pool).await.unwrap());
        v
    };
    let before = stored(app.clone(), id.clone()).await;
    let field = format!("groups_{team_id}");
    let (s, to, html) = submit(
        &app,
        &format!("/admin/oidc/{id}"),
        &[
            ("provider_key", "corp"),
            ("issuer_url", ISSUER),
            ("client_id", ""),
            ("client_secret", ""),
            ("scopes", "openid profile email groups"),
            ("auto_create_users", "true"),
            ("default_role", "admin"),
            ("groups_claim", "groups"),
            (field.as_str(), "eng, platform"),
        ],
    )
    .await;
    assert_eq!((s, to.as_str()), (303, "/admin/oidc"), "{html}");
    assert_eq!(
        stored(app.clone(), id.clone()).await,
        before,
        "blank keeps client id and secret"
    );
    let p = providers(&app).await[0].clone();
    assert_eq!(p["default_role"], "admin");
    assert_eq!(p["groups_claim"], "groups");
    let groups: Vec<&str> = p["group_mappings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["group"].as_str().unwrap())
        .collect();
    assert_eq!(groups, vec!["eng", "platform"]);
    let (_, _, html) = page(&app, &format!("/admin/oidc?edit={id}")).await;
    assert!(html.contains("value=\"eng, platform\""), "the mapping is shown");

    // Other users may not see the page.
    let user = sign_in_user(&app, "user@example.com", "User").await;
    assert_eq!(page(&user, "/admin/oidc").await.0, 403);

    let (s, to, _) = submit(&app, &format!("/admin/oidc/{id}/delete"), &[]).await;
    assert_eq!((s, to.as_str()), (303, "/admin/oidc"));
    assert_eq!(providers(&app).await, json!([]));
}

async fn login_page_offers_providers_and_explains_failures(app: TestApp) {
    sign_in_admin(&app).await;
    let (s, v) = crate::common::create(
        &app,
        "/api/oidc-providers",
        json!({"provider_key": "corp", "client_id": "c", "client_secret": SECRET, "issuer_url": ISSUER}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let guest = app.other_client();
    let (s, _, html) = page(&guest, "/login").await;
    assert_eq!(s, 200);
    assert!(
        html.contains("href=\"/api/auth/corp\""),
        "one button per provider"
    );
    assert!(html.contains("Sign in with corp"));
    let (_, _, html) = page(&guest, "/login?redirect=%2Fbookmarks").await;
    assert!(
        html.contains("href=\"/api/auth/corp?redirect=%2Fbookmarks\""),
        "returns where it started"
    );

    for (code, en, de) in [
        ("auth_failed", "did not work", "hat nicht geklappt"),
        ("auto_create_disabled", "may not create", "darf keines anlegen"),
        ("email_not_verified", "has not confirmed", "nicht bestätigt"),
        (
            "account_linked_elsewhere",
            "linked to another",
            "anderen Anmeldung",
        ),
        ("account_disabled", "disabled", "deaktiviert"),
        ("something-else", "did not work", "hat nicht geklappt"),
    ] {
        let (s, _, html) = page(&guest, &format!("/login?error={code}")).await;
        assert_eq!(s, 200);
        assert!(
            html.contains("role=\"alert\"") && html.contains(en),
            "{code} in English"
        );
        let res = guest
            .get(&format!("/login?error={code}"))
            .header("Accept-Language", "de-DE,de;q=0.9")
            .send()
            .await
            .unwrap();
        let html = res.text().await.unwrap();
        assert!(html.contains(de), "{code} in German");
    }
}

async fn profile_names_the_linked_provider(app: TestApp) {
    sign_in_admin(&app).await;
    let user = sign_in_user(&app, "linked@example.com", "Linked").await;
    let (_, _, html) = page(&user, "/profile").await;
    assert!(!html.contains("id=\"oidc-linked\""));
    with_db!(&app.state.db, pool => sqlx::query(
        "UPDATE users SET oidc_provider = 'corp', oidc_sub = 'abc' WHERE email = 'linked@example.com'")
        .execute(pool).await.unwrap().rows_affected());
    app.state.invalidate_caches();
    let (s, _, html) = page(&user, "/profile").await;
    assert_eq!(s, 200);
    assert!(html.contains("Linked to the sign-in provider corp."), "{html}");
}

async fn settings_page_switches_mfa_after_the_provider(app: TestApp) {
    sign_in_admin(&app).await;
    let (_, _, html) = page(&app, "/admin/settings").await;
    assert!(
        html.contains("name=\"oidc_require_mfa\" value=\"true\" aria-describedby=\"oidc-mfa-hint\" checked")
    );
    let setting =
        |app: TestApp| async move { app.get_json("/api/admin/settings").await.1["oidc_require_mfa"].clone() };
    assert_eq!(setting(app.clone()).await, "true", "on by default");
    let (s, to, _) = submit(&app, "/admin/settings", &[]).await;
    assert_eq!((s, to.as_str()), (303, "/admin/settings"));
    assert_eq!(setting(app.clone()).await, "false");
    submit(&app, "/admin/settings", &[("oidc_require_mfa", "true")]).await;
    assert_eq!(setting(app.clone()).await, "true");
}

on_both_backends!(
    admin_manages_providers_on_the_page,
    login_page_offers_providers_and_explains_failures,
    profile_names_the_linked_provider,
    settings_page_switches_mfa_after_the_provider,
);
