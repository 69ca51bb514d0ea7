//! The setup plan: every system call a new process makes between clone and
//! execve, rendered in advance, in order (bubblewrap's list of setup ops).
//!
//! Rendering allocates: every path, every argv/envp and every map text is
//! a C string here before clone. Running a plan (os::process::child) does
//! not: it walks the list with raw system calls only, so it can run in a
//! child that shares the interpreter's memory. Each op is one system call,
//! belongs to a `Step` (named in errors), and reads as strace would print
//! it (`Plan::event`), which is what `trace: true` and `--trace` show.

use super::super::idmap::{self, IdRange, SetGroups};
use super::super::ns::{Namespace, NsSet};
use super::super::nsfs::{JoinFd, Target};
use super::super::trace::{flag_names, Arg, Event, Ret};
use super::super::Result;
use super::{Mode, Propagation, Spec, Stdio, Step};
use nix::errno::Errno;
use std::ffi::CString;
use std::os::fd::RawFd;

/// A file descriptor an op works on: one known when the plan is rendered,
/// or one an earlier `Open` of the plan left in a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fd {
    Raw(RawFd),
    Slot(u8),
}

/// Slots for fds opened by the plan itself.
pub const SLOTS: usize = 4;

/// One system call of the setup.
#[derive(Debug)]
pub enum Sys {
    Close(RawFd),
    /// prctl(option, arg).
    Prctl(i32, u64),
    /// setpgid(0, 0): a process group of its own (job control).
    Setpgid,
    /// read(fd, 1 byte): blocks until the parent says go; EOF means the
    /// parent gave up, and the process ends without a word.
    WaitGo(RawFd),
    /// setns(fd, nstype); `what` is the fd's path, for the trace.
    Setns {
        fd: RawFd,
        nstype: u64,
        what: String,
    },
    /// Own time_for_children after unshare(CLONE_NEWTIME), from a slot.
    SetnsSlot {
        slot: u8,
        nstype: u64,
    },
    Setgroups0,
    /// prlimit64(0, resource, [soft, hard], NULL).
    Prlimit {
        resource: u32,
        limit: [u64; 2],
    },
    Setresgid(u32),
    Setresuid(u32),
    Unshare(u64),
    /// clone3(CLONE_VM|CLONE_PARENT): the rest of the plan runs in a new
    /// process, a child of nsscript, in the pid namespace this process
    /// joined or created (setns and unshare of CLONE_NEWPID move only
    /// later children). The cloning process reports the new pid and exits.
    CloneParent,
    /// dup3(from, to, 0); when equal, clears FD_CLOEXEC instead.
    Dup {
        from: Fd,
        to: i32,
    },
    Open {
        path: CString,
        flags: i32,
        /// The mode of a file O_CREAT makes.
        mode: u32,
        slot: u8,
    },
    Mkdir {
        path: CString,
        mode: u32,
    },
    /// symlink(target, link).
    Symlink {
        target: CString,
        link: CString,
    },
    PivotRoot {
        new: CString,
        old: CString,
    },
    Umount {
        target: CString,
        flags: i32,
    },
    /// setgroups(2) with a list.
    Setgroups(Vec<u32>),
    /// socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_ROUTE) into a slot.
    NetlinkSocket {
        slot: u8,
    },
    /// One netlink request, rendered in advance, and its ack: an error in
    /// the ack is the op's errno. `what` says it as `ip` would.
    NetlinkRequest {
        slot: u8,
        msg: Vec<u8>,
        what: &'static str,
    },
    /// write(2) of the whole buffer in one call (a short write is EIO).
    Write {
        fd: Fd,
        data: Vec<u8>,
    },
    CloseSlot(u8),
    Mount {
        src: Option<CString>,
        target: CString,
        fstype: Option<CString>,
        flags: u64,
        data: Option<CString>,
    },
    Sethostname(CString),
    Setdomainname(CString),
    Chdir(CString),
    /// close_range(first, ~0, CLOSE_RANGE_CLOEXEC).
    CloseRangeCloexec(u32),
    /// fcntl(fd, F_SETFD, FD_CLOEXEC), where close_range cannot.
    Cloexec(RawFd),
    /// Every signal with a handler back to SIG_DFL: the handlers are the
    /// interpreter's code, which must never run in the child.
    ResetHandlers,
    /// rt_sigaction(sig, SIG_DFL).
    SigDefault(i32),
    /// rt_sigprocmask(SIG_SETMASK, mask).
    SigSetmask(u64),
    /// Report `Ready` (and find out whether the parent still listens).
    Ready,
    /// execveat(fd, "", argv, envp, AT_EMPTY_PATH) of the init image (a
    /// sealed memfd): the process becomes the init, a program of its own,
    /// and runs the next two ops itself (process::init).
    InitExec(RawFd),
    /// The init's clone of the command (reported by the init).
    InitClone,
    /// execve of the plan's program, trying each PATH candidate.
    Exec,
}

/// One op: a system call and the step it belongs to.
#[derive(Debug)]
pub struct Op {
    pub step: Step,
    pub sys: Sys,
    /// Plumbing (closing pipe ends, signal masks): not in the step trace.
    pub quiet: bool,
    /// Errors that are an answer, not a failure (setgroups EPERM where a
    /// joined namespace denies it).
    pub tolerate: &'static [Errno],
    /// A plain-words remark for the trace.
    pub note: Option<&'static str>,
}

impl Op {
    pub(super) fn new(step: Step, sys: Sys) -> Op {
        Op {
            step,
            sys,
            quiet: false,
            tolerate: &[],
            note: None,
        }
    }

    pub(super) fn quiet(step: Step, sys: Sys) -> Op {
        Op {
            quiet: true,
            ..Op::new(step, sys)
        }
    }

    /// openat(AT_FDCWD, path, flags) into `slot` (no file created).
    pub(super) fn open(step: Step, path: &str, flags: i32, slot: u8) -> Op {
        Op::new(
            step,
            Sys::Open {
                path: cstr(path),
                flags,
                mode: 0,
                slot,
            },
        )
    }

    pub(super) fn note(mut self, n: &'static str) -> Op {
        self.note = Some(n);
        self
    }
}

/// The program a plan ends by running.
#[derive(Debug)]
pub struct Program {
    /// Paths to try, in PATH order (like execvpe(3)).
    pub candidates: Vec<CString>,
    pub argv: Vec<CString>,
    pub envp: Vec<CString>,
    pub argv_ptrs: Vec<*const libc::c_char>,
    pub envp_ptrs: Vec<*const libc::c_char>,
}

/// What the process does once the plan is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// execve the program (spawn).
    Exec,
    /// Return from fork: a copy of the interpreter goes on (in_ns).
    Return,
    /// _exit(0): a helper that only did the plan (unshare's map writer).
    Exit,
}

/// A rendered setup.
#[derive(Debug)]
pub struct Plan {
    pub ops: Vec<Op>,
    pub program: Option<Program>,
    pub then: Then,
    /// Report every op (not only failures).
    pub trace: bool,
    /// The process that runs the plan becomes the init in front of the
    /// program (`Sys::InitExec`).
    pub init: Option<super::Init>,
    /// The init image's argv, when there is an init.
    pub image: Option<ImageArgv>,
}

/// The argument vector the init image is executed with: its own options,
/// then the command's argv.
#[derive(Debug)]
pub struct ImageArgv {
    pub argv: Vec<CString>,
    pub ptrs: Vec<*const libc::c_char>,
}

