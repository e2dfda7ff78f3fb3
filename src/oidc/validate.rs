//! The original's rules for a provider's fields (spec auth-and-admin §13.1), with its messages:
//! the key, the URLs (no private or internal hosts unless `OIDC_ALLOW_HOSTS` lists them, HTTPS
//! in production), the role; plus the group claim of the team mapping.

use std::net::IpAddr;
use std::time::Duration;

use url::{Host, Url};

use crate::error::{Error, Result};
use crate::metadata::is_forbidden;
use crate::metadata::policy::{is_blocked_hostname, Policy};

pub const MAX_KEY_CHARS: usize = 50;
pub const MAX_URL_LEN: usize = 2048;
pub const DEFAULT_SCOPES: &str = "openid profile email";

/// Keys that would collide with the fixed routes under `/api/auth/`.
const RESERVED_KEYS: &[&str] = &[
    "me",
    "providers",
    "setup",
    "register",
    "login",
    "logout",
    "logout-all",
    "refresh",
    "mfa",
];

/// The trimmed provider key, or the original's message for it.
pub fn provider_key(raw: &str) -> Result<String> {
    let key = raw.trim();
    if key.is_empty() {
        return Err(Error::invalid("provider_key", "Provider key is required"));
    }
    if key.chars().count() > MAX_KEY_CHARS {
        return Err(Error::invalid(
            "provider_key",
            "Provider key must be no more than 50 characters",
        ));
    }
    if !key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::invalid(
            "provider_key",
            "Provider key can only contain letters, numbers, hyphens, and underscores",
        ));
    }
    if RESERVED_KEYS.contains(&key.to_ascii_lowercase().as_str()) {
        return Err(Error::invalid(
            "provider_key",
            "Provider key is reserved by SlugBase",
        ));
    }
    Ok(key.to_string())
}

pub fn default_role(raw: &str) -> Result<String> {
    match raw.trim() {
        r @ ("user" | "admin") => Ok(r.to_string()),
        _ => Err(Error::invalid(
            "default_role",
            "default_role must be \"user\" or \"admin\"",
        )),
    }
}

/// Space-separated scopes, duplicates removed; the default when none are given.
pub fn scopes(raw: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for s in raw.split_whitespace() {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    if out.is_empty() {
        DEFAULT_SCOPES.to_string()
    } else {
        out.join(" ")
    }
}

/// The claim that lists a user's groups (`groups`, `roles`, `realm_access.roles` is not
/// supported: top-level claims only).
pub fn groups_claim(raw: &str) -> Result<Option<String>> {
    let c = raw.trim();
    if c.is_empty() {
        return Ok(None);
    }
    if c.chars().count() > 100
        || !c
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "-_.:/".contains(ch))
    {
        return Err(Error::invalid(
            "groups_claim",
            "The group claim must be a claim name of up to 100 letters, digits and - _ . : /",
        ));
    }
    Ok(Some(c.to_string()))
}

pub fn group_name(raw: &str) -> Result<String> {
    let g = raw.trim();
    if g.is_empty() || g.chars().count() > 255 {
        return Err(Error::invalid(
            "group_mappings",
            "Each group mapping needs a group name of 1 to 255 characters",
        ));
    }
    Ok(g.to_string())
}

fn url_error(field: &str, what: &str) -> Error {
    Error::invalid(field, format!("{field}: {what}"))
}

/// A host the admin allowed in `OIDC_ALLOW_HOSTS`.
fn allowed_host(policy: &Policy, host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => policy.allows_name(d),
        Host::Ipv4(v4) => policy.allow.iter().any(|a| a.to_canonical() == IpAddr::V4(*v4)),
        Host::Ipv6(v6) => policy
            .allow
            .iter()
            .any(|a| a.to_canonical() == IpAddr::V6(*v6).to_canonical()),
    }
}

/// Host names the original refused on top of the fetcher's list.
fn blocked_name(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    is_blocked_hostname(&h) || h.ends_with(".metadata") || h.contains("metadata.google")
}

