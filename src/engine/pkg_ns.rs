//! Namespaces as a whole: leave them (`unshare`), join them (`setns`,
//! `enter`), list them (`namespaces`, `ns_of`), keep them (`persist`,
//! `unpersist`), and run script code inside new ones (`in_ns`).

use super::error::{invalid, os_err, IntoRhai, RResult};
use super::opts;
use super::pkg_proc::{capture_options, captured};
use super::process::Process;
use crate::os;
use crate::os::in_ns::InChild;
use crate::os::ns::{Namespace, NsSet};
use crate::os::nsfs::Target;
use rhai::plugin::*;
use rhai::{Array, Dynamic, FnPtr, Map};
use std::sync::Arc;

/// The options `unshare(kinds, opts)` takes.
const UNSHARE_KEYS: &[&str] = &[
    "map_root",
    "uid_map",
    "gid_map",
    "setgroups",
    "propagation",
    "time_offsets",
    "hostname",
    "domainname",
];

/// The options `in_ns` takes: spawn's, minus those about a program.
const IN_NS_KEYS: &[&str] = &[
    "ns",
    "flags",
    "uid_map",
    "gid_map",
    "map_root",
    "setgroups",
    "hostname",
    "domainname",
    "mount_proc",
    "propagation",
    "cwd",
    "time_offsets",
];

fn kind(op: &str, name: &str) -> RResult<Namespace> {
    name.parse::<Namespace>()
        .map_err(|e| os::Error::invalid(op, e.detail))
        .rhai()
}

fn names(set: NsSet) -> Array {
    set.iter()
        .map(|k| Dynamic::from(k.name().to_string()))
        .collect()
}

fn unshare_impl(kinds: &Dynamic, o: &Map) -> RResult<()> {
    let op = "unshare";
    opts::check_keys(op, o, UNSHARE_KEYS, &[])?;
    // spawn_spec decodes and checks the shared keys (maps, map_root,
    // propagation, time_offsets...); the command it wants is not used.
    let mut spec = opts::spawn_spec(op, &Dynamic::from(op), o, &[])?;
    for k in opts::kinds(op, "kinds", kinds)? {
        spec.ns.insert(k);
    }
    os::unshare::unshare(op, &spec).rhai()
}

fn setns_pid_impl(pid: i64, kinds: &Dynamic) -> RResult<Array> {
    let op = "setns";
    let (set, all) = opts::join_kinds(op, "kinds", kinds)?;
    let t = Target::of_pid(op, pid, set, all).rhai()?;
    os::nsfs::setns(op, &t).rhai()?;
    Ok(names(t.ns))
}

fn enter_impl(pid: i64, kinds: &Dynamic, cmd: &Dynamic, mut o: Map) -> RResult<Map> {
    let op = "enter";
    opts::check_keys(op, &o, opts::PROGRAM_KEYS, &[])?;
    let input = capture_options(op, &mut o)?;
    let mut spec = opts::spawn_spec(op, cmd, &o, &["input"])?;
    let (set, all) = opts::join_kinds(op, "kinds", kinds)?;
    spec.join = Some(Arc::new(Target::of_pid(op, pid, set, all).rhai()?));
    let child = os::process::spawn(op, &spec).rhai()?;
    captured(&Process::register(child), input.as_deref())
}

fn opt_int<T: Into<i64>>(v: Option<T>) -> Dynamic {
    v.map(|x| Dynamic::from(x.into())).unwrap_or(Dynamic::UNIT)
}

fn ns_map(n: &os::lsns::NsInfo) -> Map {
    let mut m = Map::new();
    m.insert("id".into(), n.id().into());
    m.insert("inode".into(), (n.inode as i64).into());
    m.insert("type".into(), n.kind.name().into());
    m.insert("nprocs".into(), (n.nprocs as i64).into());
    m.insert("pid".into(), opt_int(n.pid));
    m.insert("ppid".into(), opt_int(n.ppid));
    m.insert("command".into(), n.command.clone().into());
    m.insert("uid".into(), opt_int(n.uid));
    m.insert("owner".into(), opt_int(n.owner.map(|i| i as i64)));
    m.insert("parent".into(), opt_int(n.parent.map(|i| i as i64)));
    let paths: Array = n.paths.iter().cloned().map(Dynamic::from).collect();
    m.insert("paths".into(), paths.into());
    m
}

