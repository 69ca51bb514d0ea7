//! Starting a process in new namespaces: clone3(2), the parent/child
//! handshake, and the child's setup before execve(2).
//!
//! The order is the kernel's, one step per call (see DESIGN.md):
//! 1. clone3 with the CLONE_NEW* flags; the child blocks on a pipe.
//! 2. The parent writes setgroups, then uid_map and gid_map (user ns only).
//! 3. The child makes / private (mount ns) before any mount,
//! 4. mounts /proc if asked, 5. sets hostname, time offsets, cwd, and execs.
//!
//! Every step the child takes can be reported back over a CLOEXEC pipe; a
//! failing step is always reported and the child exits before exec, so a
//! command never half-runs.

use super::idmap::{self, IdRange, SetGroups};
use super::ns::{Namespace, NsSet};
use super::{errno_name, Context, Error, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::MsFlags;
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{pipe2, Pid};
use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};

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
    /// Makes / (recursively) private, slave or shared, as asked, in a new
    /// mount namespace, before anything is mounted there: where / is a
    /// shared mount (systemd makes it so), a mount would otherwise appear in
    /// the host's mount table too. Returns the flag applied, if any.
    pub fn apply_to_root(self) -> std::result::Result<Option<&'static str>, (Errno, &'static str)> {
        let (flag, name) = match self {
            Propagation::Private => (MsFlags::MS_PRIVATE, "MS_PRIVATE"),
            Propagation::Slave => (MsFlags::MS_SLAVE, "MS_SLAVE"),
            Propagation::Shared => (MsFlags::MS_SHARED, "MS_SHARED"),
            Propagation::Unchanged => return Ok(None),
        };
        nix::mount::mount(
            None::<&str>,
            "/",
            None::<&str>,
            flag | MsFlags::MS_REC,
            None::<&str>,
        )
        .map(|()| Some(name))
        .map_err(|e| (e, name))
    }
}

/// Clock offsets for a new time namespace, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeOffsets {
    pub monotonic: i64,
    pub boottime: i64,
}

/// Everything `spawn` was asked for, already checked.
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
    /// Ask the child to report every step it takes (for a trace).
    pub trace: bool,
    /// Namespaces of another process to join before any other setup
    /// (`enter`, like `nsenter --target`); see os::join.
    pub join: Option<std::sync::Arc<super::join::Target>>,
}

/// The steps of the child's setup, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Step {
    Clone = 0,
    Join,
    WriteMaps,
    WaitForMaps,
    Stdio,
    Propagation,
    MountProc,
    Hostname,
    Domainname,
    TimeNamespace,
    Chdir,
    Exec,
    /// Setup is done: the next thing the child does is execve (spawn) or
    /// return from fork (in_ns). Always sent; a child that dies before it
    /// died during setup.
    Ready,
}

impl Step {
    const ALL: [Step; 13] = [
        Step::Clone,
        Step::Join,
        Step::WriteMaps,
        Step::WaitForMaps,
        Step::Stdio,
        Step::Propagation,
        Step::MountProc,
        Step::Hostname,
        Step::Domainname,
        Step::TimeNamespace,
        Step::Chdir,
        Step::Exec,
        Step::Ready,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Step::Clone => "clone",
            Step::Join => "setns",
            Step::WriteMaps => "write id maps",
            Step::WaitForMaps => "wait for id maps",
            Step::Stdio => "set up stdio",
            Step::Propagation => "mount propagation",
            Step::MountProc => "mount /proc",
            Step::Hostname => "sethostname",
            Step::Domainname => "setdomainname",
            Step::TimeNamespace => "time namespace",
            Step::Chdir => "chdir",
            Step::Exec => "exec",
            Step::Ready => "ready",
        }
    }

    fn from_u8(b: u8) -> Option<Step> {
        Step::ALL.get(b as usize).copied()
    }
}

/// One record of the child -> parent protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// The child did a step, with its arguments ("mount(proc, /proc, proc)").
    Did(Step, String),
    /// The step failed with this errno; the child exits without exec.
    Failed(Step, Errno, String),
}

// Wire format: [tag u8][step u8][errno i32 le][len u16 le][text]. One record
// per write(2), below PIPE_BUF, so records never interleave.
const MAX_TEXT: usize = 1024;

impl Report {
    fn encode(&self, buf: &mut Vec<u8>) {
        let (tag, step, errno, text) = match self {
            Report::Did(s, t) => (0u8, *s, 0i32, t.as_str()),
            Report::Failed(s, e, t) => (1u8, *s, *e as i32, t.as_str()),
        };
        let text = &text.as_bytes()[..text.len().min(MAX_TEXT)];
        buf.clear();
        buf.push(tag);
        buf.push(step as u8);
        buf.extend_from_slice(&errno.to_le_bytes());
        buf.extend_from_slice(&(text.len() as u16).to_le_bytes());
        buf.extend_from_slice(text);
    }

    /// Decodes every record in `bytes` (all the child wrote).
    fn decode_all(mut bytes: &[u8]) -> Vec<Report> {
        let mut out = Vec::new();
        while bytes.len() >= 8 {
            let tag = bytes[0];
            let step = Step::from_u8(bytes[1]);
            let errno = i32::from_le_bytes([bytes[2], bytes[3], bytes[4], bytes[5]]);
            let len = u16::from_le_bytes([bytes[6], bytes[7]]) as usize;
            let Some(text) = bytes.get(8..8 + len) else {
                break;
            };
            let text = String::from_utf8_lossy(text).into_owned();
            match (tag, step) {
                (0, Some(s)) => out.push(Report::Did(s, text)),
                (1, Some(s)) => out.push(Report::Failed(s, Errno::from_raw(errno), text)),
                _ => break,
            }
            bytes = &bytes[8 + len..];
        }
        out
    }
}

/// The parent's end of the handshake.
struct Handshake {
    /// Closing or writing to it releases the child.
    go: OwnedFd,
    /// The child's reports; EOF means it exec'd (CLOEXEC) or died.
    reports: OwnedFd,
}

