//! System V message queues (msgget(2), msgsnd(2), msgrcv(2), msgctl(2)),
//! the IPC objects an IPC namespace isolates. nix has no System V IPC, so
//! this goes straight to libc.

use super::trace::{self, Arg, Ret};
use super::{Error, Result};
use nix::errno::Errno;
use std::mem::size_of;

/// `msgget` key asking for a new queue that no key can find again.
pub const IPC_PRIVATE: i64 = libc::IPC_PRIVATE as i64;
/// `msgget` flag: create the queue if the key has none.
pub const IPC_CREAT: i64 = libc::IPC_CREAT as i64;
/// `msgget` flag with IPC_CREAT: fail with EEXIST if the key has a queue.
pub const IPC_EXCL: i64 = libc::IPC_EXCL as i64;
/// `msgctl` command: remove the queue.
pub const IPC_RMID: i64 = libc::IPC_RMID as i64;
/// `msgsnd`/`msgrcv` flag: fail with EAGAIN/ENOMSG instead of waiting.
pub const IPC_NOWAIT: i64 = libc::IPC_NOWAIT as i64;

/// Permissions of a queue created without any (what `ipcmk -Q` uses).
const DEFAULT_PERMS: i64 = 0o644;

/// The kernel's default kernel.msgmax, used if /proc cannot be read.
const DEFAULT_MSGMAX: usize = 8192;

const HINT_BAD_ID: &str = "no queue with that id (see msg_queues())";
const HINT_REMOVED: &str = "the queue was removed (msgctl IPC_RMID) by someone else";

/// One message queue, as `ipcs -q` (and /proc/sysvipc/msg) lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsgQueue {
    /// The key, as the unsigned 32-bit value `ipcs` prints in hex (0 for a
    /// queue made with IPC_PRIVATE). `msgget` accepts this form back.
    pub key: i64,
    pub id: i32,
    pub owner_uid: u32,
    /// The permission bits, e.g. 0o644.
    pub perms: u32,
    /// Bytes of message text queued ("used-bytes").
    pub used_bytes: u64,
    /// Number of messages queued.
    pub messages: u64,
}

/// Gets (or with IPC_CREAT creates) the queue for `key`: `msgget(2)`, like
/// `ipcmk -Q`. `key` is a key_t, given either signed (-2^31..2^31-1) or as
/// the unsigned 32-bit value `ipcs` shows (up to 0xffffffff). `flags` is
/// IPC_CREAT, IPC_EXCL and permission bits; with IPC_CREAT and no
/// permission bits the queue gets 0o644.
pub fn msgget(key: i64, flags: i64) -> Result<i32> {
    const OP: &str = "msgget";
    let (key, flags) = msgget_args(key, flags)?;
    // SAFETY: msgget takes plain integers.
    let id = unsafe { libc::msgget(key, flags) };
    let ret = ret_of(id as i64);
    let note = (flags & libc::IPC_CREAT != 0 && id >= 0)
        .then_some("the queue belongs to this IPC namespace: other namespaces do not see it");
    trace::here("msgget", ret.clone(), note, || {
        vec![
            Arg::Const(match key {
                0 => "IPC_PRIVATE".into(),
                k => format!("{:#x}", k as u32),
            }),
            Arg::Const(msgget_flags(flags)),
        ]
    });
    if let Ret::Err(errno) = ret {
        let e = Error::sys(OP, errno);
        return Err(match errno {
            Errno::ENOENT => e.hint("no queue has that key: add IPC_CREAT to create one"),
            Errno::EEXIST => e.hint("a queue with that key exists and IPC_EXCL was given"),
            Errno::EACCES => {
                e.hint("the queue's permissions do not let you use it (see msg_queues())")
            }
            Errno::ENOSPC => e.hint("the system limit on queues is reached (kernel.msgmni)"),
            _ => e,
        });
    }
    Ok(id)
}

