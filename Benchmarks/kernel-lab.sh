#!/usr/bin/env bash
# Benchmarks that need IPVS, run inside the kernel lab VM (scripts/bench starts it):
#   3. checker CPU at 1,000 TCP checks/s (100 virtual services × 10 real servers, delay_loop 1), over 20 s;
#   4. a real server's death → its removal from IPVS, and its recovery → re-adding (median of 5);
#   5. IPVS programming: 1,000 services × 10 real servers from start to all in the kernel; SIGHUP
#      reload that changes one weight → the new weight in the kernel;
#   6b. memory (PSS of all the daemon's processes) with the 1,000 × 10 configuration.
# Vigil and keepalived run one after the other in the same VM, on the same configuration files.
set -uo pipefail
# shellcheck source=Benchmarks/lib.sh
source "$(dirname "$0")/lib.sh"
WORK=$(mktemp -d /tmp/bench-lab.XXXXXX)
RUNS=${BENCH_RUNS:-5}
D="ip netns exec bench-d"
PIDS=()
declare -A program memory reload cpu death recovery
reload_writes=

cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  stop_daemon
  for ns in bench-d bench-r; do ip netns pids "$ns" 2>/dev/null | xargs -r kill -9; ip netns del "$ns" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# Director bench-d (d0 198.51.100.1/24) and one real-server namespace bench-r holding ten real-server
# addresses 198.51.100.11-20, each answering TCP on port 80.
ip netns add bench-d && ip netns add bench-r
ip -n bench-d link set lo up && ip -n bench-r link set lo up
ip link add d0 netns bench-d type veth peer name r0 netns bench-r
ip -n bench-d addr add 198.51.100.1/24 dev d0 && ip -n bench-d link set d0 up
for i in $(seq 11 20); do ip -n bench-r addr add "198.51.100.$i/24" dev r0; done
ip -n bench-r link set r0 up
start_listener() {
  ip netns exec bench-r "$PY" -c '
import socket, selectors
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 80)); s.listen(4096)
while True:
    c, _ = s.accept(); c.close()' &
  LISTENER=$!
  PIDS+=("$LISTENER")
  sleep 0.5
}
start_listener

# config SERVICES REALSERVERS CHECK: keepalived.conf text; CHECK is "" or a checker block.
config() {
  local services=$1 reals=$2 check=$3 s r
  echo 'global_defs { router_id bench }'
  for ((s = 0; s < services; s++)); do
    echo "virtual_server 192.0.2.$((s % 250 + 1)) $((80 + s / 250)) {"
    echo "  delay_loop 1"
    echo "  lb_algo rr"
    echo "  lb_kind DR"
    echo "  protocol TCP"
    for ((r = 0; r < reals; r++)); do
      echo "  real_server 198.51.100.$((11 + r)) 80 {"
      echo "    weight 1"
      [[ -n $check ]] && echo "    $check"
      echo "  }"
    done
    echo "}"
  done
}

# Under TCG the checker worker stays busy for seconds while it loads 1,000 × 10 and programs IPVS, and the
# watchdog kills a worker that misses two heartbeats (default 1 s apart): give it 60 s instead here.
LAB_FLAGS="--heartbeat-interval 30000"
DAEMON=""
# Both daemons log to the console (-l) into $WORK/NAME.log: Vigil's IPVS write count is read from it.
start_daemon() { # NAME CONFIG
  if [[ $1 == vigil ]]; then
    # shellcheck disable=SC2086
    $D "$BIN/vigild" -n -l -C ${VIGIL_LAB_FLAGS-$LAB_FLAGS} -f "$2" -p "$WORK/d.pid" -c "$WORK/c.pid" -r "$WORK/v.pid" \
      --control-socket "$WORK/vigil.sock" >"$WORK/$1.log" 2>&1 &
  else
    $D "$KEEPALIVED" -n -l -C -f "$2" -p "$WORK/d.pid" -c "$WORK/c.pid" -r "$WORK/v.pid" >"$WORK/$1.log" 2>&1 &
  fi
  DAEMON=$!
}
stop_daemon() {
  [[ -n $DAEMON ]] || return 0
  kill "$DAEMON" 2>/dev/null
  wait_until 30 bash -c "! kill -0 $DAEMON 2>/dev/null"
  DAEMON=""
  $D ipvsadm -C
}
destinations() { $D cat /proc/net/ip_vs | grep -c -- '->' ; }
# /proc/net/ip_vs has a "-> RemoteAddress:Port" header line.
has_destinations() { (($(destinations) >= $1 + 1)); }