/// The child's end of the handshake.
struct ChildEnd {
    go: OwnedFd,
    reports: OwnedFd,
    trace: bool,
    buf: Vec<u8>,
}

impl Handshake {
    /// Tells the child its maps are written and it may go on.
    fn release(&self) -> Result<()> {
        nix::unistd::write(&self.go, b"g").op("spawn: release child")?;
        Ok(())
    }

    /// Reads the child's reports until EOF. A `Failed` record ends it.
    fn collect(&self) -> Result<Vec<Report>> {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match nix::unistd::read(&self.reports, &mut buf) {
                Ok(0) => break,
                Ok(n) => all.extend_from_slice(&buf[..n]),
                // A child stuck in its setup (a cwd on a dead NFS mount, a
                // FIFO in place of /dev/null) must not hang the REPL: Ctrl-C
                // gives up, and the caller kills the child.
                Err(Errno::EINTR) if super::interrupted() => {
                    return Err(Error::with_errno(
                        "spawn",
                        Errno::EINTR,
                        "interrupted while the child was setting up",
                    ))
                }
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(Error::sys("spawn: read child reports", e)),
            }
        }
        Ok(Report::decode_all(&all))
    }
}

impl ChildEnd {
    /// Blocks until the parent has written the maps. EOF means the parent
    /// is gone or gave up: the child must not go on.
    fn wait_for_maps(&mut self) -> bool {
        let mut b = [0u8; 1];
        loop {
            // SAFETY: reading into a local buffer from an fd we own.
            let n = unsafe { libc::read(self.go.as_raw_fd(), b.as_mut_ptr().cast(), 1) };
            if n == 1 {
                return true;
            }
            if n < 0 && Errno::last() == Errno::EINTR {
                continue;
            }
            return false;
        }
    }

    fn did(&mut self, step: Step, what: impl FnOnce() -> String) {
        if self.trace {
            Report::Did(step, what()).encode(&mut self.buf);
            self.send();
        }
    }

    /// Tells the parent that setup is complete (always, trace or not).
    fn ready(&mut self) {
        Report::Did(Step::Ready, String::new()).encode(&mut self.buf);
        self.send();
    }

    fn failed(&mut self, step: Step, e: Errno, text: String) -> ! {
        Report::Failed(step, e, text).encode(&mut self.buf);
        self.send();
        // SAFETY: leaving the forked child without running the parent's
        // destructors or atexit handlers.
        unsafe { libc::_exit(127) }
    }

    fn send(&self) {
        // SAFETY: one write of a buffer we own.
        unsafe {
            libc::write(
                self.reports.as_raw_fd(),
                self.buf.as_ptr().cast(),
                self.buf.len(),
            );
        }
    }
}

/// A process that `spawn` started.
#[derive(Debug)]
pub struct Child {
    pub pid: i32,
    pidfd: Option<OwnedFd>,
    pub ns: NsSet,
    pub stdin: Option<OwnedFd>,
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
    /// Exit code once reaped: the code, or 128+N for signal N.
    pub status: Option<i32>,
    pub out: Vec<u8>,
    pub err: Vec<u8>,
    /// The steps the child reported (with `Spec::trace`).
    pub trace: Vec<Report>,
    /// Set in a forked copy of the interpreter: the child is not ours to
    /// kill or reap.
    disowned: bool,
    /// Under job control with the terminal as stdin: `wait` hands it the
    /// terminal, as a shell does for a foreground job.
    foreground: bool,
}

/// What was prepared before clone, so the child allocates as little as it
/// can between clone and exec.
struct Prepared {
    /// Candidate paths for the program, in PATH order.
    candidates: Vec<CString>,
    argv: Vec<CString>,
    envp: Vec<CString>,
    hostname: Option<String>,
    domainname: Option<String>,
    cwd: Option<CString>,
    time_offsets: Option<CString>,
}

fn cstring(op: &str, what: &str, s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::invalid(op, format!("{what} contains a NUL byte: {s:?}")))
}

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn prepare(spec: &Spec, then: Then) -> Result<Prepared> {
    let op = "spawn";
    // fork() runs no program: there the command may be empty.
    let none = String::new();
    let prog = match (spec.argv.first(), then) {
        (None, Then::Return) => Some(&none),
        (p, _) => p.filter(|p| !p.is_empty()),
    };
    let prog = prog.ok_or_else(|| {
        Error::invalid(
            op,
            "the command is empty; give a program, like \"sh\" or [\"ls\", \"-l\"]",
        )
    })?;
    let argv = spec
        .argv
        .iter()
        .map(|a| cstring(op, "an argument", a))
        .collect::<Result<Vec<_>>>()?;

    let mut env: Vec<(String, String)> = if spec.clear_env {
        Vec::new()
    } else {
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect()
    };
    for (k, v) in &spec.env {
        if k.is_empty() || k.contains('=') {
            return Err(Error::invalid(
                op,
                format!("environment name {k:?} is empty or has '='"),
            ));
        }
        env.retain(|(ek, _)| ek != k);
        env.push((k.clone(), v.clone()));
    }
    let envp = env
        .iter()
        .map(|(k, v)| cstring(op, "the environment", &format!("{k}={v}")))
        .collect::<Result<Vec<_>>>()?;

    // The program is looked up in the PATH the child will have, like
    // execvpe(3), but the list is built here, before clone.
    let candidates = if then == Then::Return {
        Vec::new()
    } else if prog.contains('/') {
        vec![cstring(op, "the program", prog)?]
    } else {
        let path = env
            .iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.as_str())
            .unwrap_or(DEFAULT_PATH);
        path.split(':')
            .map(|d| if d.is_empty() { "." } else { d })
            .map(|d| cstring(op, "PATH", &format!("{d}/{prog}")))
            .collect::<Result<Vec<_>>>()?
    };

    for (what, name) in [
        ("hostname", &spec.hostname),
        ("domainname", &spec.domainname),
    ] {
        if let Some(n) = name {
            super::uts::check_name(op, what, n)?;
        }
    }
    let cwd = match &spec.cwd {
        Some(c) if c.is_empty() => return Err(Error::invalid(op, "cwd is empty")),
        Some(c) => Some(cstring(op, "cwd", c)?),
        None => None,
    };
    let time_offsets = spec.time_offsets.map(|t| {
        CString::new(format!(
            "monotonic {} 0\nboottime {} 0\n",
            t.monotonic, t.boottime
        ))
        .unwrap_or_default()
    });
    Ok(Prepared {
        candidates,
        argv,
        envp,
        hostname: spec.hostname.clone(),
        domainname: spec.domainname.clone(),
        cwd,
        time_offsets,
    })
}

