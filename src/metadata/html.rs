//! Reading a page's head: whether a body is HTML at all, and its title, description, site name
//! and icon.

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use html5ever::TokenizerResult;
use url::Url;

use super::{
    FetchError, PageMeta, MAX_DESCRIPTION_CHARS, MAX_RAW_TITLE_BYTES, MAX_SITE_NAME_CHARS, MAX_TITLE_CHARS,
    MAX_URL_LEN,
};

pub(super) fn not_html() -> FetchError {
    FetchError::Failed("not an HTML page".to_owned())
}

pub(super) fn is_html_content_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("text/html") || essence.eq_ignore_ascii_case("application/xhtml+xml")
}

/// Bytes needed before deciding whether an unlabelled body looks like HTML.
pub(super) const SNIFF_BYTES: usize = 512;

/// Does the (start of the) body look like HTML? (WHATWG-style sniffing.)
pub(super) fn looks_like_html(body: &[u8]) -> bool {
    let mut rest = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    while let Some((first, tail)) = rest.split_first() {
        if first.is_ascii_whitespace() {
            rest = tail;
        } else {
            break;
        }
    }
    if rest.starts_with(b"<!--") {
        return true;
    }
    const TAGS: &[&[u8]] = &[
        b"<!doctype html",
        b"<html",
        b"<head",
        b"<script",
        b"<iframe",
        b"<h1",
        b"<div",
        b"<font",
        b"<table",
        b"<a",
        b"<style",
        b"<title",
        b"<b",
        b"<body",
        b"<br",
        b"<p",
        b"<meta",
        b"<link",
    ];
    TAGS.iter().any(|tag| {
        rest.len() > tag.len()
            && rest[..tag.len()].eq_ignore_ascii_case(tag)
            && (rest[tag.len()].is_ascii_whitespace() || rest[tag.len()] == b'>')
    })
}

/// Case-insensitive search for `</head` or `<body` in `hay`.
pub(super) fn has_head_end_marker(hay: &[u8]) -> bool {
    hay.windows(6).any(|w| w.eq_ignore_ascii_case(b"</head"))
        || hay.windows(5).any(|w| w.eq_ignore_ascii_case(b"<body"))
}

// ---------------------------------------------------------------------------
// HTML parsing
// ---------------------------------------------------------------------------

/// Raw results of scanning the document head.
#[derive(Debug, Default)]
pub(super) struct HeadInfo {
    pub(super) title: Option<String>,
    pub(super) og_title: Option<String>,
    pub(super) description: Option<String>,
    pub(super) og_description: Option<String>,
    pub(super) site_name: Option<String>,
    pub(super) favicon: Option<String>,
    /// `</head>` or `<body>` was seen.
    pub(super) complete: bool,
}

impl HeadInfo {
    pub(super) fn into_meta(self, final_url: &Url) -> PageMeta {
        let title = self
            .title
            .as_deref()
            .and_then(|t| clean_text(t, MAX_TITLE_CHARS))
            .or(self.og_title);
        let description = self.description.or(self.og_description);
        let favicon_url = self
            .favicon
            .or_else(|| final_url.join("/favicon.ico").ok().map(|u| u.to_string()));
        PageMeta {
            title,
            description,
            site_name: self.site_name,
            favicon_url,
            final_url: final_url.to_string(),
        }
    }
}

/// Collapse whitespace (and control characters), trim, truncate to
/// `max_chars` characters; `None` if nothing is left.
pub(super) fn clean_text(raw: &str, max_chars: usize) -> Option<String> {
    let collapsed = raw
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let truncated: String = collapsed.chars().take(max_chars).collect();
    let trimmed = truncated.trim_end();
    if trimmed.is_empty() {
        None
    } else {
        Some(trimmed.to_owned())
    }
}

#[derive(Default)]
pub(super) struct SinkState {
    pub(super) info: HeadInfo,
    pub(super) title_seen: bool,
    pub(super) in_title: bool,
    pub(super) title_raw: String,
}

impl SinkState {
    /// Append text to the `<title>` being collected (if any), with a cap.
    pub(super) fn push_title(&mut self, text: &str) {
        if self.in_title && self.title_raw.len() < MAX_RAW_TITLE_BYTES {
            self.title_raw.push_str(text);
        }
    }
}

pub(super) struct HeadSink {
    pub(super) base: Url,
    pub(super) state: RefCell<SinkState>,
}

pub(super) fn attr<'a>(tag: &'a html5ever::tokenizer::Tag, name: &str) -> Option<&'a str> {
    tag.attrs
        .iter()
        .find(|a| &*a.name.local == name)
        .map(|a| &*a.value)
}

