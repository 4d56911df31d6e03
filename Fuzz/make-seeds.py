#!/usr/bin/env python3
"""Writes each fuzz target's seed corpus into DIR/<Target>/ (scripts/fuzz calls it): the vectors of the unit
tests (Tests/VRRPWorkerTests/VRRPAdvertisementTests, Tests/IPVSShimTests, Tests/CheckerWorkerTests/ProbeCodecTests
and ProbeHostileTests), in each target's input format. Usage: make-seeds.py DIR"""
import os
import struct
import sys

out = sys.argv[1]


def seeds(target, items):
    os.makedirs(f"{out}/{target}", exist_ok=True)
    for name, data in items.items():
        with open(f"{out}/{target}/seed-{name}", "wb") as f:
            f.write(data)


def pieces(*parts):
    """The targets' multi-datagram format: each part behind a 2-byte big-endian length."""
    return b"".join(struct.pack(">H", len(p)) + p for p in parts)


# VRRP (VRRPAdvertisementTests): v2 with password "secret" behind the IPv4 header keepalived sends; v3 over IPv4
# behind a header from 192.168.1.10; v3 over IPv6 (the target's IPv6 path: hop limit byte, then the message).
v2 = bytes.fromhex("21339602 0101f779 0a000001 0a000002 73656372 65740000")
ipv4_header = bytes.fromhex("45c0002c 00010000 ff70d089 0a000005 e0000012")
v3_ipv4 = bytes.fromhex("3107c801 0064a244 c0a80164")
v3_header = bytes.fromhex("45c00020 00010000 ff700000 c0a8010a e0000012")
v3_ipv6 = bytes.fromhex("310a6402 000a3e80 fe800000 00000000 00000000 00000100 20010db8 00000000 00000000 00000100")
seeds("VRRPFuzzer", {
    "v2-password": ipv4_header + v2,
    "v3-ipv4": v3_header + v3_ipv4,
    "v3-ipv6": b"\xff" + v3_ipv6,
    "ah": bytes.fromhex("45c00038 00010000 ff33d089 0a000005 e0000012") + bytes.fromhex("70040000 00000001 00000001") + v2,
})


# Netlink (IPVSReplyTests, MalformedReplyTests): an IPVS service and a destination dump part, the dump's end, an
# ACK and an error with extended text.
def nla(kind, payload):
    data = struct.pack("=HH", 4 + len(payload), kind) + payload
    return data + b"\0" * (-len(data) % 4)


def nlmsg(kind, flags, payload, seq=1):
    return struct.pack("=IHHII", 16 + len(payload), kind, flags, seq, 4242) + payload


def genl(command, attributes):
    return nlmsg(0x1c, 0x2, bytes([command, 1, 0, 0]) + b"".join(attributes))


service = nla(1, nla(1, struct.pack("=H", 2)) + nla(2, struct.pack("=H", 6)) + nla(3, bytes([192, 0, 2, 100]) + b"\0" * 12)
              + nla(4, struct.pack(">H", 80)) + nla(6, b"rr\0") + nla(7, struct.pack("=II", 0, 0xffffffff))
              + nla(8, struct.pack("=I", 0)) + nla(9, struct.pack(">I", 0xffffffff)))
dest = nla(2, nla(1, bytes([198, 51, 100, 11]) + b"\0" * 12) + nla(2, struct.pack(">H", 80)) + nla(3, struct.pack("=I", 2))
           + nla(4, struct.pack("=I", 1)) + nla(11, struct.pack("=H", 2)))
done = nlmsg(3, 0x2, struct.pack("=i", 0))
ack = nlmsg(2, 0x100, struct.pack("=i", 0) + nlmsg(0x1c, 5, b""))
error = nlmsg(2, 0x200, struct.pack("=i", -17) + nlmsg(0x1c, 5, b"") + nla(1, b"File exists\0"))
seeds("NetlinkFuzzer", {
    "service-dump": pieces(genl(1, [service]), done),
    "destination-dump": pieces(genl(5, [dest]), done),
    "ack": pieces(ack),
    "error-extended": pieces(error),
    "info": pieces(genl(15, [nla(1, struct.pack("=I", 0x010203)), nla(2, struct.pack("=I", 4096))])),
})

