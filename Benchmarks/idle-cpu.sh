#!/usr/bin/env bash
# The CPU a daemon uses while nothing happens, inside the kernel lab VM:
#   Tests/KernelLab/kernel-lab run [--env VIGIL_BINS="DIR1 DIR2"] [--env ROUNDS=2] Benchmarks/idle-cpu.sh
# 1,000 virtual servers × 10 real servers programmed (DR, no checkers, no traffic: a standby director's
# table), each daemon alone in a namespace with its default settings; once every real server is in the kernel
# and 8 s more have passed, the CPU of the daemon and all its processes over WINDOW (20) s. What the time buys is
# counted too: for Vigil the drift check's dumps and the traffic-counter reads' real-server dumps over the
# window (vigilctl status --json); keepalived reads neither (no drift repair; counters only for SNMP).
# VIGIL_BINS: one or more directories holding vigild and vigilctl (default: the package's release build), taken in
# turn ROUNDS times in one boot, then keepalived once per round.
set -uo pipefail
# shellcheck source=Benchmarks/lib.sh
source "$(dirname "$0")/lib.sh"
WORK=$(mktemp -d /tmp/bench-idle.XXXXXX)
WINDOW=${WINDOW:-20}
SERVICES=${SERVICES:-1000}
BINS=${VIGIL_BINS:-$ROOT/.build-package/release}
D="ip netns exec bench-idle"
DAEMON=

cleanup() {
  [[ -n $DAEMON ]] && kill "$DAEMON" 2>/dev/null
  ip netns pids bench-idle 2>/dev/null | xargs -r kill -9
  ip netns del bench-idle 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
modprobe ip_vs
ip netns add bench-idle
ip -n bench-idle link set lo up

{
  echo 'global_defs { router_id bench }'
  for ((s = 0; s < SERVICES; s++)); do
    printf 'virtual_server 192.0.2.%d %d {\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n' $((s % 250 + 1)) $((80 + s / 250))
    for ((r = 0; r < 10; r++)); do printf '  real_server 198.51.100.%d 80 {\n    weight 1\n  }\n' $((11 + r)); done
    echo '}'
  done
} >"$WORK/idle.conf"

destinations() { $D grep -c -- '->' /proc/net/ip_vs; }
programmed() { (($(destinations) >= SERVICES * 10 + 1)); }
# vigil_counts DIR: "drift-check dumps + counter dumps" so far.
vigil_counts() {
  $D "$1/vigilctl" status --json --control-socket "$WORK/vigil.sock" 2>/dev/null | "$PY" -c '
import json, sys
w = [w for w in json.load(sys.stdin)["workers"] if w["role"] == "checker"][0]["checker"]
print(w["ipvsVerifyDumps"], w.get("ipvsCounterDumps", "n/a"))'
}

measure() { # NAME DIR
  local name=$1 dir=$2 before after c0 c1 t0 t1
  if [[ $name == keepalived ]]; then
    $D "$KEEPALIVED" -n -l -C -f "$WORK/idle.conf" -p "$WORK/d.pid" -c "$WORK/c.pid" -r "$WORK/v.pid" \
      >"$WORK/$name.log" 2>&1 &
  else
    $D "$dir/vigild" -n -l -C -f "$WORK/idle.conf" -p "$WORK/d.pid" -c "$WORK/c.pid" -r "$WORK/v.pid" \
      --control-socket "$WORK/vigil.sock" >"$WORK/$name.log" 2>&1 &
  fi
  DAEMON=$!
  if ! POLL=0.5 wait_until 300 programmed; then
    echo "bench: $name did not program $((SERVICES * 10)) real servers; its log:" >&2
    tail -n 20 "$WORK/$name.log" >&2
  else
    sleep 8
    local w0 w1
    [[ $name != keepalived ]] && before=$(vigil_counts "$dir") && w0=$(now_ms)
    c0=$(tree_cpu_ms "$DAEMON") t0=$(now_ms)
    sleep "$WINDOW"
    c1=$(tree_cpu_ms "$DAEMON") t1=$(now_ms)
    local work=""
    if [[ $name != keepalived ]]; then
      after=$(vigil_counts "$dir")
      w1=$(now_ms)
      read -r v0 d0 <<<"$before"
      read -r v1 d1 <<<"$after"
      local counted="n/a (not counted by this build)"
      [[ $d0 != n/a ]] && counted=$((d1 - d0))
      # The counts span from the first status read's answer to the second's end: longer than the CPU window.
      work="; in the $((w1 - w0)) ms between the status reads: drift-check dumps $((v1 - v0)), counter real-server dumps $counted"
    fi
    echo "bench: $name ($dir): CPU $((c1 - c0)) ms in $((t1 - t0)) ms$work; restarts $(grep -c 'restarting' "$WORK/$name.log")" >&2
  fi
  kill "$DAEMON" 2>/dev/null
  wait "$DAEMON" 2>/dev/null
  DAEMON=
  $D ipvsadm -C
}

for ((round = 1; round <= ${ROUNDS:-2}; round++)); do
  for dir in $BINS; do measure vigil "$dir"; done
  measure keepalived ""
done
