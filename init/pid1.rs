//! `nsscript-init`: a minimal PID 1 for a new pid namespace, in front of
//! the command a container runs (what tini and catatonit do). It is a
//! program of its own: a static executable without libc, built from
//! init/ and carried inside the nsscript binary, which runs it from a
//! sealed memfd (os::process::init). Only `core` is used here, so the
//! nsscript crate compiles this file too, for its tests and for the
//! constants both sides must agree on.
//!
//! ```text
//! nsscript-init [--pgroup] [--] PROG [ARGS...]
//! ```
//!
//! Why a pid namespace needs one (pid_namespaces(7)):
//! - The first process of a pid namespace is its init: orphans of the
//!   namespace are re-parented to it, and only it can reap them. A command
//!   that never calls wait() on children it did not start lets zombies pile
//!   up; init reaps every child (`wait4(-1, WNOHANG)` on each SIGCHLD).
//! - The kernel protects a namespace's init: a signal sent from inside the
//!   namespace is dropped unless init has a handler for it, and SIGKILL or
//!   SIGSTOP from inside never reach it. A command that relies on its
//!   default dispositions (most do: `docker stop` sends SIGTERM) would
//!   ignore them as PID 1. So init runs the command as its child and keeps
//!   every signal blocked: a blocked signal is queued even for PID 1, init
//!   takes it with sigtimedwait() and forwards it (kill) to the command, or
//!   to its process group with `--pgroup`. SIGCHLD is init's own business.
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
//! reaped. The command is cloned with CLONE_VM|CLONE_VFORK on a stack of
//! init's own (init's memory is this small program's, nobody else's), and
//! the program is found as execvp(3) finds it: each folder of PATH (of the
//! environment init was given), `/usr/local/sbin:/usr/local/bin:/usr/sbin:
//! /usr/bin:/sbin:/bin` without one. A name that no PATH folder visibly
//! holds is "not found", also when one of the folders could not be
//! searched (execve says EACCES then).
//!
//! Run outside a new pid namespace (not as pid 1), init makes itself a
//! child subreaper (PR_SET_CHILD_SUBREAPER), so orphans of the command
//! still come to it and are reaped.
//!
//! Exit status: the command's exit status n as n, and a death by signal s
//! as 128+s. Init's own exit codes follow the shell and `env`/`timeout`:
//! 127 when PROG is not found, 126 when it is found but cannot be executed
//! (each with one line on stderr naming PROG and the errno), and 125 when
//! init itself fails (a usage error, the clone, the process group): the
//! codes a command rarely uses for itself.
//!
//! Started by nsscript's spawn (`init: true`), init also gets
//! `--setup REPORT,HOLD,WHO,OP,TRACE`: the spawn's report pipe, to which it
//! sends the same 16-byte records as the rest of the setup (os::setup::wire)
//! — its own exec, its clone of the command, and the command's exec or the
//! reason it failed, instead of a line on stderr — then closes it; with
//! tracing, it then waits for EOF on HOLD before it reaps anything, so that
//! nsscript can still find the command among its children by its pid on
//! the host.

use super::raw;
use core::ffi::c_void;

/// The name ps shows, and the one that selects this mode in nsscript.
pub const NAME: &[u8] = b"nsscript-init";

/// Init itself failed: usage, clone, process group, signal set-up.
pub const EXIT_INIT_FAILED: i32 = 125;
/// PROG was found but could not be executed (EACCES, ENOEXEC...).
pub const EXIT_CANNOT_EXECUTE: i32 = 126;
/// PROG was not found.
pub const EXIT_NOT_FOUND: i32 = 127;

/// The PATH of a program that has none (the OCI default).
pub const DEFAULT_PATH: &[u8] = b"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The flags the command is cloned with (posix_spawn's).
pub const COMMAND_CLONE_FLAGS: u64 = (nr::CLONE_VM | nr::CLONE_VFORK) as u64;
/// Bytes of the command's stack: it runs on it only until its execve, and
/// needs little (a few calls, a path, a struct stat, a line of text).
pub const COMMAND_STACK: usize = 32 * 1024;

pub const USAGE: &[u8] = b"\
usage: nsscript-init [--pgroup] [--] PROG [ARGS...]

