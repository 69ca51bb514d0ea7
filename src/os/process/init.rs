//! The init image: `nsscript-init`, a minimal PID 1 for a new pid
//! namespace (what tini and catatonit do), built from init/ as a static
//! program of its own (about 13 KB, no libc) and carried in this binary.
//! The init's behaviour is documented in init/pid1.rs.
//!
//! Why a program of its own. A container's PID 1 can be read and written
//! by the container's root (/proc/1/mem, ptrace), and its /proc/1/environ,
//! cmdline and exe are open to every process in the container. An init
//! that shared nsscript's memory would hand the container nsscript's
//! environment, the script's text, and a way to change what nsscript runs
//! next on the host. So spawn's `init` executes this image, from a memfd
//! sealed against every change (runc's answer to CVE-2019-5736: an exe
//! link that leads to a writable host file lets a container overwrite the
//! runtime): /proc/1/exe is the sealed memfd, nothing on disk.
//!
//! The same image serves the `nsscript-init` name: started as that (the
//! basename of argv[0]: a symlink, or `exec -a`), this binary executes the
//! image with the arguments it was given.

use crate::os::{Error, Result};
use nix::errno::Errno;
use std::cell::OnceCell;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

#[cfg(target_arch = "x86_64")]
use crate::os::raw;

/// The init's logic, compiled here too: for the constants both sides must
/// agree on, and for the tests of its pure parts.
#[cfg(target_arch = "x86_64")]
#[allow(dead_code)]
#[path = "../../../init/pid1.rs"]
mod pid1;

#[cfg(target_arch = "x86_64")]
pub use pid1::{
    exec_failure_code, COMMAND_CLONE_FLAGS, COMMAND_STACK, DEFAULT_PATH, EXIT_CANNOT_EXECUTE,
    EXIT_INIT_FAILED, EXIT_NOT_FOUND,
};

/// The image, as build.rs made it (empty where there is none for this
/// architecture).
static IMAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/nsscript-init"));

/// The name that selects the init (the basename of argv[0]).
pub const NAME: &str = "nsscript-init";

/// The exit status a shell would report for a `wait4` status: n for
/// exit(n), 128+s for a death by signal s.
pub fn exit_code(status: libc::c_int) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        125
    }
}

/// Is `argv0` a name that selects init mode? Its basename must be exactly
/// `nsscript-init`.
pub fn is_init_name(argv0: &[u8]) -> bool {
    let base = match argv0.iter().rposition(|&b| b == b'/') {
        Some(i) => &argv0[i + 1..],
        None => argv0,
    };
    base == NAME.as_bytes()
}

/// memfd_create(2)'s flags (linux/memfd.h).
const MFD_CLOEXEC: u32 = 0x1;
const MFD_ALLOW_SEALING: u32 = 0x2;
/// Executable on purpose (Linux 6.3), where vm.memfd_noexec asks callers
/// to say so; older kernels refuse the flag (EINVAL).
const MFD_EXEC: u32 = 0x10;
/// F_SEAL_EXEC (Linux 6.3): the mode's exec bits may not change either.
const F_SEAL_EXEC: libc::c_int = 0x20;

/// The sealed memfd that holds the image, made once per process: its fd.
/// Every spawn with an init executes it (execveat with AT_EMPTY_PATH); it
/// is close-on-exec, so no program ever inherits it.
pub fn image_fd(op: &str) -> Result<RawFd> {
    thread_local! {
        static FD: OnceCell<OwnedFd> = const { OnceCell::new() };
    }
    FD.with(|cell| {
        if let Some(fd) = cell.get() {
            return Ok(fd.as_raw_fd());
        }
        let fd = sealed_image().map_err(|(what, e)| {
            Error::sys(format!("{op}: init: {what}"), e).hint(
                "the init runs from a sealed memfd; a kernel or policy that refuses to execute memfds (vm.memfd_noexec=2) rules out init: true",
            )
        })?;
        let raw = fd.as_raw_fd();
        let _ = cell.set(fd);
        Ok(raw)
    })
}

