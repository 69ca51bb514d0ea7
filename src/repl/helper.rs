//! The line editor's helper: whether the input is complete (judged by the
//! Rhai parser), and Tab completion.

use crate::engine::{self, bundled, doc, opts};
use crate::os::ns::Namespace;
use rhai::{Engine, ParseErrorType};
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::Context;
use std::collections::HashMap;

/// The REPL commands, for completion and `:help`.
pub const COMMANDS: &[&str] = &[":help", ":quit", ":vars", ":load", ":history", ":demo"];

const KEYWORDS: &[&str] = &[
    "let",
    "const",
    "fn",
    "if",
    "else",
    "while",
    "loop",
    "for",
    "in",
    "do",
    "until",
    "break",
    "continue",
    "return",
    "throw",
    "try",
    "catch",
    "switch",
    "import",
    "export",
    "as",
    "private",
    "true",
    "false",
    "this",
    "Fn",
    "call",
    "curry",
    "is_def_var",
    "is_def_fn",
    "print",
    "debug",
    "type_of",
    "eval",
];

const RHAI_METHODS: &[&str] = &[
    "len",
    "is_empty",
    "contains",
    "keys",
    "values",
    "get",
    "set",
    "remove",
    "insert",
    "push",
    "pop",
    "shift",
    "append",
    "clear",
    "reverse",
    "sort",
    "dedup",
    "retain",
    "drain",
    "extract",
    "map",
    "filter",
    "reduce",
    "for_each",
    "some",
    "all",
    "find",
    "index_of",
    "join",
    "split",
    "trim",
    "to_upper",
    "to_lower",
    "starts_with",
    "ends_with",
    "sub_string",
    "replace",
    "chars",
    "to_string",
    "to_debug",
    "to_int",
    "to_float",
    "to_json",
    "call",
    "curry",
];

/// What completion offers, refreshed after each line.
#[derive(Default)]
pub struct Names {
    /// Functions callable by name: nsscript's, Rhai's, the session's, and
    /// `module::function` of imported modules.
    pub functions: Vec<String>,
    /// What follows a dot when the value's type is unknown: properties and
    /// methods.
    pub members: Vec<String>,
    /// Variables and constants in scope.
    pub vars: Vec<String>,
    /// The type of each variable's value now (`p` -> "Process").
    pub var_types: HashMap<String, String>,
    /// The members of each type and what calls return.
    pub types: doc::TypeInfo,
}

