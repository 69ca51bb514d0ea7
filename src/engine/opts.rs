//! Decoding option maps (`#{ns: ["uts"], hostname: "box"}`) into os types.
//! Unknown keys are rejected with the list of valid ones; every value is
//! type-checked and named in the error.

use super::error::{invalid, IntoRhai, RResult};
use crate::os::idmap::{IdRange, SetGroups};
use crate::os::ns::{Namespace, NsSet};
use crate::os::spawn::{Propagation, Spec, Stdio, TimeOffsets};
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
];

/// `run` takes spawn's keys plus `input` (text for the child's stdin).
pub const RUN_EXTRA_KEYS: &[&str] = &["input"];

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

/// The Rhai type name, for messages.
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
        t if t.ends_with("Topology") => "Topology",
        _ => "value",
    }
}

fn want(op: &str, key: &str, what: &str, v: &Dynamic) -> Box<rhai::EvalAltResult> {
    // The value itself, where printing it says more than its type (not
    // "() ()", nor a Rust type path for a Process).
    let t = type_name(v);
    let shown = match t {
        "()" | "Process" | "function pointer" | "value" => String::new(),
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
    Ok(spec)
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
