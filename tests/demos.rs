//! The bundled experiments (issue 3) and the functions they use: each demo
//! runs through the real binary, its observations are asserted, and the
//! system's own tools (`ip`, `ipcs`, `readlink`, /proc) act as witnesses.

use crate::util::{self, guarded, run, run_stdin, sh, which, Run};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

/// Runs nsscript with `args` as uid/gid 65534 (setpriv), behind the
/// command `prefix` (e.g. prlimit), or None (after saying why) when that is
/// impossible here.
fn run_as_nobody(prefix: &[&str], args: &[&str]) -> Option<Run> {
    if !util::is_root() {
        eprintln!("SKIP: not root, cannot setpriv to 65534");
        return None;
    }
    if which("setpriv").is_none() {
        eprintln!("SKIP: setpriv (util-linux) is not installed");
        return None;
    }
    if !util::unprivileged_userns() {
        eprintln!("SKIP: unprivileged user namespaces are disabled here");
        return None;
    }
    let mut argv: Vec<String> = prefix.iter().map(|s| s.to_string()).collect();
    argv.extend(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    argv.push(util::bin().to_string_lossy().into_owned());
    argv.extend(args.iter().map(|s| s.to_string()));
    let o = Command::new(&argv[0])
        .args(&argv[1..])
        .current_dir("/")
        .stdin(Stdio::null())
        .output()
        .expect("start setpriv");
    Some(Run::from(o))
}

/// The first line that starts with `prefix` (after trimming), or a panic
/// showing the whole output.
fn line<'a>(r: &'a Run, prefix: &str) -> &'a str {
    r.stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{}", r.stdout))
}

/// Asserts that every `needle` appears in stdout.
fn has(r: &Run, needles: &[&str]) {
    for n in needles {
        assert!(
            r.stdout.contains(n),
            "missing {n:?} in:\n{}\n--- stderr\n{}",
            r.stdout,
            r.stderr
        );
    }
    assert!(!r.stdout.contains("FAIL"), "{}", r.stdout);
}

/// Runs `code`, which must print one line and then block reading one byte
/// from stdin; `check` gets that line while the script (and its children)
/// are still alive. Returns the rest of the output.
fn with_live(code: &str, check: impl FnOnce(&str)) -> String {
    let mut child = util::cmd()
        .args(["-e", code])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start nsscript");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    out.read_line(&mut first).expect("read the first line");
    // Let the script go on whatever happens in `check`.
    let mut stdin = child.stdin.take().expect("stdin");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(first.trim())));
    let _ = stdin.write_all(b"x");
    drop(stdin);
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut out, &mut rest);
    let status = child.wait().expect("wait nsscript");
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
    assert!(status.success(), "nsscript failed: {status:?}\n{rest}");
    rest
}

/// Blocks the script until the test writes a byte.
const PAUSE: &str = r#"run(["head", "-c", "1"], #{stdin: "inherit"});"#;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn readlink(pid: &str, kind: &str) -> String {
    sh(&format!("readlink /proc/{pid}/ns/{kind}"))
        .trim()
        .to_string()
}

// ---------------------------------------------------------------------------
// user
// ---------------------------------------------------------------------------

#[test]
fn user_demo_maps_root_and_explains_the_range() {
    guarded(|| {
        let r = run(&["demo/user.rhai"]);
        r.ok();
        let uid = sh("id -u").trim().to_string();
        has(
            &r,
            &[
                "clone(CLONE_NEWUSER)",
                "inside: uid=0(root)",
                &format!("ok    the host sees uid {uid}, the real one"),
                &format!("uid_map says: 0 {uid} 1"),
                "inside: uid=65534(nobody) gid=65534(nogroup)",
                "verdict: isolated",
            ],
        );
        if util::is_root() {
            has(
                &r,
                &[
                    "outside 1000-1009 -> inside 0-9",
                    "/proc/self/uid_map says: 0 1000 10",
                ],
            );
            if which("setpriv").is_some() {
                has(&r, &["the witness (host uid 1005) reads as uid 5"]);
            }
        }
    });
}

#[test]
fn user_demo_passes_unprivileged() {
    guarded(|| {
        let Some(r) = run_as_nobody(&[], &["demo/user.rhai"]) else {
            return;
        };
        r.ok();
        has(
            &r,
            &[
                "host: you are uid=65534",
                "inside: uid=0(root)",
                "Uid: 65534 65534 65534 65534",
                "uid_map says: 0 65534 1",
                "skip  needs root",
                "verdict: isolated",
            ],
        );
    });
}

// ---------------------------------------------------------------------------
// net
// ---------------------------------------------------------------------------

/// The host part of the net demo agrees with `ip -j addr`; inside, only lo.
#[test]
fn net_demo_lists_host_links_like_ip_and_only_lo_inside() {
    guarded(|| {
        if which("ip").is_none() {
            eprintln!("SKIP: ip (iproute2) is not installed");
            return;
        }
        let r = run(&["demo/net.rhai"]);
        r.ok();
        has(
            &r,
            &[
                "clone(CLONE_NEWNET)",
                "has 1 link(s):",
                "1: lo: <LOOPBACK> mtu 65536 state DOWN",
                "ok    inside, lo is the only link",
                "ok    lo is DOWN",
                "verdict: isolated",
            ],
        );
        let ip = json(&sh("ip -j addr"));
        for l in ip.as_array().expect("array") {
            let head = format!(
                "{}: {}: <{}> mtu {} state {}",
                l["ifindex"],
                l["ifname"].as_str().unwrap_or(""),
                l["flags"]
                    .as_array()
                    .map(|f| f
                        .iter()
                        .filter_map(|x| x.as_str())
                        .collect::<Vec<_>>()
                        .join(","))
                    .unwrap_or_default(),
                l["mtu"],
                l["operstate"].as_str().unwrap_or("")
            );
            assert!(r.stdout.contains(&head), "no {head:?} in\n{}", r.stdout);
            for a in l["addr_info"].as_array().into_iter().flatten() {
                let addr = format!(
                    "{} {}/{} scope {}",
                    a["family"].as_str().unwrap_or(""),
                    a["local"].as_str().unwrap_or(""),
                    a["prefixlen"],
                    a["scope"].as_str().unwrap_or("")
                );
                assert!(r.stdout.contains(&addr), "no {addr:?} in\n{}", r.stdout);
            }
        }
        let host_ns = readlink("self", "net");
        let inside = line(&r, "inside: net:[");
        assert!(!inside.contains(&host_ns), "{inside} vs host {host_ns}");
    });
}