/// Checks option combinations that would otherwise change the host or fail
/// half-way in the child.
fn check(spec: &Spec) -> Result<()> {
    let op = "spawn";
    let has = |n| spec.ns.contains(n);
    if spec.hostname.is_some() && !has(Namespace::Uts) {
        return Err(Error::invalid(
            op,
            "hostname needs a new uts namespace, or it would rename the host",
        )
        .hint("add \"uts\" to ns (or CLONE_NEWUTS to flags)"));
    }
    if spec.domainname.is_some() && !has(Namespace::Uts) {
        return Err(Error::invalid(
            op,
            "domainname needs a new uts namespace, or it would change the host's",
        )
        .hint("add \"uts\" to ns (or CLONE_NEWUTS to flags)"));
    }
    if (spec.uid_map.is_some() || spec.gid_map.is_some() || spec.setgroups.is_some())
        && !has(Namespace::User)
    {
        return Err(Error::invalid(
            op,
            "uid_map, gid_map and setgroups need a new user namespace",
        )
        .hint("add \"user\" to ns (or CLONE_NEWUSER to flags)"));
    }
    if spec.time_offsets.is_some() && !has(Namespace::Time) {
        return Err(
            Error::invalid(op, "time_offsets needs a new time namespace")
                .hint("add \"time\" to ns (or CLONE_NEWTIME to flags)"),
        );
    }
    if spec.propagation != Propagation::Private && !has(Namespace::Mount) {
        return Err(
            Error::invalid(op, "propagation applies to a new mount namespace")
                .hint("add \"mount\" to ns (or CLONE_NEWNS to flags)"),
        );
    }
    if let Some(m) = &spec.uid_map {
        idmap::validate("spawn: uid_map", m)?;
    }
    if let Some(m) = &spec.gid_map {
        idmap::validate("spawn: gid_map", m)?;
    }
    Ok(())
}

#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// clone3 with no stack: the child continues here like after fork(2), in the
/// new namespaces. Returns the child's pid (0 in the child) and, in the
/// parent, a pidfd where the kernel gives one.
fn clone3(flags: nix::sched::CloneFlags) -> std::result::Result<(i32, Option<OwnedFd>), Errno> {
    let mut pidfd: RawFd = -1;
    let mut args = CloneArgs {
        flags: flags.bits() as u64 | libc::CLONE_PIDFD as u64,
        pidfd: &mut pidfd as *mut RawFd as u64,
        exit_signal: libc::SIGCHLD as u64,
        ..Default::default()
    };
    // SAFETY: clone3 without a stack behaves like fork; the program is
    // single-threaded, so the child owns a consistent copy of the heap.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if r < 0 {
        let e = Errno::last();
        if e != Errno::ENOSYS {
            return Err(e);
        }
        // Before Linux 5.3: plain clone, without a pidfd.
        // SAFETY: as above, fork semantics with a null stack.
        let r = unsafe {
            libc::syscall(
                libc::SYS_clone,
                flags.bits() as libc::c_long | libc::SIGCHLD as libc::c_long,
                0usize,
                0usize,
                0usize,
                0usize,
            )
        };
        if r < 0 {
            return Err(Errno::last());
        }
        return Ok((r as i32, None));
    }
    if r == 0 {
        return Ok((0, None));
    }
    // SAFETY: the kernel handed us this fd with CLONE_PIDFD.
    let fd = (pidfd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(pidfd) });
    Ok((r as i32, fd))
}

fn clone_error(e: Errno, ns: NsSet) -> Error {
    let op = format!(
        "spawn: clone({})",
        if ns.is_empty() {
            "0".into()
        } else {
            ns.flag_names()
        }
    );
    let err = Error::sys(op, e);
    if let Some(h) = super::doctor::hint_for(super::doctor::Op::Clone, e, ns) {
        return err.hint(h);
    }
    let unprivileged = !nix::unistd::geteuid().is_root();
    match e {
        Errno::EPERM if !ns.contains(Namespace::User) && unprivileged => err.hint(
            "creating these namespaces needs CAP_SYS_ADMIN: add \"user\" to ns (a new user namespace gives its creator those capabilities), or run as root",
        ),
        // The kernel refuses a nested user namespace to a process whose own
        // ids have no mapping in its current one (an unshare without maps).
        Errno::EPERM if ns.contains(Namespace::User) && !own_ids_mapped() => err.hint(
            "this process's uid or gid has no mapping in its own user namespace (its uid_map or gid_map is empty), so it cannot create another; give unshare a map (map_root: true)",
        ),
        Errno::EPERM if ns.contains(Namespace::User) => err.hint(
            "unprivileged user namespaces are disabled here (kernel.unprivileged_userns_clone=0, or an AppArmor/SELinux policy); run as root or enable them",
        ),
        Errno::ENOSPC => err.hint(
            "a namespace limit was reached (/proc/sys/user/max_*_namespaces)",
        ),
        Errno::EUSERS => err.hint("user namespaces nest at most 32 deep"),
        Errno::EINVAL if ns.contains(Namespace::Time) || ns.contains(Namespace::Cgroup) => err
            .hint("this kernel may not support the time or cgroup namespace"),
        _ => err,
    }
}

/// What the child does once its setup is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Then {
    /// execve the program (spawn).
    Exec,
    /// Return from `fork` in the child (in_ns runs script code there).
    Return,
}

/// Which side of `fork` this is.
pub enum Forked {
    /// The parent, holding the child (set up, running).
    Parent(Child),
    /// The child, set up in its namespaces. It must end with `_exit`.
    Child,
}

