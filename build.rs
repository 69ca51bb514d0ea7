//! Embeds scripts/demo/*.rhai, scripts/*.rhai and stdlib/*.rhai into the
//! binary, so `nsscript demo/uts.rhai`, `nsscript oci-run.rhai` and
//! `import "net"` work from any folder.

use std::fmt::Write;
use std::path::Path;

fn list(dir: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".rhai"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn main() {
    let root = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let out = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    let mut code = String::new();
    for (konst, dir, prefix) in [
        ("DEMOS", "scripts/demo", "demo/"),
        ("SCRIPTS", "scripts", "/"),
        ("STDLIB", "stdlib", ""),
    ] {
        println!("cargo:rerun-if-changed={dir}");
        let _ = writeln!(code, "pub static {konst}: &[(&str, &str)] = &[");
        for n in list(&format!("{root}/{dir}")) {
            let path = format!("{root}/{dir}/{n}");
            println!("cargo:rerun-if-changed={path}");
            // Modules by name ("net"), scripts by file name ("oci-run.rhai"),
            // demos by their folder too ("demo/uts.rhai").
            let name = match prefix {
                "" => n.trim_end_matches(".rhai").to_string(),
                "/" => n.clone(),
                _ => format!("{prefix}{n}"),
            };
            let _ = writeln!(code, "    ({name:?}, include_str!({path:?})),");
        }
        let _ = writeln!(code, "];");
    }
    let _ = std::fs::write(Path::new(&out).join("bundled.rs"), code);
}
