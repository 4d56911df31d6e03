#!/usr/bin/env bash
# Issue 18's acceptance on real IPVS with real traffic (kernel lab), and `scripts/demo anycast`. The host suite's
# topology and configurations (Tests/Namespaces/anycast/lib.sh): a router with FRR bgpd (ECMP, maximum-paths 8,
# fib_multipath_hash_policy=1, BGP timers 3/9 on every session), three LVS-DR directors each running vigild (IPVS,
# virtual_server 203.0.113.10:80 with announce_up 3 / announce_down 2, TCP_CHECK on three real servers) beside a BGP
# daemon (ac-d1, ac-d3 FRR; ac-d2 BIRD 2); real servers ac-w1..w3 (Tests/KernelLab/ipvs/httpd.py, keep-alive), the
# VIP on their lo; and here also a client ac-c (203.0.113.200) behind the router, which the real servers answer
# through the router (198.51.100.254 on their segment). Checks:
#   - the router's RIB (vtysh) and FIB (ip route) hold the VIP with 3 next hops;
#   - 90 requests from new source ports: every one answered, spread over the three directors (ipvsadm --stats);
#   - lb_algo mh + lvs_sloppy_tcp: a keep-alive connection's director has its link taken down: the route leaves the
#     router by the hold time, and the connection goes on through another director to the same real server; the
#     same with lb_algo rr and lvs_sloppy_tcp off (control): it breaks;
#   - real servers stopped one by one: withdrawn below announce_down, announced again at announce_up, no flap;
#   - each director's checker worker killed 5 times: the router keeps 3 next hops and receives no update;
#   - vigild stopped (SIGTERM): its next hop leaves the router;
#   - vigild's watchdog killed (SIGKILL): its orphaned checker worker withdraws the route, then empties IPVS.
# Waits are event waits with generous deadlines (TCG is 10-30x slower); times are printed, never asserted.
#
# Run: KERNEL_LAB_TIMEOUT=1800 Tests/KernelLab/kernel-lab run Tests/KernelLab/anycast/run-all.sh
# NETWORK RULE: only 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, inside these namespaces.
set -uo pipefail

if [[ "${KERNEL_LAB:-}" != 1 && "${1:-}" != --force ]]; then
  echo "anycast/run-all.sh: meant to run inside the kernel lab (or pass --force)" >&2
  exit 2
fi
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
HERE=$ROOT/Tests/KernelLab/anycast
BIN=${VIGIL_BIN:-$ROOT/.build/debug}
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)
WORK=$(mktemp -d /tmp/anycast-lab.XXXXXX)
chmod 755 "$WORK"
PIDS=()
# shellcheck source=Tests/Namespaces/lib.sh
. "$ROOT/Tests/Namespaces/lib.sh"
# shellcheck source=Tests/Namespaces/anycast/lib.sh
. "$ROOT/Tests/Namespaces/anycast/lib.sh"
NAMESPACES+=(ac-c)
CLIENT=203.0.113.200
started=$SECONDS
trap namespaces_cleanup EXIT

say() { printf '\n==> %s\n' "$*"; }
show() { sed 's/^/    /'; }
now_ms() { date +%s%3N; }
fatal() {
  fail "$*"
  ac_diagnose 2>&1 | tail -60
  echo "anycast: $passed passed, $failed failed"
  exit 1
}
[[ -x /usr/lib/frr/bgpd ]] || fatal "FRR is not installed (scripts/setup)"
command -v bird >/dev/null || fatal "BIRD 2 is not installed (scripts/setup)"
[[ -x $BIN/vigild ]] || fatal "$BIN/vigild not built"
# The VM's /run is a fresh tmpfs: the runtime directories the frr package creates at boot are not there.
install -d -o frr -g frr -m 755 /run/frr /var/tmp/frr

