//! Processes: `spawn`, `run`, and the Process handle.

use super::error::{invalid, os_err, IntoRhai, RResult};
use super::opts;
use super::process::Process;
use crate::os;
use rhai::plugin::*;
use rhai::{Dynamic, Map};

/// Starts a process; shared by the `spawn` syntax and the documented
/// functions.
pub fn spawn_impl(cmd: &Dynamic, opts: &Map) -> RResult<Process> {
    let spec = opts::spawn_spec("spawn", cmd, opts, &[])?;
    let child =
        os::process::spawn("spawn", &spec).map_err(|e| os_err(with_command_hint(e, &spec.argv)))?;
    Ok(Process::register(child))
}

/// "echo hi" as one string is a program named "echo hi": say so.
fn with_command_hint(e: os::Error, argv: &[String]) -> os::Error {
    let one_word = argv.len() == 1 && argv[0].contains(char::is_whitespace);
    if one_word && e.errno == Some(nix::errno::Errno::ENOENT) {
        e.hint(format!(
            "a string is one program, run without a shell; for arguments give an array like {:?}, or [\"sh\", \"-c\", {:?}]",
            argv[0].split_whitespace().collect::<Vec<_>>(),
            argv[0]
        ))
    } else {
        e
    }
}

fn signal_by_name(op: &str, name: &str) -> RResult<nix::sys::signal::Signal> {
    let up = name.to_ascii_uppercase();
    let full = if up.starts_with("SIG") {
        up
    } else {
        format!("SIG{up}")
    };
    full.parse().map_err(|_| {
        invalid(
            op,
            format!(
                "unknown signal {name:?}; use a name like \"SIGTERM\" or \"KILL\", or a number"
            ),
        )
    })
}

