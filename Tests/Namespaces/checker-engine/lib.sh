# Shared by the checker-engine and checker-protocols suites (sourced, not run).

. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

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
