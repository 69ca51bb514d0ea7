//! Command line: parsed into a checked `Mode` before anything runs.
//!
//! Exit codes: 0 success, 1 a script error, 2 a usage error; `exit(n)` in a
//! script exits with n.

use crate::diag::{self, Source};
use crate::engine::{self, bundled, Outcome};
use crate::os;
use std::io::{IsTerminal, Read};

/// The command line, one form per line: how it is called and what it
/// does. `--help` and the man page's SYNOPSIS and OPTIONS are made from it.
pub const FORMS: &[(&str, &str)] = &[
    (
        "FILE [ARGS...]",
        "run a script (a bundled name like demo/uts.rhai or oci-run.rhai works anywhere)",
    ),
    ("-e CODE [ARGS...]", "run CODE"),
    ("- [ARGS...]", "run a script read from standard input"),
    (
        "--trace FILE | -e CODE | - [ARGS...]",
        "the same, printing every kernel-facing step on stderr as strace -f -y does",
    ),
    ("--check FILE", "compile only; report syntax errors"),
    ("--list", "list the bundled scripts and stdlib modules"),
    (
        "--doctor [--json]",
        "what this machine allows, each no with its cause and fix",
    ),
    ("--doc", "print the function reference as Markdown"),
    ("--man", "print the man page (roff)"),
    (
        "--definitions DIR",
        "write Rhai definition files (.d.rhai) for editors",
    ),
    (
        "",
        "start the REPL (or read a script from stdin when it is not a terminal)",
    ),
    ("--help", "this text"),
    ("--version", "the version"),
];

/// What `--help` prints.
pub fn usage() -> String {
    let mut s = String::from("nsscript - script Linux namespaces with Rhai\n\nUsage:\n");
    for (form, what) in FORMS {
        let call = format!("nsscript {form}");
        let call = call.trim_end();
        if call.len() < 28 {
            s.push_str(&format!("  {call:<27} {what}\n"));
        } else {
            s.push_str(&format!("  {call}\n  {:<27} {what}\n", ""));
        }
    }
    s.push_str(
        "\nScripts see their arguments as ARGS. Exit status: 0 ok, 1 script error, 2 usage error,\nor the code given to exit(n).\n",
    );
    s
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Mode {
    File {
        path: String,
        args: Vec<String>,
    },
    Eval {
        code: String,
        args: Vec<String>,
    },
    Stdin {
        args: Vec<String>,
    },
    /// A script (or the REPL) with every kernel-facing step printed.
    Traced(Box<Mode>),
    Check {
        path: String,
    },
    List,
    Doctor {
        json: bool,
    },
    Doc,
    Man,
    Definitions {
        dir: String,
    },
    Repl,
    Help,
    Version,
}

/// A usage error: the message for stderr.
#[derive(Debug, PartialEq, Eq)]
pub struct Usage(pub String);

/// Parses arguments (without argv[0]). Everything after the script (or -e
/// CODE) belongs to the script, flags included.
pub fn parse(args: &[String], stdin_is_tty: bool) -> Result<Mode, Usage> {
    let mut it = args.iter();
    let Some(first) = it.next() else {
        return Ok(if stdin_is_tty {
            Mode::Repl
        } else {
            Mode::Stdin { args: vec![] }
        });
    };
    let rest = || it.clone().cloned().collect::<Vec<_>>();
    let only = |m: Mode| {
        if args.len() == 1 {
            Ok(m)
        } else {
            Err(Usage(format!("{first} takes no arguments")))
        }
    };
    match first.as_str() {
        "-h" | "--help" => only(Mode::Help),
        "-V" | "--version" => only(Mode::Version),
        "--list" => only(Mode::List),
        "--doc" => only(Mode::Doc),
        "--man" => only(Mode::Man),
        "--doctor" | "--json" => match (first.as_str(), it.next().map(String::as_str), it.next()) {
            ("--doctor", None, _) => Ok(Mode::Doctor { json: false }),
            ("--doctor", Some("--json"), None) | ("--json", Some("--doctor"), None) => {
                Ok(Mode::Doctor { json: true })
            }
            ("--json", ..) => Err(Usage("--json goes with --doctor: nsscript --doctor --json".into())),
            _ => Err(Usage("--doctor takes only --json".into())),
        },
        "--definitions" => match (it.next(), it.next()) {
            (Some(d), None) if !d.is_empty() => Ok(Mode::Definitions { dir: d.clone() }),
            _ => Err(Usage(
                "--definitions takes exactly one DIR, as in: nsscript --definitions .rhai/definitions".into(),
            )),
        },
        "-e" | "--eval" => {
            let code = it.next().ok_or_else(|| {
                Usage("-e needs CODE, as in: nsscript -e 'print(hostname())'".into())
            })?;
            Ok(Mode::Eval {
                code: code.clone(),
                args: rest_of(&mut it),
            })
        }
        "--check" => match (it.next(), it.next()) {
            (Some(p), None) => Ok(Mode::Check { path: p.clone() }),
            _ => Err(Usage("--check takes exactly one FILE".into())),
        },
        "-" => Ok(Mode::Stdin { args: rest() }),
        "--trace" => {
            let inner = parse(&rest(), stdin_is_tty)?;
            match inner {
                Mode::File { .. } | Mode::Eval { .. } | Mode::Stdin { .. } | Mode::Repl => {
                    Ok(Mode::Traced(Box::new(inner)))
                }
                _ => Err(Usage(
                    "--trace goes before a script: nsscript --trace FILE, --trace -e CODE or --trace -"
                        .into(),
                )),
            }
        }
        "--" => match it.next() {
            Some(p) => Ok(Mode::File {
                path: p.clone(),
                args: rest_of(&mut it),
            }),
            None => Err(Usage("-- needs a FILE".into())),
        },
        f if f.starts_with('-') => Err(Usage(format!("unknown option {f}"))),
        path => Ok(Mode::File {
            path: path.to_string(),
            args: rest(),
        }),
    }
}

fn rest_of(it: &mut std::slice::Iter<String>) -> Vec<String> {
    it.cloned().collect()
}

/// Finds a script: a file on disk wins, then a bundled one.
fn load(path: &str) -> Result<(String, String), String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok((path.to_string(), text)),
        Err(e) => match bundled::script(path) {
            Some((name, text)) => Ok((format!("<bundled>/{name}"), text.to_string())),
            None => Err(format!(
                "cannot read {path}: {e}{}",
                if path.starts_with("demo/") || !path.contains('/') {
                    " (nsscript --list shows the bundled scripts)"
                } else {
                    ""
                }
            )),
        },
    }
}

