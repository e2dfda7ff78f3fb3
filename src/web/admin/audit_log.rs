//! `/admin/audit-log`: the audit log with filters and older pages.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{form_errors, message};
use crate::admin::audit_log::{self, AuditQuery};
use crate::admin::members::{self, AdminUser as Member};
use crate::audit::AuditEntry;
use crate::error::Result;
use crate::http::error::Query;
use crate::web::ctx::{client_error, enc, render_status, Admin, Ctx, FormErrors};

const AUDIT_PAGE_SIZE: i64 = 50;

/// Actions and entity types this server records, offered as suggestions in the filters.
const KNOWN_ACTIONS: &[&str] = &[
    "auth.login_succeeded",
    "auth.login_failed",
    "auth.logout",
    "auth.logout_all",
    "auth.registered",
    "auth.setup_completed",
    "api_token.created",
    "api_token.revoked",
    "bookmark.created",
    "bookmark.updated",
    "bookmark.deleted",
    "bookmark.import",
    "bookmark.bulk",
    "folder.created",
    "folder.updated",
    "folder.deleted",
    "mfa.enabled",
    "mfa.disabled",
    "mfa.verify_failed",
    "mfa.backup_code_used",
    "org_member.created",
    "org_member.deleted",
    "settings.updated",
    "settings.deleted",
    "team.created",
    "team.updated",
    "team.deleted",
    "team_member.added",
    "team_member.removed",
    "user.updated",
    "user.mfa_reset",
    "user.password_changed",
    "user.profile_updated",
    "user.self_deleted",
];
const KNOWN_ENTITY_TYPES: &[&str] = &[
    "api_token",
    "bookmark",
    "folder",
    "org_member",
    "settings",
    "tag",
    "team",
    "team_member",
    "user",
];

pub struct AuditRow {
    pub entry: AuditEntry,
    pub time_iso: String,
    pub actor: String,
    /// Compact JSON (empty for `{}`).
    pub metadata: String,
    /// `metadata` cut to a table cell's worth; the whole is the cell's title.
    pub metadata_short: String,
}

/// Characters of an event's metadata shown in the table.
const METADATA_SHOWN: usize = 120;

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

#[derive(Template)]
#[template(path = "admin/audit_log.html")]
struct AuditPage {
    ctx: Ctx,
    rows: Vec<AuditRow>,
    filter: AuditFilter,
    actors: Vec<Member>,
    actions: &'static [&'static str],
    entity_types: &'static [&'static str],
    older_url: Option<String>,
    /// Set when a cursor is in the address: the way back to the newest events.
    newest_url: Option<String>,
    errors: FormErrors,
}

#[derive(Deserialize, Default)]
pub struct AuditFilter {
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub entity_type: String,
    /// A date (`YYYY-MM-DD`), inclusive.
    #[serde(default)]
    pub from: String,
    /// A date (`YYYY-MM-DD`), inclusive.
    #[serde(default)]
    pub to: String,
    before_created_at: Option<String>,
    before_id: Option<String>,
}

impl AuditFilter {
    /// The filters as a query string (no cursor), each `k=v&`.
    fn query(&self) -> String {
        let mut s = String::new();
        for (k, v) in [
            ("action", &self.action),
            ("actor", &self.actor),
            ("entity_type", &self.entity_type),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if !v.trim().is_empty() {
                s.push_str(&format!("{k}={}&", enc(v.trim())));
            }
        }
        s
    }

    pub fn any(&self) -> bool {
        !self.query().is_empty()
    }
}

/// A date from the filter form as the API's time: its start (`to` is inclusive, so the end is
/// the next day's start). Anything else goes to the API as typed, which explains what is wrong.
fn day_start(v: &str, next: bool) -> Option<String> {
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    match chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        Ok(d) => {
            let d = if next { d.succ_opt().unwrap_or(d) } else { d };
            Some(format!("{} 00:00", d.format("%Y-%m-%d")))
        }
        Err(_) => Some(v.to_string()),
    }
}

pub(super) async fn audit_page(Admin(s): Admin, Query(filter): Query<AuditFilter>) -> Result<Response> {
    let q = AuditQuery {
        limit: Some(AUDIT_PAGE_SIZE.to_string()),
        before_created_at: filter.before_created_at.clone().filter(|v| !v.is_empty()),
        before_id: filter.before_id.clone().filter(|v| !v.is_empty()),
        action: Some(filter.action.trim().to_string()),
        actor_user_id: Some(filter.actor.trim().to_string()),
        entity_type: Some(filter.entity_type.trim().to_string()),
        since: day_start(&filter.from, false),
        until: day_start(&filter.to, true),
    };
    let (page, errors, status) = match audit_log::page(&s.state.db, q).await {
        Ok(p) => (Some(p), FormErrors::default(), StatusCode::OK),
        Err(e) => {
            let e = client_error(e)?;
            let mut errors = form_errors(&s.ctx, &e);
            // One message above the filters; the API names its own fields (since/until).
            if errors.general.is_none() {
                errors.general = Some(message(&s.ctx, &e));
            }
            (None, errors, crate::http::error::status(e.kind))
        }
    };
    let base = filter.query();
    let (rows, older_url) = match page {
        Some(p) => {
            let older = p.next_cursor.map(|c| {
                format!(
                    "/admin/audit-log?{base}before_created_at={}&before_id={}",
                    enc(&c.before_created_at.to_rfc3339()),
                    enc(&c.before_id)
                )
            });
            let rows = p
                .events
                .into_iter()
                .map(|e| AuditRow {
                    time_iso: e.created_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    actor: match (&e.actor_name, &e.actor_email, &e.actor_user_id) {
                        (Some(n), Some(m), _) => format!("{n} <{m}>"),
                        (_, Some(m), _) => m.clone(),
                        (_, _, Some(id)) => id.clone(),
                        _ => String::new(),
                    },
                    metadata: match &e.metadata {
                        serde_json::Value::Object(m) if m.is_empty() => String::new(),
                        v => v.to_string(),
                    },
                    metadata_short: String::new(),
                    entry: e,
                })
                .map(|mut r: AuditRow| {
                    r.metadata_short = shorten(&r.metadata, METADATA_SHOWN);
                    r
                })
                .collect();
            (rows, older)
        }
        None => (Vec::new(), None),
    };
    let newest_url = filter.before_id.as_ref().map(|_| {
        format!("/admin/audit-log?{base}")
            .trim_end_matches(['&', '?'])
            .to_string()
    });
    let (mut actors, _) = members::list(&s.state.db, None, None, 0).await?;
    actors.sort_by_key(|u| u.name.to_lowercase());
    render_status(
        status,
        &AuditPage {
            ctx: s.ctx,
            rows,
            filter,
            actors,
            actions: KNOWN_ACTIONS,
            entity_types: KNOWN_ENTITY_TYPES,
            older_url,
            newest_url,
            errors,
        },
    )
}
