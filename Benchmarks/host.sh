#!/usr/bin/env bash
# Benchmarks that run between network namespaces on this host's kernel (no IPVS needed):
#   6a. memory (PSS of all the daemon's processes) with a VRRP-only configuration of 20 instances;
#   7.  VRRP worker restart: kill -9 of the VRRP process → the first advertisement of its successor
#       (median and p99 over BENCH_KILLS kills), seen on the wire by a capture in the peer namespace.
# Vigil and keepalived run one after the other on the same configuration file.
set -uo pipefail
# shellcheck source=Benchmarks/lib.sh
source "$(dirname "$0")/lib.sh"
WORK=$(mktemp -d /tmp/bench-host.XXXXXX)
KILLS=${BENCH_KILLS:-50}
A="ip netns exec bench-a"
declare -A memory restart_median restart_p99

cleanup() {
  stop_daemon
  for ns in bench-a bench-b; do ip netns pids "$ns" 2>/dev/null | xargs -r kill -9; ip netns del "$ns" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add bench-a && ip netns add bench-b
ip -n bench-a link set lo up && ip -n bench-b link set lo up
ip link add eth0 netns bench-a type veth peer name eth0 netns bench-b
ip -n bench-a addr add 192.0.2.1/24 dev eth0 && ip -n bench-a link set eth0 up
ip -n bench-b addr add 192.0.2.2/24 dev eth0 && ip -n bench-b link set eth0 up

# vrrp_config INSTANCES: INSTANCES MASTER instances on eth0, VRIDs 1.., one VIP each (203.0.113.N).
vrrp_config() {
  local i
  echo 'global_defs { router_id bench }'
  for ((i = 1; i <= $1; i++)); do
    cat <<CONF
vrrp_instance VI_$i {
  state MASTER
  interface eth0
  virtual_router_id $i
  priority 150
  advert_int 1
  virtual_ipaddress { 203.0.113.$i/24 }
}
CONF
  done
}

DAEMON=""
start_daemon() { # NAME CONFIG
  if [[ $1 == vigil ]]; then
    $A "$BIN/vigild" -n -P -f "$2" -p "$WORK/d.pid" -c "$WORK/c.pid" -r "$WORK/v.pid" \
      --control-socket "$WORK/vigil.sock" >"$WORK/$1.log" 2>&1 &
  else
    $A "$KEEPALIVED" -n -P -f "$2" -p "$WORK/d.pid" -c "$WORK/c.pid" -r "$WORK/v.pid" >"$WORK/$1.log" 2>&1 &
  fi
  DAEMON=$!
}
stop_daemon() {
  [[ -n $DAEMON ]] || return 0
  kill "$DAEMON" 2>/dev/null
  wait_until 20 bash -c "! kill -0 $DAEMON 2>/dev/null"
  DAEMON=""
}
holds() { $A ip -o addr show dev eth0 | grep -q " $1/"; }

# ---- 6a: memory, 20 VRRP instances
vrrp_config 20 >"$WORK/vrrp20.conf"
for daemon in ${BENCH_DAEMONS:-vigil keepalived}; do
  samples=()
  for ((run = 0; run < ${BENCH_RUNS:-5}; run++)); do
    start_daemon "$daemon" "$WORK/vrrp20.conf"
    wait_until 30 holds 203.0.113.20
    sleep 3
    samples+=($(($(pss_kib "$DAEMON") / 1024)))
    stop_daemon
  done
  echo "bench: $daemon memory with 20 instances: ${samples[*]} MiB" >&2
  memory[$daemon]=$(median "${samples[@]}")
done
row "Memory, 20 VRRP instances (PSS of all processes, median of ${BENCH_RUNS:-5} starts)" "${memory[vigil]:-n/a} MiB" \
  "${memory[keepalived]:-n/a} MiB" "MiB (lower is better)" "scripts/bench host"

# ---- 7: VRRP worker kill -9 → the successor's first advertisement on the wire
vrrp_config 1 >"$WORK/vrrp1.conf"
for daemon in ${BENCH_DAEMONS:-vigil keepalived}; do
  start_daemon "$daemon" "$WORK/vrrp1.conf"
  wait_until 30 holds 203.0.113.1
  ip netns exec bench-b tcpdump -l -n -tt -i eth0 'ip proto 112' >"$WORK/adverts.txt" 2>/dev/null &
  capture=$!
  sleep 1.5
  samples=()
  for ((k = 0; k < KILLS; k++)); do
    worker=$(cat "$WORK/v.pid")
    killed_at=$(date +%s.%N)
    kill -9 "$worker"
    # The successor's first advert: the first one captured after the kill.
    if wait_until 15 bash -c "awk -v t=$killed_at '\$1 > t {found=1} END {exit !found}' '$WORK/adverts.txt'"; then
      first=$(awk -v t="$killed_at" '$1 > t {print $1; exit}' "$WORK/adverts.txt")
      samples+=("$(awk -v a="$first" -v b="$killed_at" 'BEGIN {printf "%d", (a - b) * 1000}')")
    fi
    wait_until 10 bash -c "[[ -s $WORK/v.pid && \$(cat $WORK/v.pid) != $worker ]] && kill -0 \$(cat $WORK/v.pid)"
    sleep 0.5
  done
  kill "$capture" 2>/dev/null
  restart_median[$daemon]=$(median "${samples[@]}")
  restart_p99[$daemon]=$(p99 "${samples[@]}")
  echo "$daemon: ${#samples[@]} of $KILLS restarts seen on the wire" >&2
  stop_daemon
done
row "VRRP worker kill -9 → successor's first advert on the wire (median of $KILLS)" \
  "${restart_median[vigil]:-n/a} ms" "${restart_median[keepalived]:-n/a} ms" "ms" "scripts/bench host"
row "VRRP worker kill -9 → successor's first advert (p99 of $KILLS)" \
  "${restart_p99[vigil]:-n/a} ms" "${restart_p99[keepalived]:-n/a} ms" "ms" "scripts/bench host"
