//! Shared by the benchmarks: start the real server, sign in, run `wrk` and read its figures.
#![allow(dead_code)]

use std::collections::HashMap;
use std::process::Command;

use serde_json::{json, Value};
use slugbase::{Application, Config};

/// A benchmark step that failed: the run stops with its message (no panic, no partial figures).
pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T> = std::result::Result<T, Error>;

/// A string field of a JSON answer, or an error naming the field and the answer.
pub fn text<'a>(v: &'a Value, key: &str) -> Result<&'a str> {
    v[key]
        .as_str()
        .ok_or_else(|| format!("no string \"{key}\" in {v}").into())
}

pub struct Bench {
    pub base: String,
    pub token: String,
    pub client: reqwest::Client,
    pub state: slugbase::AppState,
    _dir: tempfile::TempDir,
    pub shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    pub handle: Option<tokio::task::JoinHandle<()>>,
}

/// Starts the server on SQLite, or on a fresh PostgreSQL database when `BENCH_DATABASE_URL`
/// names a server; runs setup and creates an API token.
pub async fn start() -> Result<Bench> {
    // RUST_LOG=slugbase=debug prints the server's phase timings (e.g. of the import).
    if std::env::var_os("RUST_LOG").is_some() {
        slugbase::telemetry::init(false);
    }
    let dir = tempfile::tempdir()?;
    let mut env: HashMap<String, String> = HashMap::new();
    for (k, v) in [
        ("HOST", "127.0.0.1"),
        ("PORT", "0"),
        ("JWT_SECRET", "bench-jwt-secret-0123456789abcdef0123456789abcdef"),
        (
            "SESSION_SECRET",
            "bench-session-secret-0123456789abcdef0123456789",
        ),
        (
            "ENCRYPTION_KEY",
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        ),
        ("IMPORT_MAX_BYTES", "268435456"),
    ] {
        env.insert(k.into(), v.into());
    }
    match std::env::var("BENCH_DATABASE_URL") {
        Ok(admin) if !admin.is_empty() => {
            let (name, url) = fresh_pg(&admin, "sbbench").await?;
            env.insert("DB_TYPE".into(), "postgresql".into());
            env.insert("DATABASE_URL".into(), url);
            println!("database: PostgreSQL ({name})");
        }
        _ => {
            env.insert(
                "DB_PATH".into(),
                dir.path().join("bench.db").display().to_string(),
            );
            println!("database: SQLite");
        }
    }
    let app =
        Application::build(Config::from_env(&env).map_err(|e| format!("configuration: {e:?}"))?).await?;
    let base = format!("http://{}", app.local_addr());
    let state = app.state().clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        let _ = app
            .run_until(async {
                let _ = rx.await;
            })
            .await;
    });
    let (client, token) = sign_up(&base).await?;
    Ok(Bench {
        base,
        token,
        client,
        state,
        _dir: dir,
        shutdown: Some(tx),
        handle: Some(handle),
    })
}

/// Sets up a fresh instance at `base` (the first admin) and creates an API token: the signed-in
/// client (with its session cookie) and the token.
pub async fn sign_up(base: &str) -> Result<(reqwest::Client, String)> {
    let client = reqwest::Client::builder().cookie_store(true).build()?;
    let res = client
        .post(format!("{base}/api/auth/setup"))
        .json(&json!({"email": "bench@example.com", "name": "Bench", "password": "Bench-Passw0rd!"}))
        .send()
        .await?;
    if res.status() != 200 {
        return Err(format!("setup answered {}", res.status()).into());
    }
    let csrf: Value = client
        .get(format!("{base}/api/csrf-token"))
        .send()
        .await?
        .json()
        .await?;
    let t: Value = client
        .post(format!("{base}/api/tokens"))
        .header("X-CSRF-Token", text(&csrf, "csrfToken")?)
        .json(&json!({"name": "bench"}))
        .send()
        .await?
        .json()
        .await?;
    let token = text(&t, "token")?.to_string();
    Ok((client, token))
}

