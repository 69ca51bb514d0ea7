//! What a new process (or the interpreter itself, for unshare) is set up
//! with: the checked options (`Spec`), the one validator, and the plan of
//! system calls rendered from them before anything is cloned (`plan`).
//!
//! The setup order, and the kernel rule behind each step, is in
//! ARCHITECTURE.md ("The setup order").

pub mod plan;
pub mod rootfs;
pub mod wire;

use super::idmap::{self, IdRange, SetGroups};
use super::ns::{Namespace, NsSet};
use super::nsfs::Target;
use super::{Error, Result};
use nix::errno::Errno;
use std::sync::Arc;

/// Where a standard stream of the child goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stdio {
    #[default]
    Inherit,
    Null,
    Pipe,
}

impl std::str::FromStr for Stdio {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "inherit" => Ok(Stdio::Inherit),
            "null" => Ok(Stdio::Null),
            "pipe" => Ok(Stdio::Pipe),
            _ => Err(format!(
                "{s:?} is not one of \"inherit\", \"null\", \"pipe\""
            )),
        }
    }
}

/// Mount propagation applied to / in a new mount namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Propagation {
    #[default]
    Private,
    Slave,
    Shared,
    Unchanged,
}

impl std::str::FromStr for Propagation {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "private" => Ok(Propagation::Private),
            "slave" => Ok(Propagation::Slave),
            "shared" => Ok(Propagation::Shared),
            "unchanged" => Ok(Propagation::Unchanged),
            _ => Err(format!(
                "{s:?} is not one of \"private\", \"slave\", \"shared\", \"unchanged\""
            )),
        }
    }
}

impl Propagation {
    /// The mount(2) flag, with its name; None for "unchanged".
    pub fn flag(self) -> Option<(libc::c_ulong, &'static str)> {
        match self {
            Propagation::Private => Some((libc::MS_PRIVATE, "MS_PRIVATE")),
            Propagation::Slave => Some((libc::MS_SLAVE, "MS_SLAVE")),
            Propagation::Shared => Some((libc::MS_SHARED, "MS_SHARED")),
            Propagation::Unchanged => None,
        }
    }
}

/// Clock offsets for a new time namespace, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeOffsets {
    pub monotonic: i64,
    pub boottime: i64,
}

impl TimeOffsets {
    /// The text of /proc/PID/timens_offsets (time_namespaces(7)).
    pub fn render(self) -> String {
        format!(
            "monotonic {} 0\nboottime {} 0\n",
            self.monotonic, self.boottime
        )
    }
}

/// What a mount entry mounts (spawn's `mounts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountKind {
    /// A bind mount of `src`, a path outside the new root.
    Bind {
        src: String,
        recursive: bool,
    },
    Tmpfs,
    Proc,
    Sysfs,
    Devpts,
    Mqueue,
}

impl MountKind {
    pub const NAMES: [&'static str; 6] = ["bind", "tmpfs", "proc", "sysfs", "devpts", "mqueue"];

    /// The filesystem type mount(2) takes.
    pub fn fstype(&self) -> Option<&'static str> {
        match self {
            MountKind::Bind { .. } => None,
            MountKind::Tmpfs => Some("tmpfs"),
            MountKind::Proc => Some("proc"),
            MountKind::Sysfs => Some("sysfs"),
            MountKind::Devpts => Some("devpts"),
            MountKind::Mqueue => Some("mqueue"),
        }
    }
}

/// One entry of spawn's `mounts`: what, where (inside the new root, or
/// the whole tree without one), and mount(8)-style options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    pub kind: MountKind,
    /// An absolute path; inside the new root when there is one.
    pub dst: String,
    pub readonly: bool,
    /// MS_* flags from the options (nosuid, nodev, noexec, ...).
    pub flags: u64,
    /// Filesystem data from the options (size=64m, mode=755, ...).
    pub data: Vec<String>,
    /// The source mount(2) is given for a filesystem that has none (what
    /// the mount table shows, like "shm"); its type name when unset.
    pub source: Option<String>,
}

/// The devices a new root gets (spawn's `dev`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dev {
    /// What the OCI runtime spec requires: a tmpfs on /dev with null, zero,
    /// full, random, urandom and tty, devpts on /dev/pts with ptmx, a tmpfs
    /// on /dev/shm, and the fd, stdin, stdout, stderr links.
    Minimal,
    /// The device nodes and links only, on the /dev that `mounts` made.
    Nodes,
}

