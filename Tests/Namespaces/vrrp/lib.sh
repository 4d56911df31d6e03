# Shared by Tests/Namespaces/vrrp/run.sh and scripts/bench-vrrp: a bridge namespace and VRRP nodes on it,
# running vigild or keepalived, and helpers to watch virtual addresses. Source it; needs root.
#
# Topology (per pair P): namespaces ${P}-a and ${P}-b, each with eth0 on a bridge in ${P}-br.
#   ${P}-a: 192.0.2.1/24 2001:db8:1::1/64    ${P}-b: 192.0.2.2/24 2001:db8:1::2/64
# NETWORK RULE: only 192.0.2.0/24 and 2001:db8::/32, only inside these namespaces.

VIGIL_BIN=${VIGIL_BIN:-.build/debug}
VIGILD=$(cd "$(dirname "$VIGIL_BIN/vigild")" && pwd)/vigild
VRE_TMP=${VRE_TMP:-$(mktemp -d /tmp/vre-XXXXXX)}
VRE_PAIRS=()

vre_log() { printf '%s %s\n' "$(date +%T.%N | cut -c1-12)" "$*" >&2; }

# vre_pair P: creates the pair's three namespaces and links.
vre_pair() {
    local p=$1
    VRE_PAIRS+=("$p")
    ip netns add "$p-br"
    ip -n "$p-br" link add br0 type bridge
    ip -n "$p-br" link set br0 up
    ip -n "$p-br" link set lo up
    local side n=1
    for side in a b; do
        ip netns add "$p-$side"
        ip netns exec "$p-$side" sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0 \
            net.ipv6.conf.default.keep_addr_on_down=1 net.ipv6.conf.all.keep_addr_on_down=1
        ip -n "$p-br" link add "port-$side" type veth peer name eth0 netns "$p-$side"
        ip -n "$p-br" link set "port-$side" master br0 up
        ip -n "$p-$side" link set lo up
        ip -n "$p-$side" link set eth0 up
        ip -n "$p-$side" addr add "192.0.2.$n/24" dev eth0
        ip -n "$p-$side" addr add "2001:db8:1::$n/64" dev eth0 nodad
        n=$((n + 1))
    done
}

