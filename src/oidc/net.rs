//! The HTTP client of the OIDC sign-in: every request it makes (discovery, the key set, the token
//! exchange, userinfo) passes the SSRF rules of the page-metadata fetcher first, with
//! `OIDC_ALLOW_HOSTS` as its allow-list.
//!
//! The URLs come from the admin's provider settings and from the provider's discovery document,
//! so each one is checked when it is requested: an IP-literal host never reaches the resolver,
//! so [`check_url`] refuses private addresses before any connection; names are resolved by the
//! policy's resolver, which hands out permitted addresses only (no DNS-rebinding window).
//! Redirects are not followed, proxies from the environment are ignored and answers are capped.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use openidconnect::{AsyncHttpClient, HttpClientError, HttpRequest, HttpResponse};
use url::Url;

use crate::metadata::policy::{check_url, Policy, PolicyResolver};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(4);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Discovery documents, key sets and token answers are a few KiB.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

pub type NetError = HttpClientError<reqwest::Error>;

/// Cheap to clone.
#[derive(Clone)]
pub struct OidcHttp {
    client: reqwest::Client,
    policy: Arc<Policy>,
}

impl OidcHttp {
    pub fn new(policy: Policy) -> Result<OidcHttp, String> {
        let policy = Arc::new(policy);
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(PolicyResolver {
                policy: Arc::clone(&policy),
            }))
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("SlugBase/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| "HTTP client unavailable".to_string())?;
        Ok(OidcHttp { client, policy })
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, NetError> {
        let url = Url::parse(&request.uri().to_string())
            .map_err(|_| HttpClientError::Other("not a valid URL".into()))?;
        check_url(&self.policy, &url, false).map_err(|e| HttpClientError::Other(e.to_string()))?;
        let (parts, body) = request.into_parts();
        let mut response = self
            .client
            .request(parts.method, url)
            .headers(parts.headers)
            .body(body)
            .send()
            .await
            .map_err(|e| HttpClientError::Reqwest(Box::new(e.without_url())))?;
        let mut builder = openidconnect::http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            builder = builder.header(name, value);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| HttpClientError::Reqwest(Box::new(e.without_url())))?
        {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(HttpClientError::Other("the answer is too large".into()));
            }
            body.extend_from_slice(&chunk);
        }
        builder.body(body).map_err(HttpClientError::Http)
    }
}

type Pending<'c> = Pin<Box<dyn Future<Output = Result<HttpResponse, NetError>> + Send + Sync + 'c>>;

impl<'c> AsyncHttpClient<'c> for OidcHttp {
    type Error = NetError;
    type Future = Pending<'c>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

/// A short description of a failed request for the log: what went wrong, never a body (a token
/// answer's body holds tokens) nor a header.
pub fn describe(e: &NetError) -> String {
    match e {
        HttpClientError::Reqwest(r) if r.is_timeout() => "timed out".into(),
        HttpClientError::Reqwest(r) if r.is_connect() => "could not connect".into(),
        HttpClientError::Reqwest(r) => {
            use crate::metadata::policy::{find_in_chain, ResolveBlocked, ResolveFailed};
            if let Some(b) = find_in_chain::<ResolveBlocked>(r.as_ref()) {
                b.to_string()
            } else if let Some(f) = find_in_chain::<ResolveFailed>(r.as_ref()) {
                f.to_string()
            } else {
                "request failed".into()
            }
        }
        HttpClientError::Http(_) => "invalid HTTP answer".into(),
        HttpClientError::Io(_) => "I/O error".into(),
        HttpClientError::Other(m) => m.clone(),
        _ => "request failed".into(),
    }
}
