#!/usr/bin/env bash
# nsscript benchmarks, side by side with util-linux unshare, bubblewrap and
# a C program doing the same kernel work (bench/floor.c). Prints ratios:
# these machines are noisy, so only figures from one run are compared.
#
#   bench/run.sh            # full run (N=1000 in-script spawns)
#
# Sections: 1 one-shot start (interleaved pairs against unshare; hyperfine
# against the others), 2 in-script spawns per namespace set against the C
# floor, 3 spawn cost against the memory the script holds, 4 in_ns,
# 5 netns churn, 6 peak RSS.
#   N=200 RUNS=50 bench/run.sh   # quicker
#
# Needs root (the full namespace set as util-linux and bwrap run it), and
# hyperfine, bubblewrap, GNU time, gcc: installed with apt-get if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000}
RUNS=${RUNS:-200}
OUT=target/bench
mkdir -p "$OUT"

need() { command -v "$1" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }
need hyperfine hyperfine
need bwrap bubblewrap
need gcc gcc
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }

# The release binary, wherever the build configuration puts it.
NSS=$(cargo build --release --quiet --message-format=json-render-diagnostics | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("executable") and m["target"]["name"] == "nsscript":
        print(m["executable"])')
gcc -O2 -Wall -o "$OUT/floor" bench/floor.c

FULL_NSS='spawn("/bin/true", #{ns: ["user", "uts", "ipc", "pid", "net", "mount"], map_root: true, mount_proc: true}).wait()'
UNSHARE='unshare --user --map-root-user --uts --ipc --pid --net --mount --fork --mount-proc true'
BWRAP='bwrap --unshare-all --bind / / --proc /proc --dev /dev true'

echo "== machine"
echo "$(uname -r), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "nsscript $($NSS --version | cut -d' ' -f2), $(unshare --version), $(bwrap --version), $(hyperfine --version)"

echo
echo "== 1a. one-shot: nsscript FILE against unshare, full set (interleaved pairs)"
python3 bench/pairs.py "$RUNS" nsscript-file "$NSS bench/oneshot_full.rhai" unshare-full "$UNSHARE"

echo
echo "== 1b. one-shot (whole process, hyperfine, $RUNS runs each)"
hyperfine -N --warmup 20 --runs "$RUNS" --style none --export-json "$OUT/oneshot.json" \
    -n nsscript-full "$NSS -e '$FULL_NSS'" \
    -n unshare-full "$UNSHARE" \
    -n bwrap-full "$BWRAP" \
    -n c-floor-full "$OUT/floor full 1" \
    -n nsscript-e-1 "$NSS -e 1" \
    -n bin-true "/bin/true" >/dev/null
python3 - "$OUT/oneshot.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
m = {k: v["mean"] * 1e3 for k, v in r.items()}
s = {k: v["stddev"] * 1e3 for k, v in r.items()}
for k in m:
    print(f"  {k:<16} {m[k]:8.3f} ms ± {s[k]:.3f}")
def ratio(a, b, target):
    x = m[a] / m[b]
    print(f"  {a} / {b:<14} = {x:5.2f}x   (target <= {target}x) {'ok' if x <= target else 'MISSED'}")
ratio("nsscript-full", "unshare-full", 1.0)
ratio("nsscript-full", "bwrap-full", 0.5)
ratio("nsscript-e-1", "bin-true", 2.0)
ratio("nsscript-full", "c-floor-full", 99)
PY

echo
echo "== 2. in-script: $N spawns of /bin/true per namespace set (microseconds per spawn)"
printf "  %-8s %10s %10s %7s %s\n" set nsscript c-floor ratio target
for set in none user mount uts ipc pid net cgroup full; do
    a=$($NSS bench/spawn_loop.rhai "$set" "$N")
    b=$("$OUT/floor" "$set" "$N")
    case $set in full) t=1.10 ;; none|uts|ipc|pid) t=1.15 ;; *) t=- ;; esac
    python3 -c "
a, b, t = float('$a'), float('$b'), '$t'
r = a / b
v = '' if t == '-' else ('ok' if r <= float(t) else 'MISSED')
print(f'  {\"$set\":<8} {a:10.1f} {b:10.1f} {r:6.2f}x {t:>5} {v}')"
done

echo
echo "== 3. spawn cost against the memory the script holds (microseconds per spawn)"
printf "  %-5s %6s %10s %12s %10s\n" set MiB nsscript c-fork c-vm
M=$((N / 4))
for set in uts full; do
    for mb in 0 64 512; do
        a=$($NSS bench/spawn_loop.rhai "$set" "$M" "$mb")
        f=$("$OUT/floor" "$set" "$M" "$mb" fork)
        v=$("$OUT/floor" "$set" "$M" "$mb" vm)
        printf "  %-5s %6s %10.1f %12.1f %10.1f\n" "$set" "$mb" "$a" "$f" "$v"
        echo "$set $mb $a $f $v" >>"$OUT/memory.txt"
    done
done
python3 - "$OUT/memory.txt" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    s, mb, a, f, v = line.split()
    rows[(s, int(mb))] = (float(a), float(f), float(v))
for s in ("uts", "full"):
    r = rows[(s, 512)][0] / rows[(s, 0)][0]
    print(f"  {s}: 512 MiB / 0 MiB = {r:.2f}x   (target <= 1.2x) {'ok' if r <= 1.2 else 'MISSED'}")
for mb in (0, 64, 512):
    a, f, v = rows[("full", mb)]
    print(f"  full at {mb} MiB: nsscript / C fork floor = {a / f:.2f}x (target <= 1.0x) {'ok' if a <= f else 'MISSED'}; / C vm floor = {a / v:.2f}x")
PY
rm -f "$OUT/memory.txt"

echo
echo "== 4. in_ns copies the interpreter (microseconds per closure)"
for mb in 0 512; do
    printf "  %4s MiB: %10.1f\n" "$mb" "$($NSS bench/in_ns_loop.rhai $((N / 10)) "$mb")"
done

echo
echo "== 5. churn: $N network namespaces created and dropped in one script"
a=$($NSS bench/netns_churn.rhai "$N")
b=$("$OUT/floor" net "$N")
python3 -c "a, b = float('$a'), float('$b'); print(f'  nsscript {a:.1f} us per netns, c-floor {b:.1f} us, ratio {a/b:.2f}x')"

echo
echo "== 6. peak RSS (GNU time, KiB)"
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
for name in nsscript-full unshare-full bwrap-full nsscript-e-1 c-floor-full; do
    case $name in
        nsscript-full) k=$(rss "$NSS" -e "$FULL_NSS") ;;
        unshare-full) k=$(rss $UNSHARE) ;;
        bwrap-full) k=$(rss $BWRAP) ;;
        nsscript-e-1) k=$(rss "$NSS" -e 1) ;;
        c-floor-full) k=$(rss "$OUT/floor" full 1) ;;
    esac
    printf "  %-16s %6s KiB\n" "$name" "$k"
done
k=$(rss "$NSS" -e "$FULL_NSS")
python3 -c "k = int('$k'); print(f'  nsscript one-shot full spawn: {k/1024:.1f} MiB (target <= 8 MiB) ' + ('ok' if k <= 8192 else 'MISSED'))"
