# Sourced by run.sh: notify scripts, vrrp_notify_fifo and smtp_alert for a Vigil node in its own pair (vr2).
# Vigil (vr2-a, 192.0.2.1) runs two instances in sync group G1 alone on the bridge and becomes MASTER; a
# `cat` reads the FIFO, and a tiny SMTP server on 192.0.2.2:2525 in vr2-b records the mails.

vre_pair vr2
VR2=$VRE_TMP/vr2
mkdir -p "$VR2"
cat >"$VR2/group.sh" <<'EOF'
#!/bin/sh
echo "$@" >>"$(dirname "$0")/group.out"
EOF
chmod 755 "$VR2/group.sh"
ip netns exec vr2-b python3 Tests/Namespaces/mailsink.py 192.0.2.2 2525 "$VR2/mail.out" >"$VR2/smtp.log" 2>&1 &
echo $! >"$VRE_TMP/vr2-smtp.daemon"
vre_wait 10 test -e "$VR2/mail.out.ready" || echo "note: the SMTP server is slow to start"
mkfifo "$VR2/fifo"
cat "$VR2/fifo" >"$VR2/fifo.out" 2>/dev/null &
echo $! >"$VRE_TMP/vr2-fifo.daemon"
cat >"$VR2/a.conf" <<EOF
global_defs {
    router_id vr2-node
    vrrp_version 3
    vrrp_notify_fifo $VR2/fifo
    smtp_server 192.0.2.2 2525
    smtp_connect_timeout 5
    notification_email {
        ops@example.com
    }
    notification_email_from vigil@example.com
    smtp_alert_vrrp true
}
vrrp_sync_group G1 {
    group {
        VI_1
        VI_2
    }
    notify $VR2/group.sh
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 61
    priority 200
    advert_int 0.2
    notify_master "/usr/bin/touch $VR2/master.flag"
    virtual_ipaddress {
        192.0.2.100/24
    }
}
vrrp_instance VI_2 {
    state BACKUP
    interface eth0
    virtual_router_id 62
    priority 150
    advert_int 0.2
    virtual_ipaddress {
        192.0.2.101/24
    }
}
EOF
vre_start vigil vr2-a "$VR2/a.conf"
check "notify: Vigil alone becomes MASTER of both instances" vre_wait 4 eval 'vre_has vr2-a 192.0.2.100 && vre_has vr2-a 192.0.2.101'
check "notify: notify_master ran (it touched its file)" vre_wait 3 test -e "$VR2/master.flag"
check "notify: vrrp_notify_fifo has INSTANCE \"VI_1\" MASTER 200" \
    vre_wait 3 grep -qx 'INSTANCE "VI_1" MASTER 200' "$VR2/fifo.out"
check "notify: vrrp_notify_fifo has GROUP \"G1\" MASTER 0" vre_wait 3 grep -qx 'GROUP "G1" MASTER 0' "$VR2/fifo.out"
check "notify: the sync group's notify ran with GROUP G1 MASTER 0" \
    vre_wait 3 grep -qx 'GROUP G1 MASTER 0' "$VR2/group.out"
check "smtp_alert: mail 'Subject: [vr2-node] VRRP Instance VI_1 - Entering MASTER state' received" \
    vre_wait 5 grep -qx 'Subject: \[vr2-node\] VRRP Instance VI_1 - Entering MASTER state' "$VR2/mail.out"
check "smtp_alert: mail for the group entering MASTER received" \
    vre_wait 5 grep -qx 'Subject: \[vr2-node\] VRRP Group G1 - Entering MASTER state' "$VR2/mail.out"
vre_stop vr2-a
check "notify: stopping writes INSTANCE \"VI_1\" STOP to the FIFO" grep -qx 'INSTANCE "VI_1" STOP 200' "$VR2/fifo.out"

# track_file: the file's value (weight 1) is added to Vigil's priority 200; writing -150 drops it to 50, below
# keepalived's 100, which takes the VIP (the file is polled every second); 0 again lets Vigil preempt back.
vre_config "$VR2/a.conf" 3 ipv4 multicast 200 0 192.0.2.1 192.0.2.2 0.2
vre_insert "$VR2/a.conf" "track_file tf {
    file $VR2/track
    weight 1
    init_file 0 overwrite
}" "track_file {
        tf
    }"
vre_config "$VR2/b.conf" 3 ipv4 multicast 100 0 192.0.2.2 192.0.2.1 0.2
vre_start vigil vr2-a "$VR2/a.conf"
vre_start keepalived vr2-b "$VR2/b.conf"
check "track_file: Vigil (200) is master; init_file wrote 0" \
    eval 'vre_wait 4 vre_only vr2 192.0.2.100 a && grep -qx 0 "$VR2/track"'
echo -150 >"$VR2/track"
check "track_file: -150 written: keepalived (100) takes the VIP from Vigil (50)" vre_wait 4 vre_only vr2 192.0.2.100 b
echo 0 >"$VR2/track"
check "track_file: 0 written: Vigil preempts back" vre_wait 4 vre_only vr2 192.0.2.100 a
vre_stop vr2-a
vre_stop vr2-b
