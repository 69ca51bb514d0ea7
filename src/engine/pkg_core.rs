//! Identity, files, time, environment, assertions; namespace ids and names.

use super::error::{invalid, os_err, IntoRhai, RResult};
use super::opts;
use crate::os;
use crate::os::ns::Namespace;
use rhai::plugin::*;
use rhai::{Array, Dynamic, Map};

fn kind(s: &str) -> RResult<Namespace> {
    s.parse::<Namespace>().rhai()
}

fn map_to_array(v: Vec<os::idmap::IdRange>) -> Array {
    v.into_iter()
        .map(|r| {
            let mut m = Map::new();
            m.insert("inside".into(), (r.inside as i64).into());
            m.insert("outside".into(), (r.outside as i64).into());
            m.insert("count".into(), (r.count as i64).into());
            m.into()
        })
        .collect()
}

fn assertion(msg: String) -> Box<EvalAltResult> {
    os_err(os::Error {
        op: "assertion failed".into(),
        errno: None,
        detail: msg,
        hint: None,
    })
}

/// Refuses a change that would hit the host itself unless `#{host: true}`.
pub(crate) fn guard_host(op: &str, kind: Namespace, opts: Option<&Map>, how: &str) -> RResult<()> {
    let forced = match opts {
        Some(m) => {
            opts::check_keys(op, m, &["host"], &[])?;
            opts::get_bool(op, m, "host")?.unwrap_or(false)
        }
        None => false,
    };
    let state = os::procfs::initial(kind);
    if forced || state == os::procfs::Initial::No {
        return Ok(());
    }
    let (why, hint) = if state == os::procfs::Initial::Yes {
        (
            format!("this process is in the host's {} namespace", kind.name()),
            format!(
                "call unshare([\"{}\"]) first (add \"user\" when not root), or pass #{{host: true}} to change the host on purpose",
                kind.name()
            ),
        )
    } else {
        // Without /proc (after pivot_root into a root that lacks it) there
        // is no telling: refuse, and say how to let /proc answer.
        (
            format!(
                "cannot tell whether this process is in the host's {} namespace: /proc/self/ns is unreadable",
                kind.name()
            ),
            "mount /proc first (mount_proc(#{host: true}) in a new root), or pass #{host: true} when you are sure".to_string(),
        )
    };
    Err(os_err(
        os::Error::with_errno(
            op,
            nix::errno::Errno::EPERM,
            format!("refusing to {how}: {why}"),
        )
        .hint(hint),
    ))
}

/// `guard_host` for a function whose options map takes `valid` keys
/// besides "host": checks them all, then applies the guard with the "host"
/// key alone.
pub(crate) fn guard_host_keys(
    op: &str,
    kind: Namespace,
    o: &Map,
    valid: &[&str],
    how: &str,
) -> RResult<()> {
    opts::check_keys(op, o, valid, &["host"])?;
    let mut h = Map::new();
    if let Some(v) = o.get("host") {
        h.insert("host".into(), v.clone());
    }
    guard_host(op, kind, Some(&h), how)
}

fn set_hostname_impl(name: &str, opts: Option<&Map>) -> RResult<()> {
    os::uts::check_name("set_hostname", "the hostname", name).rhai()?;
    guard_host("set_hostname", Namespace::Uts, opts, "rename the host")?;
    os::uts::set_hostname(name).rhai()
}

fn set_domainname_impl(name: &str, opts: Option<&Map>) -> RResult<()> {
    os::uts::check_name("set_domainname", "the domain name", name).rhai()?;
    guard_host(
        "set_domainname",
        Namespace::Uts,
        opts,
        "change the host's domain name",
    )?;
    os::uts::set_domainname(name).rhai()
}

fn pid_arg(op: &str, pid: i64) -> RResult<i64> {
    if pid <= 0 || pid > i32::MAX as i64 {
        return Err(invalid(
            op,
            format!("{pid} is not a valid pid (1 to 2147483647)"),
        ));
    }
    Ok(pid)
}

