//! The init image: `nsscript-init` as a program of its own, a static
//! executable without libc or allocator. nsscript carries it inside its
//! binary and executes it from a sealed memfd as a container's PID 1
//! (os::process::init), so that no process a container can see shares
//! nsscript's memory, and /proc/1/exe leads to nothing writable. The
//! logic is in pid1.rs; this file is the program's frame: where the
//! kernel starts it, and the few symbols a program without libc must
//! bring itself.
#![no_std]
#![no_main]

#[path = "../src/os/raw.rs"]
mod raw;

mod pid1;

// The kernel starts the program here with rsp at argc, then argv[0..argc],
// NULL, then envp, NULL. rsp is 16-byte aligned; the call leaves the
// alignment a function expects.
core::arch::global_asm!(
    ".globl _start",
    "_start:",
    "xor ebp, ebp",
    "mov rdi, rsp",
    "and rsp, -16",
    "call {entry}",
    "ud2",
    entry = sym entry,
);

/// Reads argc, argv and envp off the initial stack and runs init.
unsafe extern "C" fn entry(sp: *const usize) -> ! {
    // SAFETY: the layout the kernel gives a new program (see above).
    let (argc, argv) = unsafe { (*sp, sp.add(1) as *const *const u8) };
    // SAFETY: envp follows argv's NULL.
    let envp = unsafe { argv.add(argc + 1) };
    pid1::main(pid1::Args { ptrs: argv, count: argc }, envp)
}

/// A bug in init (the code has no panicking paths it knows of): end as a
/// failed init would, without unwinding (there is nothing to unwind to).
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {
        // SAFETY: exit_group(2) takes a number.
        unsafe { raw::syscall6(pid1::nr::EXIT_GROUP, [pid1::EXIT_INIT_FAILED as usize, 0, 0, 0, 0, 0]) };
    }
}

// The compiler may turn copies and comparisons into calls of these, which
// libc would otherwise provide. The copies use the string instructions, so
// no loop of them can be turned back into a call of itself.

#[no_mangle]
unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller's contract of memcpy.
    unsafe {
        core::arch::asm!("rep movsb", inout("rcx") n => _, inout("rdi") dst => _,
                         inout("rsi") src => _, options(nostack, preserves_flags));
    }
    dst
}

#[no_mangle]
unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dst as usize) <= (src as usize) || (dst as usize) >= (src as usize).wrapping_add(n) {
        // SAFETY: a forward copy is safe when dst is below src or past it.
        return unsafe { memcpy(dst, src, n) };
    }
    // SAFETY: the caller's contract; a backward copy with the direction
    // flag set, cleared again as the ABI requires.
    unsafe {
        core::arch::asm!("std", "rep movsb", "cld",
                         inout("rcx") n => _, inout("rdi") dst.add(n - 1) => _,
                         inout("rsi") src.add(n - 1) => _, options(nostack));
    }
    dst
}

#[no_mangle]
unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
    // SAFETY: the caller's contract of memset.
    unsafe {
        core::arch::asm!("rep stosb", inout("rcx") n => _, inout("rdi") dst => _,
                         in("al") c as u8, options(nostack, preserves_flags));
    }
    dst
}

#[no_mangle]
unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        // SAFETY: within the n bytes the caller vouches for.
        let (x, y) = unsafe { (core::ptr::read_volatile(a.add(i)), core::ptr::read_volatile(b.add(i))) };
        if x != y {
            return x as i32 - y as i32;
        }
        i += 1;
    }
    0
}

#[no_mangle]
unsafe extern "C" fn strlen(s: *const u8) -> usize {
    let mut n = 0;
    // SAFETY: a NUL-terminated string, as the caller vouches.
    while unsafe { core::ptr::read_volatile(s.add(n)) } != 0 {
        n += 1;
    }
    n
}

/// Named by the unwind tables of the precompiled `core`; never called:
/// init is built with panic=abort and nothing unwinds.
#[no_mangle]
extern "C" fn rust_eh_personality() {}

#[no_mangle]
unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: forwarded.
    unsafe { memcmp(a, b, n) }
}
