#!/usr/bin/env python3
"""Tiny responders for the checker-protocols suite: smtp (220 / HELO 250 / QUIT 221), dns (NOERROR reply with
the query's id and question), udp (echo). Usage: servers.py KIND ADDRESS PORT READY_FILE (created once bound)."""
import socket
import socketserver
import sys

kind, address, port, ready = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]


class SMTP(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b"220 ck2 ESMTP ready\r\n")
        for line in self.rfile:
            verb = line.strip().split(b" ")[0].upper()
            if verb in (b"HELO", b"EHLO"):
                self.wfile.write(b"250 ck2\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"502 not implemented\r\n")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if kind == "smtp":
    server = Server((address, port), SMTP)
    open(ready, "w").close()
    server.serve_forever()

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((address, port))
open(ready, "w").close()
while True:
    data, peer = sock.recvfrom(4096)
    if kind == "udp":
        sock.sendto(data, peer)
    elif len(data) >= 12:
        # Response, RD+RA, NOERROR; the question echoed, no answers.
        sock.sendto(data[:2] + b"\x81\x80" + data[4:6] + b"\x00" * 6 + data[12:], peer)
