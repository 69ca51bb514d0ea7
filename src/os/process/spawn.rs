//! The spawn path: check the options, render the plan, clone, do the
//! parent's part (the id maps), and read the child's reports until it has
//! exec'd.
//!
//! The child runs in the interpreter's own memory (CLONE_VM, on a stack of
//! its own, like glibc's posix_spawn) where the architecture allows it, so
//! a spawn costs the same whether the script holds a kilobyte or a
//! gigabyte: nothing is copied. Without CLONE_VFORK the parent keeps
//! running, which is what lets it write uid_map and gid_map while the
//! child waits. See ARCHITECTURE.md, "The spawn path".

use super::child::{self, ChildCtx, Done, Kept, Pipe};
use super::stdio;
use super::{events, next_candidate, Child, Pids};
use crate::os::doctor;
use crate::os::idmap::SetGroups;
use crate::os::ns::{Namespace, NsSet};
use crate::os::setup::plan::{self, Fds, Plan, Slots};
use crate::os::setup::wire::{Record, Who};
use crate::os::setup::{self, Mode, Spec, Stdio, Step};
use crate::os::sys::{self, sys};
use crate::os::trace::{self, Arg, Event, Ret};
use crate::os::{Context, Error, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::signal::Signal;
use nix::unistd::pipe2;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Which side of `fork` this is.
pub enum Forked {
    /// The parent, holding the child (set up, running).
    Parent(Child),
    /// The child, set up in its namespaces. It must end with `_exit`.
    Child,
}

/// Starts `spec.argv` in the namespaces `spec` asks for. Returns when the
/// child has exec'd, or with the error of the first step that failed (the
/// child is then already gone). `op` names the operation in errors
/// ("spawn", "run", "enter").
pub fn spawn(op: &str, spec: &Spec) -> Result<Child> {
    match start(op, spec, Mode::Spawn)? {
        Forked::Parent(c) => Ok(c),
        // A spawned child execs or exits inside its plan.
        // SAFETY: leaving a copy of the process.
        Forked::Child => unsafe { libc::_exit(127) },
    }
}

/// Like `spawn`, with the same setup (maps written by the parent, /
/// made private, /proc, hostname, time offsets, cwd), but the child is a
/// copy of the interpreter that runs no program: it returns
/// `Forked::Child` here, inside its namespaces, while the parent gets
/// `Forked::Parent` once the setup is done. This copies the interpreter's
/// memory, as fork(2) does.
pub fn fork(op: &str, spec: &Spec) -> Result<Forked> {
    start(op, spec, Mode::Fork)
}

/// Every signal blocked around clone, the old mask restored on drop: no
/// handler of the interpreter's may run in a child before its plan resets
/// them, and none runs in the parent half-way through.
struct Blocked {
    old: u64,
}

impl Blocked {
    fn all() -> Blocked {
        Blocked {
            old: sys::sigprocmask(libc::SIG_BLOCK, !0).unwrap_or(0),
        }
    }
}

impl Drop for Blocked {
    fn drop(&mut self) {
        let _ = sys::sigprocmask(libc::SIG_SETMASK, self.old);
    }
}

/// The process undumpable (PR_SET_DUMPABLE 0) while a child that shares
/// its memory is set up among processes of others: nobody without
/// CAP_SYS_PTRACE over this process's own user namespace may then ptrace
/// it or open its /proc/PID/mem or environ. The memory is the child's and
/// nsscript's alike (CLONE_VM), so the flag is too; it goes back once the
/// spawn is over (the child has exec'd or is gone), if it was set before.
struct Undumpable {
    restore: bool,
}

impl Undumpable {
    fn when(needed: bool) -> Undumpable {
        // SAFETY: prctl on this process.
        let was = needed && unsafe { libc::prctl(libc::PR_GET_DUMPABLE) } == 1;
        if was {
            // SAFETY: as above.
            unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0) };
        }
        Undumpable { restore: was }
    }
}

