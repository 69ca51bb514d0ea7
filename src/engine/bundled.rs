//! Scripts and modules compiled into the binary, and the module resolver
//! that finds `import "NAME"`: stdlib first, then files next to the script.

use rhai::module_resolvers::FileModuleResolver;
use rhai::{Engine, EvalAltResult, Module, ModuleResolver, Position, Scope, Shared};

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));

/// A bundled demo by name: "demo/uts.rhai" (also "uts" or "uts.rhai").
pub fn demo(name: &str) -> Option<(&'static str, &'static str)> {
    let want = name.trim_start_matches("./");
    DEMOS.iter().copied().find(|(n, _)| {
        *n == want
            || n.strip_prefix("demo/") == Some(want)
            || n.strip_prefix("demo/")
                .and_then(|s| s.strip_suffix(".rhai"))
                == Some(want)
    })
}

/// A bundled script by name: a demo (see `demo`), or one of scripts/
/// ("oci-run.rhai", also "oci-run").
pub fn script(name: &str) -> Option<(&'static str, &'static str)> {
    demo(name).or_else(|| {
        let want = name.trim_start_matches("./");
        SCRIPTS
            .iter()
            .copied()
            .find(|(n, _)| *n == want || n.strip_suffix(".rhai") == Some(want))
    })
}

/// The one-line description from a script's `//!` header.
pub fn description(text: &str) -> &str {
    text.lines()
        .find_map(|l| l.strip_prefix("//!"))
        .map(str::trim)
        .unwrap_or("")
}

/// Resolves stdlib modules from memory and everything else from disk,
/// relative to the importing script.
pub struct Resolver {
    files: FileModuleResolver,
}

impl Default for Resolver {
    fn default() -> Self {
        Self::new()
    }
}

impl Resolver {
    pub fn new() -> Self {
        Resolver {
            files: FileModuleResolver::new(),
        }
    }
}

impl Resolver {
    /// A module file, relative to the importing script's folder. Its AST is
    /// named by the full path, so an error inside its functions quotes the
    /// right file.
    fn resolve_file(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        let dir = source.and_then(|s| std::path::Path::new(s).parent());
        let file = self.files.get_file_path(path, dir);
        let text = std::fs::read_to_string(&file).map_err(|_| {
            Box::new(EvalAltResult::ErrorModuleNotFound(
                format!("{path} (looked for {})", file.display()),
                pos,
            ))
        })?;
        let name = file.to_string_lossy().into_owned();
        let in_module =
            |e: Box<EvalAltResult>| Box::new(EvalAltResult::ErrorInModule(name.clone(), e, pos));
        let mut ast = engine
            .compile(&text)
            .map_err(|e| in_module(Box::new(e.into())))?;
        ast.set_source(name.as_str());
        let m = Module::eval_ast_as_new(Scope::new(), &ast, engine).map_err(in_module)?;
        Ok(m.into())
    }
}

impl ModuleResolver for Resolver {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        if let Some((name, text)) = STDLIB.iter().find(|(n, _)| *n == path) {
            let mut ast = engine.compile(text).map_err(|e| {
                Box::new(EvalAltResult::ErrorInModule(
                    name.to_string(),
                    Box::new(e.into()),
                    pos,
                ))
            })?;
            ast.set_source(format!("<stdlib>/{name}.rhai"));
            let m = Module::eval_ast_as_new(Scope::new(), &ast, engine)
                .map_err(|e| Box::new(EvalAltResult::ErrorInModule(name.to_string(), e, pos)))?;
            return Ok(m.into());
        }
        self.resolve_file(engine, source, path, pos)
    }
}
