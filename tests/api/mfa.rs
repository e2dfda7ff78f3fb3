//! TOTP MFA with backup codes, over HTTP. Codes come from Debian's `oathtool` (an independent
//! RFC 6238 implementation) where the point is interoperability.

use crate::common::{body, expect_error, Backend, TestApp};
use serde_json::{json, Value};
use slugbase::with_db;

const EMAIL: &str = "admin@example.com";
const PW: &str = "Admin-Passw0rd!";

/// `oathtool --totp -b <secret>` at `now + offset_secs`.
fn oathtool(secret: &str, offset_secs: i64) -> String {
    let at = chrono::Utc::now() + chrono::Duration::seconds(offset_secs);
    let out = std::process::Command::new("oathtool")
        .args([
            "--totp",
            "-b",
            secret,
            "-N",
            &at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        ])
        .output()
        .expect("oathtool is installed (Debian package oathtool; .ci/run installs it)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

async fn setup(app: &TestApp) {
    let res = app
        .post("/api/auth/setup")
        .json(&json!({"email": EMAIL, "name": "Admin", "password": PW}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

async fn begin(app: &TestApp) -> Value {
    let (s, v) = body(app.post_json("/api/auth/mfa/enroll/begin", json!({})).await).await;
    assert_eq!(s, 200, "{v}");
    v
}

/// Enrolls `app`'s signed-in user; returns (secret, backup codes).
async fn enroll(app: &TestApp) -> (String, Vec<String>) {
    let v = begin(app).await;
    let secret = v["secret"].as_str().unwrap().to_string();
    let code = oathtool(&secret, 0);
    let (s, v) = body(
        app.post_json("/api/auth/mfa/enroll/confirm", json!({"code": code}))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let codes = v["backup_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    (secret, codes)
}

async fn password_login(app: &TestApp) -> reqwest::Response {
    app.post("/api/auth/login")
        .json(&json!({"email": EMAIL, "password": PW}))
        .send()
        .await
        .unwrap()
}

async fn verify(app: &TestApp, code: &str) -> reqwest::Response {
    app.post("/api/auth/mfa/verify")
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap()
}

async fn enroll_confirm_cases(app: TestApp) {
    // Unauthenticated (with a CSRF token, so the CSRF check is not what answers).
    let anon = app.other_client();
    let res = anon
        .post_json("/api/auth/mfa/enroll/confirm", json!({"code": "123456"}))
        .await;
    expect_error(res, 401, "UNAUTHORIZED").await;

    setup(&app).await;
    // No enrollment pending.
    let res = app
        .post_json("/api/auth/mfa/enroll/confirm", json!({"code": "123456"}))
        .await;
    let v = expect_error(res, 400, "MFA_NO_PENDING").await;
    assert_eq!(v["error"], "No enrollment in progress");

    let b = begin(&app).await;
    let secret = b["secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 32);
    let url = b["otpauth_url"].as_str().unwrap();
    assert!(
        url.starts_with("otpauth://totp/SlugBase:admin%40example.com?secret="),
        "{url}"
    );
    assert!(url.contains(&format!("secret={secret}")));
    assert!(
        b["qr_svg"].as_str().unwrap().contains("<svg"),
        "QR code rendered by the server"
    );

    // Missing code.
    let v = expect_error(
        app.post_json("/api/auth/mfa/enroll/confirm", json!({})).await,
        400,
        "INVALID_CODE",
    )
    .await;
    assert_eq!(v["error"], "Code is required");
    // Non-numeric code.
    let v = expect_error(
        app.post_json("/api/auth/mfa/enroll/confirm", json!({"code": "abcdef"}))
            .await,
        400,
        "INVALID_CODE",
    )
    .await;
    assert_eq!(v["error"], "Invalid code");
    // Wrong code (ten minutes away: outside the ±30 s window).
    let wrong = oathtool(&secret, 600);
    expect_error(
        app.post_json("/api/auth/mfa/enroll/confirm", json!({"code": wrong}))
            .await,
        400,
        "INVALID_CODE",
    )
    .await;
    let (_, st) = app.get_json("/api/auth/mfa/status").await;
    assert_eq!(st["enabled"], false, "failed confirms change nothing");
    assert_eq!(st["pending"], true);

    // Success, with a code from an independent implementation.
    let code = oathtool(&secret, 0);
    let (s, v) = body(
        app.post_json("/api/auth/mfa/enroll/confirm", json!({"code": code}))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let codes: Vec<&str> = v["backup_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 10);
    let mut distinct = codes.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 10, "distinct codes");
    assert!(codes
        .iter()
        .all(|c| c.len() == 16 && c.chars().all(|ch| ch.is_ascii_hexdigit())));

    // Already enabled.
    let v = expect_error(
        app.post_json(
            "/api/auth/mfa/enroll/confirm",
            json!({"code": oathtool(&secret, 0)}),
        )
        .await,
        409,
        "MFA_ALREADY_ENABLED",
    )
    .await;
    assert_eq!(v["error"], "MFA is already enabled");
    expect_error(
        app.post_json("/api/auth/mfa/enroll/begin", json!({})).await,
        409,
        "MFA_ALREADY_ENABLED",
    )
    .await;
    let (_, st) = app.get_json("/api/auth/mfa/status").await;
    assert_eq!(st["enabled"], true);
    assert_eq!(st["backup_codes_remaining"], 10);
    assert!(st["enrolled_at"].is_string());
}

async fn full_login_flow_with_totp_and_backup_codes(app: TestApp) {
    setup(&app).await;
    let (secret, codes) = enroll(&app).await;
    app.post("/api/auth/logout").send().await.unwrap();

    // Password step: no session, a pending cookie.
    let c = app.other_client();
    let res = c
        .post("/api/auth/login")
        .json(&json!({"email": EMAIL, "password": "Wrong-Passw0rd!"}))
        .send()
        .await
        .unwrap();
    let (s, v) = body(res).await;
    assert_eq!(s, 401);
    assert!(v.get("mfa_required").is_none());
    let res = password_login(&c).await;
    let pending = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|h| h.to_str().ok())
        .find(|h| h.starts_with("slugbase.mfa_pending="))
        .expect("pending cookie")
        .to_string();
    assert!(
        pending.contains("HttpOnly") && pending.contains("SameSite=Lax") && pending.contains("Max-Age=300")
    );
    let (s, v) = body(res).await;
    assert_eq!((s, &v), (200, &json!({"mfa_required": true})));
    assert_eq!(
        c.get_json("/api/auth/me").await.0,
        401,
        "the pending cookie is no session"
    );

    // The pending token is refused as a session anywhere.
    let pending_jwt = pending
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_string();
    let res = crate::common::new_client()
        .get(app.url("/api/auth/me"))
        .bearer_auth(&pending_jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = crate::common::new_client()
        .get(app.url("/api/auth/me"))
        .header("cookie", format!("token={pending_jwt}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // A wrong code, then the next step's code (the enrollment used the current one).
    let v = expect_error(verify(&c, "000000").await, 401, "INVALID_CODE").await;
    assert_eq!(v["error"], "Invalid code");
    let next = oathtool(&secret, 30);
    let (s, v) = body(verify(&c, &next).await).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["email"], EMAIL);
    let (s, me) = c.get_json("/api/auth/me").await;
    assert_eq!(s, 200);
    assert_eq!(me["mfa_enabled"], true);

    // The same TOTP code again: refused (replay protection).
    let c2 = app.other_client();
    assert_eq!(
        body(password_login(&c2).await).await.1,
        json!({"mfa_required": true})
    );
    expect_error(verify(&c2, &next).await, 401, "INVALID_CODE").await;
    // A backup code works, once.
    let (s, _) = body(verify(&c2, &codes[3].to_uppercase()).await).await;
    assert_eq!(s, 200, "backup code accepted (case-insensitive)");
    let c3 = app.other_client();
    password_login(&c3).await;
    expect_error(verify(&c3, &codes[3]).await, 401, "INVALID_CODE").await;
    let (s, _) = body(verify(&c3, &codes[4]).await).await;
    assert_eq!(s, 200);
    let (_, st) = c3.get_json("/api/auth/mfa/status").await;
    assert_eq!(st["backup_codes_remaining"], 8);

    // A pending login that succeeded cannot open a second session.
    let again = verify(&c3, &codes[5]).await;
    assert!(matches!(again.status().as_u16(), 401 | 429), "{}", again.status());
}

async fn one_backup_code_twenty_parallel_verifies(app: TestApp) {
    setup(&app).await;
    let (_, codes) = enroll(&app).await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        // Each attempt is its own pending login, as twenty stolen-code attempts would be.
        let c = app.other_client();
        password_login(&c).await;
        let code = codes[0].clone();
        tasks.push(tokio::spawn(
            async move { verify(&c, &code).await.status().as_u16() },
        ));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| matches!(s, 200 | 401 | 429)),
        "{statuses:?}"
    );
    let used: i64 = with_db!(&app.state.db, pool => sqlx::query_scalar(
        "SELECT COUNT(*) FROM mfa_backup_codes WHERE used_at IS NOT NULL").fetch_one(pool).await.unwrap());
    assert_eq!(used, 1);
}

async fn secrets_are_never_stored_in_plaintext(app: TestApp) {
    setup(&app).await;
    let (secret, codes) = enroll(&app).await;
    let stored: Option<String> = with_db!(&app.state.db, pool => sqlx::query_scalar(
        "SELECT mfa_totp_secret_enc FROM users WHERE email = $1").bind(EMAIL).fetch_one(pool).await.unwrap());
    let stored = stored.unwrap();
    assert!(!stored.contains(&secret), "secret not in the row");
    assert!(stored.starts_with("v2:"), "{stored}");
    assert_eq!(
        app.state.cipher.decrypt(&stored).unwrap(),
        secret,
        "and it decrypts with ENCRYPTION_KEY"
    );
    let hashes: Vec<String> = with_db!(&app.state.db, pool => sqlx::query_scalar(
        "SELECT code_hash FROM mfa_backup_codes").fetch_all(pool).await.unwrap());
    assert_eq!(hashes.len(), 10);
    for c in &codes {
        assert!(
            !hashes.iter().any(|h| h.contains(c.as_str())),
            "backup code {c} not stored"
        );
        assert!(hashes.contains(&slugbase::mfa::hash_backup_code(c)));
    }
    // Nothing secret in the audit log either.
    let meta: Vec<Option<String>> = with_db!(&app.state.db, pool => sqlx::query_scalar(
        "SELECT CAST(metadata AS TEXT) FROM audit_events").fetch_all(pool).await.unwrap());
    for m in meta.into_iter().flatten() {
        assert!(!m.contains(&secret));
    }
}

async fn disable_and_regenerate_need_password_and_code(app: TestApp) {
    setup(&app).await;
    let (secret, codes) = enroll(&app).await;
    let v = expect_error(
        app.post_json("/api/auth/mfa/disable", json!({})).await,
        400,
        "INVALID_CODE",
    )
    .await;
    assert_eq!(v["error"], "Code is required");
    expect_error(
        app.post_json("/api/auth/mfa/disable", json!({"code": codes[0]}))
            .await,
        400,
        "PASSWORD_REQUIRED",
    )
    .await;
    expect_error(
        app.post_json(
            "/api/auth/mfa/disable",
            json!({"code": codes[0], "password": "Nope-Passw0rd!"}),
        )
        .await,
        401,
        "INVALID_PASSWORD",
    )
    .await;
    expect_error(
        app.post_json(
            "/api/auth/mfa/disable",
            json!({"code": "ffffffffffffffff", "password": PW}),
        )
        .await,
        400,
        "INVALID_CODE",
    )
    .await;

    // Regenerate with a backup code: the old codes stop working.
    let res = app
        .post_json(
            "/api/auth/mfa/backup/regenerate",
            json!({"code": codes[1], "password": PW}),
        )
        .await;
    let (s, v) = body(res).await;
    assert_eq!(s, 200, "{v}");
    let fresh: Vec<String> = v["backup_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().into())
        .collect();
    assert_eq!(fresh.len(), 10);
    let c = app.other_client();
    password_login(&c).await;
    expect_error(verify(&c, &codes[2]).await, 401, "INVALID_CODE").await;
    assert_eq!(verify(&c, &fresh[0]).await.status(), 200);

    // Disable with a TOTP code.
    let res = app
        .post_json(
            "/api/auth/mfa/disable",
            json!({"code": oathtool(&secret, 30), "password": PW}),
        )
        .await;
    assert_eq!(body(res).await, (200, json!({"ok": true})));
    let (_, st) = app.get_json("/api/auth/mfa/status").await;
    assert_eq!(st["enabled"], false);
    let (s, v) = body(password_login(&app.other_client()).await).await;
    assert_eq!(s, 200);
    assert_eq!(v["email"], EMAIL, "no MFA step any more");
    expect_error(
        app.post_json("/api/auth/mfa/disable", json!({"code": "123456", "password": PW}))
            .await,
        400,
        "MFA_NOT_ENABLED",
    )
    .await;
}

async fn enabling_mfa_ends_other_sessions(app: TestApp) {
    setup(&app).await;
    let laptop = app.other_client();
    password_login(&laptop).await;
    assert_eq!(laptop.get_json("/api/auth/me").await.0, 200);
    enroll(&app).await;
    assert_eq!(
        laptop.get_json("/api/auth/me").await.0,
        401,
        "other session ended"
    );
    assert_eq!(
        app.get_json("/api/auth/me").await.0,
        200,
        "the enrolling session stays"
    );
}

async fn cancel_enrollment(app: TestApp) {
    setup(&app).await;
    begin(&app).await;
    assert_eq!(app.get_json("/api/auth/mfa/status").await.1["pending"], true);
    assert_eq!(
        body(app.post_json("/api/auth/mfa/enroll/cancel", json!({})).await).await,
        (200, json!({"ok": true}))
    );
    assert_eq!(
        body(app.post_json("/api/auth/mfa/enroll/cancel", json!({})).await)
            .await
            .0,
        200,
        "idempotent"
    );
    assert_eq!(app.get_json("/api/auth/mfa/status").await.1["pending"], false);
    expect_error(
        app.post_json("/api/auth/mfa/enroll/confirm", json!({"code": "123456"}))
            .await,
        400,
        "MFA_NO_PENDING",
    )
    .await;
}

async fn api_tokens_bypass_mfa(app: TestApp) {
    setup(&app).await;
    let (_, t) = body(app.post_json("/api/tokens", json!({"name": "script"})).await).await;
    let token = t["token"].as_str().unwrap().to_string();
    enroll(&app).await;
    let res = crate::common::new_client()
        .get(app.url("/api/auth/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let (s, me) = body(res).await;
    assert_eq!(s, 200);
    assert_eq!(me["mfa_enabled"], true);
}

async fn wrong_codes_are_rate_limited_per_pending_login(app: TestApp) {
    setup(&app).await;
    enroll(&app).await;
    let c = app.other_client();
    password_login(&c).await;
    for _ in 0..5 {
        expect_error(verify(&c, "000000").await, 401, "INVALID_CODE").await;
    }
    let res = verify(&c, "000000").await;
    assert!(res.headers().get("retry-after").is_some());
    expect_error(res, 429, "RATE_LIMITED").await;
    // Without the pending cookie the answer is the pending error, before the body is looked at.
    let v = expect_error(
        verify(&app.other_client(), "123456").await,
        401,
        "MFA_PENDING_INVALID",
    )
    .await;
    assert_eq!(v["error"], "MFA session expired. Please sign in again.");
}

async fn mfa_events_are_audited(app: TestApp) {
    setup(&app).await;
    let (_, codes) = enroll(&app).await;
    let c = app.other_client();
    password_login(&c).await;
    verify(&c, "000000").await;
    verify(&c, &codes[0]).await;
    let (_, page) = app.get_json("/api/admin/audit-log?limit=100").await;
    let actions: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "mfa.enroll_begin",
        "mfa.enabled",
        "mfa_login_stepup_required",
        "mfa.verify_failed",
        "mfa.verify_succeeded",
        "mfa.backup_code_used",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
}

async fn admin_resets_mfa(app: TestApp) {
    setup(&app).await;
    // A second user with MFA.
    let hash = slugbase::auth::password::hash("Bob-Passw0rd!").await.unwrap();
    let mut tx = app.state.db.begin().await.unwrap();
    let bob_id = slugbase::users::insert(
        &mut tx,
        &slugbase::users::NewUser {
            email: "bob@example.com",
            name: "Bob",
            password_hash: Some(&hash),
            is_admin: false,
            email_verified: true,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let bob = app.other_client();
    bob.post("/api/auth/login")
        .json(&json!({"email": "bob@example.com", "password": "Bob-Passw0rd!"}))
        .send()
        .await
        .unwrap();
    enroll(&bob).await;
    assert_eq!(bob.get_json("/api/auth/me").await.0, 200);

    expect_error(
        bob.post_json(&format!("/api/admin/users/{bob_id}/reset-mfa"), json!({}))
            .await,
        403,
        "FORBIDDEN",
    )
    .await;
    expect_error(
        app.post_json("/api/admin/users/nobody/reset-mfa", json!({}))
            .await,
        404,
        "NOT_FOUND",
    )
    .await;
    let res = app
        .post_json(&format!("/api/admin/users/{bob_id}/reset-mfa"), json!({}))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(bob.get_json("/api/auth/me").await.0, 401, "bob's sessions ended");
    let res = app
        .other_client()
        .post("/api/auth/login")
        .json(&json!({"email": "bob@example.com", "password": "Bob-Passw0rd!"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        body(res).await.1["email"],
        "bob@example.com",
        "password alone signs in again"
    );
    let (_, page) = app.get_json("/api/admin/audit-log?action=user.mfa_reset").await;
    assert_eq!(page["events"].as_array().unwrap().len(), 1);
}

on_both_backends!(
    enroll_confirm_cases,
    full_login_flow_with_totp_and_backup_codes,
    one_backup_code_twenty_parallel_verifies,
    secrets_are_never_stored_in_plaintext,
    disable_and_regenerate_need_password_and_code,
    enabling_mfa_ends_other_sessions,
    cancel_enrollment,
    api_tokens_bypass_mfa,
    wrong_codes_are_rate_limited_per_pending_login,
    mfa_events_are_audited,
    admin_resets_mfa,
);

#[tokio::test]
async fn cli_reset_mfa() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    setup(&app).await;
    enroll(&app).await;
    let db_path = app.db_url.clone();
    app.stop().await;
    let env = crate::common::test_env(Backend::Sqlite, &db_path, &[]);
    let run = |email: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_slugbase"))
            .args(["user", "reset-mfa", email])
            .env_clear()
            .envs(
                env.iter()
                    .filter(|(k, _)| k.as_str() != "PORT" && k.as_str() != "HOST"),
            )
            .output()
            .unwrap()
    };
    let out = run("nobody@example.com");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no user"));
    let out = run(EMAIL);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let app = TestApp::start(Backend::Sqlite, db_path, None, tempfile::tempdir().unwrap(), &[]).await;
    let (s, v) = body(password_login(&app).await).await;
    assert_eq!(s, 200);
    assert_eq!(v["email"], EMAIL, "no MFA step after the reset");
    let (_, page) = app.get_json("/api/admin/audit-log?action=user.mfa_reset").await;
    assert_eq!(page["events"][0]["metadata"]["via"], "cli");
    app.finish().await;
}
