//! The shape of a topology, as Mininet describes one: hosts, switches and
//! the links between them, with the names and addresses Mininet gives
//! them (host interfaces h1-eth0, h1-eth1...; switch ports s1-eth1,
//! s1-eth2...; hosts 10.0.0.1/8, 10.0.0.2/8... in the order they are
//! added). Nothing here touches the kernel: a plan is checked here first,
//! made by the caller, and recorded once made. `dot` draws it.

use super::parse::check_ifname;
use super::Shape;
use crate::os::{Error, Result};
use std::net::Ipv4Addr;

/// Hosts are addressed from here on, one after the other, as Mininet's
/// default ipBase 10.0.0.0/8 does.
const IP_BASE: u32 = 0x0a00_0000;
pub const PREFIX: u8 = 8;

/// The longest node name: it becomes the hostname (64 bytes at most) and
/// the start of its interfaces' names (15 bytes in all).
const NAME_MAX: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Host,
    Switch,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub name: String,
    pub role: Role,
    /// A host's address; it goes on its first interface (eth0).
    pub ip: Option<Ipv4Addr>,
    /// Interfaces made so far.
    pub ports: u32,
}

/// One link, planned or made: node indexes and the interface at each end.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub a: usize,
    pub b: usize,
    pub a_if: String,
    pub b_if: String,
    pub shape: Shape,
    /// Whether the host at each end gets its address on this interface.
    pub a_ip: Option<Ipv4Addr>,
    pub b_ip: Option<Ipv4Addr>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub links: Vec<Link>,
    hosts: u32,
}

/// Node names: letters, digits, '_', '-' and '.', not starting with '-'
/// or '.' (hostnames and interface names both take them).
fn check_name(op: &str, name: &str) -> Result<()> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    if name.is_empty() || name.len() > NAME_MAX {
        return Err(Error::invalid(
            op,
            format!(
                "a node name must have 1 to {NAME_MAX} bytes, not {}",
                name.len()
            ),
        ));
    }
    if !name.chars().all(ok_char) || name.starts_with(['-', '.']) {
        return Err(Error::invalid(
            op,
            format!(
                "node name '{}' may hold only letters, digits, '_', '-' and '.', and not start with '-' or '.'",
                name.escape_debug()
            ),
        ));
    }
    Ok(())
}

impl Graph {
    pub fn find(&self, op: &str, name: &str) -> Result<usize> {
        self.nodes
            .iter()
            .position(|n| n.name == name)
            .ok_or_else(|| {
                let known: Vec<&str> = self.nodes.iter().map(|n| n.name.as_str()).collect();
                Error::with_errno(
                    op,
                    nix::errno::Errno::ENOENT,
                    format!("no node named '{}'", name.escape_debug()),
                )
                .hint(if known.is_empty() {
                    "the topology has no nodes yet: add hosts and switches first".to_string()
                } else {
                    format!("its nodes are {}", known.join(", "))
                })
            })
    }

    /// Checks a new node; `ip` overrides the next automatic address.
    pub fn plan_node(
        &self,
        op: &str,
        name: &str,
        role: Role,
        ip: Option<Ipv4Addr>,
    ) -> Result<Node> {
        check_name(op, name)?;
        if self.nodes.iter().any(|n| n.name == name) {
            return Err(Error::with_errno(
                op,
                nix::errno::Errno::EEXIST,
                format!("a node named '{name}' exists already"),
            )
            .hint("every host and switch needs a name of its own"));
        }
        let ip = match role {
            Role::Switch => None,
            Role::Host => {
                let auto = IP_BASE + self.hosts + 1;
                if ip.is_none() && auto & 0x00ff_ffff == 0x00ff_ffff {
                    return Err(Error::invalid(
                        op,
                        "10.0.0.0/8 has no automatic address left for another host",
                    ));
                }
                Some(ip.unwrap_or(Ipv4Addr::from(auto)))
            }
        };
        Ok(Node {
            name: name.to_string(),
            role,
            ip,
            ports: 0,
        })
    }

