#!/usr/bin/env bash
# Kernel-lab smoke test: real IPVS with real traffic, run inside the kernel-lab
# VM (Tests/KernelLab/kernel-lab run Tests/KernelLab/smoke.sh).
#
# Topology (all inside namespaces this script creates; documentation ranges
# only):
#
#   netns lab-c (client)             netns lab-d (director, IPVS)          netns lab-r1 / lab-r2
#   c0 192.0.2.10/24         <->     d0 192.0.2.1/24                        eth0 198.51.100.11/.12
#      2001:db8:1::10/64                2001:db8:1::1/64                         2001:db8:2::11/::12
#                                    VIPs 192.0.2.100, 192.0.2.101,         gateway .1 / ::1
#                                         2001:db8:1::100
#                                    br0 198.51.100.1/24 <-> veths <->
#                                        2001:db8:2::1/64
#
# Prints one line per check and finally "N passed, N failed"; exits non-zero
# if any check failed.
set -uo pipefail

if [[ "${KERNEL_LAB:-}" != 1 && "${1:-}" != --force ]]; then
  echo "smoke.sh: meant to run inside the kernel lab:" >&2
  echo "  Tests/KernelLab/kernel-lab run Tests/KernelLab/smoke.sh   (or pass --force)" >&2
  exit 2
fi

PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)

passed=0
failed=0
failures=()
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); failures+=("$*"); echo "FAIL: $*"; }

D="ip netns exec lab-d"
C="ip netns exec lab-c"
WORK=$(mktemp -d /tmp/smoke.XXXXXX)
PIDS=()

cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  for ns in lab-c lab-d lab-r1 lab-r2; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

fatal() {
  echo "FATAL: $*"
  failed=$((failed + 1))
  echo "$passed passed, $failed failed"
  exit 1
}

# ----------------------------------------------------------- topology ----
setup_topology() {
  local ns
  for ns in lab-c lab-d lab-r1 lab-r2; do
    ip netns add "$ns" || return 1
    ip -n "$ns" link set lo up || return 1
  done
  # client <-> director
  ip link add c0 netns lab-c type veth peer name d0 netns lab-d || return 1
  ip -n lab-c addr add 192.0.2.10/24 dev c0
  ip -n lab-c addr add 2001:db8:1::10/64 dev c0 nodad
  ip -n lab-c link set c0 up
  ip -n lab-d addr add 192.0.2.1/24 dev d0
  ip -n lab-d addr add 192.0.2.100/32 dev d0
  ip -n lab-d addr add 192.0.2.101/32 dev d0
  ip -n lab-d addr add 2001:db8:1::1/64 dev d0 nodad
  ip -n lab-d addr add 2001:db8:1::100/128 dev d0 nodad
  ip -n lab-d link set d0 up
  # director bridge <-> real servers
  ip -n lab-d link add br0 type bridge || return 1
  ip -n lab-d addr add 198.51.100.1/24 dev br0
  ip -n lab-d addr add 2001:db8:2::1/64 dev br0 nodad
  ip -n lab-d link set br0 up
  local i
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
  return 0
}

start_server() {
  local i=$1 dir=$WORK/rs$1
  mkdir -p "$dir"
  echo "rs$i" > "$dir/index.html"
  ip netns exec "lab-r$i" "$PY" -m http.server 80 --bind :: --directory "$dir" \
    > "$WORK/rs$i.log" 2>&1 &
  PIDS+=($!)
}

wait_http() { # ns url want
  local ns=$1 url=$2 want=$3 n got
  for ((n = 0; n < 120; n++)); do
    got=$(ip netns exec "$ns" curl -sS --noproxy '*' --max-time 5 "$url" 2>/dev/null)
    [[ "$got" == "$want" ]] && return 0
    sleep 0.5
  done
  return 1
}

# fetch N URL -> prints one body per line (or ERR)
fetch_n() {
  local n=$1 url=$2 i body
  for ((i = 0; i < n; i++)); do
    body=$($C curl -sS --noproxy '*' --max-time 5 "$url" 2>/dev/null) || body=ERR
    echo "${body:-EMPTY}"
  done
}

# check_alternates NAME BODIES...: every reply from rs1/rs2, strictly
# alternating, both seen equally often.
check_alternates() {
  local name=$1; shift
  local -a got=("$@")
  local i ok=1 c1=0 c2=0
  for ((i = 0; i < ${#got[@]}; i++)); do
    case ${got[$i]} in rs1) c1=$((c1 + 1)) ;; rs2) c2=$((c2 + 1)) ;; *) ok=0 ;; esac
    if ((i > 0)) && [[ "${got[$i]}" == "${got[$((i - 1))]}" ]]; then ok=0; fi
  done
  ((c1 == c2)) || ok=0
  if ((ok)); then pass "$name: ${#got[@]} requests alternate (${got[*]})"
  else fail "$name: replies do not alternate rs1/rs2: ${got[*]}"; fi
}

echo "kernel $(uname -r); $(ipvsadm --version 2>&1 | head -n1)"

# ------------------------------------------------ scheduler modules ----
# In the VM's root namespace, which has no other services.
for s in rr wrr lc wlc lblc lblcr dh sh sed nq mh fo ovf; do
  if err=$(ipvsadm -A -t 192.0.2.100:80 -s "$s" 2>&1); then
    if ipvsadm -Ln | grep -qE "^TCP +192\.0\.2\.100:80 +$s( |$)"; then
      pass "scheduler $s"
    else
      fail "scheduler $s: service added but not listed as $s"
    fi
    ipvsadm -D -t 192.0.2.100:80 || fail "scheduler $s: cannot delete service"
  else
    fail "scheduler $s: $err"
  fi
