//! The init mode: the real binary started as `nsscript-init` (a symlink of
//! that name), mostly as pid 1 of a new pid namespace made by util-linux
//! `unshare --pid --fork`, observed from the host through /proc, the exit
//! status and what the command itself reports.

use crate::util::{
    self, child_pids, cmdline, descendants, dies, eventually, guarded, proc_state, status_field,
    Live, Next, Run, Scratch,
};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A folder with a symlink named `nsscript-init` to the binary under test.
struct Init {
    dir: Scratch,
    path: String,
}

impl Init {
    fn new(name: &str) -> Init {
        let dir = Scratch::new(&format!("init-{name}"));
        let path = dir.path("nsscript-init");
        std::os::unix::fs::symlink(util::bin(), &path).expect("symlink nsscript-init");
        Init { dir, path }
    }

    /// `unshare --pid --fork --mount-proc nsscript-init ARGS`: init is pid 1
    /// of the new namespace, and the command's /proc shows that namespace.
    fn in_pidns(&self, args: &[&str]) -> Command {
        let mut c = Command::new("unshare");
        c.args(["--pid", "--fork", "--mount-proc", &self.path])
            .args(args)
            .current_dir("/")
            .stdin(Stdio::null());
        c
    }

    /// Makes the folder writable for uid 65534 (files the command writes).
    fn open_to_all(&self) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&self.dir.0, std::fs::Permissions::from_mode(0o777))
            .expect("chmod the scratch folder");
    }
}

/// Whether the tests can make pid namespaces here, saying why not.
fn can_unshare() -> bool {
    if !util::is_root() {
        eprintln!("SKIP: not root, util-linux unshare --pid needs it");
        return false;
    }
    if util::which("unshare").is_none() {
        eprintln!("SKIP: unshare (util-linux) is not installed");
        return false;
    }
    true
}

/// The one child of util-linux unshare (its `--fork` child, which is
/// nsscript-init by the time the command has printed anything).
fn init_of(unshare: i32) -> i32 {
    let kids = child_pids(unshare);
    assert_eq!(kids.len(), 1, "unshare {unshare} has children {kids:?}");
    kids[0]
}

// ---------------------------------------------------------------------------
// exit status
// ---------------------------------------------------------------------------

/// All 256 exit codes, each through its own pid namespace with init as pid
/// 1, in one shell loop (about 5 ms per namespace here).
#[test]
fn every_exit_code_comes_back_from_init_as_pid_1() {
    guarded(|| {
        if !can_unshare() {
            return;
        }
        let init = Init::new("codes");
        let script = format!(
            "i=0; while [ $i -le 255 ]; do unshare --pid --fork {} sh -c 'exit '$i; echo \"$i $?\"; i=$((i+1)); done",
            init.path
        );
        let start = Instant::now();
        let r = Run::from(
            Command::new("sh")
                .args(["-c", &script])
                .stdin(Stdio::null())
                .output()
                .expect("sh"),
        );
        eprintln!("256 namespaces with init: {:?}", start.elapsed());
        r.ok();
        let want: Vec<String> = (0..=255).map(|i| format!("{i} {i}")).collect();
        assert_eq!(r.lines(), want, "stderr: {}", r.stderr);
        assert_eq!(r.stderr, "", "init printed something");
    });
}

/// TERM, USR1 and USR2 sent to init from the host reach the command, which
/// dies of them: init exits 128+n. The command is really behind init: it is
/// pid 2 inside, init's child, while init is pid 1.
#[test]
fn a_signal_sent_to_init_kills_the_command_with_128_plus_n() {
    guarded(|| {
        if !can_unshare() {
            return;
        }
        let init = Init::new("signals");
        for sig in [libc::SIGTERM, libc::SIGUSR1, libc::SIGUSR2] {
            let mut l = Live::start(init.in_pidns(&["sh", "-c", "echo ready $$; exec sleep 1000"]));
            assert_eq!(l.line("ready", 10), "2", "the command is pid 2");
            let pid1 = init_of(l.pid());
            assert_eq!(
                status_field(pid1, "NSpid").split(' ').next_back(),
                Some("1")
            );
            assert!(cmdline(pid1).contains("nsscript-init"), "{}", cmdline(pid1));
            let cmd = child_pids(pid1);
            assert_eq!(cmd.len(), 1, "init's children: {cmd:?}");
            util::signal(pid1, sig);
            let r = l.finish();
            r.expect_code(128 + sig);
            assert!(
                dies(&pid1.to_string()),
                "init outlived the command (signal {sig})"
            );
        }
    });
}

