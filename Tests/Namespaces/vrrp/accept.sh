# accept / no_accept and vrrp_strict (sourced by run.sh): the nftables no-accept filter where it lands
# (`nft list ruleset`, packets to the VIP dropped on a master without Accept_Mode) and strict mode's refusals.

ac=vac
vre_pair "$ac"

ac_ping() { ip netns exec "$ac-b" busybox ping -c 1 -W 1 "$1" >/dev/null 2>&1; }
ac_ruleset() { ip netns exec "$ac-a" nft list ruleset 2>/dev/null; }
ac_filtering() { ac_ruleset | tr -d '\n\t' | grep -q "table ip keepalived.*elements = { $1 }.*ip daddr @vips drop.*ip saddr @vips drop"; }

# no_accept: the master holds the VIP but drops what is addressed to it (RFC 5798 §6.1 Accept_Mode false).
VRE_EXTRA=no_accept vre_config "$VRE_TMP/ac.conf" 3 ipv4 multicast 200 0 192.0.2.1 192.0.2.2 0.2
vre_start vigil "$ac-a" "$VRE_TMP/ac.conf"
check "no_accept: Vigil is MASTER holding 192.0.2.100" vre_wait 4 vre_has "$ac-a" 192.0.2.100
check "no_accept: nft list ruleset shows table ip keepalived dropping to/from @vips { 192.0.2.100 }" \
    vre_wait 2 ac_filtering 192.0.2.100
check "no_accept: a ping to the master's VIP is dropped" eval "! ac_ping 192.0.2.100"
check "no_accept: the master's own address still answers" ac_ping 192.0.2.1
# A higher priority takes over: the filter lets the (now absent) address go.
ip netns exec "$ac-b" python3 Tests/Namespaces/vrrp/advert.py 192.0.2.2 51 250 3 192.0.2.100 "" 3
check "no_accept: as BACKUP the VIP is gone and the set is empty" \
    vre_wait 2 eval "! vre_has $ac-a 192.0.2.100 && ! ac_ruleset | grep -q 'elements = {'"
check "no_accept: it becomes MASTER again (no more adverts from the peer)" vre_wait 4 vre_has "$ac-a" 192.0.2.100
check "no_accept: and filters again" vre_wait 2 ac_filtering 192.0.2.100
vre_stop "$ac-a"
check "no_accept: Vigil stopped: its nftables table is gone" eval "! ac_ruleset | grep -q keepalived"

# accept (keepalived's default outside strict mode): no table, the VIP answers.
vre_config "$VRE_TMP/ac.conf" 3 ipv4 multicast 200 0 192.0.2.1 192.0.2.2 0.2
vre_start vigil "$ac-a" "$VRE_TMP/ac.conf"
check "accept (default): Vigil is MASTER" vre_wait 4 vre_has "$ac-a" 192.0.2.100
check "accept (default): a ping to the VIP is answered" vre_wait 2 ac_ping 192.0.2.100
check "accept (default): no nftables table" eval "! ac_ruleset | grep -q keepalived"
vre_stop "$ac-a"

# vrrp_strict: no Accept_Mode by default (the filter), lower_prio_no_advert (a lower priority gets no answer).
# (garp_master_delay 0: no second burst to mistake for an answer.)
VRE_EXTRA="garp_master_delay 0" vre_config "$VRE_TMP/ac.conf" 3 ipv4 multicast 200 0 192.0.2.1 192.0.2.2 1
sed -i 's/^global_defs {/global_defs {\n    vrrp_strict/' "$VRE_TMP/ac.conf"
vre_start vigil "$ac-a" "$VRE_TMP/ac.conf"
check "vrrp_strict: Vigil is MASTER" vre_wait 6 vre_has "$ac-a" 192.0.2.100
check "vrrp_strict: the no-accept filter is on by default" vre_wait 2 ac_filtering 192.0.2.100
vre_capture_start "$ac-b" eth0 strict 'vrrp or arp'
ip netns exec "$ac-b" python3 Tests/Namespaces/vrrp/advert.py 192.0.2.2 51 50 3 192.0.2.100
sleep 0.5
vre_capture_stop strict -tt
# ac_after SECONDS PATTERN: lines matching PATTERN within SECONDS after the injected priority-50 advert.
ac_after() {
    local injected
    injected=$(grep 'prio 50,' "$VRE_TMP/strict.txt" | awk '{ print $1 }' | head -1)
    [ -n "$injected" ] || { echo missing; return; }
    grep -E "$2" "$VRE_TMP/strict.txt" | awk -v t="$injected" -v w="$1" '$1 > t && $1 - t < w'
}
check "vrrp_strict: a lower priority gets no advert in answer (lower_prio_no_advert)" \
    eval '[ -z "$(ac_after 0.02 "192.0.2.1 > 224.0.0.18.*prio 200")" ]'
check "vrrp_strict: nor a gratuitous ARP burst (garp_lower_prio_repeat 0)" \
    eval '[ -z "$(ac_after 0.4 "who-has 192.0.2.100")" ]'
vre_stop "$ac-a"

# What strict mode refuses, with the line.
vre_config "$VRE_TMP/ac.conf" 3 ipv4 unicast 200 0 192.0.2.1 192.0.2.2 1
sed -i 's/^global_defs {/global_defs {\n    vrrp_strict/' "$VRE_TMP/ac.conf"
line=$(grep -n 'unicast_peer' "$VRE_TMP/ac.conf" | cut -d: -f1)
ac_refused() { ! "$VIGILD" -t -f "$VRE_TMP/ac.conf" >"$VRE_TMP/ac-t.txt" 2>&1 && grep -q "$1" "$VRE_TMP/ac-t.txt"; }
check "vrrp_strict: vigild -t refuses unicast_peer at FILE:$line" \
    ac_refused "ac.conf:$line: error: .*unicast_peer is not allowed in strict mode"
vre_config "$VRE_TMP/ac.conf" 3 ipv4 multicast 200 0 192.0.2.1 192.0.2.2 1
sed -i 's/^global_defs {/global_defs {\n    vrrp_strict/; s/^    state BACKUP$/    state MASTER/' "$VRE_TMP/ac.conf"
line=$(grep -n 'state MASTER' "$VRE_TMP/ac.conf" | cut -d: -f1)
check "vrrp_strict: state MASTER with priority 200 is warned at FILE:$line and ignored" \
    eval "'$VIGILD' -t -f '$VRE_TMP/ac.conf' 2>&1 | grep -q 'ac.conf:$line: warning: strict mode allows state MASTER if and only if priority is 255'"