impl Drop for Undumpable {
    fn drop(&mut self) {
        if self.restore {
            // SAFETY: prctl on this process.
            unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1) };
        }
    }
}

/// The pipes of one spawn: reports (child -> parent), "go" (parent ->
/// child, when the parent writes maps first), and the standard streams.
struct Pipes {
    report: (OwnedFd, OwnedFd),
    go: Option<(OwnedFd, OwnedFd)>,
    stdio: [Option<(OwnedFd, OwnedFd)>; 3],
    /// With tracing on, a forked copy waits here until the parent has
    /// printed the copy's setup steps: they come before anything the copy
    /// prints itself.
    printed: Option<(OwnedFd, OwnedFd)>,
    /// A traced init waits here (EOF) before it may reap the command, so
    /// the command's pid can still be looked up among its children.
    hold: Option<(OwnedFd, OwnedFd)>,
    /// The init image's memfd, with an init.
    image: RawFd,
}

impl Pipes {
    fn new(op: &str, spec: &Spec, mode: Mode) -> Result<Pipes> {
        let pipe = || pipe2(OFlag::O_CLOEXEC).op(&format!("{op}: pipe"));
        let report = pipe()?;
        let go = match spec.ns.contains(Namespace::User) {
            true => Some(pipe()?),
            false => None,
        };
        let mut stdio = [None, None, None];
        if mode == Mode::Spawn {
            for (i, s) in [spec.stdin, spec.stdout, spec.stderr]
                .into_iter()
                .enumerate()
            {
                if let Some(slot) = stdio.get_mut(i) {
                    *slot = stdio::pipe_for(s, op)?;
                }
            }
        }
        let printed = match mode == Mode::Fork && trace::enabled() {
            true => Some(pipe()?),
            false => None,
        };
        let init = mode == Mode::Spawn && spec.init.is_some();
        let image = match init {
            true => super::init::image_fd(op)?,
            false => -1,
        };
        let hold = match init && (spec.trace || trace::enabled()) {
            true => Some(pipe()?),
            false => None,
        };
        Ok(Pipes {
            report,
            go,
            stdio,
            printed,
            hold,
            image,
        })
    }

    /// The fds as the child's plan refers to them.
    fn fds(&self) -> Fds {
        let child_end = |i: usize| {
            self.stdio.get(i).and_then(|p| p.as_ref()).map(|(r, w)| {
                // The child reads its stdin, and writes stdout and stderr.
                if i == 0 {
                    r.as_raw_fd()
                } else {
                    w.as_raw_fd()
                }
            })
        };
        Fds {
            report_r: self.report.0.as_raw_fd(),
            go: self
                .go
                .as_ref()
                .map(|(r, w)| (r.as_raw_fd(), w.as_raw_fd())),
            stdio: [child_end(0), child_end(1), child_end(2)],
            report_w: self.report.1.as_raw_fd(),
            hold: self
                .hold
                .as_ref()
                .map(|(r, w)| (r.as_raw_fd(), w.as_raw_fd())),
            image: self.image,
        }
    }
}

