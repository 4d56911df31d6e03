#!/usr/bin/env bash
# Issue 16 acceptance, on this kernel, between network namespaces on one bridge (bfd-sw):
#   bfd-v  Vigil under test  192.0.2.1   (and 198.51.100.1 behind the router bfd-r, for multihop)
#   bfd-f  FRR's bfdd        192.0.2.2   (and 203.0.113.2 behind bfd-r)
#   bfd-k  keepalived 2.2.7  192.0.2.3
# 1. FRR and keepalived sessions come Up (single hop; multihop with FRR across a router); a peer stopped (SIGSTOP)
#    or its link cut is detected as Down, at 3 × 50 ms and, after a timer change negotiated without going down
#    (Poll/Final), at 3 × 10 ms; the session comes back Up. A packet with a TTL below 255 is dropped.
# 2. The BFD worker killed with SIGKILL 5 times under Up sessions: a VRRP instance tracking them (weight 0: a Down
#    would put it in FAULT) never leaves MASTER, its VIP never moves, FRR never sees the session go down.
# 2b. The BFD worker stopped (SIGSTOP) under Up sessions at 5 × 1 s: the watchdog replaces it (two heartbeats), the
#    successor resumes the sessions Up; no tracker sees Down, FRR does not either, the VIP stays.
# 3. VRRP over BFD (bfd-m master, bfd-n backup, advert_int 1, BFD 3 × 50 ms, track_bfd with a weight): the master's
#    link cut, the backup takes the VIP because its BFD session to the master went down (its log says so), not
#    after Master_Down_Interval — 10 runs; then the same two files under keepalived 2.2.7 for comparison.
#    The notify FIFO gets the MASTER line.
# Timings are CLOCK_MONOTONIC (bfdlab.py): from just before the action to vigild's `since` (or to the kernel's
# RTM_NEWADDR for the VIP). They are measurements, printed (MEASURED: median, min, max, and how many runs were
# within multiplier × interval + 20 ms) for BENCHMARKS.md, never asserted: a loaded host delays every process. What
# is asserted is the event (Down seen, Up again, the VIP taken over BFD) within generous deadlines.
# NETWORK RULE: only 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, inside these namespaces.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
BIN=${VIGIL_BIN:-$ROOT/.build/debug}
LAB="python3 $ROOT/Tests/Namespaces/bfd/bfdlab.py"
WORK=$(mktemp -d /tmp/bfd-suite.XXXXXX)
chmod 755 "$WORK"
RUNS=${BFD_RUNS:-10}
# Detection is measured this many times per case (8 cases); the VRRP takeover RUNS times.
DETECT_RUNS=${BFD_DETECT_RUNS:-5}
PIDS=()
# shellcheck source=Tests/Namespaces/lib.sh
. "$ROOT/Tests/Namespaces/lib.sh"

NAMESPACES=(bfd-sw bfd-v bfd-f bfd-k bfd-r bfd-m bfd-n)
trap namespaces_cleanup EXIT

log() { echo "$(date +%T) $*"; }
wait_for() { local n; for ((n = 0; n < $1 * 10; n++)); do "${@:2}" && return 0; sleep 0.1; done; return 1; }
vigilctl() { local ns=$1 sock=$2; shift 2; ip netns exec "$ns" "$BIN/vigilctl" "$@" --control-socket "$sock"; }

