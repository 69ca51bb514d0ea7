//! A root of its own: the ops that turn a directory into a new process's
//! `/`, in the order runc and bubblewrap use, each for a kernel reason:
//!
//! 1. `/` was made private (setup::plan): nothing below reaches the host.
//! 2. The root is bind-mounted onto itself: pivot_root(2) needs the new
//!    root to be a mount point.
//! 3. Every mount: the minimal /dev, then the `mounts` entries (targets
//!    inside the root are created as needed), then the device nodes.
//!    Device nodes are bind mounts of the host's (a process in a user
//!    namespace may not mknod).
//! 4. /proc, by the new pid namespace's pid 1 (a proc mount shows the pid
//!    namespace of its mounter), as the last mount before pivot_root: in a
//!    user namespace the kernel allows a new proc (or sysfs) only while an
//!    unhidden one is visible in the mount namespace, and after the old
//!    root is detached none is (fs/namespace.c, mount_too_revealing).
//! 5. pivot_root(".", ".") from inside the root, then the old root is
//!    detached (umount2 MNT_DETACH), never chroot: the old tree is gone
//!    from the mount namespace, not only out of sight.
//! 6. Masked and read-only paths (they are often under /proc), then the
//!    root remounted read-only, keeping the flags the kernel locks.
//!
//! Targets are resolved inside the root when the plan is rendered: a `..`
//! or a symlink that would lead out of the root is an error, since before
//! pivot_root the kernel would follow it on the host.

use super::plan::{cstr, Op, Sys};
use super::{Dev, MountEntry, MountKind, Spec, Step};
use crate::os::{Error, Result};
use nix::errno::Errno;
use std::path::{Component, Path, PathBuf};

/// The device nodes every root gets (the OCI runtime spec's defaults).
const NODES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

/// The /dev links: (target, link name).
const LINKS: [(&str, &str); 5] = [
    ("pts/ptmx", "ptmx"),
    ("/proc/self/fd", "fd"),
    ("/proc/self/fd/0", "stdin"),
    ("/proc/self/fd/1", "stdout"),
    ("/proc/self/fd/2", "stderr"),
];

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The flags the kernel locks on a mount made in a user namespace, as the
/// mount of `path` has them: a remount must keep them (EPERM otherwise).
fn locked_flags(path: &Path) -> u64 {
    use nix::sys::statvfs::{statvfs, FsFlags};
    let Ok(st) = statvfs(path) else {
        return 0;
    };
    let f = st.flags();
    [
        (FsFlags::ST_NOSUID, libc::MS_NOSUID),
        (FsFlags::ST_NODEV, libc::MS_NODEV),
        (FsFlags::ST_NOEXEC, libc::MS_NOEXEC),
        (FsFlags::ST_NOATIME, libc::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, libc::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, libc::MS_RELATIME),
    ]
    .iter()
    .filter(|(st, _)| f.contains(*st))
    .fold(0, |acc, (_, ms)| acc | ms)
}

/// `dst` (an absolute path inside the root) as a path on the host, below
/// `root`. Symlinks met on the way are followed inside the root; one that
/// leads out of it (an absolute target, or `..` past the root) is an error.
pub fn resolve_in_root(op: &str, root: &Path, dst: &str) -> Result<PathBuf> {
    let escape = |via: &Path, to: &Path| {
        Error::invalid(
            op,
            format!(
                "the target {dst:?} goes through the symlink {} -> {}, which points out of the root",
                via.display(),
                to.display()
            ),
        )
        .hint("a mount target must stay inside the new root; give the path the link points to, inside the root")
    };
    let mut todo: Vec<PathBuf> = Path::new(dst)
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(PathBuf::from(n)),
            _ => None,
        })
        .rev()
        .collect();
    let mut cur = root.to_path_buf();
    let mut hops = 0;
    while let Some(c) = todo.pop() {
        if c.as_os_str() == ".." {
            if cur == root {
                return Err(Error::invalid(
                    op,
                    format!("the target {dst:?} climbs out of the root"),
                ));
            }
            cur.pop();
            continue;
        }
        let next = cur.join(&c);
        match std::fs::symlink_metadata(&next) {
            Ok(m) if m.file_type().is_symlink() => {
                hops += 1;
                let to = std::fs::read_link(&next).map_err(|e| Error::io(op, &e))?;
                if hops > 40 || to.is_absolute() {
                    return Err(escape(&next, &to));
                }
                // The link's components come next, relative to `cur`.
                for part in to.components().rev() {
                    match part {
                        Component::Normal(n) => todo.push(PathBuf::from(n)),
                        Component::ParentDir => todo.push(PathBuf::from("..")),
                        _ => {}
                    }
                }
            }
            _ => cur = next,
        }
        if !cur.starts_with(root) {
            return Err(Error::invalid(
                op,
                format!("the target {dst:?} climbs out of the root"),
            ));
        }
    }
    Ok(cur)
}

