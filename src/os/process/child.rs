//! Running a setup plan: the code between clone and execve.
//!
//! The same walk serves a child that shares the interpreter's memory
//! (CLONE_VM), a grandchild it clones into a pid namespace, a forked copy
//! of the interpreter (in_ns) and the interpreter itself (its own map
//! writes, unshare, setns). In the first two it must not allocate, take a
//! lock, touch errno or panic: everything here is raw system calls
//! (os::sys) over data the plan rendered before clone, reports are
//! 16-byte records built on the stack, and nothing is indexed without a
//! bounds check.

use super::super::setup::plan::{Fd, Plan, Sys, Then, SLOTS};
use super::super::setup::wire::{Record, Who, SIZE};
use super::super::sys::{self, sys};
use nix::errno::Errno;
use std::cell::RefCell;
use std::os::fd::RawFd;

/// Where records go.
pub trait Sink {
    /// Sends one record; false when nobody reads any more (the parent is
    /// gone: EPIPE).
    fn send(&self, r: Record) -> bool;
}

/// The report pipe of a child.
pub struct Pipe(pub RawFd);

impl Sink for Pipe {
    fn send(&self, r: Record) -> bool {
        let b = r.encode();
        loop {
            // SAFETY: one write of a buffer on our stack.
            match unsafe { sys!(libc::SYS_write, self.0, b.as_ptr(), SIZE) } {
                Ok(_) => return true,
                Err(Errno::EINTR) => continue,
                Err(_) => return false,
            }
        }
    }
}

/// Records kept in memory (the interpreter running ops itself).
#[derive(Default)]
pub struct Kept(pub RefCell<Vec<Record>>);

impl Sink for Kept {
    fn send(&self, r: Record) -> bool {
        self.0.borrow_mut().push(r);
        true
    }
}

/// The op that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    pub op: usize,
    /// The exec candidate, for an exec.
    pub aux: u32,
    pub errno: Errno,
}

/// How a walk ended without failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// Every op ran (an exec does not come back).
    Finished,
    /// The rest runs in the process this one cloned; this one exits.
    Forked,
    /// The parent gave up (EOF on the go pipe) or is gone (EPIPE on a
    /// report): end at once, without a word.
    Abandoned,
}

/// What a child started on its own stack gets.
pub struct ChildCtx<'a> {
    pub plan: &'a Plan,
    pub report: RawFd,
    /// The stack of a grandchild (`Sys::CloneParent`).
    pub stack2: (u64, u64),
}

/// The entry of a child started by `sys::clone3_on_stack`: runs the plan
/// and returns its exit status (an exec does not return).
pub extern "C" fn child_entry(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: the parent passed a ChildCtx that lives until we exit or exec.
    let ctx = unsafe { &*(arg as *const ChildCtx) };
    status(ctx.plan, run(ctx, 0, Who::Child, &Pipe(ctx.report)))
}

/// The entry of a grandchild: the plan from the op after CloneParent.
extern "C" fn grandchild_entry(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: as for child_entry; the ChildCtx is the same one.
    let ctx = unsafe { &*(arg as *const ChildCtx) };
    let from = ctx
        .plan
        .ops
        .iter()
        .position(|o| matches!(o.sys, Sys::CloneParent))
        .map_or(usize::MAX, |i| i.wrapping_add(1));
    status(ctx.plan, run(ctx, from, Who::Grandchild, &Pipe(ctx.report)))
}

fn status(plan: &Plan, r: Result<Done, Failure>) -> libc::c_int {
    match (r, plan.then) {
        (Ok(Done::Forked), _) | (Ok(Done::Finished), Then::Exit) => 0,
        _ => 127,
    }
}

/// Runs the ops of `plan` in this process (the interpreter: no clone),
/// keeping the records in `kept`.
pub fn run_here_kept(plan: &Plan, kept: &Kept) -> Result<(), Failure> {
    let ctx = ChildCtx {
        plan,
        report: -1,
        stack2: (0, 0),
    };
    run(&ctx, 0, Who::Child, kept).map(|_| ())
}