/// `program`, confined to the CPUs `cpus` (`taskset -c` syntax) if given.
pub fn command_on(cpus: Option<&str>, program: &std::path::Path) -> Command {
    match cpus {
        Some(c) => {
            let mut cmd = Command::new("taskset");
            cmd.args(["-c", c]).arg(program);
            cmd
        }
        None => Command::new(program),
    }
}

impl Bench {
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
    }
}

pub struct WrkResult {
    pub rps: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub non2xx: u64,
}

fn ms(v: &str) -> f64 {
    let v = v.trim();
    if let Some(x) = v.strip_suffix("us") {
        x.parse::<f64>().unwrap_or(0.0) / 1000.0
    } else if let Some(x) = v.strip_suffix("ms") {
        x.parse::<f64>().unwrap_or(0.0)
    } else if let Some(x) = v.strip_suffix('s') {
        x.parse::<f64>().unwrap_or(0.0) * 1000.0
    } else {
        v.parse::<f64>().unwrap_or(0.0)
    }
}

/// Runs `wrk` (Debian package `wrk`) with 2 threads and `connections` connections for `secs`.
pub fn wrk(
    url: &str,
    connections: u32,
    secs: u32,
    script: Option<&str>,
    header: Option<&str>,
) -> Result<WrkResult> {
    wrk_on(None, 2, url, connections, secs, script, header)
}

/// [`wrk`] with `threads` threads, confined to the CPUs `cpus` (`taskset -c` syntax) if given.
pub fn wrk_on(
    cpus: Option<&str>,
    threads: u32,
    url: &str,
    connections: u32,
    secs: u32,
    script: Option<&str>,
    header: Option<&str>,
) -> Result<WrkResult> {
    let dir = tempfile::tempdir()?;
    let mut cmd = command_on(cpus, std::path::Path::new("wrk"));
    cmd.args([
        &format!("-t{threads}"),
        &format!("-c{connections}"),
        &format!("-d{secs}s"),
        "--latency",
    ]);
    if let Some(h) = header {
        cmd.args(["-H", h]);
    }
    if let Some(s) = script {
        let p = dir.path().join("script.lua");
        std::fs::write(&p, s)?;
        cmd.arg("-s").arg(&p);
    }
    cmd.arg(url);
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run wrk ({e}); install it: apt-get install wrk"))?;
    let output = String::from_utf8_lossy(&out.stdout).to_string();
    let mut r = WrkResult {
        rps: 0.0,
        p50_ms: 0.0,
        p90_ms: 0.0,
        p99_ms: 0.0,
        non2xx: 0,
    };
    for line in output.lines() {
        let l = line.trim();
        if let Some(v) = l.strip_prefix("Requests/sec:") {
            r.rps = v.trim().parse().unwrap_or(0.0);
        } else if let Some(v) = l.strip_prefix("50%") {
            r.p50_ms = ms(v);
        } else if let Some(v) = l.strip_prefix("90%") {
            r.p90_ms = ms(v);
        } else if let Some(v) = l.strip_prefix("99%") {
            r.p99_ms = ms(v);
        } else if let Some(v) = l.strip_prefix("Non-2xx or 3xx responses:") {
            r.non2xx = v.trim().parse().unwrap_or(0);
        }
    }
    if r.rps == 0.0 {
        return Err(format!(
            "wrk measured nothing at {url}:\n{output}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(r)
}

/// Resident memory of this process in MiB (from /proc).
pub fn rss_mib() -> f64 {
    rss_of(std::process::id())
}

/// A fresh, empty PostgreSQL database on the server `admin` names: (its name, its URL).
pub async fn fresh_pg(admin: &str, prefix: &str) -> Result<(String, String)> {
    use sqlx::Connection;
    let name = format!("{prefix}_{}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(admin).await?;
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await?;
    let mut url = url::Url::parse(admin)?;
    url.set_path(&name);
    Ok((name, url.to_string()))
}

/// A free port on the loopback interface.
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Resident memory of process `pid` in MiB (from /proc).
pub fn rss_of(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|k| k.parse::<f64>().ok()))
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}
