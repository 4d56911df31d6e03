#!/usr/bin/env bash
# Issue 7 acceptance, on this kernel: Vigil MASTER against a keepalived 2.2.7 BACKUP, VRRPv3. The VRRP
# worker is killed with SIGKILL 5 times at advert_int 1 and 5 times at advert_int 0.1: the watchdog restarts
# it, the new worker resumes as MASTER from the state the watchdog kept, and
#   - the VIP never leaves the master (`ip monitor address` sees no deletion; `ip addr` sampled every 10 ms),
#   - keepalived never logs "Entering MASTER STATE".
# Then a SIGHUP with an invalid file: still running, the VIP kept, the error with file:line in the log.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
BIN=${VIGIL_BIN:-$ROOT/.build/debug}
WORK=$(mktemp -d /tmp/resilience.XXXXXX)
VIP=192.0.2.100
VIGIL=""
KEEPALIVED_PID=""
# shellcheck source=Tests/Namespaces/lib.sh
. "$ROOT/Tests/Namespaces/lib.sh"

cleanup() {
  [[ -n $VIGIL ]] && kill "$VIGIL" 2>/dev/null
  [[ -n $KEEPALIVED_PID ]] && kill "$KEEPALIVED_PID" 2>/dev/null
  sleep 0.3
  for ns in res-v res-k; do ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null; ip netns del "$ns" 2>/dev/null; done
  [[ ${KEEP_WORK:-0} == 1 ]] && echo "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add res-v && ip netns add res-k
ip -n res-v link set lo up && ip -n res-k link set lo up
ip link add eth0 netns res-v type veth peer name eth0 netns res-k
ip -n res-v addr add 192.0.2.1/24 dev eth0 && ip -n res-v link set eth0 up
ip -n res-k addr add 192.0.2.2/24 dev eth0 && ip -n res-k link set eth0 up

config() { # PRIORITY STATE ADVERT_INT
  cat <<CONF
global_defs {
  router_id res-$2
  vrrp_version 3
}
vrrp_instance VI_1 {
  state $2
  interface eth0
  virtual_router_id 42
  priority $1
  advert_int $3
  virtual_ipaddress {
    $VIP/24
  }
}
CONF
}

# Output captured first: `ip … | grep -q` under pipefail fails when grep exits before ip has written all.
holds() { [[ $(ip -n "$1" -o addr show dev eth0) == *" $VIP/"* ]]; }
wait_for() { local n; for ((n = 0; n < $1 * 10; n++)); do "${@:2}" && return 0; sleep 0.1; done; return 1; }

run_round() { # ADVERT_INT
  local advert=$1 k worker new
  config 150 MASTER "$advert" >"$WORK/vigil.conf"
  config 100 BACKUP "$advert" >"$WORK/keepalived.conf"
  ip netns exec res-v "$BIN/vigild" -n -l -D -f "$WORK/vigil.conf" -p "$WORK/v.pid" -r "$WORK/v-vrrp.pid" \
    -c "$WORK/v-check.pid" --control-socket "$WORK/v.sock" >"$WORK/vigil-$advert.log" 2>&1 &
  VIGIL=$!
  ip netns exec res-k keepalived -n -l -D -f "$WORK/keepalived.conf" -p "$WORK/k.pid" -r "$WORK/k-vrrp.pid" \
    -c "$WORK/k-check.pid" >"$WORK/keepalived-$advert.log" 2>&1 &
  KEEPALIVED_PID=$!
  if ! wait_for 20 holds res-v; then
    fail "advert_int $advert: Vigil never became MASTER"
    return
  fi
  sleep 2
  # Watch for any VIP deletion on the master, and sample every 10 ms.
  ip -n res-v monitor address >"$WORK/monitor-$advert.txt" 2>&1 &
  local monitor=$!
  (while :; do holds res-v || echo "missing $(date +%s.%N)"; sleep 0.01; done) >"$WORK/samples-$advert.txt" 2>&1 &
  local sampler=$!
  local before_lines
  before_lines=$(grep -c "Entering MASTER STATE" "$WORK/keepalived-$advert.log")
  for ((k = 1; k <= 5; k++)); do
    worker=$(cat "$WORK/v-vrrp.pid")
    kill -9 "$worker"
    wait_for 10 bash -c "[[ -s $WORK/v-vrrp.pid && \$(cat $WORK/v-vrrp.pid) != $worker ]]"
    new=$(cat "$WORK/v-vrrp.pid")
    [[ $new != "$worker" ]] || fail "advert_int $advert: kill $k: no new VRRP worker"
    sleep 1.5
  done
  kill "$monitor" "$sampler" 2>/dev/null
  wait "$monitor" "$sampler" 2>/dev/null
  if grep -q "^Deleted.*$VIP" "$WORK/monitor-$advert.txt"; then
    fail "advert_int $advert: the VIP was deleted on the master: $(grep Deleted "$WORK/monitor-$advert.txt" | head -n 2)"
  else
    pass "advert_int $advert: 5 × kill -9 of the VRRP worker, the VIP was never deleted on the master"
  fi
  if [[ -s $WORK/samples-$advert.txt ]]; then
    fail "advert_int $advert: $(wc -l <"$WORK/samples-$advert.txt") samples without the VIP on the master"
  else
    pass "advert_int $advert: the VIP was on the master at every 10 ms sample"
  fi
  local after_lines
  after_lines=$(grep -c "Entering MASTER STATE" "$WORK/keepalived-$advert.log")
  if ((after_lines == before_lines)) && ! holds res-k; then
    pass "advert_int $advert: keepalived never entered MASTER state"
  else
    fail "advert_int $advert: keepalived entered MASTER state ($((after_lines - before_lines)) times)"
  fi
  local restarts
  restarts=$(ip netns exec res-v "$BIN/vigilctl" status --json --control-socket "$WORK/v.sock" |
    python3 -c 'import json,sys; print([w["restartCount"] for w in json.load(sys.stdin)["workers"] if w["role"]=="vrrp"][0])')
  if [[ $restarts == 5 ]]; then pass "advert_int $advert: vigilctl status counts 5 restarts"; else fail "restarts: $restarts"; fi

  if [[ $advert == 1 ]]; then
    # An invalid configuration on reload: refused, everything kept, the error names file and line.
    printf 'vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 300\n}\n' >"$WORK/vigil.conf"
    kill -HUP "$VIGIL"
    sleep 1
    if kill -0 "$VIGIL" && holds res-v && grep -q "vigil.conf:3: error" "$WORK/vigil-$advert.log"; then
      pass "an invalid configuration on SIGHUP is refused with file:line; Vigil keeps running and the VIP"
    else
      fail "invalid reload: $(grep -i error "$WORK/vigil-$advert.log" | tail -n 3)"
    fi
    if [[ $(ip netns exec res-v "$BIN/vigilctl" status --control-socket "$WORK/v.sock") == *REFUSED* ]]; then
      pass "vigilctl status reports the refused reload"
    else
      fail "vigilctl status does not report the refused reload"
    fi
  fi
  kill "$VIGIL" "$KEEPALIVED_PID" 2>/dev/null
  wait "$VIGIL" "$KEEPALIVED_PID" 2>/dev/null
  VIGIL="" KEEPALIVED_PID=""
  ip -n res-v addr del "$VIP/24" dev eth0 2>/dev/null
  ip -n res-k addr del "$VIP/24" dev eth0 2>/dev/null
}

[[ ${ROUNDS:-both} == fast ]] || run_round 1
run_round 0.1
echo "$passed passed, $failed failed"
((failed == 0))