/// The fds of a spawn's plumbing, as the parent made them.
#[derive(Debug, Default, Clone, Copy)]
pub struct Fds {
    /// Read end of the report pipe (the child closes its copy).
    pub report_r: RawFd,
    /// Both ends of the "go" pipe, when the parent acts before the child.
    pub go: Option<(RawFd, RawFd)>,
    /// The child's ends of piped stdin, stdout, stderr.
    pub stdio: [Option<RawFd>; 3],
    /// Write end of the report pipe: an init image reports on it.
    pub report_w: RawFd,
    /// Both ends of the pipe an init image waits on (EOF) before it reaps
    /// anything, when the setup is traced.
    pub hold: Option<(RawFd, RawFd)>,
    /// The sealed memfd of the init image (-1 without an init).
    pub image: RawFd,
}

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

pub(super) fn cstr(s: &str) -> CString {
    // The validator (setup::check) refused NUL bytes already; a string
    // with one becomes empty rather than a panic.
    CString::new(s).unwrap_or_default()
}

/// The clone flags as strace names them, lowest bit first.
pub const CLONE_NAMES: &[(u64, &str)] = &[
    (libc::CLONE_NEWTIME as u64, "CLONE_NEWTIME"),
    (libc::CLONE_VM as u64, "CLONE_VM"),
    (libc::CLONE_FS as u64, "CLONE_FS"),
    (libc::CLONE_FILES as u64, "CLONE_FILES"),
    (libc::CLONE_SIGHAND as u64, "CLONE_SIGHAND"),
    (libc::CLONE_PIDFD as u64, "CLONE_PIDFD"),
    (libc::CLONE_PTRACE as u64, "CLONE_PTRACE"),
    (libc::CLONE_VFORK as u64, "CLONE_VFORK"),
    (libc::CLONE_PARENT as u64, "CLONE_PARENT"),
    (libc::CLONE_THREAD as u64, "CLONE_THREAD"),
    (libc::CLONE_NEWNS as u64, "CLONE_NEWNS"),
    (libc::CLONE_SYSVSEM as u64, "CLONE_SYSVSEM"),
    (libc::CLONE_SETTLS as u64, "CLONE_SETTLS"),
    (libc::CLONE_PARENT_SETTID as u64, "CLONE_PARENT_SETTID"),
    (libc::CLONE_CHILD_CLEARTID as u64, "CLONE_CHILD_CLEARTID"),
    (libc::CLONE_UNTRACED as u64, "CLONE_UNTRACED"),
    (libc::CLONE_CHILD_SETTID as u64, "CLONE_CHILD_SETTID"),
    (libc::CLONE_NEWCGROUP as u64, "CLONE_NEWCGROUP"),
    (libc::CLONE_NEWUTS as u64, "CLONE_NEWUTS"),
    (libc::CLONE_NEWIPC as u64, "CLONE_NEWIPC"),
    (libc::CLONE_NEWUSER as u64, "CLONE_NEWUSER"),
    (libc::CLONE_NEWPID as u64, "CLONE_NEWPID"),
    (libc::CLONE_NEWNET as u64, "CLONE_NEWNET"),
    (libc::CLONE_IO as u64, "CLONE_IO"),
    (super::super::sys::CLONE_INTO_CGROUP, "CLONE_INTO_CGROUP"),
];

const OPEN_NAMES: &[(u64, &str)] = &[
    (libc::O_WRONLY as u64, "O_WRONLY"),
    (libc::O_RDWR as u64, "O_RDWR"),
    (libc::O_CREAT as u64, "O_CREAT"),
    (libc::O_EXCL as u64, "O_EXCL"),
    (libc::O_NOCTTY as u64, "O_NOCTTY"),
    (libc::O_TRUNC as u64, "O_TRUNC"),
    (libc::O_DIRECTORY as u64, "O_DIRECTORY"),
    (libc::O_NOFOLLOW as u64, "O_NOFOLLOW"),
    (libc::O_CLOEXEC as u64, "O_CLOEXEC"),
    (libc::O_PATH as u64, "O_PATH"),
];

pub fn open_flags(flags: i32) -> String {
    let f = flag_names(flags as u64, OPEN_NAMES);
    // O_RDONLY is 0: strace names it anyway.
    if flags & libc::O_ACCMODE == libc::O_RDONLY && flags & libc::O_PATH == 0 {
        if f == "0" {
            "O_RDONLY".into()
        } else {
            format!("O_RDONLY|{f}")
        }
    } else {
        f
    }
}

pub fn clone_flag_names(bits: u64) -> String {
    flag_names(bits, CLONE_NAMES)
}

/// The clone flags of the kinds in `ns`, as clone3 takes them.
pub fn ns_bits(ns: NsSet) -> u64 {
    ns.iter()
        .fold(0u64, |acc, n| acc | n.clone_flag().bits() as u64)
}

/// Ops that open `path`, write `text` in one write(2), and close it: the
/// way proc files such as uid_map and timens_offsets must be written.
fn write_file(ops: &mut Vec<Op>, step: Step, path: &str, text: &str) {
    ops.push(Op::open(step, path, libc::O_WRONLY | libc::O_CLOEXEC, 0));
    ops.push(Op::new(
        step,
        Sys::Write {
            fd: Fd::Slot(0),
            data: text.as_bytes().to_vec(),
        },
    ));
    ops.push(Op::quiet(step, Sys::CloseSlot(0)));
}

/// Writing the id maps of process `pid`'s user namespace, in the order the
/// kernel requires: setgroups before gid_map (since Linux 3.19 an
/// unprivileged writer of gid_map must first deny setgroups), each map in
/// one write. "allow" is the kernel's default, so only "deny" is written.
pub fn map_ops(
    pid: &str,
    uid_map: Option<&[IdRange]>,
    gid_map: Option<&[IdRange]>,
    setgroups: SetGroups,
) -> Vec<Op> {
    let mut ops = Vec::new();
    if setgroups == SetGroups::Deny {
        write_file(
            &mut ops,
            Step::WriteMaps,
            &format!("/proc/{pid}/setgroups"),
            "deny",
        );
    }
    for (which, map) in [("uid_map", uid_map), ("gid_map", gid_map)] {
        if let Some(m) = map {
            write_file(
                &mut ops,
                Step::WriteMaps,
                &format!("/proc/{pid}/{which}"),
                &idmap::render(m),
            );
        }
    }
    ops
}

/// The bits of every signal: the mask a program must not start with.
const ALL_SIGNALS: u64 = !0;

