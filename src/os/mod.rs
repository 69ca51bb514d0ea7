//! The kernel side of nsscript: namespaces, processes, ids, mounts, IPC and
//! netlink, in plain Rust over nix/libc. Nothing here knows about Rhai.
//!
//! Dependencies run one way: `process` (spawn, the plan walk, the Child
//! handle) and the interpreter-level operations (`unshare`, `in_ns`,
//! `persist`) use `setup` (options, validator, plan), which uses the
//! primitives (`sys`, `ns`, `nsfs`, `idmap`, `uts`, `trace`). See
//! ARCHITECTURE.md.

pub mod caps;
pub mod doctor;
pub mod ident;
pub mod idmap;
pub mod in_ns;
pub mod ipc;
pub mod lsns;
pub mod mount;
pub mod net;
pub mod ns;
pub mod nsfs;
pub mod persist;
pub mod process;
pub mod procfs;
#[cfg(target_arch = "x86_64")]
pub mod raw;
pub mod setup;
pub mod signals;
pub mod sys;
pub mod trace;
pub mod unshare;
pub mod uts;

use nix::errno::Errno;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by a SIGINT handler (the REPL's) to ask blocking waits to give up.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Has the user asked to interrupt what is running (Ctrl-C in the REPL),
/// or did nsscript receive a signal it forwards (os::signals)?
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed) || signals::received().is_some()
}

/// Sets or clears the interruption request; safe in a signal handler.
pub fn set_interrupted(v: bool) {
    INTERRUPTED.store(v, Ordering::Relaxed);
}

/// Job control, as an interactive shell does it (the REPL turns it on):
/// each child gets a process group of its own, so Ctrl-C reaches only the
/// foreground (the REPL, or the child being waited on), never children
/// running in the background.
static JOB_CONTROL: AtomicBool = AtomicBool::new(false);

pub fn job_control() -> bool {
    JOB_CONTROL.load(Ordering::Relaxed)
}

/// Set once the interpreter has joined another process's pid namespace
/// (setns): its children are then born among processes of others, who
/// may reach into a child that shares the interpreter's memory until it
/// execs (process::spawn keeps such a child undumpable). Cleared by an
/// unshare of a pid namespace, whose first child starts it afresh.
static JOINED_PID_NS: AtomicBool = AtomicBool::new(false);

pub fn children_join_others() -> bool {
    JOINED_PID_NS.load(Ordering::Relaxed)
}

pub fn set_children_join_others(v: bool) {
    JOINED_PID_NS.store(v, Ordering::Relaxed);
}

pub fn set_job_control(v: bool) {
    JOB_CONTROL.store(v, Ordering::Relaxed);
}

