# track_group (sourced by run.sh): the instances of a track_group follow the interface of a static_ipaddress,
# static_routes or static_rules line naming the group, as keepalived does: FAULT (VIP released) while it is down.

tg=vtg
vre_pair "$tg"
ip -n "$tg-a" link add tg0 type veth peer name tg1
ip -n "$tg-a" link set tg1 up
ip -n "$tg-a" link set tg0 up
tg_status() { "$(dirname "$VIGILD")/vigilctl" status --control-socket "$VRE_TMP/$tg-a.ctl" 2>/dev/null; }

vre_config "$VRE_TMP/tg.conf" 3 ipv4 multicast 200 0 192.0.2.1 192.0.2.2 0.2
vre_insert "$VRE_TMP/tg.conf" "track_group tg {
    group {
        VI_1
    }
}
static_ipaddress {
    198.51.100.20/24 dev tg0 track_group tg
}" ""
vre_start vigil "$tg-a" "$VRE_TMP/tg.conf"
check "track_group: the static address is on tg0" vre_wait 4 eval "ip -n $tg-a addr show dev tg0 | grep -q 198.51.100.20/24"
check "track_group: VI_1 (eth0) becomes MASTER" vre_wait 4 vre_has "$tg-a" 192.0.2.100
ip -n "$tg-a" link set tg0 down
check "track_group: tg0 down: VI_1 releases its VIP" vre_wait 4 eval "! vre_has $tg-a 192.0.2.100"
check "track_group: tg0 down: vigilctl shows VI_1 in FAULT" vre_wait 4 eval "tg_status | grep -q 'VI_1: FAULT'"
ip -n "$tg-a" link set tg0 up
check "track_group: tg0 up: VI_1 is MASTER again" vre_wait 4 vre_has "$tg-a" 192.0.2.100
vre_stop "$tg-a"
