#!/usr/bin/env python3
"""Real servers for the hostile suite. Usage: servers.py KIND ADDRESS PORT READY_FILE [ARG]

  healthy  ADDRESS PORT..PORT+ARG-1: HTTP 200 "ok" with Content-Length; appends "PORT MONOTONIC-SECONDS" to
           READY_FILE.log for each request, so the suite sees how regularly each real server was checked.
  chunks   HTTP 200 chunked, then endless 1-byte chunks ("1\\r\\nA\\r\\n") as fast as the socket takes them.
  smtp     an endless multi-line banner ("220-...") as fast as the socket takes it.
  drip     an HTTP status line, then one header byte per send (TCP_NODELAY): thousands of tiny reads.
  dns      answers every query with a compression-pointer loop, preceded by 50 replies with a wrong id.

READY_FILE is created once every socket listens. Each hostile connection runs in its own thread and ends when
the checker closes it."""
import selectors
import socket
import sys
import threading
import time

kind, address, port, ready = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
extra = int(sys.argv[5]) if len(sys.argv) > 5 else 1


def listen(p):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((address, p))
    s.listen(256)
    return s


def flood(conn, first, repeated):
    try:
        conn.sendall(first)
        block = repeated * (65536 // len(repeated))
        while True:
            conn.sendall(block)
    except OSError:
        pass
    finally:
        conn.close()


def drip(conn):
    try:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        while True:
            conn.send(b"X")
            time.sleep(0.0001)
    except OSError:
        pass
    finally:
        conn.close()


def serve_hostile(handler):
    server = listen(port)
    open(ready, "w").close()
    while True:
        conn, _ = server.accept()
        threading.Thread(target=handler, args=(conn,), daemon=True).start()


if kind == "healthy":
    log = open(ready + ".log", "a", buffering=1)
    selector = selectors.DefaultSelector()
    for p in range(port, port + extra):
        selector.register(listen(p), selectors.EVENT_READ, ("listen", p))
    open(ready, "w").close()
    reply = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"
    while True:
        for key, _ in selector.select():
            what, p = key.data
            if what == "listen":
                try:
                    conn, _ = key.fileobj.accept()
                except OSError:
                    continue
                conn.setblocking(False)
                selector.register(conn, selectors.EVENT_READ, ("conn", p))
                continue
            conn = key.fileobj
            try:
                data = conn.recv(4096)
            except OSError:
                data = b""
            if data and b"\r\n\r\n" in data:
                log.write(f"{p} {time.monotonic():.6f}\n")
                try:
                    conn.sendall(reply)
                except OSError:
                    pass
            selector.unregister(conn)
            conn.close()
elif kind == "chunks":
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    serve_hostile(lambda conn: flood(conn, head, b"1\r\nA\r\n"))
elif kind == "smtp":
    serve_hostile(lambda conn: flood(conn, b"", b"220-hostile banner line\r\n"))
elif kind == "drip":
    serve_hostile(drip)
elif kind == "dns":
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, port))
    open(ready, "w").close()
    while True:
        data, peer = sock.recvfrom(4096)
        if len(data) < 12:
            continue
        for n in range(50):
            sock.sendto(bytes([data[0] ^ 0xFF, data[1]]) + b"\x81\x80" + data[4:], peer)
        # Response, NOERROR, one question and one answer whose name points at itself.
        answer = b"\xc0\x0c" * 1 + b"\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00\x02\x01"
        loop = data[:2] + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" + b"\xc0\x0c" + data[-4:] + answer
        sock.sendto(loop, peer)
