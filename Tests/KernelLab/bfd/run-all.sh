#!/usr/bin/env bash
# Kernel-lab suite for BFD_CHECK on real IPVS (issue 16): vigild -C on ipvs/lib.sh's topology, LVS-DR, VIP
# 192.0.2.100:80, lb_algo rr. Each real server runs FRR's bfdd with a session to the director at 5 × 1 s: under TCG
# (10-30x slower than the host, more on a loaded host) a restarted BFD worker's first packet can take a second or
# more, and the kill section needs it to arrive within the peers' detection time. rs1 has BFD_CHECK alone, rs2
# BFD_CHECK beside TCP_CHECK. Times are printed, never asserted; the waits are generous deadlines.
#   - Both real servers enter `ipvsadm -Ln` once their sessions are Up (a BFD_CHECK fails until then, as keepalived's
#     first BFD event is Down), and curl through the VIP reaches both.
#   - rs1's bfdd stopped (SIGSTOP): rs1 leaves IPVS within the detection time (plus the lab's slowness); every request
#     goes to rs2. Resumed: rs1 returns.
#   - rs2's link to the director cut from the real server's side for BFD only (its bfdd's packets dropped by
#     iptables): rs2 leaves though its web server still answers TCP_CHECK; let through again, it returns.
#   - The BFD worker killed with SIGKILL: no real server leaves IPVS.
#
# Run: Tests/KernelLab/kernel-lab run --env VIGIL_BIN=$PWD/.build/debug Tests/KernelLab/bfd/run-all.sh
set -uo pipefail

if [[ "${KERNEL_LAB:-}" != 1 && "${1:-}" != --force ]]; then
  echo "bfd/run-all.sh: meant to run inside the kernel lab (or pass --force)" >&2
  exit 2
fi

# shellcheck source=../ipvs/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../ipvs/lib.sh"
trap 'stop_vigild; cleanup' EXIT

setup_topology || fatal "topology"
setup_dr_real_servers
for i in 1 2; do
  ip netns exec "lab-r$i" "$PY" "$HERE/httpd.py" "rs$i" 80 >"$WORK/rs$i.log" 2>&1 &
  PIDS+=($!)
done
for i in 1 2; do wait_http lab-d "http://198.51.100.1$i/" "rs$i" || fatal "rs$i web server"; done

# FRR's bfdd on each real server: a single-hop session with the director's 198.51.100.1.
id frr >/dev/null 2>&1 || fatal "no frr user (scripts/setup installs frr)"
# The VM's /run is a fresh tmpfs: the runtime directories the frr package creates at boot are not there.
install -d -o frr -g frr -m 755 /run/frr /var/tmp/frr
# bfdd runs as frr: it must reach its directory in $WORK (mktemp -d makes it 0700).
chmod 755 "$WORK"
BFDD=()
for i in 1 2; do
  mkdir -p "$WORK/frr$i"
  cat >"$WORK/frr$i/frr.conf" <<CONF
bfd
 peer 198.51.100.1 local-address 198.51.100.1$i
  receive-interval 1000
  transmit-interval 1000
  detect-multiplier 5
 !
!
CONF
  chown -R frr:frr "$WORK/frr$i"
  ip netns exec "lab-r$i" /usr/lib/frr/bfdd -N "lab$i" --vty_socket "$WORK/frr$i" -f "$WORK/frr$i/frr.conf" \
    -i "$WORK/frr$i/bfdd.pid" --bfdctl "$WORK/frr$i/bfdd.sock" --log stdout >"$WORK/frr$i.log" 2>&1 &
  BFDD[i]=$!
  PIDS+=($!)
done
# bfdd up: its pid file written and the process still there (30 s at most under TCG), or its log and stop.
for i in 1 2; do
  if ! wait_for 30 bash -c "[[ -s $WORK/frr$i/bfdd.pid ]] && kill -0 ${BFDD[i]}" 2>/dev/null; then
    tail -n 20 "$WORK/frr$i.log"
    fatal "FRR's bfdd on lab-r$i did not start"
  fi
done

cat >"$WORK/vigil.conf" <<CONF
bfd_instance rs1 {
    neighbor_ip 198.51.100.11
    source_ip 198.51.100.1
    min_rx 1000
    min_tx 1000
    multiplier 5
}
bfd_instance rs2 {
    neighbor_ip 198.51.100.12
    source_ip 198.51.100.1
    min_rx 1000
    min_tx 1000
    multiplier 5
}
virtual_server 192.0.2.100 80 {
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 198.51.100.11 80 {
        BFD_CHECK {
            name rs1
        }
    }
    real_server 198.51.100.12 80 {
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
            warmup 0
        }
        BFD_CHECK {
            name rs2
        }
    }
}
CONF
vigild_start "$WORK/vigil.conf" -C -b "$WORK/bfd.pid"