/// Whether this process's uid and gid both have a mapping in its user
/// namespace (an empty map file means they do not).
fn own_ids_mapped() -> bool {
    ["uid_map", "gid_map"].iter().all(|m| {
        std::fs::read_to_string(format!("/proc/self/{m}"))
            .map(|t| !t.trim().is_empty())
            .unwrap_or(true)
    })
}

/// Starts `spec.argv` in the namespaces `spec` asks for. Returns when the
/// child has exec'd, or with the error of the first step that failed (the
/// child is then already gone).
pub fn spawn(spec: &Spec) -> Result<Child> {
    match start(spec, Then::Exec)? {
        Forked::Parent(c) => Ok(c),
        // A child with Then::Exec execs or exits inside child_main.
        // SAFETY: leaving a forked child.
        Forked::Child => unsafe { libc::_exit(127) },
    }
}

/// Like `spawn`, with the same handshake and setup steps (maps written by
/// the parent, / made private, /proc, hostname, time offsets, cwd), but the
/// child runs no program: it returns `Forked::Child` here, inside its
/// namespaces, while the parent gets `Forked::Parent` once setup is done.
/// `spec.argv` may be empty; env/stdio settings apply to a program only.
pub fn fork(spec: &Spec) -> Result<Forked> {
    start(spec, Then::Return)
}

fn start(spec: &Spec, then: Then) -> Result<Forked> {
    check(spec)?;
    let prep = prepare(spec, then)?;
    let user = spec.ns.contains(Namespace::User);

    // Pipes: "go" releases the child; "reports" carries its steps back.
    // Both CLOEXEC, so the exec'd program never sees them.
    let (go_r, go_w) = pipe2(OFlag::O_CLOEXEC).op("spawn: pipe")?;
    let (rep_r, rep_w) = pipe2(OFlag::O_CLOEXEC).op("spawn: pipe")?;
    let (stdin_p, stdout_p, stderr_p) = (
        stdio_pipe(spec.stdin, true)?,
        stdio_pipe(spec.stdout, false)?,
        stdio_pipe(spec.stderr, false)?,
    );

    // Flush what the script printed so far, or the child inherits a copy of
    // the buffer and prints it again.
    use std::io::Write;
    let _ = std::io::stdout().flush();

    // The time namespace is entered by the child itself just before exec
    // (offsets must be written before any process is in it); clone only the
    // others.
    let mut clone_ns = spec.ns;
    let time = spec.ns.contains(Namespace::Time);
    if time {
        clone_ns = spec.ns.iter().filter(|n| *n != Namespace::Time).collect();
    }
    // Be the reaper of orphaned descendants before there are any: a
    // grandchild whose parent exits (the sleep of `sh -c "sleep 100 &"`)
    // then becomes our child instead of init's, and dies with the script
    // (engine::process::reap_all). fork(2) clears the flag, so each forked
    // copy of the interpreter sets it for itself here.
    // SAFETY: plain prctl on this process.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let parent = nix::unistd::getpid().as_raw();
    let (pid, pidfd) = clone3(clone_ns.clone_flags()).map_err(|e| clone_error(e, spec.ns))?;
    if pid == 0 {
        let mut end = ChildEnd {
            go: go_r,
            reports: rep_w,
            trace: spec.trace,
            buf: Vec::with_capacity(MAX_TEXT + 8),
        };
        drop(go_w);
        drop(rep_r);
        let stdio = [
            (stdin_p.map(|(r, _)| r), spec.stdin, 0),
            (stdout_p.map(|(_, w)| w), spec.stdout, 1),
            (stderr_p.map(|(_, w)| w), spec.stderr, 2),
        ];
        child_main(&mut end, spec, &prep, stdio, parent, then);
        // Then::Return: setup is done. Closing the report pipe (dropping
        // `end`) tells the parent so, as exec's CLOEXEC does for spawn.
        end.ready();
        drop(end);
        return Ok(Forked::Child);
    }

    // Parent.
    drop(go_r);
    drop(rep_w);
    let hs = Handshake {
        go: go_w,
        reports: rep_r,
    };
    let mut child = Child {
        pid,
        pidfd,
        ns: spec.ns,
        stdin: stdin_p.map(|(_, w)| w),
        stdout: stdout_p.map(|(r, _)| r),
        stderr: stderr_p.map(|(r, _)| r),
        status: None,
        out: Vec::new(),
        err: Vec::new(),
        trace: Vec::new(),
        disowned: false,
        foreground: super::job_control() && spec.stdin == Stdio::Inherit,
    };
    if super::job_control() {
        // SAFETY: setpgid on our child; EACCES after its exec is harmless.
        unsafe { libc::setpgid(pid, pid) };
    }

    // Step 2: the maps, written by the parent while the child waits.
    if user {
        let maps = idmap::write_maps(
            pid,
            spec.uid_map.as_deref(),
            spec.gid_map.as_deref(),
            spec.setgroups.unwrap_or(SetGroups::Deny),
        );
        if let Err(e) = maps {
            // Dropping `hs` closes "go": the child sees EOF and exits
            // without running anything. Reap it so nothing is left.
            drop(hs);
            child.reap_blocking();
            return Err(e);
        }
        if spec.trace {
            let text = format!(
                "setgroups={} uid_map={:?} gid_map={:?}",
                match spec.setgroups.unwrap_or(SetGroups::Deny) {
                    SetGroups::Deny => "deny",
                    SetGroups::Allow => "allow",
                },
                spec.uid_map
                    .as_deref()
                    .map(idmap::render)
                    .unwrap_or_default(),
                spec.gid_map
                    .as_deref()
                    .map(idmap::render)
                    .unwrap_or_default()
            );
            child.trace.push(Report::Did(Step::WriteMaps, text));
        }
    }
    if spec.trace {
        child.trace.insert(
            0,
            Report::Did(
                Step::Clone,
                format!(
                    "clone3({}) = {pid}",
                    if clone_ns.is_empty() {
                        "0".to_string()
                    } else {
                        clone_ns.flag_names()
                    }
                ),
            ),
        );
    }
    if let Err(e) = hs.release() {
        drop(hs);
        child.kill_and_reap();
        return Err(e);
    }
    let reports = match hs.collect() {
        Ok(r) => r,
        Err(e) => {
            child.kill_and_reap();
            return Err(e);
        }
    };
    let mut ready = false;
    for r in reports {
        match r {
            Report::Failed(step, errno, text) => {
                child.reap_blocking();
                return Err(step_error(step, errno, text, spec));
            }
            Report::Did(Step::Ready, _) => ready = true,
            r => child.trace.push(r),
        }
    }
    if !ready {
        // EOF without "ready": the child died half-way through its setup
        // (killed from outside), so the program never ran. Say so rather
        // than hand back a Process for a program that never started.
        child.reap_blocking();
        return Err(died_in_setup(child.pid, child.status));
    }
    Ok(Forked::Parent(child))
}

