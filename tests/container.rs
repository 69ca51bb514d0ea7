//! Containers: spawn's root options, `import "container"`, the container
//! demo and oci-run.rhai, through the real binary on the real kernel. The
//! witnesses are the host's own view (/proc/PID/root listed with `ls`,
//! `readlink` of namespace links, /proc/1/mountinfo before, during and
//! after), and runc running the same OCI bundle.

use crate::util::{
    self, child_pids, cmdline, descendants, dies, eventually, guarded, proc_state, status_field,
    which, Live, Run, Scratch,
};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The applets every busybox root here gets.
const APPLETS: &[&str] = &[
    "sh", "ls", "cat", "echo", "hostname", "id", "mount", "ps", "grep", "sleep", "tr", "seq",
    "touch", "readlink", "sort", "head", "stat",
];

/// A static busybox, or None after saying why there is none.
fn busybox() -> Option<PathBuf> {
    for p in ["/usr/bin/busybox", "/bin/busybox"] {
        if Path::new(p).exists() {
            return Some(PathBuf::from(p));
        }
    }
    eprintln!("SKIP: no busybox (the CI installs busybox-static)");
    None
}

/// A busybox root in `dir`: bin/busybox and a link per applet, owned by
/// `owner` (65534 for unprivileged tests, which must create mount points).
fn busybox_root(dir: &Path, owner: u32) -> Option<String> {
    let bb = busybox()?;
    std::fs::create_dir_all(dir.join("bin")).expect("mkdir bin");
    std::fs::copy(&bb, dir.join("bin/busybox")).expect("copy busybox");
    for a in APPLETS {
        std::os::unix::fs::symlink("busybox", dir.join("bin").join(a)).expect("symlink applet");
    }
    if owner != 0 {
        util::sh(&format!("chown -R {owner}:{owner} {}", dir.display()));
    }
    Some(dir.to_string_lossy().into_owned())
}

/// Whether uid 65534 can be used here, saying why not.
fn can_drop_to_nobody() -> bool {
    if !util::is_root() {
        eprintln!("SKIP: not root, cannot setpriv to 65534");
        return false;
    }
    if which("setpriv").is_none() {
        eprintln!("SKIP: setpriv (util-linux) is not installed");
        return false;
    }
    if !util::unprivileged_userns() {
        eprintln!("SKIP: unprivileged user namespaces are disabled here");
        return false;
    }
    true
}

