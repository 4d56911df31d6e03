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

# start_pair ADVERT_INT TAG: Vigil MASTER (150) in res-v and keepalived BACKUP (100) in res-k, logs in
# $WORK/vigil-TAG.log and keepalived-TAG.log; fails when Vigil never holds the VIP.
start_pair() {
  config 150 MASTER "$1" >"$WORK/vigil.conf"
  config 100 BACKUP "$1" >"$WORK/keepalived.conf"
  ip netns exec res-v "$BIN/vigild" -n -l -f "$WORK/vigil.conf" -p "$WORK/v.pid" -r "$WORK/v-vrrp.pid" \
    -c "$WORK/v-check.pid" --control-socket "$WORK/v.sock" >"$WORK/vigil-$2.log" 2>&1 &
  VIGIL=$!
  ip netns exec res-k keepalived -n -l -D -f "$WORK/keepalived.conf" -p "$WORK/k.pid" -r "$WORK/k-vrrp.pid" \
    -c "$WORK/k-check.pid" >"$WORK/keepalived-$2.log" 2>&1 &
  KEEPALIVED_PID=$!
  if ! wait_for 20 holds res-v; then
    fail "advert_int $1: Vigil never became MASTER"
    return 1
  fi
  sleep 2
}

run_round() { # ADVERT_INT
  local advert=$1 k worker new
  start_pair "$advert" "$advert" || return
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

# Issue 19: the VRRP worker killed with SIGKILL every 2 s for a minute at advert_int 0.1 is not a crash loop (each
# successor reported its state): every death is restarted at once, the VIP never leaves the master, keepalived never
# takes over. Each restart's time (the kill to the successor's first advert, captured at keepalived) is printed.
kill_loop() {
  local seconds=${KILL_LOOP_SECONDS:-60} kills k worker
  kills=$((seconds / 2))
  start_pair 0.1 loop || return
  ip netns exec res-k tcpdump -i eth0 -nn -tt -l 'ip proto 112 and src 192.0.2.1' >"$WORK/adverts-loop.txt" 2>/dev/null &
  local capture=$!
  ip -n res-v monitor address >"$WORK/monitor-loop.txt" 2>&1 &
  local monitor=$!
  (while :; do holds res-v || echo "missing $(date +%s.%N)"; sleep 0.01; done) >"$WORK/samples-loop.txt" 2>&1 &
  local sampler=$!
  sleep 1
  local before_lines
  before_lines=$(grep -c "Entering MASTER STATE" "$WORK/keepalived-loop.log")
  : >"$WORK/kills-loop.txt"
  for ((k = 1; k <= kills; k++)); do
    worker=$(cat "$WORK/v-vrrp.pid")
    date +%s.%N >>"$WORK/kills-loop.txt"
    kill -9 "$worker"
    sleep 2
  done
  sleep 0.5
  kill "$capture" "$monitor" "$sampler" 2>/dev/null
  wait "$capture" "$monitor" "$sampler" 2>/dev/null
  local restarted
  restarted=$(grep -c "vrrp worker (pid [0-9]*) was killed by signal 9 .*restarting at once" "$WORK/vigil-loop.log")
  check "kill loop: $kills × kill -9 every 2 s, each restarted at once ($restarted), none held back as a crash loop" \
    [ "$restarted" = "$kills" ]
  check "kill loop: the VIP was never deleted on the master" \
    bash -c "! grep -q '^Deleted.*$VIP' '$WORK/monitor-loop.txt'"
  check "kill loop: the VIP was on the master at every 10 ms sample" bash -c "[ ! -s '$WORK/samples-loop.txt' ]"
  local after_lines
  after_lines=$(grep -c "Entering MASTER STATE" "$WORK/keepalived-loop.log")
  check "kill loop: keepalived never entered MASTER state" [ "$after_lines" = "$before_lines" ]
  # Each kill to the first advert after it: the worker's successor, resumed as MASTER.
  python3 - "$WORK/kills-loop.txt" "$WORK/adverts-loop.txt" <<'PY'
import sys
kills = [float(line) for line in open(sys.argv[1]) if line.strip()]
adverts = [float(line.split()[0]) for line in open(sys.argv[2]) if line.strip()]
delays = sorted(min((a - k for a in adverts if a > k), default=float("inf")) * 1000 for k in kills)
if delays and delays[-1] != float("inf"):
    pick = lambda q: delays[min(len(delays) - 1, int(q * len(delays)))]
    print(f"kill loop: kill -9 to the successor's first advert, {len(delays)} restarts: median {pick(0.5):.1f} ms, "
          f"p90 {pick(0.9):.1f} ms, max {delays[-1]:.1f} ms")
else:
    print("kill loop: a kill had no advert after it")
PY
  kill "$VIGIL" "$KEEPALIVED_PID" 2>/dev/null
  wait "$VIGIL" "$KEEPALIVED_PID" 2>/dev/null
  VIGIL="" KEEPALIVED_PID=""
}

# Issue 19: a reload whose read takes 10 s (an include that is a FIFO its writer opens 10 s late: a hung network mount
# would do the same) does not stop the watchdog: it reads on a thread of its own and goes on supervising, so no worker
# is killed, the VIP stays, keepalived never takes over, vigilctl status is answered meanwhile, and the reload is applied
# once read. Then a read that never ends: SIGTERM still stops vigild, which releases the VIP (keepalived takes it).
slow_reload() {
  start_pair 0.1 slow || return
  local before_lines
  before_lines=$(grep -c "Entering MASTER STATE" "$WORK/keepalived-slow.log")
  ip -n res-v monitor address >"$WORK/monitor-slow.txt" 2>&1 &
  local monitor=$!
  (while :; do holds res-v || echo "missing $(date +%s.%N)"; sleep 0.01; done) >"$WORK/samples-slow.txt" 2>&1 &
  local sampler=$!
  mkfifo "$WORK/slow.conf"
  echo "include $WORK/slow.conf" >>"$WORK/vigil.conf"
  (sleep 10; exec 3>"$WORK/slow.conf"; sleep 1) &
  local writer=$!
  kill -HUP "$VIGIL"
  sleep 3
  local answered
  answered=$(timeout 20 ip netns exec res-v "$BIN/vigilctl" status --control-socket "$WORK/v.sock" 2>&1)
  wait "$writer"
  sleep 1
  kill "$monitor" "$sampler" 2>/dev/null
  wait "$monitor" "$sampler" 2>/dev/null
  check "slow reload: the watchdog said the read takes long" grep -q "takes more than 1 s; the workers are still supervised" "$WORK/vigil-slow.log"
  check "slow reload: no worker was killed during the 10 s read" \
    bash -c "! grep -E 'killing it|restarting' '$WORK/vigil-slow.log'"
  check "slow reload: applied once read" grep -q "vigil.conf read in .* ms" "$WORK/vigil-slow.log"
  check "slow reload: vigilctl status was answered during the read" bash -c "[[ '$answered' == *'vrrp worker: pid'* ]]"
  check "slow reload: the VIP was never deleted on the master" bash -c "! grep -q '^Deleted.*$VIP' '$WORK/monitor-slow.txt'"
  check "slow reload: the VIP was on the master at every 10 ms sample" bash -c "[ ! -s '$WORK/samples-slow.txt' ]"
  check "slow reload: keepalived never entered MASTER state" \
    [ "$(grep -c "Entering MASTER STATE" "$WORK/keepalived-slow.log")" = "$before_lines" ]

  # A read that never ends (no writer ever opens the FIFO), then SIGTERM.
  kill -HUP "$VIGIL"
  sleep 2
  kill -TERM "$VIGIL"
  local n
  for ((n = 0; n < 100; n++)); do kill -0 "$VIGIL" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$VIGIL" 2>/dev/null; then
    fail "a read that never ends: vigild did not stop within 10 s of SIGTERM"
  else
    pass "a read that never ends: SIGTERM stops vigild ($((n * 100)) ms)"
  fi
  check "… and keepalived takes the VIP it released" wait_for 5 holds res-k
  wait "$VIGIL" 2>/dev/null
  kill "$KEEPALIVED_PID" 2>/dev/null
  wait "$KEEPALIVED_PID" 2>/dev/null
  VIGIL="" KEEPALIVED_PID=""
  rm -f "$WORK/slow.conf"
}

[[ ${ROUNDS:-both} == fast ]] || run_round 1
run_round 0.1
[[ ${ROUNDS:-both} == fast ]] || kill_loop
slow_reload
echo "$passed passed, $failed failed"
((failed == 0))
