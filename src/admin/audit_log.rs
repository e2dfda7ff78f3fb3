//! The audit log for admins: newest first, filtered, with a cursor to older events.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::audit::{self, AuditEntry, Filter};
use crate::db::{Db, Ts};
use crate::error::{Error, Result};

#[derive(Deserialize, IntoParams, Default)]
pub struct AuditQuery {
    /// 1–100, default 50.
    pub limit: Option<String>,
    /// Cursor: `created_at` of the last event of the previous page (with `before_id`).
    #[param(schema_with = crate::input::date_time_or_empty)]
    pub before_created_at: Option<String>,
    /// Cursor: `id` of the last event of the previous page (with `before_created_at`).
    pub before_id: Option<String>,
    /// Only this action, e.g. `auth.login_failed`.
    pub action: Option<String>,
    pub actor_user_id: Option<String>,
    pub entity_type: Option<String>,
    /// Only events at or after this time (ISO 8601; empty: no limit).
    #[param(schema_with = crate::input::date_time_or_empty)]
    pub since: Option<String>,
    /// Only events before this time (ISO 8601; empty: no limit).
    #[param(schema_with = crate::input::date_time_or_empty)]
    pub until: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Cursor {
    pub before_created_at: Ts,
    pub before_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub events: Vec<AuditEntry>,
    /// Null on the last page.
    pub next_cursor: Option<Cursor>,
}

fn time(field: &str, v: &Option<String>) -> Result<Option<Ts>> {
    match v.as_deref().filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => Ts::parse_input(s)
            .map(Some)
            .ok_or_else(|| Error::invalid(field, format!("{field} must be an ISO 8601 date and time"))),
    }
}

/// One page of the audit log.
pub async fn page(db: &Db, q: AuditQuery) -> Result<AuditPage> {
    let limit = q
        .limit
        .as_deref()
        .and_then(|l| l.parse::<i64>().ok())
        .unwrap_or(50)
        .clamp(1, 100);
    let before = match (q.before_created_at.as_deref(), q.before_id.as_deref()) {
        (None, None) => None,
        (Some(c), Some(i)) => Some((
            Ts::parse(c).ok_or_else(|| Error::invalid("before_created_at", "Invalid cursor"))?,
            i.to_string(),
        )),
        _ => {
            return Err(
                Error::bad_request("Pagination requires both before_created_at and before_id")
                    .with_code("VALIDATION_ERROR"),
            )
        }
    };
    let filter = Filter {
        limit,
        before,
        action: q.action.filter(|s| !s.is_empty()),
        actor_user_id: q.actor_user_id.filter(|s| !s.is_empty()),
        entity_type: q.entity_type.filter(|s| !s.is_empty()),
        since: time("since", &q.since)?,
        until: time("until", &q.until)?,
    };
    let events = audit::list(db, &filter).await?;
    let next_cursor = if events.len() as i64 == limit {
        events.last().and_then(|e| {
            e.created_at.map(|c| Cursor {
                before_created_at: c,
                before_id: e.id.clone(),
            })
        })
    } else {
        None
    };
    Ok(AuditPage { events, next_cursor })
}
