#!/bin/bash
# Checker engine on the host kernel (no IPVS here): vigild -C checks a real server in a namespace, reports it
# up, down within keepalived's time bound after the web server is killed, up again after it restarts; the log
# says IPVS is unavailable while the checks go on. Also: log_all_failures logs every failed attempt (and only
# where asked), regex_min_offset/regex_max_offset decide where a regex match may start, rs_init_notifies runs
# notify_up for a real server that starts up, FILE_CHECK writes its track_file's init_file, smtp_alert on a
# virtual server mails its quorum changes and no_checker_emails keeps a checker's change from being mailed;
# lvs_notify_fifo_script reads lvs_notify_fifo's lines.
#
# Namespaces cke-dir (director, 198.51.100.1) and cke-rs (real server, 198.51.100.11, python3 http.server on 80).
# Uses ${VIGIL_BIN:-.build/debug}/vigild and vigilctl (builds nothing). Prints PASS/FAIL lines; exits non-zero
# on failure.
set -u
cd "$(dirname "$0")/../../.."
[ "$(id -u)" = 0 ] || { echo "FAIL: checker-engine needs root"; exit 1; }
BIN=${VIGIL_BIN:-.build/debug}
VIGILD=$BIN/vigild
VIGILCTL=$BIN/vigilctl
[ -x "$VIGILD" ] && [ -x "$VIGILCTL" ] || { echo "FAIL: $VIGILD or $VIGILCTL not built"; exit 1; }
TMP=$(mktemp -d /tmp/cke.XXXXXX)
. Tests/Namespaces/checker-engine/lib.sh

director_and_real_servers cke

web_start() {
    ip netns exec cke-rs python3 -m http.server 80 --bind 198.51.100.11 --directory "$TMP" >/dev/null 2>&1 &
    echo $! >"$TMP/web.daemon"
}
web_stop() {
    local pid
    pid=$(cat "$TMP/web.daemon")
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rm -f "$TMP/web.daemon"
}
echo hello >"$TMP/index.html"
# "OK" starts at byte 10.
printf 'xxxxxxxxxxOK-HERE\n' >"$TMP/offset.html"
web_start

# lvs_notify_fifo_script: the checker worker starts it with the FIFO's path as its last argument.
printf '#!/bin/sh\nexec cat "$1" >%s/fifo.out\n' "$TMP" >"$TMP/fifo-reader.sh"
chmod 0755 "$TMP/fifo-reader.sh"
cat >"$TMP/vigil.conf" <<CONF
global_defs {
    script_user root
    lvs_notify_fifo $TMP/fifo
    lvs_notify_fifo_script $TMP/fifo-reader.sh
    rs_init_notifies
    router_id cke
    smtp_server 198.51.100.11 2525
    notification_email {
        ops@example.com
    }
    notification_email_from vigil@example.com
    no_checker_emails
}
virtual_server 192.0.2.107 80 {
    delay_loop 1
    lb_kind DR
    smtp_alert
    real_server 198.51.100.11 80 {
        MISC_CHECK {
            misc_path "/usr/bin/test -f $TMP/a"
            warmup 0
        }
        MISC_CHECK {
            misc_path "/usr/bin/test -f $TMP/b"
            warmup 0
        }
    }
}
track_file tf {
    file $TMP/tf
    init_file 1
}
virtual_server 192.0.2.106 80 {
    delay_loop 1
    lb_kind DR
    real_server 198.51.100.11 80 {
        FILE_CHECK {
            track_file tf
            weight 0
        }
    }
}
CONF
# offset_vs ADDRESS MIN MAX: an HTTP_GET whose regex "OK" must start between bytes MIN and MAX of offset.html.
offset_vs() {
    cat >>"$TMP/vigil.conf" <<CONF
virtual_server $1 80 {
    delay_loop 1
    lb_kind DR
    real_server 198.51.100.11 80 {
        HTTP_GET {
            url {
                path /offset.html
                regex "OK"
                regex_min_offset $2
                regex_max_offset $3
            }
            connect_timeout 1
            retry 0
            warmup 0
        }
    }
}
CONF
}
offset_vs 192.0.2.103 10 10
offset_vs 192.0.2.104 11 100
offset_vs 192.0.2.105 0 9
cat >>"$TMP/vigil.conf" <<CONF
virtual_server 192.0.2.102 80 {
    delay_loop 1
    omega
    quorum_down "/bin/sh -c 'sleep 1; echo quorum_down >>$TMP/omega'"
    lb_kind DR
    protocol TCP
    real_server 198.51.100.11 80 {
        MISC_CHECK {
            misc_path "/usr/bin/test -f $TMP/up"
            misc_timeout 2
            warmup 0
        }
    }
}
virtual_server 192.0.2.100 80 {
    delay_loop 2
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 198.51.100.11 80 {
        notify_down "/bin/sh -c 'echo down >>$TMP/notified'"
        notify_up "/bin/sh -c 'echo up >>$TMP/notified'"
        TCP_CHECK {
            connect_timeout 1
            retry 2
            delay_before_retry 1
            warmup 0
            log_all_failures
        }
    }
}
virtual_server 192.0.2.101 80 {
    delay_loop 2
    lb_kind DR
    protocol TCP
    real_server 198.51.100.11 80 {
        HTTP_GET {
            url {
                path /index.html
                status_code 200
            }
            connect_timeout 1
            retry 2
            delay_before_retry 1
            warmup 0
        }
    }
}
CONF

