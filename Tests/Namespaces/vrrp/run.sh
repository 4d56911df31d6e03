#!/bin/bash
# VRRP interop: vigild against keepalived 2.2.7 on one bridge (network namespaces, root).
#
# For VRRPv2 (PASS auth), VRRPv3 IPv4, VRRPv3 IPv6 and VRRPv3 unicast, in both priority orders:
# exactly one node holds the VIP; link loss on the master moves it to the backup; the link coming back lets
# the higher priority preempt; with `nopreempt` it does not. A capture shows Vigil's adverts as tcpdump
# decodes them and a gratuitous ARP for the VIP; stopping a Vigil master hands over at once (priority 0).
#
# Uses ${VIGIL_BIN:-.build/debug}/vigild (builds nothing). Prints PASS/FAIL lines; exits non-zero on failure.
set -u
cd "$(dirname "$0")/../../.."
[ "$(id -u)" = 0 ] || { echo "FAIL: vrrp interop needs root"; exit 1; }
command -v keepalived >/dev/null || { echo "FAIL: keepalived is not installed (apt-get install -y keepalived)"; exit 1; }
command -v tcpdump >/dev/null || { echo "FAIL: tcpdump is not installed"; exit 1; }
. Tests/Namespaces/vrrp/lib.sh
[ -x "$VIGILD" ] || { echo "FAIL: $VIGILD not built"; exit 1; }
trap vre_cleanup EXIT
started=$(date +%s)

. Tests/Namespaces/lib.sh

# VRE_ONLY=extras runs only the sections in the sourced files below (for development).
if [ "${VRE_ONLY:-}" != extras ]; then
vre_pair vre

capture_start() {
    ip netns exec vre-a tcpdump -i eth0 -n -U -w "$VRE_TMP/$1.pcap" 'vrrp or ip6 proto 112 or arp or icmp6' >/dev/null 2>&1 &
    echo $! >"$VRE_TMP/tcpdump.daemon"
    sleep 0.5
}

capture_stop() {
    vre_stop tcpdump INT
    tcpdump -r "$VRE_TMP/$1.pcap" -n -v 2>/dev/null >"$VRE_TMP/$1.txt"
}

decoded() { grep -qF -- "$2" "$VRE_TMP/$1.txt"; }
# A gratuitous ARP: tcpdump shows the all-ones target MAC keepalived (and Vigil) put in it.
garp() { grep -qE "Request who-has $2 (\(ff:ff:ff:ff:ff:ff\) )?tell $2," "$VRE_TMP/$1.txt"; }

# run_case NAME VERSION FAMILY MODE ADVERT VIGIL_PRIO KEEPALIVED_PRIO NOPREEMPT TIMEOUT [CAPTURE]
run_case() {
    local name=$1 version=$2 family=$3 mode=$4 advert=$5 vprio=$6 kprio=$7 nopreempt=$8 timeout=$9
    local capture=${10:-}
    local vip high low highname lowname
    if [ "$family" = ipv4 ]; then vip=192.0.2.100; else vip=2001:db8:1::100; fi
    if [ "$vprio" -gt "$kprio" ]; then
        high=a low=b highname=Vigil lowname=keepalived
    else
        high=b low=a highname=keepalived lowname=Vigil
    fi
    vre_config "$VRE_TMP/a.conf" "$version" "$family" "$mode" "$vprio" "$nopreempt" 192.0.2.1 192.0.2.2 "$advert"
    vre_config "$VRE_TMP/b.conf" "$version" "$family" "$mode" "$kprio" "$nopreempt" 192.0.2.2 192.0.2.1 "$advert"
    [ -n "$capture" ] && capture_start "$capture"
    # With nopreempt the first master keeps the VIP, so the higher priority starts first there.
    if [ "$nopreempt" = 1 ] && [ "$high" = b ]; then
        vre_start keepalived vre-b "$VRE_TMP/b.conf"
        vre_wait "$timeout" vre_has vre-b "$vip"
    fi
    vre_start vigil vre-a "$VRE_TMP/a.conf"
    if [ "$nopreempt" = 1 ] && [ "$high" = a ]; then vre_wait "$timeout" vre_has vre-a "$vip"; fi
    [ "$nopreempt" = 1 ] && [ "$high" = b ] || vre_start keepalived vre-b "$VRE_TMP/b.conf"
    check "$name: only the $highname master holds the VIP" vre_wait "$timeout" vre_only vre "$vip" "$high"
    if [ -n "$capture" ]; then
        sleep 1
        capture_stop "$capture"
    fi
    # Still one holder a moment later (no dual master from a misread advert).
    sleep 0.5
    check "$name: still only the $highname holds it" vre_only vre "$vip" "$high"
    ip -n "vre-$high" link set eth0 down
    check "$name: $highname link down: VIP moves to the $lowname backup" vre_wait "$timeout" vre_only vre "$vip" "$low"
    ip -n "vre-$high" link set eth0 up
    if [ "$nopreempt" = 1 ]; then
        sleep "$timeout"
        check "$name: link back with nopreempt: VIP stays on the $lowname" vre_only vre "$vip" "$low"
    else
        check "$name: link back: the $highname preempts" vre_wait "$timeout" vre_only vre "$vip" "$high"
    fi
    vre_stop vre-a
    vre_stop vre-b
    check "$name: no VIP left after both stopped" vre_only vre "$vip" none
}

