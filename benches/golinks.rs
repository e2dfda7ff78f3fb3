//! Go-link benchmark: the release `slugbase` binary (a child process, SQLite) with 10,000 go
//! links, driven by `wrk` at concurrency 32 with an API token over random slugs; beside it a bare
//! hyper server (a child process too) that answers every request with a 302, driven the same way
//! on the same machine in the same run. After 2 s of warm-up each, the two take turns for three
//! rounds of 10 s, in two placements:
//! - one core each: the server on core 0 (so one worker thread), wrk with one thread on core 1 —
//!   what the server does, without the load generator taking its core away from it;
//! - shared cores: servers and wrk (two threads) wherever the kernel puts them, all competing for
//!   the same cores.
//!
//! Prints each round and the medians per placement: requests/s, p50/p90/p99 latency, the
//! throughput ratio; and slugbase's resident memory idle (after the import, and again a minute
//! after the load) and under load.
//!
//! cargo bench --bench golinks
//! BENCH_METRICS=true cargo bench --bench golinks      (with Prometheus metrics on)

mod support;

use std::convert::Infallible;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

const SLUGS: usize = 10_000;
const ROUNDS: usize = 3;
/// The argument that makes this program the bare 302 server instead of the benchmark.
const BARE_ARG: &str = "--bare-302-server";
const JWT_SECRET: &str = "bench-jwt-secret-0123456789abcdef0123456789abcdef";

/// Where the servers and the load generator run.
#[derive(Clone, Copy, PartialEq)]
enum Placement {
    OneCoreEach,
    Shared,
}

impl Placement {
    fn server_cpus(self) -> Option<&'static str> {
        match self {
            Placement::OneCoreEach => Some("0"),
            Placement::Shared => None,
        }
    }

    fn wrk_cpus(self) -> Option<&'static str> {
        match self {
            Placement::OneCoreEach => Some("1"),
            Placement::Shared => None,
        }
    }

    fn wrk_threads(self) -> u32 {
        match self {
            Placement::OneCoreEach => 1,
            Placement::Shared => 2,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Placement::OneCoreEach => {
                "one core each: server on core 0 (one worker thread), wrk -t1 on core 1"
            }
            Placement::Shared => "shared cores: servers (two worker threads) and wrk -t2 unpinned",
        }
    }
}

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

/// The kernel's timer frequency, when it tells (`/proc/config.gz`): with wrk's two threads and the
/// server's two busy on two cores, a runnable thread can wait up to a tick for a core, so the
/// tick bounds how low either server's p99 can go in the shared placement.
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

/// A child process stopped (gracefully, SIGTERM) when dropped, whatever happened to the run.
struct Proc {
    child: Child,
    base: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// The release binary on the database in `dir`. Its worker threads follow the cores it may use.
fn start_slugbase(dir: &std::path::Path, cpus: Option<&str>) -> support::Result<Proc> {
    let port = support::free_port()?;
    let child = support::command_on(cpus, std::path::Path::new(env!("CARGO_BIN_EXE_slugbase")))
        .arg("serve")
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("DB_PATH", dir.join("bench.db"))
        .env("JWT_SECRET", JWT_SECRET)
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
        // BENCH_METRICS=true: the same run with Prometheus metrics counting every request.
        .env(
            "METRICS_ENABLED",
            std::env::var("BENCH_METRICS").unwrap_or_else(|_| "false".into()),
        )
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start the release binary: {e}"))?;
    Ok(Proc {
        child,
        base: format!("http://127.0.0.1:{port}"),
    })
}

/// This program again, as the bare 302 server; it says its port on its first line.
fn start_bare(cpus: Option<&str>) -> support::Result<Proc> {
    let mut child = support::command_on(cpus, &std::env::current_exe()?)
        .arg(BARE_ARG)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
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
fn bare_main() -> support::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        println!("{}", listener.local_addr()?.port());
        bare_302(listener).await;
        Ok(())
    })
}

fn main() -> support::Result<()> {
    if std::env::args().any(|a| a == BARE_ARG) {
        return bare_main();
    }
    let dir = tempfile::tempdir()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run(dir.path()))
}

async fn wait_ready(base: &str) -> support::Result<()> {
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client.get(format!("{base}/api/health")).send().await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("{base} did not come up").into())
}

/// Sets up the instance and imports the links; returns the API token.
async fn set_up(base: &str) -> support::Result<String> {
    let (_, token) = support::sign_up(base).await?;
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
    Ok(token)
}

/// Samples a process's resident memory every 100 ms until stopped; gives the peak.
struct Sampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<f64>,
}

impl Sampler {
    fn start(pid: u32) -> Sampler {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peak = 0f64;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(support::rss_of(pid));
                std::thread::sleep(Duration::from_millis(100));
            }
            peak
        });
        Sampler { stop, thread }
    }

    fn peak(self) -> support::Result<f64> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread
            .join()
            .map_err(|_| "the memory sampler panicked".into())
    }
}

