//! `nsscript-init`: a minimal PID 1 for a new pid namespace, in front of
//! the command a container runs (what tini and catatonit do).
//!
//! nsscript becomes this init when started under the name `nsscript-init`
//! (the basename of argv[0]: a symlink, `exec -a`, or execveat of
//! /proc/self/exe with that argv[0]):
//!
//! ```text
//! nsscript-init [--pgroup] [--] PROG [ARGS...]
//! ```
//!
//! Why a pid namespace needs one (pid_namespaces(7)):
//! - The first process of a pid namespace is its init: orphans of the
//!   namespace are re-parented to it, and only it can reap them. A command
//!   that never calls wait() on children it did not start lets zombies pile
//!   up; init reaps every child (`waitpid(-1, WNOHANG)` on each SIGCHLD).
//! - The kernel protects a namespace's init: a signal sent from inside the
//!   namespace is dropped unless init has a handler for it, and SIGKILL or
//!   SIGSTOP from inside never reach it. A command that relies on its
//!   default dispositions (most do: `docker stop` sends SIGTERM) would
//!   ignore them as PID 1. So init runs the command as its child and keeps
//!   every signal blocked: a blocked signal is queued even for PID 1, init
//!   takes it with sigtimedwait() and forwards it (kill) to the command, or to
//!   its process group with `--pgroup`. SIGCHLD is init's own business.
//! - SIGSEGV, SIGILL, SIGFPE, SIGBUS, SIGABRT, SIGTRAP and SIGSYS report a
//!   fault of the process that receives them: sent to init they are about
//!   init, and are never forwarded. A real fault of init still kills it (the
//!   kernel unblocks a synchronous signal it raises itself).
//! - When init exits, the kernel kills every other process of the
//!   namespace (SIGKILL). Init therefore exits as soon as the command has
//!   been reaped: the command's end is the container's end.
//!
//! The command gets a clean start: default dispositions (a signal ignored
//! by whoever started init stays ignored across execve otherwise), an empty
//! signal mask, and a process group of its own (`setpgid(0, 0)`). When
//! stdin is a terminal that group becomes the terminal's foreground group
//! (tcsetpgrp; SIGTTOU, which a background group gets for that, is still
//! blocked at that point), so Ctrl-C reaches the command and not init; init
//! gives the terminal back to the group that had it once the command is
//! reaped. The program is found as execvp(3) does (PATH); a name that no
//! PATH folder visibly holds is "not found", also when one of the folders
//! could not be searched (execvp says EACCES then).
//!
//! Run outside a new pid namespace (not as pid 1), init makes itself a
//! child subreaper (PR_SET_CHILD_SUBREAPER), so orphans of the command
//! still come to it and are reaped.
//!
//! Exit status: the command's exit status n as n, and a death by signal s
//! as 128+s. Init's own exit codes follow the shell and `env`/`timeout`:
//! 127 when PROG is not found, 126 when it is found but cannot be executed
//! (each with one line on stderr naming PROG and the errno), and 125 when
//! init itself fails (a usage error, fork, the process group): the codes a
//! command rarely uses for itself.

use super::super::setup::plan::Plan;
use super::super::setup::wire::{Record, Who};
use super::child::Sink;
use crate::os::sys::{self, sys};
use libc::{c_char, c_int, pid_t};
use nix::errno::Errno;
use std::cell::Cell;
use std::ffi::CStr;
use std::os::unix::ffi::OsStrExt;

/// The name that selects this mode (the basename of argv[0]).
pub const NAME: &str = "nsscript-init";

/// Init itself failed: usage, fork, process group, signal set-up.
pub const EXIT_INIT_FAILED: i32 = 125;
/// PROG was found but could not be executed (EACCES, ENOEXEC...).
pub const EXIT_CANNOT_EXECUTE: i32 = 126;
/// PROG was not found.
pub const EXIT_NOT_FOUND: i32 = 127;

const USAGE: &str = "\
usage: nsscript-init [--pgroup] [--] PROG [ARGS...]

