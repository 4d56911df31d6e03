#!/usr/bin/env bash
# Issue 17 acceptance, on this kernel: what monitoring sees of two Vigil directors.
#
# Two directors (op-a MASTER priority 150, op-b BACKUP priority 100; VIP 192.0.2.100, advert_int 1, a vrrp_script,
# and a virtual server of 20 real servers with TCP_CHECK every second), the real servers (op-r), and a host for
# Prometheus and the browser (op-p), all on one bridge (op-sw). op-a serves metrics from its file (metrics_listen),
# op-b from its command line (--metrics-listen).
#   - a real Prometheus server (Debian's package, its own config and storage) scrapes both every second; its query
#     API answers keepalived_vrrp_state 2 for op-a and 1 for op-b; after a failover (op-a reloaded with priority 50:
#     op-b preempts) 1 and 2; keepalived_script_status and vigil_* series are there;
#   - headless Chromium (Debian's package) loads the status page: its DOM has the instance, its state and the real
#     servers; the screenshot is kept in $ARTIFACTS (default .build/artifacts/status-page.png);
#   - 1,000 scrapes a second for 30 s against the master's listener on loopback: its VRRP adverts, captured on the
#     wire by tcpdump, keep their 1 s interval, and the checks go on at their rate, none an interval late (their
#     lateness p99 is printed as a MEASURE line).
# The IPVS series (keepalived_lvs_*) need IPVS: Tests/KernelLab/operators checks them.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${VIGIL_BIN:-$ROOT/.build/debug}
ARTIFACTS=${ARTIFACTS:-$ROOT/.build/artifacts}
WORK=$(mktemp -d /tmp/operators.XXXXXX)
PIDS=()
# shellcheck source=Tests/Namespaces/lib.sh
. "$ROOT/Tests/Namespaces/lib.sh"

NAMESPACES=(op-sw op-a op-b op-r op-p)
trap namespaces_cleanup EXIT
for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null; ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip -n op-sw link add br0 type bridge && ip -n op-sw link set br0 up
attach() { # NS ADDRESS...
  local ns=$1
  shift
  ip link add eth0 netns "$ns" type veth peer name "p-$ns" netns op-sw
  ip -n op-sw link set "p-$ns" master br0 up
  for address in "$@"; do ip -n "$ns" addr add "$address/24" dev eth0; done
  ip -n "$ns" link set eth0 up
}
attach op-a 192.0.2.1
attach op-b 192.0.2.2
attach op-p 192.0.2.9
reals=()
for i in $(seq 11 30); do reals+=("192.0.2.$i"); done
attach op-r "${reals[@]}"

wait_for() { local n; for ((n = 0; n < $1 * 10; n++)); do "${@:2}" && return 0; sleep 0.1; done; return 1; }

# The real servers: one web server answering on all 20 addresses.
ip netns exec op-r python3 -m http.server 80 --bind 0.0.0.0 >"$WORK/web.log" 2>&1 &
PIDS+=($!)

