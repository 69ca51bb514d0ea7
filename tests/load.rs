//! Load (issue 7): thousands of spawns of mixed namespace sets and hundreds
//! of in_ns closures in one run, and twenty nsscript processes at once.
//! Afterwards nothing is left: no process, no zombie, no fd more than at
//! the start, and `guarded` finds the host unchanged.

use crate::util::{self, guarded};
use std::time::Instant;

/// Shared by both tests: helpers, and the namespace sets, each with what
/// the child must see.
const COMMON: &str = r#"
fn fds() {
    let n = 0;
    for i in 0..4096 { if exists(`/proc/self/fd/${i}`) { n += 1; } }
    n
}
fn kids() { let k = read_file(`/proc/${pid()}/task/${pid()}/children`); k.trim(); k }
const SETS = [
    #{},
    #{ns: ["uts"], hostname: "load"},
    #{ns: ["ipc"]},
    #{ns: ["pid"]},
    #{ns: ["net"]},
    #{ns: ["mount"], mount_proc: true},
    #{ns: ["user"], map_root: true},
    #{ns: ["user", "mount", "uts", "ipc", "pid", "net", "cgroup", "time"], map_root: true,
      mount_proc: true, hostname: "full"},
];
/// Spawns `n` children round-robin over SETS: a third waited, a third run
/// to the end with captured output, a third left to the registry.
fn spawns(n) {
    let bad = 0;
    for i in 0..n {
        let o = global::SETS[i % global::SETS.len()];
        if i % 3 == 0 {
            if spawn(["true"], o).wait() != 0 { bad += 1; }
        } else if i % 3 == 1 {
            if run(["true"], o).code != 0 { bad += 1; }
        } else {
            spawn(["true"], o);
        }
    }
    bad
}
/// `n` in_ns closures round-robin over SETS, each returning its hostname
/// and pid.
fn closures(n) {
    let bad = 0;
    for i in 0..n {
        let o = global::SETS[i % global::SETS.len()];
        let r = in_ns(o, || [hostname(), pid()]);
        let want = if "hostname" in o { o.hostname } else { hostname() };
        if r[0] != want { bad += 1; }
        if "ns" in o && o.ns.contains("pid") && r[1] != 1 { bad += 1; }
    }
    bad
}
/// Lets the registry reap what exited, then reports. Measured, like the
/// start, right after one waited spawn: the registry keeps the handle of
/// the last child (and its pidfd) until the next spawn.
fn finish(before) {
    sleep(200);
    spawn(["true"]).wait();
    print(`fds ${before} ${fds()}`);
    print(`children [${kids()}]`);
}
"#;

fn check_end(l: &[String], what: &str) {
    let fds = l
        .iter()
        .find(|x| x.starts_with("fds "))
        .unwrap_or_else(|| panic!("{what}: no fd line in {l:?}"));
    let f: Vec<&str> = fds.split(' ').collect();
    assert_eq!(f[1], f[2], "{what}: nsscript's fd count changed: {fds}");
    assert!(
        l.contains(&"children []".to_string()),
        "{what}: children or zombies left: {l:?}"
    );
}

#[test]
fn two_thousand_spawns_and_five_hundred_closures_leave_nothing() {
    guarded(|| {
        let t = Instant::now();
        let r = util::eval(&format!(
            r#"{COMMON}
            spawn(["true"]).wait();
            let before = fds();
            print(`bad spawns ${{spawns(2000)}}`);
            print(`bad closures ${{closures(500)}}`);
            finish(before);"#
        ));
        let took = t.elapsed();
        r.ok();
        let l = r.lines();
        assert!(l.contains(&"bad spawns 0".to_string()), "{l:?}");
        assert!(l.contains(&"bad closures 0".to_string()), "{l:?}");
        check_end(&l, "one run");
        eprintln!(
            "load: 2000 spawns over 8 namespace sets and 500 in_ns closures in {took:.1?}; {}",
            l.iter()
                .find(|x| x.starts_with("fds "))
                .map(String::as_str)
                .unwrap_or("")
        );
    });
}

#[test]
fn twenty_nsscript_processes_at_once_leave_nothing() {
    guarded(|| {
        let t = Instant::now();
        let code = format!(
            r#"{COMMON}
            spawn(["true"]).wait();
            let before = fds();
            print(`bad spawns ${{spawns(100)}}`);
            print(`bad closures ${{closures(16)}}`);
            finish(before);"#
        );
        let children: Vec<std::process::Child> = (0..20)
            .map(|_| {
                util::cmd()
                    .args(["-e", &code])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("start nsscript")
            })
            .collect();
        for (i, c) in children.into_iter().enumerate() {
            let o = c.wait_with_output().expect("wait nsscript");
            let out = String::from_utf8_lossy(&o.stdout);
            assert!(
                o.status.success(),
                "run {i}: {:?}\n{out}\n{}",
                o.status,
                String::from_utf8_lossy(&o.stderr)
            );
            let l: Vec<String> = out.lines().map(|x| x.trim().to_string()).collect();
            assert!(l.contains(&"bad spawns 0".to_string()), "run {i}: {l:?}");
            assert!(l.contains(&"bad closures 0".to_string()), "run {i}: {l:?}");
            check_end(&l, &format!("run {i}"));
        }
        eprintln!(
            "load: 20 nsscript processes at once, 100 spawns and 16 closures each, in {:.1?}",
            t.elapsed()
        );
    });
}