    pub fn add_node(&mut self, n: Node) -> usize {
        if n.role == Role::Host {
            self.hosts += 1;
        }
        self.nodes.push(n);
        self.nodes.len() - 1
    }

    /// The name of a node's next interface: hosts count from eth0,
    /// switches from eth1 (port numbers, as Mininet does).
    fn next_if(&self, op: &str, i: usize, extra: u32) -> Result<String> {
        let n = &self.nodes[i];
        let first = if n.role == Role::Switch { 1 } else { 0 };
        let name = format!("{}-eth{}", n.name, n.ports + first + extra);
        check_ifname(op, &name).map_err(|e| {
            e.hint(format!(
                "interface names are NODE-ethN, at most 15 bytes: give '{}' a shorter name",
                n.name
            ))
        })?;
        Ok(name)
    }

    /// Whether `a` and `b` are already joined through switches only (a
    /// path of switch-to-switch links): one more link would close a loop,
    /// which Linux bridges without STP would flood forever.
    fn switches_joined(&self, a: usize, b: usize) -> bool {
        let mut seen = vec![false; self.nodes.len()];
        let mut todo = vec![a];
        while let Some(x) = todo.pop() {
            if x == b {
                return true;
            }
            if std::mem::replace(&mut seen[x], true) {
                continue;
            }
            for l in &self.links {
                let other = if l.a == x {
                    l.b
                } else if l.b == x {
                    l.a
                } else {
                    continue;
                };
                if self.nodes[other].role == Role::Switch && !seen[other] {
                    todo.push(other);
                }
            }
        }
        false
    }

    /// Checks a link between nodes `a` and `b` and names its interfaces.
    pub fn plan_link(&self, op: &str, a: &str, b: &str, shape: Shape) -> Result<Link> {
        let ia = self.find(op, a)?;
        let ib = self.find(op, b)?;
        if ia == ib {
            return Err(Error::invalid(
                op,
                format!("a link from '{a}' to itself: a link joins two different nodes"),
            ));
        }
        let both_switches =
            self.nodes[ia].role == Role::Switch && self.nodes[ib].role == Role::Switch;
        if both_switches && self.switches_joined(ia, ib) {
            return Err(Error::invalid(
                op,
                format!("a link between '{a}' and '{b}' would close a loop of switches"),
            )
            .hint("the bridges run no spanning tree: a loop would flood broadcasts forever"));
        }
        let a_if = self.next_if(op, ia, 0)?;
        let b_if = self.next_if(op, ib, 0)?;
        let first_ip = |i: usize| {
            let n = &self.nodes[i];
            if n.ports == 0 {
                n.ip
            } else {
                None
            }
        };
        Ok(Link {
            a: ia,
            b: ib,
            a_if,
            b_if,
            shape,
            a_ip: first_ip(ia),
            b_ip: first_ip(ib),
        })
    }

    pub fn add_link(&mut self, l: Link) {
        self.nodes[l.a].ports += 1;
        self.nodes[l.b].ports += 1;
        self.links.push(l);
    }

