#!/usr/bin/env bash
# Kernel-lab suite for the checker worker on real IPVS: vigild -C (checkers only) on ipvs/lib.sh's topology.
#
# The seed's LVS-DR setup: VIP 192.0.2.100 on the director, lb_algo rr, lb_kind DR, two real servers with the
# VIP on lo (arp_ignore 1 / arp_announce 2) and TCP_CHECK on port 80. Both enter `ipvsadm -Ln`, curl through the
# VIP reaches both; a stopped web server leaves the table and every request goes to the other; restarted, it
# returns. Then inhibit_on_failure (weight 0), and quorum 2 whose loss brings in the sorry_server (NAT, a "sorry"
# web server on rs2:8080). Stopping vigild removes its services. lvs_flush removes a foreign service at start;
# lvs_flush_on_stop empties IPVS at stop, lvs_flush_on_stop VS only Vigil's services; lvs_sync_daemon with no
# virtual_server starts the sync daemons, as does keepalived's older lvs_sync_daemon_interface in a vrrp_instance
# (syncd.sh). net_namespace_ipvs puts the services and the sync daemon in another namespace than the checks (nsipvs.sh).
#
# Run: Tests/KernelLab/kernel-lab run --env VIGIL_BIN=$PWD/.build/debug Tests/KernelLab/checkers/run-all.sh
set -uo pipefail

if [[ "${KERNEL_LAB:-}" != 1 && "${1:-}" != --force ]]; then
  echo "checkers/run-all.sh: meant to run inside the kernel lab (or pass --force)" >&2
  exit 2
fi

# shellcheck source=../ipvs/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../ipvs/lib.sh"
trap 'stop_vigild; cleanup' EXIT

setup_topology || fatal "topology"
setup_dr_real_servers

web_start() { # N [NAME PORT]: rs N's web server (name rsN on port 80 unless told)
  local name=${2:-rs$1} port=${3:-80}
  ip netns exec "lab-r$1" "$PY" "$HERE/httpd.py" "$name" "$port" >"$WORK/$name.log" 2>&1 &
  echo $! >"$WORK/$name.pid"
  PIDS+=($!)
  wait_http lab-d "http://198.51.100.1$1:$port/" "$name"
}
web_stop() { kill "$(cat "$WORK/rs$1.pid")" 2>/dev/null; wait "$(cat "$WORK/rs$1.pid")" 2>/dev/null; }

web_start 1 || fatal "rs1 web server"
web_start 2 || fatal "rs2 web server"

check_conf() { # NAME LB_KIND EXTRA_VS EXTRA_RS1
  conf "$1" <<CONF
virtual_server 192.0.2.100 80 {
    delay_loop 1
    lb_algo rr
    lb_kind $2
    protocol TCP
    $3
    real_server 198.51.100.11 80 {
        $4
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
            warmup 0
        }
    }
    real_server 198.51.100.12 80 {
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
            warmup 0
        }
    }
}
CONF
}

# ---------------------------------------------------------------- DR ----
vigild_start "$(check_conf dr DR "" "")" -C
check "DR: both real servers in ipvsadm -Ln" wait_listing '198\.51\.100\.11:80 +Route +1' 1
check "DR: rs2 in ipvsadm -Ln" wait_listing '198\.51\.100\.12:80 +Route +1' 1
check_alternates "DR through the VIP" "$(fetch_n 4 http://192.0.2.100/)"
web_stop 1
check "DR: stopped rs1 leaves ipvsadm -Ln" wait_listing '198\.51\.100\.11:80' 0
check "DR: every request goes to rs2" all_from rs2 "$(fetch_n 4 http://192.0.2.100/)"
web_start 1 || fail "rs1 restart"
check "DR: restarted rs1 returns" wait_listing '198\.51\.100\.11:80 +Route +1' 1
check_alternates "DR after rs1 returned" "$(fetch_n 4 http://192.0.2.100/)"
stop_vigild
check "stopping vigild removes its service" wait_listing '192\.0\.2\.100:80' 0 10