impl Plan {
    /// The plan of a spawned child (Mode::Spawn) or of an in_ns copy
    /// (Mode::Fork). `old_mask` is the signal mask the interpreter had
    /// before blocking everything around clone.
    pub fn for_child(spec: &Spec, mode: Mode, fds: &Fds, old_mask: u64) -> Result<Plan> {
        let exec = mode == Mode::Spawn;
        let mut ops = Vec::new();
        // The child's copies of the parent's pipe ends: without closing
        // them it would hold its own report pipe open, and never see the
        // go pipe's EOF.
        ops.push(Op::quiet(Step::Clone, Sys::Close(fds.report_r)));
        if let Some((_, w)) = fds.go {
            ops.push(Op::quiet(Step::Clone, Sys::Close(w)));
        }
        if let Some((_, w)) = fds.hold {
            ops.push(Op::quiet(Step::Clone, Sys::Close(w)));
        }
        if exec {
            ops.push(Op::quiet(Step::Signals, Sys::ResetHandlers));
        }
        // Die with nsscript. If it dies before this call, the Ready report
        // finds the pipe closed (EPIPE) and the child stops there.
        ops.push(Op::quiet(
            Step::DieWithParent,
            Sys::Prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as u64),
        ));
        if super::super::job_control() {
            ops.push(Op::quiet(Step::Clone, Sys::Setpgid));
        }
        if let Some(t) = &spec.join {
            ops.extend(join_ops(t));
        }
        if let Some((r, _)) = fds.go {
            // Until the parent has written uid_map/gid_map the child has no
            // capabilities in its new user namespace.
            ops.push(Op::new(Step::WaitForMaps, Sys::WaitGo(r)));
        }
        if spec.join.is_some() {
            create_inside_joined(&mut ops, spec);
        }
        if exec {
            stdio_ops(&mut ops, spec, fds);
        }
        if spec.ns.contains(Namespace::Mount) {
            propagation_op(&mut ops, spec.propagation);
        }
        // A new root: every mount, /proc, then pivot_root (see
        // setup::rootfs); without one, the mounts land in the private tree.
        super::rootfs::mounts(&mut ops, spec)?;
        if spec.mount_proc && spec.root.is_none() {
            ops.push(proc_op("/proc"));
        }
        super::rootfs::masks(&mut ops, spec)?;
        names_ops(&mut ops, spec);
        if spec.ns.contains(Namespace::Time) {
            time_ops(&mut ops, spec, !exec);
        }
        if let Some(c) = &spec.cwd {
            ops.push(Op::new(Step::Chdir, Sys::Chdir(cstr(c))));
        }
        if spec.lo_up {
            lo_up_ops(&mut ops);
        }
        limit_ops(&mut ops, spec);
        ids_ops(&mut ops, spec);
        if spec.no_new_privs {
            // No execve from here on can grant privileges (setuid bits,
            // file capabilities), for this process and its children.
            ops.push(Op::new(
                Step::NoNewPrivs,
                Sys::Prctl(libc::PR_SET_NO_NEW_PRIVS, 1),
            ));
        }
        let program = if exec {
            fd_ops(&mut ops);
            // An ignored signal stays ignored across execve, and a blocked
            // one stays blocked: the program starts with SIGPIPE at its
            // default (nsscript ignores it) and nothing blocked.
            ops.push(Op::quiet(Step::Signals, Sys::SigDefault(libc::SIGPIPE)));
            if super::super::job_control() {
                for s in [libc::SIGTTOU, libc::SIGTTIN] {
                    ops.push(Op::quiet(Step::Signals, Sys::SigDefault(s)));
                }
            }
            // An init keeps every signal blocked (it takes them with
            // sigtimedwait); its command unblocks them itself.
            if spec.init.is_none() {
                ops.push(Op::quiet(Step::Signals, Sys::SigSetmask(0)));
            }
            Some(program(spec))
        } else {
            ops.push(Op::quiet(Step::Signals, Sys::SigSetmask(old_mask)));
            None
        };
        let init = spec.init.filter(|_| exec);
        let mut image = None;
        if init.is_some() {
            // The init image reports on the pipe and waits on the hold
            // pipe: both must survive its execveat (the plan made every fd
            // close-on-exec above; the init sets it again for its command).
            let mut keep = vec![fds.report_w];
            keep.extend(fds.hold.map(|(r, _)| r));
            for fd in keep {
                ops.push(Op::quiet(
                    Step::Init,
                    Sys::Dup {
                        from: Fd::Raw(fd),
                        to: fd,
                    },
                ));
            }
        }
        ops.push(Op::quiet(Step::Exec, Sys::Ready));
        if let (Some(i), Some(p)) = (init, &program) {
            let who = ops.iter().any(|o| matches!(o.sys, Sys::CloneParent));
            let setup = format!(
                "{},{},{},{},{}",
                fds.report_w,
                fds.hold.map_or(-1, |(r, _)| r),
                who as u8,
                ops.len(),
                (spec.trace || super::super::trace::enabled()) as u8
            );
            image = Some(image_argv(&setup, i.pgroup, p));
            ops.push(
                Op::new(Step::Init, Sys::InitExec(fds.image))
                    .note("the init: a program of its own, from a sealed memfd"),
            );
            ops.push(
                Op::new(Step::Init, Sys::InitClone)
                    .note("the init starts the command as its child"),
            );
        }
        if exec {
            ops.push(Op::new(Step::Exec, Sys::Exec));
        }
        Ok(Plan {
            ops,
            program,
            then: if exec { Then::Exec } else { Then::Return },
            trace: spec.trace || super::super::trace::enabled(),
            init,
            image,
        })
    }

    /// The plan of unshare's map writer: a helper that stays outside,
    /// waits until the interpreter has unshared, writes its maps and
    /// exits. The maps must be written from the parent user namespace to
    /// hold more than one's own id (the writer needs CAP_SETUID there).
    pub fn map_writer(spec: &Spec, target: i32, fds: &Fds) -> Plan {
        let mut ops = vec![Op::quiet(Step::Clone, Sys::Close(fds.report_r))];
        let go = fds.go.unwrap_or((-1, -1));
        ops.push(Op::quiet(Step::Clone, Sys::Close(go.1)));
        ops.push(Op::quiet(
            Step::DieWithParent,
            Sys::Prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as u64),
        ));
        ops.push(Op::quiet(Step::WaitForMaps, Sys::WaitGo(go.0)));
        ops.extend(map_ops(
            &target.to_string(),
            spec.uid_map.as_deref(),
            spec.gid_map.as_deref(),
            spec.setgroups.unwrap_or(SetGroups::Deny),
        ));
        ops.push(Op::quiet(Step::WriteMaps, Sys::Ready));
        Plan {
            ops,
            program: None,
            then: Then::Exit,
            trace: spec.trace || super::super::trace::enabled(),
            init: None,
            image: None,
        }
    }

    /// unshare(2) of every kind asked for, in one call: the kernel creates
    /// the user namespace first and makes it the owner of the others.
    pub fn unshare(spec: &Spec) -> Plan {
        Plan::in_process(
            vec![Op::new(Step::Unshare, Sys::Unshare(ns_bits(spec.ns)))],
            spec.trace,
        )
    }

    /// The steps the interpreter takes itself after unshare(2) (and after
    /// its maps are written): setgroups where no map was written, / made
    /// private, time offsets, names.
    pub fn after_unshare(spec: &Spec, maps_written: bool) -> Plan {
        let mut ops = Vec::new();
        if spec.ns.contains(Namespace::User)
            && !maps_written
            && spec.setgroups.unwrap_or(SetGroups::Deny) == SetGroups::Deny
        {
            // No maps: still deny setgroups, as spawn does for a new user
            // namespace (allowed from inside: we have CAP_SYS_ADMIN there).
            write_file(&mut ops, Step::WriteMaps, "/proc/self/setgroups", "deny");
        }
        if spec.ns.contains(Namespace::Mount) {
            propagation_op(&mut ops, spec.propagation);
        }
        if spec.ns.contains(Namespace::Time) {
            if let Some(t) = spec.time_offsets {
                write_file(
                    &mut ops,
                    Step::TimeNamespace,
                    "/proc/self/timens_offsets",
                    &t.render(),
                );
            }
            enter_own_time_ns(&mut ops);
        }
        names_ops(&mut ops, spec);
        Plan {
            ops,
            program: None,
            then: Then::Return,
            trace: spec.trace || super::super::trace::enabled(),
            init: None,
            image: None,
        }
    }

    /// A plan of ops run by the interpreter itself (the map writes of a
    /// spawn's parent).
    pub fn in_process(ops: Vec<Op>, trace: bool) -> Plan {
        Plan {
            ops,
            program: None,
            then: Then::Return,
            trace: trace || super::super::trace::enabled(),
            init: None,
            image: None,
        }
    }

    /// Whether the plan forks into a pid namespace on the way.
    pub fn forks(&self) -> bool {
        self.ops.iter().any(|o| matches!(o.sys, Sys::CloneParent))
    }

    /// The op that starts the command under an init (`Sys::InitClone`).
    pub fn init_clone_op(&self) -> Option<usize> {
        self.ops
            .iter()
            .position(|o| matches!(o.sys, Sys::InitClone))
    }
}

