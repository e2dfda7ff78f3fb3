//! Go-link benchmark: the release `slugbase` binary (a child process, SQLite) with 10,000 go
//! links, driven by `wrk` at concurrency 32 with an API token over random slugs; beside it a bare
//! hyper server that answers every request with a 302, driven the same way on the same machine in
//! the same run. After 2 s of warm-up each, the two take turns for three rounds of 10 s.
//! Prints each round and the medians: requests/s, p50/p90/p99 latency, the throughput ratio, and
//! slugbase's resident memory idle (after the import, and again a minute after the load) and
//! under load.
//!
//! cargo bench --bench golinks

mod support;

use std::convert::Infallible;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

const SLUGS: usize = 10_000;
const ROUNDS: usize = 3;

/// Each figure's median over the rounds (taken separately: the middle rate, the middle p99 …).
fn median(runs: &[support::WrkResult]) -> support::WrkResult {
    let mid = |f: fn(&support::WrkResult) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    support::WrkResult {
        rps: mid(|r| r.rps),
        p50_ms: mid(|r| r.p50_ms),
        p90_ms: mid(|r| r.p90_ms),
        p99_ms: mid(|r| r.p99_ms),
        non2xx: runs.iter().map(|r| r.non2xx).sum(),
    }
}

fn rss_of(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|k| k.parse::<f64>().ok()))
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// The kernel's timer frequency, when it tells (`/proc/config.gz`): with wrk's two threads and the
/// server's two busy on two cores, a runnable thread can wait up to a tick for a core, so the
/// tick bounds how low either server's p99 can go.
fn kernel_hz() -> Option<u32> {
    let out = Command::new("sh")
        .args(["-c", "zcat /proc/config.gz 2>/dev/null | grep '^CONFIG_HZ='"])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .strip_prefix("CONFIG_HZ=")?
        .parse()
        .ok()
}

fn free_port() -> support::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn script() -> String {
    format!(
        "math.randomseed(7)\nrequest = function()\n  return wrk.format(\"GET\", \"/go/s\" .. math.random(0, {}))\nend\n",
        SLUGS - 1
    )
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
                Ok::<_, Infallible>(res)
            });
            let _ = http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                .await;
        });
    }
}

