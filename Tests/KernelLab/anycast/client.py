"""The anycast suite's client. Usage:
  client.py spread HOST N      N requests to http://HOST/, a new connection (a new source port) each; prints each
                               reply's body (the real server's name) or `error: ...`, one a line.
  client.py stream HOST STOP   one connection (HTTP/1.1 keep-alive) to HOST:80, a request every 0.2 s until the file
                               STOP exists; prints `port P` (its source port), then `ok NAME MS T` for each reply (MS:
                               milliseconds since the previous reply, T the wall clock), or `broken: ERROR`
                               and exits 1."""
import http.client
import os
import sys
import time

mode, host = sys.argv[1], sys.argv[2]
if mode == "spread":
    for _ in range(int(sys.argv[3])):
        try:
            conn = http.client.HTTPConnection(host, 80, timeout=20)
            conn.request("GET", "/")
            print(conn.getresponse().read().decode().strip(), flush=True)
            conn.close()
        except OSError as error:
            print(f"error: {error}", flush=True)
    sys.exit(0)

conn = http.client.HTTPConnection(host, 80, timeout=90)
conn.connect()
print(f"port {conn.sock.getsockname()[1]}", flush=True)
last = time.monotonic()
while not os.path.exists(sys.argv[3]):
    try:
        conn.request("GET", "/")
        name = conn.getresponse().read().decode().strip()
    except (OSError, http.client.HTTPException) as error:
        print(f"broken: {error!r}", flush=True)
        sys.exit(1)
    now = time.monotonic()
    print(f"ok {name} {round((now - last) * 1000)} {time.time():.1f}", flush=True)
    last = now
    time.sleep(0.2)
