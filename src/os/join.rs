//! Leaving, joining and keeping namespaces: unshare(2) and setns(2) for the
//! interpreter itself, a join done by a spawned child before exec (`enter`,
//! like `nsenter --target PID`), and keeping a namespace alive with a bind
//! mount of its nsfs file (`persist`, like `ip netns add` or
//! `unshare --net=FILE`).
//!
//! Kernel rules followed here (namespaces(7), unshare(2), setns(2)):
//! - unshare(CLONE_NEWUSER) and joining a user namespace fail with EINVAL in
//!   a multi-threaded process: nsscript has a single thread.
//! - unshare(CLONE_NEWPID) and setns(CLONE_NEWPID) move only the caller's
//!   later children; the caller keeps its own pid namespace.
//! - A new mount namespace copies the propagation of the old one, so / is
//!   made private before anything else can mount, as spawn does.
//! - Joining several kinds: user first (it grants the capabilities the
//!   other joins check), mount last (it resets / and the cwd).

use super::idmap::{self, IdRange, SetGroups};
use super::ns::{Namespace, NsSet};
use super::spawn::{Propagation, Spec};
use super::{Context, Error, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::MsFlags;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{pipe2, Pid};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

/// statfs(2) f_type of the nsfs filesystem (linux/magic.h).
const NSFS_MAGIC: i64 = 0x6e73_6673;
/// ioctl(2) requests on an nsfs file (linux/nsfs.h): `_IO(0xb7, n)`.
const NS_GET_USERNS: libc::c_ulong = 0xb701;
const NS_GET_PARENT: libc::c_ulong = 0xb702;
const NS_GET_NSTYPE: libc::c_ulong = 0xb703;

// ---------------------------------------------------------------------
// Small kernel helpers
// ---------------------------------------------------------------------

/// pidfd_open(2): a handle on the process itself rather than on its
/// number, so a pid reused after the process exits cannot redirect what
/// follows. None on kernels before 5.3.
fn pidfd_open(pid: i32) -> std::result::Result<Option<OwnedFd>, Errno> {
    // SAFETY: plain syscall; the fd it returns is ours (and CLOEXEC).
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0u32) };
    if r < 0 {
        return match Errno::last() {
            Errno::ENOSYS => Ok(None),
            e => Err(e),
        };
    }
    // SAFETY: a fresh fd from the kernel.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(r as RawFd) }))
}

/// Is the process behind a pidfd still running (signal 0 through it)?
fn pidfd_alive(fd: &OwnedFd) -> bool {
    // SAFETY: pidfd_send_signal with signal 0 only checks.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            0,
            std::ptr::null::<u8>(),
            0u32,
        )
    };
    r == 0 || Errno::last() == Errno::EPERM
}

/// setns(2) takes a pidfd and several CLONE_NEW* flags at once since
/// Linux 5.8; before that only one nsfs fd per call.
fn pidfd_setns_supported() -> bool {
    let Ok(u) = nix::sys::utsname::uname() else {
        return false;
    };
    let release = u.release().to_string_lossy().into_owned();
    let mut it = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let (major, minor) = (it.next().unwrap_or(0), it.next().unwrap_or(0));
    (major, minor) >= (5, 8)
}

fn open_ro(path: &str) -> std::result::Result<OwnedFd, Errno> {
    nix::fcntl::open(
        path,
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
}

/// Is this fd a file of the nsfs filesystem (/proc/PID/ns/*, or a bind
/// mount of one)?
fn is_nsfs(fd: &impl AsFd) -> std::result::Result<bool, Errno> {
    // SAFETY: fstatfs fills a zeroed struct we own.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatfs(fd.as_fd().as_raw_fd(), &mut st) } < 0 {
        return Err(Errno::last());
    }
    Ok(st.f_type as i64 == NSFS_MAGIC)
}

