# shellcheck shell=bash
# Issue 18's topology and configuration, shared (sourced, not run) by the host suite (Tests/Namespaces/anycast/run.sh,
# no IPVS) and the kernel-lab suite (Tests/KernelLab/anycast/run-all.sh, IPVS and traffic), and scripts/demo anycast:
#   ac-sw         the switch: bridges br0 (192.0.2.0/24: router and directors), br1 (198.51.100.0/24: directors, real
#                 servers)
#   ac-r          FRR zebra + bgpd, AS 65000, 192.0.2.254, ECMP (maximum-paths 8, multipath-relax), BGP timers 3/9
#   ac-d1, ac-d3  vigild + FRR (ip import-table 100, redistribute table 100), AS 65001 / 65003, 192.0.2.1 / .3
#   ac-d2         vigild + BIRD 2 (kernel protocol on table 100 with learn, exported to bgp), AS 65002, 192.0.2.2
#   ac-w1..w3     real servers 198.51.100.11-13, which every director checks
# The directors announce $VIP (announce_up 3, announce_down 2 of 3 real servers).
# The caller sets ROOT, BIN, WORK (0755), PIDS=(); sources Tests/Namespaces/lib.sh first (frr_daemon).
# NETWORK RULE: only 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, inside these namespaces.

NAMESPACES=(ac-sw ac-r ac-d1 ac-d2 ac-d3 ac-w1 ac-w2 ac-w3)
DIRECTORS=(ac-d1 ac-d2 ac-d3)
VIP=203.0.113.10
# The BGP keepalive and hold times on every session (FRR's `timers bgp`, BIRD's `hold time`).
BGP_KEEPALIVE=3
BGP_HOLD=9

log() { echo "$(date +%T) $*"; }
# wait_for SECONDS COMMAND...: polls every 0.1 s until COMMAND succeeds or SECONDS have passed (a deadline, not a
# number of polls: under TCG each poll takes much longer).
wait_for() {
  local deadline=$((SECONDS + $1))
  until "${@:2}"; do
    ((SECONDS >= deadline)) && return 1
    sleep 0.1
  done
}

# ac_port NS IFACE BRIDGE ADDRESS: a veth from NS's IFACE (ADDRESS) to BRIDGE in ac-sw.
ac_port() {
  local side="${1#ac-}-$2"
  ip -n ac-sw link add "$side" type veth peer name "$2" netns "$1"
  ip -n ac-sw link set "$side" master "$3" up
  ip -n "$1" addr add "$4" dev "$2"
  ip -n "$1" link set "$2" up
}

# ac_topology: the namespaces, bridges and addresses; the VIP local on each director.
ac_topology() {
  local ns n
  for ns in "${NAMESPACES[@]}"; do ip netns add "$ns" && ip -n "$ns" link set lo up; done
  for ns in br0 br1; do ip -n ac-sw link add "$ns" type bridge && ip -n ac-sw link set "$ns" up; done
  ac_port ac-r eth0 br0 192.0.2.254/24
  ip netns exec ac-r sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1
  for n in 1 2 3; do
    ac_port "ac-d$n" eth0 br0 "192.0.2.$n/24"
    ac_port "ac-d$n" eth1 br1 "198.51.100.$n/24"
    # The VIP is local on each director (IPVS takes what is delivered locally): an address on lo for BIRD; for FRR
    # a local route, since zebra's connected route of an address would outrank the imported one (README).
    if [[ $n == 2 ]]; then
      ip -n "ac-d$n" addr add "$VIP/32" dev lo
    else
      ip -n "ac-d$n" route add local "$VIP/32" dev lo
    fi
    ac_port "ac-w$n" eth0 br1 "198.51.100.1$n/24"
  done
}

# ac_router: FRR zebra + bgpd on ac-r, its files in $WORK/r.
ac_router() {
  local n
  mkdir -p "$WORK/r"
  echo "hostname ac-r" >"$WORK/r/zebra.conf"
  {
    echo "hostname ac-r"
    echo "router bgp 65000"
    echo " bgp router-id 192.0.2.254"
    echo " no bgp ebgp-requires-policy"
    echo " bgp bestpath as-path multipath-relax"
    echo " timers bgp $BGP_KEEPALIVE $BGP_HOLD"
    for n in 1 2 3; do
      echo " neighbor 192.0.2.$n remote-as 6500$n"
      echo " neighbor 192.0.2.$n timers connect 5"
    done
    echo " address-family ipv4 unicast"
    echo "  maximum-paths 8"
    echo " exit-address-family"
  } >"$WORK/r/bgpd.conf"
  frr_daemon ac-r "$WORK/r" zebra
  frr_daemon ac-r "$WORK/r" bgpd
}

