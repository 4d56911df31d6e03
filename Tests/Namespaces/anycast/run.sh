#!/usr/bin/env bash
# Issue 18 on this kernel (no IPVS here: the checker worker checks and reports without it), between namespaces:
#   ac-r          FRR zebra + bgpd, AS 65000, 192.0.2.254, ECMP (maximum-paths 8, multipath-relax)
#   ac-d1, ac-d3  vigild + FRR (ip import-table 100, redistribute table 100), AS 65001 / 65003, 192.0.2.1 / .3
#   ac-d2         vigild + BIRD 2 (kernel protocol on table 100 with learn, exported to bgp), AS 65002, 192.0.2.2
#   ac-w1..w3     web servers (busybox httpd) 198.51.100.11-13, which every director checks (TCP_CHECK)
# The directors announce 203.0.113.10 (announce_up 3, announce_down 2 of 3 real servers). Asserted on the router
# (vtysh 'show ip route json'): 3 next hops; web servers stopped one by one: still 3 at 2 up (between the
# watermarks), 0 at 1 up, still 0 at 2 up again, 3 at 3 up — the router's count sampled every 0.2 s never goes
# back and forth (no flap); each director's vigilctl status says why and counts 3 changes. The checker worker of a
# director killed 5 times: the router keeps 3 next hops throughout. vigild SIGTERM on ac-d1: 2 next hops, its
# table 100 empty; vigild started again: 3. vigild SIGKILL on ac-d3: its route stays (nothing withdraws it), and a
# new vigild adopts it without a withdrawal.
# NETWORK RULE: only 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, inside these namespaces.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
BIN=${VIGIL_BIN:-$ROOT/.build/debug}
WORK=$(mktemp -d /tmp/anycast-suite.XXXXXX)
chmod 755 "$WORK"
PIDS=()
# shellcheck source=Tests/Namespaces/lib.sh
. "$ROOT/Tests/Namespaces/lib.sh"
[[ $(id -u) == 0 ]] || { echo "FAIL: anycast needs root"; exit 1; }
[[ -x /usr/lib/frr/bgpd ]] || { echo "FAIL: FRR is not installed (scripts/setup)"; exit 1; }
command -v bird >/dev/null || { echo "FAIL: BIRD 2 is not installed (scripts/setup)"; exit 1; }
[[ -x $BIN/vigild ]] || { echo "FAIL: $BIN/vigild not built"; exit 1; }

NAMESPACES=(ac-sw ac-r ac-d1 ac-d2 ac-d3 ac-w1 ac-w2 ac-w3)
DIRECTORS=(ac-d1 ac-d2 ac-d3)
VIP=203.0.113.10
started=$(date +%s)
cleanup() {
  [[ -n ${SAMPLER:-} ]] && kill "$SAMPLER" 2>/dev/null
  namespaces_cleanup
}
trap cleanup EXIT

log() { echo "$(date +%T) $*"; }
wait_for() { local n; for ((n = 0; n < $1 * 10; n++)); do "${@:2}" && return 0; sleep 0.1; done; return 1; }

# --- Topology: br0 (192.0.2.0/24) joins the router and the directors; br1 (198.51.100.0/24) the directors and the
# web servers.
for ns in "${NAMESPACES[@]}"; do ip netns add "$ns" && ip -n "$ns" link set lo up; done
for bridge in br0 br1; do ip -n ac-sw link add "$bridge" type bridge && ip -n ac-sw link set "$bridge" up; done
port() { # NS IFACE BRIDGE ADDRESS
  local side="${1#ac-}-$2"
  ip -n ac-sw link add "$side" type veth peer name "$2" netns "$1"
  ip -n ac-sw link set "$side" master "$3" up
  ip -n "$1" addr add "$4" dev "$2"
  ip -n "$1" link set "$2" up
}
port ac-r eth0 br0 192.0.2.254/24
ip netns exec ac-r sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1
for n in 1 2 3; do
  port "ac-d$n" eth0 br0 "192.0.2.$n/24"
  port "ac-d$n" eth1 br1 "198.51.100.$n/24"
  # The VIP is local on each director (IPVS takes what is delivered locally): an address on lo for BIRD; for FRR a
  # local route, since zebra's connected route of an address would outrank the imported one (README).
  if [[ $n == 2 ]]; then
    ip -n "ac-d$n" addr add "$VIP/32" dev lo
  else
    ip -n "ac-d$n" route add local "$VIP/32" dev lo
  fi
  port "ac-w$n" eth0 br1 "198.51.100.1$n/24"
