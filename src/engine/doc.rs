//! The function reference, generated from the `///` docs of every
//! registered function: `nsscript --doc` (docs/reference.md through
//! scripts/gen-reference.sh), the man page (`--man`, man/nsscript.1),
//! editor definitions (`--definitions`), `help()` and `help("name")`, and
//! the types the REPL's completion knows after a dot.
//!
//! Rhai flattens every package into one global module, so the area a
//! function belongs to comes from a name table (`AREAS`); methods and
//! properties of a custom type (the Process handle) form an area of their
//! own, and a name in no table lands in "More".

use super::bundled;
use rhai::Engine;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Areas in the order help() and --doc list them. A pattern is a name, a
/// prefix (`msg*`) or a part (`*mount*`); the first match wins.
const AREAS: &[(&str, &[&str])] = &[
    ("Processes", &["spawn", "run", "in_ns", "set_grace"]),
    (
        "Namespaces",
        &[
            "unshare",
            "setns",
            "enter",
            "ns_id",
            "nspid",
            "namespaces",
            "persist",
            "unpersist",
            "ns_of",
            "ns_*",
        ],
    ),
    (
        "Identity and id maps",
        &[
            "uid", "gid", "euid", "egid", "pid", "ppid", "id", "uid_map", "gid_map", "*_map",
        ],
    ),
    (
        "UTS: host and domain name",
        &["hostname", "set_hostname", "domainname", "set_domainname"],
    ),
    ("System V IPC", &["msg*", "ipc*", "sem*", "shm*"]),
    (
        "Mounts",
        &[
            "mount_proc",
            "mount",
            "bind",
            "umount",
            "make_private",
            "make_*",
            "pivot_root",
            "mounts",
            "*mount*",
        ],
    ),
    (
        "Network",
        &[
            "links", "link*", "veth", "bridge", "addr*", "route*", "netns*", "*_link*", "topology",
        ],
    ),
    (
        "Files, time and environment",
        &[
            "read_file",
            "write_file",
            "exists",
            "readlink",
            "sleep",
            "clock",
            "env",
            "*_file",
        ],
    ),
    (
        "Script control",
        &["exit", "assert", "assert_eq", "eprint", "help", "trace"],
    ),
    ("What this machine allows", &["doctor"]),
];

/// What is left when no pattern matches.
const MORE: &str = "More";

/// Plumbing that scripts never call by name.
const HIDDEN: &[&str] = &["to_string", "to_debug"];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawParam {
    #[serde(default)]
    name: Option<String>,
    #[serde(rename = "type", default)]
    typ: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawFn {
    name: String,
    #[serde(default)]
    is_anonymous: bool,
    #[serde(default)]
    params: Vec<RawParam>,
    #[serde(default)]
    return_type: String,
    #[serde(default)]
    doc_comments: Vec<String>,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(default)]
    functions: Vec<RawFn>,
}

/// How a function is called from a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `name(args)`
    Function,
    /// `p.name(args)`: the first parameter is a custom type (`Process`).
    Method { receiver: String, ty: String },
    /// `p.name`
    Getter { receiver: String, ty: String },
    /// `p.name = value`
    Setter { receiver: String, ty: String },
}

/// One overload of a script function, as scripts see it.
#[derive(Debug, Clone)]
pub struct FnDoc {
    /// The name a script uses (`pid` for the `p.pid` property).
    pub name: String,
    pub kind: Kind,
    /// `(name, type)`; the type is "" when it takes anything.
    pub params: Vec<(String, String)>,
    /// The script type returned, "" for none.
    pub ret: String,
    /// The doc text without comment markers.
    pub doc: String,
}

