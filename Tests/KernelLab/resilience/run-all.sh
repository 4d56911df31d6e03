#!/usr/bin/env bash
# shellcheck disable=SC2154
# Issue 7 acceptance on real IPVS (kernel lab): reload and crash resilience of a whole vigild, on ipvs/lib.sh's
# topology. The director lab-d runs vigild with a VRRP instance (MASTER, VIP 192.0.2.100 on d0) and NAT virtual
# services with TCP_CHECK; the client lab-c keeps requesting the unchanged service http://192.0.2.100/.
#
#   reload: SIGHUP with (a) a changed weight, (b) a new service, (c) a removed service: `ipvsadm -Ln` is exactly
#           the new configuration each time, the unchanged service's counters go on (never reset), the VIP is
#           never deleted (`ip monitor address`, and a sample every 50 ms), no client request fails. Then an
#           invalid file: refused with file:line in the log, tables unchanged, `vigilctl status` says REFUSED.
#   chaos:  kill -9 of a random worker (VRRP or checker, from the -r/-c pid files) every 0.5 s for
#           CHAOS_SECONDS (60): no failed request, every IPVS rule at every ~0.25 s sample, VIP never deleted.
#   adopt:  kill -9 of the whole vigild (workers and watchdog), started again: no rule missing at any sample
#           and the service's connection counter is not reset (the rules were adopted, not re-added).
#   scale:  a 1,000-service configuration, one weight changed by SIGHUP: exactly one IPVS write ("applied 1
#           IPVS changes" in the checker's log), by the running worker as a reload (no worker killed or
#           restarted meanwhile); prints the time from SIGHUP to the weight in the kernel.
#   drift:  rules changed behind Vigil's back come back without a SIGHUP (ipvs_repair_interval, default 30 s):
#           `ipvsadm -d` of one real server within the interval, `ipvsadm -E` of a service and `ipvsadm -C` within
#           seconds; with nothing changed, the drift checks write nothing.
# The checker at scale (10,000 real servers, a saturated checker) is Tests/KernelLab/checker-scale/run-all.sh.
#
# Run: Tests/KernelLab/kernel-lab run --env VIGIL_BIN=$PWD/.build/debug Tests/KernelLab/resilience/run-all.sh
# (scripts/test runs it in CI, as every Tests/KernelLab/*/run-all.sh).
set -uo pipefail

if [[ "${KERNEL_LAB:-}" != 1 && "${1:-}" != --force ]]; then
  echo "resilience/run-all.sh: meant to run inside the kernel lab (or pass --force)" >&2
  exit 2
fi

# shellcheck source=../ipvs/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../ipvs/lib.sh"
CHAOS_SECONDS=${CHAOS_SECONDS:-60}
VIP=192.0.2.100
BG=()
trap 'stop_background; stop_vigild; cleanup' EXIT

stop_background() {
  local p
  for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${BG[@]}"; do wait "$p" 2>/dev/null; done
  BG=()
}

setup_topology || fatal "topology"
ip -n lab-d addr del "$VIP/32" dev d0 # the VRRP instance owns it
start_servers || fatal "real servers"


# The IPVS table as sorted "SERVICE SCHEDULER" and "SERVICE -> REAL FORWARD WEIGHT" lines (no connection counts).
table() {
  $D ipvsadm -Ln | awk '$1 == "TCP" || $1 == "UDP" || $1 == "FWM" {svc = $1 " " $2; print svc, $3; next}
    $1 == "->" && $2 != "RemoteAddress:Port" {print svc, "->", $2, $3, $4}' | sort
}
EXPECTED=
table_is_expected() { [[ $(table) == "$EXPECTED" ]]; }
reload_conf_table() { local port; for port in "$@"; do svc_lines "$port" 1 1; done | sort; }
table_is_expected_for() { [[ $(table) == "$(reload_conf_table "$@")" ]]; }
workers_up_one() { # the one worker running and answering heartbeats
  $D "$BIN/vigilctl" status --json --control-socket "$WORK/control.sock" 2>/dev/null | $PY -c '
import json, sys
workers = json.load(sys.stdin)["workers"]
sys.exit(0 if workers and all(w.get("pid") and w.get("lastHeartbeatSecondsAgo") is not None for w in workers) else 1)'
}
expect() { EXPECTED=$(sort); } # expect <<EOF lines EOF
svc_lines() { # PORT WEIGHT1 WEIGHT2: a NAT service on the VIP with rs1/rs2 on the same port
  echo "TCP $VIP:$1 rr"
  echo "TCP $VIP:$1 -> 198.51.100.11:$1 Masq $2"
  echo "TCP $VIP:$1 -> 198.51.100.12:$1 Masq $3"
}
holds_vip() { [[ $($D ip -4 -o addr show dev d0) == *" $VIP/"* ]]; }
# conns PORT: the service's total connections (ipvsadm --stats, first counter of the service line)
conns() { $D ipvsadm -Ln --stats -t "$VIP:$1" | awk '$1 == "TCP" {print $3}'; }

