#!/bin/bash
# Checkers end to end through vigild -C (host kernel, no IPVS): SSL_GET (openssl s_server demanding the client
# certificate of the top-level SSL { } block, whose key is password-protected), SMTP_CHECK, DNS_CHECK, UDP_CHECK
# (Python responders, servers.py), PING_CHECK (a second link taken down) and FILE_CHECK (track_file). Each real
# server is reported up in `vigilctl status --json`, down within keepalived's bound after its server stops, up
# again after it restarts.
#
# Namespaces ck2-dir (director: 198.51.100.1, 203.0.113.1) and ck2-rs (real servers: 198.51.100.11 on ck2-r0,
# 203.0.113.11 on ck2-r1). Uses ${VIGIL_BIN:-.build/debug}/vigild and vigilctl (builds nothing). Prints PASS/FAIL
# lines; exits non-zero on failure.
set -u
cd "$(dirname "$0")/../../.."
[ "$(id -u)" = 0 ] || { echo "FAIL: checker-protocols needs root"; exit 1; }
BIN=${VIGIL_BIN:-.build/debug}
VIGILD=$BIN/vigild
VIGILCTL=$BIN/vigilctl
SERVERS=$PWD/Tests/Namespaces/checker-protocols/servers.py
[ -x "$VIGILD" ] && [ -x "$VIGILCTL" ] || { echo "FAIL: $VIGILD or $VIGILCTL not built"; exit 1; }
command -v openssl >/dev/null || { echo "FAIL: openssl is not installed"; exit 1; }
TMP=$(mktemp -d /tmp/ck2.XXXXXX)
. Tests/Namespaces/checker-engine/lib.sh

director_and_real_servers ck2
director_link ck2 1 203.0.113.1/24 203.0.113.11/24

# TLS: the server's self-signed certificate; the client's, with its key encrypted under a password.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=ck2-server \
    -keyout "$TMP/server.key" -out "$TMP/server.pem" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -days 1 -subj /CN=ck2-client \
    -passout pass:ck2-secret -keyout "$TMP/client.key" -out "$TMP/client.pem" 2>/dev/null

# start NAME: starts one server in ck2-rs.
start() {
    rm -f "$TMP/ready.$1"
    case $1 in
    ssl)
        ip netns exec ck2-rs openssl s_server -accept 198.51.100.11:443 -cert "$TMP/server.pem" \
            -key "$TMP/server.key" -Verify 1 -CAfile "$TMP/client.pem" -www -quiet </dev/null >/dev/null 2>&1 &
        ;;
    smtp) ip netns exec ck2-rs python3 "$SERVERS" smtp 198.51.100.11 25 "$TMP/ready.smtp" >/dev/null 2>&1 & ;;
    dns) ip netns exec ck2-rs python3 "$SERVERS" dns 198.51.100.11 53 "$TMP/ready.dns" >/dev/null 2>&1 & ;;
    udp) ip netns exec ck2-rs python3 "$SERVERS" udp 198.51.100.11 7 "$TMP/ready.udp" >/dev/null 2>&1 & ;;
    ping)
        ip -n ck2-rs link set ck2-r1 up
        return
        ;;
    file)
        echo 0 >"$TMP/weight"
        return
        ;;
    esac
    echo $! >"$TMP/$1.daemon"
}
# ready_all: waits (≤ 30 s: Python starts slowly on a loaded machine) until every server listens.
ready_all() {
    local n
    for ((n = 0; n < 300; n++)); do
        [ -f "$TMP/ready.smtp" ] && [ -f "$TMP/ready.dns" ] && [ -f "$TMP/ready.udp" ] &&
            ip netns exec ck2-rs ss -ltnH 'sport = :443' | grep -q . && return 0
        sleep 0.1
    done
    return 1
}
# stop NAME: stops it (the PING_CHECK target's link goes down; the track file says 1).
stop() {
    case $1 in
    ping) ip -n ck2-rs link set ck2-r1 down ;;
    file) echo 1 >"$TMP/weight" ;;
    *)
        local pid
        pid=$(cat "$TMP/$1.daemon")
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        rm -f "$TMP/$1.daemon"
        ;;
    esac
}

KINDS="ssl smtp dns udp ping file"
declare -A VS=([ssl]="192.0.2.110 443" [smtp]="192.0.2.111 25" [dns]="192.0.2.112 53" [udp]="192.0.2.113 7"
    [ping]="192.0.2.114 80" [file]="192.0.2.115 80")
declare -A NAME=([ssl]=SSL_GET [smtp]=SMTP_CHECK [dns]=DNS_CHECK [udp]=UDP_CHECK [ping]=PING_CHECK
    [file]=FILE_CHECK)
for kind in $KINDS; do start $kind; done
check "the servers started" ready_all

# Every checker: delay_loop 1, connect_timeout 1, retry 1, delay_before_retry 1.
TIMING="connect_timeout 1
            retry 1
            delay_before_retry 1
            warmup 0"