/// Runs the ops of `plan` in this process; with tracing on, each op is
/// printed.
pub fn run_here(plan: &Plan) -> Result<(), Failure> {
    let kept = Kept::default();
    let r = run_here_kept(plan, &kept);
    if super::super::trace::enabled() {
        let me = std::process::id() as i32;
        let recs = kept.0.borrow();
        let mut slots = Default::default();
        for (_, ev) in super::events(plan, &recs, super::Pids::one(me), &mut slots) {
            super::super::trace::emit(&ev);
        }
    }
    r
}

/// Walks the ops from index `from`. Reports each done op when the plan
/// traces, and always the failure, Ready and a fork.
pub fn run(ctx: &ChildCtx, from: usize, who: Who, sink: &dyn Sink) -> Result<Done, Failure> {
    let plan = ctx.plan;
    let mut slots = [-1 as RawFd; SLOTS];
    for (i, op) in plan.ops.iter().enumerate().skip(from) {
        let opn = i as u16;
        let r = match &op.sys {
            Sys::Ready => {
                if !sink.send(Record::Ready { who }) {
                    return Ok(Done::Abandoned);
                }
                continue;
            }
            Sys::Exec => {
                let (aux, errno) = exec(plan, who, opn, sink);
                sink.send(Record::Failed {
                    who,
                    op: opn,
                    aux,
                    errno,
                });
                return Err(Failure { op: i, aux, errno });
            }
            // The walk ends here: the init image runs the rest.
            Sys::InitExec(fd) => init_exec(plan, *fd),
            Sys::WaitGo(fd) => match wait_go(*fd) {
                true => Ok(1),
                false => return Ok(Done::Abandoned),
            },
            Sys::CloneParent => match clone_parent(ctx) {
                Ok(pid) => {
                    if plan.trace {
                        sink.send(Record::Did {
                            who,
                            op: opn,
                            value: pid as i64,
                        });
                    }
                    sink.send(Record::Forked { pid });
                    return Ok(Done::Forked);
                }
                Err(e) => Err(e),
            },
            sys => call(sys, &mut slots),
        };
        match r {
            Ok(v) => {
                if plan.trace && !op.quiet {
                    sink.send(Record::Did {
                        who,
                        op: opn,
                        value: v as i64,
                    });
                }
            }
            Err(e) if op.tolerate.contains(&e) => {
                if plan.trace && !op.quiet {
                    sink.send(Record::Did {
                        who,
                        op: opn,
                        value: -(e as i64),
                    });
                }
            }
            Err(e) => {
                sink.send(Record::Failed {
                    who,
                    op: opn,
                    aux: 0,
                    errno: e,
                });
                return Err(Failure {
                    op: i,
                    aux: 0,
                    errno: e,
                });
            }
        }
    }
    Ok(Done::Finished)
}

fn slot(slots: &[RawFd; SLOTS], i: u8) -> RawFd {
    slots.get(i as usize).copied().unwrap_or(-1)
}

fn resolve(fd: Fd, slots: &[RawFd; SLOTS]) -> RawFd {
    match fd {
        Fd::Raw(n) => n,
        Fd::Slot(i) => slot(slots, i),
    }
}

fn ptr(c: &Option<std::ffi::CString>) -> usize {
    c.as_ref().map_or(0, |c| c.as_ptr() as usize)
}

/// Retries a call interrupted by a signal.
fn again(mut f: impl FnMut() -> sys::SysResult) -> sys::SysResult {
    loop {
        match f() {
            Err(Errno::EINTR) => continue,
            r => return r,
        }
    }
}