fn namespaces_impl(filter: &Map) -> RResult<Array> {
    let op = "namespaces";
    opts::check_keys(op, filter, &["type", "pid"], &[])?;
    let mut f = os::lsns::Filter::default();
    if let Some(v) = filter.get("type") {
        f.kinds = Some(opts::kinds(op, "type", v)?.into_iter().collect());
    }
    if let Some(p) = opts::get_int(op, filter, "pid")? {
        let pid = i32::try_from(p)
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| invalid(op, format!("pid {p} is not a valid pid (1 to 2147483647)")))?;
        f.pid = Some(pid);
    }
    let all = os::lsns::scan(&f).rhai()?;
    Ok(all.iter().map(|n| ns_map(n).into()).collect())
}

// ---------------------------------------------------------------------
// in_ns: the closure's result, across a pipe
// ---------------------------------------------------------------------

/// How the child's closure ended, as the first byte of the message.
const VALUE: u8 = b'V';
const THROWN: u8 = b'T';
const FAILED: u8 = b'E';
const EXIT: u8 = b'X';
const CANNOT_CROSS: u8 = b'N';

/// A small self-describing encoding of plain script values. It keeps what
/// JSON would blur (int vs float, NaN and infinities, chars, blobs) and
/// refuses what cannot leave a process (function pointers, Process
/// handles, timestamps), naming where in the value it is.
mod wire {
    use rhai::{Array, Blob, Dynamic, Map};

    const UNIT: u8 = 0;
    const FALSE: u8 = 1;
    const TRUE: u8 = 2;
    const INT: u8 = 3;
    const FLOAT: u8 = 4;
    const CHAR: u8 = 5;
    const STR: u8 = 6;
    const BLOB: u8 = 7;
    const ARRAY: u8 = 8;
    const MAP: u8 = 9;
    /// Deeper values are refused rather than risking the stack.
    const MAX_DEPTH: usize = 256;

    /// "a function pointer", "a Process"...: what a value is, for errors.
    pub fn what(v: &Dynamic) -> String {
        format!("a {}", super::opts::type_name(v))
    }

    fn len(out: &mut Vec<u8>, n: usize, at: &str) -> Result<(), String> {
        let n = u32::try_from(n).map_err(|_| format!("{at} is too large to send"))?;
        out.extend_from_slice(&n.to_le_bytes());
        Ok(())
    }

    /// Appends `v`; on a value that cannot cross, says which and where
    /// (`at` is its path, like "result.list[2]").
    pub fn encode(v: &Dynamic, at: &str, depth: usize, out: &mut Vec<u8>) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("{at} is nested more than {MAX_DEPTH} levels deep"));
        }
        let v = v.flatten_clone();
        if v.is_unit() {
            out.push(UNIT);
        } else if let Ok(b) = v.as_bool() {
            out.push(if b { TRUE } else { FALSE });
        } else if let Ok(i) = v.as_int() {
            out.push(INT);
            out.extend_from_slice(&i.to_le_bytes());
        } else if let Ok(f) = v.as_float() {
            out.push(FLOAT);
            out.extend_from_slice(&f.to_bits().to_le_bytes());
        } else if let Ok(c) = v.as_char() {
            out.push(CHAR);
            out.extend_from_slice(&(c as u32).to_le_bytes());
        } else if v.is_string() {
            let s = v.into_string().unwrap_or_default();
            out.push(STR);
            len(out, s.len(), at)?;
            out.extend_from_slice(s.as_bytes());
        } else if v.is_blob() {
            let b = v.cast::<Blob>();
            out.push(BLOB);
            len(out, b.len(), at)?;
            out.extend_from_slice(&b);
        } else if v.is_array() {
            let a = v.cast::<Array>();
            out.push(ARRAY);
            len(out, a.len(), at)?;
            for (i, x) in a.iter().enumerate() {
                encode(x, &format!("{at}[{i}]"), depth + 1, out)?;
            }
        } else if v.is_map() {
            let m = v.cast::<Map>();
            out.push(MAP);
            len(out, m.len(), at)?;
            for (k, x) in &m {
                len(out, k.len(), at)?;
                out.extend_from_slice(k.as_bytes());
                encode(x, &format!("{at}.{k}"), depth + 1, out)?;
            }
        } else {
            return Err(format!("{at} is {}", what(&v)));
        }
        Ok(())
    }

    fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        if b.len() < n {
            return None;
        }
        let (head, rest) = b.split_at(n);
        *b = rest;
        Some(head)
    }

    fn u32_of(b: &mut &[u8]) -> Option<u32> {
        Some(u32::from_le_bytes(take(b, 4)?.try_into().ok()?))
    }

    fn u64_of(b: &mut &[u8]) -> Option<u64> {
        Some(u64::from_le_bytes(take(b, 8)?.try_into().ok()?))
    }

    fn text(b: &mut &[u8]) -> Option<String> {
        let n = u32_of(b)? as usize;
        String::from_utf8(take(b, n)?.to_vec()).ok()
    }

    /// Reads one value; None when the bytes end early or are not ours.
    pub fn decode(b: &mut &[u8], depth: usize) -> Option<Dynamic> {
        if depth > MAX_DEPTH {
            return None;
        }
        let tag = *take(b, 1)?.first()?;
        Some(match tag {
            UNIT => Dynamic::UNIT,
            FALSE => false.into(),
            TRUE => true.into(),
            INT => (u64_of(b)? as i64).into(),
            FLOAT => f64::from_bits(u64_of(b)?).into(),
            CHAR => char::from_u32(u32_of(b)?)?.into(),
            STR => text(b)?.into(),
            BLOB => {
                let n = u32_of(b)? as usize;
                Dynamic::from_blob(take(b, n)?.to_vec())
            }
            ARRAY => {
                let n = u32_of(b)? as usize;
                let mut a = Array::new();
                for _ in 0..n {
                    a.push(decode(b, depth + 1)?);
                }
                a.into()
            }
            MAP => {
                let n = u32_of(b)? as usize;
                let mut m = Map::new();
                for _ in 0..n {
                    let k = text(b)?;
                    m.insert(k.into(), decode(b, depth + 1)?);
                }
                m.into()
            }
            _ => return None,
        })
    }
}

