//! The function reference, generated from the `///` docs of every
//! registered function: `nsscript --doc` (and README's reference through
//! scripts/gen-reference.sh), `help()` and `help("name")`.
//!
//! Rhai flattens every package into one global module, so the area a
//! function belongs to comes from a name table (`AREAS`); methods and
//! properties of a custom type (the Process handle) form an area of their
//! own, and a name in no table lands in "More".

use super::bundled;
use rhai::Engine;
use serde::Deserialize;
use std::fmt::Write;

/// Areas in the order help() and --doc list them. A pattern is a name, a
/// prefix (`msg*`) or a part (`*mount*`); the first match wins.
const AREAS: &[(&str, &[&str])] = &[
    ("Processes", &["spawn", "run", "in_ns"]),
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
            "env",
            "*_file",
        ],
    ),
    ("Script control", &["exit", "assert", "assert_eq", "help"]),
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
        for f in ast.iter_functions() {
            if f.access == rhai::FnAccess::Private {
                continue;
            }
            let _ = writeln!(out, "\n{name}::{}({})", f.name, f.params.join(", "));
            let comments: Vec<String> = f.comments.iter().map(|c| c.to_string()).collect();
            out.push_str(&doc_for_terminal(&doc_text(&comments), "  "));
        }
    }
    Some(out)
}

/// The whole reference as Markdown: one `###` section per area, one `####`
/// entry per name with each overload's signature and doc. It has no title
/// of its own, so README can embed it under its "Function reference".
pub fn markdown(engine: &Engine) -> String {
    let fns = functions(engine);
    let mut out = String::new();
    for (area, entries) in by_area(&fns) {
        let _ = writeln!(out, "### {area}\n");
        for e in entries {
            let _ = writeln!(out, "#### `{}`\n", e.short());
            for f in &e.overloads {
                let _ = writeln!(out, "`{}`\n", f.signature());
                if !f.doc.is_empty() {
                    let _ = writeln!(out, "{}\n", f.doc);
                }
            }
        }
    }
    if !bundled::STDLIB.is_empty() {
        let _ = writeln!(out, "### Modules\n");
        for (name, text) in bundled::STDLIB {
            let _ = writeln!(
                out,
                "- `import \"{name}\" as {name};` {}",
                bundled::description(text)
            );
        }
        out.push('\n');
    }
    let _ = writeln!(out, "### Constants\n");
    let _ = writeln!(out, "| name | value |\n| --- | --- |");
    for (name, value) in super::constants() {
        let _ = writeln!(out, "| `{name}` | `{value:#x}` |");
    }
    out
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
