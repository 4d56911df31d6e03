#!/usr/bin/env bash
# The watchdog's reload and stop keywords (issue 15), one daemon in one namespace:
# - reload_file: a file the updating program creates before SIGHUP is gone once the reload has read the files;
# - reload_check_config FILE: a file with an error is checked first, the check written to FILE, the old
#   configuration (its VIP) kept;
# - reload_time_file: a time of day written to the file reloads then (the new VIP appears), the file removed after;
# - max_auto_priority / min_auto_priority_delay: a checker worker whose loop runs late moves itself to SCHED_RR 1,
#   then 2 (chrt -p on every thread), with RLIMIT_RTTIME from checker_rlimit_rttime;
# - config_save_dir: the applied reload saved before and after (the refused one nothing);
# - operators' requests: what answering `vigilctl status`, and serving /metrics and the status page (metrics_listen),
#   ran is given back 10 s after the last request;
# - disable_local_igmp: net.ipv4.igmp_link_local_mcast_reports 0 in the namespace while vigild runs, 1 again after;
# - child_wait_time 60: at stop, a worker that does not answer (SIGSTOP) is waited for past the 5 s default, not
#   killed; once it runs again it releases its VIP and vigild exits.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
BIN=${VIGIL_BIN:-$ROOT/.build/debug}
WORK=$(mktemp -d /tmp/reloads.XXXXXX)
NS=rl-a
VIGIL=""
# shellcheck source=Tests/Namespaces/lib.sh
. "$ROOT/Tests/Namespaces/lib.sh"

lone_namespace

# write_config EXTRA_VIP EXTRA_LINE: the configuration, with a second VIP and one more line in global_defs.
write_config() {
  cat >"$WORK/vigil.conf" <<CONF
global_defs {
  reload_file $WORK/vigil.reload
  reload_check_config $WORK/check.log
  reload_time_file $WORK/reload-at
  config_save_dir $WORK/saved
  disable_local_igmp
  max_auto_priority 2
  min_auto_priority_delay 100000
  # The test's stalls spin 200 ms without blocking; keepalived's 10 ms default would have the kernel kill them.
  checker_rlimit_rttime 2000000
  $2
  metrics_listen 127.0.0.1:9166
}
child_wait_time 60
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 63
  priority 100
  advert_int 1
  virtual_ipaddress {
    192.0.2.170/24
    $1
  }
}
virtual_server 192.0.2.172 80 {
  real_server 192.0.2.1 80 {
    TCP_CHECK {
    }
  }
}
CONF
}

has() { [[ $(ip -n "$NS" -o addr show dev eth0) == *" $1/"* ]]; }
lacks() { ! has "$1"; }
wait_for() { local n; for ((n = 0; n < $1 * 10; n++)); do "${@:2}" && return 0; sleep 0.1; done; return 1; }
log_has() { grep -q "$1" "$WORK/vigil.log"; }
vigilctl() { "$BIN/vigilctl" "$@" --control-socket "$WORK/v.sock"; }
status_has() { vigilctl status 2>&1 | grep -q "$1"; }
# rr_threads PID PRIORITY: every thread of PID runs SCHED_RR at PRIORITY.
rr_threads() {
  local task
  for task in /proc/"$1"/task/*; do
    [[ $(chrt -p "${task##*/}" 2>/dev/null) == *SCHED_RR*"priority: $2"* ]] || return 1
  done
}

write_config "" ""
igmp() { ip netns exec "$NS" sysctl -n net.ipv4.igmp_link_local_mcast_reports; }
ip netns exec "$NS" sysctl -qw net.ipv4.igmp_link_local_mcast_reports=1
ip netns exec "$NS" "$BIN/vigild" -n -l -f "$WORK/vigil.conf" -p "$WORK/v.pid" -r "$WORK/v-vrrp.pid" \
  -c "$WORK/v-check.pid" --control-socket "$WORK/v.sock" >"$WORK/vigil.log" 2>&1 &
VIGIL=$!
wait_for 15 has 192.0.2.170
check "the lone instance is MASTER with its VIP" has 192.0.2.170
VRRP=$(cat "$WORK/v-vrrp.pid")
check "disable_local_igmp: igmp_link_local_mcast_reports is 0 in the namespace while vigild runs" test "$(igmp)" = 0

# max_auto_priority: a loop 800 ms late (past the 100 ms delay) raises the worker; a second time, one more. The
# checker worker, which starts on the normal scheduler (the VRRP worker is SCHED_RR 1 by default).
wait_for 10 test -s "$WORK/v-check.pid"
CHECK=$(cat "$WORK/v-check.pid")
check "the checker worker starts on the normal scheduler" bash -c "chrt -p $CHECK | grep -q SCHED_OTHER"
vigilctl debug-stall checker 800 --slices 4 >/dev/null
wait_for 10 rr_threads "$CHECK" 1
check "max_auto_priority: after a late loop every thread of the checker worker runs SCHED_RR 1" rr_threads "$CHECK" 1
limits=$(awk '/Max realtime timeout/ { print $4, $5 }' "/proc/$CHECK/limits")
check "RLIMIT_RTTIME set from checker_rlimit_rttime at the first raise ($limits)" test "$limits" = "1000000 2000000"
vigilctl debug-stall checker 800 --slices 4 >/dev/null
wait_for 10 rr_threads "$CHECK" 2
check "max_auto_priority: a second late loop raises it to 2" rr_threads "$CHECK" 2
vigilctl debug-stall checker 800 --slices 4 >/dev/null
sleep 2
check "max_auto_priority 2: never above 2" rr_threads "$CHECK" 2
check "the worker logs why" log_has "ms late (min_auto_priority_delay 100 ms): raising the worker to SCHED_RR priority 2"
check "the same checker worker all along" test "$(cat "$WORK/v-check.pid")" = "$CHECK"

