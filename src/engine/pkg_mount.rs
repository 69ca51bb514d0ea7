//! Mounts for scripts: mount, mount_proc, bind, umount, propagation,
//! pivot_root, and the mount table.
//!
//! Every call that changes mounts refuses in the host's (pid 1's) mount
//! namespace unless `#{host: true}` is passed: as root it would change the
//! host's own table. Unshare or spawn with "mount" first.

use super::error::{invalid, IntoRhai, RResult};
use super::opts;
use super::pkg_core::guard_host_keys;
use crate::os;
use crate::os::ns::Namespace;
use nix::mount::MsFlags;
use rhai::plugin::*;
use rhai::{Array, Dynamic, Map};

/// The MS_* constants scripts see, with the values of the C headers.
pub fn constants() -> Vec<(&'static str, i64)> {
    os::mount::FLAGS
        .iter()
        .map(|(n, f)| (*n, f.bits() as i64))
        .collect()
}

/// Checks `o` against `valid` plus "host", then applies the host guard
/// with the "host" key alone.
fn checked(op: &str, o: &Map, valid: &[&str], how: &str) -> RResult<()> {
    guard_host_keys(op, Namespace::Mount, o, valid, how)
}

/// `()` or "" is "none" (no source, no fstype, no data); else a string.
fn opt_arg(op: &str, what: &str, v: &Dynamic) -> RResult<Option<String>> {
    if v.is_unit() {
        return Ok(None);
    }
    match v.clone().into_string() {
        Ok(s) if s.is_empty() => Ok(None),
        Ok(s) => Ok(Some(s)),
        Err(t) => Err(invalid(
            op,
            format!("{what} must be a string or (), not {t}"),
        )),
    }
}

fn mount_impl(
    src: &Dynamic,
    target: &str,
    fstype: &Dynamic,
    flags: i64,
    data: &Dynamic,
    o: &Map,
) -> RResult<()> {
    const OP: &str = "mount";
    let src = opt_arg(OP, "the source", src)?;
    let fstype = opt_arg(OP, "the fstype", fstype)?;
    let data = opt_arg(OP, "the data", data)?;
    let flags = os::mount::flags_from_bits(OP, flags).rhai()?;
    checked(OP, o, &[], "mount on the host")?;
    os::mount::mount(
        src.as_deref(),
        target,
        fstype.as_deref(),
        flags,
        data.as_deref(),
    )
    .rhai()
}

fn mount_proc_impl(o: &Map) -> RResult<()> {
    const OP: &str = "mount_proc";
    checked(OP, o, &["target"], "mount a proc over the host's")?;
    let target = opts::get_str(OP, o, "target")?.unwrap_or_else(|| "/proc".into());
    os::mount::mount_proc(&target).rhai()
}

fn bind_impl(src: &str, dst: &str, o: &Map) -> RResult<()> {
    const OP: &str = "bind";
    checked(OP, o, &["recursive", "readonly"], "bind-mount on the host")?;
    let recursive = opts::get_bool(OP, o, "recursive")?.unwrap_or(false);
    let readonly = opts::get_bool(OP, o, "readonly")?.unwrap_or(false);
    os::mount::bind(src, dst, recursive, readonly).rhai()
}

fn umount_impl(target: &str, o: &Map) -> RResult<()> {
    const OP: &str = "umount";
    checked(OP, o, &["lazy"], "unmount the host's mounts")?;
    let lazy = opts::get_bool(OP, o, "lazy")?.unwrap_or(false);
    os::mount::umount(target, lazy).rhai()
}

fn propagation_impl(op: &str, kind: MsFlags, path: &str, o: &Map) -> RResult<()> {
    checked(op, o, &["recursive"], "change the host's mount propagation")?;
    let recursive = opts::get_bool(op, o, "recursive")?.unwrap_or(true);
    os::mount::set_propagation(path, kind, recursive).rhai()
}

fn pivot_root_impl(new_root: &str, put_old: &str, o: &Map) -> RResult<()> {
    const OP: &str = "pivot_root";
    checked(OP, o, &[], "change the host's root")?;
    os::mount::pivot_root(new_root, put_old).rhai()
}

fn mount_map(m: os::mount::MountInfo) -> Map {
    let mut r = Map::new();
    r.insert("propagation".into(), m.propagation().into());
    r.insert("id".into(), i64::from(m.id).into());
    r.insert("parent".into(), i64::from(m.parent).into());
    r.insert("major".into(), i64::from(m.major).into());
    r.insert("minor".into(), i64::from(m.minor).into());
    r.insert("dev".into(), format!("{}:{}", m.major, m.minor).into());
    r.insert("root".into(), m.root.into());
    r.insert("mount_point".into(), m.mount_point.into());
    r.insert("options".into(), m.options.into());
    let optional: Array = m.optional.into_iter().map(Dynamic::from).collect();
    r.insert("optional".into(), optional.into());
    r.insert("fstype".into(), m.fstype.into());
    r.insert("source".into(), m.source.into());
    r.insert("super_options".into(), m.super_options.into());
    r
}

