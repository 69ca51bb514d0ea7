//! Network links, addresses, routes and traffic shaping over rtnetlink
//! (rtnetlink(7)), the protocol `ip` and `tc` themselves speak.
//!
//! Layout, each part using only those before it: `parse` checks what users
//! type, `convert` translates between the kernel's messages and the types
//! here, `netlink` owns the socket (here or in another process's network
//! namespace), and this module makes the requests. `ping` sends ICMP echo
//! requests from inside namespaces; `topo` is the shape of a topology of
//! hosts and switches.
//!
//! Every request goes through an `Rtnl` socket, which acts on the network
//! namespace it was opened in. The free functions open one in the current
//! namespace per call, so they are right after `unshare`/`setns` too;
//! `Rtnl::in_netns_of(pid)` opens one inside another process's namespace,
//! to be reused for many requests.

mod convert;
mod netlink;
pub mod node;
pub mod parse;
pub mod ping;
pub mod topo;

pub use netlink::{netns_fd, socket_in, Rtnl};

use super::{Error, Result};
use convert::{addr_from, link_from, netem_options, route_from, tbf_options, TCA_OPTIONS};
use netlink_packet_core::{
    DefaultNla, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage, AddressScope};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::tc::{TcAttribute, TcHandle, TcMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use nix::errno::Errno;
use parse::{check_ifname, no_such_link, parse_cidr, parse_network};
use std::collections::HashMap;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

/// One address on a link, as `ip addr` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr {
    /// `"inet"` or `"inet6"`.
    pub family: &'static str,
    /// The address itself, e.g. `"127.0.0.1"` or `"::1"`.
    pub local: String,
    pub prefix_len: u8,
    /// `"global"`, `"site"`, `"link"`, `"host"`, `"nowhere"`, or `"other"`.
    pub scope: &'static str,
}

/// One network link (interface) with its addresses, as `ip addr` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// The link's kind: `IFLA_INFO_KIND` (`"veth"`, `"bridge"`, ...) when the
    /// driver reports one, otherwise derived from the link type
    /// (`"loopback"`, `"ether"`, `"none"`, ...).
    pub kind: String,
    /// The operational state as `ip` prints it: `"UP"`, `"DOWN"`, `"UNKNOWN"`, ...
    pub state: String,
    /// The flags `ip` prints between `<` and `>`, in the same order.
    pub flags: Vec<String>,
    pub mtu: u32,
    /// The link-layer address (`"00:00:00:00:00:00"`), `""` when there is none.
    pub mac: String,
    /// The bridge (or bond) this link is enslaved to.
    pub master: Option<String>,
    pub addrs: Vec<Addr>,
}

/// Where `link_set` moves a link: the network namespace of a process, or one
/// given by an open namespace file descriptor (`/proc/PID/ns/net`, a bind
/// mount under `/run/netns`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetnsTarget {
    Pid(i32),
    Fd(RawFd),
}

/// The changes `link_set` makes; `None` leaves a property alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkSet {
    /// `ip link set NAME up` / `down`.
    pub up: Option<bool>,
    /// `ip link set NAME master BR`; `Some(None)` is `nomaster`.
    pub master: Option<Option<String>>,
    /// `ip link set NAME netns PID|NSFILE`.
    pub netns: Option<NetnsTarget>,
    /// `ip link set NAME mtu N`.
    pub mtu: Option<u32>,
    /// `ip link set NAME name NEW` (older kernels want the link down first).
    pub name: Option<String>,
}

/// A route to add: `ip route add DST [via GW] [dev DEV]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Route {
    /// Destination in CIDR form (`"10.0.0.0/24"`); `None` (or `"default"`)
    /// is the default route.
    pub dst: Option<String>,
    /// The gateway address.
    pub via: Option<String>,
    /// The output link.
    pub dev: Option<String>,
}

