//! The entry point. `#![no_main]` skips the Rust runtime's start-up work
//! that nsscript does not need (the main thread's stack-guard probe reads
//! /proc/self/maps on every start); `std::process::exit` still flushes
//! standard output, and a panic, which is a bug, still exits 101 with its
//! message.
#![no_main]

#[no_mangle]
pub extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    // What the Rust runtime would do: a write to a closed pipe is an EPIPE
    // error (handled where output is written), not a silent death.
    // SAFETY: setting a signal disposition at start, before any thread.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let code = std::panic::catch_unwind(nsscript::cli::main).unwrap_or(101);
    std::process::exit(code)
}