/// nsscript ARGS as uid/gid 65534, in `cwd`.
fn nobody(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Command {
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(util::bin())
        .args(args)
        .envs(env.iter().copied())
        .current_dir(cwd)
        .stdin(Stdio::null());
    c
}

/// The host's mount table as the guard sees it (pid 1's, without ids).
fn host_mounts() -> String {
    let mut v: Vec<String> = std::fs::read_to_string("/proc/1/mountinfo")
        .unwrap_or_default()
        .lines()
        .map(|l| l.split_whitespace().skip(2).collect::<Vec<_>>().join(" "))
        .collect();
    v.sort();
    v.join("\n")
}

/// The lines after `== name ==` up to the next heading.
fn section(out: &str, name: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut inside = false;
    for l in out.lines() {
        if let Some(h) = l.strip_prefix("== ").and_then(|h| h.strip_suffix(" ==")) {
            inside = h == name;
        } else if inside {
            found.push(l.to_string());
        }
    }
    found
}

// ---------------------------------------------------------------------------
// the container demo
// ---------------------------------------------------------------------------

/// The demo checks itself; here its words are held against the host's
/// tools while its shell is alive: the test drives `-i`'s shell through
/// its stdin and looks at the same process from outside.
fn demo_against_the_host(as_nobody: bool) {
    let before = host_mounts();
    let c = if as_nobody {
        nobody(&["demo/container.rhai", "-i"], Path::new("/"), &[])
    } else {
        let mut c = util::cmd();
        c.args(["demo/container.rhai", "-i"]);
        c
    };
    let mut s = Live::start(c);
    let copied = s.line("host:   ", 20);
    let root = copied
        .split_once(" copied into ")
        .and_then(|(_, r)| r.split_once("/bin, with links"))
        .map(|(r, _)| r.to_string())
        .unwrap_or_else(|| panic!("where is the root? {copied}"));
    assert!(root.starts_with("/tmp/nsscript-container."), "{root}");
    s.line("  exit", 20);
    s.send("echo '== hostname =='; hostname; echo '== pid =='; echo $$; echo '== ls / =='; ls /; echo '== ls /dev =='; ls /dev; echo '== pid 1 =='; cat /proc/1/comm; tr '\\0' ' ' < /proc/1/cmdline; echo; echo '== mounts =='; cat /proc/self/mountinfo; echo '== end =='\n");
    s.line("== end ==", 20);
    let out = s.seen.join("\n");

    // The shell as the host sees it: nsscript -> init -> sh. The init is a
    // program of its own, from a sealed memfd: its command line is its
    // own options and the command's, nothing of nsscript's.
    let nss = s.pid();
    let init = *child_pids(nss).first().expect("the init under nsscript");
    let shell = *child_pids(init).first().expect("the shell under init");
    assert_eq!(status_field(init, "Name"), "nsscript-init");
    let init_cmdline = cmdline(init);
    assert!(
        init_cmdline.starts_with("nsscript-init --setup ") && init_cmdline.ends_with(" -- sh"),
        "{init_cmdline}"
    );
    assert_ne!(init_cmdline, cmdline(nss));
    assert_eq!(
        util::sh(&format!("readlink /proc/{init}/exe")).trim(),
        "/memfd:nsscript-init (deleted)"
    );
    assert_eq!(cmdline(shell), "sh");
    assert_eq!(
        status_field(init, "NSpid").split(' ').next_back(),
        Some("1")
    );
    assert_eq!(
        status_field(shell, "NSpid").split(' ').next_back(),
        Some("2")
    );
    assert_eq!(section(&out, "pid"), vec!["2".to_string()]);
    let pid1 = section(&out, "pid 1");
    assert_eq!(pid1.len(), 2, "{pid1:?}");
    assert_eq!(pid1[0], "nsscript-init");
    assert_eq!(pid1[1].trim(), init_cmdline);

    // ls / inside is what `ls` of the folder, and of /proc/PID/root,
    // shows from the host.
    let inside: Vec<String> = section(&out, "ls /");
    let host_ls = util::sh(&format!("ls {root}"));
    let via_proc = util::sh(&format!("ls /proc/{shell}/root/"));
    assert_eq!(inside.join("\n") + "\n", host_ls);
    assert_eq!(via_proc, host_ls);
    assert_eq!(inside, ["bin", "dev", "proc"]);
    let dev = util::sh(&format!("ls /proc/{shell}/root/dev/"));
    assert_eq!(section(&out, "ls /dev").join("\n") + "\n", dev);
    assert_eq!(
        dev.split_whitespace().collect::<Vec<_>>(),
        [
            "fd", "full", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout",
            "tty", "urandom", "zero"
        ]
    );

    // Its own namespaces, by readlink; its hostname by util-linux nsenter.
    for kind in ["mnt", "uts", "pid", "ipc", "net", "user", "cgroup"] {
        let theirs = util::sh(&format!("readlink /proc/{shell}/ns/{kind}"));
        let ours = util::sh(&format!("readlink /proc/self/ns/{kind}"));
        assert_ne!(theirs, ours, "{kind}");
    }
    assert_eq!(section(&out, "hostname"), ["box.container"]);
    let their_name = util::sh(&format!("nsenter --target {shell} --uts hostname"));
    assert_eq!(their_name.trim(), "box.container");

    // Its mount table: the same as the host reads in /proc/PID/mountinfo,
    // with / on the folder; the host's own is untouched.
    let theirs = std::fs::read_to_string(format!("/proc/{shell}/mountinfo")).expect("mountinfo");
    let inside_mounts = section(&out, "mounts");
    assert_eq!(inside_mounts.join("\n") + "\n", theirs);
    let slash = inside_mounts
        .iter()
        .find(|l| l.split_whitespace().nth(4) == Some("/"))
        .expect("a / mount");
    assert!(
        slash
            .split_whitespace()
            .nth(3)
            .is_some_and(|r| r.ends_with("/root")),
        "{slash}"
    );
    assert_eq!(
        host_mounts(),
        before,
        "the host's mount table changed while the container ran"
    );
    assert!(Path::new(&root).exists());

    s.send("exit 5\n");
    let r = s.finish();
    r.expect_code(5);
    assert!(
        r.stdout.contains("the host's mount table is unchanged"),
        "{}",
        r.stdout
    );
    assert!(!Path::new(&root).exists(), "{root} left behind");
    assert!(!Path::new(root.trim_end_matches("/root")).exists());
    assert_eq!(host_mounts(), before);
    assert!(dies(&shell.to_string()));
}

#[test]
fn container_demo_agrees_with_ls_readlink_proc_and_mountinfo() {
    guarded(|| {
        if busybox().is_none() {
            return;
        }
        let r = util::run(&["demo/container.rhai"]);
        r.ok();
        assert!(r.stdout.contains("verdict: isolated"), "{}", r.stdout);
        assert!(!r.stdout.contains("FAIL"), "{}", r.stdout);
        demo_against_the_host(false);
    });
}

#[test]
fn container_demo_as_uid_65534() {
    guarded(|| {
        if busybox().is_none() || !can_drop_to_nobody() {
            return;
        }
        let r = util::output(nobody(&["demo/container.rhai"], Path::new("/"), &[]));
        r.ok();
        assert!(r.stdout.contains("as uid 65534"), "{}", r.stdout);
        assert!(r.stdout.contains("verdict: isolated"), "{}", r.stdout);
        demo_against_the_host(true);
    });
}

// ---------------------------------------------------------------------------
// init through spawn
// ---------------------------------------------------------------------------

#[test]
fn init_passes_every_exit_code_and_signal_deaths_through() {
    guarded(|| {
        let r = util::eval(
            r#"let codes = [];
               for i in 0..256 {
                   let r = run(["sh", "-c", `exit ${i}`], #{ns: ["pid"], init: true});
                   if r.stdout != "" || r.stderr != "" { print(`output ${i}: ${r}`); }
                   codes.push(r.code);
               }
               print(`codes ${codes}`);
               for sig in ["TERM", "USR1", "USR2"] {
                   let p = spawn(["sleep", "100"], #{ns: ["pid"], init: true});
                   // The command is running behind init before the signal goes.
                   let kids = "";
                   while kids == "" { sleep(5); kids = read_file(`/proc/${p.pid}/task/${p.pid}/children`); kids.trim(); }
                   let kid = parse_int(kids);
                   let ns = read_file(`/proc/${kid}/status`).split("\n").filter(|l| l.starts_with("NSpid"))[0];
                   let init_ns = p.nspid[1];
                   p.kill(sig);
                   print(`${sig} ${p.wait()} ${init_ns} ${ns.split()[2]} ${exists(`/proc/${kid}`)}`);
               }"#,
        );
        r.ok();
        let want: Vec<String> = (0..256).map(|i| i.to_string()).collect();
        assert_eq!(
            r.lines()[0],
            format!("codes [{}]", want.join(", ")),
            "{}",
            r.stdout
        );
        // 128+n; init is pid 1 and the command pid 2 behind it.
        assert_eq!(
            &r.lines()[1..],
            [
                "TERM 143 1 2 false",
                "USR1 138 1 2 false",
                "USR2 140 1 2 false"
            ]
        );
    });
}

#[test]
fn init_reaps_a_hundred_orphans_and_a_missing_program_is_an_error() {
    guarded(|| {
        let mut s = Live::start(util::cmd().args([
            "-e",
            r#"let p = spawn(["sh", "-c", "for i in $(seq 100); do (sleep 0.3 &); done; echo spawned; exec sleep 100"],
                             #{ns: ["pid", "mount"], mount_proc: true, init: true, stdout: "inherit"});
               print(`init ${p.pid}`);
               p.wait();"#,
        ]));
        let init: i32 = s.line("init ", 10).parse().expect("init pid");
        s.line("spawned", 10);
        // The orphans went to init, the namespace's reaper; once they have
        // ended none is left a zombie, and init has only the command.
        let reaped = eventually(10, || {
            let kids = child_pids(init);
            kids.len() == 1 && cmdline(kids[0]) == "sleep 100"
        });
        let kids = child_pids(init);
        let zombies: Vec<i32> = descendants(init)
            .into_iter()
            .filter(|p| proc_state(&p.to_string()) == Some('Z'))
            .collect();
        assert!(reaped, "init still has {kids:?}; zombies {zombies:?}");
        assert!(zombies.is_empty(), "{zombies:?}");
        util::signal(s.pid(), libc::SIGTERM);
        assert_eq!(s.finish().code, 143);

        // A program the init cannot start is the same error as without
        // an init: the init reports it on the setup's pipe.
        let dir = Scratch::new("init126");
        let plain = dir.path("plain");
        std::fs::write(&plain, "not a program\n").expect("write");
        let r = util::eval(&format!(
            r#"for cmd in ["no-such-program-here", "{plain}"] {{
                   for init in [true, false] {{
                       try {{
                           run([cmd], #{{ns: ["pid"], init: init}});
                           print("ran");
                       }} catch (e) {{
                           print(`${{init}} ${{e.errno}} ${{e.hint}}`);
                       }}
                   }}
               }}"#
        ));
        r.ok();
        assert_eq!(
            r.lines(),
            [
                "true ENOENT no program named \"no-such-program-here\" in PATH",
                "false ENOENT no program named \"no-such-program-here\" in PATH",
                "true EACCES the file is not executable, or a directory on its path is not searchable",
                "false EACCES the file is not executable, or a directory on its path is not searchable",
            ]
        );
    });
}

/// USR1 to init: with `init: #{pgroup: true}` the command's whole process
/// group gets it (the shell's two sleeps die), without only the command
/// (the sleeps live on).
#[test]
fn init_forwards_to_the_process_group_when_asked() {
    guarded(|| {
        for (init, sleeps_left) in [("#{pgroup: true}", 0), ("true", 2)] {
            let mut s = Live::start(util::cmd().args([
                "-e",
                &format!(
                    r#"let p = spawn(["sh", "-c", "trap 'echo usr1' USR1; sleep 100 & sleep 100 & echo started; wait; wait"],
                                     #{{ns: ["pid"], init: {init}, stdout: "inherit"}});
                       print(`init ${{p.pid}}`);
                       p.wait();"#
                ),
            ]));
            let init_pid: i32 = s.line("init ", 10).parse().expect("init pid");
            // spawn returns once the shell has exec'd: it may have said so
            // before the script prints the pid.
            if !s.seen.iter().any(|l| l == "started") {
                s.line("started", 10);
            }
            let sh = child_pids(init_pid)[0];
            // Both sleeps have exec'd: before that, a child of the shell
            // still has the shell's trap and would take the signal as sh.
            assert!(eventually(5, || child_pids(sh)
                .iter()
                .filter(|c| cmdline(**c) == "sleep 100")
                .count()
                == 2));
            util::signal(init_pid, libc::SIGUSR1);
            s.line("usr1", 10);
            let left = if sleeps_left == 0 {
                assert!(eventually(5, || child_pids(sh)
                    .iter()
                    .all(|c| proc_state(&c.to_string()).is_none_or(|st| st == 'Z'))));
                0
            } else {
                std::thread::sleep(Duration::from_millis(300));
                child_pids(sh)
                    .iter()
                    .filter(|c| cmdline(**c) == "sleep 100")
                    .count()
            };
            assert_eq!(left, sleeps_left, "init: {init}");
            if sleeps_left == 0 {
                // Nothing left to wait for: the shell, init and the script end.
                assert_eq!(s.finish().code, 0);
            } else {
                util::signal(s.pid(), libc::SIGTERM);
                assert_eq!(s.finish().code, 143);
            }
        }
    });
}

/// SIGTERM to nsscript reaches the command, whose trap writes a file
/// before nsscript exits 143: behind init in a pid namespace, and as a
/// plain child.
#[test]
fn sigterm_to_nsscript_runs_the_commands_trap() {
    guarded(|| {
        let dir = Scratch::new("trap");
        for (i, opts) in [r#"#{ns: ["pid"], init: true}"#, "#{}"].iter().enumerate() {
            let file = dir.path(&format!("trapped-{i}"));
            let mut s = Live::start(util::cmd().args([
                "-e",
                &format!(
                    r#"let p = spawn(["sh", "-c", "trap 'echo trapped > {file}; exit 0' TERM; echo ready; sleep 100 & wait"], {opts});
                       p.wait();"#
                ),
            ]));
            s.line("ready", 10);
            util::signal(s.pid(), libc::SIGTERM);
            let r = s.finish();
            assert_eq!(r.code, 143, "{opts}: {}", r.stderr);
            assert_eq!(
                std::fs::read_to_string(&file).unwrap_or_default(),
                "trapped\n",
                "{opts}"
            );
        }
    });
}

// ---------------------------------------------------------------------------
// OCI bundles: oci-run.rhai against runc
// ---------------------------------------------------------------------------

/// What the bundle's process prints: the observations compared.
const OBSERVE: &str = r#"#!/bin/sh
echo "== hostname =="; hostname
echo "== id =="; id
echo "== ls / =="; ls /
echo "== ls /dev =="; ls /dev
echo "== devices =="; cd /dev && stat -c '%n %t:%T' null zero full random urandom tty; cd /
echo "== cmdline =="; tr '\0' ' ' < /proc/1/cmdline; echo
echo "== mount =="; mount
echo "== caps =="; grep Cap /proc/self/status
echo "== nofile =="; ulimit -n
exit 7
"#;

/// The mount table as compared: mount point, type and ro/rw, sorted. Two
/// things differ by design and are left out: runc makes the device nodes
/// with mknod where it may (root without a user namespace) while spawn
/// binds the host's (the same devices: `devices` compares their numbers),
/// so the nodes' own mounts, and the type of a file mask (a bind of that
/// /dev/null), are not compared.
fn mount_view(lines: &[String], masked: &[&str]) -> Vec<String> {
    let nodes = ["null", "zero", "full", "random", "urandom", "tty"].map(|n| format!("/dev/{n}"));
    let mut v: Vec<String> = lines
        .iter()
        .filter_map(|l| {
            // SOURCE on POINT type TYPE (OPTIONS)
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 6 || nodes.contains(&f[2].to_string()) {
                return None;
            }
            let ro = f[5].trim_start_matches('(').split(',').next().unwrap_or("");
            let kind = if masked.contains(&f[2]) && f[4] != "tmpfs" {
                "mask"
            } else {
                f[4]
            };
            let kind = if masked.contains(&f[2]) && ro == "rw" {
                "mask"
            } else {
                kind
            };
            Some(format!("{} {kind} {ro}", f[2]))
        })
        .collect();
    v.sort();
    v
}

const MASKED: &[&str] = &[
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/sys/firmware",
    "/proc/scsi",
];

/// Every observation of a run, normalised for comparison.
fn observations(r: &Run) -> Vec<(String, Vec<String>)> {
    let mut v: Vec<(String, Vec<String>)> = [
        "hostname", "id", "ls /", "ls /dev", "devices", "cmdline", "caps", "nofile",
    ]
    .iter()
    .map(|s| (s.to_string(), section(&r.stdout, s)))
    .collect();
    v.push((
        "mount".into(),
        mount_view(&section(&r.stdout, "mount"), MASKED),
    ));
    v.push(("exit code".into(), vec![r.code.to_string()]));
    v
}

/// A bundle as `runc spec` (or `runc spec --rootless`) writes it, with
/// terminal false and the observing script as its process; owned by
/// `owner`.
fn bundle(dir: &Path, rootless: bool, owner: u32) -> Option<PathBuf> {
    let b = dir.join("bundle");
    std::fs::create_dir_all(&b).expect("mkdir bundle");
    busybox_root(&b.join("rootfs"), 0)?;
    let obs = b.join("rootfs/observe.sh");
    std::fs::write(&obs, OBSERVE).expect("write observe.sh");
    util::sh(&format!("chmod 755 {}", obs.display()));
    if owner != 0 {
        util::sh(&format!("chown -R {owner}:{owner} {}", b.display()));
    }
    let mut spec = Command::new("setpriv");
    spec.args([
        &format!("--reuid={owner}"),
        &format!("--regid={owner}"),
        "--clear-groups",
        "runc",
        "spec",
    ]);
    if rootless {
        spec.arg("--rootless");
    }
    let o = spec.current_dir(&b).output().expect("runc spec");
    assert!(
        o.status.success(),
        "runc spec: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let path = b.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("config.json")).expect("json");
    config["process"]["terminal"] = false.into();
    config["process"]["args"] = serde_json::json!(["/observe.sh"]);
    std::fs::write(&path, serde_json::to_string_pretty(&config).expect("json")).expect("write");
    Some(b)
}

fn have_runc() -> bool {
    if which("runc").is_none() {
        eprintln!("SKIP: runc is not installed (the CI installs it)");
        return false;
    }
    true
}

/// Every cgroup (a folder in any hierarchy under /sys/fs/cgroup): what
/// must not change.
fn cgroup_tree() -> String {
    Command::new("find")
        .args(["/sys/fs/cgroup", "-type", "d"])
        .output()
        .map(|o| {
            let mut v: Vec<String> = String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(str::to_string)
                .collect();
            v.sort();
            v.join("\n")
        })
        .unwrap_or_default()
}

/// As root, runc would make a cgroup for the container. It runs here in a
/// mount namespace of its own whose cgroup hierarchies are read-only, with
/// --rootless true (cgroup errors ignored, as for a user without rights):
/// it can create, join and write nothing.
fn runc_as_root(b: &Path, state: &Path) -> Run {
    let script = format!(
        "for d in $(awk '$5 ~ \"^/sys/fs/cgroup\" {{print $5}}' /proc/self/mountinfo); do \
         mount -o remount,ro,bind \"$d\" || exit 99; done; \
         exec runc --rootless true --root {} run --bundle {} oci-test",
        state.display(),
        b.display()
    );
    util::output(
        Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .stdin(Stdio::null()),
    )
}

fn compare(runc: &Run, ours: &Run) {
    let (a, b) = (observations(runc), observations(ours));
    for ((what, theirs), (_, mine)) in a.iter().zip(&b) {
        assert_eq!(
            theirs, mine,
            "{what} differs\n--- runc\n{}\n{}\n--- oci-run.rhai\n{}\n{}",
            runc.stdout, runc.stderr, ours.stdout, ours.stderr
        );
    }
    assert_eq!(runc.code, 7);
    assert_eq!(section(&ours.stdout, "hostname"), ["runc"]);
    assert_eq!(section(&ours.stdout, "cmdline"), ["/bin/sh /observe.sh "]);
}

#[test]
fn oci_bundle_under_runc_and_oci_run_as_root() {
    guarded(|| {
        if !util::is_root() || !have_runc() {
            if !util::is_root() {
                eprintln!("SKIP: not root");
            }
            return;
        }
        let dir = Scratch::new("oci-root");
        let Some(b) = bundle(&dir.0, false, 0) else {
            return;
        };
        let cgroups = cgroup_tree();
        let runc = runc_as_root(&b, &dir.0.join("state"));
        if runc.code == 99 {
            eprintln!(
                "SKIP: cannot make the cgroup hierarchies read-only for runc here: {}",
                runc.stderr
            );
            return;
        }
        // runc's default spec has a device rule: a cgroup setting, refused
        // unless ignored on purpose.
        let refused = util::run(&["oci-run.rhai", &b.to_string_lossy()]);
        refused.expect_code(1);
        assert!(
            refused.stderr.contains("linux.resources is not supported")
                && refused.stderr.contains("--ignore linux.resources"),
            "{}",
            refused.stderr
        );
        let ours = util::run(&[
            "oci-run.rhai",
            "--ignore",
            "linux.resources",
            &b.to_string_lossy(),
        ]);
        assert!(
            ours.stderr.contains("ignoring linux.resources"),
            "{}",
            ours.stderr
        );
        compare(&runc, &ours);
        assert_eq!(section(&ours.stdout, "id"), ["uid=0 gid=0"]);
        assert_eq!(cgroup_tree(), cgroups, "/sys/fs/cgroup changed");
    });
}

#[test]
fn oci_rootless_bundle_under_runc_and_oci_run_as_uid_65534() {
    guarded(|| {
        if !can_drop_to_nobody() || !have_runc() {
            return;
        }
        let dir = Scratch::new("oci-rootless");
        util::sh(&format!("chmod 755 {}", dir.0.display()));
        let Some(b) = bundle(&dir.0, true, 65534) else {
            return;
        };
        let xdg = dir.0.join("xdg");
        std::fs::create_dir_all(&xdg).expect("mkdir xdg");
        util::sh(&format!("chown 65534:65534 {}", xdg.display()));
        let cgroups = cgroup_tree();
        let mut runc = Command::new("setpriv");
        runc.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "runc",
            "--root",
        ])
        .arg(xdg.join("runc"))
        .args(["run", "--bundle"])
        .arg(&b)
        .arg("oci-test")
        .env("XDG_RUNTIME_DIR", &xdg)
        .stdin(Stdio::null());
        let runc = util::output(runc);
        if runc.code != 7 && runc.stdout.is_empty() {
            eprintln!(
                "SKIP: runc cannot run a rootless container here: {}",
                runc.stderr
            );
            return;
        }
        let ours = util::output(nobody(&["oci-run.rhai", &b.to_string_lossy()], &b, &[]));
        compare(&runc, &ours);
        assert_eq!(section(&ours.stdout, "id"), ["uid=0 gid=0"]);
        assert_eq!(cgroup_tree(), cgroups, "/sys/fs/cgroup changed");
    });
}

/// Fields oci-run.rhai cannot honour, or of the wrong type, are errors
/// naming their JSON path before anything runs: the root stays empty.
#[test]
fn oci_fields_of_the_wrong_type_or_unsupported_are_errors_naming_them() {
    guarded(|| {
        let dir = Scratch::new("oci-bad");
        let b = dir.0.join("b");
        std::fs::create_dir_all(b.join("rootfs")).expect("mkdir");
        let base = serde_json::json!({
            "ociVersion": "1.0.2",
            "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "args": ["/bin/sh"], "cwd": "/"},
            "root": {"path": "rootfs"},
            "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]}
        });
        let cases: &[(&str, serde_json::Value, &str)] = &[
            (
                "/process/args",
                serde_json::json!("sh"),
                "process.args: must be an array, not a string",
            ),
            (
                "/process/args",
                serde_json::json!(["sh", 3]),
                "process.args[1]: must be a string, not a number",
            ),
            (
                "/process/user/uid",
                serde_json::json!("0"),
                "process.user.uid: must be a whole number, not a string",
            ),
            (
                "/process/user/gid",
                serde_json::json!(-1),
                "process.user.gid: -1 is not an id",
            ),
            (
                "/process/env",
                serde_json::json!(["NOEQUALS"]),
                "process.env[0]: NOEQUALS is not NAME=VALUE",
            ),
            (
                "/process/cwd",
                serde_json::json!("relative"),
                "process.cwd: relative must be an absolute path",
            ),
            (
                "/process/terminal",
                serde_json::json!(true),
                "process.terminal is not supported",
            ),
            (
                "/process/terminal",
                serde_json::json!("no"),
                "process.terminal: must be a boolean, not a string",
            ),
            (
                "/process/selinuxLabel",
                serde_json::json!("x"),
                "process.selinuxLabel is not supported",
            ),
            (
                "/root/readonly",
                serde_json::json!(1),
                "root.readonly: must be a boolean, not a number",
            ),
            (
                "/hostname",
                serde_json::json!(5),
                "hostname: must be a string, not a number",
            ),
            (
                "/hostname",
                serde_json::json!("h"),
                "hostname: needs a uts namespace",
            ),
            (
                "/mounts",
                serde_json::json!({}),
                "mounts: must be an array, not an object",
            ),
            (
                "/mounts",
                serde_json::json!([{"destination": "/x", "type": "nfs"}]),
                "mounts[0].type is not supported: nfs",
            ),
            (
                "/mounts",
                serde_json::json!([{"destination": "x", "type": "tmpfs"}]),
                "mounts[0].destination: x must be an absolute path",
            ),
            (
                "/mounts",
                serde_json::json!([{"destination": "/x", "type": "tmpfs", "options": "ro"}]),
                "mounts[0].options: must be an array, not a string",
            ),
            (
                "/linux/namespaces",
                serde_json::json!([{"type": "bogus"}]),
                "linux.namespaces[0].type: bogus is not a namespace type",
            ),
            (
                "/linux/namespaces",
                serde_json::json!([{"type": "network", "path": "/run/netns/x"}]),
                "linux.namespaces[0].path is not supported",
            ),
            (
                "/linux/uidMappings",
                serde_json::json!([{"containerID": 0, "hostID": 0}]),
                "linux.uidMappings[0].size: is missing",
            ),
            (
                "/linux/resources",
                serde_json::json!({"memory": {"limit": 1000000}}),
                "linux.resources is not supported: nsscript creates no cgroup",
            ),
            (
                "/linux/cgroupsPath",
                serde_json::json!("/x"),
                "linux.cgroupsPath is not supported",
            ),
            (
                "/linux/seccomp",
                serde_json::json!({}),
                "linux.seccomp is not supported",
            ),
            ("/hooks", serde_json::json!({}), "hooks is not supported"),
            (
                "/ociVersion",
                serde_json::json!(1),
                "ociVersion: must be a string, not a number",
            ),
        ];
        for (pointer, value, want) in cases {
            let mut config = base.clone();
            let (parent, key) = pointer.rsplit_once('/').expect("pointer");
            config
                .pointer_mut(if parent.is_empty() { "" } else { parent })
                .and_then(|v| v.as_object_mut())
                .expect("parent object")
                .insert(key.to_string(), value.clone());
            std::fs::write(b.join("config.json"), config.to_string()).expect("write");
            let r = util::run(&["oci-run.rhai", &b.to_string_lossy()]);
            assert_eq!(r.code, 1, "{pointer} = {value}: {}{}", r.stdout, r.stderr);
            assert!(
                r.stderr.contains(&format!("oci-run: {want}")),
                "{pointer} = {value}: {}",
                r.stderr
            );
            assert_eq!(
                std::fs::read_dir(b.join("rootfs")).expect("rootfs").count(),
                0,
                "something ran for {pointer}"
            );
        }
        std::fs::write(b.join("config.json"), "{not json").expect("write");
        let r = util::run(&["oci-run.rhai", &b.to_string_lossy()]);
        assert!(
            r.stderr.contains("oci-run: config.json: not JSON"),
            "{}",
            r.stderr
        );
        let r = util::run(&["oci-run.rhai", &dir.path("nowhere")]);
        assert!(r.stderr.contains("cannot read"), "{}", r.stderr);
        let r = util::run(&["oci-run.rhai"]);
        assert!(r.stderr.contains("BUNDLE is missing"), "{}", r.stderr);
    });
}

/// --init puts nsscript-init in front as pid 1; ARGS replace
/// process.args; the exit code is the process's.
#[test]
fn oci_run_with_init_and_args() {
    guarded(|| {
        let dir = Scratch::new("oci-init");
        let b = dir.0.join("b");
        if busybox_root(&b.join("rootfs"), 0).is_none() {
            return;
        }
        let config = serde_json::json!({
            "ociVersion": "1.0.2",
            "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "args": ["sh", "-c", "exit 9"],
                        "env": ["PATH=/bin"], "cwd": "/"},
            "root": {"path": "rootfs"},
            "hostname": "oci",
            "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}]},
            "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
                       {"destination": "/data", "type": "bind", "source": dir.path("data"), "options": ["rbind", "ro"]}]
        });
        std::fs::create_dir_all(dir.0.join("data")).expect("mkdir");
        std::fs::write(dir.0.join("data/file"), "outside\n").expect("write");
        std::fs::write(b.join("config.json"), config.to_string()).expect("write");
        let bs = b.to_string_lossy().into_owned();
        util::run(&["oci-run.rhai", &bs]).expect_code(9);
        let r = util::run(&[
            "oci-run.rhai",
            "--init",
            &bs,
            "--",
            "sh",
            "-c",
            "cat /proc/1/comm; echo $$; hostname; cat /data/file; touch /data/x || echo read-only; exit 4",
        ]);
        r.expect_code(4);
        assert_eq!(
            r.lines(),
            ["nsscript-init", "2", "oci", "outside", "read-only"]
        );
        assert!(r.stderr.contains("Read-only file system"), "{}", r.stderr);
    });
}

