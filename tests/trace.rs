//! `--trace` against the real thing: the same run under `strace -ff -y`,
//! every line nsscript prints found in strace's log of the same process
//! with the same call, non-pointer arguments and result; the pids and
//! namespace ids in the lines checked against /proc, readlink and nsenter.

use crate::util::{self, guarded, Live, Run, Scratch};
use std::collections::{BTreeSet, HashMap};
use std::process::Command;

/// Every system call nsscript's trace can name: strace logs all of them,
/// and a line naming another one fails the test (it could not be checked).
const SYSCALLS: &[&str] = &[
    "clone",
    "clone3",
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "sethostname",
    "setdomainname",
    "execve",
    "execveat",
    "write",
    "openat",
    "read",
    "wait4",
    "pidfd_open",
    "pidfd_send_signal",
    "kill",
    "msgget",
    "msgsnd",
    "msgrcv",
    "msgctl",
    "setgroups",
    "setresuid",
    "setresgid",
    "dup3",
    "fcntl",
    "chdir",
];

/// One line of nsscript's trace.
#[derive(Debug, Clone)]
struct Line {
    pid: i32,
    /// `name(args) = result`, without the note.
    call: String,
    note: Option<String>,
}

impl Line {
    fn name(&self) -> &str {
        self.call.split('(').next().unwrap_or("")
    }

    fn result(&self) -> &str {
        self.call.rsplit_once(" = ").map_or("", |(_, r)| r)
    }
}

/// The trace lines on stderr: `[pid  4101] call = result  # note`.
fn trace_lines(stderr: &str) -> Vec<Line> {
    stderr
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("[pid ")?;
            let (pid, rest) = rest.split_once("] ")?;
            let (call, note) = match rest.split_once("  # ") {
                Some((c, n)) => (c, Some(n.to_string())),
                None => (rest, None),
            };
            Some(Line {
                pid: pid.trim().parse().ok()?,
                call: call.to_string(),
                note,
            })
        })
        .collect()
}

/// None, with the reason printed, where strace cannot run here.
fn strace_usable(test: &str) -> bool {
    if util::which("strace").is_none() {
        eprintln!("SKIP {test}: strace is not installed (.ci/run installs it)");
        return false;
    }
    let ok = Command::new("strace")
        .args(["-o", "/dev/null", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIP {test}: strace cannot trace here (ptrace is not permitted)");
    }
    ok
}

/// `strace -ff -y` with every call of SYSCALLS, one log per process under
/// `dir` (st.PID), running `cmd`.
fn strace(dir: &Scratch, cmd: &[String]) -> Command {
    let mut c = Command::new("strace");
    c.args(["-ff", "-y", "-s", "4096", "-o"])
        .arg(dir.path("st"))
        .arg("-e")
        .arg(format!("trace={}", SYSCALLS.join(",")))
        .arg("--")
        .args(cmd)
        .current_dir(std::env::temp_dir());
    c
}

/// strace's logs by pid, each line as `call = result` with strace's
/// alignment spaces taken out.
fn strace_logs(dir: &Scratch) -> HashMap<i32, Vec<String>> {
    let mut logs = HashMap::new();
    for e in std::fs::read_dir(&dir.0)
        .expect("read the strace folder")
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("st.").and_then(|p| p.parse().ok()) else {
            continue;
        };
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        let lines = text
            .lines()
            .filter_map(|l| {
                let (call, ret) = l.rsplit_once(" = ")?;
                Some(without_msgrcv_padding(&format!(
                    "{} = {ret}",
                    call.trim_end()
                )))
            })
            .collect();
        logs.insert(pid, lines);
    }
    logs
}

/// strace prints msgrcv's whole buffer (all msgsz bytes, NULs after the
/// message, cut at -s with `...`) where nsscript prints the message it
/// received: the padding goes before comparing.
fn without_msgrcv_padding(l: &str) -> String {
    if !l.starts_with("msgrcv(") {
        return l.to_string();
    }
    let l = l.replacen("\"...}", "\"}", 1);
    match l.find("\"}") {
        Some(end) => {
            let (mut head, tail) = l.split_at(end);
            while head.ends_with("\\0") && !head.ends_with("\\\\0") {
                head = &head[..head.len() - 2];
            }
            format!("{head}{tail}")
        }
        None => l,
    }
}