/// Checks an issuer or endpoint URL as the original did; returns it trimmed.
pub async fn oidc_url(field: &str, raw: &str, production: bool, policy: &Policy) -> Result<String> {
    let value = raw.trim();
    if value.len() > MAX_URL_LEN {
        return Err(url_error(field, "OIDC URL must be no more than 2048 characters"));
    }
    let lower = value.to_ascii_lowercase();
    if ["javascript:", "data:", "vbscript:"]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        return Err(url_error(field, "Invalid URL format"));
    }
    let url = Url::parse(value).map_err(|_| url_error(field, "Invalid URL format"))?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host().is_none()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(url_error(field, "Invalid URL format"));
    }
    let Some(host) = url.host() else {
        return Err(url_error(field, "Invalid URL format"));
    };
    let allowed = allowed_host(policy, &host);
    if production && url.scheme() != "https" && !allowed {
        return Err(url_error(field, "OIDC URL must use HTTPS in production"));
    }
    let private = || url_error(field, "OIDC URL cannot point to private or internal addresses");
    match host {
        Host::Ipv4(v4) if !allowed && is_forbidden(IpAddr::V4(v4)) => return Err(private()),
        Host::Ipv6(v6) if !allowed && is_forbidden(IpAddr::V6(v6)) => return Err(private()),
        Host::Domain(d) if !allowed => {
            if blocked_name(d) {
                return Err(private());
            }
            let lookup = tokio::time::timeout(Duration::from_secs(5), tokio::net::lookup_host((d, 0))).await;
            let addrs: Vec<IpAddr> = match lookup {
                Ok(Ok(a)) => a.map(|s| s.ip()).collect(),
                _ => Vec::new(),
            };
            if addrs.is_empty() {
                return Err(url_error(field, "OIDC URL host could not be resolved"));
            }
            if addrs.iter().any(|ip| !policy.permits(*ip)) {
                return Err(private());
            }
        }
        _ => {}
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(provider_key(" keycloak_1 ").unwrap(), "keycloak_1");
        assert_eq!(provider_key("").unwrap_err().message, "Provider key is required");
        assert!(provider_key(&"k".repeat(51)).is_err());
        assert!(provider_key("a b").is_err());
        assert!(provider_key("Providers").is_err());
        assert!(provider_key("mfa").is_err());
    }

    #[test]
    fn scopes_are_deduplicated() {
        assert_eq!(scopes(" openid  email openid groups "), "openid email groups");
        assert_eq!(scopes("  "), DEFAULT_SCOPES);
    }

    #[tokio::test]
    async fn urls() {
        let none = Policy::default();
        let msg = |r: Result<String>| r.unwrap_err().message.to_string();
        assert_eq!(
            msg(oidc_url("issuer_url", "not a url", false, &none).await),
            "issuer_url: Invalid URL format"
        );
        assert_eq!(
            msg(oidc_url("token_url", "javascript:alert(1)", false, &none).await),
            "token_url: Invalid URL format"
        );
        for private in [
            "http://127.0.0.1:8080",
            "https://10.1.2.3/realms/x",
            "https://[::1]/",
            "https://localhost/",
            "https://auth.home.local/",
            "https://203.0.113.10/realms/fixture",
        ] {
            assert_eq!(
                msg(oidc_url("issuer_url", private, false, &none).await),
                "issuer_url: OIDC URL cannot point to private or internal addresses",
                "{private}"
            );
        }
        assert_eq!(
            msg(oidc_url("issuer_url", "http://93.184.215.14/", true, &none).await),
            "issuer_url: OIDC URL must use HTTPS in production"
        );
        let lan = Policy {
            allow: vec!["192.168.1.20".parse().unwrap()],
            allow_names: vec!["auth.home.lan".into()],
        };
        assert!(
            oidc_url("issuer_url", "http://192.168.1.20:8080/realms/x", true, &lan)
                .await
                .is_ok()
        );
        assert!(oidc_url("issuer_url", "https://auth.home.lan/", false, &lan)
            .await
            .is_ok());
        assert!(oidc_url("issuer_url", "https://192.168.1.21/", false, &lan)
            .await
            .is_err());
    }
}
