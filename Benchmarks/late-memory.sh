#!/usr/bin/env bash
# late-memory.sh: 1,000 virtual servers × 10 real servers (kernel-lab.sh's "scale" configuration: no checkers, or
# TCP_CHECK on every real server with CHECKS=1), each build started twice: the time until all 10,000 are in the
# kernel, then the PSS of the watchdog and of the checker 2 s and 12 s after that (kernel-lab.sh reads it at 2 s only).
# Run in the kernel lab (it needs IPVS):
#   Tests/KernelLab/kernel-lab run --env VIGIL_BINS="DIR1 DIR2" Benchmarks/late-memory.sh
# Namespaces bench-d (the director) and bench-r (10 real servers, 198.51.100.11-20:80, one accept loop).
set -uo pipefail
W=$(mktemp -d /tmp/late-memory.XXXX)
# shellcheck source=Benchmarks/lib.sh
source "$(dirname "$0")/lib.sh"
director_and_servers "$W"
{
  echo 'global_defs { router_id bench }'
  for ((s = 0; s < 1000; s++)); do
    printf 'virtual_server 192.0.2.%d %d {\n  delay_loop 1\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n' \
      $((s % 250 + 1)) $((80 + s / 250))
    for ((r = 0; r < 10; r++)); do
      printf '  real_server 198.51.100.%d 80 {\n    weight 1\n' $((11 + r))
      [[ ${CHECKS:-0} == 1 ]] && printf '    TCP_CHECK {\n      connect_timeout 1\n      retry 1\n    }\n'
      printf '  }\n'
    done
    echo "}"
  done
} >"$W/c.conf"
pss() { for p in $(cat "$W/d.pid") $(cat "$W/c.pid"); do printf '%s ' "$(awk '/^Pss:/ {print $2}' /proc/"$p"/smaps_rollup)"; done; }
for bin in ${VIGIL_BINS:-/work/main/.build-package/release}; do
  for run in 1 2; do
    ip netns exec bench-d "$bin/vigild" -n -l -C -f "$W/c.conf" -p "$W/d.pid" -c "$W/c.pid" -r "$W/v.pid" \
      --control-socket "$W/s.sock" >"$W/log" 2>&1 &
    pid=$!
    t0=$(date +%s%3N)
    while (($(ip netns exec bench-d cat /proc/net/ip_vs | grep -c -- '->') < 10001)); do sleep 0.2; done
    t1=$(date +%s%3N)
    sleep 2; early=$(pss)
    sleep 10; late=$(pss)
    echo "$bin run $run: all 10,000 in the kernel after $((t1 - t0)) ms; PSS KiB (watchdog checker): +2 s $early; +12 s $late"
    kill "$pid"; wait "$pid"; ip netns exec bench-d ipvsadm -C
  done
done
