//! What this machine allows, found by trying (`nsscript --doctor`,
//! `doctor()`), and the same knowledge for errors (`hint_for`).
//!
//! Each namespace kind is created in a forked copy of the interpreter: as
//! root with unshare(2) alone, and as an unprivileged user (uid 65534 when
//! nsscript runs as root, else the user itself) together with a new user
//! namespace whose uid_map it then writes, because on some systems
//! (Ubuntu's AppArmor restriction) the unshare succeeds and only the map
//! write fails. The copy exits at once, so the namespaces die with it; no
//! process, mount or namespace is left behind, and nothing is written
//! outside the copy's own new user namespace.
//!
//! The settings that block namespaces are read where the kernel keeps
//! them (/proc/sys, /sys/module), never written. A "no" names the setting
//! responsible with its current value, and a fix.

use super::mount::{self, MountInfo};
use super::ns::{Namespace, NsSet};
use super::{errno_name, ident};
use nix::errno::Errno;
use serde_json::{json, Map as JsonMap, Value};
use std::fmt::Write as _;

/// The kernel operation that failed, for `hint_for`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// clone(2)/clone3(2) with CLONE_NEW* flags.
    Clone,
    /// unshare(2).
    Unshare,
    /// A write to /proc/PID/uid_map or gid_map.
    MapWrite,
}

/// The unprivileged user the doctor tries as, when it runs as root.
pub const NOBODY: u32 = 65534;

/// Debian's switch for unprivileged user namespaces (0: root only).
const UNPRIVILEGED_CLONE: &str = "kernel.unprivileged_userns_clone";
/// Ubuntu's (23.10+) AppArmor restriction: unprivileged user namespaces
/// are created without capabilities.
const APPARMOR_RESTRICT: &str = "kernel.apparmor_restrict_unprivileged_userns";
/// RHEL 7's boot switch for user namespaces ("Y"/"N").
const MODULE_ENABLE: &str = "/sys/module/user_namespace/parameters/enable";

/// A sysctl's value by its name (`user.max_user_namespaces`), read from
/// /proc/sys; None when this kernel has no such setting.
pub fn sysctl(name: &str) -> Option<String> {
    read_trimmed(&format!("/proc/sys/{}", name.replace('.', "/")))
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// The sysctl that limits namespaces of one kind, per user, in each user
/// namespace (`user.max_net_namespaces`).
pub fn limit_name(kind: Namespace) -> String {
    format!("user.max_{}_namespaces", kind.proc_name())
}

fn limit(kind: Namespace) -> Option<u64> {
    sysctl(&limit_name(kind)).and_then(|v| v.parse().ok())
}

/// Why the kernel said no, as far as this machine's settings tell, and
/// what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Why {
    pub cause: String,
    pub fix: String,
}

fn why(cause: impl Into<String>, fix: impl Into<String>) -> Option<Why> {
    Some(Why {
        cause: cause.into(),
        fix: fix.into(),
    })
}

/// The setting or rule responsible for `errno` from `op` on namespaces
/// `kinds`, read from this machine now; None when nothing here explains it
/// better than the errno. `privileged`: the caller is root (has
/// CAP_SYS_ADMIN in its user namespace).
pub fn explain(op: Op, errno: Errno, kinds: NsSet, privileged: bool) -> Option<Why> {
    let user = kinds.contains(Namespace::User);
    match (op, errno) {
        (Op::Clone | Op::Unshare, Errno::ENOSPC) => explain_enospc(kinds),
        (Op::Clone | Op::Unshare, Errno::EINVAL) => explain_missing(kinds),
        (Op::Clone | Op::Unshare, Errno::EPERM) if user && !privileged => {
            if sysctl(UNPRIVILEGED_CLONE).as_deref() == Some("0") {
                return why(
                    format!("{UNPRIVILEGED_CLONE} is 0: only a privileged process may create a user namespace"),
                    format!("as root: sysctl -w {UNPRIVILEGED_CLONE}=1; or run as root"),
                );
            }
            if let Some(v) = read_trimmed(MODULE_ENABLE).filter(|v| v == "N" || v == "0") {
                return why(
                    format!("user namespaces are turned off at boot ({MODULE_ENABLE} is {v})"),
                    "boot with user_namespace.enable=1 on the kernel command line; or run as root",
                );
            }
            if sysctl(APPARMOR_RESTRICT).as_deref() == Some("1") && kinds.iter().count() > 1 {
                return why(
                    format!("{APPARMOR_RESTRICT} is 1: a new user namespace gets no capabilities, so the other namespaces cannot be created in it"),
                    apparmor_fix(),
                );
            }
            None
        }
        (Op::Clone | Op::Unshare, Errno::EPERM) if privileged => why(
            "the kernel refused although this process is root in its user namespace: a seccomp filter (a container runtime's), an SELinux or AppArmor policy, or a chroot forbids it",
            "run on the host, or in a container allowed to create namespaces",
        ),
        (Op::MapWrite, Errno::EPERM)
            if !privileged && sysctl(APPARMOR_RESTRICT).as_deref() == Some("1") =>
        {
            why(
                format!("{APPARMOR_RESTRICT} is 1: the new user namespace was created without capabilities, so its uid_map cannot be written"),
                apparmor_fix(),
            )
        }
        _ => None,
    }
}

