//! Sign-in with OpenID Connect against a real OpenID Provider process (`oidc-provider`, see
//! `common::idp`), each test once on SQLite and once on PostgreSQL: the login walk by HTTP (the
//! provider's login form posted like a browser would), accounts (first user, reuse, linking by
//! verified e-mail), tampering, MFA after the provider, group → team mapping, and the provider
//! administration. Every test also checks that the secrets it saw never reached a log line.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use reqwest::Response;
use serde_json::{json, Value};
use slugbase::with_db;

use crate::common::idp::{free_port, Idp, IdpOptions};
use crate::common::{body, expect_error, sign_in_admin, sign_in_user, Backend, TestApp};

// ---- log capture ------------------------------------------------------------------------------

#[derive(Clone)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything logged in this test binary (JSON lines, debug level for SlugBase and its HTTP
/// client), from the first OIDC test on.
fn logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        use tracing_subscriber::prelude::*;
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = Sink(buf.clone());
        let targets: tracing_subscriber::filter::Targets =
            "info,slugbase=debug,reqwest=debug".parse().unwrap();
        let layer = tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_writer(move || sink.clone());
        let _ =
            tracing::subscriber::set_global_default(tracing_subscriber::registry().with(targets).with(layer));
        buf
    })
    .clone()
}

fn assert_not_logged(secrets: &[&str]) {
    let text = String::from_utf8_lossy(&logs().lock().unwrap()).into_owned();
    assert!(!text.is_empty(), "logs are captured");
    for s in secrets.iter().filter(|s| s.len() >= 8) {
        assert!(!text.contains(*s), "a secret reached the log: {s}");
    }
}

// ---- the harness ------------------------------------------------------------------------------

/// Runs each `async fn(TestApp)` on SQLite and on PostgreSQL, with a server that knows its own
/// URL (the provider redirects back to it) and may reach identity providers on 127.0.0.1.
macro_rules! oidc_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::run(crate::common::Backend::Sqlite, |app| super::$name(app)).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::run(crate::common::Backend::Postgres, |app| super::$name(app)).await;
                }
            }
        )*
    };
}

async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    logs();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let port_s = port.to_string();
    let extra = [
        ("PORT", port_s.as_str()),
        ("BASE_URL", base.as_str()),
        ("OIDC_ALLOW_HOSTS", "127.0.0.1"),
    ];
    let Some(app) = TestApp::spawn_with(backend, &extra).await else {
        return;
    };
    assert_eq!(app.base, base);
    test(app.clone()).await;
    app.finish().await;
}

async fn idp(accounts: Value, id_token_claims: &'static str) -> Option<Idp> {
    tokio::task::spawn_blocking(move || {
        Idp::spawn(IdpOptions {
            accounts,
            id_token_claims,
            ..IdpOptions::default()
        })
    })
    .await
    .unwrap()
}

/// Stops the provider off the runtime's workers.
async fn stop(idp: Idp) {
    tokio::task::spawn_blocking(move || drop(idp)).await.unwrap();
}

fn location(res: &Response) -> String {
    res.headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default()
}

fn set_cookies(res: &Response) -> Vec<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

/// The value a `Set-Cookie` of `res` gives `name` (None: not set or removed).
fn cookie_value(res: &Response, name: &str) -> Option<String> {
    set_cookies(res).into_iter().find_map(|c| {
        let (k, rest) = c.split_once('=')?;
        let v = rest.split(';').next()?.to_string();
        (k == name && !v.is_empty()).then_some(v)
    })
}

/// Creates provider `testidp` for `idp` (as the admin signed in on `admin`) and returns it.
async fn add_provider(admin: &TestApp, idp: &Idp, extra: Value) -> Value {
    let mut input = json!({
        "provider_key": "testidp",
        "client_id": idp.client_id,
        "client_secret": idp.client_secret,
        "issuer_url": idp.issuer,
    });
    for (k, v) in extra.as_object().unwrap() {
        input[k] = v.clone();
    }
    let (s, v) = body(admin.post_json("/api/oidc-providers", input).await).await;
    assert_eq!(s, 201, "{v}");
    v
}