/// The inode of the namespace an ioctl on `fd` returns (NS_GET_USERNS,
/// NS_GET_PARENT): the owning user namespace, or the parent pid/user
/// namespace. None where the kernel refuses (EPERM: it is outside our
/// view; EINVAL: the kind has no parent).
pub(crate) fn related_ns(fd: &impl AsFd, request: libc::c_ulong) -> Option<u64> {
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

fn check_pid(op: &str, pid: i64) -> Result<i32> {
    i32::try_from(pid)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| Error::invalid(op, format!("{pid} is not a valid pid (1 to 2147483647)")))
}

fn no_process(op: &str, pid: i32) -> Error {
    Error::with_errno(op, Errno::ESRCH, format!("no process with pid {pid}"))
        .hint("pids are those of the pid namespace nsscript runs in; ps or namespaces() lists them")
}

fn exited(op: &str, pid: i32) -> Error {
    Error::with_errno(op, Errno::ESRCH, format!("process {pid} has exited"))
        .hint("a namespace can only be joined while a process is in it, or through a file that keeps it (persist)")
}

/// Is the process a zombie (exited, not yet reaped: no namespaces left)?
fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, r)| r.starts_with('Z')))
        .unwrap_or(false)
}

/// The error for a /proc/PID/ns/KIND that could not be read or opened.
fn ns_file_error(op: &str, pid: i32, kind: Namespace, e: Errno) -> Error {
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

fn readlink(path: &str) -> std::result::Result<String, Errno> {
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

// ---------------------------------------------------------------------
// Targets: what to join
// ---------------------------------------------------------------------

/// How a target's namespaces are joined.
#[derive(Debug)]
enum How {
    /// One setns(pidfd, flags) call: every kind at once, atomically, and
    /// the pidfd pins the process (Linux 5.8+).
    Pidfd(OwnedFd),
    /// One setns(fd, flag) per kind, in join order (user first). The fds
    /// are opened before any join, as nsenter does: after joining a mount
    /// namespace /proc may no longer show the target.
    Files(Vec<(Namespace, OwnedFd)>),
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
            Some(fd) if pidfd_setns_supported() => How::Pidfd(fd),
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

    /// The arguments of the setns call: "pidfd of process 42,
    /// CLONE_NEWUTS|CLONE_NEWNET", for traces and errors.
    pub fn describe(&self) -> String {
        match &self.how {
            How::Pidfd(_) => format!("pidfd of {}, {}", self.what, self.ns.flag_names()),
            How::Files(_) => format!("{}, {}", self.what, self.ns.flag_names()),
        }
    }

    /// Joins, then (with a user namespace) takes uid/gid 0 there when they
    /// are mapped, as nsenter does: a program exec'd with another uid would
    /// lose the capabilities the join gave. Safe between fork and exec (no
    /// path lookups); the error carries the failed call's arguments.
    pub fn join(&self) -> std::result::Result<(), (Errno, String)> {
        match &self.how {
            How::Pidfd(fd) => {
                nix::sched::setns(fd, self.ns.clone_flags()).map_err(|e| (e, self.describe()))?;
            }
            How::Files(files) => {
                for (kind, fd) in files {
                    nix::sched::setns(fd, kind.clone_flag()).map_err(|e| {
                        (e, format!("{}, {}", self.what_of(*kind), kind.flag_name()))
                    })?;
                }
            }
        }
        if self.ns.contains(Namespace::User) {
            become_root_inside()
                .map_err(|(e, call)| (e, format!("{}, then {call}", self.describe())))?;
        }
        Ok(())
    }

    fn what_of(&self, kind: Namespace) -> String {
        match self.what.strip_prefix("process ") {
            Some(pid) => format!("/proc/{pid}/ns/{}", kind.proc_name()),
            None => self.what.clone(),
        }
    }
}

/// In a user namespace just joined: uid and gid 0 when the namespace maps
/// them (EINVAL means it does not: keep the ids, unmapped ones show as the
/// overflow id 65534).
fn become_root_inside() -> std::result::Result<(), (Errno, &'static str)> {
    // setgroups is refused (EPERM) where the namespace denies it.
    // SAFETY: setgroups with an empty list.
    if unsafe { libc::setgroups(0, std::ptr::null()) } < 0 && Errno::last() != Errno::EPERM {
        return Err((Errno::last(), "setgroups([])"));
    }
    // SAFETY: plain id syscalls.
    if unsafe { libc::setresgid(0, 0, 0) } < 0 {
        match Errno::last() {
            Errno::EINVAL => return Ok(()),
            e => return Err((e, "setresgid(0)")),
        }
    }
    // SAFETY: as above.
    if unsafe { libc::setresuid(0, 0, 0) } < 0 {
        match Errno::last() {
            Errno::EINVAL => return Ok(()),
            e => return Err((e, "setresuid(0)")),
        }
    }
    Ok(())
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

/// Joins the namespaces of `t` with the interpreter itself.
///
/// Joining "pid" changes only where later children go (the interpreter
/// keeps its pid); joining "mount" moves / and the cwd to that
/// namespace's root.
pub fn setns(op: &str, t: &Target) -> Result<()> {
    t.join()
        .map_err(|(errno, args)| join_hint(Error::sys(format!("{op}({args})"), errno), errno))
}

/// In a child that joined a pid namespace (setns(CLONE_NEWPID) moves only
/// later children): fork once more. Returns in the new child, which is in
/// that pid namespace; this process stays outside, waits for it and exits
/// with its status (128+N for signal N), so whoever waits for this process
/// sees the command's status. If this process is killed, the kernel kills
/// the new child too (PR_SET_PDEATHSIG).
pub fn fork_into_pid_ns() -> std::result::Result<(), Errno> {
    // A pipe only this process keeps open tells the new child whether it
    // is still alive after setting PDEATHSIG (getppid() says nothing here:
    // the parent is outside the child's pid namespace and shows as 0).
    let (alive_r, alive_w) = pipe2(OFlag::O_CLOEXEC)?;
    // SAFETY: fork in a single-threaded process.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(Errno::last());
    }
    if pid == 0 {
        drop(alive_w);
        // SAFETY: plain prctl.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
        let mut fds = [nix::poll::PollFd::new(
            alive_r.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::ZERO);
        let gone = fds[0]
            .revents()
            .is_some_and(|r| r.contains(nix::poll::PollFlags::POLLHUP));
        if gone {
            // SAFETY: leaving a forked child.
            unsafe { libc::_exit(127) }
        }
        drop(alive_r);
        return Ok(());
    }
    // The relay keeps nothing but stdio and the liveness pipe: the report
    // pipe, the stdio pipes and the join fds belong to the new child.
    drop(alive_r);
    let w = alive_w.as_raw_fd() as u32;
    // SAFETY: closing fd ranges of this process, which only waits now.
    unsafe {
        if w > 3 {
            libc::syscall(libc::SYS_close_range, 3u32, w - 1, 0u32);
        }
        libc::syscall(libc::SYS_close_range, w + 1, u32::MAX, 0u32);
    }
    let code = loop {
        match waitpid(Pid::from_raw(pid), None) {
            Ok(WaitStatus::Exited(_, c)) => break c,
            Ok(WaitStatus::Signaled(_, sig, _)) => break 128 + sig as i32,
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(_) => break 127,
        }
    };
    // SAFETY: leaving the relay without running the parent's destructors.
    unsafe { libc::_exit(code) }
}

/// After unshare(CLONE_NEWTIME) only later children are in the new time
/// namespace; a single-threaded process moves itself there with setns on
/// its own /proc/self/ns/time_for_children (Linux 5.8+). The offsets must
/// have been written before: they are frozen once a process is inside.
pub fn enter_own_time_ns() -> std::result::Result<(), Errno> {
    let fd = open_ro("/proc/self/ns/time_for_children")?;
    nix::sched::setns(fd, Namespace::Time.clone_flag())
}

// ---------------------------------------------------------------------
// unshare for the interpreter
// ---------------------------------------------------------------------

/// Checks what `unshare` was asked for before anything changes: once
/// unshared, the interpreter cannot go back.
fn check_unshare(op: &str, spec: &Spec) -> Result<()> {
    let has = |n| spec.ns.contains(n);
    let need = |what: &str, kind: Namespace| {
        Error::invalid(op, format!("{what} needs a new {} namespace", kind.name()))
            .hint(format!("add \"{}\" to the kinds", kind.name()))
    };
    if spec.ns.is_empty() {
        return Err(Error::invalid(
            op,
            "no namespace kinds given; name some, like [\"uts\"] or [\"user\", \"net\"]",
        ));
    }
    if (spec.uid_map.is_some() || spec.gid_map.is_some() || spec.setgroups.is_some())
        && !has(Namespace::User)
    {
        return Err(need("uid_map, gid_map and setgroups", Namespace::User));
    }
    if spec.hostname.is_some() && !has(Namespace::Uts) {
        return Err(need("hostname", Namespace::Uts));
    }
    if spec.domainname.is_some() && !has(Namespace::Uts) {
        return Err(need("domainname", Namespace::Uts));
    }
    if spec.propagation != Propagation::Private && !has(Namespace::Mount) {
        return Err(need("propagation", Namespace::Mount));
    }
    if spec.time_offsets.is_some() && !has(Namespace::Time) {
        return Err(need("time_offsets", Namespace::Time));
    }
    for (what, name) in [
        ("hostname", &spec.hostname),
        ("domainname", &spec.domainname),
    ] {
        if let Some(n) = name {
            super::uts::check_name(op, what, n)?;
        }
    }
    // Without CAP_SETUID/CAP_SETGID a map may only be the writer's own id,
    // once (user_namespaces(7)). Refuse other maps now rather than after
    // the unshare, which cannot be undone.
    let own_only = |m: &[IdRange], id: u32| m.len() == 1 && m[0].outside == id && m[0].count == 1;
    if super::ident::euid() != 0 {
        for (which, map, id) in [
            ("uid_map", &spec.uid_map, super::ident::euid()),
            ("gid_map", &spec.gid_map, super::ident::egid()),
        ] {
            if let Some(m) = map {
                idmap::validate(&format!("{op}: {which}"), m)?;
                if !own_only(m, id) {
                    return Err(Error::with_errno(
                        format!("{op}: {which}"),
                        Errno::EPERM,
                        format!("without root, a {which} may only map your own id {id}, once"),
                    )
                    .hint(format!(
                        "use map_root: true, or [#{{inside: 0, outside: {id}, count: 1}}]"
                    )));
                }
            }
        }
        if spec.gid_map.is_some() && spec.setgroups == Some(SetGroups::Allow) {
            return Err(Error::with_errno(
                format!("{op}: gid_map"),
                Errno::EPERM,
                "without root, gid_map can only be written once setgroups is denied",
            )
            .hint("leave setgroups at \"deny\""));
        }
    }
    for m in [&spec.uid_map, &spec.gid_map].into_iter().flatten() {
        idmap::validate(op, m)?;
    }
    Ok(())
}

/// A forked helper that writes the interpreter's uid_map/gid_map after it
/// has unshared its user namespace. The maps must be written from the
/// parent user namespace to hold more than one's own id (the writer needs
/// CAP_SETUID there), and a process inside the new namespace has
/// capabilities only inside it. So, like spawn, a process that stayed
/// outside writes them: the helper is forked before the unshare.
struct MapWriter {
    pid: i32,
    go: Option<OwnedFd>,
    result: OwnedFd,
}

impl MapWriter {
    fn start(
        uid_map: Option<Vec<IdRange>>,
        gid_map: Option<Vec<IdRange>>,
        setgroups: SetGroups,
    ) -> Result<MapWriter> {
        let op = "unshare: map writer";
        let (go_r, go_w) = pipe2(OFlag::O_CLOEXEC).op(op)?;
        let (res_r, res_w) = pipe2(OFlag::O_CLOEXEC).op(op)?;
        let target = super::ident::pid();
        use std::io::Write;
        let _ = std::io::stdout().flush();
        // SAFETY: fork in a single-threaded process.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(Error::sys(format!("{op}: fork"), Errno::last()));
        }
        if pid == 0 {
            drop(go_w);
            drop(res_r);
            // SAFETY: plain prctl; then one byte from the parent, or EOF
            // when it gave up.
            unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
            let mut b = [0u8; 1];
            let go = loop {
                match nix::unistd::read(&go_r, &mut b) {
                    Ok(1) => break true,
                    Err(Errno::EINTR) => continue,
                    _ => break false,
                }
            };
            if go {
                let r =
                    idmap::write_maps(target, uid_map.as_deref(), gid_map.as_deref(), setgroups);
                if let Err(e) = r {
                    let text = format!(
                        "{}\0{}\0{}\0{}",
                        e.errno.map(|e| e as i32).unwrap_or(0),
                        e.op.replacen("spawn", "unshare", 1),
                        e.detail,
                        e.hint.unwrap_or_default()
                    );
                    let _ = nix::unistd::write(&res_w, text.as_bytes());
                }
            }
            // SAFETY: leaving the forked helper.
            unsafe { libc::_exit(0) }
        }
        drop(go_r);
        drop(res_w);
        Ok(MapWriter {
            pid,
            go: Some(go_w),
            result: res_r,
        })
    }

    /// Lets the helper write the maps and returns what it reported.
    fn finish(mut self) -> Result<()> {
        let op = "unshare: write maps";
        if let Some(go) = self.go.take() {
            nix::unistd::write(&go, b"g").op(op)?;
        }
        let mut text = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            match nix::unistd::read(&self.result, &mut buf) {
                Ok(0) => break,
                Ok(n) => text.extend_from_slice(&buf[..n]),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(Error::sys(op, e)),
            }
        }
        self.reap();
        if text.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&text).into_owned();
        let mut f = text.split('\0');
        let errno = f.next().and_then(|n| n.parse::<i32>().ok()).unwrap_or(0);
        let mut e = Error::with_errno(
            f.next().unwrap_or(op),
            Errno::from_raw(errno),
            f.next().unwrap_or(""),
        );
        if let Some(h) = f.next().filter(|h| !h.is_empty()) {
            e = e.hint(h);
        }
        Err(e)
    }

    fn reap(&mut self) {
        if self.pid > 0 {
            while let Err(Errno::EINTR) = waitpid(Pid::from_raw(self.pid), None) {}
            self.pid = 0;
        }
    }
}

