//! Passkeys over HTTP, answered by a software authenticator (`common::webauthn`): adding one,
//! signing in with it alone, using it as the second factor, managing it, and every refusal the
//! ceremonies owe — replayed and expired challenges, a wrong origin, an unknown credential, a
//! signature counter going backwards, adding one without a recent confirmation, and another
//! user's passkey.

use crate::common::webauthn::{SoftAuthenticator, Tweak};
use crate::common::{
    body, expect_error, sign_in_admin, sign_in_user, Backend, TestApp, ADMIN_EMAIL, PASSWORD,
};
use serde_json::{json, Value};
use slugbase::db::Ts;
use slugbase::with_db;

fn authenticator(app: &TestApp) -> SoftAuthenticator {
    SoftAuthenticator::new(&app.state.config.base_url)
}

/// The value of the cookie `name` that `res` sets.
fn cookie_value(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.strip_prefix(&format!("{name}="))
                .map(|v| v.split(';').next().unwrap().to_string())
        })
}

/// Begins a ceremony at `path`; (options, the ceremony cookie's value).
async fn begin(c: &TestApp, path: &str, body_json: Value) -> (Value, String) {
    let res = c.post_json(path, body_json).await;
    let key = cookie_value(&res, "slugbase.webauthn").expect("the ceremony cookie");
    let (s, v) = body(res).await;
    assert_eq!(s, 200, "{path}: {v}");
    assert!(v["publicKey"]["challenge"].is_string(), "{v}");
    (v, key)
}

