#!/usr/bin/env bash
# Kernel-lab smoke test: real IPVS with real traffic, run inside the kernel-lab
# VM (Tests/KernelLab/kernel-lab run Tests/KernelLab/smoke.sh), with ipvsadm
# alone (no Vigil code): proves the lab itself before the IPVS suite runs.
#
# The namespace topology and helpers are ipvs/lib.sh's (documentation ranges
# only; every packet stays in namespaces this script creates).
#
# Prints one line per check and finally "N passed, N failed"; exits non-zero
# if any check failed.
set -uo pipefail

if [[ "${KERNEL_LAB:-}" != 1 && "${1:-}" != --force ]]; then
  echo "smoke.sh: meant to run inside the kernel lab:" >&2
  echo "  Tests/KernelLab/kernel-lab run Tests/KernelLab/smoke.sh   (or pass --force)" >&2
  exit 2
fi

# shellcheck source=ipvs/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/ipvs/lib.sh"
trap cleanup EXIT

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
start_servers || fatal "real servers did not come up: $(cat "$WORK"/rs*.log)"
pass "topology up: client, director, two real servers answering HTTP"

# IPv4, NAT, rr
$D ipvsadm -A -t 192.0.2.100:80 -s rr &&
$D ipvsadm -a -t 192.0.2.100:80 -r 198.51.100.11:80 -m -w 1 &&
$D ipvsadm -a -t 192.0.2.100:80 -r 198.51.100.12:80 -m -w 1 ||
  fail "ipvsadm: cannot create the IPv4 NAT service"
check_alternates "IPv4 NAT rr 192.0.2.100:80" "$(fetch_n 10 http://192.0.2.100/)"

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
check_alternates "IPv6 NAT rr [2001:db8:1::100]:80" "$(fetch_n 4 'http://[2001:db8:1::100]/')"

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

summary
