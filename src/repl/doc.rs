//! The function reference, generated from the `///` docs of every
//! registered function (`nsscript --doc`, `help()`).

use crate::engine;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FnDoc {
    pub name: String,
    #[serde(default)]
    pub signature: String,
    #[serde(default)]
    pub doc_comments: Vec<String>,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(default)]
    functions: Vec<FnDoc>,
}

/// Every nsscript function (not Rhai's standard library), sorted by name.
pub fn functions() -> Vec<FnDoc> {
    let engine = engine::new_engine();
    let json = engine.gen_fn_metadata_to_json(false).unwrap_or_default();
    let mut fns = serde_json::from_str::<Meta>(&json)
        .map(|m| m.functions)
        .unwrap_or_default();
    fns.retain(|f| !f.name.starts_with("anon$"));
    fns.sort_by(|a, b| a.name.cmp(&b.name).then(a.signature.cmp(&b.signature)));
    fns
}

/// The doc text without comment markers.
pub fn doc_text(f: &FnDoc) -> String {
    f.doc_comments
        .iter()
        .flat_map(|c| c.lines())
        .map(|l| {
            let l = l.trim_start();
            let l = l.strip_prefix("///").unwrap_or(l);
            l.strip_prefix(' ').unwrap_or(l)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The whole reference as Markdown.
pub fn markdown() -> String {
    let mut out = String::from("# nsscript function reference\n\n");
    for f in functions() {
        out.push_str(&format!("### `{}`\n\n", f.signature));
        let d = doc_text(&f);
        if !d.is_empty() {
            out.push_str(&d);
            out.push_str("\n\n");
        }
    }
    out
}