/// Inside its namespace PID 1 ignores signals it has no handler for; init
/// blocks them and takes them with sigwaitinfo, so one sent from inside
/// (`kill -USR2 1` by the command) is forwarded too.
#[test]
fn a_signal_sent_to_pid_1_from_inside_is_forwarded() {
    guarded(|| {
        if !can_unshare() {
            return;
        }
        let init = Init::new("inside");
        let r = util::output(init.in_pidns(&["sh", "-c", "kill -USR2 1; exec sleep 1000"]));
        r.expect_code(128 + libc::SIGUSR2);
    });
}

/// A command that traps TERM writes its file and chooses its own status;
/// init passes that status on.
#[test]
fn a_trap_on_term_runs_and_its_status_comes_back() {
    guarded(|| {
        if !can_unshare() {
            return;
        }
        let init = Init::new("trap");
        let file = init.dir.path("trapped");
        let script =
            format!("trap 'echo trapped $$ > {file}; exit 5' TERM; sleep 1000 & echo ready; wait");
        let mut l = Live::start(init.in_pidns(&["sh", "-c", &script]));
        l.line("ready", 10);
        util::signal(init_of(l.pid()), libc::SIGTERM);
        l.finish().expect_code(5);
        assert_eq!(
            std::fs::read_to_string(&file).unwrap_or_default(),
            "trapped 2\n"
        );
    });
}

/// Init exits as soon as the command is reaped; the kernel then kills what
/// is left in the namespace (a background sleep of the command).
#[test]
fn init_ends_with_the_command_and_the_namespace_goes_with_it() {
    guarded(|| {
        if !can_unshare() {
            return;
        }
        let init = Init::new("ends");
        let mut l =
            Live::start(init.in_pidns(&["sh", "-c", "sleep 1000 & echo ready; read line; exit 3"]));
        l.line("ready", 10);
        let pid1 = init_of(l.pid());
        // The background shell may still be between fork and exec.
        let sleeps = || -> Vec<i32> {
            descendants(pid1)
                .into_iter()
                .filter(|p| cmdline(*p) == "sleep 1000")
                .collect()
        };
        assert!(
            eventually(2, || sleeps().len() == 1),
            "{:?}",
            descendants(pid1)
        );
        let sleeps = sleeps();
        let start = Instant::now();
        l.send("go\n");
        l.finish().expect_code(3);
        let took = start.elapsed();
        assert!(took < Duration::from_secs(2), "init took {took:?} to end");
        assert!(
            dies(&sleeps[0].to_string()),
            "the background sleep survived"
        );
    });
}

// ---------------------------------------------------------------------------
// orphans
// ---------------------------------------------------------------------------

