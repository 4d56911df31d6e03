#!/usr/bin/env bash
# shellcheck disable=SC2154
# Issue 12 acceptance on real IPVS (kernel lab): the checker worker at scale, with vigild's default settings, on
# ipvs/lib.sh's topology (director lab-d, real servers lab-r1 and lab-r2 answering on 80, 443 and 8080).
#
#   farm:   1,000 services × 10 real servers (10,000): systemd's READY=1 (a stand-in's socket as NOTIFY_SOCKET) comes
#           with all 10,000 in the kernel (the checker reports once its first rules are written); one checked real
#           server going down and up reaches IPVS as one write each, with no read of the whole table (the checker's
#           full-read counter does not move).
#   busy:   the checker saturated on purpose (3,000 TCP checks a second under emulation) for 60 s is never
#           replaced: it makes progress; its lateness shows in vigilctl status.
#   stop:   the checker worker SIGSTOPped as soon as it exists (before its hello, which it sends from its start) and
#           one SIGSTOPped after its hello, while the 10,000-real-server configuration is on its way and being applied,
#           are each replaced (after two heartbeats at the default 1 s: the time is measured and printed, the verdict
#           checked), and the last successor programs them.
#
# Run: Tests/KernelLab/kernel-lab run Tests/KernelLab/checker-scale/run-all.sh
set -uo pipefail

if [[ "${KERNEL_LAB:-}" != 1 && "${1:-}" != --force ]]; then
  echo "checker-scale/run-all.sh: meant to run inside the kernel lab (or pass --force)" >&2
  exit 2
fi

# shellcheck source=../ipvs/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../ipvs/lib.sh"
trap 'stop_vigild; cleanup' EXIT
setup_topology || fatal "topology"
start_servers || fatal "real servers"

CONF=$WORK/vigil.conf
# Reading 10,000 destinations with ipvsadm is slow under emulation: poll twice a second.
POLL=0.5
# vigilctl's own errors (a timeout on a busy machine) go to a file the busy section reports from.
status_json() { $D "$BIN/vigilctl" status --json --control-socket "$WORK/control.sock" 2>>"$WORK/vigilctl.err"; }
checker_stat() { # FIELD: a value from the checker worker's statistics
  status_json | $PY -c '
import json, sys
c = [w.get("checker") for w in json.load(sys.stdin)["workers"] if w.get("checker")]
print(c[0].get(sys.argv[1], "") if c else "")' "$1"
}
is_number() { [[ $1 =~ ^[0-9]+$ ]]; }
number_of() { # COMMAND...: its output, retried until it is a number (vigilctl may time out on a busy machine)
  local value tries
  for ((tries = 0; tries < 30; tries++)); do
    value=$("$@")
    is_number "$value" && { echo "$value"; return 0; }
    sleep 1
  done
  echo "unreadable"
}
checker_number() { number_of checker_stat "$1"; } # FIELD
workers_restarts() { # the workers' restarts, summed
  status_json | $PY -c 'import json,sys; print(sum(w["restartCount"] for w in json.load(sys.stdin)["workers"]))' \
    2>/dev/null
}
worker_up() { # the checker worker running and answering heartbeats
  status_json | $PY -c '
import json, sys
workers = json.load(sys.stdin)["workers"]
sys.exit(0 if workers and all(w.get("pid") and w.get("lastHeartbeatSecondsAgo") is not None for w in workers) else 1)' \
    2>/dev/null # no answer yet (vigild starting): not running
}
status_answers() { status_json >/dev/null; } # the status itself is megabytes with 10,000 real servers
section_failures=0
log_if_failed() { # SECTION: the vigild log's tail when the section failed a check (each section starts a new log)
  if ((failed > section_failures)); then
    echo "--- $1: the watchdog's verdicts ---"
    grep -E "killing it|restarting|unread" "$WORK/vigild.log" | head -20
    echo "--- $1: vigild log (tail) ---"
    tail -30 "$WORK/vigild.log"
  fi
  section_failures=$failed
}
real_servers_in_kernel() { $D ipvsadm -Ln | grep -c -- '-> 198'; }

