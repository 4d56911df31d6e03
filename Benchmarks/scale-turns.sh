#!/usr/bin/env bash
# The 1,000 × 10 programming, one-weight reload and memory of Benchmarks/kernel-lab.sh (its "scale" section) for
# several Vigil builds and keepalived in one VM boot, so they share the VM's speed:
#   Tests/KernelLab/kernel-lab run --env VIGIL_BINS="DIR1 DIR2" [--env RUNS=3] [--env ROUNDS=1] Benchmarks/scale-turns.sh
# VIGIL_BINS: directories holding vigild and vigilctl. Each build runs RUNS fresh starts per round, in turn, then
# keepalived; the "bench:" lines carry every run's figures.
cd "$(dirname "$0")/.." || exit 1
for ((round = 1; round <= ${ROUNDS:-1}; round++)); do
  for bin in ${VIGIL_BINS:-$PWD/.build-package/release}; do
    echo "=== $bin round $round" >&2
    VIGIL_BIN=$bin BENCH_DAEMONS=vigil BENCH_RUNS=${RUNS:-3} BENCH_SECTIONS=scale BENCH_RESULTS=/dev/null \
      bash Benchmarks/kernel-lab.sh 2>&1 | grep -E "^bench:"
  done
  BENCH_DAEMONS=keepalived BENCH_RUNS=${RUNS:-3} BENCH_SECTIONS=scale BENCH_RESULTS=/dev/null \
    bash Benchmarks/kernel-lab.sh 2>&1 | grep -E "^bench:"
done