touch "$TMP/up" "$TMP/a" "$TMP/b"
ip netns exec cke-rs python3 Tests/Namespaces/mailsink.py 198.51.100.11 2525 "$TMP/mail.out" \
    >"$TMP/mailsink.log" 2>&1 &
echo $! >"$TMP/mailsink.daemon"
for ((n = 0; n < 100; n++)); do [ -e "$TMP/mail.out.ready" ] && break; sleep 0.1; done
SOCK=$TMP/control.sock
ip netns exec cke-dir "$VIGILD" -n -l -C -f "$TMP/vigil.conf" --control-socket "$SOCK" -p "$TMP/vigild.pid" \
    -c "$TMP/checkers.pid" -r "$TMP/vrrp.pid" >"$TMP/vigild.log" 2>&1 &
echo $! >"$TMP/vigild.daemon"

# health VS: the health of the real server of virtual server VS ("192.0.2.100 80").
health() {
    "$VIGILCTL" status --json --control-socket "$SOCK" 2>/dev/null | python3 -c '
import json, sys
status = json.load(sys.stdin)
for worker in status.get("workers", []):
    for server in ((worker.get("state") or {}).get("virtualServers") or []):
        if server["name"] == sys.argv[1]:
            print(server["realServers"][0]["health"])
' "$1"
}

# wait_health VS STATE SECONDS: polls every 0.1 s; prints the seconds it took.
wait_health() {
    local start now
    start=$(date +%s.%N)
    while true; do
        [ "$(health "$1")" = "$2" ] && break
        now=$(date +%s.%N)
        if python3 -c "import sys; sys.exit(0 if $now - $start > $3 else 1)"; then return 1; fi
        sleep 0.1
    done
    now=$(date +%s.%N)
    python3 -c "print(round($now - $start, 2))" >"$TMP/elapsed"
}

# wait_for SECONDS COMMAND...: polls every 0.1 s until COMMAND succeeds.
wait_for() {
    local n
    for ((n = 0; n < $1 * 10; n++)); do
        "${@:2}" && return 0
        sleep 0.1
    done
    return 1
}

check "MISC_CHECK: real server reported up" wait_health "192.0.2.102 80" up 15
rm -f "$TMP/up"
check "MISC_CHECK: reported down when its program fails" wait_health "192.0.2.102 80" down 6
touch "$TMP/up"
check "MISC_CHECK: reported up when it succeeds again" wait_health "192.0.2.102 80" up 6
check "TCP_CHECK: real server reported up" wait_health "192.0.2.100 80" up 15
check "HTTP_GET: real server reported up" wait_health "192.0.2.101 80" up 15
check "regex starting at byte 10, offsets 10-10: up" wait_health "192.0.2.103 80" up 15
check "regex starting at byte 10, regex_min_offset 11: down" wait_health "192.0.2.104 80" down 15
check "regex starting at byte 10, regex_max_offset 9: down" wait_health "192.0.2.105 80" down 15
check "regex offsets 10-10 still up after the others went down" wait_health "192.0.2.103 80" up 1
# A missing file reads as 0 (up); init_file writes 1, which fails a FILE_CHECK of weight 0.
check "FILE_CHECK: init_file wrote 1 to the missing track file, real server down" wait_health "192.0.2.106 80" down 15
init_file_written() { [ "$(cat "$TMP/tf" 2>/dev/null)" = 1 ]; }
check "FILE_CHECK: the track file holds init_file's value" init_file_written

web_stop
# keepalived's bound: delay_loop + retry × (connect_timeout + delay_before_retry), plus 2 s of slack.
bound=$((2 + 2 * (1 + 1) + 2))
check "TCP_CHECK: killed web server reported down within ${bound} s" wait_health "192.0.2.100 80" down $bound
elapsed=$(cat "$TMP/elapsed" 2>/dev/null || echo 0)
echo "  time to down (TCP_CHECK): $elapsed s"
# Not faster than the retries allow: retry × delay_before_retry = 2 s (less 0.3 s for polling).
not_too_soon() { python3 -c "import sys; sys.exit(0 if $elapsed >= 1.7 else 1)"; }
check "TCP_CHECK: down no sooner than its 2 retries allow" not_too_soon
check "HTTP_GET: killed web server reported down within ${bound} s" wait_health "192.0.2.101 80" down $bound
web_start
check "TCP_CHECK: restarted web server reported up within 6 s" wait_health "192.0.2.100 80" up 6
check "HTTP_GET: restarted web server reported up within 6 s" wait_health "192.0.2.101 80" up 6

