//! The child -> parent reports of a setup: fixed 16-byte records, each
//! sent with one write(2) (below PIPE_BUF, so records from the child and a
//! grandchild never interleave). Encoding needs no allocation: the child
//! builds them on its stack.

use nix::errno::Errno;

/// Bytes of one record.
pub const SIZE: usize = 16;

/// Which process of the setup sent a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// The process clone3 created.
    Child,
    /// The process the child cloned into a pid namespace (os::setup::plan,
    /// `Sys::CloneParent`).
    Grandchild,
    /// The command an init started as its child (`Sys::InitClone`).
    Command,
}

/// One report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    /// Op `op` returned `value` (sent when tracing).
    Did { who: Who, op: u16, value: i64 },
    /// Op `op` failed; `aux` is the exec candidate for an exec. The sender
    /// exits without running anything.
    Failed {
        who: Who,
        op: u16,
        aux: u32,
        errno: Errno,
    },
    /// An execve of candidate `aux` failed with `errno` and the next one is
    /// tried (sent when tracing).
    ExecMissed {
        who: Who,
        op: u16,
        aux: u32,
        errno: Errno,
    },
    /// The child cloned the process that carries on (its pid as the
    /// parent's pid namespace numbers it).
    Forked { pid: i32 },
    /// Setup is done: the next thing is execve (or the return from fork, or
    /// the helper's exit). Always sent: a child that dies before sending it
    /// died during its setup.
    Ready { who: Who },
}

const DID: u8 = 1;
const FAILED: u8 = 2;
const EXEC_MISSED: u8 = 3;
const FORKED: u8 = 4;
const READY: u8 = 5;

fn who_byte(w: Who) -> u8 {
    match w {
        Who::Child => 0,
        Who::Grandchild => 1,
        Who::Command => 2,
    }
}

impl Record {
    /// The 16 bytes: kind, who, op (u16 le), aux (u32 le), value (i64 le).
    pub fn encode(self) -> [u8; SIZE] {
        let (kind, who, op, aux, value) = match self {
            Record::Did { who, op, value } => (DID, who, op, 0, value),
            Record::Failed {
                who,
                op,
                aux,
                errno,
            } => (FAILED, who, op, aux, errno as i64),
            Record::ExecMissed {
                who,
                op,
                aux,
                errno,
            } => (EXEC_MISSED, who, op, aux, errno as i64),
            Record::Forked { pid } => (FORKED, Who::Child, 0, 0, pid as i64),
            Record::Ready { who } => (READY, who, 0, 0, 0),
        };
        let mut b = [0u8; SIZE];
        b[0] = kind;
        b[1] = who_byte(who);
        b[2..4].copy_from_slice(&op.to_le_bytes());
        b[4..8].copy_from_slice(&aux.to_le_bytes());
        b[8..16].copy_from_slice(&value.to_le_bytes());
        b
    }

    fn decode(b: &[u8; SIZE]) -> Option<Record> {
        let who = match b[1] {
            0 => Who::Child,
            1 => Who::Grandchild,
            2 => Who::Command,
            _ => return None,
        };
        let op = u16::from_le_bytes([b[2], b[3]]);
        let aux = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
        let mut v = [0u8; 8];
        v.copy_from_slice(&b[8..16]);
        let value = i64::from_le_bytes(v);
        let errno = Errno::from_raw(value as i32);
        Some(match b[0] {
            DID => Record::Did { who, op, value },
            FAILED => Record::Failed {
                who,
                op,
                aux,
                errno,
            },
            EXEC_MISSED => Record::ExecMissed {
                who,
                op,
                aux,
                errno,
            },
            FORKED => Record::Forked { pid: value as i32 },
            READY => Record::Ready { who },
            _ => return None,
        })
    }

    /// Every whole record in `bytes` (all a child wrote); a torn or unknown
    /// tail is dropped.
    pub fn decode_all(bytes: &[u8]) -> Vec<Record> {
        bytes
            .chunks_exact(SIZE)
            .filter_map(|c| <&[u8; SIZE]>::try_from(c).ok().and_then(Record::decode))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let all = [
            Record::Did {
                who: Who::Child,
                op: 3,
                value: -1,
            },
            Record::Failed {
                who: Who::Grandchild,
                op: 9,
                aux: 2,
                errno: Errno::ENOENT,
            },
            Record::ExecMissed {
                who: Who::Command,
                op: 12,
                aux: 0,
                errno: Errno::EACCES,
            },
            Record::Forked { pid: 4242 },
            Record::Ready { who: Who::Child },
        ];
        let bytes: Vec<u8> = all.iter().flat_map(|r| r.encode()).collect();
        assert_eq!(Record::decode_all(&bytes), all.to_vec());
        assert_eq!(Record::decode_all(&bytes[..20]), all[..1].to_vec());
        assert!(Record::decode_all(&[9u8; 16]).is_empty());
    }
}
