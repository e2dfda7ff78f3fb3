//! What the messages say, in English and German (`locales/mail.<lang>.json`), rendered as HTML
//! (`templates/mail/message.html`, every value escaped) and as plain text
//! (`templates/mail/message.txt`). Links are built only from `FRONTEND_URL`, a fixed path and a
//! hex token; names and addresses are text in both parts, never markup.

use std::collections::HashMap;
use std::sync::OnceLock;

use askama::Template;
use serde::{Deserialize, Serialize};

use crate::db::Ts;
use crate::error::{Error, Result};

/// The recipient's language: German for `de…`, otherwise English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    De,
}

impl Lang {
    pub fn of(language: Option<&str>) -> Lang {
        match language {
            Some(l) if l.trim().to_ascii_lowercase().starts_with("de") => Lang::De,
            _ => Lang::En,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
        }
    }
}

fn strings(lang: Lang) -> &'static HashMap<String, String> {
    static EN: OnceLock<HashMap<String, String>> = OnceLock::new();
    static DE: OnceLock<HashMap<String, String>> = OnceLock::new();
    let (cell, src) = match lang {
        Lang::En => (&EN, include_str!("../../locales/mail.en.json")),
        Lang::De => (&DE, include_str!("../../locales/mail.de.json")),
    };
    cell.get_or_init(|| {
        serde_json::from_str(src).unwrap_or_else(|e| {
            // Compiled in and checked by the tests below; a broken file is a build mistake.
            tracing::error!(error = %e, "mail locale file does not parse");
            HashMap::new()
        })
    })
}

/// The string for `key` with `{0}`, `{1}` … replaced by `args`.
fn t(lang: Lang, key: &str, args: &[&str]) -> String {
    let mut s = strings(lang)
        .get(key)
        .or_else(|| strings(Lang::En).get(key))
        .cloned()
        .unwrap_or_else(|| key.to_string());
    for (i, a) in args.iter().enumerate() {
        s = s.replace(&format!("{{{i}}}"), a);
    }
    s
}

/// A rendered message: what the outbox stores (encrypted) and the sender sends.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A rendered message and its language.
pub struct Content {
    pub lang: Lang,
    pub rendered: Rendered,
}

struct Button {
    label: String,
    url: String,
}

/// The parts every message has; the templates lay them out.
struct Message {
    lang: &'static str,
    subject: String,
    title: String,
    greeting: Option<String>,
    paragraphs: Vec<String>,
    button: Option<Button>,
    link_hint: String,
    notes: Vec<String>,
    check: bool,
    footer: String,
}

#[derive(Template)]
#[template(path = "mail/message.html")]
struct Html<'a> {
    m: &'a Message,
}

#[derive(Template)]
#[template(path = "mail/message.txt")]
struct Text<'a> {
    m: &'a Message,
}

/// A moment as people read it in a message (UTC).
pub fn when(ts: Ts) -> String {
    ts.0.format("%Y-%m-%d %H:%M UTC").to_string()
}

struct Builder {
    lang: Lang,
    area: &'static str,
    greeting: Option<String>,
    paragraphs: Vec<String>,
    button: Option<Button>,
    notes: Vec<String>,
    check: bool,
}

impl Builder {
    fn new(lang: Lang, area: &'static str) -> Builder {
        Builder {
            lang,
            area,
            greeting: None,
            paragraphs: Vec::new(),
            button: None,
            notes: Vec::new(),
            check: false,
        }
    }

    fn key(&self, part: &str) -> String {
        format!("mail.{}.{part}", self.area)
    }

    fn greet(mut self, name: Option<&str>) -> Builder {
        self.greeting = name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(|n| t(self.lang, "mail.greeting", &[n]));
        self
    }

    fn para(mut self, part: &str, args: &[&str]) -> Builder {
        let s = t(self.lang, &self.key(part), args);
        self.paragraphs.push(s);
        self
    }

    fn note(mut self, part: &str, args: &[&str]) -> Builder {
        let s = t(self.lang, &self.key(part), args);
        self.notes.push(s);
        self
    }

    fn button(mut self, url: String) -> Builder {
        self.button = Some(Button {
            label: t(self.lang, &self.key("button"), &[]),
            url,
        });
        self
    }

    fn render(self) -> Result<Content> {
        let m = Message {
            lang: self.lang.code(),
            subject: t(self.lang, &self.key("subject"), &[]),
            title: t(self.lang, &self.key("title"), &[]),
            greeting: self.greeting,
            paragraphs: self.paragraphs,
            button: self.button,
            link_hint: t(self.lang, "mail.link_hint", &[]),
            notes: self.notes,
            check: self.check,
            footer: t(self.lang, "mail.footer", &[&when(Ts::now())]),
        };
        let render_err = |e: askama::Error| {
            tracing::error!(error = %e, "a mail template failed to render");
            Error::internal()
        };
        let html = Html { m: &m }.render().map_err(render_err)?;
        let text = Text { m: &m }.render().map_err(render_err)?;
        Ok(Content {
            lang: self.lang,
            rendered: Rendered {
                subject: m.subject,
                text,
                html,
            },
        })
    }
}

