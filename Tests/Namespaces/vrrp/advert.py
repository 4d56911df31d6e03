"""Sends valid VRRP adverts from a raw socket (namespace tests): a peer that claims mastership.

advert.py SOURCE VRID PRIORITY VERSION VIP [PASSWORD [COUNT]]   (IPv4 only; version 2 or 3)
"""
import socket
import struct
import sys


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def advert(source, vrid, priority, version, vip, password):
    group = "224.0.0.18"
    if version == 2:
        auth_type = 1 if password else 0
        body = struct.pack("!BBBBBBH", 0x21, vrid, priority, 1, auth_type, 1, 0) + socket.inet_aton(vip)
        body += password.encode().ljust(8, b"\0")[:8]
        value = checksum(body)
    else:
        body = struct.pack("!BBBBHH", 0x31, vrid, priority, 1, 100, 0) + socket.inet_aton(vip)
        pseudo = socket.inet_aton(source) + socket.inet_aton(group) + struct.pack("!BBH", 0, 112, len(body))
        value = checksum(pseudo + body)
    body = body[:6] + struct.pack("!H", value) + body[8:]
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(body), 0, 0, 255, 112, 0,
                         socket.inet_aton(source), socket.inet_aton(group))
    return header + body


if __name__ == "__main__":
    source, vrid, priority, version, vip = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    password = sys.argv[6] if len(sys.argv) > 6 else ""
    count = int(sys.argv[7]) if len(sys.argv) > 7 else 1
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"eth0")
    for _ in range(count):
        s.sendto(advert(source, vrid, priority, version, vip, password), ("224.0.0.18", 0))
