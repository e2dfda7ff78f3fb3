//! Reading and writing the Netscape bookmark file format.
//!
//! This is the `bookmarks.html` file that Firefox, Chrome, Safari, Pinboard,
//! linkding and most other bookmark tools export:
//!
//! ```text
//! <!DOCTYPE NETSCAPE-Bookmark-file-1>
//! <DL><p>
//!     <DT><H3 ADD_DATE="1700000000">Folder</H3>
//!     <DL><p>
//!         <DT><A HREF="https://example.com/" ADD_DATE="1700000000" TAGS="a,b">Title</A>
//!         <DD>Optional description
//!     </DL><p>
//! </DL><p>
//! ```
//!
//! It is "HTML" only loosely (unclosed `<DT>` and `<p>`, any letter case), so
//! instead of building a DOM we run the html5ever *tokenizer* and follow the
//! tag events with a small state machine. That is fast (no tree), tolerant,
//! decodes character references for us and gives us line numbers.

mod write;

pub use write::write;

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use html5ever::TokenizerResult;

/// One bookmark found in a file, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Text of the `<A>` element, entity-decoded, whitespace collapsed and trimmed.
    pub title: String,
    /// `HREF` as written (entity-decoded), not validated here.
    pub url: String,
    /// The `<H3>` path from the outermost folder to the innermost,
    /// e.g. `["Bookmarks bar", "Dev", "Rust"]`.
    pub folders: Vec<String>,
    /// `TAGS` split on `,`, trimmed, empty ones removed, de-duplicated in order.
    pub tags: Vec<String>,
    /// `ADD_DATE` in Unix seconds (millisecond and microsecond values are converted).
    pub add_date: Option<i64>,
    /// `SHORTCUTURL` (Firefox keyword), trimmed, `None` if empty.
    pub shortcut: Option<String>,
    /// Text of a `<DD>` directly following the entry, trimmed, `None` if empty.
    pub description: Option<String>,
    /// 1-based line of the `<A>` tag.
    pub line: usize,
}

/// Why a file could not be read, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub kind: ParseErrorKind,
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// Nothing in it looks like a bookmark file (no `<DL>`, no link).
    NotBookmarks,
    /// An ordinary web page: links, but not in the structure of a bookmark file.
    WebPage,
    /// The file ends inside an entry: inside a tag or inside a link.
    CutOff,
}

/// A file read to its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub entries: Vec<Entry>,
    /// Folder lists (`<DL>`) still open at the end of the file: hand-kept files often lack
    /// their last `</DL>`s. Every entry was complete, so nothing is lost.
    pub unclosed_lists: usize,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parses a whole file; see [`parse_file`].
pub fn parse(html: &str) -> Result<Vec<Entry>, ParseError> {
    parse_file(html).map(|p| p.entries)
}

/// Parses a whole file.
///
/// Errors (with the line where the problem is):
/// - the text is not a bookmark file (line 1): it has neither `<DL>` nor `<A HREF>`
///   ([`ParseErrorKind::NotBookmarks`]), or it has links but neither the
///   `NETSCAPE-Bookmark-file-1` doctype nor a single link in the `<DT><A>` structure
///   ([`ParseErrorKind::WebPage`]: an ordinary web page);
/// - the file is cut off inside an entry ([`ParseErrorKind::CutOff`]): it ends inside a tag
///   (line of that tag) or inside an `<A>` element (line of the `<A>`).
///
/// Folder lists still open at the end are closed (see [`Parsed::unclosed_lists`]); a stray
/// `</A>` or `</DL>` with nothing open is ignored.
pub fn parse_file(html: &str) -> Result<Parsed, ParseError> {
    let tokenizer = Tokenizer::new(Sink::default(), TokenizerOpts::default());

    // A tendril holds at most u32::MAX bytes, so hand the text over in chunks
    // (split on char boundaries) instead of one huge buffer.
    let queue = BufferQueue::default();
    for chunk in chunks(html, 1 << 20) {
        queue.push_back(StrTendril::from_slice(chunk));
    }
    // Our sink never asks for a script pause, so this runs once; the loop only
    // guards against returning early with input left.
    while !matches!(tokenizer.feed(&queue), TokenizerResult::Done) {}

    // From here on, a parse error followed directly by the end-of-file token
    // means the tokenizer was inside a tag (see `Sink::process_token`).
    tokenizer.sink.state.borrow_mut().at_end = true;
    tokenizer.end();

    let state = tokenizer.sink.state.take();
    state.finish(html)
}

