//! Host and NIS domain names (uts_namespaces(7)).

use super::trace::{self, Arg, Ret};
use super::{Context, Error, Result};
use nix::errno::Errno;

/// The kernel's limit for both names (HOST_NAME_MAX, __NEW_UTS_LEN).
pub const MAX_LEN: usize = 64;

/// Checks a name before it reaches the kernel, so the error says why.
pub fn check_name(op: &str, what: &str, name: &str) -> Result<()> {
    if name.len() > MAX_LEN {
        return Err(Error::invalid(
            op,
            format!(
                "{what} is {} bytes; the kernel allows at most {MAX_LEN}",
                name.len()
            ),
        ));
    }
    if name.contains('\0') {
        return Err(Error::invalid(op, format!("{what} contains a NUL byte")));
    }
    Ok(())
}

/// What `hostname` prints: the nodename of this UTS namespace.
pub fn hostname() -> Result<String> {
    Ok(nix::sys::utsname::uname()
        .op("hostname")?
        .nodename()
        .to_string_lossy()
        .into_owned())
}

/// sethostname(2): changes the name for every process in this UTS namespace.
pub fn set_hostname(name: &str) -> Result<()> {
    check_name("set_hostname", "the hostname", name)?;
    let r = nix::unistd::sethostname(name);
    traced("sethostname", &r, name);
    r.map_err(|e| Error::sys(format!("set_hostname({name:?})"), e))
        .map_err(privilege_hint)
}

/// What a trace says after a name is set.
pub(crate) const NAME_NOTE: &str = "for every process in this UTS namespace, and only there";

/// Reports sethostname(2) or setdomainname(2) when tracing.
fn traced(call: &'static str, r: &std::result::Result<(), Errno>, name: &str) {
    trace::here(call, Ret::of(r), r.is_ok().then_some(NAME_NOTE), || {
        vec![
            Arg::Str(name.as_bytes().to_vec()),
            Arg::Int(name.len() as i64),
        ]
    });
}

/// The NIS domain name, as `domainname` prints it ("(none)" when unset).
pub fn domainname() -> Result<String> {
    Ok(nix::sys::utsname::uname()
        .op("domainname")?
        .domainname()
        .to_string_lossy()
        .into_owned())
}

/// setdomainname(2).
pub fn set_domainname(name: &str) -> Result<()> {
    check_name("set_domainname", "the domain name", name)?;
    // SAFETY: pointer and length of a live string.
    let r = match unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) } {
        0 => Ok(()),
        _ => Err(Errno::last()),
    };
    traced("setdomainname", &r, name);
    r.map_err(|e| privilege_hint(Error::sys(format!("set_domainname({name:?})"), e)))
}

fn privilege_hint(e: Error) -> Error {
    if e.errno == Some(Errno::EPERM) {
        e.hint("needs CAP_SYS_ADMIN in the user namespace that owns this UTS namespace: unshare([\"user\", \"uts\"]) first, or run as root")
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_and_nul_names_are_rejected() {
        let e = set_hostname(&"x".repeat(65)).unwrap_err();
        assert!(e.detail.contains("65 bytes"), "{e}");
        assert!(set_domainname("a\0b").is_err());
        assert!(check_name("t", "n", &"x".repeat(64)).is_ok());
    }

    #[test]
    fn hostname_matches_the_hostname_file() {
        let h = hostname().unwrap();
        let k = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert_eq!(h, k.trim_end());
    }
}
