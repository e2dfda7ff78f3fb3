//! Logging: human-readable by default, one JSON object per line with `LOG_FORMAT=json`.

use std::str::FromStr;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt;
use tracing_subscriber::prelude::*;

const DEFAULT_LEVELS: &str = "info,sqlx=warn,tower_http=warn";

/// `RUST_LOG` as a list of `level` and `target=level` (`info,slugbase=debug`). A plain target
/// list needs no regular-expression engine in the binary, unlike tracing's `EnvFilter`.
fn levels() -> Targets {
    let wanted = std::env::var("RUST_LOG").ok().filter(|v| !v.trim().is_empty());
    if let Some(v) = wanted {
        match Targets::from_str(&v) {
            Ok(t) => return t,
            Err(e) => eprintln!(
                "RUST_LOG={v:?} is not a list of level and target=level ({e}); using {DEFAULT_LEVELS}"
            ),
        }
    }
    Targets::from_str(DEFAULT_LEVELS).unwrap_or_default()
}

pub fn init(json: bool) {
    // Colours only for a terminal: escape codes are noise in files and journals, and formatting
    // them is a measurable part of each request's cost.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let registry = tracing_subscriber::registry().with(levels());
    let _ = if json {
        registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_target(false),
            )
            .try_init()
    } else {
        registry
            .with(fmt::layer().compact().with_target(false).with_ansi(ansi))
            .try_init()
    };
}

/// glibc gives each thread that allocates its own arena by default; with a runtime and database
/// threads that multiplies idle memory. Two arenas are plenty for this server.
///
/// Large blocks (128 KiB and up: request bodies, an import's rows, the visit flush's batch) always
/// get their own mapping, returned to the system when freed. By default glibc raises that
/// threshold after the first such block is freed, and later large blocks land in the heap, where
/// small long-lived allocations made meanwhile can pin their pages: after a 10,000-link import
/// 6 servers in 45 stayed at 16.4–18.1 MiB instead of ~13.5 MiB, trimming or not (none in 40
/// since).
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; called before any thread is started.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

/// Hands memory that is no longer in use back to the system: SQLite's cached pages that no
/// statement holds (each connection otherwise keeps up to 2 MiB of them until it closes), then
/// the allocator's free pages. Called after an import and every 30 seconds; a busy server refills
/// the caches from the operating system's file cache within milliseconds.
pub fn release_free_memory() {
    // SAFETY: sqlite3_release_memory is thread-safe (SQLite is built serialized) and only frees
    // cache pages that no connection is using.
    unsafe {
        libsqlite3_sys::sqlite3_release_memory(i32::MAX);
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns unused pages of the allocator to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}