/// 100 `sleep`s orphaned by their shells are adopted by init (pid 1) and
/// reaped as they end, while the command still runs: no zombie stays,
/// neither as the host sees init's children nor in the namespace's /proc.
#[test]
fn a_hundred_orphans_are_reaped_while_the_command_runs() {
    guarded(|| {
        if !can_unshare() {
            return;
        }
        let init = Init::new("orphans");
        let script = "i=0; while [ $i -lt 100 ]; do sh -c 'sleep 2 &'; i=$((i+1)); done; \
                      echo spawned; read line; \
                      echo zombies $(grep -l '^State:.*Z' /proc/[0-9]*/status 2>/dev/null | wc -l); \
                      echo sleeps $(cat /proc/[0-9]*/comm 2>/dev/null | grep -c '^sleep$')";
        let mut l = Live::start(init.in_pidns(&["sh", "-c", script]));
        l.line("spawned", 20);
        let pid1 = init_of(l.pid());
        // The last shells may still be between fork and exec.
        let orphans = || -> Vec<i32> {
            child_pids(pid1)
                .into_iter()
                .filter(|k| cmdline(*k) == "sleep 2")
                .collect()
        };
        assert!(
            eventually(2, || orphans().len() == 100),
            "init's children: {}",
            child_pids(pid1)
                .iter()
                .map(|k| cmdline(*k))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for o in orphans() {
            assert_eq!(
                status_field(o, "PPid"),
                pid1.to_string(),
                "an orphan's parent is init"
            );
            assert_eq!(status_field(o, "NSpid").split(' ').count(), 2);
        }
        // They end within ~2 s; each is reaped as it ends, never left a
        // zombie (a zombie of init's would keep showing among its children).
        let mut worst = 0;
        let gone = eventually(10, || {
            let k = child_pids(pid1);
            let zombies = k
                .iter()
                .filter(|c| proc_state(&c.to_string()) == Some('Z'))
                .count();
            worst = worst.max(zombies);
            k.len() == 1
        });
        assert!(gone, "init still has {:?}", child_pids(pid1));
        let left = child_pids(pid1);
        assert!(
            cmdline(left[0]).starts_with("sh -c"),
            "{}",
            cmdline(left[0])
        );
        assert_ne!(
            proc_state(&left[0].to_string()),
            Some('Z'),
            "the command still runs"
        );
        eprintln!("zombies seen at once among init's children while polling: at most {worst}");
        l.send("go\n");
        let r = l.finish();
        r.ok();
        // Inside, by the namespace's own /proc: no zombie, no sleep left.
        assert!(r.lines().contains(&"zombies 0".to_string()), "{}", r.stdout);
        assert!(r.lines().contains(&"sleeps 0".to_string()), "{}", r.stdout);
    });
}

/// Outside a new pid namespace (not pid 1) init is a child subreaper: an
/// orphan of the command comes to init, not to the host's init, and is
/// reaped.
#[test]
fn init_not_as_pid_1_still_adopts_and_reaps_orphans() {
    guarded(|| {
        let init = Init::new("subreaper");
        let mut c = Command::new(&init.path);
        c.args(["sh", "-c", "sh -c 'sleep 1 &'; echo spawned; read line"])
            .current_dir("/");
        let mut l = Live::start(c);
        l.line("spawned", 10);
        let me = l.pid();
        let sleeping = || -> Vec<i32> {
            child_pids(me)
                .into_iter()
                .filter(|k| cmdline(*k) == "sleep 1")
                .collect()
        };
        assert!(
            eventually(2, || sleeping().len() == 1),
            "init's children: {:?}",
            child_pids(me)
        );
        let orphan = sleeping();
        assert_eq!(status_field(orphan[0], "PPid"), me.to_string());
        assert!(
            eventually(5, || child_pids(me).len() == 1),
            "the orphan was not reaped: {:?}",
            child_pids(me)
        );
        l.send("x\n");
        l.finish().ok();
    });
}

// ---------------------------------------------------------------------------
// forwarding: to the command, or to its process group
// ---------------------------------------------------------------------------

/// USR1 to init: without --pgroup only the command (a shell with a trap)
/// gets it, and its child (another shell with a trap, same process group)
/// does not; with --pgroup both do.
#[test]
fn pgroup_forwards_to_the_whole_group_and_plain_only_to_the_command() {
    guarded(|| {
        if !can_unshare() {
            return;
        }
        let init = Init::new("pgroup");
        let script = r#"trap 'echo cmd got USR1' USR1
            sh -c "trap 'echo child got USR1' USR1; echo child ready; while :; do sleep 0.1; done" &
            echo cmd ready
            while :; do sleep 0.1; done"#;
        for pgroup in [false, true] {
            let mut args = vec![];
            if pgroup {
                args.push("--pgroup");
            }
            args.extend(["sh", "-c", script]);
            let mut l = Live::start(init.in_pidns(&args));
            // Both shells have their traps (in either order).
            assert!(
                eventually(10, || {
                    let _ = l.next(Duration::from_millis(50));
                    ["cmd ready", "child ready"]
                        .iter()
                        .all(|r| l.seen.iter().any(|s| s == r))
                }),
                "{:?}",
                l.seen
            );
            let pid1 = init_of(l.pid());
            util::signal(pid1, libc::SIGUSR1);
            let mut got = vec![];
            let end = Instant::now() + Duration::from_millis(1500);
            while Instant::now() < end {
                if let Next::Line(s) = l.next(Duration::from_millis(100)) {
                    got.push(s);
                }
            }
            got.sort();
            let want: &[&str] = if pgroup {
                &["child got USR1", "cmd got USR1"]
            } else {
                &["cmd got USR1"]
            };
            assert_eq!(got, want, "pgroup: {pgroup}");
            util::signal(pid1, libc::SIGTERM);
            l.finish().expect_code(128 + libc::SIGTERM);
        }
    });
}

/// SIGSEGV, SIGILL, SIGFPE, SIGBUS, SIGABRT, SIGTRAP and SIGSYS sent to
/// init are not forwarded (the command traps each, and reports none), and
/// init survives them; USR1 afterwards still is.
#[test]
fn synchronous_signals_are_never_forwarded() {
    guarded(|| {
        if !can_unshare() {
            return;
        }
        let init = Init::new("sync");
        let script =
            "for s in SEGV ILL FPE BUS ABRT TRAP SYS USR1; do trap \"echo got $s\" $s; done; \
                      echo ready; while :; do sleep 0.1; done";
        let mut l = Live::start(init.in_pidns(&["sh", "-c", script]));
        l.line("ready", 10);
        let pid1 = init_of(l.pid());
        // The command traps each of these by name (above).
        for sig in [
            libc::SIGSEGV,
            libc::SIGILL,
            libc::SIGFPE,
            libc::SIGBUS,
            libc::SIGABRT,
            libc::SIGTRAP,
            libc::SIGSYS,
        ] {
            util::signal(pid1, sig);
        }
        std::thread::sleep(Duration::from_millis(400));
        assert!(
            matches!(proc_state(&pid1.to_string()), Some(s) if s != 'Z'),
            "init died of a synchronous signal"
        );
        util::signal(pid1, libc::SIGUSR1);
        l.line("got USR1", 10);
        assert_eq!(l.next(Duration::from_millis(400)), Next::Timeout);
        let forwarded: Vec<&String> = l.seen.iter().filter(|s| s.starts_with("got ")).collect();
        assert_eq!(forwarded, ["got USR1"]);
        util::signal(pid1, libc::SIGTERM);
        l.finish().expect_code(128 + libc::SIGTERM);
    });
}

// ---------------------------------------------------------------------------
// the command's start: exec failures, signal state, process group, terminal
// ---------------------------------------------------------------------------

/// 127 for a program that does not exist (by PATH or by path), 126 for one
/// that exists and cannot be run, each with one line naming it and the errno.
#[test]
fn exec_failures_are_127_and_126_with_one_line() {
    guarded(|| {
        if !can_unshare() {
            return;
        }
        use std::os::unix::fs::PermissionsExt;
        let init = Init::new("exec");
        let plain = init.dir.path("not-executable");
        std::fs::write(&plain, "#!/bin/sh\necho ran\n").expect("write");
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let dir = init.dir.path("a-folder");
        std::fs::create_dir(&dir).expect("mkdir");
        let enoent = "ENOENT (No such file or directory)";
        let eacces = "EACCES (Permission denied)";
        for (prog, code, errno) in [
            ("nsscript-no-such-program", 127, enoent),
            ("/nonexistent/prog", 127, enoent),
            (plain.as_str(), 126, eacces),
            (dir.as_str(), 126, eacces),
        ] {
            let r = util::output(init.in_pidns(&[prog, "arg"]));
            r.expect_code(code);
            assert_eq!(r.stdout, "");
            assert_eq!(
                r.stderr,
                format!("nsscript-init: cannot run {prog}: {errno}\n"),
                "{prog}"
            );
        }
    });
}

/// The command starts with an empty signal mask, no ignored signals and a
/// process group of its own, although init was started with HUP, INT, QUIT
/// and USR1 ignored (inherited through execve) and runs with every signal
/// blocked. (/proc shows init's SigBlk as 0 while it sits in sigwaitinfo:
/// the kernel unblocks the awaited set for that time.)
#[test]
fn the_command_starts_with_a_clean_signal_state_in_its_own_group() {
    guarded(|| {
        if !can_unshare() {
            return;
        }
        let init = Init::new("clean");
        let script = format!(
            "trap '' HUP INT QUIT USR1; exec unshare --pid --fork --mount-proc {} \
             head -n 100 /proc/self/status /proc/self/stat /proc/1/status /proc/1/stat",
            init.path
        );
        let r = util::output({
            let mut c = Command::new("sh");
            c.args(["-c", &script]).stdin(Stdio::null());
            c
        });
        r.ok();
        // head's sections: "==> FILE <==" then the file.
        let section = |name: &str| -> String {
            let head = format!("==> {name} <==");
            let from = r
                .stdout
                .find(&head)
                .unwrap_or_else(|| panic!("{name}: {}", r.stdout));
            let rest = &r.stdout[from + head.len()..];
            rest[..rest.find("==>").unwrap_or(rest.len())].to_string()
        };
        let field = |text: &str, name: &str| -> String {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}:")))
                .map(|v| v.trim().to_string())
                .unwrap_or_else(|| panic!("no {name} in {text}"))
        };
        let me = section("/proc/self/status");
        let pid1 = section("/proc/1/status");
        assert_eq!(field(&me, "NSpid"), "2", "the command is pid 2");
        assert_eq!(field(&pid1, "Name"), "nsscript-init");
        assert_eq!(field(&me, "SigBlk"), "0000000000000000", "mask");
        assert_eq!(field(&me, "SigIgn"), "0000000000000000", "ignored");
        // Init itself still has them ignored: the reset is init's doing.
        let ign = u64::from_str_radix(&field(&pid1, "SigIgn"), 16).expect("hex");
        for sig in [libc::SIGHUP, libc::SIGINT, libc::SIGQUIT, libc::SIGUSR1] {
            assert_ne!(
                ign & (1 << (sig - 1)),
                0,
                "init's SigIgn {ign:x} lacks {sig}"
            );
        }
        // /proc/PID/stat: pid (comm) state ppid pgrp session ...
        let stat = |name: &str| -> Vec<String> {
            let s = section(name);
            let after = s.rsplit_once(") ").map(|x| x.1).unwrap_or("").to_string();
            let pid = s.split_whitespace().next().unwrap_or("").to_string();
            std::iter::once(pid)
                .chain(after.split_whitespace().map(str::to_string))
                .collect()
        };
        let me = stat("/proc/self/stat");
        let one = stat("/proc/1/stat");
        assert_eq!(
            (me[0].as_str(), me[2].as_str()),
            ("2", "1"),
            "pid 2, child of 1"
        );
        assert_eq!(me[3], "2", "the command leads its own process group");
        assert_ne!(one[3], "2", "init is not in the command's group");
    });
}

