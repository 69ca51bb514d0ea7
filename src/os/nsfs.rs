//! Namespace files (nsfs): what the ioctls on /proc/PID/ns/* say, the
//! namespaces a join targets (`Target`), setns(2) for the interpreter, and
//! a process's namespace links.
//!
//! Kernel rules followed here (namespaces(7), setns(2)):
//! - Joining several kinds: user first (it grants the capabilities the
//!   other joins check), mount last (it resets / and the cwd). A pidfd
//!   joins every kind at once, atomically (Linux 5.8).
//! - Every fd is opened before any join, as nsenter does: after joining a
//!   mount namespace /proc may no longer show the target.
//! - setns(CLONE_NEWPID) moves only later children; a join of a user
//!   namespace needs a single-threaded process.

use super::ns::{Namespace, NsSet};
use super::setup::plan::{self, Plan};
use super::trace::{self, Arg};
use super::{check_pid, sys, Context, Error, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

/// statfs(2) f_type of the nsfs filesystem (linux/magic.h).
const NSFS_MAGIC: i64 = 0x6e73_6673;
/// ioctl(2) requests on an nsfs file (linux/nsfs.h): `_IO(0xb7, n)`.
const NS_GET_USERNS: libc::c_ulong = 0xb701;
const NS_GET_PARENT: libc::c_ulong = 0xb702;
const NS_GET_NSTYPE: libc::c_ulong = 0xb703;

/// Opens a namespace file to join or keep it, reported when tracing (the
/// setns or mount that follows names the fd).
pub(crate) fn open_ro(path: &str) -> std::result::Result<OwnedFd, Errno> {
    let flags = OFlag::O_RDONLY | OFlag::O_CLOEXEC;
    let r = nix::fcntl::open(path, flags, nix::sys::stat::Mode::empty());
    let fd = r.as_ref().map(|fd| fd.as_raw_fd()).map_err(|e| *e);
    trace::here_fd("openat", fd, || {
        vec![
            trace::at_fdcwd(),
            Arg::Str(path.as_bytes().to_vec()),
            Arg::Const(plan::open_flags(flags.bits())),
        ]
    });
    r
}

/// Is this fd a file of the nsfs filesystem (/proc/PID/ns/*, or a bind
/// mount of one)?
pub(crate) fn is_nsfs(fd: &impl AsFd) -> std::result::Result<bool, Errno> {
    // SAFETY: fstatfs fills a zeroed struct we own.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatfs(fd.as_fd().as_raw_fd(), &mut st) } < 0 {
        return Err(Errno::last());
    }
    Ok(st.f_type as i64 == NSFS_MAGIC)
}

/// The inode of the namespace an ioctl on `fd` returns (NS_GET_USERNS,
/// NS_GET_PARENT). None where the kernel refuses (EPERM: it is outside
/// our view; EINVAL: the kind has no parent).
fn related_ns(fd: &impl AsFd, request: libc::c_ulong) -> Option<u64> {
    // SAFETY: these nsfs ioctls take no argument and return a new fd.
    let r = unsafe { libc::ioctl(fd.as_fd().as_raw_fd(), request as _) };
    if r < 0 {
        return None;
    }
    // SAFETY: a fresh fd from the kernel.
    let other = unsafe { OwnedFd::from_raw_fd(r) };
    nix::sys::stat::fstat(&other).ok().map(|s| s.st_ino)
}

/// The owning user namespace of the namespace behind `fd`.
pub(crate) fn owner_of(fd: &impl AsFd) -> Option<u64> {
    related_ns(fd, NS_GET_USERNS)
}

/// The parent of a pid or user namespace.
pub(crate) fn parent_of(fd: &impl AsFd) -> Option<u64> {
    related_ns(fd, NS_GET_PARENT)
}

/// The kind of the namespace behind an nsfs fd (NS_GET_NSTYPE, Linux 4.11).
fn kind_of(fd: &impl AsFd) -> std::result::Result<Namespace, Errno> {
    // SAFETY: NS_GET_NSTYPE takes no argument and returns a CLONE_NEW* flag.
    let r = unsafe { libc::ioctl(fd.as_fd().as_raw_fd(), NS_GET_NSTYPE as _) };
    if r < 0 {
        return Err(Errno::last());
    }
    let set = NsSet::from_flags(r as i64).map_err(|_| Errno::EINVAL)?;
    set.iter().next().ok_or(Errno::EINVAL)
}

pub(crate) fn no_process(op: &str, pid: i32) -> Error {
    Error::with_errno(op, Errno::ESRCH, format!("no process with pid {pid}"))
        .hint("pids are those of the pid namespace nsscript runs in; ps or namespaces() lists them")
}

