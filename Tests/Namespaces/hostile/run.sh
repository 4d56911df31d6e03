#!/bin/bash
# Hostile real servers beside 100 healthy ones (issue 19, items 1 and 8): vigild -C checks 100 real servers that
# answer HTTP_GET normally and four that attack the checker: endless 1-byte chunks to an HTTP_GET with `digest`,
# an endless `220-` SMTP banner, an HTTP header dripped one byte per segment, and a DNS server answering with a
# compression-pointer loop after a burst of replies with the wrong id. For 30 s, the healthy real servers must stay
# up at every look and be checked throughout (each check's arrival at the server is logged, and the gaps printed
# with the checker's loop lag), and the checker worker must not be restarted (a stalled loop misses its
# heartbeats); the hostile ones must be down, each with a reason saying which bound it broke.
#
# Namespaces hx-dir (director, 198.51.100.1) and hx-rs (real servers, 198.51.100.11). Uses
# ${VIGIL_BIN:-.build/debug}/vigild and vigilctl (builds nothing). Prints PASS/FAIL lines; exits non-zero on failure.
set -u
cd "$(dirname "$0")/../../.."
[ "$(id -u)" = 0 ] || { echo "FAIL: hostile needs root"; exit 1; }
BIN=${VIGIL_BIN:-.build/debug}
VIGILD=$BIN/vigild
VIGILCTL=$BIN/vigilctl
SERVERS=$PWD/Tests/Namespaces/hostile/servers.py
[ -x "$VIGILD" ] && [ -x "$VIGILCTL" ] || { echo "FAIL: $VIGILD or $VIGILCTL not built"; exit 1; }
TMP=$(mktemp -d /tmp/hx.XXXXXX)
. Tests/Namespaces/checker-engine/lib.sh
HEALTHY=100
OBSERVE=${HOSTILE_OBSERVE_SECONDS:-30}

director_and_real_servers hx

# server KIND PORT [COUNT]: starts one of servers.py's kinds in hx-rs.
server() {
    ip netns exec hx-rs python3 "$SERVERS" "$1" 198.51.100.11 "$2" "$TMP/ready.$1" "${3:-1}" >/dev/null 2>&1 &
    echo $! >"$TMP/$1.daemon"
}
server healthy 8000 $HEALTHY
server chunks 9001
server smtp 9002
server drip 9003
server dns 53
all_ready() {
    local kind
    for kind in healthy chunks smtp drip dns; do [ -f "$TMP/ready.$kind" ] || return 1; done
}
for ((n = 0; n < 300; n++)); do all_ready && break; sleep 0.1; done
check "the real servers started" all_ready

TIMING="connect_timeout 3
            retry 0
            warmup 0"
