//! `trace(on)`: print every kernel-facing step on stderr, as `nsscript
//! --trace` does, from this point of the script (or REPL session) on.

use crate::os;
use rhai::plugin::*;

#[export_module(manifest)]
pub mod trace_fns {
    /// Switch tracing on or off. With it on, every kernel-facing step
    /// nsscript takes (clone3, the id map writes, each setup step of a
    /// child, setns, unshare, mounts, sethostname, System V IPC calls,
    /// pidfds, wait4) is printed on stderr as `strace -f -y` prints it:
    /// pid first, each fd followed by its path, the real arguments and
    /// result (`= -1 EPERM (Operation not permitted)` for an error); the
    /// lines that teach end with a plain-words note after `#`. The same as
    /// `nsscript --trace`, from this point on; children started while it
    /// is on report their setup steps too.
    ///
    /// ```rhai
    /// trace(true);
    /// run(["hostname"], #{ns: ["user", "uts"], map_root: true, hostname: "lab"});
    /// // [pid  4101] clone3({flags=CLONE_VM|CLONE_PIDFD|CLONE_NEWUTS|CLONE_NEWUSER, ...}, 88) = 4102  # ...
    /// // [pid  4101] write(4</proc/4102/uid_map>, "0 1000 1\n", 9) = 9  # uid 0 inside is uid 1000 outside
    /// // [pid  4102] sethostname("lab", 3) = 0  # for every process in this UTS namespace, and only there
    /// // [pid  4101] wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 4102
    /// trace(false);
    /// ```
    pub fn trace(on: bool) {
        os::trace::set_enabled(on);
    }
}