pub(crate) fn exited(op: &str, pid: i32) -> Error {
    Error::with_errno(op, Errno::ESRCH, format!("process {pid} has exited"))
        .hint("a namespace can only be joined while a process is in it, or through a file that keeps it (persist)")
}

/// Is the process a zombie (exited, not yet reaped: no namespaces left)?
pub(crate) fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, r)| r.starts_with('Z')))
        .unwrap_or(false)
}

/// The error for a /proc/PID/ns/KIND that could not be read or opened.
pub(crate) fn ns_file_error(op: &str, pid: i32, kind: Namespace, e: Errno) -> Error {
    match e {
        Errno::ENOENT if is_zombie(pid) => exited(op, pid),
        Errno::ENOENT if !Path::new(&format!("/proc/{pid}")).exists() => no_process(op, pid),
        Errno::ENOENT => Error::with_errno(
            op,
            Errno::ENOENT,
            format!("process {pid} has no {} namespace", kind.name()),
        )
        .hint(format!(
            "this kernel has no {} namespace (/proc/{pid}/ns/{} is missing)",
            kind.name(),
            kind.proc_name()
        )),
        Errno::EACCES | Errno::EPERM => Error::with_errno(
            op,
            e,
            format!("may not look at the namespaces of process {pid}"),
        )
        .hint("reading /proc/PID/ns needs the same user as the process, or CAP_SYS_PTRACE (root)"),
        _ => Error::sys(op, e),
    }
}

pub(crate) fn readlink(path: &str) -> std::result::Result<String, Errno> {
    std::fs::read_link(path)
        .map(|t| t.to_string_lossy().into_owned())
        .map_err(|e| e.raw_os_error().map(Errno::from_raw).unwrap_or(Errno::EIO))
}

/// The entry of /proc/self/ns to compare a target's namespace with: for a
/// pid namespace the one our next children get, for the others our own.
fn own_entry(kind: Namespace) -> &'static str {
    match kind {
        Namespace::Pid => "pid_for_children",
        other => other.proc_name(),
    }
}

/// pidfd_open(pid, 0), reported when tracing: the fd the setns and
/// signal lines that follow name.
pub(crate) fn open_pidfd(pid: i32) -> std::result::Result<Option<OwnedFd>, Errno> {
    let r = sys::pidfd_open(pid);
    let fd = match &r {
        Ok(Some(fd)) => Ok(fd.as_raw_fd()),
        Ok(None) => Err(Errno::ENOSYS),
        Err(e) => Err(*e),
    };
    trace::here_fd("pidfd_open", fd, || vec![Arg::Int(pid as i64), Arg::Int(0)]);
    r
}

/// A pidfd for a process that exists and has not exited (None where the
/// kernel has no pidfd_open), opened first: whatever is read from
/// /proc/PID afterwards is checked against it.
pub(crate) fn live_pidfd(op: &str, pid: i32) -> Result<Option<OwnedFd>> {
    let pidfd = match open_pidfd(pid) {
        Ok(fd) => fd,
        Err(Errno::ESRCH) => return Err(no_process(op, pid)),
        Err(e) => return Err(Error::sys(format!("{op}: pidfd_open({pid})"), e)),
    };
    if is_zombie(pid) {
        return Err(exited(op, pid));
    }
    Ok(pidfd)
}

/// Is the process behind a pidfd still running (signal 0 through it)?
pub(crate) fn pidfd_alive(fd: &OwnedFd) -> bool {
    matches!(
        sys::pidfd_send_signal(fd.as_raw_fd(), 0),
        Ok(()) | Err(Errno::EPERM)
    )
}

// ---------------------------------------------------------------------
// Targets: what to join
// ---------------------------------------------------------------------

/// How a target's namespaces are joined.
#[derive(Debug)]
enum How {
    /// One setns(pidfd, flags) call: every kind at once, atomically, and
    /// the pidfd pins the process (Linux 5.8+).
    Pidfd(OwnedFd),
    /// One setns(fd, flag) per kind, in join order (user first).
    Files(Vec<(Namespace, OwnedFd)>),
}

/// One setns(2) of a join: the fd, the flags, and the fd's path.
#[derive(Debug, Clone)]
pub struct JoinFd {
    pub fd: RawFd,
    pub nstype: u64,
    pub what: String,
}

/// Namespaces to join: those of a process, or the one an nsfs file holds.
/// Every fd is opened in advance, so joining needs no path lookup.
#[derive(Debug)]
pub struct Target {
    /// "process 1234" or the path, for messages.
    pub what: String,
    /// The kinds joined.
    pub ns: NsSet,
    how: How,
}