# advert_int 1 (v2) / 0.2 (v3); the timeouts cover Master_Down_Interval twice plus startup.
run_case "v2 PASS IPv4 multicast" 2 ipv4 multicast 1 200 100 0 9 v2
check "capture: Vigil's VRRPv2 advert decoded (vrid 51, prio 200, PASS, 192.0.2.100)" \
    decoded v2 'VRRPv2, Advertisement, vrid 51, prio 200, authtype simple, intvl 1s, length 20, addrs: 192.0.2.100 auth "vre-pass"'
check "capture: gratuitous ARP for 192.0.2.100" garp v2 192.0.2.100
run_case "v2 PASS IPv4 multicast" 2 ipv4 multicast 1 100 200 0 9
run_case "v3 IPv4 multicast" 3 ipv4 multicast 0.2 200 100 0 4 v3
check "capture: Vigil's VRRPv3 advert decoded (vrid 51, prio 200, 20cs, 192.0.2.100)" \
    decoded v3 'VRRPv3, Advertisement, vrid 51, prio 200, intvl 20cs, length 12, addrs: 192.0.2.100'
check "capture: gratuitous ARP for 192.0.2.100 (v3)" garp v3 192.0.2.100
run_case "v3 IPv4 multicast" 3 ipv4 multicast 0.2 100 200 0 4
run_case "v3 IPv6 multicast" 3 ipv6 multicast 0.2 200 100 0 4 v6
check "capture: Vigil's VRRPv3 IPv6 advert decoded (vrid 51, prio 200, 2001:db8:1::100)" \
    decoded v6 'VRRPv3, Advertisement, vrid 51, prio 200, intvl 20cs, length 24, addrs: 2001:db8:1::100'
check "capture: unsolicited neighbour advertisement for 2001:db8:1::100" \
    decoded v6 'neighbor advertisement, length 32, tgt is 2001:db8:1::100'
run_case "v3 IPv6 multicast" 3 ipv6 multicast 0.2 100 200 0 4
run_case "v3 IPv4 unicast" 3 ipv4 unicast 0.2 200 100 0 4
run_case "v3 IPv4 unicast" 3 ipv4 unicast 0.2 100 200 0 4
run_case "v3 IPv4 nopreempt" 3 ipv4 multicast 0.2 200 100 1 4
run_case "v3 IPv4 nopreempt" 3 ipv4 multicast 0.2 100 200 1 4

# track_script: a failing vrrp_script (weight -150) drops the Vigil master from 200 to 50, below keepalived's
# 100, which takes over; when it succeeds again Vigil preempts back.
vre_config "$VRE_TMP/a.conf" 3 ipv4 multicast 200 0 192.0.2.1 192.0.2.2 0.2
vre_insert "$VRE_TMP/a.conf" "vrrp_script chk {
    script \"/usr/bin/test ! -e $VRE_TMP/fail\"
    interval 0.2
    weight -150
}" "track_script {
        chk
    }"