say "Network: a client behind a router (FRR, ECMP), three directors (vigild + FRR, BIRD, FRR), three real servers"
ac_topology
# ac-c is in NAMESPACES: ac_topology made it.
ip link add c0 netns ac-c type veth peer name c0 netns ac-r
ip -n ac-c addr add "$CLIENT/25" dev c0 && ip -n ac-c link set c0 up
ip -n ac-c route add default via 203.0.113.254
ip -n ac-r addr add 203.0.113.254/25 dev c0 && ip -n ac-r link set c0 up
# The real servers answer the client directly (LVS-DR) through the router, from the VIP: no reverse-path filter there.
ac_port ac-r eth1 br1 198.51.100.254/24
ip netns exec ac-r sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
  net.ipv4.conf.eth1.rp_filter=0
for n in 1 2 3; do
  # A director's own replies (a TCP reset for a connection its IPVS does not know) go back through the router.
  ip -n "ac-d$n" route add default via 192.0.2.254
  ip -n "ac-w$n" addr add "$VIP/32" dev lo
  ip netns exec "ac-w$n" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
    net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2
  ip -n "ac-w$n" route add default via 198.51.100.254
done

declare -A WEB
web_start() { # N
  HTTPD_KEEPALIVE=1 ip netns exec "ac-w$1" "$PY" "$ROOT/Tests/KernelLab/ipvs/httpd.py" "w$1" 80 >>"$WORK/w$1.log" 2>&1 &
  WEB[$1]=$!
  PIDS+=($!)
}
web_stop() { kill "${WEB[$1]}"; }
web_answers() { [[ $(ip netns exec ac-d1 curl -sS --noproxy '*' --max-time 5 "http://198.51.100.1$1/" 2>/dev/null) == "w$1" ]]; }
for n in 1 2 3; do web_start "$n"; done
for n in 1 2 3; do wait_for 60 web_answers "$n" || fatal "w$n's web server does not answer"; done

ac_router
ac_frr_director 1
ac_frr_director 3
ac_bird_director 2
export AC_SCHED=mh AC_SLOPPY=on
for ns in "${DIRECTORS[@]}"; do ac_vigil_start "$ns"; done
cat "$WORK/d1.conf" | show

say "Announce: the router learns the VIP from the three directors once their checks pass"
t0=$(now_ms)
wait_for 180 ac_paths_are 3 || fatal "the router learns $VIP with 3 next hops: $(ac_paths)"
pass "the router's RIB holds $VIP with 3 next hops (FRR, BIRD, FRR directors; $(($(now_ms) - t0)) ms after vigild started)"
ip -n ac-r route show "$VIP/32" | show
check "the router's kernel FIB has the 3 next hops (ip route)" bash -c '[[ $1 == 3 ]]' _ "$(ac_kernel_paths)"
services_ready() { # NS SCHED: the service with its scheduler and its 3 real servers in IPVS
  local out
  out=$(ip netns exec "$1" ipvsadm -Ln)
  [[ $out == *"TCP  $VIP:80 $2"* && $(grep -cE '198\.51\.100\.1[123]:80 +Route +1' <<<"$out") == 3 ]]
}
sloppy_is() { [[ $(ip netns exec "$1" sysctl -n net.ipv4.vs.sloppy_tcp) == "$2" ]]; }
for ns in "${DIRECTORS[@]}"; do
  check "$ns: IPVS holds $VIP:80 mh with 3 real servers, sloppy_tcp 1" \
    bash -c "$(declare -f services_ready sloppy_is); VIP=$VIP services_ready $ns mh && sloppy_is $ns 1"
done
ip netns exec ac-d1 ipvsadm -Ln | show
ip netns exec ac-d1 "$BIN/vigilctl" status --control-socket "$WORK/d1.sock" | grep -A1 '^anycast' | show

say "Traffic: 90 requests from new source ports, spread by the router over the three directors"
for ns in "${DIRECTORS[@]}"; do ip netns exec "$ns" ipvsadm -Z; done
replies=$(ip netns exec ac-c "$PY" "$HERE/client.py" spread "$VIP" 90)
answered=$(grep -cxE 'w[123]' <<<"$replies")
check "every request answered by a real server ($answered of 90; w1 $(grep -cx w1 <<<"$replies"), w2 $(grep -cx w2 <<<"$replies"), w3 $(grep -cx w3 <<<"$replies"))" \
  bash -c '[[ $1 == 90 ]]' _ "$answered"