/// The PID 1 put in front of the command (spawn's `init`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Init {
    /// Forward signals to the command's process group, not only to it.
    pub pgroup: bool,
}

/// Everything a spawn, an in_ns child or an unshare was asked for.
#[derive(Debug, Clone, Default)]
pub struct Spec {
    /// argv; argv[0] is the program (looked up in PATH when it has no '/').
    pub argv: Vec<String>,
    pub ns: NsSet,
    pub uid_map: Option<Vec<IdRange>>,
    pub gid_map: Option<Vec<IdRange>>,
    pub setgroups: Option<SetGroups>,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub mount_proc: bool,
    pub propagation: Propagation,
    pub cwd: Option<String>,
    pub env: Vec<(String, String)>,
    pub clear_env: bool,
    pub stdin: Stdio,
    pub stdout: Stdio,
    pub stderr: Stdio,
    pub time_offsets: Option<TimeOffsets>,
    /// Keep every step's event (the Process's `trace`).
    pub trace: bool,
    /// Namespaces of another process to join before anything else (`enter`,
    /// and spawn's `join` option); the kinds in `ns` are then created
    /// inside them.
    pub join: Option<Arc<Target>>,
    /// A directory that becomes / (pivot_root), with what is mounted in it.
    pub root: Option<String>,
    pub readonly_root: bool,
    pub mounts: Vec<MountEntry>,
    pub dev: Option<Dev>,
    /// Paths hidden inside (OCI maskedPaths): /dev/null over a file, an
    /// empty read-only tmpfs over a directory.
    pub masked_paths: Vec<String>,
    /// Paths made read-only inside (OCI readonlyPaths).
    pub readonly_paths: Vec<String>,
    pub no_new_privs: bool,
    pub init: Option<Init>,
    /// Ids the program runs with, inside its user namespace.
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub groups: Option<Vec<u32>>,
    /// Bring lo up in the new network namespace.
    pub lo_up: bool,
    /// The bounding set the program keeps (a bit per capability); the
    /// others are dropped before exec.
    pub capabilities: Option<u64>,
    /// Resource limits set before exec.
    pub rlimits: Vec<Rlimit>,
}

/// One resource limit (setrlimit(2)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rlimit {
    pub resource: u32,
    pub soft: u64,
    pub hard: u64,
}

impl Rlimit {
    /// The resources by the names getrlimit(2) gives them, without RLIMIT_.
    pub const NAMES: [(&'static str, u32); 16] = [
        ("cpu", libc::RLIMIT_CPU),
        ("fsize", libc::RLIMIT_FSIZE),
        ("data", libc::RLIMIT_DATA),
        ("stack", libc::RLIMIT_STACK),
        ("core", libc::RLIMIT_CORE),
        ("rss", libc::RLIMIT_RSS),
        ("nproc", libc::RLIMIT_NPROC),
        ("nofile", libc::RLIMIT_NOFILE),
        ("memlock", libc::RLIMIT_MEMLOCK),
        ("as", libc::RLIMIT_AS),
        ("locks", libc::RLIMIT_LOCKS),
        ("sigpending", libc::RLIMIT_SIGPENDING),
        ("msgqueue", libc::RLIMIT_MSGQUEUE),
        ("nice", libc::RLIMIT_NICE),
        ("rtprio", libc::RLIMIT_RTPRIO),
        ("rttime", libc::RLIMIT_RTTIME),
    ];

    /// The RLIMIT_ name of a resource, as strace prints it.
    pub fn name(resource: u32) -> String {
        Self::NAMES
            .iter()
            .find(|(_, r)| *r == resource)
            .map_or_else(
                || resource.to_string(),
                |(n, _)| format!("RLIMIT_{}", n.to_ascii_uppercase()),
            )
    }
}

/// Which kind of setup a spec is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A new process that execs a program (spawn, run, enter).
    Spawn,
    /// A copy of the interpreter in new namespaces (in_ns).
    Fork,
    /// The interpreter itself (unshare).
    Unshare,
}