done

# --- Web servers -----------------------------------------------------------------------------------------------
web_start() { # N
  mkdir -p "$WORK/www$1" && echo "w$1" >"$WORK/www$1/index.html"
  ip netns exec "ac-w$1" busybox httpd -f -p "198.51.100.1$1:80" -h "$WORK/www$1" &
  echo $! >"$WORK/web$1.pid"
  PIDS+=($!)
}
web_stop() { kill "$(cat "$WORK/web$1.pid")"; }
for n in 1 2 3; do web_start "$n"; done

# --- The router -------------------------------------------------------------------------------------------------
mkdir -p "$WORK/r"
echo "hostname ac-r" >"$WORK/r/zebra.conf"
cat >"$WORK/r/bgpd.conf" <<CONF
hostname ac-r
router bgp 65000
 bgp router-id 192.0.2.254
 no bgp ebgp-requires-policy
 bgp bestpath as-path multipath-relax
 timers bgp 3 9
 neighbor 192.0.2.1 remote-as 65001
 neighbor 192.0.2.2 remote-as 65002
 neighbor 192.0.2.3 remote-as 65003
 address-family ipv4 unicast
  maximum-paths 8
 exit-address-family
CONF
frr_daemon ac-r "$WORK/r" zebra
frr_daemon ac-r "$WORK/r" bgpd

# --- The directors' BGP daemons (the snippets of the README) -----------------------------------------------------
frr_director() { # N
  local dir="$WORK/d$1"
  mkdir -p "$dir"
  printf 'hostname ac-d%s\nip import-table 100\n' "$1" >"$dir/zebra.conf"
  # Origin IGP, as BIRD sends it: ECMP needs the paths equal up to the router ID. Nothing is taken from the router
  # (as BIRD's import none): else the router's paths come back and count as updates received.
  cat >"$dir/bgpd.conf" <<CONF
hostname ac-d$1
route-map vigil permit 10
 set origin igp
route-map none deny 10
router bgp 6500$1
 bgp router-id 192.0.2.$1
 no bgp ebgp-requires-policy
 timers bgp 3 9
 neighbor 192.0.2.254 remote-as 65000
 address-family ipv4 unicast
  redistribute table 100 route-map vigil
  neighbor 192.0.2.254 route-map none in
 exit-address-family
CONF
  frr_daemon "ac-d$1" "$dir" zebra
  frr_daemon "ac-d$1" "$dir" bgpd
}
frr_director 1
frr_director 3
mkdir -p "$WORK/d2"
cat >"$WORK/d2/bird.conf" <<CONF
router id 192.0.2.2;
log "$WORK/d2/bird.log" all;
protocol device { }
protocol kernel vigil {
  kernel table 100;
  learn;
  ipv4 { import all; export none; };
}
protocol bgp uplink {
  local 192.0.2.2 as 65002;
  neighbor 192.0.2.254 as 65000;
  hold time 9;
  ipv4 { import none; export where proto = "vigil"; next hop self; };
}
CONF
ip netns exec ac-d2 bird -f -c "$WORK/d2/bird.conf" -s "$WORK/d2/bird.ctl" -P "$WORK/d2/bird.pid" \
  >"$WORK/d2/bird.out" 2>&1 &
PIDS+=($!)