status() { $D "$BIN/vigilctl" status --control-socket "$WORK/control.sock"; }
# The milliseconds since the event whose CLOCK_MONOTONIC nanoseconds are $1.
since_ms() { "$PY" -c "import time; print(round((time.clock_gettime_ns(time.CLOCK_MONOTONIC) - $1) / 1e6))"; }
now_ns() { "$PY" -c "import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC))"; }

# A real server starts in IPVS (as in keepalived) until its first verdict: the sessions must be Up first.
sessions_up() { [[ $(status | grep -cE "bfd_instance rs[12]: Up") == 2 ]]; }
bfd_up_by=$((SECONDS + 90))
until sessions_up || ((SECONDS >= bfd_up_by)); do sleep 0.5; done
if ! sessions_up; then
  status
  tail -n 10 "$WORK/frr1.log" "$WORK/frr2.log"
  tail -n 40 "$WORK/vigild.log"
  fatal "the BFD sessions with the real servers' bfdd did not come Up within 90 s"
fi
pass "both BFD sessions with the real servers' bfdd are Up"
check "rs1 (BFD_CHECK) in ipvsadm -Ln" wait_listing '198\.51\.100\.11:80 +Route +1' 1 60
check "rs2 (TCP_CHECK and BFD_CHECK) in ipvsadm -Ln" wait_listing '198\.51\.100\.12:80 +Route +1' 1 60
status | grep bfd_instance
check_alternates "through the VIP" "$(fetch_n 4 http://192.0.2.100/)"

# rs1's bfdd stopped: rs1 leaves; resumed: it returns.
start=$(now_ns)
kill -STOP "${BFDD[1]}"
if wait_listing '198\.51\.100\.11:80' 0 20; then
  pass "rs1's BFD peer stopped: rs1 left ipvsadm -Ln ($(since_ms "$start") ms after the stop, polled every 250 ms; detection 5 s)"
else
  fail "rs1 did not leave IPVS after its BFD peer stopped"
fi
check "every request goes to rs2" all_from rs2 "$(fetch_n 4 http://192.0.2.100/)"
kill -CONT "${BFDD[1]}"
check "rs1's BFD peer resumed: rs1 returns" wait_listing '198\.51\.100\.11:80 +Route +1' 1 60

# rs2's BFD packets dropped (its web server still answers TCP_CHECK): rs2 leaves; let through, it returns.
ip netns exec lab-r2 iptables -I OUTPUT -p udp --dport 3784 -j DROP
check "rs2's BFD dropped: rs2 leaves though its TCP_CHECK passes" wait_listing '198\.51\.100\.12:80' 0 20
status | grep -A1 "198.51.100.12"
ip netns exec lab-r2 iptables -D OUTPUT -p udp --dport 3784 -j DROP
check "rs2's BFD back: rs2 returns" wait_listing '198\.51\.100\.12:80 +Route +1' 1 60
check_alternates "through the VIP again" "$(fetch_n 4 http://192.0.2.100/)"

# The BFD worker killed: the sessions resume Up, no real server leaves.
(while :; do
  out=$(listing 2>&1)
  n=$(grep -cE '198\.51\.100\.1[12]:80 +Route +1' <<<"$out")
  echo "$(date +%T.%N | cut -c1-12) $n" >>"$WORK/samples.txt"
  ((n == 2)) || printf '%s\n%s\n' "--- $(date +%T.%N | cut -c1-12)" "$out" >>"$WORK/samples-other.txt"
  sleep 0.1
done) &
sampler=$!
PIDS+=("$sampler")
for k in 1 2 3; do
  worker=$(cat "$WORK/bfd.pid")
  start=$(now_ns)
  kill -9 "$worker"
  for ((n = 0; n < 300; n++)); do [[ -s $WORK/bfd.pid && $(cat "$WORK/bfd.pid") != "$worker" ]] && break; sleep 0.1; done
  echo "MEASURED kill $k: a new BFD worker's pid file after $(since_ms "$start") ms (polled every 100 ms)"
  sleep 6
done
kill "$sampler" 2>/dev/null
if grep -qv ' 2$' "$WORK/samples.txt"; then
  fail "a real server left IPVS while the BFD worker restarted ($(grep -cv ' 2$' "$WORK/samples.txt") samples of" \
    "$(wc -l <"$WORK/samples.txt"): $(grep -v ' 2$' "$WORK/samples.txt" | head -n 5 | tr '\n' ' ')...)"
  head -n 20 "$WORK/samples-other.txt"
else
  pass "3 × kill -9 of the BFD worker: both real servers stayed in IPVS ($(wc -l <"$WORK/samples.txt") samples)"
fi
stop_vigild
check "stopping vigild removes its service" wait_listing '192\.0\.2\.100:80' 0 10
grep -q "IPVS is not available" "$WORK/vigild.log" && fail "vigild found no IPVS in the lab"
if ((failed)); then
  echo "--- ipvsadm -Ln ---"
  listing
  echo "--- bfdd logs (tail) ---"
  tail -n 10 "$WORK/frr1.log" "$WORK/frr2.log"
  echo "--- vigild log (tail) ---"
  tail -40 "$WORK/vigild.log"
fi
summary