/// An operating-system error: which operation failed, with which errno, and
/// (where one is known) what to do about it.
///
/// `op` names the operation as a user would recognise it
/// (`"spawn: clone(CLONE_NEWUSER)"`, `"set_hostname"`); `errno` is absent for
/// errors that nsscript itself detects before calling the kernel (bad input),
/// in which case `detail` says what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub op: String,
    pub errno: Option<Errno>,
    pub detail: String,
    pub hint: Option<String>,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A failed system call.
    pub fn sys(op: impl Into<String>, errno: Errno) -> Self {
        Error {
            op: op.into(),
            errno: Some(errno),
            detail: String::new(),
            hint: None,
        }
    }

    /// Input that nsscript rejects before calling the kernel. It carries
    /// EINVAL so scripts can match on one field for every kind of error.
    pub fn invalid(op: impl Into<String>, detail: impl Into<String>) -> Self {
        Error {
            op: op.into(),
            errno: Some(Errno::EINVAL),
            detail: detail.into(),
            hint: None,
        }
    }

    /// An error with a custom errno and detail text.
    pub fn with_errno(op: impl Into<String>, errno: Errno, detail: impl Into<String>) -> Self {
        Error {
            op: op.into(),
            errno: Some(errno),
            detail: detail.into(),
            hint: None,
        }
    }

    /// From a `std::io::Error` (file helpers, /proc reads).
    pub fn io(op: impl Into<String>, e: &std::io::Error) -> Self {
        let errno = e.raw_os_error().map(Errno::from_raw);
        Error {
            op: op.into(),
            errno,
            detail: if errno.is_some() {
                String::new()
            } else {
                e.to_string()
            },
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    /// The errno's symbolic name (`"EPERM"`), or `""` when there is none.
    pub fn errno_name(&self) -> &'static str {
        match self.errno {
            Some(e) => errno_name(e),
            None => "",
        }
    }

    /// The one-line message without the hint.
    pub fn message(&self) -> String {
        let mut s = self.op.clone();
        match (self.errno, self.detail.is_empty()) {
            (Some(e), true) => s.push_str(&format!(" failed: {} ({})", errno_name(e), e.desc())),
            (Some(Errno::EINVAL), false) => s.push_str(&format!(": {}", self.detail)),
            (Some(e), false) => s.push_str(&format!(
                " failed: {} ({}): {}",
                errno_name(e),
                e.desc(),
                self.detail
            )),
            (None, _) => s.push_str(&format!(": {}", self.detail)),
        }
        s
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// The symbolic name of an errno, as C code and man pages spell it.
pub fn errno_name(e: Errno) -> &'static str {
    // nix's Debug for Errno is the symbolic name; keep it as a static str
    // for the common ones and fall back to "EUNKNOWN".
    use Errno::*;
    match e {
        EPERM => "EPERM",
        ENOENT => "ENOENT",
        ESRCH => "ESRCH",
        EINTR => "EINTR",
        EIO => "EIO",
        ENXIO => "ENXIO",
        E2BIG => "E2BIG",
        ENOEXEC => "ENOEXEC",
        EBADF => "EBADF",
        ECHILD => "ECHILD",
        EAGAIN => "EAGAIN",
        ENOMEM => "ENOMEM",
        EACCES => "EACCES",
        EFAULT => "EFAULT",
        ENOTBLK => "ENOTBLK",
        EBUSY => "EBUSY",
        EEXIST => "EEXIST",
        EXDEV => "EXDEV",
        ENODEV => "ENODEV",
        ENOTDIR => "ENOTDIR",
        EISDIR => "EISDIR",
        EINVAL => "EINVAL",
        ENFILE => "ENFILE",
        EMFILE => "EMFILE",
        ENOTTY => "ENOTTY",
        ETXTBSY => "ETXTBSY",
        EFBIG => "EFBIG",
        ENOSPC => "ENOSPC",
        ESPIPE => "ESPIPE",
        EROFS => "EROFS",
        EMLINK => "EMLINK",
        EPIPE => "EPIPE",
        ERANGE => "ERANGE",
        EDEADLK => "EDEADLK",
        ENAMETOOLONG => "ENAMETOOLONG",
        ENOSYS => "ENOSYS",
        ENOTEMPTY => "ENOTEMPTY",
        ELOOP => "ELOOP",
        ENOMSG => "ENOMSG",
        EIDRM => "EIDRM",
        ENODATA => "ENODATA",
        EUSERS => "EUSERS",
        EOPNOTSUPP => "EOPNOTSUPP",
        EADDRINUSE => "EADDRINUSE",
        EADDRNOTAVAIL => "EADDRNOTAVAIL",
        ENETUNREACH => "ENETUNREACH",
        ENOBUFS => "ENOBUFS",
        ETIMEDOUT => "ETIMEDOUT",
        ECONNREFUSED => "ECONNREFUSED",
        EOVERFLOW => "EOVERFLOW",
        EAFNOSUPPORT => "EAFNOSUPPORT",
        EPROTONOSUPPORT => "EPROTONOSUPPORT",
        ENOPROTOOPT => "ENOPROTOOPT",
        EOWNERDEAD => "EOWNERDEAD",
        ECANCELED => "ECANCELED",
        _ => "EUNKNOWN",
    }
}

/// Parse a symbolic errno name back (used by tests and scripts).
pub fn errno_from_name(name: &str) -> Option<Errno> {
    (1..134)
        .map(Errno::from_raw)
        .find(|e| errno_name(*e) == name)
}

/// A pid given by a script: 1 to 2^31-1.
pub fn check_pid(op: &str, pid: i64) -> Result<i32> {
    i32::try_from(pid)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| Error::invalid(op, format!("{pid} is not a valid pid (1 to 2147483647)")))
}

/// Shorthand: turn a nix result into ours, naming the operation.
pub trait Context<T> {
    fn op(self, op: &str) -> Result<T>;
}

impl<T> Context<T> for nix::Result<T> {
    fn op(self, op: &str) -> Result<T> {
        self.map_err(|e| Error::sys(op, e))
    }
}

impl<T> Context<T> for std::io::Result<T> {
    fn op(self, op: &str) -> Result<T> {
        self.map_err(|e| Error::io(op, &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_op_errno_and_hint() {
        let e = Error::sys("spawn: clone(CLONE_NEWUSER)", Errno::EPERM).hint("try root");
        assert_eq!(
            e.to_string(),
            "spawn: clone(CLONE_NEWUSER) failed: EPERM (Operation not permitted)\n  hint: try root"
        );
        assert_eq!(e.errno_name(), "EPERM");
    }

    #[test]
    fn invalid_input_is_einval_with_detail() {
        let e = Error::invalid("set_hostname", "name is 70 bytes; the limit is 64");
        assert_eq!(
            e.message(),
            "set_hostname: name is 70 bytes; the limit is 64"
        );
        assert_eq!(e.errno_name(), "EINVAL");
    }

    #[test]
    fn errno_names_round_trip() {
        assert_eq!(errno_from_name("ENOENT"), Some(Errno::ENOENT));
        assert_eq!(errno_from_name("nope"), None);
    }
}
