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

use libc::{c_char, c_int, pid_t};
use nix::errno::Errno;
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

/// One line on stderr, in a single write (init and its child may both
/// write; a line must not be split).
fn say(line: &str) {
    let text = format!("{NAME}: {line}\n");
    let mut rest = text.as_bytes();
    while !rest.is_empty() {
        // SAFETY: writing a live buffer to fd 2.
        let n = unsafe { libc::write(2, rest.as_ptr().cast(), rest.len()) };
        if n <= 0 {
            if n < 0 && Errno::last() == Errno::EINTR {
                continue;
            }
            return;
        }
        rest = &rest[n as usize..];
    }
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
// which init forwards like any other.

/// Every signal (the kernel drops SIGKILL and SIGSTOP from a mask itself).
const ALL: u64 = !0;
/// The kernel's sigset_t: 64 signals, 8 bytes.
const SIGSET_SIZE: usize = 8;

fn sys_result(r: libc::c_long) -> Result<libc::c_long, Errno> {
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(r)
    }
}

/// rt_sigprocmask(SIG_SETMASK, mask).
fn set_mask(mask: u64) -> Result<(), Errno> {
    // SAFETY: an 8-byte set in, no old set out.
    sys_result(unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &mask as *const u64,
            std::ptr::null_mut::<u64>(),
            SIGSET_SIZE,
        )
    })
    .map(drop)
}

/// rt_sigtimedwait on every signal, without a timeout: the next pending
/// one (they are all blocked), taken off the queue.
fn next_signal() -> Result<c_int, Errno> {
    let all = ALL;
    // SAFETY: a zeroed siginfo_t is a valid output buffer.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: valid set and buffer; a null timeout waits as long as needed.
    sys_result(unsafe {
        libc::syscall(
            libc::SYS_rt_sigtimedwait,
            &all as *const u64,
            &mut info as *mut libc::siginfo_t,
            std::ptr::null::<libc::timespec>(),
            SIGSET_SIZE,
        )
    })
    .map(|s| s as c_int)
}

/// rt_sigaction(sig, SIG_DFL). The kernel's struct sigaction is handler,
/// flags, restorer and mask on x86_64 and aarch64: all zero is SIG_DFL with
/// no flags and an empty mask.
fn default_disposition(sig: c_int) -> Result<(), Errno> {
    let act = [0u64; 4];
    // SAFETY: a zeroed kernel sigaction in, no old action out.
    sys_result(unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            sig,
            act.as_ptr(),
            std::ptr::null_mut::<u64>(),
            SIGSET_SIZE,
        )
    })
    .map(drop)
}

/// Runs init: never returns.
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

    // Not the first process of a pid namespace: orphans would go to the
    // namespace's real init, not to us. A child subreaper gets them.
    if libc::getpid() != 1
        && libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) < 0
    {
        fail("prctl(PR_SET_CHILD_SUBREAPER)", Errno::last());
    }

    // The terminal's foreground group now, to give it back at the end
    // (0 or -1: no terminal, or a group outside this pid namespace).
    let foreground = if libc::isatty(0) == 1 {
        libc::tcgetpgrp(0)
    } else {
        -1
    };

    let child = libc::fork();
    if child < 0 {
        fail("fork", Errno::last());
    }
    if child == 0 {
        run_command(*argv.add(at), argv.add(at));
    }
    // Also from this side, so that a signal forwarded to the group right
    // away finds it. EACCES: the child has already exec'd (after its own
    // setpgid); ESRCH: it is already gone. Both leave nothing to do.
    if libc::setpgid(child, child) < 0 {
        let e = Errno::last();
        if e != Errno::EACCES && e != Errno::ESRCH {
            say(&format!("setpgid({child}, {child}): {}", errno_text(e)));
        }
    }

    let code = supervise(child, pgroup);

    // Give the terminal back to the group that had it, if the command's
    // group still has it (SIGTTOU is blocked, so a background init may).
    if foreground > 0 && libc::tcgetpgrp(0) == child {
        libc::tcsetpgrp(0, foreground);
    }
    std::process::exit(code)
}

