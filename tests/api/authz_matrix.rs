//! The authorization matrix: every route that touches a bookmark, folder, tag, share, team or
//! user, tried by each kind of caller, with the answer each must get. Denials of items the caller
//! may not know about are 404, never 403. A route in /openapi.json under these prefixes that is
//! missing from the table fails the test.

use crate::common::{create, sign_in_admin, sign_in_user, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

const PREFIXES: &[&str] = &[
    "/api/bookmarks",
    "/api/folders",
    "/api/tags",
    "/api/teams",
    "/api/users",
    "/api/admin/users",
    "/api/admin/teams",
    "/api/go",
    "/api/dashboard",
];

#[derive(Clone, Copy, Debug)]
enum Actor {
    Owner,
    Direct,
    Team,
    Unrelated,
    Admin,
    Anon,
    Revoked,
}

/// Denials first, the owner last: destructive rows succeed only at the end.
const ORDER: [Actor; 7] = [
    Actor::Anon,
    Actor::Revoked,
    Actor::Unrelated,
    Actor::Direct,
    Actor::Team,
    Actor::Admin,
    Actor::Owner,
];

struct Ids {
    bookmark: String,
    bookmark_del: String,
    slug: String,
    folder: String,
    folder_del: String,
    tag: String,
    tag_del: String,
    unrelated_user: String,
    throwaway_user: String,
    team: String,
    throwaway_team: String,
}

struct World {
    clients: Vec<(String, TestApp)>,
    revoked_token: String,
    anon: TestApp,
    ids: Ids,
}

/// Expected status for [owner, direct, team, unrelated, admin, anon, revoked].
type Expect = [u16; 7];
const ALL_USERS: fn(u16) -> Expect = |ok| [ok, ok, ok, ok, ok, 401, 401];
const OWNER_ONLY: fn(u16) -> Expect = |ok| [ok, 404, 404, 404, 404, 401, 401];
const READERS: fn(u16) -> Expect = |ok| [ok, ok, ok, 404, 404, 401, 401];
const ADMIN_ONLY: fn(u16) -> Expect = |ok| [403, 403, 403, 403, ok, 401, 401];

struct Row {
    method: Method,
    template: &'static str,
    path: String,
    body: Option<Value>,
    expect: Expect,
}

fn idx(a: Actor) -> usize {
    match a {
        Actor::Owner => 0,
        Actor::Direct => 1,
        Actor::Team => 2,
        Actor::Unrelated => 3,
        Actor::Admin => 4,
        Actor::Anon => 5,
        Actor::Revoked => 6,
    }
}

async fn world(app: &TestApp) -> World {
    sign_in_admin(app).await;
    let owner = sign_in_user(app, "owner@example.com", "Owner").await;
    let direct = sign_in_user(app, "direct@example.com", "Direct").await;
    let team = sign_in_user(app, "team@example.com", "Team").await;
    let unrelated = sign_in_user(app, "unrelated@example.com", "Unrelated").await;
    sign_in_user(app, "throwaway@example.com", "Throwaway").await;
    let (_, users) = app.get_json("/api/admin/users").await;
    let id_of = |email: &str| {
        users
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["email"] == email)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (owner_id, direct_id, team_id) = (
        id_of("owner@example.com"),
        id_of("direct@example.com"),
        id_of("team@example.com"),
    );
    let (_, t) = create(app, "/api/admin/teams", json!({"name": "Crew"})).await;
    let team_uuid = t["id"].as_str().unwrap().to_string();
    for u in [&owner_id, &team_id] {
        create(
            app,
            &format!("/api/admin/teams/{team_uuid}/members"),
            json!({"user_id": u}),
        )
        .await;
    }
    let (_, tt) = create(app, "/api/admin/teams", json!({"name": "Throwaway team"})).await;

    let shared = |title: &str, slug: &str| {
        json!({"title": title, "url": "https://shared.example", "slug": slug, "forwarding_enabled": true,
               "user_ids": [&direct_id], "team_ids": [&team_uuid]})
    };
    let (s, b) = create(&owner, "/api/bookmarks", shared("Shared", "shared-link")).await;
    assert_eq!(s, 201, "{b}");
    let (_, bd) = create(
        &owner,
        "/api/bookmarks",
        shared("Shared, to delete", "shared-del"),
    )
    .await;
    let (_, f) = create(
        &owner,
        "/api/folders",
        json!({"name": "Shared folder", "user_ids": [&direct_id]}),
    )
    .await;
    let (_, fd) = create(
        &owner,
        "/api/folders",
        json!({"name": "Folder to delete", "user_ids": [&direct_id]}),
    )
    .await;
    let (_, tag) = create(&owner, "/api/tags", json!({"name": "private"})).await;
    let (_, tag_del) = create(&owner, "/api/tags", json!({"name": "to-delete"})).await;
    let (_, tok) = create(&owner, "/api/tokens", json!({"name": "soon revoked"})).await;
    owner
        .delete(&format!("/api/tokens/{}", tok["id"].as_str().unwrap()))
        .await;

    let anon = app.other_client();
    anon.csrf_token().await;
    World {
        clients: vec![
            ("owner".into(), owner),
            ("direct".into(), direct),
            ("team".into(), team),
            ("unrelated".into(), unrelated),
            ("admin".into(), app.clone()),
        ],
        revoked_token: tok["token"].as_str().unwrap().to_string(),
        anon,
        ids: Ids {
            bookmark: b["id"].as_str().unwrap().into(),
            bookmark_del: bd["id"].as_str().unwrap().into(),
            slug: "shared-link".into(),
            folder: f["id"].as_str().unwrap().into(),
            folder_del: fd["id"].as_str().unwrap().into(),
            tag: tag["id"].as_str().unwrap().into(),
            tag_del: tag_del["id"].as_str().unwrap().into(),
            unrelated_user: id_of("unrelated@example.com"),
            throwaway_user: id_of("throwaway@example.com"),
            team: team_uuid,
            throwaway_team: tt["id"].as_str().unwrap().into(),
        },
    }
}

fn rows(ids: &Ids) -> Vec<Row> {
    let row =
        |method: Method, template: &'static str, path: String, body: Option<Value>, expect: Expect| Row {
            method,
            template,
            path,
            body,
            expect,
        };
    let b = &ids.bookmark;
    vec![
        row(
            Method::GET,
            "/api/bookmarks",
            "/api/bookmarks".into(),
            None,
            ALL_USERS(200),
        ),
        row(
            Method::POST,
            "/api/bookmarks",
            "/api/bookmarks".into(),
            Some(json!({"title": "Mine", "url": "https://mine.example"})),
            ALL_USERS(201),
        ),
        row(
            Method::GET,
            "/api/bookmarks/search",
            "/api/bookmarks/search?q=shared".into(),
            None,
            ALL_USERS(200),
        ),
        row(
            Method::GET,
            "/api/bookmarks/ids",
            "/api/bookmarks/ids".into(),
            None,
            ALL_USERS(200),
        ),
        // Each caller queues checks of their own bookmarks only.
        row(
            Method::POST,
            "/api/bookmarks/check-links",
            "/api/bookmarks/check-links".into(),
            None,
            ALL_USERS(202),
        ),
        row(
            Method::GET,
            "/api/bookmarks/export",
            "/api/bookmarks/export".into(),
            None,
            ALL_USERS(200),
        ),
        row(
            Method::POST,
            "/api/bookmarks/import",
            "/api/bookmarks/import".into(),
            Some(json!({"bookmarks": []})),
            ALL_USERS(200),
        ),
        row(
            Method::GET,
            "/api/bookmarks/metadata",
            "/api/bookmarks/metadata?url=http://127.0.0.1/".into(),
            None,
            ALL_USERS(400),
        ),
        // Not configured in this test: every signed-in caller learns so (503), nothing is called.
        row(
            Method::POST,
            "/api/bookmarks/ai-suggest",
            "/api/bookmarks/ai-suggest".into(),
            Some(json!({"url": "https://mine.example"})),
            ALL_USERS(503),
        ),
        row(
            Method::POST,
            "/api/bookmarks/bulk",
            "/api/bookmarks/bulk".into(),
            Some(json!({"ids": [b], "action": "pin"})),
            OWNER_ONLY(200),
        ),
        row(
            Method::GET,
            "/api/bookmarks/{id}",
            format!("/api/bookmarks/{b}"),
            None,
            READERS(200),
        ),
        row(
            Method::PUT,
            "/api/bookmarks/{id}",
            format!("/api/bookmarks/{b}"),
            Some(json!({"title": "Renamed"})),
            OWNER_ONLY(200),
        ),
        row(
            Method::POST,
            "/api/bookmarks/{id}/track-access",
            format!("/api/bookmarks/{b}/track-access"),
            None,
            READERS(200),
        ),
        row(
            Method::DELETE,
            "/api/bookmarks/{id}",
            format!("/api/bookmarks/{}", ids.bookmark_del),
            None,
            OWNER_ONLY(200),
        ),
        row(
            Method::GET,
            "/api/folders",
            "/api/folders".into(),
            None,
            ALL_USERS(200),
        ),
        row(
            Method::POST,
            "/api/folders",
            "/api/folders".into(),
            Some(json!({"name": "new folder"})),
            ALL_USERS(201),
        ),
        row(
            Method::GET,
            "/api/folders/{id}",
            format!("/api/folders/{}", ids.folder),
            None,
            [200, 200, 404, 404, 404, 401, 401],
        ),
        row(
            Method::PUT,
            "/api/folders/{id}",
            format!("/api/folders/{}", ids.folder),
            Some(json!({"icon": "Star"})),
            OWNER_ONLY(200),
        ),
        row(
            Method::DELETE,
            "/api/folders/{id}",
            format!("/api/folders/{}", ids.folder_del),
            None,
            OWNER_ONLY(200),
        ),
        row(Method::GET, "/api/tags", "/api/tags".into(), None, ALL_USERS(200)),
        row(
            Method::POST,
            "/api/tags",
            "/api/tags".into(),
            Some(json!({"name": "new tag"})),
            ALL_USERS(201),
        ),
        row(
            Method::GET,
            "/api/tags/{id}",
            format!("/api/tags/{}", ids.tag),
            None,
            OWNER_ONLY(200),
        ),
        row(
            Method::PUT,
            "/api/tags/{id}",
            format!("/api/tags/{}", ids.tag),
            Some(json!({"name": "renamed"})),
            OWNER_ONLY(200),
        ),
        row(
            Method::DELETE,
            "/api/tags/{id}",
            format!("/api/tags/{}", ids.tag_del),
            None,
            OWNER_ONLY(200),
        ),
        row(
            Method::GET,
            "/api/users/me",
            "/api/users/me".into(),
            None,
            ALL_USERS(200),
        ),
        row(
            Method::PUT,
            "/api/users/me",
            "/api/users/me".into(),
            Some(json!({"theme": "dark"})),
            ALL_USERS(200),
        ),
        // Without the password the deletion is refused for everyone who is signed in.
        row(
            Method::DELETE,
            "/api/users/me",
            "/api/users/me".into(),
            Some(json!({})),
            ALL_USERS(400),
        ),
        row(
            Method::POST,
            "/api/users/me/password",
            "/api/users/me/password".into(),
            Some(json!({"current_password": "wrong", "new_password": "New-Passw0rd!"})),
            ALL_USERS(400),
        ),
        row(
            Method::GET,
            "/api/users/for-sharing",
            "/api/users/for-sharing".into(),
            None,
            ALL_USERS(200),
        ),
        row(
            Method::GET,
            "/api/teams",
            "/api/teams".into(),
            None,
            ALL_USERS(200),
        ),
        row(
            Method::GET,
            "/api/go/preferences",
            "/api/go/preferences".into(),
            None,
            ALL_USERS(200),
        ),
        // The original answers 403 for a bookmark the caller cannot read.
        row(
            Method::POST,
            "/api/go/preferences",
            "/api/go/preferences".into(),
            Some(json!({"slug": ids.slug, "bookmark_id": b})),
            [201, 201, 201, 403, 403, 401, 401],
        ),
        row(
            Method::DELETE,
            "/api/go/preferences/{slug}",
            format!("/api/go/preferences/{}", ids.slug),
            None,
            [204, 204, 204, 404, 404, 401, 401],
        ),
        row(
            Method::GET,
            "/api/dashboard/stats",
            "/api/dashboard/stats".into(),
            None,
            ALL_USERS(200),
        ),
        row(
            Method::GET,
            "/api/admin/users",
            "/api/admin/users".into(),
            None,
            ADMIN_ONLY(200),
        ),
        row(
            Method::POST,
            "/api/admin/users",
            "/api/admin/users".into(),
            Some(json!({"email": "made@example.com", "name": "Made", "password": "Made-Passw0rd!"})),
            ADMIN_ONLY(201),
        ),
        row(
            Method::GET,
            "/api/admin/users/{id}",
            format!("/api/admin/users/{}", ids.unrelated_user),
            None,
            ADMIN_ONLY(200),
        ),
        row(
            Method::PUT,
            "/api/admin/users/{id}",
            format!("/api/admin/users/{}", ids.unrelated_user),
            Some(json!({"name": "U"})),
            ADMIN_ONLY(200),
        ),
        row(
            Method::POST,
            "/api/admin/users/{id}/resend-invite",
            format!("/api/admin/users/{}/resend-invite", ids.unrelated_user),
            None,
            ADMIN_ONLY(400),
        ),
        row(
            Method::GET,
            "/api/admin/users/{id}/teams",
            format!("/api/admin/users/{}/teams", ids.unrelated_user),
            None,
            ADMIN_ONLY(200),
        ),
        // (Resetting MFA ends the user's sessions: aim it at the throwaway user.)
        row(
            Method::POST,
            "/api/admin/users/{id}/reset-mfa",
            format!("/api/admin/users/{}/reset-mfa", ids.throwaway_user),
            None,
            ADMIN_ONLY(200),
        ),
        row(
            Method::DELETE,
            "/api/admin/users/{id}",
            format!("/api/admin/users/{}", ids.throwaway_user),
            None,
            ADMIN_ONLY(200),
        ),
        row(
            Method::GET,
            "/api/admin/teams",
            "/api/admin/teams".into(),
            None,
            ADMIN_ONLY(200),
        ),
        row(
            Method::POST,
            "/api/admin/teams",
            "/api/admin/teams".into(),
            Some(json!({"name": "Another"})),
            ADMIN_ONLY(201),
        ),
        row(
            Method::GET,
            "/api/admin/teams/{id}",
            format!("/api/admin/teams/{}", ids.team),
            None,
            ADMIN_ONLY(200),
        ),
        row(
            Method::PUT,
            "/api/admin/teams/{id}",
            format!("/api/admin/teams/{}", ids.team),
            Some(json!({"description": "d"})),
            ADMIN_ONLY(200),
        ),
        row(
            Method::POST,
            "/api/admin/teams/{id}/members",
            format!("/api/admin/teams/{}/members", ids.team),
            Some(json!({"user_id": ids.unrelated_user})),
            ADMIN_ONLY(200),
        ),
        row(
            Method::DELETE,
            "/api/admin/teams/{id}/members/{userId}",
            format!("/api/admin/teams/{}/members/{}", ids.team, ids.unrelated_user),
            None,
            ADMIN_ONLY(200),
        ),
        row(
            Method::DELETE,
            "/api/admin/teams/{id}",
            format!("/api/admin/teams/{}", ids.throwaway_team),
            None,
            ADMIN_ONLY(200),
        ),
    ]
}