    /// The topology in Graphviz's DOT language: hosts as boxes with their
    /// address, switches as ellipses, links labelled with their interfaces
    /// and shaping.
    pub fn dot(&self) -> String {
        let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        let q = |s: &str| format!("\"{}\"", esc(s));
        let mut out = String::from(
            "graph topology {\n  node [fontname=\"Helvetica\", fontsize=11];\n  edge [fontname=\"Helvetica\", fontsize=9];\n",
        );
        for n in &self.nodes {
            let (shape, detail) = match n.role {
                Role::Host => (
                    "box",
                    n.ip.map(|ip| format!("{ip}/{PREFIX}")).unwrap_or_default(),
                ),
                Role::Switch => ("ellipse", format!("bridge {}", n.name)),
            };
            // "\n" is DOT's own line break inside a label.
            let label = format!("\"{}\\n{}\"", esc(&n.name), esc(&detail));
            out.push_str(&format!(
                "  {} [shape={shape}, label={label}];\n",
                q(&n.name)
            ));
        }
        for l in &self.links {
            let mut attrs = format!("taillabel={}, headlabel={}", q(&l.a_if), q(&l.b_if));
            if !l.shape.is_none() {
                attrs.push_str(&format!(", label={}", q(&l.shape.describe())));
            }
            out.push_str(&format!(
                "  {} -- {} [{attrs}];\n",
                q(&self.nodes[l.a].name),
                q(&self.nodes[l.b].name)
            ));
        }
        out.push_str("}\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(hosts: &[&str], switches: &[&str], links: &[(&str, &str)]) -> Result<Graph> {
        let mut g = Graph::default();
        for h in hosts {
            let n = g.plan_node("t", h, Role::Host, None)?;
            g.add_node(n);
        }
        for s in switches {
            let n = g.plan_node("t", s, Role::Switch, None)?;
            g.add_node(n);
        }
        for (a, b) in links {
            let l = g.plan_link("t", a, b, Shape::default())?;
            g.add_link(l);
        }
        Ok(g)
    }

    #[test]
    fn names_and_addresses_follow_mininet() {
        let g = graph(
            &["h1", "h2"],
            &["s1"],
            &[("h1", "s1"), ("h2", "s1"), ("h1", "h2")],
        )
        .unwrap();
        assert_eq!(g.nodes[0].ip, Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(g.nodes[1].ip, Some(Ipv4Addr::new(10, 0, 0, 2)));
        assert_eq!(g.nodes[2].ip, None);
        let names: Vec<(&str, &str)> = g
            .links
            .iter()
            .map(|l| (l.a_if.as_str(), l.b_if.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("h1-eth0", "s1-eth1"),
                ("h2-eth0", "s1-eth2"),
                ("h1-eth1", "h2-eth1")
            ]
        );
        // Only a host's first interface carries its address.
        assert_eq!(g.links[0].a_ip, Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(g.links[2].a_ip, None);
        let dot = g.dot();
        assert!(dot.starts_with("graph topology {"), "{dot}");
        assert!(
            dot.contains("\"h1\" [shape=box, label=\"h1\\n10.0.0.1/8\"]"),
            "{dot}"
        );
        assert!(
            dot.contains("\"h1\" -- \"s1\" [taillabel=\"h1-eth0\", headlabel=\"s1-eth1\"]"),
            "{dot}"
        );
    }

    #[test]
    fn bad_topologies_are_refused() {
        let e = graph(&["h1"], &[], &[("h1", "h1")]).unwrap_err();
        assert!(e.detail.contains("to itself"), "{e:?}");
        let e = graph(&["h1", "h1"], &[], &[]).unwrap_err();
        assert_eq!(e.errno, Some(nix::errno::Errno::EEXIST), "{e:?}");
        let e = graph(&["h1"], &["s1"], &[("h1", "s9")]).unwrap_err();
        assert_eq!(e.errno, Some(nix::errno::Errno::ENOENT), "{e:?}");
        let e = graph(
            &[],
            &["s1", "s2", "s3"],
            &[("s1", "s2"), ("s2", "s3"), ("s3", "s1")],
        )
        .unwrap_err();
        assert!(e.detail.contains("loop"), "{e:?}");
        let e = graph(&[], &["s1", "s2"], &[("s1", "s2"), ("s2", "s1")]).unwrap_err();
        assert!(e.detail.contains("loop"), "{e:?}");
        // Hosts do not forward: two paths through a host are no loop.
        assert!(graph(&["h1"], &["s1", "s2"], &[("h1", "s1"), ("h1", "s2")]).is_ok());
        let e = graph(
            &["averyveryverylongname"],
            &["s1"],
            &[("averyveryverylongname", "s1")],
        )
        .unwrap_err();
        assert!(e.detail.contains("15"), "{e:?}");
        for bad in ["", "a b", "-x", "a/b", "é"] {
            assert!(graph(&[bad], &[], &[]).is_err(), "{bad:?}");
        }
    }
}
