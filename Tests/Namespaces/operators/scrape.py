#!/usr/bin/env python3
"""Scrapes a URL at a fixed rate over keep-alive connections, as many Prometheus servers would.

    scrape.py URL RATE SECONDS [CONNECTIONS]

Each connection is a thread sending its share of RATE requests a second on a fixed schedule (a late request is sent
at once, not skipped). Prints one JSON line: requests sent, answered 200, failed, the rate achieved, and latency
percentiles in milliseconds.
"""
import http.client
import json
import sys
import threading
import time
import urllib.parse


def main():
    url = urllib.parse.urlsplit(sys.argv[1])
    rate = float(sys.argv[2])
    seconds = float(sys.argv[3])
    connections = int(sys.argv[4]) if len(sys.argv) > 4 else 4
    each = rate / connections
    start = time.monotonic() + 0.2
    latencies = []
    counts = {"sent": 0, "ok": 0, "failed": 0}
    lock = threading.Lock()

    def worker(offset):
        connection = None
        sent = ok = failed = 0
        mine = []
        index = 0
        while True:
            due = start + (index + offset / connections) / each
            if due >= start + seconds:
                break
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            index += 1
            sent += 1
            began = time.monotonic()
            try:
                if connection is None:
                    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
                connection.request("GET", url.path or "/")
                response = connection.getresponse()
                response.read()
                if response.status == 200:
                    ok += 1
                else:
                    failed += 1
                if response.will_close:
                    connection.close()
                    connection = None
            except Exception:
                failed += 1
                if connection is not None:
                    connection.close()
                connection = None
            mine.append((time.monotonic() - began) * 1000)
        with lock:
            counts["sent"] += sent
            counts["ok"] += ok
            counts["failed"] += failed
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    latencies.sort()

    def percentile(fraction):
        return round(latencies[min(len(latencies) - 1, int(fraction * (len(latencies) - 1)))], 2) if latencies else None

    counts.update(
        rate=round(counts["ok"] / elapsed, 1), seconds=round(elapsed, 1), p50_ms=percentile(0.5),
        p99_ms=percentile(0.99), max_ms=percentile(1.0))
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
