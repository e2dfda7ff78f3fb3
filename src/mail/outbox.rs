//! The outbox (`mail_outbox`) and its sender.
//!
//! A message is written as a `pending` row in the transaction of the change that causes it, its
//! body encrypted (it holds live links). One sender task per instance claims due rows one at a
//! time: the claim sets `sending`, this instance as `claimed_by` and a lease (`claimed_until`).
//! On PostgreSQL the claim skips rows another instance has locked (`FOR UPDATE SKIP LOCKED`), so
//! with several instances each row goes to exactly one; on SQLite the single statement is atomic
//! under the database's write lock. A row is marked `sent` (and its body cleared) once the server
//! has accepted it. A failure is retried after 1, 2, 4 … at most 60 seconds; after a day (or at
//! once, when the server refuses the message for good) the row is `failed` and audited. A sender
//! that dies mid-send leaves a lease that lapses: another instance (or this one, restarted) sends
//! the message again with the same Message-ID. A graceful stop finishes the send in flight first,
//! so a restart sends nothing twice.

use std::time::Duration;

use serde_json::json;
use tokio::sync::watch;

use super::content::Rendered;
use super::smtp::{self, SendError, SmtpSettings};
use super::{Mailer, Outgoing};
use crate::audit::{self, Origin};
use crate::crypto::Cipher;
use crate::db::{self, Db, Tx};
use crate::error::{Error, Result};
use crate::{with_db, with_tx};

/// How long a claim holds; longer than the longest send, so a live sender never loses a row.
const LEASE_MS: i64 = 60_000;
/// The longest one send may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(20);
/// A message that could not be delivered for this long is given up.
const GIVE_UP_MS: i64 = 24 * 3600 * 1000;
/// Sent and failed rows are kept this long (for the per-address limits and for inspection).
const KEEP_MS: i64 = 7 * 24 * 3600 * 1000;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Writes a pending row in the caller's transaction; returns its id.
pub async fn insert(tx: &mut Tx, cipher: &Cipher, mail: Outgoing<'_>) -> Result<String> {
    let id = db::new_id();
    let now = now_ms();
    let body = serde_json::to_string(&mail.content.rendered).map_err(|_| Error::internal())?;
    let sealed = cipher.encrypt(&body);
    with_tx!(tx, c => sqlx::query(
        "INSERT INTO mail_outbox (id, kind, user_id, recipient, language, subject, body, status, attempts, \
         created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $8)")
        .bind(&id).bind(mail.kind.as_str()).bind(mail.user_id).bind(mail.to)
        .bind(mail.content.lang.code()).bind(&mail.content.rendered.subject).bind(&sealed).bind(now)
        .execute(c).await?.rows_affected());
    Ok(id)
}

/// How many messages of `kinds` went to (or wait for) `recipient` in the last `window`: the
/// per-address limit on mail anyone can trigger. Counted in the caller's transaction, which must
/// hold a lock that serialises the requests it limits (the account's row), so that concurrent
/// requests count each other.
pub async fn recent(tx: &mut Tx, recipient: &str, kinds: &[super::Kind], window: Duration) -> Result<i64> {
    let since = now_ms() - window.as_millis() as i64;
    let mut total = 0;
    for kind in kinds {
        let n: i64 = with_tx!(tx, c => sqlx::query_scalar(
            "SELECT COUNT(*) FROM mail_outbox WHERE recipient = $1 AND kind = $2 AND created_at > $3")
            .bind(recipient).bind(kind.as_str()).bind(since).fetch_one(c).await?);
        total += n;
    }
    Ok(total)
}

#[derive(sqlx::FromRow)]
struct Claimed {
    id: String,
    kind: String,
    recipient: String,
    language: String,
    body: Option<String>,
    attempts: i32,
    created_at: i64,
}

const CLAIM_PG: &str = "UPDATE mail_outbox AS o SET status = 'sending', claimed_by = $1, claimed_until = $3, \
     attempts = o.attempts + 1 \
     WHERE o.id = (SELECT id FROM mail_outbox \
                    WHERE (status = 'pending' AND next_attempt_at <= $2) OR (status = 'sending' AND claimed_until <= $2) \
                    ORDER BY next_attempt_at, created_at LIMIT 1 FOR UPDATE SKIP LOCKED) \
     RETURNING o.id, o.kind, o.recipient, o.language, o.body, o.attempts, o.created_at";

