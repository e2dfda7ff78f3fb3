//! Delivery through the outbox against a real SMTP server process: STARTTLS with a self-signed
//! certificate the server is told to trust, implicit TLS, authentication; the server down and back
//! (the request answers at once, the mail arrives later); restarts and two instances on one
//! database sending each message exactly once; giving up after a day; bodies encrypted at rest.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::json;
use slugbase::with_db;

use super::mail::{audit_actions, mail_app, outbox};
use crate::common::smtp::{self, recipient, SmtpSink};
use crate::common::{body, sign_in_admin, Backend, TestApp, ADMIN_EMAIL, PASSWORD};

/// Runs `$name(Backend)` once per database.
macro_rules! per_backend {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(crate::common::Backend::Sqlite).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name(crate::common::Backend::Postgres).await;
                }
            }
        )*
    };
}

/// Invites `n` people through `app` (signed in as an admin); returns their addresses.
async fn invite(app: &TestApp, prefix: &str, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..n {
        let email = format!("{prefix}{i}@example.com");
        let started = Instant::now();
        let res = app
            .post_json(
                "/api/admin/users",
                json!({"email": email, "name": format!("{prefix} {i}"), "send_invite": true}),
            )
            .await;
        let (s, v) = body(res).await;
        assert_eq!(s, 201, "{v}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the request does not wait on SMTP ({:?})",
            started.elapsed()
        );
        out.push(email);
    }
    out
}