/// The error for a child that died before its setup was done.
fn died_in_setup(pid: i32, status: Option<i32>) -> Error {
    let how = match status {
        Some(c) if c > 128 => match Signal::try_from(c - 128) {
            Ok(s) => format!("killed by {}", s.as_str()),
            Err(_) => format!("ended with status {c}"),
        },
        Some(c) => format!("exited with status {c}"),
        None => "gone".to_string(),
    };
    Error::with_errno(
        "spawn",
        Errno::ECANCELED,
        format!("child {pid} was {how} during its setup, before the program started"),
    )
    .hint("something outside nsscript killed it (kill(1), the OOM killer, a cgroup limit)")
}

fn step_error(step: Step, errno: Errno, text: String, spec: &Spec) -> Error {
    let e = Error::sys(format!("spawn: {}({text})", step.name()), errno);
    match (step, errno) {
        (Step::Exec, Errno::ENOENT) => {
            let prog = spec.argv.first().map(String::as_str).unwrap_or("");
            if prog.contains('/') && std::path::Path::new(prog).exists() {
                // execve says ENOENT for a missing #! interpreter or ELF
                // loader too, not only for a missing file.
                e.hint(format!(
                    "{prog} exists, but the interpreter its #! line names (or its ELF loader) does not"
                ))
            } else if prog.contains('/') {
                e.hint(format!("{prog} does not exist"))
            } else {
                e.hint(format!("no program named {prog:?} in PATH"))
            }
        }
        (Step::Exec, Errno::ENOEXEC) => e.hint(
            "the file is not in a format this kernel runs (no #! line, another architecture, or a damaged binary)",
        ),
        (Step::Exec, Errno::EACCES) => e.hint("the file is not executable, or a directory on its path is not searchable"),
        (Step::Chdir, Errno::ENOENT) => e.hint("the cwd does not exist (inside the new mount namespace)"),
        (Step::MountProc, Errno::EPERM) => e.hint(
            "mounting /proc needs a new pid namespace owned by your user namespace, and /proc must not be partly hidden (as in some containers)",
        ),
        (Step::Hostname, _) | (Step::Domainname, _) => e.hint("names are at most 64 bytes"),
        (Step::TimeNamespace, Errno::EPERM) => e.hint("a time namespace needs CAP_SYS_ADMIN: add \"user\" or run as root"),
        (Step::Stdio, _) => e.hint("could not connect the child's stdin/stdout/stderr"),
        (Step::Join, _) => super::join::join_hint(e, errno),
        _ => e,
    }
}

/// A pipe for one standard stream: (read end, write end).
fn stdio_pipe(s: Stdio, _is_stdin: bool) -> Result<Option<(OwnedFd, OwnedFd)>> {
    match s {
        Stdio::Pipe => Ok(Some(pipe2(OFlag::O_CLOEXEC).op("spawn: pipe")?)),
        _ => Ok(None),
    }
}

