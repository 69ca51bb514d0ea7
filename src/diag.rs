//! The one printer for script errors: file:line:col, the source line and a
//! caret under the position. Always to stderr.

use crate::engine::error::as_os_error;
use rhai::{EvalAltResult, Position};
use std::fmt::Write;

/// Where a script came from, to quote its lines.
pub struct Source<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

/// The innermost error: its message, hint, position, the script it is in
/// when that is not the one being run (a function from `import` or the
/// REPL's `:load`), and the calls it went through.
struct Unwrapped {
    msg: String,
    hint: Option<String>,
    pos: Position,
    origin: Option<String>,
    chain: Vec<String>,
}

fn unwrap(err: &EvalAltResult) -> Unwrapped {
    let mut chain = Vec::new();
    let mut origin = None;
    let mut e = err;
    loop {
        match e {
            EvalAltResult::ErrorInFunctionCall(name, src, inner, pos) => {
                chain.push(format!("in call to function '{name}' ({pos})"));
                if !src.is_empty() {
                    origin = Some(src.clone());
                }
                e = inner;
            }
            EvalAltResult::ErrorInModule(name, inner, pos) => {
                chain.push(format!("in module '{name}' ({pos})"));
                e = inner;
            }
            _ => break,
        }
    }
    let pos = e.position();
    let (msg, hint) = match e {
        EvalAltResult::ErrorRuntime(v, _) => match as_os_error(v) {
            Some((m, h)) => (m, h),
            None => (format!("{v}"), None),
        },
        EvalAltResult::ErrorParsing(p, _) => (format!("syntax error: {p}"), None),
        other => {
            let mut s = other.to_string();
            // Rhai appends " (line 3, position 5)"; the caret says that.
            if let Some(i) = s.rfind(" (line ") {
                s.truncate(i);
            }
            (s, None)
        }
    };
    Unwrapped {
        msg,
        hint,
        pos,
        origin,
        chain,
    }
}

/// Renders an error for humans.
pub fn render(err: &EvalAltResult, src: Option<&Source>) -> String {
    let Unwrapped {
        msg,
        hint,
        pos,
        origin,
        chain,
    } = unwrap(err);
    let mut out = format!("error: {msg}\n");
    if let Some(h) = hint {
        let _ = writeln!(out, "  hint: {h}");
    }
    // An error inside a function from another file is quoted from that file.
    let other;
    let src = match &origin {
        Some(o) if src.map(|s| s.name) != Some(o.as_str()) => {
            other = std::fs::read_to_string(o).unwrap_or_default();
            Some(Source {
                name: o.as_str(),
                text: other.as_str(),
            })
        }
        _ => src.map(|s| Source {
            name: s.name,
            text: s.text,
        }),
    };
    let src = src.as_ref();
    if let (Some(line), Some(col)) = (pos.line(), pos.position()) {
        let name = src.map(|s| s.name).unwrap_or("<script>");
        let _ = writeln!(out, "  --> {name}:{line}:{col}");
        if let Some(text) = src.and_then(|s| s.text.lines().nth(line - 1)) {
            let num = line.to_string();
            let pad = " ".repeat(num.len());
            let _ = writeln!(out, "{pad} |");
            let _ = writeln!(out, "{num} | {text}");
            // Columns are 1-based characters; keep tabs so the caret lines up.
            let lead: String = text
                .chars()
                .take(col.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let _ = writeln!(out, "{pad} | {lead}^");
        }
    }
    for c in chain.iter().rev() {
        let _ = writeln!(out, "  note: {c}");
    }
    out
}

/// Prints an error to stderr, once.
pub fn print(err: &EvalAltResult, src: Option<&Source>) {
    eprint!("{}", render(err, src));
}
