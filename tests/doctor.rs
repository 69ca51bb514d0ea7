//! The doctor against the real settings: every answer is checked against
//! the file it comes from or against util-linux doing the same thing
//! (`unshare`, `setpriv`, `findmnt`, `stat -f`), and the user.* limits are
//! set to 0 inside a user namespace of the test's own (`unshare -Ur`),
//! never on the host.

use crate::util::{self, guarded, Run};
use serde_json::Value;
use std::process::{Command, Stdio};

/// `nsscript --doctor --json`, parsed.
fn doctor_json(r: &Run) -> Value {
    r.ok();
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stdout))
}

fn file(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// Does a command succeed (output ignored)?
fn succeeds(prog: &str, args: &[&str]) -> bool {
    Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The util-linux unshare option for a kind.
fn unshare_flag(kind: &str) -> String {
    format!("--{kind}")
}

const KINDS: [&str; 8] = [
    "user", "mount", "uts", "ipc", "pid", "net", "cgroup", "time",
];

#[test]
fn the_doctor_says_what_the_files_and_util_linux_say() {
    guarded(|| {
        if !util::is_root() {
            eprintln!("SKIP: the doctor's root column needs root");
            return;
        }
        let d = doctor_json(&util::run(&["--doctor", "--json"]));
        assert_eq!(d["about"]["uid"], 0);
        assert_eq!(
            d["about"]["kernel"].as_str(),
            file("/proc/sys/kernel/osrelease").as_deref()
        );

        // Each kind: util-linux unshare as root, and as uid 65534 with a
        // user namespace mapping it to root (the same uid_map write).
        let nobody = util::which("setpriv").is_some();
        for kind in KINDS {
            let root = succeeds("unshare", &[&unshare_flag(kind), "true"]);
            let got = &d["namespaces"][kind]["root"];
            assert_eq!(got["ok"], root, "{kind} as root: {got}");
            if !nobody {
                eprintln!(
                    "SKIP: setpriv is not installed; the unprivileged column is not compared"
                );
                continue;
            }
            let mut args = vec![
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "unshare",
                "--user",
                "--map-root-user",
            ];
            let flag = unshare_flag(kind);
            if kind != "user" {
                args.push(&flag);
            }
            args.push("true");
            let unpriv = succeeds("setpriv", &args);
            let got = &d["namespaces"][kind]["unprivileged"];
            assert_eq!(got["ok"], unpriv, "{kind} as 65534: {got}");
            if got["ok"] == false {
                assert!(got["cause"].is_string() && got["fix"].is_string(), "{got}");
            }
        }

        // The settings, as their files hold them.
        let limit = |name: &str| file(&format!("/proc/sys/user/{name}"));
        let v = &d["userns"]["max_user_namespaces"];
        assert_eq!(
            v["found"].as_str(),
            limit("max_user_namespaces").as_deref(),
            "{v}"
        );
        assert_eq!(
            v["ok"],
            limit("max_user_namespaces").as_deref() != Some("0")
        );
        for kind in ["mnt", "uts", "ipc", "pid", "net", "cgroup", "time"] {
            let name = format!("max_{kind}_namespaces");
            let v = &d["limits"][&name];
            match limit(&name) {
                Some(n) => assert_eq!(v["found"].as_str(), Some(n.as_str()), "{name}: {v}"),
                None => assert_eq!(v["found"], "absent", "{name}: {v}"),
            }
        }
        for (key, path, bad) in [
            (
                "unprivileged_userns_clone",
                "/proc/sys/kernel/unprivileged_userns_clone",
                "0",
            ),
            (
                "apparmor_restrict_unprivileged_userns",
                "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
                "1",
            ),
            (
                "module_enable",
                "/sys/module/user_namespace/parameters/enable",
                "N",
            ),
        ] {
            let v = &d["userns"][key];
            match file(path) {
                Some(x) => {
                    assert_eq!(v["found"].as_str(), Some(x.as_str()), "{key}: {v}");
                    assert_eq!(v["ok"], x != bad, "{key}: {v}");
                }
                None => {
                    assert!(
                        v["found"].as_str().unwrap_or("").starts_with("absent"),
                        "{key}: {v}"
                    );
                    assert_eq!(v["ok"], true, "{key}: {v}");
                }
            }
        }

        // cgroups: the filesystem type of /sys/fs/cgroup (stat -f) and
        // whether a cgroup2 tree is mounted elsewhere (findmnt).
        let fstype = util::sh("stat -f -c %T /sys/fs/cgroup").trim().to_string();
        let v2_mounts = util::sh("findmnt -rn -t cgroup2 -o TARGET || true");
        let v1_mounts = util::sh("findmnt -rn -t cgroup -o TARGET || true");
        let want = match (
            fstype.as_str(),
            v1_mounts.trim().is_empty(),
            v2_mounts.trim().is_empty(),
        ) {
            ("cgroup2fs", _, _) => "v2",
            (_, false, false) => "hybrid",
            (_, false, true) => "v1",
            (_, true, false) => "v2",
            _ => "none",
        };
        let found = d["system"]["cgroup"]["found"].as_str().unwrap_or("");
        assert!(
            found.starts_with(want),
            "cgroup: {found}, stat -f says {fstype}"
        );

        // Propagation of /: findmnt's word comes first.
        let prop = util::sh("findmnt -n -o PROPAGATION /").trim().to_string();
        let found = d["system"]["root_propagation"]["found"]
            .as_str()
            .unwrap_or("");
        assert!(found.starts_with(&prop), "/: {found}, findmnt says {prop}");

        assert_eq!(
            d["kernel"]["time_namespace"]["ok"],
            std::path::Path::new("/proc/self/ns/time").exists()
        );
        for k in ["clone3", "pidfd"] {
            assert!(d["kernel"][k]["ok"].is_boolean(), "{k}: {}", d["kernel"][k]);
        }

        // Tools and helpers: installed where sh finds them.
        for tool in ["ping", "ip", "tc", "dot", "newuidmap", "newgidmap"] {
            let path = util::sh(&format!(
                "PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin command -v {tool} || true"
            ));
            let section = if tool.starts_with("new") {
                "idmap"
            } else {
                "tools"
            };
            let v = &d[section][tool];
            if path.trim().is_empty() {
                assert_eq!(v["ok"], false, "{tool}: {v}");
                assert_eq!(v["found"], "not installed", "{tool}: {v}");
                assert!(
                    v["fix"].as_str().unwrap_or("").contains("apt-get install"),
                    "{v}"
                );
            } else if section == "tools" {
                assert_eq!(v["ok"], true, "{tool}: {v}");
            }
        }
        // As root without sudo there is nothing to look up.
        if std::env::var_os("SUDO_USER").is_none() {
            assert_eq!(d["idmap"]["subuid"]["ok"], true, "{}", d["idmap"]["subuid"]);
        }
    });
}

#[test]
fn doctor_in_a_script_is_the_same_map() {
    guarded(|| {
        let r = util::eval(
            r#"let d = doctor();
               print(d.userns.max_user_namespaces.found);
               print(d.namespaces.uts.unprivileged.ok);
               print(type_of(d.tools));"#,
        );
        r.ok();
        let lines = r.lines();
        assert_eq!(
            lines.first().map(String::as_str),
            file("/proc/sys/user/max_user_namespaces").as_deref(),
            "{lines:?}"
        );
        assert!(matches!(
            lines.get(1).map(String::as_str),
            Some("true" | "false" | "()")
        ));
        assert_eq!(lines.get(2).map(String::as_str), Some("map"));
        // The text form tells the same, each no with its cause and fix.
        let text = util::run(&["--doctor"]);
        text.ok();
        assert!(text.stdout.contains("Namespaces"), "{}", text.stdout);
        let noes = text
            .stdout
            .lines()
            .filter(|l| l.trim_start().starts_with("NO "))
            .count();
        let causes = text.stdout.matches("cause: ").count();
        assert!(causes >= noes, "{}", text.stdout);
    });
}

/// In a user namespace of the test's own, with one user.* limit set to 0:
/// nsscript's error and its doctor both name the setting and its value.
fn with_zero_limit(limit: &str, args: &[&str]) -> Run {
    util::output(util::in_unshare(
        &["-Ur"],
        &format!("echo 0 > /proc/sys/user/{limit}"),
        args,
    ))
}

#[test]
fn a_zero_user_namespace_limit_is_named_by_the_error_and_the_doctor() {
    guarded(|| {
        if util::which("unshare").is_none() {
            eprintln!("SKIP: util-linux unshare is not installed");
            return;
        }
        if !succeeds("unshare", &["-Ur", "true"]) {
            eprintln!("SKIP: unshare -Ur does not work here (user namespaces are unavailable)");
            return;
        }
        let code = r#"
            for f in [|| spawn("true", #{ns: ["user", "uts"]}), || unshare(["user"])] {
                try { f.call(); print("no error"); }
                catch (e) { print(e.errno); print(e.hint); }
            }"#;
        let r = with_zero_limit("max_user_namespaces", &["-e", code]);
        r.ok();
        let lines = r.lines();
        assert_eq!(lines.len(), 4, "{lines:?}");
        for pair in lines.chunks(2) {
            assert_eq!(pair[0], "ENOSPC", "{lines:?}");
            assert!(
                pair[1].contains("user.max_user_namespaces is 0"),
                "the hint names the setting and its value: {lines:?}"
            );
        }
        assert!(!r.stdout.contains("max_*_namespaces"), "{}", r.stdout);

        // The doctor in the same place: the setting, its value, and the
        // user kind as root failing because of it.
        let d = doctor_json(&with_zero_limit(
            "max_user_namespaces",
            &["--doctor", "--json"],
        ));
        let v = &d["userns"]["max_user_namespaces"];
        assert_eq!(v["ok"], false, "{v}");
        assert_eq!(v["found"], "0", "{v}");
        let user = &d["namespaces"]["user"]["root"];
        assert_eq!(user["ok"], false, "{user}");
        assert!(
            user["found"].as_str().unwrap_or("").contains("ENOSPC"),
            "{user}"
        );
        assert!(
            user["cause"]
                .as_str()
                .unwrap_or("")
                .contains("user.max_user_namespaces is 0"),
            "{user}"
        );
        // The others still work as root there.
        assert_eq!(
            d["namespaces"]["uts"]["root"]["ok"], true,
            "{}",
            d["namespaces"]["uts"]
        );
        assert_eq!(d["about"]["initial_userns"], false);

        // Another kind's limit: the hint names that one.
        let r = with_zero_limit(
            "max_uts_namespaces",
            &[
                "-e",
                r#"try { spawn("true", #{ns: ["uts"]}); } catch (e) { print(e.errno); print(e.hint); }"#,
            ],
        );
        r.ok();
        let lines = r.lines();
        assert_eq!(
            lines.first().map(String::as_str),
            Some("ENOSPC"),
            "{lines:?}"
        );
        assert!(
            lines
                .get(1)
                .is_some_and(|h| h.contains("user.max_uts_namespaces is 0")),
            "{lines:?}"
        );
        let text = with_zero_limit("max_uts_namespaces", &["--doctor"]);
        text.ok();
        assert!(
            text.stdout
                .lines()
                .any(|l| l.starts_with("  NO  user.max_uts_namespaces")
                    && l.trim_end().ends_with(" 0")),
            "{}",
            text.stdout
        );
    });
}

#[test]
fn doctor_usage_errors() {
    guarded(|| {
        for args in [
            &["--json"][..],
            &["--doctor", "--yaml"],
            &["--doctor", "--json", "x"],
        ] {
            let r = util::run(args);
            r.expect_code(2);
            assert!(r.stderr.contains("--doctor"), "{args:?}: {}", r.stderr);
        }
    });
}