impl FnDoc {
    /// How to call it: `spawn(cmd, opts: map) -> Process`, `p.pid -> int`.
    pub fn signature(&self) -> String {
        let args = |ps: &[(String, String)]| {
            ps.iter()
                .map(|(n, t)| match (n.is_empty(), t.is_empty()) {
                    (_, true) => n.clone(),
                    (true, false) => t.clone(),
                    (false, false) => format!("{n}: {t}"),
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let ret = if self.ret.is_empty() {
            String::new()
        } else {
            format!(" -> {}", self.ret)
        };
        match &self.kind {
            Kind::Function => format!("{}({}){ret}", self.name, args(&self.params)),
            Kind::Method { receiver, .. } => {
                format!("{receiver}.{}({}){ret}", self.name, args(&self.params))
            }
            Kind::Getter { receiver, .. } => format!("{receiver}.{}{ret}", self.name),
            Kind::Setter { receiver, .. } => {
                format!("{receiver}.{} = {}", self.name, args(&self.params))
            }
        }
    }

    /// The short form help() lists: `spawn`, `p.wait()`, `p.pid`.
    pub fn short(&self) -> String {
        match &self.kind {
            Kind::Function => format!("{}()", self.name),
            Kind::Method { receiver, .. } => format!("{receiver}.{}()", self.name),
            Kind::Getter { receiver, .. } | Kind::Setter { receiver, .. } => {
                format!("{receiver}.{}", self.name)
            }
        }
    }

    /// The first sentence of the doc, on one line.
    pub fn summary(&self) -> String {
        let para: Vec<&str> = self
            .doc
            .lines()
            .map(str::trim)
            .take_while(|l| !l.is_empty() && !l.starts_with("```"))
            .collect();
        let text = para.join(" ");
        match text.find(". ") {
            Some(i) => text[..=i].to_string(),
            None => text,
        }
    }

    /// The area it is listed under.
    pub fn area(&self) -> String {
        match &self.kind {
            Kind::Function => area_of(&self.name).to_string(),
            Kind::Method { ty, .. } | Kind::Getter { ty, .. } | Kind::Setter { ty, .. } => {
                format!("{ty} methods and properties")
            }
        }
    }
}

fn matches(pattern: &str, name: &str) -> bool {
    match (pattern.strip_prefix('*'), pattern.strip_suffix('*')) {
        (Some(mid), Some(_)) if pattern.len() > 1 => {
            name.contains(mid.strip_suffix('*').unwrap_or(mid))
        }
        (Some(end), None) => name.ends_with(end),
        (None, Some(start)) => name.starts_with(start),
        _ => pattern == name,
    }
}

/// The area of a plain function: an exact name anywhere in the table wins
/// over a pattern.
fn area_of(name: &str) -> &'static str {
    AREAS
        .iter()
        .find(|(_, pats)| pats.contains(&name))
        .or_else(|| {
            AREAS
                .iter()
                .find(|(_, pats)| pats.iter().any(|p| matches(p, name)))
        })
        .map_or(MORE, |(area, _)| area)
}

/// A Rust parameter or return type as a script sees it.
pub fn script_type(t: &str) -> String {
    let t = t.trim();
    let t = t.strip_prefix("&mut ").unwrap_or(t).trim();
    let t = t.strip_prefix('&').unwrap_or(t).trim();
    let t = t.strip_prefix("rhai::").unwrap_or(t);
    for wrapper in ["RResult<", "RhaiResultOf<", "Result<"] {
        if let Some(inner) = t.strip_prefix(wrapper).and_then(|s| s.strip_suffix('>')) {
            let mut depth = 0;
            let end = inner
                .char_indices()
                .find(|(_, c)| {
                    match c {
                        '<' | '(' => depth += 1,
                        '>' | ')' => depth -= 1,
                        ',' if depth == 0 => return true,
                        _ => {}
                    }
                    false
                })
                .map_or(inner.len(), |(i, _)| i);
            return script_type(&inner[..end]);
        }
    }
    match t {
        "" | "()" => String::new(),
        "i64" | "i32" | "i16" | "i8" | "u64" | "u32" | "u16" | "u8" | "usize" | "isize" | "INT" => {
            "int".into()
        }
        "f64" | "f32" | "FLOAT" => "float".into(),
        "bool" => "bool".into(),
        "str" | "String" | "ImmutableString" | "string" => "string".into(),
        "char" => "char".into(),
        "Array" | "array" => "array".into(),
        "Map" | "map" => "map".into(),
        "Blob" | "blob" => "blob".into(),
        "FnPtr" | "Fn" => "Fn".into(),
        "Dynamic" => String::new(),
        "Instant" => "timestamp".into(),
        t if t.starts_with("Vec<") => "array".into(),
        t => t.rsplit("::").next().unwrap_or(t).to_string(),
    }
}

/// Types that are Rhai's own: a `&mut` first parameter of one of these is
/// not a method receiver.
fn is_std_type(t: &str) -> bool {
    matches!(
        t,
        "" | "int" | "float" | "bool" | "string" | "char" | "array" | "map" | "blob" | "Fn"
    )
}

/// The doc text without comment markers.
fn doc_text(comments: &[String]) -> String {
    comments
        .iter()
        .flat_map(|c| c.lines())
        .map(|l| {
            let l = l.trim_start();
            let l = l.strip_prefix("///").unwrap_or(l);
            let l = l.strip_prefix("/**").unwrap_or(l);
            let l = l.strip_suffix("*/").unwrap_or(l);
            l.strip_prefix(' ').unwrap_or(l).trim_end()
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

fn from_raw(f: RawFn) -> Option<FnDoc> {
    if f.is_anonymous
        || f.name.starts_with("anon$")
        || f.name.starts_with("index$")
        || f.name.starts_with("__")
        || HIDDEN.contains(&f.name.as_str())
        || !f
            .name
            .trim_start_matches("get$")
            .trim_start_matches("set$")
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_')
    {
        return None;
    }
    let mut params: Vec<(String, String)> = f
        .params
        .iter()
        .map(|p| {
            (
                p.name.clone().unwrap_or_default(),
                script_type(p.typ.as_deref().unwrap_or("")),
            )
        })
        .collect();
    let first_is_mut = f
        .params
        .first()
        .and_then(|p| p.typ.as_deref())
        .is_some_and(|t| t.trim_start().starts_with("&mut "));
    let receiver = match params.first() {
        Some((n, t)) if first_is_mut && !is_std_type(t) => Some((
            if n.is_empty() {
                t.chars()
                    .next()
                    .map_or("x".into(), |c| c.to_lowercase().to_string())
            } else {
                n.clone()
            },
            t.clone(),
        )),
        _ => None,
    };
    let (name, kind) = match (f.name.strip_prefix("get$"), f.name.strip_prefix("set$")) {
        (Some(prop), _) => {
            let (receiver, ty) = receiver.unwrap_or(("x".into(), String::new()));
            (prop.to_string(), Kind::Getter { receiver, ty })
        }
        (_, Some(prop)) => {
            let (receiver, ty) = receiver.unwrap_or(("x".into(), String::new()));
            (prop.to_string(), Kind::Setter { receiver, ty })
        }
        _ => match receiver {
            Some((receiver, ty)) => (f.name.clone(), Kind::Method { receiver, ty }),
            None => (f.name.clone(), Kind::Function),
        },
    };
    if kind != Kind::Function {
        params.remove(0);
    }
    Some(FnDoc {
        name,
        kind,
        params,
        ret: match script_type(&f.return_type) {
            t if t.is_empty() && f.return_type.contains("Dynamic") => "any".into(),
            t => t,
        },
        doc: doc_text(&f.doc_comments),
    })
}

/// Every nsscript function the engine has (not Rhai's standard library),
/// sorted by name, then methods after functions, then by arity.
pub fn functions(engine: &Engine) -> Vec<FnDoc> {
    let json = engine.gen_fn_metadata_to_json(false).unwrap_or_default();
    let raw = serde_json::from_str::<Meta>(&json)
        .map(|m| m.functions)
        .unwrap_or_default();
    let mut fns: Vec<FnDoc> = raw.into_iter().filter_map(from_raw).collect();
    fns.sort_by(|a, b| {
        a.name
            .cmp(&b.name)
            .then((a.kind != Kind::Function).cmp(&(b.kind != Kind::Function)))
            .then(a.params.len().cmp(&b.params.len()))
            // Rhai's metadata comes in hash order: the signature makes
            // the order the same on every run.
            .then_with(|| a.signature().cmp(&b.signature()))
    });
    fns
}

/// What values of each script type can call after a dot, and what plain
/// calls return: the REPL's completion tells `p.` (a Process: `pid`,
/// `wait`, `kill`...) from `"text".` (a string: `len`, `to_upper`...).
#[derive(Debug, Default)]
pub struct TypeInfo {
    /// Type -> member name -> the type it returns ("" when unknown or
    /// when overloads disagree). Types as `script_type` names them.
    pub members: BTreeMap<String, BTreeMap<String, String>>,
    /// Function name -> the type its calls return (as above).
    pub returns: BTreeMap<String, String>,
}

/// Every function of the engine, Rhai's standard library included, sorted
/// by the type of its first parameter.
pub fn type_info(engine: &Engine) -> TypeInfo {
    let json = engine.gen_fn_metadata_to_json(true).unwrap_or_default();
    let raw = serde_json::from_str::<Meta>(&json)
        .map(|m| m.functions)
        .unwrap_or_default();
    // One type for a name, or "" when its overloads disagree.
    fn merge(slot: &mut BTreeMap<String, String>, name: &str, ret: String) {
        slot.entry(name.to_string())
            .and_modify(|r| {
                if *r != ret {
                    r.clear();
                }
            })
            .or_insert(ret);
    }
    let mut info = TypeInfo::default();
    for f in raw {
        if f.is_anonymous || f.name.starts_with("set$") {
            continue;
        }
        let name = f.name.strip_prefix("get$").unwrap_or(&f.name);
        let plain = name
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_alphanumeric() || c == '_');
        if !plain || name.starts_with("__") {
            continue;
        }
        let ret = script_type(&f.return_type);
        if let Some(first) = f.params.first() {
            let on = script_type(first.typ.as_deref().unwrap_or(""));
            merge(info.members.entry(on).or_default(), name, ret.clone());
        }
        if !f.name.starts_with("get$") {
            merge(&mut info.returns, name, ret);
        }
    }
    info
}

/// The overloads of one name, grouped by how they are called.
pub struct Entry<'a> {
    pub name: &'a str,
    pub overloads: Vec<&'a FnDoc>,
}

impl Entry<'_> {
    /// The first documented overload's summary.
    /// The summary of the overload with the longest doc: the main form
    /// (`spawn(cmd, opts)` over `spawn(cmd)`).
    pub fn summary(&self) -> String {
        self.overloads
            .iter()
            .max_by_key(|f| f.doc.len())
            .map(|f| f.summary())
            .unwrap_or_default()
    }

    /// The short call form of the first overload.
    pub fn short(&self) -> String {
        self.overloads
            .first()
            .map(|f| f.short())
            .unwrap_or_default()
    }
}

/// Functions grouped by area (table order, custom-type areas after them,
/// "More" last); within an area, entries in table order, then by name.
pub fn by_area(fns: &[FnDoc]) -> Vec<(String, Vec<Entry<'_>>)> {
    let mut areas: Vec<(String, Vec<Entry>)> = Vec::new();
    for f in fns {
        let area = f.area();
        let idx = match areas.iter().position(|(a, _)| *a == area) {
            Some(i) => i,
            None => {
                areas.push((area, Vec::new()));
                areas.len() - 1
            }
        };
        let entries = &mut areas[idx].1;
        let same = |e: &&mut Entry| {
            e.name == f.name
                && e.overloads.first().is_some_and(|o| {
                    std::mem::discriminant(&o.kind) == std::mem::discriminant(&f.kind)
                })
        };
        match entries.iter_mut().find(|e| same(e)) {
            Some(e) => e.overloads.push(f),
            None => entries.push(Entry {
                name: &f.name,
                overloads: vec![f],
            }),
        }
    }
    let rank = |area: &str| {
        AREAS
            .iter()
            .position(|(a, _)| *a == area)
            .unwrap_or(if area == MORE {
                usize::MAX
            } else {
                AREAS.len()
            })
    };
    areas.sort_by(|(a, _), (b, _)| rank(a).cmp(&rank(b)).then(a.cmp(b)));
    for (area, entries) in &mut areas {
        let pats = AREAS
            .iter()
            .find(|(a, _)| a == area)
            .map_or(&[][..], |(_, p)| *p);
        let pos = |n: &str| pats.iter().position(|p| *p == n).unwrap_or(usize::MAX);
        entries.sort_by(|a, b| pos(a.name).cmp(&pos(b.name)).then(a.name.cmp(b.name)));
    }
    areas
}

/// Every overload whose script name is `name`. Accepts `p.wait`, `.pid`
/// and `spawn()` too.
pub fn lookup<'a>(fns: &'a [FnDoc], name: &str) -> Vec<&'a FnDoc> {
    let n = name.trim().trim_end_matches("()");
    let n = n.rsplit('.').next().unwrap_or(n);
    let n = n
        .strip_prefix("get$")
        .or_else(|| n.strip_prefix("set$"))
        .unwrap_or(n);
    fns.iter().filter(|f| f.name == n).collect()
}