vre_config "$VRE_TMP/b.conf" 3 ipv4 multicast 100 0 192.0.2.2 192.0.2.1 0.2
vre_start vigil vre-a "$VRE_TMP/a.conf"
vre_start keepalived vre-b "$VRE_TMP/b.conf"
check "track_script: Vigil (200) is master while its script succeeds" vre_wait 4 vre_only vre 192.0.2.100 a
touch "$VRE_TMP/fail"
check "track_script: the script fails (priority 50): keepalived (100) takes the VIP" \
    vre_wait 4 vre_only vre 192.0.2.100 b
rm -f "$VRE_TMP/fail"
check "track_script: the script succeeds again: Vigil preempts back" vre_wait 4 vre_only vre 192.0.2.100 a
vre_stop vre-a
vre_stop vre-b

# virtual_routes: added with the VIP when Vigil becomes MASTER, removed when it stops.
VRE_EXTRA="virtual_routes {
        203.0.113.0/24 via 192.0.2.254 dev eth0
    }" vre_config "$VRE_TMP/a.conf" 3 ipv4 multicast 200 0 192.0.2.1 192.0.2.2 0.2
vre_start vigil vre-a "$VRE_TMP/a.conf"
route_present() { ip -n vre-a route show 203.0.113.0/24 | grep -q "via 192.0.2.254 dev eth0"; }
check "virtual_routes: the Vigil master adds 203.0.113.0/24 via 192.0.2.254" vre_wait 4 route_present
vre_stop vre-a
check "virtual_routes: removed when Vigil stops" eval '! route_present'

# SIGTERM on a Vigil master: it resigns with priority 0, so keepalived takes over after Skew_Time
# (0.6 s at priority 100, v2), well before Master_Down_Interval (3.6 s).
vre_config "$VRE_TMP/a.conf" 2 ipv4 multicast 200 0 192.0.2.1 192.0.2.2 1
vre_config "$VRE_TMP/b.conf" 2 ipv4 multicast 100 0 192.0.2.2 192.0.2.1 1
vre_start vigil vre-a "$VRE_TMP/a.conf"
vre_start keepalived vre-b "$VRE_TMP/b.conf"
check "stop: Vigil becomes master" vre_wait 9 vre_only vre 192.0.2.100 a
vre_stop vre-a
check "stop: SIGTERM on the Vigil master: keepalived holds the VIP within 1.5 s (priority 0)" \
    vre_wait 1.5 vre_only vre 192.0.2.100 b
vre_stop vre-b

fi

# VRE_PARTS="garp trackprocess" runs only those of the sourced files (with VRE_ONLY=extras, for development).
vre_part() { [ -z "${VRE_PARTS:-}" ] || [[ " $VRE_PARTS " == *" $1 "* ]]; }
vre_part notify && [ -z "${VR2_DEBUG:-}" ] && . Tests/Namespaces/vrrp/notify.sh
vre_part badpackets && . Tests/Namespaces/vrrp/badpackets.sh
vre_part vmac && . Tests/Namespaces/vrrp/vmac.sh
vre_part garp && . Tests/Namespaces/vrrp/garp.sh
vre_part accept && . Tests/Namespaces/vrrp/accept.sh
vre_part routes && . Tests/Namespaces/vrrp/routes.sh
vre_part unicast && . Tests/Namespaces/vrrp/unicast.sh
vre_part events && . Tests/Namespaces/vrrp/events.sh
vre_part trackprocess && . Tests/Namespaces/vrrp/trackprocess.sh
vre_part garpextra && . Tests/Namespaces/vrrp/garpextra.sh
vre_part notrack && . Tests/Namespaces/vrrp/notrack.sh
vre_part oldchecksum && . Tests/Namespaces/vrrp/oldchecksum.sh
vre_part trackgroup && . Tests/Namespaces/vrrp/trackgroup.sh
vre_part nativeipv6 && . Tests/Namespaces/vrrp/nativeipv6.sh
vre_part routerules && . Tests/Namespaces/vrrp/routerules.sh
vre_part linkdelays && . Tests/Namespaces/vrrp/linkdelays.sh

echo "vrrp interop: $passed passed, $failed failed in $(($(date +%s) - started)) s"
if [ "$failed" -ne 0 ]; then
    for log in "$VRE_TMP"/vre-a.log; do [ -e "$log" ] && tail -30 "$log"; done
    exit 1
fi
