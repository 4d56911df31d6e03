# Gratuitous ARP / NA timing on the wire, garp_lower_prio_*, state MASTER, a sync group's own track_script
# (sourced by run.sh). Vigil alone in gp-a; gp-b captures and plays a peer with a raw socket (advert.py).

gp=vgp
vre_pair "$gp"

gp_capture_start() { vre_capture_start "$gp-b" eth0 "$1" 'arp or icmp6 or vrrp'; }
gp_capture_stop() { vre_capture_stop "$1" -tt; }

# gp_times CAPTURE PATTERN: the timestamps of the lines matching PATTERN.
gp_times() { grep -E "$2" "$VRE_TMP/$1.txt" | awk '{ print $1 }'; }
gp_garps() { gp_times "$1" "Request who-has $2 .*tell $2,"; }
gp_nas() { gp_times "$1" "neighbor advertisement, tgt is $2,"; }

# gp_gaps: the gaps between consecutive timestamps on stdin, in ms.
gp_gaps() { awk 'NR > 1 { printf "%d\n", ($1 - last) * 1000 } { last = $1 }'; }

# gp_min_gap CAPTURE KIND ADDRESS COUNT MIN_MS MAX_MS: the first COUNT frames exist and every gap is in range.
gp_spaced() {
    local times
    times=$("gp_$2" "$1" "$3" | head -"$4")
    [ "$(wc -l <<<"$times")" -eq "$4" ] || return 1
    gp_gaps <<<"$times" | awk -v min="$5" -v max="$6" '$1 < min || $1 > max { bad = 1 } END { exit bad }'
}

gp_start() {
    vre_start vigil "$gp-a" "$VRE_TMP/gp.conf"
    vre_wait 6 vre_has "$gp-a" "${1:-192.0.2.100}"
}

# vrrp_garp_interval: the master's 5 gratuitous ARPs leave 100 ms apart (back to back without it).
vre_config "$VRE_TMP/gp.conf" 3 ipv4 multicast 200 0 192.0.2.1 192.0.2.2 0.2
sed -i 's/^global_defs {/global_defs {\n    vrrp_garp_interval 0.1/' "$VRE_TMP/gp.conf"
gp_capture_start garp
gp_start
sleep 1
gp_capture_stop garp
check "vrrp_garp_interval 0.1: the 5 gratuitous ARPs are 90-150 ms apart on the wire" \
    gp_spaced garp garps 192.0.2.100 5 90 150
vre_stop "$gp-a"
vre_config "$VRE_TMP/gp.conf" 3 ipv4 multicast 200 0 192.0.2.1 192.0.2.2 0.2
gp_capture_start burst
gp_start
sleep 0.5
gp_capture_stop burst
check "without vrrp_garp_interval: the 5 gratuitous ARPs go back to back (< 20 ms apart)" \
    gp_spaced burst garps 192.0.2.100 5 0 20
vre_stop "$gp-a"

# vrrp_gna_interval: unsolicited neighbour advertisements 50 ms apart.
vre_config "$VRE_TMP/gp.conf" 3 ipv6 multicast 200 0 192.0.2.1 192.0.2.2 0.2
sed -i 's/^global_defs {/global_defs {\n    vrrp_gna_interval 0.05/' "$VRE_TMP/gp.conf"
gp_capture_start gna
gp_start 2001:db8:1::100
sleep 1
gp_capture_stop gna
check "vrrp_gna_interval 0.05: the 5 unsolicited NAs are 45-100 ms apart on the wire" \
    gp_spaced gna nas 2001:db8:1::100 5 45 100
vre_stop "$gp-a"

# garp_lower_prio_repeat / _delay: a master hearing a lower priority (a peer that thinks it is master) sends 3
# gratuitous ARPs at once and 3 more a second later.
VRE_EXTRA="garp_master_delay 0
    garp_lower_prio_repeat 3
    garp_lower_prio_delay 1" vre_config "$VRE_TMP/gp.conf" 3 ipv4 multicast 200 0 192.0.2.1 192.0.2.2 1
gp_start
sleep 0.5
gp_capture_start lower
ip netns exec "$gp-b" python3 Tests/Namespaces/vrrp/advert.py 192.0.2.2 51 50 3 192.0.2.100
sleep 1.6
gp_capture_stop lower
# gp_after_advert CAPTURE FROM TO: how many gratuitous ARPs for the VIP left between FROM and TO seconds after the
# injected priority-50 advert.
gp_after_advert() {
    local advert
    advert=$(gp_times "$1" "192.0.2.2 > 224.0.0.18: VRRPv3, Advertisement, vrid 51, prio 50" | head -1)
    [ -n "$advert" ] || { echo -1; return; }
    gp_garps "$1" 192.0.2.100 | awk -v t="$advert" -v from="$2" -v to="$3" \
        '{ d = $1 - t; if (d >= from && d < to) n++ } END { print n + 0 }'
}
gp_lower() {
    [ "$(gp_after_advert lower 0 0.2)" = 3 ] && [ "$(gp_after_advert lower 0.9 1.3)" = 3 ] &&
        [ "$(gp_after_advert lower 0 1.6)" = 6 ]
}
check "garp_lower_prio_repeat 3, _delay 1: 3 gratuitous ARPs right after a priority-50 advert, 3 more 1 s later" \
    gp_lower
