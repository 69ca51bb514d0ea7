//! Reading /proc: namespace links, NSpid, the status of a process.

use super::ns::Namespace;
use super::{Error, Result};
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

fn check_pid(op: &str, pid: i64) -> Result<i32> {
    i32::try_from(pid)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| Error::invalid(op, format!("{pid} is not a valid pid (1 to 2147483647)")))
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

/// The mount id of the topmost "/" in a mountinfo table. Mount ids are
/// unique system-wide, so two processes whose root mounts share an id are
/// in the same mount namespace.
fn root_mount_id(mountinfo: &str) -> Option<u64> {
    mountinfo
        .lines()
        .filter(|l| l.split_whitespace().nth(4) == Some("/"))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .last()
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
/// answer, and for mounts the id of the root mount in both mountinfo
/// tables. When nothing can tell, the answer is `Unknown`.
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
