//! Topologies of network namespaces, in the style of Mininet: hosts and
//! switches joined by links, built one call at a time (`topology()`, then
//! `t.add_host`, `t.add_switch`, `t.add_link`, as Mininet's addHost, addSwitch, addLink) or by the shapes of `import "net"`.
//!
//! Every node is a process nsscript started in namespaces of its own (a
//! host: network and UTS, named after it; a switch: a network namespace
//! with a bridge inside), so nothing is ever made in the host's namespaces
//! and everything vanishes with the nodes: on `t.stop()`, when the script
//! ends or fails, and when nsscript is SIGKILLed (the kernel kills the
//! nodes, PR_SET_PDEATHSIG). Each node keeps one rtnetlink socket opened
//! inside its namespace, so building makes no process per request.

use super::error::{invalid, os_err, IntoRhai, RResult};
use super::opts;
use super::pkg_proc::{capture_options, captured};
use super::process::Process;
use crate::os;
use crate::os::net::ping::{ping_all, Pinger};
use crate::os::net::topo::{Graph, Role, PREFIX};
use crate::os::net::{netns_fd, socket_in, LinkSet, Rtnl, Shape};
use crate::os::ns::{Namespace, NsSet};
use crate::os::nsfs::Target;
use rhai::plugin::*;
use rhai::{Array, Dynamic, Map};
use std::cell::RefCell;
use std::os::fd::{AsFd, OwnedFd};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

/// The options `t.add_host(name, opts)` takes.
const HOST_KEYS: &[&str] = &["ns"];
/// The kinds a host may have besides network and UTS.
const HOST_EXTRA_NS: &[Namespace] = &[Namespace::Pid, Namespace::Ipc, Namespace::Mount];
/// The options `t.add_link(a, b, opts)` takes.
const LINK_KEYS: &[&str] = &["delay", "loss", "rate"];
/// How long `pingall` waits for replies after the last request by default
/// (ping -W 1).
const PING_TIMEOUT_MS: i64 = 1000;

/// One node's live parts.
struct Node {
    /// The process whose end ends the node: the node itself, or (in an
    /// unprivileged topology) the helper it was started from.
    proc: Process,
    /// The process inside the node's namespaces.
    pid: i32,
    /// Its own namespaces (to join to run something there).
    kinds: NsSet,
    /// An rtnetlink socket and the network namespace file, both opened in
    /// the node's namespace and kept until the topology stops.
    nl: Rtnl,
    netns: OwnedFd,
}

struct Live {
    graph: Graph,
    nodes: Vec<Node>,
    /// Unprivileged: the process holding the user namespace every node's
    /// namespaces belong to.
    owner: Option<Process>,
    stopped: bool,
    /// The next pair of interface indexes for a link (see `Rtnl::veth`):
    /// every end gets one of its own, above those of lo and the bridges.
    next_index: u32,
    /// Whether every link end has been seen up since the last link.
    settled: bool,
    /// Whether static_arp ran since the last link.
    arp_static: bool,
    /// What `t.start` started: stopped with the nodes (a process in a
    /// node's network namespace would keep it alive).
    started: Vec<Process>,
}

/// The first interface index links are given.
const FIRST_INDEX: u32 = 100;
/// How long `pingall` waits for the links to come up.
const SETTLE: Duration = Duration::from_secs(3);

/// A topology of hosts and switches; cloning the value shares it.
#[derive(Clone)]
pub struct Topology(Rc<RefCell<Live>>);

impl Topology {
    pub fn new() -> Topology {
        Topology(Rc::new(RefCell::new(Live {
            graph: Graph::default(),
            nodes: Vec::new(),
            owner: None,
            stopped: false,
            next_index: FIRST_INDEX,
            settled: true,
            arp_static: false,
            started: Vec::new(),
        })))
    }

    /// "Topology(2 hosts, 1 switch, 2 links)".
    pub fn describe(&self) -> String {
        let l = self.0.borrow();
        let count = |r| l.graph.nodes.iter().filter(|n| n.role == r).count();
        format!(
            "Topology({} hosts, {} switches, {} links{})",
            count(Role::Host),
            count(Role::Switch),
            l.graph.links.len(),
            if l.stopped { ", stopped" } else { "" }
        )
    }
}

impl Default for Topology {
    fn default() -> Self {
        Topology::new()
    }
}

impl Drop for Live {
    /// The last handle is gone: the nodes go too.
    fn drop(&mut self) {
        self.stop();
    }
}

