//! A provider's endpoints and keys: discovery (`{issuer}/.well-known/openid-configuration` and
//! the key set it names), cached for a while per issuer, with the admin's endpoint overrides on
//! top; and the original's derived endpoints for starting a sign-in when discovery is
//! impossible.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AuthUrl, DiscoveryError, EmptyAdditionalProviderMetadata, IssuerUrl, JsonWebKeySetUrl, ResponseTypes,
    TokenUrl, UserInfoUrl,
};

use super::net::{describe, OidcHttp};
use super::providers::ProviderRow;

pub type Metadata = CoreProviderMetadata;

/// How long discovered metadata (and the keys in it) is reused.
const TTL: Duration = Duration::from_secs(600);

/// Discovered metadata per issuer.
#[derive(Default)]
pub struct MetadataCache {
    map: Mutex<HashMap<String, (Instant, Arc<Metadata>)>>,
}

impl MetadataCache {
    fn get(&self, issuer: &str) -> Option<Arc<Metadata>> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(issuer)
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, m)| m.clone())
    }

    fn put(&self, issuer: &str, meta: Arc<Metadata>) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100 {
            map.retain(|_, (at, _)| at.elapsed() < TTL);
        }
        map.insert(issuer.to_string(), (Instant::now(), meta));
    }

    pub fn forget(&self, issuer: &str) {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).remove(issuer);
    }
}

/// The provider's discovery document and keys, from the cache unless `fresh`. The configured
/// issuer must be the provider's own, byte for byte, except for one trailing slash (the original
/// ignored trailing slashes): the ID tokens are checked against the provider's spelling.
pub async fn discover(
    http: &OidcHttp,
    cache: &MetadataCache,
    issuer: &str,
    fresh: bool,
) -> Result<Arc<Metadata>, String> {
    if !fresh {
        if let Some(m) = cache.get(issuer) {
            return Ok(m);
        }
    }
    let url = IssuerUrl::new(issuer.to_string()).map_err(|_| "the issuer is not a valid URL".to_string())?;
    let meta = match Metadata::discover_async(url, http).await {
        Ok(m) => m,
        Err(DiscoveryError::Validation(_)) => {
            let other = match issuer.strip_suffix('/') {
                Some(trimmed) => trimmed.to_string(),
                None => format!("{issuer}/"),
            };
            let url = IssuerUrl::new(other).map_err(|_| "the issuer is not a valid URL".to_string())?;
            Metadata::discover_async(url, http)
                .await
                .map_err(|e| discovery_error(&e))?
        }
        Err(e) => return Err(discovery_error(&e)),
    };
    let meta = Arc::new(meta);
    cache.put(issuer, meta.clone());
    Ok(meta)
}

fn discovery_error(e: &DiscoveryError<super::net::NetError>) -> String {
    match e {
        DiscoveryError::Request(r) => format!("discovery: {}", describe(r)),
        DiscoveryError::Response(status, _, _) => format!("discovery: HTTP status {}", status.as_u16()),
        DiscoveryError::Parse(_) => "discovery: the document does not parse".into(),
        DiscoveryError::Validation(m) => format!("discovery: {m}"),
        DiscoveryError::UrlParse(_) => "discovery: invalid URL".into(),
        _ => "discovery failed".into(),
    }
}

fn override_url(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|u| !u.is_empty())
}

/// Discovered metadata with the admin's endpoint overrides, which win.
pub fn with_overrides(meta: &Metadata, p: &ProviderRow) -> Result<Metadata, String> {
    let mut meta = meta.clone();
    if let Some(u) = override_url(&p.authorization_url) {
        meta = meta.set_authorization_endpoint(AuthUrl::new(u.to_string()).map_err(|_| "authorization_url")?);
    }
    if let Some(u) = override_url(&p.token_url) {
        meta = meta.set_token_endpoint(Some(TokenUrl::new(u.to_string()).map_err(|_| "token_url")?));
    }
    if let Some(u) = override_url(&p.userinfo_url) {
        meta = meta.set_userinfo_endpoint(Some(UserInfoUrl::new(u.to_string()).map_err(|_| "userinfo_url")?));
    }
    Ok(meta)
}

/// The original's endpoints for an issuer (no discovery): Google's and Microsoft's known ones,
/// else `{issuer}/authorize`, `{issuer}/token`, `{issuer}/userinfo`.
pub fn derived_endpoints(issuer: &str) -> (String, String, String) {
    let issuer = issuer.trim_end_matches('/');
    let host = url::Url::parse(issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
    if host.as_deref() == Some("accounts.google.com") {
        return (
            "https://accounts.google.com/o/oauth2/v2/auth".into(),
            "https://oauth2.googleapis.com/token".into(),
            "https://openidconnect.googleapis.com/v1/userinfo".into(),
        );
    }
    if issuer.contains("login.microsoftonline.com") {
        if let Some(tenant) = issuer.strip_suffix("/v2.0") {
            return (
                format!("{tenant}/oauth2/v2.0/authorize"),
                format!("{tenant}/oauth2/v2.0/token"),
                "https://graph.microsoft.com/oidc/userinfo".into(),
            );
        }
    }
    (
        format!("{issuer}/authorize"),
        format!("{issuer}/token"),
        format!("{issuer}/userinfo"),
    )
}

/// Metadata without discovery, enough to send the browser to the provider: the overrides, else
/// the derived endpoints, and no keys (a sign-in started this way can only finish once discovery
/// works).
pub fn without_discovery(p: &ProviderRow) -> Result<Metadata, String> {
    let (auth, token, userinfo) = derived_endpoints(&p.issuer_url);
    let pick = |o: &Option<String>, d: String| override_url(o).map(str::to_string).unwrap_or(d);
    let issuer = IssuerUrl::new(p.issuer_url.clone()).map_err(|_| "issuer_url")?;
    let jwks = JsonWebKeySetUrl::new(format!("{}/jwks", p.issuer_url.trim_end_matches('/')))
        .map_err(|_| "issuer_url")?;
    let meta = Metadata::new(
        issuer,
        AuthUrl::new(pick(&p.authorization_url, auth)).map_err(|_| "authorization_url")?,
        jwks,
        vec![ResponseTypes::new(vec![CoreResponseType::Code])],
        vec![CoreSubjectIdentifierType::Public],
        vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256],
        EmptyAdditionalProviderMetadata {},
    )
    .set_token_endpoint(Some(
        TokenUrl::new(pick(&p.token_url, token)).map_err(|_| "token_url")?,
    ))
    .set_userinfo_endpoint(Some(
        UserInfoUrl::new(pick(&p.userinfo_url, userinfo)).map_err(|_| "userinfo_url")?,
    ));
    Ok(meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_endpoints_follow_the_original() {
        assert_eq!(
            derived_endpoints("https://203.0.113.10/realms/fixture/"),
            (
                "https://203.0.113.10/realms/fixture/authorize".into(),
                "https://203.0.113.10/realms/fixture/token".into(),
                "https://203.0.113.10/realms/fixture/userinfo".into()
            )
        );
        assert_eq!(
            derived_endpoints("https://accounts.google.com").0,
            "https://accounts.google.com/o/oauth2/v2/auth"
        );
        let ms = derived_endpoints("https://login.microsoftonline.com/tenant-id/v2.0");
        assert_eq!(
            ms.0,
            "https://login.microsoftonline.com/tenant-id/oauth2/v2.0/authorize"
        );
        assert_eq!(ms.2, "https://graph.microsoft.com/oidc/userinfo");
    }
}
