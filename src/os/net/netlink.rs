//! The rtnetlink socket: opening it (here, or inside another process's
//! network namespace), sending one request and reading its replies, and
//! turning the kernel's NLMSG_ERROR into an `Error` that names the request.
//!
//! Everything is synchronous and single-threaded. A netlink socket acts on
//! the network namespace it was opened in, so one socket per namespace can
//! be kept and reused from anywhere (`socket_in`).

use super::convert::request_name;
use super::parse::no_such_link;
use crate::os::ns::{Namespace, NsSet};
use crate::os::nsfs::{self, Target};
use crate::os::procfs;
use crate::os::{Context, Error, Result};
use netlink_packet_core::{
    NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_REQUEST,
};
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use nix::errno::Errno;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};

/// What to do about EPERM from any rtnetlink change.
const HINT_EPERM: &str =
    "needs CAP_NET_ADMIN in the network namespace: run as root or inside a user namespace you own";

/// A NETLINK_ROUTE socket. It acts on the network namespace it was opened
/// in, wherever the process goes afterwards, and keeps that namespace
/// alive while it is open.
pub struct Rtnl {
    sock: Socket,
    seq: u32,
    /// The process whose network namespace the socket was opened in, when
    /// not the caller's (for the trace: `nsenter -t PID -n ip ...`).
    netns_of: Option<i32>,
}

impl Rtnl {
    /// A socket in the caller's current network namespace.
    pub fn open(op: &str) -> Result<Rtnl> {
        let sock = Socket::new(NETLINK_ROUTE)
            .map_err(|e| Error::io(op, &e).detail("socket(AF_NETLINK, NETLINK_ROUTE)"))?;
        Rtnl::bound(op, sock)
    }

    /// A socket in the network namespace of process `pid` (see
    /// `socket_in`), to be used from here.
    pub fn in_netns_of(op: &str, pid: i32) -> Result<Rtnl> {
        let fd = socket_in(
            op,
            pid,
            libc::AF_NETLINK,
            libc::SOCK_RAW,
            NETLINK_ROUTE as libc::c_int,
        )?;
        // SAFETY: a fresh socket fd that nothing else owns.
        let sock = unsafe { Socket::from_raw_fd(fd.into_raw_fd()) };
        let mut nl = Rtnl::bound(op, sock)?;
        nl.netns_of = Some(pid);
        Ok(nl)
    }

    /// With tracing on, a request as the `ip` (or `tc`) command that does
    /// the same, with its result: `ip link add a type veth peer name b = 0`.
    pub(super) fn traced<T>(&self, r: &Result<T>, cmd: impl FnOnce() -> String) {
        if !crate::os::trace::enabled() {
            return;
        }
        let ret = match r {
            Ok(_) => "0".to_string(),
            Err(e) => match e.errno {
                Some(n) => format!("-1 {} ({})", crate::os::errno_name(n), n.desc()),
                None => format!("-1 ({})", e.detail),
            },
        };
        let at = match self.netns_of {
            Some(p) => format!("nsenter -t {p} -n "),
            None => String::new(),
        };
        crate::os::trace::emit_line(crate::os::ident::pid(), &format!("{at}{} = {ret}", cmd()));
    }

    fn bound(op: &str, mut sock: Socket) -> Result<Rtnl> {
        sock.bind_auto()
            .map_err(|e| Error::io(op, &e).detail("bind(AF_NETLINK)"))?;
        // Best effort, for better errors: extended ACKs carry the kernel's
        // own error text (since 4.12); capped ACKs do not echo the request.
        let _ = sock.set_ext_ack(true);
        let _ = sock.set_cap_ack(true);
        Ok(Rtnl {
            sock,
            seq: 0,
            netns_of: None,
        })
    }

