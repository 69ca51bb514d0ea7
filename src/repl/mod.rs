//! The interactive loop: rustyline editing with a history file, lines
//! that continue while the code is incomplete, Tab completion, `:`
//! commands, and Ctrl-C that interrupts the running line instead of the
//! REPL.

mod helper;
mod session;
mod show;

use crate::diag::{self, Source};
use crate::engine::{self, bundled, process, Outcome};
use crate::os;
use helper::{Helper, Names};
use rustyline::config::{CompletionType, Config};
use rustyline::error::ReadlineError;
use rustyline::history::{FileHistory, History};
use rustyline::Editor;
use session::{Failed, Session};
use std::io::Write;
use std::path::PathBuf;

const PROMPT: &str = "ns> ";

/// The history file: `NSSCRIPT_HISTORY` (empty: none), else
/// `nsscript/history` in the user's state directory (`$XDG_STATE_HOME`,
/// `~/.local/state`), else in the data directory.
pub fn history_path() -> Option<PathBuf> {
    match std::env::var_os("NSSCRIPT_HISTORY") {
        Some(p) if p.is_empty() => None,
        Some(p) => Some(PathBuf::from(p)),
        None => dirs::state_dir()
            .or_else(dirs::data_dir)
            .map(|d| d.join("nsscript").join("history")),
    }
}

/// SIGINT while a line runs: ask the engine (its progress check), `sleep`
/// and `wait` to stop. Only an atomic store: async-signal-safe.
extern "C" fn on_sigint(_: libc::c_int) {
    os::set_interrupted(true);
    os::signals::wake();
}

/// Installs the handler without SA_RESTART, so a blocking call returns
/// EINTR and can see the request. rustyline puts its own handler in place
/// while it reads a line and restores this one afterwards.
fn install_sigint() -> nix::Result<()> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let sa = SigAction::new(
        SigHandler::Handler(on_sigint),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: the handler only stores to an atomic.
    unsafe { sigaction(Signal::SIGINT, &sa) }.map(drop)
}

struct Repl {
    session: Session,
    rl: Editor<Helper, FileHistory>,
    history: Option<PathBuf>,
    /// Functions and modules the completion list was built with.
    known: (usize, usize),
}

/// What a line asks the loop to do next.
enum Next {
    Continue,
    Quit(i32),
}

/// A line-by-line session; returns the exit code.
pub fn run() -> i32 {
    let config = Config::builder()
        .auto_add_history(false)
        .completion_type(CompletionType::List)
        .max_history_size(10_000)
        .and_then(|b| b.history_ignore_dups(true))
        .map(|b| b.build());
    let rl = config.and_then(Editor::with_config);
    let mut rl: Editor<Helper, FileHistory> = match rl {
        Ok(r) => r,
        Err(e) => {
            eprintln!("nsscript: cannot start the line editor: {e}");
            return 2;
        }
    };
    let session = Session::new();
    let names = Names::from_engine(&session.engine, vec![], session.var_names());
    rl.set_helper(Some(Helper::new(names)));
    let history = history_path();
    if let Some(p) = &history {
        if p.exists() {
            if let Err(e) = rl.load_history(p) {
                eprintln!("nsscript: cannot read the history {}: {e}", p.display());
            }
        }
    }
    // The self-pipe every wait polls, and the other signals nsscript
    // passes on to its children (SIGINT is the REPL's own, below).
    os::signals::init();
    os::signals::catch(Some(libc::SIGINT));
    os::signals::nudge_editor(true);
    if let Err(e) = install_sigint() {
        eprintln!("nsscript: cannot install the Ctrl-C handler: {e}");
    }
    // Job control, like a shell: children get process groups of their own,
    // so Ctrl-C interrupts the line (or the child being waited on) and not
    // every child started earlier. Taking the terminal back from a child
    // raises SIGTTOU, which a shell ignores.
    // SAFETY: setting a signal disposition to ignore.
    unsafe { libc::signal(libc::SIGTTOU, libc::SIG_IGN) };
    os::set_job_control(true);
    let mut repl = Repl {
        session,
        rl,
        history,
        known: (0, 0),
    };
    println!(
        "nsscript {} - help() lists the functions, :help the commands, Ctrl-D quits",
        env!("CARGO_PKG_VERSION")
    );
    let code = repl.main_loop();
    process::reap_all();
    // A signal nsscript passes on ends the session as it ends a script.
    os::signals::received().map_or(code, |sig| 128 + sig)
}