/// Names close to `name`: a shared prefix or part, or one or two typos.
pub fn similar<'a>(fns: &'a [FnDoc], name: &str) -> Vec<&'a str> {
    if name.is_empty() {
        return Vec::new();
    }
    let mut v: Vec<(usize, &str)> = fns
        .iter()
        .map(|f| f.name.as_str())
        .map(|n| {
            let d = edit_distance(n, name);
            let close = n.contains(name) || name.contains(n) && n.len() > 2;
            (if close { 0 } else { d }, n)
        })
        .filter(|(d, _)| *d <= 2)
        .collect();
    v.sort();
    v.dedup_by(|a, b| a.1 == b.1);
    v.into_iter().map(|(_, n)| n).take(5).collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The doc for a terminal: examples indented under "Example:", without
/// the Markdown fences.
pub fn doc_for_terminal(doc: &str, indent: &str) -> String {
    let mut out = String::new();
    let mut in_code = false;
    for line in doc.lines() {
        let t = line.trim_start();
        if t.starts_with("```") {
            if !in_code {
                let _ = writeln!(out, "{indent}Example:");
            }
            in_code = !in_code;
            continue;
        }
        if in_code {
            let _ = writeln!(out, "{indent}    {line}");
        } else if line.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, "{indent}{line}");
        }
    }
    out
}

