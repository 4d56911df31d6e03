# shellcheck shell=bash disable=SC2015,SC2154,SC2034
# Shared by the kernel-lab tests (sourced by ipvs/run-all.sh and smoke.sh): checks, the namespace topology, real servers,
# and helpers around vigil-ipvs. Documentation addresses only; every packet stays in these namespaces.
#
#   netns lab-c (client)        netns lab-d (director, IPVS)             netns lab-r1 / lab-r2
#   c0 192.0.2.10/24     <->    d0 192.0.2.1/24, VIPs 192.0.2.100-102    eth0 198.51.100.11 / .12
#      2001:db8:1::10/64           2001:db8:1::1/64, VIP 2001:db8:1::100       2001:db8:2::11 / ::12
#                               br0 198.51.100.1/24, 2001:db8:2::1/64    default routes via the director
#
# Real servers answer HTTP on ports 80, 443 and 8080 with their name ("rs1", "rs2").

BIN=${VIGIL_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/.build/debug}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)

D="ip netns exec lab-d"
C="ip netns exec lab-c"
WORK=$(mktemp -d /tmp/ipvs-lab.XXXXXX)
PIDS=()
passed=0
failed=0
failures=()

pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); failures+=("$*"); echo "FAIL: $*"; }
check() { # NAME COMMAND...: pass when the command succeeds
  local name=$1; shift
  if "$@"; then pass "$name"; else fail "$name"; fi
}

cleanup() {
  local p ns
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  for ns in lab-c lab-d lab-r1 lab-r2; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$WORK"
}

summary() {
  if ((failed)); then
    echo "failed checks:"
    printf '  %s\n' "${failures[@]}"
  fi
  echo "$passed passed, $failed failed"
  ((failed == 0))
}

fatal() {
  fail "$*"
  summary
  exit 1
}

setup_topology() {
  local ns i
  for ns in lab-c lab-d lab-r1 lab-r2; do
    ip netns add "$ns" || return 1
    ip -n "$ns" link set lo up || return 1
  done
  ip link add c0 netns lab-c type veth peer name d0 netns lab-d || return 1
  ip -n lab-c addr add 192.0.2.10/24 dev c0
  ip -n lab-c addr add 2001:db8:1::10/64 dev c0 nodad
  ip -n lab-c link set c0 up
  ip -n lab-d addr add 192.0.2.1/24 dev d0
  for i in 100 101 102; do ip -n lab-d addr add "192.0.2.$i/32" dev d0; done
  ip -n lab-d addr add 2001:db8:1::1/64 dev d0 nodad
  ip -n lab-d addr add 2001:db8:1::100/128 dev d0 nodad
  ip -n lab-d link set d0 up
  ip -n lab-d link add br0 type bridge || return 1
  ip -n lab-d addr add 198.51.100.1/24 dev br0
  ip -n lab-d addr add 2001:db8:2::1/64 dev br0 nodad
  ip -n lab-d link set br0 up
  for i in 1 2; do
    ip link add eth0 netns "lab-r$i" type veth peer name "rs$i" netns lab-d || return 1
    ip -n lab-d link set "rs$i" master br0
    ip -n lab-d link set "rs$i" up
    ip -n "lab-r$i" addr add "198.51.100.1$i/24" dev eth0
    ip -n "lab-r$i" addr add "2001:db8:2::1$i/64" dev eth0 nodad
    ip -n "lab-r$i" link set eth0 up
    ip -n "lab-r$i" route add default via 198.51.100.1
    ip -n "lab-r$i" -6 route add default via 2001:db8:2::1
  done
  $D sysctl -qw net.ipv4.ip_forward=1
  $D sysctl -qw net.ipv6.conf.all.forwarding=1
  # DR and TUN replies come back from the real servers with the VIP, an address of the director's own, as
  # source: accept them on br0 rather than dropping them as martians.
  $D sysctl -qw net.ipv4.conf.all.accept_local=1
  $D sysctl -qw net.ipv4.conf.br0.accept_local=1
  return 0
}

# LVS-DR real servers: VIP 192.0.2.100 on each real server's lo, ARP for it neither answered nor announced.
setup_dr_real_servers() {
  local i
  for i in 1 2; do
    ip -n "lab-r$i" addr add 192.0.2.100/32 dev lo
    ip netns exec "lab-r$i" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
      net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2
  done
}

start_servers() {
  local i
  for i in 1 2; do
    ip netns exec "lab-r$i" "$PY" "$HERE/httpd.py" "rs$i" 80 443 8080 >"$WORK/rs$i.log" 2>&1 &
    PIDS+=($!)
  done
  for i in 1 2; do
    wait_http lab-d "http://198.51.100.1$i/" "rs$i" || return 1
    wait_http lab-d "http://198.51.100.1$i:8080/" "rs$i" || return 1
    wait_http lab-d "http://198.51.100.1$i:443/" "rs$i" || return 1
    wait_http lab-d "http://[2001:db8:2::1$i]/" "rs$i" || return 1
  done
}

