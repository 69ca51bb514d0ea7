//! System V message queues for scripts: msgget, msgsnd, msgrcv, msgctl and
//! msg_queues (what `ipcmk -Q`, `ipcs -q` and `ipcrm -q` do), the objects an
//! IPC namespace isolates.
//!
//! Every call that changes queues (msgget with IPC_CREAT, msgsnd, msgrcv,
//! msgctl) refuses in the host's (pid 1's) IPC namespace unless
//! `#{host: true}` is passed. Looking a queue up and listing them is free.

use super::error::{invalid, IntoRhai, RResult};
use super::opts;
use super::pkg_core::{guard_host, guard_host_keys};
use crate::os;
use crate::os::ipc::{IPC_CREAT, IPC_EXCL, IPC_NOWAIT, IPC_PRIVATE, IPC_RMID};
use crate::os::ns::Namespace;
use rhai::plugin::*;
use rhai::{Array, Dynamic, Map};

/// The IPC constants scripts see, with the values of the C headers.
pub const CONSTANTS: &[(&str, i64)] = &[
    ("IPC_PRIVATE", IPC_PRIVATE),
    ("IPC_CREAT", IPC_CREAT),
    ("IPC_EXCL", IPC_EXCL),
    ("IPC_RMID", IPC_RMID),
    ("IPC_NOWAIT", IPC_NOWAIT),
];

/// A queue id from a script's integer (ids are non-negative ints).
fn queue_id(op: &str, id: i64) -> RResult<i32> {
    i32::try_from(id).ok().filter(|i| *i >= 0).ok_or_else(|| {
        invalid(
            op,
            format!("queue id {id} is not a valid msqid (0 to 2147483647; see msg_queues())"),
        )
    })
}

/// The key as `ipcs` prints it: "0x2dfff2c8".
fn key_hex(key: i64) -> String {
    format!("{key:#010x}")
}

fn queue_map(q: os::ipc::MsgQueue) -> Map {
    let mut m = Map::new();
    m.insert("key".into(), q.key.into());
    m.insert("key_hex".into(), key_hex(q.key).into());
    m.insert("msqid".into(), i64::from(q.id).into());
    let name = os::ident::user_name(q.owner_uid);
    let owner = if name.is_empty() {
        q.owner_uid.to_string()
    } else {
        name
    };
    m.insert("owner".into(), owner.into());
    m.insert("uid".into(), i64::from(q.owner_uid).into());
    m.insert("perms".into(), i64::from(q.perms).into());
    m.insert(
        "used_bytes".into(),
        i64::try_from(q.used_bytes).unwrap_or(i64::MAX).into(),
    );
    m.insert(
        "messages".into(),
        i64::try_from(q.messages).unwrap_or(i64::MAX).into(),
    );
    m
}

/// Refuses a change of the host's IPC namespace unless `#{host: true}`.
fn guard(op: &str, o: Option<&Map>, how: &str) -> RResult<()> {
    guard_host(op, Namespace::Ipc, o, how)
}

fn msgget_impl(key: i64, flags: i64, o: Option<&Map>) -> RResult<i64> {
    os::ipc::msgget_args(key, flags).rhai()?;
    if flags & IPC_CREAT != 0 {
        guard("msgget", o, "create a queue on the host")?;
    } else if let Some(o) = o {
        opts::check_keys("msgget", o, &["host"], &[])?;
    }
    os::ipc::msgget(key, flags).map(i64::from).rhai()
}

fn msgsnd_impl(id: i64, mtype: i64, text: &str, o: Option<&Map>) -> RResult<()> {
    let id = queue_id("msgsnd", id)?;
    os::ipc::msgsnd_args(id, mtype, text.len()).rhai()?;
    guard("msgsnd", o, "queue a message on the host")?;
    os::ipc::msgsnd(id, mtype, text.as_bytes()).rhai()
}

fn msgctl_impl(id: i64, cmd: i64, o: Option<&Map>) -> RResult<()> {
    let id = queue_id("msgctl", id)?;
    if cmd != IPC_RMID {
        return Err(invalid(
            "msgctl",
            format!(
                "command {cmd} is not supported: use IPC_RMID ({IPC_RMID}) to remove a queue, \
                 msg_queues() to inspect one"
            ),
        ));
    }
    guard("msgctl", o, "remove a queue of the host")?;
    os::ipc::msgctl_rmid(id).rhai()
}