// ---------------------------------------------------------------------------
// import "container", unprivileged
// ---------------------------------------------------------------------------

/// As uid 65534: a user namespace with 65534 as root, bind mounts (one
/// writable, one read-only), a fresh proc, a devpts of its own.
#[test]
fn an_unprivileged_container_with_binds_proc_and_devpts() {
    guarded(|| {
        if !can_drop_to_nobody() {
            return;
        }
        let dir = Scratch::new("unpriv");
        util::sh(&format!("chmod 755 {}", dir.0.display()));
        let Some(root) = busybox_root(&dir.0.join("root"), 65534) else {
            return;
        };
        for d in ["rw", "ro"] {
            std::fs::create_dir_all(dir.0.join(d)).expect("mkdir");
        }
        std::fs::write(dir.0.join("ro/file"), "from the host\n").expect("write");
        util::sh(&format!(
            "chown -R 65534:65534 {0}/rw {0}/ro",
            dir.0.display()
        ));
        let code = format!(
            r#"import "container" as container;
               let r = container::run(#{{rootfs: "{root}", hostname: "unpriv",
                   mounts: [#{{type: "bind", src: "{rw}", dst: "/rw"}},
                            #{{type: "bind", src: "{ro}", dst: "/ro", readonly: true}},
                            #{{type: "tmpfs", dst: "/tmp", size: "1m"}}],
                   cmd: ["sh", "-c", "id -u; echo written > /rw/out; cat /ro/file; touch /ro/x 2>/dev/null || echo ro-refused; ls /proc | grep -c '^[0-9]'; ls /dev/pts; cat /proc/self/uid_map; cat /proc/self/mountinfo"]}});
               print(r.stdout); print(r.stderr); exit(r.code);"#,
            rw = dir.path("rw"),
            ro = dir.path("ro"),
        );
        let r = util::output(nobody(&["-e", &code], Path::new("/"), &[]));
        r.ok();
        let l = r.lines();
        assert_eq!(l[0], "0", "{l:?}");
        assert_eq!(l[1], "from the host");
        assert_eq!(l[2], "ro-refused");
        let procs: usize = l[3].parse().expect("a count");
        assert!((2..10).contains(&procs), "{procs}");
        assert_eq!(l[4], "ptmx");
        assert_eq!(
            l[5].split_whitespace().collect::<Vec<_>>(),
            ["0", "65534", "1"]
        );
        // mountinfo: the mount point is field 5, the type follows " - ".
        let mut kinds: Vec<String> = l[6..]
            .iter()
            .filter_map(|m| {
                let point = m.split_whitespace().nth(4)?;
                let fstype = m.split(" - ").nth(1)?.split_whitespace().next()?;
                ["/rw", "/ro", "/tmp", "/proc", "/dev/pts"]
                    .contains(&point)
                    .then(|| format!("{point} {fstype}"))
            })
            .collect();
        kinds.sort();
        let bound = util::sh(&format!("stat -f -c %T {}", dir.path("rw")));
        let fs = if bound.trim() == "ext2/ext3" {
            "ext4".to_string()
        } else {
            bound.trim().to_string()
        };
        assert_eq!(
            kinds,
            [
                "/dev/pts devpts".to_string(),
                "/proc proc".into(),
                format!("/ro {fs}"),
                format!("/rw {fs}"),
                "/tmp tmpfs".into()
            ]
        );
        assert_eq!(
            std::fs::read_to_string(dir.0.join("rw/out")).unwrap_or_default(),
            "written\n"
        );
        assert!(!dir.0.join("ro/x").exists());
    });
}

