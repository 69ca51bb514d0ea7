//! Topologies of namespaces (`topology()`, `import "net"`) and the bridge
//! demo, through the real binary. The witnesses are the system's own
//! tools: iputils `ping` and iproute2 `ip`/`tc` run inside the nodes,
//! `lsns` and `ip` on the host. Traffic only ever flows between namespaces
//! the scripts made (10.0.0.0/8 inside them); nothing is addressed from
//! the host.

use crate::util::{self, descendants, dies, eval, guarded, which, Live, Run};
use std::collections::BTreeSet;

/// The network namespaces `lsns` lists (those with a process in them).
fn net_namespaces() -> BTreeSet<String> {
    util::sh("lsns -n -t net -o NS")
        .lines()
        .map(|l| l.trim().to_string())
        .collect()
}

fn need(tools: &[&str]) -> bool {
    for t in tools {
        if which(t).is_none() {
            eprintln!("SKIP: {t} is not installed (.ci/run installs it)");
            return false;
        }
    }
    if !util::is_root() {
        eprintln!("SKIP: not root (the unprivileged test covers uid 65534)");
        return false;
    }
    true
}

fn line_with<'a>(r: &'a Run, prefix: &str) -> &'a str {
    r.stdout
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?}:\n{}", r.stdout))
}

#[test]
fn bridge_demo_connects_two_containers_serving_the_same_port() {
    guarded(|| {
        if !need(&["socat", "lsns"]) {
            return;
        }
        let before = net_namespaces();
        let r = util::run(&["demo/bridge.rhai"]);
        let picture = r
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("picture: "))
            .map(|l| l.split(' ').next().unwrap_or("").to_string());
        for ext in ["dot", "svg"] {
            if let Some(p) = &picture {
                let _ = std::fs::remove_file(p.replace(".svg", &format!(".{ext}")));
            }
        }
        r.ok();
        for want in [
            "c1 -> 10.0.0.2:8080 answers \"c2\"",
            "c2 -> 10.0.0.1:8080 answers \"c1\"",
            "ok    both containers listen on the same port 8080",
            "ok    the bridge lives in the switch's namespace",
            "ok    the host has no route to either container",
            "ok    after stop()",
            "verdict: isolated and connected",
        ] {
            assert!(r.stdout.contains(want), "{want}:\n{}", r.stdout);
        }
        let p = picture.expect("the demo says where its picture is");
        assert!(p.ends_with(".svg") || p.ends_with(".dot"), "{p}");
        // lsns, as a witness: the three namespaces are gone with the demo.
        assert_eq!(net_namespaces(), before);
    });
}

#[test]
fn pingall_on_single_20_and_linear_10_receives_every_reply() {
    guarded(|| {
        if !need(&["ping", "ip"]) {
            return;
        }
        let r = eval(
            r#"import "net" as net;
               let t = net::single(20);
               let p = t.pingall();
               print(`single ${p.pairs} ${p.sent} ${p.received} ${p.lost}`);
               // iputils ping and ip, run inside the nodes, as witnesses.
               print(`ping ${t.run("h1", ["ping", "-c", "1", "-W", "2", t.ip("h20")]).code}`);
               let ports = t.run("s1", ["ip", "-o", "link", "show", "master", "s1"]).stdout;
               print(`ports ${ports.split("\n").filter(|l| l.contains("state UP")).len()}`);
               print(`addr ${t.run("h7", ["ip", "-o", "-4", "addr", "show", "h7-eth0"]).stdout.contains("10.0.0.7/8")}`);
               t.stop();
               let t = net::linear(10);
               let p = t.pingall();
               print(`linear ${p.pairs} ${p.sent} ${p.received} ${p.lost}`);
               let ping = t.run("h1", ["ping", "-c", "1", "-W", "2", t.ip("h10")]);
               print(`ping ${ping.code} ${ping.stdout.contains("1 received")}`);
               print(`chain ${t.links.filter(|l| l.a.starts_with("s") && l.b.starts_with("s")).len()}`);"#,
        );
        r.ok();
        assert_eq!(
            r.lines(),
            [
                "single 380 380 380 []",
                "ping 0",
                "ports 20",
                "addr true",
                "linear 90 90 90 []",
                "ping 0 true",
                "chain 9",
            ]
        );
    });
}

