//! Rhai wiring: the packages of script functions, the `spawn` syntax,
//! constants, limits and the module resolver.

pub mod bundled;
pub mod doc;
pub mod error;
pub mod opts;
pub mod pkg_core;
pub mod pkg_doctor;
pub mod pkg_help;
pub mod pkg_ipc;
pub mod pkg_mount;
pub mod pkg_net;
pub mod pkg_ns;
pub mod pkg_proc;
pub mod pkg_topo;
pub mod pkg_trace;
pub mod process;

use error::RResult;
use rhai::plugin::*;
use rhai::{Array, Dynamic, Engine, EvalAltResult, Map, Module, Scope, AST};

/// The CLONE_NEW* and IPC constants scripts see, as in the C and Go APIs.
pub fn constants() -> Vec<(&'static str, i64)> {
    use crate::os::ns::Namespace;
    let mut v: Vec<(&'static str, i64)> = Namespace::ALL
        .iter()
        .map(|n| (n.flag_name(), n.clone_flag().bits() as i64))
        .collect();
    v.sort_by_key(|(_, b)| *b);
    v.extend(pkg_ipc::CONSTANTS.iter().copied());
    v.extend(pkg_mount::constants());
    v
}

/// The global module: every script function, documented.
fn global_module() -> Module {
    let mut m = Module::new();
    // Manifests: loaded lazily or eagerly as `Library` decides.
    m.combine_manifest(&pkg_core::core_fns::RHAI_MANIFEST);
    m.combine_manifest(&pkg_proc::proc_fns::RHAI_MANIFEST);
    m.combine_manifest(&exit_fns::RHAI_MANIFEST);
    m.combine_manifest(&pkg_help::help_fns::RHAI_MANIFEST);
    m.combine_manifest(&pkg_ipc::ipc_fns::RHAI_MANIFEST);
    m.combine_manifest(&pkg_net::net_fns::RHAI_MANIFEST);
    m.combine_manifest(&pkg_topo::topo_fns::RHAI_MANIFEST);
    m.combine_manifest(&pkg_mount::mount_fns::RHAI_MANIFEST);
    m.combine_manifest(&pkg_ns::ns_fns::RHAI_MANIFEST);
    m.combine_manifest(&pkg_doctor::doctor_fns::RHAI_MANIFEST);
    m.combine_manifest(&pkg_trace::trace_fns::RHAI_MANIFEST);
    for (name, value) in constants() {
        m.set_var(name, value);
    }
    m
}

/// `spawn` is a reserved word in Rhai: claim it as syntax taking one or two
/// expressions in parentheses, `spawn(cmd)` or `spawn(cmd, opts)`.
fn register_spawn_syntax(engine: &mut Engine) {
    engine.register_custom_syntax_with_state_raw(
        "spawn",
        |symbols, look_ahead, _state| {
            let arity = |what: &str| {
                Err(rhai::ParseError(
                    Box::new(rhai::ParseErrorType::BadInput(
                        rhai::LexError::ImproperSymbol(
                            "spawn".into(),
                            format!("spawn {what}: spawn(cmd) or spawn(cmd, opts)"),
                        ),
                    )),
                    rhai::Position::NONE,
                ))
            };
            let next = match symbols.len() {
                // `()` is one token to Rhai (the unit value).
                1 | 2 if look_ahead == "()" || look_ahead == ")" => {
                    return arity("needs a command")
                }
                1 => "(",
                2 => "$expr$",
                3 if look_ahead == "," => ",",
                3 => ")",
                4 if symbols[3] == ")" => return Ok(None),
                4 => "$expr$",
                5 if look_ahead == "," => return arity("takes one or two arguments"),
                5 => ")",
                _ => return Ok(None),
            };
            Ok(Some(next.into()))
        },
        false,
        |ctx, inputs, _state| {
            let pos = inputs[0].position();
            spawn_syntax(ctx, inputs).map_err(|mut e| {
                if e.position().is_none() {
                    e.set_position(pos);
                }
                e
            })
        },
    );
}

/// The name a module's `fn spawn` has inside: `spawn` is a reserved word of
/// Rhai's (taken by the syntax above), and no function may be called that.
pub const MODULE_SPAWN: &str = "spawn_";

/// After `fn` and after `::`, `spawn` names a module's own function
/// (`MODULE_SPAWN`): a module can define `fn spawn(...)`, called as
/// `container::spawn(...)`, while `spawn(...)` stays the syntax above
/// everywhere else.
fn spawn_as_a_name(engine: &mut Engine) {
    use rhai::Token;
    let name_follows = std::cell::Cell::new(false);
    #[allow(deprecated)]
    engine.on_parse_token(move |token, _, _| {
        let plain = name_follows.replace(matches!(token, Token::DoubleColon | Token::Fn));
        match token {
            Token::Custom(s) | Token::Reserved(s) if plain && s.as_str() == "spawn" => {
                Token::Identifier(Box::new(MODULE_SPAWN.into()))
            }
            t => t,
        }
    });
}

/// A function's name as scripts write it (`spawn` for `MODULE_SPAWN`).
pub fn shown_name(name: &str) -> &str {
    if name == MODULE_SPAWN {
        "spawn"
    } else {
        name
    }
}

/// Evaluates `spawn(cmd)` / `spawn(cmd, opts)`.
fn spawn_syntax(ctx: &mut rhai::EvalContext, inputs: &[rhai::Expression]) -> RResult<Dynamic> {
    let cmd = ctx.eval_expression_tree(&inputs[0])?;
    let opts = match inputs.get(1) {
        Some(e) => {
            let v = ctx.eval_expression_tree(e)?;
            let t = opts::type_name(&v);
            v.try_cast::<Map>().ok_or_else(|| {
                error::invalid(
                    "spawn",
                    format!("options must be a map like #{{ns: [\"uts\"]}}, not {t}"),
                )
            })?
        }
        None => Map::new(),
    };
    pkg_proc::spawn_impl(&cmd, &opts).map(Dynamic::from)
}

/// How the function library is loaded into an engine.
///
/// Rhai's lazy packages look a function up in their manifests only when a
/// script first calls it, but each first call of a distinct function scans
/// (and hashes) every lazy entry. Eager registration costs a fixed amount
/// up front and nothing per call. A script that calls a handful of distinct
/// functions is fastest lazy; one that calls many, eager (bench/README.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Library {
    Lazy,
    Eager,
}