/// The steps of a setup, in the order they run; errors name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Step {
    Clone = 0,
    Signals,
    DieWithParent,
    Join,
    WriteMaps,
    WaitForMaps,
    Unshare,
    Fork,
    Stdio,
    Propagation,
    MountProc,
    Hostname,
    Domainname,
    TimeNamespace,
    Chdir,
    Root,
    Mounts,
    Dev,
    PivotRoot,
    Masks,
    ReadonlyRoot,
    Lo,
    Rlimits,
    Capabilities,
    Ids,
    NoNewPrivs,
    Fds,
    Init,
    Exec,
}

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Step::Clone => "clone",
            Step::Signals => "reset signals",
            Step::DieWithParent => "die with parent",
            Step::Join => "setns",
            Step::WriteMaps => "write id maps",
            Step::WaitForMaps => "wait for id maps",
            Step::Unshare => "unshare",
            Step::Fork => "fork into the pid namespace",
            Step::Stdio => "set up stdio",
            Step::Propagation => "mount propagation",
            Step::MountProc => "mount /proc",
            Step::Hostname => "sethostname",
            Step::Domainname => "setdomainname",
            Step::TimeNamespace => "time namespace",
            Step::Chdir => "chdir",
            Step::Root => "bind the root",
            Step::Mounts => "mounts",
            Step::Dev => "dev",
            Step::PivotRoot => "pivot_root",
            Step::Masks => "masked and read-only paths",
            Step::ReadonlyRoot => "read-only root",
            Step::Lo => "lo up",
            Step::Rlimits => "rlimits",
            Step::Capabilities => "capabilities",
            Step::Ids => "set ids",
            Step::NoNewPrivs => "no_new_privs",
            Step::Fds => "close fds",
            Step::Init => "start the command under init",
            Step::Exec => "exec",
        }
    }
}

/// "add \"uts\" to ns (or CLONE_NEWUTS to flags)": how to ask for a kind.
fn add_kind(mode: Mode, kind: Namespace) -> String {
    match mode {
        Mode::Unshare => format!("add \"{}\" to the kinds", kind.name()),
        _ => format!(
            "add \"{}\" to ns (or {} to flags)",
            kind.name(),
            kind.flag_name()
        ),
    }
}

fn no_nul(op: &str, what: &str, s: &str) -> Result<()> {
    if s.contains('\0') {
        return Err(Error::invalid(
            op,
            format!("{what} contains a NUL byte: {s:?}"),
        ));
    }
    Ok(())
}

/// The one validator: checks a spec before anything is created, so that
/// bad input is an error naming the problem and no setup is ever left
/// half-done (an unshare cannot be undone, a clone has a cost).
pub fn check(op: &str, spec: &Spec, mode: Mode) -> Result<()> {
    let has = |n| spec.ns.contains(n);
    let need = |what: &str, kind: Namespace, why: &str| {
        Err(Error::invalid(
            op,
            format!("{what} needs a new {} namespace{why}", kind.name()),
        )
        .hint(add_kind(mode, kind)))
    };
    if mode == Mode::Unshare && spec.ns.is_empty() {
        return Err(Error::invalid(
            op,
            "no namespace kinds given; name some, like [\"uts\"] or [\"user\", \"net\"]",
        ));
    }
    if spec.hostname.is_some() && !has(Namespace::Uts) && !joins(spec, Namespace::Uts) {
        return need("hostname", Namespace::Uts, ", or it would rename the host");
    }
    if spec.domainname.is_some() && !has(Namespace::Uts) && !joins(spec, Namespace::Uts) {
        return need(
            "domainname",
            Namespace::Uts,
            ", or it would change the host's",
        );
    }
    if (spec.uid_map.is_some() || spec.gid_map.is_some() || spec.setgroups.is_some())
        && !has(Namespace::User)
    {
        return need("uid_map, gid_map and setgroups", Namespace::User, "");
    }
    if spec.time_offsets.is_some() && !has(Namespace::Time) {
        return need("time_offsets", Namespace::Time, "");
    }
    if spec.propagation != Propagation::Private && !has(Namespace::Mount) {
        return need("propagation", Namespace::Mount, "");
    }
    for (what, name) in [
        ("hostname", &spec.hostname),
        ("domainname", &spec.domainname),
    ] {
        if let Some(n) = name {
            super::uts::check_name(op, what, n)?;
        }
    }
    for (which, map) in [("uid_map", &spec.uid_map), ("gid_map", &spec.gid_map)] {
        if let Some(m) = map {
            idmap::validate(&format!("{op}: {which}"), m)?;
        }
    }
    if mode == Mode::Unshare {
        check_own_maps(op, spec)?;
    }
    check_join(op, spec)?;
    if mode == Mode::Spawn {
        check_command(op, spec)?;
    }
    check_container(op, spec, mode)?;
    if let Some(c) = &spec.cwd {
        if c.is_empty() {
            return Err(Error::invalid(op, "cwd is empty"));
        }
        no_nul(op, "cwd", c)?;
    }
    Ok(())
}

