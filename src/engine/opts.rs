//! Decoding option maps (`#{ns: ["uts"], hostname: "box"}`) into os types.
//! Unknown keys are rejected with the list of valid ones; every value is
//! type-checked and named in the error.

use super::error::{invalid, IntoRhai, RResult};
use crate::os::idmap::{IdRange, SetGroups};
use crate::os::ns::{Namespace, NsSet};
use crate::os::nsfs::Target;
use crate::os::setup::{
    Dev, Init, MountEntry, MountKind, Propagation, Rlimit, Spec, Stdio, TimeOffsets,
};
use rhai::{Array, Dynamic, Map};

/// The keys `spawn` accepts.
pub const SPAWN_KEYS: &[&str] = &[
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
    "env",
    "clear_env",
    "stdin",
    "stdout",
    "stderr",
    "time_offsets",
    "trace",
    "join",
    "root",
    "readonly_root",
    "mounts",
    "dev",
    "masked_paths",
    "readonly_paths",
    "no_new_privs",
    "init",
    "uid",
    "gid",
    "groups",
    "lo_up",
    "capabilities",
    "rlimits",
];

/// `run` takes spawn's keys plus `input` (text for the child's stdin).
pub const RUN_EXTRA_KEYS: &[&str] = &["input"];

/// The keys about the program alone, for calls that run it in namespaces
/// that already exist (`enter`, a topology's `run` and `start`): run()'s,
/// minus those about new namespaces.
pub const PROGRAM_KEYS: &[&str] = &[
    "cwd",
    "env",
    "clear_env",
    "stdin",
    "stdout",
    "stderr",
    "input",
];

/// Rejects keys not in `valid` (and `extra`), naming them and the valid ones.
pub fn check_keys(op: &str, map: &Map, valid: &[&str], extra: &[&str]) -> RResult<()> {
    let mut unknown: Vec<&str> = map
        .keys()
        .map(|k| k.as_str())
        .filter(|k| !valid.contains(k) && !extra.contains(k))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    unknown.sort();
    let mut all: Vec<&str> = valid.iter().chain(extra).copied().collect();
    all.sort();
    Err(invalid(
        op,
        format!(
            "unknown option{} {}; valid options: {}",
            if unknown.len() > 1 { "s" } else { "" },
            unknown.join(", "),
            all.join(", ")
        ),
    ))
}

/// A value's type as scripts know it (int, string, map, Process...), for
/// messages and the REPL: the one place that names types.
pub fn type_name(v: &Dynamic) -> &'static str {
    match v.type_name() {
        "i64" => "int",
        "f64" => "float",
        "rhai::ImmutableString" | "string" => "string",
        "rhai::Map" | "map" => "map",
        "rhai::Array" | "array" => "array",
        "()" => "()",
        "bool" => "bool",
        "char" => "char",
        "blob" => "blob",
        "Fn" => "function pointer",
        "timestamp" => "timestamp",
        t if t.ends_with("Process") => "Process",
        t => t.rsplit("::").next().unwrap_or(t),
    }
}

fn want(op: &str, key: &str, what: &str, v: &Dynamic) -> Box<rhai::EvalAltResult> {
    // The value itself, where printing it says more than its type (not
    // "() ()", nor a Rust type path for a Process).
    let t = type_name(v);
    let shown = match t {
        "()" | "Process" | "function pointer" => String::new(),
        _ => format!(" ({v})"),
    };
    invalid(op, format!("{key} must be {what}, not {t}{shown}"))
}

pub fn get_str(op: &str, m: &Map, key: &str) -> RResult<Option<String>> {
    match m.get(key) {
        None => Ok(None),
        Some(v) if v.is_string() => Ok(v.clone().into_string().ok()),
        Some(v) => Err(want(op, key, "a string", v)),
    }
}

pub fn get_bool(op: &str, m: &Map, key: &str) -> RResult<Option<bool>> {
    match m.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_bool()
            .map(Some)
            .map_err(|_| want(op, key, "true or false", v)),
    }
}

