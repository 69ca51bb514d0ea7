//! The bundled stdlib modules, found by `import` from any folder.

use crate::util::{self, eval, guarded, which};

/// `import "net"` wires two network namespaces with a veth pair; ping
/// (an independent witness) crosses it; a failing step removes the pair;
/// the host never sees a link.
#[test]
fn net_connects_two_namespaces_and_cleans_up_after_a_failure() {
    guarded(|| {
        if !util::is_root() {
            eprintln!("SKIP: moving a veth end into another process's namespace needs root here");
            return;
        }
        let Some(ping) = which("ping") else {
            eprintln!("SKIP: ping (iputils-ping) is not installed; .ci/run installs it");
            return;
        };
        let r = eval(&format!(
            r#"import "net" as net;
               let a = spawn(["sleep", "60"], #{{ns: ["net"]}});
               let b = spawn(["sleep", "60"], #{{ns: ["net"]}});
               net::connect(a.pid, "veth-a", "10.77.0.1/24", b.pid, "veth-b", "10.77.0.2/24");
               for l in net::links_of(a.pid) {{ print(`a ${{l.name}} ${{l.state}} ${{l.addrs.map(|x| x.local)}}`); }}
               for l in net::links_of(b.pid) {{ print(`b ${{l.name}} ${{l.state}}`); }}
               print(`ping ${{enter(a.pid, ["net"], ["{ping}", "-c", "1", "-W", "2", "10.77.0.2"]).code}}`);
               try {{
                   net::connect(a.pid, "va2", "10.77.1.1/99", b.pid, "vb2", "10.77.1.2/24");
               }} catch (e) {{
                   print(`failed ${{e.op}}`);
               }}
               print(`after a ${{net::links_of(a.pid).map(|l| l.name)}}`);
               print(`after b ${{net::links_of(b.pid).map(|l| l.name)}}`);
               print(`host ${{links().map(|l| l.name).contains("veth-a")}}`);"#,
            ping = ping.display()
        ));
        r.ok();
        let l = r.lines();
        assert!(
            l.iter()
                .any(|x| x.starts_with("a veth-a UP") && x.contains("10.77.0.1")),
            "{l:?}"
        );
        assert!(l.iter().any(|x| x == "b veth-b UP"), "{l:?}");
        assert!(
            l.contains(&"ping 0".to_string()),
            "ping crosses the pair: {l:?}"
        );
        assert!(l.contains(&"failed addr_add".to_string()), "{l:?}");
        assert!(
            l.contains(&r#"after a ["lo", "veth-a"]"#.to_string()),
            "va2 removed: {l:?}"
        );
        assert!(
            l.contains(&r#"after b ["lo", "veth-b"]"#.to_string()),
            "vb2 removed: {l:?}"
        );
        assert!(l.contains(&"host false".to_string()), "{l:?}");
    });
}

/// `import "NAME"` finds a stdlib module first, from any folder, even when
/// a file of that name lies next to the script; other names are files
/// relative to the script.
#[test]
fn stdlib_modules_come_first_then_files_next_to_the_script() {
    guarded(|| {
        let dir = std::env::temp_dir().join(format!("nsscript-stdlib-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("net.rhai"), "fn kinds(p) { \"the file\" }").expect("write");
        std::fs::write(dir.join("mine.rhai"), "fn hello() { \"mine\" }").expect("write");
        std::fs::write(
            dir.join("main.rhai"),
            "import \"net\" as n; import \"mine\" as m; print(n::kinds(pid())); print(m::hello());",
        )
        .expect("write");
        let r = util::run(&[dir.join("main.rhai").to_str().unwrap_or_default()]);
        let _ = std::fs::remove_dir_all(&dir);
        r.ok();
        assert_eq!(r.lines(), [r#"["net"]"#, "mine"]);
        let listed = util::run(&["--list"]);
        assert!(
            listed.stdout.contains("import \"net\""),
            "{}",
            listed.stdout
        );
    });
}
