#!/usr/bin/env bash
# pss-breakdown.sh PID: where a daemon's memory goes — PSS in KiB per process of PID's tree, and per kind of
# mapping (the daemon's own binary, the Swift runtime and Foundation/ICU libraries, other shared libraries,
# heap and anonymous memory, stacks). Used to explain the memory figures in BENCHMARKS.md.
set -uo pipefail
# shellcheck source=Benchmarks/lib.sh
source "$(dirname "$0")/lib.sh"
[[ $# == 1 ]] || { echo "usage: $0 PID" >&2; exit 2; }
for p in $(descendants "$1"); do
  printf '%s (%s):\n' "$p" "$(tr '\0' ' ' </proc/"$p"/cmdline | cut -c1-60)"
  awk '
    /^[0-9a-f]+-[0-9a-f]+ / { path = $6; kind = "anonymous/heap"
      if (path ~ /libFoundation|_FoundationICU|libFoundationEssentials|libFoundationInternationalization/) kind = "Foundation + ICU"
      else if (path ~ /\/swift\/linux\//) kind = "Swift runtime (stdlib, Concurrency, Dispatch, ...)"
      else if (path ~ /\.so/) kind = "other shared libraries (libc, libstdc++, libnl, ...)"
      else if (path ~ /\[stack/) kind = "stacks"
      else if (path ~ /^\[heap\]/) kind = "anonymous/heap"
      else if (path ~ /^\//) kind = "executable"
      next }
    /^Pss:/ { pss[kind] += $2; total += $2 }
    END { for (k in pss) printf "  %-55s %7d KiB\n", k, pss[k]; printf "  %-55s %7d KiB\n", "total", total }
  ' /proc/"$p"/smaps
done
