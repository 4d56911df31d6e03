#!/usr/bin/env python3
"""image-layout.py [PID ...]: where vigild's image memory comes from, by the objects the linker put there.

Reads gold's link map of the package's vigild (.build-package, built by scripts/package): it links the binary once more
with `-Map`, as SwiftPM linked it (the command in .build-package/release.yaml), and checks that the result is the same
file, so that the map describes the binary the processes run (that file or a copy of it; VIGIL_SCRATCH names another
scratch path). From the map alone: the RELRO (.data.rel.ro, relocated by the dynamic linker in every process of a
position-independent executable, so private to each) by contributor: a Swift module of this package or its
dependencies, or a static archive of the toolchain (libswiftCore, libFoundationEssentials, libdispatch, ...).

With PIDs (vigild processes: the watchdog and its workers), for each process and each of .text, .data and .bss:
  - the KiB resident (present in the page table, /proc/PID/pagemap);
  - .text: the resident KiB by contributor, and how much of it lies in input sections of one function each (which
    packaging/vigild.order can lay out together) or in a whole object's `.text` (which it cannot move: the Swift
    standard library's Swift.o keeps 1.5 MiB of functions in one such section);
  - .data and .bss: the input sections (one per object file: swiftc's -function-sections does not split data) that
    lie on resident pages, and those that lie wholly on them: what reordering the objects could at best give back.
Root only. Used for the memory figures in BENCHMARKS.md (issue 13).
"""

import bisect
import collections
import filecmp
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

OUTPUTS = (".text", ".data.rel.ro", ".data", ".bss")


def contributor(path):
    """`NIOCore` for .../NIOCore.build/X.swift.o, `libswiftCore` for .../libswiftCore.a(Swift.o), else the file."""
    match = re.search(r"/([^/]+)\.build/", path)
    if match:
        return match.group(1)
    match = re.search(r"/(lib[^/]+)\.a\(([^)]+)\)$", path)
    if match:
        return match.group(1)
    return path.rsplit("/", 1)[-1]


