# virtual_rules selectors (not, suppress_*, uidrange, tunnel-id, realms, type), virtual_routes encap ip/ip6 and
# inet6, and route/rule tracking (sourced by run.sh): what `ip rule` and `ip -d route` show on a Vigil master; a
# tracked route or rule deleted behind its back takes it to BACKUP, from where it takes over and puts it back;
# with `no_track` it stays MASTER without it (keepalived's rule, as for addresses in notrack.sh).

rr=vrr
vre_pair "$rr"
vre_config "$VRE_TMP/rr.conf" 3 ipv4 multicast 200 0 192.0.2.1 192.0.2.2 0.2
vre_insert "$VRE_TMP/rr.conf" "" "virtual_routes {
        203.0.113.64/26 encap ip id 5 dst 192.0.2.9 ttl 3 dev eth0
        2001:db8:5::/64 encap ip6 id 6 dst 2001:db8::9 hoplimit 4 dev eth0
        inet6 default dev eth0 table 200
        198.51.100.0/25 via 192.0.2.254 dev eth0
        198.51.100.128/25 via 192.0.2.254 dev eth0 no_track
    }
    virtual_rules {
        not from 192.0.2.0/24 table 100 priority 600 suppress_prefixlength 0 suppress_ifgroup 1 uidrange 100-200 tunnel-id 7 realms 1/2
        from 192.0.2.0/24 type prohibit priority 601
        to 203.0.113.0/24 table 101 priority 602 no_track
    }"
vre_start vigil "$rr-a" "$VRE_TMP/rr.conf"
rr_ip() { ip -n "$rr-a" "$@" 2>/dev/null; }
rr_status() { "$(dirname "$VIGILD")/vigilctl" status --control-socket "$VRE_TMP/$rr-a.ctl" 2>/dev/null; }
check "the instance becomes MASTER" vre_wait 4 vre_has "$rr-a" 192.0.2.100
check "virtual_rules: not, uidrange, tunnel-id, suppress_prefixlength, suppress_ifgroup, realms; tracked: proto keepalived" eval \
    "rt=\$(rr_ip rule show pref 600); echo \"\$rt\" | grep -qP '^600:\tnot from 192.0.2.0/24 uidrange 100-200 tun_id 7 lookup 100 suppress_prefixlength 0 suppress_ifgroup 1 realms 1/2 proto keepalived'"
check "virtual_rules: type prohibit" eval "rr_ip rule show pref 601 | grep -qP '^601:\tfrom 192.0.2.0/24 prohibit proto keepalived'"
check "virtual_rules: no_track leaves the protocol alone" eval \
    "rr_ip rule show pref 602 | grep -P '^602:\tfrom all to 203.0.113.0/24 lookup 101' | grep -vq 'proto keepalived'"
check "virtual_routes: encap ip id 5 dst 192.0.2.9 ttl 3" eval \
    "rr_ip -d route show 203.0.113.64/26 | grep -q 'encap ip id 5 src 0.0.0.0 dst 192.0.2.9 ttl 3 tos 0 dev eth0 proto keepalived'"
check "virtual_routes: encap ip6 id 6 dst 2001:db8::9 hoplimit 4" eval \
    "rr_ip -6 -d route show 2001:db8:5::/64 | grep -q 'encap ip6 id 6 src :: dst 2001:db8::9 hoplimit 4 tc 0 dev eth0 proto keepalived'"
check "virtual_routes: inet6 default is ::/0 (table 200)" eval "rr_ip -6 route show table 200 | grep -q '^default dev eth0 proto keepalived'"

# no_track: deleted, the line stays deleted and the instance MASTER.
rr_ip route del 198.51.100.128/25 via 192.0.2.254 dev eth0
rr_ip rule del pref 602
sleep 1.5
check "no_track route and rule deleted: the instance stays MASTER (never left it)" eval \
    "rr_status | grep -q 'VI_1: MASTER' && ! grep -q 'was deleted' '$VRE_TMP/$rr-a.log'"
check "no_track route and rule deleted: they stay deleted" eval \
    "! rr_ip route show | grep -q 198.51.100.128/25 && ! rr_ip rule show | grep -q '^602:'"

# Tracked: deleted, the instance leaves MASTER and, alone, takes over again and puts it back.
rr_ip route del 198.51.100.0/25 via 192.0.2.254 dev eth0
check "tracked route deleted: Vigil says why it left MASTER" vre_wait 2 eval \
    "grep -q \"route '198.51.100.0/25 via 192.0.2.254 dev eth0' was deleted (no_track not set)\" '$VRE_TMP/$rr-a.log'"
check "tracked route deleted: it is back within 2 s (BACKUP, then MASTER again)" vre_wait 2 eval \
    "rr_ip route show | grep -q '198.51.100.0/25 via 192.0.2.254 dev eth0 proto keepalived'"
check "tracked route deleted: the no_track ones come back with it" vre_wait 2 eval \
    "rr_ip route show | grep -q 198.51.100.128/25 && rr_ip rule show | grep -q '^602:'"
sleep 1
rr_ip rule del pref 601
check "tracked rule deleted: Vigil says why it left MASTER" vre_wait 2 eval \
    "grep -q \"rule 'from 192.0.2.0/24 type prohibit priority 601' was deleted (no_track not set)\" '$VRE_TMP/$rr-a.log'"
check "tracked rule deleted: it is back within 2 s" vre_wait 2 eval "rr_ip rule show | grep -qP '^601:\tfrom 192.0.2.0/24 prohibit'"
check "its own removals (going BACKUP) did not count as deletions: MASTER, once per deletion" eval \
    "sleep 1.5; rr_status | grep -q 'VI_1: MASTER' && [ \$(grep -c 'VRRPWorker.*MASTER -> BACKUP.*was deleted (no_track not set)' '$VRE_TMP/$rr-a.log') = 2 ]"
vre_stop "$rr-a"
check "stopped: the virtual routes and rules are gone" eval \
    "! rr_ip route show | grep -q 203.0.113.64/26 && ! rr_ip rule show | grep -q '^60[0-2]:'"
