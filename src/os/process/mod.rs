//! Processes nsscript starts: the spawn path (`spawn`), the plan walk its
//! children run (`child`), their standard streams (`stdio`), and the
//! `Child` handle that waits for, signals and reaps them.

pub mod child;
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
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::os::fd::{AsRawFd, OwnedFd};

/// A process that `spawn` started.
#[derive(Debug)]
pub struct Child {
    pub pid: i32,
    pidfd: Option<OwnedFd>,
    pub ns: NsSet,
    pub stdin: Option<OwnedFd>,
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
    /// Exit code once reaped: the code, or 128+N for signal N; -1 when
    /// the process is gone but its status could not be had.
    pub status: Option<i32>,
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
        Child {
            pid,
            pidfd,
            ns,
            stdin: None,
            stdout: None,
            stderr: None,
            status: None,
            out: Vec::new(),
            err: Vec::new(),
            trace: Vec::new(),
            disowned: false,
            foreground: false,
        }
    }

    /// Reaps the child, blocking (it is exiting, or was just killed).
    /// Any wait error other than EINTR means the status cannot be had:
    /// the child is then taken as gone and never signalled again.
    fn reap_blocking(&mut self) {
        while self.status.is_none() {
            match waitpid(Pid::from_raw(self.pid), None) {
                Ok(s) => self.status = exit_code(s),
                Err(Errno::EINTR) => {}
                Err(_) => self.status = Some(-1),
            }
        }
        self.traced_exit();
    }

    /// SIGKILL and reap: nothing is left, whatever state it was in.
    pub fn kill_and_reap(&mut self) {
        if self.status.is_none() {
            let _ = self.signal(Signal::SIGKILL);
            self.reap_blocking();
        }
    }

    /// Sends a signal, through the pidfd where there is one so a reused pid
    /// can never receive it. Without a pidfd, the pid is safe until the
    /// child is reaped, and it is never signalled after that.
    pub fn signal(&self, sig: Signal) -> Result<()> {
        if self.status.is_some() {
            return Err(Error::with_errno(
                "kill",
                Errno::ESRCH,
                format!("process {} has already exited", self.pid),
            ));
        }
        let r = match &self.pidfd {
            Some(fd) => super::sys::pidfd_send_signal(fd.as_raw_fd(), sig as i32),
            // SAFETY: plain kill of our unreaped child.
            None => match unsafe { libc::kill(self.pid, sig as i32) } {
                0 => Ok(()),
                _ => Err(Errno::last()),
            },
        };
        r.map_err(|e| Error::sys(format!("kill({}, {})", self.pid, sig.as_str()), e))
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
                self.traced_exit();
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
        let _terminal = self.foreground.then(|| stdio::Foreground::give(self.pid));
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

    fn interrupted_error(&mut self, op: &str) -> Error {
        self.kill_and_reap();
        Error::with_errno(
            op,
            Errno::EINTR,
            format!("interrupted; process {} was killed", self.pid),
        )
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
                        self.traced_exit();
                        return Ok(code);
                    }
                }
                Err(Errno::EINTR) => {
                    if interrupted() {
                        return Err(self.interrupted_error("wait"));
                    }
                }
                Err(e) => {
                    self.status = Some(-1);
                    return Err(Error::sys(format!("wait({})", self.pid), e));
                }
            }
        }
    }

    /// With tracing on: `wait4(PID) = exit N`, once the child is reaped.
    fn traced_exit(&self) {
        if !trace::enabled() {
            return;
        }
        let ret = match self.status {
            Some(c) if c > 128 => Ret::Killed(c - 128),
            Some(c) => Ret::Exited(c),
            None => return,
        };
        trace::emit(&Event::new(
            std::process::id() as i32,
            "wait4",
            vec![Arg::Int(self.pid as i64)],
            ret,
        ));
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

/// The exit code as a shell reports it: the status, or 128+N for signal N.
pub fn exit_code(s: WaitStatus) -> Option<i32> {
    match s {
        WaitStatus::Exited(_, c) => Some(c),
        WaitStatus::Signaled(_, sig, _) => Some(128 + sig as i32),
        _ => None,
    }
}

/// The records of a setup as trace events, with the pids of the child and
/// of the grandchild (after a fork into a pid namespace).
pub(crate) fn events(
    plan: &Plan,
    recs: &[Record],
    child: i32,
    grandchild: i32,
    slots: &mut Slots,
) -> Vec<(Step, Event)> {
    let pid = |w: Who| match w {
        Who::Child => child,
        Who::Grandchild => grandchild,
    };
    recs.iter()
        .filter_map(|r| match *r {
            Record::Did { who, op, value } => {
                let ret = if value < 0 {
                    Ret::Err(Errno::from_raw(-value as i32))
                } else {
                    Ret::Val(value)
                };
                let ev = plan.event(op as usize, pid(who), ret, 0, slots)?;
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
                let ev = plan.event(op as usize, pid(who), Ret::Err(errno), aux, slots)?;
                Some((plan.step_of(op as usize), ev))
            }
            Record::Forked { .. } | Record::Ready { .. } => None,
        })
        .collect()
}
