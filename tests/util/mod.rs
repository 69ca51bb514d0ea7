//! Helpers for driving the real nsscript binary, and the host-state guard.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_nsscript"))
}

/// The result of one run, with helpers for assertions.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// From a finished command: a signal N becomes code 128+N.
    pub fn from(o: Output) -> Run {
        use std::os::unix::process::ExitStatusExt;
        Run {
            code: o
                .status
                .code()
                .unwrap_or_else(|| 128 + o.status.signal().unwrap_or(0)),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Panics with both streams unless the exit code is `code`.
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "exit code {} (want {code})\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    pub fn ok(&self) -> &Run {
        self.expect_code(0)
    }

    /// Stdout lines, trimmed, without empty ones.
    pub fn lines(&self) -> Vec<String> {
        self.stdout
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect()
    }
}

/// A command for the binary, in a fresh temporary working directory.
pub fn cmd() -> Command {
    let mut c = Command::new(bin());
    c.current_dir(std::env::temp_dir());
    c.stdin(Stdio::null());
    c
}

/// Runs the binary with arguments.
pub fn run(args: &[&str]) -> Run {
    Run::from(cmd().args(args).output().expect("start nsscript"))
}

/// Runs a piece of code with `-e`.
pub fn eval(code: &str) -> Run {
    run(&["-e", code])
}

/// Runs with input on stdin.
pub fn run_stdin(args: &[&str], input: &str) -> Run {
    let mut child = cmd()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start nsscript");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    Run::from(child.wait_with_output().expect("wait nsscript"))
}

/// Runs the binary as uid/gid 65534 through setpriv, or None (with the
/// reason printed) when that is impossible here.
pub fn eval_as_nobody(code: &str) -> Option<Run> {
    if !is_root() {
        eprintln!("SKIP: not root, cannot setpriv to 65534");
        return None;
    }
    if which("setpriv").is_none() {
        eprintln!("SKIP: setpriv (util-linux) is not installed");
        return None;
    }
    let o = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(bin())
        .args(["-e", code])
        .current_dir("/")
        .stdin(Stdio::null())
        .output()
        .expect("start setpriv");
    Some(Run::from(o))
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Makes the test process the reaper of orphans it leaves (once), so a
/// process that outlives nsscript shows up as our descendant instead of
/// vanishing under pid 1.
fn become_subreaper() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: plain prctl.
    ONCE.call_once(|| unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    });
}

/// The state letter of /proc/PID/stat ('R', 'S', 'Z'...), None if gone.
pub fn proc_state(pid: &str) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.chars().next()
}