/// Token sink for the html5ever tokenizer. The trait takes `&self`, hence the `RefCell`.
#[derive(Default)]
struct Sink {
    state: RefCell<State>,
}

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, line_number: u64) -> TokenSinkResult<()> {
        let line = usize::try_from(line_number).unwrap_or(usize::MAX);
        let mut state = self.state.borrow_mut();
        // At end of input the tokenizer reports "EOF in tag" as a parse error and
        // then drops the unfinished tag, so the next token is the EOF token. Every
        // other end-of-input situation (comment, doctype, character reference,
        // lone `<`) emits some other token after its error.
        let error_before = std::mem::take(&mut state.error_at_end);
        match token {
            Token::TagToken(tag) => state.tag(&tag, line),
            Token::CharacterTokens(text) => state.text(&text),
            Token::ParseError(_) => state.error_at_end = state.at_end,
            Token::EOFToken => state.ended_in_tag = state.at_end && error_before,
            Token::DoctypeToken(d) => {
                state.saw_doctype |= d
                    .name
                    .is_some_and(|n| n.eq_ignore_ascii_case("netscape-bookmark-file-1"));
            }
            // Comments, NUL characters: nothing to do.
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

/// A `<DL>` that is open: a folder's contents, or an unnamed list (the top level).
#[derive(Debug)]
struct OpenList {
    name: Option<String>,
}

/// An `<A>` whose `</A>` has not been seen yet.
#[derive(Debug)]
struct OpenLink {
    url: Option<String>,
    title: String,
    tags: Vec<String>,
    add_date: Option<i64>,
    shortcut: Option<String>,
    line: usize,
}

/// Where character data currently goes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Capture {
    #[default]
    Nothing,
    /// Into the open link's title.
    LinkTitle,
    /// Into `text`, as the name of a folder whose `<H3>` is on this line.
    FolderName(usize),
    /// Into `text`, as the description of `entries[describe]`.
    Description,
}

#[derive(Debug, Default)]
struct State {
    entries: Vec<Entry>,
    /// Open folder lists, outermost first.
    stack: Vec<OpenList>,
    /// The folder named by the last `<H3>`, waiting for the `<DL>` that holds its contents.
    pending_folder: Option<OpenList>,
    open_link: Option<OpenLink>,
    capture: Capture,
    /// Text collected for a folder name or a description.
    text: String,
    /// The entry that a `<DD>` seen now would describe (set right after its link closes).
    describe: Option<usize>,
    saw_dl: bool,
    saw_href: bool,
    /// The file declares itself: `<!DOCTYPE NETSCAPE-Bookmark-file-1>`.
    saw_doctype: bool,
    /// The last structural tag was a `<DT>`: an `<A>` now is a bookmark entry.
    after_dt: bool,
    /// Links in the `<DT><A>` structure.
    dt_links: usize,
    /// Set by `parse` just before `Tokenizer::end`.
    at_end: bool,
    /// The last token was a parse error emitted while ending.
    error_at_end: bool,
    /// The input ended inside a tag.
    ended_in_tag: bool,
}

impl State {
    fn tag(&mut self, tag: &Tag, line: usize) {
        let after_dt = std::mem::take(&mut self.after_dt);
        // Tag and attribute names arrive lower-cased from the tokenizer.
        match (tag.kind, &*tag.name) {
            (TagKind::StartTag, "a") => {
                self.end_capture();
                self.close_link();
                self.pending_folder = None;
                self.describe = None;
                let link = OpenLink::from_tag(tag, line);
                self.saw_href |= link.url.is_some();
                if after_dt && link.url.is_some() {
                    self.dt_links += 1;
                }
                self.open_link = Some(link);
                self.capture = Capture::LinkTitle;
            }
            (TagKind::EndTag, "a") => self.close_link(),
            (TagKind::StartTag, "h3") => {
                self.end_capture();
                self.close_link();
                self.describe = None;
                self.capture = Capture::FolderName(line);
            }
            (TagKind::EndTag, "h3") => {
                if matches!(self.capture, Capture::FolderName(_)) {
                    self.end_capture();
                }
            }
            (TagKind::StartTag, "dl") => {
                self.end_capture();
                self.close_link();
                self.describe = None;
                self.saw_dl = true;
                let list = self.pending_folder.take().unwrap_or(OpenList { name: None });
                self.stack.push(list);
            }
            (TagKind::EndTag, "dl") => {
                self.end_capture();
                self.close_link();
                self.describe = None;
                self.pending_folder = None;
                // A `</DL>` with nothing open is tolerated.
                self.stack.pop();
            }
            (TagKind::StartTag, "dd") => {
                self.end_capture();
                self.close_link(); // may set `describe`
                if self.describe.is_some() {
                    self.capture = Capture::Description;
                }
            }
            (TagKind::StartTag, "dt") => {
                self.end_capture();
                self.close_link();
                self.describe = None;
                self.after_dt = true;
            }
            // Paragraph marks between `<DT>` and `<A>` do not break the structure.
            (TagKind::StartTag, "p") | (TagKind::EndTag, "dt") => self.after_dt = after_dt,
            // <p>, <HR>, <META>, <TITLE>, <H1>, formatting inside titles...: ignored.
            _ => {}
        }
    }

    fn text(&mut self, text: &str) {
        match self.capture {
            Capture::Nothing => {}
            Capture::LinkTitle => {
                if let Some(link) = &mut self.open_link {
                    link.title.push_str(text);
                }
            }
            Capture::FolderName(_) | Capture::Description => self.text.push_str(text),
        }
    }

    /// Finishes a folder name or description being collected in `text`.
    fn end_capture(&mut self) {
        match std::mem::take(&mut self.capture) {
            Capture::FolderName(_) => {
                let name = collapse_whitespace(&self.text);
                self.pending_folder = Some(OpenList {
                    name: (!name.is_empty()).then_some(name),
                });
            }
            Capture::Description => {
                if let Some(entry) = self.describe.and_then(|i| self.entries.get_mut(i)) {
                    entry.description = non_empty(self.text.trim());
                }
                self.describe = None;
            }
            // A link title is finished by `close_link`.
            Capture::LinkTitle | Capture::Nothing => {}
        }
        self.text.clear();
    }

    /// Turns the open `<A>` (if any) into an entry. Links are closed by `</A>`, or
    /// implicitly by the next structural tag.
    fn close_link(&mut self) {
        let Some(link) = self.open_link.take() else {
            return;
        };
        if self.capture == Capture::LinkTitle {
            self.capture = Capture::Nothing;
        }
        // An <A> without HREF (e.g. a named anchor) is not a bookmark.
        let Some(url) = link.url else {
            self.describe = None;
            return;
        };
        let folders = self.stack.iter().filter_map(|l| l.name.clone()).collect();
        self.describe = Some(self.entries.len());
        self.entries.push(Entry {
            title: collapse_whitespace(&link.title),
            url,
            folders,
            tags: link.tags,
            add_date: link.add_date,
            shortcut: link.shortcut,
            description: None,
            line: link.line,
        });
    }

    /// Checks how the input ended and hands out the entries.
    fn finish(mut self, html: &str) -> Result<Parsed, ParseError> {
        let not_bookmarks = |kind, message: &str| ParseError {
            kind,
            line: 1,
            message: message.to_string(),
        };
        if !self.saw_dl && !self.saw_href {
            return Err(not_bookmarks(
                ParseErrorKind::NotBookmarks,
                "not a Netscape bookmark file",
            ));
        }
        if self.saw_href && self.dt_links == 0 && !self.saw_doctype {
            return Err(not_bookmarks(
                ParseErrorKind::WebPage,
                "not a bookmark file: it has links, but neither the NETSCAPE-Bookmark-file-1 doctype nor \
                 the <DL><DT><A> structure of a bookmark export (an ordinary web page?)",
            ));
        }
        let cut_off = |line: usize, message: String| ParseError {
            kind: ParseErrorKind::CutOff,
            line,
            message,
        };
        if self.ended_in_tag {
            return Err(match last_tag_start(html) {
                Some((line, name)) => cut_off(
                    line,
                    format!("file ends inside the <{name}> tag on line {line}: it seems cut off"),
                ),
                None => cut_off(
                    line_at(html, html.len()),
                    "file ends inside a tag: it seems cut off".to_string(),
                ),
            });
        }
        if let Some(link) = &self.open_link {
            return Err(cut_off(
                link.line,
                format!("file ends inside a link (line {}): it seems cut off", link.line),
            ));
        }
        // A trailing <DD> without any following tag.
        self.end_capture();
        Ok(Parsed {
            unclosed_lists: self.stack.len(),
            entries: self.entries,
        })
    }
}

impl OpenLink {
    fn from_tag(tag: &Tag, line: usize) -> OpenLink {
        let mut link = OpenLink {
            url: None,
            title: String::new(),
            tags: Vec::new(),
            add_date: None,
            shortcut: None,
            line,
        };
        for attr in &tag.attrs {
            let value: &str = &attr.value;
            match &*attr.name.local {
                "href" => link.url = Some(value.to_string()),
                "tags" => link.tags = split_tags(value),
                "add_date" => link.add_date = parse_date(value),
                "shortcuturl" => link.shortcut = non_empty(value.trim()),
                _ => {}
            }
        }
        link
    }
}

/// `"a, b,,a"` -> `["a", "b"]`.
fn split_tags(value: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    value
        .split(',')
        .map(str::trim)
        .filter(|tag| !tag.is_empty() && seen.insert(*tag))
        .map(str::to_string)
        .collect()
}

/// Parses `ADD_DATE`: Unix seconds, or milliseconds (> 10^11) / microseconds (> 10^14),
/// which exporters also write. A fractional part is ignored.
fn parse_date(value: &str) -> Option<i64> {
    let value = value.trim();
    let integer = value.split('.').next().unwrap_or(value);
    let n: i64 = integer.parse().ok()?;
    Some(match n.unsigned_abs() {
        m if m > 100_000_000_000_000 => n / 1_000_000,
        m if m > 100_000_000_000 => n / 1_000,
        _ => n,
    })
}

fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

/// Splits `text` into pieces of at most `max` bytes (at least one char each) on char boundaries.
fn chunks(text: &str, max: usize) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut end = max.min(rest.len());
        while !rest.is_char_boundary(end) {
            end += 1; // terminates: rest.len() is a char boundary
        }
        let (chunk, tail) = rest.split_at(end);
        rest = tail;
        Some(chunk)
    })
}

