#!/usr/bin/env bash
# process-start.sh: what one process start costs, `vigild --version` of each build in VIGIL_BINS (directories holding
# vigild) against `keepalived --version` and `/bin/true`, 10 runs each, ROUNDS (3) rounds taking turns. In the kernel
# lab (TCG), where a start's page faults are dear:
#   Tests/KernelLab/kernel-lab run --env VIGIL_BINS="DIR1 DIR2" Benchmarks/process-start.sh
# On the host, `perf stat -r 100 DIR/vigild --version` gives the same comparison with page faults counted.
set -uo pipefail
now() { date +%s%N; }
# time NAME COMMAND…: one run first (a first exec in the kernel lab reads the binary over 9p), then the mean of 10.
time_it() {
  local name=$1 start
  shift
  "$@" >/dev/null 2>&1
  start=$(now)
  for _ in 1 2 3 4 5 6 7 8 9 10; do "$@" >/dev/null 2>&1; done
  echo "$name: $((($(now) - start) / 10000000)) ms each"
}
for ((round = 1; round <= ${ROUNDS:-3}; round++)); do
  echo "round $round"
  time_it /bin/true /bin/true
  for bin in ${VIGIL_BINS:-$PWD/.build-package/release}; do time_it "$bin" "$bin/vigild" --version; done
  time_it keepalived keepalived --version
done