/// Joining (enter, spawn's `join`): the fds were opened by the parent,
/// user first; then, with a user namespace, uid and gid 0 there when they
/// are mapped, as nsenter does: a program exec'd with another uid would
/// lose the capabilities the join gave.
pub fn join_ops(t: &Target) -> Vec<Op> {
    let mut ops = Vec::new();
    for j in t.fds() {
        let JoinFd { fd, nstype, what } = j;
        ops.push(Op::new(Step::Join, Sys::Setns { fd, nstype, what }));
    }
    if t.ns.contains(Namespace::User) {
        // setgroups is refused (EPERM) where the namespace denies it; an
        // unmapped 0 is EINVAL: keep the ids then (they show as 65534).
        ops.push(Op {
            tolerate: &[Errno::EPERM],
            ..Op::new(Step::Join, Sys::Setgroups0)
        });
        for sys in [Sys::Setresgid(0), Sys::Setresuid(0)] {
            ops.push(Op {
                tolerate: &[Errno::EINVAL],
                ..Op::new(Step::Join, sys)
            });
        }
    }
    ops
}

/// After joining: create the `ns` kinds inside the joined namespaces, and
/// fork once when the process must be in another pid namespace
/// (setns(CLONE_NEWPID) and unshare(CLONE_NEWPID) move only later
/// children). The new process is nsscript's own child (CLONE_PARENT), so
/// nsscript waits for it directly: there is no relay in between, and its
/// exit status, or the signal that killed it, is the command's own.
fn create_inside_joined(ops: &mut Vec<Op>, spec: &Spec) {
    let new: NsSet = spec.ns.iter().filter(|k| *k != Namespace::Time).collect();
    if !new.is_empty() {
        ops.push(Op::new(Step::Unshare, Sys::Unshare(ns_bits(new))));
    }
    let joined_pid = spec
        .join
        .as_ref()
        .is_some_and(|t| t.ns.contains(Namespace::Pid));
    if joined_pid || new.contains(Namespace::Pid) {
        ops.push(
            Op::new(Step::Fork, Sys::CloneParent)
                .note("the new process is in the pid namespace; this one exits"),
        );
        ops.push(Op::quiet(
            Step::DieWithParent,
            Sys::Prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as u64),
        ));
    }
}

/// A standard stream becomes a pipe end or /dev/null (dup3 clears
/// FD_CLOEXEC on the copy; the originals close at exec).
fn stdio_ops(ops: &mut Vec<Op>, spec: &Spec, fds: &Fds) {
    for (target, how) in [(0, spec.stdin), (1, spec.stdout), (2, spec.stderr)] {
        match (how, fds.stdio[target as usize]) {
            (Stdio::Inherit, _) => {}
            (Stdio::Pipe, Some(fd)) => ops.push(Op::new(
                Step::Stdio,
                Sys::Dup {
                    from: Fd::Raw(fd),
                    to: target,
                },
            )),
            (Stdio::Null, _) | (Stdio::Pipe, None) => {
                let flags = if target == 0 {
                    libc::O_RDONLY
                } else {
                    libc::O_WRONLY
                };
                ops.push(Op::open(
                    Step::Stdio,
                    "/dev/null",
                    flags | libc::O_CLOEXEC,
                    1,
                ));
                ops.push(Op::new(
                    Step::Stdio,
                    Sys::Dup {
                        from: Fd::Slot(1),
                        to: target,
                    },
                ));
                ops.push(Op::quiet(Step::Stdio, Sys::CloseSlot(1)));
            }
        }
    }
}

/// Before any mount in a new mount namespace: stop propagation to the host.
/// The new namespace copies the old one's propagation, and where / is a
/// shared mount (systemd makes it so) a mount would appear in the host's
/// table too.
fn propagation_op(ops: &mut Vec<Op>, p: Propagation) {
    if let Some((flag, _)) = p.flag() {
        ops.push(Op::new(
            Step::Propagation,
            Sys::Mount {
                src: None,
                target: cstr("/"),
                fstype: None,
                flags: flag | libc::MS_REC,
                data: None,
            },
        ));
    }
}

fn names_ops(ops: &mut Vec<Op>, spec: &Spec) {
    if let Some(h) = &spec.hostname {
        ops.push(Op::new(Step::Hostname, Sys::Sethostname(cstr(h))));
    }
    if let Some(d) = &spec.domainname {
        ops.push(Op::new(Step::Domainname, Sys::Setdomainname(cstr(d))));
    }
}

/// unshare(CLONE_NEWTIME) puts later children in a new time namespace and
/// execve moves the process itself there (Linux 5.11). The offsets must be
/// written before that, while nobody is inside. Without an exec (in_ns) the
/// process moves itself in with setns on its own time_for_children.
fn time_ops(ops: &mut Vec<Op>, spec: &Spec, no_exec: bool) {
    ops.push(Op::new(
        Step::TimeNamespace,
        Sys::Unshare(libc::CLONE_NEWTIME as u64),
    ));
    if let Some(t) = spec.time_offsets {
        write_file(
            ops,
            Step::TimeNamespace,
            "/proc/self/timens_offsets",
            &t.render(),
        );
    }
    if no_exec {
        enter_own_time_ns(ops);
    }
}

fn enter_own_time_ns(ops: &mut Vec<Op>) {
    ops.push(Op::open(
        Step::TimeNamespace,
        "/proc/self/ns/time_for_children",
        libc::O_RDONLY | libc::O_CLOEXEC,
        2,
    ));
    ops.push(Op::new(
        Step::TimeNamespace,
        Sys::SetnsSlot {
            slot: 2,
            nstype: libc::CLONE_NEWTIME as u64,
        },
    ));
    ops.push(Op::quiet(Step::TimeNamespace, Sys::CloseSlot(2)));
}

/// No fd of nsscript's may reach the program: every fd above 2 is marked
/// close-on-exec (one close_range(2) where the kernel has the flag, else
/// each fd open now, as /proc/self/fd lists them).
fn fd_ops(ops: &mut Vec<Op>) {
    if super::super::sys::has_close_range_cloexec() {
        ops.push(Op::quiet(Step::Fds, Sys::CloseRangeCloexec(3)));
        return;
    }
    let fds: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .filter(|fd: &RawFd| *fd > 2)
                .collect()
        })
        .unwrap_or_default();
    for fd in fds {
        ops.push(Op {
            tolerate: &[Errno::EBADF],
            ..Op::quiet(Step::Fds, Sys::Cloexec(fd))
        });
    }
}

/// A proc mount shows the pid namespace of the process that mounts it:
/// this one is inside the new one (its pid 1).
pub(super) fn proc_op(target: &str) -> Op {
    Op::new(
        Step::MountProc,
        Sys::Mount {
            src: Some(cstr("proc")),
            target: cstr(target),
            fstype: Some(cstr("proc")),
            flags: libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            data: None,
        },
    )
}