# --- vigild on each director ------------------------------------------------------------------------------------
vigil_config() { # NAME
  cat <<CONF
global_defs {
  router_id $1
  announce_table 100
}
virtual_server $VIP 80 {
  protocol TCP
  lvs_sched mh
  mh-port
  lvs_method DR
  delay_loop 1
  alpha
  announce_up 3
  announce_down 2
  real_server 198.51.100.11 80 {
    TCP_CHECK {
      connect_timeout 1
    }
  }
  real_server 198.51.100.12 80 {
    TCP_CHECK {
      connect_timeout 1
    }
  }
  real_server 198.51.100.13 80 {
    TCP_CHECK {
      connect_timeout 1
    }
  }
}
CONF
}
vigil_start() { # NS
  local d=${1#ac-}
  vigil_config "$1" >"$WORK/$d.conf"
  ip netns exec "$1" "$BIN/vigild" -n -l -f "$WORK/$d.conf" -p "$WORK/$d.pid" -r "$WORK/$d-vrrp.pid" \
    -c "$WORK/$d-check.pid" -b "$WORK/$d-bfd.pid" --control-socket "$WORK/$d.sock" >>"$WORK/$d.log" 2>&1 &
  echo $! >"$WORK/$d.vigild"
  PIDS+=($!)
}
for ns in "${DIRECTORS[@]}"; do vigil_start "$ns"; done

# --- What the router and the directors show ---------------------------------------------------------------------
paths() { # the router's next hops for the VIP (0 without a route)
  vtysh --vty_socket "$WORK/r" -c "show ip route $VIP/32 json" 2>/dev/null | python3 -c '
import json, sys
try:
    routes = json.load(sys.stdin).get(sys.argv[1], [])
except ValueError:
    routes = []
print(sum(1 for r in routes if r.get("selected") for h in r.get("nexthops", []) if h.get("fib")))' "$VIP/32"
}
paths_are() { [[ $(paths) == "$1" ]]; }
updates() { # the UPDATE messages the router has received from each director, "N N N"
  local n
  for n in 1 2 3; do
    vtysh --vty_socket "$WORK/r" -c "show bgp neighbors 192.0.2.$n json" 2>/dev/null |
      python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]]["messageStats"]["updatesRecv"])' "192.0.2.$n"
  done | tr '\n' ' '
}
# updates_grew_by BEFORE N: each director's count grew by exactly N since BEFORE.
updates_grew_by() {
  python3 -c 'import sys; a, b = sys.argv[1].split(), sys.argv[2].split(); sys.exit(0 if all(int(y) - int(x) == int(sys.argv[3]) for x, y in zip(a, b)) else 1)' "$1" "$(updates)" "$2"
}
# anycast FIELD NS: the VIP's announced/reason/changes in the director's vigilctl status --json.
anycast() {
  ip netns exec "$2" "$BIN/vigilctl" status --json --control-socket "$WORK/${2#ac-}.sock" 2>/dev/null | python3 -c '
import json, sys
a = [x for x in (json.load(sys.stdin).get("anycast") or {}).get("addresses", []) if x["address"] == sys.argv[2]]
print(a[0][sys.argv[1]] if a else "none")' "$1" "$VIP"
}
all_reasons_contain() { # TEXT: every director's reason contains TEXT
  local ns
  for ns in "${DIRECTORS[@]}"; do [[ $(anycast reason "$ns") == *"$1"* ]] || return 1; done
}
table_holds() { ip -n "$1" route show table 100 proto 18 | grep -q "blackhole $VIP"; }
sampled() { # FROM TO: the router's counts sampled between two sample line numbers, deduplicated in a row
  sed -n "$1,$2p" "$WORK/samples" | uniq | tr '\n' ' '
}
mark() { wc -l <"$WORK/samples"; }

# The router samples its next hops every 0.2 s from here on.
(while true; do paths >>"$WORK/samples"; sleep 0.2; done) &
SAMPLER=$!
PIDS+=("$SAMPLER")

