//! The audit log: append-only events with actor, address and user agent. Writing an event never
//! fails the action it records; a failed write is logged.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::db::{self, Db, Ts};
use crate::error::Result;
use crate::with_db;

/// Where a request came from, for audit events and rate limits.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip: String,
    pub user_agent: Option<String>,
}

/// Records one event: who (`actor`), what (`action`), on what (`entity_type`, `entity_id`),
/// with details (`metadata`, never secrets). Writing it never fails the action it records; a
/// failed write is logged.
pub async fn log(
    db: &Db,
    origin: &Origin,
    actor: Option<&str>,
    action: &str,
    entity_type: &str,
    entity_id: Option<&str>,
    metadata: Value,
) {
    let id = db::new_id();
    let ua = origin
        .user_agent
        .as_deref()
        .map(|u| u.chars().take(512).collect::<String>());
    let meta = sqlx::types::Json(metadata);
    let res = with_db!(db, pool => sqlx::query(
        "INSERT INTO audit_events (id, tenant_id, actor_user_id, action, entity_type, entity_id, metadata, created_at, ip, user_agent) \
         VALUES ($1, 'default', $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(&id).bind(actor).bind(action).bind(entity_type).bind(entity_id).bind(&meta)
        .bind(Ts::now()).bind(&origin.ip).bind(&ua)
        .execute(pool).await.map(|r| r.rows_affected()));
    if let Err(err) = res {
        tracing::error!(error = %err, action, "could not write audit event");
    }
    tracing::info!(target: "audit", action, actor = actor.unwrap_or(""), entity = entity_id.unwrap_or(""), "audit");
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: String,
    pub created_at: Option<Ts>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<String>,
    #[sqlx(skip)]
    #[schema(value_type = Object)]
    pub metadata: Value,
    #[serde(skip)]
    pub metadata_raw: Option<String>,
    pub actor_user_id: Option<String>,
    pub actor_email: Option<String>,
    pub actor_name: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Default)]
pub struct Filter {
    pub limit: i64,
    pub before: Option<(Ts, String)>,
    pub action: Option<String>,
    pub actor_user_id: Option<String>,
    pub entity_type: Option<String>,
    pub since: Option<Ts>,
    pub until: Option<Ts>,
}

/// One page, newest first; the cursor is (created_at, id) of the last entry.
pub async fn list(db: &Db, f: &Filter) -> Result<Vec<AuditEntry>> {
    // metadata is JSONB on PostgreSQL and text on SQLite: read it as text on both.
    let meta = if db.is_postgres() {
        "CAST(e.metadata AS TEXT)"
    } else {
        "e.metadata"
    };
    let mut sql = format!(
        "SELECT e.id, e.created_at, e.action, e.entity_type, e.entity_id, {meta} AS metadata_raw, \
         e.actor_user_id, u.email AS actor_email, u.name AS actor_name, e.ip, e.user_agent \
         FROM audit_events e LEFT JOIN users u ON u.id = e.actor_user_id WHERE e.tenant_id = 'default'"
    );
    let mut n = 0;
    let mut p = || {
        n += 1;
        format!("${n}")
    };
    if f.before.is_some() {
        let (a, b, c) = (p(), p(), p());
        sql.push_str(&format!(
            " AND (e.created_at < {a} OR (e.created_at = {b} AND e.id < {c}))"
        ));
    }
    if f.action.is_some() {
        sql.push_str(&format!(" AND e.action = {}", p()));
    }
    if f.actor_user_id.is_some() {
        sql.push_str(&format!(" AND e.actor_user_id = {}", p()));
    }
    if f.entity_type.is_some() {
        sql.push_str(&format!(" AND e.entity_type = {}", p()));
    }
    if f.since.is_some() {
        sql.push_str(&format!(" AND e.created_at >= {}", p()));
    }
    if f.until.is_some() {
        sql.push_str(&format!(" AND e.created_at < {}", p()));
    }
    sql.push_str(&format!(" ORDER BY e.created_at DESC, e.id DESC LIMIT {}", p()));
    let mut rows = with_db!(db, pool => {
        let mut q = sqlx::query_as::<_, AuditEntry>(&sql);
        if let Some((ts, id)) = &f.before {
            q = q.bind(*ts).bind(*ts).bind(id);
        }
        if let Some(v) = &f.action { q = q.bind(v); }
        if let Some(v) = &f.actor_user_id { q = q.bind(v); }
        if let Some(v) = &f.entity_type { q = q.bind(v); }
        if let Some(v) = f.since { q = q.bind(v); }
        if let Some(v) = f.until { q = q.bind(v); }
        q.bind(f.limit).fetch_all(pool).await?
    });
    for r in &mut rows {
        r.metadata = r
            .metadata_raw
            .as_deref()
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
            .filter(Value::is_object)
            .unwrap_or_else(|| Value::Object(Default::default()));
    }
    Ok(rows)
}
