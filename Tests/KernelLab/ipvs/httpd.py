"""Tiny real server for the IPVS kernel-lab tests: answers every GET with its name, on each port given,
over IPv4 and IPv6. Usage: httpd.py NAME PORT [PORT...]; with HTTPD_KEEPALIVE=1 in the environment it keeps each
connection open for more requests (HTTP/1.1) instead of closing it after one."""
import http.server
import os
import socket
import sys
import threading

name = sys.argv[1].encode() + b"\n"
keepalive = os.environ.get("HTTPD_KEEPALIVE") == "1"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1" if keepalive else "HTTP/1.0"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(name)))
        if not keepalive:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(name)

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


servers = [Server(("::", int(port)), Handler) for port in sys.argv[2:]]
for server in servers[1:]:
    threading.Thread(target=server.serve_forever, daemon=True).start()
servers[0].serve_forever()
