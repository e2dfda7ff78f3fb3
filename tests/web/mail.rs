//! The pages behind mail, as a browser without JavaScript uses them, with a real SMTP server
//! (`tests/mail/smtp_sink.py`): the admin's SMTP form and test message, invites from the members
//! page, sign-up with verification (and the page for an unverified sign-in), and changing one's
//! address on the profile page.

use reqwest::Response;
use serde_json::Value;

use crate::common::smtp::{self, token, SmtpSink};
use crate::common::{sign_in_admin, sign_in_user, Backend, TestApp, PASSWORD};

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

async fn page(app: &TestApp, path: &str) -> (u16, String, String) {
    fetch(app.get(path).send().await.unwrap()).await
}

async fn submit(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, String, String) {
    fetch(app.post(path).form(form).send().await.unwrap()).await
}

/// The flash message the next page shows.
async fn flash(app: &TestApp, path: &str) -> String {
    let (_, _, html) = page(app, path).await;
    let start = html.find("class=\"flash").map(|i| &html[i..]).unwrap_or("");
    start.split("</div>").next().unwrap_or("").to_string()
}

async fn with_sink(backend: Backend, extra: &[(&str, &str)]) -> Option<(TestApp, SmtpSink)> {
    if !smtp::available() {
        return None;
    }
    let sink = SmtpSink::start(&[]);
    let port = sink.port_s();
    let mut env = vec![
        ("SMTP_HOST", "127.0.0.1"),
        ("SMTP_PORT", port.as_str()),
        ("SMTP_TLS", "none"),
        ("SMTP_FROM", "noreply@example.com"),
    ];
    env.extend_from_slice(extra);
    let app = TestApp::try_spawn(backend, &env).await?;
    Some((app, sink))
}

async fn smtp_form_and_test_message(backend: Backend) {
    if !smtp::available() {
        return;
    }
    let sink = SmtpSink::start(&[]);
    let Some(app) = TestApp::try_spawn(backend, &[]).await else {
        return;
    };
    sign_in_admin(&app).await;
    let (s, _, html) = page(&app, "/admin/settings").await;
    assert_eq!(s, 200);
    assert!(html.contains("id=\"smtp-form\"") && html.contains("id=\"smtp-test-form\""));
    let port = sink.port_s();
    let (s, to, _) = submit(
        &app,
        "/admin/settings/smtp",
        &[
            ("enabled", "true"),
            ("host", "127.0.0.1"),
            ("port", &port),
            ("tls_mode", "none"),
            ("user", ""),
            ("password", ""),
            ("from", "noreply@example.com"),
            ("from_name", "Our Bookmarks"),
        ],
    )
    .await;
    assert_eq!((s, to.as_str()), (303, "/admin/settings"));
    assert!(flash(&app, "/admin/settings")
        .await
        .contains("Email settings saved"));
    let (_, _, html) = page(&app, "/admin/settings").await;
    assert!(html.contains("value=\"Our Bookmarks\"") && html.contains("id=\"smtp-status\""));

    let (s, _, _) = submit(&app, "/admin/settings/smtp/test", &[("email", "me@example.com")]).await;
    assert_eq!(s, 303);
    assert!(flash(&app, "/admin/settings")
        .await
        .contains("A test email was sent to me@example.com"));
    assert_eq!(
        sink.messages()[0]["parsed"]["subject"],
        "SMTP Test Email - SlugBase"
    );

    // A failing server: the page says why.
    let (s, _, _) = submit(
        &app,
        "/admin/settings/smtp",
        &[
            ("enabled", "true"),
            ("host", "127.0.0.1"),
            ("port", &smtp::free_port().to_string()),
            ("tls_mode", "none"),
        ],
    )
    .await;
    assert_eq!(s, 303);
    submit(&app, "/admin/settings/smtp/test", &[("email", "me@example.com")]).await;
    assert!(flash(&app, "/admin/settings")
        .await
        .contains("The test email was not sent"));
    // Bad input is refused and not stored.
    submit(
        &app,
        "/admin/settings/smtp",
        &[("host", "bad host"), ("port", "99999")],
    )
    .await;
    let (_, v) = app.get_json("/api/admin/settings/smtp").await;
    assert_eq!(v["smtp_host"], "127.0.0.1");
    app.finish().await;
}

