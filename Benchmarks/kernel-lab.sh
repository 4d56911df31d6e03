#!/usr/bin/env bash
# Benchmarks that need IPVS, run inside the kernel lab VM (scripts/bench starts it):
#   3. health checks at 1,000 TCP_CHECKs a second offered (100 virtual services × 10 real servers, delay_loop 1):
#      checks that reached the real servers (SYNs counted by nftables there), CPU of every process of the daemon
#      (restarted workers included), CPU per 1,000 checks done, worker restarts, start → all 1,000 real
#      servers in IPVS, and whether every real server is in IPVS at the end;
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
declare -A program memory checked_memory reload cpu death recovery
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

DAEMON=""
# Both daemons run with their default settings and log to the console (-l) into $WORK/NAME.log (Vigil's IPVS write
# count is read from it).
start_daemon() { # NAME CONFIG
  if [[ $1 == vigil ]]; then
    $D "$BIN/vigild" -n -l -C -f "$2" -p "$WORK/d.pid" -c "$WORK/c.pid" -r "$WORK/v.pid" \
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

# BENCH_SECTIONS picks sections (default all): scale checks death.
section() { [[ " ${BENCH_SECTIONS:-scale checks death} " == *" $1 "* ]]; }

# ---- 5 and 6b: programming 1,000 × 10, reload of one weight, memory; RUNS fresh starts per daemon
if section scale; then
SERVICES=${BENCH_SERVICES:-1000} # fewer only for trying the script out
farm_config "$SERVICES" 10 "" >"$WORK/scale.conf"
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
    # The steady state, for both daemons alike: Vigil's processes trim once more 10 s after the load's trim
    # (MemoryTrim.settleDelay).
    sleep 15
    memories+=($(($(pss_kib "$DAEMON") / 1024)))
    ((run == 0)) && "$ROOT/Benchmarks/pss-breakdown.sh" "$DAEMON" >&2
    cp "$WORK/scale-reload.conf" "$WORK/active.conf"
    lines=$(wc -l <"$WORK/$daemon.log")
    parent_ticks=$(cpu_ticks "$(cat "$WORK/d.pid")") checker_ticks=$(cpu_ticks "$(cat "$WORK/c.pid")")
    # The SIGHUP and the wait from inside the namespace, one netlink dump of the service every 5 ms: an ipvsadm process a
    # poll took 0.3-0.5 s under emulation, a good part of what was measured.
    read -r took _ < <($D python3 "$ROOT/Benchmarks/ipvs-weight-wait.py" "$(cat "$WORK/d.pid")" 192.0.2.1:80 \
      198.51.100.11:80 7)
    if [[ $took =~ ^[0-9]+$ ]]; then
      reloads+=("$took")
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
# The same farm with a TCP_CHECK on every real server (delay_loop 1: 10,000 checks a second offered, more than either
# daemon does under emulation): the memory of the checks themselves, read as above, one start each.
farm_config "$SERVICES" 10 "$TCP_CHECK" >"$WORK/scale-checks.conf"
for daemon in ${BENCH_DAEMONS:-vigil keepalived}; do
  start_daemon "$daemon" "$WORK/scale-checks.conf"
  if POLL=0.1 wait_until 600 has_destinations $((SERVICES * 10)); then
    sleep 15
    checked_memory[$daemon]=$(($(pss_kib "$DAEMON") / 1024))
    echo "bench: $daemon with TCP_CHECKs: ${checked_memory[$daemon]} MiB" >&2
    if [[ $daemon == vigil ]]; then
      "$ROOT/Benchmarks/pss-breakdown.sh" "$DAEMON" >&2
      # Each trim: what it gave back, the heap still in use, and how long malloc_trim held the process.
      grep "memory given back" "$WORK/$daemon.log" >&2
    fi
  fi
  stop_daemon
done
row "IPVS programming: 1,000 services × 10 real servers, start → all in the kernel (median of $RUNS)" \
  "${program[vigil]:-n/a} ms" "${program[keepalived]:-n/a} ms" "ms (lower is better)" "scripts/bench kernel-lab"
row "IPVS reload of the 1,000 × 10 config: SIGHUP changing one weight → new weight in the kernel (median of $RUNS)" \
  "${reload[vigil]:-n/a} ms" "${reload[keepalived]:-n/a} ms" "ms (lower is better)" "scripts/bench kernel-lab"
row "IPVS reload of the 1,000 × 10 config changing one weight: netlink writes (Vigil's log; median of $RUNS)" \
  "${reload_writes:-n/a}" "n/a (not exposed)" "writes (lower is better)" "scripts/bench kernel-lab"
row "Memory, 1,000 × 10 checker config (PSS of all processes, median of $RUNS)" \
  "${memory[vigil]:-n/a} MiB" "${memory[keepalived]:-n/a} MiB" "MiB (lower is better)" "scripts/bench kernel-lab"
row "Memory, 1,000 × 10 with a TCP_CHECK on every real server (PSS of all processes 15 s after all are in the kernel, 1 start)" \
  "${checked_memory[vigil]:-n/a} MiB" "${checked_memory[keepalived]:-n/a} MiB" "MiB (lower is better)" "scripts/bench kernel-lab"

fi

# ---- 3: health checks at 1,000 TCP_CHECKs a second offered, counted where they land.
if section checks; then
farm_config 100 10 "$TCP_CHECK" >"$WORK/checks.conf"
# Every connection attempt a check makes reaches the real servers as one SYN: nftables counts them there.
count_syns
WINDOW=${BENCH_CHECK_SECONDS:-20}
declare -A checks_done cpu_window per_thousand restarts startup in_ipvs lateness
for daemon in ${BENCH_DAEMONS:-vigil keepalived}; do
  t0=$(now_ms)
  start_daemon "$daemon" "$WORK/checks.conf"
  if POLL=0.1 wait_until 120 has_destinations 1000; then startup[$daemon]=$(($(now_ms) - t0)); fi
  sleep 10
  vigil_started() { "$BIN/vigilctl" status --json --control-socket "$WORK/vigil.sock" 2>/dev/null | "$PY" -c 'import json,sys
c = [w.get("checker") for w in json.load(sys.stdin)["workers"] if w.get("checker")]
print(c[0]["checksStarted"], c[0]["checksFailed"], c[0]["checksNotRun"]) if c else print("? ? ?")'; }
  [[ $daemon == vigil ]] && read -r st0 fa0 nr0 <<<"$(vigil_started)"
  # A SYN the daemon's kernel sent again (the real server's accept queue was full under emulation) reaches the
  # real servers twice for one check: counted on the director's side and taken off.
  retrans() { $D nstat -az TcpExtTCPSynRetrans 2>/dev/null | awk '/TcpExtTCPSynRetrans/ {print $2}'; }
  # The readings take time under emulation: each window is timed and the figures scaled to exactly $WINDOW s.
  c0=$(tree_cpu_ms "$DAEMON") u0=$(tree_cpu_ms "$DAEMON" user) t0=$(now_ms) s0=$(syns) r0=$(retrans)
  sleep "$WINDOW"
  c1=$(tree_cpu_ms "$DAEMON") u1=$(tree_cpu_ms "$DAEMON" user) t1=$(now_ms) s1=$(syns) r1=$(retrans)
  if [[ $daemon == vigil ]]; then
    read -r st1 fa1 nr1 <<<"$(vigil_started)"
    echo "bench: vigil's own count: $((st1 - st0)) started, $((fa1 - fa0)) failed, $((nr1 - nr0)) not run (a longer window: vigilctl's time)" >&2
  fi
  span=$((t1 - t0))
  echo "bench: $daemon: $((s1 - s0)) SYNs at the real servers in $span ms, $((r1 - r0)) of them retransmissions; CPU user $((u1 - u0)) ms, system $((c1 - c0 - u1 + u0)) ms" >&2
  scale() { awk -v v="$1" -v span="$span" -v w="$WINDOW" 'BEGIN {printf "%d", v * w * 1000 / span}'; }
  checks=$(scale $((s1 - s0 - (r1 - r0)))) cpu=$(scale $((c1 - c0)))
  s0=0 s1=$checks c0=0 c1=$cpu
  checks_done[$daemon]=$((s1 - s0))
  cpu_window[$daemon]=$(awk -v c=$((c1 - c0)) 'BEGIN {printf "%.2f", c / 1000}')
  per_thousand[$daemon]=$(awk -v c=$((c1 - c0)) -v n=$((s1 - s0)) 'BEGIN {if (n > 0) printf "%.3f", c / n; else print "n/a"}')
  in_ipvs[$daemon]=$(($(destinations) - 1))
  if [[ $daemon == vigil ]]; then
    status=$("$BIN/vigilctl" status --json --control-socket "$WORK/vigil.sock" 2>/dev/null)
    restarts[$daemon]=$(echo "$status" | "$PY" -c 'import json,sys; print(sum(w["restartCount"] for w in json.load(sys.stdin)["workers"]))' 2>/dev/null || echo "?")
    # Silent past the heartbeat limit while starved of CPU, and left to run (not a restart).
    echo "bench: vigil: times a worker was starved of CPU and not killed: $(echo "$status" | "$PY" -c 'import json,sys; print(sum(w.get("starvedCount") or 0 for w in json.load(sys.stdin)["workers"]))' 2>/dev/null || echo "?")" >&2
    lateness[$daemon]=$(echo "$status" | "$PY" -c 'import json,sys
c = [w.get("checker") for w in json.load(sys.stdin)["workers"] if w.get("checker")][0]
print("p50 %.1f ms, p99 %.1f ms" % (c["latenessP50Milliseconds"], c["latenessP99Milliseconds"]))' 2>/dev/null || echo "?")
  else
    # keepalived's parent respawns a checker child that died: each respawn is logged.
    restarts[$daemon]=$(grep -c "Healthcheck child process.*died\|Respawning" "$WORK/$daemon.log")
  fi
  grep -E "killing it|starved|restarting|crash|Fatal|exited with|was killed" "$WORK/$daemon.log" | head -5 | sed "s/^/bench: $daemon log: /" >&2
  echo "bench: $daemon: ${checks_done[$daemon]} checks reached the real servers in $WINDOW s, CPU ${cpu_window[$daemon]} s, ${per_thousand[$daemon]} s per 1,000 checks, ${restarts[$daemon]} restarts, ${in_ipvs[$daemon]} real servers in IPVS at the end, lateness ${lateness[$daemon]:-n/a}" >&2
  stop_daemon
done
row "TCP_CHECKs that reached the real servers in $WINDOW s (100 × 10, delay_loop 1: 1,000/s offered; SYNs counted by nftables at the real servers, less SYN retransmissions)" \
  "${checks_done[vigil]:-n/a}" "${checks_done[keepalived]:-n/a}" "checks (higher is better)" "BENCH_SECTIONS=checks scripts/bench kernel-lab"
row "CPU of all the daemon's processes in those $WINDOW s (restarted workers included)" \
  "${cpu_window[vigil]:-n/a} s" "${cpu_window[keepalived]:-n/a} s" "CPU s" "BENCH_SECTIONS=checks scripts/bench kernel-lab"
row "CPU per 1,000 checks done" "${per_thousand[vigil]:-n/a} s" "${per_thousand[keepalived]:-n/a} s" \
  "CPU s (lower is better)" "BENCH_SECTIONS=checks scripts/bench kernel-lab"
row "Worker restarts during the checks run" "${restarts[vigil]:-n/a}" "${restarts[keepalived]:-n/a}" \
  "restarts" "BENCH_SECTIONS=checks scripts/bench kernel-lab"
row "Start → all 1,000 real servers (100 × 10) in IPVS" "${startup[vigil]:-n/a} ms" "${startup[keepalived]:-n/a} ms" \
  "ms (lower is better)" "BENCH_SECTIONS=checks scripts/bench kernel-lab"
row "Real servers in IPVS at the end of the checks run (all up: 1,000)" "${in_ipvs[vigil]:-n/a}" \
  "${in_ipvs[keepalived]:-n/a}" "real servers" "BENCH_SECTIONS=checks scripts/bench kernel-lab"
row "Check lateness (due → started), Vigil's own statistics" "${lateness[vigil]:-n/a}" "not exposed" "ms" \
  "BENCH_SECTIONS=checks scripts/bench kernel-lab"
ip netns exec bench-r nft delete table inet bench
fi

# ---- 4: a real server's death → removal, recovery → re-adding
if section death; then
farm_config 1 2 "$TCP_CHECK" >"$WORK/death.conf"
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
