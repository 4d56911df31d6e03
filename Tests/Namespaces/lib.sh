# Counting checks, shared by the namespace suites (sourced, not run): each prints PASS/FAIL lines and its
# summary from $passed and $failed.

passed=0
failed=0

pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

# check NAME COMMAND...: runs COMMAND, prints PASS/FAIL NAME and counts it.
check() {
    local name=$1
    shift
    if "$@"; then pass "$name"; else fail "$name"; fi
}
