//! The bad-input sweep (issue 7): every registered function, at every
//! arity, called with wrong types, one argument too few and one too many,
//! empty and 1 MiB strings, NUL bytes, negative and huge integers,
//! nonexistent pids and paths, floats, (), arrays of junk, and option maps
//! with unknown keys and junk under every valid key. Each call must end in
//! a catchable script error with a message, or succeed harmlessly: no
//! panic, no abort, no signal, no hang.
//!
//! The list of functions comes from the engine's metadata (the JSON that
//! `nsscript --doc` is made from), so a new function is swept without
//! touching this file; `--doc` is checked against it.
//!
//! Safety: every batch runs inside fresh namespaces (util-linux `unshare
//! --mount --uts --ipc --net --pid --fork --mount-proc`), on a private
//! tmpfs as its working directory, and nsscript runs in a further set of
//! its own (mount, uts, ipc, net) so that it is not in its pid 1's
//! namespaces and the host guards let the calls through to the kernel,
//! where everything they change dies with the namespaces. `#{host: true}`
//! is never passed. Functions that block by design with some inputs are
//! stopped after a few seconds and listed with the reason.

use crate::util::{self, guarded, Live, Next, Scratch};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// A parameter's type, as the metadata names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Int,
    Str,
    Map,
    Array,
    Bool,
    Fn,
    Process,
    Topology,
    Any,
}

impl Ty {
    fn of(t: &str) -> Ty {
        let t = t.trim_start_matches("&mut ").trim_start_matches('&');
        match t {
            "i64" | "INT" => Ty::Int,
            "str" | "String" | "ImmutableString" | "rhai::ImmutableString" => Ty::Str,
            "Map" | "rhai::Map" => Ty::Map,
            "Array" | "rhai::Array" => Ty::Array,
            "bool" => Ty::Bool,
            "FnPtr" | "rhai::FnPtr" => Ty::Fn,
            "Process" => Ty::Process,
            "Topology" => Ty::Topology,
            _ => Ty::Any,
        }
    }
}

/// One overload of a script function.
#[derive(Debug, Clone)]
struct Sig {
    /// The name a script calls (`pid` for the `p.pid` property).
    name: String,
    getter: bool,
    params: Vec<(String, Ty)>,
}

impl Sig {
    /// How the report names it: `spawn/2`, `p.pid`.
    fn label(&self) -> String {
        if self.getter {
            format!("p.{}", self.name)
        } else {
            format!("{}/{}", self.name, self.params.len())
        }
    }
}