def read_map(path):
    """{output section: [(address, size, input section name, object path)]} for OUTPUTS."""
    sections = {name: [] for name in OUTPUTS}
    current = None
    pending = None
    with open(path, errors="replace") as handle:
        for line in handle:
            line = line.rstrip("\n")
            top = re.match(r"^(\.\S+)\s+0x[0-9a-f]+\s+0x[0-9a-f]+", line)
            if top or (line and not line.startswith(" ")):
                current = top.group(1) if top and top.group(1) in sections else None
                pending = None
                continue
            if current is None:
                continue
            whole = re.match(r"^ (\S+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$", line)
            if whole:
                sections[current].append((int(whole.group(2), 16), int(whole.group(3), 16), whole.group(1),
                                          whole.group(4)))
                pending = None
                continue
            alone = re.match(r"^ (\.\S+)$", line)
            if alone:
                pending = alone.group(1)
                continue
            rest = re.match(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$", line)
            if rest and pending:
                sections[current].append((int(rest.group(1), 16), int(rest.group(2), 16), pending, rest.group(3)))
            pending = None
    return sections


def link_map(scratch):
    """Relinks SCRATCH's vigild with a map (to a temporary file); returns the map's path."""
    binary = os.path.join(scratch, "release", "vigild")
    real = os.path.realpath(binary)
    with open(os.path.join(scratch, "release.yaml")) as handle:
        for line in handle:
            line = line.strip()
            if line.startswith("args: [") and f'"-o","{real}"' in line.replace(", ", ","):
                arguments = json.loads(line[len("args: "):])
                break
        else:
            sys.exit(f"image-layout: no link command for {real} in {scratch}/release.yaml (run scripts/package)")
    work = tempfile.mkdtemp(prefix="vigil-image-layout.")
    output = arguments.index("-o") + 1
    arguments[output] = os.path.join(work, "vigild")
    arguments += ["-Xlinker", "-Map=" + os.path.join(work, "map")]
    subprocess.run(arguments, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not filecmp.cmp(real, arguments[output], shallow=False):
        sys.exit(f"image-layout: the relinked vigild differs from {real}: rebuild the package (scripts/package)")
    return os.path.join(work, "map")


def image_base(pid):
    with open(f"/proc/{pid}/maps") as handle:
        for line in handle:
            fields = line.split()
            if len(fields) >= 6 and fields[2] == "00000000" and fields[5].endswith("vigild"):
                return int(fields[0].split("-")[0], 16)
    return None


def resident_pages(pid, base, low, high):
    """The page-aligned link-time addresses in [low, high) present in PID's page table."""
    first, last = low // 4096, (high + 4095) // 4096
    with open(f"/proc/{pid}/pagemap", "rb") as handle:
        handle.seek((base // 4096 + first) * 8)
        data = handle.read((last - first) * 8)
    return {(first + i) * 4096 for i in range(len(data) // 8) if struct.unpack_from("<Q", data, i * 8)[0] >> 63 & 1}


def kib(size):
    return f"{size // 1024:,}"


def main():
    scratch = os.environ.get("VIGIL_SCRATCH", os.path.join(os.path.dirname(__file__), "..", ".build-package"))
    map_path = link_map(scratch)
    sections = read_map(map_path)
    shutil.rmtree(os.path.dirname(map_path))
    relro = collections.Counter()
    for _, size, _, path in sections[".data.rel.ro"]:
        relro[contributor(path)] += size
    print(f"RELRO (.data.rel.ro): {kib(sum(relro.values()))} KiB; largest contributors:")
    for name, size in relro.most_common(12):
        print(f"  {kib(size):>6} KiB  {name}")
    for pid in sys.argv[1:]:
        base = image_base(int(pid))
        if base is None:
            print(f"{pid}: no vigild mapping")
            continue
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            command = handle.read().replace(b"\0", b" ").decode(errors="replace")[:60]
        print(f"{pid} ({command})")
        for output in (".text", ".data", ".bss"):
            inputs = sorted(item for item in sections[output] if item[1] > 0)
            if not inputs:
                continue
            low = min(address for address, _, _, _ in inputs)
            high = max(address + size for address, size, _, _ in inputs)
            pages = resident_pages(int(pid), base, low, high)
            total = sum(size for _, size, _, _ in inputs)
            print(f"  {output}: {kib(len(pages) * 4096)} KiB resident of {kib(total)} KiB")
            if output == ".text":
                by = collections.Counter()
                whole_sections = 0
                starts = [address for address, _, _, _ in inputs]
                for page in pages:
                    # The input section holding most of the page names it.
                    index = max(bisect.bisect_right(starts, page) - 1, 0)
                    best = (0, "", "")
                    while index < len(inputs) and inputs[index][0] < page + 4096:
                        address, size, name, path = inputs[index]
                        overlap = min(address + size, page + 4096) - max(address, page)
                        if overlap > best[0]:
                            best = (overlap, name, path)
                        index += 1
                    by[contributor(best[2]) if best[2] else "(between sections)"] += 4096
                    if best[1] == ".text":
                        whole_sections += 4096
                print(f"    in whole objects' .text (not orderable): {kib(whole_sections)} KiB; by contributor:")
                for name, size in by.most_common(8):
                    print(f"      {kib(size):>6} KiB  {name}")
            else:
                touched = whole = 0
                for address, size, _, _ in inputs:
                    spanned = set(range(address // 4096 * 4096, address + size, 4096))
                    if spanned & pages:
                        touched += size
                    if spanned <= pages:
                        whole += size
                print(f"    input sections on resident pages {kib(touched)} KiB, wholly on them {kib(whole)} KiB "
                      f"({len(inputs)} input sections)")


if __name__ == "__main__":
    main()
