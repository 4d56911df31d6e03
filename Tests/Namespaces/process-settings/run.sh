#!/usr/bin/env bash
# Scheduling, memory, affinity, names and umask (issue 15), read back from the kernel for the worker pids:
# vrrp_rt_priority (chrt -p on every thread), its default RLIMIT_RTTIME (/proc/PID/limits), vrrp_no_swap and
# checker_no_swap (VmLck),
# *_cpu_affinity (Cpus_allowed_list), checker_priority (ps -o ni), *_process_name and process_name (Name), the BFD
# worker's bfd_rt_priority / bfd_rlimit_rttime / bfd_no_swap / bfd_cpu_affinity / bfd_process_name the same way,
# umask (Umask); bad values named at FILE:LINE by vigild -t. And the watchdog's startup_script (run before the
# workers start, cut at startup_script_timeout) and shutdown_script (run after they stopped and released the VIP).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
BIN=${VIGIL_BIN:-$ROOT/.build/debug}
WORK=$(mktemp -d /tmp/process-settings.XXXXXX)
NS=ps-a
VIGIL=""
# shellcheck source=Tests/Namespaces/lib.sh
. "$ROOT/Tests/Namespaces/lib.sh"

lone_namespace
LAST_CPU=$(($(nproc) - 1))
# The startup script notes whether a worker runs yet, then outlives its 2 s timeout; the shutdown script notes the
# addresses left on eth0.
printf '#!/bin/sh\nif [ -e %s/v-vrrp.pid ]; then echo workers; else echo no-workers; fi >%s/startup\nexec sleep 30\n' \
  "$WORK" "$WORK" >"$WORK/startup.sh"
printf '#!/bin/sh\nip -o addr show dev eth0 >%s/shutdown\n' "$WORK" >"$WORK/shutdown.sh"
chmod 0755 "$WORK/startup.sh" "$WORK/shutdown.sh"

cat >"$WORK/vigil.conf" <<CONF
global_defs {
  process_name vigil_parent
  umask 027
  vrrp_rt_priority 20
  vrrp_no_swap
  vrrp_cpu_affinity $LAST_CPU
  vrrp_process_name vigil_vrrp
  checker_priority 5
  checker_no_swap
  checker_cpu_affinity 0
  checker_process_name vigil_check
  bfd_rt_priority 10
  bfd_rlimit_rttime 20000
  bfd_no_swap
  bfd_cpu_affinity 0
  bfd_process_name vigil_bfd
  startup_script $WORK/startup.sh
  startup_script_timeout 2
  shutdown_script $WORK/shutdown.sh
  vrrp_startup_delay 3
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 62
  priority 100
  virtual_ipaddress {
    192.0.2.160/24
  }
}
# Nobody answers: the session stays Down; what is checked is the process it runs in.
bfd_instance nobody {
  neighbor_ip 192.0.2.250
}
virtual_server 192.0.2.161 80 {
  real_server 192.0.2.1 80 {
    TCP_CHECK {
    }
  }
}
CONF