fn stopped_error(op: &str) -> Box<EvalAltResult> {
    os_err(
        os::Error::with_errno(op, nix::errno::Errno::ESRCH, "the topology was stopped")
            .hint("build a new one: its nodes and links are gone"),
    )
}

impl Live {
    fn check(&self, op: &str) -> RResult<()> {
        if self.stopped {
            Err(stopped_error(op))
        } else {
            Ok(())
        }
    }

    /// Kills every node and drops the sockets: the namespaces go with them.
    fn stop(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        let nodes = std::mem::take(&mut self.nodes);
        for n in &nodes {
            if n.proc.pid() != n.pid {
                // An unprivileged node is its helper's child: the helper
                // reaps it and then ends by itself, leaving no orphan.
                // SAFETY: kill of a process the helper has not reaped yet
                // (the helper lives until it has), so the pid is still its.
                unsafe { libc::kill(n.pid, libc::SIGKILL) };
            } else {
                let _ = n.proc.0.borrow().signal(nix::sys::signal::Signal::SIGKILL);
            }
        }
        for n in nodes {
            let _ = n.proc.0.borrow_mut().wait(None, &|| false);
        }
        // Only now what t.start started: in a host with a pid namespace of
        // its own, the host's end (its pid 1 ending) kills them while their
        // parents, which reap them, are still there; the host's pid 1 does
        // not finish exiting before they are reaped.
        for p in std::mem::take(&mut self.started) {
            p.0.borrow_mut().kill_and_reap();
        }
        if let Some(o) = self.owner.take() {
            o.0.borrow_mut().kill_and_reap();
        }
    }

    /// The owner of an unprivileged topology's namespaces, started once:
    /// a process in a new user namespace mapping the caller to root.
    fn owner(&mut self, op: &str) -> RResult<i32> {
        if let Some(o) = &self.owner {
            return Ok(o.pid());
        }
        let mut m = Map::new();
        m.insert("ns".into(), Dynamic::from(vec![Dynamic::from("user")]));
        m.insert("map_root".into(), true.into());
        let spec = node_spec(op, &m)?;
        let child = os::net::node::start(&spec, "owner").rhai()?;
        let p = Process::register(child);
        let pid = p.pid();
        self.owner = Some(p);
        Ok(pid)
    }

    /// Starts a node's process and opens its socket.
    fn start(&mut self, op: &str, name: &str, role: Role, extra: NsSet) -> RResult<Node> {
        let mut kinds = extra;
        kinds.insert(Namespace::Net);
        let mut m = Map::new();
        if role == Role::Host {
            kinds.insert(Namespace::Uts);
            m.insert("hostname".into(), name.into());
        }
        if kinds.contains(Namespace::Pid) && kinds.contains(Namespace::Mount) {
            m.insert("mount_proc".into(), true.into());
        }
        let names: Array = kinds
            .iter()
            .map(|k| Dynamic::from(k.name().to_string()))
            .collect();
        m.insert("ns".into(), names.into());
        let spec = node_spec(op, &m)?;
        let (proc, pid) = if os::ident::euid() == 0 {
            let child = os::net::node::start(&spec, name).rhai()?;
            let pid = child.pid;
            (Process::register(child), pid)
        } else {
            let owner = self.owner(op)?;
            let (helper, pid) = os::net::node::spawn_under(op, owner, &spec, name).rhai()?;
            (Process::register(helper), pid)
        };
        let opened = (|| {
            let mut nl = Rtnl::in_netns_of(op, pid)?;
            let netns = netns_fd(op, pid)?;
            match role {
                Role::Host => nl.link_set("lo", &up())?,
                Role::Switch => {
                    nl.bridge(name)?;
                    nl.link_set(name, &up())?;
                }
            }
            Ok((nl, netns))
        })();
        match opened {
            Ok((nl, netns)) => Ok(Node {
                proc,
                pid,
                kinds,
                nl,
                netns,
            }),
            Err(e) => {
                proc.0.borrow_mut().kill_and_reap();
                Err(os_err(e))
            }
        }
    }

    fn add_node(&mut self, op: &str, name: &str, role: Role, o: &Map) -> RResult<String> {
        self.check(op)?;
        let mut extra = NsSet::empty();
        if role == Role::Host {
            opts::check_keys(op, o, HOST_KEYS, &[])?;
            if let Some(v) = o.get("ns") {
                for k in opts::kinds(op, "ns", v)? {
                    if !HOST_EXTRA_NS.contains(&k) {
                        return Err(invalid(
                            op,
                            format!(
                                "a host may add \"pid\", \"ipc\" or \"mount\" to its namespaces, not \"{}\"",
                                k.name()
                            ),
                        ));
                    }
                    extra.insert(k);
                }
            }
        } else {
            opts::check_keys(op, o, &[], &[])?;
        }
        let node = self.graph.plan_node(op, name, role, None).rhai()?;
        let live = self.start(op, name, role, extra)?;
        self.graph.add_node(node);
        self.nodes.push(live);
        Ok(name.to_string())
    }

