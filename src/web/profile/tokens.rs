//! `/profile/tokens`: personal API tokens.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;

use super::{form_errors, form_status, head, Head};
use crate::auth::api_tokens::{self, CreateToken, TokenInfo};
use crate::db::Ts;
use crate::error::Result;
use crate::http::error::Path;
use crate::web::ctx::{client_error, redirect_with, render_status, Ctx, FormData, FormErrors, Signed};

struct TokenRow {
    info: TokenInfo,
    expired: bool,
}

#[derive(Template)]
#[template(path = "profile/tokens.html")]
struct TokensPage {
    ctx: Ctx,
    head: Head,
    tab: &'static str,
    tokens: Vec<TokenRow>,
    max: i64,
    form: FormData,
    errors: FormErrors,
    /// The plaintext of a token just created (shown once) and its name.
    new_token: Option<(String, String)>,
    /// The earliest expiry date the form accepts (tomorrow, `YYYY-MM-DD`).
    min_date: String,
}

async fn tokens_view(
    s: Signed,
    form: FormData,
    errors: FormErrors,
    new_token: Option<(String, String)>,
    status: StatusCode,
) -> Result<Response> {
    let list = api_tokens::list(&s.state.db, s.user_id()).await?;
    let now = Ts::now();
    let tokens = list
        .into_iter()
        .map(|info| TokenRow {
            expired: info.expires_at.is_some_and(|t| t <= now),
            info,
        })
        .collect();
    let head = head(&s.state, &s.auth).await?;
    let min_date = (now.0 + chrono::Duration::days(1)).format("%Y-%m-%d").to_string();
    render_status(
        status,
        &TokensPage {
            ctx: s.ctx,
            head,
            tab: "tokens",
            tokens,
            max: crate::auth::api_tokens::MAX_ACTIVE,
            form,
            errors,
            new_token,
            min_date,
        },
    )
}

pub(super) async fn tokens_page(s: Signed) -> Result<Response> {
    tokens_view(
        s,
        FormData::default(),
        FormErrors::default(),
        None,
        StatusCode::OK,
    )
    .await
}

/// The form's date (`YYYY-MM-DD`) as the end of that day, UTC; anything else as typed.
fn expiry(value: &str) -> Option<String> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    match chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        Ok(d) => Some(format!("{d}T23:59:59Z")),
        Err(_) => Some(v.to_string()),
    }
}

pub(super) async fn token_create(s: Signed, form: FormData) -> Result<Response> {
    let body = CreateToken {
        name: Some(serde_json::Value::String(form.get("name").to_string())),
        expires_at: expiry(form.get("expires_at")),
    };
    match api_tokens::create_token(&s.state.db, &s.origin, s.user_id(), body).await {
        Ok((info, token)) => {
            let name = info.name;
            tokens_view(
                s,
                FormData::default(),
                FormErrors::default(),
                Some((token, name)),
                StatusCode::OK,
            )
            .await
        }
        Err(e) => {
            let e = client_error(e)?;
            let errors = form_errors(&s.ctx, &e, &[]);
            let status = form_status(&e);
            tokens_view(s, form, errors, None, status).await
        }
    }
}

pub(super) async fn token_revoke(s: Signed, Path(id): Path<String>) -> Result<Response> {
    match api_tokens::revoke_token(&s.state.db, &s.origin, s.user_id(), &id).await {
        Ok(_) => Ok(redirect_with("/profile/tokens", "ok", s.ctx.t("tokens.revoked"))),
        Err(e) => {
            let e = client_error(e)?;
            let msg = form_errors(&s.ctx, &e, &[]).general.unwrap_or_default();
            Ok(redirect_with("/profile/tokens", "error", &msg))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Ts;

    #[test]
    fn expiry_dates_become_the_end_of_the_day() {
        assert_eq!(expiry(""), None);
        assert_eq!(expiry("2030-01-31").as_deref(), Some("2030-01-31T23:59:59Z"));
        assert_eq!(
            expiry("2030-01-31T10:00:00Z").as_deref(),
            Some("2030-01-31T10:00:00Z")
        );
        assert!(Ts::parse(&expiry("2030-01-31").unwrap()).is_some());
    }
}
