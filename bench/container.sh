#!/usr/bin/env bash
# Container start on one busybox root running /bin/true: nsscript (root,
# proc, minimal dev, pivot_root, init) against bubblewrap and runc, and
# oci-run.rhai against runc on the same bundle. Interleaved runs, paired
# medians (each round runs every command once; a ratio is the median of
# the per-round ratios).
#
#   bench/container.sh               # 200 rounds
#   ROUNDS=50 bench/container.sh     # quicker
#
# Needs root, busybox-static, bubblewrap and runc (installed with apt-get
# when missing). runc as root would make a cgroup per container: the whole
# run happens in a mount namespace of its own whose cgroup hierarchies are
# read-only, with runc --rootless true (it then ignores the cgroup it
# cannot make), so no cgroup is created, joined or written.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-200}
OUT=target/bench
mkdir -p "$OUT"

if [ "${1:-}" != "--inside" ]; then
    [ "$(id -u)" = 0 ] || { echo "bench/container.sh: run as root" >&2; exit 2; }
    need() { command -v "$1" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }
    need bwrap bubblewrap
    need runc runc
    [ -x /usr/bin/busybox ] || { apt-get update -qq && apt-get install -y -qq busybox-static >/dev/null; }
    # The release binary, wherever the build configuration puts it.
    NSS=$(cargo build --release --quiet --message-format=json-render-diagnostics | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("executable") and m["target"]["name"] == "nsscript":
        print(m["executable"])')
    export NSS
    exec unshare --mount --propagation private -- "$0" --inside
fi

for d in $(awk '$5 ~ "^/sys/fs/cgroup" {print $5}' /proc/self/mountinfo); do
    mount -o remount,ro,bind "$d"
done

WORK=$(mktemp -d /tmp/nsscript-bench-container.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
B=$WORK/bundle
ROOT=$B/rootfs
mkdir -p "$ROOT/bin" "$ROOT/proc" "$ROOT/dev"
cp /usr/bin/busybox "$ROOT/bin/busybox"
for a in sh true; do ln -s busybox "$ROOT/bin/$a"; done
(cd "$B" && runc spec)
python3 - "$B/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
json.dump(c, open(p, "w"), indent=1)
PY

NSS_RUN="spawn(\"/bin/true\", #{root: \"$ROOT\", ns: [\"user\", \"mount\", \"uts\", \"ipc\", \"pid\", \"net\", \"cgroup\"], map_root: true, mount_proc: true, dev: \"minimal\", init: true}).wait()"

echo "== machine"
echo "$(uname -r), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "nsscript $($NSS --version | cut -d' ' -f2), $(bwrap --version), $(runc --version | head -1)"
echo
echo "== container start, /bin/true on a busybox root ($ROUNDS rounds, interleaved)"

python3 - "$ROUNDS" "$OUT/container.json" \
    nsscript "$NSS" -e "$NSS_RUN" -- \
    bwrap bwrap --unshare-all --bind "$ROOT" / --proc /proc --dev /dev /bin/true -- \
    runc runc --rootless true --root "$WORK/state" run --bundle "$B" bench -- \
    oci-run "$NSS" oci-run.rhai --ignore linux.resources "$B" -- <<'PY'
import json, os, statistics, sys, time

rounds, out = int(sys.argv[1]), sys.argv[2]
cmds, cur = {}, None
args = sys.argv[3:]
while args:
    name = args.pop(0)
    argv = []
    while args[0] != "--":
        argv.append(args.pop(0))
    args.pop(0)
    cmds[name] = argv

null = os.open(os.devnull, os.O_RDWR)

def once(argv):
    t = time.perf_counter_ns()
    pid = os.posix_spawnp(argv[0], argv, os.environ,
                          file_actions=[(os.POSIX_SPAWN_DUP2, null, 0),
                                        (os.POSIX_SPAWN_DUP2, null, 1),
                                        (os.POSIX_SPAWN_DUP2, null, 2)])
    _, status = os.waitpid(pid, 0)
    dt = (time.perf_counter_ns() - t) / 1e6
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{argv} failed: {status}")
    return dt

for argv in cmds.values():          # warm-up: caches, page cache
    for _ in range(5):
        once(argv)
times = {n: [] for n in cmds}
names = list(cmds)
for r in range(rounds):
    order = names[r % len(names):] + names[:r % len(names)]
    for n in order:
        times[n].append(once(cmds[n]))

med = {n: statistics.median(v) for n, v in times.items()}
for n in names:
    q = statistics.quantiles(times[n], n=4)
    print(f"  {n:<10} median {med[n]:7.2f} ms  (quartiles {q[0]:.2f} - {q[2]:.2f})")

def ratio(a, b, target):
    x = statistics.median(p / q for p, q in zip(times[a], times[b]))
    verdict = "ok" if x <= target else "MISSED"
    print(f"  {a} / {b:<8} = {x:5.2f}x  (paired median; target <= {target}x) {verdict}")
    return x

print()
res = {
    "nsscript/bwrap": ratio("nsscript", "bwrap", 0.6),
    "nsscript/runc": ratio("nsscript", "runc", 1.0),
    "oci-run/runc": ratio("oci-run", "runc", 0.2),
}
json.dump({"median_ms": med, "ratios": res, "rounds": rounds}, open(out, "w"), indent=1)
PY