fn main() -> support::Result<()> {
    let dir = tempfile::tempdir()?;
    let port = free_port()?;
    let mut child = Command::new(env!("CARGO_BIN_EXE_slugbase"))
        .arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("DB_PATH", dir.path().join("bench.db"))
        .env("JWT_SECRET", "bench-jwt-secret-0123456789abcdef0123456789abcdef")
        .env(
            "SESSION_SECRET",
            "bench-session-secret-0123456789abcdef0123456789",
        )
        .env(
            "ENCRYPTION_KEY",
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        )
        // The per-user limit would stop a one-user benchmark at once; it is measured elsewhere.
        .env("GO_RATE_LIMIT", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start the release binary: {e}"))?;
    let pid = child.id();
    // The server is stopped whatever happened to the run.
    let result = run(pid, port);
    let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    let _ = child.wait();
    result
}

fn run(pid: u32, port: u16) -> support::Result<()> {
    let base = format!("http://127.0.0.1:{port}");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let client = reqwest::Client::builder().cookie_store(true).build()?;
        for _ in 0..100 {
            if client.get(format!("{base}/api/health")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        client
            .post(format!("{base}/api/auth/setup"))
            .json(&json!({"email": "bench@example.com", "name": "Bench", "password": "Bench-Passw0rd!"}))
            .send()
            .await?
            .error_for_status()?;
        let csrf: Value = client.get(format!("{base}/api/csrf-token")).send().await?.json().await?;
        let t: Value = client
            .post(format!("{base}/api/tokens"))
            .header("X-CSRF-Token", support::text(&csrf, "csrfToken")?)
            .json(&json!({"name": "bench"}))
            .send()
            .await?
            .json()
            .await?;
        let token = support::text(&t, "token")?.to_string();
        let items: Vec<Value> = (0..SLUGS)
            .map(|i| json!({"title": format!("Link {i}"), "url": format!("https://site{}.example.com/page/{i}", i % 97),
                            "slug": format!("s{i}"), "forwarding_enabled": true}))
            .collect();
        // Bearer requests come from a client without the session cookie (no CSRF needed).
        let v: Value = reqwest::Client::new()
            .post(format!("{base}/api/bookmarks/import"))
            .bearer_auth(&token)
            .json(&json!({"bookmarks": items}))
            .send()
            .await?
            .json()
            .await?;
        if v["success"] != SLUGS {
            return Err(format!("import of {SLUGS} answered {v}").into());
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let idle = rss_of(pid);

        // Sample the server's memory while wrk runs (warm-up included).
        let peak = std::sync::Arc::new(std::sync::Mutex::new(0f64));
        let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let sampler = {
            let (peak, sampling) = (peak.clone(), sampling.clone());
            std::thread::spawn(move || {
                while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                    let r = rss_of(pid);
                    let mut p = peak.lock().unwrap_or_else(|e| e.into_inner());
                    if r > *p {
                        *p = r;
                    }
                    drop(p);
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
        };
        let auth = format!("Authorization: Bearer {token}");
        // The bare server lives in this process, on its two worker threads (slugbase has its
        // own two); it only waits on its listener while slugbase is measured.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let bare_base = format!("http://{}", listener.local_addr()?);
        let bare_task = tokio::spawn(bare_302(listener));
        let drive = |base: String, auth: Option<String>, secs: u32| {
            tokio::task::spawn_blocking(move || support::wrk(&base, 32, secs, Some(&script()), auth.as_deref()))
        };
        // Both servers get 2 s of the same load first (slugbase's first requests wait for the
        // 10,000-link table to be built); only what follows is measured.
        drive(base.clone(), Some(auth.clone()), 2).await??;
        drive(bare_base.clone(), None, 2).await??;
        // The machine's own speed drifts over a minute (other services, the host): the two servers
        // take turns, and the medians of the rounds are compared.
        let mut ours = Vec::new();
        let mut bare = Vec::new();
        for _ in 0..ROUNDS {
            ours.push(drive(base.clone(), Some(auth.clone()), 10).await??);
            bare.push(drive(bare_base.clone(), None, 10).await??);
        }
        bare_task.abort();
        sampling.store(false, std::sync::atomic::Ordering::Relaxed);
        sampler.join().map_err(|_| "the memory sampler panicked")?;
        let under_load = *peak.lock().unwrap_or_else(|e| e.into_inner());
        // Idle again: slugbase's last round ended one bare round (10 s) ago; its link table goes
        // once unused for 30 s, at the next 30-s housekeeping pass, with the heap trimmed.
        tokio::time::sleep(Duration::from_secs(55)).await;
        let idle_after = rss_of(pid);

        println!(
            "go links: {SLUGS} slugs, random slug per request, API token, concurrency 32; \
             {ROUNDS} rounds of 10 s each, the servers taking turns, after 2 s of warm-up each"
        );
        let line = |name: &str, r: &support::WrkResult| {
            println!(
                "  {name:<16} {:>9.0} requests/s, p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms",
                r.rps, r.p50_ms, r.p90_ms, r.p99_ms
            )
        };
        for (i, (o, b)) in ours.iter().zip(&bare).enumerate() {
            println!("round {}: ratio {:.2}", i + 1, o.rps / b.rps.max(1.0));
            line("slugbase /go", o);
            line("bare hyper 302", b);
        }
        let non2xx: u64 = ours.iter().map(|r| r.non2xx).sum();
        let (o, b) = (median(&ours), median(&bare));
        println!("median of the rounds:");
        line("slugbase /go", &o);
        line("bare hyper 302", &b);
        println!("slugbase answers that were not 2xx/3xx: {non2xx}");
        println!("ratio (slugbase / bare, median requests/s): {:.2}", o.rps / b.rps.max(1.0));
        println!(
            "slugbase resident memory: idle after the import {idle:.1} MiB, peak under load \
             {under_load:.1} MiB, idle 65 s after the load {idle_after:.1} MiB"
        );
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        match kernel_hz() {
            Some(hz) => println!(
                "machine: {cores} cores, kernel timer {hz} Hz (a runnable thread may wait up to {:.1} ms for a core)",
                1000.0 / hz as f64
            ),
            None => println!("machine: {cores} cores, kernel timer frequency unknown"),
        }
        Ok(())
    })
}