wait_http() { # NS URL WANT
  local n got
  for ((n = 0; n < 120; n++)); do
    got=$(ip netns exec "$1" curl -sS --noproxy '*' --max-time 5 "$2" 2>/dev/null)
    [[ "$got" == "$3" ]] && return 0
    sleep 0.25
  done
  return 1
}

# fetch URL... : one curl process, one new connection per URL (the server closes each); one body per line.
fetch() {
  $C curl -sS --noproxy '*' --max-time 20 "$@" 2>&1
}

# fetch_n N URL
fetch_n() {
  local -a urls=()
  local i
  for ((i = 0; i < $1; i++)); do urls+=("$2"); done
  fetch "${urls[@]}"
}

count() { # WORD LINES -> how many lines equal WORD
  grep -cx "$1" <<<"$2"
}

# check_alternates NAME REPLIES: every reply from rs1/rs2, strictly alternating, both equally often.
check_alternates() { # NAME REPLIES
  local name=$1 replies=$2 prev="" r ok=1
  while read -r r; do
    [[ $r == rs1 || $r == rs2 ]] || ok=0
    [[ $r == "$prev" ]] && ok=0
    prev=$r
  done <<<"$replies"
  if ((ok)) && (($(count rs1 "$replies") == $(count rs2 "$replies"))); then
    pass "$name: $(wc -l <<<"$replies") requests alternate rs1/rs2"
  else
    fail "$name: replies do not alternate: $(tr '\n' ' ' <<<"$replies")"
  fi
}

# Configuration files: conf NAME <<EOF ... EOF writes $WORK/NAME.conf and prints its path.
conf() {
  cat >"$WORK/$1.conf"
  echo "$WORK/$1.conf"
}

vigil_ipvs() { $D "$BIN/vigil-ipvs" "$@"; }

# apply FILE [ARGS]: runs vigil-ipvs apply, keeps its output in $applied and the write count in $writes.
apply() {
  local file=$1; shift
  applied=$(vigil_ipvs apply -f "$file" "$@" 2>&1)
  applyStatus=$?
  writes=$(sed -n 's/^netlink writes: //p' <<<"$applied")
  [[ -n $writes ]] || writes=none
}

# The listing without trailing blanks (ipvsadm pads its last column).
listing() { $D ipvsadm -Ln "$@" | sed 's/ *$//'; }
vigilctl_listing() { $D "$BIN/vigilctl" ipvs "$@" | sed 's/ *$//'; }
has_line() { listing | grep -qE -- "$1"; }
# wait_listing PATTERN PRESENT(1|0) [SECONDS]: polls ipvsadm -Ln until a line matching PATTERN is there (1) or gone (0).
wait_listing() {
  local n limit=$((${3:-40} * 4))
  for ((n = 0; n < limit; n++)); do
    if has_line "$1"; then [[ $2 == 1 ]] && return 0; else [[ $2 == 0 ]] && return 0; fi
    sleep 0.25
  done
  return 1
}
all_from() { # NAME REPLIES: every reply came from NAME
  [[ -n $2 ]] && (($(count "$1" "$2") == $(wc -l <<<"$2")))
}

clear_ipvs() {
  $D ipvsadm -C
  $D iptables -t mangle -F
}

# conns_of SERVICE_ARGS -> "addr:port=N ..." from ipvsadm --stats, sorted
conns_of() {
  $D ipvsadm -Ln --stats "$@" | awk '$1 == "->" && $2 != "RemoteAddress:Port" {print $2 "=" $3}' | sort |
    tr '\n' ' '
}

# wait_conns WANT SERVICE_ARGS: the kernel's estimator folds counters in every 2 s, so poll.
wait_conns() {
  local want=$1 n; shift
  for ((n = 0; n < 30; n++)); do
    got=$(conns_of "$@")
    [[ "$got" == "$want" ]] && return 0
    sleep 0.5
  done
  return 1
}

# vigild in the director's namespace, its files in $WORK, its log appended to $WORK/vigild.log.
VIGILD_PID=
vigild_start() { # CONF [EXTRA ARGS]
  local file=$1; shift
  $D "$BIN/vigild" -n -l -f "$file" --control-socket "$WORK/control.sock" -p "$WORK/vigild.pid" \
    -c "$WORK/checkers.pid" -r "$WORK/vrrp.pid" "$@" >>"$WORK/vigild.log" 2>&1 &
  VIGILD_PID=$!
}
stop_vigild() {
  [[ -n $VIGILD_PID ]] || return 0
  kill "$VIGILD_PID" 2>/dev/null
  wait "$VIGILD_PID" 2>/dev/null
  VIGILD_PID=
}
wait_for() { # SECONDS COMMAND...: polls every $POLL seconds (0.25 unless set)
  local deadline=$((SECONDS + $1))
  until "${@:2}"; do
    ((SECONDS >= deadline)) && return 1
    sleep "${POLL:-0.25}"
  done
}
