//! Mounts: mount(2), umount2(2), propagation changes, pivot_root(2), and
//! the mount table of /proc/PID/mountinfo (proc(5)).
//!
//! The kernel rules this module lives by:
//! - A new mount namespace starts as a copy of its parent's table, and a
//!   copy of a *shared* mount stays in the same peer group: a mount made
//!   under it propagates back to the parent namespace (systemd makes `/`
//!   shared). So propagation is made private (or slave) BEFORE any mount,
//!   or the "isolated" mount appears on the host too.
//! - A proc filesystem shows the pid namespace of the process that mounts
//!   it (its active one: `unshare(CLONE_NEWPID)` does not change it, only
//!   its later children's), and mounting one needs CAP_SYS_ADMIN in the
//!   user namespace owning that pid namespace, with the existing /proc
//!   fully visible (not partly covered, as in some containers).
//! - MS_RDONLY on a bind mount is ignored by the first mount(2): a
//!   read-only bind is a bind followed by a remount (MS_REMOUNT|MS_BIND|MS_RDONLY).
//! - pivot_root(new, old): both directories; `new` a mount point other than
//!   `/`; `old` at or under `new`; neither on the current root's mount; and
//!   none of the mounts involved shared.

use super::procfs::no_such_process;
/// The mount table as /proc/PID/mountinfo shows it (parsed in os::procfs).
pub use super::procfs::{parse_mountinfo, MountInfo};
use super::trace::{self, Arg, Ret};
use super::{Error, Result};
use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags};

/// The MS_* flags scripts may pass to `mount`, as the C headers name them.
pub const FLAGS: &[(&str, MsFlags)] = &[
    ("MS_RDONLY", MsFlags::MS_RDONLY),
    ("MS_NOSUID", MsFlags::MS_NOSUID),
    ("MS_NODEV", MsFlags::MS_NODEV),
    ("MS_NOEXEC", MsFlags::MS_NOEXEC),
    ("MS_SYNCHRONOUS", MsFlags::MS_SYNCHRONOUS),
    ("MS_REMOUNT", MsFlags::MS_REMOUNT),
    ("MS_MANDLOCK", MsFlags::MS_MANDLOCK),
    ("MS_DIRSYNC", MsFlags::MS_DIRSYNC),
    ("MS_NOATIME", MsFlags::MS_NOATIME),
    ("MS_NODIRATIME", MsFlags::MS_NODIRATIME),
    ("MS_BIND", MsFlags::MS_BIND),
    ("MS_MOVE", MsFlags::MS_MOVE),
    ("MS_REC", MsFlags::MS_REC),
    ("MS_SILENT", MsFlags::MS_SILENT),
    ("MS_POSIXACL", MsFlags::MS_POSIXACL),
    ("MS_UNBINDABLE", MsFlags::MS_UNBINDABLE),
    ("MS_PRIVATE", MsFlags::MS_PRIVATE),
    ("MS_SLAVE", MsFlags::MS_SLAVE),
    ("MS_SHARED", MsFlags::MS_SHARED),
    ("MS_RELATIME", MsFlags::MS_RELATIME),
    ("MS_STRICTATIME", MsFlags::MS_STRICTATIME),
    ("MS_LAZYTIME", MsFlags::MS_LAZYTIME),
];

const HINT_EPERM: &str = "mounting needs CAP_SYS_ADMIN in the user namespace that owns this mount \
     namespace: run as root, or spawn (or unshare) with [\"user\", \"mount\"]";

/// Checks a path argument before the kernel sees it.
fn check_path(op: &str, what: &str, p: &str) -> Result<()> {
    if p.is_empty() {
        return Err(Error::invalid(op, format!("{what} is empty")));
    }
    if p.contains('\0') {
        return Err(Error::invalid(
            op,
            format!("{what} {p:?} contains a NUL byte"),
        ));
    }
    Ok(())
}

/// MS_* bits from a script's integer, refusing unknown bits.
pub fn flags_from_bits(op: &str, bits: i64) -> Result<MsFlags> {
    let known = FLAGS.iter().fold(MsFlags::empty(), |a, (_, f)| a | *f);
    libc::c_ulong::try_from(bits)
        .ok()
        .and_then(MsFlags::from_bits)
        .filter(|f| known.contains(*f))
        .ok_or_else(|| {
            Error::invalid(
                op,
                format!("flags {bits:#x} has bits that are not MS_* mount flags"),
            )
            .hint("combine the MS_* constants with |, e.g. MS_NOSUID | MS_NODEV")
        })
}

