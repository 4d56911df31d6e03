#!/usr/bin/env bash
# Issue 19: a split brain that heals visibly. Vigil is MASTER (priority 150) and keepalived 2.2.7 BACKUP
# (priority 100), VRRPv3, on one bridge with a client. The master's adverts are dropped at the backup (nftables)
# until both hold the VIP: keepalived announces itself and the client learns its MAC. When the drop is removed,
# keepalived hears the higher priority and releases; the master, hearing keepalived's lower-priority adverts,
# re-announces the VIP (garp_lower_prio_repeat, keepalived's default: vrrp_garp_master_repeat, 5), so the client's
# ARP entry comes back to the master instead of pointing at a director without the VIP until it expires.
# Checked where it lands: a capture on the client's interface and its neighbour table; the master's log line and
# counter. The delay from the heal to the master's first announcement is printed, not asserted: the master answers a
# lower-priority advert at once, and again garp_lower_prio_delay after the last one, so the first announcement after
# the heal comes at once if keepalived advertised once more before it heard the master, else 5 s later.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
BIN=${VIGIL_BIN:-$ROOT/.build/debug}
WORK=$(mktemp -d /tmp/split-brain.XXXXXX)
VIP=192.0.2.100
NAMESPACES=(sb-br sb-v sb-k sb-c)
PIDS=()
# shellcheck source=Tests/Namespaces/lib.sh
. "$ROOT/Tests/Namespaces/lib.sh"
trap namespaces_cleanup EXIT
[ "$(id -u)" = 0 ] || { echo "FAIL: split-brain needs root"; exit 1; }

for ns in "${NAMESPACES[@]}"; do ip netns add "$ns" && ip -n "$ns" link set lo up; done
ip -n sb-br link add br0 type bridge && ip -n sb-br link set br0 up
address=1
for ns in sb-v sb-k sb-c; do
  ip link add eth0 netns "$ns" type veth peer name "$ns" netns sb-br
  ip -n sb-br link set "$ns" master br0 && ip -n sb-br link set "$ns" up
  ip -n "$ns" addr add "192.0.2.$address/24" dev eth0 && ip -n "$ns" link set eth0 up
  address=$((address + 1))
done
mac() { ip -n "$1" -o link show dev eth0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2; }
MASTER_MAC=$(mac sb-v)
BACKUP_MAC=$(mac sb-k)

config() { # PRIORITY STATE
  cat <<CONF
global_defs {
  router_id sb-$2
  vrrp_version 3
}
vrrp_instance VI_1 {
  state $2
  interface eth0
  virtual_router_id 51
  priority $1
  advert_int 1
  virtual_ipaddress {
    $VIP/24
  }
}
CONF
}
config 150 MASTER >"$WORK/vigil.conf"
config 100 BACKUP >"$WORK/keepalived.conf"

holds() { [[ $(ip -n "$1" -o addr show dev eth0) == *" $VIP/"* ]]; }
wait_for() { local n; for ((n = 0; n < $1 * 10; n++)); do "${@:2}" && return 0; sleep 0.1; done; return 1; }
client_mac() { ip -n sb-c neigh show "$VIP" dev eth0 | grep -o 'lladdr [0-9a-f:]*' | cut -d' ' -f2; }
client_points_to() { [[ $(client_mac) == "$1" ]]; }

ip netns exec sb-v "$BIN/vigild" -n -l -f "$WORK/vigil.conf" -p "$WORK/v.pid" -r "$WORK/v-vrrp.pid" \
  -c "$WORK/v-check.pid" --control-socket "$WORK/v.sock" >"$WORK/vigil.log" 2>&1 &
PIDS+=($!)
ip netns exec sb-k keepalived -n -l -D -f "$WORK/keepalived.conf" -p "$WORK/k.pid" -r "$WORK/k-vrrp.pid" \
  -c "$WORK/k-check.pid" >"$WORK/keepalived.log" 2>&1 &
PIDS+=($!)
ip netns exec sb-c tcpdump -i eth0 -nn -e -tt -l arp >"$WORK/arp.txt" 2>/dev/null &
PIDS+=($!)

check "Vigil is MASTER with the VIP" wait_for 20 holds sb-v
# Any packet to the VIP makes the client resolve it (no ping on a minimal machine: a TCP connect, refused).
ip netns exec sb-c timeout 2 bash -c "echo >/dev/tcp/$VIP/9" 2>/dev/null
check "the client's ARP entry for the VIP points to the master ($MASTER_MAC)" client_points_to "$MASTER_MAC"

# The split: the backup no longer hears the master, and takes over after its Master_Down_Interval.
ip netns exec sb-k nft -f - <<'NFT'
table ip splitbrain {
  chain input {
    type filter hook input priority 0; policy accept;
    ip saddr 192.0.2.1 ip protocol 112 drop
  }
}
NFT
check "split: keepalived takes the VIP too" wait_for 10 holds sb-k
check "split: the master keeps the VIP" holds sb-v
# keepalived announces itself twice (at once and garp_master_delay, 5 s, later): the client follows it at least once.
saw_backup() { grep -q "^[0-9.]* $BACKUP_MAC > .*$VIP" "$WORK/arp.txt"; }
check "split: keepalived announced the VIP to the client" wait_for 10 saw_backup
# Past keepalived's second announcement (garp_master_delay 5 s) and the master's answer to its next advert.
sleep 8

heal=$(date +%s.%N)
ip netns exec sb-k nft delete table ip splitbrain
released() { ! holds sb-k; }
check "heal: keepalived releases the VIP" wait_for 10 released
check "heal: the master keeps the VIP" holds sb-v
# The master answers each lower-priority advert at once and again garp_lower_prio_delay (5 s) after the last one.
announced() {
  awk -v heal="$heal" -v mac="$MASTER_MAC" -v vip="$VIP" '$1 > heal && $2 == mac && index($0, vip) { found = 1 }
    END { exit !found }' "$WORK/arp.txt"
}
wait_for 8 announced
check "heal: the client's ARP entry points to the master again" client_points_to "$MASTER_MAC"

first=$(awk -v heal="$heal" -v mac="$MASTER_MAC" -v vip="$VIP" \
  '$1 > heal && $2 == mac && index($0, vip) { print $1 - heal; exit }' "$WORK/arp.txt")
if [[ -n $first ]]; then
  pass "heal: the master announced the VIP after the heal (first ARP $(printf '%.0f' "$(echo "$first * 1000" | bc)") ms after the drop was removed)"
else
  fail "heal: no ARP from the master for $VIP after the heal: $(tail -n 5 "$WORK/arp.txt")"
fi

lines=$(grep -c "VI_1: MASTER heard priority 100 from 192.0.2.2" "$WORK/vigil.log")
check "the master logged the split brain once ($lines lines): what it heard and what it did" [ "$lines" = 1 ]
grep "MASTER heard priority" "$WORK/vigil.log" | head -n 1
heard=$(ip netns exec sb-v "$BIN/vigilctl" status --json --control-socket "$WORK/v.sock" |
  python3 -c 'import json,sys
s = json.load(sys.stdin)
print(sum(i.get("counters", {}).get("lower_priority_heard", 0) for w in s["workers"] for i in (w.get("state") or {}).get("vrrpInstances", [])))' 2>&1)
check "vigilctl status counts the lower-priority adverts heard ($heard)" [ "${heard:-0}" -gt 0 ] 2>/dev/null
check "keepalived went back to BACKUP" grep -q "VI_1) Entering BACKUP STATE" "$WORK/keepalived.log"

echo "split-brain: $passed passed, $failed failed"
((failed == 0))