farm_conf() { # SERVICES DELAY_LOOP CHECKED
  # one: SERVICES services × 10 real servers, one checked real server in the first service (rs1, port 9999 of its
  #      own), the others unchecked (always up);
  # all: SERVICES services × 6 real servers (rs1 and rs2 on ports 80, 443 and 8080), every one checked.
  local s r ports=(80 443 8080)
  for ((s = 0; s < $1; s++)); do
    printf 'virtual_server 192.0.2.%d %d {\n  delay_loop %s\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n' \
      $((s % 100 + 101)) $((2000 + s / 100)) "$2"
    if [[ $3 == all ]]; then
      for ((r = 0; r < 6; r++)); do
        printf '  real_server 198.51.100.%d %d {\n    TCP_CHECK {\n      connect_timeout 2\n      retry 0\n    }\n  }\n' \
          $((11 + r % 2)) "${ports[$((r / 2))]}"
      done
    else
      if ((s == 0)); then
        printf '  real_server 198.51.100.11 9999 {\n    TCP_CHECK {\n      connect_timeout 2\n      retry 0\n    }\n  }\n'
      else
        printf '  real_server 198.51.100.20 80 {\n  }\n'
      fi
      for ((r = 1; r < 10; r++)); do printf '  real_server 198.51.100.%d %d {\n  }\n' $((20 + r)) $((80 + r)); done
    fi
    printf '}\n'
  done
}

# -------------------------------------------------------------------------------------------- farm ----
LISTENER=
one_listener() { # rs1 answers on 9999: the one checked real server
  ip netns exec lab-r1 "$PY" -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 9999)); s.listen(64)
while True:
    c, _ = s.accept(); c.close()' &
  LISTENER=$!
}
farm_conf 1000 1 one >"$CONF"
one_listener
# systemd's stand-in: at READY=1 it counts the real servers in the kernel at once ('->' lines, less the header's).
ip netns exec lab-d "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])
while b"READY=1" not in s.recv(4096).split(b"\n"): pass
print(sum(1 for line in open("/proc/net/ip_vs") if "->" in line) - 1, flush=True)' "$WORK/notify.sock" >"$WORK/ready.count" &
NOTIFY_PID=$!
wait_for 30 test -S "$WORK/notify.sock"
start=$SECONDS
NOTIFY_SOCKET=$WORK/notify.sock vigild_start "$CONF" -C
if wait_for 600 bash -c "[[ \$($D ipvsadm -Ln | grep -c -- '-> 198') == 10000 ]]"; then
  pass "farm: 10,000 real servers in the kernel ($((SECONDS - start)) s from start)"
else
  fail "farm: $(real_servers_in_kernel) of 10,000 real servers in the kernel after 600 s"
  echo "--- vigild log (tail) ---"
  tail -40 "$WORK/vigild.log"
fi
ready_count() { [[ -s $WORK/ready.count ]]; }
wait_for 60 ready_count
check "farm: READY=1 came with all 10,000 real servers in the kernel ($(cat "$WORK/ready.count") then)" \
  test "$(cat "$WORK/ready.count")" == 10000
kill "$NOTIFY_PID" 2>/dev/null
sleep 3
reads=$(checker_number ipvsFullReads) writes=$(checker_number ipvsWrites)
kill "$LISTENER"
wait "$LISTENER" 2>/dev/null
gone() { ! $D ipvsadm -Ln -t 192.0.2.101:2000 | grep -q '198.51.100.11:9999'; }
check "farm: the stopped real server leaves IPVS" wait_for 60 gone
one_listener
back() { $D ipvsadm -Ln -t 192.0.2.101:2000 | grep -q '198.51.100.11:9999'; }
check "farm: and comes back" wait_for 60 back
sleep 2 # the checker's statistics reach vigilctl once a second
after=$(checker_number ipvsWrites) reads_after=$(checker_number ipvsFullReads)
one_each=false no_read=false
is_number "$writes" && is_number "$after" && ((after - writes == 2)) && one_each=true
is_number "$reads" && [[ $reads == "$reads_after" ]] && no_read=true
check "farm: one write for each of the two changes (ipvsWrites $writes -> $after)" $one_each
check "farm: no read of the 10,000-entry table for them (full reads $reads -> $reads_after)" $no_read
log_if_failed farm
kill "$LISTENER" 2>/dev/null
stop_vigild
$D ipvsadm -C