/// A memfd with the image in it, sealed: its size and contents can never
/// change again, nor the seals (fcntl F_ADD_SEALS, memfd_create(2)).
fn sealed_image() -> std::result::Result<OwnedFd, (&'static str, Errno)> {
    if IMAGE.is_empty() {
        return Err(("no init image for this architecture", Errno::ENOSYS));
    }
    let name = c"nsscript-init";
    let flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
    // SAFETY: memfd_create with a C string; the fd is ours.
    let mut r = unsafe { libc::syscall(libc::SYS_memfd_create, name.as_ptr(), flags | MFD_EXEC) };
    if r < 0 && Errno::last() == Errno::EINVAL {
        // SAFETY: as above.
        r = unsafe { libc::syscall(libc::SYS_memfd_create, name.as_ptr(), flags) };
    }
    if r < 0 {
        return Err(("memfd_create", Errno::last()));
    }
    // SAFETY: a fresh fd from the kernel.
    let fd = unsafe { OwnedFd::from_raw_fd(r as RawFd) };
    let mut at = 0;
    while at < IMAGE.len() {
        match nix::unistd::write(&fd, IMAGE.get(at..).unwrap_or(&[])) {
            Ok(0) => return Err(("write the image", Errno::EIO)),
            Ok(n) => at += n,
            Err(Errno::EINTR) => {}
            Err(e) => return Err(("write the image", e)),
        }
    }
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: fcntl on our own fd.
    let mut s = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals | F_SEAL_EXEC) };
    if s < 0 && Errno::last() == Errno::EINVAL {
        // SAFETY: as above.
        s = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) };
    }
    if s < 0 {
        return Err(("seal the image (F_ADD_SEALS)", Errno::last()));
    }
    Ok(fd)
}

