//! Every namespace on the system, the way lsns(8) lists them: scan
//! /proc/*/ns, group the processes by namespace inode, and add the
//! namespaces that only an nsfs bind mount keeps (persist, `ip netns add`).

use super::ns::{Namespace, NsSet};
use super::nsfs::{owner_of, parent_of};
use super::{Error, Result};
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;

/// One namespace, with what lsns shows about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NsInfo {
    /// The nsfs inode: the number readlink shows in "uts:[4026531838]".
    pub inode: u64,
    pub kind: Namespace,
    /// How many processes are in it (threads are not counted).
    pub nprocs: usize,
    /// The lowest pid in it; None for one only a bind mount keeps.
    pub pid: Option<i32>,
    /// That process's parent.
    pub ppid: Option<i32>,
    /// Its command line (its name for kernel threads, which have none).
    pub command: String,
    /// The owner of that process (the owner of /proc/PID).
    pub uid: Option<u32>,
    /// The user namespace that owns this one (NS_GET_USERNS); for a user
    /// namespace, its parent. None where the kernel does not show it.
    pub owner: Option<u64>,
    /// For pid and user namespaces, the parent namespace (NS_GET_PARENT).
    pub parent: Option<u64>,
    /// Where it is bind-mounted (persist, /run/netns/NAME).
    pub paths: Vec<String>,
}

impl NsInfo {
    /// A namespace seen for the first time: no process counted yet.
    fn new(inode: u64, kind: Namespace) -> NsInfo {
        NsInfo {
            inode,
            kind,
            nprocs: 0,
            pid: None,
            ppid: None,
            command: String::new(),
            uid: None,
            owner: None,
            parent: None,
            paths: Vec::new(),
        }
    }
}

impl NsInfo {
    /// "uts:[4026531838]", as readlink and ns_id() show it.
    pub fn id(&self) -> String {
        format!("{}:[{}]", self.kind.proc_name(), self.inode)
    }
}

/// Which namespaces to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter {
    /// Only these kinds (all when None).
    pub kinds: Option<NsSet>,
    /// Only the namespaces of this process.
    pub pid: Option<i32>,
}

/// What the scan saw of one process.
struct Proc {
    pid: i32,
    uid: u32,
    ns: Vec<(Namespace, u64)>,
}

fn proc_ns(pid: i32, kinds: NsSet) -> Option<Proc> {
    let uid = std::fs::metadata(format!("/proc/{pid}")).ok()?.uid();
    let mut ns = Vec::new();
    for kind in kinds.iter() {
        // stat follows the link to the nsfs inode. A process we may not
        // inspect (EACCES) or that is gone (ENOENT) is skipped, as lsns does.
        if let Ok(m) = std::fs::metadata(format!("/proc/{pid}/ns/{}", kind.proc_name())) {
            ns.push((kind, m.ino()));
        }
    }
    Some(Proc { pid, uid, ns })
}

fn pids() -> Result<Vec<i32>> {
    let rd = std::fs::read_dir("/proc").map_err(|e| Error::io("namespaces: read /proc", &e))?;
    let mut v: Vec<i32> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    v.sort_unstable();
    Ok(v)
}

/// The command line of a process with spaces for NULs, or its name when
/// the command line is empty (kernel threads), as lsns shows it.
pub fn command(pid: i32) -> String {
    let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .replace('\0', " ")
                .trim_end()
                .to_string()
        })
        .unwrap_or_default();
    if cmd.is_empty() {
        super::procfs::comm(pid as i64).unwrap_or_default()
    } else {
        cmd
    }
}

fn ppid(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// nsfs bind mounts of this mount namespace: (kind, inode, mount point).
fn nsfs_mounts() -> Vec<(Namespace, u64, String)> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    super::procfs::parse_mountinfo(&text)
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.fstype == "nsfs")
        .filter_map(|m| {
            // The root of a bind of an ns file is "net:[4026532...]".
            let (kind, rest) = m.root.split_once(":[")?;
            let inode = rest.strip_suffix(']')?.parse().ok()?;
            Some((kind.parse().ok()?, inode, m.mount_point))
        })
        .collect()
}

