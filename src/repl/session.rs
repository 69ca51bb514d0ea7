//! One REPL session: an engine, a Scope that outlives each line, the
//! functions defined so far and the modules imported so far.
//!
//! Each line is compiled on its own and merged with the functions of the
//! earlier lines; after it runs its statements are dropped and its
//! functions kept (as rhai-repl does). An `import` lasts only as long as
//! the evaluation that ran it, so a line with an import ends with a call
//! that collects the imported modules, which are then registered on the
//! engine under their alias.

use crate::engine::{self, Outcome};
use rhai::{Dynamic, Engine, EvalAltResult, Module, NativeCallContext, Scope, AST};
use std::cell::RefCell;
use std::rc::Rc;

/// The function a line that imports ends with.
const COLLECT_IMPORTS: &str = "__nsscript_repl_imports";

/// How a line ended, when it did not give a value.
pub enum Failed {
    /// `exit(n)`: leave the REPL with this code.
    Exit(i32),
    Error(Box<EvalAltResult>),
}

pub struct Session {
    pub engine: Engine,
    pub scope: Scope<'static>,
    /// Functions defined so far (no statements).
    pub ast: AST,
    /// Modules imported so far: (alias, number of functions).
    pub modules: Vec<(String, usize)>,
    collected: Rc<RefCell<Vec<(String, Module)>>>,
}

impl Session {
    pub fn new() -> Session {
        let mut engine = engine::new_engine();
        let collected: Rc<RefCell<Vec<(String, Module)>>> = Rc::default();
        let sink = collected.clone();
        engine.register_fn(COLLECT_IMPORTS, move |ctx: NativeCallContext| {
            let mut v = sink.borrow_mut();
            // Newest first: keep that order, so the newest alias wins.
            v.extend(ctx.iter_imports().map(|(n, m)| (n.to_string(), m.clone())));
        });
        Session {
            engine,
            scope: engine::scope_with_args(&[]),
            ast: AST::empty(),
            modules: Vec::new(),
            collected,
        }
    }

    /// Compiles and runs `text` in the session; `name` is the source for
    /// errors and relative imports. Returns the value of the last
    /// statement (unit for a line that imports).
    pub fn eval(&mut self, name: &str, text: &str) -> Result<Dynamic, Failed> {
        let mut line = self
            .engine
            .compile_with_scope(&self.scope, text)
            .map_err(|e| Failed::Error(Box::new(e.into())))?;
        let imports = mentions_import(text);
        if imports {
            let collect = self
                .engine
                .compile(format!("{COLLECT_IMPORTS}();"))
                .map_err(|e| Failed::Error(Box::new(e.into())))?;
            line += collect;
        }
        self.ast += line;
        // The source names errors and is the base of relative imports:
        // this line's, not that of the first line merged.
        self.ast.set_source(name);
        let r = self
            .engine
            .eval_ast_with_scope::<Dynamic>(&mut self.scope, &self.ast);
        // Keep the functions (also those of a line that failed: they were
        // compiled fine), drop the statements.
        self.ast.clear_statements();
        if imports {
            self.register_imports();
        }
        r.map_err(|e| match engine::outcome(Err(e)) {
            Outcome::Exit(n) => Failed::Exit(n),
            Outcome::Failed(e) => Failed::Error(e),
            Outcome::Done => Failed::Exit(0),
        })
    }

    /// Makes the modules the last line imported visible to later lines.
    fn register_imports(&mut self) {
        let got = std::mem::take(&mut *self.collected.borrow_mut());
        // Newest first: register the oldest first so the newest wins.
        for (alias, m) in got.into_iter().rev() {
            let count = m.gen_fn_signatures_with_mapper(Into::into).count();
            if alias.is_empty() {
                self.engine.register_global_module(m.into());
                continue;
            }
            self.modules.retain(|(a, _)| *a != alias);
            self.modules.push((alias.clone(), count));
            self.engine.register_static_module(alias, m.into());
        }
    }

    /// Names of the functions defined at the prompt.
    pub fn fn_names(&self) -> Vec<String> {
        self.ast
            .iter_functions()
            .map(|f| f.name.to_string())
            .collect()
    }

    /// `fn f(a, b)` for each function defined at the prompt.
    pub fn fn_signatures(&self) -> Vec<String> {
        self.ast
            .iter_functions()
            .map(|f| format!("fn {}({})", f.name, f.params.join(", ")))
            .collect()
    }

    /// Variable names in scope.
    pub fn var_names(&self) -> Vec<String> {
        self.scope.iter().map(|(n, _, _)| n.to_string()).collect()
    }

    /// The type of each variable's current value (the newest of a name
    /// that was let again).
    pub fn var_types(&self) -> std::collections::HashMap<String, String> {
        let mut m = std::collections::HashMap::new();
        for (name, _, v) in self.scope.iter_raw() {
            m.entry(name.to_string())
                .or_insert_with(|| super::show::type_name(v));
        }
        m
    }
}

/// Does the code mention the word `import`? (A mention inside a string
/// only costs that line its printed value.)
fn mentions_import(text: &str) -> bool {
    let mut rest = text;
    while let Some(i) = rest.find("import") {
        let before = rest[..i].chars().last();
        let after = rest[i + 6..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        if !word(before) && !word(after) {
            return true;
        }
        rest = &rest[i + 6..];
    }
    false
}
