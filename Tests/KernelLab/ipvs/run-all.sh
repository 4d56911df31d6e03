#!/usr/bin/env bash
# The IPVS acceptance tests, run inside the kernel lab in one VM boot:
#   Tests/KernelLab/kernel-lab run Tests/KernelLab/ipvs/run-all.sh [PART...]
# PART is any of schedulers traffic persistence reconciler ipv6 codec (default: all). Needs vigil-ipvs and vigilctl
# built in .build/debug (swift build). Prints one line per check, then "N passed, N failed"; exits non-zero if
# any check failed.
set -uo pipefail

if [[ "${KERNEL_LAB:-}" != 1 && "${1:-}" != --force ]]; then
  echo "run-all.sh: meant to run inside the kernel lab:" >&2
  echo "  Tests/KernelLab/kernel-lab run Tests/KernelLab/ipvs/run-all.sh   (or pass --force first)" >&2
  exit 2
fi
[[ "${1:-}" == --force ]] && shift

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"
for part in schedulers traffic persistence reconciler ipv6 codec; do
  # shellcheck source=/dev/null
  source "$HERE/$part.sh"
done
trap cleanup EXIT

[[ -x $BIN/vigil-ipvs && -x $BIN/vigilctl ]] || fatal "no vigil-ipvs/vigilctl in $BIN: run swift build first"
echo "kernel $(uname -r); $(ipvsadm --version 2>&1 | head -n1); binaries from $BIN"

setup_topology || fatal "could not build the namespace topology"
start_servers || fatal "real servers did not come up: $(cat "$WORK"/rs*.log)"
pass "topology up: client, director, two real servers on ports 80, 443, 8080 (IPv4 and IPv6)"

parts=()
for part in "$@"; do [[ -n $part ]] && parts+=("$part"); done
((${#parts[@]})) || parts=(schedulers traffic persistence reconciler ipv6 codec)
for part in "${parts[@]}"; do
  declare -F "test_$part" >/dev/null || { fail "no such part: $part"; continue; }
  start=$SECONDS
  echo "== $part"
  "test_$part"
  echo "== $part: $((SECONDS - start)) s"
done
summary
