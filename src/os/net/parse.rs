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

/// A time as tc writes it: a number and a unit, "10ms", "1.5s", "250us".
/// Returns milliseconds. A bare number is refused: tc would read it as
/// microseconds and a script as milliseconds.
pub fn parse_time_ms(op: &str, what: &str, s: &str) -> Result<f64> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let scale = match unit.trim() {
        "us" | "usec" | "usecs" => 0.001,
        "ms" | "msec" | "msecs" => 1.0,
        "s" | "sec" | "secs" => 1000.0,
        "" => {
            return Err(Error::invalid(
                op,
                format!("{what} '{}' has no unit: write \"10ms\", \"1s\" or \"250us\", or give a number of milliseconds", s.escape_debug()),
            ))
        }
        other => {
            return Err(Error::invalid(
                op,
                format!(
                    "{what} '{}': unknown unit '{}' (us, ms or s)",
                    s.escape_debug(),
                    other.escape_debug()
                ),
            ))
        }
    };
    let n: f64 = num.parse().map_err(|_| {
        Error::invalid(
            op,
            format!(
                "{what} '{}' is not a number with a unit like \"10ms\"",
                s.escape_debug()
            ),
        )
    })?;
    Ok(n * scale)
}

/// A rate as tc writes it: "10mbit", "1gbit", "512kbit", "100bit", or in
/// bytes per second "1mbps" (tc's bps is bytes). Returns Mbit/s.
pub fn parse_rate_mbit(op: &str, s: &str) -> Result<f64> {
    let t = s.trim().to_ascii_lowercase();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    // tc: SI prefixes, "bit" for bits, "bps" for bytes per second.
    let bits_per_unit = match unit.trim() {
        "bit" => 1.0,
        "kbit" => 1e3,
        "mbit" => 1e6,
        "gbit" => 1e9,
        "tbit" => 1e12,
        "bps" => 8.0,
        "kbps" => 8e3,
        "mbps" => 8e6,
        "gbps" => 8e9,
        "" => {
            return Err(Error::invalid(
                op,
                format!("rate '{}' has no unit: write \"10mbit\" or \"1gbit\", or give a number of Mbit/s", s.escape_debug()),
            ))
        }
        other => {
            return Err(Error::invalid(
                op,
                format!(
                    "rate '{}': unknown unit '{}' (bit, kbit, mbit, gbit, or bps, kbps, mbps for bytes)",
                    s.escape_debug(),
                    other.escape_debug()
                ),
            ))
        }
    };
    let n: f64 = num.parse().map_err(|_| {
        Error::invalid(
            op,
            format!(
                "rate '{}' is not a number with a unit like \"10mbit\"",
                s.escape_debug()
            ),
        )
    })?;
    Ok(n * bits_per_unit / 1e6)
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