/// Runs a script's text and turns the outcome into an exit code.
fn run_text(name: &str, text: &str, args: &[String]) -> i32 {
    let src = Source { name, text };
    // Compile first, then load the library the cheaper way for what the
    // script calls.
    let ast = match engine::compile(&engine::parser(), name, text) {
        Ok(a) => a,
        Err(e) => {
            diag::print(&e, Some(&src));
            return 1;
        }
    };
    let engine = engine::new_engine_with(engine::Library::for_script(&ast));
    let mut scope = engine::scope_with_args(args);
    take_signals();
    let outcome = engine::run(&engine, &mut scope, &ast);
    // A signal ended the script: its children had it too (with a grace
    // period), and nsscript ends as a shell reports a death by that signal.
    if let Some(sig) = os::signals::received() {
        return 128 + sig;
    }
    match outcome {
        Outcome::Done => 0,
        Outcome::Exit(n) => n,
        Outcome::Failed(e) => {
            diag::print(&e, Some(&src));
            1
        }
    }
}

/// A script catches the signals it forwards to its children
/// (os::signals). On a terminal it does job control as a shell does: a
/// child waited for with the terminal as stdin is the foreground job, so
/// Ctrl-C in `sh` run by `demo/uts.rhai -i` reaches the shell, not
/// nsscript. Taking the terminal back from the background raises SIGTTOU,
/// which a shell ignores.
fn take_signals() {
    os::signals::init();
    os::signals::catch(None);
    if std::io::stdin().is_terminal() {
        // SAFETY: setting a disposition at start, before any child.
        unsafe { libc::signal(libc::SIGTTOU, libc::SIG_IGN) };
        os::set_job_control(true);
    }
}

fn list() -> i32 {
    for (name, text) in bundled::DEMOS.iter().chain(bundled::SCRIPTS) {
        println!("{name:<20} {}", bundled::description(text));
    }
    for (name, text) in bundled::STDLIB {
        println!(
            "{:<20} {}",
            format!("import \"{name}\""),
            bundled::description(text)
        );
    }
    0
}

fn check(path: &str) -> i32 {
    match load(path) {
        Ok((name, text)) => match engine::compile(&engine::parser(), &name, &text) {
            Ok(_) => 0,
            Err(e) => {
                diag::print(
                    &e,
                    Some(&Source {
                        name: &name,
                        text: &text,
                    }),
                );
                1
            }
        },
        Err(msg) => {
            eprintln!("nsscript: {msg}");
            2
        }
    }
}

/// Writes the editor definitions into `dir` and names the files.
fn definitions(dir: &str) -> i32 {
    match engine::doc::write_definitions(std::path::Path::new(dir)) {
        Ok(files) => {
            for f in files {
                println!("{}", f.display());
            }
            0
        }
        Err(e) => {
            eprintln!("nsscript: --definitions {dir}: {e}");
            1
        }
    }
}

