#!/usr/bin/python3
"""bench_audit: what the audit trail costs a key check.  Prints figures,
asserts nothing.  Needs root (it enrols a test user) and a build; it runs
against any build of pwless, so a build of main gives the baseline:

    sudo PWL_BUILDDIR=build tests/bench/bench_audit.py [SECONDS] [RUNS]

For 1, 4 and 16 client processes, one connection a request as
pam_pwless makes them, for SECONDS:
1. good: AUTH_KEY with a valid key.  Since issue 5 each check writes an
   audit row, committed before the reply, the rows of one event loop
   pass together and without an fsync of their own.
2. bad: AUTH_KEY for a new unknown name each time, so every attempt
   counts a failure, which must reach the disk before the reply (one
   fsync each before issue 5, one a loop pass since).
Prints requests per second and the 50th and 99th percentile latency of
each run; the database lives where tempfile puts it (TMPDIR).
"""

import multiprocessing
import os
import socket
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "helpers"))
os.environ.setdefault("PWL_BUILDDIR", os.path.join(HERE, "..", "..",
                                                   "build"))

from pwltest import Daemon, tlv  # noqa: E402

USER = "pwlb-0"
T_USER, T_SERVICE, T_KEY = 0x8001, 0x8002, 0x8006


def request(key):
    body = tlv(T_USER, USER) + tlv(T_SERVICE, "bench") + tlv(T_KEY, key)
    return struct.pack(">IBBHI", len(body), 1, 0, 0x0101, 1) + body


def one(sock, req):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    s.sendall(req)
    hdr = b""
    while len(hdr) < 12:
        hdr += s.recv(12 - len(hdr))
    n = struct.unpack(">I", hdr[:4])[0]
    body = b""
    while len(body) < n:
        body += s.recv(n - len(body))
    s.close()
    return struct.unpack(">H", body[:2])[0] == 0


def spray(n):
    """A failed attempt: an unknown name, new every time."""
    body = tlv(T_USER, "pwlb-nosuch-%d-%d" % (os.getpid(), n)) + \
        tlv(T_SERVICE, "bench") + tlv(T_KEY, "pwl_x")
    return struct.pack(">IBBHI", len(body), 1, 0, 0x0101, 1) + body


def client(sock, req, seconds, start, out):
    start.wait()
    lat = []
    bad = n = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        n += 1
        t0 = time.monotonic()
        ok = one(sock, req or spray(n))
        lat.append(time.monotonic() - t0)
        bad += not ok
    out.put((lat, bad))


def run(sock, req, clients, seconds):
    q = multiprocessing.Queue()
    start = multiprocessing.Event()
    ps = [multiprocessing.Process(target=client,
                                  args=(sock, req, seconds, start, q))
          for _ in range(clients)]
    for p in ps:
        p.start()
    start.set()
    lat, bad = [], 0
    for _ in ps:
        la, b = q.get(timeout=seconds + 60)
        lat += la
        bad += b
    for p in ps:
        p.join(30)
    lat.sort()
    return (len(lat) / seconds, lat[len(lat) // 2] * 1e3,
            lat[int(len(lat) * 0.99)] * 1e3, bad)


def main(argv):
    seconds = float(argv[1]) if len(argv) > 1 else 5.0
    runs = int(argv[2]) if len(argv) > 2 else 3
    d = Daemon()
    try:
        d.start()
        d.enrol(USER)
        req = request(d.new_key(USER))
        print("build %s, %gs a run, %d runs" % (os.environ["PWL_BUILDDIR"],
                                               seconds, runs))
        for what, r in (("good", req), ("bad", None)):
            for clients in (1, 4, 16):
                for _ in range(runs):
                    rate, p50, p99, n = run(d.sock, r, clients, seconds)
                    print("  %s %2d clients: %8.0f /s  p50 %6.2f ms  "
                          "p99 %6.2f ms%s" % (what, clients, rate, p50, p99,
                                              "  (%d refused)" % n
                                              if n and r else ""),
                          flush=True)
    finally:
        d.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
