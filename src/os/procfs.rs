//! Reading /proc: namespace links, NSpid, the status of a process.

use super::ns::Namespace;
use super::{check_pid, Error, Result};
use nix::errno::Errno;

/// Turns "file not found under /proc/PID" into "no such process".
pub fn no_such_process(pid: i32) -> impl Fn(Error) -> Error {
    move |e: Error| {
        if e.errno == Some(Errno::ENOENT) {
            Error::with_errno(e.op, Errno::ESRCH, format!("no process with pid {pid}")).hint(
                "the process may have exited; pids are those of the namespace nsscript runs in",
            )
        } else {
            e
        }
    }
}

/// The children of process `pid` (its main thread's), from
/// /proc/PID/task/PID/children; empty when /proc cannot tell.
pub fn children(pid: u32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// readlink /proc/PID/ns/KIND: "uts:[4026531838]". `pid` None is self.
pub fn ns_link(pid: Option<i64>, kind: Namespace) -> Result<String> {
    let op = match pid {
        Some(p) => format!("ns_id({p}, {kind:?})", kind = kind.name()),
        None => format!("ns_id({:?})", kind.name()),
    };
    let path = match pid {
        Some(p) => format!("/proc/{}/ns/{}", check_pid(&op, p)?, kind.proc_name()),
        None => format!("/proc/self/ns/{}", kind.proc_name()),
    };
    match std::fs::read_link(&path) {
        Ok(t) => Ok(t.to_string_lossy().into_owned()),
        Err(e) => {
            let err = Error::io(&op, &e);
            let err = match pid {
                Some(p) => no_such_process(p as i32)(err),
                None => err,
            };
            if err.errno == Some(Errno::ENOENT) {
                Err(err.hint(format!("this kernel has no {} namespace", kind.name())))
            } else {
                Err(err)
            }
        }
    }
}

/// The inode number inside "uts:[4026531838]".
pub fn ns_inode(link: &str) -> Option<u64> {
    link.split_once('[')?.1.strip_suffix(']')?.parse().ok()
}

/// A field of /proc/PID/status ("NSpid", "PPid", "Uid"...).
pub fn status_field(pid: i64, field: &str) -> Result<String> {
    let op = format!("/proc/{pid}/status");
    let p = check_pid(&op, pid)?;
    let text = std::fs::read_to_string(format!("/proc/{p}/status"))
        .map_err(|e| Error::io(&op, &e))
        .map_err(no_such_process(p))?;
    text.lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .strip_prefix(':')
                .map(|v| v.trim().to_string())
        })
        .ok_or_else(|| Error::with_errno(op, Errno::ENODATA, format!("no {field} line")))
}

/// The pid of a process in each pid namespace it belongs to, outermost
/// first (the NSpid line of /proc/PID/status).
pub fn nspid(pid: i64) -> Result<Vec<i64>> {
    let v = status_field(pid, "NSpid")?;
    Ok(v.split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect())
}

/// The command name of a process (/proc/PID/comm).
pub fn comm(pid: i64) -> Result<String> {
    let op = format!("/proc/{pid}/comm");
    let p = check_pid(&op, pid)?;
    std::fs::read_to_string(format!("/proc/{p}/comm"))
        .map(|s| s.trim_end().to_string())
        .map_err(|e| Error::io(&op, &e))
        .map_err(no_such_process(p))
}

/// One line of /proc/PID/mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfo {
    /// The mount id (unique in the system while the mount exists).
    pub id: u32,
    /// The id of the parent mount (itself for the root of the tree).
    pub parent: u32,
    pub major: u32,
    pub minor: u32,
    /// The directory of the filesystem that forms this mount's root.
    pub root: String,
    /// Where it is mounted, relative to the reader's root.
    pub mount_point: String,
    /// Per-mount options ("rw,nosuid,relatime").
    pub options: String,
    /// The optional fields: "shared:N", "master:N", "propagate_from:N",
    /// "unbindable".
    pub optional: Vec<String>,
    pub fstype: String,
    /// The mount source ("proc", "/dev/vda", "none").
    pub source: String,
    /// Per-superblock options ("rw,errors=continue").
    pub super_options: String,
}