/// The area list help() prints: one line per name.
pub fn overview(engine: &Engine) -> String {
    let fns = functions(engine);
    let mut out = String::new();
    for (area, entries) in by_area(&fns) {
        let _ = writeln!(out, "{area}");
        for e in entries {
            let short = e.short();
            let summary = e.summary();
            let _ = writeln!(out, "  {short:<20} {}", clip(&summary, 76));
        }
        out.push('\n');
    }
    if !bundled::STDLIB.is_empty() {
        let _ = writeln!(
            out,
            "Modules (import \"NAME\" as NAME; then NAME::function())"
        );
        for (name, text) in bundled::STDLIB {
            let _ = writeln!(out, "  {name:<20} {}", clip(bundled::description(text), 76));
        }
        out.push('\n');
    }
    let _ = writeln!(out, "Constants");
    for line in wrap(super::constants().iter().map(|(n, _)| *n), 76) {
        let _ = writeln!(out, "  {line}");
    }
    let _ = writeln!(
        out,
        "\nhelp(\"NAME\") shows a function's signatures, documentation and example."
    );
    out
}

/// Words joined with spaces into lines of at most `width` characters.
fn wrap<'a>(words: impl Iterator<Item = &'a str>, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for w in words {
        match lines.last_mut() {
            Some(l) if l.len() + 1 + w.len() <= width => {
                l.push(' ');
                l.push_str(w);
            }
            _ => lines.push(w.to_string()),
        }
    }
    lines
}

