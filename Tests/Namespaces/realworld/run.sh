#!/bin/bash
# The compatibility rule on 51 real-world keepalived.conf files (Tests/ConfigTests/Fixtures/realworld, see
# SOURCES.md there): keepalived 2.2.7's `keepalived -t` and `vigild -t` side by side, each file in a namespace
# that has the interfaces it names (veth, found by asking keepalived which are missing) and with its check and
# notify scripts present (stubs under /run/rw-cfg-scripts, in a copy of the file given to keepalived only; the
# lines keep their numbers). Checks, per file:
#   - keepalived's exit status is the one recorded in EXPECTED (the fact the unit tests rely on);
#   - a file keepalived accepts (exit 0, or 6 when its only complaint is that scripts run as root without
#     enable_script_security: keepalived runs it), vigild accepts;
#   - every error vigild gives names FILE:LINE, on a line keepalived also complained about, unless EXPECTED
#     lists it as a Vigil-only error (with its reason there).
# `run.sh --record` prints what it found in EXPECTED's format instead of checking.
# Uses ${VIGIL_BIN:-.build/debug}/vigild and keepalived (scripts/setup installs it). Prints PASS/FAIL lines.
set -u
cd "$(dirname "$0")/../../.."
[ "$(id -u)" = 0 ] || { echo "FAIL: realworld needs root"; exit 1; }
VIGILD=${VIGIL_BIN:-.build/debug}/vigild
[ -x "$VIGILD" ] || { echo "FAIL: $VIGILD not built"; exit 1; }
command -v keepalived >/dev/null || { echo "FAIL: keepalived is not installed"; exit 1; }
CORPUS=Tests/ConfigTests/Fixtures/realworld
EXPECTED=$CORPUS/EXPECTED
RECORD=${1:-}
NS=rw-cfg
SCRIPTS=/run/rw-cfg-scripts
TMP=$(mktemp -d /tmp/rw-cfg.XXXXXX)
. Tests/Namespaces/lib.sh

cleanup() {
    ip netns del $NS 2>/dev/null
    rm -rf "$TMP" "$SCRIPTS"
}
trap cleanup EXIT

# The value of KEY=VALUE for FILE in EXPECTED.
expected() { awk -v f="$1" -v k="$2" '$1 == f { for (i = 2; i <= NF; i++) if (index($i, k "=") == 1) print substr($i, length(k) + 2) }' "$EXPECTED"; }

# A copy of FILE for keepalived whose scripts exist: each absolute path after a script keyword moves under
# $SCRIPTS, where an executable stub that exits 0 is made.
with_scripts() {
    local file=$1 copy=$2 path
    sed -E 's#^([[:space:]]*(script|misc_path|notify[a-z_]*|quorum_up|quorum_down|[a-z_]*_script)[[:space:]]+"?)/#\1'"$SCRIPTS"'/#' \
        "$file" >"$copy"
    grep -oE "$SCRIPTS/[^ \"']+" "$copy" | sort -u | while read -r path; do
        mkdir -p "$(dirname "$path")"
        printf '#!/bin/sh\nexit 0\n' >"$path"
        chmod 755 "$path"
    done
}

