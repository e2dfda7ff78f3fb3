//! The admin pages over HTTP: forms post like a browser without JavaScript (session cookie, no
//! Origin header) and the answers are the pages' redirects and HTML.

use crate::common::{sign_in_admin, sign_in_user, TestApp, ADMIN_EMAIL, PASSWORD};
use serde_json::{json, Value};

/// Status, `Location` and body of a request.
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

fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// The `<tr>` of the members table for `email` (empty when there is none).
fn row<'a>(html: &'a str, email: &str) -> &'a str {
    let marker = format!("data-email=\"{email}\"");
    match html.find(&marker) {
        Some(i) => {
            let rest = &html[i..];
            &rest[..rest.find("</tr>").unwrap_or(rest.len())]
        }
        None => "",
    }
}

async fn user(app: &TestApp, email: &str) -> Value {
    let (s, users) = app.get_json("/api/admin/users").await;
    assert_eq!(s, 200, "{users}");
    users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == email)
        .cloned()
        .unwrap_or(Value::Null)
}

async fn user_id(app: &TestApp, email: &str) -> String {
    user(app, email).await["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no user {email}"))
        .to_string()
}

/// Signs `email` in with the password over the JSON API; the status of the attempt.
async fn login_status(app: &TestApp, email: &str, password: &str) -> u16 {
    let c = app.other_client();
    c.post("/api/auth/login")
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn admin_creates_a_user_through_the_form(app: TestApp) {
    sign_in_admin(&app).await;
    assert_eq!(page(&app, "/admin").await.1, "/admin/members");

    let (s, _, html) = page(&app, "/admin/members?create=true").await;
    assert_eq!(s, 200);
    assert!(html.contains("id=\"member-create-form\""), "{html}");
    assert!(html.contains("<dialog open class=\"modal\""));
    for name in [
        "name=\"name\"",
        "name=\"email\"",
        "name=\"password\"",
        "name=\"is_admin\"",
    ] {
        assert!(html.contains(name), "{name} in the create form");
    }
    assert!(html.contains("<nav class=\"tabs\""), "sub-navigation");

    // A bad e-mail: the modal stays open with the error next to the field, values kept.
    let (s, _, html) = submit(
        &app,
        "/admin/members",
        &[
            ("name", "Bob Builder"),
            ("email", "not-an-email"),
            ("password", "Bob-Passw0rd!23"),
        ],
    )
    .await;
    assert_eq!(s, 400);
    assert!(html.contains("id=\"member-create-form\""), "modal still open");
    assert!(html.contains("id=\"create-email-error\""), "email error: {html}");
    assert!(html.contains("aria-describedby=\"create-email-error\""));
    assert!(html.contains("value=\"Bob Builder\""), "name kept");
    assert!(
        !html.contains("Bob-Passw0rd!23"),
        "the password is never sent back"
    );

    // Missing fields are named one by one.
    let (s, _, html) = submit(&app, "/admin/members", &[("name", ""), ("email", "")]).await;
    assert_eq!(s, 400);
    assert!(html.contains("id=\"create-name-error\""));
    assert!(html.contains("id=\"create-password-error\""));
    assert!(user(&app, "").await.is_null());

    let (s, to, _) = submit(
        &app,
        "/admin/members",
        &[
            ("name", "Bob Builder"),
            ("email", "bob@example.com"),
            ("password", "Bob-Passw0rd!23"),
        ],
    )
    .await;
    assert_eq!((s, to.as_str()), (303, "/admin/members"));
    let (_, _, html) = page(&app, "/admin/members").await;
    let bob = row(&html, "bob@example.com");
    assert!(bob.contains("Bob Builder"), "{html}");
    assert!(bob.contains("class=\"toggle-disabled\""));
    assert!(html.contains("Bob Builder was created"), "flash");
    assert_eq!(user(&app, "bob@example.com").await["is_admin"], false);
    assert_eq!(
        login_status(&app, "bob@example.com", "Bob-Passw0rd!23").await,
        200
    );

    // The same address again: a field error, not a crash.
    let (s, _, html) = submit(
        &app,
        "/admin/members",
        &[
            ("name", "Bob Two"),
            ("email", "bob@example.com"),
            ("password", "Bob-Passw0rd!23"),
        ],
    )
    .await;
    assert_eq!(s, 400);
    assert!(html.contains("id=\"create-email-error\""));

    // An administrator.
    let (s, _, _) = submit(
        &app,
        "/admin/members",
        &[
            ("name", "Ada Admin"),
            ("email", "ada@example.com"),
            ("password", "Ada-Passw0rd!23"),
            ("is_admin", "true"),
        ],
    )
    .await;
    assert_eq!(s, 303);
    assert_eq!(user(&app, "ada@example.com").await["is_admin"], true);
    let (_, _, html) = page(&app, "/admin/members?q=ada").await;
    assert!(row(&html, "ada@example.com").contains("badge-accent"));
    assert!(
        row(&html, "bob@example.com").is_empty(),
        "search narrows the list"
    );

    // The audit log shows who created them.
    let (_, _, html) = page(&app, "/admin/audit-log?action=org_member.created").await;
    assert!(html.contains("ada@example.com"), "{html}");
    assert!(html.contains("data-action=\"org_member.created\""));
}

async fn edit_and_delete_a_user(app: TestApp) {
    sign_in_admin(&app).await;
    let carol = sign_in_user(&app, "carol@example.com", "Carol").await;
    let id = user_id(&app, "carol@example.com").await;

    let (s, _, html) = page(&app, &format!("/admin/members?edit={id}")).await;
    assert_eq!(s, 200);
    assert!(html.contains("id=\"member-edit-form\""));
    assert!(html.contains("value=\"carol@example.com\""));

    // A new name only: Carol stays signed in (an unchanged e-mail is not sent again).
    let (s, _, _) = submit(
        &app,
        &format!("/admin/members/{id}"),
        &[("name", "Carol Danvers"), ("email", "carol@example.com")],
    )
    .await;
    assert_eq!(s, 303);
    assert_eq!(user(&app, "carol@example.com").await["name"], "Carol Danvers");
    assert_eq!(carol.get("/").send().await.unwrap().status(), 200);

    // A weak new password is refused next to the field.
    let (s, _, html) = submit(
        &app,
        &format!("/admin/members/{id}"),
        &[
            ("name", "Carol Danvers"),
            ("email", "carol@example.com"),
            ("password", "short"),
        ],
    )
    .await;
    assert_eq!(s, 400);
    assert!(html.contains("id=\"member-edit-form\""));
    assert!(html.contains("id=\"edit-password-error\""));

    // A new password works and signs Carol out.
    let (s, _, _) = submit(
        &app,
        &format!("/admin/members/{id}"),
        &[
            ("name", "Carol Danvers"),
            ("email", "carol@example.com"),
            ("password", "New-Passw0rd!42"),
        ],
    )
    .await;
    assert_eq!(s, 303);
    assert_eq!(
        login_status(&app, "carol@example.com", "New-Passw0rd!42").await,
        200
    );
    assert_eq!(carol.get("/").send().await.unwrap().status(), 303);

    // The last admin cannot demote themselves: the API's refusal shows on the form.
    let me = user_id(&app, ADMIN_EMAIL).await;
    let (s, _, html) = submit(
        &app,
        &format!("/admin/members/{me}"),
        &[("name", "Admin"), ("email", ADMIN_EMAIL)],
    )
    .await;
    assert_eq!(s, 400);
    assert!(html.contains("last active administrator"), "{html}");
    assert_eq!(user(&app, ADMIN_EMAIL).await["is_admin"], true);

    // Not yourself: a flash.
    let (s, to, _) = submit(&app, &format!("/admin/members/{me}/delete"), &[]).await;
    assert_eq!((s, to.as_str()), (303, "/admin/members"));
    let (_, _, html) = page(&app, "/admin/members").await;
    assert!(html.contains("flash-error"), "{html}");
    assert!(!row(&html, ADMIN_EMAIL).is_empty());

    let (s, _, _) = submit(
        &app,
        &format!("/admin/members/{id}/delete"),
        &[("back", "/admin/members?q=carol")],
    )
    .await;
    assert_eq!(s, 303);
    let (_, _, html) = page(&app, "/admin/members").await;
    assert!(row(&html, "carol@example.com").is_empty());
    assert!(html.contains("flash-ok"));
}

async fn disabling_a_user_ends_their_session(app: TestApp) {
    sign_in_admin(&app).await;
    let dan = sign_in_user(&app, "dan@example.com", "Dan").await;
    assert_eq!(dan.get("/").send().await.unwrap().status(), 200);
    let id = user_id(&app, "dan@example.com").await;

    let (_, _, html) = page(&app, "/admin/members").await;
    let r = row(&html, "dan@example.com");
    assert!(
        r.contains(&format!("action=\"/admin/members/{id}/disabled\"")),
        "{r}"
    );

    let (s, to, _) = submit(
        &app,
        &format!("/admin/members/{id}/disabled"),
        &[("disabled", "true"), ("back", "/admin/members")],
    )
    .await;
    assert_eq!((s, to.as_str()), (303, "/admin/members"));
    let (s, to, _) = page(&dan, "/").await;
    assert_eq!((s, to.as_str()), (303, "/login"), "a disabled user is signed out");
    assert_eq!(login_status(&app, "dan@example.com", PASSWORD).await, 403);
    let (_, _, html) = page(&app, "/admin/members").await;
    assert!(row(&html, "dan@example.com").contains("badge-danger"));
    assert!(html.contains("Dan is disabled"), "flash: {html}");

    // Without a direction the button flips the state: enabled again, Dan can sign in.
    let (s, _, _) = submit(&app, &format!("/admin/members/{id}/disabled"), &[]).await;
    assert_eq!(s, 303);
    assert_eq!(user(&app, "dan@example.com").await["disabled"], false);
    assert_eq!(login_status(&app, "dan@example.com", PASSWORD).await, 200);

    // The API's self guard, as a flash.
    let me = user_id(&app, ADMIN_EMAIL).await;
    let (s, _, _) = submit(
        &app,
        &format!("/admin/members/{me}/disabled"),
        &[("disabled", "true")],
    )
    .await;
    assert_eq!(s, 303);
    let (_, _, html) = page(&app, "/admin/members").await;
    assert!(html.contains("You cannot disable your own account"), "{html}");
    assert_eq!(user(&app, ADMIN_EMAIL).await["disabled"], false);
}

async fn admin_resets_mfa(app: TestApp) {
    sign_in_admin(&app).await;
    let erin = sign_in_user(&app, "erin@example.com", "Erin").await;
    let id = user_id(&app, "erin@example.com").await;

    let (_, _, html) = page(&app, "/admin/members").await;
    assert!(
        !row(&html, "erin@example.com").contains("reset-mfa"),
        "only when MFA is on"
    );

    slugbase::with_db!(&app.state.db, pool => sqlx::query("UPDATE users SET mfa_enabled = TRUE WHERE id = $1")
        .bind(&id).execute(pool).await.unwrap().rows_affected());
    let (_, _, html) = page(&app, "/admin/members").await;
    let r = row(&html, "erin@example.com");
    assert!(
        r.contains(&format!("action=\"/admin/members/{id}/reset-mfa\"")),
        "{r}"
    );
    assert!(r.contains("data-confirm="));
    assert!(r.contains("badge-ok"));

    let (s, _, _) = submit(&app, &format!("/admin/members/{id}/reset-mfa"), &[]).await;
    assert_eq!(s, 303);
    assert_eq!(user(&app, "erin@example.com").await["mfa_enabled"], false);
    assert_eq!(erin.get("/").send().await.unwrap().status(), 303, "sessions end");
    let (_, _, html) = page(&app, "/admin/members").await;
    assert!(!row(&html, "erin@example.com").contains("reset-mfa"));
    let (_, _, html) = page(&app, "/admin/audit-log?action=user.mfa_reset").await;
    assert!(html.contains("data-action=\"user.mfa_reset\""));
}

async fn teams_create_and_members(app: TestApp) {
    sign_in_admin(&app).await;
    sign_in_user(&app, "fay@example.com", "Fay").await;
    let fay = user_id(&app, "fay@example.com").await;

    let (s, _, html) = page(&app, "/admin/teams?create=true").await;
    assert_eq!(s, 200);
    assert!(html.contains("id=\"team-form\""));

    let (s, _, html) = submit(&app, "/admin/teams", &[("name", " "), ("description", "x")]).await;
    assert_eq!(s, 400);
    assert!(html.contains("id=\"team-name-error\""), "{html}");

    let (s, to, _) = submit(
        &app,
        "/admin/teams",
        &[("name", "Design"), ("description", "Pixels and type")],
    )
    .await;
    assert_eq!(s, 303);
    let team = to
        .strip_prefix("/admin/teams/")
        .expect("to the new team")
        .to_string();
    let (s, _, html) = page(&app, &to).await;
    assert_eq!(s, 200);
    assert!(html.contains("Pixels and type"));
    assert!(
        html.contains(&format!("<option value=\"{fay}\"")),
        "Fay can be added"
    );

    // A second team of the same name: the field error, in the admin area's words.
    let (s, _, html) = submit(&app, "/admin/teams", &[("name", "Design")]).await;
    assert_eq!(s, 400);
    assert!(html.contains("A team with this name already exists"), "{html}");

    let (s, _, _) = submit(
        &app,
        &format!("/admin/teams/{team}/members"),
        &[("user_id", &fay)],
    )
    .await;
    assert_eq!(s, 303);
    let (_, detail) = app.get_json(&format!("/api/admin/teams/{team}")).await;
    assert_eq!(detail["members"][0]["email"], "fay@example.com");
    let (_, _, html) = page(&app, &format!("/admin/teams/{team}")).await;
    assert!(html.contains("data-email=\"fay@example.com\""));
    assert!(
        html.contains(&format!("/admin/teams/{team}/members/{fay}/remove")),
        "{html}"
    );
    // `?members=<id>` leads to the same page.
    assert_eq!(
        page(&app, &format!("/admin/teams?members={team}")).await.1,
        format!("/admin/teams/{team}")
    );

    let (_, _, html) = page(&app, "/admin/teams").await;
    assert!(html.contains("Design"));
    let (_, _, html) = page(&app, "/admin/members").await;
    assert!(row(&html, "fay@example.com").contains("Design"), "teams column");

    // The member's teams modal: unchecking removes, checking adds.
    let (_, _, html) = page(&app, &format!("/admin/members?teams={fay}")).await;
    assert!(html.contains("id=\"member-teams-form\""));
    assert!(html.contains(&format!("value=\"{team}\" checked")));
    let (s, _, _) = submit(&app, &format!("/admin/members/{fay}/teams"), &[]).await;
    assert_eq!(s, 303);
    assert_eq!(
        app.get_json(&format!("/api/admin/teams/{team}")).await.1["member_count"],
        0
    );
    let (s, _, _) = submit(
        &app,
        &format!("/admin/members/{fay}/teams"),
        &[("team_ids", &team)],
    )
    .await;
    assert_eq!(s, 303);
    assert_eq!(
        app.get_json(&format!("/api/admin/teams/{team}")).await.1["member_count"],
        1
    );

    let (s, _, _) = submit(&app, &format!("/admin/teams/{team}/members/{fay}/remove"), &[]).await;
    assert_eq!(s, 303);
    assert_eq!(
        app.get_json(&format!("/api/admin/teams/{team}")).await.1["member_count"],
        0
    );

    // Edit, then delete.
    let (_, _, html) = page(&app, &format!("/admin/teams?edit={team}")).await;
    assert!(html.contains(&format!("action=\"/admin/teams/{team}\"")));
    let (s, _, _) = submit(
        &app,
        &format!("/admin/teams/{team}"),
        &[("name", "Brand"), ("description", "")],
    )
    .await;
    assert_eq!(s, 303);
    let (_, detail) = app.get_json(&format!("/api/admin/teams/{team}")).await;
    assert_eq!(detail["name"], "Brand");
    assert_eq!(detail["description"], Value::Null);
    let (s, to, _) = submit(&app, &format!("/admin/teams/{team}/delete"), &[]).await;
    assert_eq!((s, to.as_str()), (303, "/admin/teams"));
    assert_eq!(page(&app, &format!("/admin/teams/{team}")).await.0, 404);
    let (_, _, html) = page(&app, "/admin/audit-log?entity_type=team").await;
    assert!(
        html.contains("team.deleted") && html.contains("team.created"),
        "{html}"
    );
}

async fn settings_toggle_persists(app: TestApp) {
    sign_in_admin(&app).await;
    let (s, _, html) = page(&app, "/admin/settings").await;
    assert_eq!(s, 200);
    assert!(html.contains("id=\"settings-form\""));
    assert!(!html.contains(
        "name=\"registrations_enabled\" value=\"true\" aria-describedby=\"registrations-hint\" checked"
    ));
    assert!(html.contains("href=\"/api-docs\""));
    assert!(html.contains(if app.backend == crate::common::Backend::Sqlite {
        "SQLite"
    } else {
        "PostgreSQL"
    }));

    let (s, to, _) = submit(&app, "/admin/settings", &[("registrations_enabled", "true")]).await;
    assert_eq!((s, to.as_str()), (303, "/admin/settings"));
    let (_, _, html) = page(&app, "/admin/settings").await;
    assert!(
        html.contains("aria-describedby=\"registrations-hint\" checked"),
        "{html}"
    );
    assert_eq!(
        app.get_json("/api/admin/settings").await.1["registrations_enabled"],
        "true"
    );
    let guest = app.other_client();
    assert!(page(&guest, "/signup").await.2.contains("id=\"signup-form\""));

    let (s, _, _) = submit(&app, "/admin/settings", &[]).await;
    assert_eq!(s, 303);
    assert_eq!(
        app.get_json("/api/admin/settings").await.1["registrations_enabled"],
        "false"
    );
    assert!(!page(&guest, "/signup").await.2.contains("id=\"signup-form\""));
}

/// The `datetime` of each row's `<time>`, in page order.
fn times(html: &str) -> Vec<String> {
    html.split("<time datetime=\"")
        .skip(1)
        .map(|p| p[..p.find('"').unwrap()].to_string())
        .collect()
}

fn assert_newest_first(html: &str) {
    let t = times(html);
    let mut sorted = t.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(t, sorted, "newest first");
}

/// The entity ids `tN` of the test events on a page.
fn entity_ids(html: &str) -> Vec<String> {
    html.split("<span class=\"muted\">t")
        .skip(1)
        .map(|p| format!("t{}", &p[..p.find('<').unwrap()]))
        .collect()
}

async fn audit_log_pages_back(app: TestApp) {
    sign_in_admin(&app).await;
    let origin = slugbase::audit::Origin {
        ip: "203.0.113.7".into(),
        user_agent: None,
    };
    for i in 0..60 {
        slugbase::audit::log(
            &app.state.db,
            &origin,
            None,
            "test.paged",
            "thing",
            Some(&format!("t{i}")),
            json!({"n": i}),
        )
        .await;
    }
    let (s, _, html) = page(&app, "/admin/audit-log").await;
    assert_eq!(s, 200);
    assert!(
        html.contains("data-action=\"auth.setup_completed\"") || html.contains("data-action=\"test.paged\"")
    );

    let (s, _, first) = page(&app, "/admin/audit-log?action=test.paged").await;
    assert_eq!(s, 200);
    assert_eq!(first.matches("data-action=\"test.paged\"").count(), 50);
    assert!(first.contains("203.0.113.7"));
    assert!(
        first.contains("{&#34;n&#34;:59}") || first.contains("{\"n\":59}"),
        "metadata {first}"
    );
    assert_newest_first(&first);
    let i = first.find("rel=\"next\"").expect("an Older link");
    let start = first[..i].rfind("href=\"").unwrap() + 6;
    let end = start + first[start..].find('"').unwrap();
    let older = unescape(&first[start..end]);
    assert!(
        older.contains("before_id=") && older.contains("action=test.paged"),
        "{older}"
    );

    let (s, _, second) = page(&app, &older).await;
    assert_eq!(s, 200);
    assert_eq!(
        second.matches("data-action=\"test.paged\"").count(),
        10,
        "{older}"
    );
    assert!(!second.contains("rel=\"next\""), "the last page");
    assert_newest_first(&second);
    let mut seen: Vec<String> = entity_ids(&first);
    seen.extend(entity_ids(&second));
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 60, "both pages together hold every event once");

    // Filters: entity type, actor, dates.
    let (_, _, html) = page(&app, "/admin/audit-log?entity_type=thing&action=").await;
    assert_eq!(html.matches("data-action=\"test.paged\"").count(), 50);
    let me = user_id(&app, ADMIN_EMAIL).await;
    let (_, _, html) = page(&app, &format!("/admin/audit-log?actor={me}")).await;
    assert!(
        !html.contains("data-action=\"test.paged\""),
        "these events have no actor"
    );
    let (_, _, html) = page(
        &app,
        "/admin/audit-log?action=test.paged&from=2000-01-01&to=2000-01-02",
    )
    .await;
    assert!(!html.contains("data-action=\"test.paged\""));
    let (s, _, html) = page(&app, "/admin/audit-log?from=yesterday").await;
    assert_eq!(s, 400);
    assert!(html.contains("audit-from-error"), "{html}");
}