# What each BGP daemon holds, when a check on the router fails.
diagnose() {
  vtysh --vty_socket "$WORK/r" -c "show bgp ipv4 unicast" -c "show ip route $VIP/32"
  vtysh --vty_socket "$WORK/d1" -c "show ip route" -c "show bgp ipv4 unicast"
  ip netns exec ac-d2 birdc -s "$WORK/d2/bird.ctl" show route all
  ip netns exec ac-d2 birdc -s "$WORK/d2/bird.ctl" show protocols
}
if wait_for 60 paths_are 3; then
  pass "the router learns $VIP with 3 next hops (FRR, BIRD, FRR directors)"
else
  fail "the router learns $VIP with 3 next hops (FRR, BIRD, FRR directors): $(paths)"
  diagnose
  [[ ${ANYCAST_STOP_EARLY:-0} == 1 ]] && exit 1
fi
for ns in "${DIRECTORS[@]}"; do
  check "$ns: the route is in table 100 (blackhole, proto 18), status says 3/3 up" \
    bash -c "$(declare -f table_holds); VIP=$VIP table_holds $ns"
done
check "every director's reason: 3/3 up >= announce_up 3" all_reasons_contain "3/3 up >= announce_up 3"
ip netns exec ac-d1 "$BIN/vigilctl" status --control-socket "$WORK/d1.sock" | grep -A1 '^anycast'

# --- Hysteresis: web servers stopped one by one, then started again ---------------------------------------------
from=$(mark)
before=$(updates)
web_stop 1
check "w1 stopped: every director sees 2/3 up, between the watermarks, stays announced" \
  wait_for 20 all_reasons_contain "2/3 up, between announce_down 2 and announce_up 3: stays announced"
sleep 2
check "w1 stopped: the router still has 3 next hops" paths_are 3
web_stop 2
check "w2 stopped (1/3 up < announce_down 2): the router withdraws $VIP" wait_for 30 paths_are 0
check "every director's reason: 1/3 up < announce_down 2" all_reasons_contain "1/3 up < announce_down 2"
check "ac-d2's table 100 no longer holds the route" bash -c "! ip -n ac-d2 route show table 100 | grep -q $VIP"
web_start 2
check "w2 back: 2/3 up, stays withdrawn" \
  wait_for 20 all_reasons_contain "2/3 up, between announce_down 2 and announce_up 3: stays withdrawn"
sleep 2
check "w2 back: the router still has no route" paths_are 0
web_start 1
check "w1 back (3/3 up): the router has 3 next hops again" wait_for 30 paths_are 3
sleep 1
seen=$(sampled "$from" "$(mark)")
log "router's next hops through the cycle: $seen"
# No flap: from 3 down to 0 without going up, then up to 3 without going down.
check "no flap at the router: the next hops only fall, then only rise ($seen)" python3 -c '
import sys
s = [int(x) for x in sys.argv[1:]]
low = s.index(0)
ok = s[0] == 3 and s[-1] == 3 and all(a > b for a, b in zip(s[:low], s[1:low + 1])) and \
    all(a < b for a, b in zip(s[low:], s[low + 1:]))
sys.exit(0 if ok else 1)' $seen
# BIRD sends one UPDATE per change; FRR's directors send two per change here (4 through the cycle; why is not
# analysed), so the exact count is asserted for BIRD and printed for all.
after=$(updates)
log "UPDATEs received by the router from ac-d1 ac-d2 ac-d3: $before-> $after"
check "the router received exactly 2 UPDATEs from the BIRD director through the cycle" \
  bash -c '[[ $(( $(echo $2 | cut -d" " -f2) - $(echo $1 | cut -d" " -f2) )) == 2 ]]' _ "$before" "$after"
for ns in "${DIRECTORS[@]}"; do
  check "$ns: 3 changes (announce, withdraw, announce)" bash -c "[[ \$1 == 3 ]]" _ "$(anycast changes "$ns")"