fn to_array(v: Vec<os::mount::MountInfo>) -> Array {
    v.into_iter().map(|m| Dynamic::from(mount_map(m))).collect()
}

#[export_module(manifest)]
pub mod mount_fns {
    use super::*;

    /// Mount a fresh proc filesystem on /proc (nosuid, nodev, noexec), like
    /// `mount -t proc proc /proc`. It shows the pid namespace of the
    /// mounting process: the interpreter's own, which `unshare(["pid"])`
    /// does not change (only its later children are in the new one); to
    /// see a new pid namespace, spawn with `#{ns: ["pid", "mount"],
    /// mount_proc: true}`. Refused in the host's mount namespace unless
    /// `#{host: true}`.
    ///
    /// ```rhai
    /// unshare(["mount"]);
    /// mount_proc();
    /// ```
    #[rhai_fn(name = "mount_proc", return_raw)]
    pub fn mount_proc() -> RResult<()> {
        mount_proc_impl(&Map::new())
    }

    /// Mount a fresh proc filesystem on `target`.
    ///
    /// ```rhai
    /// unshare(["mount"]);
    /// mount_proc("/mnt");
    /// ```
    #[rhai_fn(name = "mount_proc", return_raw)]
    pub fn mount_proc_at(target: &str) -> RResult<()> {
        let mut o = Map::new();
        o.insert("target".into(), target.into());
        mount_proc_impl(&o)
    }

    /// Mount proc with options: `target` (default "/proc"), `host`.
    ///
    /// ```rhai
    /// unshare(["mount"]);
    /// mount_proc(#{target: "/mnt"});
    /// ```
    #[rhai_fn(name = "mount_proc", return_raw)]
    pub fn mount_proc_opts(options: Map) -> RResult<()> {
        mount_proc_impl(&options)
    }

    /// mount(2): `mount -t FSTYPE -o DATA SRC TARGET`. `src`, `fstype` and
    /// `data` are strings, or `()` / "" for none; `flags` combines the MS_*
    /// constants (`MS_BIND`, `MS_REC`, `MS_RDONLY`, `MS_NOSUID`, `MS_PRIVATE`...).
    /// Refused in the host's mount namespace unless `#{host: true}` is
    /// passed as a sixth argument.
    ///
    /// ```rhai
    /// unshare(["mount"]);
    /// make_private("/");
    /// mount("tmpfs", "/mnt", "tmpfs", MS_NOSUID | MS_NODEV, "size=16m");
    /// ```
    #[rhai_fn(name = "mount", return_raw)]
    pub fn mount(
        src: Dynamic,
        target: &str,
        fstype: Dynamic,
        flags: i64,
        data: Dynamic,
    ) -> RResult<()> {
        mount_impl(&src, target, &fstype, flags, &data, &Map::new())
    }

    /// mount(2) with options: `#{host: true}` allows mounting in the
    /// host's own mount namespace.
    ///
    /// ```rhai
    /// mount("tmpfs", "/mnt", "tmpfs", 0, (), #{host: true});   // on purpose
    /// ```
    #[rhai_fn(name = "mount", return_raw)]
    pub fn mount_opts(
        src: Dynamic,
        target: &str,
        fstype: Dynamic,
        flags: i64,
        data: Dynamic,
        options: Map,
    ) -> RResult<()> {
        mount_impl(&src, target, &fstype, flags, &data, &options)
    }

    /// A bind mount: `mount --bind SRC DST`.
    ///
    /// ```rhai
    /// unshare(["mount"]);
    /// bind("/etc", "/mnt");
    /// ```
    #[rhai_fn(name = "bind", return_raw)]
    pub fn bind(src: &str, dst: &str) -> RResult<()> {
        bind_impl(src, dst, &Map::new())
    }

    /// A bind mount with options: `recursive` (`--rbind`: the mounts under
    /// `src` too), `readonly` (a read-only view), `host`.
    ///
    /// ```rhai
    /// unshare(["mount"]);
    /// bind("/usr", "/mnt", #{recursive: true, readonly: true});
    /// ```
    #[rhai_fn(name = "bind", return_raw)]
    pub fn bind_opts(src: &str, dst: &str, options: Map) -> RResult<()> {
        bind_impl(src, dst, &options)
    }

    /// Unmount: umount2(2), like `umount TARGET`.
    ///
    /// ```rhai
    /// umount("/mnt");
    /// ```
    #[rhai_fn(name = "umount", return_raw)]
    pub fn umount(target: &str) -> RResult<()> {
        umount_impl(target, &Map::new())
    }

    /// Unmount with options: `lazy` (MNT_DETACH, `umount -l`: detach now,
    /// clean up when no longer busy), `host`.
    ///
    /// ```rhai
    /// umount("/mnt", #{lazy: true});
    /// ```
    #[rhai_fn(name = "umount", return_raw)]
    pub fn umount_opts(target: &str, options: Map) -> RResult<()> {
        umount_impl(target, &options)
    }