// ---------------------------------------------------------------------------
// the host's mount table, and bad input
// ---------------------------------------------------------------------------

/// Bad input is an error before anything runs: the root stays as it was
/// (no mount point made in it) and the host's mount table too.
#[test]
fn bad_container_input_is_an_error_before_anything_runs() {
    guarded(|| {
        let dir = Scratch::new("badinput");
        let root = dir.0.join("root");
        std::fs::create_dir_all(root.join("etc")).expect("mkdir");
        std::os::unix::fs::symlink("/etc", root.join("out")).expect("symlink");
        std::os::unix::fs::symlink("../../../../..", root.join("etc/up")).expect("symlink");
        let r = root.to_string_lossy().into_owned();
        let before = host_mounts();
        let cases: &[(&str, &str)] = &[
            (
                r#"#{root: "NOWHERE"}"#,
                r#"ENOENT (No such file or directory): root "NOWHERE" cannot be used"#,
            ),
            (
                r#"#{root: "ROOT", mounts: [#{type: "tmpfs", dst: "/a/../../x"}]}"#,
                r#"has a "..": a target may not climb out of the root"#,
            ),
            (
                r#"#{root: "ROOT", mounts: [#{type: "tmpfs", dst: "/out/x"}]}"#,
                "which points out of the root",
            ),
            (
                r#"#{root: "ROOT", mounts: [#{type: "tmpfs", dst: "/etc/up/x"}]}"#,
                "climbs out of the root",
            ),
            (
                r#"#{root: "ROOT", mounts: [#{type: "nfs", dst: "/x"}]}"#,
                r#"unknown mount type "nfs""#,
            ),
            (
                r#"#{root: "ROOT", mounts: [#{type: "tmpfs", dst: "/x", size: "12q"}]}"#,
                "size \"12q\" makes no sense",
            ),
            (
                r#"#{root: "ROOT", mounts: [#{type: "tmpfs", dst: "/x", size: 0}]}"#,
                "size 0 makes no sense",
            ),
            (
                r#"#{root: "ROOT", mounts: [#{type: "tmpfs", dst: "/x", size: "-5m"}]}"#,
                "makes no sense",
            ),
            (
                r#"#{root: "ROOT", init: true}"#,
                "init is the PID 1 of a new pid namespace: it needs one",
            ),
            (
                r#"#{root: "ROOT", ns: ["pid"], capabilities: ["CAP_FLY"]}"#,
                r#""CAP_FLY" is not a capability"#,
            ),
            (
                r#"#{root: "ROOT", ns: ["pid"], rlimits: #{nofile: [10, 5]}}"#,
                "soft limit 10 is above the hard limit 5",
            ),
            (
                r#"#{root: "ROOT", ns: ["pid"], rlimits: #{files: 5}}"#,
                "rlimits.files: not a resource",
            ),
        ];
        for (opts, want) in cases {
            let opts = opts
                .replace("NOWHERE", &dir.path("nowhere"))
                .replace("ROOT", &r);
            let out = util::eval(&format!(
                r#"try {{ spawn(["/bin/true"], {opts}); print("spawned"); }} catch (e) {{ print(`error ${{e.message}}`); }}"#
            ));
            out.ok();
            let line = out.lines().join(" ");
            let want = want.replace("NOWHERE", &dir.path("nowhere"));
            assert!(
                line.starts_with("error ") && line.contains(&want),
                "{opts}: {line}"
            );
            let mut made: Vec<String> = std::fs::read_dir(&root)
                .expect("root")
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            made.sort();
            assert_eq!(made, ["etc", "out"], "{opts} made something in the root");
            assert_eq!(host_mounts(), before);
        }
        // The module names its valid keys.
        let out = util::eval(&format!(
            r#"import "container" as c; c::run(#{{rootfs: "{r}", cmd: "true", volume: "/x"}})"#
        ));
        assert_eq!(out.code, 1);
        assert!(
            out.stderr
                .contains("container::run: unknown key volume; valid keys: cmd, cwd,"),
            "{}",
            out.stderr
        );
    });
}

