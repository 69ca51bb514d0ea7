//! rtnetlink through the real binary: links, veth pairs, bridges,
//! addresses, routes, the errors of each, and links moved into another
//! process's namespace. Every script works in a network namespace of its
//! own (`in_ns`, and a spawned holder for the moves); iproute2's `ip -j`,
//! run in the same namespace (util-linux `nsenter` for the holder's), is
//! the independent witness. Nothing is made in the host's network
//! namespace, and no packet is sent: the guard compares the host's links,
//! addresses and routes before and after each test.

use crate::util::{self, eval, eval_as_nobody, guarded, which, Run};
use serde_json::{json, Value};

/// Script functions the scripts below share: `ip(args)` runs `ip -j ARGS`
/// where the script is and returns its JSON; `err(f)` calls `f` and
/// returns what it throws (an error map), or () when it throws nothing.
const PRELUDE: &str = r#"
fn ip(args) {
    let r = run(["ip", "-j"] + args);
    if r.code != 0 { throw `ip -j ${args} failed (${r.code}): ${r.stderr}`; }
    parse_json(r.stdout)
}
fn err(f) {
    let out = ();
    try { f.call(); } catch (e) { out = e; }
    out
}
"#;

/// Whether every tool is installed (saying which is not).
fn installed(tools: &[&str]) -> bool {
    let missing: Vec<&&str> = tools.iter().filter(|t| which(t).is_none()).collect();
    if let Some(t) = missing.first() {
        eprintln!("SKIP: {t} is not installed (.ci/run installs it)");
    }
    missing.is_empty()
}

/// Root and the tools are needed (uid 65534 has a test of its own).
fn need_root_and(tools: &[&str]) -> bool {
    if !util::is_root() {
        eprintln!("SKIP: not root (uid 65534 is covered by the user-namespace test)");
        return false;
    }
    installed(tools)
}

/// The script that runs `body` (a closure body whose value is a map) in
/// a new network namespace made with `opts` (an in_ns options map) and
/// prints that value as JSON, with the namespace it started in as `ns`.
fn script(opts: &str, body: &str) -> String {
    format!(
        "{PRELUDE}
         let out = in_ns({opts}, || {{
             let ns = readlink(\"/proc/self/ns/net\");
             let v = {{ {body} }};
             v.ns = ns;
             v
         }});
         print(out.to_json());"
    )
}

/// The JSON a script printed, after checking it exited 0 and ran in a
/// network namespace other than the test's own (the host's).
fn result(r: &Run) -> Value {
    r.ok();
    let v: Value = serde_json::from_str(r.stdout.trim())
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", r.stdout));
    let host = std::fs::read_link("/proc/self/ns/net").expect("readlink /proc/self/ns/net");
    let ns = v["ns"].as_str().unwrap_or("");
    assert!(ns.starts_with("net:["), "{v}");
    assert_ne!(
        ns,
        host.to_string_lossy(),
        "the script ran in the host's netns"
    );
    v
}

/// The entry of a list of links whose `key` ("name" in links(), "ifname"
/// in `ip -j`) is `name`.
fn link<'a>(list: &'a Value, key: &str, name: &str) -> &'a Value {
    list.as_array()
        .and_then(|a| a.iter().find(|l| l[key] == name))
        .unwrap_or_else(|| panic!("no link {name:?} in {list}"))
}

/// The names in a list of links, sorted.
fn names(list: &Value, key: &str) -> Vec<String> {
    let mut v: Vec<String> = list
        .as_array()
        .unwrap_or_else(|| panic!("not a list of links: {list}"))
        .iter()
        .map(|l| l[key].as_str().unwrap_or("?").to_string())
        .collect();
    v.sort();
    v
}