# reload_check_config: an error in the new file is checked first and written to the log file; nothing changes.
echo "x" >"$WORK/vigil.reload"
write_config "192.0.2.171/24" "vrrp_version 9"
kill -HUP "$VIGIL"
wait_for 10 grep -q "error" "$WORK/check.log"
check "reload_check_config: the check names the bad line in its file" \
  grep -q "vigil.conf:11: error: 'vrrp_version' must be a whole number from 2 to 3" "$WORK/check.log"
check "reload_check_config: the check's summary too" grep -q "vigil.conf: 1 error" "$WORK/check.log"
check "the refusal is logged, pointing at the file" wait_for 10 log_has "failed validation (exit status 1), see $WORK/check.log"
check "reload_file: gone once the refused reload read the files" test ! -e "$WORK/vigil.reload"
sleep 1
check "the running configuration stays: no second VIP" lacks 192.0.2.171
check "vigilctl status shows the refused reload" status_has "failed validation"

# reload_time_file: the good file is loaded at the time written, not before.
write_config "192.0.2.171/24" ""
echo "x" >"$WORK/vigil.reload"
date -d "@$(($(date +%s) + 6))" +%H:%M:%S >"$WORK/reload-at"
wait_for 5 log_has "reload_time_file $WORK/reload-at: reload scheduled for"
check "reload_time_file: the reload is scheduled" log_has "reload_time_file $WORK/reload-at: reload scheduled for"
check "no reload before the time" lacks 192.0.2.171
wait_for 20 has 192.0.2.171
check "reload_time_file: the new VIP appears at the time written" has 192.0.2.171
check "reload_time_file: the file is removed (no reload_repeat)" test ! -e "$WORK/reload-at"
check "reload_file: removed after a reload that applied" test ! -e "$WORK/vigil.reload"
check "reload_check_config: the passing check is written too" grep -q "vigil.conf: 0 errors" "$WORK/check.log"
# The VRRP worker may add the VIP before the watchdog has written the state after the reload: its log line follows.
wait_for 10 log_has "reloaded $WORK/vigil.conf"
saved=$WORK/saved/vigild.$VIGIL.1
check "config_save_dir: the refused reload saved nothing, the applied one its state before" \
  bash -c "[[ -e $saved.pre && ! -e $WORK/saved/vigild.$VIGIL.2.pre ]] && ! grep -q 192.0.2.171 $saved.pre && grep -q 192.0.2.170 $saved.pre"
check "config_save_dir: and after (the new VIP in the configuration)" grep -q "192.0.2.171" "$saved.post"

# An operator's requests: what answering them ran is given back once they stop (MemoryTrim.settleDelay, 10 s after the
# last one). First the reload's own trims are over (the one after its load, and the settled one 10 s later).
wait_for 20 bash -c "(( \$(grep -c 'memory given back once settled' '$WORK/vigil.log') >= 2 ))"
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$VIGIL/status"; }
rss_below() { (($(rss) < $1)); }
for _ in 1 2 3; do vigilctl status >/dev/null; done
asked=$(rss)
check "operators' requests: vigild gives back 1 MiB or more of what answering vigilctl status ran, 10 s after" \
  wait_for 20 rss_below $((asked - 1024))
for page in /metrics / /status.json; do ip netns exec "$NS" curl -sf -o /dev/null "http://127.0.0.1:9166$page"; done
asked=$(rss)
check "operators' requests: and of what serving /metrics and the status page ran" wait_for 20 rss_below $((asked - 1024))

# child_wait_time 60: a stopped worker is waited for past keepalived's 5 s default.
kill -STOP "$VRRP"
kill -TERM "$VIGIL"
sleep 7
check "child_wait_time 60: vigild still waits for its worker 7 s after SIGTERM" kill -0 "$VIGIL"
check "child_wait_time 60: the worker is not killed" kill -0 "$VRRP"
kill -CONT "$VRRP"
for ((n = 0; n < 100; n++)); do kill -0 "$VIGIL" 2>/dev/null || break; sleep 0.1; done
check "vigild exits once the worker stopped" bash -c "! kill -0 $VIGIL 2>/dev/null"
wait "$VIGIL" 2>/dev/null
VIGIL=""
check "the worker released its VIP" lacks 192.0.2.170
check "nothing was killed" bash -c "! grep -q 'did not stop within' $WORK/vigil.log"
check "disable_local_igmp: igmp_link_local_mcast_reports back to 1 once vigild stopped" test "$(igmp)" = 1

echo "$passed passed, $failed failed"
((failed == 0))