# One keyword per line: keepalived ignores the extra words of `connect_timeout 1 retry 1` on one line, Vigil
# refuses them (file:line), so a one-line block would not be the same configuration for both.
TCP_CHECK=$'TCP_CHECK {\n      connect_timeout 1\n      retry 1\n      delay_before_retry 1\n    }'

# BENCH_SECTIONS picks sections (default all): scale cpu death.
section() { [[ " ${BENCH_SECTIONS:-scale cpu death} " == *" $1 "* ]]; }

# ---- 5 and 6b: programming 1,000 × 10, reload of one weight, memory; RUNS fresh starts per daemon
if section scale; then
SERVICES=${BENCH_SERVICES:-1000} # fewer only for trying the script out
config "$SERVICES" 10 "" >"$WORK/scale.conf"
sed '0,/weight 1/s//weight 7/' "$WORK/scale.conf" >"$WORK/scale-reload.conf"
# applied_writes LOG FROM_LINE: the IPVS writes Vigil's checker logged ("applied N IPVS changes") after FROM_LINE.
applied_writes() { tail -n +"$(($2 + 1))" "$1" | awk '/applied [0-9]+ IPVS changes/ {for (i = 1; i < NF; i++) if ($i == "applied") n += $(i + 1)} END {print n + 0}'; }
for daemon in ${BENCH_DAEMONS:-vigil keepalived}; do
  programs=() memories=() reloads=() writes=()
  for ((run = 0; run < RUNS; run++)); do
    cp "$WORK/scale.conf" "$WORK/active.conf"
    t0=$(now_ms)
    start_daemon "$daemon" "$WORK/active.conf"
    # Poll every 100 ms: reading 10,000 destinations is itself slow under emulation.
    if POLL=0.1 wait_until 600 has_destinations $((SERVICES * 10)); then
      programs+=($(($(now_ms) - t0)))
      echo "bench: $daemon programmed in ${programs[-1]} ms; checker process CPU so far $(cpu_ticks "$(cat "$WORK/c.pid")") ticks of 1/$(getconf CLK_TCK) s" >&2
    else
      echo "bench: $daemon did not program $((SERVICES * 10)) destinations ($(destinations) - 1 in the kernel); its log:" >&2
      tail -n 20 "$WORK/$daemon.log" >&2
    fi
    sleep 2
    memories+=($(($(pss_kib "$DAEMON") / 1024)))
    ((run == 0)) && "$ROOT/Benchmarks/pss-breakdown.sh" "$DAEMON" >&2
    cp "$WORK/scale-reload.conf" "$WORK/active.conf"
    lines=$(wc -l <"$WORK/$daemon.log")
    parent_ticks=$(cpu_ticks "$(cat "$WORK/d.pid")") checker_ticks=$(cpu_ticks "$(cat "$WORK/c.pid")")
    t0=$(now_ms)
    kill -HUP "$(cat "$WORK/d.pid")"
    if wait_until 120 bash -c "$D ipvsadm -Ln -t 192.0.2.1:80 2>/dev/null | grep -q '198.51.100.11:80 *Route *7 '"; then
      reloads+=($(($(now_ms) - t0)))
      echo "bench: $daemon reload took ${reloads[-1]} ms; CPU ticks (1/$(getconf CLK_TCK) s) used meanwhile: parent $(($(cpu_ticks "$(cat "$WORK/d.pid")") - parent_ticks)), checker $(($(cpu_ticks "$(cat "$WORK/c.pid")") - checker_ticks))" >&2
    else
      echo "bench: $daemon did not apply the new weight; its log:" >&2
      tail -n 20 "$WORK/$daemon.log" >&2
    fi
    if [[ $daemon == vigil ]]; then
      sleep 1
      writes+=("$(applied_writes "$WORK/$daemon.log" "$lines")")
    fi
    stop_daemon
  done
  echo "bench: $daemon programming ${programs[*]:-none} ms, memory ${memories[*]:-none} MiB, reload ${reloads[*]:-none} ms, writes ${writes[*]:-none}" >&2
  program[$daemon]=$(median "${programs[@]}")
  memory[$daemon]=$(median "${memories[@]}")
  reload[$daemon]=$(median "${reloads[@]}")
  [[ $daemon == vigil ]] && reload_writes=$(median "${writes[@]}")
done
row "IPVS programming: 1,000 services × 10 real servers, start → all in the kernel (median of $RUNS)" \
  "${program[vigil]:-n/a} ms" "${program[keepalived]:-n/a} ms" "ms (lower is better)" "scripts/bench kernel-lab"
