//! The one place where an `os::Error` becomes a Rhai error.
//!
//! A script sees it as a map: `#{op, errno, message, hint}`, so
//! `try { ... } catch (e) { e.errno == "EPERM" }` works.

use crate::os;
use rhai::{Dynamic, EvalAltResult, Map, Position};

pub type RResult<T> = Result<T, Box<EvalAltResult>>;

/// The longest op, detail or hint a script error keeps: an argument of a
/// megabyte echoed in a message helps nobody.
const MAX_FIELD: usize = 512;

fn shorten(s: String) -> String {
    if s.len() <= MAX_FIELD {
        return s;
    }
    let mut end = MAX_FIELD;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes in all)", &s[..end], s.len())
}

/// Converts an os error into a catchable script error.
pub fn os_err(e: os::Error) -> Box<EvalAltResult> {
    let e = os::Error {
        op: shorten(e.op),
        errno: e.errno,
        detail: shorten(e.detail),
        hint: e.hint.map(shorten),
    };
    let mut m = Map::new();
    m.insert("op".into(), e.op.clone().into());
    m.insert("errno".into(), e.errno_name().into());
    m.insert("message".into(), e.message().into());
    m.insert(
        "hint".into(),
        e.hint.clone().map(Dynamic::from).unwrap_or(Dynamic::UNIT),
    );
    EvalAltResult::ErrorRuntime(m.into(), Position::NONE).into()
}

/// Bad input found by the engine layer (wrong option type, unknown key).
pub fn invalid(op: &str, detail: impl Into<String>) -> Box<EvalAltResult> {
    os_err(os::Error::invalid(op, detail))
}

/// Shorthand for results from os/.
pub trait IntoRhai<T> {
    fn rhai(self) -> RResult<T>;
}

impl<T> IntoRhai<T> for os::Result<T> {
    fn rhai(self) -> RResult<T> {
        self.map_err(os_err)
    }
}

/// If `e` is a runtime error thrown as an os-error map, its message and
/// hint.
pub fn as_os_error(v: &Dynamic) -> Option<(String, Option<String>)> {
    let m = v.read_lock::<Map>()?;
    let msg = m.get("message")?.clone().into_string().ok()?;
    let hint = m.get("hint").and_then(|h| h.clone().into_string().ok());
    Some((msg, hint))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (issue 7): a 1 MiB argument came back whole in the
    /// error message (and again in its op).
    #[test]
    fn huge_arguments_are_cut_in_messages() {
        let big = "é".repeat(300_000);
        let e = os_err(os::Error::invalid(
            format!("read_file({big:?})"),
            big.clone(),
        ));
        let EvalAltResult::ErrorRuntime(v, _) = *e else {
            panic!("not a runtime error");
        };
        let (msg, _) = as_os_error(&v).expect("an os error map");
        assert!(msg.len() < 2 * MAX_FIELD + 100, "{} bytes", msg.len());
        assert!(msg.contains("bytes in all"), "{msg}");
        let short = os_err(os::Error::invalid("op", "detail"));
        let EvalAltResult::ErrorRuntime(v, _) = *short else {
            panic!("not a runtime error");
        };
        assert_eq!(as_os_error(&v).map(|m| m.0).as_deref(), Some("op: detail"));
    }
}
