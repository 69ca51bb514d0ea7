//! The documents made from the functions' own docs: docs/reference.md and
//! man/nsscript.1 equal what the binary generates now, the man page renders
//! with man(1) without a warning, and the editor definitions declare every
//! documented function with its parameter types.

use crate::util::{self, guarded, Scratch};
use std::collections::BTreeMap;
use std::path::Path;

fn repo_file(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// docs/reference.md is what `nsscript --doc` prints now.
#[test]
fn the_reference_file_matches_the_code() {
    guarded(|| {
        let doc = util::run(&["--doc"]);
        doc.ok();
        assert!(
            repo_file("docs/reference.md") == doc.stdout,
            "docs/reference.md is out of date: run scripts/gen-reference.sh"
        );
        // README introduces and links; the reference lives in its file.
        let readme = repo_file("README.md");
        assert!(
            readme.contains("docs/reference.md"),
            "README links the reference"
        );
        assert!(
            readme.contains("man/nsscript.1"),
            "README says how to install the man page"
        );
        assert!(
            !readme.contains("#### `spawn()`"),
            "the function reference belongs in docs/reference.md, not README.md"
        );
    });
}

/// man/nsscript.1 is what `nsscript --man` prints now, and gen-reference.sh
/// agrees that both files are current.
#[test]
fn the_man_page_matches_the_code() {
    guarded(|| {
        let man = util::run(&["--man"]);
        man.ok();
        assert!(
            repo_file("man/nsscript.1") == man.stdout,
            "man/nsscript.1 is out of date: run scripts/gen-reference.sh"
        );
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/gen-reference.sh");
        let r = util::output(
            std::process::Command::new("bash")
                .arg(script)
                .arg("--check")
                .env("NSSCRIPT", util::bin()),
        );
        r.ok();
        assert_eq!(r.lines().len(), 2, "{}", r.stdout);
    });
}

/// `man --warnings -l` formats the page with every groff warning on;
/// nothing may be printed on stderr.
#[test]
fn the_man_page_renders_without_warnings() {
    guarded(|| {
        if util::which("man").is_none() || util::which("groff").is_none() {
            eprintln!(
                "SKIP: man or groff is not installed (.ci/run installs man-db and groff-base)"
            );
            return;
        }
        let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("man/nsscript.1");
        let r = util::output(
            std::process::Command::new("man")
                .args(["--warnings", "-l"])
                .arg(&page)
                .env("LC_ALL", "C.UTF-8")
                .env("MANWIDTH", "80")
                .env("MANPAGER", "cat")
                .env("PAGER", "cat"),
        );
        r.ok();
        assert!(r.stderr.is_empty(), "man printed warnings:\n{}", r.stderr);
        let text = r.stdout.replace(['\u{2010}', '\u{2212}'], "-");
        for want in [
            "NSSCRIPT(1)",
            "SYNOPSIS",
            "nsscript --doctor [--json]",
            "FUNCTIONS",
            "spawn(cmd, opts: map) -> Process",
            "p.wait() -> int",
            "doctor() -> map",
            "let p = spawn(\"true\");",
            "CLONE_NEWUTS",
            "SEE ALSO",
        ] {
            assert!(text.contains(want), "the rendered page lacks {want:?}");
        }
    });
}

/// A `--doc` signature as a definition file declares it:
/// `p.wait() -> int` is `fn wait(p: Process) -> int;`.
fn declaration(sig: &str) -> String {
    let ty = |t: &str| match t.trim() {
        "" => "?".to_string(),
        "any" => "?".into(),
        "string" => "String".into(),
        "array" => "Array".into(),
        "map" => "Map".into(),
        "blob" => "Blob".into(),
        "Fn" => "FnPtr".into(),
        t => t.to_string(),
    };
    let (call, ret) = match sig.split_once(" -> ") {
        Some((c, r)) => (c, ty(r)),
        None => (sig, "()".to_string()),
    };
    let receiver = |r: &str| match r {
        "p" => "p: Process".to_string(),
        "t" => "t: Topology".to_string(),
        other => panic!("unknown receiver {other} in {sig}"),
    };
    let params = |p: &str| -> Vec<String> {
        p.split(", ")
            .filter(|a| !a.is_empty())
            .map(|a| match a.split_once(": ") {
                Some((n, t)) => format!("{n}: {}", ty(t)),
                None => format!("{a}: ?"),
            })
            .collect()
    };
    if let Some((r, rest)) = call.split_once('.') {
        if let Some((prop, value)) = rest.split_once(" = ") {
            return format!("fn set {prop}({}, {value}: ?) -> ();", receiver(r));
        }
        if let Some((name, args)) = rest.split_once('(') {
            let mut all = vec![receiver(r)];
            all.extend(params(args.trim_end_matches(')')));
            return format!("fn {name}({}) -> {ret};", all.join(", "));
        }
        return format!("fn get {rest}({}) -> {ret};", receiver(r));
    }
    let (name, args) = call.split_once('(').unwrap_or((call, ")"));
    format!(
        "fn {name}({}) -> {ret};",
        params(args.trim_end_matches(')')).join(", ")
    )
}

#[test]
fn definitions_declare_every_documented_function() {
    guarded(|| {
        let dir = Scratch::new("definitions");
        let out = dir.path("defs");
        let r = util::run(&["--definitions", &out]);
        r.ok();
        let mut files = BTreeMap::new();
        for name in r.lines() {
            let text = std::fs::read_to_string(&name).unwrap_or_else(|e| panic!("{name}: {e}"));
            let base = Path::new(&name)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            assert!(base.ends_with(".d.rhai"), "{base}");
            assert!(text.starts_with("module "), "{base} has no module header");
            files.insert(base, text);
        }
        for want in [
            "__builtin__.d.rhai",
            "__static__.d.rhai",
            "nsscript.d.rhai",
            "net.d.rhai",
            "container.d.rhai",
        ] {
            assert!(
                files.contains_key(want),
                "{want} missing: {:?}",
                files.keys()
            );
        }
        let ours = &files["nsscript.d.rhai"];

        // Every signature --doc lists is declared, with its types.
        let doc = util::run(&["--doc"]);
        doc.ok();
        let sigs: Vec<&str> = doc
            .stdout
            .lines()
            .filter_map(|l| l.strip_prefix('`')?.strip_suffix('`'))
            .filter(|l| l.contains('('))
            .filter(|l| !l.starts_with("import "))
            .collect();
        assert!(sigs.len() > 80, "only {} signatures in --doc", sigs.len());
        let decls: Vec<&str> = ours.lines().filter(|l| l.starts_with("fn ")).collect();
        for sig in &sigs {
            // A stdlib module's function, in the module's own file.
            if let Some((module, call)) = sig.split_once("::") {
                let (name, params) = call.trim_end_matches(')').split_once('(').expect("a call");
                let params: Vec<String> = params
                    .split(", ")
                    .filter(|p| !p.is_empty())
                    .map(|p| format!("{p}: ?"))
                    .collect();
                let want = format!("fn {name}({}) -> ?;", params.join(", "));
                let file = &files[&format!("{module}.d.rhai")];
                assert!(file.contains(&want), "{sig} is not declared as {want}");
                continue;
            }
            let want = declaration(sig);
            assert!(
                decls.contains(&want.as_str()),
                "{sig} is not declared as {want}"
            );
        }
        // Getters have no parentheses in --doc.
        for prop in ["pid", "running", "nspid"] {
            assert!(
                ours.contains(&format!("fn get {prop}(p: Process) -> ")),
                "p.{prop}"
            );
        }
        // The spawn syntax, documented; the constants and ARGS.
        assert!(
            ours.contains("/// `spawn` is syntax"),
            "spawn is not explained"
        );
        assert!(ours.contains("fn spawn(cmd: ?, opts: Map) -> Process;"));
        let constants = doc
            .stdout
            .lines()
            .filter_map(|l| l.strip_prefix("| `")?.split_once('`').map(|(n, _)| n));
        for name in constants {
            assert!(ours.contains(&format!("const {name}: int;")), "{name}");
        }
        assert!(ours.contains("const ARGS: Array;"));
        // The stdlib module, without its closures.
        let net = &files["net.d.rhai"];
        assert!(net.starts_with("module net;"), "{net}");
        assert!(
            net.contains(
                "fn connect(a_pid: ?, a_if: ?, a_cidr: ?, b_pid: ?, b_if: ?, b_cidr: ?) -> ?;"
            ),
            "{net}"
        );
        assert!(!net.contains("anon$"), "{net}");
        // container::spawn: spawn is Rhai's reserved word, a plain name there.
        let container = &files["container.d.rhai"];
        assert!(container.contains("fn spawn(c: ?) -> ?;"), "{container}");
        assert!(container.contains("fn run(c: ?) -> ?;"), "{container}");
        assert!(
            !container.contains("fn options("),
            "private helpers are not declared"
        );

        // Each line of nsscript's files is a comment, a blank or a
        // declaration of the form Rhai's own writer uses.
        for name in ["nsscript.d.rhai", "net.d.rhai", "container.d.rhai"] {
            for line in files[name].lines() {
                let ok = line.is_empty()
                    || line.starts_with("///")
                    || is_module_line(line)
                    || is_const_line(line)
                    || is_fn_line(line);
                assert!(ok, "{name}: not a declaration: {line:?}");
            }
        }

        // A second run replaces the files.
        util::run(&["--definitions", &out]).ok();
        let r = util::run(&["--definitions", "/proc/nsscript-no-such-dir"]);
        r.expect_code(1);
        assert!(r.stderr.contains("--definitions"), "{}", r.stderr);
    });
}

fn ident(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

fn is_type(s: &str) -> bool {
    s == "?" || s == "()" || ident(s)
}

fn is_module_line(l: &str) -> bool {
    l.strip_prefix("module ")
        .and_then(|r| r.strip_suffix(';'))
        .is_some_and(ident)
}

fn is_const_line(l: &str) -> bool {
    l.strip_prefix("const ")
        .and_then(|r| r.strip_suffix(';'))
        .and_then(|r| r.split_once(": "))
        .is_some_and(|(n, t)| ident(n) && is_type(t))
}

fn is_fn_line(l: &str) -> bool {
    let Some(rest) = l.strip_prefix("fn ").and_then(|r| r.strip_suffix(';')) else {
        return false;
    };
    let rest = rest
        .strip_prefix("get ")
        .or_else(|| rest.strip_prefix("set "))
        .unwrap_or(rest);
    let Some((head, ret)) = rest.split_once(") -> ") else {
        return false;
    };
    let Some((name, params)) = head.split_once('(') else {
        return false;
    };
    ident(name)
        && is_type(ret)
        && (params.is_empty()
            || params.split(", ").all(|p| {
                p.split_once(": ")
                    .is_some_and(|(n, t)| ident(n) && is_type(t))
            }))
}
