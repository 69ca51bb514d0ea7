//! Network links, addresses and routes over rtnetlink (rtnetlink(7)), the
//! protocol `ip` itself speaks.
//!
//! Everything here is synchronous and single-threaded: each call opens its own
//! `NETLINK_ROUTE` socket, sends one or a few requests and reads the replies
//! until `NLMSG_DONE` or the ACK. A netlink socket acts on the network
//! namespace it was opened in, so a fresh socket per call is always right,
//! also after `unshare`/`setns`.

use super::{Error, Result};
use netlink_packet_core::{
    NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_CREATE,
    NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage, AddressScope};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkLayerType, LinkMessage,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use nix::errno::Errno;
use std::collections::HashMap;
use std::net::IpAddr;
use std::os::fd::RawFd;

/// What to do about EPERM from any rtnetlink change.
const HINT_EPERM: &str =
    "needs CAP_NET_ADMIN in the network namespace: run as root or inside a user namespace you own";

/// Interface names are at most IFNAMSIZ - 1 bytes (the kernel keeps a NUL).
const IFNAME_MAX: usize = 15;

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

// ---------------------------------------------------------------------------
// Public functions
// ---------------------------------------------------------------------------

/// All links of the current network namespace with their addresses, ordered
/// by index: what `ip -j addr` shows.
pub fn links() -> Result<Vec<Link>> {
    const OP: &str = "links";
    let mut nl = Nl::open(OP)?;
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

/// The index of the link called `name` (`ip link show NAME`, or
/// `cat /sys/class/net/NAME/ifindex`).
pub fn link_index(name: &str) -> Result<u32> {
    const OP: &str = "link_index";
    check_ifname(OP, name)?;
    Nl::open(OP)?.index_of(OP, name)
}

/// Creates a veth pair: `ip link add A type veth peer name B`.
pub fn veth(a: &str, b: &str) -> Result<()> {
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
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(a.to_string()));
    msg.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(InfoKind::Veth),
        LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))),
    ]));
    Nl::open(OP)?
        .request(
            OP,
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        )
        .map(drop)
        .map_err(|e| match e.errno {
            Some(Errno::EEXIST) => e.hint(format!(
                "a link named '{a}' or '{b}' already exists here (see links()): \
                 pick other names or link_del it first"
            )),
            Some(Errno::EOPNOTSUPP) => e.hint("this kernel has no veth support (module veth)"),
            _ => e,
        })
}

/// Creates a bridge: `ip link add NAME type bridge`.
pub fn bridge(name: &str) -> Result<()> {
    const OP: &str = "bridge";
    check_ifname(OP, name)?;
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(name.to_string()));
    msg.attributes
        .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
            InfoKind::Bridge,
        )]));
    Nl::open(OP)?
        .request(
            OP,
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        )
        .map(drop)
        .map_err(|e| match e.errno {
            Some(Errno::EEXIST) => e.hint(format!(
                "a link named '{name}' already exists here (see links()): \
                 pick another name or link_del it first"
            )),
            Some(Errno::EOPNOTSUPP) => e.hint("this kernel has no bridge support (module bridge)"),
            _ => e,
        })
}

/// Deletes a link: `ip link del NAME`. Deleting one end of a veth pair
/// deletes both.
pub fn link_del(name: &str) -> Result<()> {
    const OP: &str = "link_del";
    check_ifname(OP, name)?;
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(name.to_string()));
    Nl::open(OP)?
        .request(OP, RouteNetlinkMessage::DelLink(msg), NLM_F_ACK)
        .map(drop)
        .map_err(|e| match e.errno {
            Some(Errno::ENODEV) => e.hint(no_such_link(name)),
            Some(Errno::EOPNOTSUPP) => e.hint(format!("'{name}' cannot be deleted (lo never can)")),
            _ => e,
        })
}

/// Changes a link: `ip link set NAME [up|down] [master BR|nomaster]
/// [netns PID|NSFILE] [mtu N] [name NEW]`, all in one request.
pub fn link_set(name: &str, s: &LinkSet) -> Result<()> {
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

    let mut nl = Nl::open(OP)?;
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

    nl.request(OP, RouteNetlinkMessage::SetLink(msg), NLM_F_ACK)
        .map(drop)
        .map_err(|e| match e.errno {
            Some(Errno::EBUSY) if s.name.is_some() => {
                e.hint(format!("'{name}' is up: set it down before renaming it"))
            }
            Some(Errno::EEXIST) => {
                e.hint("a link with that name already exists (here, or in the target namespace)")
            }
            Some(Errno::ESRCH) => e.hint("no process with that pid (for netns)"),
            Some(Errno::EBADF) => e.hint("the netns fd is not open"),
            Some(Errno::EINVAL) if s.netns.is_some() && e.detail.is_empty() => e.hint(
                "the netns target is not a network namespace, or this link cannot move \
                 (lo and bridge ports cannot)",
            ),
            _ => e,
        })
}

