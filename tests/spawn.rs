//! The spawn path (issue 10): a child that runs a plan in the
//! interpreter's memory. Every option works from a script that holds a
//! lot of memory; spawns interleave with in_ns copies and captured runs by
//! the thousand; a setup that fails at any step names it and leaves
//! nothing; a join followed by new namespaces nests them under the joined
//! user namespace.

use crate::faults::FDS;
use crate::util::{self, eval, guarded, output, Scratch};

/// A script prelude holding 256 MiB of touched memory (every byte set).
const BIG: &str = "let big = blob(256 * 1024 * 1024, 7);\n";

/// `run(cmd, opts).stdout` and the expected text, as a script line that
/// prints `ok NAME` or `BAD NAME: ...`.
fn expect(name: &str, call: &str, want: &str) -> String {
    format!(
        r#"try {{
            let got = `${{{call}}}`;
            if got == {want:?} {{ print("ok {name}"); }} else {{ print(`BAD {name}: ${{got}}`); }}
        }} catch (e) {{ print(`BAD {name}: ${{e}}`); }}
        "#
    )
}

fn all_ok(r: &util::Run, n: usize) {
    r.ok();
    let l = r.lines();
    let bad: Vec<&String> = l.iter().filter(|x| !x.starts_with("ok ")).collect();
    assert!(bad.is_empty(), "{bad:#?}\n{}", r.stderr);
    assert_eq!(l.len(), n, "{l:#?}");
}

#[test]
fn a_script_holding_256_mib_spawns_with_every_option() {
    guarded(|| {
        let checks = [
            expect("plain", r#"run(["echo", "hi"]).stdout"#, "hi\n"),
            expect("stderr", r#"run(["sh", "-c", "echo e >&2"]).stderr"#, "e\n"),
            expect("input", r#"run(["cat"], #{input: "data"}).stdout"#, "data"),
            expect("stdin null", r#"run(["cat"], #{stdin: "null"}).stdout"#, ""),
            expect(
                "uts",
                r#"run(["hostname"], #{ns: ["uts"], hostname: "big", domainname: "d"}).stdout"#,
                "big\n",
            ),
            expect(
                "map_root",
                r#"run(["id", "-u"], #{map_root: true}).stdout"#,
                "0\n",
            ),
            expect(
                "ranges",
                r#"run(["sh", "-c", "tr -s ' ' < /proc/self/uid_map"], #{ns: ["user"],
                    uid_map: [[0, 100000, 65536]], gid_map: [[0, 100000, 65536]]}).stdout"#,
                " 0 100000 65536\n",
            ),
            expect(
                "pid and proc",
                r#"run(["sh", "-c", "echo $$; cat /proc/1/comm"], #{ns: ["pid"], mount_proc: true}).stdout"#,
                "1\nsh\n",
            ),
            expect(
                "propagation",
                r#"spawn(["true"], #{ns: ["mount"], propagation: "slave", trace: true}).trace
                    .filter(|l| l.starts_with("mount propagation"))[0]"#,
                "mount propagation: mount(NULL, \"/\", NULL, MS_REC|MS_SLAVE, NULL) = 0",
            ),
            expect(
                "time",
                r#"{ let up = run(["sh", "-c", "cut -d. -f1 /proc/uptime"], #{ns: ["time"],
                    time_offsets: #{boottime: 864000}}).stdout; up.trim(); parse_int(up) > 864000 }"#,
                "true",
            ),
            expect(
                "cwd env clear_env",
                r#"run(["/bin/sh", "-c", "pwd; echo $X; env | grep -c ."], #{cwd: "/tmp",
                    env: #{X: "y"}, clear_env: true}).stdout"#,
                "/tmp\ny\n2\n",
            ),
            expect(
                "net",
                r#"run(["ip", "-o", "link"], #{ns: ["net"]}).stdout.split(":")[1]"#,
                " lo",
            ),
            expect(
                "ipc",
                r#"run(["readlink", "/proc/self/ns/ipc"], #{ns: ["ipc", "cgroup"]}).stdout != ns_id("ipc") + "\n""#,
                "true",
            ),
            expect(
                "trace",
                r#"{ let p = spawn(["true"], #{ns: ["uts"], trace: true}); p.wait(); p.trace[-1].split(":")[0] }"#,
                "exec",
            ),
            expect(
                "error names the step",
                r#"{ let m = ""; try { spawn(["true"], #{cwd: "/no/such"}); } catch (e) { m = e.message; } m.contains("chdir") }"#,
                "true",
            ),
            expect(
                "join",
                r#"{ let h = spawn(["sleep", "60"], #{ns: ["user", "uts"], map_root: true, hostname: "held"});
                     let r = run(["hostname"], #{join: #{pid: h.pid, ns: ["user", "uts"]}}).stdout;
                     h.kill(); r }"#,
                "held\n",
            ),
            expect(
                "enter",
                r#"{ let h = spawn(["sleep", "60"], #{ns: ["uts"], hostname: "entered"});
                     let r = enter(h.pid, ["uts"], ["hostname"]).stdout; h.kill(); r }"#,
                "entered\n",
            ),
            expect(
                "in_ns",
                r#"in_ns(#{ns: ["uts"], hostname: "copy"}, || hostname() + big.len())"#,
                "copy268435456",
            ),
        ];
        let n = checks.len();
        let r = eval(&format!("{BIG}{}", checks.join("\n")));
        all_ok(&r, n);
    });
}

#[test]
fn a_script_holding_256_mib_spawns_unprivileged_too() {
    guarded(|| {
        if !util::unprivileged_userns() {
            eprintln!("SKIP: unprivileged user namespaces are disabled here");
            return;
        }
        let checks = [
            expect(
                "map_root",
                r#"run(["id", "-u"], #{map_root: true}).stdout"#,
                "0\n",
            ),
            expect(
                "uts pid proc",
                r#"run(["sh", "-c", "hostname; echo $$"], #{ns: ["user", "uts", "pid", "mount"],
                    map_root: true, hostname: "mine", mount_proc: true}).stdout"#,
                "mine\n1\n",
            ),
            expect(
                "join then create",
                r#"{ let h = spawn(["sleep", "60"], #{map_root: true});
                     let r = run(["sh", "-c", "id -u; hostname; echo $$; ip -o link | wc -l"],
                         #{join: #{pid: h.pid, ns: ["user"]}, ns: ["uts", "net", "pid", "mount"],
                           hostname: "nested", mount_proc: true}).stdout;
                     h.kill(); r }"#,
                "0\nnested\n1\n1\n",
            ),
        ];
        let Some(r) = util::eval_as_nobody(&format!("{BIG}{}", checks.join("\n"))) else {
            return;
        };
        all_ok(&r, checks.len());
    });
}