conns() { ip netns exec "$1" ipvsadm -Ln --stats -t "$VIP:80" | awk '$1 == "TCP" {print $3}'; }
spread() { local ns; for ns in "${DIRECTORS[@]}"; do conns "$ns"; done | tr '\n' ' '; }
# The kernel's estimator folds the counters in every 2 s.
spread_complete() { (($(spread | awk '{print $1 + $2 + $3}') >= 90)); }
wait_for 30 spread_complete
per_director=$(spread)
check "the connections spread over the directors: ac-d1 ac-d2 ac-d3 = $per_director" \
  bash -c 'set -- $1; (($1 + $2 + $3 >= 90 && $1 > 0 && $2 > 0 && $3 > 0))' _ "$per_director"

# --- A long-lived connection when its director goes -------------------------------------------------------------
# director_of PORT [EXCEPT]: the directors (but EXCEPT) whose IPVS has an entry for the client's connection from PORT.
director_of() {
  local ns
  for ns in "${DIRECTORS[@]}"; do
    [[ $ns == "${2:-}" ]] && continue
    ip netns exec "$ns" ipvsadm -Lnc | grep -q " $CLIENT:$1 " && echo "$ns"
  done | tr '\n' ' '
}
entries() { # PORT: every director's IPVS entries for the client's connection from PORT
  local ns
  for ns in "${DIRECTORS[@]}"; do ip netns exec "$ns" ipvsadm -Lnc | grep " $CLIENT:$1 " | sed "s/^/$ns /"; done
}
oks() { grep -c '^ok ' "$1"; }
# long_lived NAME: starts a keep-alive stream and takes its director away (its link to the router down: vigild goes on,
# unaware, and IPVS keeps the connection); sets STREAM_LOG, GONE (the director), BEFORE (the real server before),
# LEFT_MS (when the route left the router).
long_lived() {
  STREAM_LOG=$WORK/stream-$1.log
  rm -f "$WORK/stop"
  ip netns exec ac-c "$PY" "$HERE/client.py" stream "$VIP" "$WORK/stop" >"$STREAM_LOG" 2>&1 &
  PIDS+=($!)
  wait_for 60 bash -c "(( \$(grep -c '^ok ' $STREAM_LOG) >= 5 ))" || fatal "$1: the stream got no replies"
  local port t
  port=$(sed -n 's/^port //p' "$STREAM_LOG")
  GONE=$(director_of "$port")
  GONE=${GONE% }
  BEFORE=$(grep '^ok ' "$STREAM_LOG" | tail -n 1 | cut -d' ' -f2)
  [[ $GONE == ac-d? ]] || fatal "$1: no single director holds the connection from port $port: '$GONE'"
  log "$1: the connection from port $port goes through $GONE to $BEFORE; $GONE's link to the router goes down at $(date +%s.%1N)"
  t=$(now_ms)
  ip -n "$GONE" link set eth0 down
  if wait_for 120 ac_paths_are 2; then
    LEFT_MS=$(($(now_ms) - t))
    pass "$1: $GONE cut off: its next hop left the router ${LEFT_MS} ms later (hold time ${BGP_HOLD} s)"
    entries "$port" | show
  else
    fail "$1: $GONE cut off: the router still has $(ac_paths) next hops after 120 s"
  fi
}
# restore: GONE's link up again; the router has 3 next hops.
restore() {
  ip -n "$GONE" link set eth0 up
  wait_for 180 ac_paths_are 3 || fatal "$GONE back: the router has $(ac_paths) next hops"
}