/// Cut at a word boundary with an ellipsis when longer than `max`.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max.saturating_sub(1)).collect();
        let cut = match cut.rfind(' ') {
            Some(i) if i > max / 2 => &cut[..i],
            _ => &cut,
        };
        format!("{}…", cut.trim_end_matches([' ', ',', ';', ':']))
    }
}

/// One function's help: each overload's signature and doc, or None when
/// there is no such function.
pub fn describe(engine: &Engine, name: &str) -> Option<String> {
    let fns = functions(engine);
    let found = lookup(&fns, name);
    if found.is_empty() {
        return None;
    }
    let mut out = String::new();
    for (i, f) in found.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "{}    [{}]", f.signature(), f.area());
        if !f.doc.is_empty() {
            out.push_str(&doc_for_terminal(&f.doc, "  "));
        }
    }
    Some(out)
}

/// A stdlib module's help: its description and its functions' docs.
pub fn describe_module(engine: &Engine, name: &str) -> Option<String> {
    let (name, text) = bundled::STDLIB.iter().find(|(n, _)| *n == name)?;
    let mut out = format!("module \"{name}\": {}\n", bundled::description(text));
    let _ = writeln!(out, "  import \"{name}\" as {name};");
    if let Ok(ast) = engine.compile(text) {
        for f in module_functions(&ast) {
            if f.access == rhai::FnAccess::Private {
                continue;
            }
            let _ = writeln!(
                out,
                "\n{name}::{}({})",
                super::shown_name(f.name),
                f.params.join(", ")
            );
            let comments: Vec<String> = f.comments.iter().map(|c| c.to_string()).collect();
            out.push_str(&doc_for_terminal(&doc_text(&comments), "  "));
        }
    }
    Some(out)
}

/// The heading and opening paragraph of the reference.
const REFERENCE_INTRO: &str = "\
# nsscript function reference

Every function a script can call, generated from the functions' own
documentation: `nsscript --doc` prints this file (scripts/gen-reference.sh
writes it to docs/reference.md), `help(\"name\")` shows one entry in the
REPL, and `man nsscript` has the same text.

";

/// The whole reference as Markdown: a title, then one `##` section per
/// area, one `###` entry per name with each overload's signature and doc.
pub fn markdown(engine: &Engine) -> String {
    let fns = functions(engine);
    let mut out = String::from(REFERENCE_INTRO);
    for (area, entries) in by_area(&fns) {
        let _ = writeln!(out, "## {area}\n");
        for e in entries {
            let _ = writeln!(out, "### `{}`\n", e.short());
            for f in &e.overloads {
                let _ = writeln!(out, "`{}`\n", f.signature());
                if !f.doc.is_empty() {
                    let _ = writeln!(out, "{}\n", f.doc);
                }
            }
        }
    }
    if !bundled::STDLIB.is_empty() {
        let _ = writeln!(out, "## Modules\n");
        for (name, text) in bundled::STDLIB {
            let _ = writeln!(
                out,
                "- `import \"{name}\" as {name};` {}",
                bundled::description(text)
            );
        }
        out.push('\n');
        for (name, text) in bundled::STDLIB {
            module_markdown(&mut out, engine, name, text);
        }
    }
    let _ = writeln!(out, "## Constants\n");
    let _ = writeln!(out, "| name | value |\n| --- | --- |");
    for (name, value) in super::constants() {
        let _ = writeln!(out, "| `{name}` | `{value:#x}` |");
    }
    out
}

/// A module's functions in name order (the AST keeps them in a hash map,
/// whose order changes from one build to the next).
fn module_functions(ast: &rhai::AST) -> Vec<rhai::ScriptFnMetadata<'_>> {
    let mut fns: Vec<_> = ast.iter_functions().collect();
    fns.sort_by(|a, b| a.name.cmp(b.name).then(a.params.len().cmp(&b.params.len())));
    fns
}

/// A stdlib module's public functions, each with its doc, as a `###`
/// entry of the reference.
fn module_markdown(out: &mut String, engine: &Engine, name: &str, text: &str) {
    let Ok(ast) = engine.compile(text) else {
        return;
    };
    let _ = writeln!(out, "### `{name}`\n");
    for f in module_functions(&ast) {
        if f.access == rhai::FnAccess::Private || f.name.starts_with("anon$") {
            continue;
        }
        let _ = writeln!(
            out,
            "`{name}::{}({})`\n",
            super::shown_name(f.name),
            f.params.join(", ")
        );
        let comments: Vec<String> = f.comments.iter().map(|c| c.to_string()).collect();
        let doc = doc_text(&comments);
        if !doc.is_empty() {
            let _ = writeln!(out, "{doc}\n");
        }
    }
}

// ---------------------------------------------------------------------
// The man page: the command line (`forms`, as --help shows it) and the
// same function docs as --doc, in roff.