row "IPVS reload of the 1,000 × 10 config: SIGHUP changing one weight → new weight in the kernel (median of $RUNS)" \
  "${reload[vigil]:-n/a} ms" "${reload[keepalived]:-n/a} ms" "ms (lower is better)" "scripts/bench kernel-lab"
row "IPVS reload of the 1,000 × 10 config changing one weight: netlink writes (Vigil's log; median of $RUNS)" \
  "${reload_writes:-n/a}" "n/a (not exposed)" "writes (lower is better)" "scripts/bench kernel-lab"
row "Memory, 1,000 × 10 checker config (PSS of all processes, median of $RUNS)" \
  "${memory[vigil]:-n/a} MiB" "${memory[keepalived]:-n/a} MiB" "MiB (lower is better)" "scripts/bench kernel-lab"

fi

# ---- 3: checker CPU at 1,000 TCP checks per second: RUNS consecutive 20 s windows after a 10 s warm-up
if section cpu; then
config 100 10 "$TCP_CHECK" >"$WORK/cpu.conf"
hz=$(getconf CLK_TCK)
for daemon in ${BENCH_DAEMONS:-vigil keepalived}; do
  start_daemon "$daemon" "$WORK/cpu.conf"
  POLL=0.1 wait_until 120 has_destinations 1000
  sleep 10
  checker=$(cat "$WORK/c.pid" 2>/dev/null)
  if [[ -z $checker || ! -e /proc/$checker/stat ]]; then
    echo "bench: $daemon: no checker process (pid file: '${checker}'); its log:" >&2
    tail -n 20 "$WORK/$daemon.log" >&2
    stop_daemon
    continue
  fi
  windows=()
  for ((run = 0; run < RUNS; run++)); do
    c0=$(cpu_ticks "$checker")
    sleep 20
    c1=$(cpu_ticks "$checker")
    windows+=("$(awk -v t=$((c1 - c0)) -v hz="$hz" 'BEGIN {printf "%.2f", t / hz}')")
  done
  echo "bench: $daemon checker CPU per 20 s: ${windows[*]}" >&2
  cpu[$daemon]=$(median "${windows[@]}")
  stop_daemon
done
row "Checker CPU, 1,000 TCP_CHECKs/s (100 × 10, delay_loop 1), CPU seconds per 20 s (median of $RUNS windows)" \
  "${cpu[vigil]:-n/a} s" "${cpu[keepalived]:-n/a} s" "CPU s (lower is better)" "scripts/bench kernel-lab"

fi

# ---- 4: a real server's death → removal, recovery → re-adding
if section death; then
config 1 2 "$TCP_CHECK" >"$WORK/death.conf"
# Real server 198.51.100.12's web server "stops": its host answers port 80 with a reset, as a closed port does.
for daemon in ${BENCH_DAEMONS:-vigil keepalived}; do
  start_daemon "$daemon" "$WORK/death.conf"
  wait_until 60 has_destinations 2
  down=() up=()
  for ((run = 0; run < RUNS; run++)); do
    ip netns exec bench-r iptables -I INPUT -d 198.51.100.12 -p tcp --dport 80 -j REJECT --reject-with tcp-reset
    t0=$(now_ms)
    wait_until 60 bash -c "! $D grep -qi 'C633640C:0050' /proc/net/ip_vs" && down+=($(($(now_ms) - t0)))
    ip netns exec bench-r iptables -D INPUT -d 198.51.100.12 -p tcp --dport 80 -j REJECT --reject-with tcp-reset
    t0=$(now_ms)
    wait_until 60 bash -c "$D grep -qi 'C633640C:0050' /proc/net/ip_vs" && up+=($(($(now_ms) - t0)))
    sleep 1
  done
  echo "bench: $daemon death → removal ${down[*]:-none} ms, recovery → re-add ${up[*]:-none} ms" >&2
  death[$daemon]=$(median "${down[@]}")
  recovery[$daemon]=$(median "${up[@]}")
  stop_daemon
done
row "Real server death → removed from IPVS (TCP_CHECK, delay_loop 1, retry 1, median of $RUNS)" \
  "${death[vigil]:-n/a} ms" "${death[keepalived]:-n/a} ms" "ms" "scripts/bench kernel-lab"
row "Real server recovery → back in IPVS (median of $RUNS)" \
  "${recovery[vigil]:-n/a} ms" "${recovery[keepalived]:-n/a} ms" "ms" "scripts/bench kernel-lab"
fi