impl Route {
    /// Checks a route before any request: the destination (a network, its
    /// host bits zero), the gateway, the link's name, and that they agree
    /// on the address family. Returns (dst, via, is IPv6).
    #[allow(clippy::type_complexity)]
    pub fn checked(&self, op: &str) -> Result<(Option<(IpAddr, u8)>, Option<IpAddr>, bool)> {
        let dst = match self.dst.as_deref() {
            None | Some("default") => None,
            Some(d) => Some(parse_network(op, d)?),
        };
        let via = match self.via.as_deref() {
            None => None,
            Some(v) => Some(
                v.parse::<IpAddr>()
                    .map_err(|_| Error::invalid(op, format!("via '{v}' is not an IP address")))?,
            ),
        };
        if via.is_none() && self.dev.is_none() {
            return Err(Error::invalid(
                op,
                "give via (a gateway), dev (a link), or both",
            ));
        }
        if let Some(dev) = &self.dev {
            check_ifname(op, dev)?;
        }
        let v6 = match (dst, via) {
            (Some((d, _)), Some(g)) if d.is_ipv6() != g.is_ipv6() => {
                return Err(Error::invalid(
                    op,
                    format!("dst {d} and via {g} are of different address families"),
                ))
            }
            (Some((d, _)), _) => d.is_ipv6(),
            (None, Some(g)) => g.is_ipv6(),
            (None, None) => false,
        };
        Ok((dst, via, v6))
    }
}

/// One route of the main table, as `ip route` / `ip -6 route` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    /// `"inet"` or `"inet6"`.
    pub family: &'static str,
    /// Destination in CIDR form; `None` is the default route.
    pub dst: Option<String>,
    pub via: Option<String>,
    pub dev: Option<String>,
}

/// How a link is shaped, as Mininet's TCLink does it with tc: netem adds
/// `delay` and drops `loss` percent of the packets, tbf limits the rate.
/// Zero means "not shaped" for each.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Shape {
    pub delay_ns: u64,
    /// Percent, 0 to 100.
    pub loss_pct: f64,
    /// Bits per second.
    pub rate_bps: u64,
}

/// The longest delay netem is asked for: an hour (more is a mistake).
const MAX_DELAY_MS: f64 = 3_600_000.0;

impl Shape {
    /// Checks values as scripts give them: delay in milliseconds, loss in
    /// percent, rate in Mbit/s (Mininet's `bw`).
    pub fn new(op: &str, delay_ms: f64, loss_pct: f64, rate_mbit: f64) -> Result<Shape> {
        if !delay_ms.is_finite() || !(0.0..=MAX_DELAY_MS).contains(&delay_ms) {
            return Err(Error::invalid(
                op,
                format!("delay {delay_ms} ms is out of range (0 to {MAX_DELAY_MS} ms)"),
            ));
        }
        if !loss_pct.is_finite() || !(0.0..=100.0).contains(&loss_pct) {
            return Err(Error::invalid(
                op,
                format!("loss {loss_pct}% is out of range (0 to 100 percent)"),
            ));
        }
        // tbf needs at least a byte per second; u64 bits caps the top.
        if !rate_mbit.is_finite() || !(0.0..=1e12).contains(&rate_mbit) {
            return Err(Error::invalid(
                op,
                format!("rate {rate_mbit} Mbit/s is out of range (0 for none, up to 10^12)"),
            ));
        }
        let rate_bps = (rate_mbit * 1e6).round() as u64;
        if rate_mbit > 0.0 && rate_bps < 8 {
            return Err(Error::invalid(
                op,
                format!("rate {rate_mbit} Mbit/s is below one byte per second"),
            ));
        }
        Ok(Shape {
            delay_ns: (delay_ms * 1e6).round() as u64,
            loss_pct,
            rate_bps,
        })
    }

    pub fn is_none(&self) -> bool {
        self.delay_ns == 0 && self.loss_pct == 0.0 && self.rate_bps == 0
    }

    /// "10ms 1% 10Mbit", as a label ("" when not shaped).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.delay_ns > 0 {
            parts.push(format!("{}ms", self.delay_ns as f64 / 1e6));
        }
        if self.loss_pct > 0.0 {
            parts.push(format!("{}% loss", self.loss_pct));
        }
        if self.rate_bps > 0 {
            parts.push(format!("{}Mbit", self.rate_bps as f64 / 1e6));
        }
        parts.join(" ")
    }
}

