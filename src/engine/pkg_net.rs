//! Network links, addresses and routes for scripts (what `ip link`,
//! `ip addr` and `ip route` show and do), in the network namespace the
//! interpreter is in.
//!
//! Every call that changes links, addresses or routes refuses in the
//! host's (pid 1's) network namespace unless `#{host: true}` is passed: as
//! root it would change the host's own network. Reading stays free.

use super::error::{invalid, IntoRhai, RResult};
use super::opts;
use super::pkg_core::{guard_host, guard_host_keys};
use crate::os;
use crate::os::net::parse::{check_ifname, parse_cidr};
use crate::os::net::{LinkSet, NetnsTarget, Route};
use crate::os::ns::Namespace;
use rhai::plugin::*;
use rhai::{Array, Dynamic, Map};
use std::os::fd::AsRawFd;

const LINK_SET_KEYS: &[&str] = &["up", "master", "nomaster", "netns", "mtu", "name"];
const ROUTE_KEYS: &[&str] = &["dst", "via", "dev"];

fn opt_str(v: Option<String>) -> Dynamic {
    v.map(Dynamic::from).unwrap_or(Dynamic::UNIT)
}

fn link_map(l: os::net::Link) -> Map {
    let mut m = Map::new();
    m.insert("index".into(), i64::from(l.index).into());
    m.insert("name".into(), l.name.into());
    m.insert("kind".into(), l.kind.into());
    m.insert("state".into(), l.state.into());
    let flags: Array = l.flags.into_iter().map(Dynamic::from).collect();
    m.insert("flags".into(), flags.into());
    m.insert("mtu".into(), i64::from(l.mtu).into());
    m.insert("mac".into(), l.mac.into());
    m.insert("master".into(), opt_str(l.master));
    let addrs: Array = l
        .addrs
        .into_iter()
        .map(|a| {
            let mut am = Map::new();
            am.insert("family".into(), a.family.into());
            am.insert("local".into(), a.local.into());
            am.insert("prefix".into(), i64::from(a.prefix_len).into());
            am.insert("scope".into(), a.scope.into());
            Dynamic::from(am)
        })
        .collect();
    m.insert("addrs".into(), addrs.into());
    m
}

fn route_map(r: os::net::RouteInfo) -> Map {
    let mut m = Map::new();
    m.insert("family".into(), r.family.into());
    m.insert("dst".into(), opt_str(r.dst));
    m.insert("via".into(), opt_str(r.via));
    m.insert("dev".into(), opt_str(r.dev));
    m
}

/// Applies `link_set` options. `netns` is a pid, or a path to a namespace
/// file (`/proc/PID/ns/net`, `/run/netns/NAME`) held open for the call.
fn link_set_impl(name: &str, o: &Map) -> RResult<()> {
    const OP: &str = "link_set";
    opts::check_keys(OP, o, LINK_SET_KEYS, &["host"])?;
    let mut s = LinkSet {
        up: opts::get_bool(OP, o, "up")?,
        name: opts::get_str(OP, o, "name")?,
        ..Default::default()
    };
    let master = opts::get_str(OP, o, "master")?;
    let nomaster = opts::get_bool(OP, o, "nomaster")?.unwrap_or(false);
    s.master = match (master, nomaster) {
        (Some(_), true) => {
            return Err(invalid(OP, "master and nomaster are exclusive; give one"));
        }
        (Some(m), false) => Some(Some(m)),
        (None, true) => Some(None),
        (None, false) => None,
    };
    if let Some(mtu) = opts::get_int(OP, o, "mtu")? {
        s.mtu =
            Some(u32::try_from(mtu).ok().filter(|m| *m > 0).ok_or_else(|| {
                invalid(OP, format!("mtu {mtu} must be between 1 and 4294967295"))
            })?);
    }
    // Kept open until the request is sent: the kernel reads the fd then.
    let mut _nsfile = None;
    match o.get("netns") {
        None => {}
        Some(v) if v.is_int() => {
            let pid = v.as_int().unwrap_or(0);
            let pid = i32::try_from(pid)
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| invalid(OP, format!("netns pid {pid} is not a valid pid")))?;
            s.netns = Some(NetnsTarget::Pid(pid));
        }
        Some(v) if v.is_string() => {
            let path = v.clone().into_string().unwrap_or_default();
            let f = std::fs::File::open(&path).map_err(|e| {
                super::error::os_err(os::Error::io(format!("{OP}: netns {path:?}"), &e).hint(
                    "give a pid, or a namespace file like /proc/PID/ns/net or /run/netns/NAME",
                ))
            })?;
            s.netns = Some(NetnsTarget::Fd(f.as_raw_fd()));
            _nsfile = Some(f);
        }
        Some(v) => {
            return Err(invalid(
                OP,
                format!(
                    "netns must be a pid or a namespace file path, not {}",
                    opts::type_name(v)
                ),
            ))
        }
    }
    check_ifname(OP, name).rhai()?;
    for n in s.name.iter().chain(s.master.iter().flatten()) {
        check_ifname(OP, n).rhai()?;
    }
    guard_host_keys(
        OP,
        Namespace::Net,
        o,
        LINK_SET_KEYS,
        "change the host's links",
    )?;
    os::net::link_set(name, &s).rhai()
}