async fn non_admins_are_refused(app: TestApp) {
    sign_in_admin(&app).await;
    let (_, team) = app
        .post_json("/api/admin/teams", json!({"name": "Ops"}))
        .await
        .json::<Value>()
        .await
        .map(|v| (0, v))
        .unwrap();
    let team = team["id"].as_str().unwrap().to_string();
    let gus = sign_in_user(&app, "gus@example.com", "Gus").await;
    let gus_id = user_id(&app, "gus@example.com").await;
    for path in [
        "/admin".to_string(),
        "/admin/members".to_string(),
        "/admin/members?create=true".to_string(),
        format!("/admin/members?edit={gus_id}"),
        "/admin/teams".to_string(),
        format!("/admin/teams/{team}"),
        "/admin/settings".to_string(),
        "/admin/audit-log".to_string(),
    ] {
        let (s, _, html) = page(&gus, &path).await;
        assert_eq!(s, 403, "GET {path}");
        assert!(html.contains("<html"), "the 403 page for {path}");
    }
    for path in [
        "/admin/members".to_string(),
        format!("/admin/members/{gus_id}"),
        format!("/admin/members/{gus_id}/disabled"),
        format!("/admin/members/{gus_id}/delete"),
        "/admin/teams".to_string(),
        format!("/admin/teams/{team}/members"),
        "/admin/settings".to_string(),
    ] {
        let (s, _, _) = submit(
            &gus,
            &path,
            &[("name", "x"), ("user_id", &gus_id), ("is_admin", "true")],
        )
        .await;
        assert_eq!(s, 403, "POST {path}");
    }
    assert_eq!(user(&app, "gus@example.com").await["is_admin"], false);
    assert_eq!(
        app.get_json(&format!("/api/admin/teams/{team}")).await.1["member_count"],
        0
    );

    let guest = app.other_client();
    let (s, to, _) = page(&guest, "/admin/members").await;
    assert_eq!(s, 303);
    assert!(to.starts_with("/login?redirect="), "{to}");
}

on_both_backends!(
    admin_creates_a_user_through_the_form,
    edit_and_delete_a_user,
    disabling_a_user_ends_their_session,
    admin_resets_mfa,
    teams_create_and_members,
    settings_toggle_persists,
    audit_log_pages_back,
    non_admins_are_refused,
);