impl MountInfo {
    /// Propagation as findmnt prints it: "private", "shared", "slave",
    /// "shared,slave", "unbindable".
    pub fn propagation(&self) -> String {
        let has = |p: &str| self.optional.iter().any(|o| o.starts_with(p));
        let mut v = Vec::new();
        if has("shared:") {
            v.push("shared");
        }
        if has("master:") {
            v.push("slave");
        }
        if has("unbindable") {
            v.push("unbindable");
        }
        if v.is_empty() {
            "private".into()
        } else {
            v.join(",")
        }
    }
}

/// Parses mountinfo text (see proc(5)):
/// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`.
pub fn parse_mountinfo(text: &str) -> std::result::Result<Vec<MountInfo>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(parse_line)
        .collect()
}

fn parse_line(line: &str) -> std::result::Result<MountInfo, String> {
    let f: Vec<&str> = line.split(' ').collect();
    let bad = |what: &str| format!("{what} in '{line}'");
    let sep = f
        .iter()
        .skip(6)
        .position(|x| *x == "-")
        .map(|i| i + 6)
        .ok_or_else(|| bad("no '-' separator"))?;
    if f.len() < sep + 3 || sep < 6 {
        return Err(bad("too few fields"));
    }
    let num = |s: &str, what: &str| s.parse::<u32>().map_err(|_| bad(&format!("bad {what}")));
    let (major, minor) = f[2].split_once(':').ok_or_else(|| bad("bad major:minor"))?;
    Ok(MountInfo {
        id: num(f[0], "mount id")?,
        parent: num(f[1], "parent id")?,
        major: num(major, "major")?,
        minor: num(minor, "minor")?,
        root: unescape(f[3]),
        mount_point: unescape(f[4]),
        options: f[5].to_string(),
        optional: f[6..sep].iter().map(|s| s.to_string()).collect(),
        fstype: unescape(f[sep + 1]),
        source: unescape(f[sep + 2]),
        super_options: f[sep + 3..].join(" "),
    })
}

