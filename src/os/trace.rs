//! The kernel-facing steps nsscript takes, in strace's words.
//!
//! Every step of the setup plan (os::setup) and of the parent's side of a
//! spawn becomes an `Event`: the system call, its real arguments and its
//! result, printed as `strace -f -y` prints it:
//!
//! ```text
//! [pid  4102] mount(NULL, "/", NULL, MS_REC|MS_PRIVATE, NULL) = 0
//! [pid  4101] write(5</proc/4102/uid_map>, "0 1000 1\n", 9) = 9
//! ```
//!
//! A spawn with `trace: true` keeps its events; with tracing switched on
//! (`nsscript --trace`, `trace(true)`) every event is printed on stderr as
//! it happens.

use nix::errno::Errno;
use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};

static ON: AtomicBool = AtomicBool::new(false);

/// Is every kernel-facing step printed on stderr?
pub fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

pub fn set_enabled(on: bool) {
    ON.store(on, Ordering::Relaxed);
}

/// Prints an event on stderr when tracing is on.
pub fn emit(ev: &Event) {
    if enabled() {
        eprintln!("{ev}");
    }
}

/// One argument of a system call, as strace shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Int(i64),
    /// A string or buffer, quoted and escaped.
    Str(Vec<u8>),
    /// A name or flag set printed as is: `MS_REC|MS_PRIVATE`, `NULL`,
    /// `AT_FDCWD`.
    Const(String),
    /// A file descriptor and, as `strace -y` shows it, its path (-1 when
    /// the number is not known).
    Fd(i32, String),
    /// An argv array.
    Argv(Vec<Vec<u8>>),
    /// An environment of N variables (strace: `0x7ffd... /* N vars */`).
    Env(usize),
    /// A structure: `{flags=CLONE_NEWUTS, exit_signal=SIGCHLD}`.
    Struct(Vec<(&'static str, Arg)>),
    /// A pointer whose value means nothing here.
    Ptr,
}

/// What a system call returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ret {
    Val(i64),
    /// A new file descriptor and its path.
    Fd(i32, String),
    Err(Errno),
    /// wait4: the process exited with this status.
    Exited(i32),
    /// wait4: the process was killed by this signal.
    Killed(i32),
}

/// One system call made by a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The caller, as nsscript's pid namespace numbers it.
    pub pid: i32,
    pub name: &'static str,
    pub args: Vec<Arg>,
    pub ret: Ret,
    /// A plain-words remark printed after the call.
    pub note: Option<&'static str>,
}

impl Event {
    pub fn new(pid: i32, name: &'static str, args: Vec<Arg>, ret: Ret) -> Event {
        Event {
            pid,
            name,
            args,
            ret,
            note: None,
        }
    }

    /// The call without pid and result: `mount("proc", "/proc", ...)`.
    pub fn call(&self) -> String {
        let mut s = String::new();
        let _ = write!(s, "{}(", self.name);
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            push_arg(&mut s, a);
        }
        s.push(')');
        s
    }
}

/// strace's escaping: printable ASCII as is, `\n \t \r \" \\` by name,
/// everything else in octal.
fn push_str(out: &mut String, b: &[u8]) {
    out.push('"');
    for &c in b {
        match c {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            0x20..=0x7e => out.push(c as char),
            _ => {
                let _ = write!(out, "\\{c:o}");
            }
        }
    }
    out.push('"');
}

fn push_arg(out: &mut String, a: &Arg) {
    match a {
        Arg::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Arg::Str(b) => push_str(out, b),
        Arg::Const(c) => out.push_str(c),
        // An fd whose number is not known (an error message): its path.
        Arg::Fd(fd, path) if *fd < 0 => {
            let _ = write!(out, "<{path}>");
        }
        Arg::Fd(fd, path) => {
            let _ = write!(out, "{fd}<{path}>");
        }
        Arg::Argv(v) => {
            out.push('[');
            for (i, x) in v.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                push_str(out, x);
            }
            out.push(']');
        }
        Arg::Env(n) => {
            let _ = write!(out, "... /* {n} vars */");
        }
        Arg::Struct(fields) => {
            out.push('{');
            for (i, (k, v)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{k}=");
                push_arg(out, v);
            }
            out.push('}');
        }
        Arg::Ptr => out.push_str("..."),
    }
}

/// The result as strace writes it after ` = `.
pub fn ret_text(r: &Ret) -> String {
    match r {
        Ret::Val(v) => v.to_string(),
        Ret::Fd(fd, path) => format!("{fd}<{path}>"),
        Ret::Err(e) => format!("-1 {} ({})", super::errno_name(*e), e.desc()),
        Ret::Exited(c) => format!("exit {c}"),
        Ret::Killed(s) => format!(
            "killed by {}",
            nix::sys::signal::Signal::try_from(*s)
                .map(|s| s.as_str())
                .unwrap_or("a signal")
        ),
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[pid {:>5}] {} = {}",
            self.pid,
            self.call(),
            ret_text(&self.ret)
        )?;
        if let Some(n) = self.note {
            write!(f, "  # {n}")?;
        }
        Ok(())
    }
}

/// A flag set as `A|B|C`, or `0` when empty.
pub fn flag_names(bits: u64, table: &[(u64, &str)]) -> String {
    let mut names: Vec<String> = Vec::new();
    let mut rest = bits;
    for (b, n) in table {
        if *b != 0 && bits & b == *b {
            names.push((*n).to_string());
            rest &= !b;
        }
    }
    if rest != 0 {
        names.push(format!("{rest:#x}"));
    }
    if names.is_empty() {
        "0".to_string()
    } else {
        names.join("|")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_read_like_strace() {
        let e = Event::new(
            42,
            "mount",
            vec![
                Arg::Const("NULL".into()),
                Arg::Str(b"/".to_vec()),
                Arg::Const("NULL".into()),
                Arg::Const("MS_REC|MS_PRIVATE".into()),
                Arg::Const("NULL".into()),
            ],
            Ret::Val(0),
        );
        assert_eq!(
            e.to_string(),
            "[pid    42] mount(NULL, \"/\", NULL, MS_REC|MS_PRIVATE, NULL) = 0"
        );
        let w = Event::new(
            7,
            "write",
            vec![
                Arg::Fd(5, "/proc/8/uid_map".into()),
                Arg::Str(b"0 1000 1\n".to_vec()),
                Arg::Int(9),
            ],
            Ret::Err(Errno::EPERM),
        );
        assert_eq!(
            w.to_string(),
            "[pid     7] write(5</proc/8/uid_map>, \"0 1000 1\\n\", 9) = -1 EPERM (Operation not permitted)"
        );
    }

    #[test]
    fn strings_escape_as_strace_does() {
        let mut s = String::new();
        push_str(&mut s, b"a\"b\\\x01\x7f");
        assert_eq!(s, "\"a\\\"b\\\\\\1\\177\"");
    }

    #[test]
    fn flags_name_known_bits_and_keep_the_rest() {
        let t = [(1, "A"), (2, "B")];
        assert_eq!(flag_names(3, &t), "A|B");
        assert_eq!(flag_names(0, &t), "0");
        assert_eq!(flag_names(5, &t), "A|0x4");
    }
}
