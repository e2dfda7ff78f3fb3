//! Whether a URL still answers, for the dead-link checks: `HEAD` (a bounded `GET` when the server
//! refuses `HEAD`), redirects followed under the same address policy as the page fetcher, the
//! body never read.

use reqwest::Method;
use url::Url;

use super::policy::{check_url, map_send_error};
use super::{FetchError, Fetcher, MAX_URL_LEN};

/// Redirects followed before a chain counts as a loop.
const PROBE_REDIRECTS: usize = 5;

/// What probing a URL found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// The final answer's status, after redirects.
    Status(u16),
    /// More than [`PROBE_REDIRECTS`] redirects (a loop, most likely).
    TooManyRedirects,
    /// No answer in time.
    TimedOut,
    /// No connection, no such host, a broken answer.
    Unreachable(String),
    /// The URL or a redirect points to an address the policy refuses (private networks).
    Blocked(String),
    /// Not an absolute http(s) URL.
    Invalid(String),
}

impl Fetcher {
    /// Probes `url` within the fetcher's overall deadline.
    pub async fn probe(&self, url: &str) -> Probe {
        match tokio::time::timeout(self.deadline, self.probe_inner(url)).await {
            Ok(p) => p,
            Err(_) => Probe::TimedOut,
        }
    }

    async fn probe_inner(&self, input: &str) -> Probe {
        let client = match self.client.as_ref() {
            Ok(c) => c,
            Err(e) => return Probe::Unreachable(e.clone()),
        };
        let input = input.trim();
        if input.len() > MAX_URL_LEN {
            return Probe::Invalid("URL is too long".to_owned());
        }
        let Ok(mut url) = Url::parse(input) else {
            return Probe::Invalid("not a valid absolute URL".to_owned());
        };
        let mut method = Method::HEAD;
        let mut redirects = 0usize;
        loop {
            let host = match check_url(&self.policy, &url, redirects > 0) {
                Ok(h) => h,
                Err(FetchError::Blocked(why)) => return Probe::Blocked(why),
                Err(FetchError::Invalid(why)) => return Probe::Invalid(why),
                Err(FetchError::Failed(why)) => return Probe::Unreachable(why),
            };
            let response = match client.request(method.clone(), url.clone()).send().await {
                Ok(r) => r,
                Err(e) if e.is_timeout() => return Probe::TimedOut,
                Err(e) => {
                    return match map_send_error(&e, &host) {
                        FetchError::Blocked(why) => Probe::Blocked(why),
                        FetchError::Invalid(why) => Probe::Invalid(why),
                        FetchError::Failed(why) => Probe::Unreachable(why),
                    }
                }
            };
            let status = response.status().as_u16();
            // Servers that do not do HEAD: ask again with GET (whose body is never read).
            if method == Method::HEAD && matches!(status, 400 | 403 | 404 | 405 | 501) {
                method = Method::GET;
                continue;
            }
            if matches!(status, 301 | 302 | 303 | 307 | 308) {
                if let Some(location) = response.headers().get(reqwest::header::LOCATION) {
                    if redirects >= PROBE_REDIRECTS {
                        return Probe::TooManyRedirects;
                    }
                    let location = String::from_utf8_lossy(location.as_bytes()).into_owned();
                    match url.join(location.trim()) {
                        Ok(next) if next.as_str().len() <= MAX_URL_LEN => url = next,
                        _ => return Probe::Unreachable("a redirect to an invalid address".to_owned()),
                    }
                    redirects += 1;
                    continue;
                }
            }
            return Probe::Status(status);
        }
    }
}
