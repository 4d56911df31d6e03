#!/usr/bin/env python3
"""Timing helpers for Tests/Namespaces/bfd/run.sh. Every time is CLOCK_MONOTONIC, the clock vigild's reports use
(`since`), shared by every network namespace of the host.

  bfdlab.py down VIGILCTL SOCKET SESSION -- ACTION...
      Runs ACTION (a peer stopped, a link cut), then waits until SESSION leaves Up in `vigilctl status --json`;
      prints the milliseconds from just before ACTION to the moment vigild declared the session down (its `since`);
      "not-up" when SESSION was not Up before ACTION, "flapped" when it left Up before ACTION, "timeout".
  bfdlab.py up VIGILCTL SOCKET SESSION TIMEOUT
      Waits until SESSION is Up; exit 1 after TIMEOUT seconds.
  bfdlab.py vip NETNS ADDRESS -- ACTION...
      Listens for RTM_NEWADDR in NETNS (rtnetlink, no polling), runs ACTION, and prints the milliseconds from just
      before ACTION to the kernel's announcement of ADDRESS in NETNS.
  bfdlab.py stats MS...
      Prints "median M ms, min A, max B, n N" of the numbers.
"""
import ctypes
import json
import os
import socket
import struct
import subprocess
import sys
import time


def now_ns():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def sessions(vigilctl, sock):
    out = subprocess.run([vigilctl, "status", "--json", "--control-socket", sock], capture_output=True, text=True)
    if out.returncode != 0:
        return {}
    status = json.loads(out.stdout)
    found = {}
    for worker in status.get("workers", []):
        for session in (worker.get("state") or {}).get("bfdSessions") or []:
            found[session["name"]] = session
    return found


def split_action(args):
    index = args.index("--")
    return args[:index], args[index + 1:]


def down(args):
    (vigilctl, sock, name), action = split_action(args)
    session = sessions(vigilctl, sock).get(name)
    if not session or session["state"] != "Up":
        print("not-up")  # nothing to measure: the session was not Up before the action
        return 1
    start = now_ns()
    subprocess.run(action, check=True)
    deadline = time.time() + 10
    while time.time() < deadline:
        session = sessions(vigilctl, sock).get(name)
        if session and session["state"] != "Up":
            if session["since"] < start:
                print("flapped")  # it left Up before the action: not this action's detection
                return 1
            print(f"{(session['since'] - start) / 1e6:.1f}")
            return 0
        time.sleep(0.02)
    print("timeout")
    return 1


def up(args):
    vigilctl, sock, name, timeout = args
    deadline = time.time() + float(timeout)
    while time.time() < deadline:
        session = sessions(vigilctl, sock).get(name)
        if session and session["state"] == "Up":
            return 0
        time.sleep(0.05)
    return 1


def enter_netns(name):
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
        raise OSError(ctypes.get_errno(), "setns")
    os.close(fd)


def vip(args):
    (netns, address), action = split_action(args)
    wanted = socket.inet_pton(socket.AF_INET6 if ":" in address else socket.AF_INET, address)
    here = os.open("/proc/self/ns/net", os.O_RDONLY)
    enter_netns(netns)
    monitor = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    monitor.bind((0, 0x10 | 0x100))  # RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.setns(here, 0x40000000)
    start = now_ns()
    subprocess.run(action, check=True)
    monitor.settimeout(10)
    try:
        while True:
            data = monitor.recv(65536)
            stamp = now_ns()
            offset = 0
            while offset + 16 <= len(data):
                length, kind = struct.unpack_from("=IH", data, offset)
                if kind == 20:  # RTM_NEWADDR: ifaddrmsg (8 bytes), then attributes
                    attribute = offset + 16 + 8
                    while attribute + 4 <= offset + length:
                        size, code = struct.unpack_from("=HH", data, attribute)
                        if size < 4:
                            break
                        if code in (1, 2) and data[attribute + 4:attribute + size] == wanted:  # IFA_ADDRESS, IFA_LOCAL
                            print(f"{(stamp - start) / 1e6:.1f}")
                            return 0
                        attribute += (size + 3) & ~3
                offset += (length + 3) & ~3 if length else len(data)
    except socket.timeout:
        print("timeout")
        return 1


def stats(args):
    values = sorted(float(v) for v in args)
    if not values:
        print("no values")
        return 1
    middle = len(values) // 2
    median = values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2
    print(f"median {median:.1f} ms, min {values[0]:.1f}, max {values[-1]:.1f}, n {len(values)}")
    return 0


if __name__ == "__main__":
    command, rest = sys.argv[1], sys.argv[2:]
    sys.exit({"down": down, "up": up, "vip": vip, "stats": stats}[command](rest))
