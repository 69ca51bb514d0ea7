//! Command line: parsed into a checked `Mode` before anything runs.
//!
//! Exit codes: 0 success, 1 a script error, 2 a usage error; `exit(n)` in a
//! script exits with n.

use crate::diag::{self, Source};
use crate::engine::{self, bundled, Outcome};
use std::io::{IsTerminal, Read};

const USAGE: &str = "\
nsscript - script Linux namespaces with Rhai

Usage:
  nsscript FILE [ARGS...]     run a script (a bundled name like demo/uts.rhai works anywhere)
  nsscript -e CODE [ARGS...]  run CODE
  nsscript - [ARGS...]        run a script read from standard input
  nsscript --check FILE       compile only; report syntax errors
  nsscript --list             list the bundled scripts
  nsscript --doc              print the function reference as Markdown
  nsscript                    start the REPL (or read a script from stdin when it is not a terminal)
  nsscript --help | --version

Scripts see their arguments as ARGS. Exit status: 0 ok, 1 script error, 2 usage error,
or the code given to exit(n).
";

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Mode {
    File { path: String, args: Vec<String> },
    Eval { code: String, args: Vec<String> },
    Stdin { args: Vec<String> },
    Check { path: String },
    List,
    Doc,
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
        Err(e) => match bundled::demo(path) {
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
    match engine::run(&engine, &mut scope, &ast) {
        Outcome::Done => 0,
        Outcome::Exit(n) => n,
        Outcome::Failed(e) => {
            diag::print(&e, Some(&src));
            1
        }
    }
}

fn list() -> i32 {
    for (name, text) in bundled::DEMOS {
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

/// Runs a mode; returns the process exit code.
pub fn run(mode: Mode) -> i32 {
    match mode {
        Mode::Help => {
            print!("{USAGE}");
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
            eprintln!("nsscript: {msg}\n\n{USAGE}");
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
    fn usage_errors() {
        assert!(p(&["-e"]).is_err());
        assert!(p(&["--bogus"]).is_err());
        assert!(p(&["--check"]).is_err());
        assert!(p(&["--list", "x"]).is_err());
        assert_eq!(p(&[]), Ok(Mode::Repl));
        assert_eq!(parse(&[], false), Ok(Mode::Stdin { args: vec![] }));
    }
}