/// Distinct functions a script may call before eager loading pays off
/// (measured: a lazy first call costs about a sixth of eager loading).
const LAZY_CALLS: usize = 6;

impl Library {
    /// The cheaper way to load the library for this compiled script.
    pub fn for_script(ast: &AST) -> Library {
        // Functions defined in the script or pulled in with import call
        // more than the main body shows: load everything.
        if ast.iter_functions().next().is_some() || has_import(ast) {
            return Library::Eager;
        }
        if distinct_calls(ast) > LAZY_CALLS {
            Library::Eager
        } else {
            Library::Lazy
        }
    }
}

fn has_import(ast: &AST) -> bool {
    let mut found = false;
    ast.walk(&mut |path: &[rhai::ASTNode]| {
        if let Some(rhai::ASTNode::Stmt(rhai::Stmt::Import(..))) = path.last() {
            found = true;
        }
        !found
    });
    found
}

/// The number of distinct function, method and property names a script
/// calls (operators are served by Rhai's built-ins and are not counted).
fn distinct_calls(ast: &AST) -> usize {
    use rhai::{ASTNode, Expr};
    let mut names = std::collections::HashSet::new();
    ast.walk(&mut |path: &[ASTNode]| {
        match path.last() {
            Some(ASTNode::Expr(Expr::FnCall(x, _)))
            | Some(ASTNode::Expr(Expr::MethodCall(x, _)))
                if !x.is_operator_call() =>
            {
                names.insert(x.name.clone());
            }
            Some(ASTNode::Expr(Expr::Property(x, _))) => {
                names.insert(x.0 .0.clone());
            }
            _ => {}
        }
        true
    });
    names.len()
}

/// An engine that only parses: enough to compile a script and choose how
/// to load the library for running it.
pub fn parser() -> Engine {
    let mut engine = Engine::new_raw();
    register_spawn_syntax(&mut engine);
    spawn_as_a_name(&mut engine);
    set_limits(&mut engine);
    engine
}

fn set_limits(engine: &mut Engine) {
    // No AST optimization pass: a script runs once, right after it is
    // compiled, and mostly waits on system calls. The pass cost a fifth of
    // the compile of a long script (oci-run.rhai: 8.3M instructions with
    // it, 6.9M without) and saved nothing measurable at run time.
    engine.set_optimization_level(rhai::OptimizationLevel::None);
    // Explicit limits: debug builds default to a call depth of 8.
    engine.set_max_call_levels(256);
    engine.set_max_expr_depths(256, 128);
}

/// A ready engine with every nsscript function, loaded eagerly (the REPL,
/// the documentation, anything that calls many functions).
pub fn new_engine() -> Engine {
    new_engine_with(Library::Eager)
}

/// A ready engine with every nsscript function, loaded as asked.
pub fn new_engine_with(library: Library) -> Engine {
    use rhai::packages::{Package, StandardPackage};
    let mut engine = Engine::new_raw();
    let mut ours = global_module();
    match library {
        Library::Lazy => {
            StandardPackage::new_lazy().register_into_engine(&mut engine);
        }
        Library::Eager => {
            StandardPackage::new().register_into_engine(&mut engine);
            ours.register_lazy_functions();
        }
    }
    engine.register_type_with_name::<process::Process>("Process");
    engine.register_type_with_name::<pkg_topo::Topology>("Topology");
    engine.register_global_module(ours.into());
    register_spawn_syntax(&mut engine);
    spawn_as_a_name(&mut engine);
    engine.set_module_resolver(bundled::Resolver::new());
    set_limits(&mut engine);
    engine.on_print(|s| {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        if let Err(e) = writeln!(out, "{s}") {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                process::stdout_closed();
            }
        }
    });
    engine.on_debug(|s, src, pos| {
        eprintln!(
            "{}{pos:?} | {s}",
            src.map(|s| format!("{s} @ ")).unwrap_or_default()
        );
    });
    engine.on_progress(|_| {
        if crate::os::interrupted() {
            Some("interrupted".into())
        } else {
            None
        }
    });
    engine
}