/// One op's system call.
fn call(s: &Sys, slots: &mut [RawFd; SLOTS]) -> sys::SysResult {
    // SAFETY (every call below): the arguments are fds, numbers, or
    // pointers into C strings and buffers the plan owns, which outlive the
    // walk.
    unsafe {
        match s {
            Sys::Close(fd) => sys!(libc::SYS_close, *fd),
            Sys::Prctl(o, a) => sys!(libc::SYS_prctl, *o, *a, 0, 0, 0),
            Sys::Setpgid => sys!(libc::SYS_setpgid, 0, 0),
            Sys::Setns { fd, nstype, .. } => sys!(libc::SYS_setns, *fd, *nstype),
            Sys::SetnsSlot { slot: i, nstype } => {
                sys!(libc::SYS_setns, slot(slots, *i), *nstype)
            }
            Sys::Setgroups0 => sys!(libc::SYS_setgroups, 0, 0),
            Sys::Prlimit { resource, limit } => {
                sys!(libc::SYS_prlimit64, 0, *resource, limit.as_ptr(), 0)
            }
            Sys::Setresgid(id) => sys!(libc::SYS_setresgid, *id, *id, *id),
            Sys::Setresuid(id) => sys!(libc::SYS_setresuid, *id, *id, *id),
            Sys::Unshare(f) => sys!(libc::SYS_unshare, *f),
            Sys::Dup { from, to } => {
                let f = resolve(*from, slots);
                if f == *to {
                    // Already in place (nsscript started without that
                    // standard fd): keep it open across exec.
                    sys!(libc::SYS_fcntl, *to, libc::F_SETFD, 0)
                } else {
                    sys!(libc::SYS_dup3, f, *to, 0)
                }
            }
            Sys::Open {
                path,
                flags,
                mode,
                slot,
            } => {
                let r = again(|| {
                    sys!(
                        libc::SYS_openat,
                        libc::AT_FDCWD,
                        path.as_ptr(),
                        *flags,
                        *mode
                    )
                });
                if let (Ok(fd), Some(s)) = (r, slots.get_mut(*slot as usize)) {
                    *s = fd as RawFd;
                }
                r
            }
            Sys::Write { fd, data } => {
                let f = resolve(*fd, slots);
                match again(|| sys!(libc::SYS_write, f, data.as_ptr(), data.len())) {
                    // Proc files such as uid_map take one write or none.
                    Ok(n) if n != data.len() => Err(Errno::EIO),
                    r => r,
                }
            }
            Sys::CloseSlot(i) => {
                let fd = slot(slots, *i);
                if let Some(s) = slots.get_mut(*i as usize) {
                    *s = -1;
                }
                sys!(libc::SYS_close, fd)
            }
            Sys::Mount {
                src,
                target,
                fstype,
                flags,
                data,
            } => sys!(
                libc::SYS_mount,
                ptr(src),
                target.as_ptr(),
                ptr(fstype),
                *flags,
                ptr(data)
            ),
            Sys::Sethostname(n) => sys!(libc::SYS_sethostname, n.as_ptr(), n.as_bytes().len()),
            Sys::Setdomainname(n) => {
                sys!(libc::SYS_setdomainname, n.as_ptr(), n.as_bytes().len())
            }
            Sys::Chdir(p) => sys!(libc::SYS_chdir, p.as_ptr()),
            Sys::Mkdir { path, mode } => {
                sys!(libc::SYS_mkdirat, libc::AT_FDCWD, path.as_ptr(), *mode)
            }
            Sys::Symlink { target, link } => sys!(
                libc::SYS_symlinkat,
                target.as_ptr(),
                libc::AT_FDCWD,
                link.as_ptr()
            ),
            Sys::PivotRoot { new, old } => sys!(libc::SYS_pivot_root, new.as_ptr(), old.as_ptr()),
            Sys::Umount { target, flags } => sys!(libc::SYS_umount2, target.as_ptr(), *flags),
            Sys::Setgroups(g) => sys!(libc::SYS_setgroups, g.len(), g.as_ptr()),
            Sys::NetlinkSocket { slot: i } => {
                let r = sys!(
                    libc::SYS_socket,
                    libc::AF_NETLINK,
                    libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                    libc::NETLINK_ROUTE
                );
                if let (Ok(fd), Some(s)) = (r, slots.get_mut(*i as usize)) {
                    *s = fd as RawFd;
                }
                r
            }
            Sys::NetlinkRequest { slot: i, msg, .. } => netlink(slot(slots, *i), msg),
            Sys::CloseRangeCloexec(first) => sys!(
                libc::SYS_close_range,
                *first,
                u32::MAX,
                libc::CLOSE_RANGE_CLOEXEC
            ),
            Sys::Cloexec(fd) => sys!(libc::SYS_fcntl, *fd, libc::F_SETFD, libc::FD_CLOEXEC),
            Sys::ResetHandlers => signals::reset_handlers(),
            Sys::SigDefault(sig) => sys::sig_default(*sig),
            Sys::SigSetmask(m) => sys::sigprocmask(libc::SIG_SETMASK, *m).map(|_| 0),
            // Handled by `run`.
            Sys::WaitGo(_) | Sys::CloneParent | Sys::Ready | Sys::InitExec(_) | Sys::Exec => Ok(0),
            // Done by the init image, never by the walk.
            Sys::InitClone => Ok(0),
        }
    }
}