/// True once `pid` is dead: gone, or a zombie (which is then reaped if it
/// is ours). Waits up to two seconds.
pub fn dies(pid: &str) -> bool {
    for _ in 0..200 {
        match proc_state(pid) {
            None => return true,
            Some('Z') => {
                if let Ok(p) = pid.parse::<i32>() {
                    // SAFETY: reaping a zombie orphan that was reparented to us.
                    unsafe { libc::waitpid(p, std::ptr::null_mut(), libc::WNOHANG) };
                }
                return true;
            }
            _ => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    }
    false
}

/// Whether unprivileged user namespaces work here (for 65534).
pub fn unprivileged_userns() -> bool {
    let clone = std::fs::read_to_string("/proc/sys/kernel/unprivileged_userns_clone")
        .map(|s| s.trim() != "0")
        .unwrap_or(true);
    let max = std::fs::read_to_string("/proc/sys/user/max_user_namespaces")
        .map(|s| s.trim() != "0")
        .unwrap_or(true);
    clone && max
}

pub fn which(prog: &str) -> Option<PathBuf> {
    std::env::var("PATH")
        .ok()?
        .split(':')
        .map(|d| PathBuf::from(d).join(prog))
        .find(|p| p.exists())
}

/// Runs a system tool and returns its stdout (panics if it fails).
pub fn sh(cmd: &str) -> String {
    let o = Command::new("sh")
        .args(["-c", cmd])
        .output()
        .expect("start sh");
    assert!(
        o.status.success(),
        "`{cmd}` failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// What the host looks like: everything a script must leave unchanged.
#[derive(Debug, PartialEq, Eq)]
pub struct HostState {
    pub hostname: String,
    pub domainname: String,
    pub mounts: Vec<String>,
    pub links: String,
    pub sysvipc: Vec<String>,
    pub netns: BTreeSet<String>,
    pub children: BTreeSet<String>,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The mount table of pid 1 (the host), without mount ids, which change
/// when anything is mounted and unmounted even if the table ends up equal.
fn host_mounts() -> Vec<String> {
    let mut v: Vec<String> = read("/proc/1/mountinfo")
        .lines()
        .map(|l| l.split_whitespace().skip(2).collect::<Vec<_>>().join(" "))
        .collect();
    v.sort();
    v
}

/// Every link (`ip -o link`: names, flags, state, master, MAC), every
/// address (`ip -o addr`) and every route (`ip -o route`). `ip -o addr`
/// alone leaves out links without an address, such as a leftover veth or
/// bridge.
fn host_links() -> String {
    let ip = |what: &str| {
        Command::new("ip")
            .args(["-o", what])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    format!("{}{}{}", ip("link"), ip("addr"), ip("route"))
}

/// Every line of /proc/sysvipc/{msg,sem,shm} but the header, without the
/// time and usage columns that other processes may change.
fn sysvipc() -> Vec<String> {
    let mut v = Vec::new();
    for kind in ["msg", "sem", "shm"] {
        for l in read(&format!("/proc/sysvipc/{kind}")).lines().skip(1) {
            let f: Vec<&str> = l.split_whitespace().collect();
            v.push(format!(
                "{kind} {}",
                f.iter().take(2).cloned().collect::<Vec<_>>().join(" ")
            ));
        }
    }
    v.sort();
    v
}

/// Descendants of this test process (there should be none between runs).
fn children() -> BTreeSet<String> {
    let me = std::process::id().to_string();
    let mut out = BTreeSet::new();
    let mut frontier = vec![me];
    while let Some(p) = frontier.pop() {
        let path = format!("/proc/{p}/task/{p}/children");
        for c in read(&path).split_whitespace() {
            if p == std::process::id().to_string() && proc_state(c) == Some('Z') && dies(c) {
                continue;
            }
            out.insert(format!(
                "{c} {}",
                read(&format!("/proc/{c}/cmdline")).replace('\0', " ")
            ));
            frontier.push(c.to_string());
        }
    }
    out
}

impl HostState {
    pub fn capture() -> HostState {
        HostState {
            hostname: read("/proc/sys/kernel/hostname"),
            domainname: read("/proc/sys/kernel/domainname"),
            mounts: host_mounts(),
            links: host_links(),
            sysvipc: sysvipc(),
            netns: std::fs::read_dir("/run/netns")
                .map(|d| {
                    d.filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default(),
            children: children(),
        }
    }
}

static HOST: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `f`, then checks that the host is exactly as it was before:
/// hostname, domainname, mount table, links and addresses, System V IPC
/// objects, /run/netns, and no process left behind. Guarded tests run one
/// at a time, so one test's temporary host objects never show in another's
/// comparison.
///
/// Processes left behind are killed (after being recorded), also when the
/// test itself failed, so one failure does not leave debris for pid 1.
pub fn guarded<T>(f: impl FnOnce() -> T) -> T {
    let _lock = HOST.lock().unwrap_or_else(|p| p.into_inner());
    become_subreaper();
    let before = HostState::capture();
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    // A child that is being reaped may still show for a moment.
    let mut after = HostState::capture();
    for _ in 0..50 {
        if after.children == before.children {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        after = HostState::capture();
    }
    for left in after.children.difference(&before.children) {
        if let Some(pid) = left.split(' ').next().and_then(|p| p.parse::<i32>().ok()) {
            signal(pid, libc::SIGKILL);
            dies(&pid.to_string());
        }
    }
    match out {
        Ok(out) => {
            assert_eq!(before, after, "the host changed during the test");
            out
        }
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Sends signal `sig` to `pid` (a process the test started or found under
/// one it started).
pub fn signal(pid: i32, sig: i32) {
    // SAFETY: plain kill(2).
    unsafe { libc::kill(pid, sig) };
}

/// Every process below `pid` (children of all its threads, recursively),
/// as pids. Zombies included.
pub fn descendants(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(p) = frontier.pop() {
        let tasks = std::fs::read_dir(format!("/proc/{p}/task"))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        for t in tasks {
            for c in read(&format!("/proc/{p}/task/{t}/children")).split_whitespace() {
                if let Ok(c) = c.parse::<i32>() {
                    out.push(c);
                    frontier.push(c);
                }
            }
        }
    }
    out
}

/// The number of open fds of a process, None when it is gone.
pub fn fd_count(pid: i32) -> Option<usize> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()
        .map(|d| d.count())
}

/// A folder of its own under the temporary directory, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!("nsscript-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create scratch folder");
        Scratch(p)
    }

    pub fn path(&self, rel: &str) -> String {
        self.0.join(rel).to_string_lossy().into_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// nsscript run by util-linux `unshare FLAGS`, after `setup` (shell code,
/// run inside the new namespaces first): `unshare FLAGS sh -c 'SETUP; exec
/// nsscript ARGS'`. Nothing the setup mounts reaches the host when FLAGS
/// has --mount (unshare makes / private by default).
pub fn in_unshare(flags: &[&str], setup: &str, args: &[&str]) -> Command {
    let mut c = Command::new("unshare");
    c.args(flags)
        .arg("--")
        .arg("sh")
        .arg("-c")
        .arg(format!("{setup}\nexec \"$0\" \"$@\""))
        .arg(bin())
        .args(args)
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null());
    c
}

/// Runs a command to its end, as a `Run`.
pub fn output(mut c: impl std::borrow::BorrowMut<Command>) -> Run {
    Run::from(c.borrow_mut().output().expect("start the command"))
}

/// What `Live::next` found.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    Line(String),
    Timeout,
    Eof,
}

/// A running nsscript (or any command) whose stdout and stderr are read
/// in the background, so the test can wait for a line while it runs.
pub struct Live {
    pub child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    err: Option<std::thread::JoinHandle<String>>,
    /// Every stdout line read so far.
    pub seen: Vec<String>,
}

impl Live {
    pub fn start(mut c: impl std::borrow::BorrowMut<Command>) -> Live {
        use std::io::{BufRead, BufReader, Read};
        let mut child = c
            .borrow_mut()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the command");
        let out = child.stdout.take().expect("stdout");
        let mut err = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines() {
                match l {
                    Ok(l) => {
                        if tx.send(l).is_err() {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        });
        let err = std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = err.read_to_end(&mut s);
            String::from_utf8_lossy(&s).into_owned()
        });
        Live {
            child,
            lines: rx,
            err: Some(err),
            seen: Vec::new(),
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The next stdout line starting with `prefix` (without the prefix),
    /// waiting at most `secs` seconds; panics with what was seen otherwise.
    pub fn line(&mut self, prefix: &str, secs: u64) -> String {
        let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let left = end.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if let Some(rest) = l.strip_prefix(prefix) {
                        return rest.trim().to_string();
                    }
                }
                Err(e) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    panic!(
                        "no line starting with {prefix:?} within {secs}s ({e:?}); seen: {:?}",
                        self.seen
                    );
                }
            }
        }
    }

    /// The next stdout line, or why there is none.
    pub fn next(&mut self, timeout: std::time::Duration) -> Next {
        match self.lines.recv_timeout(timeout) {
            Ok(l) => {
                self.seen.push(l.clone());
                Next::Line(l)
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Next::Timeout,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Next::Eof,
        }
    }

    /// Forgets the lines read so far (long runs).
    pub fn clear_seen(&mut self) {
        self.seen.clear();
    }

    /// Writes to its stdin (a script waiting in `run(["head", "-c", "1"],
    /// #{stdin: "inherit"})` goes on).
    pub fn send(&mut self, text: &str) {
        use std::io::Write;
        if let Some(i) = self.child.stdin.as_mut() {
            let _ = i.write_all(text.as_bytes());
            let _ = i.flush();
        }
    }

    /// Waits for the end; the rest of stdout and all of stderr.
    pub fn finish(mut self) -> Run {
        use std::os::unix::process::ExitStatusExt;
        self.child.stdin = None;
        let status = self.child.wait().expect("wait for the command");
        let stderr = self
            .err
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        let mut stdout: Vec<String> = std::mem::take(&mut self.seen);
        while let Ok(l) = self.lines.recv_timeout(std::time::Duration::from_secs(5)) {
            stdout.push(l);
        }
        Run {
            code: status
                .code()
                .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
            stdout: stdout.join("\n"),
            stderr,
        }
    }
}

impl Drop for Live {
    /// A test that panics half-way kills what it started.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The children of a process (all its threads').
pub fn child_pids(pid: i32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|c| c.parse().ok())
        .collect()
}

/// A process's command line, its arguments joined by spaces.
pub fn cmdline(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
        .unwrap_or_default()
        .replace('\0', " ")
        .trim()
        .to_string()
}

/// A field of /proc/PID/status ("NSpid", "Uid"...), without the name.
pub fn status_field(pid: i32, name: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Polls `cond` every 20 ms for up to `secs` seconds.
pub fn eventually(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    cond()
}
