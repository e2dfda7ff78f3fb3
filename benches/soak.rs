//! Soak benchmark: the release `slugbase` binary (a child process, so its memory is its own) under
//! ten minutes of mixed traffic from 16 clients — go links, list pages, searches, creates, small
//! imports and sign-ins with wrong passwords — on SQLite, or on a fresh PostgreSQL database when
//! `BENCH_DATABASE_URL` names a server.
//!
//! Prints the server's resident memory every 30 s, then per route: requests, p50 and p99 latency,
//! 4xx, 5xx and transport errors; and the memory drift after the warm-up (the first minute).
//! Targets: memory flat within ±10 % after the warm-up, zero 5xx, zero transport errors.
//!
//! cargo bench --bench soak
//! BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/postgres cargo bench --bench soak
//! SOAK_SECS=120 cargo bench --bench soak      (a shorter run)

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const CLIENTS: usize = 16;
const SEED_BOOKMARKS: usize = 5_000;
const WORDS: &[&str] = &[
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo",
    "lima", "rust", "docs", "wiki", "design", "budget", "recipe", "travel", "zulu",
];

/// The routes of the mix, with their share of the requests (per mille).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Route {
    GoLink,
    List,
    Search,
    Create,
    Import,
    WrongPassword,
}

impl Route {
    fn pick(n: u64) -> Route {
        match n % 1000 {
            0..=449 => Route::GoLink,
            450..=639 => Route::List,
            640..=829 => Route::Search,
            830..=909 => Route::Create,
            910..=919 => Route::Import,
            _ => Route::WrongPassword,
        }
    }
}

#[derive(Default)]
struct Tally {
    /// Latencies in microseconds.
    micros: Vec<u32>,
    client_errors: u64,
    server_errors: u64,
    transport_errors: u64,
}

type Tallies = Arc<Mutex<BTreeMap<Route, Tally>>>;

fn bookmark(i: usize, r: u64) -> Value {
    let w = |k: u64| WORDS[((r >> (k * 5)) % WORDS.len() as u64) as usize];
    json!({
        "title": format!("{} {} {} {i}", w(0), w(1), w(2)),
        "url": format!("https://{}.example.com/{}/{i}", w(3), w(4)),
        "slug": format!("s{i}"),
        "forwarding_enabled": true,
        "tag_names": [format!("tag{}", r % 30)],
        "folder_names": [format!("Folder {}", r % 10)],
    })
}