fn apparmor_fix() -> String {
    format!("as root: sysctl -w {APPARMOR_RESTRICT}=0, or load an AppArmor profile for nsscript that allows userns; or run as root")
}

/// ENOSPC: a per-user limit (zero here, or reached), or the nesting depth.
fn explain_enospc(kinds: NsSet) -> Option<Why> {
    for k in kinds.iter() {
        if limit(k) == Some(0) {
            let name = limit_name(k);
            return why(
                format!(
                    "{name} is 0 in this user namespace (/proc/sys/{}): no {k} namespace may be created here, not even by root",
                    name.replace('.', "/")
                ),
                format!("raise it (sysctl -w {name}=N as root of the user namespace that owns the limit), or run from a user namespace where it is not 0"),
            );
        }
    }
    if kinds.contains(Namespace::Pid) {
        let depth = read_trimmed("/proc/self/status")
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("NSpid:"))
                    .map(|v| v.split_whitespace().count())
            })
            .unwrap_or(0);
        if depth >= 32 {
            return why(
                format!("pid namespaces nest at most 32 deep, and this process is {depth} levels down (NSpid in /proc/self/status)"),
                "create the namespace from a process higher up",
            );
        }
    }
    let values: Vec<String> = kinds
        .iter()
        .map(|k| match limit(k) {
            Some(v) => format!("{}={v}", limit_name(k)),
            None => format!("{} (unreadable)", limit_name(k)),
        })
        .collect();
    why(
        format!(
            "a namespace limit was reached: {} here, counted per user in this user namespace and in each one above it; or namespaces of one kind already nest 32 deep",
            values.join(", ")
        ),
        "end processes that hold namespaces, or raise the limit (sysctl -w user.max_KIND_namespaces=N as root)",
    )
}

/// EINVAL from clone/unshare: a kind this kernel was built without.
fn explain_missing(kinds: NsSet) -> Option<Why> {
    if std::fs::metadata("/proc/self/ns").is_err() {
        return None;
    }
    let missing: Vec<Namespace> = kinds.iter().filter(|k| !supported(*k)).collect();
    let first = missing.first()?;
    let names: Vec<&str> = missing.iter().map(|k| k.name()).collect();
    let since = if missing.contains(&Namespace::Time) {
        " (time namespaces came with Linux 5.6)"
    } else {
        ""
    };
    why(
        format!(
            "this kernel has no {} namespaces: /proc/self/ns/{} is missing{since}",
            names.join(", "),
            first.proc_name()
        ),
        format!(
            "use a kernel built with {}, or leave {} out",
            config_name(*first),
            names.join(", ")
        ),
    )
}

/// Whether the kernel has namespaces of this kind at all.
fn supported(kind: Namespace) -> bool {
    std::fs::symlink_metadata(format!("/proc/self/ns/{}", kind.proc_name())).is_ok()
}

fn config_name(kind: Namespace) -> &'static str {
    match kind {
        Namespace::User => "CONFIG_USER_NS",
        Namespace::Mount => "CONFIG_NAMESPACES",
        Namespace::Uts => "CONFIG_UTS_NS",
        Namespace::Ipc => "CONFIG_IPC_NS",
        Namespace::Pid => "CONFIG_PID_NS",
        Namespace::Net => "CONFIG_NET_NS",
        Namespace::Cgroup => "CONFIG_CGROUPS",
        Namespace::Time => "CONFIG_TIME_NS",
    }
}

/// A hint for a failed clone, unshare or map write that names the setting
/// responsible on this machine, with its current value; None when the
/// machine tells nothing more than the errno.
pub fn hint_for(op: Op, errno: Errno, kinds: NsSet) -> Option<String> {
    explain(op, errno, kinds, ident::euid() == 0).map(|w| format!("{}; {}", w.cause, w.fix))
}

// ---------------------------------------------------------------------
// Probes: each runs in a forked copy of the interpreter.

/// The step of a probe that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Fork,
    Drop,
    Unshare,
    MapWrite,
}