/// Names the set flags, for messages and traces: "MS_BIND|MS_REC", in
/// the order strace prints them (lowest bit first).
pub fn flag_names(f: MsFlags) -> String {
    let table: Vec<(u64, &str)> = FLAGS.iter().map(|(n, b)| (b.bits(), *n)).collect();
    trace::flag_names(f.bits(), &table)
}

/// A plain-words note for the mounts that teach, as the trace shows them.
pub(crate) fn mount_note(
    src_none: bool,
    fstype: Option<&[u8]>,
    flags: u64,
) -> Option<&'static str> {
    let propagation = src_none && fstype.is_none();
    if fstype == Some(b"proc".as_slice()) {
        Some("proc shows the pid namespace of the process that mounts it")
    } else if propagation && flags & libc::MS_PRIVATE != 0 {
        Some("mounts under it no longer propagate to or from other mount namespaces")
    } else if propagation && flags & libc::MS_SLAVE != 0 {
        Some("mounts still arrive from its peers; none go back")
    } else if flags & libc::MS_REMOUNT != 0 && flags & libc::MS_BIND != 0 {
        Some("a bind becomes read-only with a second call: the first one ignores MS_RDONLY")
    } else {
        None
    }
}

/// mount(2)'s arguments as strace prints them. The kernel ignores the
/// filesystem type of a remount, bind, move or propagation change, and
/// the data of the last three: strace shows those as the pointers they
/// are.
pub(crate) fn mount_args(
    src: Option<&[u8]>,
    target: &[u8],
    fstype: Option<&[u8]>,
    flags: u64,
    data: Option<&[u8]>,
) -> Vec<Arg> {
    let not_new = libc::MS_BIND | libc::MS_MOVE | PROPAGATION;
    let remount = flags & libc::MS_REMOUNT != 0;
    let ignore_type = remount || flags & not_new != 0;
    let ignore_data = !remount && flags & not_new != 0;
    let arg = |v: Option<&[u8]>, ignored: bool| match v {
        None => Arg::Const("NULL".into()),
        Some(_) if ignored => Arg::Ptr,
        Some(b) => Arg::Str(b.to_vec()),
    };
    vec![
        arg(src, false),
        Arg::Str(target.to_vec()),
        arg(fstype, ignore_type),
        Arg::Const(flag_names(MsFlags::from_bits_retain(
            flags as libc::c_ulong,
        ))),
        arg(data, ignore_data),
    ]
}

/// The propagation types of mount(2).
const PROPAGATION: u64 = libc::MS_SHARED | libc::MS_PRIVATE | libc::MS_SLAVE | libc::MS_UNBINDABLE;

/// mount(2), reported when tracing, with `note` or the one `mount_note`
/// finds.
pub(crate) fn sys_mount(
    src: Option<&str>,
    target: &str,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
    note: Option<&str>,
) -> std::result::Result<(), Errno> {
    let r = nix::mount::mount(src, target, fstype, flags, data);
    let note = note.or_else(|| mount_note(src.is_none(), fstype.map(str::as_bytes), flags.bits()));
    trace::here("mount", Ret::of(&r), note, || {
        mount_args(
            src.map(str::as_bytes),
            target.as_bytes(),
            fstype.map(str::as_bytes),
            flags.bits(),
            data.map(str::as_bytes),
        )
    });
    r
}

/// umount2(2), reported when tracing.
pub(crate) fn sys_umount2(target: &str, flags: MntFlags) -> std::result::Result<(), Errno> {
    let r = nix::mount::umount2(target, flags);
    trace::here("umount2", Ret::of(&r), None, || {
        vec![
            Arg::Str(target.as_bytes().to_vec()),
            Arg::Const(match flags.contains(MntFlags::MNT_DETACH) {
                true => "MNT_DETACH".into(),
                false => format!("{}", flags.bits()),
            }),
        ]
    });
    r
}