# ac_frr_director N: zebra + bgpd on ac-dN (the README's snippet), files in $WORK/dN.
ac_frr_director() {
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
 timers bgp $BGP_KEEPALIVE $BGP_HOLD
 neighbor 192.0.2.254 remote-as 65000
 neighbor 192.0.2.254 timers connect 5
 neighbor 192.0.2.254 advertisement-interval 0
 address-family ipv4 unicast
  redistribute table 100 route-map vigil
  neighbor 192.0.2.254 route-map none in
 exit-address-family
CONF
  frr_daemon "ac-d$1" "$dir" zebra
  frr_daemon "ac-d$1" "$dir" bgpd
}

# ac_bird_director N: BIRD 2 on ac-dN (the README's snippet), files in $WORK/dN.
ac_bird_director() {
  local dir="$WORK/d$1"
  mkdir -p "$dir"
  cat >"$dir/bird.conf" <<CONF
router id 192.0.2.$1;
log "$dir/bird.log" all;
protocol device { }
protocol kernel vigil {
  kernel table 100;
  learn;
  ipv4 { import all; export none; };
}
protocol bgp uplink {
  local 192.0.2.$1 as 6500$1;
  neighbor 192.0.2.254 as 65000;
  hold time $BGP_HOLD;
  keepalive time $BGP_KEEPALIVE;
  connect retry time 5;
  ipv4 { import none; export where proto = "vigil"; next hop self; };
}
CONF
  ip netns exec "ac-d$1" bird -f -c "$dir/bird.conf" -s "$dir/bird.ctl" -P "$dir/bird.pid" >"$dir/bird.out" 2>&1 &
  PIDS+=($!)
}

# ac_vigil_config NAME: the directors' keepalived.conf. AC_SCHED (mh) is the scheduler (mh adds mh-port);
# AC_SLOPPY (unset) on/off writes lvs_sloppy_tcp; AC_CHECK (TCP_CHECK) the real servers' checker block.
ac_vigil_config() {
  local n
  echo "global_defs {"
  echo "  router_id $1"
  echo "  announce_table 100"
  [[ -n ${AC_SLOPPY:-} ]] && echo "  lvs_sloppy_tcp $AC_SLOPPY"
  echo "}"
  echo "virtual_server $VIP 80 {"
  echo "  protocol TCP"
  echo "  lvs_sched ${AC_SCHED:-mh}"
  [[ ${AC_SCHED:-mh} == mh ]] && echo "  mh-port"
  echo "  lvs_method DR"
  echo "  delay_loop 1"
  echo "  alpha"
  echo "  announce_up 3"
  echo "  announce_down 2"
  for n in 1 2 3; do
    echo "  real_server 198.51.100.1$n 80 {"
    echo "    TCP_CHECK {"
    echo "      connect_timeout 1"
    echo "    }"
    echo "  }"
  done
  echo "}"
}