/// Plain text for roff: backslashes and hyphens escaped, a few typographic
/// characters as roff names, and a line never starting with a control
/// character.
fn roff_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\e"),
            '-' => out.push_str("\\-"),
            '\u{2026}' => out.push_str("..."),
            '\u{2014}' => out.push_str("\\(em"),
            '\u{2013}' => out.push_str("\\(en"),
            '\u{2192}' => out.push_str("\\(->"),
            c => out.push(c),
        }
    }
    if out.starts_with('.') || out.starts_with('\'') {
        out.insert_str(0, "\\&");
    }
    out
}

/// One line of Markdown with `code` spans in bold.
fn roff_inline(line: &str) -> String {
    let mut out = String::new();
    for (i, part) in line.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "\\fB{}\\fR", roff_text(part));
        } else {
            out.push_str(&roff_text(part));
        }
    }
    // A leading \fB hides a leading dot from roff; plain text was checked.
    if out.starts_with('.') || out.starts_with('\'') {
        out.insert_str(0, "\\&");
    }
    out
}

/// A doc text (paragraphs, `- ` items, fenced examples) as roff, indented
/// as the body of a `.TP` entry: the first paragraph follows the tag, the
/// others start with `.IP`.
fn roff_doc(doc: &str) -> String {
    let mut out = String::new();
    let mut in_code = false;
    let mut first = true;
    let mut fresh = true;
    for line in doc.lines() {
        let t = line.trim();
        if t.starts_with("```") {
            if in_code {
                out.push_str(".fi\n");
                fresh = true;
            } else {
                out.push_str(".IP\n.nf\n");
                first = false;
            }
            in_code = !in_code;
            continue;
        }
        if in_code {
            // An empty line would end the example for some formatters.
            let l = roff_text(line);
            out.push_str(if l.is_empty() { "\\&" } else { &l });
            out.push('\n');
            continue;
        }
        if t.is_empty() {
            fresh = true;
            continue;
        }
        if let Some(item) = t.strip_prefix("- ") {
            out.push_str(".IP \\(bu 2\n");
            out.push_str(&roff_inline(item));
            out.push('\n');
            first = false;
            fresh = false;
            continue;
        }
        if fresh && !first {
            out.push_str(".IP\n");
        }
        first = false;
        fresh = false;
        out.push_str(&roff_inline(t));
        out.push('\n');
    }
    if in_code {
        out.push_str(".fi\n");
    }
    out
}