fn joins(spec: &Spec, kind: Namespace) -> bool {
    spec.join.as_ref().is_some_and(|t| t.ns.contains(kind))
}

/// A program, its arguments and its environment become C strings.
fn check_command(op: &str, spec: &Spec) -> Result<()> {
    if spec.argv.first().map_or(true, |p| p.is_empty()) {
        return Err(Error::invalid(
            op,
            "the command is empty; give a program, like \"sh\" or [\"ls\", \"-l\"]",
        ));
    }
    for a in &spec.argv {
        no_nul(op, "an argument", a)?;
    }
    for (k, v) in &spec.env {
        if k.is_empty() || k.contains('=') {
            return Err(Error::invalid(
                op,
                format!("environment name {k:?} is empty or has '='"),
            ));
        }
        no_nul(op, "the environment", k)?;
        no_nul(op, "the environment", v)?;
    }
    Ok(())
}

/// Joining and creating at once (spawn's `join`): the new namespaces are
/// created inside the joined ones, by the joined user namespace.
fn check_join(op: &str, spec: &Spec) -> Result<()> {
    let Some(t) = &spec.join else {
        return Ok(());
    };
    let both: Vec<&str> =
        t.ns.iter()
            .filter(|k| spec.ns.contains(*k))
            .map(|k| k.name())
            .collect();
    if !both.is_empty() {
        return Err(Error::invalid(
            op,
            format!(
                "{} both joined and created; a process is in one namespace of each kind",
                both.join(", ")
            ),
        ));
    }
    if t.ns.contains(Namespace::User) && spec.ns.contains(Namespace::User) {
        return Err(Error::invalid(
            op,
            "a user namespace cannot be joined and created at once",
        ));
    }
    if spec.ns.contains(Namespace::User) {
        return Err(Error::invalid(
            op,
            "a new user namespace under joined namespaces is not supported: its id maps would have to be written from inside the joined user namespace",
        )
        .hint("join the user namespace (join: #{pid, ns: [\"user\"]}) and create the others"));
    }
    Ok(())
}

/// Paths inside a root are absolute and never climb out of it by `..`.
fn inside_path(op: &str, what: &str, p: &str) -> Result<()> {
    no_nul(op, what, p)?;
    if !p.starts_with('/') {
        return Err(Error::invalid(
            op,
            format!("{what} {p:?} must be an absolute path (inside the new root)"),
        ));
    }
    if p.split('/').any(|c| c == "..") {
        return Err(Error::invalid(
            op,
            format!("{what} {p:?} has a \"..\": a target may not climb out of the root"),
        ));
    }
    Ok(())
}