/// Sends one netlink request and reads its ack (a struct nlmsgerr into a
/// buffer on the stack): a negative error there is the request's errno.
fn netlink(fd: RawFd, msg: &[u8]) -> sys::SysResult {
    // SAFETY: send of a buffer the plan owns to the kernel (address NULL).
    let sent = again(|| unsafe { sys!(libc::SYS_sendto, fd, msg.as_ptr(), msg.len(), 0, 0, 0) })?;
    let mut ack = [0u8; 64];
    // SAFETY: a receive into our stack buffer.
    let n =
        again(|| unsafe { sys!(libc::SYS_recvfrom, fd, ack.as_mut_ptr(), ack.len(), 0, 0, 0) })?;
    // struct nlmsghdr (16 bytes), then the int error of struct nlmsgerr.
    let error = match (ack.get(4..6), ack.get(16..20)) {
        (Some(t), Some(e)) if n >= 20 => {
            let typ = u16::from_ne_bytes([t[0], t[1]]);
            let err = i32::from_ne_bytes([e[0], e[1], e[2], e[3]]);
            if typ == libc::NLMSG_ERROR as u16 {
                err
            } else {
                0
            }
        }
        _ => -libc::EIO,
    };
    if error < 0 {
        return Err(Errno::from_raw(-error));
    }
    Ok(sent)
}

/// Blocks until the parent writes "go" (true) or closes the pipe (false).
fn wait_go(fd: RawFd) -> bool {
    let mut b = 0u8;
    loop {
        // SAFETY: a one-byte read into our stack.
        match unsafe { sys!(libc::SYS_read, fd, &mut b as *mut u8, 1) } {
            Ok(1) => return true,
            Err(Errno::EINTR) => continue,
            _ => return false,
        }
    }
}

/// Like execvpe(3): tries each PATH candidate; EACCES is remembered over
/// ENOENT, any other error ends the search. Returns the candidate and the
/// errno to report (only a failure returns).
pub(super) fn exec(plan: &Plan, who: Who, op: u16, sink: &dyn Sink) -> (u32, Errno) {
    let Some(p) = &plan.program else {
        return (0, Errno::EINVAL);
    };
    let mut err = (0u32, Errno::ENOENT);
    for (i, c) in p.candidates.iter().enumerate() {
        // SAFETY: NULL-terminated arrays of C strings the plan owns.
        let r = unsafe {
            sys!(
                libc::SYS_execve,
                c.as_ptr(),
                p.argv_ptrs.as_ptr(),
                p.envp_ptrs.as_ptr()
            )
        };
        let Err(e) = r else { continue };
        if plan.trace {
            sink.send(Record::ExecMissed {
                who,
                op,
                aux: i as u32,
                errno: e,
            });
        }
        match e {
            Errno::ENOENT | Errno::ENOTDIR => {}
            Errno::EACCES => err = (i as u32, Errno::EACCES),
            e => return (i as u32, e),
        }
    }
    err
}

