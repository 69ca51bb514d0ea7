//! The one place where an `os::Error` becomes a Rhai error.
//!
//! A script sees it as a map: `#{op, errno, message, hint}`, so
//! `try { ... } catch (e) { e.errno == "EPERM" }` works.

use crate::os;
use rhai::{Dynamic, EvalAltResult, Map, Position};

pub type RResult<T> = Result<T, Box<EvalAltResult>>;

/// Converts an os error into a catchable script error.
pub fn os_err(e: os::Error) -> Box<EvalAltResult> {
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