impl Target {
    /// The namespaces of process `pid`. With `all`, every kind in which
    /// the process differs from this interpreter (like `nsenter --all`);
    /// otherwise exactly `kinds`, and a kind the process shares with us is
    /// an error: there is nothing of its own to join.
    pub fn of_pid(op: &str, pid: i64, kinds: NsSet, all: bool) -> Result<Target> {
        let pid = check_pid(op, pid)?;
        if kinds.is_empty() && !all {
            return Err(Error::invalid(
                op,
                "no namespace kinds given; name some, like [\"uts\", \"net\"], or \"all\"",
            ));
        }
        // The pidfd first: whatever is read from /proc/PID afterwards is
        // checked against it (a pid reused after an exit cannot pass).
        let pidfd = live_pidfd(op, pid)?;
        let wanted = if all {
            Namespace::ALL.into_iter().collect()
        } else {
            kinds
        };
        let mut set = NsSet::empty();
        for kind in wanted.iter() {
            let theirs = match readlink(&format!("/proc/{pid}/ns/{}", kind.proc_name())) {
                Ok(l) => l,
                // `all`: a kind this kernel lacks is simply not there.
                Err(Errno::ENOENT)
                    if all && !is_zombie(pid) && Path::new(&format!("/proc/{pid}")).exists() =>
                {
                    continue
                }
                Err(e) => return Err(ns_file_error(op, pid, kind, e)),
            };
            let ours = readlink(&format!("/proc/self/ns/{}", own_entry(kind))).ok();
            if ours.as_deref() == Some(theirs.as_str()) {
                if all {
                    continue;
                }
                return Err(Error::invalid(
                    op,
                    format!(
                        "process {pid} has no {} namespace of its own: it is in this interpreter's ({theirs})",
                        kind.name()
                    ),
                )
                .hint(format!(
                    "ns_of({pid}) shows its namespaces; join only kinds it unshared, or pass \"all\""
                )));
            }
            set.insert(kind);
        }
        if set.is_empty() {
            return Err(Error::invalid(
                op,
                format!(
                    "process {pid} is in all of this interpreter's namespaces: nothing to join"
                ),
            ));
        }
        let how = match pidfd {
            Some(fd) if sys::has_pidfd_setns() => How::Pidfd(fd),
            pidfd => {
                let mut files = Vec::new();
                for kind in set.iter() {
                    let fd = open_ro(&format!("/proc/{pid}/ns/{}", kind.proc_name()))
                        .map_err(|e| ns_file_error(op, pid, kind, e))?;
                    files.push((kind, fd));
                }
                // Opened while the process still ran: they are its.
                if let Some(p) = &pidfd {
                    if !pidfd_alive(p) {
                        return Err(exited(op, pid));
                    }
                }
                How::Files(files)
            }
        };
        if let How::Pidfd(p) = &how {
            // The links read above belong to the process the pidfd holds
            // if it is still alive now (its pid cannot have been reused).
            if !pidfd_alive(p) {
                return Err(exited(op, pid));
            }
        }
        Ok(Target {
            what: format!("process {pid}"),
            ns: set,
            how,
        })
    }

    /// The namespace an nsfs file holds: /proc/PID/ns/KIND, a file made by
    /// persist(), or one under /run/netns made by `ip netns add`.
    pub fn of_path(op: &str, path: &str) -> Result<Target> {
        let fd = open_ro(path).map_err(|e| {
            let err = Error::sys(op, e);
            match e {
                Errno::ENOENT => {
                    err.hint("no such file; `ip netns list` and namespaces() show what exists")
                }
                _ => err,
            }
        })?;
        let not_nsfs = || {
            Error::invalid(op, format!("{path} is not a namespace file (nsfs)")).hint(
                "give /proc/PID/ns/KIND, a file made by persist(), or /run/netns/NAME from `ip netns add`",
            )
        };
        if !is_nsfs(&fd).op(op)? {
            return Err(not_nsfs());
        }
        let kind = kind_of(&fd).map_err(|_| not_nsfs())?;
        Ok(Target {
            what: path.to_string(),
            ns: [kind].into_iter().collect(),
            how: How::Files(vec![(kind, fd)]),
        })
    }

    /// The setns(2) calls of the join, in order.
    pub fn fds(&self) -> Vec<JoinFd> {
        match &self.how {
            How::Pidfd(fd) => vec![JoinFd {
                fd: fd.as_raw_fd(),
                nstype: plan::ns_bits(self.ns),
                what: trace::fd_path(fd.as_raw_fd()),
            }],
            How::Files(files) => files
                .iter()
                .map(|(kind, fd)| JoinFd {
                    fd: fd.as_raw_fd(),
                    nstype: plan::ns_bits([*kind].into_iter().collect()),
                    what: trace::fd_path(fd.as_raw_fd()),
                })
                .collect(),
        }
    }
}

