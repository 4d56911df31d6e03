#!/usr/bin/env python3
"""ipvs-count-wait.py N COMMAND [ARGUMENT...]: starts COMMAND (a daemon, its output discarded), then reads
/proc/net/ip_vs every 20 ms until it lists N real servers; prints the milliseconds from the start of COMMAND to that
read (or "timeout" after 600 s). The daemon is left running.

Run inside the director's namespace (`ip netns exec NS python3 ...`): neither its own start nor the namespace switch is
measured, and a poll is one read of a file rather than a process or three (a few hundred milliseconds each under
emulation, taken from the CPUs the daemon was starting on). The same for every daemon measured.
"""
import subprocess
import sys
import time


def real_servers():
    with open("/proc/net/ip_vs") as table:
        return sum(1 for line in table if "->" in line) - 1  # the header has one too


def main():
    wanted, command = int(sys.argv[1]), sys.argv[2:]
    start = time.monotonic()
    subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while time.monotonic() - start < 600:
        if real_servers() >= wanted:
            print(round((time.monotonic() - start) * 1000))
            return
        time.sleep(0.02)
    print("timeout")


if __name__ == "__main__":
    main()
