//! The entry point. `#![no_main]` skips the Rust runtime's start-up work
//! that nsscript does not need (the main thread's stack-guard probe reads
//! /proc/self/maps on every start); `std::process::exit` still flushes
//! standard output, and a panic, which is a bug, still exits 101 with its
//! message.
//!
//! Started under the name `nsscript-init` (the basename of argv[0]), the
//! binary executes the init image it carries instead
//! (`nsscript::os::process::init`), so a new pid namespace can get an init
//! without a second file to install.
#![no_main]

/// Called by the C runtime.
///
/// # Safety
///
/// `argv` is the C runtime's vector: `argc` C strings, then NULL; `envp`
/// the environment's, NULL-terminated.
#[no_mangle]
pub unsafe extern "C" fn main(
    argc: libc::c_int,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
) -> libc::c_int {
    // SAFETY: argv as the C runtime gives it.
    if unsafe { invoked_as_init(argc, argv) } {
        // SAFETY: the same vectors, handed on unchanged.
        unsafe { nsscript::os::process::init::main(argv, envp) }
    }
    // What the Rust runtime would do: a write to a closed pipe is an EPIPE
    // error (handled where output is written), not a silent death.
    // SAFETY: setting a signal disposition at start, before any thread.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let code = std::panic::catch_unwind(nsscript::cli::main).unwrap_or(101);
    std::process::exit(code)
}

/// Is argv[0]'s basename `nsscript-init`? Reads it in place: the normal
/// path allocates nothing here.
///
/// # Safety
///
/// `argv` must hold `argc` C strings (or be null when argc is 0).
unsafe fn invoked_as_init(argc: libc::c_int, argv: *const *const libc::c_char) -> bool {
    if argc < 1 || argv.is_null() || (*argv).is_null() {
        return false;
    }
    nsscript::os::process::init::is_init_name(std::ffi::CStr::from_ptr(*argv).to_bytes())
}
