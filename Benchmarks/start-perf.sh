#!/usr/bin/env bash
# start-perf.sh: where a vigild process start goes under emulation. perf stat of /bin/true, `keepalived --version` and
# `vigild --version` (5 runs each), then perf record of ten `vigild --version` by symbol, by library and by caller.
# Run in the kernel lab (perf counts CPU clock there; TCG has no hardware counters):
#   Tests/KernelLab/kernel-lab run --env NEW=$PWD/.build-package/release Benchmarks/start-perf.sh
# NEW: a directory holding vigild. `vigild --version` still goes through swift-argument-parser (DaemonCommandLine
# leaves --version to it), so the profile shows that parser's share of a start.
bin=${NEW:-/work/main/.build-package/release}
cd /tmp || exit 1
for cmd in "/bin/true" "keepalived --version" "$bin/vigild --version" "$bin/vigild --version"; do
  echo "=== perf stat: $cmd"
  # shellcheck disable=SC2086 # $cmd is a command and its arguments
  perf stat -r 5 -e task-clock,page-faults,minor-faults,major-faults $cmd 2>&1 >/dev/null |
    grep -E "task-clock|faults|elapsed"
done
echo "=== perf record: 10 x vigild --version"
perf record -F 2000 -g -o /tmp/s.data -- sh -c "for i in 1 2 3 4 5 6 7 8 9 10; do $bin/vigild --version >/dev/null; done" 2>&1 | tail -1
perf report -i /tmp/s.data --no-children --sort dso,sym --stdio -g none --percent-limit 1 2>/dev/null | grep -v "^#" | grep -v "^$" | head -45
echo "=== by library"
perf report -i /tmp/s.data --no-children --sort dso --stdio -g none 2>/dev/null | grep -v "^#" | grep -v "^$" | head -12
echo "=== callers over 5%"
perf report -i /tmp/s.data --children --sort sym --stdio -g none --percent-limit 5 2>/dev/null | grep -v "^#" | grep -v "^$" | head -40