Runs PROG as the only child of a minimal init (PID 1 of a new pid namespace):
signals are forwarded to it (to its process group with --pgroup; never SIGCHLD
nor SIGSEGV, SIGILL, SIGFPE, SIGBUS, SIGABRT, SIGTRAP, SIGSYS), orphans are
reaped, and init exits with PROG's status (128+n for a death by signal n) as
soon as PROG has been reaped.
Own exit codes: 127 PROG not found, 126 PROG not executable, 125 init failed.
";

/// Signals that report a fault of the receiving process itself.
const SYNCHRONOUS: [c_int; 7] = [
    libc::SIGSEGV,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGBUS,
    libc::SIGABRT,
    libc::SIGTRAP,
    libc::SIGSYS,
];

/// The kernel's highest signal number (_NSIG - 1) on Linux.
const LAST_SIGNAL: c_int = 64;

/// Is `argv0` a name that selects init mode? Its basename must be exactly
/// `nsscript-init`.
pub fn is_init_name(argv0: &[u8]) -> bool {
    let base = match argv0.iter().rposition(|&b| b == b'/') {
        Some(i) => &argv0[i + 1..],
        None => argv0,
    };
    base == NAME.as_bytes()
}

/// What the arguments (after argv[0]) ask for.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Run the command starting at argument index `at`.
    Run {
        pgroup: bool,
        at: usize,
    },
    Help,
    Usage(String),
}

/// Parses `[--pgroup] [--] PROG [ARGS...]`; options stop at the first
/// argument that is not one (or after `--`).
pub fn parse(args: &[&[u8]]) -> Parsed {
    let mut pgroup = false;
    for (i, a) in args.iter().enumerate() {
        match *a {
            b"--pgroup" => pgroup = true,
            b"-h" | b"--help" => return Parsed::Help,
            b"--" => {
                return if i + 1 < args.len() {
                    Parsed::Run { pgroup, at: i + 1 }
                } else {
                    Parsed::Usage("no program given after --".into())
                };
            }
            _ if a.starts_with(b"-") && a.len() > 1 => {
                return Parsed::Usage(format!(
                    "unknown option {:?} (put -- before a program whose name starts with -)",
                    String::from_utf8_lossy(a)
                ));
            }
            _ => return Parsed::Run { pgroup, at: i },
        }
    }
    Parsed::Usage("no program given".into())
}

/// The exit status a shell would report for a `waitpid` status: n for
/// exit(n), 128+s for a death by signal s.
pub fn exit_code(status: c_int) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        EXIT_INIT_FAILED
    }
}

/// The exit code for a failed execve of the command: 127 when there is no
/// such program, 126 when there is one that cannot be run (as sh does).
pub fn exec_failure_code(e: Errno) -> i32 {
    if e == Errno::ENOENT {
        EXIT_NOT_FOUND
    } else {
        EXIT_CANNOT_EXECUTE
    }
}

/// One line on stderr, `nsscript-init: ` first, built on the stack and
/// sent in a single write (init and its child may both write; a line must
/// not be split). Needs no allocation: the built-in init uses it in the
/// interpreter's memory. A line longer than the buffer is cut.
struct Line {
    buf: [u8; 512],
    len: usize,
}

impl Line {
    fn new() -> Line {
        let mut l = Line {
            buf: [0; 512],
            len: 0,
        };
        l.push(NAME.as_bytes()).push(b": ");
        l
    }

    fn push(&mut self, b: &[u8]) -> &mut Line {
        // Room for the newline is kept.
        let room = self.buf.len().saturating_sub(1).saturating_sub(self.len);
        let n = b.len().min(room);
        if let (Some(dst), Some(src)) = (self.buf.get_mut(self.len..self.len + n), b.get(..n)) {
            dst.copy_from_slice(src);
            self.len += n;
        }
        self
    }

    fn int(&mut self, v: i64) -> &mut Line {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        let mut n = v.unsigned_abs();
        loop {
            i -= 1;
            if let Some(d) = digits.get_mut(i) {
                *d = b'0' + (n % 10) as u8;
            }
            n /= 10;
            if n == 0 || i == 0 {
                break;
            }
        }
        if v < 0 {
            self.push(b"-");
        }
        self.push(digits.get(i..).unwrap_or(&[]))
    }

