# shellcheck shell=bash disable=SC2015,SC2154
# Persistence: per-port (PPC), per-client on an all-ports service (PCC), and by firewall mark.
same_server() { # NAME REPLIES: every reply from one real server
  local first
  first=$(head -n1 <<<"$2")
  if [[ $first == rs[12] ]] && (($(count "$first" "$2") == $(wc -l <<<"$2"))); then
    pass "$1: all $(wc -l <<<"$2") requests reached $first"
  else
    fail "$1: replies from more than one real server: $(tr '\n' ' ' <<<"$2")"
  fi
}

both_servers() { # NAME REPLIES: every reply from rs1 or rs2, and each answered at least 3 of them
  local rs1 rs2
  rs1=$(count rs1 "$2") || true
  rs2=$(count rs2 "$2") || true
  if ((rs1 >= 3 && rs2 >= 3 && rs1 + rs2 == $(wc -l <<<"$2"))); then
    pass "$1: $(wc -l <<<"$2") requests spread over rs1 ($rs1) and rs2 ($rs2)"
  else
    fail "$1: not spread over both real servers: $(tr '\n' ' ' <<<"$2")"
  fi
}

# persistent_conf NAME SERVICE REAL_PORT: rr over both real servers, NAT, persistence_timeout 300.
# SERVICE is what follows "virtual_server" ("192.0.2.100 80", "fwmark 8"); REAL_PORT may be empty.
persistent_conf() {
  conf "$1" <<CONF
virtual_server $2 {
    lb_algo rr
    lb_kind NAT
    persistence_timeout 300
    real_server 198.51.100.11 $3 {
    }
    real_server 198.51.100.12 $3 {
    }
}
CONF
}

test_persistence() {
  local file urls
  clear_ipvs
  apply "$(persistent_conf ppc "192.0.2.100 80" 80)"
  ((applyStatus == 0)) || fail "PPC: apply failed: $applied"
  same_server "PPC rr port 80 persistence_timeout 300" "$(fetch_n 10 http://192.0.2.100/)"
  listing | grep -q '^TCP  192.0.2.100:80 rr persistent 300$' && pass "PPC: ipvsadm shows persistent 300" ||
    fail "PPC: ipvsadm -Ln: $(listing)"

  clear_ipvs
  apply "$(persistent_conf pcc "192.0.2.101 0" 0)"
  ((applyStatus == 0)) || fail "PCC: apply failed: $applied"
  urls=()
  for _ in 1 2 3 4 5; do urls+=(http://192.0.2.101/ http://192.0.2.101:8080/); done
  same_server "PCC port-0 service: ports 80 and 8080 of one client" "$(fetch "${urls[@]}")"
  listing | grep -q '^TCP  192.0.2.101:0 rr persistent 300$' && pass "PCC: ipvsadm shows TCP 192.0.2.101:0 persistent" ||
    fail "PCC: ipvsadm -Ln: $(listing)"

  clear_ipvs
  $D iptables -t mangle -A PREROUTING -d 192.0.2.102/32 -p tcp -m multiport --dports 80,443 \
    -j MARK --set-mark 8 || fail "iptables -t mangle MARK failed"
  file=$(persistent_conf fwm "fwmark 8" "")
  apply "$file"
  ((applyStatus == 0)) || fail "fwmark: apply failed: $applied"
  urls=()
  for _ in 1 2 3 4 5; do urls+=(http://192.0.2.102/ http://192.0.2.102:443/); done
  same_server "fwmark 8 persistence: ports 80 and 443 of one client" "$(fetch "${urls[@]}")"
  # Without persistence the same client reaches both real servers, which shows the check above means
  # something. Strict alternation is not asked here: a connection of the persistent run above that is
  # still in IPVS's table (TIME_WAIT) can take one request to its old server unscheduled (seen once in CI:
  # rs2 rs1 rs1 rs2 rs1 rs2 rs1 rs2 rs1 rs2).
  vigil_ipvs remove -f "$file" >/dev/null
  sed -i '/persistence_timeout/d' "$file"
  apply "$file"
  both_servers "fwmark 8 without persistence" "$(fetch "${urls[@]}")"
  clear_ipvs
}
