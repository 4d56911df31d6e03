#!/usr/bin/env bash
# enable_script_security (issue 15): a world-writable vrrp_script that always fails and a world-writable
# notify_master script.
#   - `vigild -t` names both at FILE:LINE and exits 6 (keepalived's status for script security);
#   - with enable_script_security the daemon starts, never runs either, and the instance becomes MASTER as if the
#     script were not tracked (keepalived removes it from track_script);
#   - made safe (chmod 755), the same file checks clean and the failing script runs: the instance stays in FAULT;
#   - without enable_script_security the unsafe scripts are warned about and run.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
BIN=${VIGIL_BIN:-$ROOT/.build/debug}
WORK=$(mktemp -d /tmp/script-security.XXXXXX)
NS=ss-a
VIP=192.0.2.150
VIGIL=""
# shellcheck source=Tests/Namespaces/lib.sh
. "$ROOT/Tests/Namespaces/lib.sh"

lone_namespace

# The work directory is root's (mode 0700) under /tmp (root's, sticky): safe; the scripts' modes decide.
printf '#!/bin/sh\ntouch %s/ran-chk\nexit 1\n' "$WORK" >"$WORK/chk.sh"
printf '#!/bin/sh\ntouch %s/ran-master\n' "$WORK" >"$WORK/master.sh"
printf '#!/bin/sh\ntouch %s/ran-safe\n' "$WORK" >"$WORK/safe.sh"
chmod 0777 "$WORK/chk.sh" "$WORK/master.sh"
chmod 0755 "$WORK/safe.sh"

config() { # SECURITY_LINE [SCRIPT_USER_LINE]
  cat <<CONF
global_defs {
  $1
  ${2-script_user root}
}
vrrp_script chk {
  script $WORK/chk.sh
  interval 1
}
vrrp_script safe {
  script $WORK/safe.sh
  interval 1
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 61
  priority 100
  advert_int 1
  virtual_ipaddress {
    $VIP/24
  }
  track_script {
    chk
    safe
  }
  notify_master $WORK/master.sh
}
CONF
}

holds() { [[ $(ip -n "$NS" -o addr show dev eth0) == *" $VIP/"* ]]; }
released() { ! holds; }
wait_for() { local n; for ((n = 0; n < $1 * 10; n++)); do "${@:2}" && return 0; sleep 0.1; done; return 1; }

start() { # LOG
  ip netns exec "$NS" "$BIN/vigild" -n -l -f "$WORK/vigil.conf" -p "$WORK/v.pid" -r "$WORK/v-vrrp.pid" \
    -c "$WORK/v-check.pid" --control-socket "$WORK/v.sock" >"$WORK/$1" 2>&1 &
  VIGIL=$!
}
stop() {
  kill "$VIGIL" 2>/dev/null
  wait "$VIGIL" 2>/dev/null
  VIGIL=""
  ip -n "$NS" addr del "$VIP/24" dev eth0 2>/dev/null
  rm -f "$WORK"/ran-*
}

# 1. enable_script_security, unsafe scripts: -t names them and exits 6.
config enable_script_security >"$WORK/vigil.conf"
"$BIN/vigild" -t -f "$WORK/vigil.conf" >"$WORK/t1.txt" 2>&1
status=$?
if [[ $status == 6 ]] && grep -q "vigil.conf:5: error: vrrp_script chk disabled by enable_script_security: .*world-writable" "$WORK/t1.txt" &&
  grep -q "vigil.conf:13: error: notify_master of vrrp_instance VI_1 disabled" "$WORK/t1.txt"; then
  pass "vigild -t exits 6 and names the unsafe vrrp_script and notify_master at FILE:LINE"
else
  fail "vigild -t with unsafe scripts: status $status: $(cat "$WORK/t1.txt")"
fi
[[ -e $WORK/ran-chk || -e $WORK/ran-master ]] && fail "vigild -t ran a script"

# 2. The daemon runs: the unsafe scripts never run, the instance is MASTER as if chk were not tracked.
start run1.log
if wait_for 15 holds; then pass "the instance became MASTER: the disabled failing script is not tracked"; else
  fail "the instance never became MASTER with the unsafe tracked script disabled"
fi
wait_for 5 test -e "$WORK/ran-safe"
sleep 2
check "the safe tracked script runs" test -e "$WORK/ran-safe"
check "the unsafe tracked script never ran" test ! -e "$WORK/ran-chk"
check "the unsafe notify_master script never ran" test ! -e "$WORK/ran-master"
check "the log names the disabled script at FILE:LINE" grep -q "vigil.conf:5: error: vrrp_script chk disabled" "$WORK/run1.log"
stop

# 3. The same scripts made safe: -t is clean, the failing script runs and keeps the instance in FAULT.
chmod 0755 "$WORK/chk.sh" "$WORK/master.sh"
"$BIN/vigild" -t -f "$WORK/vigil.conf" >"$WORK/t2.txt" 2>&1
check "vigild -t exits 0 once the scripts are safe" test $? = 0
start run2.log
wait_for 10 test -e "$WORK/ran-chk"
check "the safe failing tracked script runs" test -e "$WORK/ran-chk"
sleep 4
check "the failing tracked script keeps the instance out of MASTER" released
stop

# 4. Without enable_script_security the unsafe scripts are warned about and run.
chmod 0777 "$WORK/chk.sh"
config "" >"$WORK/vigil.conf"
"$BIN/vigild" -t -f "$WORK/vigil.conf" >"$WORK/t3.txt" 2>&1
status=$?
if [[ $status == 0 ]] && grep -q "vigil.conf:5: warning: vrrp_script chk: .*world-writable; run anyway" "$WORK/t3.txt" &&
  grep -q "SECURITY VIOLATION" "$WORK/t3.txt"; then
  pass "without enable_script_security, vigild -t warns at FILE:LINE and exits 0"
else
  fail "vigild -t without enable_script_security: status $status: $(cat "$WORK/t3.txt")"
fi
start run3.log
wait_for 10 test -e "$WORK/ran-chk"
check "without enable_script_security the unsafe script runs" test -e "$WORK/ran-chk"
stop

# 5. enable_script_security with no script_user: root by default is refused, as keepalived removes such scripts
# (when user keepalived_script exists, scripts run as that user instead and this does not apply).
if id keepalived_script >/dev/null 2>&1; then
  echo "SKIP: user keepalived_script exists on this host"
else
  chmod 0755 "$WORK/chk.sh"
  config enable_script_security "" >"$WORK/vigil.conf"
  "$BIN/vigild" -t -f "$WORK/vigil.conf" >"$WORK/t4.txt" 2>&1
  status=$?
  if [[ $status == 6 ]] && grep -q "vigil.conf:5: error: vrrp_script chk disabled by enable_script_security: it would run as root by default" "$WORK/t4.txt"; then
    pass "enable_script_security without script_user: vigild -t refuses root by default at FILE:LINE (exit 6)"
  else
    fail "enable_script_security without script_user: status $status: $(cat "$WORK/t4.txt")"
  fi
fi

echo "$passed passed, $failed failed"
((failed == 0))