# HTTP (ProbeCodecTests, ProbeHostileTests): replies split into reads.
http = {
    "content-length": [b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", b"hello"],
    "chunked": [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhel", b"lo\r\n6\r\n world\r\n0\r\n\r\n"],
    "close": [b"HTTP/1.0 404 Nope\r\n\r\nall of ", b"it"],
    "one-byte-chunks": [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"1\r\nA\r\n" * 50],
    "not-http": [b"SSH-2.0-OpenSSH_9\r\n"],
}
seeds("HTTPFuzzer", {name: pieces(*parts) for name, parts in http.items()})

# The metrics listener's requests (HTTPRequestTests): pipelined, split, bare LF, oversized.
requests = {
    "scrape": [b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9165\r\nAccept: */*\r\n\r\n"],
    "pipelined": [b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nHEAD / HTTP/1.1\r\nHo", b"st: x\r\n\r\n"],
    "http10-lf": [b"\nGET /status.json HTTP/1.0\nConnection: keep-alive\n\n"],
    "body": [b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"],
}
seeds("MetricsHTTPFuzzer", {name: pieces(*parts) for name, parts in requests.items()})


# DNS (ProbeCodecTests, ProbeHostileTests): selector bytes (name 0 "www.example.com", type A; match the id), then
# the response.
def dns_query(name, qtype):
    labels = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".") if l)
    return struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + labels + b"\0" + struct.pack(">HH", qtype, 1)


q = dns_query("www.example.com", 1)
answer = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 3600, 4) + bytes([192, 0, 2, 1])
response = q[:2] + b"\x81\x80" + q[4:6] + b"\x00\x01" + q[8:] + answer
seeds("DNSFuzzer", {
    "answer": b"\x00\x01" + response[:6] + b"\x00\x01\x00\x00\x00\x00" + response[12:],
    "nodata": b"\x00\x01" + q[:2] + b"\x81\x80" + q[4:],
    "pointer-loop": b"\x00\x01" + q[:2] + b"\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01",
    "nxdomain": b"\x00\x01" + q[:2] + b"\x81\x83" + q[4:],
})

# SMTP (ProbeCodecTests, ProbeHostileTests): the server's side, read by read.
seeds("SMTPFuzzer", {
    "dialogue": pieces(b"220-first\r\n220 ready", b"\r\n", b"250 ok\r\n"),
    "ahead": pieces(b"220 ok\r\n250 hi\r\n"),
    "refused": pieces(b"554 go away\r\n"),
    "endless": pieces(b"220-hostile banner line\r\n" * 40),
})

# FrameFuzzer's seeds are written by the target itself (FrameFuzzer --write-seeds DIR): the IPC messages are in the
# binary codec, which the Swift encoder writes best.


# BFD (BFDControlPacketTests): the handshake as one input, each datagram behind its length with a first byte that
# moves virtual time on (ms): Down, Init and Up packets to the active session, a Poll, a Final, AdminDown.
def bfd(state, flags=0, mult=3, my=0x0b0b, your=0x12345678, tx=10000, rx=10000, diag=0):
    return struct.pack(">BBBBIIIII", 0x20 | diag, state << 6 | flags, mult, 24, my, your, tx, rx, 0)


seeds("BFDFuzzer", {
    "handshake": pieces(b"\x05" + bfd(1, your=0), b"\x05" + bfd(2), b"\x05" + bfd(3), b"\x0a" + bfd(3, flags=0x20),
                        b"\x0a" + bfd(3, flags=0x10), b"\x40" + bfd(0, diag=7)),
    "frr-up": pieces(b"\x00" + bytes.fromhex("20c00318 00000001 12345678 000493e0 000493e0 0000c350")),
    "expiry": pieces(b"\x00" + bfd(1, your=0), b"\x01" + bfd(3), b"\xff" + bfd(3)),
})
