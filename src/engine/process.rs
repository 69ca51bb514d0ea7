//! The Process handle scripts hold, and the registry that makes sure every
//! child dies with its script.

use crate::os;
use crate::os::process::Child;
use std::cell::RefCell;
use std::rc::Rc;

/// A process started by `spawn`. Cloning the handle shares the process.
#[derive(Clone)]
pub struct Process(pub Rc<RefCell<Child>>);

thread_local! {
    /// Every child not yet reaped. The program is single-threaded, so this
    /// is the only list.
    static LIVE: RefCell<Vec<Rc<RefCell<Child>>>> = const { RefCell::new(Vec::new()) };
}

impl Process {
    /// Registers a new child. Children whose handles are all gone and that
    /// have exited are reaped here, so long loops leave no zombies.
    pub fn register(child: Child) -> Process {
        let rc = Rc::new(RefCell::new(child));
        LIVE.with(|l| {
            let mut l = l.borrow_mut();
            l.retain(|c| {
                if Rc::strong_count(c) > 1 {
                    return true;
                }
                let mut c = c.borrow_mut();
                !matches!(c.try_wait(), Ok(Some(_)) | Err(_))
            });
            l.push(rc.clone());
            // After the push: the new child may have exited already and
            // must not be taken for an orphan.
            reap_exited_orphans(&l);
        });
        Process(rc)
    }

    pub fn pid(&self) -> i32 {
        self.0.borrow().pid
    }

    /// A short description: "Process(pid 42, running, ns: uts pid)".
    pub fn describe(&self) -> String {
        let mut c = self.0.borrow_mut();
        let state = match c.try_wait() {
            Ok(None) => "running".to_string(),
            Ok(Some(code)) => format!("exited {code}"),
            Err(_) => "unknown".to_string(),
        };
        let ns: Vec<&str> = c.ns.iter().map(|n| n.name()).collect();
        format!("Process(pid {}, {state}, ns: [{}])", c.pid, ns.join(", "))
    }

    pub fn trace_lines(&self) -> Vec<String> {
        self.0.borrow().trace_lines()
    }
}

/// Kills and reaps every child still running: the script is over. That
/// includes descendants that outlived their own parent (`sh -c "daemon &"`)
/// and were handed to this process, the reaper of its orphans (see
/// os::process::spawn).
///
/// When the script ends because nsscript received a signal it forwards
/// (os::signals), the children get that signal first and a grace period
/// to exit by themselves.
pub fn reap_all() {
    let all = LIVE.with(|l| std::mem::take(&mut *l.borrow_mut()));
    if let Some(sig) = os::signals::received() {
        pass_on(sig, &all);
    }
    for c in all {
        if let Ok(mut c) = c.try_borrow_mut() {
            c.kill_and_reap();
        }
    }
    // Whatever child is left is an adopted orphan: no handle owns it.
    // (Best effort: without /proc there is no list of them.)
    for pid in children() {
        // SAFETY: kill and waitpid of our own child, which cannot be
        // reused by another process before we reap it.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
    }
}

/// Forwards `sig` to every child, handled or adopted, and waits until all
/// have ended or the grace period is over. An orphan adopted meanwhile
/// (the `sleep` of `sh -c "sleep 100 & wait"` once the shell has ended)
/// gets the signal too.
fn pass_on(sig: libc::c_int, all: &[Rc<RefCell<Child>>]) {
    let known = |pid: i32| {
        all.iter()
            .any(|c| c.try_borrow().is_ok_and(|c| c.pid == pid))
    };
    if let Ok(s) = nix::sys::signal::Signal::try_from(sig) {
        for c in all {
            if let Ok(c) = c.try_borrow() {
                let _ = c.signal(s);
            }
        }
    }
    let mut told = std::collections::HashSet::new();
    let deadline = std::time::Instant::now() + os::signals::grace();
    while std::time::Instant::now() < deadline {
        let mut running = false;
        for c in all {
            if let Ok(mut c) = c.try_borrow_mut() {
                running |= matches!(c.try_wait(), Ok(None));
            }
        }
        for pid in children().into_iter().filter(|p| !known(*p)) {
            if told.insert(pid) {
                // SAFETY: a signal to our own unreaped child.
                unsafe { libc::kill(pid, sig) };
            }
            // SAFETY: non-blocking reap of an adopted orphan.
            running |= unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) } == 0;
        }
        if !running {
            return;
        }
        // Until a child exits (SIGCHLD wakes it) or the grace is over.
        let _ = os::signals::wait_until(&[], &mut [], Some(deadline));
    }
}

/// Our children, from /proc (empty when /proc cannot tell).
fn children() -> Vec<i32> {
    os::procfs::children(std::process::id())
}

/// Reaps adopted orphans that have exited, so a long script does not
/// collect their zombies. Registered children are left to their handles.
fn reap_exited_orphans(live: &[Rc<RefCell<Child>>]) {
    let mut known = std::collections::HashSet::new();
    for c in live {
        match c.try_borrow() {
            Ok(c) => known.insert(c.pid),
            // A handle in use: do not guess, try again next time.
            Err(_) => return,
        };
    }
    for pid in children() {
        if known.contains(&pid) {
            continue;
        }
        // SAFETY: non-blocking waitpid of a child no handle owns.
        unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) };
    }
}

/// Standard output is a pipe nobody reads any more (`nsscript x.rhai |
/// head -1` once head is gone): end as a program killed by SIGPIPE would,
/// children first, instead of running on unseen. Rust ignores SIGPIPE, so
/// the print callback calls this on EPIPE.
pub fn stdout_closed() -> ! {
    reap_all();
    // SAFETY: leaving at once, also from a forked in_ns copy; nothing is
    // left to flush to a closed pipe.
    unsafe { libc::_exit(128 + libc::SIGPIPE) }
}

/// In a forked copy of the interpreter: the children belong to the parent,
/// so disown them: no kill, no wait, from this copy.
pub fn forget_all() {
    LIVE.with(|l| {
        for c in std::mem::take(&mut *l.borrow_mut()) {
            if let Ok(mut c) = c.try_borrow_mut() {
                c.disown();
            }
        }
    });
}

/// How many children are not yet reaped (for tests and the REPL).
pub fn live_count() -> usize {
    LIVE.with(|l| l.borrow().len())
}