/// One sign-in in progress: the steps of the walk, so a test can tamper between them.
struct Walk<'a> {
    c: &'a TestApp,
    idp: &'a Idp,
}

impl<'a> Walk<'a> {
    fn new(c: &'a TestApp, idp: &'a Idp) -> Walk<'a> {
        Walk { c, idp }
    }

    /// `GET /api/auth/testidp`: the provider's authorization URL and the state cookie.
    async fn start(&self) -> (String, String) {
        let res = self.c.get("/api/auth/testidp").send().await.unwrap();
        assert_eq!(res.status(), 302, "start");
        let state = cookie_value(&res, "slugbase.oidc_state").expect("login-state cookie");
        let set = set_cookies(&res).join("\n");
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax"), "{set}");
        (location(&res), state)
    }

    fn idp_url(&self, loc: &str) -> String {
        url::Url::parse(&self.idp.issuer)
            .unwrap()
            .join(loc)
            .unwrap()
            .to_string()
    }

    /// At the provider: the authorization request, the login form as `login`, the resume.
    /// Returns the redirect back to SlugBase's callback.
    async fn at_provider(&self, authorize: &str, login: &str) -> String {
        let http = &self.c.client;
        let res = http.get(authorize).send().await.unwrap();
        assert_eq!(
            res.status(),
            303,
            "authorize: {}",
            res.text().await.unwrap_or_default()
        );
        let interaction = self.idp_url(&location(&res));
        let res = http
            .post(format!("{interaction}/login"))
            .form(&[("username", login), ("password", "")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "login form as {login}");
        let resume = self.idp_url(&location(&res));
        let res = http.get(&resume).send().await.unwrap();
        assert_eq!(res.status(), 303, "resume");
        location(&res)
    }

    /// The callback at SlugBase.
    async fn callback(&self, url: &str) -> Response {
        assert!(url.starts_with(&self.c.base), "back to SlugBase: {url}");
        let res = self.c.client.get(url).send().await.unwrap();
        assert_eq!(res.status(), 302, "the callback always redirects");
        let removed = set_cookies(&res)
            .into_iter()
            .any(|c| c.starts_with("slugbase.oidc_state=;") && c.contains("Max-Age=0"));
        assert!(removed, "the login-state cookie is removed");
        res
    }

    /// The whole walk as `login`; returns SlugBase's answer to the callback and the code.
    async fn sign_in(&self, login: &str) -> (Response, String) {
        let (authorize, _) = self.start().await;
        let back = self.at_provider(&authorize, login).await;
        let code = url::Url::parse(&back)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        (self.callback(&back).await, code)
    }
}

/// Signs in as `login` with a fresh client; returns it and where the callback sent it.
async fn sign_in(app: &TestApp, idp: &Idp, login: &str) -> (TestApp, String) {
    let c = app.other_client();
    let (res, code) = Walk::new(&c, idp).sign_in(login).await;
    let to = location(&res);
    assert_not_logged(&[&code, &idp.client_secret]);
    (c, to)
}

async fn me(c: &TestApp) -> (u16, Value) {
    c.get_json("/api/auth/me").await
}

async fn count_users(app: &TestApp) -> i64 {
    with_db!(&app.state.db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(pool).await.unwrap())
}

async fn audit_actions(app: &TestApp) -> Vec<String> {
    with_db!(&app.state.db, pool => sqlx::query_scalar("SELECT action FROM audit_events ORDER BY created_at")
        .fetch_all(pool).await.unwrap())
}

// ---- the tests --------------------------------------------------------------------------------