const CLAIM_SQLITE: &str = "UPDATE mail_outbox SET status = 'sending', claimed_by = $1, claimed_until = $3, \
     attempts = attempts + 1 \
     WHERE id = (SELECT id FROM mail_outbox \
                  WHERE (status = 'pending' AND next_attempt_at <= $2) OR (status = 'sending' AND claimed_until <= $2) \
                  ORDER BY next_attempt_at, created_at LIMIT 1) \
     RETURNING id, kind, recipient, language, body, attempts, created_at";

async fn claim(db: &Db, me: &str) -> Result<Option<Claimed>> {
    let now = now_ms();
    Ok(match db {
        Db::Postgres(pool) => {
            sqlx::query_as::<_, Claimed>(CLAIM_PG)
                .bind(me)
                .bind(now)
                .bind(now + LEASE_MS)
                .fetch_optional(pool)
                .await?
        }
        Db::Sqlite(pool) => {
            sqlx::query_as::<_, Claimed>(CLAIM_SQLITE)
                .bind(me)
                .bind(now)
                .bind(now + LEASE_MS)
                .fetch_optional(pool)
                .await?
        }
    })
}

/// When the next row is due (a read, so an idle instance does not take SQLite's write lock).
async fn next_due(db: &Db) -> Result<Option<i64>> {
    let sql = "SELECT MIN(t) FROM (\
               SELECT MIN(next_attempt_at) AS t FROM mail_outbox WHERE status = 'pending' \
               UNION ALL SELECT MIN(claimed_until) AS t FROM mail_outbox WHERE status = 'sending') AS due";
    Ok(with_db!(db, pool => sqlx::query_scalar::<_, Option<i64>>(sql).fetch_one(pool).await?))
}

async fn mark_sent(db: &Db, me: &str, id: &str) -> Result<bool> {
    let n = with_db!(db, pool => sqlx::query(
        "UPDATE mail_outbox SET status = 'sent', sent_at = $1, body = NULL, claimed_by = NULL, \
         claimed_until = NULL, last_error = NULL WHERE id = $2 AND claimed_by = $3 AND status = 'sending'")
        .bind(now_ms()).bind(id).bind(me).execute(pool).await?.rows_affected());
    Ok(n == 1)
}

/// Delay after the `attempts`-th failure: 1, 2, 4 … seconds, at most a minute, plus up to 20 %
/// so that instances do not retry in step.
fn backoff_ms(attempts: i32) -> i64 {
    let base = (1000i64 << (attempts.clamp(1, 7) - 1)).min(60_000);
    base + (rand::random::<u64>() % (base as u64 / 5).max(1)) as i64
}

async fn retry_later(db: &Db, me: &str, row: &Claimed, error: &str) -> Result<()> {
    with_db!(db, pool => sqlx::query(
        "UPDATE mail_outbox SET status = 'pending', next_attempt_at = $1, last_error = $2, claimed_by = NULL, \
         claimed_until = NULL WHERE id = $3 AND claimed_by = $4 AND status = 'sending'")
        .bind(now_ms() + backoff_ms(row.attempts)).bind(error).bind(&row.id).bind(me)
        .execute(pool).await?.rows_affected());
    Ok(())
}

async fn give_up(db: &Db, me: &str, row: &Claimed, error: &str) -> Result<()> {
    let n = with_db!(db, pool => sqlx::query(
        "UPDATE mail_outbox SET status = 'failed', body = NULL, last_error = $1, claimed_by = NULL, \
         claimed_until = NULL WHERE id = $2 AND claimed_by = $3 AND status = 'sending'")
        .bind(error).bind(&row.id).bind(me).execute(pool).await?.rows_affected());
    if n == 1 {
        record_failure(db, &row.id, &row.kind, &row.recipient, row.attempts, error).await;
    }
    Ok(())
}

async fn record_failure(db: &Db, id: &str, kind: &str, recipient: &str, attempts: i32, error: &str) {
    tracing::warn!(
        outbox_id = id,
        kind,
        attempts,
        error,
        "gave up delivering a message"
    );
    audit::log(
        db,
        &Origin::default(),
        None,
        "mail.delivery_failed",
        "mail",
        Some(id),
        json!({"outbox_id": id, "kind": kind, "recipient": recipient, "attempts": attempts, "last_error": error}),
    )
    .await;
}