// ---------------------------------------------------------------------------
// Requests, on any socket
// ---------------------------------------------------------------------------

impl Rtnl {
    /// All links of the current network namespace with their addresses, ordered
    /// by index: what `ip -j addr` shows.
    pub fn links(&mut self) -> Result<Vec<Link>> {
        const OP: &str = "links";
        let nl = self;
        let link_msgs = nl.request(
            OP,
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            NLM_F_DUMP,
        )?;
        let addr_msgs = nl.request(
            OP,
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            NLM_F_DUMP,
        )?;

        let mut links: Vec<(Link, Option<u32>)> = link_msgs
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(link_from(l)),
                _ => None,
            })
            .collect();
        links.sort_by_key(|(l, _)| l.index);

        let names: HashMap<u32, String> = links
            .iter()
            .map(|(l, _)| (l.index, l.name.clone()))
            .collect();
        let mut addrs: HashMap<u32, Vec<Addr>> = HashMap::new();
        for m in addr_msgs {
            if let RouteNetlinkMessage::NewAddress(a) = m {
                if let Some(addr) = addr_from(&a) {
                    addrs.entry(a.header.index).or_default().push(addr);
                }
            }
        }

        Ok(links
            .into_iter()
            .map(|(mut l, master)| {
                // `ip` names a master it cannot resolve "ifN"; do the same.
                l.master = master.map(|i| names.get(&i).cloned().unwrap_or(format!("if{i}")));
                l.addrs = addrs.remove(&l.index).unwrap_or_default();
                l
            })
            .collect())
    }

    /// Creates a veth pair: `ip link add A type veth peer name B [netns
    /// NSFD]`. With `peer_netns` (an open network namespace file) the peer
    /// is born in that namespace (IFLA_NET_NS_FD on the peer), so it never
    /// exists here, and no move is needed. `indexes` asks for the two
    /// ends' interface indexes (when free in their namespaces).
    ///
    /// The kernel handles a veth end's carrier changes at once only when
    /// its index differs from its peer's (linkwatch_urgent_event);
    /// otherwise up to a second later, and a bridge port stays disabled
    /// that long. Two namespaces each counting from 1 often give both ends
    /// the same index: pass indexes that differ.
    pub fn veth(
        &mut self,
        a: &str,
        b: &str,
        peer_netns: Option<BorrowedFd>,
        indexes: Option<(u32, u32)>,
    ) -> Result<()> {
        const OP: &str = "veth";
        check_ifname(OP, a)?;
        check_ifname(OP, b)?;
        if a == b {
            return Err(Error::invalid(
                OP,
                format!("both ends are named '{a}'; a veth pair needs two different names"),
            ));
        }
        let mut peer = LinkMessage::default();
        peer.attributes.push(LinkAttribute::IfName(b.to_string()));
        if let Some(ns) = peer_netns {
            peer.attributes.push(LinkAttribute::NetNsFd(ns.as_raw_fd()));
        }
        let mut msg = LinkMessage::default();
        if let Some((ia, ib)) = indexes {
            msg.header.index = ia;
            peer.header.index = ib;
        }
        msg.attributes.push(LinkAttribute::IfName(a.to_string()));
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))),
        ]));
        let exists = if peer_netns.is_some() {
            format!("a link named '{a}' already exists here, or '{b}' in the peer's namespace")
        } else {
            format!("a link named '{a}' or '{b}' already exists here (see links())")
        };
        let r = self.new_link(OP, msg, &exists, "veth");
        self.traced(&r, || {
            let netns = peer_netns.map_or(String::new(), |f| format!(" netns {}", f.as_raw_fd()));
            format!("ip link add {a} type veth peer name {b}{netns}")
        });
        r
    }

    /// RTM_NEWLINK for a link of kind `kind`, with hints for a name in use
    /// (`exists` says which) and a kernel without the driver.
    fn new_link(&mut self, op: &str, msg: LinkMessage, exists: &str, kind: &str) -> Result<()> {
        self.request(
            op,
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        )
        .map(drop)
        .map_err(|e| match e.errno {
            Some(Errno::EEXIST) => {
                e.hint(format!("{exists}: pick other names or link_del it first"))
            }
            Some(Errno::EOPNOTSUPP) => {
                e.hint(format!("this kernel has no {kind} support (module {kind})"))
            }
            _ => e,
        })
    }

    /// Creates a bridge: `ip link add NAME type bridge`.
    pub fn bridge(&mut self, name: &str) -> Result<()> {
        const OP: &str = "bridge";
        check_ifname(OP, name)?;
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        msg.attributes
            .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                InfoKind::Bridge,
            )]));
        let exists = format!("a link named '{name}' already exists here (see links())");
        let r = self.new_link(OP, msg, &exists, "bridge");
        self.traced(&r, || format!("ip link add {name} type bridge"));
        r
    }

    /// Deletes a link: `ip link del NAME`. Deleting one end of a veth pair
    /// deletes both.
    pub fn link_del(&mut self, name: &str) -> Result<()> {
        const OP: &str = "link_del";
        check_ifname(OP, name)?;
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        let r = self
            .request(OP, RouteNetlinkMessage::DelLink(msg), NLM_F_ACK)
            .map(drop)
            .map_err(|e| match e.errno {
                Some(Errno::ENODEV) => e.hint(no_such_link(name)),
                Some(Errno::EOPNOTSUPP) => {
                    e.hint(format!("'{name}' cannot be deleted (lo never can)"))
                }
                _ => e,
            });
        self.traced(&r, || format!("ip link del {name}"));
        r
    }

    /// Changes a link: `ip link set NAME [up|down] [master BR|nomaster]
    /// [netns PID|NSFILE] [mtu N] [name NEW]`, all in one request.
    pub fn link_set(&mut self, name: &str, s: &LinkSet) -> Result<()> {
        const OP: &str = "link_set";
        check_ifname(OP, name)?;
        if *s == LinkSet::default() {
            return Err(Error::invalid(
                OP,
                "nothing to change: give up, master, netns, mtu or name",
            ));
        }
        if let Some(new) = &s.name {
            check_ifname(OP, new)?;
        }
        if let Some(Some(m)) = &s.master {
            check_ifname(OP, m)?;
        }
        let netns = match s.netns {
            Some(NetnsTarget::Pid(pid)) => Some(LinkAttribute::NetNsPid(
                u32::try_from(pid)
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| Error::invalid(OP, format!("netns pid {pid} must be > 0")))?,
            )),
            Some(NetnsTarget::Fd(fd)) if fd < 0 => {
                return Err(Error::invalid(OP, format!("netns fd {fd} must be >= 0")))
            }
            Some(NetnsTarget::Fd(fd)) => Some(LinkAttribute::NetNsFd(fd)),
            None => None,
        };

        let nl = self;
        let mut msg = LinkMessage::default();
        // Address the link by index, so that IFLA_IFNAME can carry a new name.
        msg.header.index = nl.index_of(OP, name)?;
        if let Some(up) = s.up {
            msg.header.change_mask |= LinkFlags::Up;
            if up {
                msg.header.flags |= LinkFlags::Up;
            }
        }
        match &s.master {
            Some(Some(m)) => {
                let idx = nl.index_of(OP, m)?;
                msg.attributes.push(LinkAttribute::Controller(idx));
            }
            // IFLA_MASTER 0 releases the link from its master.
            Some(None) => msg.attributes.push(LinkAttribute::Controller(0)),
            None => {}
        }
        if let Some(mtu) = s.mtu {
            msg.attributes.push(LinkAttribute::Mtu(mtu));
        }
        if let Some(new) = &s.name {
            msg.attributes.push(LinkAttribute::IfName(new.clone()));
        }
        msg.attributes.extend(netns);

        let r = nl
            .request(OP, RouteNetlinkMessage::SetLink(msg), NLM_F_ACK)
            .map(drop)
            .map_err(|e| match e.errno {
                Some(Errno::EBUSY) if s.name.is_some() => {
                    e.hint(format!("'{name}' is up: set it down before renaming it"))
                }
                Some(Errno::EEXIST) => e.hint(
                    "a link with that name already exists (here, or in the target namespace)",
                ),
                Some(Errno::ESRCH) => e.hint("no process with that pid (for netns)"),
                Some(Errno::EBADF) => e.hint("the netns fd is not open"),
                Some(Errno::EINVAL) if s.netns.is_some() && e.detail.is_empty() => e.hint(
                    "the netns target is not a network namespace, or this link cannot move \
                     (lo and bridge ports cannot)",
                ),
                _ => e,
            });
        nl.traced(&r, || {
            let mut cmd = format!("ip link set {name}");
            match s.up {
                Some(true) => cmd.push_str(" up"),
                Some(false) => cmd.push_str(" down"),
                None => {}
            }
            match &s.master {
                Some(Some(m)) => cmd.push_str(&format!(" master {m}")),
                Some(None) => cmd.push_str(" nomaster"),
                None => {}
            }
            match s.netns {
                Some(NetnsTarget::Pid(p)) => cmd.push_str(&format!(" netns {p}")),
                Some(NetnsTarget::Fd(f)) => cmd.push_str(&format!(" netns /proc/self/fd/{f}")),
                None => {}
            }
            if let Some(m) = s.mtu {
                cmd.push_str(&format!(" mtu {m}"));
            }
            if let Some(n) = &s.name {
                cmd.push_str(&format!(" name {n}"));
            }
            cmd
        });
        r
    }

    /// Adds an address to a link: `ip addr add CIDR dev NAME` (a bare address
    /// means /32 or /128, as with `ip`).
    pub fn addr_add(&mut self, name: &str, cidr: &str) -> Result<()> {
        const OP: &str = "addr_add";
        self.addr_change(OP, name, cidr, true)
            .map_err(|e| match e.errno {
                Some(Errno::EEXIST) => e.hint(format!("'{name}' already has the address {cidr}")),
                _ => e,
            })
    }

    /// Removes an address from a link: `ip addr del CIDR dev NAME`.
    pub fn addr_del(&mut self, name: &str, cidr: &str) -> Result<()> {
        const OP: &str = "addr_del";
        self.addr_change(OP, name, cidr, false)
            .map_err(|e| match e.errno {
                Some(Errno::EADDRNOTAVAIL) => e.hint(format!(
                    "'{name}' has no address {cidr} (see links(); the prefix length must match)"
                )),
                _ => e,
            })
    }

    /// Adds a route to the main table: `ip route add DST|default [via GW] [dev DEV]`.
    pub fn route_add(&mut self, r: &Route) -> Result<()> {
        const OP: &str = "route_add";
        let (dst, via, v6) = r.checked(OP)?;
        let nl = self;
        let mut msg = RouteMessage::default();
        msg.header.address_family = if v6 {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        };
        msg.header.table = RouteHeader::RT_TABLE_MAIN;
        // What `ip route add` sends: proto boot, type unicast, and scope link for
        // a route without a gateway (the destination is on the link itself).
        msg.header.protocol = RouteProtocol::Boot;
        msg.header.kind = RouteType::Unicast;
        msg.header.scope = if via.is_some() {
            RouteScope::Universe
        } else {
            RouteScope::Link
        };
        if let Some((addr, len)) = dst {
            msg.header.destination_prefix_length = len;
            if len > 0 {
                msg.attributes
                    .push(RouteAttribute::Destination(RouteAddress::from(addr)));
            }
        }
        if let Some(g) = via {
            msg.attributes
                .push(RouteAttribute::Gateway(RouteAddress::from(g)));
        }
        if let Some(dev) = &r.dev {
            let idx = nl.index_of(OP, dev)?;
            msg.attributes.push(RouteAttribute::Oif(idx));
        }
        let res = nl
            .request(
                OP,
                RouteNetlinkMessage::NewRoute(msg),
                NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            )
            .map(drop);
        nl.traced(&res, || {
            let mut cmd = match dst {
                Some((a, l)) if l > 0 => format!("ip route add {a}/{l}"),
                _ => "ip route add default".to_string(),
            };
            if let Some(g) = via {
                cmd.push_str(&format!(" via {g}"));
            }
            if let Some(d) = &r.dev {
                cmd.push_str(&format!(" dev {d}"));
            }
            cmd
        });
        res.map_err(|e| match e.errno {
            Some(Errno::EEXIST) => e.hint("that route already exists (see routes())"),
            Some(Errno::ENETUNREACH) => e.hint(
                "the gateway is not on any link: add an address whose subnet contains it \
                 (addr_add) and set the link up first",
            ),
            Some(Errno::ENETDOWN) => e.hint("the link is down: link_set(dev, #{up: true}) first"),
            _ => e,
        })
    }

    /// The main routing table, IPv4 then IPv6: what `ip route` and
    /// `ip -6 route` show (without the local and cached routes).
    pub fn routes(&mut self) -> Result<Vec<RouteInfo>> {
        const OP: &str = "routes";
        let nl = self;
        let link_msgs = nl.request(
            OP,
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            NLM_F_DUMP,
        )?;
        let names: HashMap<u32, String> = link_msgs
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => {
                    let (l, _) = link_from(l);
                    Some((l.index, l.name))
                }
                _ => None,
            })
            .collect();
        let route_msgs = nl.request(
            OP,
            RouteNetlinkMessage::GetRoute(RouteMessage::default()),
            NLM_F_DUMP,
        )?;
        let mut out: Vec<RouteInfo> = route_msgs
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewRoute(r) => route_from(&r, &names),
                _ => None,
            })
            .collect();
        // IPv4 first, as `ip route; ip -6 route` would list them.
        out.sort_by_key(|r| r.family != "inet");
        Ok(out)
    }
    /// A permanent neighbour entry, as `ip neigh replace IP lladdr MAC dev
    /// NAME nud permanent`: IPv4 address `ip` is at link-layer address
    /// `mac` on link `index`, without ARP. Permanent entries do not count
    /// against the neighbour table's gc_thresh3, which all namespaces share.
    pub fn neigh_permanent(
        &mut self,
        index: u32,
        ip: std::net::Ipv4Addr,
        mac: &[u8],
    ) -> Result<()> {
        const OP: &str = "static_arp";
        let mut msg = NeighbourMessage::default();
        msg.header.family = AddressFamily::Inet;
        msg.header.ifindex = index;
        msg.header.state = NeighbourState::Permanent;
        msg.header.kind = RouteType::Unicast;
        msg.attributes
            .push(NeighbourAttribute::Destination(NeighbourAddress::Inet(ip)));
        msg.attributes
            .push(NeighbourAttribute::LinkLayerAddress(mac.to_vec()));
        let r = self
            .request(
                OP,
                RouteNetlinkMessage::NewNeighbour(msg),
                NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
            )
            .map(drop);
        self.traced(&r, || {
            let mac: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
            format!(
                "ip neigh replace {ip} lladdr {} dev index {index} nud permanent",
                mac.join(":")
            )
        });
        r
    }

    /// Shapes what leaves link `name`, as `tc qdisc add dev NAME root ...`
    /// does: netem for delay and loss; tbf for the rate, with netem under
    /// it (parent 1:1) when both are asked, as Mininet's TCLink stacks them.
    /// A link that is not shaped is left alone.
    pub fn shape(&mut self, name: &str, s: &Shape) -> Result<()> {
        const OP: &str = "shape";
        check_ifname(OP, name)?;
        if s.is_none() {
            return Ok(());
        }
        let index = i32::try_from(self.index_of(OP, name)?).unwrap_or(i32::MAX);
        let mut parent = TcHandle::ROOT;
        if s.rate_bps > 0 {
            let handle = TcHandle { major: 1, minor: 0 };
            self.qdisc(OP, index, parent, handle, "tbf", tbf_options(s))?;
            parent = TcHandle { major: 1, minor: 1 };
        }
        if s.delay_ns > 0 || s.loss_pct > 0.0 {
            let handle = TcHandle {
                major: 10,
                minor: 0,
            };
            self.qdisc(OP, index, parent, handle, "netem", netem_options(s))?;
        }
        Ok(())
    }

    /// RTM_NEWQDISC: `tc qdisc add dev INDEX parent P handle H KIND OPTIONS`.
    fn qdisc(
        &mut self,
        op: &str,
        index: i32,
        parent: TcHandle,
        handle: TcHandle,
        kind: &str,
        options: Vec<u8>,
    ) -> Result<()> {
        let mut msg = TcMessage::with_index(index);
        msg.header.parent = parent;
        msg.header.handle = handle;
        msg.attributes.push(TcAttribute::Kind(kind.to_string()));
        msg.attributes
            .push(TcAttribute::Other(DefaultNla::new(TCA_OPTIONS, options)));
        let r = self
            .request(
                op,
                RouteNetlinkMessage::NewQueueDiscipline(msg),
                NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            )
            .map(drop);
        self.traced(&r, || {
            let at = match parent == TcHandle::ROOT {
                true => "root".to_string(),
                false => format!("parent {}:{}", parent.major, parent.minor),
            };
            format!(
                "tc qdisc add dev index {index} {at} handle {}: {kind}",
                handle.major
            )
        });
        r.map_err(|e| match e.errno {
            Some(Errno::ENOENT) => e.hint(format!(
                "this kernel has no {kind} qdisc (module sch_{kind})"
            )),
            Some(Errno::EEXIST) => e.hint("the link is shaped already"),
            _ => e,
        })
    }

    /// `ip addr add|del`: IFA_LOCAL and IFA_ADDRESS both carry the address (no
    /// peer), and an IPv4 loopback address gets scope host, as `ip` does.
    fn addr_change(&mut self, op: &str, name: &str, cidr: &str, add: bool) -> Result<()> {
        check_ifname(op, name)?;
        let (addr, len) = parse_cidr(op, cidr)?;
        let nl = self;
        let mut msg = AddressMessage::default();
        msg.header.index = nl.index_of(op, name)?;
        msg.header.prefix_len = len;
        msg.header.family = if addr.is_ipv6() {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        };
        if matches!(addr, IpAddr::V4(a) if a.is_loopback()) {
            msg.header.scope = AddressScope::Host;
        }
        msg.attributes.push(AddressAttribute::Local(addr));
        msg.attributes.push(AddressAttribute::Address(addr));
        let (req, flags) = if add {
            (
                RouteNetlinkMessage::NewAddress(msg),
                NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            )
        } else {
            (RouteNetlinkMessage::DelAddress(msg), NLM_F_ACK)
        };
        let r = nl.request(op, req, flags).map(drop);
        let verb = if add { "add" } else { "del" };
        nl.traced(&r, || format!("ip addr {verb} {addr}/{len} dev {name}"));
        r
    }
}

