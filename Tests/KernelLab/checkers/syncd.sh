# Sourced by checkers/run-all.sh (after ipvs/lib.sh and the topology): the IPVS sync daemons.

# ------------------------------------ lvs_sync_daemon, no virtual_server ----
$D ipvsadm -C
vigild_start "$(conf syncd <<CONF
global_defs {
    lvs_sync_daemon d0 id 7
}
CONF
)"
daemons() { $D ipvsadm -L --daemon 2>/dev/null; }
sync_daemons_up() { daemons | grep -q 'master sync daemon (mcast=d0, syncid=7' &&
  daemons | grep -q 'backup sync daemon (mcast=d0, syncid=7'; }
check "lvs_sync_daemon with no virtual_server: master and backup sync daemons run" wait_for 30 sync_daemons_up
stop_vigild

# ------------------------- lvs_sync_daemon_interface in a vrrp_instance ----
# keepalived's deprecated form of `lvs_sync_daemon d0 VI_SYNC`: the sync ID is the instance's VRID, and the instance,
# alone on d0 and so MASTER, runs the master sync daemon only.
vigild_start "$(conf syncd-instance <<CONF
vrrp_instance VI_SYNC {
    interface d0
    virtual_router_id 9
    priority 150
    virtual_ipaddress {
        192.0.2.150/32
    }
    lvs_sync_daemon_interface d0
}
CONF
)"
master_sync_only() { daemons | grep -q 'master sync daemon (mcast=d0, syncid=9' &&
  ! daemons | grep -q 'backup sync daemon'; }
check "lvs_sync_daemon_interface in vrrp_instance VI_SYNC (VRID 9), MASTER: the master sync daemon alone, syncid 9" \
  wait_for 60 master_sync_only
daemons
stop_vigild
