#!/usr/bin/env bash
# VRRP failover (figures 1 and 2 of issue 8), between network namespaces on this host's kernel:
#   1. VRRPv3 advert_int 0.1: master link loss → VIP on the backup; master SIGTERM → VIP on the backup;
#   2. VRRPv2 advert_int 1 (the seed's setting): master link loss → VIP on the backup.
# A Vigil pair and a keepalived pair, each on its own bridge, same configuration files, BENCH_RUNS runs each
# (default 9). Times run from the event (link down / kill) to the VIP being on the backup only, sampled with `ip addr`
# in a tight loop (a few ms per sample), and on the wire (issue 19): a capture on the bridge times the backup's first
# advert from the master's priority-0 advert (SIGTERM) or its last advert (link cut). Emits markdown rows
# (Benchmarks/lib.sh `row`).
set -uo pipefail
# shellcheck source=Benchmarks/lib.sh
source "$(dirname "$0")/lib.sh"
vrrp_pairs_setup vrrp-failover.sh
RUNS=${BENCH_RUNS:-9}
VIP=192.0.2.100

# elapsed_until START_MS P SIDE: waits (up to 10 s) until only SIDE of pair P holds the VIP; prints the
# ms since START_MS, or nothing on a timeout.
elapsed_until() {
  while ! vre_only "$2" "$VIP" "$3"; do
    (($(now_ms) - $1 < 10000)) || return 1
  done
  echo $(($(now_ms) - $1))
}

# start_pair KIND P VERSION ADVERT: KIND (vigil|keepalived) in both namespaces, a at priority 200, b at 100.
start_pair() {
  vre_config "$VRE_TMP/$2-a.conf" "$3" ipv4 multicast 200 0 192.0.2.1 192.0.2.2 "$4"
  vre_config "$VRE_TMP/$2-b.conf" "$3" ipv4 multicast 100 0 192.0.2.2 192.0.2.1 "$4"
  vre_start "$1" "$2-a" "$VRE_TMP/$2-a.conf"
  vre_start "$1" "$2-b" "$VRE_TMP/$2-b.conf"
  vre_wait 15 vre_only "$2" "$VIP" a || echo "warning: the $1 pair $2 did not converge" >&2
  sleep 1
}

# wire_times CAPTURE MARKS SCENARIO: the backup's reaction on the wire, one time (ms) per run. term: from the master's
# priority-0 advert to the backup's first advert (the RFC's Skew_Time); link: from the master's last advert before a
# link cut (MARKS: when each cut began) to the backup's first advert (Master_Down_Interval).
wire_times() {
  "$PY" - "$@" <<'PY'
import re, sys
capture, marks, scenario = sys.argv[1:4]
adverts = []
for line in open(capture):
    m = re.match(r"([0-9.]+) IP (\S+) > .*prio (\d+)", line)
    if m: adverts.append((float(m[1]), m[2], int(m[3])))
times = []
if scenario == "term":
    last_zero = -10.0
    for t, source, prio in adverts:
        if source == "192.0.2.1" and prio == 0:
            if t - last_zero > 1:
                after = [u for u, s, _ in adverts if s == "192.0.2.2" and u > t]
                if after: times.append((after[0] - t) * 1000)
            last_zero = t
else:
    for mark in (float(x) for x in open(marks) if x.strip()):
        after = [u for u, s, _ in adverts if s == "192.0.2.2" and u > mark]
        if not after: continue
        before = [u for u, s, p in adverts if s == "192.0.2.1" and p > 0 and u < after[0]]
        if before: times.append((after[0] - before[-1]) * 1000)
print(" ".join(f"{x:.1f}" for x in times))
PY
}