/// msgrcv after the guard: `o` is the options map (nowait, host), if any.
fn receive(id: i64, mtype: i64, nowait: bool, o: Option<&Map>) -> RResult<Map> {
    let id = queue_id("msgrcv", id)?;
    os::ipc::msgrcv_args(id, mtype).rhai()?;
    match o {
        Some(o) => guard_host_keys(
            "msgrcv",
            Namespace::Ipc,
            o,
            &["nowait"],
            "take a message off a queue of the host",
        )?,
        None => guard("msgrcv", None, "take a message off a queue of the host")?,
    }
    let (t, text) = os::ipc::msgrcv(id, mtype, nowait).rhai()?;
    let mut m = Map::new();
    m.insert("type".into(), t.into());
    m.insert(
        "text".into(),
        String::from_utf8_lossy(&text).into_owned().into(),
    );
    Ok(m)
}

#[export_module(manifest)]
pub mod ipc_fns {
    use super::*;

    /// Get the message queue of `key`, or create it with `IPC_CREAT`:
    /// msgget(2), like `ipcmk -Q`. Returns the queue id (msqid). `key` is
    /// `IPC_PRIVATE` (a new queue no key finds again) or any 32-bit number
    /// (the hex `ipcs` shows works: `0x2dfff2c8`). `flags`: `IPC_CREAT`,
    /// `IPC_EXCL` and permission bits (0o644 when none are given).
    /// With `IPC_CREAT` it is refused in the host's IPC namespace (see
    /// `msgget(key, flags, opts)`): unshare first.
    ///
    /// ```rhai
    /// unshare(["ipc"]);                  // as root; add "user" otherwise
    /// let q = msgget(IPC_PRIVATE, IPC_CREAT | 0o600);
    /// msgsnd(q, 1, "hello");
    /// print(msgrcv(q, 0).text);   // hello
    /// msgctl(q, IPC_RMID);
    /// ```
    #[rhai_fn(name = "msgget", return_raw)]
    pub fn msgget(key: i64, flags: i64) -> RResult<i64> {
        msgget_impl(key, flags, None)
    }

    /// `msgget(key, flags)` with options: `#{host: true}` creates the
    /// queue in the host's IPC namespace on purpose, like `ipcmk -Q`.
    ///
    /// ```rhai
    /// let q = msgget(IPC_PRIVATE, IPC_CREAT, #{host: true});
    /// msgctl(q, IPC_RMID, #{host: true});
    /// ```
    #[rhai_fn(name = "msgget", return_raw)]
    pub fn msgget_opts(key: i64, flags: i64, options: Map) -> RResult<i64> {
        msgget_impl(key, flags, Some(&options))
    }

    /// Queue one message of `type` (> 0) with `text`: msgsnd(2). It never
    /// blocks: a full queue is an EAGAIN error. Refused in the host's IPC
    /// namespace unless `#{host: true}`.
    ///
    /// ```rhai
    /// let q = msgget(IPC_PRIVATE, IPC_CREAT);
    /// msgsnd(q, 2, "ping");
    /// msgctl(q, IPC_RMID);
    /// ```
    #[rhai_fn(name = "msgsnd", return_raw)]
    pub fn msgsnd(id: i64, mtype: i64, text: &str) -> RResult<()> {
        msgsnd_impl(id, mtype, text, None)
    }

    /// `msgsnd(id, type, text)` with options: `#{host: true}` queues on a
    /// queue of the host's IPC namespace on purpose.
    ///
    /// ```rhai
    /// let q = msgget(IPC_PRIVATE, IPC_CREAT, #{host: true});
    /// msgsnd(q, 1, "hello", #{host: true});
    /// msgctl(q, IPC_RMID, #{host: true});
    /// ```
    #[rhai_fn(name = "msgsnd", return_raw)]
    pub fn msgsnd_opts(id: i64, mtype: i64, text: &str, options: Map) -> RResult<()> {
        msgsnd_impl(id, mtype, text, Some(&options))
    }

