# shellcheck shell=bash disable=SC2015,SC2154
# Every scheduler the 6.1 kernel has, applied from a config with vigil-ipvs: ipvsadm -Ln shows exactly what the
# config says, vigilctl ipvs shows the same, remove leaves nothing. "twos" (Linux 6.2+) fails naming itself.
test_schedulers() {
  local s flags file want got
  for s in rr wrr lc wlc lblc lblcr dh sh sed nq mh fo ovf; do
    flags=""
    case $s in sh) flags="sh-port" ;; mh) flags="mh-fallback" ;; esac
    file=$(conf "sched-$s" <<CONF
virtual_server 192.0.2.100 80 {
    lb_algo $s
    ${flags}
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.11 80 {
        weight 3
    }
    real_server 198.51.100.12 8080 {
        weight 1
    }
}
virtual_server fwmark 9 {
    lb_algo $s
    lb_kind DR
    persistence_timeout 120
    persistence_granularity 255.255.255.0
    real_server 198.51.100.11 {
        weight 2
    }
}
CONF
)
    apply "$file"
    if ((applyStatus != 0)); then
      fail "scheduler $s: vigil-ipvs apply failed: $applied"
      continue
    fi
    want="IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  192.0.2.100:80 $s${flags:+ ($flags)}
  -> 198.51.100.11:80             Masq    3      0          0
  -> 198.51.100.12:8080           Masq    1      0          0
FWM  9 $s persistent 120 mask 255.255.255.0
  -> 198.51.100.11:0              Route   2      0          0"
    got=$(listing)
    if [[ "$got" == "$want" && "$writes" == 5 ]]; then
      pass "scheduler $s: ipvsadm -Ln shows the config exactly (5 netlink writes)"
    else
      fail "scheduler $s: writes=$writes; ipvsadm -Ln differs from the config:"$'\n'"$(diff <(echo "$want") <(echo "$got"))"
    fi
    if [[ "$(vigilctl_listing)" == "$got" ]]; then
      pass "scheduler $s: vigilctl ipvs prints what ipvsadm -Ln prints"
    else
      fail "scheduler $s: vigilctl ipvs differs:"$'\n'"$(diff <(echo "$got") <(vigilctl_listing))"
    fi
    vigil_ipvs remove -f "$file" >/dev/null 2>&1
    got=$($D ipvsadm -Sn)
    if [[ -z $got ]]; then pass "scheduler $s: remove leaves no rules"; else fail "scheduler $s: left $got"; fi
  done

  file=$(conf sched-twos <<'CONF'
virtual_server 192.0.2.100 80 {
    lb_algo twos
    real_server 198.51.100.11 80 {
    }
}
CONF
)
  apply "$file"
  if ((applyStatus != 0)) && grep -q "scheduler 'twos' not available" <<<"$applied" &&
    [[ -z "$($D ipvsadm -Sn)" ]]; then
    pass "twos on $(uname -r): apply fails, naming the scheduler: $(grep error <<<"$applied")"
  else
    fail "twos: expected a failure naming the scheduler, got status $applyStatus: $applied"
  fi
  clear_ipvs
}
