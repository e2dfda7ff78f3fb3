//! Shared by the benchmarks: start the release binary, sign in, run `wrk` and read its figures.
#![allow(dead_code)]

use std::process::Command;

use serde_json::{json, Value};

/// A benchmark step that failed: the run stops with its message (no panic, no partial figures).
pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T> = std::result::Result<T, Error>;

/// A string field of a JSON answer, or an error naming the field and the answer.
pub fn text<'a>(v: &'a Value, key: &str) -> Result<&'a str> {
    v[key]
        .as_str()
        .ok_or_else(|| format!("no string \"{key}\" in {v}").into())
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

pub struct WrkResult {
    pub rps: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub non2xx: u64,
    /// Requests wrk gave up on (no answer within its 10-second timeout).
    pub timeouts: u64,
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
        "--timeout",
        "10s",
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
        timeouts: 0,
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
        } else if let Some(v) = l.strip_prefix("Socket errors:") {
            r.timeouts = v
                .rsplit("timeout")
                .next()
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or(0);
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

/// Each figure's median over the rounds (taken separately: the middle rate, the middle p99 …).
pub fn median(runs: &[WrkResult]) -> WrkResult {
    let mid = |f: fn(&WrkResult) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    WrkResult {
        rps: mid(|r| r.rps),
        p50_ms: mid(|r| r.p50_ms),
        p90_ms: mid(|r| r.p90_ms),
        p99_ms: mid(|r| r.p99_ms),
        non2xx: runs.iter().map(|r| r.non2xx).sum(),
        timeouts: runs.iter().map(|r| r.timeouts).sum(),
    }
}

/// A child process stopped (gracefully, SIGTERM) when dropped, whatever happened to the run.
pub struct Proc {
    pub child: std::process::Child,
    pub base: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// The release binary, on SQLite in `dir` unless `env` names another database, with `env` added
/// to the fixed bench configuration. Its worker threads follow the cores it may use.
pub fn start_slugbase(dir: &std::path::Path, cpus: Option<&str>, env: &[(&str, String)]) -> Result<Proc> {
    let port = free_port()?;
    // BENCH_SERVER_BIN: another build of the server (e.g. main's, to compare with).
    let program =
        std::env::var_os("BENCH_SERVER_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_slugbase").into());
    let mut cmd = command_on(cpus, std::path::Path::new(&program));
    cmd.arg("serve")
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("DB_PATH", dir.join("bench.db"))
        .env("JWT_SECRET", "bench-jwt-secret-0123456789abcdef0123456789abcdef")
        .env(
            "SESSION_SECRET",
            "bench-session-secret-0123456789abcdef0123456789",
        )
        .env(
            "ENCRYPTION_KEY",
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        )
        // BENCH_METRICS=true: the same run with Prometheus metrics counting every request.
        .env(
            "METRICS_ENABLED",
            std::env::var("BENCH_METRICS").unwrap_or_else(|_| "false".into()),
        )
        .env(
            "RUST_LOG",
            std::env::var("BENCH_LOG").unwrap_or_else(|_| "warn".into()),
        );
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start the release binary: {e}"))?;
    Ok(Proc {
        child,
        base: format!("http://127.0.0.1:{port}"),
    })
}

/// Waits until the server at `base` answers its health check.
pub async fn wait_ready(base: &str) -> Result<()> {
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if client.get(format!("{base}/api/health")).send().await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Err(format!("{base} did not come up").into())
}

/// The argument that makes a benchmark program the bare 302 server instead of the benchmark.
pub const BARE_ARG: &str = "--bare-302-server";

/// This program again, as the bare 302 server; it says its port on its first line.
pub fn start_bare(cpus: Option<&str>) -> Result<Proc> {
    use std::io::BufRead;
    let mut child = command_on(cpus, &std::env::current_exe()?)
        .arg(BARE_ARG)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()?;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        std::io::BufReader::new(out).read_line(&mut line)?;
    }
    let base = format!("http://127.0.0.1:{}", line.trim());
    let proc = Proc { child, base };
    if line.trim().parse::<u16>().is_err() {
        return Err(format!("the bare server did not say its port (said {line:?})").into());
    }
    Ok(proc)
}

/// The bare server: hyper answering 302 to everything, on as many worker threads as it has
/// cores (like slugbase).
pub fn bare_main() -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        println!("{}", listener.local_addr()?.port());
        bare_302(listener).await;
        Ok(())
    })
}

async fn bare_302(listener: tokio::net::TcpListener) {
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let svc = service_fn(|_req: hyper::Request<hyper::body::Incoming>| async {
                let mut res = hyper::Response::new(String::new());
                *res.status_mut() = hyper::StatusCode::FOUND;
                res.headers_mut().insert(
                    hyper::header::LOCATION,
                    hyper::header::HeaderValue::from_static("https://example.com/"),
                );
                Ok::<_, std::convert::Infallible>(res)
            });
            let _ = http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                .await;
        });
    }
}

/// Samples a process's resident memory every 100 ms until stopped; gives the peak.
pub struct Sampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<f64>,
}

impl Sampler {
    pub fn start(pid: u32) -> Sampler {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peak = 0f64;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(rss_of(pid));
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            peak
        });
        Sampler { stop, thread }
    }

    pub fn peak(self) -> Result<f64> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread
            .join()
            .map_err(|_| "the memory sampler panicked".into())
    }
}

/// The database settings for [`start_slugbase`]: a fresh PostgreSQL database (named after
/// `prefix`) when `BENCH_DATABASE_URL` names a server, else a SQLite file in `dir`.
pub async fn database(dir: &std::path::Path, prefix: &str) -> Result<Vec<(&'static str, String)>> {
    match std::env::var("BENCH_DATABASE_URL") {
        Ok(admin) if !admin.is_empty() => {
            let (name, url) = fresh_pg(&admin, prefix).await?;
            println!("database: PostgreSQL ({name})");
            Ok(vec![("DB_TYPE", "postgresql".into()), ("DATABASE_URL", url)])
        }
        _ => {
            println!("database: SQLite");
            Ok(vec![("DB_PATH", dir.join("bench.db").display().to_string())])
        }
    }
}