/// A pointer as strace prints one: 0x hex digits, or NULL.
fn pointer_len(s: &str) -> Option<usize> {
    if s.starts_with("NULL") {
        return Some(4);
    }
    let hex = s.strip_prefix("0x")?;
    let n = hex
        .bytes()
        .take_while(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        .count();
    (n > 0).then_some(2 + n)
}

/// Does strace's line say what ours says? `...` in ours stands for a
/// pointer, which must be one in strace's; everything else is equal.
fn same_call(ours: &str, theirs: &str) -> bool {
    let mut pieces = ours.split("...");
    let Some(first) = pieces.next() else {
        return false;
    };
    let Some(mut rest) = theirs.strip_prefix(first) else {
        return false;
    };
    for piece in pieces {
        let Some(n) = pointer_len(rest) else {
            return false;
        };
        let Some(r) = rest[n..].strip_prefix(piece) else {
            return false;
        };
        rest = r;
    }
    rest.is_empty()
}

/// Every trace line must be in strace's log of the same pid; their names
/// must be ones strace logged. Returns the lines.
fn all_in_strace(run: &Run, dir: &Scratch) -> Vec<Line> {
    let lines = trace_lines(&run.stderr);
    assert!(!lines.is_empty(), "no trace lines:\n{}", run.stderr);
    let logs = strace_logs(dir);
    let mut missing = Vec::new();
    for l in &lines {
        assert!(
            SYSCALLS.contains(&l.name()),
            "{} is not in the strace filter, so it cannot be checked: {l:?}",
            l.name()
        );
        let log = logs.get(&l.pid).map(Vec::as_slice).unwrap_or_default();
        if !log.iter().any(|t| same_call(&l.call, t)) {
            let near: Vec<&String> = log
                .iter()
                .filter(|t| t.starts_with(&format!("{}(", l.name())))
                .collect();
            missing.push(format!(
                "[pid {}] {}\n    strace has: {near:#?}",
                l.pid, l.call
            ));
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} trace lines are not in strace's log:\n{}",
        missing.len(),
        lines.len(),
        missing.join("\n")
    );
    lines
}

/// The lines of one process whose call starts with `prefix`.
fn find<'a>(lines: &'a [Line], pid: i32, prefix: &str) -> Vec<&'a Line> {
    lines
        .iter()
        .filter(|l| l.pid == pid && l.call.starts_with(prefix))
        .collect()
}

fn one<'a>(lines: &'a [Line], pid: i32, prefix: &str) -> &'a Line {
    let found = find(lines, pid, prefix);
    assert!(
        !found.is_empty(),
        "no line of pid {pid} starts with {prefix:?} in {lines:#?}"
    );
    found[0]
}

/// The first line of process `pid` with `name` that contains `part`.
fn with<'a>(lines: &'a [Line], pid: i32, name: &str, part: &str) -> &'a Line {
    lines
        .iter()
        .find(|l| l.pid == pid && l.name() == name && l.call.contains(part))
        .unwrap_or_else(|| panic!("no {name} line of pid {pid} with {part:?} in {lines:#?}"))
}

fn readlink(path: &str) -> String {
    std::fs::read_link(path)
        .map(|t| t.to_string_lossy().into_owned())
        .unwrap_or_else(|e| panic!("readlink {path}: {e}"))
}

/// The NSpid line of /proc/PID/status: the pid in each pid namespace.
fn nspid(pid: i32) -> Vec<String> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .map(|r| r.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

const EVERYTHING: &str = r#"
let dir = ARGS[0];
let p = spawn(["sleep", "600"], #{ns: ["user", "uts", "pid", "mount"], map_root: true,
    hostname: "traced", mount_proc: true});
