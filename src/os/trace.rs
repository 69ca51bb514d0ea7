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
//! it happens. The calls the interpreter makes itself (mounts, names,
//! System V IPC, waits, pidfds) are reported where they are made, with
//! `here`, which builds nothing while tracing is off.

use nix::errno::Errno;
use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

static ON: AtomicBool = AtomicBool::new(false);

/// Is every kernel-facing step printed on stderr?
pub fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

pub fn set_enabled(on: bool) {
    ON.store(on, Ordering::Relaxed);
}

/// Writes one line on stderr in a single write(2), so that lines from
/// several processes sharing stderr never mix.
fn print_line(mut line: String) {
    line.push('\n');
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Prints an event on stderr when tracing is on.
pub fn emit(ev: &Event) {
    if enabled() {
        print_line(ev.to_string());
    }
}

/// Prints a step that is not one system call, in the trace's layout, when
/// tracing is on: `[pid  4101] ip link add veth0 type veth peer name veth1
/// = 0`. For work made of several calls that reads better as the command
/// a user would type (netlink requests as `ip` one-liners); `text` is the
/// whole line after the pid, result included.
pub fn emit_line(pid: i32, text: &str) {
    if enabled() {
        print_line(format!("[pid {pid:>5}] {text}"));
    }
}

/// Reports a system call the interpreter has just made: `name(args) =
/// ret`, with an optional plain-words note. `args` runs only when tracing
/// is on, so the arguments cost nothing otherwise.
pub fn here(name: &'static str, ret: Ret, note: Option<&str>, args: impl FnOnce() -> Vec<Arg>) {
    if !enabled() {
        return;
    }
    let mut ev = Event::new(super::ident::pid(), name, args(), ret);
    ev.note = note.map(str::to_string);
    print_line(ev.to_string());
}

/// `here` for a call that returns a new fd, shown with its path as
/// `strace -y` shows it (`3<anon_inode:[pidfd]>`).
pub fn here_fd(name: &'static str, r: Result<i32, Errno>, args: impl FnOnce() -> Vec<Arg>) {
    if !enabled() {
        return;
    }
    let ret = match r {
        Ok(fd) => Ret::Fd(fd, fd_path(fd)),
        Err(e) => Ret::Err(e),
    };
    here(name, ret, None, args);
}

/// What `strace -y` shows after an fd of this process: its path, as
/// /proc/self/fd has it ("uts:[4026531838]", "anon_inode:[pidfd]",
/// "pipe:[1234]"), or the number when it cannot be read.
pub fn fd_path(fd: i32) -> String {
    std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .map(|t| t.to_string_lossy().into_owned())
        .unwrap_or_else(|_| fd.to_string())
}

/// The dirfd of a path relative to the working directory, as `strace -y`
/// shows it: `AT_FDCWD</tmp>`.
pub fn at_fdcwd() -> Arg {
    match std::env::current_dir() {
        Ok(d) => Arg::Const(format!("AT_FDCWD<{}>", d.to_string_lossy())),
        Err(_) => Arg::Const("AT_FDCWD".into()),
    }
}

/// A wait status as strace decodes it: `[{WIFEXITED(s) && WEXITSTATUS(s)
/// == 3}]`, `[{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}]`.
pub fn wait_status(st: i32) -> Arg {
    let text = if libc::WIFEXITED(st) {
        format!(
            "WIFEXITED(s) && WEXITSTATUS(s) == {}",
            libc::WEXITSTATUS(st)
        )
    } else if libc::WIFSIGNALED(st) {
        let core = if libc::WCOREDUMP(st) {
            " && WCOREDUMP(s)"
        } else {
            ""
        };
        format!(
            "WIFSIGNALED(s) && WTERMSIG(s) == {}{core}",
            signal_name(libc::WTERMSIG(st))
        )
    } else if libc::WIFSTOPPED(st) {
        format!(
            "WIFSTOPPED(s) && WSTOPSIG(s) == {}",
            signal_name(libc::WSTOPSIG(st))
        )
    } else {
        format!("{st:#x}")
    };
    Arg::Const(format!("[{{{text}}}]"))
}

/// A signal's name as strace prints it ("SIGKILL"), or its number.
pub fn signal_name(sig: i32) -> String {
    nix::sys::signal::Signal::try_from(sig)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| sig.to_string())
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
    /// An environment of N variables (strace: `0x7ffd... /* N vars */`,
    /// `/* 1 var */`).
    Env(usize),
    /// A structure: `{flags=CLONE_NEWUTS, exit_signal=SIGCHLD}`.
    Struct(Vec<(&'static str, Arg)>),
    /// A pointer whose value means nothing here.
    Ptr,
    /// An argument the kernel writes back, as strace shows both:
    /// `{flags=..., pidfd=...} => {pidfd=[5<anon_inode:[pidfd]>]}`.
    Changed(Box<Arg>, Box<Arg>),
}

/// What a system call returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ret {
    Val(i64),
    /// A new file descriptor and its path.
    Fd(i32, String),
    Err(Errno),
}

impl Ret {
    /// 0 or the error of a call that returns nothing else.
    pub fn of<T>(r: &Result<T, Errno>) -> Ret {
        match r {
            Ok(_) => Ret::Val(0),
            Err(e) => Ret::Err(*e),
        }
    }
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
    pub note: Option<String>,
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

/// strace's escaping: printable ASCII as is, `\t \n \v \f \r \" \\` by
/// name, everything else in octal, with three digits when an octal digit
/// follows (`\0011` is byte 1, then "1").
fn push_str(out: &mut String, b: &[u8]) {
    out.push('"');
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            0x0b => out.push_str("\\v"),
            0x0c => out.push_str("\\f"),
            b'\r' => out.push_str("\\r"),
            0x20..=0x7e => out.push(c as char),
            _ if matches!(b.get(i + 1), Some(b'0'..=b'7')) => {
                let _ = write!(out, "\\{c:03o}");
            }
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
        // strace -y puts a deleted file's mark after the brackets.
        Arg::Fd(fd, path) => match path.strip_suffix(" (deleted)") {
            Some(p) => {
                let _ = write!(out, "{fd}<{p}>(deleted)");
            }
            None => {
                let _ = write!(out, "{fd}<{path}>");
            }
        },
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
            let s = if *n == 1 { "" } else { "s" };
            let _ = write!(out, "... /* {n} var{s} */");
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
        Arg::Changed(before, after) => {
            push_arg(out, before);
            out.push_str(" => ");
            push_arg(out, after);
        }
    }
}

/// The result as strace writes it after ` = `.
pub fn ret_text(r: &Ret) -> String {
    match r {
        Ret::Val(v) => v.to_string(),
        Ret::Fd(fd, path) => format!("{fd}<{path}>"),
        Ret::Err(e) => format!("-1 {} ({})", super::errno_name(*e), e.desc()),
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
        if let Some(n) = &self.note {
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
    fn an_environment_is_counted_as_strace_counts_it() {
        let exec = |n| {
            let args = vec![
                Arg::Str(b"/bin/true".to_vec()),
                Arg::Argv(vec![]),
                Arg::Env(n),
            ];
            Event::new(1, "execve", args, Ret::Val(0)).call()
        };
        assert_eq!(exec(1), "execve(\"/bin/true\", [], ... /* 1 var */)");
        assert_eq!(exec(0), "execve(\"/bin/true\", [], ... /* 0 vars */)");
    }

    #[test]
    fn strings_escape_as_strace_does() {
        let mut s = String::new();
        push_str(&mut s, b"a\"b\\\x01\x7f");
        assert_eq!(s, "\"a\\\"b\\\\\\1\\177\"");
        // As strace 6.1 printed these bytes of a sethostname(2) argument.
        let mut s = String::new();
        push_str(&mut s, b"\x011\x027\x038\x1b[\x80\xffa\x0b\x0c");
        assert_eq!(s, r#""\0011\0027\38\33[\200\377a\v\f""#);
    }

    #[test]
    fn wait_statuses_read_as_strace_decodes_them() {
        let show = |a: Arg| {
            let mut s = String::new();
            push_arg(&mut s, &a);
            s
        };
        assert_eq!(
            show(wait_status(3 << 8)),
            "[{WIFEXITED(s) && WEXITSTATUS(s) == 3}]"
        );
        assert_eq!(
            show(wait_status(libc::SIGKILL)),
            "[{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}]"
        );
        assert_eq!(
            show(wait_status(libc::SIGSEGV | 0x80)),
            "[{WIFSIGNALED(s) && WTERMSIG(s) == SIGSEGV && WCOREDUMP(s)}]"
        );
    }

    #[test]
    fn flags_name_known_bits_and_keep_the_rest() {
        let t = [(1, "A"), (2, "B")];
        assert_eq!(flag_names(3, &t), "A|B");
        assert_eq!(flag_names(0, &t), "0");
        assert_eq!(flag_names(5, &t), "A|0x4");
    }
}
