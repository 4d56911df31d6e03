# shellcheck shell=bash disable=SC2015,SC2154
# An IPv6 NAT service through 2001:db8::/32.
test_ipv6() {
  local file
  clear_ipvs
  file=$(conf v6 <<'CONF'
virtual_server 2001:db8:1::100 80 {
    lb_algo rr
    lb_kind NAT
    real_server 2001:db8:2::11 80 {
    }
    real_server 2001:db8:2::12 80 {
    }
}
CONF
)
  apply "$file"
  ((applyStatus == 0)) || fail "IPv6: apply failed: $applied"
  local want="TCP  [2001:db8:1::100]:80 rr
  -> [2001:db8:2::11]:80          Masq    1      0          0
  -> [2001:db8:2::12]:80          Masq    1      0          0"
  [[ "$(listing | tail -n +4)" == "$want" ]] && pass "IPv6: ipvsadm -Ln shows the config" ||
    fail "IPv6 listing: $(listing)"
  check_alternates "IPv6 NAT rr via [2001:db8:1::100]:80" "$(fetch_n 6 'http://[2001:db8:1::100]/')"
  apply "$file"
  [[ $writes == 0 ]] && pass "IPv6: second apply writes nothing" || fail "IPv6 second apply: $applied"
  clear_ipvs
}
