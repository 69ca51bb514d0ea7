//! Keeping a namespace alive after its processes exit: a bind mount of
//! its nsfs file (`persist`, like `ip netns add` or `unshare --net=FILE`),
//! and releasing it again (`unpersist`).

use super::mount::{sys_mount, sys_umount2};
use super::ns::Namespace;
use super::nsfs::{exited, is_nsfs, live_pidfd, ns_file_error, open_ro, pidfd_alive, readlink};
use super::{check_pid, Context, Error, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::MsFlags;
use std::os::fd::AsRawFd;
use std::path::Path;

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
        sys_mount(
            None,
            NETNS_DIR,
            Some("none"),
            MsFlags::MS_SHARED | MsFlags::MS_REC,
            None,
            None,
        )
    };
    match share() {
        Ok(()) => Ok(()),
        // Not a mount point yet: bind it onto itself, then share it.
        Err(Errno::EINVAL) => {
            sys_mount(
                Some(NETNS_DIR),
                NETNS_DIR,
                Some("none"),
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None,
                None,
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
    let r = sys_mount(
        Some(src.as_str()),
        path,
        None,
        MsFlags::MS_BIND,
        None,
        Some("the namespace lives as long as this mount, with no process in it"),
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
    sys_umount2(path, nix::mount::MntFlags::MNT_DETACH).map_err(|e| {
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