/// Adds an address to a link: `ip addr add CIDR dev NAME` (a bare address
/// means /32 or /128, as with `ip`).
pub fn addr_add(name: &str, cidr: &str) -> Result<()> {
    const OP: &str = "addr_add";
    addr_change(OP, name, cidr, true).map_err(|e| match e.errno {
        Some(Errno::EEXIST) => e.hint(format!("'{name}' already has the address {cidr}")),
        _ => e,
    })
}

/// Removes an address from a link: `ip addr del CIDR dev NAME`.
pub fn addr_del(name: &str, cidr: &str) -> Result<()> {
    const OP: &str = "addr_del";
    addr_change(OP, name, cidr, false).map_err(|e| match e.errno {
        Some(Errno::EADDRNOTAVAIL) => e.hint(format!(
            "'{name}' has no address {cidr} (see links(); the prefix length must match)"
        )),
        _ => e,
    })
}

/// Adds a route to the main table: `ip route add DST|default [via GW] [dev DEV]`.
pub fn route_add(r: &Route) -> Result<()> {
    const OP: &str = "route_add";
    let dst = match r.dst.as_deref() {
        None | Some("default") => None,
        Some(d) => Some(parse_network(OP, d)?),
    };
    let via = match r.via.as_deref() {
        None => None,
        Some(v) => Some(
            v.parse::<IpAddr>()
                .map_err(|_| Error::invalid(OP, format!("via '{v}' is not an IP address")))?,
        ),
    };
    if via.is_none() && r.dev.is_none() {
        return Err(Error::invalid(
            OP,
            "give via (a gateway), dev (a link), or both",
        ));
    }
    if let Some(dev) = &r.dev {
        check_ifname(OP, dev)?;
    }
    let v6 = match (dst, via) {
        (Some((d, _)), Some(g)) if d.is_ipv6() != g.is_ipv6() => {
            return Err(Error::invalid(
                OP,
                format!("dst {d} and via {g} are of different address families"),
            ))
        }
        (Some((d, _)), _) => d.is_ipv6(),
        (None, Some(g)) => g.is_ipv6(),
        (None, None) => false,
    };

    let mut nl = Nl::open(OP)?;
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
    nl.request(
        OP,
        RouteNetlinkMessage::NewRoute(msg),
        NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
    )
    .map(drop)
    .map_err(|e| match e.errno {
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
pub fn routes() -> Result<Vec<RouteInfo>> {
    const OP: &str = "routes";
    let mut nl = Nl::open(OP)?;
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

// ---------------------------------------------------------------------------
// Input checks
// ---------------------------------------------------------------------------

/// Rejects names the kernel would refuse (dev_valid_name in net/core/dev.c),
/// before any request is sent.
fn check_ifname(op: &str, name: &str) -> Result<()> {
    let bad = |why: String| Err(Error::invalid(op, why));
    if name.is_empty() {
        return bad("a link name cannot be empty".into());
    }
    if name.len() > IFNAME_MAX {
        return bad(format!(
            "link name '{}' is {} bytes; the limit is {IFNAME_MAX}",
            name.escape_debug(),
            name.len()
        ));
    }
    if name.contains('\0') {
        return bad(format!(
            "link name '{}' contains a NUL byte",
            name.escape_debug()
        ));
    }
    if name == "."
        || name == ".."
        || name.contains(['/', ':'])
        || name.contains(char::is_whitespace)
    {
        return bad(format!(
            "link name '{}' is not allowed: no '/', ':', whitespace, '.' or '..'",
            name.escape_debug()
        ));
    }
    Ok(())
}

/// Parses `ADDR/LEN`, or a bare address meaning a host (/32, /128).
fn parse_cidr(op: &str, cidr: &str) -> Result<(IpAddr, u8)> {
    let bad = || {
        Error::invalid(
            op,
            format!(
                "'{}' is not an address in CIDR form like 10.0.0.1/24 or fd00::1/64",
                cidr.escape_debug()
            ),
        )
    };
    let (addr, len) = match cidr.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (cidr, None),
    };
    let addr: IpAddr = addr.parse().map_err(|_| bad())?;
    let max = if addr.is_ipv6() { 128 } else { 32 };
    let len = match len {
        None => max,
        Some(l) if l.bytes().all(|b| b.is_ascii_digit()) && !l.is_empty() => {
            l.parse::<u8>().ok().filter(|n| *n <= max).ok_or_else(|| {
                Error::invalid(
                    op,
                    format!("prefix length /{l} in '{cidr}' is out of range (0 to {max})"),
                )
            })?
        }
        Some(_) => return Err(bad()),
    };
    Ok((addr, len))
}

/// Parses a route destination: a CIDR whose host bits are all zero.
fn parse_network(op: &str, cidr: &str) -> Result<(IpAddr, u8)> {
    let (addr, len) = parse_cidr(op, cidr)?;
    let net = mask(addr, len);
    if net != addr {
        return Err(Error::invalid(
            op,
            format!("'{cidr}' has host bits set; did you mean {net}/{len}?"),
        ));
    }
    Ok((addr, len))
}

/// The network part of `addr` with a prefix of `len` bits.
fn mask(addr: IpAddr, len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let m = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            IpAddr::from((u32::from(a) & m).to_be_bytes())
        }
        IpAddr::V6(a) => {
            let m = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            IpAddr::from((u128::from(a) & m).to_be_bytes())
        }
    }
}

fn no_such_link(name: &str) -> String {
    format!("no link named '{name}' in this network namespace (see links())")
}

// ---------------------------------------------------------------------------
// Building and reading messages
// ---------------------------------------------------------------------------

/// `ip addr add|del`: IFA_LOCAL and IFA_ADDRESS both carry the address (no
/// peer), and an IPv4 loopback address gets scope host, as `ip` does.
fn addr_change(op: &str, name: &str, cidr: &str, add: bool) -> Result<()> {
    check_ifname(op, name)?;
    let (addr, len) = parse_cidr(op, cidr)?;
    let mut nl = Nl::open(op)?;
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
    nl.request(op, req, flags).map(drop)
}

/// A `Link` from an RTM_NEWLINK message, plus its master's index (resolved
/// to a name once all links are known).
fn link_from(m: LinkMessage) -> (Link, Option<u32>) {
    let mut link = Link {
        index: m.header.index,
        name: String::new(),
        kind: match m.header.link_layer_type {
            LinkLayerType::Loopback => "loopback".to_string(),
            LinkLayerType::Ether => "ether".to_string(),
            other => other.to_string().to_lowercase(),
        },
        state: "UNKNOWN".to_string(),
        flags: flag_names(m.header.flags.bits()),
        mtu: 0,
        mac: String::new(),
        master: None,
        addrs: Vec::new(),
    };
    let mut master = None;
    for attr in m.attributes {
        match attr {
            LinkAttribute::IfName(n) => link.name = n,
            LinkAttribute::OperState(s) => link.state = s.to_string(),
            LinkAttribute::Mtu(mtu) => link.mtu = mtu,
            LinkAttribute::Address(bytes) => link.mac = hex_colon(&bytes),
            LinkAttribute::Controller(i) if i != 0 => master = Some(i),
            LinkAttribute::LinkInfo(infos) => {
                for info in infos {
                    if let LinkInfo::Kind(k) = info {
                        link.kind = k.to_string();
                    }
                }
            }
            _ => {}
        }
    }
    (link, master)
}

/// The flags the way iproute2's print_link_flags() names and orders them,
/// including its NO-CARRIER for a link that is up but not running.
fn flag_names(bits: u32) -> Vec<String> {
    const ORDER: [(libc::c_int, &str); 17] = [
        (libc::IFF_LOOPBACK, "LOOPBACK"),
        (libc::IFF_BROADCAST, "BROADCAST"),
        (libc::IFF_POINTOPOINT, "POINTOPOINT"),
        (libc::IFF_MULTICAST, "MULTICAST"),
        (libc::IFF_NOARP, "NOARP"),
        (libc::IFF_ALLMULTI, "ALLMULTI"),
        (libc::IFF_PROMISC, "PROMISC"),
        (libc::IFF_MASTER, "MASTER"),
        (libc::IFF_SLAVE, "SLAVE"),
        (libc::IFF_DEBUG, "DEBUG"),
        (libc::IFF_DYNAMIC, "DYNAMIC"),
        (libc::IFF_AUTOMEDIA, "AUTOMEDIA"),
        (libc::IFF_PORTSEL, "PORTSEL"),
        (libc::IFF_NOTRAILERS, "NOTRAILERS"),
        (libc::IFF_UP, "UP"),
        (libc::IFF_LOWER_UP, "LOWER_UP"),
        (libc::IFF_DORMANT, "DORMANT"),
    ];
    let up = libc::IFF_UP as u32;
    let running = libc::IFF_RUNNING as u32;
    let mut out = Vec::new();
    if bits & up != 0 && bits & running == 0 {
        out.push("NO-CARRIER".to_string());
    }
    let mut rest = bits & !running;
    for (bit, name) in ORDER {
        let bit = bit as u32;
        if rest & bit != 0 {
            rest &= !bit;
            out.push(name.to_string());
        }
    }
    // IFF_ECHO is not in every libc; the kernel value is 1 << 18.
    if rest & (1 << 18) != 0 {
        rest &= !(1 << 18);
        out.push("ECHO".to_string());
    }
    if rest != 0 {
        out.push(format!("{rest:x}"));
    }
    out
}

fn hex_colon(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// An `Addr` from an RTM_NEWADDR message: IFA_LOCAL when present (IPv4),
/// else IFA_ADDRESS (IPv6), as `ip` shows "local".
fn addr_from(m: &AddressMessage) -> Option<Addr> {
    let family = match m.header.family {
        AddressFamily::Inet => "inet",
        AddressFamily::Inet6 => "inet6",
        _ => return None,
    };
    let mut local = None;
    let mut address = None;
    for attr in &m.attributes {
        match attr {
            AddressAttribute::Local(a) => local = Some(*a),
            AddressAttribute::Address(a) => address = Some(*a),
            _ => {}
        }
    }
    Some(Addr {
        family,
        local: local.or(address)?.to_string(),
        prefix_len: m.header.prefix_len,
        scope: scope_name(u8::from(m.header.scope)),
    })
}

/// iproute2's names for route/address scopes (rtnl_rtscope_n2a).
fn scope_name(scope: u8) -> &'static str {
    match scope {
        0 => "global",
        200 => "site",
        253 => "link",
        254 => "host",
        255 => "nowhere",
        _ => "other",
    }
}

/// A `RouteInfo` for a unicast route of the main table; `None` for others.
fn route_from(r: &RouteMessage, names: &HashMap<u32, String>) -> Option<RouteInfo> {
    let family = match r.header.address_family {
        AddressFamily::Inet => "inet",
        AddressFamily::Inet6 => "inet6",
        _ => return None,
    };
    let mut table = u32::from(r.header.table);
    let mut dst = None;
    let mut via = None;
    let mut dev = None;
    for attr in &r.attributes {
        match attr {
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::Destination(a) => dst = route_addr(a),
            RouteAttribute::Gateway(a) => via = route_addr(a),
            RouteAttribute::Oif(i) => dev = Some(names.get(i).cloned().unwrap_or(format!("if{i}"))),
            _ => {}
        }
    }
    if table != u32::from(RouteHeader::RT_TABLE_MAIN) || r.header.kind != RouteType::Unicast {
        return None;
    }
    let len = r.header.destination_prefix_length;
    let dst = match dst {
        Some(d) => Some(format!("{d}/{len}")),
        None if len == 0 => None,
        None => return None,
    };
    Some(RouteInfo {
        family,
        dst,
        via,
        dev,
    })
}

fn route_addr(a: &RouteAddress) -> Option<String> {
    match a {
        RouteAddress::Inet(a) => Some(a.to_string()),
        RouteAddress::Inet6(a) => Some(a.to_string()),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// The socket
// ---------------------------------------------------------------------------

/// A NETLINK_ROUTE socket bound in the caller's current network namespace.
struct Nl {
    sock: Socket,
    seq: u32,
}

impl Nl {
    fn open(op: &str) -> Result<Nl> {
        let mut sock = Socket::new(NETLINK_ROUTE)
            .map_err(|e| Error::io(op, &e).detail("socket(AF_NETLINK, NETLINK_ROUTE)"))?;
        sock.bind_auto()
            .map_err(|e| Error::io(op, &e).detail("bind(AF_NETLINK)"))?;
        // Best effort, for better errors: extended ACKs carry the kernel's
        // own error text (since 4.12); capped ACKs do not echo the request.
        let _ = sock.set_ext_ack(true);
        let _ = sock.set_cap_ack(true);
        Ok(Nl { sock, seq: 0 })
    }

    /// The index of link `name`: RTM_GETLINK with IFLA_IFNAME.
    fn index_of(&mut self, op: &str, name: &str) -> Result<u32> {
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
    fn request(
        &mut self,
        op: &str,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<Vec<RouteNetlinkMessage>> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
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
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sched::{unshare, CloneFlags};
    use nix::sys::wait::{waitpid, WaitStatus};
    use nix::unistd::{fork, pipe, ForkResult};
    use std::io::{Read, Write};
    use std::os::fd::{AsRawFd, OwnedFd};
    use std::process::Command;

    type Check = std::result::Result<(), String>;

    /// Exit code of a child that could not get a network namespace.
    const SKIP: i32 = 77;

    macro_rules! ensure {
        ($cond:expr, $($fmt:tt)+) => {
            if !$cond {
                return Err(format!("line {}: {}", line!(), format!($($fmt)+)));
            }
        };
    }

    fn ok<T>(op: &str, r: Result<T>) -> std::result::Result<T, String> {
        r.map_err(|e| format!("{op}: {e}"))
    }

    fn find<'a>(links: &'a [Link], name: &str) -> std::result::Result<&'a Link, String> {
        links
            .iter()
            .find(|l| l.name == name)
            .ok_or_else(|| format!("no link '{name}' in {links:?}"))
    }

    /// Runs `body` in a forked child inside a new network namespace, so
    /// nothing it does can touch the host's network. The child reports
    /// failure text through a pipe and always ends in `_exit`.
    /// Returns `None` (after saying why) when no namespace can be had.
    fn in_fresh_netns(body: fn() -> Check) -> Option<Check> {
        let (rd, wr) = pipe().expect("pipe");
        // SAFETY: the child only runs `body` and then _exit()s; it never
        // returns into the test harness.
        match unsafe { fork() }.expect("fork") {
            ForkResult::Child => {
                drop(rd);
                let code = child_main(wr, body);
                unsafe { libc::_exit(code) }
            }
            ForkResult::Parent { child } => {
                drop(wr);
                let mut report = String::new();
                let _ = std::fs::File::from(rd).read_to_string(&mut report);
                match waitpid(child, None).expect("waitpid") {
                    WaitStatus::Exited(_, 0) => Some(Ok(())),
                    WaitStatus::Exited(_, SKIP) => {
                        eprintln!("SKIPPED: {report}");
                        None
                    }
                    other => Some(Err(format!("child {other:?}: {report}"))),
                }
            }
        }
    }

    fn child_main(wr: OwnedFd, body: fn() -> Check) -> i32 {
        let mut out = std::fs::File::from(wr);
        // A new network namespace: as root directly, otherwise inside a new
        // user namespace (the forked child is single-threaded, as that needs).
        if unshare(CloneFlags::CLONE_NEWNET).is_err()
            && unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET).is_err()
        {
            let _ = write!(
                out,
                "cannot unshare(CLONE_NEWNET) here (needs root or user namespaces)"
            );
            return SKIP;
        }
        match std::panic::catch_unwind(body) {
            Ok(Ok(())) => 0,
            Ok(Err(msg)) => {
                let _ = out.write_all(msg.as_bytes());
                1
            }
            Err(_) => {
                let _ = out.write_all(b"panicked");
                2
            }
        }
    }

    fn assert_child(r: Option<Check>) {
        if let Some(Err(msg)) = r {
            panic!("{msg}");
        }
    }

    #[test]
    fn fresh_netns_has_only_lo_down_then_up_with_127_0_0_1() {
        assert_child(in_fresh_netns(|| {
            let ls = ok("links", links())?;
            ensure!(ls.len() == 1, "expected only lo, got {ls:?}");
            let lo = &ls[0];
            ensure!(lo.name == "lo" && lo.kind == "loopback", "{lo:?}");
            ensure!(lo.state == "DOWN", "lo state {}", lo.state);
            ensure!(lo.flags == ["LOOPBACK"], "lo flags {:?}", lo.flags);
            ensure!(lo.addrs.is_empty(), "lo addrs {:?}", lo.addrs);
            ensure!(lo.mac == "00:00:00:00:00:00", "lo mac {}", lo.mac);
            ensure!(ok("link_index", link_index("lo"))? == lo.index, "index");

            let up = LinkSet {
                up: Some(true),
                ..Default::default()
            };
            ok("link_set", link_set("lo", &up))?;
            let ls = ok("links", links())?;
            let lo = find(&ls, "lo")?;
            ensure!(lo.state == "UNKNOWN", "lo state {}", lo.state);
            ensure!(
                lo.flags == ["LOOPBACK", "UP", "LOWER_UP"],
                "lo flags {:?}",
                lo.flags
            );
            let want = Addr {
                family: "inet",
                local: "127.0.0.1".into(),
                prefix_len: 8,
                scope: "host",
            };
            ensure!(lo.addrs.contains(&want), "lo addrs {:?}", lo.addrs);
            Ok(())
        }));
    }

    #[test]
    fn veth_bridge_addr_master_route_in_a_fresh_netns() {
        assert_child(in_fresh_netns(|| {
            ok("veth", veth("va", "vb"))?;
            ok("bridge", bridge("br0"))?;
            let ls = ok("links", links())?;
            let va = find(&ls, "va")?;
            let vb = find(&ls, "vb")?;
            ensure!(va.kind == "veth" && vb.kind == "veth", "{va:?} {vb:?}");
            ensure!(find(&ls, "br0")?.kind == "bridge", "br0 kind");
            ensure!(va.state == "DOWN" && va.mac.len() == 17, "{va:?}");

            let set = |up, master: Option<&str>| LinkSet {
                up: Some(up),
                master: Some(master.map(String::from)),
                ..Default::default()
            };
            ok("link_set va", link_set("va", &set(true, Some("br0"))))?;
            ok("link_set br0 up", link_set("br0", &set(true, None)))?;
            ok("addr_add", addr_add("vb", "10.1.2.3/24"))?;
            ok("addr_add v6", addr_add("vb", "fd00::3/64"))?;
            let up = LinkSet {
                up: Some(true),
                mtu: Some(1400),
                ..Default::default()
            };
            ok("link_set vb", link_set("vb", &up))?;

            let ls = ok("links", links())?;
            let va = find(&ls, "va")?;
            let vb = find(&ls, "vb")?;
            ensure!(
                va.master.as_deref() == Some("br0"),
                "va master {:?}",
                va.master
            );
            ensure!(
                va.flags.contains(&"UP".to_string()),
                "va flags {:?}",
                va.flags
            );
            ensure!(vb.mtu == 1400, "vb mtu {}", vb.mtu);
            let v4 = Addr {
                family: "inet",
                local: "10.1.2.3".into(),
                prefix_len: 24,
                scope: "global",
            };
            ensure!(vb.addrs.first() == Some(&v4), "vb addrs {:?}", vb.addrs);
            ensure!(
                vb.addrs
                    .iter()
                    .any(|a| a.family == "inet6" && a.local == "fd00::3" && a.prefix_len == 64),
                "vb addrs {:?}",
                vb.addrs
            );

            // Routes: one via a gateway, one straight onto the link, a default.
            let route = |dst: Option<&str>, via: Option<&str>, dev: Option<&str>| Route {
                dst: dst.map(String::from),
                via: via.map(String::from),
                dev: dev.map(String::from),
            };
            ok(
                "route_add via",
                route_add(&route(Some("10.9.0.0/16"), Some("10.1.2.1"), None)),
            )?;
            ok(
                "route_add dev",
                route_add(&route(Some("10.8.0.0/16"), None, Some("vb"))),
            )?;
            ok(
                "route_add default",
                route_add(&route(None, Some("10.1.2.1"), Some("vb"))),
            )?;
            let routes = ok("routes", routes())?;
            let has = |dst: Option<&str>, via: Option<&str>| {
                routes.iter().any(|r| {
                    r.dst.as_deref() == dst
                        && r.via.as_deref() == via
                        && r.dev.as_deref() == Some("vb")
                })
            };
            ensure!(has(Some("10.9.0.0/16"), Some("10.1.2.1")), "{routes:?}");
            ensure!(has(Some("10.8.0.0/16"), None), "{routes:?}");
            ensure!(has(None, Some("10.1.2.1")), "{routes:?}");
            ensure!(has(Some("10.1.2.0/24"), None), "{routes:?}");
            let e = route_add(&route(Some("10.9.0.0/16"), Some("10.1.2.1"), None));
            ensure!(
                matches!(&e, Err(e) if e.errno == Some(Errno::EEXIST) && e.hint.is_some()),
                "duplicate route: {e:?}"
            );

            // nomaster, rename (while down), delete.
            ok("nomaster", link_set("va", &set(false, None)))?;
            let rename = LinkSet {
                name: Some("va-renamed".into()),
                ..Default::default()
            };
            ok("rename", link_set("va", &rename))?;
            let ls = ok("links", links())?;
            ensure!(find(&ls, "va-renamed")?.master.is_none(), "still enslaved");
            ensure!(find(&ls, "va").is_err(), "old name still there");

            ok("addr_del", addr_del("vb", "10.1.2.3/24"))?;
            let e = addr_del("vb", "10.1.2.3/24");
            ensure!(
                matches!(&e, Err(e) if e.errno == Some(Errno::EADDRNOTAVAIL)),
                "second addr_del: {e:?}"
            );
            ok("link_del", link_del("va-renamed"))?;
            ok("link_del br0", link_del("br0"))?;
            let names: Vec<String> = ok("links", links())?.into_iter().map(|l| l.name).collect();
            ensure!(
                names == ["lo"],
                "left over: {names:?} (the peer goes with its veth)"
            );
            Ok(())
        }));
    }

    #[test]
    fn errors_name_the_op_keep_the_errno_and_hint() {
        assert_child(in_fresh_netns(|| {
            ok("veth", veth("x0", "x1"))?;
            let e = veth("x0", "x2").err().ok_or("second veth x0 succeeded")?;
            ensure!(e.op == "veth" && e.errno == Some(Errno::EEXIST), "{e:?}");
            ensure!(e.hint.as_deref().unwrap_or("").contains("x0"), "{e:?}");
            let e = bridge("x1").err().ok_or("bridge x1 succeeded")?;
            ensure!(e.errno == Some(Errno::EEXIST), "{e:?}");

            for (op, r) in [
                ("link_del", link_del("nope")),
                ("addr_add", addr_add("nope", "10.0.0.1/24")),
                (
                    "link_set",
                    link_set(
                        "nope",
                        &LinkSet {
                            up: Some(true),
                            ..Default::default()
                        },
                    ),
                ),
                (
                    "link_set",
                    link_set(
                        "x0",
                        &LinkSet {
                            master: Some(Some("nobr".into())),
                            ..Default::default()
                        },
                    ),
                ),
            ] {
                let e = r.err().ok_or(format!("{op} on a missing link succeeded"))?;
                ensure!(e.op == op && e.errno == Some(Errno::ENODEV), "{e:?}");
                ensure!(
                    e.hint.as_deref().unwrap_or("").contains("no link named"),
                    "{e:?}"
                );
            }
            let e = link_index("nope").err().ok_or("link_index nope")?;
            ensure!(e.errno == Some(Errno::ENODEV), "{e:?}");

            // Rejected before the kernel sees them.
            for r in [
                veth("same", "same"),
                bridge(""),
                bridge("sixteen-bytes-xx"),
                bridge("nul\0byte"),
                bridge("a/b"),
                addr_add("x0", "10.0.0.1/33"),
                addr_add("x0", "10.0.0.300/24"),
                addr_add("x0", "fd00::1/129"),
                addr_add("x0", "10.0.0.1/"),
                route_add(&Route::default()),
                route_add(&Route {
                    dst: Some("10.0.0.1/24".into()),
                    dev: Some("x0".into()),
                    via: None,
                }),
                route_add(&Route {
                    dst: Some("fd00::/64".into()),
                    via: Some("10.0.0.1".into()),
                    dev: None,
                }),
                link_set("x0", &LinkSet::default()),
                link_set(
                    "x0",
                    &LinkSet {
                        netns: Some(NetnsTarget::Pid(0)),
                        ..Default::default()
                    },
                ),
            ] {
                let e = r.err().ok_or("bad input was accepted")?;
                ensure!(
                    e.errno == Some(Errno::EINVAL) && !e.detail.is_empty(),
                    "{e:?}"
                );
            }
            // Nothing was created by the rejected calls.
            let mut names: Vec<String> =
                ok("links", links())?.into_iter().map(|l| l.name).collect();
            names.sort();
            ensure!(names == ["lo", "x0", "x1"], "{names:?}");
            ok("link_del", link_del("x1"))?;
            Ok(())
        }));
    }

    /// `link_set(netns)`: both forms move a link into another process's
    /// namespace, where `links()` then sees it.
    #[test]
    fn link_set_netns_moves_links_by_pid_and_by_fd() {
        assert_child(in_fresh_netns(|| {
            ok("veth", veth("m0", "m1"))?;
            ok("veth", veth("f0", "f1"))?;
            let (ready_rd, ready_wr) = pipe().map_err(|e| e.to_string())?;
            let (go_rd, go_wr) = pipe().map_err(|e| e.to_string())?;
            // SAFETY: the grandchild only checks links() and _exit()s.
            match unsafe { fork() }.map_err(|e| e.to_string())? {
                ForkResult::Child => {
                    drop(ready_rd);
                    drop(go_wr);
                    let code = match unshare(CloneFlags::CLONE_NEWNET) {
                        Err(_) => 3,
                        Ok(()) => {
                            let _ = std::fs::File::from(ready_wr).write_all(b"r");
                            let mut b = [0u8; 1];
                            let _ = std::fs::File::from(go_rd).read(&mut b);
                            let names: Vec<String> = links()
                                .map(|v| v.into_iter().map(|l| l.name).collect())
                                .unwrap_or_default();
                            let mut names = names;
                            names.sort();
                            if names == ["f1", "lo", "m1"] {
                                0
                            } else {
                                4
                            }
                        }
                    };
                    unsafe { libc::_exit(code) }
                }
                ForkResult::Parent { child } => {
                    drop(ready_wr);
                    drop(go_rd);
                    let mut b = [0u8; 1];
                    let _ = std::fs::File::from(ready_rd).read(&mut b);
                    let by_pid = LinkSet {
                        netns: Some(NetnsTarget::Pid(child.as_raw())),
                        ..Default::default()
                    };
                    let moved = link_set("m1", &by_pid);
                    let nsfile = std::fs::File::open(format!("/proc/{child}/ns/net"))
                        .map_err(|e| e.to_string())?;
                    let by_fd = LinkSet {
                        netns: Some(NetnsTarget::Fd(nsfile.as_raw_fd())),
                        ..Default::default()
                    };
                    let moved_fd = link_set("f1", &by_fd);
                    let _ = std::fs::File::from(go_wr).write_all(b"g");
                    let status = waitpid(child, None).map_err(|e| e.to_string())?;
                    ok("link_set netns pid", moved)?;
                    ok("link_set netns fd", moved_fd)?;
                    ensure!(
                        status == WaitStatus::Exited(child, 0),
                        "the other namespace did not see m1 and f1: {status:?}"
                    );
                    let mut names: Vec<String> =
                        ok("links", links())?.into_iter().map(|l| l.name).collect();
                    names.sort();
                    ensure!(names == ["f0", "lo", "m0"], "{names:?}");
                    Ok(())
                }
            }
        }));
    }

    /// `links()` agrees with `ip -j addr`, read in the test's own (host)
    /// namespace without changing anything.
    #[test]
    fn links_match_ip_j_addr_in_the_current_namespace() {
        let out = match Command::new("ip").args(["-j", "addr"]).output() {
            Ok(o) if o.status.success() => o,
            other => {
                eprintln!("SKIPPED: `ip -j addr` unavailable: {other:?}");
                return;
            }
        };
        let ip: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ip -j json");
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
        let out = match Command::new("ip").args(["-j", "route"]).output() {
            Ok(o) if o.status.success() => o,
            other => {
                eprintln!("SKIPPED: `ip -j route` unavailable: {other:?}");
                return;
            }
        };
        let ip: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ip -j json");
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

    #[test]
    fn names_and_cidrs_are_checked_before_the_kernel() {
        assert!(check_ifname("t", "eth0").is_ok());
        assert!(check_ifname("t", "fifteen-bytes-x").is_ok());
        for bad in [
            "",
            "sixteen-bytes-xx",
            "a\0b",
            "a b",
            "a/b",
            "a:b",
            ".",
            "..",
        ] {
            let e = check_ifname("bridge", bad).unwrap_err();
            assert_eq!(
                (e.op.as_str(), e.errno),
                ("bridge", Some(Errno::EINVAL)),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_cidr("t", "10.0.0.1/24").unwrap(),
            ("10.0.0.1".parse().unwrap(), 24)
        );
        assert_eq!(parse_cidr("t", "fd00::1").unwrap().1, 128);
        assert_eq!(parse_cidr("t", "10.0.0.1").unwrap().1, 32);
        for bad in [
            "",
            "10.0.0.1/33",
            "10.0.0.1/",
            "10.0.0.1/+8",
            "x/8",
            "10.0.0/8",
            "::/129",
        ] {
            assert!(parse_cidr("t", bad).is_err(), "{bad:?}");
        }
        assert!(parse_network("t", "10.0.0.0/8").is_ok());
        assert!(parse_network("t", "0.0.0.0/0").is_ok());
        assert!(parse_network("t", "fd00::/64").is_ok());
        let e = parse_network("route_add", "10.0.0.1/8").unwrap_err();
        assert!(e.detail.contains("10.0.0.0/8"), "{e:?}");
    }

    #[test]
    fn flags_are_named_and_ordered_like_ip() {
        let f = |v: &[libc::c_int]| flag_names(v.iter().fold(0, |a, b| a | *b as u32));
        assert_eq!(
            f(&[
                libc::IFF_UP,
                libc::IFF_LOOPBACK,
                libc::IFF_RUNNING,
                libc::IFF_LOWER_UP
            ]),
            ["LOOPBACK", "UP", "LOWER_UP"]
        );
        assert_eq!(
            f(&[libc::IFF_UP, libc::IFF_BROADCAST, libc::IFF_MULTICAST]),
            ["NO-CARRIER", "BROADCAST", "MULTICAST", "UP"]
        );
        assert_eq!(f(&[libc::IFF_LOOPBACK]), ["LOOPBACK"]);
    }

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
