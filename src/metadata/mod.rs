//! SSRF-safe fetcher of web page metadata (title, description, site name,
//! favicon URL).
//!
//! Security model:
//! * Only absolute `http`/`https` URLs with a host, no credentials, no port 0,
//!   at most 2048 bytes.
//! * IP-literal hosts are checked against [`is_forbidden`] before any request.
//! * Host names are resolved by our own [`reqwest::dns::Resolve`]
//!   implementation which hands reqwest only the addresses that pass the
//!   [`Policy`]; reqwest then connects to exactly those addresses, so there is
//!   no DNS-rebinding window between the check and the connection.
//! * Redirects are followed manually (at most [`MAX_REDIRECTS`]) and every hop
//!   goes through the same checks.
//! * No proxy (environment proxies are ignored), no compression, the body is
//!   streamed and capped at [`MAX_BODY_BYTES`], and the whole fetch has an
//!   overall deadline.

mod html;
pub mod policy;
mod probe;

pub use probe::Probe;

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde::Serialize;
use url::Url;
use utoipa::ToSchema;

use crate::error::{Error, Kind, Result as DomainResult};
use html::*;
use policy::*;
pub use policy::{is_forbidden, Policy};

/// Maximum accepted length of a URL (input, redirect target), in bytes.
pub const MAX_URL_LEN: usize = 2048;
/// Maximum number of redirects followed.
pub const MAX_REDIRECTS: usize = 3;
/// Maximum number of body bytes read.
pub const MAX_BODY_BYTES: usize = 512 * 1024;

pub(crate) const MAX_TITLE_CHARS: usize = 500;
pub(crate) const MAX_DESCRIPTION_CHARS: usize = 1000;
pub(crate) const MAX_SITE_NAME_CHARS: usize = 200;
/// Cap on the raw `<title>` text collected before whitespace collapsing.
pub(crate) const MAX_RAW_TITLE_BYTES: usize = 64 * 1024;

const USER_AGENT: &str = "Mozilla/5.0 (compatible; SlugBase/1.0)";
const ACCEPT: &str = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(4);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(8);
/// Added to the per-request timeout to get the overall deadline (8 s -> 10 s).
const DEADLINE_SLACK: Duration = Duration::from_secs(2);

/// Metadata extracted from a page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageMeta {
    /// `<title>`, else `og:title`; entities decoded, whitespace collapsed,
    /// trimmed, at most 500 characters.
    pub title: Option<String>,
    /// `<meta name=description>`, else `og:description`; at most 1000 characters.
    pub description: Option<String>,
    /// `og:site_name`; at most 200 characters.
    pub site_name: Option<String>,
    /// First icon `<link>` resolved against `final_url`, else `<origin>/favicon.ico`.
    pub favicon_url: Option<String>,
    /// URL after redirects.
    pub final_url: String,
}

/// Why a fetch failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FetchError {
    /// The input is not an acceptable URL (not absolute http(s), credentials,
    /// port 0, too long, ...).
    #[error("{0}")]
    Invalid(String),
    /// The URL or a redirect points to a forbidden address or host name.
    #[error("{0}")]
    Blocked(String),
    /// Network error, timeout, non-2xx status, not HTML, too many redirects.
    #[error("{0}")]
    Failed(String),
}

// ---------------------------------------------------------------------------
// Fetcher
// ---------------------------------------------------------------------------

