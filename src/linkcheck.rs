//! Dead-link checks: each bookmark's URL is probed (`HEAD`, then a bounded `GET` where `HEAD` is
//! refused) with the page fetcher's address policy, at most once per `LINK_CHECK_INTERVAL` in
//! the background, or when its owner asks (`POST /api/bookmarks/check-links`; not again within
//! [`RECHECK_AFTER`]). A global cap on checks at once, a pause between two checks on one host and
//! a timeout per URL keep it polite and bounded. Rows are claimed by stamping `link_checked_at`
//! first (with `SKIP LOCKED` on PostgreSQL), so several instances never check one URL twice.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, Notify, Semaphore};

use crate::config::LinkCheckConfig;
use crate::db::{Db, Ts};
use crate::error::Result;
use crate::metadata::{Fetcher, Policy, Probe};
use crate::with_db;

/// A user's "check now" re-checks only bookmarks not checked this recently.
pub const RECHECK_AFTER: Duration = Duration::from_secs(600);
/// Rows claimed at a time.
const BATCH: i64 = 20;
/// How often the checker looks for due rows when nothing wakes it.
const POLL: Duration = Duration::from_secs(30);

/// What a probe means for a bookmark: `ok`, `broken` or `unknown`, and the HTTP status if any.
pub fn classify(p: &Probe) -> (&'static str, Option<i64>) {
    match p {
        Probe::Status(s) => {
            let code = Some(i64::from(*s));
            match s {
                200..=399 => ("ok", code),
                // It is there, but will not show itself to us.
                401 | 403 | 407 | 429 => ("unknown", code),
                400..=599 => ("broken", code),
                _ => ("unknown", code),
            }
        }
        Probe::TooManyRedirects | Probe::Unreachable(_) | Probe::Invalid(_) => ("broken", None),
        // No clear answer: a slow server, or an address we may not visit.
        Probe::TimedOut | Probe::Blocked(_) => ("unknown", None),
    }
}

/// Asks for the caller's own bookmarks to be checked soon (those not checked within
/// [`RECHECK_AFTER`]); returns how many were queued.
pub async fn request_check(db: &Db, user_id: &str) -> Result<u64> {
    let cutoff = Ts::now().minus(RECHECK_AFTER);
    Ok(with_db!(db, pool => sqlx::query(
        "UPDATE bookmarks SET link_check_requested = TRUE WHERE user_id = $1 \
         AND link_check_requested = FALSE AND (link_checked_at IS NULL OR link_checked_at < $2)")
        .bind(user_id).bind(cutoff).execute(pool).await?.rows_affected()))
}

/// Claims up to [`BATCH`] due rows: asked for, or (with an interval) not checked within it.
async fn claim(db: &Db, interval: Option<Duration>) -> Result<Vec<(String, String)>> {
    let now = Ts::now();
    // Without an interval only the asked-for rows are due (a partial index finds them).
    let due = match interval {
        Some(_) => "link_check_requested = TRUE OR link_checked_at IS NULL OR link_checked_at < $3",
        None => "link_check_requested = TRUE AND $3 IS NOT NULL",
    };
    let cutoff = now.minus(interval.unwrap_or_default());
    let (order, lock) = match db {
        Db::Postgres(_) => ("link_checked_at NULLS FIRST", " FOR UPDATE SKIP LOCKED"),
        Db::Sqlite(_) => ("link_checked_at", ""),
    };
    let sql = format!(
        "UPDATE bookmarks SET link_checked_at = $1, link_check_requested = FALSE WHERE id IN \
         (SELECT id FROM bookmarks WHERE {due} ORDER BY link_check_requested DESC, {order} LIMIT $2{lock}) \
         RETURNING id, url"
    );
    Ok(with_db!(db, pool => sqlx::query_as::<_, (String, String)>(&sql)
        .bind(now).bind(BATCH).bind(cutoff).fetch_all(pool).await?))
}

async fn record(db: &Db, id: &str, status: &str, code: Option<i64>) -> Result<()> {
    with_db!(db, pool => sqlx::query(
        "UPDATE bookmarks SET link_status = $1, link_status_code = $2 WHERE id = $3")
        .bind(status).bind(code).bind(id).execute(pool).await?.rows_affected());
    Ok(())
}

/// The host part of a URL, for spacing checks on one host.
fn host_of(url: &str) -> String {
    url::Url::parse(url.trim())
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default()
}

/// Waits until `host` may be visited again, and books the next visit.
async fn take_turn(turns: &Mutex<HashMap<String, tokio::time::Instant>>, host: &str, delay: Duration) {
    let at = {
        let mut turns = turns.lock().await;
        let now = tokio::time::Instant::now();
        let at = turns.get(host).copied().filter(|t| *t > now).unwrap_or(now);
        turns.insert(host.to_string(), at + delay);
        turns.retain(|_, t| *t > now);
        at
    };
    tokio::time::sleep_until(at).await;
}

/// The checker: runs until dropped. `wake` is notified when a user asks for checks. Its HTTP
/// client is built on first use (an idle server need not hold TLS roots for it).
pub async fn run(db: Db, policy: Policy, config: LinkCheckConfig, wake: Arc<Notify>) {
    let slots = Arc::new(Semaphore::new(config.concurrency));
    let turns = Arc::new(Mutex::new(HashMap::new()));
    let mut client: Option<Fetcher> = None;
    loop {
        match claim(&db, config.interval).await {
            Ok(rows) if !rows.is_empty() => {
                let fetcher = client
                    .get_or_insert_with(|| {
                        let connect = config.timeout.min(Duration::from_secs(4));
                        // The fetcher adds 2 s to the per-request timeout for its overall deadline.
                        let total = config
                            .timeout
                            .saturating_sub(Duration::from_secs(2))
                            .max(Duration::from_secs(1));
                        Fetcher::with_timeouts(policy.clone(), connect, total)
                    })
                    .clone();
                let mut tasks = Vec::with_capacity(rows.len());
                for (id, url) in rows {
                    let (db, fetcher, slots, turns) =
                        (db.clone(), fetcher.clone(), slots.clone(), turns.clone());
                    let delay = config.host_delay;
                    tasks.push(tokio::spawn(async move {
                        take_turn(&turns, &host_of(&url), delay).await;
                        let Ok(_slot) = slots.acquire().await else { return };
                        let (status, code) = classify(&fetcher.probe(&url).await);
                        if let Err(e) = record(&db, &id, status, code).await {
                            tracing::warn!(error = %e, bookmark = %id, "could not record a link check");
                        }
                    }));
                }
                for t in tasks {
                    let _ = t.await;
                }
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "the link checker cannot read bookmarks; will retry"),
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
    }
}
