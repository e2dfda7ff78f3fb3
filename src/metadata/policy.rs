//! Which addresses the fetcher may reach: the address and host-name rules, the resolver that
//! applies them to every address a name resolves to, and the check of each URL before it is
//! requested.

use std::error::Error as StdError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use url::{Host, Url};

use super::{FetchError, MAX_URL_LEN};

/// Which addresses may be contacted. `Policy::default()` = public internet only.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Explicit exceptions to [`is_forbidden`] (an admin allow-list).
    pub allow: Vec<IpAddr>,
    /// Host names (lower-case) the admin allowed: they bypass the blocked-name rules, and every
    /// address they resolve to may be contacted (an identity provider on the LAN).
    pub allow_names: Vec<String>,
}

impl Policy {
    /// True if `host` (any case, with or without a trailing dot) is an allowed name.
    pub fn allows_name(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.allow_names.contains(&host)
    }

    /// True if `ip` may be contacted under this policy.
    pub fn permits(&self, ip: IpAddr) -> bool {
        let canonical = ip.to_canonical();
        if self.allow.iter().any(|a| a.to_canonical() == canonical) {
            return true;
        }
        !is_forbidden(ip)
    }
}

/// True if `bits` (a 32-bit address) lies in `base/prefix`.
pub(super) fn in_v4_net(bits: u32, base: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
    bits & mask == u32::from_be_bytes(base) & mask
}

/// True if `bits` (a 128-bit address) lies in `base/prefix`.
pub(super) fn in_v6_net(bits: u128, base: u128, prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - prefix)
    };
    bits & mask == base & mask
}

pub(super) fn forbidden_v4(ip: Ipv4Addr) -> bool {
    const NETS: &[([u8; 4], u32)] = &[
        ([0, 0, 0, 0], 8),       // "this network"
        ([10, 0, 0, 0], 8),      // private
        ([100, 64, 0, 0], 10),   // carrier-grade NAT
        ([127, 0, 0, 0], 8),     // loopback
        ([169, 254, 0, 0], 16),  // link-local (cloud metadata 169.254.169.254)
        ([172, 16, 0, 0], 12),   // private
        ([192, 0, 0, 0], 24),    // IETF protocol assignments
        ([192, 0, 2, 0], 24),    // TEST-NET-1
        ([192, 168, 0, 0], 16),  // private
        ([198, 18, 0, 0], 15),   // benchmarking
        ([198, 51, 100, 0], 24), // TEST-NET-2
        ([203, 0, 113, 0], 24),  // TEST-NET-3
        ([224, 0, 0, 0], 4),     // multicast
        ([240, 0, 0, 0], 4),     // reserved, includes 255.255.255.255
    ];
    let bits = u32::from(ip);
    NETS.iter().any(|&(base, prefix)| in_v4_net(bits, base, prefix))
}

pub(super) fn forbidden_v6(ip: Ipv6Addr) -> bool {
    let bits = u128::from(ip);
    let low_v4 = Ipv4Addr::from((bits & 0xffff_ffff) as u32);

    // Forms that embed an IPv4 address: judge the embedded address.
    // ::/96 (IPv4-compatible, also covers :: and ::1 -> 0.0.0.0/8)
    if in_v6_net(bits, 0, 96) {
        return forbidden_v4(low_v4);
    }
    // ::ffff:0:0/96 (IPv4-mapped)
    if in_v6_net(bits, 0xffff_0000_0000, 96) {
        return forbidden_v4(low_v4);
    }
    // ::ffff:0:0:0/96 (IPv4-translated, SIIT)
    if in_v6_net(bits, 0xffff_0000_0000_0000, 96) {
        return forbidden_v4(low_v4);
    }
    // 64:ff9b::/96 (NAT64 well-known prefix)
    if in_v6_net(bits, 0x0064_ff9b_u128 << 96, 96) {
        return forbidden_v4(low_v4);
    }
    // 2002::/16 (6to4): the IPv4 address is in bits 16..48.
    if in_v6_net(bits, 0x2002_u128 << 112, 16) {
        let embedded = Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32);
        return forbidden_v4(embedded);
    }

    const NETS: &[(u128, u32)] = &[
        (0xfc00_u128 << 112, 7),                // unique local (fd00:ec2::254)
        (0xfe80_u128 << 112, 10),               // link-local
        (0xfec0_u128 << 112, 10),               // site-local (deprecated)
        (0xff00_u128 << 112, 8),                // multicast
        (0x2001_0db8_u128 << 96, 32),           // documentation
        (0x2001_0000_u128 << 96, 32),           // Teredo (embeds obfuscated IPv4)
        (0x0064_ff9b_0001_u128 << 80, 48),      // local-use NAT64
        (0x0100_0000_0000_0000_u128 << 64, 64), // discard-only
    ];
    NETS.iter().any(|&(base, prefix)| in_v6_net(bits, base, prefix))
}

/// True for addresses that must never be contacted without an explicit
/// allow-list entry: private, loopback, link-local, CGNAT, documentation,
/// benchmarking, multicast, reserved and unspecified ranges (IPv4 and IPv6),
/// and IPv6 forms that embed such an IPv4 address (mapped, compatible, NAT64,
/// 6to4).
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

/// Host names that are blocked before resolving. `host` is lower-case.
pub fn is_blocked_hostname(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    host.is_empty()
        || host == "localhost"
        || host.ends_with(".localhost")
        || host.ends_with(".local")
        || host.ends_with(".internal")
        || host == "metadata"
        || host == "metadata.google.internal"
}

pub(super) fn blocked_name_msg(host: &str) -> String {
    format!("{host} is not an allowed host name")
}

pub(super) fn blocked_addr_msg(host: &str) -> String {
    format!("{host} is a private or reserved address")
}