/// On an empty instance the first account made through a provider is an admin (as the
/// original); signing in again reuses it; the session is an ordinary one (logout ends it).
async fn first_login_creates_the_admin_and_the_second_reuses_it(app: TestApp) {
    let accounts = json!({
        "first": {"email": "First@Example.com", "email_verified": true, "name": "First User"},
        "second": {"email": "second@example.com", "email_verified": false, "name": "Second User"},
    });
    let Some(idp) = idp(accounts, "full").await else {
        return;
    };
    // No admin exists to use the API: the provider is added through the use case.
    slugbase::oidc::providers::create(
        &app.state.db,
        &app.state.config,
        &app.state.cipher,
        &app.state.oidc,
        &Default::default(),
        "test",
        serde_json::from_value(json!({
            "provider_key": "testidp", "client_id": idp.client_id,
            "client_secret": idp.client_secret, "issuer_url": idp.issuer,
        }))
        .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(count_users(&app).await, 0);

    let (first, to) = sign_in(&app, &idp, "first").await;
    assert_eq!(to, format!("{}/", app.base), "into the app");
    let (s, v) = me(&first).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["email"], "first@example.com", "stored lower-case");
    assert_eq!(v["name"], "First User");
    assert_eq!(
        v["is_admin"], true,
        "the first user of an empty instance is admin"
    );
    assert_eq!(
        (v["oidc_provider"].as_str(), v["oidc_sub"].as_str()),
        (Some("testidp"), Some("first"))
    );
    assert_eq!(v["has_password"], false);
    let id = v["id"].clone();

    let (again, to) = sign_in(&app, &idp, "first").await;
    assert_eq!(to, format!("{}/", app.base));
    assert_eq!(me(&again).await.1["id"], id, "the same account");
    assert_eq!(count_users(&app).await, 1);

    // A second person gets an ordinary account (unverified e-mail is fine for a new account).
    let (second, _) = sign_in(&app, &idp, "second").await;
    let (_, v) = me(&second).await;
    assert_eq!(
        (v["is_admin"].as_bool(), v["email"].as_str()),
        (Some(false), Some("second@example.com"))
    );

    // An ordinary server-side session: logout ends it.
    assert_eq!(again.post("/api/auth/logout").send().await.unwrap().status(), 200);
    assert_eq!(me(&again).await.0, 401);
    assert_eq!(me(&first).await.0, 200, "other sessions stay");
    let actions = audit_actions(&app).await;
    assert!(
        actions.iter().filter(|a| *a == "oidc.account_created").count() == 2,
        "{actions:?}"
    );
    assert!(actions.iter().any(|a| a == "auth.login_succeeded"));
    stop(idp).await;
}

/// An existing account is linked by e-mail (case-insensitively) only when the provider says the
/// address is verified, and never when it is linked to another subject.
async fn links_by_verified_email_only(app: TestApp) {
    let accounts = json!({
        "bobfake": {"sub": "idp-bobfake", "email": "bob@example.com", "email_verified": false},
        "bob": {"sub": "idp-bob", "email": "BOB@Example.com", "email_verified": true, "name": "Bob at IdP"},
        "bobtwin": {"sub": "idp-bobtwin", "email": "bob@example.com", "email_verified": true},
    });
    let Some(idp) = idp(accounts, "full").await else {
        return;
    };
    sign_in_admin(&app).await;
    add_provider(&app, &idp, json!({})).await;
    let bob = sign_in_user(&app, "bob@example.com", "Bob").await;
    let bob_id = me(&bob).await.1["id"].clone();

    let (c, to) = sign_in(&app, &idp, "bobfake").await;
    assert_eq!(to, format!("{}/login?error=email_not_verified", app.base));
    assert_eq!(me(&c).await.0, 401, "no session");
    assert_eq!(me(&bob).await.1["oidc_sub"], Value::Null, "not linked");

    let (c, to) = sign_in(&app, &idp, "bob").await;
    assert_eq!(to, format!("{}/", app.base));
    let (_, v) = me(&c).await;
    assert_eq!(v["id"], bob_id, "linked to the existing account");
    assert_eq!(
        (v["oidc_provider"].as_str(), v["oidc_sub"].as_str()),
        (Some("testidp"), Some("idp-bob"))
    );
    assert_eq!(v["name"], "Bob", "the account keeps its name");
    assert_eq!(count_users(&app).await, 2);

    let (_, to) = sign_in(&app, &idp, "bobtwin").await;
    assert_eq!(to, format!("{}/login?error=account_linked_elsewhere", app.base));
    // Still the password works, and the linked subject signs in again.
    let (_, to) = sign_in(&app, &idp, "bob").await;
    assert_eq!(to, format!("{}/", app.base));
    assert!(audit_actions(&app)
        .await
        .iter()
        .any(|a| a == "oidc.account_linked"));
    stop(idp).await;
}

