#!/usr/bin/env python3
"""text-residency.py PID [SECONDS]: which of vigild's code is resident, and how much of it a steady state runs.

For PID and every process below it, reads the executable's text mapping:
  - resident: pages of the text present in the process's page table (/proc/PID/pagemap), grouped by the Swift
    module (or C/C++ symbol prefix) of the function each page starts in (`nm` of the executable);
  - referenced: with SECONDS, the page-table "accessed" bits are cleared (/proc/PID/clear_refs, 1) and the
    text's `Referenced:` in /proc/PID/smaps read SECONDS later: the code the process ran in that window.
A text resident far above what a steady window references is code that ran once after the process's last trim
(MemoryTrim), spread over the 26 MiB text: one function used on a page keeps the whole page. Root only. Used for
the memory figures in BENCHMARKS.md (issue 13).
"""

import bisect
import collections
import os
import re
import struct
import subprocess
import sys
import time


def descendants(pid):
    found = [pid]
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            children = open(f"/proc/{pid}/task/{task}/children").read().split()
        except OSError:
            continue
        for child in children:
            found += descendants(int(child))
    return found


def text_mapping(pid):
    """(start, end, file offset) of the executable's r-xp mapping."""
    exe = os.readlink(f"/proc/{pid}/exe")
    for line in open(f"/proc/{pid}/maps"):
        fields = line.split()
        if len(fields) >= 6 and fields[1] == "r-xp" and fields[5] == exe:
            start, end = (int(x, 16) for x in fields[0].split("-"))
            return exe, start, end, int(fields[2], 16)
    return exe, None, None, None


def symbols(exe):
    """Sorted (address, name) of the executable's functions, and the text segment's (file offset, address)."""
    segment = (0, 0)
    for line in subprocess.run(["readelf", "-lW", exe], capture_output=True, text=True).stdout.splitlines():
        fields = line.split()
        if fields and fields[0] == "LOAD" and "E" in fields[-2]:
            segment = (int(fields[1], 16), int(fields[2], 16))
    found = []
    output = subprocess.run(["nm", "-n", "--defined-only", exe], capture_output=True, text=True).stdout
    for line in output.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[1] in "tTwW":
            found.append((int(fields[0], 16), fields[2]))
    return found, segment


def group(name):
    match = re.match(r"_?\$s(\d+)([A-Za-z_][A-Za-z0-9_]*)", name)
    if match:
        return match.group(2)[: int(match.group(1))]
    if name.startswith(("$s", "_$s")):
        return "Swift standard library"
    if name.startswith(("swift_", "_swift", "_ZN5swift")):
        return "Swift runtime"
    return "C and C++"


def referenced_kib(pid, exe):
    inside, rss = False, 0
    for line in open(f"/proc/{pid}/smaps"):
        fields = line.split()
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            inside = len(fields) >= 6 and fields[1] == "r-xp" and fields[5] == exe
        elif inside and fields[0] == "Rss:":
            rss = int(fields[1])
        elif inside and fields[0] == "Referenced:":
            return rss, int(fields[1])
    return rss, 0


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: text-residency.py PID [SECONDS]")
    pids = descendants(int(sys.argv[1]))
    if len(sys.argv) == 3:
        for pid in pids:
            with open(f"/proc/{pid}/clear_refs", "w") as handle:
                handle.write("1")
        time.sleep(float(sys.argv[2]))
    tables = {}
    for pid in pids:
        exe, start, end, offset = text_mapping(pid)
        if start is None:
            continue
        if exe not in tables:
            tables[exe] = symbols(exe)
        found, (segment_offset, segment_address) = tables[exe]
        addresses = [address for address, _ in found]
        with open(f"/proc/{pid}/pagemap", "rb") as pagemap:
            pagemap.seek(start // 4096 * 8)
            entries = pagemap.read((end - start) // 4096 * 8)
        groups = collections.Counter()
        for page in range(len(entries) // 8):
            if not struct.unpack_from("<Q", entries, page * 8)[0] >> 63 & 1:
                continue
            address = page * 4096 + offset - segment_offset + segment_address
            index = bisect.bisect_right(addresses, address) - 1
            groups[group(found[index][1]) if index >= 0 else "before the first function"] += 4
        command = open(f"/proc/{pid}/cmdline").read().replace("\0", " ")[:60]
        rss, referenced = referenced_kib(pid, exe)
        window = f", referenced in the last {sys.argv[2]} s: {referenced} KiB" if len(sys.argv) == 3 else ""
        print(f"{pid} ({command}): text resident {rss} KiB{window}")
        for name, kib in groups.most_common(12):
            print(f"  {kib:6d} KiB  {name}")


main()
