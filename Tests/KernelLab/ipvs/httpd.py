"""Tiny real server for the IPVS kernel-lab tests: answers every GET with its name, on each port given,
over IPv4 and IPv6. Usage: httpd.py NAME PORT [PORT...]"""
import http.server
import socket
import sys
import threading

name = sys.argv[1].encode() + b"\n"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(name)))
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
