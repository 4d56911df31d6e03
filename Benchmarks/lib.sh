# shellcheck shell=bash
# Shared by the benchmark scripts: clocks, statistics, memory and CPU readings, and results as markdown rows.
# Every figure is measured for Vigil and for Debian's keepalived in the same run.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${VIGIL_BIN:-$ROOT/.build/release}
KEEPALIVED=${KEEPALIVED:-/usr/sbin/keepalived}
RESULTS=${BENCH_RESULTS:-/dev/stdout}
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# median N...: the middle value (the lower middle for an even count).
median() { printf '%s\n' "$@" | sort -n | awk 'NF {v[++n]=$1} END {if (n) print v[int((n+1)/2)]; else print "n/a"}'; }
# p99 N...
p99() { printf '%s\n' "$@" | sort -n | awk 'NF {v[++n]=$1} END {i=int(n*0.99+0.999); if (i<1) i=1; if (n) print v[i]; else print "n/a"}'; }

# row FIGURE VIGIL KEEPALIVED UNIT COMMAND: one markdown table row into $RESULTS.
row() {
  printf '| %s | %s | %s | %s | `%s` |\n' "$1" "$2" "$3" "$4" "$5" >>"$RESULTS"
  printf 'bench: %s: vigil %s, keepalived %s\n' "$1" "$2" "$3" >&2
}

# descendants PID: the pid and every descendant's.
descendants() {
  local pid=$1 child
  echo "$pid"
  for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do descendants "$child"; done
}

# pss_kib PID: total PSS in KiB of the process tree (smaps_rollup).
pss_kib() {
  local total=0 p kib
  for p in $(descendants "$1"); do
    kib=$(awk '/^Pss:/ {print $2}' /proc/"$p"/smaps_rollup 2>/dev/null)
    total=$((total + ${kib:-0}))
  done
  echo "$total"
}

# cpu_ticks PID: utime+stime of one process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' /proc/"$1"/stat 2>/dev/null || echo 0; }
# on_cpu_ns PID: nanoseconds PID's threads have spent on a CPU (schedstat's first field, summed), finer than ticks.
on_cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ sum += $1 } END { printf "%d", sum }'; }

# wait_until SECONDS COMMAND...: polls every $POLL seconds (default 0.01); fails after SECONDS.
wait_until() {
  local deadline=$(($(now_ms) + $1 * 1000)); shift
  until "$@"; do
    (($(now_ms) > deadline)) && return 1
    sleep "${POLL:-0.01}"
  done
}

# child_of PARENT NAME_PATTERN: the first child pid of PARENT whose command line matches.
child_of() {
  local child
  for child in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    if tr '\0' ' ' </proc/"$child"/cmdline 2>/dev/null | grep -qE "$2"; then echo "$child"; return 0; fi
  done
  return 1
}

# tree_cpu_ms PID [user|system]: CPU used by a daemon and every process it ran, in milliseconds: the live
# processes' own time plus the time of children it has reaped (cutime/cstime: a restarted worker's CPU is not lost).
# One awk over every /proc/PID/stat (spawning a process per pid takes long under emulation).
tree_cpu_ms() {
  local which=${2:-total} files=() p
  for p in $(descendants "$1"); do files+=("/proc/$p/stat"); done
  awk -v root="$1" -v which="$which" -v hz="$(getconf CLK_TCK)" '
    { own = which == "user" ? $14 : which == "system" ? $15 : $14 + $15
      total += own
      if ($1 == root) total += which == "user" ? $16 : which == "system" ? $17 : $16 + $17 }
    END { printf "%d", total * 1000 / hz }' "${files[@]}" 2>/dev/null
}

# vrrp_pairs_setup SCRIPT: for the VRRP pair benchmarks (run from the repository's root, as root): the namespace
# suites' pair helpers (Tests/Namespaces/vrrp/lib.sh) on the release build, both daemons present, cleaned up at exit.
vrrp_pairs_setup() {
  cd "$ROOT" || exit 1
  [[ $(id -u) == 0 ]] || { echo "$1 needs root" >&2; exit 1; }
  export VIGIL_BIN=$BIN
  # shellcheck source=Tests/Namespaces/vrrp/lib.sh
  source Tests/Namespaces/vrrp/lib.sh
  [[ -x $VIGILD ]] || { echo "$VIGILD is not built" >&2; exit 1; }
  [[ -x $KEEPALIVED ]] || { echo "$KEEPALIVED is not installed" >&2; exit 1; }
  trap vre_cleanup EXIT
}

# director_and_servers WORKDIR: namespaces bench-d (the director: 198.51.100.1 on d0) and bench-r (10 real servers,
# 198.51.100.11-20, one accept loop on port 80 that closes what it accepts), removed with WORKDIR at exit.
director_and_servers() {
  local work=$1 i
  ip netns add bench-d
  ip netns add bench-r
  # shellcheck disable=SC2064 # the directory is fixed now
  trap "ip netns pids bench-d | xargs -r kill; ip netns pids bench-r | xargs -r kill; ip netns del bench-d; ip netns del bench-r; rm -rf '$work'" EXIT
  ip -n bench-d link set lo up
  ip -n bench-r link set lo up
  ip link add d0 netns bench-d type veth peer name r0 netns bench-r
  ip -n bench-d addr add 198.51.100.1/24 dev d0
  ip -n bench-d link set d0 up
  for i in $(seq 11 20); do ip -n bench-r addr add "198.51.100.$i/24" dev r0; done
  ip -n bench-r link set r0 up
  ip netns exec bench-r "$PY" -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 80)); s.listen(4096)
while True:
    c, _ = s.accept(); c.close()' &
}

# count_syns [NETNS]: an nftables counter in NETNS (bench-r) of the SYNs reaching the real servers' port 80, each a
# check's connection attempt counted where it lands; `syns [NETNS]` reads it.
count_syns() {
  ip netns exec "${1:-bench-r}" nft -f - <<'NFT'
table inet bench {
  chain input {
    type filter hook input priority 0; policy accept;
    tcp dport 80 tcp flags & (syn | ack) == syn counter
  }
}
NFT
}
syns() { ip netns exec "${1:-bench-r}" nft list chain inet bench input | awk '/counter packets/ {for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1)}'; }

# farm_config SERVICES REALSERVERS CHECK [first]: keepalived.conf text for a farm (services 192.0.2.1-250, ports 80 up;
# real servers 198.51.100.11 up, port 80, weight 1). CHECK is "" or a checker block, on every real server, or with
# `first` on the first service's first real server only.
farm_config() {
  local services=$1 reals=$2 check=$3 only=${4:-} s r
  echo 'global_defs { router_id bench }'
  for ((s = 0; s < services; s++)); do
    echo "virtual_server 192.0.2.$((s % 250 + 1)) $((80 + s / 250)) {"
    echo "  delay_loop 1"
    echo "  lb_algo rr"
    echo "  lb_kind DR"
    echo "  protocol TCP"
    for ((r = 0; r < reals; r++)); do
      echo "  real_server 198.51.100.$((11 + r)) 80 {"
      echo "    weight 1"
      [[ -n $check && ( -z $only || $s$r == 00 ) ]] && echo "    $check"
      echo "  }"
    done
    echo "}"
  done
}
