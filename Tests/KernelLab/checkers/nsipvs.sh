# Sourced by checkers/run-all.sh (after syncd.sh): net_namespace_ipvs NAME. vigild and its health checks run in
# lab-d, IPVS (the services, the real servers, the sync daemon) in lab-ipvs, which cannot reach the real servers:
# a real server with weight 1 there was checked from lab-d, and one whose web server stops leaves lab-ipvs's table.

ip netns add lab-ipvs
ip -n lab-ipvs link set lo up
ip -n lab-ipvs link add s0 type veth peer name s1
ip -n lab-ipvs addr add 203.0.113.1/24 dev s0
ip -n lab-ipvs link set s1 up
ip -n lab-ipvs link set s0 up
I="ip netns exec lab-ipvs"
in_ipvs_ns() { $I ipvsadm -Ln | sed 's/ *$//' | grep -qE -- "$1"; }
both_in_ipvs_ns() { in_ipvs_ns '198\.51\.100\.11:80 +Route +1' && in_ipvs_ns '198\.51\.100\.12:80 +Route +1'; }
sync_in_ipvs_ns() { $I ipvsadm -L --daemon 2>/dev/null | grep -q 'master sync daemon (mcast=s0, syncid=8'; }
$D ipvsadm -C
vigild_start "$({
  printf 'net_namespace_ipvs lab-ipvs\nglobal_defs {\n    lvs_sync_daemon s0 id 8\n}\n'
  cat "$(check_conf nsipvs-vs DR "" "")"
} | conf nsipvs)" -C
check "net_namespace_ipvs: both real servers in lab-ipvs's IPVS, checked from lab-d" wait_for 40 both_in_ipvs_ns
check "net_namespace_ipvs: nothing in lab-d's IPVS" no_services
check "net_namespace_ipvs: the sync daemon runs in lab-ipvs, on its s0" wait_for 30 sync_in_ipvs_ns
web_stop 1
check "net_namespace_ipvs: rs1's web server stopped (the check in lab-d fails): it leaves lab-ipvs's table" \
  wait_for 40 eval "! in_ipvs_ns '198\.51\.100\.11:80'"
web_start 1 || fail "rs1 restart"
check "net_namespace_ipvs: rs1 back in lab-ipvs's table" wait_for 40 both_in_ipvs_ns
stop_vigild
check "net_namespace_ipvs: stopping vigild removes its service from lab-ipvs" \
  wait_for 10 eval "! in_ipvs_ns '192\.0\.2\.100:80'"
ip netns del lab-ipvs