// ---------------------------------------------------------------------------
// The same in the current network namespace, one socket per call
// ---------------------------------------------------------------------------

/// All links of the current network namespace with their addresses, ordered
/// by index: what `ip -j addr` shows.
pub fn links() -> Result<Vec<Link>> {
    Rtnl::open("links")?.links()
}

/// Creates a veth pair: `ip link add A type veth peer name B`.
pub fn veth(a: &str, b: &str) -> Result<()> {
    Rtnl::open("veth")?.veth(a, b, None, None)
}

/// Creates a bridge: `ip link add NAME type bridge`.
pub fn bridge(name: &str) -> Result<()> {
    Rtnl::open("bridge")?.bridge(name)
}

/// Deletes a link: `ip link del NAME`. Deleting one end of a veth pair
/// deletes both.
pub fn link_del(name: &str) -> Result<()> {
    Rtnl::open("link_del")?.link_del(name)
}

/// Changes a link: `ip link set NAME ...` (see `Rtnl::link_set`).
pub fn link_set(name: &str, s: &LinkSet) -> Result<()> {
    Rtnl::open("link_set")?.link_set(name, s)
}

/// Adds an address to a link: `ip addr add CIDR dev NAME`.
pub fn addr_add(name: &str, cidr: &str) -> Result<()> {
    Rtnl::open("addr_add")?.addr_add(name, cidr)
}

