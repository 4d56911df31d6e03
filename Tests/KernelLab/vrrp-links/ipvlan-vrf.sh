# shellcheck shell=bash disable=SC2154
# Sourced by vrrp-links/run-all.sh (after ../ipvs/lib.sh): `use_ipvlan`, a VMAC / ipvlan whose base is in a VRF, and an
# instance's `vrf`, each observed where it lands, against keepalived 2.2.7 as the peer. As keepalived 2.2.7 does, an
# ipvlan instance sends its adverts from the ipvlan (with the ipvlan's address) and keeps its VIPs on the interface.
#
#   netns lab-a (Vigil)                                   netns lab-b (keepalived 2.2.7, tcpdump)
#   a0 192.0.2.1/24   <------------- veth ------------->  b0 192.0.2.2/24
#   (part 3: a0 in vrf blue, table 1001; d0 198.51.100.1/24 is default_interface, outside the VRF)

A="ip netns exec lab-a"
B="ip netns exec lab-b"
KA_PID=
TCPDUMP_PID=
VIGIL_A_PID=

stop_pid() { # VARNAME: kill the process whose pid the variable holds, wait for it, clear it
  local pid=${!1}
  [[ -n $pid ]] || return 0
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  printf -v "$1" '%s' ''
}
finish_pair() {
  stop_pid VIGIL_A_PID
  stop_pid KA_PID
  stop_pid TCPDUMP_PID
  ip netns del lab-a 2>/dev/null
  ip netns del lab-b 2>/dev/null
}

setup_pair() {
  finish_pair
  ip netns add lab-a && ip netns add lab-b || return 1
  $A ip link set lo up && $B ip link set lo up
  ip link add a0 netns lab-a type veth peer name b0 netns lab-b || return 1
  $A ip addr add 192.0.2.1/24 dev a0 && $B ip addr add 192.0.2.2/24 dev b0
  $A ip link set a0 up && $B ip link set b0 up
}

start_vigil_a() { # CONF
  $A "$BIN/vigild" -n -l -D -f "$1" -p "$WORK/a.pid" -r "$WORK/a.vrrp.pid" -c "$WORK/a.checkers.pid" \
    --control-socket "$WORK/a.ctl" >>"$WORK/a.log" 2>&1 &
  VIGIL_A_PID=$!
}

start_keepalived_b() { # CONF
  $B keepalived -n -l -D -f "$1" -p "$WORK/ka.pid" -r "$WORK/ka-vrrp.pid" -c "$WORK/ka-check.pid" \
    >>"$WORK/ka.log" 2>&1 &
  KA_PID=$!
}

start_tcpdump_b() { # FILTER: adverts as lab-b's b0 receives them, with link-level headers
  $B tcpdump -i b0 -nn -e -l -U "$1" >"$WORK/tcpdump.txt" 2>"$WORK/tcpdump.err" &
  TCPDUMP_PID=$!
  wait_for 10 grep -q "listening on" "$WORK/tcpdump.err"
}

has_addr() { # NS-CMD DEV ADDR
  $1 ip -o addr show dev "$2" 2>/dev/null | grep -q "inet $3 "
}

# --- 1. use_ipvlan: Vigil (priority 200) and keepalived (100), each with an ipvlan on its veth ----------------------
setup_pair || fatal "namespaces lab-a / lab-b"
cat >"$WORK/a-ipvlan.conf" <<CONF
vrrp_instance VI_1 {
    state BACKUP
    interface a0
    virtual_router_id 51
    priority 200
    advert_int 1
    use_ipvlan 192.0.2.11/24 private
    virtual_ipaddress {
        192.0.2.100/24
    }
}
CONF
cat >"$WORK/b-ipvlan.conf" <<CONF
global_defs {
    router_id lab-b
}
vrrp_instance VI_1 {
    state BACKUP
    interface b0
    virtual_router_id 51
    priority 100
    advert_int 1
    use_ipvlan kaip 192.0.2.12/24
    virtual_ipaddress {
        192.0.2.100/24
    }
}
CONF
a_mac=$($A cat /sys/class/net/a0/address)
start_tcpdump_b "ip proto 112"
start_keepalived_b "$WORK/b-ipvlan.conf"
start_vigil_a "$WORK/a-ipvlan.conf"
check "use_ipvlan: Vigil becomes MASTER (the VIP on a0)" wait_for 60 has_addr "$A" a0 192.0.2.100/24
check "use_ipvlan: ip -d link shows vrrp.51 an ipvlan in mode l2 private on a0" eval \
  "$A ip -d link show vrrp.51 | grep -q 'vrrp.51@a0' && $A ip -d link show vrrp.51 | grep -qE 'ipvlan +mode l2 private'"