field() { awk -v key="$2:" '$1 == key { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }
holds() { [[ $(ip -n "$NS" -o addr show dev eth0) == *" 192.0.2.160/"* ]]; }
released() { ! holds; }
wait_for() { local n; for ((n = 0; n < $1 * 10; n++)); do "${@:2}" && return 0; sleep 0.1; done; return 1; }

ip netns exec "$NS" "$BIN/vigild" -n -l -f "$WORK/vigil.conf" -p "$WORK/v.pid" -r "$WORK/v-vrrp.pid" \
  -c "$WORK/v-check.pid" -b "$WORK/v-bfd.pid" --control-socket "$WORK/v.sock" >"$WORK/vigil.log" 2>&1 &
VIGIL=$!
started=$(date +%s%N)
wait_for 10 test -s "$WORK/v-vrrp.pid"
worker_started=$(date +%s%N)
waited=$(((worker_started - started) / 1000000))
check "startup_script ran before any worker" test "$(cat "$WORK/startup" 2>/dev/null)" = no-workers
if ((waited >= 1800 && waited < 6000)); then
  pass "the workers started after startup_script_timeout 2 cut the script short (${waited} ms)"
else
  fail "the workers started ${waited} ms after vigild, not after the 2 s startup_script_timeout"
fi
check "the log says the startup script timed out" grep -q "startup_script .*startup.sh: timedOut" "$WORK/vigil.log"
# Without the delay the lone instance is MASTER 3.61 s after its start; with vrrp_startup_delay 3, not before 6.61 s.
sleep 5
check "vrrp_startup_delay 3: no VIP 5 s after the VRRP worker started" released
wait_for 10 test -s "$WORK/v-check.pid"
wait_for 10 test -s "$WORK/v-bfd.pid"
sleep 2
VRRP=$(cat "$WORK/v-vrrp.pid")
CHECK=$(cat "$WORK/v-check.pid")
BFD=$(cat "$WORK/v-bfd.pid")

check "process_name: the watchdog is named vigil_parent" test "$(field "$VIGIL" Name)" = vigil_parent
check "umask 027: the watchdog's Umask is 0027" test "$(field "$VIGIL" Umask)" = 0027
check "umask 027: the workers inherit it" test "$(field "$VRRP" Umask)" = 0027
check "vrrp_process_name: the VRRP worker is named vigil_vrrp" test "$(field "$VRRP" Name)" = vigil_vrrp
check "checker_process_name: the checker worker is named vigil_check" test "$(field "$CHECK" Name)" = vigil_check
# all_threads_rr PID PRIORITY NAME: every thread of PID runs SCHED_RR at PRIORITY.
all_threads_rr() {
  local task rr_threads=0 other_threads=0
  for task in /proc/"$1"/task/*; do
    if [[ $(chrt -p "${task##*/}") == *SCHED_RR* && $(chrt -p "${task##*/}") == *"priority: $2"* ]]; then
      rr_threads=$((rr_threads + 1))
    else
      other_threads=$((other_threads + 1))
    fi
  done
  if ((rr_threads > 1 && other_threads == 0)); then
    pass "$3_rt_priority $2: all $rr_threads threads of the $3 worker run SCHED_RR at $2"
  else
    fail "$3_rt_priority: $rr_threads SCHED_RR threads, $other_threads others: $(chrt -p "$1")"
  fi
}
all_threads_rr "$VRRP" 20 vrrp
check "the checker worker keeps the normal scheduler" bash -c "chrt -p $CHECK | grep -q SCHED_OTHER"
limits=$(awk '/Max realtime timeout/ { print $4, $5 }' "/proc/$VRRP/limits")
check "RLIMIT_RTTIME defaults to keepalived's 10000 us, soft half ($limits)" test "$limits" = "5000 10000"
vmlck=$(field "$VRRP" VmLck | awk '{ print $1 }')
check "vrrp_no_swap: the VRRP worker's memory is locked (VmLck $vmlck kB)" test "${vmlck:-0}" -gt 0
# The checker locks once its first configuration is applied and what only the start needed is given back.
wait_for 10 bash -c "(( \$(awk '/^VmLck/ { print \$2 }' /proc/$CHECK/status) > 0 ))"
vmlck=$(field "$CHECK" VmLck | awk '{ print $1 }')
check "checker_no_swap: the checker worker's memory is locked (VmLck $vmlck kB)" test "${vmlck:-0}" -gt 0
check "vrrp_cpu_affinity $LAST_CPU: Cpus_allowed_list" test "$(field "$VRRP" Cpus_allowed_list)" = "$LAST_CPU"
check "checker_cpu_affinity 0: Cpus_allowed_list" test "$(field "$CHECK" Cpus_allowed_list)" = 0
check "checker_priority 5: ps shows nice 5" test "$(ps -o ni= -p "$CHECK" | tr -d ' ')" = 5
check "bfd_process_name: the BFD worker is named vigil_bfd" test "$(field "$BFD" Name)" = vigil_bfd
all_threads_rr "$BFD" 10 bfd
limits=$(awk '/Max realtime timeout/ { print $4, $5 }' "/proc/$BFD/limits")
check "bfd_rlimit_rttime 20000: RLIMIT_RTTIME 20000 us, soft half ($limits)" test "$limits" = "10000 20000"
vmlck=$(field "$BFD" VmLck | awk '{ print $1 }')
check "bfd_no_swap: the BFD worker's memory is locked (VmLck $vmlck kB)" test "${vmlck:-0}" -gt 0
check "bfd_cpu_affinity 0: Cpus_allowed_list" test "$(field "$BFD" Cpus_allowed_list)" = 0
wait_for 15 holds
master_after=$((($(date +%s%N) - worker_started) / 1000000))
# Alone, an instance is MASTER after Master_Down_Interval (3.61 s); vrrp_startup_delay 3 adds 3 s.
if holds && ((master_after >= 6400)); then
  pass "vrrp_startup_delay 3: MASTER once the delay and Master_Down_Interval passed (${master_after} ms)"
else
  fail "vrrp_startup_delay 3: MASTER after ${master_after} ms (holds: $(holds && echo yes || echo no))"
fi
check "the worker logs the delay" grep -q "delaying startup for 3.0 seconds (vrrp_startup_delay)" "$WORK/vigil.log"
check "the VRRP worker was never restarted" test "$(cat "$WORK/v-vrrp.pid")" = "$VRRP"
kill "$VIGIL"
wait "$VIGIL" 2>/dev/null
VIGIL=""
check "shutdown_script ran after the VRRP worker released the VIP" \
  bash -c "[[ -e $WORK/shutdown && \$(cat $WORK/shutdown) != *192.0.2.160* ]]"

# Vigil's default (not keepalived's): with no vrrp_rt_priority and no vrrp_priority in the file, the VRRP worker
# runs SCHED_RR at 1 with its memory locked and a 10 s RLIMIT_RTTIME guard; the checker keeps the normal scheduler.
# vrrp_priority (a nice value) or `vigild --no-realtime` keep the VRRP worker normal too.
# start_plain GLOBALS [FLAG...]: vigild on a file with GLOBALS in global_defs, until both workers wrote pid files.
start_plain() {
  printf 'global_defs {\n  %s\n}\nvrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 63\n  priority 100\n  virtual_ipaddress {\n    192.0.2.162/24\n  }\n}\nbfd_instance nobody {\n  neighbor_ip 192.0.2.250\n}\nvirtual_server 192.0.2.163 80 {\n  real_server 192.0.2.1 80 {\n    TCP_CHECK {\n    }\n  }\n}\n' \
    "$1" >"$WORK/plain.conf"
  rm -f "$WORK"/p-*.pid
  ip netns exec "$NS" "$BIN/vigild" -n -l "${@:2}" -f "$WORK/plain.conf" -p "$WORK/p.pid" -r "$WORK/p-vrrp.pid" \
    -c "$WORK/p-check.pid" -b "$WORK/p-bfd.pid" --control-socket "$WORK/p.sock" >"$WORK/plain.log" 2>&1 &
  VIGIL=$!
  wait_for 10 test -s "$WORK/p-vrrp.pid"
  wait_for 10 test -s "$WORK/p-check.pid"
  wait_for 10 test -s "$WORK/p-bfd.pid"
  sleep 1
  VRRP=$(cat "$WORK/p-vrrp.pid")
  CHECK=$(cat "$WORK/p-check.pid")
  BFD=$(cat "$WORK/p-bfd.pid")
}
stop_plain() {
  kill "$VIGIL"
  wait "$VIGIL" 2>/dev/null
  VIGIL=""
}
# scheduler PID: "POLICY PRIORITY" of every thread of PID, one line per distinct pair.
scheduler() {
  local task
  for task in /proc/"$1"/task/*; do
    chrt -p "${task##*/}" | awk -F': ' '/policy/ { p = $2 } /priority/ { print p, $2 }'
  done | sort -u
}
start_plain "router_id plain"
check "default: every thread of the VRRP worker runs SCHED_RR at 1 ($(scheduler "$VRRP" | tr '\n' ';'))" \
  test "$(scheduler "$VRRP")" = "SCHED_RR 1"
