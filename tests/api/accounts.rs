//! Accounts and sessions, driven the way the original's clients drive them: form login, then the
//! cookie plus `X-CSRF-Token` on writes, or a Bearer `sb_` token.

use crate::common::{body, expect_error, Backend, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use slugbase::with_db;

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PW: &str = "Admin-Passw0rd!";

async fn setup_admin(app: &TestApp) -> Value {
    let res = app
        .post("/api/auth/setup")
        .json(&json!({"email": ADMIN_EMAIL, "name": "Admin", "password": ADMIN_PW}))
        .send()
        .await
        .unwrap();
    let (s, v) = body(res).await;
    assert_eq!(s, 200, "{v}");
    v
}

/// Creates a user directly in the database (admin user management is its own issue).
async fn create_user(app: &TestApp, email: &str, password: &str) -> String {
    let hash = slugbase::auth::password::hash(password).await.unwrap();
    let mut tx = app.state.db.begin().await.unwrap();
    let id = slugbase::users::insert(
        &mut tx,
        &slugbase::users::NewUser {
            email,
            name: "Someone",
            password_hash: Some(&hash),
            is_admin: false,
            email_verified: true,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.post("/api/auth/login")
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

fn set_cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_string()
}

async fn me_with_bearer(app: &TestApp, token: &str) -> u16 {
    crate::common::new_client()
        .get(app.url("/api/auth/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn setup_once_then_refused(app: TestApp) {
    let (_, v) = app.get_json("/api/auth/setup/status").await;
    assert_eq!(v, json!({"initialized": false}));
    let res = app
        .post("/api/auth/setup")
        .json(&json!({"email": " Admin@Example.com ", "name": "Admin", "password": ADMIN_PW}))
        .send()
        .await
        .unwrap();
    let cookie = set_cookie(&res, "token").expect("session cookie");
    assert!(cookie.contains("HttpOnly"));
    let (s, v) = body(res).await;
    assert_eq!(s, 200);
    assert_eq!(v["email"], ADMIN_EMAIL);
    assert_eq!(v["is_admin"], true);
    assert_eq!(v["language"], "en");
    assert_eq!(v["theme"], "auto");
    let (s, me) = app.get_json("/api/auth/me").await;
    assert_eq!(s, 200, "setup signs the admin in");
    assert_eq!(me["is_admin"], true);
    assert_eq!(me["has_password"], true);
    assert_eq!(me["mfa_enabled"], false);
    assert_eq!(
        app.get_json("/api/auth/setup/status").await.1,
        json!({"initialized": true})
    );
    let res = app
        .other_client()
        .post("/api/auth/setup")
        .json(&json!({"email": "other@example.com", "name": "Other", "password": ADMIN_PW}))
        .send()
        .await
        .unwrap();
    let v = expect_error(res, 403, "ALREADY_INITIALIZED").await;
    assert_eq!(v["error"], "System already initialized");
}

async fn concurrent_setups_make_one_admin(app: TestApp) {
    let mut tasks = Vec::new();
    for i in 0..6 {
        let a = app.other_client();
        tasks.push(tokio::spawn(async move {
            a.post("/api/auth/setup")
                .json(&json!({"email": format!("admin{i}@example.com"), "name": "A", "password": ADMIN_PW}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap());
    }
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 403).count(), 5, "{codes:?}");
    assert_eq!(slugbase::users::count(&app.state.db).await.unwrap(), 1);
}

async fn setup_validates_input(app: TestApp) {
    let res = app
        .post("/api/auth/setup")
        .json(&json!({"email": "a@b.co"}))
        .send()
        .await
        .unwrap();
    let v = expect_error(res, 400, "VALIDATION_ERROR").await;
    assert_eq!(v["error"], "Email, name, and password are required");
    let res = app
        .post("/api/auth/setup")
        .json(&json!({"email": "a@b.co", "name": "A", "password": "weakpass"}))
        .send()
        .await
        .unwrap();
    let v = expect_error(res, 400, "VALIDATION_ERROR").await;
    assert_eq!(v["details"][0]["field"], "password");
    let res = app
        .post("/api/auth/setup")
        .json(&json!({"email": "not-an-email", "name": "A", "password": ADMIN_PW}))
        .send()
        .await
        .unwrap();
    let v = expect_error(res, 400, "VALIDATION_ERROR").await;
    assert_eq!(v["error"], "Invalid email format");
    assert_eq!(
        slugbase::users::count(&app.state.db).await.unwrap(),
        0,
        "nothing written"
    );
}

async fn malformed_bodies_get_envelopes(app: TestApp) {
    let res = app
        .post("/api/auth/login")
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    expect_error(res, 400, "INVALID_JSON").await;
    let res = app.post("/api/auth/login").body("email=a").send().await.unwrap();
    expect_error(res, 415, "UNSUPPORTED_MEDIA_TYPE").await;
    // A body declared larger than the limit is refused before it is sent: the client gets its
    // answer at once (a raw request, so the test does not race the sending of 11 MiB against
    // the server closing the connection).
    let answer = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        app.raw_request(
            "POST /api/auth/login HTTP/1.1\r\nContent-Type: application/json\r\n\
             Content-Length: 11534336\r\nConnection: close\r\n\r\n",
        ),
    )
    .await
    .expect("the 413 comes without waiting for the body");
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let body = &answer[answer.find("\r\n\r\n").unwrap() + 4..];
    let v: Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["code"], "PAYLOAD_TOO_LARGE", "{v}");
}

async fn original_client_flow_cookie_and_csrf(app: TestApp) {
    setup_admin(&app).await;
    let client = app.other_client();
    let res = login(&client, ADMIN_EMAIL, ADMIN_PW).await;
    let (s, v) = body(res).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["email"], ADMIN_EMAIL);
    assert_eq!(v["email_verified"], true);

    // A cookie-authenticated write without the CSRF header is refused...
    let res = client
        .post("/api/tokens")
        .json(&json!({"name": "cli"}))
        .send()
        .await
        .unwrap();
    let v = expect_error(res, 403, "CSRF_INVALID").await;
    assert_eq!(v["error"], "Invalid CSRF token");
    // ...and so is one with a token that does not match the cookie.
    client.csrf_token().await;
    let res = client
        .post("/api/tokens")
        .header("X-CSRF-Token", "0".repeat(64))
        .json(&json!({"name": "cli"}))
        .send()
        .await
        .unwrap();
    expect_error(res, 403, "CSRF_INVALID").await;
    // With it, the write passes.
    let res = client.post_json("/api/tokens", json!({"name": "cli"})).await;
    let (s, v) = body(res).await;
    assert_eq!(s, 201, "{v}");
    let token = v["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("sb_") && token.len() == 46, "{token}");

    // A Bearer API token needs no CSRF header and no cookie.
    let res = crate::common::new_client()
        .post(app.url("/api/tokens"))
        .bearer_auth(&token)
        .json(&json!({"name": "from-script"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let (s, me) = body(
        crate::common::new_client()
            .get(app.url("/api/auth/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(me["email"], ADMIN_EMAIL);
}

async fn logout_revokes_the_jwt_everywhere(app: TestApp) {
    setup_admin(&app).await;
    let client = app.other_client();
    let res = login(&client, ADMIN_EMAIL, ADMIN_PW).await;
    let jwt = cookie_value(&set_cookie(&res, "token").unwrap());
    assert_eq!(
        me_with_bearer(&app, &jwt).await,
        200,
        "the session JWT works as Bearer"
    );
    let res = client.post("/api/auth/logout").send().await.unwrap();
    let cleared = set_cookie(&res, "token").expect("token cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert!(set_cookie(&res, "slugbase.mfa_pending").is_some());
    assert_eq!(body(res).await.1, json!({"message": "Logged out"}));
    assert_eq!(
        me_with_bearer(&app, &jwt).await,
        401,
        "old JWT refused after logout"
    );
    // The session of the admin's other client (setup) is untouched.
    assert_eq!(app.get_json("/api/auth/me").await.0, 200);
}

async fn password_change_ends_old_sessions(app: TestApp) {
    setup_admin(&app).await;
    let phone = app.other_client();
    let res = login(&phone, ADMIN_EMAIL, ADMIN_PW).await;
    let phone_jwt = cookie_value(&set_cookie(&res, "token").unwrap());

    let res = app
        .post_json(
            "/api/users/me/password",
            json!({"current_password": "wrong", "new_password": "New-Passw0rd!"}),
        )
        .await;
    expect_error(res, 400, "INVALID_PASSWORD").await;
    let res = app
        .post_json(
            "/api/users/me/password",
            json!({"current_password": ADMIN_PW, "new_password": "short"}),
        )
        .await;
    let v = expect_error(res, 400, "VALIDATION_ERROR").await;
    assert_eq!(v["details"][0]["field"], "new_password");
    let res = app
        .post_json(
            "/api/users/me/password",
            json!({"current_password": ADMIN_PW, "new_password": "New-Passw0rd!"}),
        )
        .await;
    assert!(
        set_cookie(&res, "token").is_some(),
        "the caller gets a fresh session"
    );
    assert_eq!(res.status(), 200);

    assert_eq!(
        me_with_bearer(&app, &phone_jwt).await,
        401,
        "other sessions ended"
    );
    assert_eq!(phone.get_json("/api/auth/me").await.0, 401);
    assert_eq!(
        app.get_json("/api/auth/me").await.0,
        200,
        "caller stays signed in"
    );
    assert_eq!(
        login(&app.other_client(), ADMIN_EMAIL, ADMIN_PW).await.status(),
        401
    );
    assert_eq!(
        login(&app.other_client(), ADMIN_EMAIL, "New-Passw0rd!")
            .await
            .status(),
        200
    );
}

async fn api_tokens_list_limit_and_revoke(app: TestApp) {
    setup_admin(&app).await;
    let res = app.post_json("/api/tokens", json!({"name": "  ci \u{7} "})).await;
    let (s, created) = body(res).await;
    assert_eq!(s, 201);
    assert_eq!(created["name"], "ci", "name sanitised");
    let token = created["token"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap().to_string();

    // The database holds only the hash.
    let stored: Vec<String> = with_db!(&app.state.db, pool => sqlx::query_scalar("SELECT token_hash FROM api_tokens")
        .fetch_all(pool).await.unwrap());
    assert!(!stored.iter().any(|h| h.contains(&token[3..])));
    assert!(stored.contains(&slugbase::auth::api_tokens::hash(&token)));

    assert_eq!(me_with_bearer(&app, &token).await, 200);
    // last_used_at is recorded (asynchronously).
    let mut used = false;
    for _ in 0..50 {
        let (_, list) = app.get_json("/api/tokens").await;
        if !list[0]["last_used_at"].is_null() {
            used = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(used, "last_used_at set");
    let (_, list) = app.get_json("/api/tokens").await;
    assert!(list[0].get("token").is_none(), "secret never listed");

    // Validation.
    expect_error(
        app.post_json("/api/tokens", json!({})).await,
        400,
        "VALIDATION_ERROR",
    )
    .await;
    expect_error(
        app.post_json("/api/tokens", json!({"name": "x".repeat(101)}))
            .await,
        400,
        "VALIDATION_ERROR",
    )
    .await;
    expect_error(
        app.post_json(
            "/api/tokens",
            json!({"name": "old", "expires_at": "2001-01-01T00:00:00Z"}),
        )
        .await,
        400,
        "VALIDATION_ERROR",
    )
    .await;

    // Revocation takes effect at once.
    let res = app.delete(&format!("/api/tokens/{id}")).await;
    assert_eq!(body(res).await, (200, json!({"message": "Token revoked"})));
    assert_eq!(me_with_bearer(&app, &token).await, 401);
    expect_error(app.delete("/api/tokens/no-such-id").await, 400, "TOKEN_NOT_FOUND").await;

    // At most 10 active tokens.
    for i in 0..9 {
        assert_eq!(
            app.post_json("/api/tokens", json!({"name": format!("t{i}")}))
                .await
                .status(),
            201
        );
    }
    // 9 active now (one revoked) -> one more fits, then the limit.
    assert_eq!(
        app.post_json("/api/tokens", json!({"name": "tenth"}))
            .await
            .status(),
        201
    );
    expect_error(
        app.post_json("/api/tokens", json!({"name": "eleventh"})).await,
        400,
        "TOKEN_LIMIT",
    )
    .await;
}

async fn expired_token_is_refused(app: TestApp) {
    setup_admin(&app).await;
    // Two seconds of life: enough for the first request on a busy CI machine.
    let created = std::time::Instant::now();
    let soon = slugbase::db::Ts::now()
        .plus(std::time::Duration::from_secs(2))
        .to_rfc3339();
    let (_, v) = body(
        app.post_json("/api/tokens", json!({"name": "brief", "expires_at": soon}))
            .await,
    )
    .await;
    let token = v["token"].as_str().unwrap().to_string();
    assert_eq!(me_with_bearer(&app, &token).await, 200);
    let expired = created + std::time::Duration::from_millis(2500);
    tokio::time::sleep_until(expired.into()).await;
    assert_eq!(me_with_bearer(&app, &token).await, 401);
}

/// A token removed behind this instance's back (another instance sharing the database, or the
/// admin CLI) stops working within the auth cache's lifetime even while it is in steady use: the
/// background re-check of a busy credential drops it rather than keeping it alive.
async fn token_removed_elsewhere_stops_working_in_use(app: TestApp) {
    setup_admin(&app).await;
    let (_, v) = body(app.post_json("/api/tokens", json!({"name": "elsewhere"})).await).await;
    let token = v["token"].as_str().unwrap().to_string();
    assert_eq!(me_with_bearer(&app, &token).await, 200);
    with_db!(&app.state.db, pool => sqlx::query("DELETE FROM api_tokens").execute(pool).await.unwrap().rows_affected());
    let removed = std::time::Instant::now();
    let limit = slugbase::auth::cache::AUTH_TTL + std::time::Duration::from_secs(1);
    loop {
        let status = me_with_bearer(&app, &token).await;
        if status == 401 {
            break;
        }
        assert_eq!(status, 200);
        assert!(
            removed.elapsed() < limit,
            "a removed token was still accepted {:?} later",
            removed.elapsed()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for _ in 0..3 {
        assert_eq!(me_with_bearer(&app, &token).await, 401, "stays refused");
    }
}

/// Requests that arrive together with a credential not yet cached share one lookup: each of them
/// gets the right answer, for a good token and for a bad one, and a revocation is not answered by
/// a lookup that started before it.
async fn concurrent_first_requests_share_a_lookup(app: TestApp) {
    setup_admin(&app).await;
    let (_, v) = body(app.post_json("/api/tokens", json!({"name": "burst"})).await).await;
    let token = v["token"].as_str().unwrap().to_string();
    let id = v["id"].as_str().unwrap().to_string();
    let bad = format!("{}0", &token[..token.len() - 1]);
    let bad = if bad == token {
        format!("{}1", &token[..token.len() - 1])
    } else {
        bad
    };
    let answers = futures_util::future::join_all(
        (0..32).map(|i| me_with_bearer(&app, if i % 2 == 0 { &token } else { &bad })),
    )
    .await;
    for (i, status) in answers.iter().enumerate() {
        assert_eq!(*status, if i % 2 == 0 { 200 } else { 401 }, "request {i}");
    }
    let res = app.delete(&format!("/api/tokens/{id}")).await;
    assert_eq!(res.status(), 200);
    let answers = futures_util::future::join_all((0..16).map(|_| me_with_bearer(&app, &token))).await;
    assert!(answers.iter().all(|s| *s == 401), "revoked: {answers:?}");
}

async fn per_account_lockout(app: TestApp) {
    setup_admin(&app).await;
    create_user(&app, "bob@example.com", "Bob-Passw0rd!").await;
    let attacker = app.other_client();
    for i in 0..10 {
        let res = login(&attacker, "bob@example.com", "wrong-password").await;
        let v = expect_error(res, 401, "INVALID_CREDENTIALS").await;
        assert_eq!(v["error"], "Invalid email or password", "attempt {i}");
    }
    let res = login(&attacker, "bob@example.com", "wrong-password").await;
    let retry: u64 = res
        .headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 900, "{retry}");
    expect_error(res, 429, "RATE_LIMITED").await;
    // Bob's own correct password is throttled too while the lock lasts...
    assert_eq!(
        login(&app.other_client(), "bob@example.com", "Bob-Passw0rd!")
            .await
            .status(),
        429
    );
    // ...but another account from the same address is not.
    assert_eq!(login(&attacker, ADMIN_EMAIL, ADMIN_PW).await.status(), 200);
}

async fn unknown_email_and_wrong_password_look_alike(app: TestApp) {
    setup_admin(&app).await;
    let a = expect_error(
        login(&app, "nobody@example.com", "Whatever-1!").await,
        401,
        "INVALID_CREDENTIALS",
    )
    .await;
    let b = expect_error(
        login(&app, ADMIN_EMAIL, "Whatever-1!").await,
        401,
        "INVALID_CREDENTIALS",
    )
    .await;
    assert_eq!(a, b);
    let v = expect_error(login(&app, "", "").await, 400, "VALIDATION_ERROR").await;
    assert_eq!(v["error"], "Email and password are required");
}

async fn bcrypt_hash_is_upgraded_at_login(app: TestApp) {
    setup_admin(&app).await;
    let id = create_user(&app, "legacy@example.com", "Legacy-Passw0rd!").await;
    let bcrypt_hash = bcrypt::hash("Legacy-Passw0rd!", 10).unwrap();
    slugbase::users::set_password_hash(&app.state.db, &id, &bcrypt_hash)
        .await
        .unwrap();
    assert_eq!(
        login(&app.other_client(), "legacy@example.com", "Legacy-Passw0rd!")
            .await
            .status(),
        200
    );
    let stored = slugbase::users::by_id(&app.state.db, &id)
        .await
        .unwrap()
        .unwrap()
        .password_hash
        .unwrap();
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    assert_eq!(
        login(&app.other_client(), "legacy@example.com", "Legacy-Passw0rd!")
            .await
            .status(),
        200
    );
}

async fn registration_is_off_by_default(app: TestApp) {
    setup_admin(&app).await;
    let res = app
        .post("/api/auth/register")
        .json(&json!({"email": "new@example.com", "name": "New", "password": "New-Passw0rd!"}))
        .send()
        .await
        .unwrap();
    let v = expect_error(res, 403, "REGISTRATIONS_DISABLED").await;
    assert_eq!(v["error"], "Registrations are disabled");
    // The admin setting turns it on.
    slugbase::settings::set(&app.state.db, "registrations_enabled", "true")
        .await
        .unwrap();
    let res = app
        .post("/api/auth/register")
        .json(&json!({"email": "new@example.com", "name": "New", "password": "New-Passw0rd!"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = login(&app.other_client(), "new@example.com", "New-Passw0rd!").await;
    let (s, v) = body(res).await;
    assert_eq!(s, 200);
    assert_eq!(v["is_admin"], false, "a registrant is never admin");
    let res = app
        .post("/api/auth/register")
        .json(&json!({"email": "NEW@example.com", "name": "Again", "password": "New-Passw0rd!"}))
        .send()
        .await
        .unwrap();
    let v = expect_error(res, 400, "VALIDATION_ERROR").await;
    assert_eq!(v["error"], "Email already registered");
}

async fn profile_update_and_validation(app: TestApp) {
    setup_admin(&app).await;
    let res = app
        .put_json(
            "/api/users/me",
            json!({"name": "  Ada  ", "language": "de", "theme": "dark"}),
        )
        .await;
    let (s, v) = body(res).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["name"], "Ada");
    assert_eq!(v["language"], "de");
    assert_eq!(v["theme"], "dark");
    let (_, me) = app.get_json("/api/users/me").await;
    assert_eq!(me["theme"], "dark");
    let v = expect_error(
        app.put_json("/api/users/me", json!({"theme": "neon"})).await,
        400,
        "VALIDATION_ERROR",
    )
    .await;
    assert_eq!(v["details"][0]["field"], "theme");
    let v = expect_error(
        app.put_json("/api/users/me", json!({"name": "   "})).await,
        400,
        "VALIDATION_ERROR",
    )
    .await;
    assert_eq!(v["details"][0]["field"], "name");
    let v = expect_error(app.put_json("/api/users/me", json!({})).await, 400, "BAD_REQUEST").await;
    assert_eq!(v["error"], "No fields to update");
    let (_, me) = app.get_json("/api/users/me").await;
    assert_eq!(me["name"], "Ada", "failed updates change nothing");
}

async fn disabled_user_is_locked_out_at_once(app: TestApp) {
    setup_admin(&app).await;
    let id = create_user(&app, "carol@example.com", "Carol-Passw0rd!").await;
    let carol = app.other_client();
    assert_eq!(
        login(&carol, "carol@example.com", "Carol-Passw0rd!")
            .await
            .status(),
        200
    );
    let (_, t) = body(carol.post_json("/api/tokens", json!({"name": "t"})).await).await;
    let token = t["token"].as_str().unwrap().to_string();
    with_db!(&app.state.db, pool => sqlx::query("UPDATE users SET disabled = TRUE WHERE id = $1")
        .bind(&id).execute(pool).await.unwrap().rows_affected());
    assert_eq!(carol.get_json("/api/auth/me").await.0, 401, "cookie refused");
    assert_eq!(me_with_bearer(&app, &token).await, 401, "API token refused");
    let res = login(&app.other_client(), "carol@example.com", "Carol-Passw0rd!").await;
    expect_error(res, 403, "ACCOUNT_DISABLED").await;
}

async fn account_deletion_guards(app: TestApp) {
    setup_admin(&app).await;
    let res = app
        .write(Method::DELETE, "/api/users/me")
        .await
        .send()
        .await
        .unwrap();
    expect_error(res, 400, "PASSWORD_REQUIRED").await;
    let res = app
        .write(Method::DELETE, "/api/users/me")
        .await
        .json(&json!({"password": ADMIN_PW}))
        .send()
        .await
        .unwrap();
    expect_error(res, 400, "LAST_ADMIN").await;
    create_user(&app, "dave@example.com", "Dave-Passw0rd!").await;
    let dave = app.other_client();
    assert_eq!(
        login(&dave, "dave@example.com", "Dave-Passw0rd!").await.status(),
        200
    );
    let res = dave
        .write(Method::DELETE, "/api/users/me")
        .await
        .json(&json!({"password": "Dave-Passw0rd!"}))
        .send()
        .await
        .unwrap();
    assert_eq!(body(res).await, (200, json!({"message": "Account deleted"})));
    assert!(slugbase::users::by_email(&app.state.db, "dave@example.com")
        .await
        .unwrap()
        .is_none());
    assert_eq!(dave.get_json("/api/auth/me").await.0, 401);
}

async fn sharing_list_and_teams(app: TestApp) {
    setup_admin(&app).await;
    create_user(&app, "erin@example.com", "Erin-Passw0rd!").await;
    let (s, list) = app.get_json("/api/users/for-sharing").await;
    assert_eq!(s, 200);
    let emails: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, vec!["erin@example.com"], "others only");
    let (s, teams) = app.get_json("/api/teams").await;
    assert_eq!((s, teams), (200, json!([])));
    assert_eq!(app.other_client().get_json("/api/teams").await.0, 401);
}

async fn audit_log_records_security_events(app: TestApp) {
    setup_admin(&app).await;
    login(&app.other_client(), ADMIN_EMAIL, "wrong-pass").await;
    let c = app.other_client();
    login(&c, ADMIN_EMAIL, ADMIN_PW).await;
    c.post_json("/api/tokens", json!({"name": "audited"})).await;
    c.post("/api/auth/logout").send().await.unwrap();

    let (s, page) = app.get_json("/api/admin/audit-log").await;
    assert_eq!(s, 200);
    let actions: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "auth.setup_completed",
        "auth.login_failed",
        "auth.login_succeeded",
        "api_token.created",
        "auth.logout",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    let ev = &page["events"][0];
    assert_eq!(ev["ip"], "127.0.0.1");
    assert!(ev["metadata"].is_object());
    assert_eq!(ev["actor_email"], ADMIN_EMAIL);

    let (_, failed) = app
        .get_json("/api/admin/audit-log?action=auth.login_failed")
        .await;
    assert_eq!(failed["events"].as_array().unwrap().len(), 1);
    assert_eq!(failed["events"][0]["metadata"]["email"], ADMIN_EMAIL);

    // Cursor pagination walks every event exactly once.
    let mut seen = Vec::new();
    let mut url = "/api/admin/audit-log?limit=2".to_string();
    loop {
        let (_, p) = app.get_json(&url).await;
        for e in p["events"].as_array().unwrap() {
            seen.push(e["id"].as_str().unwrap().to_string());
        }
        match p["next_cursor"].as_object() {
            Some(c) => {
                url = format!(
                    "/api/admin/audit-log?limit=2&before_created_at={}&before_id={}",
                    urlencode(c["before_created_at"].as_str().unwrap()),
                    c["before_id"].as_str().unwrap()
                )
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), actions.len());
    let mut dedup = seen.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), seen.len());

    let res = app.get("/api/admin/audit-log?before_id=x").send().await.unwrap();
    expect_error(res, 400, "VALIDATION_ERROR").await;
    assert_eq!(app.other_client().get_json("/api/admin/audit-log").await.0, 401);
    create_user(&app, "frank@example.com", "Frank-Passw0rd!").await;
    let frank = app.other_client();
    login(&frank, "frank@example.com", "Frank-Passw0rd!").await;
    expect_error(
        frank.get("/api/admin/audit-log").send().await.unwrap(),
        403,
        "FORBIDDEN",
    )
    .await;
}

fn urlencode(s: &str) -> String {
    s.replace(':', "%3A").replace('+', "%2B")
}

async fn refresh_and_providers(app: TestApp) {
    let res = app.post("/api/auth/refresh").send().await.unwrap();
    expect_error(res, 404, "NOT_FOUND").await;
    assert_eq!(app.get_json("/api/auth/providers").await, (200, json!([])));
}

on_both_backends!(
    setup_once_then_refused,
    concurrent_setups_make_one_admin,
    setup_validates_input,
    malformed_bodies_get_envelopes,
    original_client_flow_cookie_and_csrf,
    logout_revokes_the_jwt_everywhere,
    password_change_ends_old_sessions,
    api_tokens_list_limit_and_revoke,
    expired_token_is_refused,
    token_removed_elsewhere_stops_working_in_use,
    concurrent_first_requests_share_a_lookup,
    per_account_lockout,
    unknown_email_and_wrong_password_look_alike,
    bcrypt_hash_is_upgraded_at_login,
    registration_is_off_by_default,
    profile_update_and_validation,
    disabled_user_is_locked_out_at_once,
    account_deletion_guards,
    sharing_list_and_teams,
    audit_log_records_security_events,
    refresh_and_providers,
);

#[tokio::test]
async fn registration_can_be_enabled_by_environment() {
    let app = TestApp::spawn_with(Backend::Sqlite, &[("REGISTRATIONS_ENABLED", "true")])
        .await
        .unwrap();
    let res = app
        .post("/api/auth/register")
        .json(&json!({"email": "x@example.com", "name": "X", "password": "Xx-Passw0rd!"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    app.finish().await;
}

#[tokio::test]
async fn forwarded_for_is_ignored_unless_trusted() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    setup_admin(&app).await;
    login(&app.other_client(), ADMIN_EMAIL, "nope-nope").await;
    let res = app
        .other_client()
        .post("/api/auth/login")
        .header("X-Forwarded-For", "203.0.113.9")
        .json(&json!({"email": ADMIN_EMAIL, "password": "nope-nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let (_, page) = app
        .get_json("/api/admin/audit-log?action=auth.login_failed")
        .await;
    for e in page["events"].as_array().unwrap() {
        assert_eq!(e["ip"], "127.0.0.1", "spoofed address ignored");
    }
    app.finish().await;

    let app = TestApp::spawn_with(Backend::Sqlite, &[("TRUST_PROXY", "1")])
        .await
        .unwrap();
    setup_admin(&app).await;
    app.other_client()
        .post("/api/auth/login")
        .header("X-Forwarded-For", "198.51.100.7")
        .json(&json!({"email": ADMIN_EMAIL, "password": "nope-nope"}))
        .send()
        .await
        .unwrap();
    let (_, page) = app
        .get_json("/api/admin/audit-log?action=auth.login_failed")
        .await;
    assert_eq!(page["events"][0]["ip"], "198.51.100.7");
    app.finish().await;
}
