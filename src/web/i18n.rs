//! The web interface's strings: one flat JSON file per language under `locales/`, compiled into
//! the binary. A missing German string falls back to English, a missing key shows the key (and
//! the locale tests fail on both).

use std::collections::HashMap;
use std::sync::OnceLock;

pub const LANGUAGES: [&str; 2] = ["en", "de"];

pub struct Locale {
    pub lang: &'static str,
    strings: HashMap<String, String>,
    fallback: Option<&'static Locale>,
}

impl Locale {
    pub fn get<'a>(&'a self, key: &'a str) -> &'a str {
        match self.strings.get(key) {
            Some(s) => s,
            None => match self.fallback {
                Some(f) => f.get(key),
                None => key,
            },
        }
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.strings.keys()
    }
}

fn parse(lang: &'static str, sources: &[&str], fallback: Option<&'static Locale>) -> Locale {
    let mut strings: HashMap<String, String> = HashMap::new();
    for src in sources {
        match serde_json::from_str::<HashMap<String, String>>(src) {
            Ok(part) => strings.extend(part),
            // The files are compiled in and checked by tests; a broken one is a build mistake.
            Err(e) => tracing::error!(error = %e, lang, "locale file does not parse"),
        }
    }
    Locale {
        lang,
        strings,
        fallback,
    }
}

/// One language's files: the shell and pages, then each area's own.
macro_rules! sources {
    ($lang:literal) => {
        [
            include_str!(concat!("../../locales/", $lang, ".json")),
            include_str!(concat!("../../locales/bookmarks.", $lang, ".json")),
            include_str!(concat!("../../locales/profile.", $lang, ".json")),
            include_str!(concat!("../../locales/admin.", $lang, ".json")),
            include_str!(concat!("../../locales/oidc.", $lang, ".json")),
            include_str!(concat!("../../locales/passkeys.", $lang, ".json")),
        ]
    };
}

pub fn en() -> &'static Locale {
    static EN: OnceLock<Locale> = OnceLock::new();
    EN.get_or_init(|| parse("en", &sources!("en"), None))
}

pub fn de() -> &'static Locale {
    static DE: OnceLock<Locale> = OnceLock::new();
    DE.get_or_init(|| parse("de", &sources!("de"), Some(en())))
}

pub fn locale(lang: &str) -> &'static Locale {
    match lang {
        "de" => de(),
        _ => en(),
    }
}

/// The best of our languages for an `Accept-Language` header (`en` when none matches).
pub fn negotiate(accept: Option<&str>) -> &'static str {
    let Some(accept) = accept else { return "en" };
    let mut best: Option<(&'static str, f32)> = None;
    for part in accept.split(',') {
        let mut it = part.trim().split(';');
        let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = it
            .find_map(|p| p.trim().strip_prefix("q=").and_then(|v| v.parse::<f32>().ok()))
            .unwrap_or(1.0);
        let primary = tag.split('-').next().unwrap_or("");
        if let Some(lang) = LANGUAGES.iter().find(|l| **l == primary) {
            if q > 0.0 && best.is_none_or(|(_, bq)| q > bq) {
                best = Some((lang, q));
            }
        }
    }
    best.map(|(l, _)| l).unwrap_or("en")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_the_same_keys() {
        let en: std::collections::BTreeSet<_> = en().keys().collect();
        let de: std::collections::BTreeSet<_> = de().keys().collect();
        let missing: Vec<_> = en.difference(&de).collect();
        let extra: Vec<_> = de.difference(&en).collect();
        assert!(missing.is_empty(), "German lacks {missing:?}");
        assert!(extra.is_empty(), "German has keys English lacks: {extra:?}");
        assert!(en.len() > 100, "the English file did not load");
    }

    #[test]
    fn every_key_used_in_templates_and_code_exists() {
        let mut missing = Vec::new();
        let mut files = Vec::new();
        for dir in ["templates", "src/web"] {
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
            let mut stack = vec![root];
            while let Some(d) = stack.pop() {
                for e in std::fs::read_dir(&d).unwrap().flatten() {
                    let p = e.path();
                    if p.is_dir() {
                        stack.push(p);
                    } else {
                        files.push(p);
                    }
                }
            }
        }
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            if f.extension().is_some_and(|e| e == "md") {
                continue;
            }
            for pat in [".t(\"", ".tf(\"", ".tf2(\""] {
                for (i, _) in text.match_indices(pat) {
                    let rest = &text[i + pat.len()..];
                    let key = &rest[..rest.find('"').unwrap()];
                    if key.contains('.') && !en().strings.contains_key(key) {
                        missing.push(format!("{}: {key}", f.display()));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "keys without an English string: {missing:#?}");
    }

    #[test]
    fn accept_language_picks_the_best_supported() {
        assert_eq!(negotiate(Some("de-DE,de;q=0.9,en;q=0.8")), "de");
        assert_eq!(negotiate(Some("fr-FR,en;q=0.5,de;q=0.7")), "de");
        assert_eq!(negotiate(Some("fr")), "en");
        assert_eq!(negotiate(None), "en");
        assert_eq!(negotiate(Some("en-GB,de;q=0")), "en");
    }
}
