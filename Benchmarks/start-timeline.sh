#!/usr/bin/env bash
# start-timeline.sh: where vigild's start goes, for 100 x 10 TCP_CHECK (the kernel lab's start benchmark), as a
# timeline of its own log (ms since the command ran), three starts; before them, the time of `vigild --version`,
# `vigild -t` and `keepalived -t` of the same file. Run in the kernel lab (it needs IPVS):
#   Tests/KernelLab/kernel-lab run --env VIGIL_BIN=$PWD/.build-package/release Benchmarks/start-timeline.sh
# With VIGIL_BINS (directories holding vigild), it compares instead: start → all 1,000 real servers in IPVS for each
# build and keepalived, one after the other, ROUNDS (5) rounds, each binary run once before (a first exec in the
# kernel lab reads the binary over 9p), then the median of each:
#   Tests/KernelLab/kernel-lab run --env VIGIL_BINS="/tmp/old /tmp/new" Benchmarks/start-timeline.sh
# Namespaces bench-d (the director) and bench-r (10 real servers, 198.51.100.11-20:80, one accept loop).
set -uo pipefail
# shellcheck source=Benchmarks/lib.sh
source "$(dirname "$0")/lib.sh"
BIN=${VIGIL_BIN:-/work/main/.build-package/release}
W=$(mktemp -d /tmp/sp.XXXX)
director_and_servers "$W"
sleep 0.5
{
echo 'global_defs { router_id bench }'
for ((s = 0; s < 100; s++)); do
  echo "virtual_server 192.0.2.$((s + 1)) 80 {"
  printf '  delay_loop 1\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n'
  for ((r = 0; r < 10; r++)); do
    echo "  real_server 198.51.100.$((11 + r)) 80 {"
    printf '    weight 1\n    TCP_CHECK {\n      connect_timeout 1\n      retry 1\n      delay_before_retry 1\n    }\n  }\n'
  done
  echo "}"
done
} > $W/c.conf
now() { date +%s%3N; }
# Lines with '->': the header's, then one per real server.
in_ipvs() { ip netns exec bench-d cat /proc/net/ip_vs | grep -c -- '->'; }
if [[ -n ${VIGIL_BINS:-} ]]; then
  declare -A times
  for bin in $VIGIL_BINS; do "$bin/vigild" --version >/dev/null; done
  keepalived --version >/dev/null 2>&1
  for ((round = 1; round <= ${ROUNDS:-5}; round++)); do
    for who in $VIGIL_BINS keepalived; do
      # Started and timed from inside the namespace by one process that reads /proc/net/ip_vs every 20 ms (a poll of
      # `ip netns exec … cat | grep` every 50 ms was processes starting all the time on the CPUs the daemon started on).
      if [[ $who == keepalived ]]; then
        command=(keepalived -n -l -C -f "$W/c.conf" -p "$W/d.pid" -c "$W/c.pid" -r "$W/v.pid")
      else
        command=("$who/vigild" -n -l -C -f "$W/c.conf" -p "$W/d.pid" -c "$W/c.pid" -r "$W/v.pid"
          --control-socket "$W/s.sock")
      fi
      took=$(ip netns exec bench-d python3 "$(dirname "$0")/ipvs-count-wait.py" 1000 "${command[@]}")
      times[$who]+="$took "
      pid=$(cat "$W/d.pid")
      kill "$pid"
      while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
      ip netns exec bench-d ipvsadm -C
    done
  done
  for who in $VIGIL_BINS keepalived; do
    echo "$who: start → all 1,000 in IPVS: ${times[$who]}ms (median $(tr ' ' '\n' <<<"${times[$who]}" | grep . | sort -n |
      awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}') ms)"
  done
  exit 0
fi
t=$(now); $BIN/vigild --version >/dev/null; echo "vigild --version: $(($(now) - t)) ms"
t=$(now); $BIN/vigild -t -f $W/c.conf >/dev/null 2>&1; echo "vigild -t (parse, check): $(($(now) - t)) ms"
t=$(now); keepalived -t -f $W/c.conf >/dev/null 2>&1; echo "keepalived -t: $(($(now) - t)) ms"
for run in 1 2 3; do
t0=$(now)
ip netns exec bench-d $BIN/vigild -n -l -D -f $W/c.conf -p $W/d.pid -c $W/c.pid -r $W/v.pid --control-socket $W/s.sock 2>&1 |
  python3 -u -c '
import sys,time
t0=int(sys.argv[1])/1000
for l in sys.stdin: print("%7.0f %s" % ((time.time()-t0)*1000, l.rstrip()[:160]))' $t0 > $W/log$run &
while (($(in_ipvs) < 1001)); do sleep 0.05; done
echo "run $run: all 1,000 in IPVS $(($(now) - t0)) ms"
grep -E "started|worker running|configured|IPVS|applied|hello|decoded|memory given" $W/log$run | grep -v "quorum\|TCP_CHECK\|check " | head -20
kill $(cat $W/d.pid); sleep 2; ip netns exec bench-d ipvsadm -C
done
