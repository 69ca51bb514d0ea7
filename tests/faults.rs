//! Fault injection through the real binary (issue 7): a throw half-way, a
//! setup step or an exec that fails, a child killed during its setup,
//! nsscript itself killed or interrupted, fds that must not leak. Each test
//! proves nothing is left behind: the processes it saw die, and `guarded`
//! finds the host (names, mounts, links, IPC, /run/netns, descendants)
//! exactly as it was.
//!
//! Footguns and the unprivileged user are here too: host changes refused
//! without `#{host: true}`, and uid 65534 gains nothing.

use crate::util::{self, descendants, dies, eval, guarded, Live, Scratch};

/// A script function counting nsscript's own open fds (a stat of each
/// /proc/self/fd/N opens nothing, so it does not count itself).
pub const FDS: &str = r#"
fn fds() {
    let n = 0;
    for i in 0..4096 { if exists(`/proc/self/fd/${i}`) { n += 1; } }
    n
}
fn kids() { let k = read_file(`/proc/${pid()}/task/${pid()}/children`); k.trim(); k }
"#;

/// Those of `pids` still alive after two seconds each.
fn survivors(pids: &[i32]) -> Vec<i32> {
    pids.iter()
        .copied()
        .filter(|p| !dies(&p.to_string()))
        .collect()
}

/// The descendants of `pid`, waiting until there are at least `n`.
fn at_least(pid: i32, n: usize) -> Vec<i32> {
    for _ in 0..500 {
        let d = descendants(pid);
        if d.len() >= n {
            return d;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!(
        "nsscript {pid} never had {n} descendants: {:?}",
        descendants(pid)
    );
}

fn faults(n: usize) {
    eprintln!("faults injected: {n}");
}

// ---- a throw half-way --------------------------------------------------

#[test]
fn a_throw_right_after_spawns_with_maps_and_mounts_kills_every_child() {
    guarded(|| {
        let mut s = Live::start(util::cmd().args([
            "-e",
            r#"let full = spawn(["sleep", "1000"], #{ns: ["user", "mount", "pid", "uts", "ipc", "net"],
                   map_root: true, mount_proc: true, hostname: "fault"});
               let tree = spawn(["sh", "-c", "sleep 1000 & sleep 1000"], #{ns: ["pid"], mount_proc: true});
               let plain = spawn(["sleep", "1000"]);
               print("ready");
               run(["head", "-c", "1"], #{stdin: "inherit"});
               throw "boom half-way";
               full.wait();"#,
        ]));
        s.line("ready", 10);
        // full, tree's sh and its two sleeps, plain (and head).
        let seen = at_least(s.pid(), 5);
        s.send("x");
        let r = s.finish();
        r.expect_code(1);
        assert!(r.stderr.contains("boom half-way"), "{}", r.stderr);
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
        assert_eq!(survivors(&seen), Vec::<i32>::new(), "outlived the throw");
        faults(1);
    });
}

#[test]
fn a_throw_inside_in_ns_kills_what_the_closure_spawned_before_in_ns_returns() {
    guarded(|| {
        let mut s = Live::start(util::cmd().args([
            "-e",
            r#"try {
                   in_ns(#{ns: ["user", "mount", "pid"], map_root: true, mount_proc: true}, || {
                       let q = spawn(["sleep", "1000"], #{ns: ["uts"], hostname: "inner"});
                       print("ready");
                       run(["head", "-c", "1"], #{stdin: "inherit"});
                       throw "inner boom";
                   });
               } catch (e) {
                   print(`caught ${e}`);
               }
               run(["head", "-c", "1"], #{stdin: "inherit"});
               print("done");"#,
        ]));
        s.line("ready", 10);
        // The forked interpreter, its sleep and its head.
        let seen = at_least(s.pid(), 3);
        s.send("x");
        let caught = s.line("caught", 10);
        assert!(caught.contains("inner boom"), "{caught}");
        // Gone already, while nsscript still runs (it waits on stdin in a
        // new head, which was not among them).
        assert_eq!(
            survivors(&seen),
            Vec::<i32>::new(),
            "outlived the in_ns error"
        );
        s.send("x");
        s.line("done", 10);
        s.finish().ok();
        faults(1);
    });
}

#[test]
fn a_setup_step_failing_after_maps_and_mounts_leaves_nothing() {
    guarded(|| {
        let r = eval(&format!(
            r#"{FDS}
            let before = fds();
            let n = 0;
            for i in 0..50 {{
                try {{
                    spawn(["true"], #{{ns: ["user", "mount", "pid", "uts", "net"], map_root: true,
                        mount_proc: true, hostname: "x", cwd: "/nonexistent/x"}});
                }} catch (e) {{
                    if i == 0 {{ print(`spawn ${{e.errno}} ${{e.message}}`); }}
                    n += 1;
                }}
                try {{
                    in_ns(#{{ns: ["user", "mount", "pid"], map_root: true, mount_proc: true,
                        cwd: "/nonexistent/x"}}, || 1);
                }} catch (e) {{
                    if i == 0 {{ print(`in_ns ${{e.errno}} ${{e.message}}`); }}
                    n += 1;
                }}
            }}
            print(`caught ${{n}}`);
            print(`fds ${{before}} ${{fds()}}`);
            print(`children [${{kids()}}]`);"#
        ));
        r.ok();
        let l = r.lines();
        assert!(
            l[0].starts_with("spawn ENOENT") && l[0].contains("chdir"),
            "{l:?}"
        );
        assert!(
            l[1].starts_with("in_ns ENOENT") && l[1].contains("chdir"),
            "{l:?}"
        );
        assert_eq!(l[2], "caught 100");
        let f: Vec<&str> = l[3].split(' ').collect();
        assert_eq!(f[1], f[2], "nsscript's fd count changed: {}", l[3]);
        assert_eq!(l[4], "children []", "zombies or children left");
        faults(100);
    });
}