    /// "ENOENT (No such file or directory)".
    fn errno(&mut self, e: Errno) -> &mut Line {
        self.push(crate::os::errno_name(e).as_bytes())
            .push(b" (")
            .push(e.desc().as_bytes())
            .push(b")")
    }

    /// The line with its newline (there is always room for it).
    fn finish(&mut self) -> &[u8] {
        if let Some(nl) = self.buf.get_mut(self.len) {
            *nl = b'\n';
            self.len += 1;
        }
        self.buf.get(..self.len).unwrap_or(&[])
    }

    fn send(&mut self) {
        let text = self.finish();
        let mut at = 0;
        while at < text.len() {
            let rest = text.get(at..).unwrap_or(&[]);
            // SAFETY: a write of our own buffer to fd 2.
            match unsafe { sys!(libc::SYS_write, 2, rest.as_ptr(), rest.len()) } {
                Ok(0) => return,
                Ok(n) => at += n,
                Err(Errno::EINTR) => {}
                Err(_) => return,
            }
        }
    }
}

fn say(line: &str) {
    Line::new().push(line.as_bytes()).send();
}

fn errno_text(e: Errno) -> String {
    format!("{} ({})", crate::os::errno_name(e), e.desc())
}

/// Init failed before or around the command: say what and exit 125.
fn fail(what: &str, e: Errno) -> ! {
    say(&format!("{what}: {}", errno_text(e)));
    std::process::exit(EXIT_INIT_FAILED)
}

// Signal masks and dispositions go through the raw system calls, over the
// kernel's 64 signals: glibc's wrappers leave out the two real-time signals
// it reserves (32 and 33), which a command must not inherit ignored and
// which init forwards like any other. Everything below also runs in the
// interpreter's memory (the built-in init), where no libc wrapper may run:
// each of them writes errno, a thread-local of the interpreter's.

/// Every signal (the kernel drops SIGKILL and SIGSTOP from a mask itself).
const ALL: u64 = !0;
/// The kernel's sigset_t: 64 signals, 8 bytes.
const SIGSET_SIZE: usize = 8;

/// rt_sigprocmask(SIG_SETMASK, mask).
fn set_mask(mask: u64) -> Result<(), Errno> {
    sys::sigprocmask(libc::SIG_SETMASK, mask).map(drop)
}

/// rt_sigtimedwait on every signal, without a timeout: the next pending
/// one (they are all blocked), taken off the queue.
fn next_signal() -> Result<c_int, Errno> {
    let all = ALL;
    // The kernel's siginfo_t: 128 bytes.
    let mut info = [0u64; 16];
    // SAFETY: valid set and buffer; a null timeout waits as long as needed.
    unsafe {
        sys!(
            libc::SYS_rt_sigtimedwait,
            &all as *const u64,
            info.as_mut_ptr(),
            0,
            SIGSET_SIZE
        )
    }
    .map(|s| s as c_int)
}

/// Every signal but SIGKILL and SIGSTOP back to SIG_DFL. A handler is
/// reset by execve anyway; SIG_IGN is not, and may come from whoever
/// started init. The signal that failed, with the errno.
fn default_dispositions() -> Result<(), (c_int, Errno)> {
    for sig in 1..=LAST_SIGNAL {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            sys::sig_default(sig).map_err(|e| (sig, e))?;
        }
    }
    Ok(())
}

/// The foreground process group of the terminal on fd 0, when fd 0 is a
/// terminal (TIOCGPGRP: tcgetpgrp(3)); 0 when that group is outside this
/// pid namespace.
fn terminal_group() -> Option<pid_t> {
    let mut pgrp: pid_t = 0;
    // SAFETY: TIOCGPGRP writes one pid_t.
    unsafe { sys!(libc::SYS_ioctl, 0, libc::TIOCGPGRP, &mut pgrp as *mut pid_t) }
        .ok()
        .map(|_| pgrp)
}

/// tcsetpgrp(0, pgrp).
fn set_terminal_group(pgrp: pid_t) -> Result<(), Errno> {
    // SAFETY: TIOCSPGRP reads one pid_t.
    unsafe { sys!(libc::SYS_ioctl, 0, libc::TIOCSPGRP, &pgrp as *const pid_t) }.map(drop)
}