impl HeadSink {
    pub(super) fn on_meta(&self, st: &mut SinkState, tag: &html5ever::tokenizer::Tag) {
        let Some(content) = attr(tag, "content") else {
            return;
        };
        for key_attr in ["property", "name"] {
            let Some(key) = attr(tag, key_attr) else {
                continue;
            };
            let key = key.trim().to_ascii_lowercase();
            let (slot, max) = match key.as_str() {
                "description" => (&mut st.info.description, MAX_DESCRIPTION_CHARS),
                "og:title" => (&mut st.info.og_title, MAX_TITLE_CHARS),
                "og:description" => (&mut st.info.og_description, MAX_DESCRIPTION_CHARS),
                "og:site_name" => (&mut st.info.site_name, MAX_SITE_NAME_CHARS),
                _ => continue,
            };
            if slot.is_none() {
                *slot = clean_text(content, max);
            }
        }
    }

    pub(super) fn on_link(&self, st: &mut SinkState, tag: &html5ever::tokenizer::Tag) {
        if st.info.favicon.is_some() {
            return;
        }
        let Some(rel) = attr(tag, "rel") else {
            return;
        };
        let is_icon = rel.split_ascii_whitespace().any(|t| {
            t.eq_ignore_ascii_case("icon")
                || t.eq_ignore_ascii_case("apple-touch-icon")
                || t.eq_ignore_ascii_case("apple-touch-icon-precomposed")
        });
        if !is_icon {
            return;
        }
        let Some(href) = attr(tag, "href") else {
            return;
        };
        let href = href.trim();
        if href.is_empty() || href.len() > MAX_URL_LEN {
            return;
        }
        if let Ok(resolved) = self.base.join(href) {
            let ok_scheme = matches!(resolved.scheme(), "http" | "https");
            if ok_scheme && resolved.as_str().len() <= MAX_URL_LEN {
                st.info.favicon = Some(resolved.to_string());
            }
        }
    }
}

impl TokenSink for HeadSink {
    type Handle = ();

    fn process_token(&self, token: Token, _line_number: u64) -> TokenSinkResult<()> {
        let Ok(mut st) = self.state.try_borrow_mut() else {
            return TokenSinkResult::Continue;
        };
        if st.info.complete {
            return TokenSinkResult::Continue;
        }
        match token {
            Token::TagToken(tag) => {
                let name: &str = &tag.name;
                match (tag.kind, name) {
                    (TagKind::StartTag, "title") => {
                        if !st.title_seen {
                            st.title_seen = true;
                            st.in_title = true;
                        }
                        // Always switch to RCDATA, as the tree builder would.
                        return TokenSinkResult::RawData(RawKind::Rcdata);
                    }
                    (TagKind::EndTag, "title") if st.in_title => {
                        st.in_title = false;
                        let raw = std::mem::take(&mut st.title_raw);
                        st.info.title = Some(raw);
                    }
                    (TagKind::StartTag, "body") | (TagKind::EndTag, "head") => {
                        st.info.complete = true;
                        // Abuse the "script" pause to stop the tokenizer.
                        return TokenSinkResult::Script(());
                    }
                    (TagKind::StartTag, "meta") => self.on_meta(&mut st, &tag),
                    (TagKind::StartTag, "link") => self.on_link(&mut st, &tag),
                    (TagKind::StartTag, "script") => return TokenSinkResult::RawData(RawKind::ScriptData),
                    (TagKind::StartTag, "textarea") => return TokenSinkResult::RawData(RawKind::Rcdata),
                    (TagKind::StartTag, "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript") => {
                        return TokenSinkResult::RawData(RawKind::Rawtext)
                    }
                    (TagKind::StartTag, "plaintext") => return TokenSinkResult::Plaintext,
                    _ => {}
                }
            }
            Token::CharacterTokens(text) => st.push_title(&text),
            Token::NullCharacterToken => st.push_title("\u{FFFD}"),
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

/// Tokenize `html` up to `</head>`/`<body>` and collect metadata.
pub(super) fn parse_head(html: &str, base: &Url) -> HeadInfo {
    let sink = HeadSink {
        base: base.clone(),
        state: RefCell::new(SinkState::default()),
    };
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let mut stopped = false;
    // `feed` returns early only for Script / EncodingIndicator; bound the loop.
    for _ in 0..1024 {
        match tokenizer.feed(&input) {
            TokenizerResult::Done => break,
            TokenizerResult::Script(()) => {
                stopped = true;
                break;
            }
            TokenizerResult::EncodingIndicator(_) => continue,
        }
    }
    if !stopped {
        tokenizer.end();
    }
    let mut st = tokenizer.sink.state.into_inner();
    if st.in_title {
        // Unclosed <title> at end of input: use what we have.
        st.info.title = Some(std::mem::take(&mut st.title_raw));
    }
    st.info
}
