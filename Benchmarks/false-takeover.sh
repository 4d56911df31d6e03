#!/usr/bin/env bash
# False takeovers under load (issue 19), between network namespaces on this host's kernel: a VRRPv3 pair at
# advert_int 0.01 (master priority 200, backup 100) while stress-ng saturates every core (`--cpu 8 --io 2`) for
# BENCH_STRESS_SECONDS (default 60). Counted on the wire, by a capture on the bridge between them: every burst of
# adverts from the backup's address (bursts apart by more than 100 ms) is one false takeover, and the master's
# adverts are counted too (the work done: 100 a second when it keeps time). Vigil and keepalived one after the
# other, same configuration files, default flags. Emits markdown rows (Benchmarks/lib.sh `row`).
set -uo pipefail
# shellcheck source=Benchmarks/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT" || exit 1
[[ $(id -u) == 0 ]] || { echo "false-takeover.sh needs root" >&2; exit 1; }
export VIGIL_BIN=$BIN
# shellcheck source=Tests/Namespaces/vrrp/lib.sh
source Tests/Namespaces/vrrp/lib.sh
[[ -x $VIGILD ]] || { echo "$VIGILD is not built" >&2; exit 1; }
command -v stress-ng >/dev/null || { echo "stress-ng is not installed" >&2; exit 1; }
trap vre_cleanup EXIT
SECONDS_UNDER_LOAD=${BENCH_STRESS_SECONDS:-60}
VIP=192.0.2.100

# under_load KIND P: prints "TAKEOVERS MASTER_ADVERTS" for one run of KIND on pair P.
under_load() {
  local kind=$1 p=$2
  vre_config "$VRE_TMP/$p-a.conf" 3 ipv4 multicast 200 0 192.0.2.1 192.0.2.2 0.01
  vre_config "$VRE_TMP/$p-b.conf" 3 ipv4 multicast 100 0 192.0.2.2 192.0.2.1 0.01
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
  awk '$3 == "192.0.2.2" { if (last == "" || $1 - last > 0.1) bursts++; last = $1 }
       $3 == "192.0.2.1" { master++ }
       END { printf "%d %d\n", bursts, master }' "$VRE_TMP/$p.txt"
}

vre_pair vre-lv
vre_pair vre-lk
declare -A takeovers adverts
for kind in ${BENCH_DAEMONS:-vigil keepalived}; do
  p=vre-lv
  [[ $kind == keepalived ]] && p=vre-lk
  read -r takeovers[$kind] adverts[$kind] < <(under_load "$kind" "$p")
  echo "bench: $kind under load for $SECONDS_UNDER_LOAD s: ${takeovers[$kind]} false takeovers," \
    "${adverts[$kind]} master adverts on the wire" >&2
done

how="scripts/bench load"
row "VRRPv3 advert_int 0.01, stress-ng --cpu 8 --io 2 for $SECONDS_UNDER_LOAD s: false takeovers by the backup (bursts on the wire)" \
  "${takeovers[vigil]:-n/a}" "${takeovers[keepalived]:-n/a}" "takeovers (lower is better)" "$how"
row "… and the master's adverts on the wire in that time ($((SECONDS_UNDER_LOAD * 100)) if it keeps time)" \
  "${adverts[vigil]:-n/a}" "${adverts[keepalived]:-n/a}" "adverts (closer to $((SECONDS_UNDER_LOAD * 100)) is better)" "$how"
