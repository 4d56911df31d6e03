#!/usr/bin/env bash
# Kernel-lab suite for what the build host's kernel cannot show (issue 14): a VRRP master's `virtual_routes` with
# `vrf NAME` (the route goes in the VRF device's table; the host has no vrf driver) and `encap mpls LABEL/LABEL` (the
# host has no mpls_iptunnel). One vigild, alone in namespace lab-v, becomes MASTER and programs them; `ip route show
# vrf blue` and `ip -d route` show them, and they go when it stops. ipvlan-vrf.sh then checks `use_ipvlan`, VMACs and
# ipvlans over an interface in a VRF, and an instance's `vrf`, against keepalived 2.2.7 (the host has no ipvlan).
#
# Run: Tests/KernelLab/kernel-lab run Tests/KernelLab/vrrp-links/run-all.sh   (binaries from .build/debug)
set -uo pipefail

if [[ "${KERNEL_LAB:-}" != 1 && "${1:-}" != --force ]]; then
  echo "vrrp-links/run-all.sh: meant to run inside the kernel lab (or pass --force)" >&2
  exit 2
fi

# shellcheck source=../ipvs/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../ipvs/lib.sh"
NS=lab-v
V="ip netns exec $NS"
VIGILD_PID=
finish() {
  stop_vigild
  declare -F finish_pair >/dev/null && finish_pair
  ip netns del "$NS" 2>/dev/null
  cleanup
}
trap finish EXIT

modprobe vrf && modprobe mpls_router && modprobe mpls_iptunnel && modprobe ipvlan || fatal "vrf / mpls / ipvlan modules"
ip netns add "$NS"
$V ip link set lo up
$V ip link add eth0 type veth peer name eth1
$V ip addr add 192.0.2.1/24 dev eth0
$V ip link set eth0 up && $V ip link set eth1 up
$V ip link add blue type vrf table 1001
$V ip link set blue up

cat >"$WORK/v.conf" <<CONF
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 200
    advert_int 0.5
    virtual_ipaddress {
        192.0.2.100/24
    }
    virtual_routes {
        198.51.100.0/24 dev eth0 vrf blue
        203.0.113.0/24 encap mpls 100/200 via 192.0.2.254 dev eth0
    }
}
CONF
$V "$BIN/vigild" -n -l -D -f "$WORK/v.conf" -p "$WORK/v.pid" -r "$WORK/v.vrrp.pid" -c "$WORK/v.checkers.pid" \
  --control-socket "$WORK/v.ctl" >"$WORK/v.log" 2>&1 &
VIGILD_PID=$!
check "the instance becomes MASTER" wait_for 60 eval "$V ip addr show dev eth0 | grep -q 'inet 192.0.2.100/24'"
check "vrf blue: the route is in the VRF's table (1001)" wait_for 10 eval \
  "$V ip route show vrf blue | grep -q '198.51.100.0/24 dev eth0 proto keepalived' && $V ip route show table 1001 | grep -q 198.51.100.0/24"
check "vrf blue: not in the main table" eval "! $V ip route show table main | grep -q 198.51.100.0/24"
check "encap mpls 100/200" eval "$V ip -d route show 203.0.113.0/24 | grep -qE 'encap mpls +100/200 +via 192.0.2.254 dev eth0 proto keepalived'"
stop_vigild
check "stopped: both routes are gone" eval \
  "! $V ip route show vrf blue | grep -q 198.51.100.0 && ! $V ip route show | grep -q 203.0.113.0"
if ((failed)); then tail -20 "$WORK/v.log"; $V ip -d route show; $V ip route show vrf blue; fi
ip netns del "$NS" 2>/dev/null

# shellcheck source=ipvlan-vrf.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/ipvlan-vrf.sh"
summary