impl Step {
    const ALL: [Step; 4] = [Step::Fork, Step::Drop, Step::Unshare, Step::MapWrite];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Failed {
    step: Step,
    errno: Errno,
}

fn at(step: Step) -> impl Fn(Errno) -> Failed {
    move |errno| Failed { step, errno }
}

/// Runs `f` in a forked copy of this process, which exits right after;
/// returns what `f` returned there. The copy dies with nsscript
/// (PR_SET_PDEATHSIG) and is always reaped here.
fn probe(f: impl FnOnce() -> Result<(), Failed>) -> Result<(), Failed> {
    use nix::unistd::{fork, pipe2, ForkResult};
    use std::io::Write;
    let (r, w) = pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(at(Step::Fork))?;
    // What was printed so far must not be printed again by the copy.
    let _ = std::io::stdout().flush();
    // SAFETY: nsscript is single-threaded; the child only makes system
    // calls and leaves with _exit.
    match unsafe { fork() }.map_err(at(Step::Fork))? {
        ForkResult::Child => {
            // SAFETY: plain prctl.
            unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
            drop(r);
            let msg: [u8; 5] = match f() {
                Ok(()) => [0xff, 0, 0, 0, 0],
                Err(e) => {
                    let n = (e.errno as i32).to_le_bytes();
                    let s = Step::ALL.iter().position(|s| *s == e.step).unwrap_or(0) as u8;
                    [s, n[0], n[1], n[2], n[3]]
                }
            };
            let _ = nix::unistd::write(&w, &msg);
            // SAFETY: leaving the forked copy without running the parent's
            // destructors or atexit handlers.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => {
            drop(w);
            let mut buf = [0u8; 5];
            let mut got = 0;
            while got < buf.len() {
                match nix::unistd::read(&r, &mut buf[got..]) {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(Errno::EINTR) => continue,
                    Err(_) => break,
                }
            }
            while let Err(Errno::EINTR) = nix::sys::wait::waitpid(child, None) {}
            if got < buf.len() {
                // Killed before it could say: report it as the fork's.
                return Err(Failed {
                    step: Step::Fork,
                    errno: Errno::ECHILD,
                });
            }
            if buf[0] == 0xff {
                return Ok(());
            }
            Err(Failed {
                step: Step::ALL
                    .get(buf[0] as usize)
                    .copied()
                    .unwrap_or(Step::Fork),
                errno: Errno::from_raw(i32::from_le_bytes([buf[1], buf[2], buf[3], buf[4]])),
            })
        }
    }
}

/// Becomes uid/gid `id` with no supplementary groups, for good (real,
/// effective and saved ids).
fn drop_to(id: u32) -> Result<(), Errno> {
    use nix::unistd::{getgroups, setgroups, setresgid, setresuid, Gid, Uid};
    if let Err(e) = setgroups(&[]) {
        // Where setgroups is denied (a user namespace an unprivileged
        // process made) the list must already be empty.
        if !getgroups().is_ok_and(|g| g.is_empty()) {
            return Err(e);
        }
    }
    let g = Gid::from_raw(id);
    setresgid(g, g, g)?;
    let u = Uid::from_raw(id);
    setresuid(u, u, u)?;
    // Leaving uid 0 made the process non-dumpable, and the /proc files of
    // a non-dumpable process belong to root: uid `id` could not open its
    // own uid_map.
    // SAFETY: plain prctl.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) };
    Ok(())
}

/// Maps `uid`, this process's own uid outside, to 0 in the user namespace
/// it just made: the one map an unprivileged process may write. (Inside,
/// before the map, geteuid() says 65534, the overflow uid.)
fn write_own_uid_map(uid: u32) -> Result<(), Failed> {
    use std::io::Write;
    let text = format!("0 {uid} 1\n");
    std::fs::OpenOptions::new()
        .write(true)
        .open("/proc/self/uid_map")
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| Failed {
            step: Step::MapWrite,
            errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
        })
}

/// unshare(kind) as this (root) process; a user namespace gets its map.
fn try_as_root(kind: Namespace) -> Result<(), Failed> {
    probe(|| {
        let uid = ident::euid();
        nix::sched::unshare(kind.clone_flag()).map_err(at(Step::Unshare))?;
        if kind == Namespace::User {
            write_own_uid_map(uid)?;
        }
        Ok(())
    })
}

/// unshare(CLONE_NEWUSER | kind) as an unprivileged user (`NOBODY` when
/// root drops to it), then the uid_map write.
fn try_unprivileged(kind: Namespace, drop: bool) -> Result<(), Failed> {
    probe(|| {
        if drop {
            drop_to(NOBODY).map_err(at(Step::Drop))?;
        }
        let uid = ident::euid();
        let flags = Namespace::User.clone_flag() | kind.clone_flag();
        nix::sched::unshare(flags).map_err(at(Step::Unshare))?;
        write_own_uid_map(uid)
    })
}

// ---------------------------------------------------------------------
// The report.

/// One answer of the doctor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Where it sits in the report's tree: "namespaces.net.unprivileged".
    pub id: String,
    /// What was checked, for people.
    pub label: String,
    /// Yes, no, or None when it could not be checked here (`found` says
    /// why).
    pub ok: Option<bool>,
    /// What was found: "yes", "EPERM at unshare(...)", "96364", "hybrid".
    pub found: String,
    /// For a "no": the setting or rule responsible, and what to do.
    pub cause: Option<String>,
    pub fix: Option<String>,
}

impl Check {
    fn new(id: impl Into<String>, label: impl Into<String>) -> Check {
        Check {
            id: id.into(),
            label: label.into(),
            ok: Some(true),
            found: String::new(),
            cause: None,
            fix: None,
        }
    }

    fn found(mut self, found: impl Into<String>) -> Check {
        self.found = found.into();
        self
    }