pub fn password_reset(lang: Lang, link: String) -> Result<Content> {
    Builder::new(lang, "reset")
        .para("body", &[])
        .button(link)
        .note("expiry", &[])
        .note("ignore", &[])
        .render()
}

pub fn password_changed(lang: Lang, at: Ts, reset_page: &str) -> Result<Content> {
    Builder::new(lang, "password_changed")
        .para("body", &[&when(at)])
        .note("warning", &[reset_page])
        .render()
}

pub fn invite(lang: Lang, name: &str, inviter: &str, site: &str, link: String) -> Result<Content> {
    Builder::new(lang, "invite")
        .greet(Some(name))
        .para("body", &[inviter, site])
        .button(link)
        .note("expiry", &[])
        .render()
}

pub fn signup_verify(lang: Lang, name: &str, link: String) -> Result<Content> {
    Builder::new(lang, "signup")
        .greet(Some(name))
        .para("body", &[])
        .button(link)
        .note("expiry", &[])
        .note("ignore", &[])
        .render()
}

pub fn signup_existing(lang: Lang, login_page: String, reset_page: &str) -> Result<Content> {
    Builder::new(lang, "signup_existing")
        .para("body", &[])
        .button(login_page)
        .note("forgot", &[reset_page])
        .note("ignore", &[])
        .render()
}

pub fn email_change_verify(lang: Lang, name: &str, new_email: &str, link: String) -> Result<Content> {
    Builder::new(lang, "email_change")
        .greet(Some(name))
        .para("body", &[new_email])
        .button(link)
        .note("expiry", &[])
        .note("ignore", &[])
        .render()
}

pub fn email_changed(lang: Lang, name: &str, old: &str, new: &str, at: Ts) -> Result<Content> {
    Builder::new(lang, "email_changed")
        .greet(Some(name))
        .para("body", &[old, new, &when(at)])
        .note("warning", &[])
        .render()
}

pub fn smtp_test(lang: Lang, recipient: &str, at: Ts) -> Result<Content> {
    let mut b = Builder::new(lang, "test")
        .para("body", &[&when(at), recipient])
        .note("note", &[]);
    b.check = true;
    b.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_the_same_keys() {
        let en: std::collections::BTreeSet<_> = strings(Lang::En).keys().collect();
        let de: std::collections::BTreeSet<_> = strings(Lang::De).keys().collect();
        assert!(en.len() > 30, "the English mail strings did not load");
        assert_eq!(en, de, "mail.en.json and mail.de.json differ in keys");
    }

    #[test]
    fn every_message_renders_in_both_languages_and_escapes_user_text() {
        let evil = "<script>alert(1)</script> & \"Bob\"";
        for lang in [Lang::En, Lang::De] {
            let link = "https://sb.example/reset-password?token=ab12".to_string();
            let all = [
                password_reset(lang, link.clone()).unwrap(),
                password_changed(lang, Ts::now(), "https://sb.example/reset-password").unwrap(),
                invite(lang, evil, evil, "https://sb.example", link.clone()).unwrap(),
                signup_verify(lang, evil, link.clone()).unwrap(),
                signup_existing(lang, link.clone(), "https://sb.example/reset-password").unwrap(),
                email_change_verify(lang, evil, "new@example.com", link.clone()).unwrap(),
                email_changed(lang, evil, "old@example.com", "new@example.com", Ts::now()).unwrap(),
                smtp_test(lang, "a@example.com", Ts::now()).unwrap(),
            ];
            for c in all {
                let r = &c.rendered;
                assert!(!r.subject.starts_with("mail."), "{}", r.subject);
                assert!(!r.html.contains("mail."), "an untranslated key in {}", r.html);
                assert!(!r.html.contains("<script>"), "unescaped markup in {}", r.html);
                assert!(r.html.contains(&format!("lang=\"{}\"", lang.code())));
                assert!(!r.text.contains("&lt;"), "the text part is not HTML-escaped");
            }
        }
        let r = invite(
            Lang::En,
            evil,
            "Ada",
            "https://sb.example",
            "https://x/y?token=1".into(),
        )
        .unwrap();
        assert!(r
            .rendered
            .html
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
        assert!(r.rendered.text.contains("<script>alert(1)</script>"));
        assert_eq!(
            password_reset(Lang::De, String::new()).unwrap().rendered.subject,
            "Passwort zurücksetzen - SlugBase"
        );
    }
}