/// A command-line form (`-e CODE [ARGS...]`) with options in bold and
/// placeholders in italics.
fn roff_form(form: &str) -> String {
    form.split(' ')
        .map(|w| {
            let (open, rest) = match w.strip_prefix('[') {
                Some(r) => ("[", r),
                None => ("", w),
            };
            let (word, close) = match rest.find([']', '.']) {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            let word = if word.starts_with('-') {
                format!("\\fB{}\\fR", roff_text(word))
            } else if !word.is_empty() && word.chars().all(|c| c.is_ascii_uppercase()) {
                format!("\\fI{word}\\fR")
            } else {
                roff_text(word)
            };
            format!("{open}{word}{close}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What nsscript is, for the man page's DESCRIPTION.
const DESCRIPTION: &str = "\
nsscript runs Rhai scripts that drive the Linux namespace primitives
directly: start a process with `CLONE_NEW*` flags, map user ids, set a
hostname, mount a fresh `/proc`, use System V message queues, join and
inspect namespaces, wire network namespaces together. It has a REPL for
exploring by hand, and bundled self-checking scripts (`nsscript --list`)
that show what the kernel isolates.

It is single-threaded on purpose (a multi-threaded process cannot enter a
user namespace) and leaves the host as it found it: children die with
their script, `/` is made private in a new mount namespace before anything
is mounted, and functions that would change the host itself refuse unless
told `#{host: true}`.

Errors from the kernel name the operation, the errno and a hint (the
setting responsible on this machine where the doctor knows it), and can be
caught as a map with `op`, `errno`, `message` and `hint`.";

/// The man page, nsscript(1), in roff: usage from `forms`, then every
/// function by area, the modules and the constants.
pub fn man_page(engine: &Engine, forms: &[(&str, &str)]) -> String {
    let version = env!("CARGO_PKG_VERSION");
    let mut out = String::new();
    let _ = writeln!(
        out,
        ".\\\" nsscript(1), written by nsscript --man from the functions' own docs.\n\
         .TH NSSCRIPT 1 \"\" \"nsscript {version}\" \"User Commands\"\n\
         .SH NAME\n\
         nsscript \\- script Linux namespaces with Rhai\n\
         .SH SYNOPSIS\n\
         .nf"
    );
    for (form, _) in forms {
        let line = format!("\\fBnsscript\\fR {}", roff_form(form));
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out.push_str(".fi\n.SH DESCRIPTION\n");
    for (i, para) in DESCRIPTION.split("\n\n").enumerate() {
        if i > 0 {
            out.push_str(".PP\n");
        }
        for line in para.lines() {
            out.push_str(&roff_inline(line));
            out.push('\n');
        }
    }
    out.push_str(".SH OPTIONS\n");
    for (form, what) in forms {
        let tag = if form.is_empty() {
            "(no arguments)".to_string()
        } else {
            roff_form(form)
        };
        let _ = writeln!(out, ".TP\n{tag}\n{}", roff_inline(what));
    }
    out.push_str(
        ".SH EXIT STATUS\n\
         0 on success, 1 for a script error (printed once on standard error with\n\
         file:line:col, the source line and a caret), 2 for a usage error, or the\n\
         code a script gives to \\fBexit(\\fIn\\fB)\\fR.\n\
         .SH ENVIRONMENT\n\
         .TP\n\
         .B NSSCRIPT_HISTORY\n\
         The REPL's history file; empty keeps no history.\n\
         .SH FILES\n\
         .TP\n\
         .I $XDG_STATE_HOME/nsscript/history\n\
         The REPL's history (\\fI~/.local/state/nsscript/history\\fR by default).\n",
    );
    out.push_str(".SH FUNCTIONS\n");
    out.push_str(&roff_inline(
        "Scripts call these; `help(\"name\")` shows one of them in the REPL.",
    ));
    out.push('\n');
    let fns = functions(engine);
    for (area, entries) in by_area(&fns) {
        let _ = writeln!(out, ".SS {}", roff_text(&area));
        for e in entries {
            for f in &e.overloads {
                let _ = writeln!(out, ".TP\n\\fB{}\\fR", roff_text(&f.signature()));
                out.push_str(&roff_doc(&f.doc));
            }
        }
    }
    if !bundled::STDLIB.is_empty() {
        out.push_str(".SS Modules\n");
        for (name, text) in bundled::STDLIB {
            let _ = writeln!(
                out,
                ".TP\n\\fBimport \"{name}\" as {name};\\fR\n{}",
                roff_inline(bundled::description(text))
            );
        }
    }
    out.push_str(".SS Constants\n.nf\n");
    for (name, value) in super::constants() {
        let _ = writeln!(out, "{:<20} {value:#x}", roff_text(name));
    }
    out.push_str(
        ".fi\n.SH SEE ALSO\n\
         \\fBunshare\\fR(1), \\fBnsenter\\fR(1), \\fBlsns\\fR(8), \\fBip\\-netns\\fR(8),\n\
         \\fBnamespaces\\fR(7), \\fBuser_namespaces\\fR(7), \\fBpid_namespaces\\fR(7),\n\
         \\fBmount_namespaces\\fR(7), \\fBclone\\fR(2), \\fBunshare\\fR(2), \\fBsetns\\fR(2)\n",
    );
    out
}

// ---------------------------------------------------------------------
// Definitions for editors, in the format of Rhai's `Engine::definitions()`.

/// A script type as definition files spell it.
fn def_type(t: &str) -> &str {
    match t {
        "" => "()",
        "any" => "?",
        "string" => "String",
        "array" => "Array",
        "map" => "Map",
        "blob" => "Blob",
        "Fn" => "FnPtr",
        t => t,
    }
}

/// A doc text as `///` lines.
fn def_doc(out: &mut String, doc: &str) {
    for l in doc.lines() {
        if l.is_empty() {
            out.push_str("///\n");
        } else {
            let _ = writeln!(out, "/// {l}");
        }
    }
}

/// One declaration: `fn name(a: T) -> R;`, `fn get pid(p: Process) -> int;`.
/// `spawn` is syntax (a keyword Rhai reserves) and is declared as the
/// functions it acts like.
fn def_fn(out: &mut String, f: &FnDoc) {
    def_doc(out, &f.doc);
    let mut params: Vec<String> = Vec::new();
    let (prefix, receiver) = match &f.kind {
        Kind::Function => ("", None),
        Kind::Method { receiver, ty } => ("", Some((receiver, ty))),
        Kind::Getter { receiver, ty } => ("get ", Some((receiver, ty))),
        Kind::Setter { receiver, ty } => ("set ", Some((receiver, ty))),
    };
    if let Some((r, t)) = receiver {
        params.push(format!("{r}: {}", def_type(t)));
    }
    for (i, (n, t)) in f.params.iter().enumerate() {
        let n = if n.is_empty() {
            format!("arg{i}")
        } else {
            n.clone()
        };
        params.push(format!(
            "{n}: {}",
            if t.is_empty() { "?" } else { def_type(t) }
        ));
    }
    let _ = writeln!(
        out,
        "fn {prefix}{}({}) -> {};\n",
        f.name,
        params.join(", "),
        def_type(&f.ret)
    );
}

/// nsscript's own functions and constants as a definition file.
fn nsscript_definitions(fns: &[FnDoc]) -> String {
    let mut out = String::from("module static;\n\n");
    out.push_str(
        "/// The script's arguments: the words after FILE or -e CODE.\nconst ARGS: Array;\n\n",
    );
    for (name, value) in super::constants() {
        let _ = writeln!(out, "/// `{value:#x}`\nconst {name}: int;\n");
    }
    for f in fns {
        if f.name == "spawn" && f.kind == Kind::Function {
            out.push_str("/// `spawn` is syntax, written like a call.\n///\n");
        }
        def_fn(&mut out, f);
    }
    out
}

/// A stdlib module's public functions as a definition file (`module net;`).
fn module_definitions(engine: &Engine, name: &str, text: &str) -> std::io::Result<String> {
    let ast = engine
        .compile(text)
        .map_err(|e| std::io::Error::other(format!("stdlib module {name}: {e}")))?;
    let mut out = format!("module {name};\n\n");
    def_doc(&mut out, bundled::description(text));
    out.push('\n');
    for f in module_functions(&ast) {
        // Closures are functions to Rhai too.
        if f.access == rhai::FnAccess::Private || f.name.starts_with("anon$") {
            continue;
        }
        let comments: Vec<String> = f.comments.iter().map(|c| c.to_string()).collect();
        def_doc(&mut out, &doc_text(&comments));
        let params: Vec<String> = f.params.iter().map(|p| format!("{p}: ?")).collect();
        let _ = writeln!(
            out,
            "fn {}({}) -> ?;\n",
            super::shown_name(f.name),
            params.join(", ")
        );
    }
    Ok(out)
}

/// Writes Rhai definition files (`.d.rhai`) into `dir` for editors running
/// the Rhai language server: Rhai's own (standard library, operators,
/// written by `Engine::definitions()`), nsscript's functions, constants and
/// `ARGS` with their docs (`nsscript.d.rhai`, from the same metadata as
/// --doc: Rhai's writer cannot see through the result type nsscript's
/// functions return), the `spawn` syntax, and one file per stdlib module.
/// Returns the files written.
pub fn write_definitions(dir: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    use rhai::packages::{Package, StandardPackage};
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    let mut write = |file: &str, text: &str| -> std::io::Result<()> {
        let path = dir.join(file);
        std::fs::write(&path, text)?;
        written.push(path);
        Ok(())
    };
    let mut rhai_only = Engine::new_raw();
    StandardPackage::new().register_into_engine(&mut rhai_only);
    for (file, text) in rhai_only.definitions().iter_files() {
        write(&file, &text)?;
    }
    let engine = super::new_engine();
    write(
        "nsscript.d.rhai",
        &nsscript_definitions(&functions(&engine)),
    )?;
    for (name, text) in bundled::STDLIB {
        write(
            &format!("{name}.d.rhai"),
            &module_definitions(&engine, name, text)?,
        )?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_types() {
        assert_eq!(script_type("RResult<()>"), "");
        assert_eq!(script_type("RResult<i64>"), "int");
        assert_eq!(script_type("&mut Process"), "Process");
        assert_eq!(script_type("&str"), "string");
        assert_eq!(script_type("rhai::Array"), "array");
        assert_eq!(script_type("Result<Map, Box<EvalAltResult>>"), "map");
        assert_eq!(script_type("Dynamic"), "");
    }

    #[test]
    fn patterns() {
        assert!(matches("msg*", "msgget"));
        assert!(matches("*mount*", "remount_ro"));
        assert!(matches("*_file", "read_file"));
        assert!(!matches("msg*", "amsg"));
        assert_eq!(area_of("msgsnd"), "System V IPC");
        assert_eq!(area_of("pid"), "Identity and id maps");
        assert_eq!(area_of("zzz_unknown"), MORE);
    }

    #[test]
    fn processes_are_methods_and_properties() {
        let engine = super::super::new_engine();
        let fns = functions(&engine);
        let wait = lookup(&fns, "wait");
        assert!(wait.iter().any(|f| f.signature() == "p.wait() -> int"));
        let pid = lookup(&fns, "pid");
        assert!(pid.iter().any(|f| f.signature() == "pid() -> int"));
        assert!(pid.iter().any(|f| f.signature() == "p.pid -> int"));
        assert!(lookup(&fns, "to_string").is_empty());
    }

    #[test]
    fn every_example_compiles() {
        let engine = super::super::new_engine();
        for f in functions(&engine) {
            let mut code = String::new();
            let mut in_code = false;
            for l in f.doc.lines() {
                if l.trim_start().starts_with("```") {
                    in_code = !in_code;
                } else if in_code {
                    code.push_str(l);
                    code.push('\n');
                }
            }
            if let Err(e) = engine.compile(&code) {
                panic!(
                    "the example of {} does not compile: {e}\n{code}",
                    f.signature()
                );
            }
        }
    }

    #[test]
    fn help_lists_areas() {
        let engine = super::super::new_engine();
        let text = overview(&engine);
        assert!(text.contains("Processes\n  spawn()"), "{text}");
        assert!(text.contains("p.wait()"), "{text}");
        let one = describe(&engine, "spawn").unwrap_or_default();
        assert!(one.contains("spawn(cmd, opts: map) -> Process"), "{one}");
        assert!(one.contains("Example:"), "{one}");
    }
}