/// The child between clone and exec. With Then::Exec it never returns: it
/// execs or _exits; with Then::Return it returns once set up.
fn child_main(
    end: &mut ChildEnd,
    spec: &Spec,
    prep: &Prepared,
    stdio: [(Option<OwnedFd>, Stdio, RawFd); 3],
    parent: i32,
    then: Then,
) {
    // Die with nsscript: if the parent exits first, the kernel sends
    // SIGKILL. Check the parent once more afterwards: it may have died
    // before the prctl (in a new pid namespace getppid() is 0, and the "go"
    // pipe's EOF covers that case).
    // SAFETY: plain prctl.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
    let ppid = nix::unistd::getppid().as_raw();
    if ppid != 0 && ppid != parent {
        // SAFETY: leaving the forked child.
        unsafe { libc::_exit(127) }
    }
    if super::job_control() {
        // A process group of its own (the parent does the same, whichever
        // runs first): the terminal's Ctrl-C then reaches it only while it
        // is the foreground job. The REPL ignores SIGTTOU to take the
        // terminal back; an ignored signal survives exec, so restore it.
        // SAFETY: setpgid and signal on our own process.
        unsafe {
            libc::setpgid(0, 0);
            libc::signal(libc::SIGTTOU, libc::SIG_DFL);
            libc::signal(libc::SIGTTIN, libc::SIG_DFL);
        }
    }

    // Join another process's namespaces (enter) before anything else: the
    // fds were opened by the parent, user first. Joining a pid namespace
    // moves only later children, so join::fork_into_pid_ns forks once more
    // and this process stays behind to relay the exit status.
    if let Some(t) = &spec.join {
        if let Err((e, what)) = t.join() {
            end.failed(Step::Join, e, what);
        }
        end.did(Step::Join, || t.describe());
        if t.ns.contains(Namespace::Pid) {
            if let Err(e) = super::join::fork_into_pid_ns() {
                end.failed(Step::Join, e, "fork into the joined pid namespace".into());
            }
        }
    }

    // Wait until the parent has written uid_map/gid_map: before that the
    // child has no capabilities in its user namespace.
    if !end.wait_for_maps() {
        // SAFETY: leaving the forked child.
        unsafe { libc::_exit(127) }
    }
    if spec.ns.contains(Namespace::User) {
        end.did(Step::WaitForMaps, || "maps written".into());
    }

    for (fd, how, target) in stdio {
        let src = match (how, fd) {
            (Stdio::Inherit, _) => continue,
            (Stdio::Pipe, Some(fd)) => fd,
            (Stdio::Null, _) | (Stdio::Pipe, None) => {
                let flags = if target == 0 {
                    OFlag::O_RDONLY
                } else {
                    OFlag::O_WRONLY
                };
                match nix::fcntl::open(
                    "/dev/null",
                    flags | OFlag::O_CLOEXEC,
                    nix::sys::stat::Mode::empty(),
                ) {
                    // SAFETY: a fresh fd from open.
                    Ok(fd) => fd,
                    Err(e) => end.failed(Step::Stdio, e, "/dev/null".into()),
                }
            }
        };
        // dup2 clears CLOEXEC on the target.
        // SAFETY: dup2 onto a standard fd.
        if unsafe { libc::dup2(src.as_raw_fd(), target) } < 0 {
            end.failed(Step::Stdio, Errno::last(), format!("fd {target}"));
        }
        end.did(Step::Stdio, || format!("fd {target} -> {how:?}"));
    }

    if spec.ns.contains(Namespace::Mount) {
        // Step 3: before any mount, stop propagation to the host.
        match spec.propagation.apply_to_root() {
            Ok(Some(f)) => end.did(Step::Propagation, || format!("mount(none, /, {f}|MS_REC)")),
            Ok(None) => {}
            Err((e, f)) => end.failed(Step::Propagation, e, format!("/, {f}|MS_REC")),
        }
    }

    if spec.mount_proc {
        // Step 4: a proc mount shows the pid namespace of the process that
        // mounts it, so this runs inside the new one (we are its pid 1).
        let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
        if let Err(e) = nix::mount::mount(Some("proc"), "/proc", Some("proc"), flags, None::<&str>)
        {
            end.failed(Step::MountProc, e, "proc, /proc, proc".into());
        }
        end.did(Step::MountProc, || {
            "mount(proc, /proc, proc, MS_NOSUID|MS_NODEV|MS_NOEXEC)".into()
        });
    }

    // Step 5: names, clocks, cwd, then exec.
    if let Some(h) = &prep.hostname {
        if let Err(e) = nix::unistd::sethostname(h) {
            end.failed(Step::Hostname, e, h.clone());
        }
        end.did(Step::Hostname, || h.clone());
    }
    if let Some(d) = &prep.domainname {
        // SAFETY: pointer and length of a live string.
        if unsafe { libc::setdomainname(d.as_ptr().cast(), d.len()) } < 0 {
            end.failed(Step::Domainname, Errno::last(), d.clone());
        }
        end.did(Step::Domainname, || d.clone());
    }
    if spec.ns.contains(Namespace::Time) {
        // unshare(CLONE_NEWTIME) puts our future children in a new time
        // namespace; execve moves this process there too (Linux 5.11+).
        // The offsets must be written before that, while nobody is inside.
        if let Err(e) = nix::sched::unshare(Namespace::Time.clone_flag()) {
            end.failed(Step::TimeNamespace, e, "unshare(CLONE_NEWTIME)".into());
        }
        if let Some(t) = &prep.time_offsets {
            if let Err(e) = write_all_once(c"/proc/self/timens_offsets", t) {
                end.failed(
                    Step::TimeNamespace,
                    e,
                    format!(
                        "timens_offsets: {}",
                        t.to_string_lossy().replace('\n', "; ")
                    ),
                );
            }
        }
        end.did(Step::TimeNamespace, || match &prep.time_offsets {
            Some(t) => format!(
                "unshare(CLONE_NEWTIME); timens_offsets: {}",
                t.to_string_lossy().trim_end().replace('\n', "; ")
            ),
            None => "unshare(CLONE_NEWTIME)".into(),
        });
        // Without an exec (fork), move this process itself into the new
        // time namespace: setns on its own time_for_children.
        if then == Then::Return {
            if let Err(e) = super::join::enter_own_time_ns() {
                end.failed(Step::TimeNamespace, e, "setns(time_for_children)".into());
            }
        }
    }
    if let Some(c) = &prep.cwd {
        if let Err(e) = nix::unistd::chdir(c.as_c_str()) {
            end.failed(Step::Chdir, e, c.to_string_lossy().into_owned());
        }
        end.did(Step::Chdir, || c.to_string_lossy().into_owned());
    }
    if then == Then::Return {
        return;
    }

    // No fd of nsscript's may reach the program: mark every fd above 2
    // close-on-exec (the report pipe already is, and closes on success).
    // SAFETY: plain syscall; failure (old kernel) leaves std's CLOEXEC fds.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };

    exec(end, prep)
}

fn write_all_once(path: &CStr, text: &CStr) -> std::result::Result<(), Errno> {
    // SAFETY: open/write/close of a proc file with live buffers.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(Errno::last());
        }
        let bytes = text.to_bytes();
        let n = libc::write(fd, bytes.as_ptr().cast(), bytes.len());
        let e = Errno::last();
        libc::close(fd);
        if n < 0 {
            return Err(e);
        }
    }
    Ok(())
}