/// Started as `nsscript-init`: executes the image with the same arguments
/// and environment. Never returns.
///
/// # Safety
///
/// `argv` and `envp` must be the C runtime's vectors (NULL-terminated C
/// strings, as `main` receives them).
pub unsafe fn main(argv: *const *const libc::c_char, envp: *const *const libc::c_char) -> ! {
    let code = match image_fd("nsscript-init") {
        Ok(fd) => {
            // SAFETY: the vectors as the C runtime gave them.
            unsafe {
                libc::syscall(
                    libc::SYS_execveat,
                    fd,
                    c"".as_ptr(),
                    argv,
                    envp,
                    libc::AT_EMPTY_PATH,
                )
            };
            let e = Errno::last();
            eprintln!(
                "{NAME}: execveat of the init image: {} ({})",
                crate::os::errno_name(e),
                e.desc()
            );
            125
        }
        Err(e) => {
            eprintln!("{NAME}: {e}");
            125
        }
    };
    std::process::exit(code)
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use std::ffi::CString;

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

    /// Parses like the init, with the strings kept for good: a usage error
    /// points into them, as it does into the init's argv.
    fn parse(a: &[&str]) -> pid1::Parsed {
        let owned: &'static [CString] = Vec::leak(
            std::iter::once("nsscript-init")
                .chain(a.iter().copied())
                .map(|s| CString::new(s).expect("no NUL"))
                .collect(),
        );
        let mut ptrs: Vec<*const u8> = owned.iter().map(|c| c.as_ptr().cast()).collect();
        ptrs.push(std::ptr::null());
        let ptrs = Vec::leak(ptrs);
        pid1::parse(pid1::Args {
            ptrs: ptrs.as_ptr(),
            count: owned.len(),
        })
    }

    #[test]
    fn options_then_the_program() {
        use pid1::Parsed::*;
        let run = |pgroup, at| Run {
            pgroup,
            setup: None,
            at,
        };
        assert_eq!(parse(&["sh", "-c", "x"]), run(false, 1));
        assert_eq!(parse(&["--pgroup", "sleep", "1"]), run(true, 2));
        assert_eq!(parse(&["--pgroup", "--", "-weird"]), run(true, 3));
        // Options of the program are the program's.
        assert_eq!(parse(&["ls", "--pgroup"]), run(false, 1));
        assert_eq!(parse(&["--help"]), Help);
        assert!(matches!(parse(&[]), Usage("no program given", None)));
        assert!(matches!(parse(&["--pgroup"]), Usage(..)));
        assert!(matches!(parse(&["--"]), Usage("no program given after --", None)));
        assert_eq!(parse(&["--bogus", "x"]), Usage("unknown option", Some(&b"--bogus"[..])));
        assert_eq!(
            parse(&["--setup", "7,-1,1,42,1", "--", "sh"]),
            Run {
                pgroup: false,
                setup: Some(pid1::Setup {
                    report: 7,
                    hold: -1,
                    who: 1,
                    op: 42,
                    trace: true
                }),
                at: 4
            }
        );
        for bad in ["7,-1,1,42", "7,-1,2,42,0", "-3,-1,0,1,0", "7,x,0,1,0", "7,-1,0,70000,0"] {
            assert!(matches!(parse(&["--setup", bad, "sh"]), Usage(..)), "{bad}");
        }
    }

    #[test]
    fn a_line_is_built_in_place_and_cut_to_fit() {
        let mut l = pid1::Line::new();
        l.push(b"signal ").int(15).push(b" to ").int(-42).push(b" ");
        l.int(0)
            .push(b" ")
            .int(i64::MIN)
            .push(b": ")
            .errno(libc::ESRCH);
        assert_eq!(
            std::str::from_utf8(l.finish()),
            Ok("nsscript-init: signal 15 to -42 0 -9223372036854775808: ESRCH (No such process)\n")
        );
        let mut long = pid1::Line::new();
        long.push(&[b'x'; 600]);
        let text = long.finish();
        assert_eq!(text.len(), 512);
        assert!(text.starts_with(b"nsscript-init: xxx") && text.ends_with(b"xx\n"));
    }

    #[test]
    fn the_inits_errno_words_are_the_kernels() {
        for (n, name, text) in pid1::ERRNOS {
            let e = Errno::from_raw(*n);
            assert_eq!(crate::os::errno_name(e), *name);
            assert_eq!(e.desc(), *text, "{name}");
        }
    }

    #[test]
    fn the_inits_records_are_the_setups() {
        use crate::os::setup::wire::{Record, Who};
        assert_eq!(
            pid1::record(pid1::DID, 1, 42, 0, 4242),
            Record::Did {
                who: Who::Grandchild,
                op: 42,
                value: 4242
            }
            .encode()
        );
        assert_eq!(
            pid1::record(pid1::FAILED, pid1::COMMAND, 9, 3, libc::ENOENT as i64),
            Record::Failed {
                who: Who::Command,
                op: 9,
                aux: 3,
                errno: Errno::ENOENT
            }
            .encode()
        );
        assert_eq!(
            pid1::record(pid1::EXEC_MISSED, pid1::COMMAND, 9, 0, libc::EACCES as i64),
            Record::ExecMissed {
                who: Who::Command,
                op: 9,
                aux: 0,
                errno: Errno::EACCES
            }
            .encode()
        );
    }

    #[test]
    fn statuses_as_a_shell_reports_them() {
        for st in [0, 255 << 8, libc::SIGTERM, libc::SIGKILL | 0x80, 3 << 8] {
            assert_eq!(pid1::exit_code(st), exit_code(st), "{st:#x}");
        }
        assert_eq!(exit_code(libc::SIGTERM), 143);
        assert_eq!(exec_failure_code(libc::ENOENT), 127);
        assert_eq!(exec_failure_code(libc::EACCES), 126);
        assert_eq!(exec_failure_code(libc::ENOEXEC), 126);
    }

    #[test]
    fn the_image_is_sealed_for_good() {
        let fd = image_fd("test").expect("the image");
        // SAFETY: fcntl on the image's fd.
        let seals = unsafe { libc::fcntl(fd, libc::F_GET_SEALS) };
        for s in [libc::F_SEAL_SEAL, libc::F_SEAL_WRITE, libc::F_SEAL_GROW, libc::F_SEAL_SHRINK] {
            assert_ne!(seals & s, 0, "{seals:#x}");
        }
        let path = format!("/proc/self/fd/{fd}");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .expect("open for writing");
        use std::io::Write;
        assert_eq!(
            f.write(b"x").map_err(|e| e.raw_os_error()),
            Err(Some(libc::EPERM))
        );
    }
}