    fn no(mut self, cause: impl Into<String>, fix: impl Into<String>) -> Check {
        self.ok = Some(false);
        self.cause = Some(cause.into());
        self.fix = Some(fix.into());
        self
    }

    fn unknown(mut self, why: impl Into<String>) -> Check {
        self.ok = None;
        self.found = why.into();
        self
    }
}

/// Everything the doctor found.
#[derive(Debug, Clone)]
pub struct Report {
    pub kernel: String,
    pub uid: u32,
    pub user: String,
    /// Whether nsscript runs in the initial user namespace (None: /proc
    /// cannot tell).
    pub initial_userns: Option<bool>,
    pub checks: Vec<Check>,
}

/// The kinds in the order the report lists them.
const KINDS: [Namespace; 8] = [
    Namespace::User,
    Namespace::Mount,
    Namespace::Uts,
    Namespace::Ipc,
    Namespace::Pid,
    Namespace::Net,
    Namespace::Cgroup,
    Namespace::Time,
];

/// Runs every check. Takes a few milliseconds per namespace kind (two
/// forks each) and one run of each tool.
pub fn examine() -> Report {
    let uid = ident::euid();
    let root = uid == 0;
    let mut checks = Vec::new();
    let unpriv_who = if root {
        format!("uid {NOBODY}")
    } else {
        format!("uid {uid}")
    };
    for kind in KINDS {
        let kinds = NsSet::from_iter([kind]);
        let as_root = Check::new(
            format!("namespaces.{kind}.root"),
            format!("{kind} namespace, as root"),
        );
        checks.push(if root {
            probe_check(as_root, try_as_root(kind), kinds, true)
        } else {
            as_root.unknown(format!(
                "not checked: nsscript runs as uid {uid}; run the doctor as root to check"
            ))
        });
        let with_user = NsSet::from_iter([Namespace::User, kind]);
        let unpriv = Check::new(
            format!("namespaces.{kind}.unprivileged"),
            format!("{kind} namespace, as {unpriv_who} with a user namespace"),
        );
        checks.push(probe_check(
            unpriv,
            try_unprivileged(kind, root),
            with_user,
            false,
        ));
    }
    checks.extend(userns_settings());
    checks.extend(limits());
    checks.extend(idmap_helpers());
    checks.push(cgroups());
    checks.push(root_propagation());
    checks.extend(kernel_features());
    checks.extend(tools());
    Report {
        kernel: read_trimmed("/proc/sys/kernel/osrelease").unwrap_or_default(),
        uid,
        user: ident::user_name(uid),
        initial_userns: match super::procfs::initial(Namespace::User) {
            super::procfs::Initial::Yes => Some(true),
            super::procfs::Initial::No => Some(false),
            super::procfs::Initial::Unknown => None,
        },
        checks,
    }
}

/// A probe's outcome as a check, a "no" explained by this machine's
/// settings where they tell.
fn probe_check(c: Check, r: Result<(), Failed>, kinds: NsSet, privileged: bool) -> Check {
    let e = match r {
        Ok(()) => return c.found("yes"),
        Err(e) => e,
    };
    let errno = format!("{} ({})", errno_name(e.errno), e.errno.desc());
    match e.step {
        Step::Fork => c.unknown(format!("not checked: the probe could not run ({errno})")),
        Step::Drop => c.unknown(format!(
            "not checked: cannot become uid {NOBODY} here ({errno}; it may have no mapping in this user namespace)"
        )),
        Step::Unshare | Step::MapWrite => {
            let (op, what) = if e.step == Step::Unshare {
                (Op::Unshare, format!("unshare({})", kinds.flag_names()))
            } else {
                (Op::MapWrite, "write /proc/self/uid_map".to_string())
            };
            let c = c.found(format!("no: {what} failed: {errno}"));
            match explain(op, e.errno, kinds, privileged) {
                Some(w) => c.no(w.cause, w.fix),
                None => c.no(
                    format!("the kernel refused {what} with {errno}"),
                    "see the errno in unshare(2) and user_namespaces(7)",
                ),
            }
        }
    }
}