/// The arguments of `msgget`, checked: the key_t and the flags (with the
/// default permissions added to a bare IPC_CREAT). Nothing is asked of the
/// kernel.
pub fn msgget_args(key: i64, flags: i64) -> Result<(libc::key_t, libc::c_int)> {
    const OP: &str = "msgget";
    let key = key_t(OP, key)?;
    let known = IPC_CREAT | IPC_EXCL | 0o777;
    if flags & !known != 0 {
        return Err(Error::invalid(
            OP,
            format!(
                "flags {flags:#o} has bits other than IPC_CREAT ({IPC_CREAT:#o}), \
                 IPC_EXCL ({IPC_EXCL:#o}) and permissions (0o777)"
            ),
        ));
    }
    let mut flags = flags;
    if flags & IPC_CREAT != 0 && flags & 0o777 == 0 {
        flags |= DEFAULT_PERMS;
    }
    // Cannot fail: `flags` holds only the bits checked above.
    Ok((key, libc::c_int::try_from(flags).unwrap_or(0)))
}

/// The arguments of `msgsnd`, checked: a queue id, a type > 0 (as a C
/// long), a text within kernel.msgmax.
pub fn msgsnd_args(id: i32, mtype: i64, len: usize) -> Result<libc::c_long> {
    const OP: &str = "msgsnd";
    check_id(OP, id)?;
    let mtype = libc::c_long::try_from(mtype)
        .ok()
        .filter(|t| *t > 0)
        .ok_or_else(|| Error::invalid(OP, format!("message type {mtype} must be > 0")))?;
    let max = msgmax();
    if len > max {
        return Err(Error::invalid(
            OP,
            format!("the message is {len} bytes; the limit is {max} (kernel.msgmax)"),
        ));
    }
    Ok(mtype)
}

/// The arguments of `msgrcv`, checked: a queue id and a type that fits a
/// C long.
pub fn msgrcv_args(id: i32, mtype: i64) -> Result<libc::c_long> {
    const OP: &str = "msgrcv";
    check_id(OP, id)?;
    libc::c_long::try_from(mtype)
        .map_err(|_| Error::invalid(OP, format!("message type {mtype} is out of range")))
}

/// Queues one message of type `mtype` (> 0) on queue `id`: `msgsnd(2)`.
/// It never waits: a full queue is an EAGAIN error.
pub fn msgsnd(id: i32, mtype: i64, text: &[u8]) -> Result<()> {
    const OP: &str = "msgsnd";
    let mtype = msgsnd_args(id, mtype, text.len())?;
    // struct msgbuf { long mtype; char mtext[]; }, kept aligned for the long.
    let mut buf = MsgBuf::new(text.len());
    buf.set_type(mtype);
    buf.text_mut()[..text.len()].copy_from_slice(text);
    // SAFETY: `buf` holds a long followed by at least text.len() bytes.
    let r = unsafe { libc::msgsnd(id, buf.as_mut_ptr(), text.len(), libc::IPC_NOWAIT) };
    let ret = ret_of(r as i64);
    trace::here("msgsnd", ret.clone(), None, || {
        vec![
            Arg::Int(id as i64),
            msgbuf(mtype, text),
            Arg::Int(text.len() as i64),
            Arg::Const("IPC_NOWAIT".into()),
        ]
    });
    let Ret::Err(errno) = ret else {
        return Ok(());
    };
    let e = Error::sys(OP, errno);
    Err(match errno {
        Errno::EAGAIN => {
            e.hint("queue full (kernel.msgmnb bytes): receive some messages first (msgrcv)")
        }
        Errno::EINVAL => e.hint(HINT_BAD_ID),
        Errno::EIDRM => e.hint(HINT_REMOVED),
        Errno::EACCES => e.hint("the queue's permissions do not let you write to it"),
        _ => e,
    })
}

