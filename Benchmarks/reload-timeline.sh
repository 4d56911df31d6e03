#!/usr/bin/env bash
# reload-timeline.sh: where a one-weight reload of the 1,000 × 10 file goes (kernel-lab.sh's "scale" reload), as a
# timeline of vigild's own log in ms since the SIGHUP, for each build of VIGIL_BINS (directories holding vigild), RUNS
# (2) starts each; and the SIGHUP → new weight in the kernel as `ipvsadm` sees it. Run in the kernel lab:
#   Tests/KernelLab/kernel-lab run --env VIGIL_BINS="DIR1 DIR2" [--env RUNS=3] Benchmarks/reload-timeline.sh
set -uo pipefail
# shellcheck source=Benchmarks/lib.sh
source "$(dirname "$0")/lib.sh"
W=$(mktemp -d /tmp/rt.XXXX)
ip netns add bench-d
trap 'ip netns del bench-d 2>/dev/null; rm -rf "$W"' EXIT
ip -n bench-d link set lo up
{
  echo 'global_defs { router_id bench }'
  for ((s = 0; s < 1000; s++)); do
    echo "virtual_server 192.0.2.$((s % 250 + 1)) $((80 + s / 250)) {"
    printf '  delay_loop 1\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n'
    for ((r = 0; r < 10; r++)); do printf '  real_server 198.51.100.%d 80 {\n    weight 1\n  }\n' $((11 + r)); done
    echo "}"
  done
} >"$W/scale.conf"
sed '0,/weight 1/s//weight 7/' "$W/scale.conf" >"$W/reload.conf"
# minflt PID: the process's minor page faults so far.
minflt() { awk '{print $10}' "/proc/$1/stat"; }
destinations() { ip netns exec bench-d cat /proc/net/ip_vs | grep -c -- '->'; }
for bin in ${VIGIL_BINS:-$PWD/.build-package/release}; do
  "$bin/vigild" --version >/dev/null
  for ((run = 1; run <= ${RUNS:-2}; run++)); do
    cp "$W/scale.conf" "$W/active.conf"
    ip netns exec bench-d "$bin/vigild" -n -l -D -f "$W/active.conf" -p "$W/d.pid" -c "$W/c.pid" -r "$W/v.pid" \
      --control-socket "$W/s.sock" 2>&1 | python3 -u -c '
import sys, time
for l in sys.stdin: print("%.3f %s" % (time.time(), l.rstrip()[:200]))' >"$W/log" &
    until (($(destinations) >= 10001)); do sleep 0.2; done
    sleep 3
    lines=$(wc -l <"$W/log")
    faults0="$(minflt "$(cat "$W/d.pid")") $(minflt "$(cat "$W/c.pid")")"
    cp "$W/reload.conf" "$W/active.conf"
    read -r took t0 < <(ip netns exec bench-d python3 "$(dirname "$0")/ipvs-weight-wait.py" "$(cat "$W/d.pid")" \
      192.0.2.1:80 198.51.100.11:80 7)
    faults1="$(minflt "$(cat "$W/d.pid")") $(minflt "$(cat "$W/c.pid")")"
    sleep 2
    echo "=== $bin run $run: SIGHUP → weight 7 in the kernel $took ms;" \
      "minor page faults meanwhile (watchdog, checker): $(python3 -c "a, b, c, d = map(int, '$faults0 $faults1'.split()); print(c - a, d - b)")"
    tail -n +"$((lines + 1))" "$W/log" | python3 -c '
import sys
t0 = float(sys.argv[1])
for l in sys.stdin:
    stamp, _, text = l.partition(" ")
    if any(k in text for k in ("SIGHUP", "reload", "applied", "sent", "decod", "report", "trim", "memory")):
        print("%7.0f %s" % ((float(stamp) - t0) * 1000, text.rstrip()[:150]))' "$t0" | head -25
    kill "$(cat "$W/d.pid")"
    sleep 3
    ip netns exec bench-d ipvsadm -C
  done
done
