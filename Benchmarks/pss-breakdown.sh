#!/usr/bin/env bash
# pss-breakdown.sh [-m] PID: where a daemon's memory goes, for PID and every process below it, from /proc/PID/smaps:
# per kind of mapping, in KiB, the virtual size, Rss, Pss, Private_Clean, Private_Dirty, Shared (clean + dirty),
# Anonymous (pages written: copy-on-write copies of file pages, or anonymous memory) and Locked; then the threads (a
# thread has its own stack and, in glibc, may have its own malloc arena). -m also lists every mapping with Rss.
# Kinds: the daemon's binary split into text, read-only data, RELRO (.data.rel.ro and .got, written once by the
# dynamic linker: private dirty in every process of a PIE), .data and .bss; the Swift runtime and the other shared
# libraries, each as code (clean file pages) and data (written pages); the main heap; glibc's per-thread malloc
# arenas (64 MiB reservations); thread stacks (found by each thread's stack pointer, /proc/PID/task/TID/syscall: the
# kernel merges an anonymous mapping next to a stack into the stack's, so large malloc blocks mapped there count as
# stack: 2 MiB of "thread stacks" in one checker worker with its stack pointers 1 MiB from its top); other anonymous
# memory (large malloc blocks, mapped on their own); and how much anonymous memory is in transparent huge pages. Used for
# the memory figures in BENCHMARKS.md.
set -uo pipefail
# shellcheck source=Benchmarks/lib.sh
source "$(dirname "$0")/lib.sh"
mappings=0
[[ ${1:-} == -m ]] && { mappings=1; shift; }
[[ $# == 1 ]] || { echo "usage: $0 [-m] PID" >&2; exit 2; }
for p in $(descendants "$1"); do
  [[ -r /proc/$p/smaps ]] || continue
  threads=$(ls /proc/"$p"/task 2>/dev/null | wc -l)
  names=$(cat /proc/"$p"/task/*/comm 2>/dev/null | sort | uniq -c | awk '{printf "%s%s×%s", sep, $2, $1; sep=", "}')
  # Each thread's stack pointer, as 16 hex digits (the second-to-last field of /proc/PID/task/TID/syscall).
  sps=$(cat /proc/"$p"/task/*/syscall 2>/dev/null | awk 'NF >= 3 { sp = $(NF - 1); sub(/^0x/, "", sp)
    while (length(sp) < 16) sp = "0" sp; printf "%s ", sp }')
  printf '%s (%s): %s threads (%s)\n' "$p" "$(tr '\0' ' ' </proc/"$p"/cmdline | cut -c1-60)" "$threads" "$names"
  # Anonymous memory the kernel backs with 2 MiB pages, and whether the process allows it (vigild turns it off).
  printf '  transparent huge pages: %s KiB (THP_enabled %s)\n' \
    "$(awk '/^AnonHugePages:/ {print $2}' /proc/"$p"/smaps_rollup)" "$(awk '/^THP_enabled:/ {print $2}' /proc/"$p"/status)"
  awk -v exe="$(readlink /proc/"$p"/exe)" -v sps="$sps" -v list="$mappings" '
    function pad(h) { while (length(h) < 16) h = "0" h; return h }
    function close_mapping() {
      if (start == "") return
      k = kind
      if (k == "") {
        if (path == exe || path == exe " (deleted)") {
          if (perm == "r-xp") k = "binary: text"
          else if (perm == "r--p" && v["Anonymous"] == 0) k = "binary: read-only data"
          else if (perm == "r--p") k = "binary: RELRO (.data.rel.ro, .got)"
          else k = "binary: .data"
        } else if (path ~ /\/swift\/linux\//) k = (v["Anonymous"] > 0 || perm ~ /w/) ? "Swift runtime: data" : "Swift runtime: code"
        else if (path ~ /^\//) k = (v["Anonymous"] > 0 || perm ~ /w/) ? "other libraries: data" : "other libraries: code"
        else if (path == "[heap]") k = "heap (main arena)"
        else if (path == "[stack]") k = "main thread stack"
        else if (path ~ /^\[/) k = "kernel (vdso, vvar)"
        else if (perm == "---p") k = "reserved, no access (guards, arena tails)"
        else {
          k = "other anonymous"
          split(sps, sp, " ")
          for (i in sp) if (sp[i] >= pad(start) && sp[i] < pad(end)) k = "thread stacks"
          if (k == "other anonymous" && previous_path == exe && perm == "rw-p" && start == previous_end) k = "binary: .bss"
          # glibc thread arenas: 64 MiB-aligned, the used part rw-p, the rest of the 64 MiB reserved ---p.
          if (k == "other anonymous" && start ~ /[048c]000000$/ && perm == "rw-p") k = "malloc arenas (per thread)"
        }
      }
      count[k]++; size[k] += v["Size"]
      for (f in fields) total[k, f] += v[f]
      if (list && v["Rss"] > 0)
        printf "    %s-%s %s %-40s Rss %6d Pss %6d PrivD %6d Anon %6d Lck %6d\n", start, end, perm, substr(path, 1, 40), v["Rss"], v["Pss"], v["Private_Dirty"], v["Anonymous"], v["Locked"]
      previous_path = path; previous_end = end
      start = ""
    }
    BEGIN { split("Rss Pss Private_Clean Private_Dirty Shared_Clean Shared_Dirty Anonymous Locked", f_, " ")
      for (i in f_) fields[f_[i]] = 1 }
    /^[0-9a-f]+-[0-9a-f]+ / { close_mapping()
      split($1, range, "-"); start = range[1]; end = range[2]; perm = $2; path = ""
      for (i = 6; i <= NF; i++) path = path (i > 6 ? " " : "") $i
      kind = ""; for (f in fields) v[f] = 0; v["Size"] = 0; next }
    /^[A-Za-z_]+: +[0-9]+ kB/ { name = $1; sub(/:$/, "", name); v[name] = $2 }
    END { close_mapping()
      printf "  %-42s %4s %8s %7s %7s %7s %7s %7s %7s %7s\n", "kind (KiB)", "maps", "Size", "Rss", "Pss", "PrivCl", "PrivDi", "Shared", "Anon", "Locked"
      for (k in count) {
        printf "  %-42s %4d %8d %7d %7d %7d %7d %7d %7d %7d\n", k, count[k], size[k], total[k, "Rss"], total[k, "Pss"], total[k, "Private_Clean"], total[k, "Private_Dirty"], total[k, "Shared_Clean"] + total[k, "Shared_Dirty"], total[k, "Anonymous"], total[k, "Locked"] | "sort"
        for (f in fields) all[f] += total[k, f]
        allsize += size[k]
      }
      close("sort")
      printf "  %-42s %4s %8d %7d %7d %7d %7d %7d %7d %7d\n", "total", "", allsize, all["Rss"], all["Pss"], all["Private_Clean"], all["Private_Dirty"], all["Shared_Clean"] + all["Shared_Dirty"], all["Anonymous"], all["Locked"]
    }
  ' /proc/"$p"/smaps
done
