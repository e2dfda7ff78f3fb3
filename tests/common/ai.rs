//! A local stand-in for an OpenAI-compatible server (no network): `GET /v1/models` and
//! `POST /v1/chat/completions`, answering what the test sets and recording what it was sent.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

/// What the chat endpoint answers.
#[derive(Clone)]
pub enum Reply {
    /// A completion whose message content is this text.
    Content(String),
    /// This status and body.
    Status(u16, Value),
    /// Nothing, for this long.
    Hang(Duration),
    /// 400 to a request with `response_format` (an older server), else this content.
    NoResponseFormat(String),
}

#[derive(Default)]
struct Shared {
    reply: Mutex<Option<Reply>>,
    requests: Mutex<Vec<Value>>,
    auth: Mutex<Vec<Option<String>>>,
    chat_calls: AtomicUsize,
    model_calls: AtomicUsize,
}

#[derive(Clone)]
pub struct FakeAi {
    /// `http://127.0.0.1:<port>/v1`.
    pub base: String,
    shared: Arc<Shared>,
    _task: Arc<tokio::task::JoinHandle<()>>,
}

/// The content of a well-formed suggestion.
pub fn suggestion(title: &str, slug: &str, tags: &[&str]) -> String {
    json!({"title": title, "slug": slug, "tags": tags, "language": "en", "confidence": 0.9}).to_string()
}

impl FakeAi {
    pub async fn start() -> FakeAi {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/v1/models", get(models))
            .route("/v1/chat/completions", post(chat))
            .route("/page", get(page))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let ai = FakeAi {
            base: format!("http://127.0.0.1:{port}/v1"),
            shared,
            _task: Arc::new(task),
        };
        ai.reply(Reply::Content(suggestion(
            "Example Domain",
            "example",
            &["docs", "reference"],
        )));
        ai
    }

    /// The page's URL (`/page` on this server), with `suffix` appended.
    pub fn page_url(&self, suffix: &str) -> String {
        format!("{}/page{suffix}", self.base.trim_end_matches("/v1"))
    }

    pub fn reply(&self, r: Reply) {
        *self.shared.reply.lock().unwrap() = Some(r);
    }

    pub fn chat_calls(&self) -> usize {
        self.shared.chat_calls.load(Ordering::SeqCst)
    }

    pub fn model_calls(&self) -> usize {
        self.shared.model_calls.load(Ordering::SeqCst)
    }

    /// Bodies of the chat requests, oldest first.
    pub fn requests(&self) -> Vec<Value> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// `Authorization` headers of all requests, oldest first.
    pub fn auth_headers(&self) -> Vec<Option<String>> {
        self.shared.auth.lock().unwrap().clone()
    }
}

fn record_auth(s: &Shared, h: &HeaderMap) {
    let a = h
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    s.auth.lock().unwrap().push(a);
}

async fn models(State(s): State<Arc<Shared>>, h: HeaderMap) -> Json<Value> {
    s.model_calls.fetch_add(1, Ordering::SeqCst);
    record_auth(&s, &h);
    Json(json!({"object": "list", "data": [
        {"id": "qwen2.5:7b", "object": "model"},
        {"id": "llama3.2", "object": "model"},
    ]}))
}

/// A page to suggest for (the server may read it when `METADATA_ALLOW_HOSTS` has 127.0.0.1).
async fn page() -> Response {
    (
        [("content-type", "text/html; charset=utf-8")],
        "<!doctype html><html><head><title>Fake Page Title</title>\
         <meta name=\"description\" content=\"A page about testing AI suggestions.\"></head><body>Hi</body></html>",
    )
        .into_response()
}

fn completion(content: &str) -> Response {
    Json(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "llama3.2",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
    }))
    .into_response()
}

async fn chat(State(s): State<Arc<Shared>>, h: HeaderMap, Json(body): Json<Value>) -> Response {
    s.chat_calls.fetch_add(1, Ordering::SeqCst);
    record_auth(&s, &h);
    s.requests.lock().unwrap().push(body.clone());
    let reply = s.reply.lock().unwrap().clone();
    match reply {
        Some(Reply::Content(c)) => completion(&c),
        Some(Reply::Status(code, v)) => (StatusCode::from_u16(code).unwrap(), Json(v)).into_response(),
        Some(Reply::Hang(d)) => {
            tokio::time::sleep(d).await;
            completion("{}")
        }
        Some(Reply::NoResponseFormat(c)) => {
            if body.get("response_format").is_some() {
                (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"error": {"message": "response_format is not supported"}})),
                )
                    .into_response()
            } else {
                completion(&c)
            }
        }
        None => completion("{}"),
    }
}