mkdir -p "$SCRIPTS"
chmod 755 "$SCRIPTS"
for file in "$CORPUS"/*.conf; do
    name=$(basename "$file")
    id=$(expected "$name" id)
    id=${id:-main}
    ip netns del $NS 2>/dev/null
    ip netns add $NS
    ip -n $NS link set lo up
    with_scripts "$file" "$TMP/$name"
    interfaces=""
    for round in 1 2 3 4 5; do
        ka_out=$(ip netns exec $NS timeout 20 keepalived -t -i "$id" -f "$TMP/$name" 2>&1)
        ka_rc=$?
        missing=$( (echo "$ka_out" | grep -oE "interface [^ ]+ (for|doesn't)" | awk '{print $2}'
            echo "$ka_out" | grep -oE "tracked interface [^ ]+ doesn't" | awk '{print $3}') | sort -u)
        [ -z "$missing" ] && break
        index=0
        for interface in $missing; do
            index=$((index + 1))
            ip -n $NS link add "$interface" type veth peer name "rwp$round$index"
            ip -n $NS link set "$interface" up
            interfaces="$interfaces $interface"
        done
    done
    ka_lines=$(echo "$ka_out" | grep -oE "Line [0-9]+\)" | grep -oE "[0-9]+" | sort -un | tr '\n' ' ')
    # Exit 6 is a file keepalived runs, scripts as root: its only complaint is the security one.
    ka_complaints=$(echo "$ka_out" | grep -v "^$" | grep -vc "SECURITY VIOLATION")
    ka_accepts=no
    if [ "$ka_rc" = 0 ] || { [ "$ka_rc" = 6 ] && [ "$ka_complaints" = 0 ]; }; then ka_accepts=yes; fi
    vg_out=$(ip netns exec $NS timeout 60 "$VIGILD" -t -i "$id" -f "$file" 2>&1)
    vg_rc=$?
    vg_errors=$(echo "$vg_out" | grep ": error: " | grep -v "too many errors")
    vg_lines=$(echo "$vg_errors" | grep -oE "^$file:[0-9]+:" | grep -oE "[0-9]+:$" | tr -d : | sort -un | tr '\n' ',' | sed 's/,$//')
    if [ "$RECORD" = --record ]; then
        extra=""
        [ "$id" != main ] && extra=" id=$id"
        only=""
        for line in ${vg_lines//,/ }; do
            [[ " $ka_lines " == *" $line "* ]] || only="$only,$line"
        done
        [ -n "$only" ] && extra="$extra vigil-only=${only#,}"
        echo "$name keepalived=$ka_rc accepts=$ka_accepts vigil=${vg_lines:-ok}$extra  # interfaces:$interfaces"
        [ "$ka_accepts" = no ] && echo "$ka_out" | grep -v "^$" | sed 's/^/    | /' | head -8
        continue
    fi
    check "$name: keepalived -t exits $(expected "$name" keepalived) (got $ka_rc; interfaces:$interfaces)" \
        test "$ka_rc" = "$(expected "$name" keepalived)"
    check "$name: keepalived accepts it: $(expected "$name" accepts)" test "$ka_accepts" = "$(expected "$name" accepts)"
    if [ "$ka_accepts" = yes ]; then
        check "$name: keepalived accepts it, vigild accepts it" test "$vg_rc" = 0
    fi
    unnamed=$(echo "$vg_errors" | grep -vE "^$file:[0-9]+: error: " | grep -v "^$")
    check "$name: each vigild error names FILE:LINE" test -z "$unnamed"
    only=",$(expected "$name" vigil-only),"
    for line in ${vg_lines//,/ }; do
        if [[ " $ka_lines " != *" $line "* ]] && [[ "$only" != *",$line,"* ]]; then
            fail "$name:$line: vigild refuses a line keepalived said nothing about: $(echo "$vg_errors" | grep ":$line: " | head -1)"
        fi
    done
done
[ "$RECORD" = --record ] && exit 0

# Small files, each with one thing keepalived ignores without a word (its first line says what, and the line
# vigild warns at): keepalived -t exits 0 and prints nothing; vigild -t exits 0 and warns at that line.
ip netns del $NS 2>/dev/null
ip netns add $NS
ip -n $NS link add eth0 type veth peer name rwp0
ip -n $NS link set eth0 up
for file in Tests/Namespaces/realworld/silent/*.conf; do
    name=$(basename "$file")
    line=$(head -2 "$file" | grep -oE "warns at line [0-9]+" | grep -oE "[0-9]+$")
    ka_out=$(ip netns exec $NS timeout 20 keepalived -t -f "$file" 2>&1)
    ka_rc=$?
    check "$name: keepalived -t exits 0 and says nothing" test "$ka_rc:$ka_out" = "0:"
    vg_out=$(ip netns exec $NS "$VIGILD" -t -f "$file" 2>&1)
    vg_rc=$?
    check "$name: vigild -t accepts it" test "$vg_rc" = 0
    check "$name: vigild -t warns at line $line" grep -q "^$file:$line: warning: " <<<"$vg_out"
done

echo "realworld: $passed passed, $failed failed"
[ "$failed" = 0 ]
