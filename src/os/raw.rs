//! The system call instruction itself, and the clone3 trampoline, for
//! x86_64 Linux, over `core` alone. Two programs are built from it: the
//! nsscript binary (through `os::sys`, which adds errno types and the rest)
//! and the init image (init/), a static program without libc.

use core::ffi::{c_int, c_void};

/// syscall(2) with up to six arguments; the raw result (-errno on
/// failure). Touches no memory but the kernel's.
///
/// # Safety
/// The arguments must be what system call `n` expects (valid pointers to
/// live memory where it takes pointers).
#[inline(always)]
pub unsafe fn syscall6(n: i64, a: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: the x86_64 Linux system call convention; the kernel
    // clobbers rcx and r11 only.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") n as isize => ret,
            in("rdi") a[0],
            in("rsi") a[1],
            in("rdx") a[2],
            in("r10") a[3],
            in("r8") a[4],
            in("r9") a[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack, preserves_flags)
        );
    }
    ret
}

/// struct clone_args (linux/sched.h), version 2 (88 bytes).
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

/// The entry point of a child on its own stack: gets the argument given
/// to `clone3_on_stack`, returns the exit status. It must not return
/// into anything but the trampoline, so it is `extern "C"`.
pub type ChildFn = extern "C" fn(*mut c_void) -> c_int;

/// The clone3 system call number on x86_64.
const SYS_CLONE3: isize = 435;

/// clone3(2) for a child that starts in `f(arg)` on the stack described in
/// `args` (`stack`, `stack_size`) and exits with its return value. With
/// CLONE_VM in the flags it runs in this process's memory, like the child
/// of glibc's posix_spawn. The raw result: the child's pid in the parent,
/// or -errno.
///
/// # Safety
/// `args.stack` must be a mapped, writable, 16-byte aligned region of
/// `args.stack_size` bytes that nothing else uses until the child has
/// exited or exec'd, and `f` must be safe to run there (a CLONE_VM child
/// shares the caller's heap and thread-local storage).
pub unsafe fn clone3_on_stack(args: &mut CloneArgs, f: ChildFn, arg: *mut c_void) -> isize {
    let ret: isize;
    // SAFETY: the parent returns from the syscall as from any other (rcx,
    // r11 clobbered); the child starts on the new stack the kernel set
    // (rsp = stack + stack_size, 16-byte aligned), calls f(arg) from the
    // callee-saved registers r12/r13, and ends with exit(2) of its own
    // task: it never returns into compiled code.
    unsafe {
        core::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "xor ebp, ebp",
            "mov rdi, r13",
            "call r12",
            "mov edi, eax",
            "mov eax, 60",
            "syscall",
            "ud2",
            "2:",
            inlateout("rax") SYS_CLONE3 => ret,
            in("rdi") args as *mut CloneArgs,
            in("rsi") core::mem::size_of::<CloneArgs>(),
            in("r12") f,
            in("r13") arg,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack)
        );
    }
    ret
}

/// The clone system call number on x86_64.
const SYS_CLONE: isize = 56;

/// clone(2) for a child that starts in `f(arg)` with its stack pointer at
/// `stack_top`, for where clone3 is refused (a seccomp profile that
/// answers clone3 with ENOSYS, as Docker's and podman's do, so that libc
/// falls back). `flags` holds the exit signal in its low byte. The raw
/// result, as for `clone3_on_stack`.
///
/// # Safety
/// As for `clone3_on_stack`; `stack_top` is the 16-byte aligned end of
/// the region.
pub unsafe fn clone_on_stack(flags: u64, stack_top: u64, f: ChildFn, arg: *mut c_void) -> isize {
    let ret: isize;
    // SAFETY: as for clone3_on_stack: the child starts on the new stack
    // (rsp = stack_top), calls f(arg) and exits without returning.
    unsafe {
        core::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "xor ebp, ebp",
            "mov rdi, r13",
            "call r12",
            "mov edi, eax",
            "mov eax, 60",
            "syscall",
            "ud2",
            "2:",
            inlateout("rax") SYS_CLONE => ret,
            in("rdi") flags,
            in("rsi") stack_top,
            in("rdx") 0usize,
            in("r10") 0usize,
            in("r8") 0usize,
            in("r12") f,
            in("r13") arg,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack)
        );
    }
    ret
}