/// A wrong `state`, a `nonce` the ID token does not carry, a missing login-state cookie or the
/// provider's refusal all end at `/login?error=auth_failed`; unknown providers are 404.
async fn tampering_fails_the_sign_in(app: TestApp) {
    let accounts = json!({"alice": {"email": "alice@example.com", "email_verified": true}});
    let Some(idp) = idp(accounts, "full").await else {
        return;
    };
    sign_in_admin(&app).await;
    add_provider(&app, &idp, json!({})).await;
    let failed = format!("{}/login?error=auth_failed", app.base);

    // state changed on the way back
    let c = app.other_client();
    let w = Walk::new(&c, &idp);
    let (authorize, state_cookie) = w.start().await;
    let back = w.at_provider(&authorize, "alice").await;
    let mut u = url::Url::parse(&back).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" {
                format!("{v}x")
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    assert_eq!(location(&w.callback(u.as_str()).await), failed, "state tampered");
    assert_eq!(me(&c).await.0, 401);
    // The genuine callback after that fails too: the login state is gone.
    assert_eq!(location(&w.callback(&back).await), failed, "state cookie removed");

    // nonce changed on the way out: the ID token carries the changed one
    let c = app.other_client();
    let w = Walk::new(&c, &idp);
    let (authorize, _) = w.start().await;
    let mut u = url::Url::parse(&authorize).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "nonce" {
                format!("{v}x")
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    let back = w.at_provider(u.as_str(), "alice").await;
    assert_eq!(location(&w.callback(&back).await), failed, "nonce tampered");
    assert_eq!(me(&c).await.0, 401);

    // the callback in another browser (no login-state cookie)
    let c = app.other_client();
    let w = Walk::new(&c, &idp);
    let (authorize, _) = w.start().await;
    let back = w.at_provider(&authorize, "alice").await;
    let stranger = app.other_client();
    let res = stranger.client.get(&back).send().await.unwrap();
    assert_eq!((res.status().as_u16(), location(&res)), (302, failed.clone()));

    // the provider's refusal (the user cancelled)
    let res = c
        .get("/api/auth/testidp/callback?error=access_denied&state=x")
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), failed);

    // unknown providers
    expect_error(
        app.get("/api/auth/nosuch").send().await.unwrap(),
        404,
        "NOT_FOUND",
    )
    .await;
    let res = app
        .get("/api/auth/nosuch/callback?code=x&state=y")
        .send()
        .await
        .unwrap();
    assert_eq!(
        body(res).await,
        (404, json!({"error": "Not found", "code": "NOT_FOUND"}))
    );

    // A genuine sign-in still works, and the start is PKCE (S256) with a nonce.
    let q: std::collections::HashMap<String, String> = url::Url::parse(&authorize)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(!q["nonce"].is_empty() && !q["state"].is_empty());
    assert_eq!(q["scope"], "openid profile email", "openid once");
    assert_eq!(
        q["redirect_uri"],
        format!("{}/api/auth/testidp/callback", app.base)
    );
    let (_, to) = sign_in(&app, &idp, "alice").await;
    assert_eq!(to, format!("{}/", app.base));
    assert_not_logged(&[&state_cookie]);
    let failures = audit_actions(&app)
        .await
        .into_iter()
        .filter(|a| a == "auth.login_failed")
        .count();
    assert!(failures >= 4, "failures are audited");
    stop(idp).await;
}