/// The hint for an errno from mount(2).
fn mount_hint(e: Error, target: &str, fstype: Option<&str>) -> Error {
    match e.errno {
        Some(Errno::EPERM) => e.hint(HINT_EPERM),
        Some(Errno::ENOENT) => e.hint(format!(
            "'{target}' (or the source) does not exist: create the directory first"
        )),
        Some(Errno::ENOTDIR) => e.hint(format!("a component of '{target}' is not a directory")),
        Some(Errno::ENODEV) => e.hint(format!(
            "the kernel has no filesystem type {:?} (see /proc/filesystems)",
            fstype.unwrap_or("")
        )),
        Some(Errno::EBUSY) => e.hint(format!("'{target}' is busy or already mounted that way")),
        Some(Errno::EINVAL) => e.hint(format!(
            "'{target}' is not a mount point (for a propagation change, remount or move), \
             or the flags do not go together"
        )),
        Some(Errno::EACCES) => {
            e.hint("a path component is not searchable, or the source is on a noexec/nodev mount")
        }
        _ => e,
    }
}

/// mount(2): `mount -t FSTYPE -o DATA SRC TARGET` with MS_* flags.
pub fn mount(
    src: Option<&str>,
    target: &str,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
) -> Result<()> {
    let op = format!(
        "mount({}, {target}, {}, {})",
        src.unwrap_or("none"),
        fstype.unwrap_or("none"),
        flag_names(flags)
    );
    check_path(&op, "the target", target)?;
    for (what, v) in [
        ("the source", src),
        ("the fstype", fstype),
        ("the data", data),
    ] {
        if let Some(v) = v {
            if v.contains('\0') {
                return Err(Error::invalid(
                    &op,
                    format!("{what} {v:?} contains a NUL byte"),
                ));
            }
        }
    }
    sys_mount(src, target, fstype, flags, data, None)
        .map_err(|e| mount_hint(Error::sys(&op, e), target, fstype))
}

/// Mounts a fresh proc filesystem on `target` (nosuid, nodev, noexec),
/// like `mount -t proc proc /proc`. It shows the pid namespace the caller
/// is in (see the module comment).
pub fn mount_proc(target: &str) -> Result<()> {
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount(Some("proc"), target, Some("proc"), flags, None).map_err(|e| match e.errno {
        Some(Errno::EPERM) => e.hint(
            "proc needs CAP_SYS_ADMIN over the caller's pid namespace and a fully visible /proc; \
             the interpreter stays in its own pid namespace after unshare([\"pid\"]): spawn with \
             #{ns: [\"pid\", \"mount\"], mount_proc: true} to get a /proc of the new one",
        ),
        _ => e,
    })
}

/// A bind mount: `mount --bind SRC DST` (`--rbind` when recursive). A
/// read-only bind takes a second, remounting call: the kernel ignores
/// MS_RDONLY on the bind itself.
pub fn bind(src: &str, dst: &str, recursive: bool, readonly: bool) -> Result<()> {
    let op = format!("bind({src}, {dst})");
    check_path(&op, "the source", src)?;
    check_path(&op, "the destination", dst)?;
    let mut flags = MsFlags::MS_BIND;
    if recursive {
        flags |= MsFlags::MS_REC;
    }
    sys_mount(Some(src), dst, None, flags, None, None)
        .map_err(|e| mount_hint(Error::sys(&op, e), dst, None))?;
    if readonly {
        let ro = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY;
        if let Err(e) = sys_mount(None, dst, None, ro, None, None) {
            // Leave nothing half-done: the bind goes if it cannot be read-only.
            let _ = sys_umount2(dst, MntFlags::MNT_DETACH);
            return Err(mount_hint(
                Error::sys(format!("{op}: remount read-only"), e),
                dst,
                None,
            ));
        }
    }
    Ok(())
}

/// umount2(2): `umount TARGET`, or `umount -l` (MNT_DETACH) when lazy.
pub fn umount(target: &str, lazy: bool) -> Result<()> {
    let op = format!("umount({target})");
    check_path(&op, "the target", target)?;
    let flags = if lazy {
        MntFlags::MNT_DETACH
    } else {
        MntFlags::empty()
    };
    sys_umount2(target, flags).map_err(|e| {
        let err = Error::sys(&op, e);
        match e {
            Errno::EINVAL => err.hint(format!("'{target}' is not a mount point")),
            Errno::EBUSY => err.hint(
                "in use (a process has its cwd or an open file there): pass #{lazy: true} to detach it now",
            ),
            Errno::ENOENT => err.hint(format!("'{target}' does not exist")),
            Errno::EPERM => err.hint(HINT_EPERM),
            _ => err,
        }
    })
}