/// Sleeps for `total`, stopping with EINTR when interrupted (Ctrl-C in
/// the REPL, a signal nsscript passes on: os::signals).
fn sleep_for(total: std::time::Duration) -> RResult<()> {
    let deadline = std::time::Instant::now().checked_add(total);
    loop {
        if os::interrupted() {
            return Err(os_err(os::Error::with_errno(
                "sleep",
                nix::errno::Errno::EINTR,
                "interrupted",
            )));
        }
        if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            return Ok(());
        }
        os::signals::wait_until(&[], &mut [], deadline)
            .map_err(|e| os_err(os::Error::sys("sleep", e)))?;
    }
}

/// The clocks `clock()` reads, by name.
const CLOCKS: [(&str, libc::clockid_t); 3] = [
    ("monotonic", libc::CLOCK_MONOTONIC),
    ("boottime", libc::CLOCK_BOOTTIME),
    ("realtime", libc::CLOCK_REALTIME),
];

fn clock_impl(name: &str) -> RResult<f64> {
    let Some(&(_, id)) = CLOCKS.iter().find(|(n, _)| *n == name) else {
        let known: Vec<String> = CLOCKS.iter().map(|(n, _)| format!("{n:?}")).collect();
        return Err(invalid(
            "clock",
            format!(
                "unknown clock {name:?}; the clocks are {}",
                known.join(", ")
            ),
        ));
    };
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime with a known clock id and a valid timespec.
    if unsafe { libc::clock_gettime(id, &mut ts) } < 0 {
        return Err(os_err(os::Error::sys(
            format!("clock({name:?}): clock_gettime"),
            nix::errno::Errno::last(),
        )));
    }
    Ok(ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9)
}

#[export_module(manifest)]
pub mod core_fns {
    use super::*;

    /// The real user id (`id -u -r`).
    ///
    /// ```rhai
    /// print(uid());   // 1000
    /// ```
    pub fn uid() -> i64 {
        os::ident::uid() as i64
    }

    /// The real group id.
    pub fn gid() -> i64 {
        os::ident::gid() as i64
    }

    /// The effective user id (0 as root, also inside a user namespace
    /// that maps you to root).
    pub fn euid() -> i64 {
        os::ident::euid() as i64
    }

    /// The effective group id.
    pub fn egid() -> i64 {
        os::ident::egid() as i64
    }

    /// This interpreter's process id, in its own pid namespace.
    pub fn pid() -> i64 {
        os::ident::pid() as i64
    }

    /// The parent's process id (0 when the parent is outside our pid namespace).
    pub fn ppid() -> i64 {
        os::ident::ppid() as i64
    }

    /// What `id` prints, as a map: `#{uid, gid, euid, egid, user, group, groups}`.
    ///
    /// ```rhai
    /// let me = id();
    /// print(`uid=${me.uid}(${me.user})`);
    /// ```
    pub fn id() -> Map {
        let i = os::ident::identity();
        let mut m = Map::new();
        m.insert("uid".into(), (i.uid as i64).into());
        m.insert("gid".into(), (i.gid as i64).into());
        m.insert("euid".into(), (i.euid as i64).into());
        m.insert("egid".into(), (i.egid as i64).into());
        m.insert("user".into(), i.user.into());
        m.insert("group".into(), i.group.into());
        let groups: Array = i
            .groups
            .into_iter()
            .map(|g| Dynamic::from(g as i64))
            .collect();
        m.insert("groups".into(), groups.into());
        m
    }

    /// The uid map of a process's user namespace (/proc/PID/uid_map) as
    /// `[#{inside, outside, count}]`.
    ///
    /// ```rhai
    /// print(uid_map(pid()));   // [#{"count": 4294967295, "inside": 0, "outside": 0}]
    /// ```
    #[rhai_fn(return_raw)]
    pub fn uid_map(pid: i64) -> RResult<Array> {
        let p = pid_arg("uid_map", pid)? as i32;
        os::idmap::read_map(p, "uid").map(map_to_array).rhai()
    }

    /// The gid map of a process's user namespace (/proc/PID/gid_map).
    #[rhai_fn(return_raw)]
    pub fn gid_map(pid: i64) -> RResult<Array> {
        let p = pid_arg("gid_map", pid)? as i32;
        os::idmap::read_map(p, "gid").map(map_to_array).rhai()
    }

