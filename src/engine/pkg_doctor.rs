//! `doctor()`: what this machine allows, as a map (the same answers as
//! `nsscript --doctor --json`).

use super::error::{invalid, RResult};
use crate::os;
use rhai::plugin::*;
use rhai::Map;

#[export_module(manifest)]
pub mod doctor_fns {
    use super::*;

    /// What this machine allows, found by trying: each namespace kind as
    /// root and as an unprivileged user (uid 65534 when run as root, with a
    /// user namespace whose uid_map it writes), the settings that block
    /// unprivileged user namespaces (`user.max_user_namespaces`,
    /// `kernel.unprivileged_userns_clone`,
    /// `kernel.apparmor_restrict_unprivileged_userns`,
    /// /sys/module/user_namespace/parameters/enable), the other
    /// `user.max_*_namespaces` limits, newuidmap/newgidmap and the
    /// /etc/subuid and /etc/subgid ranges of the invoking user, the cgroup
    /// version, whether `/` is a shared mount, clone3, pidfd and time
    /// namespace support, and whether ping, ip, tc and dot are installed.
    ///
    /// Each answer is a map `#{ok, found, cause, fix}` under a section:
    /// `namespaces.KIND.root` and `namespaces.KIND.unprivileged`,
    /// `userns.*`, `limits.*`, `idmap.*`, `system.cgroup`,
    /// `system.root_propagation`, `kernel.*`, `tools.*`; `about` holds the
    /// kernel release, uid and user. `ok` is true, false, or `()` when it
    /// could not be checked here (`found` says why); a false `ok` comes
    /// with the `cause` (the setting responsible, with its value) and a
    /// `fix`. The probes run in forked copies of the interpreter that exit
    /// at once: nothing is left behind and no setting is written.
    ///
    /// ```rhai
    /// let d = doctor();
    /// let u = d.namespaces.user.unprivileged;
    /// if u.ok != true { print(`unprivileged user namespaces: ${u.found}; ${u.cause}; fix: ${u.fix}`); }
    /// print(d.system.cgroup.found);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn doctor() -> RResult<Map> {
        let report = os::doctor::examine().to_json();
        rhai::serde::to_dynamic(report)?
            .try_cast::<Map>()
            .ok_or_else(|| invalid("doctor", "the report is not a map"))
    }
}