/// The error itself, without the "in closure call" layers Rhai wraps
/// around an error raised inside a function.
fn innermost(mut e: Box<EvalAltResult>) -> Box<EvalAltResult> {
    while let EvalAltResult::ErrorInFunctionCall(_, _, inner, _) = *e {
        e = inner;
    }
    e
}

/// The message the child sends: how the closure ended, and its value.
fn child_message(r: Result<Dynamic, Box<EvalAltResult>>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut with = |tag: u8, v: &Dynamic, at: &str| -> Vec<u8> {
        out.clear();
        out.push(tag);
        match wire::encode(v, at, 0, &mut out) {
            Ok(()) => std::mem::take(&mut out),
            Err(why) => {
                let mut m = vec![CANNOT_CROSS];
                let _ = wire::encode(&Dynamic::from(why), "", 0, &mut m);
                m
            }
        }
    };
    match r {
        Ok(v) => with(VALUE, &v, "the result"),
        Err(e) => match *innermost(e) {
            EvalAltResult::ErrorRuntime(v, _) => with(THROWN, &v, "the thrown value"),
            EvalAltResult::ErrorTerminated(ref v, _) if v.is::<super::ExitRequest>() => {
                let code = v.clone().cast::<super::ExitRequest>().0;
                with(EXIT, &Dynamic::from(code as i64), "")
            }
            other => with(FAILED, &Dynamic::from(other.to_string()), ""),
        },
    }
}

/// Turns the child's message into the value (or error) of `in_ns`.
fn parent_outcome(bytes: &[u8], code: i32) -> RResult<Dynamic> {
    let op = "in_ns";
    let ended = || {
        let how = if code > 128 {
            format!("was killed by signal {}", code - 128)
        } else {
            format!("exited with status {code}")
        };
        os_err(
            os::Error::with_errno(
                op,
                nix::errno::Errno::ECHILD,
                format!("the child process {how} before returning a value"),
            )
            .hint("something outside the script ended it, or it ran out of memory"),
        )
    };
    let Some((&tag, mut rest)) = bytes.split_first() else {
        return Err(ended());
    };
    let v = wire::decode(&mut rest, 0).filter(|_| rest.is_empty());
    let Some(v) = v else {
        return Err(ended());
    };
    let runtime = |v: Dynamic| EvalAltResult::ErrorRuntime(v, rhai::Position::NONE).into();
    match tag {
        VALUE => Ok(v),
        THROWN => Err(runtime(v)),
        FAILED => Err(runtime(Dynamic::from(format!(
            "in_ns: {}",
            v.into_string().unwrap_or_default()
        )))),
        EXIT => Err(EvalAltResult::ErrorTerminated(
            Dynamic::from(super::ExitRequest(v.as_int().unwrap_or(1) as i32)),
            rhai::Position::NONE,
        )
        .into()),
        CANNOT_CROSS => Err(os_err(
            os::Error::invalid(
                op,
                format!(
                    "{}, which cannot leave the child process",
                    v.into_string().unwrap_or_default()
                ),
            )
            .hint("return plain data: (), bool, int, float, char, string, blob, array or map"),
        )),
        _ => Err(ended()),
    }
}