/// Fetches page metadata under a [`Policy`]. Cheap to clone.
#[derive(Clone)]
pub struct Fetcher {
    client: Result<reqwest::Client, String>,
    policy: Arc<Policy>,
    deadline: Duration,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("policy", &self.policy)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl Fetcher {
    /// Connect timeout 4 s, per-request timeout 8 s, overall deadline 10 s.
    pub fn new(policy: Policy) -> Fetcher {
        Fetcher::with_timeouts(policy, CONNECT_TIMEOUT, REQUEST_TIMEOUT)
    }

    /// Like [`Fetcher::new`] with custom timeouts; the overall deadline (all
    /// redirect hops) is `total + 2 s`.
    pub fn with_timeouts(policy: Policy, connect: Duration, total: Duration) -> Fetcher {
        let policy = Arc::new(policy);
        let resolver = Arc::new(PolicyResolver {
            policy: Arc::clone(&policy),
        });
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(resolver)
            .connect_timeout(connect)
            .timeout(total)
            .user_agent(USER_AGENT)
            .pool_max_idle_per_host(0)
            .build()
            .map_err(|_| "HTTP client unavailable".to_owned());
        Fetcher {
            client,
            policy,
            deadline: total.saturating_add(DEADLINE_SLACK),
        }
    }

    /// Fetch `url` (following up to 3 redirects) and extract its metadata.
    pub async fn fetch(&self, url: &str) -> Result<PageMeta, FetchError> {
        match tokio::time::timeout(self.deadline, self.fetch_inner(url)).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Failed("timed out".to_owned())),
        }
    }

    async fn fetch_inner(&self, input: &str) -> Result<PageMeta, FetchError> {
        let client = self.client.as_ref().map_err(|e| FetchError::Failed(e.clone()))?;
        let input = input.trim();
        if input.len() > MAX_URL_LEN {
            return Err(FetchError::Invalid("URL is too long".to_owned()));
        }
        let mut url =
            Url::parse(input).map_err(|_| FetchError::Invalid("not a valid absolute URL".to_owned()))?;
        let mut redirects = 0usize;
        loop {
            let host = check_url(&self.policy, &url, redirects > 0)?;
            let response = client
                .get(url.clone())
                .header(reqwest::header::ACCEPT, ACCEPT)
                .send()
                .await
                .map_err(|e| map_send_error(&e, &host))?;
            let status = response.status();
            if matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
                if let Some(location) = response.headers().get(reqwest::header::LOCATION) {
                    if redirects >= MAX_REDIRECTS {
                        return Err(FetchError::Failed("too many redirects".to_owned()));
                    }
                    let location = String::from_utf8_lossy(location.as_bytes()).into_owned();
                    if location.len() > MAX_URL_LEN {
                        return Err(FetchError::Failed("invalid redirect: URL is too long".to_owned()));
                    }
                    url = url
                        .join(location.trim())
                        .map_err(|_| FetchError::Failed("invalid redirect: bad Location".to_owned()))?;
                    redirects += 1;
                    continue;
                }
            }
            if !status.is_success() {
                return Err(FetchError::Failed(format!(
                    "{host} answered with HTTP status {}",
                    status.as_u16()
                )));
            }
            // A non-ASCII Content-Type is treated as "not HTML".
            let content_type = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .map(|value| value.to_str().unwrap_or("invalid").trim().to_owned());
            let must_sniff = match content_type.as_deref() {
                None | Some("") => true,
                Some(ct) if is_html_content_type(ct) => false,
                Some(_) => return Err(not_html()),
            };
            return read_and_parse(response, url, &host, must_sniff).await;
        }
    }
}

async fn read_and_parse(
    response: reqwest::Response,
    final_url: Url,
    host: &str,
    mut must_sniff: bool,
) -> Result<PageMeta, FetchError> {
    let mut body: Vec<u8> = Vec::new();
    let mut stream = response.bytes_stream();
    let mut scanned = 0usize;
    let mut next_probe = 0usize;
    let mut marker_seen = false;
    let mut early: Option<HeadInfo> = None;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| map_body_error(&e, host))?;
        let room = MAX_BODY_BYTES.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        // Stop reading early once the head is complete. Parse only when a
        // marker shows up, and at most each time the body doubled.
        let from = scanned.saturating_sub(5);
        marker_seen = marker_seen || has_head_end_marker(&body[from..]);
        scanned = body.len();
        if must_sniff && (marker_seen || body.len() >= SNIFF_BYTES) {
            if !looks_like_html(&body) {
                return Err(not_html());
            }
            must_sniff = false;
        }
        if body.len() >= MAX_BODY_BYTES {
            break;
        }
        if marker_seen && body.len() >= next_probe {
            let info = parse_head(&String::from_utf8_lossy(&body), &final_url);
            if info.complete {
                early = Some(info);
                break;
            }
            next_probe = body.len().saturating_mul(2);
        }
    }
    drop(stream); // closes the connection if we stopped early
    if must_sniff && !looks_like_html(&body) {
        return Err(not_html());
    }
    let info = match early {
        Some(info) => info,
        None => parse_head(&String::from_utf8_lossy(&body), &final_url),
    };
    Ok(info.into_meta(&final_url))
}

/// A page's title, description, site name and icon, to prefill a new bookmark.
#[derive(Serialize, ToSchema)]
pub struct PageMetadata {
    pub title: Option<String>,
    pub description: Option<String>,
    pub site_name: Option<String>,
    pub favicon_url: Option<String>,
    /// The URL after redirects.
    pub final_url: String,
}

