//! unshare(2) for the interpreter itself, with the setup a spawned child
//! would get, in the kernel's order: maps (setgroups first), / made
//! private, time offsets, names.
//!
//! The maps must be written from the parent user namespace to hold more
//! than one's own id (the writer needs CAP_SETUID there), and once the
//! interpreter has unshared, it has capabilities only inside. So, as for
//! spawn, a process that stays outside writes them: a helper cloned
//! before the unshare, which waits, writes, and says it did.

use super::process::child::ChildCtx;
use super::process::spawn::{start_helper, unshare_hint};
use super::setup::plan::{Fds, Plan};
use super::setup::wire::Record;
use super::setup::{self, Mode, Spec};
use super::{ident, sys, Context, Error, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::unistd::pipe2;
use std::os::fd::{AsRawFd, OwnedFd};

/// unshare(2) for the interpreter, then the rest of its setup.
///
/// For "pid" only later children are in the new namespace (the first one
/// spawned is its pid 1; once that one exits, no more can be started
/// there). For "time" the interpreter moves itself in with setns on its
/// time_for_children once the offsets are written.
pub fn unshare(op: &str, spec: &Spec) -> Result<()> {
    setup::check(op, spec, Mode::Unshare)?;
    sys::check_single_threaded(op)?;
    let user = spec.ns.contains(super::ns::Namespace::User);
    let maps = user && (spec.uid_map.is_some() || spec.gid_map.is_some());
    let mut call = Plan::unshare(spec);
    if let Some(o) = call.ops.first_mut() {
        o.note = Some(match spec.ns.contains(super::ns::Namespace::Pid) {
            true => "the interpreter itself moves; for pid, only its later children",
            false => "the interpreter itself is now in the new namespaces",
        });
    }
    let unshared = || {
        super::process::child::run_here(&call).map_err(|f| {
            let e = call.error(op, f.op, f.aux, f.errno);
            unshare_hint(e, f.errno, spec.ns, super::doctor::Op::Unshare)
        })
    };
    if maps {
        with_map_writer(op, spec, unshared)?;
    } else {
        unshared()?;
    }
    if spec.ns.contains(super::ns::Namespace::Pid) {
        super::set_children_join_others(false);
    }
    let rest = Plan::after_unshare(spec, maps);
    super::process::child::run_here(&rest).map_err(|f| {
        let e = rest.error(op, f.op, f.aux, f.errno);
        match f.errno {
            Errno::EPERM => e.hint(
                "needs CAP_SYS_ADMIN in the new namespaces' user namespace: add \"user\" to the kinds, or run as root",
            ),
            _ => e,
        }
    })
}

/// Starts the map writer, runs `unshare`, lets the writer write the maps
/// of the (now unshared) interpreter, and returns what it reported: its
/// Ready report is the only proof of success; EOF without it is an error.
fn with_map_writer(op: &str, spec: &Spec, unshare: impl FnOnce() -> Result<()>) -> Result<()> {
    let pipe = || pipe2(OFlag::O_CLOEXEC).op(&format!("{op}: pipe"));
    let (report_r, report_w) = pipe()?;
    let (go_r, go_w) = pipe()?;
    let fds = Fds {
        report_r: report_r.as_raw_fd(),
        go: Some((go_r.as_raw_fd(), go_w.as_raw_fd())),
        stdio: [None; 3],
        report_w: report_w.as_raw_fd(),
        hold: None,
        image: -1,
    };
    let plan = Plan::map_writer(spec, ident::pid(), &fds);
    let ctx = ChildCtx {
        plan: &plan,
        report: report_w.as_raw_fd(),
        stack2: (0, 0),
    };
    let pid = start_helper(op, &ctx)?;
    drop(report_w);
    drop(go_r);
    let reap = || while let Err(Errno::EINTR) = super::process::wait4(pid, 0) {};
    if let Err(e) = unshare() {
        // Closing "go" unread: the writer ends without writing.
        drop(go_w);
        reap();
        return Err(e);
    }
    let released = nix::unistd::write(&go_w, b"g");
    drop(go_w);
    let bytes = read_all(&report_r);
    let recs = Record::decode_all(bytes.as_deref().unwrap_or_default());
    if super::trace::enabled() {
        let me = ident::pid();
        let mut slots = Default::default();
        for (_, ev) in super::process::events(
            &plan,
            &recs,
            super::process::Pids {
                child: pid,
                grandchild: me,
                command: me,
            },
            &mut slots,
        ) {
            super::trace::emit(&ev);
        }
    }
    reap();
    released.map_err(|e| Error::sys(format!("{op}: release the map writer"), e))?;
    bytes?;
    for r in &recs {
        match *r {
            Record::Failed {
                op: i, aux, errno, ..
            } => {
                let e = plan.error(op, i as usize, aux, errno);
                let which = if e.op.contains("gid_map") {
                    "gid_map"
                } else {
                    "uid_map"
                };
                return Err(super::idmap::map_hint(e, which));
            }
            Record::Ready { .. } => return Ok(()),
            _ => {}
        }
    }
    Err(Error::with_errno(
        format!("{op}: write maps"),
        Errno::ECHILD,
        "the map writer ended without writing the maps",
    )
    .hint("something killed it; the interpreter is in its new namespaces without id maps"))
}

fn read_all(fd: &OwnedFd) -> Result<Vec<u8>> {
    let mut all = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match nix::unistd::read(fd, &mut buf) {
            Ok(0) => return Ok(all),
            Ok(n) => all.extend_from_slice(buf.get(..n).unwrap_or(&[])),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(Error::sys("unshare: read the map writer's report", e)),
        }
    }
}