/// A hint for a failed join, by errno.
pub fn join_hint(e: Error, errno: Errno) -> Error {
    match errno {
        Errno::EPERM => e.hint(
            "joining needs CAP_SYS_ADMIN over the target's namespaces: add \"user\" when its user namespace is yours, or run as root",
        ),
        Errno::EINVAL => e.hint(
            "the kernel refused: a pid namespace can be joined only if it is ours or below it, a user namespace only from a single-threaded process that is not already in it",
        ),
        Errno::ESRCH => e.hint("the process exited before the join"),
        _ => e,
    }
}

/// Joins the namespaces of `t` with the interpreter itself, then (with a
/// user namespace) takes uid and gid 0 there when they are mapped.
///
/// Joining "pid" changes only where later children go (the interpreter
/// keeps its pid); joining "mount" moves / and the cwd to that
/// namespace's root.
pub fn setns(op: &str, t: &Target) -> Result<()> {
    if t.ns.contains(Namespace::User) {
        sys::check_single_threaded(op)?;
    }
    let plan = Plan::in_process(plan::join_ops(t), false);
    super::process::child::run_here(&plan).map_err(|f| {
        let e = plan.error(op, f.op, f.aux, f.errno);
        join_hint(e, f.errno)
    })?;
    if t.ns.contains(Namespace::Pid) {
        super::set_children_join_others(true);
    }
    Ok(())
}

/// Every namespace of a process, as readlink shows them:
/// `[(Uts, "uts:[4026531838]"), ...]`. Kinds this kernel lacks are left out.
pub fn ns_of(op: &str, pid: i64) -> Result<Vec<(Namespace, String)>> {
    let pid = check_pid(op, pid)?;
    let mut out = Vec::new();
    for kind in Namespace::ALL {
        match readlink(&format!("/proc/{pid}/ns/{}", kind.proc_name())) {
            Ok(l) => out.push((kind, l)),
            Err(Errno::ENOENT)
                if Path::new(&format!("/proc/{pid}")).exists() && !is_zombie(pid) => {}
            Err(e) => return Err(ns_file_error(op, pid, kind, e)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_namespace_files_are_nsfs_of_their_kind() {
        let fd = open_ro("/proc/self/ns/uts").unwrap();
        assert!(is_nsfs(&fd).unwrap());
        assert_eq!(kind_of(&fd).unwrap(), Namespace::Uts);
        let fd = open_ro("/proc/self/ns/mnt").unwrap();
        assert_eq!(kind_of(&fd).unwrap(), Namespace::Mount);
    }

    #[test]
    fn a_plain_file_is_not_a_namespace() {
        let e = Target::of_path("setns", "/proc/self/status").unwrap_err();
        assert!(e.detail.contains("not a namespace file"), "{e}");
        assert_eq!(e.errno, Some(Errno::EINVAL));
        let e = Target::of_path("setns", "/nonexistent/x").unwrap_err();
        assert_eq!(e.errno, Some(Errno::ENOENT));
    }

    #[test]
    fn joining_our_own_namespaces_is_refused() {
        let me = std::process::id() as i64;
        let uts: NsSet = [Namespace::Uts].into_iter().collect();
        let e = Target::of_pid("setns", me, uts, false).unwrap_err();
        assert!(e.detail.contains("no uts namespace of its own"), "{e}");
        let e = Target::of_pid("setns", me, NsSet::empty(), true).unwrap_err();
        assert!(e.detail.contains("nothing to join"), "{e}");
    }

    #[test]
    fn bad_pids_are_clear() {
        let uts: NsSet = [Namespace::Uts].into_iter().collect();
        assert_eq!(
            Target::of_pid("setns", 0, uts, false).unwrap_err().errno,
            Some(Errno::EINVAL)
        );
        let e = Target::of_pid("setns", i32::MAX as i64, uts, false).unwrap_err();
        assert_eq!(e.errno, Some(Errno::ESRCH), "{e}");
    }

    #[test]
    fn ns_of_self_lists_every_kind_with_its_link() {
        let v = ns_of("ns_of", std::process::id() as i64).unwrap();
        let uts = v.iter().find(|(k, _)| *k == Namespace::Uts).unwrap();
        assert!(uts.1.starts_with("uts:["), "{uts:?}");
        assert!(v
            .iter()
            .any(|(k, l)| *k == Namespace::Mount && l.starts_with("mnt:[")));
    }

    #[test]
    fn a_path_target_joins_with_one_setns_of_its_kind() {
        let t = Target::of_path("setns", "/proc/self/ns/uts").expect("target");
        let f = t.fds();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].nstype, libc::CLONE_NEWUTS as u64);
        assert!(f[0].what.starts_with("uts:["), "{}", f[0].what);
    }
}