limits=$(awk '/Max realtime timeout/ { print $4, $5 }' "/proc/$VRRP/limits")
check "default: RLIMIT_RTTIME 10 s, soft half ($limits)" test "$limits" = "5000000 10000000"
vmlck=$(field "$VRRP" VmLck | awk '{ print $1 }')
check "default: the VRRP worker's memory is locked (VmLck $vmlck kB)" test "${vmlck:-0}" -gt 0
check "default: every thread of the BFD worker runs SCHED_RR at 1 ($(scheduler "$BFD" | tr '\n' ';'))" \
  test "$(scheduler "$BFD")" = "SCHED_RR 1"
check "default: the BFD worker's memory is locked" test "$(field "$BFD" VmLck | awk '{ print $1 }')" -gt 0
check "default: the checker worker keeps the normal scheduler" test "$(scheduler "$CHECK")" = "SCHED_OTHER 0"
check "default: the checker worker's memory is not locked" test "$(field "$CHECK" VmLck | awk '{ print $1 }')" = 0
check "default: the watchdog keeps the normal scheduler" test "$(scheduler "$VIGIL")" = "SCHED_OTHER 0"
stop_plain
start_plain $'vrrp_priority -5\n  bfd_priority -5'
check "vrrp_priority -5: the VRRP worker keeps the normal scheduler" test "$(scheduler "$VRRP")" = "SCHED_OTHER 0"
check "vrrp_priority -5: ps shows nice -5" test "$(ps -o ni= -p "$VRRP" | tr -d ' ')" = -5
stop_plain
start_plain "router_id plain" --no-realtime
check "--no-realtime: the VRRP worker keeps the normal scheduler" test "$(scheduler "$VRRP")" = "SCHED_OTHER 0"
check "--no-realtime: its memory is not locked" test "$(field "$VRRP" VmLck | awk '{ print $1 }')" = 0
check "--no-realtime: the BFD worker keeps the normal scheduler" test "$(scheduler "$BFD")" = "SCHED_OTHER 0"
stop_plain

# Bad values: errors (and keepalived's clamping warned) at FILE:LINE.
printf 'global_defs {\n  vrrp_cpu_affinity one\n  vrrp_rt_priority 200\n  umask 0999\n  checker_process_name a_much_too_long_name\n}\n' >"$WORK/bad.conf"
"$BIN/vigild" -t -f "$WORK/bad.conf" >"$WORK/bad.txt" 2>&1
status=$?
if [[ $status != 0 ]] && grep -q "bad.conf:2: error: a CPU number" "$WORK/bad.txt" &&
  grep -q "bad.conf:3: warning: 'vrrp_rt_priority' 200 is outside 1…99; using 99" "$WORK/bad.txt" &&
  grep -q "bad.conf:4: error: invalid umask value '0999'" "$WORK/bad.txt" &&
  grep -q "bad.conf:5: warning: 'checker_process_name' 'a_much_too_long_name' is longer than 15 bytes" "$WORK/bad.txt"; then
  pass "vigild -t names bad values at FILE:LINE"
else
  fail "vigild -t on bad values (status $status): $(cat "$WORK/bad.txt")"
fi

echo "$passed passed, $failed failed"
((failed == 0))
