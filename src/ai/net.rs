//! Requests to the AI endpoint: `GET {base}/models` and `POST {base}/chat/completions`, each
//! bounded in time (the configured timeout, at most 15 s, for connecting and answering together)
//! and in size (1 MiB of answer). Failures become `AI_UNAVAILABLE` errors: 504 when the endpoint
//! did not answer in time, 502 when it failed or answered with something we cannot use.

use std::time::Duration;

use serde_json::{json, Value};

use super::{Ai, Endpoint};
use crate::error::{Error, Kind, Result};

/// Model lists and chat answers are a few KiB.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) fn client(timeout: Duration) -> std::result::Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .use_rustls_tls()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        .timeout(timeout)
        .user_agent(concat!("SlugBase/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|_| "HTTP client unavailable".to_string())
}

pub(crate) fn failed(message: impl Into<String>) -> Error {
    Error::new(Kind::BadGateway, "AI_UNAVAILABLE", message.into())
}

pub(crate) fn timed_out() -> Error {
    Error::new(
        Kind::GatewayTimeout,
        "AI_UNAVAILABLE",
        "The AI service did not answer in time",
    )
}

fn describe(e: &reqwest::Error) -> Error {
    if e.is_timeout() {
        timed_out()
    } else if e.is_connect() {
        failed("The AI service cannot be reached")
    } else {
        failed("The request to the AI service failed")
    }
}

/// Sends `request` and reads the answer as JSON, all within `limit`.
async fn send(request: reqwest::RequestBuilder, limit: Duration) -> Result<(u16, Value)> {
    let work = async {
        let mut response = request.send().await.map_err(|e| describe(&e))?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(failed("The AI service's answer is too large"));
            }
            body.extend_from_slice(&chunk);
        }
        let value = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
        Ok((status, value))
    };
    match tokio::time::timeout(limit, work).await {
        Ok(r) => r,
        Err(_) => Err(timed_out()),
    }
}

fn request(ai: &Ai, ep: &Endpoint, method: reqwest::Method, path: &str) -> Result<reqwest::RequestBuilder> {
    let client = ai.client().map_err(failed)?;
    let mut r = client
        .request(method, format!("{}{path}", ep.base_url))
        .header(reqwest::header::ACCEPT, "application/json");
    if let Some(key) = ep.api_key.as_deref().filter(|k| !k.is_empty()) {
        r = r.bearer_auth(key);
    }
    Ok(r)
}

/// The endpoint's error message, if its answer carries one (`{"error": {"message"}}` or
/// `{"error": "…"}`), cut short.
fn endpoint_message(v: &Value) -> Option<String> {
    let m = v["error"]["message"].as_str().or(v["error"].as_str())?;
    Some(m.chars().take(200).collect())
}

fn status_error(status: u16, v: &Value) -> Error {
    match endpoint_message(v) {
        Some(m) => failed(format!("The AI service answered with HTTP status {status}: {m}")),
        None => failed(format!("The AI service answered with HTTP status {status}")),
    }
}

/// The ids of the endpoint's models, sorted.
pub(super) async fn models(ai: &Ai, ep: &Endpoint) -> Result<Vec<String>> {
    let (status, v) = send(request(ai, ep, reqwest::Method::GET, "/models")?, ai.timeout()).await?;
    if !(200..300).contains(&status) {
        return Err(status_error(status, &v));
    }
    let Some(items) = v["data"].as_array().or(v["models"].as_array()) else {
        return Err(failed(
            "The AI service's model list is not in the expected format",
        ));
    };
    let mut ids: Vec<String> = items
        .iter()
        .filter_map(|m| m["id"].as_str().or(m["name"].as_str()))
        .filter(|id| !id.is_empty() && id.len() <= 200)
        .map(str::to_string)
        .take(1000)
        .collect();
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Asks for a chat completion and returns the text of the first choice. With `schema` the
/// answer is requested as JSON matching it (`response_format`); an endpoint that refuses the
/// request (HTTP 400 or 422) is asked once more without `response_format` and `max_tokens`.
pub(super) async fn chat(ai: &Ai, ep: &Endpoint, messages: Value, schema: Option<Value>) -> Result<String> {
    let mut body = json!({
        "model": ep.model,
        "messages": messages,
        "temperature": 0.2,
        "max_tokens": 500,
        "stream": false,
    });
    if let Some(s) = &schema {
        body["response_format"] = json!({
            "type": "json_schema",
            "json_schema": {"name": "bookmark_suggestion", "strict": true, "schema": s},
        });
    }
    let started = tokio::time::Instant::now();
    let (mut status, mut v) = send(
        request(ai, ep, reqwest::Method::POST, "/chat/completions")?.json(&body),
        ai.timeout(),
    )
    .await?;
    // An older server may refuse `response_format`, a newer model `max_tokens`: once more
    // without both (the answer is bounded by our size and time limits anyway).
    if status == 400 || status == 422 {
        if let Some(obj) = body.as_object_mut() {
            obj.remove("response_format");
            obj.remove("max_tokens");
        }
        let left = ai.timeout().saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err(timed_out());
        }
        let retry = request(ai, ep, reqwest::Method::POST, "/chat/completions")?
            .json(&body)
            .timeout(left);
        (status, v) = send(retry, left).await?;
    }
    if !(200..300).contains(&status) {
        return Err(status_error(status, &v));
    }
    v["choices"][0]["message"]["content"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| failed("The AI service gave no usable answer"))
}
