//! Bookmark benchmark: imports 100,000 bookmarks through the API, then measures the first page of
//! the list and full-text search at concurrency 32 with `wrk`, printing throughput and latency.
//!
//! cargo bench --bench bookmarks          (SQLite)
//! BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/postgres cargo bench --bench bookmarks

mod support;

use serde_json::{json, Value};

const N: usize = 100_000;
const WORDS: &[&str] = &[
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "xray",
    "yankee",
    "zulu",
    "rust",
    "kubernetes",
    "docs",
    "wiki",
    "design",
    "budget",
    "recipe",
    "travel",
];

fn main() -> support::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut b = support::start().await?;
        // Deterministic pseudo-random data.
        let mut seed: u64 = 42;
        let mut rnd = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let mut items = Vec::with_capacity(N);
        for i in 0..N {
            let title = format!("{} {} {} {i}", WORDS[rnd(WORDS.len())], WORDS[rnd(WORDS.len())], WORDS[rnd(WORDS.len())]);
            let tags: Vec<String> = (0..rnd(4)).map(|_| format!("tag{}", rnd(40))).collect();
            let folders: Vec<String> = (0..rnd(3)).map(|_| format!("Folder {}", rnd(20))).collect();
            items.push(json!({
                "title": title,
                "url": format!("https://{}.example.com/{}/{i}", WORDS[rnd(WORDS.len())], WORDS[rnd(WORDS.len())]),
                "slug": if i % 10 == 0 { format!("s{i}") } else { String::new() },
                "forwarding_enabled": i % 10 == 0,
                "pinned": i % 100 == 0,
                "tag_names": tags,
                "folder_names": folders,
                "created_at": format!("2025-{:02}-{:02}T{:02}:{:02}:{:02}.000Z", 1 + i % 12, 1 + i % 28, i % 24, i % 60, (i / 60) % 60),
            }));
        }
        let payload = serde_json::to_vec(&json!({"bookmarks": items}))?;
        println!("import payload: {:.1} MiB, {N} bookmarks", payload.len() as f64 / 1048576.0);
        let started = std::time::Instant::now();
        // Bearer requests come from a client without the session cookie (no CSRF needed).
        let res = reqwest::Client::new()
            .post(format!("{}/api/bookmarks/import", b.base))
            .bearer_auth(&b.token)
            .header("content-type", "application/json")
            .body(payload)
            .send()
            .await?;
        let elapsed = started.elapsed();
        let v: Value = res.json().await?;
        if v["success"] != N {
            return Err(format!("import of {N} answered {v}").into());
        }
        println!(
            "import: {N} bookmarks in {:.2} s ({:.0} bookmarks/s)",
            elapsed.as_secs_f64(),
            N as f64 / elapsed.as_secs_f64()
        );

        let auth = format!("Authorization: Bearer {}", b.token);
        let base = b.base.clone();
        // Each run is preceded by a 3-second warm-up (caches filled as in steady use).
        let list = tokio::task::spawn_blocking({
            let (base, auth) = (base.clone(), auth.clone());
            move || -> support::Result<support::WrkResult> {
                support::wrk(&format!("{base}/api/bookmarks"), 32, 3, None, Some(&auth))?;
                support::wrk(&format!("{base}/api/bookmarks"), 32, 10, None, Some(&auth))
            }
        })
        .await??;
        println!(
            "list (first page of 50, total {N}), concurrency 32: {:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms, non-2xx {}",
            list.rps, list.p50_ms, list.p99_ms, list.non2xx
        );

        let queries: Vec<String> = WORDS.iter().map(|w| format!("\"{}\"", &w[..3.min(w.len())])).collect();
        let script = format!(
            "local q = {{{}}}\nlocal i = 0\nrequest = function()\n  i = i + 1\n  return wrk.format(\"GET\", \"/api/bookmarks?q=\" .. q[(i % #q) + 1])\nend\n",
            queries.join(", ")
        );
        let search = tokio::task::spawn_blocking({
            let (base, auth) = (base.clone(), auth.clone());
            move || -> support::Result<support::WrkResult> {
                support::wrk(&format!("{base}/api/bookmarks"), 32, 3, Some(&script), Some(&auth))?;
                support::wrk(&format!("{base}/api/bookmarks"), 32, 10, Some(&script), Some(&auth))
            }
        })
        .await??;
        println!(
            "search (3-letter prefixes, first page), concurrency 32: {:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms, non-2xx {}",
            search.rps, search.p50_ms, search.p99_ms, search.non2xx
        );
        // The command palette: a different query string on every request (a word and a number,
        // both prefix-matched), ten ranked results, no count.
        let palette_script = format!(
            "local q = {{{}}}\nlocal i = 0\nrequest = function()\n  i = i + 1\n  return wrk.format(\"GET\", \"/api/bookmarks/search?q=\" .. q[(i % #q) + 1] .. \"%20\" .. (i % 997))\nend\n",
            queries.join(", ")
        );
        let palette = tokio::task::spawn_blocking({
            let (base, auth) = (base.clone(), auth.clone());
            move || -> support::Result<support::WrkResult> {
                let url = format!("{base}/api/bookmarks/search");
                support::wrk(&url, 32, 3, Some(&palette_script), Some(&auth))?;
                support::wrk(&url, 32, 10, Some(&palette_script), Some(&auth))
            }
        })
        .await??;
        println!(
            "palette search (distinct queries, top 10), concurrency 32: {:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms, non-2xx {}",
            palette.rps, palette.p50_ms, palette.p99_ms, palette.non2xx
        );
        // Issue 7's case: 10,000 more bookmarks shared with the bench user (through a shared folder
        // of another user), listed with scope=all.
        let admin = b.client.clone();
        let csrf: Value = admin.get(format!("{base}/api/csrf-token")).send().await?.json().await?;
        let csrf = support::text(&csrf, "csrfToken")?.to_string();
        admin
            .post(format!("{base}/api/admin/users"))
            .header("X-CSRF-Token", &csrf)
            .json(&json!({"email": "sharer@example.com", "name": "Sharer", "password": "Sharer-Passw0rd!"}))
            .send()
            .await?
            .error_for_status()?;
        let sharer = reqwest::Client::builder().cookie_store(true).build()?;
        sharer
            .post(format!("{base}/api/auth/login"))
            .json(&json!({"email": "sharer@example.com", "password": "Sharer-Passw0rd!"}))
            .send()
            .await?
            .error_for_status()?;
        let c2: Value = sharer.get(format!("{base}/api/csrf-token")).send().await?.json().await?;
        let c2 = support::text(&c2, "csrfToken")?.to_string();
        let shared: Vec<Value> = (0..10_000)
            .map(|i| json!({"title": format!("shared {} {i}", WORDS[i % WORDS.len()]), "url": format!("https://shared.example.com/{i}"),
                            "folder_names": ["For bench"], "created_at": format!("2026-02-01T00:{:02}:{:02}.000Z", (i / 60) % 60, i % 60)}))
            .collect();
        sharer
            .post(format!("{base}/api/bookmarks/import"))
            .header("X-CSRF-Token", &c2)
            .json(&json!({"bookmarks": shared}))
            .send()
            .await?
            .error_for_status()?;
        let folders: Value = sharer.get(format!("{base}/api/folders")).send().await?.json().await?;
        let me: Value = admin.get(format!("{base}/api/auth/me")).send().await?.json().await?;
        sharer
            .put(format!("{base}/api/folders/{}", support::text(&folders[0], "id")?))
            .header("X-CSRF-Token", &c2)
            .json(&json!({"user_ids": [me["id"]]}))
            .send()
            .await?
            .error_for_status()?;
        let check: Value = reqwest::Client::new()
            .get(format!("{base}/api/bookmarks?scope=all&limit=1"))
            .bearer_auth(&b.token)
            .send()
            .await?
            .json()
            .await?;
        println!("scope=all total: {} (100,000 own + 10,000 shared)", check["total"]);
        let all = tokio::task::spawn_blocking({
            let (base, auth) = (base.clone(), auth.clone());
            move || -> support::Result<support::WrkResult> {
                support::wrk(&format!("{base}/api/bookmarks?scope=all"), 32, 3, None, Some(&auth))?;
                support::wrk(&format!("{base}/api/bookmarks?scope=all"), 32, 10, None, Some(&auth))
            }
        })
        .await??;
        println!(
            "list scope=all (first page of 50, total 110000), concurrency 32: {:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms, non-2xx {}",
            all.rps, all.p50_ms, all.p99_ms, all.non2xx
        );
        println!("resident memory after the runs: {:.1} MiB", support::rss_mib());
        b.stop().await;
        Ok(())
    })
}