# --- Topology -----------------------------------------------------------------------------------------------
for ns in "${NAMESPACES[@]}"; do ip netns add "$ns" && ip -n "$ns" link set lo up; done
ip -n bfd-sw link add br0 type bridge && ip -n bfd-sw link set br0 up
port() { # NS ADDRESS...: eth0 on the bridge, the switch side named sw-NS
  local ns=$1
  shift
  ip -n bfd-sw link add "sw-${ns#bfd-}" type veth peer name eth0 netns "$ns"
  ip -n bfd-sw link set "sw-${ns#bfd-}" master br0 up
  for address in "$@"; do ip -n "$ns" addr add "$address" dev eth0; done
  ip -n "$ns" link set eth0 up
}
port bfd-v 192.0.2.1/24
port bfd-f 192.0.2.2/24
port bfd-k 192.0.2.3/24
port bfd-m 192.0.2.11/24
port bfd-n 192.0.2.12/24
# The router of the multihop session: 198.51.100.0/24 (Vigil) and 203.0.113.0/24 (FRR).
ip link add eth1 netns bfd-v type veth peer name left netns bfd-r
ip link add eth1 netns bfd-f type veth peer name right netns bfd-r
ip -n bfd-r addr add 198.51.100.254/24 dev left && ip -n bfd-r addr add 203.0.113.254/24 dev right
ip -n bfd-r link set left up && ip -n bfd-r link set right up
ip netns exec bfd-r sysctl -qw net.ipv4.ip_forward=1
ip -n bfd-v addr add 198.51.100.1/24 dev eth1 && ip -n bfd-v link set eth1 up
ip -n bfd-f addr add 203.0.113.2/24 dev eth1 && ip -n bfd-f link set eth1 up
ip -n bfd-v route add 203.0.113.0/24 via 198.51.100.254
ip -n bfd-f route add 198.51.100.0/24 via 203.0.113.254

# --- Vigil (bfd-v): sessions to FRR (single hop and multihop) and keepalived, a VRRP instance tracking two ------
vigil_config() { # INTERVAL_MS [MULTIPLIER [MULTIHOP_INTERVAL_MS]]
  cat <<CONF
global_defs {
  router_id bfd-v
}
bfd_instance frr {
  neighbor_ip 192.0.2.2
  source_ip 192.0.2.1
  min_rx $1
  min_tx $1
  multiplier ${2:-3}
}
bfd_instance frr_far {
  neighbor_ip 203.0.113.2
  source_ip 198.51.100.1
  min_rx ${3:-50}
  min_tx ${3:-50}
  multiplier ${2:-3}
  max_hops 5
}
bfd_instance ka {
  neighbour_ip 192.0.2.3
  source_ip 192.0.2.1
  min_rx $1
  min_tx $1
  multiplier ${2:-3}
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 61
  priority 100
  advert_int 1
  virtual_ipaddress {
    192.0.2.201/24
  }
  track_bfd {
    frr
    frr_far
  }
}
CONF
}
keepalived_config() { # INTERVAL_MS [MULTIPLIER]
  cat <<CONF
global_defs {
  router_id bfd-k
}
bfd_instance vigil {
  neighbor_ip 192.0.2.1
  source_ip 192.0.2.3
  min_rx $1
  min_tx $1
  multiplier ${2:-3}
}
CONF
}
mkdir -p "$WORK/frr" && chown frr:frr "$WORK/frr"
cat >"$WORK/frr/frr.conf" <<CONF
bfd
 peer 192.0.2.1 local-address 192.0.2.2
  receive-interval 50
  transmit-interval 50
  detect-multiplier 3
 !
 peer 198.51.100.1 multihop local-address 203.0.113.2
  receive-interval 50
  transmit-interval 50
  detect-multiplier 3
 !
!
CONF
chown frr:frr "$WORK/frr/frr.conf"
VSOCK=$WORK/v.sock
vigil_config 50 >"$WORK/vigil.conf"
keepalived_config 50 >"$WORK/keepalived.conf"
ip netns exec bfd-f /usr/lib/frr/bfdd -N bfdsuite --vty_socket "$WORK/frr" -f "$WORK/frr/frr.conf" \
  -i "$WORK/frr/bfdd.pid" --bfdctl "$WORK/frr/bfdd.sock" --log stdout >"$WORK/frr.log" 2>&1 &
FRR=$!
PIDS+=("$FRR")
ip netns exec bfd-k keepalived -n -l -D -f "$WORK/keepalived.conf" -p "$WORK/k.pid" -r "$WORK/k-vrrp.pid" \
  -c "$WORK/k-check.pid" -b "$WORK/k-bfd.pid" >"$WORK/keepalived.log" 2>&1 &
PIDS+=($!)
ip netns exec bfd-v "$BIN/vigild" -n -l -f "$WORK/vigil.conf" -p "$WORK/v.pid" -r "$WORK/v-vrrp.pid" \
  -c "$WORK/v-check.pid" -b "$WORK/v-bfd.pid" --control-socket "$VSOCK" >"$WORK/vigil.log" 2>&1 &
