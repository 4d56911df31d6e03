# A master's VIP deleted behind its back (sourced by run.sh): keepalived's rule, the instance goes BACKUP and, alone,
# takes over again and puts the VIP back; with `no_track` on the address it stays MASTER without it.

nt=vnt
vre_pair "$nt"
nt_status() { "$(dirname "$VIGILD")/vigilctl" status --control-socket "$VRE_TMP/$nt-a.ctl" 2>/dev/null; }

vre_config "$VRE_TMP/nt.conf" 3 ipv4 multicast 200 0 192.0.2.1 192.0.2.2 0.2
vre_start vigil "$nt-a" "$VRE_TMP/nt.conf"
vre_wait 4 vre_has "$nt-a" 192.0.2.100
ip -n "$nt-a" addr del 192.0.2.100/24 dev eth0
check "VIP deleted: Vigil says why it left MASTER" vre_wait 2 eval "grep -q '192.0.2.100/24 dev eth0 was deleted' '$VRE_TMP/$nt-a.log'"
check "VIP deleted: Vigil takes over again and puts it back within 2 s" vre_wait 2 vre_has "$nt-a" 192.0.2.100
vre_stop "$nt-a"

sed -i 's|        192.0.2.100/24|        192.0.2.100/24 no_track|' "$VRE_TMP/nt.conf"
vre_start vigil "$nt-a" "$VRE_TMP/nt.conf"
vre_wait 4 vre_has "$nt-a" 192.0.2.100
ip -n "$nt-a" addr del 192.0.2.100/24 dev eth0
sleep 2
check "no_track: the VIP deleted stays deleted" eval "! vre_has '$nt-a' 192.0.2.100"
check "no_track: the instance stays MASTER" eval "nt_status | grep -q 'VI_1: MASTER'"
vre_stop "$nt-a"