# Background watchers, each writing to $WORK/<name>.txt until stopped.
client_loop() { # client requests to the unchanged service, one connection each; one line per request
  local i out
  for ((i = 0; i < 5000; i++)); do
    out=$($C curl -sS --noproxy '*' --max-time 3 "http://$VIP/" 2>&1)
    echo "${out:-empty reply}"
  done >"$WORK/client.txt" 2>&1 &
  BG+=($!)
}
vip_watch() {
  $D ip monitor address >"$WORK/monitor.txt" 2>&1 &
  BG+=($!)
  (while :; do holds_vip || echo "VIP missing at $(date +%T.%N)"; sleep 0.05; done) >"$WORK/vipsamples.txt" 2>&1 &
  BG+=($!)
}
table_watch() { # every ~0.25 s: the lines of $EXPECTED missing from the table (extra ones are not counted)
  (while :; do
    missing=$(comm -23 <(echo "$EXPECTED") <(table))
    [[ -z $missing ]] || printf '%s missing:\n%s\n' "$(date +%T.%N)" "$missing"
    echo sample >>"$WORK/samplecount.txt"
    sleep 0.25
  done) >"$WORK/tablesamples.txt" 2>&1 &
  BG+=($!)
}
client_ran() { (($(wc -l <"$WORK/client.txt") >= $1)); }
client_failures() { grep -cvxE 'rs[12]' "$WORK/client.txt"; }
check_client() { # NAME
  local total bad
  total=$(wc -l <"$WORK/client.txt")
  bad=$(client_failures)
  if ((total > 0 && bad == 0)); then
    pass "$1: $total client requests through the VIP, none failed"
  else
    fail "$1: $bad of $total client requests failed: $(grep -vxE 'rs[12]' "$WORK/client.txt" | sort | uniq -c | head -3)"
  fi
}
check_vip_kept() { # NAME
  if grep -q "^Deleted.*$VIP/" "$WORK/monitor.txt"; then
    fail "$1: ip monitor saw the VIP deleted: $(grep "^Deleted.*$VIP/" "$WORK/monitor.txt" | head -1)"
  else
    pass "$1: ip monitor address saw no deletion of the VIP"
  fi
  if [[ -s $WORK/vipsamples.txt ]]; then
    fail "$1: $(wc -l <"$WORK/vipsamples.txt") 50 ms samples without the VIP: $(head -1 "$WORK/vipsamples.txt")"
  else
    pass "$1: the VIP was on the master at every 50 ms sample"
  fi
}
check_table_samples() { # NAME
  local samples
  samples=$(wc -l <"$WORK/samplecount.txt" 2>/dev/null)
  rm -f "$WORK/samplecount.txt"
  if [[ -s $WORK/tablesamples.txt ]]; then
    fail "$1: $(grep -c missing "$WORK/tablesamples.txt") of $samples samples of ipvsadm -Ln miss rules: $(head -8 "$WORK/tablesamples.txt" | tr '\n' '|')"
  else
    pass "$1: every rule in ipvsadm -Ln at all $samples samples (one each 0.25 s + ipvsadm's time)"
  fi
}

