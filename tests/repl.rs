//! The REPL in a real pseudo-terminal (issue 4): tmux runs nsscript on a
//! private server; the tests type with send-keys and read the screen with
//! capture-pane, polling until the expected text shows up.

use crate::util::{self, guarded};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// How long any one expected screen may take.
const TIMEOUT: Duration = Duration::from_secs(15);

/// A tmux server of our own, killed (with everything in it) on drop, even
/// when the test fails; plus a temporary folder for history and files.
struct Term {
    socket: String,
    dir: PathBuf,
    sessions: u32,
}

impl Term {
    /// None (and SKIP printed) when tmux is not installed.
    fn new(test: &str) -> Option<Term> {
        if util::which("tmux").is_none() {
            eprintln!("SKIP {test}: tmux is not installed (.ci/run installs it)");
            return None;
        }
        let socket = format!("nsscript-test-{}-{test}", std::process::id());
        let dir = std::env::temp_dir().join(&socket);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the test folder");
        Some(Term {
            socket,
            dir,
            sessions: 0,
        })
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux")
    }

    fn history(&self) -> PathBuf {
        self.dir.join("state").join("history")
    }

    /// Starts nsscript in a new session (the REPL, as stdin is the pty),
    /// with its history in the test folder, and waits for the prompt.
    fn start(&mut self) {
        self.start_with(&[]);
        self.wait_for("the first prompt", |s| s.contains("ns> "));
    }