impl Repl {
    fn main_loop(&mut self) -> i32 {
        loop {
            if os::signals::received().is_some() {
                return 1;
            }
            match self.rl.readline(PROMPT) {
                Ok(input) => {
                    if input.trim().is_empty() {
                        continue;
                    }
                    self.remember(&input);
                    os::set_interrupted(false);
                    let next = match input.trim_start().strip_prefix(':') {
                        Some(cmd) => self.command(cmd.trim()),
                        None => self.eval_line(&input),
                    };
                    if let Next::Quit(code) = next {
                        return code;
                    }
                    self.refresh_names();
                }
                // A signal nsscript passes on (SIGTERM...) ends the session.
                Err(_) if os::signals::received().is_some() => return 1,
                // Ctrl-C at the prompt drops the input, not the REPL.
                Err(ReadlineError::Interrupted) => continue,
                Err(ReadlineError::Eof) => return 0,
                Err(e) => {
                    eprintln!("nsscript: cannot read a line: {e}");
                    return 1;
                }
            }
        }
    }

    /// Adds a line to the history and appends it to the file at once, so
    /// a killed session keeps what it had.
    fn remember(&mut self, input: &str) {
        let _ = self.rl.add_history_entry(input);
        let Some(p) = &self.history else { return };
        if let Some(dir) = p.parent() {
            if !dir.as_os_str().is_empty() && !dir.exists() {
                let _ = std::fs::create_dir_all(dir);
            }
        }
        if let Err(e) = self.rl.append_history(p) {
            eprintln!(
                "nsscript: cannot write the history {} ({e}); history is not kept this time",
                p.display()
            );
            self.history = None;
        }
    }

    fn eval_line(&mut self, input: &str) -> Next {
        match self.session.eval("<repl>", input) {
            Ok(v) if v.is_unit() => Next::Continue,
            Ok(v) => {
                println!("{}", show::result(&v));
                Next::Continue
            }
            Err(Failed::Exit(n)) => Next::Quit(n),
            Err(Failed::Error(e)) => {
                report(&e, "<repl>", input);
                Next::Continue
            }
        }
    }

    /// Rebuilds the completion lists after a line.
    fn refresh_names(&mut self) {
        let now = (self.session.fn_names().len(), self.session.modules.len());
        let vars = self.session.var_names();
        let Some(h) = self.rl.helper_mut() else {
            return;
        };
        if now != self.known {
            h.names = Names::from_engine(&self.session.engine, self.session.fn_names(), vars);
            self.known = now;
        } else {
            h.names.vars = vars;
        }
        h.names.var_types = self.session.var_types();
    }

    fn command(&mut self, cmd: &str) -> Next {
        let (name, arg) = match cmd.split_once(char::is_whitespace) {
            Some((n, a)) => (n, a.trim()),
            None => (cmd, ""),
        };
        match name {
            "help" | "h" | "?" => self.help(),
            "quit" | "q" | "exit" => return Next::Quit(0),
            "vars" => self.vars(),
            "history" => self.show_history(),
            "load" if arg.is_empty() => {
                eprintln!("error: :load needs a FILE, as in :load lab.rhai")
            }
            "load" => return self.load(arg),
            "demo" if arg.is_empty() => list_demos(),
            "demo" => demo(arg),
            _ => eprintln!("error: unknown command :{name}; :help lists the commands"),
        }
        Next::Continue
    }

    fn help(&self) {
        let history = match &self.history {
            Some(p) => format!(
                "History: {} (NSSCRIPT_HISTORY=PATH for another file)",
                p.display()
            ),
            None => "History: not kept (NSSCRIPT_HISTORY is empty, or there is no home directory)"
                .into(),
        };
        println!(
            "\
Commands:
  :help           this text; help() lists the script functions, help(\"NAME\") shows one
  :quit           leave (also Ctrl-D at an empty prompt, or exit())
  :vars           the variables, functions and modules of this session
  :load FILE      run a script into this session: its variables and functions stay
  :history        the lines entered so far
  :demo [NAME]    run a bundled demo in a copy of nsscript; without NAME, list them
Keys:
  Tab             complete functions, variables, spawn options, namespace kinds, modules;
                  after a dot, the members of that value's type first
  Ctrl-R          search the history
  Ctrl-C          interrupt the running line (and the child it waits for), or drop the input
  Enter           runs the code, or starts another line while it is incomplete
                  (an open brace, bracket, call or string); two empty lines give up
{history}"
        );
    }

    fn vars(&self) {
        let s = &self.session;
        // Newest first; a name let again shadows the older one.
        let mut seen = std::collections::HashSet::new();
        let vars: Vec<_> = s
            .scope
            .iter_raw()
            .filter(|(n, ..)| seen.insert(*n))
            .collect();
        for (name, constant, v) in vars.into_iter().rev() {
            let value = show::compact(v);
            let value: String = if value.chars().count() > 80 {
                value.chars().take(79).chain(['…']).collect()
            } else {
                value
            };
            let kind = if constant { "const " } else { "" };
            println!("{kind}{name} = {value} : {}", show::type_name(v));
        }
        for f in s.fn_signatures() {
            println!("{f}");
        }
        for (alias, n) in &s.modules {
            println!("module {alias} ({n} functions)");
        }
    }

    fn show_history(&self) {
        let h = self.rl.history();
        for i in 0..h.len() {
            if let Ok(Some(e)) = h.get(i, rustyline::history::SearchDirection::Forward) {
                let text = e.entry.replace('\n', "\n      ");
                println!("{:>4}  {text}", i + 1);
            }
        }
    }

    /// Runs a file into the session: what it defines stays.
    fn load(&mut self, path: &str) -> Next {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: :load: cannot read {path}: {e}");
                return Next::Continue;
            }
        };
        match self.session.eval(path, &text) {
            Ok(_) => Next::Continue,
            Err(Failed::Exit(n)) => Next::Quit(n),
            Err(Failed::Error(e)) => {
                report(&e, path, &text);
                Next::Continue
            }
        }
    }
}

