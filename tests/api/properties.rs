//! Property tests (proptest, bounded cases) for the code that reads untrusted text: the Netscape
//! importer and writer, the JSON import, slug and URL validation, go-link target substitution and
//! the CSV export.

use proptest::prelude::*;
use serde_json::Value;
use slugbase::bookmarks::netscape::{self, Entry};
use slugbase::bookmarks::transfer::{self, csv_cell, csv_value};
use slugbase::bookmarks::{validate_slug, validate_url, Slug};
use slugbase::golinks::{parse as parse_go, target};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // A failure is reported, not stored: CI has no state to keep between runs.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text as a title or folder name survives the parser: no control characters, single spaces,
/// nothing at either end.
fn clean_text() -> impl Strategy<Value = String> {
    proptest::collection::vec("[^\\s\\x00-\\x1f\\x7f-\\x9f<>&\"]{1,8}", 1..4).prop_map(|w| w.join(" "))
}

fn host() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,8}(\\.[a-z][a-z0-9]{0,8}){1,2}"
}

fn url() -> impl Strategy<Value = String> {
    (
        host(),
        "(/[a-zA-Z0-9._~-]{0,8}){0,3}",
        proptest::option::of("[a-z]{1,5}=[a-z0-9]{0,5}"),
    )
        .prop_map(|(h, p, q)| match q {
            Some(q) => format!("https://{h}{p}?{q}"),
            None => format!("https://{h}{p}"),
        })
}

fn entry() -> impl Strategy<Value = Entry> {
    (
        clean_text(),
        url(),
        proptest::collection::vec(clean_text(), 0..3),
        proptest::collection::btree_set("[a-z0-9]{1,6}", 0..4),
        proptest::option::of(0i64..4_000_000_000),
        proptest::option::of("[a-zA-Z0-9_-]{1,10}"),
        proptest::option::of(clean_text()),
    )
        .prop_map(
            |(title, url, folders, tags, add_date, shortcut, description)| Entry {
                title,
                url,
                folders,
                tags: tags.into_iter().collect(),
                add_date,
                shortcut,
                description,
                line: 0,
            },
        )
}