/// 1-based line of byte offset `at`, counting line breaks like the tokenizer
/// does (`\n`, `\r\n` and a lone `\r` each end a line).
fn line_at(html: &str, at: usize) -> usize {
    let bytes = &html.as_bytes()[..at.min(html.len())];
    let mut line = 1;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' || (b == b'\r' && html.as_bytes().get(i + 1) != Some(&b'\n')) {
            line += 1;
        }
    }
    line
}

/// Finds the last tag start (`<name` or `</name`) in the text: where the tokenizer
/// was when the input ended inside a tag. Returns its line and upper-cased name
/// (with a leading `/` for an end tag).
fn last_tag_start(html: &str) -> Option<(usize, String)> {
    let bytes = html.as_bytes();
    let mut end = bytes.len();
    while let Some(pos) = bytes[..end].iter().rposition(|&b| b == b'<') {
        let after = &bytes[pos + 1..];
        let (slash, name) = match after.strip_prefix(b"/") {
            Some(name) => ("/", name),
            None => ("", after),
        };
        if name.first().is_some_and(u8::is_ascii_alphabetic) {
            let name: String = name
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric())
                .take(20)
                .map(|&b| char::from(b.to_ascii_uppercase()))
                .collect();
            return Some((line_at(html, pos), format!("{slash}{name}")));
        }
        end = pos;
    }
    None
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// A Firefox export, with the quirks of real files (unclosed <DT>/<p>, a <DD> on
    /// a folder, multi-line titles, mixed case, ms/µs dates).
    const FIREFOX: &str = r#"<!DOCTYPE NETSCAPE-Bookmark-file-1>
