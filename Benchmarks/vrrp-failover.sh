#!/usr/bin/env bash
# VRRP failover (figures 1 and 2 of issue 8), between network namespaces on this host's kernel:
#   1. VRRPv3 advert_int 0.1: master link loss → VIP on the backup; master SIGTERM → VIP on the backup;
#   2. VRRPv2 advert_int 1 (the seed's setting): master link loss → VIP on the backup.
# A Vigil pair and a keepalived pair, each on its own bridge, same configuration files, BENCH_RUNS runs each.
# Times run from the event (link down / kill) to the VIP being on the backup only, sampled with `ip addr`
# in a tight loop (a few ms per sample). Emits markdown rows (Benchmarks/lib.sh `row`).
set -uo pipefail
# shellcheck source=Benchmarks/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT" || exit 1
[[ $(id -u) == 0 ]] || { echo "vrrp-failover.sh needs root" >&2; exit 1; }
export VIGIL_BIN=$BIN
# shellcheck source=Tests/Namespaces/vrrp/lib.sh
source Tests/Namespaces/vrrp/lib.sh
[[ -x $VIGILD ]] || { echo "$VIGILD is not built" >&2; exit 1; }
[[ -x $KEEPALIVED ]] || { echo "$KEEPALIVED is not installed" >&2; exit 1; }
trap vre_cleanup EXIT
RUNS=${BENCH_RUNS:-5}
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

# measure KIND P SCENARIO VERSION ADVERT: prints one time (ms) per successful run.
measure() {
  local kind=$1 p=$2 scenario=$3 version=$4 advert=$5 run start stopper
  start_pair "$kind" "$p" "$version" "$advert"
  for ((run = 0; run < RUNS; run++)); do
    start=$(now_ms)
    if [[ $scenario == link ]]; then
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
  vre_stop "$p-a"
  vre_stop "$p-b"
}

vre_pair vre-bv
vre_pair vre-bk
declare -A result
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
  done
done

how="scripts/bench vrrp"
row "VRRPv3 advert_int 0.1: master link loss → VIP on backup (median of $RUNS; runs)" \
  "${result[vigil 3 0.1 link]:-n/a}" "${result[keepalived 3 0.1 link]:-n/a}" "ms (lower is better)" "$how"
row "VRRPv3 advert_int 0.1: master SIGTERM → VIP on backup (median of $RUNS; runs)" \
  "${result[vigil 3 0.1 term]:-n/a}" "${result[keepalived 3 0.1 term]:-n/a}" "ms (lower is better)" "$how"
row "VRRPv2 advert_int 1: master link loss → VIP on backup (median of $RUNS; runs)" \
  "${result[vigil 2 1 link]:-n/a}" "${result[keepalived 2 1 link]:-n/a}" "ms (lower is better)" "$how"
