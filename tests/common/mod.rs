//! The test harness: starts the real server on 127.0.0.1:0 with a fresh database (a temporary
//! SQLite file, or a new PostgreSQL database when `SLUGBASE_TEST_DATABASE_URL` is set) and talks
//! HTTP to it with a cookie-keeping client.
#![allow(dead_code)]

pub mod ai;
pub mod cluster;
pub mod process;
pub mod smtp;
pub mod webauthn;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use reqwest::{Method, RequestBuilder, Response};
use serde_json::{json, Value};
use slugbase::{AppState, Application, Config};
use tokio::sync::oneshot;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const TEST_ENCRYPTION_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// Runs each named `async fn(TestApp)` once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = $crate::common::TestApp::spawn($crate::common::Backend::Sqlite).await;
                    let guard = app.clone();
                    super::$name(app).await;
                    guard.finish().await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let Some(app) = $crate::common::TestApp::try_spawn($crate::common::Backend::Postgres, &[]).await else { return };
                    let guard = app.clone();
                    super::$name(app).await;
                    guard.finish().await;
                }
            }
        )*
    };
}

/// The PostgreSQL server for tests, or `None` (with a printed reason) when not configured.
/// Under CI the variable is required: a missing PostgreSQL fails loudly there.
pub fn pg_admin_url() -> Option<String> {
    match std::env::var("SLUGBASE_TEST_DATABASE_URL") {
        Ok(u) if !u.trim().is_empty() => Some(u),
        _ => {
            if std::env::var("CI").map(|v| v == "true").unwrap_or(false) {
                panic!(
                    "CI=true but SLUGBASE_TEST_DATABASE_URL is not set: the PostgreSQL half must run in CI"
                );
            }
            eprintln!("skipping the PostgreSQL half: SLUGBASE_TEST_DATABASE_URL is not set");
            None
        }
    }
}

struct Running {
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

#[derive(Clone)]
pub struct TestApp {
    pub base: String,
    pub backend: Backend,
    pub client: reqwest::Client,
    pub state: AppState,
    pub db_url: String,
    pg_db: Option<(String, String)>,
    _dir: Arc<tempfile::TempDir>,
    running: Arc<Mutex<Running>>,
    csrf: Arc<Mutex<Option<String>>>,
}

pub fn new_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Creates a fresh, empty PostgreSQL database and returns (admin url, database name, its url).
pub async fn fresh_pg_database(admin: &str) -> (String, String) {
    use sqlx::Connection;
    let name = format!("sbt_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(admin)
        .await
        .expect("connect to SLUGBASE_TEST_DATABASE_URL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let _ = conn.close().await;
    let mut url = url::Url::parse(admin).expect("SLUGBASE_TEST_DATABASE_URL is a URL");
    url.set_path(&name);
    (name, url.to_string())
}

pub async fn drop_pg_database(admin: &str, name: &str) {
    use sqlx::Connection;
    if let Ok(mut conn) = sqlx::PgConnection::connect(admin).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await;
        let _ = conn.close().await;
    }
}

/// The environment a test server runs with, plus `extra`.
pub fn test_env(backend: Backend, db_url: &str, extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = HashMap::new();
    env.insert("HOST".into(), "127.0.0.1".into());
    env.insert("PORT".into(), "0".into());
    env.insert(
        "JWT_SECRET".into(),
        "test-jwt-secret-0123456789abcdef0123456789abcdef".into(),
    );
    env.insert(
        "SESSION_SECRET".into(),
        "test-session-secret-0123456789abcdef0123456789".into(),
    );
    env.insert("ENCRYPTION_KEY".into(), TEST_ENCRYPTION_KEY.into());
    // Tests drive /go hard; the per-user limit has its own test.
    env.insert("GO_RATE_LIMIT".into(), "0".into());
    match backend {
        Backend::Sqlite => {
            env.insert("DB_TYPE".into(), "sqlite".into());
            env.insert("DB_PATH".into(), db_url.into());
        }
        Backend::Postgres => {
            env.insert("DB_TYPE".into(), "postgresql".into());
            env.insert("DATABASE_URL".into(), db_url.into());
        }
    }
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    env
}

impl TestApp {
    /// Sends `head` (a request line, then headers; `Host` is added) exactly as written over a
    /// plain TCP connection, and reads the whole answer until the server closes it.
    pub async fn raw_request(&self, head: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.base.trim_start_matches("http://");
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (line, rest) = head.split_once("\r\n").unwrap();
        s.write_all(format!("{line}\r\nHost: {addr}\r\n{rest}").as_bytes())
            .await
            .unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        String::from_utf8_lossy(&out).into_owned()
    }

    pub async fn spawn(backend: Backend) -> TestApp {
        Self::try_spawn(backend, &[]).await.expect("backend available")
    }

    pub async fn spawn_with(backend: Backend, extra: &[(&str, &str)]) -> Option<TestApp> {
        Self::try_spawn(backend, extra).await
    }

    /// Starts a server; `None` when the backend is PostgreSQL and none is configured.
    pub async fn try_spawn(backend: Backend, extra: &[(&str, &str)]) -> Option<TestApp> {
        let dir = tempfile::tempdir().expect("tempdir");
        let (db_url, pg_db) = match backend {
            Backend::Sqlite => (dir.path().join("slugbase.db").display().to_string(), None),
            Backend::Postgres => {
                let admin = pg_admin_url()?;
                let (name, url) = fresh_pg_database(&admin).await;
                (url, Some((admin, name)))
            }
        };
        let app = Self::start(backend, db_url, pg_db, dir, extra).await;
        Some(app)
    }

    /// Starts a server on an existing database (SQLite path or PostgreSQL URL).
    pub async fn start(
        backend: Backend,
        db_url: String,
        pg_db: Option<(String, String)>,
        dir: tempfile::TempDir,
        extra: &[(&str, &str)],
    ) -> TestApp {
        let env = test_env(backend, &db_url, extra);
        let config = Config::from_env(&env).expect("test config");
        let app = Application::build(config).await.expect("server starts");
        let base = format!("http://{}", app.local_addr());
        let state = app.state().clone();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            let _ = app
                .run_until(async {
                    let _ = rx.await;
                })
                .await;
        });
        TestApp {
            base,
            backend,
            client: new_client(),
            state,
            db_url,
            pg_db,
            _dir: Arc::new(dir),
            running: Arc::new(Mutex::new(Running {
                shutdown: Some(tx),
                handle: Some(handle),
            })),
            csrf: Arc::new(Mutex::new(None)),
        }
    }