check "use_ipvlan: the ipvlan has its own address 192.0.2.11/24" has_addr "$A" vrrp.51 192.0.2.11/24
check "use_ipvlan: the ipvlan shares a0's MAC ($a_mac)" eval "[[ \$($A cat /sys/class/net/vrrp.51/address) == $a_mac ]]"
check "use_ipvlan: the VIP is not on the ipvlan (keepalived 2.2.7 keeps it on the interface)" eval "! has_addr '$A' vrrp.51 192.0.2.100/24"
check "use_ipvlan: tcpdump in lab-b sees adverts from the ipvlan (source 192.0.2.11, a0's MAC, vrid 51)" wait_for 10 \
  eval "grep -E '^[^ ]+ $a_mac > 01:00:5e:00:00:12.* 192\.0\.2\.11 > 224\.0\.0\.18: VRRPv2, Advertisement, vrid 51, prio 200' '$WORK/tcpdump.txt' | grep -q ."
check "use_ipvlan: keepalived (lower priority, its own ipvlan kaip) is BACKUP: no VIP on b0" \
  eval "$B ip -d link show kaip | grep -q ipvlan && ! has_addr '$B' b0 192.0.2.100/24"
stop_pid VIGIL_A_PID
check "use_ipvlan: Vigil stopped: its ipvlan is gone" eval "! $A ip link show vrrp.51 >/dev/null 2>&1"
check "use_ipvlan: failover: keepalived takes the VIP" wait_for 15 has_addr "$B" b0 192.0.2.100/24
start_vigil_a "$WORK/a-ipvlan.conf"
check "use_ipvlan: Vigil restarted preempts: the VIP is back on a0 and leaves keepalived's b0" wait_for 60 \
  eval "has_addr '$A' a0 192.0.2.100/24 && ! has_addr '$B' b0 192.0.2.100/24"
if ((failed)); then tail -20 "$WORK/a.log"; tail -20 "$WORK/ka.log"; tail -5 "$WORK/tcpdump.txt"; fi
finish_pair

# --- 2. a VMAC and an ipvlan whose base interface is in vrf blue: both are enslaved to it, their addresses in its table
# (the kernel refuses an ipvlan on a link that has a macvlan: the ipvlan's base is a second veth, a2)
setup_pair || fatal "namespaces lab-a / lab-b"
$A ip link add blue type vrf table 1001 && $A ip link set blue up && $A ip link set a0 master blue
$A ip link add a2 type veth peer name a3 && $A ip link set a2 master blue && $A ip link set a2 up && $A ip link set a3 up
cat >"$WORK/a-vrf.conf" <<CONF
vrrp_instance VI_1 {
    interface a0
    virtual_router_id 51
    priority 200
    advert_int 1
    use_vmac
    virtual_ipaddress {
        192.0.2.100/24
    }
}
vrrp_instance VI_2 {
    interface a2
    virtual_router_id 52
    priority 200
    advert_int 1
    use_ipvlan vrrp.52 198.51.100.12/24
    virtual_ipaddress {
        198.51.100.102/24
    }
}
CONF
start_vigil_a "$WORK/a-vrf.conf"
check "base in a VRF: both instances become MASTER (VIPs on vrrp.51 and a2)" wait_for 60 \
  eval "has_addr '$A' vrrp.51 192.0.2.100/24 && has_addr '$A' a2 198.51.100.102/24"
check "base in a VRF: ip -d link shows the VMAC vrrp.51 with master blue" eval \
  "$A ip -d link show vrrp.51 | grep -q 'master blue' && $A ip -d link show vrrp.51 | grep -q 'macvlan mode private'"
check "base in a VRF: ip -d link shows the ipvlan vrrp.52 with master blue" eval \
  "$A ip -d link show vrrp.52 | grep -q 'master blue' && $A ip -d link show vrrp.52 | grep -qE 'ipvlan +mode l2 bridge'"