pub fn get_int(op: &str, m: &Map, key: &str) -> RResult<Option<i64>> {
    match m.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_int()
            .map(Some)
            .map_err(|_| want(op, key, "an integer", v)),
    }
}

/// A command: a program name, or `[prog, arg...]` of strings.
pub fn command(op: &str, cmd: &Dynamic) -> RResult<Vec<String>> {
    let argv = if cmd.is_string() {
        vec![cmd.clone().into_string().unwrap_or_default()]
    } else if cmd.is_array() {
        let arr = cmd.clone().into_array().unwrap_or_default();
        arr.iter()
            .enumerate()
            .map(|(i, a)| {
                a.clone().into_string().map_err(|t| {
                    invalid(op, format!("command element {i} must be a string, not {t}"))
                })
            })
            .collect::<RResult<Vec<_>>>()?
    } else {
        return Err(invalid(
            op,
            format!(
                "the command must be a string or an array of strings, not {}",
                type_name(cmd)
            ),
        ));
    };
    if argv.first().map_or(true, |p| p.is_empty()) {
        return Err(invalid(
            op,
            "the command is empty; give a program, like \"sh\" or [\"ls\", \"-l\"]",
        ));
    }
    Ok(argv)
}

/// Namespace kinds from `ns: [..]` (or one string) and `flags: bits`.
pub fn ns_set(op: &str, m: &Map) -> RResult<NsSet> {
    let mut set = NsSet::empty();
    if let Some(v) = m.get("ns") {
        for k in kinds(op, "ns", v)? {
            set.insert(k);
        }
    }
    if let Some(bits) = get_int(op, m, "flags")? {
        for k in NsSet::from_flags(bits)
            .map_err(|e| e.op_renamed(op))
            .rhai()?
            .iter()
        {
            set.insert(k);
        }
    }
    Ok(set)
}

/// A list of namespace kinds: `["uts", "pid"]` or `"uts"`.
pub fn kinds(op: &str, key: &str, v: &Dynamic) -> RResult<Vec<Namespace>> {
    let items: Array = if v.is_string() {
        vec![v.clone()]
    } else if v.is_array() {
        v.clone().into_array().unwrap_or_default()
    } else {
        return Err(want(
            op,
            key,
            "an array of namespace names like [\"uts\", \"pid\"]",
            v,
        ));
    };
    items
        .iter()
        .map(|k| {
            let s = k
                .clone()
                .into_string()
                .map_err(|t| invalid(op, format!("{key}: namespace names are strings, not {t}")))?;
            s.parse::<Namespace>()
                .map_err(|e| crate::os::Error::invalid(op, e.detail))
                .rhai()
        })
        .collect()
}

/// `["uts", "net"]`, `"uts"`, or `"all"` (every kind the target has of
/// its own): the kinds, and whether "all" was asked for.
pub fn join_kinds(op: &str, key: &str, v: &Dynamic) -> RResult<(NsSet, bool)> {
    if v.clone().into_string().is_ok_and(|s| s == "all") {
        return Ok((NsSet::empty(), true));
    }
    Ok((kinds(op, key, v)?.into_iter().collect(), false))
}

/// spawn's `join: #{pid, ns}`: the namespaces of a running process to
/// join before the new ones are created inside them.
fn join(op: &str, v: &Dynamic) -> RResult<Target> {
    let m = v
        .clone()
        .try_cast::<Map>()
        .ok_or_else(|| want(op, "join", "a map like #{pid: p.pid, ns: [\"user\"]}", v))?;
    let what = format!("{op}: join");
    check_keys(&what, &m, &["pid", "ns"], &[])?;
    let pid = get_int(&what, &m, "pid")?.ok_or_else(|| {
        invalid(
            &what,
            "pid is missing: the process whose namespaces to join",
        )
    })?;
    let kinds = m
        .get("ns")
        .ok_or_else(|| invalid(&what, "ns is missing: the kinds to join, or \"all\""))?;
    let (set, all) = join_kinds(&what, "ns", kinds)?;
    Target::of_pid(&what, pid, set, all).rhai()
}

