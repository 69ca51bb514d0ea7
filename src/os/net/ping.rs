//! ICMP echo between network namespaces: what `ping -c 1 -W 1` does for
//! every ordered pair of hosts, with all the requests in flight at once.
//!
//! Each host gets a raw ICMP socket opened inside its own network namespace
//! (`socket_in`), so a request leaves from the host's address and its
//! reply comes back to that socket: the traffic is real, it crosses the
//! host's links and switches like any other packet. An ICMP_FILTER lets
//! only echo replies reach the sockets.

use crate::os::{Error, Result};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// One host taking part: a raw ICMP socket opened in its namespace
/// (`socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_ICMP)`), and the
/// address other hosts reach it at.
pub struct Pinger {
    pub sock: OwnedFd,
    pub addr: Ipv4Addr,
}

/// What `ping_all` saw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PingAll {
    /// Ordered pairs of distinct hosts: n * (n - 1).
    pub pairs: usize,
    /// Echo requests the kernel accepted.
    pub sent: usize,
    /// Echo replies that came back, one per pair at most.
    pub received: usize,
    /// The pairs (from, to) without a reply, by index.
    pub lost: Vec<(usize, usize)>,
    /// Round-trip times of the replies, in milliseconds.
    pub rtt_avg_ms: f64,
    pub rtt_max_ms: f64,
}

const ICMP_ECHO: u8 = 8;
const ICMP_ECHOREPLY: u8 = 0;
/// ping's default: 56 bytes of data after the 8-byte ICMP header.
const PAYLOAD: usize = 56;
/// SOL_RAW and ICMP_FILTER (linux/icmp.h): a mask of ICMP types to drop.
const SOL_RAW: i32 = 255;
const ICMP_FILTER: i32 = 1;

/// The Internet checksum (RFC 1071).
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for pair in data.chunks(2) {
        let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
        sum = sum.wrapping_add(u32::from(word));
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An echo request with identifier `id`, sequence `seq` and the time it
/// leaves (nanoseconds since `t0`) in its data.
fn echo_request(id: u16, seq: u16, stamp: u64) -> [u8; 8 + PAYLOAD] {
    let mut p = [0u8; 8 + PAYLOAD];
    p[0] = ICMP_ECHO;
    p[4..6].copy_from_slice(&id.to_be_bytes());
    p[6..8].copy_from_slice(&seq.to_be_bytes());
    p[8..16].copy_from_slice(&stamp.to_be_bytes());
    let c = checksum(&p);
    p[2..4].copy_from_slice(&c.to_be_bytes());
    p
}

/// An echo reply read from a raw socket (IP header first): its source,
/// identifier, sequence and the stamp the request carried.
fn parse_reply(buf: &[u8]) -> Option<(Ipv4Addr, u16, u16, u64)> {
    let ihl = usize::from(buf.first()? & 0x0f) * 4;
    if buf.first()? >> 4 != 4 || ihl < 20 || buf.len() < ihl {
        return None;
    }
    let src = Ipv4Addr::new(buf[12], buf[13], buf[14], buf[15]);
    let icmp = buf.get(ihl..)?;
    if icmp.len() < 16 || icmp[0] != ICMP_ECHOREPLY || checksum(icmp) != 0 {
        return None;
    }
    let id = u16::from_be_bytes([icmp[4], icmp[5]]);
    let seq = u16::from_be_bytes([icmp[6], icmp[7]]);
    let stamp = u64::from_be_bytes(icmp[8..16].try_into().ok()?);
    Some((src, id, seq, stamp))
}

/// Lets only echo replies through to a raw ICMP socket.
pub fn only_echo_replies(op: &str, sock: &OwnedFd) -> Result<()> {
    let mask: u32 = !(1u32 << ICMP_ECHOREPLY);
    // SAFETY: setsockopt with a pointer to a live u32 and its size.
    let r = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            SOL_RAW,
            ICMP_FILTER,
            (&mask as *const u32).cast(),
            std::mem::size_of::<u32>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(Error::sys(
            format!("{op}: setsockopt(ICMP_FILTER)"),
            Errno::last(),
        ));
    }
    Ok(())
}