# ------------------------------------------------- inhibit_on_failure ----
vigild_start "$(check_conf inhibit DR "" inhibit_on_failure)" -C
check "inhibit: rs1 in with weight 1" wait_listing '198\.51\.100\.11:80 +Route +1' 1
web_stop 1
check "inhibit: stopped rs1 stays with weight 0" wait_listing '198\.51\.100\.11:80 +Route +0' 1
check "inhibit: every request goes to rs2" all_from rs2 "$(fetch_n 4 http://192.0.2.100/)"
web_start 1 || fail "rs1 restart"
check "inhibit: restarted rs1 back to weight 1" wait_listing '198\.51\.100\.11:80 +Route +1' 1
stop_vigild

# ------------------------------------------------- quorum + sorry_server ----
web_start 2 sorry 8080 || fail "sorry web server"
vigild_start "$(check_conf quorum NAT "quorum 2
    sorry_server 198.51.100.12 8080" "")" -C
check "quorum: both real servers in (NAT)" wait_listing '198\.51\.100\.11:80 +Masq +1' 1
check "quorum: no sorry server while the quorum holds" wait_listing '198\.51\.100\.12:8080' 0 5
web_stop 1
check "quorum lost: the sorry server comes in" wait_listing '198\.51\.100\.12:8080 +Masq +1' 1
replies=$(fetch_n 4 http://192.0.2.100/)
check "quorum lost: requests reach the sorry server" grep -qx sorry <<<"$replies"
web_start 1 || fail "rs1 restart"
check "quorum back: the sorry server leaves" wait_listing '198\.51\.100\.12:8080' 0
stop_vigild

# ------------------------------------ lvs_flush, lvs_flush_on_stop ----
flush_conf() { # NAME GLOBAL_DEFS_LINES: check_conf's DR file behind a global_defs block
  local vs
  vs=$(check_conf "$1-vs" DR "" "")
  { printf 'global_defs {\n%s\n}\n' "$2"; cat "$vs"; } | conf "$1"
}
has_service() { listing | grep -qE "^TCP  $1 "; }
$D ipvsadm -A -t 192.0.2.101:80 -s rr
vigild_start "$(flush_conf flush-vs "lvs_flush_on_stop VS")" -C
check "no lvs_flush: Vigil's service comes in" wait_listing '198\.51\.100\.11:80 +Route +1' 1
check "no lvs_flush: the foreign service 192.0.2.101:80 stays" has_service '192\.0\.2\.101:80'
stop_vigild
check "lvs_flush_on_stop VS: Vigil's service removed at stop" wait_listing '192\.0\.2\.100:80' 0 10
check "lvs_flush_on_stop VS: the foreign service stays" has_service '192\.0\.2\.101:80'

vigild_start "$(flush_conf flush-all "lvs_flush
    lvs_flush_on_stop")" -C
check "lvs_flush: Vigil's service comes in" wait_listing '198\.51\.100\.11:80 +Route +1' 1
check "lvs_flush: the foreign service 192.0.2.101:80 was removed at start" wait_listing '192\.0\.2\.101:80' 0 10
$D ipvsadm -A -t 192.0.2.102:80 -s rr
check "a foreign service added while vigild runs stays" has_service '192\.0\.2\.102:80'
stop_vigild
no_services() { ! listing | grep -qE '^(TCP|UDP|FWM) '; }
check "lvs_flush_on_stop: IPVS empty after stop, the foreign service too" no_services

# shellcheck source=syncd.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/syncd.sh"
# shellcheck source=nsipvs.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/nsipvs.sh"

grep -q "IPVS is not available" "$WORK/vigild.log" && fail "vigild found no IPVS in the lab"
if ((failed)); then
  echo "--- ipvsadm -Ln ---"
  listing
  echo "--- vigild log (tail) ---"
  tail -30 "$WORK/vigild.log"
fi
summary