/// A uid/gid map: `[#{inside, outside, count}]` or `[[inside, outside, count]]`.
fn id_map(op: &str, key: &str, v: &Dynamic) -> RResult<Vec<IdRange>> {
    let arr = v.clone().into_array().map_err(|_| {
        want(
            op,
            key,
            "an array like [#{inside: 0, outside: uid(), count: 1}]",
            v,
        )
    })?;
    let what = format!("{op}: {key}");
    arr.iter()
        .enumerate()
        .map(|(i, r)| {
            let (inside, outside, count) = if r.is_map() {
                let m = r.clone().cast::<Map>();
                check_keys(&what, &m, &["inside", "outside", "count"], &[])?;
                let f = |k: &str| -> RResult<i64> {
                    get_int(&what, &m, k)?
                        .ok_or_else(|| invalid(&what, format!("range {i} has no {k:?}")))
                };
                (
                    f("inside")?,
                    f("outside")?,
                    m.get("count").map_or(Ok(1), |_| f("count"))?,
                )
            } else if r.is_array() {
                let a = r.clone().into_array().unwrap_or_default();
                let nums: Vec<i64> = a.iter().filter_map(|x| x.as_int().ok()).collect();
                if a.len() != 3 || nums.len() != 3 {
                    return Err(invalid(
                        &what,
                        format!("range {i} must be [inside, outside, count] of integers"),
                    ));
                }
                (nums[0], nums[1], nums[2])
            } else {
                return Err(invalid(
                    &what,
                    format!("range {i} must be a map or an array, not {}", type_name(r)),
                ));
            };
            IdRange::new(&what, inside, outside, count).rhai()
        })
        .collect()
}

fn stdio(op: &str, m: &Map, key: &str) -> RResult<Stdio> {
    match get_str(op, m, key)? {
        None => Ok(Stdio::Inherit),
        Some(s) => s
            .parse()
            .map_err(|e: String| invalid(op, format!("{key}: {e}"))),
    }
}