fn in_ns_impl(ctx: &NativeCallContext, o: &Map, f: &FnPtr) -> RResult<Dynamic> {
    let op = "in_ns";
    opts::check_keys(op, o, IN_NS_KEYS, &[])?;
    let mut spec = opts::spawn_spec(op, &Dynamic::from(op), o, &[])?;
    spec.argv.clear();
    let forked = os::in_ns::fork_in(&spec).rhai()?;
    match forked {
        InChild::Child(sender) => {
            // This copy of the interpreter does not own the parent's
            // children: never kill or wait for them from here.
            super::process::forget_all();
            let r = f.call_within_context::<Dynamic>(ctx, ());
            // What the closure spawned dies with it.
            super::process::reap_all();
            let msg = child_message(r);
            let code = i32::from(sender.send(&msg).is_err());
            sender.exit(code)
        }
        InChild::Parent(waiting) => {
            let (bytes, code) = waiting.result(&os::interrupted).rhai()?;
            parent_outcome(&bytes, code)
        }
    }
}

#[export_module(manifest)]
pub mod ns_fns {
    use super::*;

    /// Move the interpreter itself into new namespaces (unshare(2)).
    /// `kinds`: "user", "mount", "uts", "ipc", "pid", "net", "cgroup",
    /// "time". Not root? Include "user": a new user namespace gives its
    /// creator the capabilities the others need.
    ///
    /// A new pid namespace holds only the children started afterwards: the
    /// next one spawned is its pid 1 (when that one exits, the namespace
    /// takes no more). With "mount", / is made private at once, so
    /// nothing mounted later reaches the host.
    ///
    /// ```rhai
    /// unshare(["uts"]);          // as root; add "user" otherwise
    /// set_hostname("lab");
    /// print(hostname());         // lab; the host keeps its name
    /// ```
    #[rhai_fn(name = "unshare", return_raw)]
    pub fn unshare(kinds: Dynamic) -> RResult<()> {
        unshare_impl(&kinds, &Map::new())
    }

    /// `unshare(kinds)` with options: `map_root`, `uid_map`, `gid_map`,
    /// `setgroups` (as for spawn: maps are written from outside the new
    /// user namespace, setgroups denied first), `propagation` for a new
    /// mount namespace, `time_offsets` for "time" (the interpreter then
    /// moves into it itself), `hostname`, `domainname`.
    ///
    /// ```rhai
    /// unshare(["user", "uts"], #{map_root: true, hostname: "box"});
    /// print(id().uid);           // 0
    /// print(hostname());         // box
    /// ```
    #[rhai_fn(name = "unshare", return_raw)]
    pub fn unshare_with(kinds: Dynamic, opts: Map) -> RResult<()> {
        unshare_impl(&kinds, &opts)
    }

    /// Join namespaces of another process (setns(2)), through a pidfd so a
    /// reused pid cannot redirect the join; all kinds at once. `kinds` is a
    /// list, one name, or "all" (every kind where the process differs from
    /// us, like `nsenter --all`). Naming a kind the process shares with us
    /// is an error. Returns the kinds joined.
    ///
    /// Joining "user" makes you uid 0 there when it maps 0 (as nsenter
    /// does); "pid" changes only where later children go; "mount" moves /
    /// and the cwd to that namespace's root.
    ///
    /// ```rhai
    /// let p = spawn(["sleep", "30"], #{ns: ["uts"], hostname: "peer"});
    /// setns(p.pid, ["uts"]);
    /// print(hostname());         // peer
    /// p.kill();
    /// ```
    #[rhai_fn(name = "setns", return_raw)]
    pub fn setns_pid(pid: i64, kinds: Dynamic) -> RResult<Array> {
        setns_pid_impl(pid, &kinds)
    }

