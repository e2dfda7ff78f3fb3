//! What of a bookmark's URL goes to the AI endpoint (the original's `sanitizeUrlForAI`): no
//! fragment, no user name or password, and no query parameter that looks like a secret — by its
//! name (`token`, `key`, `sig` …) or by its value (a long random-looking string).

use url::Url;

/// Parts of parameter names that mark secrets.
const SECRET_NAMES: &[&str] = &[
    "token",
    "key",
    "secret",
    "password",
    "passwd",
    "pwd",
    "auth",
    "sig",
    "session",
    "sid",
    "code",
    "credential",
    "jwt",
    "bearer",
    "access",
    "otp",
    "nonce",
    "state",
    "hash",
    "ticket",
];

fn secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    SECRET_NAMES.iter().any(|s| n.contains(s))
}

/// A value of 20 or more characters made of letters and digits (and `-_.+/=%`), with both
/// letters and digits in it: what tokens, hashes and signed values look like.
fn secret_value(value: &str) -> bool {
    value.len() >= 20
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.+/=%~".contains(c))
        && value.chars().any(|c| c.is_ascii_digit())
        && value.chars().any(|c| c.is_ascii_alphabetic())
}

/// `url` without its fragment, credentials and secret-looking query parameters; `None` when it
/// is not an absolute http(s) URL.
pub fn sanitize(url: &str) -> Option<String> {
    let mut u = Url::parse(url.trim()).ok()?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return None;
    }
    u.set_fragment(None);
    let _ = u.set_username("");
    let _ = u.set_password(None);
    let kept: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, v)| !secret_name(k) && !secret_value(v))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        u.set_query(None);
    } else {
        u.query_pairs_mut().clear().extend_pairs(kept);
    }
    Some(u.to_string())
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn drops_fragments_credentials_and_secrets() {
        assert_eq!(
            sanitize("https://user:pw@example.com/a?q=rust&token=abc&page=2#frag").as_deref(),
            Some("https://example.com/a?q=rust&page=2")
        );
        assert_eq!(
            sanitize("https://example.com/?X-Amz-Signature=1&id=a1b2c3d4e5f6a7b8c9d0e1").as_deref(),
            Some("https://example.com/")
        );
        assert_eq!(
            sanitize("https://example.com/doc?utm_source=news").as_deref(),
            Some("https://example.com/doc?utm_source=news")
        );
        assert_eq!(sanitize("ftp://example.com/"), None);
    }
}