    /// The index of link `name`: RTM_GETLINK with IFLA_IFNAME.
    pub(super) fn index_of(&mut self, op: &str, name: &str) -> Result<u32> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        let replies = self
            .request(op, RouteNetlinkMessage::GetLink(msg), NLM_F_ACK)
            .map_err(|e| match e.errno {
                Some(Errno::ENODEV) => e.hint(no_such_link(name)),
                _ => e,
            })?;
        replies
            .into_iter()
            .find_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(l.header.index),
                _ => None,
            })
            .ok_or_else(|| {
                Error::with_errno(op, Errno::ENODEV, format!("no reply for link '{name}'"))
                    .hint(no_such_link(name))
            })
    }

    /// Sends one request and collects the messages of its reply, up to
    /// NLMSG_DONE (dumps) or the ACK (everything else: NLM_F_ACK is set).
    /// An NLMSG_ERROR with a negative code becomes that errno.
    pub(super) fn request(
        &mut self,
        op: &str,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<Vec<RouteNetlinkMessage>> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        // Errors from the kernel name the request: "veth: RTM_NEWLINK".
        let kop = format!("{op}: {}", request_name(&msg));
        let op = kop.as_str();
        let mut nlmsg = NetlinkMessage::from(msg);
        nlmsg.header.flags = NLM_F_REQUEST | flags;
        nlmsg.header.sequence_number = seq;
        nlmsg.finalize();
        let mut buf = vec![0u8; nlmsg.buffer_len()];
        nlmsg.serialize(&mut buf);
        let kernel = SocketAddr::new(0, 0);
        loop {
            match self.sock.send_to(&buf, &kernel, 0) {
                Ok(_) => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(with_net_hints(Error::io(op, &e).detail("send"))),
            }
        }

        let mut out = Vec::new();
        loop {
            let datagram = self.recv(op)?;
            let mut off = 0;
            while off < datagram.len() {
                let rest = &datagram[off..];
                let len = rest
                    .get(..4)
                    .and_then(|b| b.try_into().ok())
                    .map(u32::from_ne_bytes)
                    .unwrap_or(0) as usize;
                if len < 16 || len > rest.len() {
                    return Err(bad_reply(op, "truncated netlink message"));
                }
                off += (len + 3) & !3;
                let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&rest[..len])
                    .map_err(|e| bad_reply(op, &e.to_string()))?;
                if reply.header.sequence_number != seq {
                    continue; // not ours (cannot happen on a fresh socket)
                }
                let outer_flags = reply.header.flags;
                match reply.payload {
                    // A lone reply to a non-dump request is followed by the
                    // ACK we asked for: keep reading either way.
                    NetlinkPayload::InnerMessage(m) => out.push(m),
                    NetlinkPayload::Done(d) => {
                        if d.code < 0 {
                            let mut e = kernel_error(op, d.code, &[], 0);
                            if let Some(msg) = tlv_message(&d.extended_ack) {
                                e = e.detail(msg);
                            }
                            return Err(e);
                        }
                        return Ok(out);
                    }
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => Ok(out),
                            Some(c) => Err(kernel_error(op, c.get(), &e.header, outer_flags)),
                        };
                    }
                    NetlinkPayload::Overrun(_) => {
                        return Err(bad_reply(op, "the kernel reported a netlink overrun"))
                    }
                    _ => {}
                }
            }
        }
    }

    /// One whole datagram: peek at its size first, so nothing is truncated.
    fn recv(&self, op: &str) -> Result<Vec<u8>> {
        loop {
            let mut peek: Vec<u8> = Vec::new();
            let size = match self.sock.recv(&mut peek, libc::MSG_PEEK | libc::MSG_TRUNC) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(with_net_hints(Error::io(op, &e).detail("recv"))),
            };
            let mut buf: Vec<u8> = Vec::with_capacity(size.max(16));
            match self.sock.recv(&mut buf, 0) {
                Ok(_) => return Ok(buf),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(with_net_hints(Error::io(op, &e).detail("recv"))),
            }
        }
    }
}

fn bad_reply(op: &str, why: &str) -> Error {
    Error::with_errno(
        op,
        Errno::EBADMSG,
        format!("could not decode the kernel's netlink reply: {why}"),
    )
}

/// An errno from NLMSG_ERROR/NLMSG_DONE, with the kernel's extended-ACK
/// message (NLMSGERR_ATTR_MSG) as detail when it sent one.
fn kernel_error(op: &str, code: i32, payload: &[u8], outer_flags: u16) -> Error {
    let errno = Errno::from_raw(code.checked_abs().unwrap_or(libc::EIO));
    let mut e = Error::sys(op, errno);
    if let Some(msg) = ext_ack_message(payload, outer_flags) {
        e = e.detail(msg);
    }
    with_net_hints(e)
}

/// The error payload after the code is the echoed request (only its header
/// when NLM_F_CAPPED), then, with NLM_F_ACK_TLVS, attributes; attribute 1
/// (NLMSGERR_ATTR_MSG) is a NUL-terminated message.
fn ext_ack_message(payload: &[u8], outer_flags: u16) -> Option<String> {
    if outer_flags & NLM_F_ACK_TLVS == 0 {
        return None;
    }
    let echoed = if outer_flags & NLM_F_CAPPED != 0 {
        16
    } else {
        let len = u32::from_ne_bytes(payload.get(..4)?.try_into().ok()?) as usize;
        (len + 3) & !3
    };
    tlv_message(payload.get(echoed..)?)
}