    /// Stops the server gracefully (in-flight requests finish, background work is flushed).
    pub async fn stop(&self) {
        let (tx, handle) = {
            let mut r = self.running.lock().unwrap();
            (r.shutdown.take(), r.handle.take())
        };
        if let Some(tx) = tx {
            let _ = tx.send(());
        }
        if let Some(h) = handle {
            let _ = h.await;
        }
    }

    /// Stops the server and drops its PostgreSQL database.
    pub async fn finish(&self) {
        self.stop().await;
        if let Some((admin, name)) = &self.pg_db {
            drop_pg_database(admin, name).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A new client with its own cookie jar, talking to this server.
    pub fn other_client(&self) -> TestApp {
        TestApp {
            client: new_client(),
            csrf: Arc::new(Mutex::new(None)),
            ..self.clone()
        }
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> RequestBuilder {
        self.request(Method::POST, path)
    }

    /// Fetches (once per client) a CSRF token; the cookie lands in this client's jar.
    pub async fn csrf_token(&self) -> String {
        if let Some(t) = self.csrf.lock().unwrap().clone() {
            return t;
        }
        let v: Value = self
            .get("/api/csrf-token")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let t = v["csrfToken"].as_str().expect("csrfToken").to_string();
        *self.csrf.lock().unwrap() = Some(t.clone());
        t
    }

    /// A state-changing request the way the original's web client sends it: cookie session plus
    /// `X-CSRF-Token`.
    pub async fn write(&self, method: Method, path: &str) -> RequestBuilder {
        let token = self.csrf_token().await;
        self.request(method, path).header("X-CSRF-Token", token)
    }

    pub async fn post_json(&self, path: &str, body: Value) -> Response {
        self.write(Method::POST, path)
            .await
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn put_json(&self, path: &str, body: Value) -> Response {
        self.write(Method::PUT, path)
            .await
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.write(Method::DELETE, path).await.send().await.unwrap()
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        body(self.get(path).send().await.unwrap()).await
    }
}

/// Status and JSON body (Null when the body is not JSON).
pub async fn body(res: Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Asserts the error envelope: status, `code`, and that `error` is a non-empty string.
pub async fn expect_error(res: Response, status: u16, code: &str) -> Value {
    let (s, v) = body(res).await;
    assert_eq!(s, status, "status (body {v})");
    assert_eq!(v["code"], json!(code), "code (body {v})");
    assert!(
        v["error"].as_str().is_some_and(|e| !e.is_empty()),
        "error message in {v}"
    );
    v
}

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const PASSWORD: &str = "Test-Passw0rd!";

/// Runs first-run setup on `app`'s client, which is then signed in as the admin.
pub async fn sign_in_admin(app: &TestApp) {
    let res = app
        .post("/api/auth/setup")
        .json(&json!({"email": ADMIN_EMAIL, "name": "Admin", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "setup");
}

/// Creates a user (directly in the database) and returns a client signed in as them.
pub async fn sign_in_user(app: &TestApp, email: &str, name: &str) -> TestApp {
    let hash = slugbase::auth::password::hash(PASSWORD).await.unwrap();
    let mut tx = app.state.db.begin().await.unwrap();
    slugbase::users::insert(
        &mut tx,
        &slugbase::users::NewUser {
            email,
            name,
            password_hash: Some(&hash),
            is_admin: false,
            email_verified: true,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let c = app.other_client();
    let res = c
        .post("/api/auth/login")
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "login {email}");
    c
}

/// POSTs JSON and returns (status, body).
pub async fn create(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    self::body(app.post_json(path, body).await).await
}
pub mod idp;