/// The kernel writes space, tab, newline and backslash in paths as octal
/// escapes (`\040`); this undoes them.
fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let oct = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], oct) {
            (b'\\', Some(d)) => {
                let v = d.iter().fold(0u32, |a, c| a * 8 + u32::from(c - b'0'));
                out.push(u8::try_from(v).unwrap_or(b'?'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The inode numbers the kernel gives the namespaces it starts with
/// (include/linux/proc_ns.h). Mount and network namespaces have none fixed.
fn initial_inode(kind: Namespace) -> Option<u64> {
    match kind {
        Namespace::Ipc => Some(0xEFFF_FFFF),
        Namespace::Uts => Some(0xEFFF_FFFE),
        Namespace::User => Some(0xEFFF_FFFD),
        Namespace::Pid => Some(0xEFFF_FFFC),
        Namespace::Cgroup => Some(0xEFFF_FFFB),
        Namespace::Time => Some(0xEFFF_FFFA),
        Namespace::Mount | Namespace::Net => None,
    }
}

/// The inode of the user namespace that owns this process's namespace of
/// `kind` (NS_GET_USERNS on /proc/self/ns/KIND), None where it is hidden.
fn owner_inode(kind: Namespace) -> Option<u64> {
    let fd = super::nsfs::open_ro(&format!("/proc/self/ns/{}", kind.proc_name())).ok()?;
    super::nsfs::owner_of(&fd)
}

/// The mount id of the topmost "/" in a mountinfo table. Mount ids are
/// unique system-wide, so two processes whose root mounts share an id are
/// in the same mount namespace.
fn root_mount_id(mountinfo: &str) -> Option<u64> {
    parse_mountinfo(mountinfo)
        .ok()?
        .iter()
        .rev()
        .find(|m| m.mount_point == "/")
        .map(|m| u64::from(m.id))
}

/// Whether this process is in the namespace of a kind that the system (or
/// the container nsscript runs in) started with, as far as /proc tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Initial {
    Yes,
    No,
    /// /proc cannot tell (not mounted, as after pivot_root into a new root).
    Unknown,
}

/// Is this process in the same namespace of `kind` as pid 1?
///
/// pid 1's /proc/1/ns links are compared when readable. Where they are not
/// (pid 1 may hold capabilities we lack, and reading them is a ptrace-mode
/// check), the kernel's fixed inode numbers of the initial namespaces
/// answer, then the user namespace that owns ours (an initial namespace
/// is owned by the initial one), and for mounts the id of the root mount
/// in both mountinfo tables. When nothing can tell, the answer is
/// `Unknown`.
pub fn initial(kind: Namespace) -> Initial {
    let yes = |b: bool| if b { Initial::Yes } else { Initial::No };
    let Ok(mine) = ns_link(None, kind) else {
        return Initial::Unknown;
    };
    if let Ok(theirs) = ns_link(Some(1), kind) {
        return yes(mine == theirs);
    }
    // kthreadd (pid 2 where /proc shows the whole system) and the kernel
    // threads it starts never leave the initial namespaces, and their
    // links stay readable to root when pid 1's are not.
    if comm(2).is_ok_and(|c| c == "kthreadd") {
        if let Ok(theirs) = ns_link(Some(2), kind) {
            return yes(mine == theirs);
        }
    }
    // Since Linux 6.15 the initial network namespace has a fixed inode
    // too; before, its inode is dynamic, and another one tells nothing.
    if kind == Namespace::Net && ns_inode(&mine) == Some(0xEFFF_FFF9) {
        return Initial::Yes;
    }
    if let (Some(fixed), Some(ino)) = (initial_inode(kind), ns_inode(&mine)) {
        return yes(ino == fixed);
    }
    // Every initial namespace belongs to the initial user namespace: one
    // owned by another user namespace was made inside it, as an
    // unprivileged user's network namespace is. An owner outside our view
    // (EPERM, an ancestor of our user namespace) tells nothing.
    if owner_inode(kind).is_some_and(|o| Some(o) != initial_inode(Namespace::User)) {
        return Initial::No;
    }
    if kind == Namespace::Mount {
        let read = |p: &str| std::fs::read_to_string(p).ok();
        if let (Some(a), Some(b)) = (read("/proc/self/mountinfo"), read("/proc/1/mountinfo")) {
            if let (Some(x), Some(y)) = (root_mount_id(&a), root_mount_id(&b)) {
                return yes(x == y);
            }
        }
    }
    Initial::Unknown
}

/// `initial(kind)`, with "cannot tell" counted as "yes": the safe answer
/// for a guard.
pub fn in_initial(kind: Namespace) -> bool {
    initial(kind) != Initial::No
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_links_look_like_readlink() {
        let l = ns_link(None, Namespace::Uts).unwrap();
        assert!(l.starts_with("uts:["), "{l}");
        assert!(ns_inode(&l).is_some());
        assert!(ns_link(None, Namespace::Mount)
            .unwrap()
            .starts_with("mnt:["));
    }

    #[test]
    fn bad_pids_are_clear() {
        assert_eq!(
            ns_link(Some(-4), Namespace::Uts).unwrap_err().errno,
            Some(Errno::EINVAL)
        );
        let e = ns_link(Some(i32::MAX as i64), Namespace::Uts).unwrap_err();
        assert_eq!(e.errno, Some(Errno::ESRCH), "{e}");
    }

    #[test]
    fn mountinfo_escapes_are_undone() {
        assert_eq!(unescape("/run/a\\040b"), "/run/a b");
        assert_eq!(unescape("/plain"), "/plain");
        assert_eq!(unescape("/trail\\04"), "/trail\\04");
    }

    #[test]
    fn root_mount_is_the_last_slash() {
        let t = "22 27 0:21 / /proc rw - proc proc rw\n27 1 8:1 / / rw - ext4 /dev/vda rw\n90 27 0:50 / / rw - tmpfs t rw\n";
        assert_eq!(root_mount_id(t), Some(90));
        assert!(in_initial(Namespace::Uts) || ns_link(None, Namespace::Uts).is_ok());
    }

    #[test]
    fn nspid_of_self_ends_with_own_pid() {
        let me = std::process::id() as i64;
        assert_eq!(nspid(me).unwrap().last(), Some(&me));
    }
}