fn route_add_impl(o: &Map) -> RResult<()> {
    const OP: &str = "route_add";
    opts::check_keys(OP, o, ROUTE_KEYS, &["host"])?;
    let r = Route {
        dst: opts::get_str(OP, o, "dst")?,
        via: opts::get_str(OP, o, "via")?,
        dev: opts::get_str(OP, o, "dev")?,
    };
    r.checked(OP).rhai()?;
    guard_host_keys(
        OP,
        Namespace::Net,
        o,
        ROUTE_KEYS,
        "change the host's routes",
    )?;
    os::net::route_add(&r).rhai()
}

/// Refuses a change of the host's network namespace unless `#{host: true}`.
fn guard(op: &str, o: Option<&Map>, how: &str) -> RResult<()> {
    guard_host(op, Namespace::Net, o, how)
}

fn veth_impl(a: &str, b: &str, o: Option<&Map>) -> RResult<()> {
    check_ifname("veth", a).rhai()?;
    check_ifname("veth", b).rhai()?;
    guard("veth", o, "add links to the host")?;
    os::net::veth(a, b).rhai()
}

fn bridge_impl(name: &str, o: Option<&Map>) -> RResult<()> {
    check_ifname("bridge", name).rhai()?;
    guard("bridge", o, "add a bridge to the host")?;
    os::net::bridge(name).rhai()
}

fn link_del_impl(name: &str, o: Option<&Map>) -> RResult<()> {
    check_ifname("link_del", name).rhai()?;
    guard("link_del", o, "delete the host's links")?;
    os::net::link_del(name).rhai()
}

fn addr_impl(op: &str, name: &str, cidr: &str, o: Option<&Map>) -> RResult<()> {
    check_ifname(op, name).rhai()?;
    parse_cidr(op, cidr).rhai()?;
    guard(op, o, "change the host's addresses")?;
    if op == "addr_add" {
        os::net::addr_add(name, cidr).rhai()
    } else {
        os::net::addr_del(name, cidr).rhai()
    }
}

#[export_module(manifest)]
pub mod net_fns {
    use super::*;

