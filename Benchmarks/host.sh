#!/usr/bin/env bash
# Benchmarks that run between network namespaces on this host's kernel (no IPVS needed):
#   6a. memory (PSS of all the daemon's processes) with a VRRP-only configuration of 20 instances;
#   6b. the CPU of the same daemon idle (20 instances as MASTER), with the adverts it sent counted on the wire;
#   6c. memory over 300 reloads of a 1,000 × 10 checker configuration (Vigil only: keepalived's checker needs IPVS);
#   7.  VRRP worker restart: kill -9 of the VRRP process → the first advertisement of its successor
#       (median and p99 over BENCH_KILLS kills), seen on the wire by a capture in the peer namespace.
# Vigil and keepalived run one after the other on the same configuration file.
set -uo pipefail
# shellcheck source=Benchmarks/lib.sh
source "$(dirname "$0")/lib.sh"
WORK=$(mktemp -d /tmp/bench-host.XXXXXX)
KILLS=${BENCH_KILLS:-50}
A="ip netns exec bench-a"
declare -A memory idle_cpu restart_median restart_p99

cleanup() {
  stop_daemon
  for ns in bench-a bench-b bench-hc bench-hr; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9
    ip netns del "$ns" 2>/dev/null
  done
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

# BENCH_SECTIONS picks sections (default all): memory idle restart checks reloads.
section() { [[ " ${BENCH_SECTIONS:-memory idle restart checks reloads} " == *" $1 "* ]]; }

# ---- 6a: memory, 20 VRRP instances
if section memory; then
vrrp_config 20 >"$WORK/vrrp20.conf"
for daemon in ${BENCH_DAEMONS:-vigil keepalived}; do
  samples=() kib=() queried=() quiet=()
  for ((run = 0; run < ${BENCH_RUNS:-5}; run++)); do
    start_daemon "$daemon" "$WORK/vrrp20.conf"
    wait_until 30 holds 203.0.113.20
    # The steady state, for both daemons alike: Vigil's processes trim once more 10 s after the load
    # (MemoryTrim.settleDelay); keepalived's size does not move after its start.
    sleep 15
    kib+=($(pss_kib "$DAEMON"))
    samples+=($((kib[-1] / 1024)))
    ((run == 0)) && "$ROOT/Benchmarks/pss-breakdown.sh" "$DAEMON" >&2
    if [[ $daemon == vigil ]]; then
      # An operator's `vigilctl status`: the watchdog gives back what answering it ran 10 s after the last request.
      "$BIN/vigilctl" status --control-socket "$WORK/vigil.sock" >/dev/null
      sleep 2
      queried+=("$(pss_kib "$DAEMON")")
      sleep 13
      quiet+=("$(pss_kib "$DAEMON")")
    fi
    stop_daemon
  done
  echo "bench: $daemon memory with 20 instances: ${samples[*]} MiB (${kib[*]} KiB)" >&2
  [[ $daemon == vigil ]] &&
    echo "bench: vigil memory 2 s after a vigilctl status: ${queried[*]} KiB; 15 s after: ${quiet[*]} KiB" >&2
  memory[$daemon]=$(median "${samples[@]}")
done
row "Memory, 20 VRRP instances (PSS of all processes, median of ${BENCH_RUNS:-5} starts)" "${memory[vigil]:-n/a} MiB" \
  "${memory[keepalived]:-n/a} MiB" "MiB (lower is better)" "scripts/bench host"
fi

# ---- 6b: idle CPU, 20 VRRP instances as MASTER (advert_int 1): the daemon's CPU (every process) over IDLE_SECONDS
#         (60) once settled, and the work it did: VRRP adverts captured on the wire in the peer namespace.
if section idle; then
IDLE_SECONDS=${BENCH_IDLE_SECONDS:-60}
[[ -f $WORK/vrrp20.conf ]] || vrrp_config 20 >"$WORK/vrrp20.conf"
for daemon in ${BENCH_DAEMONS:-vigil keepalived}; do
  cpu=() parent=() adverts=() oncpu=()
  for ((run = 0; run < ${BENCH_RUNS:-5}; run++)); do
    start_daemon "$daemon" "$WORK/vrrp20.conf"
    wait_until 30 holds 203.0.113.20
    sleep 15 # past the start-up, the announcements and Vigil's settling trim (MemoryTrim.settleDelay)
    ip netns exec bench-b tcpdump -l -n -i eth0 'ip proto 112' >"$WORK/idle-adverts.txt" 2>/dev/null &
    capture=$!
    sleep 1
    # The first process and its first child (Vigil's VRRP worker, keepalived's VRRP child), to the nanosecond too.
    child=$(pgrep -P "$DAEMON" | head -1)
    c0=$(tree_cpu_ms "$DAEMON") p0=$(cpu_ticks "$DAEMON") lines0=$(wc -l <"$WORK/idle-adverts.txt")
    n0=$(on_cpu_ns "$DAEMON") k0=$(on_cpu_ns "$child")
    sleep "$IDLE_SECONDS"
    c1=$(tree_cpu_ms "$DAEMON") p1=$(cpu_ticks "$DAEMON") lines1=$(wc -l <"$WORK/idle-adverts.txt")
    n1=$(on_cpu_ns "$DAEMON") k1=$(on_cpu_ns "$child")
    kill "$capture" 2>/dev/null
    wait "$capture" 2>/dev/null
    cpu+=($((c1 - c0)))
    parent+=($(((p1 - p0) * 1000 / $(getconf CLK_TCK))))
    adverts+=($((lines1 - lines0)))
    oncpu+=("$(((n1 - n0) / 1000000))/$(((k1 - k0) / 1000000))")
    stop_daemon
  done
  echo "bench: $daemon idle, 20 instances, $IDLE_SECONDS s: CPU ${cpu[*]} ms (its first process ${parent[*]} ms), adverts on the wire ${adverts[*]}; on a CPU (schedstat), first process / its first child: ${oncpu[*]} ms" >&2
  idle_cpu[$daemon]="$(median "${cpu[@]}") ms ($(median "${parent[@]}") ms in its first process; $(median "${adverts[@]}") adverts on the wire)"
done
row "Idle, 20 VRRP instances as MASTER (advert_int 1), $IDLE_SECONDS s once settled: CPU of all processes (median of ${BENCH_RUNS:-5} starts)" \
  "${idle_cpu[vigil]:-n/a}" "${idle_cpu[keepalived]:-n/a}" "ms (lower is better)" "scripts/bench host"
fi

# ---- 7: VRRP worker kill -9 → the successor's first advertisement on the wire
if section restart; then
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
fi

# The checker benchmarks' farm: namespaces bench-hc (the daemon, 198.51.100.1) and bench-hr (10 real servers,
# 198.51.100.11-20, port 80 answered by 4 accept loops, SYNs counted by nftables), and $WORK/checks10k.conf:
# 1,000 virtual servers × 10 real servers with TCP_CHECK, delay_loop 1.
checker_farm_up() {
  ip netns add bench-hc && ip netns add bench-hr
  ip -n bench-hc link set lo up && ip -n bench-hr link set lo up
  ip link add hc0 netns bench-hc type veth peer name hr0 netns bench-hr
  ip -n bench-hc addr add 198.51.100.1/24 dev hc0 && ip -n bench-hc link set hc0 up
  for i in $(seq 11 20); do ip -n bench-hr addr add "198.51.100.$i/24" dev hr0; done
  ip -n bench-hr link set hr0 up
  LISTENERS=()
  for _ in 1 2 3 4; do
    ip netns exec bench-hr "$PY" -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("0.0.0.0", 80)); s.listen(4096)
while True:
    c, _ = s.accept(); c.close()' &
    LISTENERS+=($!)
  done
  count_syns bench-hr
  host_syns() { syns bench-hr; }
  {
    echo 'global_defs { router_id bench }'
    for ((s = 0; s < 1000; s++)); do
      printf 'virtual_server 192.0.2.%d %d {\n  delay_loop 1\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n' \
        $((s % 250 + 1)) $((80 + s / 250))
      for ((r = 0; r < 10; r++)); do
        printf '  real_server 198.51.100.%d 80 {\n    TCP_CHECK {\n      connect_timeout 1\n      retry 1\n    }\n  }\n' $((11 + r))
      done
      printf '}\n'
    done
  } >"$WORK/checks10k.conf"
}
checker_farm_down() {
  for p in "${LISTENERS[@]}"; do kill "$p" 2>/dev/null; done
  for ns in bench-hc bench-hr; do ip netns pids "$ns" 2>/dev/null | xargs -r kill -9; ip netns del "$ns" 2>/dev/null; done
}