/// A root of its own, mounts, devices, init, ids: the container options.
fn check_container(op: &str, spec: &Spec, mode: Mode) -> Result<()> {
    let container = spec.root.is_some()
        || !spec.mounts.is_empty()
        || spec.dev.is_some()
        || spec.readonly_root
        || !spec.masked_paths.is_empty()
        || !spec.readonly_paths.is_empty()
        || spec.init.is_some()
        || spec.capabilities.is_some()
        || !spec.rlimits.is_empty();
    if container && mode != Mode::Spawn {
        return Err(Error::invalid(
            op,
            "root, mounts, dev, masked/readonly paths, init, capabilities and rlimits are options of spawn",
        ));
    }
    let mount_ns = spec.ns.contains(Namespace::Mount);
    if (spec.root.is_some() || !spec.mounts.is_empty()) && !mount_ns {
        return Err(
            Error::invalid(op, "root and mounts need a new mount namespace")
                .hint(add_kind(mode, Namespace::Mount)),
        );
    }
    if let Some(r) = &spec.root {
        no_nul(op, "root", r)?;
        match std::fs::metadata(r) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(Error::with_errno(
                    op,
                    Errno::ENOTDIR,
                    format!("root {r:?} is not a directory"),
                ))
            }
            Err(e) => {
                return Err(Error::io(op, &e)
                    .detail(format!("root {r:?} cannot be used"))
                    .hint("give the directory of an unpacked root filesystem (like an OCI bundle's rootfs)"))
            }
        }
    } else {
        for (what, set) in [
            ("dev", spec.dev.is_some()),
            ("readonly_root", spec.readonly_root),
        ] {
            if set {
                return Err(Error::invalid(
                    op,
                    format!("{what} needs root: a directory that becomes /"),
                ));
            }
        }
    }
    for m in &spec.mounts {
        inside_path(op, "mount target", &m.dst)?;
        if let MountKind::Bind { src, .. } = &m.kind {
            no_nul(op, "bind source", src)?;
            if let Err(e) = std::fs::metadata(src) {
                return Err(Error::io(op, &e).detail(format!("bind source {src:?} cannot be used")));
            }
        }
    }
    for p in spec.masked_paths.iter().chain(&spec.readonly_paths) {
        inside_path(op, "masked or read-only path", p)?;
    }
    if spec.lo_up && !spec.ns.contains(Namespace::Net) && !joins(spec, Namespace::Net) {
        return Err(Error::invalid(op, "lo_up needs a new network namespace")
            .hint(add_kind(mode, Namespace::Net)));
    }
    for r in &spec.rlimits {
        if r.soft > r.hard {
            return Err(Error::invalid(
                op,
                format!(
                    "{}: the soft limit {} is above the hard limit {}",
                    Rlimit::name(r.resource),
                    r.soft,
                    r.hard
                ),
            ));
        }
    }
    if spec.init.is_some() {
        let pid = spec.ns.contains(Namespace::Pid) || joins(spec, Namespace::Pid);
        if !pid {
            return Err(Error::invalid(
                op,
                "init is the PID 1 of a new pid namespace: it needs one",
            )
            .hint(add_kind(mode, Namespace::Pid)));
        }
    }
    Ok(())
}

/// Without CAP_SETUID/CAP_SETGID a map may only be the writer's own id,
/// once (user_namespaces(7)). For unshare, which cannot be undone, other
/// maps are refused before anything changes.
fn check_own_maps(op: &str, spec: &Spec) -> Result<()> {
    use super::ident::{egid, euid};
    if euid() == 0 {
        return Ok(());
    }
    let own_only = |m: &[IdRange], id: u32| m.len() == 1 && m[0].outside == id && m[0].count == 1;
    for (which, map, id) in [
        ("uid_map", &spec.uid_map, euid()),
        ("gid_map", &spec.gid_map, egid()),
    ] {
        if let Some(m) = map {
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(argv: &[&str]) -> Spec {
        Spec {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn an_empty_command_is_refused_for_spawn_only() {
        let e = check("spawn", &spec(&[]), Mode::Spawn).unwrap_err();
        assert!(e.detail.contains("command is empty"), "{e}");
        assert!(check("in_ns", &spec(&[]), Mode::Fork).is_ok());
    }

    #[test]
    fn options_name_the_namespace_they_need_in_the_callers_words() {
        let mut s = spec(&["true"]);
        s.hostname = Some("x".into());
        let e = check("spawn", &s, Mode::Spawn).unwrap_err();
        assert!(e.detail.contains("uts namespace"), "{e}");
        assert!(
            e.hint.as_deref().unwrap_or("").contains("CLONE_NEWUTS"),
            "{e}"
        );
        s.ns.insert(Namespace::User);
        let e = check("unshare", &s, Mode::Unshare).unwrap_err();
        assert_eq!(e.hint.as_deref(), Some("add \"uts\" to the kinds"));
    }

    #[test]
    fn nul_bytes_and_bad_env_names_are_caught_before_clone() {
        let e = check("spawn", &spec(&["a\0b"]), Mode::Spawn).unwrap_err();
        assert!(e.detail.contains("NUL"), "{e}");
        let mut s = spec(&["true"]);
        s.env.push(("A=B".into(), "c".into()));
        assert!(check("spawn", &s, Mode::Spawn)
            .unwrap_err()
            .detail
            .contains("has '='"));
        let mut s = spec(&["true"]);
        s.cwd = Some(String::new());
        assert!(check("spawn", &s, Mode::Spawn).is_err());
    }

    #[test]
    fn time_offsets_render_as_the_kernel_reads_them() {
        let t = TimeOffsets {
            monotonic: 3600,
            boottime: -5,
        };
        assert_eq!(t.render(), "monotonic 3600 0\nboottime -5 0\n");
    }
}