/// netem's delay on a link shows in iputils ping's round trip, and `tc`
/// shows the qdisc. Kernels built without netem get a clear error naming
/// the module, and the test says it skipped.
#[test]
fn netem_delay_shows_in_ping_round_trip_times() {
    guarded(|| {
        if !need(&["ping", "tc"]) {
            return;
        }
        let r = eval(
            r#"let t = topology();
               t.add_host("h1");
               t.add_host("h2");
               try {
                   t.add_link("h1", "h2", #{delay: "50ms"});
               } catch (e) {
                   print(`error ${e.errno} | ${e.message} | ${e.hint}`);
                   exit(0);
               }
               print(`tc ${t.run("h1", ["tc", "qdisc", "show", "dev", "h1-eth0"]).stdout}`);
               let ping = t.run("h1", ["ping", "-c", "3", "-i", "0.2", t.ip("h2")]).stdout;
               for l in ping.split("\n") { if l.contains("rtt") { print(l); } }
               print(`links ${t.links[0].shape}`);"#,
        );
        r.ok();
        if let Some(err) = r.lines().iter().find(|l| l.starts_with("error ")) {
            assert!(err.contains("ENOENT"), "{err}");
            assert!(err.contains("RTM_NEWQDISC"), "{err}");
            assert!(err.contains("sch_netem"), "{err}");
            eprintln!("SKIP: this kernel has no netem qdisc (CONFIG_NET_SCH_NETEM); the error was clear: {err}");
            return;
        }
        let tc = line_with(&r, "tc ");
        assert!(tc.contains("netem") && tc.contains("delay 50ms"), "{tc}");
        // rtt min/avg/max/mdev = 100.1/100.2/.../... ms: 50 ms each way.
        let rtt = line_with(&r, "rtt min/avg/max/mdev = ");
        let min: f64 = rtt
            .split('/')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        assert!((100.0..400.0).contains(&min), "{rtt}");
    });
}

/// tbf's rate on a link: `tc -s qdisc` shows it, and a 2 MB transfer over
/// a 20 Mbit/s link takes at least about 0.8 s (socat on both ends, the
/// receiver's end timed by the script).
#[test]
fn tbf_rate_limits_a_transfer() {
    guarded(|| {
        if !need(&["socat", "tc"]) {
            return;
        }
        let r = eval(
            r#"let t = topology();
               t.add_host("h1");
               t.add_host("h2");
               t.add_link("h1", "h2", #{rate: "20mbit"});
               // The receiver counts the bytes; its end is the transfer's end.
               let rx = t.start("h2", ["sh", "-c", "timeout 30 socat -u TCP-LISTEN:5001,reuseaddr STDOUT | wc -c"], #{stdout: "pipe"});
               let send = ["sh", "-c", `head -c 2000000 /dev/zero | timeout 20 socat -u - TCP:${t.ip("h2")}:5001,retry=50,interval=0.05`];
               let a = timestamp();
               let r = t.run("h1", send);
               rx.wait();
               let n = rx.stdout;
               n.trim();
               print(`sent ${r.code} ${a.elapsed} ${n}`);
               let tc = t.run("h1", ["tc", "-s", "qdisc", "show", "dev", "h1-eth0"]).stdout;
               tc.replace("\n", " ");
               print(`tc ${tc}`);"#,
        );
        r.ok();
        let sent: Vec<&str> = line_with(&r, "sent ").split(' ').collect();
        assert_eq!(sent[0], "0", "{}", r.stdout);
        assert_eq!(sent.get(2), Some(&"2000000"), "{}", r.stdout);
        let secs: f64 = sent[1].parse().expect("seconds");
        assert!(
            (0.6..20.0).contains(&secs),
            "2 MB at 20 Mbit/s took {secs} s"
        );
        let tc = line_with(&r, "tc ");
        assert!(
            tc.contains("qdisc tbf 1: root") && tc.contains("rate 20Mbit"),
            "{tc}"
        );
        let bytes: u64 = tc
            .split("Sent ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        assert!(bytes >= 2_000_000, "{tc}");
    });
}

/// nsscript SIGKILLed half-way through building 50 hosts, and again once
/// they are built: every node dies with it, and the host's links,
/// addresses, routes, /run/netns and namespaces (lsns) are as before.
#[test]
fn sigkill_during_and_after_a_50_host_build_leaves_nothing() {
    guarded(|| {
        if !need(&["lsns", "ip"]) {
            return;
        }
        let before = net_namespaces();
        for kill_at in ["host 20", "built"] {
            let mut live = Live::start(util::cmd().args([
                "-e",
                r#"let t = topology();
                   t.add_switch("s1");
                   for i in 1..=50 {
                       t.add_host(`h${i}`);
                       t.add_link(`h${i}`, "s1");
                       print(`host ${i}`);
                   }
                   print("built");
                   sleep(60000);"#,
            ]));
            live.line(kill_at, 60);
            let pid = live.pid();
            let nodes = descendants(pid);
            assert!(nodes.len() >= 20, "{kill_at}: only {} nodes", nodes.len());
            util::signal(pid, libc::SIGKILL);
            let r = live.finish();
            assert_eq!(r.code, 137, "{kill_at}: {}", r.stderr);
            for n in nodes {
                assert!(dies(&n.to_string()), "{kill_at}: node {n} survived");
            }
            assert_eq!(net_namespaces(), before, "{kill_at}");
        }
    });
}

/// As uid 65534: a topology whose namespaces all hang under one user
/// namespace of nobody's, pinging all to all, with ping and hostname as
/// witnesses inside.
#[test]
fn unprivileged_topology_as_nobody() {
    guarded(|| {
        if !util::unprivileged_userns() {
            eprintln!("SKIP: unprivileged user namespaces are disabled here");
            return;
        }
        if which("ping").is_none() {
            eprintln!("SKIP: ping (iputils-ping) is not installed");
            return;
        }
        let Some(r) = util::eval_as_nobody(
            r#"import "net" as net;
               let t = net::single(4);
               let p = t.pingall();
               print(`pingall ${p.received}/${p.pairs}`);
               print(`ping ${t.run("h1", ["ping", "-c", "1", "-W", "2", t.ip("h4")]).code}`);
               let h = t.run("h3", "hostname").stdout;
               h.trim();
               print(`hostname ${h}`);
               let theirs = ns_of(t.pid("h1"));
               print(`own user ${theirs.user != ns_id("user")} same user ${theirs.user == ns_of(t.pid("s1")).user}`);
               print(`uid ${uid()}`);
               let l = net::linear(3);
               print(`linear ${l.pingall().received}`);"#,
        ) else {
            return;
        };
        r.ok();
        assert_eq!(
            r.lines(),
            [
                "pingall 12/12",
                "ping 0",
                "hostname h3",
                "own user true same user true",
                "uid 65534",
                "linear 6",
            ]
        );
    });
}

/// Bad input ends in a clear, catchable error naming the operation (the
/// netlink request where the kernel refused) and the errno, and leaves
/// nothing half-made.
#[test]
fn bad_topologies_and_links_are_clear_errors() {
    guarded(|| {
        if !need(&["ip"]) {
            return;
        }
        let r = eval(
            r#"fn try_(what, f) {
                   try { f.call(); print(`${what} | no error`); }
                   catch (e) { print(`${what} | ${e.errno} | ${e.op} | ${e.message}`); }
               }
               let t = topology();
               t.add_switch("s1");
               t.add_host("h1");
               t.add_switch("s2");
               t.add_link("s1", "s2");
               try_("self", || t.add_link("h1", "h1"));
               try_("duplicate", || t.add_host("h1"));
               try_("long link", || { t.add_host("averylonghost"); t.add_link("averylonghost", "s1") });
               try_("missing", || t.add_link("h1", "nope"));
               try_("loop", || t.add_link("s2", "s1"));
               try_("delay", || t.add_link("h1", "s1", #{delay: -5}));
               try_("loss", || t.add_link("h1", "s1", #{loss: 101}));
               try_("rate", || t.add_link("h1", "s1", #{rate: "10furlongs"}));
               try_("unit", || t.add_link("h1", "s1", #{delay: "10"}));
               try_("key", || t.add_link("h1", "s1", #{dealy: 5}));
               print(`links ${t.links.len()}`);
               let pid = t.pid("h1");
               t.stop();
               try_("stopped", || t.add_host("h9"));
               try_("stopped run", || t.run("h1", "true"));
               // The plain functions, in a namespace of our own.
               unshare(["net"]);
               try_("ifname", || veth("sixteen-bytes-xx", "b"));
               veth("a", "b");
               try_("dup link", || veth("a", "c"));
               try_("cidr", || addr_add("a", "10.0.0.1/33"));
               try_("no link", || link_del("nope"));
               try_("dead", || link_set("a", #{netns: pid}));"#,
        );
        r.ok();
        let l = r.lines();
        let get = |what: &str| -> &str {
            l.iter()
                .find(|x| x.starts_with(&format!("{what} | ")))
                .map(|x| x.as_str())
                .unwrap_or_else(|| panic!("no {what}: {l:?}"))
        };
        let cases = [
            ("self", "EINVAL | add_link", "to itself"),
            ("duplicate", "EEXIST | add_host", "exists already"),
            ("long link", "EINVAL | add_link", "15"),
            ("missing", "ENOENT | add_link", "no node named 'nope'"),
            ("loop", "EINVAL | add_link", "loop"),
            ("delay", "EINVAL | add_link", "delay -5"),
            ("loss", "EINVAL | add_link", "loss 101"),
            ("rate", "EINVAL | add_link", "unknown unit"),
            ("unit", "EINVAL | add_link", "no unit"),
            ("key", "EINVAL | add_link", "unknown option dealy"),
            ("stopped", "ESRCH | add_host", "stopped"),
            ("stopped run", "ESRCH | run", "stopped"),
            ("ifname", "EINVAL | veth", "16 bytes; the limit is 15"),
            ("dup link", "EEXIST | veth: RTM_NEWLINK", "File exists"),
            ("cidr", "EINVAL | addr_add", "out of range"),
            (
                "no link",
                "ENODEV | link_del: RTM_DELLINK",
                "No such device",
            ),
            ("dead", "ESRCH | link_set: RTM_SETLINK", "No such process"),
        ];
        for (what, errno_op, text) in cases {
            let line = get(what);
            assert!(line.contains(errno_op), "{line}");
            assert!(line.contains(text), "{line}");
        }
        // Nothing was half-made: the failed links left no interface.
        assert!(l.contains(&"links 1".to_string()), "{l:?}");
    });
}

/// `t.dot()` is Graphviz text; `t.svg` renders it with dot, and says
/// clearly when Graphviz is missing (a PATH without it).
#[test]
fn dot_text_and_svg_through_graphviz() {
    guarded(|| {
        if !util::is_root() {
            eprintln!("SKIP: not root");
            return;
        }
        let dir = util::Scratch::new("topo-svg");
        let svg = dir.path("tree.svg");
        let code = format!(
            r#"import "net" as net;
               let t = net::tree(2, 2);
               print(t.dot());
               try {{ t.svg("{svg}"); print("svg ok"); }} catch (e) {{ print(`svg ${{e.errno}} | ${{e.message}} | ${{e.hint}}`); }}"#
        );
        let r = eval(&code);
        r.ok();
        for want in [
            "graph topology {",
            "\"s1\" [shape=ellipse, label=\"s1\\nbridge s1\"];",
            "\"h4\" [shape=box, label=\"h4\\n10.0.0.4/8\"];",
            "\"s1\" -- \"s2\" [taillabel=\"s1-eth1\", headlabel=\"s2-eth3\"];",
        ] {
            assert!(r.stdout.contains(want), "{want}:\n{}", r.stdout);
        }
        if which("dot").is_some() {
            assert!(r.stdout.contains("svg ok"), "{}", r.stdout);
            let text = std::fs::read_to_string(&svg).expect("the svg file");
            assert!(text.contains("<svg") && text.contains("h4"), "{text}");
        } else {
            eprintln!("SKIP (svg rendering): dot (graphviz) is not installed");
        }
        // Without dot on PATH (a PATH with only sleep, for the nodes): a
        // clear error, nothing written.
        let bin = dir.path("bin");
        std::fs::create_dir_all(&bin).expect("mkdir");
        let sleep = which("sleep").expect("sleep (coreutils)");
        std::os::unix::fs::symlink(sleep, format!("{bin}/sleep")).expect("symlink");
        let none = dir.path("none.svg");
        let o = util::cmd()
            .env("PATH", &bin)
            .args([
                "-e",
                &format!(
                    r#"let t = topology(); t.add_host("h1");
                       try {{ t.svg("{none}"); print("svg ok"); }} catch (e) {{ print(`svg ${{e.errno}} | ${{e.message}} | ${{e.hint}}`); }}"#
                ),
            ])
            .output()
            .expect("start nsscript");
        let r = Run::from(o);
        r.ok();
        let l = r.lines();
        assert_eq!(l.len(), 1, "{l:?}");
        assert!(
            l[0].starts_with("svg ENOENT | svg")
                && l[0].contains("Graphviz")
                && l[0].contains("apt-get install graphviz"),
            "{}",
            l[0]
        );
        assert!(!std::path::Path::new(&none).exists());
    });
}