in_vrf_table() {
  local table
  table=$($A ip route show table 1001)
  grep -q 'local 192.0.2.100 dev vrrp.51' <<<"$table" && grep -q 'local 198.51.100.12 dev vrrp.52' <<<"$table" &&
    grep -q '192.0.2.0/24 dev vrrp.51' <<<"$table" && grep -q '198.51.100.0/24 dev vrrp.52' <<<"$table"
}
check "base in a VRF: the VMAC's VIP and the ipvlan's address are in the VRF's table (table 1001)" wait_for 10 in_vrf_table
in_vrf_table || { $A ip route show table 1001; $A ip -br addr; $A ip -br link; }
stop_pid VIGIL_A_PID
check "base in a VRF: Vigil stopped: vrrp.51 and vrrp.52 are gone" eval \
  "! $A ip link show vrrp.51 >/dev/null 2>&1 && ! $A ip link show vrrp.52 >/dev/null 2>&1"
if ((failed)); then tail -20 "$WORK/a.log"; $A ip -d link; $A ip route show table 1001; fi
finish_pair

# --- 3. `vrf blue` on a unicast instance without interface: its sockets live in the VRF ------------------------------
# a0 (towards the peer) is in vrf blue; default_interface d0 (which gets the VIP) is not. Bound to d0, as without
# `vrf`, the adverts to 192.0.2.2 could not leave (no route in the main table); bound to blue they go out a0.
setup_pair || fatal "namespaces lab-a / lab-b"
$A ip link add blue type vrf table 1001 && $A ip link set blue up && $A ip link set a0 master blue
$A ip link add d0 type veth peer name d1 && $A ip addr add 198.51.100.1/24 dev d0
$A ip link set d0 up && $A ip link set d1 up
cat >"$WORK/a-unicast.conf" <<CONF
global_defs {
    default_interface d0
}
vrrp_instance VI_1 {
    state BACKUP
    virtual_router_id 61
    priority 100
    advert_int 1
    vrf blue
    unicast_src_ip 192.0.2.1
    unicast_peer {
        192.0.2.2
    }
    virtual_ipaddress {
        198.51.100.100/24
    }
}
CONF
cat >"$WORK/b-unicast.conf" <<CONF
global_defs {
    router_id lab-b
}
vrrp_instance VI_1 {
    state BACKUP
    interface b0
    virtual_router_id 61
    priority 200
    advert_int 1
    unicast_src_ip 192.0.2.2
    unicast_peer {
        192.0.2.1
    }
    virtual_ipaddress {
        192.0.2.200/24
    }
}
CONF
start_tcpdump_b "ip proto 112 and src host 192.0.2.1"
start_keepalived_b "$WORK/b-unicast.conf"
check "vrf: keepalived (priority 200) becomes MASTER" wait_for 30 has_addr "$B" b0 192.0.2.200/24
start_vigil_a "$WORK/a-unicast.conf"
check "vrf: Vigil (priority 100) stays BACKUP under keepalived (no VIP on d0 after 8 s)" \
  eval "sleep 8; ! has_addr '$A' d0 198.51.100.100/24"
stop_pid KA_PID
check "vrf: keepalived stopped: Vigil takes over (VIP on default_interface d0)" wait_for 15 has_addr "$A" d0 198.51.100.100/24
check "vrf: tcpdump in lab-b sees the MASTER's unicast adverts leave through the VRF (192.0.2.1 > 192.0.2.2, vrid 61)" \
  wait_for 15 eval "grep -E '192\.0\.2\.1 > 192\.0\.2\.2: VRRPv2, Advertisement, vrid 61, prio 100' '$WORK/tcpdump.txt' | grep -q ."
start_keepalived_b "$WORK/b-unicast.conf"
check "vrf: keepalived restarted (priority 200) takes over again and Vigil gives the VIP up" wait_for 30 \
  eval "has_addr '$B' b0 192.0.2.200/24 && ! has_addr '$A' d0 198.51.100.100/24"
if ((failed)); then tail -20 "$WORK/a.log"; tail -20 "$WORK/ka.log"; tail -5 "$WORK/tcpdump.txt"; fi
finish_pair