fn getpid() -> pid_t {
    // SAFETY: getpid takes nothing.
    unsafe { sys!(libc::SYS_getpid) }.map_or(-1, |p| p as pid_t)
}

/// setpgid(pid, pgid).
fn setpgid(pid: pid_t, pgid: pid_t) -> Result<(), Errno> {
    // SAFETY: plain setpgid(2).
    unsafe { sys!(libc::SYS_setpgid, pid, pgid) }.map(drop)
}

/// Becomes a child subreaper when not the first process of a pid
/// namespace: orphans would go to the namespace's real init, not to us.
fn reaper_of_orphans() -> Result<(), Errno> {
    if getpid() == 1 {
        return Ok(());
    }
    // SAFETY: plain prctl on this process.
    unsafe { sys!(libc::SYS_prctl, libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }.map(drop)
}

/// The command's side of a clean start, before its execve: default
/// dispositions, a process group of its own and, when stdin is a terminal,
/// that group in the foreground. A process of a background group that
/// calls tcsetpgrp gets SIGTTOU, which is still blocked here, so the call
/// goes through; ENOTTY: stdin is a terminal, but not this session's. The
/// caller empties the signal mask last. On failure, the call that failed.
fn clean_start() -> Result<(), (&'static str, Option<c_int>, Errno)> {
    default_dispositions().map_err(|(sig, e)| ("rt_sigaction(SIG_DFL)", Some(sig), e))?;
    setpgid(0, 0).map_err(|e| ("setpgid(0, 0)", None, e))?;
    if terminal_group().is_some() {
        match set_terminal_group(getpid()) {
            Ok(()) | Err(Errno::ENOTTY) => {}
            Err(e) => return Err(("tcsetpgrp(0, getpid())", None, e)),
        }
    }
    Ok(())
}

/// Says which call of `clean_start` failed.
fn say_start_failed((call, sig, e): (&'static str, Option<c_int>, Errno)) {
    let mut l = Line::new();
    l.push(call.as_bytes());
    if let Some(sig) = sig {
        l.push(b" of signal ").int(sig as i64);
    }
    l.push(b": ").errno(e).send();
}

/// Runs init as its own program (`nsscript-init`): never returns.
///
/// # Safety
///
/// `argv` must be the C runtime's argument vector: `argc` valid C strings
/// followed by a NULL pointer (as `main` receives them).
pub unsafe fn main(argc: c_int, argv: *const *const c_char) -> ! {
    // First of all, before a signal can take its default action on us:
    // every signal blocked. Blocked signals are queued (even for PID 1, which
    // would otherwise drop those it has no handler for) until sigtimedwait.
    if let Err(e) = set_mask(ALL) {
        fail("rt_sigprocmask(SIG_SETMASK, all)", e);
    }

    let n = argc.max(0) as usize;
    let args: Vec<&[u8]> = (1..n)
        .map(|i| {
            let p = *argv.add(i);
            if p.is_null() {
                &[][..]
            } else {
                CStr::from_ptr(p).to_bytes()
            }
        })
        .collect();
    let (pgroup, at) = match parse(&args) {
        Parsed::Run { pgroup, at } => (pgroup, at + 1),
        Parsed::Help => {
            print!("{USAGE}");
            std::process::exit(0)
        }
        Parsed::Usage(why) => {
            say(&why);
            eprint!("{USAGE}");
            std::process::exit(EXIT_INIT_FAILED)
        }
    };

    if let Err(e) = reaper_of_orphans() {
        fail("prctl(PR_SET_CHILD_SUBREAPER)", e);
    }
    // The terminal's foreground group now, to give it back at the end.
    let foreground = terminal_group();

    let child = libc::fork();
    if child < 0 {
        fail("fork", Errno::last());
    }
    if child == 0 {
        run_command(*argv.add(at), argv.add(at));
    }
    let code = parent_of(child, pgroup, foreground);
    std::process::exit(code)
}

/// Init's part once the command is its child: the command's group from
/// this side too, then the supervision, then the terminal back to the
/// group that had it. Returns init's exit code.
fn parent_of(child: pid_t, pgroup: bool, foreground: Option<pid_t>) -> i32 {
    // So that a signal forwarded to the group right away finds it.
    // EACCES: the child has already exec'd (after its own setpgid); ESRCH:
    // it is already gone. Both leave nothing to do.
    match setpgid(child, child) {
        Ok(()) | Err(Errno::EACCES) | Err(Errno::ESRCH) => {}
        Err(e) => {
            let mut l = Line::new();
            l.push(b"setpgid(").int(child as i64).push(b", ");
            l.int(child as i64).push(b"): ").errno(e).send();
        }
    }
    let code = supervise(child, pgroup);
    // Give the terminal back, if the command's group still has it
    // (SIGTTOU is blocked, so a background init may). 0: the group that
    // had it is outside this pid namespace, where nsscript takes it back.
    if let Some(fg) = foreground.filter(|g| *g > 0) {
        if terminal_group() == Some(child) {
            let _ = set_terminal_group(fg);
        }
    }
    code
}

/// In the forked child of `nsscript-init`: a clean start for the command,
/// then execvp.
///
/// # Safety
///
/// `prog` and `argv` must be the command's NULL-terminated argument vector.
unsafe fn run_command(prog: *const c_char, argv: *const *const c_char) -> ! {
    if let Err(f) = clean_start() {
        say_start_failed(f);
        libc::_exit(EXIT_INIT_FAILED);
    }
    if let Err(e) = set_mask(0) {
        Line::new()
            .push(b"rt_sigprocmask(SIG_SETMASK, none): ")
            .errno(e)
            .send();
        libc::_exit(EXIT_INIT_FAILED);
    }
    libc::execvp(prog, argv);
    let e = Errno::last();
    let name = CStr::from_ptr(prog).to_bytes();
    let e = not_found(name, e, path_candidates(name).iter().map(|c| c.as_c_str()));
    Line::new()
        .push(b"cannot run ")
        .push(name)
        .push(b": ")
        .errno(e)
        .send();
    libc::_exit(exec_failure_code(e))
}

/// execvp's errno for a name looked up in PATH is EACCES as soon as one
/// attempt met EACCES, which includes a PATH folder this user may not
/// search. When none of the `candidates` (each PATH folder joined with the
/// name) is visibly a file, the program is not found (ENOENT), as a shell
/// says; a name with a slash is not looked up. Raw newfstatat(2): the
/// built-in init calls this in the interpreter's memory.
fn not_found<'a>(name: &[u8], e: Errno, candidates: impl IntoIterator<Item = &'a CStr>) -> Errno {
    if e != Errno::EACCES || name.contains(&b'/') {
        return e;
    }
    let found = candidates.into_iter().any(|c| {
        // SAFETY: all zeroes is a valid struct stat, filled in below.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: a C string and a struct stat, both alive for the call.
        let r = unsafe {
            sys!(
                libc::SYS_newfstatat,
                libc::AT_FDCWD,
                c.as_ptr(),
                &mut st as *mut libc::stat,
                0
            )
        };
        r.is_ok() && st.st_mode & libc::S_IFMT != libc::S_IFDIR
    });
    if found {
        e
    } else {
        Errno::ENOENT
    }
}

/// The candidates execvp tries for `name`: each folder of PATH (the
/// current one for an empty entry) joined with it.
fn path_candidates(name: &[u8]) -> Vec<std::ffi::CString> {
    use std::os::unix::ffi::OsStringExt;
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/bin:/usr/bin".into());
    std::env::split_paths(&path)
        .filter_map(|dir| {
            let dir = if dir.as_os_str().is_empty() {
                std::path::PathBuf::from(".")
            } else {
                dir
            };
            let file = dir.join(std::ffi::OsStr::from_bytes(name));
            std::ffi::CString::new(file.into_os_string().into_vec()).ok()
        })
        .collect()
}

/// Waits for signals: forwards them, reaps on SIGCHLD, and returns the
/// command's exit code once it has been reaped (125 if init cannot wait
/// for signals any more).
fn supervise(child: pid_t, pgroup: bool) -> i32 {
    let target = if pgroup { -child } else { child };
    loop {
        let sig = match next_signal() {
            Ok(sig) => sig,
            Err(Errno::EINTR) => continue,
            Err(e) => {
                Line::new().push(b"rt_sigtimedwait: ").errno(e).send();
                return EXIT_INIT_FAILED;
            }
        };
        if sig == libc::SIGCHLD {
            if let Some(code) = reap(child) {
                return code;
            }
        } else if !SYNCHRONOUS.contains(&sig) {
            // SAFETY: plain kill(2).
            match unsafe { sys!(libc::SYS_kill, target, sig) } {
                // ESRCH: the command is gone and its SIGCHLD is on its way.
                Ok(_) | Err(Errno::ESRCH) => {}
                Err(e) => {
                    let mut l = Line::new();
                    l.push(b"forwarding signal ").int(sig as i64).push(b" to ");
                    l.int(target as i64).push(b": ").errno(e).send();
                }
            }
        }
    }
}

/// Reaps every child that has ended (SIGCHLD signals merge: one may stand
/// for many). Returns the command's exit code if it was among them.
fn reap(child: pid_t) -> Option<i32> {
    let mut code = None;
    loop {
        let mut status: c_int = 0;
        // SAFETY: wait4 with a valid status pointer and no rusage.
        let r = unsafe {
            sys!(
                libc::SYS_wait4,
                -1i32,
                &mut status as *mut c_int,
                libc::WNOHANG,
                0
            )
        };
        match r {
            // 0: children left, none ended; ECHILD: none left.
            Ok(0) | Err(Errno::ECHILD) => return code,
            Err(Errno::EINTR) => {}
            Err(_) => return code,
            Ok(pid) if pid as pid_t == child => code = Some(exit_code(status)),
            Ok(_) => {}
        }
    }
}

// The built-in init: spawn's `init: true`.
//
// The child a spawn clones runs its setup in the interpreter's memory
// (CLONE_VM, process::spawn). With an init it does not execve at the end:
// it stays, as PID 1 of the new pid namespace, and starts the command as
// its own child with CLONE_VM|CLONE_VFORK on a stack in its own frame
// (what posix_spawn does): no second program to load, no copy of anything.
// The command gets the clean start above and execs the program the plan
// rendered; init waits for that (the vfork), reports, closes every fd but
// the standard three (the report pipe among them: its EOF tells nsscript
// the setup is done, after which nsscript may free the plan), and from
// then on touches nothing but its own stack and the kernel.
//
// Living in the interpreter's memory has two consequences. /proc/1/cmdline
// reads nsscript's own command line (the arguments live in the shared
// memory; /proc/1/comm says nsscript-init). And nothing here may allocate
// or call libc: the same rules as for the setup (os::sys).

/// What the command needs: the plan (its program), where to report, and
/// where to leave the errno of a failed exec for init.
struct Command<'a> {
    plan: &'a Plan,
    exec_op: u16,
    sink: &'a dyn Sink,
    failed: &'a Cell<i32>,
}

