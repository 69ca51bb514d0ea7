//! Joining, inspecting and keeping namespaces; script code inside new ones
//! (issue 5). Independent witnesses: util-linux `unshare` starts the peers,
//! `readlink`, `lsns -J` and `ip netns` check what nsscript says.

use crate::util::{self, eval, guarded, sh, which};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn readlink(pid: &str, kind: &str) -> String {
    sh(&format!("readlink /proc/{pid}/ns/{kind}"))
        .trim()
        .to_string()
}

fn host_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap_or_default()
        .trim_end()
        .to_string()
}

/// A process started by util-linux `unshare --fork` in new namespaces: an
/// independent peer. `pid` is the forked child (the one in the new pid
/// namespace, when there is one). Dropping it kills both and reaps them.
struct Peer {
    unshare: Child,
    pid: u32,
}

impl Peer {
    /// `unshare ARGS --fork --kill-child sh -c 'SETUP; echo ready; exec sleep 60'`.
    fn start(args: &[&str], setup: &str) -> Peer {
        let script = format!("{setup} echo ready; exec sleep 60");
        let mut unshare = Command::new("unshare")
            .args(args)
            .args(["--fork", "--kill-child", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start unshare");
        let mut line = String::new();
        let out = unshare.stdout.take().expect("stdout");
        BufReader::new(out)
            .read_line(&mut line)
            .expect("read ready");
        assert_eq!(line.trim(), "ready", "the peer did not start");
        let up = unshare.id();
        let children = std::fs::read_to_string(format!("/proc/{up}/task/{up}/children"))
            .expect("children of unshare");
        let pid = children
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .expect("the forked child");
        Peer { unshare, pid }
    }
}

impl Drop for Peer {
    /// Kills `unshare` itself: --kill-child makes the kernel SIGKILL the
    /// child (a signal the init of a pid namespace cannot ignore), which
    /// this test process, a subreaper, then reaps. (Killing the child
    /// directly makes util-linux 2.38 complain when it mirrors SIGKILL.)
    fn drop(&mut self) {
        let _ = self.unshare.kill();
        let _ = self.unshare.wait();
        util::dies(&self.pid.to_string());
    }
}

#[test]
fn unshare_renames_the_interpreter_and_never_the_host() {
    guarded(|| {
        let host = host_hostname();
        let r = eval(
            r#"let before = ns_id("uts");
               unshare(["uts"]);
               set_hostname("nsscript-unshared");
               print(hostname());
               print(before != ns_id("uts"));
               print(run(["hostname"]).stdout);"#,
        );
        r.ok();
        assert_eq!(
            r.lines(),
            ["nsscript-unshared", "true", "nsscript-unshared"],
            "the script and its children see the new name"
        );
        assert_eq!(host_hostname(), host, "the host keeps its name");
    });
}

#[test]
fn unshare_pid_makes_the_next_child_pid_1() {
    guarded(|| {
        let r = eval(
            r#"let me = pid();
               unshare(["pid"]);
               print(pid() == me);
               print(run(["sh", "-c", "echo $$"]).stdout);"#,
        );
        r.ok();
        assert_eq!(r.lines(), ["true", "1"]);
    });
}

#[test]
fn setns_into_a_util_linux_peer_gives_the_ids_readlink_shows() {
    guarded(|| {
        let peer = Peer::start(&["--uts", "--ipc", "--net"], "");
        let pid = peer.pid.to_string();
        let want: Vec<String> = ["uts", "ipc", "net"]
            .iter()
            .map(|k| readlink(&pid, k))
            .collect();
        assert_ne!(want[0], readlink("self", "uts"), "the peer has its own");
        let r = eval(&format!(
            r#"print(setns({pid}, ["uts", "ipc", "net"]));
               print(ns_id("uts")); print(ns_id("ipc")); print(ns_id("net"));"#
        ));
        r.ok();
        let l = r.lines();
        assert_eq!(l[0], r#"["ipc", "uts", "net"]"#, "joined, in join order");
        assert_eq!(l[1..4], want[..]);

        // "all" joins exactly the kinds the peer has of its own.
        let r = eval(&format!(
            r#"print(setns({pid}, "all")); print(ns_of({pid}).net == ns_id("net"));"#
        ));
        r.ok();
        assert_eq!(r.lines(), [r#"["ipc", "uts", "net"]"#, "true"]);
    });
}

#[test]
fn ns_of_agrees_with_readlink() {
    guarded(|| {
        let peer = Peer::start(&["--uts", "--net"], "");
        let pid = peer.pid.to_string();
        let r = eval(&format!(
            r#"let m = ns_of({pid});
               for k in ["user", "mount", "uts", "ipc", "pid", "net", "cgroup", "time"] {{ print(m[k]); }}"#
        ));
        r.ok();
        let want: Vec<String> = ["user", "mnt", "uts", "ipc", "pid", "net", "cgroup", "time"]
            .iter()
            .map(|k| readlink(&pid, k))
            .collect();
        assert_eq!(r.lines(), want);
    });
}

#[test]
fn enter_runs_a_command_in_the_peers_namespaces() {
    guarded(|| {
        let host = host_hostname();
        let peer = Peer::start(&["--uts", "--net"], "hostname nsscript-peer &&");
        let pid = peer.pid;
        let r = eval(&format!(
            r#"let r = enter({pid}, ["uts", "net"], ["sh", "-c", "hostname; readlink /proc/self/ns/net; ip -o link | wc -l"]);
               print(r.code);
               print(r.stdout);
               print(hostname());"#
        ));
        r.ok();
        let l = r.lines();
        assert_eq!(l[0], "0");
        assert_eq!(l[1], "nsscript-peer", "the command saw the peer's name");
        assert_eq!(l[2], readlink(&pid.to_string(), "net"));
        assert_eq!(l[3], "1", "only lo in the peer's network namespace");
        assert_eq!(l[4], host, "the interpreter stayed where it was");
        assert_eq!(host_hostname(), host);
    });
}

#[test]
fn enter_a_pid_namespace_forks_into_it() {
    guarded(|| {
        let peer = Peer::start(&["--pid", "--mount-proc"], "");
        let pid = peer.pid.to_string();
        let r = eval(&format!(
            r#"let r = enter({pid}, ["pid", "mount"], ["sh", "-c", "readlink /proc/self/ns/pid; echo $$; exit 3"]);
               print(r.code); print(r.stdout);
               print(enter({pid}, "all", ["cat"], #{{input: "through stdin"}}).stdout);"#
        ));
        r.ok();
        let l = r.lines();
        assert_eq!(l[0], "3", "the command's exit status comes back");
        assert_eq!(
            l[1],
            readlink(&pid, "pid"),
            "inside the peer's pid namespace"
        );
        let inner: u32 = l[2].parse().expect("a pid");
        assert!(
            inner < 10,
            "a pid of the peer's namespace, not the host's: {inner}"
        );
        assert_eq!(l[3], "through stdin");
    });
}

#[test]
fn a_command_that_ends_at_once_in_an_entered_pid_namespace_is_adopted() {
    // The process cloned into the pid namespace may be dead before the
    // one that cloned it is reaped: it must still be adopted, and its
    // status (143, SIGTERM) come back, every time.
    guarded(|| {
        let r = eval(
            r#"let h = spawn(["sleep", "60"], #{ns: ["user", "pid"], map_root: true});
               let codes = [];
               for i in 0..300 {
                   codes.push(enter(h.pid, ["pid", "user"], ["sh", "-c", "kill -TERM $$"]).code);
               }
               print(codes.filter(|c| c != 143).len());"#,
        );
        r.ok();
        assert_eq!(r.lines(), ["0"]);
    });
}

/// `lsns -J -o NS,TYPE,NPROCS`: (inode, type) -> nprocs, for namespaces
/// that have processes. Types as lsns names them ("mnt").
fn lsns() -> BTreeMap<(u64, String), u64> {
    let out = Command::new("lsns")
        .args(["-J", "-o", "NS,TYPE,NPROCS"])
        .output()
        .expect("run lsns");
    let v: Value = serde_json::from_slice(&out.stdout).expect("lsns -J is JSON");
    v["namespaces"]
        .as_array()
        .expect("namespaces")
        .iter()
        .filter_map(|n| {
            let nprocs = n["nprocs"].as_u64()?;
            let key = (n["ns"].as_u64()?, n["type"].as_str()?.to_string());
            (nprocs > 0).then_some((key, nprocs))
        })
        .collect()
}

fn ours() -> BTreeMap<(u64, String), u64> {
    let r = eval(
        r#"for n in namespaces() {
               if n.nprocs > 0 {
                   let t = if n.type == "mount" { "mnt" } else { n.type };
                   print(`${n.inode} ${t} ${n.nprocs}`);
               }
           }"#,
    );
    r.ok();
    r.lines()
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (
                (f[0].parse().expect("inode"), f[1].to_string()),
                f[2].parse().expect("nprocs"),
            )
        })
        .collect()
}

#[test]
fn namespaces_agree_with_lsns() {
    guarded(|| {
        if which("lsns").is_none() {
            eprintln!("SKIP: lsns (util-linux) is not installed");
            return;
        }
        // Each scan counts itself (lsns its own process, nsscript its own),
        // in the same namespaces as this test, so on a quiet system the two
        // agree exactly. Other processes (other test runs on this machine)
        // may start or end around a scan, so nsscript's scan is taken
        // between two lsns scans, and the three must agree exactly in some
        // attempt: a process that lived only during one scan makes that
        // attempt not count.
        let mut last = None;
        for _ in 0..20 {
            let before = lsns();
            let mine = ours();
            let after = lsns();
            if before == after && mine == before {
                return;
            }
            last = Some((before, mine, after));
        }
        // Never quiet: what stayed the same across both lsns scans must be
        // in ours, with a count off by at most the two processes that may
        // race with one scan. Namespaces seen by one scan only are the
        // racing ones and are not compared.
        let Some((before, mine, after)) = last else {
            return;
        };
        for (key, n) in &before {
            if after.get(key) != Some(n) {
                continue;
            }
            let ours = mine.get(key).copied();
            assert!(
                ours.is_some_and(|o| o.abs_diff(*n) <= 2),
                "{key:?}: lsns saw {n} processes twice, namespaces() {ours:?}\nlsns: {before:?}\nours: {mine:?}"
            );
        }
    });
}

#[test]
fn namespaces_filters_by_type_and_pid_and_finds_a_peers() {
    guarded(|| {
        let peer = Peer::start(&["--net"], "");
        let pid = peer.pid;
        let r = eval(&format!(
            r#"let all = namespaces(#{{type: "net"}});
               print(all.all(|n| n.type == "net"));
               let theirs = namespaces(#{{pid: {pid}, type: ["net"]}});
               print(theirs.len());
               print(theirs[0].id);
               print(theirs[0].nprocs);
               print(theirs[0].pid);
               print(theirs[0].command);
               print(all.len() >= 2);"#
        ));
        r.ok();
        let l = r.lines();
        assert_eq!(l[0], "true");
        assert_eq!(l[1], "1");
        assert_eq!(l[2], readlink(&pid.to_string(), "net"));
        // `unshare --fork` unshares itself, then forks the child: both are
        // in the new namespace, and unshare has the lowest pid.
        assert_eq!(l[3], "2", "unshare and its child are in it");
        assert_eq!(l[4], peer.unshare.id().to_string());
        assert!(l[5].starts_with("unshare --net --fork"), "{}", l[5]);
        assert_eq!(l[6], "true");
    });
}

/// Removes a persisted file (and its mount) if a test failed half-way, so
/// a failure never leaves the host changed.
struct Unpersist(PathBuf);

impl Drop for Unpersist {
    fn drop(&mut self) {
        let p = self.0.display().to_string();
        while mounted(&p) {
            let _ = Command::new("umount").args(["-l", &p]).status();
        }
        let _ = std::fs::remove_file(&self.0);
    }
}

fn mounted(path: &str) -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(path))
}

#[test]
fn persist_keeps_a_namespace_for_a_second_run_then_unpersist_releases_it() {
    guarded(|| {
        let path = std::env::temp_dir().join(format!("nsscript-persist-{}", std::process::id()));
        let _cleanup = Unpersist(path.clone());
        let p = path.display().to_string();
        let r = eval(&format!(
            r#"let p = spawn(["sleep", "60"], #{{ns: ["uts"], hostname: "kept"}});
               print(persist(p.pid, "uts", "{p}"));
               print(p.pid);
               p.kill(); p.wait();"#
        ));
        r.ok();
        let l = r.lines();
        let id = l[0].clone();
        assert!(util::dies(&l[1]), "its only process is gone");
        assert!(mounted(&p), "the nsfs bind mount stays on the host");

        let r = eval(&format!(
            r#"print(setns("{p}")); print(hostname()); print(ns_id("uts"));"#
        ));
        r.ok();
        assert_eq!(
            r.lines(),
            ["uts", "kept", id.as_str()],
            "a second run joins it"
        );

        let r = eval(&format!(
            r#"unpersist("{p}");
               try {{ setns("{p}") }} catch (e) {{ print(e.errno) }}"#
        ));
        r.ok();
        assert_eq!(r.lines(), ["ENOENT"]);
        assert!(!mounted(&p) && !path.exists(), "released and removed");
    });
}

/// Leaves /run/netns as it found it: `ip netns add` makes it a shared
/// bind mount of itself and leaves it so.
struct NetnsDir {
    existed: bool,
    was_mount: bool,
    names: Vec<String>,
}

impl NetnsDir {
    fn new(names: &[&str]) -> NetnsDir {
        NetnsDir {
            existed: Path::new("/run/netns").exists(),
            was_mount: mounted("/run/netns"),
            names: names.iter().map(|n| n.to_string()).collect(),
        }
    }
}

impl Drop for NetnsDir {
    fn drop(&mut self) {
        for n in &self.names {
            let f = format!("/run/netns/{n}");
            if Path::new(&f).exists() {
                let _ = Command::new("ip").args(["netns", "delete", n]).status();
            }
        }
        if !self.was_mount {
            while mounted("/run/netns") {
                let _ = Command::new("umount").arg("/run/netns").status();
            }
        }
        if !self.existed {
            let _ = std::fs::remove_dir("/run/netns");
        }
    }
}

#[test]
fn ip_netns_interop_both_ways() {
    guarded(|| {
        if which("ip").is_none() {
            eprintln!("SKIP: ip (iproute2) is not installed");
            return;
        }
        let (by_ip, by_us) = ("nsscript-ipadd", "nsscript-persisted");
        let _dir = NetnsDir::new(&[by_ip, by_us]);

        // One made by `ip netns add` is joined by path.
        sh(&format!("ip netns add {by_ip}"));
        let id = sh(&format!("ip netns exec {by_ip} readlink /proc/self/ns/net"))
            .trim()
            .to_string();
        let r = eval(&format!(
            r#"print(setns("/run/netns/{by_ip}")); print(ns_id("net")); print(links().len());"#
        ));
        r.ok();
        assert_eq!(r.lines(), ["net", id.as_str(), "1"]);
        sh(&format!("ip netns delete {by_ip}"));

        // One persisted by nsscript shows in `ip netns list` and works with
        // `ip netns exec`.
        let r = eval(&format!(
            r#"let p = spawn(["sleep", "60"], #{{ns: ["net"]}});
               print(persist(p.pid, "net", "/run/netns/{by_us}"));
               p.kill(); p.wait();"#
        ));
        r.ok();
        let id = r.lines()[0].clone();
        let list = sh("ip netns list");
        assert!(
            list.lines()
                .any(|l| l.split_whitespace().next() == Some(by_us)),
            "{list}"
        );
        let seen = sh(&format!("ip netns exec {by_us} readlink /proc/self/ns/net"));
        assert_eq!(seen.trim(), id);
        eval(&format!(r#"unpersist("/run/netns/{by_us}");"#)).ok();
        assert!(!sh("ip netns list").contains(by_us));
    });
}

#[test]
fn in_ns_returns_values_of_every_type() {
    guarded(|| {
        let host = host_hostname();
        let r = eval(
            r#"let v = in_ns(#{ns: ["uts"]}, || {
                   set_hostname("inner");
                   [(), true, 42, 1.5, "text", 'c', [1, [2]], #{name: hostname(), n: -7}]
               });
               for x in v { print(type_of(x) + " " + x); }
               print(type_of(in_ns(#{}, || blob(2, 0x41))));
               print(in_ns(#{}, || 0.0 / 0.0));
               print(in_ns(#{}, || ()));
               print(hostname());"#,
        );
        r.ok();
        let want = [
            "()",
            "bool true",
            "i64 42",
            "f64 1.5",
            "string text",
            "char c",
            "array [1, [2]]",
            r#"map #{"n": -7, "name": "inner"}"#,
            "blob",
            "NaN",
        ];
        let l = r.lines();
        assert_eq!(l[..want.len()], want.map(String::from)[..]);
        assert_eq!(l[want.len()], host, "the host's name, outside");
        assert_eq!(host_hostname(), host);
    });
}

#[test]
fn in_ns_output_appears_in_order() {
    guarded(|| {
        let r = eval(
            r#"print("before");
               in_ns(#{ns: ["pid"], mount_proc: true}, || { print("inside, pid " + pid()); });
               print("after");"#,
        );
        r.ok();
        assert_eq!(r.lines(), ["before", "inside, pid 1", "after"]);
    });
}

#[test]
fn in_ns_errors_throws_and_values_that_cannot_cross() {
    guarded(|| {
        let r = eval(
            r#"try { in_ns(#{}, || { throw "boom" }) } catch (e) { print(e) }
               try { in_ns(#{}, || { throw #{code: 7} }) } catch (e) { print(e.code) }
               try { in_ns(#{}, || ns_id(2147483646, "uts")) } catch (e) { print(e.errno) }
               try { in_ns(#{}, || nosuch()) } catch (e) { print(e) }
               try { in_ns(#{}, || [1, Fn("hostname")]) } catch (e) { print(e.message) }
               try { in_ns(#{}, || spawn(["sleep", "1"])) } catch (e) { print(e.message) }
               try { in_ns(#{nss: ["uts"]}, || 1) } catch (e) { print(e.message) }
               print("still running");"#,
        );
        r.ok();
        let l = r.lines();
        assert_eq!(l[0], "boom");
        assert_eq!(l[1], "7", "a thrown map keeps its fields");
        assert_eq!(l[2], "ESRCH", "an os error keeps its errno");
        assert!(
            l[3].starts_with("in_ns: Function not found: nosuch"),
            "{}",
            l[3]
        );
        assert_eq!(
            l[4],
            "in_ns: the result[1] is a function pointer, which cannot leave the child process"
        );
        assert!(
            l[5].contains("the result is a Process, which cannot leave"),
            "{}",
            l[5]
        );
        assert!(l[6].contains("unknown option nss"), "{}", l[6]);
        assert_eq!(l[7], "still running");

        // Uncaught: the script fails with the message; exit(n) inside ends
        // the script with n.
        let r = eval(r#"in_ns(#{}, || { throw "boom" }); print("not reached");"#);
        r.expect_code(1);
        assert!(
            r.stderr.contains("boom") && r.stdout.is_empty(),
            "{}",
            r.stderr
        );
        eval(r#"in_ns(#{}, || exit(5)); print("not reached");"#).expect_code(5);
    });
}

#[test]
fn in_ns_leaves_no_process_behind() {
    guarded(|| {
        // What the closure spawns dies with it.
        let r = eval(
            r#"let inner = in_ns(#{ns: ["uts"]}, || spawn(["sleep", "60"]).pid);
               print(inner);"#,
        );
        r.ok();
        assert!(util::dies(&r.lines()[0]), "the closure's child was killed");

        // A closure that never ends dies with an interrupted script.
        for sig in [libc::SIGINT, libc::SIGTERM] {
            let mut script = util::cmd()
                .args([
                    "-e",
                    r#"in_ns(#{ns: ["pid"]}, || { print("looping"); loop {} })"#,
                ])
                .stdout(Stdio::piped())
                .spawn()
                .expect("start nsscript");
            let mut line = String::new();
            BufReader::new(script.stdout.take().expect("stdout"))
                .read_line(&mut line)
                .expect("read");
            assert_eq!(line.trim(), "looping");
            let me = script.id();
            let kids = std::fs::read_to_string(format!("/proc/{me}/task/{me}/children"))
                .unwrap_or_default();
            let child = kids
                .split_whitespace()
                .next()
                .expect("the in_ns child")
                .to_string();
            // SAFETY: signalling the nsscript we started.
            unsafe { libc::kill(me as i32, sig) };
            let _ = script.wait();
            assert!(
                util::dies(&child),
                "signal {sig}: the looping child is gone"
            );
        }
    });
}

#[test]
fn joining_bad_targets_gives_clear_catchable_errors() {
    guarded(|| {
        let r = eval(
            r#"fn show(e) { print(e.errno + " | " + e.message) }
               try { setns(2147483646, ["uts"]) } catch (e) { show(e) }
               let z = spawn("true"); sleep(200);
               try { setns(z.pid, ["uts"]) } catch (e) { show(e) }
               z.wait();
               try { setns("/etc/hostname") } catch (e) { show(e) }
               try { setns("/nonexistent/ns") } catch (e) { show(e) }
               let p = spawn(["sleep", "60"], #{ns: ["uts"]});
               try { setns(p.pid, ["net"]) } catch (e) { show(e) }
               try { setns(p.pid, ["usr"]) } catch (e) { show(e) }
               try { enter(p.pid, ["net"], ["true"]) } catch (e) { show(e) }
               try { enter(2147483646, ["uts"], ["true"]) } catch (e) { show(e) }
               try { persist(p.pid, "uts", "/") } catch (e) { show(e) }
               try { unpersist("/etc/hostname") } catch (e) { show(e) }
               p.kill();"#,
        );
        r.ok();
        let l = r.lines();
        let want = [
            ("ESRCH", "no process with pid 2147483646"),
            ("ESRCH", "has exited"),
            ("EINVAL", "/etc/hostname is not a namespace file (nsfs)"),
            ("ENOENT", "setns failed: ENOENT"),
            ("EINVAL", "has no net namespace of its own"),
            ("EINVAL", "unknown namespace kind \"usr\""),
            ("EINVAL", "enter: process"),
            (
                "ESRCH",
                "enter failed: ESRCH (No such process): no process with pid 2147483646",
            ),
            ("EINVAL", "/ exists and is not a regular file"),
            ("EINVAL", "/etc/hostname does not hold a namespace"),
        ];
        assert_eq!(l.len(), want.len(), "{l:#?}");
        for (line, (errno, text)) in l.iter().zip(want) {
            assert!(line.starts_with(&format!("{errno} | ")), "{line}");
            assert!(line.contains(text), "want {text:?} in {line}");
        }
    });
}

#[test]
fn unprivileged_unshare_and_in_ns() {
    guarded(|| {
        if !util::unprivileged_userns() {
            eprintln!("SKIP: unprivileged user namespaces are disabled here");
            return;
        }
        let Some(r) = util::eval_as_nobody(
            r#"unshare(["user", "uts"]);
               set_hostname("nobody-box");
               print(hostname());"#,
        ) else {
            return;
        };
        r.ok();
        assert_eq!(r.lines(), ["nobody-box"]);

        let Some(r) = util::eval_as_nobody(
            r#"print(in_ns(#{ns: ["user", "uts"], map_root: true}, || {
                   set_hostname("inner");
                   [hostname(), uid(), read_file("/proc/self/uid_map").split()]
               }));
               print(uid());"#,
        ) else {
            return;
        };
        r.ok();
        assert_eq!(r.lines(), [r#"["inner", 0, ["0", "65534", "1"]]"#, "65534"]);
    });
}

#[test]
fn unprivileged_setns_into_own_user_namespace() {
    guarded(|| {
        if !util::unprivileged_userns() {
            eprintln!("SKIP: unprivileged user namespaces are disabled here");
            return;
        }
        let Some(r) = util::eval_as_nobody(
            r#"let p = spawn(["sleep", "60"], #{ns: ["user", "uts"], map_root: true, hostname: "theirs"});
               try { setns(p.pid, ["uts"]) } catch (e) { print(e.errno) }
               print(setns(p.pid, ["user", "uts"]));
               print(uid());
               print(hostname());
               p.kill();"#,
        ) else {
            return;
        };
        r.ok();
        assert_eq!(
            r.lines(),
            ["EPERM", r#"["user", "uts"]"#, "0", "theirs"],
            "without its user namespace the join is refused; with it, we are root there"
        );
    });
}

#[test]
fn ns_of_names_every_kind() {
    guarded(|| {
        let r = eval(r#"print(ns_of(pid()).keys())"#);
        r.ok();
        let keys: BTreeSet<String> = r.lines()[0]
            .trim_matches(|c| c == '[' || c == ']')
            .split(", ")
            .map(|k| k.trim_matches('"').to_string())
            .collect();
        let want: BTreeSet<String> = [
            "cgroup", "ipc", "mount", "net", "pid", "time", "user", "uts",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(keys, want);
    });
}

#[test]
fn setns_and_lsns_demos_observe_what_they_claim() {
    guarded(|| {
        let r = util::run(&["demo/setns.rhai"]);
        r.ok();
        assert!(r.stdout.contains("setns: all observed"), "{}", r.stdout);
        assert!(!r.stdout.contains("FAIL"), "{}", r.stdout);
        let r = util::run(&["demo/lsns.rhai"]);
        r.ok();
        assert!(r.stdout.contains("lsns: all observed"), "{}", r.stdout);
        assert!(
            r.stdout.contains("        pid:["),
            "a pid namespace two levels down: {}",
            r.stdout
        );

        if !util::unprivileged_userns() || which("setpriv").is_none() || !util::is_root() {
            eprintln!("SKIP: cannot run the demos as uid 65534 here");
            return;
        }
        for demo in ["demo/setns.rhai", "demo/lsns.rhai"] {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
                .arg(util::bin())
                .arg(demo)
                .current_dir("/")
                .stdin(Stdio::null());
            let r = util::output(c);
            r.ok();
            assert!(r.stdout.contains(": all observed"), "{demo}: {}", r.stdout);
        }
    });
}