pub(super) fn blocked_resolve_msg(host: &str) -> String {
    format!("{host} resolves to a private or reserved address")
}

// ---------------------------------------------------------------------------
// DNS resolver
// ---------------------------------------------------------------------------

pub type BoxError = Box<dyn StdError + Send + Sync>;

/// Error returned by the resolver when a name is blocked by the policy.
#[derive(Debug)]
pub struct ResolveBlocked {
    pub host: String,
    pub by_name: bool,
}

impl std::fmt::Display for ResolveBlocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.by_name {
            f.write_str(&blocked_name_msg(&self.host))
        } else {
            f.write_str(&blocked_resolve_msg(&self.host))
        }
    }
}

impl StdError for ResolveBlocked {}

/// Error returned by the resolver when a name does not resolve.
#[derive(Debug)]
pub struct ResolveFailed {
    pub host: String,
}

impl std::fmt::Display for ResolveFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "could not resolve {}", self.host)
    }
}

impl StdError for ResolveFailed {}

/// Resolver that only returns addresses permitted by the policy.
pub struct PolicyResolver {
    pub policy: Arc<Policy>,
}

/// Resolve `host` and keep only the addresses the policy permits (all of them for an allowed
/// name).
pub async fn resolve_permitted(policy: &Policy, host: &str) -> Result<Vec<SocketAddr>, BoxError> {
    let host = host.to_ascii_lowercase();
    let named = policy.allows_name(&host);
    if !named && is_blocked_hostname(&host) {
        return Err(Box::new(ResolveBlocked { host, by_name: true }));
    }
    // Port 0: hyper-util replaces it with the URL's (or the scheme's) port.
    let lookup: std::io::Result<Vec<SocketAddr>> = tokio::net::lookup_host((host.clone(), 0))
        .await
        .map(|addrs| addrs.collect());
    let resolved = match lookup {
        Ok(addrs) => addrs,
        Err(_) => return Err(Box::new(ResolveFailed { host })),
    };
    if resolved.is_empty() {
        return Err(Box::new(ResolveFailed { host }));
    }
    let permitted: Vec<SocketAddr> = resolved
        .into_iter()
        .filter(|a| named || policy.permits(a.ip()))
        .collect();
    if permitted.is_empty() {
        return Err(Box::new(ResolveBlocked { host, by_name: false }));
    }
    Ok(permitted)
}

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = Arc::clone(&self.policy);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = resolve_permitted(&policy, &host).await?;
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// Find an error of type `T` in the `source()` chain of `err` (including `err`).
pub fn find_in_chain<'a, T: StdError + 'static>(err: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut current = Some(err);
    let mut depth = 0;
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        depth += 1;
        if depth > 64 {
            break;
        }
        current = e.source();
    }
    None
}

pub(super) fn map_send_error(err: &reqwest::Error, host: &str) -> FetchError {
    if let Some(blocked) = find_in_chain::<ResolveBlocked>(err) {
        return FetchError::Blocked(blocked.to_string());
    }
    if let Some(failed) = find_in_chain::<ResolveFailed>(err) {
        return FetchError::Failed(failed.to_string());
    }
    if err.is_timeout() {
        return FetchError::Failed("timed out".to_owned());
    }
    if err.is_connect() {
        return FetchError::Failed(format!("could not connect to {host}"));
    }
    FetchError::Failed(format!("request to {host} failed"))
}

pub(super) fn map_body_error(err: &reqwest::Error, host: &str) -> FetchError {
    if err.is_timeout() {
        FetchError::Failed("timed out".to_owned())
    } else {
        FetchError::Failed(format!("error reading the response from {host}"))
    }
}

// ---------------------------------------------------------------------------
// URL checks
// ---------------------------------------------------------------------------

/// Checks one URL (the input or a redirect target) before it is requested.
/// Returns the host string for messages.
pub fn check_url(policy: &Policy, url: &Url, is_redirect: bool) -> Result<String, FetchError> {
    let invalid = |msg: &str| {
        if is_redirect {
            FetchError::Failed(format!("invalid redirect: {msg}"))
        } else {
            FetchError::Invalid(msg.to_owned())
        }
    };
    if url.as_str().len() > MAX_URL_LEN {
        return Err(invalid("URL is too long"));
    }
    match url.scheme() {
        "http" | "https" => {}
        _ if is_redirect => return Err(FetchError::Blocked("redirect to a non-HTTP(S) URL".to_owned())),
        _ => return Err(invalid("only http and https URLs are supported")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("URLs with credentials are not allowed"));
    }
    if url.port() == Some(0) {
        return Err(invalid("invalid port"));
    }
    let host_str = url.host_str().unwrap_or_default().to_owned();
    match url.host() {
        None => Err(invalid("URL has no host")),
        Some(Host::Domain(domain)) => {
            let domain = domain.to_ascii_lowercase();
            if domain.trim_end_matches('.').is_empty() {
                return Err(invalid("URL has no host"));
            }
            if !policy.allows_name(&domain) && is_blocked_hostname(&domain) {
                return Err(FetchError::Blocked(blocked_name_msg(&host_str)));
            }
            // Addresses are checked by the resolver.
            Ok(host_str)
        }
        Some(Host::Ipv4(v4)) => {
            if policy.permits(IpAddr::V4(v4)) {
                Ok(host_str)
            } else {
                Err(FetchError::Blocked(blocked_addr_msg(&host_str)))
            }
        }
        Some(Host::Ipv6(v6)) => {
            if policy.permits(IpAddr::V6(v6)) {
                Ok(host_str)
            } else {
                Err(FetchError::Blocked(blocked_addr_msg(&host_str)))
            }
        }
    }
}