    /// This interpreter's namespace of a kind, as `readlink /proc/self/ns/KIND`
    /// shows it: "uts:[4026531838]".
    ///
    /// ```rhai
    /// print(ns_id("uts"));
    /// ```
    #[rhai_fn(name = "ns_id", return_raw)]
    pub fn ns_id_self(kind_name: &str) -> RResult<String> {
        os::procfs::ns_link(None, kind(kind_name)?).rhai()
    }

    /// A process's namespace of a kind: `readlink /proc/PID/ns/KIND`.
    ///
    /// ```rhai
    /// print(ns_id(1, "net"));
    /// ```
    #[rhai_fn(name = "ns_id", return_raw)]
    pub fn ns_id_pid(pid: i64, kind_name: &str) -> RResult<String> {
        let k = kind(kind_name)?;
        os::procfs::ns_link(Some(pid_arg("ns_id", pid)?), k).rhai()
    }

    /// A process's pid in each pid namespace, outermost first (NSpid).
    ///
    /// ```rhai
    /// print(nspid(pid()));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn nspid(pid: i64) -> RResult<Array> {
        let v = os::procfs::nspid(pid_arg("nspid", pid)?).rhai()?;
        Ok(v.into_iter().map(Dynamic::from).collect())
    }

    /// The hostname of this UTS namespace.
    ///
    /// ```rhai
    /// print(hostname());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn hostname() -> RResult<String> {
        os::uts::hostname().rhai()
    }

    /// Set the hostname (at most 64 bytes). Refused in the host's UTS
    /// namespace unless `#{host: true}` is passed: unshare first.
    ///
    /// ```rhai
    /// unshare(["user", "uts"]);
    /// set_hostname("lab");
    /// ```
    #[rhai_fn(name = "set_hostname", return_raw)]
    pub fn set_hostname(name: &str) -> RResult<()> {
        set_hostname_impl(name, None)
    }

    /// Set the hostname; `#{host: true}` allows changing the host's own.
    #[rhai_fn(name = "set_hostname", return_raw)]
    pub fn set_hostname_opts(name: &str, opts: Map) -> RResult<()> {
        set_hostname_impl(name, Some(&opts))
    }

    /// The NIS domain name of this UTS namespace ("(none)" when unset).
    #[rhai_fn(return_raw)]
    pub fn domainname() -> RResult<String> {
        os::uts::domainname().rhai()
    }

    /// Set the NIS domain name; guarded like `set_hostname`.
    #[rhai_fn(name = "set_domainname", return_raw)]
    pub fn set_domainname(name: &str) -> RResult<()> {
        set_domainname_impl(name, None)
    }

    /// Set the NIS domain name; `#{host: true}` allows changing the host's.
    #[rhai_fn(name = "set_domainname", return_raw)]
    pub fn set_domainname_opts(name: &str, opts: Map) -> RResult<()> {
        set_domainname_impl(name, Some(&opts))
    }

    /// The whole content of a file, as text.
    ///
    /// ```rhai
    /// print(read_file("/proc/self/uid_map"));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn read_file(path: &str) -> RResult<String> {
        let op = format!("read_file({path:?})");
        let bytes = std::fs::read(path).map_err(|e| os_err(os::Error::io(op, &e)))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Write text to a file (created or truncated).
    ///
    /// ```rhai
    /// write_file("/tmp/note.txt", "hello\n");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn write_file(path: &str, text: &str) -> RResult<()> {
        let op = format!("write_file({path:?})");
        std::fs::write(path, text).map_err(|e| os_err(os::Error::io(op, &e)))
    }

    /// Whether a path exists (without following a final symlink's target).
    pub fn exists(path: &str) -> bool {
        std::fs::symlink_metadata(path).is_ok()
    }

    /// The target of a symbolic link, like `readlink`.
    ///
    /// ```rhai
    /// print(readlink("/proc/self/ns/uts"));   // uts:[4026531838]
    /// ```
    #[rhai_fn(return_raw)]
    pub fn readlink(path: &str) -> RResult<String> {
        let op = format!("readlink({path:?})");
        std::fs::read_link(path)
            .map(|t| t.to_string_lossy().into_owned())
            .map_err(|e| os_err(os::Error::io(op, &e)))
    }

    /// Print `text` and a newline on standard error (warnings and notes
    /// that must not mix with a command's output on standard output).
    ///
    /// ```rhai
    /// eprint("note: running without a network namespace");
    /// ```
    pub fn eprint(text: &str) {
        use std::io::Write;
        let _ = writeln!(std::io::stderr().lock(), "{text}");
    }

    /// Pause for `ms` milliseconds (Ctrl-C in the REPL interrupts it).
    ///
    /// ```rhai
    /// sleep(100);
    /// ```
    #[rhai_fn(name = "sleep", return_raw)]
    pub fn sleep(ms: i64) -> RResult<()> {
        if ms < 0 {
            return Err(invalid("sleep", format!("{ms} ms is negative")));
        }
        sleep_for(std::time::Duration::from_millis(ms as u64))
    }

    /// Pause for a fraction of milliseconds: `sleep(2.5)`. Milliseconds,
    /// like `sleep(ms)` (Rhai's own float `sleep` counted seconds).
    ///
    /// ```rhai
    /// sleep(0.5);
    /// ```
    #[rhai_fn(name = "sleep", return_raw)]
    pub fn sleep_float(ms: f64) -> RResult<()> {
        // Duration::from_secs_f64 panics on NaN, infinities and values past
        // u64 seconds: check first.
        if !ms.is_finite() || ms < 0.0 || ms > i64::MAX as f64 {
            return Err(invalid(
                "sleep",
                format!("{ms:?} ms is not a duration (0 to 9223372036854775807 ms)"),
            ));
        }
        sleep_for(std::time::Duration::from_secs_f64(ms / 1000.0))
    }

    /// A kernel clock, in seconds (a float), read with clock_gettime:
    /// "monotonic" (CLOCK_MONOTONIC: since boot, not counting suspend),
    /// "boottime" (CLOCK_BOOTTIME: since boot, suspend included; what
    /// /proc/uptime shows) or "realtime" (the wall clock, seconds since
    /// 1970). A time namespace shifts the first two by its offsets; no
    /// namespace shifts the wall clock.
    ///
    /// ```rhai
    /// let t = clock("monotonic");
    /// sleep(100);
    /// print(clock("monotonic") - t);   // 0.100...
    /// ```
    #[rhai_fn(return_raw)]
    pub fn clock(name: &str) -> RResult<f64> {
        clock_impl(name)
    }

    /// An environment variable of nsscript's process, or `()` when unset.
    ///
    /// ```rhai
    /// print(env("HOME"));
    /// ```
    pub fn env(name: &str) -> Dynamic {
        std::env::var(name)
            .map(Dynamic::from)
            .unwrap_or(Dynamic::UNIT)
    }

    /// Fail the script with a message when `cond` is false.
    ///
    /// ```rhai
    /// assert(uid() >= 0, "uids are never negative");
    /// ```
    #[rhai_fn(name = "assert", return_raw)]
    pub fn assert_msg(cond: bool, msg: &str) -> RResult<()> {
        if cond {
            Ok(())
        } else {
            Err(assertion(msg.to_string()))
        }
    }

    /// Fail the script when `cond` is false.
    #[rhai_fn(name = "assert", return_raw)]
    pub fn assert(cond: bool) -> RResult<()> {
        assert_msg(cond, "condition is false")
    }

    /// Fail the script with a message when `a != b`, showing both.
    ///
    /// ```rhai
    /// assert_eq(1 + 1, 2, "arithmetic");
    /// ```
    #[rhai_fn(name = "assert_eq", return_raw)]
    pub fn assert_eq_msg(ctx: NativeCallContext, a: Dynamic, b: Dynamic, msg: &str) -> RResult<()> {
        let same = a.type_id() == b.type_id()
            && ctx
                .call_native_fn::<bool>("==", (a.clone(), b.clone()))
                .unwrap_or(false);
        if same {
            Ok(())
        } else {
            Err(assertion(format!("{msg}: left {a:?}, right {b:?}")))
        }
    }

    /// Fail the script when `a != b`, showing both.
    #[rhai_fn(name = "assert_eq", return_raw)]
    pub fn assert_eq(ctx: NativeCallContext, a: Dynamic, b: Dynamic) -> RResult<()> {
        assert_eq_msg(ctx, a, b, "values differ")
    }
}