print(`child ${p.pid}`);
let q = spawn(["sleep", "600"], #{ns: ["uts", "net"]});
print(`peer ${q.pid}`);
enter(p.pid, ["user", "pid", "mount"], ["true"]);
in_ns(#{ns: ["mount"]}, || {
    persist(p.pid, "uts", `${dir}/kept`);
    unpersist(`${dir}/kept`);
});
setns(`/proc/${p.pid}/ns/uts`);
setns(q.pid, ["uts", "net"]);
unshare(["user", "uts", "mount", "ipc"], #{map_root: true});
set_hostname("unshared");
set_domainname("dom");
let id = msgget(IPC_PRIVATE, IPC_CREAT | 0o600);
msgsnd(id, 7, "hello\n");
let m = msgrcv(id, 0);
msgctl(id, IPC_RMID);
in_ns(#{ns: ["mount"]}, || {
    mount("tmpfs", `${dir}/m`, "tmpfs", MS_NOSUID, "size=1m");
    bind("/tmp", `${dir}/m`, #{readonly: true});
    umount(`${dir}/m`);
    umount(`${dir}/m`);
    try { pivot_root(`${dir}/none`, `${dir}/none/old`); } catch {}
    make_private("/");
});
try { spawn(["true"], #{cwd: "/no/such/dir"}); } catch {}
print(`me ${pid()}`);
run(["head", "-n", "1"], #{stdin: "inherit", stdout: "null"});
p.kill();
q.kill();
"#;

#[test]
fn every_line_is_in_strace_with_the_pids_and_ids_proc_shows() {
    guarded(|| {
        if !util::is_root() {
            eprintln!("SKIP: needs root (joins, mounts and a pid namespace as root)");
            return;
        }
        if !strace_usable("every_line_is_in_strace") {
            return;
        }
        let dir = Scratch::new("trace-all");
        std::fs::create_dir_all(dir.path("m")).expect("mkdir m");
        let script = dir.path("all.rhai");
        std::fs::write(&script, EVERYTHING).expect("write the script");
        let bin = util::bin().display().to_string();
        let cmd = [bin, "--trace".into(), script, dir.0.display().to_string()];
        let mut live = Live::start(strace(&dir, &cmd));
        let child: i32 = live.line("child ", 30).parse().expect("child pid");
        let peer: i32 = live.line("peer ", 30).parse().expect("peer pid");
        let me: i32 = live.line("me ", 30).parse().expect("nsscript's pid");

        // What /proc and util-linux say while everything is alive.
        let child_uts = readlink(&format!("/proc/{child}/ns/uts"));
        let own_uts = readlink(&format!("/proc/{me}/ns/uts"));
        let own_user = readlink(&format!("/proc/{me}/ns/user"));
        let own_ipc = readlink(&format!("/proc/{me}/ns/ipc"));
        let child_nspid = nspid(child);
        let own_uid_map =
            std::fs::read_to_string(format!("/proc/{me}/uid_map")).unwrap_or_default();
        let nsenter_name = Command::new("nsenter")
            .args(["--target", &me.to_string(), "--uts", "hostname"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        live.send("\n");
        let run = live.finish();
        run.ok();
        let lines = all_in_strace(&run, &dir);

        let names: BTreeSet<&str> = lines.iter().map(Line::name).collect();
        for n in [
            "clone3",
            "openat",
            "write",
            "read",
            "mount",
            "sethostname",
            "execve",
            "setns",
            "unshare",
            "setgroups",
            "setresuid",
            "setdomainname",
            "umount2",
            "pivot_root",
            "msgget",
            "msgsnd",
            "msgrcv",
            "msgctl",
            "pidfd_open",
            "pidfd_send_signal",
            "wait4",
            "chdir",
        ] {
            assert!(names.contains(n), "no {n} line in the trace: {names:?}");
        }

        // spawn: the clone3 result is the child, pid 1 of its new pid
        // namespace as /proc's NSpid says; the maps written are its own.
        let clone = lines
            .iter()
            .find(|l| l.name() == "clone3" && l.call.contains("CLONE_NEWPID"))
            .expect("the clone3 of the pid namespace");
        assert_eq!(
            (clone.pid, clone.result()),
            (me, child.to_string().as_str())
        );
        assert!(
            clone
                .call
                .contains("CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWUSER|CLONE_NEWPID"),
            "{clone:?}"
        );
        assert!(
            clone.note.as_deref().unwrap_or("").contains("pid 1"),
            "{clone:?}"
        );
        assert_eq!(child_nspid, [child.to_string(), "1".to_string()]);
        with(
            &lines,
            me,
            "write",
            &format!("</proc/{child}/uid_map>, \"0 0 1\\n\", 6) = 6"),
        );
        with(
            &lines,
            me,
            "write",
            &format!("</proc/{child}/setgroups>, \"deny\", 4) = 4"),
        );
        one(&lines, child, "read(");
        one(
            &lines,
            child,
            "mount(NULL, \"/\", NULL, MS_REC|MS_PRIVATE, NULL) = 0",
        );
        one(
            &lines,
            child,
            "mount(\"proc\", \"/proc\", \"proc\", MS_NOSUID|MS_NODEV|MS_NOEXEC, NULL) = 0",
        );
        one(&lines, child, "sethostname(\"traced\", 6) = 0");
        assert!(
            find(&lines, child, "execve(")
                .iter()
                .any(|l| l.result() == "0"),
            "the child's execve"
        );

        // enter with a pid namespace: the joining process clones the one
        // that runs the command into it (CLONE_PARENT), which nsscript
        // adopts with a pidfd and reaps.
        let fork = lines
            .iter()
            .find(|l| l.call.starts_with("clone3({flags=CLONE_VM|CLONE_PARENT, "))
            .expect("the clone3 into the pid namespace");
        let joiner = fork.pid;
        let target = one(&lines, me, &format!("pidfd_open({child}, 0) = "));
        one(
            &lines,
            joiner,
            &format!(
                "setns({}, CLONE_NEWNS|CLONE_NEWUSER|CLONE_NEWPID) = 0",
                target.result()
            ),
        );
        one(&lines, joiner, "setresuid(0, 0, 0) = 0");
        let grandchild = fork.result();
        one(&lines, me, &format!("pidfd_open({grandchild}, 0) = "));
        for reaped in [grandchild.to_string(), joiner.to_string()] {
            assert!(
                lines
                    .iter()
                    .any(|l| l.pid == me && l.name() == "wait4" && l.result() == reaped),
                "no wait4 reaped {reaped}"
            );
        }

        // setns by path: the fd it opens is the child's uts namespace, as
        // readlink shows it, and setns names that fd.
        let open = with(&lines, me, "openat", &format!("\"/proc/{child}/ns/uts\""));
        let fd_and_id = open.result().to_string();
        assert!(
            fd_and_id.ends_with(&format!("<{child_uts}>")),
            "{open:?} vs {child_uts}"
        );
        one(&lines, me, &format!("setns({fd_and_id}, CLONE_NEWUTS) = 0"));

        // setns by pid: through the pidfd pidfd_open gave for the peer.
        let pidfd = one(&lines, me, &format!("pidfd_open({peer}, 0) = "));
        one(
            &lines,
            me,
            &format!("setns({}, CLONE_NEWUTS|CLONE_NEWNET) = 0", pidfd.result()),
        );

        // unshare: the interpreter itself is in new namespaces, whose maps
        // its helper wrote from outside; /proc and nsenter agree.
        let unshare = one(
            &lines,
            me,
            "unshare(CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWUSER) = 0",
        );
        assert!(unshare.note.is_some(), "{unshare:?}");
        let helper = lines
            .iter()
            .find(|l| l.pid == me && l.call.starts_with("clone3({flags=CLONE_VM, "))
            .expect("the map writer's clone3");
        let helper: i32 = helper.result().parse().expect("helper pid");
        with(
            &lines,
            helper,
            "write",
            &format!("</proc/{me}/uid_map>, \"0 0 1\\n\", 6) = 6"),
        );
        assert_ne!(own_uts, child_uts);
        assert_ne!(own_user, readlink("/proc/self/ns/user"));
        assert_ne!(own_ipc, readlink("/proc/self/ns/ipc"));
        assert_eq!(
            own_uid_map.split_whitespace().collect::<Vec<_>>(),
            ["0", "0", "1"]
        );
        one(&lines, me, "sethostname(\"unshared\", 8) = 0");
        assert_eq!(nsenter_name, "unshared", "nsenter -u hostname");
        one(&lines, me, "setdomainname(\"dom\", 3) = 0");

        // persist, in an in_ns copy's mount namespace: the bind mount of
        // the namespace file it opened, then the umount.
        let keeper = lines
            .iter()
            .find(|l| l.pid == me && l.call.starts_with("clone3({flags=CLONE_PIDFD|CLONE_NEWNS,"))
            .expect("the first in_ns clone3");
        let keeper: i32 = keeper.result().parse().expect("in_ns pid");
        let kept = dir.path("kept");
        let ns_file = with(
            &lines,
            keeper,
            "openat",
            &format!("\"/proc/{child}/ns/uts\""),
        );
        let fd = ns_file.result().split('<').next().unwrap_or("?");
        one(
            &lines,
            keeper,
            &format!("mount(\"/proc/self/fd/{fd}\", \"{kept}\", NULL, MS_BIND, NULL) = 0"),
        );
        one(
            &lines,
            keeper,
            &format!("umount2(\"{kept}\", MNT_DETACH) = 0"),
        );

        // System V IPC in the new IPC namespace.
        let get = one(&lines, me, "msgget(IPC_PRIVATE, IPC_CREAT|0600) = ");
        let q = get.result();
        one(
            &lines,
            me,
            &format!("msgsnd({q}, {{mtype=7, mtext=\"hello\\n\"}}, 6, IPC_NOWAIT) = 0"),
        );
        one(
            &lines,
            me,
            &format!("msgrcv({q}, {{mtype=7, mtext=\"hello\\n\"}}, "),
        );
        one(&lines, me, &format!("msgctl({q}, IPC_RMID, NULL) = 0"));

        // Mounts in the in_ns copy, which prints its own lines; an error
        // reads as strace's.
        let copy = lines
            .iter()
            .rfind(|l| l.pid == me && l.call.starts_with("clone3({flags=CLONE_PIDFD|CLONE_NEWNS,"))
            .expect("the second in_ns clone3");
        let copy: i32 = copy.result().parse().expect("in_ns pid");
        let m = dir.path("m");
        one(
            &lines,
            copy,
            &format!("mount(\"tmpfs\", \"{m}\", \"tmpfs\", MS_NOSUID, \"size=1m\") = 0"),
        );
        one(
            &lines,
            copy,
            &format!("mount(\"/tmp\", \"{m}\", NULL, MS_BIND, NULL) = 0"),
        );
        one(
            &lines,
            copy,
            &format!("mount(NULL, \"{m}\", NULL, MS_RDONLY|MS_REMOUNT|MS_BIND, NULL) = 0"),
        );
        assert_eq!(
            find(&lines, copy, &format!("umount2(\"{m}\", 0) = 0")).len(),
            2
        );
        let pivot = one(&lines, copy, "pivot_root(");
        assert_eq!(pivot.result(), "-1 ENOENT (No such file or directory)");
        one(
            &lines,
            me,
            &format!(
                "wait4(-1, [{{WIFEXITED(s) && WEXITSTATUS(s) == 0}}], WNOHANG, NULL) = {copy}"
            ),
        );

        // A failed setup step, and the children killed and reaped.
        assert!(
            lines.iter().any(
                |l| l.call == "chdir(\"/no/such/dir\") = -1 ENOENT (No such file or directory)"
            ),
            "the failed chdir"
        );
        one(
            &lines,
            me,
            &format!(
                "wait4(-1, [{{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}}], WNOHANG, NULL) = {child}"
            ),
        );
    });
}

#[test]
fn unprivileged_lines_are_in_strace_too() {
    guarded(|| {
        if !util::is_root() || util::which("setpriv").is_none() {
            eprintln!("SKIP: needs root and setpriv to run nsscript as 65534");
            return;
        }
        if !util::unprivileged_userns() {
            eprintln!("SKIP: unprivileged user namespaces are disabled here");
            return;
        }
        if !strace_usable("unprivileged_lines_are_in_strace_too") {
            return;
        }
        let dir = Scratch::new("trace-nobody");
        let code = r#"
            try { unshare(["uts"]); } catch {}
            let name = run(["hostname"], #{ns: ["user", "uts"], map_root: true, hostname: "lab",
                clear_env: true, env: #{PATH: "/usr/bin:/bin"}}).stdout;
            name.trim();
            print(name);
            unshare(["user", "uts"], #{map_root: true});
            set_hostname("mine");
        "#;
        let cmd: Vec<String> = [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            &util::bin().display().to_string(),
            "--trace",
            "-e",
            code,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut c = strace(&dir, &cmd);
        c.current_dir("/");
        let run = util::output(c);
        run.ok();
        assert_eq!(run.lines(), ["lab"]);
        let lines = all_in_strace(&run, &dir);
        let eperm = lines
            .iter()
            .find(|l| l.name() == "unshare")
            .expect("the refused unshare");
        assert_eq!(
            eperm.call,
            "unshare(CLONE_NEWUTS) = -1 EPERM (Operation not permitted)"
        );
        let maps: Vec<&Line> = lines
            .iter()
            .filter(|l| l.call.contains("/uid_map>, \"0 65534 1\\n\", 10) = 10"))
            .collect();
        assert_eq!(
            maps.len(),
            2,
            "the spawn's and the unshare's uid_map: {lines:#?}"
        );
        for m in maps {
            assert_eq!(m.note.as_deref(), Some("uid 0 inside is uid 65534 outside"));
        }
        assert!(
            lines
                .iter()
                .any(|l| l.call == "sethostname(\"mine\", 4) = 0"),
            "{lines:#?}"
        );
        let exec = "execve(\"/usr/bin/hostname\", [\"hostname\"], ... /* 1 var */) = 0";
        assert!(lines.iter().any(|l| l.call == exec), "{lines:#?}");
    });
}

#[test]
fn trace_goes_to_stderr_from_the_switch_on() {
    guarded(|| {
        let code = r#"
            run(["true"], #{ns: ["uts"], hostname: "before"});
            trace(true);
            run(["true"], #{ns: ["uts"], hostname: "during"});
            trace(false);
            run(["true"], #{ns: ["uts"], hostname: "after"});
            print("done");
        "#;
        if !util::is_root() {
            eprintln!("SKIP: new UTS namespaces without a user namespace need root");
            return;
        }
        let r = util::eval(code);
        r.ok();
        assert_eq!(r.lines(), ["done"], "stdout is the script's own");
        assert!(
            r.stderr.contains("sethostname(\"during\", 6) = 0"),
            "{}",
            r.stderr
        );
        assert!(!r.stderr.contains("\"before\"") && !r.stderr.contains("\"after\""));
        for l in r.stderr.lines() {
            assert!(l.starts_with("[pid "), "not a trace line: {l:?}");
        }

        // --trace -e, --trace - and --trace FILE ARGS: on from the start.
        let code = r#"run(["true"], #{ns: ["uts"], hostname: ARGS[0]}); print(ARGS[0]);"#;
        let e = util::run(&["--trace", "-e", code, "viae"]);
        let s = util::run_stdin(&["--trace", "-", "viastdin"], code);
        let dir = Scratch::new("trace-file");
        let file = dir.path("t.rhai");
        std::fs::write(&file, code).expect("write the script");
        let f = util::run(&["--trace", &file, "viafile"]);
        for (r, name) in [(e, "viae"), (s, "viastdin"), (f, "viafile")] {
            r.ok();
            assert_eq!(r.lines(), [name]);
            let lines = trace_lines(&r.stderr);
            let clone = lines.iter().find(|l| l.name() == "clone3").expect("clone3");
            let child = clone.result();
            assert!(
                lines.iter().any(|l| l.pid.to_string() == child
                    && l.call == format!("sethostname(\"{name}\", {}) = 0", name.len())),
                "{}",
                r.stderr
            );
            assert!(
                lines
                    .iter()
                    .any(|l| l.name() == "wait4" && l.result() == child),
                "{}",
                r.stderr
            );
        }
        // --trace goes before a script, and nowhere else.
        util::run(&["--trace", "--doc"]).expect_code(2);
        util::run(&["--trace", "-e"]).expect_code(2);
    });
}

#[test]
fn the_uts_walkthrough_in_syscalls() {
    // As root it clones a UTS namespace; as anyone else a user one too.
    guarded(|| {
        let r = util::run(&["--trace", "demo/uts.rhai"]);
        r.ok();
        assert!(r.stdout.contains("verdict: isolated"), "{}", r.stdout);
        let lines = trace_lines(&r.stderr);
        let clone = lines
            .iter()
            .find(|l| l.name() == "clone3" && l.call.contains("CLONE_NEWUTS"))
            .expect("the clone3 of the UTS namespace");
        let child: i32 = clone.result().parse().expect("child pid");
        assert!(
            clone.note.as_deref().unwrap_or("").contains("uts"),
            "{clone:?}"
        );
        let name = one(&lines, child, "sethostname(\"uts.idocker.io\", 14) = 0");
        assert!(name.note.is_some(), "{name:?}");
        assert!(
            lines
                .iter()
                .any(|l| l.name() == "wait4" && l.result() == child.to_string()),
            "{}",
            r.stderr
        );
        // The host's name is in the demo's own lines, and unchanged.
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        assert!(
            r.stdout.contains(&format!("hostname is {}", host.trim())),
            "{}",
            r.stdout
        );
    });
}

#[test]
fn a_slow_child_keeps_its_lines_in_order() {
    // The in_ns copy's own lines come after its setup's, which the parent
    // prints: each run, on any machine load.
    guarded(|| {
        if !util::is_root() {
            eprintln!("SKIP: in_ns with a new UTS namespace needs root here");
            return;
        }
        for _ in 0..5 {
            let r = util::run(&[
                "--trace",
                "-e",
                r#"in_ns(#{ns: ["uts"]}, || set_hostname("inner"));"#,
            ]);
            r.ok();
            let lines = trace_lines(&r.stderr);
            let clone = lines
                .iter()
                .position(|l| l.name() == "clone3")
                .expect("clone3");
            let name = lines
                .iter()
                .position(|l| l.call == "sethostname(\"inner\", 5) = 0")
                .expect("sethostname");
            assert!(clone < name, "{}", r.stderr);
        }
    });
}

#[test]
fn the_comparison_takes_only_pointers_for_pointers() {
    // The checker itself: `...` matches strace's pointers and nothing else,
    // and everything around it must be equal.
    guarded(|| {
        let ours = "clone3({flags=CLONE_VM, pidfd=..., stack_size=0x20000}, 88) = 7";
        let theirs = "clone3({flags=CLONE_VM, pidfd=0x7ffd1234, stack_size=0x20000}, 88) = 7";
        assert!(same_call(ours, theirs));
        assert!(same_call(
            "mount(NULL, \"/\", ..., 0, NULL) = 0",
            "mount(NULL, \"/\", NULL, 0, NULL) = 0"
        ));
        for wrong in [
            "clone3({flags=CLONE_VM, pidfd=0x7ffd1234, stack_size=0x20000}, 88) = 8",
            "clone3({flags=CLONE_VM, pidfd=\"x\", stack_size=0x20000}, 88) = 7",
            "clone3({flags=CLONE_VM, pidfd=0x7ffd1234, stack_size=0x10000}, 88) = 7",
            "clone3({flags=CLONE_VM, pidfd=0x7ffd1234, stack_size=0x20000}, 88) = 7 extra",
        ] {
            assert!(!same_call(ours, wrong), "{wrong}");
        }
        let padded = "msgrcv(3, {mtype=1, mtext=\"hi\\0\\0\\0\"...}, 8192, 0, 0) = 2";
        assert_eq!(
            without_msgrcv_padding(padded),
            "msgrcv(3, {mtype=1, mtext=\"hi\"}, 8192, 0, 0) = 2"
        );
        let lines = trace_lines("[pid   12] sethostname(\"a\", 1) = 0  # a note\nother\n");
        assert_eq!(lines.len(), 1);
        assert_eq!((lines[0].pid, lines[0].result()), (12, "0"));
        assert_eq!(lines[0].note.as_deref(), Some("a note"));
    });
}

/// The network functions' netlink requests read as the `ip` command that
/// does the same, with the kernel's answer; `ip` run in that namespace sees
/// what they made.
#[test]
fn netlink_requests_read_as_ip_commands() {
    guarded(|| {
        let r = util::run(&[
            "--trace",
            "-e",
            r#"print(in_ns(#{ns: ["net"]}, || {
                   veth("a", "b");
                   bridge("br0");
                   link_set("a", #{up: true, master: "br0"});
                   addr_add("b", "10.7.0.1/24");
                   try { link_del("nope"); } catch {}
                   run(["ip", "-o", "link"]).stdout + run(["ip", "-o", "addr", "show", "b"]).stdout
               }));"#,
        ]);
        r.ok();
        for line in [
            "ip link add a type veth peer name b = 0",
            "ip link add br0 type bridge = 0",
            "ip link set a up master br0 = 0",
            "ip addr add 10.7.0.1/24 dev b = 0",
            "ip link del nope = -1 ENODEV (No such device)",
        ] {
            assert!(
                r.stderr.lines().any(|l| l.ends_with(&format!("] {line}"))),
                "no trace line {line:?} in\n{}",
                r.stderr
            );
        }
        // ip, in the same namespace, sees what the requests made.
        assert!(r.stdout.contains("a@b:"), "{}", r.stdout);
        assert!(r.stdout.contains("master br0"), "{}", r.stdout);
        assert!(r.stdout.contains("10.7.0.1/24"), "{}", r.stdout);
    });
}

/// A spawn with `init: true`: the child stays as pid 1 and clones the
/// command (CLONE_VM|CLONE_VFORK), whose execve follows; both lines are in
/// strace's logs of those very processes, the clone3 returning the
/// command's pid inside the namespace (2), and the lines in that order.
#[test]
fn the_init_clones_the_command_and_the_command_execs() {
    guarded(|| {
        if !util::is_root() {
            eprintln!("SKIP: a pid namespace without a user namespace needs root");
            return;
        }
        if !strace_usable("the_init_clones_the_command") {
            return;
        }
        let dir = Scratch::new("trace-init");
        let bin = util::bin().display().to_string();
        let cmd = [
            bin,
            "--trace".into(),
            "-e".into(),
            r#"let p = spawn(["sh", "-c", "exit 3"], #{ns: ["pid", "mount"], mount_proc: true, init: true});
               print(`init ${p.pid}`);
               print(`code ${p.wait()}`);"#
                .into(),
        ];
        let run = util::output(strace(&dir, &cmd));
        run.ok();
        assert!(run.stdout.contains("code 3"), "{}", run.stdout);
        let init: i32 = run
            .lines()
            .iter()
            .find_map(|l| l.strip_prefix("init ").and_then(|p| p.parse().ok()))
            .expect("the init's pid");
        let lines = all_in_strace(&run, &dir);
        let clone = lines
            .iter()
            .position(|l| l.pid == init && l.name() == "clone3")
            .unwrap_or_else(|| panic!("no clone3 by the init:\n{}", run.stderr));
        assert!(
            lines[clone].call.contains("flags=CLONE_VM|CLONE_VFORK")
                && lines[clone].result() == "2",
            "{:?}",
            lines[clone]
        );
        let exec = lines
            .iter()
            .position(|l| l.pid != init && l.name() == "execve" && l.result() == "0")
            .unwrap_or_else(|| panic!("no execve of the command:\n{}", run.stderr));
        assert!(clone < exec, "{}", run.stderr);
        assert!(
            lines[exec].call.contains("[\"sh\", \"-c\", \"exit 3\"]"),
            "{:?}",
            lines[exec]
        );
        // The init is a program of its own: the child executed the image
        // from its sealed memfd before it cloned the command.
        let image = lines
            .iter()
            .position(|l| l.pid == init && l.name() == "execveat")
            .unwrap_or_else(|| panic!("no execveat of the init:\n{}", run.stderr));
        assert!(
            lines[image].call.contains("</memfd:nsscript-init>(deleted)")
                && lines[image].call.contains("AT_EMPTY_PATH")
                && lines[image].result() == "0",
            "{:?}",
            lines[image]
        );
        assert!(image < clone, "{}", run.stderr);
    });
}