/// A provider that may not create accounts sends new people back with `auto_create_disabled`.
async fn auto_create_off_refuses_new_accounts(app: TestApp) {
    let accounts = json!({
        "newbie": {"email": "newbie@example.com", "email_verified": true},
        "known": {"email": "known@example.com", "email_verified": true},
    });
    let Some(idp) = idp(accounts, "full").await else {
        return;
    };
    sign_in_admin(&app).await;
    let p = add_provider(&app, &idp, json!({"auto_create_users": false})).await;
    assert_eq!(p["auto_create_users"], false);
    sign_in_user(&app, "known@example.com", "Known").await;
    let before = count_users(&app).await;
    let (c, to) = sign_in(&app, &idp, "newbie").await;
    assert_eq!(to, format!("{}/login?error=auto_create_disabled", app.base));
    assert_eq!(me(&c).await.0, 401);
    assert_eq!(count_users(&app).await, before, "no account made");
    let (_, to) = sign_in(&app, &idp, "known").await;
    assert_eq!(to, format!("{}/", app.base), "existing accounts still sign in");
    stop(idp).await;
}

/// A user with MFA gives a code after the provider (unless the admin turns that off).
async fn mfa_step_up_after_the_provider(app: TestApp) {
    let accounts = json!({"carol": {"sub": "carol", "email": "carol@example.com", "email_verified": true}});
    let Some(idp) = idp(accounts, "full").await else {
        return;
    };
    sign_in_admin(&app).await;
    add_provider(&app, &idp, json!({})).await;
    let carol = sign_in_user(&app, "carol@example.com", "Carol").await;
    let (s, v) = body(carol.post_json("/api/auth/mfa/enroll/begin", json!({})).await).await;
    assert_eq!(s, 200, "{v}");
    let secret = v["secret"].as_str().unwrap().to_string();
    let code = slugbase::mfa::code_at(&secret, chrono::Utc::now().timestamp() as u64).unwrap();
    let (s, v) = body(
        carol
            .post_json("/api/auth/mfa/enroll/confirm", json!({"code": code}))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let backup: Vec<String> = v["backup_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();

    let c = app.other_client();
    let (res, _) = Walk::new(&c, &idp).sign_in("carol").await;
    assert_eq!(location(&res), format!("{}/mfa?redirect=%2F", app.base));
    assert!(
        cookie_value(&res, "slugbase.mfa_pending").is_some(),
        "pending cookie"
    );
    assert!(cookie_value(&res, "token").is_none(), "no session yet");
    assert_eq!(me(&c).await.0, 401, "not signed in before the code");
    expect_error(
        c.post("/api/auth/mfa/verify")
            .json(&json!({"code": "000000"}))
            .send()
            .await
            .unwrap(),
        401,
        "INVALID_CODE",
    )
    .await;
    let (s, v) = body(
        c.post("/api/auth/mfa/verify")
            .json(&json!({"code": backup[0]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, v["email"].as_str()), (200, Some("carol@example.com")), "{v}");
    let (s, v) = me(&c).await;
    assert_eq!((s, v["oidc_sub"].as_str()), (200, Some("carol")));

    // The admin turns the step off: the provider's sign-in is enough.
    let (s, v) = body(
        app.post_json(
            "/api/admin/settings",
            json!({"key": "oidc_require_mfa", "value": false}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        app.get_json("/api/admin/settings").await.1["oidc_require_mfa"],
        "false"
    );
    let (c, to) = sign_in(&app, &idp, "carol").await;
    assert_eq!(to, format!("{}/", app.base));
    assert_eq!(me(&c).await.0, 200);
    stop(idp).await;
}

async fn team_members(app: &TestApp, team_id: &str) -> Vec<String> {
    let (_, t) = app.get_json(&format!("/api/admin/teams/{team_id}")).await;
    let mut names: Vec<String> = t["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

/// The provider's groups decide the mapped teams at each sign-in; other teams stay as they are.
async fn groups_map_to_teams_at_each_login(app: TestApp) {
    // Two login names with one subject: the claims are those of the name used last.
    let accounts = json!({
        "dave": {"sub": "dave-1", "email": "dave@example.com", "email_verified": true, "groups": ["eng"]},
        "dave2": {"sub": "dave-1", "email": "dave@example.com", "email_verified": true, "groups": ["ops", "other"]},
    });
    let Some(idp) = idp(accounts, "minimal").await else {
        return;
    };
    sign_in_admin(&app).await;
    let mut teams = Vec::new();
    for name in ["Engineering", "Operations", "Unmapped"] {
        let (s, t) = body(app.post_json("/api/admin/teams", json!({"name": name})).await).await;
        assert_eq!(s, 201, "{t}");
        teams.push(t["id"].as_str().unwrap().to_string());
    }
    let p = add_provider(
        &app,
        &idp,
        json!({
            "scopes": "openid profile email groups",
            "groups_claim": "groups",
            "group_mappings": [
                {"group": "eng", "team_id": teams[0]},
                {"group": "ops", "team_id": teams[1]},
            ],
        }),
    )
    .await;
    assert_eq!(p["groups_claim"], "groups");
    assert_eq!(p["group_mappings"].as_array().unwrap().len(), 2);
    assert_eq!(p["group_mappings"][0]["team_name"], "Engineering");

    let (c, _) = sign_in(&app, &idp, "dave").await;
    let dave_id = me(&c).await.1["id"].as_str().unwrap().to_string();
    assert_eq!(team_members(&app, &teams[0]).await, vec!["dave@example.com"]);
    assert!(team_members(&app, &teams[1]).await.is_empty());
    let (s, _) = body(
        app.post_json(
            &format!("/api/admin/teams/{}/members", teams[2]),
            json!({"user_id": dave_id}),
        )
        .await,
    )
    .await;
    assert!(s == 200 || s == 201, "added to the unmapped team by hand");

    let (_, to) = sign_in(&app, &idp, "dave2").await;
    assert_eq!(to, format!("{}/", app.base));
    assert!(team_members(&app, &teams[0]).await.is_empty(), "left Engineering");
    assert_eq!(
        team_members(&app, &teams[1]).await,
        vec!["dave@example.com"],
        "joined Operations"
    );
    assert_eq!(
        team_members(&app, &teams[2]).await,
        vec!["dave@example.com"],
        "a team without a mapping is not touched"
    );
    let actions = audit_actions(&app).await;
    assert!(actions.iter().any(|a| a == "team_member.removed"), "{actions:?}");
    stop(idp).await;
}

/// Endpoint overrides win over discovery; userinfo supplies the claims when the ID token has
/// none (`ID_TOKEN_CLAIMS=minimal`).
async fn overrides_win_over_discovery(app: TestApp) {
    let accounts = json!({"erin": {"email": "erin@example.com", "email_verified": true, "name": "Erin"}});
    let Some(idp) = idp(accounts, "minimal").await else {
        return;
    };
    sign_in_admin(&app).await;
    let custom = format!("{}/custom-authorize", idp.issuer);
    let p = add_provider(
        &app,
        &idp,
        json!({"authorization_url": custom, "token_url": format!("{}/nope", idp.issuer)}),
    )
    .await;
    let id = p["id"].as_str().unwrap().to_string();
    let res = app.other_client().get("/api/auth/testidp").send().await.unwrap();
    assert!(
        location(&res).starts_with(&format!("{custom}?")),
        "{}",
        location(&res)
    );

    // Back to the discovered authorization endpoint, but a wrong token endpoint: fails.
    let (s, v) = body(
        app.put_json(
            &format!("/api/oidc-providers/{id}"),
            json!({"authorization_url": ""}),
        )
        .await,
    )
    .await;
    assert_eq!((s, &v["authorization_url"]), (200, &Value::Null), "{v}");
    let (_, to) = sign_in(&app, &idp, "erin").await;
    assert_eq!(
        to,
        format!("{}/login?error=auth_failed", app.base),
        "the override is used"
    );

    // Without overrides: discovery.
    let (s, _) = body(
        app.put_json(&format!("/api/oidc-providers/{id}"), json!({"token_url": null}))
            .await,
    )
    .await;
    assert_eq!(s, 200);
    let (c, to) = sign_in(&app, &idp, "erin").await;
    assert_eq!(to, format!("{}/", app.base));
    let (_, v) = me(&c).await;
    assert_eq!(
        (v["email"].as_str(), v["name"].as_str()),
        (Some("erin@example.com"), Some("Erin")),
        "from userinfo"
    );
    stop(idp).await;
}

/// Provider administration: the original's validation messages in the envelope (nothing
/// changes), the projection without client id and secret, the secret encrypted, audit entries.
async fn provider_administration(app: TestApp) {
    sign_in_admin(&app).await;
    let secret = "very-secret-client-secret-123";
    let valid = json!({
        "provider_key": "corp", "client_id": "corp-client-id-42", "client_secret": secret,
        "issuer_url": "https://93.184.215.14/realms/corp",
    });
    let with = |k: &str, v: Value| {
        let mut b = valid.clone();
        b[k] = v;
        b
    };
    let cases = [
        (with("client_secret", json!("")), "Missing required fields"),
        (
            with("provider_key", json!("a b")),
            "Provider key can only contain letters, numbers, hyphens, and underscores",
        ),
        (
            with("provider_key", json!("k".repeat(51))),
            "Provider key must be no more than 50 characters",
        ),
        (
            with("provider_key", json!("providers")),
            "Provider key is reserved by SlugBase",
        ),
        (
            with("issuer_url", json!("not a url")),
            "issuer_url: Invalid URL format",
        ),
        (
            with("issuer_url", json!("https://10.0.0.5/realms/x")),
            "issuer_url: OIDC URL cannot point to private or internal addresses",
        ),
        (
            with("issuer_url", json!("http://localhost:8080")),
            "issuer_url: OIDC URL cannot point to private or internal addresses",
        ),
        (
            with("token_url", json!("http://169.254.169.254/latest")),
            "token_url: OIDC URL cannot point to private or internal addresses",
        ),
        (
            with("default_role", json!("root")),
            "default_role must be \"user\" or \"admin\"",
        ),
    ];
    let audit_before = audit_actions(&app).await.len();
    for (input, message) in cases {
        let res = app.post_json("/api/oidc-providers", input).await;
        let v = expect_error(res, 400, "VALIDATION_ERROR").await;
        assert_eq!(v["error"], message);
    }
    assert_eq!(
        app.get_json("/api/oidc-providers").await.1,
        json!([]),
        "nothing created"
    );
    assert_eq!(audit_actions(&app).await.len(), audit_before, "nothing audited");

    let res = app.post_json("/api/oidc-providers", valid.clone()).await;
    let text = res.text().await.unwrap();
    assert!(
        !text.contains(secret) && !text.contains("corp-client-id-42"),
        "{text}"
    );
    let p: Value = serde_json::from_str(&text).unwrap();
    let id = p["id"].as_str().unwrap().to_string();
    assert_eq!(p["provider_key"], "corp");
    assert_eq!(p["scopes"], "openid profile email");
    assert_eq!(
        (p["auto_create_users"].as_bool(), p["default_role"].as_str()),
        (Some(true), Some("user"))
    );
    assert_eq!(p["callback_url"], format!("{}/api/auth/corp/callback", app.base));
    assert!(p.get("client_id").is_none() && p.get("client_secret").is_none());
    let stored: String = with_db!(&app.state.db, pool => sqlx::query_scalar(
        "SELECT client_secret FROM oidc_providers WHERE id = $1").bind(&id).fetch_one(pool).await.unwrap());
    assert!(stored.starts_with("v2:") && !stored.contains(secret));
    assert_eq!(app.state.cipher.decrypt(&stored).unwrap(), secret);
    let v = expect_error(
        app.post_json("/api/oidc-providers", valid.clone()).await,
        400,
        "DUPLICATE_KEY",
    )
    .await;
    assert_eq!(v["error"], "Provider with this key already exists");

    // Listed for the sign-in page and for admins.
    assert_eq!(
        app.get_json("/api/auth/providers").await.1[0]["provider_key"],
        "corp"
    );
    let (s, list) = app.get_json("/api/oidc-providers").await;
    assert_eq!((s, list.as_array().unwrap().len()), (200, 1));
    let (s, one) = app.get_json(&format!("/api/oidc-providers/{id}")).await;
    assert_eq!((s, &one["id"]), (200, &json!(id)));

    // Update: partial; blank secret keeps the stored one; nothing given is refused.
    let path = format!("/api/oidc-providers/{id}");
    let (s, v) = body(
        app.put_json(
            &path,
            json!({"client_secret": "  ", "scopes": "openid email email", "default_role": "admin"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["scopes"].as_str(), v["default_role"].as_str()),
        (Some("openid email"), Some("admin"))
    );
    let after: String = with_db!(&app.state.db, pool => sqlx::query_scalar(
        "SELECT client_secret FROM oidc_providers WHERE id = $1").bind(&id).fetch_one(pool).await.unwrap());
    assert_eq!(after, stored, "blank secret keeps the stored one");
    let v = expect_error(app.put_json(&path, json!({})).await, 400, "VALIDATION_ERROR").await;
    assert_eq!(v["error"], "No fields to update");
    let v = expect_error(
        app.put_json(&path, json!({"userinfo_url": "ftp://x"})).await,
        400,
        "VALIDATION_ERROR",
    )
    .await;
    assert_eq!(v["error"], "userinfo_url: Invalid URL format");
    let v = expect_error(
        app.put_json("/api/oidc-providers/nope", json!({"scopes": "openid"}))
            .await,
        404,
        "NOT_FOUND",
    )
    .await;
    assert_eq!(v["error"], "Provider not found");
    expect_error(
        app.get("/api/oidc-providers/nope").send().await.unwrap(),
        404,
        "NOT_FOUND",
    )
    .await;

    // Only admins; anonymous callers are asked to sign in.
    let user = sign_in_user(&app, "user@example.com", "User").await;
    expect_error(
        user.get("/api/oidc-providers").send().await.unwrap(),
        403,
        "FORBIDDEN",
    )
    .await;
    expect_error(
        user.post_json("/api/oidc-providers", valid.clone()).await,
        403,
        "FORBIDDEN",
    )
    .await;
    expect_error(
        app.other_client()
            .get("/api/oidc-providers")
            .send()
            .await
            .unwrap(),
        401,
        "UNAUTHORIZED",
    )
    .await;

    // A renamed provider keeps its linked accounts.
    with_db!(&app.state.db, pool => sqlx::query(
        "UPDATE users SET oidc_provider = 'corp', oidc_sub = 'u-1' WHERE email = 'user@example.com'")
        .execute(pool).await.unwrap().rows_affected());
    let (s, v) = body(app.put_json(&path, json!({"provider_key": "corp-new"})).await).await;
    assert_eq!(
        (s, v["callback_url"].as_str()),
        (
            200,
            Some(format!("{}/api/auth/corp-new/callback", app.base).as_str())
        )
    );
    let linked: Option<String> = with_db!(&app.state.db, pool => sqlx::query_scalar(
        "SELECT oidc_provider FROM users WHERE email = 'user@example.com'").fetch_one(pool).await.unwrap());
    assert_eq!(linked.as_deref(), Some("corp-new"));

    let (s, v) = body(app.delete(&path).await).await;
    assert_eq!((s, v), (200, json!({"message": "Provider deleted"})));
    expect_error(app.delete(&path).await, 404, "NOT_FOUND").await;
    let actions = audit_actions(&app).await;
    for a in [
        "oidc_provider.created",
        "oidc_provider.updated",
        "oidc_provider.deleted",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
    let meta: Vec<String> = with_db!(&app.state.db, pool => sqlx::query_scalar(
        "SELECT CAST(metadata AS TEXT) FROM audit_events WHERE action LIKE 'oidc_provider.%'").fetch_all(pool).await.unwrap());
    assert!(
        meta.iter()
            .all(|m| !m.contains(secret) && !m.contains("corp-client-id-42")),
        "{meta:?}"
    );
    logs();
    assert_not_logged(&[secret]);
}

oidc_tests!(
    first_login_creates_the_admin_and_the_second_reuses_it,
    links_by_verified_email_only,
    tampering_fails_the_sign_in,
    auto_create_off_refuses_new_accounts,
    mfa_step_up_after_the_provider,
    groups_map_to_teams_at_each_login,
    overrides_win_over_discovery,
    provider_administration,
);
