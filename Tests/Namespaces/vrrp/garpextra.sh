# garp_extra_if / vrrp_garp_extra_if (and the old vrrp_vmac_garp_intvl), garp_group, measured on the wire (sourced by
# run.sh). Vigil in gx-a holds 192.0.2.100 on eth0 and 198.51.100.10 on eth1 (a veth to gx-b, where tcpdump listens
# on every interface).

gx=vgx
vre_pair "$gx"
ip -n "$gx-a" link add eth1 type veth peer name eth1 netns "$gx-b"
ip -n "$gx-a" addr add 198.51.100.1/24 dev eth1
ip -n "$gx-b" addr add 198.51.100.2/24 dev eth1
ip -n "$gx-a" link set eth1 up
ip -n "$gx-b" link set eth1 up

# gx_run NAME GLOBAL INSTANCE TOP SECONDS: Vigil MASTER alone with the two VIPs, GLOBAL added to global_defs,
# INSTANCE to the instance, TOP at the top level; captures SECONDS from before it starts.
gx_run() {
    VRE_EXTRA="garp_master_delay 0
    $3" vre_config "$VRE_TMP/gx.conf" 3 ipv4 multicast 200 0 192.0.2.1 192.0.2.2 0.2
    sed -i "s|^global_defs {|global_defs {\n    $2|; s|        192.0.2.100/24|        192.0.2.100/24\n        198.51.100.10/24 dev eth1 ${GX_VIP_OPTIONS:-}|" \
        "$VRE_TMP/gx.conf"
    printf '%s\n' "$4" >>"$VRE_TMP/gx.conf"
    vre_capture_start "$gx-b" any "$1" arp
    vre_start vigil "$gx-a" "$VRE_TMP/gx.conf"
    vre_wait 4 vre_has "$gx-a" 192.0.2.100
    sleep "$5"
    vre_stop "$gx-a"
    vre_capture_stop "$1" -tt
}

# gx_times CAPTURE ADDRESS: the timestamps of the gratuitous ARPs for ADDRESS.
gx_times() { grep -E "Request who-has $2 .*tell $2," "$VRE_TMP/$1.txt" | awk '{ print $1 }'; }
gx_count() { gx_times "$1" "$2" | wc -l; }
# gx_burst_only CAPTURE ADDRESS: some gratuitous ARPs for ADDRESS, all within 0.5 s (the master's burst, nothing after).
gx_burst_only() {
    gx_times "$1" "$2" | awk 'NR == 1 { first = $1 } { last = $1; n++ } END { exit !(n > 0 && last - first < 0.5) }'
}
# gx_periodic CAPTURE ADDRESS: after the master's burst (the ARPs within 0.5 s of the first one seen), at least 3
# more, each 0.9-1.15 s after the one before. The burst is found by time, not counted: tcpdump's ring may drop some of
# its back-to-back frames ("packets dropped by kernel"). On failure it prints the times it read, from the first.
gx_periodic() {
    gx_times "$1" "$2" | awk 'NR == 1 { first = $1 } { seen = seen sprintf(" %.3f", $1 - first) }
        $1 - first > 0.5 { gap = $1 - last; n++; if (gap < 0.9 || gap > 1.15) bad = 1 } { last = $1 }
        END { if (bad || n < 3) print "    gratuitous ARPs at (s):" seen; exit (bad || n < 3) }'
}
# gx_spaced CAPTURE MIN_MS MAX_MS ADDRESS...: the gratuitous ARPs for ADDRESSes, merged, each MIN-MAX ms after the last.
gx_spaced() {
    local capture=$1 min=$2 max=$3 address
    shift 3
    for address in "$@"; do gx_times "$capture" "$address"; done | sort -n |
        awk -v min="$min" -v max="$max" 'NR > 1 { gap = ($1 - last) * 1000; if (gap < min || gap > max) bad = 1 }
            { last = $1; n++ } END { exit (bad || n < 5) }'
}

gx_run extra "" "garp_extra_if all 1" "" 4.2
check "garp_extra_if all 1: a gratuitous ARP for the eth1 VIP every second after the master's burst" \
    gx_periodic extra 198.51.100.10
check "garp_extra_if all 1: none more on the advertising interface (only the burst for 192.0.2.100)" \
    gx_burst_only extra 192.0.2.100

gx_run oldname "vrrp_vmac_garp_intvl all 1" "" "" 4.2
check "vrrp_vmac_garp_intvl all 1 (global, old name): the eth1 VIP announced every second" \
    gx_periodic oldname 198.51.100.10

gx_run vmaconly "vrrp_garp_extra_if 1" "" "" 3.2
check "vrrp_garp_extra_if 1 without all: eth1 is no VMAC, so only the master's burst there" \
    gx_burst_only vmaconly 198.51.100.10

GX_VIP_OPTIONS=use_vmac gx_run vmac "vrrp_garp_extra_if 1" "" "" 4.2
check "vrrp_garp_extra_if 1, the eth1 VIP on a VMAC (use_vmac): announced every second" gx_periodic vmac 198.51.100.10
check "vrrp_garp_extra_if 1: those ARPs leave from the VMAC's MAC 00:00:5e:00:01:33" \
    eval "tcpdump -r '$VRE_TMP/vmac.pcap' -e -n 2>/dev/null | grep 'who-has 198.51.100.10' | tail -1 | grep -q '00:00:5e:00:01:33'"

gx_run group "" "" "garp_group {
    garp_interval 0.1
    interfaces {
        eth0
        eth1
    }
}" 1.5
check "garp_group interfaces { eth0 eth1 } garp_interval 0.1: the 10 ARPs of both VIPs 90-150 ms apart across both" \
    gx_spaced group 90 150 192.0.2.100 198.51.100.10
check "garp_group interfaces: both VIPs' ARPs seen, 9 or 10 (the capture may miss the first)" eval \
    "[ \"\$(( \$(gx_count group 192.0.2.100) + \$(gx_count group 198.51.100.10) ))\" -ge 9 ]"

gx_run single "vrrp_garp_interval 0.05" "" "garp_group {
    garp_interval 0.1
    interface eth1
}" 1.5
check "garp_group interface eth1 garp_interval 0.1: eth1's 5 ARPs 90-150 ms apart" \
    gx_spaced single 90 150 198.51.100.10
check "garp_group interface eth1: eth0 keeps the global vrrp_garp_interval 0.05 (45-90 ms)" \
    gx_spaced single 45 90 192.0.2.100