# measure KIND P SCENARIO VERSION ADVERT: prints one time (ms) per successful run; the times on the wire go to
# $VRE_TMP/wire-KIND-SCENARIO-VERSION.txt.
measure() {
  local kind=$1 p=$2 scenario=$3 version=$4 advert=$5 run start stopper capture="$2-$3-$4"
  start_pair "$kind" "$p" "$version" "$advert"
  vre_capture_start "$p-br" br0 "$capture" "ip proto 112"
  : >"$VRE_TMP/$capture.marks"
  for ((run = 0; run < RUNS; run++)); do
    start=$(now_ms)
    if [[ $scenario == link ]]; then
      date +%s.%N >>"$VRE_TMP/$capture.marks"
      ip -n "$p-a" link set eth0 down
      elapsed_until "$start" "$p" b || echo "warning: $kind: no failover within 10 s" >&2
      ip -n "$p-a" link set eth0 up
    else
      vre_stop "$p-a" TERM &
      stopper=$!
      elapsed_until "$start" "$p" b || echo "warning: $kind: no failover within 10 s" >&2
      wait "$stopper"
      vre_start "$kind" "$p-a" "$VRE_TMP/$p-a.conf"
    fi
    vre_wait 15 vre_only "$p" "$VIP" a || echo "warning: $kind did not take the VIP back" >&2
    sleep 1
  done
  vre_capture_stop "$capture" -tt
  wire_times "$VRE_TMP/$capture.txt" "$VRE_TMP/$capture.marks" "$scenario" >"$VRE_TMP/wire-$kind-$scenario-$version.txt"
  vre_stop "$p-a"
  vre_stop "$p-b"
}

vre_pair vre-bv
vre_pair vre-bk
declare -A result wire
for scenario in "3 0.1 link" "3 0.1 term" "2 1 link"; do
  read -r version advert event <<<"$scenario"
  for kind in ${BENCH_DAEMONS:-vigil keepalived}; do
    p=vre-bv
    [[ $kind == keepalived ]] && p=vre-bk
    # shellcheck disable=SC2207
    times=($(measure "$kind" "$p" "$event" "$version" "$advert"))
    echo "bench: $kind v$version advert_int $advert $event: ${times[*]:-none}" >&2
    if ((${#times[@]})); then
      result[$kind $scenario]="$(median "${times[@]}") ms ($(IFS=/; echo "${times[*]}"))"
    fi
    read -r -a times <"$VRE_TMP/wire-$kind-$event-$version.txt"
    echo "bench: $kind v$version advert_int $advert $event on the wire: ${times[*]:-none}" >&2
    if ((${#times[@]})); then
      wire[$kind $scenario]="$(median "${times[@]}") ms ($(printf '%s\n' "${times[@]}" | sort -n | sed -n '1p;$p' |
        paste -sd '-'), ${#times[@]} runs)"
    fi
  done
done

how="scripts/bench vrrp"
row "VRRPv3 advert_int 0.1: master link loss → VIP on backup (median of $RUNS; runs)" \
  "${result[vigil 3 0.1 link]:-n/a}" "${result[keepalived 3 0.1 link]:-n/a}" "ms (lower is better)" "$how"
row "VRRPv3 advert_int 0.1: master SIGTERM → VIP on backup (median of $RUNS; runs)" \
  "${result[vigil 3 0.1 term]:-n/a}" "${result[keepalived 3 0.1 term]:-n/a}" "ms (lower is better)" "$how"
row "VRRPv2 advert_int 1: master link loss → VIP on backup (median of $RUNS; runs)" \
  "${result[vigil 2 1 link]:-n/a}" "${result[keepalived 2 1 link]:-n/a}" "ms (lower is better)" "$how"
row "On the wire (capture on the bridge), VRRPv3 advert_int 0.1: master's priority-0 advert → backup's first advert (the RFC's Skew_Time: 60.9 ms at priority 100; median, range)" \
  "${wire[vigil 3 0.1 term]:-n/a}" "${wire[keepalived 3 0.1 term]:-n/a}" "ms (closer to 60.9 is better)" "$how"
row "On the wire, VRRPv3 advert_int 0.1: master's last advert before its link is cut → backup's first advert (Master_Down_Interval: 360.9 ms; median, range)" \
  "${wire[vigil 3 0.1 link]:-n/a}" "${wire[keepalived 3 0.1 link]:-n/a}" "ms (closer to 360.9 is better)" "$how"
