//! Change notifications between instances on one PostgreSQL database. Writes to what an
//! instance may cache (sessions, users, tokens, bookmarks, shares, go links, settings) fire a
//! statement-level trigger that notifies `slugbase_changes` at commit (migration 8). Each
//! instance listens on a connection of its own and drops its caches on every notification; a
//! lost connection, and every (re)connect, drops them too, since notifications sent meanwhile
//! are gone. SQLite has no such channel: it serves one machine, whose other processes the server
//! notices through `PRAGMA data_version`.

use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};

pub const CHANNEL: &str = "slugbase_changes";

/// Follows the notifications until the task is dropped, calling `changed` with the table that
/// changed, or with `"*"` when anything may have changed unseen.
pub async fn follow(pool: PgPool, changed: impl Fn(&str) + Send + 'static) {
    loop {
        match subscribe(&pool).await {
            Ok(mut listener) => {
                changed("*");
                loop {
                    match listener.try_recv().await {
                        Ok(Some(n)) => changed(n.payload()),
                        // The connection was lost; the next call reconnects and listens again.
                        Ok(None) => {
                            tracing::warn!("lost the change-notification connection; reconnecting");
                            changed("*");
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "change notifications stopped; will reconnect");
                            changed("*");
                            break;
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for change notifications; will retry");
                changed("*");
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn subscribe(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}