/// mkdir of every component of `path` below `root` (already there: fine).
fn mkdirs(ops: &mut Vec<Op>, step: Step, root: &Path, path: &Path) {
    let Ok(rel) = path.strip_prefix(root) else {
        return;
    };
    let mut cur = root.to_path_buf();
    for c in rel.components() {
        cur.push(c);
        ops.push(Op {
            tolerate: &[Errno::EEXIST],
            ..Op::new(
                step,
                Sys::Mkdir {
                    path: cstr(&s(&cur)),
                    mode: 0o755,
                },
            )
        });
    }
}

/// An empty file to bind a file onto (already there: fine).
fn touch(ops: &mut Vec<Op>, step: Step, path: &Path) {
    ops.push(Op {
        tolerate: &[Errno::EEXIST],
        ..Op::new(
            step,
            Sys::Open {
                path: cstr(&s(path)),
                flags: libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC,
                mode: 0o644,
                slot: 3,
            },
        )
    });
    ops.push(Op {
        tolerate: &[Errno::EBADF],
        ..Op::quiet(step, Sys::CloseSlot(3))
    });
}

fn mount(
    ops: &mut Vec<Op>,
    step: Step,
    src: Option<&str>,
    target: &Path,
    fstype: Option<&str>,
    flags: u64,
    data: &str,
) {
    ops.push(Op::new(
        step,
        Sys::Mount {
            src: src.map(cstr),
            target: cstr(&s(target)),
            fstype: fstype.map(cstr),
            flags,
            data: (!data.is_empty()).then(|| cstr(data)),
        },
    ));
}

/// A read-only remount of a bind mount, keeping the locked flags of what
/// it shows (`like`).
fn remount_ro(ops: &mut Vec<Op>, step: Step, target: &Path, like: &Path, extra: u64) {
    let flags = libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | locked_flags(like) | extra;
    mount(ops, step, None, target, None, flags, "");
}

/// One `mounts` entry, at `target` (inside the root, or in the tree).
fn entry_ops(ops: &mut Vec<Op>, m: &MountEntry, target: &Path, create: Option<&Path>) {
    let step = Step::Mounts;
    let data = m.data.join(",");
    match &m.kind {
        MountKind::Bind { src, recursive } => {
            if let Some(root) = create {
                let file = std::fs::metadata(src).is_ok_and(|md| !md.is_dir());
                match (file, target.parent()) {
                    (true, Some(parent)) => {
                        mkdirs(ops, step, root, parent);
                        touch(ops, step, target);
                    }
                    _ => mkdirs(ops, step, root, target),
                }
            }
            let rec = if *recursive { libc::MS_REC } else { 0 };
            mount(ops, step, Some(src), target, None, libc::MS_BIND | rec, "");
            if m.readonly || m.flags != 0 {
                // Bind mounts take their flags from a remount.
                let ro = if m.readonly { libc::MS_RDONLY } else { 0 };
                let flags =
                    libc::MS_REMOUNT | libc::MS_BIND | ro | m.flags | locked_flags(Path::new(src));
                mount(ops, step, None, target, None, flags, "");
            }
        }
        kind => {
            if let Some(root) = create {
                mkdirs(ops, step, root, target);
            }
            let ro = if m.readonly { libc::MS_RDONLY } else { 0 };
            let fstype = kind.fstype().unwrap_or("none");
            mount(
                ops,
                step,
                Some(m.source.as_deref().unwrap_or(fstype)),
                target,
                Some(fstype),
                m.flags | ro,
                &data,
            );
        }
    }
}