#[test]
fn a_thousand_spawns_interleave_with_in_ns_and_captured_runs() {
    guarded(|| {
        let r = eval(&format!(
            r#"{FDS}
            // Measured after a waited spawn, as at the end: the registry
            // keeps the last handle (and its pidfd) until the next spawn.
            spawn(["true"]).wait();
            let before = fds();
            let sets = [#{{}}, #{{ns: ["uts"]}}, #{{ns: ["pid"], mount_proc: true}},
                        #{{map_root: true}}, #{{ns: ["net", "ipc"]}}];
            let bad = [];
            for i in 0..1000 {{
                let o = sets[i % sets.len()];
                if spawn(["true"], o).wait() != 0 {{ bad.push(`spawn ${{i}}`); }}
                if i % 10 == 0 {{
                    let h = in_ns(#{{ns: ["uts"], hostname: `c${{i}}`}}, || hostname());
                    if h != `c${{i}}` {{ bad.push(`in_ns ${{i}}: ${{h}}`); }}
                }}
                if i % 4 == 0 {{
                    let r = run(["sh", "-c", `echo ${{i}}; echo e${{i}} >&2`], o);
                    if r.stdout != `${{i}}` + "\n" || r.stderr != `e${{i}}` + "\n" {{ bad.push(`run ${{i}}: ${{r}}`); }}
                }}
            }}
            print(`bad ${{bad}}`);
            print(`fds ${{before}} ${{fds()}}`);
            print(`children [${{kids()}}]`);"#
        ));
        r.ok();
        let l = r.lines();
        assert_eq!(l[0], "bad []", "{l:?}");
        let f: Vec<&str> = l[1].split(' ').collect();
        assert_eq!(f[1], f[2], "fds changed: {}", l[1]);
        assert_eq!(l[2], "children []");
    });
}

/// One failing spawn: the script prints the error's errno and message,
/// and what is left of nsscript's children afterwards.
fn failing(call: &str) -> String {
    format!(
        r#"{FDS}
        try {{ {call}; print("spawned"); }}
        catch (e) {{ print(`error ${{e.errno}} | ${{e.message}}`); }}
        print(`children [${{kids()}}]`);"#
    )
}

/// `failing` with a process `h` started by `holder` first (its namespaces
/// are the ones joined), killed and reaped before the children are listed.
fn failing_with_holder(holder: &str, call: &str) -> String {
    format!(
        r#"{FDS}
        let h = {holder};
        try {{ {call}; print("spawned"); }}
        catch (e) {{ print(`error ${{e.errno}} | ${{e.message}}`); }}
        h.kill(); h.wait();
        print(`children [${{kids()}}]`);"#
    )
}

/// `failing` where there is no /proc to list children: `guarded` sees
/// any process left behind once nsscript has exited (the test process
/// is the reaper of its orphans).
fn failing_without_proc(call: &str) -> String {
    format!(
        r#"try {{ {call}; print("spawned"); }}
        catch (e) {{ print(`error ${{e.errno}} | ${{e.message}}`); }}
        print("children []");"#
    )
}

/// The error line and "children []" of a run of `failing`.
#[track_caller]
fn failed_with(r: &util::Run, errno: &str, words: &[&str]) {
    let l = r.lines();
    let Some(e) = l.iter().find(|x| x.starts_with("error ")) else {
        panic!("no error: {l:?}\n{}", r.stderr);
    };
    assert!(e.starts_with(&format!("error {errno} |")), "{e}");
    for w in words {
        assert!(e.contains(w), "{w:?} missing in {e}");
    }
    assert!(l.contains(&"children []".to_string()), "{l:?}");
}

/// Every step of the setup that the kernel can refuse, made to fail for a
/// real reason, in turn. (Reset signals, close fds, sethostname and
/// setdomainname have no failure a process can provoke: names are
/// checked before clone, and the rest cannot fail.)
#[test]
fn a_setup_failing_at_each_step_names_it_and_leaves_nothing() {
    guarded(|| {
        // clone: a limit of 0 uts namespaces, in a user namespace of the
        // test's own (the user.* limits are per user namespace).
        let r = output(util::in_unshare(
            &["--user", "--map-root-user"],
            "echo 0 > /proc/sys/user/max_uts_namespaces",
            &["-e", &failing(r#"spawn(["true"], #{ns: ["uts"]})"#)],
        ));
        failed_with(&r, "ENOSPC", &["spawn: clone(CLONE_NEWUTS)"]);

        // write id maps: an outside id the parent user namespace (one of
        // the test's own, mapping root alone) does not have.
        let r = output(util::in_unshare(
            &["--user", "--map-root-user"],
            "",
            &[
                "-e",
                &failing(r#"spawn(["true"], #{ns: ["user"], uid_map: [[0, 5, 1]]})"#),
            ],
        ));
        failed_with(&r, "EPERM", &["write id maps", "uid_map"]);

        // time namespace: a monotonic clock that would go negative.
        let r = eval(&failing(
            r#"spawn(["true"], #{ns: ["time"], time_offsets: #{monotonic: -1000000000000}})"#,
        ));
        failed_with(&r, "ERANGE", &["time namespace", "timens_offsets"]);

        // chdir and exec.
        let r = eval(&failing(r#"spawn(["true"], #{cwd: "/no/such/dir"})"#));
        failed_with(&r, "ENOENT", &["chdir(\"/no/such/dir\")"]);
        let r = eval(&failing(r#"spawn(["/no/such/program"])"#));
        failed_with(&r, "ENOENT", &["exec", "/no/such/program"]);

        // set up stdio: /dev/null is read-only in nsscript's mount
        // namespace (an outer one of the test's own).
        let dir = Scratch::new("stdio");
        let file = dir.path("null");
        std::fs::write(&file, "").expect("write");
        let r = output(util::in_unshare(
            &["--mount", "--propagation", "private"],
            &format!(
                "mount --bind {file} /dev/null && mount -o remount,bind,ro /dev/null || exit 99"
            ),
            &["-e", &failing(r#"spawn(["true"], #{stdout: "null"})"#)],
        ));
        failed_with(&r, "EROFS", &["set up stdio", "/dev/null"]);

        // mount propagation and mount /proc: nsscript chrooted into a
        // folder that is no mount point (mount(2) on "/" is EINVAL) and
        // has no /proc (ENOENT).
        let root = Scratch::new("chroot");
        std::fs::create_dir_all(root.path("bin")).expect("mkdir");
        std::fs::copy(util::bin(), root.path("bin/nsscript")).expect("copy nsscript");
        let chrooted = |code: &str| {
            output(
                std::process::Command::new("chroot")
                    .args([root.path("").as_str(), "/bin/nsscript", "-e", code])
                    .stdin(std::process::Stdio::null()),
            )
        };
        let r = chrooted(&failing_without_proc(r#"spawn(["/x"], #{ns: ["mount"]})"#));
        failed_with(&r, "EINVAL", &["mount propagation", "MS_REC|MS_PRIVATE"]);
        let r = chrooted(&failing_without_proc(
            r#"spawn(["/x"], #{ns: ["mount", "pid"], propagation: "unchanged", mount_proc: true})"#,
        ));
        failed_with(&r, "ENOENT", &["mount /proc", "\"proc\", \"/proc\""]);

        if !util::unprivileged_userns() {
            eprintln!("SKIP (unprivileged steps): unprivileged user namespaces are disabled here");
            return;
        }
        // setns: uid 65534 may not join a network namespace without its
        // user namespace (it has no CAP_SYS_ADMIN in its own).
        let r = util::eval_as_nobody(&failing_with_holder(
            r#"spawn(["sleep", "60"], #{ns: ["user", "net"], map_root: true})"#,
            r#"spawn(["true"], #{join: #{pid: h.pid, ns: ["net"]}})"#,
        ));
        if let Some(r) = r {
            failed_with(&r, "EPERM", &["setns(", "CLONE_NEWNET"]);
        }
        // unshare after a join: no network namespace left to create in the
        // joined user namespace (its own limit set to 0 from inside).
        let r = util::eval_as_nobody(&failing_with_holder(
            r#"spawn(["sleep", "60"], #{map_root: true})"#,
            r#"enter(h.pid, ["user"], ["sh", "-c", "echo 0 > /proc/sys/user/max_net_namespaces"]);
               spawn(["true"], #{join: #{pid: h.pid, ns: ["user"]}, ns: ["net"]})"#,
        ));
        if let Some(r) = r {
            failed_with(&r, "ENOSPC", &["unshare(CLONE_NEWNET)"]);
        }
        // fork into the pid namespace: RLIMIT_NPROC leaves room for the
        // child (nsscript, the holder and it make 3), not for the process
        // it clones into the new pid namespace.
        let o = output(
            std::process::Command::new("setpriv")
                .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
                .args(["prlimit", "--nproc=3", "--"])
                .arg(util::bin())
                .args([
                    "-e",
                    &failing_with_holder(
                        r#"spawn(["sleep", "60"], #{map_root: true})"#,
                        r#"spawn(["true"], #{join: #{pid: h.pid, ns: ["user"]}, ns: ["pid"]})"#,
                    ),
                ])
                .current_dir("/")
                .stdin(std::process::Stdio::null()),
        );
        failed_with(
            &o,
            "EAGAIN",
            &["fork into the pid namespace", "CLONE_PARENT"],
        );
    });
}

/// A join followed by new namespaces: they belong to the joined user
/// namespace (namespaces()'s owner, and util-linux lsns's ONS column as a
/// witness), and the command is in the joined pid namespace, a child of
/// nsscript whose exit status (or signal) is the command's own.
#[test]
fn joined_then_created_namespaces_belong_to_the_joined_user_namespace() {
    guarded(|| {
        let r = eval(
            r#"let h = spawn(["sleep", "60"], #{ns: ["user", "pid"], map_root: true});
               let p = spawn(["sleep", "60"], #{join: #{pid: h.pid, ns: ["user", "pid"]}, ns: ["net"]});
               let net = namespaces(#{pid: p.pid, type: "net"})[0];
               let user = namespaces(#{pid: h.pid, type: "user"})[0];
               print(`owner ${net.owner == user.inode}`);
               let ons = run(["lsns", "-n", "-o", "ONS", "-t", "net", "-p", `${p.pid}`]).stdout;
               ons.trim();
               print(`lsns ${ons == `${user.inode}`}`);
               print(`nspid ${p.nspid.len()} ${p.nspid[-1] != 1}`);
               print(`pidns ${p.ns_id("pid") == ns_id(h.pid, "pid")}`);
               p.kill(); print(`killed ${p.wait()}`);
               let e = enter(h.pid, ["pid", "user"], ["sh", "-c", "kill -TERM $$"]);
               print(`enter ${e.code}`);"#,
        );
        r.ok();
        assert_eq!(
            r.lines(),
            [
                "owner true",
                "lsns true",
                "nspid 2 true",
                "pidns true",
                "killed 137",
                "enter 143"
            ]
        );
    });
}