    /// The links of this network namespace with their addresses, ordered by
    /// index, as `ip addr` shows them:
    /// `[#{index, name, kind, state, flags, mtu, mac, master, addrs: [#{family, local, prefix, scope}]}]`.
    /// `state` is "UP", "DOWN" or "UNKNOWN"; `master` is `()` when none.
    ///
    /// ```rhai
    /// for l in links() {
    ///     print(`${l.index}: ${l.name} ${l.state} ${l.addrs.map(|a| a.local + "/" + a.prefix)}`);
    /// }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn links() -> RResult<Array> {
        let v = os::net::links().rhai()?;
        Ok(v.into_iter().map(|l| Dynamic::from(link_map(l))).collect())
    }

    /// Create a veth pair `a` <-> `b`: `ip link add A type veth peer name B`.
    /// Refused in the host's network namespace (see `veth(a, b, opts)`).
    ///
    /// ```rhai
    /// unshare(["net"]);                  // as root; add "user" otherwise
    /// let p = spawn(["sleep", "60"], #{ns: ["net"]});
    /// veth("v0", "v1");
    /// link_set("v1", #{netns: p.pid});   // v1 now lives in p's namespace
    /// ```
    #[rhai_fn(name = "veth", return_raw)]
    pub fn veth(a: &str, b: &str) -> RResult<()> {
        veth_impl(a, b, None)
    }

    /// `veth(a, b)` with options: `#{host: true}` adds the pair to the
    /// host's own network namespace on purpose.
    ///
    /// ```rhai
    /// veth("v0", "v1", #{host: true});
    /// link_del("v0", #{host: true});
    /// ```
    #[rhai_fn(name = "veth", return_raw)]
    pub fn veth_opts(a: &str, b: &str, options: Map) -> RResult<()> {
        veth_impl(a, b, Some(&options))
    }

    /// Create a bridge: `ip link add NAME type bridge`. Refused in the
    /// host's network namespace unless `#{host: true}` (see
    /// `bridge(name, opts)`).
    ///
    /// ```rhai
    /// unshare(["net"]);
    /// bridge("br0");
    /// veth("v0", "v1");
    /// link_set("v0", #{master: "br0", up: true});
    /// ```
    #[rhai_fn(name = "bridge", return_raw)]
    pub fn bridge(name: &str) -> RResult<()> {
        bridge_impl(name, None)
    }

    /// `bridge(name)` with options: `#{host: true}` makes it in the host's
    /// own network namespace on purpose.
    ///
    /// ```rhai
    /// bridge("br0", #{host: true});
    /// ```
    #[rhai_fn(name = "bridge", return_raw)]
    pub fn bridge_opts(name: &str, options: Map) -> RResult<()> {
        bridge_impl(name, Some(&options))
    }

    /// Change a link: `ip link set NAME ...`. Options: `up` (true/false),
    /// `master` (a bridge name), `nomaster: true`, `netns` (a pid, or a
    /// namespace file path like "/run/netns/blue"), `mtu`, `name` (rename),
    /// `host: true` to change a link of the host's network namespace on
    /// purpose (refused there otherwise).
    ///
    /// ```rhai
    /// link_set("lo", #{up: true});
    /// link_set("v0", #{mtu: 1400, name: "uplink"});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn link_set(name: &str, options: Map) -> RResult<()> {
        link_set_impl(name, &options)
    }

    /// Delete a link (a veth takes its peer with it): `ip link del NAME`.
    /// Refused in the host's network namespace unless `#{host: true}`.
    ///
    /// ```rhai
    /// link_del("v0");
    /// ```
    #[rhai_fn(name = "link_del", return_raw)]
    pub fn link_del(name: &str) -> RResult<()> {
        link_del_impl(name, None)
    }

    /// `link_del(name)` with options: `#{host: true}` deletes a link of
    /// the host's own network namespace on purpose.
    ///
    /// ```rhai
    /// link_del("v0", #{host: true});
    /// ```
    #[rhai_fn(name = "link_del", return_raw)]
    pub fn link_del_opts(name: &str, options: Map) -> RResult<()> {
        link_del_impl(name, Some(&options))
    }

    /// Add an address: `ip addr add CIDR dev NAME` (a bare address is /32
    /// or /128). Refused in the host's network namespace unless
    /// `#{host: true}`.
    ///
    /// ```rhai
    /// addr_add("v0", "10.0.0.1/24");
    /// ```
    #[rhai_fn(name = "addr_add", return_raw)]
    pub fn addr_add(name: &str, cidr: &str) -> RResult<()> {
        addr_impl("addr_add", name, cidr, None)
    }

    /// `addr_add(name, cidr)` with options: `#{host: true}` adds the
    /// address to a link of the host on purpose.
    ///
    /// ```rhai
    /// addr_add("lo", "127.0.0.9/8", #{host: true});
    /// addr_del("lo", "127.0.0.9/8", #{host: true});
    /// ```
    #[rhai_fn(name = "addr_add", return_raw)]
    pub fn addr_add_opts(name: &str, cidr: &str, options: Map) -> RResult<()> {
        addr_impl("addr_add", name, cidr, Some(&options))
    }

    /// Remove an address: `ip addr del CIDR dev NAME`. Refused in the
    /// host's network namespace unless `#{host: true}`.
    ///
    /// ```rhai
    /// addr_del("v0", "10.0.0.1/24");
    /// ```
    #[rhai_fn(name = "addr_del", return_raw)]
    pub fn addr_del(name: &str, cidr: &str) -> RResult<()> {
        addr_impl("addr_del", name, cidr, None)
    }

    /// `addr_del(name, cidr)` with options: `#{host: true}` removes an
    /// address of the host on purpose.
    ///
    /// ```rhai
    /// addr_del("lo", "127.0.0.9/8", #{host: true});
    /// ```
    #[rhai_fn(name = "addr_del", return_raw)]
    pub fn addr_del_opts(name: &str, cidr: &str, options: Map) -> RResult<()> {
        addr_impl("addr_del", name, cidr, Some(&options))
    }

    /// Add a route: `ip route add DST [via GW] [dev DEV]`. Options: `dst`
    /// (CIDR, or "default" / absent for the default route), `via`, `dev`,
    /// `host: true` to add it to the host's routing table on purpose
    /// (refused there otherwise).
    ///
    /// ```rhai
    /// route_add(#{dst: "default", via: "10.0.0.1"});
    /// route_add(#{dst: "10.1.0.0/16", dev: "v0"});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn route_add(options: Map) -> RResult<()> {
        route_add_impl(&options)
    }

    /// The main routing table, IPv4 then IPv6, as `ip route` / `ip -6 route`
    /// show it: `[#{family, dst, via, dev}]` (`dst` is `()` for the default
    /// route).
    ///
    /// ```rhai
    /// for r in routes() { print(`${r.dst ?? "default"} via ${r.via} dev ${r.dev}`); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn routes() -> RResult<Array> {
        let v = os::net::routes().rhai()?;
        Ok(v.into_iter().map(|r| Dynamic::from(route_map(r))).collect())
    }
}
