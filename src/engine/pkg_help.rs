//! `help()` and `help("name")`: the function reference at the prompt,
//! from the same `///` docs as `nsscript --doc`.

use super::doc;
use super::error::{invalid, RResult};
use rhai::plugin::*;
use std::io::Write;

fn out(text: &str) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(text.as_bytes());
    let _ = o.flush();
}

#[export_module(manifest)]
pub mod help_fns {
    use super::*;

    /// List every function, grouped by area, with one line on each.
    ///
    /// ```rhai
    /// help();
    /// ```
    #[rhai_fn(name = "help")]
    pub fn help_all(ctx: NativeCallContext) {
        out(&doc::overview(ctx.engine()));
    }

    /// Show a function's signatures, documentation and example (also
    /// `help("p.wait")` for a Process method), or a stdlib module's
    /// functions.
    ///
    /// ```rhai
    /// help("spawn");
    /// ```
    #[rhai_fn(name = "help", return_raw)]
    pub fn help_one(ctx: NativeCallContext, name: &str) -> RResult<()> {
        let engine = ctx.engine();
        if let Some(text) =
            doc::describe(engine, name).or_else(|| doc::describe_module(engine, name))
        {
            out(&text);
            return Ok(());
        }
        let fns = doc::functions(engine);
        let near = doc::similar(&fns, name.trim());
        let mut msg = format!("there is no function or module named {name:?}");
        if !near.is_empty() {
            msg.push_str(&format!("; did you mean {}?", near.join(", ")));
        }
        msg.push_str(" (help() lists them all)");
        Err(invalid("help", msg))
    }
}
