//! A per-user rate limit for `/go`.

/// A fixed one-minute window per user for `/go` (in memory: it protects this instance). Counting
/// is atomic under a shared read lock, so concurrent requests never wait for each other.
#[derive(Default)]
pub struct GoLimiter {
    map: std::sync::RwLock<std::collections::HashMap<String, std::sync::Arc<GoWindow>>>,
}

#[derive(Default)]
struct GoWindow {
    minute: std::sync::atomic::AtomicI64,
    count: std::sync::atomic::AtomicU32,
}

impl GoLimiter {
    /// `Err(seconds to wait)` when the user is over `limit` this minute (0 = no limit).
    pub fn check(&self, user: &str, limit: u32) -> Result<(), u64> {
        use std::sync::atomic::Ordering;
        if limit == 0 {
            return Ok(());
        }
        let now = chrono::Utc::now().timestamp();
        let minute = now / 60;
        let found = self
            .map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(user)
            .cloned();
        let window = match found {
            Some(w) => w,
            None => {
                let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
                if map.len() > 100_000 {
                    map.retain(|_, w| w.minute.load(Ordering::Relaxed) == minute);
                }
                map.entry(user.to_string()).or_default().clone()
            }
        };
        let seen = window.minute.load(Ordering::Acquire);
        if seen != minute
            && window
                .minute
                .compare_exchange(seen, minute, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            window.count.store(0, Ordering::Release);
        }
        if window.count.fetch_add(1, Ordering::AcqRel) + 1 > limit {
            return Err((60 - now % 60).max(1) as u64);
        }
        Ok(())
    }
}