/// A scope with `ARGS` (the script's arguments).
///
/// The constants (CLONE_NEW*, MS_*, IPC_*) are in the scope too, not only
/// in the global module: a closure captures the variables it uses from the
/// scope, and `|| mount(..., MS_NOSUID, ...)` must find them there.
pub fn scope_with_args(args: &[String]) -> Scope<'static> {
    let mut scope = Scope::new();
    for (name, value) in constants() {
        scope.push_constant(name, value);
    }
    let a: Array = args.iter().cloned().map(Dynamic::from).collect();
    scope.push_constant("ARGS", a);
    scope
}

/// Compiles a script, naming its source for errors and relative imports.
pub fn compile(engine: &Engine, name: &str, text: &str) -> RResult<AST> {
    let mut ast = engine
        .compile(text)
        .map_err(|e| Box::new(EvalAltResult::from(e)))?;
    ast.set_source(name);
    Ok(ast)
}

/// What ended a script.
pub enum Outcome {
    Done,
    /// `exit(n)`: the code to exit with.
    Exit(i32),
    Failed(Box<EvalAltResult>),
}

/// Runs a compiled script; every child still running at the end is killed
/// and reaped.
pub fn run(engine: &Engine, scope: &mut Scope, ast: &AST) -> Outcome {
    let r = engine.run_ast_with_scope(scope, ast);
    process::reap_all();
    outcome(r)
}

/// Maps an evaluation result to an outcome (`exit(n)` is not an error).
pub fn outcome(r: Result<(), Box<EvalAltResult>>) -> Outcome {
    match r {
        Ok(()) => Outcome::Done,
        Err(e) => match *e {
            EvalAltResult::Exit(v, _) => Outcome::Exit(exit_code(&v)),
            EvalAltResult::ErrorTerminated(ref v, _) if v.is::<ExitRequest>() => {
                Outcome::Exit(v.clone().cast::<ExitRequest>().0)
            }
            other => Outcome::Failed(Box::new(other)),
        },
    }
}

/// The token `exit(n)` ends a script with. Rhai's own `exit` would be
/// turned into a return value by `run_ast`; a termination token cannot be
/// caught by `try` and reaches the caller intact.
#[derive(Clone)]
pub struct ExitRequest(pub i32);

#[export_module(manifest)]
pub mod exit_fns {
    use super::*;

    /// End the script now with exit status `code` (0-255); children still
    /// running are killed and reaped first.
    ///
    /// ```rhai
    /// if uid() != 0 { exit(77); }
    /// ```
    #[rhai_fn(name = "exit", return_raw)]
    pub fn exit_code_fn(code: Dynamic) -> RResult<()> {
        Err(EvalAltResult::ErrorTerminated(
            Dynamic::from(ExitRequest(exit_code(&code))),
            rhai::Position::NONE,
        )
        .into())
    }

    /// End the script now with exit status 0.
    #[rhai_fn(name = "exit", return_raw)]
    pub fn exit0() -> RResult<()> {
        exit_code_fn(Dynamic::UNIT)
    }
}

fn exit_code(v: &Dynamic) -> i32 {
    if v.is_unit() {
        0
    } else if let Ok(n) = v.as_int() {
        n.clamp(0, 255) as i32
    } else if let Ok(b) = v.as_bool() {
        i32::from(!b)
    } else {
        1
    }
}

#[cfg(test)]
mod library_tests {
    use super::*;

    fn choice(code: &str) -> Library {
        let ast = compile(&parser(), "t", code).expect("compiles");
        Library::for_script(&ast)
    }

    #[test]
    fn few_calls_stay_lazy_many_load_eagerly() {
        assert_eq!(choice("1"), Library::Lazy);
        assert_eq!(choice(r#"spawn("true").wait()"#), Library::Lazy);
        assert_eq!(
            choice("let a = [1]; a.push(2); a.len(); a.pop(); a.clear(); a.sort(); a.reverse(); a.is_empty"),
            Library::Eager
        );
        assert_eq!(choice("fn f() { 1 } f()"), Library::Eager);
        assert_eq!(choice(r#"import "x" as x;"#), Library::Eager);
    }

    #[test]
    fn both_libraries_run_the_same_script() {
        let code = r#"let s = "a,b"; let p = s.split(","); p.len() + CLONE_NEWUTS"#;
        let ast = compile(&parser(), "t", code).expect("compiles");
        for lib in [Library::Lazy, Library::Eager] {
            let e = new_engine_with(lib);
            let v: i64 = e.eval_ast(&ast).expect("runs");
            assert_eq!(v, 2 + libc::CLONE_NEWUTS as i64, "{lib:?}");
        }
    }
}
