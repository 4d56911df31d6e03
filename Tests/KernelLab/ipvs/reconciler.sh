# shellcheck shell=bash disable=SC2015,SC2154
# The reconciler against the real kernel: a repeated apply writes nothing, one weight is one SET_DEST, rules
# already there are adopted and keep their connection counters.
#
# The kernel keeps a deleted real server in its trash for a while and revives it, counters included, when the
# same one is added again; so the counter checks compare before and after rather than with fixed numbers.
settled_conns() { # SERVICE_ARGS: counters after the 2 s estimator has folded them in
  sleep 2.5
  conns_of "$@"
}

total() { # "a=N b=M " -> N+M
  local sum=0 field
  for field in $1; do sum=$((sum + ${field#*=})); done
  echo "$sum"
}

test_reconciler() {
  local file before after
  clear_ipvs
  file=$(traffic_conf rec rr NAT 1 1)
  apply "$file"
  [[ $applyStatus == 0 && $writes == 3 ]] && pass "first apply: 3 netlink writes" ||
    fail "first apply: status $applyStatus, writes $writes: $applied"
  before=$(settled_conns -t 192.0.2.100:80)
  fetch_n 6 http://192.0.2.100/ >/dev/null
  after=$(settled_conns -t 192.0.2.100:80)
  (($(total "$after") == $(total "$before") + 6)) && pass "6 requests counted: $after" ||
    fail "stats: before $before, after $after"
  apply "$file"
  [[ $applyStatus == 0 && $writes == 0 ]] && pass "second apply of the same config: 0 netlink writes" ||
    fail "second apply: status $applyStatus, writes $writes: $applied"
  [[ "$(settled_conns -t 192.0.2.100:80)" == "$after" ]] && pass "connection counters survive the second apply" ||
    fail "counters after the second apply: $(conns_of -t 192.0.2.100:80), before: $after"

  apply "$(traffic_conf rec2 rr NAT 1 5)"
  if [[ $applyStatus == 0 && $writes == 1 ]] &&
    grep -qx 'updating real server 198.51.100.12:80 in TCP 192.0.2.100:80' <<<"$applied"; then
    pass "one weight changed: exactly 1 netlink write (SET_DEST)"
  else
    fail "weight change: status $applyStatus, writes $writes: $applied"
  fi
  listing | grep -qE -- '-> 198\.51\.100\.12:80 +Masq +5 ' && pass "the kernel has weight 5" ||
    fail "weight not changed: $(listing)"
  [[ "$(conns_of -t 192.0.2.100:80)" == "$after" ]] && pass "counters survive the weight change" ||
    fail "counters after the weight change: $(conns_of -t 192.0.2.100:80), before: $after"

  # Rules a previous run (or an operator) left: adopted, not re-created.
  clear_ipvs
  $D ipvsadm -A -t 192.0.2.100:80 -s wlc
  $D ipvsadm -a -t 192.0.2.100:80 -r 198.51.100.11:80 -m -w 1
  $D ipvsadm -a -t 192.0.2.100:80 -r 198.51.100.12:80 -m -w 1
  $D ipvsadm -A -t 192.0.2.101:80 -s rr
  fetch_n 4 http://192.0.2.100/ >/dev/null
  $D ipvsadm -a -t 192.0.2.100:80 -r 198.51.100.13:80 -m -w 1
  before=$(settled_conns -t 192.0.2.100:80)
  apply "$file"
  if [[ $applyStatus == 0 && $writes == 2 ]] &&
    grep -qx 'updating virtual server TCP 192.0.2.100:80' <<<"$applied" &&
    grep -qx 'removing real server 198.51.100.13:80 from TCP 192.0.2.100:80' <<<"$applied"; then
    pass "adopting ipvsadm's rules: 2 writes (scheduler wlc -> rr, unconfigured real server removed)"
  else
    fail "adoption: status $applyStatus, writes $writes: $applied"
  fi
  after=$(settled_conns -t 192.0.2.100:80)
  [[ "$after 198.51.100.13:80=0 " == *"$after"* && "$before" == "${after}198.51.100.13:80=0 " ]] &&
    pass "adopted real servers keep their counters ($after)" ||
    fail "adopted counters: before $before, after $after"
  listing | grep -q '^TCP  192.0.2.101:80 rr$' && pass "a service the config does not name is left alone" ||
    fail "foreign service touched: $(listing)"
  apply "$file" --flush-foreign
  [[ $writes == 1 ]] && ! listing | grep -q 192.0.2.101 && pass "--flush-foreign removes it (1 write)" ||
    fail "--flush-foreign: $applied"
  vigil_ipvs remove -f "$file" >/dev/null
  [[ -z "$($D ipvsadm -Sn)" ]] && pass "remove: nothing left" || fail "remove left: $($D ipvsadm -Sn)"
  clear_ipvs
}