/// Everything `spawn(cmd, opts)` and `run(cmd, opts)` take.
pub fn spawn_spec(op: &str, cmd: &Dynamic, m: &Map, extra: &[&str]) -> RResult<Spec> {
    check_keys(op, m, SPAWN_KEYS, extra)?;
    let mut spec = Spec {
        argv: command(op, cmd)?,
        ns: ns_set(op, m)?,
        ..Default::default()
    };
    if let Some(v) = m.get("uid_map") {
        spec.uid_map = Some(id_map(op, "uid_map", v)?);
    }
    if let Some(v) = m.get("gid_map") {
        spec.gid_map = Some(id_map(op, "gid_map", v)?);
    }
    if get_bool(op, m, "map_root")? == Some(true) {
        if spec.uid_map.is_some() || spec.gid_map.is_some() {
            return Err(invalid(
                op,
                "map_root and uid_map/gid_map are exclusive; give one",
            ));
        }
        // Like `unshare --map-root-user`: our effective ids become 0 inside.
        let one = |outside: u32| IdRange {
            inside: 0,
            outside,
            count: 1,
        };
        spec.uid_map = Some(vec![one(crate::os::ident::euid())]);
        spec.gid_map = Some(vec![one(crate::os::ident::egid())]);
        spec.ns.insert(Namespace::User);
    }
    if let Some(s) = get_str(op, m, "setgroups")? {
        spec.setgroups = Some(s.parse::<SetGroups>().rhai()?);
    }
    spec.hostname = get_str(op, m, "hostname")?;
    spec.domainname = get_str(op, m, "domainname")?;
    spec.mount_proc = get_bool(op, m, "mount_proc")?.unwrap_or(false);
    if spec.mount_proc {
        // A fresh /proc must not cover the host's: like `unshare
        // --mount-proc`, it implies a new mount namespace.
        spec.ns.insert(Namespace::Mount);
    }
    if let Some(p) = get_str(op, m, "propagation")? {
        spec.propagation = p
            .parse::<Propagation>()
            .map_err(|e| invalid(op, format!("propagation: {e}")))?;
    }
    spec.cwd = get_str(op, m, "cwd")?;
    if let Some(v) = m.get("env") {
        let env = v
            .clone()
            .try_cast::<Map>()
            .ok_or_else(|| want(op, "env", "a map of strings like #{PATH: \"/bin\"}", v))?;
        for (k, v) in env {
            let val = if v.is_string() {
                v.into_string().unwrap_or_default()
            } else if v.is_int() || v.is_bool() || v.is_float() {
                v.to_string()
            } else {
                return Err(invalid(
                    op,
                    format!("env.{k} must be a string, not {}", type_name(&v)),
                ));
            };
            spec.env.push((k.to_string(), val));
        }
    }
    spec.clear_env = get_bool(op, m, "clear_env")?.unwrap_or(false);
    spec.stdin = stdio(op, m, "stdin")?;
    spec.stdout = stdio(op, m, "stdout")?;
    spec.stderr = stdio(op, m, "stderr")?;
    if let Some(v) = m.get("time_offsets") {
        let t = v.clone().try_cast::<Map>().ok_or_else(|| {
            want(
                op,
                "time_offsets",
                "a map like #{monotonic: 3600, boottime: 0}",
                v,
            )
        })?;
        let what = format!("{op}: time_offsets");
        check_keys(&what, &t, &["monotonic", "boottime"], &[])?;
        spec.time_offsets = Some(TimeOffsets {
            monotonic: get_int(&what, &t, "monotonic")?.unwrap_or(0),
            boottime: get_int(&what, &t, "boottime")?.unwrap_or(0),
        });
    }
    spec.trace = get_bool(op, m, "trace")?.unwrap_or(false);
    if let Some(v) = m.get("join") {
        spec.join = Some(std::sync::Arc::new(join(op, v)?));
    }
    container(op, m, &mut spec)?;
    Ok(spec)
}

/// An id given by a script (uid, gid, a group).
fn id(op: &str, key: &str, n: i64) -> RResult<u32> {
    u32::try_from(n)
        .ok()
        .filter(|v| *v != u32::MAX)
        .ok_or_else(|| invalid(op, format!("{key} {n} is not an id (0 to 4294967294)")))
}

fn strings(op: &str, key: &str, v: &Dynamic) -> RResult<Vec<String>> {
    let a = v
        .clone()
        .into_array()
        .map_err(|_| want(op, key, "an array of strings", v))?;
    a.into_iter()
        .enumerate()
        .map(|(i, x)| {
            x.into_string()
                .map_err(|t| invalid(op, format!("{key}[{i}] must be a string, not {t}")))
        })
        .collect()
}