/// Adds a passkey named `name` for `c`'s (freshly signed-in) user.
async fn register(c: &TestApp, soft: &mut SoftAuthenticator, name: &str) -> Value {
    let (options, _) = begin(c, "/api/auth/passkeys/register/begin", json!({})).await;
    let credential = soft.register(&options);
    let (s, v) = body(
        c.post_json(
            "/api/auth/passkeys/register/finish",
            json!({"name": name, "credential": credential}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{v}");
    v
}

async fn login_begin(c: &TestApp) -> (Value, String) {
    begin(c, "/api/auth/passkeys/login/begin", json!({})).await
}

async fn login_finish(c: &TestApp, credential: Value) -> reqwest::Response {
    c.post("/api/auth/passkeys/login/finish")
        .json(&json!({"credential": credential}))
        .send()
        .await
        .unwrap()
}

async fn actions(app: &TestApp) -> Vec<String> {
    let (_, page) = app.get_json("/api/admin/audit-log?limit=200").await;
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

async fn register_sign_in_rename_remove(app: TestApp) {
    sign_in_admin(&app).await;
    let mut soft = authenticator(&app);
    let (options, _) = begin(&app, "/api/auth/passkeys/register/begin", json!({})).await;
    let pk = &options["publicKey"];
    assert_eq!(pk["rp"]["id"], "localhost", "{pk}");
    assert_eq!(pk["authenticatorSelection"]["residentKey"], "preferred", "{pk}");
    assert_eq!(
        pk["authenticatorSelection"]["userVerification"], "required",
        "{pk}"
    );
    let credential = soft.register(&options);
    let (s, added) = body(
        app.post_json(
            "/api/auth/passkeys/register/finish",
            json!({"name": "  Laptop  ", "credential": credential}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{added}");
    assert_eq!(added["name"], "Laptop");

    let (s, list) = app.get_json("/api/auth/passkeys").await;
    assert_eq!(s, 200);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    let mut keys: Vec<&str> = list[0].as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        ["created_at", "id", "last_used_at", "name"],
        "no key material"
    );
    assert!(list[0]["last_used_at"].is_null());

    // A passkey alone signs in, on a browser that never saw the password.
    let other = app.other_client();
    let (options, _) = login_begin(&other).await;
    assert!(options["publicKey"]
        .get("allowCredentials")
        .is_none_or(|a| a.as_array().unwrap().is_empty()));
    let (s, me) = body(login_finish(&other, soft.assert(&options)).await).await;
    assert_eq!(s, 200, "{me}");
    assert_eq!(me["email"], ADMIN_EMAIL);
    assert_eq!(other.get_json("/api/auth/me").await.0, 200, "the session works");
    let (_, list) = app.get_json("/api/auth/passkeys").await;
    assert!(list[0]["last_used_at"].is_string(), "{list}");

    let id = added["id"].as_str().unwrap();
    let res = app
        .write(reqwest::Method::PATCH, &format!("/api/auth/passkeys/{id}"))
        .await
        .json(&json!({"name": "Phone"}))
        .send()
        .await
        .unwrap();
    let (s, renamed) = body(res).await;
    assert_eq!((s, renamed["name"].clone()), (200, json!("Phone")));
    let res = app
        .write(reqwest::Method::PATCH, &format!("/api/auth/passkeys/{id}"))
        .await
        .json(&json!({"name": " "}))
        .send()
        .await
        .unwrap();
    expect_error(res, 400, "VALIDATION_ERROR").await;

    assert_eq!(
        app.delete(&format!("/api/auth/passkeys/{id}")).await.status(),
        200
    );
    let (_, list) = app.get_json("/api/auth/passkeys").await;
    assert_eq!(list, json!([]));
    // A removed passkey no longer signs in.
    let third = app.other_client();
    let (options, _) = login_begin(&third).await;
    expect_error(
        login_finish(&third, soft.assert(&options)).await,
        401,
        "PASSKEY_UNKNOWN",
    )
    .await;
    assert_eq!(third.get_json("/api/auth/me").await.0, 401);

    let seen = actions(&app).await;
    for a in [
        "passkey.registered",
        "passkey.used",
        "passkey.renamed",
        "passkey.deleted",
        "passkey.login_failed",
    ] {
        assert!(seen.iter().any(|s| s == a), "{a} in {seen:?}");
    }
}

async fn passkey_is_the_second_factor_after_a_password(app: TestApp) {
    sign_in_admin(&app).await;
    let mut soft = authenticator(&app);
    register(&app, &mut soft, "Key").await;

    let c = app.other_client();
    let res = c
        .post("/api/auth/login")
        .json(&json!({"email": ADMIN_EMAIL, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let c_pending = cookie_value(&res, "slugbase.mfa_pending").expect("pending sign-in cookie");
    let (s, v) = body(res).await;
    assert_eq!(
        (s, v.clone()),
        (200, json!({"mfa_required": true})),
        "the password alone is not enough"
    );
    assert_eq!(c.get_json("/api/auth/me").await.0, 401);

    // Without the pending sign-in there is no second step to take.
    let stranger = app.other_client();
    expect_error(
        stranger.post("/api/auth/mfa/passkey/begin").send().await.unwrap(),
        401,
        "MFA_PENDING_INVALID",
    )
    .await;

    let (options, _) = begin(&c, "/api/auth/mfa/passkey/begin", json!({})).await;
    let allowed = options["publicKey"]["allowCredentials"].as_array().unwrap();
    assert_eq!(allowed.len(), 1, "{options}");
    // A ceremony begun by another browser's pending sign-in is of no use to this one.
    let (_, other_key) = {
        let d = app.other_client();
        d.post("/api/auth/login")
            .json(&json!({"email": ADMIN_EMAIL, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        begin(&d, "/api/auth/mfa/passkey/begin", json!({})).await
    };
    let res = reqwest::Client::new()
        .post(app.url("/api/auth/mfa/passkey/finish"))
        .header(
            "cookie",
            format!("slugbase.mfa_pending={c_pending}; slugbase.webauthn={other_key}"),
        )
        .json(&json!({"credential": soft.assert(&options)}))
        .send()
        .await
        .unwrap();
    expect_error(res, 400, "PASSKEY_CHALLENGE_INVALID").await;
    let (options, _) = begin(&c, "/api/auth/mfa/passkey/begin", json!({})).await;
    let res = c
        .post("/api/auth/mfa/passkey/finish")
        .json(&json!({"credential": soft.assert(&options)}))
        .send()
        .await
        .unwrap();
    let (s, me) = body(res).await;
    assert_eq!(s, 200, "{me}");
    assert_eq!(me["email"], ADMIN_EMAIL);
    assert_eq!(c.get_json("/api/auth/me").await.0, 200);
    // The pending sign-in is spent: even sent again by hand, it begins no second ceremony.
    let res = reqwest::Client::new()
        .post(app.url("/api/auth/mfa/passkey/begin"))
        .header("cookie", format!("slugbase.mfa_pending={c_pending}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429, "a spent pending sign-in");

    let seen = actions(&app).await;
    assert!(seen.iter().any(|a| a == "mfa.verify_succeeded"), "{seen:?}");
    let events = app
        .get_json("/api/admin/audit-log?action=auth.login_succeeded")
        .await
        .1;
    assert!(
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["metadata"]["method"] == "password+passkey"),
        "{events}"
    );
}

/// Sends `credential` to the sign-in finish with the ceremony cookie `key` set by hand (a client
/// without a cookie jar), as an attacker replaying a captured exchange would.
async fn replay(app: &TestApp, key: &str, credential: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url("/api/auth/passkeys/login/finish"))
        .header("cookie", format!("slugbase.webauthn={key}"))
        .json(&json!({"credential": credential}))
        .send()
        .await
        .unwrap()
}

async fn challenges_are_single_use_and_short_lived(app: TestApp) {
    sign_in_admin(&app).await;
    let mut soft = authenticator(&app);
    register(&app, &mut soft, "Key").await;
    let c = app.other_client();

    // Replayed: the same ceremony a second time.
    let (options, key) = login_begin(&c).await;
    let first = soft.assert(&options);
    assert_eq!(replay(&app, &key, &first).await.status(), 200);
    let again = soft.assert(&options);
    expect_error(replay(&app, &key, &again).await, 400, "PASSKEY_CHALLENGE_INVALID").await;
    // No cookie at all.
    expect_error(
        login_finish(&app.other_client(), again).await,
        400,
        "PASSKEY_CHALLENGE_INVALID",
    )
    .await;

    // Expired: begun more than five minutes ago.
    let (options, _) = login_begin(&c).await;
    let past = Ts::from_unix(chrono::Utc::now().timestamp() - 1);
    with_db!(&app.state.db, pool => sqlx::query("UPDATE webauthn_challenges SET expires_at = $1")
        .bind(past).execute(pool).await.unwrap().rows_affected());
    expect_error(
        login_finish(&c, soft.assert(&options)).await,
        400,
        "PASSKEY_CHALLENGE_EXPIRED",
    )
    .await;
}

async fn forged_answers_are_refused(app: TestApp) {
    sign_in_admin(&app).await;
    let mut soft = authenticator(&app);

    // Registration answered for another origin.
    let (options, _) = begin(&app, "/api/auth/passkeys/register/begin", json!({})).await;
    let evil = Tweak {
        origin: Some("http://evil.example".into()),
        ..Default::default()
    };
    let credential = soft.register_with(&options, &evil);
    let res = app
        .post_json(
            "/api/auth/passkeys/register/finish",
            json!({"name": "Evil", "credential": credential}),
        )
        .await;
    expect_error(res, 400, "PASSKEY_INVALID").await;
    assert_eq!(
        app.get_json("/api/auth/passkeys").await.1,
        json!([]),
        "nothing stored"
    );

    let mut soft = authenticator(&app);
    register(&app, &mut soft, "Key").await;
    let c = app.other_client();

    // Sign-in answered for another origin.
    let (options, _) = login_begin(&c).await;
    expect_error(
        login_finish(&c, soft.assert_with(&options, &evil)).await,
        401,
        "PASSKEY_INVALID",
    )
    .await;

    // A credential that was never registered.
    let (options, _) = login_begin(&c).await;
    let unknown = Tweak {
        unknown_credential: true,
        ..Default::default()
    };
    expect_error(
        login_finish(&c, soft.assert_with(&options, &unknown)).await,
        401,
        "PASSKEY_UNKNOWN",
    )
    .await;

    // Garbage instead of a credential.
    let (_, _) = login_begin(&c).await;
    expect_error(
        login_finish(&c, json!({"id": "x"})).await,
        400,
        "VALIDATION_ERROR",
    )
    .await;

    // The signature counter going backwards: a cloned authenticator, copied before the genuine
    // one signed in with counter 5, answers with its own lower count.
    let mut cloned = soft.clone();
    let (options, _) = login_begin(&c).await;
    let ahead = Tweak {
        counter: Some(5),
        ..Default::default()
    };
    assert_eq!(
        login_finish(&c, soft.assert_with(&options, &ahead))
            .await
            .status(),
        200
    );
    let (options, _) = login_begin(&c).await;
    expect_error(
        login_finish(&c, cloned.assert(&options)).await,
        401,
        "PASSKEY_INVALID",
    )
    .await;
    assert!(actions(&app).await.iter().any(|a| a == "passkey.clone_suspected"));
    // The genuine authenticator, counting on from 5, still works.
    let (options, _) = login_begin(&c).await;
    assert_eq!(login_finish(&c, soft.assert(&options)).await.status(), 200);
    let stored: String = with_db!(&app.state.db, pool => sqlx::query_scalar("SELECT credential FROM passkeys")
        .fetch_one(pool).await.unwrap());
    let stored: Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(
        stored["cred"]["counter"], 6,
        "the stored counter follows the genuine authenticator"
    );

    // A valid signature presented under another account's user handle.
    let bob = sign_in_user(&app, "bob@example.com", "Bob").await;
    let mut bobs = authenticator(&app);
    register(&bob, &mut bobs, "Bob's key").await;
    let (options, _) = login_begin(&c).await;
    let as_bob = Tweak {
        user_handle: Some(bobs.credentials()[0].user_handle.clone()),
        ..Default::default()
    };
    expect_error(
        login_finish(&c, soft.assert_with(&options, &as_bob)).await,
        401,
        "PASSKEY_INVALID",
    )
    .await;
}

async fn adding_a_passkey_needs_a_recent_confirmation(app: TestApp) {
    sign_in_admin(&app).await;
    // The session's sign-in was eleven minutes ago.
    let old = Ts::from_unix(chrono::Utc::now().timestamp() - 660);
    with_db!(&app.state.db, pool => sqlx::query("UPDATE auth_sessions SET created_at = $1")
        .bind(old).execute(pool).await.unwrap().rows_affected());
    let res = app
        .post_json("/api/auth/passkeys/register/begin", json!({}))
        .await;
    expect_error(res, 403, "REAUTH_REQUIRED").await;
    let res = app
        .post_json(
            "/api/auth/passkeys/register/begin",
            json!({"password": "Wrong-Passw0rd!"}),
        )
        .await;
    expect_error(res, 401, "INVALID_PASSWORD").await;
    let mut soft = authenticator(&app);
    let (options, _) = begin(
        &app,
        "/api/auth/passkeys/register/begin",
        json!({"password": PASSWORD}),
    )
    .await;
    let credential = soft.register(&options);
    let res = app
        .post_json(
            "/api/auth/passkeys/register/finish",
            json!({"name": "Key", "credential": credential}),
        )
        .await;
    assert_eq!(res.status(), 201);
    // The password counts for the next minutes: a second passkey needs no second prompt.
    begin(&app, "/api/auth/passkeys/register/begin", json!({})).await;

    // An API token is no browser session: it cannot add passkeys.
    let (_, token) = body(app.post_json("/api/tokens", json!({"name": "cli"})).await).await;
    let res = reqwest::Client::new()
        .post(app.url("/api/auth/passkeys/register/begin"))
        .bearer_auth(token["token"].as_str().unwrap())
        .json(&json!({"password": PASSWORD}))
        .send()
        .await
        .unwrap();
    expect_error(res, 403, "SESSION_REQUIRED").await;
}

async fn a_registration_belongs_to_its_session(app: TestApp) {
    sign_in_admin(&app).await;
    let mut soft = authenticator(&app);
    let (options, key) = begin(&app, "/api/auth/passkeys/register/begin", json!({})).await;
    // The same user signed in on another browser (another session), holding the first
    // browser's ceremony cookie: the ceremony is not theirs to finish.
    let res = reqwest::Client::new()
        .post(app.url("/api/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let session = cookie_value(&res, "token").expect("a session");
    let res = reqwest::Client::new()
        .post(app.url("/api/auth/passkeys/register/finish"))
        .bearer_auth(&session)
        .header("cookie", format!("slugbase.webauthn={key}"))
        .json(&json!({"name": "Key", "credential": soft.register(&options)}))
        .send()
        .await
        .unwrap();
    expect_error(res, 400, "PASSKEY_CHALLENGE_INVALID").await;
    assert_eq!(app.get_json("/api/auth/passkeys").await.1, json!([]));
}

async fn removing_the_last_second_factor_needs_a_confirmation(app: TestApp) {
    sign_in_admin(&app).await;
    let mut soft = authenticator(&app);
    let first = register(&app, &mut soft, "One").await;
    let second = register(&app, &mut soft, "Two").await;
    // Not with an API token.
    let (_, token) = body(app.post_json("/api/tokens", json!({"name": "cli"})).await).await;
    let res = reqwest::Client::new()
        .delete(app.url(&format!("/api/auth/passkeys/{}", first["id"].as_str().unwrap())))
        .bearer_auth(token["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    expect_error(res, 403, "SESSION_REQUIRED").await;
    // The session's sign-in is old now.
    let old = Ts::from_unix(chrono::Utc::now().timestamp() - 660);
    with_db!(&app.state.db, pool => sqlx::query("UPDATE auth_sessions SET created_at = $1")
        .bind(old).execute(pool).await.unwrap().rows_affected());
    // One of two passkeys goes without a question.
    let res = app
        .delete(&format!("/api/auth/passkeys/{}", first["id"].as_str().unwrap()))
        .await;
    assert_eq!(res.status(), 200);
    // The last one needs the password.
    let last = format!("/api/auth/passkeys/{}", second["id"].as_str().unwrap());
    expect_error(app.delete(&last).await, 403, "REAUTH_REQUIRED").await;
    let res = app
        .write(reqwest::Method::DELETE, &last)
        .await
        .json(&json!({"password": "Wrong-Passw0rd!"}))
        .send()
        .await
        .unwrap();
    expect_error(res, 401, "INVALID_PASSWORD").await;
    let res = app
        .write(reqwest::Method::DELETE, &last)
        .await
        .json(&json!({"password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(app.get_json("/api/auth/passkeys").await.1, json!([]));
}

async fn a_disabled_account_cannot_sign_in_with_its_passkey(app: TestApp) {
    sign_in_admin(&app).await;
    let bob = sign_in_user(&app, "bob@example.com", "Bob").await;
    let mut soft = authenticator(&app);
    register(&bob, &mut soft, "Bob's key").await;
    let (_, me) = bob.get_json("/api/auth/me").await;
    let res = app
        .put_json(
            &format!("/api/admin/users/{}", me["id"].as_str().unwrap()),
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let c = app.other_client();
    let (options, _) = login_begin(&c).await;
    expect_error(
        login_finish(&c, soft.assert(&options)).await,
        403,
        "ACCOUNT_DISABLED",
    )
    .await;
    assert_eq!(c.get_json("/api/auth/me").await.0, 401);
}

async fn another_users_passkey_is_not_found(app: TestApp) {
    sign_in_admin(&app).await;
    let mut soft = authenticator(&app);
    let added = register(&app, &mut soft, "Admin key").await;
    let id = added["id"].as_str().unwrap();
    let bob = sign_in_user(&app, "bob@example.com", "Bob").await;
    expect_error(
        bob.delete(&format!("/api/auth/passkeys/{id}")).await,
        404,
        "PASSKEY_NOT_FOUND",
    )
    .await;
    let res = bob
        .write(reqwest::Method::PATCH, &format!("/api/auth/passkeys/{id}"))
        .await
        .json(&json!({"name": "Mine now"}))
        .send()
        .await
        .unwrap();
    expect_error(res, 404, "PASSKEY_NOT_FOUND").await;
    assert_eq!(bob.get_json("/api/auth/passkeys").await.1, json!([]));
    let (_, list) = app.get_json("/api/auth/passkeys").await;
    assert_eq!(list[0]["name"], "Admin key", "untouched");
}

async fn admin_reset_mfa_removes_passkeys(app: TestApp) {
    sign_in_admin(&app).await;
    let bob = sign_in_user(&app, "bob@example.com", "Bob").await;
    let mut soft = authenticator(&app);
    register(&bob, &mut soft, "Bob's key").await;
    let (_, me) = bob.get_json("/api/auth/me").await;
    let bob_id = me["id"].as_str().unwrap().to_string();
    let res = app
        .post_json(&format!("/api/admin/users/{bob_id}/reset-mfa"), json!({}))
        .await;
    assert_eq!(res.status(), 200);
    let c = app.other_client();
    let (options, _) = login_begin(&c).await;
    expect_error(
        login_finish(&c, soft.assert(&options)).await,
        401,
        "PASSKEY_UNKNOWN",
    )
    .await;
    // And the password alone signs Bob in again.
    let res = c
        .post("/api/auth/login")
        .json(&json!({"email": "bob@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(body(res).await.1["email"], "bob@example.com");
}

/// Two servers on one PostgreSQL database: a ceremony begun on one finishes on the other (its
/// state is in the database, not in the memory of the instance that began it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ceremony_begun_on_one_instance_finishes_on_another() {
    let Some(a) = TestApp::try_spawn(Backend::Postgres, &[]).await else {
        return;
    };
    let b = TestApp::start(
        Backend::Postgres,
        a.db_url.clone(),
        None,
        tempfile::tempdir().unwrap(),
        &[],
    )
    .await;
    sign_in_admin(&a).await;
    let mut soft = authenticator(&a);
    assert_eq!(
        a.state.config.base_url, b.state.config.base_url,
        "one relying party"
    );
    // Registration begun on A, finished on B (the same browser: one cookie jar).
    let (options, _) = begin(&a, "/api/auth/passkeys/register/begin", json!({})).await;
    let mut a_via_b = b.other_client();
    a_via_b.client = a.client.clone();
    let res = a_via_b
        .post_json(
            "/api/auth/passkeys/register/finish",
            json!({"name": "Key", "credential": soft.register(&options)}),
        )
        .await;
    assert_eq!(res.status(), 201);
    // Sign-in begun on B, finished on A.
    let c = b.other_client();
    let (options, _) = login_begin(&c).await;
    let mut c_via_a = a.other_client();
    c_via_a.client = c.client.clone();
    let (s, me) = body(login_finish(&c_via_a, soft.assert(&options)).await).await;
    assert_eq!((s, me["email"].clone()), (200, json!(ADMIN_EMAIL)));
    b.stop().await;
    a.finish().await;
}

on_both_backends!(
    register_sign_in_rename_remove,
    passkey_is_the_second_factor_after_a_password,
    challenges_are_single_use_and_short_lived,
    forged_answers_are_refused,
    adding_a_passkey_needs_a_recent_confirmation,
    another_users_passkey_is_not_found,
    admin_reset_mfa_removes_passkeys,
    a_registration_belongs_to_its_session,
    removing_the_last_second_factor_needs_a_confirmation,
    a_disabled_account_cannot_sign_in_with_its_passkey,
);