fn start(op: &str, spec: &Spec, mode: Mode) -> Result<Forked> {
    setup::check(op, spec, mode)?;
    sys::check_single_threaded(op)?;
    // Before there is a child to exit: waits wake on SIGCHLD.
    crate::os::signals::init();
    let pipes = Pipes::new(op, spec, mode)?;
    let fds = pipes.fds();
    let share = mode == Mode::Spawn && sys::SHARES_MEMORY && sys::has_clone3();
    let stack = match share {
        true => Some(sys::Stack::get().map_err(|e| Error::sys(format!("{op}: mmap stack"), e))?),
        false => None,
    };

    // Flush what the script printed so far: it comes before anything the
    // program prints (and a forked copy would print it again).
    use std::io::Write;
    let _ = std::io::stdout().flush();
    // Be the reaper of orphaned descendants before there are any: a
    // grandchild whose parent exits (the sleep of `sh -c "sleep 100 &"`)
    // then becomes our child instead of init's, and dies with the script
    // (engine::process::reap_all). fork(2) clears the flag, so each copy
    // of the interpreter sets it for itself here.
    // SAFETY: plain prctl on this process.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };

    // The new namespaces come from clone, except: the time namespace, which
    // the child enters itself once the offsets are written, and every kind
    // after a join, which must be created inside the joined ones.
    let clone_ns: NsSet = match spec.join {
        Some(_) => NsSet::empty(),
        None => spec.ns.iter().filter(|n| *n != Namespace::Time).collect(),
    };
    let ns_flags = plan::ns_bits(clone_ns);
    let mut pidfd: RawFd = -1;
    // A child that shares this memory (or a copy of it) and is born in a
    // pid namespace where others live could be read and written through
    // /proc/PID/mem or ptrace by them until it execs (runc's
    // CVE-2016-9962): it is undumpable meanwhile. A new pid namespace is
    // nobody else's, so its first process is not reachable.
    let among_others = !clone_ns.contains(Namespace::Pid)
        && (spec.join.as_ref().is_some_and(|t| t.ns.contains(Namespace::Pid))
            || (crate::os::children_join_others() && !spec.ns.contains(Namespace::Pid)));
    let undumpable = Undumpable::when(among_others);
    let blocked = Blocked::all();
    let plan = Plan::for_child(spec, mode, &fds, blocked.old)?;
    // For the trace, the paths of the fds the child's ops name, as the
    // child inherits them.
    let known = match plan.trace {
        true => {
            let (go, _) = fds.go.unwrap_or((-1, -1));
            let std_fds = [0, 1, 2, go, fds.image].into_iter();
            Slots::with_fds(std_fds.chain(fds.stdio.iter().flatten().copied()))
        }
        false => Slots::default(),
    };
    let ctx = ChildCtx {
        plan: &plan,
        report: pipes.report.1.as_raw_fd(),
        stack2: stack.map_or((0, 0), |s| s.half(1)),
    };
    let mut args = sys::CloneArgs {
        flags: ns_flags | libc::CLONE_PIDFD as u64,
        pidfd: &mut pidfd as *mut RawFd as u64,
        exit_signal: libc::SIGCHLD as u64,
        ..Default::default()
    };
    let cloned = match stack {
        Some(st) => {
            (args.stack, args.stack_size) = st.half(0);
            args.flags |= libc::CLONE_VM as u64;
            clone_vm(&mut args, &ctx)
        }
        None => clone_copy(&mut args, ns_flags),
    };
    drop(blocked);
    let pid = cloned.map_err(|e| clone_error(op, e, spec.ns))?;
    if pid == 0 {
        // A copy lives among the others as long as it runs: it stays
        // undumpable.
        std::mem::forget(undumpable);
        return Ok(in_the_copy(ctx, pipes));
    }
    let mut trace_events = Vec::new();
    let traced = plan.trace;
    if traced {
        let ev = clone_event(&args, pid, pidfd, clone_ns);
        trace_events.push((Step::Clone, ev));
    }
    // SAFETY: the kernel handed us this fd with CLONE_PIDFD.
    let pidfd = (pidfd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(pidfd) });
    let mut child = Child::new(pid, pidfd, spec.ns);
    let Pipes {
        report,
        go,
        stdio,
        printed,
        hold,
        ..
    } = pipes;
    // The init's end goes with it; ours is closed once the command's pid
    // is known (finish).
    let hold = hold.map(|(_, w)| w);
    // Closed once the setup's steps are printed, which lets the copy go on.
    let _printed = printed.map(|(_, w)| w);
    let [si, so, se] = stdio;
    child.set_pipes(si.map(|(_, w)| w), so.map(|(r, _)| r), se.map(|(r, _)| r));
    child.foreground = crate::os::job_control() && spec.stdin == Stdio::Inherit;
    if crate::os::job_control() {
        // SAFETY: setpgid on our child; EACCES after its exec is harmless.
        unsafe { libc::setpgid(pid, pid) };
    }
    let (report_r, report_w) = report;
    drop(report_w);
    let go_w = go.map(|(r, w)| {
        drop(r);
        w
    });

    // The parent's part: the child waits until its maps are written.
    if let Some(go_w) = go_w {
        write_maps(op, spec, &mut child, go_w, traced, &mut trace_events)?;
    }

    let bytes = match collect(op, &report_r) {
        Ok(b) => b,
        Err(e) => {
            child.kill_and_reap();
            return Err(e);
        }
    };
    drop(report_r);
    finish(op, spec, &plan, child, &bytes, (trace_events, known), hold)
}