impl Drop for MapWriter {
    /// Unused (the unshare failed): EOF on "go" ends the helper; reap it.
    fn drop(&mut self) {
        self.go = None;
        self.reap();
    }
}

fn unshare_error(op: &str, e: Errno, ns: NsSet) -> Error {
    let err = Error::sys(format!("{op}: unshare({})", ns.flag_names()), e);
    if let Some(h) = super::doctor::hint_for(super::doctor::Op::Unshare, e, ns) {
        return err.hint(h);
    }
    match e {
        Errno::EPERM if !ns.contains(Namespace::User) && super::ident::euid() != 0 => err.hint(
            "new namespaces need CAP_SYS_ADMIN: add \"user\" to the kinds (a new user namespace gives its creator those capabilities), or run as root",
        ),
        Errno::EPERM => err.hint("unprivileged user namespaces are disabled here, or a security policy forbids this"),
        Errno::EINVAL if ns.contains(Namespace::User) => err.hint(
            "a user namespace cannot be unshared by a multi-threaded or chrooted process",
        ),
        Errno::ENOSPC => err.hint("a namespace limit was reached (/proc/sys/user/max_*_namespaces)"),
        Errno::EUSERS => err.hint("user namespaces nest at most 32 deep"),
        _ => err,
    }
}

/// unshare(2) for the interpreter itself, then the setup a spawned child
/// would get, in the kernel's order: maps (setgroups first), / made
/// private, time offsets, hostname.
///
/// For "pid" only later children are in the new namespace (the first one
/// spawned is its pid 1; once that one exits, no more can be started
/// there). For "time" the interpreter moves itself in with setns on its
/// time_for_children once the offsets are written.
pub fn unshare(op: &str, spec: &Spec) -> Result<()> {
    check_unshare(op, spec)?;
    let user = spec.ns.contains(Namespace::User);
    let setgroups = spec.setgroups.unwrap_or(SetGroups::Deny);
    let maps = spec.uid_map.is_some() || spec.gid_map.is_some();
    let writer = if user && maps {
        Some(MapWriter::start(
            spec.uid_map.clone(),
            spec.gid_map.clone(),
            setgroups,
        )?)
    } else {
        None
    };
    // One call: the kernel creates the user namespace first and makes it
    // the owner of the others.
    nix::sched::unshare(spec.ns.clone_flags()).map_err(|e| unshare_error(op, e, spec.ns))?;
    if let Some(w) = writer {
        w.finish()?;
    } else if user && setgroups == SetGroups::Deny {
        // No maps: still deny setgroups, as spawn does for a new user
        // namespace (allowed from inside: we have CAP_SYS_ADMIN there).
        std::fs::write("/proc/self/setgroups", "deny")
            .op(&format!("{op}: write /proc/self/setgroups"))?;
    }
    if spec.ns.contains(Namespace::Mount) {
        // Before anything can mount: stop propagation to the host.
        spec.propagation
            .apply_to_root()
            .map_err(|(e, f)| Error::sys(format!("{op}: mount(none, /, {f}|MS_REC)"), e))?;
    }
    if spec.ns.contains(Namespace::Time) {
        if let Some(t) = spec.time_offsets {
            let text = format!("monotonic {} 0\nboottime {} 0\n", t.monotonic, t.boottime);
            // One write: the kernel parses the whole file at once.
            std::fs::write("/proc/self/timens_offsets", text)
                .op(&format!("{op}: write /proc/self/timens_offsets"))?;
        }
        enter_own_time_ns().op(&format!("{op}: setns(time_for_children, CLONE_NEWTIME)"))?;
    }
    if let Some(h) = &spec.hostname {
        super::uts::set_hostname(h)?;
    }
    if let Some(d) = &spec.domainname {
        super::uts::set_domainname(d)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------
// A forked copy of the interpreter in new namespaces (in_ns)
// ---------------------------------------------------------------------

/// Which side of `fork_in` this is.
pub enum InChild {
    /// The parent: wait for the child's result with `Returning::result`.
    Parent(Returning),
    /// The child, in its namespaces: send the result, then `exit`.
    Child(ResultSender),
}

/// The parent's side: the child and the pipe its result comes back on.
pub struct Returning {
    child: super::spawn::Child,
    result: OwnedFd,
}

/// The child's side: the write end of the result pipe.
pub struct ResultSender {
    fd: OwnedFd,
}

/// Forks the interpreter into the namespaces `spec` asks for, with spawn's
/// handshake and setup (maps written from outside, / made private, /proc,
/// hostname, time offsets, cwd). The child must end with
/// `ResultSender::exit`: it shares nothing with the parent but the pipe.
pub fn fork_in(spec: &Spec) -> Result<InChild> {
    // CLOEXEC: a program the child starts never holds the pipe open.
    let (r, w) = pipe2(OFlag::O_CLOEXEC).op("in_ns: pipe")?;
    use std::io::Write;
    let _ = std::io::stderr().flush();
    match super::spawn::fork(spec)? {
        super::spawn::Forked::Parent(child) => {
            drop(w);
            Ok(InChild::Parent(Returning { child, result: r }))
        }
        super::spawn::Forked::Child => {
            drop(r);
            Ok(InChild::Child(ResultSender { fd: w }))
        }
    }
}

impl Returning {
    /// Everything the child sent, and its exit code once it is reaped. If
    /// `interrupted` says so while waiting, the child is killed and reaped
    /// and the result is an EINTR error. Dropping `self` early kills and
    /// reaps the child as well: none is ever left behind.
    pub fn result(mut self, interrupted: &dyn Fn() -> bool) -> Result<(Vec<u8>, i32)> {
        let mut bytes = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match nix::unistd::read(&self.result, &mut buf) {
                Ok(0) => break,
                Ok(n) => bytes.extend_from_slice(&buf[..n]),
                Err(Errno::EINTR) => {
                    if interrupted() {
                        self.child.kill_and_reap();
                        return Err(Error::with_errno(
                            "in_ns",
                            Errno::EINTR,
                            format!("interrupted; process {} was killed", self.child.pid),
                        ));
                    }
                }
                Err(e) => return Err(Error::sys("in_ns: read the result", e)),
            }
        }
        let code = self.child.wait(None, interrupted)?;
        Ok((bytes, code))
    }
}

impl ResultSender {
    /// Sends the result (all of it, whatever its size).
    pub fn send(&self, bytes: &[u8]) -> std::result::Result<(), Errno> {
        let mut off = 0;
        while off < bytes.len() {
            match nix::unistd::write(&self.fd, &bytes[off..]) {
                Ok(n) => off += n,
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Ends the child: flushes stdout and stderr (so what it printed comes
    /// before what the parent prints next) and leaves with `_exit`, without
    /// running destructors that belong to the parent's state.
    pub fn exit(self, code: i32) -> ! {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        drop(self.fd);
        // SAFETY: leaving the forked child.
        unsafe { libc::_exit(code) }
    }
}

// ---------------------------------------------------------------------
// Inspecting one process
// ---------------------------------------------------------------------

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

// ---------------------------------------------------------------------
// persist / unpersist
// ---------------------------------------------------------------------

const NETNS_DIR: &str = "/run/netns";

/// What `ip netns add` does before its first bind mount: make /run/netns a
/// mount point (a bind of itself) with shared propagation, so that a later
/// `ip netns delete` in any mount namespace frees the namespace everywhere.
/// Like ip, the mount point stays afterwards.
fn share_netns_dir(op: &str) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(NETNS_DIR)
        .op(&format!("{op}: mkdir {NETNS_DIR}"))?;
    let share = || {
        nix::mount::mount(
            None::<&str>,
            NETNS_DIR,
            Some("none"),
            MsFlags::MS_SHARED | MsFlags::MS_REC,
            None::<&str>,
        )
    };
    match share() {
        Ok(()) => Ok(()),
        // Not a mount point yet: bind it onto itself, then share it.
        Err(Errno::EINVAL) => {
            nix::mount::mount(
                Some(NETNS_DIR),
                NETNS_DIR,
                Some("none"),
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .op(&format!("{op}: mount --bind {NETNS_DIR} {NETNS_DIR}"))?;
            share().op(&format!("{op}: mount --make-rshared {NETNS_DIR}"))
        }
        Err(e) => Err(Error::sys(
            format!("{op}: mount --make-rshared {NETNS_DIR}"),
            e,
        )),
    }
}

fn statfs_is_nsfs(path: &str) -> std::result::Result<bool, Errno> {
    let fd = nix::fcntl::open(
        path,
        OFlag::O_PATH | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )?;
    is_nsfs(&fd)
}

/// A pidfd for a process that exists and has not exited (None where the
/// kernel has no pidfd_open), opened first: whatever is read from
/// /proc/PID afterwards is checked against it.
fn live_pidfd(op: &str, pid: i32) -> Result<Option<OwnedFd>> {
    let pidfd = match pidfd_open(pid) {
        Ok(fd) => fd,
        Err(Errno::ESRCH) => return Err(no_process(op, pid)),
        Err(e) => return Err(Error::sys(format!("{op}: pidfd_open({pid})"), e)),
    };
    if is_zombie(pid) {
        return Err(exited(op, pid));
    }
    Ok(pidfd)
}

/// Keeps the namespace of `kind` of process `pid` alive after its
/// processes exit: bind-mounts its nsfs file onto `path` (an empty file,
/// created if missing), like `ip netns add` or `unshare --net=FILE`.
/// Returns its id ("net:[4026532...]").
///
/// The bind mount is made in the interpreter's mount namespace: the
/// host's unless it has left it. Under /run/netns the directory is
/// prepared as `ip netns add` does, so `ip netns list/exec/delete` see it.
pub fn persist(op: &str, pid: i64, kind: Namespace, path: &str) -> Result<String> {
    let pid = check_pid(op, pid)?;
    if path.is_empty() {
        return Err(Error::invalid(op, "the path is empty"));
    }
    let pidfd = live_pidfd(op, pid)?;
    let ns = open_ro(&format!("/proc/{pid}/ns/{}", kind.proc_name()))
        .map_err(|e| ns_file_error(op, pid, kind, e))?;
    if let Some(p) = &pidfd {
        if !pidfd_alive(p) {
            return Err(exited(op, pid));
        }
    }
    let src = format!("/proc/self/fd/{}", ns.as_raw_fd());
    let id = readlink(&src).map_err(|e| Error::sys(op, e))?;

    if Path::new(path).parent() == Some(Path::new(NETNS_DIR)) {
        share_netns_dir(op)?;
    }
    let created = match std::fs::symlink_metadata(path) {
        Ok(m) if !m.file_type().is_file() => {
            return Err(Error::invalid(
                op,
                format!("{path} exists and is not a regular file"),
            ))
        }
        Ok(_) => {
            if statfs_is_nsfs(path) == Ok(true) {
                return Err(Error::with_errno(
                    op,
                    Errno::EBUSY,
                    format!("{path} already holds a namespace"),
                )
                .hint("unpersist it first, or choose another path"));
            }
            false
        }
        Err(_) => {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o444)
                .open(path)
                .map_err(|e| {
                    let err = Error::io(format!("{op}: create {path}"), &e);
                    if e.kind() == std::io::ErrorKind::NotFound {
                        err.hint("its directory does not exist")
                    } else {
                        err
                    }
                })?;
            true
        }
    };
    let r = nix::mount::mount(
        Some(src.as_str()),
        path,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    );
    if let Err(e) = r {
        if created {
            let _ = std::fs::remove_file(path);
        }
        let err = Error::sys(format!("{op}: mount --bind {id} {path}"), e);
        return Err(match e {
            Errno::EPERM => err.hint("bind mounts need CAP_SYS_ADMIN (root)"),
            Errno::EINVAL if kind == Namespace::Mount => err.hint(
                "a mount namespace can only be kept from outside it (in an older mount namespace), on a mount that is not shared",
            ),
            _ => err,
        });
    }
    Ok(id)
}

/// Releases a namespace kept by `persist` (or `ip netns add`): unmounts
/// the nsfs bind mount and removes the file. The namespace ends when no
/// process and no other file holds it any more.
pub fn unpersist(op: &str, path: &str) -> Result<()> {
    match statfs_is_nsfs(path) {
        Ok(true) => {}
        Ok(false) => {
            return Err(Error::invalid(
                op,
                format!("{path} does not hold a namespace (not an nsfs bind mount)"),
            )
            .hint("only files made by persist() or `ip netns add` can be released"))
        }
        Err(e) => return Err(Error::sys(op, e)),
    }
    nix::mount::umount2(path, nix::mount::MntFlags::MNT_DETACH).map_err(|e| {
        let err = Error::sys(format!("{op}: umount {path}"), e);
        match e {
            Errno::EINVAL => err.hint(format!(
                "{path} is not a mount point: only files made by persist() can be released"
            )),
            Errno::EPERM => err.hint("unmounting needs CAP_SYS_ADMIN (root)"),
            _ => err,
        }
    })?;
    std::fs::remove_file(path).op(&format!("{op}: remove {path}"))
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
    fn kernel_version_parse_is_sane() {
        // This crate targets Linux 6.x (see DESIGN.md).
        assert!(pidfd_setns_supported());
    }
}
