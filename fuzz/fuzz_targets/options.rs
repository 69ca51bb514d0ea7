//! Option decoding: arbitrary commands and option maps (of every value
//! type, nested, with spawn's keys and others) through `spawn_spec`, the
//! way spawn, run and in_ns decode them, without spawning anything. Any
//! outcome is fine but a panic. Decoded id maps go through the same
//! validation spawn applies, and arbitrary text through the /proc parsers.

#![no_main]

use libfuzzer_sys::fuzz_target;
use nsscript::engine::opts;
use rhai::{Array, Dynamic, Map};

/// Keys the decoders know besides spawn's own (opts::SPAWN_KEYS): run's,
/// and those of nested maps (id maps, time offsets, mounts, join), so the
/// fuzzer reaches past `check_keys`.
const NESTED_KEYS: &[&str] = &[
    "input",
    "inside",
    "outside",
    "count",
    "monotonic",
    "boottime",
    "pid",
    "pgroup",
    "type",
    "src",
    "dst",
    "readonly",
    "recursive",
    "size",
    "mode",
    "options",
    "host",
    "PATH",
];

fn key(i: u8) -> &'static str {
    let i = i as usize % (opts::SPAWN_KEYS.len() + NESTED_KEYS.len());
    opts::SPAWN_KEYS
        .get(i)
        .copied()
        .unwrap_or_else(|| NESTED_KEYS[i - opts::SPAWN_KEYS.len()])
}
const WORDS: &[&str] = &[
    "user",
    "mount",
    "uts",
    "ipc",
    "pid",
    "net",
    "cgroup",
    "time",
    "deny",
    "allow",
    "private",
    "slave",
    "shared",
    "unchanged",
    "inherit",
    "null",
    "pipe",
    "",
    "sh",
    "/",
    "a=b",
    "\0",
];

/// A value from the bytes: a tiny recursive grammar.
struct Gen<'a> {
    b: &'a [u8],
}

impl Gen<'_> {
    fn byte(&mut self) -> u8 {
        match self.b.split_first() {
            Some((x, rest)) => {
                self.b = rest;
                *x
            }
            None => 0,
        }
    }

    fn int(&mut self) -> i64 {
        match self.byte() % 8 {
            0 => 0,
            1 => -1,
            2 => i64::MAX,
            3 => i64::MIN,
            4 => 1 << 32,
            5 => u32::MAX as i64,
            6 => i64::from(self.byte()),
            _ => {
                let mut v = [0u8; 8];
                for x in &mut v {
                    *x = self.byte();
                }
                i64::from_le_bytes(v)
            }
        }
    }

    fn string(&mut self) -> String {
        match self.byte() % 4 {
            0 => WORDS[self.byte() as usize % WORDS.len()].to_string(),
            1 => key(self.byte()).to_string(),
            2 => "x".repeat(self.byte() as usize * 4),
            _ => {
                let n = (self.byte() % 16) as usize;
                let bytes: Vec<u8> = (0..n).map(|_| self.byte()).collect();
                String::from_utf8_lossy(&bytes).into_owned()
            }
        }
    }

    fn value(&mut self, depth: u32) -> Dynamic {
        let tag = if depth > 3 {
            self.byte() % 6
        } else {
            self.byte() % 9
        };
        match tag {
            0 => Dynamic::UNIT,
            1 => Dynamic::from(self.byte() & 1 == 1),
            2 => Dynamic::from(self.int()),
            3 => Dynamic::from(f64::from_bits(self.int() as u64)),
            4 => Dynamic::from(self.string()),
            5 => Dynamic::from(char::from(self.byte())),
            6 | 7 => {
                let n = self.byte() % 5;
                let a: Array = (0..n).map(|_| self.value(depth + 1)).collect();
                Dynamic::from(a)
            }
            _ => Dynamic::from(self.map(depth + 1)),
        }
    }

    fn map(&mut self, depth: u32) -> Map {
        let n = self.byte() % 6;
        let mut m = Map::new();
        for _ in 0..n {
            let k = if self.byte() % 4 == 0 {
                self.string()
            } else {
                key(self.byte()).to_string()
            };
            let v = self.value(depth);
            m.insert(k.into(), v);
        }
        m
    }
}

fuzz_target!(|data: &[u8]| {
    let mut g = Gen { b: data };
    let cmd = g.value(0);
    let map = g.map(0);
    for (op, extra) in [
        ("spawn", &[][..]),
        ("run", opts::RUN_EXTRA_KEYS),
        ("in_ns", &[]),
    ] {
        if let Ok(spec) = opts::spawn_spec(op, &cmd, &map, extra) {
            for m in [&spec.uid_map, &spec.gid_map].into_iter().flatten() {
                let _ = nsscript::os::idmap::validate("fuzz", m);
                let text = nsscript::os::idmap::render(m);
                assert_eq!(
                    &nsscript::os::idmap::parse(&text),
                    m,
                    "render/parse round trip"
                );
            }
        }
    }
    let _ = opts::kinds("fuzz", "ns", &cmd);
    let _ = opts::ns_set("fuzz", &map);
    let text = String::from_utf8_lossy(data);
    let _ = nsscript::os::idmap::parse(&text);
    let _ = nsscript::os::mount::parse_mountinfo(&text);
    let _ = nsscript::os::procfs::ns_inode(&text);
});