/// The container options: `root`, `readonly_root`, `mounts`, `dev`,
/// `masked_paths`, `readonly_paths`, `no_new_privs`, `init`, `uid`, `gid`,
/// `groups`. A root or mounts imply a new mount namespace.
fn container(op: &str, m: &Map, spec: &mut Spec) -> RResult<()> {
    spec.root = get_str(op, m, "root")?;
    spec.readonly_root = get_bool(op, m, "readonly_root")?.unwrap_or(false);
    if let Some(v) = m.get("mounts") {
        let a = v.clone().into_array().map_err(|_| {
            want(
                op,
                "mounts",
                "an array like [#{type: \"tmpfs\", dst: \"/tmp\"}]",
                v,
            )
        })?;
        for (i, e) in a.iter().enumerate() {
            spec.mounts.push(mount_entry(op, i, e)?);
        }
    }
    if spec.root.is_some() || !spec.mounts.is_empty() {
        spec.ns.insert(Namespace::Mount);
    }
    spec.dev = match get_str(op, m, "dev")?.as_deref() {
        None => None,
        Some("minimal") => Some(Dev::Minimal),
        Some("nodes") => Some(Dev::Nodes),
        Some(o) => {
            return Err(invalid(
                op,
                format!("dev: {o:?} is not one of \"minimal\", \"nodes\""),
            ))
        }
    };
    if let Some(v) = m.get("masked_paths") {
        spec.masked_paths = strings(op, "masked_paths", v)?;
    }
    if let Some(v) = m.get("readonly_paths") {
        spec.readonly_paths = strings(op, "readonly_paths", v)?;
    }
    spec.no_new_privs = get_bool(op, m, "no_new_privs")?.unwrap_or(false);
    spec.lo_up = get_bool(op, m, "lo_up")?.unwrap_or(false);
    spec.init = match m.get("init") {
        None => None,
        Some(v) if v.is_bool() => v.as_bool().ok().filter(|b| *b).map(|_| Init::default()),
        Some(v) if v.is_map() => {
            let o = v.clone().cast::<Map>();
            let what = format!("{op}: init");
            check_keys(&what, &o, &["pgroup"], &[])?;
            Some(Init {
                pgroup: get_bool(&what, &o, "pgroup")?.unwrap_or(false),
            })
        }
        Some(v) => return Err(want(op, "init", "true, or a map like #{pgroup: true}", v)),
    };
    if let Some(n) = get_int(op, m, "uid")? {
        spec.uid = Some(id(op, "uid", n)?);
    }
    if let Some(n) = get_int(op, m, "gid")? {
        spec.gid = Some(id(op, "gid", n)?);
    }
    if let Some(v) = m.get("groups") {
        let a = v
            .clone()
            .into_array()
            .map_err(|_| want(op, "groups", "an array of group ids", v))?;
        let g = a
            .iter()
            .map(|x| {
                let n = x.as_int().map_err(|_| {
                    invalid(op, format!("groups must be ids, not {}", type_name(x)))
                })?;
                id(op, "a group", n)
            })
            .collect::<RResult<Vec<u32>>>()?;
        spec.groups = Some(g);
    }
    if let Some(v) = m.get("capabilities") {
        let mut keep = 0u64;
        for (i, name) in strings(op, "capabilities", v)?.iter().enumerate() {
            let n = crate::os::caps::by_name(name).ok_or_else(|| {
                invalid(
                    op,
                    format!("capabilities[{i}]: {name:?} is not a capability, like \"CAP_KILL\""),
                )
            })?;
            keep |= 1 << n;
        }
        spec.capabilities = Some(keep);
    }
    if let Some(v) = m.get("rlimits") {
        spec.rlimits = rlimits(op, v)?;
    }
    Ok(())
}

/// `rlimits: #{nofile: [1024, 4096], core: 0, stack: "unlimited"}`: soft
/// and hard, or one value for both.
fn rlimits(op: &str, v: &Dynamic) -> RResult<Vec<Rlimit>> {
    let m = v
        .clone()
        .try_cast::<Map>()
        .ok_or_else(|| want(op, "rlimits", "a map like #{nofile: [1024, 4096]}", v))?;
    let mut out = Vec::new();
    for (name, value) in &m {
        let key = format!("rlimits.{name}");
        let resource = Rlimit::NAMES
            .iter()
            .find(|(n, _)| *n == name.as_str())
            .map(|(_, r)| *r)
            .ok_or_else(|| {
                let names: Vec<&str> = Rlimit::NAMES.iter().map(|(n, _)| *n).collect();
                invalid(
                    op,
                    format!("{key}: not a resource; valid: {}", names.join(", ")),
                )
            })?;
        let one = |x: &Dynamic| -> RResult<u64> {
            if x.clone().into_string().is_ok_and(|s| s == "unlimited") {
                return Ok(libc::RLIM_INFINITY);
            }
            x.as_int()
                .ok()
                .and_then(|n| u64::try_from(n).ok())
                .ok_or_else(|| want(op, &key, "a number >= 0 or \"unlimited\"", x))
        };
        let (soft, hard) = match value.clone().into_array() {
            Ok(a) if a.len() == 2 => (one(&a[0])?, one(&a[1])?),
            Ok(_) => {
                return Err(invalid(
                    op,
                    format!("{key} must be [soft, hard] or one value"),
                ))
            }
            Err(_) => {
                let both = one(value)?;
                (both, both)
            }
        };
        out.push(Rlimit {
            resource,
            soft,
            hard,
        });
    }
    Ok(out)
}

