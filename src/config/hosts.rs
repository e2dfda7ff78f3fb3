//! Private hosts an admin allows a fetcher to reach.

use std::net::IpAddr;

use super::{err, ConfigError};

/// Hosts an admin allowed although the SSRF rules would refuse them: addresses, and host names
/// (lower-case) whose every address is allowed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowHosts {
    pub ips: Vec<IpAddr>,
    pub names: Vec<String>,
}

impl AllowHosts {
    /// Parses a comma-separated list of IP addresses (IPv6 with or without brackets) and host
    /// names.
    pub fn parse(key: &str, list: &str) -> Result<AllowHosts, ConfigError> {
        let mut out = AllowHosts::default();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let bare = item
                .strip_prefix('[')
                .and_then(|i| i.strip_suffix(']'))
                .unwrap_or(item);
            if let Ok(ip) = bare.parse::<IpAddr>() {
                out.ips.push(ip);
                continue;
            }
            let name = item.trim_end_matches('.').to_ascii_lowercase();
            let valid = !name.is_empty()
                && name.len() <= 253
                && name.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && !label.starts_with('-')
                        && !label.ends_with('-')
                        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                });
            if !valid {
                return err(format!(
                    "{key} must list host names or IP addresses, got {item:?}"
                ));
            }
            out.names.push(name);
        }
        Ok(out)
    }
}