fn xorshift(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

/// One client: picks a route, sends it, records the outcome, until `end`.
async fn client(base: String, token: String, id: usize, end: Instant, tallies: Tallies) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a client");
    let mut seed = 0x9E37_79B9_7F4A_7C15 ^ (id as u64 + 1);
    let mut made = 0usize;
    while Instant::now() < end {
        let r = xorshift(&mut seed);
        let route = Route::pick(r);
        let req = match route {
            Route::GoLink => http.get(format!("{base}/go/s{}", r % SEED_BOOKMARKS as u64)),
            Route::List => http.get(format!(
                "{base}/api/bookmarks?offset={}&limit=50",
                (r >> 8) % 2000
            )),
            Route::Search => http.get(format!(
                "{base}/api/bookmarks/search?q={}",
                &WORDS[((r >> 8) % WORDS.len() as u64) as usize][..3]
            )),
            Route::Create => {
                made += 1;
                http.post(format!("{base}/api/bookmarks")).json(&json!({
                    "title": format!("soak {id} {made}"),
                    "url": format!("https://soak.example.com/{id}/{made}"),
                }))
            }
            Route::Import => {
                made += 1;
                let items: Vec<Value> = (0..20)
                    .map(|k| {
                        json!({"title": format!("imported {id} {made} {k}"),
                               "url": format!("https://import.example.com/{id}/{made}/{k}")})
                    })
                    .collect();
                http.post(format!("{base}/api/bookmarks/import"))
                    .json(&json!({"bookmarks": items}))
            }
            Route::WrongPassword => http.post(format!("{base}/api/auth/login")).json(&json!({
                "email": format!("nobody{}@example.com", r % 500),
                "password": "not-the-password",
            })),
        };
        let req = if route == Route::WrongPassword {
            req
        } else {
            req.bearer_auth(&token)
        };
        let started = Instant::now();
        let outcome = match req.send().await {
            Ok(res) => {
                let status = res.status().as_u16();
                let _ = res.bytes().await;
                Some(status)
            }
            Err(_) => None,
        };
        let micros = started.elapsed().as_micros().min(u32::MAX as u128) as u32;
        let mut t = tallies.lock().expect("tallies");
        let tally = t.entry(route).or_default();
        tally.micros.push(micros);
        match outcome {
            Some(s) if s >= 500 => tally.server_errors += 1,
            Some(s) if s >= 400 => tally.client_errors += 1,
            Some(_) => {}
            None => tally.transport_errors += 1,
        }
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn main() -> support::Result<()> {
    let secs: u64 = std::env::var("SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let dir = tempfile::tempdir()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut env = support::database(dir.path(), "sbsoak").await?;
        env.push(("GO_RATE_LIMIT", "0".into()));
        let proc = support::start_slugbase(dir.path(), None, &env)?;
        let (pid, base) = (proc.child.id(), proc.base.clone());
        support::wait_ready(&base).await?;
        let (_, token) = support::sign_up(&base).await?;
        let mut seed = 42u64;
        let items: Vec<Value> = (0..SEED_BOOKMARKS)
            .map(|i| bookmark(i, xorshift(&mut seed)))
            .collect();
        let v: Value = reqwest::Client::new()
            .post(format!("{base}/api/bookmarks/import"))
            .bearer_auth(&token)
            .json(&json!({"bookmarks": items}))
            .send()
            .await?
            .json()
            .await?;
        if v["success"] != SEED_BOOKMARKS {
            return Err(format!("the seed import answered {v}").into());
        }
        println!(
            "seeded {SEED_BOOKMARKS} bookmarks with go links; {CLIENTS} clients for {secs} s; RSS {:.1} MiB",
            support::rss_of(pid)
        );

        let tallies: Tallies = Arc::default();
        let started = Instant::now();
        let end = started + Duration::from_secs(secs);
        let clients: Vec<_> = (0..CLIENTS)
            .map(|id| tokio::spawn(client(base.clone(), token.clone(), id, end, tallies.clone())))
            .collect();
        let mut samples = Vec::new();
        while Instant::now() < end {
            tokio::time::sleep(Duration::from_secs(30).min(end - Instant::now())).await;
            let at = started.elapsed().as_secs();
            let rss = support::rss_of(pid);
            let done: usize = tallies.lock().expect("tallies").values().map(|t| t.micros.len()).sum();
            println!("t={at:>4} s  RSS {rss:6.1} MiB  requests so far {done}");
            samples.push((at, rss));
        }
        for c in clients {
            c.await?;
        }
        let elapsed = started.elapsed().as_secs_f64();

        println!("\n| route | requests | req/s | p50 ms | p99 ms | 4xx | 5xx | transport errors |");
        println!("|---|---|---|---|---|---|---|---|");
        let mut fives = 0;
        let mut transport = 0;
        for (route, t) in tallies.lock().expect("tallies").iter_mut() {
            t.micros.sort_unstable();
            fives += t.server_errors;
            transport += t.transport_errors;
            println!(
                "| {route:?} | {} | {:.0} | {:.2} | {:.2} | {} | {} | {} |",
                t.micros.len(),
                t.micros.len() as f64 / elapsed,
                percentile(&t.micros, 0.50),
                percentile(&t.micros, 0.99),
                t.client_errors,
                t.server_errors,
                t.transport_errors
            );
        }
        let after_warmup: Vec<f64> = samples.iter().filter(|(at, _)| *at >= 60).map(|s| s.1).collect();
        if let (Some(first), Some(min), Some(max)) = (
            after_warmup.first(),
            after_warmup.iter().cloned().reduce(f64::min),
            after_warmup.iter().cloned().reduce(f64::max),
        ) {
            println!(
                "\nRSS after warm-up: first {first:.1} MiB, min {min:.1}, max {max:.1}, drift {:+.1} % / {:+.1} % of the first",
                (min - first) / first * 100.0,
                (max - first) / first * 100.0
            );
        }
        println!("5xx: {fives}; transport errors: {transport}");
        drop(proc);
        Ok(())
    })
}