/// execveat of the init image, with the command's environment: returns
/// only on failure.
fn init_exec(plan: &Plan, fd: RawFd) -> sys::SysResult {
    let (Some(image), Some(p)) = (&plan.image, &plan.program) else {
        return Err(Errno::EINVAL);
    };
    // SAFETY: NULL-terminated arrays of C strings the plan owns.
    unsafe {
        sys!(
            libc::SYS_execveat,
            fd,
            c"".as_ptr(),
            image.ptrs.as_ptr(),
            p.envp_ptrs.as_ptr(),
            libc::AT_EMPTY_PATH
        )
    }
}

/// Clones the process that carries on the plan: in this process's memory
/// (on the second half of the spawn stack), as a child of nsscript.
fn clone_parent(ctx: &ChildCtx) -> Result<i32, Errno> {
    let mut args = sys::CloneArgs {
        flags: (libc::CLONE_VM | libc::CLONE_PARENT) as u64,
        // CLONE_PARENT takes its exit signal from the caller's.
        exit_signal: 0,
        stack: ctx.stack2.0,
        stack_size: ctx.stack2.1,
        ..Default::default()
    };
    if ctx.stack2.1 == 0 {
        return Err(Errno::EINVAL);
    }
    clone_on_stack(&mut args, ctx)
}

#[cfg(target_arch = "x86_64")]
fn clone_on_stack(args: &mut sys::CloneArgs, ctx: &ChildCtx) -> Result<i32, Errno> {
    // SAFETY: stack2 is the unused half of the spawn stack; ctx outlives
    // the grandchild's setup (the parent waits for its exec or exit).
    unsafe {
        sys::clone3_on_stack(
            args,
            grandchild_entry,
            ctx as *const ChildCtx as *mut libc::c_void,
        )
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn clone_on_stack(args: &mut sys::CloneArgs, ctx: &ChildCtx) -> Result<i32, Errno> {
    // Without the trampoline the child is a copy (fork semantics), and
    // carries on right here.
    args.flags &= !(libc::CLONE_VM as u64);
    args.stack = 0;
    args.stack_size = 0;
    // SAFETY: this process is a single-threaded copy of nsscript.
    match unsafe { sys::clone3_fork(args) }? {
        0 => {
            let code = grandchild_entry(ctx as *const ChildCtx as *mut libc::c_void);
            // SAFETY: leaving the copy.
            unsafe { libc::_exit(code) }
        }
        pid => Ok(pid),
    }
}

/// Signal dispositions, through rt_sigaction(2) directly.
mod signals {
    use super::*;

    /// struct kernel_sigaction on x86_64 (handler, flags, restorer, mask).
    #[cfg(target_arch = "x86_64")]
    #[repr(C)]
    #[derive(Default)]
    struct KSigaction {
        handler: usize,
        flags: u64,
        restorer: usize,
        mask: u64,
    }

    /// The highest signal number (_NSIG - 1).
    const MAX_SIG: i32 = 64;

    #[cfg(target_arch = "x86_64")]
    fn get(sig: i32) -> Result<usize, Errno> {
        let mut old = KSigaction::default();
        // SAFETY: reads the disposition into a struct on our stack.
        unsafe {
            sys!(
                libc::SYS_rt_sigaction,
                sig,
                0,
                &mut old as *mut KSigaction,
                8
            )
        }?;
        Ok(old.handler)
    }

    // Elsewhere the plan runs in a copy of the process, where libc is safe.
    #[cfg(not(target_arch = "x86_64"))]
    fn get(sig: i32) -> Result<usize, Errno> {
        // SAFETY: querying a disposition into a zeroed struct.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        if unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) } < 0 {
            return Err(Errno::last());
        }
        Ok(old.sa_sigaction)
    }

    /// Every signal that has a handler goes back to SIG_DFL (ignored ones
    /// stay ignored, as execve would keep them), as posix_spawn does.
    pub fn reset_handlers() -> sys::SysResult {
        for sig in 1..=MAX_SIG {
            if sig == libc::SIGKILL || sig == libc::SIGSTOP {
                continue;
            }
            match get(sig) {
                Ok(h) if h != libc::SIG_DFL && h != libc::SIG_IGN => {
                    sys::sig_default(sig)?;
                }
                _ => {}
            }
        }
        Ok(0)
    }
}