/// The root's own mounts, its /proc and pivot_root; or, with no root, the
/// `mounts` entries in the private tree.
pub(super) fn mounts(ops: &mut Vec<Op>, spec: &Spec) -> Result<()> {
    let op = "spawn";
    let Some(root) = &spec.root else {
        for m in &spec.mounts {
            entry_ops(ops, m, Path::new(&m.dst), None);
        }
        return Ok(());
    };
    let r = std::fs::canonicalize(root)
        .map_err(|e| Error::io(op, &e).detail(format!("root {root:?} cannot be used")))?;
    mount(
        ops,
        Step::Root,
        Some(&s(&r)),
        &r,
        None,
        libc::MS_BIND | libc::MS_REC,
        "",
    );
    if spec.dev == Some(Dev::Minimal) {
        minimal_dev(ops, &r)?;
    }
    for m in &spec.mounts {
        let target = resolve_in_root(op, &r, &m.dst)?;
        entry_ops(ops, m, &target, Some(&r));
    }
    if spec.dev.is_some() {
        nodes(ops, &r)?;
    }
    if spec.mount_proc {
        let proc = resolve_in_root(op, &r, "/proc")?;
        mkdirs(ops, Step::MountProc, &r, &proc);
        ops.push(super::plan::proc_op(&s(&proc)));
    }
    // pivot_root(".", "."): the old root is stacked on the new one, and
    // detaching it leaves the new root alone, without a folder for the old.
    ops.push(Op::new(Step::PivotRoot, Sys::Chdir(cstr(&s(&r)))));
    ops.push(
        Op::new(
            Step::PivotRoot,
            Sys::PivotRoot {
                new: cstr("."),
                old: cstr("."),
            },
        )
        .note("the directory becomes /; the old root is detached next"),
    );
    ops.push(Op::new(
        Step::PivotRoot,
        Sys::Umount {
            target: cstr("."),
            flags: libc::MNT_DETACH,
        },
    ));
    ops.push(Op::new(Step::PivotRoot, Sys::Chdir(cstr("/"))));
    Ok(())
}

/// A tmpfs on /dev, devpts on /dev/pts (a new instance: its own ptys) and
/// a tmpfs on /dev/shm, as the OCI runtime spec's default mounts have them.
fn minimal_dev(ops: &mut Vec<Op>, r: &Path) -> Result<()> {
    let op = "spawn: dev";
    let dev = resolve_in_root(op, r, "/dev")?;
    mkdirs(ops, Step::Dev, r, &dev);
    mount(
        ops,
        Step::Dev,
        Some("tmpfs"),
        &dev,
        Some("tmpfs"),
        libc::MS_NOSUID | libc::MS_STRICTATIME,
        "mode=755,size=65536k",
    );
    let pts = dev.join("pts");
    mkdirs(ops, Step::Dev, r, &pts);
    mount(
        ops,
        Step::Dev,
        Some("devpts"),
        &pts,
        Some("devpts"),
        libc::MS_NOSUID | libc::MS_NOEXEC,
        "newinstance,ptmxmode=0666,mode=0620",
    );
    let shm = dev.join("shm");
    mkdirs(ops, Step::Dev, r, &shm);
    mount(
        ops,
        Step::Dev,
        Some("shm"),
        &shm,
        Some("tmpfs"),
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        "mode=1777,size=65536k",
    );
    Ok(())
}

