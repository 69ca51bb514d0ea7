//! A child's standard streams: the pipes made for it, moving data through
//! them while it runs, and lending it the terminal (job control).

use super::Child;
use crate::os::setup::Stdio;
use crate::os::{Context, Error, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::unistd::pipe2;
use std::os::fd::OwnedFd;

/// A pipe for one standard stream: (read end, write end), both CLOEXEC.
pub fn pipe_for(s: Stdio, op: &str) -> Result<Option<(OwnedFd, OwnedFd)>> {
    match s {
        Stdio::Pipe => Ok(Some(pipe2(OFlag::O_CLOEXEC).op(&format!("{op}: pipe"))?)),
        _ => Ok(None),
    }
}

impl Child {
    /// Keeps the parent's ends of the child's pipes.
    pub(super) fn set_pipes(
        &mut self,
        stdin: Option<OwnedFd>,
        stdout: Option<OwnedFd>,
        stderr: Option<OwnedFd>,
    ) {
        self.stdin = stdin;
        self.stdout = stdout;
        self.stderr = stderr;
    }

    /// Moves data through the child's pipes until they close or the child
    /// exits (a grandchild may keep them open: the pidfd says when to stop).
    pub(super) fn pump(
        &mut self,
        input: Option<&[u8]>,
        terminal: bool,
        interrupted: &dyn Fn() -> bool,
    ) -> Result<()> {
        let mut input = input.map(|b| (b, 0usize));
        let mut buf = vec![0u8; 65536];
        loop {
            use std::os::fd::AsRawFd;
            let raw = |f: &Option<OwnedFd>| f.as_ref().map(|f| f.as_raw_fd());
            let mut fds = Vec::with_capacity(4);
            let mut which = Vec::with_capacity(4);
            for (i, fd, ev) in [
                (0, raw(&self.stdout), libc::POLLIN),
                (1, raw(&self.stderr), libc::POLLIN),
                (2, raw(&self.stdin), libc::POLLOUT),
                (3, raw(&self.pidfd), libc::POLLIN),
            ] {
                if let Some(fd) = fd {
                    fds.push((fd, ev));
                    which.push(i);
                }
            }
            // Done when no pipe is left (the pidfd alone is not a reason to
            // poll: waitpid follows).
            if which.iter().all(|w| *w == 3) {
                return Ok(());
            }
            if interrupted() {
                return Err(self.interrupted_error("wait"));
            }
            if terminal {
                super::continue_terminal_stop(self.pid, &self.status);
            }
            let mut revents = vec![0i16; fds.len()];
            crate::os::signals::wait_until(&fds, &mut revents, None)
                .map_err(|e| Error::sys("wait: poll", e))?;
            let ready: Vec<(usize, bool)> = revents
                .iter()
                .zip(&which)
                .map(|(r, w)| (*w, *r != 0))
                .collect();
            let mut exited = false;
            for (w, ready) in ready {
                if !ready {
                    continue;
                }
                match w {
                    0 | 1 => {
                        let (slot, sink) = if w == 0 {
                            (&mut self.stdout, &mut self.out)
                        } else {
                            (&mut self.stderr, &mut self.err)
                        };
                        if let Some(fd) = slot {
                            match nix::unistd::read(&*fd, &mut buf) {
                                Ok(0) => *slot = None,
                                Ok(n) => sink.extend_from_slice(buf.get(..n).unwrap_or(&[])),
                                Err(Errno::EINTR) | Err(Errno::EAGAIN) => {}
                                Err(_) => *slot = None,
                            }
                        }
                    }
                    2 => {
                        if let (Some(fd), Some((data, off))) = (&self.stdin, input.as_mut()) {
                            match nix::unistd::write(fd, data.get(*off..).unwrap_or(&[])) {
                                Ok(n) => *off += n,
                                Err(Errno::EINTR) | Err(Errno::EAGAIN) => {}
                                Err(_) => *off = data.len(), // EPIPE: it stopped reading
                            }
                            if *off >= data.len() {
                                self.stdin = None;
                                input = None;
                            }
                        } else {
                            self.stdin = None;
                        }
                    }
                    _ => exited = true,
                }
            }
            if exited {
                // Gone: take whatever is still buffered in the pipes, but
                // do not wait for EOF (a grandchild may hold them open).
                self.drain_nonblocking(&mut buf);
                return Ok(());
            }
        }
    }

    fn drain_nonblocking(&mut self, buf: &mut [u8]) {
        for w in 0..2 {
            let (slot, sink) = if w == 0 {
                (&mut self.stdout, &mut self.out)
            } else {
                (&mut self.stderr, &mut self.err)
            };
            if let Some(fd) = slot.take() {
                let _ = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_SETFL(OFlag::O_NONBLOCK));
                while let Ok(n) = nix::unistd::read(&fd, buf) {
                    if n == 0 {
                        break;
                    }
                    sink.extend_from_slice(buf.get(..n).unwrap_or(&[]));
                }
            }
        }
    }

    /// Writes to a piped stdin.
    pub fn write_stdin(&mut self, data: &[u8]) -> Result<()> {
        let fd = self.stdin.as_ref().ok_or_else(|| {
            Error::invalid(
                "write",
                "stdin is not a pipe (spawn with stdin: \"pipe\") or was closed",
            )
        })?;
        let mut off = 0;
        while off < data.len() {
            // A child that never reads fills the pipe: Ctrl-C or a signal
            // gives up.
            if crate::os::interrupted() {
                return Err(Error::with_errno(
                    "write",
                    Errno::EINTR,
                    format!("interrupted after {off} of {} bytes", data.len()),
                ));
            }
            use std::os::fd::AsRawFd;
            let mut r = [0i16];
            let ready =
                crate::os::signals::wait_until(&[(fd.as_raw_fd(), libc::POLLOUT)], &mut r, None)
                    .map_err(|e| Error::sys("write", e))?;
            if ready != crate::os::signals::Woken::Ready {
                continue;
            }
            match nix::unistd::write(fd, data.get(off..).unwrap_or(&[])) {
                Ok(n) => off += n,
                Err(Errno::EINTR) | Err(Errno::EAGAIN) => {}
                Err(e) => return Err(Error::sys("write", e)),
            }
        }
        Ok(())
    }
}

/// The terminal lent to a child's process group while it is waited on;
/// dropping it takes the terminal back (the REPL ignores SIGTTOU for this).
pub(super) struct Foreground {
    ours: libc::pid_t,
}

impl Foreground {
    pub(super) fn give(pgid: i32) -> Option<Foreground> {
        // SAFETY: terminal calls on fd 0 with our own process group ids.
        unsafe {
            if libc::isatty(0) != 1 {
                return None;
            }
            let ours = libc::tcgetpgrp(0);
            if ours != libc::getpgrp() || libc::tcsetpgrp(0, pgid) != 0 {
                return None;
            }
            Some(Foreground { ours })
        }
    }
}

impl Drop for Foreground {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe { libc::tcsetpgrp(0, self.ours) };
    }
}
