#!/usr/bin/env bash
# first-advert.sh: start → first VRRP advert on the wire (issue 13's "start to first advert"), Vigil against
# keepalived, between network namespaces on this host's kernel. One namespace runs the daemon on a bridge; a capture on
# the bridge (tcpdump, the kernel's timestamps, the same clock as `date`) times each start from the moment the daemon
# is executed to its first advert, and to the first advert of every instance. INSTANCES instances (default 1 and 20),
# VRRPv2, advert_int 1, priority 255 (the address owner: MASTER at once, so the figure is the daemon's own start and
# not the protocol's Master_Down_Interval), ROUNDS rounds (default 9) taking turns, each daemon stopped (SIGTERM) and
# gone before the next starts. Emits markdown rows (Benchmarks/lib.sh `row`).
#   Benchmarks/first-advert.sh                                  the release build against keepalived
#   VIGIL_BINS="/tmp/before $PWD/.build-package/release" Benchmarks/first-advert.sh    two builds against keepalived
set -uo pipefail
# shellcheck source=Benchmarks/lib.sh
source "$(dirname "$0")/lib.sh"
vrrp_pairs_setup first-advert.sh
ROUNDS=${ROUNDS:-9}
read -r -a builds <<<"${VIGIL_BINS:-$BIN}"
for build in "${builds[@]}"; do [[ -x $build/vigild ]] || { echo "$build/vigild is not built" >&2; exit 1; }; done

vre_pair fa
# conf N: N instances, vrid 51.., VIP 192.0.2.(100 + i)
conf() {
  local i
  printf 'global_defs {\n    router_id fa\n    vrrp_version 2\n}\n'
  for ((i = 0; i < $1; i++)); do
    printf 'vrrp_instance VI_%d {\n    state MASTER\n    interface eth0\n    virtual_router_id %d\n' $i $((51 + i))
    printf '    priority 255\n    advert_int 1\n    virtual_ipaddress {\n        192.0.2.%d/24\n    }\n}\n' $((100 + i))
  done
}
all_vips() { # N: every VIP on fa-a's eth0
  local i
  for ((i = 0; i < $1; i++)); do vre_has fa-a "192.0.2.$((100 + i))" || return 1; done
}
none_left() { ! ip -n fa-a addr show dev eth0 | grep -q 'inet 192.0.2.1[0-9][0-9]/'; }

declare -A first all
for instances in ${INSTANCES:-1 20}; do
  conf "$instances" >"$VRE_TMP/fa-$instances.conf"
  vre_capture_start fa-br br0 "fa-$instances" "ip proto 112"
  : >"$VRE_TMP/fa-$instances.marks"
  for ((round = 0; round < ROUNDS; round++)); do
    for ((b = 0; b <= ${#builds[@]}; b++)); do
      if ((b < ${#builds[@]})); then kind=vigil VIGILD=${builds[$b]}/vigild; else kind=keepalived; fi
      echo "$b $(date +%s.%N)" >>"$VRE_TMP/fa-$instances.marks"
      vre_start "$kind" fa-a "$VRE_TMP/fa-$instances.conf"
      vre_wait 15 all_vips "$instances" || echo "warning: $kind ($b): not every VIP up within 15 s" >&2
      sleep 1.5
      vre_stop fa-a
      vre_wait 15 none_left || echo "warning: $kind ($b) left VIPs behind" >&2
      sleep 0.5
    done
  done
  vre_capture_stop "fa-$instances" -tt
  # For each start: ms to the first advert, and to the first advert of the last instance to send one.
  while read -r b f a; do
    first[$instances $b]=$f all[$instances $b]=$a
  done < <("$PY" - "$VRE_TMP/fa-$instances.txt" "$VRE_TMP/fa-$instances.marks" "$instances" <<'PY'
import re, statistics, sys
capture, marks, instances = sys.argv[1], sys.argv[2], int(sys.argv[3])
adverts = []
for line in open(capture):
    m = re.match(r"([0-9.]+) IP .*vrid (\d+), prio (\d+)", line)
    if m and int(m[3]) > 0: adverts.append((float(m[1]), int(m[2])))
starts = [(int(b), float(t)) for b, t in (line.split() for line in open(marks) if line.strip())]
times = {}
for i, (b, t) in enumerate(starts):
    end = starts[i + 1][1] if i + 1 < len(starts) else float("inf")
    seen = {}
    for u, vrid in adverts:
        if t < u < end: seen.setdefault(vrid, u)
    if not seen: continue
    f = (min(seen.values()) - t) * 1000
    a = (max(seen.values()) - t) * 1000 if len(seen) == instances else None
    times.setdefault(b, []).append((f, a))
def show(values):
    values = sorted(v for v in values if v is not None)
    if not values: return "n/a"
    return f"{statistics.median(values):.0f}_ms_({values[0]:.0f}–{values[-1]:.0f})"
for b, runs in sorted(times.items()):
    print(b, show([f for f, _ in runs]), show([a for _, a in runs]))
PY
  )
done

# vigil_column FIGURE INSTANCES: each build's figure, named by its directory when there are several.
vigil_column() {
  local -n figures=$1
  local b out=()
  for ((b = 0; b < ${#builds[@]}; b++)); do
    if ((${#builds[@]} == 1)); then out+=("${figures[$2 $b]:-n/a}"); else out+=("${builds[$b]}: ${figures[$2 $b]:-n/a}"); fi
  done
  local IFS=';'
  echo "${out[*]//_/ }" | sed 's/;/; /g'
}
how="$([[ -n ${VIGIL_BINS:-} ]] && echo 'VIGIL_BINS="BEFORE NOW" ')ROUNDS=$ROUNDS Benchmarks/first-advert.sh"
k=${#builds[@]}
for instances in ${INSTANCES:-1 20}; do
  kf=${first[$instances $k]:-n/a} ka=${all[$instances $k]:-n/a}
  row "$instances VRRP instance(s), VRRPv2, priority 255: start → first advert on the wire (median of $ROUNDS, range)" \
    "$(vigil_column first "$instances")" "${kf//_/ }" "ms (lower is better)" "$how"
  ((instances > 1)) && row "$instances VRRP instances: start → every instance's first advert (median of $ROUNDS, range)" \
    "$(vigil_column all "$instances")" "${ka//_/ }" "ms (lower is better)" "$how"
done