/// Fetches `url`'s metadata with `fetcher` (which refuses private, loopback, link-local and
/// metadata addresses, checked after DNS resolution and on every redirect).
pub async fn page_metadata(fetcher: &Fetcher, url: Option<String>) -> DomainResult<PageMetadata> {
    let url = url
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| Error::invalid("url", "URL is required"))?;
    let url = crate::bookmarks::validate_url("url", &url)?;
    match fetcher.fetch(&url).await {
        Ok(m) => Ok(PageMetadata {
            title: m.title,
            description: m.description,
            site_name: m.site_name,
            favicon_url: m.favicon_url,
            final_url: m.final_url,
        }),
        Err(FetchError::Invalid(msg)) => Err(Error::invalid("url", msg)),
        Err(FetchError::Blocked(msg)) => Err(Error::invalid("url", msg).with_code("URL_NOT_ALLOWED")),
        Err(FetchError::Failed(msg)) => Err(Error::new(
            Kind::BadGateway,
            "FETCH_FAILED",
            format!("The page could not be read: {msg}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, SocketAddr};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    // ----- tiny test HTTP server -------------------------------------------

    enum Reply {
        /// Write these bytes, then close.
        Full(Vec<u8>),
        /// Read the request and never answer.
        Silent,
        /// Write these bytes, then keep the connection open without closing.
        PartialThenHang(Vec<u8>),
    }

    struct TestServer {
        addr: SocketAddr,
        /// Connections accepted.
        hits: Arc<AtomicUsize>,
        /// Body bytes successfully written (all connections).
        written: Arc<AtomicUsize>,
    }

    impl TestServer {
        fn url(&self, path: &str) -> String {
            format!("http://{}{}", self.addr, path)
        }
        fn hits(&self) -> usize {
            self.hits.load(Ordering::SeqCst)
        }
    }

    fn response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
        let mut out = format!("HTTP/1.1 {status}\r\n");
        for (k, v) in headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        ));
        let mut out = out.into_bytes();
        out.extend_from_slice(body);
        out
    }

    fn html(body: &str) -> Reply {
        Reply::Full(response(
            "200 OK",
            &[("Content-Type", "text/html; charset=utf-8")],
            body.as_bytes(),
        ))
    }

    fn redirect(status: &str, location: &str) -> Reply {
        Reply::Full(response(status, &[("Location", location)], b""))
    }

    async fn serve<F>(ip: &str, handler: F) -> TestServer
    where
        F: Fn(&str) -> Reply + Send + Sync + 'static,
    {
        let ip: IpAddr = ip.parse().unwrap();
        assert!(ip.is_loopback(), "tests only use loopback addresses");
        let listener = TcpListener::bind((ip, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let written = Arc::new(AtomicUsize::new(0));
        let handler = Arc::new(handler);
        let (h, w) = (Arc::clone(&hits), Arc::clone(&written));
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                h.fetch_add(1, Ordering::SeqCst);
                let handler = Arc::clone(&handler);
                let written = Arc::clone(&w);
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16384 {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).into_owned();
                    let path = head
                        .lines()
                        .next()
                        .and_then(|l| l.split_whitespace().nth(1))
                        .unwrap_or("/")
                        .to_owned();
                    match handler(&path) {
                        Reply::Full(bytes) => {
                            for piece in bytes.chunks(16 * 1024) {
                                if sock.write_all(piece).await.is_err() {
                                    return;
                                }
                                written.fetch_add(piece.len(), Ordering::SeqCst);
                            }
                            let _ = sock.shutdown().await;
                        }
                        Reply::Silent => {
                            tokio::time::sleep(Duration::from_secs(30)).await;
                        }
                        Reply::PartialThenHang(bytes) => {
                            let _ = sock.write_all(&bytes).await;
                            tokio::time::sleep(Duration::from_secs(30)).await;
                        }
                    }
                });
            }
        });
        TestServer { addr, hits, written }
    }

    fn allow(ips: &[&str]) -> Policy {
        Policy {
            allow: ips.iter().map(|s| s.parse().unwrap()).collect(),
            ..Policy::default()
        }
    }

    fn blocked(r: Result<PageMeta, FetchError>) -> String {
        match r {
            Err(FetchError::Blocked(msg)) => msg,
            other => panic!("expected Blocked, got {other:?}"),
        }
    }

    fn failed(r: Result<PageMeta, FetchError>) -> String {
        match r {
            Err(FetchError::Failed(msg)) => msg,
            other => panic!("expected Failed, got {other:?}"),
        }
    }

    const PAGE: &str = "<!DOCTYPE html><html><head>\n\
        <meta charset=\"utf-8\">\n\
        <title>\n  Tom &amp; Jerry\n   Show  </title>\n\
        <meta name=\"description\" content=\"A  cat\n and a &quot;mouse&quot;\">\n\
        <meta property=\"og:site_name\" content=\"Cartoons\">\n\
        <link rel=\"stylesheet\" href=\"/s.css\">\n\
        <link rel=\"shortcut icon\" href=\"/static/fav.png\">\n\
        <link rel=\"icon\" href=\"/second.png\">\n\
        </head><body><title>not this</title></body></html>";

    // ----- 1. literal / name blocking without network ---------------------

    #[tokio::test]
    async fn blocks_local_targets_by_default() {
        let f = Fetcher::new(Policy::default());
        let msg = blocked(f.fetch("http://127.0.0.1/").await);
        assert!(msg.contains("127.0.0.1"), "{msg}");
        let msg = blocked(f.fetch("http://[::1]/").await);
        assert!(msg.contains("[::1]"), "{msg}");
        let msg = blocked(f.fetch("http://2130706433/").await);
        assert!(msg.contains("127.0.0.1"), "{msg}");
        let msg = blocked(f.fetch("http://0x7f.1/").await);
        assert!(msg.contains("127.0.0.1"), "{msg}");
        let msg = blocked(f.fetch("http://localhost/").await);
        assert!(msg.contains("localhost"), "{msg}");
        for url in [
            "http://127.1:8080/",
            "http://0/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[64:ff9b::a00:1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fd00:ec2::254]/",
            "http://10.1.2.3/",
            "https://192.168.1.1/",
            "http://foo.localhost/",
            "http://LOCALHOST./",
            "http://printer.local/",
            "http://metadata.google.internal/",
            "http://metadata/",
            "http://svc.internal/",
        ] {
            blocked(f.fetch(url).await);
        }
    }

    #[tokio::test]
    async fn rejects_invalid_urls() {
        let f = Fetcher::new(Policy::default());
        let long = format!("http://example.com/{}", "a".repeat(MAX_URL_LEN));
        for url in [
            "",
            "example.com",
            "/relative/path",
            "ftp://example.com/",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "data:text/html,hi",
            "http://user:pw@example.com/",
            "http://user@example.com/",
            "http://example.com:0/",
            "http://example.com:99999/",
            "http://",
            long.as_str(),
        ] {
            match f.fetch(url).await {
                Err(FetchError::Invalid(_)) => {}
                other => panic!("{url:?}: expected Invalid, got {other:?}"),
            }
        }
    }

    // ----- 2. a page on an allowed loopback address -------------------------

    #[tokio::test]
    async fn extracts_metadata() {
        let server = serve("127.0.0.2", |_| html(PAGE)).await;
        let f = Fetcher::new(allow(&["127.0.0.2"]));
        let meta = f.fetch(&server.url("/page?x=1")).await.unwrap();
        assert_eq!(meta.title.as_deref(), Some("Tom & Jerry Show"));
        assert_eq!(meta.description.as_deref(), Some("A cat and a \"mouse\""));
        assert_eq!(meta.site_name.as_deref(), Some("Cartoons"));
        assert_eq!(meta.favicon_url, Some(server.url("/static/fav.png")));
        assert_eq!(meta.final_url, server.url("/page?x=1"));
        // The same page is blocked without the allow-list entry.
        let f = Fetcher::new(Policy::default());
        blocked(f.fetch(&server.url("/")).await);
        assert_eq!(server.hits(), 1);
    }

    #[tokio::test]
    async fn og_fallbacks_and_default_favicon() {
        let server = serve("127.0.0.2", |_| {
            html(
                "<html><head><meta property='og:title' content='OG &lt;Title&gt;'>\
                 <meta property='og:description' content='OG desc'>\
                 <script>var s = '<title>no</title></head><body>';</script>\
                 <style>title{} </style><!-- <title>nope</title> -->\
                 <link rel='icon' href='javascript:alert(1)'>\
                 <link rel='apple-touch-icon' href='//cdn.example/x.png'>",
            )
        })
        .await;
        let f = Fetcher::new(allow(&["127.0.0.2"]));
        let meta = f.fetch(&server.url("/a/b")).await.unwrap();
        assert_eq!(meta.title.as_deref(), Some("OG <Title>"));
        assert_eq!(meta.description.as_deref(), Some("OG desc"));
        assert_eq!(meta.site_name, None);
        assert_eq!(meta.favicon_url.as_deref(), Some("http://cdn.example/x.png"));

        let server = serve("127.0.0.2", |_| html("<p>hello")).await;
        let meta = f.fetch(&server.url("/a/b")).await.unwrap();
        assert_eq!(meta.title, None);
        assert_eq!(meta.favicon_url, Some(server.url("/favicon.ico")));
    }

    #[tokio::test]
    async fn missing_content_type_is_sniffed() {
        let server = serve("127.0.0.2", |path| {
            let body: &[u8] = if path == "/html" {
                b"\n  <!doctype html><title>Sniffed</title>"
            } else {
                b"%PDF-1.4 not html"
            };
            Reply::Full(response("200 OK", &[], body))
        })
        .await;
        let f = Fetcher::new(allow(&["127.0.0.2"]));
        let meta = f.fetch(&server.url("/html")).await.unwrap();
        assert_eq!(meta.title.as_deref(), Some("Sniffed"));
        assert_eq!(failed(f.fetch(&server.url("/pdf")).await), "not an HTML page");
    }

    // ----- 3. redirects to a forbidden address ------------------------------

    #[tokio::test]
    async fn redirect_to_forbidden_address_is_blocked() {
        let target = serve("127.0.0.3", |_| html(PAGE)).await;
        let target_addr = target.addr;
        let origin = serve("127.0.0.2", move |path| match path {
            "/abs" => redirect("302 Found", &format!("http://{target_addr}/x")),
            "/rel" => redirect("302 Found", &format!("//{target_addr}/x")),
            "/perm" => redirect("308 Permanent Redirect", &format!("http://{target_addr}/")),
            "/local" => redirect("301 Moved Permanently", "http://localhost/"),
            "/mapped" => redirect("302 Found", "http://[::ffff:127.0.0.3]/"),
            "/file" => redirect("302 Found", "file:///etc/passwd"),
            _ => html(PAGE),
        })
        .await;
        let f = Fetcher::new(allow(&["127.0.0.2"]));
        for path in ["/abs", "/rel", "/perm"] {
            let msg = blocked(f.fetch(&origin.url(path)).await);
            assert!(msg.contains("127.0.0.3"), "{msg}");
        }
        for path in ["/local", "/mapped", "/file"] {
            blocked(f.fetch(&origin.url(path)).await);
        }
        assert_eq!(target.hits(), 0, "forbidden target must not be contacted");
        assert_eq!(origin.hits(), 6);
    }

    // ----- 4. allowed redirect chains ---------------------------------------

    #[tokio::test]
    async fn follows_up_to_three_redirects() {
        let other = serve("127.0.0.3", |_| html("<title>Other host</title>")).await;
        let other_addr = other.addr;
        let server = serve("127.0.0.2", move |path| match path {
            "/start" => redirect("302 Found", "/other"),
            "/other" => redirect("301 Moved Permanently", "page?q=1"),
            "/page?q=1" => html("<title>Final</title>"),
            "/r1" => redirect("307 Temporary Redirect", "/r2"),
            "/r2" => redirect("303 See Other", "/r3"),
            "/r3" => redirect("308 Permanent Redirect", "/r4"),
            "/r4" => redirect("302 Found", "/page?q=1"),
            "/cross" => redirect("302 Found", &format!("http://{other_addr}/o")),
            "/noloc" => Reply::Full(response("302 Found", &[], b"")),
            _ => Reply::Full(response("404 Not Found", &[], b"")),
        })
        .await;
        let f = Fetcher::new(allow(&["127.0.0.2", "127.0.0.3"]));
        let meta = f.fetch(&server.url("/start")).await.unwrap();
        assert_eq!(meta.title.as_deref(), Some("Final"));
        assert_eq!(meta.final_url, server.url("/page?q=1"));
        assert_eq!(meta.favicon_url, Some(server.url("/favicon.ico")));

        // Exactly three redirects are fine.
        let meta = f.fetch(&server.url("/r2")).await.unwrap();
        assert_eq!(meta.final_url, server.url("/page?q=1"));
        // Four are not.
        assert_eq!(failed(f.fetch(&server.url("/r1")).await), "too many redirects");

        // Cross-host redirect between allowed hosts.
        let meta = f.fetch(&server.url("/cross")).await.unwrap();
        assert_eq!(meta.title.as_deref(), Some("Other host"));
        assert_eq!(meta.final_url, other.url("/o"));

        // A 3xx without Location is just a non-2xx status.
        failed(f.fetch(&server.url("/noloc")).await);
    }

    // ----- 5. status, content type, size limit ------------------------------

    #[tokio::test]
    async fn rejects_errors_and_non_html() {
        let server = serve("127.0.0.2", |path| match path {
            "/json" => Reply::Full(response(
                "200 OK",
                &[("Content-Type", "application/json")],
                b"{\"title\": \"x\"}",
            )),
            "/xhtml" => Reply::Full(response(
                "200 OK",
                &[("Content-Type", "Application/XHTML+XML")],
                b"<html><head><title>X</title></head></html>",
            )),
            "/500" => Reply::Full(response(
                "500 Internal Server Error",
                &[("Content-Type", "text/html")],
                b"<title>err</title>",
            )),
            _ => Reply::Full(response(
                "404 Not Found",
                &[("Content-Type", "text/html")],
                b"<title>nope</title>",
            )),
        })
        .await;
        let f = Fetcher::new(allow(&["127.0.0.2"]));
        assert_eq!(failed(f.fetch(&server.url("/json")).await), "not an HTML page");
        let msg = failed(f.fetch(&server.url("/missing")).await);
        assert!(msg.contains("404"), "{msg}");
        let msg = failed(f.fetch(&server.url("/500")).await);
        assert!(msg.contains("500"), "{msg}");
        let meta = f.fetch(&server.url("/xhtml")).await.unwrap();
        assert_eq!(meta.title.as_deref(), Some("X"));
    }

    #[tokio::test]
    async fn large_body_is_capped() {
        // 5 MiB, title first, no </head>; a description placed after
        // 600 KiB must not be seen because we stop at 512 KiB.
        let mut body = String::from("<html><head><title>Big page</title>");
        body.push_str(&" ".repeat(600 * 1024));
        body.push_str("<meta name=description content='too far'>");
        while body.len() < 5 * 1024 * 1024 {
            body.push_str("<!-- filler filler filler filler filler filler -->");
        }
        let body = Arc::new(body);
        let server = serve("127.0.0.2", move |_| html(&body)).await;
        let f = Fetcher::new(allow(&["127.0.0.2"]));
        let started = Instant::now();
        let meta = f.fetch(&server.url("/big")).await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(meta.title.as_deref(), Some("Big page"));
        assert_eq!(meta.description, None);
    }

    #[tokio::test]
    async fn stops_reading_after_head() {
        // The server sends the head and then keeps the connection open: we
        // must not wait for the rest of the body.
        let server = serve("127.0.0.2", |_| {
            let head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n\
                <html><head><title>Early</title></head><body>"
                .to_vec();
            Reply::PartialThenHang(head)
        })
        .await;
        let f = Fetcher::with_timeouts(
            allow(&["127.0.0.2"]),
            Duration::from_secs(2),
            Duration::from_secs(5),
        );
        let started = Instant::now();
        let meta = f.fetch(&server.url("/")).await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(meta.title.as_deref(), Some("Early"));
    }

    // ----- 6. timeouts --------------------------------------------------------

    #[tokio::test]
    async fn silent_server_times_out() {
        let server = serve("127.0.0.2", |_| Reply::Silent).await;
        let f = Fetcher::with_timeouts(
            allow(&["127.0.0.2"]),
            Duration::from_millis(300),
            Duration::from_millis(500),
        );
        let started = Instant::now();
        assert_eq!(failed(f.fetch(&server.url("/")).await), "timed out");
        assert!(started.elapsed() < Duration::from_secs(3));
        assert_eq!(server.hits(), 1);
        assert_eq!(server.written.load(Ordering::SeqCst), 0);
    }

    // ----- host names through the resolver -----------------------------------

    /// A non-blocked host name that /etc/hosts maps to 127.0.0.1 (so resolving
    /// it never leaves the machine), if there is one.
    fn loopback_name_from_hosts() -> Option<String> {
        let hosts = std::fs::read_to_string("/etc/hosts").ok()?;
        for line in hosts.lines() {
            let line = line.split('#').next().unwrap_or_default();
            let mut fields = line.split_whitespace();
            if fields.next() != Some("127.0.0.1") {
                continue;
            }
            for name in fields {
                let lower = name.to_ascii_lowercase();
                if !is_blocked_hostname(&lower) && lower.parse::<IpAddr>().is_err() {
                    return Some(lower);
                }
            }
        }
        None
    }

    #[tokio::test]
    async fn resolver_filters_addresses() {
        let Some(name) = loopback_name_from_hosts() else {
            eprintln!("no suitable /etc/hosts entry; skipping");
            return;
        };
        let server = serve("127.0.0.1", |_| html("<title>By name</title>")).await;
        let url = format!("http://{name}:{}/", server.addr.port());

        // Default policy: the resolver returns nothing -> Blocked, no connection.
        let f = Fetcher::new(Policy::default());
        let msg = blocked(f.fetch(&url).await);
        assert_eq!(msg, format!("{name} resolves to a private or reserved address"));
        assert_eq!(server.hits(), 0);

        // Allowed: goes through the resolver and connects.
        let f = Fetcher::new(allow(&["127.0.0.1"]));
        let meta = f.fetch(&url).await.unwrap();
        assert_eq!(meta.title.as_deref(), Some("By name"));
        assert_eq!(server.hits(), 1);

        // The resolver itself.
        let err = resolve_permitted(&Policy::default(), &name).await.unwrap_err();
        assert!(err.is::<ResolveBlocked>());
        let ok = resolve_permitted(&allow(&["127.0.0.1"]), &name).await.unwrap();
        assert!(ok.iter().all(|a| a.ip() == IpAddr::from([127, 0, 0, 1])));
        let err = resolve_permitted(&allow(&["127.0.0.1"]), "localhost")
            .await
            .unwrap_err();
        assert!(err.is::<ResolveBlocked>());
    }

    #[test]
    fn fetch_future_is_send() {
        fn assert_send<T: Send>(_: &T) {}
        let f = Fetcher::new(Policy::default());
        let fut = f.fetch("http://example.com/");
        assert_send(&fut);
    }

    // ----- 7. address table ------------------------------------------------------

    #[test]
    fn forbidden_addresses() {
        let forbidden = [
            "0.0.0.0",
            "0.255.255.255",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.255",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.1",
            "192.0.0.255",
            "192.0.2.1",
            "192.168.0.1",
            "192.168.255.255",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.255",
            "240.0.0.1",
            "255.255.255.254",
            "255.255.255.255",
            "::",
            "::1",
            "fc00::1",
            "fd00:ec2::254",
            "fdff:ffff::1",
            "fe80::1",
            "febf:ffff::1",
            "fec0::1",
            "ff00::1",
            "ff02::1",
            "2001:db8::1",
            "2001:db8:ffff::1",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::10.0.0.1",
            "64:ff9b:1::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:0.0.0.0",
            "::ffff:0:192.168.1.1",
            "::127.0.0.1",
            "::10.0.0.1",
            "2002:7f00:1::1",
            "2002:c0a8:101::1",
            "2001::1",
            "100::1",
        ];
        for s in forbidden {
            let ip: IpAddr = s.parse().unwrap();
            assert!(is_forbidden(ip), "{s} should be forbidden");
        }
        let public = [
            "8.8.8.8",
            "1.1.1.1",
            "9.255.255.255",
            "11.0.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "126.255.255.255",
            "128.0.0.1",
            "169.253.255.255",
            "169.255.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.0.1.1",
            "192.0.3.1",
            "192.167.255.255",
            "192.169.0.1",
            "198.17.255.255",
            "198.20.0.1",
            "198.51.99.1",
            "203.0.112.1",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "2a00:1450:4001::1",
            "64:ff9b::808:808",
            "::ffff:8.8.8.8",
            "2002:808:808::1",
            "2001:db9::1",
            "fbff:ffff::1",
            "fe00::1",
        ];
        for s in public {
            let ip: IpAddr = s.parse().unwrap();
            assert!(!is_forbidden(ip), "{s} should be allowed");
        }
    }

    #[test]
    fn policy_allow_list() {
        let p = allow(&["127.0.0.2", "::1"]);
        assert!(p.permits("127.0.0.2".parse().unwrap()));
        assert!(p.permits("::ffff:127.0.0.2".parse().unwrap()));
        assert!(p.permits("::1".parse().unwrap()));
        assert!(!p.permits("127.0.0.3".parse().unwrap()));
        assert!(p.permits("8.8.8.8".parse().unwrap()));
        assert!(!Policy::default().permits("127.0.0.2".parse().unwrap()));
    }

    // ----- parsing ----------------------------------------------------------------

    fn base() -> Url {
        Url::parse("https://example.com/dir/page.html").unwrap()
    }

    #[test]
    fn parse_details() {
        let info = parse_head(PAGE, &base());
        assert!(info.complete);
        let meta = info.into_meta(&base());
        assert_eq!(meta.title.as_deref(), Some("Tom & Jerry Show"));
        assert_eq!(
            meta.favicon_url.as_deref(),
            Some("https://example.com/static/fav.png")
        );

        // Unclosed title at EOF, relative icon, NAME attribute case.
        let meta = parse_head(
            "<LINK REL='Icon' HREF='icons/a.ico'><TITLE>Half &eacute;t&eacute;",
            &base(),
        )
        .into_meta(&base());
        assert_eq!(meta.title.as_deref(), Some("Half été"));
        assert_eq!(
            meta.favicon_url.as_deref(),
            Some("https://example.com/dir/icons/a.ico")
        );

        // Truncation by characters, not bytes.
        let long = "é".repeat(600);
        let meta = parse_head(&format!("<title>{long}</title>"), &base()).into_meta(&base());
        assert_eq!(meta.title.unwrap().chars().count(), MAX_TITLE_CHARS);
        let meta = parse_head(
            &format!("<meta property='og:site_name' content='{}'>", "x ".repeat(500)),
            &base(),
        )
        .into_meta(&base());
        assert_eq!(meta.site_name.unwrap().chars().count(), MAX_SITE_NAME_CHARS - 1);

        // Whitespace-only title falls back to og:title.
        let meta = parse_head(
            "<title> \n </title><meta name='og:title' content='Fallback'>",
            &base(),
        )
        .into_meta(&base());
        assert_eq!(meta.title.as_deref(), Some("Fallback"));

        // Markers inside raw-text elements do not end the head.
        let info = parse_head(
            "<script>if (a</b) x='</head><body>'</script><title>T</title>",
            &base(),
        );
        assert!(!info.complete);
        assert_eq!(info.title.as_deref(), Some("T"));

        // Everything after <body> is ignored.
        let meta = parse_head("<body><title>late</title>", &base()).into_meta(&base());
        assert_eq!(meta.title, None);
    }

    #[test]
    fn clean_text_rules() {
        assert_eq!(clean_text("  a \t\n b\u{0}c  ", 100).as_deref(), Some("a b c"));
        assert_eq!(clean_text(" \n\t ", 100), None);
        assert_eq!(clean_text("abc def", 4).as_deref(), Some("abc"));
    }

    #[test]
    fn sniffing() {
        assert!(looks_like_html(b"<!DOCTYPE html>"));
        assert!(looks_like_html(b"\xEF\xBB\xBF \n<HTML lang=en>"));
        assert!(looks_like_html(b"<!-- x -->"));
        assert!(looks_like_html(b"<p>hi"));
        assert!(!looks_like_html(b"<pre>"));
        assert!(!looks_like_html(b"{\"a\":1}"));
        assert!(!looks_like_html(b"<?xml version='1.0'?><svg>"));
        assert!(!looks_like_html(b""));
    }

    #[test]
    fn parser_survives_garbage() {
        // Deterministic pseudo-random inputs built from HTML-ish fragments.
        let pieces = [
            "<",
            ">",
            "</",
            "<title>",
            "</title>",
            "<script>",
            "</script>",
            "<style>",
            "<!--",
            "-->",
            "<![CDATA[",
            "&",
            "&amp",
            "&#",
            "&#x",
            "&#xD800;",
            "&#0;",
            "&#1114112;",
            "\"",
            "'",
            "=",
            "<meta",
            " content=",
            " name=description",
            "<link rel=icon href=",
            "\u{0}",
            "\u{FFFD}",
            "é",
            "<body",
            "</head",
            "<plaintext>",
            "<textarea>",
            "<!DOCTYPE",
            " ",
            "\n",
            "<a/b/c>",
            "http://[::1",
            "//\\\\x",
        ];
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..2000 {
            let mut doc = String::new();
            let n = (seed % 40) as usize;
            for _ in 0..n {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                doc.push_str(pieces[(seed % pieces.len() as u64) as usize]);
            }
            let meta = parse_head(&doc, &base()).into_meta(&base());
            if let Some(t) = meta.title {
                assert!(t.chars().count() <= MAX_TITLE_CHARS);
            }
        }
    }
}
