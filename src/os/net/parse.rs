//! Parsing and checking what users type: link names, addresses in CIDR
//! form, route destinations, and the delay, loss and rate of a shaped link.
//! Everything here runs before a request reaches the kernel.

use crate::os::{Error, Result};
use std::net::IpAddr;

/// Interface names are at most IFNAMSIZ - 1 bytes (the kernel keeps a NUL).
pub const IFNAME_MAX: usize = 15;

/// Rejects names the kernel would refuse (dev_valid_name in net/core/dev.c),
/// before any request is sent.
pub fn check_ifname(op: &str, name: &str) -> Result<()> {
    let bad = |why: String| Err(Error::invalid(op, why));
    if name.is_empty() {
        return bad("a link name cannot be empty".into());
    }
    if name.len() > IFNAME_MAX {
        return bad(format!(
            "link name '{}' is {} bytes; the limit is {IFNAME_MAX}",
            name.escape_debug(),
            name.len()
        ));
    }
    if name.contains('\0') {
        return bad(format!(
            "link name '{}' contains a NUL byte",
            name.escape_debug()
        ));
    }
    if name == "."
        || name == ".."
        || name.contains(['/', ':'])
        || name.contains(char::is_whitespace)
    {
        return bad(format!(
            "link name '{}' is not allowed: no '/', ':', whitespace, '.' or '..'",
            name.escape_debug()
        ));
    }
    Ok(())
}

/// Parses `ADDR/LEN`, or a bare address meaning a host (/32, /128).
pub fn parse_cidr(op: &str, cidr: &str) -> Result<(IpAddr, u8)> {
    let bad = || {
        Error::invalid(
            op,
            format!(
                "'{}' is not an address in CIDR form like 10.0.0.1/24 or fd00::1/64",
                cidr.escape_debug()
            ),
        )
    };
    let (addr, len) = match cidr.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (cidr, None),
    };
    let addr: IpAddr = addr.parse().map_err(|_| bad())?;
    let max = if addr.is_ipv6() { 128 } else { 32 };
    let len = match len {
        None => max,
        Some(l) if l.bytes().all(|b| b.is_ascii_digit()) && !l.is_empty() => {
            l.parse::<u8>().ok().filter(|n| *n <= max).ok_or_else(|| {
                Error::invalid(
                    op,
                    format!("prefix length /{l} in '{cidr}' is out of range (0 to {max})"),
                )
            })?
        }
        Some(_) => return Err(bad()),
    };
    Ok((addr, len))
}

/// Parses a route destination: a CIDR whose host bits are all zero.
pub fn parse_network(op: &str, cidr: &str) -> Result<(IpAddr, u8)> {
    let (addr, len) = parse_cidr(op, cidr)?;
    let net = mask(addr, len);
    if net != addr {
        return Err(Error::invalid(
            op,
            format!("'{cidr}' has host bits set; did you mean {net}/{len}?"),
        ));
    }
    Ok((addr, len))
}

/// The network part of `addr` with a prefix of `len` bits.
pub fn mask(addr: IpAddr, len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let m = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            IpAddr::from((u32::from(a) & m).to_be_bytes())
        }
        IpAddr::V6(a) => {
            let m = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            IpAddr::from((u128::from(a) & m).to_be_bytes())
        }
    }
}

pub fn no_such_link(name: &str) -> String {
    format!("no link named '{name}' in this network namespace (see links())")
}

/// A number followed by a unit from `units` (name, scale), as tc writes
/// quantities: returns the number times its unit's scale. `what` names
/// the quantity, `example` shows one, `bare` says what a number alone
/// would be in a script.
fn with_unit(
    op: &str,
    what: &str,
    s: &str,
    units: &[(&str, f64)],
    example: &str,
    bare: &str,
) -> Result<f64> {
    let lower = s.trim().to_ascii_lowercase();
    let split = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(split);
    let unit = unit.trim();
    let shown = s.escape_debug();
    if unit.is_empty() {
        return Err(Error::invalid(
            op,
            format!(
                "{what} '{shown}' has no unit: write \"{example}\", or give a number of {bare}"
            ),
        ));
    }
    let Some((_, scale)) = units.iter().find(|(u, _)| *u == unit) else {
        let names: Vec<&str> = units.iter().map(|(u, _)| *u).collect();
        return Err(Error::invalid(
            op,
            format!(
                "{what} '{shown}': unknown unit '{}' ({})",
                unit.escape_debug(),
                names.join(", ")
            ),
        ));
    };
    let n: f64 = num.parse().map_err(|_| {
        Error::invalid(
            op,
            format!("{what} '{shown}' is not a number with a unit like \"{example}\""),
        )
    })?;
    Ok(n * scale)
}

/// A time as tc writes it: "10ms", "1.5s", "250us". Returns milliseconds.
/// A bare number is refused: tc would read it as microseconds and a script
/// as milliseconds.
pub fn parse_time_ms(op: &str, what: &str, s: &str) -> Result<f64> {
    const UNITS: &[(&str, f64)] = &[
        ("us", 0.001),
        ("usec", 0.001),
        ("ms", 1.0),
        ("msec", 1.0),
        ("s", 1000.0),
        ("sec", 1000.0),
    ];
    with_unit(op, what, s, UNITS, "10ms", "milliseconds")
}

/// A rate as tc writes it: "10mbit", "1gbit", "512kbit", "100bit", or in
/// bytes per second "1mbps" (tc's bps is bytes). Returns Mbit/s.
pub fn parse_rate_mbit(op: &str, s: &str) -> Result<f64> {
    // tc: SI prefixes, "bit" for bits, "bps" for bytes per second.
    const UNITS: &[(&str, f64)] = &[
        ("bit", 1e-6),
        ("kbit", 1e-3),
        ("mbit", 1.0),
        ("gbit", 1e3),
        ("tbit", 1e6),
        ("bps", 8e-6),
        ("kbps", 8e-3),
        ("mbps", 8.0),
        ("gbps", 8e3),
    ];
    with_unit(op, "rate", s, UNITS, "10mbit", "Mbit/s")
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::errno::Errno;

    #[test]
    fn names_and_cidrs_are_checked_before_the_kernel() {
        assert!(check_ifname("t", "eth0").is_ok());
        assert!(check_ifname("t", "fifteen-bytes-x").is_ok());
        for bad in [
            "",
            "sixteen-bytes-xx",
            "a\0b",
            "a b",
            "a/b",
            "a:b",
            ".",
            "..",
        ] {
            let e = check_ifname("bridge", bad).unwrap_err();
            assert_eq!(
                (e.op.as_str(), e.errno),
                ("bridge", Some(Errno::EINVAL)),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_cidr("t", "10.0.0.1/24").unwrap(),
            ("10.0.0.1".parse().unwrap(), 24)
        );
        assert_eq!(parse_cidr("t", "fd00::1").unwrap().1, 128);
        assert_eq!(parse_cidr("t", "10.0.0.1").unwrap().1, 32);
        for bad in [
            "",
            "10.0.0.1/33",
            "10.0.0.1/",
            "10.0.0.1/+8",
            "x/8",
            "10.0.0/8",
            "::/129",
        ] {
            assert!(parse_cidr("t", bad).is_err(), "{bad:?}");
        }
        assert!(parse_network("t", "10.0.0.0/8").is_ok());
        assert!(parse_network("t", "0.0.0.0/0").is_ok());
        assert!(parse_network("t", "fd00::/64").is_ok());
        let e = parse_network("route_add", "10.0.0.1/8").unwrap_err();
        assert!(e.detail.contains("10.0.0.0/8"), "{e:?}");
    }
}