/// The NLMSGERR_ATTR_MSG text among extended-ACK attributes.
fn tlv_message(mut tlvs: &[u8]) -> Option<String> {
    while tlvs.len() >= 4 {
        let len = u16::from_ne_bytes([tlvs[0], tlvs[1]]) as usize;
        let kind = u16::from_ne_bytes([tlvs[2], tlvs[3]]) & 0x3fff;
        if len < 4 || len > tlvs.len() {
            return None;
        }
        if kind == 1 {
            let text = &tlvs[4..len];
            let text = text.split(|b| *b == 0).next().unwrap_or(text);
            return Some(String::from_utf8_lossy(text).into_owned());
        }
        tlvs = tlvs.get((len + 3) & !3..)?;
    }
    None
}

/// Hints every rtnetlink call shares.
fn with_net_hints(e: Error) -> Error {
    match e.errno {
        Some(Errno::EPERM) | Some(Errno::EACCES) => e.hint(HINT_EPERM),
        _ => e,
    }
}

// ---------------------------------------------------------------------------
// Sockets in other network namespaces
// ---------------------------------------------------------------------------

/// An open file of process `pid`'s network namespace (/proc/PID/ns/net),
/// for IFLA_NET_NS_FD: a link created or moved with it lands there.
pub fn netns_fd(op: &str, pid: i32) -> Result<OwnedFd> {
    let path = format!("/proc/{pid}/ns/net");
    nix::fcntl::open(
        path.as_str(),
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| dead_or(op, pid, Error::sys(format!("{op}: open({path})"), e)))
}

/// ESRCH with a hint when `pid` is gone, else `e`.
fn dead_or(op: &str, pid: i32, e: Error) -> Error {
    if std::path::Path::new(&format!("/proc/{pid}")).exists() {
        e
    } else {
        Error::with_errno(
            op,
            Errno::ESRCH,
            format!("process {pid} does not exist (any more)"),
        )
        .hint("the process exited, or was never there; its namespaces are gone with it")
    }
}

fn socket_here(op: &str, domain: i32, ty: i32, proto: i32) -> Result<OwnedFd> {
    // SAFETY: socket(2) with plain integer arguments.
    let fd = unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, proto) };
    if fd < 0 {
        return Err(Error::sys(format!("{op}: socket"), Errno::last()));
    }
    // SAFETY: a fresh fd.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A socket (`socket(domain, ty, proto)`) opened inside the network