/// The device nodes (bind mounts of the host's) and the /dev links.
fn nodes(ops: &mut Vec<Op>, r: &Path) -> Result<()> {
    let op = "spawn: dev";
    let dev = resolve_in_root(op, r, "/dev")?;
    mkdirs(ops, Step::Dev, r, &dev);
    for n in NODES {
        let target = dev.join(n);
        touch(ops, Step::Dev, &target);
        mount(
            ops,
            Step::Dev,
            Some(&format!("/dev/{n}")),
            &target,
            None,
            libc::MS_BIND,
            "",
        );
    }
    let mut links: Vec<(&str, &str)> = LINKS.to_vec();
    if Path::new("/proc/kcore").exists() {
        links.push(("/proc/kcore", "core"));
    }
    for (to, name) in links {
        ops.push(Op {
            tolerate: &[Errno::EEXIST],
            ..Op::new(
                Step::Dev,
                Sys::Symlink {
                    target: cstr(to),
                    link: cstr(&s(&dev.join(name))),
                },
            )
        });
    }
    Ok(())
}

/// Where a path inside the root is on the host, to look at what it is
/// before the plan runs (under /proc and /sys: the host's own).
fn seen_from_host(spec: &Spec, p: &str) -> PathBuf {
    let inside = spec
        .root
        .as_ref()
        .and_then(|r| std::fs::canonicalize(r).ok())
        .map(|r| r.join(p.trim_start_matches('/')));
    match inside {
        Some(i) if i.exists() => i,
        _ => PathBuf::from(p),
    }
}

/// After /proc (and pivot_root): masked and read-only paths, then the
/// read-only root.
pub(super) fn masks(ops: &mut Vec<Op>, spec: &Spec) -> Result<()> {
    if !spec.masked_paths.is_empty() {
        // The mask of a file is the root's /dev/null: make sure there is
        // one, or an ENOENT would read as "nothing to mask".
        ops.push(Op::open(
            Step::Masks,
            "/dev/null",
            libc::O_PATH | libc::O_CLOEXEC,
            3,
        ));
        ops.push(Op::quiet(Step::Masks, Sys::CloseSlot(3)));
    }
    for p in &spec.masked_paths {
        let op = if seen_from_host(spec, p).is_dir() {
            // An empty read-only tmpfs hides a directory.
            Sys::Mount {
                src: Some(cstr("tmpfs")),
                target: cstr(p),
                fstype: Some(cstr("tmpfs")),
                flags: libc::MS_RDONLY,
                data: None,
            }
        } else {
            Sys::Mount {
                src: Some(cstr("/dev/null")),
                target: cstr(p),
                fstype: None,
                flags: libc::MS_BIND,
                data: None,
            }
        };
        // A path that is not there needs no mask.
        ops.push(Op {
            tolerate: &[Errno::ENOENT],
            ..Op::new(Step::Masks, op)
        });
    }
    for p in &spec.readonly_paths {
        let host = seen_from_host(spec, p);
        if !host.exists() {
            continue;
        }
        let target = Path::new(p);
        mount(
            ops,
            Step::Masks,
            Some(p),
            target,
            None,
            libc::MS_BIND | libc::MS_REC,
            "",
        );
        remount_ro(ops, Step::Masks, target, &host, 0);
    }
    if spec.readonly_root {
        if let Some(root) = &spec.root {
            remount_ro(ops, Step::ReadonlyRoot, Path::new("/"), Path::new(root), 0);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_stay_inside_the_root() {
        let base = std::env::temp_dir().join(format!("nsscript-rootfs-{}", std::process::id()));
        let root = base.join("root");
        std::fs::create_dir_all(root.join("run")).expect("mkdir");
        std::fs::create_dir_all(root.join("var")).expect("mkdir");
        let link = |to: &str, at: &str| {
            let _ = std::os::unix::fs::symlink(to, root.join(at));
        };
        link("../run", "var/run");
        link("/etc", "etc");
        link("../../../..", "up");
        let r = |d: &str| resolve_in_root("t", &root, d);
        assert_eq!(r("/dev/pts").ok(), Some(root.join("dev/pts")));
        assert_eq!(r("/var/run/x").ok(), Some(root.join("run/x")));
        let e = r("/etc/passwd").unwrap_err();
        assert!(e.detail.contains("points out of the root"), "{e}");
        assert!(r("/up/x").is_err());
        let _ = std::fs::remove_dir_all(&base);
    }
}