Runs PROG as the only child of a minimal init (PID 1 of a new pid namespace):
signals are forwarded to it (to its process group with --pgroup; never SIGCHLD
nor SIGSEGV, SIGILL, SIGFPE, SIGBUS, SIGABRT, SIGTRAP, SIGSYS), orphans are
reaped, and init exits with PROG's status (128+n for a death by signal n) as
soon as PROG has been reaped.
Own exit codes: 127 PROG not found, 126 PROG not executable, 125 init failed.
";

/// The numbers of the kernel's x86_64 ABI that init uses.
pub mod nr {
    pub const READ: i64 = 0;
    pub const WRITE: i64 = 1;
    pub const CLOSE: i64 = 3;
    pub const RT_SIGACTION: i64 = 13;
    pub const RT_SIGPROCMASK: i64 = 14;
    pub const IOCTL: i64 = 16;
    pub const GETPID: i64 = 39;
    pub const EXECVE: i64 = 59;
    pub const WAIT4: i64 = 61;
    pub const KILL: i64 = 62;
    pub const FCNTL: i64 = 72;
    pub const SETPGID: i64 = 109;
    pub const RT_SIGTIMEDWAIT: i64 = 128;
    pub const PRCTL: i64 = 157;
    pub const EXIT_GROUP: i64 = 231;
    pub const NEWFSTATAT: i64 = 262;

    pub const CLONE_VM: i64 = 0x100;
    pub const CLONE_VFORK: i64 = 0x4000;
    pub const SIGCHLD: i32 = 17;
    pub const SIGKILL: i32 = 9;
    pub const SIGSTOP: i32 = 19;
    pub const SIG_SETMASK: i32 = 2;
    pub const WNOHANG: i32 = 1;
    pub const F_SETFD: i32 = 2;
    pub const FD_CLOEXEC: i32 = 1;
    pub const TIOCGPGRP: u64 = 0x540F;
    pub const TIOCSPGRP: u64 = 0x5410;
    pub const PR_SET_DUMPABLE: i32 = 4;
    pub const PR_SET_NAME: i32 = 15;
    pub const PR_SET_CHILD_SUBREAPER: i32 = 36;
    pub const AT_FDCWD: i32 = -100;
    pub const S_IFMT: u32 = 0o170000;
    pub const S_IFDIR: u32 = 0o040000;
    /// Bytes of struct stat, and where st_mode is in it.
    pub const STAT_SIZE: usize = 144;
    pub const STAT_MODE: usize = 24;

    pub const EINTR: i32 = 4;
    pub const ENOENT: i32 = 2;
    pub const ESRCH: i32 = 3;
    pub const ECHILD: i32 = 10;
    pub const EACCES: i32 = 13;
    pub const ENOTDIR: i32 = 20;
    pub const EINVAL: i32 = 22;
    pub const ENOTTY: i32 = 25;
    pub const ENOSYS: i32 = 38;
}

/// A system call's result: the value, or the errno.
pub type Sys = Result<usize, i32>;

/// One system call.
///
/// # Safety
/// As for `raw::syscall6`.
#[inline(always)]
pub unsafe fn sys(n: i64, a: [usize; 6]) -> Sys {
    // SAFETY: forwarded to the caller.
    let r = unsafe { raw::syscall6(n, a) };
    if (-4095..0).contains(&r) {
        Err(-r as i32)
    } else {
        Ok(r as usize)
    }
}

macro_rules! call {
    ($n:expr $(, $a:expr)*) => {{
        let mut a = [0usize; 6];
        let v = [$($a as usize),*];
        let mut i = 0;
        while i < v.len() {
            a[i] = v[i];
            i += 1;
        }
        // SAFETY: the caller passes what system call $n expects.
        unsafe { sys($n, a) }
    }};
}

/// Signals that report a fault of the receiving process itself.
const SYNCHRONOUS: [i32; 7] = [11, 4, 8, 7, 6, 5, 31];

/// The kernel's highest signal number (_NSIG - 1) on Linux.
const LAST_SIGNAL: i32 = 64;
/// Every signal (the kernel drops SIGKILL and SIGSTOP from a mask itself).
const ALL: u64 = !0;

/// A C argument vector, read in place: `count` strings at `ptrs`.
#[derive(Clone, Copy)]
pub struct Args {
    pub ptrs: *const *const u8,
    pub count: usize,
}

