//! Network links, addresses and routes for scripts (what `ip link`,
//! `ip addr` and `ip route` show and do), in the network namespace the
//! interpreter is in.

use super::error::{invalid, IntoRhai, RResult};
use super::opts;
use crate::os;
use crate::os::net::{LinkSet, NetnsTarget, Route};
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
    opts::check_keys(OP, o, LINK_SET_KEYS, &[])?;
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
    os::net::link_set(name, &s).rhai()
}

fn route_add_impl(o: &Map) -> RResult<()> {
    const OP: &str = "route_add";
    opts::check_keys(OP, o, ROUTE_KEYS, &[])?;
    let r = Route {
        dst: opts::get_str(OP, o, "dst")?,
        via: opts::get_str(OP, o, "via")?,
        dev: opts::get_str(OP, o, "dev")?,
    };
    os::net::route_add(&r).rhai()
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
    ///
    /// ```rhai
    /// let p = spawn(["sleep", "60"], #{ns: ["net"]});
    /// veth("v0", "v1");
    /// link_set("v1", #{netns: p.pid});   // v1 now lives in p's namespace
    /// ```
    #[rhai_fn(return_raw)]
    pub fn veth(a: &str, b: &str) -> RResult<()> {
        os::net::veth(a, b).rhai()
    }

    /// Create a bridge: `ip link add NAME type bridge`.
    ///
    /// ```rhai
    /// bridge("br0");
    /// link_set("v0", #{master: "br0", up: true});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn bridge(name: &str) -> RResult<()> {
        os::net::bridge(name).rhai()
    }

    /// Change a link: `ip link set NAME ...`. Options: `up` (true/false),
    /// `master` (a bridge name), `nomaster: true`, `netns` (a pid, or a
    /// namespace file path like "/run/netns/blue"), `mtu`, `name` (rename).
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
    ///
    /// ```rhai
    /// link_del("v0");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn link_del(name: &str) -> RResult<()> {
        os::net::link_del(name).rhai()
    }

    /// Add an address: `ip addr add CIDR dev NAME` (a bare address is /32
    /// or /128).
    ///
    /// ```rhai
    /// addr_add("v0", "10.0.0.1/24");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn addr_add(name: &str, cidr: &str) -> RResult<()> {
        os::net::addr_add(name, cidr).rhai()
    }

    /// Remove an address: `ip addr del CIDR dev NAME`.
    ///
    /// ```rhai
    /// addr_del("v0", "10.0.0.1/24");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn addr_del(name: &str, cidr: &str) -> RResult<()> {
        os::net::addr_del(name, cidr).rhai()
    }

    /// Add a route: `ip route add DST [via GW] [dev DEV]`. Options: `dst`
    /// (CIDR, or "default" / absent for the default route), `via`, `dev`.
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
