# VMAC (use_vmac, vmac_xmit_base) between vigild and keepalived 2.2.7, both using use_vmac (sourced by run.sh).
#
# What lands where: `ip -d link` shows the macvlan (private mode, 00:00:5e:00:01:VRID, or 00:00:5e:00:02:VRID
# for IPv6) with the VIP on it; tcpdump -e on the bridge shows the adverts and gratuitous ARPs leaving from the
# virtual MAC (from the base's MAC with vmac_xmit_base); a neighbour resolves the VIP to the virtual MAC; the
# macvlan goes when vigild stops. Failover both ways with both sides on VMACs.

vmac_pair=vvm
vre_pair "$vmac_pair"

vmac_capture_start() { vre_capture_start "$vmac_pair-br" br0 "$1" 'vrrp or ip6 proto 112 or arp'; }
vmac_capture_stop() { vre_capture_stop "$1" -e; }

# vmac_link NS NAME MAC: NAME is a private-mode macvlan on eth0 with MAC.
vmac_link() {
    local shown
    shown=$(ip -n "$1" -d link show "$2" 2>/dev/null) || return 1
    grep -q "$2@eth0" <<<"$shown" && grep -q "link/ether $3 " <<<"$shown" && grep -q 'macvlan mode private' <<<"$shown"
}

vmac_has() { ip -n "$1" addr show dev "$2" 2>/dev/null | grep -qE "inet6? $3/"; }

# From a capture: an advert of vrid 51 with priority PRIO whose Ethernet source is MAC.
vmac_advert_from() { grep -E "^[0-9:.]+ $2 > .*vrid 51, prio $3," "$VRE_TMP/$1.txt" | grep -q .; }
vmac_garp_from() { grep -qE "^[0-9:.]+ $2 > ff:ff:ff:ff:ff:ff, .*Request who-has $3 .*tell $3," "$VRE_TMP/$1.txt"; }

# vmac_start FAMILY KIND_A KIND_B: a (priority 200) and b (100), VRRPv3, both with use_vmac.
vmac_start() {
    VRE_EXTRA=use_vmac vre_config "$VRE_TMP/vmac-a.conf" 3 "$1" multicast 200 0 192.0.2.1 192.0.2.2 0.2
    VRE_EXTRA=use_vmac vre_config "$VRE_TMP/vmac-b.conf" 3 "$1" multicast 100 0 192.0.2.2 192.0.2.1 0.2
    vre_start "$2" "$vmac_pair-a" "$VRE_TMP/vmac-a.conf"
    vre_start "$3" "$vmac_pair-b" "$VRE_TMP/vmac-b.conf"
}

# IPv4: Vigil (a) at 200 and keepalived (b) at 100.
vmac_capture_start vmac4
vmac_start ipv4 vigil keepalived
check "use_vmac: ip -d link shows Vigil's vrrp.51 (macvlan private, 00:00:5e:00:01:33 on eth0)" \
    vre_wait 4 vmac_link "$vmac_pair-a" vrrp.51 00:00:5e:00:01:33
check "use_vmac: the Vigil master holds 192.0.2.100 on vrrp.51" vre_wait 4 vmac_has "$vmac_pair-a" vrrp.51 192.0.2.100
check "use_vmac: not on eth0" eval "! vre_has $vmac_pair-a 192.0.2.100"
check "use_vmac: the keepalived backup holds nothing on its vrrp.51" \
    eval "vmac_link $vmac_pair-b vrrp.51 00:00:5e:00:01:33 && ! vmac_has $vmac_pair-b vrrp.51 192.0.2.100"
# A neighbour asks for the VIP: the answer comes from the virtual MAC (the base keeps quiet: arp_ignore).
vmac_arping() { ip netns exec "$1" busybox arping -c 1 -w 1 -I eth0 "$2" 2>&1 | grep -iq "reply from $2 \[$3\]"; }
check "use_vmac: ARP for 192.0.2.100 is answered by 00:00:5e:00:01:33" \
    vmac_arping "$vmac_pair-b" 192.0.2.100 00:00:5e:00:01:33
sleep 0.5
vmac_capture_stop vmac4
check "tcpdump -e: Vigil's adverts (prio 200) leave from 00:00:5e:00:01:33" vmac_advert_from vmac4 00:00:5e:00:01:33 200
check "tcpdump -e: Vigil's gratuitous ARP for 192.0.2.100 comes from 00:00:5e:00:01:33" \
    vmac_garp_from vmac4 00:00:5e:00:01:33 192.0.2.100
ip -n "$vmac_pair-a" link set eth0 down
check "use_vmac: Vigil's link down: keepalived's VMAC takes 192.0.2.100" \
    vre_wait 4 vmac_has "$vmac_pair-b" vrrp.51 192.0.2.100