/// Fills in owner and parent by asking the kernel about the namespace
/// behind a path (/proc/PID/ns/KIND or a bind mount of it).
fn relations(info: &mut NsInfo, path: &str) {
    let Ok(fd) = nix::fcntl::open(
        path,
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    ) else {
        return;
    };
    // Opened the right one? (the pid may have gone and been reused).
    if nix::sys::stat::fstat(&fd).map(|s| s.st_ino) != Ok(info.inode) {
        return;
    }
    info.owner = owner_of(&fd);
    if matches!(info.kind, Namespace::Pid | Namespace::User) {
        info.parent = parent_of(&fd);
    }
}

/// Every namespace the processes visible here are in, plus those kept by
/// nsfs bind mounts in this mount namespace, sorted by inode as lsns sorts
/// them. Processes that come and go during the scan are counted as they
/// were seen.
pub fn scan(filter: &Filter) -> Result<Vec<NsInfo>> {
    let kinds = filter
        .kinds
        .unwrap_or_else(|| Namespace::ALL.into_iter().collect());
    let only: Option<Vec<u64>> = match filter.pid {
        Some(p) => {
            let proc = proc_ns(p, kinds).ok_or_else(|| {
                Error::with_errno(
                    "namespaces",
                    nix::errno::Errno::ESRCH,
                    format!("no process with pid {p}"),
                )
            })?;
            Some(proc.ns.iter().map(|(_, i)| *i).collect())
        }
        None => None,
    };
    let keep = |inode: u64| only.as_ref().map_or(true, |v| v.contains(&inode));

    let mut by_inode: BTreeMap<u64, NsInfo> = BTreeMap::new();
    for pid in pids()? {
        let Some(p) = proc_ns(pid, kinds) else {
            continue;
        };
        for (kind, inode) in p.ns {
            if !keep(inode) {
                continue;
            }
            let e = by_inode
                .entry(inode)
                .or_insert_with(|| NsInfo::new(inode, kind));
            e.nprocs += 1;
            // Pids come in ascending order: the first is the lowest.
            if e.pid.is_none() {
                e.pid = Some(p.pid);
                e.uid = Some(p.uid);
            }
        }
    }
    for (kind, inode, path) in nsfs_mounts() {
        if !kinds.contains(kind) || !keep(inode) {
            continue;
        }
        let e = by_inode
            .entry(inode)
            .or_insert_with(|| NsInfo::new(inode, kind));
        if !e.paths.contains(&path) {
            e.paths.push(path);
        }
    }
    let mut out: Vec<NsInfo> = by_inode.into_values().collect();
    for info in &mut out {
        match info.pid {
            Some(pid) => {
                info.ppid = ppid(pid);
                info.command = command(pid);
                let path = format!("/proc/{pid}/ns/{}", info.kind.proc_name());
                relations(info, &path);
            }
            None => {
                if let Some(path) = info.paths.first().cloned() {
                    relations(info, &path);
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_namespaces_are_listed_with_us_counted() {
        let all = scan(&Filter::default()).unwrap();
        let uts = std::fs::metadata("/proc/self/ns/uts").unwrap().ino();
        let e = all
            .iter()
            .find(|n| n.inode == uts)
            .expect("our uts namespace");
        assert_eq!(e.kind, Namespace::Uts);
        assert!(e.nprocs >= 1);
        assert!(e.id().starts_with("uts:["));
    }

    #[test]
    fn filters_by_kind_and_pid() {
        let net: NsSet = [Namespace::Net].into_iter().collect();
        let v = scan(&Filter {
            kinds: Some(net),
            pid: Some(std::process::id() as i32),
        })
        .unwrap();
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].kind, Namespace::Net);
    }
}
