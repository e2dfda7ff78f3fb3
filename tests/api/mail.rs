//! Mail, end to end with a real SMTP server (`tests/mail/smtp_sink.py`): the admin's SMTP
//! settings and test message, password reset, invites, e-mail change and sign-up verification —
//! each read back from what the server received. Delivery itself (TLS, outages, restarts, several
//! instances) is `mail_delivery`.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use slugbase::with_db;

use crate::common::smtp::{self, recipient, token, SmtpSink};
use crate::common::{
    body, expect_error, sign_in_admin, sign_in_user, Backend, TestApp, ADMIN_EMAIL, PASSWORD,
};

pub const NEW_PASSWORD: &str = "Brand-New-Passw0rd!";

/// Starts a server that sends mail through the sink on `port` (plain SMTP, no authentication);
/// `extra` adds or overrides variables.
pub async fn mail_app(backend: Backend, port: u16, extra: &[(&str, &str)]) -> Option<TestApp> {
    let port = port.to_string();
    let mut env: Vec<(&str, &str)> = vec![
        ("SMTP_HOST", "127.0.0.1"),
        ("SMTP_PORT", &port),
        ("SMTP_TLS", "none"),
        ("SMTP_FROM", "noreply@example.com"),
        ("SMTP_FROM_NAME", "SlugBase Test"),
    ];
    env.extend_from_slice(extra);
    TestApp::try_spawn(backend, &env).await
}

/// Runs `$name(app, sink)` on both databases with a fresh sink and a server using it.
macro_rules! with_sink {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use crate::common::Backend;
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::run(Backend::Sqlite, &[], |a, s| Box::pin(super::$name(a, s))).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::run(Backend::Postgres, &[], |a, s| Box::pin(super::$name(a, s))).await;
                }
            }
        )*
    };
}

type Body = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

pub async fn run(backend: Backend, extra: &[(&str, &str)], test: impl FnOnce(TestApp, SmtpSink) -> Body) {
    if !smtp::available() {
        return;
    }
    let sink = SmtpSink::start(&[]);
    let Some(app) = mail_app(backend, sink.port, extra).await else {
        return;
    };
    let guard = app.clone();
    test(app, sink).await;
    guard.finish().await;
}

/// Rows of the outbox: `(kind, recipient, status)`, oldest first.
pub async fn outbox(app: &TestApp) -> Vec<(String, String, String)> {
    with_db!(&app.state.db, pool => sqlx::query_as::<_, (String, String, String)>(
        "SELECT kind, recipient, status FROM mail_outbox ORDER BY created_at, id")
        .fetch_all(pool).await.unwrap())
}

pub async fn audit_actions(app: &TestApp, action: &str) -> Vec<Value> {
    let rows: Vec<Option<String>> = with_db!(&app.state.db, pool => sqlx::query_scalar(
        if app.backend == Backend::Postgres {
            "SELECT CAST(metadata AS TEXT) FROM audit_events WHERE action = $1 ORDER BY created_at"
        } else {
            "SELECT metadata FROM audit_events WHERE action = $1 ORDER BY created_at"
        })
        .bind(action).fetch_all(pool).await.unwrap());
    rows.into_iter()
        .map(|m| serde_json::from_str(m.as_deref().unwrap_or("{}")).unwrap_or(Value::Null))
        .collect()
}

async fn password_hash(app: &TestApp, email: &str) -> Option<String> {
    with_db!(&app.state.db, pool => sqlx::query_scalar::<_, Option<String>>(
        "SELECT password_hash FROM users WHERE email = $1")
        .bind(email).fetch_one(pool).await.unwrap())
}