VIGIL=$!
PIDS+=("$VIGIL")

frr_status() { # PEER: FRR's status of its session with PEER (up, down, init)
  vtysh --vty_socket "$WORK/frr" -c "show bfd peers json" 2>/dev/null |
    python3 -c "import json,sys; print(next((p['status'] for p in json.load(sys.stdin) if p['peer']=='$1'), 'none'))"
}
frr_downs() { # PEER: how often FRR saw its session with PEER go down
  vtysh --vty_socket "$WORK/frr" -c "show bfd peers counters json" 2>/dev/null |
    python3 -c "import json,sys; print(next((p['session-down'] for p in json.load(sys.stdin) if p['peer']=='$1'), -1))"
}
session_up() { $LAB up "$BIN/vigilctl" "$VSOCK" "$1" "$2"; }

log "== 1. sessions come Up"
for session in frr frr_far ka; do
  if session_up "$session" 20; then
    pass "Vigil's session $session is Up"
  else
    fail "Vigil's session $session did not come Up: $(vigilctl bfd-v "$VSOCK" status | grep "bfd_instance $session")"
  fi
done
export -f frr_status frr_downs
export WORK
check "FRR's single-hop session with Vigil is up" wait_for 30 bash -c '[[ $(frr_status 192.0.2.1) == up ]]'
check "FRR's multihop session with Vigil is up (across the router)" \
  wait_for 30 bash -c '[[ $(frr_status 198.51.100.1) == up ]]'
# Up first, then each side moves from idle_tx (1 s) to 50 ms by a Poll Sequence: wait (20 s at most) for it.
far_timers() {
  vigilctl bfd-v "$VSOCK" status --json | python3 -c "import json,sys; s=[x for w in json.load(sys.stdin)['workers'] for x in (w.get('state') or {}).get('bfdSessions') or [] if x['name']=='frr_far'][0]; print(s['multihop'], s['remoteMultiplier'], s['detectionTimeMicroseconds'])"
}
for ((n = 0; n < 100; n++)); do
  far=$(far_timers)
  [[ $far == "True 3 150000" ]] && break
  sleep 0.2
done
[[ $far == "True 3 150000" ]] && pass "the multihop session runs 3 × 50 ms (detection 150 ms)" || fail "frr_far: $far"
vigilctl bfd-v "$VSOCK" status | grep bfd_instance
check "the VRRP instance tracking both FRR sessions is MASTER" \
  wait_for 30 bash -c "[[ \$(ip -n bfd-v -o addr show dev eth0) == *192.0.2.201/* ]]"

# A BFD packet with TTL 64 (not from this link, as far as RFC 5881 §5 can tell): dropped and counted.
ip netns exec bfd-f python3 -c "
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 64)
s.sendto(struct.pack('>BBBBIIIII', 0x20, 1 << 6, 3, 24, 77, 0, 1000000, 1000000, 0), ('192.0.2.1', 3784))"
# Counters reach the watchdog at most once a second: wait (10 s at most).
if wait_for 10 bash -c "$BIN/vigilctl status --control-socket $VSOCK | grep -A1 'bfd_instance frr:' | grep -q 'dropped_ttl 1'"; then
  pass "a packet arriving with TTL 64 is dropped and counted (dropped_ttl)"
else
  fail "TTL 64: $(vigilctl bfd-v "$VSOCK" status | grep -A1 'bfd_instance frr:')"
fi