done

# --- The checker worker killed 5 times: nothing is withdrawn ------------------------------------------------------
from=$(mark)
before=$(updates)
for round in 1 2 3 4 5; do
  for ns in ac-d1 ac-d2; do
    d=${ns#ac-}
    old=$(cat "$WORK/$d-check.pid")
    kill -9 "$old"
    wait_for 20 bash -c "[[ -s $WORK/$d-check.pid && \$(cat $WORK/$d-check.pid) != $old ]]" ||
      fail "$ns: no new checker worker after kill $round"
  done
  sleep 1
done
check "checker workers replaced 5 times on ac-d1 and ac-d2" bash -c \
  "grep -c 'checker worker (pid [0-9]*) was killed by signal 9' $WORK/d1.log $WORK/d2.log | grep -c ':5$' | grep -q 2"
sleep 2
seen=$(sampled "$from" "$(mark)")
check "the router kept 3 next hops throughout ($seen)" bash -c "[[ '$seen' == '3 ' ]]"
check "the router received no update from any director ($before -> $(updates))" updates_grew_by "$before" 0
for ns in ac-d1 ac-d2; do
  check "$ns: still 3 changes, announced" bash -c "[[ \$1 == 3 && \$2 == True ]]" _ "$(anycast changes "$ns")" \
    "$(anycast announced "$ns")"
done

# --- Reloads: the address no longer announced is withdrawn; announced again, it comes back at once ----------------
sed -i '/announce_/d' "$WORK/d2.conf"
kill -HUP "$(cat "$WORK/d2.vigild")"
check "ac-d2 reloaded without announce_up/announce_down: 2 next hops" wait_for 20 paths_are 2
check "ac-d2's status has no announced address" bash -c '[[ $1 == none ]]' _ "$(anycast announced ac-d2)"
vigil_config ac-d2 >"$WORK/d2.conf"
kill -HUP "$(cat "$WORK/d2.vigild")"
check "ac-d2 reloaded with them again: 3 next hops (decided from the last report)" wait_for 20 paths_are 3

# --- vigild stopped: withdrawn; started again: announced --------------------------------------------------------
kill "$(cat "$WORK/d1.vigild")"
check "vigild SIGTERM on ac-d1: the router has 2 next hops" wait_for 20 paths_are 2
check "ac-d1's table 100 is empty" bash -c "[[ -z \$(ip -n ac-d1 route show table 100) ]]"
vigil_start ac-d1
check "vigild started again on ac-d1: 3 next hops" wait_for 30 paths_are 3

# --- vigild SIGKILL: the route stays; a new vigild adopts it without a withdrawal ----------------------------------
kill -9 "$(cat "$WORK/d3.vigild")"
sleep 1
for pidfile in "$WORK/d3-check.pid"; do [[ -s $pidfile ]] && kill -9 "$(cat "$pidfile")" 2>/dev/null; done
from=$(mark)
check "vigild SIGKILL on ac-d3: its route stays in table 100" table_holds ac-d3
vigil_start ac-d3
check "the new vigild on ac-d3 adopted the route" wait_for 20 bash -c "grep -q 'route of $VIP in table 100 adopted' $WORK/d3.log"
adopted_and_confirmed() {
  [[ $(anycast reason ac-d3) == "3/3 up >= announce_up 3" && $(anycast changes ac-d3) == 0 ]]
}
check "and, once its checker reported, kept it announced without a change" wait_for 20 adopted_and_confirmed
sleep 3
seen=$(sampled "$from" "$(mark)")
check "the router kept 3 next hops through ac-d3's vigild restart ($seen)" bash -c "[[ '$seen' == '3 ' ]]"

echo "anycast: $passed passed, $failed failed in $(($(date +%s) - started)) s"
if [[ $failed -ne 0 ]]; then
  tail -30 "$WORK/d1.log"
  tail -20 "$WORK/d2/bird.log" 2>/dev/null
  exit 1
fi
