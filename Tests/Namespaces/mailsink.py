"""A tiny SMTP server for the namespace suites (smtp_alert): accepts every mail, appends its DATA lines to a file.

Usage: mailsink.py ADDRESS PORT OUT (OUT.ready appears once it listens).
"""
import socket
import sys

address, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
out = open(path, "a", buffering=1)
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((address, port))
server.listen(8)
open(path + ".ready", "w").close()
while True:
    conn, _ = server.accept()
    f = conn.makefile("rwb", buffering=0)
    f.write(b"220 mailsink ESMTP\r\n")
    data = False
    for raw in f:
        line = raw.decode(errors="replace").rstrip("\r\n")
        if data:
            if line == ".":
                data = False
                f.write(b"250 queued\r\n")
            else:
                out.write(line + "\n")
            continue
        verb = line[:4].upper()
        if verb == "DATA":
            data = True
            f.write(b"354 go ahead\r\n")
        elif verb == "QUIT":
            f.write(b"221 bye\r\n")
            break
        else:
            f.write(b"250 ok\r\n")
    conn.close()