cat >"$TMP/vigil.conf" <<CONF
SSL {
    ca $TMP/client.pem
    certificate $TMP/client.pem
    key $TMP/client.key
    password ck2-secret
}
track_file ck2-weight {
    file $TMP/weight
}
virtual_server 192.0.2.110 443 {
    delay_loop 1
    protocol TCP
    real_server 198.51.100.11 443 {
        SSL_GET {
            url {
                path /
                status_code 200
            }
            $TIMING
        }
    }
}
virtual_server 192.0.2.111 25 {
    delay_loop 1
    protocol TCP
    real_server 198.51.100.11 25 {
        SMTP_CHECK {
            helo_name ck2.example
            $TIMING
        }
    }
}
virtual_server 192.0.2.112 53 {
    delay_loop 1
    protocol UDP
    real_server 198.51.100.11 53 {
        DNS_CHECK {
            type A
            name www.example.com
            $TIMING
        }
    }
}
virtual_server 192.0.2.113 7 {
    delay_loop 1
    protocol UDP
    real_server 198.51.100.11 7 {
        UDP_CHECK {
            payload 63 6b 32
            require_reply 63 6b 32
            $TIMING
        }
    }
}
virtual_server 192.0.2.114 80 {
    delay_loop 1
    protocol TCP
    real_server 203.0.113.11 80 {
        PING_CHECK {
            $TIMING
        }
    }
}
virtual_server 192.0.2.115 80 {
    delay_loop 1
    protocol TCP
    real_server 198.51.100.11 80 {
        FILE_CHECK {
            track_file ck2-weight
            weight 0
        }
    }
}
CONF

SOCK=$TMP/control.sock
ip netns exec ck2-dir "$VIGILD" -n -l -C -f "$TMP/vigil.conf" --control-socket "$SOCK" -p "$TMP/vigild.pid" \
    -c "$TMP/checkers.pid" -r "$TMP/vrrp.pid" >"$TMP/vigild.log" 2>&1 &
echo $! >"$TMP/vigild.daemon"

# wait_all STATE SINCE BOUND: polls `vigilctl status --json` until every kind's real server is in STATE, at most
# BOUND s after SINCE (epoch seconds); writes each kind's seconds since SINCE to $TMP/at.KIND. One Python process
# does the polling, so a loaded machine does not slow it down.
wait_all() {
    local args=() kind
    for kind in $KINDS; do args+=("$kind=${VS[$kind]}"); done
    python3 - "$VIGILCTL" "$SOCK" "$TMP" "$1" "$2" "$3" "${args[@]}" <<'PY'
import json, os, subprocess, sys, time
vigilctl, sock, tmp, state, since, bound = sys.argv[1:7]
since, bound = float(since), float(bound)
wanted = dict(arg.split("=", 1) for arg in sys.argv[7:])
for kind in wanted:
    if os.path.exists(f"{tmp}/at.{kind}"):
        os.remove(f"{tmp}/at.{kind}")
reached = {}
while len(reached) < len(wanted) and time.time() - since <= bound:
    out = subprocess.run([vigilctl, "status", "--json", "--control-socket", sock], capture_output=True, text=True)
    now = time.time()
    try:
        status = json.loads(out.stdout)
    except ValueError:
        status = {}
    health = {}
    for worker in status.get("workers", []):
        for server in ((worker.get("state") or {}).get("virtualServers") or []):
            health[server["name"]] = server["realServers"][0]["health"]
    for kind, name in wanted.items():
        if kind not in reached and health.get(name) == state and now - since <= bound:
            reached[kind] = round(now - since, 2)
            with open(f"{tmp}/at.{kind}", "w") as f:
                print(reached[kind], file=f)
    time.sleep(0.1)
PY
}
reached() { [ -f "$TMP/at.$1" ]; }
not_too_soon() { python3 -c "import sys; sys.exit(0 if $(cat "$TMP/at.$1") >= $2 else 1)"; }

wait_all up "$(date +%s.%N)" 20
for kind in $KINDS; do check "${NAME[$kind]}: real server reported up" reached $kind; done

# keepalived's bound: delay_loop + (retry + 1) × connect_timeout + retry × delay_before_retry = 4 s, plus 4 s of
# slack for a loaded machine. FILE_CHECK reads the file every delay_loop and fails at once.
since=$(date +%s.%N)
for kind in $KINDS; do stop $kind; done
wait_all down "$since" 8
for kind in $KINDS; do
    check "${NAME[$kind]}: reported down within 8 s of its server stopping ($(cat "$TMP/at.$kind" 2>/dev/null || echo never) s)" reached $kind
done
# Not before the retry: one more attempt delay_before_retry (1 s) after the first failure (less 0.3 s of polling).
for kind in ssl smtp dns udp ping; do
    reached $kind && check "${NAME[$kind]}: down no sooner than its retry allows" not_too_soon $kind 0.7
done

for kind in $KINDS; do start $kind; done
ready_all
since=$(date +%s.%N)
wait_all up "$since" 8
for kind in $KINDS; do
    check "${NAME[$kind]}: reported up within 8 s of its server listening again ($(cat "$TMP/at.$kind" 2>/dev/null || echo never) s)" reached $kind
done

echo "checker-protocols: $passed passed, $failed failed"
if [ "$failed" -ne 0 ]; then
    echo "--- vigild log (tail) ---"
    tail -40 "$TMP/vigild.log"
    exit 1
fi