# ac_vigil_start NS: vigild on NS with $WORK/dN.conf (written when missing), its files $WORK/dN*, its pid in
# $WORK/dN.vigild.
ac_vigil_start() {
  local d=${1#ac-}
  [[ -s $WORK/$d.conf ]] || ac_vigil_config "$1" >"$WORK/$d.conf"
  ip netns exec "$1" "$BIN/vigild" -n -l -f "$WORK/$d.conf" -p "$WORK/$d.pid" -r "$WORK/$d-vrrp.pid" \
    -c "$WORK/$d-check.pid" -b "$WORK/$d-bfd.pid" --control-socket "$WORK/$d.sock" >>"$WORK/$d.log" 2>&1 &
  echo $! >"$WORK/$d.vigild"
  PIDS+=($!)
}

# ac_kill_checkers ROUNDS NS...: ROUNDS times, each NS's checker worker killed (SIGKILL) and its successor awaited.
ac_kill_checkers() {
  local round ns d old
  for ((round = 1; round <= $1; round++)); do
    for ns in "${@:2}"; do
      d=${ns#ac-}
      old=$(cat "$WORK/$d-check.pid")
      kill -9 "$old"
      wait_for 60 bash -c "[[ -s $WORK/$d-check.pid && \$(cat $WORK/$d-check.pid) != $old ]]" ||
        fail "$ns: no new checker worker after kill $round"
    done
    sleep 1
  done
}

# --- What the router and the directors show ---------------------------------------------------------------------
ac_paths() { # the router's next hops for the VIP in its FIB (0 without a route)
  vtysh --vty_socket "$WORK/r" -c "show ip route $VIP/32 json" 2>/dev/null | python3 -c '
import json, sys
try:
    routes = json.load(sys.stdin).get(sys.argv[1], [])
except ValueError:
    routes = []
print(sum(1 for r in routes if r.get("selected") for h in r.get("nexthops", []) if h.get("fib")))' "$VIP/32"
}
ac_paths_are() { [[ $(ac_paths) == "$1" ]]; }
# ac_kernel_paths: the next hops of the VIP's route in the router's kernel FIB (ip route), 0 without one.
ac_kernel_paths() {
  local out
  out=$(ip -n ac-r route show "$VIP/32")
  if [[ -z $out ]]; then echo 0; elif [[ $out == *nexthop* ]]; then grep -c nexthop <<<"$out"; else echo 1; fi
}
ac_updates() { # the UPDATE messages the router has received from each director, "N N N"
  local n
  for n in 1 2 3; do
    vtysh --vty_socket "$WORK/r" -c "show bgp neighbors 192.0.2.$n json" 2>/dev/null |
      python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]]["messageStats"]["updatesRecv"])' "192.0.2.$n"
  done | tr '\n' ' '
}
# ac_updates_grew_by BEFORE N: each director's count grew by exactly N since BEFORE.
ac_updates_grew_by() {
  python3 -c 'import sys; a, b = sys.argv[1].split(), sys.argv[2].split(); sys.exit(0 if all(int(y) - int(x) == int(sys.argv[3]) for x, y in zip(a, b)) else 1)' "$1" "$(ac_updates)" "$2"
}
# ac_anycast FIELD NS: the VIP's announced/reason/changes in the director's vigilctl status --json.
ac_anycast() {
  ip netns exec "$2" "$BIN/vigilctl" status --json --control-socket "$WORK/${2#ac-}.sock" 2>/dev/null | python3 -c '
import json, sys
a = [x for x in (json.load(sys.stdin).get("anycast") or {}).get("addresses", []) if x["address"] == sys.argv[2]]
print(a[0][sys.argv[1]] if a else "none")' "$1" "$VIP"
}
ac_all_reasons_contain() { # TEXT: every director's reason contains TEXT
  local ns
  for ns in "${DIRECTORS[@]}"; do [[ $(ac_anycast reason "$ns") == *"$1"* ]] || return 1; done
}
# The router's next hops sampled every 0.2 s into $WORK/samples by ac_sampler_start (its pid in SAMPLER).
ac_sampler_start() {
  (while true; do ac_paths >>"$WORK/samples"; sleep 0.2; done) &
  SAMPLER=$!
  PIDS+=("$SAMPLER")
}
ac_mark() { wc -l <"$WORK/samples"; }
ac_sampled() { # FROM TO: the samples taken after mark FROM up to mark TO, deduplicated in a row
  # Line FROM itself was sampled before the mark, possibly before the state the caller waited for.
  sed -n "$(($1 + 1)),$2p" "$WORK/samples" | uniq | tr '\n' ' '
}
# ac_no_flap SAMPLES...: from 3 down to 0 without going up, then up to 3 without going down.
ac_no_flap() {
  python3 -c '
import sys
s = [int(x) for x in sys.argv[1:]]
low = s.index(0) if 0 in s else -1
ok = low > 0 and s[0] == 3 and s[-1] == 3 and all(a > b for a, b in zip(s[:low], s[1:low + 1])) and \
    all(a < b for a, b in zip(s[low:], s[low + 1:]))
sys.exit(0 if ok else 1)' "$@"
}
# ac_diagnose: what each BGP daemon holds, when a check on the router fails.
ac_diagnose() {
  vtysh --vty_socket "$WORK/r" -c "show bgp summary" -c "show bgp ipv4 unicast" -c "show ip route $VIP/32"
  vtysh --vty_socket "$WORK/d1" -c "show ip route" -c "show bgp ipv4 unicast"
  ip netns exec ac-d2 birdc -s "$WORK/d2/bird.ctl" show route all
  ip netns exec ac-d2 birdc -s "$WORK/d2/bird.ctl" show protocols
}