    fn add_link(&mut self, op: &str, a: &str, b: &str, o: &Map) -> RResult<()> {
        self.check(op)?;
        let shape = shape_of(op, o)?;
        let plan = self.graph.plan_link(op, a, b, shape).rhai()?;
        let indexes = (self.next_index, self.next_index + 1);
        let (na, nb) = two(&mut self.nodes, plan.a, plan.b);
        na.nl
            .veth(
                &plan.a_if,
                &plan.b_if,
                Some(nb.netns.as_fd()),
                Some(indexes),
            )
            .rhai()?;
        self.next_index += 2;
        self.settled = false;
        self.arp_static = false;
        let ends = [
            (&mut *na, &plan.a_if, plan.a_ip, plan.a),
            (&mut *nb, &plan.b_if, plan.b_ip, plan.b),
        ];
        let mut made = Ok(());
        for (node, ifname, ip, index) in ends {
            let role = self.graph.nodes[index].role;
            let bridge = &self.graph.nodes[index].name;
            made = end_up(node, ifname, ip, role, bridge, &shape);
            if made.is_err() {
                break;
            }
        }
        if let Err(e) = made {
            // Deleting one end of a veth pair deletes both.
            let _ = self.nodes[plan.a].nl.link_del(&plan.a_if);
            return Err(os_err(e));
        }
        self.graph.add_link(plan);
        Ok(())
    }

    fn node(&self, op: &str, name: &str) -> RResult<&Node> {
        self.check(op)?;
        let i = self.graph.find(op, name).rhai()?;
        Ok(&self.nodes[i])
    }

    /// A spec for a program run inside node `name`.
    fn program(&self, op: &str, name: &str, cmd: &Dynamic, o: &Map) -> RResult<os::setup::Spec> {
        let n = self.node(op, name)?;
        opts::check_keys(op, o, opts::PROGRAM_KEYS, &[])?;
        let mut spec = opts::spawn_spec(op, cmd, o, &["input"])?;
        let kinds = os::net::node::join_kinds(n.pid, n.kinds).rhai()?;
        let t = Target::of_pid(op, i64::from(n.pid), kinds, false).rhai()?;
        spec.join = Some(Arc::new(t));
        Ok(spec)
    }

