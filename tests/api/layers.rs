//! The shape of the code, checked so it stays true (docs/architecture.md explains it):
//! - code below the HTTP edge knows nothing of HTTP: no `axum`, `tower`, `StatusCode`, and no
//!   `crate::api`, `crate::web`, `crate::http` or `crate::state`;
//! - `src/api` and `src/web` never import each other, and `src/http` imports neither;
//! - the domain modules import each other without a cycle;
//! - no source file has more than 600 lines before its tests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules that make up the HTTP edge (and the assembly around it).
const EDGE: &[&str] = &[
    "api", "web", "http", "state", "startup", "router", "serve", "main", "cli", "lib",
];

const MAX_LINES: usize = 600;

struct Source {
    /// Relative to `src/`, with `/`.
    path: String,
    /// The top-level module the file belongs to (`bookmarks` for `src/bookmarks/query.rs`).
    top: String,
    /// The code before `#[cfg(test)]`, without `//` comments.
    code: String,
    lines: usize,
}

fn sources() -> Vec<Source> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).expect("read a source file");
            let before_tests = text.split("#[cfg(test)]").next().unwrap_or("");
            let path = f
                .strip_prefix(&root)
                .expect("under src")
                .to_string_lossy()
                .replace('\\', "/");
            let top = path
                .split('/')
                .next()
                .unwrap_or("")
                .trim_end_matches(".rs")
                .to_string();
            Source {
                code: before_tests
                    .lines()
                    .map(|l| l.split("//").next().unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join("\n"),
                lines: before_tests.lines().count(),
                path,
                top,
            }
        })
        .collect()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let p = entry.expect("dir entry").path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The `crate::<module>` names a piece of code refers to, including `use crate::{a, b}`.
fn crate_refs(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in code.match_indices("crate::") {
        // `$crate::` inside macros refers to the crate root as well.
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = group.split('}').next().unwrap_or("");
            for item in group.split(',') {
                let name = ident(item.trim());
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

fn mentions_path(code: &str, root: &str) -> bool {
    code.match_indices(root).any(|(i, _)| {
        let before = code[..i].chars().last();
        let after = &code[i + root.len()..];
        !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            && (after.starts_with("::") || after.starts_with(';'))
    })
}

#[test]
fn the_domain_knows_nothing_of_http() {
    let mut found = Vec::new();
    for s in sources().iter().filter(|s| !EDGE.contains(&s.top.as_str())) {
        for word in ["axum", "axum_extra", "tower", "tower_http"] {
            if mentions_path(&s.code, word) {
                found.push(format!("{} uses {word}", s.path));
            }
        }
        if s.code.contains("StatusCode") {
            found.push(format!("{} uses StatusCode", s.path));
        }
        for edge in ["api", "web", "http", "state"] {
            if crate_refs(&s.code).contains(edge) {
                found.push(format!("{} imports crate::{edge}", s.path));
            }
        }
    }
    assert!(found.is_empty(), "below the HTTP edge:\n{}", found.join("\n"));
}

#[test]
fn the_surfaces_do_not_import_each_other() {
    let mut found = Vec::new();
    for s in sources() {
        let refs = crate_refs(&s.code);
        let forbidden: &[&str] = match s.top.as_str() {
            "api" => &["web"],
            "web" => &["api"],
            "http" => &["api", "web", "router"],
            _ => &[],
        };
        for f in forbidden {
            if refs.contains(*f) {
                found.push(format!("{} imports crate::{f}", s.path));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_domain_modules_have_no_import_cycle() {
    let all = sources();
    let domain: BTreeSet<String> = all
        .iter()
        .map(|s| s.top.clone())
        .filter(|t| !EDGE.contains(&t.as_str()))
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in all.iter().filter(|s| domain.contains(&s.top)) {
        let deps = graph.entry(s.top.clone()).or_default();
        for r in crate_refs(&s.code) {
            if r != s.top && domain.contains(&r) {
                deps.insert(r);
            }
        }
    }
    // Depth-first search for a back edge; the path to it is the cycle.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for dep in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(dep, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, &graph, &mut Vec::new(), &mut done) {
            panic!("import cycle among domain modules: {}", cycle.join(" -> "));
        }
    }
    assert!(
        graph.len() > 10,
        "the check sees the domain modules: {:?}",
        graph.keys()
    );
}

#[test]
fn no_source_file_is_too_long() {
    let long: Vec<String> = sources()
        .into_iter()
        .filter(|s| s.lines > MAX_LINES)
        .map(|s| format!("{}: {} lines before its tests", s.path, s.lines))
        .collect();
    assert!(long.is_empty(), "split these by concern:\n{}", long.join("\n"));
}

#[test]
fn the_checks_catch_what_they_look_for() {
    assert!(mentions_path("use axum::Router;", "axum"));
    assert!(mentions_path("let x = axum::http::StatusCode::OK;", "axum"));
    assert!(!mentions_path("use my_axum::x;", "axum"));
    assert!(!mentions_path("let axum_like = 1;", "axum"));
    let refs = crate_refs("use crate::{db, error::Result};\nlet s = crate::state::AppState;");
    assert_eq!(
        refs,
        ["db", "error", "state"].iter().map(|s| s.to_string()).collect()
    );
}