async fn authorization_matrix(app: TestApp) {
    let w = world(&app).await;
    let table = rows(&w.ids);

    // Every route under the prefixes is in the table.
    let (_, doc) = app.get_json("/openapi.json").await;
    let mut missing = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        if !PREFIXES.iter().any(|p| path.starts_with(p)) {
            continue;
        }
        for method in ops.as_object().unwrap().keys() {
            let m = method.to_uppercase();
            if !table.iter().any(|r| r.template == path && r.method.as_str() == m) {
                missing.push(format!("{m} {path}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "routes missing from the authorization matrix: {missing:?}"
    );

    let mut failures = Vec::new();
    // A caller with no cookie at all and no token has nothing a forged request could ride on:
    // it is told it is not signed in (401), never refused as a forgery (403).
    for r in table.iter().filter(|r| r.expect[idx(Actor::Anon)] == 401) {
        let req = crate::common::new_client().request(r.method.clone(), app.url(&r.path));
        let req = match &r.body {
            Some(b) => req.json(b),
            None => req,
        };
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let v: Value = res.json().await.unwrap_or(Value::Null);
        if status != 401 || v["code"] != "UNAUTHORIZED" {
            failures.push(format!(
                "{} {} without any credential: got {status} {v}, want 401 UNAUTHORIZED",
                r.method, r.path
            ));
        }
    }
    for (n, r) in table.iter().enumerate() {
        for actor in ORDER {
            let req = match actor {
                Actor::Anon => w.anon.write(r.method.clone(), &r.path).await,
                Actor::Revoked => crate::common::new_client()
                    .request(r.method.clone(), app.url(&r.path))
                    .bearer_auth(&w.revoked_token),
                _ => {
                    let c = &w.clients[idx(actor)].1;
                    // Names must differ per caller where they are unique per user or instance.
                    c.write(r.method.clone(), &r.path).await
                }
            };
            let body = r.body.clone().map(|mut b| {
                if r.method == Method::POST
                    && (r.template == "/api/admin/users" || r.template == "/api/admin/teams")
                {
                    if let Some(e) = b.get_mut("email") {
                        *e = json!(format!("made{n}-{actor:?}@example.com").to_lowercase());
                    }
                    if let Some(nm) = b.get_mut("name") {
                        *nm = json!(format!("Team {n} {actor:?}"));
                    }
                }
                b
            });
            let req = match body {
                Some(b) => req.json(&b),
                None => req,
            };
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            let expected = r.expect[idx(actor)];
            if status != expected {
                let text = res.text().await.unwrap_or_default();
                failures.push(format!(
                    "{} {} as {actor:?}: got {status}, want {expected} ({text})",
                    r.method, r.path
                ));
            } else if (400..500).contains(&status) {
                // Denials are the envelope; a denied caller learns nothing about the item.
                let v: Value = res.json().await.unwrap_or(Value::Null);
                if v["code"].as_str().is_none() {
                    failures.push(format!(
                        "{} {} as {actor:?}: {status} without the envelope",
                        r.method, r.path
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "authorization mismatches:\n{}",
        failures.join("\n")
    );
}

on_both_backends!(authorization_matrix);