done

# ---------------------------------------------------- real traffic ----
setup_topology || fatal "could not build the namespace topology"
start_server 1
start_server 2
wait_http lab-d http://198.51.100.11/ rs1 || fatal "real server rs1 did not come up: $(cat "$WORK/rs1.log")"
wait_http lab-d http://198.51.100.12/ rs2 || fatal "real server rs2 did not come up: $(cat "$WORK/rs2.log")"
wait_http lab-d 'http://[2001:db8:2::11]/' rs1 || fatal "rs1 not reachable over IPv6"
wait_http lab-d 'http://[2001:db8:2::12]/' rs2 || fatal "rs2 not reachable over IPv6"
pass "topology up: client, director, two real servers answering HTTP"

# IPv4, NAT, rr
$D ipvsadm -A -t 192.0.2.100:80 -s rr &&
$D ipvsadm -a -t 192.0.2.100:80 -r 198.51.100.11:80 -m -w 1 &&
$D ipvsadm -a -t 192.0.2.100:80 -r 198.51.100.12:80 -m -w 1 ||
  fail "ipvsadm: cannot create the IPv4 NAT service"
mapfile -t replies < <(fetch_n 10 http://192.0.2.100/)
check_alternates "IPv4 NAT rr 192.0.2.100:80" "${replies[@]}"

listing=$($D ipvsadm -Ln)
if grep -qE '^TCP +192\.0\.2\.100:80 rr' <<<"$listing" &&
   grep -qE -- '-> 198\.51\.100\.11:80 +Masq +1 ' <<<"$listing" &&
   grep -qE -- '-> 198\.51\.100\.12:80 +Masq +1 ' <<<"$listing"; then
  pass "ipvsadm -Ln shows the service and both Masq real servers"
else
  fail "ipvsadm -Ln does not show the expected service:"$'\n'"$listing"
fi
echo "$listing"

# The kernel folds its per-CPU counters into these stats every 2 s (the rate
# estimator), so poll for a few seconds.
for ((n = 0; n < 20; n++)); do
  stats=$($D ipvsadm -Ln --stats -t 192.0.2.100:80)
  conns=$(awk '$1 == "->" && $2 ~ /^198\.51\.100\./ {print $2 "=" $3}' <<<"$stats" | sort | tr '\n' ' ')
  [[ "$conns" == "198.51.100.11:80=5 198.51.100.12:80=5 " ]] && break
  sleep 0.5
done
if [[ "$conns" == "198.51.100.11:80=5 198.51.100.12:80=5 " ]]; then
  pass "IPVS stats count 5 connections per real server"
else
  fail "IPVS stats: expected 5 connections each, got: $conns"
fi

# IPv6, NAT, rr
$D ipvsadm -A -t '[2001:db8:1::100]:80' -s rr &&
$D ipvsadm -a -t '[2001:db8:1::100]:80' -r '[2001:db8:2::11]:80' -m &&
$D ipvsadm -a -t '[2001:db8:1::100]:80' -r '[2001:db8:2::12]:80' -m ||
  fail "ipvsadm: cannot create the IPv6 NAT service"
mapfile -t replies < <(fetch_n 4 'http://[2001:db8:1::100]/')
check_alternates "IPv6 NAT rr [2001:db8:1::100]:80" "${replies[@]}"

# fwmark service: iptables mangle MARK + wrr 2:1
if $D iptables -t mangle -A PREROUTING -d 192.0.2.101/32 -p tcp --dport 80 \
     -j MARK --set-mark 7 2>"$WORK/ipt.err"; then
  $D ipvsadm -A -f 7 -s wrr &&
  $D ipvsadm -a -f 7 -r 198.51.100.11 -m -w 2 &&
  $D ipvsadm -a -f 7 -r 198.51.100.12 -m -w 1 ||
    fail "ipvsadm: cannot create the fwmark service"
  mapfile -t replies < <(fetch_n 6 http://192.0.2.101/)
  n1=0; n2=0
  for r in "${replies[@]}"; do
    case $r in rs1) n1=$((n1 + 1)) ;; rs2) n2=$((n2 + 1)) ;; esac
  done
  if ((n1 == 4 && n2 == 2)); then
    pass "fwmark 7 (iptables -t mangle MARK) wrr 2:1: ${replies[*]}"
  else
    fail "fwmark 7 wrr 2:1: expected 4 x rs1 and 2 x rs2, got: ${replies[*]}"
  fi
else
  fail "iptables -t mangle ... -j MARK: $(cat "$WORK/ipt.err")"
fi

# Removing a real server takes it out of rotation.
$D ipvsadm -d -t 192.0.2.100:80 -r 198.51.100.12:80 || fail "ipvsadm -d failed"
mapfile -t replies < <(fetch_n 3 http://192.0.2.100/)
if [[ "${replies[*]}" == "rs1 rs1 rs1" ]]; then
  pass "after ipvsadm -d of rs2, all requests go to rs1"
else
  fail "after ipvsadm -d of rs2: ${replies[*]}"
fi

$D ipvsadm -C || fail "ipvsadm -C failed"
if [[ -z "$($D ipvsadm -Sn)" ]]; then
  pass "ipvsadm -C clears every service"
else
  fail "ipvsadm -C left services behind: $($D ipvsadm -Sn)"
fi

if ((failed)); then
  echo "failed checks:"
  printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
((failed == 0))