/// Writes the id maps of the child's user namespace (setgroups first),
/// then lets it go on. On a failure the child is released without a word
/// (EOF on "go": it exits without running anything) and reaped.
fn write_maps(
    op: &str,
    spec: &Spec,
    child: &mut Child,
    go_w: OwnedFd,
    traced: bool,
    trace_events: &mut Vec<(Step, Event)>,
) -> Result<()> {
    let maps = Plan::in_process(
        plan::map_ops(
            &child.pid.to_string(),
            spec.uid_map.as_deref(),
            spec.gid_map.as_deref(),
            spec.setgroups.unwrap_or(SetGroups::Deny),
        ),
        traced,
    );
    let kept = Kept::default();
    let r = child::run_here_kept(&maps, &kept);
    if traced {
        let me = std::process::id() as i32;
        let recs = kept.0.borrow();
        trace_events.extend(events(&maps, &recs, Pids::one(me), &mut Slots::default()));
    }
    if let Err(f) = r {
        drop(go_w);
        child.reap_blocking();
        return Err(map_hint(maps.error(op, f.op, f.aux, f.errno)));
    }
    if let Err(e) = nix::unistd::write(&go_w, b"g") {
        drop(go_w);
        child.kill_and_reap();
        return Err(Error::sys(format!("{op}: release the child"), e));
    }
    Ok(())
}