/// The switches that turn unprivileged user namespaces off.
fn userns_settings() -> Vec<Check> {
    let absent = "absent (this kernel has no such switch)";
    let mut v = Vec::new();
    let c = Check::new("userns.max_user_namespaces", "user.max_user_namespaces");
    v.push(match sysctl("user.max_user_namespaces") {
        None => c.found(absent),
        Some(n) if n == "0" => c.found(n).no(
            "user.max_user_namespaces is 0 in this user namespace: no user namespace may be created here, not even by root",
            "as root of the user namespace that owns the limit: sysctl -w user.max_user_namespaces=15000",
        ),
        Some(n) => c.found(n),
    });
    let c = Check::new("userns.unprivileged_userns_clone", UNPRIVILEGED_CLONE);
    v.push(match sysctl(UNPRIVILEGED_CLONE) {
        None => c.found(absent),
        Some(n) if n == "0" => c.found(n).no(
            format!(
                "{UNPRIVILEGED_CLONE} is 0: only a privileged process may create a user namespace"
            ),
            format!("as root: sysctl -w {UNPRIVILEGED_CLONE}=1"),
        ),
        Some(n) => c.found(n),
    });
    let c = Check::new(
        "userns.apparmor_restrict_unprivileged_userns",
        APPARMOR_RESTRICT,
    );
    v.push(match sysctl(APPARMOR_RESTRICT) {
        None => c.found(absent),
        Some(n) if n == "1" => c.found(n).no(
            format!("{APPARMOR_RESTRICT} is 1: an unprivileged user namespace is created without capabilities, so its uid_map cannot be written"),
            apparmor_fix(),
        ),
        Some(n) => c.found(n),
    });
    let c = Check::new("userns.module_enable", MODULE_ENABLE);
    v.push(match read_trimmed(MODULE_ENABLE) {
        None => c.found(absent),
        Some(n) if n == "N" || n == "0" => c.found(n.clone()).no(
            format!("user namespaces are turned off at boot ({MODULE_ENABLE} is {n})"),
            "boot with user_namespace.enable=1 on the kernel command line",
        ),
        Some(n) => c.found(n),
    });
    v
}

/// user.max_*_namespaces for the other kinds (user's is above).
fn limits() -> Vec<Check> {
    KINDS
        .iter()
        .filter(|k| **k != Namespace::User)
        .map(|k| {
            let name = limit_name(*k);
            let c = Check::new(format!("limits.{}", name.trim_start_matches("user.")), &name);
            match sysctl(&name) {
                None => c.found("absent"),
                Some(n) if n == "0" => c.found(n).no(
                    format!("{name} is 0 in this user namespace: no {k} namespace may be created here, not even by root"),
                    format!("as root of the user namespace that owns the limit: sysctl -w {name}=15000"),
                ),
                Some(n) => c.found(n),
            }
        })
        .collect()
}

/// The user the subordinate id ranges are looked up for: the one who ran
/// sudo, else the real uid's.
fn invoking_user() -> (String, u32) {
    if ident::uid() == 0 {
        if let (Ok(name), Ok(id)) = (std::env::var("SUDO_USER"), std::env::var("SUDO_UID")) {
            if let Ok(id) = id.parse() {
                return (name, id);
            }
        }
    }
    let uid = ident::uid();
    (ident::user_name(uid), uid)
}

/// The ranges of /etc/subuid or /etc/subgid text (`name:start:count`, the
/// name or the numeric id) that belong to `name` or `id`.
pub fn subid_ranges(text: &str, name: &str, id: u32) -> Vec<(u64, u64)> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.trim().splitn(3, ':');
            let (who, start, count) = (f.next()?, f.next()?, f.next()?);
            let mine = (!name.is_empty() && who == name) || who == id.to_string();
            let start = start.trim().parse().ok()?;
            let count = count.trim().parse().ok()?;
            mine.then_some((start, count))
        })
        .collect()
}