fn exec(end: &mut ChildEnd, prep: &Prepared) -> ! {
    let mut argv: Vec<*const libc::c_char> = prep.argv.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = prep.envp.iter().map(|a| a.as_ptr()).collect();
    envp.push(std::ptr::null());
    // An ignored signal stays ignored across execve, and a blocked one
    // stays blocked. Rust ignores SIGPIPE in nsscript itself; the program
    // must start with the defaults (`yes | head -1` must end `yes`), as
    // std::process::Command and shells do it.
    // SAFETY: signal disposition and mask of this process, just before exec.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
    }
    end.ready();
    // Like execvpe: try each PATH entry; remember EACCES over ENOENT.
    let mut err = Errno::ENOENT;
    for c in &prep.candidates {
        if end.trace {
            end.did(Step::Exec, || c.to_string_lossy().into_owned());
        }
        // SAFETY: NULL-terminated arrays of live C strings.
        unsafe { libc::execve(c.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
        match Errno::last() {
            Errno::ENOENT | Errno::ENOTDIR => {}
            Errno::EACCES => err = Errno::EACCES,
            e => {
                err = e;
                break;
            }
        }
    }
    let prog = prep
        .argv
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    end.failed(Step::Exec, err, prog)
}

impl Child {
    /// Reaps the child, blocking. Used when setup failed (the child is
    /// exiting on its own).
    fn reap_blocking(&mut self) {
        loop {
            match waitpid(Pid::from_raw(self.pid), None) {
                Ok(s) => {
                    if let Some(code) = exit_code(s) {
                        self.status = Some(code);
                        return;
                    }
                }
                Err(Errno::EINTR) => continue,
                Err(_) => return,
            }
        }
    }

    /// SIGKILL and reap: nothing is left, whatever state it was in.
    pub fn kill_and_reap(&mut self) {
        if self.status.is_none() {
            let _ = self.signal(Signal::SIGKILL);
            self.reap_blocking();
        }
    }

    /// Sends a signal, through the pidfd where there is one so a reused pid
    /// can never receive it.
    pub fn signal(&self, sig: Signal) -> Result<()> {
        if self.status.is_some() {
            return Err(Error::with_errno(
                "kill",
                Errno::ESRCH,
                format!("process {} has already exited", self.pid),
            ));
        }
        let r = match &self.pidfd {
            // SAFETY: pidfd_send_signal with a pidfd we own.
            Some(fd) => unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    fd.as_raw_fd(),
                    sig as i32,
                    std::ptr::null::<u8>(),
                    0u32,
                )
            },
            // SAFETY: plain kill.
            None => unsafe { libc::kill(self.pid, sig as i32) as libc::c_long },
        };
        if r < 0 {
            return Err(Error::sys(
                format!("kill({}, {})", self.pid, sig.as_str()),
                Errno::last(),
            ));
        }
        Ok(())
    }

    /// Non-blocking: has it exited? Reaps it if so.
    pub fn try_wait(&mut self) -> Result<Option<i32>> {
        if let Some(s) = self.status {
            return Ok(Some(s));
        }
        match waitpid(Pid::from_raw(self.pid), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => Ok(None),
            Ok(s) => {
                self.status = exit_code(s);
                Ok(self.status)
            }
            Err(Errno::ECHILD) => {
                self.status = Some(-1);
                Ok(self.status)
            }
            Err(e) => Err(Error::sys("wait", e)),
        }
    }

    pub fn running(&mut self) -> bool {
        matches!(self.try_wait(), Ok(None))
    }

    /// Waits for exit, collecting piped stdout/stderr meanwhile (so a child
    /// that writes more than a pipe holds cannot block). `input`, if given,
    /// is written to a piped stdin, which is then closed.
    /// `interrupted` is polled on EINTR: if it says so, the child is killed
    /// and the wait ends with EINTR.
    pub fn wait(&mut self, input: Option<&[u8]>, interrupted: &dyn Fn() -> bool) -> Result<i32> {
        if let Some(s) = self.status {
            return Ok(s);
        }
        let _terminal = self.foreground.then(|| Foreground::give(self.pid));
        if input.is_none() {
            self.stdin = None; // EOF for the child
        }
        // Only a child with pipes needs the poll loop; otherwise one
        // blocking waitpid is all (the common case, and the fast one).
        if self.stdout.is_some() || self.stderr.is_some() || self.stdin.is_some() {
            self.pump(input, interrupted)?;
        }
        self.reap(interrupted)
    }

    /// Moves data through the child's pipes until they close or the child
    /// exits (a grandchild may keep them open: the pidfd says when to stop).
    fn pump(&mut self, input: Option<&[u8]>, interrupted: &dyn Fn() -> bool) -> Result<()> {
        let mut input = input.map(|b| (b, 0usize));
        let mut buf = vec![0u8; 65536];
        loop {
            use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
            let out_fd = self.stdout.as_ref().map(|f| f.as_fd());
            let err_fd = self.stderr.as_ref().map(|f| f.as_fd());
            let in_fd = self.stdin.as_ref().map(|f| f.as_fd());
            let pid_fd = self.pidfd.as_ref().map(|f| f.as_fd());
            let mut fds = Vec::with_capacity(4);
            let mut which = Vec::with_capacity(4);
            for (i, fd, ev) in [
                (0, out_fd, PollFlags::POLLIN),
                (1, err_fd, PollFlags::POLLIN),
                (2, in_fd, PollFlags::POLLOUT),
                (3, pid_fd, PollFlags::POLLIN),
            ] {
                if let Some(fd) = fd {
                    fds.push(PollFd::new(fd, ev));
                    which.push(i);
                }
            }
            // Done when no pipe is left (the pidfd alone is not a reason to
            // poll: waitpid follows).
            if which.iter().all(|w| *w == 3) {
                return Ok(());
            }
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => {}
                Err(Errno::EINTR) => {
                    if interrupted() {
                        self.kill_and_reap();
                        return Err(Error::with_errno(
                            "wait",
                            Errno::EINTR,
                            format!("interrupted; process {} was killed", self.pid),
                        ));
                    }
                    continue;
                }
                Err(e) => return Err(Error::sys("wait: poll", e)),
            }
            let ready: Vec<(usize, bool)> = fds
                .iter()
                .zip(&which)
                .map(|(f, w)| (*w, f.revents().map(|r| !r.is_empty()).unwrap_or(false)))
                .collect();
            drop(fds);
            let mut exited = false;
            for (w, ready) in ready {
                if !ready {
                    continue;
                }
                match w {
                    0 | 1 => {
                        let (slot, sink) = if w == 0 {
                            (&mut self.stdout, &mut self.out)
                        } else {
                            (&mut self.stderr, &mut self.err)
                        };
                        if let Some(fd) = slot {
                            match nix::unistd::read(&*fd, &mut buf) {
                                Ok(0) => *slot = None,
                                Ok(n) => sink.extend_from_slice(&buf[..n]),
                                Err(Errno::EINTR) | Err(Errno::EAGAIN) => {}
                                Err(_) => *slot = None,
                            }
                        }
                    }
                    2 => {
                        if let (Some(fd), Some((data, off))) = (&self.stdin, input.as_mut()) {
                            match nix::unistd::write(fd, &data[*off..]) {
                                Ok(n) => *off += n,
                                Err(Errno::EINTR) | Err(Errno::EAGAIN) => {}
                                Err(_) => *off = data.len(), // EPIPE: it stopped reading
                            }
                            if *off >= data.len() {
                                self.stdin = None;
                                input = None;
                            }
                        } else {
                            self.stdin = None;
                        }
                    }
                    _ => exited = true,
                }
            }
            if exited {
                // Gone: take whatever is still buffered in the pipes, but
                // do not wait for EOF (a grandchild may hold them open).
                self.drain_nonblocking(&mut buf);
                return Ok(());
            }
        }
    }

    /// Reaps the child (blocking), killing it if the wait is interrupted.
    fn reap(&mut self, interrupted: &dyn Fn() -> bool) -> Result<i32> {
        loop {
            match waitpid(Pid::from_raw(self.pid), None) {
                Ok(s) => {
                    if let Some(code) = exit_code(s) {
                        self.status = Some(code);
                        self.stdout = None;
                        self.stderr = None;
                        self.stdin = None;
                        return Ok(code);
                    }
                }
                Err(Errno::EINTR) => {
                    if interrupted() {
                        self.kill_and_reap();
                        return Err(Error::with_errno(
                            "wait",
                            Errno::EINTR,
                            format!("interrupted; process {} was killed", self.pid),
                        ));
                    }
                }
                Err(Errno::ECHILD) => {
                    self.status = Some(-1);
                    return Err(Error::sys(format!("wait({})", self.pid), Errno::ECHILD));
                }
                Err(e) => return Err(Error::sys(format!("wait({})", self.pid), e)),
            }
        }
    }

    fn drain_nonblocking(&mut self, buf: &mut [u8]) {
        for w in 0..2 {
            let (slot, sink) = if w == 0 {
                (&mut self.stdout, &mut self.out)
            } else {
                (&mut self.stderr, &mut self.err)
            };
            if let Some(fd) = slot.take() {
                let _ = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_SETFL(OFlag::O_NONBLOCK));
                while let Ok(n) = nix::unistd::read(&fd, buf) {
                    if n == 0 {
                        break;
                    }
                    sink.extend_from_slice(&buf[..n]);
                }
            }
        }
    }

    /// Forget the child without touching it (we are a forked copy of the
    /// process that owns it).
    pub fn disown(&mut self) {
        self.disowned = true;
    }

    /// Writes to a piped stdin.
    pub fn write_stdin(&mut self, data: &[u8]) -> Result<()> {
        let fd = self.stdin.as_ref().ok_or_else(|| {
            Error::invalid(
                "write",
                "stdin is not a pipe (spawn with stdin: \"pipe\") or was closed",
            )
        })?;
        let mut off = 0;
        while off < data.len() {
            match nix::unistd::write(fd, &data[off..]) {
                Ok(n) => off += n,
                // A child that never reads fills the pipe: Ctrl-C gives up.
                Err(Errno::EINTR) if super::interrupted() => {
                    return Err(Error::with_errno(
                        "write",
                        Errno::EINTR,
                        format!("interrupted after {off} of {} bytes", data.len()),
                    ))
                }
                Err(Errno::EINTR) => {}
                Err(e) => return Err(Error::sys("write", e)),
            }
        }
        Ok(())
    }
}