    /// Join the namespace an nsfs file holds: /proc/PID/ns/KIND, a file
    /// made by `persist`, or /run/netns/NAME made by `ip netns add`. Any
    /// other file is an error. Returns its kind.
    ///
    /// ```rhai
    /// setns("/run/netns/lab");   // after `ip netns add lab`
    /// print(links());
    /// ```
    #[rhai_fn(name = "setns", return_raw)]
    pub fn setns_path(path: &str) -> RResult<String> {
        let op = "setns";
        let t = Target::of_path(op, path).rhai()?;
        os::nsfs::setns(op, &t).rhai()?;
        Ok(t.ns
            .iter()
            .next()
            .map(|k| k.name())
            .unwrap_or("")
            .to_string())
    }

    /// Run a command inside namespaces of another process, like
    /// `nsenter --target PID`, and return what `run` returns:
    /// `#{code, stdout, stderr}`. The interpreter itself stays where it is.
    /// `kinds` as for `setns`; with "pid" the command is forked once more,
    /// so it really is in that pid namespace.
    ///
    /// ```rhai
    /// let p = spawn(["sleep", "30"], #{ns: ["uts"], hostname: "peer"});
    /// let r = enter(p.pid, ["uts"], ["hostname"]);
    /// print(r.stdout);           // peer
    /// p.kill();
    /// ```
    #[rhai_fn(name = "enter", return_raw)]
    pub fn enter(pid: i64, kinds: Dynamic, cmd: Dynamic) -> RResult<Map> {
        enter_impl(pid, &kinds, &cmd, Map::new())
    }

    /// `enter` with run()'s options about the program: `input`, `cwd`,
    /// `env`, `clear_env`, `stdin`/`stdout`/`stderr` (stdout and stderr
    /// default to "pipe").
    ///
    /// ```rhai
    /// let r = enter(1, ["net"], ["ip", "-o", "link"], #{stderr: "inherit"});
    /// ```
    #[rhai_fn(name = "enter", return_raw)]
    pub fn enter_with(pid: i64, kinds: Dynamic, cmd: Dynamic, opts: Map) -> RResult<Map> {
        enter_impl(pid, &kinds, &cmd, opts)
    }

