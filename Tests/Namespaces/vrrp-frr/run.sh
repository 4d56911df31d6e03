#!/bin/bash
# VRRP interop: vigild against FRR's vrrpd (Debian's frr) on one bridge (network namespaces, root).
#
# VRRPv3 IPv4, VRRPv2 IPv4 (no authentication: vrrpd has none) and VRRPv3 IPv6; Vigil with and without use_vmac;
# both priority orders. In each case: exactly one master (Vigil holding the VIP, or vrrpd's status Master with its
# macvlan up while Vigil holds nothing); link loss on the master moves the VIP to the backup; the link coming back
# lets the higher priority preempt. vrrpd sets its macvlan protodown while it is backup, and `vtysh -c 'show vrrp'`
# is how the suite reads its state.
#
# Uses ${VIGIL_BIN:-.build/debug}/vigild (builds nothing). Prints PASS/FAIL lines; exits non-zero on failure.
set -u
cd "$(dirname "$0")/../../.."
[ "$(id -u)" = 0 ] || { echo "FAIL: vrrp-frr needs root"; exit 1; }
[ -x /usr/lib/frr/vrrpd ] || { echo "FAIL: FRR is not installed (apt-get install -y frr)"; exit 1; }
. Tests/Namespaces/vrrp/lib.sh
. Tests/Namespaces/vrrp/frr.sh
. Tests/Namespaces/lib.sh
[ -x "$VIGILD" ] || { echo "FAIL: $VIGILD not built"; exit 1; }
trap vre_cleanup EXIT
started=$(date +%s)

pair=vfr
vre_pair "$pair"
vigil="$pair-a" frr="$pair-b"

# Vigil holds VIP (on any interface: eth0, or vrrp.51 with use_vmac).
vigil_holds() { ip -n "$vigil" addr show | grep -qE "inet6? $1/"; }
frr_master() { frr_is "$frr" "$1" Master; }
frr_backup() { frr_is "$frr" "$1" Backup && frr_protodown "$frr" "$2"; }
only_vigil() { vigil_holds "$1" && frr_backup "$2" "$3"; }
only_frr() { ! vigil_holds "$1" && frr_master "$2"; }

# run_case NAME VERSION FAMILY VMAC VIGIL_PRIO FRR_PRIO
run_case() {
    local name=$1 version=$2 family=$3 vmac=$4 vprio=$5 fprio=$6
    local vip advert advert_ms timeout link high low extra=""
    if [ "$family" = ipv4 ]; then vip=192.0.2.100 link=vrrp4-51; else vip=2001:db8:1::100 link=vrrp6-51; fi
    if [ "$version" = 2 ]; then advert=1 advert_ms=1000 timeout=9; else advert=0.2 advert_ms=200 timeout=4; fi
    [ "$vmac" = vmac ] && extra=use_vmac
    VRE_NOAUTH=1 VRE_EXTRA=$extra vre_config "$VRE_TMP/vigil.conf" "$version" "$family" multicast "$vprio" 0 \
        192.0.2.1 192.0.2.2 "$advert"
    frr_start "$frr" 51 "$version" "$family" "$fprio" "$advert_ms" "$vip"
    # vrrpd first, alone: it becomes master; then Vigil starts as backup and either preempts it or follows it.
    if ! vre_wait 15 frr_is "$frr" "$family" Master; then
        fail "$name: vrrpd did not start (status $(frr_status "$frr" "$family"))"
        frr_stop "$frr"
        return
    fi
    vre_start vigil "$vigil" "$VRE_TMP/vigil.conf"
    if [ "$vprio" -gt "$fprio" ]; then
        check "$name: one master, Vigil (vrrpd backup, its $link protodown)" \
            vre_wait "$timeout" only_vigil "$vip" "$family" "$link"
        sleep 1
        check "$name: still only Vigil a second later" only_vigil "$vip" "$family" "$link"
        ip -n "$vigil" link set eth0 down
        check "$name: Vigil's link down: vrrpd takes over" vre_wait "$timeout" only_frr "$vip" "$family"
        ip -n "$vigil" link set eth0 up
        check "$name: link back: Vigil preempts, vrrpd is backup again" \
            vre_wait "$timeout" only_vigil "$vip" "$family" "$link"
    else
        check "$name: one master, vrrpd (Vigil holds nothing)" vre_wait "$timeout" only_frr "$vip" "$family"
        sleep 1
        check "$name: still only vrrpd a second later" only_frr "$vip" "$family"
        ip -n "$frr" link set eth0 down
        check "$name: vrrpd's link down: Vigil takes the VIP" vre_wait "$timeout" vigil_holds "$vip"
        ip -n "$frr" link set eth0 up
        check "$name: link back: vrrpd preempts, Vigil releases" vre_wait "$timeout" only_frr "$vip" "$family"
    fi
    vre_stop "$vigil"
    frr_stop "$frr"
    if [ "$vmac" = vmac ]; then
        check "$name: Vigil's VMAC is gone after it stopped" eval "! ip -n $vigil link show vrrp.51 >/dev/null 2>&1"
    fi
}

for vmac in plain vmac; do
    run_case "v3 IPv4 $vmac" 3 ipv4 "$vmac" 200 100
    run_case "v3 IPv4 $vmac" 3 ipv4 "$vmac" 100 200
    run_case "v2 IPv4 $vmac" 2 ipv4 "$vmac" 200 100
    run_case "v2 IPv4 $vmac" 2 ipv4 "$vmac" 100 200
    run_case "v3 IPv6 $vmac" 3 ipv6 "$vmac" 200 100
    run_case "v3 IPv6 $vmac" 3 ipv6 "$vmac" 100 200
done

echo "vrrp-frr interop: $passed passed, $failed failed in $(($(date +%s) - started)) s"
if [ "$failed" -ne 0 ]; then
    tail -20 "$VRE_TMP/$vigil.log" 2>/dev/null
    tail -20 "$(frr_dir "$frr")/vrrpd.log" 2>/dev/null
    exit 1
fi