# rs_init_notifies: notify_up ran when the real server started up, before the down and up.
notified() { [ "$(tr '\n' ' ' <"$TMP/notified" 2>/dev/null)" = "up down up " ]; }
check "notify_up at start (rs_init_notifies), then notify_down and notify_up ran" notified
# log_all_failures: each of the 3 failed attempts (retry 2) of the TCP_CHECK is logged; none for the HTTP_GET.
all_failures() {
    local n
    for n in 1 2 3; do
        grep -q "RS 198.51.100.11:80 of 192.0.2.100:80: check failed (attempt $n of 3): " "$TMP/vigild.log" || return 1
    done
}
check "log_all_failures: every failed attempt of the TCP_CHECK logged" all_failures
only_where_asked() { ! grep -q "of 192.0.2.101:80: check failed" "$TMP/vigild.log"; }
check "log_all_failures: no attempt logged for the HTTP_GET without it" only_where_asked
fifo_lines() {
    grep -qx 'RS \[198.51.100.11\]:tcp:80 \[192.0.2.100\]:tcp:80 DOWN' "$TMP/fifo.out" &&
        grep -qx 'RS \[198.51.100.11\]:tcp:80 \[192.0.2.100\]:tcp:80 UP' "$TMP/fifo.out" &&
        grep -qx 'VS \[192.0.2.100\]:tcp:80 DOWN' "$TMP/fifo.out"
}
check "lvs_notify_fifo_script, started with the FIFO's path, reads the RS DOWN/UP and VS DOWN lines" fifo_lines
no_ipvs() { grep -q "IPVS is not available: modprobe ip_vs" "$TMP/vigild.log"; }
events() { grep -q "RS 198.51.100.11:80 of 192.0.2.100:80 DOWN (TCP_CHECK" "$TMP/vigild.log"; }
if [ -d /proc/net/ip_vs ] || grep -q ip_vs /proc/modules 2>/dev/null; then
    echo "SKIP: this kernel has IPVS; the unavailability message is not expected"
else
    check "the log says IPVS is unavailable" no_ipvs
fi
check "the log carries the DOWN event with its reason" events

# smtp_alert on a virtual server, no_checker_emails: 192.0.2.107's real server has two MISC_CHECKs. Failing the
# first takes it down (mails: the real server DOWN, the quorum lost); failing the second, then passing the first,
# changes one checker each while the real server stays down: logged, not mailed; passing both brings it up.
check "two MISC_CHECKs: real server up" wait_health "192.0.2.107 80" up 15
rm -f "$TMP/a"
check "first MISC_CHECK fails: real server down" wait_health "192.0.2.107 80" down 6
rm -f "$TMP/b"
stays_down() { grep -q "of 192.0.2.107:80: MISC_CHECK $1; the real server stays DOWN" "$TMP/vigild.log"; }
check "second MISC_CHECK fails while down: logged" wait_for 6 stays_down fails
touch "$TMP/a"
check "first MISC_CHECK passes again while down: logged" wait_for 6 stays_down passes
touch "$TMP/b"
check "both pass: real server up" wait_health "192.0.2.107 80" up 6
mailed() { grep -qxF "$1" "$TMP/mail.out" 2>/dev/null; }
check "smtp_alert: quorum lost mailed" wait_for 10 mailed 'Subject: [cke] Virtualserver [192.0.2.107]:tcp:80 - DOWN'
check "smtp_alert: the quorum mail carries keepalived's body" mailed '=> Lost quorum 1+0=1 <= 0 <='
check "smtp_alert: quorum gained mailed" wait_for 10 mailed 'Subject: [cke] Virtualserver [192.0.2.107]:tcp:80 - UP'
check "smtp_alert: real server DOWN mailed" \
    mailed 'Subject: [cke] Realserver [198.51.100.11]:tcp:80 of virtual server [192.0.2.107]:tcp:80 - DOWN'
check "smtp_alert: real server UP mailed" wait_for 10 \
    mailed 'Subject: [cke] Realserver [198.51.100.11]:tcp:80 of virtual server [192.0.2.107]:tcp:80 - UP'
rs_mails() { [ "$(grep -c 'Subject: \[cke\] Realserver .* of virtual server \[192.0.2.107\]' "$TMP/mail.out")" = 2 ]; }
check "no_checker_emails: only the real server's DOWN and UP mailed, not the checker changes" rs_mails

# quorum_down ran once when the MISC_CHECK server went down; omega runs it again at shutdown (quorum met).
quorum_downs() { grep -cx quorum_down "$TMP/omega" 2>/dev/null; }
once() { [ "$(quorum_downs)" = 1 ]; }
check "quorum_down ran when the quorum was lost" once
# The script takes 1 s; stop waits for it (at most 2 s), so it has written its line when vigild has exited.
vigild_pid=$(cat "$TMP/vigild.daemon")
kill "$vigild_pid" 2>/dev/null
wait "$vigild_pid" 2>/dev/null
rm -f "$TMP/vigild.daemon"
omega_ran() { [ "$(quorum_downs)" = 2 ]; }
check "omega: quorum_down ran at shutdown, finished before vigild exited" omega_ran
echo "checker-engine: $passed passed, $failed failed"
if [ "$failed" -ne 0 ]; then
    echo "--- vigild log (tail) ---"
    tail -40 "$TMP/vigild.log"
    exit 1
fi
