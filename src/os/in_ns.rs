//! A forked copy of the interpreter in new namespaces (`in_ns`): it runs
//! script code there and sends its result back over a pipe. Unlike a
//! spawn, this copies the interpreter's memory, as fork(2) does: the copy
//! must have the script's state to run its code.

use super::setup::Spec;
use super::{Context, Error, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::unistd::pipe2;
use std::os::fd::OwnedFd;

/// Which side of `fork_in` this is.
pub enum InChild {
    /// The parent: wait for the child's result with `Returning::result`.
    Parent(Returning),
    /// The child, in its namespaces: send the result, then `exit`.
    Child(ResultSender),
}

/// The parent's side: the child and the pipe its result comes back on.
pub struct Returning {
    child: super::process::Child,
    result: OwnedFd,
}

/// The child's side: the write end of the result pipe.
pub struct ResultSender {
    fd: OwnedFd,
}

/// Forks the interpreter into the namespaces `spec` asks for, with spawn's
/// handshake and setup (maps written from outside, / made private, /proc,
/// hostname, time offsets, cwd). The child must end with
/// `ResultSender::exit`: it shares nothing with the parent but the pipe.
pub fn fork_in(spec: &Spec) -> Result<InChild> {
    // CLOEXEC: a program the child starts never holds the pipe open.
    let (r, w) = pipe2(OFlag::O_CLOEXEC).op("in_ns: pipe")?;
    use std::io::Write;
    let _ = std::io::stderr().flush();
    match super::process::fork("in_ns", spec)? {
        super::process::Forked::Parent(child) => {
            drop(w);
            Ok(InChild::Parent(Returning { child, result: r }))
        }
        super::process::Forked::Child => {
            drop(r);
            Ok(InChild::Child(ResultSender { fd: w }))
        }
    }
}

impl Returning {
    /// Everything the child sent, and its exit code once it is reaped. If
    /// `interrupted` says so while waiting, the child is killed and reaped
    /// and the result is an EINTR error. Dropping `self` early kills and
    /// reaps the child as well: none is ever left behind.
    pub fn result(mut self, interrupted: &dyn Fn() -> bool) -> Result<(Vec<u8>, i32)> {
        let mut bytes = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            // A signal that came before the read (while the copy was being
            // set up) interrupts nothing: look first.
            if interrupted() {
                return Err(self.child.interrupted_error("in_ns"));
            }
            match nix::unistd::read(&self.result, &mut buf) {
                Ok(0) => break,
                Ok(n) => bytes.extend_from_slice(&buf[..n]),
                Err(Errno::EINTR) => {
                    if interrupted() {
                        return Err(self.child.interrupted_error("in_ns"));
                    }
                }
                Err(e) => return Err(Error::sys("in_ns: read the result", e)),
            }
        }
        let code = self.child.wait(None, interrupted)?;
        Ok((bytes, code))
    }
}

impl ResultSender {
    /// Sends the result (all of it, whatever its size).
    pub fn send(&self, bytes: &[u8]) -> std::result::Result<(), Errno> {
        let mut off = 0;
        while off < bytes.len() {
            match nix::unistd::write(&self.fd, &bytes[off..]) {
                Ok(n) => off += n,
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Ends the child: flushes stdout and stderr (so what it printed comes
    /// before what the parent prints next) and leaves with `_exit`, without
    /// running destructors that belong to the parent's state.
    pub fn exit(self, code: i32) -> ! {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        drop(self.fd);
        // SAFETY: leaving the forked child.
        unsafe { libc::_exit(code) }
    }
}