/// The terminal lent to a child's process group while it is waited on;
/// dropping it takes the terminal back (the REPL ignores SIGTTOU for this).
struct Foreground {
    ours: libc::pid_t,
}

impl Foreground {
    fn give(pgid: i32) -> Option<Foreground> {
        // SAFETY: terminal calls on fd 0 with our own process group ids.
        unsafe {
            if libc::isatty(0) != 1 {
                return None;
            }
            let ours = libc::tcgetpgrp(0);
            if ours != libc::getpgrp() || libc::tcsetpgrp(0, pgid) != 0 {
                return None;
            }
            Some(Foreground { ours })
        }
    }
}

impl Drop for Foreground {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe { libc::tcsetpgrp(0, self.ours) };
    }
}

impl Drop for Child {
    /// A child never outlives its handle unreaped: no zombies, no orphans.
    fn drop(&mut self) {
        if !self.disowned {
            self.kill_and_reap();
        }
    }
}

/// The exit code as a shell reports it: the status, or 128+N for signal N.
fn exit_code(s: WaitStatus) -> Option<i32> {
    match s {
        WaitStatus::Exited(_, c) => Some(c),
        WaitStatus::Signaled(_, sig, _) => Some(128 + sig as i32),
        _ => None,
    }
}

/// The errno's name, for messages built outside this module.
pub fn errno_str(e: Errno) -> &'static str {
    errno_name(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_round_trip() {
        let mut buf = Vec::new();
        let mut all = Vec::new();
        for r in [
            Report::Did(Step::MountProc, "proc".into()),
            Report::Failed(Step::Exec, Errno::ENOENT, "nosuch".into()),
        ] {
            r.encode(&mut buf);
            all.extend_from_slice(&buf);
        }
        assert_eq!(
            Report::decode_all(&all),
            vec![
                Report::Did(Step::MountProc, "proc".into()),
                Report::Failed(Step::Exec, Errno::ENOENT, "nosuch".into())
            ]
        );
    }

    #[test]
    fn empty_command_is_rejected() {
        let e = spawn(&Spec::default()).unwrap_err();
        assert!(e.detail.contains("command is empty"), "{e}");
    }

    #[test]
    fn hostname_without_uts_is_rejected() {
        let spec = Spec {
            argv: vec!["true".into()],
            hostname: Some("x".into()),
            ..Default::default()
        };
        let e = spawn(&spec).unwrap_err();
        assert!(e.hint.as_deref().unwrap_or("").contains("uts"), "{e}");
    }
}