/// On a terminal (a pty from util-linux `script`) the command's group is the
/// terminal's foreground group (tpgid), inside a pid namespace and outside;
/// outside, the shell's group gets the terminal back after init ends.
#[test]
fn the_command_gets_the_terminal_and_init_gives_it_back() {
    guarded(|| {
        if !can_unshare() {
            return;
        }
        if util::which("script").is_none() {
            eprintln!("SKIP: script (util-linux) is not installed");
            return;
        }
        let init = Init::new("tty");
        let inner = format!(
            "cat /proc/self/stat; {i} cat /proc/self/stat; cat /proc/self/stat; \
             unshare --pid --fork --mount-proc {i} cat /proc/self/stat",
            i = init.path
        );
        let r = util::output({
            let mut c = Command::new("script");
            c.args(["-q", "-e", "-c", &format!("sh -c '{inner}'"), "/dev/null"])
                .stdin(Stdio::null());
            c
        });
        r.ok();
        // pid, pgrp and tpgid (fields 1, 5 and 8) of each cat.
        let rows: Vec<(String, String, String)> = r
            .stdout
            .lines()
            .filter(|l| l.contains("(cat)"))
            .map(|l| {
                let pid = l.split_whitespace().next().unwrap_or("").to_string();
                let f: Vec<&str> = l
                    .rsplit_once(") ")
                    .map(|x| x.1)
                    .unwrap_or("")
                    .split_whitespace()
                    .collect();
                (pid, f[2].to_string(), f[5].to_string())
            })
            .collect();
        assert_eq!(rows.len(), 4, "{}", r.stdout);
        let (_, shell_group, shell_fg) = &rows[0];
        assert_eq!(shell_group, shell_fg, "the shell's group has the terminal");
        let (pid, group, fg) = &rows[1];
        assert_eq!(
            (group, fg),
            (pid, pid),
            "behind init (subreaper): own group, foreground"
        );
        assert_eq!(
            &rows[2].2, shell_group,
            "the terminal came back to the shell's group"
        );
        let (pid, group, fg) = &rows[3];
        assert_eq!(
            (pid.as_str(), group.as_str(), fg.as_str()),
            ("2", "2", "2"),
            "behind init as pid 1"
        );
    });
}