proptest! {
    #![proptest_config(config(256))]

    /// Whatever it is given, the importer answers (entries or an error): no panic, no hang.
    #[test]
    fn the_netscape_reader_takes_any_text(text in ".{0,400}") {
        let _ = netscape::parse(&text);
    }

    /// Tag soup of the file's own vocabulary, which reaches the deeper states.
    #[test]
    fn the_netscape_reader_takes_any_tag_soup(
        parts in proptest::collection::vec(prop_oneof![
            Just("<DL>".to_string()), Just("</DL>".to_string()), Just("<DT>".to_string()),
            Just("<p>".to_string()), Just("<H3>".to_string()), Just("</H3>".to_string()),
            Just("</A>".to_string()), Just("<DD>".to_string()), Just("<!DOCTYPE NETSCAPE-Bookmark-file-1>".to_string()),
            "<A HREF=\"[a-z:/.]{0,12}\"( TAGS=\"[a-z,]{0,6}\")?( ADD_DATE=\"[0-9]{0,16}\")?>".prop_map(|s| s),
            "[a-z &;<>\"]{0,6}".prop_map(|s| s),
        ], 0..40)
    ) {
        let html = parts.concat();
        if let Ok(p) = netscape::parse_file(&html) {
            for e in &p.entries {
                prop_assert!(e.line >= 1);
            }
        }
    }

    /// What our export writes, our importer reads back: the same entries in the same order.
    #[test]
    fn the_netscape_file_round_trips(entries in proptest::collection::vec(entry(), 0..12)) {
        let html = netscape::write(&entries);
        let back = netscape::parse(&html).expect("our own export reads back");
        let strip = |v: &[Entry]| v.iter().map(|e| Entry { line: 0, ..e.clone() }).collect::<Vec<_>>();
        // The writer groups entries by folder; the reader gives them in file order.
        let mut want = strip(&entries);
        let mut got = strip(&back);
        let key = |e: &Entry| (e.folders.clone(), e.url.clone(), e.title.clone());
        want.sort_by_key(key);
        got.sort_by_key(key);
        prop_assert_eq!(got, want);
    }

    /// The JSON import takes any JSON value without panicking: entries, or a 400 envelope.
    #[test]
    fn the_json_import_takes_any_json(v in json_value()) {
        let _ = transfer::from_json(&v);
        let wrapped = serde_json::json!({"bookmarks": v});
        let _ = transfer::from_json(&wrapped);
    }

    /// A slug is exactly letters, digits, `-` and `_`, 1–255 of them, after trimming.
    #[test]
    fn slugs_are_exactly_the_slug_alphabet(raw in "\\PC{0,20}|[ ]{0,2}[A-Za-z0-9_-]{1,12}[ ]{0,2}") {
        let trimmed = raw.trim();
        let ok = !trimmed.is_empty()
            && trimmed.len() <= 255
            && trimmed.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        match validate_slug("slug", &raw) {
            Ok(Some(s)) => {
                prop_assert!(ok, "{raw:?} was accepted");
                prop_assert_eq!(s.as_str(), trimmed);
                prop_assert_eq!(Slug::checked(trimmed), Some(s));
            }
            Ok(None) => prop_assert!(trimmed.is_empty()),
            Err(_) => prop_assert!(!ok, "{raw:?} was refused"),
        }
    }

    /// Only absolute http(s) URLs with a host pass, trimmed, and never longer than 2048.
    #[test]
    fn urls_are_http_with_a_host(raw in "\\PC{0,40}|[ ]?(https?|javascript|data|ftp|file):(//)?[a-z.]{0,10}/?\\PC{0,10}") {
        if let Ok(u) = validate_url("url", &raw) {
            prop_assert_eq!(u.as_str(), raw.trim());
            let parsed = url::Url::parse(&u).expect("a valid URL parses");
            prop_assert!(parsed.scheme() == "http" || parsed.scheme() == "https");
            prop_assert!(parsed.host_str().is_some_and(|h| !h.is_empty()));
            prop_assert!(u.chars().count() <= 2048);
        }
    }

    /// Whatever follows the slug, the target stays on the bookmark's origin and under the path
    /// before its placeholder (or its own path, when the rest is appended).
    #[test]
    fn go_link_targets_stay_on_their_origin_and_path(
        h in host(),
        prefix in "(/[a-z0-9]{1,6}){0,3}/",
        form in 0..3usize,
        rest in proptest::collection::vec("\\PC{0,12}", 0..4),
        words in any::<bool>(),
        query in proptest::option::of("[a-z0-9=&%./]{0,12}"),
    ) {
        let template = match form {
            0 => format!("https://{h}{prefix}search?q=%s"),
            1 => format!("https://{h}{prefix}{{path}}"),
            _ => format!("https://{h}{prefix}"),
        };
        // The request as the server parses it: segments (or words) after the slug.
        let encode = |s: &String| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();
        let raw = if words {
            std::iter::once("gh".to_string()).chain(rest.iter().map(encode)).collect::<Vec<_>>().join("%20")
        } else {
            std::iter::once("gh".to_string()).chain(rest.iter().map(encode)).collect::<Vec<_>>().join("/")
        };
        let Ok(req) = parse_go(&raw, query.as_deref()) else {
            return Ok(());
        };
        if let Some(out) = target(&template, &req) {
            let got = url::Url::parse(&out).expect("a target is a URL");
            prop_assert_eq!(got.scheme(), "https");
            prop_assert_eq!(got.host_str(), Some(h.as_str()));
            prop_assert_eq!(got.port(), None);
            prop_assert!(got.path().starts_with(prefix.as_str()), "{} left {}", out, prefix);
            if form == 0 {
                prop_assert_eq!(got.path(), format!("{prefix}search"));
            }
        }
    }

    /// A CSV cell never starts a formula, and the import reads back exactly what was written.
    #[test]
    fn csv_cells_are_inert_and_round_trip(cell in "['=+@\\t\\r-]{0,3}\\PC{0,12}") {
        let out = csv_cell(&cell);
        prop_assert!(!out.starts_with(['=', '+', '-', '@', '\t', '\r']), "{:?}", out);
        prop_assert_eq!(csv_value(&out), cell.as_str());
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
        "(https?|javascript):[a-z/.]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("title".to_string()),
                    Just("url".to_string()),
                    Just("slug".to_string()),
                    Just("tags".to_string()),
                    Just("folders".to_string()),
                    Just("forwarding_enabled".to_string()),
                    Just("created_at".to_string()),
                    "[a-z_]{1,8}".prop_map(|s| s),
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The CSV export's cells, read back by the CSV import: a whole file round-trips.
#[test]
fn a_csv_export_reads_back() {
    let items = vec![
        transfer::ExportItem {
            title: "=HYPERLINK(\"http://evil\")".into(),
            url: "https://example.com/a".into(),
            slug: "a".into(),
            forwarding_enabled: true,
            pinned: false,
            created_at: None,
            description: Some("-1 +2 @me".into()),
            folder_names: vec!["+plus".into()],
            tag_names: vec!["@tag".into(), "plain".into()],
            access_count: 0,
            last_accessed_at: None,
        },
        transfer::ExportItem {
            title: "'=quoted already".into(),
            url: "https://example.com/b".into(),
            slug: String::new(),
            forwarding_enabled: false,
            pinned: true,
            created_at: None,
            description: None,
            folder_names: vec![],
            tag_names: vec![],
            access_count: 0,
            last_accessed_at: None,
        },
    ];
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    w.write_record(transfer::CSV_HEADER).unwrap();
    for it in &items {
        let row = transfer::csv_row(it);
        for cell in &row {
            assert!(!cell.starts_with(['=', '+', '-', '@']), "{cell:?}");
        }
        w.write_record(row).unwrap();
    }
    let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
    let back = transfer::from_csv(&text).unwrap();
    assert_eq!(back.len(), 2);
    assert_eq!(back[0].title.as_deref(), Some("=HYPERLINK(\"http://evil\")"));
    assert_eq!(back[0].description.as_deref(), Some("-1 +2 @me"));
    assert_eq!(back[0].folder_names, vec!["+plus".to_string()]);
    assert_eq!(back[0].tag_names, vec!["@tag".to_string(), "plain".to_string()]);
    assert_eq!(back[1].title.as_deref(), Some("'=quoted already"));
}
