# auth_type AH against keepalived, unicast_ttl and min_ttl on the wire, unicast_fault_no_peer, track_src_ip,
# promote_secondaries, kernel_rx_buf_size, log_unknown_vrids (sourced by run.sh).

uc=vuc
vre_pair "$uc"

# auth_type AH: Vigil and keepalived verify each other's IPsec AH adverts (HMAC-MD5-96, keepalived's way).
uc_ah() {
    VRE_EXTRA="authentication {
        auth_type AH
        auth_pass secret12
    }" vre_config "$1" 2 ipv4 multicast "$2" 0 "$3" "$4" 1
}
uc_ah "$VRE_TMP/uc-a.conf" 200 192.0.2.1 192.0.2.2
uc_ah "$VRE_TMP/uc-b.conf" 100 192.0.2.2 192.0.2.1
vre_capture_start "$uc-b" eth0 ah 'ip proto 51'
vre_start vigil "$uc-a" "$VRE_TMP/uc-a.conf"
vre_start keepalived "$uc-b" "$VRE_TMP/uc-b.conf"
check "auth_type AH: the Vigil master (200) holds the VIP, keepalived (100) follows it" \
    vre_wait 9 vre_only "$uc" 192.0.2.100 a
sleep 2
check "auth_type AH: still only Vigil two seconds later (keepalived accepts Vigil's AH)" vre_only "$uc" 192.0.2.100 a
vre_capture_stop ah -v
check "tcpdump: Vigil's adverts travel in AH (spi 0xc0000201), authtype ah" \
    eval "grep -q 'AH(length=4(24-bytes),spi=0xc0000201,seq=' '$VRE_TMP/ah.txt' && grep -q 'authtype ah' '$VRE_TMP/ah.txt'"
ip -n "$uc-a" link set eth0 down
check "auth_type AH: Vigil's link down: keepalived takes over" vre_wait 9 vre_only "$uc" 192.0.2.100 b
ip -n "$uc-a" link set eth0 up
check "auth_type AH: link back: Vigil preempts (it accepts keepalived's AH, and keepalived its)" \
    vre_wait 9 vre_only "$uc" 192.0.2.100 a
vre_stop "$uc-a"
vre_stop "$uc-b"
# The other order, and a wrong password: the Vigil backup drops keepalived's adverts (both masters, as with two
# keepalived), counted as AH failures.
uc_ah "$VRE_TMP/uc-a.conf" 100 192.0.2.1 192.0.2.2
uc_ah "$VRE_TMP/uc-b.conf" 200 192.0.2.2 192.0.2.1
vre_start keepalived "$uc-b" "$VRE_TMP/uc-b.conf"
vre_start vigil "$uc-a" "$VRE_TMP/uc-a.conf"
check "auth_type AH: keepalived (200) master, the Vigil backup follows" vre_wait 9 vre_only "$uc" 192.0.2.100 b
sleep 2
check "auth_type AH: still only keepalived" vre_only "$uc" 192.0.2.100 b
vre_stop "$uc-a"
sed -i 's/auth_pass secret12/auth_pass other/' "$VRE_TMP/uc-a.conf"
vre_start vigil "$uc-a" "$VRE_TMP/uc-a.conf"
uc_counter() { vre_counter "$uc-a" VI_1 "$1"; }
check "auth_type AH, wrong auth_pass: keepalived's adverts fail Vigil's AH check (dropped_authenticationHeader)" \
    vre_wait 6 eval '[ "$(uc_counter dropped_authenticationHeader)" -ge 2 ] 2>/dev/null'
vre_stop "$uc-a"
vre_stop "$uc-b"

# unicast_ttl: unicast adverts leave with TTL 16; a peer's adverts outside min_ttl/max_ttl are dropped.
VRE_EXTRA="unicast_ttl 16" vre_config "$VRE_TMP/uc-a.conf" 3 ipv4 unicast 200 0 192.0.2.1 192.0.2.2 0.2
vre_capture_start "$uc-b" eth0 ttl 'vrrp'
vre_start vigil "$uc-a" "$VRE_TMP/uc-a.conf"
check "unicast_ttl 16: Vigil is MASTER" vre_wait 4 vre_has "$uc-a" 192.0.2.100
sleep 0.5
vre_capture_stop ttl -v
check "tcpdump: Vigil's unicast adverts to 192.0.2.2 carry TTL 16" \
    eval "grep -A1 'ttl 16,' '$VRE_TMP/ttl.txt' | grep -q '192.0.2.1 > 192.0.2.2: VRRPv3'"
vre_stop "$uc-a"
vre_config "$VRE_TMP/uc-a.conf" 2 ipv4 unicast 100 0 192.0.2.1 192.0.2.2 1
python3 - "$VRE_TMP/uc-a.conf" <<'EOF'
import re, sys
path = sys.argv[1]
text = open(path).read()
text = re.sub(r"unicast_peer \{\s*192\.0\.2\.2\s*\}", "unicast_peer {\n        192.0.2.2 min_ttl 250 max_ttl 255\n    }", text)
open(path, "w").write(text)
EOF
vre_start vigil "$uc-a" "$VRE_TMP/uc-a.conf"
vre_wait 6 vre_has "$uc-a" 192.0.2.100
ip netns exec "$uc-b" python3 - <<'EOF'
import sys
sys.path.insert(0, "Tests/Namespaces/vrrp")
import socket
from advert import advert
for ttl in (64, 64, 64):
    packet = bytearray(advert("192.0.2.2", 51, 250, 2, "192.0.2.100", "vre-pass"))
    packet[8] = ttl
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.sendto(bytes(packet).replace(socket.inet_aton("224.0.0.18"), socket.inet_aton("192.0.2.1")), ("192.0.2.1", 0))
EOF
check "min_ttl 250: a priority-250 advert from the peer at TTL 64 is dropped (dropped_hopLimit), Vigil stays MASTER" \
    vre_wait 3 eval '[ "$(uc_counter dropped_hopLimit)" -ge 3 ] 2>/dev/null && vre_has '"$uc-a"' 192.0.2.100'
