#!/usr/bin/env bash
# Topologies: single(N) for N = 10, 50, 100, built and torn down (alone, and
# with pingall in between) by nsscript, by Mininet (`mn --switch lxbr
# --controller none --topo single,N`), and by an `ip netns add` + veth
# shell loop. Wall time of the whole command, best of RUNS runs; ratios
# against Mininet per host and against the ip loop.
#
#   bench/topo.sh            as root; installs Debian's mininet and
#                            bridge-utils first when mn is missing
#   RUNS=5 SIZES="10 50" bench/topo.sh
#
# Mininet and the ip loop ping all pairs one after the other with
# `ping -c1 -W1`, and past ~30 hosts most pings wait out their second (the
# kernel's neighbour table, shared by all namespaces, holds 1024 dynamic
# entries): their pingall runs only for PING_SIZES (default "10").
#
# Mininet puts its bridges and interfaces in the host's namespace: `mn -c`
# runs after each of its runs, and the script checks that `ip -o link`,
# `ip -o addr`, `ip route` and /run/netns are as they were at the start.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
SIZES=${SIZES:-"10 50 100"}
PING_SIZES=${PING_SIZES:-"10"}
[ "$(id -u)" = 0 ] || { echo "bench/topo.sh: run as root" >&2; exit 2; }

if ! command -v mn >/dev/null || ! command -v brctl >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        mininet bridge-utils iproute2 iputils-ping >/dev/null
fi
cargo build --release -q
NS=${NSSCRIPT:-target/x86_64-unknown-linux-gnu/release/nsscript}
[ -x "$NS" ] || NS=target/release/nsscript

host_state() { ip -o link; ip -o addr; ip route; ls /run/netns 2>/dev/null || true; }
before=$(host_state)
work=$(mktemp -d)
cleanup() {
    mn -c >/dev/null 2>&1 || true
    for n in $(ls /run/netns 2>/dev/null | grep -E '^nsb-' || true); do ip netns del "$n" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# The ip shell loop: what `ip netns` scripts do for single,N. Prefix nsb-
# keeps its namespaces apart from anyone else's.
cat >"$work/iploop.sh" <<'EOF'
#!/bin/sh
set -e
n=$1 ping=$2
ip netns add nsb-s1
ip -n nsb-s1 link add s1 type bridge
ip -n nsb-s1 link set s1 up
i=1
while [ "$i" -le "$n" ]; do
    ip netns add "nsb-h$i"
    ip -n "nsb-h$i" link set lo up
    ip -n nsb-s1 link add "s1-eth$i" type veth peer name "h$i-eth0" netns "nsb-h$i"
    ip -n nsb-s1 link set "s1-eth$i" master s1 up
    ip -n "nsb-h$i" addr add "10.0.0.$i/8" dev "h$i-eth0"
    ip -n "nsb-h$i" link set "h$i-eth0" up
    i=$((i + 1))
done
if [ "$ping" = 1 ]; then
    ok=0; all=0; i=1
    while [ "$i" -le "$n" ]; do
        j=1
        while [ "$j" -le "$n" ]; do
            if [ "$i" != "$j" ]; then
                all=$((all + 1))
                ip netns exec "nsb-h$i" ping -c1 -W1 -q "10.0.0.$j" >/dev/null 2>&1 && ok=$((ok + 1))
            fi
            j=$((j + 1))
        done
        i=$((i + 1))
    done
    echo "received $ok/$all"
fi
ip netns del nsb-s1
i=1
while [ "$i" -le "$n" ]; do ip netns del "nsb-h$i"; i=$((i + 1)); done
EOF

# nsscript: the same topology through import "net".
cat >"$work/topo.rhai" <<'EOF'
import "net" as net;
let n = parse_int(ARGS[0]);
let t = net::single(n);
if ARGS[1] == "1" {
    let r = t.pingall();
    print(`received ${r.received}/${r.pairs}`);
}
t.stop();
EOF

# best_of CMD...: the shortest wall time of RUNS runs, in seconds; the last
# run's "received" line is kept in $work/received.
best_of() {
    local best=""
    for _ in $(seq "$RUNS"); do
        local t0 t1 t
        t0=$(date +%s.%N)
        "$@" >"$work/out" 2>&1 || { echo "failed: $*" >&2; cat "$work/out" >&2; exit 1; }
        t1=$(date +%s.%N)
        t=$(echo "$t1 - $t0" | bc -l)
        if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
        grep -Eo 'received [0-9]+/[0-9]+|Results: [0-9]+% dropped \([0-9]+/[0-9]+ received\)' "$work/out" | tail -1 >"$work/received" || true
        mn -c >/dev/null 2>&1 || true
    done
    printf '%.3f' "$best"
}

mininet() { # N PING
    local test=none
    [ "$2" = 1 ] && test=pingall
    (cd "$work" && mn --switch lxbr --controller none --topo "single,$1" --test "$test")
}

printf '%-10s %-9s %10s %10s %10s %12s %12s  %s\n' topology test nsscript mininet 'ip loop' 'ns/mn host' 'ns/ip loop' 'received (ns | mn | ip)'
for n in $SIZES; do
    for ping in 0 1; do
        label=$([ "$ping" = 1 ] && echo "pingall" || echo "build+stop")
        ns=$(best_of "$NS" "$work/topo.rhai" "$n" "$ping"); ns_rx=$(cat "$work/received")
        if [ "$ping" = 1 ] && ! echo " $PING_SIZES " | grep -q " $n "; then
            printf '%-10s %-9s %9.3fs %10s %10s %12s %12s  %s\n' "single,$n" "$label" "$ns" - - - - "${ns_rx:--}"
            continue
        fi
        mn_t=$(best_of mininet "$n" "$ping"); mn_rx=$(cat "$work/received")
        ip_t=$(best_of sh "$work/iploop.sh" "$n" "$ping"); ip_rx=$(cat "$work/received")
        per_host=$(echo "($ns / $n) / ($mn_t / $n)" | bc -l)
        vs_ip=$(echo "$ns / $ip_t" | bc -l)
        printf '%-10s %-9s %9.3fs %9.3fs %9.3fs %11.3fx %11.3fx  %s | %s | %s\n' "single,$n" "$label" \
            "$ns" "$mn_t" "$ip_t" "$per_host" "$vs_ip" "${ns_rx:--}" "${mn_rx:--}" "${ip_rx:--}"
    done
done

after=$(host_state)
if [ "$before" != "$after" ]; then
    echo "bench/topo.sh: the host's links, addresses, routes or /run/netns changed:" >&2
    diff <(echo "$before") <(echo "$after") >&2 || true
    exit 1
fi
echo "host unchanged (ip -o link, ip -o addr, ip route, /run/netns)"