#[test]
fn a_failed_exec_is_an_error_with_a_hint_and_leaves_nothing() {
    guarded(|| {
        let dir = Scratch::new("exec");
        let noexec = dir.path("noexec.sh");
        let badshebang = dir.path("badshebang");
        let garbage = dir.path("garbage");
        std::fs::write(&noexec, "#!/bin/sh\necho hi\n").expect("write");
        std::fs::write(&badshebang, "#!/nonexistent/interpreter\n").expect("write");
        std::fs::write(&garbage, [0x7fu8, b'E', b'L', b'F', 0, 1, 2, 3]).expect("write");
        util::sh(&format!(
            "chmod 644 {noexec}; chmod 755 {badshebang} {garbage}"
        ));
        let dirpath = dir.path("");
        let r = eval(&format!(
            r#"{FDS}
            let before = fds();
            for prog in ["/nonexistent/prog", "no-such-program-nsscript", "{noexec}",
                         "{dirpath}", "{badshebang}", "{garbage}"] {{
                let errs = [];
                for i in 0..20 {{
                    try {{
                        spawn([prog], #{{ns: ["user", "pid", "mount"], map_root: true, mount_proc: true}});
                        errs.push("spawned!");
                    }} catch (e) {{
                        if i == 0 {{ print(`${{prog}} | ${{e.errno}} | ${{e.message}} | ${{e.hint}}`); }}
                        errs.push(e.errno);
                    }}
                }}
                print(`${{prog}} errors ${{errs.len()}}`);
            }}
            print(`fds ${{before}} ${{fds()}}`);
            print(`children [${{kids()}}]`);"#
        ));
        r.ok();
        let l = r.lines();
        let expect = [
            ("/nonexistent/prog", "ENOENT", "does not exist"),
            ("no-such-program-nsscript", "ENOENT", "in PATH"),
            (noexec.as_str(), "EACCES", "not executable"),
            (dirpath.as_str(), "EACCES", "not executable"),
            (badshebang.as_str(), "ENOENT", "interpreter"),
            (garbage.as_str(), "ENOEXEC", "format"),
        ];
        for (i, (prog, errno, hint)) in expect.iter().enumerate() {
            let f: Vec<&str> = l[2 * i].split(" | ").collect();
            assert_eq!(f[0], *prog, "{l:#?}");
            assert_eq!(f[1], *errno, "{prog}: {l:#?}");
            assert!(f[2].contains("exec"), "{prog}: {}", f[2]);
            assert!(f[3].contains(hint), "{prog}: hint {:?}", f[3]);
            assert_eq!(l[2 * i + 1], format!("{prog} errors 20"));
        }
        let f: Vec<&str> = l[12].split(' ').collect();
        assert_eq!(f[1], f[2], "nsscript's fd count changed: {}", l[12]);
        assert_eq!(l[13], "children []");
        faults(120);
    });
}

// ---- a child killed during its setup -------------------------------------

/// nsscript in a private mount namespace where /dev/null is a FIFO, so a
/// child spawned with `stdin: "null"` blocks in open(2) during its setup
/// (after clone and the id maps, before the mounts and exec), until the
/// test kills it.
fn with_stuck_setup(script: &str) -> (Live, i32, Scratch) {
    let dir = Scratch::new("fifo");
    let fifo = dir.path("fifo");
    let s = Live::start(util::in_unshare(
        &["--mount", "--propagation", "private"],
        &format!("mkfifo {fifo} && mount --bind {fifo} /dev/null || exit 99"),
        &["-e", script],
    ));
    let nss = s.pid();
    // The stuck child: a descendant of nsscript sleeping in open(2) on the
    // FIFO.
    for _ in 0..1000 {
        for p in descendants(nss) {
            let wchan = std::fs::read_to_string(format!("/proc/{p}/wchan")).unwrap_or_default();
            if wchan.contains("partner") || wchan.contains("fifo") {
                return (s, p, dir);
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!(
        "no child got stuck opening the FIFO: {:?}",
        descendants(nss)
    );
}

const STUCK: &str = r#"
try {
    let p = spawn(["true"], #{ns: ["user", "mount", "pid", "uts"], map_root: true, mount_proc: true,
        hostname: "stuck", stdin: "null"});
    print(`spawned, exit code ${p.wait()}`);
} catch (e) {
    print(`error ${e.errno} ${e.message} | ${e.hint}`);
}
let kids = read_file(`/proc/${pid()}/task/${pid()}/children`);
kids.trim();
print(`children [${kids}]`);
"#;

/// Regression (issue 7): a child killed half-way through its setup made
/// spawn return a Process for a program that never ran; it is an error
/// that says so now.
#[test]
fn a_child_sigkilled_during_its_setup_is_an_error_and_leaves_nothing() {
    guarded(|| {
        let (mut s, stuck, _dir) = with_stuck_setup(STUCK);
        util::signal(stuck, libc::SIGKILL);
        let e = s.line("error", 10);
        assert!(e.starts_with("ECANCELED"), "{e}");
        assert!(e.contains("killed by SIGKILL during its setup"), "{e}");
        assert!(
            e.contains("hint: ") || e.contains("outside nsscript"),
            "{e}"
        );
        assert_eq!(s.line("children", 10), "[]");
        s.finish().ok();
        assert!(dies(&stuck.to_string()));
        faults(1);
    });
}

#[test]
fn nsscript_killed_while_a_child_is_in_its_setup_takes_the_child_along() {
    guarded(|| {
        for sig in [libc::SIGKILL, libc::SIGTERM] {
            let (s, stuck, _dir) = with_stuck_setup(STUCK);
            util::signal(s.pid(), sig);
            let r = s.finish();
            assert_eq!(r.code, 128 + sig, "{}", r.stderr);
            assert!(dies(&stuck.to_string()), "child {stuck} outlived nsscript");
        }
        faults(2);
    });
}

// ---- nsscript itself killed or interrupted -----------------------------

/// Starts children of every kind, then an in_ns child that spawns one of
/// its own and loops; returns once all are up, with their pids.
fn with_a_full_house() -> (Live, Vec<i32>) {
    let mut s = Live::start(util::cmd().args([
        "-e",
        r#"let a = spawn(["sleep", "1000"]);
           let b = spawn(["sh", "-c", "sleep 1000 & sleep 1000"], #{ns: ["pid", "mount"], mount_proc: true});
           let c = spawn(["sleep", "1000"], #{map_root: true, ns: ["mount", "uts", "ipc", "net"]});
           let d = spawn(["cat"], #{stdin: "pipe", stdout: "pipe", stderr: "pipe", ns: ["time", "cgroup"]});
           in_ns(#{ns: ["uts", "pid", "mount"], mount_proc: true}, || {
               let q = spawn(["sleep", "1000"], #{ns: ["net"]});
               print("ready");
               loop { sleep(1000); }
           });"#,
    ]));
    s.line("ready", 10);
    // a, b's sh and two sleeps, c, d, the in_ns copy and its sleep.
    let seen = at_least(s.pid(), 8);
    (s, seen)
}

#[test]
fn children_die_with_nsscript_on_sigkill_sigterm_and_sigint() {
    guarded(|| {
        for sig in [libc::SIGKILL, libc::SIGTERM, libc::SIGINT] {
            let (s, seen) = with_a_full_house();
            util::signal(s.pid(), sig);
            let r = s.finish();
            assert_eq!(r.code, 128 + sig, "{}", r.stderr);
            assert_eq!(
                survivors(&seen),
                Vec::<i32>::new(),
                "outlived nsscript killed by signal {sig}"
            );
        }
        faults(3);
    });
}

#[test]
fn an_endless_closure_in_in_ns_dies_when_the_run_is_interrupted() {
    guarded(|| {
        for (sig, ns) in [
            (libc::SIGINT, r#"["uts"]"#),
            (libc::SIGTERM, r#"["uts"]"#),
            (
                libc::SIGINT,
                r#"["pid", "mount", "user"], map_root: true, mount_proc: true"#,
            ),
            (libc::SIGTERM, r#"["pid", "net", "ipc"]"#),
        ] {
            let mut s = Live::start(util::cmd().args([
                "-e",
                &format!(r#"in_ns(#{{ns: {ns}}}, || {{ print("looping"); loop {{ }} }});"#),
            ]));
            s.line("looping", 10);
            let seen = at_least(s.pid(), 1);
            util::signal(s.pid(), sig);
            let r = s.finish();
            assert_eq!(r.code, 128 + sig, "{}", r.stderr);
            assert_eq!(
                survivors(&seen),
                Vec::<i32>::new(),
                "the looping copy survived"
            );
        }
        faults(4);
    });
}

// ---- file descriptors ----------------------------------------------------

#[test]
fn a_spawned_child_sees_only_0_1_2_whatever_nsscript_holds() {
    guarded(|| {
        // nsscript starts with fds 7 and 8 inherited (not CLOEXEC) and
        // holds a child's pipes and pidfd while it spawns the others.
        let script = r#"
            fn fds(o) {
                let r = run(["sh", "-c", "ls /proc/$$/fd"], o);
                r.stdout.split("\n").filter(|l| l != "")
            }
            let held = spawn(["sleep", "100"], #{stdin: "pipe", stdout: "pipe", stderr: "pipe"});
            print(`plain ${fds(#{})}`);
            print(`stdin-pipe ${fds(#{input: "text"})}`);
            print(`null ${fds(#{stdin: "null", stderr: "null"})}`);
            print(`namespaces ${fds(#{ns: ["user", "mount", "pid", "net", "ipc", "uts"], map_root: true, mount_proc: true})}`);
            print(`trace ${fds(#{ns: ["user"], map_root: true, trace: true})}`);
            print(`in_ns ${in_ns(#{ns: ["uts"]}, || fds(#{}))}`);
            print(`in_ns-pid ${in_ns(#{ns: ["pid", "mount"], mount_proc: true}, || fds(#{stdin: "null"}))}`);
            held.kill();
        "#;
        let mut c = std::process::Command::new("sh");
        c.args(["-c", "exec 7</dev/null 8>/dev/null; exec \"$0\" -e \"$1\""])
            .arg(util::bin())
            .arg(script)
            .current_dir(std::env::temp_dir())
            .stdin(std::process::Stdio::null());
        let r = util::output(c);
        r.ok();
        let l = r.lines();
        assert_eq!(l.len(), 7, "{l:?}");
        for line in &l {
            let (what, fds) = line.split_once(' ').unwrap_or((line, ""));
            assert_eq!(fds, r#"["0", "1", "2"]"#, "{what}: {line}");
        }
        faults(0);
    });
}

// ---- footguns --------------------------------------------------------------

/// Calls that would change the host. The targets do not exist and the names
/// are the current ones, so even a broken guard could not change anything:
/// the test would only see another error.
const HOST_CHANGES: &[&str] = &[
    "set_hostname(hostname())",
    "set_domainname(domainname())",
    r#"mount("none", "/nonexistent/nsscript", "tmpfs", 0, "")"#,
    r#"umount("/nonexistent/nsscript")"#,
    r#"mount_proc("/nonexistent/nsscript")"#,
    r#"bind("/nonexistent/a", "/nonexistent/b")"#,
    r#"make_private("/nonexistent/nsscript")"#,
    r#"pivot_root("/nonexistent/a", "/nonexistent/b")"#,
];

#[test]
fn host_changes_are_refused_with_how_to_proceed() {
    guarded(|| {
        let calls: String = HOST_CHANGES
            .iter()
            .map(|c| {
                format!(
                    "try {{ {c}; print(\"DONE\"); }} catch (e) {{ print(`${{e.errno}} | ${{e.message}} | ${{e.hint}}`); }}\n"
                )
            })
            .collect();
        let r = eval(&calls);
        r.ok();
        let l = r.lines();
        assert_eq!(l.len(), HOST_CHANGES.len(), "{l:#?}");
        for (call, line) in HOST_CHANGES.iter().zip(&l) {
            let f: Vec<&str> = line.split(" | ").collect();
            assert_eq!(f[0], "EPERM", "{call}: {line}");
            assert!(f[1].contains("refusing to"), "{call}: {line}");
            assert!(f[1].contains("host's"), "{call}: {line}");
            assert!(f[2].contains("unshare("), "{call}: {line}");
            assert!(f[2].contains("#{host: true}"), "{call}: {line}");
        }
        // The escape hatch is typed and spelled out.
        let r = eval(
            r#"try { set_hostname("x", #{host: "yes"}) } catch (e) { print(e.message) }
               try { set_hostname("x", #{hots: true}) } catch (e) { print(e.message) }
               try { umount("/nonexistent/x", #{hots: true}) } catch (e) { print(e.message) }"#,
        );
        r.ok();
        let l = r.lines();
        assert!(l[0].contains("host must be true or false"), "{}", l[0]);
        assert!(
            l[1].contains("unknown option hots") && l[1].contains("host"),
            "{}",
            l[1]
        );
        assert!(
            l[2].contains("unknown option hots") && l[2].contains("host"),
            "{}",
            l[2]
        );
        faults(HOST_CHANGES.len() + 3);
    });
}

#[test]
fn host_changes_work_inside_new_uts_and_mount_namespaces() {
    guarded(|| {
        let dir = Scratch::new("footgun");
        let d = dir.path("");
        let script = format!(
            r#"set_hostname("inside"); print(`hostname ${{hostname()}}`);
               set_domainname("dom.inside"); print(`domainname ${{domainname()}}`);
               mount("none", "{d}/a", "tmpfs", 0, "size=1m");
               write_file("{d}/a/f", "on tmpfs");
               bind("{d}/a", "{d}/b");
               print(`bind ${{read_file("{d}/b/f")}}`);
               make_private("{d}/a");
               umount("{d}/b"); umount("{d}/a");
               print(`umount ${{exists("{d}/a/f")}}`);
               mount_proc();
               mount("none", "{d}/root", "tmpfs", 0, "");
               run(["mkdir", "{d}/root/old", "{d}/root/proc"]);
               write_file("{d}/root/marker", "new root");
               pivot_root("{d}/root", "{d}/root/old");
               print(`pivot ${{read_file("/marker")}}`);
               // No /proc in the new root: the guard cannot tell and refuses.
               try {{ umount("/old", #{{lazy: true}}); }} catch (e) {{ print(`no proc ${{e.errno}} | ${{e.hint}}`); }}
               mount_proc(#{{host: true}});
               umount("/old", #{{lazy: true}});
               print(`old ${{exists("/old/proc")}}`);"#
        );
        let r = util::output(util::in_unshare(
            &["--uts", "--mount", "--propagation", "private"],
            &format!("mkdir {d}/a {d}/b {d}/root"),
            &["-e", &script],
        ));
        r.ok();
        assert_eq!(
            r.lines(),
            [
                "hostname inside",
                "domainname dom.inside",
                "bind on tmpfs",
                "umount false",
                "pivot new root",
                "no proc EPERM | mount /proc first (mount_proc(#{host: true}) in a new root), or pass #{host: true} when you are sure",
                "old false",
            ]
        );
    });
}

// ---- the unprivileged user -------------------------------------------------

#[test]
fn nobody_gains_no_privilege() {
    guarded(|| {
        let dir = Scratch::new("nobody");
        let d = dir.path("");
        let script = format!(
            r#"fn try_(what, f) {{
                   try {{ f.call(); print(`${{what}} | ok`); }}
                   catch (e) {{ print(`${{what}} | ${{e.errno}} | ${{e.message}} | ${{e.hint}}`); }}
               }}
               try_("write /etc", || write_file("/etc/nsscript-must-not-exist", "x"));
               try_("write /root", || write_file("/root/nsscript-must-not-exist", "x"));
               try_("hostname", || set_hostname(hostname()));
               try_("hostname host", || set_hostname(hostname(), #{{host: true}}));
               try_("mount host", || mount("none", "{d}", "tmpfs", 0, "", #{{host: true}}));
               try_("map other uid", || spawn(["true"], #{{ns: ["user"], uid_map: [[0, 0, 1]]}}));
               try_("map a range", || spawn(["true"], #{{ns: ["user"], uid_map: [[0, uid(), 2]]}}));
               try_("map other gid", || spawn(["true"], #{{ns: ["user"], gid_map: [[0, 0, 1]]}}));
               try_("map own", || spawn(["true"], #{{map_root: true}}).wait());
               unshare(["user", "uts", "mount"], #{{map_root: true}});
               print(`euid ${{euid()}}`);
               try_("userns write /etc", || write_file("/etc/nsscript-must-not-exist", "x"));
               try_("userns write /root", || write_file("/root/nsscript-must-not-exist", "x"));
               try_("userns hostname", || set_hostname("mine"));
               try_("userns map other uid", || spawn(["true"], #{{ns: ["user"], uid_map: [[0, 1000, 1]]}}));"#
        );
        if !util::unprivileged_userns() {
            eprintln!("SKIP: unprivileged user namespaces are disabled here");
            return;
        }
        let Some(r) = util::eval_as_nobody(&script) else {
            return;
        };
        r.ok();
        let l = r.lines();
        let get = |what: &str| -> Vec<String> {
            let line = l
                .iter()
                .find(|x| x.starts_with(&format!("{what} |")))
                .unwrap_or_else(|| panic!("no {what} in {l:#?}"));
            line.split(" | ").map(String::from).collect()
        };
        for (what, errnos) in [
            ("write /etc", &["EACCES"][..]),
            ("write /root", &["EACCES"]),
            ("hostname", &["EPERM"]),
            ("hostname host", &["EPERM"]),
            ("mount host", &["EPERM"]),
            ("map other uid", &["EPERM"]),
            ("map a range", &["EPERM"]),
            ("map other gid", &["EPERM"]),
            ("userns write /etc", &["EACCES"]),
            ("userns write /root", &["EACCES"]),
            ("userns map other uid", &["EPERM", "EINVAL"]),
        ] {
            let f = get(what);
            assert!(
                errnos.contains(&f[1].as_str()),
                "{what}: want {errnos:?}, got {f:?}"
            );
        }
        for what in ["map other uid", "map a range", "map other gid"] {
            let f = get(what);
            assert!(f[3].contains("your own id"), "{what}: no hint: {f:?}");
        }
        assert_eq!(get("map own")[1], "ok");
        assert_eq!(get("userns hostname")[1], "ok", "its own uts namespace");
        assert!(l.contains(&"euid 0".to_string()), "{l:#?}");
        assert!(!std::path::Path::new("/etc/nsscript-must-not-exist").exists());
        assert!(!std::path::Path::new("/root/nsscript-must-not-exist").exists());
        faults(11);
    });
}

// ---- grandchildren -----------------------------------------------------

/// Regression (issue 7): a grandchild that outlived its parent (`sh -c
/// "sleep 1000 &"`) was handed to init and outlived the script; nsscript
/// now adopts such orphans (PR_SET_CHILD_SUBREAPER), reaps those that exit
/// while the script runs, and kills the rest when it ends, in_ns copies
/// included.
#[test]
fn a_backgrounded_grandchild_dies_with_the_script() {
    guarded(|| {
        let mut s = Live::start(util::cmd().args([
            "-e",
            &format!(
                r#"{FDS}
                let a = run(["sh", "-c", "sleep 1000 & echo $!"]).stdout;
                print(`orphan ${{a}}`);
                let b = in_ns(#{{ns: ["uts"]}}, || {{
                    let inner = run(["sh", "-c", "sleep 1000 & echo $!"]).stdout;
                    print(`inner orphan ${{inner}}`);
                    run(["head", "-c", "1"], #{{stdin: "inherit"}});
                }});
                for i in 0..20 {{ run(["sh", "-c", "(exit 3) & wait"]); run(["sh", "-c", "true &"]); }}
                sleep(100);
                spawn(["true"]).wait();
                print(`children [${{kids()}}]`);
                run(["head", "-c", "1"], #{{stdin: "inherit"}});"#
            ),
        ]));
        let orphan: i32 = s.line("orphan", 10).parse().expect("pid");
        let inner: i32 = s.line("inner orphan", 10).parse().expect("pid");
        assert_eq!(
            util::proc_state(&orphan.to_string()).map(|c| c != 'Z'),
            Some(true)
        );
        s.send("x");
        // The in_ns copy ended: its orphan went with it.
        let kids = s.line("children", 20);
        assert!(
            dies(&inner.to_string()),
            "the in_ns copy's orphan {inner} outlived it"
        );
        // Only the living orphan is left as a child: no zombies pile up.
        assert_eq!(kids, format!("[{orphan}]"));
        s.send("x");
        s.finish().ok();
        assert!(
            dies(&orphan.to_string()),
            "orphan {orphan} outlived the script"
        );
        faults(2);
    });
}

// ---- signals -----------------------------------------------------------

/// Regression (issue 7): programs inherited nsscript's ignored SIGPIPE (Rust
/// ignores it), so `yes | head -1` made `yes` complain about a broken pipe
/// instead of dying quietly. A program starts with the signals nsscript
/// was started with (what its caller ignored stays ignored, as `nohup`
/// wants) and none blocked, in any namespaces and from an in_ns copy too.
#[test]
fn a_spawned_program_starts_with_default_signal_dispositions() {
    guarded(|| {
        let r = eval(
            r#"fn sig(o) {
                   let r = run(["sh", "-c", "grep -E '^Sig(Ign|Blk)' /proc/self/status; yes | head -1 >/dev/null"], o);
                   let s = r.stdout;
                   s.replace("\n", " ");
                   s.replace("\t", "");
                   `${s}stderr [${r.stderr}]`
               }
               print(sig(#{}));
               print(sig(#{ns: ["user", "pid", "mount"], map_root: true, mount_proc: true}));
               print(in_ns(#{ns: ["uts"]}, || sig(#{})));"#,
        );
        r.ok();
        // What nsscript was started with: what any program the test
        // starts gets (std::process::Command restores SIGPIPE too).
        // Only the classic signals 1-31 are compared: glibc keeps its
        // internal real-time signals (32, 33) to itself, and a static and
        // a dynamic glibc leave them differently.
        let classic = |hex: &str| {
            u64::from_str_radix(hex.trim(), 16)
                .map(|m| m & 0x7fff_ffff)
                .ok()
        };
        let ign = util::sh("grep SigIgn /proc/self/status");
        let want = classic(ign.trim().trim_start_matches("SigIgn:"));
        let l = r.lines();
        assert_eq!(l.len(), 3, "{l:?}");
        for line in &l {
            let field = |name: &str| {
                line.split_whitespace()
                    .find_map(|w| w.strip_prefix(name))
                    .and_then(classic)
            };
            assert_eq!(field("SigBlk:"), Some(0), "{line}");
            assert_eq!(field("SigIgn:"), want, "{line}");
            assert!(line.ends_with("stderr []"), "{line}");
        }
    });
}

// ---- a closed standard output ---------------------------------------------

/// Regression (issue 7): with its stdout a pipe whose reader is gone
/// (`nsscript x.rhai | head -1`), a printing script ran on unseen (Rust
/// ignores SIGPIPE, and print dropped the error); it now ends as if killed
/// by SIGPIPE (141), its children with it.
#[test]
fn a_script_whose_stdout_reader_is_gone_ends_with_its_children() {
    use std::io::{BufRead, BufReader};
    guarded(|| {
        for code in [
            r#"let p = spawn(["sleep", "1000"]); print(p.pid); loop { print("more"); }"#,
            r#"let p = spawn(["sleep", "1000"]); print(p.pid);
               in_ns(#{ns: ["uts"]}, || { loop { print("more"); } });"#,
        ] {
            let mut c = util::cmd()
                .args(["-e", code])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("start nsscript");
            let mut out = BufReader::new(c.stdout.take().expect("stdout"));
            let mut line = String::new();
            out.read_line(&mut line).expect("the pid");
            let child = line.trim().to_string();
            drop(out); // like head -1 exiting
            let mut status = None;
            for _ in 0..500 {
                if let Ok(Some(s)) = c.try_wait() {
                    status = Some(s);
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            let Some(status) = status else {
                let _ = c.kill();
                let _ = c.wait();
                panic!("nsscript printed on into a closed pipe: {code}");
            };
            // 141 where nsscript printed; an in_ns copy that did ends the
            // same way, and in_ns reports that as an error (1).
            assert!(
                matches!(status.code(), Some(141) | Some(1)),
                "{status:?}: {code}"
            );
            assert!(dies(&child), "child {child} outlived nsscript");
        }
        faults(2);
    });
}
