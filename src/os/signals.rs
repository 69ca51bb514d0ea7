//! Signals sent to nsscript reach the programs it runs.
//!
//! SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 are caught: the
//! handler only notes the signal (an atomic store, async-signal-safe), and
//! a blocking wait sees EINTR (no SA_RESTART). The script then stops, the
//! signal is forwarded to every child still running, they get a grace
//! period to exit (a `trap` runs, files are flushed), the rest get
//! SIGKILL, and nsscript exits with 128+N, as a shell reports a death by
//! signal N (engine::process::reap_all, cli).
//!
//! A child still in its setup is killed at once: it has not started the
//! program, so there is nothing to let finish.
//!
//! A flag alone would be lost when the signal lands between a check and
//! the blocking call after it. So every handler (and one for SIGCHLD)
//! also writes a byte to a pipe of our own (the self-pipe trick), and
//! every blocking wait in nsscript polls that pipe beside what it waits
//! for (`wait_until`): a signal or a child's exit always wakes it.

use nix::errno::Errno;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The signals forwarded to the children.
pub const FORWARDED: [libc::c_int; 6] = [
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// The grace period in milliseconds.
static GRACE_MS: AtomicU64 = AtomicU64::new(5000);

/// The self-pipe: its read end is polled, handlers write to the other.
static WAKE_R: AtomicI32 = AtomicI32::new(-1);
static WAKE_W: AtomicI32 = AtomicI32::new(-1);

/// Wakes every wait (async-signal-safe: a raw write, errno untouched).
pub fn wake() {
    let fd = WAKE_W.load(Ordering::Relaxed);
    if fd >= 0 {
        let b = 1u8;
        // SAFETY: a one-byte write from our stack to our pipe; a full pipe
        // (EAGAIN) already holds a wake-up.
        let _ = unsafe { super::sys::sys!(libc::SYS_write, fd, &b as *const u8, 1) };
    }
}

/// Set by the REPL: a line editor blocked in read() retries on EINTR and
/// listens only to SIGINT, so a forwarded signal also raises SIGINT to
/// make it give the prompt back.
static NUDGE_EDITOR: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn nudge_editor(on: bool) {
    NUDGE_EDITOR.store(on, Ordering::Relaxed);
}

extern "C" fn on_signal(sig: libc::c_int) {
    RECEIVED.store(sig, Ordering::Relaxed);
    wake();
    if NUDGE_EDITOR.load(Ordering::Relaxed) && sig != libc::SIGINT {
        // SAFETY: kill(2) is async-signal-safe; it only raises SIGINT.
        unsafe { libc::kill(libc::getpid(), libc::SIGINT) };
    }
}

extern "C" fn on_child(_: libc::c_int) {
    wake();
}

/// Makes the self-pipe and the SIGCHLD handler, once per process (a
/// forked copy makes its own: a shared pipe would let one process drain
/// the other's wake-ups). Safe to call before every wait.
pub fn init() {
    if WAKE_R.load(Ordering::Relaxed) >= 0 {
        return;
    }
    let mut fds = [-1 as RawFd; 2];
    // SAFETY: pipe2 into a local array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } < 0 {
        return;
    }
    WAKE_R.store(fds[0], Ordering::Relaxed);
    WAKE_W.store(fds[1], Ordering::Relaxed);
    // SA_RESTART: a child's exit must not break a read elsewhere.
    // SAFETY: the handler only writes to the pipe.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_child as extern "C" fn(libc::c_int) as usize;
        // No SA_NOCLDSTOP: a waited child that stops for the terminal must
        // wake the wait, which continues it (process::wait_for).
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGCHLD, &sa, std::ptr::null_mut());
    }
}

/// In a forked copy of the interpreter: a self-pipe of its own.
pub fn after_fork() {
    for cell in [&WAKE_R, &WAKE_W] {
        let fd = cell.swap(-1, Ordering::Relaxed);
        if fd >= 0 {
            // SAFETY: closing our copy of the inherited pipe end.
            unsafe { libc::close(fd) };
        }
    }
    init();
}

/// What woke a wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Woken {
    /// One of the fds is ready.
    Ready,
    /// A signal or a child's exit: look again at what you wait for.
    Again,
    /// The time is up.
    TimedOut,
}

/// Waits until one of `fds` (fd, poll events) is ready, a signal arrives
/// or a child of ours exits, or `deadline` passes; the revents of `fds`
/// come back through `ready`. A signal that landed before the call has
/// left a byte in the pipe, so a caller that checks os::interrupted() and
/// then waits cannot miss it.
pub fn wait_until(
    fds: &[(RawFd, i16)],
    ready: &mut [i16],
    deadline: Option<Instant>,
) -> Result<Woken, Errno> {
    init();
    let mut p: Vec<libc::pollfd> = fds
        .iter()
        .map(|(fd, ev)| libc::pollfd {
            fd: *fd,
            events: *ev,
            revents: 0,
        })
        .collect();
    let wake_r = WAKE_R.load(Ordering::Relaxed);
    p.push(libc::pollfd {
        fd: wake_r,
        events: libc::POLLIN,
        revents: 0,
    });
    let timeout = match deadline {
        None => -1,
        Some(d) => {
            let left = d.saturating_duration_since(Instant::now());
            i32::try_from(left.as_millis().saturating_add(1)).unwrap_or(i32::MAX)
        }
    };
    // SAFETY: poll over an array we own.
    let n = unsafe { libc::poll(p.as_mut_ptr(), p.len() as libc::nfds_t, timeout) };
    if n < 0 && Errno::last() != Errno::EINTR {
        return Err(Errno::last());
    }
    // Drain the wake-ups: each wait looks again at what it waits for.
    let mut buf = [0u8; 64];
    // SAFETY: non-blocking reads into our stack.
    while wake_r >= 0 && unsafe { libc::read(wake_r, buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
    let mut any = false;
    for (r, q) in ready.iter_mut().zip(&p) {
        *r = q.revents;
        any |= q.revents != 0;
    }
    if any {
        return Ok(Woken::Ready);
    }
    if deadline.is_some_and(|d| Instant::now() >= d) {
        return Ok(Woken::TimedOut);
    }
    Ok(Woken::Again)
}

/// Catches the forwarded signals (`but`: one left to its owner, the
/// REPL's SIGINT). A signal that was ignored when nsscript started (as
/// nohup and `cmd &` in a non-interactive shell leave SIGHUP and SIGINT)
/// stays ignored, as shells do.
pub fn catch(but: Option<libc::c_int>) {
    for sig in FORWARDED {
        if Some(sig) == but {
            continue;
        }
        // SAFETY: reading and setting dispositions with structs we own;
        // the handler only stores to an atomic.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut old) == 0
                && old.sa_sigaction == libc::SIG_IGN
            {
                continue;
            }
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// The signal received, if one was.
pub fn received() -> Option<libc::c_int> {
    match RECEIVED.load(Ordering::Relaxed) {
        0 => None,
        s => Some(s),
    }
}

/// How long children get to exit once a signal was forwarded to them.
pub fn grace() -> Duration {
    Duration::from_millis(GRACE_MS.load(Ordering::Relaxed))
}

pub fn set_grace(d: Duration) {
    GRACE_MS.store(
        u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
}

/// The signal's name, for messages ("SIGTERM").
pub fn name(sig: libc::c_int) -> &'static str {
    nix::sys::signal::Signal::try_from(sig)
        .map(|s| s.as_str())
        .unwrap_or("a signal")
}