impl Args {
    /// Argument `i` without its NUL.
    pub fn get(&self, i: usize) -> Option<&'static [u8]> {
        if i >= self.count {
            return None;
        }
        // SAFETY: the kernel (or the caller) gave `count` valid C strings.
        let p = unsafe { *self.ptrs.add(i) };
        if p.is_null() {
            return None;
        }
        let mut n = 0;
        // SAFETY: as above: NUL-terminated.
        while unsafe { *p.add(n) } != 0 {
            n += 1;
        }
        // SAFETY: the `n` bytes before the NUL.
        Some(unsafe { core::slice::from_raw_parts(p, n) })
    }

    /// The vector from argument `i` on, as execve takes it.
    fn from(&self, i: usize) -> *const *const u8 {
        // SAFETY: within the vector or at its NULL end.
        unsafe { self.ptrs.add(i.min(self.count)) }
    }
}

/// What nsscript's spawn passes with `--setup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setup {
    /// The report pipe's write end.
    pub report: i32,
    /// With tracing: the pipe whose EOF lets init go on; -1 without.
    pub hold: i32,
    /// Which process of the setup init is (os::setup::wire::Who).
    pub who: u8,
    /// The plan's op that executed init; the clone of the command and the
    /// command's exec are the two after it.
    pub op: u16,
    pub trace: bool,
}

/// What the arguments (after argv[0]) ask for.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Run the command starting at argument index `at` (of argv).
    Run {
        pgroup: bool,
        setup: Option<Setup>,
        at: usize,
    },
    Help,
    /// A usage error: what is wrong, and the argument it is about.
    Usage(&'static str, Option<&'static [u8]>),
}

/// Parses `[--pgroup] [--setup R,H,W,O,T] [--] PROG [ARGS...]` from
/// argv[1] on; options stop at the first argument that is not one (or
/// after `--`).
pub fn parse(args: Args) -> Parsed {
    let mut pgroup = false;
    let mut setup = None;
    let mut i = 1;
    while let Some(a) = args.get(i) {
        match a {
            b"--pgroup" => pgroup = true,
            b"-h" | b"--help" => return Parsed::Help,
            b"--setup" => match args.get(i + 1).and_then(parse_setup) {
                Some(s) => {
                    setup = Some(s);
                    i += 1;
                }
                None => return Parsed::Usage("--setup takes REPORT,HOLD,WHO,OP,TRACE", None),
            },
            b"--" => {
                return if args.get(i + 1).is_some() {
                    Parsed::Run {
                        pgroup,
                        setup,
                        at: i + 1,
                    }
                } else {
                    Parsed::Usage("no program given after --", None)
                };
            }
            _ if a.len() > 1 && a.first() == Some(&b'-') => {
                return Parsed::Usage("unknown option", Some(a));
            }
            _ => {
                return Parsed::Run {
                    pgroup,
                    setup,
                    at: i,
                }
            }
        }
        i += 1;
    }
    Parsed::Usage("no program given", None)
}

/// "5,-1,0,42,1": report fd, hold fd, who, op, trace.
fn parse_setup(s: &[u8]) -> Option<Setup> {
    let mut v = [0i64; 5];
    let mut n = 0;
    for part in s.split(|b| *b == b',') {
        *v.get_mut(n)? = number(part)?;
        n += 1;
    }
    let [report, hold, who, op, trace] = v;
    (n == 5 && report >= 0 && who <= 1 && (0..=u16::MAX as i64).contains(&op)).then_some(Setup {
        report: report as i32,
        hold: hold as i32,
        who: who as u8,
        op: op as u16,
        trace: trace != 0,
    })
}

/// A decimal number, optionally negative, that fits an i32.
fn number(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 10 {
        return None;
    }
    let mut v: i64 = 0;
    for d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (d - b'0') as i64;
    }
    let v = if neg { -v } else { v };
    i32::try_from(v).ok().map(i64::from)
}

/// The exit status a shell would report for a `wait4` status: n for
/// exit(n), 128+s for a death by signal s.
pub fn exit_code(status: i32) -> i32 {
    let sig = status & 0x7f;
    if sig == 0 {
        (status >> 8) & 0xff
    } else if sig != 0x7f {
        128 + sig
    } else {
        EXIT_INIT_FAILED
    }
}

/// The exit code for a failed execve of the command: 127 when there is no
/// such program, 126 when there is one that cannot be run (as sh does).
pub fn exec_failure_code(e: i32) -> i32 {
    if e == nr::ENOENT {
        EXIT_NOT_FOUND
    } else {
        EXIT_CANNOT_EXECUTE
    }
}