config() { # PRIORITY STATE EXTRA_GLOBAL
  cat <<CONF
global_defs {
  router_id $2-director
  $3
}
vrrp_script chk_web {
  script "/bin/true"
  interval 1
}
vrrp_instance VI_1 {
  state $2
  interface eth0
  virtual_router_id 42
  priority $1
  advert_int 1
  virtual_ipaddress {
    192.0.2.100/24
  }
  track_script {
    chk_web
  }
}
virtual_server 192.0.2.100 80 {
  delay_loop 1
  lb_algo rr
  lb_kind DR
  protocol TCP
CONF
  for real in "${reals[@]}"; do
    printf '  real_server %s 80 {\n    TCP_CHECK {\n      connect_timeout 1\n    }\n  }\n' "$real"
  done
  echo "}"
}
config 150 MASTER "metrics_listen 0.0.0.0:9165" >"$WORK/a.conf"
config 100 BACKUP "" >"$WORK/b.conf"

start_vigild() { # NS NAME EXTRA...
  local ns=$1 name=$2
  shift 2
  ip netns exec "$ns" "$BIN/vigild" -n -l -f "$WORK/$name.conf" -p "$WORK/$name.pid" -r "$WORK/$name-vrrp.pid" \
    -c "$WORK/$name-check.pid" --control-socket "$WORK/$name/vigild.sock" "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
}
start_vigild op-a a
start_vigild op-b b --metrics-listen 0.0.0.0:9165
vigilctl() { local ns=$1 name=$2; shift 2; ip netns exec "$ns" "$BIN/vigilctl" "$@" --control-socket "$WORK/$name/vigild.sock"; }
holds() { [[ $(ip -n "$1" -o addr show dev eth0) == *" 192.0.2.100/"* ]]; }
wait_for 20 holds op-a || fail "op-a never became MASTER"

# Prometheus, with its own configuration and storage, scraping both directors every second.
cat >"$WORK/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: vigil
    static_configs:
      - targets: ['192.0.2.1:9165', '192.0.2.2:9165']
YML
ip netns exec op-p prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prometheus" \
  --web.listen-address=127.0.0.1:9090 --log.level=warn >"$WORK/prometheus.log" 2>&1 &
PIDS+=($!)
# query PROMQL: "INSTANCE VALUE" lines from Prometheus's query API.
query() {
  ip netns exec op-p curl -s --max-time 2 --get --data-urlencode "query=$1" http://127.0.0.1:9090/api/v1/query |
    python3 -c 'import json,sys
for r in json.load(sys.stdin)["data"]["result"]:
    print(r["metric"].get("instance", "-"), r["value"][1])' 2>/dev/null
}
states_are() { # A B: keepalived_vrrp_state of op-a and op-b, as Prometheus has them now
  local now
  now=$(query 'keepalived_vrrp_state{iname="VI_1",vrid="42",intf="eth0",ip_address="192.0.2.100/24"}' | sort)
  [[ $now == "192.0.2.1:9165 $1"$'\n'"192.0.2.2:9165 $2" ]]
}
if wait_for 30 states_are 2 1; then
  pass "Prometheus: keepalived_vrrp_state is 2 on the master (op-a) and 1 on the backup (op-b)"
else
  fail "Prometheus before the failover: $(query keepalived_vrrp_state | tr '\n' ';') $(tail -n 3 "$WORK/prometheus.log")"
fi
listener_named() { vigilctl op-b b status | grep -qx 'metrics and status page: http://0.0.0.0:9165/'; }
check "vigilctl status names the metrics listener" listener_named
scripts=$(query 'keepalived_script_status{name="chk_web"}' | sort | tr '\n' ';')
check "Prometheus: keepalived_script_status{name=\"chk_web\"} 1 on both ($scripts)" \
  test "$scripts" == "192.0.2.1:9165 1;192.0.2.2:9165 1;"
vigil_series=$(query 'count by (instance) ({__name__=~"vigil_.+"})' | sort | tr '\n' ';')
check "Prometheus: vigil_* series from both directors ($vigil_series)" \
  python3 -c 'import sys; v=[int(x.split()[1]) for x in sys.argv[1].strip(";").split(";")]; sys.exit(not (len(v) == 2 and min(v) > 50))' "$vigil_series"
up=$(query 'vigil_real_server_up' | wc -l)
check "Prometheus: vigil_real_server_up for 20 real servers on each director ($up series)" test "$up" == 40

# The failover: op-a reloaded with priority 50; op-b preempts it. The release counters are read first: on a loaded
# machine op-b may have been MASTER for a moment at start, before op-a's first advert, and released it then.
releases() { # "A B": keepalived_release_master_total of op-a and op-b, as Prometheus has them now
  local now
  now=$(query 'keepalived_release_master_total{iname="VI_1"}' | sort)
  [[ $now == "192.0.2.1:9165 "*$'\n'"192.0.2.2:9165 "* ]] || return 1
  awk '{printf "%s ", $2}' <<<"$now"
}
released_before=$(releases)
config 50 MASTER "metrics_listen 0.0.0.0:9165" >"$WORK/a.conf"
vigilctl op-a a reload >/dev/null
if wait_for 30 states_are 1 2; then
  pass "Prometheus after the failover: keepalived_vrrp_state is 1 on op-a and 2 on op-b"
else
  fail "Prometheus after the failover: $(query keepalived_vrrp_state | tr '\n' ';')"
fi
released_after=$(releases)
read -r a_before b_before <<<"$released_before"
read -r a_after b_after <<<"$released_after"
check "Prometheus: keepalived_release_master_total counts op-a's release, none of op-b's ($released_before-> $released_after)" \
  test -n "$a_before" -a -n "$a_after" -a "$((a_after - a_before))" == 1 -a "$b_after" == "$b_before"
reloaded=$(query 'vigil_last_reload_success' | tr '\n' ';')
check "Prometheus: vigil_last_reload_success 1 on op-a ($reloaded)" test "$reloaded" == "192.0.2.1:9165 1;"

# The status page in a real browser, without JavaScript.
mkdir -p "$ARTIFACTS"
chromium_run() { ip netns exec op-p timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-javascript "$@" 2>>"$WORK/chromium.log"; }
chromium_run --dump-dom http://192.0.2.2:9165/ >"$WORK/page.html"
check "Chromium: the status page shows VI_1 as MASTER on op-b" \
  grep -q '<td>VI_1</td><td><span class="s MASTER">MASTER</span></td>' "$WORK/page.html"
shown=$(grep -c '<td>192.0.2.[0-9]* 80</td><td><span class="s up">up</span></td>' "$WORK/page.html")
check "Chromium: the status page lists the 20 real servers, up ($shown)" test "$shown" == 20
chromium_run --window-size=1280,1100 --screenshot="$ARTIFACTS/status-page.png" http://192.0.2.2:9165/ >/dev/null
check "Chromium: screenshot $ARTIFACTS/status-page.png" test -s "$ARTIFACTS/status-page.png"
kill "${PIDS[-1]}" 2>/dev/null # Prometheus: its scrapes are not part of what follows.

# 1,000 scrapes a second for 30 s against the master's (op-b's) listener on loopback. tcpdump on op-a's side of
# the link times op-b's adverts; the checker's lateness histogram is read before and after.
lateness() { # the checker's lateness bucket counts and bounds, as JSON
  vigilctl op-b b status --json | python3 -c 'import json,sys
c=[w for w in json.load(sys.stdin)["workers"] if w["role"]=="checker"][0]["checker"]
print(json.dumps([c["latencyBucketBounds"], c["latenessBuckets"]]))'
}
advert_gaps() { # PCAP-TEXT: "count max p50" of the gaps between op-b's adverts, in ms
  python3 -c 'import sys
t=[float(l.split()[0]) for l in open(sys.argv[1]) if "VRRP" in l]
g=sorted((b-a)*1000 for a,b in zip(t,t[1:]))
print(len(t), round(g[-1],1) if g else 0, round(g[len(g)//2],1) if g else 0)' "$1"
}
window_p99() { # BEFORE AFTER: the lateness p99 (a bucket bound, ms) of the checks between two readings
  python3 -c 'import json,sys
b,before=json.loads(sys.argv[1]); _,after=json.loads(sys.argv[2])
d=[y-x for x,y in zip(before,after)]; n=sum(d); s=0
for i,c in enumerate(d):
    s+=c
    if s>=0.99*n: print(n, round(b[i]*1000,2) if i<len(b) else "inf"); break' "$1" "$2"
}
capture() { # SECONDS FILE
  ip netns exec op-a timeout "$1" tcpdump -i eth0 -n -tt -l 'ip proto 112 and src 192.0.2.2' >"$2" 2>/dev/null
}
before=$(lateness)
capture 15 "$WORK/adverts-quiet.txt"
quiet_lateness=$(window_p99 "$before" "$(lateness)")
read -r quiet_count quiet_max quiet_p50 <<<"$(advert_gaps "$WORK/adverts-quiet.txt")"
echo "quiet 15 s: $quiet_count adverts, gap p50 $quiet_p50 ms, max $quiet_max ms; checks, lateness p99: $quiet_lateness"
before=$(lateness)
capture 31 "$WORK/adverts-load.txt" &
capturing=$!
sleep 0.5
ip netns exec op-b python3 "$HERE/scrape.py" http://127.0.0.1:9165/metrics 1000 30 4 >"$WORK/scrape.json"
wait "$capturing"
load_lateness=$(window_p99 "$before" "$(lateness)")
read -r load_count load_max load_p50 <<<"$(advert_gaps "$WORK/adverts-load.txt")"
echo "1,000 scrapes/s for 30 s: $(cat "$WORK/scrape.json")"
echo "under load 30 s: $load_count adverts, gap p50 $load_p50 ms, max $load_max ms; checks, lateness p99: $load_lateness"
check "the scraper got at least 950 scrapes a second, none failed ($(cat "$WORK/scrape.json"))" python3 -c '
import json,sys; r=json.load(open(sys.argv[1])); sys.exit(not (r["rate"] >= 950 and r["failed"] == 0))' "$WORK/scrape.json"
check "adverts kept their 1 s interval under the scrapes: $load_count adverts, largest gap $load_max ms" \
  python3 -c 'import sys; sys.exit(not (int(sys.argv[1]) >= 29 and float(sys.argv[2]) <= 1050))' "$load_count" "$load_max"
# What is asserted is the work: the checks went on at their rate (20 a second, delay_loop 1) and none waited a whole
# interval behind the scrapes. The lateness itself is a measurement (a bucket or two either way is the machine's
# noise: 1.78 -> 4.22 ms failed a 2x bound once in CI on a quiet host), printed, not asserted.
echo "MEASURE: checks' lateness p99 under 1,000 scrapes/s: $load_lateness (quiet: $quiet_lateness) (checks, ms)"
check "checks went on under the scrapes, none an interval late: $load_lateness (checks, lateness p99 ms)" \
  python3 -c 'import sys
l=sys.argv[1].split()
sys.exit(not (int(l[0]) >= 500 and l[1] != "inf" and float(l[1]) < 1000))' "$load_lateness"

echo "$passed passed, $failed failed"
((failed == 0))