# A reload that changes nothing BFD-related (VI_1's priority only): the BFD worker applies it and no session moves.
# A 3 × 50 ms session can flap on a loaded host at any time: a reload that saw one is tried again (3 attempts).
for ((attempt = 1; attempt <= 3; attempt++)); do
  downs_before=$(frr_downs 192.0.2.1)
  log_lines_before=$(wc -l <"$WORK/vigil.log")
  vigil_config 50 | sed "s/priority 100/priority $((100 + attempt))/" >"$WORK/vigil.conf"
  kill -HUP "$VIGIL"
  wait_for 30 bash -c "tail -n +$((log_lines_before + 1)) $WORK/vigil.log | grep -q 'configured: 3 BFD sessions (reload)'" ||
    echo "NOTE attempt $attempt: the BFD worker did not log the reload within 30 s"
  sleep 2
  left=$(tail -n +"$((log_lines_before + 1))" "$WORK/vigil.log" | grep -E "bfd_instance [a-z_]+: [A-Za-z]+ -> ")
  if [[ -z $left && $(frr_downs 192.0.2.1) == "$downs_before" ]] &&
    tail -n +"$((log_lines_before + 1))" "$WORK/vigil.log" | grep -q 'configured: 3 BFD sessions (reload)'; then
    pass "a reload changing only VI_1 reached the BFD worker and moved no session (attempt $attempt)"
    break
  fi
  echo "NOTE attempt $attempt: ${left:-FRR saw a down} (load $(cut -d' ' -f1-3 /proc/loadavg))"
  ((attempt == 3)) && fail "every reload changing only VI_1 (3) saw a BFD session move"
  session_up frr 30 && session_up ka 30
done