// ---------------------------------------------------------------------------
// the name, and usage errors
// ---------------------------------------------------------------------------

/// Only the exact basename selects init; usage errors exit 125 with the
/// usage on stderr; --help prints it on stdout.
#[test]
fn the_name_selects_init_and_usage_errors_are_125() {
    guarded(|| {
        let init = Init::new("usage");
        let run = |args: &[&str]| {
            let mut c = Command::new(&init.path);
            c.args(args).current_dir("/").stdin(Stdio::null());
            util::output(c)
        };
        for (args, why) in [
            (&[][..], "no program given"),
            (&["--pgroup"][..], "no program given"),
            (&["--"][..], "no program given after --"),
            (&["--bogus", "true"][..], "unknown option \"--bogus\""),
        ] {
            let r = run(args);
            r.expect_code(125);
            assert!(
                r.stderr.starts_with(&format!("nsscript-init: {why}")),
                "{args:?}: {}",
                r.stderr
            );
            assert!(
                r.stderr
                    .contains("usage: nsscript-init [--pgroup] [--] PROG"),
                "{}",
                r.stderr
            );
        }
        let r = run(&["--help"]);
        r.ok();
        assert!(r.stdout.starts_with("usage: nsscript-init"), "{}", r.stdout);
        // `--` lets a program start with a dash; options after PROG are its own.
        run(&["--", "sh", "-c", "exit 7"]).expect_code(7);
        let r = run(&["echo", "--pgroup"]);
        r.ok();
        assert_eq!(r.stdout, "--pgroup\n");
        // Any other name is nsscript itself.
        for other in ["nsscript-init2", "init"] {
            let p = init.dir.path(other);
            std::os::unix::fs::symlink(util::bin(), &p).expect("symlink");
            let r = util::output({
                let mut c = Command::new(&p);
                c.args(["-e", "print(6 * 7)"]).stdin(Stdio::null());
                c
            });
            r.ok();
            assert_eq!(r.stdout, "42\n", "{other}");
        }
    });
}