/// Each expected recipient got exactly one message, and every Message-ID is unique — also a
/// while after the last one arrived.
async fn exactly_once(sink: &SmtpSink, expected: &[String]) {
    sink.wait_for(expected.len(), Duration::from_secs(120)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = sink.messages();
    let ids: HashSet<String> = got
        .iter()
        .map(|m| m["parsed"]["message_id"].as_str().unwrap_or("").to_string())
        .collect();
    let mut to: Vec<String> = got.iter().map(recipient).collect();
    to.sort();
    let mut want = expected.to_vec();
    want.sort();
    assert_eq!(to, want, "each recipient exactly once");
    assert_eq!(ids.len(), got.len(), "every Message-ID once");
}

async fn wait_until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(90);
    while !check().await {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---- TLS and authentication ------------------------------------------------------------------

async fn starttls_and_implicit_tls_with_a_trusted_self_signed_certificate(backend: Backend) {
    if !smtp::available() {
        return;
    }
    let (_certs, cert, key) = smtp::self_signed_cert();
    let sink = SmtpSink::start(&["--starttls", &cert, &key, "--require-auth", "mailer:s3cret pass"]);
    let extra = [
        ("SMTP_TLS", "starttls"),
        ("SMTP_CA_FILE", cert.as_str()),
        ("SMTP_USER", "mailer"),
        ("SMTP_PASSWORD", "s3cret pass"),
    ];
    let Some(app) = mail_app(backend, sink.port, &extra).await else {
        return;
    };
    sign_in_admin(&app).await;
    let (s, v) = body(
        app.post_json(
            "/api/admin/settings/smtp/test",
            json!({"email": "tls@example.com"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let m = &sink.wait_for(1, Duration::from_secs(30)).await[0];
    assert_eq!(m["session"]["tls"], "starttls");
    assert_eq!(m["session"]["auth_user"], "mailer");
    // Through the outbox as well.
    invite(&app, "secure", 1).await;
    let m = sink
        .wait_for_to("secure0@example.com", "You're invited to SlugBase")
        .await;
    assert_eq!(m["session"]["tls"], "starttls");
    app.finish().await;

    // Without the certificate among its roots the server refuses to talk to the sink.
    let Some(untrusting) = mail_app(
        backend,
        sink.port,
        &[
            ("SMTP_TLS", "starttls"),
            ("SMTP_USER", "mailer"),
            ("SMTP_PASSWORD", "s3cret pass"),
        ],
    )
    .await
    else {
        return;
    };
    sign_in_admin(&untrusting).await;
    let (s, v) = body(
        untrusting
            .post_json(
                "/api/admin/settings/smtp/test",
                json!({"email": "tls@example.com"}),
            )
            .await,
    )
    .await;
    assert_eq!((s, &v["code"]), (400, &json!("SMTP_TEST_FAILED")), "{v}");
    untrusting.finish().await;

    // Implicit TLS (SMTPS).
    let sink = SmtpSink::start(&["--implicit-tls", &cert, &key]);
    let Some(app) = mail_app(
        backend,
        sink.port,
        &[("SMTP_TLS", "tls"), ("SMTP_CA_FILE", cert.as_str())],
    )
    .await
    else {
        return;
    };
    sign_in_admin(&app).await;
    let (s, v) = body(
        app.post_json(
            "/api/admin/settings/smtp/test",
            json!({"email": "smtps@example.com"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(sink.messages()[0]["session"]["tls"], "implicit");
    app.finish().await;
}

// ---- outages, restarts, several instances ----------------------------------------------------

async fn smtp_down_then_back(backend: Backend) {
    if !smtp::available() {
        return;
    }
    let mut sink = SmtpSink::down(&[]);
    let Some(app) = mail_app(backend, sink.port, &[]).await else {
        return;
    };
    sign_in_admin(&app).await;
    // The request answers at once although nothing listens on the SMTP port.
    let to = invite(&app, "patient", 1).await;
    // Attempts count up when a row is claimed; its error is written when the attempt fails.
    let failed = async || -> (String, Option<String>) {
        with_db!(&app.state.db, pool => sqlx::query_as(
            "SELECT status, last_error FROM mail_outbox").fetch_one(pool).await.unwrap())
    };
    wait_until("a failed first attempt", async || failed().await.1.is_some()).await;
    let (status, err) = failed().await;
    // Kept for a retry (the next attempt may be under way already).
    assert!(
        status == "pending" || status == "sending",
        "kept for a retry: {status}"
    );
    assert!(err.is_some_and(|e| !e.is_empty()));
    sink.resume();
    exactly_once(&sink, &to).await;
    assert_eq!(outbox(&app).await[0].2, "sent");
    app.finish().await;
}

async fn restart_sends_nothing_twice(backend: Backend) {
    if !smtp::available() {
        return;
    }
    let mut sink = SmtpSink::start(&[]);
    let Some(first) = mail_app(backend, sink.port, &[]).await else {
        return;
    };
    sign_in_admin(&first).await;
    // Messages in every state when the server stops: sent, being sent, waiting.
    let mut to = invite(&first, "before", 6).await;
    first.stop().await;
    let port = sink.port.to_string();
    let env = [
        ("SMTP_HOST", "127.0.0.1"),
        ("SMTP_PORT", port.as_str()),
        ("SMTP_TLS", "none"),
        ("SMTP_FROM", "noreply@example.com"),
    ];
    let second = TestApp::start(
        backend,
        first.db_url.clone(),
        None,
        tempfile::tempdir().unwrap(),
        &env,
    )
    .await;
    exactly_once(&sink, &to).await;

    // Again with the SMTP server down while the first server queues and stops.
    sink.stop();
    let c = second.other_client();
    let (s, _) = body(
        c.post("/api/auth/login")
            .json(&json!({"email": ADMIN_EMAIL, "password": PASSWORD}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    to.extend(invite(&c, "during", 3).await);
    second.stop().await;
    sink.resume();
    let third = TestApp::start(
        backend,
        first.db_url.clone(),
        None,
        tempfile::tempdir().unwrap(),
        &env,
    )
    .await;
    exactly_once(&sink, &to).await;
    let rows = outbox(&third).await;
    assert!(rows.iter().all(|r| r.2 == "sent"), "{rows:?}");
    third.stop().await;
    first.finish().await;
}

async fn two_instances_send_each_message_once(backend: Backend) {
    if !smtp::available() {
        return;
    }
    let mut sink = SmtpSink::down(&[]);
    let Some(a) = mail_app(backend, sink.port, &[]).await else {
        return;
    };
    let port = sink.port.to_string();
    let b = TestApp::start(
        backend,
        a.db_url.clone(),
        None,
        tempfile::tempdir().unwrap(),
        &[
            ("SMTP_HOST", "127.0.0.1"),
            ("SMTP_PORT", port.as_str()),
            ("SMTP_TLS", "none"),
            ("SMTP_FROM", "noreply@example.com"),
        ],
    )
    .await;
    sign_in_admin(&a).await;
    let (s, _) = body(
        b.client
            .post(b.url("/api/auth/login"))
            .json(&json!({"email": ADMIN_EMAIL, "password": PASSWORD}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    // Both instances queue and both try (and fail) while the server is down; then both deliver.
    let mut to = invite(&a, "via-a", 12).await;
    to.extend(invite(&b, "via-b", 12).await);
    sink.resume();
    to.extend(invite(&a, "late-a", 4).await);
    to.extend(invite(&b, "late-b", 4).await);
    exactly_once(&sink, &to).await;
    b.stop().await;
    a.finish().await;
}

// ---- giving up, secrets at rest --------------------------------------------------------------

async fn given_up_after_a_day_and_audited(backend: Backend) {
    if !smtp::available() {
        return;
    }
    let sink = SmtpSink::down(&[]);
    let Some(app) = mail_app(backend, sink.port, &[]).await else {
        return;
    };
    sign_in_admin(&app).await;
    invite(&app, "unlucky", 1).await;
    // Queued a day ago (and due now): the next failure is the last. The row may be out for its
    // first attempt ('sending'), whose end would set a later retry: wait until it rests.
    let day_ago = chrono::Utc::now().timestamp_millis() - 25 * 3600 * 1000;
    wait_until("the row to be backdated", async || {
        with_db!(&app.state.db, pool => sqlx::query(
            "UPDATE mail_outbox SET created_at = $1, next_attempt_at = $1 WHERE status = 'pending'")
            .bind(day_ago).execute(pool).await.unwrap().rows_affected())
            == 1
    })
    .await;
    wait_until("the message to be given up", async || {
        outbox(&app).await.first().is_some_and(|r| r.2 == "failed")
    })
    .await;
    let (id, body_left): (String, Option<String>) = with_db!(&app.state.db, pool => sqlx::query_as(
        "SELECT id, body FROM mail_outbox").fetch_one(pool).await.unwrap());
    assert_eq!(body_left, None, "the body (with its live link) is gone");
    let audit = audit_actions(&app, "mail.delivery_failed").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["outbox_id"], json!(id));
    assert_eq!(audit[0]["kind"], "invite");
    assert_eq!(audit[0]["recipient"], "unlucky0@example.com");
    app.finish().await;
}

async fn bodies_are_encrypted_and_cleared(backend: Backend) {
    if !smtp::available() {
        return;
    }
    let mut sink = SmtpSink::down(&[]);
    let Some(app) = mail_app(backend, sink.port, &[]).await else {
        return;
    };
    sign_in_admin(&app).await;
    invite(&app, "private", 1).await;
    let stored: Option<String> = with_db!(&app.state.db, pool => sqlx::query_scalar(
        "SELECT body FROM mail_outbox").fetch_one(pool).await.unwrap());
    let stored = stored.expect("a body while pending");
    assert!(stored.starts_with("v2:"), "{stored}");
    assert!(!stored.contains("token") && !stored.contains("private0"));
    sink.resume();
    let m = sink
        .wait_for_to("private0@example.com", "You're invited to SlugBase")
        .await;
    assert!(m["parsed"]["text"].as_str().unwrap().contains("token="));
    wait_until("the row to be marked sent", async || {
        outbox(&app).await[0].2 == "sent"
    })
    .await;
    let stored: Option<String> = with_db!(&app.state.db, pool => sqlx::query_scalar(
        "SELECT body FROM mail_outbox").fetch_one(pool).await.unwrap());
    assert_eq!(stored, None);
    app.finish().await;
}

per_backend!(
    starttls_and_implicit_tls_with_a_trusted_self_signed_certificate,
    smtp_down_then_back,
    restart_sends_nothing_twice,
    two_instances_send_each_message_once,
    given_up_after_a_day_and_audited,
    bodies_are_encrypted_and_cleared,
);