vre_stop "$uc-a"

# unicast_fault_no_peer: an empty unicast_peer block is FAULT, not a silent fall back to multicast.
vre_config "$VRE_TMP/uc-a.conf" 3 ipv4 multicast 200 0 192.0.2.1 192.0.2.2 0.2
sed -i 's/^vrrp_instance VI_1 {/vrrp_instance VI_1 {\n    unicast_peer {\n    }\n    unicast_fault_no_peer/' "$VRE_TMP/uc-a.conf"
vre_start vigil "$uc-a" "$VRE_TMP/uc-a.conf"
uc_state() {
    "$(dirname "$VIGILD")/vigilctl" status --control-socket "$VRE_TMP/$uc-a.ctl" 2>/dev/null | grep -q "vrrp_instance VI_1: $1"
}
check "unicast_fault_no_peer with no peers: FAULT (no VIP, no adverts)" vre_wait 4 uc_state FAULT
check "unicast_fault_no_peer: and no VIP" eval "! vre_has $uc-a 192.0.2.100"
vre_stop "$uc-a"
sed -i '/unicast_fault_no_peer/d' "$VRE_TMP/uc-a.conf"
line=$(grep -n 'unicast_peer {' "$VRE_TMP/uc-a.conf" | cut -d: -f1)
check "an empty unicast_peer without unicast_fault_no_peer is warned at FILE:$line (multicast fallback)" \
    eval "'$VIGILD' -t -f '$VRE_TMP/uc-a.conf' 2>&1 | grep -q 'uc-a.conf:$line: warning: .unicast_peer. without any unicast_peer'"

# track_src_ip: the configured source going away is FAULT; its return lets the instance run again.
ip -n "$uc-a" addr add 192.0.2.21/24 dev eth0
VRE_EXTRA="track_src_ip
    mcast_src_ip 192.0.2.21
    promote_secondaries
    kernel_rx_buf_size 524288" vre_config "$VRE_TMP/uc-a.conf" 3 ipv4 multicast 200 0 192.0.2.1 192.0.2.2 0.2
sed -i 's/^global_defs {/global_defs {\n    log_unknown_vrids/' "$VRE_TMP/uc-a.conf"
vre_start vigil "$uc-a" "$VRE_TMP/uc-a.conf"
check "track_src_ip: MASTER while 192.0.2.21 is on eth0" vre_wait 4 vre_has "$uc-a" 192.0.2.100
check "promote_secondaries: net.ipv4.conf.eth0.promote_secondaries is 1" \
    eval "[ \"\$(ip netns exec $uc-a sysctl -n net.ipv4.conf.eth0.promote_secondaries)\" = 1 ]"
# ss has no memory figures for raw sockets: borrow the worker's VRRP socket (pidfd_getfd) and ask SO_RCVBUF.
uc_rcvbuf() {
    local owner
    owner=$(ip netns exec "$uc-a" ss -a -w -p | grep ':vrrp ' | grep -o 'pid=[0-9]*,fd=[0-9]*' | head -1)
    [ -n "$owner" ] || return 1
    python3 - "${owner#pid=}" <<'EOF'
import ctypes, os, socket, sys
pid, fd = (int(part.split("=")[-1]) for part in sys.argv[1].split(","))
libc = ctypes.CDLL(None, use_errno=True)
local = libc.syscall(438, os.pidfd_open(pid), fd, 0)  # pidfd_getfd
print(socket.socket(fileno=local).getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
EOF
}
check "kernel_rx_buf_size 524288: the VRRP socket's SO_RCVBUF is at least that" \
    eval '[ "$(uc_rcvbuf)" -ge 524288 ] 2>/dev/null'
ip -n "$uc-a" addr del 192.0.2.21/24 dev eth0
check "track_src_ip: 192.0.2.21 removed: FAULT, the VIP goes" vre_wait 4 eval "uc_state FAULT && ! vre_has $uc-a 192.0.2.100"
ip -n "$uc-a" addr add 192.0.2.21/24 dev eth0
check "track_src_ip: 192.0.2.21 back: MASTER again" vre_wait 4 vre_has "$uc-a" 192.0.2.100
ip netns exec "$uc-b" python3 Tests/Namespaces/vrrp/advert.py 192.0.2.2 77 100 3 192.0.2.100
check "log_unknown_vrids: an advert for VRID 77 (nobody's) is logged" \
    vre_wait 3 eval "grep -q 'VRID 77 from 192.0.2.2' '$VRE_TMP/$uc-a.log'"
vre_stop "$uc-a"
check "promote_secondaries is put back when Vigil stops" \
    eval "[ \"\$(ip netns exec $uc-a sysctl -n net.ipv4.conf.eth0.promote_secondaries)\" = 0 ]"