/// clone3 with CLONE_VM: the child starts in `child::child_entry`.
#[cfg(target_arch = "x86_64")]
fn clone_vm(args: &mut sys::CloneArgs, ctx: &ChildCtx) -> std::result::Result<i32, Errno> {
    // SAFETY: the stack is the spawn stack, unused until this child is
    // done with it; ctx and the plan live until `start` has read the
    // child's last report (EOF: it exec'd or exited) or reaped it.
    unsafe {
        sys::clone3_on_stack(
            args,
            child::child_entry,
            ctx as *const ChildCtx as *mut libc::c_void,
        )
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn clone_vm(_: &mut sys::CloneArgs, _: &ChildCtx) -> std::result::Result<i32, Errno> {
    Err(Errno::ENOSYS)
}

/// A copy of the process (fork semantics); clone(2) where there is no
/// clone3.
fn clone_copy(args: &mut sys::CloneArgs, ns_flags: u64) -> std::result::Result<i32, Errno> {
    if sys::has_clone3() {
        // SAFETY: single-threaded (checked), no CLONE_VM.
        return unsafe { sys::clone3_fork(args) };
    }
    args.pidfd = 0;
    // SAFETY: clone(2) with a null stack behaves like fork.
    unsafe { sys!(libc::SYS_clone, ns_flags | libc::SIGCHLD as u64, 0, 0, 0, 0) }.map(|p| p as i32)
}

/// In a forked copy (in_ns): run the plan here, then go on as the child.
fn in_the_copy(ctx: ChildCtx, pipes: Pipes) -> Forked {
    let r = child::run(&ctx, 0, Who::Child, &Pipe(ctx.report));
    match r {
        Ok(Done::Finished) => {}
        // SAFETY: leaving the copy; the parent reads the failure.
        _ => unsafe { libc::_exit(127) },
    }
    let Pipes {
        report,
        go,
        printed,
        ..
    } = pipes;
    // The plan closed the parent's ends already.
    std::mem::forget(report.0);
    if let Some((r, w)) = go {
        std::mem::forget(w);
        drop(r);
    }
    // Closing the report pipe tells the parent the setup is done (as
    // exec's CLOEXEC does for a spawn).
    drop(report.1);
    if let Some((r, w)) = printed {
        drop(w);
        let mut b = [0u8; 1];
        while let Err(Errno::EINTR) = nix::unistd::read(&r, &mut b) {}
    }
    crate::os::signals::after_fork();
    Forked::Child
}

/// Reads the child's reports until EOF: every process of the setup has
/// exec'd (CLOEXEC) or exited.
fn collect(op: &str, fd: &OwnedFd) -> Result<Vec<u8>> {
    read_to_eof(fd, &crate::os::interrupted).map_err(|e| match e {
        // A child stuck in its setup (a cwd on a dead NFS mount, a FIFO
        // in place of /dev/null) must not hang nsscript: Ctrl-C or a
        // signal gives up, and the caller kills the child.
        Errno::EINTR => Error::with_errno(
            op,
            Errno::EINTR,
            "interrupted while the child was setting up",
        ),
        e => Error::sys(format!("{op}: read the child's reports"), e),
    })
}

/// Everything a pipe holds until EOF; EINTR as soon as `interrupted`
/// says so (a signal always wakes the wait: os::signals).
pub(crate) fn read_to_eof(
    fd: &OwnedFd,
    interrupted: &dyn Fn() -> bool,
) -> std::result::Result<Vec<u8>, Errno> {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    let mut ready = [0i16];
    loop {
        if interrupted() {
            return Err(Errno::EINTR);
        }
        let raw = fd.as_raw_fd();
        match crate::os::signals::wait_until(&[(raw, libc::POLLIN)], &mut ready, None)? {
            crate::os::signals::Woken::Ready => {}
            _ => continue,
        }
        match nix::unistd::read(fd, &mut buf) {
            Ok(0) => return Ok(all),
            Ok(n) => all.extend_from_slice(buf.get(..n).unwrap_or(&[])),
            Err(Errno::EINTR) | Err(Errno::EAGAIN) => {}
            Err(e) => return Err(e),
        }
    }
}

/// Turns the reports into the running child or the error of the step that
/// failed.
fn finish(
    op: &str,
    spec: &Spec,
    plan: &Plan,
    mut child: Child,
    bytes: &[u8],
    (mut trace_events, mut slots): (Vec<(Step, Event)>, Slots),
    hold: Option<OwnedFd>,
) -> Result<Forked> {
    let mut recs = Record::decode_all(bytes);
    init_clone_first(plan, &mut recs);
    let last = if plan.forks() {
        Who::Grandchild
    } else {
        Who::Child
    };
    let mut grandchild = None;
    let mut ready = false;
    let mut failed = None;
    for r in &recs {
        match *r {
            Record::Forked { pid } => grandchild = Some(pid),
            Record::Ready { who } if who == last => ready = true,
            Record::Failed {
                op: i, aux, errno, ..
            } => failed = Some((i as usize, aux, errno)),
            _ => {}
        }
    }
    let first = child.pid;
    let last_pid = grandchild.unwrap_or(first);
    // The setup's steps come first: the child reported them before the
    // parent reaps it (and adopts the process it cloned).
    if plan.trace {
        let pids = Pids {
            child: first,
            grandchild: last_pid,
            command: command_pid(plan, &recs, last_pid),
        };
        trace_events.extend(events(plan, &recs, pids, &mut slots));
        // An init's command reports its exec through the init.
        if ready && failed.is_none() && plan.init.is_none() {
            if let Some(ev) = exec_event(plan, &recs, last, last_pid) {
                trace_events.push((Step::Exec, ev));
            }
        }
        for (_, ev) in &trace_events {
            trace::emit(ev);
        }
    }
    // The command's pid is known: the init may reap it now.
    drop(hold);
    if let Some(g) = grandchild {
        // The child is done: it cloned the process that carries on, a
        // child of ours too (CLONE_PARENT), and exited.
        child = child.adopt(g, op)?;
    }
    if spec.trace {
        child.trace = trace_events;
    }
    if let Some((i, aux, errno)) = failed {
        child.reap_blocking();
        return Err(step_hint(
            plan.error(op, i, aux, errno),
            plan.step_of(i),
            errno,
            spec,
        ));
    }
    if !ready {
        // EOF without "ready": the child died half-way through its setup
        // (killed from outside), so the program never ran. Say so rather
        // than hand back a Process for a program that never started.
        child.reap_blocking();
        return Err(died_in_setup(op, child.pid, child.status()));
    }
    Ok(Forked::Parent(child))
}

impl Child {
    /// Takes over the process the child cloned into a pid namespace, then
    /// reaps the child. The new process is ours (CLONE_PARENT) and nothing
    /// has waited since, so it is unreaped, perhaps a zombie already, and
    /// its pid is safe to open. Only once it has a handle may a wait reap
    /// it: the wait for the child can reap whichever ends first, and then
    /// records the status in that handle.
    fn adopt(mut self, pid: i32, op: &str) -> Result<Child> {
        let pidfd = crate::os::nsfs::open_pidfd(pid)
            .map_err(|e| Error::sys(format!("{op}: pidfd_open({pid})"), e))?;
        let mut g = Child::new(pid, pidfd, self.ns);
        g.stdin = self.stdin.take();
        g.stdout = self.stdout.take();
        g.stderr = self.stderr.take();
        g.foreground = self.foreground;
        self.reap_blocking();
        Ok(g)
    }
}

/// The successful execve, which the child cannot report: the candidate
/// after the last one that failed.
fn exec_event(plan: &Plan, recs: &[Record], who: Who, pid: i32) -> Option<Event> {
    let i = plan
        .ops
        .iter()
        .position(|o| matches!(o.sys, plan::Sys::Exec))?;
    let next = next_candidate(recs, who);
    plan.event(i, pid, Ret::Val(0), next, &mut Slots::default())
}

/// The init reports its clone of the command once the command has exec'd
/// (CLONE_VFORK), after the command's own reports: it goes before them,
/// in the order the calls began.
fn init_clone_first(plan: &Plan, recs: &mut Vec<Record>) {
    let Some(i) = plan.init_clone_op() else {
        return;
    };
    let is_clone = |r: &Record| matches!(*r, Record::Did { op, who, .. } if op as usize == i && who != Who::Command);
    let by_command = |r: &Record| match *r {
        Record::Did { who, .. } | Record::ExecMissed { who, .. } | Record::Failed { who, .. } => {
            who == Who::Command
        }
        _ => false,
    };
    if let (Some(c), Some(first)) = (
        recs.iter().position(is_clone),
        recs.iter().position(by_command),
    ) {
        if first < c {
            let r = recs.remove(c);
            recs.insert(first, r);
        }
    }
}

/// The pid of the command an init started, as nsscript sees it: the init
/// reports it as its pid namespace numbers it, so it is looked up among
/// the init's children (the only one, until the command forks). The
/// number the init saw where it is gone already.
fn command_pid(plan: &Plan, recs: &[Record], init: i32) -> i32 {
    let Some(i) = plan.init_clone_op() else {
        return init;
    };
    let inner = recs.iter().find_map(|r| match *r {
        Record::Did { op, value, .. } if op as usize == i => Some(value as i32),
        _ => None,
    });
    crate::os::procfs::children(init as u32)
        .first()
        .copied()
        .or(inner)
        .unwrap_or(init)
}

/// The clone that made the child, as strace shows it: `clone3({flags=...,
/// pidfd=..., exit_signal=SIGCHLD, stack=..., stack_size=0x20000} =>
/// {pidfd=[5<anon_inode:[pidfd]>]}, 88) = PID`, or clone(2) where there is
/// no clone3.
fn clone_event(args: &sys::CloneArgs, pid: i32, pidfd: RawFd, ns: NsSet) -> Event {
    let flags = args.flags;
    let me = std::process::id() as i32;
    let mut e = if sys::has_clone3() {
        let mut fields = vec![("flags", Arg::Const(plan::clone_flag_names(flags)))];
        if flags & libc::CLONE_PIDFD as u64 != 0 {
            fields.push(("pidfd", Arg::Ptr));
        }
        fields.push(("exit_signal", Arg::Const("SIGCHLD".into())));
        let (stack, size) = match args.stack_size {
            0 => (Arg::Const("NULL".into()), "0".to_string()),
            n => (Arg::Ptr, format!("{n:#x}")),
        };
        fields.push(("stack", stack));
        fields.push(("stack_size", Arg::Const(size)));
        let mut cl_args = Arg::Struct(fields);
        if pidfd >= 0 {
            let out = format!("[{pidfd}<{}>]", trace::fd_path(pidfd));
            cl_args = Arg::Changed(
                Box::new(cl_args),
                Box::new(Arg::Struct(vec![("pidfd", Arg::Const(out))])),
            );
        }
        let size = std::mem::size_of::<sys::CloneArgs>() as i64;
        Event::new(
            me,
            "clone3",
            vec![cl_args, Arg::Int(size)],
            Ret::Val(pid as i64),
        )
    } else {
        let flags = format!("{}|SIGCHLD", plan::clone_flag_names(flags));
        let flags = flags.trim_start_matches("0|").to_string();
        Event::new(
            me,
            "clone",
            vec![
                Arg::Const("child_stack=NULL".into()),
                Arg::Const(format!("flags={flags}")),
            ],
            Ret::Val(pid as i64),
        )
    };
    if ns.contains(Namespace::Pid) {
        e.note = Some("the child is pid 1 in the new pid namespace".into());
    } else if !ns.is_empty() {
        let kinds: Vec<&str> = ns.iter().map(|k| k.name()).collect();
        e.note = Some(match kinds.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!(
                "the child starts in new {} and {last} namespaces",
                rest.join(", ")
            ),
            _ => format!("the child starts in a new {} namespace", kinds.join("")),
        });
    }
    e
}

/// The error for a child that died before its setup was done.
fn died_in_setup(op: &str, pid: i32, status: Option<i32>) -> Error {
    let how = match status {
        Some(c) if c > 128 => match Signal::try_from(c - 128) {
            Ok(s) => format!("killed by {}", s.as_str()),
            Err(_) => format!("ended with status {c}"),
        },
        Some(c) => format!("exited with status {c}"),
        None => "gone".to_string(),
    };
    Error::with_errno(
        op,
        Errno::ECANCELED,
        format!("child {pid} was {how} during its setup, before the program started"),
    )
    .hint("something outside nsscript killed it (kill(1), the OOM killer, a cgroup limit)")
}

fn map_hint(e: Error) -> Error {
    let which = if e.op.contains("gid_map") {
        "gid_map"
    } else if e.op.contains("uid_map") {
        "uid_map"
    } else {
        return e;
    };
    crate::os::idmap::map_hint(e, which)
}

/// A hint for a failed step, by step and errno.
fn step_hint(e: Error, step: Step, errno: Errno, spec: &Spec) -> Error {
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
        (Step::Exec, Errno::EACCES) => {
            e.hint("the file is not executable, or a directory on its path is not searchable")
        }
        (Step::Chdir, Errno::ENOENT) => {
            e.hint("the cwd does not exist (inside the new mount namespace)")
        }
        (Step::MountProc, Errno::EPERM) => e.hint(
            "mounting /proc needs a new pid namespace owned by your user namespace, and /proc must not be partly hidden (as in some containers)",
        ),
        (Step::Hostname, _) | (Step::Domainname, _) => e.hint("names are at most 64 bytes"),
        (Step::TimeNamespace, Errno::EPERM) => {
            e.hint("a time namespace needs CAP_SYS_ADMIN: add \"user\" or run as root")
        }
        (Step::Stdio, _) => e.hint("could not connect the child's stdin/stdout/stderr"),
        (Step::Join, _) => crate::os::nsfs::join_hint(e, errno),
        (Step::Unshare, _) => unshare_hint(e, errno, spec.ns, doctor::Op::Unshare),
        _ => e,
    }
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

/// Hints for a failed clone(2) or unshare(2) of new namespaces: the
/// setting responsible on this machine where the doctor finds one, else
/// what the errno usually means.
pub(crate) fn unshare_hint(err: Error, e: Errno, ns: NsSet, how: doctor::Op) -> Error {
    if let Some(h) = doctor::hint_for(how, e, ns) {
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
        Errno::ENOSPC => err.hint("a namespace limit was reached (/proc/sys/user/max_*_namespaces)"),
        Errno::EUSERS => err.hint("user namespaces nest at most 32 deep"),
        Errno::EINVAL if ns.contains(Namespace::Time) || ns.contains(Namespace::Cgroup) => {
            err.hint("this kernel may not support the time or cgroup namespace")
        }
        Errno::EINVAL if ns.contains(Namespace::User) => err.hint(
            "a user namespace cannot be created by a multi-threaded or chrooted process",
        ),
        _ => err,
    }
}

fn clone_error(op: &str, e: Errno, ns: NsSet) -> Error {
    let what = if ns.is_empty() {
        "0".to_string()
    } else {
        ns.flag_names()
    };
    unshare_hint(
        Error::sys(format!("{op}: clone({what})"), e),
        e,
        ns,
        doctor::Op::Clone,
    )
}

/// Starts a helper that runs `ctx.plan` in the interpreter's namespaces
/// and exits (unshare's map writer), in the interpreter's memory where
/// the architecture allows it. The caller keeps `ctx` alive until it has
/// reaped the helper.
pub(crate) fn start_helper(op: &str, ctx: &ChildCtx) -> Result<i32> {
    let mut args = sys::CloneArgs {
        exit_signal: libc::SIGCHLD as u64,
        ..Default::default()
    };
    let stack = match sys::SHARES_MEMORY && sys::has_clone3() {
        true => Some(sys::Stack::get().map_err(|e| Error::sys(format!("{op}: mmap stack"), e))?),
        false => None,
    };
    let blocked = Blocked::all();
    let r = match stack {
        Some(st) => {
            (args.stack, args.stack_size) = st.half(0);
            args.flags = libc::CLONE_VM as u64;
            clone_vm(&mut args, ctx)
        }
        None => clone_copy(&mut args, 0),
    };
    drop(blocked);
    if let (Ok(pid), true) = (r, trace::enabled()) {
        if pid > 0 {
            let mut e = clone_event(&args, pid, -1, NsSet::empty());
            e.note =
                Some("a helper that stays outside, to write the maps after the unshare".into());
            trace::emit(&e);
        }
    }
    match r {
        Ok(0) => {
            let code = child::child_entry(ctx as *const ChildCtx as *mut libc::c_void);
            // SAFETY: leaving the copy.
            unsafe { libc::_exit(code) }
        }
        Ok(pid) => Ok(pid),
        Err(e) => Err(Error::sys(format!("{op}: clone the map writer"), e)),
    }
}
