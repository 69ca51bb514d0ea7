//! Processes nsscript starts: the spawn path (`spawn`), the plan walk its
//! children run (`child`), their standard streams (`stdio`), the PID 1 it
//! can put in front of a command (`init`), and the `Child` handle that
//! waits for, signals and reaps them.

pub mod child;
pub mod init;
pub mod spawn;
pub mod stdio;

pub use spawn::{fork, spawn, Forked};

use super::ns::NsSet;
use super::setup::plan::{Plan, Slots};
use super::setup::wire::{Record, Who};
use super::setup::Step;
use super::trace::{self, Arg, Event, Ret};
use super::{Error, Result};
use nix::errno::Errno;
use nix::sys::signal::Signal;
use std::cell::{Cell, RefCell};
use std::os::fd::{AsRawFd, OwnedFd};
use std::rc::{Rc, Weak};

/// A child's exit code, once it is reaped: the code, or 128+N for signal
/// N; -1 when the process is gone but its status could not be had.
type Status = Rc<Cell<Option<i32>>>;

/// A child not yet reaped: its pid and the cell its status goes to.
type Unreaped = (i32, Weak<Cell<Option<i32>>>);

thread_local! {
    static UNREAPED: RefCell<Vec<Unreaped>> = const { RefCell::new(Vec::new()) };
}

/// Notes the status of a child that a wait for another one reaped.
fn record(pid: i32, code: i32) {
    UNREAPED.with(|u| {
        let mut u = u.borrow_mut();
        u.retain(|(p, cell)| match cell.upgrade() {
            Some(c) if *p == pid => {
                c.set(Some(code));
                false
            }
            Some(_) => true,
            None => false,
        });
    });
}

/// wait4(pid, &status, options, NULL): the pid reaped (0 when WNOHANG
/// found none) and its raw status. With tracing on, a call that reaped a
/// child or failed is printed; a poll that found the child still running
/// says nothing new and is not.
pub(crate) fn wait4(pid: i32, options: i32) -> std::result::Result<(i32, i32), Errno> {
    let mut st: libc::c_int = 0;
    // SAFETY: waitpid(2) into a local.
    let r = unsafe { libc::waitpid(pid, &mut st, options) };
    let res = match r {
        r if r < 0 => Err(Errno::last()),
        r => Ok((r, st)),
    };
    if matches!(res, Ok((0, _)) | Err(Errno::EINTR)) {
        return res;
    }
    let ret = match res {
        Ok((r, _)) => Ret::Val(r as i64),
        Err(e) => Ret::Err(e),
    };
    trace::here("wait4", ret, None, || {
        vec![
            Arg::Int(pid as i64),
            match res {
                Ok((_, st)) => trace::wait_status(st),
                Err(_) => Arg::Ptr,
            },
            Arg::Const(trace::flag_names(
                options as u64,
                &[
                    (libc::WNOHANG as u64, "WNOHANG"),
                    (libc::WUNTRACED as u64, "WSTOPPED"),
                ],
            )),
            Arg::Const("NULL".into()),
        ]
    });
    res
}

/// Continues child `pid`'s group if it stopped itself for want of the
/// terminal (SIGTTIN or SIGTTOU) while it is the foreground, as a shell's
/// `fg` does after tcsetpgrp. Notes its status if it has ended instead.
fn continue_terminal_stop(pid: i32, status: &Status) {
    if status.get().is_some() {
        return;
    }
    match wait4(pid, libc::WNOHANG | libc::WUNTRACED) {
        Ok((r, st)) if r == pid && libc::WIFSTOPPED(st) => {
            if matches!(libc::WSTOPSIG(st), libc::SIGTTIN | libc::SIGTTOU) {
                // SAFETY: kill(2) on our child's own process group.
                unsafe { libc::kill(-pid, libc::SIGCONT) };
            }
        }
        Ok((r, st)) if r == pid => status.set(Some(init::exit_code(st))),
        _ => {}
    }
}

