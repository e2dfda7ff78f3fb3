//! Writing a Netscape bookmark file: folders nested as `<DL>` lists, every text escaped.

use std::collections::HashMap;

use super::Entry;

/// Writes entries as a Netscape bookmark file that browsers import and that
/// [`parse`] reads back to the same entries (except `line`).
///
/// Entries are grouped by folder path into nested `<DT><H3>..</H3><DL><p> .. </DL><p>`
/// blocks. Within a folder, entries and sub-folders keep the order in which they
/// first appear in `entries`; so if `entries` lists every folder's content
/// contiguously (as `parse` returns it), the round trip preserves the order too.
/// Empty folder names cannot be represented (`parse` skips unnamed folders).
pub fn write(entries: &[Entry]) -> String {
    // Build the folder tree.
    let mut root = FolderNode::default();
    for (index, entry) in entries.iter().enumerate() {
        let mut node = &mut root;
        for name in &entry.folders {
            let child = match node.child_by_name.get(name.as_str()) {
                Some(&child) => child,
                None => {
                    let child = node.children.len();
                    node.children.push((name.as_str(), FolderNode::default()));
                    node.child_by_name.insert(name.as_str(), child);
                    node.items.push(Item::Folder(child));
                    child
                }
            };
            node = &mut node.children[child].1;
        }
        node.items.push(Item::Entry(index));
    }

    let mut out = String::with_capacity(256 + entries.len() * 160);
    out.push_str(
        "<!DOCTYPE NETSCAPE-Bookmark-file-1>\n\
         <!-- This is an automatically generated file.\n     \
         It will be read and overwritten.\n     \
         DO NOT EDIT! -->\n\
         <META HTTP-EQUIV=\"Content-Type\" CONTENT=\"text/html; charset=UTF-8\">\n\
         <TITLE>Bookmarks</TITLE>\n\
         <H1>Bookmarks</H1>\n\
         <DL><p>\n",
    );

    // Depth-first walk with an explicit stack (folder paths may be arbitrarily deep).
    // Each frame is a folder node and the position of the next item to write.
    let mut stack: Vec<(&FolderNode, usize)> = vec![(&root, 0)];
    while let Some(&(node, next)) = stack.last() {
        let depth = stack.len(); // indentation level of this folder's items
        let Some(item) = node.items.get(next) else {
            stack.pop();
            if !stack.is_empty() {
                indent(&mut out, depth - 1);
                out.push_str("</DL><p>\n");
            }
            continue;
        };
        if let Some(frame) = stack.last_mut() {
            frame.1 += 1;
        }
        match *item {
            Item::Entry(index) => write_entry(&mut out, &entries[index], depth),
            Item::Folder(child) => {
                let (name, child_node) = &node.children[child];
                indent(&mut out, depth);
                out.push_str("<DT><H3>");
                escape_into(&mut out, name);
                out.push_str("</H3>\n");
                indent(&mut out, depth);
                out.push_str("<DL><p>\n");
                stack.push((child_node, 0));
            }
        }
    }
    out.push_str("</DL><p>\n");
    out
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

#[derive(Default)]
struct FolderNode<'a> {
    /// Entries and sub-folders in order of first appearance.
    items: Vec<Item>,
    children: Vec<(&'a str, FolderNode<'a>)>,
    child_by_name: HashMap<&'a str, usize>,
}

enum Item {
    /// Index into the `entries` given to `write`.
    Entry(usize),
    /// Index into `FolderNode::children`.
    Folder(usize),
}

fn write_entry(out: &mut String, entry: &Entry, depth: usize) {
    indent(out, depth);
    out.push_str("<DT><A HREF=\"");
    escape_into(out, &entry.url);
    out.push('"');
    if let Some(date) = entry.add_date {
        out.push_str(&format!(" ADD_DATE=\"{date}\""));
    }
    if !entry.tags.is_empty() {
        out.push_str(" TAGS=\"");
        escape_into(out, &entry.tags.join(","));
        out.push('"');
    }
    if let Some(shortcut) = &entry.shortcut {
        out.push_str(" SHORTCUTURL=\"");
        escape_into(out, shortcut);
        out.push('"');
    }
    out.push('>');
    escape_into(out, &entry.title);
    out.push_str("</A>\n");
    if let Some(description) = &entry.description {
        indent(out, depth);
        out.push_str("<DD>");
        escape_into(out, description);
        out.push('\n');
    }
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("    ");
    }
}

/// Escapes `&`, `<`, `>` and `"` (enough for text and double-quoted attributes).
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}