    /// Starts `nsscript ARGS` in a new session on the pty.
    fn start_with(&mut self, args: &[&str]) {
        self.sessions += 1;
        let bin = util::bin();
        let hist = format!("NSSCRIPT_HISTORY={}", self.history().display());
        let o = self.tmux(
            &[
                "new-session",
                "-d",
                "-s",
                "repl",
                "-x",
                "160",
                "-y",
                "50",
                "-c",
                &self.dir.display().to_string(),
                "--",
                "env",
                &hist,
                &bin.display().to_string(),
            ]
            .into_iter()
            .chain(args.iter().copied())
            .collect::<Vec<&str>>(),
        );
        assert!(
            o.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    /// Types text literally (no Enter).
    fn type_text(&self, text: &str) {
        // tmux takes a `;` ending an argument for its command separator;
        // `\;` is a literal one.
        let arg = match text.strip_suffix(';') {
            Some(t) => format!("{t}\\;"),
            None => text.to_string(),
        };
        let o = self.tmux(&["send-keys", "-t", "repl", "-l", "--", &arg]);
        assert!(o.status.success(), "send-keys {text:?}");
    }

    /// Presses keys by name: "Enter", "Tab", "C-c", "C-r".
    fn key(&self, key: &str) {
        let o = self.tmux(&["send-keys", "-t", "repl", key]);
        assert!(o.status.success(), "send-keys {key}");
    }

    /// Types a line and Enter, without waiting (a continuation line, or
    /// one that runs until interrupted).
    fn line(&self, text: &str) {
        self.type_text(text);
        self.key("Enter");
    }

    /// Types a complete line and waits for the next prompt, as a person
    /// would before typing on.
    fn enter(&self, text: &str) -> String {
        let before = prompts(&self.screen());
        self.line(text);
        self.wait_for(&format!("the prompt after {text:?}"), |s| {
            let last = s.lines().map(str::trim_end).rev().find(|l| !l.is_empty());
            prompts(s) > before && last == Some("ns>")
        })
    }

    /// The pane with its scrollback, wrapped lines joined.
    fn screen(&self) -> String {
        let o = self.tmux(&["capture-pane", "-p", "-J", "-S", "-1000", "-t", "repl"]);
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Polls the screen until `ok` holds; panics with the screen after
    /// TIMEOUT.
    fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            if start.elapsed() > TIMEOUT {
                panic!("timed out waiting for {what}; the screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Waits until `text` shows `n` times in all.
    fn wait_count(&self, text: &str, n: usize) -> String {
        self.wait_for(&format!("{text:?} x{n}"), |s| s.matches(text).count() >= n)
    }

    fn wait_text(&self, text: &str) -> String {
        self.wait_count(text, 1)
    }

    /// The pid of the program in the pane (env execs nsscript: the same).
    fn pane_pid(&self) -> String {
        let o = self.tmux(&["display-message", "-p", "-t", "repl", "#{pane_pid}"]);
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    /// Waits until nsscript is where a test wants to interrupt it, judged
    /// by `ok(wchan, state)` from /proc (the kernel function it sleeps in,
    /// the state letter). Where wchan is hidden ("0"), the echoed line and
    /// a short pause have to do.
    fn wait_until_busy(&self, what: &str, ok: impl Fn(&str, Option<char>) -> bool) {
        let pid = self.pane_pid();
        let start = Instant::now();
        loop {
            let wchan = std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
            let state = util::proc_state(&pid);
            if ok(&wchan, state) {
                return;
            }
            if wchan == "0" && state != Some('R') {
                std::thread::sleep(Duration::from_millis(300));
                return;
            }
            assert!(
                start.elapsed() < TIMEOUT,
                "nsscript never got {what} (wchan {wchan:?}, state {state:?}); the screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until the session has ended (nsscript exited).
    fn wait_gone(&self) {
        let start = Instant::now();
        while self.tmux(&["has-session", "-t", "repl"]).status.success() {
            assert!(start.elapsed() < TIMEOUT, "nsscript did not exit");
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// How many prompts the screen shows.
fn prompts(screen: &str) -> usize {
    screen.lines().filter(|l| l.starts_with("ns>")).count()
}

/// Runs `f` with a started REPL, inside the host guard.
fn with_repl(test: &str, f: impl FnOnce(&mut Term)) {
    guarded(|| {
        let Some(mut t) = Term::new(test) else { return };
        t.start();
        f(&mut t);
    });
}

#[test]
fn a_function_defined_over_lines_and_a_variable_persist() {
    with_repl("multiline", |t| {
        t.line("fn twice(x) {");
        t.line("  x * 2");
        t.enter("}");
        t.enter("let a = 21;");
        t.enter("twice(a)");
        t.wait_text("=> 42 : int");
        t.enter("a + 1");
        t.wait_text("=> 22 : int");
        t.enter("twice(\"ab\" + \"c\").len()");
        // Strings do not multiply: an error, and the REPL goes on.
        t.wait_text("error:");
        t.enter("twice(a + 1)");
        t.wait_text("=> 44 : int");
    });
}

#[test]
fn tab_completes_function_names() {
    with_repl("complete", |t| {
        t.type_text("set_ho");
        t.key("Tab");
        t.wait_text("ns> set_hostname");
        // Drop the input with Ctrl-C: the REPL stays.
        t.key("C-c");
        t.type_text("let my_long_variable = 5;");
        t.key("Enter");
        t.type_text("my_long_v");
        t.key("Tab");
        t.wait_text("ns> my_long_variable");
        t.key("Enter");
        t.wait_text("=> 5 : int");
    });
}

/// The completion list rustyline printed after `line` (two Tabs), in the
/// order it reads: down each column, columns left to right.
fn listed_after(screen: &str, line: &str) -> Vec<String> {
    let rows: Vec<Vec<&str>> = screen
        .lines()
        .skip_while(|l| l.trim_end() != line)
        .skip(1)
        .take_while(|l| l.trim_end() != line)
        .map(|l| l.split_whitespace().collect())
        .collect();
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut out = Vec::new();
    for c in 0..cols {
        for r in &rows {
            if let Some(x) = r.get(c) {
                out.push(x.to_string());
            }
        }
    }
    out
}

#[test]
fn tab_after_a_dot_offers_the_values_own_members_first() {
    with_repl("members", |t| {
        t.enter("let p = spawn([\"sleep\", \"100\"]);");
        t.type_text("p.");
        t.key("Tab");
        t.key("Tab");
        let s = t.wait_for("the list of members", |s| {
            let l = listed_after(s, "ns> p.");
            l.iter().any(|x| x == "pid") && l.iter().any(|x| x == "push")
        });
        let list = listed_after(&s, "ns> p.");
        let pos = |x: &str| list.iter().position(|c| c == x);
        for own in ["pid", "wait", "kill", "running", "stdout"] {
            for other in ["len", "push", "split", "contains"] {
                assert!(
                    pos(own).is_some() && pos(own) < pos(other),
                    "{own} should come before {other}: {list:?}"
                );
            }
        }
        // Completing a member of the value's type.
        t.type_text("ki");
        t.key("Tab");
        t.wait_text("ns> p.kill");
        t.type_text("()");
        t.key("Enter");
        t.enter("p.wait()");
        t.wait_text("=> 137 : int");
    });
}

#[test]
fn help_shows_a_functions_signature_doc_and_example() {
    with_repl("help", |t| {
        t.enter("help(\"spawn\")");
        let s = t.wait_text("spawn(cmd, opts: map) -> Process");
        assert!(s.contains("Start a program in new namespaces"), "{s}");
        t.wait_text("Example:");
        t.enter("help()");
        t.wait_text("Process methods and properties");
    });
}

#[test]
fn an_error_shows_its_position_and_the_next_line_works() {
    with_repl("error", |t| {
        t.enter("let x = 1 + nosuch;");
        let s = t.wait_text("--> <repl>:1:13");
        assert!(s.contains("nosuch"), "{s}");
        t.enter("40 + 2");
        t.wait_text("=> 42 : int");
        t.enter("read_file(\"/nonexistent/x\")");
        t.wait_text("ENOENT");
        t.enter("\"still\" + \" here\"");
        t.wait_text("=> \"still here\" : string");
    });
}

#[test]
fn ctrl_c_interrupts_a_sleep_and_the_repl_goes_on() {
    with_repl("sleep", |t| {
        // A child started earlier runs in its own process group: Ctrl-C
        // for the line must not reach it.
        t.line("let bg = spawn([\"sleep\", \"100\"]); print(`PID=${bg.pid}`)");
        let s = t.wait_for("the background child's pid", |s| pid_in(s).is_some());
        let bg = pid_in(&s).unwrap_or_default();
        t.line("sleep(10000); print(\"not interrupted\")");
        // sleep() waits in poll(2), on the pipe signals wake.
        t.wait_until_busy("in sleep", |wchan, state| {
            state == Some('S') && (wchan.contains("poll") || wchan.contains("wait_woken"))
        });
        let start = Instant::now();
        t.key("C-c");
        t.wait_text("interrupted");
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "Ctrl-C took {:?}",
            start.elapsed()
        );
        t.enter("6 * 7");
        let s = t.wait_text("=> 42 : int");
        assert!(!s.lines().any(|l| l == "not interrupted"), "{s}");
        // A loop that never calls out is stopped by the engine itself.
        t.line("let n = 0; loop { n += 1; }");
        t.wait_until_busy("running", |_, state| state == Some('R'));
        t.key("C-c");
        t.wait_text("error: interrupted (Ctrl-C)");
        t.enter("n > 0");
        t.wait_text("=> true : bool");
        assert_eq!(
            util::proc_state(&bg).map(|c| c != 'Z'),
            Some(true),
            "background child {bg} survived Ctrl-C"
        );
        t.line("print(`BG=${bg.running}`)");
        t.wait_text("BG=true");
    });
}

#[test]
fn ctrl_c_interrupts_a_wait_and_kills_the_child() {
    with_repl("wait", |t| {
        // A child that does not read the terminal stays in the background:
        // Ctrl-C reaches the REPL, and wait kills the child.
        t.line("let p = spawn([\"sleep\", \"100\"], #{stdin: \"null\"}); print(`PID=${p.pid}`); p.wait()");
        let s = t.wait_for("the child's pid", |s| pid_in(s).is_some());
        let pid = pid_in(&s).unwrap_or_default();
        assert!(Path::new(&format!("/proc/{pid}")).exists(), "sleep runs");
        t.wait_until_busy("in wait", |wchan, _| {
            wchan.contains("poll") || wchan.contains("wait")
        });
        t.key("C-c");
        t.wait_for("the wait to end", |s| s.contains("was killed"));
        assert!(util::dies(&pid), "the sleep process {pid} is gone");
        t.enter("p.running");
        t.wait_text("=> false : bool");
        // The bare form: find the child under nsscript.
        t.line("spawn([\"sleep\", \"100\"]).wait()");
        let nsscript = t.pane_pid();
        let start = Instant::now();
        let pid = loop {
            if let Some(p) = child_running(&nsscript, "sleep\x00100\x00") {
                break p;
            }
            assert!(start.elapsed() < TIMEOUT, "no sleep child of {nsscript}");
            std::thread::sleep(Duration::from_millis(25));
        };
        t.wait_until_busy("in wait", |wchan, _| {
            wchan.contains("poll") || wchan.contains("wait")
        });
        // With the terminal as its stdin, the waited child is the
        // foreground job, as in a shell: Ctrl-C is its SIGINT (128 + 2).
        t.key("C-c");
        t.wait_for("the second wait to end", |s| s.contains("=> 130 : int"));
        assert!(util::dies(&pid), "the sleep process {pid} is gone");
        t.enter("1");
        t.wait_text("=> 1 : int");
    });
}

/// A child of `parent` whose command line is `cmdline` (NUL-separated).
fn child_running(parent: &str, cmdline: &str) -> Option<String> {
    let list = std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children")).ok()?;
    list.split_whitespace()
        .find(|c| {
            std::fs::read_to_string(format!("/proc/{c}/cmdline"))
                .ok()
                .as_deref()
                == Some(cmdline)
        })
        .map(str::to_string)
}

/// The number after "PID=" in program output (not in the typed line).
fn pid_in(screen: &str) -> Option<String> {
    screen.lines().find_map(|l| {
        let rest = l.strip_prefix("PID=")?;
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        (!digits.is_empty()).then_some(digits)
    })
}

#[test]
fn processes_show_pid_state_and_namespaces() {
    with_repl("process", |t| {
        t.enter("let p = spawn([\"sleep\", \"100\"], #{ns: [\"uts\", \"ipc\"]});");
        t.enter("p");
        let s = t.wait_text(", running, ns: [");
        assert!(s.contains("=> Process(pid "), "{s}");
        t.enter("p.kill(); p.wait()");
        t.wait_text("=> 137 : int");
        t.enter("p");
        t.wait_text("exited 137");
    });
}

#[test]
fn trace_shows_the_steps_between_on_and_off() {
    with_repl("trace", |t| {
        if !util::is_root() {
            eprintln!("SKIP trace: a new UTS namespace without a user one needs root");
            return;
        }
        t.enter("trace(true)");
        t.enter("run([\"true\"], #{ns: [\"uts\"], hostname: \"traced\"}).code");
        let s = t.wait_text("sethostname(\"traced\", 6) = 0");
        assert!(
            s.contains("] clone3({flags=CLONE_VM|CLONE_PIDFD|CLONE_NEWUTS"),
            "{s}"
        );
        t.wait_text("=> 0 : int");
        t.enter("trace(false)");
        t.enter("run([\"true\"], #{ns: [\"uts\"], hostname: \"quiet\"}).code");
        let s = t.wait_count("=> 0 : int", 2);
        assert!(!s.contains("sethostname(\"quiet\""), "{s}");
    });
}

#[test]
fn imported_modules_and_loaded_files_persist() {
    with_repl("import", |t| {
        std::fs::write(t.dir.join("lab.rhai"), "fn answer() { 42 }\n").expect("write module");
        std::fs::write(
            t.dir.join("setup.rhai"),
            "let loaded = 7;\nfn seven() { 7 }\n",
        )
        .expect("write script");
        t.enter("import \"lab\" as lab;");
        t.enter("lab::answer()");
        t.wait_text("=> 42 : int");
        t.enter(":load setup.rhai");
        t.enter("loaded * seven()");
        t.wait_text("=> 49 : int");
        t.enter(":vars");
        let s = t.wait_text("module lab");
        assert!(s.contains("loaded = 7 : int"), "{s}");
        assert!(s.contains("fn seven()"), "{s}");
    });
}

#[test]
fn history_survives_a_restart() {
    guarded(|| {
        let Some(mut t) = Term::new("history") else {
            return;
        };
        t.start();
        t.enter("let marker = 12345;");
        t.enter(":history");
        t.wait_text("let marker = 12345;\n");
        t.line(":quit");
        t.wait_gone();
        let saved = std::fs::read_to_string(t.history()).unwrap_or_default();
        assert!(
            saved.contains("let marker = 12345;"),
            "history file: {saved:?}"
        );

        t.start();
        // Ctrl-R finds the line from the first run.
        t.key("C-r");
        t.type_text("marker =");
        t.wait_text("let marker = 12345;");
        t.key("Enter");
        t.enter("marker + 1");
        t.wait_text("=> 12346 : int");
        // Ctrl-D at an empty prompt leaves.
        t.key("C-d");
        t.wait_gone();
    });
}

#[test]
fn ctrl_c_at_an_empty_prompt_does_not_exit() {
    with_repl("prompt", |t| {
        t.key("C-c");
        t.key("C-c");
        t.enter("\"alive\"");
        t.wait_text("=> \"alive\" : string");
        t.line("exit(3)");
        t.wait_gone();
    });
}

#[test]
fn doc_prints_the_reference_as_markdown() {
    guarded(|| {
        let r = util::run(&["--doc"]);
        r.ok();
        for want in [
            "## Processes\n",
            "### `spawn()`\n",
            "`spawn(cmd, opts: map) -> Process`\n",
            "`p.wait() -> int`\n",
            "```rhai\n",
        ] {
            assert!(r.stdout.contains(want), "--doc lacks {want:?}");
        }
        // The same docs at the prompt, and a near miss named.
        let r = util::eval("help(\"spawn\")");
        r.ok();
        assert!(r.stdout.contains("Example:"), "{}", r.stdout);
        let r = util::eval("help(\"spwan\")");
        r.expect_code(1);
        assert!(r.stderr.contains("did you mean spawn"), "{}", r.stderr);
    });
}

#[test]
fn demo_runs_a_bundled_script_apart_from_the_session() {
    with_repl("demo", |t| {
        t.enter("let kept = \"still here\";");
        t.enter(":demo");
        t.wait_text("demo/uts.rhai");
        t.enter(":demo uts");
        t.wait_text("verdict:");
        t.enter("kept");
        t.wait_text("=> \"still here\" : string");
        t.enter(":demo nosuch");
        t.wait_text("no bundled demo named \"nosuch\"");
    });
}

/// SIGTERM to the REPL while it waits at the prompt: the child it started
/// gets the signal (its `trap` runs), and the session ends.
#[test]
fn sigterm_at_the_prompt_reaches_the_children_and_ends_the_session() {
    with_repl("sigterm", |t| {
        let flag = t.dir.join("trapped");
        t.line(&format!(
            "let p = spawn([\"sh\", \"-c\", \"trap 'echo term > {}; exit 3' TERM; sleep 100 & wait\"], #{{stdin: \"null\"}}); print(`PID=${{p.pid}}`)",
            flag.display()
        ));
        let s = t.wait_for("the child's pid", |s| pid_in(s).is_some());
        let child = pid_in(&s).unwrap_or_default();
        let nsscript: i32 = t.pane_pid().parse().unwrap_or(0);
        assert!(nsscript > 0, "no nsscript pane");
        util::signal(nsscript, libc::SIGTERM);
        assert!(
            util::dies(&nsscript.to_string()),
            "nsscript {nsscript} outlived SIGTERM"
        );
        assert!(util::dies(&child), "the child {child} outlived nsscript");
        assert_eq!(
            std::fs::read_to_string(&flag).unwrap_or_default(),
            "term\n",
            "the child's trap did not run"
        );
    });
}

/// True when `pid` runs (not stopped) in the terminal's foreground process
/// group: /proc/PID/stat's pgrp and tpgid agree.
fn holds_the_terminal(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let f: Vec<&str> = stat
        .rsplit_once(") ")
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // state ppid pgrp session tty_nr tpgid
    f.len() > 5 && f[0] != "T" && f[2] == f[5]
}

/// A job-control shell that starts before the script waits for it finds
/// the terminal not yet its own and stops itself (SIGTTIN); the wait hands
/// it the terminal and continues it, as a shell's `fg` does, and takes the
/// terminal back at the end.
#[test]
fn a_shell_started_before_its_wait_gets_the_terminal_at_the_wait() {
    guarded(|| {
        let Some(mut t) = Term::new("late-wait") else {
            return;
        };
        let script = t.dir.join("late.rhai");
        std::fs::write(
            &script,
            r#"let p = spawn("sh", #{stdin: "inherit", stdout: "inherit", stderr: "inherit"});
print(`SPAWNED ${p.pid}`);
sleep(1000);
let code = p.wait();
print(`SH-EXITED-${code}`);
"#,
        )
        .expect("write the script");
        t.start_with(&[&script.display().to_string()]);
        // The last line is printed as nsscript exits: keep the pane.
        let o = t.tmux(&["set-option", "-t", "repl", "remain-on-exit", "on"]);
        assert!(o.status.success(), "tmux set-option remain-on-exit");
        let screen = t.wait_text("SPAWNED ");
        let sh: i32 = screen
            .split("SPAWNED ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|p| p.parse().ok())
            .expect("the shell's pid on the screen");
        assert!(
            util::eventually(15, || util::proc_state(&sh.to_string()) == Some('T')),
            "the shell did not stop for the terminal before the wait (state {:?})",
            util::proc_state(&sh.to_string())
        );
        assert!(
            util::eventually(15, || holds_the_terminal(sh)),
            "the wait did not give the shell the terminal and continue it"
        );
        t.line("echo IN-$((6*7))");
        t.wait_text("IN-42");
        t.line("exit 3");
        t.wait_text("SH-EXITED-3");
    });
}

/// `demo/uts.rhai -i` puts a shell inside the namespace on the terminal:
/// Ctrl-C there reaches the shell (its foreground job), not nsscript, as
/// in any shell, and `exit` ends the demo with the shell's status.
#[test]
fn ctrl_c_in_an_interactive_demo_reaches_the_shell_inside() {
    guarded(|| {
        let Some(mut t) = Term::new("demo-i") else {
            return;
        };
        t.start_with(&["demo/uts.rhai", "-i"]);
        t.wait_for("the shell inside", |s| s.contains("uts.idocker.io"));
        t.line("sleep 100; echo AFTER-SLEEP");
        let nsscript: i32 = t.pane_pid().parse().expect("the pane's pid");
        let sleep = || {
            let sh = util::child_pids(nsscript);
            sh.iter()
                .flat_map(|&p| util::child_pids(p))
                .find(|&p| util::cmdline(p) == "sleep 100")
        };
        assert!(
            util::eventually(15, || sleep().is_some_and(holds_the_terminal)),
            "`sleep 100` never ran as the terminal's foreground job; the screen:\n{}",
            t.screen()
        );
        t.key("C-c");
        t.line("echo STILL-$((6*7))");
        t.wait_text("STILL-42");
        assert!(
            Path::new(&format!("/proc/{nsscript}")).exists(),
            "Ctrl-C ended nsscript"
        );
        t.line("exit 3");
        assert!(
            util::dies(&nsscript.to_string()),
            "nsscript {nsscript} still runs after the shell's exit"
        );
    });
}