impl Names {
    /// Everything the engine offers, plus the session's own `extra`
    /// function names and variables.
    pub fn from_engine(engine: &Engine, extra_fns: Vec<String>, vars: Vec<String>) -> Names {
        let mut functions: Vec<String> = engine
            .gen_fn_signatures(true)
            .into_iter()
            .filter_map(|s| s.split('(').next().map(str::to_string))
            .filter(|n| {
                n.chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == ':')
            })
            .filter(|n| !n.is_empty() && !n.starts_with("__") && !n.contains("$"))
            // A module's spawn, as scripts write it.
            .map(|n| match n.rsplit_once("::") {
                Some((m, f)) => format!("{m}::{}", engine::shown_name(f)),
                None => n,
            })
            .collect();
        let mut members = Vec::new();
        for f in doc::functions(engine) {
            match f.kind {
                doc::Kind::Function => functions.push(f.name),
                _ => members.push(f.name),
            }
        }
        functions.extend(extra_fns);
        functions.extend(KEYWORDS.iter().map(|k| k.to_string()));
        functions.extend(engine::constants().iter().map(|(n, _)| n.to_string()));
        // The common methods of Rhai's strings, arrays and maps also follow
        // a dot (any function can, but listing them all helps nobody).
        members.extend(RHAI_METHODS.iter().map(|m| m.to_string()));
        for v in [&mut functions, &mut members] {
            v.sort();
            v.dedup();
        }
        Names {
            functions,
            members,
            vars,
            var_types: HashMap::new(),
            types: doc::type_info(engine),
        }
    }

    /// The member a value of type `ty` has under `name`, by its return
    /// type (None when either is unknown).
    fn member_type(&self, ty: &str, name: &str) -> Option<String> {
        self.types
            .members
            .get(ty)?
            .get(name)
            .filter(|t| !t.is_empty())
            .cloned()
    }

    /// The script type of the expression that `code` ends with, when it
    /// can be told without running anything: a variable in scope, a
    /// string, array or map literal, a call of a function whose overloads
    /// all return one type (`spawn(...)` is a Process), or a property or
    /// method of one of these (`p.stdout` is a string).
    pub fn type_of_end(&self, code: &str) -> Option<String> {
        let code = code.trim_end();
        let last = code.chars().last()?;
        match last {
            '"' | '`' => Some("string".into()),
            '\'' => Some("char".into()),
            ']' | '}' | ')' => {
                let open = matching_open(code)?;
                let before = code[..open].trim_end();
                match last {
                    // `a[0]` is an element, of no known type; `[1, 2]` an array.
                    ']' => {
                        let indexing = before
                            .chars()
                            .last()
                            .is_some_and(|c| is_ident_char(c) || ")]}\"`".contains(c));
                        (!indexing).then(|| "array".into())
                    }
                    '}' => before.ends_with('#').then(|| "map".into()),
                    _ => self.type_of_named(before),
                }
            }
            c if is_ident_char(c) => {
                let name_start = ident_start(code);
                if code[name_start..].starts_with(|c: char| c.is_ascii_digit()) {
                    return None;
                }
                let head = &code[..name_start];
                let name = &code[name_start..];
                if let Some(recv) = head.strip_suffix('.') {
                    return self.member_type(&self.type_of_end(recv)?, name);
                }
                match name {
                    "true" | "false" => Some("bool".into()),
                    _ if head.ends_with("::") => None,
                    _ => self.var_types.get(name).cloned(),
                }
            }
            _ => None,
        }
    }

    /// The type a call returns, `code` ending with its name: `f` or
    /// `recv.f`; a parenthesised expression or a module's function is not
    /// known.
    fn type_of_named(&self, code: &str) -> Option<String> {
        let name_start = ident_start(code);
        let name = &code[name_start..];
        let head = &code[..name_start];
        if name.is_empty() || head.ends_with("::") {
            return None;
        }
        match head.strip_suffix('.') {
            Some(recv) => self.member_type(&self.type_of_end(recv)?, name),
            None => self
                .types
                .returns
                .get(name)
                .filter(|t| !t.is_empty())
                .cloned(),
        }
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Where the identifier `code` ends with starts.
fn ident_start(code: &str) -> usize {
    code.char_indices()
        .rev()
        .take_while(|(_, c)| is_ident_char(*c))
        .last()
        .map_or(code.len(), |(i, _)| i)
}

/// The byte index of the bracket that opens the one `code` ends with,
/// skipping brackets inside string literals.
fn matching_open(code: &str) -> Option<usize> {
    let b = code.as_bytes();
    let mut depth = 0usize;
    let mut i = b.len();
    while i > 0 {
        i -= 1;
        match b[i] {
            b')' | b']' | b'}' => depth += 1,
            b'(' | b'[' | b'{' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            q @ (b'"' | b'`') => {
                // Back to the quote that opened this string.
                loop {
                    i = i.checked_sub(1)?;
                    if b[i] == q && (i == 0 || b[i - 1] != b'\\') {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    None
}

pub struct Helper {
    /// An engine with the same syntax (the `spawn` form), only to parse.
    parser: Engine,
    pub names: Names,
    files: FilenameCompleter,
}

impl Helper {
    pub fn new(names: Names) -> Helper {
        Helper {
            parser: engine::new_engine(),
            names,
            files: FilenameCompleter::new(),
        }
    }
}

/// Whether `input` is unfinished code that more lines could complete: the
/// parser stops at the very end with "expected `}`", an open call or
/// literal, or a string that may go on (a backtick string, or a line
/// ending in a backslash). Two empty lines in a row give up, so the error
/// is shown.
pub fn is_incomplete(parser: &Engine, input: &str) -> bool {
    if input.trim_start().starts_with(':') || input.trim().is_empty() || input.ends_with("\n\n") {
        return false;
    }
    let err = match parser.compile(input) {
        Ok(_) => return false,
        Err(e) => e,
    };
    let pos = err.position();
    match err.err_type() {
        ParseErrorType::UnexpectedEOF | ParseErrorType::MissingToken(..) => {
            at_end(input, pos.line(), pos.position())
        }
        ParseErrorType::BadInput(rhai::LexError::UnterminatedString) => {
            let opener = pos
                .line()
                .and_then(|l| input.lines().nth(l - 1))
                .and_then(|l| l.chars().nth(pos.position().unwrap_or(1).saturating_sub(1)));
            opener == Some('`') || input.trim_end_matches('\n').ends_with('\\')
        }
        _ => false,
    }
}

/// Is (line, column) past the last non-blank character of `input`?
fn at_end(input: &str, line: Option<usize>, col: Option<usize>) -> bool {
    let (Some(line), Some(col)) = (line, col) else {
        return true;
    };
    let last = input
        .lines()
        .enumerate()
        .filter_map(|(i, l)| {
            l.trim_end()
                .chars()
                .count()
                .checked_sub(1)
                .map(|c| (i + 1, c + 1))
        })
        .filter(|(_, c)| *c > 0)
        .last();
    match last {
        None => true,
        Some((ll, lc)) => line > ll || (line == ll && col > lc),
    }
}

/// Where the cursor is, for completion.
#[derive(Debug, PartialEq)]
enum Spot {
    /// In a string literal opened at byte `start`.
    Str {
        start: usize,
    },
    Code,
}

/// Scans `code` up to its end, tracking strings and comments.
fn spot(code: &str) -> Spot {
    let b = code.as_bytes();
    let mut i = 0;
    let mut state: Option<(u8, usize)> = None; // open quote and where
    while i < b.len() {
        let c = b[i];
        match state {
            Some((q, _)) => {
                if c == b'\\' {
                    i += 1;
                } else if c == q {
                    state = None;
                }
            }
            None => {
                if c == b'/' && b.get(i + 1) == Some(&b'/') {
                    match code[i..].find('\n') {
                        Some(n) => i += n,
                        None => return Spot::Code,
                    }
                } else if c == b'"' || c == b'`' || c == b'\'' {
                    state = Some((c, i));
                }
            }
        }
        i += 1;
    }
    match state {
        Some((_, start)) => Spot::Str { start },
        None => Spot::Code,
    }
}

/// Inside an open `#{` at a key's place (after `#{` or a comma)?
fn at_map_key(code: &str, word_start: usize) -> bool {
    let before = code[..word_start].trim_end();
    if !(before.ends_with("#{") || before.ends_with(',')) {
        return false;
    }
    // The innermost open bracket must be a map's.
    let mut stack = Vec::new();
    let b = before.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'#' if b.get(i + 1) == Some(&b'{') => {
                stack.push('m');
                i += 1;
            }
            b'{' | b'[' | b'(' => stack.push('o'),
            b'}' | b']' | b')' => {
                stack.pop();
            }
            b'"' | b'`' => {
                let q = b[i];
                i += 1;
                while i < b.len() && b[i] != q {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    stack.last() == Some(&'m')
}

/// Completions after a dot: the members of the value's type first (in
/// name order), then the other members anything may have.
fn member_candidates<'a>(
    word: &str,
    typed: impl IntoIterator<Item = &'a str>,
    rest: impl IntoIterator<Item = &'a str>,
) -> Vec<Pair> {
    let mut v = candidates(word, typed, "");
    let more: Vec<Pair> = candidates(word, rest, "")
        .into_iter()
        .filter(|p| !v.iter().any(|t| t.display == p.display))
        .collect();
    v.extend(more);
    v
}

fn candidates<'a>(word: &str, from: impl IntoIterator<Item = &'a str>, suffix: &str) -> Vec<Pair> {
    let mut v: Vec<Pair> = from
        .into_iter()
        .filter(|c| c.starts_with(word))
        .map(|c| Pair {
            display: c.to_string(),
            replacement: format!("{c}{suffix}"),
        })
        .collect();
    v.sort_by(|a, b| a.display.cmp(&b.display));
    v.dedup_by(|a, b| a.display == b.display);
    v
}

impl Helper {
    fn complete_command(&self, line: &str, pos: usize) -> (usize, Vec<Pair>) {
        let head = &line[..pos];
        let start = head.len() - head.trim_start().len();
        let cmd_end = head[start..].find(char::is_whitespace).map(|i| i + start);
        match cmd_end {
            None => (
                start,
                candidates(&head[start..], COMMANDS.iter().copied(), " "),
            ),
            Some(end) => {
                let arg_start = end + (head[end..].len() - head[end..].trim_start().len());
                let arg = &head[arg_start..];
                match &head[start..end] {
                    ":demo" => {
                        let names = bundled::DEMOS.iter().map(|(n, _)| *n);
                        (arg_start, candidates(arg, names, ""))
                    }
                    ":load" => self
                        .files
                        .complete_path(line, pos)
                        .unwrap_or((pos, Vec::new())),
                    _ => (pos, Vec::new()),
                }
            }
        }
    }

    fn complete_in_string(&self, code: &str, start: usize) -> (usize, Vec<Pair>) {
        let word = &code[start + 1..];
        let before = code[..start].trim_end();
        let fns = self.names.functions.iter().map(String::as_str);
        let stdlib = bundled::STDLIB.iter().map(|(n, _)| *n);
        let found = if before.ends_with("import") {
            candidates(word, stdlib, "")
        } else if before.ends_with("help(") {
            candidates(word, fns.chain(stdlib), "")
        } else {
            let kinds = Namespace::names();
            candidates(word, kinds.iter().copied(), "")
        };
        (start + 1, found)
    }

    fn complete_code(&self, code: &str) -> (usize, Vec<Pair>) {
        let start = code
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_alphanumeric() || *c == '_' || *c == ':')
            .last()
            .map_or(code.len(), |(i, _)| i);
        let word = &code[start..];
        if let Some(before) = code[..start].strip_suffix('.') {
            let typed = self
                .names
                .type_of_end(before)
                .and_then(|t| self.names.types.members.get(&t));
            let typed = typed.into_iter().flat_map(|m| m.keys().map(String::as_str));
            let rest = self.names.members.iter().map(String::as_str);
            return (start, member_candidates(word, typed, rest));
        }
        if at_map_key(code, start) {
            let keys = opts::SPAWN_KEYS.iter().chain(opts::RUN_EXTRA_KEYS).copied();
            return (start, candidates(word, keys, ": "));
        }
        if word.is_empty() {
            return (start, Vec::new());
        }
        let all = self
            .names
            .vars
            .iter()
            .chain(&self.names.functions)
            .map(String::as_str);
        (start, candidates(word, all, ""))
    }
}

impl Completer for Helper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let pos = pos.min(line.len());
        if !line.is_char_boundary(pos) {
            return Ok((pos, Vec::new()));
        }
        if line.trim_start().starts_with(':') {
            return Ok(self.complete_command(line, pos));
        }
        let code = &line[..pos];
        Ok(match spot(code) {
            Spot::Str { start } => self.complete_in_string(code, start),
            Spot::Code => self.complete_code(code),
        })
    }
}

impl Validator for Helper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        Ok(if is_incomplete(&self.parser, ctx.input()) {
            ValidationResult::Incomplete
        } else {
            ValidationResult::Valid(None)
        })
    }
}

impl Hinter for Helper {
    type Hint = String;
}

impl Highlighter for Helper {}

impl rustyline::Helper for Helper {}

#[cfg(test)]
mod tests {
    use super::*;

    fn incomplete(s: &str) -> bool {
        is_incomplete(&engine::new_engine(), s)
    }

    #[test]
    fn the_parser_judges_completeness() {
        for s in [
            "fn f(x) {",
            "fn f(x) {\n  x + 1",
            "let a = [1, 2,",
            "print(1,",
            "let m = #{a: 1,",
            "1 +",
            "foo(",
            "let s = `abc",
            "spawn(\"sh\",",
            "let p = spawn([\"sleep\", \"1\"], #{ns: [\"uts\"],",
            "if x { 1 } else",
        ] {
            assert!(incomplete(s), "{s:?} should continue");
        }
        for s in [
            "1 + 2",
            "let x = 1 let y = 2",
            "1 + }",
            "let s = \"abc",
            "x.",
            ":help",
            "",
            "fn f(x) {\n\n\n",
            "spawn(\"sh\")",
        ] {
            assert!(!incomplete(s), "{s:?} is complete (or an error to show)");
        }
    }

    fn names_with(vars: &[(&str, &str)]) -> Names {
        let engine = engine::new_engine();
        let mut n = Names::from_engine(&engine, vec![], vec![]);
        n.var_types = vars
            .iter()
            .map(|(v, t)| (v.to_string(), t.to_string()))
            .collect();
        n
    }

    #[test]
    fn the_type_before_a_dot() {
        let n = names_with(&[("p", "Process"), ("s", "string"), ("a", "array")]);
        let t = |code: &str| n.type_of_end(code);
        assert_eq!(t("p").as_deref(), Some("Process"));
        assert_eq!(t("let x = p").as_deref(), Some("Process"));
        assert_eq!(t("p.stdout").as_deref(), Some("string"));
        assert_eq!(t("p.nspid").as_deref(), Some("array"));
        assert_eq!(t("p.wait()").as_deref(), Some("int"));
        assert_eq!(
            t(r#"spawn(["sleep", "1"], #{ns: ["uts"]})"#).as_deref(),
            Some("Process")
        );
        assert_eq!(t(r#""a(b""#).as_deref(), Some("string"));
        assert_eq!(t(r#"[1, "]", 3]"#).as_deref(), Some("array"));
        assert_eq!(t("#{a: 1}").as_deref(), Some("map"));
        assert_eq!(t("s.to_upper()").as_deref(), Some("string"));
        assert_eq!(t("hostname()").as_deref(), Some("string"));
        assert_eq!(t("id()").as_deref(), Some("map"));
        assert_eq!(t("a[0]"), None);
        assert_eq!(t("(p)"), None);
        assert_eq!(t("nosuch"), None);
        assert_eq!(t("net::links_of(1)"), None);
        assert_eq!(t("1"), None);
    }

    #[test]
    fn after_a_dot_the_types_own_members_come_first() {
        let h = Helper::new(names_with(&[("p", "Process"), ("s", "string")]));
        let list = |code: &str| -> Vec<String> {
            h.complete_code(code)
                .1
                .into_iter()
                .map(|p| p.display)
                .collect()
        };
        let pos = |v: &[String], x: &str| v.iter().position(|c| c == x);
        let p = list("p.");
        for own in ["pid", "wait", "kill", "running", "stdout"] {
            for other in ["len", "push", "split", "keys"] {
                assert!(
                    pos(&p, own) < pos(&p, other) && pos(&p, other).is_some(),
                    "{own} before {other}: {p:?}"
                );
            }
        }
        let s = list("s.");
        assert!(pos(&s, "to_upper") < pos(&s, "push"), "{s:?}");
        assert!(
            pos(&s, "pid").map_or(true, |i| pos(&s, "len") < Some(i)),
            "{s:?}"
        );
        assert_eq!(list("p.wa"), vec!["wait".to_string()]);
        // An unknown type: everything in name order, as before.
        let u = list("nosuch.");
        let mut sorted = u.clone();
        sorted.sort();
        assert_eq!(u, sorted);
    }

    #[test]
    fn spots() {
        assert_eq!(spot("help(\"sp"), Spot::Str { start: 5 });
        assert_eq!(spot("\"a\" + b"), Spot::Code);
        assert_eq!(spot("// \"x\nfoo"), Spot::Code);
        let s = "spawn(\"sh\", #{ns: [\"uts\"], ho";
        assert!(at_map_key(s, s.len() - 2));
        assert!(at_map_key("#{", 2));
        assert!(!at_map_key("foo(a, ", 7));
        assert!(!at_map_key("#{a: [1, ", 9));
    }
}