/// Where a program is: PATH first, then the usual system folders (root's
/// tools live in sbin, which an ordinary user's PATH may lack).
fn find_program(name: &str) -> Option<String> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".split(':'))
        .filter(|d| !d.is_empty())
        .map(|d| format!("{d}/{name}"))
        .find(|p| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Whether a file has file capabilities (the security.capability xattr).
fn has_file_caps(path: &str) -> bool {
    let Ok(c) = std::ffi::CString::new(path) else {
        return false;
    };
    // SAFETY: a size query (NULL buffer, size 0) of a NUL-terminated path.
    let n = unsafe {
        libc::getxattr(
            c.as_ptr(),
            c"security.capability".as_ptr(),
            std::ptr::null_mut(),
            0,
        )
    };
    n > 0
}

/// newuidmap/newgidmap and the invoking user's subordinate ranges: what
/// lets an unprivileged user map more than its own id.
fn idmap_helpers() -> Vec<Check> {
    use std::os::unix::fs::MetadataExt;
    let mut v = Vec::new();
    for (tool, cap) in [("newuidmap", "cap_setuid"), ("newgidmap", "cap_setgid")] {
        let c = Check::new(format!("idmap.{tool}"), tool);
        v.push(match find_program(tool) {
            None => c.found("not installed").no(
                format!("{tool} is not installed: an unprivileged user can map only its own id (nsscript itself maps only that)"),
                "apt-get install uidmap",
            ),
            Some(p) => {
                let setuid_root = std::fs::metadata(&p)
                    .is_ok_and(|m| m.uid() == 0 && m.mode() & 0o4000 != 0);
                if setuid_root {
                    c.found(format!("{p} (setuid root)"))
                } else if has_file_caps(&p) {
                    c.found(format!("{p} (file capabilities)"))
                } else {
                    c.found(p.clone()).no(
                        format!("{p} is neither setuid root nor has file capabilities, so it cannot write maps for other users"),
                        format!("setcap {cap}+ep {p}, or reinstall the uidmap package"),
                    )
                }
            }
        });
    }
    let (name, id) = invoking_user();
    let who = if name.is_empty() {
        format!("uid {id}")
    } else {
        name.clone()
    };
    for (file, flag) in [
        ("/etc/subuid", "--add-subuids"),
        ("/etc/subgid", "--add-subgids"),
    ] {
        let key = file.trim_start_matches("/etc/");
        let c = Check::new(format!("idmap.{key}"), format!("{file} ranges for {who}"));
        let ranges = std::fs::read_to_string(file).map(|t| subid_ranges(&t, &name, id));
        let shown = |r: &[(u64, u64)]| {
            r.iter()
                .map(|(s, n)| format!("{s}-{} ({n} ids)", s + n.saturating_sub(1)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        v.push(match ranges {
            Ok(r) if !r.is_empty() => c.found(shown(&r)),
            _ if id == 0 => c.found("none needed: root may map any id"),
            Ok(_) => c.found("none").no(
                format!("{file} has no range for {who}: newuidmap/newgidmap will map nothing but {who}'s own id"),
                format!("as root: usermod {flag} 100000-165535 {who}"),
            ),
            Err(e) => c.found("none").no(
                format!("{file} cannot be read ({e})"),
                format!("as root: usermod {flag} 100000-165535 {who} (creates it)"),
            ),
        });
    }
    v
}

/// The cgroup layout from a mount table: "v2", "v1", "hybrid" (v1
/// controllers with a v2 tree beside them) or "none", and where the v2
/// tree is.
pub fn cgroup_layout(mounts: &[MountInfo]) -> (&'static str, Option<String>) {
    let v1 = mounts.iter().any(|m| m.fstype == "cgroup");
    let v2 = mounts
        .iter()
        .filter(|m| m.fstype == "cgroup2")
        .map(|m| m.mount_point.clone())
        .min_by_key(|p| (p != "/sys/fs/cgroup", p.len()));
    let kind = match (v1, &v2) {
        (true, Some(_)) => "hybrid",
        (true, None) => "v1",
        (false, Some(_)) => "v2",
        (false, None) => "none",
    };
    (kind, v2)
}

fn cgroups() -> Check {
    let c = Check::new("system.cgroup", "cgroup version");
    match mount::mounts(None) {
        Err(e) => c.unknown(format!("not checked: {e}")),
        Ok(ms) => match cgroup_layout(&ms) {
            ("v2", Some(p)) => c.found(format!("v2 (unified, at {p})")),
            ("hybrid", Some(p)) => c.found(format!(
                "hybrid (v1 controllers under /sys/fs/cgroup, v2 at {p})"
            )),
            ("v1", _) => c.found("v1"),
            _ => c.found("none mounted"),
        },
    }
}

/// Whether / is a shared mount: then a mount in a new mount namespace
/// would show on the host unless / is made private there first.
fn root_propagation() -> Check {
    let c = Check::new("system.root_propagation", "propagation of /");
    match mount::mounts(None) {
        Err(e) => c.unknown(format!("not checked: {e}")),
        Ok(ms) => match ms.iter().rev().find(|m| m.mount_point == "/") {
            None => c.unknown("not checked: / is not in /proc/self/mountinfo"),
            Some(m) if m.propagation().contains("shared") => c.found(format!(
                "{} ({}): nsscript makes / private in each new mount namespace before mounting (spawn's propagation option)",
                m.propagation(),
                m.optional.join(" ")
            )),
            Some(m) => c.found(m.propagation()),
        },
    }
}

/// clone3, pidfds and time namespaces: what the kernel offers.
fn kernel_features() -> Vec<Check> {
    let mut v = Vec::new();
    // clone3 with no arguments: EINVAL where the call exists, ENOSYS where
    // it does not (or a seccomp filter hides it).
    // SAFETY: the kernel rejects a NULL, zero-sized argument block.
    let r = unsafe { libc::syscall(libc::SYS_clone3, std::ptr::null::<u8>(), 0usize) };
    let c = Check::new("kernel.clone3", "clone3(2)");
    v.push(match (r, Errno::last()) {
        (0.., _) | (_, Errno::EINVAL) => c.found("yes"),
        (_, e) => c.found(format!("no: {}", errno_name(e))).no(
            format!(
                "clone3 fails with {} (Linux before 5.3, or a seccomp filter)",
                errno_name(e)
            ),
            "none needed: nsscript falls back to clone(2), without a pidfd",
        ),
    });
    let c = Check::new("kernel.pidfd", "pidfd_open(2), pidfd_send_signal(2)");
    v.push(match pidfd_works() {
        Ok(()) => c.found("yes"),
        Err(e) => c.found(format!("no: {}", errno_name(e))).no(
            format!(
                "pidfd_open fails with {} (Linux before 5.3, or a seccomp filter)",
                errno_name(e)
            ),
            "none needed, but a pid reused by another process could then be signalled or joined",
        ),
    });
    let c = Check::new("kernel.time_namespace", "time namespaces");
    v.push(if supported(Namespace::Time) {
        c.found("yes (/proc/self/ns/time)")
    } else if std::fs::metadata("/proc/self/ns").is_err() {
        c.unknown("not checked: /proc is not mounted")
    } else {
        c.found("no").no(
            "/proc/self/ns/time is missing: Linux before 5.6, or built without CONFIG_TIME_NS",
            "leave \"time\" out of ns, or use a newer kernel",
        )
    });
    v
}

/// Opens a pidfd for this process and sends it signal 0 through it.
fn pidfd_works() -> Result<(), Errno> {
    // SAFETY: pidfd_open of our own pid; the fd is closed below.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: signal 0 (a check, nothing is sent) through the fd we own.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd,
            0,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    let e = Errno::last();
    // SAFETY: closing the fd opened above.
    unsafe { libc::close(fd as i32) };
    if r < 0 {
        Err(e)
    } else {
        Ok(())
    }
}

/// The programs the demos and tests call, each run once with -V.
pub const TOOLS: &[(&str, &str, &str)] = &[
    ("ping", "traffic between wired namespaces", "iputils-ping"),
    ("ip", "links and addresses inside a namespace", "iproute2"),
    (
        "tc",
        "shaping traffic between namespaces (netem)",
        "iproute2",
    ),
    ("dot", "drawing namespace graphs", "graphviz"),
];

fn tools() -> Vec<Check> {
    TOOLS
        .iter()
        .map(|(tool, used, package)| {
            let c = Check::new(format!("tools.{tool}"), *tool);
            let Some(p) = find_program(tool) else {
                return c.found("not installed").no(
                    format!("{tool} is not installed; the demos use it for {used}"),
                    format!("apt-get install {package}"),
                );
            };
            let ran = std::process::Command::new(&p)
                .arg("-V")
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
            match ran {
                Ok(s) if s.success() => c.found(p),
                Ok(s) => c.found(p.clone()).no(
                    format!("{p} -V failed ({s})"),
                    format!("reinstall {package}"),
                ),
                Err(e) => c.found(p.clone()).no(
                    format!("{p} cannot be run: {e}"),
                    format!("reinstall {package}"),
                ),
            }
        })
        .collect()
}

impl Report {
    /// The report as a tree: each check under its id's path
    /// (`namespaces.net.unprivileged` is `{"namespaces": {"net":
    /// {"unprivileged": {...}}}}`), each with ok, found, cause and fix, plus
    /// `about` (kernel, uid, user, initial_userns).
    pub fn to_json(&self) -> Value {
        let mut root = JsonMap::new();
        root.insert(
            "about".into(),
            json!({
                "kernel": self.kernel,
                "uid": self.uid,
                "user": self.user,
                "initial_userns": self.initial_userns,
            }),
        );
        for c in &self.checks {
            let parts: Vec<&str> = c.id.split('.').collect();
            let leaf = json!({
                "ok": c.ok,
                "found": c.found,
                "cause": c.cause,
                "fix": c.fix,
            });
            insert_at(&mut root, &parts, leaf);
        }
        Value::Object(root)
    }

    /// The report for people: a table of namespace kinds, then each
    /// section's findings, every "no" followed by its cause and fix.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let userns = match self.initial_userns {
            Some(true) => "the initial user namespace",
            Some(false) => "a user namespace of its own (limits and maps are those of this one)",
            None => "an unknown user namespace (/proc cannot tell)",
        };
        let user = if self.user.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.user)
        };
        let _ = writeln!(
            out,
            "nsscript doctor: Linux {}, uid {}{user}, in {userns}\n",
            self.kernel, self.uid
        );
        let mark = |ok: Option<bool>| match ok {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "?",
        };
        let get = |id: &str| self.checks.iter().find(|c| c.id == id);
        let unpriv = if self.uid == 0 {
            format!("as uid {NOBODY} + user ns")
        } else {
            format!("as uid {} + user ns", self.uid)
        };
        let _ = writeln!(out, "Namespaces          as root   {unpriv}");
        for kind in KINDS {
            let ok = |col: &str| get(&format!("namespaces.{kind}.{col}")).and_then(|c| c.ok);
            let _ = writeln!(
                out,
                "  {:<17} {:<9} {}",
                kind.name(),
                mark(ok("root")),
                mark(ok("unprivileged"))
            );
        }
        // Each answer that is not a yes, once for the kinds that share it.
        for (col, who) in [("root", "as root".to_string()), ("unprivileged", unpriv)] {
            let mut groups: Vec<(Vec<&str>, &Check)> = Vec::new();
            for kind in KINDS {
                let Some(c) = get(&format!("namespaces.{kind}.{col}")) else {
                    continue;
                };
                if c.ok == Some(true) {
                    continue;
                }
                let same = |g: &Check| g.found == c.found && g.cause == c.cause && g.fix == c.fix;
                match groups.iter_mut().find(|(_, g)| same(g)) {
                    Some((kinds, _)) => kinds.push(kind.name()),
                    None => groups.push((vec![kind.name()], c)),
                }
            }
            for (kinds, c) in groups {
                let _ = writeln!(out, "  {} ({who}): {}", kinds.join(", "), c.found);
                write_cause(&mut out, c);
            }
        }
        for (prefix, title) in [
            ("userns.", "Unprivileged user namespaces"),
            (
                "limits.",
                "Namespace limits (per user, in this user namespace)",
            ),
            ("idmap.", "Mapping more than one's own id"),
            ("system.", "Mounts and cgroups"),
            ("kernel.", "Kernel features"),
            ("tools.", "Tools the demos use"),
        ] {
            let _ = writeln!(out, "\n{title}");
            for c in self.checks.iter().filter(|c| c.id.starts_with(prefix)) {
                let _ = writeln!(out, "  {:<3} {:<46} {}", mark(c.ok), c.label, c.found);
                write_cause(&mut out, c);
            }
        }
        let noes = self.checks.iter().filter(|c| c.ok == Some(false)).count();
        let _ = writeln!(
            out,
            "\n{} checks, {noes} no. nsscript --doctor --json prints the same as JSON; doctor() returns it as a map.",
            self.checks.len()
        );
        out
    }
}

