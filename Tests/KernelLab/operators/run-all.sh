#!/usr/bin/env bash
# Kernel-lab suite for the operators' interfaces (issue 17) on real IPVS, from the Debian package:
#   - dpkg -i of scripts/package's .deb (the VM's root is the host's under a tmpfs overlay: nothing reaches the
#     host's /usr); it starts nothing, and a keepalived running beside it (its own pid files) is never touched;
#   - vigild -v, man vigild, man vigilctl;
#   - /etc/init.d/vigil start, status, reload, stop, on ipvs/lib.sh's LVS-DR topology with metrics_listen;
#   - the metrics (curl in the VM: Prometheus is too heavy under TCG; Tests/Namespaces/operators runs a real one):
#     keepalived_lvs_vip_* and keepalived_lvs_rs_{in,out}_{packets,bytes} of the traffic curl sent through the VIP
#     (the service's counters the sums of its real servers'),
#     vigil_lvs_rs_* and vigil_ipvs_* series; the status page's real servers with their connections;
#   - dpkg -r leaves only the conffiles, dpkg -P nothing; keepalived still runs.
# The status page, status.json and metrics are kept in $ARTIFACTS (default /run/kernel-lab: KERNEL_LAB_KEEP=1 keeps
# them on the host).
#
# Run: scripts/package && Tests/KernelLab/kernel-lab run Tests/KernelLab/operators/run-all.sh [DEB]
set -uo pipefail

if [[ "${KERNEL_LAB:-}" != 1 && "${1:-}" != --force ]]; then
  echo "operators/run-all.sh: meant to run inside the kernel lab (or pass --force)" >&2
  exit 2
fi
[[ ${1:-} == --force ]] && shift

# shellcheck source=../ipvs/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../ipvs/lib.sh"
ROOT=$(cd "$HERE/../../.." && pwd)
DEB=${1:-$(ls -t "$ROOT"/.build/package/vigil_*.deb 2>/dev/null | head -n 1)}
ARTIFACTS=${ARTIFACTS:-/run/kernel-lab}
KEEPALIVED_PID=
# wait_until SECONDS COMMAND...: polls the command until it succeeds or the deadline passes (TCG is slow and loaded:
# generous deadlines, the assertion itself unchanged).
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.25
  done
}
trap '[[ -n $KEEPALIVED_PID ]] && kill "$KEEPALIVED_PID" 2>/dev/null; $D /etc/init.d/vigil stop >/dev/null 2>&1; cleanup' EXIT
[[ -f $DEB ]] || fatal "no package: run scripts/package first (or give the .deb)"

setup_topology || fatal "topology"
setup_dr_real_servers
start_servers || fatal "real servers"

# A keepalived of someone else's, running beside Vigil with its own files: nothing of Vigil's may touch it.
cat >"$WORK/keepalived.conf" <<'CONF'
vrrp_instance KA {
  state BACKUP
  interface c0
  virtual_router_id 77
  priority 50
  virtual_ipaddress {
    192.0.2.77/24
  }
}
CONF
$C keepalived -n -l -f "$WORK/keepalived.conf" -p "$WORK/ka.pid" -r "$WORK/ka-vrrp.pid" -c "$WORK/ka-check.pid" \
  >"$WORK/keepalived.log" 2>&1 &
KEEPALIVED_PID=$!
sleep 1
keepalived_alive() { kill -0 "$KEEPALIVED_PID" 2>/dev/null && [[ $(cat /proc/"$KEEPALIVED_PID"/comm) == keepalived ]]; }
check "a keepalived of its own runs beside (pid $KEEPALIVED_PID)" keepalived_alive

# Install.
dpkg -i "$DEB" >"$WORK/dpkg-i.log" 2>&1
check "dpkg -i $(basename "$DEB")" test $? == 0
version=$(vigild -v 2>&1)
check "vigild -v: $version" grep -q '^Vigil [0-9]' <<<"$version"
check "the package owns /usr/sbin/vigild, the unit, the init script, the man pages" \
  bash -c 'dpkg -L vigil | grep -qx /usr/sbin/vigild && dpkg -L vigil | grep -qx /lib/systemd/system/vigil.service &&
    dpkg -L vigil | grep -qx /etc/init.d/vigil && dpkg -L vigil | grep -qx /usr/share/man/man8/vigilctl.8.gz'