check "use_vmac: Vigil (FAULT) dropped the VIP from its VMAC" eval "! vmac_has $vmac_pair-a vrrp.51 192.0.2.100"
ip -n "$vmac_pair-a" link set eth0 up
check "use_vmac: link back: Vigil preempts onto its VMAC" \
    vre_wait 4 eval "vmac_has $vmac_pair-a vrrp.51 192.0.2.100 && ! vmac_has $vmac_pair-b vrrp.51 192.0.2.100"
vre_stop "$vmac_pair-a"
check "use_vmac: Vigil stopped: its vrrp.51 is deleted" eval "! ip -n $vmac_pair-a link show vrrp.51 >/dev/null 2>&1"
check "use_vmac: and keepalived took over" vre_wait 2 vmac_has "$vmac_pair-b" vrrp.51 192.0.2.100
vre_stop "$vmac_pair-b"

# The other order: keepalived (a) master at 200, Vigil (b) backup at 100 hears it on its VMAC.
vmac_start ipv4 keepalived vigil
check "use_vmac (keepalived master): keepalived holds 192.0.2.100 on its VMAC" \
    vre_wait 4 vmac_has "$vmac_pair-a" vrrp.51 192.0.2.100
sleep 1
check "use_vmac (keepalived master): the Vigil backup stays backup on vrrp.51" \
    eval "vmac_link $vmac_pair-b vrrp.51 00:00:5e:00:01:33 && ! vmac_has $vmac_pair-b vrrp.51 192.0.2.100"
ip -n "$vmac_pair-a" link set eth0 down
check "use_vmac (keepalived master): link down: Vigil takes the VIP on vrrp.51" \
    vre_wait 4 vmac_has "$vmac_pair-b" vrrp.51 192.0.2.100
ip -n "$vmac_pair-a" link set eth0 up
check "use_vmac (keepalived master): link back: keepalived preempts, Vigil releases" \
    vre_wait 4 eval "vmac_has $vmac_pair-a vrrp.51 192.0.2.100 && ! vmac_has $vmac_pair-b vrrp.51 192.0.2.100"
vre_stop "$vmac_pair-a"
vre_stop "$vmac_pair-b"

# IPv6: the IPv6 virtual MAC, the VIP on the VMAC, adverts from it.
vmac_capture_start vmac6
vmac_start ipv6 vigil keepalived
check "use_vmac IPv6: ip -d link shows vrrp.51 with 00:00:5e:00:02:33" \
    vre_wait 4 vmac_link "$vmac_pair-a" vrrp.51 00:00:5e:00:02:33
check "use_vmac IPv6: the Vigil master holds 2001:db8:1::100 on vrrp.51" \
    vre_wait 4 vmac_has "$vmac_pair-a" vrrp.51 2001:db8:1::100
check "use_vmac IPv6: the keepalived backup does not" eval "! vmac_has $vmac_pair-b vrrp.51 2001:db8:1::100"
sleep 0.5
vmac_capture_stop vmac6
check "tcpdump -e: Vigil's IPv6 adverts (prio 200) leave from 00:00:5e:00:02:33" \
    vmac_advert_from vmac6 00:00:5e:00:02:33 200
ip -n "$vmac_pair-a" link set eth0 down
check "use_vmac IPv6: link down: keepalived takes 2001:db8:1::100" \
    vre_wait 4 vmac_has "$vmac_pair-b" vrrp.51 2001:db8:1::100
ip -n "$vmac_pair-a" link set eth0 up
check "use_vmac IPv6: link back: Vigil preempts" \
    vre_wait 4 eval "vmac_has $vmac_pair-a vrrp.51 2001:db8:1::100 && ! vmac_has $vmac_pair-b vrrp.51 2001:db8:1::100"
vre_stop "$vmac_pair-a"
vre_stop "$vmac_pair-b"

# vmac_xmit_base: the VIP on the VMAC, the adverts from eth0's own MAC.
VRE_EXTRA="use_vmac
    vmac_xmit_base" vre_config "$VRE_TMP/vmac-a.conf" 3 ipv4 multicast 200 0 192.0.2.1 192.0.2.2 0.2
base_mac=$(ip -n "$vmac_pair-a" link show eth0 | awk '/link\/ether/ { print $2 }')
vmac_capture_start xmit
vre_start vigil "$vmac_pair-a" "$VRE_TMP/vmac-a.conf"
check "vmac_xmit_base: the VIP is on vrrp.51" vre_wait 4 vmac_has "$vmac_pair-a" vrrp.51 192.0.2.100
sleep 0.5
vmac_capture_stop xmit
check "tcpdump -e: with vmac_xmit_base the adverts leave from eth0's MAC ($base_mac)" \
    vmac_advert_from xmit "$base_mac" 200
check "tcpdump -e: and none from the virtual MAC" eval "! vmac_advert_from xmit 00:00:5e:00:01:33 200"
vre_stop "$vmac_pair-a"