# -------------------------------------------------------------------------------------------- busy ----
farm_conf 500 1 all >"$CONF"
: >"$WORK/vigild.log"
vigild_start "$CONF" -C
check "busy: the checker worker runs" wait_for 120 worker_up
: >"$WORK/vigilctl.err" # vigilctl's errors from here on (not those of the polls while vigild started)
# 60 s at full load, vigilctl status asked every 5 s: how long it takes to answer is printed (not asserted).
busy_end=$((SECONDS + 60)) answers=()
while ((SECONDS < busy_end)); do
  status_started=$(date +%s%N)
  if status_json >/dev/null; then answers+=($((($(date +%s%N) - status_started) / 1000000))); else answers+=(failed); fi
  sleep 5
done
echo "MEASURE: busy: vigilctl status during the 60 s answered in (ms): ${answers[*]}"
restarts=$(number_of workers_restarts)
[[ -s $WORK/vigilctl.err ]] && echo "MEASURE: busy: vigilctl failed $(wc -l <"$WORK/vigilctl.err") times: $(sort -u "$WORK/vigilctl.err" | head -3)"
echo "MEASURE: busy: $(checker_stat checksStarted) checks started, lateness p50 $(checker_stat latenessP50Milliseconds) ms, p99 $(checker_stat latenessP99Milliseconds) ms, in flight $(checker_stat inFlight)"
check "busy: a checker at full load for 60 s was never replaced (restarts: $restarts)" test "$restarts" == 0
check "busy: nothing was killed" bash -c "! grep -q 'killing it' '$WORK/vigild.log'"
log_if_failed busy
stop_vigild
$D ipvsadm -C

# ----------------------------------------------------------------------------- stopped while applying ----
farm_conf 1000 60 one >"$CONF"
: >"$WORK/vigild.log"
rm -f "$WORK/checkers.pid"
vigild_start "$CONF" -C
replaced() { [[ -s $WORK/checkers.pid && $(cat "$WORK/checkers.pid") != "$stopped" ]]; }
stop_and_time() { # WHEN VERDICT: SIGSTOP the current checker worker, wait for its successor, print and check
  stopped=$(cat "$WORK/checkers.pid")
  kill -STOP "$stopped"
  local start elapsed
  start=$(date +%s%N)
  if wait_for 60 replaced; then
    elapsed=$((($(date +%s%N) - start) / 1000000))
    # A measurement, not a timed assertion: the watchdog's verdict says how long the worker had been silent.
    echo "MEASURE: stop: the checker SIGSTOPped $1 was replaced after $elapsed ms" \
      "(verdict: $(grep -Eo "pid $stopped\) [a-z ]*(heartbeat|run) for [0-9.]* ms" "$WORK/vigild.log" | head -n1))"
    pass "stop: the checker stopped $1 was replaced"
  else
    fail "stop: the checker stopped $1 was not replaced within 60 s"
  fi
  kill -CONT "$stopped" 2>/dev/null
  check "stop: stopped $1, the log says why ($2)" grep -Eq "pid $stopped\) ($2)" "$WORK/vigild.log"
}
# As soon as it exists: it is starting (exec, the runtime), or already receiving the configuration.
wait_for 60 test -s "$WORK/checkers.pid"
stop_and_time "as soon as it exists" "did not say hello and has not run for|answered no heartbeat for"
# After its hello: receiving and decoding the configuration (a few megabytes), then programming 10,000 real servers.
wait_for 60 grep -q "checker worker restarted (pid $(cat "$WORK/checkers.pid")" "$WORK/vigild.log"
stop_and_time "after its hello, while it receives and applies 10,000 real servers" "answered no heartbeat for"
# The one checked real server (rs1:9999) has no listener any more (the farm section stopped it): its first check takes
# it out, so whether it is still in the table when counted is a race. The 9,999 unchecked ones must all be there.
check "stop: the successor programs the 9,999 unchecked real servers" \
  wait_for 600 bash -c "[[ \$($D ipvsadm -Ln | grep -- '-> 198' | grep -vc ':9999 ') == 9999 ]]"
check "stop: the watchdog kept answering while the workers were stopped (status never refused)" status_answers
stop_vigild
$D ipvsadm -C

if ((failed)); then
  echo "--- vigild log (tail) ---"
  tail -40 "$WORK/vigild.log"
fi
summary