vre_cleanup() {
    local pidfile
    for pidfile in "$VRE_TMP"/*.daemon; do
        [ -e "$pidfile" ] || continue
        kill "$(cat "$pidfile")" 2>/dev/null
    done
    sleep 0.3
    for pidfile in "$VRE_TMP"/*.daemon; do
        [ -e "$pidfile" ] || continue
        kill -9 "$(cat "$pidfile")" 2>/dev/null
    done
    local p side
    for p in "${VRE_PAIRS[@]}"; do
        for side in a b br; do ip netns del "$p-$side" 2>/dev/null; done
    done
    rm -rf "$VRE_TMP"
}

# vre_config FILE VERSION FAMILY MODE PRIORITY NOPREEMPT SELF PEER ADVERT [VRID]
#   FAMILY ipv4|ipv6, MODE multicast|unicast; writes one vrrp_instance VI_1 holding the VIP .100 / ::100.
#   VRRPv2 uses PASS authentication unless VRE_NOAUTH=1; VRE_EXTRA is added to the instance.
vre_config() {
    local file=$1 version=$2 family=$3 mode=$4 prio=$5 nopreempt=$6 self=$7 peer=$8 advert=$9 vrid=${10:-51}
    local vip auth="" unicast="" preempt=""
    if [ "$family" = ipv4 ]; then vip=192.0.2.100/24; else vip=2001:db8:1::100/64; fi
    if [ "$version" = 2 ] && [ "${VRE_NOAUTH:-0}" != 1 ]; then auth="authentication {
        auth_type PASS
        auth_pass vre-pass
    }"; fi
    if [ "$mode" = unicast ]; then unicast="unicast_src_ip $self
    unicast_peer { $peer }"; fi
    if [ "$nopreempt" = 1 ]; then preempt=nopreempt; fi
    cat >"$file" <<EOF
global_defs {
    router_id vre-$prio
    vrrp_version $version
    vrrp_garp_master_delay 1
    enable_script_security
    # With enable_script_security, keepalived (and Vigil) run no script as root by default: say so.
    script_user root
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id $vrid
    priority $prio
    advert_int $advert
    $preempt
    $auth
    $unicast
    virtual_ipaddress {
        $vip
    }
    ${VRE_EXTRA:-}
}
EOF
}

# vre_start KIND NS CONFIG: starts vigild or keepalived in the namespace, in the foreground, logging to a file.
vre_start() {
    local kind=$1 ns=$2 config=$3 base="$VRE_TMP/$2"
    if [ "$kind" = vigil ]; then
        ip netns exec "$ns" "$VIGILD" -n -l -D -P -f "$config" -p "$base.pid" -r "$base.vrrp.pid" \
            -c "$base.checkers.pid" --control-socket "$base.ctl" >"$base.log" 2>&1 &
    else
        ip netns exec "$ns" keepalived -n -l -D -P -f "$config" -p "$base.pid" -r "$base.vrrp.pid" \
            -c "$base.checkers.pid" >"$base.log" 2>&1 &
    fi
    echo $! >"$base.daemon"
}

# vre_stop NS [SIGNAL]: stops the daemon in NS and waits for it.
vre_stop() {
    local file="$VRE_TMP/$1.daemon" pid
    [ -e "$file" ] || return 0
    pid=$(cat "$file")
    kill "-${2:-TERM}" "$pid" 2>/dev/null
    local i
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rm -f "$file"
}

# vre_has NS ADDRESS: whether eth0 in NS holds ADDRESS (without prefix).
vre_has() { ip -n "$1" addr show dev eth0 | grep -qE "inet6? $2/"; }

# vre_wait TIMEOUT_SECONDS COMMAND...: polls every 20 ms until COMMAND succeeds.
vre_wait() {
    local deadline=$(($(date +%s%N) + $(awk "BEGIN { print int($1 * 1000) }") * 1000000))
    shift
    while ! "$@"; do
        [ "$(date +%s%N)" -lt "$deadline" ] || return 1
        sleep 0.02
    done
}

# vre_held_by P ADDRESS: prints a, b, none or both.
vre_held_by() {
    local a=0 b=0
    vre_has "$1-a" "$2" && a=1
    vre_has "$1-b" "$2" && b=1
    case "$a$b" in 10) echo a ;; 01) echo b ;; 00) echo none ;; *) echo both ;; esac
}

vre_only() { [ "$(vre_held_by "$1" "$2")" = "$3" ]; }

# vre_insert FILE BLOCK INSTANCE_LINES: puts BLOCK (top-level text) before `vrrp_instance VI_1 {` and
# INSTANCE_LINES at the start of that instance.
vre_insert() {
    python3 - "$@" <<'PY'
import sys
path, block, lines = sys.argv[1:4]
text = open(path).read()
text = text.replace("vrrp_instance VI_1 {", block + "\nvrrp_instance VI_1 {\n    " + lines, 1)
open(path, "w").write(text)
PY
}

# vre_capture_start NS INTERFACE NAME FILTER: tcpdump in NS into $VRE_TMP/NAME.pcap. --immediate-mode: without it
# libpcap hands packets over a block at a time, and those of the last block are lost when tcpdump is interrupted.
# -B 8192 (KiB): on "any" with the default buffer the kernel drops some of a burst of back-to-back frames (14 of 100
# frames sent as 10 bursts of 10 ARPs, "packets dropped by kernel"), none of them with it.
vre_capture_start() {
    ip netns exec "$1" tcpdump -i "$2" -n -U --immediate-mode -B 8192 -w "$VRE_TMP/$3.pcap" "$4" \
        >"$VRE_TMP/$3.tcpdump.log" 2>&1 &
    echo $! >"$VRE_TMP/$3-tcpdump.daemon"
    sleep 0.5
}

# vre_capture_stop NAME [TCPDUMP_OPTIONS...]: stops it and decodes the capture into $VRE_TMP/NAME.txt.
vre_capture_stop() {
    local name=$1
    shift
    vre_stop "$name-tcpdump" INT
    tcpdump -r "$VRE_TMP/$name.pcap" -n "$@" 2>/dev/null >"$VRE_TMP/$name.txt"
}

# vre_counter NS INSTANCE COUNTER: the instance's counter in `vigilctl status --json` of vigild in NS (0 if absent).
vre_counter() {
    "$(dirname "$VIGILD")/vigilctl" status --json --control-socket "$VRE_TMP/$1.ctl" 2>/dev/null |
        python3 -c 'import json, sys
def walk(node):
    if isinstance(node, dict):
        if node.get("name") == sys.argv[1] and "counters" in node:
            print(node["counters"].get(sys.argv[2], 0)); sys.exit()
        for value in node.values(): walk(value)
    elif isinstance(node, list):
        for value in node: walk(value)
walk(json.load(sys.stdin))' "$2" "$3"
}