    /// Waits until every link end is up, as the kernel reports it (its
    /// operational state, which a bridge port follows), for at most
    /// `limit`. Returns the ends still down.
    fn wait_up(&mut self, limit: Duration) -> RResult<Vec<String>> {
        let end = std::time::Instant::now() + limit;
        loop {
            let mut down = Vec::new();
            if !self.settled {
                for (i, n) in self.nodes.iter_mut().enumerate() {
                    let mine: Vec<&String> = self
                        .graph
                        .links
                        .iter()
                        .flat_map(|l| [(l.a, &l.a_if), (l.b, &l.b_if)])
                        .filter(|(x, _)| *x == i)
                        .map(|(_, name)| name)
                        .collect();
                    if mine.is_empty() {
                        continue;
                    }
                    let links = n.nl.links().rhai()?;
                    for name in mine {
                        let up = links.iter().any(|l| &l.name == name && l.state == "UP");
                        if !up {
                            down.push(name.clone());
                        }
                    }
                }
            }
            if down.is_empty() {
                self.settled = true;
                return Ok(down);
            }
            if std::time::Instant::now() >= end || os::interrupted() {
                return Ok(down);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Mininet's staticArp: a permanent neighbour entry in every host for
    /// every other host's address, so no ARP is needed. Returns how many.
    fn static_arp(&mut self, op: &str) -> RResult<i64> {
        self.check(op)?;
        let addressed: Vec<(usize, String, std::net::Ipv4Addr)> = self
            .graph
            .links
            .iter()
            .flat_map(|l| [(l.a, &l.a_if, l.a_ip), (l.b, &l.b_if, l.b_ip)])
            .filter_map(|(i, name, ip)| Some((i, name.clone(), ip?)))
            .collect();
        let mut ends = Vec::new();
        for (i, name, ip) in addressed {
            let links = self.nodes[i].nl.links().rhai()?;
            let Some(l) = links.iter().find(|l| l.name == name) else {
                continue;
            };
            ends.push((i, l.index, ip, mac_bytes(&l.mac)));
        }
        let mut made = 0;
        for (i, index, _, _) in &ends {
            for (j, _, ip, mac) in &ends {
                if i != j {
                    self.nodes[*i].nl.neigh_permanent(*index, *ip, mac).rhai()?;
                    made += 1;
                }
            }
        }
        self.arp_static = true;
        Ok(made)
    }

    fn pingall(&mut self, op: &str, o: &Map) -> RResult<Map> {
        self.check(op)?;
        opts::check_keys(op, o, &["timeout"], &[])?;
        let timeout = opts::get_int(op, o, "timeout")?.unwrap_or(PING_TIMEOUT_MS);
        if !(0..=600_000).contains(&timeout) {
            return Err(invalid(
                op,
                format!("timeout {timeout} ms is out of range (0 to 600000)"),
            ));
        }
        // Packets sent before a link is up would be lost for nothing.
        self.wait_up(SETTLE)?;
        // Every pair needs an ARP entry on each side, and the kernel keeps
        // gc_thresh3 dynamic entries for all namespaces, the host's too:
        // past half of that, permanent entries (which do not count) spare
        // the host's own neighbour table.
        let hosts = self
            .graph
            .nodes
            .iter()
            .filter(|n| n.role == Role::Host)
            .count();
        if !self.arp_static && hosts * hosts.saturating_sub(1) > neigh_limit() / 2 {
            self.static_arp(op)?;
        }
        let mut who = Vec::new();
        let mut pingers = Vec::new();
        for (i, n) in self.graph.nodes.iter().enumerate() {
            let Some(addr) = n.ip.filter(|_| n.role == Role::Host && n.ports > 0) else {
                continue;
            };
            let sock = socket_in(
                op,
                self.nodes[i].pid,
                libc::AF_INET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK,
                libc::IPPROTO_ICMP,
            )
            .rhai()?;
            os::net::ping::only_echo_replies(op, &sock).rhai()?;
            pingers.push(Pinger { sock, addr });
            who.push(n.name.clone());
        }
        let r = ping_all(
            &pingers,
            Duration::from_millis(timeout as u64),
            &os::interrupted,
        )
        .rhai()?;
        let mut m = Map::new();
        m.insert("pairs".into(), (r.pairs as i64).into());
        m.insert("sent".into(), (r.sent as i64).into());
        m.insert("received".into(), (r.received as i64).into());
        let lost: Array = r
            .lost
            .iter()
            .map(|(a, b)| Dynamic::from(format!("{}->{}", who[*a], who[*b])))
            .collect();
        m.insert("lost".into(), lost.into());
        m.insert("rtt_avg_ms".into(), r.rtt_avg_ms.into());
        m.insert("rtt_max_ms".into(), r.rtt_max_ms.into());
        m.insert("static_arp".into(), self.arp_static.into());
        Ok(m)
    }
}

/// "aa:bb:cc:dd:ee:ff" as bytes.
fn mac_bytes(mac: &str) -> Vec<u8> {
    mac.split(':')
        .filter_map(|b| u8::from_str_radix(b, 16).ok())
        .collect()
}

/// net.ipv4.neigh.default.gc_thresh3: how many dynamic neighbour entries
/// the kernel keeps, all network namespaces together.
fn neigh_limit() -> usize {
    std::fs::read_to_string("/proc/sys/net/ipv4/neigh/default/gc_thresh3")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1024)
}

/// Two different elements of a slice, both mutable.
fn two<T>(v: &mut [T], a: usize, b: usize) -> (&mut T, &mut T) {
    if a < b {
        let (x, y) = v.split_at_mut(b);
        (&mut x[a], &mut y[0])
    } else {
        let (x, y) = v.split_at_mut(a);
        (&mut y[0], &mut x[b])
    }
}

fn up() -> LinkSet {
    LinkSet {
        up: Some(true),
        ..LinkSet::default()
    }
}

/// One end of a new link, inside its node: a switch port joins the bridge,
/// a host's first interface gets the host's address; then it goes up and
/// is shaped.
fn end_up(
    node: &mut Node,
    ifname: &str,
    ip: Option<std::net::Ipv4Addr>,
    role: Role,
    bridge: &str,
    shape: &Shape,
) -> os::Result<()> {
    let mut set = up();
    if role == Role::Switch {
        set.master = Some(Some(bridge.to_string()));
    }
    if let Some(ip) = ip {
        node.nl.addr_add(ifname, &format!("{ip}/{PREFIX}"))?;
    }
    node.nl.link_set(ifname, &set)?;
    node.nl.shape(ifname, shape)
}

/// The spec of a node (os::net::node::start): namespaces and hostname,
/// no program.
fn node_spec(op: &str, m: &Map) -> RResult<os::setup::Spec> {
    let mut spec = opts::spawn_spec(op, &Dynamic::from(op.to_string()), m, &[])?;
    spec.argv.clear();
    Ok(spec)
}

/// A number, or a string with a unit that `parse` turns into one.
fn number_or_text(
    op: &str,
    key: &str,
    v: &Dynamic,
    parse: impl Fn(&str) -> os::Result<f64>,
) -> RResult<f64> {
    if let Ok(i) = v.as_int() {
        return Ok(i as f64);
    }
    if let Ok(f) = v.as_float() {
        return Ok(f);
    }
    if let Ok(s) = v.clone().into_string() {
        return parse(&s).rhai();
    }
    Err(invalid(
        op,
        format!(
            "{key} must be a number or a string like \"10ms\" / \"10mbit\", not {}",
            opts::type_name(v)
        ),
    ))
}

/// `#{delay, loss, rate}`: delay in ms or "10ms", loss in percent, rate in
/// Mbit/s or "10mbit".
fn shape_of(op: &str, o: &Map) -> RResult<Shape> {
    use os::net::parse::{parse_rate_mbit, parse_time_ms};
    opts::check_keys(op, o, LINK_KEYS, &[])?;
    let num = |key: &str, parse: &dyn Fn(&str) -> os::Result<f64>| -> RResult<f64> {
        match o.get(key) {
            None => Ok(0.0),
            Some(v) => number_or_text(op, key, v, parse),
        }
    };
    let delay = num("delay", &|s| parse_time_ms(op, "delay", s))?;
    let loss = num("loss", &|s| {
        s.trim()
            .trim_end_matches('%')
            .trim()
            .parse::<f64>()
            .map_err(|_| {
                os::Error::invalid(
                    op,
                    format!("loss '{}' is not a percentage", s.escape_debug()),
                )
            })
    })?;
    let rate = num("rate", &|s| parse_rate_mbit(op, s))?;
    Shape::new(op, delay, loss, rate).rhai()
}

fn names_of(t: &Topology, role: Role) -> Array {
    t.0.borrow()
        .graph
        .nodes
        .iter()
        .filter(|n| n.role == role)
        .map(|n| Dynamic::from(n.name.clone()))
        .collect()
}

/// Where `dot` (Graphviz) is, from PATH.
fn find_dot() -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_string_lossy()
        .split(':')
        .map(|d| std::path::Path::new(if d.is_empty() { "." } else { d }).join("dot"))
        .find(|p| {
            use std::os::unix::fs::PermissionsExt;
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

fn run_in(t: &Topology, name: &str, cmd: &Dynamic, mut o: Map) -> RResult<Map> {
    const OP: &str = "run";
    let input = capture_options(OP, &mut o)?;
    let spec = t.0.borrow().program(OP, name, cmd, &o)?;
    let p = Process::register(os::process::spawn(OP, &spec).rhai()?);
    captured(&p, input.as_deref())
}

fn start_in(t: &Topology, name: &str, cmd: &Dynamic, o: &Map) -> RResult<Process> {
    const OP: &str = "start";
    let spec = t.0.borrow().program(OP, name, cmd, o)?;
    let p = Process::register(os::process::spawn(OP, &spec).rhai()?);
    let mut l = t.0.borrow_mut();
    // Forget those that have ended, so a long script does not pile them up.
    l.started.retain(|q| q.0.borrow_mut().running());
    l.started.push(p.clone());
    Ok(p)
}

fn svg_impl(t: &Topology, path: &str) -> RResult<()> {
    const OP: &str = "svg";
    let Some(dot) = find_dot() else {
        return Err(os_err(
            os::Error::with_errno(
                OP,
                nix::errno::Errno::ENOENT,
                "dot (Graphviz) is not installed: no 'dot' program in PATH",
            )
            .hint("install Graphviz (apt-get install graphviz), or save t.dot() to a file and render it elsewhere"),
        ));
    };
    let text = t.0.borrow().graph.dot();
    let spec = os::setup::Spec {
        argv: vec![
            dot.to_string_lossy().into_owned(),
            "-Tsvg".into(),
            "-o".into(),
            path.to_string(),
        ],
        stdin: os::setup::Stdio::Pipe,
        stdout: os::setup::Stdio::Pipe,
        stderr: os::setup::Stdio::Pipe,
        ..os::setup::Spec::default()
    };
    let p = Process::register(os::process::spawn(OP, &spec).rhai()?);
    let mut c = p.0.borrow_mut();
    let code = c.wait(Some(text.as_bytes()), &os::interrupted).rhai()?;
    if code != 0 {
        return Err(os_err(os::Error::with_errno(
            OP,
            nix::errno::Errno::EIO,
            format!(
                "dot exited with {code}: {}",
                String::from_utf8_lossy(&c.err).trim()
            ),
        )));
    }
    Ok(())
}

#[export_module(manifest)]
pub mod topo_fns {
    use super::*;

    pub type Topology = super::Topology;

    /// An empty topology: add hosts, switches and links to it, as with
    /// Mininet's Topo. Nothing is made in the host's namespaces; the nodes
    /// and their links vanish on `t.stop()`, when the script ends, and
    /// when nsscript is killed. `import "net"` builds the standard shapes
    /// (`net::single(n)`, `net::linear(n)`, `net::tree(depth, fanout)`).
    ///
    /// ```rhai
    /// let t = topology();
    /// t.add_switch("s1");
    /// t.add_host("h1");
    /// t.add_host("h2");
    /// t.add_link("h1", "s1");
    /// t.add_link("h2", "s1", #{delay: "10ms", loss: 1, rate: 100});
    /// print(t.pingall());        // #{pairs: 2, sent: 2, received: 2, ...}
    /// t.stop();
    /// ```
    pub fn topology() -> Topology {
        Topology::new()
    }

    /// Add a host: a process in new network and UTS namespaces, with the
    /// hostname `name` and `lo` up. Hosts are addressed 10.0.0.1/8,
    /// 10.0.0.2/8... in the order they are added; the address goes on the
    /// host's first interface (NAME-eth0) when it is linked. Returns the
    /// name.
    ///
    /// ```rhai
    /// let t = topology();
    /// t.add_host("h1");
    /// print(t.run("h1", "hostname").stdout);   // h1
    /// ```
    #[rhai_fn(name = "add_host", return_raw)]
    pub fn host(t: &mut Topology, name: &str) -> RResult<String> {
        t.0.borrow_mut()
            .add_node("add_host", name, Role::Host, &Map::new())
    }

    /// `t.add_host(name)` with options: `ns`, more namespace kinds of its own
    /// ("pid", "ipc", "mount"; with "pid" and "mount" it gets a fresh
    /// /proc), as a container has them.
    ///
    /// ```rhai
    /// let t = topology();
    /// t.add_host("c1", #{ns: ["pid", "mount"]});
    /// print(t.run("c1", ["sh", "-c", "echo $$"]).stdout);   // 2: the host's own process is 1
    /// ```
    #[rhai_fn(name = "add_host", return_raw)]
    pub fn host_opts(t: &mut Topology, name: &str, options: Map) -> RResult<String> {
        t.0.borrow_mut()
            .add_node("add_host", name, Role::Host, &options)
    }

    /// Add a switch: a process in a new network namespace holding a bridge
    /// named `name`, up. Links to it become ports of the bridge (NAME-eth1,
    /// NAME-eth2...). Switches may not form a loop (the bridges run no
    /// spanning tree). Returns the name.
    ///
    /// ```rhai
    /// let t = topology();
    /// t.add_switch("s1");
    /// ```
    #[rhai_fn(name = "add_switch", return_raw)]
    pub fn switch(t: &mut Topology, name: &str) -> RResult<String> {
        t.0.borrow_mut()
            .add_node("add_switch", name, Role::Switch, &Map::new())
    }

    /// Link two nodes with a veth pair made in `a`'s namespace with its
    /// peer born in `b`'s, both ends up (hosts addressed, switch ports in
    /// the bridge).
    ///
    /// ```rhai
    /// let t = topology();
    /// t.add_host("h1");
    /// t.add_host("h2");
    /// t.add_link("h1", "h2");
    /// ```
    #[rhai_fn(name = "add_link", return_raw)]
    pub fn link(t: &mut Topology, a: &str, b: &str) -> RResult<()> {
        t.0.borrow_mut().add_link("add_link", a, b, &Map::new())
    }

    /// A link shaped like Mininet's TCLink, on both ends: `delay` (ms, or
    /// "10ms") and `loss` (percent) through netem, `rate` (Mbit/s, or
    /// "10mbit") through tbf, as `tc qdisc` shows them.
    ///
    /// ```rhai
    /// let t = topology();
    /// t.add_host("h1");
    /// t.add_host("h2");
    /// t.add_link("h1", "h2", #{delay: 50, loss: 0, rate: "10mbit"});
    /// print(t.run("h1", ["tc", "qdisc"]).stdout);
    /// ```
    #[rhai_fn(name = "add_link", return_raw)]
    pub fn link_opts(t: &mut Topology, a: &str, b: &str, options: Map) -> RResult<()> {
        t.0.borrow_mut().add_link("add_link", a, b, &options)
    }

    /// Run a command inside node `name` (its network, UTS and other
    /// namespaces) to its end, as `enter` does: `#{code, stdout, stderr}`.
    ///
    /// ```rhai
    /// import "net" as net;
    /// let t = net::single(2);
    /// print(t.run("h1", ["ping", "-c", "1", "10.0.0.2"]).code);   // 0
    /// ```
    #[rhai_fn(name = "run", return_raw)]
    pub fn run(t: &mut Topology, name: &str, cmd: Dynamic) -> RResult<Map> {
        run_in(t, name, &cmd, Map::new())
    }

    /// `t.run(name, cmd)` with run()'s options about the program: `input`,
    /// `cwd`, `env`, `clear_env`, `stdin`/`stdout`/`stderr`.
    ///
    /// ```rhai
    /// import "net" as net;
    /// let t = net::single(2);
    /// print(t.run("h2", ["cat"], #{input: "hi"}).stdout);   // hi
    /// ```
    #[rhai_fn(name = "run", return_raw)]
    pub fn run_opts(t: &mut Topology, name: &str, cmd: Dynamic, options: Map) -> RResult<Map> {
        run_in(t, name, &cmd, options)
    }

    /// Start a command inside node `name` and return its Process (a
    /// server, say); it is killed by `t.stop()`, and dies with the script.
    ///
    /// ```rhai
    /// import "net" as net;
    /// let t = net::single(2);
    /// let p = t.start("h1", ["sleep", "5"]);
    /// p.kill();
    /// ```
    #[rhai_fn(name = "start", return_raw)]
    pub fn start(t: &mut Topology, name: &str, cmd: Dynamic) -> RResult<Process> {
        start_in(t, name, &cmd, &Map::new())
    }

    /// `t.start(name, cmd)` with spawn's options about the program: `cwd`,
    /// `env`, `clear_env`, `stdin`/`stdout`/`stderr`.
    ///
    /// ```rhai
    /// import "net" as net;
    /// let t = net::single(2);
    /// let p = t.start("h1", ["sh", "-c", "hostname"], #{stdout: "pipe"});
    /// p.wait();
    /// print(p.stdout);   // h1
    /// ```
    #[rhai_fn(name = "start", return_raw)]
    pub fn start_opts(
        t: &mut Topology,
        name: &str,
        cmd: Dynamic,
        options: Map,
    ) -> RResult<Process> {
        start_in(t, name, &cmd, &options)
    }

    /// One ICMP echo request from every host to every other host, all in
    /// flight at once from raw sockets inside the hosts, as Mininet's
    /// pingall does one by one. Returns `#{pairs, sent, received, lost,
    /// rtt_avg_ms, rtt_max_ms, static_arp}`; `lost` names the pairs without a reply
    /// ("h1->h2"). Replies are awaited 1 s after the last request. Past
    /// about 20 hosts it first calls `t.static_arp()` (`static_arp` in the
    /// result says so), so many pairs do not crowd the host's neighbour
    /// table.
    ///
    /// ```rhai
    /// import "net" as net;
    /// let r = net::single(3).pingall();
    /// print(`${r.received}/${r.pairs}`);   // 6/6
    /// ```
    #[rhai_fn(name = "pingall", return_raw)]
    pub fn pingall(t: &mut Topology) -> RResult<Map> {
        t.0.borrow_mut().pingall("pingall", &Map::new())
    }

    /// `t.pingall()` with options: `timeout`, how long to wait for replies
    /// after the last request, in ms (1000).
    ///
    /// ```rhai
    /// import "net" as net;
    /// print(net::linear(3).pingall(#{timeout: 200}).received);
    /// ```
    #[rhai_fn(name = "pingall", return_raw)]
    pub fn pingall_opts(t: &mut Topology, options: Map) -> RResult<Map> {
        t.0.borrow_mut().pingall("pingall", &options)
    }

    /// Mininet's staticArp (`mn --arp`): a permanent neighbour entry in
    /// every host for every other host, so no ARP request is ever sent.
    /// Needed past about 30 hosts talking all to all: the kernel's
    /// neighbour table holds gc_thresh3 (1024) dynamic entries for all
    /// network namespaces together, and that limit is the host's to set.
    /// Returns the number of entries made.
    ///
    /// ```rhai
    /// import "net" as net;
    /// let t = net::single(50);
    /// t.static_arp();            // 2450 entries
    /// print(t.pingall().received);   // 2450
    /// ```
    #[rhai_fn(name = "static_arp", return_raw)]
    pub fn static_arp(t: &mut Topology) -> RResult<i64> {
        t.0.borrow_mut().static_arp("static_arp")
    }

    /// The topology as Graphviz DOT text: hosts as boxes with their
    /// address, switches as ellipses, links labelled with their interfaces
    /// and shaping. `t.svg(path)` renders it.
    ///
    /// ```rhai
    /// import "net" as net;
    /// write_file("/tmp/topo.dot", net::tree(2, 2).dot());
    /// ```
    #[rhai_fn(name = "dot", pure)]
    pub fn dot(t: &mut Topology) -> String {
        t.0.borrow().graph.dot()
    }

    /// Render `t.dot()` to an SVG file with Graphviz's `dot`; a clear
    /// error when Graphviz is not installed.
    ///
    /// ```rhai
    /// import "net" as net;
    /// net::single(3).svg("/tmp/single3.svg");
    /// ```
    #[rhai_fn(name = "svg", return_raw)]
    pub fn svg(t: &mut Topology, path: &str) -> RResult<()> {
        svg_impl(t, path)
    }

    /// Stop the topology: every node is killed and its namespaces, links
    /// and bridges vanish with it. Calls on it afterwards are errors.
    ///
    /// ```rhai
    /// import "net" as net;
    /// let t = net::single(2);
    /// t.stop();
    /// ```
    #[rhai_fn(name = "stop")]
    pub fn stop(t: &mut Topology) {
        t.0.borrow_mut().stop();
    }

    /// The pid of the process inside node `name`'s namespaces (for
    /// `enter`, `setns`, `ns_of`, `net::inside`).
    ///
    /// ```rhai
    /// import "net" as net;
    /// let t = net::single(2);
    /// print(ns_of(t.pid("s1")).net);
    /// ```
    #[rhai_fn(name = "pid", return_raw)]
    pub fn pid(t: &mut Topology, name: &str) -> RResult<i64> {
        Ok(i64::from(t.0.borrow().node("pid", name)?.pid))
    }

    /// A host's address, "10.0.0.1" (`()` for a switch).
    ///
    /// ```rhai
    /// import "net" as net;
    /// print(net::single(2).ip("h2"));   // 10.0.0.2
    /// ```
    #[rhai_fn(name = "ip", return_raw)]
    pub fn ip(t: &mut Topology, name: &str) -> RResult<Dynamic> {
        let l = t.0.borrow();
        l.check("ip")?;
        let i = l.graph.find("ip", name).rhai()?;
        Ok(l.graph.nodes[i]
            .ip
            .map(|a| Dynamic::from(a.to_string()))
            .unwrap_or(Dynamic::UNIT))
    }

    /// The hosts' names, in the order they were added.
    #[rhai_fn(get = "hosts", pure)]
    pub fn get_hosts(t: &mut Topology) -> Array {
        names_of(t, Role::Host)
    }

    /// The switches' names, in the order they were added.
    #[rhai_fn(get = "switches", pure)]
    pub fn get_switches(t: &mut Topology) -> Array {
        names_of(t, Role::Switch)
    }

    /// The links: `[#{a, b, a_if, b_if, shape}]` (`shape` as "10ms 1% loss
    /// 10Mbit", "" when not shaped).
    #[rhai_fn(get = "links", pure)]
    pub fn get_links(t: &mut Topology) -> Array {
        let l = t.0.borrow();
        l.graph
            .links
            .iter()
            .map(|k| {
                let mut m = Map::new();
                m.insert("a".into(), l.graph.nodes[k.a].name.clone().into());
                m.insert("b".into(), l.graph.nodes[k.b].name.clone().into());
                m.insert("a_if".into(), k.a_if.clone().into());
                m.insert("b_if".into(), k.b_if.clone().into());
                m.insert("shape".into(), k.shape.describe().into());
                Dynamic::from(m)
            })
            .collect()
    }

    /// "Topology(2 hosts, 1 switches, 2 links)".
    #[rhai_fn(name = "to_string", pure)]
    pub fn to_string(t: &mut Topology) -> String {
        t.describe()
    }

    #[rhai_fn(name = "to_debug", pure)]
    pub fn to_debug(t: &mut Topology) -> String {
        t.describe()
    }
}