fn send_to(sock: &OwnedFd, to: Ipv4Addr, packet: &[u8]) -> std::result::Result<(), Errno> {
    let addr = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from(to).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: sendto with a live buffer and a sockaddr_in of the right size.
    let r = unsafe {
        libc::sendto(
            sock.as_raw_fd(),
            packet.as_ptr().cast(),
            packet.len(),
            0,
            (&addr as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// The state of one `ping_all`.
struct Round<'a> {
    hosts: &'a [Pinger],
    id: u16,
    t0: Instant,
    /// replied[i * n + j]: host i heard back from host j.
    replied: Vec<bool>,
    received: usize,
    rtts: Vec<f64>,
}

impl Round<'_> {
    /// Reads every reply waiting on host `i`'s socket.
    fn drain(&mut self, i: usize) {
        let n = self.hosts.len();
        let mut buf = [0u8; 1500];
        loop {
            // SAFETY: recv into a live buffer of its size.
            let got = unsafe {
                libc::recv(
                    self.hosts[i].sock.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if got < 0 {
                if Errno::last() == Errno::EINTR {
                    continue;
                }
                return;
            }
            let Some((src, id, seq, stamp)) = parse_reply(&buf[..got as usize]) else {
                continue;
            };
            let j = usize::from(seq);
            if id != self.id || j >= n || j == i || self.hosts[j].addr != src {
                continue;
            }
            if !self.replied[i * n + j] {
                self.replied[i * n + j] = true;
                self.received += 1;
                let now = self.t0.elapsed().as_nanos() as u64;
                self.rtts.push(now.saturating_sub(stamp) as f64 / 1e6);
            }
        }
    }

    fn drain_all(&mut self) {
        for i in 0..self.hosts.len() {
            self.drain(i);
        }
    }

    /// Waits up to `left` for replies on any socket, then reads them.
    fn wait(&mut self, left: Duration) -> Result<()> {
        let mut fds: Vec<PollFd> = self
            .hosts
            .iter()
            .map(|h| PollFd::new(h.sock.as_fd(), PollFlags::POLLIN))
            .collect();
        let ms = u16::try_from(left.as_millis().max(1)).unwrap_or(u16::MAX);
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(Error::sys("pingall: poll", e)),
        }
        let ready: Vec<usize> = fds
            .iter()
            .enumerate()
            .filter(|(_, f)| f.revents().is_some_and(|r| !r.is_empty()))
            .map(|(i, _)| i)
            .collect();
        drop(fds);
        for i in ready {
            self.drain(i);
        }
        Ok(())
    }
}

/// Sends one echo request from every host to every other one and counts
/// the replies that come back within `timeout` of the last request. The
/// requests go out in rounds (in round r host i asks host i + r), reading
/// replies between rounds, so no socket's queue overflows. `interrupted`
/// is asked between rounds and while waiting.
pub fn ping_all(
    hosts: &[Pinger],
    timeout: Duration,
    interrupted: &dyn Fn() -> bool,
) -> Result<PingAll> {
    let n = hosts.len();
    if n > usize::from(u16::MAX) {
        return Err(Error::invalid(
            "pingall",
            format!("{n} hosts: at most {} take part in one pingall", u16::MAX),
        ));
    }
    // An identifier of our own, so replies to anyone else's ping (a `ping`
    // run in a host at the same time) are not counted.
    let id = (std::process::id() as u16) ^ 0x6e73;
    let mut round = Round {
        hosts,
        id,
        t0: Instant::now(),
        replied: vec![false; n * n],
        received: 0,
        rtts: Vec::new(),
    };
    let mut sent = 0;
    let mut unsent = vec![false; n * n];
    for r in 1..n {
        for i in 0..n {
            let j = (i + r) % n;
            let stamp = round.t0.elapsed().as_nanos() as u64;
            let packet = echo_request(id, j as u16, stamp);
            let mut tries = 0;
            loop {
                match send_to(&hosts[i].sock, hosts[j].addr, &packet) {
                    Ok(()) => {
                        sent += 1;
                        break;
                    }
                    // The socket's send queue is full (requests waiting
                    // for ARP): read replies, let it drain, try again.
                    Err(Errno::EAGAIN | Errno::ENOBUFS | Errno::EINTR) if tries < 100 => {
                        tries += 1;
                        round.wait(Duration::from_millis(1))?;
                    }
                    Err(_) => {
                        unsent[i * n + j] = true;
                        break;
                    }
                }
            }
        }
        round.drain_all();
        if interrupted() {
            return Err(Error::with_errno("pingall", Errno::EINTR, "interrupted"));
        }
    }
    let deadline = Instant::now() + timeout;
    while round.received < sent {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        if interrupted() {
            return Err(Error::with_errno("pingall", Errno::EINTR, "interrupted"));
        }
        round.wait(left.min(Duration::from_millis(100)))?;
    }
    let mut lost = Vec::new();
    for i in 0..n {
        for j in 0..n {
            if i != j && !round.replied[i * n + j] {
                lost.push((i, j));
            }
        }
    }
    let count = round.rtts.len().max(1) as f64;
    Ok(PingAll {
        pairs: n * n.saturating_sub(1),
        sent,
        received: round.received,
        lost,
        rtt_avg_ms: round.rtts.iter().sum::<f64>() / count,
        rtt_max_ms: round.rtts.iter().cloned().fold(0.0, f64::max),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_carry_a_valid_checksum_and_replies_parse() {
        let req = echo_request(0x1234, 7, 99);
        assert_eq!(checksum(&req), 0);
        // The same packet as an echo reply behind a 20-byte IP header.
        let mut ip = vec![
            0x45, 0, 0, 84, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1,
        ];
        let mut reply = req;
        reply[0] = ICMP_ECHOREPLY;
        reply[2] = 0;
        reply[3] = 0;
        let c = checksum(&reply);
        reply[2..4].copy_from_slice(&c.to_be_bytes());
        ip.extend_from_slice(&reply);
        assert_eq!(
            parse_reply(&ip),
            Some((Ipv4Addr::new(10, 0, 0, 2), 0x1234, 7, 99))
        );
        // A request is not a reply; a broken checksum is not counted.
        ip[20] = ICMP_ECHO;
        assert_eq!(parse_reply(&ip), None);
        ip[20] = ICMP_ECHOREPLY;
        ip[30] ^= 1;
        assert_eq!(parse_reply(&ip), None);
        assert_eq!(parse_reply(&[0x45]), None);
    }
}