async fn invite_from_the_members_page(backend: Backend) {
    let Some((app, sink)) = with_sink(backend, &[]).await else {
        return;
    };
    sign_in_admin(&app).await;
    let (s, to, _) = submit(
        &app,
        "/admin/members",
        &[
            ("name", "Ina"),
            ("email", "ina@example.com"),
            ("send_invite", "true"),
            ("back", "/admin/members"),
        ],
    )
    .await;
    assert_eq!((s, to.as_str()), (303, "/admin/members"));
    let (_, _, html) = page(&app, "/admin/members").await;
    assert!(
        html.contains("invite-pending"),
        "the list shows the invite: {html}"
    );
    assert!(html.contains("class=\"resend-invite\""));
    sink.wait_for_to("ina@example.com", "You're invited to SlugBase")
        .await;
    let id = app
        .get_json("/api/admin/users")
        .await
        .1
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "ina@example.com")
        .map(|u| u["id"].as_str().unwrap().to_string())
        .unwrap();
    let (s, _, _) = submit(
        &app,
        &format!("/admin/members/{id}/resend-invite"),
        &[("back", "/admin/members")],
    )
    .await;
    assert_eq!(s, 303);
    assert!(flash(&app, "/admin/members")
        .await
        .contains("A new invitation was sent to ina@example.com"));
    let m = sink
        .wait_for_new(1, "ina@example.com", "You're invited to SlugBase")
        .await;

    // The invitee chooses a password on the reset page and signs in.
    let guest = app.other_client();
    let t = token(&m);
    let (s, _, html) = page(&guest, &format!("/reset-password?token={t}")).await;
    assert_eq!(s, 200);
    assert!(html.contains("id=\"reset-password-form\""));
    let (s, to, _) = submit(
        &guest,
        "/reset-password",
        &[
            ("token", &t),
            ("password", PASSWORD),
            ("confirm_password", "other"),
        ],
    )
    .await;
    assert_eq!((s, to.as_str()), (400, ""), "a mismatch is shown on the form");
    let (s, to, _) = submit(
        &guest,
        "/reset-password",
        &[
            ("token", &t),
            ("password", PASSWORD),
            ("confirm_password", PASSWORD),
        ],
    )
    .await;
    assert_eq!((s, to.as_str()), (303, "/login"));
    let (s, to, _) = submit(
        &guest,
        "/login",
        &[("email", "ina@example.com"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!((s, to.as_str()), (303, "/"));
    app.finish().await;
}

async fn signup_with_verification(backend: Backend) {
    let Some((app, sink)) = with_sink(backend, &[("REGISTRATIONS_ENABLED", "true")]).await else {
        return;
    };
    sign_in_admin(&app).await;
    let guest = app.other_client();
    let (s, to, _) = submit(
        &guest,
        "/signup?lang=de",
        &[
            ("name", "Greta"),
            ("email", "greta@example.com"),
            ("password", PASSWORD),
            ("confirm_password", PASSWORD),
        ],
    )
    .await;
    assert_eq!((s, to.as_str()), (303, "/login"));
    let first = sink
        .wait_for_to("greta@example.com", "Bestätigen Sie Ihr SlugBase-Konto")
        .await;
    // Not yet: the sign-in page sends the member to ask for a new link.
    let (s, to, _) = submit(
        &guest,
        "/login",
        &[("email", "greta@example.com"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(
        (s, to.as_str()),
        (303, "/verify-email-required?email=greta%40example.com")
    );
    let (s, _, html) = page(&guest, &to).await;
    assert_eq!(s, 200);
    assert!(html.contains("value=\"greta@example.com\""));
    let (s, _, html) = submit(
        &guest,
        "/verify-email-required",
        &[("email", "greta@example.com")],
    )
    .await;
    assert_eq!(s, 200);
    assert!(html.contains("id=\"recovery-notice\""));
    let second = sink
        .wait_for_new(1, "greta@example.com", "Bestätigen Sie Ihr SlugBase-Konto")
        .await;
    // The first link was replaced; the new one asks for a click and then verifies.
    let (_, _, html) = page(&guest, &format!("/verify-email?token={}", token(&first))).await;
    assert!(!html.contains("id=\"verify-form\""));
    let t = token(&second);
    let (s, _, html) = page(&guest, &format!("/verify-email?token={t}")).await;
    assert_eq!(s, 200);
    assert!(
        html.contains("id=\"verify-form\"") && html.contains("value=\"signup\""),
        "{html}"
    );
    let (s, to, _) = submit(&guest, "/verify-email", &[("token", &t), ("kind", "signup")]).await;
    assert_eq!((s, to.as_str()), (303, "/login"));
    let (s, to, _) = submit(
        &guest,
        "/login",
        &[("email", "greta@example.com"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!((s, to.as_str()), (303, "/"));
    let (s, _, _) = submit(&guest, "/verify-email", &[("token", &t), ("kind", "signup")]).await;
    assert_eq!(s, 400, "a used link");
    app.finish().await;
}

async fn change_address_on_the_profile_page(backend: Backend) {
    let Some((app, sink)) = with_sink(backend, &[]).await else {
        return;
    };
    sign_in_admin(&app).await;
    let user = sign_in_user(&app, "pia@example.com", "Pia").await;
    let (s, to, _) = submit(
        &user,
        "/profile",
        &[
            ("name", "Pia"),
            ("email", "pia.new@example.com"),
            ("language", "en"),
            ("theme", "auto"),
        ],
    )
    .await;
    assert_eq!((s, to.as_str()), (303, "/profile"));
    let (_, _, html) = page(&user, "/profile").await;
    assert!(html.contains("id=\"email-pending\""), "{html}");
    let m = sink
        .wait_for_to("pia.new@example.com", "Verify Your New Email Address - SlugBase")
        .await;
    let t = token(&m);
    let (s, _, html) = page(&user, &format!("/verify-email?token={t}")).await;
    assert_eq!(s, 200);
    assert!(html.contains("value=\"email\"") && html.contains("pia.new@example.com"));
    let (s, to, _) = submit(&user, "/verify-email", &[("token", &t), ("kind", "email")]).await;
    assert_eq!((s, to.as_str()), (303, "/profile"));
    let me: Value = user.get_json("/api/users/me").await.1;
    assert_eq!(me["email"], "pia.new@example.com");
    sink.wait_for_to("pia@example.com", "Your SlugBase email address was changed")
        .await;
    app.finish().await;
}

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

per_backend!(
    smtp_form_and_test_message,
    invite_from_the_members_page,
    signup_with_verification,
    change_address_on_the_profile_page,
);