/// Rows that waited a day while no SMTP server was configured are given up.
async fn expire_unsendable(db: &Db, why: &str) -> Result<()> {
    let cutoff = now_ms() - GIVE_UP_MS;
    let rows: Vec<(String, String, String, i32)> = with_db!(db, pool => sqlx::query_as(
        "UPDATE mail_outbox SET status = 'failed', body = NULL, last_error = $1 \
         WHERE status = 'pending' AND created_at <= $2 RETURNING id, kind, recipient, attempts")
        .bind(why).bind(cutoff).fetch_all(pool).await?);
    for (id, kind, recipient, attempts) in rows {
        record_failure(db, &id, &kind, &recipient, attempts, why).await;
    }
    Ok(())
}

/// Deletes sent and failed rows older than a week (housekeeping).
pub async fn purge(db: &Db) -> Result<u64> {
    let cutoff = now_ms() - KEEP_MS;
    Ok(with_db!(db, pool => sqlx::query(
        "DELETE FROM mail_outbox WHERE status IN ('sent', 'failed') AND created_at < $1")
        .bind(cutoff).execute(pool).await?.rows_affected()))
}

/// What became of one claimed row.
enum Sent {
    Yes,
    /// A failure that makes the next row unlikely to do better now (server away).
    Stalled,
    /// The row failed on its own account; go on with the next.
    No,
}

async fn deliver(db: &Db, mailer: &Mailer, settings: &SmtpSettings, row: Claimed) -> Result<Sent> {
    let me = mailer.instance();
    let rendered: Option<Rendered> = row
        .body
        .as_deref()
        .and_then(|b| mailer.cipher().decrypt(b).ok())
        .and_then(|b| serde_json::from_str(&b).ok());
    let Some(rendered) = rendered else {
        give_up(
            db,
            me,
            &row,
            "The message body cannot be read (was ENCRYPTION_KEY changed?)",
        )
        .await?;
        return Ok(Sent::No);
    };
    let message_id = format!("<{}@{}>", row.id, mailer.msgid_domain());
    let result = match smtp::build(settings, &row.recipient, &row.language, &rendered, &message_id) {
        Ok(msg) => smtp::send(settings, mailer.ca_pem(), msg, SEND_TIMEOUT).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => {
            if !mark_sent(db, me, &row.id).await? {
                tracing::warn!(outbox_id = %row.id, "a message was sent after its claim lapsed");
            }
            tracing::info!(outbox_id = %row.id, kind = %row.kind, "sent a message");
            Ok(Sent::Yes)
        }
        Err(SendError::Permanent(e)) => {
            give_up(db, me, &row, &e).await?;
            Ok(Sent::No)
        }
        Err(SendError::Temporary(e)) => {
            if now_ms() - row.created_at >= GIVE_UP_MS {
                give_up(db, me, &row, &e).await?;
            } else {
                tracing::info!(outbox_id = %row.id, attempts = row.attempts, error = %e, "will retry a message");
                retry_later(db, me, &row, &e).await?;
            }
            Ok(Sent::Stalled)
        }
    }
}

/// Sends what is due, one row at a time, until nothing is due, the server stalls, or `stop`.
/// Returns how long to wait before looking again.
async fn drain(db: &Db, mailer: &Mailer, stop: &watch::Receiver<bool>) -> Result<Duration> {
    let settings = match mailer.settings(db).await? {
        Ok(s) => s,
        Err(why) => {
            // Nothing can go out until an admin configures SMTP: look again now and then.
            expire_unsendable(db, why.message()).await?;
            return Ok(Duration::from_secs(5));
        }
    };
    while !*stop.borrow() {
        let Some(row) = claim(db, mailer.instance()).await? else {
            break;
        };
        if let Sent::Stalled = deliver(db, mailer, &settings, row).await? {
            break;
        }
    }
    Ok(Duration::from_millis(200))
}

/// The sender: runs until `stop` turns true, finishing the send in flight first. Woken by
/// [`Mailer::wake`] on this instance and by a poll every second (mail queued by other instances,
/// retries coming due).
pub async fn run(db: Db, mailer: Mailer, mut stop: watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            break;
        }
        let now = now_ms();
        let mut wait = Duration::from_secs(1);
        match next_due(&db).await {
            Ok(Some(due)) if due <= now => match drain(&db, &mailer, &stop).await {
                Ok(next) => wait = next,
                Err(e) => tracing::warn!(error = %e, "the mail sender hit an error; will retry"),
            },
            Ok(Some(due)) => wait = wait.min(Duration::from_millis((due - now) as u64)),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "the mail sender cannot read the outbox; will retry"),
        }
        tokio::select! {
            _ = mailer.woken() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
    }
}
