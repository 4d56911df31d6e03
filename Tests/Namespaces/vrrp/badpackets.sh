# Sourced by run.sh: malformed and invalid VRRPv2 adverts injected with a raw socket from vr2-b at the Vigil
# MASTER in vr2-a (priority 200). Each claims priority 250, so accepting one would make Vigil BACKUP; every
# kind must be dropped, counted in `vigilctl status --json`, and leave Vigil MASTER.

# VR2_DEBUG=1 (with VRE_ONLY=extras) runs this section alone and prints the status.
[ -n "${VR2_DEBUG:-}" ] && vre_pair vr2 && VR2=$VRE_TMP/vr2 && mkdir -p "$VR2"
cat >"$VR2/inject.py" <<'EOF'
import socket, struct, sys
sys.path.insert(0, "Tests/Namespaces/vrrp")
from advert import checksum

def vrrp(vrid=51, priority=250, password=b"vre-pass", good_checksum=True):
    auth = password.ljust(8, b"\0")[:8]
    body = struct.pack("!BBBBBBH", 0x21, vrid, priority, 1, 1, 1, 0) + socket.inet_aton("192.0.2.100") + auth
    value = checksum(body) ^ (0 if good_checksum else 0x5A5A)
    return body[:6] + struct.pack("!H", value) + body[8:]

def ip(payload, ttl=255):
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(payload), 0, 0, ttl, 112, 0,
                         socket.inet_aton("192.0.2.2"), socket.inet_aton("224.0.0.18"))
    return header + payload

packets = {
    "ttl": ip(vrrp(), ttl=64),
    "checksum": ip(vrrp(good_checksum=False)),
    "auth": ip(vrrp(password=b"wrong")),
    "vrid": ip(vrrp(vrid=52)),
    "truncated": ip(vrrp()[:6]),
}
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"eth0")
for name in sys.argv[1:]:
    for _ in range(3):
        s.sendto(packets[name], ("224.0.0.18", 0))
EOF
vre_config "$VR2/a.conf" 2 ipv4 multicast 200 0 192.0.2.1 192.0.2.2 1
vre_start vigil vr2-a "$VR2/a.conf"
check "bad packets: Vigil alone is MASTER" vre_wait 6 vre_only vr2 192.0.2.100 a
vr2_counter() { vre_counter vr2-a VI_1 "$1"; }
for kind in ttl:dropped_hopLimit checksum:dropped_checksum auth:dropped_authentication \
    vrid:dropped_virtualRouterID truncated:dropped_length; do
    ip netns exec vr2-b python3 "$VR2/inject.py" "${kind%%:*}"
    check "bad packets: ${kind%%:*} x3: ${kind#*:} >= 3 in vigilctl status --json" \
        vre_wait 4 eval '[ "$(vr2_counter "${kind#*:}")" -ge 3 ] 2>/dev/null'
done
[ -n "${VR2_DEBUG:-}" ] && "$(dirname "$VIGILD")/vigilctl" status --json --control-socket "$VRE_TMP/vr2-a.ctl" && grep -c dropped "$VRE_TMP/vr2-a.log"
check "bad packets: Vigil is still MASTER with the VIP" vre_only vr2 192.0.2.100 a
check "bad packets: no advert was accepted" eval '[ "$(vr2_counter adverts_accepted)" = 0 ]'
vre_stop vr2-a