<!-- This is an automatically generated file.
     It will be read and overwritten.
     DO NOT EDIT! -->
<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=UTF-8">
<meta http-equiv="Content-Security-Policy"
      content="default-src 'self'; script-src 'none'; img-src data: *; object-src 'none'"></meta>
<TITLE>Bookmarks</TITLE>
<H1>Bookmarks Menu</H1>

<DL><p>
    <DT><H3 ADD_DATE="1690000000" LAST_MODIFIED="1700000500">Bookmarks Menu</H3>
    <DL><p>
        <DT><A HREF="https://support.mozilla.org/products/firefox" ADD_DATE="1690000001" LAST_MODIFIED="1690000001" ICON_URI="https://support.mozilla.org/favicon.ico" ICON="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAYAAAAf8/9hAAAAAXNSR0IArs4c6QAAAARnQU1BAACxjwv8YQUAAAAJcEhZcwAADsMAAA7DAcdvqGQAAAAZdEVYdFNvZnR3YXJlAHBhaW50Lm5ldCA0LjAuMTZEaa/1AAAA">Get Help</A>
        <DT><H3 ADD_DATE="1700000000" LAST_MODIFIED="1700000400">Rust</H3>
        <DD>Everything about Rust (a folder description, not an entry's)
        <DL><p>
            <DT><A HREF="https://doc.rust-lang.org/std/" ADD_DATE="1700000100" LAST_MODIFIED="1700000200" SHORTCUTURL="rstd" TAGS="rust,docs">The Rust Standard Library</A>
            <DD>API docs for std &amp; core
            <DT><A HREF="https://crates.io/search?q=html5ever&amp;sort=downloads" ADD_DATE="1700000300000" TAGS="rust, crates , rust,,html">crates.io: html5ever</A>
        </DL><p>
        <DT><A HREF="https://example.com/cartoons?a=1&amp;b=2" ADD_DATE="1695000000">Tom &amp; Jerry&#39;s
            &quot;Best&quot;   Episodes</A>
        <HR>
    </DL><p>
    <DT><H3 ADD_DATE="1690000000" LAST_MODIFIED="1700000600" PERSONAL_TOOLBAR_FOLDER="true">Bookmarks Toolbar</H3>
    <DL><p>
        <DT><A HREF="place:sort=8&maxResults=10" ADD_DATE="1690000002">Most Visited</A>
        <DT><A HREF="javascript:(function(){alert(&quot;hi&quot;)})();" ADD_DATE="1690000003" SHORTCUTURL="  ">Say hi</A>
        <DT><a href="https://news.ycombinator.com/" add_date="1690000004">Hacker News</a>
    </DL><p>
    <DT><A HREF="https://www.rust-lang.org/" ADD_DATE="1690000005000000">Rust Lang</A>
</DL>
"#;

    /// Chrome-style export, here with lower-case tags and attributes, long ICON data URLs.
    const CHROME_TEMPLATE: &str = r#"<!DOCTYPE NETSCAPE-Bookmark-file-1>
<!-- This is an automatically generated file.
     It will be read and overwritten.
     DO NOT EDIT! -->
<meta http-equiv="content-type" content="text/html; charset=utf-8">
<title>bookmarks</title>
<h1>bookmarks</h1>
<dl><p>
    <dt><h3 add_date="1699990000" last_modified="1700000000" personal_toolbar_folder="true">Bookmarks bar</h3>
    <dl><p>
        <dt><a href="https://github.com/" add_date="1699990001" icon="{ICON}">GitHub</a>
        <dt><h3 add_date="1699990002" last_modified="1699990003">Dev</h3>
        <dl><p>
            <dt><a href="https://docs.rs/" add_date="1699990004" icon="{ICON}">Docs.rs</a>
            <dt><a href="https://developer.mozilla.org/en-US/" add_date="1699990005" icon="{ICON}">MDN Web Docs</a>
        </dl><p>
        <dt><a href="https://lwn.net/" add_date="1699990006">LWN.net</a>
    </dl><p>
    <dt><h3 add_date="1699990007" last_modified="1699990008">Other bookmarks</h3>
    <dl><p>
        <dt><a href="https://en.wikipedia.org/" add_date="1699990009" icon="{ICON}">Wikipedia</a>
    </dl><p>
</dl><p>
"#;

    fn chrome() -> String {
        let icon = format!(
            "data:image/png;base64,{}",
            "iVBORw0KGgoAAAANSUhEUgAAABAAAAAQ+/=".repeat(300)
        );
        CHROME_TEMPLATE.replace("{ICON}", &icon)
    }

    /// 1-based line of the first occurrence of `needle`.
    fn line_of(text: &str, needle: &str) -> usize {
        let at = text.find(needle).expect("needle in sample");
        text[..at].matches('\n').count() + 1
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn firefox_export() {
        let line = |needle| line_of(FIREFOX, needle);
        let expected = vec![
            Entry {
                title: "Get Help".into(),
                url: "https://support.mozilla.org/products/firefox".into(),
                folders: strings(&["Bookmarks Menu"]),
                tags: vec![],
                add_date: Some(1690000001),
                shortcut: None,
                description: None,
                line: line(">Get Help<"),
            },
            Entry {
                title: "The Rust Standard Library".into(),
                url: "https://doc.rust-lang.org/std/".into(),
                folders: strings(&["Bookmarks Menu", "Rust"]),
                tags: strings(&["rust", "docs"]),
                add_date: Some(1700000100),
                shortcut: Some("rstd".into()),
                description: Some("API docs for std & core".into()),
                line: line("https://doc.rust-lang.org/std/"),
            },
            Entry {
                title: "crates.io: html5ever".into(),
                url: "https://crates.io/search?q=html5ever&sort=downloads".into(),
                folders: strings(&["Bookmarks Menu", "Rust"]),
                tags: strings(&["rust", "crates", "html"]),
                add_date: Some(1700000300), // written in milliseconds
                shortcut: None,
                description: None,
                line: line("https://crates.io/"),
            },
            Entry {
                title: "Tom & Jerry's \"Best\" Episodes".into(),
                url: "https://example.com/cartoons?a=1&b=2".into(),
                folders: strings(&["Bookmarks Menu"]),
                tags: vec![],
                add_date: Some(1695000000),
                shortcut: None,
                description: None,
                line: line("cartoons"),
            },
            Entry {
                title: "Most Visited".into(),
                url: "place:sort=8&maxResults=10".into(),
                folders: strings(&["Bookmarks Toolbar"]),
                tags: vec![],
                add_date: Some(1690000002),
                shortcut: None,
                description: None,
                line: line("place:"),
            },
            Entry {
                title: "Say hi".into(),
                url: "javascript:(function(){alert(\"hi\")})();".into(),
                folders: strings(&["Bookmarks Toolbar"]),
                tags: vec![],
                add_date: Some(1690000003),
                shortcut: None, // blank SHORTCUTURL
                description: None,
                line: line("javascript:"),
            },
            Entry {
                title: "Hacker News".into(),
                url: "https://news.ycombinator.com/".into(),
                folders: strings(&["Bookmarks Toolbar"]),
                tags: vec![],
                add_date: Some(1690000004),
                shortcut: None,
                description: None,
                line: line("news.ycombinator"),
            },
            Entry {
                title: "Rust Lang".into(),
                url: "https://www.rust-lang.org/".into(),
                folders: vec![],
                tags: vec![],
                add_date: Some(1690000005), // written in microseconds
                shortcut: None,
                description: None,
                line: line("https://www.rust-lang.org/"),
            },
        ];
        assert_eq!(parse(FIREFOX), Ok(expected));
    }

    #[test]
    fn chrome_export() {
        let html = chrome();
        let entries = parse(&html).expect("chrome export parses");
        let got: Vec<(&str, &str, Vec<&str>, Option<i64>)> = entries
            .iter()
            .map(|e| {
                let folders = e.folders.iter().map(String::as_str).collect();
                (e.title.as_str(), e.url.as_str(), folders, e.add_date)
            })
            .collect();
        let bar = "Bookmarks bar";
        assert_eq!(
            got,
            vec![
                ("GitHub", "https://github.com/", vec![bar], Some(1699990001)),
                ("Docs.rs", "https://docs.rs/", vec![bar, "Dev"], Some(1699990004)),
                (
                    "MDN Web Docs",
                    "https://developer.mozilla.org/en-US/",
                    vec![bar, "Dev"],
                    Some(1699990005)
                ),
                ("LWN.net", "https://lwn.net/", vec![bar], Some(1699990006)),
                (
                    "Wikipedia",
                    "https://en.wikipedia.org/",
                    vec!["Other bookmarks"],
                    Some(1699990009)
                ),
            ]
        );
        assert_eq!(entries[1].line, line_of(&html, "https://docs.rs/"));
    }

    #[test]
    fn cut_off_inside_a_tag() {
        let at = FIREFOX.find("<A HREF=\"https://crates.io").expect("in sample");
        let cut = &FIREFOX[..at + 30]; // `<A HREF="https://crates.io/sea`
        let err = parse(cut).expect_err("cut-off file");
        assert_eq!(err.line, line_of(FIREFOX, "https://crates.io"));
        assert!(err.message.contains("cut off"), "{err}");
        assert!(err.message.contains("<A>"), "{err}");

        // Cut inside a quoted attribute that already contains a `>`.
        let err = parse("<DL><p>\n<DT><A HREF=\"http://x/?a>b").expect_err("cut-off");
        assert_eq!(err.line, 2, "{err}");
        assert!(err.message.contains("cut off"), "{err}");
    }

    #[test]
    fn missing_closing_lists_lose_nothing() {
        let needle = "crates.io: html5ever</A>";
        let at = FIREFOX.find(needle).expect("in sample") + needle.len();
        let full = parse(FIREFOX).expect("the sample parses");
        let parsed = parse_file(&FIREFOX[..at]).expect("entries are complete");
        assert!(parsed.unclosed_lists >= 2, "{parsed:?}");
        assert_eq!(parsed.entries, full[..parsed.entries.len()]);
        assert_eq!(
            parsed.entries.last().map(|e| e.url.as_str()),
            Some("https://crates.io/search?q=html5ever&sort=downloads")
        );

        // Only the top-level list left open: every entry, one list to close.
        let end = FIREFOX.rfind("</DL>").expect("in sample");
        let parsed = parse_file(&FIREFOX[..end]).expect("entries are complete");
        assert_eq!((parsed.entries, parsed.unclosed_lists), (full, 1));
    }

    #[test]
    fn cut_off_inside_link_text() {
        let at = FIREFOX.find(">The Rust Standard").expect("in sample");
        let err = parse(&FIREFOX[..at + 4]).expect_err("cut-off file");
        assert_eq!(err.line, line_of(FIREFOX, "https://doc.rust-lang.org/std/"));
        assert!(err.message.contains("inside a link"), "{err}");
        assert!(err.message.contains("cut off"), "{err}");

        let err = parse("<DL><p>\n<DT><A HREF=\"x\">Tit").expect_err("cut-off file");
        assert_eq!(err.line, 2);
        assert!(err.message.contains("cut off"), "{err}");
    }

    #[test]
    fn every_prefix_of_a_file_is_cut_off_or_a_prefix_of_its_entries() {
        let full = parse(FIREFOX).expect("the sample parses");
        let complete = FIREFOX.rfind("</DL>").expect("in sample") + "</DL>".len();
        for end in (0..=FIREFOX.len()).filter(|&i| FIREFOX.is_char_boundary(i)) {
            match parse_file(&FIREFOX[..end]) {
                Ok(p) => {
                    // Nothing invented: the links read are the file's first ones.
                    let n = p.entries.len();
                    let got: Vec<_> = p.entries.iter().map(|e| (&e.url, &e.title)).collect();
                    let want: Vec<_> = full[..n].iter().map(|e| (&e.url, &e.title)).collect();
                    assert_eq!(got, want, "prefix of {end} bytes");
                    assert_eq!(p.unclosed_lists == 0, end >= complete, "prefix of {end} bytes");
                }
                Err(e) => assert!(
                    matches!(e.kind, ParseErrorKind::CutOff | ParseErrorKind::NotBookmarks),
                    "prefix of {end} bytes: {e:?}"
                ),
            }
        }
    }

    #[test]
    fn not_a_bookmark_file() {
        let json = r#"{"roots": {"bookmark_bar": {"children": [], "name": "Bookmarks bar"}}}"#;
        for text in ["hello world", json, ""] {
            let err = parse(text).expect_err("not a bookmark file");
            assert_eq!(err.line, 1);
            assert_eq!(err.message, "not a Netscape bookmark file");
            assert_eq!(err.kind, ParseErrorKind::NotBookmarks);
        }
        // A saved article: links in paragraphs and a navigation list, no bookmark structure.
        let page = "<!DOCTYPE html><html><head><title>An article</title></head><body>\n\
                    <nav><ul><li><a href=\"/\">Home</a></li><li><a href=\"/about\">About</a></li></ul></nav>\n\
                    <p>See <a href=\"https://example.com/a\">this</a> and <a href=\"https://example.com/b\">that</a>.</p>\n\
                    <dl><dd><a href=\"https://example.com/c\">c</a></dd></dl></body></html>";
        let err = parse(page).expect_err("a web page");
        assert_eq!(err.kind, ParseErrorKind::WebPage, "{err}");
        // An export without the doctype but with the structure is a bookmark file.
        let bare = "<DL><p>\n<DT><A HREF=\"https://example.com/\">Example</A>\n</DL><p>";
        assert_eq!(parse(bare).expect("structure suffices").len(), 1);
        // With the doctype, links are bookmarks wherever they are.
        let declared = "<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<A HREF=\"https://example.com/\">E</A>";
        assert_eq!(parse(declared).expect("declared").len(), 1);
    }

    #[test]
    fn stray_closing_tags_are_ignored() {
        let html = "<DL><p>\n</A></DL></DL><p>\n<DT><A HREF=\"http://x/\">X</A>\n</A>";
        let entries = parse(html).expect("tolerated");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].folders, Vec::<String>::new());
        assert_eq!(entries[0].line, 3);
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        let inputs = [
            "",
            "<DL>",
            "<<<>>>",
            "<A",
            "<A HREF",
            "<A HREF=",
            "</",
            "<",
            "&",
            "&#",
            "<!--",
            "<!DOCTYPE",
            "<DL><p><DT><H3>x",
            "<DL><DD>orphan</DL>",
            "<H3>a</H3><H3>b</H3><DL></DL><DL></DL>",
            "<A HREF=x ADD_DATE=-9223372036854775808 TAGS=',,,'>y</A>",
            "<A HREF=x ADD_DATE=99999999999999999999>y</A>",
            "\u{feff}<DL>\r\n<A HREF=\"\u{0}\">\u{0}</A>\r</DL>",
            "<DL>\u{1F600}<A HREF=\"é\">ü",
        ];
        for input in inputs {
            let _ = parse(input); // Ok or Err, never a panic
        }
        // Endings that are not inside a tag must not be reported as such.
        for complete in ["<DL></DL>&am", "<DL></DL><!-- x", "<DL></DL><", "<DL></DL>&#"] {
            assert_eq!(parse(complete), Ok(vec![]), "{complete:?}");
        }
        let err = parse("<DL><p>\n</DL").expect_err("cut off");
        assert!(err.message.contains("</DL> tag on line 2"), "{err}");
        assert_eq!(
            parse_file("<DL>"),
            Ok(Parsed {
                entries: vec![],
                unclosed_lists: 1
            })
        );
        assert!(parse("<A").is_err());
        assert_eq!(parse("<DL><p></DL><p>"), Ok(vec![]));
    }

    #[test]
    fn description_only_directly_after_an_entry() {
        let html = "<DL><p>\n<DT><H3>F</H3>\n<DD>folder text\n<DL><p>\n\
                    <DT><A HREF=\"a\">A</A>\n<DD>  about a\n  second line  \n\
                    <DT><A HREF=\"b\">B</A>\n<DD>   \n</DL><p>\n</DL><p>";
        let entries = parse(html).expect("parses");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].description.as_deref(), Some("about a\n  second line"));
        assert_eq!(entries[1].description, None);
        assert_eq!(entries[1].folders, strings(&["F"]));
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("1700000000"), Some(1700000000));
        assert_eq!(parse_date("1700000000123"), Some(1700000000));
        assert_eq!(parse_date("1700000000123456"), Some(1700000000));
        assert_eq!(parse_date(" 1700000000.5 "), Some(1700000000));
        assert_eq!(parse_date(""), None);
        assert_eq!(parse_date("yesterday"), None);
    }

    fn entry(title: &str, url: &str, folders: &[&str], tags: &[&str]) -> Entry {
        Entry {
            title: title.into(),
            url: url.into(),
            folders: strings(folders),
            tags: strings(tags),
            add_date: None,
            shortcut: None,
            description: None,
            line: 0,
        }
    }

    #[test]
    fn round_trip() {
        let greek = "Ελληνικά";
        let japanese = "日本語 & \"かな\"";
        let entries = vec![
            Entry {
                add_date: Some(1_700_000_000),
                ..entry(
                    "Top <one> & \"quoted\" 'single'",
                    "https://example.com/?a=1&b=2&quot=3&amp;",
                    &[],
                    &["x"],
                )
            },
            Entry {
                shortcut: Some("gr".into()),
                description: Some("Περιγραφή & \"σχόλια\" <i>\nδεύτερη γραμμή".into()),
                add_date: Some(0),
                ..entry(
                    "Καλημέρα κόσμε",
                    "https://el.wikipedia.org/wiki/Ελλάδα",
                    &[greek],
                    &["γλώσσα", "news"],
                )
            },
            Entry {
                add_date: Some(1_600_000_000),
                ..entry(
                    "日本語のページ 🎌",
                    "https://ja.wikipedia.org/wiki/日本",
                    &[greek, japanese],
                    &["日本", "🍣"],
                )
            },
            entry(
                "Deep 🚀 link",
                "https://example.org/deep#frag",
                &[greek, japanese, "Deep 🚀"],
                &[],
            ),
            entry("Back in Greek", "https://example.gr/", &[greek], &[]),
            entry(
                "Say \"hi\"",
                "javascript:alert(\"a&b<c>\")",
                &["Tom & Jerry's \"stuff\" <b>"],
                &["a&b"],
            ),
            Entry {
                description: Some("last one".into()),
                ..entry("Top again", "place:sort=8&maxResults=10", &[], &[])
            },
        ];
        let html = write(&entries);
        let mut parsed = parse(&html).expect("written file parses");
        for e in &mut parsed {
            e.line = 0;
        }
        assert_eq!(parsed, entries);
    }

    #[test]
    fn write_groups_folders() {
        let entries = vec![
            entry("a", "http://a/", &["F"], &[]),
            entry("b", "http://b/", &[], &[]),
            entry("c", "http://c/", &["F"], &[]),
        ];
        let html = write(&entries);
        assert_eq!(html.matches("<H3>F</H3>").count(), 1);
        let parsed = parse(&html).expect("parses");
        let titles: Vec<&str> = parsed.iter().map(|e| e.title.as_str()).collect();
        assert_eq!(titles, ["a", "c", "b"]);
    }

    #[test]
    fn hundred_thousand_entries() {
        const ENTRIES: usize = 100_000;
        let icon = "data:image/png;base64,".to_string() + &"A".repeat(40);
        let mut html = String::from(
            "<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<TITLE>Bookmarks</TITLE>\n<H1>Bookmarks</H1>\n<DL><p>\n",
        );
        // 10 top-level folders with 4 sub-folders each: 50 folders, 2,000 entries each.
        let mut n = 0;
        for top in 0..10 {
            html.push_str(&format!(
                "    <DT><H3 ADD_DATE=\"1700000000\">Folder {top}</H3>\n    <DL><p>\n"
            ));
            for sub in 0..5 {
                let nested = sub > 0;
                if nested {
                    html.push_str(&format!(
                        "        <DT><H3>Sub {top}.{sub}</H3>\n        <DL><p>\n"
                    ));
                }
                for _ in 0..ENTRIES / 50 {
                    html.push_str(&format!(
                        "            <DT><A HREF=\"https://example.com/{top}/{sub}/{n}?ref=x&amp;y=1\" ADD_DATE=\"{}\" TAGS=\"t{top},s{sub}\" ICON=\"{icon}\">Bookmark {n} &amp; more</A>\n",
                        1_600_000_000 + n
                    ));
                    n += 1;
                }
                if nested {
                    html.push_str("        </DL><p>\n");
                }
            }
            html.push_str("    </DL><p>\n");
        }
        html.push_str("</DL><p>\n");

        let start = Instant::now();
        let entries = parse(&html).expect("generated file parses");
        let elapsed = start.elapsed();
        eprintln!(
            "parsed {} entries ({:.1} MB) in {:?}",
            entries.len(),
            html.len() as f64 / 1e6,
            elapsed
        );
        assert_eq!(entries.len(), ENTRIES);
        let last = &entries[ENTRIES - 1];
        assert_eq!(last.folders, strings(&["Folder 9", "Sub 9.4"]));
        assert_eq!(last.title, format!("Bookmark {} & more", ENTRIES - 1));
        assert_eq!(entries[0].folders, strings(&["Folder 0"]));
        assert_eq!(entries[0].tags, strings(&["t0", "s0"]));
    }
}