    /// Every namespace of a process, kind -> id, as readlink shows them:
    /// `#{uts: "uts:[4026531838]", net: "net:[4026531840]", ...}`.
    ///
    /// ```rhai
    /// let mine = ns_of(pid());
    /// assert_eq(mine.uts, ns_id("uts"));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn ns_of(pid: i64) -> RResult<Map> {
        let v = os::nsfs::ns_of("ns_of", pid).rhai()?;
        Ok(v.into_iter()
            .map(|(k, l)| (k.name().into(), l.into()))
            .collect())
    }

    /// Every namespace on the system, like `lsns`: an array of
    /// `#{id, inode, type, nprocs, pid, ppid, command, uid, owner, parent,
    /// paths}` sorted by inode. `pid` is the lowest pid in it, `owner` the
    /// inode of the user namespace owning it, `parent` (pid and user only)
    /// the parent's inode, `paths` where it is bind-mounted (persist,
    /// /run/netns). A namespace only a bind mount keeps has `nprocs` 0.
    ///
    /// ```rhai
    /// for n in namespaces() {
    ///     print(`${n.inode} ${n.type} ${n.nprocs} ${n.pid} ${n.command}`);
    /// }
    /// ```
    #[rhai_fn(name = "namespaces", return_raw)]
    pub fn namespaces() -> RResult<Array> {
        namespaces_impl(&Map::new())
    }

    /// `namespaces()` filtered: `#{type: "net"}` (or a list of kinds),
    /// `#{pid: 1234}` (the namespaces of that process).
    ///
    /// ```rhai
    /// print(namespaces(#{type: "net"}).len());
    /// ```
    #[rhai_fn(name = "namespaces", return_raw)]
    pub fn namespaces_filtered(filter: Map) -> RResult<Array> {
        namespaces_impl(&filter)
    }

    /// Keep a namespace alive after its processes exit: bind-mount
    /// /proc/PID/ns/KIND onto `path` (an empty file, created if missing),
    /// like `unshare --net=FILE` or `ip netns add`. This changes the host's
    /// mount table on purpose (release it with `unpersist`). Under
    /// /run/netns, `ip netns list` and `ip netns exec` see it (the
    /// directory is set up as `ip` does and stays a mount point, as with
    /// ip). Returns the namespace's id.
    ///
    /// ```rhai
    /// let p = spawn(["sleep", "30"], #{ns: ["net"]});
    /// persist(p.pid, "net", "/run/netns/lab");
    /// p.kill();
    /// setns("/run/netns/lab");   // still there
    /// ```
    #[rhai_fn(return_raw)]
    pub fn persist(pid: i64, kind_name: &str, path: &str) -> RResult<String> {
        let op = "persist";
        os::persist::persist(op, pid, kind(op, kind_name)?, path).rhai()
    }

    /// Release a namespace kept by `persist` (or `ip netns add`): unmount
    /// the file and remove it. Refuses a path that holds no namespace.
    ///
    /// ```rhai
    /// unpersist("/run/netns/lab");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn unpersist(path: &str) -> RResult<()> {
        os::persist::unpersist("unpersist", path).rhai()
    }

    /// Run a closure in a forked copy of the interpreter inside new
    /// namespaces and return its value. `opts` are spawn's namespace
    /// options (`ns`, `flags`, `map_root`, `uid_map`, `gid_map`,
    /// `setgroups`, `hostname`, `domainname`, `mount_proc`, `propagation`,
    /// `cwd`, `time_offsets`).
    ///
    /// The value crosses back as data: (), bool, int, float, char, string,
    /// blob, array, map; anything else (a function pointer, a Process) is an
    /// error. A `throw` or an error inside comes back as an error here,
    /// with its value or message; `exit(n)` inside ends the script. What the
    /// closure prints appears in order; what it spawns dies with it; the
    /// child never outlives the call (Ctrl-C kills it).
    ///
    /// ```rhai
    /// let h = in_ns(#{ns: ["uts"]}, || { set_hostname("inner"); hostname() });
    /// print(h);                  // inner
    /// print(hostname());         // the host's name
    /// ```
    #[rhai_fn(name = "in_ns", return_raw)]
    pub fn in_ns(ctx: NativeCallContext, opts: Map, f: FnPtr) -> RResult<Dynamic> {
        in_ns_impl(&ctx, &opts, &f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(v: Dynamic) -> Dynamic {
        let mut out = Vec::new();
        wire::encode(&v, "v", 0, &mut out).unwrap();
        let mut b = out.as_slice();
        let back = wire::decode(&mut b, 0).unwrap();
        assert!(b.is_empty());
        back
    }

    #[test]
    fn plain_values_cross_unchanged() {
        assert!(round_trip(Dynamic::UNIT).is_unit());
        assert_eq!(round_trip(true.into()).as_bool(), Ok(true));
        assert_eq!(round_trip((-42_i64).into()).as_int(), Ok(-42));
        assert_eq!(round_trip(1.5_f64.into()).as_float(), Ok(1.5));
        assert!(round_trip(f64::NAN.into()).as_float().unwrap().is_nan());
        assert_eq!(round_trip('é'.into()).as_char(), Ok('é'));
        assert_eq!(round_trip("héllo".into()).into_string().unwrap(), "héllo");
        let mut m = Map::new();
        m.insert("a".into(), Dynamic::from(vec![Dynamic::from(1_i64)]));
        let back = round_trip(m.into()).cast::<Map>();
        let a = back["a"].clone().into_array().unwrap();
        assert_eq!(a[0].as_int(), Ok(1));
        let blob = round_trip(Dynamic::from_blob(vec![0, 255]));
        assert!(blob.is_blob());
    }

    #[test]
    fn a_function_pointer_cannot_cross_and_is_named() {
        let fp = FnPtr::new("f").unwrap();
        let v: Array = vec![1_i64.into(), Dynamic::from(fp)];
        let mut out = Vec::new();
        let e = wire::encode(&v.into(), "the result", 0, &mut out).unwrap_err();
        assert_eq!(e, "the result[1] is a function pointer");
    }

    #[test]
    fn truncated_messages_are_errors_not_panics() {
        let mut out = vec![VALUE];
        wire::encode(&Dynamic::from("abcdef"), "v", 0, &mut out).unwrap();
        for cut in 0..out.len() {
            assert!(parent_outcome(&out[..cut], 137).is_err());
        }
        assert_eq!(
            parent_outcome(&out, 0).unwrap().into_string().unwrap(),
            "abcdef"
        );
    }
}