/// Puts `leaf` at `path` in a tree of objects, making the objects on the
/// way.
fn insert_at(node: &mut JsonMap<String, Value>, path: &[&str], leaf: Value) {
    match path {
        [] => {}
        [last] => {
            node.insert(last.to_string(), leaf);
        }
        [first, rest @ ..] => {
            let next = node
                .entry(first.to_string())
                .or_insert_with(|| Value::Object(JsonMap::new()));
            if !next.is_object() {
                *next = Value::Object(JsonMap::new());
            }
            if let Value::Object(m) = next {
                insert_at(m, rest, leaf);
            }
        }
    }
}

fn write_cause(out: &mut String, c: &Check) {
    if let Some(cause) = &c.cause {
        let _ = writeln!(out, "      cause: {cause}");
    }
    if let Some(fix) = &c.fix {
        let _ = writeln!(out, "      fix:   {fix}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subid_ranges_match_name_or_uid() {
        let text = "alice:100000:65536\n1000:300000:10\nbob:200000:65536\n# junk\nalice:x:1\n";
        assert_eq!(
            subid_ranges(text, "alice", 1000),
            vec![(100000, 65536), (300000, 10)]
        );
        assert_eq!(subid_ranges(text, "carol", 1001), vec![]);
        assert_eq!(subid_ranges(text, "", 1000), vec![(300000, 10)]);
    }

    #[test]
    fn cgroup_layouts() {
        let line = |fs: &str, at: &str| format!("30 1 0:26 / {at} rw,nosuid - {fs} {fs} rw");
        let parse =
            |lines: &[String]| mount::parse_mountinfo(&lines.join("\n")).expect("mountinfo parses");
        let v2 = parse(&[line("cgroup2", "/sys/fs/cgroup")]);
        assert_eq!(cgroup_layout(&v2), ("v2", Some("/sys/fs/cgroup".into())));
        let hybrid = parse(&[
            line("tmpfs", "/sys/fs/cgroup"),
            line("cgroup", "/sys/fs/cgroup/cpu"),
            line("cgroup2", "/sys/fs/cgroup/unified"),
        ]);
        assert_eq!(
            cgroup_layout(&hybrid),
            ("hybrid", Some("/sys/fs/cgroup/unified".into()))
        );
        let v1 = parse(&[line("cgroup", "/sys/fs/cgroup/memory")]);
        assert_eq!(cgroup_layout(&v1), ("v1", None));
        assert_eq!(cgroup_layout(&[]), ("none", None));
    }

    #[test]
    fn enospc_names_the_limits_with_their_values() {
        let kinds = NsSet::from_iter([Namespace::User, Namespace::Uts]);
        let w = explain(Op::Clone, Errno::ENOSPC, kinds, true).expect("an explanation");
        for k in [Namespace::User, Namespace::Uts] {
            let name = limit_name(k);
            match sysctl(&name) {
                Some(v) if v == "0" => assert!(w.cause.contains(&format!("{name} is 0")), "{w:?}"),
                Some(v) => assert!(w.cause.contains(&format!("{name}={v}")), "{w:?}"),
                None => assert!(w.cause.contains(&name), "{w:?}"),
            }
        }
    }

    #[test]
    fn the_report_tree_follows_the_ids() {
        let r = Report {
            kernel: "6.1".into(),
            uid: 0,
            user: "root".into(),
            initial_userns: Some(true),
            checks: vec![
                Check::new("namespaces.net.root", "net").found("yes"),
                Check::new("tools.dot", "dot")
                    .found("not installed")
                    .no("dot is not installed", "apt-get install graphviz"),
            ],
        };
        let j = r.to_json();
        assert_eq!(j["namespaces"]["net"]["root"]["ok"], json!(true));
        assert_eq!(j["tools"]["dot"]["ok"], json!(false));
        assert_eq!(j["tools"]["dot"]["fix"], json!("apt-get install graphviz"));
        assert_eq!(j["about"]["kernel"], json!("6.1"));
        let text = r.render();
        assert!(text.contains("cause: dot is not installed"), "{text}");
    }
}
