//! Raw system calls, for code that must not touch libc: a child that runs
//! in the interpreter's own memory (`CLONE_VM`) between clone and execve.
//!
//! Such a child shares the parent's heap and its thread-local storage, so
//! it may not allocate (the allocator's locks and state are the parent's)
//! and may not call a libc wrapper (every one of them writes `errno`, a
//! thread-local of the parent's thread). The calls here go straight to the
//! kernel and return the raw result as `Result<usize, Errno>`.
//!
//! Only x86_64 has the inline assembly; elsewhere the same functions go
//! through `libc::syscall` and `SHARES_MEMORY` is false, so the spawn path
//! clones a copy of the process (fork semantics) instead of sharing it.
//! See ARCHITECTURE.md, "The spawn path".

use nix::errno::Errno;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU8, Ordering};

pub type SysResult = Result<usize, Errno>;

/// Whether a child can run in the parent's memory (CLONE_VM on a stack of
/// its own) on this architecture.
pub const SHARES_MEMORY: bool = cfg!(target_arch = "x86_64");

/// CLONE_INTO_CGROUP (Linux 5.7) does not fit a C int: clone3's flags are
/// 64 bits wide.
pub const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

#[cfg(target_arch = "x86_64")]
mod arch {
    pub use super::super::raw::syscall6;
}

#[cfg(not(target_arch = "x86_64"))]
mod arch {
    /// Through libc (errno is read at once): only used where the child is a
    /// copy of the process, never one that shares its memory.
    pub unsafe fn syscall6(n: i64, a: [usize; 6]) -> isize {
        // SAFETY: the caller passes arguments valid for syscall `n`.
        let r = unsafe { libc::syscall(n as libc::c_long, a[0], a[1], a[2], a[3], a[4], a[5]) };
        if r < 0 {
            -(nix::errno::Errno::last_raw() as isize)
        } else {
            r as isize
        }
    }
}

/// One system call; `-4095..-1` are errors, as the kernel returns them.
///
/// # Safety
/// The arguments must be what system call `n` expects (valid pointers to
/// live memory where it takes pointers).
#[inline(always)]
pub unsafe fn call(n: libc::c_long, a: [usize; 6]) -> SysResult {
    // SAFETY: forwarded to the caller.
    let r = unsafe { arch::syscall6(n, a) };
    if (-4095..0).contains(&r) {
        Err(Errno::from_raw(-r as i32))
    } else {
        Ok(r as usize)
    }
}

/// Shorthand for calls with fewer arguments.
macro_rules! sys {
    ($n:expr) => { $crate::os::sys::call($n, [0; 6]) };
    ($n:expr, $a:expr) => { $crate::os::sys::call($n, [$a as usize, 0, 0, 0, 0, 0]) };
    ($n:expr, $a:expr, $b:expr) => { $crate::os::sys::call($n, [$a as usize, $b as usize, 0, 0, 0, 0]) };
    ($n:expr, $a:expr, $b:expr, $c:expr) => { $crate::os::sys::call($n, [$a as usize, $b as usize, $c as usize, 0, 0, 0]) };
    ($n:expr, $a:expr, $b:expr, $c:expr, $d:expr) => { $crate::os::sys::call($n, [$a as usize, $b as usize, $c as usize, $d as usize, 0, 0]) };
    ($n:expr, $a:expr, $b:expr, $c:expr, $d:expr, $e:expr) => { $crate::os::sys::call($n, [$a as usize, $b as usize, $c as usize, $d as usize, $e as usize, 0]) };
    ($n:expr, $a:expr, $b:expr, $c:expr, $d:expr, $e:expr, $f:expr) => { $crate::os::sys::call($n, [$a as usize, $b as usize, $c as usize, $d as usize, $e as usize, $f as usize]) };
}
pub(crate) use sys;

#[cfg(target_arch = "x86_64")]
pub use super::raw::{ChildFn, CloneArgs};

/// struct clone_args (linux/sched.h), version 2 (88 bytes).
#[cfg(not(target_arch = "x86_64"))]
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct CloneArgs {
    pub flags: u64,
    pub pidfd: u64,
    pub child_tid: u64,
    pub parent_tid: u64,
    pub exit_signal: u64,
    pub stack: u64,
    pub stack_size: u64,
    pub tls: u64,
    pub set_tid: u64,
    pub set_tid_size: u64,
    pub cgroup: u64,
}

/// clone3(2) for a child that starts in `f(arg)` on the stack described in
/// `args` (`stack`, `stack_size`) and exits with its return value. With
/// CLONE_VM in the flags it runs in this process's memory, like the child
/// of glibc's posix_spawn. Returns the child's pid in the parent.
///
/// # Safety
/// `args.stack` must be a mapped, writable, 16-byte aligned region of
/// `args.stack_size` bytes that nothing else uses until the child has
/// exited or exec'd, and `f` must be safe to run there (see the module
/// docs for what a CLONE_VM child may do).
#[cfg(target_arch = "x86_64")]
pub unsafe fn clone3_on_stack(
    args: &mut CloneArgs,
    f: ChildFn,
    arg: *mut libc::c_void,
) -> Result<i32, Errno> {
    // SAFETY: forwarded to the caller.
    let ret = unsafe { super::raw::clone3_on_stack(args, f, arg) };
    if (-4095..0).contains(&ret) {
        Err(Errno::from_raw(-ret as i32))
    } else {
        Ok(ret as i32)
    }
}