reload_conf() { # EXTRA SERVICES...: VRRP instance + the unchanged service on port 80 + the given blocks
  cat <<CONF
global_defs {
    router_id lab7
}
vrrp_instance VI_1 {
    state MASTER
    interface d0
    virtual_router_id 51
    priority 150
    advert_int 1
    virtual_ipaddress {
        $VIP/32 dev d0
    }
}
CONF
  local port w
  for port in "$@"; do
    w=1
    [[ $port == *:* ]] && w=${port#*:} && port=${port%%:*}
    cat <<CONF
virtual_server $VIP $port {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.11 $port {
        weight $w
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
    real_server 198.51.100.12 $port {
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
}
CONF
  done
}

CONF=$WORK/vigil.conf
# ------------------------------------------------------------------------------------------ reload ----
reload_conf 80 8080 >"$CONF"
vigild_start "$CONF"
start_failed() { # NAME: nothing else can pass
  tail -40 "$WORK/vigild.log"
  fatal "$1"
}
wait_for 120 holds_vip || start_failed "start: vigild never held the VIP"
pass "start: vigild holds the VIP as MASTER"
expect < <(svc_lines 80 1 1; svc_lines 8080 1 1)
wait_for 90 table_is_expected || start_failed "start: the table is not the configuration: $(table | tr '\n' '|')"
pass "start: two services, both real servers in each"
vip_watch
client_loop
wait_for 60 client_ran 3 || fail "the client loop does not run"
sleep 2.5 # the estimator folds connections into --stats every 2 s

reload_step() { # NAME PORTS...
  local name=$1 before after; shift
  before=$(conns 80)
  reload_conf "$@" >"$CONF"
  kill -HUP "$VIGILD_PID"
  if wait_for 60 table_is_expected; then
    pass "reload $name: ipvsadm -Ln is exactly the new configuration"
  else
    fail "reload $name: ipvsadm -Ln is not the new configuration: $(table | tr '\n' '|')"
    grep -iE 'reload|error' "$WORK/vigild.log" | tail -5
  fi
  sleep 2.5
  after=$(conns 80)
  if [[ -n $before && -n $after ]] && ((after > before)); then
    pass "reload $name: the unchanged service's connection counter goes on ($before -> $after)"
  else
    fail "reload $name: the unchanged service's connection counter: '$before' -> '$after' (reset or stalled)"
  fi
}
expect < <(svc_lines 80 1 1; svc_lines 8080 3 1)
reload_step "(a) weight 1 -> 3" 80 8080:3
expect < <(svc_lines 80 1 1; svc_lines 8080 3 1; svc_lines 443 1 1)
reload_step "(b) new service :443" 80 8080:3 443
expect < <(svc_lines 80 1 1; svc_lines 443 1 1)
reload_step "(c) service :8080 removed" 80 443

# An invalid file: virtual_router_id out of range.
before=$(table)
reload_conf 80 443 | sed 's/virtual_router_id 51/virtual_router_id 300/' >"$CONF"
bad_line=$(grep -n 'virtual_router_id 300' "$CONF" | cut -d: -f1)
kill -HUP "$VIGILD_PID"
sleep 2
check "invalid reload: vigild still running" kill -0 "$VIGILD_PID"
check "invalid reload: the error names vigil.conf:$bad_line" wait_for 10 grep -q "vigil.conf:$bad_line: error" "$WORK/vigild.log"
check "invalid reload: IPVS tables unchanged" test "$(table)" == "$before"
check "invalid reload: the VIP kept" holds_vip
status=$($D "$BIN/vigilctl" status --control-socket "$WORK/control.sock" 2>&1)
check "invalid reload: vigilctl status shows the refused reload" grep -q REFUSED <<<"$status"
stop_background
check_client "reload"
check_vip_kept "reload"
reload_conf 80 443 >"$CONF" # valid again, the same as the running configuration

# ------------------------------------------------------------------------------------------- chaos ----
vip_watch
client_loop
table_watch
kills=0
end=$((SECONDS + CHAOS_SECONDS))
while ((SECONDS < end)); do
  if ((RANDOM % 2)); then pidfile=vrrp.pid; else pidfile=checkers.pid; fi
  pid=$(cat "$WORK/$pidfile" 2>/dev/null)
  [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
  sleep 0.5
done
sleep 2
stop_background
echo "chaos: $kills workers killed with SIGKILL in $CHAOS_SECONDS s"
workers_up() { # both workers running and answering heartbeats again
  $D "$BIN/vigilctl" status --json --control-socket "$WORK/control.sock" 2>/dev/null | $PY -c '
import json, sys
workers = json.load(sys.stdin)["workers"]
sys.exit(0 if len(workers) == 2 and all(w.get("pid") and w.get("lastHeartbeatSecondsAgo") is not None for w in workers) else 1)'
}
if ((kills >= 6)); then pass "chaos: $kills live workers killed"; else fail "chaos: only $kills live workers killed"; fi
check "chaos: both workers back (watchdog back-off at most 30 s)" wait_for 45 workers_up
check "chaos: vigild still running" kill -0 "$VIGILD_PID"
check_client "chaos"
check_table_samples "chaos"
check_vip_kept "chaos"

# ------------------------------------------------------------------------------------------- adopt ----
sleep 2.5
before=$(conns 80)
vip_watch
table_watch
wd=$(cat "$WORK/vigild.pid") vr=$(cat "$WORK/vrrp.pid") ck=$(cat "$WORK/checkers.pid")
kill -9 "$vr" "$ck" "$wd"
wait "$VIGILD_PID" 2>/dev/null
VIGILD_PID=
vigild_start "$CONF"
check "adopt: the new vigild holds the VIP" wait_for 90 holds_vip
sleep 5 # a few check rounds and adverts of the new vigild
client_loop
sleep 3
stop_background
check_table_samples "adopt"
after=$(conns 80)
if [[ -n $before && -n $after ]] && ((after > before)); then
  pass "adopt: the service's connection counter was kept ($before -> $after): rules adopted, not re-added"
else
  fail "adopt: the service's connection counter '$before' -> '$after' (reset: the rules were re-created)"
fi
check_client "adopt"
if grep -q "^Deleted.*$VIP/" "$WORK/monitor.txt"; then
  echo "INFO: adopt: the VIP was deleted and re-added by the restarted vigild"
else
  echo "INFO: adopt: the VIP was never deleted across the restart"
fi
stop_vigild
no_configured_service() { [[ $(table) != *"$VIP:80 "* && $(table) != *"$VIP:443 "* ]]; }
check "stop: vigild removes the configured services" wait_for 20 no_configured_service
[[ -z $(table) ]] || echo "INFO: left in IPVS after stop: $(table | tr '\n' '|')"
$D ipvsadm -C

# ------------------------------------------------------------------------------------------- scale ----
scale_conf() { # WEIGHT of the real server of port 1500
  local port weight
  for ((port = 1000; port < 2000; port++)); do
    weight=1
    ((port == 1500)) && weight=$1
    printf 'virtual_server 192.0.2.101 %d {\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n' "$port"
    printf '  real_server 198.51.100.11 80 {\n    weight %d\n  }\n}\n' "$weight"
  done
}
scale_conf 1 >"$CONF"
: >"$WORK/vigild.log"
vigild_start "$CONF" -C
check "scale: 1,000 services in the kernel" \
  wait_for 120 bash -c "[[ \$($D ipvsadm -Ln | grep -c '^TCP') == 1000 ]]"
# The start's rules: written by the watchdog while the checker worker started, then adopted by the worker, which
# writes none of them again (one writer at a time).
check "scale: the watchdog wrote the start's rules" \
  grep -qE "IPVS rules at start: [0-9]+ changes for 1000 services written by the watchdog" "$WORK/vigild.log"
check "scale: the checker adopted them and wrote nothing" wait_for 30 \
  grep -q "IPVS already as configured: 1000 services adopted, nothing written" "$WORK/vigild.log"
check "scale: vigilctl status says who wrote them" bash -c \
  "$D '$BIN/vigilctl' status --control-socket '$WORK/control.sock' | grep -q 'IPVS rules at start: [0-9]* changes for 1000 services'"
sleep 2
applies=$(grep -c "applied [0-9]* IPVS changes" "$WORK/vigild.log")
scale_conf 5 >"$CONF"
weight_of_1500() { $D ipvsadm -Ln -t 192.0.2.101:1500 | awk '$1 == "->" && $2 == "198.51.100.11:80" {print $4}'; }
start=$(date +%s%N)
kill -HUP "$VIGILD_PID"
if wait_for 300 bash -c "[[ \$($D ipvsadm -Ln -t 192.0.2.101:1500 | grep -c ' 198.51.100.11:80 *Masq *5 ') == 1 ]]"; then
  elapsed=$((($(date +%s%N) - start) / 1000000))
  pass "scale: the new weight 5 is in the kernel"
  echo "MEASURE: 1,000-service reload, one weight changed: SIGHUP to new weight in the kernel: $elapsed ms (polled every 0.25 s)"
else
  fail "scale: weight of 192.0.2.101:1500 is $(weight_of_1500), not 5"
  echo "--- vigild log (tail) ---"
  tail -30 "$WORK/vigild.log"
fi
sleep 3
new=$(grep "applied [0-9]* IPVS changes" "$WORK/vigild.log" | tail -n +$((applies + 1)))
check "scale: the reload made exactly one IPVS write (log: ${new:-nothing})" test "$(grep -o 'applied [0-9]* IPVS' <<<"$new")" == "applied 1 IPVS"
# The running worker wrote it, as a reload: a busy worker is never replaced, and a restarted one would have re-read
# the whole table ("(configuration)") and taken seconds more.
check "scale: the running worker applied the reload (log: ${new:-nothing})" grep -q "(reload, 1 virtual servers changed)" <<<"$new"
check "scale: no worker was replaced during the scale step" bash -c "! grep -E 'killing it|restarting' '$WORK/vigild.log'"
check "scale: still 1,000 services" test "$($D ipvsadm -Ln | grep -c '^TCP')" == 1000
stop_vigild
# Stopped right after its start, while the start's rules are being written or just after: nothing is left, whether
# the checker worker was sent them (it releases them at its stop) or not (the watchdog takes back its own).
for pause in 0.3 1 2; do
  $D ipvsadm -C
  vigild_start "$CONF" -C
  sleep "$pause"
  stop_vigild
  check "scale: stopped $pause s after its start, vigild leaves no service ($($D ipvsadm -Ln | grep -c '^TCP') left)" \
    test "$($D ipvsadm -Ln | grep -c '^TCP')" == 0
  echo "INFO: stopped after $pause s: $(grep -oE 'removed [0-9]+ IPVS rules of the start' "$WORK/vigild.log" | tail -1 ||
    true) $(grep -c 'IPVS already as configured' "$WORK/vigild.log") adoptions so far"
done


# ------------------------------------------------------------------------------------------- drift ----
checker_stat() { # FIELD: a number from the checker worker's statistics (vigilctl status --json)
  $D "$BIN/vigilctl" status --json --control-socket "$WORK/control.sock" 2>/dev/null | $PY -c '
import json, sys
c = [w.get("checker") for w in json.load(sys.stdin)["workers"] if w.get("checker")]
print(c[0].get(sys.argv[1], "") if c else "")' "$1"
}
reload_conf 80 443 >"$CONF"
$D ipvsadm -C
: >"$WORK/vigild.log"
vigild_start "$CONF"
check "drift: the services are in the kernel" wait_for 60 table_is_expected_for 80 443
sleep 3
writes=$(checker_stat ipvsWrites)
sleep 12
check "drift: twelve quiet seconds of drift checks wrote nothing" test "$(checker_stat ipvsWrites)" == "$writes"
check "drift: and read the table only through the drift checks" test "$(checker_stat ipvsFullReads)" == 1
$D ipvsadm -d -t "$VIP:80" -r 198.51.100.11:80
start=$SECONDS
if wait_for 45 table_is_expected_for 80 443; then
  pass "drift: ipvsadm -d of one real server undone in $((SECONDS - start)) s (interval 30 s)"
else
  fail "drift: the deleted real server did not come back within 45 s"
fi
# ipvsadm -E of a service: found in the services list, which the drift check compares every 5 s or so.
$D ipvsadm -E -t "$VIP:443" -s wlc
start=$SECONDS
if wait_for 15 table_is_expected_for 80 443; then
  pass "drift: ipvsadm -E of a service's scheduler undone in $((SECONDS - start)) s"
else
  fail "drift: the edited service was not put back within 15 s: $(table | tr '\n' '|')"
fi
$D ipvsadm -C
start=$SECONDS
if wait_for 15 table_is_expected_for 80 443; then
  pass "drift: ipvsadm -C undone in $((SECONDS - start)) s"
else
  fail "drift: the flushed table did not come back within 15 s"
fi
check "drift: the repairs are counted" test "$(checker_stat ipvsRepairs)" -ge 1
check "drift: and logged" grep -q "changed behind Vigil's back" "$WORK/vigild.log"
stop_vigild

if ((failed)); then
  echo "--- ipvsadm -Ln (head) ---"
  listing | head -20
  echo "--- vigild log (tail) ---"
  tail -40 "$WORK/vigild.log"
fi
summary
