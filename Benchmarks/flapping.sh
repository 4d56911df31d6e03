#!/usr/bin/env bash
# flapping.sh: one real server going down and up in a large farm, and what each daemon spends on it. 1,000 services ×
# 10 real servers (10,000 in IPVS), one of them checked (198.51.100.11:80 of the first service, TCP_CHECK, delay_loop 1,
# connect_timeout 1, retry 0), the others unchecked. For WINDOW seconds (default 60) nftables at the real server drops
# its SYNs for 3 s, then lets them through for 3 s, and so on. Counted: the transitions each daemon logged, its
# processes' CPU over the window (and the watchdog's / keepalived parent's alone), and worker restarts; the real servers
# in IPVS at the end (all 10,000 once the last flap is over). Each build in VIGIL_BINS (directories holding vigild) and
# keepalived, one after the other in one VM boot; the figures are printed as `bench:` lines. In the kernel lab:
#   Tests/KernelLab/kernel-lab run --env VIGIL_BINS="OLD NEW" Benchmarks/flapping.sh
set -uo pipefail
# shellcheck source=Benchmarks/lib.sh
source "$(dirname "$0")/lib.sh"
WORK=$(mktemp -d /tmp/flap.XXXX)
director_and_servers "$WORK"
D="ip netns exec bench-d"
WINDOW=${WINDOW:-60}
read -r -a builds <<<"${VIGIL_BINS:-$BIN}"
farm_config 1000 10 $'TCP_CHECK {\n      connect_timeout 1\n      retry 0\n    }' first >"$WORK/flap.conf"
ip netns exec bench-r nft -f - <<'NFT'
table inet flap {
  chain input {
    type filter hook input priority 0; policy accept;
  }
}
NFT
flap() { # down|up
  if [[ $1 == down ]]; then
    ip netns exec bench-r nft add rule inet flap input ip daddr 198.51.100.11 tcp dport 80 drop
  else
    ip netns exec bench-r nft flush chain inet flap input
  fi
}
destinations() { $D cat /proc/net/ip_vs | grep -c -- '->'; }
ticks_ms() { echo $(($(cpu_ticks "$1") * 10)); } # one process, USER_HZ 100

for ((b = 0; b <= ${#builds[@]}; b++)); do
  if ((b < ${#builds[@]})); then
    name="vigil ${builds[$b]}"
    $D "${builds[$b]}/vigild" -n -l -C -f "$WORK/flap.conf" -p "$WORK/d.pid" -c "$WORK/c.pid" -r "$WORK/v.pid" \
      --control-socket "$WORK/vigil.sock" >"$WORK/log" 2>&1 &
  else
    name=keepalived
    $D "$KEEPALIVED" -n -l -C -f "$WORK/flap.conf" -p "$WORK/d.pid" -c "$WORK/c.pid" -r "$WORK/v.pid" \
      >"$WORK/log" 2>&1 &
  fi
  DAEMON=$!
  POLL=0.5 wait_until 600 bash -c "(( \$($D cat /proc/net/ip_vs | grep -c -- '->') >= 10001 ))" ||
    echo "bench: $name: not all 10,000 real servers in IPVS after 600 s" >&2
  sleep 15 # past the start's trims and first reports
  lines0=$(wc -l <"$WORK/log") all0=$(tree_cpu_ms "$DAEMON") parent0=$(ticks_ms "$DAEMON") t0=$(now_ms)
  end=$((SECONDS + WINDOW))
  while ((SECONDS < end)); do
    flap down
    sleep 3
    flap up
    sleep 3
  done
  all1=$(tree_cpu_ms "$DAEMON") parent1=$(ticks_ms "$DAEMON") t1=$(now_ms)
  # Vigil: "RS 198.51.100.11:80 of … DOWN (…)" / "UP"; keepalived: "Removing service [198.51.100.11]:tcp:80 …" / "Adding".
  transitions=$(tail -n +$((lines0 + 1)) "$WORK/log" | grep -F 198.51.100.11 |
    grep -cE " (DOWN|UP)( |$)|(Removing|Adding) service")
  sleep 5
  in_ipvs=$(($(destinations) - 1))
  restarts=$(grep -cE "killing it|restarting|Healthcheck child process.*died" "$WORK/log")
  cpu=$((all1 - all0)) parent=$((parent1 - parent0))
  echo "bench: $name: $transitions transitions logged in $((t1 - t0)) ms; CPU of all processes $cpu ms (watchdog or parent $parent ms); $restarts restarts; $in_ipvs real servers in IPVS after" >&2
  kill "$DAEMON" 2>/dev/null
  wait_until 60 bash -c "! kill -0 $DAEMON 2>/dev/null"
  $D ipvsadm -C
  flap up
done