/// Changes the propagation of the mount at `path` (and, when recursive,
/// of every mount under it): `mount --make-[r]private|slave|shared|unbindable`.
/// `kind` is one of MS_PRIVATE, MS_SLAVE, MS_SHARED, MS_UNBINDABLE.
pub fn set_propagation(path: &str, kind: MsFlags, recursive: bool) -> Result<()> {
    let name = match kind {
        k if k == MsFlags::MS_PRIVATE => "private",
        k if k == MsFlags::MS_SLAVE => "slave",
        k if k == MsFlags::MS_SHARED => "shared",
        k if k == MsFlags::MS_UNBINDABLE => "unbindable",
        _ => {
            return Err(Error::invalid(
                "set_propagation",
                "kind must be one of MS_PRIVATE, MS_SLAVE, MS_SHARED, MS_UNBINDABLE",
            ))
        }
    };
    let op = format!("make_{name}({path})");
    check_path(&op, "the path", path)?;
    let flags = if recursive {
        kind | MsFlags::MS_REC
    } else {
        kind
    };
    sys_mount(None, path, None, flags, None, None).map_err(|e| {
        let err = Error::sys(&op, e);
        match e {
            Errno::EINVAL => err.hint(format!(
                "'{path}' is not a mount point: propagation belongs to mounts (see mounts())"
            )),
            _ => mount_hint(err, path, None),
        }
    })
}

/// pivot_root(2): make `new_root` the root mount and move the old root to
/// `put_old` (a directory under `new_root`).
pub fn pivot_root(new_root: &str, put_old: &str) -> Result<()> {
    let op = format!("pivot_root({new_root}, {put_old})");
    check_path(&op, "new_root", new_root)?;
    check_path(&op, "put_old", put_old)?;
    let r = nix::unistd::pivot_root(new_root, put_old);
    trace::here(
        "pivot_root",
        Ret::of(&r),
        Some("new_root becomes / of this mount namespace; the old root moves to put_old"),
        || {
            vec![
                Arg::Str(new_root.as_bytes().to_vec()),
                Arg::Str(put_old.as_bytes().to_vec()),
            ]
        },
    );
    r.map_err(|e| {
        let err = Error::sys(&op, e);
        match e {
            Errno::EINVAL => err.hint(
                "new_root must be a mount point other than / (bind it onto itself first), put_old \
                 must be at or under new_root, and no mount involved may be shared (make_private(\"/\"))",
            ),
            Errno::EBUSY => err.hint("new_root or put_old is on the current root's mount, or put_old is a mount point"),
            Errno::ENOENT | Errno::ENOTDIR => err.hint("new_root and put_old must be existing directories"),
            Errno::EPERM => err.hint(HINT_EPERM),
            _ => err,
        }
    })
}

