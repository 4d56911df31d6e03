# vrrp_track_process (sourced by run.sh): a process tracked through the kernel's process connector. The tracked
# process is a copy of sleep under a name of its own (vk-trackd), started and killed here by its pid.
# - In a sync group with weight 0: both members start FAULT while it is not running, go MASTER when it starts,
#   FAULT when it is killed, MASTER when it runs again.
# - On an instance with a weight and full_command parameters, against keepalived: killing it lowers Vigil's
#   priority below keepalived's (keepalived takes the VIP); the same program with other parameters changes
#   nothing; with the right ones Vigil preempts back.
# vigild runs in a network namespace; the connector lives in the initial one, which Vigil reaches itself.

tp=vtp
vre_pair "$tp"
cp /bin/sleep "$VRE_TMP/vk-trackd"

# tp_run ARGUMENTS...: starts the tracked program (killed by vre_cleanup if the suite stops early).
tp_run() {
    "$VRE_TMP/vk-trackd" "$@" &
    echo $! >"$VRE_TMP/tp-process.daemon"
}
tp_kill() { vre_stop tp-process KILL; }
tp_status() { "$(dirname "$VIGILD")/vigilctl" status --control-socket "$VRE_TMP/$tp-a.ctl" 2>/dev/null; }
tp_both() { vre_has "$tp-a" 192.0.2.100 && vre_has "$tp-a" 192.0.2.101; }
tp_none() { ! vre_has "$tp-a" 192.0.2.100 && ! vre_has "$tp-a" 192.0.2.101; }
tp_faults() { [ "$(tp_status | grep -cE 'vrrp_instance VI_[12]: FAULT')" = 2 ]; }

vre_config "$VRE_TMP/tp.conf" 3 ipv4 multicast 200 0 192.0.2.1 192.0.2.2 0.2
python3 - "$VRE_TMP/tp.conf" <<'EOF'
import sys
path = sys.argv[1]
text = open(path).read()
second = text[text.index("vrrp_instance VI_1"):].replace("VI_1", "VI_2").replace("virtual_router_id 51",
    "virtual_router_id 52").replace("192.0.2.100/24", "192.0.2.101/24")
group = """
vrrp_track_process trackd {
    process vk-trackd
}
vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
    track_process {
        trackd
    }
}
"""
open(path, "w").write(text + second + group)
EOF
vre_start vigil "$tp-a" "$VRE_TMP/tp.conf"
check "track_process: vigild -t accepts vrrp_track_process without a warning" eval \
    "! '$VIGILD' -t -f '$VRE_TMP/tp.conf' 2>&1 | grep -q 'track_process'"
check "track_process: not running at start: both members FAULT" vre_wait 4 tp_faults
sleep 1
check "track_process: not running at start: no VIP after 1 s" tp_none
tp_run 1000
check "track_process: the process starts: both members MASTER" vre_wait 4 tp_both
tp_kill
check "track_process: the process is killed: both members release their VIPs within 1 s" vre_wait 1 tp_none
check "track_process: vigilctl status shows both FAULT" tp_faults
tp_run 1000
check "track_process: the process runs again: both MASTER" vre_wait 4 tp_both
check "track_process: events come from the process connector (no /proc polling fallback in the log)" eval \
    "! grep -q 'counting /proc once a second' '$VRE_TMP/$tp-a.log'"
vre_stop "$tp-a"
tp_kill

# Weighted, with full_command parameters, against keepalived.
VRE_EXTRA="track_process {
        trackw weight -150
    }" vre_config "$VRE_TMP/tp.conf" 3 ipv4 multicast 200 0 192.0.2.1 192.0.2.2 0.2
cat >>"$VRE_TMP/tp.conf" <<EOF
vrrp_track_process trackw {
    process $VRE_TMP/vk-trackd 1000
}
EOF
vre_config "$VRE_TMP/tpk.conf" 3 ipv4 multicast 100 0 192.0.2.2 192.0.2.1 0.2
tp_run 1000
vre_start vigil "$tp-a" "$VRE_TMP/tp.conf"
vre_start keepalived "$tp-b" "$VRE_TMP/tpk.conf"
check "track_process weight: running: Vigil (200) is master" vre_wait 6 vre_only "$tp" 192.0.2.100 a
tp_kill
check "track_process weight -150: killed: keepalived (100) takes the VIP from Vigil (50)" \
    vre_wait 3 vre_only "$tp" 192.0.2.100 b
check "track_process weight: vigilctl shows BACKUP at priority 50" eval "tp_status | grep -q 'VI_1: BACKUP, priority 50 (configured 200)'"
tp_run 999
sleep 1.5
check "track_process weight: other parameters (999) do not match: keepalived keeps the VIP" \
    vre_only "$tp" 192.0.2.100 b
tp_kill
tp_run 1000
check "track_process weight: running again with 1000: Vigil preempts back" vre_wait 3 vre_only "$tp" 192.0.2.100 a
vre_stop "$tp-a"
vre_stop "$tp-b"
tp_kill