/// links() field by field against `ip -j link` and `ip -j addr`, in a
/// namespace (made by util-linux `unshare --net`) where nsscript built a
/// bridge, a veth pair and addresses through the script API.
#[test]
fn links_agree_with_ip_json_after_building_a_topology() {
    guarded(|| {
        if which("ip").is_none() || which("unshare").is_none() || !util::is_root() {
            eprintln!("SKIP: needs root, ip and unshare");
            return;
        }
        let code = r#"
            bridge("br0");
            veth("va", "vb");
            link_set("va", #{master: "br0", up: true, mtu: 1400});
            link_set("br0", #{up: true});
            link_set("lo", #{up: true});
            addr_add("br0", "10.9.0.1/24");
            addr_add("vb", "fd00:9::2/64");
            link_set("vb", #{up: true, name: "peer"});
            route_add(#{dst: "10.8.0.0/16", via: "10.9.0.254"});
            // Carrier and operstate settle asynchronously (the kernel's
            // linkwatch may act a second later): wait until the states
            // have stayed the same for 1.2 s before comparing with ip.
            let prev = "";
            let same = 0;
            for i in 0..40 {
                let now = `${links().map(|l| `${l.name}:${l.state}:${l.flags}`)}`;
                if now == prev { same += 1; } else { same = 0; }
                if same == 4 { break; }
                prev = now;
                sleep(300);
            }
            print(#{links: links(), routes: routes()}.to_json());
        "#;
        let script = format!(
            "{} -e '{}' && echo '<<ip>>' && ip -j link && echo '<<ip>>' && ip -j addr && echo '<<ip>>' && ip -j route",
            util::bin().display(),
            code.replace('\'', "'\\''")
        );
        let o = Command::new("unshare")
            .args(["--net", "sh", "-c", &script])
            .output()
            .expect("unshare");
        let r = Run::from(o);
        r.ok();
        let parts: Vec<&str> = r.stdout.split("<<ip>>").collect();
        assert_eq!(parts.len(), 4, "{}", r.stdout);
        let ours = json(parts[0].trim());
        let ip_link = json(parts[1].trim());
        let ip_addr = json(parts[2].trim());
        let ip_route = json(parts[3].trim());
        let links = ours["links"].as_array().expect("links");
        let names: Vec<&str> = links.iter().filter_map(|l| l["name"].as_str()).collect();
        let ip_names: Vec<&str> = ip_link
            .as_array()
            .expect("array")
            .iter()
            .filter_map(|l| l["ifname"].as_str())
            .collect();
        assert_eq!(names, ip_names, "the same links, in index order");
        assert!(
            names.contains(&"br0") && names.contains(&"peer"),
            "{names:?}"
        );
        for (l, j) in links.iter().zip(ip_link.as_array().expect("array")) {
            let name = j["ifname"].as_str().unwrap_or("");
            assert_eq!(l["index"], j["ifindex"], "{name} index");
            assert_eq!(l["mtu"], j["mtu"], "{name} mtu");
            assert_eq!(l["state"], j["operstate"], "{name} state");
            assert_eq!(l["flags"], j["flags"], "{name} flags");
            assert_eq!(l["mac"], j["address"], "{name} mac");
            let master = if j["master"].is_null() {
                Value::Null
            } else {
                j["master"].clone()
            };
            assert_eq!(l["master"], master, "{name} master");
        }
        for (l, j) in links.iter().zip(ip_addr.as_array().expect("array")) {
            let ours: Vec<String> = l["addrs"]
                .as_array()
                .expect("addrs")
                .iter()
                .map(|a| {
                    format!(
                        "{} {}/{} {}",
                        a["family"], a["local"], a["prefix"], a["scope"]
                    )
                })
                .collect();
            let theirs: Vec<String> = j["addr_info"]
                .as_array()
                .expect("addr_info")
                .iter()
                .map(|a| {
                    format!(
                        "{} {}/{} {}",
                        a["family"], a["local"], a["prefixlen"], a["scope"]
                    )
                })
                .collect();
            assert_eq!(ours, theirs, "{} addresses", l["name"]);
        }
        let va = links.iter().find(|l| l["name"] == "va").expect("va");
        assert_eq!(
            (va["master"].as_str(), va["mtu"].as_i64()),
            (Some("br0"), Some(1400))
        );
        let route = ours["routes"]
            .as_array()
            .expect("routes")
            .iter()
            .find(|r| r["dst"] == "10.8.0.0/16")
            .unwrap_or_else(|| panic!("no 10.8.0.0/16 in {}", ours["routes"]));
        assert_eq!(route["via"], "10.9.0.254");
        assert!(
            ip_route
                .as_array()
                .expect("array")
                .iter()
                .any(|r| r["dst"] == "10.8.0.0/16" && r["gateway"] == "10.9.0.254"),
            "{ip_route}"
        );
    });
}

// ---------------------------------------------------------------------------
// pid
// ---------------------------------------------------------------------------

#[test]
fn pid_demo_shows_pid_1_inside_and_the_host_pid() {
    guarded(|| {
        let r = run(&["demo/pid.rhai"]);
        r.ok();
        has(
            &r,
            &[
                "clone(CLONE_NEWPID)",
                "inside: echo $$ -> 1; echo $PPID -> 0",
                "ok    NSpid ties them",
                "verdict: isolated",
            ],
        );
        // "host:   the shell is pid N; ..." and "NSpid: N 1" name the same N.
        let shell = line(&r, "host:   the shell is pid ");
        let n: String = shell["host:   the shell is pid ".len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        assert!(!n.is_empty() && n != "1", "{shell}");
        assert!(
            r.stdout.contains(&format!("says NSpid: {n} 1")),
            "{}",
            r.stdout
        );
        assert!(util::dies(&n), "the shell {n} is gone");
    });
}

/// Process.nspid, nspid(pid) and ns_id against /proc/PID/status and
/// `readlink`, read by the test while the child lives.
#[test]
fn nspid_and_ns_id_agree_with_proc_and_readlink() {
    guarded(|| {
        let code = format!(
            r#"let p = spawn(["sleep", "60"], #{{ns: ["pid", "uts", "ipc", "net", "mount"]}});
               let ids = #{{}};
               for k in ["pid", "uts", "ipc", "net", "mnt"] {{ ids[k] = p.ns_id(k); }}
               let own = #{{}};
               for k in ["pid", "uts", "ipc", "net", "mnt"] {{ own[k] = ns_id(k); }}
               print(#{{pid: p.pid, nspid: p.nspid, nspid2: nspid(p.pid), ids: ids, own: own, me: pid()}}.to_json());
               {PAUSE}
               p.kill();"#
        );
        with_live(&code, |first| {
            let v = json(first);
            let pid = v["pid"].to_string();
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
            let nspid: Vec<i64> = status
                .lines()
                .find_map(|l| l.strip_prefix("NSpid:"))
                .expect("NSpid line")
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            let ours: Vec<i64> = v["nspid"]
                .as_array()
                .expect("nspid")
                .iter()
                .filter_map(Value::as_i64)
                .collect();
            assert_eq!(ours, nspid, "Process.nspid vs /proc/{pid}/status");
            assert_eq!(v["nspid"], v["nspid2"], "nspid(pid) vs Process.nspid");
            assert_eq!(nspid.last(), Some(&1));
            let me = v["me"].to_string();
            for k in ["pid", "uts", "ipc", "net", "mnt"] {
                assert_eq!(v["ids"][k], readlink(&pid, k).as_str(), "child {k}");
                assert_eq!(v["own"][k], readlink(&me, k).as_str(), "nsscript {k}");
                assert_ne!(v["ids"][k], v["own"][k], "{k} is new");
            }
        });
    });
}

// ---------------------------------------------------------------------------
// uts
// ---------------------------------------------------------------------------

#[test]
fn uts_demo_renames_inside_only() {
    guarded(|| {
        let host = sh("hostname").trim().to_string();
        let r = run(&["demo/uts.rhai"]);
        r.ok();
        has(
            &r,
            &[
                "clone(CLONE_NEWUTS)",
                "inside: uname -n -> uts.idocker.io",
                &format!("the host's hostname stayed {host}"),
                "verdict: isolated",
            ],
        );
        // The parent's link as the demo printed it is what readlink says
        // about this test's own namespace (nsscript shares it).
        let parent = line(&r, "host:   readlink /proc/");
        let own = readlink("self", "uts");
        assert!(parent.contains(&format!("-> {own}")), "{parent} vs {own}");
        assert_eq!(sh("hostname").trim(), host);
    });
}

// ---------------------------------------------------------------------------
// ipc
// ---------------------------------------------------------------------------

fn host_queues() -> Vec<String> {
    let t = std::fs::read_to_string("/proc/sysvipc/msg").unwrap_or_default();
    t.lines().skip(1).map(str::to_string).collect()
}

#[test]
fn ipc_demo_hides_the_host_queue_and_removes_it() {
    guarded(|| {
        let r = run(&["demo/ipc.rhai"]);
        r.ok();
        has(
            &r,
            &[
                "clone(CLONE_NEWIPC)",
                "ok    inside, the list of queues is empty",
                "finds nothing (ENOENT)",
                "removed the queue",
                "verdict: isolated",
            ],
        );
        // The host's list showed the queue with the key msgget named.
        let made = line(&r, "host: msgget(0x");
        let key = &made["host: msgget(".len()..made.find(',').expect("comma")];
        let row = r
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with(key))
            .unwrap_or_else(|| panic!("no host row for {key}:\n{}", r.stdout));
        let f: Vec<&str> = row.split_whitespace().collect();
        let me = sh("id -un").trim().to_string();
        assert_eq!(f[2..], [me.as_str(), "644", "19", "1"][..], "{row}");
        assert!(
            host_queues()
                .iter()
                .all(|l| l.split_whitespace().nth(1) != Some(f[1])),
            "queue {} left behind",
            f[1]
        );
    });
}

/// When a step fails half-way (here: the limit on processes stops the
/// spawn), the queue made on the host is still removed.
#[test]
fn ipc_demo_removes_its_queue_when_it_fails_half_way() {
    guarded(|| {
        if which("prlimit").is_none() {
            eprintln!("SKIP: prlimit (util-linux) is not installed");
            return;
        }
        // nobody's processes, plus nsscript itself: no room for a child.
        let others = sh("ps -u 65534 -o pid= | wc -l")
            .trim()
            .parse::<u32>()
            .unwrap_or(0);
        let limit = format!("--nproc={}:{}", others + 1, others + 1);
        let Some(r) = run_as_nobody(&["prlimit", &limit, "--"], &["demo/ipc.rhai"]) else {
            return;
        };
        r.expect_code(1);
        assert!(r.stdout.contains("made queue"), "{}", r.stdout);
        assert!(r.stdout.contains("removed the queue"), "{}", r.stdout);
        assert!(
            r.stdout.contains("the host queue was removed anyway"),
            "{}",
            r.stdout
        );
        assert!(r.stderr.contains("EAGAIN"), "{}", r.stderr);
        // The guard checks /proc/sysvipc/msg: nothing of nobody's is left.
    });
}

/// msg_queues() against `ipcs -q`, while the queue exists.
#[test]
fn msg_queues_agrees_with_ipcs() {
    guarded(|| {
        if which("ipcs").is_none() {
            eprintln!("SKIP: ipcs (util-linux) is not installed");
            return;
        }
        let code = format!(
            r#"let key = 0x6e740000 + pid() % 0x10000;
               // ipcs reads the host's queues: make this one there on purpose.
               let host = #{{host: true}};
               let q = msgget(key, IPC_CREAT | IPC_EXCL | 0o640, host);
               msgsnd(q, 3, "twelve bytes", host);
               msgsnd(q, 4, "x", host);
               print(#{{q: q, all: msg_queues()}}.to_json());
               {PAUSE}
               assert_eq(msgrcv(q, 4, host).text, "x");
               assert_eq(msgrcv(q, 0, #{{nowait: true, host: true}}).text, "twelve bytes");
               try {{ msgrcv(q, 0, #{{nowait: true, host: true}}); }} catch (e) {{ print(e.errno); }}
               msgctl(q, IPC_RMID, host);
               print(msg_queues().filter(|x| x.msqid == q).len());"#
        );
        let rest = with_live(&code, |first| {
            let v = json(first);
            let ipcs = sh("ipcs -q");
            let rows: Vec<Vec<&str>> = ipcs
                .lines()
                .filter(|l| l.starts_with("0x"))
                .map(|l| l.split_whitespace().collect())
                .collect();
            let ours = v["all"].as_array().expect("all");
            assert_eq!(ours.len(), rows.len(), "{ipcs}");
            for (q, row) in ours.iter().zip(&rows) {
                let perms = format!("{:o}", q["perms"].as_i64().unwrap_or(-1));
                let got = [
                    q["key_hex"].as_str().unwrap_or("").to_string(),
                    q["msqid"].to_string(),
                    q["owner"].as_str().unwrap_or("").to_string(),
                    perms,
                    q["used_bytes"].to_string(),
                    q["messages"].to_string(),
                ];
                assert_eq!(got[..], row[..], "msg_queues() vs ipcs -q");
            }
            let mine = ours
                .iter()
                .find(|q| q["msqid"] == v["q"])
                .expect("ours listed");
            assert_eq!(
                (mine["messages"].as_i64(), mine["used_bytes"].as_i64()),
                (Some(2), Some(13))
            );
        });
        let l: Vec<&str> = rest
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(l, ["ENOMSG", "0"]);
    });
}

// ---------------------------------------------------------------------------
// mount
// ---------------------------------------------------------------------------

#[test]
fn mount_demo_gets_a_fresh_proc_and_leaves_the_host_alone() {
    guarded(|| {
        let before = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
        let r = run(&["demo/mount.rhai"]);
        r.ok();
        has(
            &r,
            &[
                "clone(CLONE_NEWNS | CLONE_NEWPID)",
                "child:  mount propagation: mount(NULL, \"/\", NULL, MS_REC|MS_PRIVATE",
                "child:  mount /proc: mount(\"proc\", \"/proc\", \"proc\"",
                "inside: echo $$ -> 1; cat /proc/1/comm -> sh",
                "ok    the host's mount table is unchanged",
                "verdict: isolated",
            ],
        );
        // Private before proc, in that order.
        let prop = r
            .stdout
            .find("child:  mount propagation")
            .expect("propagation");
        let proc = r.stdout.find("child:  mount /proc").expect("proc");
        assert!(prop < proc, "propagation first");
        let pids = line(&r, "inside: echo $$ -> 1");
        let listed = pids.rsplit("pids: ").next().unwrap_or("");
        assert!(listed.split_whitespace().count() < 10, "{pids}");
        assert_eq!(
            std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo"),
            before,
            "the test's own mount table"
        );
    });
}

/// With / a shared mount (in an outer namespace of the test's making, kept
/// apart from the host by `--propagation private`), the fresh /proc still
/// does not propagate out: the outer table is the same before and after.
#[test]
fn mount_demo_does_not_leak_under_a_shared_root() {
    guarded(|| {
        if which("unshare").is_none() || !util::is_root() {
            eprintln!("SKIP: needs root and unshare (util-linux)");
            return;
        }
        let script = format!(
            "mount --make-rshared / && cat /proc/self/mountinfo && echo '<<cut>>' \
             && {} demo/mount.rhai; echo \"rc=$?\"; echo '<<cut>>'; cat /proc/self/mountinfo",
            util::bin().display()
        );
        let o = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .current_dir(std::env::temp_dir())
            .stdin(Stdio::null())
            .output()
            .expect("unshare");
        let r = Run::from(o);
        r.ok();
        let parts: Vec<&str> = r.stdout.split("<<cut>>").collect();
        assert_eq!(parts.len(), 3, "{}\n{}", r.stdout, r.stderr);
        let (before, demo, after) = (parts[0], parts[1], parts[2]);
        assert!(
            before
                .lines()
                .any(|l| l.contains(" / / ") && l.contains("shared:")),
            "/ is shared in the outer namespace:\n{before}"
        );
        assert!(demo.contains("/ is shared"), "{demo}");
        assert!(demo.contains("rc=0"), "{demo}\n{}", r.stderr);
        assert!(
            demo.contains("ok    the shell's / was made private"),
            "{demo}"
        );
        let procs = |t: &str| t.lines().filter(|l| l.contains(" - proc ")).count();
        assert_eq!(
            procs(after),
            procs(before),
            "a proc mount propagated out:\n{after}"
        );
        assert_eq!(before.trim(), after.trim(), "the outer table changed");
    });
}

// ---------------------------------------------------------------------------
// -i: the interactive form, fed on stdin
// ---------------------------------------------------------------------------

#[test]
fn interactive_forms_run_sh_inside() {
    guarded(|| {
        let host = sh("hostname").trim().to_string();
        let input = "echo $$; hostname; exit\n";
        for (demo, want) in [
            ("demo/pid.rhai", vec!["1".to_string(), host.clone()]),
            ("demo/mount.rhai", vec!["1".to_string(), host.clone()]),
            ("demo/uts.rhai", vec!["uts.idocker.io".to_string()]),
            ("demo/net.rhai", vec![host.clone()]),
            ("demo/ipc.rhai", vec![host.clone()]),
            ("demo/user.rhai", vec![host.clone()]),
        ] {
            let r = run_stdin(&[demo, "-i"], input);
            r.ok();
            assert!(
                r.stdout.contains("Things to try:"),
                "{demo}: no banner\n{}",
                r.stdout
            );
            assert!(
                r.stdout.contains("back on the host: sh exited with 0"),
                "{demo}\n{}",
                r.stdout
            );
            let lines = r.lines();
            let at = lines
                .iter()
                .position(|l| l.starts_with("exit "))
                .unwrap_or_else(|| panic!("{demo}: no banner end\n{}", r.stdout));
            let shell: Vec<String> = lines[at + 1..]
                .iter()
                .filter(|l| {
                    !l.starts_with('(')
                        && !l.starts_with("back on the host")
                        && !l.starts_with("host:")
                })
                .cloned()
                .collect();
            // `echo $$` gives 1 in a new pid namespace, another pid elsewhere.
            if want.len() == 2 {
                assert_eq!(shell, want, "{demo}");
            } else {
                assert_eq!(shell.len(), 2, "{demo}: {shell:?}");
                assert_ne!(shell[0], "1", "{demo}");
                assert_eq!(shell[1], want[0], "{demo}");
            }
        }
        let r = run_stdin(&["demo/user.rhai", "-i"], "id -u; exit 3\n");
        r.expect_code(3);
        assert!(r.lines().contains(&"0".to_string()), "{}", r.stdout);
    });
}

// ---------------------------------------------------------------------------
// bad input: clear, catchable errors, never a panic
// ---------------------------------------------------------------------------

/// Runs `calls` (one expression each) in a script that catches every error
/// and prints `errno|op|hint?` per call; returns the lines.
fn errors_of(calls: &[&str], prefix: Option<&[&str]>) -> Vec<String> {
    let mut code = String::from("let out = [];\n");
    for c in calls {
        code.push_str(&format!(
            "try {{ {c}; out.push(\"no error\"); }} catch (e) {{ out.push(`${{e.errno}}|${{e.op}}|${{if e.hint == () {{ \"\" }} else {{ \"hint\" }}}}|${{e.message}}`); }}\n"
        ));
    }
    code.push_str("for o in out { print(o); }\n");
    let r = match prefix {
        None => util::eval(&code),
        Some(p) => {
            let o = Command::new(p[0])
                .args(&p[1..])
                .arg(util::bin())
                .args(["-e", &code])
                .current_dir(std::env::temp_dir())
                .stdin(Stdio::null())
                .output()
                .expect("start");
            Run::from(o)
        }
    };
    r.ok();
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    let l = r.lines();
    assert_eq!(l.len(), calls.len(), "{}", r.stdout);
    l
}

fn assert_errno(calls: &[&str], lines: &[String], want: &[&str]) {
    for ((c, l), w) in calls.iter().zip(lines).zip(want) {
        assert!(l.starts_with(&format!("{w}|")), "{c}: want {w}, got {l}");
        let message = l.rsplit('|').next().unwrap_or("");
        assert!(!message.is_empty(), "{c}: no message: {l}");
    }
}

#[test]
fn ipc_bad_input_is_a_catchable_error() {
    guarded(|| {
        let calls = [
            "msgsnd(-1, 1, \"x\")",
            "msgrcv(-5, 0)",
            "msgctl(-1, IPC_RMID)",
            "msgctl(2147483648, IPC_RMID)",
            "msgget(1 << 40, IPC_CREAT)",
            "msgget(0x6e75fff1, 0)",
            "msgget(IPC_PRIVATE, 1 << 20)",
            // A queue that existed and is gone.
            "{ let q = msgget(IPC_PRIVATE, IPC_CREAT); msgctl(q, IPC_RMID); msgsnd(q, 1, \"x\") }",
            "{ let q = msgget(IPC_PRIVATE, IPC_CREAT); msgctl(q, IPC_RMID); msgrcv(q, 0) }",
            "{ let q = msgget(IPC_PRIVATE, IPC_CREAT); msgctl(q, IPC_RMID); msgctl(q, IPC_RMID) }",
            "{ let q = msgget(IPC_PRIVATE, IPC_CREAT); try { msgsnd(q, 0, \"x\") } catch (e) { msgctl(q, IPC_RMID); throw e; } }",
            "{ let q = msgget(IPC_PRIVATE, IPC_CREAT); try { msgctl(q, 2) } catch (e) { msgctl(q, IPC_RMID); throw e; } }",
            "{ let q = msgget(IPC_PRIVATE, IPC_CREAT); try { msgrcv(q, 0, #{wait: false}) } catch (e) { msgctl(q, IPC_RMID); throw e; } }",
            "{ let q = msgget(IPC_PRIVATE, IPC_CREAT); try { msgrcv(q, 0, 4) } catch (e) { msgctl(q, IPC_RMID); throw e; } }",
        ];
        // In an IPC namespace of its own: queues made there die with it
        // (the host's refuse changes; see tests/sweep.rs).
        let l = errors_of(&calls, Some(&["unshare", "--ipc"]));
        let want = [
            "EINVAL", "EINVAL", "EINVAL", "EINVAL", "EINVAL", "ENOENT", "EINVAL", "EINVAL",
            "EINVAL", "EINVAL", "EINVAL", "EINVAL", "EINVAL", "EINVAL",
        ];
        assert_errno(&calls, &l, &want);
        assert!(
            l[5].contains("|hint|"),
            "a missing key says to add IPC_CREAT: {}",
            l[5]
        );
        assert!(l[12].contains("valid options: host, nowait"), "{}", l[12]);
    });
}

#[test]
fn net_and_proc_bad_input_is_a_catchable_error() {
    guarded(|| {
        let calls = [
            "link_set(\"nsscript-nope\", #{up: true})",
            "link_set(\"nsscript-nope\", #{netns: -3})",
            "link_set(\"nsscript-nope\", #{netns: 2147483647})",
            "link_set(\"nsscript-nope\", #{netns: \"/nonexistent/ns\"})",
            "link_set(\"nsscript-nope\", #{bogus: 1})",
            "link_set(\"nsscript-nope\", #{master: \"br0\", nomaster: true})",
            "link_set(\"nsscript-nope\", #{mtu: -1})",
            "link_del(\"nsscript-nope\")",
            "addr_add(\"nsscript-nope\", \"10.0.0.1/99\")",
            "route_add(#{dst: \"10.0.0.0/8\", gateway: \"x\"})",
            "veth(\"\", \"x\")",
            "mounts(-5)",
            "mounts(2147483647)",
            "uid_map(-1)",
            "nspid(2147483647)",
            "ns_id(2147483647, \"uts\")",
        ];
        // In a network namespace of its own, past the host guard.
        let l = errors_of(&calls, Some(&["unshare", "--net"]));
        let want = [
            "ENODEV", "EINVAL", "ENODEV", "ENOENT", "EINVAL", "EINVAL", "EINVAL", "ENODEV",
            "EINVAL", "EINVAL", "EINVAL", "EINVAL", "ESRCH", "EINVAL", "ESRCH", "ESRCH",
        ];
        assert_errno(&calls, &l, &want);
        assert!(
            l[4].contains("valid options: host, master, mtu, name, netns, nomaster, up"),
            "{}",
            l[4]
        );
    });
}

#[test]
fn mount_functions_refuse_in_the_host_mount_namespace() {
    guarded(|| {
        let calls = [
            "mount_proc()",
            "mount_proc(\"/mnt\")",
            "mount(\"tmpfs\", \"/mnt\", \"tmpfs\", 0, ())",
            "bind(\"/etc\", \"/mnt\")",
            "bind(\"/etc\", \"/mnt\", #{readonly: true})",
            "umount(\"/proc\")",
            "make_private(\"/\")",
            "make_shared(\"/\", #{recursive: false})",
            "make_slave(\"/\")",
            "pivot_root(\"/mnt\", \"/mnt/old\")",
            // Bad options are named before anything else.
            "bind(\"/etc\", \"/mnt\", #{rec: true})",
            "mount(\"tmpfs\", \"/mnt\", \"tmpfs\", -1, ())",
            "mount(\"tmpfs\", \"/mnt\", 7, 0, ())",
        ];
        let l = errors_of(&calls, None);
        let mut want = vec!["EPERM"; 10];
        want.extend(["EINVAL", "EINVAL", "EINVAL"]);
        assert_errno(&calls, &l, &want);
        for x in &l[..10] {
            assert!(
                x.contains("|hint|") && x.contains("host's mount namespace"),
                "{x}"
            );
        }
        assert!(
            l[10].contains("valid options: host, readonly, recursive"),
            "{}",
            l[10]
        );
    });
}

/// Past the guard, in a mount namespace of util-linux's making: invalid
/// targets are clear errors, and the calls that work show in mounts().
#[test]
fn mount_functions_in_a_new_mount_namespace() {
    guarded(|| {
        if which("unshare").is_none() || !util::is_root() {
            eprintln!("SKIP: needs root and unshare (util-linux)");
            return;
        }
        // pid 1's namespace links may be unreadable (then nsscript cannot
        // tell it is elsewhere): `host: true` says so explicitly.
        let h = "#{host: true}";
        let calls_owned = [
            format!("mount(\"none\", \"/nonexistent/x\", \"tmpfs\", 0, (), {h})"),
            format!("mount(\"none\", \"/tmp\", \"no-such-fs\", 0, (), {h})"),
            format!("umount(\"/nonexistent\", {h})"),
            format!("umount(\"/etc\", {h})"),
            format!("bind(\"/nonexistent\", \"/mnt\", {h})"),
            format!("make_private(\"/nonexistent\", {h})"),
            "make_private(\"/etc\", #{recursive: false, host: true})".to_string(),
            "mount_proc(#{target: \"/nonexistent\", host: true})".to_string(),
            format!("pivot_root(\"/nonexistent\", \"/nonexistent/old\", {h})"),
            format!("bind(\"\", \"/mnt\", {h})"),
            format!("umount(\"a\\x00b\", {h})"),
        ];
        let calls: Vec<&str> = calls_owned.iter().map(String::as_str).collect();
        let l = errors_of(
            &calls,
            Some(&["unshare", "--mount", "--propagation", "private"]),
        );
        let want = [
            "ENOENT", "ENODEV", "ENOENT", "EINVAL", "ENOENT", "ENOENT", "EINVAL", "ENOENT",
            "ENOENT", "EINVAL", "EINVAL",
        ];
        assert_errno(&calls, &l, &want);
        for x in &l[..9] {
            assert!(x.contains("|hint|"), "{x}");
        }

        // The working calls, each checked in mounts().
        let code = r#"
            let dir = `/tmp/nsscript-demos-${pid()}`;
            run(["mkdir", "-p", dir + "/p", dir + "/b"]);
            make_private("/", #{host: true});
            mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m", #{host: true});
            run(["mkdir", dir + "/p", dir + "/b"]);
            mount_proc(#{target: dir + "/p", host: true});
            bind(dir + "/p", dir + "/b", #{readonly: true, host: true});
            let m = mounts().filter(|m| m.mount_point.starts_with(dir));
            print(m.map(|m| `${m.mount_point.sub_string(dir.len())} ${m.fstype} ${m.propagation} ${m.options.split(",")[0]}`));
            umount(dir + "/b", #{host: true});
            umount(dir + "/p", #{lazy: true, host: true});
            umount(dir, #{host: true});
            print(mounts().filter(|m| m.mount_point.starts_with(dir)).len());
            run(["rm", "-r", dir]);
        "#;
        let o = Command::new("unshare")
            .args(["--mount", "--propagation", "private"])
            .arg(util::bin())
            .args(["-e", code])
            .stdin(Stdio::null())
            .output()
            .expect("unshare");
        let r = Run::from(o);
        r.ok();
        assert_eq!(
            r.lines(),
            [
                r#"[" tmpfs private rw", "/p proc private rw", "/b proc private ro"]"#,
                "0"
            ]
        );
    });
}

// ---------------------------------------------------------------------------
// cgroup
// ---------------------------------------------------------------------------

/// `/proc/PID/cgroup` as (hierarchy "ID:CONTROLLERS", path) pairs.
fn cgroups(pid: &str) -> Vec<(String, String)> {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (h, p) = l.rsplit_once(':')?;
            Some((h.to_string(), p.to_string()))
        })
        .collect()
}

/// A cgroup path as a process whose cgroup namespace is rooted at `root`
/// reads it: relative to the root, upwards with "..".
fn relative_cgroup(root: &str, path: &str) -> String {
    let r: Vec<&str> = root.split('/').filter(|x| !x.is_empty()).collect();
    let p: Vec<&str> = path.split('/').filter(|x| !x.is_empty()).collect();
    let common = r.iter().zip(&p).take_while(|(a, b)| a == b).count();
    let parts: Vec<&str> = std::iter::repeat("..")
        .take(r.len() - common)
        .chain(p[common..].iter().copied())
        .collect();
    format!("/{}", parts.join("/"))
}

/// The indented lines under the first line starting with `heading`,
/// trimmed.
fn block<'a>(r: &'a Run, heading: &str) -> Vec<&'a str> {
    let at = r
        .stdout
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading:?} in:\n{}", r.stdout));
    r.stdout[at..]
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(str::trim)
        .collect()
}

/// The demo's two readlink lines for `kind`: nsscript's link is this
/// test's (the same namespace), the shell's is another one.
fn check_links(r: &Run, kind: &str) {
    let own = readlink("self", kind);
    let ns = line(r, "host:   readlink /proc/");
    assert!(ns.ends_with(&format!("-> {own}   (nsscript)")), "{ns}");
    let shell = r
        .stdout
        .lines()
        .find(|l| l.ends_with("(the shell)"))
        .expect("the shell's link");
    assert!(
        shell.contains(&format!("{kind}:[")) && !shell.contains(&own),
        "{shell}"
    );
}

/// What the cgroup demo must say about the cgroups of the process that
/// started it (nsscript is in the same ones): every path not at "/" turns
/// into "/", the namespace ids are readlink's, and the host's init shows
/// relative to the new root as the kernel computes it.
fn check_cgroup_demo(r: &Run) {
    has(
        r,
        &["ok    inside, every path reads \"/\"", "verdict: isolated"],
    );
    let mine = cgroups("self");
    let deep: Vec<&(String, String)> = mine.iter().filter(|(_, p)| p != "/").collect();
    for (h, p) in &deep {
        has(r, &[&format!("inside: {h}: {p} -> /")]);
    }
    if deep.is_empty() {
        has(
            r,
            &[
                "every line is \"/\" already",
                "skip  no line is below the root",
            ],
        );
    }
    // The shell's own lines, as it printed them.
    let inside = block(r, "inside: cat /proc/self/cgroup:");
    let want: Vec<String> = mine.iter().map(|(h, _)| format!("{h}:/")).collect();
    assert_eq!(inside, want, "{}", r.stdout);
    check_links(r, "cgroup");
    // pid 1 seen from inside, computed here from the host's view.
    let above: Vec<String> = cgroups("1")
        .iter()
        .filter_map(|(h, p)| {
            let root = mine.iter().find(|(x, _)| x == h).map(|(_, r)| r.as_str())?;
            let rel = relative_cgroup(root, p);
            rel.starts_with("/..").then(|| format!("{h}:{rel}"))
        })
        .collect();
    let init = line(r, "inside: cat /proc/1/cgroup (the host's init): ");
    if above.is_empty() {
        assert!(init.ends_with("every line \"/\" or below it"), "{init}");
    } else {
        assert!(
            init.ends_with(&format!("{}, above the new root", above.join(", "))),
            "{init} vs {above:?}"
        );
    }
    assert_eq!(cgroups("self"), mine, "the test's own cgroups");
}

#[test]
fn cgroup_demo_reads_slash_inside_and_the_real_paths_outside() {
    guarded(|| {
        let r = run(&["demo/cgroup.rhai"]);
        r.ok();
        let how = if util::is_root() {
            "clone(CLONE_NEWCGROUP)"
        } else {
            "clone(CLONE_NEWUSER | CLONE_NEWCGROUP)"
        };
        has(&r, &[how]);
        check_cgroup_demo(&r);
    });
}

#[test]
fn cgroup_demo_passes_unprivileged() {
    guarded(|| {
        let Some(r) = run_as_nobody(&[], &["demo/cgroup.rhai"]) else {
            return;
        };
        r.ok();
        has(&r, &["clone(CLONE_NEWUSER | CLONE_NEWCGROUP)"]);
        check_cgroup_demo(&r);
    });
}

/// Started inside a cgroup namespace of util-linux's making, nsscript sees
/// "/" on every line already: the demo says there is nothing to turn into
/// "/", still checks what it can, and passes.
#[test]
fn cgroup_demo_with_every_path_at_the_root_says_so() {
    guarded(|| {
        if which("unshare").is_none() || !util::is_root() {
            eprintln!("SKIP: needs root and unshare (util-linux)");
            return;
        }
        let r = util::output(
            Command::new("unshare")
                .arg("--cgroup")
                .arg(util::bin())
                .arg("demo/cgroup.rhai")
                .stdin(Stdio::null()),
        );
        r.ok();
        has(
            &r,
            &[
                "every line is \"/\" already",
                "skip  no line is below the root",
                "ok    inside, the host's init shows relative to the new root",
                "verdict: isolated, as far as can be seen here",
            ],
        );
        let host = block(&r, "host: /proc/self/cgroup");
        assert!(
            !host.is_empty() && host.iter().all(|l| l.ends_with(":/")),
            "{host:?}"
        );
    });
}

// ---------------------------------------------------------------------------
// time
// ---------------------------------------------------------------------------

/// A clock of this test process, in seconds.
fn clock_now(id: libc::clockid_t) -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime with a valid clock and timespec.
    unsafe { libc::clock_gettime(id, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// The first field of /proc/uptime text.
fn uptime_in(text: &str) -> f64 {
    text.split_whitespace()
        .next()
        .and_then(|x| x.parse().ok())
        .unwrap_or(-1.0)
}

/// A float after `key` in the line starting with `prefix`.
fn number_after(r: &Run, prefix: &str, key: &str) -> f64 {
    let l = line(r, prefix);
    let at = l.find(key).unwrap_or_else(|| panic!("no {key:?} in {l}")) + key.len();
    l[at..]
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .find(|x| !x.is_empty())
        .and_then(|x| x.parse().ok())
        .unwrap_or_else(|| panic!("no number after {key:?} in {l}"))
}

const MONO_OFFSET: f64 = 172800.0;
const BOOT_OFFSET: f64 = 864000.0;

/// Runs the time demo (as uid 65534 when `nobody`) and checks its readings
/// against this test's own clocks and /proc/uptime, taken before and after.
fn check_time_demo(nobody: bool) {
    let boot0 = clock_now(libc::CLOCK_BOOTTIME);
    let mono0 = clock_now(libc::CLOCK_MONOTONIC);
    let r = if nobody {
        match run_as_nobody(&[], &["demo/time.rhai"]) {
            Some(r) => r,
            None => return,
        }
    } else {
        run(&["demo/time.rhai"])
    };
    let mono1 = clock_now(libc::CLOCK_MONOTONIC);
    let host_up = uptime_in(&std::fs::read_to_string("/proc/uptime").expect("uptime"));
    let boot1 = clock_now(libc::CLOCK_BOOTTIME);
    r.ok();
    has(
        &r,
        &[
            "unshare(CLONE_NEWTIME) in the child",
            "child:  time namespace: unshare(CLONE_NEWTIME) = 0",
            "</proc/self/timens_offsets>, \"monotonic 172800 0\\nboottime 864000 0\\n\", 37) = 37",
            "timens_offsets: [\"monotonic 172800 s\", \"boottime 864000 s\"]",
            "ok    inside, uptime is the host's + 864000 s (10 days)",
            "ok    inside, CLOCK_MONOTONIC is the host's + 172800 s",
            "ok    on the host, uptime is unshifted",
            "verdict: isolated",
        ],
    );
    if nobody {
        has(&r, &["clone(CLONE_NEWUSER)", "[\"user\", \"time\"]"]);
    }
    // The shell's /proc/uptime and nsscript's clock_gettime inside, against
    // this process's clocks around the whole run (/proc/uptime: 2 decimals).
    let sh_up = number_after(&r, "inside: cat /proc/uptime -> ", "-> ");
    assert!(
        sh_up >= boot0 + BOOT_OFFSET - 0.01 && sh_up <= boot1 + BOOT_OFFSET + 0.01,
        "{boot0} + {BOOT_OFFSET} <= {sh_up} <= {boot1} + {BOOT_OFFSET}"
    );
    let mono = number_after(&r, "inside: setns(", "clock(\"monotonic\") -> ");
    assert!(
        mono >= mono0 + MONO_OFFSET && mono <= mono1 + MONO_OFFSET,
        "{mono0} + {MONO_OFFSET} <= {mono} <= {mono1} + {MONO_OFFSET}"
    );
    // The host's uptime is this process's CLOCK_BOOTTIME: unshifted.
    assert!(
        host_up <= boot1 && host_up >= boot1 - 1.0,
        "{host_up} vs {boot1}"
    );
    check_links(&r, "time");
}

#[test]
fn time_demo_shifts_uptime_and_monotonic_inside_only() {
    guarded(|| check_time_demo(false));
}

#[test]
fn time_demo_passes_unprivileged() {
    guarded(|| check_time_demo(true));
}

/// The -i forms of the two demos: sh inside, fed on stdin.
#[test]
fn cgroup_and_time_interactive_forms_run_sh_inside() {
    guarded(|| {
        let own = readlink("self", "cgroup");
        let r = run_stdin(
            &["demo/cgroup.rhai", "-i"],
            "cat /proc/self/cgroup; readlink /proc/self/ns/cgroup; exit 3\n",
        );
        r.expect_code(3);
        has(
            &r,
            &[
                "Things to try:",
                "back on the host: sh exited with 3; nsscript's cgroups are unchanged",
            ],
        );
        let shell: Vec<String> = r
            .lines()
            .into_iter()
            .skip_while(|l| !l.starts_with("exit "))
            .skip(1)
            .filter(|l| !l.starts_with("back on the host"))
            .collect();
        let n = cgroups("self").len();
        assert_eq!(shell.len(), n + 1, "{shell:?}");
        assert!(shell[..n].iter().all(|l| l.ends_with(":/")), "{shell:?}");
        assert!(
            shell[n].starts_with("cgroup:[") && shell[n] != own,
            "{shell:?}"
        );

        let boot0 = clock_now(libc::CLOCK_BOOTTIME);
        let r = run_stdin(&["demo/time.rhai", "-i"], "cat /proc/uptime; exit 0\n");
        let boot1 = clock_now(libc::CLOCK_BOOTTIME);
        r.ok();
        has(&r, &["Things to try:", "the host's own (unchanged)"]);
        let inside = r
            .lines()
            .into_iter()
            .skip_while(|l| !l.starts_with("exit "))
            .nth(1)
            .map(|l| uptime_in(&l))
            .unwrap_or(-1.0);
        assert!(
            inside >= boot0 + BOOT_OFFSET - 0.01 && inside <= boot1 + BOOT_OFFSET + 0.01,
            "{inside}\n{}",
            r.stdout
        );
    });
}
