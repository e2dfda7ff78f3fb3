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

use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

const SLUGS: usize = 10_000;
const ROUNDS: usize = 3;

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

fn main() -> support::Result<()> {
    if std::env::args().any(|a| a == support::BARE_ARG) {
        return support::bare_main();
    }
    let dir = tempfile::tempdir()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run(dir.path()))
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
    let (o, b) = (support::median(ours), support::median(bare));
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
    let server = support::start_slugbase(dir, None, &[("GO_RATE_LIMIT", "0".into())])?;
    let pid = server.child.id();
    support::wait_ready(&server.base).await?;
    let token = set_up(&server.base).await?;
    let auth = format!("Authorization: Bearer {token}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = support::rss_of(pid);
    let sampler = support::Sampler::start(pid);
    let bare = support::start_bare(None)?;
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
        let server = support::start_slugbase(
            dir,
            Placement::OneCoreEach.server_cpus(),
            &[("GO_RATE_LIMIT", "0".into())],
        )?;
        support::wait_ready(&server.base).await?;
        let sampler = support::Sampler::start(server.child.id());
        let bare = support::start_bare(Placement::OneCoreEach.server_cpus())?;
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
