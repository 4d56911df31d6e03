# interface_up_down_delays and dynamic_interfaces (sourced by run.sh), one Vigil node alone (it becomes MASTER):
#   - a tracked veth (ld0, delays 2 s down, 1 s up) flapping for 0.5 s never moves the VIP; down for good, the VIP
#     goes after 2 s, not before; back up, it returns after the up delay;
#   - an instance on an interface that does not exist: refused at start without dynamic_interfaces (as keepalived),
#     a reload naming one is refused (the VIP stays); with dynamic_interfaces the instance is FAULT until the
#     interface is created, then MASTER on it (adverts from its address), and again after the interface is deleted
#     and created once more.

ld=vld
vre_pair "$ld"
ns="$ld-a"
ip -n "$ns" link add ld0 type veth peer name ld1
ip -n "$ns" link set ld1 up
ip -n "$ns" link set ld0 up
ld_log() { cat "$VRE_TMP/$ns.log"; }
# ld_held_for SECONDS: the VIP is on eth0 at every look (each 50 ms) for that long.
ld_held_for() {
    local end=$(($(date +%s%N) + $(awk "BEGIN { print int($1 * 1000) }") * 1000000))
    while [ "$(date +%s%N)" -lt "$end" ]; do
        vre_has "$ns" 192.0.2.100 || return 1
        sleep 0.05
    done
}

vre_config "$VRE_TMP/ld.conf" 3 ipv4 multicast 200 0 192.0.2.1 192.0.2.2 1
vre_insert "$VRE_TMP/ld.conf" "interface_up_down_delays {
    ld0 2 1
}" "track_interface {
        ld0
    }"
vre_start vigil "$ns" "$VRE_TMP/ld.conf"
check "up/down delays: VI_1 becomes MASTER" vre_wait 6 vre_has "$ns" 192.0.2.100
ip -n "$ns" link set ld0 down
sleep 0.5
ip -n "$ns" link set ld0 up
check "up/down delays: a 0.5 s flap of ld0 (down delay 2 s) never moves the VIP" ld_held_for 3
check "up/down delays: the flap is logged as not acted on" eval "ld_log | grep -q 'ld0 up again within its delay'"
ip -n "$ns" link set ld0 down
down_at=$(date +%s%N)
check "up/down delays: ld0 down: the VIP stays for the 2 s delay" ld_held_for 1.7
check "up/down delays: ld0 down for good: the VIP goes after it" vre_wait 2 eval "! vre_has $ns 192.0.2.100"
gone_ms=$((($(date +%s%N) - down_at) / 1000000))
check "up/down delays: released ${gone_ms} ms after the link went down (2000 ms delay)" [ "$gone_ms" -ge 1900 ]
ip -n "$ns" link set ld0 up
check "up/down delays: ld0 up: still FAULT within the 1 s up delay" \
    eval "sleep 0.6; $(dirname "$VIGILD")/vigilctl status --control-socket $VRE_TMP/$ns.ctl | grep -q 'VI_1: FAULT'"
check "up/down delays: ld0 up: MASTER again after it" vre_wait 6 vre_has "$ns" 192.0.2.100

# A reload naming an interface that does not exist is refused; the VIP stays.
sed -i 's/^        ld0$/        ld9/' "$VRE_TMP/ld.conf"
"$(dirname "$VIGILD")/vigilctl" reload --control-socket "$VRE_TMP/$ns.ctl" >"$VRE_TMP/ld-reload.out" 2>&1
check "dynamic_interfaces: a reload naming a missing ld9 is refused" \
    eval "grep -q 'interface ld9 does not exist' '$VRE_TMP/ld-reload.out' $VRE_TMP/$ns.log"
check "dynamic_interfaces: after the refused reload VI_1 keeps its VIP" ld_held_for 1
vre_stop "$ns"

# Without dynamic_interfaces, an instance on a missing interface: vigild refuses to start, as keepalived.
dyn_config() {
    vre_config "$VRE_TMP/dyn.conf" 3 ipv4 multicast 200 0 198.51.100.1 198.51.100.2 1
    sed -i 's/interface eth0/interface dyn0/; s#192.0.2.100/24#198.51.100.100/24#' "$VRE_TMP/dyn.conf"
    [ "$1" = on ] && sed -i 's/^global_defs {/global_defs {\n    dynamic_interfaces/' "$VRE_TMP/dyn.conf"
}
dyn_has() { ip -n "$ns" addr show dev dyn0 2>/dev/null | grep -q 'inet 198.51.100.100/'; }
dyn_create() {
    ip -n "$ns" link add dyn0 type veth peer name dyn1
    ip -n "$ns" addr add 198.51.100.1/24 dev dyn0
    ip -n "$ns" link set dyn1 up
    ip -n "$ns" link set dyn0 up
}
dyn_config off
vre_start vigil "$ns" "$VRE_TMP/dyn.conf"
check "dynamic_interfaces: without it vigild refuses a missing interface and exits" \
    vre_wait 10 eval "! kill -0 $(cat "$VRE_TMP/$ns.daemon") 2>/dev/null"
check "dynamic_interfaces: without it the refusal names FILE:LINE and dyn0" \
    eval "ld_log | grep -qE 'dyn.conf:[0-9]+: interface dyn0 does not exist'"
vre_stop "$ns"

dyn_config on
vre_start vigil "$ns" "$VRE_TMP/dyn.conf"
check "dynamic_interfaces: VI_1 on a missing dyn0 is FAULT" \
    vre_wait 6 eval "$(dirname "$VIGILD")/vigilctl status --control-socket $VRE_TMP/$ns.ctl | grep -q 'VI_1: FAULT'"
dyn_create
vre_capture_start "$ns" dyn1 dyn vrrp
check "dynamic_interfaces: dyn0 created: VI_1 is MASTER and holds the VIP on it" vre_wait 8 dyn_has
sleep 1.2
vre_capture_stop dyn -v
# The kernel fills in a source of 0.0.0.0 itself, but the VRRPv3 checksum covers the source: tcpdump -v checks it.
check "dynamic_interfaces: its adverts come from dyn0's address, found once dyn0 exists (checksum good)" \
    eval "grep -q '198.51.100.1 > 224.0.0.18: VRRPv3' $VRE_TMP/dyn.txt && ! grep -q 'bad vrrp cksum' $VRE_TMP/dyn.txt"
ip -n "$ns" link del dyn0
check "dynamic_interfaces: dyn0 deleted: VI_1 is FAULT" \
    vre_wait 6 eval "$(dirname "$VIGILD")/vigilctl status --control-socket $VRE_TMP/$ns.ctl | grep -q 'VI_1: FAULT'"
dyn_create
check "dynamic_interfaces: dyn0 created again: VI_1 holds the VIP again" vre_wait 8 dyn_has
vre_stop "$ns"