/// clone3(2) with fork semantics (no stack: the child returns here with a
/// copy of the process). Returns 0 in the child, the pid in the parent.
///
/// # Safety
/// The process must be single-threaded (the child gets a copy of this
/// thread only) and the flags must not include CLONE_VM.
pub unsafe fn clone3_fork(args: &mut CloneArgs) -> Result<i32, Errno> {
    debug_assert!(args.flags & libc::CLONE_VM as u64 == 0);
    // SAFETY: as documented; the struct outlives the call.
    let r = unsafe {
        sys!(
            libc::SYS_clone3,
            args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>()
        )
    }?;
    Ok(r as i32)
}

/// rt_sigprocmask(how, set): returns the mask it replaced. A raw call, so
/// a child in this process's memory may make it too; it covers the
/// kernel's 64 signals (glibc's wrapper leaves out the two it reserves).
pub fn sigprocmask(how: libc::c_int, set: u64) -> Result<u64, Errno> {
    let mut old: u64 = 0;
    // SAFETY: 8-byte sets on our stack, in and out.
    unsafe {
        sys!(
            libc::SYS_rt_sigprocmask,
            how,
            &set as *const u64,
            &mut old as *mut u64,
            8
        )
    }?;
    Ok(old)
}

/// rt_sigaction(sig, SIG_DFL), raw. A zeroed kernel struct sigaction is
/// SIG_DFL with no flags and an empty mask on every architecture (the
/// handler comes first), and SIG_DFL needs no restorer.
pub fn sig_default(sig: libc::c_int) -> SysResult {
    let act = [0u64; 4];
    // SAFETY: a kernel sigaction on our stack in, no old action out.
    unsafe { sys!(libc::SYS_rt_sigaction, sig, act.as_ptr(), 0, 8) }
}

/// A stack for a child that runs in this process's memory: one private
/// mapping with a guard page below each of its two halves (the second one
/// is for a grandchild cloned by the child, see process::child). Made once
/// and reused (`get`): a child is done with it when spawn returns (it has
/// exec'd or exited).
#[derive(Debug)]
pub struct Stack {
    base: *mut u8,
    len: usize,
}

impl Stack {
    /// Bytes of each half, guard page excluded.
    pub const HALF: usize = 128 * 1024;
    const PAGE: usize = 4096;

    fn new() -> Result<Stack, Errno> {
        let len = 2 * (Self::PAGE + Self::HALF);
        // SAFETY: a fresh anonymous mapping, ours alone.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(Errno::last());
        }
        let base = base as *mut u8;
        for half in 0..2 {
            // SAFETY: within the mapping just made.
            let guard = unsafe { base.add(half * (Self::PAGE + Self::HALF)) };
            // SAFETY: as above; a failure only loses the guard.
            unsafe { libc::mprotect(guard.cast(), Self::PAGE, libc::PROT_NONE) };
        }
        Ok(Stack { base, len })
    }

    /// (lowest address, size) of half `i` (0 or 1), as clone3 takes them.
    pub fn half(&self, i: usize) -> (u64, u64) {
        let start = self.base as usize + i.min(1) * (Self::PAGE + Self::HALF) + Self::PAGE;
        (start as u64, Self::HALF as u64)
    }

    /// The process's one spawn stack, made on first use.
    pub fn get() -> Result<&'static Stack, Errno> {
        thread_local! {
            static STACK: std::cell::OnceCell<&'static Stack> = const { std::cell::OnceCell::new() };
        }
        STACK.with(|s| {
            if let Some(s) = s.get() {
                return Ok(*s);
            }
            let st: &'static Stack = Box::leak(Box::new(Stack::new()?));
            let _ = s.set(st);
            Ok(st)
        })
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // SAFETY: our own mapping (never reached for the leaked one).
        unsafe { libc::munmap(self.base.cast(), self.len) };
    }
}

/// pidfd_open(2): a handle on the process itself rather than on its
/// number, so a pid reused after the process exits cannot redirect what
/// follows. None where the kernel has no pidfd_open (before Linux 5.3).
pub fn pidfd_open(pid: i32) -> Result<Option<OwnedFd>, Errno> {
    // SAFETY: plain syscall; the fd it returns is ours (and CLOEXEC).
    match unsafe { sys!(libc::SYS_pidfd_open, pid, 0) } {
        // SAFETY: a fresh fd from the kernel.
        Ok(fd) => Ok(Some(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })),
        Err(Errno::ENOSYS) => Ok(None),
        Err(e) => Err(e),
    }
}