# reconfigure SCHED SLOPPY SYSCTL: every director's configuration rewritten with lvs_sched SCHED and lvs_sloppy_tcp
# SLOPPY, and reloaded (SIGHUP); checks that IPVS and net.ipv4.vs.sloppy_tcp (SYSCTL) follow.
reconfigure() {
  local ns before
  before=$(changes)
  export AC_SCHED=$1 AC_SLOPPY=$2
  for ns in "${DIRECTORS[@]}"; do
    ac_vigil_config "$ns" >"$WORK/${ns#ac-}.conf"
    kill -HUP "$(cat "$WORK/${ns#ac-}.vigild")"
  done
  for ns in "${DIRECTORS[@]}"; do
    check "$ns reloaded: $1, sloppy_tcp $3" wait_for 60 bash -c \
      "$(declare -f services_ready sloppy_is); VIP=$VIP services_ready $ns $1 && sloppy_is $ns $3"
  done
  sleep 2
  log "the directors' announcement changes (vigilctl status) across the reload: $before-> $(changes)"
}
changes() { local ns; for ns in "${DIRECTORS[@]}"; do ac_anycast changes "$ns"; done | tr '\n' ' '; }

say "A long-lived connection with lb_algo mh + lvs_sloppy_tcp: its director is cut off"
long_lived mh
n=$(oks "$STREAM_LOG")
wait_for 120 bash -c "grep -q '^broken' $STREAM_LOG || (( \$(grep -c '^ok ' $STREAM_LOG) >= $n + 10 ))"
now=$(director_of "$(sed -n 's/^port //p' "$STREAM_LOG")" "$GONE")
entries "$(sed -n 's/^port //p' "$STREAM_LOG")" | show
touch "$WORK/stop"
servers=$(grep '^ok ' "$STREAM_LOG" | cut -d' ' -f2 | sort -u | tr '\n' ' ')
stall=$(grep '^ok ' "$STREAM_LOG" | sort -k3 -n | tail -n 1 | cut -d' ' -f3)
check "mh: the connection went on ($(oks "$STREAM_LOG") replies, the longest wait $stall ms, no break)" \
  bash -c "! grep -q '^broken' $STREAM_LOG && (( \$(grep -c '^ok ' $STREAM_LOG) >= $n + 10 ))"
check "mh: every reply from the same real server ($servers)" bash -c '[[ $1 == "$2 " ]]' _ "$servers" "$BEFORE"
# One or both of the others: while the router's ECMP set changes, the flow's packets may reach either before it settles.
check "mh: the connection is now in another director's IPVS ($now; was $GONE)" bash -c '[[ $1 == *ac-d?" "* ]]' _ "$now"
log "mh: replies that took over 500 ms: $(awk '$1 == "ok" && $3 > 500 {print NR ": " $3 " ms at " $4}' "$STREAM_LOG" | tr '\n' ' ')"
mh_left=${LEFT_MS:-none}
restore

say "Control: the same with lb_algo rr and lvs_sloppy_tcp off on every director"
reconfigure rr off 0
wait_for 60 ac_paths_are 3 || fatal "after the reload the router has $(ac_paths) next hops"
long_lived rr
check "rr: the connection breaks once its director is gone" wait_for 120 grep -q '^broken' "$STREAM_LOG"
touch "$WORK/stop"
tail -n 2 "$STREAM_LOG" | show
restore
reconfigure mh on 1

say "Health: real servers stopped one by one (announce_down 2), then started again (announce_up 3)"
touch "$WORK/samples"
ac_sampler_start
wait_for 60 test -s "$WORK/samples"
from=$(ac_mark)
before=$(ac_updates)
web_stop 1
check "w1 stopped: 2/3 up, between the watermarks: stays announced" \
  wait_for 60 ac_all_reasons_contain "2/3 up, between announce_down 2 and announce_up 3: stays announced"
check "w1 gone from every director's IPVS" bash -c \
  "for ns in ${DIRECTORS[*]}; do ip netns exec \$ns ipvsadm -Ln | grep -q 198.51.100.11 && exit 1; done; exit 0"
sleep 2
check "w1 stopped: the router still has 3 next hops" ac_paths_are 3
t=$(now_ms)
web_stop 2
check "w2 stopped (1/3 up < announce_down 2): withdrawn at the router" wait_for 180 ac_paths_are 0
log "withdrawn at the router $(($(now_ms) - t)) ms after w2 stopped (delay_loop 1, connect_timeout 1)"
ip -n ac-r route show "$VIP/32" | show
check "the client's requests no longer reach the VIP" bash -c \
  "! ip netns exec ac-c curl -sS --noproxy '*' --max-time 3 http://$VIP/ >/dev/null 2>&1"
web_start 2
check "w2 back: 2/3 up, stays withdrawn" \
  wait_for 60 ac_all_reasons_contain "2/3 up, between announce_down 2 and announce_up 3: stays withdrawn"
sleep 2
check "w2 back: the router still has no route" ac_paths_are 0
t=$(now_ms)
web_start 1
check "w1 back (3/3 up): announced again, 3 next hops" wait_for 180 ac_paths_are 3
log "announced at the router $(($(now_ms) - t)) ms after w1 started"
check "and the client is answered again" bash -c \
  "[[ \$(ip netns exec ac-c curl -sS --noproxy '*' --max-time 10 http://$VIP/) == w? ]]"
sleep 1
seen=$(ac_sampled "$from" "$(ac_mark)")
after=$(ac_updates)
log "router's next hops through the cycle: $seen; UPDATEs from ac-d1 ac-d2 ac-d3: $before-> $after"
# shellcheck disable=SC2086 # one sample a word
check "no flap at the router: the next hops only fall, then only rise ($seen)" ac_no_flap $seen
check "exactly 2 UPDATEs from the BIRD director through the cycle (withdraw, announce)" \
  bash -c '[[ $(( $(echo $2 | cut -d" " -f2) - $(echo $1 | cut -d" " -f2) )) == 2 ]]' _ "$before" "$after"

say "Resilience: the checker worker of ac-d1 and ac-d2 killed 5 times each: nothing is withdrawn"
from=$(ac_mark)
before=$(ac_updates)
ac_kill_checkers 5 ac-d1 ac-d2
# At least 5 kills in each log: under TCG the watchdog may also have killed a starved worker as hung.
kills=$(grep -c 'checker worker (pid [0-9]*) was killed by signal 9' "$WORK/d1.log" "$WORK/d2.log" | tr '\n' ' ')
check "checker workers replaced 5 times on ac-d1 (FRR) and ac-d2 (BIRD) (kills logged: $kills)" bash -c \
  'for k in $1; do ((${k#*:} >= 5)) || exit 1; done' _ "$kills"
sleep 3
seen=$(ac_sampled "$from" "$(ac_mark)")
check "the router kept 3 next hops throughout ($seen)" bash -c "[[ '$seen' == '3 ' ]]"
check "the router received no update from any director ($before -> $(ac_updates))" ac_updates_grew_by "$before" 0

say "Stop: vigild on ac-d1 stopped (SIGTERM) withdraws its next hop first"
t=$(now_ms)
kill "$(cat "$WORK/d1.vigild")"
check "vigild SIGTERM on ac-d1: the router has 2 next hops" wait_for 60 ac_paths_are 2
log "ac-d1's next hop left the router $(($(now_ms) - t)) ms after SIGTERM"

say "Crash: vigild's watchdog on ac-d3 killed (SIGKILL): the orphaned checker worker withdraws the route, then IPVS"
t=$(now_ms)
kill -9 "$(cat "$WORK/d3.vigild")"
if wait_for 120 ac_paths_are 1; then
  killed_left=$(($(now_ms) - t))
  pass "vigild SIGKILL on ac-d3: its next hop left the router ${killed_left} ms later (withdrawn by its checker worker)"
else
  fail "vigild SIGKILL on ac-d3: the router still has $(ac_paths) next hops after 120 s"
  ip -n ac-d3 route show table 100 | show
  grep -E "anycast|watchdog|stop" "$WORK/d3.log" | tail -n 15 | show
fi
check "ac-d3's IPVS emptied after the route (no real server left)" wait_for 60 bash -c \
  "! ip netns exec ac-d3 ipvsadm -Ln | grep -q Route"
ip -n ac-r route show "$VIP/32" | show

echo
echo "MEASURED spread ac-d1 ac-d2 ac-d3 = $per_director; route gone ${mh_left} ms after a link down (mh)," \
  "${killed_left:-none} ms after vigild SIGKILL (hold ${BGP_HOLD} s); mh stream: $servers," \
  "rr stream: $(grep '^broken' "$WORK/stream-rr.log")"
echo "anycast: $passed passed, $failed failed in $((SECONDS - started)) s"
if ((failed)); then
  ac_diagnose 2>&1 | tail -60
  tail -n 30 "$WORK/d1.log"
  exit 1
fi
