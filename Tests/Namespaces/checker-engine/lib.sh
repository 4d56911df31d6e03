# Shared by the checker-engine and checker-protocols suites (sourced, not run).

. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# kill_daemons DIR: SIGTERM, then after 0.5 s SIGKILL, every process whose pid is in DIR/*.daemon.
kill_daemons() {
    local f
    for f in "$1"/*.daemon; do
        [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
    done
    sleep 0.5
    for f in "$1"/*.daemon; do
        [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
    done
}

# director_and_real_servers PREFIX: namespaces PREFIX-dir (director, 198.51.100.1 on PREFIX-d0) and PREFIX-rs
# (real servers, 198.51.100.11 on PREFIX-r0), joined by a veth pair; on exit, the daemons in $TMP/*.daemon are
# killed, the namespaces deleted and $TMP removed.
director_and_real_servers() {
    NS_PREFIX=$1
    trap remove_director_and_real_servers EXIT
    ip netns del "$1-dir" 2>/dev/null
    ip netns del "$1-rs" 2>/dev/null
    ip netns add "$1-dir"
    ip netns add "$1-rs"
    ip -n "$1-dir" link set lo up
    ip -n "$1-rs" link set lo up
    director_link "$1" 0 198.51.100.1/24 198.51.100.11/24
}

# director_link PREFIX N DIRECTOR_ADDRESS REAL_SERVER_ADDRESS: one more veth pair, PREFIX-dN and PREFIX-rN, up.
director_link() {
    ip link add "$1-d$2" netns "$1-dir" type veth peer name "$1-r$2" netns "$1-rs"
    ip -n "$1-dir" addr add "$3" dev "$1-d$2"
    ip -n "$1-rs" addr add "$4" dev "$1-r$2"
    ip -n "$1-dir" link set "$1-d$2" up
    ip -n "$1-rs" link set "$1-r$2" up
}

remove_director_and_real_servers() {
    kill_daemons "$TMP"
    ip netns del "$NS_PREFIX-dir" 2>/dev/null
    ip netns del "$NS_PREFIX-rs" 2>/dev/null
    rm -rf "$TMP"
}