/// mount(8) option words that are MS_* flags.
const MOUNT_FLAGS: &[(&str, u64)] = &[
    ("nosuid", libc::MS_NOSUID),
    ("nodev", libc::MS_NODEV),
    ("noexec", libc::MS_NOEXEC),
    ("noatime", libc::MS_NOATIME),
    ("nodiratime", libc::MS_NODIRATIME),
    ("relatime", libc::MS_RELATIME),
    ("strictatime", libc::MS_STRICTATIME),
    ("sync", libc::MS_SYNCHRONOUS),
    ("dirsync", libc::MS_DIRSYNC),
];

/// A tmpfs size as mount(8) takes it: bytes, or a number with k, m, g or %.
fn tmpfs_size(what: &str, v: &Dynamic) -> RResult<String> {
    let bad = |shown: String| {
        invalid(
            what,
            format!("size {shown} makes no sense: give bytes (> 0), or a number with k, m, g or %, like \"64m\""),
        )
    };
    if let Ok(n) = v.as_int() {
        return if n > 0 {
            Ok(n.to_string())
        } else {
            Err(bad(n.to_string()))
        };
    }
    let s = v
        .clone()
        .into_string()
        .map_err(|_| want(what, "size", "bytes, or a string like \"64m\"", v))?;
    let digits = s.trim_end_matches(['k', 'K', 'm', 'M', 'g', 'G', '%']);
    let ok = s.len() - digits.len() <= 1
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && digits.bytes().any(|b| b != b'0');
    if ok {
        Ok(s)
    } else {
        Err(bad(format!("{s:?}")))
    }
}