/// The command's stack, in init's frame: the command runs on it only
/// until its execve (init is suspended meanwhile: CLONE_VFORK). It needs
/// little: a few calls, a line of text, a struct stat.
#[repr(C, align(16))]
struct CommandStack([u8; COMMAND_STACK]);

/// Bytes of the command's stack (also shown in the trace).
pub(crate) const COMMAND_STACK: usize = 16 * 1024;

/// PID 1 of a spawn's pid namespace, in place of the plan's execve: starts
/// the command as its child and supervises it. `op` is the plan's
/// InitClone. Returns the exit code to end with (the command's, as
/// `nsscript-init` gives it), or the errno of op `op` when the command
/// could not be started at all (the plan walk reports it).
///
/// Never inlined: its frame holds the command's stack, which the plan walk
/// of every other spawn must not carry (each page of a frame is touched
/// on entry).
#[inline(never)]
pub(super) fn pid1(plan: &Plan, op: u16, who: Who, sink: &dyn Sink) -> Result<i32, Errno> {
    let pgroup = plan.init.is_some_and(|i| i.pgroup);
    // Blocked since the clone; all of them stay so (see the module docs).
    set_mask(ALL)?;
    // The name ps shows without the command line, and top shows.
    // SAFETY: PR_SET_NAME reads a C string of up to 16 bytes.
    let _ = unsafe {
        sys!(
            libc::SYS_prctl,
            libc::PR_SET_NAME,
            c"nsscript-init".as_ptr(),
            0,
            0,
            0
        )
    };
    reaper_of_orphans()?;
    let foreground = terminal_group();

    let failed = Cell::new(0);
    let command = Command {
        plan,
        exec_op: op.wrapping_add(1),
        sink,
        failed: &failed,
    };
    let mut stack = std::mem::MaybeUninit::<CommandStack>::uninit();
    let (child, shared) = start_command(&command, &mut stack)?;
    if plan.trace {
        sink.send(Record::Did {
            who,
            op,
            value: child as i64,
        });
        // Only a command in this memory could tell how its exec went.
        if shared && failed.get() == 0 {
            sink.send(Record::Did {
                who: Who::Command,
                op: command.exec_op,
                value: 0,
            });
        }
    }
    // Done with the plan: close everything but stdin, stdout and stderr.
    close_from(3);
    Ok(parent_of(child, pgroup, foreground))
}

