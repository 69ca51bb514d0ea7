#!/usr/bin/env bash
# Regenerates the documents made from the functions' own /// docs, so they
# say what the code does:
#
#   docs/reference.md   the function reference (nsscript --doc)
#   man/nsscript.1      the man page (nsscript --man)
#
#   scripts/gen-reference.sh            rewrite both
#   scripts/gen-reference.sh --check    exit 1 if either is out of date
#
# NSSCRIPT=path/to/nsscript uses that binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."

check=false
case "${1:-}" in
    --check) check=true ;;
    "") ;;
    *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nsscript() {
    if [ -n "${NSSCRIPT:-}" ]; then
        "$NSSCRIPT" "$@"
    else
        cargo run --quiet -- "$@"
    fi
}
nsscript --doc >"$tmp/reference.md"
nsscript --man >"$tmp/nsscript.1"

stale=0
for pair in "docs/reference.md:reference.md" "man/nsscript.1:nsscript.1"; do
    file=${pair%%:*}
    new=$tmp/${pair#*:}
    if cmp -s "$file" "$new"; then
        echo "$file: up to date"
    elif $check; then
        echo "$file: out of date; run scripts/gen-reference.sh" >&2
        diff -u "$file" "$new" | head -40 >&2 || true
        stale=1
    else
        mkdir -p "$(dirname "$file")"
        cp "$new" "$file"
        echo "$file: regenerated"
    fi
done
exit $stale
