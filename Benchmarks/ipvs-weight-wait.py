#!/usr/bin/env python3
"""ipvs-weight-wait.py PID SERVICE REAL WEIGHT [TIMEOUT]: sends SIGHUP to PID, then asks the kernel for SERVICE's real
servers (one IPVS_CMD_GET_DEST dump over generic netlink) every 5 ms until REAL has WEIGHT; prints the milliseconds from
the signal to the first reply that shows it (or "timeout"), and the time of the signal (seconds since the epoch).
SERVICE and REAL are IPv4 ADDRESS:PORT, TCP.

Run inside the director's namespace (`ip netns exec NS python3 ...`), started before the reload: its own start and the
namespace switch are not measured, and each poll is two system calls rather than an ipvsadm process (a few hundred
milliseconds each under emulation, which hid how long the reload itself took). The same for every daemon measured.
"""
import os
import signal
import socket
import struct
import sys
import time

NETLINK_GENERIC = 16
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME = 3, 1, 2
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
IPVS_CMD_GET_DEST, IPVS_CMD_ATTR_SERVICE, IPVS_CMD_ATTR_DEST = 8, 1, 2
SVC_AF, SVC_PROTOCOL, SVC_ADDR, SVC_PORT = 1, 2, 3, 4
DEST_ADDR, DEST_PORT, DEST_WEIGHT = 1, 2, 4
NLA_F_NESTED = 0x8000


def attribute(kind, payload):
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * ((4 - length % 4) % 4)


def attributes(data):
    offset = 0
    while offset + 4 <= len(data):
        length, kind = struct.unpack_from("=HH", data, offset)
        if length < 4:
            return
        yield kind & 0x3FFF, data[offset + 4 : offset + length]
        offset += (length + 3) & ~3


def request(sock, family, command, version, payload, flags, sequence):
    header = struct.pack("=BBH", command, version, 0)
    message = struct.pack("=IHHII", 16 + len(header) + len(payload), family, NLM_F_REQUEST | flags, sequence, 0)
    sock.send(message + header + payload)
    replies = []
    while True:
        data = sock.recv(1 << 20)
        offset = 0
        while offset < len(data):
            length, kind, _, _, _ = struct.unpack_from("=IHHII", data, offset)
            if kind == NLMSG_DONE:
                return replies
            if kind == NLMSG_ERROR:
                (error,) = struct.unpack_from("=i", data, offset + 16)
                if error:
                    raise OSError(-error, os.strerror(-error))
                return replies
            replies.append(data[offset + 20 : offset + length])
            offset += (length + 3) & ~3
        if not flags & NLM_F_DUMP:
            return replies


def endpoint(text):
    address, port = text.rsplit(":", 1)
    return socket.inet_aton(address), int(port)


def main():
    pid, service, real, weight = int(sys.argv[1]), endpoint(sys.argv[2]), endpoint(sys.argv[3]), int(sys.argv[4])
    timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 120
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
    sock.bind((0, 0))
    family_name = attribute(CTRL_ATTR_FAMILY_NAME, b"IPVS\0")
    (reply,) = request(sock, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, family_name, 0, 1)
    family = next(struct.unpack("=H", value[:2])[0] for kind, value in attributes(reply) if kind == CTRL_ATTR_FAMILY_ID)
    key = (
        attribute(SVC_AF, struct.pack("=H", socket.AF_INET))
        + attribute(SVC_PROTOCOL, struct.pack("=H", socket.IPPROTO_TCP))
        + attribute(SVC_ADDR, service[0] + b"\0" * 12)
        + attribute(SVC_PORT, struct.pack("!H", service[1]))
    )
    query = attribute(IPVS_CMD_ATTR_SERVICE | NLA_F_NESTED, key)
    start = time.monotonic()
    sent = time.time()
    os.kill(pid, signal.SIGHUP)
    sequence = 2
    while time.monotonic() - start < timeout:
        sequence += 1
        for reply in request(sock, family, IPVS_CMD_GET_DEST, 1, query, NLM_F_DUMP, sequence):
            for kind, nested in attributes(reply):
                if kind != IPVS_CMD_ATTR_DEST:
                    continue
                fields = dict(attributes(nested))
                if (
                    fields.get(DEST_ADDR, b"")[:4] == real[0]
                    and struct.unpack("!H", fields[DEST_PORT][:2])[0] == real[1]
                    and struct.unpack("=I", fields[DEST_WEIGHT][:4])[0] == weight
                ):
                    print(round((time.monotonic() - start) * 1000), "%.3f" % sent)
                    return
        time.sleep(0.005)
    print("timeout", "%.3f" % sent)


if __name__ == "__main__":
    main()
