//! Embeds scripts/demo/*.rhai, scripts/*.rhai and stdlib/*.rhai into the
//! binary, so `nsscript demo/uts.rhai`, `nsscript oci-run.rhai` and
//! `import "net"` work from any folder; and builds the init image (init/),
//! a static program without libc that the binary carries and runs as a
//! container's PID 1 (src/os/process/init.rs).

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

/// Compiles init/main.rs with the same rustc, for the same target, into
/// `OUT_DIR/nsscript-init`: no_std, no libc, no start files, static and
/// not position-independent, symbols stripped. Where the image has no
/// system call layer (any architecture but x86_64) the file is empty, and
/// spawn's `init` says so.
fn init_image(root: &str, out: &str) {
    let image = Path::new(out).join("nsscript-init");
    for f in ["init/main.rs", "init/pid1.rs", "src/os/raw.rs"] {
        println!("cargo:rerun-if-changed={root}/{f}");
    }
    let target = std::env::var("TARGET").unwrap_or_default();
    if !target.starts_with("x86_64-") || !target.contains("linux") {
        let _ = std::fs::write(&image, b"");
        return;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let mut c = std::process::Command::new(rustc);
    c.args(["--edition", "2021", "--crate-type", "bin", "--crate-name", "nsscript_init"])
        .args(["--target", &target])
        .args(["-C", "opt-level=s", "-C", "panic=abort", "-C", "debuginfo=0"])
        .args(["-C", "strip=symbols", "-C", "relocation-model=static"])
        .args(["-C", "target-feature=+crt-static"])
        .args(["-C", "link-arg=-nostartfiles", "-C", "link-arg=-nostdlib"])
        .args(["-C", "link-arg=-static", "-C", "link-arg=-Wl,--gc-sections"])
        .args(["-C", "link-arg=-Wl,--build-id=none"])
        .arg("-o")
        .arg(&image)
        .arg(format!("{root}/init/main.rs"))
        // Cargo's flags are for nsscript; the image takes none of them.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS");
    match c.output() {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "building the init image failed:\n{}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!("building the init image: cannot run rustc: {e}"),
    }
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
    init_image(&root, &out);
}
