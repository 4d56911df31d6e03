#!/usr/bin/env bash
# False takeovers under load (issue 19), between network namespaces on this host's kernel: a VRRPv3 pair at
# advert_int 0.01 (master priority 200, backup 100) while stress-ng saturates every core (`--cpu 8 --io 2`) for
# BENCH_STRESS_SECONDS (default 60). Counted on the wire, by a capture on the bridge between them: every burst of
# adverts from the backup's address (bursts apart by more than 100 ms) is one false takeover, and the master's
# adverts are counted too (the work done: 100 a second when it keeps time). Vigil and keepalived one after the
# other, same configuration files, default flags. Then the same with 20 instances at advert_int 0.1 (issue 19's second
# figure), a takeover counted per instance (VRID). Emits markdown rows (Benchmarks/lib.sh `row`).
set -uo pipefail
# shellcheck source=Benchmarks/lib.sh
source "$(dirname "$0")/lib.sh"
vrrp_pairs_setup false-takeover.sh
command -v stress-ng >/dev/null || { echo "stress-ng is not installed" >&2; exit 1; }
SECONDS_UNDER_LOAD=${BENCH_STRESS_SECONDS:-60}
VIP=192.0.2.100

# more_instances FILE PRIORITY ADVERT COUNT: adds instances VI_2..VI_COUNT (VRIDs 52.., VIPs 203.0.113.N) to FILE.
more_instances() {
  local i
  for ((i = 2; i <= $4; i++)); do
    printf 'vrrp_instance VI_%d {\n  state BACKUP\n  interface eth0\n  virtual_router_id %d\n  priority %d\n' \
      "$i" $((50 + i)) "$2"
    printf '  advert_int %s\n  virtual_ipaddress {\n    203.0.113.%d/24\n  }\n}\n' "$3" "$i"
  done >>"$1"
}

# under_load KIND P ADVERT INSTANCES: prints "TAKEOVERS MASTER_ADVERTS" for one run of KIND on pair P.
under_load() {
  local kind=$1 p=$2 advert=$3 instances=$4
  vre_config "$VRE_TMP/$p-a.conf" 3 ipv4 multicast 200 0 192.0.2.1 192.0.2.2 "$advert"
  vre_config "$VRE_TMP/$p-b.conf" 3 ipv4 multicast 100 0 192.0.2.2 192.0.2.1 "$advert"
  more_instances "$VRE_TMP/$p-a.conf" 200 "$advert" "$instances"
  more_instances "$VRE_TMP/$p-b.conf" 100 "$advert" "$instances"
  vre_start "$kind" "$p-a" "$VRE_TMP/$p-a.conf"
  vre_wait 15 vre_has "$p-a" "$VIP" || echo "warning: $kind: the master did not take the VIP" >&2
  vre_start "$kind" "$p-b" "$VRE_TMP/$p-b.conf"
  sleep 3
  vre_only "$p" "$VIP" a || echo "warning: the $kind pair did not converge" >&2
  vre_capture_start "$p-br" br0 "$p" "ip proto 112"
  stress-ng --cpu 8 --io 2 --timeout "$SECONDS_UNDER_LOAD" --quiet >/dev/null 2>&1
  sleep 1
  vre_capture_stop "$p" -tt
  vre_stop "$p-b"
  vre_stop "$p-a"
  # A burst: the backup's adverts for one VRID, apart from its previous ones by more than 5 advert intervals.
  awk -v gap="$(awk "BEGIN { g = 5 * $advert; print (g < 0.1 ? 0.1 : g) }")" '
    match($0, /vrid [0-9]+/) { vrid = substr($0, RSTART + 5, RLENGTH - 5) }
    $3 == "192.0.2.2" { if (!(vrid in last) || $1 - last[vrid] > gap) bursts++; last[vrid] = $1 }
    $3 == "192.0.2.1" { master++ }
    END { printf "%d %d\n", bursts, master }' "$VRE_TMP/$p.txt"
}

vre_pair vre-lv
vre_pair vre-lk
how="scripts/bench load"
# scenario ADVERT INSTANCES: both daemons, then their two rows.
scenario() {
  local advert=$1 instances=$2 kind p per_second
  declare -A takeovers adverts
  for kind in ${BENCH_DAEMONS:-vigil keepalived}; do
    p=vre-lv
    [[ $kind == keepalived ]] && p=vre-lk
    read -r takeovers[$kind] adverts[$kind] < <(under_load "$kind" "$p" "$advert" "$instances")
    echo "bench: $kind, $instances instance(s) at advert_int $advert under load for $SECONDS_UNDER_LOAD s:" \
      "${takeovers[$kind]} false takeovers, ${adverts[$kind]} master adverts on the wire" >&2
  done
  per_second=$(awk "BEGIN { print int($instances / $advert + 0.5) }")
  local what="VRRPv3 advert_int $advert"
  ((instances > 1)) && what="$instances VRRPv3 instances at advert_int $advert"
  row "$what, stress-ng --cpu 8 --io 2 for $SECONDS_UNDER_LOAD s: false takeovers by the backup (bursts on the wire)" \
    "${takeovers[vigil]:-n/a}" "${takeovers[keepalived]:-n/a}" "takeovers (lower is better)" "$how"
  row "… and the master's adverts on the wire in that time ($((SECONDS_UNDER_LOAD * per_second)) if it keeps time)" \
    "${adverts[vigil]:-n/a}" "${adverts[keepalived]:-n/a}" \
    "adverts (closer to $((SECONDS_UNDER_LOAD * per_second)) is better)" "$how"
}
scenario 0.01 1
scenario 0.1 20
