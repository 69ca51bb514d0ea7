//! The processes that keep a topology's namespaces alive.
//!
//! A node (host or switch) is a forked copy of nsscript that runs nothing:
//! `start` forks it into new namespaces (the same setup as `spawn`), and
//! it waits there, reaping whatever ends below it, until it is killed. No
//! program is exec'd: starting a node costs a fork and the kernel's work on
//! the namespaces, which matters for topologies of a hundred nodes. As
//! root, `start` makes it directly. An unprivileged user cannot move a
//! link between two network namespaces unless it holds CAP_NET_ADMIN over
//! both, so every node's namespaces must belong to one user namespace of
//! its own: `spawn_under` starts the node from inside the user namespace of
//! an owner process. Either way the node dies with nsscript, SIGKILL
//! included (PR_SET_PDEATHSIG), and its namespaces with it.

use crate::os::ns::{Namespace, NsSet};
use crate::os::nsfs::Target;
use crate::os::process::{self, Child, Forked};
use crate::os::setup::Spec;
use crate::os::{Context, Error, Result};
use nix::errno::Errno;
use std::io::{Read, Write};
use std::sync::Arc;

/// Starts a node in the namespaces `spec` asks for (its argv is not
/// used) and returns it once they are set up. It shows as `name` in ps.
pub fn start(spec: &Spec, name: &str) -> Result<Child> {
    match process::fork("topology", spec)? {
        Forked::Parent(child) => Ok(child),
        Forked::Child => idle(name),
    }
}

extern "C" fn wake(_: libc::c_int) {}

/// What a node does all its life: nothing, as an init would. Its stdio goes
/// to /dev/null and every other fd is closed (a socket inherited from the
/// interpreter would keep another node's network namespace alive); it
/// reaps what ends below it (it is pid 1 of a host with a pid namespace of
/// its own) and otherwise sleeps until killed.
fn idle(name: &str) -> ! {
    let comm = std::ffi::CString::new(
        name.as_bytes()
            .iter()
            .take(15)
            .copied()
            .collect::<Vec<u8>>(),
    )
    .unwrap_or_default();
    // SAFETY: plain syscalls on this process's own fds, name and signals.
    unsafe {
        libc::prctl(libc::PR_SET_NAME, comm.as_ptr(), 0, 0, 0);
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        for fd in 0..3 {
            libc::dup2(null, fd);
        }
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
        // The interpreter's handlers mean nothing here; SIGCHLD gets one
        // that does nothing but end pause().
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGPIPE] {
            libc::signal(sig, libc::SIG_DFL);
        }
        libc::signal(
            libc::SIGCHLD,
            wake as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
        loop {
            let mut status = 0;
            if libc::waitpid(-1, &mut status, 0) < 0 && Errno::last() == Errno::ECHILD {
                libc::pause();
            }
        }
    }
}

/// Starts `spec` as a child of a forked helper that first joined the user
/// namespace of `owner` (as root there), so the namespaces `spec` asks for
/// belong to that user namespace. Returns the helper, which stays as the
/// node's parent and ends with it (killing the helper kills the node:
/// PR_SET_PDEATHSIG), and the node's pid.
pub fn spawn_under(op: &str, owner: i32, spec: &Spec, name: &str) -> Result<(Child, i32)> {
    let user: NsSet = [Namespace::User].into_iter().collect();
    let relay = Spec {
        join: Some(Arc::new(Target::of_pid(op, i64::from(owner), user, false)?)),
        ..Spec::default()
    };
    let (rd, wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).op(&format!("{op}: pipe"))?;
    match process::fork(op, &relay)? {
        Forked::Child => {
            drop(rd);
            let mut out = std::fs::File::from(wr);
            let code = match start(spec, name) {
                Ok(node) => {
                    let pid = node.pid;
                    let _ = out.write_all(b"P");
                    let _ = out.write_all(&pid.to_ne_bytes());
                    drop(out);
                    // Nothing of the interpreter's is needed any more: close
                    // every fd (sockets held open would keep other nodes'
                    // namespaces alive) and wait for the node.
                    // SAFETY: plain syscalls on our own fds and child.
                    unsafe {
                        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
                        for fd in 0..3 {
                            libc::dup2(null, fd);
                        }
                        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
                    }
                    let mut status = 0;
                    loop {
                        // SAFETY: waiting for our own child.
                        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
                        if r >= 0 || Errno::last() != Errno::EINTR {
                            break;
                        }
                    }
                    std::mem::forget(node);
                    if libc::WIFEXITED(status) {
                        libc::WEXITSTATUS(status)
                    } else {
                        128 + libc::WTERMSIG(status)
                    }
                }
                Err(e) => {
                    let errno = e.errno.map_or(0, |e| e as i32);
                    let text = format!("{}\0{}\0{}", e.op, e.detail, e.hint.unwrap_or_default());
                    let _ = out.write_all(b"E");
                    let _ = out.write_all(&errno.to_ne_bytes());
                    let _ = out.write_all(text.as_bytes());
                    1
                }
            };
            // SAFETY: leaving the forked helper.
            unsafe { libc::_exit(code) }
        }
        Forked::Parent(helper) => {
            drop(wr);
            let mut answer = Vec::new();
            let _ = std::fs::File::from(rd).read_to_end(&mut answer);
            match answer.split_first() {
                Some((b'P', pid)) if pid.len() == 4 => {
                    let pid = i32::from_ne_bytes([pid[0], pid[1], pid[2], pid[3]]);
                    Ok((helper, pid))
                }
                Some((b'E', rest)) if rest.len() >= 4 => {
                    let errno = i32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]);
                    let text = String::from_utf8_lossy(&rest[4..]).into_owned();
                    let mut parts = text.split('\0');
                    let mut e = Error {
                        op: parts.next().unwrap_or(op).to_string(),
                        errno: (errno != 0).then(|| Errno::from_raw(errno)),
                        detail: parts.next().unwrap_or("").to_string(),
                        hint: None,
                    };
                    if let Some(h) = parts.next().filter(|h| !h.is_empty()) {
                        e = e.hint(h);
                    }
                    Err(e)
                }
                _ => Err(Error::with_errno(
                    op,
                    Errno::ECHILD,
                    format!(
                        "the helper in process {owner}'s user namespace ended without starting the node"
                    ),
                )),
            }
        }
    }
}

/// The kinds to join to run a command in the node whose process is `pid`:
/// its own namespaces of `kinds`, and its user namespace when that is not
/// ours (an unprivileged topology).
pub fn join_kinds(pid: i32, kinds: NsSet) -> Result<NsSet> {
    let mut k = kinds;
    let theirs = crate::os::procfs::ns_link(Some(i64::from(pid)), Namespace::User)?;
    let ours = crate::os::procfs::ns_link(None, Namespace::User)?;
    if theirs != ours {
        k.insert(Namespace::User);
    }
    Ok(k)
}
