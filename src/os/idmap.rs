//! User and group id maps of a user namespace (user_namespaces(7)).

use super::{Error, Result};
use nix::errno::Errno;

/// One line of /proc/PID/uid_map: ids `inside..inside+count` in the new
/// namespace are ids `outside..outside+count` in the parent's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

/// The kernel accepts at most this many lines in a map (since Linux 4.15).
pub const MAX_LINES: usize = 340;

impl IdRange {
    /// Checks the numbers a script gave (which may be negative or too big).
    pub fn new(op: &str, inside: i64, outside: i64, count: i64) -> Result<Self> {
        let id = |what: &str, v: i64| {
            u32::try_from(v)
                .ok()
                .filter(|v| *v != u32::MAX)
                .ok_or_else(|| {
                    Error::invalid(
                        op,
                        format!("{what} id {v} is out of range (0 to 4294967294)"),
                    )
                })
        };
        let r = IdRange {
            inside: id("inside", inside)?,
            outside: id("outside", outside)?,
            count: u32::try_from(count)
                .ok()
                .filter(|c| *c > 0)
                .ok_or_else(|| Error::invalid(op, format!("count {count} must be at least 1")))?,
        };
        for (what, start) in [("inside", r.inside), ("outside", r.outside)] {
            if (start as u64) + (r.count as u64) > u32::MAX as u64 {
                return Err(Error::invalid(
                    op,
                    format!("{what} range {start}+{} runs past the largest id", r.count),
                ));
            }
        }
        Ok(r)
    }

    fn end(start: u32, count: u32) -> u64 {
        start as u64 + count as u64
    }
}

/// Checks a whole map the way the kernel will (no overlapping ranges on
/// either side, at most 340 lines), so the error can say which lines clash
/// instead of a bare EINVAL from the write.
pub fn validate(op: &str, map: &[IdRange]) -> Result<()> {
    if map.is_empty() {
        return Err(Error::invalid(
            op,
            "the map is empty; give at least one range",
        ));
    }
    if map.len() > MAX_LINES {
        return Err(Error::invalid(
            op,
            format!(
                "{} ranges; the kernel accepts at most {MAX_LINES}",
                map.len()
            ),
        ));
    }
    for (i, a) in map.iter().enumerate() {
        for (j, b) in map.iter().enumerate().skip(i + 1) {
            let overlap = |x: u32, y: u32| {
                (x as u64) < IdRange::end(y, b.count) && (y as u64) < IdRange::end(x, a.count)
            };
            for (side, x, y) in [
                ("inside", a.inside, b.inside),
                ("outside", a.outside, b.outside),
            ] {
                if overlap(x, y) {
                    return Err(Error::invalid(
                        op,
                        format!(
                            "ranges {i} and {j} overlap on the {side} side ({x}+{} and {y}+{})",
                            a.count, b.count
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The text written to uid_map/gid_map: one "inside outside count" line each.
pub fn render(map: &[IdRange]) -> String {
    map.iter()
        .map(|r| format!("{} {} {}\n", r.inside, r.outside, r.count))
        .collect()
}

/// Parses the text of /proc/PID/uid_map.
pub fn parse(text: &str) -> Vec<IdRange> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace().map(|f| f.parse::<u32>());
            match (it.next(), it.next(), it.next()) {
                (Some(Ok(inside)), Some(Ok(outside)), Some(Ok(count))) => Some(IdRange {
                    inside,
                    outside,
                    count,
                }),
                _ => None,
            }
        })
        .collect()
}

/// setgroups(2) policy of a user namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetGroups {
    Deny,
    Allow,
}

impl std::str::FromStr for SetGroups {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "deny" => Ok(SetGroups::Deny),
            "allow" => Ok(SetGroups::Allow),
            _ => Err(Error::invalid(
                "spawn",
                format!("setgroups must be \"deny\" or \"allow\", not {s:?}"),
            )),
        }
    }
}

/// A hint for a map the kernel refused: the setting responsible on this
/// machine where there is one, else what the kernel requires.
pub fn map_hint(e: Error, which: &str) -> Error {
    let user = super::ns::NsSet::from_iter([super::ns::Namespace::User]);
    if let Some(h) = e
        .errno
        .and_then(|n| super::doctor::hint_for(super::doctor::Op::MapWrite, n, user))
    {
        return e.hint(h);
    }
    match e.errno {
        Some(Errno::EPERM) => e.hint(format!(
            "without CAP_SETUID/CAP_SETGID in the parent namespace a {which} may only map your own id once (count 1); run as root for ranges"
        )),
        Some(Errno::EINVAL) => e.hint(format!(
            "the kernel rejected the {which}: ranges must not overlap and outside ids must exist in the parent namespace"
        )),
        _ => e,
    }
}

/// Reads /proc/PID/uid_map ("uid") or gid_map ("gid").
pub fn read_map(pid: i32, which: &str) -> Result<Vec<IdRange>> {
    let op = format!("{which}_map({pid})");
    let text = std::fs::read_to_string(format!("/proc/{pid}/{which}_map"))
        .map_err(|e| Error::io(&op, &e))
        .map_err(super::procfs::no_such_process(pid))?;
    Ok(parse(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_reject_negative_and_empty() {
        assert!(IdRange::new("t", -1, 0, 1).is_err());
        assert!(IdRange::new("t", 0, 0, 0).is_err());
        assert!(IdRange::new("t", 0, 4294967295, 1).is_err());
        assert!(IdRange::new("t", 0, 4294967290, 10).is_err());
        assert_eq!(
            IdRange::new("t", 0, 1000, 10).ok(),
            Some(IdRange {
                inside: 0,
                outside: 1000,
                count: 10
            })
        );
    }

    #[test]
    fn overlaps_are_named() {
        let a = IdRange {
            inside: 0,
            outside: 1000,
            count: 10,
        };
        let b = IdRange {
            inside: 5,
            outside: 2000,
            count: 1,
        };
        let e = validate("spawn", &[a, b]).unwrap_err();
        assert!(e.detail.contains("overlap on the inside side"), "{e}");
        let c = IdRange {
            inside: 20,
            outside: 1009,
            count: 1,
        };
        assert!(validate("spawn", &[a, c])
            .unwrap_err()
            .detail
            .contains("outside"));
        let d = IdRange {
            inside: 10,
            outside: 1010,
            count: 5,
        };
        assert!(validate("spawn", &[a, d]).is_ok());
    }

    #[test]
    fn render_and_parse_agree() {
        let m = [IdRange {
            inside: 0,
            outside: 1000,
            count: 1,
        }];
        assert_eq!(render(&m), "0 1000 1\n");
        assert_eq!(parse("         0       1000          1\n"), m.to_vec());
    }
}