/// A link's addresses as "family local/prefix scope", from links()
/// (`addrs`) or from `ip -j addr` (`addr_info`).
fn addrs(l: &Value) -> Vec<String> {
    let (list, prefix) = if l["addrs"].is_array() {
        (&l["addrs"], "prefix")
    } else {
        (&l["addr_info"], "prefixlen")
    };
    list.as_array()
        .unwrap_or_else(|| panic!("no addresses in {l}"))
        .iter()
        .map(|a| {
            format!(
                "{} {}/{} {}",
                a["family"].as_str().unwrap_or("?"),
                a["local"].as_str().unwrap_or("?"),
                a[prefix],
                a["scope"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

/// A fresh network namespace holds only `lo`, down, without addresses;
/// set up, it gets 127.0.0.1/8 (and the kernel reports UNKNOWN, as for
/// every link without a carrier of its own). links() says so, and `ip -j
/// addr` in the same namespace agrees field by field.
fn check_fresh_lo(v: &Value) {
    let (ours, ip) = (&v["before"]["ours"], &v["before"]["ip"]);
    assert_eq!(names(ours, "name"), ["lo"], "only lo: {ours}");
    assert_eq!(names(ip, "ifname"), ["lo"], "ip sees only lo: {ip}");
    let (lo, ip_lo) = (&ours[0], &ip[0]);
    assert_eq!(lo["kind"], "loopback", "{lo}");
    assert_eq!(ip_lo["link_type"], "loopback", "{ip_lo}");
    assert_eq!(lo["index"], ip_lo["ifindex"], "index");
    assert_eq!(
        (&lo["state"], &ip_lo["operstate"]),
        (&json!("DOWN"), &json!("DOWN"))
    );
    assert_eq!(lo["flags"], json!(["LOOPBACK"]), "{lo}");
    assert_eq!(ip_lo["flags"], json!(["LOOPBACK"]), "{ip_lo}");
    assert_eq!(lo["mac"], "00:00:00:00:00:00", "{lo}");
    assert_eq!(ip_lo["address"], "00:00:00:00:00:00", "{ip_lo}");
    assert!(
        addrs(lo).is_empty() && addrs(ip_lo).is_empty(),
        "{lo} {ip_lo}"
    );

    let lo = link(&v["after"]["ours"], "name", "lo");
    let ip_lo = link(&v["after"]["ip"], "ifname", "lo");
    assert_eq!(
        (&lo["state"], &ip_lo["operstate"]),
        (&json!("UNKNOWN"), &json!("UNKNOWN"))
    );
    let up = json!(["LOOPBACK", "UP", "LOWER_UP"]);
    assert_eq!((&lo["flags"], &ip_lo["flags"]), (&up, &up));
    let want = "inet 127.0.0.1/8 host".to_string();
    assert!(addrs(lo).contains(&want), "{lo}");
    assert!(addrs(ip_lo).contains(&want), "{ip_lo}");
    assert_eq!(
        addrs(lo),
        addrs(ip_lo),
        "links() and ip agree on lo's addresses"
    );
}

const FRESH_LO: &str = r#"
    let before = #{ours: links(), ip: ip(["addr"])};
    link_set("lo", #{up: true});
    #{before: before, after: #{ours: links(), ip: ip(["addr"])}}
"#;

#[test]
fn a_fresh_netns_has_only_lo_down_then_up_with_127_0_0_1() {
    guarded(|| {
        if !need_root_and(&["ip"]) {
            return;
        }
        let r = eval(&script(r#"#{ns: ["net"]}"#, FRESH_LO));
        check_fresh_lo(&result(&r));
    });
}

/// The same as uid 65534, in a network namespace owned by a user
/// namespace of its own.
#[test]
fn a_fresh_netns_of_an_unprivileged_user_has_lo_down_then_up() {
    guarded(|| {
        if !installed(&["ip"]) {
            return;
        }
        if !util::unprivileged_userns() {
            eprintln!("SKIP: unprivileged user namespaces are disabled here");
            return;
        }
        let code = script(r#"#{ns: ["user", "net"], map_root: true}"#, FRESH_LO);
        let Some(r) = eval_as_nobody(&code) else {
            return;
        };
        check_fresh_lo(&result(&r));
    });
}

/// veth pairs and bridges are made, a veth end becomes a bridge port,
/// addresses (IPv4 and IPv6), an MTU and three kinds of route are set,
/// then undone: release, rename, address removal, deletion. links() and
/// routes() report each step as `ip -j` does in the same namespace.
#[test]
fn veth_bridge_addresses_master_and_routes_in_a_fresh_netns() {
    guarded(|| {
        if !need_root_and(&["ip"]) {
            return;
        }
        let body = r#"
            veth("va", "vb");
            bridge("br0");
            let made = #{ours: links(), ip: ip(["-d", "link"])};

            link_set("va", #{up: true, master: "br0"});
            link_set("br0", #{up: true});
            addr_add("vb", "10.1.2.3/24");
            addr_add("vb", "fd00::3/64");
            link_set("vb", #{up: true, mtu: 1400});
            let wired = #{ours: links(), ip: ip(["-d", "addr"])};

            // One via a gateway, one straight onto the link, a default.
            route_add(#{dst: "10.9.0.0/16", via: "10.1.2.1"});
            route_add(#{dst: "10.8.0.0/16", dev: "vb"});
            route_add(#{via: "10.1.2.1", dev: "vb"});
            let routed = #{
                ours: routes(),
                ip: ip(["route"]),
                again: err(|| route_add(#{dst: "10.9.0.0/16", via: "10.1.2.1"})),
            };

            link_set("va", #{up: false, nomaster: true});
            link_set("va", #{name: "va-renamed"});
            let renamed = #{ours: links(), ip: ip(["-d", "link"])};

            addr_del("vb", "10.1.2.3/24");
            let deleted = #{
                again: err(|| addr_del("vb", "10.1.2.3/24")),
                ours: links(),
                ip: ip(["addr"]),
            };

            link_del("va-renamed");
            link_del("br0");
            let gone = #{ours: links(), ip: ip(["link"])};
            #{made: made, wired: wired, routed: routed, renamed: renamed,
              deleted: deleted, gone: gone}
        "#;
        let v = result(&eval(&script(r#"#{ns: ["net"]}"#, body)));

        // Made: two veth ends and a bridge, down, with a MAC each.
        let (ours, ip) = (&v["made"]["ours"], &v["made"]["ip"]);
        assert_eq!(names(ours, "name"), ["br0", "lo", "va", "vb"], "{ours}");
        assert_eq!(names(ip, "ifname"), ["br0", "lo", "va", "vb"], "{ip}");
        for (name, kind) in [("va", "veth"), ("vb", "veth"), ("br0", "bridge")] {
            let (l, j) = (link(ours, "name", name), link(ip, "ifname", name));
            assert_eq!(l["kind"], kind, "{l}");
            assert_eq!(j["linkinfo"]["info_kind"], kind, "{j}");
            assert_eq!(l["index"], j["ifindex"], "{name} index");
            assert_eq!(l["mac"], j["address"], "{name} mac");
            assert_eq!(l["mac"].as_str().map(str::len), Some(17), "{l}");
        }
        let (va, ip_va) = (link(ours, "name", "va"), link(ip, "ifname", "va"));
        assert_eq!(
            (&va["state"], &ip_va["operstate"]),
            (&json!("DOWN"), &json!("DOWN"))
        );
        // Each end names the other as its peer (ip's "link" of a veth).
        assert_eq!(ip_va["link"], "vb", "{ip_va}");
        assert_eq!(link(ip, "ifname", "vb")["link"], "va");

        // Wired: va is a port of br0 and up; vb has its MTU and addresses.
        let (ours, ip) = (&v["wired"]["ours"], &v["wired"]["ip"]);
        let (va, ip_va) = (link(ours, "name", "va"), link(ip, "ifname", "va"));
        assert_eq!(
            (&va["master"], &ip_va["master"]),
            (&json!("br0"), &json!("br0"))
        );
        assert_eq!(ip_va["linkinfo"]["info_slave_kind"], "bridge", "{ip_va}");
        for flags in [&va["flags"], &ip_va["flags"]] {
            assert!(
                flags.as_array().is_some_and(|f| f.contains(&json!("UP"))),
                "{flags}"
            );
        }
        let (vb, ip_vb) = (link(ours, "name", "vb"), link(ip, "ifname", "vb"));
        assert_eq!((&vb["mtu"], &ip_vb["mtu"]), (&json!(1400), &json!(1400)));
        assert_eq!(vb["master"], Value::Null, "{vb}");
        let (mine, theirs) = (addrs(vb), addrs(ip_vb));
        assert_eq!(
            mine.first().map(String::as_str),
            Some("inet 10.1.2.3/24 global"),
            "{vb}"
        );
        assert!(mine.iter().any(|a| a == "inet6 fd00::3/64 global"), "{vb}");
        assert!(theirs.contains(&mine[0]), "{ip_vb}");
        assert!(
            theirs.iter().any(|a| a == "inet6 fd00::3/64 global"),
            "{ip_vb}"
        );

        // Routed: the three routes and the kernel's route of the subnet.
        let (ours, ip) = (&v["routed"]["ours"], &v["routed"]["ip"]);
        for (dst, via) in [
            (json!("10.9.0.0/16"), json!("10.1.2.1")),
            (json!("10.8.0.0/16"), Value::Null),
            (Value::Null, json!("10.1.2.1")),
            (json!("10.1.2.0/24"), Value::Null),
        ] {
            let has = ours.as_array().is_some_and(|a| {
                a.iter().any(|r| {
                    r["family"] == "inet" && r["dst"] == dst && r["via"] == via && r["dev"] == "vb"
                })
            });
            assert!(has, "routes() lacks {dst} via {via} dev vb: {ours}");
            let ip_dst = if dst.is_null() {
                json!("default")
            } else {
                dst.clone()
            };
            let seen = ip.as_array().is_some_and(|a| {
                a.iter()
                    .any(|r| r["dst"] == ip_dst && r["gateway"] == via && r["dev"] == "vb")
            });
            assert!(seen, "ip route lacks {ip_dst} via {via} dev vb: {ip}");
        }
        let again = &v["routed"]["again"];
        assert_eq!(again["op"], "route_add: RTM_NEWROUTE", "{again}");
        assert_eq!(again["errno"], "EEXIST", "{again}");
        assert!(
            again["hint"].as_str().is_some_and(|h| !h.is_empty()),
            "{again}"
        );

        // Renamed: released from br0, under its new name only.
        let (ours, ip) = (&v["renamed"]["ours"], &v["renamed"]["ip"]);
        assert_eq!(
            names(ours, "name"),
            ["br0", "lo", "va-renamed", "vb"],
            "{ours}"
        );
        assert_eq!(
            names(ip, "ifname"),
            ["br0", "lo", "va-renamed", "vb"],
            "{ip}"
        );
        assert_eq!(link(ours, "name", "va-renamed")["master"], Value::Null);
        let ip_va = link(ip, "ifname", "va-renamed");
        assert!(ip_va.get("master").is_none(), "still a port: {ip_va}");
        assert_eq!(
            ip_va["link"], "vb",
            "the pair holds after the rename: {ip_va}"
        );

        // Deleted: the address is gone, a second removal says so.
        let again = &v["deleted"]["again"];
        assert_eq!(again["op"], "addr_del: RTM_DELADDR", "{again}");
        assert_eq!(again["errno"], "EADDRNOTAVAIL", "{again}");
        assert!(
            again["hint"].as_str().is_some_and(|h| h.contains("vb")),
            "{again}"
        );
        let vb = link(&v["deleted"]["ours"], "name", "vb");
        let ip_vb = link(&v["deleted"]["ip"], "ifname", "vb");
        for a in [addrs(vb), addrs(ip_vb)] {
            assert!(!a.iter().any(|a| a.contains("10.1.2.3")), "{a:?}");
            assert!(a.iter().any(|a| a == "inet6 fd00::3/64 global"), "{a:?}");
        }

        // Gone: deleting one end took its peer with it.
        assert_eq!(names(&v["gone"]["ours"], "name"), ["lo"], "{}", v["gone"]);
        assert_eq!(names(&v["gone"]["ip"], "ifname"), ["lo"], "{}", v["gone"]);
    });
}

/// Errors from the kernel name the operation and its netlink request,
/// keep the errno and say what to do; input that cannot be right is
/// refused before any request (EINVAL, with what was wrong, and no
/// `RTM_` in the op), and leaves nothing behind.
#[test]
fn errors_name_the_op_keep_the_errno_and_hint() {
    guarded(|| {
        if !need_root_and(&["ip"]) {
            return;
        }
        let body = r#"
            veth("x0", "x1");
            let exists = #{
                veth: err(|| veth("x0", "x2")),
                bridge: err(|| bridge("x1")),
            };
            let missing = [
                ["link_del", err(|| link_del("nope"))],
                ["addr_add", err(|| addr_add("nope", "10.0.0.1/24"))],
                ["link_set", err(|| link_set("nope", #{up: true}))],
                ["link_set", err(|| link_set("x0", #{master: "nobr"}))],
                ["route_add", err(|| route_add(#{dst: "10.0.0.0/24", dev: "nope"}))],
            ];
            let rejected = [
                ["veth same same", err(|| veth("same", "same"))],
                ["bridge empty", err(|| bridge(""))],
                ["bridge 16 bytes", err(|| bridge("sixteen-bytes-xx"))],
                ["bridge NUL", err(|| bridge("nul\x00byte"))],
                ["bridge slash", err(|| bridge("a/b"))],
                ["addr /33", err(|| addr_add("x0", "10.0.0.1/33"))],
                ["addr .300", err(|| addr_add("x0", "10.0.0.300/24"))],
                ["addr /129", err(|| addr_add("x0", "fd00::1/129"))],
                ["addr no prefix", err(|| addr_add("x0", "10.0.0.1/"))],
                ["route nothing", err(|| route_add(#{}))],
                ["route host bits", err(|| route_add(#{dst: "10.0.0.1/24", dev: "x0"}))],
                ["route families", err(|| route_add(#{dst: "fd00::/64", via: "10.0.0.1"}))],
                ["link_set nothing", err(|| link_set("x0", #{}))],
                ["link_set netns 0", err(|| link_set("x0", #{netns: 0}))],
            ];
            let left = #{ours: links(), ip: ip(["link"])};
            link_del("x1");
            #{exists: exists, missing: missing, rejected: rejected, left: left,
              after: ip(["link"])}
        "#;
        let v = result(&eval(&script(r#"#{ns: ["net"]}"#, body)));

        let e = &v["exists"]["veth"];
        assert_eq!(
            (&e["op"], &e["errno"]),
            (&json!("veth: RTM_NEWLINK"), &json!("EEXIST")),
            "{e}"
        );
        assert!(e["hint"].as_str().is_some_and(|h| h.contains("x0")), "{e}");
        let e = &v["exists"]["bridge"];
        assert_eq!(
            (&e["op"], &e["errno"]),
            (&json!("bridge: RTM_NEWLINK"), &json!("EEXIST")),
            "{e}"
        );
        assert!(e["hint"].as_str().is_some_and(|h| h.contains("x1")), "{e}");

        let missing = v["missing"].as_array().expect("missing");
        assert_eq!(missing.len(), 5);
        for m in missing {
            let (op, e) = (m[0].as_str().unwrap_or("?"), &m[1]);
            let named = e["op"]
                .as_str()
                .is_some_and(|o| o.starts_with(&format!("{op}: RTM_")));
            assert!(named, "{op}: {e}");
            assert_eq!(e["errno"], "ENODEV", "{op}: {e}");
            let hint = e["hint"].as_str().unwrap_or("");
            assert!(hint.contains("no link named"), "{op}: {e}");
        }

        let rejected = v["rejected"].as_array().expect("rejected");
        assert_eq!(rejected.len(), 14);
        for r in rejected {
            let (what, e) = (&r[0], &r[1]);
            assert!(e.is_object(), "{what} was accepted: {e}");
            assert_eq!(e["errno"], "EINVAL", "{what}: {e}");
            let op = e["op"].as_str().unwrap_or("");
            assert!(
                !op.is_empty() && !op.contains("RTM_"),
                "{what} reached the kernel: {e}"
            );
            let detail = e["message"]
                .as_str()
                .and_then(|m| m.strip_prefix(&format!("{op}: ")))
                .unwrap_or("");
            assert!(!detail.trim().is_empty(), "{what}: no detail in {e}");
        }

        // Nothing was made by the refused calls; the veth goes in one piece.
        assert_eq!(names(&v["left"]["ours"], "name"), ["lo", "x0", "x1"]);
        assert_eq!(names(&v["left"]["ip"], "ifname"), ["lo", "x0", "x1"]);
        assert_eq!(names(&v["after"], "ifname"), ["lo"], "{}", v["after"]);
    });
}

/// `link_set(name, #{netns})` moves a link into another process's network
/// namespace, given its pid or a namespace file (opened and passed as an
/// fd). The holder's namespace then has both links, seen by links() after
/// setns and by `nsenter -n ip -j link`; the mover's keeps their peers.
#[test]
fn link_set_netns_moves_links_by_pid_and_by_fd() {
    guarded(|| {
        if !need_root_and(&["ip", "nsenter"]) {
            return;
        }
        let body = r#"
            veth("m0", "m1");
            veth("f0", "f1");
            let p = spawn(["sleep", "60"], #{ns: ["net"]});
            let holder = readlink(`/proc/${p.pid}/ns/net`);
            link_set("m1", #{netns: p.pid});
            link_set("f1", #{netns: `/proc/${p.pid}/ns/net`});
            let here = #{ours: links(), ip: ip(["link"])};
            let r = run(["nsenter", "-t", `${p.pid}`, "-n", "ip", "-j", "link"]);
            let seen = if r.code == 0 { parse_json(r.stdout) } else { r.stderr };
            setns(p.pid, ["net"]);
            let there = #{
                ours: links(),
                nsenter: seen,
                ns: readlink("/proc/self/ns/net"),
                holder: holder,
            };
            p.kill();
            #{here: here, there: there}
        "#;
        let v = result(&eval(&script(r#"#{ns: ["net"]}"#, body)));
        let there = &v["there"];
        assert_eq!(
            there["ns"], there["holder"],
            "setns reached the holder: {there}"
        );
        assert_ne!(
            there["holder"], v["ns"],
            "the holder has a netns of its own"
        );
        assert_eq!(names(&there["ours"], "name"), ["f1", "lo", "m1"], "{there}");
        assert_eq!(
            names(&there["nsenter"], "ifname"),
            ["f1", "lo", "m1"],
            "{there}"
        );
        assert_eq!(
            names(&v["here"]["ours"], "name"),
            ["f0", "lo", "m0"],
            "{}",
            v["here"]
        );
        assert_eq!(
            names(&v["here"]["ip"], "ifname"),
            ["f0", "lo", "m0"],
            "{}",
            v["here"]
        );
        // Each moved end still has its peer, now in the other namespace.
        for (moved, peer) in [("m1", "m0"), ("f1", "f0")] {
            let j = link(&there["nsenter"], "ifname", moved);
            let peer_index = link(&v["here"]["ip"], "ifname", peer)["ifindex"].clone();
            assert_eq!(j["link_index"], peer_index, "{moved}: {j}");
            assert!(
                j.get("link_netnsid").is_some(),
                "{moved}'s peer is elsewhere: {j}"
            );
        }
    });
}
