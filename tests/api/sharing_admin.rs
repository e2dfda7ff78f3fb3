//! Teams, sharing and user administration: folder and team shares, last-admin rules, disabling.

use crate::common::{body, create, expect_error, sign_in_admin, sign_in_user, TestApp};
use serde_json::{json, Value};

async fn user_id(app: &TestApp, email: &str) -> String {
    let (_, users) = app.get_json("/api/admin/users").await;
    users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == email)
        .unwrap_or_else(|| panic!("{email} in {users}"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn titles(v: &Value) -> Vec<String> {
    let mut t: Vec<String> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["title"].as_str().unwrap().to_string())
        .collect();
    t.sort();
    t
}

async fn folder_share_and_unshare(app: TestApp) {
    sign_in_admin(&app).await;
    let olivia = sign_in_user(&app, "olivia@example.com", "Olivia").await;
    let dan = sign_in_user(&app, "dan@example.com", "Dan").await;
    let dan_id = user_id(&app, "dan@example.com").await;
    let (_, folder) = create(&olivia, "/api/folders", json!({"name": "Reading"})).await;
    let fid = folder["id"].as_str().unwrap().to_string();
    create(
        &olivia,
        "/api/bookmarks",
        json!({"title": "In folder", "url": "https://in.example", "slug": "infolder",
        "forwarding_enabled": true, "folder_ids": [&fid]}),
    )
    .await;
    create(
        &olivia,
        "/api/bookmarks",
        json!({"title": "Outside", "url": "https://out.example"}),
    )
    .await;
    assert_eq!(dan.get_json("/api/bookmarks").await.1["total"], 0);
    assert_eq!(dan.get("/go/infolder").send().await.unwrap().status(), 404);

    let (s, v) = body(
        olivia
            .put_json(&format!("/api/folders/{fid}"), json!({"user_ids": [&dan_id]}))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["shared_users"][0]["email"], "dan@example.com");
    let (_, list) = dan.get_json("/api/bookmarks").await;
    assert_eq!(titles(&list), ["In folder"]);
    let (_, folders) = dan.get_json("/api/folders").await;
    assert_eq!(folders[0]["folder_type"], "shared");
    assert_eq!(
        dan.get_json(&format!("/api/bookmarks?folder_id={fid}")).await.1["total"],
        1
    );
    let res = dan.get("/go/infolder").send().await.unwrap();
    assert_eq!(res.headers().get("location").unwrap(), "https://in.example");
    // A reader cannot change the folder or its bookmarks.
    expect_error(
        dan.put_json(&format!("/api/folders/{fid}"), json!({"name": "Mine now"}))
            .await,
        404,
        "NOT_FOUND",
    )
    .await;

    olivia
        .put_json(&format!("/api/folders/{fid}"), json!({"user_ids": []}))
        .await;
    assert_eq!(
        dan.get_json("/api/bookmarks").await.1["total"],
        0,
        "unsharing hides them again"
    );
    assert_eq!(dan.get("/go/infolder").send().await.unwrap().status(), 404);
    expect_error(
        dan.get(&format!("/api/folders/{fid}")).send().await.unwrap(),
        404,
        "NOT_FOUND",
    )
    .await;
}

async fn team_membership_drives_access(app: TestApp) {
    sign_in_admin(&app).await;
    let olivia = sign_in_user(&app, "olivia@example.com", "Olivia").await;
    let tess = sign_in_user(&app, "tess@example.com", "Tess").await;
    let (olivia_id, tess_id) = (
        user_id(&app, "olivia@example.com").await,
        user_id(&app, "tess@example.com").await,
    );
    let (s, team) = create(
        &app,
        "/api/admin/teams",
        json!({"name": "Platform", "description": "Infra"}),
    )
    .await;
    assert_eq!(s, 201, "{team}");
    let tid = team["id"].as_str().unwrap().to_string();
    for u in [&olivia_id, &tess_id] {
        let (s, v) = create(
            &app,
            &format!("/api/admin/teams/{tid}/members"),
            json!({"user_id": u}),
        )
        .await;
        assert_eq!((s, &v["message"]), (200, &json!("User added to team")));
    }
    let v = expect_error(
        app.post_json(
            &format!("/api/admin/teams/{tid}/members"),
            json!({"user_id": tess_id}),
        )
        .await,
        400,
        "ALREADY_MEMBER",
    )
    .await;
    assert_eq!(v["error"], "User is already in this team");
    expect_error(
        app.post_json("/api/admin/teams", json!({"name": "Platform"}))
            .await,
        400,
        "DUPLICATE_NAME",
    )
    .await;
    let (_, detail) = app.get_json(&format!("/api/admin/teams/{tid}")).await;
    assert_eq!(detail["member_count"], 2);
    assert_eq!(detail["members"].as_array().unwrap().len(), 2);
    let (_, mine) = tess.get_json("/api/teams").await;
    assert_eq!(mine[0]["name"], "Platform");

    let (s, b) = create(
        &olivia,
        "/api/bookmarks",
        json!({"title": "Team doc", "url": "https://team.example", "slug": "teamdoc",
        "forwarding_enabled": true, "team_ids": [&tid]}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["shared_teams"][0]["name"], "Platform");
    let (_, f) = create(
        &olivia,
        "/api/folders",
        json!({"name": "Team folder", "share_all_teams": true}),
    )
    .await;
    create(
        &olivia,
        "/api/bookmarks",
        json!({"title": "In team folder", "url": "https://tf.example", "folder_ids": [f["id"]]}),
    )
    .await;
    assert_eq!(
        titles(&tess.get_json("/api/bookmarks").await.1),
        ["In team folder", "Team doc"]
    );
    assert_eq!(tess.get("/go/teamdoc").send().await.unwrap().status(), 302);
    // Only members can share with a team.
    let uma = sign_in_user(&app, "uma@example.com", "Uma").await;
    expect_error(
        uma.post_json(
            "/api/bookmarks",
            json!({"title": "x", "url": "https://x.example", "team_ids": [&tid]}),
        )
        .await,
        403,
        "FORBIDDEN",
    )
    .await;

    // Leaving the team takes it all away at once.
    let res = app
        .delete(&format!("/api/admin/teams/{tid}/members/{tess_id}"))
        .await;
    assert_eq!(
        body(res).await,
        (200, json!({"message": "User removed from team"}))
    );
    assert_eq!(tess.get_json("/api/bookmarks").await.1["total"], 0);
    assert_eq!(tess.get("/go/teamdoc").send().await.unwrap().status(), 404);
    assert_eq!(tess.get_json("/api/teams").await.1, json!([]));

    // Deleting the team removes its shares.
    assert_eq!(app.delete(&format!("/api/admin/teams/{tid}")).await.status(), 200);
    let (_, b) = olivia
        .get_json(&format!("/api/bookmarks/{}", b["id"].as_str().unwrap()))
        .await;
    assert_eq!(b["shared_teams"], json!([]));
}

async fn user_administration_and_last_admin(app: TestApp) {
    sign_in_admin(&app).await;
    let admin_id = user_id(&app, crate::common::ADMIN_EMAIL).await;
    // Create, list, search.
    let (s, u) = create(
        &app,
        "/api/admin/users",
        json!({"email": "New@Example.com", "name": "New", "password": "New-Passw0rd!"}),
    )
    .await;
    assert_eq!(s, 201, "{u}");
    assert_eq!(u["email"], "new@example.com");
    assert_eq!(u["is_admin"], false);
    let uid = u["id"].as_str().unwrap().to_string();
    expect_error(
        app.post_json(
            "/api/admin/users",
            json!({"email": "new@example.com", "name": "Again"}),
        )
        .await,
        400,
        "VALIDATION_ERROR",
    )
    .await;
    let v = expect_error(
        app.post_json(
            "/api/admin/users",
            json!({"email": "i@example.com", "name": "I", "send_invite": true}),
        )
        .await,
        400,
        "INVITE_UNAVAILABLE",
    )
    .await;
    assert!(v["error"]
        .as_str()
        .unwrap()
        .starts_with("Invite by email is not available"));
    let (_, page) = app.get_json("/api/admin/users?q=new&limit=10").await;
    assert_eq!(page["total"], 1);

    // The only admin can neither be demoted, disabled nor deleted, nor delete themselves.
    let v = expect_error(
        app.put_json(
            &format!("/api/admin/users/{admin_id}"),
            json!({"is_admin": false}),
        )
        .await,
        400,
        "LAST_ADMIN",
    )
    .await;
    assert_eq!(v["error"], "Cannot remove the last admin");
    expect_error(
        app.put_json(&format!("/api/admin/users/{admin_id}"), json!({"disabled": true}))
            .await,
        400,
        "SELF_DISABLE",
    )
    .await;
    let v = expect_error(
        app.delete(&format!("/api/admin/users/{admin_id}")).await,
        400,
        "SELF_DELETE",
    )
    .await;
    assert_eq!(v["error"], "Cannot delete your own account");
    // With a second admin, demoting the first works; then the second cannot be removed.
    let (_, _) = body(
        app.put_json(&format!("/api/admin/users/{uid}"), json!({"is_admin": true}))
            .await,
    )
    .await;
    let (s, v) = body(
        app.put_json(
            &format!("/api/admin/users/{admin_id}"),
            json!({"is_admin": false}),
        )
        .await,
    )
    .await;
    assert_eq!((s, &v["is_admin"]), (200, &json!(false)));
    let new_admin = app.other_client();
    new_admin
        .post("/api/auth/login")
        .json(&json!({"email": "new@example.com", "password": "New-Passw0rd!"}))
        .send()
        .await
        .unwrap();
    expect_error(
        new_admin
            .put_json(&format!("/api/admin/users/{uid}"), json!({"is_admin": false}))
            .await,
        400,
        "LAST_ADMIN",
    )
    .await;
    // The demoted user lost admin rights at once.
    expect_error(
        app.get("/api/admin/users").send().await.unwrap(),
        403,
        "FORBIDDEN",
    )
    .await;
    assert_eq!(new_admin.get_json("/api/admin/users").await.0, 200);
    let (_, me) = new_admin.get_json("/api/auth/me").await;
    assert_eq!(me["is_admin"], true);
}

async fn disabling_a_user_locks_them_out(app: TestApp) {
    sign_in_admin(&app).await;
    let dan = sign_in_user(&app, "dan@example.com", "Dan").await;
    let dan_id = user_id(&app, "dan@example.com").await;
    let (_, t) = create(&dan, "/api/tokens", json!({"name": "cli"})).await;
    let token = t["token"].as_str().unwrap().to_string();
    let bearer = |t: String| {
        let app = app.clone();
        async move {
            crate::common::new_client()
                .get(app.url("/api/auth/me"))
                .bearer_auth(t)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(bearer(token.clone()).await, 200);
    let (s, v) = body(
        app.put_json(&format!("/api/admin/users/{dan_id}"), json!({"disabled": true}))
            .await,
    )
    .await;
    assert_eq!((s, &v["disabled"]), (200, &json!(true)));
    assert_eq!(dan.get_json("/api/auth/me").await.0, 401, "cookie refused");
    assert_eq!(bearer(token.clone()).await, 401, "API token refused");
    assert_eq!(
        dan.post("/api/auth/login")
            .json(&json!({"email": "dan@example.com", "password": crate::common::PASSWORD}))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    // Re-enabled: the token works again (sessions stay ended).
    app.put_json(&format!("/api/admin/users/{dan_id}"), json!({"disabled": false}))
        .await;
    assert_eq!(bearer(token).await, 200);
    assert_eq!(dan.get_json("/api/auth/me").await.0, 401);
    // Deleting the user ends everything too.
    assert_eq!(
        app.delete(&format!("/api/admin/users/{dan_id}")).await.status(),
        200
    );
    expect_error(
        app.get(&format!("/api/admin/users/{dan_id}"))
            .send()
            .await
            .unwrap(),
        404,
        "NOT_FOUND",
    )
    .await;
}

async fn settings_whitelist(app: TestApp) {
    sign_in_admin(&app).await;
    let (s, v) = app.get_json("/api/admin/settings").await;
    assert_eq!((s, &v["registrations_enabled"]), (200, &json!("false")));
    let (s, v) = create(
        &app,
        "/api/admin/settings",
        json!({"key": "registrations_enabled", "value": true}),
    )
    .await;
    assert_eq!(
        (s, v),
        (200, json!({"key": "registrations_enabled", "value": "true"}))
    );
    let res = app
        .other_client()
        .post("/api/auth/register")
        .json(&json!({"email": "r@example.com", "name": "R", "password": "Reg-Passw0rd!"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "the setting opens sign-up");
    expect_error(
        app.post_json(
            "/api/admin/settings",
            json!({"key": "smtp_password", "value": "x"}),
        )
        .await,
        400,
        "UNKNOWN_SETTING",
    )
    .await;
    expect_error(
        app.post_json(
            "/api/admin/settings",
            json!({"key": "registrations_enabled", "value": "maybe"}),
        )
        .await,
        400,
        "VALIDATION_ERROR",
    )
    .await;
    assert_eq!(
        app.delete("/api/admin/settings/registrations_enabled")
            .await
            .status(),
        200
    );
    expect_error(
        app.get("/api/admin/settings/registrations_enabled")
            .send()
            .await
            .unwrap(),
        404,
        "NOT_FOUND",
    )
    .await;
    let (_, log) = app.get_json("/api/admin/audit-log?entity_type=settings").await;
    assert_eq!(log["events"].as_array().unwrap().len(), 2);
}

on_both_backends!(
    folder_share_and_unshare,
    team_membership_drives_access,
    user_administration_and_last_admin,
    disabling_a_user_locks_them_out,
    settings_whitelist,
);