/// Both servers under the same load in `place`: 2 s of warm-up each (slugbase's first requests
/// wait for the 10,000-link table to be built), then [`ROUNDS`] rounds of 10 s taking turns, as
/// the machine's own speed drifts over a minute (other services, the host).
async fn compare(
    place: Placement,
    ours: &str,
    bare: &str,
    auth: &str,
) -> support::Result<(Vec<support::WrkResult>, Vec<support::WrkResult>)> {
    let drive = |base: &str, auth: Option<&str>, secs: u32| {
        let (base, auth) = (base.to_string(), auth.map(str::to_string));
        tokio::task::spawn_blocking(move || {
            support::wrk_on(
                place.wrk_cpus(),
                place.wrk_threads(),
                &base,
                32,
                secs,
                Some(&script()),
                auth.as_deref(),
            )
        })
    };
    drive(ours, Some(auth), 2).await??;
    drive(bare, None, 2).await??;
    let (mut o, mut b) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        o.push(drive(ours, Some(auth), 10).await??);
        b.push(drive(bare, None, 10).await??);
    }
    Ok((o, b))
}

fn report(place: Placement, ours: &[support::WrkResult], bare: &[support::WrkResult]) {
    println!("{}:", place.describe());
    let line = |name: &str, r: &support::WrkResult| {
        println!(
            "    {name:<16} {:>9.0} requests/s, p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms",
            r.rps, r.p50_ms, r.p90_ms, r.p99_ms
        )
    };
    for (i, (o, b)) in ours.iter().zip(bare).enumerate() {
        println!("  round {}: ratio {:.2}", i + 1, o.rps / b.rps.max(1.0));
        line("slugbase /go", o);
        line("bare hyper 302", b);
    }
    let (o, b) = (median(ours), median(bare));
    println!("  median of the rounds:");
    line("slugbase /go", &o);
    line("bare hyper 302", &b);
    let non2xx: u64 = ours.iter().map(|r| r.non2xx).sum();
    println!("  slugbase answers that were not 2xx/3xx: {non2xx}");
    println!(
        "  ratio (slugbase / bare, median requests/s): {:.2}",
        o.rps / b.rps.max(1.0)
    );
}

async fn run(dir: &std::path::Path) -> support::Result<()> {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let pinning = cores >= 2 && Command::new("taskset").arg("-V").output().is_ok();

    // Shared cores, with the instance that took the import: its memory is the one reported.
    let server = start_slugbase(dir, None)?;
    let pid = server.child.id();
    wait_ready(&server.base).await?;
    let token = set_up(&server.base).await?;
    let auth = format!("Authorization: Bearer {token}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = support::rss_of(pid);
    let sampler = Sampler::start(pid);
    let bare = start_bare(None)?;
    let (shared_ours, shared_bare) = compare(Placement::Shared, &server.base, &bare.base, &auth).await?;
    drop(bare);
    let peak_shared = sampler.peak()?;
    // Idle again: slugbase's last round ended one bare round (10 s) ago; its link table goes
    // once unused for 30 s, at the next 30-s housekeeping pass, with the heap trimmed.
    tokio::time::sleep(Duration::from_secs(55)).await;
    let idle_after = support::rss_of(pid);
    drop(server);

    // One core each: the same database, served again from core 0.
    let separate = if pinning {
        let server = start_slugbase(dir, Placement::OneCoreEach.server_cpus())?;
        wait_ready(&server.base).await?;
        let sampler = Sampler::start(server.child.id());
        let bare = start_bare(Placement::OneCoreEach.server_cpus())?;
        let runs = compare(Placement::OneCoreEach, &server.base, &bare.base, &auth).await?;
        Some((runs, sampler.peak()?))
    } else {
        None
    };

    println!(
        "go links: {SLUGS} slugs, random slug per request, API token, concurrency 32; \
         {ROUNDS} rounds of 10 s each, the servers taking turns, after 2 s of warm-up each"
    );
    match &separate {
        Some(((o, b), _)) => report(Placement::OneCoreEach, o, b),
        None => println!("one core each: skipped (needs 2 cores and taskset)"),
    }
    report(Placement::Shared, &shared_ours, &shared_bare);
    println!(
        "slugbase resident memory: idle after the import {idle:.1} MiB, peak under load \
         {peak_shared:.1} MiB (shared cores){}, idle 65 s after the load {idle_after:.1} MiB",
        separate
            .as_ref()
            .map(|(_, peak)| format!(" / {peak:.1} MiB (one core each)"))
            .unwrap_or_default()
    );
    match kernel_hz() {
        Some(hz) => println!(
            "machine: {cores} cores, kernel timer {hz} Hz (in the shared placement a runnable thread \
             may wait up to {:.1} ms for a core)",
            1000.0 / hz as f64
        ),
        None => println!("machine: {cores} cores, kernel timer frequency unknown"),
    }
    Ok(())
}
