//! Namespace kinds: their CLONE_NEW* flag, their name under /proc/PID/ns.

use super::{Error, Result};
use nix::sched::CloneFlags;
use std::fmt;
use std::str::FromStr;

/// One kind of Linux namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Namespace {
    User,
    Mount,
    Uts,
    Ipc,
    Pid,
    Net,
    Cgroup,
    Time,
}

impl Namespace {
    /// Every kind, in the order a join must follow: user first (an
    /// unprivileged caller gains its capabilities there), mount last but one
    /// (joining it changes the root a later path lookup sees).
    pub const ALL: [Namespace; 8] = [
        Namespace::User,
        Namespace::Cgroup,
        Namespace::Ipc,
        Namespace::Uts,
        Namespace::Net,
        Namespace::Pid,
        Namespace::Time,
        Namespace::Mount,
    ];

    /// The name users type and /proc/PID/ns uses for the link, except mount
    /// whose link is "mnt".
    pub fn name(self) -> &'static str {
        match self {
            Namespace::User => "user",
            Namespace::Mount => "mount",
            Namespace::Uts => "uts",
            Namespace::Ipc => "ipc",
            Namespace::Pid => "pid",
            Namespace::Net => "net",
            Namespace::Cgroup => "cgroup",
            Namespace::Time => "time",
        }
    }

    /// The entry under /proc/PID/ns/.
    pub fn proc_name(self) -> &'static str {
        match self {
            Namespace::Mount => "mnt",
            other => other.name(),
        }
    }

    /// The flag for clone(2), unshare(2) and setns(2).
    pub fn clone_flag(self) -> CloneFlags {
        match self {
            Namespace::User => CloneFlags::CLONE_NEWUSER,
            Namespace::Mount => CloneFlags::CLONE_NEWNS,
            Namespace::Uts => CloneFlags::CLONE_NEWUTS,
            Namespace::Ipc => CloneFlags::CLONE_NEWIPC,
            Namespace::Pid => CloneFlags::CLONE_NEWPID,
            Namespace::Net => CloneFlags::CLONE_NEWNET,
            Namespace::Cgroup => CloneFlags::CLONE_NEWCGROUP,
            // nix has no constant for it.
            Namespace::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
        }
    }

    /// The C constant's name, for messages ("CLONE_NEWUTS").
    pub fn flag_name(self) -> &'static str {
        match self {
            Namespace::User => "CLONE_NEWUSER",
            Namespace::Mount => "CLONE_NEWNS",
            Namespace::Uts => "CLONE_NEWUTS",
            Namespace::Ipc => "CLONE_NEWIPC",
            Namespace::Pid => "CLONE_NEWPID",
            Namespace::Net => "CLONE_NEWNET",
            Namespace::Cgroup => "CLONE_NEWCGROUP",
            Namespace::Time => "CLONE_NEWTIME",
        }
    }

    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|n| n.name()).collect()
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Namespace {
    type Err = Error;

    /// Accepts the names users type ("mount"), the /proc names ("mnt") and
    /// the C flag names ("CLONE_NEWNS").
    fn from_str(s: &str) -> Result<Self> {
        let found = Namespace::ALL
            .iter()
            .copied()
            .find(|n| s == n.name() || s == n.proc_name() || s == n.flag_name());
        found.ok_or_else(|| {
            Error::invalid(
                "namespace",
                format!(
                    "unknown namespace kind {s:?}; valid kinds: {}",
                    Namespace::names().join(", ")
                ),
            )
        })
    }
}

/// A set of namespace kinds, kept in join order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NsSet(u8);

impl NsSet {
    pub fn empty() -> Self {
        NsSet(0)
    }

    fn bit(n: Namespace) -> u8 {
        1 << (Namespace::ALL.iter().position(|k| *k == n).unwrap_or(0) as u8)
    }

    pub fn insert(&mut self, n: Namespace) {
        self.0 |= Self::bit(n);
    }

    pub fn contains(self, n: Namespace) -> bool {
        self.0 & Self::bit(n) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Namespace> {
        Namespace::ALL
            .into_iter()
            .filter(move |n| self.contains(*n))
    }

    pub fn clone_flags(self) -> CloneFlags {
        self.iter()
            .fold(CloneFlags::empty(), |acc, n| acc | n.clone_flag())
    }

    /// From CLONE_NEW* bits; any other bit is an error naming it.
    pub fn from_flags(bits: i64) -> Result<Self> {
        let mut set = NsSet::empty();
        let mut rest = bits;
        for n in Namespace::ALL {
            let b = n.clone_flag().bits() as i64;
            if bits & b != 0 {
                set.insert(n);
                rest &= !b;
            }
        }
        if rest != 0 {
            return Err(Error::invalid(
                "flags",
                format!(
                    "{rest:#x} is not a CLONE_NEW* flag; use CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP, CLONE_NEWTIME"
                ),
            ));
        }
        Ok(set)
    }

    /// "CLONE_NEWUSER|CLONE_NEWUTS", for messages.
    pub fn flag_names(self) -> String {
        self.iter()
            .map(|n| n.flag_name())
            .collect::<Vec<_>>()
            .join("|")
    }
}

impl FromIterator<Namespace> for NsSet {
    fn from_iter<I: IntoIterator<Item = Namespace>>(iter: I) -> Self {
        let mut s = NsSet::empty();
        for n in iter {
            s.insert(n);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_both_ways() {
        for n in Namespace::ALL {
            assert_eq!(n.name().parse::<Namespace>().ok(), Some(n));
            assert_eq!(n.proc_name().parse::<Namespace>().ok(), Some(n));
            assert_eq!(n.flag_name().parse::<Namespace>().ok(), Some(n));
        }
        let e = "usr".parse::<Namespace>().unwrap_err();
        assert!(e.detail.contains("valid kinds: user, cgroup"), "{e}");
    }

    #[test]
    fn flags_round_trip_and_reject_strangers() {
        let s: NsSet = [Namespace::Uts, Namespace::Pid].into_iter().collect();
        let bits = s.clone_flags().bits() as i64;
        assert_eq!(NsSet::from_flags(bits).ok(), Some(s));
        assert_eq!(s.flag_names(), "CLONE_NEWUTS|CLONE_NEWPID");
        assert!(NsSet::from_flags(bits | libc::CLONE_VM as i64).is_err());
    }

    #[test]
    fn time_flag_is_the_kernel_value() {
        assert_eq!(Namespace::Time.clone_flag().bits(), 0x80);
    }
}
