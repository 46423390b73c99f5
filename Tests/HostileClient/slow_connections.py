#!/usr/bin/env python3
"""Slow and idle clients against the review page, on loopback: an idle connection, a header trickled a byte
a second, a body trickled a byte a second. Prints how long the server kept each open (NAME=SECONDS, or
NAME=None if still open after LIMIT seconds). Usage: slow_connections.py PORT LIMIT"""
import socket, sys, threading, time
port = int(sys.argv[1]); limit = float(sys.argv[2])
results = {}
def probe(name, first, trickle):
    s = socket.create_connection(("127.0.0.1", port)); s.settimeout(1)
    start = time.time()
    if first: s.sendall(first)
    while time.time() - start < limit:
        try:
            if s.recv(4096) == b"": results[name] = round(time.time() - start, 1); return
        except socket.timeout:
            pass
        except OSError:
            results[name] = round(time.time() - start, 1); return
        try:
            if trickle: s.sendall(trickle)
        except OSError:
            results[name] = round(time.time() - start, 1); return
    results[name] = None
threads = [
    threading.Thread(target=probe, args=("idle", b"", b"")),
    threading.Thread(target=probe, args=("slow-header", b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % port, b"X")),
    threading.Thread(target=probe, args=("slow-body", b"POST /login HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n" % port, b"a")),
]
for t in threads: t.start()
for t in threads: t.join()
print(" ".join(f"{k}={v}" for k, v in sorted(results.items())))
