//! The interactive loop.

use crate::diag;
use crate::engine::{self, Outcome};
use rustyline::error::ReadlineError;

/// A line-by-line session: variables persist across lines.
pub fn run() -> i32 {
    let engine = engine::new_engine();
    let mut scope = engine::scope_with_args(&[]);
    let mut rl = match rustyline::DefaultEditor::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("nsscript: cannot start the line editor: {e}");
            return 2;
        }
    };
    println!("nsscript {} — Ctrl-D to quit", env!("CARGO_PKG_VERSION"));
    loop {
        match rl.readline("ns> ") {
            Ok(line) => {
                let _ = rl.add_history_entry(line.as_str());
                let r = engine.eval_with_scope::<rhai::Dynamic>(&mut scope, &line);
                match r {
                    Ok(v) if !v.is_unit() => println!("{v:?}"),
                    Ok(_) => {}
                    Err(e) => match engine::outcome(Err(e)) {
                        Outcome::Exit(n) => return n,
                        Outcome::Failed(e) => diag::print(
                            &e,
                            Some(&diag::Source {
                                name: "<repl>",
                                text: &line,
                            }),
                        ),
                        Outcome::Done => {}
                    },
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(_) => break,
        }
    }
    engine::process::reap_all();
    0
}