/// The mount table of this process (`None`) or of process `pid`, from
/// /proc/PID/mountinfo: what `findmnt` and `cat /proc/self/mountinfo` show.
pub fn mounts(pid: Option<i64>) -> Result<Vec<MountInfo>> {
    let (op, path) = match pid {
        None => ("mounts()".to_string(), "/proc/self/mountinfo".to_string()),
        Some(p) => {
            let op = format!("mounts({p})");
            let p = i32::try_from(p).ok().filter(|p| *p > 0).ok_or_else(|| {
                Error::invalid(&op, format!("{p} is not a valid pid (1 to 2147483647)"))
            })?;
            (op, format!("/proc/{p}/mountinfo"))
        }
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        let err = Error::io(&op, &e);
        match pid {
            Some(p) => no_such_process(p as i32)(err),
            None => err.hint("is /proc mounted?"),
        }
    })?;
    parse_mountinfo(&text)
        .map_err(|why| Error::with_errno(&op, Errno::EBADMSG, format!("{path}: {why}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard
60 27 0:5 / /my\\040dir rw - tmpfs none rw,size=10k
61 27 0:6 / /u rw shared:4 master:2 unbindable - tmpfs  rw
";

    #[test]
    fn parses_every_field_and_propagation() {
        let v = parse_mountinfo(SAMPLE).unwrap();
        assert_eq!(v.len(), 4);
        let m = &v[0];
        assert_eq!((m.id, m.parent, m.major, m.minor), (36, 35, 98, 0));
        assert_eq!(
            (m.root.as_str(), m.mount_point.as_str()),
            ("/mnt1", "/mnt2")
        );
        assert_eq!(m.options, "rw,noatime");
        assert_eq!(m.optional, ["master:1"]);
        assert_eq!(
            (m.fstype.as_str(), m.source.as_str()),
            ("ext3", "/dev/root")
        );
        assert_eq!(m.super_options, "rw,errors=continue");
        assert_eq!(m.propagation(), "slave");
        assert_eq!(v[1].propagation(), "shared");
        assert_eq!(v[2].mount_point, "/my dir");
        assert_eq!(v[2].propagation(), "private");
        assert_eq!(v[3].propagation(), "shared,slave,unbindable");
        // An empty source is kept empty, not shifted.
        assert_eq!(
            (v[3].source.as_str(), v[3].super_options.as_str()),
            ("", "rw")
        );
    }

    #[test]
    fn bad_lines_are_errors_not_panics() {
        for bad in [
            "",
            "1 2",
            "x 1 0:1 / / rw - proc proc rw",
            "1 1 01 / / rw - a b c",
            "1 1 0:1 / / rw shared:1",
        ] {
            let r = parse_mountinfo(bad);
            if bad.is_empty() {
                assert_eq!(r, Ok(vec![]));
            } else {
                assert!(r.is_err(), "{bad:?} parsed");
            }
        }
    }

    #[test]
    fn own_table_parses_and_has_a_root() {
        let v = mounts(None).unwrap();
        assert!(v.iter().any(|m| m.mount_point == "/"), "{v:?}");
        assert_eq!(
            mounts(Some(std::process::id() as i64)).unwrap().len(),
            v.len()
        );
    }

    #[test]
    fn mount_args_read_as_strace_prints_them() {
        // As strace 6.1 printed the same calls: what the kernel ignores is
        // shown as a pointer.
        let call = |src: Option<&str>, fstype: Option<&str>, flags: u64, data: Option<&str>| {
            let args = mount_args(
                src.map(str::as_bytes),
                b"/mnt",
                fstype.map(str::as_bytes),
                flags,
                data.map(str::as_bytes),
            );
            trace::Event::new(1, "mount", args, Ret::Val(0)).call()
        };
        assert_eq!(
            call(Some("/tmp"), Some("none"), libc::MS_BIND, Some("x")),
            r#"mount("/tmp", "/mnt", ..., MS_BIND, ...)"#
        );
        let ro = libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY;
        assert_eq!(
            call(Some("src"), Some("xfs"), ro, Some("d")),
            r#"mount("src", "/mnt", ..., MS_RDONLY|MS_REMOUNT|MS_BIND, "d")"#
        );
        assert_eq!(
            call(None, None, libc::MS_REC | libc::MS_PRIVATE, None),
            r#"mount(NULL, "/mnt", NULL, MS_REC|MS_PRIVATE, NULL)"#
        );
        assert_eq!(
            call(Some("src"), Some("xfs"), libc::MS_NOSUID, Some("d")),
            r#"mount("src", "/mnt", "xfs", MS_NOSUID, "d")"#
        );
    }

    #[test]
    fn bad_input_is_clear() {
        assert_eq!(mounts(Some(-3)).unwrap_err().errno, Some(Errno::EINVAL));
        assert_eq!(
            mounts(Some(i32::MAX as i64)).unwrap_err().errno,
            Some(Errno::ESRCH)
        );
        assert_eq!(
            flags_from_bits("mount", -1).unwrap_err().errno,
            Some(Errno::EINVAL)
        );
        assert_eq!(
            flags_from_bits("mount", 1 << 40).unwrap_err().errno,
            Some(Errno::EINVAL)
        );
        assert_eq!(
            flags_from_bits("mount", (libc::MS_BIND | libc::MS_REC) as i64).unwrap(),
            MsFlags::MS_BIND | MsFlags::MS_REC
        );
        for e in [
            mount(None, "", None, MsFlags::empty(), None).unwrap_err(),
            mount(Some("a\0b"), "/x", None, MsFlags::empty(), None).unwrap_err(),
            umount("", false).unwrap_err(),
            bind("/a\0", "/b", false, false).unwrap_err(),
            pivot_root("", "/old").unwrap_err(),
            set_propagation("", MsFlags::MS_PRIVATE, true).unwrap_err(),
            set_propagation("/", MsFlags::MS_BIND, true).unwrap_err(),
        ] {
            assert_eq!(e.errno, Some(Errno::EINVAL), "{e:?}");
            assert!(!e.detail.is_empty(), "{e:?}");
        }
        assert_eq!(
            flag_names(MsFlags::MS_BIND | MsFlags::MS_REC),
            "MS_BIND|MS_REC"
        );
    }
}