    /// Make the mount at `path` and every mount under it private
    /// (`mount --make-rprivate PATH`): nothing mounted here propagates to
    /// other namespaces, nor from them. Do it on "/" right after entering a
    /// new mount namespace and before any mount, or a mount under a shared
    /// `/` appears on the host too.
    ///
    /// ```rhai
    /// unshare(["mount"]);
    /// make_private("/");
    /// ```
    #[rhai_fn(name = "make_private", return_raw)]
    pub fn make_private(path: &str) -> RResult<()> {
        propagation_impl("make_private", MsFlags::MS_PRIVATE, path, &Map::new())
    }

    /// make_private with options: `recursive: false` changes only the one
    /// mount (`--make-private`); `host`.
    ///
    /// ```rhai
    /// make_private("/mnt", #{recursive: false});
    /// ```
    #[rhai_fn(name = "make_private", return_raw)]
    pub fn make_private_opts(path: &str, options: Map) -> RResult<()> {
        propagation_impl("make_private", MsFlags::MS_PRIVATE, path, &options)
    }

    /// Make the mounts at and under `path` slaves (`mount --make-rslave`):
    /// mounts from the peer group still arrive, ours do not leave.
    ///
    /// ```rhai
    /// unshare(["mount"]);
    /// make_slave("/");
    /// ```
    #[rhai_fn(name = "make_slave", return_raw)]
    pub fn make_slave(path: &str) -> RResult<()> {
        propagation_impl("make_slave", MsFlags::MS_SLAVE, path, &Map::new())
    }

    /// make_slave with options: `recursive`, `host`.
    #[rhai_fn(name = "make_slave", return_raw)]
    pub fn make_slave_opts(path: &str, options: Map) -> RResult<()> {
        propagation_impl("make_slave", MsFlags::MS_SLAVE, path, &options)
    }

    /// Make the mounts at and under `path` shared (`mount --make-rshared`):
    /// mounts propagate both ways within the peer group.
    ///
    /// ```rhai
    /// make_shared("/mnt");
    /// ```
    #[rhai_fn(name = "make_shared", return_raw)]
    pub fn make_shared(path: &str) -> RResult<()> {
        propagation_impl("make_shared", MsFlags::MS_SHARED, path, &Map::new())
    }

    /// make_shared with options: `recursive`, `host`.
    #[rhai_fn(name = "make_shared", return_raw)]
    pub fn make_shared_opts(path: &str, options: Map) -> RResult<()> {
        propagation_impl("make_shared", MsFlags::MS_SHARED, path, &options)
    }

    /// pivot_root(2): make `new_root` (a mount point) the root and move the
    /// old root to `put_old` (a directory under `new_root`); then
    /// `umount(put_old, #{lazy: true})` drops it. Refused in the host's
    /// mount namespace unless `#{host: true}`.
    ///
    /// ```rhai
    /// unshare(["mount"]);
    /// make_private("/");
    /// bind("/srv/rootfs", "/srv/rootfs");
    /// pivot_root("/srv/rootfs", "/srv/rootfs/.old");
    /// ```
    #[rhai_fn(name = "pivot_root", return_raw)]
    pub fn pivot_root(new_root: &str, put_old: &str) -> RResult<()> {
        pivot_root_impl(new_root, put_old, &Map::new())
    }

    /// pivot_root with options: `host`.
    #[rhai_fn(name = "pivot_root", return_raw)]
    pub fn pivot_root_opts(new_root: &str, put_old: &str, options: Map) -> RResult<()> {
        pivot_root_impl(new_root, put_old, &options)
    }

    /// The mount table of this process's mount namespace, from
    /// /proc/self/mountinfo: `[#{id, parent, major, minor, dev, root,
    /// mount_point, options, optional, propagation, fstype, source,
    /// super_options}]`. `optional` holds "shared:N", "master:N"...;
    /// `propagation` says it as findmnt does ("shared", "private", "slave").
    ///
    /// ```rhai
    /// for m in mounts() { print(`${m.mount_point} ${m.fstype} ${m.propagation}`); }
    /// ```
    #[rhai_fn(name = "mounts", return_raw)]
    pub fn mounts() -> RResult<Array> {
        os::mount::mounts(None).map(to_array).rhai()
    }

    /// The mount table of process `pid` (/proc/PID/mountinfo): what it
    /// sees in its mount namespace.
    ///
    /// ```rhai
    /// let p = spawn(["sleep", "5"], #{ns: ["mount", "pid"], mount_proc: true});
    /// print(mounts(p.pid).filter(|m| m.fstype == "proc").len());
    /// p.kill();
    /// ```
    #[rhai_fn(name = "mounts", return_raw)]
    pub fn mounts_of(pid: i64) -> RResult<Array> {
        os::mount::mounts(Some(pid)).map(to_array).rhai()
    }
}