/// Removes an address from a link: `ip addr del CIDR dev NAME`.
pub fn addr_del(name: &str, cidr: &str) -> Result<()> {
    Rtnl::open("addr_del")?.addr_del(name, cidr)
}

/// Adds a route to the main table: `ip route add ...`.
pub fn route_add(r: &Route) -> Result<()> {
    Rtnl::open("route_add")?.route_add(r)
}

/// The main routing table, IPv4 then IPv6.
pub fn routes() -> Result<Vec<RouteInfo>> {
    Rtnl::open("routes")?.routes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// `ip -j WHAT` in the test's own namespace, parsed; None (the test
    /// skips, saying why) when `ip` cannot tell.
    fn ip_json(what: &str) -> Option<serde_json::Value> {
        match Command::new("ip").args(["-j", what]).output() {
            Ok(o) if o.status.success() => {
                Some(serde_json::from_slice(&o.stdout).expect("ip -j json"))
            }
            other => {
                eprintln!("SKIPPED: `ip -j {what}` unavailable: {other:?}");
                None
            }
        }
    }

    /// `links()` agrees with `ip -j addr`, read in the test's own (host)
    /// namespace without changing anything.
    #[test]
    fn links_match_ip_j_addr_in_the_current_namespace() {
        let Some(ip) = ip_json("addr") else {
            return;
        };
        let ip = ip.as_array().expect("ip -j addr gives an array");
        let ours = links().expect("links()");
        let names = |v: &[Link]| {
            v.iter()
                .map(|l| (l.index, l.name.clone()))
                .collect::<Vec<_>>()
        };
        let theirs: Vec<(u32, String)> = ip
            .iter()
            .map(|l| {
                (
                    l["ifindex"].as_u64().unwrap_or(0) as u32,
                    l["ifname"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        assert_eq!(names(&ours), theirs, "names and indexes");
        for (l, j) in ours.iter().zip(ip) {
            assert_eq!(Some(u64::from(l.mtu)), j["mtu"].as_u64(), "{} mtu", l.name);
            assert_eq!(
                Some(l.state.as_str()),
                j["operstate"].as_str(),
                "{} state",
                l.name
            );
            let flags: Vec<&str> = j["flags"]
                .as_array()
                .map(|a| a.iter().filter_map(|f| f.as_str()).collect())
                .unwrap_or_default();
            assert_eq!(l.flags, flags, "{} flags", l.name);
            assert_eq!(
                l.master.as_deref(),
                j["master"].as_str(),
                "{} master",
                l.name
            );
            if matches!(j["link_type"].as_str(), Some("ether" | "loopback")) {
                assert_eq!(
                    Some(l.mac.as_str()),
                    j["address"].as_str(),
                    "{} mac",
                    l.name
                );
            }
            let addrs: Vec<(String, String, u64, String)> = j["addr_info"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|x| {
                            let s = |k: &str| x[k].as_str().unwrap_or("").to_string();
                            (
                                s("family"),
                                s("local"),
                                x["prefixlen"].as_u64().unwrap_or(0),
                                s("scope"),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let mine: Vec<(String, String, u64, String)> = l
                .addrs
                .iter()
                .map(|a| {
                    (
                        a.family.to_string(),
                        a.local.clone(),
                        u64::from(a.prefix_len),
                        a.scope.to_string(),
                    )
                })
                .collect();
            assert_eq!(mine, addrs, "{} addresses", l.name);
        }
    }

    #[test]
    fn routes_match_ip_j_route_in_the_current_namespace() {
        let Some(ip) = ip_json("route") else {
            return;
        };
        let theirs: Vec<(Option<String>, Option<String>, Option<String>)> = ip
            .as_array()
            .expect("array")
            .iter()
            .filter(|r| r["type"].is_null() || r["type"] == "unicast")
            .map(|r| {
                let s = |k: &str| r[k].as_str().map(String::from);
                let dst = s("dst").filter(|d| d != "default").map(|d| {
                    if d.contains('/') {
                        d
                    } else {
                        format!("{d}/32")
                    }
                });
                (dst, s("gateway"), s("dev"))
            })
            .collect();
        let ours: Vec<_> = routes()
            .expect("routes()")
            .into_iter()
            .filter(|r| r.family == "inet")
            .map(|r| (r.dst, r.via, r.dev))
            .collect();
        assert_eq!(ours, theirs);
    }
}