/// A setup that fails half-way (a mount of the root's fails after others
/// were made) leaves no process and no mount; and nsscript SIGKILLed while
/// its child is stuck after pivot_root takes the child along, the host's
/// table untouched. The child is held by a FIFO the plan opens late: the
/// root's /proc/self/timens_offsets (there is no proc mounted over it).
#[test]
fn the_host_mount_table_survives_failure_and_sigkill_mid_setup() {
    guarded(|| {
        let dir = Scratch::new("midsetup");
        let Some(root) = busybox_root(&dir.0.join("root"), 0) else {
            return;
        };
        let before = host_mounts();
        let r = util::eval(&format!(
            r#"try {{
                   spawn(["true"], #{{root: "{root}", ns: ["pid"], dev: "minimal",
                       mounts: [#{{type: "tmpfs", dst: "/a"}}, #{{type: "tmpfs", dst: "/b", options: ["nr_inodes=x"]}}]}});
               }} catch (e) {{ print(`error ${{e.message}}`); }}
               print(`children [${{read_file(`/proc/${{pid()}}/task/${{pid()}}/children`).trim()}}]`);"#
        ));
        r.ok();
        assert!(
            r.lines()[0].starts_with("error spawn: mount"),
            "{:?}",
            r.lines()
        );
        assert!(r.lines()[0].contains("/b"), "{:?}", r.lines());
        assert_eq!(r.lines()[1], "children []");
        assert_eq!(host_mounts(), before);

        std::fs::create_dir_all(dir.0.join("root/proc/self")).expect("mkdir");
        util::sh(&format!("mkfifo {}/proc/self/timens_offsets", root));
        let mut s = Live::start(util::cmd().args([
            "-e",
            &format!(
                r#"print("starting");
                   spawn(["true"], #{{root: "{root}", ns: ["user", "pid", "time"], map_root: true, dev: "minimal",
                       mounts: [#{{type: "tmpfs", dst: "/tmp"}}], time_offsets: #{{monotonic: 60}}}}).wait();"#
            ),
        ]));
        s.line("starting", 10);
        let nss = s.pid();
        let mut stuck = 0;
        assert!(
            eventually(10, || {
                descendants(nss).into_iter().any(|p| {
                    let wchan =
                        std::fs::read_to_string(format!("/proc/{p}/wchan")).unwrap_or_default();
                    let found = wchan.contains("partner") || wchan.contains("fifo");
                    if found {
                        stuck = p;
                    }
                    found
                })
            }),
            "no child got stuck on the FIFO"
        );
        // Mid-setup: its root is pivoted, its /dev and /tmp mounted.
        let theirs =
            std::fs::read_to_string(format!("/proc/{stuck}/mountinfo")).unwrap_or_default();
        let points: Vec<&str> = theirs
            .lines()
            .filter_map(|l| l.split_whitespace().nth(4))
            .collect();
        assert!(
            points.contains(&"/dev") && points.contains(&"/tmp"),
            "{theirs}"
        );
        assert_eq!(host_mounts(), before);
        util::signal(nss, libc::SIGKILL);
        assert_eq!(s.finish().code, 137);
        assert!(dies(&stuck.to_string()), "the child outlived nsscript");
        assert_eq!(host_mounts(), before);
    });
}

// ---------------------------------------------------------------------------
// capabilities, rlimits, container::spawn
// ---------------------------------------------------------------------------

/// The bounding set and the limits a spawn asks for, as the host reads
/// them in /proc/PID/status and util-linux prlimit; and container::spawn
/// (a module's own `spawn`, a reserved word elsewhere) returns the init's
/// Process, which passes TERM on.
#[test]
fn capabilities_and_rlimits_as_the_host_sees_them() {
    guarded(|| {
        if which("prlimit").is_none() {
            eprintln!("SKIP: prlimit (util-linux) is not installed");
            return;
        }
        let mut s = Live::start(util::cmd().args([
            "-e",
            r#"let p = spawn(["sleep", "100"], #{ns: ["pid"], capabilities: ["CAP_KILL", "net_bind_service"],
                                                rlimits: #{nofile: [100, 200], core: 0}, trace: true});
               for t in p.trace { if t.contains("prlimit64") || t.contains("CAP_SYS_ADMIN") { print(t); } }
               print(`pid ${p.pid}`);
               p.wait();"#,
        ]));
        let pid: i32 = s.line("pid ", 10).parse().expect("pid");
        assert_eq!(status_field(pid, "CapBnd"), "0000000000000420");
        // uid 0 gets the bounding set as its permitted and effective sets.
        assert_eq!(status_field(pid, "CapEff"), "0000000000000420");
        let limits = util::sh(&format!(
            "prlimit --pid {pid} --nofile --core --noheadings --output SOFT,HARD"
        ));
        let limits: Vec<Vec<&str>> = limits
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(limits, [vec!["100", "200"], vec!["0", "0"]]);
        let trace = s.seen.join("\n");
        assert!(
            trace.contains("prlimit64(0, RLIMIT_NOFILE, {rlim_cur=100, rlim_max=200}, NULL) = 0"),
            "{trace}"
        );
        assert!(
            trace.contains("prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN) = 0"),
            "{trace}"
        );
        util::signal(s.pid(), libc::SIGTERM);
        assert_eq!(s.finish().code, 143);

        let dir = Scratch::new("cspawn");
        let Some(root) = busybox_root(&dir.0.join("root"), 0) else {
            return;
        };
        let r = util::eval(&format!(
            r#"import "container" as container;
               let p = container::spawn(#{{rootfs: "{root}", cmd: ["sleep", "100"], stdout: "null"}});
               let ns = p.nspid;
               let kids = "";
               while kids == "" {{ sleep(5); kids = read_file(`/proc/${{p.pid}}/task/${{p.pid}}/children`); kids.trim(); }}
               p.kill("TERM");
               print(`${{ns[1]}} ${{p.wait()}}`);
               let q = spawn(["true"]);
               print(q.wait());"#
        ));
        r.ok();
        assert_eq!(r.lines(), ["1 143", "0"]);
    });
}