/// In the forked child: a clean start for the command, then execvp.
///
/// # Safety
///
/// `prog` and `argv` must be the command's NULL-terminated argument vector.
unsafe fn run_command(prog: *const c_char, argv: *const *const c_char) -> ! {
    // Dispositions back to the default. A handler is reset by execve anyway;
    // SIG_IGN is not, and may come from whoever started init.
    for sig in 1..=LAST_SIGNAL {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            if let Err(e) = default_disposition(sig) {
                say(&format!("rt_sigaction({sig}, SIG_DFL): {}", errno_text(e)));
                libc::_exit(EXIT_INIT_FAILED);
            }
        }
    }
    if libc::setpgid(0, 0) < 0 {
        say(&format!("setpgid(0, 0): {}", errno_text(Errno::last())));
        libc::_exit(EXIT_INIT_FAILED);
    }
    // The terminal's foreground group: a process of a background group that
    // calls tcsetpgrp gets SIGTTOU, which is still blocked here, so the call
    // goes through. ENOTTY: stdin is a terminal, but not this session's.
    if libc::isatty(0) == 1 && libc::tcsetpgrp(0, libc::getpid()) < 0 {
        let e = Errno::last();
        if e != Errno::ENOTTY {
            say(&format!(
                "tcsetpgrp(0, {}): {}",
                libc::getpid(),
                errno_text(e)
            ));
            libc::_exit(EXIT_INIT_FAILED);
        }
    }
    if let Err(e) = set_mask(0) {
        say(&format!(
            "rt_sigprocmask(SIG_SETMASK, none): {}",
            errno_text(e)
        ));
        libc::_exit(EXIT_INIT_FAILED);
    }
    libc::execvp(prog, argv);
    let name = CStr::from_ptr(prog).to_bytes();
    let e = not_found_in_path(name, Errno::last());
    say(&format!(
        "cannot run {}: {}",
        String::from_utf8_lossy(name),
        errno_text(e)
    ));
    libc::_exit(exec_failure_code(e))
}

/// execvp's errno for a name looked up in PATH is EACCES as soon as one
/// attempt met EACCES, which includes a PATH folder this user may not
/// search. When no PATH folder visibly holds the name, the program is not
/// found (ENOENT), as a shell says; a name with a slash is not looked up.
fn not_found_in_path(name: &[u8], e: Errno) -> Errno {
    if e != Errno::EACCES || name.contains(&b'/') {
        return e;
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/bin:/usr/bin".into());
    let found = std::env::split_paths(&path).any(|dir| {
        let dir = if dir.as_os_str().is_empty() {
            std::path::PathBuf::from(".")
        } else {
            dir
        };
        let file = dir.join(std::ffi::OsStr::from_bytes(name));
        std::fs::metadata(file).is_ok_and(|m| !m.is_dir())
    });
    if found {
        e
    } else {
        Errno::ENOENT
    }
}

/// Waits for signals: forwards them, reaps on SIGCHLD, and returns the
/// command's exit code once it has been reaped.
fn supervise(child: pid_t, pgroup: bool) -> i32 {
    let target = if pgroup { -child } else { child };
    loop {
        let sig = match next_signal() {
            Ok(sig) => sig,
            Err(Errno::EINTR) => continue,
            Err(e) => fail("rt_sigtimedwait", e),
        };
        if sig == libc::SIGCHLD {
            if let Some(code) = reap(child) {
                return code;
            }
        } else if !SYNCHRONOUS.contains(&sig) {
            // SAFETY: plain kill(2).
            if unsafe { libc::kill(target, sig) } < 0 {
                let e = Errno::last();
                // ESRCH: the command is gone and its SIGCHLD is on its way.
                if e != Errno::ESRCH {
                    say(&format!(
                        "forwarding signal {sig} to {target}: {}",
                        errno_text(e)
                    ));
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
        // SAFETY: waitpid with a valid status pointer.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            // 0: children left, none ended; -1: ECHILD, none left.
            return code;
        }
        if pid == child {
            code = Some(exit_code(status));
        }
    }
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
