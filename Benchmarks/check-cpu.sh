#!/usr/bin/env bash
# check-cpu.sh: where a checker's CPU goes at 1,000 TCP checks a second (100 x 10 TCP_CHECK, delay_loop 1), for vigild
# and keepalived 2.2.7 one after the other in one VM boot. For each, from its checker process:
#   - checks done (SYNs counted by nftables at the real servers) and its user and system CPU over WINDOW (20) s, as
#     seconds per 1,000 checks: what issue 12's "CPU per 1,000 checks" line divides;
#   - where it ran (perf record -e cpu-clock, 10 s): the kernel's share and the top symbols;
#   - its system calls per check (strace -c, 10 s: strace slows the process, the ratios hold).
# Run in the kernel lab (it needs IPVS):
#   Tests/KernelLab/kernel-lab run --env VIGIL_BIN=$PWD/.build-package/release Benchmarks/check-cpu.sh
# Namespaces bench-d (the director) and bench-r (10 real servers, 198.51.100.11-20:80, one accept loop).
set -uo pipefail
# shellcheck source=Benchmarks/lib.sh
source "$(dirname "$0")/lib.sh"
BIN=${VIGIL_BIN:-/work/main/.build-package/release}
WINDOW=${WINDOW:-20}
W=$(mktemp -d /tmp/cc.XXXX)
director_and_servers "$W"
farm_config 100 10 "TCP_CHECK { connect_timeout 1 retry 1 }" >"$W/c.conf"
count_syns
# per_thousand MS CHECKS: seconds of CPU per 1,000 checks.
per_thousand() { awk -v ms="$1" -v n="$2" 'BEGIN {printf "%.3f", ms / n}'; }
for who in vigil keepalived; do
  if [[ $who == vigil ]]; then
    ip netns exec bench-d "$BIN/vigild" -n -l -C -f "$W/c.conf" -p "$W/d.pid" -c "$W/c.pid" -r "$W/v.pid" \
      --control-socket "$W/s.sock" >"$W/$who.log" 2>&1 &
  else
    ip netns exec bench-d keepalived -n -l -C -f "$W/c.conf" -p "$W/d.pid" -c "$W/c.pid" -r "$W/v.pid" \
      >"$W/$who.log" 2>&1 &
  fi
  sleep 20
  checker=$(cat "$W/c.pid")
  u0=$(tree_cpu_ms "$checker" user) s0=$(tree_cpu_ms "$checker" system) n0=$(syns) t0=$(now_ms)
  sleep "$WINDOW"
  u1=$(tree_cpu_ms "$checker" user) s1=$(tree_cpu_ms "$checker" system) n1=$(syns) t1=$(now_ms)
  user=$((u1 - u0)) system=$((s1 - s0)) checks=$((n1 - n0))
  echo "bench: $who: $checks checks at the real servers in $((t1 - t0)) ms; checker CPU user $user ms, system $system ms;" \
    "per 1,000 checks: user $(per_thousand $user $checks) s, system $(per_thousand $system $checks) s," \
    "total $(per_thousand $((user + system)) $checks) s"
  perf record -q -e cpu-clock -g -p "$checker" -o "$W/perf.$who" -- sleep 10 2>/dev/null
  echo "bench: $who: where its CPU went (perf, cpu-clock, 10 s):"
  perf report -i "$W/perf.$who" --no-children --sort dso -g none 2>/dev/null | grep -v '^#' | grep . | head -4
  perf report -i "$W/perf.$who" --no-children --sort sym -g none 2>/dev/null | grep -v '^#' | grep . | head -15
  n2=$(syns)
  strace -c -f -p "$checker" -o "$W/strace.$who" &
  tracer=$!
  sleep 10
  n3=$(syns)
  kill -INT "$tracer" 2>/dev/null
  wait "$tracer"
  echo "bench: $who: system calls in 10 s under strace, $((n3 - n2)) checks:"
  head -20 "$W/strace.$who"
  kill "$(cat "$W/d.pid")"
  sleep 3
  ip netns exec bench-d ipvsadm -C
done
