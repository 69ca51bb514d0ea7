//! Who we are: user and group ids, pids.

use nix::unistd::{Gid, Group, Uid, User};

/// What `id` prints, as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    pub euid: u32,
    pub egid: u32,
    pub user: String,
    pub group: String,
    pub groups: Vec<u32>,
}

pub fn uid() -> u32 {
    nix::unistd::getuid().as_raw()
}
pub fn gid() -> u32 {
    nix::unistd::getgid().as_raw()
}
pub fn euid() -> u32 {
    nix::unistd::geteuid().as_raw()
}
pub fn egid() -> u32 {
    nix::unistd::getegid().as_raw()
}
pub fn pid() -> i32 {
    nix::unistd::getpid().as_raw()
}
pub fn ppid() -> i32 {
    nix::unistd::getppid().as_raw()
}

/// The user name of a uid ("" when /etc/passwd has none, as for unmapped
/// ids inside a user namespace).
pub fn user_name(uid: u32) -> String {
    User::from_uid(Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_default()
}

pub fn group_name(gid: u32) -> String {
    Group::from_gid(Gid::from_raw(gid))
        .ok()
        .flatten()
        .map(|g| g.name)
        .unwrap_or_default()
}

pub fn identity() -> Identity {
    let (uid, gid) = (uid(), gid());
    Identity {
        uid,
        gid,
        euid: euid(),
        egid: egid(),
        user: user_name(uid),
        group: group_name(gid),
        groups: nix::unistd::getgroups()
            .map(|g| g.into_iter().map(|g| g.as_raw()).collect())
            .unwrap_or_default(),
    }
}
