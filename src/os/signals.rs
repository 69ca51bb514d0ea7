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

use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::time::Duration;

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

extern "C" fn on_signal(sig: libc::c_int) {
    RECEIVED.store(sig, Ordering::Relaxed);
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
