//! Conversions between rtnetlink's messages and nsscript's types: what the
//! kernel reports (links, addresses, routes) read into `Link`, `Addr` and
//! `RouteInfo`, and the traffic-control options (netem, tbf) written as the
//! kernel's structs, which netlink-packet-route does not model.

use super::{Addr, Link, RouteInfo, Shape};
use netlink_packet_route::address::AddressAttribute;
use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::{LinkAttribute, LinkInfo, LinkLayerType, LinkMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use std::collections::HashMap;

/// A `Link` from an RTM_NEWLINK message, plus its master's index (resolved
/// to a name once all links are known).
pub fn link_from(m: LinkMessage) -> (Link, Option<u32>) {
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
pub fn flag_names(bits: u32) -> Vec<String> {
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
pub fn addr_from(m: &AddressMessage) -> Option<Addr> {
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
pub fn route_from(r: &RouteMessage, names: &HashMap<u32, String>) -> Option<RouteInfo> {
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

/// The name of a request, for errors: "RTM_NEWLINK".
pub fn request_name(m: &RouteNetlinkMessage) -> &'static str {
    use RouteNetlinkMessage::*;
    match m {
        NewLink(_) => "RTM_NEWLINK",
        DelLink(_) => "RTM_DELLINK",
        GetLink(_) => "RTM_GETLINK",
        SetLink(_) => "RTM_SETLINK",
        NewAddress(_) => "RTM_NEWADDR",
        DelAddress(_) => "RTM_DELADDR",
        GetAddress(_) => "RTM_GETADDR",
        NewRoute(_) => "RTM_NEWROUTE",
        DelRoute(_) => "RTM_DELROUTE",
        GetRoute(_) => "RTM_GETROUTE",
        NewNeighbour(_) => "RTM_NEWNEIGH",
        NewQueueDiscipline(_) => "RTM_NEWQDISC",
        DelQueueDiscipline(_) => "RTM_DELQDISC",
        GetQueueDiscipline(_) => "RTM_GETQDISC",
        _ => "rtnetlink request",
    }
}

// ---------------------------------------------------------------------------
// Traffic control: the option payloads of linux/pkt_sched.h
// ---------------------------------------------------------------------------

/// TCA_OPTIONS, the attribute carrying a qdisc's own parameters.
pub const TCA_OPTIONS: u16 = 2;

const TCA_NETEM_LATENCY64: u16 = 10;
const TCA_TBF_PARMS: u16 = 1;
const TCA_TBF_RATE64: u16 = 4;
const TCA_TBF_BURST: u16 = 6;
const TC_LINKLAYER_ETHERNET: u8 = 1;

/// netem's default queue, in packets (what `tc qdisc add ... netem` uses).
const NETEM_LIMIT: u32 = 1000;

/// The token bucket holds this many bytes, as Mininet's TCLink asks of tbf
/// (`burst 15000`).
pub const TBF_BURST: u32 = 15000;

/// The queue behind the bucket, in bytes: a tenth of a second at the rate,
/// and at least three 64 KiB segmentation-offload packets, which tbf
/// splits into MTU-sized ones on the way in (a smaller queue drops most of
/// each and TCP crawls).
fn tbf_limit(bytes_ps: u64) -> u32 {
    let tenth = bytes_ps / 10 + u64::from(TBF_BURST);
    u32::try_from(tenth.max(3 * 65536)).unwrap_or(u32::MAX)
}

/// One netlink attribute: length, type, value, padded to 4 bytes.
fn nla(kind: u16, value: &[u8], out: &mut Vec<u8>) {
    let len = 4 + value.len();
    out.extend_from_slice(&(len as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value);
    out.resize(out.len() + ((4 - len % 4) % 4), 0);
}

/// The netem options: `struct tc_netem_qopt` (latency in the scheduler's
/// 64 ns ticks, loss as a fraction of 2^32 - 1), then TCA_NETEM_LATENCY64
/// with the delay in nanoseconds, which the kernel prefers (since 4.15).
pub fn netem_options(s: &Shape) -> Vec<u8> {
    let ticks = u32::try_from(s.delay_ns >> 6).unwrap_or(u32::MAX);
    let loss = (s.loss_pct / 100.0 * f64::from(u32::MAX)).round() as u32;
    let mut out = Vec::with_capacity(40);
    for field in [ticks, NETEM_LIMIT, loss, 0, 0, 0] {
        out.extend_from_slice(&field.to_ne_bytes());
    }
    let ns = i64::try_from(s.delay_ns).unwrap_or(i64::MAX);
    nla(TCA_NETEM_LATENCY64, &ns.to_ne_bytes(), &mut out);
    out
}

/// The tbf options, nested: TCA_TBF_PARMS (`struct tc_tbf_qopt`: the rate
/// in bytes per second, the queue limit in bytes), TCA_TBF_BURST (the
/// bucket in bytes; the kernel works out the buffer time from it), and
/// TCA_TBF_RATE64 when the rate does not fit 32 bits.
pub fn tbf_options(s: &Shape) -> Vec<u8> {
    let bytes_ps = s.rate_bps / 8;
    let rate32 = u32::try_from(bytes_ps).unwrap_or(u32::MAX);
    let mut qopt = Vec::with_capacity(36);
    // struct tc_ratespec rate: cell_log, linklayer, overhead, cell_align,
    // mpu, rate. An Ethernet link layer spares the rate table.
    qopt.extend_from_slice(&[0, TC_LINKLAYER_ETHERNET]);
    qopt.extend_from_slice(&0u16.to_ne_bytes());
    qopt.extend_from_slice(&0i16.to_ne_bytes());
    qopt.extend_from_slice(&0u16.to_ne_bytes());
    qopt.extend_from_slice(&rate32.to_ne_bytes());
    // struct tc_ratespec peakrate: none.
    qopt.extend_from_slice(&[0u8; 12]);
    // limit, buffer (from TCA_TBF_BURST instead), mtu.
    for field in [tbf_limit(bytes_ps), 0, 0] {
        qopt.extend_from_slice(&field.to_ne_bytes());
    }
    let mut out = Vec::with_capacity(64);
    nla(TCA_TBF_PARMS, &qopt, &mut out);
    nla(TCA_TBF_BURST, &TBF_BURST.to_ne_bytes(), &mut out);
    if bytes_ps > u64::from(u32::MAX) {
        nla(TCA_TBF_RATE64, &bytes_ps.to_ne_bytes(), &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