// ---------------------------------------------------------------------------
// unprivileged
// ---------------------------------------------------------------------------

/// `setpriv --reuid=65534 ... COMMAND`, or None after saying why not.
fn as_nobody(argv: &[&str]) -> Option<Command> {
    if !can_unshare() {
        return None;
    }
    if util::which("setpriv").is_none() {
        eprintln!("SKIP: setpriv (util-linux) is not installed");
        return None;
    }
    if !util::unprivileged_userns() {
        eprintln!("SKIP: unprivileged user namespaces are disabled here");
        return None;
    }
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .args(argv)
        .current_dir("/")
        .stdin(Stdio::null());
    Some(c)
}

/// As uid 65534, in a user namespace of its own (`unshare --user
/// --map-root-user --pid --fork`): exit codes (a spread with the edges),
/// 127 and 126, 100 orphans reaped, TERM forwarded to a trap.
#[test]
fn init_works_unprivileged_in_a_user_namespace() {
    guarded(|| {
        let init = Init::new("nobody");
        init.open_to_all();
        let plain = init.dir.path("not-executable");
        std::fs::write(&plain, "#!/bin/sh\n").expect("write");
        let us = "unshare --user --map-root-user --pid --fork --mount-proc";
        let codes = [0, 1, 2, 42, 100, 124, 125, 128, 200, 254, 255];
        let loop_ = format!(
            "for i in {}; do {us} {i} sh -c 'exit '$i; echo \"$i $?\"; done; \
             {us} {i} nsscript-no-such-program; echo \"missing $?\"; \
             {us} {i} {plain}; echo \"plain $?\"",
            codes.map(|c| c.to_string()).join(" "),
            i = init.path
        );
        let Some(c) = as_nobody(&["sh", "-c", &loop_]) else {
            return;
        };
        let r = util::output(c);
        r.ok();
        let mut want: Vec<String> = codes.iter().map(|c| format!("{c} {c}")).collect();
        want.extend(["missing 127".into(), "plain 126".into()]);
        assert_eq!(r.lines(), want, "stderr: {}", r.stderr);

        let file = init.dir.path("trapped");
        let script = format!(
            "trap 'echo trapped $(id -u) > {file}; exit 9' TERM; \
             i=0; while [ $i -lt 100 ]; do sh -c 'sleep 1 &'; i=$((i+1)); done; \
             sleep 1000 & echo ready; wait"
        );
        let Some(c) = as_nobody(&[
            "unshare",
            "--user",
            "--map-root-user",
            "--pid",
            "--fork",
            "--mount-proc",
            &init.path,
            "sh",
            "-c",
            &script,
        ]) else {
            return;
        };
        let mut l = Live::start(c);
        l.line("ready", 20);
        // setpriv has exec'd unshare: init is its child.
        let pid1 = init_of(l.pid());
        assert_eq!(
            status_field(pid1, "NSpid").split(' ').next_back(),
            Some("1")
        );
        assert!(
            status_field(pid1, "Uid").starts_with("65534 "),
            "{}",
            status_field(pid1, "Uid")
        );
        // The orphans end within a second and are reaped: only the command
        // (and its sleep 1000) stay.
        assert!(
            eventually(10, || child_pids(pid1).len() == 1
                && descendants(pid1)
                    .iter()
                    .all(|p| proc_state(&p.to_string()) != Some('Z'))),
            "left under init: {:?}",
            descendants(pid1)
                .iter()
                .map(|p| cmdline(*p))
                .collect::<Vec<_>>()
        );
        util::signal(pid1, libc::SIGTERM);
        l.finish().expect_code(9);
        assert_eq!(
            std::fs::read_to_string(&file).unwrap_or_default(),
            "trapped 0\n"
        );
    });
}

