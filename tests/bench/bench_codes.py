#!/usr/bin/python3
"""bench_codes: one-time code throughput, end to end.  Prints figures,
asserts nothing.  Needs root (it enrols two test users) and a build:

    sudo PWL_BUILDDIR=build tests/bench/bench_codes.py [SECONDS] [MESSAGES]

1. Codes started and answered per second from 2 client processes: each
   loops CODE_START, waits for the mail at a real SMTP server on loopback
   (aiosmtpd), reads the code and sends CODE_ANSWER.  Every step is one
   connection as pam_pwless makes it, and every write is durable
   (WAL, synchronous=FULL) before pwlessd answers.
2. Outbox deliveries per second: MESSAGES codes queued at once, timed
   until the SMTP server holds all of them.
"""

import multiprocessing
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "helpers"))
os.environ.setdefault("PWL_BUILDDIR", os.path.join(HERE, "..", "..",
                                                   "build"))

from codetest import (T_CHALLENGE, CodeDaemon, code_answer,  # noqa: E402
                      code_start, tstr)
from mailsink import MailSink  # noqa: E402

USERS = ["pwlb-0", "pwlb-1"]
LIMITS = ("sends_per_hour = 100000\nsends_per_destination = 100000\n"
          "failures_before_delay = 100\nmax_failures = 100\n")


class Sock:
    def __init__(self, path):
        self.sock = path


def client(sock, user, codes, seconds, out):
    """Start, wait for the mail, answer; count round trips."""
    d = Sock(sock)
    n = bad = 0
    end = time.monotonic() + seconds
    lat = []
    while time.monotonic() < end:
        t0 = time.monotonic()
        st, t = code_start(d, user)
        if st != "OK":
            bad += 1
            continue
        code = codes.get(timeout=30)
        st, _ = code_answer(d, user, tstr(t, T_CHALLENGE), code)
        lat.append(time.monotonic() - t0)
        n += 1 if st == "OK" else 0
        bad += 0 if st == "OK" else 1
    out.put((n, bad, lat))


class Router(MailSink):
    """A sink that hands each code to the queue of its recipient."""

    def __init__(self, queues):
        super().__init__()
        self.queues = queues

    def _keep(self, envelope):
        super()._keep(envelope)
        m = self.messages[-1]
        q = self.queues.get(m.rcpt[0])
        if q is not None:
            q.put(m.code())
        with self._lock:
            if len(self.messages) > 1000:
                del self.messages[:500]
                self.kept = getattr(self, "kept", 0) + 500


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] * 1000 if xs else 0


def bench_roundtrips(seconds):
    queues = {u + "@example.org": multiprocessing.Queue() for u in USERS}
    mail = Router(queues).start()
    d = CodeDaemon(mail, limits=LIMITS).start()
    try:
        for u in USERS:
            d.enrol(u, "--email", u + "@example.org")
        out = multiprocessing.Queue()
        procs = [multiprocessing.Process(
            target=client, args=(d.sock, u, queues[u + "@example.org"],
                                 seconds, out)) for u in USERS]
        t0 = time.monotonic()
        for p in procs:
            p.start()
        res = [out.get(timeout=seconds + 60) for _ in procs]
        wall = time.monotonic() - t0
        for p in procs:
            p.join()
        n = sum(r[0] for r in res)
        lat = [x for r in res for x in r[2]]
        print("codes started+answered, 2 clients, SMTP in the loop: "
              "%d in %.1fs = %.0f/s (p50 %.1f ms, p99 %.1f ms, "
              "failures %d)" % (n, wall, n / wall, pct(lat, 0.5),
                                pct(lat, 0.99), sum(r[1] for r in res)))
    finally:
        d.cleanup()
        mail.stop()


def bench_deliveries(count):
    mail = MailSink().start()
    d = CodeDaemon(mail, limits=LIMITS,
                   extra="[outbox]\nconcurrency = 8\n").start()
    try:
        users = USERS
        for u in users:
            d.enrol(u, "--email", u + "@example.org")
        t0 = time.monotonic()
        for i in range(count):
            st, _ = code_start(d, users[i % 2], service="svc%d" % i)
            if st != "OK":
                raise SystemExit("CODE_START refused: " + st)
        queued = time.monotonic() - t0
        mail.wait(count, timeout=300)
        wall = time.monotonic() - t0
        print("CODE_START alone (queued, durable): %d in %.2fs = %.0f/s" %
              (count, queued, count / queued))
        print("outbox deliveries to the local SMTP server: %d in %.2fs = "
              "%.0f/s (concurrency 8)" % (count, wall, count / wall))
    finally:
        d.cleanup()
        mail.stop()


def main():
    if os.geteuid() != 0:
        print("bench_codes: needs root (enrols test users)")
        return 0
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    bench_roundtrips(seconds)
    bench_deliveries(count)
    return 0


if __name__ == "__main__":
    sys.exit(main())