/// namespace of process `pid`, for use from here: a netlink socket then
/// changes links there, a raw socket sends from there.
///
/// With CAP_SYS_ADMIN over both namespaces (root) the interpreter joins
/// the target's network namespace, opens the socket and comes back: setns
/// of a network namespace can be undone, and the user namespace is never
/// touched. Without it (an unprivileged user whose namespaces hang under a
/// user namespace of its own), a short-lived forked child joins the
/// target's user and network namespaces, opens the socket there and sends
/// it back over a socketpair (SCM_RIGHTS); the kernel checks the rights of
/// whoever opened a socket, and the opener was root in that user namespace.
pub fn socket_in(op: &str, pid: i32, domain: i32, ty: i32, proto: i32) -> Result<OwnedFd> {
    let theirs =
        procfs::ns_link(Some(i64::from(pid)), Namespace::Net).map_err(|e| dead_or(op, pid, e))?;
    let ours = procfs::ns_link(None, Namespace::Net)?;
    if theirs == ours {
        return socket_here(op, domain, ty, proto);
    }
    let net: NsSet = [Namespace::Net].into_iter().collect();
    let target = Target::of_pid(op, i64::from(pid), net, false)?;
    let here = nix::fcntl::open(
        "/proc/thread-self/ns/net",
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .op(&format!("{op}: open(/proc/thread-self/ns/net)"))?;
    match nsfs::setns(op, &target) {
        Ok(()) => {
            let s = socket_here(op, domain, ty, proto);
            // Back to where we were, whatever happened.
            nix::sched::setns(&here, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| {
                Error::sys(format!("{op}: setns(back to our own network namespace)"), e)
            })?;
            s
        }
        Err(e) if e.errno == Some(Errno::EPERM) => socket_via_child(op, pid, domain, ty, proto),
        Err(e) => Err(e),
    }
}

/// How the child of `socket_via_child` fared: which step failed.
const VIA_OK: u8 = 0;
const VIA_JOIN: u8 = 1;
const VIA_SOCKET: u8 = 2;

/// `socket_in` for an unprivileged caller: a forked child joins `pid`'s
/// user namespace (becoming root there, where it maps root) and network
/// namespace, opens the socket and passes it back.
fn socket_via_child(op: &str, pid: i32, domain: i32, ty: i32, proto: i32) -> Result<OwnedFd> {
    use nix::sys::socket::{
        recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
        SockFlag, SockType, UnixAddr,
    };
    use std::io::{IoSlice, IoSliceMut};

    let mine = procfs::ns_link(None, Namespace::User)?;
    let theirs =
        procfs::ns_link(Some(i64::from(pid)), Namespace::User).map_err(|e| dead_or(op, pid, e))?;
    let mut kinds: NsSet = [Namespace::Net].into_iter().collect();
    if mine != theirs {
        kinds.insert(Namespace::User);
    }
    let target = Target::of_pid(op, i64::from(pid), kinds, false)?;
    let (parent_end, child_end) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .op(&format!("{op}: socketpair"))?;
    let me = nix::unistd::getpid();
    // SAFETY: fork in a single-threaded process; the child only makes
    // system calls and leaves with _exit.
    let child = unsafe { libc::fork() };
    if child < 0 {
        return Err(Error::sys(format!("{op}: fork"), Errno::last()));
    }
    if child == 0 {
        drop(parent_end);
        // SAFETY: plain prctl; then make sure the parent is still there.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
        if nix::unistd::getppid() != me {
            // SAFETY: leaving the forked child.
            unsafe { libc::_exit(1) }
        }
        let (stage, errno, fd) = match nsfs::setns(op, &target) {
            Err(e) => (VIA_JOIN, e.errno.map_or(libc::EIO, |e| e as i32), None),
            Ok(()) => match socket_here(op, domain, ty, proto) {
                Ok(s) => (VIA_OK, 0, Some(s)),
                Err(e) => (VIA_SOCKET, e.errno.map_or(libc::EIO, |e| e as i32), None),
            },
        };
        let mut msg = [stage, 0, 0, 0, 0];
        msg[1..].copy_from_slice(&errno.to_ne_bytes());
        let raw: Vec<i32> = fd.iter().map(|f| f.as_raw_fd()).collect();
        let cmsgs = if raw.is_empty() {
            vec![]
        } else {
            vec![ControlMessage::ScmRights(&raw)]
        };
        let sent = sendmsg::<UnixAddr>(
            child_end.as_raw_fd(),
            &[IoSlice::new(&msg)],
            &cmsgs,
            MsgFlags::empty(),
            None,
        );
        // SAFETY: leaving the forked child.
        unsafe { libc::_exit(i32::from(sent.is_err())) }
    }
    drop(child_end);
    let mut msg = [0u8; 5];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let got = loop {
        let mut iov = [IoSliceMut::new(&mut msg)];
        match recvmsg::<UnixAddr>(
            parent_end.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Err(Errno::EINTR) => continue,
            Err(e) => break Err(e),
            Ok(r) => {
                let mut fd = None;
                let Ok(cmsgs) = r.cmsgs() else {
                    break Err(Errno::EBADMSG);
                };
                for c in cmsgs {
                    if let ControlMessageOwned::ScmRights(fds) = c {
                        for f in fds {
                            // SAFETY: received fds are ours to own.
                            let owned = unsafe { OwnedFd::from_raw_fd(f) };
                            fd.get_or_insert(owned);
                        }
                    }
                }
                break Ok((r.bytes, fd));
            }
        }
    };
    // The child is done either way: reap it.
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(child, &mut status, 0) };
    let (n, fd) = got.op(&format!("{op}: recvmsg"))?;
    let errno = Errno::from_raw(i32::from_ne_bytes([msg[1], msg[2], msg[3], msg[4]]));
    match (n, msg[0], fd) {
        (5, VIA_OK, Some(fd)) => Ok(fd),
        (5, VIA_JOIN, _) => Err(nsfs::join_hint(
            Error::sys(
                format!("{op}: setns({}, {})", target.what, target.ns.flag_names()),
                errno,
            ),
            errno,
        )),
        (5, VIA_SOCKET, _) => Err(Error::sys(format!("{op}: socket"), errno)),
        _ => Err(dead_or(
            op,
            pid,
            Error::with_errno(
                op,
                Errno::ECHILD,
                "the helper that opens a socket in the target's namespaces ended without an answer",
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ext_ack_message_is_read_from_capped_errors() {
        // 16 bytes of echoed header, then NLMSGERR_ATTR_MSG "boom\0".
        let mut p = vec![0u8; 16];
        p.extend_from_slice(&9u16.to_ne_bytes());
        p.extend_from_slice(&1u16.to_ne_bytes());
        p.extend_from_slice(b"boom\0\0\0\0");
        assert_eq!(
            ext_ack_message(&p, NLM_F_CAPPED | NLM_F_ACK_TLVS).as_deref(),
            Some("boom")
        );
        assert_eq!(ext_ack_message(&p, NLM_F_CAPPED), None);
        assert_eq!(
            ext_ack_message(&p[..18], NLM_F_CAPPED | NLM_F_ACK_TLVS),
            None
        );
    }
}
