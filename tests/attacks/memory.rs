//! Attacks on the memory, environment and binary of nsscript from inside a
//! container: /proc/PID/mem, environ, cmdline, exe of every process the
//! container can see. The attacker is tests/attacks/scan.c, built static
//! and run as the container's root.

use crate::util::{self, guarded, Run, Scratch};
use std::process::{Command, Stdio};

/// A root holding only the scanner (and the folders a container mounts
/// on), owned by `owner`; None after saying why it cannot be built.
fn scanner_root(dir: &Scratch, owner: u32) -> Option<String> {
    let Some(cc) = util::which("cc") else {
        eprintln!("SKIP: no C compiler to build the scanner (the CI installs gcc)");
        return None;
    };
    let root = dir.path("root");
    for d in ["dev", "proc", "tmp"] {
        std::fs::create_dir_all(format!("{root}/{d}")).expect("mkdir");
    }
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/attacks/scan.c");
    let out = Command::new(cc)
        .args(["-static", "-O1", "-o"])
        .arg(format!("{root}/scan"))
        .arg(src)
        .stdin(Stdio::null())
        .output()
        .expect("run cc");
    assert!(
        out.status.success(),
        "cc scan.c:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if owner != 0 {
        util::sh(&format!("chown -R {owner}:{owner} {root}"));
    }
    Some(root)
}

/// A secret no process holds by chance, and its reverse (what the
/// scanner is given, so that no argv holds the secret itself).
fn secret(what: &str) -> (String, String) {
    let s = format!(
        "{what}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    let r = s.chars().rev().collect();
    (s, r)
}

/// nsscript with `code` and SECRET_TOKEN in its environment, as root, or
/// as uid 65534 (None after saying why not).
fn nsscript(code: &str, token: &str, nobody: bool) -> Option<Run> {
    let mut c = if nobody {
        if !util::is_root() || util::which("setpriv").is_none() {
            eprintln!("SKIP: cannot setpriv to 65534 here");
            return None;
        }
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(util::bin());
        c
    } else {
        Command::new(util::bin())
    };
    c.args(["-e", code])
        .env("SECRET_TOKEN", token)
        .current_dir("/")
        .stdin(Stdio::null());
    Some(util::output(c))
}

/// The scanner's line for each process: (pid, comm, the rest).
fn scanned(out: &str) -> Vec<(i32, String, String)> {
    out.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("pid ")?;
            let (pid, rest) = rest.split_once(" comm ")?;
            let (comm, rest) = rest.split_once(' ')?;
            Some((pid.parse().ok()?, comm.to_string(), rest.to_string()))
        })
        .collect()
}

/// What a line says of one thing: `mem:read` -> "read".
fn field<'a>(rest: &'a str, name: &str) -> &'a str {
    rest.split(' ')
        .find_map(|w| w.strip_prefix(&format!("{name}:")))
        .unwrap_or("")
}

/// The container's root reads the environment, command line and memory
/// of every process it can see, and tries to write their executables:
/// with the init in front (the default) and without it, with nsscript as
/// root and as uid 65534. Nothing of nsscript's is found: not the secret
/// in its environment, not the script's text; every exe stays unwritten.
/// The init's own memory is read (its `--setup` option is found in it):
/// the scanner could read what there was to read.
#[test]
fn a_containers_root_finds_nothing_of_nsscript_in_any_process_it_can_see() {
    guarded(|| {
        for nobody in [false, true] {
            let dir = Scratch::new("attack-memory");
            let Some(root) = scanner_root(&dir, if nobody { 65534 } else { 0 }) else {
                return;
            };
            let (token, token_rev) = secret("env");
            let (text, text_rev) = secret("script");
            for init in [true, false] {
                let code = format!(
                    r#"import "container" as c;
                       let in_the_script = "{text}";
                       let r = c::run(#{{rootfs: "{root}", init: {init},
                                         cmd: ["/scan", "all", "{token_rev}", "{text_rev}"]}});
                       print(r.stdout);
                       eprint(r.stderr);
                       exit(r.code);"#
                );
                let Some(r) = nsscript(&code, &token, nobody) else {
                    return;
                };
                r.ok();
                let lines = scanned(&r.stdout);
                let what = format!("nobody {nobody}, init {init}:\n{}", r.stdout);
                if init {
                    let pid1 = lines.iter().find(|(p, _, _)| *p == 1);
                    let (_, comm, rest) = pid1.unwrap_or_else(|| panic!("no pid 1: {what}"));
                    assert_eq!(comm, "nsscript-init", "{what}");
                    assert_eq!(field(rest, "mem"), "read", "{what}");
                    assert_eq!(field(rest, "found"), "control", "{what}");
                } else {
                    assert!(lines.is_empty(), "the scanner is pid 1 and alone: {what}");
                }
                for (_, _, rest) in &lines {
                    assert!(!rest.contains(&token) && !rest.contains(&text), "{what}");
                    assert!(
                        field(rest, "found") == "-" || field(rest, "found") == "control",
                        "{what}"
                    );
                    assert_ne!(field(rest, "exe"), "written", "{what}");
                }
            }
        }
    });
}

