# static_ipaddress / static_routes / static_rules, virtual_routes types and multipath, virtual_rules, VIP options
# (sourced by run.sh): what `ip addr`, `ip route` and `ip rule` show on a Vigil master, and that it all goes.

rt=vrt
vre_pair "$rt"
vre_config "$VRE_TMP/rt.conf" 3 ipv4 multicast 200 0 192.0.2.1 192.0.2.2 0.2
vre_insert "$VRE_TMP/rt.conf" "static_ipaddress {
    198.51.100.10/24 dev eth0
}
static_routes {
    203.0.113.0/26 via 192.0.2.254 dev eth0
}
static_rules {
    from 198.51.100.10 table 100 priority 400
}" "virtual_routes {
        unreachable 203.0.113.64/26
        203.0.113.128/26 proto static mtu lock 1400 nexthop via 192.0.2.253 dev eth0 weight 2 nexthop via 192.0.2.252 dev eth0
        blackhole 2001:db8:9::/48
        203.0.113.192/26 via 192.0.2.254 dev eth0 realms 3/5 congctl lock reno
        2001:db8:7::/64 via 2001:db8:1::2 dev eth0 expires 300 pref high
        203.0.113.0/26 via 192.0.2.253 dev eth0 append
    }
    virtual_rules {
        from 192.0.2.100 table 101 priority 500
        to 203.0.113.0/24 fwmark 7 iif eth0 lookup 102 priority 501
    }
    virtual_ipaddress_excluded {
        192.0.2.110/24 brd + dev eth0
        192.0.2.111 peer 192.0.2.112/32 dev eth0
        2001:db8:1::110/64 home noprefixroute preferred_lft 60 dev eth0
    }"
vre_start vigil "$rt-a" "$VRE_TMP/rt.conf"
rt_ip() { ip -n "$rt-a" "$@" 2>/dev/null; }
check "static_ipaddress: 198.51.100.10/24 on eth0" vre_wait 4 eval "rt_ip addr show dev eth0 | grep -q 'inet 198.51.100.10/24'"
check "static_routes: 203.0.113.0/26 via 192.0.2.254" eval "rt_ip route show | grep -q '203.0.113.0/26 via 192.0.2.254 dev eth0 proto keepalived'"
check "static_rules: from 198.51.100.10 lookup 100 (priority 400)" eval "rt_ip rule show | grep -qP '^400:\tfrom 198.51.100.10 lookup 100'"
check "the instance becomes MASTER" vre_wait 4 vre_has "$rt-a" 192.0.2.100
check "virtual_routes: unreachable 203.0.113.64/26" eval "rt_ip route show | grep -q 'unreachable 203.0.113.64/26 proto keepalived'"
check "virtual_routes: multipath 203.0.113.128/26 proto static mtu lock 1400, weights 2 and 1" eval \
    "rt_ip route show | tr -d '\n' | grep -qE '203.0.113.128/26 proto static mtu lock 1400 *\s+nexthop via 192.0.2.253 dev eth0 weight 2 *\s+nexthop via 192.0.2.252 dev eth0 weight 1'"
check "virtual_routes: blackhole 2001:db8:9::/48 (IPv6)" eval "rt_ip -6 route show | grep -q 'blackhole 2001:db8:9::/48'"
check "virtual_routes: realms 3/5 and congctl lock reno (RTA_FLOW, RTAX_CC_ALGO)" eval \
    "rt_ip route show | grep -q '203.0.113.192/26 via 192.0.2.254 dev eth0 proto keepalived realms 3/5 congctl lock reno'"
check "virtual_routes: expires 300 and pref high (RTA_EXPIRES, RTA_PREF; IPv6)" eval \
    "rt_ip -6 route show | grep -qE '2001:db8:7::/64 via 2001:db8:1::2 dev eth0 proto keepalived metric 1024 expires 29[0-9]sec pref high'"
check "virtual_routes: append puts a second route to 203.0.113.0/26 after the static one (NLM_F_APPEND)" eval \
    "rt_ip route show 203.0.113.0/26 | tr '\n' ' ' | grep -q 'via 192.0.2.254 dev eth0 proto keepalived .*via 192.0.2.253 dev eth0 proto keepalived'"
check "virtual_rules: 500 from 192.0.2.100 lookup 101" eval "rt_ip rule show | grep -qP '^500:\tfrom 192.0.2.100 lookup 101'"
check "virtual_rules: 501 to 203.0.113.0/24 fwmark 0x7 iif eth0 lookup 102" eval \
    "rt_ip rule show | grep -qP '^501:\tfrom all to 203.0.113.0/24 fwmark 0x7 iif eth0 lookup 102'"
check "VIP brd +: 192.0.2.110/24 brd 192.0.2.255" eval "rt_ip addr show dev eth0 | grep -q 'inet 192.0.2.110/24 brd 192.0.2.255'"
check "VIP peer: 192.0.2.111 peer 192.0.2.112/32" eval "rt_ip addr show dev eth0 | grep -q 'inet 192.0.2.111 peer 192.0.2.112/32'"
check "VIP home noprefixroute preferred_lft 60" eval \
    "rt_ip -6 addr show dev eth0 | grep -A1 '2001:db8:1::110/64' | tr -d '\n' | grep -qE 'home noprefixroute.*preferred_lft (60|59|58)sec'"
vre_stop "$rt-a"
check "stopped: the virtual routes and rules are gone" eval \
    "! rt_ip route show | grep -q '203.0.113.64/26' && ! rt_ip rule show | grep -q 'lookup 101'"
check "stopped: the static address, route and rule are gone too (keepalived removes them)" eval \
    "! rt_ip addr show | grep -q 198.51.100.10 && ! rt_ip route show | grep -q 203.0.113.0/26 && ! rt_ip rule show | grep -q 'lookup 100'"