async fn login_status(app: &TestApp, email: &str, password: &str) -> (u16, Value) {
    body(
        app.other_client()
            .post("/api/auth/login")
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn public_post(app: &TestApp, path: &str, b: Value) -> (u16, Value) {
    body(app.other_client().post(path).json(&b).send().await.unwrap()).await
}

// ---- SMTP settings and the test message ------------------------------------------------------

async fn smtp_settings_and_test_message(backend: Backend) {
    if !smtp::available() {
        return;
    }
    let sink = SmtpSink::start(&[]);
    // No SMTP_* here: the admin configures mail in the settings.
    let Some(app) = TestApp::try_spawn(backend, &[]).await else {
        return;
    };
    sign_in_admin(&app).await;
    let (s, v) = app.get_json("/api/admin/settings/smtp").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["source"], "settings");
    assert_eq!(v["available"], false);
    assert_eq!(v["smtp_password"], "");

    let v = expect_error(
        app.post_json("/api/admin/settings/smtp/test", json!({"email": "a@example.com"}))
            .await,
        400,
        "SMTP_TEST_FAILED",
    )
    .await;
    assert_eq!(v["error"], "SMTP is not enabled");
    let v = expect_error(
        app.post_json("/api/admin/settings/smtp/test", json!({})).await,
        400,
        "VALIDATION_ERROR",
    )
    .await;
    assert_eq!(v["error"], "Email is required");

    // Bad input: the envelope, with each field at fault, and nothing stored.
    let v = expect_error(
        app.post_json(
            "/api/admin/settings/smtp",
            json!({"enabled": true, "host": "smtp example", "port": 70000, "tls_mode": "bogus", "from": "nobody", "fromName": "a\u{7}b"}),
        )
        .await,
        400,
        "VALIDATION_ERROR",
    )
    .await;
    let fields: Vec<&str> = v["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["host", "port", "tls_mode", "from", "fromName"], "{v}");
    let (_, after) = app.get_json("/api/admin/settings/smtp").await;
    assert_eq!(after["smtp_host"], "", "nothing was stored");
    assert_eq!(after["smtp_enabled"], "");

    // Other members may not look or change.
    let member = sign_in_user(&app, "member@example.com", "Member").await;
    let (s, _) = member.get_json("/api/admin/settings/smtp").await;
    assert_eq!(s, 403);

    // A relay without authentication, plain SMTP.
    let res = app
        .post_json(
            "/api/admin/settings/smtp",
            json!({"enabled": true, "host": "127.0.0.1", "port": sink.port, "tls_mode": "none",
                   "user": "", "password": "relay-secret", "from": "noreply@example.com", "fromName": "Team <Bookmarks>"}),
        )
        .await;
    let (s, v) = body(res).await;
    assert_eq!(
        (s, &v["message"]),
        (200, &json!("SMTP settings updated successfully"))
    );
    let (_, v) = app.get_json("/api/admin/settings/smtp").await;
    assert_eq!(v["smtp_password"], "***SET***");
    assert_eq!(v["smtp_password_set"], true);
    assert_eq!(v["smtp_port"], sink.port.to_string());
    assert_eq!(v["smtp_secure"], "false");
    assert_eq!(v["smtp_tls_mode"], "none");
    assert_eq!(v["available"], true);
    assert!(
        !v.to_string().contains("relay-secret"),
        "the password is never shown"
    );
    let stored: String = with_db!(&app.state.db, pool => sqlx::query_scalar(
        "SELECT value FROM system_config WHERE key = 'smtp_password'").fetch_one(pool).await.unwrap());
    assert!(stored.starts_with("v2:"), "stored encrypted: {stored}");
    // The generic settings route does not write SMTP keys around the encryption.
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

    let res = app
        .post_json(
            "/api/admin/settings/smtp/test",
            json!({"email": "admin-inbox@example.com"}),
        )
        .await;
    let (s, v) = body(res).await;
    assert_eq!(
        (s, &v["message"]),
        (200, &json!("Test email sent successfully")),
        "{v}"
    );
    let got = sink.messages();
    assert_eq!(got.len(), 1, "the test message went out at once");
    let m = &got[0];
    assert_eq!(m["parsed"]["subject"], "SMTP Test Email - SlugBase");
    assert_eq!(recipient(m), "admin-inbox@example.com");
    let from = m["parsed"]["from"].as_str().unwrap();
    assert!(
        from.contains("Team <Bookmarks>") && from.ends_with("<noreply@example.com>"),
        "{from}"
    );
    assert_eq!(m["session"]["auth_user"], Value::Null, "no AUTH without a user");
    assert!(m["parsed"]["html"]
        .as_str()
        .unwrap()
        .contains("SMTP Configuration Test"));
    assert_eq!(audit_actions(&app, "settings.smtp_updated").await.len(), 1);

    // Unsaved settings can be tried: the server's refusal is shown.
    let closed = smtp::free_port();
    let v = expect_error(
        app.post_json(
            "/api/admin/settings/smtp/test",
            json!({"email": "a@example.com", "host": "127.0.0.1", "port": closed}),
        )
        .await,
        400,
        "SMTP_TEST_FAILED",
    )
    .await;
    assert!(!v["error"].as_str().unwrap().is_empty());
    let (_, v) = app.get_json("/api/admin/settings/smtp").await;
    assert_eq!(v["smtp_port"], sink.port.to_string(), "trying did not save");
    app.finish().await;
}

async fn environment_wins_over_settings(app: TestApp, _sink: SmtpSink) {
    sign_in_admin(&app).await;
    let (_, v) = app.get_json("/api/admin/settings/smtp").await;
    assert_eq!(v["source"], "env");
    assert_eq!(v["smtp_host"], "127.0.0.1");
    assert_eq!(v["smtp_from_name"], "SlugBase Test");
    expect_error(
        app.post_json("/api/admin/settings/smtp", json!({"host": "elsewhere"}))
            .await,
        409,
        "SMTP_FROM_ENV",
    )
    .await;
    // With mail, unverified accounts may not sign in unless the admin allows it.
    let (_, v) = app.get_json("/api/admin/settings").await;
    assert_eq!(v["signup_unverified_login"], "false");
}

// ---- password reset --------------------------------------------------------------------------

async fn password_reset(app: TestApp, sink: SmtpSink) {
    sign_in_admin(&app).await;
    let user = sign_in_user(&app, "known@example.com", "Known").await;
    let (s, _) = user.get_json("/api/auth/me").await;
    assert_eq!(s, 200);
    let guest = app.other_client();

    // Bad input: the envelope, and no mail.
    for (b, msg) in [
        (json!({}), "Email is required"),
        (json!({"email": "not-an-address"}), "Invalid email format"),
        (
            json!({"email": format!("{}@example.com", "a".repeat(260))}),
            "Email must be no more than 255 characters",
        ),
    ] {
        let v = expect_error(
            guest
                .post("/api/password-reset/request")
                .json(&b)
                .send()
                .await
                .unwrap(),
            400,
            "VALIDATION_ERROR",
        )
        .await;
        assert_eq!(v["error"], msg);
    }

    let known = public_post(
        &app,
        "/api/password-reset/request",
        json!({"email": "Known@Example.com"}),
    )
    .await;
    let unknown = public_post(
        &app,
        "/api/password-reset/request",
        json!({"email": "nobody@example.com"}),
    )
    .await;
    assert_eq!(known.0, 200);
    assert_eq!(known, unknown, "the same answer for an unknown address");
    assert_eq!(
        known.1["message"],
        "If an account with this email exists, a password reset link has been sent."
    );
    let m = sink
        .wait_for_to("known@example.com", "Password Reset Request - SlugBase")
        .await;
    assert_eq!(m["parsed"]["content_language"], "en");
    assert_eq!(m["parsed"]["content_type"], "multipart/alternative");
    let html = m["parsed"]["html"].as_str().unwrap();
    let text = m["parsed"]["text"].as_str().unwrap();
    assert!(html.contains("Reset Password") && html.contains("/reset-password?token="));
    assert!(text.contains("expires in 1 hour"), "{text}");
    let msgid = m["parsed"]["message_id"].as_str().unwrap();
    assert!(
        msgid.starts_with('<') && msgid.ends_with("@localhost>"),
        "{msgid}"
    );
    let t = token(&m);
    assert_eq!(t.len(), 64);
    // Nothing for the unknown address.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(sink
        .messages()
        .iter()
        .all(|m| recipient(m) == "known@example.com"));
    let stored: Vec<String> = with_db!(&app.state.db, pool => sqlx::query_scalar(
        "SELECT token FROM password_reset_tokens").fetch_all(pool).await.unwrap());
    assert!(
        stored.iter().all(|s| s.starts_with("h:") && !s.contains(&t)),
        "only hashes are stored"
    );

    let (s, v) = body(
        guest
            .get(&format!("/api/password-reset/verify?token={t}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, v), (200, json!({"valid": true})));
    let (s, v) = body(
        guest
            .get("/api/password-reset/verify?token=abc")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(
        (&v["valid"], &v["error"]),
        (&json!(false), &json!("Invalid or expired token"))
    );

    // A weak password is refused before the token is looked at, and the token still works.
    let before = password_hash(&app, "known@example.com").await;
    let v = expect_error(
        guest
            .post("/api/password-reset/reset")
            .json(&json!({"token": t, "password": "short"}))
            .send()
            .await
            .unwrap(),
        400,
        "VALIDATION_ERROR",
    )
    .await;
    assert!(v["details"][0]["field"] == "password", "{v}");
    let v = expect_error(
        guest
            .post("/api/password-reset/reset")
            .json(&json!({"token": t}))
            .send()
            .await
            .unwrap(),
        400,
        "VALIDATION_ERROR",
    )
    .await;
    assert_eq!(v["error"], "Token and password are required");
    assert_eq!(
        password_hash(&app, "known@example.com").await,
        before,
        "nothing changed"
    );

    let res = guest
        .post("/api/password-reset/reset")
        .json(&json!({"token": t, "password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        body(res).await,
        (200, json!({"message": "Password reset successfully"}))
    );
    // Every session of the account ended.
    let (s, _) = user.get_json("/api/auth/me").await;
    assert_eq!(s, 401, "the old session no longer works");
    // The link works once.
    expect_error(
        guest
            .post("/api/password-reset/reset")
            .json(&json!({"token": t, "password": "Other-Passw0rd!"}))
            .send()
            .await
            .unwrap(),
        400,
        "INVALID_TOKEN",
    )
    .await;
    let (s, v) = body(
        guest
            .get(&format!("/api/password-reset/verify?token={t}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, &v["valid"]), (400, &json!(false)));
    assert_eq!(login_status(&app, "known@example.com", PASSWORD).await.0, 401);
    assert_eq!(login_status(&app, "known@example.com", NEW_PASSWORD).await.0, 200);
    let audit = audit_actions(&app, "user.password_reset").await;
    assert_eq!(audit.len(), 1);
    assert!(!audit[0].to_string().contains(&t), "no token in the audit log");
    sink.wait_for_to("known@example.com", "Your SlugBase password was changed")
        .await;

    // An expired link is refused and changes nothing.
    let seen = sink.messages().len();
    public_post(
        &app,
        "/api/password-reset/request",
        json!({"email": "known@example.com"}),
    )
    .await;
    let m = sink
        .wait_for_new(seen, "known@example.com", "Password Reset Request - SlugBase")
        .await;
    let t2 = token(&m);
    assert_ne!(t2, t);
    with_db!(&app.state.db, pool => sqlx::query(
        "UPDATE password_reset_tokens SET expires_at = $1 WHERE COALESCE(used, FALSE) = FALSE")
        .bind(slugbase::db::Ts::now().minus(Duration::from_secs(60))).execute(pool).await.unwrap().rows_affected());
    let before = password_hash(&app, "known@example.com").await;
    expect_error(
        guest
            .post("/api/password-reset/reset")
            .json(&json!({"token": t2, "password": "Third-Passw0rd!"}))
            .send()
            .await
            .unwrap(),
        400,
        "INVALID_TOKEN",
    )
    .await;
    assert_eq!(password_hash(&app, "known@example.com").await, before);
}

/// The answer takes as long for an unknown address as for a known one: the work that depends on
/// the address happens after it.
async fn password_reset_answers_alike(app: TestApp, sink: SmtpSink) {
    sign_in_admin(&app).await;
    sign_in_user(&app, "timed@example.com", "Timed").await;
    let guest = app.other_client();
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..12 {
        for (email, times) in [
            ("timed@example.com".to_string(), &mut known),
            (format!("nobody{i}@example.com"), &mut unknown),
        ] {
            let t = Instant::now();
            let res = guest
                .post("/api/password-reset/request")
                .json(&json!({"email": email}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            times.push(t.elapsed());
        }
    }
    known.sort();
    unknown.sort();
    let (k, u) = (known[known.len() / 2], unknown[unknown.len() / 2]);
    // Generous for a loaded machine: a leak (a database insert and an SMTP round trip inside the
    // request) would show in every known-address answer, not as noise around the median.
    let diff = k.abs_diff(u);
    let allowed = Duration::from_millis(150).max(k.max(u) / 2);
    assert!(
        diff < allowed,
        "median answer times differ by {diff:?} (known {k:?}, unknown {u:?})"
    );
    // At most three reset mails per address and hour, however often it is asked.
    sink.wait_for(3, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(sink.messages().len(), 3);
}

// ---- invites ---------------------------------------------------------------------------------

async fn invite_then_password_then_sign_in(app: TestApp, sink: SmtpSink) {
    sign_in_admin(&app).await;
    // Bad input: nothing is created.
    expect_error(
        app.post_json(
            "/api/admin/users",
            json!({"email": "both@example.com", "name": "Both", "password": PASSWORD, "send_invite": true}),
        )
        .await,
        400,
        "VALIDATION_ERROR",
    )
    .await;
    expect_error(
        app.post_json(
            "/api/admin/users",
            json!({"email": "bad", "name": "Bad", "send_invite": true}),
        )
        .await,
        400,
        "VALIDATION_ERROR",
    )
    .await;
    let (_, list) = app.get_json("/api/admin/users").await;
    assert_eq!(list.as_array().unwrap().len(), 1, "nothing was created: {list}");

    let res = app
        .post_json(
            "/api/admin/users",
            json!({"email": "invitee@example.com", "name": "<b>Ivy</b>", "send_invite": true}),
        )
        .await;
    let (s, user) = body(res).await;
    assert_eq!(s, 201, "{user}");
    assert_eq!(user["invite_pending"], true);
    assert_eq!(user["invite_expired"], false);
    let expires = slugbase::db::Ts::parse(user["invite_expires_at"].as_str().unwrap()).unwrap();
    let days = (expires.unix() - slugbase::db::Ts::now().unix()) as f64 / 86_400.0;
    assert!((6.9..=7.0).contains(&days), "a 7-day link: {days}");
    let id = user["id"].as_str().unwrap().to_string();
    let first = sink
        .wait_for_to("invitee@example.com", "You're invited to SlugBase")
        .await;
    let html = first["parsed"]["html"].as_str().unwrap();
    assert!(
        html.contains("&#60;b&#62;Ivy&#60;/b&#62;") && !html.contains("<b>Ivy"),
        "escaped: {html}"
    );
    assert!(first["parsed"]["text"]
        .as_str()
        .unwrap()
        .contains("Hello <b>Ivy</b>,"));
    assert!(html.contains("Set password") && html.contains("7 days"));
    let old = token(&first);

    // Sent again: a new link; the first stops working.
    let res = app
        .post_json(&format!("/api/admin/users/{id}/resend-invite"), json!({}))
        .await;
    let (s, v) = body(res).await;
    assert_eq!(s, 200, "{v}");
    assert!(v["invite_expires_at"].as_str().is_some());
    let new = token(
        &sink
            .wait_for_new(1, "invitee@example.com", "You're invited to SlugBase")
            .await,
    );
    assert_ne!(old, new);
    let (s, _) = body(
        app.other_client()
            .get(&format!("/api/password-reset/verify?token={old}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 400, "the earlier link no longer works");
    assert_eq!(audit_actions(&app, "org_member.invite_resent").await.len(), 1);
    let created = audit_actions(&app, "org_member.created").await;
    assert_eq!(created.last().unwrap()["invite"], true);

    // The member sets a password through the reset page's route, then signs in.
    assert_eq!(
        login_status(&app, "invitee@example.com", NEW_PASSWORD).await.0,
        401
    );
    let (s, _) = public_post(
        &app,
        "/api/password-reset/reset",
        json!({"token": new, "password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, v) = login_status(&app, "invitee@example.com", NEW_PASSWORD).await;
    assert_eq!(s, 200, "{v}");
    let (_, v) = app.get_json(&format!("/api/admin/users/{id}")).await;
    assert_eq!(v["invite_pending"], false);
    assert_eq!(v["invite_expires_at"], Value::Null);
    expect_error(
        app.post_json(&format!("/api/admin/users/{id}/resend-invite"), json!({}))
            .await,
        400,
        "NOT_PENDING",
    )
    .await;
    expect_error(
        app.post_json("/api/admin/users/no-such-user/resend-invite", json!({}))
            .await,
        404,
        "NOT_FOUND",
    )
    .await;

    // An invite in German (asked for), and one that expired.
    let (s, v) = body(
        app.post_json(
            "/api/admin/users",
            json!({"email": "late@example.com", "name": "Late", "send_invite": true, "language": "de"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201);
    let m = sink
        .wait_for_to("late@example.com", "Einladung zu SlugBase")
        .await;
    assert_eq!(m["parsed"]["content_language"], "de");
    with_db!(&app.state.db, pool => sqlx::query(
        "UPDATE password_reset_tokens SET expires_at = $1 WHERE user_id = $2")
        .bind(slugbase::db::Ts::now().minus(Duration::from_secs(60))).bind(v["id"].as_str().unwrap())
        .execute(pool).await.unwrap().rows_affected());
    let (_, list) = app.get_json("/api/admin/users").await;
    let late = list
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "late@example.com")
        .unwrap();
    assert_eq!(
        (&late["invite_pending"], &late["invite_expired"]),
        (&json!(true), &json!(true))
    );
}

// ---- e-mail change ---------------------------------------------------------------------------

async fn email_change(app: TestApp, sink: SmtpSink) {
    sign_in_admin(&app).await;
    let user = sign_in_user(&app, "old@example.com", "Olga").await;
    sign_in_user(&app, "taken@example.com", "Taken").await;

    // Bad input: refused with the envelope; nothing changes, nothing is sent.
    expect_error(
        user.put_json(
            "/api/users/me",
            json!({"email": "taken@example.com", "name": "Changed"}),
        )
        .await,
        400,
        "VALIDATION_ERROR",
    )
    .await;
    expect_error(
        user.put_json("/api/users/me", json!({"email": "nope"})).await,
        400,
        "VALIDATION_ERROR",
    )
    .await;
    let (_, me) = user.get_json("/api/users/me").await;
    assert_eq!(
        (&me["name"], &me["email_pending"]),
        (&json!("Olga"), &Value::Null)
    );

    let res = user
        .put_json(
            "/api/users/me",
            json!({"email": "New@Example.com", "name": "Olga N."}),
        )
        .await;
    let (s, v) = body(res).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["message"],
        "Email change requested. Please check your new email address for a verification link."
    );
    assert_eq!(v["emailVerificationRequired"], true);
    assert_eq!(v["currentEmail"], "old@example.com");
    assert_eq!(v["pendingEmail"], "new@example.com");
    assert_eq!(
        v["name"], "Olga N.",
        "the other fields of the request are applied"
    );
    let m = sink
        .wait_for_to("new@example.com", "Verify Your New Email Address - SlugBase")
        .await;
    let t = token(&m);
    let guest = app.other_client();
    let (s, v) = body(
        guest
            .get(&format!("/api/email-verification/verify?token={t}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, v),
        (200, json!({"valid": true, "newEmail": "new@example.com"}))
    );
    let (s, v) = body(guest.get("/api/email-verification/verify").send().await.unwrap()).await;
    assert_eq!((s, &v["error"]), (400, &json!("Token is required")));

    // The token is the credential: a browser without a session cookie has nothing a forged
    // request could ride on, so no CSRF token is asked for (one is sent below all the same).
    let v = expect_error(
        guest
            .post_json("/api/email-verification/confirm", json!({}))
            .await,
        400,
        "VALIDATION_ERROR",
    )
    .await;
    assert_eq!(v["error"], "Token is required");
    let res = guest
        .post_json("/api/email-verification/confirm", json!({"token": t}))
        .await;
    assert_eq!(
        body(res).await,
        (
            200,
            json!({"message": "Email verified and updated successfully", "email": "new@example.com"})
        )
    );
    let (_, me) = user.get_json("/api/users/me").await;
    assert_eq!(
        (&me["email"], &me["email_pending"]),
        (&json!("new@example.com"), &Value::Null)
    );
    // The old address is told.
    let notice = sink
        .wait_for_to("old@example.com", "Your SlugBase email address was changed")
        .await;
    let text = notice["parsed"]["text"].as_str().unwrap();
    assert!(
        text.contains("old@example.com") && text.contains("new@example.com"),
        "{text}"
    );
    let audit = audit_actions(&app, "user.email_changed").await;
    assert_eq!(audit[0]["new_email"], "new@example.com");
    // Used once.
    let v = expect_error(
        guest
            .post_json("/api/email-verification/confirm", json!({"token": t}))
            .await,
        400,
        "INVALID_TOKEN",
    )
    .await;
    assert_eq!(v["error"], "Invalid or expired token");

    // An expired link: refused, and the address stays.
    user.put_json("/api/users/me", json!({"email": "later@example.com"}))
        .await;
    let m = sink
        .wait_for_to("later@example.com", "Verify Your New Email Address - SlugBase")
        .await;
    with_db!(&app.state.db, pool => sqlx::query("UPDATE email_verification_tokens SET expires_at = $1")
        .bind(slugbase::db::Ts::now().minus(Duration::from_secs(60))).execute(pool).await.unwrap().rows_affected());
    let v = expect_error(
        guest
            .post_json("/api/email-verification/confirm", json!({"token": token(&m)}))
            .await,
        400,
        "TOKEN_EXPIRED",
    )
    .await;
    assert_eq!(v["error"], "Token has expired");
    let (_, me) = user.get_json("/api/users/me").await;
    assert_eq!(me["email"], "new@example.com");
}

// ---- sign-up verification --------------------------------------------------------------------

async fn signup_verification(backend: Backend) {
    run(backend, &[("REGISTRATIONS_ENABLED", "true")], |a, s| {
        Box::pin(signup_verification_body(a, s))
    })
    .await;
}

async fn signup_verification_body(app: TestApp, sink: SmtpSink) {
    sign_in_admin(&app).await;
    let reg = json!({"email": "fresh@example.com", "name": "Fresh", "password": PASSWORD});
    let (s, v) = public_post(&app, "/api/auth/register", reg.clone()).await;
    assert_eq!(
        (s, &v["message"]),
        (201, &json!("Check your email to verify your account"))
    );
    let m = sink
        .wait_for_to("fresh@example.com", "Verify your SlugBase account")
        .await;
    let t = token(&m);
    assert!(m["parsed"]["text"]
        .as_str()
        .unwrap()
        .contains("/verify-email?token="));

    // Not before the address is verified.
    let v = expect_error(
        app.other_client()
            .post("/api/auth/login")
            .json(&json!({"email": "fresh@example.com", "password": PASSWORD}))
            .send()
            .await
            .unwrap(),
        403,
        "EMAIL_NOT_VERIFIED",
    )
    .await;
    assert_eq!(
        v["error"],
        "Please verify your email before logging in. Check your inbox for the verification link."
    );

    // The same answer for an address that has an account; its owner hears about it.
    let (s, v) = public_post(
        &app,
        "/api/auth/register",
        json!({"email": ADMIN_EMAIL, "name": "X", "password": PASSWORD}),
    )
    .await;
    assert_eq!(
        (s, &v["message"]),
        (201, &json!("Check your email to verify your account"))
    );
    sink.wait_for_to(ADMIN_EMAIL, "Sign-up attempt for your SlugBase account")
        .await;

    // Status, and the checks around it.
    let (s, v) = body(
        app.other_client()
            .get(&format!("/api/auth/signup-verification/status?token={t}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, v),
        (200, json!({"status": "valid", "email": "fresh@example.com"}))
    );
    let (s, v) = body(
        app.other_client()
            .get("/api/auth/signup-verification/status")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, &v["status"]), (400, &json!("invalid")));
    let (s, v) = body(
        app.other_client()
            .get("/api/auth/signup-verification/status?token=00")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, v), (200, json!({"status": "invalid"})));
    let v = expect_error(
        app.other_client()
            .post("/api/auth/verify-signup")
            .json(&json!({"token": ""}))
            .send()
            .await
            .unwrap(),
        400,
        "VALIDATION_ERROR",
    )
    .await;
    assert_eq!(v["error"], "Token is required");
    let v = expect_error(
        app.other_client()
            .post("/api/auth/verify-signup")
            .json(&json!({"token": "ff"}))
            .send()
            .await
            .unwrap(),
        400,
        "INVALID_TOKEN",
    )
    .await;
    assert_eq!(v["error"], "Invalid or expired verification link");

    // A link cannot move the account to another address without its password.
    let v = expect_error(
        app.other_client()
            .post("/api/auth/resend-signup-verification")
            .json(&json!({"token": t, "newEmail": "hijack@example.com"}))
            .send()
            .await
            .unwrap(),
        400,
        "PASSWORD_REQUIRED",
    )
    .await;
    assert!(v["error"].as_str().unwrap().contains("password"));
    let seen = sink.messages().len();
    let (s, v) = public_post(&app, "/api/auth/resend-signup-verification", json!({"token": t})).await;
    assert_eq!((s, &v["message"]), (200, &json!("Verification email sent")));
    let t2 = token(
        &sink
            .wait_for_new(seen, "fresh@example.com", "Verify your SlugBase account")
            .await,
    );
    assert_ne!(t, t2, "a new link; the old one is gone");
    let (_, v) = body(
        app.other_client()
            .get(&format!("/api/auth/signup-verification/status?token={t}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["status"], "invalid");
    assert!(sink
        .messages()
        .iter()
        .all(|m| recipient(m) != "hijack@example.com"));

    // Asking by address: the same answer either way, and never a changed address.
    let seen = sink.messages().len();
    for email in ["fresh@example.com", "nobody@example.com"] {
        let (s, v) = public_post(
            &app,
            "/api/auth/request-signup-resend",
            json!({"email": email, "newEmail": "moved@example.com"}),
        )
        .await;
        assert_eq!(s, 200);
        assert_eq!(
            v,
            json!({"message": "If an unverified account exists with that email, a new verification link has been sent.", "emailChanged": false})
        );
    }
    let t3 = token(
        &sink
            .wait_for_new(seen, "fresh@example.com", "Verify your SlugBase account")
            .await,
    );

    let (s, v) = public_post(&app, "/api/auth/verify-signup", json!({"token": t3})).await;
    assert_eq!(
        (s, v),
        (200, json!({"message": "Email verified. You can log in."}))
    );
    let (s, _) = login_status(&app, "fresh@example.com", PASSWORD).await;
    assert_eq!(s, 200, "verified: signs in");
    let v = expect_error(
        app.other_client()
            .post("/api/auth/verify-signup")
            .json(&json!({"token": t3}))
            .send()
            .await
            .unwrap(),
        400,
        "TOKEN_USED",
    )
    .await;
    assert_eq!(v["error"], "This verification link has already been used");
    assert_eq!(audit_actions(&app, "user.signup_verified").await.len(), 1);

    // The admin may let unverified accounts in.
    let (s, _) = public_post(
        &app,
        "/api/auth/register",
        json!({"email": "second@example.com", "name": "S", "password": PASSWORD}),
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(login_status(&app, "second@example.com", PASSWORD).await.0, 403);
    let (s, _) = body(
        app.post_json(
            "/api/admin/settings",
            json!({"key": "signup_unverified_login", "value": true}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(login_status(&app, "second@example.com", PASSWORD).await.0, 200);
}

/// A German user gets German mail (subject, `Content-Language`, `<html lang>`).
async fn german_message_for_german_user(app: TestApp, sink: SmtpSink) {
    sign_in_admin(&app).await;
    let user = sign_in_user(&app, "jutta@example.com", "Jutta").await;
    let (s, _) = body(user.put_json("/api/users/me", json!({"language": "de"})).await).await;
    assert_eq!(s, 200);
    public_post(
        &app,
        "/api/password-reset/request",
        json!({"email": "jutta@example.com"}),
    )
    .await;
    let m = sink
        .wait_for_to("jutta@example.com", "Passwort zurücksetzen - SlugBase")
        .await;
    assert_eq!(m["parsed"]["content_language"], "de");
    assert_eq!(m["parsed"]["content_language_top_level"], true);
    assert!(m["parsed"]["html"]
        .as_str()
        .unwrap()
        .contains("<html lang=\"de\">"));
    assert!(m["parsed"]["text"].as_str().unwrap().contains("1 Stunde gültig"));
    assert_eq!(outbox(&app).await.len(), 1);
}

with_sink!(
    environment_wins_over_settings,
    password_reset,
    password_reset_answers_alike,
    invite_then_password_then_sign_in,
    email_change,
    german_message_for_german_user,
);

mod smtp_settings {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::smtp_settings_and_test_message(crate::common::Backend::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::smtp_settings_and_test_message(crate::common::Backend::Postgres).await;
    }
}

mod signup {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::signup_verification(crate::common::Backend::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::signup_verification(crate::common::Backend::Postgres).await;
    }
}