/// pid 1's program cannot be written from inside: it is the init image,
/// a memfd sealed against writes (runc's CVE-2019-5736 overwrote the
/// runtime's binary through /proc/1/exe). The write is refused even to a
/// root that may open it.
#[test]
fn pid_1s_exe_cannot_be_overwritten_from_inside() {
    guarded(|| {
        let dir = Scratch::new("attack-exe");
        let Some(root) = scanner_root(&dir, 0) else {
            return;
        };
        let r = util::eval(&format!(
            r#"import "container" as c;
               let r = c::run(#{{rootfs: "{root}", cmd: ["/scan", "all"]}});
               print(r.stdout);"#
        ));
        r.ok();
        let lines = scanned(&r.stdout);
        let (_, comm, rest) = lines
            .iter()
            .find(|(p, _, _)| *p == 1)
            .unwrap_or_else(|| panic!("no pid 1:\n{}", r.stdout));
        assert_eq!(comm, "nsscript-init");
        let exe = field(rest, "exe");
        assert!(exe == "EPERM" || exe == "EACCES" || exe == "ETXTBSY", "{}", r.stdout);
    });
}

/// A hostile container makes its /dev/null a FIFO, so that a process
/// joining it (here with stdin "null") blocks in its setup, inside the
/// container's pid namespace, while it still shares nsscript's memory.
/// The container's root finds it there (the window is real), and can read
/// neither its environment nor its memory: it is undumpable until its
/// exec (runc's CVE-2016-9962).
#[test]
fn a_process_joining_a_container_cannot_be_read_while_it_sets_up() {
    guarded(|| {
        if !util::is_root() {
            eprintln!("SKIP: a container with ids 0-65535 mapped onto themselves needs root");
            return;
        }
        let dir = Scratch::new("attack-join");
        let Some(root) = scanner_root(&dir, 0) else {
            return;
        };
        let (token, token_rev) = secret("env");
        let code = format!(
            r#"let p = spawn(["/scan", "stall", "{token_rev}"],
                   #{{root: "{root}", ns: ["user", "mount", "pid", "uts", "ipc"], mount_proc: true,
                     uid_map: [[0, 0, 65536]], gid_map: [[0, 0, 65536]], stdout: "pipe"}});
               let n = 0;
               while run(["test", "-p", "{root}/dev/null"]).code != 0 && n < 2000 {{ sleep(5); n += 1; }}
               let r = run(["/scan", "none"], #{{join: #{{pid: p.pid, ns: ["user", "mount", "pid"]}}, stdin: "null"}});
               p.wait();
               print(p.stdout);
               exit(r.code);"#
        );
        let r = nsscript(&code, &token, false).expect("root");
        r.ok();
        let lines = scanned(&r.stdout);
        let (_, _, rest) = lines
            .iter()
            .find(|(_, comm, _)| comm == "nsscript")
            .unwrap_or_else(|| panic!("the joining process was not seen:\n{}", r.stdout));
        assert!(!r.stdout.contains(&token), "{}", r.stdout);
        for what in ["environ", "mem"] {
            let got = field(rest, what);
            assert!(got == "EACCES" || got == "EPERM", "{what}: {}", r.stdout);
        }
        assert_eq!(field(rest, "found"), "-", "{}", r.stdout);
    });
}

/// A copy of the interpreter (in_ns) made after joining a container's user
/// and pid namespaces lives among the container's processes, with their
/// credentials' namespace, as long as it runs: it stays undumpable, so its
/// copy of nsscript's memory and environment is out of their reach.
#[test]
fn an_in_ns_copy_among_a_containers_processes_cannot_be_read() {
    guarded(|| {
        if !util::is_root() {
            eprintln!("SKIP: a container with ids 0-65535 mapped onto themselves needs root");
            return;
        }
        let dir = Scratch::new("attack-in-ns");
        let Some(root) = scanner_root(&dir, 0) else {
            return;
        };
        let (token, token_rev) = secret("env");
        let code = format!(
            r#"let p = spawn(["/scan", "wait", "{token_rev}"],
                   #{{root: "{root}", ns: ["user", "mount", "pid", "uts", "ipc"], mount_proc: true,
                     uid_map: [[0, 0, 65536]], gid_map: [[0, 0, 65536]], stdout: "pipe"}});
               setns(p.pid, ["user", "pid"]);
               in_ns(#{{ns: ["uts"]}}, || {{
                   let n = 0;
                   while !exists("{root}/done") && n < 4000 {{ sleep(5); n += 1; }}
               }});
               p.wait();
               print(p.stdout);"#
        );
        let r = nsscript(&code, &token, false).expect("root");
        r.ok();
        let lines = scanned(&r.stdout);
        let (_, _, rest) = lines
            .iter()
            .find(|(_, comm, _)| comm == "nsscript")
            .unwrap_or_else(|| panic!("the in_ns copy was not seen:\n{}", r.stdout));
        assert!(!r.stdout.contains(&token), "{}", r.stdout);
        for what in ["environ", "mem"] {
            let got = field(rest, what);
            assert!(got == "EACCES" || got == "EPERM", "{what}: {}", r.stdout);
        }
    });
}