/// Waits for child `pid`, reaping whichever child of ours ends first and
/// noting its status for its own handle. A blocking wait for one child
/// alone can wait forever: the init of a pid namespace does not finish
/// exiting until every process in its namespace is reaped, and a process
/// nsscript cloned into that namespace (CLONE_PARENT) is nsscript's to
/// reap. Returns on EINTR when `interrupted` says so.
///
/// `foreground`: the child's group holds the terminal for this wait. A
/// job-control shell that started before it did stops its own group with
/// SIGTTIN (or SIGTTOU) to wait for it; like a shell's `fg`, the wait
/// continues that group with SIGCONT.
fn wait_for(
    pid: i32,
    status: &Status,
    foreground: bool,
    interrupted: &dyn Fn() -> bool,
) -> std::result::Result<i32, Errno> {
    loop {
        if foreground {
            continue_terminal_stop(pid, status);
        }
        // Everything that has ended, without blocking.
        loop {
            let (r, st) = match wait4(-1, libc::WNOHANG) {
                Ok((0, _)) => break,
                Ok(v) => v,
                Err(Errno::EINTR) => continue,
                // No child at all: ours is gone, or was reaped.
                Err(e) => return status.get().ok_or(e),
            };
            let code = init::exit_code(st);
            if r == pid {
                status.set(Some(code));
            } else {
                record(r, code);
            }
        }
        if let Some(s) = status.get() {
            return Ok(s);
        }
        if interrupted() {
            return Err(Errno::EINTR);
        }
        // Until a child exits (SIGCHLD) or a signal arrives.
        super::signals::wait_until(&[], &mut [], None)?;
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
    status: Status,
    pub out: Vec<u8>,
    pub err: Vec<u8>,
    /// The steps of its setup, with `trace: true`.
    pub trace: Vec<(Step, Event)>,
    /// Set in a forked copy of the interpreter: the child is not ours to
    /// kill or reap.
    disowned: bool,
    /// Under job control with the terminal as stdin: `wait` hands it the
    /// terminal, as a shell does for a foreground job.
    foreground: bool,
}

impl Child {
    fn new(pid: i32, pidfd: Option<OwnedFd>, ns: NsSet) -> Child {
        let status: Status = Rc::new(Cell::new(None));
        UNREAPED.with(|u| {
            let mut u = u.borrow_mut();
            // A pid is unique among unreaped children: an entry for the
            // same pid is one whose handle is gone.
            u.retain(|(p, c)| *p != pid && c.strong_count() > 0);
            u.push((pid, Rc::downgrade(&status)));
        });
        Child {
            pid,
            pidfd,
            ns,
            stdin: None,
            stdout: None,
            stderr: None,
            status,
            out: Vec::new(),
            err: Vec::new(),
            trace: Vec::new(),
            disowned: false,
            foreground: false,
        }
    }

    /// The exit code once reaped: the code, or 128+N for signal N; -1
    /// when the process is gone but its status could not be had.
    pub fn status(&self) -> Option<i32> {
        self.status.get()
    }

    /// Reaps the child, blocking (it is exiting, or was just killed).
    /// Any wait error other than EINTR means the status cannot be had:
    /// the child is then taken as gone and never signalled again.
    fn reap_blocking(&mut self) {
        if self.status.get().is_none()
            && wait_for(self.pid, &self.status, false, &|| false).is_err()
        {
            self.status.set(Some(-1));
        }
    }

    /// SIGKILL and reap: nothing is left, whatever state it was in.
    pub fn kill_and_reap(&mut self) {
        if self.status.get().is_none() {
            let _ = self.signal(Signal::SIGKILL);
            self.reap_blocking();
        }
    }

    /// Sends a signal, through the pidfd where there is one so a reused pid
    /// can never receive it. Without a pidfd, the pid is safe until the
    /// child is reaped, and it is never signalled after that.
    pub fn signal(&self, sig: Signal) -> Result<()> {
        if self.status.get().is_some() {
            return Err(Error::with_errno(
                "kill",
                Errno::ESRCH,
                format!("process {} has already exited", self.pid),
            ));
        }
        let r = match &self.pidfd {
            Some(fd) => {
                let fd = fd.as_raw_fd();
                let r = super::sys::pidfd_send_signal(fd, sig as i32);
                trace::here("pidfd_send_signal", Ret::of(&r), None, || {
                    vec![
                        Arg::Fd(fd, trace::fd_path(fd)),
                        Arg::Const(sig.as_str().into()),
                        Arg::Const("NULL".into()),
                        Arg::Int(0),
                    ]
                });
                r
            }
            None => {
                // SAFETY: plain kill of our unreaped child.
                let r = match unsafe { libc::kill(self.pid, sig as i32) } {
                    0 => Ok(()),
                    _ => Err(Errno::last()),
                };
                trace::here("kill", Ret::of(&r), None, || {
                    vec![Arg::Int(self.pid as i64), Arg::Const(sig.as_str().into())]
                });
                r
            }
        };
        r.map_err(|e| Error::sys(format!("kill({}, {})", self.pid, sig.as_str()), e))
    }

    /// Non-blocking: has it exited? Reaps it if so.
    pub fn try_wait(&mut self) -> Result<Option<i32>> {
        if let Some(s) = self.status.get() {
            return Ok(Some(s));
        }
        match wait4(self.pid, libc::WNOHANG) {
            Ok((0, _)) => Ok(None),
            Ok((_, st)) => {
                self.status.set(Some(init::exit_code(st)));
                Ok(self.status.get())
            }
            Err(Errno::ECHILD) => {
                self.status.set(Some(-1));
                Ok(Some(-1))
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
        if let Some(s) = self.status.get() {
            return Ok(s);
        }
        // Held until the end of the wait, which takes the terminal back.
        let terminal = self
            .foreground
            .then(|| stdio::Foreground::give(self.pid))
            .flatten();
        let held = terminal.is_some();
        if input.is_none() {
            self.stdin = None; // EOF for the child
        }
        // Only a child with pipes needs the poll loop; otherwise one
        // blocking waitpid is all (the common case, and the fast one).
        if self.stdout.is_some() || self.stderr.is_some() || self.stdin.is_some() {
            self.pump(input, held, interrupted)?;
        }
        self.reap(held, interrupted)
    }

    /// The wait was interrupted. On Ctrl-C (the REPL) the child is killed
    /// and reaped; on a signal nsscript forwards, it is left running: the
    /// signal reaches it, with a grace period (os::signals).
    pub(crate) fn interrupted_error(&mut self, op: &str) -> Error {
        if let Some(sig) = super::signals::received() {
            return Error::with_errno(
                op,
                Errno::EINTR,
                format!(
                    "nsscript received {}; it is passed on to process {}",
                    super::signals::name(sig),
                    self.pid
                ),
            );
        }
        self.kill_and_reap();
        Error::with_errno(
            op,
            Errno::EINTR,
            format!("interrupted; process {} was killed", self.pid),
        )
    }

    /// Reaps the child (blocking), killing it if the wait is interrupted.
    fn reap(&mut self, terminal: bool, interrupted: &dyn Fn() -> bool) -> Result<i32> {
        match wait_for(self.pid, &self.status, terminal, interrupted) {
            Ok(code) => {
                self.stdout = None;
                self.stderr = None;
                self.stdin = None;
                Ok(code)
            }
            Err(Errno::EINTR) => Err(self.interrupted_error("wait")),
            Err(e) => {
                self.status.set(Some(-1));
                Err(Error::sys(format!("wait({})", self.pid), e))
            }
        }
    }

    /// Forget the child without touching it (we are a forked copy of the
    /// process that owns it).
    pub fn disown(&mut self) {
        self.disowned = true;
    }

    /// The setup trace as lines: "mount /proc: mount(\"proc\", ...) = 0".
    pub fn trace_lines(&self) -> Vec<String> {
        self.trace
            .iter()
            .map(|(step, e)| {
                format!(
                    "{}: {} = {}",
                    step.name(),
                    e.call(),
                    trace::ret_text(&e.ret)
                )
            })
            .collect()
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

/// The pids of the processes of a setup, as nsscript sees them: the
/// child, the grandchild it cloned into a pid namespace, the command an
/// init started.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pids {
    pub child: i32,
    pub grandchild: i32,
    pub command: i32,
}

impl Pids {
    /// One process did everything (the interpreter itself).
    pub fn one(pid: i32) -> Pids {
        Pids {
            child: pid,
            grandchild: pid,
            command: pid,
        }
    }

    fn of(&self, w: Who) -> i32 {
        match w {
            Who::Child => self.child,
            Who::Grandchild => self.grandchild,
            Who::Command => self.command,
        }
    }
}

/// The records of a setup as trace events.
pub(crate) fn events(
    plan: &Plan,
    recs: &[Record],
    pids: Pids,
    slots: &mut Slots,
) -> Vec<(Step, Event)> {
    recs.iter()
        .filter_map(|r| match *r {
            Record::Did { who, op, value } => {
                let ret = if value < 0 {
                    Ret::Err(Errno::from_raw(-value as i32))
                } else {
                    Ret::Val(value)
                };
                // A successful exec (an init's command reports it through
                // the init): the candidate after the last that failed.
                let aux = match plan.ops.get(op as usize).map(|o| &o.sys) {
                    Some(super::setup::plan::Sys::Exec) => next_candidate(recs, who),
                    _ => 0,
                };
                let ev = plan.event(op as usize, pids.of(who), ret, aux, slots)?;
                Some((plan.step_of(op as usize), ev))
            }
            Record::Failed {
                who,
                op,
                aux,
                errno,
            }
            | Record::ExecMissed {
                who,
                op,
                aux,
                errno,
            } => {
                let ev = plan.event(op as usize, pids.of(who), Ret::Err(errno), aux, slots)?;
                Some((plan.step_of(op as usize), ev))
            }
            Record::Forked { .. } | Record::Ready { .. } => None,
        })
        .collect()
}

/// The exec candidate that worked for `who`: the one after the last that
/// failed (execve reports only failures).
pub(crate) fn next_candidate(recs: &[Record], who: Who) -> u32 {
    recs.iter()
        .rev()
        .find_map(|r| match *r {
            Record::ExecMissed { who: w, aux, .. } if w == who => Some(aux + 1),
            _ => None,
        })
        .unwrap_or(0)
}