    /// Take one message off the queue: msgrcv(2). `type` 0 takes the first
    /// message, > 0 the first of that type, < 0 the lowest type up to
    /// |type|. Returns `#{type, text}`; waits until a message comes.
    /// Refused in the host's IPC namespace unless `#{host: true}` (see
    /// `msgrcv(id, type, opts)`).
    ///
    /// ```rhai
    /// let q = msgget(IPC_PRIVATE, IPC_CREAT);
    /// msgsnd(q, 5, "five");
    /// let m = msgrcv(q, 0);
    /// print(`${m.type}: ${m.text}`);   // 5: five
    /// msgctl(q, IPC_RMID);
    /// ```
    #[rhai_fn(name = "msgrcv", return_raw)]
    pub fn msgrcv(id: i64, mtype: i64) -> RResult<Map> {
        receive(id, mtype, false, None)
    }

    /// msgrcv with flags as in C: `IPC_NOWAIT` makes an empty queue an
    /// ENOMSG error instead of a wait.
    ///
    /// ```rhai
    /// let q = msgget(IPC_PRIVATE, IPC_CREAT);
    /// try { msgrcv(q, 0, IPC_NOWAIT); } catch (e) { print(e.errno); }   // ENOMSG
    /// msgctl(q, IPC_RMID);
    /// ```
    #[rhai_fn(name = "msgrcv", return_raw)]
    pub fn msgrcv_flags(id: i64, mtype: i64, flags: i64) -> RResult<Map> {
        if flags & !IPC_NOWAIT != 0 {
            return Err(invalid(
                "msgrcv",
                format!("flags {flags:#o}: only IPC_NOWAIT ({IPC_NOWAIT:#o}) is supported"),
            ));
        }
        receive(id, mtype, flags & IPC_NOWAIT != 0, None)
    }

    /// msgrcv with options: `#{nowait: true}` does not wait for a message;
    /// `#{host: true}` takes it off a queue of the host's IPC namespace on
    /// purpose.
    ///
    /// ```rhai
    /// let q = msgget(IPC_PRIVATE, IPC_CREAT);
    /// try { msgrcv(q, 0, #{nowait: true}); } catch (e) { print(e.hint); }
    /// msgctl(q, IPC_RMID);
    /// ```
    #[rhai_fn(name = "msgrcv", return_raw)]
    pub fn msgrcv_opts(id: i64, mtype: i64, options: Map) -> RResult<Map> {
        opts::check_keys("msgrcv", &options, &["nowait"], &["host"])?;
        let nowait = opts::get_bool("msgrcv", &options, "nowait")?.unwrap_or(false);
        receive(id, mtype, nowait, Some(&options))
    }

    /// Control a queue: msgctl(2). The one command is `IPC_RMID`, which
    /// removes the queue (like `ipcrm -q ID`); `msg_queues()` shows what
    /// IPC_STAT would. Refused in the host's IPC namespace unless
    /// `#{host: true}`.
    ///
    /// ```rhai
    /// let q = msgget(IPC_PRIVATE, IPC_CREAT);
    /// msgctl(q, IPC_RMID);
    /// ```
    #[rhai_fn(name = "msgctl", return_raw)]
    pub fn msgctl(id: i64, cmd: i64) -> RResult<()> {
        msgctl_impl(id, cmd, None)
    }

    /// `msgctl(id, cmd)` with options: `#{host: true}` removes a queue of
    /// the host's IPC namespace on purpose (like `ipcrm -q ID`).
    ///
    /// ```rhai
    /// let q = msgget(IPC_PRIVATE, IPC_CREAT, #{host: true});
    /// msgctl(q, IPC_RMID, #{host: true});
    /// ```
    #[rhai_fn(name = "msgctl", return_raw)]
    pub fn msgctl_opts(id: i64, cmd: i64, options: Map) -> RResult<()> {
        msgctl_impl(id, cmd, Some(&options))
    }

    /// The message queues of this IPC namespace, as `ipcs -q` lists them:
    /// `[#{key, key_hex, msqid, owner, uid, perms, used_bytes, messages}]`.
    /// `key_hex` is the key as ipcs prints it ("0x2dfff2c8"); `owner` the
    /// user name (or the uid when it has none); `perms` the mode bits
    /// (`perms.to_octal()` gives "644").
    ///
    /// ```rhai
    /// for q in msg_queues() {
    ///     print(`${q.key_hex} ${q.msqid} ${q.owner} ${q.perms.to_octal()} ${q.messages}`);
    /// }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn msg_queues() -> RResult<Array> {
        let v = os::ipc::msg_queues().rhai()?;
        Ok(v.into_iter().map(|q| Dynamic::from(queue_map(q))).collect())
    }
}