/// The errnos init can meet, by name and text (the words nsscript uses
/// for them too).
pub const ERRNOS: &[(i32, &str, &str)] = &[
    (1, "EPERM", "Operation not permitted"),
    (2, "ENOENT", "No such file or directory"),
    (3, "ESRCH", "No such process"),
    (4, "EINTR", "Interrupted system call"),
    (5, "EIO", "I/O error"),
    (7, "E2BIG", "Argument list too long"),
    (8, "ENOEXEC", "Exec format error"),
    (9, "EBADF", "Bad file number"),
    (10, "ECHILD", "No child processes"),
    (11, "EAGAIN", "Try again"),
    (12, "ENOMEM", "Out of memory"),
    (13, "EACCES", "Permission denied"),
    (14, "EFAULT", "Bad address"),
    (20, "ENOTDIR", "Not a directory"),
    (21, "EISDIR", "Is a directory"),
    (22, "EINVAL", "Invalid argument"),
    (23, "ENFILE", "File table overflow"),
    (24, "EMFILE", "Too many open files"),
    (25, "ENOTTY", "Not a typewriter"),
    (26, "ETXTBSY", "Text file busy"),
    (36, "ENAMETOOLONG", "File name too long"),
    (38, "ENOSYS", "Function not implemented"),
    (40, "ELOOP", "Too many symbolic links encountered"),
];

/// One line on stderr, `nsscript-init: ` first, built on the stack and
/// sent in a single write (init and its child may both write; a line must
/// not be split). A line longer than the buffer is cut.
pub struct Line {
    buf: [u8; 512],
    len: usize,
}

impl Line {
    pub fn new() -> Line {
        let mut l = Line {
            buf: [0; 512],
            len: 0,
        };
        l.push(NAME).push(b": ");
        l
    }

    pub fn push(&mut self, b: &[u8]) -> &mut Line {
        // Room for the newline is kept.
        let room = self.buf.len().saturating_sub(1).saturating_sub(self.len);
        let n = b.len().min(room);
        if let (Some(dst), Some(src)) = (self.buf.get_mut(self.len..self.len + n), b.get(..n)) {
            dst.copy_from_slice(src);
            self.len += n;
        }
        self
    }

