# shellcheck shell=bash disable=SC2015,SC2154
# Every attribute Vigil encodes, read back from the real kernel: a second apply of the same config makes no
# writes only if each setting parses back to what was sent. Also multi-part dumps (hundreds of services and real
# servers), sync daemons and timeouts.
test_codec() {
  local file want got i
  clear_ipvs
  file=$(conf codec <<'CONF'
global_defs {
    lvs_sync_daemon d0 id 7 maxlen 1400 port 8850 ttl 2
    lvs_timeouts tcp 600 tcpfin 60 udp 200
}
virtual_server 192.0.2.100 53 {
    protocol UDP
    lb_algo sh
    sh-port
    sh-fallback
    ops
    real_server 198.51.100.11 53 {
        weight 7
        uthreshold 1000
        lthreshold 100
    }
}
virtual_server 192.0.2.100 5060 {
    protocol UDP
    lb_algo rr
    persistence_timeout 60
    persistence_engine sip
    real_server 198.51.100.11 5060 {
    }
}
virtual_server 2001:db8:1::100 443 {
    lb_algo wlc
    lb_kind TUN
    persistence_timeout 600
    persistence_granularity 64
    real_server 2001:db8:2::11 443 {
        lvs_method TUN type gue port 6080 csum
    }
    real_server 2001:db8:2::12 443 {
        lvs_method TUN type gre
    }
    real_server 2001:db8:2::13 443 {
        lvs_method TUN type gue port 6081 remcsum
    }
}
virtual_server fwmark 77 {
    ip_family inet6
    lb_algo mh
    mh-port
    lb_kind DR
    real_server 2001:db8:2::11 {
    }
}
virtual_server 192.0.2.101 9000 {
    protocol SCTP
    lb_algo lc
    real_server 198.51.100.12 9000 {
    }
}
CONF
)
  apply "$file"
  if ((applyStatus == 0)); then
    pass "apply every encoded setting: $writes writes"
  else
    fail "apply every encoded setting: $applied"
  fi
  apply "$file"
  [[ $applyStatus == 0 && $writes == 0 ]] &&
    pass "reapply: 0 writes (flags, persistence, pe sip, IPv6 granularity, tunnels, thresholds, sync, timeouts)" ||
    fail "reapply is not empty, some setting does not read back: $applied"
  got=$(listing)
  for want in '^UDP  192.0.2.100:53 sh \(sh-fallback,sh-port\) ops$' \
    '^UDP  192.0.2.100:5060 rr persistent 60 pe sip$' \
    '^TCP  \[2001:db8:1::100\]:443 wlc persistent 600 mask 64$' \
    '^FWM  77 IPv6 mh \(mh-port\)$' '^SCTP 192.0.2.101:9000 lc$' \
    '-> 198\.51\.100\.11:53 +Masq +7 '; do
    grep -qE -- "$want" <<<"$got" && pass "ipvsadm -Ln has /$want/" || fail "ipvsadm -Ln lacks /$want/:"$'\n'"$got"
  done
  [[ "$(vigilctl_listing)" == "$got" ]] && pass "vigilctl ipvs equals ipvsadm -Ln" ||
    fail "vigilctl ipvs differs:"$'\n'"$(diff <(echo "$got") <(vigilctl_listing))"
  $D ipvsadm -Ln --thresholds -u 192.0.2.100:53 | grep -qE -- '-> 198\.51\.100\.11:53 +1000 +100 ' &&
    pass "thresholds 1000/100 in the kernel" || fail "thresholds: $($D ipvsadm -Ln --thresholds -u 192.0.2.100:53)"
  got=$($D ipvsadm -Ln --tun-info -t '[2001:db8:1::100]:443' 2>&1)
  # ipvsadm's TunnelInfo column: TYPE[:PORT]:FLAGS with -c nocsum, +c csum, r+c remcsum.
  grep -qE -- '-> \[2001:db8:2::11\]:443 +Tunnel +gue:6080:\+c ' <<<"$got" &&
    grep -qE -- '-> \[2001:db8:2::12\]:443 +Tunnel +gre:-c ' <<<"$got" &&
    grep -qE -- '-> \[2001:db8:2::13\]:443 +Tunnel +gue:6081:r\+c ' <<<"$got" &&
    pass "tunnel type, port and checksum flags in the kernel" || fail "tunnel info:"$'\n'"$got"
  got=$($D ipvsadm -Ln --daemon)
  grep -q 'master sync daemon (mcast=d0, syncid=7' <<<"$got" && grep -q 'backup sync daemon (mcast=d0, syncid=7' <<<"$got" &&
    pass "sync daemons: master and backup on d0, syncid 7" || fail "sync daemons: $got"
  got=$($D ipvsadm -Ln --timeout)
  [[ $got == "Timeout (tcp tcpfin udp): 600 60 200" ]] && pass "timeouts 600 60 200" || fail "timeouts: $got"
  vigil_ipvs remove -f "$file" >/dev/null
  $D ipvsadm --stop-daemon master
  $D ipvsadm --stop-daemon backup
  clear_ipvs

  # Multi-part dumps: 250 services (a group range), and one service with 300 real servers.
  {
    echo "virtual_server_group MANY {"
    echo "    203.0.113.1-250 80"
    echo "}"
    echo "virtual_server group MANY {"
    echo "    lb_algo rr"
    echo "    real_server 198.51.100.11 80 {"
    echo "    }"
    echo "    real_server 198.51.100.12 80 {"
    echo "    }"
    echo "}"
    echo "virtual_server 192.0.2.102 80 {"
    for ((i = 0; i < 300; i++)); do
      echo "    real_server 198.51.$((101 + i / 250)).$((1 + i % 250)) 80 {"
      echo "    }"
    done
    echo "}"
  } >"$WORK/many.conf"
  apply "$WORK/many.conf"
  [[ $applyStatus == 0 && $writes == $((250 * 3 + 1 + 300)) ]] && pass "250 services and 300 real servers: $writes writes" ||
    fail "large apply: status $applyStatus, $writes writes: $(tail -n 3 <<<"$applied")"
  [[ $($D ipvsadm -Ln | grep -c '^TCP') == 251 && $($D ipvsadm -Ln | grep -c -- '-> [0-9]') == 800 ]] &&
    pass "the kernel lists 251 services and 800 real servers" || fail "kernel listing size"
  apply "$WORK/many.conf"
  [[ $applyStatus == 0 && $writes == 0 ]] && pass "reapply over multi-part dumps: 0 writes" ||
    fail "reapply of the large config: status $applyStatus, $writes writes: $(head -n 3 <<<"$applied")"
  [[ "$(vigilctl_listing)" == "$(listing)" ]] && pass "vigilctl ipvs equals ipvsadm -Ln for 251 services" ||
    fail "vigilctl ipvs differs on the large table"
  clear_ipvs
}