/// Takes one message off queue `id`: `msgrcv(2)`. `mtype` 0 takes the
/// first message, > 0 the first of that type, < 0 the first of the lowest
/// type up to |mtype|. Returns (type, text). It waits for a message unless
/// `nowait`, in which case an empty queue is an ENOMSG error.
// i64::from(c_long) is not a no-op on targets where long is 32 bits.
#[allow(clippy::useless_conversion)]
pub fn msgrcv(id: i32, mtype: i64, nowait: bool) -> Result<(i64, Vec<u8>)> {
    const OP: &str = "msgrcv";
    let mtype = msgrcv_args(id, mtype)?;
    let max = msgmax();
    let mut buf = MsgBuf::new(max);
    let flags = if nowait { libc::IPC_NOWAIT } else { 0 };
    // SAFETY: `buf` holds a long followed by at least `max` bytes.
    let n = unsafe { libc::msgrcv(id, buf.as_mut_ptr(), max, mtype, flags) };
    let ret = ret_of(n as i64);
    let got = usize::try_from(n).ok().map(|n| {
        (
            i64::from(buf.get_type()),
            buf.text_mut()[..n.min(max)].to_vec(),
        )
    });
    trace::here("msgrcv", ret.clone(), None, || {
        vec![
            Arg::Int(id as i64),
            match &got {
                Some((t, text)) => msgbuf(*t, text),
                None => Arg::Ptr,
            },
            Arg::Int(max as i64),
            Arg::Int(i64::from(mtype)),
            Arg::Const(if nowait { "IPC_NOWAIT" } else { "0" }.into()),
        ]
    });
    if let Some(got) = got {
        return Ok(got);
    }
    let Ret::Err(errno) = ret else {
        return Err(Error::sys(OP, Errno::EIO));
    };
    let e = Error::sys(OP, errno);
    Err(match errno {
        Errno::ENOMSG => e.hint(if mtype == 0 {
            "the queue is empty (nowait)".to_string()
        } else {
            format!("the queue has no message of type {mtype} (nowait)")
        }),
        Errno::EINTR => e.hint("interrupted by a signal while waiting for a message"),
        Errno::E2BIG => e.hint(
            "the message is longer than kernel.msgmax (it was sent before the limit was lowered)",
        ),
        Errno::EINVAL => e.hint(HINT_BAD_ID),
        Errno::EIDRM => e.hint(HINT_REMOVED),
        Errno::EACCES => e.hint("the queue's permissions do not let you read it"),
        _ => e,
    })
}

/// Removes queue `id` and wakes anyone waiting on it: `msgctl(id, IPC_RMID)`,
/// like `ipcrm -q ID`.
pub fn msgctl_rmid(id: i32) -> Result<()> {
    const OP: &str = "msgctl";
    check_id(OP, id)?;
    // SAFETY: IPC_RMID ignores the buffer argument.
    let r = unsafe { libc::msgctl(id, libc::IPC_RMID, std::ptr::null_mut()) };
    let ret = ret_of(r as i64);
    trace::here("msgctl", ret.clone(), None, || {
        vec![
            Arg::Int(id as i64),
            Arg::Const("IPC_RMID".into()),
            Arg::Const("NULL".into()),
        ]
    });
    let Ret::Err(errno) = ret else {
        return Ok(());
    };
    let e = Error::sys(OP, errno);
    Err(match errno {
        Errno::EINVAL => e.hint(HINT_BAD_ID),
        Errno::EIDRM => e.hint(HINT_REMOVED),
        Errno::EPERM => e.hint(
            "only the queue's owner or creator (or CAP_SYS_ADMIN in its IPC namespace) can remove it",
        ),
        _ => e,
    })
}

/// The queues of the current IPC namespace: what `ipcs -q` lists, read from
/// /proc/sysvipc/msg. Columns are found by their header names.
pub fn msg_queues() -> Result<Vec<MsgQueue>> {
    const OP: &str = "msg_queues";
    const PATH: &str = "/proc/sysvipc/msg";
    let text = std::fs::read_to_string(PATH).map_err(|e| {
        let err = Error::io(OP, &e).detail(PATH);
        match e.kind() {
            std::io::ErrorKind::NotFound => {
                err.hint("is /proc mounted, and the kernel built with CONFIG_SYSVIPC?")
            }
            _ => err,
        }
    })?;
    parse_sysvipc_msg(&text)
        .map_err(|why| Error::with_errno(OP, Errno::EBADMSG, format!("{PATH}: {why}")))
}