/// Runs a mode; returns the process exit code.
pub fn run(mode: Mode) -> i32 {
    match mode {
        Mode::Help => {
            print!("{}", usage());
            0
        }
        Mode::Version => {
            println!("nsscript {}", env!("CARGO_PKG_VERSION"));
            0
        }
        Mode::List => list(),
        Mode::Doc => {
            print!("{}", engine::doc::markdown(&engine::new_engine()));
            0
        }
        Mode::Man => {
            print!("{}", engine::doc::man_page(&engine::new_engine(), FORMS));
            0
        }
        Mode::Doctor { json } => {
            let report = crate::os::doctor::examine();
            if json {
                match serde_json::to_string_pretty(&report.to_json()) {
                    Ok(text) => println!("{text}"),
                    Err(e) => {
                        eprintln!("nsscript: --doctor --json: {e}");
                        return 1;
                    }
                }
            } else {
                print!("{}", report.render());
            }
            0
        }
        Mode::Definitions { dir } => definitions(&dir),
        Mode::Check { path } => check(&path),
        Mode::File { path, args } => match load(&path) {
            Ok((name, text)) => run_text(&name, &text, &args),
            Err(msg) => {
                eprintln!("nsscript: {msg}");
                2
            }
        },
        Mode::Eval { code, args } => run_text("<-e>", &code, &args),
        Mode::Stdin { args } => {
            let mut text = String::new();
            if let Err(e) = std::io::stdin().read_to_string(&mut text) {
                eprintln!("nsscript: cannot read the script from stdin: {e}");
                return 2;
            }
            run_text("<stdin>", &text, &args)
        }
        Mode::Repl => crate::repl::run(),
        Mode::Traced(mode) => {
            crate::os::trace::set_enabled(true);
            run(*mode)
        }
    }
}

/// The whole program: parse, run, exit code.
pub fn main() -> i32 {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    match parse(&args, std::io::stdin().is_terminal()) {
        Ok(mode) => run(mode),
        Err(Usage(msg)) => {
            eprintln!("nsscript: {msg}\n\n{}", usage());
            2
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: &[&str]) -> Result<Mode, Usage> {
        parse(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>(), true)
    }

    #[test]
    fn script_args_keep_their_flags() {
        assert_eq!(
            p(&["demo/uts.rhai", "-i", "x"]),
            Ok(Mode::File {
                path: "demo/uts.rhai".into(),
                args: vec!["-i".into(), "x".into()]
            })
        );
        assert_eq!(
            p(&["-e", "1", "a"]),
            Ok(Mode::Eval {
                code: "1".into(),
                args: vec!["a".into()]
            })
        );
    }

    #[test]
    fn doctor_definitions_and_man() {
        assert_eq!(p(&["--doctor"]), Ok(Mode::Doctor { json: false }));
        assert_eq!(p(&["--doctor", "--json"]), Ok(Mode::Doctor { json: true }));
        assert_eq!(p(&["--json", "--doctor"]), Ok(Mode::Doctor { json: true }));
        assert_eq!(
            p(&["--definitions", "defs"]),
            Ok(Mode::Definitions { dir: "defs".into() })
        );
        assert_eq!(p(&["--man"]), Ok(Mode::Man));
    }

    #[test]
    fn trace_goes_before_a_script() {
        let traced = |m: Mode| Ok(Mode::Traced(Box::new(m)));
        assert_eq!(
            p(&["--trace", "demo/uts.rhai", "-i"]),
            traced(Mode::File {
                path: "demo/uts.rhai".into(),
                args: vec!["-i".into()]
            })
        );
        assert_eq!(
            p(&["--trace", "-e", "1"]),
            traced(Mode::Eval {
                code: "1".into(),
                args: vec![]
            })
        );
        assert_eq!(
            p(&["--trace", "-", "a"]),
            traced(Mode::Stdin {
                args: vec!["a".into()]
            })
        );
        assert_eq!(p(&["--trace"]), traced(Mode::Repl));
        // A script argument named --trace stays the script's.
        assert_eq!(
            p(&["x.rhai", "--trace"]),
            Ok(Mode::File {
                path: "x.rhai".into(),
                args: vec!["--trace".into()]
            })
        );
        for bad in [
            &["--trace", "--doc"][..],
            &["--trace", "--trace", "x"],
            &["--trace", "-e"],
            &["--trace", "--check", "x"],
        ] {
            assert!(p(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn usage_errors() {
        assert!(p(&["-e"]).is_err());
        assert!(p(&["--bogus"]).is_err());
        assert!(p(&["--check"]).is_err());
        assert!(p(&["--list", "x"]).is_err());
        assert!(p(&["--json"]).is_err());
        assert!(p(&["--doctor", "--yaml"]).is_err());
        assert!(p(&["--definitions"]).is_err());
        assert!(p(&["--definitions", "a", "b"]).is_err());
        assert!(p(&["--man", "x"]).is_err());
        assert_eq!(p(&[]), Ok(Mode::Repl));
        assert_eq!(parse(&[], false), Ok(Mode::Stdin { args: vec![] }));
    }
}
