//! The rules of a go-link request: what follows the slug, and the URL it forwards to.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};

use crate::bookmarks::{validate_url, Slug};

/// What a `/go/...` request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoRequest {
    pub slug: Slug,
    /// Path segments or words after the slug, decoded.
    pub rest: Vec<String>,
    /// The rest came as words from a search box (joined by spaces for `%s`).
    pub words: bool,
    pub query: Option<String>,
}

impl GoRequest {
    /// Just the slug: nothing to substitute or append.
    pub fn is_bare(&self) -> bool {
        self.rest.is_empty() && self.query.is_none()
    }
}

/// Parses the raw (still percent-encoded) path after `/go/`. `Err` for an invalid slug.
pub fn parse(raw: &str, query: Option<&str>) -> Result<GoRequest, &'static str> {
    let query = query.filter(|q| !q.is_empty()).map(str::to_string);
    // The usual case: just a slug, nothing encoded.
    if !raw.bytes().any(|b| matches!(b, b'%' | b'/' | b'+')) {
        if let Some(slug) = Slug::checked(raw) {
            return Ok(GoRequest {
                slug,
                rest: Vec::new(),
                words: false,
                query,
            });
        }
    }
    let mut segments = raw.split('/');
    let first = percent_decode_str(segments.next().unwrap_or(""))
        .decode_utf8_lossy()
        .into_owned();
    // A search box sends "slug word word" (as %20 or +): slugs cannot contain spaces or '+'.
    let mut words = first
        .split(|c: char| c.is_whitespace() || c == '+')
        .filter(|w| !w.is_empty());
    let slug = Slug::checked(words.next().unwrap_or("")).ok_or("Invalid slug")?;
    let mut rest: Vec<String> = words.map(str::to_string).collect();
    let is_words = !rest.is_empty();
    for seg in segments {
        let s = percent_decode_str(seg).decode_utf8_lossy().into_owned();
        rest.push(s);
    }
    rest.retain(|s| !s.is_empty() && s != "." && s != "..");
    Ok(GoRequest {
        slug,
        rest,
        words: is_words,
        query,
    })
}

/// Characters escaped inside a path segment.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'?')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'%')
    .add(b'\\')
    .add(b'^')
    .add(b'|')
    .add(b'[')
    .add(b']');
/// Characters escaped in a `%s` value (query-safe: also `&`, `=`, `+`).
const VALUE: &AsciiSet = &SEGMENT
    .add(b'&')
    .add(b'=')
    .add(b'+')
    .add(b';')
    .add(b':')
    .add(b'@')
    .add(b',')
    .add(b'$')
    .add(b'!')
    .add(b'\'')
    .add(b'(')
    .add(b')')
    .add(b'*');

/// The URL to send the visitor to.
pub fn target(url: &str, req: &GoRequest) -> Option<String> {
    let seg = |s: &String| utf8_percent_encode(s, SEGMENT).to_string();
    let mut out = if url.contains("%s") {
        let joined = req.rest.join(if req.words { " " } else { "/" });
        url.replace("%s", &utf8_percent_encode(&joined, VALUE).to_string())
    } else if url.contains("{path}") {
        url.replace("{path}", &req.rest.iter().map(seg).collect::<Vec<_>>().join("/"))
    } else if req.rest.is_empty() {
        url.to_string()
    } else {
        let mut u = url::Url::parse(url).ok()?;
        let mut path = u.path().trim_end_matches('/').to_string();
        for s in &req.rest {
            path.push('/');
            path.push_str(&seg(s));
        }
        u.set_path(&path);
        u.to_string()
    };
    if let Some(q) = &req.query {
        let (before, fragment) = match out.split_once('#') {
            Some((b, f)) => (b.to_string(), Some(f.to_string())),
            None => (out.clone(), None),
        };
        let sep = if before.contains('?') {
            if before.ends_with('?') || before.ends_with('&') {
                ""
            } else {
                "&"
            }
        } else {
            "?"
        };
        out = format!("{before}{sep}{q}");
        if let Some(f) = fragment {
            out.push('#');
            out.push_str(&f);
        }
    }
    // Only ever redirect to http(s).
    validate_url("url", &out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go(raw: &str, q: Option<&str>) -> GoRequest {
        parse(raw, q).unwrap()
    }

    #[test]
    fn parsing() {
        assert_eq!(go("gh", None).rest, Vec::<String>::new());
        assert_eq!(go("gh/rust-lang/rust", None).rest, vec!["rust-lang", "rust"]);
        let w = go("gh%20rust-lang%20rust", None);
        assert_eq!((w.slug.as_str(), w.words), ("gh", true));
        assert_eq!(w.rest, vec!["rust-lang", "rust"]);
        assert_eq!(go("g+hello+world", None).rest, vec!["hello", "world"]);
        assert_eq!(
            go("gh//a/./../b/", None).rest,
            vec!["a", "b"],
            "empty, . and .. dropped"
        );
        assert_eq!(
            go("wiki/a%2Fb", None).rest,
            vec!["a/b"],
            "an encoded slash stays inside its segment"
        );
        assert!(parse("bad.slug", None).is_err());
        assert!(parse("", None).is_err());
        assert!(parse("%20", None).is_err());
    }

    #[test]
    fn targets() {
        let t = |url: &str, raw: &str, q: Option<&str>| target(url, &go(raw, q)).unwrap();
        assert_eq!(t("https://github.com", "gh", None), "https://github.com");
        assert_eq!(
            t("https://github.com", "gh/rust-lang/rust", None),
            "https://github.com/rust-lang/rust"
        );
        assert_eq!(
            t("https://github.com/", "gh/rust-lang", None),
            "https://github.com/rust-lang"
        );
        assert_eq!(
            t("https://x.example/base/", "x/a%20b", None),
            "https://x.example/base/a%20b"
        );
        assert_eq!(
            t("https://x.example/a?k=1", "x/b", None),
            "https://x.example/a/b?k=1"
        );
        assert_eq!(
            t("https://x.example/p", "x", Some("q=1&r=2")),
            "https://x.example/p?q=1&r=2"
        );
        assert_eq!(
            t("https://x.example/p?k=1#frag", "x", Some("q=1")),
            "https://x.example/p?k=1&q=1#frag"
        );
        assert_eq!(
            t("https://google.com/search?q=%s", "g%20rust%20lang", None),
            "https://google.com/search?q=rust%20lang"
        );
        assert_eq!(
            t("https://google.com/search?q=%s", "g/a&b=c", None),
            "https://google.com/search?q=a%26b%3Dc"
        );
        assert_eq!(
            t("https://google.com/search?q=%s", "g", None),
            "https://google.com/search?q="
        );
        assert_eq!(
            t("https://github.com/{path}", "gh/rust-lang/rust", None),
            "https://github.com/rust-lang/rust"
        );
        assert_eq!(
            t("https://github.com/{path}/issues", "gh/a%3Fb", None),
            "https://github.com/a%3Fb/issues"
        );
        assert_eq!(
            t("https://x.example/docs", "x/../../etc/passwd", None),
            "https://x.example/docs/etc/passwd"
        );
        // The result must stay an http(s) URL.
        assert!(target("%s", &go("x/javascript:alert(1)", None)).is_none());
    }
}
