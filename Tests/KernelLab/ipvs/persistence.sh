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
  # Without persistence the same mark alternates, which shows the check above means something.
  vigil_ipvs remove -f "$file" >/dev/null
  sed -i '/persistence_timeout/d' "$file"
  apply "$file"
  check_alternates "fwmark 8 without persistence" "$(fetch "${urls[@]}")"
  clear_ipvs
}