# ---- 8: 10,000 TCP checks a second on this host (no IPVS here: the checker says so once and keeps checking),
#         1,000 virtual servers × 10 real servers, delay_loop 1, for CHECK_SECONDS (60): checks that reached the
#         real servers (SYNs counted by nftables there), their lateness (Vigil's own p50/p99), CPU. keepalived's
#         checker process exits without IPVS, so this figure is Vigil's alone.
if section checks; then
CHECK_SECONDS=${BENCH_HOST_CHECK_SECONDS:-60}
checker_farm_up
ip netns exec bench-hc "$BIN/vigild" -n -C -f "$WORK/checks10k.conf" -p "$WORK/d.pid" -c "$WORK/c.pid" \
  -r "$WORK/v.pid" --control-socket "$WORK/vigil.sock" >"$WORK/vigil-checks.log" 2>&1 &
DAEMON=$!
sleep 15
host_status() { "$BIN/vigilctl" status --json --control-socket "$WORK/vigil.sock" 2>/dev/null; }
c0=$(tree_cpu_ms "$DAEMON") t0=$(now_ms) s0=$(host_syns)
sleep "$CHECK_SECONDS"
c1=$(tree_cpu_ms "$DAEMON") t1=$(now_ms) s1=$(host_syns)
stats=$(host_status | "$PY" -c 'import json,sys
s = json.load(sys.stdin)
c = [w.get("checker") for w in s["workers"] if w.get("checker")][0]
print("%.1f %.1f %d %d %d" % (c["latenessP50Milliseconds"], c["latenessP99Milliseconds"], c["checksFailed"], c["checksNotRun"],
  sum(w["restartCount"] for w in s["workers"])))')
read -r late50 late99 failed notrun restarts <<<"$stats"
rate=$(awk -v n=$((s1 - s0)) -v t=$((t1 - t0)) 'BEGIN {printf "%d", n * 1000 / t}')
cpu=$(awk -v c=$((c1 - c0)) -v t=$((t1 - t0)) 'BEGIN {printf "%.2f", c / t}')
echo "bench: host checks: $((s1 - s0)) SYNs in $((t1 - t0)) ms ($rate/s), CPU $((c1 - c0)) ms ($cpu cores), lateness p50 $late50 ms p99 $late99 ms, $failed failed, $notrun not run, $restarts restarts" >&2
kill "$DAEMON" 2>/dev/null
wait_until 20 bash -c "! kill -0 $DAEMON 2>/dev/null"
DAEMON=""
checker_farm_down
row "TCP checks a second sustained on the host (1,000 × 10, delay_loop 1: 10,000/s offered; SYNs at the real servers, $CHECK_SECONDS s)" \
  "$rate/s" "n/a (its checker needs IPVS)" "checks/s" "scripts/bench host"
row "… their lateness (due → started), p50 / p99, and the CPU used (cores)" \
  "$late50 / $late99 ms, $cpu cores" "n/a" "ms, cores" "scripts/bench host"
fi

# ---- 6c: memory over 300 reloads of the 1,000 × 10 checker configuration (issue 13: PSS after the last reload ≤ PSS
#          after the first + 5%). SIGHUPs alternate between the file and a copy with one weight changed, so every
#          reload is parsed, diffed and sent to the checker as a change; the next one is sent once the watchdog has
#          counted the previous one (vigilctl status: reloadsApplied), 1 s later. PSS is read 5 s after reload 1 and
#          after reload RELOADS. No IPVS on this host: the checker keeps checking and its IPVS writes fail, as in 8;
#          keepalived's checker exits without IPVS, so the figure is Vigil's alone (the kernel lab has IPVS).
if section reloads; then
RELOADS=${BENCH_RELOADS:-300}
checker_farm_up
sed '0,/real_server 198.51.100.11 80 {/s//real_server 198.51.100.11 80 {\n    weight 7/' "$WORK/checks10k.conf" \
  >"$WORK/checks10k-weight.conf"
cp "$WORK/checks10k.conf" "$WORK/active.conf"
ip netns exec bench-hc "$BIN/vigild" -n -C -f "$WORK/active.conf" -p "$WORK/d.pid" -c "$WORK/c.pid" \
  -r "$WORK/v.pid" --control-socket "$WORK/vigil.sock" >"$WORK/vigil-reloads.log" 2>&1 &
DAEMON=$!
reloads_applied() {
  "$BIN/vigilctl" status --json --control-socket "$WORK/vigil.sock" 2>/dev/null |
    "$PY" -c 'import json,sys; print(json.load(sys.stdin)["reloadsApplied"])' 2>/dev/null
}
applied_at_least() { (($(reloads_applied || echo -1) >= $1)); }
wait_until 60 applied_at_least 0 && sleep 10
pss_start=$(pss_kib "$DAEMON")
pss_first="" refused=0
for ((n = 1; n <= RELOADS; n++)); do
  if ((n % 2)); then cp "$WORK/checks10k-weight.conf" "$WORK/active.conf"; else cp "$WORK/checks10k.conf" "$WORK/active.conf"; fi
  kill -HUP "$DAEMON"
  if ! POLL=0.1 wait_until 60 applied_at_least "$n"; then
    echo "bench: reload $n not applied within 60 s; the log:" >&2
    tail -n 20 "$WORK/vigil-reloads.log" >&2
    refused=1
    break
  fi
  sleep 1
  if ((n == 1)); then
    sleep 3
    pss_first=$(pss_kib "$DAEMON")
    "$ROOT/Benchmarks/pss-breakdown.sh" "$DAEMON" >&2
  fi
done
sleep 3
pss_last=$(pss_kib "$DAEMON")
"$ROOT/Benchmarks/pss-breakdown.sh" "$DAEMON" >&2
restarts=$("$BIN/vigilctl" status --json --control-socket "$WORK/vigil.sock" 2>/dev/null |
  "$PY" -c 'import json,sys; print(sum(w["restartCount"] for w in json.load(sys.stdin)["workers"]))')
echo "bench: reloads: PSS at start $pss_start KiB, after reload 1 ${pss_first:-n/a} KiB, after reload $((n - 1)) $pss_last KiB ($restarts worker restarts)" >&2
kill "$DAEMON" 2>/dev/null
wait_until 20 bash -c "! kill -0 $DAEMON 2>/dev/null"
DAEMON=""
checker_farm_down
growth=n/a
[[ -n $pss_first && $refused == 0 ]] && growth=$(awk -v a="$pss_first" -v b="$pss_last" 'BEGIN {printf "%+.1f%%", (b - a) * 100 / a}')
row "Memory over $RELOADS SIGHUP reloads of the 1,000 × 10 checker config on the host (PSS of all processes after reload 1 → after reload $RELOADS)" \
  "$((${pss_first:-0} / 1024)) → $((pss_last / 1024)) MiB ($growth)" "n/a (its checker needs IPVS)" "MiB (≤ +5%)" "scripts/bench host"
fi
