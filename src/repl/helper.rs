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
    /// What follows a dot: properties and methods.
    pub members: Vec<String>,
    /// Variables and constants in scope.
    pub vars: Vec<String>,
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
        }
    }
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
        if code[..start].ends_with('.') {
            return (
                start,
                candidates(word, self.names.members.iter().map(String::as_str), ""),
            );
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
