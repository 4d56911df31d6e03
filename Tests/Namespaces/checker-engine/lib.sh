# Shared by the checker-engine and checker-protocols suites (sourced, not run).

passed=0
failed=0

# check NAME COMMAND...: runs COMMAND, prints PASS/FAIL NAME and counts it.
check() {
    local name=$1
    shift
    if "$@"; then
        echo "PASS: $name"
        passed=$((passed + 1))
    else
        echo "FAIL: $name"
        failed=$((failed + 1))
    fi
}

# kill_daemons DIR: SIGTERM, then after 0.5 s SIGKILL, every process whose pid is in DIR/*.daemon.
kill_daemons() {
    local f
    for f in "$1"/*.daemon; do
        [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
    done
    sleep 0.5
    for f in "$1"/*.daemon; do
        [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
    done
}