    pub fn int(&mut self, v: i64) -> &mut Line {
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
    pub fn errno(&mut self, e: i32) -> &mut Line {
        match ERRNOS.iter().find(|(n, _, _)| *n == e) {
            Some((_, name, text)) => self
                .push(name.as_bytes())
                .push(b" (")
                .push(text.as_bytes())
                .push(b")"),
            None => self.push(b"errno ").int(e as i64),
        }
    }

    /// The line with its newline (there is always room for it).
    pub fn finish(&mut self) -> &[u8] {
        if let Some(nl) = self.buf.get_mut(self.len) {
            *nl = b'\n';
            self.len += 1;
        }
        self.buf.get(..self.len).unwrap_or(&[])
    }

    pub fn send(&mut self) {
        write_all(2, self.finish());
    }
}

impl Default for Line {
    fn default() -> Line {
        Line::new()
    }
}

fn write_all(fd: i32, mut text: &[u8]) {
    while !text.is_empty() {
        match call!(nr::WRITE, fd, text.as_ptr(), text.len()) {
            Ok(0) => return,
            Ok(n) => text = text.get(n..).unwrap_or(&[]),
            Err(nr::EINTR) => {}
            Err(_) => return,
        }
    }
}

/// A setup record (os::setup::wire): kind, who, op, aux, value.
pub fn record(kind: u8, who: u8, op: u16, aux: u32, value: i64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[0] = kind;
    b[1] = who;
    b[2..4].copy_from_slice(&op.to_le_bytes());
    b[4..8].copy_from_slice(&aux.to_le_bytes());
    b[8..16].copy_from_slice(&value.to_le_bytes());
    b
}

/// The record kinds init sends (os::setup::wire).
pub const DID: u8 = 1;
pub const FAILED: u8 = 2;
pub const EXEC_MISSED: u8 = 3;
/// `Who::Command`.
pub const COMMAND: u8 = 2;

impl Setup {
    /// Sends one record in one write (below PIPE_BUF: never torn).
    fn send(&self, r: [u8; 16]) {
        write_all(self.report, &r);
    }
}

/// rt_sigprocmask(SIG_SETMASK, mask), over all 64 signals (glibc's wrapper
/// leaves out the two real-time signals it reserves, which a command must
/// not inherit blocked).
fn set_mask(mask: u64) -> Sys {
    call!(nr::RT_SIGPROCMASK, nr::SIG_SETMASK, &mask as *const u64, 0, 8)
}

/// rt_sigtimedwait on every signal, without a timeout: the next pending
/// one (they are all blocked), taken off the queue.
fn next_signal() -> Result<i32, i32> {
    let all = ALL;
    // The kernel's siginfo_t: 128 bytes.
    let mut info = [0u64; 16];
    call!(nr::RT_SIGTIMEDWAIT, &all as *const u64, info.as_mut_ptr(), 0, 8).map(|s| s as i32)
}

/// rt_sigaction(sig, SIG_DFL): a zeroed kernel sigaction.
fn sig_default(sig: i32) -> Sys {
    let act = [0u64; 4];
    call!(nr::RT_SIGACTION, sig, act.as_ptr(), 0, 8)
}

/// Every signal but SIGKILL and SIGSTOP back to SIG_DFL. A handler is
/// reset by execve anyway; SIG_IGN is not, and may come from whoever
/// started init. The signal that failed, with the errno.
fn default_dispositions() -> Result<(), (i32, i32)> {
    for sig in 1..=LAST_SIGNAL {
        if sig != nr::SIGKILL && sig != nr::SIGSTOP {
            sig_default(sig).map_err(|e| (sig, e))?;
        }
    }
    Ok(())
}

/// The foreground process group of the terminal on fd 0, when fd 0 is a
/// terminal (tcgetpgrp(3)); 0 when that group is outside this pid
/// namespace.
fn terminal_group() -> Option<i32> {
    let mut pgrp: i32 = 0;
    call!(nr::IOCTL, 0, nr::TIOCGPGRP, &mut pgrp as *mut i32)
        .ok()
        .map(|_| pgrp)
}

/// tcsetpgrp(0, pgrp).
fn set_terminal_group(pgrp: i32) -> Sys {
    call!(nr::IOCTL, 0, nr::TIOCSPGRP, &pgrp as *const i32)
}

fn getpid() -> i32 {
    call!(nr::GETPID).map_or(-1, |p| p as i32)
}

fn setpgid(pid: i32, pgid: i32) -> Sys {
    call!(nr::SETPGID, pid, pgid)
}

fn prctl(option: i32, arg: usize) -> Sys {
    call!(nr::PRCTL, option, arg, 0, 0, 0)
}

fn exit(code: i32) -> ! {
    loop {
        let _ = call!(nr::EXIT_GROUP, code);
    }
}

/// Init failed before or around the command: say what and exit 125.
fn fail(what: &[u8], e: i32) -> ! {
    Line::new().push(what).push(b": ").errno(e).send();
    exit(EXIT_INIT_FAILED)
}

/// Init's whole life: `args` and `env` as execve gave them. Never returns.
pub fn main(args: Args, env: *const *const u8) -> ! {
    // First of all, before a signal can take its default action on us:
    // every signal blocked. Blocked signals are queued (even for PID 1,
    // which would otherwise drop those it has no handler for) until
    // sigtimedwait.
    if let Err(e) = set_mask(ALL) {
        fail(b"rt_sigprocmask(SIG_SETMASK, all)", e);
    }
    let (pgroup, setup, at) = match parse(args) {
        Parsed::Run { pgroup, setup, at } => (pgroup, setup, at),
        Parsed::Help => {
            write_all(1, USAGE);
            exit(0)
        }
        Parsed::Usage(why, arg) => {
            let mut l = Line::new();
            l.push(why.as_bytes());
            if let Some(a) = arg {
                l.push(b" \"").push(a).push(b"\" (put -- before a program whose name starts with -)");
            }
            l.send();
            write_all(2, USAGE);
            exit(EXIT_INIT_FAILED)
        }
    };
    if let Some(s) = &setup {
        // Until the report pipe is closed, nothing but nsscript may reach
        // into init (ptrace, /proc/1/mem) and write to it in init's name.
        let _ = prctl(nr::PR_SET_DUMPABLE, 0);
        // The command must not inherit them; init closes them itself.
        for fd in [s.report, s.hold] {
            if fd >= 0 {
                let _ = call!(nr::FCNTL, fd, nr::F_SETFD, nr::FD_CLOEXEC);
            }
        }
        if s.trace {
            s.send(record(DID, s.who, s.op, 0, 0));
        }
    }
    // Executed from a memfd, the kernel named this process after its fd
    // number: the name ps and top show.
    let _ = prctl(nr::PR_SET_NAME, b"nsscript-init\0".as_ptr() as usize);
    if getpid() != 1 {
        // Not the first process of a pid namespace: orphans would go to
        // the namespace's real init, not to us.
        if let Err(e) = prctl(nr::PR_SET_CHILD_SUBREAPER, 1) {
            fail(b"prctl(PR_SET_CHILD_SUBREAPER)", e);
        }
    }
    // The terminal's foreground group now, to give it back at the end.
    let foreground = terminal_group();
    let command = Command {
        prog: args.get(at).unwrap_or(b""),
        argv: args.from(at),
        env,
        setup,
        failed: core::cell::Cell::new(0),
        candidate: core::cell::Cell::new(0),
    };
    let child = match start(&command) {
        Ok(pid) => pid,
        Err(e) => fail(b"clone3(CLONE_VM|CLONE_VFORK)", e),
    };
    if let Some(s) = &setup {
        report_start(s, child, &command);
    }
    let code = parent_of(child, pgroup, foreground);
    exit(code)
}

/// The spawn's part once the command has exec'd or given up (CLONE_VFORK):
/// init's clone of it, its exec or why it failed; then the report pipe is
/// closed, which tells nsscript the setup is over. With tracing, init
/// waits for EOF on the hold pipe before it may reap the command, so the
/// command is still init's child when nsscript looks it up.
fn report_start(s: &Setup, child: i32, c: &Command) {
    let exec = s.op.wrapping_add(2);
    if s.trace {
        s.send(record(DID, s.who, s.op.wrapping_add(1), 0, child as i64));
    }
    match c.failed.get() {
        0 if s.trace => s.send(record(DID, COMMAND, exec, 0, 0)),
        0 => {}
        e => s.send(record(FAILED, COMMAND, exec, c.candidate.get(), e as i64)),
    }
    let _ = call!(nr::CLOSE, s.report);
    if s.hold >= 0 {
        let mut b = 0u8;
        while let Err(nr::EINTR) = call!(nr::READ, s.hold, &mut b as *mut u8, 1) {}
        let _ = call!(nr::CLOSE, s.hold);
    }
    // Nothing of nsscript's is left here: init is the container's now,
    // as inspectable as any of its processes.
    let _ = prctl(nr::PR_SET_DUMPABLE, 1);
}

/// Init's part once the command is its child: the command's group from
/// this side too, then the supervision, then the terminal back to the
/// group that had it. Returns init's exit code.
fn parent_of(child: i32, pgroup: bool, foreground: Option<i32>) -> i32 {
    // So that a signal forwarded to the group right away finds it.
    // EACCES: the child has already exec'd (after its own setpgid); ESRCH:
    // it is already gone. Both leave nothing to do.
    match setpgid(child, child) {
        Ok(_) | Err(nr::EACCES) | Err(nr::ESRCH) => {}
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

/// Waits for signals: forwards them, reaps on SIGCHLD, and returns the
/// command's exit code once it has been reaped (125 if init cannot wait
/// for signals any more).
fn supervise(child: i32, pgroup: bool) -> i32 {
    let target = if pgroup { -child } else { child };
    loop {
        let sig = match next_signal() {
            Ok(sig) => sig,
            Err(nr::EINTR) => continue,
            Err(e) => {
                Line::new().push(b"rt_sigtimedwait: ").errno(e).send();
                return EXIT_INIT_FAILED;
            }
        };
        if sig == nr::SIGCHLD {
            if let Some(code) = reap(child) {
                return code;
            }
        } else if !SYNCHRONOUS.contains(&sig) {
            match call!(nr::KILL, target, sig) {
                // ESRCH: the command is gone and its SIGCHLD is on its way.
                Ok(_) | Err(nr::ESRCH) => {}
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
fn reap(child: i32) -> Option<i32> {
    let mut code = None;
    loop {
        let mut status: i32 = 0;
        match call!(nr::WAIT4, -1i32, &mut status as *mut i32, nr::WNOHANG, 0) {
            // 0: children left, none ended; ECHILD: none left.
            Ok(0) | Err(nr::ECHILD) => return code,
            Err(nr::EINTR) => {}
            Err(_) => return code,
            Ok(pid) if pid as i32 == child => code = Some(exit_code(status)),
            Ok(_) => {}
        }
    }
}

/// What the command needs, and where it leaves the errno of a failed exec
/// (and the PATH candidate it was about) for init: it runs in init's
/// memory until its execve.
struct Command {
    prog: &'static [u8],
    argv: *const *const u8,
    env: *const *const u8,
    setup: Option<Setup>,
    failed: core::cell::Cell<i32>,
    candidate: core::cell::Cell<u32>,
}

/// The command's stack: it runs there while init is suspended (vfork).
#[repr(C, align(16))]
struct Stack([u8; COMMAND_STACK]);

static mut STACK: Stack = Stack([0; COMMAND_STACK]);

/// Clones the command with CLONE_VM|CLONE_VFORK onto init's stack for it:
/// returns once it has exec'd or given up. clone3 first; clone(2) where a
/// seccomp profile refuses clone3 with ENOSYS (Docker's and podman's
/// default profiles do, so that libc falls back), or the kernel lacks it.
fn start(c: &Command) -> Result<i32, i32> {
    let stack = core::ptr::addr_of_mut!(STACK) as u64;
    let mut args = raw::CloneArgs {
        flags: COMMAND_CLONE_FLAGS,
        exit_signal: nr::SIGCHLD as u64,
        stack,
        stack_size: COMMAND_STACK as u64,
        ..Default::default()
    };
    let arg = c as *const Command as *mut c_void;
    // SAFETY: the stack is init's and unused while init is suspended
    // (CLONE_VFORK) until the command has exec'd or exited; the command
    // only reads `c` and writes its cells.
    let mut r = unsafe { raw::clone3_on_stack(&mut args, command_entry, arg) };
    if r == -(nr::ENOSYS as isize) {
        let flags = COMMAND_CLONE_FLAGS | nr::SIGCHLD as u64;
        // SAFETY: as above; the stack's end is 16-byte aligned.
        r = unsafe { raw::clone_on_stack(flags, stack + COMMAND_STACK as u64, command_entry, arg) };
    }
    if (-4095..0).contains(&r) {
        Err(-r as i32)
    } else {
        Ok(r as i32)
    }
}

extern "C" fn command_entry(arg: *mut c_void) -> core::ffi::c_int {
    // SAFETY: init passed a Command that lives until we exec or exit.
    let c = unsafe { &*(arg as *const Command) };
    command_main(c)
}

/// The command's side of a clean start, before its execve: default
/// dispositions, a process group of its own and, when stdin is a terminal,
/// that group in the foreground. A process of a background group that
/// calls tcsetpgrp gets SIGTTOU, which is still blocked here, so the call
/// goes through; ENOTTY: stdin is a terminal, but not this session's.
fn clean_start() -> Result<(), (&'static [u8], Option<i32>, i32)> {
    default_dispositions().map_err(|(sig, e)| (&b"rt_sigaction(SIG_DFL)"[..], Some(sig), e))?;
    setpgid(0, 0).map_err(|e| (&b"setpgid(0, 0)"[..], None, e))?;
    if terminal_group().is_some() {
        match set_terminal_group(getpid()) {
            Ok(_) | Err(nr::ENOTTY) => {}
            Err(e) => return Err((b"tcsetpgrp(0, getpid())", None, e)),
        }
    }
    Ok(())
}

/// The command: a clean start, then the program, tried in each PATH
/// candidate. Returns only when it cannot run: 127 or 126 (125 when the
/// clean start failed), after a line on stderr or, for a spawn, a record.
fn command_main(c: &Command) -> core::ffi::c_int {
    let started = clean_start().map_err(|(call, sig, e)| {
        let mut l = Line::new();
        l.push(call);
        if let Some(sig) = sig {
            l.push(b" of signal ").int(sig as i64);
        }
        l.push(b": ").errno(e).send();
        e
    });
    if let Err(e) = started.and_then(|_| {
        set_mask(0).map(drop).map_err(|e| {
            Line::new().push(b"rt_sigprocmask(SIG_SETMASK, none): ").errno(e).send();
            e
        })
    }) {
        c.failed.set(e);
        return EXIT_INIT_FAILED;
    }
    let (candidate, e) = exec(c);
    c.failed.set(e);
    c.candidate.set(candidate);
    if c.setup.is_none() {
        Line::new()
            .push(b"cannot run ")
            .push(c.prog)
            .push(b": ")
            .errno(e)
            .send();
    }
    exec_failure_code(e)
}

/// The value of `name` (with its `=`) in an environment vector.
fn getenv(env: *const *const u8, name: &[u8]) -> Option<&'static [u8]> {
    if env.is_null() {
        return None;
    }
    let mut i = 0;
    loop {
        // SAFETY: a NULL-terminated vector of C strings (execve's envp).
        let p = unsafe { *env.add(i) };
        if p.is_null() {
            return None;
        }
        let var = Args { ptrs: &p, count: 1 }.get(0)?;
        if let Some(v) = var.strip_prefix(name) {
            return Some(v);
        }
        i += 1;
    }
}

/// Like execvp(3): tries each PATH candidate; EACCES is remembered over
/// ENOENT, any other error ends the search. Only a failure returns: the
/// candidate and the errno to report. nsscript renders the same
/// candidates, in the same order (os::setup::plan), for the trace.
fn exec(c: &Command) -> (u32, i32) {
    let mut path = [0u8; 4096];
    let mut err = (0u32, nr::ENOENT);
    let missed = |i: u32, e: i32| {
        if let Some(s) = c.setup.filter(|s| s.trace) {
            s.send(record(EXEC_MISSED, COMMAND, s.op.wrapping_add(2), i, e as i64));
        }
    };
    if c.prog.contains(&b'/') {
        let e = execve(&mut path, &[c.prog], c);
        missed(0, e);
        return (0, not_found(c, e));
    }
    let dirs = getenv(c.env, b"PATH=").unwrap_or(DEFAULT_PATH);
    for (i, dir) in dirs.split(|b| *b == b':').enumerate() {
        let dir = if dir.is_empty() { &b"."[..] } else { dir };
        let i = i as u32;
        let e = execve(&mut path, &[dir, b"/", c.prog], c);
        missed(i, e);
        match e {
            nr::ENOENT | nr::ENOTDIR => {}
            nr::EACCES => err = (i, nr::EACCES),
            e => return (i, e),
        }
    }
    (err.0, not_found(c, err.1))
}

/// execve of the parts joined into `buf` (ENAMETOOLONG where they do not
/// fit): the errno, as it only returns on failure.
fn execve(buf: &mut [u8; 4096], parts: &[&[u8]], c: &Command) -> i32 {
    if !join(buf, parts) {
        return 36;
    }
    call!(nr::EXECVE, buf.as_ptr(), c.argv, c.env).err().unwrap_or(nr::EINVAL)
}

/// `parts` one after the other with a NUL at the end; false when too long.
fn join(buf: &mut [u8; 4096], parts: &[&[u8]]) -> bool {
    let mut n = 0;
    for p in parts {
        let Some(dst) = buf.get_mut(n..n + p.len()) else {
            return false;
        };
        dst.copy_from_slice(p);
        n += p.len();
    }
    match buf.get_mut(n) {
        Some(z) => {
            *z = 0;
            true
        }
        None => false,
    }
}

/// execve says EACCES for a name looked up in PATH as soon as one attempt
/// met EACCES, which includes a PATH folder this user may not search.
/// When none of the candidates is visibly a file, the program is not
/// found (ENOENT), as a shell says; a name with a slash is not looked up.
fn not_found(c: &Command, e: i32) -> i32 {
    if e != nr::EACCES || c.prog.contains(&b'/') {
        return e;
    }
    let mut path = [0u8; 4096];
    let dirs = getenv(c.env, b"PATH=").unwrap_or(DEFAULT_PATH);
    let found = dirs.split(|b| *b == b':').any(|dir| {
        let dir = if dir.is_empty() { &b"."[..] } else { dir };
        let mut st = [0u8; nr::STAT_SIZE];
        join(&mut path, &[dir, b"/", c.prog])
            && call!(nr::NEWFSTATAT, nr::AT_FDCWD, path.as_ptr(), st.as_mut_ptr(), 0).is_ok()
            && st
                .get(nr::STAT_MODE..nr::STAT_MODE + 4)
                .map_or(false, |m| u32::from_ne_bytes([m[0], m[1], m[2], m[3]]) & nr::S_IFMT != nr::S_IFDIR)
    });
    if found {
        e
    } else {
        nr::ENOENT
    }
}
