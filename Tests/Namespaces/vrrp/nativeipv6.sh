# native_ipv6 (sourced by run.sh): an instance without IPv6 virtual addresses is IPv6 all the same, as in keepalived:
# its VRRPv3 adverts go to ff02::12 from eth0's link-local address, and its IPv4 eVIP comes with mastership.

n6=vn6
vre_pair "$n6"
n6_config() {
    cat >"$VRE_TMP/n6.conf" <<CONF
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 56
    priority 200
    advert_int 0.2
    $1
    virtual_ipaddress_excluded {
        192.0.2.120/24
    }
}
CONF
}
# n6_run NAME: Vigil as the only router for 2 s, its adverts captured.
n6_run() {
    vre_capture_start "$n6-b" eth0 "$1" 'ip proto 112 or ip6 proto 112'
    vre_start vigil "$n6-a" "$VRE_TMP/n6.conf"
    n6_master=0
    vre_wait 4 vre_has "$n6-a" 192.0.2.120 && n6_master=1
    sleep 1
    vre_capture_stop "$1" -v
    vre_stop "$n6-a"
}
n6_config native_ipv6
n6_run n6
check "native_ipv6: the IPv4 eVIP comes with mastership" [ "$n6_master" = 1 ]
check "native_ipv6: VRRPv3 adverts to ff02::12 (IPv6), none over IPv4" eval \
    "grep -qE 'IP6 .* fe80::[0-9a-f:]+ > ff02::12: .*VRRPv3, Advertisement, vrid 56, prio 200' '$VRE_TMP/n6.txt' && ! grep -q '> 224.0.0.18' '$VRE_TMP/n6.txt'"
n6_config ""
n6_run n4
check "without native_ipv6 the same instance advertises over IPv4 (224.0.0.18)" eval \
    "grep -q '> 224.0.0.18: VRRPv' '$VRE_TMP/n4.txt' && ! grep -q 'ff02::12' '$VRE_TMP/n4.txt'"