/// Every nsscript function from the engine's metadata (Rhai's standard
/// library left out).
fn signatures() -> Vec<Sig> {
    let engine = nsscript::engine::new_engine();
    let json = engine
        .gen_fn_metadata_to_json(false)
        .expect("function metadata");
    let meta: serde_json::Value = serde_json::from_str(&json).expect("metadata is JSON");
    let mut out = Vec::new();
    for f in meta["functions"].as_array().expect("functions") {
        let name = f["name"].as_str().unwrap_or_default().to_string();
        if f["isAnonymous"].as_bool() == Some(true) || name.is_empty() {
            continue;
        }
        let params: Vec<(String, Ty)> = f["params"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .map(|p| {
                        (
                            p["name"].as_str().unwrap_or("_").to_string(),
                            Ty::of(p["type"].as_str().unwrap_or("Dynamic")),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let (name, getter) = match name.strip_prefix("get$") {
            Some(n) => (n.to_string(), true),
            None => (name, false),
        };
        assert!(
            !name.starts_with("set$") && !name.starts_with("index$"),
            "a setter or indexer appeared ({name}): teach the sweep to call it"
        );
        out.push(Sig {
            name,
            getter,
            params,
        });
    }
    out
}

/// The function names `nsscript --doc` documents: the code spans of its
/// headers, `spawn()` and `p.pid` alike, up to the constants table.
fn documented() -> BTreeSet<String> {
    let r = util::run(&["--doc"]);
    r.ok();
    let mut names = BTreeSet::new();
    for line in r.stdout.lines() {
        // The stdlib modules' script functions and the constants follow:
        // they are not in the engine's metadata.
        if line == "## Modules"
            || (line.starts_with('#') && line.to_lowercase().contains("constants"))
        {
            break;
        }
        if !line.starts_with('#') {
            continue;
        }
        for (i, span) in line.split('`').enumerate() {
            if i % 2 == 1 {
                // Methods are headed `p.wait()`, `t.pingall()`.
                let s = match span.split_once('.') {
                    Some((this, rest)) if this.len() == 1 => rest,
                    _ => span,
                };
                let n: String = s
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !n.is_empty() {
                    names.insert(n);
                }
            }
        }
    }
    names
}

/// Values that are wrong for most parameters: (what, Rhai expression).
/// `HUGE` is a 1 MiB string and `P` a running Process, both made by the
/// prelude.
const JUNK: &[(&str, &str)] = &[
    ("()", "()"),
    ("true", "true"),
    ("false", "false"),
    ("0", "0"),
    ("1", "1"),
    ("-1", "-1"),
    ("-5", "-5"),
    ("2^31-1", "2147483647"),
    ("2^32", "4294967296"),
    ("i64::MIN", "(-9223372036854775807 - 1)"),
    ("i64::MAX", "9223372036854775807"),
    ("1.5", "1.5"),
    ("-0.0", "-0.0"),
    ("1e300", "1.0e300"),
    ("empty string", r#""""#),
    ("1 MiB string", "HUGE"),
    ("NUL byte", r#""a\x00b""#),
    ("nonexistent path", r#""/nonexistent/x""#),
    ("unicode", r#""é😀""#),
    ("char", "'c'"),
    ("blob", "blob(4, 0)"),
    ("[]", "[]"),
    ("junk array", r#"[(), 1, "x", -1, #{}, 1.5]"#),
    ("[1 MiB]", "[HUGE]"),
    ("[[ints]]", "[[-1, 9223372036854775807, 4294967296]]"),
    ("#{}", "#{}"),
    ("#{unknown key}", "#{zz_bogus_key: 1}"),
    (
        "#{bad id range}",
        "#{inside: -1, outside: 4294967296, count: 0}",
    ),
    ("[#{unknown key}]", "[#{zz_bogus_key: ()}]"),
    ("closure", "|| 1"),
    ("Process", "P"),
    ("Topology", "T"),
    // Captured by a closure in the prelude, so shared (behind a lock).
    ("shared string", "SH_STR"),
    ("shared int", "SH_INT"),
    ("shared array", "SH_ARR"),
    ("shared map", "SH_MAP"),
];

/// A value of the right type (by name first), for the positions not under
/// test, so the junk reaches the function's own checks.
fn plausible(name: &str, ty: Ty) -> &'static str {
    match (name, ty) {
        (_, Ty::Process) => "P",
        (_, Ty::Topology) => "T",
        (_, Ty::Fn) => "|| 1",
        (_, Ty::Map) => "#{}",
        (_, Ty::Bool) => "true",
        (_, Ty::Array) => "[]",
        ("pid", Ty::Int) => "P.pid",
        (_, Ty::Int) => "1",
        ("kind" | "kind_name", _) => r#""uts""#,
        ("kinds", _) => r#"["uts"]"#,
        ("cmd", _) => r#"["true"]"#,
        ("cidr", _) => r#""10.0.0.1/24""#,
        ("fstype", _) => r#""tmpfs""#,
        ("src", _) => r#""none""#,
        ("data", _) => r#""""#,
        ("sig", _) => r#""TERM""#,
        // Node names of the prelude's topology T.
        ("name" | "a", _) => r#""h1""#,
        ("b", _) => r#""s1""#,
        _ => r#""x""#,
    }
}

/// Functions that block by design with some inputs, and why.
const BLOCKING: &[(&str, &str)] = &[
    (
        "sleep",
        "sleeps as long as asked (2^31-1, 2^32, i64::MAX ms)",
    ),
    ("wait", "waits for a process that runs `sleep 1000`"),
    (
        "msgrcv",
        "waits for a message on an empty queue (no IPC_NOWAIT)",
    ),
    ("in_ns", "runs a closure that never ends"),
];

/// How long a call of a blocking-by-design function may take before it
/// counts as blocked, and how long any other call may take before it
/// counts as a hang.
const BLOCKED_AFTER: Duration = Duration::from_secs(3);
const HANG_AFTER: Duration = Duration::from_secs(60);

/// Functions that end the script by design.
const ENDS_SCRIPT: &[&str] = &["exit"];

/// Calls that block by design, made on purpose so that the list is never
/// empty by accident.
const BY_DESIGN: &[(&str, &str)] = &[
    ("sleep", "sleep(9223372036854775807)"),
    (
        "msgrcv",
        "msgrcv(msgget(IPC_PRIVATE, IPC_CREAT | 0o600), 0)",
    ),
    ("wait", "P.wait()"),
    ("in_ns", "in_ns(#{ns: [\"pid\"]}, || { loop { } })"),
];

#[derive(Debug, Clone)]
struct Call {
    /// The function (its name, for BLOCKING and ENDS_SCRIPT).
    func: String,
    /// The overload and what is wrong with the arguments, for the report.
    what: String,
    expr: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Ok(String),
    Err(String),
    Blocked,
    Ended(i32),
    Crashed(i32, String),
    Hang,
    /// Rejected when the script is compiled (custom syntax such as
    /// `spawn(a, b, c)`): an error with its position, before anything runs.
    Syntax(String),
}

const PRELUDE: &str = r#"
fn m(e) {
    let s = if type_of(e) == "map" && "message" in e { e.message } else { `${e}` };
    if type_of(s) != "string" { s = `${s}`; }
    s.replace("\n", "\\n");
    if s.len() > 2000 { s.truncate(2000); }
    s
}
let HUGE = "x";
for i in 0..20 { HUGE += HUGE; }
let P = spawn(["sleep", "1000"]);
let T = topology();
T.add_host("h1");
T.add_switch("s1");
T.add_link("h1", "s1");
let SH_STR = "uts";
let SH_INT = 1;
let SH_ARR = ["uts"];
let SH_MAP = #{ns: ["uts"]};
let CAPTURE = || [SH_STR, SH_INT, SH_ARR, SH_MAP];
print("@@READY");
"#;

/// The batch script from call `from` on, and the line each call is on.
fn script(calls: &[Call], from: usize) -> (String, BTreeMap<usize, usize>) {
    let mut s = String::from(PRELUDE);
    let mut lines = BTreeMap::new();
    for (i, c) in calls.iter().enumerate().skip(from) {
        lines.insert(s.lines().count() + 2, i);
        s.push_str(&format!(
            "print(\"@@B {i}\");\ntry {{ let r = {}; print(`@@E {i} ok ${{type_of(r)}}`); }} catch (e) {{ print(`@@E {i} err ${{m(e)}}`); }}\n",
            c.expr
        ));
    }
    s.push_str("print(\"@@DONE\");\n");
    (s, lines)
}

/// The line of a syntax error nsscript reported (`--> FILE:LINE:COL`).
fn syntax_error_line(stderr: &str) -> Option<usize> {
    if !stderr.contains("syntax error") {
        return None;
    }
    let at = stderr.split("--> ").nth(1)?;
    at.split(':').nth(1)?.trim().parse().ok()
}

/// Where the batches run: a folder for the scripts and an empty one that
/// each batch mounts its private tmpfs on.
struct Sandbox {
    scripts: Scratch,
    mnt: Scratch,
    runs: usize,
    /// Problems outside any one call.
    failures: Vec<String>,
}

impl Sandbox {
    fn new() -> Sandbox {
        Sandbox {
            scripts: Scratch::new("sweep-scripts"),
            mnt: Scratch::new("sweep-tmpfs"),
            runs: 0,
            failures: Vec::new(),
        }
    }

    /// nsscript on `file`, inside the namespaces described at the top.
    fn command(&self, file: &str) -> std::process::Command {
        let mut c = std::process::Command::new("unshare");
        c.args([
            "--mount",
            "--uts",
            "--ipc",
            "--net",
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            // Not `exec`: sh stays pid 1 of the new pid namespace, so
            // nsscript, in namespaces of its own, is not in pid 1's.
            r#"mount -t tmpfs -o size=256m none "$1" && cd "$1" || exit 99
               unshare --mount --uts --ipc --net --propagation private -- "$2" "$3" </dev/null
               rc=$?; exit $rc"#,
            "sh",
        ])
        .arg(&self.mnt.0)
        .arg(util::bin())
        .arg(file)
        .current_dir(std::env::temp_dir());
        c
    }

    /// Runs every call, resuming after a call that ended or blocked the
    /// script; one outcome per call.
    fn run(&mut self, calls: &[Call]) -> Vec<Outcome> {
        let mut out: Vec<Option<Outcome>> = vec![None; calls.len()];
        let mut from = 0;
        while from < calls.len() {
            let file = self.scripts.path(&format!("batch-{}.rhai", self.runs));
            self.runs += 1;
            let (text, lines) = script(calls, from);
            std::fs::write(&file, text).expect("write the batch");
            let mut live = Live::start(self.command(&file));
            let mut current: Option<usize> = None;
            let mut started = Instant::now();
            let mut stalled = false;
            let mut done = false;
            loop {
                let limit = match current {
                    Some(i) if BLOCKING.iter().any(|(f, _)| *f == calls[i].func) => BLOCKED_AFTER,
                    _ => HANG_AFTER,
                };
                let left = limit.saturating_sub(started.elapsed());
                match live.next(left) {
                    Next::Line(l) => {
                        if let Some(i) = l.strip_prefix("@@B ") {
                            current = i.trim().parse().ok();
                            started = Instant::now();
                        } else if let Some(rest) = l.strip_prefix("@@E ") {
                            let mut f = rest.splitn(3, ' ');
                            let i: usize = f.next().and_then(|i| i.parse().ok()).unwrap_or(0);
                            let kind = f.next().unwrap_or("");
                            let text = f.next().unwrap_or("").to_string();
                            out[i] = Some(if kind == "ok" {
                                Outcome::Ok(text)
                            } else {
                                Outcome::Err(text)
                            });
                            current = None;
                        } else if l == "@@DONE" {
                            done = true;
                        }
                        if live.seen.len() > 10_000 {
                            live.clear_seen();
                        }
                    }
                    Next::Timeout => {
                        stalled = true;
                        util::signal(live.pid(), libc::SIGKILL);
                        break;
                    }
                    Next::Eof => break,
                }
            }
            live.clear_seen();
            let r = live.finish();
            if let (1, None, Some(line)) = (r.code, current, syntax_error_line(&r.stderr)) {
                if let Some(i) = lines.get(&line) {
                    // The batch did not compile because of this call:
                    // note it and go on without it.
                    out[*i] = Some(Outcome::Syntax(
                        r.stderr.lines().next().unwrap_or("").to_string(),
                    ));
                    from = *i + 1;
                    let before: Vec<usize> = (0..*i).filter(|j| out[*j].is_none()).collect();
                    if !before.is_empty() {
                        // Calls before it have not run yet: run them alone.
                        let sub: Vec<Call> = before.iter().map(|j| calls[*j].clone()).collect();
                        for (j, o) in before.iter().zip(self.run(&sub)) {
                            out[*j] = Some(o);
                        }
                    }
                    continue;
                }
            }
            if done && r.code != 0 {
                self.failures.push(format!(
                    "a batch ended with {} after its last call: {}",
                    r.code, r.stderr
                ));
            }
            match current {
                Some(i) => {
                    let func = calls[i].func.as_str();
                    out[i] = Some(if stalled {
                        if BLOCKING.iter().any(|(f, _)| *f == func) {
                            Outcome::Blocked
                        } else {
                            Outcome::Hang
                        }
                    } else if ENDS_SCRIPT.contains(&func) && !r.stderr.contains("panicked") {
                        // exit(n) may end with any code 0-255.
                        Outcome::Ended(r.code)
                    } else {
                        Outcome::Crashed(r.code, r.stderr.clone())
                    });
                    from = i + 1;
                }
                None if done && r.code == 0 => from = calls.len(),
                None => {
                    // Died outside any call (the prelude, or between two).
                    let i = out.iter().position(|o| o.is_none()).unwrap_or(calls.len());
                    if i < calls.len() {
                        out[i] = Some(Outcome::Crashed(r.code, r.stderr.clone()));
                    }
                    from = i + 1;
                }
            }
        }
        out.into_iter()
            .map(|o| o.unwrap_or(Outcome::Crashed(-1, "no outcome".into())))
            .collect()
    }
}

fn call_expr(sig: &Sig, args: &[String]) -> String {
    if sig.getter {
        format!("({}).{}", args[0], sig.name)
    } else {
        format!("{}({})", sig.name, args.join(", "))
    }
}

fn plausible_args(sig: &Sig) -> Vec<String> {
    sig.params
        .iter()
        .map(|(n, t)| plausible(n, *t).to_string())
        .collect()
}

/// The option keys a map parameter takes, as its "unknown option" error
/// lists them; and, one level down, the keys of maps nested under a key
/// (`#{time_offsets: #{..}}`, `#{uid_map: [#{..}]}`).
#[derive(Debug, Default, Clone)]
struct Keys {
    top: Vec<String>,
    /// key -> (shape with `{}` where the inner map goes, inner keys)
    nested: BTreeMap<String, (String, Vec<String>)>,
}

fn valid_options(msg: &str) -> Option<Vec<String>> {
    if !msg.contains("zz_bogus_key") {
        return None;
    }
    let list = msg.split("valid options: ").nth(1)?;
    let list = list.split(['\\', ';']).next().unwrap_or(list);
    Some(
        list.split(',')
            .map(|k| k.trim().trim_end_matches('.').to_string())
            .filter(|k| !k.is_empty())
            .collect(),
    )
}

/// Calls each map parameter with an unknown key (and each valid key with
/// a nested unknown key), and reads the valid keys from the errors.
/// Returns the keys per (overload, position), and the overloads whose map
/// did not name the unknown key.
fn discover_keys(
    sb: &mut Sandbox,
    sigs: &[Sig],
) -> (BTreeMap<(usize, usize), Keys>, Vec<String>, usize) {
    let mut probes = Vec::new();
    let mut at = Vec::new();
    for (si, s) in sigs.iter().enumerate() {
        for (pi, (_, t)) in s.params.iter().enumerate() {
            if *t == Ty::Map {
                let mut args = plausible_args(s);
                args[pi] = "#{zz_bogus_key: 1}".into();
                probes.push(Call {
                    func: s.name.clone(),
                    what: format!("{} unknown key", s.label()),
                    expr: call_expr(s, &args),
                });
                at.push((si, pi));
            }
        }
    }
    let outcomes = sb.run(&probes);
    let mut keys: BTreeMap<(usize, usize), Keys> = BTreeMap::new();
    let mut unchecked = Vec::new();
    for ((si, pi), o) in at.iter().zip(&outcomes) {
        match o {
            Outcome::Err(msg) => match valid_options(msg) {
                Some(k) => {
                    keys.entry((*si, *pi)).or_default().top = k;
                }
                None => unchecked.push(format!("{}: {msg}", sigs[*si].label())),
            },
            other => unchecked.push(format!("{}: {other:?}", sigs[*si].label())),
        }
    }
    // One level down.
    let shapes = ["#{}", "[#{}]"];
    let mut nested_probes = Vec::new();
    let mut nested_at = Vec::new();
    for ((si, pi), k) in &keys {
        let s = &sigs[*si];
        for key in &k.top {
            for shape in shapes {
                let mut args = plausible_args(s);
                let inner = shape.replace("#{}", "#{zz_bogus_key: 1}");
                args[*pi] = format!("#{{{key}: {inner}}}");
                nested_probes.push(Call {
                    func: s.name.clone(),
                    what: format!("{} {key} nested unknown key", s.label()),
                    expr: call_expr(s, &args),
                });
                nested_at.push((*si, *pi, key.clone(), shape));
            }
        }
    }
    let nested_outcomes = sb.run(&nested_probes);
    for ((si, pi, key, shape), o) in nested_at.iter().zip(&nested_outcomes) {
        if let Outcome::Err(msg) = o {
            if let Some(inner) = valid_options(msg) {
                let k = keys.entry((*si, *pi)).or_default();
                k.nested
                    .entry(key.clone())
                    .or_insert_with(|| (shape.to_string(), inner));
            }
        }
    }
    let tried = probes.len() + nested_probes.len();
    (keys, unchecked, tried)
}

/// Every call for one overload.
fn calls_for(sig: &Sig, keys: &BTreeMap<usize, Keys>) -> Vec<Call> {
    let mut calls = Vec::new();
    let label = sig.label();
    let plaus = plausible_args(sig);
    let mut push = |what: String, args: Vec<String>| {
        calls.push(Call {
            func: sig.name.clone(),
            what: format!("{label} {what}"),
            expr: call_expr(sig, &args),
        });
    };
    if !sig.getter {
        if !plaus.is_empty() {
            push(
                "one argument too few".into(),
                plaus[..plaus.len() - 1].to_vec(),
            );
        }
        let mut more = plaus.clone();
        more.push(r#""x""#.into());
        push("one argument too many".into(), more);
    }
    for pi in 0..sig.params.len() {
        for (what, j) in JUNK {
            let mut args = plaus.clone();
            args[pi] = j.to_string();
            push(format!("arg {pi} = {what}"), args);
        }
        if let Some(k) = keys.get(&pi) {
            for key in &k.top {
                for (what, j) in JUNK {
                    if key == "host" && *j == "true" {
                        continue; // never #{host: true}
                    }
                    let mut args = plaus.clone();
                    args[pi] = format!("#{{{key}: {j}}}");
                    push(format!("arg {pi} = #{{{key}: {what}}}"), args);
                }
            }
            for (key, (shape, inner)) in &k.nested {
                for ik in inner {
                    for (what, j) in JUNK {
                        let mut args = plaus.clone();
                        let v = shape.replace("#{}", &format!("#{{{ik}: {j}}}"));
                        args[pi] = format!("#{{{key}: {v}}}");
                        push(format!("arg {pi} = #{{{key}: {ik}: {what}}}"), args);
                    }
                }
            }
        }
    }
    calls
}

#[test]
fn every_function_survives_bad_input() {
    guarded(|| {
        let t0 = Instant::now();
        let sigs = signatures();
        assert!(
            sigs.len() > 50,
            "too few functions in the metadata: {sigs:?}"
        );
        let names: BTreeSet<String> = sigs.iter().map(|s| s.name.clone()).collect();
        let undocumented_in_sweep: Vec<String> = documented().difference(&names).cloned().collect();
        assert!(
            undocumented_in_sweep.is_empty(),
            "--doc lists functions the metadata does not have: {undocumented_in_sweep:?}"
        );

        let mut sb = Sandbox::new();
        let (keys, unchecked, probe_calls) = discover_keys(&mut sb, &sigs);

        // One batch per function name, all its overloads together.
        let mut by_name: BTreeMap<String, Vec<Call>> = BTreeMap::new();
        for (si, s) in sigs.iter().enumerate() {
            let k: BTreeMap<usize, Keys> = keys
                .iter()
                .filter(|((i, _), _)| *i == si)
                .map(|((_, p), k)| (*p, k.clone()))
                .collect();
            by_name
                .entry(s.name.clone())
                .or_default()
                .extend(calls_for(s, &k));
        }
        by_name.insert(
            "(blocking by design)".into(),
            BY_DESIGN
                .iter()
                .map(|(f, e)| Call {
                    func: f.to_string(),
                    what: format!("by design: {e}"),
                    expr: e.to_string(),
                })
                .collect(),
        );

        let mut tried = probe_calls;
        let (mut ok, mut errs) = (0, 0);
        let mut blocked = Vec::new();
        let mut ended = 0;
        let mut syntax = Vec::new();
        let mut failures = Vec::new();
        let mut longest = (0, String::new());
        // SWEEP_LOG=FILE keeps every call and what it gave.
        let mut log = String::new();
        for (name, calls) in &by_name {
            let outcomes = sb.run(calls);
            tried += calls.len();
            for (c, o) in calls.iter().zip(outcomes) {
                log.push_str(&format!(
                    "{} | {} | {o:?}\n",
                    c.what,
                    c.expr.chars().take(300).collect::<String>()
                ));
                match o {
                    Outcome::Ok(_) => ok += 1,
                    Outcome::Err(m) if m.trim().is_empty() => {
                        failures.push(format!("{}: an error without a message", c.what))
                    }
                    Outcome::Err(m) => {
                        errs += 1;
                        if m.len() > longest.0 {
                            longest = (m.len(), c.what.clone());
                        }
                    }
                    Outcome::Blocked => blocked.push(format!(
                        "{} [{}]: {}",
                        c.what,
                        c.expr.chars().take(80).collect::<String>(),
                        BLOCKING
                            .iter()
                            .find(|(f, _)| *f == c.func)
                            .map(|(_, r)| *r)
                            .unwrap_or("")
                    )),
                    Outcome::Ended(_) => ended += 1,
                    Outcome::Syntax(m) => syntax.push(format!("{} [{}]: {m}", c.what, c.expr)),
                    Outcome::Crashed(code, stderr) => failures.push(format!(
                        "{}: CRASHED with {code}: {}\n    {}",
                        c.what,
                        c.expr.chars().take(200).collect::<String>(),
                        stderr.lines().take(5).collect::<Vec<_>>().join("\n    ")
                    )),
                    Outcome::Hang => failures.push(format!(
                        "{}: HANG (no answer in {HANG_AFTER:?}): {}",
                        c.what,
                        c.expr.chars().take(200).collect::<String>()
                    )),
                }
            }
            eprintln!("swept {name}: {} calls", calls.len());
        }
        for (f, e) in BY_DESIGN {
            assert!(
                blocked.iter().any(|b| b.contains(e)),
                "{f} did not block by design: {e}"
            );
        }
        let report = format!(
            "bad-input sweep: {} functions ({} overloads) swept, {tried} calls tried in {} nsscript runs, {:.0?}\n\
             \x20 {ok} succeeded harmlessly, {errs} ended in a catchable error, {ended} ended the script by design (exit), {} blocked by design,\n\
             \x20 {} rejected when compiled (custom syntax): {}\n\
             \x20 map parameters whose unknown key was not reported first: {}\n\
             \x20 longest error message: {} bytes ({})\n\
             blocked by design:\n  {}\n",
            names.len(),
            sigs.len(),
            sb.runs,
            t0.elapsed(),
            blocked.len(),
            syntax.len(),
            syntax.join("; "),
            if unchecked.is_empty() { "none".to_string() } else { unchecked.join("; ") },
            longest.0,
            longest.1,
            blocked.join("\n  "),
        );
        if let Ok(path) = std::env::var("SWEEP_LOG") {
            let _ = std::fs::write(path, format!("{report}\n{log}"));
        }
        println!("{report}");
        eprintln!("{report}");
        failures.extend(sb.failures.iter().cloned());
        assert!(
            failures.is_empty(),
            "{} calls failed the sweep:\n{}",
            failures.len(),
            failures.join("\n")
        );
    });
}

/// Every integration test runs inside `guarded`, directly or through a
/// helper that does.
#[test]
fn every_integration_test_runs_inside_the_host_guard() {
    guarded(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
        let mut unguarded = Vec::new();
        let mut count = 0;
        for entry in std::fs::read_dir(&dir).expect("tests/") {
            let path = entry.expect("entry").path();
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read");
            // Helpers (non-test fns) that call guarded.
            let fns = split_fns(&text);
            let helpers: Vec<&str> = fns
                .iter()
                .filter(|(_, is_test, body)| !is_test && body.contains("guarded("))
                .map(|(n, _, _)| n.as_str())
                .collect();
            for (name, is_test, body) in &fns {
                if !is_test {
                    continue;
                }
                count += 1;
                let ok = body.contains("guarded(")
                    || helpers.iter().any(|h| body.contains(&format!("{h}(")));
                if !ok {
                    unguarded.push(format!("{}::{name}", path.display()));
                }
            }
        }
        assert!(count > 20, "found only {count} tests");
        assert!(
            unguarded.is_empty(),
            "tests not inside guarded: {unguarded:#?}"
        );
    });
}

/// (name, is a #[test], body) of each top-level `fn` in a file.
fn split_fns(text: &str) -> Vec<(String, bool, String)> {
    let mut out: Vec<(String, bool, String)> = Vec::new();
    let mut pending_test = false;
    for line in text.lines() {
        let t = line.trim_start();
        let top = line.len() == t.len();
        if top && t.starts_with("#[test]") {
            pending_test = true;
            continue;
        }
        let sig = t
            .strip_prefix("pub fn ")
            .or_else(|| t.strip_prefix("fn "))
            .filter(|_| top);
        if let Some(rest) = sig {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.push((name, pending_test, String::new()));
            pending_test = false;
            continue;
        }
        if let Some(last) = out.last_mut() {
            last.2.push_str(line);
            last.2.push('\n');
        }
    }
    out
}

/// Regression (issue 7): `sleep(1.0e300)` reached Rhai's own float
/// `sleep` (seconds), whose Duration conversion panics; nsscript's takes
/// milliseconds as a float too, and checks them.
#[test]
fn sleep_with_a_float_is_milliseconds_and_never_panics() {
    guarded(|| {
        let r = util::eval(
            r#"let t = 0;
               sleep(50.5);
               for v in [1.0e300, -1.0, -0.5] {
                   try { sleep(v); print("slept"); } catch (e) { print(e.message); }
               }"#,
        );
        r.ok();
        let l = r.lines();
        assert_eq!(l.len(), 3, "{l:?}");
        for line in &l {
            assert!(line.contains("is not a duration"), "{line}");
        }
        assert!(!r.stderr.contains("panicked"));
    });
}

/// Regression (issue 7): a 1 MiB argument came back whole in the error
/// message (twice: in the op and in the detail).
#[test]
fn a_huge_argument_is_not_echoed_whole_in_errors() {
    guarded(|| {
        let r = util::eval(
            r#"let h = "x";
               for i in 0..20 { h += h; }
               try { read_file(h) } catch (e) { print(e.message.len()); }
               try { set_hostname(h) } catch (e) { print(e.message.len()); }
               try { spawn([h, h]) } catch (e) { print(e.message.len()); }"#,
        );
        r.ok();
        for n in r.lines() {
            let n: usize = n.parse().expect("a length");
            assert!(n < 1500, "a message of {n} bytes: {}", r.stdout);
        }
    });
}

/// Calls that change the host's network or IPC objects, each refused in
/// the host's namespaces with EPERM, a message saying why and a hint
/// (unshare first, or `#{host: true}`). The names are ours and the
/// addresses fit no real network, so a broken guard would change nothing
/// that matters, and the host guard of this test would still see it.
const NET_IPC_HOST_CHANGES: &[&str] = &[
    r#"veth("nsscript-a", "nsscript-b")"#,
    r#"bridge("nsscript-br")"#,
    r#"link_set("lo", #{mtu: 65535})"#,
    r#"link_set("nsscript-a", #{up: true})"#,
    r#"link_del("nsscript-a")"#,
    r#"addr_add("lo", "127.0.0.9/8")"#,
    r#"addr_del("lo", "127.0.0.9/8")"#,
    r#"route_add(#{dst: "10.99.0.0/16", dev: "lo"})"#,
    "msgget(IPC_PRIVATE, IPC_CREAT)",
    "msgget(IPC_PRIVATE, IPC_CREAT | IPC_EXCL | 0o600, #{})",
    "msgsnd(QUEUE, 1, \"x\")",
    "msgrcv(QUEUE, 0)",
    "msgrcv(QUEUE, 0, IPC_NOWAIT)",
    "msgrcv(QUEUE, 0, #{nowait: true})",
    "msgctl(QUEUE, IPC_RMID)",
];

/// A queue made by `ipcmk -Q` on the host, removed with `ipcrm` when the
/// test ends, whatever happened.
struct HostQueue(String);

impl Drop for HostQueue {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ipcrm")
            .args(["-q", &self.0])
            .output();
    }
}

#[test]
fn net_and_ipc_changes_are_refused_in_the_host_namespaces() {
    guarded(|| {
        if util::which("ipcmk").is_none() {
            eprintln!("SKIP: ipcmk (util-linux) is not installed");
            return;
        }
        let made = util::sh("ipcmk -Q");
        let id = made
            .rsplit(':')
            .next()
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        assert!(id.parse::<i64>().is_ok(), "ipcmk said {made:?}");
        let queue = HostQueue(id.clone());
        let calls: String = NET_IPC_HOST_CHANGES
            .iter()
            .map(|c| {
                format!(
                    "try {{ {}; print(\"DONE\"); }} catch (e) {{ print(`${{e.errno}} | ${{e.message}} | ${{e.hint}}`); }}\n",
                    c.replace("QUEUE", &id)
                )
            })
            .collect();
        let before_links = util::sh("ip -o link; ip -o addr; ip route");
        let r = util::eval(&calls);
        r.ok();
        let l = r.lines();
        assert_eq!(l.len(), NET_IPC_HOST_CHANGES.len(), "{l:#?}");
        for (call, line) in NET_IPC_HOST_CHANGES.iter().zip(&l) {
            let f: Vec<&str> = line.split(" | ").collect();
            assert_eq!(f[0], "EPERM", "{call}: {line}");
            assert!(f[1].contains("refusing to"), "{call}: {line}");
            assert!(
                f[1].contains("host's net namespace") || f[1].contains("host's ipc namespace"),
                "{call}: {line}"
            );
            assert!(f[2].contains("unshare(["), "{call}: {line}");
            assert!(f[2].contains("#{host: true}"), "{call}: {line}");
        }
        // ipcs and ip, as witnesses: nothing changed.
        assert!(
            util::sh("ipcs -q").contains(&format!(" {id} ")),
            "queue {id} is gone"
        );
        assert_eq!(util::sh("ip -o link; ip -o addr; ip route"), before_links);

        // `#{host: true}` lets each through, on purpose: the queue ipcmk
        // made takes a message, gives it back and is removed; lo gets an
        // address and loses it again.
        let r = util::eval(&format!(
            r#"let h = #{{host: true}};
               msgsnd({id}, 7, "on purpose", h);
               print(msgrcv({id}, 0, #{{nowait: true, host: true}}).text);
               msgctl({id}, IPC_RMID, h);
               addr_add("lo", "127.0.0.9/8", h);
               print(links().filter(|l| l.name == "lo")[0].addrs.map(|a| a.local).contains("127.0.0.9"));
               addr_del("lo", "127.0.0.9/8", h);
               print(links().filter(|l| l.name == "lo")[0].addrs.map(|a| a.local).contains("127.0.0.9"));
               try {{ veth("nsscript-a", "nsscript-b", #{{host: "yes"}}) }} catch (e) {{ print(e.message) }}
               try {{ route_add(#{{dst: "10.99.0.0/16", dev: "lo", hots: true}}) }} catch (e) {{ print(e.message) }}"#
        ));
        r.ok();
        let l = r.lines();
        assert_eq!(l[..3], ["on purpose", "true", "false"], "{l:?}");
        assert!(l[3].contains("host must be true or false"), "{}", l[3]);
        assert!(
            l[4].contains("unknown option hots") && l[4].contains("host"),
            "{}",
            l[4]
        );
        assert!(
            !util::sh("ipcs -q").contains(&format!(" {id} ")),
            "msgctl(#{{host: true}}) did not remove queue {id}"
        );
        std::mem::forget(queue);

        // Inside namespaces of their own the same calls go through (the
        // host is not touched), as util-linux unshare sets them up.
        let inside = r#"veth("nsscript-a", "nsscript-b");
                        bridge("nsscript-br");
                        link_set("nsscript-a", #{master: "nsscript-br", up: true});
                        addr_add("nsscript-b", "10.99.0.1/24");
                        link_set("nsscript-b", #{up: true});
                        route_add(#{dst: "10.98.0.0/16", via: "10.99.0.254"});
                        let q = msgget(IPC_PRIVATE, IPC_CREAT);
                        msgsnd(q, 1, "x");
                        print(msgrcv(q, 0).text);
                        msgctl(q, IPC_RMID);
                        link_del("nsscript-a");
                        print(links().map(|l| l.name));"#;
        let r = util::output(util::in_unshare(&["--net", "--ipc"], "", &["-e", inside]));
        r.ok();
        assert_eq!(r.lines(), ["x", r#"["lo", "nsscript-br"]"#]);
    });
}