# The floods and the drip: long enough that a bound, not the timeout, ends them however loaded the machine.
BOUND_TIMING="connect_timeout 30
            retry 0
            warmup 0"
{
    echo "virtual_server 192.0.2.50 80 {"
    echo "    delay_loop 1"
    echo "    protocol TCP"
    for ((i = 0; i < HEALTHY; i++)); do
        cat <<RS
    real_server 198.51.100.11 $((8000 + i)) {
        HTTP_GET {
            url {
                path /
                digest 444bcb3a3fcf8389296c49467f27e1d6
            }
            connect_timeout 2
            retry 1
            delay_before_retry 1
        }
    }
RS
    done
    echo "}"
    cat <<CONF
virtual_server 192.0.2.51 80 {
    delay_loop 1
    protocol TCP
    real_server 198.51.100.11 9001 {
        HTTP_GET {
            url {
                path /
                digest 00112233445566778899aabbccddeeff
            }
            $BOUND_TIMING
        }
    }
}
virtual_server 192.0.2.52 25 {
    delay_loop 1
    protocol TCP
    real_server 198.51.100.11 9002 {
        SMTP_CHECK {
            $BOUND_TIMING
        }
    }
}
virtual_server 192.0.2.53 80 {
    delay_loop 1
    protocol TCP
    real_server 198.51.100.11 9003 {
        HTTP_GET {
            url {
                path /
                digest 00112233445566778899aabbccddeeff
            }
            $BOUND_TIMING
        }
    }
}
virtual_server 192.0.2.54 53 {
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
CONF
} >"$TMP/vigil.conf"

SOCK=$TMP/control.sock
ip netns exec hx-dir "$VIGILD" -n -l -C -f "$TMP/vigil.conf" --control-socket "$SOCK" -p "$TMP/vigild.pid" \
    -c "$TMP/checkers.pid" -r "$TMP/vrrp.pid" >"$TMP/vigild.log" 2>&1 &
echo $! >"$TMP/vigild.daemon"

# One Python process watches `vigilctl status --json`: first until the healthy real servers are all up (≤ 30 s),
# then for OBSERVE s, noting every look at which one was not up, the checker's restarts, the hostile servers'
# last health and reason, and (when the worker reports it) the checks' lateness.
python3 - "$VIGILCTL" "$SOCK" "$TMP" "$OBSERVE" <<'PY'
import json, subprocess, sys, time
vigilctl, sock, tmp, observe = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
HOSTILE = {"192.0.2.51 80": "chunks", "192.0.2.52 25": "smtp", "192.0.2.53 80": "drip", "192.0.2.54 53": "dns"}

def look():
    out = subprocess.run([vigilctl, "status", "--json", "--control-socket", sock], capture_output=True, text=True)
    try:
        return json.loads(out.stdout)
    except ValueError:
        return None

def checker(status):
    for worker in (status or {}).get("workers", []):
        if worker.get("role") == "checker":
            return worker
    return None

def servers(status):
    found = {}
    for server in ((checker(status) or {}).get("state") or {}).get("virtualServers") or []:
        found[server["name"]] = server["realServers"]
    return found

results = {}
start = time.time()
up_at = None
while time.time() - start < 30:
    healthy = servers(look()).get("192.0.2.50 80", [])
    if len(healthy) == 100 and all(r["health"] == "up" for r in healthy):
        up_at = time.time()
        break
    time.sleep(0.2)
results["up_after"] = None if up_at is None else round(up_at - start, 2)
not_up, looks, status, lags = set(), 0, None, []
if up_at is not None:
    with open(f"{tmp}/observe.begin", "w") as f:
        print(time.monotonic(), file=f)
    while time.time() - up_at < observe:
        status = look()
        if status is not None:
            looks += 1
            lag = (checker(status) or {}).get("loopLagMilliseconds")
            if lag is not None:
                lags.append(lag)
            for real in servers(status).get("192.0.2.50 80", []):
                if real["health"] != "up":
                    not_up.add(f'{real["address"]} {real["health"]} {real.get("detail")}')
        time.sleep(0.5)
worker = checker(status) or {}
results["looks"] = looks
results["not_up"] = sorted(not_up)
results["restarts"] = worker.get("restartCount")
results["hostile"] = {}
for name, kind in HOSTILE.items():
    reals = servers(status).get(name, [])
    if reals:
        results["hostile"][kind] = [reals[0]["health"], reals[0].get("detail") or ""]
lags.sort()
results["loop_lag"] = [lags[len(lags) // 2], lags[min(len(lags) - 1, int(0.99 * len(lags)))], lags[-1]] if lags else None
with open(f"{tmp}/results.json", "w") as f:
    json.dump(results, f)
PY

result() { python3 -c "import json,sys; r=json.load(open('$TMP/results.json')); $1" 2>/dev/null; }
check "the 100 healthy real servers came up ($(result 'print(r["up_after"])') s)" \
    result 'sys.exit(0 if r["up_after"] is not None else 1)'
check "vigilctl answered throughout ($(result 'print(r["looks"])') looks in ${OBSERVE} s)" \
    result "sys.exit(0 if r['looks'] >= $OBSERVE else 1)"
check "every healthy real server stayed up while the hostile ones attacked" \
    result 'r["not_up"] and print("\n".join(r["not_up"][:5])); sys.exit(0 if not r["not_up"] else 1)'
check "the checker worker was not restarted (restarts: $(result 'print(r["restarts"])'))" \
    result 'sys.exit(0 if r["restarts"] == 0 else 1)'
check "the watchdog killed no worker for missed heartbeats" bash -c "! grep -q 'missed its heartbeats' '$TMP/vigild.log'"
# hostile KIND TEXT[|TEXT…]: that hostile real server is down and its reason contains one of the TEXTs.
hostile() {
    result "h = r['hostile'].get('$1'); print(h); sys.exit(0 if h and h[0] == 'down' and any(t in h[1] for t in '$2'.split('|')) else 1)"
}
check "endless 1-byte chunks: down, over the chunk bound" hostile chunks "more than 65536 chunks"
check "endless SMTP banner lines: down, reply over its byte bound" hostile smtp "larger than"
# One byte a segment hits the read bound; on a loaded machine segments coalesce and the header bound may come first.
check "a header dripped byte by byte: down, over its read or header bound" hostile drip "reads|header larger than"
check "a DNS answer with a compression loop: down, malformed" hostile dns "malformed"

# How regularly the healthy real servers saw their checks during the observation (delay_loop 1): the gaps between
# consecutive checks of one server, beyond the 1 s delay_loop.
python3 - "$TMP" "$HEALTHY" <<'PY' >"$TMP/gaps.txt"
import collections, sys
tmp = sys.argv[1]
begin = float(open(f"{tmp}/observe.begin").read()) if __import__("os").path.exists(f"{tmp}/observe.begin") else 0
times = collections.defaultdict(list)
for line in open(f"{tmp}/ready.healthy.log"):
    port, at = line.split()
    if float(at) >= begin:
        times[port].append(float(at))
late = sorted(max(0.0, b - a - 1.0) for ts in times.values() for a, b in zip(ts, ts[1:]))
if late:
    p = lambda q: late[min(len(late) - 1, int(q * len(late)))] * 1000
    print(f"{len(times)} {len(late)} {p(0.5):.1f} {p(0.99):.1f} {late[-1] * 1000:.1f}")
else:
    print("0 0 0 0 0")
PY
read -r servers_seen gaps p50 p99 worst <"$TMP/gaps.txt"
echo "healthy checks' lateness at the real servers: $gaps gaps over $servers_seen servers, p50 $p50 ms, p99 $p99 ms, max $worst ms"
check "every healthy real server was checked during the observation ($servers_seen of $HEALTHY)" \
    test "$servers_seen" -eq "$HEALTHY"
# The checker's loop lag as the watchdog reports it (the largest per heartbeat interval), for the record: the
# engine has no per-check lateness statistics yet, so the bounds asserted are the restarts and states above.
echo "checker loop lag during the attack (ms, per look): $(result 'l = r["loop_lag"]; print("p50 %.1f, p99 %.1f, max %.1f" % tuple(l) if l else "not reported")')"

echo "hostile: $passed passed, $failed failed"
if [ "$failed" -ne 0 ]; then
    echo "--- vigild log (tail) ---"
    tail -40 "$TMP/vigild.log"
    exit 1
fi
