#!/usr/bin/env bash
# net_namespace, instance and use_pid_dir (issue 15), with default pid file and socket paths:
#   - `net_namespace ins-blue`: vigild started in the root namespace enters /run/netns/ins-blue before any socket;
#     the VIP appears inside ins-blue and not in the root namespace; its files are in /run/vigil/ins-blue/;
#   - two daemons with `instance ins-a` / `instance ins-b` side by side in one namespace, each with its own pid
#     files (/run/vigil/vigild_NAME.pid, vrrp_NAME.pid) and control socket (/run/vigil/vigild_NAME.sock).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
BIN=${VIGIL_BIN:-$ROOT/.build/debug}
WORK=$(mktemp -d /tmp/instances.XXXXXX)
NS=ins-blue
VIGIL=""
OTHER=""
# shellcheck source=Tests/Namespaces/lib.sh
. "$ROOT/Tests/Namespaces/lib.sh"

lone_namespace
finish() {
  [[ -n $OTHER ]] && kill "$OTHER" 2>/dev/null
  lone_namespace_cleanup
  rm -rf /run/vigil/ins-blue /run/vigil/*_ins-a.* /run/vigil/*_ins-b.*
}
trap finish EXIT
# An interface the root namespace has not: a daemon that failed to enter ins-blue could not touch the host's eth0.
ip -n "$NS" link add insb0 type veth peer name insb1
ip -n "$NS" addr add 192.0.2.2/24 dev insb0
ip -n "$NS" link set insb0 up && ip -n "$NS" link set insb1 up

config() { # TOP_LINE VRID VIP [INTERFACE]
  cat <<CONF
$1
vrrp_instance VI_$2 {
  interface ${4:-eth0}
  virtual_router_id $2
  priority 100
  advert_int 1
  virtual_ipaddress {
    $3/24
  }
}
CONF
}
in_ns() { [[ $(ip -n "$NS" -o addr show) == *" $1/"* ]]; }
wait_for() { local n; for ((n = 0; n < $1 * 10; n++)); do "${@:2}" && return 0; sleep 0.1; done; return 1; }

# 1. net_namespace: started from the root namespace with no path flags.
config "net_namespace $NS" 71 192.0.2.171 insb0 >"$WORK/blue.conf"
"$BIN/vigild" -n -l -f "$WORK/blue.conf" >"$WORK/blue.log" 2>&1 &
VIGIL=$!
check "net_namespace: the VIP appears inside $NS" wait_for 15 in_ns 192.0.2.171
check "net_namespace: the VIP is not in the root namespace" bash -c "! [[ \$(ip -o addr show) == *' 192.0.2.171/'* ]]"
check "net_namespace: the pid file is /run/vigil/$NS/vigild.pid" test "$(cat /run/vigil/$NS/vigild.pid 2>/dev/null)" = "$VIGIL"
vrrp=$(cat /run/vigil/$NS/vrrp.pid 2>/dev/null)
check "net_namespace: the VRRP worker runs in $NS" \
  test "$(readlink "/proc/$vrrp/ns/net")" = "$(ip netns exec "$NS" readlink /proc/self/ns/net)"
check "net_namespace: vigilctl reaches it at /run/vigil/$NS/vigild.sock" \
  bash -c "'$BIN/vigilctl' status --control-socket /run/vigil/$NS/vigild.sock | grep -q VI_71"
kill "$VIGIL"
wait "$VIGIL" 2>/dev/null
VIGIL=""
check "net_namespace: the VIP is released inside $NS at stop" bash -c "! [[ \$(ip -n $NS -o addr show) == *' 192.0.2.171/'* ]]"

# 2. Two instances side by side in one namespace, default paths.
config "instance ins-a" 72 192.0.2.172 >"$WORK/a.conf"
config "instance ins-b" 73 192.0.2.173 >"$WORK/b.conf"
ip netns exec "$NS" "$BIN/vigild" -n -l -f "$WORK/a.conf" >"$WORK/a.log" 2>&1 &
VIGIL=$!
ip netns exec "$NS" "$BIN/vigild" -n -l -f "$WORK/b.conf" >"$WORK/b.log" 2>&1 &
OTHER=$!
check "instance ins-a: its VIP is up" wait_for 15 in_ns 192.0.2.172
check "instance ins-b: its VIP is up beside it" wait_for 15 in_ns 192.0.2.173
check "instance ins-a: /run/vigil/vigild_ins-a.pid names it" test "$(cat /run/vigil/vigild_ins-a.pid 2>/dev/null)" = "$VIGIL"
check "instance ins-b: /run/vigil/vigild_ins-b.pid names it" test "$(cat /run/vigil/vigild_ins-b.pid 2>/dev/null)" = "$OTHER"
check "instance ins-a: its VRRP worker's pid file vrrp_ins-a.pid" test -s /run/vigil/vrrp_ins-a.pid
check "instance ins-b: vigilctl on vigild_ins-b.sock sees VI_73 only" \
  bash -c "out=\$('$BIN/vigilctl' status --control-socket /run/vigil/vigild_ins-b.sock); [[ \$out == *VI_73* && \$out != *VI_72* ]]"
kill "$VIGIL" "$OTHER"
wait "$VIGIL" "$OTHER" 2>/dev/null
VIGIL="" OTHER=""

echo "$passed passed, $failed failed"
((failed == 0))