# measure LABEL SESSION BOUND_MS STOP RESUME PEER_UP: DETECT_RUNS detections from STOP to Down, each followed by
# RESUME and a wait until the session is Up on both sides. What is asserted: Down is seen (bfdlab's deadline is 10 s)
# and the session comes back. The figures, and how many were within BOUND_MS (multiplier × interval + 20 ms), are
# printed. A run whose session was not steady before the action (it flapped on a loaded host) is not a detection of
# this action: it is noted and run again, DETECT_RUNS + 5 attempts at most.
measure() {
  local label=$1 session=$2 bound=$3 stop=$4 resume=$5 peer_up=$6 values=() attempt value within=0 skipped=0
  for ((attempt = 1; ${#values[@]} < DETECT_RUNS && attempt <= DETECT_RUNS + 5; attempt++)); do
    value=$($LAB down "$BIN/vigilctl" "$VSOCK" "$session" -- bash -c "$stop")
    eval "$resume"
    if [[ $value =~ ^[0-9.]+$ ]]; then
      values+=("$value")
      python3 -c "import sys; sys.exit(0 if $value <= $bound else 1)" && within=$((within + 1))
    elif [[ $value == not-up || $value == flapped ]]; then
      skipped=$((skipped + 1))
      echo "NOTE $label attempt $attempt: $value before the action (load $(cut -d' ' -f1-3 /proc/loadavg)); again"
    else
      fail "$label attempt $attempt: $value (no Down seen within 10 s)"
    fi
    if ! session_up "$session" 30 || ! wait_for 30 bash -c "$peer_up"; then
      fail "$label attempt $attempt: the session did not come back Up"
      return
    fi
  done
  local summary
  summary=$($LAB stats "${values[@]}")
  echo "MEASURED $label: $summary; $within of ${#values[@]} within $bound ms; $skipped attempts skipped" \
    "(load $(cut -d' ' -f1-3 /proc/loadavg))"
  if ((${#values[@]} == DETECT_RUNS)); then
    pass "$label: Down seen and Up again in all $DETECT_RUNS runs ($summary)"
  else
    fail "$label: ${#values[@]} detections of $DETECT_RUNS ($summary)"
  fi
}

log "== 1a. detection at 3 × 50 ms (figures beside 150 + 20 ms)"
measure "FRR stopped, 3x50" frr 170 "kill -STOP $FRR" "kill -CONT $FRR" '[[ $(frr_status 192.0.2.1) == up ]]'
measure "FRR's link cut, 3x50" frr 170 "ip -n bfd-sw link set sw-f down" "ip -n bfd-sw link set sw-f up" \
  '[[ $(frr_status 192.0.2.1) == up ]]'
measure "keepalived stopped, 3x50" ka 170 "kill -STOP \$(cat $WORK/k-bfd.pid)" "kill -CONT \$(cat $WORK/k-bfd.pid)" true
measure "keepalived's link cut, 3x50" ka 170 "ip -n bfd-sw link set sw-k down" "ip -n bfd-sw link set sw-k up" true

# set_interval MS [MULTIPLIER [MULTIHOP_MS]]: Vigil (SIGHUP), FRR (vtysh) and keepalived (SIGHUP) move their sessions to
# MULTIPLIER (3) × MS while Up, the multihop one to MULTIHOP_MS (50); waits (polling, 30 s at most) until Vigil's three
# sessions run the agreed timers.
set_interval() {
  local multiplier=${2:-3} far=${3:-50}
  local detection=$(($1 * multiplier)) far_detection=$((far * multiplier))
  vigil_config "$1" "$multiplier" "$far" >"$WORK/vigil.conf"
  kill -HUP "$VIGIL"
  vtysh --vty_socket "$WORK/frr" -c "configure terminal" -c "bfd" -c "peer 192.0.2.1 local-address 192.0.2.2" \
    -c "receive-interval $1" -c "transmit-interval $1" -c "detect-multiplier $multiplier" -c "exit" \
    -c "peer 198.51.100.1 multihop local-address 203.0.113.2" -c "receive-interval $far" \
    -c "transmit-interval $far" -c "detect-multiplier $multiplier" >/dev/null
  keepalived_config "$1" "$multiplier" >"$WORK/keepalived.conf"
  kill -HUP "$(cat "$WORK/k.pid")"
  wait_for 30 bash -c "$BIN/vigilctl status --control-socket $VSOCK | grep -E 'bfd_instance (frr|ka):' |
    grep -c 'tx $1.0 ms, detection $detection.0 ms' | grep -qx 2 &&
    $BIN/vigilctl status --control-socket $VSOCK | grep -q 'bfd_instance frr_far: .*tx $far.0 ms, detection $far_detection.0 ms'"
}

# settled: VI_1 MASTER with every session Up and no session or VI_1 change for 3 s (a session that flapped at
# 3 × 10 ms on a loaded host may have put VI_1 in FAULT for a moment).
settled() {
  local lines
  lines=$(wc -l <"$WORK/vigil.log")
  session_up frr 10 && session_up frr_far 10 && session_up ka 10 &&
    [[ $(ip -n bfd-v -o addr show dev eth0) == *192.0.2.201/* ]] && sleep 3 &&
    ! tail -n +"$((lines + 1))" "$WORK/vigil.log" | grep -qE "bfd_instance [a-z_]+: [A-Za-z]+ -> |VI_1: "
}
settle() { # WHAT: waits (60 s at most) until settled
  local by=$((SECONDS + 60))
  until settled; do
    ((SECONDS < by)) || { fail "$1: VI_1 not MASTER with every session Up and steady"; return 1; }
  done
}

log "== 1b. 3 × 10 ms, negotiated while Up (Poll/Final): no session goes down"
# A broken Poll/Final takes a session down at every change; a loaded host can take a 30 ms session down at any time.
# So a change that saw a session go down is undone and tried again (3 attempts): the check fails when every attempt
# did, and each attempt's outcome is printed.
for ((attempt = 1; attempt <= 3; attempt++)); do
  settle "before the timer change" || break
  downs_before=$(frr_downs 192.0.2.1)
  log_lines_before=$(wc -l <"$WORK/vigil.log")
  set_interval 10 || echo "NOTE attempt $attempt: the sessions did not reach 3 × 10 ms within 30 s"
  downs_after=$(frr_downs 192.0.2.1)
  left=$(tail -n +"$((log_lines_before + 1))" "$WORK/vigil.log" | grep -E "bfd_instance (frr|ka): Up -> ")
  if [[ $downs_after == "$downs_before" && -z $left ]]; then
    pass "3 × 50 -> 3 × 10 ms (attempt $attempt): FRR's and Vigil's sessions stayed Up through the change (Poll/Final)"
    break
  fi
  echo "NOTE attempt $attempt: FRR downs $downs_before -> $downs_after; Vigil: ${left:-none} (load $(cut -d' ' -f1-3 /proc/loadavg))"
  ((attempt == 3)) && fail "every timer change (3) saw a session go down"
  set_interval 50
done
detection=$(vigilctl bfd-v "$VSOCK" status | grep -E "bfd_instance (frr|ka):")
[[ $(grep -c "tx 10.0 ms, detection 30.0 ms" <<<"$detection") == 2 ]] &&
  pass "Vigil runs 3 × 10 ms with FRR and with keepalived" || fail "after the change: $detection"

measure "FRR stopped, 3x10" frr 50 "kill -STOP $FRR" "kill -CONT $FRR" '[[ $(frr_status 192.0.2.1) == up ]]'
measure "FRR's link cut, 3x10" frr 50 "ip -n bfd-sw link set sw-f down" "ip -n bfd-sw link set sw-f up" \
  '[[ $(frr_status 192.0.2.1) == up ]]'
if session_up ka 30; then
  measure "keepalived stopped, 3x10" ka 50 "kill -STOP \$(cat $WORK/k-bfd.pid)" "kill -CONT \$(cat $WORK/k-bfd.pid)" true
  measure "keepalived's link cut, 3x10" ka 50 "ip -n bfd-sw link set sw-k down" "ip -n bfd-sw link set sw-k up" true
else
  fail "keepalived's session is not Up at 3 × 10 ms: $(vigilctl bfd-v "$VSOCK" status | grep 'bfd_instance ka')"
fi

# Sections 2 and 2b run the sessions at 5 × 1 s: a worker's successor must send before the peer's detection time runs
# out, and a replacement after two heartbeats (2 s) or a restart on a loaded host does not fit in 3 × 50 ms. What is
# asserted is Vigil's own behaviour (the successor resumes the sessions Up; no tracker sees Down); how soon the
# successor's first packet leaves after the kill is printed (MEASURED restart latency) beside the 150 ms of 3 × 50.
log "== 2. the BFD worker killed with SIGKILL 5 times under Up sessions (5 × 1 s)"
set_interval 1000 5 1000 || fail "the sessions did not move to 5 × 1 s"
# watch_start / watch_end WHILE: what FRR, the trackers and the kernel saw between the two.
watch_start() {
  downs_before=$(frr_downs 192.0.2.1)
  far_downs_before=$(frr_downs 198.51.100.1)
  ip -n bfd-v monitor address >"$WORK/monitor.txt" 2>&1 &
  MONITOR=$!
  PIDS+=("$MONITOR")
  log_lines_before=$(wc -l <"$WORK/vigil.log")
}
watch_end() {
  kill "$MONITOR" 2>/dev/null
  wait "$MONITOR" 2>/dev/null
  [[ $(frr_downs 192.0.2.1) == "$downs_before" && $(frr_downs 198.51.100.1) == "$far_downs_before" ]] &&
    pass "FRR never saw its sessions with Vigil go down $1" ||
    fail "FRR saw a session go down $1 ($downs_before -> $(frr_downs 192.0.2.1))"
  if tail -n +"$((log_lines_before + 1))" "$WORK/vigil.log" | grep -E "vrrp-worker.*(FAULT|BFD: .* down)"; then
    fail "a tracker saw a session Down $1"
  else
    pass "no tracker saw Down $1: the VRRP instance tracking both sessions stayed MASTER"
  fi
  grep -q "192.0.2.201" "$WORK/monitor.txt" && fail "the VIP moved $1: $(cat "$WORK/monitor.txt")" ||
    pass "the VIP never moved $1 (ip monitor address saw nothing)"
}

settle "before the kills"
watch_start
ip netns exec bfd-v tcpdump -ni eth0 -tt -l "udp and src host 192.0.2.1 and dst port 3784" >"$WORK/wire.txt" 2>/dev/null &
TCPDUMP=$!
PIDS+=("$TCPDUMP")
sleep 1
: >"$WORK/kills.txt"
for ((k = 1; k <= 5; k++)); do
  worker=$(cat "$WORK/v-bfd.pid")
  date +%s.%N >>"$WORK/kills.txt"
  kill -9 "$worker"
  wait_for 10 bash -c "[[ -s $WORK/v-bfd.pid && \$(cat $WORK/v-bfd.pid) != $worker ]]" || fail "kill $k: no new BFD worker"
  sleep 2
done
sleep 0.5
kill "$TCPDUMP" 2>/dev/null
wait "$TCPDUMP" 2>/dev/null
# The successor sends at once when it resumes a session: from each kill to the next packet on the wire.
latencies=$(awk 'NR == FNR { kills[++n] = $1; next } { for (i = 1; i <= n; i++) if (!(i in seen) && $1 > kills[i]) {
  seen[i] = 1; printf "%.1f ", ($1 - kills[i]) * 1000 } }' "$WORK/kills.txt" "$WORK/wire.txt")
# shellcheck disable=SC2086
echo "MEASURED restart latency (SIGKILL to the successor's first packet on the wire, 5 kills): $($LAB stats $latencies)" \
  "(3 × 50 ms would allow 150; load $(cut -d' ' -f1-3 /proc/loadavg))"
watch_end "through 5 kills"
restarts=$(vigilctl bfd-v "$VSOCK" status --json |
  python3 -c 'import json,sys; print([w["restartCount"] for w in json.load(sys.stdin)["workers"] if w["role"]=="bfd"][0])')
[[ $restarts == 5 ]] && pass "vigilctl status counts 5 BFD worker restarts" || fail "restarts: $restarts"

log "== 2b. the BFD worker stopped (SIGSTOP) under Up sessions (5 × 1 s): replaced, the sessions resumed Up"
settle "before the stop"
watch_start
worker=$(cat "$WORK/v-bfd.pid")
stopped_at=$(date +%s%N)
kill -STOP "$worker"
if wait_for 20 bash -c "[[ -s $WORK/v-bfd.pid && \$(cat $WORK/v-bfd.pid) != $worker ]]"; then
  echo "MEASURED a stopped BFD worker replaced after $((($(date +%s%N) - stopped_at) / 1000000)) ms" \
    "(heartbeat interval 1 s; polled every 100 ms; load $(cut -d' ' -f1-3 /proc/loadavg))"
  pass "the stopped BFD worker was replaced"
else
  fail "the stopped BFD worker was not replaced within 20 s"
  kill -CONT "$worker"
fi
check "the stopped worker is gone (the watchdog killed it)" wait_for 10 bash -c "! kill -0 $worker 2>/dev/null"
check "its successor has the sessions Up" bash -c "$LAB up $BIN/vigilctl $VSOCK frr 10 && $LAB up $BIN/vigilctl $VSOCK ka 10"
sleep 2
watch_end "while the worker was stopped and replaced"

log "== status, dumps, statistics"
vigilctl bfd-v "$VSOCK" status
kill -USR2 "$VIGIL"
sleep 1
grep -q "^bfd.frr.went_up" "$WORK/vigild.stats" && pass "SIGUSR2 writes each session's counters" ||
  fail "vigild.stats: $(head -n 20 "$WORK/vigild.stats")"
grep -q "^vrrp.bfd_channel_delivery_max_us" "$WORK/vigild.stats" &&
  echo "MEASURED BFD channel delivery: $(grep bfd_channel "$WORK/vigild.stats" | tr '\n' ' ')"
kill -USR1 "$VIGIL"
sleep 1
grep -q "BFD Instance = frr" "$WORK/vigild.data" && pass "SIGUSR1 dumps each session" || fail "no session in vigild.data"
kill "$VIGIL"
wait "$VIGIL" 2>/dev/null
sleep 0.5
[[ $(frr_status 192.0.2.1) == down ]] && pass "stopping vigild takes FRR's session down (AdminDown sent)" ||
  fail "after stop FRR says $(frr_status 192.0.2.1)"

log "== 3. VRRP over BFD: the master's link cut, the backup takes the VIP over BFD (advert_int 1, BFD 3 × 50 ms)"
vrrp_bfd_config() { # SELF PEER PRIORITY FIFO
  cat <<CONF
global_defs {
  router_id $1
  vrrp_notify_fifo $4
}
bfd_instance peer {
  neighbor_ip $2
  source_ip $1
  min_rx 50
  min_tx 50
  multiplier 3
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 71
  priority $3
  advert_int 1
  virtual_ipaddress {
    192.0.2.100/24
  }
  track_bfd {
    peer weight -10
  }
}
CONF
}
vrrp_round() { # vigil|keepalived
  local kind=$1 values=() run value
  for side in m n; do
    local self peer prio
    [[ $side == m ]] && self=192.0.2.11 peer=192.0.2.12 prio=100 || self=192.0.2.12 peer=192.0.2.11 prio=90
    vrrp_bfd_config "$self" "$peer" "$prio" "$WORK/$kind-$side.fifo" >"$WORK/$kind-$side.conf"
    if [[ $kind == vigil ]]; then
      ip netns exec "bfd-$side" "$BIN/vigild" -n -l -f "$WORK/$kind-$side.conf" -p "$WORK/$side.pid" \
        -r "$WORK/$side-vrrp.pid" -c "$WORK/$side-check.pid" -b "$WORK/$side-bfd.pid" \
        --control-socket "$WORK/$side.sock" >"$WORK/$kind-$side.log" 2>&1 &
    else
      ip netns exec "bfd-$side" keepalived -n -l -D -f "$WORK/$kind-$side.conf" -p "$WORK/$side.pid" \
        -r "$WORK/$side-vrrp.pid" -c "$WORK/$side-check.pid" -b "$WORK/$side-bfd.pid" >"$WORK/$kind-$side.log" 2>&1 &
    fi
    PIDS+=($!)
    eval "${kind}_$side=$!"
  done
  # The backup's FIFO is read for the MASTER line.
  sleep 0.5
  [[ -p "$WORK/$kind-n.fifo" ]] || mkfifo "$WORK/$kind-n.fifo"
  cat "$WORK/$kind-n.fifo" >"$WORK/$kind-n.fifo.txt" &
  PIDS+=($!)
  holds() { [[ $(ip -n "$1" -o addr show dev eth0) == *" 192.0.2.100/"* ]]; }
  if ! wait_for 20 holds bfd-m; then
    fail "$kind: the master never took the VIP"
    return
  fi
  sleep 3
  for ((run = 1; run <= RUNS; run++)); do
    # The master's BFD session must be Up before the cut, or the takeover cannot be BFD's.
    [[ $kind == vigil ]] && ! $LAB up "$BIN/vigilctl" "$WORK/n.sock" peer 30 && fail "$kind run $run: the backup's session is not Up"
    value=$($LAB vip bfd-n 192.0.2.100 -- ip -n bfd-sw link set sw-m down)
    ip -n bfd-sw link set sw-m up
    [[ $value == timeout ]] && fail "$kind run $run: the backup never took the VIP" || values+=("$value")
    # The master comes back, preempts, and the backup's BFD session is Up again before the next run.
    wait_for 30 holds bfd-m && wait_for 30 bash -c "! [[ \$(ip -n bfd-n -o addr show dev eth0) == *192.0.2.100/* ]]" ||
      fail "$kind run $run: the master did not take the VIP back"
    sleep 3
  done
  local summary
  summary=$($LAB stats "${values[@]}")
  echo "MEASURED VRRP takeover over BFD, $kind: $summary (load $(cut -d' ' -f1-3 /proc/loadavg))"
  if [[ $kind == vigil ]]; then
    local within=0 over_bfd
    for value in "${values[@]}"; do python3 -c "import sys; sys.exit(0 if $value <= 170 else 1)" && within=$((within + 1)); done
    echo "MEASURED ($within of ${#values[@]} within the detection time 150 + 20 ms)"
    # Each takeover is the BFD session's: the backup's log gives the reason of every BACKUP -> MASTER.
    over_bfd=$(grep -c "VI_1: BACKUP -> MASTER (bfd_instance peer to the master 192.0.2.11 down)" "$WORK/$kind-n.log")
    ((over_bfd >= RUNS && ${#values[@]} == RUNS)) &&
      pass "Vigil: the backup took the VIP over BFD (not Master_Down_Interval) in all $RUNS runs ($summary)" ||
      fail "Vigil: $over_bfd takeovers over BFD in ${#values[@]} runs: $(grep -- '-> MASTER' "$WORK/$kind-n.log")"
    grep -q 'INSTANCE "VI_1" MASTER' "$WORK/$kind-n.fifo.txt" && pass "the backup's notify FIFO got INSTANCE \"VI_1\" MASTER" ||
      fail "FIFO: $(cat "$WORK/$kind-n.fifo.txt")"
  else
    echo "(keepalived applies the weight only: Master_Down_Interval, 3 × 1 s + skew)"
  fi
  eval "kill \$${kind}_m \$${kind}_n"
  sleep 1
}
vrrp_round vigil
vrrp_round keepalived

echo "$passed passed, $failed failed"
((failed == 0))