check "conffiles: /etc/init.d/vigil and /etc/default/vigil" \
  bash -c '[[ $(dpkg-query -W -f="\${Conffiles}" vigil | awk "{print \$1}" | sort | tr "\n" " ") == "/etc/default/vigil /etc/init.d/vigil " ]]'
check "installing started nothing" bash -c '! pgrep -x vigild >/dev/null'
man_page=$(MANPAGER=cat MANWIDTH=100 man vigild 2>/dev/null)
check "man vigild: the --metrics-listen option and the FILES section" \
  bash -c 'grep -q -- "--metrics-listen" <<<"$1" && grep -q "^FILES" <<<"$1"' _ "$man_page"
check "man vigilctl" bash -c 'MANPAGER=cat man vigilctl 2>/dev/null | grep -q "reload"'

# The init script, on the LVS-DR topology, with metrics on the director's loopback.
install -d /etc/keepalived
cat >/etc/keepalived/keepalived.conf <<'CONF'
global_defs {
  router_id lab-director
  metrics_listen 127.0.0.1:9165
}
virtual_server 192.0.2.100 80 {
  delay_loop 1
  lb_algo rr
  lb_kind DR
  protocol TCP
  real_server 198.51.100.11 80 {
    TCP_CHECK {
      connect_timeout 2
    }
  }
  real_server 198.51.100.12 80 {
    TCP_CHECK {
      connect_timeout 2
    }
  }
}
CONF
started=$($D /etc/init.d/vigil start 2>&1)
check "/etc/init.d/vigil start: $started" test $? == 0
check "/etc/init.d/vigil status" bash -c "$D /etc/init.d/vigil status >/dev/null"
both_in() { $D ipvsadm -Ln | grep -q '198.51.100.11:80' && $D ipvsadm -Ln | grep -q '198.51.100.12:80'; }
wait_until 60 both_in
check "both real servers in IPVS" both_in
replies=$(fetch_n 20 http://192.0.2.100/)
check "20 requests through the VIP reach both real servers" \
  bash -c '(( $(grep -cx rs1 <<<"$1") == 10 && $(grep -cx rs2 <<<"$1") == 10 ))' _ "$replies"

metrics() { $D curl -s --max-time 5 http://127.0.0.1:9165/metrics; }
sample() { metrics | grep -F "$1" | awk '{print $NF}'; }
rs1_packets='keepalived_lvs_rs_in_packets{vip="192.0.2.100:80",addr="198.51.100.11:80",proto="6"}'
# The checker reads the counters every 5 s (IPVSStatisticsReader.interval); the kernel folds them in at once for
# conns, packets and bytes. A reading that shows all 20 connections may still have been taken during the traffic:
# the snapshot kept is one read two periods later, after the last packet.
all_conns() { [[ $(sample 'keepalived_lvs_vip_conn{addr="192.0.2.100:80",proto="6"}') -ge 20 ]] 2>/dev/null; }
wait_until 60 all_conns
sleep 11
value=$(sample "$rs1_packets")
metrics >"$ARTIFACTS/metrics.txt"
check "keepalived_lvs_rs_in_packets of rs1 counts the requests' packets (${value:-none})" \
  bash -c '[[ -n $1 && $1 -ge 10 ]]' _ "${value:-}"
for family in keepalived_lvs_rs_out_packets keepalived_lvs_rs_in_bytes keepalived_lvs_rs_out_bytes keepalived_lvs_rs_conn \
  keepalived_lvs_vip_in_packets keepalived_lvs_vip_in_bytes keepalived_lvs_vip_conn vigil_lvs_rs_active_connections \
  vigil_lvs_rs_inactive_connections vigil_lvs_rs_weight; do
  check "$family series in /metrics" grep -q "^$family{" "$ARTIFACTS/metrics.txt"
done
conns=$(grep -F 'keepalived_lvs_vip_conn{addr="192.0.2.100:80",proto="6"}' "$ARTIFACTS/metrics.txt" | awk '{print $NF}')
check "keepalived_lvs_vip_conn counts the 20 connections ($conns)" test "${conns:-0}" -ge 20
# ipvs/lib.sh routes the real servers' replies back through the director (their default route): IPVS sees them
# and counts them as the real server's out packets.
check "keepalived_lvs_rs_out_packets of rs1 counts the replies routed back through the director" \
  grep -q '^keepalived_lvs_rs_out_packets{vip="192.0.2.100:80",addr="198.51.100.11:80",proto="6"} [1-9]' \
  "$ARTIFACTS/metrics.txt"
# The service's counters are its real servers' summed (the kernel keeps both): vip = rs1 + rs2, each counter.
sums_agree() {
  python3 - "$ARTIFACTS/metrics.txt" <<'PY'
import re, sys
vip, rs = {}, {}
for line in open(sys.argv[1]):
    m = re.match(r'keepalived_lvs_(vip|rs)_(in_packets|out_packets|in_bytes|out_bytes|conn)\{(.*)\} (\d+)$', line)
    if m and ('vip="192.0.2.100:80"' if m[1] == "rs" else 'addr="192.0.2.100:80"') in m[3]:
        (vip if m[1] == "vip" else rs).setdefault(m[2], []).append(int(m[4]))
bad = [k for k in vip if len(vip[k]) != 1 or len(rs.get(k, [])) != 2 or vip[k][0] != sum(rs[k])]
print(" ".join(f"{k}={vip[k]}/{rs.get(k)}" for k in sorted(vip)))
sys.exit(1 if bad or len(vip) != 5 else 0)
PY
}
check "keepalived_lvs_vip_* are the sums of keepalived_lvs_rs_* ($(sums_agree))" eval "sums_agree >/dev/null"
check "vigil_ipvs_available 1, vigil_ipvs_writes_total > 0" \
  bash -c 'grep -qx "vigil_ipvs_available 1" "$1" && grep -q "^vigil_ipvs_writes_total [1-9]" "$1"' _ \
  "$ARTIFACTS/metrics.txt"
$D curl -s --max-time 5 http://127.0.0.1:9165/ >"$ARTIFACTS/status-page.html"
$D curl -s --max-time 5 http://127.0.0.1:9165/status.json >"$ARTIFACTS/status.json"
check "the status page lists both real servers, up, with their connections" \
  bash -c 'grep -qE "<td>198.51.100.11 80</td><td><span class=\"s up\">up</span></td><td class=\"n\">1</td><td class=\"n\">[0-9]+</td><td class=\"n\">[0-9]+</td>" "$1" &&
    grep -qE "<td>198.51.100.12 80</td><td><span class=\"s up\">up</span>" "$1"' _ "$ARTIFACTS/status-page.html"

reloaded=$($D /etc/init.d/vigil reload 2>&1)
check "/etc/init.d/vigil reload: $reloaded" test $? == 0
reload_applied() { $D vigilctl status | grep -q 'last reload .* applied'; }
wait_until 60 reload_applied
check "vigilctl status reports the reload applied" reload_applied
check "keepalived is untouched by vigil's start and reload" keepalived_alive
stopped=$($D /etc/init.d/vigil stop 2>&1)
check "/etc/init.d/vigil stop: $stopped" test $? == 0
check "/etc/init.d/vigil status after stop: not running (3)" bash -c "$D /etc/init.d/vigil status >/dev/null; [[ \$? == 3 ]]"
service_gone() { ! $D ipvsadm -Ln | grep -q 192.0.2.100:80; }
wait_until 30 service_gone
check "stopping removed vigil's IPVS service" service_gone

# Remove, then purge.
dpkg -r vigil >"$WORK/dpkg-r.log" 2>&1
check "dpkg -r vigil" test $? == 0
check "dpkg -r: the binaries, unit and man pages are gone" \
  bash -c '[[ ! -e /usr/sbin/vigild && ! -e /usr/sbin/vigilctl && ! -e /lib/systemd/system/vigil.service &&
    ! -e /usr/share/man/man8/vigild.8.gz && ! -e /usr/share/doc/vigil/copyright ]]'
check "dpkg -r keeps the conffiles until purge" test -e /etc/default/vigil
dpkg -P vigil >"$WORK/dpkg-p.log" 2>&1
check "dpkg -P vigil leaves nothing of the package" \
  bash -c '[[ ! -e /etc/init.d/vigil && ! -e /etc/default/vigil ]] && ! dpkg -s vigil >/dev/null 2>&1'
check "keepalived still runs after vigil was installed, started, stopped and removed" keepalived_alive

summary
