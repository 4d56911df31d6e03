# shellcheck shell=bash disable=SC2015,SC2154
# Real traffic through the VIP for NAT, DR and TUN; rr alternates, wrr 3:1 gives exactly 75/25 of 100.
rs_mode() { # nat | dr | tun: configure the real servers for a forwarding method
  local i ns
  for i in 1 2; do
    ns="ip netns exec lab-r$i"
    $ns ip addr flush dev lo scope global 2>/dev/null
    $ns ip link set tunl0 down 2>/dev/null
    $ns ip addr flush dev tunl0 2>/dev/null
    case $1 in
      dr)
        # keepalived's realserver.sh: the VIP on lo, no ARP for it.
        $ns sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
          net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2
        $ns ip addr add 192.0.2.100/32 dev lo
        ;;
      tun)
        $ns sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
        $ns ip link set tunl0 up || return 1
        $ns ip addr add 192.0.2.100/32 dev tunl0
        $ns sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.tunl0.rp_filter=0 \
          net.ipv4.conf.eth0.rp_filter=0
        ;;
    esac
  done
}

traffic_conf() { # NAME ALGO KIND W1 W2
  conf "$1" <<CONF
virtual_server 192.0.2.100 80 {
    lb_algo $2
    lb_kind $3
    protocol TCP
    real_server 198.51.100.11 80 {
        weight $4
    }
    real_server 198.51.100.12 80 {
        weight $5
    }
}
CONF
}

check_wrr() { # NAME
  local replies n1 n2
  replies=$(fetch_n 100 http://192.0.2.100/)
  n1=$(count rs1 "$replies")
  n2=$(count rs2 "$replies")
  if ((n1 == 75 && n2 == 25)); then
    pass "$1: wrr 3:1 over 100 requests gives rs1=75 rs2=25"
  else
    fail "$1: wrr 3:1 over 100 requests gives rs1=$n1 rs2=$n2: $(sort <<<"$replies" | uniq -c | tr '\n' ' ')"
  fi
}

test_traffic() {
  local kind mode
  for kind in NAT DR TUN; do
    mode=${kind,,}
    [[ $mode == nat ]] || rs_mode "$mode" || { fail "$kind: cannot set up the real servers"; continue; }
    clear_ipvs
    apply "$(traffic_conf "t-$mode-rr" rr "$kind" 1 1)"
    ((applyStatus == 0)) || fail "$kind rr: apply failed: $applied"
    check_alternates "$kind rr via 192.0.2.100:80" "$(fetch_n 10 http://192.0.2.100/)"
    apply "$(traffic_conf "t-$mode-wrr" wrr "$kind" 3 1)"
    if [[ $applyStatus == 0 && $writes == 2 ]]; then
      pass "$kind: rr 1:1 -> wrr 3:1 is 2 netlink writes (SET_SERVICE, SET_DEST of rs1)"
    else
      fail "$kind: rr -> wrr: status $applyStatus, $writes writes: $applied"
    fi
    check_wrr "$kind"
    if listing | grep -qE -- "-> 198\.51\.100\.11:80 +$( case $kind in NAT) echo Masq ;; DR) echo Route ;; TUN) echo Tunnel ;; esac) +3 "; then
      pass "$kind: the kernel forwards with the configured method"
    else
      fail "$kind: forwarding method not as configured: $(listing)"
    fi
  done
  rs_mode nat
  clear_ipvs
}