/// pidfd_send_signal(2); signal 0 only checks that the process is alive.
pub fn pidfd_send_signal(pidfd: RawFd, sig: i32) -> Result<(), Errno> {
    // SAFETY: plain syscall with no pointer argument but NULL.
    unsafe { sys!(libc::SYS_pidfd_send_signal, pidfd, sig, 0, 0) }.map(|_| ())
}

/// Kernel features found by trying them once (never by version number).
const UNKNOWN: u8 = 0;
const YES: u8 = 1;
const NO: u8 = 2;

fn probe(cell: &AtomicU8, f: impl FnOnce() -> bool) -> bool {
    match cell.load(Ordering::Relaxed) {
        YES => true,
        NO => false,
        _ => {
            let yes = f();
            cell.store(if yes { YES } else { NO }, Ordering::Relaxed);
            yes
        }
    }
}

/// Whether clone3(2) exists (Linux 5.3): a call with a zero-sized argument
/// is EINVAL where it does, ENOSYS where it does not.
pub fn has_clone3() -> bool {
    static CLONE3: AtomicU8 = AtomicU8::new(UNKNOWN);
    // SAFETY: size 0 is rejected before the pointer is read.
    probe(
        &CLONE3,
        || unsafe { sys!(libc::SYS_clone3, 0, 0) } != Err(Errno::ENOSYS),
    )
}

/// Whether close_range(2) with CLOSE_RANGE_CLOEXEC works (Linux 5.11): an
/// empty range at the very top changes nothing where it does.
pub fn has_close_range_cloexec() -> bool {
    static CR: AtomicU8 = AtomicU8::new(UNKNOWN);
    probe(&CR, || {
        // SAFETY: no fd is in that range.
        unsafe {
            sys!(
                libc::SYS_close_range,
                u32::MAX,
                u32::MAX,
                libc::CLOSE_RANGE_CLOEXEC
            )
        }
        .is_ok()
    })
}

/// Whether setns(2) accepts a pidfd and several CLONE_NEW* flags (Linux
/// 5.8). Tried on our own uts namespace through a pidfd of ourselves: a
/// kernel that knows pidfds there says yes (rejoining changes nothing) or
/// EPERM (without CAP_SYS_ADMIN); one that does not says EINVAL.
pub fn has_pidfd_setns() -> bool {
    static PIDFD_SETNS: AtomicU8 = AtomicU8::new(UNKNOWN);
    probe(&PIDFD_SETNS, || {
        let Ok(Some(me)) = pidfd_open(std::process::id() as i32) else {
            return false;
        };
        use std::os::fd::AsRawFd;
        // SAFETY: setns with a pidfd we own.
        let r = unsafe { sys!(libc::SYS_setns, me.as_raw_fd(), libc::CLONE_NEWUTS) };
        matches!(r, Ok(_) | Err(Errno::EPERM))
    })
}

/// The number of threads of this process (field 20 of /proc/self/stat).
pub fn thread_count() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces and ')': skip past the last.
    stat.rsplit_once(") ")?
        .1
        .split_whitespace()
        .nth(17)?
        .parse()
        .ok()
}

/// The invariant the spawn path, fork and unshare/setns of a user
/// namespace rely on: this process has one thread. A copy made by fork
/// holds only the calling thread (locks held by others stay locked
/// forever), and the kernel refuses a new or joined user namespace to a
/// multi-threaded process. Checked, not assumed: an error, not a panic.
pub fn check_single_threaded(op: &str) -> super::Result<()> {
    match thread_count() {
        Some(1) | None => Ok(()),
        Some(n) => Err(super::Error::with_errno(
            op,
            Errno::EINVAL,
            format!("nsscript has {n} threads; it must have one to clone or change namespaces"),
        )
        .hint("this is a bug in nsscript: something started a thread")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_calls_return_errors_without_errno() {
        // SAFETY: close of an fd that cannot be open.
        let r = unsafe { sys!(libc::SYS_close, -1i32) };
        assert_eq!(r, Err(Errno::EBADF));
        // SAFETY: getpid takes nothing.
        let me = unsafe { sys!(libc::SYS_getpid) };
        assert_eq!(me, Ok(std::process::id() as usize));
    }

    #[test]
    fn the_stack_halves_are_apart_and_aligned() {
        let s = Stack::get().expect("mmap");
        let (a, n) = s.half(0);
        let (b, m) = s.half(1);
        assert_eq!(n, m);
        assert!(b >= a + n + 4096);
        assert_eq!((a + n) % 16, 0);
        assert!(std::ptr::eq(s, Stack::get().expect("again")));
    }

    #[test]
    fn features_are_found_by_trying() {
        // This machine's kernel has all of them; the answers are cached.
        assert!(has_clone3());
        assert!(has_close_range_cloexec());
        assert!(has_pidfd_setns());
        assert!(has_pidfd_setns());
    }
}
