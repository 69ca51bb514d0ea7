#!/usr/bin/env bash
# Regenerates the function reference in README.md, the block between
# <!-- reference:start --> and <!-- reference:end -->, from `nsscript --doc`
# (the functions' own /// docs), so README says what the code does.
#
#   scripts/gen-reference.sh            rewrite README.md
#   scripts/gen-reference.sh --check    exit 1 if README.md is out of date
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

for marker in '<!-- reference:start -->' '<!-- reference:end -->'; do
    if [ "$(grep -cxF "$marker" README.md)" != 1 ]; then
        echo "$0: README.md must have exactly one line '$marker'" >&2
        exit 1
    fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -n "${NSSCRIPT:-}" ]; then
    "$NSSCRIPT" --doc >"$tmp/reference.md"
else
    cargo run --quiet -- --doc >"$tmp/reference.md"
fi

# Keep everything outside the markers; put the reference between them,
# with a blank line on each side so Markdown renders its headings.
awk -v ref="$tmp/reference.md" '
    $0 == "<!-- reference:start -->" {
        print; print ""
        while ((getline line < ref) > 0) print line
        print ""
        skip = 1; next
    }
    $0 == "<!-- reference:end -->" { skip = 0 }
    !skip { print }
' README.md >"$tmp/README.md"

if cmp -s README.md "$tmp/README.md"; then
    echo "README.md: the reference is up to date"
elif $check; then
    echo "README.md: the reference is out of date; run scripts/gen-reference.sh" >&2
    diff -u README.md "$tmp/README.md" | head -40 >&2 || true
    exit 1
else
    cp "$tmp/README.md" README.md
    echo "README.md: reference regenerated ($(grep -c '^#### ' "$tmp/reference.md") entries)"
fi