/// One entry of `mounts`: `#{type, dst, src, readonly, recursive, size,
/// mode, options}`.
fn mount_entry(op: &str, i: usize, v: &Dynamic) -> RResult<MountEntry> {
    let what = format!("{op}: mounts[{i}]");
    let m = v.clone().try_cast::<Map>().ok_or_else(|| {
        want(
            &what,
            "an entry",
            "a map like #{type: \"bind\", src: \"/data\", dst: \"/data\"}",
            v,
        )
    })?;
    check_keys(
        &what,
        &m,
        &[
            "type",
            "src",
            "dst",
            "readonly",
            "recursive",
            "size",
            "mode",
            "options",
        ],
        &[],
    )?;
    let kind_name = get_str(&what, &m, "type")?.ok_or_else(|| {
        invalid(
            &what,
            format!("type is missing; one of {}", MountKind::NAMES.join(", ")),
        )
    })?;
    let dst = get_str(&what, &m, "dst")?
        .ok_or_else(|| invalid(&what, "dst is missing: where to mount, inside the new root"))?;
    let recursive = get_bool(&what, &m, "recursive")?.unwrap_or(false);
    let mut entry = MountEntry {
        kind: MountKind::Tmpfs,
        dst,
        readonly: get_bool(&what, &m, "readonly")?.unwrap_or(false),
        flags: 0,
        data: Vec::new(),
        source: None,
    };
    let mut recursive_opt = recursive;
    if let Some(o) = m.get("options") {
        for word in strings(&what, "options", o)? {
            match word.as_str() {
                "ro" => entry.readonly = true,
                "rw" | "bind" | "defaults" => {}
                "rbind" => recursive_opt = true,
                w if ["private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable"].contains(&w) => {
                    return Err(invalid(
                        &what,
                        format!("option {w:?}: propagation is set for the whole tree (spawn's propagation), not per mount"),
                    ))
                }
                w => match MOUNT_FLAGS.iter().find(|(n, _)| *n == w) {
                    Some((_, f)) => entry.flags |= f,
                    None => entry.data.push(w.to_string()),
                },
            }
        }
    }
    entry.kind = match kind_name.as_str() {
        "bind" => MountKind::Bind {
            src: get_str(&what, &m, "src")?.ok_or_else(|| {
                invalid(
                    &what,
                    "src is missing: the path to bind, outside the new root",
                )
            })?,
            recursive: recursive_opt,
        },
        "tmpfs" => MountKind::Tmpfs,
        "proc" => MountKind::Proc,
        "sysfs" => MountKind::Sysfs,
        "devpts" => MountKind::Devpts,
        "mqueue" => MountKind::Mqueue,
        t => {
            return Err(invalid(
                &what,
                format!(
                    "unknown mount type {t:?}; valid types: {}",
                    MountKind::NAMES.join(", ")
                ),
            ))
        }
    };
    if !matches!(entry.kind, MountKind::Bind { .. }) {
        // A filesystem without a device takes any name as its source.
        entry.source = get_str(&what, &m, "src")?;
        if let Some(src) = &entry.source {
            if src.is_empty() || src.contains('\0') {
                return Err(invalid(
                    &what,
                    format!("src {src:?} is empty or has a NUL byte"),
                ));
            }
        }
    }
    if entry.kind != MountKind::Tmpfs && (m.contains_key("size") || m.contains_key("mode")) {
        return Err(invalid(&what, "size and mode are options of a tmpfs"));
    }
    if let Some(v) = m.get("size") {
        entry.data.push(format!("size={}", tmpfs_size(&what, v)?));
    }
    if let Some(v) = m.get("mode") {
        let mode = if let Ok(n) = v.as_int() {
            u32::try_from(n).ok().filter(|n| *n <= 0o7777)
        } else {
            v.clone()
                .into_string()
                .ok()
                .and_then(|s| u32::from_str_radix(&s, 8).ok())
                .filter(|n| *n <= 0o7777)
        };
        let mode = mode.ok_or_else(|| {
            invalid(
                &what,
                format!("mode must be permission bits like 0o755 or \"1777\", not {v}"),
            )
        })?;
        entry.data.push(format!("mode={mode:o}"));
    }
    Ok(entry)
}

trait Rename {
    fn op_renamed(self, op: &str) -> Self;
}

impl Rename for crate::os::Error {
    fn op_renamed(mut self, op: &str) -> Self {
        self.op = op.to_string();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (issue 7): a char, blob, function pointer or Process in
    /// the wrong place was named "value" in the error.
    #[test]
    fn every_script_type_has_a_name() {
        let fp = rhai::FnPtr::new("f")
            .map(Dynamic::from)
            .unwrap_or(Dynamic::UNIT);
        for (v, name) in [
            (Dynamic::from('c'), "char"),
            (Dynamic::from_blob(vec![1]), "blob"),
            (fp, "function pointer"),
            (Dynamic::from(1.5_f64), "float"),
            (Dynamic::UNIT, "()"),
        ] {
            assert_eq!(type_name(&v), name);
        }
        let e = command("spawn", &Dynamic::from('c')).unwrap_err();
        assert!(e.to_string().contains("not char"), "{e}");
        let mut m = Map::new();
        m.insert("cwd".into(), Dynamic::UNIT);
        let e = get_str("spawn", &m, "cwd").unwrap_err();
        assert!(
            e.to_string().contains("cwd must be a string, not ()"),
            "{e}"
        );
        assert!(!e.to_string().contains("() ()"), "{e}");
    }
}
