//! Slow and silent clients, with raw sockets: a request head must arrive within
//! `HTTP_HEADER_TIMEOUT`, a kept-alive connection may idle for `HTTP_IDLE_TIMEOUT`, a body must
//! arrive within `HTTP_BODY_TIMEOUT` (408), and connections over `MAX_CONNECTIONS` are answered
//! 503 and closed. The deadlines are short here; each check allows a wide margin so a busy
//! machine cannot make it fail.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{Backend, TestApp};

const LIMITS: &[(&str, &str)] = &[
    ("HTTP_HEADER_TIMEOUT", "1"),
    ("HTTP_IDLE_TIMEOUT", "2"),
    ("HTTP_BODY_TIMEOUT", "1"),
];

/// A low cap, and deadlines long enough not to free a slot during the test.
const CAP: &[(&str, &str)] = &[("MAX_CONNECTIONS", "6"), ("HTTP_IDLE_TIMEOUT", "60")];

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .expect("connect")
}

/// Reads until the server closes the connection; `None` if it is still open after `limit`.
async fn read_until_closed(s: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(out),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// One whole answer on a kept-alive connection (head and a `Content-Length` body).
async fn read_answer(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
            .await
            .expect("an answer in time")
            .expect("read");
        assert!(
            n > 0,
            "closed before answering: {}",
            String::from_utf8_lossy(&out)
        );
        out.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&out);
        if let Some(end) = text.find("\r\n\r\n") {
            let len = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_string())
                })
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if out.len() >= end + 4 + len {
                return text.into_owned();
            }
        }
    }
}

fn host(app: &TestApp) -> &str {
    app.base.trim_start_matches("http://")
}

async fn a_silent_request_head_is_closed(app: TestApp) {
    let mut s = connect(&app).await;
    s.write_all(format!("GET /api/health HTTP/1.1\r\nHost: {}\r\n", host(&app)).as_bytes())
        .await
        .unwrap();
    let started = Instant::now();
    let got = read_until_closed(&mut s, Duration::from_secs(15)).await;
    assert!(got.is_some(), "a head that never ends is cut off");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "not before the timeout"
    );

    // Trickling one byte at a time does not keep it open either.
    let mut s = connect(&app).await;
    let head = format!("GET /api/health HTTP/1.1\r\nHost: {}\r\nX-Slow: ", host(&app));
    s.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut closed = false;
    while started.elapsed() < Duration::from_secs(15) {
        if s.write_all(b"a").await.is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 64];
        match tokio::time::timeout(Duration::from_millis(300), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            _ => {}
        }
    }
    assert!(closed, "a trickled head is cut off");
}

async fn an_idle_connection_is_closed_and_a_busy_one_kept(app: TestApp) {
    let mut s = connect(&app).await;
    let req = format!("GET /api/health HTTP/1.1\r\nHost: {}\r\n\r\n", host(&app));
    // Requests in turn on one connection, each well within the idle timeout.
    for _ in 0..3 {
        s.write_all(req.as_bytes()).await.unwrap();
        let answer = read_answer(&mut s).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Then nothing: the server lets it go.
    let started = Instant::now();
    assert!(
        read_until_closed(&mut s, Duration::from_secs(20)).await.is_some(),
        "an idle connection is closed"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(1400),
        "not before the idle timeout"
    );
}

async fn a_stalled_body_gets_408(app: TestApp) {
    let mut s = connect(&app).await;
    let head = format!(
        "POST /api/auth/login HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{{\"email\":",
        host(&app)
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let got = read_until_closed(&mut s, Duration::from_secs(20))
        .await
        .expect("the server answers and closes");
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
    let v: Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["code"], "REQUEST_TIMEOUT", "{v}");
}

async fn connections_over_the_cap_are_refused_politely(app: TestApp) {
    // Open connections (each answered once, then kept) until one is over the cap of 6; the test
    // client's own pooled connections count too, so the refusal may come a little earlier.
    let mut held = Vec::new();
    let mut refusal = None;
    for _ in 0..10 {
        let mut s = connect(&app).await;
        s.write_all(format!("GET /api/health HTTP/1.1\r\nHost: {}\r\n\r\n", host(&app)).as_bytes())
            .await
            .unwrap();
        let got = read_answer_or_close(&mut s).await;
        if got.starts_with("HTTP/1.1 503") {
            refusal = Some(got);
            break;
        }
        assert!(got.starts_with("HTTP/1.1 200"), "{got}");
        held.push(s);
    }
    let text = refusal.expect("a connection over the cap is refused");
    assert!(held.len() <= 6, "at most the cap is served: {}", held.len());
    assert!(text.to_ascii_lowercase().contains("retry-after: 1"), "{text}");
    let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
    let v: Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["code"], "SERVICE_UNAVAILABLE", "{v}");

    // Slots freed are slots served again.
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut s = connect(&app).await;
        s.write_all(format!("GET /api/health HTTP/1.1\r\nHost: {}\r\n\r\n", host(&app)).as_bytes())
            .await
            .unwrap();
        let got = read_answer_or_close(&mut s).await;
        if got.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "a freed slot is used again: {got}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An answer, or what came before the server closed the connection.
async fn read_answer_or_close(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return String::from_utf8_lossy(&out).into_owned(),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
        let text = String::from_utf8_lossy(&out);
        if let Some(end) = text.find("\r\n\r\n") {
            let len = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_string())
                })
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if out.len() >= end + 4 + len {
                return text.into_owned();
            }
        }
    }
}

macro_rules! with_limits {
    ($limits:ident: $($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = super::TestApp::spawn_with(super::Backend::Sqlite, super::$limits).await.unwrap();
                    super::$name(app.clone()).await;
                    app.finish().await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let Some(app) = super::TestApp::spawn_with(super::Backend::Postgres, super::$limits).await else {
                        return;
                    };
                    super::$name(app.clone()).await;
                    app.finish().await;
                }
            }
        )*
    };
}

with_limits!(LIMITS:
    a_silent_request_head_is_closed,
    an_idle_connection_is_closed_and_a_busy_one_kept,
    a_stalled_body_gets_408,
);
with_limits!(CAP: connections_over_the_cap_are_refused_politely);