fn signal_by_number(op: &str, n: i64) -> RResult<nix::sys::signal::Signal> {
    i32::try_from(n)
        .ok()
        .and_then(|n| nix::sys::signal::Signal::try_from(n).ok())
        .ok_or_else(|| invalid(op, format!("{n} is not a signal number (1 to 31)")))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Waits, turning Ctrl-C (in the REPL) into an interruption.
fn wait(p: &Process, input: Option<&[u8]>) -> RResult<i64> {
    let mut c = p.0.borrow_mut();
    c.wait(input, &os::interrupted).map(i64::from).rhai()
}

#[export_module(manifest)]
pub mod proc_fns {
    use super::*;

    pub type Process = super::Process;

    /// Start a program in new namespaces and return its Process.
    ///
    /// `cmd` is a program (looked up in PATH, no shell) or an array
    /// `[prog, arg...]`. Options: `ns` (kinds: "user", "mount", "uts", "ipc",
    /// "pid", "net", "cgroup", "time") or `flags` (CLONE_NEW* constants),
    /// `uid_map`/`gid_map` (`[#{inside, outside, count}]`), `map_root`,
    /// `setgroups` ("deny"/"allow"), `hostname`, `domainname`, `mount_proc`,
    /// `propagation` ("private"/"slave"/"shared"/"unchanged"), `cwd`, `env`,
    /// `clear_env`, `stdin`/`stdout`/`stderr` ("inherit"/"null"/"pipe"),
    /// `time_offsets` (`#{monotonic, boottime}` seconds), `trace` (keep
    /// every setup step, in strace's words, in `p.trace`), `join`
    /// (`#{pid, ns}`: join those namespaces of a running process first, then
    /// create the `ns` kinds inside them, owned by its user namespace).
    ///
    /// A root of its own (a new mount namespace is implied): `root` (a
    /// directory that becomes / through pivot_root), `readonly_root`,
    /// `mounts` (`[#{type: "bind", src, dst, readonly, recursive}`,
    /// `#{type: "tmpfs", dst, size, mode}`, `#{type: "proc" | "sysfs" |
    /// "devpts" | "mqueue", dst}`; `options` takes mount(8) words like
    /// "nosuid"; `src` names the source of these, as the mount table shows
    /// it), `dev` ("minimal": a tmpfs /dev with null, zero, full,
    /// random, urandom, tty, pts, shm and the fd links; "nodes": the nodes
    /// and links only), `masked_paths`, `readonly_paths`, `no_new_privs`,
    /// `init` (true or `#{pgroup: true}`: a PID 1 in front of the command,
    /// needs "pid"), `uid`, `gid`, `groups` (the ids the program runs with),
    /// `lo_up` (the new network namespace's loopback up before it runs),
    /// `capabilities` (the bounding set kept, like `["CAP_KILL"]`: a
    /// program running as uid 0 has these and no others, any other uid
    /// none), `rlimits` (`#{nofile: [soft, hard], core: 0}`; "unlimited").
    ///
    /// ```rhai
    /// let p = spawn(["sh", "-c", "echo $$"], #{ns: ["pid"], stdout: "pipe"});
    /// p.wait();
    /// print(p.stdout);   // 1
    /// ```
    #[rhai_fn(name = "spawn", return_raw)]
    pub fn spawn_with(cmd: Dynamic, opts: Map) -> RResult<Process> {
        spawn_impl(&cmd, &opts)
    }

    /// Start a program with no new namespaces (see `spawn(cmd, opts)`).
    ///
    /// ```rhai
    /// let p = spawn("true");
    /// assert_eq(p.wait(), 0);
    /// ```
    #[rhai_fn(name = "spawn", return_raw)]
    pub fn spawn_plain(cmd: Dynamic) -> RResult<Process> {
        spawn_impl(&cmd, &Map::new())
    }

    /// Run a program to its end and return `#{code, stdout, stderr}`.
    /// Takes spawn's options (stdout and stderr default to "pipe") plus
    /// `input`: text written to its stdin.
    ///
    /// ```rhai
    /// let r = run(["hostname"], #{ns: ["uts"], hostname: "box"});
    /// assert_eq(r.stdout, "box\n");
    /// ```
    #[rhai_fn(name = "run", return_raw)]
    pub fn run_with(cmd: Dynamic, opts: Map) -> RResult<Map> {
        run_impl(&cmd, opts)
    }

    /// Run a program with no new namespaces, capturing its output.
    ///
    /// ```rhai
    /// let r = run(["echo", "hi"]);
    /// print(r.stdout);   // hi
    /// ```
    #[rhai_fn(name = "run", return_raw)]
    pub fn run_plain(cmd: Dynamic) -> RResult<Map> {
        run_impl(&cmd, Map::new())
    }

    /// The process id, as the host (nsscript's pid namespace) sees it.
    #[rhai_fn(get = "pid", pure)]
    pub fn get_pid(p: &mut Process) -> i64 {
        p.pid() as i64
    }

    /// Whether the process is still running (reaps it if it has exited).
    #[rhai_fn(get = "running", pure)]
    pub fn get_running(p: &mut Process) -> bool {
        p.0.borrow_mut().running()
    }

    /// The exit code once waited for (or seen exited), else `()`.
    #[rhai_fn(get = "code", pure)]
    pub fn get_code(p: &mut Process) -> Dynamic {
        let mut c = p.0.borrow_mut();
        match c.try_wait() {
            Ok(Some(code)) => Dynamic::from(code as i64),
            _ => Dynamic::UNIT,
        }
    }

    /// Wait for the process to end; returns its exit code (128+N when
    /// killed by signal N). Piped output is collected meanwhile.
    ///
    /// ```rhai
    /// let p = spawn(["sh", "-c", "exit 3"]);
    /// assert_eq(p.wait(), 3);
    /// ```
    #[rhai_fn(name = "wait", return_raw, pure)]
    pub fn wait_fn(p: &mut Process) -> RResult<i64> {
        wait(p, None)
    }

    /// Send SIGKILL.
    ///
    /// ```rhai
    /// let p = spawn(["sleep", "100"]);
    /// p.kill();
    /// assert_eq(p.wait(), 137);
    /// ```
    #[rhai_fn(name = "kill", return_raw, pure)]
    pub fn kill(p: &mut Process) -> RResult<()> {
        p.0.borrow()
            .signal(nix::sys::signal::Signal::SIGKILL)
            .rhai()
    }

    /// Send a signal by number (15) or name ("SIGTERM", "TERM").
    ///
    /// ```rhai
    /// let p = spawn(["sleep", "100"]);
    /// p.kill("TERM");
    /// assert_eq(p.wait(), 143);
    /// ```
    #[rhai_fn(name = "kill", return_raw, pure)]
    pub fn kill_num(p: &mut Process, sig: i64) -> RResult<()> {
        let s = signal_by_number("kill", sig)?;
        p.0.borrow().signal(s).rhai()
    }

    #[rhai_fn(name = "kill", return_raw, pure)]
    pub fn kill_name(p: &mut Process, sig: &str) -> RResult<()> {
        let s = signal_by_name("kill", sig)?;
        p.0.borrow().signal(s).rhai()
    }

    /// What the process wrote to a piped stdout (complete after `wait`).
    #[rhai_fn(get = "stdout", pure)]
    pub fn get_stdout(p: &mut Process) -> String {
        text(&p.0.borrow().out)
    }

    /// What the process wrote to a piped stderr (complete after `wait`).
    #[rhai_fn(get = "stderr", pure)]
    pub fn get_stderr(p: &mut Process) -> String {
        text(&p.0.borrow().err)
    }

    /// Write text to a piped stdin (`stdin: "pipe"`).
    ///
    /// ```rhai
    /// let p = spawn("cat", #{stdin: "pipe", stdout: "pipe"});
    /// p.write("hello");
    /// p.wait();
    /// assert_eq(p.stdout, "hello");
    /// ```
    #[rhai_fn(name = "write", return_raw, pure)]
    pub fn write(p: &mut Process, data: &str) -> RResult<()> {
        p.0.borrow_mut().write_stdin(data.as_bytes()).rhai()
    }

    /// Close a piped stdin: the process reads end-of-file.
    #[rhai_fn(name = "close_stdin", pure)]
    pub fn close_stdin(p: &mut Process) {
        p.0.borrow_mut().stdin = None;
    }

    /// The id of the process's namespace of a kind, as readlink shows it.
    ///
    /// ```rhai
    /// let p = spawn(["sleep", "1"], #{ns: ["uts"]});
    /// assert(p.ns_id("uts") != ns_id("uts"), "a new uts namespace");
    /// p.kill();
    /// ```
    #[rhai_fn(name = "ns_id", return_raw, pure)]
    pub fn ns_id(p: &mut Process, kind: &str) -> RResult<String> {
        let k = kind.parse::<os::ns::Namespace>().rhai()?;
        os::procfs::ns_link(Some(p.pid() as i64), k).rhai()
    }

    /// The process's pid in each pid namespace it is in, outermost first
    /// (the NSpid line of /proc/PID/status): `[12345, 1]`.
    #[rhai_fn(get = "nspid", return_raw, pure)]
    pub fn get_nspid(p: &mut Process) -> RResult<rhai::Array> {
        let v = os::procfs::nspid(p.pid() as i64).rhai()?;
        Ok(v.into_iter().map(Dynamic::from).collect())
    }

    /// The setup steps the child reported, when spawned with `trace: true`.
    #[rhai_fn(get = "trace", pure)]
    pub fn get_trace(p: &mut Process) -> rhai::Array {
        p.trace_lines().into_iter().map(Dynamic::from).collect()
    }

    /// How long the programs nsscript runs get to end by themselves after
    /// it passes on a signal it received (SIGTERM, SIGINT, SIGHUP,
    /// SIGQUIT, SIGUSR1, SIGUSR2), before they are killed; 5 seconds
    /// unless set.
    ///
    /// ```rhai
    /// set_grace(10.0);   // a database gets ten seconds to shut down
    /// ```
    #[rhai_fn(name = "set_grace", return_raw)]
    pub fn set_grace(seconds: f64) -> RResult<()> {
        if !(seconds.is_finite() && (0.0..=86400.0).contains(&seconds)) {
            return Err(invalid(
                "set_grace",
                format!("{seconds} is not a number of seconds from 0 to 86400"),
            ));
        }
        os::signals::set_grace(std::time::Duration::from_secs_f64(seconds));
        Ok(())
    }

    /// `set_grace` with whole seconds.
    #[rhai_fn(name = "set_grace", return_raw)]
    pub fn set_grace_int(seconds: i64) -> RResult<()> {
        set_grace(seconds as f64)
    }

    #[rhai_fn(name = "to_string", pure)]
    pub fn to_string(p: &mut Process) -> String {
        p.describe()
    }

    #[rhai_fn(name = "to_debug", pure)]
    pub fn to_debug(p: &mut Process) -> String {
        p.describe()
    }
}

/// Readies the options of a run-to-completion call (`run`, `enter`, a
/// topology's `run`): stdout and stderr captured unless said otherwise, and
/// `input` fed through a pipe. Returns the input.
pub(super) fn capture_options(op: &str, opts: &mut Map) -> RResult<Option<String>> {
    let input = opts::get_str(op, opts, "input")?;
    for k in ["stdout", "stderr"] {
        opts.entry(k.into()).or_insert_with(|| "pipe".into());
    }
    if input.is_some() {
        if opts.contains_key("stdin") {
            return Err(invalid(op, "input and stdin are exclusive; give one"));
        }
        opts.insert("stdin".into(), "pipe".into());
    }
    Ok(input)
}

/// Feeds `input`, waits for the end and gives `#{code, stdout, stderr}`.
pub(super) fn captured(p: &Process, input: Option<&str>) -> RResult<Map> {
    let code = wait(p, input.map(str::as_bytes))?;
    let c = p.0.borrow();
    let mut m = Map::new();
    m.insert("code".into(), code.into());
    m.insert("stdout".into(), text(&c.out).into());
    m.insert("stderr".into(), text(&c.err).into());
    Ok(m)
}

fn run_impl(cmd: &Dynamic, mut opts: Map) -> RResult<Map> {
    let input = capture_options("run", &mut opts)?;
    let mut spec = opts::spawn_spec("run", cmd, &opts, opts::RUN_EXTRA_KEYS)?;
    spec.argv.shrink_to_fit();
    let child =
        os::process::spawn("run", &spec).map_err(|e| os_err(with_command_hint(e, &spec.argv)))?;
    captured(&Process::register(child), input.as_deref())
}