/// Under a seccomp filter that answers clone3 with ENOSYS (Docker's and
/// podman's default profiles do, so that libc falls back), the init still
/// starts its command, with clone(2). The filter comes from
/// tests/no_clone3.c, built here; strace shows the refused clone3 and the
/// clone that follows.
#[test]
fn the_init_falls_back_to_clone_where_clone3_is_refused() {
    guarded(|| {
        let Some(cc) = util::which("cc") else {
            eprintln!("SKIP: no C compiler for the seccomp filter (the CI installs gcc)");
            return;
        };
        let init = Init::new("no-clone3");
        let filter = init.dir.path("no_clone3");
        let built = Command::new(cc)
            .args(["-O1", "-o", &filter])
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/no_clone3.c"))
            .output()
            .expect("run cc");
        assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
        let mut c = Command::new(&filter);
        c.args([&init.path, "sh", "-c", "echo started; exit 7"])
            .current_dir("/")
            .stdin(Stdio::null());
        let r = util::output(c);
        r.expect_code(7);
        assert_eq!(r.stdout, "started\n");
        if util::which("strace").is_none() {
            eprintln!("SKIP (the strace part): no strace");
            return;
        }
        let log = init.dir.path("strace.log");
        let mut c = Command::new("strace");
        c.args(["-f", "-e", "trace=clone,clone3", "-o", &log, &filter, &init.path, "true"])
            .current_dir("/")
            .stdin(Stdio::null());
        util::output(c).ok();
        let text = std::fs::read_to_string(&log).expect("strace log");
        assert!(text.contains("clone3(") && text.contains("ENOSYS"), "{text}");
        assert!(text.contains("clone(") && text.contains("CLONE_VM|CLONE_VFORK"), "{text}");
    });
}