check "the master answered the lower priority with its own advert (prio 200)" \
    eval "grep -q '192.0.2.1 > 224.0.0.18: VRRPv3, Advertisement, vrid 51, prio 200' $VRE_TMP/lower.txt"
vre_stop "$gp-a"
# keepalived's defaults (vrrp_garp_lower_prio_repeat = vrrp_garp_master_repeat): 5 at once.
vre_config "$VRE_TMP/gp.conf" 3 ipv4 multicast 200 0 192.0.2.1 192.0.2.2 1
gp_start
sleep 0.5
gp_capture_start lowerdefault
ip netns exec "$gp-b" python3 Tests/Namespaces/vrrp/advert.py 192.0.2.2 51 50 3 192.0.2.100
sleep 0.5
gp_capture_stop lowerdefault
check "by default a master hearing a lower priority sends 5 gratuitous ARPs" \
    eval '[ "$(gp_after_advert lowerdefault 0 0.3)" = 5 ]'
vre_stop "$gp-a"

# state MASTER without priority is keepalived's address owner (255): master at once; state BACKUP with priority
# 255 waits Master_Down_Interval (3 s at advert_int 1).
gp_time_to_master() {
    local start
    start=$(date +%s%N)
    vre_start vigil "$gp-a" "$VRE_TMP/gp.conf"
    vre_wait 6 vre_has "$gp-a" 192.0.2.100 || return 1
    echo $((($(date +%s%N) - start) / 1000000))
}
vre_config "$VRE_TMP/gp.conf" 3 ipv4 multicast 200 0 192.0.2.1 192.0.2.2 1
sed -i 's/^    state BACKUP$/    state MASTER/; /^    priority 200$/d' "$VRE_TMP/gp.conf"
ms=$(gp_time_to_master)
check "state MASTER (no priority: 255): MASTER within 1 s of starting ($ms ms)" eval "[ '${ms:-9999}' -lt 1000 ]"
vre_stop "$gp-a"
vre_config "$VRE_TMP/gp.conf" 3 ipv4 multicast 255 0 192.0.2.1 192.0.2.2 1
ms=$(gp_time_to_master)
check "state BACKUP, priority 255: MASTER only after Master_Down_Interval ($ms ms, keepalived: 3 s)" \
    eval "[ '${ms:-0}' -ge 2900 ]"
vre_stop "$gp-a"

# A sync group's own track_script: failing moves both members to FAULT (both VIPs go), succeeding brings them back.
vre_config "$VRE_TMP/gp.conf" 3 ipv4 multicast 200 0 192.0.2.1 192.0.2.2 0.2
python3 - "$VRE_TMP/gp.conf" "$VRE_TMP/gp-fail" <<'EOF'
import sys
path, fail = sys.argv[1:3]
text = open(path).read()
second = text[text.index("vrrp_instance VI_1"):].replace("VI_1", "VI_2").replace("virtual_router_id 51",
    "virtual_router_id 52").replace("192.0.2.100/24", "192.0.2.101/24")
group = f"""
vrrp_script chk {{
    script "/usr/bin/test ! -e {fail}"
    interval 0.2
}}
vrrp_sync_group G {{
    group {{
        VI_1
        VI_2
    }}
    track_script {{
        chk
    }}
}}
"""
open(path, "w").write(text + second + group)
EOF
gp_start
gp_both() { vre_has "$gp-a" 192.0.2.100 && vre_has "$gp-a" 192.0.2.101; }
gp_none() { ! vre_has "$gp-a" 192.0.2.100 && ! vre_has "$gp-a" 192.0.2.101; }
check "sync group track_script: both members MASTER while the group's script succeeds" vre_wait 4 gp_both
touch "$VRE_TMP/gp-fail"
check "sync group track_script: the script fails: both members release their VIPs (FAULT)" vre_wait 4 gp_none
check "sync group track_script: vigilctl status shows both FAULT" eval \
    "[ \"\$('$(dirname "$VIGILD")/vigilctl' status --control-socket '$VRE_TMP/$gp-a.ctl' | grep -cE 'vrrp_instance VI_[12]: FAULT')\" = 2 ]"
rm -f "$VRE_TMP/gp-fail"
check "sync group track_script: the script succeeds again: both MASTER" vre_wait 4 gp_both
vre_stop "$gp-a"
