#!/bin/sh
# Fuzzes nsscript's script front end and option decoding for a bounded time:
#   fuzz/run.sh [SECONDS]     (each target runs SECONDS, default 60)
# Targets: script (compile + error rendering of any text; nothing is run)
# and options (spawn_spec on arbitrary maps, id maps, /proc parsers).
# Needs cargo-fuzz (cargo install cargo-fuzz). On a stable toolchain
# RUSTC_BOOTSTRAP=1 lets cargo fuzz pass its nightly flags. Not run by CI.
# Crashes land in fuzz/artifacts/TARGET/; the corpus grows in fuzz/corpus/.
set -eu
secs=${1:-60}
case $secs in
    ''|*[!0-9]*) echo "usage: fuzz/run.sh [SECONDS]" >&2; exit 2 ;;
esac
cd "$(dirname "$0")"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "fuzz/run.sh: cargo-fuzz is missing: cargo install cargo-fuzz" >&2
    exit 2
fi
export RUSTC_BOOTSTRAP=1
# Seeds: the bundled scripts and modules.
mkdir -p corpus/script
for f in ../scripts/*/*.rhai ../scripts/*.rhai ../stdlib/*.rhai; do
    [ -f "$f" ] && cp "$f" corpus/script/ || true
done
for t in script options; do
    echo "== fuzzing $t for ${secs}s"
    cargo fuzz run -O "$t" -- -max_total_time="$secs" -rss_limit_mb=4096 -print_final_stats=1
done
