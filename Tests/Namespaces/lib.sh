# Counting checks, shared by the namespace suites (sourced, not run): each prints PASS/FAIL lines and its
# summary from $passed and $failed.

passed=0
failed=0

pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

# check NAME COMMAND...: runs COMMAND, prints PASS/FAIL NAME and counts it.
check() {
    local name=$1
    shift
    if "$@"; then pass "$name"; else fail "$name"; fi
}

# lone_namespace: for a suite with one daemon ($VIGIL, its pid) in one namespace ($NS) and a work directory ($WORK):
# creates $NS with lo up and a veth pair eth0 (192.0.2.1/24) - eth1 inside it, and at exit stops the daemon,
# kills what is left in $NS, deletes it and the work directory (kept with KEEP_WORK=1).
lone_namespace() {
  trap lone_namespace_cleanup EXIT
  ip netns add "$NS"
  ip -n "$NS" link set lo up
  ip -n "$NS" link add eth0 type veth peer name eth1
  ip -n "$NS" addr add 192.0.2.1/24 dev eth0
  ip -n "$NS" link set eth0 up && ip -n "$NS" link set eth1 up
}

lone_namespace_cleanup() {
  [[ -n ${VIGIL:-} ]] && kill "$VIGIL" 2>/dev/null
  sleep 0.3
  ip netns pids "$NS" 2>/dev/null | xargs -r kill -9 2>/dev/null
  ip netns del "$NS" 2>/dev/null
  if [[ ${KEEP_WORK:-0} == 1 ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}

# namespaces_cleanup: at a suite's exit, stops the pids in PIDS (resumed first: a suite may have stopped one), kills
# what is left in each of NAMESPACES, deletes them and the work directory (kept with KEEP_WORK=1).
namespaces_cleanup() {
  local pid ns
  for pid in "${PIDS[@]}"; do kill -CONT "$pid" 2>/dev/null; kill "$pid" 2>/dev/null; done
  sleep 0.5
  for ns in "${NAMESPACES[@]}"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
  if [[ ${KEEP_WORK:-0} == 1 ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}

# frr_daemon NS DIR DAEMON: starts FRR's DAEMON (zebra first, then bgpd, bfdd, …) in NS, reading DIR/DAEMON.conf, with
# its vty socket, zebra's API socket (DIR/zserv.api) and its pid file in DIR, logging to DIR/DAEMON.log; DIR becomes
# the frr user's. Its pid is added to PIDS. For zebra, waits for the API socket the other daemons connect to.
frr_daemon() {
  local ns=$1 dir=$2 daemon=$3 i
  chown -R frr:frr "$dir"
  chmod 755 "$dir"
  ip netns exec "$ns" /usr/lib/frr/"$daemon" -N "$ns" --vty_socket "$dir" -f "$dir/$daemon.conf" \
    -i "$dir/$daemon.pid" -z "$dir/zserv.api" --log "file:$dir/$daemon.log" >"$dir/$daemon.out" 2>&1 &
  PIDS+=($!)
  if [[ $daemon == zebra ]]; then for ((i = 0; i < 50; i++)); do [[ -S $dir/zserv.api ]] && break; sleep 0.1; done; fi
}