/// Parses /proc/sysvipc/msg: a header line naming the columns, then one
/// line per queue (key in signed decimal, perms in octal).
fn parse_sysvipc_msg(text: &str) -> std::result::Result<Vec<MsgQueue>, String> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .ok_or("empty file")?
        .split_whitespace()
        .collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or(format!("no '{name}' column in the header"))
    };
    let (key, id, perms, cbytes, qnum, uid) = (
        col("key")?,
        col("msqid")?,
        col("perms")?,
        col("cbytes")?,
        col("qnum")?,
        col("uid")?,
    );
    let mut out = Vec::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let field = |i: usize, what: &str| {
            f.get(i)
                .copied()
                .ok_or(format!("line '{line}' has no {what} column"))
        };
        let num = |i: usize, what: &str| -> std::result::Result<u64, String> {
            let s = field(i, what)?;
            s.parse()
                .map_err(|_| format!("{what} '{s}' is not a number in '{line}'"))
        };
        let key_s = field(key, "key")?;
        let key_v: i32 = key_s
            .parse()
            .map_err(|_| format!("key '{key_s}' is not a number in '{line}'"))?;
        let id_s = field(id, "msqid")?;
        let perms_s = field(perms, "perms")?;
        out.push(MsgQueue {
            // As ipcs shows it: the key_t bits read as unsigned.
            key: i64::from(key_v as u32),
            id: id_s
                .parse()
                .map_err(|_| format!("msqid '{id_s}' is not a number in '{line}'"))?,
            owner_uid: u32::try_from(num(uid, "uid")?)
                .map_err(|_| format!("uid out of range in '{line}'"))?,
            perms: u32::from_str_radix(perms_s, 8)
                .map_err(|_| format!("perms '{perms_s}' is not octal in '{line}'"))?,
            used_bytes: num(cbytes, "cbytes")?,
            messages: num(qnum, "qnum")?,
        });
    }
    Ok(out)
}

/// A System V call's result: the value, or -1 and errno.
fn ret_of(r: i64) -> Ret {
    match r {
        r if r < 0 => Ret::Err(Errno::last()),
        r => Ret::Val(r),
    }
}

/// msgget's flags as strace prints them: `IPC_CREAT|IPC_EXCL|0644`, `000`.
fn msgget_flags(flags: libc::c_int) -> String {
    let perms = match flags & 0o777 {
        0 => "000".to_string(),
        p => format!("{:0>3}", format!("0{p:o}")),
    };
    let mut names: Vec<String> = [(IPC_CREAT, "IPC_CREAT"), (IPC_EXCL, "IPC_EXCL")]
        .iter()
        .filter(|(b, _)| i64::from(flags) & b != 0)
        .map(|(_, n)| n.to_string())
        .collect();
    names.push(perms);
    names.join("|")
}

/// A struct msgbuf as strace decodes it: `{mtype=1, mtext="hello"}`.
fn msgbuf(mtype: i64, text: &[u8]) -> Arg {
    Arg::Struct(vec![
        ("mtype", Arg::Int(mtype)),
        ("mtext", Arg::Str(text.to_vec())),
    ])
}

/// A key_t from a script's integer: signed, or the unsigned form ipcs shows.
fn key_t(op: &str, key: i64) -> Result<libc::key_t> {
    if let Ok(k) = libc::key_t::try_from(key) {
        return Ok(k);
    }
    match u32::try_from(key) {
        // Same 32 bits, read as the signed key_t the kernel takes.
        Ok(k) => Ok(k as libc::key_t),
        Err(_) => Err(Error::invalid(
            op,
            format!("key {key} does not fit in a 32-bit key_t"),
        )),
    }
}

/// A queue id is never negative.
pub fn check_id(op: &str, id: i32) -> Result<()> {
    if id < 0 {
        return Err(Error::invalid(op, format!("queue id {id} must be >= 0")).hint(HINT_BAD_ID));
    }
    Ok(())
}

/// kernel.msgmax: the largest message the kernel accepts.
fn msgmax() -> usize {
    std::fs::read_to_string("/proc/sys/kernel/msgmax")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(DEFAULT_MSGMAX)
}

/// A `struct msgbuf` (a long type, then the text) in memory aligned for the
/// long: a Vec of longs big enough for the type and `text_len` bytes.
struct MsgBuf(Vec<libc::c_long>);

impl MsgBuf {
    fn new(text_len: usize) -> Self {
        let longs = 1 + text_len.div_ceil(size_of::<libc::c_long>());
        MsgBuf(vec![0; longs])
    }