/// RTM_NEWLINK for ifindex 1 (lo, the first link of every network
/// namespace) with IFF_UP: `ip link set lo up`, as one message.
fn lo_up_msg() -> Vec<u8> {
    const NLMSG_LEN: u32 = 16 + 16;
    let mut m = Vec::with_capacity(NLMSG_LEN as usize);
    m.extend_from_slice(&NLMSG_LEN.to_ne_bytes());
    m.extend_from_slice(&libc::RTM_NEWLINK.to_ne_bytes());
    m.extend_from_slice(&((libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16).to_ne_bytes());
    m.extend_from_slice(&1u32.to_ne_bytes()); // sequence
    m.extend_from_slice(&0u32.to_ne_bytes()); // port: the kernel's
                                              // struct ifinfomsg: family, pad, type, index, flags, change.
    m.extend_from_slice(&[libc::AF_UNSPEC as u8, 0]);
    m.extend_from_slice(&0u16.to_ne_bytes());
    m.extend_from_slice(&1i32.to_ne_bytes());
    m.extend_from_slice(&(libc::IFF_UP as u32).to_ne_bytes());
    m.extend_from_slice(&(libc::IFF_UP as u32).to_ne_bytes());
    m
}

/// lo up in the new network namespace, before the program runs: a fresh
/// namespace's loopback is down, and 127.0.0.1 does not answer until it
/// is up.
fn lo_up_ops(ops: &mut Vec<Op>) {
    ops.push(Op::new(Step::Lo, Sys::NetlinkSocket { slot: 3 }));
    ops.push(Op::new(
        Step::Lo,
        Sys::NetlinkRequest {
            slot: 3,
            msg: lo_up_msg(),
            what: "ip link set lo up",
        },
    ));
    ops.push(Op::quiet(Step::Lo, Sys::CloseSlot(3)));
}

/// Resource limits, then the bounding set. A capability dropped from the
/// bounding set can never come back to this process or its children; it
/// does not touch the effective set, so the ids can still be changed
/// after it (a change away from uid 0 clears the effective set, and with
/// it CAP_SETPCAP, which the drop needs). At execve a program running as
/// uid 0 gets the bounding set as its permitted and effective sets, any
/// other uid none (capabilities(7)).
fn limit_ops(ops: &mut Vec<Op>, spec: &Spec) {
    for r in &spec.rlimits {
        ops.push(Op::new(
            Step::Rlimits,
            Sys::Prlimit {
                resource: r.resource,
                limit: [r.soft, r.hard],
            },
        ));
    }
    if let Some(keep) = spec.capabilities {
        for cap in 0..=super::super::caps::last().min(63) {
            if keep & (1u64 << cap) == 0 {
                ops.push(Op::new(
                    Step::Capabilities,
                    Sys::Prctl(libc::PR_CAPBSET_DROP, cap as u64),
                ));
            }
        }
    }
}

/// The ids the program runs with, set last (after them the process may
/// have no right to mount or to write anything of the setup). Without a
/// list of groups the supplementary groups are dropped, where the user
/// namespace allows setgroups at all.
fn ids_ops(ops: &mut Vec<Op>, spec: &Spec) {
    if spec.uid.is_none() && spec.gid.is_none() && spec.groups.is_none() {
        return;
    }
    match &spec.groups {
        Some(g) if !g.is_empty() => ops.push(Op::new(Step::Ids, Sys::Setgroups(g.clone()))),
        _ => ops.push(Op {
            tolerate: &[Errno::EPERM],
            ..Op::new(Step::Ids, Sys::Setgroups0)
        }),
    }
    if let Some(g) = spec.gid {
        ops.push(Op::new(Step::Ids, Sys::Setresgid(g)));
    }
    if let Some(u) = spec.uid {
        ops.push(Op::new(Step::Ids, Sys::Setresuid(u)));
    }
}

/// `nsscript-init --setup R,H,W,O,T [--pgroup] -- ARGV...`: the init
/// image's options (init/pid1.rs), then the command.
fn image_argv(setup: &str, pgroup: bool, p: &Program) -> ImageArgv {
    let mut argv = vec![cstr("nsscript-init"), cstr("--setup"), cstr(setup)];
    if pgroup {
        argv.push(cstr("--pgroup"));
    }
    argv.push(cstr("--"));
    argv.extend(p.argv.iter().cloned());
    let ptrs = argv
        .iter()
        .map(|c| c.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    ImageArgv { argv, ptrs }
}

/// The program: argv, the environment it gets, and the paths to try. The
/// program is looked up in the PATH the child will have, like execvpe(3),
/// but the list is made here, before clone.
fn program(spec: &Spec) -> Program {
    let prog = spec.argv.first().cloned().unwrap_or_default();
    let argv: Vec<CString> = spec.argv.iter().map(|a| cstr(a)).collect();
    let mut env: Vec<(String, String)> = if spec.clear_env {
        Vec::new()
    } else {
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect()
    };
    for (k, v) in &spec.env {
        env.retain(|(ek, _)| ek != k);
        env.push((k.clone(), v.clone()));
    }
    let candidates = if prog.contains('/') {
        vec![cstr(&prog)]
    } else {
        let path = env
            .iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.as_str())
            .unwrap_or(DEFAULT_PATH);
        path.split(':')
            .map(|d| if d.is_empty() { "." } else { d })
            .map(|d| cstr(&format!("{d}/{prog}")))
            .collect()
    };
    let envp: Vec<CString> = env.iter().map(|(k, v)| cstr(&format!("{k}={v}"))).collect();
    let ptrs = |v: &[CString]| {
        v.iter()
            .map(|c| c.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect()
    };
    Program {
        argv_ptrs: ptrs(&argv),
        envp_ptrs: ptrs(&envp),
        candidates,
        argv,
        envp,
    }
}

// ---------------------------------------------------------------------
// The ops in strace's words
// ---------------------------------------------------------------------

/// A limit as strace prints it.
fn limit_text(v: u64) -> String {
    if v == libc::RLIM_INFINITY {
        "RLIM64_INFINITY".to_string()
    } else {
        v.to_string()
    }
}

fn s(c: &CString) -> Arg {
    Arg::Str(c.as_bytes().to_vec())
}

fn konst(t: impl Into<String>) -> Arg {
    Arg::Const(t.into())
}

fn sig_name(sig: i32) -> String {
    super::super::trace::signal_name(sig)
}

/// What the fds of a setup are, for `strace -y`'s `5</dev/null>`: those
/// the plan opened into slots, as the ops' results said, and those the
/// parent made before clone (pipe ends, the standard streams), by the
/// paths it saw.
#[derive(Debug, Default, Clone)]
pub struct Slots {
    opened: [Option<(i32, String)>; SLOTS],
    known: Vec<(RawFd, String)>,
    /// The working directory once an op changed it (a chdir, or a join of
    /// a mount namespace, which moves it to that namespace's root).
    cwd: Option<String>,
}

impl Slots {
    /// Knows the paths of these fds of this process as they are now.
    pub fn with_fds(fds: impl IntoIterator<Item = RawFd>) -> Slots {
        let known = fds
            .into_iter()
            .filter(|fd| *fd >= 0)
            .map(|fd| (fd, super::super::trace::fd_path(fd)))
            .collect();
        Slots {
            known,
            ..Slots::default()
        }
    }

    fn path_of(&self, fd: RawFd) -> Option<&str> {
        self.known
            .iter()
            .find(|(n, _)| *n == fd)
            .map(|(_, p)| p.as_str())
    }

    fn raw(&self, fd: RawFd) -> Arg {
        match self.path_of(fd) {
            Some(p) => Arg::Fd(fd, p.to_string()),
            None => Arg::Int(fd as i64),
        }
    }

    fn fd(&self, fd: Fd) -> Arg {
        match fd {
            Fd::Raw(n) => self.raw(n),
            Fd::Slot(i) => match self.opened.get(i as usize).cloned().flatten() {
                Some((n, p)) => Arg::Fd(n, p),
                None => Arg::Int(-1),
            },
        }
    }

    /// The dirfd of openat as `strace -y` shows it: `AT_FDCWD</tmp>`.
    fn at_fdcwd(&self) -> Arg {
        match &self.cwd {
            Some(d) => konst(format!("AT_FDCWD<{d}>")),
            None => super::super::trace::at_fdcwd(),
        }
    }

    /// Follows the ops that move the working directory.
    fn follow(&mut self, sys: &Sys, ret: &Ret) {
        if matches!(ret, Ret::Err(_)) {
            return;
        }
        match sys {
            Sys::Chdir(p) => {
                let base = self
                    .cwd
                    .clone()
                    .map(std::path::PathBuf::from)
                    .or_else(|| std::env::current_dir().ok())
                    .unwrap_or_default();
                let to = base.join(p.to_string_lossy().as_ref());
                self.cwd = Some(to.to_string_lossy().into_owned());
            }
            Sys::Setns { nstype, .. } if nstype & libc::CLONE_NEWNS as u64 != 0 => {
                self.cwd = Some("/".into())
            }
            _ => {}
        }
    }

    /// The number and path of an fd an op works on.
    fn number(&self, fd: Fd) -> (RawFd, Option<String>) {
        match self.fd(fd) {
            Arg::Fd(n, p) => (n, Some(p)),
            Arg::Int(n) => (n as RawFd, None),
            _ => (-1, None),
        }
    }
}

/// A plain-words remark for the ops that teach, from what they do.
fn note_of(sys: &Sys, slots: &Slots, ret: &Ret) -> Option<String> {
    if matches!(ret, Ret::Err(_)) {
        return None;
    }
    let n = match sys {
        Sys::Write { fd, data } => {
            let path = slots.number(*fd).1.unwrap_or_default();
            let text = String::from_utf8_lossy(data);
            match path.rsplit('/').next() {
                Some("setgroups") => {
                    "required before an unprivileged gid_map write (Linux 3.19)".to_string()
                }
                Some(m @ ("uid_map" | "gid_map")) => map_note(&m[..3], &text)?,
                Some("timens_offsets") => {
                    "the new time namespace's clock offsets, written while no process is in it"
                        .to_string()
                }
                _ => return None,
            }
        }
        Sys::WaitGo(_) => "the parent has written the id maps: the child goes on".to_string(),
        Sys::Mount {
            src, fstype, flags, ..
        } => super::super::mount::mount_note(
            src.is_none(),
            fstype.as_ref().map(|t| t.as_bytes()),
            *flags,
        )?
        .to_string(),
        Sys::Sethostname(_) | Sys::Setdomainname(_) => super::super::uts::NAME_NOTE.to_string(),
        Sys::Setns { what, nstype, .. } if what.contains("pidfd") => format!(
            "into the namespaces of the process the pidfd holds, all in one call{}",
            if nstype & libc::CLONE_NEWPID as u64 != 0 {
                " (pid: only for later children)"
            } else {
                ""
            }
        ),
        Sys::Setns { nstype, what, .. } if *nstype == libc::CLONE_NEWPID as u64 => {
            format!("only later children go into {what}")
        }
        Sys::Setns { what, .. } => format!("this process is now in {what}"),
        Sys::Unshare(f) if *f == libc::CLONE_NEWTIME as u64 => {
            "the new time namespace is for later children (and this process, at execve)".to_string()
        }
        Sys::Unshare(_) => "new namespaces, inside the ones joined above".to_string(),
        _ => return None,
    };
    Some(n)
}

/// An id map write in words: "uid 0 inside is uid 1000 outside".
fn map_note(what: &str, text: &str) -> Option<String> {
    let parts: Vec<String> = text
        .lines()
        .filter_map(|l| {
            let v: Vec<u64> = l
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            match v[..] {
                [i, o, 1] => Some(format!("{what} {i} inside is {what} {o} outside")),
                [i, o, c] => Some(format!(
                    "{what}s {i}-{} inside are {what}s {o}-{} outside",
                    i + c - 1,
                    o + c - 1
                )),
                _ => None,
            }
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

impl Plan {
    /// The program's name for messages: argv[0].
    pub fn program_name(&self) -> String {
        self.program
            .as_ref()
            .and_then(|p| p.argv.first())
            .map(|a| a.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// Op `i` as strace would print it, for process `pid`, with the result
    /// `ret`; `slots` follows the fds the plan opened. `aux` is the exec
    /// candidate for an exec.
    pub fn event(
        &self,
        i: usize,
        pid: i32,
        ret: Ret,
        aux: u32,
        slots: &mut Slots,
    ) -> Option<Event> {
        let op = self.ops.get(i)?;
        slots.follow(&op.sys, &ret);
        let (name, args): (&'static str, Vec<Arg>) = match &op.sys {
            Sys::Close(fd) => ("close", vec![Arg::Int(*fd as i64)]),
            Sys::Prctl(o, a) => (
                "prctl",
                vec![
                    konst(match *o {
                        libc::PR_SET_PDEATHSIG => "PR_SET_PDEATHSIG".to_string(),
                        libc::PR_SET_NO_NEW_PRIVS => "PR_SET_NO_NEW_PRIVS".to_string(),
                        libc::PR_CAPBSET_DROP => "PR_CAPBSET_DROP".to_string(),
                        o => o.to_string(),
                    }),
                    match *o {
                        libc::PR_SET_PDEATHSIG => konst(sig_name(*a as i32)),
                        libc::PR_CAPBSET_DROP => konst(super::super::caps::name(*a as u32)),
                        _ => Arg::Int(*a as i64),
                    },
                ],
            ),
            Sys::Setpgid => ("setpgid", vec![Arg::Int(0), Arg::Int(0)]),
            Sys::WaitGo(fd) => (
                "read",
                vec![
                    slots.raw(*fd),
                    match ret {
                        Ret::Val(1) => Arg::Str(b"g".to_vec()),
                        _ => Arg::Ptr,
                    },
                    Arg::Int(1),
                ],
            ),
            Sys::Setns { fd, nstype, what } => (
                "setns",
                vec![Arg::Fd(*fd, what.clone()), konst(clone_flag_names(*nstype))],
            ),
            Sys::SetnsSlot { slot, nstype } => (
                "setns",
                vec![slots.fd(Fd::Slot(*slot)), konst(clone_flag_names(*nstype))],
            ),
            Sys::Setgroups0 => ("setgroups", vec![Arg::Int(0), konst("NULL")]),
            Sys::Setresgid(id) => ("setresgid", vec![Arg::Int(*id as i64); 3]),
            Sys::Setresuid(id) => ("setresuid", vec![Arg::Int(*id as i64); 3]),
            Sys::Prlimit { resource, limit } => (
                "prlimit64",
                vec![
                    Arg::Int(0),
                    konst(super::Rlimit::name(*resource)),
                    konst(format!(
                        "{{rlim_cur={}, rlim_max={}}}",
                        limit_text(limit[0]),
                        limit_text(limit[1])
                    )),
                    konst("NULL"),
                ],
            ),
            Sys::Unshare(f) => ("unshare", vec![konst(clone_flag_names(*f))]),
            Sys::CloneParent => (
                "clone3",
                vec![
                    Arg::Struct(vec![
                        (
                            "flags",
                            konst(clone_flag_names(
                                (libc::CLONE_VM | libc::CLONE_PARENT) as u64,
                            )),
                        ),
                        ("exit_signal", Arg::Int(0)),
                        ("stack", Arg::Ptr),
                        (
                            "stack_size",
                            konst(format!("{:#x}", super::super::sys::Stack::HALF)),
                        ),
                    ]),
                    Arg::Int(std::mem::size_of::<super::super::sys::CloneArgs>() as i64),
                ],
            ),
            Sys::Dup { from, to } => {
                let (n, path) = slots.number(*from);
                let ret = match (&ret, path) {
                    (Ret::Val(v), Some(p)) if *v == *to as i64 && n != *to => Ret::Fd(*to, p),
                    _ => ret,
                };
                // Already in place: the child clears FD_CLOEXEC instead.
                let (name, args) = match n == *to {
                    true => ("fcntl", vec![slots.raw(*to), konst("F_SETFD"), Arg::Int(0)]),
                    false => ("dup3", vec![slots.fd(*from), slots.raw(*to), Arg::Int(0)]),
                };
                return Some(Event::new(pid, name, args, ret));
            }
            Sys::Open {
                path, flags, slot, ..
            } => {
                let args = vec![slots.at_fdcwd(), s(path), konst(open_flags(*flags))];
                if let Ret::Val(fd) = ret {
                    if let Some(s) = slots.opened.get_mut(*slot as usize) {
                        *s = Some((fd as i32, path.to_string_lossy().into_owned()));
                    }
                    let ret = Ret::Fd(fd as i32, path.to_string_lossy().into_owned());
                    return Some(Event::new(pid, "openat", args, ret));
                }
                ("openat", args)
            }
            Sys::Write { fd, data } => (
                "write",
                vec![
                    slots.fd(*fd),
                    Arg::Str(data.clone()),
                    Arg::Int(data.len() as i64),
                ],
            ),
            Sys::CloseSlot(i) => ("close", vec![slots.fd(Fd::Slot(*i))]),
            Sys::Mount {
                src,
                target,
                fstype,
                flags,
                data,
            } => (
                "mount",
                super::super::mount::mount_args(
                    src.as_ref().map(|c| c.as_bytes()),
                    target.as_bytes(),
                    fstype.as_ref().map(|c| c.as_bytes()),
                    *flags,
                    data.as_ref().map(|c| c.as_bytes()),
                ),
            ),
            Sys::Sethostname(n) => (
                "sethostname",
                vec![s(n), Arg::Int(n.as_bytes().len() as i64)],
            ),
            Sys::Setdomainname(n) => (
                "setdomainname",
                vec![s(n), Arg::Int(n.as_bytes().len() as i64)],
            ),
            Sys::Chdir(p) => ("chdir", vec![s(p)]),
            Sys::Mkdir { path, mode } => (
                "mkdirat",
                vec![konst("AT_FDCWD"), s(path), konst(format!("{mode:#o}"))],
            ),
            Sys::Symlink { target, link } => {
                ("symlinkat", vec![s(target), konst("AT_FDCWD"), s(link)])
            }
            Sys::PivotRoot { new, old } => ("pivot_root", vec![s(new), s(old)]),
            Sys::NetlinkSocket { .. } => {
                let args = vec![
                    konst("AF_NETLINK"),
                    konst("SOCK_RAW|SOCK_CLOEXEC"),
                    konst("NETLINK_ROUTE"),
                ];
                if let Ret::Val(fd) = ret {
                    if let Some(s) = slots.opened.get_mut(3) {
                        *s = Some((fd as i32, "socket:[NETLINK]".into()));
                    }
                }
                ("socket", args)
            }
            Sys::NetlinkRequest { slot, msg, what } => {
                let mut e = Event::new(
                    pid,
                    "sendto",
                    vec![
                        slots.fd(Fd::Slot(*slot)),
                        konst(format!("{{{what}}}")),
                        Arg::Int(msg.len() as i64),
                    ],
                    ret,
                );
                e.note = Some("the new network namespace's loopback, up".into());
                return Some(e);
            }
            Sys::Umount { target, flags } => (
                "umount2",
                vec![
                    s(target),
                    konst(if *flags == libc::MNT_DETACH {
                        "MNT_DETACH".to_string()
                    } else {
                        flags.to_string()
                    }),
                ],
            ),
            Sys::Setgroups(g) => (
                "setgroups",
                vec![
                    Arg::Int(g.len() as i64),
                    konst(format!(
                        "[{}]",
                        g.iter()
                            .map(|x| x.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                ],
            ),
            Sys::CloseRangeCloexec(first) => (
                "close_range",
                vec![
                    Arg::Int(*first as i64),
                    Arg::Int(u32::MAX as i64),
                    konst("CLOSE_RANGE_CLOEXEC"),
                ],
            ),
            Sys::Cloexec(fd) => (
                "fcntl",
                vec![Arg::Int(*fd as i64), konst("F_SETFD"), konst("FD_CLOEXEC")],
            ),
            Sys::ResetHandlers => ("rt_sigaction", vec![konst("...")]),
            Sys::SigDefault(sig) => (
                "rt_sigaction",
                vec![
                    konst(sig_name(*sig)),
                    konst("{sa_handler=SIG_DFL}"),
                    konst("NULL"),
                    Arg::Int(8),
                ],
            ),
            Sys::SigSetmask(m) => (
                "rt_sigprocmask",
                vec![
                    konst("SIG_SETMASK"),
                    konst(if *m == 0 {
                        "[]".to_string()
                    } else if *m == ALL_SIGNALS {
                        "~[]".to_string()
                    } else {
                        format!("{m:#x}")
                    }),
                    konst("NULL"),
                    Arg::Int(8),
                ],
            ),
            Sys::Ready => ("write", vec![Arg::Ptr]),
            Sys::InitExec(fd) => {
                let argv = self.image.as_ref()?.argv.iter();
                let envc = self.program.as_ref().map_or(0, |p| p.envp.len());
                (
                    "execveat",
                    vec![
                        slots.raw(*fd),
                        Arg::Str(Vec::new()),
                        Arg::Argv(argv.map(|a| a.as_bytes().to_vec()).collect()),
                        Arg::Env(envc),
                        konst("AT_EMPTY_PATH"),
                    ],
                )
            }
            Sys::InitClone => {
                let flags = super::super::process::init::COMMAND_CLONE_FLAGS;
                let fields = vec![
                    ("flags", konst(clone_flag_names(flags))),
                    ("exit_signal", konst("SIGCHLD")),
                    ("stack", Arg::Ptr),
                    (
                        "stack_size",
                        konst(format!("{:#x}", super::super::process::init::COMMAND_STACK)),
                    ),
                ];
                let size = std::mem::size_of::<super::super::sys::CloneArgs>() as i64;
                ("clone3", vec![Arg::Struct(fields), Arg::Int(size)])
            }
            Sys::Exec => {
                let p = self.program.as_ref()?;
                let path = p
                    .candidates
                    .get(aux as usize)
                    .map(|c| c.as_bytes().to_vec())
                    .unwrap_or_default();
                (
                    "execve",
                    vec![
                        Arg::Str(path),
                        Arg::Argv(p.argv.iter().map(|a| a.as_bytes().to_vec()).collect()),
                        Arg::Env(p.envp.len()),
                    ],
                )
            }
        };
        let note = op
            .note
            .map(str::to_string)
            .or_else(|| note_of(&op.sys, slots, &ret));
        Some(Event {
            note,
            ..Event::new(pid, name, args, ret)
        })
    }

    /// The failure of op `i` as an error: the operation, the call with its
    /// arguments, the errno and a hint.
    pub fn error(&self, op: &str, i: usize, aux: u32, errno: Errno) -> super::super::Error {
        let call = match self.ops.get(i).map(|o| &o.sys) {
            // execvp's words: the program as given, or the path that failed
            // for a reason other than "not there".
            Some(Sys::Exec) if errno == Errno::ENOENT => {
                format!("execve({:?})", self.program_name())
            }
            _ => self
                .event(i, 0, Ret::Err(errno), aux, &mut self.slots_before(i))
                .map(|e| e.call())
                .unwrap_or_else(|| "setup".into()),
        };
        // The step, where the call does not say it already:
        // "spawn: mount /proc: mount(...)", but "spawn: chdir(...)".
        let step = self.step_of(i).name();
        match call.starts_with(&format!("{step}(")) {
            true => super::super::Error::sys(format!("{op}: {call}"), errno),
            false => super::super::Error::sys(format!("{op}: {step}: {call}"), errno),
        }
    }

    /// What the slots hold when op `i` runs, as far as the plan says (the
    /// paths; the fd numbers are known only from the records).
    fn slots_before(&self, i: usize) -> Slots {
        let mut slots = Slots::default();
        for op in self.ops.iter().take(i) {
            match &op.sys {
                Sys::Open { path, slot, .. } => {
                    if let Some(s) = slots.opened.get_mut(*slot as usize) {
                        *s = Some((-1, path.to_string_lossy().into_owned()));
                    }
                }
                Sys::CloseSlot(slot) => {
                    if let Some(s) = slots.opened.get_mut(*slot as usize) {
                        *s = None;
                    }
                }
                _ => {}
            }
        }
        slots
    }

    /// The step op `i` belongs to.
    pub fn step_of(&self, i: usize) -> Step {
        self.ops.get(i).map(|o| o.step).unwrap_or(Step::Clone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::os::setup::TimeOffsets;

    fn spec() -> Spec {
        Spec {
            argv: vec!["sh".into(), "-c".into(), "true".into()],
            ..Default::default()
        }
    }

    fn steps(p: &Plan) -> Vec<&'static str> {
        p.ops
            .iter()
            .filter(|o| !o.quiet)
            .map(|o| o.step.name())
            .collect()
    }

    #[test]
    fn the_setup_order_is_the_kernels() {
        let mut s = spec();
        s.ns = [
            Namespace::User,
            Namespace::Mount,
            Namespace::Uts,
            Namespace::Time,
        ]
        .into_iter()
        .collect();
        s.mount_proc = true;
        s.hostname = Some("box".into());
        s.time_offsets = Some(TimeOffsets {
            monotonic: 10,
            boottime: 0,
        });
        s.cwd = Some("/tmp".into());
        let fds = Fds {
            report_r: 3,
            go: Some((4, 5)),
            stdio: [None; 3],
            report_w: 6,
            hold: None,
            image: -1,
        };
        let p = Plan::for_child(&s, Mode::Spawn, &fds, 0).expect("plan");
        assert_eq!(
            steps(&p),
            [
                "wait for id maps",
                "mount propagation",
                "mount /proc",
                "sethostname",
                "time namespace",
                "time namespace",
                "time namespace",
                "chdir",
                "exec"
            ]
        );
        assert!(matches!(p.ops.last().map(|o| &o.sys), Some(Sys::Exec)));
        assert!(!p.forks());
    }

    #[test]
    fn ops_read_as_strace_prints_them() {
        let mut s = spec();
        s.ns = [Namespace::Mount].into_iter().collect();
        s.mount_proc = true;
        let p = Plan::for_child(&s, Mode::Spawn, &Fds::default(), 0).expect("plan");
        let mut slots = Slots::default();
        let lines: Vec<String> = (0..p.ops.len())
            .filter(|i| !p.ops[*i].quiet)
            .filter_map(|i| p.event(i, 9, Ret::Val(0), 0, &mut slots))
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            lines[0],
            "[pid     9] mount(NULL, \"/\", NULL, MS_REC|MS_PRIVATE, NULL) = 0  \
             # mounts under it no longer propagate to or from other mount namespaces"
        );
        assert_eq!(
            lines[1],
            "[pid     9] mount(\"proc\", \"/proc\", \"proc\", MS_NOSUID|MS_NODEV|MS_NOEXEC, NULL) = 0  \
             # proc shows the pid namespace of the process that mounts it"
        );
        assert!(
            lines[2].starts_with("[pid     9] execve(\"/"),
            "{}",
            lines[2]
        );
    }

    #[test]
    fn map_writes_open_write_and_close_each_file() {
        let m = [IdRange {
            inside: 0,
            outside: 1000,
            count: 1,
        }];
        let ops = map_ops("42", Some(&m), Some(&m), SetGroups::Deny);
        let p = Plan::in_process(ops, true);
        let mut slots = Slots::default();
        let e0 = p
            .event(0, 1, Ret::Val(5), 0, &mut slots)
            .map(|e| e.to_string());
        let cwd = std::env::current_dir().unwrap_or_default();
        assert_eq!(
            e0,
            Some(format!("[pid     1] openat(AT_FDCWD<{}>, \"/proc/42/setgroups\", O_WRONLY|O_CLOEXEC) = 5</proc/42/setgroups>", cwd.display()))
        );
        let e1 = p
            .event(1, 1, Ret::Val(4), 0, &mut slots)
            .map(|e| e.to_string());
        assert_eq!(
            e1.as_deref(),
            Some(
                "[pid     1] write(5</proc/42/setgroups>, \"deny\", 4) = 4  \
                  # required before an unprivileged gid_map write (Linux 3.19)"
            )
        );
        let _ = p.event(3, 1, Ret::Val(5), 0, &mut slots);
        let e4 = p
            .event(4, 1, Ret::Val(9), 0, &mut slots)
            .map(|e| e.to_string());
        assert_eq!(
            e4.as_deref(),
            Some(
                "[pid     1] write(5</proc/42/uid_map>, \"0 1000 1\\n\", 9) = 9  \
                  # uid 0 inside is uid 1000 outside"
            )
        );
        assert_eq!(
            map_note("gid", "0 100000 65536\n1 2 1\n").as_deref(),
            Some(
                "gids 0-65535 inside are gids 100000-165535 outside; gid 1 inside is gid 2 outside"
            )
        );
        assert_eq!(p.ops.len(), 9);
    }

    #[test]
    fn a_program_without_a_slash_is_looked_up_in_path() {
        let mut s = spec();
        s.env.push(("PATH".into(), "/a::/b".into()));
        let p = program(&s);
        let c: Vec<String> = p
            .candidates
            .iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect();
        assert_eq!(c, ["/a/sh", "./sh", "/b/sh"]);
        assert_eq!(p.argv_ptrs.len(), 4);
        assert!(p.argv_ptrs.last().is_some_and(|p| p.is_null()));
    }

    #[test]
    fn errors_name_the_call_and_the_step() {
        let mut s = spec();
        s.cwd = Some("/nope".into());
        let p = Plan::for_child(&s, Mode::Spawn, &Fds::default(), 0).expect("plan");
        let i = p
            .ops
            .iter()
            .position(|o| o.step == Step::Chdir)
            .unwrap_or(0);
        let e = p.error("spawn", i, 0, Errno::ENOENT);
        assert_eq!(e.op, "spawn: chdir(\"/nope\")");
        let i = p
            .ops
            .iter()
            .position(|o| o.step == Step::Exec && !o.quiet)
            .unwrap_or(0);
        let e = p.error("spawn", i, 0, Errno::EACCES);
        assert!(e.op.starts_with("spawn: exec: execve(\"/"), "{e}");
        assert!(e.to_string().contains("EACCES"), "{e}");
    }
}