/// Closes every fd from `first` up: close_range(2), or one by one where
/// the kernel has none (before Linux 5.9).
fn close_from(first: u32) {
    // SAFETY: closing our own fds.
    if unsafe { sys!(libc::SYS_close_range, first, u32::MAX, 0) } == Err(Errno::ENOSYS) {
        for fd in first..4096 {
            // SAFETY: as above; EBADF for the ones not open.
            let _ = unsafe { sys!(libc::SYS_close, fd) };
        }
    }
}

/// Starts the command: in this memory on `stack` with CLONE_VFORK where
/// the spawn shares memory (returns once it has exec'd or given up), as a
/// copy elsewhere. The pid, and whether it shared this memory.
fn start_command(
    command: &Command,
    stack: &mut std::mem::MaybeUninit<CommandStack>,
) -> Result<(pid_t, bool), Errno> {
    let mut args = sys::CloneArgs {
        flags: COMMAND_CLONE_FLAGS,
        exit_signal: libc::SIGCHLD as u64,
        ..Default::default()
    };
    #[cfg(target_arch = "x86_64")]
    if sys::has_clone3() {
        args.stack = stack.as_mut_ptr() as u64;
        args.stack_size = std::mem::size_of::<CommandStack>() as u64;
        // SAFETY: the stack is ours and unused while we are suspended
        // (CLONE_VFORK) until the command has exec'd or exited; the command
        // only reads `command` and writes its `failed` cell.
        let pid = unsafe {
            sys::clone3_on_stack(
                &mut args,
                command_entry,
                command as *const Command as *mut libc::c_void,
            )
        }?;
        return Ok((pid, true));
    }
    let _ = stack;
    args.flags &= !(libc::CLONE_VM as u64);
    // A copy of a copy (the spawn cloned one too): fork semantics are safe.
    let pid = match sys::has_clone3() {
        // SAFETY: this process is single-threaded; no CLONE_VM.
        true => unsafe { sys::clone3_fork(&mut args) }?,
        // SAFETY: clone(2) with a null stack behaves like vfork here.
        false => unsafe {
            sys!(
                libc::SYS_clone,
                libc::CLONE_VFORK | libc::SIGCHLD,
                0,
                0,
                0,
                0
            )
        }? as pid_t,
    };
    if pid == 0 {
        let code = command_main(command);
        // SAFETY: leaving the copy.
        unsafe { libc::_exit(code) }
    }
    Ok((pid, false))
}