    fn set_type(&mut self, t: libc::c_long) {
        self.0[0] = t;
    }

    fn get_type(&self) -> libc::c_long {
        self.0[0]
    }

    fn text_mut(&mut self) -> &mut [u8] {
        let len = (self.0.len() - 1) * size_of::<libc::c_long>();
        // SAFETY: the longs after the first are plain memory of `len` bytes,
        // and u8 has no alignment or validity requirements.
        unsafe { std::slice::from_raw_parts_mut(self.0[1..].as_mut_ptr().cast::<u8>(), len) }
    }

    fn as_mut_ptr(&mut self) -> *mut libc::c_void {
        self.0.as_mut_ptr().cast()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Removes the queue when dropped, so a failed assertion leaves nothing
    /// behind on the host.
    struct Queue(i32);

    impl Queue {
        fn private() -> Queue {
            Queue(msgget(IPC_PRIVATE, IPC_CREAT | 0o600).expect("msgget(IPC_PRIVATE)"))
        }
    }

    impl Drop for Queue {
        fn drop(&mut self) {
            let _ = msgctl_rmid(self.0);
        }
    }

    /// The msqid column of `ipcs -q`, found by its header name.
    fn ipcs_ids() -> Option<Vec<i32>> {
        let out = Command::new("ipcs").arg("-q").output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut lines = text.lines().skip_while(|l| !l.contains("msqid"));
        let col = lines
            .next()?
            .split_whitespace()
            .position(|h| h == "msqid")?;
        Some(
            lines
                .filter_map(|l| l.split_whitespace().nth(col)?.parse().ok())
                .collect(),
        )
    }

    #[test]
    fn private_queue_send_receive_list_and_remove() {
        let q = Queue::private();
        msgsnd(q.0, 1, b"hello").unwrap();
        msgsnd(q.0, 2, b"").unwrap();
        msgsnd(q.0, 7, &[0u8, 255, 10]).unwrap();

        let mine = msg_queues().unwrap().into_iter().find(|m| m.id == q.0);
        let mine = mine.expect("queue listed in msg_queues()");
        assert_eq!(
            (mine.key, mine.perms, mine.messages, mine.used_bytes),
            (0, 0o600, 3, 8)
        );
        assert_eq!(mine.owner_uid, nix::unistd::geteuid().as_raw());
        match ipcs_ids() {
            Some(ids) => assert!(ids.contains(&q.0), "ipcs -q lacks {}: {ids:?}", q.0),
            None => eprintln!("SKIPPED part: ipcs -q could not be run"),
        }

        // By type, then in order, then empty.
        assert_eq!(msgrcv(q.0, 7, true).unwrap(), (7, vec![0, 255, 10]));
        assert_eq!(msgrcv(q.0, 0, false).unwrap(), (1, b"hello".to_vec()));
        assert_eq!(msgrcv(q.0, -5, true).unwrap(), (2, vec![]));
        let e = msgrcv(q.0, 0, true).unwrap_err();
        assert_eq!((e.op.as_str(), e.errno), ("msgrcv", Some(Errno::ENOMSG)));
        assert!(e.hint.is_some());

        let id = q.0;
        drop(q);
        assert!(msg_queues().unwrap().iter().all(|m| m.id != id));
        if let Some(ids) = ipcs_ids() {
            assert!(!ids.contains(&id), "ipcs -q still lists {id}");
        }
        let e = msgsnd(id, 1, b"x").unwrap_err();
        assert!(
            matches!(e.errno, Some(Errno::EINVAL | Errno::EIDRM)),
            "{e:?}"
        );
        assert!(e.hint.is_some());
    }

    #[test]
    fn keyed_queue_create_excl_and_default_perms() {
        // A key unlikely to be in use: derived from our pid, above 2^31 to
        // exercise the unsigned form ipcs prints.
        let key = 0x8e50_0000_i64 | i64::from(std::process::id() & 0xffff);
        let q = Queue(msgget(key, IPC_CREAT | IPC_EXCL).unwrap());
        assert_eq!(msgget(key, 0).unwrap(), q.0);
        let e = msgget(key, IPC_CREAT | IPC_EXCL).unwrap_err();
        assert_eq!(e.errno, Some(Errno::EEXIST));
        assert!(e.hint.is_some());
        let mine = msg_queues()
            .unwrap()
            .into_iter()
            .find(|m| m.id == q.0)
            .unwrap();
        assert_eq!((mine.key, mine.perms), (key, 0o644));
        drop(q);
        let e = msgget(key, 0).unwrap_err();
        assert_eq!(e.errno, Some(Errno::ENOENT));
        assert!(e.hint.unwrap().contains("IPC_CREAT"));
    }

    #[test]
    fn bad_input_is_rejected_before_the_kernel() {
        for (r, what) in [
            (msgget(1 << 32, IPC_CREAT), "key too big"),
            (msgget(-(1 << 31) - 1, IPC_CREAT), "key too small"),
            (
                msgget(IPC_PRIVATE, IPC_CREAT | IPC_NOWAIT),
                "flag not for msgget",
            ),
            (msgget(IPC_PRIVATE, -1), "negative flags"),
        ] {
            let e = r.unwrap_err();
            assert_eq!(
                (e.op.as_str(), e.errno),
                ("msgget", Some(Errno::EINVAL)),
                "{what}"
            );
            assert!(!e.detail.is_empty(), "{what}");
        }
        let e = msgsnd(0, 0, b"x").unwrap_err();
        assert!(e.detail.contains("> 0"), "{e:?}");
        let e = msgsnd(-1, 1, b"x").unwrap_err();
        assert_eq!(e.errno, Some(Errno::EINVAL));
        let big = vec![0u8; msgmax() + 1];
        let e = msgsnd(0, 1, &big).unwrap_err();
        assert!(e.detail.contains("msgmax"), "{e:?}");
    }

    #[test]
    fn a_bad_id_names_the_op_and_hints() {
        // Ids are never this large (the kernel caps them below 2^31 - 1).
        let e = msgrcv(i32::MAX, 0, true).unwrap_err();
        assert_eq!((e.op.as_str(), e.errno), ("msgrcv", Some(Errno::EINVAL)));
        assert_eq!(e.hint.as_deref(), Some(HINT_BAD_ID));
        let e = msgctl_rmid(i32::MAX).unwrap_err();
        assert_eq!((e.op.as_str(), e.errno), ("msgctl", Some(Errno::EINVAL)));
    }

    #[test]
    fn full_queue_is_eagain_with_a_hint() {
        let q = Queue::private();
        let chunk = vec![b'x'; msgmax()];
        let mut err = None;
        for _ in 0..10_000 {
            if let Err(e) = msgsnd(q.0, 1, &chunk) {
                err = Some(e);
                break;
            }
        }
        let e = err.expect("the queue never filled");
        assert_eq!(e.errno, Some(Errno::EAGAIN));
        assert!(e.hint.unwrap().contains("queue full"));
    }

    #[test]
    fn msgget_flags_read_as_strace_prints_them() {
        assert_eq!(msgget_flags(0), "000");
        assert_eq!(msgget_flags(0o600), "0600");
        assert_eq!(msgget_flags(0o7), "007");
        assert_eq!(
            msgget_flags(libc::IPC_CREAT | libc::IPC_EXCL | 0o644),
            "IPC_CREAT|IPC_EXCL|0644"
        );
    }

    #[test]
    fn sysvipc_columns_are_found_by_name() {
        let text = "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n\
                    -559038737          3   644          10          2     0     0  1000  1000  1000  1000          0          0 1700000000\n";
        let q = parse_sysvipc_msg(text).unwrap();
        assert_eq!(
            q,
            [MsgQueue {
                key: 0xdeadbeef,
                id: 3,
                owner_uid: 1000,
                perms: 0o644,
                used_bytes: 10,
                messages: 2
            }]
        );
        // Reordered columns still parse.
        let text = "msqid key uid perms qnum cbytes\n5 0 0 600 1 4\n";
        let q = parse_sysvipc_msg(text).unwrap();
        assert_eq!(
            (q[0].id, q[0].perms, q[0].used_bytes, q[0].messages),
            (5, 0o600, 4, 1)
        );
        assert!(parse_sysvipc_msg("key msqid\n1 2\n").is_err());
        assert!(parse_sysvipc_msg("").is_err());
    }
}