/// Prints an error with its position in the line (or file); after Ctrl-C
/// it starts on a line of its own, not after the echoed ^C.
fn report(e: &rhai::EvalAltResult, name: &str, text: &str) {
    let _ = std::io::stdout().flush();
    let src = Source { name, text };
    if !os::interrupted() {
        diag::print(e, Some(&src));
        return;
    }
    eprintln!();
    // The engine's progress check stops with a bare "Script terminated":
    // say why, at the same place.
    if let rhai::EvalAltResult::ErrorTerminated(_, pos) = e {
        let why = rhai::EvalAltResult::ErrorRuntime("interrupted (Ctrl-C)".into(), *pos);
        diag::print(&why, Some(&src));
    } else {
        diag::print(e, Some(&src));
    }
}

fn list_demos() {
    if bundled::DEMOS.is_empty() {
        println!("no demos are bundled in this build");
    }
    for (name, text) in bundled::DEMOS {
        println!("{name:<20} {}", bundled::description(text));
    }
}

/// Runs a bundled demo in a forked copy of the interpreter, so whatever it
/// does to its own process (unshare, setns, children, exit) stays there;
/// the session's variables and children are untouched. Ctrl-C reaches the
/// copy too and stops it the same way it stops a line.
fn demo(name: &str) {
    let Some((full, text)) = bundled::demo(name) else {
        eprintln!("error: no bundled demo named {name:?}; :demo lists them");
        return;
    };
    use nix::sys::wait::{waitpid, WaitStatus};
    use nix::unistd::{fork, ForkResult};
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: single-threaded; the child runs Rhai and ends in _exit.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            // The session's children belong to the parent.
            process::forget_all();
            let code = run_demo(full, text);
            let _ = std::io::stdout().flush();
            let _ = std::io::stderr().flush();
            // SAFETY: leaving the forked copy without running the
            // parent's destructors or atexit handlers.
            unsafe { libc::_exit(code) }
        }
        Ok(ForkResult::Parent { child }) => loop {
            match waitpid(child, None) {
                Ok(WaitStatus::Exited(_, 0)) => return,
                Ok(WaitStatus::Exited(_, code)) => {
                    println!("{full}: exit status {code}");
                    return;
                }
                Ok(WaitStatus::Signaled(_, sig, _)) => {
                    println!("{full}: killed by {sig}");
                    return;
                }
                Ok(_) => continue,
                // Ctrl-C: the copy sees it too and ends itself.
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => {
                    eprintln!("error: :demo: waitpid: {e}");
                    return;
                }
            }
        },
        Err(e) => eprintln!("error: :demo: fork failed: {e}"),
    }
}

/// In the forked copy: a fresh engine and scope, like `nsscript DEMO`.
fn run_demo(name: &str, text: &str) -> i32 {
    let engine = engine::new_engine();
    let src = Source {
        name: &format!("<bundled>/{name}"),
        text,
    };
    let ast = match engine::compile(&engine, src.name, text) {
        Ok(a) => a,
        Err(e) => {
            diag::print(&e, Some(&src));
            return 1;
        }
    };
    let mut scope = engine::scope_with_args(&[]);
    match engine::run(&engine, &mut scope, &ast) {
        Outcome::Done => 0,
        Outcome::Exit(n) => n,
        Outcome::Failed(e) => {
            diag::print(&e, Some(&src));
            1
        }
    }
}