/// The flags the command is cloned with (for the trace as well).
pub(crate) const COMMAND_CLONE_FLAGS: u64 = (libc::CLONE_VM | libc::CLONE_VFORK) as u64;

extern "C" fn command_entry(arg: *mut libc::c_void) -> c_int {
    // SAFETY: init passed a Command that lives until we exec or exit.
    let command = unsafe { &*(arg as *const Command) };
    command_main(command)
}

/// The command: a clean start, then the program as the plan rendered it
/// (PATH candidates, argv, envp). Returns only when it cannot run: 127 or
/// 126, after one line on stderr, as `nsscript-init` does.
fn command_main(c: &Command) -> c_int {
    if let Err(f) = clean_start() {
        say_start_failed(f);
        c.failed.set(libc::EINVAL);
        return EXIT_INIT_FAILED;
    }
    if let Err(e) = set_mask(0) {
        Line::new()
            .push(b"rt_sigprocmask(SIG_SETMASK, none): ")
            .errno(e)
            .send();
        c.failed.set(e as i32);
        return EXIT_INIT_FAILED;
    }
    let (_, e) = super::child::exec(c.plan, Who::Command, c.exec_op, c.sink);
    let program = c.plan.program.as_ref();
    let name = program
        .and_then(|p| p.argv.first())
        .map_or(&b""[..], |a| a.to_bytes());
    let candidates = program.map_or(&[][..], |p| &p.candidates[..]);
    let e = not_found(name, e, candidates.iter().map(|c| c.as_c_str()));
    c.failed.set(e as i32);
    Line::new()
        .push(b"cannot run ")
        .push(name)
        .push(b": ")
        .errno(e)
        .send();
    exec_failure_code(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_is_the_basename_exactly() {
        assert!(is_init_name(b"nsscript-init"));
        assert!(is_init_name(b"/tmp/x/nsscript-init"));
        assert!(is_init_name(b"./nsscript-init"));
        assert!(!is_init_name(b"nsscript"));
        assert!(!is_init_name(b"/usr/bin/nsscript"));
        assert!(!is_init_name(b"nsscript-init2"));
        assert!(!is_init_name(b"xnsscript-init"));
        assert!(!is_init_name(b"nsscript-init/"));
        assert!(!is_init_name(b""));
    }

    #[test]
    fn options_then_the_program() {
        let p = |a: &[&str]| parse(&a.iter().map(|s| s.as_bytes()).collect::<Vec<_>>());
        assert_eq!(
            p(&["sh", "-c", "x"]),
            Parsed::Run {
                pgroup: false,
                at: 0
            }
        );
        assert_eq!(
            p(&["--pgroup", "sleep", "1"]),
            Parsed::Run {
                pgroup: true,
                at: 1
            }
        );
        assert_eq!(
            p(&["--pgroup", "--", "-weird"]),
            Parsed::Run {
                pgroup: true,
                at: 2
            }
        );
        // Options of the program are the program's.
        assert_eq!(
            p(&["ls", "--pgroup"]),
            Parsed::Run {
                pgroup: false,
                at: 0
            }
        );
        assert_eq!(p(&["--help"]), Parsed::Help);
        assert!(matches!(p(&[]), Parsed::Usage(_)));
        assert!(matches!(p(&["--pgroup"]), Parsed::Usage(_)));
        assert!(matches!(p(&["--"]), Parsed::Usage(_)));
        assert!(matches!(p(&["--bogus", "x"]), Parsed::Usage(m) if m.contains("--bogus")));
    }

    #[test]
    fn a_line_is_built_in_place_and_cut_to_fit() {
        let mut l = Line::new();
        l.push(b"signal ").int(15).push(b" to ").int(-42).push(b" ");
        l.int(0)
            .push(b" ")
            .int(i64::MIN)
            .push(b": ")
            .errno(Errno::ESRCH);
        assert_eq!(
            std::str::from_utf8(l.finish()),
            Ok("nsscript-init: signal 15 to -42 0 -9223372036854775808: ESRCH (No such process)\n")
        );
        let mut long = Line::new();
        long.push(&[b'x'; 600]);
        let text = long.finish();
        assert_eq!(text.len(), 512);
        assert!(text.starts_with(b"nsscript-init: xxx") && text.ends_with(b"xx\n"));
    }

    #[test]
    fn statuses_as_a_shell_reports_them() {
        assert_eq!(exit_code(0), 0);
        assert_eq!(exit_code(255 << 8), 255);
        assert_eq!(exit_code(libc::SIGTERM), 143);
        assert_eq!(exit_code(libc::SIGKILL | 0x80), 137);
        assert_eq!(exec_failure_code(Errno::ENOENT), 127);
        assert_eq!(exec_failure_code(Errno::EACCES), 126);
        assert_eq!(exec_failure_code(Errno::ENOEXEC), 126);
    }
}
