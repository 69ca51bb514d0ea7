#!/usr/bin/env python3
"""Runs two commands alternately, RUNS times each, and prints the median
wall time of each and the ratio of the medians. Interleaving keeps the
machine's drift (other load, frequency) out of the comparison.

usage: bench/pairs.py RUNS NAME_A 'COMMAND A' NAME_B 'COMMAND B'
"""
import shlex
import statistics
import subprocess
import sys
import time


def once(argv):
    t = time.perf_counter()
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        sys.exit(f"{' '.join(argv)} exited {r.returncode}: {r.stderr.decode()[:400]}")
    return dt


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    runs = int(sys.argv[1])
    (na, a), (nb, b) = (sys.argv[2], shlex.split(sys.argv[3])), (sys.argv[4], shlex.split(sys.argv[5]))
    for _ in range(5):  # warm the page cache
        once(a), once(b)
    ta, tb = [], []
    for _ in range(runs):
        ta.append(once(a))
        tb.append(once(b))
    ma, mb = statistics.median(ta) * 1e3, statistics.median(tb) * 1e3
    print(f"  {na:<16} {ma:8.3f} ms (median of {runs})")
    print(f"  {nb:<16} {mb:8.3f} ms (median of {runs})")
    print(f"  {na} / {nb} = {ma / mb:.3f}x")


main()
